/* Driver "tasmota": a Tasmota plug (relay + energy monitor) or a Tasmota smart-meter reader
 * (SML / IR head), over HTTP (polled) or MQTT (pushed). The wire format as
 * docs/devices.md ("tasmota") describes it.
 *
 * HTTP (port 80), every request `GET /cm?[user=U&password=P&]cmnd=<command>`:
 *   Status%200, once, for the model and firmware:
 *     {"Status":{"DeviceName":"Nous A1T",…},"StatusFWR":{"Version":"13.2.0(tasmota)",…},…}
 *   Status%208, every poll:
 *     {"StatusSNS":{"Time":…,"ENERGY":{"Total":6.404,"Power":2629,"Voltage":226,…}}}
 *     or, on an SML reader, the script's group: {"StatusSNS":{"SML":{"Power_curr":-71,…}}}
 *   Power<n>, plugs, every poll and to read a command back:
 *     {"POWER1":"ON"}; a single-relay device answers {"POWER":"ON"}
 *   Power<n>%20On|Off, the switch command: answers like the query.
 * A missing or wrong web password answers {"WARNING":"Need user=<username>&password=<password>"},
 * usually with HTTP 200; an unknown command {"Command":"Unknown"}.
 *
 * MQTT (default FullTopic %prefix%/%topic%/), with T the config's topic:
 *   tele/T/SENSOR  {"Time":…,"ENERGY":{…}} or {"Time":…,"SML":{…}}: the Status 8 paths
 *                  without "StatusSNS."; every TelePeriod (default 300 s, min 10 s)
 *   tele/T/STATE   {…,"POWER":"ON",…} or "POWER1"…: the relay, every TelePeriod
 *   tele/T/LWT     "Online" / "Offline" (retained)
 *   stat/T/RESULT  {"POWER1":"ON"} and stat/T/POWER1 "ON": the answer to a command
 *   cmnd/T/POWER1  "ON" / "OFF": the switch command (never retained)
 *
 * Roles: a meter when power_key is set and role is not "plug" (grid power, + import, times
 * power_scale); otherwise a plug (power from ENERGY.Power, energy, voltage and the relay,
 * which takes "switch"). */
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

#define LOG "tasmota"
#define SNS_PREFIX "StatusSNS."

struct tasmota {
    struct dev_kit kit; /* first: the kit's callbacks cast back */
    bool meter;
    bool mqtt;
    int relay;         /* Tasmota's relay number: channel + 1 */
    char key[128];     /* where the power is inside StatusSNS / SENSOR: "ENERGY.Power" */
    bool key_required; /* a configured key must be there; a plug's default may be absent */
    bool polling;      /* an HTTP poll (a chain of requests) is in flight */
    bool info_known;
    char model[48];
    char firmware[32];
    /* The last values read; NAN (on: -1) while unknown. */
    double power_w, energy_wh, voltage_v;
    int on;
    /* MQTT: answers on stat/ count up, so a read-back knows one came after the command. */
    unsigned stat_count, stat_count_at_send;
    bool awaiting_stat;
    uv_timer_t wait_timer; /* how long a read-back waits for the stat/ answer */
    char topic_power[16];  /* "POWER1" */
};

/* --- Replies ------------------------------------------------------------------------ */

/* The relay state in a reply: "POWER<n>", or "POWER" for the first relay. 1, 0 or -1. */
static int relay_state(const cJSON *json, int relay)
{
    char key[16];
    snprintf(key, sizeof key, "POWER%d", relay);
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(json, key);
    if (!item && relay == 1)
        item = cJSON_GetObjectItemCaseSensitive(json, "POWER");
    if (!cJSON_IsString(item))
        return -1;
    if (strcasecmp(item->valuestring, "ON") == 0)
        return 1;
    if (strcasecmp(item->valuestring, "OFF") == 0)
        return 0;
    return -1;
}

/* Reads the sensor object (StatusSNS, or the SENSOR message): the power at the key, and a
 * plug's energy counter (kWh) and voltage. Returns false with the reason in why. */
static bool parse_sensor(const struct tasmota *t, const cJSON *sns, const char *prefix,
                         double *power_w, double *energy_wh, double *voltage_v, char *why,
                         size_t why_size)
{
    *power_w = *energy_wh = *voltage_v = NAN;
    if (!cJSON_IsObject(sns)) {
        snprintf(why, why_size, "%s", prefix[0] ? "StatusSNS missing" : "not a JSON object");
        return false;
    }
    if (!dev_json_number(sns, t->key, power_w) && t->key_required) {
        snprintf(why, why_size, "%s%.60s missing or not a number", prefix, t->key);
        return false;
    }
    double kwh;
    if (!t->meter && dev_json_number(sns, "ENERGY.Total", &kwh))
        *energy_wh = kwh * 1000.0;
    if (!t->meter)
        dev_json_number(sns, "ENERGY.Voltage", voltage_v);
    if (isfinite(*power_w))
        *power_w *= t->kit.config.power_scale;
    return true;
}

static void publish(struct tasmota *t)
{
    struct ev_device_state state;
    dev_state_init(&t->kit, &state, NULL, t->meter ? DEVICE_ROLE_METER : DEVICE_ROLE_PLUG);
    snprintf(state.model, sizeof state.model, "%s", t->model[0] ? t->model : "Tasmota");
    snprintf(state.firmware, sizeof state.firmware, "%s", t->firmware);
    dev_state_add(&state, "power_w", t->power_w);
    if (!t->meter) {
        dev_state_add(&state, "energy_wh", t->energy_wh);
        dev_state_add(&state, "voltage_v", t->voltage_v);
        if (t->on >= 0)
            dev_state_add(&state, "on", t->on);
    }
    dev_publish_state(&t->kit, &state);
    if (t->meter)
        dev_publish_meter(&t->kit, NULL, t->power_w);
}

/* --- HTTP --------------------------------------------------------------------------- */

static void url_encode(const char *in, char *out, size_t size)
{
    size_t n = 0;
    for (; *in && n + 4 < size; in++) {
        unsigned char c = (unsigned char)*in;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
            out[n++] = (char)c;
        else
            n += (size_t)snprintf(out + n, size - n, "%%%02X", c);
    }
    out[n] = '\0';
}

/* GET /cm with the web password as query parameters (Tasmota takes no HTTP auth). */
static int cm(struct tasmota *t, const char *command, dev_http_cb cb)
{
    char path[700], user[200], password[400];
    if (t->kit.config.password[0]) {
        url_encode(t->kit.config.user[0] ? t->kit.config.user : "admin", user, sizeof user);
        url_encode(t->kit.config.password, password, sizeof password);
        snprintf(path, sizeof path, "/cm?user=%s&password=%s&cmnd=%s", user, password, command);
    } else {
        snprintf(path, sizeof path, "/cm?cmnd=%s", command);
    }
    return dev_http(&t->kit, path, NULL, NULL, cb, t);
}

/* The reply as JSON, or NULL with the reason in why (HTTP, not JSON, password, unknown). */
static cJSON *cm_reply(const struct balkon_http_result *result, const char *what, char *why,
                       size_t why_size)
{
    if (dev_http_problem(result, what, why, why_size))
        return NULL;
    cJSON *json = cJSON_ParseWithLength(result->body, result->body_size);
    if (!cJSON_IsObject(json)) {
        snprintf(why, why_size, "%s: the reply is not a JSON object", what);
    } else if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(json, "WARNING"))) {
        snprintf(why, why_size, "%s: wrong or missing user/password (\"%.40s\")", what,
                 cJSON_GetObjectItemCaseSensitive(json, "WARNING")->valuestring);
    } else if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(json, "Command"))) {
        snprintf(why, why_size, "%s: the device answered Command %.20s", what,
                 cJSON_GetObjectItemCaseSensitive(json, "Command")->valuestring);
    } else {
        return json;
    }
    cJSON_Delete(json);
    return NULL;
}

static cJSON *poll_reply(struct tasmota *t, const struct balkon_http_result *result,
                         const char *what)
{
    char why[96];
    cJSON *json = cm_reply(result, what, why, sizeof why);
    if (!json) {
        dev_failed(&t->kit, "%s", why);
        t->polling = false;
    }
    return json;
}

static void relay_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    struct tasmota *t = user;
    cJSON *json = poll_reply(t, result, "Power");
    if (!json)
        return;
    int on = relay_state(json, t->relay);
    cJSON_Delete(json);
    t->polling = false;
    if (on < 0) {
        dev_failed(kit, "Power%d: POWER%d missing in the reply", t->relay, t->relay);
        return;
    }
    t->on = on;
    publish(t);
}

static void status8_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    struct tasmota *t = user;
    cJSON *json = poll_reply(t, result, "Status 8");
    if (!json)
        return;
    char why[96];
    double power_w, energy_wh, voltage_v;
    bool ok = parse_sensor(t, cJSON_GetObjectItemCaseSensitive(json, "StatusSNS"), SNS_PREFIX,
                           &power_w, &energy_wh, &voltage_v, why, sizeof why);
    cJSON_Delete(json);
    if (!ok) {
        dev_failed(kit, "Status 8: %s", why);
        t->polling = false;
        return;
    }
    t->power_w = power_w;
    t->energy_wh = energy_wh;
    t->voltage_v = voltage_v;
    if (t->meter) {
        t->polling = false;
        publish(t);
        return;
    }
    char command[16];
    snprintf(command, sizeof command, "Power%d", t->relay);
    if (cm(t, command, relay_cb) < 0)
        t->polling = false;
}

static void info_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    struct tasmota *t = user;
    cJSON *json = poll_reply(t, result, "Status 0");
    if (!json)
        return;
    const cJSON *name = dev_json_path(json, "Status.DeviceName");
    const cJSON *version = dev_json_path(json, "StatusFWR.Version");
    const cJSON *hardware = dev_json_path(json, "StatusFWR.Hardware");
    if (cJSON_IsString(name) && name->valuestring[0])
        snprintf(t->model, sizeof t->model, "%s", name->valuestring);
    else if (cJSON_IsString(hardware))
        snprintf(t->model, sizeof t->model, "Tasmota %s", hardware->valuestring);
    if (cJSON_IsString(version))
        snprintf(t->firmware, sizeof t->firmware, "%s", version->valuestring);
    t->info_known = true; /* also when it did not tell: asked once per start */
    cJSON_Delete(json);
    if (cm(t, "Status%208", status8_cb) < 0)
        t->polling = false;
}

static void poll(struct dev_kit *kit)
{
    struct tasmota *t = (struct tasmota *)kit;
    if (t->polling)
        return; /* an ESP8266 answers one request at a time: never pile them up */
    t->polling = true;
    if (cm(t, t->info_known ? "Status%208" : "Status%200", t->info_known ? status8_cb : info_cb) <
        0)
        t->polling = false;
}

static void switch_sent_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    struct tasmota *t = user;
    char why[96];
    cJSON *json = cm_reply(result, "Power", why, sizeof why);
    if (!json) {
        dev_cmd_sent(kit, false, why);
        return;
    }
    /* The answer names the relay when the command was understood; whether it switched is
     * read back separately. */
    int on = relay_state(json, t->relay);
    cJSON_Delete(json);
    if (on < 0)
        dev_cmd_sent(kit, false, "no POWER in the reply");
    else
        dev_cmd_sent(kit, true, "");
}

static void switch_read_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    struct tasmota *t = user;
    char why[96];
    cJSON *json = cm_reply(result, "Power", why, sizeof why);
    if (!json) {
        dev_cmd_read(kit, false, NAN, why);
        return;
    }
    int on = relay_state(json, t->relay);
    cJSON_Delete(json);
    if (on < 0) {
        dev_cmd_read(kit, false, NAN, "no POWER in the reply");
        return;
    }
    t->on = on;
    dev_cmd_read(kit, true, on, "");
}

static int http_send(struct dev_kit *kit, const struct device_command *command)
{
    struct tasmota *t = (struct tasmota *)kit;
    char text[24];
    snprintf(text, sizeof text, "Power%d%%20%s", t->relay, command->value != 0 ? "On" : "Off");
    return cm(t, text, switch_sent_cb);
}

static int http_read_back(struct dev_kit *kit, const struct device_command *command)
{
    struct tasmota *t = (struct tasmota *)kit;
    char text[16];
    snprintf(text, sizeof text, "Power%d", t->relay);
    return cm(t, text, switch_read_cb);
}

/* --- MQTT --------------------------------------------------------------------------- */

static void topic(const struct tasmota *t, const char *prefix, const char *suffix, char *out,
                  size_t size)
{
    snprintf(out, size, "%s/%s/%s", prefix, t->kit.config.topic, suffix);
}

static void sensor_msg(const char *topic_name, const void *payload, size_t len, void *user)
{
    struct tasmota *t = user;
    cJSON *json = cJSON_ParseWithLength(payload, len);
    char why[96];
    double power_w, energy_wh, voltage_v;
    bool ok = parse_sensor(t, json, "", &power_w, &energy_wh, &voltage_v, why, sizeof why);
    cJSON_Delete(json);
    if (!ok) {
        dev_failed(&t->kit, "%s: %s", topic_name, why);
        return;
    }
    t->power_w = power_w;
    if (!t->meter) {
        t->energy_wh = energy_wh;
        t->voltage_v = voltage_v;
    }
    publish(t);
}

static void state_msg(const char *topic_name, const void *payload, size_t len, void *user)
{
    struct tasmota *t = user;
    cJSON *json = cJSON_ParseWithLength(payload, len);
    int on = relay_state(json, t->relay);
    cJSON_Delete(json);
    if (on < 0)
        return; /* a STATE without our relay (a meter, a light) */
    t->on = on;
    publish(t);
}

/* An answer to a command (or to a switch at the device): stat/T/RESULT or stat/T/POWER<n>. */
static void stat_value(struct tasmota *t, int on)
{
    if (on < 0)
        return;
    t->on = on;
    t->stat_count++;
    publish(t);
    if (t->awaiting_stat) {
        t->awaiting_stat = false;
        uv_timer_stop(&t->wait_timer);
        dev_cmd_read(&t->kit, true, on, "");
    }
}

static void result_msg(const char *topic_name, const void *payload, size_t len, void *user)
{
    cJSON *json = cJSON_ParseWithLength(payload, len);
    int on = relay_state(json, ((struct tasmota *)user)->relay);
    cJSON_Delete(json);
    stat_value(user, on);
}

static void power_msg(const char *topic_name, const void *payload, size_t len, void *user)
{
    const char *text = payload;
    stat_value(user, strcasecmp(text, "ON") == 0 ? 1 : strcasecmp(text, "OFF") == 0 ? 0 : -1);
}

static void lwt_msg(const char *topic_name, const void *payload, size_t len, void *user)
{
    struct tasmota *t = user;
    if (strcasecmp(payload, "Offline") != 0)
        return; /* "Online": the values that follow show it */
    /* The broker says the device is gone: show it offline now rather than after the
     * staleness limit. */
    dev_failed_code(&t->kit, "offline_reported", "LWT Offline");
    struct ev_device_state state;
    dev_state_init(&t->kit, &state, NULL, t->meter ? DEVICE_ROLE_METER : DEVICE_ROLE_PLUG);
    snprintf(state.model, sizeof state.model, "%s", t->model[0] ? t->model : "Tasmota");
    state.online = false;
    snprintf(state.error, sizeof state.error, "LWT Offline");
    snprintf(state.error_code, sizeof state.error_code, "offline_reported");
    dev_publish_state(&t->kit, &state);
}

static int mqtt_subscribe(struct tasmota *t, char *msg, size_t msg_size)
{
    struct balkon_mqtt *m = t->kit.ctx->mqtt;
    char name[160];
    struct {
        const char *prefix, *suffix;
        balkon_mqtt_message_cb cb;
        bool plug_only;
    } subs[] = {
        {"tele", "SENSOR", sensor_msg, false},     {"tele", "LWT", lwt_msg, false},
        {"tele", "STATE", state_msg, true},        {"stat", "RESULT", result_msg, true},
        {"stat", t->topic_power, power_msg, true}, {"stat", "POWER", power_msg, true},
    };
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
        if (subs[i].plug_only && t->meter)
            continue;
        if (strcmp(subs[i].suffix, "POWER") == 0 && t->relay != 1)
            continue; /* plain POWER is the first relay */
        topic(t, subs[i].prefix, subs[i].suffix, name, sizeof name);
        int rc = balkon_mqtt_subscribe(m, name, subs[i].cb, t);
        if (rc < 0) {
            snprintf(msg, msg_size, "cannot subscribe to %s: %s", name, balkon_strerror(rc));
            return rc;
        }
    }
    return 0;
}

static int mqtt_send(struct dev_kit *kit, const struct device_command *command)
{
    struct tasmota *t = (struct tasmota *)kit;
    char name[160];
    topic(t, "cmnd", t->topic_power, name, sizeof name);
    const char *payload = command->value != 0 ? "ON" : "OFF";
    t->stat_count_at_send = t->stat_count;
    /* Never retained: a retained command would switch the relay again at every reconnect. */
    if (dev_mqtt_publish_command(kit, name, payload))
        dev_cmd_sent(kit, true, "");
    return 0;
}

static void wait_timeout_cb(uv_timer_t *timer)
{
    struct tasmota *t = timer->data;
    if (!t->awaiting_stat)
        return;
    t->awaiting_stat = false;
    char why[96];
    snprintf(why, sizeof why, "no answer on stat/%.40s/%.8s", t->kit.config.topic, t->topic_power);
    dev_cmd_read(&t->kit, false, NAN, why);
}

static int mqtt_read_back(struct dev_kit *kit, const struct device_command *command)
{
    struct tasmota *t = (struct tasmota *)kit;
    if (t->stat_count != t->stat_count_at_send) {
        dev_cmd_read(kit, true, t->on, "");
        return 0;
    }
    t->awaiting_stat = true;
    double wait_s = kit->config.timeout_s > 2.0 ? kit->config.timeout_s : 2.0;
    uv_timer_start(&t->wait_timer, wait_timeout_cb,
                   balkon_clock_wall_ms(&kit->ctx->clock, (int64_t)(wait_s * 1000)), 0);
    return 0;
}

/* --- Driver ------------------------------------------------------------------------- */

static const struct dev_kit_ops http_ops = {
    .log_name = LOG,
    .default_port = 80,
    .auth = BALKON_HTTP_AUTH_NONE, /* the password goes in the query */
    .poll = poll,
    .send = http_send,
    .read_back = http_read_back,
};

static const struct dev_kit_ops mqtt_ops = {
    .log_name = LOG,
    .send = mqtt_send,
    .read_back = mqtt_read_back,
};

/* Derives the role, the relay and the power's path from the (new) config. */
static void apply_config(struct tasmota *t)
{
    const struct balkon_device_config *c = &t->kit.config;
    t->meter = c->power_key[0] && strcmp(c->role, "plug") != 0;
    t->relay = (int)c->channel + 1;
    const char *key = c->power_key;
    if (strncmp(key, SNS_PREFIX, strlen(SNS_PREFIX)) == 0)
        key += strlen(SNS_PREFIX);
    snprintf(t->key, sizeof t->key, "%s", key[0] ? key : "ENERGY.Power");
    t->key_required = key[0] != '\0';
    snprintf(t->topic_power, sizeof t->topic_power, "POWER%d", t->relay);
}

static void tasmota_stop(void *instance);

static int tasmota_start(struct balkon_ctx *ctx, const struct balkon_device_config *device,
                         void **instance, char *msg, size_t msg_size)
{
    bool mqtt;
    int rc = dev_kit_protocol(ctx, device, &mqtt, msg, msg_size);
    if (rc < 0)
        return rc;
    struct tasmota *t = calloc(1, sizeof *t);
    if (!t)
        return BALKON_E_NOMEM;
    t->mqtt = mqtt;
    t->power_w = t->energy_wh = t->voltage_v = NAN;
    t->on = -1;
    rc = dev_kit_start(&t->kit, ctx, device, mqtt ? &mqtt_ops : &http_ops, msg, msg_size);
    if (rc < 0) {
        free(t);
        return rc;
    }
    apply_config(t);
    dev_kit_own_timer_init(&t->kit, &t->wait_timer); /* closed in tasmota_stop */
    if (mqtt) {
        snprintf(t->model, sizeof t->model, "Tasmota");
        rc = mqtt_subscribe(t, msg, msg_size);
        if (rc < 0) {
            tasmota_stop(t); /* the caller does not stop a failed start; frees t later */
            return rc;
        }
    }
    *instance = t;
    return 0;
}

static void tasmota_stop(void *instance)
{
    struct tasmota *t = instance;
    dev_kit_stop_own(&t->kit, &t->wait_timer, t->mqtt);
}

static void tasmota_reconfigure(void *instance)
{
    struct tasmota *t = instance;
    struct balkon_device_config old = t->kit.config;
    dev_kit_reconfigure(&t->kit);
    struct balkon_device_config *c = &t->kit.config;
    if (strcmp(old.protocol, c->protocol) != 0 || strcmp(old.topic, c->topic) != 0 ||
        strcmp(old.power_key, c->power_key) != 0 || strcmp(old.role, c->role) != 0 ||
        old.channel != c->channel) {
        log_notice(LOG,
                   "%s: protocol, topic, role, power_key and channel take effect after a restart",
                   c->id);
        snprintf(c->protocol, sizeof c->protocol, "%s", old.protocol);
        snprintf(c->topic, sizeof c->topic, "%s", old.topic);
        snprintf(c->power_key, sizeof c->power_key, "%s", old.power_key);
        snprintf(c->role, sizeof c->role, "%s", old.role);
        c->channel = old.channel;
    }
    apply_config(t);
}

static int tasmota_command(void *instance, const struct device_command *command, char *msg,
                           size_t msg_size)
{
    struct tasmota *t = instance;
    if (t->meter) {
        snprintf(msg, msg_size, "this Tasmota is a meter and takes no commands");
        return BALKON_E_INVAL;
    }
    if (strcmp(command->command, "switch") != 0) {
        snprintf(msg, msg_size, "a Tasmota plug takes only \"switch\" (1 on, 0 off)");
        return BALKON_E_INVAL;
    }
    if (command->value != 0 && command->value != 1) {
        snprintf(msg, msg_size, "must be 1 (on) or 0 (off), got %g", command->value);
        return BALKON_E_RANGE;
    }
    dev_cmd_submit(&t->kit, command);
    return 0;
}

const struct dev_driver_ops dev_driver_tasmota = {
    .driver = &balkon_driver_tasmota,
    .start = tasmota_start,
    .reconfigure = tasmota_reconfigure,
    .stop = tasmota_stop,
    .command = tasmota_command,
};
