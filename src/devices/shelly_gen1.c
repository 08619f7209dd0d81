/* Shelly Gen1 over its HTTP REST API: 3EM and EM (meters), Plug S, Plug, 1PM, 2.5 (plugs).
 *
 * Wire format (GET; docs: shelly-api-docs.shelly.cloud/gen1):
 *   /shelly (no auth)  {"type":"SHEM-3","mac":"483FDAC37E3F","auth":true,
 *                       "fw":"20230913-112003/v1.14.0-gcb84623","num_meters":3}  (no "gen")
 *   /status on a 3EM   {"emeters":[{"power":51.08,"voltage":234.90,"is_valid":true,
 *                       "total":1686297.2,"total_returned":428958.4},{…},{…}],
 *                       "total_power":212.85,…}  (W signed, + import / - export; totals Wh)
 *   /status on a plug  {"relays":[{"ison":false,…}],"meters":[{"power":4.7,"is_valid":true,
 *                       "total":6472513}],"temperature":16.79,…}  (total in watt-MINUTES)
 *   /relay/<channel>?turn=on|off  {"ison":true,"has_timer":false,…,"source":"http"}
 * Auth (when "Restrict login" is set on the device): HTTP basic; 401 otherwise.
 *
 * The config's role picks what is read: "meter" (the default) reads the emeters: all three
 * phases on a 3EM (grid = total_power, the signed sum), emeters[channel] on an EM. "plug"
 * reads relays[channel] and meters[channel]. A "meter" whose /shelly type is a plug or
 * switch (SHPLG…, SHSW…) is read as a plug. A phase that reports is_valid false makes the
 * whole reading invalid: a meter reading without one phase would mislead the control. */
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

struct shelly1 {
    struct dev_kit kit;           /* first: the kit's callbacks hand out this pointer */
    bool plug;                    /* relays/meters, else emeters */
    struct dev_identity identity; /* model and firmware from /shelly */
};

static const struct {
    const char *type, *name;
} MODELS[] = {
    {"SHEM-3", "Shelly 3EM"},   {"SHEM", "Shelly EM"},       {"SHPLG-S", "Shelly Plug S"},
    {"SHPLG-1", "Shelly Plug"}, {"SHPLG2-1", "Shelly Plug"}, {"SHPLG-U1", "Shelly Plug US"},
    {"SHSW-PM", "Shelly 1PM"},  {"SHSW-25", "Shelly 2.5"},   {"SHSW-1", "Shelly 1"},
};

static bool is_plug_type(const char *type)
{
    return strncmp(type, "SHPLG", 5) == 0 || strncmp(type, "SHSW", 4) == 0;
}

static void default_user(struct dev_kit *kit)
{
    if (!kit->config.user[0])
        snprintf(kit->config.user, sizeof kit->config.user, "admin");
}

/* The JSON object of a successful reply, or NULL with the reason in why. */
static cJSON *reply_json(const struct balkon_http_result *result, const char *what, char *why,
                         size_t why_size)
{
    if (dev_http_problem(result, what, why, why_size))
        return NULL;
    cJSON *json = cJSON_ParseWithLength(result->body, result->body_size);
    if (cJSON_IsObject(json))
        return json;
    snprintf(why, why_size, "%s: the reply is not %s", what, json ? "a JSON object" : "JSON");
    cJSON_Delete(json);
    return NULL;
}

static void add_number(struct ev_device_state *state, const cJSON *json, const char *key,
                       const char *name, double scale)
{
    double value;
    if (dev_json_number(json, key, &value))
        dev_state_add(state, name, value * scale);
}

/* One emeter's power, refusing a channel the device marks invalid. */
static bool emeter_power(const cJSON *emeters, int index, double *power_w, char *problem,
                         size_t size)
{
    const cJSON *emeter = cJSON_GetArrayItem(emeters, index);
    if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(emeter, "is_valid"))) {
        snprintf(problem, size, "emeters[%d] is_valid is false", index);
        return false;
    }
    if (!dev_json_number(emeter, "power", power_w)) {
        snprintf(problem, size, "emeters[%d].power missing", index);
        return false;
    }
    return true;
}

/* Below this a phase's voltage tap reads nothing; above this current the phase has load. */
#define PHASE_DEAD_V 50.0
#define PHASE_LOAD_A 0.1

/* A 3EM reading that is accepted but implausible: a phase at ~0 V while current flows on
 * it (a loose voltage tap) or without voltage/current. Worded into warning, "" when fine. */
static void phase_warning(const cJSON *emeters, char *warning, size_t size)
{
    char dead[16] = "", missing[16] = "";
    for (int i = 0; i < 3; i++) {
        const cJSON *emeter = cJSON_GetArrayItem(emeters, i);
        double voltage, current = 0;
        bool have_voltage = dev_json_number(emeter, "voltage", &voltage);
        bool loaded = dev_json_number(emeter, "current", &current) && fabs(current) >= PHASE_LOAD_A;
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

/* A 3EM's or EM's /status → grid power and the per-phase values; false with the problem. */
static bool parse_emeters(const cJSON *json, int channel, struct ev_device_state *state,
                          double *grid_w, char *problem, size_t size)
{
    const cJSON *emeters = cJSON_GetObjectItemCaseSensitive(json, "emeters");
    int count = cJSON_GetArraySize(emeters);
    if (!cJSON_IsArray(emeters) || count == 0) {
        snprintf(problem, size, "emeters missing (is this a meter? set role \"plug\" for plugs)");
        return false;
    }
    if (count < 3) { /* Shelly EM: one channel is the grid */
        if (channel >= count) {
            snprintf(problem, size, "emeters[%d] missing: the device has %d", channel, count);
            return false;
        }
        if (!emeter_power(emeters, channel, grid_w, problem, size))
            return false;
        const cJSON *emeter = cJSON_GetArrayItem(emeters, channel);
        dev_state_add(state, "power_w", *grid_w);
        add_number(state, emeter, "voltage", "voltage_v", 1);
        add_number(state, emeter, "total", "energy_wh", 1);
        add_number(state, emeter, "total_returned", "energy_export_wh", 1);
        return true;
    }
    double sum_w = 0, phase_w[3], import_wh = 0, export_wh = 0;
    bool have_energy = true;
    for (int i = 0; i < 3; i++) {
        if (!emeter_power(emeters, i, &phase_w[i], problem, size))
            return false;
        sum_w += phase_w[i];
        double total, returned;
        const cJSON *emeter = cJSON_GetArrayItem(emeters, i);
        if (dev_json_number(emeter, "total", &total) &&
            dev_json_number(emeter, "total_returned", &returned)) {
            import_wh += total;
            export_wh += returned;
        } else {
            have_energy = false;
        }
    }
    phase_warning(emeters, state->warning, sizeof state->warning);
    if (!dev_json_number(json, "total_power", grid_w))
        *grid_w = sum_w;
    dev_state_add(state, "power_w", *grid_w);
    char key[32], name[24];
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "power_l%d_w", i + 1);
        dev_state_add(state, name, phase_w[i]);
        snprintf(key, sizeof key, "emeters[%d].voltage", i);
        snprintf(name, sizeof name, "voltage_l%d_v", i + 1);
        add_number(state, json, key, name, 1);
    }
    if (have_energy) {
        dev_state_add(state, "energy_wh", import_wh);
        dev_state_add(state, "energy_export_wh", export_wh);
    }
    return true;
}

/* A plug's /status (or relay object) → on/off and what it meters; false with the problem. */
static bool parse_plug(const cJSON *json, int channel, struct ev_device_state *state, bool *on,
                       char *problem, size_t size)
{
    char key[48];
    snprintf(key, sizeof key, "relays[%d].ison", channel);
    const cJSON *ison = dev_json_path(json, key);
    if (!cJSON_IsBool(ison)) {
        snprintf(problem, size, "%s missing", key);
        return false;
    }
    *on = cJSON_IsTrue(ison);
    dev_state_add(state, "on", *on ? 1 : 0);
    snprintf(key, sizeof key, "meters[%d].power", channel);
    add_number(state, json, key, "power_w", 1);
    snprintf(key, sizeof key, "meters[%d].total", channel);
    add_number(state, json, key, "energy_wh", 1.0 / 60.0); /* watt-minutes */
    double temperature_c;
    if (dev_json_number(json, "temperature", &temperature_c) ||
        dev_json_number(json, "tmp.tC", &temperature_c))
        dev_state_add(state, "temperature_c", temperature_c);
    return true;
}

static void init_state(struct shelly1 *s, struct ev_device_state *state)
{
    dev_state_init(&s->kit, state, NULL, s->plug ? DEVICE_ROLE_PLUG : DEVICE_ROLE_METER);
    snprintf(state->model, sizeof state->model, "%s", s->identity.model);
    snprintf(state->firmware, sizeof state->firmware, "%s", s->identity.firmware);
}

/* Publishes what a /status reply holds; false with the problem in why. *on is the relay
 * state of a plug. */
static bool publish_status(struct shelly1 *s, const cJSON *json, bool *on, char *why,
                           size_t why_size)
{
    struct ev_device_state state;
    init_state(s, &state);
    char problem[80];
    int channel = (int)s->kit.config.channel;
    double grid_w = NAN;
    bool ok = s->plug ? parse_plug(json, channel, &state, on, problem, sizeof problem)
                      : parse_emeters(json, channel, &state, &grid_w, problem, sizeof problem);
    if (!ok) {
        snprintf(why, why_size, "/status: %s", problem);
        return false;
    }
    dev_publish_state(&s->kit, &state);
    if (!s->plug)
        dev_publish_meter(&s->kit, NULL, grid_w);
    return true;
}

static void status_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    struct shelly1 *s = (struct shelly1 *)kit;
    s->identity.busy = false;
    char why[96];
    bool on;
    cJSON *json = reply_json(result, "/status", why, sizeof why);
    if (!json || !publish_status(s, json, &on, why, sizeof why))
        dev_failed(kit, "%s", why);
    cJSON_Delete(json);
}

static void read_status(struct shelly1 *s)
{
    s->identity.busy = dev_http(&s->kit, "/status", NULL, NULL, status_cb, NULL) == 0;
}

/* Takes /shelly's type and firmware; false (reported) when it is not a Gen1 Shelly. */
static bool take_identity(struct shelly1 *s, const cJSON *json)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(json, "type");
    if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(json, "gen"))) {
        dev_failed_code(&s->kit, "wrong_type",
                        "/shelly: a Gen2 or newer device: use type \"shelly_gen2\"");
        return false;
    }
    if (!cJSON_IsString(type)) {
        dev_failed(&s->kit, "/shelly: type missing: not a Shelly Gen1");
        return false;
    }
    const char *name = NULL;
    for (size_t i = 0; i < sizeof MODELS / sizeof *MODELS && !name; i++)
        if (strcmp(MODELS[i].type, type->valuestring) == 0)
            name = MODELS[i].name;
    if (name)
        snprintf(s->identity.model, sizeof s->identity.model, "%s (%s)", name, type->valuestring);
    else
        snprintf(s->identity.model, sizeof s->identity.model, "%s", type->valuestring);
    /* "20230913-112003/v1.14.0-gcb84623": the version is after the build date. */
    const cJSON *fw = cJSON_GetObjectItemCaseSensitive(json, "fw");
    const char *firmware = cJSON_IsString(fw) ? fw->valuestring : "";
    const char *slash = strchr(firmware, '/');
    snprintf(s->identity.firmware, sizeof s->identity.firmware, "%s", slash ? slash + 1 : firmware);
    bool plug = strcmp(s->kit.config.role, "plug") == 0 || is_plug_type(type->valuestring);
    if (plug != s->plug)
        log_info("shelly", "%s: %s: read as a %s", s->kit.config.id, s->identity.model,
                 plug ? "plug" : "meter");
    s->plug = plug;
    dev_identity_taken(&s->kit, &s->identity);
    return true;
}

static void identity_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    struct shelly1 *s = (struct shelly1 *)kit;
    s->identity.busy = false;
    char why[96];
    cJSON *json = reply_json(result, "/shelly", why, sizeof why);
    bool go_on = true;
    if (json) {
        go_on = take_identity(s, json);
    } else if (result->transport_error) {
        dev_failed(kit, "%s", why);
        go_on = false; /* unreachable: /status would only time out as well */
    } else if (!s->identity.identified) {
        dev_failed(kit, "%s", why); /* /status may still work, with the config's role */
    }
    cJSON_Delete(json);
    if (go_on)
        read_status(s);
}

static void shelly1_poll(struct dev_kit *kit)
{
    struct shelly1 *s = (struct shelly1 *)kit;
    if (!dev_identity_poll(kit, &s->identity, "/shelly", IDENTIFY_PERIOD_MS, identity_cb))
        read_status(s);
}

/* --- Commands: "switch" on plugs ----------------------------------------------------- */

/* The relay answers with its state object; a reply without ison is not a relay. */
static void relay_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    char why[96] = "";
    cJSON *json = reply_json(result, "/relay", why, sizeof why);
    bool ok = json && cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(json, "ison"));
    if (json && !ok)
        snprintf(why, sizeof why, "/relay: ison missing in the reply");
    dev_cmd_sent(kit, ok, why);
    cJSON_Delete(json);
}

static int shelly1_send(struct dev_kit *kit, const struct device_command *command)
{
    char path[64];
    snprintf(path, sizeof path, "/relay/%d?turn=%s", (int)kit->config.channel,
             command->value != 0 ? "on" : "off");
    return dev_http(kit, path, NULL, NULL, relay_cb, NULL);
}

/* The relay's state after the settling delay, from a full /status (also published). */
static void read_back_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    struct shelly1 *s = (struct shelly1 *)kit;
    char why[96] = "";
    bool on = false;
    cJSON *json = reply_json(result, "/status", why, sizeof why);
    bool ok = json && publish_status(s, json, &on, why, sizeof why);
    dev_cmd_read(kit, ok, on ? 1 : 0, why);
    cJSON_Delete(json);
}

static int shelly1_read_back(struct dev_kit *kit, const struct device_command *command)
{
    return dev_http(kit, "/status", NULL, NULL, read_back_cb, NULL);
}

static int shelly1_command(void *instance, const struct device_command *command, char *msg,
                           size_t msg_size)
{
    struct shelly1 *s = instance;
    return dev_plug_command(&s->kit, s->plug, command, msg, msg_size);
}

/* --- Life cycle ---------------------------------------------------------------------- */

static const struct dev_kit_ops OPS = {
    .log_name = "shelly",
    .default_port = 80,
    .auth = BALKON_HTTP_AUTH_BASIC,
    .poll = shelly1_poll,
    .send = shelly1_send,
    .read_back = shelly1_read_back,
};

static int shelly1_start(struct balkon_ctx *ctx, const struct balkon_device_config *device,
                         void **instance, char *msg, size_t msg_size)
{
    struct shelly1 *s = calloc(1, sizeof *s);
    if (!s)
        return BALKON_E_NOMEM;
    s->plug = strcmp(device->role, "plug") == 0;
    int rc = dev_kit_start(&s->kit, ctx, device, &OPS, msg, msg_size);
    if (rc < 0) {
        free(s);
        return rc;
    }
    default_user(&s->kit);
    *instance = s;
    return 0;
}

static void shelly1_reconfigure(void *instance)
{
    struct shelly1 *s = instance;
    dev_kit_reconfigure(&s->kit);
    default_user(&s->kit);
    /* The host or role may have changed: identify again before trusting the old model. */
    dev_identity_forget(&s->identity);
    s->plug = strcmp(s->kit.config.role, "plug") == 0;
}

static void shelly1_stop(void *instance)
{
    struct shelly1 *s = instance;
    dev_kit_stop(&s->kit);
}

const struct dev_driver_ops dev_driver_shelly_gen1 = {
    .driver = &balkon_driver_shelly_gen1,
    .start = shelly1_start,
    .reconfigure = shelly1_reconfigure,
    .stop = shelly1_stop,
    .command = shelly1_command,
};
