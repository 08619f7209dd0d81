/* Gathers a plan's inputs: prices, solar forecast and load forecast per 15-minute slot,
 * from the store (where the providers module put them) and the config. Missing data gets
 * a stated fallback, counted so the plan can say how much of it is real. */
#include "planner_internal.h"

#include "balkon/config.h"
#include "balkon/error.h"
#include "balkon/provider.h"
#include "balkon/store.h"
#include "balkon/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_SLOTS 4

/* The primary provider's id of a kind, as the fetcher and the API pick it. */
static const char *first_provider(const struct balkon_config *config, enum provider_kind kind)
{
    const struct balkon_provider_config *pc = balkon_provider_primary(config, kind);
    return pc ? pc->id : NULL;
}

static size_t slot_index(const struct planner_inputs *in, int64_t ts_ms)
{
    return (size_t)((ts_ms - in->start_ms) / BALKON_SLOT_MS);
}

/* Prices into the slots; returns the number of slots up to the last known price. */
static int fill_prices(struct balkon_store *store, const struct balkon_config *config,
                       struct planner_inputs *in, size_t max_count, size_t *known_until)
{
    *known_until = 0;
    for (size_t i = 0; i < max_count; i++)
        in->slots[i].import_price_per_kwh = config->tariff.import_per_kwh;
    snprintf(in->currency, sizeof in->currency, "%s", config->tariff.currency);
    const char *id = first_provider(config, PROVIDER_KIND_PRICE);
    if (!id)
        return 0;
    snprintf(in->price_provider, sizeof in->price_provider, "%s", id);
    struct balkon_price_slot *prices = NULL;
    size_t n = 0;
    char currency[4] = "";
    int rc = balkon_store_prices_get(store, id, in->start_ms,
                                     in->start_ms + (int64_t)max_count * BALKON_SLOT_MS, &prices,
                                     &n, currency);
    if (rc < 0)
        return rc;
    if (n && currency[0])
        snprintf(in->currency, sizeof in->currency, "%s", currency);
    for (size_t i = 0; i < n; i++) {
        size_t k = slot_index(in, prices[i].slot_ts_ms);
        if (k >= max_count || !isfinite(prices[i].price_per_kwh))
            continue;
        in->slots[k].import_price_per_kwh = prices[i].price_per_kwh;
        in->price_slots++;
        if (k + 1 > *known_until)
            *known_until = k + 1;
    }
    free(prices);
    return 0;
}

static int fill_pv(struct balkon_store *store, const struct balkon_config *config,
                   struct planner_inputs *in)
{
    const char *id = first_provider(config, PROVIDER_KIND_PV);
    if (!id)
        return 0;
    snprintf(in->pv_provider, sizeof in->pv_provider, "%s", id);
    struct balkon_forecast_slot *forecast = NULL;
    size_t n = 0;
    int rc = balkon_store_forecast_get(store, "pv", id, in->start_ms,
                                       in->start_ms + (int64_t)in->count * BALKON_SLOT_MS,
                                       INT64_MAX, &forecast, &n);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        size_t k = slot_index(in, forecast[i].slot_ts_ms);
        if (k < in->count && isfinite(forecast[i].value_w)) {
            in->slots[k].pv_w = fmax(0, forecast[i].value_w);
            in->pv_slots++;
        }
    }
    free(forecast);
    return 0;
}

int planner_gather(struct balkon_store *store, const struct balkon_config *config, int64_t now_ms,
                   struct planner_inputs *in, char *msg, size_t msg_size)
{
    memset(in, 0, sizeof *in);
    in->start_ms = balkon_floor_ms(now_ms, BALKON_SLOT_MS);
    size_t max_count = (size_t)(config->optimizer.horizon_h * 4);
    if (max_count > BALKON_OPT_MAX_SLOTS)
        max_count = BALKON_OPT_MAX_SLOTS;
    if (max_count < MIN_SLOTS)
        max_count = MIN_SLOTS;

    size_t known_until;
    int rc = fill_prices(store, config, in, max_count, &known_until);
    if (rc < 0) {
        snprintf(msg, msg_size, "cannot read prices: %s", balkon_store_errmsg(store));
        return rc;
    }
    /* Plan as far as prices are known (as the tools of this field do); without a price
     * provider the tariff's price holds for the whole horizon. */
    in->count = in->price_provider[0] && known_until ? known_until : max_count;
    if (in->count < MIN_SLOTS)
        in->count = MIN_SLOTS;

    for (size_t i = 0; i < in->count; i++) {
        in->slot_ts_ms[i] = in->start_ms + (int64_t)i * BALKON_SLOT_MS;
        in->slots[i].feed_in_per_kwh = config->tariff.feed_in_per_kwh;
        int day_of_year;
        planner_local_time(in->slot_ts_ms[i], &in->slots[i].minute_of_day, &day_of_year);
    }
    rc = fill_pv(store, config, in);
    if (rc < 0) {
        snprintf(msg, msg_size, "cannot read the solar forecast: %s", balkon_store_errmsg(store));
        return rc;
    }
    double load_w[BALKON_OPT_MAX_SLOTS];
    rc = planner_forecast_load(store, config, now_ms, in->slot_ts_ms, in->count, load_w,
                               &in->load_history_share);
    if (rc < 0) {
        snprintf(msg, msg_size, "cannot forecast the load: %s", balkon_strerror(rc));
        return rc;
    }
    for (size_t i = 0; i < in->count; i++)
        in->slots[i].load_w = load_w[i];
    return 0;
}
