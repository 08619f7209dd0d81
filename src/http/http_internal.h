/* Private to src/http: the request/response types the router and handlers share. */
#ifndef BALKON_HTTP_INTERNAL_H
#define BALKON_HTTP_INTERNAL_H

#include "balkon/bus.h"
#include "balkon/config.h"
#include "balkon/module.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

struct MHD_Connection;

#define HTTP_MAX_DEVICES 48

/* What the HTTP module knows, kept up to date from the bus. */
struct http_state {
    struct balkon_ctx *ctx;
    bool have_status;
    struct ev_site_status status;
    struct ev_device_state devices[HTTP_MAX_DEVICES];
    size_t device_count;
    struct ev_provider_status providers[BALKON_MAX_PROVIDERS];
    size_t provider_count;
    struct ev_command_result last_result; /* the newest command result, for the API's answer */
    uint64_t next_request_id;
    bool have_control;
    struct ev_control_status control;
    struct ev_loads_status loads;
};

struct http_request {
    const char *method;
    const char *path;
    char path_param[64]; /* the {id} of a route like /api/v1/devices/{id}/command */
    struct MHD_Connection *connection;
    const char *body;
    size_t body_size;
};

struct http_response {
    int status;
    const char *content_type;
    char *body;              /* owned unless body_static */
    size_t body_size;
    bool body_static;
    const char *cache_control;
    char etag[24];           /* "" for none */
    char allow[48];          /* Allow header for 405 */
};

typedef void (*http_handler)(struct http_state *state, const struct http_request *request,
                             struct http_response *response);

struct http_route {
    const char *method;
    const char *path;
    http_handler handler;
};

/* Routes a request to its handler: 404 for an unknown path, 405 (with Allow) for a known
 * path and another method, static assets for everything outside /api/. */
void http_route(struct http_state *state, const struct http_request *request,
                struct http_response *response);

/* Sets a JSON body from a cJSON tree (consumed) with the given status. */
void http_reply_json(struct http_response *response, int status, cJSON *json);
/* Sets {"error": "..."} with the given status. */
void http_reply_error(struct http_response *response, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Query-string value or NULL. */
const char *http_query(const struct http_request *request, const char *name);

/* Serves an embedded asset; false when there is none at path. */
bool http_serve_asset(const struct http_request *request, struct http_response *response);

/* ISO string helper for JSON answers. */
void http_add_time(cJSON *object, const char *key, int64_t ts_ms);

/* Handlers, one file per resource. */
void api_health_get(struct http_state *, const struct http_request *, struct http_response *);
void api_status_get(struct http_state *, const struct http_request *, struct http_response *);
void api_series_get(struct http_state *, const struct http_request *, struct http_response *);
void api_devices_get(struct http_state *, const struct http_request *, struct http_response *);
void api_prices_get(struct http_state *, const struct http_request *, struct http_response *);
void api_forecast_solar_get(struct http_state *, const struct http_request *, struct http_response *);
void api_forecast_accuracy_get(struct http_state *, const struct http_request *, struct http_response *);
void api_signal_get(struct http_state *, const struct http_request *, struct http_response *);
void api_providers_get(struct http_state *, const struct http_request *, struct http_response *);
void api_forecast_load_get(struct http_state *, const struct http_request *, struct http_response *);
void api_plan_get(struct http_state *, const struct http_request *, struct http_response *);
void api_strategy_get(struct http_state *, const struct http_request *, struct http_response *);
void api_strategy_put(struct http_state *, const struct http_request *, struct http_response *);
void api_savings_get(struct http_state *, const struct http_request *, struct http_response *);
void api_device_command_post(struct http_state *, const struct http_request *, struct http_response *);
void api_commands_get(struct http_state *, const struct http_request *, struct http_response *);
void api_control_get(struct http_state *, const struct http_request *, struct http_response *);
void api_loads_get(struct http_state *, const struct http_request *, struct http_response *);
void api_load_override_post(struct http_state *, const struct http_request *, struct http_response *);

/* Parses from/to query parameters (ISO-8601 or Unix seconds) with defaults; on a bad value
 * replies 400 naming the parameter and returns false. */
bool http_query_range(const struct http_request *request, struct http_response *response,
                      int64_t default_from_ms, int64_t default_to_ms, int64_t *from_ms, int64_t *to_ms);
/* The provider named by the query's `provider`, or the first enabled one of kind
 * (enum provider_kind); replies 404 and returns NULL when there is none. */
const struct balkon_provider_config *http_pick_provider(struct http_state *state,
                                                        const struct http_request *request,
                                                        struct http_response *response, int kind,
                                                        const char *what);
/* Adds a number, or null when it is not finite. */
void http_add_number(cJSON *array_or_object, const char *key, double value);

void api_config_get(struct http_state *, const struct http_request *, struct http_response *);

#endif
