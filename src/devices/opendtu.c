/* Driver "opendtu": one Hoymiles inverter (config `serial`) behind an OpenDTU, over its REST
 * API (polled) or its MQTT topics (pushed). The wire format as
 * docs/devices.md ("opendtu") describes it.
 *
 * HTTP (port 80; Basic auth as "admin" with the DTU's password, needed for the POST, and
 * for reads too when "Allow readonly" is off):
 *   GET /api/system/status, once:
 *     {"hostname":…,"git_hash":"v24.11.7",…}  → firmware
 *   GET /api/livedata/status?inv=S, every poll; three shapes seen. 2024+ and 2023:
 *     {"inverters":[{"serial":"S","reachable":true,"producing":true,"data_age":4,
 *       "limit_relative":100,"limit_absolute":800,
 *       "AC":{"0":{"Power":{"v":70.7,"u":"W","d":1},"YieldTotal":{"v":1.5,"u":"kWh","d":3},…}},
 *       "DC":{"0":{…}},"INV":{"0":{"Power DC":{…},"Temperature":{…},…}}}],
 *      "total":{…},"hints":{…}}
 *     ("Power DC", YieldDay, YieldTotal and Temperature sit in AC.0 or in INV.0); 2022:
 *     [{"serial":"S",…,"0":{"Power":{"v":70.7,"u":"W"},…},"1":{…}}]  (channels at the top)
 *   POST /api/limit/config, form field data={"serial":"S","limit_type":0,"limit_value":W}
 *     → {"type":"success","message":"Settings saved!","code":1001}; refusals come as HTTP 200
 *     {"type":"warning","message":"Limit must between 0 and 800!","code":5002,…}
 *   GET /api/limit/status
 *     {"S":{"limit_relative":37.5,"max_power":800,"limit_set_status":"Ok"}}
 *     ("Pending" until the inverter confirmed, "Failure", "Unknown")
 * Only limit_type 0 (absolute, non-persistent) is ever sent: 256/257 are written to the
 * inverter's EEPROM, which a control loop would wear out.
 *
 * MQTT (base topic B, default "solar"; plain-text values, every publish interval):
 *   B/S/status/reachable|producing "1"/"0", B/S/status/limit_absolute "600.00" (W),
 *   B/S/status/limit_relative (%), B/S/0/power (AC W), B/S/0/powerdc, B/S/0/yieldday (Wh),
 *   B/S/0/yieldtotal (kWh), B/S/0/temperature, B/S/device/fwbuildversion,
 *   B/dtu/status "online"/"offline" (the DTU's last will).
 *   Command: B/S/cmd/limit_nonpersistent_absolute "<W>", never retained (OpenDTU ignores
 *   retained ones).
 * A state is published on status/reachable (every interval, also at night: the heartbeat),
 * on 0/power (new statistics) and on status/limit_absolute; other topics update values.
 *
 * An inverter that is not reachable (it sleeps at night) is not offline: the DTU answers, so
 * the device stays online with power 0 and "reachable" 0. */
#include "device_kit.h"

#include "devices_internal.h"
#include "balkon/driver.h"
#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/mqtt.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LOG "opendtu"
#define MODEL "Hoymiles via OpenDTU"
/* How often a "Pending" limit status is read again before the command counts as failed. */
#define MAX_PENDING_READS 5

/* What one inverter reports; NAN where it does not tell. */
struct opendtu_live {
    double ac_w, dc_w, yield_day_wh, energy_wh, temperature_c;
    double limit_w, limit_pct, data_age_s;
    int reachable, producing; /* -1 unknown */
};

struct opendtu {
    struct dev_kit kit; /* first: the kit's callbacks cast back */
    bool mqtt;
    char base[128]; /* MQTT base topic without the trailing '/' */
    bool polling;
    bool info_known;
    char firmware[32];
    struct opendtu_live live;
    uv_timer_t timer; /* re-reads a Pending limit status; the MQTT read-back timeout */
    int pending_reads;
    /* MQTT read-back: limit_absolute messages count up, so one after the command is known. */
    unsigned limit_count, limit_count_at_send;
    bool awaiting_limit;
    double awaited_w;
};

static void live_reset(struct opendtu_live *live)
{
    *live = (struct opendtu_live){NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, -1, -1};
}

static void publish(struct opendtu *o)
{
    const struct opendtu_live *l = &o->live;
    struct ev_device_state state;
    dev_state_init(&o->kit, &state, NULL, DEVICE_ROLE_INVERTER);
    snprintf(state.model, sizeof state.model, MODEL);
    snprintf(state.firmware, sizeof state.firmware, "%s", o->firmware);
    /* A sleeping inverter keeps its last values at the DTU: it produces nothing. */
    bool asleep = l->reachable == 0;
    dev_state_add(&state, "power_w", asleep ? 0 : l->ac_w);
    dev_state_add(&state, "dc_power_w", asleep ? 0 : l->dc_w);
    dev_state_add(&state, "limit_w", l->limit_w);
    dev_state_add(&state, "limit_pct", l->limit_pct);
    dev_state_add(&state, "energy_wh", l->energy_wh);
    dev_state_add(&state, "yield_day_wh", l->yield_day_wh);
    dev_state_add(&state, "temperature_c", l->temperature_c);
    dev_state_add(&state, "data_age_s", l->data_age_s);
    if (l->reachable >= 0)
        dev_state_add(&state, "reachable", l->reachable);
    if (l->producing >= 0)
        dev_state_add(&state, "producing", l->producing);
    dev_publish_state(&o->kit, &state);
}

/* --- Live data (pure) ------------------------------------------------------------------ */

static int flag(const cJSON *inv, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(inv, key);
    if (cJSON_IsBool(item))
        return cJSON_IsTrue(item);
    if (cJSON_IsNumber(item))
        return item->valuedouble != 0;
    return -1;
}

/* A channel-0 field's value: AC.0 / INV.0 (2023+) or "0" (2022). */
static double field(const cJSON *inv, const char *name)
{
    static const char *const where[] = {"AC.0", "INV.0", "0"};
    for (size_t i = 0; i < sizeof where / sizeof *where; i++) {
        char path[64];
        double v;
        snprintf(path, sizeof path, "%s.%s.v", where[i], name);
        if (dev_json_number(inv, path, &v))
            return v;
    }
    return NAN;
}

/* Finds inverter serial in a /api/livedata/status reply and reads it. Returns false with
 * the reason in why. */
static bool parse_live(const cJSON *root, const char *serial, struct opendtu_live *out, char *why,
                       size_t why_size)
{
    const cJSON *list =
        cJSON_IsArray(root) ? root : cJSON_GetObjectItemCaseSensitive(root, "inverters");
    if (!cJSON_IsArray(list)) {
        snprintf(why, why_size, "inverters missing");
        return false;
    }
    const cJSON *inv = NULL, *item;
    cJSON_ArrayForEach(item, list)
    {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(item, "serial");
        if (cJSON_IsString(s) && strcasecmp(s->valuestring, serial) == 0)
            inv = item;
    }
    if (!inv) {
        snprintf(why, why_size, "inverter %.20s not in the reply (check serial)", serial);
        return false;
    }
    live_reset(out);
    out->reachable = flag(inv, "reachable");
    out->producing = flag(inv, "producing");
    if (out->reachable < 0) {
        snprintf(why, why_size, "reachable missing");
        return false;
    }
    dev_json_number(inv, "data_age", &out->data_age_s);
    dev_json_number(inv, "limit_relative", &out->limit_pct);
    if (dev_json_number(inv, "limit_absolute", &out->limit_w) && out->limit_w < 0)
        out->limit_w = NAN; /* -1: the DTU does not know the inverter's maximum yet */
    out->ac_w = field(inv, "Power");
    out->dc_w = field(inv, "Power DC");
    out->yield_day_wh = field(inv, "YieldDay");
    out->energy_wh = field(inv, "YieldTotal") * 1000.0;
    out->temperature_c = field(inv, "Temperature");
    /* A DTU that has not heard the inverter since its boot has no channels yet. */
    if (!isfinite(out->ac_w) && out->reachable) {
        snprintf(why, why_size, "AC.0.Power.v missing");
        return false;
    }
    return true;
}

/* --- HTTP ------------------------------------------------------------------------------ */

/* Why an HTTP exchange failed, or "" when it brought a 2xx answer. */
static void http_problem(const struct balkon_http_result *result, const char *what, char *why,
                         size_t why_size)
{
    if (!dev_http_problem(result, what, why, why_size))
        why[0] = '\0';
}

static void live_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    struct opendtu *o = user;
    o->polling = false;
    if (!dev_http_ok(kit, result, "livedata"))
        return;
    cJSON *json = dev_parse_json(kit, result, "livedata");
    if (!json)
        return;
    char why[80];
    struct opendtu_live live;
    bool ok = parse_live(json, kit->config.serial, &live, why, sizeof why);
    cJSON_Delete(json);
    if (!ok) {
        dev_failed(kit, "livedata: %s", why);
        return;
    }
    o->live = live;
    publish(o);
}

static int request_live(struct opendtu *o)
{
    char path[128];
    snprintf(path, sizeof path, "/api/livedata/status?inv=%s", o->kit.config.serial);
    return dev_http(&o->kit, path, NULL, NULL, live_cb, o);
}

static void info_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    struct opendtu *o = user;
    o->info_known = true; /* asked once per start, whatever the answer */
    cJSON *json =
        result->status == 200 ? cJSON_ParseWithLength(result->body, result->body_size) : NULL;
    const cJSON *hash = cJSON_GetObjectItemCaseSensitive(json, "git_hash");
    if (cJSON_IsString(hash))
        snprintf(o->firmware, sizeof o->firmware, "OpenDTU %s", hash->valuestring);
    cJSON_Delete(json);
    if (request_live(o) < 0)
        o->polling = false;
}

static void poll(struct dev_kit *kit)
{
    struct opendtu *o = (struct opendtu *)kit;
    if (o->polling)
        return;
    o->polling = true;
    int rc = o->info_known ? request_live(o)
                           : dev_http(kit, "/api/system/status", NULL, NULL, info_cb, o);
    if (rc < 0)
        o->polling = false;
}

static void limit_sent_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    char why[96];
    http_problem(result, "limit/config", why, sizeof why);
    if (why[0]) {
        dev_cmd_sent(kit, false, why);
        return;
    }
    cJSON *json = cJSON_ParseWithLength(result->body, result->body_size);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(json, "type");
    const cJSON *message = cJSON_GetObjectItemCaseSensitive(json, "message");
    if (cJSON_IsString(type) && strcmp(type->valuestring, "success") == 0)
        why[0] = '\0';
    else if (cJSON_IsString(message))
        snprintf(why, sizeof why, "limit/config: %.60s", message->valuestring);
    else
        snprintf(why, sizeof why, "limit/config: the reply is not {\"type\":\"success\"}");
    cJSON_Delete(json);
    dev_cmd_sent(kit, why[0] == '\0', why);
}

static int http_send(struct dev_kit *kit, const struct device_command *command)
{
    /* Form-encoded as the web UI sends it; the serial is hex digits (checked), so the JSON
     * needs no escaping. limit_type 0: absolute and non-persistent, always. */
    char body[160];
    snprintf(body, sizeof body, "data={\"serial\":\"%s\",\"limit_type\":0,\"limit_value\":%.0f}",
             kit->config.serial, command->value);
    return dev_http(kit, "/api/limit/config", "application/x-www-form-urlencoded", body,
                    limit_sent_cb, NULL);
}

static int request_limit_status(struct opendtu *o);

static void pending_cb(uv_timer_t *timer)
{
    struct opendtu *o = timer->data;
    if (request_limit_status(o) < 0)
        dev_cmd_read(&o->kit, false, NAN, "cannot start the read-back");
}

static void limit_status_cb(struct dev_kit *kit, const struct balkon_http_result *result,
                            void *user)
{
    struct opendtu *o = user;
    char why[96];
    http_problem(result, "limit/status", why, sizeof why);
    if (why[0]) {
        dev_cmd_read(kit, false, NAN, why);
        return;
    }
    cJSON *json = cJSON_ParseWithLength(result->body, result->body_size);
    const cJSON *inv = NULL, *item;
    cJSON_ArrayForEach(item, json)
    {
        if (item->string && strcasecmp(item->string, kit->config.serial) == 0)
            inv = item;
    }
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(inv, "limit_set_status");
    double pct, max_w;
    bool numbers =
        dev_json_number(inv, "limit_relative", &pct) && dev_json_number(inv, "max_power", &max_w);
    if (!json) {
        snprintf(why, sizeof why, "limit/status: the reply is not JSON");
    } else if (!inv) {
        snprintf(why, sizeof why, "limit/status: inverter %.20s missing", kit->config.serial);
    } else if (!cJSON_IsString(status)) {
        snprintf(why, sizeof why, "limit/status: limit_set_status missing");
    } else if (strcmp(status->valuestring, "Pending") == 0) {
        /* The inverter has not confirmed yet: look again rather than send again. */
        if (++o->pending_reads < MAX_PENDING_READS) {
            cJSON_Delete(json);
            uv_timer_start(
                &o->timer, pending_cb,
                balkon_clock_wall_ms(&kit->ctx->clock, (int64_t)(kit->verify_delay_s * 1000)), 0);
            return;
        }
        snprintf(why, sizeof why, "limit status still Pending after %d reads", o->pending_reads);
    } else if (strcmp(status->valuestring, "Ok") != 0) {
        snprintf(why, sizeof why, "limit status %.20s", status->valuestring);
    } else if (!numbers || max_w <= 0) {
        snprintf(why, sizeof why, "limit/status: limit_relative or max_power missing");
    }
    cJSON_Delete(json);
    if (why[0])
        dev_cmd_read(kit, false, NAN, why);
    else
        dev_cmd_read(kit, true, pct * max_w / 100.0, "");
}

static int request_limit_status(struct opendtu *o)
{
    return dev_http(&o->kit, "/api/limit/status", NULL, NULL, limit_status_cb, o);
}

static int http_read_back(struct dev_kit *kit, const struct device_command *command)
{
    struct opendtu *o = (struct opendtu *)kit;
    o->pending_reads = 0;
    return request_limit_status(o);
}

/* --- MQTT ------------------------------------------------------------------------------ */

static bool parse_number(const char *text, double *out)
{
    char *end;
    double v = strtod(text, &end);
    while (end != text && isspace((unsigned char)*end))
        end++;
    if (end == text || *end || !isfinite(v))
        return false;
    *out = v;
    return true;
}

static void limit_seen(struct opendtu *o, double limit_w)
{
    o->limit_count++;
    if (o->awaiting_limit && fabs(limit_w - o->awaited_w) <= o->kit.tolerance_w) {
        o->awaiting_limit = false;
        uv_timer_stop(&o->timer);
        dev_cmd_read(&o->kit, true, limit_w, "");
    }
}

/* B/S/<rest>: one value of the inverter. */
static void inverter_msg(const char *topic, const void *payload, size_t len, void *user)
{
    struct opendtu *o = user;
    size_t prefix = strlen(o->base) + 1 + strlen(o->kit.config.serial) + 1;
    if (strlen(topic) <= prefix)
        return; /* B/S itself, which B/S/# also matches */
    const char *rest = topic + prefix;
    struct opendtu_live *l = &o->live;
    double v;
    if (strncmp(rest, "cmd/", 4) == 0 || strcmp(rest, "name") == 0)
        return; /* our own commands come back; the name is not a model */
    if (strcmp(rest, "device/fwbuildversion") == 0) {
        snprintf(o->firmware, sizeof o->firmware, "%.31s", (const char *)payload);
        return;
    }
    if (!parse_number(payload, &v))
        return; /* a field we do not read ("device/hwversion"), or garbage */
    if (strcmp(rest, "status/reachable") == 0) {
        /* Published every interval, also at night: the heartbeat. */
        l->reachable = v != 0;
        publish(o);
    } else if (strcmp(rest, "status/producing") == 0) {
        l->producing = v != 0;
    } else if (strcmp(rest, "status/limit_absolute") == 0) {
        l->limit_w = v;
        publish(o);
        limit_seen(o, v);
    } else if (strcmp(rest, "status/limit_relative") == 0) {
        l->limit_pct = v;
    } else if (strcmp(rest, "0/power") == 0) {
        l->ac_w = v;
        publish(o);
    } else if (strcmp(rest, "0/powerdc") == 0) {
        l->dc_w = v;
    } else if (strcmp(rest, "0/yieldday") == 0) {
        l->yield_day_wh = v;
    } else if (strcmp(rest, "0/yieldtotal") == 0) {
        l->energy_wh = v * 1000.0;
    } else if (strcmp(rest, "0/temperature") == 0) {
        l->temperature_c = v;
    }
}

static void dtu_status_msg(const char *topic, const void *payload, size_t len, void *user)
{
    struct opendtu *o = user;
    if (strcasecmp(payload, "offline") != 0)
        return;
    /* The DTU's last will: show the inverter offline now, not after the staleness limit. */
    dev_failed_code(&o->kit, "offline_reported", "%s: offline", topic);
    struct ev_device_state state;
    dev_state_init(&o->kit, &state, NULL, DEVICE_ROLE_INVERTER);
    snprintf(state.model, sizeof state.model, MODEL);
    state.online = false;
    snprintf(state.error, sizeof state.error, "%.80s: offline", topic);
    snprintf(state.error_code, sizeof state.error_code, "offline_reported");
    dev_publish_state(&o->kit, &state);
}

static int mqtt_subscribe(struct opendtu *o, char *msg, size_t msg_size)
{
    char inverter[256], dtu[160];
    snprintf(inverter, sizeof inverter, "%s/%s/#", o->base, o->kit.config.serial);
    snprintf(dtu, sizeof dtu, "%s/dtu/status", o->base);
    int rc = balkon_mqtt_subscribe(o->kit.ctx->mqtt, inverter, inverter_msg, o);
    if (rc == 0)
        rc = balkon_mqtt_subscribe(o->kit.ctx->mqtt, dtu, dtu_status_msg, o);
    if (rc < 0)
        snprintf(msg, msg_size, "cannot subscribe to %s: %s", inverter, balkon_strerror(rc));
    return rc;
}

static int mqtt_send(struct dev_kit *kit, const struct device_command *command)
{
    struct opendtu *o = (struct opendtu *)kit;
    char topic[256], payload[16];
    snprintf(topic, sizeof topic, "%s/%s/cmd/limit_nonpersistent_absolute", o->base,
             kit->config.serial);
    snprintf(payload, sizeof payload, "%.0f", command->value);
    o->limit_count_at_send = o->limit_count;
    /* Not retained: OpenDTU ignores retained non-persistent limits, and rightly so. */
    if (dev_mqtt_publish_command(kit, topic, payload))
        dev_cmd_sent(kit, true, "");
    return 0;
}

static void wait_timeout_cb(uv_timer_t *timer)
{
    struct opendtu *o = timer->data;
    if (!o->awaiting_limit)
        return;
    o->awaiting_limit = false;
    if (o->limit_count != o->limit_count_at_send)
        dev_cmd_read(&o->kit, true, o->live.limit_w,
                     ""); /* the runner says "read back X, expected Y" */
    else
        dev_cmd_read(&o->kit, false, NAN, "no status/limit_absolute since the command");
}

static int mqtt_read_back(struct dev_kit *kit, const struct device_command *command)
{
    struct opendtu *o = (struct opendtu *)kit;
    if (o->limit_count != o->limit_count_at_send &&
        fabs(o->live.limit_w - command->value) <= kit->tolerance_w) {
        dev_cmd_read(kit, true, o->live.limit_w, "");
        return 0;
    }
    /* The DTU publishes the limit every interval (5 s by default); the inverter takes some
     * seconds to apply it. Wait for a matching value, at most two intervals. */
    o->awaiting_limit = true;
    o->awaited_w = command->value;
    double wait_s = 2.0 * (kit->config.poll_interval_s > 5.0 ? kit->config.poll_interval_s : 5.0);
    uv_timer_start(&o->timer, wait_timeout_cb,
                   balkon_clock_wall_ms(&kit->ctx->clock, (int64_t)(wait_s * 1000)), 0);
    return 0;
}

/* --- Driver ---------------------------------------------------------------------------- */

static const struct dev_kit_ops http_ops = {
    .log_name = LOG,
    .default_port = 80,
    .auth = BALKON_HTTP_AUTH_BASIC,
    .poll = poll,
    .send = http_send,
    .read_back = http_read_back,
};

static const struct dev_kit_ops mqtt_ops = {
    .log_name = LOG,
    .send = mqtt_send,
    .read_back = mqtt_read_back,
};

static void apply_config(struct opendtu *o)
{
    struct balkon_device_config *c = &o->kit.config;
    if (!c->user[0])
        snprintf(c->user, sizeof c->user, "admin"); /* OpenDTU has no other user */
    snprintf(o->base, sizeof o->base, "%s", c->topic[0] ? c->topic : "solar");
    size_t len = strlen(o->base);
    while (len > 1 && o->base[len - 1] == '/')
        o->base[--len] = '\0';
}

static void opendtu_stop(void *instance);

static int opendtu_start(struct balkon_ctx *ctx, const struct balkon_device_config *device,
                         void **instance, char *msg, size_t msg_size)
{
    bool mqtt;
    int rc = dev_kit_protocol(ctx, device, &mqtt, msg, msg_size);
    if (rc < 0)
        return rc;
    struct opendtu *o = calloc(1, sizeof *o);
    if (!o)
        return BALKON_E_NOMEM;
    o->mqtt = mqtt;
    live_reset(&o->live);
    /* OpenDTU stops polling statistics while it sends a limit: space them, and give the
     * inverter time to confirm before reading the limit back. */
    o->kit.min_command_interval_s = 5.0;
    o->kit.verify_delay_s = 3.0;
    rc = dev_kit_start(&o->kit, ctx, device, mqtt ? &mqtt_ops : &http_ops, msg, msg_size);
    if (rc < 0) {
        free(o);
        return rc;
    }
    apply_config(o);
    dev_kit_own_timer_init(&o->kit, &o->timer); /* closed in opendtu_stop */
    if (mqtt) {
        rc = mqtt_subscribe(o, msg, msg_size);
        if (rc < 0) {
            opendtu_stop(o); /* the caller does not stop a failed start; frees o later */
            return rc;
        }
    }
    *instance = o;
    return 0;
}

static void opendtu_stop(void *instance)
{
    struct opendtu *o = instance;
    dev_kit_stop_own(&o->kit, &o->timer, o->mqtt);
}

static void opendtu_reconfigure(void *instance)
{
    struct opendtu *o = instance;
    struct balkon_device_config old = o->kit.config;
    dev_kit_reconfigure(&o->kit);
    struct balkon_device_config *c = &o->kit.config;
    if (strcmp(old.protocol, c->protocol) != 0 || strcmp(old.topic, c->topic) != 0 ||
        strcmp(old.serial, c->serial) != 0) {
        log_notice(LOG, "%s: protocol, topic and serial take effect after a restart", c->id);
        snprintf(c->protocol, sizeof c->protocol, "%s", old.protocol);
        snprintf(c->topic, sizeof c->topic, "%s", old.topic);
        snprintf(c->serial, sizeof c->serial, "%s", old.serial);
    }
    apply_config(o);
}

static int opendtu_command(void *instance, const struct device_command *command, char *msg,
                           size_t msg_size)
{
    struct opendtu *o = instance;
    if (strcmp(command->command, "limit") != 0) {
        snprintf(msg, msg_size, "an OpenDTU inverter takes only \"limit\" (W)");
        return BALKON_E_INVAL;
    }
    if (!o->mqtt && !o->kit.config.password[0]) {
        snprintf(msg, msg_size, "needs the DTU's admin password in the device's config");
        return BALKON_E_INVAL;
    }
    double max_w = o->kit.config.max_power_w;
    if (!(command->value >= 0 && command->value <= max_w)) {
        snprintf(msg, msg_size, "must be between 0 and %g W, got %g", max_w, command->value);
        return BALKON_E_RANGE;
    }
    /* OpenDTU takes whole watts. */
    struct device_command rounded = *command;
    rounded.value = round(command->value);
    dev_cmd_submit(&o->kit, &rounded);
    return 0;
}

const struct dev_driver_ops dev_driver_opendtu = {
    .driver = &balkon_driver_opendtu,
    .start = opendtu_start,
    .reconfigure = opendtu_reconfigure,
    .stop = opendtu_stop,
    .command = opendtu_command,
};
