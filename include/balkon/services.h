/* Services: what one module asks of another, as direct calls.
 *
 * The bus (include/balkon/bus.h) carries facts: what happened, to whoever listens. An order
 * for one module or a question that needs an answer is a call through this table, so the
 * answer never depends on who subscribed first or on whether a publish was queued.
 *
 * The daemon owns the table (ctx->services). A module fills its own entry at the end of a
 * successful start (self = its state) and clears it (self = NULL) first thing in its stop,
 * so a caller finds self == NULL while the module is not running and answers "not
 * available" (503 for the API). Every call returns before the callee waits for anything.
 *
 *   service                 provided by   called by                          thread
 *   devices.command         devices       http, control, loads, recommend,   loop
 *                                         ha
 *   detect.run, .browse     devices       http                               a pool thread
 *   devices.test, .cancel   devices       http                               loop
 *   config.replace          daemon        http                               loop
 *   planner.set_strategy    planner       http, ha                           loop
 *   control.set_grid_target control       ha                                 loop
 *   loads.override          loads         http                               loop
 *   notify.status, .test    notify        http                               loop
 *   metrics.read            metrics       http                               loop
 *   recommend.current       recommend     http                               loop
 *   savings.compute         planner       http, ha                           a pool thread,
 *                                         (store reads and a simulation:     with the job's
 *                                          never on the loop)                own connection
 *
 * A callee may publish facts during a call (a refused command's result, a new plan); a
 * caller on the loop outside a handler then sees them delivered before the call returns. */
#ifndef BALKON_SERVICES_H
#define BALKON_SERVICES_H

#include "balkon/bus.h"
#include "balkon/command.h"
#include "balkon/savings_types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Someone switches a load by hand: state "on" or "off" for duration_s (0: until the end of
 * the local day), or "auto" to hand it back. The next BUS_EV_LOADS_STATUS shows it. */
struct balkon_load_request {
    char id[BALKON_ID_MAX];
    char state[8];
    double duration_s;
};

enum config_replace_result {
    CONFIG_REPLACE_APPLIED = 0, /* written and applied */
    CONFIG_REPLACE_INVALID,     /* refused: errors lists every problem; nothing changed */
    CONFIG_REPLACE_NO_FILE,     /* the daemon runs without a config file; nothing changed */
    CONFIG_REPLACE_FAILED,      /* the file could not be written (message); nothing changed */
};

struct balkon_config_errors;
struct balkon_device_config;
/* How config.replace ended. */
struct balkon_config_replace_result {
    enum config_replace_result result;
    char message[256];          /* NO_FILE / FAILED: why, in words */
    char restart_required[512]; /* APPLIED: changed options that need a restart, ", "-separated */
    /* INVALID: "path: message" lines as the config loader writes them, copied into the
     * caller's list (may be NULL: then only the count is lost). */
    struct balkon_config_errors *errors;
};

#define BALKON_NOTIFY_CHANNELS_MAX 8

struct balkon_notify_channel_status {
    char id[BALKON_ID_MAX];
    char type[16];
    bool healthy;          /* the last delivery succeeded, or none was tried yet */
    uint64_t sent;         /* messages delivered */
    uint64_t failed;       /* messages given up on after every retry */
    int64_t last_sent_ms;  /* wall time; INT64_MIN: never */
    int64_t last_error_ms; /* wall time; INT64_MIN: never */
    char last_error[160];  /* "" when the last delivery succeeded */
    char last_test[160];   /* "pending", "ok", the test's error, or "" */
};

/* The notification module's answer: status 200 (done), 202 (test queued), 404 (no such
 * channel), 503 (notifications disabled); message in words. */
struct balkon_notify_status {
    int status;
    char message[160];
    size_t count;
    struct balkon_notify_channel_status channels[BALKON_NOTIFY_CHANNELS_MAX];
};

#define BALKON_METRICS_DEVICES_MAX 48
/* The loop lag histogram's upper bounds in ms (a last bucket, +Inf, follows). */
#define BALKON_METRICS_LAG_BOUNDS_MS                                                               \
    {                                                                                              \
        1, 2, 5, 10, 20, 50, 100, 200, 500, 1000                                                   \
    }
#define BALKON_METRICS_LAG_BUCKETS 11

/* What only the metrics module counts, for GET /metrics. */
struct balkon_metrics_snapshot {
    /* Energy since the daemon started, integrated from BUS_EV_SITE_STATUS (never falls). */
    double pv_wh, home_wh, grid_import_wh, grid_export_wh, battery_charge_wh, battery_discharge_wh;
    /* The loop's lag: how late a 100 ms wall timer fires. */
    double loop_lag_ms;     /* the latest */
    double loop_lag_max_ms; /* the largest since start */
    double loop_lag_sum_ms;
    uint64_t loop_lag_count;
    uint64_t loop_lag_buckets[BALKON_METRICS_LAG_BUCKETS]; /* lags at or below each bound */
    uint64_t commands_ok, commands_failed;                 /* BUS_EV_COMMAND_RESULT */
    size_t device_count;
    struct {
        char device_id[BALKON_ID_MAX];
        uint64_t errors; /* BUS_EV_DEVICE_ERROR */
    } devices[BALKON_METRICS_DEVICES_MAX];
    size_t provider_count;
    struct {
        char provider[BALKON_ID_MAX];
        uint64_t runs, failures; /* BUS_EV_PROVIDER_STATUS with a new last attempt */
        int64_t last_attempt_ms;
    } providers[BALKON_METRICS_DEVICES_MAX];
};

struct balkon_services {
    struct {
        void *self;
        /* Hands command to the driver that owns the device. 0: under way (the result
         * follows as BUS_EV_COMMAND_RESULT); otherwise a BALKON_E_* code with the reason in
         * msg (no such device, refused, offline), and the refusal is published as a result
         * too, for the command log. */
        int (*command)(void *self, const struct device_command *command, char *msg,
                       size_t msg_size);
        /* Reads a device that need not be in the config once (the setup UI's Test): its
         * driver runs on a bus of its own, so no other module sees it. done(user, state,
         * error) comes once, on the loop and never from inside this call: with the first
         * state the device reported online, or with why it failed (its first error, or
         * "no answer within N s" after timeout_s) and its fault code (include/balkon/bus.h).
         * Returns 0 (under way), or a BALKON_E_* code with msg, and then done never comes. When the
         * devices module stops first, done comes with an error. */
        int (*test)(void *self, const struct balkon_device_config *device, double timeout_s,
                    void (*done)(void *user, const struct ev_device_state *state, const char *error,
                                 const char *error_code),
                    void *user, char *msg, size_t msg_size);
        /* Forgets the tests whose user is user: their done never comes. */
        void (*cancel)(void *self, void *user);
    } devices;
    struct {
        /* balkon_detect_run (include/balkon/detect.h): blocking probes, so only on a pool
         * thread. NULL while the devices module is not running. */
        int (*run)(const char *target, int timeout_ms, char **json_out, char *msg, size_t msg_size);
        /* balkon_detect_browse: the mDNS browse, blocking as run. */
        int (*browse)(int timeout_ms, char **json_out, char *msg, size_t msg_size);
    } detect;
    struct {
        void *self;
        /* Checks a whole new config file's text (JSON, size bytes, not necessarily
         * NUL-terminated) with the config loader, writes the file (the previous one kept as
         * <file>.bak) and applies it as SIGHUP does. A secret that holds the API's mask
         * ("***") keeps the file's current value. */
        void (*replace)(void *self, const char *text, size_t size,
                        struct balkon_config_replace_result *out);
    } config;
    struct {
        void *self;
        /* Switches the strategy at run time and replans at once, on the pool; name was
         * checked against the strategy table, "" returns to the config's strategy. done
         * (may be NULL) comes later on the loop, never from inside the call: with the new
         * plan's strategy and summary JSON once it is published, or with error (summary
         * NULL) when that replan failed or the planner stops first. Returns 0, or
         * BALKON_E_NOMEM (the strategy is not switched and done never comes). */
        int (*set_strategy)(void *self, const char *name,
                            void (*done)(void *user, const char *error, const char *strategy,
                                         const char *summary_json),
                            void *user);
    } planner;
    struct {
        void *self;
        /* Sets the grid target (+ import / - export); 0, or BALKON_E_RANGE outside
         * -800..800 W (msg says why). Holds until the next call or a reload that changes
         * control.target_grid_w. */
        int (*set_grid_target)(void *self, double target_grid_w, const char *source, char *msg,
                               size_t msg_size);
    } control;
    struct {
        void *self;
        /* 0, or BALKON_E_NOTFOUND / BALKON_E_INVAL with the reason in msg. */
        int (*override)(void *self, const struct balkon_load_request *override, char *msg,
                        size_t msg_size);
    } loads;
    struct {
        void *self;
        /* Every channel's health. */
        void (*status)(void *self, struct balkon_notify_status *out);
        /* Queues a test message through channel; out->status says how it went. */
        void (*test)(void *self, const char *channel, struct balkon_notify_status *out);
    } notify;
    struct {
        void *self;
        void (*read)(void *self, struct balkon_metrics_snapshot *out);
    } metrics;
    struct {
        void *self;
        /* The current recommendations. */
        void (*current)(void *self, struct ev_recommendations *out);
    } recommend;
    struct {
        /* balkon_savings_compute (include/balkon/savings.h); store is the calling pool
         * job's own read connection. NULL while the planner is not running. */
        int (*compute)(struct balkon_store *store, const struct balkon_config *config,
                       int64_t from_ms, int64_t to_ms, enum balkon_savings_group group,
                       struct balkon_savings *out, char *msg, size_t msg_size);
    } savings;
};

#endif
