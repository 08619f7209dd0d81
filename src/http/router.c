/* The route table and the JSON reply helpers. */
#include "http_internal.h"

#include "json_writer.h"

#include "balkon/http_routes.h"
#include "balkon/timeutil.h"

#include <errno.h>
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
    {"GET", "/api/v1/devices/catalogue", api_devices_catalogue_get, HTTP_ACCESS_READ},
    {"POST", "/api/v1/devices/test", api_devices_test_post, HTTP_ACCESS_WRITE},
    {"GET", "/api/v1/devices/test/{id}", api_devices_test_get, HTTP_ACCESS_READ},
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
    {"POST", "/api/v1/devices/detect", api_devices_detect_post, HTTP_ACCESS_WRITE},
    {"POST", "/api/v1/devices/browse", api_devices_browse_post, HTTP_ACCESS_WRITE},
    {"POST", "/api/v1/devices/{id}/command", api_device_command_post, HTTP_ACCESS_WRITE},
    {"GET", "/api/v1/commands", api_commands_get, HTTP_ACCESS_READ},
    {"GET", "/api/v1/control", api_control_get, HTTP_ACCESS_READ},
    {"GET", "/api/v1/loads", api_loads_get, HTTP_ACCESS_READ},
    {"POST", "/api/v1/loads/{id}/override", api_load_override_post, HTTP_ACCESS_WRITE},
    {"GET", "/api/v1/recommendations", api_recommendations_get, HTTP_ACCESS_READ},
    /* Asks a service beyond the LAN on the caller's behalf: for those who may change the
     * site, not for everyone who may read it (http.read_without_login). */
    {"GET", "/api/v1/geocode", api_geocode_get, HTTP_ACCESS_LOGIN},
    {"GET", "/api/v1/openapi.json", api_openapi_get, HTTP_ACCESS_PUBLIC},
};

bool balkon_http_route_at(size_t index, const char **method, const char **path,
                          enum balkon_route_access *access)
{
    if (index >= sizeof routes / sizeof routes[0])
        return false;
    *method = routes[index].method;
    *path = routes[index].path;
    static const enum balkon_route_access as_public[] = {
        [HTTP_ACCESS_PUBLIC] = BALKON_ROUTE_PUBLIC,
        [HTTP_ACCESS_READ] = BALKON_ROUTE_READ,
        [HTTP_ACCESS_LOGIN] = BALKON_ROUTE_LOGIN,
        [HTTP_ACCESS_WRITE] = BALKON_ROUTE_WRITE,
    };
    *access = as_public[routes[index].access];
    return true;
}

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
            http_auth_identify(state, request, &identity);
            routed.identity = &identity;
            if (http_auth_check(state, request, routes[i].access, response))
                routes[i].handler(state, request, response);
            http_auth_renew_cookie(state, request, response);
            return;
        }
        path_known = true;
        size_t len = strlen(allow);
        snprintf(allow + len, sizeof allow - len, "%s%s", len ? ", " : "", routes[i].method);
    }
    if (path_known) {
        http_reply_error_code(response, 405, "method_not_allowed",
                              http_error_params("method", request->method, "allowed", allow, NULL),
                              "method %s not allowed on %s (allowed: %s)", request->method,
                              request->path, allow);
        snprintf(response->allow, sizeof response->allow, "%s", allow);
        return;
    }
    if (strncmp(request->path, "/api/", 5) != 0) {
        if (strcmp(request->method, "GET") != 0 && strcmp(request->method, "HEAD") != 0) {
            http_reply_error_code(
                response, 405, "method_not_allowed",
                http_error_params("method", request->method, "allowed", "GET", NULL),
                "method %s not allowed on %s (allowed: GET)", request->method, request->path);
            snprintf(response->allow, sizeof response->allow, "GET, HEAD");
            return;
        }
        /* The dashboard's files are public: its shell must load to show the login. */
        if (http_serve_asset(request, response))
            return;
    }
    http_reply_error_code(response, 404, "no_such_path",
                          http_error_params("path", request->path, NULL), "no such resource: %s",
                          request->path);
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

/* The code of an error that has none of its own: its status's. */
static const char *status_code(int status)
{
    switch (status) {
    case 400:
        return "bad_request";
    case 401:
        return "login_required";
    case 403:
        return "forbidden";
    case 404:
        return "not_found";
    case 405:
        return "method_not_allowed";
    case 409:
        return "conflict";
    case 413:
        return "too_large";
    case 415:
        return "json_required";
    case 429:
        return "too_many_attempts";
    case 502:
        return "bad_gateway";
    case 503:
        return "unavailable";
    default:
        return "internal";
    }
}

static void reply_error_v(struct http_response *response, int status, const char *code,
                          cJSON *params, const char *fmt, va_list ap)
{
    char message[512];
    vsnprintf(message, sizeof message, fmt, ap);
    /* Messages quote what the client sent (a query value, a path): raw bytes that are not
     * UTF-8 (or a sequence cut by %.40s) would make the answer invalid JSON text. */
    http_utf8_scrub(message);
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "error", message);
    cJSON_AddStringToObject(json, "code", code ? code : status_code(status));
    if (!params)
        params = cJSON_CreateObject();
    if (params)
        cJSON_AddItemToObject(json, "params", params);
    http_reply_json(response, status, json);
}

void http_reply_error(struct http_response *response, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reply_error_v(response, status, NULL, NULL, fmt, ap);
    va_end(ap);
}

void http_reply_error_code(struct http_response *response, int status, const char *code,
                           cJSON *params, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reply_error_v(response, status, code, params, fmt, ap);
    va_end(ap);
}

cJSON *http_error_params(const char *name, const char *value, ...)
{
    cJSON *params = cJSON_CreateObject();
    va_list ap;
    va_start(ap, value);
    while (params && name) {
        /* Values quote the client (a path, a header): kept to valid UTF-8 as the message. */
        char text[200];
        snprintf(text, sizeof text, "%s", value ? value : "");
        http_utf8_scrub(text);
        cJSON_AddStringToObject(params, name, text);
        name = va_arg(ap, const char *);
        if (name)
            value = va_arg(ap, const char *);
    }
    va_end(ap);
    return params;
}

/* Length of the well-formed UTF-8 sequence at p (at most avail bytes), or 0. */
static size_t utf8_sequence(const unsigned char *p, size_t avail)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* the range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* no overlongs */
        else if (c == 0xed)
            hi = 0x9f; /* no surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f; /* nothing beyond U+10FFFF */
    } else {
        return 0;
    }
    if (avail < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

bool http_utf8_valid(const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_sequence(p + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

void http_utf8_scrub(char *text)
{
    unsigned char *p = (unsigned char *)text;
    size_t len = strlen(text);
    for (size_t i = 0; i < len;) {
        size_t n = utf8_sequence(p + i, len - i);
        if (n == 0) {
            p[i] = '?';
            n = 1;
        }
        i += n;
    }
}

/* The first string (key or value) in json that is not UTF-8, as a dotted path into path;
 * false when all are. cJSON decodes \u escapes, so a lone surrogate shows up here too. */
static bool find_bad_utf8(const cJSON *json, char *path, size_t size)
{
    size_t base = strlen(path);
    int index = 0;
    for (const cJSON *item = json->child; item; item = item->next, index++) {
        if (item->string) {
            snprintf(path + base, size - base, "%s%s", base ? "." : "", item->string);
            if (!http_utf8_valid(item->string, strlen(item->string)))
                return true;
        } else {
            snprintf(path + base, size - base, "[%d]", index);
        }
        if (cJSON_IsString(item) && !http_utf8_valid(item->valuestring, strlen(item->valuestring)))
            return true;
        if ((cJSON_IsObject(item) || cJSON_IsArray(item)) && find_bad_utf8(item, path, size))
            return true;
        path[base] = '\0';
    }
    return false;
}

cJSON *http_body_object(const struct http_request *request, struct http_response *response,
                        const char *example)
{
    const char *end = NULL;
    cJSON *body = request->body
                      ? cJSON_ParseWithLengthOpts(request->body, request->body_size, &end, false)
                      : NULL;
    if (!cJSON_IsObject(body)) {
        cJSON_Delete(body);
        http_reply_error_code(response, 400, "bad_body",
                              http_error_params("example", example, NULL),
                              "body: expected a JSON object like %s", example);
        return NULL;
    }
    /* One JSON text and nothing after it but white space: a body with more is not what its
     * sender meant (or an attempt to smuggle a second one past a proxy). */
    size_t rest = (size_t)(end - request->body);
    while (rest < request->body_size && strchr(" \t\r\n", request->body[rest]) &&
           request->body[rest])
        rest++;
    if (rest < request->body_size) {
        cJSON_Delete(body);
        http_reply_error(response, 400,
                         "body: unexpected bytes after the JSON object (at byte %zu)", rest);
        return NULL;
    }
    char path[256] = "";
    if (find_bad_utf8(body, path, sizeof path)) {
        cJSON_Delete(body);
        cJSON *json = cJSON_CreateObject();
        char message[400];
        snprintf(message, sizeof message, "%s: must be valid UTF-8 text", path);
        http_utf8_scrub(message);
        cJSON_AddStringToObject(json, "error", message);
        http_utf8_scrub(path);
        cJSON_AddStringToObject(json, "field", path);
        http_reply_json(response, 400, json);
        return NULL;
    }
    return body;
}

const char *http_query(const struct http_request *request, const char *name)
{
    if (!request->connection) {
        for (size_t i = 0; i < request->query_count; i++)
            if (strcmp(request->query_pairs[i].name, name) == 0)
                return request->query_pairs[i].value;
        return NULL;
    }
    return MHD_lookup_connection_value(request->connection, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_query_n(const struct http_request *request, const char *name, size_t *len)
{
    *len = 0;
    if (!request->connection) {
        const char *value = http_query(request, name);
        if (value)
            *len = strlen(value);
        return value;
    }
    const char *value = NULL;
    if (MHD_lookup_connection_value_n(request->connection, MHD_GET_ARGUMENT_KIND, name,
                                      strlen(name), &value, len) != MHD_YES)
        return NULL;
    return value;
}

const char *http_header(const struct http_request *request, const char *name)
{
    if (!request->connection)
        return NULL;
    return MHD_lookup_connection_value(request->connection, MHD_HEADER_KIND, name);
}

bool http_query_limit(const struct http_request *request, struct http_response *response, long def,
                      long max, long *limit)
{
    *limit = def;
    const char *text = http_query(request, "limit");
    if (!text)
        return true;
    char *end;
    errno = 0;
    *limit = strtol(text, &end, 10);
    if (!*text || *end || errno || *limit < 1 || *limit > max) {
        char max_text[24];
        snprintf(max_text, sizeof max_text, "%ld", max);
        http_reply_error_code(
            response, 400, "range",
            http_error_params("field", "limit", "min", "1", "max", max_text, "got", text, NULL),
            "limit: must be a whole number from 1 to %ld, got \"%.20s\"", max, text);
        return false;
    }
    return true;
}

const char *http_parse_query_time(const char *text, int64_t *ts_ms)
{
    static const char *const expected = "expected an ISO-8601 time or Unix seconds";
    static const char *const out_of_range = "must be a time from 1970-01-01 to 9999-12-31";
    if (!text[0])
        return expected;
    /* Unix seconds are checked here before they are scaled to milliseconds, so that no
     * number (1e300, nan, inf) reaches a conversion to int64 it does not fit. */
    char *end;
    double seconds = strtod(text, &end);
    if (end != text && *end == '\0') {
        if (!isfinite(seconds) || seconds < (double)HTTP_TIME_MIN_MS / 1000 ||
            seconds > (double)HTTP_TIME_MAX_MS / 1000)
            return out_of_range;
    }
    int64_t parsed_ms;
    if (balkon_parse_time(text, &parsed_ms) < 0)
        return expected;
    if (parsed_ms < HTTP_TIME_MIN_MS || parsed_ms > HTTP_TIME_MAX_MS)
        return out_of_range;
    *ts_ms = parsed_ms;
    return NULL;
}

bool http_query_time(const struct http_request *request, struct http_response *response,
                     const char *name, int64_t *ts_ms)
{
    const char *text = http_query(request, name);
    if (!text)
        return true;
    const char *problem = http_parse_query_time(text, ts_ms);
    if (problem) {
        http_reply_error_code(response, 400, "bad_time",
                              http_error_params("field", name, "got", text, NULL),
                              "%s: %s, got \"%.40s\"", name, problem, text);
        return false;
    }
    return true;
}

bool http_query_range(const struct http_request *request, struct http_response *response,
                      int64_t default_from_ms, int64_t default_to_ms, int64_t *from_ms,
                      int64_t *to_ms)
{
    *from_ms = default_from_ms;
    *to_ms = default_to_ms;
    return http_query_time(request, response, "from", from_ms) &&
           http_query_time(request, response, "to", to_ms) &&
           http_range_ok(response, *from_ms, *to_ms);
}

bool http_range_ok(struct http_response *response, int64_t from_ms, int64_t to_ms)
{
    if (from_ms >= to_ms) {
        http_reply_error(response, 400, "from: must be before to");
        return false;
    }
    /* Defaults and stored times come here too, not only checked query times. */
    int64_t span_ms;
    if (__builtin_sub_overflow(to_ms, from_ms, &span_ms) || span_ms > 400 * BALKON_MS_PER_DAY) {
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
