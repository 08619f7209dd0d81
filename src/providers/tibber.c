/* Provider "tibber": the all-in consumer prices of a Tibber contract, from Tibber's
 * GraphQL API with a personal access token.
 *
 * Request:  POST https://api.tibber.com/v1-beta/gql
 *           Authorization: Bearer <token>, Content-Type: application/json
 *           {"query": "{ viewer { homes { currentSubscription { priceInfo(resolution:
 *            QUARTER_HOURLY) { current { currency } today { total startsAt }
 *            tomorrow { total startsAt } } } } } }"}
 *           The resolution is passed explicitly: without it Tibber answers HOURLY. With a
 *           home id configured (site_id) the query asks for viewer.home(id: "…") instead
 *           of all homes. About 100 requests per 5 minutes.
 *
 * Reply:    {"data": {"viewer": {"homes": [{"currentSubscription": {"priceInfo": {
 *              "current": {"currency": "EUR", …},
 *              "today": [{"total": 0.3391, "startsAt": "2026-02-10T00:00:00.000+01:00"}, …],
 *              "tomorrow": [] }}}]}}}
 *           total is the consumer price per kWh including energy tax, fees and VAT.
 *           startsAt carries milliseconds and the local offset. tomorrow is [] until about
 *           13:00 CET. A bad token is HTTP 200 with {"errors": [{"message": "invalid
 *           token", "extensions": {"code": "UNAUTHENTICATED"}, …}], "data": null}.
 *
 * Mapping:  The first home with a currentSubscription (or the configured one). value =
 *           total, already all-in (consumer_price: charges and VAT are not added again);
 *           currency from current.currency (EUR when not given). today and tomorrow are
 *           concatenated, source_index counts through both. The length of an entry is the
 *           spacing to the next startsAt; the last entry reuses the length before it and a
 *           single entry is 15 minutes (the resolution asked for). A spacing above one hour
 *           is a gap, not a longer price: the entry keeps the previous length and the gap
 *           stays a hole. total null is kept as a null point ("null_value").
 *
 * Errors:   errors[] with extensions.code UNAUTHENTICATED → "auth"; any other errors[] →
 *           "provider_error". today and tomorrow both empty → "no_data". HTTP errors take
 *           the common reading (429 rate_limited …). */
#include "balkon/provider.h"

#include "balkon/config_types.h"
#include "balkon/error.h"
#include "json_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIBBER_URL "https://api.tibber.com"
#define PRICE_FIELDS                                                                               \
    "currentSubscription { priceInfo(resolution: QUARTER_HOURLY) { current { currency } "          \
    "today { total startsAt } tomorrow { total startsAt } } }"
#define MAX_SPACING_MS (4 * BALKON_SLOT_MS) /* hourly prices, the coarsest Tibber gives */

/* Printable ASCII without spaces: a token goes into a header line, so no CR/LF. */
static bool token_valid(const char *token)
{
    for (const char *p = token; *p; p++)
        if (*p <= ' ' || *p > '~')
            return false;
    return token[0] != '\0';
}

/* Tibber home ids are UUIDs; the id is put into the query, so nothing but its letters. */
static bool home_id_valid(const char *id)
{
    size_t len = strlen(id);
    return len > 0 && strspn(id, "0123456789abcdefABCDEF-") == len;
}

static void check(const struct balkon_provider_config *provider, const char *path,
                  struct balkon_config_errors *errors)
{
    if (!provider->token[0])
        balkon_config_add_error(errors, path, "token",
                                "is required for type \"tibber\": a personal access token from "
                                "developer.tibber.com");
    else if (!token_valid(provider->token))
        balkon_config_add_error(errors, path, "token", "contains spaces or control characters");
    if (provider->site_id[0] && !home_id_valid(provider->site_id))
        balkon_config_add_error(errors, path, "site_id",
                                "must be a Tibber home id (a UUID) for type \"tibber\", got \"%s\"",
                                provider->site_id);
}

static int build_request(const struct provider_env *env, int part, struct provider_request *request)
{
    const struct balkon_provider_config *pc = env->provider;
    char base[512];
    if (!token_valid(pc->token) || (pc->site_id[0] && !home_id_valid(pc->site_id))) {
        snprintf(request->url_for_log, sizeof request->url_for_log,
                 "tibber: token missing or malformed, or site_id not a home id");
        return BALKON_E_INVAL;
    }
    int n = 0;
    if (pc->site_id[0])
        n = snprintf(request->body, sizeof request->body,
                     "{\"query\": \"{ viewer { home(id: \\\"%s\\\") { " PRICE_FIELDS " } } }\"}",
                     pc->site_id);
    else
        n = snprintf(request->body, sizeof request->body,
                     "{\"query\": \"{ viewer { homes { " PRICE_FIELDS " } } }\"}");
    int h = snprintf(request->headers[0], sizeof request->headers[0], "Authorization: Bearer %s",
                     pc->token);
    int u = -1;
    if (price_base_url(env, TIBBER_URL, base, sizeof base))
        u = snprintf(request->url, sizeof request->url, "%s/v1-beta/gql", base);
    if (n < 0 || (size_t)n >= sizeof request->body || h < 0 ||
        (size_t)h >= sizeof request->headers[0] || u < 0 || (size_t)u >= sizeof request->url) {
        memset(request, 0, sizeof *request);
        snprintf(request->url_for_log, sizeof request->url_for_log,
                 "tibber: base_url, token or home id too long");
        return BALKON_E_INVAL;
    }
    snprintf(request->method, sizeof request->method, "POST");
    snprintf(request->headers[1], sizeof request->headers[1], "Content-Type: application/json");
    snprintf(request->headers[2], sizeof request->headers[2], "Accept: application/json");
    snprintf(request->url_for_log, sizeof request->url_for_log, "%s", request->url);
    return 0;
}

/* GraphQL errors arrive with HTTP 200; an unauthenticated one means the token. */
static void read_errors(const cJSON *errors, struct provider_result *result)
{
    int i = 0;
    const cJSON *error;
    cJSON_ArrayForEach(error, errors)
    {
        const char *code = json_string(json_member(error, "extensions"), "code");
        if (code && strcmp(code, "UNAUTHENTICATED") == 0) {
            const char *message = json_string(error, "message");
            provider_result_fail(result, PROVIDER_ERR_AUTH,
                                 "GraphQL errors[%d].extensions.code = UNAUTHENTICATED "
                                 "(HTTP 200): %.100s",
                                 i, message ? message : "");
            return;
        }
        i++;
    }
    const char *code = json_string(json_member(errors->child, "extensions"), "code");
    const char *message = json_string(errors->child, "message");
    provider_result_fail(result, PROVIDER_ERR_PROVIDER, "GraphQL error %.40s: %.160s",
                         code ? code : "(no code)", message ? message : "(no message)");
}

/* The currentSubscription to read: the configured home's, else the first home's that has
 * one. Sets the error and returns NULL when there is none. */
static const cJSON *subscription(const struct provider_env *env, const cJSON *viewer,
                                 struct provider_result *result)
{
    if (env->provider->site_id[0]) {
        const cJSON *home = json_member(viewer, "home");
        if (!cJSON_IsObject(home)) {
            provider_result_fail(result, PROVIDER_ERR_PARSE,
                                 "data.viewer.home missing or not an object");
            return NULL;
        }
        const cJSON *sub = json_member(home, "currentSubscription");
        if (!cJSON_IsObject(sub))
            provider_result_fail(result, PROVIDER_ERR_PROVIDER,
                                 "home %.64s has no current subscription", env->provider->site_id);
        return cJSON_IsObject(sub) ? sub : NULL;
    }
    const cJSON *homes = json_member(viewer, "homes");
    if (!cJSON_IsArray(homes)) {
        provider_result_fail(result, PROVIDER_ERR_PARSE,
                             "data.viewer.homes missing or not an array");
        return NULL;
    }
    const cJSON *home;
    cJSON_ArrayForEach(home, homes)
    {
        const cJSON *sub = json_member(home, "currentSubscription");
        if (cJSON_IsObject(sub))
            return sub;
    }
    provider_result_fail(result, PROVIDER_ERR_PROVIDER,
                         "none of the %d homes of this token has a current subscription",
                         cJSON_GetArraySize(homes));
    return NULL;
}

/* current.currency, when given: three capital letters. */
static bool read_currency(const cJSON *price_info, struct provider_result *result)
{
    const cJSON *current = json_member(price_info, "current");
    if (!current || cJSON_IsNull(current))
        return true;
    const cJSON *currency = json_member(current, "currency");
    if (!cJSON_IsObject(current) ||
        (currency && !cJSON_IsNull(currency) && !cJSON_IsString(currency))) {
        provider_result_fail(result, PROVIDER_ERR_PARSE,
                             "priceInfo.current is not an object or its currency not a string");
        return false;
    }
    if (!cJSON_IsString(currency))
        return true;
    const char *code = currency->valuestring;
    if (strlen(code) != 3 || strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3) {
        provider_result_fail(result, PROVIDER_ERR_PARSE,
                             "priceInfo.current.currency \"%.16s\" is not an ISO 4217 code", code);
        return false;
    }
    snprintf(result->currency, sizeof result->currency, "%s", code);
    return true;
}

struct entry {
    int64_t start_ms;
    double value;
};

/* Appends the entries of priceInfo[name] (an array, or null for none) to list. */
static bool read_list(const cJSON *price_info, const char *name, struct entry *list, int *count,
                      struct provider_result *result)
{
    const cJSON *array = json_member(price_info, name);
    if (cJSON_IsNull(array))
        return true;
    if (!cJSON_IsArray(array)) {
        provider_result_fail(result, PROVIDER_ERR_PARSE, "priceInfo.%s missing or not an array",
                             name);
        return false;
    }
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, array)
    {
        /* One bad entry is a hole, never a failed reply: without a readable startsAt it
         * is left out (rejected "malformed"), a total that is not a number is a null point. */
        struct entry *e = &list[*count];
        if (!json_time(json_member(item, "startsAt"), &e->start_ms)) {
            provider_result_reject(result, *count, "malformed");
            i++;
            continue;
        }
        if (!json_number_or_null(json_member(item, "total"), &e->value))
            e->value = NAN;
        (*count)++;
        i++;
    }
    return true;
}

static void add_entries(const struct entry *list, int count, struct provider_result *result)
{
    int64_t length_ms = BALKON_SLOT_MS; /* the resolution asked for */
    for (int i = 0; i < count; i++) {
        int64_t this_ms = length_ms;
        if (i + 1 < count) {
            int64_t spacing_ms = list[i + 1].start_ms - list[i].start_ms;
            /* Out of order or repeated (<= 0) stays as it is: the normaliser rejects it. */
            if (spacing_ms <= MAX_SPACING_MS)
                this_ms = spacing_ms;
        }
        if (this_ms > 0)
            length_ms = this_ms;
        if (!price_add(result, list[i].start_ms, list[i].start_ms + this_ms, list[i].value, i))
            return;
    }
}

static void parse(const struct provider_env *env, int part, const struct provider_reply *reply,
                  struct provider_result *result)
{
    cJSON *root = json_parse_ok_reply(reply, result);
    if (!root)
        return;
    size_t keep = result->count;
    struct entry *list = NULL;
    const cJSON *errors = json_member(root, "errors");
    if (!cJSON_IsObject(root)) {
        provider_result_fail(result, PROVIDER_ERR_PARSE, "response body is not a JSON object");
        goto done;
    }
    if (errors && !cJSON_IsNull(errors) && !cJSON_IsArray(errors)) {
        provider_result_fail(result, PROVIDER_ERR_PARSE, "errors is not an array");
        goto done;
    }
    if (cJSON_GetArraySize(errors) > 0) {
        read_errors(errors, result);
        goto done;
    }
    const cJSON *viewer = json_member(json_member(root, "data"), "viewer");
    if (!cJSON_IsObject(viewer)) {
        provider_result_fail(result, PROVIDER_ERR_PARSE, "data.viewer missing or not an object");
        goto done;
    }
    const cJSON *sub = subscription(env, viewer, result);
    if (!sub)
        goto done;
    const cJSON *price_info = json_member(sub, "priceInfo");
    if (!cJSON_IsObject(price_info)) {
        provider_result_fail(result, PROVIDER_ERR_PARSE,
                             "currentSubscription.priceInfo missing or not an object");
        goto done;
    }
    if (!read_currency(price_info, result))
        goto done;
    int total = cJSON_GetArraySize(json_member(price_info, "today")) +
                cJSON_GetArraySize(json_member(price_info, "tomorrow"));
    list = malloc((size_t)(total > 0 ? total : 1) * sizeof *list);
    if (!list) {
        provider_result_fail(result, PROVIDER_ERR_PARSE, "out of memory for %d prices", total);
        goto done;
    }
    int count = 0;
    if (!read_list(price_info, "today", list, &count, result) ||
        !read_list(price_info, "tomorrow", list, &count, result))
        goto done;
    if (count == 0) {
        provider_result_fail(result, PROVIDER_ERR_NO_DATA,
                             "HTTP 200 but priceInfo.today[] and tomorrow[] are empty");
        goto done;
    }
    result->consumer_price = true;
    add_entries(list, count, result);
done:
    if (result->error != PROVIDER_OK)
        price_rollback(result, keep);
    free(list);
    cJSON_Delete(root);
}

const struct balkon_provider balkon_provider_tibber = {
    .type = "tibber",
    .kind = PROVIDER_KIND_PRICE,
    .description = "Tibber all-in consumer prices of your contract (token; site_id: optional "
                   "home id)",
    .schedule = PROVIDER_SCHEDULE_DAY_AHEAD,
    .publication_hour = 13,
    .default_base_url = TIBBER_URL,
    .limits = {-5, 5},
    .check = check,
    .build_request = build_request,
    .parse = parse,
};
