/* Helpers shared by the providers:
 * type-checked reads of cJSON values that never trust the payload, and the few request
 * pieces every one of them builds (base URL, fetch window, percent-encoding, points).
 * The wire formats themselves stay in each provider's file. */
#ifndef BALKON_PROVIDERS_JSON_UTIL_H
#define BALKON_PROVIDERS_JSON_UTIL_H

#include "balkon/provider.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses reply->body (reply->body_size bytes) as JSON. On failure sets PROVIDER_ERR_PARSE
 * and returns NULL. The caller owns the tree (cJSON_Delete). */
cJSON *json_parse_reply(const struct provider_reply *reply, struct provider_result *result);
/* The same without setting an error: NULL when the body is absent or not JSON. For the
 * providers that read an error reply's body too, and word their own parse error. */
cJSON *json_parse_body(const struct provider_reply *reply);
/* The common start of a JSON parse: the status read by provider_check_status, then
 * json_parse_reply. NULL, with the error set, when either refuses the reply. */
cJSON *json_parse_ok_reply(const struct provider_reply *reply, struct provider_result *result);

/* Whether root is a JSON object; false after failing "parse" with "body is not a JSON
 * object" (NULL, an array or a bare value). */
bool json_object_body(const cJSON *root, struct provider_result *result);
/* object[key] when object is an object, else NULL. */
const cJSON *json_member(const cJSON *object, const char *key);
/* object[key] when it is an array; else NULL after failing "parse" with "<key>[] missing"
 * (the one list a signal or PV reply carries). */
const cJSON *json_array_member(const cJSON *object, const char *key,
                               struct provider_result *result);
/* The string value of object[key], or NULL when absent or not a string. */
const char *json_string(const cJSON *object, const char *key);
/* A finite number: true and *out set, false otherwise (null, absent, wrong type). */
bool json_number(const cJSON *item, double *out);
/* A finite number, or null read as NAN (a price the source leaves open). False for
 * anything else, an absent item included. */
bool json_number_or_null(const cJSON *item, double *out);
/* A whole number with |v| < 2^53 (so the conversion is exact and defined). */
bool json_int64(const cJSON *item, int64_t *out);
/* Unix seconds (a number within ±1e11 s, year ~5000: anything beyond is not a timestamp)
 * as ms, rounded to the nearest. */
bool json_unix_ms(const cJSON *item, int64_t *out_ms);
/* An ISO 8601 date-time string ("2026-02-10T00:00:00.000+01:00", "…T22:00Z") as UTC ms.
 * Refuses bare numbers and anything malformed. */
bool json_time(const cJSON *item, int64_t *out_ms);
/* The same for a C string. */
bool iso_time(const char *text, int64_t *out_ms);

/* Appends a price point [start_ms, end_ms) with value (NAN = absent: the normaliser rejects
 * it as "null_value"), p10/p90/aux NAN. Returns false (after setting the error) when out
 * of memory. */
bool price_add(struct provider_result *result, int64_t start_ms, int64_t end_ms, double value,
               int source_index);
/* A point [start_ms, end_ms) with value, p10/p90/aux NAN: the provider sets the fields it
 * has. */
struct provider_point point_make(int64_t start_ms, int64_t end_ms, double value, int source_index);
/* Appends point. Returns false (after setting "out of memory") when it could not. */
bool point_add(struct provider_result *result, const struct provider_point *point);
/* Appends printf-style text to result->detail: a provider's own reason after the common
 * reading of a status. */
void result_detail_append(struct provider_result *result, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Drops points added after the first `keep` (a page that failed half-way adds nothing). */
void price_rollback(struct provider_result *result, size_t keep);

/* The fetch window of every day-ahead provider: local midnight today (process TZ) to local
 * midnight of the day after tomorrow, in UTC ms. */
void price_window(const struct provider_env *env, int64_t *start_ms, int64_t *end_ms);
/* The configured base URL, else fallback, without a trailing '/'. Returns false when it
 * does not fit (a configured base_url is shorter than 256 bytes). */
bool price_base_url(const struct provider_env *env, const char *fallback, char *out, size_t size);
/* Starts a GET request: clears every field and sets the method. */
void request_get(struct provider_request *request);
/* Formats request->url. Returns false, with url cleared, when it does not fit. */
bool request_url(struct provider_request *request, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Ends a request whose URL holds no secret and whose answer is JSON: url_for_log = url,
 * headers[0] = "Accept: application/json". */
void request_accept_json(struct provider_request *request);
/* Puts the reason a request cannot be built into url_for_log; returns BALKON_E_INVAL. */
int request_refuse(struct provider_request *request, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Writes value for a URL with four decimals at most and no trailing zeros:
 * 52.5200 -> "52.52", 35.0 -> "35", -0.0 -> "0". */
void url_number(char *out, size_t size, double value);
/* The requests of a run of a per-plane PV provider: one per configured plane. */
int pv_plane_parts(const struct provider_env *env);
/* Whether two unit strings name the same unit: compared ignoring ASCII case and spaces
 * ("EUR / MWh" = "EUR/MWh" = "Eur/MWh"), as services change their spelling without notice. */
bool unit_equal(const char *got, const char *expected);
/* The path-and-query part of an absolute URL ("/v1/x?page=2"), or NULL when url is not
 * absolute or carries userinfo. *host / *host_len name its host (without the port). */
const char *url_path_part(const char *url, const char **host, size_t *host_len);
/* Percent-encodes text (all but RFC 3986 unreserved characters) into out. Returns false
 * when it does not fit. */
bool url_encode(const char *text, char *out, size_t size);
/* Only ASCII letters and digits (a postal code that goes into a query unescaped). */
bool text_alnum(const char *text);
/* Only URL-unreserved characters (letters, digits, '-', '.', '_', '~'): safe to put into
 * a URL path unescaped. */
bool text_url_safe(const char *text);
/* Printable ASCII without spaces: safe to put into an HTTP header (no header injection). */
bool text_header_safe(const char *text);

#endif
