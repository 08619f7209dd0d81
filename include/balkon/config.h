/* Configuration: one JSON file, loaded and validated against one table of rows.
 *
 * The table (src/core/config_table.c) names every option with its JSON path, type,
 * default, bounds and documentation. The same table validates the file, fills
 * struct balkon_config, writes the redacted JSON for GET /api/v1/config and generates
 * docs/configuration.md (`balkonsolard --config-doc`), so the three never disagree.
 *
 * Comments (// and slash-star) are allowed in the file. Secret options accept
 * "env:NAME" to take the value from the environment variable NAME. */
#ifndef BALKON_CONFIG_H
#define BALKON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BALKON_MAX_PLANES 8
#define BALKON_MAX_DEVICES 16

struct balkon_plane_config {
    char name[32];
    double tilt_deg;
    double azimuth_deg; /* 0 = south, -90 = east, 90 = west */
    double peak_w;
};

struct balkon_device_config {
    char id[32];
    char type[32];
    char name[64];
    char host[128];       /* address on the LAN: "192.168.1.50" or "shelly-em.local" */
    int64_t port;         /* 0 = the protocol's default */
    char user[64];
    char password[128];   /* secret */
    char serial[64];      /* OpenDTU: the inverter's serial; Zendure: the device key */
    int64_t channel;      /* Shelly switch/EM channel, Tasmota relay number */
    char path[256];       /* generic HTTP meter: URL path; generic MQTT: topic */
    char power_key[128];  /* generic devices: where the power is in the JSON ("a.b[0].c") */
    char protocol[8];     /* "http" or "mqtt" for devices that speak both (Tasmota, OpenDTU) */
    char topic[128];      /* MQTT: the device's topic (Tasmota %topic%, OpenDTU base, generic state topic) */
    char product_key[32]; /* Zendure: the product key of the topic */
    char role[16];        /* generic devices: "meter", "inverter", "battery" or "plug" */
    char soc_key[128];    /* generic devices: where the SoC in % is */
    char state_key[128];  /* generic plugs: where the on/off state is */
    char command_topic[128];   /* generic MQTT: "{command}" is replaced, e.g. "home/plug/set" */
    char command_payload[128]; /* generic MQTT: "{value}" and "{command}" are replaced */
    double power_scale;   /* generic devices: multiply the power by this (-1 flips the sign, 1000 for kW) */
    double poll_interval_s;
    double timeout_s;
    double max_power_w;   /* inverters and batteries: the highest limit we may set */
};

#define BALKON_MAX_PROVIDERS 12
#define BALKON_MAX_LOADS 8

/* A deferrable load behind a smart plug: switched by surplus, cheap prices, its deadline
 * or by hand (src/loads/). */
struct balkon_load_config {
    char id[32];
    char name[64];
    char plug[32];          /* the plug's device id (GET /api/v1/devices) */
    char mode[16];          /* "surplus", "cheap" or "manual" */
    double power_w;         /* what it draws while running */
    double run_min;         /* minutes it must run per day; 0 = only when there is surplus */
    char earliest[6];       /* local "HH:MM": not before */
    char latest[6];         /* local "HH:MM": run_min done by then */
    double min_on_s;
    double min_off_s;
    double battery_priority_soc_pct; /* below this SoC the battery's charging comes first */
};
#define BALKON_MAX_APPLIANCES 8

/* An appliance to recommend a start time for (src/recommend/, docs/recommendations.md). */
struct balkon_appliance_config {
    char id[32];
    char name[64];
    double duration_min;    /* one run */
    double energy_kwh;      /* one run */
    char latest[6];         /* local "HH:MM": finished by */
    char earliest[6];       /* local "HH:MM": not started before; "" = now */
    char plug[32];          /* a smart plug's device id; "" = none */
    bool auto_start;        /* switch the plug on at the recommended start, off after the run */
};
#define BALKON_MAX_TOU_ZONES 16
#define BALKON_MAX_SCHEDULE_WINDOWS 16

/* A fixed_schedule window: local times, the battery mode and its power (0 = its limit). */
struct balkon_schedule_window {
    char from[6];
    char to[6];
    char mode[16];
    double power_w;
};

/* A time-of-use zone: on the given days, from `from` to `to` (local "HH:MM", `to` may be
 * "24:00" and may be before `from` to wrap past midnight) the price is price_per_kwh. */
struct balkon_tou_zone {
    char days[32]; /* "mon-fri", "sat,sun", "daily" */
    char from[6];
    char to[6];
    double price_per_kwh;
};

struct balkon_provider_config {
    char id[32];
    char type[32];
    bool enabled;
    char base_url[256];  /* "" = the provider's public API */
    char token[256];     /* secret: API token or key */
    char area[32];       /* bidding zone, country, region or postal code, per type */
    char product[64];    /* Octopus product code */
    char site_id[64];    /* Solcast rooftop site id */
    double charges_per_kwh; /* grid fees, levies and margin added to market prices, before VAT */
    double vat_pct;
    double price_per_kwh;   /* "fixed": the price */
    struct balkon_tou_zone zones[BALKON_MAX_TOU_ZONES];
    size_t zone_count;
    double interval_min;    /* fetch interval; 0 = the provider's default */
    double timeout_s;
};

#define BALKON_MAX_NOTIFY_CHANNELS 8

/* One notification channel (src/notify/): which fields matter depends on type. */
struct balkon_notify_channel_config {
    char id[32];
    char type[16];         /* "ntfy", "telegram", "pushover", "gotify", "webhook", "email", "mqtt" */
    char url[256];         /* the server or API base; email: "smtp://host:port" */
    char token[160];       /* secret: Telegram bot token, Pushover app token, Gotify app token, ntfy token */
    char chat_id[64];      /* telegram */
    char user[128];        /* pushover user key; email login */
    char password[128];    /* secret: email password */
    char to[256];          /* email recipient */
    char from[128];        /* email sender */
    char topic[128];       /* ntfy topic; mqtt topic */
    char min_severity[16]; /* "info", "warning", "critical" */
};

struct balkon_config {
    struct {
        char name[64];
        double latitude_deg;
        double longitude_deg;
        char timezone[64];
    } site;
    struct {
        struct balkon_plane_config planes[BALKON_MAX_PLANES];
        size_t plane_count;
        double system_loss_pct;
    } pv;
    struct {
        double ac_limit_w;
        double efficiency_pct;
    } inverter;
    struct {
        double capacity_wh;
        double max_charge_w;
        double max_discharge_w;
        double charge_efficiency_pct;
        double discharge_efficiency_pct;
        double soc_min_pct;
        double soc_max_pct;
        char coupling[8]; /* "ac" or "dc" */
    } battery;
    struct {
        double annual_kwh;
    } household;
    struct {
        double speed;
        char start[40];
        double step_s;
        double cloudiness_pct;
        double initial_soc_pct;
        double battery_latency_s;
        bool meter_enabled;
        int64_t seed;
        double plug_power_w;
    } simulation;
    struct {
        struct balkon_device_config items[BALKON_MAX_DEVICES];
        size_t count;
    } devices;
    struct {
        double feed_in_per_kwh;
        double import_per_kwh;
        char currency[4];
    } tariff;
    struct {
        char strategy[32];
        double horizon_h;
        double soc_step_wh;
        double wear_cost_per_kwh;
        bool allow_grid_charge;
        double terminal_value_per_kwh; /* < 0: automatic */
        double replan_interval_min;
        double history_days;
        struct balkon_schedule_window schedule[BALKON_MAX_SCHEDULE_WINDOWS];
        size_t schedule_count;
    } optimizer;
    struct {
        bool enabled;
        char battery[32];       /* device id; "" = the first battery */
        char inverter[32];      /* device id: drive this inverter's limit instead of a battery */
        double target_grid_w;
        double deadband_w;
        double max_step_w;
        double settle_s;
        double meter_stale_s;
        double safe_output_w;
        double min_battery_voltage_v;
    } control;
    struct {
        struct balkon_load_config items[BALKON_MAX_LOADS];
        size_t count;
    } loads;
    struct {
        struct balkon_appliance_config items[BALKON_MAX_APPLIANCES];
        size_t count;
    } appliances;
    struct {
        double modules_price;
        double battery_price;
        char installed[16]; /* "YYYY-MM-DD"; "" = the first stored sample */
    } investment;
    struct {
        struct balkon_provider_config items[BALKON_MAX_PROVIDERS];
        size_t count;
    } providers;
    struct {
        char listen[64];
        int64_t max_body_bytes;
        bool read_without_login;
        char allowed_hosts[512]; /* comma-separated host names, beyond the built-in ones */
        int64_t session_days;
    } http;
    struct {
        bool enabled;
        char host[128];
        int64_t port;
        char user[64];
        char password[128]; /* secret */
        char client_id[64];
        int64_t keepalive_s;
        char prefix[64];           /* our topics: <prefix>/status, <prefix>/state/... */
        bool ha_discovery;         /* publish Home Assistant discovery configs */
        char discovery_prefix[64]; /* Home Assistant's discovery prefix */
        double publish_interval_s; /* live state at most this often (wall clock) */
    } mqtt;
    struct {
        bool enabled;
        char quiet_hours_from[8]; /* "HH:MM"; equal to quiet_hours_to: no quiet hours */
        char quiet_hours_to[8];
        int64_t max_per_hour;
        struct balkon_notify_channel_config channels[BALKON_MAX_NOTIFY_CHANNELS];
        size_t channel_count;
        struct {
            bool device_offline;
            bool meter_stale;
            bool battery_empty;
            bool battery_full;
            bool battery_not_charging;
            double not_charging_min;
            bool export_cap;
            double export_cap_margin_w;
            bool negative_price;
            bool price_spike;
            double price_spike_factor;
            bool cheap_window;
            bool provider_failing;
            double provider_failing_min;
            bool optimizer_fallback;
            bool storage_failing;
            bool recommendations;
            bool daily_summary;
            char daily_summary_at[8]; /* local "HH:MM" */
        } rules;
    } notifications;
    struct {
        char path[256];
        double flush_interval_s;
        double sample_interval_s;
        int64_t raw_retention_days;
        int64_t rollup_5m_retention_days;
        int64_t rollup_1h_retention_days;
        int64_t forecast_retention_days;
        int64_t command_log_retention_days;
    } storage;
    struct {
        char level[8];
    } log;
};

/* Problems found while loading, each "json.path: problem". Bounded: beyond
 * BALKON_CONFIG_MAX_ERRORS the rest are counted in `dropped`. */
#define BALKON_CONFIG_MAX_ERRORS 32
struct balkon_config_errors {
    size_t count;
    size_t dropped;
    char items[BALKON_CONFIG_MAX_ERRORS][256];
};

/* Adds "path.key: message" to errors (for the type-specific checks of drivers and
 * providers). path may be NULL or "" for a top-level key. */
void balkon_config_add_error(struct balkon_config_errors *errors, const char *path,
                             const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Fills config with every option's default. */
void balkon_config_defaults(struct balkon_config *config);

/* Parses and validates JSON text. Returns 0, or BALKON_E_PARSE / BALKON_E_INVAL with every
 * problem listed in errors; config is only fully valid on 0. */
int balkon_config_parse(const char *json_text, struct balkon_config *config,
                        struct balkon_config_errors *errors);

/* Reads a file and parses it. A missing or unreadable file is one error naming the path. */
int balkon_config_load(const char *path, struct balkon_config *config,
                       struct balkon_config_errors *errors);

/* Copies the options that only take effect after a restart from running into next, and
 * lists their paths (comma-separated) in changed when they differed. */
void balkon_config_keep_restart_options(const struct balkon_config *running,
                                        struct balkon_config *next, char *changed,
                                        size_t changed_size);

/* The config as JSON with secrets replaced by "***". Returns a cJSON tree the caller
 * frees with cJSON_Delete. */
struct cJSON *balkon_config_to_json(const struct balkon_config *config);

/* Writes docs/configuration.md's text (markdown) to out. */
void balkon_config_write_doc(FILE *out);

/* For a whole config sent back by the API (PUT /api/v1/config): every secret in next that
 * holds the mask of balkon_config_to_json ("***") gets the value current (the config file
 * as it is, parsed) has at the same place, so secrets a client never saw survive, and an
 * "env:NAME" stays a reference. Items of arrays are matched by their "id", else by
 * position. A mask with nothing to keep adds an error naming its path. Returns 0 or
 * BALKON_E_INVAL. current may be NULL (no readable file). */
int balkon_config_keep_secrets(struct cJSON *next, const struct cJSON *current,
                               struct balkon_config_errors *errors);

/* Replaces the config file at path with text, atomically: a temporary file in the same
 * directory (same permissions) is written and fsync'd, the old file is kept as
 * "<path>.bak", then the temporary one is renamed over path. A symlink at path is
 * followed (the file it points to is replaced). On failure nothing has changed, and msg
 * says what went wrong. Returns 0 or BALKON_E_IO / BALKON_E_NOMEM. */
int balkon_config_write_file(const char *path, const char *text, char *msg, size_t msg_size);

#endif
