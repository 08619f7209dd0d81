/* What every networked driver shares, so a driver file holds only its device's protocol:
 * a copy of its config, a poll timer, HTTP requests to the device (URL, auth, timeout from
 * the config), building and publishing device states, reporting failures, and running
 * commands with verification, retries and a rate limit (command_runner.c).
 *
 * A driver embeds struct dev_kit as its FIRST member, fills in its ops and calls
 * dev_kit_start; dev_kit_stop closes the kit's handles and frees the driver (ops->free)
 * once they are closed and no request is in flight. */
#ifndef BALKON_DEVICE_KIT_H
#define BALKON_DEVICE_KIT_H

#include "balkon/bus.h"
#include "balkon/command.h"
#include "balkon/config.h"
#include "balkon/http_client.h"
#include "balkon/module.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct dev_kit;

/* Called with the device's answer; result->body is valid during the call only. */
typedef void (*dev_http_cb)(struct dev_kit *kit, const struct balkon_http_result *result,
                            void *user);

struct dev_kit_ops {
    const char *log_name; /* "shelly", "opendtu": the log lines' module */
    int default_port;     /* used when the config's port is 0 */
    enum balkon_http_auth auth;
    /* Reads the device; called every poll_interval_s (the first time right away). NULL for
     * push devices (MQTT), which publish as messages arrive. */
    void (*poll)(struct dev_kit *kit);
    /* Command runner (may be NULL when the device takes no commands). send starts the
     * command and later calls dev_cmd_sent; read_back (may be NULL: the send's answer is
     * the confirmation) reads the value and calls dev_cmd_read(). */
    int (*send)(struct dev_kit *kit, const struct device_command *command);
    int (*read_back)(struct dev_kit *kit, const struct device_command *command);
    /* Releases the driver's own memory (the struct embedding the kit). NULL: free(kit),
     * for drivers that own nothing beyond their struct. */
    void (*free)(struct dev_kit *kit);
};

/* A command in the runner: the newest wins; one runs at a time per device. */
struct dev_cmd_state {
    bool busy;
    bool queued;
    struct device_command current;
    struct device_command next;
    int attempt;
    int64_t last_sent_ms; /* INT64_MIN: never */
    uv_timer_t timer;     /* rate limit, verification delay and retry backoff */
    enum { CMD_IDLE, CMD_WAIT_SEND, CMD_SENDING, CMD_WAIT_VERIFY, CMD_VERIFYING } phase;
    char last_error[96];
};

struct dev_kit {
    struct balkon_ctx *ctx;
    const struct dev_kit_ops *ops;
    struct balkon_device_config config; /* a copy: the ctx's config may be replaced */
    char base_url[192];                 /* "http://host:port", "" without a host */
    uv_timer_t poll_timer;
    struct balkon_http_client *http;
    struct dev_cmd_state cmd;
    int open_handles;
    bool stopping;
    /* While a driver's HTTP callback runs: the exchange's fault code (balkon_http_fault),
     * "bad_reply" for a 2xx answer; NULL otherwise. dev_failed reports it. */
    const char *http_fault;
    /* Rules of the command runner; drivers may change them before dev_kit_start. */
    double min_command_interval_s; /* rate limit: at most one command per this (default 1 s) */
    double verify_delay_s;         /* wait before reading back (default 1 s) */
    int max_attempts;              /* sends before giving up (default 3) */
    double tolerance_w;            /* read back within this of the value counts (default 5 W) */
};

/* What a device says about itself (Shelly's /shelly), asked at the first poll and again
 * every period, and whether a poll's requests are still out. */
struct dev_identity {
    bool busy; /* a poll's requests are in flight: the next poll is skipped */
    bool identified;
    uint64_t identified_wall_ms;
    char model[48];
    char firmware[32];
};

/* Starts the kit for driver instance kit (zeroed, ops set): copies the config, creates the
 * HTTP client when the config has a host, starts polling. Returns 0 or BALKON_E_* with
 * the reason in msg. On failure nothing is left running and ops->free is not called. */
int dev_kit_start(struct dev_kit *kit, struct balkon_ctx *ctx,
                  const struct balkon_device_config *config, const struct dev_kit_ops *ops,
                  char *msg, size_t msg_size);
/* Takes the reloaded config of the same id (the ctx's config is already the new one). */
void dev_kit_reconfigure(struct dev_kit *kit);
/* As dev_kit_reconfigure, for a driver that fixed its role at start: a new role is logged
 * and takes effect only after a restart. */
void dev_kit_reconfigure_keep_role(struct dev_kit *kit);
/* Stops polling and commands; frees the driver once every handle is closed. */
void dev_kit_stop(struct dev_kit *kit);

/* Close callback for a driver's own handles (data = the kit, counted in open_handles):
 * the last one closed releases the driver. */
void dev_kit_handle_closed(uv_handle_t *handle);
/* Drops one handle or pending operation from open_handles (the last releases the driver). */
void dev_kit_release(struct dev_kit *kit);

/* A driver's one timer of its own (the wait for an answer over MQTT): data is the driver
 * (whose first member is the kit) and it counts in open_handles, so the driver is freed
 * only once dev_kit_stop_own has closed it. */
void dev_kit_own_timer_init(struct dev_kit *kit, uv_timer_t *timer);
/* The stop op of a driver with an own timer: drops its MQTT subscriptions (made with the
 * driver as their user) when mqtt, closes the timer and stops the kit. */
void dev_kit_stop_own(struct dev_kit *kit, uv_timer_t *timer, bool mqtt);
/* Whether the config says "protocol": "mqtt" (into *mqtt); BALKON_E_INVAL with the reason
 * in msg when it does and the mqtt section is not enabled. */
int dev_kit_protocol(const struct balkon_ctx *ctx, const struct balkon_device_config *device,
                     bool *mqtt, char *msg, size_t msg_size);
/* Publishes a command's payload on topic with QoS 1, never retained (a retained command
 * would be carried out again at every reconnect). On failure reports the send as failed
 * (dev_cmd_sent) and returns false; on success the driver reports it. */
bool dev_mqtt_publish_command(struct dev_kit *kit, const char *topic, const char *payload);

/* The start of a poll of a device with an identity: true when the poll ends here, because
 * the last one is still busy or because GET path (cb) went out to (re)read an identity that
 * is unknown or older than period_ms (cb then reads the status); false: read the status. */
bool dev_identity_poll(struct dev_kit *kit, struct dev_identity *identity, const char *path,
                       uint64_t period_ms, dev_http_cb cb);
/* Marks the identity as read now. */
void dev_identity_taken(struct dev_kit *kit, struct dev_identity *identity);
/* Forgets the identity (the host or role may have changed): the next poll asks again. */
void dev_identity_forget(struct dev_identity *identity);

/* GET (body NULL) or POST path ("/rpc/EM.GetStatus?id=0") on the device, with the config's
 * user/password and timeout. cb runs exactly once unless this returns an error. */
int dev_http(struct dev_kit *kit, const char *path, const char *content_type, const char *body,
             dev_http_cb cb, void *user);
/* Why an HTTP exchange failed ("what: timed out", "what: HTTP 401: wrong or missing
 * user/password", "what: HTTP 500") into why; false when it brought a 2xx answer. */
bool dev_http_problem(const struct balkon_http_result *result, const char *what, char *why,
                      size_t why_size);
/* Checks an HTTP result: true for a 2xx answer; otherwise reports the failure (timeout,
 * refused, 401 → "wrong user or password") with dev_failed and returns false. */
bool dev_http_ok(struct dev_kit *kit, const struct balkon_http_result *result, const char *what);
/* Parses a reply body as JSON, or reports "<what>: not JSON" and returns NULL. */
cJSON *dev_parse_json(struct dev_kit *kit, const struct balkon_http_result *result,
                      const char *what);

/* The device's id: the config id, or "<id>-<suffix>" for one of several devices behind it. */
void dev_id(const struct dev_kit *kit, const char *suffix, char *out, size_t size);
/* Starts a device state for publishing (online, now, the kit's type). suffix may be NULL. */
void dev_state_init(struct dev_kit *kit, struct ev_device_state *state, const char *suffix,
                    unsigned roles);
void dev_state_add(struct ev_device_state *state, const char *name, double value);
void dev_publish_state(struct dev_kit *kit, const struct ev_device_state *state);
/* A meter's grid power (+ import / - export) for the control and the site balance. */
void dev_publish_meter(struct dev_kit *kit, const char *suffix, double grid_w);
/* Reports a failed read (logged at most once per distinct message, kept until the device
 * counts as offline). Its fault code, which the dashboard translates (docs/api.md), is the
 * HTTP exchange's when called from a dev_http callback ("timeout", "auth", "bad_reply" for
 * a 2xx answer not understood …), else "failed". */
void dev_failed(struct dev_kit *kit, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with its fault code: "timeout", "unreachable", "unknown_host", "auth",
 * "bad_reply", "wrong_type" (another kind of device answers), "offline_reported" (the
 * device says it is offline), "failed". */
void dev_failed_code(struct dev_kit *kit, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The command op of a device that is a plug when is_plug (else a meter): accepts "switch"
 * with 1 or 0 and submits it, refuses everything else with the reason in msg. */
int dev_plug_command(struct dev_kit *kit, bool is_plug, const struct device_command *command,
                     char *msg, size_t msg_size);

/* Checks a battery's command: "setpoint" with a value from min_w (- = charge) to max_w
 * (+ = discharge), or "auto"; BALKON_E_RANGE / BALKON_E_INVAL with the reason in msg. */
int dev_battery_command_check(const struct device_command *command, double min_w, double max_w,
                              char *msg, size_t msg_size);

/* --- Commands (command_runner.c) ------------------------------------------------------- */

/* Accepts a validated command: runs it now, or after the one in flight (replacing a
 * queued one, which is reported as superseded). */
void dev_cmd_submit(struct dev_kit *kit, const struct device_command *command);
/* The driver's send finished: ok, or the reason it failed (retried with backoff). */
void dev_cmd_sent(struct dev_kit *kit, bool ok, const char *detail);
/* The driver read the value back (ok false: the read failed, detail says why). */
void dev_cmd_read(struct dev_kit *kit, bool ok, double value, const char *detail);

/* --- Reading replies ------------------------------------------------------------------- */

/* The item at path in root: "emeters[0].power", "StatusSNS.ENERGY.Power", "a.b". NULL when
 * any step is missing or of the wrong kind. */
const cJSON *dev_json_path(const cJSON *root, const char *path);
/* A finite number at path; also accepts a numeric string ("231.5"). */
bool dev_json_number(const cJSON *root, const char *path, double *out);

#endif
