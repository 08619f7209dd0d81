/* Provider "octopus": the half-hourly unit rates of an Octopus Energy (UK) tariff such as
 * Agile, from the public product API. No auth for product rates.
 *
 * Request:  GET https://api.octopus.energy/v1/products/AGILE-24-10-01/electricity-tariffs/
 *             E-1R-AGILE-24-10-01-C/standard-unit-rates/?period_from=2026-06-20T23:00:00Z
 *             &period_to=2026-06-22T23:00:00Z&page_size=1500
 *           product = the product code; the tariff code adds "E-1R-" and "-<region>", the
 *           region being the letter of the area (A … P, no I or O). Times always carry Z
 *           (without a zone the API assumes Europe/London); page_size 1500 is the maximum.
 *
 * Reply:    Django REST pagination: {"count": 48, "next": "<absolute URL or null>",
 *            "previous": …, "results": [{"value_exc_vat": 16.15, "value_inc_vat": 16.9575,
 *            "valid_from": "2026-06-21T22:30:00Z", "valid_to": "2026-06-21T23:00:00Z",
 *            "payment_method": null}, …]}
 *           Newest first, 30-minute rates in pence/kWh; value_inc_vat includes 5 % VAT.
 *           Plunge pricing makes both negative.
 *
 * Mapping:  value = value_inc_vat / 100 in GBP/kWh, a consumer price like Tibber's total
 *           (consumer_price: charges and VAT are not added again); currency "GBP". Interval
 *           [valid_from, valid_to) (1800 s → 2 slots); valid_to null (an open-ended fixed
 *           rate) gives an empty interval, rejected "misaligned"; value_inc_vat null is
 *           rejected "null_value". Pages are followed through `next` while it is not null
 *           and on the origin (scheme, host, port) of the configured base URL; a `next`
 *           on the public host api.octopus.energy (which the API writes even behind a
 *           proxy) has its path and query applied to base_url instead; source_index
 *           counts through the results of all pages. The normaliser sorts the slots.
 *
 * Errors:   results [] on the first page → "no_data"; `next` on another origin →
 *           "provider_error" (not followed). HTTP errors take the common reading, with the
 *           API's "detail" text when the body has one (404: unknown product or tariff). */
#include "balkon/provider.h"

#include "balkon/config_types.h"
#include "balkon/error.h"
#include "balkon/timeutil.h"
#include "json_util.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define OCTOPUS_HOST "api.octopus.energy"
#define OCTOPUS_URL "https://" OCTOPUS_HOST
#define REGIONS "ABCDEFGHJKLMNP" /* the 14 GSP groups of Great Britain */

/* Product codes are capitals, digits and dashes ("AGILE-24-10-01"); they go into a path. */
static bool product_valid(const char *product)
{
    size_t len = strlen(product);
    return len > 0 && strspn(product, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == len;
}

/* The region letter of area (either case), or 0. */
static char region_of(const char *area)
{
    char letter = (char)toupper((unsigned char)area[0]);
    return area[0] && !area[1] && strchr(REGIONS, letter) ? letter : 0;
}

static void check(const struct balkon_provider_config *provider, const char *path,
                  struct balkon_config_errors *errors)
{
    if (!provider->product[0])
        balkon_config_add_error(errors, path, "product",
                                "is required for type \"octopus\": a product code like "
                                "\"AGILE-24-10-01\"");
    else if (!product_valid(provider->product))
        balkon_config_add_error(errors, path, "product",
                                "must be an Octopus product code (capitals, digits, '-') like "
                                "\"AGILE-24-10-01\", got \"%s\"",
                                provider->product);
    if (!region_of(provider->area))
        balkon_config_add_error(errors, path, "area",
                                "must be the region letter of the tariff for type \"octopus\" "
                                "(one of A B C D E F G H J K L M N P, e.g. \"C\" for London), "
                                "got \"%s\"",
                                provider->area);
}

static int build_request(const struct provider_env *env, int part, struct provider_request *request)
{
    const struct balkon_provider_config *pc = env->provider;
    char base[512], from[BALKON_ISO_MAX], to[BALKON_ISO_MAX];
    char region = region_of(pc->area);
    if (!product_valid(pc->product) || !region) {
        snprintf(request->url_for_log, sizeof request->url_for_log,
                 "octopus: product or area (region letter) missing or malformed");
        return BALKON_E_INVAL;
    }
    int64_t start_ms, end_ms;
    price_window(env, &start_ms, &end_ms);
    int n = -1;
    if (price_base_url(env, OCTOPUS_URL, base, sizeof base))
        n = snprintf(request->url, sizeof request->url,
                     "%s/v1/products/%s/electricity-tariffs/E-1R-%s-%c/standard-unit-rates/"
                     "?period_from=%s&period_to=%s&page_size=1500",
                     base, pc->product, pc->product, region,
                     balkon_format_iso(start_ms, from, sizeof from),
                     balkon_format_iso(end_ms, to, sizeof to));
    if (n < 0 || (size_t)n >= sizeof request->url) {
        request->url[0] = '\0';
        snprintf(request->url_for_log, sizeof request->url_for_log, "octopus: URL too long");
        return BALKON_E_INVAL;
    }
    snprintf(request->method, sizeof request->method, "GET");
    snprintf(request->headers[0], sizeof request->headers[0], "Accept: application/json");
    snprintf(request->url_for_log, sizeof request->url_for_log, "%s", request->url);
    return 0;
}

/* An error status: the common reading, plus the API's {"detail": "…"} when present. */
static void explain_status(const struct provider_reply *reply, struct provider_result *result)
{
    cJSON *root = reply->body ? cJSON_ParseWithLength(reply->body, reply->body_size) : NULL;
    const char *detail = json_string(root, "detail");
    if (detail)
        snprintf(result->detail, sizeof result->detail, "HTTP %ld: %.160s", reply->status, detail);
    cJSON_Delete(root);
}

/* Takes `next` for the fetcher: null ends the run, a URL must stay on our origin. */
static void read_next(const struct provider_env *env, const cJSON *next,
                      struct provider_result *result)
{
    char base[512];
    if (!next || cJSON_IsNull(next))
        return;
    if (!cJSON_IsString(next) || !next->valuestring) {
        provider_result_fail(result, PROVIDER_ERR_PARSE, "next is neither a URL nor null");
        return;
    }
    const char *url = next->valuestring;
    if (!price_base_url(env, OCTOPUS_URL, base, sizeof base)) {
        provider_result_fail(result, PROVIDER_ERR_PARSE, "base_url too long");
        return;
    }
    /* The API writes its public host into `next` even when we reach it through a proxy, a
     * mirror or a test server: then the page lives under our base_url. Any other host is
     * never followed. */
    char rebased[sizeof result->next_url];
    const char *host = NULL;
    size_t host_len = 0;
    const char *path = url_path_part(url, &host, &host_len);
    if (!url_same_origin(url, base) && path && host_len == strlen(OCTOPUS_HOST) &&
        strncasecmp(host, OCTOPUS_HOST, host_len) == 0) {
        int n = snprintf(rebased, sizeof rebased, "%s%s", base, path);
        if (n < 0 || (size_t)n >= sizeof rebased) {
            provider_result_fail(result, PROVIDER_ERR_PARSE, "next URL longer than %zu bytes",
                                 sizeof result->next_url - 1);
            return;
        }
        url = rebased;
    }
    if (!url_same_origin(url, base)) {
        provider_result_fail(result, PROVIDER_ERR_PROVIDER,
                             "next page \"%.100s\" is not on %.100s; not followed", url, base);
        return;
    }
    if (strlen(url) >= sizeof result->next_url) {
        provider_result_fail(result, PROVIDER_ERR_PARSE, "next URL longer than %zu bytes",
                             sizeof result->next_url - 1);
        return;
    }
    snprintf(result->next_url, sizeof result->next_url, "%s", url);
}

static void parse(const struct provider_env *env, int part, const struct provider_reply *reply,
                  struct provider_result *result)
{
    if (!provider_check_status(reply, result)) {
        explain_status(reply, result);
        return;
    }
    cJSON *root = json_parse_reply(reply, result);
    if (!root)
        return;
    size_t keep = result->count;
    const cJSON *results = json_member(root, "results");
    if (!cJSON_IsArray(results)) {
        provider_result_fail(result, PROVIDER_ERR_PARSE, "results[] missing or not an array");
        goto done;
    }
    if (cJSON_GetArraySize(results) == 0 && result->count == 0) {
        provider_result_fail(result, PROVIDER_ERR_NO_DATA, "HTTP 200 but results[] is empty");
        goto done;
    }
    /* Every result adds exactly one point, so the points so far number the results of the
     * earlier pages. */
    int index = 0;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, results)
    {
        /* A bad entry is a hole: rejected (times) or a null point (value); the rest stays. */
        int64_t from_ms, to_ms;
        const cJSON *valid_to = json_member(entry, "valid_to");
        if (!json_time(json_member(entry, "valid_from"), &from_ms) ||
            (!cJSON_IsNull(valid_to) && !json_time(valid_to, &to_ms))) {
            provider_result_reject(result, (int)result->count, "malformed");
            index++;
            continue;
        }
        if (cJSON_IsNull(valid_to))
            to_ms = from_ms; /* open-ended: no interval, the normaliser rejects it */
        double pence_per_kwh;
        if (!json_number_or_null(json_member(entry, "value_inc_vat"), &pence_per_kwh))
            pence_per_kwh = NAN;
        if (!price_add(result, from_ms, to_ms, pence_per_kwh / 100, (int)result->count))
            goto done;
        index++;
    }
    read_next(env, json_member(root, "next"), result);
    snprintf(result->currency, sizeof result->currency, "GBP");
    result->consumer_price = true;
done:
    if (result->error != PROVIDER_OK) {
        price_rollback(result, keep);
        result->next_url[0] = '\0';
    }
    cJSON_Delete(root);
}

const struct balkon_provider balkon_provider_octopus = {
    .type = "octopus",
    .kind = PROVIDER_KIND_PRICE,
    .description = "Octopus Energy (UK) half-hourly unit rates of a tariff such as Agile, in "
                   "GBP incl. VAT (product; area: region letter)",
    .schedule = PROVIDER_SCHEDULE_DAY_AHEAD,
    .publication_hour = 16,
    .default_base_url = OCTOPUS_URL,
    .limits = {-5, 5},
    .check = check,
    .build_request = build_request,
    .parse = parse,
};
