/* Provider "uk_carbon": the carbon intensity of Great Britain's grid (National Grid ESO),
 * forecast 48 h ahead in half-hours. No key.
 *
 * Request  GET /intensity/2026-06-21T10:30Z/fw48h
 *          (from = now floored to the half-hour, UTC, formatted YYYY-MM-DDTHH:MMZ)
 * Reply    {"data": [{"from": "2026-06-21T10:30Z", "to": "2026-06-21T11:00Z",
 *           "intensity": {"forecast": 117, "actual": 121, "index": "moderate"}}, …]}
 *          timestamps without seconds; gCO2/kWh; "actual" is null for half-hours not yet
 *          past. Errors: {"error": {"code": "400 Bad Request", "message": "…"}}.
 *
 * Mapping  interval = [from, to) (1800 s -> 2 slots); value = intensity.forecast;
 *          a null forecast is rejected "null_value". Only the national series: the regional
 *          endpoints answer in another shape. */
#include "balkon/provider.h"

#include "balkon/config_types.h"
#include "balkon/error.h"
#include "balkon/timeutil.h"
#include "json_util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define DEFAULT_BASE_URL "https://api.carbonintensity.org.uk"

static int build_request(const struct provider_env *env, int part, struct provider_request *request)
{
    request_get(request);
    time_t from = (time_t)(balkon_floor_ms(env->now_ms, 2 * BALKON_SLOT_MS) / 1000);
    struct tm tm;
    if (!gmtime_r(&from, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
        return request_refuse(request, "uk_carbon: clock out of range");
    char base[512];
    if (!price_base_url(env, DEFAULT_BASE_URL, base, sizeof base) ||
        !request_url(request, "%s/intensity/%04d-%02d-%02dT%02d:%02dZ/fw48h", base,
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min))
        return request_refuse(request, "uk_carbon: base_url too long");
    request_accept_json(request);
    return 0;
}

/* A "YYYY-MM-DDTHH:MMZ" member. Only date-shaped text goes to balkon_parse_time, which
 * also takes bare numbers and converts "1e300" or "nan" without a range check. */
static bool time_member(const cJSON *object, const char *name, int64_t *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);
    if (!cJSON_IsString(item))
        return false;
    const char *text = item->valuestring;
    return strlen(text) >= 10 && strspn(text, "0123456789") == 4 && text[4] == '-' &&
           balkon_parse_time(text, out) == 0;
}

static void parse_data(const cJSON *data, struct provider_result *result)
{
    int index = 0;
    for (const cJSON *item = data->child; item; item = item->next, index++) {
        const cJSON *intensity = cJSON_GetObjectItemCaseSensitive(item, "intensity");
        const cJSON *forecast = cJSON_GetObjectItemCaseSensitive(intensity, "forecast");
        int64_t start_ms, end_ms;
        if (!cJSON_IsObject(item) || !time_member(item, "from", &start_ms) ||
            !time_member(item, "to", &end_ms)) {
            provider_result_reject(result, index, "malformed"); /* a hole, the rest stays */
            continue;
        }
        /* A null (or absent, or non-number) forecast stays NAN, rejected "null_value". */
        struct provider_point point = point_make(
            start_ms, end_ms, cJSON_IsNumber(forecast) ? forecast->valuedouble : NAN, index);
        if (!point_add(result, &point))
            return;
    }
}

static void parse(const struct provider_env *env, int part, const struct provider_reply *reply,
                  struct provider_result *result)
{
    cJSON *root = json_parse_body(reply);
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
    const cJSON *message = cJSON_GetObjectItemCaseSensitive(error, "message");
    if (!provider_check_status(reply, result)) {
        if (cJSON_IsString(message))
            result_detail_append(result, ", %.160s", message->valuestring);
        goto done;
    }
    if (!json_object_body(root, result))
        goto done;
    if (cJSON_IsObject(error)) {
        provider_result_fail(result, PROVIDER_ERR_PROVIDER, "error: %.200s",
                             cJSON_IsString(message) ? message->valuestring : "(no message)");
        goto done;
    }
    const cJSON *data = json_array_member(root, "data", result);
    if (data)
        parse_data(data, result);
done:
    cJSON_Delete(root);
}

const struct balkon_provider balkon_provider_uk_carbon = {
    .type = "uk_carbon",
    .kind = PROVIDER_KIND_SIGNAL,
    .description = "grid carbon intensity of Great Britain (National Grid ESO), 48 h ahead",
    .schedule = PROVIDER_SCHEDULE_INTERVAL,
    .default_interval_min = 60,
    .default_base_url = DEFAULT_BASE_URL,
    .limits = {0, 2000}, /* gCO2/kWh */
    .value_kind = "co2_g_per_kwh",
    .aux_kind = NULL,
    .build_request = build_request,
    .parse = parse,
};
