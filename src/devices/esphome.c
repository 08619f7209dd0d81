/* Driver "esphome": an ESPHome device through its web server's REST API, its entities
 * mapped to a BalkonSolar device by the config (docs/devices.md, "esphome"):
 *   GET /sensor/<power_key>  {"id":"sensor-power","value":35.08036,"state":"35 W"}
 *     → power_w (× power_scale; × 1000 when the state's unit is kW); a meter's grid power
 *   GET /sensor/<soc_key>    → soc_pct (role battery)
 *   GET /sensor/<energy_key> → energy_wh (Wh; kWh scaled)
 *   GET /switch/<state_key>  {"id":"switch-relay","state":"ON","value":true} → on (plug)
 *   POST /switch/<state_key>/turn_on | turn_off (empty body; 200 when done)
 * A sensor without a reading yet says "state":"NA" with no usable value: the poll fails
 * with that, naming the sensor. Entity ids are the object ids (ESPHome before 2025) or the
 * names (web_server version 3); they are percent-encoded into the path. */
#include "device_kit.h"

#include "devices_internal.h"
#include "balkon/devices_probe.h"
#include "balkon/driver.h"
#include "balkon/error.h"
#include "balkon/log.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LOG "esphome"

enum step { STEP_POWER, STEP_SOC, STEP_ENERGY, STEP_SWITCH, STEP_DONE };

struct esphome {
    struct dev_kit kit; /* first: the kit's callbacks cast back */
    unsigned role;
    bool polling;
    enum step step;
    double power_w, soc_pct, energy_wh;
    int on; /* -1 unknown */
};

/* --- Entities (pure) ------------------------------------------------------------------- */

/* "/<domain>/<id><suffix>" with id percent-encoded (names may hold spaces). */
static void entity_path(const char *domain, const char *id, const char *suffix, char *out,
                        size_t size)
{
    size_t n = (size_t)snprintf(out, size, "/%s/", domain);
    for (const unsigned char *p = (const unsigned char *)id; *p && n + 4 < size; p++) {
        if (isalnum(*p) || strchr("-_.~", *p))
            out[n++] = (char)*p;
        else
            n += (size_t)snprintf(out + n, size - n, "%%%02X", *p);
    }
    out[n] = '\0';
    snprintf(out + n, size - n, "%s", suffix);
}

/* A sensor's value in W, Wh or % as the state text's unit says: kW and kWh are scaled to W
 * and Wh. False with the reason in why. */
static bool sensor_value(const cJSON *root, double *out, char *why, size_t why_size)
{
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(root, "value");
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(root, "state");
    if (!cJSON_IsNumber(value) || !isfinite(value->valuedouble)) {
        snprintf(why, why_size, "no value (state \"%.16s\")",
                 cJSON_IsString(state) ? state->valuestring : "");
        return false;
    }
    *out = value->valuedouble;
    if (cJSON_IsString(state)) {
        const char *unit = strrchr(state->valuestring, ' ');
        if (unit && (strcmp(unit + 1, "kW") == 0 || strcmp(unit + 1, "kWh") == 0))
            *out *= 1000.0;
    }
    return true;
}

static bool switch_value(const cJSON *root, int *on, char *why, size_t why_size)
{
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(root, "value");
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(root, "state");
    if (cJSON_IsBool(value)) {
        *on = cJSON_IsTrue(value);
        return true;
    }
    if (cJSON_IsString(state) &&
        (strcasecmp(state->valuestring, "ON") == 0 || strcasecmp(state->valuestring, "OFF") == 0)) {
        *on = strcasecmp(state->valuestring, "ON") == 0;
        return true;
    }
    snprintf(why, why_size, "neither value true/false nor state ON/OFF");
    return false;
}

bool balkon_esphome_probe(const char *body, size_t size)
{
    cJSON *json = cJSON_ParseWithLength(body, size);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(json, "id");
    bool esphome = cJSON_IsString(id) &&
                   (strncmp(id->valuestring, "sensor-", 7) == 0 ||
                    strncmp(id->valuestring, "switch-", 7) == 0) &&
                   cJSON_GetObjectItemCaseSensitive(json, "state") != NULL;
    cJSON_Delete(json);
    return esphome;
}

/* --- Polling --------------------------------------------------------------------------- */

static void publish(struct esphome *e)
{
    struct ev_device_state state;
    dev_state_init(&e->kit, &state, NULL, e->role);
    snprintf(state.model, sizeof state.model, "ESPHome");
    dev_state_add(&state, "power_w", e->power_w);
    if (e->role == DEVICE_ROLE_BATTERY)
        dev_state_add(&state, "soc_pct", e->soc_pct);
    dev_state_add(&state, "energy_wh", e->energy_wh);
    if (e->on >= 0)
        dev_state_add(&state, "on", e->on);
    dev_publish_state(&e->kit, &state);
    if (e->role == DEVICE_ROLE_METER)
        dev_publish_meter(&e->kit, NULL, e->power_w);
}

static void next_step(struct esphome *e);

static void entity_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    struct esphome *e = user;
    const struct balkon_device_config *c = &kit->config;
    const char *id = e->step == STEP_POWER    ? c->power_key
                     : e->step == STEP_SOC    ? c->soc_key
                     : e->step == STEP_ENERGY ? c->energy_key
                                              : c->state_key;
    char what[160], why[96];
    snprintf(what, sizeof what, "%s/%s", e->step == STEP_SWITCH ? "switch" : "sensor", id);
    if (!dev_http_ok(kit, result, what)) {
        e->polling = false;
        return;
    }
    cJSON *json = dev_parse_json(kit, result, what);
    if (!json) {
        e->polling = false;
        return;
    }
    bool ok;
    if (e->step == STEP_POWER) {
        ok = sensor_value(json, &e->power_w, why, sizeof why);
        e->power_w *= c->power_scale;
    } else if (e->step == STEP_SOC) {
        ok = sensor_value(json, &e->soc_pct, why, sizeof why);
    } else if (e->step == STEP_ENERGY) {
        ok = sensor_value(json, &e->energy_wh, why, sizeof why);
    } else {
        ok = switch_value(json, &e->on, why, sizeof why);
    }
    cJSON_Delete(json);
    if (!ok) {
        e->polling = false;
        dev_failed(kit, "%s: %s", what, why);
        return;
    }
    e->step++;
    next_step(e);
}

/* Requests the next configured entity of this poll, or publishes when all are read. */
static void next_step(struct esphome *e)
{
    const struct balkon_device_config *c = &e->kit.config;
    for (;; e->step++) {
        const char *id = e->step == STEP_POWER ? c->power_key
                         : e->step == STEP_SOC ? (e->role == DEVICE_ROLE_BATTERY ? c->soc_key : "")
                         : e->step == STEP_ENERGY ? c->energy_key
                         : e->step == STEP_SWITCH
                             ? (e->role == DEVICE_ROLE_PLUG ? c->state_key : "")
                             : NULL;
        if (!id) {
            e->polling = false;
            publish(e);
            return;
        }
        if (!id[0])
            continue;
        char path[320];
        entity_path(e->step == STEP_SWITCH ? "switch" : "sensor", id, "", path, sizeof path);
        if (dev_http(&e->kit, path, NULL, NULL, entity_cb, e) < 0)
            e->polling = false;
        return;
    }
}

static void poll(struct dev_kit *kit)
{
    struct esphome *e = (struct esphome *)kit;
    if (e->polling)
        return;
    e->polling = true;
    e->step = STEP_POWER;
    /* A plug without a power sensor reads only its switch. */
    e->power_w = NAN;
    e->energy_wh = NAN;
    next_step(e);
}

/* --- Switching ------------------------------------------------------------------------- */

static void switched_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    char why[96];
    bool failed = dev_http_problem(result, "switch", why, sizeof why);
    dev_cmd_sent(kit, !failed, failed ? why : "");
}

static int esphome_send(struct dev_kit *kit, const struct device_command *command)
{
    char path[320];
    entity_path("switch", kit->config.state_key, command->value != 0 ? "/turn_on" : "/turn_off",
                path, sizeof path);
    return dev_http(kit, path, "application/x-www-form-urlencoded", "", switched_cb, NULL);
}

static void read_back_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    struct esphome *e = (struct esphome *)kit;
    char why[96];
    if (dev_http_problem(result, "switch", why, sizeof why)) {
        dev_cmd_read(kit, false, NAN, why);
        return;
    }
    cJSON *json = cJSON_ParseWithLength(result->body, result->body_size);
    int on = -1;
    bool ok = json && switch_value(json, &on, why, sizeof why);
    cJSON_Delete(json);
    if (!json)
        snprintf(why, sizeof why, "switch: the reply is not JSON");
    if (!ok) {
        dev_cmd_read(kit, false, NAN, why);
        return;
    }
    e->on = on;
    dev_cmd_read(kit, true, on, "");
}

static int read_back(struct dev_kit *kit, const struct device_command *command)
{
    char path[320];
    entity_path("switch", kit->config.state_key, "", path, sizeof path);
    return dev_http(kit, path, NULL, NULL, read_back_cb, NULL);
}

/* --- Driver ---------------------------------------------------------------------------- */

static const struct dev_kit_ops ops = {
    .log_name = LOG,
    .default_port = 80,
    .auth = BALKON_HTTP_AUTH_BASIC,
    .poll = poll,
    .send = esphome_send,
    .read_back = read_back,
};

static int esphome_start(struct balkon_ctx *ctx, const struct balkon_device_config *device,
                         void **instance, char *msg, size_t msg_size)
{
    struct esphome *e = calloc(1, sizeof *e);
    if (!e)
        return BALKON_E_NOMEM;
    e->role = balkon_driver_role_bit(device->role);
    e->power_w = NAN;
    e->soc_pct = NAN;
    e->energy_wh = NAN;
    e->on = -1;
    e->kit.verify_delay_s = 0.5; /* ESPHome switches at once */
    int rc = dev_kit_start(&e->kit, ctx, device, &ops, msg, msg_size);
    if (rc < 0) {
        free(e);
        return rc;
    }
    *instance = e;
    return 0;
}

static void esphome_stop(void *instance)
{
    struct esphome *e = instance;
    dev_kit_stop(&e->kit);
}

static void esphome_reconfigure(void *instance)
{
    struct esphome *e = instance;
    dev_kit_reconfigure_keep_role(&e->kit);
}

static int esphome_command(void *instance, const struct device_command *command, char *msg,
                           size_t msg_size)
{
    struct esphome *e = instance;
    return dev_plug_command(&e->kit, e->role == DEVICE_ROLE_PLUG, command, msg, msg_size);
}

const struct dev_driver_ops dev_driver_esphome = {
    .driver = &balkon_driver_esphome,
    .start = esphome_start,
    .reconfigure = esphome_reconfigure,
    .stop = esphome_stop,
    .command = esphome_command,
};
