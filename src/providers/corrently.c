/* Provider "corrently": the GrünstromIndex (green power index, 0…100) for a German postal
 * code (area), with the CO2 intensity of the grid mix. Works without a token (fair use); an
 * optional bearer token raises the limits.
 *
 * Request  GET /v2.0/gsi/prediction?zip=10115      [Authorization: Bearer <token>]
 * Reply    {"forecast": [{"epochtime": 1782028800, "gsi": 58.9, "timeStamp": 1782028800000,
 *           "co2_g_standard": 308, "co2_g_oekostrom": 54,
 *           "timeframe": {"start": 1782028800000, "end": 1782032400000}, …}, …],
 *           "location": {…}, "license": "CC-BY-4.0 STROMDAO GmbH", …}
 *          hourly entries; epochtime is SECONDS, timeStamp and timeframe.* MILLISECONDS.
 *          On failure the body carries "err": true and "message" -> provider_error.
 *
 * Mapping  interval = [timeframe.start, timeframe.end) (without timeframe: epochtime … +1 h);
 *          value = gsi; aux = co2_g_standard in g/kWh, NAN when null. co2_g_oekostrom is
 *          the CO2 of a green-power product, not of the grid, and is never used instead.
 *          gsi null -> rejected "null_value"; an entry without readable times is rejected
 *          "malformed" (a hole). co2_g_standard null (real replies since mid-2026) keeps
 *          the index and says "CO2 unavailable" in the provider's warning. */
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

#define DEFAULT_BASE_URL "https://api.corrently.io"
#define MAX_ABS_TIME_MS 1e14 /* year ~5000 */

static void check(const struct balkon_provider_config *provider, const char *path,
                  struct balkon_config_errors *errors)
{
    if (!provider->area[0])
        balkon_config_add_error(errors, path, "area",
                                "type \"corrently\" needs a German postal code, e.g. \"10115\"");
    else if (!text_alnum(provider->area))
        balkon_config_add_error(errors, path, "area",
                                "must be a postal code like \"10115\", got \"%s\"", provider->area);
    if (!text_header_safe(provider->token))
        balkon_config_add_error(errors, path, "token", "must be printable ASCII without spaces");
}

static int build_request(const struct provider_env *env, int part, struct provider_request *request)
{
    const struct balkon_provider_config *pc = env->provider;
    request_get(request);
    if (!pc->area[0] || !text_alnum(pc->area) || !text_header_safe(pc->token))
        return request_refuse(request, "corrently: area must be a postal code, token plain text");
    char base[512];
    if (!price_base_url(env, DEFAULT_BASE_URL, base, sizeof base) ||
        !request_url(request, "%s/v2.0/gsi/prediction?zip=%s", base, pc->area))
        return request_refuse(request, "corrently: base_url too long");
    request_accept_json(request);
    if (pc->token[0]) {
        int h = snprintf(request->headers[1], sizeof request->headers[1],
                         "Authorization: Bearer %s", pc->token);
        if (h < 0 || (size_t)h >= sizeof request->headers[1]) {
            memset(request, 0, sizeof *request);
            return request_refuse(request, "corrently: token too long");
        }
    }
    return 0;
}

/* A member that must be a plausible millisecond time. */
static bool time_ms(const cJSON *object, const char *name, double scale, int64_t *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble) ||
        fabs(item->valuedouble * scale) > MAX_ABS_TIME_MS)
        return false;
    *out = (int64_t)llround(item->valuedouble * scale);
    return true;
}

static void parse_forecast(const cJSON *forecast, struct provider_result *result)
{
    int index = 0, co2_missing = 0;
    for (const cJSON *item = forecast->child; item; item = item->next, index++) {
        const cJSON *timeframe = cJSON_GetObjectItemCaseSensitive(item, "timeframe");
        const cJSON *gsi = cJSON_GetObjectItemCaseSensitive(item, "gsi");
        const cJSON *co2 = cJSON_GetObjectItemCaseSensitive(item, "co2_g_standard");
        int64_t start_ms = 0, end_ms = 0;
        bool times_ok;
        if (cJSON_IsObject(timeframe)) {
            times_ok =
                time_ms(timeframe, "start", 1, &start_ms) && time_ms(timeframe, "end", 1, &end_ms);
        } else {
            times_ok = time_ms(item, "epochtime", 1000, &start_ms);
            end_ms = times_ok ? start_ms + BALKON_MS_PER_HOUR : 0;
        }
        if (!cJSON_IsObject(item) || !times_ok) { /* a hole; the other hours are kept */
            provider_result_reject(result, index, "malformed");
            continue;
        }
        /* A null (or absent, or non-number) gsi stays NAN, rejected "null_value". */
        struct provider_point point =
            point_make(start_ms, end_ms, cJSON_IsNumber(gsi) ? gsi->valuedouble : NAN, index);
        point.aux = json_number(co2, &point.aux) ? point.aux : NAN;
        if (isnan(point.aux))
            co2_missing++;
        if (!point_add(result, &point))
            return;
    }
    /* Real replies carry co2_g_standard null since mid-2026: the index is still good, the
     * CO2 series is left empty, and the provider says so. */
    if (co2_missing && co2_missing == index)
        result_detail_append(result, "CO2 unavailable: co2_g_standard is null in every entry "
                                     "(green index kept)");
    else if (co2_missing)
        result_detail_append(result, "CO2 unavailable for %d of %d hours", co2_missing, index);
}

static void parse(const struct provider_env *env, int part, const struct provider_reply *reply,
                  struct provider_result *result)
{
    if (!provider_check_status(reply, result))
        return;
    cJSON *root = json_parse_body(reply);
    if (!json_object_body(root, result))
        goto done;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "err"))) {
        const cJSON *message = cJSON_GetObjectItemCaseSensitive(root, "message");
        provider_result_fail(result, PROVIDER_ERR_PROVIDER, "err: %.200s",
                             cJSON_IsString(message) ? message->valuestring : "(no message)");
        goto done;
    }
    const cJSON *forecast = json_array_member(root, "forecast", result);
    if (forecast)
        parse_forecast(forecast, result);
done:
    cJSON_Delete(root);
}

const struct balkon_provider balkon_provider_corrently = {
    .type = "corrently",
    .kind = PROVIDER_KIND_SIGNAL,
    .description = "GrünstromIndex and grid CO2 from Corrently (area: postal code; token optional)",
    .schedule = PROVIDER_SCHEDULE_INTERVAL,
    .default_interval_min = 60,
    .default_base_url = DEFAULT_BASE_URL,
    .limits = {0, 100}, /* the index runs 0…100 */
    .value_kind = "green_index",
    .aux_kind = "co2_g_per_kwh",
    .check = check,
    .build_request = build_request,
    .parse = parse,
};
