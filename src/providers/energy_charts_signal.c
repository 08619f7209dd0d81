/* Provider "energy_charts_signal": Fraunhofer ISE's "Stromampel" for Germany: the renewable
 * share of the grid mix and a traffic light, optionally for a postal code (area). No key;
 * data CC BY 4.0.
 *
 * Request  GET /signal?country=de[&postal_code=10115]
 * Reply    {"unix_seconds": [1782028800, …], "share": [41.0, …], "signal": [0, …],
 *           "substitute": false, "deprecated": false}
 *          parallel arrays; unix_seconds = slot START (UTC s), 15-minute spacing; share in %,
 *          signal −1 (grid congestion), 0 red, 1 yellow, 2 green; substitute = the values
 *          are an estimate (regional data missing). Trailing nulls occur. A window without
 *          data answers HTTP 404 "no content available".
 *
 * Mapping  the length of entry i is unix_seconds[i+1] − unix_seconds[i] (the last reuses the
 *          previous one, a single entry is 15 min); value = share, aux = signal.
 *          share or signal null -> rejected "null_value"; a signal outside −1…2 (or not a
 *          whole number) -> rejected "out_of_range". */
#include "balkon/provider.h"

#include "json_util.h"

#include "balkon/config_types.h"
#include "balkon/error.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_BASE_URL "https://api.energy-charts.info"

static void check(const struct balkon_provider_config *provider, const char *path,
                  struct balkon_config_errors *errors)
{
    if (!text_alnum(provider->area))
        balkon_config_add_error(
            errors, path, "area",
            "must be empty (all of Germany) or a postal code like \"10115\", got \"%s\"",
            provider->area);
}

static int build_request(const struct provider_env *env, int part, struct provider_request *request)
{
    const struct balkon_provider_config *pc = env->provider;
    request_get(request);
    if (!text_alnum(pc->area))
        return request_refuse(request, "energy_charts_signal: area must be a postal code");
    char base[512];
    if (!price_base_url(env, DEFAULT_BASE_URL, base, sizeof base) ||
        !request_url(request, "%s/signal?country=de%s%s", base, pc->area[0] ? "&postal_code=" : "",
                     pc->area))
        return request_refuse(request, "energy_charts_signal: base_url too long");
    request_accept_json(request);
    return 0;
}

static void parse_arrays(const cJSON *times, const cJSON *share, const cJSON *signal,
                         struct provider_result *result)
{
    int64_t previous_length_ms = BALKON_SLOT_MS;
    const cJSON *t = times->child, *sh = share->child, *sg = signal->child;
    for (int i = 0; t && sh && sg; i++, t = t->next, sh = sh->next, sg = sg->next) {
        int64_t start_ms, next_ms = 0;
        /* One bad entry is a hole: an unreadable time is rejected "malformed" (the next
         * entry's length then falls back to the previous one), a value that is not a number
         * "null_value". */
        if (!json_unix_ms(t, &start_ms)) {
            provider_result_reject(result, i, "malformed");
            continue;
        }
        bool next_ok = t->next && json_unix_ms(t->next, &next_ms);
        int64_t length_ms = next_ok ? next_ms - start_ms : previous_length_ms;
        previous_length_ms = length_ms;
        if (!cJSON_IsNumber(sh) || !cJSON_IsNumber(sg)) {
            provider_result_reject(result, i, "null_value");
            continue;
        }
        double light = sg->valuedouble;
        if (!(light >= -1 && light <= 2) || light != floor(light)) {
            provider_result_reject(result, i, "out_of_range");
            continue;
        }
        struct provider_point point =
            point_make(start_ms, start_ms + length_ms, sh->valuedouble, i);
        point.aux = light;
        if (!point_add(result, &point))
            return;
    }
}

static void parse(const struct provider_env *env, int part, const struct provider_reply *reply,
                  struct provider_result *result)
{
    if (reply->status == 404) { /* "no content available": nothing for this window yet */
        provider_result_fail(result, PROVIDER_ERR_NO_DATA, "HTTP 404: no content available");
        return;
    }
    if (!provider_check_status(reply, result))
        return;
    cJSON *root = json_parse_body(reply);
    const cJSON *times = cJSON_GetObjectItemCaseSensitive(root, "unix_seconds");
    const cJSON *share = cJSON_GetObjectItemCaseSensitive(root, "share");
    const cJSON *signal = cJSON_GetObjectItemCaseSensitive(root, "signal");
    if (!cJSON_IsArray(times) || !cJSON_IsArray(share) || !cJSON_IsArray(signal)) {
        provider_result_fail(result, PROVIDER_ERR_PARSE, "unix_seconds, share or signal missing");
        goto done;
    }
    int count = cJSON_GetArraySize(times);
    if (cJSON_GetArraySize(share) != count || cJSON_GetArraySize(signal) != count) {
        provider_result_fail(result, PROVIDER_ERR_PARSE, "arrays of different lengths");
        goto done;
    }
    result->substitute = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "substitute"));
    parse_arrays(times, share, signal, result);
done:
    cJSON_Delete(root);
}

const struct balkon_provider balkon_provider_energy_charts_signal = {
    .type = "energy_charts_signal",
    .kind = PROVIDER_KIND_SIGNAL,
    .description =
        "renewable share and grid traffic light from Energy-Charts (area: postal code, optional)",
    .schedule = PROVIDER_SCHEDULE_INTERVAL,
    .default_interval_min = 60,
    .default_base_url = DEFAULT_BASE_URL,
    /* % renewable share of the load: above 100 when renewables exceed it (real replies
     * carry 101.7 and 103.2, tests/fixtures/real/SOURCES). */
    .limits = {0, 200},
    .value_kind = "renewable_share_pct",
    .aux_kind = "grid_signal",
    .check = check,
    .parse = parse,
    .build_request = build_request,
};
