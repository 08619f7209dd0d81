/* Provider "energy_charts": day-ahead prices of a bidding zone from Fraunhofer ISE's
 * Energy-Charts (data CC BY 4.0, Bundesnetzagentur | SMARD.de: keep the attribution).
 *
 * Request:  GET https://api.energy-charts.info/price?bzn=DE-LU&start=2026-06-21&end=2026-06-22
 *           start/end are local dates (the zone's days, both inclusive); ISO 8601 and unix
 *           seconds are accepted too. No auth; about 2 requests/s, 429 beyond.
 *
 * Reply:    {"license_info": "CC BY 4.0 …", "unix_seconds": [1781992800, 1781993700, …],
 *            "price": [85.47, 86.51, …], "unit": "EUR / MWh", "deprecated": false}
 *           Parallel arrays: unix_seconds[i] is the START of entry i (UTC seconds), price[i]
 *           in EUR/MWh or null. The resolution is not stated: 15 min for DE-LU since
 *           2025-10-01, hourly before.
 *
 * Mapping:  value = price[i] / 1000 (EUR/kWh). Length of entry i = unix_seconds[i+1] −
 *           unix_seconds[i]; the last entry reuses the previous length, a single entry is
 *           900 s. Null prices still count for that spacing and become null points (the
 *           normaliser rejects them "null_value", the rest is kept); so do prices that are not
 *           numbers. unit ≠ "EUR / MWh" (compared ignoring case and spaces: the API also
 *           answers "EUR/MWh"; "No Unit", seen in real replies, counts as it) → "unit"; arrays of
 * different lengths → "parse"; "deprecated": true is noted in the detail text and parsed normally.
 *
 * Errors:   404 "no content available" = the window has no data yet → "no_data"; 429 with
 *           Retry-After → "rate_limited" (the 429 body is not documented and not read). */
#include "balkon/provider.h"

#include "balkon/config_types.h"
#include "balkon/error.h"
#include "json_util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define ENERGY_CHARTS_URL "https://api.energy-charts.info"
#define DEFAULT_BZN "DE-LU"

/* Unix seconds within ±3000 years: keeps every later "* 1000" and sum far from overflow. */
static bool json_seconds(const cJSON *item, int64_t *out)
{
    return json_int64(item, out) && *out > -INT64_C(100000000000) && *out < INT64_C(100000000000);
}

static bool bzn_valid(const char *bzn)
{
    for (const char *p = bzn; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return false;
    return true;
}

static void check(const struct balkon_provider_config *provider, const char *path,
                  struct balkon_config_errors *errors)
{
    if (!bzn_valid(provider->area))
        balkon_config_add_error(
            errors, path, "area",
            "must be an Energy-Charts bidding zone like \"DE-LU\", \"AT\" or \"CH\", got \"%s\"",
            provider->area);
}

/* The local calendar date of ts_ms (process TZ) as YYYY-MM-DD. */
static void local_date(int64_t ts_ms, char out[16])
{
    time_t t = (time_t)(ts_ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    snprintf(out, 16, "%04d-%02d-%02d", (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
             tm.tm_mday % 100);
}

static int build_request(const struct provider_env *env, int part, struct provider_request *request)
{
    const char *bzn = env->provider->area[0] ? env->provider->area : DEFAULT_BZN;
    char base[512];
    if (!bzn_valid(bzn) || !price_base_url(env, ENERGY_CHARTS_URL, base, sizeof base))
        return request_refuse(request, "energy_charts: bad area or base_url");
    /* The last day of the window is the day before its end (end is the midnight after). */
    int64_t start_ms, end_ms;
    price_window(env, &start_ms, &end_ms);
    char first[16], last[16];
    local_date(start_ms, first);
    local_date(end_ms - 1, last);
    snprintf(request->method, sizeof request->method, "GET");
    if (!request_url(request, "%s/price?bzn=%s&start=%s&end=%s", base, bzn, first, last))
        return request_refuse(request, "energy_charts: URL too long");
    request_accept_json(request);
    return 0;
}

static void parse(const struct provider_env *env, int part, const struct provider_reply *reply,
                  struct provider_result *result)
{
    if (reply->status == 404) {
        provider_result_fail(result, PROVIDER_ERR_NO_DATA, "HTTP 404: %.80s",
                             reply->body ? reply->body : "");
        return;
    }
    cJSON *root = json_parse_ok_reply(reply, result);
    if (!root)
        return;
    size_t keep = result->count;
    const cJSON *seconds = json_member(root, "unix_seconds");
    const cJSON *prices = json_member(root, "price");
    const char *unit = json_string(root, "unit");
    if (!cJSON_IsArray(seconds) || !cJSON_IsArray(prices)) {
        provider_result_fail(result, PROVIDER_ERR_PARSE, "unix_seconds[] or price[] missing");
        goto done;
    }
    /* The API has answered "No Unit" for days (a real reply of 2024-12-08, see
     * tests/fixtures/real/SOURCES) with the same EUR/MWh figures: /price knows no other. */
    if (!unit_equal(unit, "EUR / MWh") && !unit_equal(unit, "No Unit")) {
        provider_result_fail(result, PROVIDER_ERR_UNIT, "unit \"%.32s\", expected \"EUR / MWh\"",
                             unit ? unit : "(none)");
        goto done;
    }
    int count = cJSON_GetArraySize(seconds);
    if (count != cJSON_GetArraySize(prices)) {
        provider_result_fail(result, PROVIDER_ERR_PARSE,
                             "unix_seconds[] has %d entries, price[] %d", count,
                             cJSON_GetArraySize(prices));
        goto done;
    }
    if (count == 0) {
        provider_result_fail(result, PROVIDER_ERR_NO_DATA, "HTTP 200 but price[] is empty");
        goto done;
    }
    if (cJSON_IsTrue(json_member(root, "deprecated")))
        snprintf(result->detail, sizeof result->detail,
                 "Energy-Charts marks this endpoint deprecated");

    /* Walk both arrays together, one entry ahead, so each start knows the next one. */
    const cJSON *s = seconds->child, *p = prices->child;
    int64_t start_s = 0, next_s = 0, length_s = 900;
    if (!json_seconds(s, &start_s))
        goto bad_time;
    for (int i = 0; i < count; i++, s = s->next, p = p->next) {
        if (i + 1 < count) {
            if (!json_seconds(s->next, &next_s))
                goto bad_time;
            length_s = next_s - start_s;
        }
        /* Not a number: a hole like null, the other entries are kept. */
        double eur_per_mwh;
        if (!json_number_or_null(p, &eur_per_mwh))
            eur_per_mwh = NAN;
        if (!price_add(result, start_s * 1000, (start_s + length_s) * 1000, eur_per_mwh / 1000, i))
            goto done;
        start_s = next_s;
    }
    goto done;
bad_time:
    provider_result_fail(result, PROVIDER_ERR_PARSE,
                         "unix_seconds[] holds a value that is not whole seconds");
done:
    if (result->error != PROVIDER_OK)
        price_rollback(result, keep);
    cJSON_Delete(root);
}

const struct balkon_provider balkon_provider_energy_charts = {
    .type = "energy_charts",
    .kind = PROVIDER_KIND_PRICE,
    .description = "Energy-Charts (Fraunhofer ISE) day-ahead prices of a bidding zone (area, "
                   "default \"DE-LU\")",
    .schedule = PROVIDER_SCHEDULE_DAY_AHEAD,
    .publication_hour = 13,
    .default_base_url = ENERGY_CHARTS_URL,
    .limits = {-5, 5},
    .check = check,
    .build_request = build_request,
    .parse = parse,
};
