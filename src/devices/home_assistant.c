/* Driver "home_assistant": entities Home Assistant knows, as one BalkonSolar device, over
 * its REST API with a long-lived access token (docs/devices.md, "home_assistant"):
 *   GET /api/states/<entity_id>  (Authorization: Bearer <token>)
 *     {"entity_id":"sensor.grid_power","state":"-412.5",
 *      "attributes":{"unit_of_measurement":"W","device_class":"power",…},
 *      "last_changed":"…","last_updated":"…","context":{…}}
 *     → power_key: power_w (W, kW), energy_key: energy_wh (Wh, kWh, MWh), soc_key: soc_pct
 *       (%), state_key: on ("on"/"off"); a state "unavailable" or "unknown" is a warning on
 *       the device (that value left out), a unit that does not fit is an error
 *   POST /api/services/<domain>/turn_on|turn_off {"entity_id":"switch.washer"} → 200
 * 401 means a wrong or revoked token; 404 {"message":"Entity not found."} a wrong entity.
 * The token goes only to the configured host (no redirects; a secret bound to the device's
 * type, host and port). */
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
#include <strings.h>

#define LOG "home_assistant"

enum step { STEP_POWER, STEP_SOC, STEP_ENERGY, STEP_SWITCH, STEP_DONE };

struct home_assistant {
    struct dev_kit kit; /* first: the kit's callbacks cast back */
    unsigned role;
    bool polling;
    enum step step;
    double power_w, soc_pct, energy_wh;
    int on; /* -1 unknown */
    char warning[128];
};

/* --- Entity states (pure) -------------------------------------------------------------- */

enum kind { KIND_POWER, KIND_SOC, KIND_ENERGY, KIND_SWITCH };

/* Reads an entity's state as kind into *out. Returns 1 with a value, 0 when the entity is
 * unavailable or unknown (why says so: a warning), -1 when the state cannot be read (why
 * says why: an error). */
static int entity_value(const cJSON *root, enum kind kind, double *out, char *why, size_t why_size)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "entity_id");
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(root, "state");
    const char *name = cJSON_IsString(id) ? id->valuestring : "entity";
    if (!cJSON_IsString(state)) {
        snprintf(why, why_size, "%.60s: state missing", name);
        return -1;
    }
    const char *text = state->valuestring;
    if (strcmp(text, "unavailable") == 0 || strcmp(text, "unknown") == 0) {
        snprintf(why, why_size, "%.60s is %s", name, text);
        return 0;
    }
    if (kind == KIND_SWITCH) {
        if (strcasecmp(text, "on") != 0 && strcasecmp(text, "off") != 0) {
            snprintf(why, why_size, "%.60s: state \"%.16s\" is not on/off", name, text);
            return -1;
        }
        *out = strcasecmp(text, "on") == 0;
        return 1;
    }
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end || !isfinite(v)) {
        snprintf(why, why_size, "%.60s: state \"%.16s\" is not a number", name, text);
        return -1;
    }
    const cJSON *unit = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, "attributes"), "unit_of_measurement");
    const char *u = cJSON_IsString(unit) ? unit->valuestring : "";
    static const struct {
        enum kind kind;
        const char *unit;
        double factor;
    } units[] = {{KIND_POWER, "W", 1},      {KIND_POWER, "kW", 1e3},   {KIND_ENERGY, "Wh", 1},
                 {KIND_ENERGY, "kWh", 1e3}, {KIND_ENERGY, "MWh", 1e6}, {KIND_SOC, "%", 1},
                 {KIND_SOC, "", 1}};
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        if (units[i].kind == kind && strcmp(units[i].unit, u) == 0) {
            *out = v * units[i].factor;
            return 1;
        }
    }
    static const char *const wanted[] = {"W or kW", "%", "Wh, kWh or MWh", ""};
    snprintf(why, why_size, "%.60s: unit \"%.8s\" is not %s", name, u, wanted[kind]);
    return -1;
}

bool balkon_home_assistant_probe(const char *body, size_t size)
{
    if (size >= 16 && strncmp(body, "401: Unauthorized", 16) == 0)
        return true;
    cJSON *json = cJSON_ParseWithLength(body, size);
    const cJSON *message = cJSON_GetObjectItemCaseSensitive(json, "message");
    bool ha = cJSON_IsString(message) && strcmp(message->valuestring, "API running.") == 0;
    cJSON_Delete(json);
    return ha;
}

/* --- Requests with the token ----------------------------------------------------------- */

struct ha_request {
    struct dev_kit *kit;
    dev_http_cb cb;
    void *user;
};

static void ha_done(const struct balkon_http_result *result, void *user)
{
    struct ha_request *request = user;
    if (!request->kit->stopping)
        request->cb(request->kit, result, request->user);
    free(request);
}

/* GET (body NULL) or POST path with the bearer token; as dev_http, whose requests carry no
 * header of the driver's own. */
static int ha_http(struct dev_kit *kit, const char *path, const char *body, dev_http_cb cb,
                   void *user)
{
    if (!kit->http || kit->stopping)
        return BALKON_E_INVAL;
    char url[512];
    if ((size_t)snprintf(url, sizeof url, "%s%s", kit->base_url, path) >= sizeof url)
        return BALKON_E_RANGE;
    char auth[sizeof kit->config.token + 32];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", kit->config.token);
    struct balkon_http_request request = {
        .method = body ? "POST" : "GET",
        .url = url,
        .headers = {auth, body ? "Content-Type: application/json" : NULL},
        .body = body,
        .body_size = body ? strlen(body) : 0,
        .timeout_ms = (long)(kit->config.timeout_s * 1000.0),
        .connect_timeout_ms = (long)(kit->config.timeout_s * 1000.0),
        .max_response_bytes = 256 * 1024,
        .no_redirects = true, /* the token goes to the configured host only */
    };
    struct ha_request *pending = malloc(sizeof *pending);
    if (!pending)
        return BALKON_E_NOMEM;
    *pending = (struct ha_request){kit, cb, user};
    int rc = balkon_http_fetch(kit->http, &request, ha_done, pending);
    if (rc < 0)
        free(pending);
    return rc;
}

/* Why an answer failed, with 401 worded for a token. false: a 2xx answer. */
static bool ha_problem(const struct balkon_http_result *result, const char *what, char *why,
                       size_t why_size)
{
    if (result->status == 401) {
        snprintf(why, why_size, "%.60s: HTTP 401: the token is wrong or revoked", what);
        return true;
    }
    if (result->status == 404) {
        snprintf(why, why_size, "%.60s: HTTP 404: no such entity", what);
        return true;
    }
    return dev_http_problem(result, what, why, why_size);
}

/* --- Polling --------------------------------------------------------------------------- */

static void publish(struct home_assistant *h)
{
    struct ev_device_state state;
    dev_state_init(&h->kit, &state, NULL, h->role);
    snprintf(state.model, sizeof state.model, "Home Assistant");
    snprintf(state.warning, sizeof state.warning, "%s", h->warning);
    dev_state_add(&state, "power_w", h->power_w);
    if (h->role == DEVICE_ROLE_BATTERY)
        dev_state_add(&state, "soc_pct", h->soc_pct);
    dev_state_add(&state, "energy_wh", h->energy_wh);
    if (h->on >= 0)
        dev_state_add(&state, "on", h->on);
    dev_publish_state(&h->kit, &state);
    if (h->role == DEVICE_ROLE_METER && isfinite(h->power_w))
        dev_publish_meter(&h->kit, NULL, h->power_w);
}

static const char *step_entity(const struct home_assistant *h, enum step step)
{
    const struct balkon_device_config *c = &h->kit.config;
    switch (step) {
    case STEP_POWER:
        return c->power_key;
    case STEP_SOC:
        return h->role == DEVICE_ROLE_BATTERY ? c->soc_key : "";
    case STEP_ENERGY:
        return c->energy_key;
    case STEP_SWITCH:
        return h->role == DEVICE_ROLE_PLUG ? c->state_key : "";
    default:
        return NULL;
    }
}

static void next_step(struct home_assistant *h);

static void state_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    struct home_assistant *h = user;
    const char *entity = step_entity(h, h->step);
    char why[128];
    if (ha_problem(result, entity, why, sizeof why)) {
        h->polling = false;
        dev_failed(kit, "%s", why);
        return;
    }
    cJSON *json = cJSON_ParseWithLength(result->body, result->body_size);
    if (!json) {
        h->polling = false;
        dev_failed(kit, "%s: the reply is not JSON", entity);
        return;
    }
    static const enum kind kinds[] = {KIND_POWER, KIND_SOC, KIND_ENERGY, KIND_SWITCH};
    double value = NAN;
    int rc = entity_value(json, kinds[h->step], &value, why, sizeof why);
    cJSON_Delete(json);
    if (rc < 0) {
        h->polling = false;
        dev_failed(kit, "%s", why);
        return;
    }
    if (rc == 0 && !h->warning[0])
        snprintf(h->warning, sizeof h->warning, "%s", why);
    if (h->step == STEP_POWER)
        h->power_w = value * kit->config.power_scale;
    else if (h->step == STEP_SOC)
        h->soc_pct = value;
    else if (h->step == STEP_ENERGY)
        h->energy_wh = value;
    else
        h->on = isfinite(value) ? (int)value : -1;
    h->step++;
    next_step(h);
}

static void next_step(struct home_assistant *h)
{
    for (;; h->step++) {
        const char *entity = step_entity(h, h->step);
        if (!entity) {
            h->polling = false;
            publish(h);
            return;
        }
        if (!entity[0])
            continue;
        char path[192];
        snprintf(path, sizeof path, "/api/states/%s", entity); /* ids are [a-z0-9_.] */
        if (ha_http(&h->kit, path, NULL, state_cb, h) < 0)
            h->polling = false;
        return;
    }
}

static void poll(struct dev_kit *kit)
{
    struct home_assistant *h = (struct home_assistant *)kit;
    if (h->polling)
        return;
    h->polling = true;
    h->step = STEP_POWER;
    h->power_w = h->soc_pct = h->energy_wh = NAN;
    h->on = -1;
    h->warning[0] = '\0';
    next_step(h);
}

/* --- Switching ------------------------------------------------------------------------- */

static void service_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    char why[128];
    bool failed = ha_problem(result, "service call", why, sizeof why);
    dev_cmd_sent(kit, !failed, failed ? why : "");
}

static int ha_send(struct dev_kit *kit, const struct device_command *command)
{
    /* The service of the entity's own domain: switch, input_boolean, light, … */
    const char *entity = kit->config.state_key;
    int domain_len = (int)(strchr(entity, '.') - entity);
    char path[160], body[192];
    snprintf(path, sizeof path, "/api/services/%.*s/%s", domain_len, entity,
             command->value != 0 ? "turn_on" : "turn_off");
    snprintf(body, sizeof body, "{\"entity_id\":\"%s\"}", entity);
    return ha_http(kit, path, body, service_cb, NULL);
}

static void read_back_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    struct home_assistant *h = (struct home_assistant *)kit;
    char why[128];
    if (ha_problem(result, kit->config.state_key, why, sizeof why)) {
        dev_cmd_read(kit, false, NAN, why);
        return;
    }
    cJSON *json = cJSON_ParseWithLength(result->body, result->body_size);
    double on = NAN;
    int rc = json ? entity_value(json, KIND_SWITCH, &on, why, sizeof why) : -1;
    cJSON_Delete(json);
    if (!json)
        snprintf(why, sizeof why, "%.60s: the reply is not JSON", kit->config.state_key);
    if (rc <= 0) {
        dev_cmd_read(kit, false, NAN, why);
        return;
    }
    h->on = (int)on;
    dev_cmd_read(kit, true, on, "");
}

static int read_back(struct dev_kit *kit, const struct device_command *command)
{
    char path[192];
    snprintf(path, sizeof path, "/api/states/%s", kit->config.state_key);
    return ha_http(kit, path, NULL, read_back_cb, NULL);
}

/* --- Driver ---------------------------------------------------------------------------- */

static const struct dev_kit_ops ops = {
    .log_name = LOG,
    .default_port = 8123,
    .poll = poll,
    .send = ha_send,
    .read_back = read_back,
};

static int ha_start(struct balkon_ctx *ctx, const struct balkon_device_config *device,
                    void **instance, char *msg, size_t msg_size)
{
    struct home_assistant *h = calloc(1, sizeof *h);
    if (!h)
        return BALKON_E_NOMEM;
    h->role = balkon_driver_role_bit(device->role);
    h->power_w = h->soc_pct = h->energy_wh = NAN;
    h->on = -1;
    /* Home Assistant reports the new state once the device confirmed it. */
    h->kit.verify_delay_s = 1.0;
    int rc = dev_kit_start(&h->kit, ctx, device, &ops, msg, msg_size);
    if (rc < 0) {
        free(h);
        return rc;
    }
    *instance = h;
    return 0;
}

static void ha_stop(void *instance)
{
    struct home_assistant *h = instance;
    dev_kit_stop(&h->kit);
}

static void ha_reconfigure(void *instance)
{
    struct home_assistant *h = instance;
    dev_kit_reconfigure_keep_role(&h->kit);
}

static int ha_command(void *instance, const struct device_command *command, char *msg,
                      size_t msg_size)
{
    struct home_assistant *h = instance;
    return dev_plug_command(&h->kit, h->role == DEVICE_ROLE_PLUG, command, msg, msg_size);
}

const struct dev_driver_ops dev_driver_home_assistant = {
    .driver = &balkon_driver_home_assistant,
    .start = ha_start,
    .reconfigure = ha_reconfigure,
    .stop = ha_stop,
    .command = ha_command,
};
