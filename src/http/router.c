/* The route table and the JSON reply helpers. */
#include "http_internal.h"

#include "json_writer.h"

#include "balkon/timeutil.h"

#include <math.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct http_route routes[] = {
    {"GET", "/api/v1/health", api_health_get, HTTP_ACCESS_PUBLIC},
    {"GET", "/api/v1/auth", api_auth_get, HTTP_ACCESS_PUBLIC},
    {"POST", "/api/v1/auth/setup", api_auth_setup_post, HTTP_ACCESS_PUBLIC},
    {"POST", "/api/v1/auth/login", api_auth_login_post, HTTP_ACCESS_PUBLIC},
    {"POST", "/api/v1/auth/logout", api_auth_logout_post, HTTP_ACCESS_PUBLIC},
    {"PUT", "/api/v1/auth/password", api_auth_password_put, HTTP_ACCESS_WRITE},
    {"GET", "/api/v1/auth/tokens", api_auth_tokens_get, HTTP_ACCESS_LOGIN},
    {"POST", "/api/v1/auth/tokens", api_auth_tokens_post, HTTP_ACCESS_WRITE},
    {"DELETE", "/api/v1/auth/tokens/{id}", api_auth_token_delete, HTTP_ACCESS_WRITE},
    {"GET", "/metrics", api_metrics_get, HTTP_ACCESS_READ},
    {"GET", "/api/v1/status", api_status_get, HTTP_ACCESS_READ},
    {"GET", "/api/v1/series", api_series_get, HTTP_ACCESS_READ},
    {"GET", "/api/v1/devices", api_devices_get, HTTP_ACCESS_READ},
    {"GET", "/api/v1/config", api_config_get, HTTP_ACCESS_READ},
    {"PUT", "/api/v1/config", api_config_put, HTTP_ACCESS_WRITE},
    {"GET", "/api/v1/events", api_events_get, HTTP_ACCESS_READ},
    {"GET", "/api/v1/system", api_system_get, HTTP_ACCESS_READ},
    {"GET", "/api/v1/notifications", api_notifications_get, HTTP_ACCESS_READ},
    {"GET", "/api/v1/notifications/channels", api_notifications_channels_get, HTTP_ACCESS_READ},
    {"POST", "/api/v1/notifications/test", api_notifications_test_post, HTTP_ACCESS_WRITE},
    {"GET", "/api/v1/prices", api_prices_get, HTTP_ACCESS_READ},
    {"GET", "/api/v1/forecast/solar", api_forecast_solar_get, HTTP_ACCESS_READ},
    {"GET", "/api/v1/forecast/solar/accuracy", api_forecast_accuracy_get, HTTP_ACCESS_READ},
    {"GET", "/api/v1/signal", api_signal_get, HTTP_ACCESS_READ},
    {"GET", "/api/v1/providers", api_providers_get, HTTP_ACCESS_READ},
    {"GET", "/api/v1/forecast/load", api_forecast_load_get, HTTP_ACCESS_READ},
    {"GET", "/api/v1/plan", api_plan_get, HTTP_ACCESS_READ},
    {"GET", "/api/v1/strategy", api_strategy_get, HTTP_ACCESS_READ},
    {"PUT", "/api/v1/strategy", api_strategy_put, HTTP_ACCESS_WRITE},
    {"GET", "/api/v1/savings", api_savings_get, HTTP_ACCESS_READ},
    {"GET", "/api/v1/savings/sizes", api_sizing_get, HTTP_ACCESS_READ},
    {"POST", "/api/v1/devices/{id}/command", api_device_command_post, HTTP_ACCESS_WRITE},
    {"GET", "/api/v1/commands", api_commands_get, HTTP_ACCESS_READ},
    {"GET", "/api/v1/control", api_control_get, HTTP_ACCESS_READ},
    {"GET", "/api/v1/loads", api_loads_get, HTTP_ACCESS_READ},
    {"POST", "/api/v1/loads/{id}/override", api_load_override_post, HTTP_ACCESS_WRITE},
    {"GET", "/api/v1/recommendations", api_recommendations_get, HTTP_ACCESS_READ},
};

/* Whether path matches pattern, where a "{id}" segment matches one non-empty segment
 * (copied into param). */
static bool path_matches(const char *pattern, const char *path, char *param, size_t param_size)
{
    while (*pattern && *path) {
        if (strncmp(pattern, "{id}", 4) == 0) {
            size_t len = strcspn(path, "/");
            if (len == 0 || len >= param_size)
                return false;
            memcpy(param, path, len);
            param[len] = '\0';
            pattern += 4;
            path += len;
            continue;
        }
        if (*pattern++ != *path++)
            return false;
    }
    return *pattern == '\0' && *path == '\0';
}

void http_route(struct http_state *state, const struct http_request *request_in,
                struct http_response *response)
{
    struct http_request routed = *request_in;
    const struct http_request *request = &routed;
    bool path_known = false;
    char allow[48] = "";
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!path_matches(routes[i].path, request->path, routed.path_param,
                          sizeof routed.path_param))
            continue;
        if (strcmp(routes[i].method, request->method) == 0 ||
            (strcmp(request->method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0)) {
            /* Who asks is looked up for the API only: the dashboard's files are public. */
            struct http_identity identity;
            http_auth_identify(state, request->connection, &identity);
            routed.identity = &identity;
            if (http_auth_check(state, request, routes[i].access, response))
                routes[i].handler(state, request, response);
            http_auth_renew_cookie(state, &identity, response);
            return;
        }
        path_known = true;
        size_t len = strlen(allow);
        snprintf(allow + len, sizeof allow - len, "%s%s", len ? ", " : "", routes[i].method);
    }
    if (path_known) {
        http_reply_error(response, 405, "method %s not allowed on %s (allowed: %s)",
                         request->method, request->path, allow);
        snprintf(response->allow, sizeof response->allow, "%s", allow);
        return;
    }
    if (strncmp(request->path, "/api/", 5) != 0) {
        if (strcmp(request->method, "GET") != 0 && strcmp(request->method, "HEAD") != 0) {
            http_reply_error(response, 405, "method %s not allowed on %s (allowed: GET)",
                             request->method, request->path);
            snprintf(response->allow, sizeof response->allow, "GET, HEAD");
            return;
        }
        /* The dashboard's files are public: its shell must load to show the login. */
        if (http_serve_asset(request, response))
            return;
    }
    http_reply_error(response, 404, "no such resource: %s", request->path);
}

void http_reply_json(struct http_response *response, int status, cJSON *json)
{
    char *text = json ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    if (!text) {
        response->status = 500;
        response->content_type = "application/json";
        response->body = (char *)"{\"error\":\"out of memory\"}";
        response->body_size = strlen(response->body);
        response->body_static = true;
        return;
    }
    response->status = status;
    response->content_type = "application/json";
    response->body = text;
    response->body_size = strlen(text);
    response->body_static = false;
    response->cache_control = "no-store";
}

void http_reply_text(struct http_response *response, char *text, size_t len)
{
    if (!text) {
        http_reply_json(response, 500, NULL);
        return;
    }
    response->status = 200;
    response->content_type = "application/json";
    response->body = text;
    response->body_size = len;
    response->body_static = false;
    response->cache_control = "no-store";
}

void http_reply_written(struct http_response *response, struct json_writer *writer)
{
    size_t len = 0;
    char *text = json_writer_finish(writer, &len);
    http_reply_text(response, text, len);
}

void http_reply_error(struct http_response *response, int status, const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "error", message);
    http_reply_json(response, status, json);
}

cJSON *http_body_object(const struct http_request *request, struct http_response *response,
                        const char *example)
{
    cJSON *body = request->body ? cJSON_ParseWithLength(request->body, request->body_size) : NULL;
    if (!cJSON_IsObject(body)) {
        cJSON_Delete(body);
        http_reply_error(response, 400, "body: expected a JSON object like %s", example);
        return NULL;
    }
    return body;
}

const char *http_query(const struct http_request *request, const char *name)
{
    return MHD_lookup_connection_value(request->connection, MHD_GET_ARGUMENT_KIND, name);
}

bool http_query_limit(const struct http_request *request, struct http_response *response, long def,
                      long max, long *limit)
{
    *limit = def;
    const char *text = http_query(request, "limit");
    if (!text)
        return true;
    char *end;
    *limit = strtol(text, &end, 10);
    if (!*text || *end || *limit < 1 || *limit > max) {
        http_reply_error(response, 400,
                         "limit: must be a whole number from 1 to %ld, got \"%.20s\"", max, text);
        return false;
    }
    return true;
}

bool http_query_range(const struct http_request *request, struct http_response *response,
                      int64_t default_from_ms, int64_t default_to_ms, int64_t *from_ms,
                      int64_t *to_ms)
{
    static const char *const names[2] = {"from", "to"};
    int64_t *targets[2] = {from_ms, to_ms};
    *from_ms = default_from_ms;
    *to_ms = default_to_ms;
    for (int i = 0; i < 2; i++) {
        const char *text = http_query(request, names[i]);
        if (text && balkon_parse_time(text, targets[i]) < 0) {
            http_reply_error(response, 400,
                             "%s: expected an ISO-8601 time or Unix seconds, got \"%.40s\"",
                             names[i], text);
            return false;
        }
    }
    return http_range_ok(response, *from_ms, *to_ms);
}

bool http_range_ok(struct http_response *response, int64_t from_ms, int64_t to_ms)
{
    if (from_ms >= to_ms) {
        http_reply_error(response, 400, "from: must be before to");
        return false;
    }
    if (to_ms - from_ms > 400 * BALKON_MS_PER_DAY) {
        http_reply_error(response, 400, "to: the range may span at most 400 days");
        return false;
    }
    return true;
}

void http_add_number(cJSON *target, const char *key, double value)
{
    cJSON *item = isfinite(value) ? cJSON_CreateNumber(value) : cJSON_CreateNull();
    if (cJSON_IsArray(target))
        cJSON_AddItemToArray(target, item);
    else
        cJSON_AddItemToObject(target, key, item);
}

void http_add_time(cJSON *object, const char *key, int64_t ts_ms)
{
    char iso[BALKON_ISO_MAX];
    cJSON_AddStringToObject(object, key, balkon_format_iso(ts_ms, iso, sizeof iso));
}
