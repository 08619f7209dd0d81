/* Driver "ahoydtu": one Hoymiles (or TSUN) inverter behind an AhoyDTU, over its REST API.
 * The wire format as docs/devices.md ("ahoydtu") describes it.
 *
 * HTTP (port 80), inverter N = the config's `channel` (Ahoy's position in its list):
 *   GET /api/inverter/id/N, every poll:
 *     {"id":0,"enabled":true,"name":"HM-600","serial":"114182918284","version":"10010",
 *      "power_limit_read":100,"power_limit_ack":true,"max_pwr":600,"ts_last_success":…,
 *      "generation":1,"status":2,"alarm_cnt":0,"rssi":-60,
 *      "ch":[[U_AC,I_AC,P_AC,F_AC,PF_AC,Temp,YieldTotal,YieldDay,P_DC,Efficiency,Q_AC,…],
 *            [U_DC,I_DC,P_DC,YieldDay,YieldTotal,Irradiation], …],
 *      "ch_name":["AC","EAST","WEST"],"ch_max_pwr":[null,425,425]}
 *     ch[0] holds the AC fields in the order of Ahoy's acList (YieldTotal in kWh, YieldDay
 *     in Wh); power_limit_read is in %; max_pwr (W) and status (0 off, 1 starting,
 *     2 producing, 3 was producing, 4 was on) came with 0.8; an unknown id answers
 *     {"error":"…"}.
 *   POST /api/ctrl {"id":N,"cmd":"limit_nonpersistent_absolute","val":W}
 *     → {"success":true} or {"success":false,"error":"…"} ("ERR_PROTECTED" when the DTU
 *     protects its API with the admin password).
 * Only the non-persistent limit is ever sent: the persistent ones are written to the
 * inverter's EEPROM, which a control loop would wear out. The limit is read back from
 * power_limit_read × max_pwr, which the DTU updates once the inverter confirmed it.
 *
 * An inverter that sleeps (status 0) is not offline: the DTU answers, so the device stays
 * online with power 0 and "reachable" 0. */
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

#define LOG "ahoydtu"
#define MODEL "Hoymiles via AhoyDTU"

/* Ahoy's acList: the positions of the AC fields in ch[0]. */
enum {
    AC_POWER = 2,
    AC_TEMPERATURE = 5,
    AC_YIELD_TOTAL_KWH = 6,
    AC_YIELD_DAY_WH = 7,
    AC_DC_POWER = 8
};

/* What one inverter reports; NAN where it does not tell. */
struct ahoy_live {
    double ac_w, dc_w, yield_day_wh, energy_wh, temperature_c;
    double limit_pct, max_w;
    int status; /* -1: not told (firmware before 0.8) */
    char name[32], version[16];
};

struct ahoydtu {
    struct dev_kit kit; /* first: the kit's callbacks cast back */
    bool polling;
    struct ahoy_live live;
};

/* --- Inverter data (pure) -------------------------------------------------------------- */

static double array_number(const cJSON *array, int index)
{
    const cJSON *item = cJSON_GetArrayItem(array, index);
    return cJSON_IsNumber(item) && isfinite(item->valuedouble) ? item->valuedouble : NAN;
}

/* Reads a /api/inverter/id/N reply. Returns false with the reason in why. */
static bool parse_inverter(const cJSON *root, struct ahoy_live *out, char *why, size_t why_size)
{
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (cJSON_IsString(error)) {
        snprintf(why, why_size, "the DTU says \"%.40s\" (check channel: the inverter's id)",
                 error->valuestring);
        return false;
    }
    const cJSON *ac = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "ch"), 0);
    if (!cJSON_IsArray(ac)) {
        snprintf(why, why_size, "ch[0] (the AC channel) missing");
        return false;
    }
    *out = (struct ahoy_live){.status = -1};
    out->ac_w = array_number(ac, AC_POWER);
    out->temperature_c = array_number(ac, AC_TEMPERATURE);
    out->energy_wh = array_number(ac, AC_YIELD_TOTAL_KWH) * 1000.0;
    out->yield_day_wh = array_number(ac, AC_YIELD_DAY_WH);
    out->dc_w = array_number(ac, AC_DC_POWER);
    if (!isfinite(out->ac_w)) {
        snprintf(why, why_size, "ch[0][2] (P_AC) missing or not a number");
        return false;
    }
    out->limit_pct = NAN;
    out->max_w = NAN;
    dev_json_number(root, "power_limit_read", &out->limit_pct);
    if (dev_json_number(root, "max_pwr", &out->max_w) && out->max_w <= 0)
        out->max_w = NAN; /* 0: the DTU has not read the inverter's type yet */
    double status;
    if (dev_json_number(root, "status", &status))
        out->status = (int)status;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
    snprintf(out->name, sizeof out->name, "%s", cJSON_IsString(name) ? name->valuestring : "");
    snprintf(out->version, sizeof out->version, "%s",
             cJSON_IsString(version) ? version->valuestring : "");
    return true;
}

static double limit_w(const struct ahoy_live *l)
{
    return l->limit_pct * l->max_w / 100.0; /* NAN when either is unknown */
}

bool balkon_ahoydtu_probe(const char *body, size_t size)
{
    /* GET /api/inverter/list: {"inverter":[…],"interval":…,"max_num_inverters":…} is
     * Ahoy's alone. */
    cJSON *json = cJSON_ParseWithLength(body, size);
    bool ahoy = cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(json, "inverter")) &&
                cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(json, "max_num_inverters"));
    cJSON_Delete(json);
    return ahoy;
}

/* --- Polling --------------------------------------------------------------------------- */

static void publish(struct ahoydtu *a)
{
    const struct ahoy_live *l = &a->live;
    struct ev_device_state state;
    dev_state_init(&a->kit, &state, NULL, DEVICE_ROLE_INVERTER);
    snprintf(state.model, sizeof state.model, MODEL);
    if (l->version[0])
        snprintf(state.firmware, sizeof state.firmware, "inverter %.20s", l->version);
    /* A sleeping inverter keeps its last values at the DTU: it produces nothing. */
    bool asleep = l->status == 0;
    dev_state_add(&state, "power_w", asleep ? 0 : l->ac_w);
    dev_state_add(&state, "dc_power_w", asleep ? 0 : l->dc_w);
    dev_state_add(&state, "limit_w", limit_w(l));
    dev_state_add(&state, "limit_pct", l->limit_pct);
    dev_state_add(&state, "max_power_w", l->max_w);
    dev_state_add(&state, "energy_wh", l->energy_wh);
    dev_state_add(&state, "yield_day_wh", l->yield_day_wh);
    dev_state_add(&state, "temperature_c", l->temperature_c);
    if (l->status >= 0) {
        dev_state_add(&state, "reachable", l->status != 0);
        dev_state_add(&state, "producing", l->status == 2);
    }
    dev_publish_state(&a->kit, &state);
}

static void inverter_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    struct ahoydtu *a = user;
    a->polling = false;
    if (!dev_http_ok(kit, result, "inverter"))
        return;
    cJSON *json = dev_parse_json(kit, result, "inverter");
    if (!json)
        return;
    char why[96];
    struct ahoy_live live;
    bool ok = parse_inverter(json, &live, why, sizeof why);
    cJSON_Delete(json);
    if (!ok) {
        dev_failed(kit, "inverter/id/%lld: %s", (long long)kit->config.channel, why);
        return;
    }
    a->live = live;
    publish(a);
}

static void poll(struct dev_kit *kit)
{
    struct ahoydtu *a = (struct ahoydtu *)kit;
    if (a->polling)
        return;
    char path[64];
    snprintf(path, sizeof path, "/api/inverter/id/%lld", (long long)kit->config.channel);
    a->polling = dev_http(kit, path, NULL, NULL, inverter_cb, a) == 0;
}

/* --- Limits ---------------------------------------------------------------------------- */

static void ctrl_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    char why[96];
    if (dev_http_problem(result, "ctrl", why, sizeof why)) {
        dev_cmd_sent(kit, false, why);
        return;
    }
    cJSON *json = cJSON_ParseWithLength(result->body, result->body_size);
    const cJSON *success = cJSON_GetObjectItemCaseSensitive(json, "success");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(json, "error");
    why[0] = '\0';
    if (cJSON_IsTrue(success))
        ;
    else if (cJSON_IsString(error) && strcmp(error->valuestring, "ERR_PROTECTED") == 0)
        snprintf(why, sizeof why, "ctrl: ERR_PROTECTED (the DTU's API is password-protected)");
    else if (cJSON_IsString(error))
        snprintf(why, sizeof why, "ctrl: %.70s", error->valuestring);
    else
        snprintf(why, sizeof why, "ctrl: the reply is not {\"success\":true}");
    cJSON_Delete(json);
    dev_cmd_sent(kit, why[0] == '\0', why);
}

static int send_limit(struct dev_kit *kit, const struct device_command *command)
{
    /* limit_nonpersistent_absolute, always: never the EEPROM. */
    char body[128];
    snprintf(body, sizeof body,
             "{\"id\":%lld,\"cmd\":\"limit_nonpersistent_absolute\",\"val\":%.0f}",
             (long long)kit->config.channel, command->value);
    return dev_http(kit, "/api/ctrl", "application/json", body, ctrl_cb, NULL);
}

static void read_back_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    struct ahoydtu *a = user;
    char why[96];
    if (dev_http_problem(result, "inverter", why, sizeof why)) {
        dev_cmd_read(kit, false, NAN, why);
        return;
    }
    cJSON *json = cJSON_ParseWithLength(result->body, result->body_size);
    struct ahoy_live live;
    bool ok = json && parse_inverter(json, &live, why, sizeof why);
    cJSON_Delete(json);
    if (!json) {
        dev_cmd_read(kit, false, NAN, "inverter: the reply is not JSON");
    } else if (!ok) {
        dev_cmd_read(kit, false, NAN, why);
    } else if (!isfinite(limit_w(&live))) {
        dev_cmd_read(kit, false, NAN,
                     "power_limit_read or max_pwr missing (AhoyDTU 0.8 or newer reports them)");
    } else {
        a->live = live;
        publish(a);
        dev_cmd_read(kit, true, limit_w(&live), "");
    }
}

static int read_back(struct dev_kit *kit, const struct device_command *command)
{
    char path[64];
    snprintf(path, sizeof path, "/api/inverter/id/%lld", (long long)kit->config.channel);
    return dev_http(kit, path, NULL, NULL, read_back_cb, kit);
}

/* --- Driver ---------------------------------------------------------------------------- */

static const struct dev_kit_ops ops = {
    .log_name = LOG,
    .default_port = 80,
    .auth = BALKON_HTTP_AUTH_BASIC,
    .poll = poll,
    .send = send_limit,
    .read_back = read_back,
};

static int ahoydtu_start(struct balkon_ctx *ctx, const struct balkon_device_config *device,
                         void **instance, char *msg, size_t msg_size)
{
    struct ahoydtu *a = calloc(1, sizeof *a);
    if (!a)
        return BALKON_E_NOMEM;
    a->live = (struct ahoy_live){NAN, NAN, NAN, NAN, NAN, NAN, NAN, -1, "", ""};
    /* The DTU sends a limit with its next radio slot and the inverter confirms it a few
     * seconds later: space commands and wait before reading the limit back. */
    a->kit.min_command_interval_s = 5.0;
    a->kit.verify_delay_s = 3.0;
    int rc = dev_kit_start(&a->kit, ctx, device, &ops, msg, msg_size);
    if (rc < 0) {
        free(a);
        return rc;
    }
    *instance = a;
    return 0;
}

static void ahoydtu_stop(void *instance)
{
    struct ahoydtu *a = instance;
    dev_kit_stop(&a->kit);
}

static void ahoydtu_reconfigure(void *instance)
{
    struct ahoydtu *a = instance;
    dev_kit_reconfigure(&a->kit);
}

static int ahoydtu_command(void *instance, const struct device_command *command, char *msg,
                           size_t msg_size)
{
    struct ahoydtu *a = instance;
    if (strcmp(command->command, "limit") != 0) {
        snprintf(msg, msg_size, "an AhoyDTU inverter takes only \"limit\" (W)");
        return BALKON_E_INVAL;
    }
    double max_w = a->kit.config.max_power_w;
    if (!(command->value >= 0 && command->value <= max_w)) {
        snprintf(msg, msg_size, "must be between 0 and %g W, got %g", max_w, command->value);
        return BALKON_E_RANGE;
    }
    struct device_command rounded = *command; /* Ahoy takes whole watts */
    rounded.value = round(command->value);
    dev_cmd_submit(&a->kit, &rounded);
    return 0;
}

const struct dev_driver_ops dev_driver_ahoydtu = {
    .driver = &balkon_driver_ahoydtu,
    .start = ahoydtu_start,
    .reconfigure = ahoydtu_reconfigure,
    .stop = ahoydtu_stop,
    .command = ahoydtu_command,
};
