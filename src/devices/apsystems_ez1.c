/* Driver "apsystems_ez1": an APsystems EZ1 micro-inverter (EZ1-M, EZ1-H) over its local API
 * (the app's "Local Mode", HTTP on port 8050, no auth). The wire format as docs/devices.md
 * ("apsystems_ez1") describes it; every answer is
 *   {"data":{…},"message":"SUCCESS","deviceId":"E07000000001"}   ("FAILED" on a refusal)
 * with numbers as numbers or as strings.
 *
 *   GET /getDeviceInfo, once: data {"deviceId","devVer":"EZ1 1.7.3","ssid","ipAddr",
 *     "minPower":"30","maxPower":"800"}  → firmware, the limit's range
 *   GET /getOutputData, every poll: data {"p1","e1","te1","p2","e2","te2"}: output power
 *     per input (W), energy since the inverter started today and lifetime energy per input
 *     (kWh)
 *   GET /getMaxPower, every poll: data {"maxPower":"600"}  → limit_w
 *   GET /getOnOff, every poll: data {"status":"0"}  ("0" producing, "1" switched off)
 *   GET /setMaxPower?p=W → data {"maxPower":"W"};  GET /setOnOff?status=0|1 → data {"status"}
 * A failed getMaxPower or getOnOff leaves their values out (the EZ1-D moved the maximum
 * power elsewhere); a failed getOutputData is the device's error. */
#include "device_kit.h"

#include "devices_internal.h"
#include "balkon/devices_probe.h"
#include "balkon/driver.h"
#include "balkon/error.h"
#include "balkon/log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG "apsystems"
#define MODEL "APsystems EZ1"

struct ez1_values {
    double p1_w, p2_w, e1_kwh, e2_kwh, te1_kwh, te2_kwh;
    double max_power_setting_w; /* getMaxPower: the limit in force */
    int on;                     /* getOnOff: 1 producing, 0 switched off, -1 unknown */
};

struct ez1 {
    struct dev_kit kit; /* first: the kit's callbacks cast back */
    bool polling;
    bool info_known;
    char firmware[32];
    double min_power_w, max_power_w; /* the device's range for setMaxPower; NAN unknown */
    struct ez1_values v;
};

/* --- Replies (pure) -------------------------------------------------------------------- */

/* The "data" object of a reply, or NULL with the reason in why. */
static const cJSON *reply_data(const cJSON *root, const char *what, char *why, size_t why_size)
{
    const cJSON *message = cJSON_GetObjectItemCaseSensitive(root, "message");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (!cJSON_IsString(message)) {
        snprintf(why, why_size, "%s: message missing", what);
        return NULL;
    }
    if (strcmp(message->valuestring, "SUCCESS") != 0) {
        snprintf(why, why_size, "%s: the inverter answered %.20s", what, message->valuestring);
        return NULL;
    }
    if (!cJSON_IsObject(data)) {
        snprintf(why, why_size, "%s: data missing", what);
        return NULL;
    }
    return data;
}

static bool parse_output(const cJSON *data, struct ez1_values *v, char *why, size_t why_size)
{
    static const char *const keys[] = {"p1", "p2", "e1", "e2", "te1", "te2"};
    double *const out[] = {&v->p1_w, &v->p2_w, &v->e1_kwh, &v->e2_kwh, &v->te1_kwh, &v->te2_kwh};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        if (!dev_json_number(data, keys[i], out[i])) {
            snprintf(why, why_size, "getOutputData: data.%s missing or not a number", keys[i]);
            return false;
        }
    }
    return true;
}

bool balkon_apsystems_ez1_probe(const char *body, size_t size)
{
    cJSON *json = cJSON_ParseWithLength(body, size);
    char why[64];
    const cJSON *data = reply_data(json, "getDeviceInfo", why, sizeof why);
    double max_w;
    bool ez1 = data && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(data, "deviceId")) &&
               dev_json_number(data, "maxPower", &max_w);
    cJSON_Delete(json);
    return ez1;
}

/* --- Polling --------------------------------------------------------------------------- */

static void publish(struct ez1 *e)
{
    const struct ez1_values *v = &e->v;
    struct ev_device_state state;
    dev_state_init(&e->kit, &state, NULL, DEVICE_ROLE_INVERTER);
    snprintf(state.model, sizeof state.model, MODEL);
    snprintf(state.firmware, sizeof state.firmware, "%s", e->firmware);
    dev_state_add(&state, "power_w", v->p1_w + v->p2_w);
    dev_state_add(&state, "power_input1_w", v->p1_w);
    dev_state_add(&state, "power_input2_w", v->p2_w);
    dev_state_add(&state, "energy_wh", (v->te1_kwh + v->te2_kwh) * 1000.0);
    dev_state_add(&state, "yield_day_wh", (v->e1_kwh + v->e2_kwh) * 1000.0);
    dev_state_add(&state, "limit_w", v->max_power_setting_w);
    dev_state_add(&state, "max_power_w", e->max_power_w);
    if (v->on >= 0)
        dev_state_add(&state, "on", v->on);
    dev_publish_state(&e->kit, &state);
}

/* Parses a reply into JSON and its data; NULL (the reason in why) when it is not usable. */
static cJSON *parse_reply(const struct balkon_http_result *result, const char *what,
                          const cJSON **data, char *why, size_t why_size)
{
    if (dev_http_problem(result, what, why, why_size))
        return NULL;
    cJSON *json = cJSON_ParseWithLength(result->body, result->body_size);
    if (!json) {
        snprintf(why, why_size, "%s: the reply is not JSON", what);
        return NULL;
    }
    *data = reply_data(json, what, why, why_size);
    if (!*data) {
        cJSON_Delete(json);
        return NULL;
    }
    return json;
}

static void onoff_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    struct ez1 *e = user;
    e->polling = false;
    const cJSON *data;
    char why[96];
    cJSON *json = parse_reply(result, "getOnOff", &data, why, sizeof why);
    double status;
    e->v.on = json && dev_json_number(data, "status", &status) ? status == 0 : -1;
    cJSON_Delete(json);
    publish(e);
}

static void max_power_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    struct ez1 *e = user;
    const cJSON *data;
    char why[96];
    cJSON *json = parse_reply(result, "getMaxPower", &data, why, sizeof why);
    e->v.max_power_setting_w = NAN;
    if (json)
        dev_json_number(data, "maxPower", &e->v.max_power_setting_w);
    cJSON_Delete(json);
    if (dev_http(kit, "/getOnOff", NULL, NULL, onoff_cb, e) < 0) {
        e->polling = false;
        publish(e);
    }
}

static void output_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    struct ez1 *e = user;
    const cJSON *data;
    char why[96];
    cJSON *json = parse_reply(result, "getOutputData", &data, why, sizeof why);
    struct ez1_values v = e->v;
    bool ok = json && parse_output(data, &v, why, sizeof why);
    cJSON_Delete(json);
    if (!ok) {
        e->polling = false;
        dev_failed(kit, "%s", why);
        return;
    }
    e->v = v;
    if (dev_http(kit, "/getMaxPower", NULL, NULL, max_power_cb, e) < 0) {
        e->polling = false;
        publish(e);
    }
}

static void info_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    struct ez1 *e = user;
    const cJSON *data;
    char why[96];
    cJSON *json = parse_reply(result, "getDeviceInfo", &data, why, sizeof why);
    if (json) {
        /* Asked again at the next poll until it answers: the limit's range comes from it. */
        e->info_known = true;
        const cJSON *version = cJSON_GetObjectItemCaseSensitive(data, "devVer");
        if (cJSON_IsString(version))
            snprintf(e->firmware, sizeof e->firmware, "%.31s", version->valuestring);
        if (!dev_json_number(data, "minPower", &e->min_power_w))
            e->min_power_w = NAN;
        if (!dev_json_number(data, "maxPower", &e->max_power_w))
            e->max_power_w = NAN;
    }
    cJSON_Delete(json);
    if (dev_http(kit, "/getOutputData", NULL, NULL, output_cb, e) < 0)
        e->polling = false;
}

static void poll(struct dev_kit *kit)
{
    struct ez1 *e = (struct ez1 *)kit;
    if (e->polling)
        return;
    e->polling = true;
    int rc = e->info_known ? dev_http(kit, "/getOutputData", NULL, NULL, output_cb, e)
                           : dev_http(kit, "/getDeviceInfo", NULL, NULL, info_cb, e);
    if (rc < 0)
        e->polling = false;
}

/* --- Commands: limit (setMaxPower) and switch (setOnOff) -------------------------------- */

static void sent_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    const char *what = user ? "setOnOff" : "setMaxPower"; /* user: the kit for a switch */
    const cJSON *data;
    char why[96];
    cJSON *json = parse_reply(result, what, &data, why, sizeof why);
    bool ok = json != NULL;
    cJSON_Delete(json);
    dev_cmd_sent(kit, ok, ok ? "" : why);
}

static int ez1_send(struct dev_kit *kit, const struct device_command *command)
{
    char path[64];
    if (strcmp(command->command, "switch") == 0) {
        /* status 0 = on (producing), 1 = off */
        snprintf(path, sizeof path, "/setOnOff?status=%d", command->value != 0 ? 0 : 1);
        return dev_http(kit, path, NULL, NULL, sent_cb, kit);
    }
    snprintf(path, sizeof path, "/setMaxPower?p=%.0f", command->value);
    return dev_http(kit, path, NULL, NULL, sent_cb, NULL);
}

static void read_back_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    struct ez1 *e = (struct ez1 *)kit;
    bool is_switch = user != NULL;
    const char *what = is_switch ? "getOnOff" : "getMaxPower";
    const cJSON *data;
    char why[96];
    cJSON *json = parse_reply(result, what, &data, why, sizeof why);
    double value = NAN;
    bool ok = json && dev_json_number(data, is_switch ? "status" : "maxPower", &value);
    cJSON_Delete(json);
    if (json && !ok)
        snprintf(why, sizeof why, "%s: data.%s missing", what, is_switch ? "status" : "maxPower");
    if (!ok) {
        dev_cmd_read(kit, false, NAN, why);
        return;
    }
    if (is_switch) {
        value = value == 0; /* status 0 = on */
        e->v.on = (int)value;
    } else {
        e->v.max_power_setting_w = value;
    }
    dev_cmd_read(kit, true, value, "");
}

static int read_back(struct dev_kit *kit, const struct device_command *command)
{
    bool is_switch = strcmp(command->command, "switch") == 0;
    return dev_http(kit, is_switch ? "/getOnOff" : "/getMaxPower", NULL, NULL, read_back_cb,
                    is_switch ? (void *)kit : NULL);
}

/* --- Driver ---------------------------------------------------------------------------- */

static const struct dev_kit_ops ops = {
    .log_name = LOG,
    .default_port = 8050,
    .poll = poll,
    .send = ez1_send,
    .read_back = read_back,
};

static int ez1_start(struct balkon_ctx *ctx, const struct balkon_device_config *device,
                     void **instance, char *msg, size_t msg_size)
{
    struct ez1 *e = calloc(1, sizeof *e);
    if (!e)
        return BALKON_E_NOMEM;
    e->min_power_w = NAN;
    e->max_power_w = NAN;
    e->v = (struct ez1_values){NAN, NAN, NAN, NAN, NAN, NAN, NAN, -1};
    /* The EZ1 refuses changes that come too fast ("FAILED"): space them. */
    e->kit.min_command_interval_s = 5.0;
    e->kit.verify_delay_s = 2.0;
    int rc = dev_kit_start(&e->kit, ctx, device, &ops, msg, msg_size);
    if (rc < 0) {
        free(e);
        return rc;
    }
    *instance = e;
    return 0;
}

static void ez1_stop(void *instance)
{
    struct ez1 *e = instance;
    dev_kit_stop(&e->kit);
}

static void ez1_reconfigure(void *instance)
{
    struct ez1 *e = instance;
    dev_kit_reconfigure(&e->kit);
    e->info_known = false; /* the host may have changed */
}

static int ez1_command(void *instance, const struct device_command *command, char *msg,
                       size_t msg_size)
{
    struct ez1 *e = instance;
    if (strcmp(command->command, "switch") == 0) {
        if (command->value != 0 && command->value != 1) {
            snprintf(msg, msg_size, "switch takes 1 (produce) or 0 (off), got %g", command->value);
            return BALKON_E_RANGE;
        }
        dev_cmd_submit(&e->kit, command);
        return 0;
    }
    if (strcmp(command->command, "limit") != 0) {
        snprintf(msg, msg_size,
                 "an APsystems EZ1 takes \"limit\" (W) and \"switch\" (1 produce, 0 off)");
        return BALKON_E_INVAL;
    }
    /* The device's own range (getDeviceInfo) within the configured cap. */
    double min_w = isfinite(e->min_power_w) ? e->min_power_w : 30.0;
    double max_w = e->kit.config.max_power_w;
    if (isfinite(e->max_power_w) && e->max_power_w < max_w)
        max_w = e->max_power_w;
    if (!(command->value >= min_w && command->value <= max_w)) {
        snprintf(msg, msg_size,
                 "must be between %g and %g W, got %g (below %g W: \"switch\" 0 turns it off)",
                 min_w, max_w, command->value, min_w);
        return BALKON_E_RANGE;
    }
    struct device_command rounded = *command; /* setMaxPower takes whole watts */
    rounded.value = round(command->value);
    dev_cmd_submit(&e->kit, &rounded);
    return 0;
}

const struct dev_driver_ops dev_driver_apsystems_ez1 = {
    .driver = &balkon_driver_apsystems_ez1,
    .start = ez1_start,
    .reconfigure = ez1_reconfigure,
    .stop = ez1_stop,
    .command = ez1_command,
};
