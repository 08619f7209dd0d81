/* The in-process event bus: how modules tell each other what happened.
 *
 * Every event has a type (enum bus_event) and a payload struct (struct ev_*), listed once
 * in include/balkon/bus_events.h. Events carry facts; an order or a question for one module
 * is a direct call through the services (include/balkon/services.h). Subscribers
 * register a callback per event type; publishing delivers the payload to every subscriber
 * of that type, in subscription order, on the loop thread.
 *
 * Ordering: all subscribers see all events in one global order. A publish from inside a
 * handler does not run the other handlers re-entrantly; the bus copies the payload into a
 * queue and delivers it once the current event has reached every subscriber.
 *
 * Ownership: a payload is borrowed by the handler for the duration of the callback only;
 * copy what you keep. The publisher keeps ownership of what it passes to balkon_bus_publish
 * and may free or reuse it as soon as publish returns (the bus deep-copies queued payloads,
 * including the arrays some events point to).
 *
 * Single-threaded: call only from the loop thread. */
#ifndef BALKON_BUS_H
#define BALKON_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balkon/driver.h"
#include "balkon/series.h"

#define BALKON_ID_MAX 32     /* device ids, incl. the terminating NUL */
#define BALKON_SERIES_MAX 64 /* series names, incl. the terminating NUL */

enum bus_event {
#define BUS_EVENT(id, name) BUS_EV_##id,
#define BUS_EVENT_ARRAY(id, name, items, count) BUS_EV_##id,
#include "balkon/bus_events.h"
#undef BUS_EVENT
#undef BUS_EVENT_ARRAY
    BUS_EV__COUNT
};

/* A smart meter's reading of the grid connection. */
struct ev_meter_reading {
    char device_id[BALKON_ID_MAX];
    int64_t ts_ms;
    double grid_w; /* + import / - export */
};

/* enum device_role (DEVICE_ROLE_*) is in balkon/driver.h. */
/* "meter", "inverter", "battery" or "plug" for one DEVICE_ROLE_* bit; NULL otherwise. */
const char *balkon_device_role_name(unsigned role_bit);

#define EV_DEVICE_VALUES_MAX 12

struct device_value {
    char name[24]; /* "power_w", "soc_pct", "limit_w", "temperature_c" */
    double value;
};

/* A device's latest state; published whenever it is read or changes. */
struct ev_device_state {
    char device_id[BALKON_ID_MAX];
    char type[BALKON_ID_MAX]; /* driver type, "simulator" */
    char model[48];
    char firmware[32]; /* "" when the device does not tell */
    unsigned roles;    /* DEVICE_ROLE_* bits */
    bool online;
    char error[96];      /* why it is offline; "" when online */
    char error_code[24]; /* error's fault code, for the dashboard to translate */
    /* What is implausible in an accepted reading (a three-phase meter with a phase at 0 V
     * while current flows, or a phase missing); "" for nothing. */
    char warning[128];
    int64_t ts_ms; /* when this state was read */
    size_t value_count;
    struct device_value values[EV_DEVICE_VALUES_MAX];
};

/* The site's power balance, averaged over one sample interval.
 * home_w = pv_w + battery_w + grid_w. */
struct ev_site_status {
    int64_t ts_ms; /* end of the interval */
    int64_t interval_ms;
    double pv_w;
    double home_w;
    double grid_w;    /* + import / - export */
    double battery_w; /* + discharge / - charge */
    double soc_pct;   /* NAN when no battery reports one */
};

/* One measured value of a named time series, ready to be stored. */
struct ev_sample {
    char series[BALKON_SERIES_MAX];
    char unit[16];
    int64_t ts_ms;
    double value;
};

struct balkon_config;
/* The config was (re)loaded and validated. The pointer stays valid until the next
 * BUS_EV_CONFIG_CHANGED; previous is NULL on the first load. */
struct ev_config_changed {
    const struct balkon_config *config;
    const struct balkon_config *previous;
};

/* The daemon is stopping: flush what you buffer. */
struct ev_shutdown {
    int signal; /* SIGTERM, SIGINT, or 0 */
};

/* A provider's consumer prices for the coming slots (after a fetch, or loaded at start).
 * The slots array belongs to the publisher; a queued copy gets its own. */
struct ev_prices {
    char provider[BALKON_ID_MAX];
    char currency[4];
    bool primary; /* the first enabled price provider: the one strategies use */
    size_t count;
    const struct balkon_price_slot *slots;
};

/* A forecast for the coming slots, e.g. kind "pv" (summed over the planes, AC-capped). */
struct ev_forecast {
    char kind[16];
    char provider[BALKON_ID_MAX];
    int64_t issued_ts_ms;
    size_t count;
    const struct balkon_forecast_slot *slots;
};

/* A grid signal series: kind "renewable_share_pct", "grid_signal", "co2_g_per_kwh",
 * "green_index". */
struct ev_signal {
    char kind[24];
    char provider[BALKON_ID_MAX];
    size_t count;
    const struct balkon_signal_slot *slots;
};

/* A new battery plan (after a replan). slots[0] is the slot in force now; the real-time
 * control follows its mode and power. The slots array belongs to the publisher; a queued
 * copy gets its own. */
struct ev_plan {
    int64_t id; /* the stored plan's id */
    int64_t created_ts_ms;
    char strategy[32];
    char reason[32]; /* what triggered it: "start", "timer", "prices", "forecast", … */
    size_t count;
    const struct balkon_plan_slot_row *slots;
};

/* How a command ended: ok after the device confirmed the new value (read back). */
struct ev_command_result {
    char device_id[BALKON_ID_MAX];
    char command[16];
    double value;
    char source[16];     /* who sent it (struct device_command's source) */
    uint64_t request_id; /* with source, what the sender matches its own results by */
    bool ok;
    char detail[128]; /* "" when ok; otherwise why ("timeout", "read back 0, expected 1") */
};

/* A driver could not read or reach a device. The devices module keeps the last one per
 * device and shows it once the device counts as offline; one failed read alone does not
 * make a device offline. */
struct ev_device_error {
    char device_id[BALKON_ID_MAX]; /* the config id, or one of its devices' ids */
    int64_t ts_ms;
    char detail[96]; /* "HTTP 401: wrong user or password", "timeout after 3 s" */
    char code[24];   /* the fault code the dashboard translates (src/devices/device_kit.h) */
};

/* A device went offline (nothing read for longer than its staleness limit) or came back.
 * Published by the devices module on every change, and once for every device at start
 * when it is first seen or first missed. */
struct ev_device_online {
    char device_id[BALKON_ID_MAX];
    int64_t ts_ms;
    bool online;
    int64_t last_seen_ms; /* INT64_MIN: never seen */
    char detail[96];      /* offline: why */
};

#define EV_LOADS_MAX 8

struct ev_load_status {
    char id[BALKON_ID_MAX];
    char name[64];
    char plug[BALKON_ID_MAX];
    char mode[16]; /* "surplus", "cheap", "manual" */
    bool on;       /* what it was last switched to */
    bool plug_online;
    double power_w; /* what the plug measures; NAN when unknown */
    double run_today_min;
    double run_target_min;     /* 0: surplus only */
    char override[8];          /* "", "on" or "off" */
    int64_t override_until_ms; /* INT64_MIN: none */
    int64_t next_start_ms;     /* the planned start; INT64_MIN: none */
    char reason[96];           /* why it is on or off, in words */
};

/* Every deferrable load's state, after each decision round of the loads module. */
struct ev_loads_status {
    int64_t ts_ms;
    size_t count;
    struct ev_load_status items[EV_LOADS_MAX];
};

/* The real-time control's state after each step, for the API and the dashboard. */
struct ev_control_status {
    int64_t ts_ms;
    bool enabled;
    char battery_id[BALKON_ID_MAX]; /* the battery it drives; "" when none */
    char mode[24];  /* the plan's mode for this slot ("self_consumption" without a plan) */
    char state[16]; /* "tracking", "settling", "holding", "limited", "failsafe", "off" */
    double target_w;
    double grid_w; /* NAN before the first reading */
    double error_w;
    double setpoint_w; /* the last setpoint sent; NAN before the first */
    double battery_w;
    uint64_t commands_sent;
    uint64_t failsafes;         /* times it fell into failsafe since start */
    int64_t last_command_ts_ms; /* INT64_MIN: none yet */
    /* Why it does what it does: one of the plan's reason codes (src/planner/reasons.c) or
     * "control_off", "battery_offline", "failsafe" (since reason_since_ts_ms), "export_cap",
     * "holding_for_plan"; with its parameters (INT64_MIN / NAN when none). */
    char reason[32];
    int64_t reason_since_ts_ms;
    double reason_price_per_kwh;
};

enum provider_state {
    PROVIDER_STATE_WAITING = 0, /* not run yet */
    PROVIDER_STATE_OK,          /* the last run succeeded */
    PROVIDER_STATE_FAILING,     /* the last run failed; the stored data is kept */
    PROVIDER_STATE_DISABLED,
    PROVIDER_STATE_STALE, /* the last reply held only past data; retried with backoff */
};

/* The daemon's clock followed a wall-clock jump (daemon.c). Whoever keeps "last seen"
 * times on that clock moves them by jump_ms, so a jump is neither silence nor a wait. */
struct ev_clock_jumped {
    int64_t jump_ms; /* + forward, - back */
};

/* The HTTP server accepted a connection from the daemon itself and answered its
 * GET /api/v1/health (src/http/probe.c): proof that it still serves, without which the
 * systemd watchdog goes unfed (src/core/sd_notify.c). Probed only under a watchdog. */
struct ev_http_probe_answered {
    uint64_t answered_ms; /* uv_now() of the loop when the answer came */
    uint64_t latency_ms;  /* from the connect to the answer's status line */
};

/* The recorder could not write measurements (the disk is full, say), or can again. Sent on
 * each change only. */
struct ev_storage_status {
    bool ok;
    char error[200];  /* !ok: the database's message */
    uint64_t dropped; /* ok: samples lost while it failed (the buffer overflowed) */
};

/* A provider's health, published after every run. */
struct ev_provider_status {
    char provider[BALKON_ID_MAX];
    char type[BALKON_ID_MAX];
    char kind[16]; /* "price", "pv", "signal" */
    enum provider_state state;
    int64_t last_attempt_ms; /* INT64_MIN: never */
    int64_t last_success_ms; /* INT64_MIN: never */
    int64_t next_run_ms;
    int64_t data_until_ms; /* end of the newest stored slot, INT64_MIN: none */
    bool stale;            /* the data is older than the provider's rhythm allows */
    int consecutive_failures;
    size_t slot_count;        /* slots of the last successful run */
    size_t rejected_count;    /* entries it rejected as implausible */
    size_t hole_count;        /* missing slots inside the last run's range (not filled) */
    int64_t first_hole_ms;    /* the first of them; INT64_MIN: none */
    char last_error[256];     /* "" when the last run succeeded */
    char last_error_code[24]; /* its provider_error_token ("transport", "auth" …) */
    char url[256];            /* the last request, secrets masked */
    char warning[256];        /* what the last run's data lacks ("" for nothing) */
};

/* Every module has started and the loop is about to run: what the daemon runs with, for
 * the API. Published once. */
struct ev_daemon_started {
    char config_path[256]; /* the config file (resolved to an absolute path); "" for none */
};

#define EV_RECOMMENDATIONS_MAX 8

/* One appliance's recommended start (src/recommend/, docs/recommendations.md). */
struct ev_recommendation {
    char id[BALKON_ID_MAX];
    char name[64];
    char plug[BALKON_ID_MAX]; /* "" without a plug */
    bool auto_start;          /* the plug is switched on at start and off after the run */
    char status[12];          /* "ok", "no_fit", "no_data", "running" (auto-started), "done" */
    int64_t start_ms;  /* the recommended (or, running/done, the actual) start; INT64_MIN: none */
    int64_t end_ms;    /* INT64_MIN: none */
    int64_t latest_ms; /* the deadline it was computed for */
    double cost;       /* the run's cost at start; NAN: unknown */
    double cost_now;   /* the run's cost when started now (or at `earliest`); NAN: unknown */
    double saving;     /* cost_now - cost; NAN: unknown */
    char currency[4];
    char sentence[192]; /* "Start the dishwasher at 13:15 (done by 15:15): 0.35 EUR cheaper than
                           starting now." */
};

/* Every appliance's recommendation, after each recomputation (a new plan, every 15
 * simulated minutes, a config change, an automatic start or stop). */
struct ev_recommendations {
    int64_t ts_ms;
    size_t count;
    struct ev_recommendation items[EV_RECOMMENDATIONS_MAX];
};

struct balkon_bus;

typedef void (*balkon_bus_cb)(enum bus_event event, const void *payload, void *user);

/* Creates a bus. The caller owns it and frees it with balkon_bus_free. */
struct balkon_bus *balkon_bus_new(void);
/* Frees the bus and drops undelivered events. Accepts NULL. */
void balkon_bus_free(struct balkon_bus *bus);

/* Subscribes cb to event. The same (cb, user) pair may subscribe once per event type.
 * Returns 0, BALKON_E_INVAL, or BALKON_E_NOMEM. Subscribing from inside a handler is
 * allowed; the new subscriber receives events published after the call. */
int balkon_bus_subscribe(struct balkon_bus *bus, enum bus_event event, balkon_bus_cb cb,
                         void *user);
/* Removes a subscription; safe from inside a handler (also one's own). */
void balkon_bus_unsubscribe(struct balkon_bus *bus, enum bus_event event, balkon_bus_cb cb,
                            void *user);

/* A module's subscriptions as one table, for the two calls below. */
struct bus_subscription {
    enum bus_event event;
    balkon_bus_cb cb;
};

/* Subscribes (cb, user) for every row. On failure nothing stays subscribed and the
 * BALKON_E_* code is returned. */
int balkon_bus_subscribe_all(struct balkon_bus *bus, const struct bus_subscription *rows,
                             size_t count, void *user);
/* Removes every row's subscription of user; safe from inside a handler. */
void balkon_bus_unsubscribe_all(struct balkon_bus *bus, const struct bus_subscription *rows,
                                size_t count, void *user);

/* Delivers payload to every subscriber of event. Returns 0, BALKON_E_INVAL (unknown
 * event or NULL payload) or BALKON_E_NOMEM (a nested publish could not be queued). */
int balkon_bus_publish(struct balkon_bus *bus, enum bus_event event, const void *payload);

/* Number of events published so far (for stats and tests). */
uint64_t balkon_bus_published(const struct balkon_bus *bus);

const char *balkon_bus_event_name(enum bus_event event);

#endif
