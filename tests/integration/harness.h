/* Runs the real balkonsolard for integration tests: writes a config into a temporary
 * directory, starts the binary on an ephemeral loopback port, talks HTTP to it with
 * libcurl and stops it with signals. */
#ifndef BALKON_TEST_HARNESS_H
#define BALKON_TEST_HARNESS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct fake_http;
struct mqtt_broker;
struct mqtt_test_client;

struct daemon_proc {
    pid_t pid;
    int port;
    char dir[256]; /* temporary directory holding config, db and log */
    char config_path[300];
    char db_path[300];
    char log_path[300];
    char token[96]; /* the API token harness_http sends; made by harness_start */
    bool anonymous; /* set before harness_start: no token, requests go unauthenticated */
};

struct http_reply {
    long status;
    char *body; /* NUL-terminated, owned; free with http_reply_free */
    size_t size;
    char content_type[128];
    char etag[64];
    char allow[64];
};

/* Creates a fresh temporary directory for a daemon (config, db, log live there). */
void harness_init(struct daemon_proc *d);
/* Writes the config file. */
void harness_write_config(struct daemon_proc *d, const char *json);
/* Starts the daemon and waits (up to 15 s) until it listens. Returns false on failure. */
bool harness_start(struct daemon_proc *d, const char *extra_arg);
/* Like harness_start, with env ("NAME=value" strings, NULL-terminated) added to the
 * daemon's environment. */
bool harness_start_env(struct daemon_proc *d, const char *extra_arg, const char *const env[]);
/* Sends a signal and waits up to timeout_ms for exit. Returns the exit status (as from
 * waitpid) or -1 on timeout (the process is then killed). *elapsed_ms gets the time. */
int harness_signal_and_wait(struct daemon_proc *d, int signum, int timeout_ms, long *elapsed_ms);
/* Runs balkonsolard with args to completion; returns its exit code and captures stderr
 * into out (NUL-terminated, up to size). */
int harness_run_cli(const char *const args[], char *out, size_t size);
/* Like harness_run_cli, with stdout captured into out and stderr into err apart. */
int harness_run_cli_output(const char *const args[], char *out, size_t out_size, char *err,
                           size_t err_size);
/* Runs balkonsolard --check-config on the daemon's config file; returns its exit code,
 * with stderr in out. */
int harness_check_config(struct daemon_proc *d, char *out, size_t size);
/* Writes the config of a site at 52.52 N 13.41 E with control off: mqtt (a config section
 * as "\"mqtt\": {…}", or NULL), then the devices (a JSON list's items). */
void harness_write_site_config(struct daemon_proc *d, const char *site_name, const char *mqtt,
                               const char *devices);
/* A device (JSON) of protocol "mqtt" in a site config without the mqtt section passes
 * --check-config, and the daemon starts and logs that it needs the mqtt section (within
 * 5 s); fails the test otherwise. */
void harness_assert_needs_mqtt_section(struct daemon_proc *d, const char *site_name,
                                       const char *device);
/* Starts a real mosquitto broker for one test; NULL when mosquitto is missing (the caller
 * skips). harness_teardown_broker stops it after the daemon, even when an assertion
 * failed midway. harness_mqtt_section writes the config's mqtt section for it. */
struct mqtt_broker *harness_start_broker(void);
int harness_teardown_broker(void **state);
void harness_mqtt_section(const struct mqtt_broker *broker, char *out, size_t size);
/* The daemon's log so far, whole (a buffer the harness keeps and reuses). */
const char *harness_log(struct daemon_proc *d);
/* Waits until the log contains text; false on timeout. */
bool harness_wait_log(struct daemon_proc *d, const char *text, int timeout_ms);
/* Removes the temporary directory. */
void harness_cleanup(struct daemon_proc *d);
/* cmocka fixtures for tests that need one daemon: *state becomes a fresh daemon_proc;
 * teardown kills it and removes its directory even when an assertion failed midway. */
int harness_setup(void **state);
int harness_teardown(void **state);

/* A daemon with fake HTTP servers beside it, for cmocka fixtures: harness_setup_fake
 * starts fakes[0] only, harness_setup_fakes all of them (asserting each started), and
 * harness_teardown_fakes removes the daemon's directory and stops the fakes. */
#define HARNESS_MAX_FAKES 4
struct harness_fixture {
    struct daemon_proc daemon;
    struct fake_http *fakes[HARNESS_MAX_FAKES];
};
int harness_setup_fake(void **state);
int harness_setup_fakes(void **state);
int harness_teardown_fakes(void **state);
/* Writes a config of a site without a simulator: only the devices (a JSON list's items),
 * 1 s samples, no control. site_name names the site. */
void harness_write_devices_config(struct daemon_proc *d, const char *site_name,
                                  const char *devices);

/* HTTP against the daemon. method "GET", "POST", ...; body may be NULL. */
struct http_reply harness_http(struct daemon_proc *d, const char *method, const char *path,
                               const char *body, size_t body_size, const char *if_none_match);
void http_reply_free(struct http_reply *reply);
/* GET path, assert 200 and return the parsed JSON (caller deletes). */
cJSON *harness_get_json(struct daemon_proc *d, const char *path);

void harness_sleep_ms(int ms);

/* Reading answers: json[key] as a string ("" when absent or not a string). */
const char *harness_text(const cJSON *json, const char *key);
/* The entry of GET /api/v1/devices with this id, as a copy the caller deletes; NULL when
 * the daemon does not list it. */
cJSON *harness_device(struct daemon_proc *d, const char *id);
/* A device entry's values[name], NAN when absent; and its "online". */
double harness_device_value(const cJSON *device, const char *name);
bool harness_device_online(const cJSON *device);

/* The helpers below fail the running cmocka test (fail_msg) instead of returning an error,
 * so a test reads as the steps a user takes. */

/* json[key] as a number, NAN when absent or not a number. */
double harness_number(const cJSON *json, const char *key);
/* json[key] as a number; fails the test with "<key> is not a number" when it is not one. */
double harness_require_number(const cJSON *json, const char *key);
/* Milliseconds on the monotonic clock. */
long harness_now_ms(void);
/* Sends SIGTERM and fails the test, printing the daemon's log, unless the daemon exits
 * with status 0 within timeout_ms. */
void harness_stop_cleanly(struct daemon_proc *d, int timeout_ms);
/* POSTs body to /api/v1/devices/<id>/command and fails the test unless the reply has
 * want_status and, when want_text is not NULL, contains want_text. */
void harness_post_command(struct daemon_proc *d, const char *id, const char *body, long want_status,
                          const char *want_text);
/* Waits until the device is online with |values[name] - want| < tolerance (want NAN: just
 * online) and returns its entry (caller deletes); fails the test with the entry and the
 * daemon's log after timeout_ms. */
cJSON *harness_wait_value(struct daemon_proc *d, const char *id, const char *name, double want,
                          double tolerance, int timeout_ms);
/* Waits until the device is online with values[name] finite (name NULL: just online), or
 * when !want_online offline with an error; returns its entry (caller deletes) and fails the
 * test with the entry and the daemon's log after timeout_ms. */
cJSON *harness_wait_state(struct daemon_proc *d, const char *id, bool want_online, const char *name,
                          int timeout_ms);
/* Waits until the device's online is want_online and, unless name is NULL (or want NAN),
 * |values[name] - want| < 0.01; returns its entry (caller deletes), fails the test with
 * the entry and the daemon's log after timeout_ms. */
cJSON *harness_wait_device(struct daemon_proc *d, const char *id, bool want_online,
                           const char *name, double want, int timeout_ms);
/* Waits until the command log of the device holds a command with this name and value (as
 * the API shows it, "300") and returns its result (static buffer); fails the test after
 * timeout_ms. */
const char *harness_wait_command_result(struct daemon_proc *d, const char *id, const char *command,
                                        const char *value_text, int timeout_ms);
/* Waits until the device is offline with an error containing want; fails the test after
 * timeout_ms. */
void harness_wait_offline(struct daemon_proc *d, const char *id, const char *want, int timeout_ms);
/* Waits until the command log holds count entries for the device and returns the newest
 * entry's result (static buffer); fails the test after timeout_ms. */
const char *harness_wait_command_count(struct daemon_proc *d, const char *id, int count,
                                       int timeout_ms);
/* Publishes payload on topic (every 100 ms, up to 100 times) until the device is online
 * with values[name] == want; fails the test otherwise. */
void harness_publish_until(struct daemon_proc *d, struct mqtt_test_client *c, const char *topic,
                           const char *payload, const char *id, const char *name, double want);
/* Routes prefix on a fake HTTP server to a JSON body with this status. */
void harness_route_json(struct fake_http *fake, const char *prefix, int status, const char *body);

#endif
