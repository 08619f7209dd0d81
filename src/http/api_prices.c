/* GET /api/v1/prices?from=&to=&provider=
 *
 * Consumer prices per 15-minute slot (all-in: market + charges, plus VAT; or the provider's
 * own total), as columns, with the market price where known, the feed-in tariff, and a
 * summary: the range's min/avg/max and where the current slot stands (cheap, normal,
 * expensive by thirds of today's prices). Default range: today and tomorrow (local). The
 * default provider is the first enabled price provider. */
#include "http_internal.h"

#include "balkon/config.h"
#include "balkon/provider.h"
#include "balkon/store.h"
#include "balkon/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The provider named in the query, or the primary one of `kind`. */
const struct balkon_provider_config *http_pick_provider(struct http_state *state,
                                                        const struct http_request *request,
                                                        struct http_response *response, int kind,
                                                        const char *what)
{
    const struct balkon_config *config = state->ctx->config;
    const char *wanted = http_query(request, "provider");
    if (!wanted) {
        const struct balkon_provider_config *primary =
            balkon_provider_primary(config, (enum provider_kind)kind);
        if (primary)
            return primary;
    }
    for (size_t i = 0; wanted && i < config->providers.count; i++) {
        const struct balkon_provider_config *pc = &config->providers.items[i];
        const struct balkon_provider *provider = balkon_provider_find(pc->type);
        if (provider && (int)provider->kind == kind && strcmp(wanted, pc->id) == 0)
            return pc;
    }
    if (wanted)
        http_reply_error(response, 404, "provider: no %s provider \"%.40s\" is configured", what,
                         wanted);
    else
        http_reply_error(response, 404, "no %s provider is configured (add one to providers[])",
                         what);
    return NULL;
}

static const char *level_of(double price, const double *today, size_t n)
{
    if (n < 3 || !isfinite(price))
        return NULL;
    size_t below = 0;
    for (size_t i = 0; i < n; i++)
        below += today[i] < price;
    double rank = (double)below / (double)n;
    return rank < 1.0 / 3 ? "cheap" : rank < 2.0 / 3 ? "normal" : "expensive";
}

/* What a price read needs, copied on the loop. */
struct prices_read {
    char provider[BALKON_ID_MAX];
    char tariff_currency[4];
    double feed_in_per_kwh;
    bool have_stale;
    bool stale;
    int64_t now_ms;
    int64_t from_ms;
    int64_t to_ms;
};

static void read_prices(struct balkon_store *store, void *arg, struct http_response *response)
{
    const struct prices_read *q = arg;
    int64_t now_ms = q->now_ms;
    struct balkon_price_slot *slots = NULL;
    size_t count = 0;
    char currency[4] = "";
    if (balkon_store_prices_get(store, q->provider, q->from_ms, q->to_ms, &slots, &count,
                                currency) < 0) {
        http_reply_error(response, 500, "cannot read prices: %s", balkon_store_errmsg(store));
        return;
    }
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "provider", q->provider);
    if (!currency[0])
        snprintf(currency, sizeof currency, "%s", q->tariff_currency);
    cJSON_AddStringToObject(json, "currency", currency);
    char unit[16];
    snprintf(unit, sizeof unit, "%s/kWh", currency);
    cJSON_AddStringToObject(json, "unit", unit);
    cJSON_AddNumberToObject(json, "slot_s", 900);
    http_add_time(json, "from", q->from_ms);
    http_add_time(json, "to", q->to_ms);
    cJSON_AddNumberToObject(json, "feed_in_per_kwh", q->feed_in_per_kwh);
    if (q->have_stale)
        cJSON_AddBoolToObject(json, "stale", q->stale);
    cJSON *ts = cJSON_AddArrayToObject(json, "ts");
    cJSON *price = cJSON_AddArrayToObject(json, "price");
    cJSON *market = cJSON_AddArrayToObject(json, "market");
    double min = INFINITY, max = -INFINITY, sum = 0, now_price = NAN;
    for (size_t i = 0; i < count; i++) {
        cJSON_AddItemToArray(ts, cJSON_CreateNumber((double)slots[i].slot_ts_ms));
        http_add_number(price, NULL, round(slots[i].price_per_kwh * 1e5) / 1e5);
        http_add_number(market, NULL, round(slots[i].market_per_kwh * 1e5) / 1e5);
        min = fmin(min, slots[i].price_per_kwh);
        max = fmax(max, slots[i].price_per_kwh);
        sum += slots[i].price_per_kwh;
        if (now_ms >= slots[i].slot_ts_ms && now_ms < slots[i].slot_ts_ms + slots[i].slot_s * 1000)
            now_price = slots[i].price_per_kwh;
    }
    free(slots);

    /* "Cheap or dear" compares now with today's prices, whatever range was asked for. */
    struct balkon_price_slot *today = NULL;
    size_t today_count = 0;
    double *today_prices = NULL;
    if (balkon_store_prices_get(store, q->provider, balkon_local_midnight_ms(now_ms, 0),
                                balkon_local_midnight_ms(now_ms, 1), &today, &today_count,
                                currency) == 0 &&
        today_count) {
        today_prices = malloc(today_count * sizeof *today_prices);
        for (size_t i = 0; today_prices && i < today_count; i++) {
            today_prices[i] = today[i].price_per_kwh;
            if (now_ms >= today[i].slot_ts_ms &&
                now_ms < today[i].slot_ts_ms + today[i].slot_s * 1000)
                now_price = today[i].price_per_kwh;
        }
    }
    cJSON *summary = cJSON_AddObjectToObject(json, "summary");
    http_add_number(summary, "min", count ? min : NAN);
    http_add_number(summary, "avg", count ? sum / (double)count : NAN);
    http_add_number(summary, "max", count ? max : NAN);
    http_add_number(summary, "now", now_price);
    const char *level = today_prices ? level_of(now_price, today_prices, today_count) : NULL;
    if (level)
        cJSON_AddStringToObject(summary, "now_level", level);
    else
        cJSON_AddNullToObject(summary, "now_level");
    free(today_prices);
    free(today);
    http_reply_json(response, 200, json);
}

void api_prices_get(struct http_state *state, const struct http_request *request,
                    struct http_response *response)
{
    const struct balkon_provider_config *pc =
        http_pick_provider(state, request, response, PROVIDER_KIND_PRICE, "price");
    if (!pc)
        return;
    struct prices_read *q = calloc(1, sizeof *q);
    if (!q) {
        http_reply_error(response, 503, "out of memory");
        return;
    }
    q->now_ms = balkon_clock_now_ms(&state->ctx->clock);
    if (!http_query_range(request, response, balkon_local_midnight_ms(q->now_ms, 0),
                          balkon_local_midnight_ms(q->now_ms, 2), &q->from_ms, &q->to_ms)) {
        free(q);
        return;
    }
    snprintf(q->provider, sizeof q->provider, "%s", pc->id);
    snprintf(q->tariff_currency, sizeof q->tariff_currency, "%s",
             state->ctx->config->tariff.currency);
    q->feed_in_per_kwh = state->ctx->config->tariff.feed_in_per_kwh;
    for (size_t i = 0; i < state->provider_count; i++)
        if (strcmp(state->providers[i].provider, pc->id) == 0) {
            q->have_stale = true;
            q->stale = state->providers[i].stale;
        }
    http_read(state, request, response, read_prices, NULL, q);
}
