/* Shared helpers of the price providers; see json_util.h. */
#include "json_util.h"

#include "balkon/config_types.h"
#include "balkon/error.h"
#include "balkon/timeutil.h"
#include "local_days.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

cJSON *json_parse_reply(const struct provider_reply *reply, struct provider_result *result)
{
    cJSON *root = json_parse_body(reply);
    if (!root)
        provider_result_fail(result, PROVIDER_ERR_PARSE,
                             "response body is not valid JSON (%zu bytes)", reply->body_size);
    return root;
}

cJSON *json_parse_body(const struct provider_reply *reply)
{
    return reply->body ? cJSON_ParseWithLength(reply->body, reply->body_size) : NULL;
}

cJSON *json_parse_ok_reply(const struct provider_reply *reply, struct provider_result *result)
{
    return provider_check_status(reply, result) ? json_parse_reply(reply, result) : NULL;
}

bool json_object_body(const cJSON *root, struct provider_result *result)
{
    if (cJSON_IsObject(root))
        return true;
    provider_result_fail(result, PROVIDER_ERR_PARSE, "body is not a JSON object");
    return false;
}

const cJSON *json_member(const cJSON *object, const char *key)
{
    return cJSON_IsObject(object) ? cJSON_GetObjectItemCaseSensitive(object, key) : NULL;
}

const cJSON *json_array_member(const cJSON *object, const char *key, struct provider_result *result)
{
    const cJSON *array = json_member(object, key);
    if (cJSON_IsArray(array))
        return array;
    provider_result_fail(result, PROVIDER_ERR_PARSE, "%s[] missing", key);
    return NULL;
}

const char *json_string(const cJSON *object, const char *key)
{
    const cJSON *item = json_member(object, key);
    return cJSON_IsString(item) && item->valuestring ? item->valuestring : NULL;
}

bool json_number(const cJSON *item, double *out)
{
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble))
        return false;
    *out = item->valuedouble;
    return true;
}

bool json_number_or_null(const cJSON *item, double *out)
{
    if (cJSON_IsNull(item)) {
        *out = NAN;
        return true;
    }
    return json_number(item, out);
}

bool json_int64(const cJSON *item, int64_t *out)
{
    double v;
    if (!json_number(item, &v) || fabs(v) >= 9007199254740992.0 || v != floor(v))
        return false;
    *out = (int64_t)v;
    return true;
}

bool json_unix_ms(const cJSON *item, int64_t *out_ms)
{
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble) || fabs(item->valuedouble) > 1e11)
        return false;
    *out_ms = (int64_t)llround(item->valuedouble * 1000.0);
    return true;
}

bool iso_time(const char *text, int64_t *out_ms)
{
    /* "YYYY-MM-DD" first, so balkon_parse_time never takes its bare-number path (whose
     * conversion of a huge number would be undefined). */
    if (!text || strlen(text) < 16 || !isdigit((unsigned char)text[0]) || text[4] != '-' ||
        text[7] != '-' || (text[10] != 'T' && text[10] != 't' && text[10] != ' '))
        return false;
    return balkon_parse_time(text, out_ms) == 0;
}

bool json_time(const cJSON *item, int64_t *out_ms)
{
    return cJSON_IsString(item) && iso_time(item->valuestring, out_ms);
}

struct provider_point point_make(int64_t start_ms, int64_t end_ms, double value, int source_index)
{
    return (struct provider_point){.start_ms = start_ms,
                                   .end_ms = end_ms,
                                   .value = value,
                                   .p10 = NAN,
                                   .p90 = NAN,
                                   .aux = NAN,
                                   .source_index = source_index};
}

bool point_add(struct provider_result *result, const struct provider_point *point)
{
    if (provider_result_add(result, point) == 0)
        return true;
    provider_result_fail(result, PROVIDER_ERR_PARSE, "out of memory");
    return false;
}

void result_detail_append(struct provider_result *result, const char *fmt, ...)
{
    size_t len = strlen(result->detail);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(result->detail + len, sizeof result->detail - len, fmt, ap);
    va_end(ap);
}

bool price_add(struct provider_result *result, int64_t start_ms, int64_t end_ms, double value,
               int source_index)
{
    struct provider_point point = point_make(start_ms, end_ms, value, source_index);
    if (provider_result_add(result, &point) == 0)
        return true;
    provider_result_fail(result, PROVIDER_ERR_PARSE, "out of memory after %zu points",
                         result->count);
    return false;
}

void price_rollback(struct provider_result *result, size_t keep)
{
    if (result->count > keep)
        result->count = keep;
}

void price_window(const struct provider_env *env, int64_t *start_ms, int64_t *end_ms)
{
    *start_ms = local_midnight_ms(env->now_ms);
    *end_ms = local_midnight_after_ms(env->now_ms, 2);
}

bool price_base_url(const struct provider_env *env, const char *fallback, char *out, size_t size)
{
    const char *base =
        env->provider && env->provider->base_url[0] ? env->provider->base_url : fallback;
    size_t len = strlen(base);
    while (len > 0 && base[len - 1] == '/')
        len--;
    if (len >= size)
        return false;
    memcpy(out, base, len);
    out[len] = '\0';
    return true;
}

void request_get(struct provider_request *request)
{
    memset(request, 0, sizeof *request);
    snprintf(request->method, sizeof request->method, "GET");
}

bool request_url(struct provider_request *request, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(request->url, sizeof request->url, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof request->url)
        return true;
    request->url[0] = '\0';
    return false;
}

void request_accept_json(struct provider_request *request)
{
    snprintf(request->url_for_log, sizeof request->url_for_log, "%s", request->url);
    snprintf(request->headers[0], sizeof request->headers[0], "Accept: application/json");
}

int request_refuse(struct provider_request *request, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(request->url_for_log, sizeof request->url_for_log, fmt, ap);
    va_end(ap);
    return BALKON_E_INVAL;
}

void url_number(char *out, size_t size, double value)
{
    snprintf(out, size, "%.4f", value);
    if (strchr(out, '.')) {
        size_t len = strlen(out);
        while (len > 0 && out[len - 1] == '0')
            out[--len] = '\0';
        if (len > 0 && out[len - 1] == '.')
            out[--len] = '\0';
    }
    if (strcmp(out, "-0") == 0)
        snprintf(out, size, "0");
}

int pv_plane_parts(const struct provider_env *env)
{
    size_t count = env->config->pv.plane_count;
    return (int)(count > BALKON_MAX_PLANES ? BALKON_MAX_PLANES : count);
}

bool url_encode(const char *text, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        bool plain = isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~';
        if (n + (plain ? 1 : 3) >= size)
            return false;
        if (plain) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    if (size == 0)
        return false;
    out[n] = '\0';
    return true;
}

/* The "scheme://authority" prefix of url (up to the first '/', '?' or '#' after it), or
 * 0 when url is not absolute. */
static size_t origin_len(const char *url)
{
    const char *sep = strstr(url, "://");
    if (!sep || sep == url)
        return 0;
    for (const char *p = url; p < sep; p++)
        if (!isalpha((unsigned char)*p))
            return 0;
    const char *authority = sep + 3;
    size_t len = strcspn(authority, "/?#");
    if (len == 0)
        return 0;
    return (size_t)(authority - url) + len;
}

bool url_same_origin(const char *url, const char *base)
{
    size_t a = origin_len(url), b = origin_len(base);
    /* Host names are case-insensitive; userinfo ("user@") would let a look-alike through,
     * so an '@' in the authority never matches. */
    return a > 0 && a == b && strncasecmp(url, base, a) == 0 && !memchr(url, '@', a);
}

bool unit_equal(const char *got, const char *expected)
{
    if (!got || !expected)
        return false;
    const char *a = got, *b = expected;
    for (;;) {
        while (*a == ' ')
            a++;
        while (*b == ' ')
            b++;
        if (!*a || !*b)
            return !*a && !*b;
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
        a++;
        b++;
    }
}

const char *url_path_part(const char *url, const char **host, size_t *host_len)
{
    size_t origin = origin_len(url);
    if (!origin)
        return NULL;
    const char *authority = strstr(url, "://") + 3;
    const char *end = url + origin;
    /* userinfo ("user@host") is how look-alike links hide their real host: no host then. */
    if (memchr(authority, '@', (size_t)(end - authority)))
        return NULL;
    const char *h = authority;
    const char *colon = memchr(h, ':', (size_t)(end - h));
    *host = h;
    *host_len = (size_t)((colon ? colon : end) - h);
    return *end ? end : "/";
}

bool text_alnum(const char *text)
{
    for (const char *p = text; *p; p++)
        if (!isalnum((unsigned char)*p))
            return false;
    return true;
}

bool text_url_safe(const char *text)
{
    for (const char *p = text; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("-._~", *p))
            return false;
    return true;
}

bool text_header_safe(const char *text)
{
    for (const char *p = text; *p; p++)
        if (*p <= ' ' || *p >= 0x7f)
            return false;
    return true;
}
