/* Every configuration option, one row each. Validation, defaults, the redacted JSON of
 * GET /api/v1/config and docs/configuration.md all come from these rows. */
#include "config_schema.h"

#include "balkon/channel.h"
#include "balkon/driver.h"
#include "balkon/error.h"
#include "balkon/optimizer.h"
#include "balkon/provider.h"
#include "balkon/timeutil.h"
#include "balkon/url.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define FIELD(type, member) offsetof(type, member), sizeof(((type *)0)->member)

#define NUM(T, key, member, def, lo, hi, flags, unit, doc)                                         \
    {                                                                                              \
        key, CFG_NUMBER, FIELD(T, member), (flags) | CFG_HAS_MIN | CFG_HAS_MAX, lo, hi, def, NULL, \
            NULL, 0, unit, doc                                                                     \
    }
#define NUM_POS(T, key, member, def, hi, flags, unit, doc)                                         \
    NUM(T, key, member, def, 0, hi, (flags) | CFG_MIN_EXCL, unit, doc)
#define INT(T, key, member, def, lo, hi, flags, unit, doc)                                         \
    {                                                                                              \
        key, CFG_INT, FIELD(T, member), (flags) | CFG_HAS_MIN | CFG_HAS_MAX, lo, hi, def, NULL,    \
            NULL, 0, unit, doc                                                                     \
    }
#define BOOL(T, key, member, def, flags, doc)                                                      \
    {                                                                                              \
        key, CFG_BOOL, FIELD(T, member), flags, 0, 0, def, NULL, NULL, 0, NULL, doc                \
    }
#define STR(T, key, member, def, flags, doc)                                                       \
    {                                                                                              \
        key, CFG_STRING, FIELD(T, member), flags, 0, 0, def, NULL, NULL, 0, NULL, doc              \
    }
#define ENUM(T, key, member, def, choices, flags, doc)                                             \
    {                                                                                              \
        key, CFG_ENUM, FIELD(T, member), flags, 0, 0, def, choices, NULL, 0, NULL, doc             \
    }
#define OBJ(T, key, member, table, doc)                                                            \
    {                                                                                              \
        key, CFG_OBJECT, FIELD(T, member), 0, 0, 0, NULL, NULL, &table, 0, NULL, doc               \
    }
#define ARR(T, key, member, elem, count_member, lo, hi, def, table, doc)                           \
    {                                                                                              \
        key, CFG_ARRAY, offsetof(T, member), sizeof(elem), CFG_HAS_MIN | CFG_HAS_MAX, lo, hi, def, \
            NULL, &table, offsetof(T, count_member), NULL, doc                                     \
    }
#define TABLE(name, rows_, check_)                                                                 \
    static const struct cfg_table name = {rows_, sizeof rows_ / sizeof rows_[0], check_}

typedef struct balkon_config C;

/* --- site ------------------------------------------------------------------------- */
typedef __typeof__(((C *)0)->site) site_t;
/* The map's tiles: the dashboard's Content-Security-Policy allows images from their origin
 * (src/http/server.c), so the origin must be one a policy can name exactly, and the path
 * must have the three places the browser fills in. */
static void check_map_tiles_url(const site_t *site, const char *path,
                                struct balkon_config_errors *errors)
{
    const char *url = site->map_tiles_url;
    char source[200];
    struct balkon_url parsed;
    if (!url[0])
        return;
    if (balkon_url_csp_source(url, source, sizeof source) < 0)
        cfg_error(errors, path, "map_tiles_url",
                  "must be an http:// or https:// URL with a plain host name or address (no "
                  "user:pass@, no wildcard), like "
                  "\"https://tile.openstreetmap.org/{z}/{x}/{y}.png\", got \"%s\"",
                  url);
    else if (balkon_url_parse(url, &parsed) < 0 || !strstr(parsed.rest, "{z}") ||
             !strstr(parsed.rest, "{x}") || !strstr(parsed.rest, "{y}"))
        cfg_error(errors, path, "map_tiles_url",
                  "must have {z}, {x} and {y} in its path, like "
                  "\"https://tile.openstreetmap.org/{z}/{x}/{y}.png\", got \"%s\"",
                  url);
    else if (strpbrk(url, " \"'<>\\`"))
        cfg_error(errors, path, "map_tiles_url",
                  "must not contain spaces, quotes, '<', '>', '\\' or '`', got \"%s\"", url);
}

/* The place search: the daemon appends its own query (?name=…&count=…), so the URL has
 * none, and it is asked from the daemon, so only http and https. */
static void check_geocoder_url(const site_t *site, const char *path,
                               struct balkon_config_errors *errors)
{
    const char *url = site->geocoder_url;
    struct balkon_url parsed;
    char shown[96];
    if (!url[0])
        return;
    balkon_url_redact(url, shown, sizeof shown);
    if ((strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
        balkon_url_parse(url, &parsed) < 0)
        cfg_error(errors, path, "geocoder_url",
                  "must be an http:// or https:// URL like "
                  "\"https://geocoding-api.open-meteo.com/v1/search\", got \"%s\"",
                  shown);
    else if (parsed.has_userinfo)
        cfg_error(errors, path, "geocoder_url",
                  "must not hold a user name or password (user:pass@), got \"%s\"", shown);
    else if (strpbrk(parsed.rest, "?#"))
        cfg_error(errors, path, "geocoder_url",
                  "must not have a query or fragment (the daemon adds its own), got \"%s\"", shown);
}

static void check_site(const void *object, const char *path, struct balkon_config_errors *errors)
{
    const site_t *site = object;
    check_map_tiles_url(site, path, errors);
    check_geocoder_url(site, path, errors);
    if (!site->timezone[0])
        return;
    /* The zone must exist in the system's tz database, else localtime silently uses UTC. */
    char file[128];
    snprintf(file, sizeof file, "/usr/share/zoneinfo/%s", site->timezone);
    FILE *f = strstr(site->timezone, "..") ? NULL : fopen(file, "rb");
    if (!f)
        cfg_error(errors, path, "timezone",
                  "unknown time zone \"%s\" (expected e.g. \"Europe/Berlin\")", site->timezone);
    else
        fclose(f);
}
static const struct cfg_row site_rows[] = {
    STR(site_t, "name", name, "\"My balcony\"", 0, "A name for the site, shown on the dashboard."),
    NUM(site_t, "latitude", latitude_deg, "52.52", -90, 90, 0, "°",
        "Latitude of the modules, north positive."),
    NUM(site_t, "longitude", longitude_deg, "13.40", -180, 180, 0, "°",
        "Longitude of the modules, east positive."),
    STR(site_t, "timezone", timezone, "\"Europe/Berlin\"", CFG_RESTART,
        "IANA time zone for local times (household rhythm, day boundaries). Empty: the system's."),
    STR(site_t, "map_tiles_url", map_tiles_url,
        "\"https://tile.openstreetmap.org/{z}/{x}/{y}.png\"", 0,
        "Map tiles for picking the site on a map in the dashboard's setup and Settings: a "
        "{z}/{x}/{y} raster tile URL. The browser loads the tiles from there (the page's "
        "Content-Security-Policy allows images from this origin only); mind the server's usage "
        "policy. Empty: no map, only the latitude and longitude fields."),
    STR(site_t, "geocoder_url", geocoder_url, "\"https://geocoding-api.open-meteo.com/v1/search\"",
        0,
        "Place search for the setup (GET /api/v1/geocode): an Open-Meteo geocoding API the "
        "daemon asks with the place name typed in. Empty: no search."),
};
TABLE(site_table, site_rows, check_site);

/* --- pv ----------------------------------------------------------------------------- */
typedef struct balkon_plane_config plane_t;
static const struct cfg_row plane_rows[] = {
    STR(plane_t, "name", name, "\"plane\"", 0, "A name for this module plane."),
    NUM(plane_t, "tilt", tilt_deg, "35", 0, 90, 0, "°",
        "Tilt from horizontal: 0 flat, 90 vertical (railing)."),
    NUM(plane_t, "azimuth", azimuth_deg, "0", -180, 180, 0, "°",
        "Facing: 0 south, -90 east, 90 west, 180 north."),
    NUM_POS(plane_t, "peak_w", peak_w, NULL, 2000, CFG_REQUIRED, "Wp",
            "Peak DC power of the modules on this plane."),
};
TABLE(plane_table, plane_rows, NULL);

typedef __typeof__(((C *)0)->pv) pv_t;
static void check_pv(const void *object, const char *path, struct balkon_config_errors *errors)
{
    const pv_t *pv = object;
    double total_w = 0;
    for (size_t i = 0; i < pv->plane_count; i++)
        total_w += pv->planes[i].peak_w;
    /* German rules allow up to 2000 Wp of modules on a balcony plant. */
    if (total_w > 2000)
        cfg_error(errors, path, "planes", "total peak power must be <= 2000 Wp, got %g Wp",
                  total_w);
}
static const struct cfg_row pv_rows[] = {
    /* No default plane: a plane nobody has would be forecast and planned for. */
    ARR(pv_t, "planes", planes, plane_t, plane_count, 0, BALKON_MAX_PLANES, "[]", plane_table,
        "Module planes; balcony plants often have two facing different ways. None: the plans "
        "assume no solar (the simulator simulates none), and the PV forecasts that model planes "
        "(open_meteo, forecast_solar, sim_solar) are refused."),
    NUM(pv_t, "system_loss_pct", system_loss_pct, "10", 0, 50, 0, "%",
        "DC losses before the inverter: wiring, soiling, mismatch."),
};
TABLE(pv_table, pv_rows, check_pv);

/* --- inverter ----------------------------------------------------------------------- */
typedef __typeof__(((C *)0)->inverter) inverter_t;
static const struct cfg_row inverter_rows[] = {
    NUM_POS(inverter_t, "ac_limit_w", ac_limit_w, "800", 800, 0, "W",
            "AC cap on everything fed through the connection (German rule: 800 VA)."),
    NUM_POS(inverter_t, "efficiency_pct", efficiency_pct, "96", 100, 0, "%",
            "Micro-inverter DC to AC efficiency."),
};
TABLE(inverter_table, inverter_rows, NULL);

/* --- battery ------------------------------------------------------------------------ */
typedef __typeof__(((C *)0)->battery) battery_t;
static const char *const coupling_choices[] = {"ac", "dc", NULL};
static void check_battery(const void *object, const char *path, struct balkon_config_errors *errors)
{
    const battery_t *b = object;
    if (b->soc_min_pct >= b->soc_max_pct)
        cfg_error(errors, path, "soc_min_pct", "must be below soc_max_pct (%g), got %g",
                  b->soc_max_pct, b->soc_min_pct);
}
static const struct cfg_row battery_rows[] = {
    NUM(battery_t, "capacity_wh", capacity_wh, "2240", 0, 100000, CFG_MIN_EXCL, "Wh",
        "Usable capacity of the battery."),
    NUM(battery_t, "max_charge_w", max_charge_w, "800", 0, 10000, CFG_MIN_EXCL, "W",
        "Largest charging power (AC side)."),
    NUM(battery_t, "max_discharge_w", max_discharge_w, "800", 0, 10000, CFG_MIN_EXCL, "W",
        "Largest discharging power (AC side)."),
    NUM(battery_t, "charge_efficiency_pct", charge_efficiency_pct, "95", 50, 100, 0, "%",
        "Energy stored per energy taken in."),
    NUM(battery_t, "discharge_efficiency_pct", discharge_efficiency_pct, "95", 50, 100, 0, "%",
        "Energy delivered per energy drawn from the cells."),
    NUM(battery_t, "soc_min_pct", soc_min_pct, "10", 0, 100, 0, "%", "Never discharge below this."),
    NUM(battery_t, "soc_max_pct", soc_max_pct, "100", 0, 100, CFG_MIN_EXCL, "%",
        "Never charge above this."),
    ENUM(battery_t, "coupling", coupling, "\"ac\"", coupling_choices, 0,
         "\"ac\": on its own plug, can charge from the grid (Marstek Venus, SolarFlow AC); "
         "\"dc\": between modules and inverter, charges from PV only (Solarbank, SolarFlow)."),
};
TABLE(battery_table, battery_rows, check_battery);

/* --- household ---------------------------------------------------------------------- */
typedef __typeof__(((C *)0)->household) household_t;
static const struct cfg_row household_rows[] = {
    NUM_POS(household_t, "annual_kwh", annual_kwh, "3000", 100000, 0, "kWh",
            "Yearly consumption; scales the standard household profile."),
};
TABLE(household_table, household_rows, NULL);

/* --- simulation --------------------------------------------------------------------- */
typedef __typeof__(((C *)0)->simulation) simulation_t;
static void check_simulation(const void *object, const char *path,
                             struct balkon_config_errors *errors)
{
    const simulation_t *sim = object;
    int64_t ts_ms;
    int rc =
        sim->start[0] && strcmp(sim->start, "now") != 0 ? balkon_parse_time(sim->start, &ts_ms) : 0;
    if (rc == BALKON_E_RANGE)
        cfg_error(errors, path, "start",
                  "must be a time between the years 0000 and 9999 (Unix seconds from %.0f to "
                  "%.0f), got \"%.40s\"",
                  BALKON_TIME_MIN_S, BALKON_TIME_MAX_S, sim->start);
    else if (rc < 0)
        cfg_error(errors, path, "start",
                  "must be \"now\" or an ISO-8601 time like \"2026-06-21T04:00:00Z\", got \"%s\"",
                  sim->start);
}
static const struct cfg_row simulation_rows[] = {
    NUM(simulation_t, "speed", speed, "1", 1, 3600, CFG_RESTART, "×",
        "Simulated seconds per wall-clock second; 60 shows a day in 24 minutes."),
    STR(simulation_t, "start", start, "\"now\"", CFG_RESTART,
        "Simulated start time, \"now\" or ISO-8601. A restart resumes after the newest stored "
        "sample when that is later."),
    NUM(simulation_t, "step_s", step_s, "1", 0.1, 60, 0, "s",
        "Simulated time per physics step (a meter reading each)."),
    NUM(simulation_t, "cloudiness_pct", cloudiness_pct, "70", 0, 100, 0, "%",
        "Long-run mean cloud cover; 70 gives Berlin-like yields (about 1000 kWh per kWp and "
        "year)."),
    NUM(simulation_t, "initial_soc_pct", initial_soc_pct, "50", 0, 100, CFG_RESTART, "%",
        "Battery charge at start."),
    NUM(simulation_t, "battery_latency_s", battery_latency_s, "2", 0, 30, 0, "s",
        "How long the simulated battery takes to apply a new setpoint (real ones: 2-10 s)."),
    BOOL(simulation_t, "meter_enabled", meter_enabled, "true", 0,
         "false simulates a failed smart meter: no readings arrive (to see the control's "
         "failsafe)."),
    NUM(simulation_t, "plug_power_w", plug_power_w, "0", 0, 3000, CFG_RESTART, "W",
        "A simulated smart plug \"<id>-plug\" with this load behind it (0 = none): for trying out "
        "loads."),
    INT(simulation_t, "seed", seed, "1", 0, 9007199254740991.0, CFG_RESTART, NULL,
        "Random seed; the same seed replays the same weather and appliances."),
};
TABLE(simulation_table, simulation_rows, check_simulation);

/* --- devices ------------------------------------------------------------------------ */
typedef struct balkon_device_config device_t;
static void check_id(const char *id, const char *path, struct balkon_config_errors *errors)
{
    for (const char *c = id; *c; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '-')) {
            cfg_error(errors, path, "id",
                      "may contain only letters, digits, '_' and '-', got \"%s\"", id);
            return;
        }
    }
}

static void check_device(const void *object, const char *path, struct balkon_config_errors *errors)
{
    const device_t *device = object;
    check_id(device->id, path, errors);
    if (!device->type[0])
        return;
    const struct balkon_driver *driver = balkon_driver_find(device->type);
    if (!driver) {
        char types[400];
        balkon_driver_list_types(types, sizeof types);
        cfg_error(errors, path, "type", "unknown device type \"%s\" (known: %s)", device->type,
                  types);
        return;
    }
    if (driver->check)
        driver->check(device, path, errors);
}
static const struct cfg_row device_rows[] = {
    STR(device_t, "id", id, NULL, CFG_REQUIRED | CFG_NONEMPTY,
        "Unique id, used in the API and series names: letters, digits, '_', '-'."),
    STR(device_t, "type", type, NULL, CFG_REQUIRED | CFG_NONEMPTY | CFG_DEST,
        "Driver: see docs/devices.md for the types and the options each needs; \"simulator\" is a "
        "whole "
        "simulated site (meter, PV inverter and battery from the site, pv, inverter, battery and "
        "household sections)."),
    STR(device_t, "name", name, "\"\"", 0, "A display name."),
    STR(device_t, "host", host, "\"\"", CFG_DEST,
        "The device's address on the LAN (IP or host name); see docs/devices.md per type."),
    INT(device_t, "port", port, "0", 0, 65535, CFG_DEST, NULL, "Port; 0 = the protocol's default."),
    STR(device_t, "user", user, "\"\"", 0,
        "User name where the device asks for one (OpenDTU: \"admin\")."),
    STR(device_t, "password", password, "\"\"", CFG_SECRET, "Password, or \"env:NAME\"."),
    STR(device_t, "serial", serial, "\"\"", 0, "OpenDTU: the inverter's serial number."),
    INT(device_t, "channel", channel, "0", 0, 16, 0, NULL,
        "Shelly switch or meter channel, Tasmota relay (0 = the first)."),
    STR(device_t, "path", path, "\"\"", 0,
        "Generic HTTP meter: the URL path to read, e.g. \"/status\"."),
    STR(device_t, "power_key", power_key, "\"\"", 0,
        "Generic devices: where the power in W is in the reply, e.g. \"emeters[0].power\"."),
    STR(device_t, "protocol", protocol, "\"http\"", CFG_DEST,
        "Devices that speak both: \"http\" (polled) or \"mqtt\" (pushed through the mqtt section's "
        "broker)."),
    STR(device_t, "topic", topic, "\"\"", 0,
        "MQTT: Tasmota's %topic%, OpenDTU's base topic (\"solar\"), the generic device's state "
        "topic."),
    STR(device_t, "product_key", product_key, "\"\"", 0,
        "Zendure: the product key (serial holds the device key)."),
    STR(device_t, "role", role, "\"\"", 0,
        "What the device is, where its type leaves a choice: generic devices \"meter\" (the "
        "default), \"inverter\", \"battery\", \"plug\"; Shelly/Tasmota \"meter\" or \"plug\"; "
        "Marstek \"battery\" (the default) or \"battery+meter\" (also its CT meter). See "
        "docs/devices.md."),
    STR(device_t, "soc_key", soc_key, "\"\"", 0,
        "Generic batteries: where the state of charge in % is in the reply."),
    STR(device_t, "state_key", state_key, "\"\"", 0,
        "Generic plugs: where the on/off state is (true/false, 1/0, \"ON\"/\"OFF\")."),
    STR(device_t, "energy_key", energy_key, "\"\"", 0,
        "Home Assistant, ESPHome: the entity of the device's energy counter in Wh or kWh, e.g. "
        "\"sensor.plug_energy\"."),
    STR(device_t, "token", token, "\"\"", CFG_SECRET,
        "Home Assistant: a long-lived access token, or \"env:NAME\"."),
    STR(device_t, "command_topic", command_topic, "\"\"", 0,
        "Generic MQTT: the topic commands go to; \"{command}\" becomes the command name."),
    STR(device_t, "command_payload", command_payload, "\"{value}\"", 0,
        "Generic MQTT: the command's payload; \"{value}\" and \"{command}\" are replaced."),
    NUM(device_t, "power_scale", power_scale, "1", -1000000, 1000000, 0, NULL,
        "Generic devices: the power is multiplied by this (-1 flips the sign, 1000 turns kW into "
        "W)."),
    NUM(device_t, "poll_interval_s", poll_interval_s, "2", 0.5, 300, 0, "s",
        "How often an HTTP device is read."),
    NUM(device_t, "timeout_s", timeout_s, "3", 0.5, 60, 0, "s",
        "Timeout of one request to the device."),
    NUM(device_t, "max_power_w", max_power_w, "800", 0, 10000, 0, "W",
        "Inverters and batteries: the highest output limit the control may set."),
    NUM(device_t, "failsafe_s", failsafe_s, "60", 10, 3600, 0, "s",
        "Batteries whose setpoints can expire (marstek_venus, simulator): without a refresh from "
        "the daemon for this long the battery returns to its own mode; the daemon refreshes every "
        "third of it. See docs/devices.md, \"When the daemon dies\"."),
    STR(device_t, "registers", registers, "\"\"", 0,
        "modbus: the register map, entries \"name=[input:]address:type[*factor|:sfADDRESS]\" "
        "separated by commas, e.g. \"power_w=40087:int16:sf40091, energy_wh=input:30513:uint32\"; "
        "types int16, uint16, int32, uint32, float32 (32-bit: high word first, or with \"_sw\" "
        "low word first). See docs/devices.md, \"modbus\"."),
    INT(device_t, "unit_id", unit_id, "1", 0, 255, 0, NULL,
        "modbus, sunspec: the Modbus unit (slave) id."),
};
TABLE(device_table, device_rows, check_device);

typedef __typeof__(((C *)0)->devices) devices_t;

/* --- tariff ------------------------------------------------------------------------ */
typedef __typeof__(((C *)0)->tariff) tariff_t;
static void check_tariff(const void *object, const char *path, struct balkon_config_errors *errors)
{
    const tariff_t *tariff = object;
    const char *c = tariff->currency;
    if (strlen(c) != 3 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' || c[2] < 'A' ||
        c[2] > 'Z')
        cfg_error(errors, path, "currency", "must be a 3-letter code like \"EUR\", got \"%s\"", c);
}
static const struct cfg_row tariff_rows[] = {
    NUM(tariff_t, "feed_in_per_kwh", feed_in_per_kwh, "0", -1, 5, 0, "per kWh",
        "What exported energy earns; most balcony plants are not paid for export."),
    NUM(tariff_t, "import_per_kwh", import_per_kwh, "0.35", -5, 5, 0, "per kWh",
        "Price of imported energy when no price provider has data for a slot (all-in)."),
    STR(tariff_t, "currency", currency, "\"EUR\"", 0, "Currency of prices and savings."),
};
TABLE(tariff_table, tariff_rows, check_tariff);

/* --- optimizer ---------------------------------------------------------------------- */
typedef struct balkon_schedule_window window_t;
static void check_window(const void *object, const char *path, struct balkon_config_errors *errors)
{
    const window_t *w = object;
    if (balkon_parse_hhmm(w->from) < 0)
        cfg_error(errors, path, "from", "must be a time HH:MM, got \"%s\"", w->from);
    if (balkon_parse_hhmm(w->to) < 0)
        cfg_error(errors, path, "to", "must be a time HH:MM, got \"%s\"", w->to);
    enum balkon_opt_mode mode;
    if (balkon_opt_mode_parse(w->mode, &mode) < 0)
        cfg_error(errors, path, "mode",
                  "must be one of \"idle\", \"charge\", \"discharge\", \"hold\", \"grid_charge\", "
                  "got \"%s\"",
                  w->mode);
}
static const struct cfg_row window_rows[] = {
    STR(window_t, "from", from, NULL, CFG_REQUIRED, "Local start time HH:MM."),
    STR(window_t, "to", to, NULL, CFG_REQUIRED,
        "Local end time HH:MM (exclusive; before `from` wraps past midnight)."),
    STR(window_t, "mode", mode, NULL, CFG_REQUIRED,
        "Battery mode: \"idle\", \"charge\" (from surplus), \"discharge\" (cover the load), "
        "\"hold\", \"grid_charge\"."),
    NUM(window_t, "power_w", power_w, "0", 0, 10000, 0, "W",
        "Power limit of the mode; 0 = the battery's limit."),
};
TABLE(window_table, window_rows, check_window);

typedef __typeof__(((C *)0)->optimizer) optimizer_t;
static void check_optimizer(const void *object, const char *path,
                            struct balkon_config_errors *errors)
{
    const optimizer_t *o = object;
    if (!balkon_opt_strategy_find(o->strategy)) {
        /* The known names come from the strategy table (strategies_list.h). */
        char known[256] = "";
        size_t count;
        const struct balkon_opt_strategy *const *all = balkon_opt_strategies(&count);
        for (size_t i = 0; i < count; i++) {
            size_t len = strlen(known);
            snprintf(known + len, sizeof known - len, "%s\"%s\"", i ? ", " : "", all[i]->name);
        }
        cfg_error(errors, path, "strategy", "unknown strategy \"%s\" (known: %s)", o->strategy,
                  known);
    } else if (strcmp(o->strategy, "fixed_schedule") == 0 && o->schedule_count == 0)
        cfg_error(errors, path, "schedule",
                  "strategy \"fixed_schedule\" needs at least one window");
    if (o->soc_step_wh > 0 && o->soc_step_wh < 0.5)
        cfg_error(errors, path, "soc_step_wh",
                  "must be 0 (adaptive) or from 0.5 to 1000 Wh, got %g", o->soc_step_wh);
}
static const struct cfg_row optimizer_rows[] = {
    STR(optimizer_t, "strategy", strategy, "\"optimal\"", 0,
        "How the battery is planned: \"optimal\" (cheapest by dynamic programming), "
        "\"self_consumption\" (what vendor batteries do), \"fixed_schedule\" (the windows below). "
        "PUT /api/v1/strategy switches at run time."),
    NUM(optimizer_t, "horizon_h", horizon_h, "48", 1, 96, 0, "h",
        "How far ahead to plan (limited by the prices known)."),
    NUM(optimizer_t, "soc_step_wh", soc_step_wh, "0", 0, 1000, 0, "Wh",
        "Resolution of the optimal plan's state of charge; 0 = adaptive: capacity / 2000, at least "
        "0.5 Wh (1.12 Wh for 2.24 kWh, within 0.5 % of the exact optimum, a few ms per plan). "
        "Otherwise 0.5 to 1000."),
    NUM(optimizer_t, "wear_cost_per_kwh", wear_cost_per_kwh, "0.03", 0, 5, 0, "per kWh",
        "Battery wear per kWh moved in or out (purchase price / (2 × capacity × cycle life) is a "
        "fair estimate)."),
    BOOL(optimizer_t, "allow_grid_charge", allow_grid_charge, "false", 0,
         "Let the optimal plan charge an AC-coupled battery from the grid when prices make it "
         "worth it."),
    NUM(optimizer_t, "terminal_value_per_kwh", terminal_value_per_kwh, "-1", -1, 5, 0, "per kWh",
        "Value of energy left in the battery at the horizon's end; -1 = automatic (median import "
        "price × discharge efficiency)."),
    NUM(optimizer_t, "replan_interval_min", replan_interval_min, "15", 1, 60, 0, "min",
        "Replan this often (and at once when prices, the solar forecast or the config change)."),
    NUM(optimizer_t, "history_days", history_days, "56", 7, 365, 0, "days",
        "Household history the load forecast learns from."),
    NUM(optimizer_t, "scenario_after_h", scenario_after_h, "8", 0, 48, 0, "h",
        "Forecasts are wrong: from this many hours ahead the optimal plan weighs three outcomes "
        "(as forecast, more and less surplus, learnt from the site's own forecast errors) so "
        "that it keeps room for a sunnier day than forecast. 0 = plan on the forecast alone."),
    ARR(optimizer_t, "schedule", schedule, window_t, schedule_count, 0, BALKON_MAX_SCHEDULE_WINDOWS,
        "[]", window_table,
        "\"fixed_schedule\": windows of local time with a battery mode, e.g. hold until 17:00, "
        "then discharge. The first matching window wins; outside them, self-consumption."),
};
TABLE(optimizer_table, optimizer_rows, check_optimizer);

/* --- control ------------------------------------------------------------------------ */
typedef __typeof__(((C *)0)->control) control_t;
static void check_control(const void *object, const char *path, struct balkon_config_errors *errors)
{
    const control_t *c = object;
    if (c->safe_output_w > 800)
        cfg_error(errors, path, "safe_output_w", "must not exceed the 800 W feed-in cap, got %g",
                  c->safe_output_w);
}
static const struct cfg_row control_rows[] = {
    BOOL(control_t, "enabled", enabled, "true", 0,
         "Drive the battery second by second (zero export), in the mode the plan gives for each "
         "slot."),
    STR(control_t, "battery", battery, "\"\"", 0,
        "The battery device to drive (as in GET /api/v1/devices); empty = the first battery."),
    STR(control_t, "inverter", inverter, "\"\"", 0,
        "Drive this inverter's non-persistent limit instead of a battery (zero export without a "
        "controllable battery, or a DC-coupled battery behind an OpenDTU inverter); empty = drive "
        "the battery."),
    NUM(control_t, "target_grid_w", target_grid_w, "20", -800, 800, 0, "W",
        "Grid power to hold: a little import (+20) so that nothing flows out for free."),
    NUM(control_t, "deadband_w", deadband_w, "15", 0, 500, 0, "W",
        "Grid errors smaller than this change nothing."),
    NUM(control_t, "max_step_w", max_step_w, "800", 10, 2000, 0, "W",
        "Largest change of the battery's power per command."),
    NUM(control_t, "settle_s", settle_s, "3", 0, 60, 0, "s",
        "How long the battery takes to follow a command (its latency)."),
    NUM(control_t, "meter_stale_s", meter_stale_s, "15", 2, 600, 0, "s",
        "No meter reading for this long: failsafe."),
    NUM(control_t, "safe_output_w", safe_output_w, "0", 0, 800, 0, "W",
        "The battery's output in failsafe."),
    NUM(control_t, "min_battery_voltage_v", min_battery_voltage_v, "0", 0, 1000, 0, "V",
        "No discharge while the battery reports this voltage or less (until 0.5 V above); 0 = "
        "off."),
};
TABLE(control_table, control_rows, check_control);

/* --- loads -------------------------------------------------------------------------- */
typedef struct balkon_load_config load_t;
static void check_load(const void *object, const char *path, struct balkon_config_errors *errors)
{
    const load_t *l = object;
    check_id(l->id, path, errors);
    if (strcmp(l->mode, "surplus") != 0 && strcmp(l->mode, "cheap") != 0 &&
        strcmp(l->mode, "manual") != 0)
        cfg_error(errors, path, "mode",
                  "must be one of \"surplus\", \"cheap\", \"manual\", got \"%s\"", l->mode);
    if (balkon_parse_hhmm(l->earliest) < 0)
        cfg_error(errors, path, "earliest", "must be a time HH:MM, got \"%s\"", l->earliest);
    if (balkon_parse_hhmm(l->latest) < 0)
        cfg_error(errors, path, "latest", "must be a time HH:MM, got \"%s\"", l->latest);
    else if (balkon_parse_hhmm(l->earliest) >= 0 &&
             balkon_parse_hhmm(l->latest) - balkon_parse_hhmm(l->earliest) < l->run_min)
        cfg_error(errors, path, "latest", "leaves less than run_min (%g min) after earliest %s",
                  l->run_min, l->earliest);
}
static const struct cfg_row load_rows[] = {
    STR(load_t, "id", id, NULL, CFG_REQUIRED | CFG_NONEMPTY,
        "Unique id: letters, digits, '_', '-'."),
    STR(load_t, "name", name, "\"\"", 0, "A display name (\"Dishwasher\")."),
    STR(load_t, "plug", plug, NULL, CFG_REQUIRED | CFG_NONEMPTY,
        "The smart plug's device id, as in GET /api/v1/devices."),
    STR(load_t, "mode", mode, "\"surplus\"", 0,
        "\"surplus\" (run on solar surplus), \"cheap\" (run in the cheapest hours before "
        "`latest`), \"manual\" (only by hand)."),
    NUM(load_t, "power_w", power_w, "500", 1, 3600, 0, "W", "What the load draws while it runs."),
    NUM(load_t, "run_min", run_min, "0", 0, 1440, 0, "min",
        "Minutes it must run per day, finished by `latest`; 0 = only when there is surplus."),
    STR(load_t, "earliest", earliest, "\"00:00\"", 0,
        "Local time HH:MM before which it is not started automatically."),
    STR(load_t, "latest", latest, "\"23:59\"", 0,
        "Local time HH:MM by which run_min must be done."),
    NUM(load_t, "min_on_s", min_on_s, "600", 0, 86400, 0, "s",
        "Once on, stay on at least this long (automatic switching)."),
    NUM(load_t, "min_off_s", min_off_s, "300", 0, 86400, 0, "s",
        "Once off, stay off at least this long (automatic switching)."),
    NUM(load_t, "battery_priority_soc_pct", battery_priority_soc_pct, "80", 0, 100, 0, "%",
        "Below this battery charge, surplus charges the battery first."),
};
TABLE(load_table, load_rows, check_load);

/* --- appliances -------------------------------------------------------------------- */
typedef struct balkon_appliance_config appliance_t;
static void check_appliance(const void *object, const char *path,
                            struct balkon_config_errors *errors)
{
    const appliance_t *a = object;
    check_id(a->id, path, errors);
    int latest = balkon_parse_hhmm(a->latest);
    int earliest = a->earliest[0] ? balkon_parse_hhmm(a->earliest) : 0;
    if (latest < 0)
        cfg_error(errors, path, "latest", "must be a time HH:MM, got \"%s\"", a->latest);
    if (earliest < 0)
        cfg_error(errors, path, "earliest", "must be a time HH:MM or \"\" (now), got \"%s\"",
                  a->earliest);
    if (a->auto_start && !a->plug[0])
        cfg_error(errors, path, "auto_start",
                  "needs a plug (the smart plug's device id) to start the appliance");
}
/* An auto-started appliance's plug must not also be a load's: the loads module would
 * switch it back. */
static void check_appliance_plugs(const C *config, struct balkon_config_errors *errors)
{
    for (size_t i = 0; i < config->appliances.count; i++) {
        const appliance_t *a = &config->appliances.items[i];
        for (size_t j = 0; a->auto_start && j < config->loads.count; j++) {
            if (strcmp(a->plug, config->loads.items[j].plug) == 0) {
                char key[48];
                snprintf(key, sizeof key, "appliances[%zu].plug", i);
                cfg_error(errors, NULL, key,
                          "\"%s\" is also the plug of loads[%zu]; an auto-started appliance needs "
                          "a plug of its own",
                          a->plug, j);
            }
        }
    }
}
static const struct cfg_row appliance_rows[] = {
    STR(appliance_t, "id", id, NULL, CFG_REQUIRED | CFG_NONEMPTY,
        "Unique id: letters, digits, '_', '-'."),
    STR(appliance_t, "name", name, "\"\"", 0,
        "A display name, used in the recommendation (\"Dishwasher\")."),
    NUM(appliance_t, "duration_min", duration_min, NULL, 1, 1440, CFG_REQUIRED, "min",
        "How long one run takes."),
    NUM(appliance_t, "energy_kwh", energy_kwh, NULL, 0, 50, CFG_REQUIRED | CFG_MIN_EXCL, "kWh",
        "Energy of one run (taken as drawn evenly over the run)."),
    STR(appliance_t, "latest", latest, NULL, CFG_REQUIRED,
        "Local time HH:MM by which the run must be finished."),
    STR(appliance_t, "earliest", earliest, "\"\"", 0,
        "Local time HH:MM before which it should not start; \"\" = from now."),
    STR(appliance_t, "plug", plug, "\"\"", 0,
        "The smart plug it hangs on (device id, GET /api/v1/devices); \"\" = none."),
    BOOL(appliance_t, "auto_start", auto_start, "false", 0,
         "Switch the plug on at the recommended start and off after duration_min (needs plug; once "
         "per day)."),
};
TABLE(appliance_table, appliance_rows, check_appliance);

/* --- investment --------------------------------------------------------------------- */
typedef __typeof__(((C *)0)->investment) investment_t;
static void check_investment(const void *object, const char *path,
                             struct balkon_config_errors *errors)
{
    const investment_t *inv = object;
    int64_t ts_ms;
    if (inv->installed[0] &&
        (strlen(inv->installed) != 10 || balkon_parse_time(inv->installed, &ts_ms) < 0))
        cfg_error(errors, path, "installed", "must be a date YYYY-MM-DD, got \"%s\"",
                  inv->installed);
}
static const struct cfg_row investment_rows[] = {
    NUM(investment_t, "modules_price", modules_price, "0", 0, 100000, 0, NULL,
        "What the modules, inverter and mounting cost, in tariff.currency (for the payback "
        "estimate)."),
    NUM(investment_t, "battery_price", battery_price, "0", 0, 100000, 0, NULL,
        "What the battery cost."),
    STR(investment_t, "installed", installed, "\"\"", 0,
        "Installation date YYYY-MM-DD; empty = since the first measurement."),
};
TABLE(investment_table, investment_rows, check_investment);

/* --- providers ---------------------------------------------------------------------- */
typedef struct balkon_tou_zone zone_t;
static const struct cfg_row zone_rows[] = {
    STR(zone_t, "days", days, "\"daily\"", 0,
        "Days: \"daily\", \"mon-fri\", \"sat,sun\", \"mon,wed-fri\" (mon tue wed thu fri sat "
        "sun)."),
    STR(zone_t, "from", from, "\"00:00\"", 0, "Local start time HH:MM."),
    STR(zone_t, "to", to, "\"24:00\"", 0,
        "Local end time HH:MM (exclusive; before `from` wraps past midnight)."),
    NUM(zone_t, "price_per_kwh", price_per_kwh, NULL, -5, 5, CFG_REQUIRED, "per kWh",
        "Price in this zone, all-in."),
};
TABLE(zone_table, zone_rows, NULL);

typedef struct balkon_provider_config provider_t;
static void check_provider(const void *object, const char *path,
                           struct balkon_config_errors *errors)
{
    const provider_t *p = object;
    check_id(p->id, path, errors);
    if (!p->type[0])
        return;
    const struct balkon_provider *provider = balkon_provider_find(p->type);
    if (!provider) {
        char types[512];
        balkon_provider_list_types(types, sizeof types);
        cfg_error(errors, path, "type", "unknown provider type \"%s\" (known: %s)", p->type, types);
        return;
    }
    struct balkon_url url;
    char shown[96];
    balkon_url_redact(p->base_url, shown, sizeof shown);
    if (p->base_url[0] && strncmp(p->base_url, "http://", 7) != 0 &&
        strncmp(p->base_url, "https://", 8) != 0)
        cfg_error(errors, path, "base_url", "must start with http:// or https://, got \"%s\"",
                  shown);
    else if (p->base_url[0] && balkon_url_parse(p->base_url, &url) < 0)
        cfg_error(errors, path, "base_url",
                  "is not a URL like \"https://host:port/path\", got \"%s\"", shown);
    /* The request URL is shown in the provider's status and the log: a password in it would
     * be shown with it. Providers take their credential from "token". */
    else if (p->base_url[0] && url.has_userinfo)
        cfg_error(errors, path, "base_url",
                  "must not hold a user name or password (user:pass@), got \"%s\"; put the "
                  "credential in \"token\"",
                  shown);
    /* The provider appends its own path and query, so one here would only break the URL
     * (and a key in it would be shown in the provider's status). */
    else if (p->base_url[0] && strpbrk(url.rest, "?#"))
        cfg_error(errors, path, "base_url",
                  "must not have a query or fragment (the provider adds its own), got \"%s\"",
                  shown);
    /* A disabled provider may stay half-configured (no token yet); it is not run. */
    if (provider->check && p->enabled)
        provider->check(p, path, errors);
}
static const struct cfg_row provider_rows[] = {
    STR(provider_t, "id", id, NULL, CFG_REQUIRED | CFG_NONEMPTY,
        "Unique id, used in the API and the database: letters, digits, '_', '-'."),
    STR(provider_t, "type", type, NULL, CFG_REQUIRED | CFG_NONEMPTY | CFG_DEST,
        "Provider: see docs/providers.md for the types and the options each needs."),
    BOOL(provider_t, "enabled", enabled, "true", 0, "Fetch from this provider."),
    STR(provider_t, "base_url", base_url, "\"\"", CFG_URL | CFG_DEST,
        "Override the provider's API address (a proxy, or a test server). Empty: the public API."),
    STR(provider_t, "token", token, "\"\"", CFG_SECRET,
        "API token or key (Tibber, ENTSO-E, Solcast; optional for Forecast.Solar and Corrently)."),
    STR(provider_t, "area", area, "\"\"", 0,
        "aWATTar: \"de\"/\"at\"; Energy-Charts and ENTSO-E: bidding zone (\"DE-LU\", \"AT\", "
        "\"DK1\"; ENTSO-E also an EIC code); Octopus: region letter A-P; Energy-Charts signal "
        "(optional) and Corrently: postal code."),
    STR(provider_t, "product", product, "\"\"", 0,
        "Octopus product code, e.g. \"AGILE-24-10-01\"."),
    STR(provider_t, "site_id", site_id, "\"\"", 0,
        "Solcast: rooftop site resource id. Tibber: optional home id (the first home otherwise)."),
    NUM(provider_t, "charges_per_kwh", charges_per_kwh, "0", -1, 5, 0, "per kWh",
        "Added to market prices before VAT: grid fees, levies, supplier margin."),
    NUM(provider_t, "vat_pct", vat_pct, "19", 0, 100, 0, "%",
        "VAT applied to market price plus charges (not to all-in prices like Tibber's)."),
    NUM(provider_t, "price_per_kwh", price_per_kwh, "0", -5, 5, 0, "per kWh",
        "\"fixed\": the all-in price."),
    ARR(provider_t, "zones", zones, zone_t, zone_count, 0, BALKON_MAX_TOU_ZONES, "[]", zone_table,
        "\"tou\": the time-of-use zones; a later zone overrides an earlier one where they "
        "overlap."),
    NUM(provider_t, "interval_min", interval_min, "0", 0, 1440, 0, "min",
        "Fetch interval for forecasts and signals; 0 = the provider's default (respecting its rate "
        "limit)."),
    NUM(provider_t, "timeout_s", timeout_s, "20", 1, 120, 0, "s",
        "Overall timeout of one request."),
};
TABLE(provider_table, provider_rows, check_provider);

/* --- http --------------------------------------------------------------------------- */
typedef __typeof__(((C *)0)->http) http_t;
/* http.trusted_proxies, http.tls* (the HTTP server's security settings, one block). */
static const char *const tls_choices[] = {"off", "on", "auto", NULL};
static void check_http_security(const http_t *http, const char *path,
                                struct balkon_config_errors *errors)
{
    char list[sizeof http->trusted_proxies];
    snprintf(list, sizeof list, "%s", http->trusted_proxies);
    for (char *save = NULL, *item = strtok_r(list, ", ", &save); item;
         item = strtok_r(NULL, ", ", &save)) {
        char *slash = strchr(item, '/');
        int bits_max = strchr(item, ':') ? 128 : 32, bits = bits_max;
        char tail;
        if (slash && (sscanf(slash + 1, "%d%c", &bits, &tail) != 1 || bits < 0 || bits > bits_max))
            bits = -1;
        if (slash)
            *slash = '\0';
        unsigned char bytes[16];
        if (bits < 0 || inet_pton(bits_max == 128 ? AF_INET6 : AF_INET, item, bytes) != 1) {
            cfg_error(errors, path, "trusted_proxies",
                      "must be IP addresses or CIDR blocks separated by commas (like "
                      "\"127.0.0.1, 10.0.0.0/8, fd00::/8\"), got \"%s\"",
                      http->trusted_proxies);
            break;
        }
    }
    if (strcmp(http->tls, "on") == 0 && (!http->tls_cert[0] || !http->tls_key[0]))
        cfg_error(errors, path, "tls",
                  "\"on\" needs http.tls_cert and http.tls_key (PEM files); \"auto\" makes a "
                  "self-signed certificate");
    if (!http->tls_cert[0] != !http->tls_key[0])
        cfg_error(errors, path, http->tls_cert[0] ? "tls_key" : "tls_cert",
                  "http.tls_cert and http.tls_key go together");
}
static void check_http(const void *object, const char *path, struct balkon_config_errors *errors)
{
    const http_t *http = object;
    const char *colon = strrchr(http->listen, ':');
    int port = -1;
    char tail;
    if (!colon || colon == http->listen || sscanf(colon + 1, "%d%c", &port, &tail) != 1 ||
        port < 0 || port > 65535)
        cfg_error(errors, path, "listen", "must be ADDRESS:PORT like \"0.0.0.0:8080\", got \"%s\"",
                  http->listen);
    /* Names only: letters, digits, '-', '.', separated by commas and optional spaces. */
    for (const char *c = http->allowed_hosts; *c; c++) {
        if (!isalnum((unsigned char)*c) && !strchr("-., ", *c)) {
            cfg_error(errors, path, "allowed_hosts",
                      "must be host names separated by commas (letters, digits, '-' and '.'), got "
                      "'%c' in \"%s\"",
                      *c, http->allowed_hosts);
            break;
        }
    }
    check_http_security(http, path, errors);
}
static const struct cfg_row http_rows[] = {
    STR(http_t, "listen", listen, "\"127.0.0.1:8080\"", CFG_RESTART,
        "Address and port of the dashboard and API. \"0.0.0.0:8080\" to reach it from the LAN; "
        "port 0 picks a free one."),
    INT(http_t, "max_body_bytes", max_body_bytes, "65536", 1024, 1048576, 0, "B",
        "Largest request body accepted; larger ones get 413."),
    BOOL(
        http_t, "read_without_login", read_without_login, "false", 0,
        "Whether the dashboard and the API's GET answers may be read without logging in. Every "
        "change (config, commands, strategy, plugs, tokens) always needs a login or an API token."),
    STR(http_t, "allowed_hosts", allowed_hosts, "\"\"", 0,
        "Host names the dashboard may be reached by, comma-separated (e.g. "
        "\"balkon.example.net\"), besides IP addresses, localhost and this machine's name (NAME, "
        "NAME.local, NAME.lan, NAME.home.arpa, NAME.fritz.box). Requests naming another host get "
        "403: this stops DNS-rebinding attacks from web pages."),
    INT(http_t, "session_days", session_days, "30", 1, 365, 0, "d",
        "A login stays valid this many days after its last use."),
    /* HTTP security (sec15b) */
    STR(http_t, "trusted_proxies", trusted_proxies, "\"\"", 0,
        "Reverse proxies (addresses or CIDR blocks, comma-separated) whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed: the last address in X-Forwarded-For that is not a "
        "trusted proxy is the client (for login delays and the log). Empty: none."),
    ENUM(http_t, "tls", tls, "\"off\"", tls_choices, CFG_RESTART,
         "HTTPS: \"on\" with http.tls_cert and http.tls_key, \"auto\" with a self-signed "
         "certificate made on first start beside the database (its SHA-256 fingerprint is "
         "logged and shown by `balkonsolard --show-cert`), \"off\" for plain HTTP."),
    STR(http_t, "tls_cert", tls_cert, "\"\"", CFG_RESTART,
        "PEM certificate (chain) for http.tls \"on\" (or \"auto\" to use this one)."),
    STR(http_t, "tls_key", tls_key, "\"\"", CFG_RESTART, "PEM private key for http.tls_cert."),
    BOOL(http_t, "hsts", hsts, "false", 0,
         "Send Strict-Transport-Security over HTTPS (browsers then refuse plain HTTP to this "
         "host for a year: only with a certificate they trust)."),
};
TABLE(http_table, http_rows, check_http);

/* --- mqtt --------------------------------------------------------------------------- */
typedef __typeof__(((C *)0)->mqtt) mqtt_t;
static void check_mqtt(const void *object, const char *path, struct balkon_config_errors *errors)
{
    const mqtt_t *mqtt = object;
    if (mqtt->enabled && !mqtt->host[0])
        cfg_error(errors, path, "host", "is required when mqtt.enabled is true");
    /* Topic prefixes: one or more levels, no wildcards, no empty level at either end. */
    const char *prefixes[2][2] = {{"prefix", mqtt->prefix},
                                  {"discovery_prefix", mqtt->discovery_prefix}};
    for (int i = 0; i < 2; i++) {
        const char *p = prefixes[i][1];
        size_t len = strlen(p);
        if (strpbrk(p, "+#") || p[0] == '/' || (len && p[len - 1] == '/') || strstr(p, "//"))
            cfg_error(
                errors, path, prefixes[i][0],
                "must be topic levels without wildcards or empty levels, like \"balkonsolar\" or "
                "\"home/solar\", got \"%s\"",
                p);
    }
}
/* All restart-only: drivers hold subscriptions on the one client, which is made at start. */
static const struct cfg_row mqtt_rows[] = {
    BOOL(mqtt_t, "enabled", enabled, "false", CFG_RESTART,
         "Connect to an MQTT broker, for devices that talk MQTT (protocol \"mqtt\")."),
    STR(mqtt_t, "host", host, "\"\"", CFG_RESTART | CFG_DEST,
        "The broker's address; an IP address is best (a name is resolved on the daemon's loop)."),
    INT(mqtt_t, "port", port, "1883", 1, 65535, CFG_RESTART | CFG_DEST, NULL,
        "The broker's port (plain MQTT, no TLS)."),
    STR(mqtt_t, "user", user, "\"\"", CFG_RESTART, "User name, if the broker asks for one."),
    STR(mqtt_t, "password", password, "\"\"", CFG_SECRET | CFG_RESTART,
        "Password, if the broker asks for one."),
    STR(mqtt_t, "client_id", client_id, "\"balkonsolar\"", CFG_RESTART | CFG_NONEMPTY,
        "Client id; unique on the broker (a second client with the same id pushes us off)."),
    INT(mqtt_t, "keepalive_s", keepalive_s, "30", 5, 600, CFG_RESTART, "s",
        "Ping interval when nothing else is sent; a broker that stops answering is noticed within "
        "about twice this."),
    STR(mqtt_t, "prefix", prefix, "\"balkonsolar\"", CFG_RESTART | CFG_NONEMPTY,
        "Our topics: <prefix>/status (online/offline, the last will) and <prefix>/state/... "
        "(docs/mqtt.md)."),
    BOOL(mqtt_t, "ha_discovery", ha_discovery, "true", CFG_RESTART,
         "Publish Home Assistant MQTT discovery configs, so every entity appears in Home Assistant "
         "by itself."),
    STR(mqtt_t, "discovery_prefix", discovery_prefix, "\"homeassistant\"",
        CFG_RESTART | CFG_NONEMPTY,
        "Home Assistant's discovery prefix (its MQTT integration's setting)."),
    NUM(mqtt_t, "publish_interval_s", publish_interval_s, "10", 1, 3600, 0, "s",
        "Live state is published at most this often (wall clock), and at least as often when it "
        "changes."),
};
TABLE(mqtt_table, mqtt_rows, check_mqtt);

/* --- notifications ------------------------------------------------------------------ */
static const char *const severity_choices[] = {"info", "warning", "critical", NULL};
typedef struct balkon_notify_channel_config channel_t;
static void check_channel(const void *object, const char *path, struct balkon_config_errors *errors)
{
    const channel_t *c = object;
    check_id(c->id, path, errors);
    const struct notify_channel_type *type = notify_channel_find(c->type);
    if (type && type->check)
        type->check(c, path, errors);
}
static const struct cfg_row channel_rows[] = {
    STR(channel_t, "id", id, NULL, CFG_REQUIRED | CFG_NONEMPTY,
        "Unique id: letters, digits, '_', '-'."),
    ENUM(channel_t, "type", type, NULL, notify_channel_types, CFG_REQUIRED | CFG_DEST,
         "\"ntfy\", \"telegram\", \"pushover\", \"gotify\", \"webhook\" (JSON POST), \"email\" "
         "(SMTP) or \"mqtt\"."),
    STR(channel_t, "url", url, "\"\"", CFG_URL | CFG_DEST,
        "Server: ntfy \"https://ntfy.sh\", gotify \"http://gotify.lan\", webhook the full URL, "
        "email \"smtp://mail.example.org:587\"; telegram/pushover: API base (empty = the public "
        "API)."),
    STR(channel_t, "token", token, "\"\"", CFG_SECRET,
        "Telegram bot token, Pushover application token, Gotify application token, ntfy access "
        "token (optional)."),
    STR(channel_t, "chat_id", chat_id, "\"\"", 0, "Telegram: the chat to write to."),
    STR(channel_t, "user", user, "\"\"", 0,
        "Pushover: the user key. Email: the SMTP login (empty = none)."),
    STR(channel_t, "password", password, "\"\"", CFG_SECRET, "Email: the SMTP password."),
    STR(channel_t, "to", to, "\"\"", 0, "Email: the recipient's address."),
    STR(channel_t, "from", from, "\"\"", 0, "Email: the sender's address."),
    STR(channel_t, "topic", topic, "\"\"", CFG_SECRET,
        "ntfy: the topic. mqtt: the topic published to (on the broker of the mqtt section)."),
    ENUM(channel_t, "min_severity", min_severity, "\"info\"", severity_choices, 0,
         "Least severe alert sent here: \"info\", \"warning\" or \"critical\"."),
};
TABLE(channel_table, channel_rows, check_channel);

typedef __typeof__(((C *)0)->notifications.rules) rules_t;
static void check_rules(const void *object, const char *path, struct balkon_config_errors *errors)
{
    const rules_t *r = object;
    if (balkon_parse_hhmm(r->daily_summary_at) < 0 ||
        balkon_parse_hhmm(r->daily_summary_at) >= 24 * 60)
        cfg_error(errors, path, "daily_summary_at", "must be a time HH:MM, got \"%s\"",
                  r->daily_summary_at);
}
static const struct cfg_row rules_rows[] = {
    BOOL(rules_t, "device_offline", device_offline, "true", 0,
         "Warn when a device goes offline (and when it is back)."),
    BOOL(rules_t, "meter_stale", meter_stale, "true", 0,
         "Critical: no meter data, the control is in failsafe."),
    BOOL(rules_t, "battery_empty", battery_empty, "true", 0,
         "Tell when the battery reaches battery.soc_min."),
    BOOL(rules_t, "battery_full", battery_full, "false", 0,
         "Tell when the battery reaches battery.soc_max."),
    BOOL(rules_t, "battery_not_charging", battery_not_charging, "true", 0,
         "Warn when surplus flows to the grid while the battery has room and does not charge (for "
         "not_charging_min)."),
    NUM(rules_t, "not_charging_min", not_charging_min, "10", 1, 1440, 0, "min",
        "How long surplus may be exported past a battery with room before it is reported."),
    BOOL(rules_t, "export_cap", export_cap, "false", 0,
         "Tell when the inverter output reaches inverter.ac_limit_w (minus the margin)."),
    NUM(rules_t, "export_cap_margin_w", export_cap_margin_w, "20", 0, 800, 0, "W",
        "How close to the AC limit counts as reached."),
    BOOL(rules_t, "negative_price", negative_price, "true", 0,
         "Tell when a price in the next 24 h is below zero."),
    BOOL(rules_t, "price_spike", price_spike, "true", 0,
         "Warn when a price in the next 24 h exceeds price_spike_factor × the median."),
    NUM(rules_t, "price_spike_factor", price_spike_factor, "2", 1.1, 100, 0, "×",
        "What counts as a spike, relative to the median price of the next 24 h."),
    BOOL(rules_t, "cheap_window", cheap_window, "false", 0,
         "Tell when a slot in the cheapest quarter of the next 24 h starts."),
    BOOL(rules_t, "provider_failing", provider_failing, "true", 0,
         "Warn when a provider has failed for longer than provider_failing_min."),
    NUM(rules_t, "provider_failing_min", provider_failing_min, "60", 0, 10080, 0, "min",
        "How long a provider may fail before it is reported."),
    BOOL(rules_t, "optimizer_fallback", optimizer_fallback, "true", 0,
         "Warn when the planner falls back to plain self-consumption."),
    BOOL(rules_t, "storage_failing", storage_failing, "true", 0,
         "Alert when measurements cannot be written (disk full, failing SD card), and when writing "
         "works again."),
    BOOL(rules_t, "recommendations", recommendations, "true", 0,
         "Tell the appliances' recommended start times (\"start the washing machine at 13:15: 0.35 "
         "EUR cheaper\") when they change."),
    BOOL(rules_t, "daily_summary", daily_summary, "false", 0,
         "Send a summary of the day (energy, saving, tomorrow's plan)."),
    STR(rules_t, "daily_summary_at", daily_summary_at, "\"21:00\"", 0,
        "Local time HH:MM of the daily summary."),
};
TABLE(rules_table, rules_rows, check_rules);

typedef __typeof__(((C *)0)->notifications) notifications_t;
static void check_notifications(const void *object, const char *path,
                                struct balkon_config_errors *errors)
{
    const notifications_t *n = object;
    if (balkon_parse_hhmm(n->quiet_hours_from) < 0)
        cfg_error(errors, path, "quiet_hours_from", "must be a time HH:MM, got \"%s\"",
                  n->quiet_hours_from);
    if (balkon_parse_hhmm(n->quiet_hours_to) < 0)
        cfg_error(errors, path, "quiet_hours_to", "must be a time HH:MM, got \"%s\"",
                  n->quiet_hours_to);
}
static const struct cfg_row notifications_rows[] = {
    BOOL(notifications_t, "enabled", enabled, "false", 0,
         "Watch the alert rules and send what they find through the channels."),
    STR(notifications_t, "quiet_hours_from", quiet_hours_from, "\"00:00\"", 0,
        "Local start HH:MM of the quiet hours, in which only critical alerts are sent (equal to "
        "quiet_hours_to: none)."),
    STR(notifications_t, "quiet_hours_to", quiet_hours_to, "\"00:00\"", 0,
        "Local end HH:MM of the quiet hours (exclusive; before the start wraps past midnight)."),
    INT(notifications_t, "max_per_hour", max_per_hour, "20", 1, 1000, 0, NULL,
        "At most this many alerts are sent per hour (all channels together count one per alert); "
        "the rest are only stored."),
    ARR(notifications_t, "channels", channels, channel_t, channel_count, 0,
        BALKON_MAX_NOTIFY_CHANNELS, "[]", channel_table, "Where alerts are sent."),
    OBJ(notifications_t, "rules", rules, rules_table,
        "Which alerts are watched for, and their thresholds."),
};
TABLE(notifications_table, notifications_rows, check_notifications);

/* --- storage ------------------------------------------------------------------------ */
typedef __typeof__(((C *)0)->storage) storage_t;
static const struct cfg_row storage_rows[] = {
    STR(storage_t, "path", path, "\"balkonsolar.db\"", CFG_RESTART | CFG_NONEMPTY,
        "SQLite database file (--db overrides)."),
    NUM(storage_t, "flush_interval_s", flush_interval_s, "5", 0.5, 60, 0, "s",
        "Buffered samples are written at least this often (wall-clock)."),
    NUM(storage_t, "sample_interval_s", sample_interval_s, "5", 1, 300, 0, "s",
        "Measurements are averaged and stored once per interval (simulated time)."),
    INT(storage_t, "raw_retention_days", raw_retention_days, "7", 1, 3650, 0, "d",
        "Raw samples are kept this long, then only their roll-ups."),
    INT(storage_t, "rollup_5m_retention_days", rollup_5m_retention_days, "180", 1, 36500, 0, "d",
        "5-minute roll-ups are kept this long."),
    INT(storage_t, "rollup_1h_retention_days", rollup_1h_retention_days, "3650", 1, 36500, 0, "d",
        "1-hour roll-ups are kept this long."),
    INT(storage_t, "forecast_retention_days", forecast_retention_days, "90", 1, 3650, 0, "d",
        "Solar and load forecasts (every issue of every slot, for the accuracy report) are kept "
        "this long after their slot."),
    INT(storage_t, "command_log_retention_days", command_log_retention_days, "30", 1, 3650, 0, "d",
        "Commands sent to devices are kept this long in the command log."),
};
TABLE(storage_table, storage_rows, NULL);

/* --- log ---------------------------------------------------------------------------- */
typedef __typeof__(((C *)0)->log) log_t;
static const char *const level_choices[] = {"error", "warn", "notice", "info", "debug", NULL};
static const struct cfg_row log_rows[] = {
    ENUM(log_t, "level", level, "\"info\"", level_choices, 0,
         "Least important level logged (--log-level overrides)."),
};
TABLE(log_table, log_rows, NULL);

/* --- root --------------------------------------------------------------------------- */
/* Ids must be unique within their list: they name rows in the database. */
static void check_unique(const char *list, const char *field, const char *first_id, size_t stride,
                         size_t count, struct balkon_config_errors *errors)
{
    for (size_t i = 0; i < count; i++) {
        const char *id = first_id + i * stride;
        for (size_t j = 0; j < i && id[0]; j++) {
            if (strcmp(id, first_id + j * stride) == 0) {
                char key[48];
                snprintf(key, sizeof key, "%s[%zu].%s", list, i, field);
                cfg_error(errors, NULL, key, "duplicate %s \"%s\" (also %s[%zu])", field, id, list,
                          j);
                break;
            }
        }
    }
}

/* A schedule window the plan cannot follow is refused, not drawn and then planned at 0 W:
 * grid charging that is not allowed, or more power than the battery takes or gives. */
static void check_windows(const C *config, struct balkon_config_errors *errors)
{
    const optimizer_t *o = &config->optimizer;
    for (size_t i = 0; i < o->schedule_count; i++) {
        const window_t *w = &o->schedule[i];
        char path[48];
        snprintf(path, sizeof path, "optimizer.schedule[%zu]", i);
        bool grid = strcmp(w->mode, "grid_charge") == 0;
        if (grid && !o->allow_grid_charge)
            cfg_error(errors, path, "mode",
                      "needs optimizer.allow_grid_charge true, or the window plans 0 W");
        bool charging = grid || strcmp(w->mode, "charge") == 0;
        double limit_w = charging                            ? config->battery.max_charge_w
                         : strcmp(w->mode, "discharge") == 0 ? config->battery.max_discharge_w
                                                             : INFINITY;
        if (w->power_w > limit_w)
            cfg_error(errors, path, "power_w", "must be <= %g (battery.%s), got %g", limit_w,
                      charging ? "max_charge_w" : "max_discharge_w", w->power_w);
    }
}

/* A forecast modelling the modules has nothing to model without planes. */
static void check_planes_needed(const C *config, struct balkon_config_errors *errors)
{
    if (config->pv.plane_count > 0)
        return;
    for (size_t i = 0; i < config->providers.count; i++) {
        const struct balkon_provider_config *p = &config->providers.items[i];
        const struct balkon_provider *provider = balkon_provider_find(p->type);
        if (p->enabled && provider && provider->needs_planes)
            cfg_error(errors, NULL, "pv.planes",
                      "needs at least one plane: providers[%zu] (type \"%s\") forecasts "
                      "per plane",
                      i, provider->type);
    }
}

static void check_root(const void *object, const char *path, struct balkon_config_errors *errors)
{
    const C *config = object;
    check_unique("devices", "id", config->devices.items[0].id, sizeof config->devices.items[0],
                 config->devices.count, errors);
    check_unique("providers", "id", config->providers.items[0].id,
                 sizeof config->providers.items[0], config->providers.count, errors);
    check_unique("notifications.channels", "id", config->notifications.channels[0].id,
                 sizeof config->notifications.channels[0], config->notifications.channel_count,
                 errors);
    for (size_t i = 0; i < config->notifications.channel_count; i++)
        if (strcmp(config->notifications.channels[i].type, "mqtt") == 0 && !config->mqtt.enabled) {
            char key[64];
            snprintf(key, sizeof key, "notifications.channels[%zu].type", i);
            cfg_error(errors, NULL, key,
                      "\"mqtt\" needs the mqtt section enabled (mqtt.enabled true)");
        }
    check_unique("loads", "id", config->loads.items[0].id, sizeof config->loads.items[0],
                 config->loads.count, errors);
    check_unique("loads", "plug", config->loads.items[0].plug, sizeof config->loads.items[0],
                 config->loads.count, errors);
    check_unique("appliances", "id", config->appliances.items[0].id,
                 sizeof config->appliances.items[0], config->appliances.count, errors);
    check_appliance_plugs(config, errors);
    check_planes_needed(config, errors);
    check_windows(config, errors);
}
static const struct cfg_row root_rows[] = {
    OBJ(C, "site", site, site_table, "Where the plant is."),
    OBJ(C, "pv", pv, pv_table, "The modules."),
    OBJ(C, "inverter", inverter, inverter_table, "The micro-inverter and the connection's AC cap."),
    OBJ(C, "battery", battery, battery_table, "The home battery."),
    OBJ(C, "household", household, household_table, "The household's consumption."),
    OBJ(C, "simulation", simulation, simulation_table,
        "The simulated clock and weather (demo and tests)."),
    ARR(C, "devices", devices.items, device_t, devices.count, 0, BALKON_MAX_DEVICES, "[]",
        device_table, "Devices the daemon reads and drives."),
    OBJ(C, "tariff", tariff, tariff_table, "What energy costs and earns."),
    OBJ(C, "optimizer", optimizer, optimizer_table, "How the battery is planned."),
    OBJ(C, "investment", investment, investment_table,
        "What the plant cost, for savings and payback."),
    OBJ(C, "control", control, control_table, "The real-time control of the battery."),
    ARR(C, "loads", loads.items, load_t, loads.count, 0, BALKON_MAX_LOADS, "[]", load_table,
        "Deferrable loads behind smart plugs (dishwasher, heater, pump), switched by surplus, "
        "price or deadline."),
    ARR(C, "appliances", appliances.items, appliance_t, appliances.count, 0, BALKON_MAX_APPLIANCES,
        "[]", appliance_table,
        "Appliances you start yourself (washing machine, dishwasher): the API, dashboard and "
        "notifications recommend the cheapest, sunniest start."),
    ARR(C, "providers", providers.items, provider_t, providers.count, 0, BALKON_MAX_PROVIDERS, "[]",
        provider_table, "Sources of electricity prices, solar forecasts and grid signals."),
    OBJ(C, "http", http, http_table, "The dashboard and REST API."),
    OBJ(C, "mqtt", mqtt, mqtt_table, "The MQTT broker that MQTT devices talk through."),
    OBJ(C, "notifications", notifications, notifications_table,
        "Alerts and where they are sent (docs/notifications.md)."),
    OBJ(C, "storage", storage, storage_table, "The SQLite database."),
    OBJ(C, "log", log, log_table, "Logging."),
};
const struct cfg_table balkon_config_root = {root_rows, sizeof root_rows / sizeof root_rows[0],
                                             check_root};
