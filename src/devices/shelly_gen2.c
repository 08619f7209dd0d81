/* Shelly Gen2 / Gen3 / Gen4 over HTTP RPC: Pro 3EM and 3EM Gen3 (three-phase meters), Pro EM
 * and EM Gen3 (one- or two-channel meters), Plus Plug S, Plug S Gen3, Plus 1PM and any other
 * switch with metering (plugs).
 *
 * Wire format (GET, answers are the bare result object; docs: shelly-api-docs.shelly.cloud/gen2):
 *   /shelly (no auth)  {"id":"shellypro3em-ec62609773d8","model":"SPEM-003CEBEU","gen":2,
 *                       "ver":"1.4.4","app":"Pro3EM","profile":"triphase","auth_en":true,...}
 *   /rpc/EM.GetStatus?id=0   {"id":0,"a_current":1.2,"a_voltage":231.5,"a_act_power":-60.2,...,
 *                       "total_act_power":-312.5,"errors":["no_load"]}  (W, + import / - export)
 *   /rpc/EM1.GetStatus?id=<channel>  {"id":0,"current":2.6,"voltage":234.9,"act_power":501.8,...}
 *   /rpc/Switch.GetStatus?id=<channel>  {"id":0,"output":false,"apower":0.0,"voltage":239.4,
 *                       "current":0.0,"aenergy":{"total":1234.5,...},"temperature":{"tC":42.8}}
 *   /rpc/Switch.Set?id=<channel>&on=true|false  {"was_on":false}  (the state BEFORE the switch)
 *   errors, with any HTTP status: {"code":-105,"message":"Argument 'id', value 1 not found!"}
 * Auth (when a password is set on the device): HTTP digest, SHA-256, user "admin", realm =
 * the device id; libcurl answers the 401 challenge each request brings.
 *
 * The config's role picks what is read: "plug" reads the switch `channel`; "meter" (the
 * default) reads EM (Pro 3EM / 3EM Gen3 in the triphase profile) or EM1 `channel` (Pro EM,
 * EM Gen3, Pro 3EM in the monophase profile), chosen from /shelly's model and profile. A
 * "meter" whose model is a switch (SNSW, SNPL, SPSW, S3SW, S3PL, S4SW, S4PL) is read as a
 * plug: such a device has no meter component. /shelly is read at start and every 5 minutes
 * for the model and firmware. */
#include "device_kit.h"

#include "devices_internal.h"
#include "balkon/driver.h"
#include "balkon/error.h"
#include "balkon/log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDENTIFY_PERIOD_MS (5 * 60 * 1000)

enum component { COMP_EM, COMP_EM1, COMP_SWITCH };

struct shelly2 {
    struct dev_kit kit; /* first: the kit's callbacks hand out this pointer */
    enum component component;
    struct dev_identity identity; /* model and firmware from /shelly */
};

static const char *const SWITCH_MODELS[] = {"SNSW", "SNPL", "SPSW", "S3SW", "S3PL", "S4SW", "S4PL"};

static bool is_switch_model(const char *model)
{
    for (size_t i = 0; i < sizeof SWITCH_MODELS / sizeof *SWITCH_MODELS; i++)
        if (strncmp(model, SWITCH_MODELS[i], strlen(SWITCH_MODELS[i])) == 0)
            return true;
    return false;
}

/* What to read, from the role and (once known) the model: see the top of the file. */
static enum component choose_component(const char *role, const char *model, const char *profile)
{
    if (strcmp(role, "plug") == 0 || is_switch_model(model))
        return COMP_SWITCH;
    if (strcmp(profile, "monophase") == 0)
        return COMP_EM1;
    if (strcmp(profile, "triphase") == 0 || !model[0] || strstr(model, "EM-003"))
        return COMP_EM;
    return COMP_EM1; /* Pro EM (SPEM-002…), EM Gen3 (S3EM-002…) */
}

static const char *component_method(enum component component)
{
    return component == COMP_EM    ? "EM.GetStatus"
           : component == COMP_EM1 ? "EM1.GetStatus"
                                   : "Switch.GetStatus";
}

static void default_user(struct dev_kit *kit)
{
    if (!kit->config.user[0])
        snprintf(kit->config.user, sizeof kit->config.user, "admin");
}

/* The JSON object of a successful RPC reply, or NULL with the reason in why: no answer,
 * 401, a Shelly error object (whatever the HTTP status), another HTTP error, not JSON. */
static cJSON *rpc_reply(const struct balkon_http_result *result, const char *what, char *why,
                        size_t why_size)
{
    if (result->transport_error) {
        snprintf(why, why_size, "%.40s: %.50s", what, result->error);
        return NULL;
    }
    if (result->status == 401 || result->status == 403) {
        snprintf(why, why_size, "%s: HTTP %ld: wrong or missing user/password", what,
                 result->status);
        return NULL;
    }
    cJSON *json = cJSON_ParseWithLength(result->body, result->body_size);
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(json, "code");
    const cJSON *message = cJSON_GetObjectItemCaseSensitive(json, "message");
    if (cJSON_IsNumber(code) && cJSON_IsString(message)) {
        snprintf(why, why_size, "%s: error %d: %s", what, code->valueint, message->valuestring);
    } else if (result->status < 200 || result->status >= 300) {
        snprintf(why, why_size, "%s: HTTP %ld", what, result->status);
    } else if (!cJSON_IsObject(json)) {
        snprintf(why, why_size, "%s: the reply is not %s", what, json ? "a JSON object" : "JSON");
    } else {
        return json;
    }
    cJSON_Delete(json);
    return NULL;
}

static void add_number(struct ev_device_state *state, const cJSON *json, const char *key,
                       const char *name)
{
    double value;
    if (dev_json_number(json, key, &value))
        dev_state_add(state, name, value);
}

/* Below this a phase's voltage tap reads nothing: a loose or missing tap, not a grid. */
#define PHASE_DEAD_V 50.0
/* Current that shows the phase carries load, well above a clamp's noise. */
#define PHASE_LOAD_A 0.1

/* A three-phase reading that is accepted but implausible: a phase at ~0 V while current
 * flows on it (a loose voltage tap: its power reads 0 and the total is wrong) or a phase
 * missing. Worded into warning ("" when all three look right). */
static void phase_warning(const cJSON *json, const char *const phases[3], char *warning,
                          size_t size)
{
    char dead[16] = "", missing[16] = "";
    for (int i = 0; i < 3; i++) {
        char key[32];
        double voltage, current = 0;
        snprintf(key, sizeof key, "%s_voltage", phases[i]);
        bool have_voltage = dev_json_number(json, key, &voltage);
        snprintf(key, sizeof key, "%s_current", phases[i]);
        bool loaded = dev_json_number(json, key, &current) && fabs(current) >= PHASE_LOAD_A;
        char *list = !have_voltage ? missing : voltage < PHASE_DEAD_V && loaded ? dead : NULL;
        if (list)
            snprintf(list + strlen(list), 16 - strlen(list), "%sL%d", list[0] ? "," : "", i + 1);
    }
    warning[0] = '\0';
    if (dead[0])
        snprintf(warning, size, "phase %s at 0 V while current flows (voltage tap loose?)", dead);
    else if (missing[0])
        snprintf(warning, size, "phase %s missing from the reading", missing);
}

/* EM.GetStatus → the total and per-phase values; returns the problem or NULL. */
static const char *parse_em(const cJSON *json, struct ev_device_state *state, double *grid_w)
{
    if (!dev_json_number(json, "total_act_power", grid_w))
        return "total_act_power missing";
    const cJSON *error;
    cJSON_ArrayForEach(error, cJSON_GetObjectItemCaseSensitive(json, "errors"))
    {
        if (cJSON_IsString(error) && strcmp(error->valuestring, "power_meter_failure") == 0)
            return "the device reports power_meter_failure";
    }
    dev_state_add(state, "power_w", *grid_w);
    static const char *const phases[] = {"a", "b", "c"};
    char key[32], name[24];
    phase_warning(json, phases, state->warning, sizeof state->warning);
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "%s_act_power", phases[i]);
        snprintf(name, sizeof name, "power_l%d_w", i + 1);
        add_number(state, json, key, name);
        snprintf(key, sizeof key, "%s_voltage", phases[i]);
        snprintf(name, sizeof name, "voltage_l%d_v", i + 1);
        add_number(state, json, key, name);
        snprintf(key, sizeof key, "%s_current", phases[i]);
        snprintf(name, sizeof name, "current_l%d_a", i + 1);
        add_number(state, json, key, name);
    }
    return NULL;
}

/* EM1.GetStatus → one channel's values; returns the problem or NULL. */
static const char *parse_em1(const cJSON *json, struct ev_device_state *state, double *grid_w)
{
    if (!dev_json_number(json, "act_power", grid_w))
        return "act_power missing";
    dev_state_add(state, "power_w", *grid_w);
    add_number(state, json, "voltage", "voltage_v");
    add_number(state, json, "current", "current_a");
    return NULL;
}

/* Switch.GetStatus → on/off and what it meters; returns the problem or NULL. */
static const char *parse_switch(const cJSON *json, struct ev_device_state *state, bool *on)
{
    const cJSON *output = cJSON_GetObjectItemCaseSensitive(json, "output");
    if (!cJSON_IsBool(output))
        return "output missing";
    *on = cJSON_IsTrue(output);
    dev_state_add(state, "on", *on ? 1 : 0);
    add_number(state, json, "apower", "power_w");
    add_number(state, json, "voltage", "voltage_v");
    add_number(state, json, "current", "current_a");
    add_number(state, json, "aenergy.total", "energy_wh");
    add_number(state, json, "temperature.tC", "temperature_c");
    return NULL;
}

static void init_state(struct shelly2 *s, struct ev_device_state *state)
{
    dev_state_init(&s->kit, state, NULL,
                   s->component == COMP_SWITCH ? DEVICE_ROLE_PLUG : DEVICE_ROLE_METER);
    snprintf(state->model, sizeof state->model, "%s", s->identity.model);
    snprintf(state->firmware, sizeof state->firmware, "%s", s->identity.firmware);
}

/* Publishes a Switch.GetStatus reply; false with the problem in why when it is unusable. */
static bool publish_switch(struct shelly2 *s, const cJSON *json, bool *on, char *why,
                           size_t why_size)
{
    struct ev_device_state state;
    init_state(s, &state);
    const char *problem = parse_switch(json, &state, on);
    if (problem) {
        snprintf(why, why_size, "Switch.GetStatus: %s", problem);
        return false;
    }
    dev_publish_state(&s->kit, &state);
    return true;
}

static void status_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    struct shelly2 *s = (struct shelly2 *)kit;
    enum component component = (enum component)(intptr_t)user;
    s->identity.busy = false;
    char why[96];
    cJSON *json = rpc_reply(result, component_method(component), why, sizeof why);
    if (!json) {
        dev_failed(kit, "%s", why);
        return;
    }
    if (component == COMP_SWITCH) {
        bool on;
        if (!publish_switch(s, json, &on, why, sizeof why))
            dev_failed(kit, "%s", why);
    } else {
        struct ev_device_state state;
        init_state(s, &state);
        double grid_w;
        const char *problem = component == COMP_EM ? parse_em(json, &state, &grid_w)
                                                   : parse_em1(json, &state, &grid_w);
        if (problem) {
            dev_failed(kit, "%s: %s", component_method(component), problem);
        } else {
            dev_publish_state(kit, &state);
            dev_publish_meter(kit, NULL, grid_w);
        }
    }
    cJSON_Delete(json);
}

static void read_status(struct shelly2 *s)
{
    char path[64];
    int channel = s->component == COMP_EM ? 0 : (int)s->kit.config.channel;
    snprintf(path, sizeof path, "/rpc/%s?id=%d", component_method(s->component), channel);
    s->identity.busy =
        dev_http(&s->kit, path, NULL, NULL, status_cb, (void *)(intptr_t)s->component) == 0;
}

/* Takes /shelly's model, firmware and profile and picks the component to read. Returns
 * false (reported) when the device is not a Gen2+ Shelly. */
static bool take_identity(struct shelly2 *s, const cJSON *json)
{
    const cJSON *gen = cJSON_GetObjectItemCaseSensitive(json, "gen");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(json, "model");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(json, "type");
    if (!cJSON_IsNumber(gen) || gen->valueint < 2) {
        if (cJSON_IsString(type))
            dev_failed_code(&s->kit, "wrong_type",
                            "/shelly: a Gen1 device (%s): use type \"shelly_gen1\"",
                            type->valuestring);
        else
            dev_failed(&s->kit, "/shelly: gen missing: not a Shelly Gen2 or newer");
        return false;
    }
    const char *model_text = cJSON_IsString(model) ? model->valuestring : "";
    const cJSON *app = cJSON_GetObjectItemCaseSensitive(json, "app");
    if (cJSON_IsString(app))
        snprintf(s->identity.model, sizeof s->identity.model, "%s (%s, gen %d)", app->valuestring,
                 model_text, gen->valueint);
    else
        snprintf(s->identity.model, sizeof s->identity.model, "%s (gen %d)", model_text,
                 gen->valueint);
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(json, "ver");
    snprintf(s->identity.firmware, sizeof s->identity.firmware, "%s",
             cJSON_IsString(ver) ? ver->valuestring : "");
    const cJSON *profile = cJSON_GetObjectItemCaseSensitive(json, "profile");
    enum component component = choose_component(
        s->kit.config.role, model_text, cJSON_IsString(profile) ? profile->valuestring : "");
    if (component != s->component)
        log_info("shelly", "%s: %s: reading %s", s->kit.config.id, s->identity.model,
                 component_method(component));
    s->component = component;
    dev_identity_taken(&s->kit, &s->identity);
    return true;
}

static void identity_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    struct shelly2 *s = (struct shelly2 *)kit;
    s->identity.busy = false;
    char why[96];
    cJSON *json = rpc_reply(result, "/shelly", why, sizeof why);
    bool go_on = true;
    if (json) {
        go_on = take_identity(s, json);
    } else if (result->transport_error) {
        dev_failed(kit, "%s", why);
        go_on = false; /* unreachable: the status request would only time out as well */
    } else if (s->identity.identified) {
        log_debug("shelly", "%s: %s; keeping %s", kit->config.id, why, s->identity.model);
    } else {
        dev_failed(kit, "%s", why); /* the status below may still work, with the config's role */
    }
    cJSON_Delete(json);
    if (go_on)
        read_status(s);
}

static void shelly2_poll(struct dev_kit *kit)
{
    struct shelly2 *s = (struct shelly2 *)kit;
    if (!dev_identity_poll(kit, &s->identity, "/shelly", IDENTIFY_PERIOD_MS, identity_cb))
        read_status(s);
}

/* --- Commands: "switch" on plugs ----------------------------------------------------- */

static void set_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    char why[96] = "";
    cJSON *json = rpc_reply(result, "Switch.Set", why, sizeof why);
    dev_cmd_sent(kit, json != NULL, why);
    cJSON_Delete(json);
}

static int shelly2_send(struct dev_kit *kit, const struct device_command *command)
{
    char path[64];
    snprintf(path, sizeof path, "/rpc/Switch.Set?id=%d&on=%s", (int)kit->config.channel,
             command->value != 0 ? "true" : "false");
    return dev_http(kit, path, NULL, NULL, set_cb, NULL);
}

/* Switch.Set answers the previous state, so the new one is read back. */
static void read_back_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    struct shelly2 *s = (struct shelly2 *)kit;
    char why[96] = "";
    cJSON *json = rpc_reply(result, "Switch.GetStatus", why, sizeof why);
    bool on = false;
    bool ok = json && publish_switch(s, json, &on, why, sizeof why);
    dev_cmd_read(kit, ok, on ? 1 : 0, why);
    cJSON_Delete(json);
}

static int shelly2_read_back(struct dev_kit *kit, const struct device_command *command)
{
    char path[64];
    snprintf(path, sizeof path, "/rpc/Switch.GetStatus?id=%d", (int)kit->config.channel);
    return dev_http(kit, path, NULL, NULL, read_back_cb, NULL);
}

static int shelly2_command(void *instance, const struct device_command *command, char *msg,
                           size_t msg_size)
{
    struct shelly2 *s = instance;
    return dev_plug_command(&s->kit, s->component == COMP_SWITCH, command, msg, msg_size);
}

/* --- Life cycle ---------------------------------------------------------------------- */

static const struct dev_kit_ops OPS = {
    .log_name = "shelly",
    .default_port = 80,
    .auth = BALKON_HTTP_AUTH_DIGEST,
    .poll = shelly2_poll,
    .send = shelly2_send,
    .read_back = shelly2_read_back,
};

static int shelly2_start(struct balkon_ctx *ctx, const struct balkon_device_config *device,
                         void **instance, char *msg, size_t msg_size)
{
    struct shelly2 *s = calloc(1, sizeof *s);
    if (!s)
        return BALKON_E_NOMEM;
    s->component = choose_component(device->role, "", "");
    int rc = dev_kit_start(&s->kit, ctx, device, &OPS, msg, msg_size);
    if (rc < 0) {
        free(s);
        return rc;
    }
    default_user(&s->kit);
    *instance = s;
    return 0;
}

static void shelly2_reconfigure(void *instance)
{
    struct shelly2 *s = instance;
    dev_kit_reconfigure(&s->kit);
    default_user(&s->kit);
    /* The host or role may have changed: identify again before trusting the old model. */
    dev_identity_forget(&s->identity);
    s->component = choose_component(s->kit.config.role, "", "");
}

static void shelly2_stop(void *instance)
{
    struct shelly2 *s = instance;
    dev_kit_stop(&s->kit);
}

const struct dev_driver_ops dev_driver_shelly_gen2 = {
    .driver = &balkon_driver_shelly_gen2,
    .start = shelly2_start,
    .reconfigure = shelly2_reconfigure,
    .stop = shelly2_stop,
    .command = shelly2_command,
};
