/* Private to src/http: the request/response types the router and handlers share. */
#ifndef BALKON_HTTP_INTERNAL_H
#define BALKON_HTTP_INTERNAL_H

#include "balkon/bus.h"
#include "balkon/config.h"
#include "balkon/module.h"
#include "balkon/services.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

struct MHD_Connection;
struct MHD_Response;
struct http_events;
struct http_auth;
struct answer_cache;
struct http_plan;

/* One kept answer: its text and the response that owns it (http_kept_response), so every
 * request queues the same response. text is NULL when nothing is kept; response is NULL
 * when none could be made (out of memory), and then text is owned here. */
struct http_kept {
    char *text;
    size_t len;
    struct MHD_Response *response;
};

/* Answers kept between requests (caches.c): read or rendered once, served many times. */
struct http_caches {
    struct answer_cache *series; /* GET /series answers until the samples change (api_series.c) */
    struct answer_cache *sizing; /* GET /savings/sizes answers until the next hour (api_sizing.c) */
    struct http_plan *plan;      /* the newest plan, rendered (api_plan.c) */
    struct http_kept status;     /* GET /status (api_status.c), made from status_of */
    struct ev_site_status status_of;
    bool status_of_have; /* state->have_status when status was made */
};

#define HTTP_MAX_DEVICES 48

/* At most limit gated deferrals run on the pool at once; the others wait in order on the
 * loop, not on a pool thread, which the recorder's flushes and the planner need too. */
struct deferral;
struct http_gate {
    unsigned limit;
    unsigned running;
    struct deferral *first; /* waiting, oldest first */
    struct deferral *last;
};

/* What the HTTP module knows, kept up to date from the bus. */
/* A device test of the setup UI (api_devices_test.c). */
#define HTTP_DEVICE_TESTS_MAX 4
struct http_device_test {
    unsigned long id; /* 0: never used */
    enum {
        HTTP_DEVICE_TEST_NONE,
        HTTP_DEVICE_TEST_PENDING,
        HTTP_DEVICE_TEST_OK,
        HTTP_DEVICE_TEST_FAILED
    } state;
    struct ev_device_state reading; /* OK */
    char error[128];                /* FAILED */
    char error_code[24];            /* FAILED: its fault code */
};

/* The place search's link to the geocoder (api_geocode.c). */
struct http_geocoder {
    struct balkon_http_client *client; /* made with the first search; NULL before */
    unsigned in_flight;                /* searches waiting for the geocoder */
    double tokens;                     /* searches that may start now (a token bucket) */
    uint64_t tokens_at_ms;             /* uv_now() when tokens was last brought up to date */
    bool started;                      /* tokens has been filled once */
    bool stopping;
};

struct http_state {
    struct balkon_ctx *ctx;
    bool have_status;
    struct ev_site_status status;
    struct ev_device_state devices[HTTP_MAX_DEVICES];
    size_t device_count;
    struct ev_provider_status providers[BALKON_MAX_PROVIDERS];
    size_t provider_count;
    struct ev_command_result last_result; /* the newest command result, for the API's answer */
    bool have_control;
    struct ev_control_status control;
    struct ev_loads_status loads;
    bool have_plan;
    struct {
        int64_t id;
        int64_t created_ts_ms;
        char strategy[32];
    } plan;                                     /* the newest BUS_EV_PLAN */
    char config_path[256];                      /* from BUS_EV_DAEMON_STARTED; "" = none */
    struct balkon_config_errors *config_errors; /* a refused PUT /config's problems (owned) */
    struct http_events *events;                 /* the GET /api/v1/events streams */
    struct http_auth *auth;                     /* login state: setup code, rate limits (auth.c) */
    struct http_caches caches;
    struct http_gate reads; /* store reads on the pool: at most one per reader (read_job.c) */
    bool insecure_beyond_loopback; /* listening beyond loopback without TLS (a warning) */
    struct http_device_test device_tests[HTTP_DEVICE_TESTS_MAX];
    unsigned long device_test_count;
    struct http_geocoder geocoder;
};

/* Makes the caches and forgets them when what they were made from changes meaning (a
 * clock jump, a new config). Returns 0 or BALKON_E_NOMEM. */
int http_caches_start(struct http_state *state);
void http_caches_stop(struct http_state *state);
void http_caches_free(struct http_state *state);
void http_plan_free(struct http_plan *plan);
/* Keeps text (malloc'd JSON, taken; NULL keeps nothing) in place of what kept held. */
void http_kept_set(struct http_kept *kept, char *text, size_t len);
/* Forgets a kept answer; connections still sending it keep their reference. */
void http_kept_forget(struct http_kept *kept);

/* Who sent a request, as far as the server could tell (auth.c). */
enum http_auth_via { HTTP_AUTH_NONE, HTTP_AUTH_SESSION, HTTP_AUTH_TOKEN };

struct http_identity {
    enum http_auth_via via;
    char session_digest[65]; /* HTTP_AUTH_SESSION: the session's key */
    char csrf[80];           /* HTTP_AUTH_SESSION: what browser writes must echo */
    int64_t token_id;        /* HTTP_AUTH_TOKEN */
    bool read_only;          /* HTTP_AUTH_TOKEN: a token that may only read */
    char renew_cookie[80];   /* a session whose expiry moved: its cookie, to send again */
};

struct http_request {
    const char *method;
    const char *path;
    char path_param[64]; /* the {id} of a route like /api/v1/devices/{id}/command */
    struct MHD_Connection *connection;
    const char *body;
    size_t body_size;
    char client_ip[48];                   /* the source's address as text (the peer, or the
                                           * client a trusted proxy names) */
    bool secure;                          /* came over TLS, or via a trusted HTTPS proxy */
    const struct http_identity *identity; /* set by the router for a matched route */
    void *server_ctx;                     /* the server's per-request context (http_defer) */
    /* Without a connection (fuzzers, unit tests): the query's decoded name/value pairs,
     * which http_query reads instead of MHD's. */
    const struct http_query_pair *query_pairs;
    size_t query_count;
};

struct http_query_pair {
    const char *name;
    const char *value;
};

struct http_response {
    int status;
    const char *content_type;
    char *body; /* owned unless body_static */
    size_t body_size;
    bool body_static;
    const char *cache_control;
    char etag[24];               /* "" for none */
    char allow[48];              /* Allow header for 405 */
    char set_cookie[200];        /* Set-Cookie header; "" for none */
    unsigned retry_after_s;      /* Retry-After header (429); 0 for none */
    uint64_t hold_until_ms;      /* uv_now() before which the answer must not go out (a
                                  * login's delay); 0 for none */
    bool deferred;               /* set by http_defer: the answer comes later */
    struct MHD_Response *ready;  /* a kept answer's response (http_reply_kept), with body
                                  * and the fields it was made from: queued as is and never
                                  * destroyed here (its owner keeps it); body must stay valid
                                  * for this call only (copied when a header must be added) */
    struct MHD_Response *stream; /* a response the handler made itself (an event stream, or
                                  * one with headers of its own); when set, queued as is with
                                  * status (plus the common headers) and destroyed by the server;
                                  * the other fields are then ignored */
};

typedef void (*http_handler)(struct http_state *state, const struct http_request *request,
                             struct http_response *response);

/* Who may use a route. */
enum http_access {
    HTTP_ACCESS_PUBLIC, /* anyone (health, the login itself) */
    HTTP_ACCESS_READ,   /* logged in, or anyone with http.read_without_login */
    HTTP_ACCESS_LOGIN,  /* logged in, even to read (the token list) */
    HTTP_ACCESS_WRITE,  /* logged in; a browser session must also pass the CSRF check */
};

struct http_route {
    const char *method;
    const char *path;
    http_handler handler;
    enum http_access access;
};

/* --- Login (auth.c, api_auth.c) ------------------------------------------------------- */

/* Makes the login state: caches whether a password is set and, when none is, writes a
 * fresh setup code to a file beside the database (logged: its path, never the code).
 * NULL when out of memory. */
struct http_auth *http_auth_new(struct http_state *state);
void http_auth_free(struct http_auth *auth);

/* Whether a request naming host (the Host header, may be NULL) may be served: IP
 * addresses, localhost, this machine's names and http.allowed_hosts. */
bool http_auth_host_allowed(const struct http_auth *auth, const char *host);

/* Works out who sent the request (bearer token or session cookie). */
void http_auth_identify(struct http_state *state, const struct http_request *request,
                        struct http_identity *identity);

/* Whether the request may use a route with this access; if not, fills response (401 or
 * 403, with the reason) and returns false. */
bool http_auth_check(struct http_state *state, const struct http_request *request,
                     enum http_access access, struct http_response *response);

/* Whether a request that carries a password comes from this dashboard or a script, not
 * from another site's page: JSON (a form or text/plain, which a page may send across
 * sites without asking, is refused) and, when the browser names one, our own Origin. If
 * not, a 403 in response. */
bool http_auth_same_site(const struct http_request *request, struct http_response *response);

/* A login attempt from request's source: counts it as a failure (until
 * http_auth_attempt_succeeded) and sets response->hold_until_ms to when its answer may go
 * out (the source's own exponential delay, queued after its earlier attempts, plus a short
 * one while many sources fail). false (and a 429 in response) only when the source has
 * more than two minutes of answers queued. A success forgets the source's failures. */
bool http_auth_attempt(struct http_auth *auth, const struct http_request *request,
                       struct http_response *response);
void http_auth_attempt_succeeded(struct http_auth *auth, const char *client_ip);
/* Logs a refused login (what, e.g. "wrong password") from client_ip: the first of a quiet
 * minute at once, the others summed in one line a minute. */
void http_auth_log_refusal(struct http_auth *auth, const char *client_ip, const char *what);
/* Closes the login state's timer (before the loop ends). */
void http_auth_stop(struct http_auth *auth);

/* Whether peer_ip is in http.trusted_proxies. */
bool http_auth_proxy_trusted(const struct http_auth *auth, const char *peer_ip);
/* The request's source into out: the peer's address, or, when the peer is a trusted proxy,
 * the last address in X-Forwarded-For that is not one (a client cannot forge its way past
 * the proxies, which append). via_https: a trusted proxy said X-Forwarded-Proto: https. */
void http_auth_client_source(const struct http_auth *auth, struct MHD_Connection *connection,
                             const char *peer_ip, char *out, size_t size, bool *via_https);

/* Whether a password is set (re-read from the store until one is: the CLI may set it
 * while the daemon runs). */
bool http_auth_password_set(struct http_auth *auth);
/* Whether code is the current setup code (constant time); false when there is none. */
bool http_auth_setup_code_ok(const struct http_auth *auth, const char *code);
/* Where the setup code is written ("" once a password is set). */
const char *http_auth_setup_code_path(const struct http_auth *auth);
/* A password was set: forgets and deletes the setup code. */
void http_auth_password_changed(struct http_auth *auth);

/* Starts a session: stores it and sets the cookie on response; csrf gets the session's
 * CSRF token. Returns 0 or an error (logged, and a 500 in response). */
int http_auth_session_start(struct http_state *state, struct http_response *response, bool secure,
                            char csrf[80]);
/* Sends a session's cookie again with a fresh Max-Age when its expiry moved (so the
 * browser keeps it as long as the daemon does), unless the answer sets one itself. */
void http_auth_renew_cookie(struct http_state *state, const struct http_request *request,
                            struct http_response *response);
/* Clears the session cookie on response. */
void http_auth_cookie_clear(struct http_response *response);

/* --- Connections (listener.c) -------------------------------------------------------- */

/* Connections at once, all clients together, and per client address (the newcomer over a
 * limit takes the place of the one that has waited longest for its request). */
#define HTTP_CONNECTION_LIMIT 64
#define HTTP_PER_ADDRESS_CONNECTION_LIMIT 32
/* A connection's request (headers and body) must have arrived whole this long after the
 * connection was accepted or its previous answer ended; then it is closed. */
#define HTTP_REQUEST_DEADLINE_MS 10000

/* What per-address limits count a client under: an IPv4 address, or an IPv6 address's
 * /64 (the block one host may take addresses from at will). */
struct http_address_key {
    unsigned char bytes[16];
};
/* The key of a client address given as text; false when it is not an address. */
bool http_address_key(const char *client_ip, struct http_address_key *key);

/* --- Deferred answers (server.c) ------------------------------------------------------ */

/* Answers a request later, after slow work (a password hash) ran on libuv's thread pool:
 * work(arg) runs there and must touch nothing but arg; then done(state, arg, response)
 * runs on the loop, fills the answer and frees arg. The connection waits, suspended, and
 * the handler returns at once. arg is owned by the deferral from this call on. */
void http_defer(struct http_state *state, const struct http_request *request,
                struct http_response *response, void (*work)(void *arg),
                void (*done)(struct http_state *state, void *arg, struct http_response *response),
                void *arg);

/* Answers a request later, from a callback on the loop (an HTTP transfer the handler
 * started): the connection waits, suspended, and the handler returns at once. Returns what
 * to hand to http_await_answer, or NULL when the request has no connection to wait on (one
 * built in memory) or memory ran out: then the handler answers now. */
struct deferral *http_await(struct http_state *state, const struct http_request *request,
                            struct http_response *response);
/* The answer of an awaited request, taken from reply (which is left empty); the connection
 * resumes and sends it. Exactly once per http_await; deferral is gone afterwards. */
void http_await_answer(struct deferral *deferral, struct http_response *reply);

/* The Content-Security-Policy for config into out (server.c): the dashboard's own files,
 * and images from the origin of site.map_tiles_url. */
void http_security_policy(const struct balkon_config *config, char *out, size_t size);

/* --- Reads on the thread pool (read_job.c) -------------------------------------------- */

struct balkon_store;

/* Reads from the store and fills the answer, on a pool thread: may use only store and arg
 * (never http_state, the config or MHD), and fills reply with http_reply_json,
 * http_reply_error or http_reply_text. */
typedef void (*http_read_fn)(struct balkon_store *store, void *arg, struct http_response *reply);
/* Back on the loop with the answer read filled in (e.g. to cache it); may be NULL. */
typedef void (*http_read_done_fn)(struct http_state *state, void *arg,
                                  struct http_response *response);

/* Answers the request with read(store, arg) run on libuv's thread pool through a read-only
 * connection inside one read transaction, then done on the loop. arg (malloc'd) is owned by
 * the call from here on and freed with free(). With an in-memory database (no readers) it
 * all runs now, on the loop. */
void http_read(struct http_state *state, const struct http_request *request,
               struct http_response *response, http_read_fn read, http_read_done_fn done,
               void *arg);

/* A kept answer's response, queued again and again: it takes over text (malloc'd JSON),
 * which lives until its last reference goes (the keeper's MHD_destroy_response and every
 * connection still sending it). NULL when out of memory (text is then still the caller's). */
struct MHD_Response *http_kept_response(char *text, size_t len);
/* Answers with a kept answer: its response (NULL: a copy of text). text must be valid for
 * this call. */
void http_reply_kept(struct http_response *response, const char *text, size_t len,
                     struct MHD_Response *kept);

/* Sets an owned JSON text (from json_writer_finish) as a 200 answer, or a 500 when text is
 * NULL (out of memory). */
void http_reply_text(struct http_response *response, char *text, size_t len);
/* The same with what a JSON writer wrote (taken from it). */
struct json_writer;
void http_reply_written(struct http_response *response, struct json_writer *writer);

/* http_defer through a gate. */
void http_defer_gated(struct http_state *state, const struct http_request *request,
                      struct http_response *response, void (*work)(void *arg),
                      void (*done)(struct http_state *state, void *arg,
                                   struct http_response *response),
                      void *arg, struct http_gate *gate);

/* Routes a request to its handler: 404 for an unknown path, 405 (with Allow) for a known
 * path and another method, static assets for everything outside /api/. */
void http_route(struct http_state *state, const struct http_request *request,
                struct http_response *response);

/* Sets a JSON body from a cJSON tree (consumed) with the given status. */
void http_reply_json(struct http_response *response, int status, cJSON *json);
/* Sets {"error": "...", "code": "...", "params": {}} with the given status: the English
 * text, and a code (with parameters) the dashboard translates (web/src/strings.js, "err.").
 * http_reply_error's code is its status's ("bad_request", "not_found", ...). */
void http_reply_error(struct http_response *response, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same with a code of its own and its parameters (taken; NULL for none). */
void http_reply_error_code(struct http_response *response, int status, const char *code,
                           cJSON *params, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* {"name": "value", ...} from NULL-terminated name/value pairs of strings. */
cJSON *http_error_params(const char *name, const char *value, ...);

/* The request's body as a JSON object (the caller deletes it), or NULL after a 400
 * "body: expected a JSON object like <example>". */
cJSON *http_body_object(const struct http_request *request, struct http_response *response,
                        const char *example);

/* Query-string value or NULL. */
const char *http_query(const struct http_request *request, const char *name);
/* The same with its length in *len, which counts a NUL the client encoded as %00 (where
 * the C string would end early). */
const char *http_query_n(const struct http_request *request, const char *name, size_t *len);
/* A request header or NULL (always NULL for a request built without a connection). */
const char *http_header(const struct http_request *request, const char *name);

/* The times the API accepts in a query: 1970-01-01 to 9999-12-31, so that any difference
 * or sum of two of them (plus a few days) stays far from int64's limits. */
#define HTTP_TIME_MIN_MS INT64_C(0)
#define HTTP_TIME_MAX_MS INT64_C(253402300799999)
/* Parses the query parameter name (ISO-8601 or Unix seconds) into ts_ms when present
 * (left alone when absent); false after a 400 naming the parameter. */
bool http_query_time(const struct http_request *request, struct http_response *response,
                     const char *name, int64_t *ts_ms);
/* The text's time when it is one the API accepts; NULL or what is wrong with it. Pure. */
const char *http_parse_query_time(const char *text, int64_t *ts_ms);

/* Whether text[0..len) is well-formed UTF-8 (no overlongs, surrogates or code points
 * beyond U+10FFFF). */
bool http_utf8_valid(const char *text, size_t len);
/* Replaces every byte of text that is not part of well-formed UTF-8 with '?', in place,
 * so that what is echoed back stays valid JSON text. */
void http_utf8_scrub(char *text);

/* Serves an embedded asset; false when there is none at path. */
bool http_serve_asset(const struct http_request *request, struct http_response *response);

/* ISO string helper for JSON answers. */
void http_add_time(cJSON *object, const char *key, int64_t ts_ms);

/* Handlers, one file per resource. */
void api_health_get(struct http_state *, const struct http_request *, struct http_response *);
void api_status_get(struct http_state *, const struct http_request *, struct http_response *);
void api_series_get(struct http_state *, const struct http_request *, struct http_response *);
void api_devices_get(struct http_state *, const struct http_request *, struct http_response *);
void api_devices_catalogue_get(struct http_state *, const struct http_request *,
                               struct http_response *);
void api_devices_test_post(struct http_state *, const struct http_request *,
                           struct http_response *);
void api_devices_test_get(struct http_state *, const struct http_request *, struct http_response *);
/* Forgets the tests still running (http's stop): their answers never come. */
void api_devices_tests_stop(struct http_state *state);
/* GET /api/v1/geocode: place search through site.geocoder_url (api_geocode.c). */
void api_geocode_get(struct http_state *, const struct http_request *, struct http_response *);
/* Cancels the searches in flight (each is answered 503) and closes the geocoder's client
 * (http's stop). */
void api_geocode_stop(struct http_state *state);
/* {"error":"config has N errors","errors":[{"path":…,"message":…},…]} (api_config.c);
 * prefix ("devices[0].", or "") is cut from the front of each path. */
cJSON *http_config_errors_json(const struct balkon_config_errors *errors, const char *prefix);
void api_prices_get(struct http_state *, const struct http_request *, struct http_response *);
void api_forecast_solar_get(struct http_state *, const struct http_request *,
                            struct http_response *);
void api_forecast_accuracy_get(struct http_state *, const struct http_request *,
                               struct http_response *);
void api_signal_get(struct http_state *, const struct http_request *, struct http_response *);
void api_providers_get(struct http_state *, const struct http_request *, struct http_response *);
void api_forecast_load_get(struct http_state *, const struct http_request *,
                           struct http_response *);
void api_plan_get(struct http_state *, const struct http_request *, struct http_response *);
void api_strategy_get(struct http_state *, const struct http_request *, struct http_response *);
void api_strategy_put(struct http_state *, const struct http_request *, struct http_response *);
void api_savings_get(struct http_state *, const struct http_request *, struct http_response *);
void api_sizing_get(struct http_state *, const struct http_request *, struct http_response *);
void api_devices_detect_post(struct http_state *, const struct http_request *,
                             struct http_response *);
void api_devices_browse_post(struct http_state *, const struct http_request *,
                             struct http_response *);
void api_device_command_post(struct http_state *, const struct http_request *,
                             struct http_response *);
void api_commands_get(struct http_state *, const struct http_request *, struct http_response *);
void api_control_get(struct http_state *, const struct http_request *, struct http_response *);
void api_loads_get(struct http_state *, const struct http_request *, struct http_response *);
void api_load_override_post(struct http_state *, const struct http_request *,
                            struct http_response *);
void api_openapi_get(struct http_state *, const struct http_request *, struct http_response *);
void api_recommendations_get(struct http_state *, const struct http_request *,
                             struct http_response *);

/* Parses from/to query parameters (ISO-8601 or Unix seconds) with defaults; on a bad value
 * replies 400 naming the parameter and returns false. */
bool http_query_range(const struct http_request *request, struct http_response *response,
                      int64_t default_from_ms, int64_t default_to_ms, int64_t *from_ms,
                      int64_t *to_ms);
/* Whether [from_ms, to_ms) is a range the API serves (from before to, at most 400 days);
 * if not, a 400 in response. Pure: usable on the thread pool. */
bool http_range_ok(struct http_response *response, int64_t from_ms, int64_t to_ms);
/* The provider named by the query's `provider`, or the first enabled one of kind
 * (enum provider_kind); replies 404 and returns NULL when there is none. */
const struct balkon_provider_config *http_pick_provider(struct http_state *state,
                                                        const struct http_request *request,
                                                        struct http_response *response, int kind,
                                                        const char *what);
/* Adds a number, or null when it is not finite. */
void http_add_number(cJSON *array_or_object, const char *key, double value);

void api_config_get(struct http_state *, const struct http_request *, struct http_response *);
void api_config_put(struct http_state *, const struct http_request *, struct http_response *);
void api_events_get(struct http_state *, const struct http_request *, struct http_response *);
void api_system_get(struct http_state *, const struct http_request *, struct http_response *);
void api_notifications_get(struct http_state *, const struct http_request *,
                           struct http_response *);
void api_metrics_get(struct http_state *, const struct http_request *, struct http_response *);
void api_notifications_channels_get(struct http_state *, const struct http_request *,
                                    struct http_response *);
void api_notifications_test_post(struct http_state *, const struct http_request *,
                                 struct http_response *);
void api_auth_get(struct http_state *, const struct http_request *, struct http_response *);
void api_auth_setup_post(struct http_state *, const struct http_request *, struct http_response *);
void api_auth_login_post(struct http_state *, const struct http_request *, struct http_response *);
void api_auth_logout_post(struct http_state *, const struct http_request *, struct http_response *);
void api_auth_password_put(struct http_state *, const struct http_request *,
                           struct http_response *);
void api_auth_tokens_get(struct http_state *, const struct http_request *, struct http_response *);
void api_auth_tokens_post(struct http_state *, const struct http_request *, struct http_response *);
void api_auth_token_delete(struct http_state *, const struct http_request *,
                           struct http_response *);

/* The bodies of GET status, devices, control, loads and providers, built in one place for
 * the GET answer and the event stream. Each returns a new tree (the caller deletes it);
 * api_control_json returns NULL before the control has run. */
cJSON *api_status_json(const struct http_state *state);
cJSON *api_devices_json(const struct http_state *state);
cJSON *api_control_json(const struct http_state *state);
cJSON *api_loads_json(const struct http_state *state);
cJSON *api_providers_json(const struct http_state *state);

/* Parses the query's `limit` (1 to max, default def); replies 400 and returns false when
 * it is malformed. */
bool http_query_limit(const struct http_request *request, struct http_response *response, long def,
                      long max, long *limit);

/* --- Server-Sent Events (events.c) ---------------------------------------------------- */

/* The event types of GET /api/v1/events. The first HTTP_EVENT_THROTTLED_COUNT carry state
 * (the newest wins, at most one per client and second); the others are occurrences that
 * always go. */
enum http_event_type {
    HTTP_EVENT_STATUS,
    HTTP_EVENT_DEVICES,
    HTTP_EVENT_CONTROL,
    HTTP_EVENT_LOADS,
    HTTP_EVENT_PLAN,
    HTTP_EVENT_PROVIDERS,
    HTTP_EVENT_THROTTLED_COUNT,
    HTTP_EVENT_COMMAND = HTTP_EVENT_THROTTLED_COUNT,
    HTTP_EVENT_DEVICE_ONLINE,
    HTTP_EVENT_TYPE_COUNT
};

#define HTTP_EVENTS_MAX_CLIENTS 16
/* Streams one client address may hold (an IPv6 address counts by its /64), so that one
 * cannot take them all. */
#define HTTP_EVENTS_PER_ADDRESS_MAX 8

/* Makes the hub of the event streams. wake(wake_arg) must make MHD run soon (not from
 * inside the call: it may come from a bus handler that MHD_run itself caused), after a
 * suspended connection was resumed. Returns NULL when out of memory. */
struct http_events *http_events_new(struct http_state *state, uv_loop_t *loop,
                                    void (*wake)(void *wake_arg), void *wake_arg);
/* The state behind a throttled type changed (state already updated): every client gets
 * it, now or as soon as its throttle allows. */
void http_events_changed(struct http_events *events, enum http_event_type type);
/* An occurrence (HTTP_EVENT_COMMAND, HTTP_EVENT_DEVICE_ONLINE) for every client; data is
 * consumed. */
void http_events_push(struct http_events *events, enum http_event_type type, cJSON *data);
size_t http_events_client_count(const struct http_events *events);
/* Ends every stream (their readers finish at once) and closes the hub's timer. After
 * this, MHD_stop_daemon may run: no connection is left suspended. */
void http_events_stop(struct http_events *events);
/* Frees the hub, after MHD_stop_daemon (which releases the streams) and the loop's end.
 * Accepts NULL. */
void http_events_free(struct http_events *events);

#endif
