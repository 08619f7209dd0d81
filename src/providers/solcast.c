/* Provider "solcast": PV power of a Solcast rooftop site, with its p10/p90 band. The site
 * (all planes together) is configured at Solcast, so one request covers the plant. The
 * hobbyist plan allows 10 calls per UTC day.
 *
 * Request  GET /rooftop_sites/<site_id>/forecasts?format=json
 *          Authorization: Bearer <api key>
 * Reply    {"forecasts": [{"pv_estimate": 0.5188, "pv_estimate10": 0.3217,
 *           "pv_estimate90": 0.6172, "period_end": "2026-06-21T09:00:00.0000000Z",
 *           "period": "PT30M"}, …]}
 *          kW, the mean over the period ending at period_end (UTC, 7 fractional digits);
 *          period is an ISO 8601 duration (PT30M, also PT5M/PT15M/PT60M).
 * Errors   {"response_status": {"error_code": "TooManyRequests", "message": "…", "errors": []}}
 *          with 401 (auth), 429 (rate_limited: the daily limit, no Retry-After).
 *
 * Mapping  start = period_end − period; value = pv_estimate × 1000 W, p10/p90 likewise.
 *          A null estimate is rejected "null_value"; periods that are not whole slots are
 *          rejected "misaligned" by the normaliser. */
#include "balkon/provider.h"

#include "json_util.h"

#include "balkon/config_types.h"
#include "balkon/error.h"
#include "balkon/timeutil.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_BASE_URL "https://api.solcast.com.au"
#define MAX_PERIOD_MS BALKON_MS_PER_DAY

static void check(const struct balkon_provider_config *provider, const char *path,
                  struct balkon_config_errors *errors)
{
    if (!provider->token[0])
        balkon_config_add_error(errors, path, "token", "type \"solcast\" needs the API key");
    else if (!text_header_safe(provider->token))
        balkon_config_add_error(errors, path, "token", "must be printable ASCII without spaces");
    if (!provider->site_id[0])
        balkon_config_add_error(errors, path, "site_id",
                                "type \"solcast\" needs the rooftop site's resource id");
    else if (!text_url_safe(provider->site_id))
        balkon_config_add_error(
            errors, path, "site_id",
            "must contain only letters, digits, '-', '.', '_' and '~', got \"%s\"",
            provider->site_id);
}

static int build_request(const struct provider_env *env, int part, struct provider_request *request)
{
    const struct balkon_provider_config *pc = env->provider;
    request_get(request);
    if (!pc->token[0] || !text_header_safe(pc->token) || !pc->site_id[0] ||
        !text_url_safe(pc->site_id))
        return request_refuse(request,
                              "solcast: token and site_id are required and must be plain text");
    char base[512];
    bool url_ok =
        price_base_url(env, DEFAULT_BASE_URL, base, sizeof base) &&
        request_url(request, "%s/rooftop_sites/%s/forecasts?format=json", base, pc->site_id);
    int h = snprintf(request->headers[0], sizeof request->headers[0], "Authorization: Bearer %s",
                     pc->token);
    if (!url_ok || h < 0 || (size_t)h >= sizeof request->headers[0]) {
        memset(request, 0, sizeof *request);
        return request_refuse(request, "solcast: base_url or token too long");
    }
    /* The key travels only in the header, so the URL is safe to log as it is. */
    snprintf(request->url_for_log, sizeof request->url_for_log, "%s", request->url);
    snprintf(request->headers[1], sizeof request->headers[1], "Accept: application/json");
    return 0;
}

/* balkon_parse_time also takes bare numbers, and converts "1e300" or "nan" without a range
 * check: only strings that start like a date go to it. */
static bool looks_like_date(const char *text)
{
    return strlen(text) >= 10 && strspn(text, "0123456789") == 4 && text[4] == '-';
}

/* "PT30M", "PT1H", "PT1H30M", "PT900S" -> ms; -1 when not a time-only duration. */
static int64_t parse_duration_ms(const char *text)
{
    if (text[0] != 'P' || text[1] != 'T' || text[2] == '\0')
        return -1;
    int64_t total_ms = 0;
    const char *p = text + 2;
    while (*p) {
        int64_t number = 0;
        int digits = 0;
        while (isdigit((unsigned char)*p) && digits < 7) {
            number = number * 10 + (*p++ - '0');
            digits++;
        }
        if (digits == 0)
            return -1;
        if (*p == 'H')
            total_ms += number * BALKON_MS_PER_HOUR;
        else if (*p == 'M')
            total_ms += number * BALKON_MS_PER_MIN;
        else if (*p == 'S')
            total_ms += number * BALKON_MS_PER_S;
        else
            return -1;
        p++;
        if (total_ms > MAX_PERIOD_MS)
            return -1;
    }
    return total_ms;
}

/* A kW estimate in W; null or absent -> NAN. False for another type. */
static bool estimate_w(const cJSON *item, const char *name, double *out)
{
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(item, name);
    *out = NAN;
    if (!value || cJSON_IsNull(value))
        return true;
    if (!cJSON_IsNumber(value))
        return false;
    *out = value->valuedouble * 1000.0;
    return true;
}

static void parse_forecasts(const cJSON *forecasts, struct provider_result *result)
{
    int index = 0;
    for (const cJSON *item = forecasts->child; item; item = item->next, index++) {
        const cJSON *end = cJSON_GetObjectItemCaseSensitive(item, "period_end");
        const cJSON *period = cJSON_GetObjectItemCaseSensitive(item, "period");
        int64_t end_ms, period_ms;
        if (!cJSON_IsObject(item) || !cJSON_IsString(end) || !cJSON_IsString(period) ||
            !looks_like_date(end->valuestring) ||
            balkon_parse_time(end->valuestring, &end_ms) != 0 ||
            (period_ms = parse_duration_ms(period->valuestring)) < 0) {
            provider_result_reject(result, index, "malformed"); /* a hole, the rest stays */
            continue;
        }
        struct provider_point point = {
            .start_ms = end_ms - period_ms, .end_ms = end_ms, .aux = NAN, .source_index = index};
        /* An estimate that is not a number reads as absent: a null value is a hole. */
        if (!estimate_w(item, "pv_estimate", &point.value))
            point.value = NAN;
        if (!estimate_w(item, "pv_estimate10", &point.p10))
            point.p10 = NAN;
        if (!estimate_w(item, "pv_estimate90", &point.p90))
            point.p90 = NAN;
        if (!point_add(result, &point))
            return;
    }
}

static void parse(const struct provider_env *env, int part, const struct provider_reply *reply,
                  struct provider_result *result)
{
    cJSON *root = json_parse_body(reply);
    if (!provider_check_status(reply, result)) {
        /* Add Solcast's own reason to the status reading. */
        const cJSON *status = cJSON_GetObjectItemCaseSensitive(root, "response_status");
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(status, "error_code");
        const cJSON *message = cJSON_GetObjectItemCaseSensitive(status, "message");
        if (cJSON_IsString(code))
            result_detail_append(result, ", %.40s: %.120s", code->valuestring,
                                 cJSON_IsString(message) ? message->valuestring : "");
        goto done;
    }
    const cJSON *forecasts = json_array_member(root, "forecasts", result);
    if (forecasts)
        parse_forecasts(forecasts, result);
done:
    cJSON_Delete(root);
}

const struct balkon_provider balkon_provider_solcast = {
    .type = "solcast",
    .kind = PROVIDER_KIND_PV,
    .description = "PV forecast of a Solcast rooftop site with p10/p90 (token and site_id)",
    .schedule = PROVIDER_SCHEDULE_INTERVAL,
    .default_interval_min = 180, /* hobbyist plan: 10 calls per day */
    .default_base_url = DEFAULT_BASE_URL,
    .limits = {0, 100000}, /* W: without planes; with them 1.5 × their peak */
    .limit_by_plant = true,
    .check = check,
    .build_request = build_request,
    .parse = parse,
};
