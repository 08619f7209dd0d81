/* `detect`: what device answers at an address (include/balkon/detect.h).
 *
 * The probes, in order; the first that recognises its device wins. Each asks what the
 * device's own software serves and checks a field only that software writes:
 *   shelly        GET /shelly  (port 80)    Gen2+: {"id":…,"model":"SPEM-003CEBEU","gen":2,
 *                 "ver":"1.4.4","profile":"triphase",…}; Gen1: {"type":"SHEM","fw":"2023…"}
 *   opendtu       GET /api/system/status     {"hostname":…,"git_hash":"v24.11.7","pioenv":…}
 *   ahoydtu       GET /api/system            {"generic":{"version":"0.8.83","host":…,…},…}
 *                 (older: {"version":…,"device_name":…} at the top)
 *   tasmota       GET /cm?cmnd=Status%200    {"Status":{"DeviceName":…},"StatusFWR":
 *                 {"Version":"13.2.0(tasmota)"},"StatusSNS":{"ENERGY":{"Power":…}}}
 *   esphome       GET /events (web server, an event stream): "event: ping" with
 *                 data {"title":…}, then "event: state" data {"id":"sensor-…","value":…}
 *                 per entity; a "switch-…" makes the config a plug
 *   zendure       GET /properties/report     {"sn":…,"product":"solarFlow800","properties":{…}}
 *   apsystems_ez1 GET /getDeviceInfo (port 8050)  {"data":{"deviceId":…,"devVer":"EZ1 1.6.0",
 *                 "maxPower":"800",…},"message":"SUCCESS"}; GET /getOutputData {"data":
 *                 {"p1":139,"p2":140,…}} for the reading
 *   marstek_venus UDP (port 30000) {"id":1,"method":"Marstek.GetDevice","params":
 *                 {"ble_mac":"0"}} → {"result":{"device":"VenusE","ver":155,…}}, then
 *                 ES.GetStatus {"id":0} → {"result":{"bat_soc":14,"ongrid_power":0,…}}
 *   sunspec       Modbus TCP (port 502, unit 1): holding registers 40000-40001 read "SunS",
 *                 then model 1 (common: manufacturer, model, version, serial) and the
 *                 model chain, for a meter (201-204: W with its scale factor at 16/20)
 * Without a port in the target each probe uses its device's default port; with one, every
 * probe uses that port (a device behind a forwarded or changed port, and the tests' fakes).
 * Once a TCP port timed out (no connection, or no answer on one), the other TCP probes of
 * that port are skipped: the host is not there, filters it or hangs, and each would wait
 * its whole timeout again. */
#include "balkon/detect.h"

#include "detect_net.h"
#include "device_kit.h"

#include "balkon/driver.h"
#include "balkon/error.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* After the first bytes of an answer, this much quiet ends it (an event stream). */
#define IDLE_MS 300

struct detect {
    char host[256];
    int port; /* 0: each probe's default */
    int timeout_ms;
    int dead_port; /* a TCP port that timed out: its other probes are skipped */
    cJSON *probes; /* the array of what each probe saw */
    cJSON *found;  /* the answer, once a probe recognised its device */
};

struct probe {
    const char *name;
    int default_port;
    bool udp;
    /* true when its device answered: d->found is then set */
    bool (*run)(struct detect *d, int port, char *why, size_t why_size);
};

static int port_of(const struct detect *d, int default_port)
{
    return d->port ? d->port : default_port;
}

/* GET path as JSON; NULL with why when there is no 2xx JSON answer. */
static cJSON *get_json(struct detect *d, int port, const char *path, char *why, size_t why_size)
{
    struct detect_reply reply;
    if (detect_http_get(d->host, port, path, d->timeout_ms, IDLE_MS, &reply, why, why_size) < 0) {
        return NULL;
    }
    cJSON *json = NULL;
    if (reply.status < 200 || reply.status >= 300)
        snprintf(why, why_size, "HTTP %d", reply.status);
    else if (!(json = cJSON_ParseWithLength(reply.body, reply.size)))
        snprintf(why, why_size, "the answer is not JSON");
    detect_reply_free(&reply);
    return json;
}

static const char *text_at(const cJSON *root, const char *path)
{
    const cJSON *item = dev_json_path(root, path);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* Letters and digits of text, lower case: "Pro 3EM" and "Pro3EM", "Venus E" and "VenusE"
 * compare equal. */
static void model_key(const char *text, char *out, size_t size)
{
    size_t n = 0;
    for (; *text && n + 1 < size; text++)
        if (isalnum((unsigned char)*text))
            out[n++] = (char)tolower((unsigned char)*text);
    out[n] = '\0';
}

/* The driver's catalogue model that name is (GET /api/v1/devices/catalogue), as
 * "catalogue_model" of the answer, so the setup UI shows the model and offers its roles;
 * the first name that matches wins. Devices name themselves as the catalogue does, without
 * the spaces ("VenusE", "solarFlow800", a Shelly's app "Pro3EM"); a name that matches no
 * model leaves the choice to the UI (the first model of the type with the detected role). */
static void catalogue_model(struct detect *d, const char *type, const char *name)
{
    const struct balkon_driver *driver = balkon_driver_find(type);
    if (!name || !driver || !driver->catalogue || !driver->catalogue->models ||
        cJSON_GetObjectItem(d->found, "catalogue_model"))
        return;
    char want[64], have[64];
    model_key(name, want, sizeof want);
    for (const struct balkon_driver_model *m = driver->catalogue->models; want[0] && m->name; m++) {
        model_key(m->name, have, sizeof have);
        if (strcmp(want, have) == 0) {
            cJSON_AddStringToObject(d->found, "catalogue_model", m->name);
            return;
        }
    }
}

/* The answer for a recognised device; config gets "id", "type" and "host" (and "port"
 * when it is not the driver's default). Returns the config to add the driver's fields to. */
static cJSON *found(struct detect *d, const char *type, const char *model, const char *firmware,
                    int port, int default_port)
{
    d->found = cJSON_CreateObject();
    cJSON_AddBoolToObject(d->found, "found", true);
    cJSON_AddStringToObject(d->found, "type", type);
    const struct balkon_driver *driver = balkon_driver_find(type);
    cJSON_AddBoolToObject(d->found, "driver_available", driver != NULL);
    if (driver)
        cJSON_AddStringToObject(d->found, "description", driver->description);
    cJSON_AddStringToObject(d->found, "model", model ? model : "");
    cJSON_AddStringToObject(d->found, "firmware", firmware ? firmware : "");
    catalogue_model(d, type, model);
    cJSON *config = cJSON_AddObjectToObject(d->found, "config");
    char id[48];
    snprintf(id, sizeof id, "%s", type);
    for (char *c = id; *c; c++)
        if (*c == '_')
            *c = '-';
    cJSON_AddStringToObject(config, "id", id);
    cJSON_AddStringToObject(config, "type", type);
    cJSON_AddStringToObject(config, "host", d->host);
    if (port != default_port)
        cJSON_AddNumberToObject(config, "port", port);
    return config;
}

/* The live reading: name (with its unit) = value, or why there is none. */
static void reading(struct detect *d, const char *name, double value)
{
    cJSON *r = cJSON_GetObjectItem(d->found, "reading");
    if (!r)
        r = cJSON_AddObjectToObject(d->found, "reading");
    cJSON_AddNumberToObject(r, name, value);
}

static void no_reading(struct detect *d, const char *why)
{
    cJSON_AddStringToObject(d->found, "reading_error", why);
}

static void firmware_number(char *out, size_t size, const cJSON *item)
{
    if (cJSON_IsString(item))
        snprintf(out, size, "%s", item->valuestring);
    else if (cJSON_IsNumber(item))
        snprintf(out, size, "%g", item->valuedouble);
    else
        out[0] = '\0';
}

/* --- Shelly ------------------------------------------------------------------------ */

static void shelly_gen2_reading(struct detect *d, int port, const cJSON *info, cJSON *config)
{
    const char *model = text_at(info, "model");
    const char *profile = text_at(info, "profile");
    model = model ? model : "";
    profile = profile ? profile : "";
    static const char *const switches[] = {"SNSW", "SNPL", "SPSW", "S3SW", "S3PL", "S4SW", "S4PL"};
    bool plug = false;
    for (size_t i = 0; i < sizeof switches / sizeof *switches; i++)
        plug |= strncmp(model, switches[i], strlen(switches[i])) == 0;
    const char *path = plug                                ? "/rpc/Switch.GetStatus?id=0"
                       : strcmp(profile, "monophase") == 0 ? "/rpc/EM1.GetStatus?id=0"
                       : strcmp(profile, "triphase") == 0 || strstr(model, "EM-003")
                           ? "/rpc/EM.GetStatus?id=0"
                           : "/rpc/EM1.GetStatus?id=0";
    const char *key = plug ? "apower" : strstr(path, "EM1") ? "act_power" : "total_act_power";
    cJSON_AddStringToObject(config, "role", plug ? "plug" : "meter");
    char why[160];
    cJSON *status = get_json(d, port, path, why, sizeof why);
    double power_w;
    if (!status) {
        char text[200];
        snprintf(text, sizeof text, "%s: %s", path, why);
        no_reading(d, text);
    } else if (dev_json_number(status, key, &power_w)) {
        reading(d, plug ? "power_w" : "grid_power_w", power_w);
    } else {
        char text[200];
        snprintf(text, sizeof text, "%s: no \"%s\"", path, key);
        no_reading(d, text);
    }
    cJSON_Delete(status);
}

/* Gen1: a meter or a plug/relay ("meters", channel 0), read as the driver reads it: the 3EM
 * (SHEM-3) sums its phases' "emeters", the EM (SHEM) reports channel 0. */
static void shelly_gen1_reading(struct detect *d, int port, const char *model, cJSON *config)
{
    bool meter = strncmp(model, "SHEM", 4) == 0;
    cJSON_AddStringToObject(config, "role", meter ? "meter" : "plug");
    char why[160];
    cJSON *status = get_json(d, port, "/status", why, sizeof why);
    const cJSON *list = cJSON_GetObjectItem(status, meter ? "emeters" : "meters");
    double total_w = 0;
    int n = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        double power_w;
        if (dev_json_number(item, "power", &power_w)) {
            total_w += power_w;
            n++;
        }
        if (strcmp(model, "SHEM-3") != 0)
            break; /* channel 0 */
    }
    if (n > 0)
        reading(d, meter ? "grid_power_w" : "power_w", total_w);
    else
        no_reading(d, status ? "/status: no power" : why);
    cJSON_Delete(status);
}

static bool probe_shelly(struct detect *d, int port, char *why, size_t why_size)
{
    cJSON *info = get_json(d, port, "/shelly", why, why_size);
    if (!info)
        return false;
    const cJSON *gen = cJSON_GetObjectItem(info, "gen");
    const char *gen1_type = text_at(info, "type");
    if (cJSON_IsNumber(gen) && gen->valueint >= 2 && text_at(info, "model")) {
        cJSON *config =
            found(d, "shelly_gen2", text_at(info, "model"), text_at(info, "ver"), port, 80);
        catalogue_model(d, "shelly_gen2", text_at(info, "app")); /* "Pro3EM", "PlusPlugS" */
        shelly_gen2_reading(d, port, info, config);
    } else if (gen1_type && text_at(info, "fw")) {
        cJSON *config = found(d, "shelly_gen1", gen1_type, text_at(info, "fw"), port, 80);
        shelly_gen1_reading(d, port, gen1_type, config);
    } else {
        snprintf(why, why_size, "/shelly answered without a Shelly's model and firmware");
    }
    cJSON_Delete(info);
    return d->found != NULL;
}

/* --- OpenDTU, AhoyDTU ---------------------------------------------------------------- */

static bool probe_opendtu(struct detect *d, int port, char *why, size_t why_size)
{
    cJSON *info = get_json(d, port, "/api/system/status", why, why_size);
    const char *firmware = text_at(info, "git_hash");
    if (!firmware) {
        if (info)
            snprintf(why, why_size, "/api/system/status has no \"git_hash\"");
        cJSON_Delete(info);
        return false;
    }
    const char *env = text_at(info, "pioenv");
    char model[64];
    snprintf(model, sizeof model, "OpenDTU%s%s", env ? " " : "", env ? env : "");
    cJSON *config = found(d, "opendtu", model, firmware, port, 80);
    cJSON_Delete(info);
    char live_why[160];
    cJSON *live = get_json(d, port, "/api/livedata/status", live_why, sizeof live_why);
    const cJSON *inverters = cJSON_GetObjectItem(live, "inverters");
    const cJSON *first = cJSON_IsArray(inverters) ? cJSON_GetArrayItem(inverters, 0)
                         : cJSON_IsArray(live)    ? cJSON_GetArrayItem(live, 0) /* 2022 */
                                                  : NULL;
    const char *serial = text_at(first, "serial");
    double power_w, limit_w, limit_pct;
    if (serial)
        cJSON_AddStringToObject(config, "serial", serial);
    /* The inverter's rated power: its absolute limit over the relative one. */
    if (dev_json_number(first, "limit_absolute", &limit_w) &&
        dev_json_number(first, "limit_relative", &limit_pct) && limit_pct > 0)
        cJSON_AddNumberToObject(config, "max_power_w", round(limit_w * 100 / limit_pct));
    if (cJSON_GetArraySize(inverters) > 1)
        cJSON_AddNumberToObject(d->found, "inverters", cJSON_GetArraySize(inverters));
    if (dev_json_number(first, "AC.0.Power.v", &power_w) ||
        dev_json_number(first, "0.Power.v", &power_w))
        reading(d, "power_w", power_w);
    else
        no_reading(d, live ? "/api/livedata/status: no inverter with AC power" : live_why);
    cJSON_Delete(live);
    return true;
}

static bool probe_ahoydtu(struct detect *d, int port, char *why, size_t why_size)
{
    cJSON *info = get_json(d, port, "/api/system", why, why_size);
    const char *version = text_at(info, "generic.version");
    const char *name = text_at(info, "generic.host");
    if (!version) {
        version = text_at(info, "version");
        name = text_at(info, "device_name");
    }
    if (!version) {
        if (info)
            snprintf(why, why_size, "/api/system has no AhoyDTU version");
        cJSON_Delete(info);
        return false;
    }
    found(d, "ahoydtu", name ? name : "AhoyDTU", version, port, 80);
    cJSON_Delete(info);
    no_reading(d, "AhoyDTU's live values are read by its driver per inverter");
    return true;
}

/* --- Tasmota ------------------------------------------------------------------------- */

/* A smart-meter reader's power: the first key of a StatusSNS group (not ENERGY) whose name
 * holds "Power" or "power" and whose value is a number ("SML.Power_curr"). */
static const cJSON *sml_power(const cJSON *sns, char *key, size_t key_size)
{
    const cJSON *group;
    cJSON_ArrayForEach(group, sns)
    {
        if (!cJSON_IsObject(group) || strcmp(group->string, "ENERGY") == 0)
            continue;
        const cJSON *item;
        cJSON_ArrayForEach(item, group)
        {
            if (cJSON_IsNumber(item) &&
                (strstr(item->string, "Power") || strstr(item->string, "power"))) {
                snprintf(key, key_size, "%s.%s", group->string, item->string);
                return item;
            }
        }
    }
    return NULL;
}

static bool probe_tasmota(struct detect *d, int port, char *why, size_t why_size)
{
    cJSON *status = get_json(d, port, "/cm?cmnd=Status%200", why, why_size);
    const char *firmware = text_at(status, "StatusFWR.Version");
    if (!firmware) {
        const char *warning = text_at(status, "WARNING");
        if (warning)
            snprintf(why, why_size, "Tasmota asks for a password: %s", warning);
        else if (status)
            snprintf(why, why_size, "Status 0 has no StatusFWR.Version");
        if (warning) { /* a Tasmota with a web password: recognised, not readable */
            found(d, "tasmota", "Tasmota", "", port, 80);
            no_reading(d, why);
        }
        cJSON_Delete(status);
        return warning != NULL;
    }
    const char *model = text_at(status, "Status.DeviceName");
    cJSON *config = found(d, "tasmota", model ? model : "Tasmota", firmware, port, 80);
    const cJSON *sns = cJSON_GetObjectItem(status, "StatusSNS");
    double power_w;
    char key[96];
    const cJSON *sml;
    if (dev_json_number(sns, "ENERGY.Power", &power_w)) {
        cJSON_AddStringToObject(config, "role", "plug");
        reading(d, "power_w", power_w);
    } else if ((sml = sml_power(sns, key, sizeof key))) {
        cJSON_AddStringToObject(config, "role", "meter");
        cJSON_AddStringToObject(config, "power_key", key);
        reading(d, "grid_power_w", sml->valuedouble);
    } else {
        no_reading(d, "Status 0 has no ENERGY.Power and no smart-meter power");
    }
    cJSON_Delete(status);
    return true;
}

/* --- ESPHome ------------------------------------------------------------------------- */

/* The JSON after "data:" of the first event named event in an event stream, or NULL. */
static cJSON *sse_event(const char *stream, const char *event, const char **next)
{
    char marker[48];
    snprintf(marker, sizeof marker, "event: %s", event);
    const char *at = strstr(stream, marker);
    const char *data = at ? strstr(at, "data:") : NULL;
    if (!data)
        return NULL;
    data += 5;
    const char *end = strchr(data, '\n');
    *next = end ? end : data + strlen(data);
    return cJSON_ParseWithLength(data, (size_t)(*next - data));
}

static bool probe_esphome(struct detect *d, int port, char *why, size_t why_size)
{
    struct detect_reply reply;
    if (detect_http_get(d->host, port, "/events", d->timeout_ms, IDLE_MS, &reply, why, why_size) <
        0)
        return false;
    const char *next = reply.body;
    cJSON *ping = reply.status == 200 ? sse_event(reply.body, "ping", &next) : NULL;
    const char *title = text_at(ping, "title");
    if (!title) {
        snprintf(why, why_size, "/events: %s",
                 reply.status == 200 ? "no ESPHome ping event" : "not an event stream");
        cJSON_Delete(ping);
        detect_reply_free(&reply);
        return false;
    }
    found(d, "esphome", title, "", port, 80);
    cJSON_Delete(ping);
    /* The first sensor whose state is in W is the device's power; a switch makes it a
     * plug. The config names them by their ids without the "sensor-" / "switch-" prefix,
     * as the esphome driver's power_key and state_key take them. */
    cJSON *config = cJSON_GetObjectItem(d->found, "config");
    cJSON *state;
    const char *at = reply.body;
    bool have = false;
    char power_id[64] = "", switch_id[64] = "";
    while ((state = sse_event(at, "state", &next))) {
        const char *id = text_at(state, "id");
        const char *text = text_at(state, "state");
        double value;
        if (!have && id && text && strncmp(id, "sensor-", 7) == 0 &&
            dev_json_number(state, "value", &value)) {
            size_t len = strlen(text);
            if (len > 2 && strcmp(text + len - 2, " W") == 0) {
                reading(d, "power_w", value);
                snprintf(power_id, sizeof power_id, "%s", id + 7);
                have = true;
            }
        }
        if (!switch_id[0] && id && strncmp(id, "switch-", 7) == 0)
            snprintf(switch_id, sizeof switch_id, "%s", id + 7);
        cJSON_Delete(state);
        at = next;
    }
    if (power_id[0])
        cJSON_AddStringToObject(config, "power_key", power_id);
    if (switch_id[0]) {
        cJSON_AddStringToObject(config, "role", "plug");
        cJSON_AddStringToObject(config, "state_key", switch_id);
    }
    if (!have)
        no_reading(d, "/events: no sensor in W");
    detect_reply_free(&reply);
    return true;
}

/* --- Zendure, APsystems -------------------------------------------------------------- */

static bool probe_zendure(struct detect *d, int port, char *why, size_t why_size)
{
    cJSON *report = get_json(d, port, "/properties/report", why, why_size);
    const char *sn = text_at(report, "sn");
    const char *product = text_at(report, "product");
    if (!sn || !product || !cJSON_IsObject(cJSON_GetObjectItem(report, "properties"))) {
        if (report)
            snprintf(why, why_size, "/properties/report lacks sn, product or properties");
        cJSON_Delete(report);
        return false;
    }
    char firmware[32];
    firmware_number(firmware, sizeof firmware, cJSON_GetObjectItem(report, "version"));
    cJSON *config = found(d, "zendure", product, firmware, port, 80);
    cJSON_AddStringToObject(config, "serial", sn);
    double soc_pct, pack_in_w, pack_out_w;
    if (dev_json_number(report, "properties.electricLevel", &soc_pct))
        reading(d, "soc_pct", soc_pct);
    if (dev_json_number(report, "properties.packInputPower", &pack_in_w) &&
        dev_json_number(report, "properties.outputPackPower", &pack_out_w))
        reading(d, "power_w", pack_in_w - pack_out_w); /* + discharge, as the driver */
    else
        no_reading(d, "/properties/report: no pack power");
    cJSON_Delete(report);
    return true;
}

static bool probe_apsystems(struct detect *d, int port, char *why, size_t why_size)
{
    cJSON *info = get_json(d, port, "/getDeviceInfo", why, why_size);
    const char *id = text_at(info, "data.deviceId");
    const char *version = text_at(info, "data.devVer");
    if (!id || !version) {
        if (info)
            snprintf(why, why_size, "/getDeviceInfo lacks data.deviceId or data.devVer");
        cJSON_Delete(info);
        return false;
    }
    /* devVer is the model, a space and the version ("EZ1 1.6.0", "EZ1-H 1.12.2t"); the
     * oldest firmware writes them together ("EZ11.0.0"). */
    char model[32] = "EZ1";
    const char *firmware = version;
    const char *space = strrchr(version, ' ');
    if (space) {
        snprintf(model, sizeof model, "%.*s", (int)(space - version), version);
        firmware = space + 1;
    } else if (strncmp(version, "EZ1", 3) == 0) {
        firmware = version + 3;
    }
    cJSON *config = found(d, "apsystems_ez1", model, firmware, port, 8050);
    double max_w;
    if (dev_json_number(info, "data.maxPower", &max_w))
        cJSON_AddNumberToObject(config, "max_power_w", max_w);
    cJSON_Delete(info);
    char out_why[160];
    cJSON *output = get_json(d, port, "/getOutputData", out_why, sizeof out_why);
    double p1_w, p2_w;
    if (dev_json_number(output, "data.p1", &p1_w) && dev_json_number(output, "data.p2", &p2_w))
        reading(d, "power_w", p1_w + p2_w);
    else
        no_reading(d, output ? "/getOutputData: no data.p1/p2" : out_why);
    cJSON_Delete(output);
    return true;
}

/* --- Marstek (UDP) ------------------------------------------------------------------- */

static cJSON *marstek_call(struct detect *d, int port, const char *request, char *why,
                           size_t why_size)
{
    struct detect_reply reply;
    if (detect_udp_request(d->host, port, request, d->timeout_ms, &reply, why, why_size) < 0)
        return NULL;
    cJSON *json = cJSON_ParseWithLength(reply.body, reply.size);
    detect_reply_free(&reply);
    cJSON *result = cJSON_DetachItemFromObject(json, "result");
    if (!cJSON_IsObject(result)) {
        const char *error = text_at(json, "error.message");
        snprintf(why, why_size, "%s",
                 error  ? error
                 : json ? "no result"
                        : "the answer is not JSON");
        cJSON_Delete(result);
        result = NULL;
    }
    cJSON_Delete(json);
    return result;
}

static bool probe_marstek(struct detect *d, int port, char *why, size_t why_size)
{
    cJSON *device = marstek_call(
        d, port, "{\"id\":1,\"method\":\"Marstek.GetDevice\",\"params\":{\"ble_mac\":\"0\"}}", why,
        why_size);
    const char *model = text_at(device, "device");
    if (!model) {
        if (device)
            snprintf(why, why_size, "Marstek.GetDevice has no \"device\"");
        cJSON_Delete(device);
        return false;
    }
    char firmware[32];
    firmware_number(firmware, sizeof firmware, cJSON_GetObjectItem(device, "ver"));
    cJSON *config = found(d, "marstek_venus", model, firmware, port, 30000);
    cJSON_Delete(device);
    cJSON_AddStringToObject(config, "role", "battery");
    /* Venus E / C: 2500 W charge and discharge; the user lowers it where wanted. */
    cJSON_AddNumberToObject(config, "max_power_w", 2500);
    char status_why[160];
    cJSON *status =
        marstek_call(d, port, "{\"id\":2,\"method\":\"ES.GetStatus\",\"params\":{\"id\":0}}",
                     status_why, sizeof status_why);
    double soc_pct, power_w;
    if (dev_json_number(status, "bat_soc", &soc_pct))
        reading(d, "soc_pct", soc_pct);
    if (dev_json_number(status, "ongrid_power", &power_w))
        reading(d, "power_w", power_w);
    else
        no_reading(d, status ? "ES.GetStatus: no ongrid_power" : status_why);
    cJSON_Delete(status);
    return true;
}

/* --- SunSpec over Modbus TCP --------------------------------------------------------- */

#define SUNSPEC_BASE 40000
#define SUNSPEC_UNIT 1

/* A SunSpec string: registers of two ASCII bytes, NUL- or space-padded. */
static void sunspec_string(const uint16_t *regs, int count, char *out, size_t size)
{
    size_t n = 0;
    for (int i = 0; i < count && n + 2 < size; i++) {
        out[n++] = (char)(regs[i] >> 8);
        out[n++] = (char)(regs[i] & 0xff);
    }
    out[n] = '\0';
    n = strlen(out);
    while (n > 0 && (out[n - 1] == ' ' || !isprint((unsigned char)out[n - 1])))
        out[--n] = '\0';
    for (char *c = out; *c; c++)
        if (!isprint((unsigned char)*c))
            *c = '?';
}

static bool probe_sunspec(struct detect *d, int port, char *why, size_t why_size)
{
    uint16_t regs[125];
    if (detect_modbus_read(d->host, port, SUNSPEC_UNIT, SUNSPEC_BASE, 4, d->timeout_ms, regs, why,
                           why_size) < 0)
        return false;
    if (regs[0] != 0x5375 || regs[1] != 0x6e53) { /* "SunS" */
        snprintf(why, why_size, "no \"SunS\" marker at register %d", SUNSPEC_BASE);
        return false;
    }
    if (regs[2] != 1 || regs[3] < 65) { /* 65: without the pad register of newer maps */
        snprintf(why, why_size, "the first SunSpec model is %u (length %u), not common model 1",
                 regs[2], regs[3]);
        return false;
    }
    /* Common model 1: Mn at 0, Md at 16, Opt at 32, Vr at 40, SN at 48 (16 registers each,
     * Opt and Vr 8). */
    uint16_t common[65];
    if (detect_modbus_read(d->host, port, SUNSPEC_UNIT, SUNSPEC_BASE + 4, 65, d->timeout_ms, common,
                           why, why_size) < 0)
        return false;
    char manufacturer[40], model[40], version[24], serial[40], full_model[96];
    sunspec_string(common, 16, manufacturer, sizeof manufacturer);
    sunspec_string(common + 16, 16, model, sizeof model);
    sunspec_string(common + 40, 8, version, sizeof version);
    sunspec_string(common + 48, 16, serial, sizeof serial);
    snprintf(full_model, sizeof full_model, "%s %s", manufacturer, model);
    cJSON *config = found(d, "sunspec", full_model, version, port, 502);
    cJSON_AddStringToObject(config, "serial", serial);
    /* The model chain: id, length, body … until id 0xFFFF. */
    cJSON *models = cJSON_AddArrayToObject(d->found, "sunspec_models");
    uint16_t address = (uint16_t)(SUNSPEC_BASE + 4 + regs[3]);
    bool have = false;
    for (int i = 0; i < 32; i++) {
        uint16_t head[2];
        if (detect_modbus_read(d->host, port, SUNSPEC_UNIT, address, 2, d->timeout_ms, head, why,
                               why_size) < 0 ||
            head[0] == 0xFFFF)
            break;
        cJSON_AddItemToArray(models, cJSON_CreateNumber(head[0]));
        if (!have && head[0] >= 201 && head[0] <= 204 && head[1] >= 21) {
            uint16_t meter[21];
            if (detect_modbus_read(d->host, port, SUNSPEC_UNIT, (uint16_t)(address + 2), 21,
                                   d->timeout_ms, meter, why, why_size) == 0 &&
                meter[16] != 0x8000 && meter[20] != 0x8000) {
                /* W is int16 at offset 16 with the int16 scale factor W_SF at 20. SunSpec
                 * meters count + for power drawn from the grid: our sign. */
                double power_w = (int16_t)meter[16] * pow(10, (int16_t)meter[20]);
                reading(d, "grid_power_w", power_w);
                cJSON_AddStringToObject(config, "role", "meter");
                have = true;
            }
        }
        address = (uint16_t)(address + 2 + head[1]);
    }
    if (!have)
        no_reading(d, "no SunSpec meter model (201-204) with a power value");
    return true;
}

/* ------------------------------------------------------------------------------------- */

static const struct probe probes[] = {
    {"shelly", 80, false, probe_shelly},
    {"opendtu", 80, false, probe_opendtu},
    {"ahoydtu", 80, false, probe_ahoydtu},
    {"tasmota", 80, false, probe_tasmota},
    {"esphome", 80, false, probe_esphome},
    {"zendure", 80, false, probe_zendure},
    {"apsystems_ez1", 8050, false, probe_apsystems},
    {"marstek_venus", 30000, true, probe_marstek},
    {"sunspec", 502, false, probe_sunspec},
};

/* What a probe's result means, as a word the UI translates ("outcome" beside the English
 * "result"): found, skipped (its port timed out for an earlier probe), timeout, refused
 * (nothing listens), unresolved (the name is unknown), unreachable (no route), no_answer
 * (UDP: silence), http_status (an HTTP error such as 404), answered (something answered,
 * but not as this probe's device does) or error (this machine could not ask). The texts
 * are detect_net.c's: strerror() of the connect and the fixed words beside it. */
static const char *outcome_of(const char *why)
{
    if (!why[0] || strcmp(why, "no answer") == 0)
        return "no_answer";
    if (strcmp(why, "timed out") == 0)
        return "timeout";
    if (strcmp(why, strerror(ECONNREFUSED)) == 0 || strcmp(why, "no answer (port closed)") == 0)
        return "refused";
    if (strncmp(why, "cannot resolve", 14) == 0)
        return "unresolved";
    if (strcmp(why, strerror(ENETUNREACH)) == 0 || strcmp(why, strerror(EHOSTUNREACH)) == 0 ||
        strcmp(why, strerror(EADDRNOTAVAIL)) == 0)
        return "unreachable";
    if (strncmp(why, "HTTP ", 5) == 0)
        return "http_status";
    if (strncmp(why, "poll: ", 6) == 0 || strncmp(why, "socket: ", 8) == 0 ||
        strncmp(why, "send: ", 6) == 0 || strcmp(why, "out of memory") == 0)
        return "error";
    return "answered";
}

/* Splits "host", "host:port", "[v6]:port" and "[v6]" into d; false with msg. */
static bool parse_target(struct detect *d, const char *target, char *msg, size_t msg_size)
{
    size_t len = strlen(target);
    if (len == 0 || len >= sizeof d->host) {
        snprintf(msg, msg_size, "host: must be a host name or address (1 to %zu characters)",
                 sizeof d->host - 1);
        return false;
    }
    const char *port_text = NULL;
    if (target[0] == '[') {
        const char *end = strchr(target, ']');
        if (!end || (end[1] && end[1] != ':')) {
            snprintf(msg, msg_size, "host: expected \"[IPv6]\" or \"[IPv6]:PORT\", got \"%s\"",
                     target);
            return false;
        }
        snprintf(d->host, sizeof d->host, "%.*s", (int)(end - target - 1), target + 1);
        port_text = end[1] ? end + 2 : NULL;
    } else {
        const char *colon = strchr(target, ':');
        if (colon && strchr(colon + 1, ':'))
            colon = NULL; /* a bare IPv6 address */
        snprintf(d->host, sizeof d->host, "%.*s", colon ? (int)(colon - target) : (int)len, target);
        port_text = colon ? colon + 1 : NULL;
    }
    for (const char *c = d->host; *c; c++) {
        if (!isalnum((unsigned char)*c) && !strchr(".-_:%", *c)) {
            snprintf(msg, msg_size, "host: \"%s\" is not a host name or address", d->host);
            return false;
        }
    }
    if (!d->host[0]) {
        snprintf(msg, msg_size, "host: no host before the port in \"%s\"", target);
        return false;
    }
    if (port_text) {
        char *end;
        long port = strtol(port_text, &end, 10);
        if (!*port_text || *end || port < 1 || port > 65535) {
            snprintf(msg, msg_size, "host: the port must be 1 to 65535, got \"%s\"", port_text);
            return false;
        }
        d->port = (int)port;
    }
    return true;
}

int balkon_detect_run(const char *target, int timeout_ms, char **json_out, char *msg,
                      size_t msg_size)
{
    *json_out = NULL;
    struct detect d = {.timeout_ms = timeout_ms > 0 ? timeout_ms : BALKON_DETECT_TIMEOUT_MS};
    if (!target || !parse_target(&d, target, msg, msg_size))
        return BALKON_E_INVAL;
    d.probes = cJSON_CreateArray();
    if (!d.probes)
        return BALKON_E_NOMEM;
    for (size_t i = 0; i < sizeof probes / sizeof *probes && !d.found; i++) {
        int port = port_of(&d, probes[i].default_port);
        char why[200] = "";
        bool skipped = !probes[i].udp && port == d.dead_port;
        if (skipped)
            snprintf(why, sizeof why, "skipped: port %d did not answer", port);
        bool hit = !skipped && probes[i].run(&d, port, why, sizeof why);
        if (!hit && !probes[i].udp && strcmp(why, "timed out") == 0)
            d.dead_port = port;
        cJSON *seen = cJSON_CreateObject();
        cJSON_AddStringToObject(seen, "probe", probes[i].name);
        cJSON_AddNumberToObject(seen, "port", port);
        cJSON_AddStringToObject(seen, "result", hit ? "found" : why[0] ? why : "no answer");
        cJSON_AddStringToObject(seen, "outcome",
                                hit       ? "found"
                                : skipped ? "skipped"
                                          : outcome_of(why));
        cJSON_AddItemToArray(d.probes, seen);
    }
    cJSON *answer = d.found;
    if (!answer) {
        answer = cJSON_CreateObject();
        cJSON_AddBoolToObject(answer, "found", false);
    }
    cJSON_AddStringToObject(answer, "host", d.host);
    if (d.port)
        cJSON_AddNumberToObject(answer, "port", d.port);
    cJSON_AddItemToObject(answer, "probes", d.probes);
    *json_out = cJSON_Print(answer);
    cJSON_Delete(answer);
    return *json_out ? 0 : BALKON_E_NOMEM;
}

static int browse_main(int timeout_ms)
{
    char msg[256];
    char *json;
    int rc = balkon_detect_browse(timeout_ms, &json, msg, sizeof msg);
    if (rc < 0) {
        fprintf(stderr, "balkonsolard detect --browse: %s\n",
                rc == BALKON_E_IO ? msg : balkon_strerror(rc));
        return 3;
    }
    cJSON *answer = cJSON_Parse(json);
    int count = cJSON_GetArraySize(cJSON_GetObjectItem(answer, "candidates"));
    cJSON_Delete(answer);
    printf("%s\n", json);
    free(json);
    if (count == 0)
        fprintf(stderr, "balkonsolard detect --browse: no device answered by mDNS\n");
    return count > 0 ? 0 : 1;
}

int balkon_detect_main(int argc, char **argv)
{
    int timeout_ms = 0; /* the default of a detection or a browse */
    const char *target = NULL;
    bool browse = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("Usage: balkonsolard detect [--timeout-ms N] HOST[:PORT]\n"
                   "       balkonsolard detect --browse [--timeout-ms N]\n"
                   "Probes the local APIs of the devices BalkonSolar knows (Shelly, OpenDTU,\n"
                   "AhoyDTU, Tasmota, ESPHome, Zendure, APsystems EZ1, Marstek, SunSpec over\n"
                   "Modbus TCP) at HOST and prints what answered as JSON: type, model,\n"
                   "firmware, a device config and a live reading. With :PORT every probe\n"
                   "uses that port. --browse lists the devices that announce themselves by\n"
                   "mDNS (_shelly._tcp, _http._tcp, _esphomelib._tcp) instead.\n"
                   "Exit status 0 found, 1 nothing found, 2 bad arguments, 3 browse failed.\n");
            return 0;
        }
        if (strcmp(argv[i], "--browse") == 0) {
            browse = true;
        } else if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc) {
            char *end;
            long value = strtol(argv[++i], &end, 10);
            if (*end || value < 50 || value > 30000) {
                fprintf(stderr,
                        "balkonsolard detect: --timeout-ms: must be 50 to 30000, got \"%s\"\n",
                        argv[i]);
                return 2;
            }
            timeout_ms = (int)value;
        } else if (argv[i][0] == '-' || target) {
            fprintf(stderr, "balkonsolard detect: unexpected argument \"%s\" (--help)\n", argv[i]);
            return 2;
        } else {
            target = argv[i];
        }
    }
    if (browse && target) {
        fprintf(stderr, "balkonsolard detect: --browse takes no address (got \"%s\")\n", target);
        return 2;
    }
    if (browse)
        return browse_main(timeout_ms);
    if (!target) {
        fprintf(stderr,
                "balkonsolard detect: which address? Usage: balkonsolard detect HOST[:PORT]\n");
        return 2;
    }
    char msg[256];
    char *json;
    int rc = balkon_detect_run(target, timeout_ms, &json, msg, sizeof msg);
    if (rc < 0) {
        fprintf(stderr, "balkonsolard detect: %s\n",
                rc == BALKON_E_INVAL ? msg : balkon_strerror(rc));
        return 2;
    }
    cJSON *answer = cJSON_Parse(json);
    bool hit = cJSON_IsTrue(cJSON_GetObjectItem(answer, "found"));
    cJSON_Delete(answer);
    printf("%s\n", json);
    if (!hit)
        fprintf(stderr, "balkonsolard detect: no known device answered at %s\n", target);
    free(json);
    return hit ? 0 : 1;
}
