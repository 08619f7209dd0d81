/* Provider "awattar": EPEX day-ahead prices for Germany and Austria from aWATTar.
 *
 * Request:  GET https://api.awattar.de/v1/marketdata?start=<ms>&end=<ms>
 *           (api.awattar.at with area "at"). start/end are UTC epoch milliseconds; without
 *           them the API answers now … +24 h. No auth; fair use ~100 requests/day.
 *
 * Reply:    {"object": "list",
 *            "data": [{"start_timestamp": 1768431600000, "end_timestamp": 1768435200000,
 *                      "marketprice": 84.3, "unit": "Eur/MWh"}, …],
 *            "url": "/de/v1/marketdata"}
 *           Timestamps are UTC epoch ms, end exclusive. marketprice is the wholesale price
 *           in EUR/MWh (no VAT, no fees) and may be negative. Entries are hourly or
 *           15-minute: the length of each is end − start, never assumed.
 *
 * Mapping:  value = marketprice / 1000 (EUR/kWh). `unit` is compared ignoring case and
 *           spaces with "Eur/MWh"; any other (or a missing) unit refuses the whole reply as
 *           "unit". data: [] is "no_data"; marketprice null, absent or not a number is kept
 *           as a null point (the normaliser rejects it "null_value": a hole), an entry
 *           without timestamps is rejected "malformed"; the other entries are kept. HTTP
 *           errors take the common reading. */
#include "balkon/provider.h"

#include "balkon/config_types.h"
#include "balkon/error.h"
#include "json_util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define AWATTAR_DE "https://api.awattar.de"
#define AWATTAR_AT "https://api.awattar.at"

static void check(const struct balkon_provider_config *provider, const char *path,
                  struct balkon_config_errors *errors)
{
    if (provider->area[0] && strcasecmp(provider->area, "de") != 0 &&
        strcasecmp(provider->area, "at") != 0)
        balkon_config_add_error(errors, path, "area",
                                "must be \"de\" or \"at\" for type \"awattar\", got \"%s\"",
                                provider->area);
}

static int build_request(const struct provider_env *env, int part, struct provider_request *request)
{
    bool austria = strcasecmp(env->provider->area, "at") == 0;
    char base[512];
    if (!price_base_url(env, austria ? AWATTAR_AT : AWATTAR_DE, base, sizeof base))
        return request_refuse(request, "awattar: base_url too long");
    int64_t start_ms, end_ms;
    price_window(env, &start_ms, &end_ms);
    snprintf(request->method, sizeof request->method, "GET");
    if (!request_url(request, "%s/v1/marketdata?start=%lld&end=%lld", base, (long long)start_ms,
                     (long long)end_ms))
        return request_refuse(request, "awattar: URL too long");
    request_accept_json(request);
    return 0;
}

static void parse(const struct provider_env *env, int part, const struct provider_reply *reply,
                  struct provider_result *result)
{
    cJSON *root = json_parse_ok_reply(reply, result);
    if (!root)
        return;
    size_t keep = result->count;
    const cJSON *data = json_member(root, "data");
    if (!cJSON_IsArray(data)) {
        provider_result_fail(result, PROVIDER_ERR_PARSE, "data[] missing or not an array");
        goto done;
    }
    if (cJSON_GetArraySize(data) == 0) {
        provider_result_fail(result, PROVIDER_ERR_NO_DATA, "HTTP 200 but data[] is empty");
        goto done;
    }
    int index = 0;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, data)
    {
        int64_t start_ms, end_ms;
        if (!json_int64(json_member(entry, "start_timestamp"), &start_ms) ||
            !json_int64(json_member(entry, "end_timestamp"), &end_ms)) {
            /* An entry we cannot place is a hole, not a reason to drop the others. */
            provider_result_reject(result, index++, "malformed");
            continue;
        }
        const char *unit = json_string(entry, "unit");
        if (!unit_equal(unit, "Eur/MWh")) {
            provider_result_fail(result, PROVIDER_ERR_UNIT,
                                 "data[%d]: unit \"%.32s\", expected \"Eur/MWh\"", index,
                                 unit ? unit : "(none)");
            goto done;
        }
        /* Absent or not a number: a null point, which the normaliser turns into a hole
         * ("null_value"); the rest of the day stays usable. */
        double eur_per_mwh;
        if (!json_number_or_null(json_member(entry, "marketprice"), &eur_per_mwh))
            eur_per_mwh = NAN;
        if (!price_add(result, start_ms, end_ms, eur_per_mwh / 1000, index))
            goto done;
        index++;
    }
done:
    if (result->error != PROVIDER_OK)
        price_rollback(result, keep);
    cJSON_Delete(root);
}

const struct balkon_provider balkon_provider_awattar = {
    .type = "awattar",
    .kind = PROVIDER_KIND_PRICE,
    .description = "aWATTar day-ahead market prices, Germany or Austria (area \"de\"/\"at\")",
    .schedule = PROVIDER_SCHEDULE_DAY_AHEAD,
    .publication_hour = 13,
    .default_base_url = AWATTAR_DE,
    .limits = {-5, 5},
    .check = check,
    .build_request = build_request,
    .parse = parse,
};
