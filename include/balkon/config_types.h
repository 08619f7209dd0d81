/* The configuration's types: struct balkon_config and its parts, and the list of problems
 * found while loading one. Below the config engine (include/balkon/config.h), so the
 * registries (drivers, providers, notification channels) can read their options and add
 * their errors without depending on it. */
#ifndef BALKON_CONFIG_TYPES_H
#define BALKON_CONFIG_TYPES_H

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
    char host[128]; /* address on the LAN: "192.168.1.50" or "shelly-em.local" */
    int64_t port;   /* 0 = the protocol's default */
    char user[64];
    char password[128];   /* secret */
    char serial[64];      /* OpenDTU: the inverter's serial; Zendure: the device key */
    int64_t channel;      /* Shelly switch/EM channel, Tasmota relay number */
    char path[256];       /* generic HTTP meter: URL path; generic MQTT: topic */
    char power_key[128];  /* generic devices: where the power is in the JSON ("a.b[0].c") */
    char protocol[8];     /* "http" or "mqtt" for devices that speak both (Tasmota, OpenDTU) */
    char topic[128];      /* MQTT: the device's topic (Tasmota %topic%, OpenDTU base, generic state
                             topic) */
    char product_key[32]; /* Zendure: the product key of the topic */
    char role[16];        /* generic devices: "meter", "inverter", "battery" or "plug" */
    char soc_key[128];    /* generic devices: where the SoC in % is */
    char state_key[128];  /* generic plugs: where the on/off state is */
    char energy_key[128]; /* Home Assistant, ESPHome: the energy entity (Wh/kWh) */
    char token[512];      /* secret: Home Assistant's long-lived access token (a JWT) */
    char command_topic[128];   /* generic MQTT: "{command}" is replaced, e.g. "home/plug/set" */
    char command_payload[128]; /* generic MQTT: "{value}" and "{command}" are replaced */
    double power_scale; /* generic devices: multiply the power by this (-1 flips the sign, 1000 for
                           kW) */
    double poll_interval_s;
    double timeout_s;
    double max_power_w;  /* inverters and batteries: the highest limit we may set */
    double failsafe_s;   /* batteries with expiring setpoints: back to their own mode after this */
    char registers[512]; /* modbus: the register map ("power_w=40087:int16:sf40091, …") */
    int64_t unit_id;     /* modbus, sunspec: the Modbus unit (slave) id */
};

#define BALKON_MAX_PROVIDERS 12
#define BALKON_MAX_LOADS 8

/* A deferrable load behind a smart plug: switched by surplus, cheap prices, its deadline
 * or by hand (src/loads/). */
struct balkon_load_config {
    char id[32];
    char name[64];
    char plug[32];    /* the plug's device id (GET /api/v1/devices) */
    char mode[16];    /* "surplus", "cheap" or "manual" */
    double power_w;   /* what it draws while running */
    double run_min;   /* minutes it must run per day; 0 = only when there is surplus */
    char earliest[6]; /* local "HH:MM": not before */
    char latest[6];   /* local "HH:MM": run_min done by then */
    double min_on_s;
    double min_off_s;
    double battery_priority_soc_pct; /* below this SoC the battery's charging comes first */
};
#define BALKON_MAX_APPLIANCES 8

/* An appliance to recommend a start time for (src/recommend/, docs/recommendations.md). */
struct balkon_appliance_config {
    char id[32];
    char name[64];
    double duration_min; /* one run */
    double energy_kwh;   /* one run */
    char latest[6];      /* local "HH:MM": finished by */
    char earliest[6];    /* local "HH:MM": not started before; "" = now */
    char plug[32];       /* a smart plug's device id; "" = none */
    bool auto_start;     /* switch the plug on at the recommended start, off after the run */
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
    char base_url[256];     /* "" = the provider's public API */
    char token[256];        /* secret: API token or key */
    char area[32];          /* bidding zone, country, region or postal code, per type */
    char product[64];       /* Octopus product code */
    char site_id[64];       /* Solcast rooftop site id */
    double charges_per_kwh; /* grid fees, levies and margin added to market prices, before VAT */
    double vat_pct;
    double price_per_kwh; /* "fixed": the price */
    struct balkon_tou_zone zones[BALKON_MAX_TOU_ZONES];
    size_t zone_count;
    double interval_min; /* fetch interval; 0 = the provider's default */
    double timeout_s;
};

#define BALKON_MAX_NOTIFY_CHANNELS 8

/* One notification channel (src/notify/): which fields matter depends on type. */
struct balkon_notify_channel_config {
    char id[32];
    char type[16];   /* "ntfy", "telegram", "pushover", "gotify", "webhook", "email", "mqtt" */
    char url[256];   /* the server or API base; email: "smtp://host:port" */
    char token[160]; /* secret: Telegram bot token, Pushover app token, Gotify app token, ntfy token
                      */
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
        char map_tiles_url[256]; /* {z}/{x}/{y} raster tiles for the setup's map; "" = none */
        char geocoder_url[256];  /* Open-Meteo-style place search; "" = none */
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
        double scenario_after_h; /* 0: plan on one certain forecast */
        struct balkon_schedule_window schedule[BALKON_MAX_SCHEDULE_WINDOWS];
        size_t schedule_count;
    } optimizer;
    struct {
        bool enabled;
        char battery[32];  /* device id; "" = the first battery */
        char inverter[32]; /* device id: drive this inverter's limit instead of a battery */
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
        /* HTTP security (sec15b): proxies, TLS, HSTS */
        char trusted_proxies[512]; /* comma-separated addresses and CIDR blocks */
        char tls[8];               /* "off", "on" (tls_cert/tls_key) or "auto" */
        char tls_cert[256];        /* PEM file; "" = beside the database (auto) */
        char tls_key[256];
        bool hsts;
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
    char items[BALKON_CONFIG_MAX_ERRORS][512]; /* room for a list of every driver type */
};

/* Adds "path.key: message" to errors (for the type-specific checks of drivers and
 * providers). path may be NULL or "" for a top-level key. */
void balkon_config_add_error(struct balkon_config_errors *errors, const char *path, const char *key,
                             const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A loader's message ("must be between 0 and 100, got 150") as a code and parameters the
 * dashboard translates: {"range", min "0", max "100", got "150"}. Unknown wording gives
 * "invalid" (the page then shows the English text). */
struct balkon_config_error_code {
    const char *code; /* static */
    size_t param_count;
    struct {
        const char *name; /* static */
        char value[96];
    } params[3];
};
void balkon_config_error_classify(const char *message, struct balkon_config_error_code *out);

#endif
