/* GET /api/v1/savings/sizes[?sizes=0,1000,2000]
 *
 * What a smaller or bigger battery would have saved: the stored history (at most the last
 * 365 days, up to the last whole hour) replayed once per size through the planner's
 * savings.compute service, each time with a copy of the config whose battery.capacity_wh is
 * that size. Saving = the cost without a battery − the cost with a self-consumption battery
 * of that size, on the measured load and PV at the stored prices (the figures of the savings
 * page's "vs. no battery" counterfactual, see api_savings.c), scaled to a year, with a price
 * and payback from investment.battery_price per usable kWh of the configured battery.
 *
 * Bounded work: at most MAX_SIZES replays of at most 365 days, on the thread pool (one
 * reader), and the answer is kept (caches.sizing) until the next whole hour brings new data
 * or the config changes. */
#include "http_internal.h"

#include "answer_cache.h"

#include "balkon/config.h"
#include "balkon/store.h"
#include "balkon/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SIZES 6
#define MAX_SIZE_WH 100000.0
#define MAX_DAYS 365
#define HOUR_MS (3600 * 1000LL)

struct sizing_read {
    int64_t to_ms; /* the last whole hour: the answer's data version */
    double sizes_wh[MAX_SIZES];
    size_t size_count;
    char key[MAX_SIZES * 12];
    uint64_t cache_epoch;
    /* The planner's savings.compute service, taken on the loop. */
    int (*compute)(struct balkon_store *, const struct balkon_config *, int64_t, int64_t,
                   enum balkon_savings_group, struct balkon_savings *, char *, size_t);
    struct balkon_config config; /* a copy: a reload may replace the running one */
};

static double money(double value)
{
    return round(value * 100) / 100;
}

/* The sizes asked for ("0,1000,2000"), sorted and without repeats; NULL or what is wrong. */
static const char *parse_sizes(const char *text, double *sizes_wh, size_t *count)
{
    size_t n = 0;
    for (const char *p = text;;) {
        char *end = NULL;
        double wh = strtod(p, &end);
        if (end == p || (*end && *end != ',') || !isfinite(wh) || wh < 0 || wh > MAX_SIZE_WH)
            return "must be a list of battery sizes in Wh from 0 to 100000, like 0,1000,2000";
        if (n == MAX_SIZES)
            return "at most 6 sizes";
        sizes_wh[n++] = round(wh);
        if (!*end)
            break;
        p = end + 1;
    }
    for (size_t i = 1; i < n; i++) /* insertion sort of at most six */
        for (size_t k = i; k > 0 && sizes_wh[k - 1] > sizes_wh[k]; k--) {
            double tmp = sizes_wh[k];
            sizes_wh[k] = sizes_wh[k - 1];
            sizes_wh[k - 1] = tmp;
        }
    size_t unique = 0;
    for (size_t i = 0; i < n; i++)
        if (unique == 0 || sizes_wh[unique - 1] != sizes_wh[i])
            sizes_wh[unique++] = sizes_wh[i];
    *count = unique;
    return NULL;
}

/* Without ?sizes: none, half, the configured battery, twice and three times it (rounded to
 * 10 Wh); without a configured battery 0, 1, 2, 3 and 5 kWh. */
static void default_sizes(double capacity_wh, double *sizes_wh, size_t *count)
{
    static const double no_battery[] = {0, 1000, 2000, 3000, 5000};
    static const double factors[] = {0, 0.5, 1, 2, 3};
    for (size_t i = 0; i < 5; i++)
        sizes_wh[i] = capacity_wh > 0 ? fmin(MAX_SIZE_WH, round(capacity_wh * factors[i] / 10) * 10)
                                      : no_battery[i];
    *count = 5;
}

/* The first measurement of home_w, or INT64_MIN. */
static int64_t first_measurement_ms(struct balkon_store *store)
{
    struct balkon_series_info *series = NULL;
    size_t count = 0;
    int64_t first_ms = INT64_MIN;
    if (balkon_store_list_series(store, &series, &count) == 0)
        for (size_t i = 0; i < count; i++)
            if (strcmp(series[i].name, "home_w") == 0)
                first_ms = series[i].first_ts_ms;
    free(series);
    return first_ms;
}

static void read_sizing(struct balkon_store *store, void *arg, struct http_response *response)
{
    struct sizing_read *q = arg;
    struct balkon_config *config = &q->config;
    const double capacity_wh = config->battery.capacity_wh;
    int64_t to_ms = q->to_ms, from_ms = to_ms - (int64_t)MAX_DAYS * BALKON_MS_PER_DAY;
    int64_t first_ms = first_measurement_ms(store);
    if (first_ms != INT64_MIN && first_ms > from_ms)
        from_ms = first_ms - first_ms % HOUR_MS;

    cJSON *json = cJSON_CreateObject();
    cJSON *sizes = cJSON_CreateArray();
    double price_per_kwh = config->investment.battery_price > 0 && capacity_wh > 0
                               ? config->investment.battery_price / (capacity_wh / 1000)
                               : NAN;
    double days = 0;
    char currency[4] = "";
    snprintf(currency, sizeof currency, "%s", config->tariff.currency);
    for (size_t i = 0; i < q->size_count && first_ms != INT64_MIN && from_ms < to_ms; i++) {
        double size_wh = q->sizes_wh[i];
        struct balkon_savings savings = {0};
        char msg[256];
        config->battery.capacity_wh = size_wh;
        int rc = q->compute(store, config, from_ms, to_ms, BALKON_SAVINGS_BY_MONTH, &savings, msg,
                            sizeof msg);
        config->battery.capacity_wh = capacity_wh;
        if (rc < 0) {
            cJSON_Delete(json);
            cJSON_Delete(sizes);
            http_reply_error(response, 500, "cannot replay the history with %.0f Wh: %s", size_wh,
                             msg);
            return;
        }
        const struct balkon_savings_figures *f = &savings.total;
        days = (double)f->slots * 0.25 / 24; /* as api_savings.c: approximate with hourly slots */
        snprintf(currency, sizeof currency, "%s", savings.currency);
        double saved = size_wh > 0 ? f->cost_no_battery - f->cost_self_consumption : 0;
        double annual = days >= 1 ? saved / days * 365 : NAN;
        double price = isnan(price_per_kwh) ? NAN : price_per_kwh * size_wh / 1000;
        cJSON *item = cJSON_CreateObject();
        cJSON_AddNumberToObject(item, "battery_wh", size_wh);
        cJSON_AddBoolToObject(item, "configured", fabs(size_wh - capacity_wh) < 0.5);
        cJSON_AddNumberToObject(item, "saved", money(saved));
        http_add_number(item, "annual_saving", isnan(annual) ? NAN : money(annual));
        http_add_number(item, "price", isnan(price) ? NAN : money(price));
        http_add_number(item, "payback_years",
                        size_wh > 0 && annual > 0 && !isnan(price) ? round(price / annual * 10) / 10
                                                                   : NAN);
        cJSON_AddItemToArray(sizes, item);
        balkon_savings_free(&savings);
    }
    cJSON_AddStringToObject(json, "currency", currency);
    http_add_time(json, "from", from_ms);
    http_add_time(json, "to", to_ms);
    cJSON_AddNumberToObject(json, "days", round(days * 10) / 10);
    cJSON_AddNumberToObject(json, "battery_wh", capacity_wh);
    http_add_number(json, "price_per_kwh", isnan(price_per_kwh) ? NAN : money(price_per_kwh));
    cJSON_AddStringToObject(
        json, "method",
        "measured load and PV of the stored history replayed without a battery and with a "
        "self-consumption battery of each size, at the same prices; saved = the difference");
    cJSON_AddItemToObject(json, "sizes", sizes);
    http_reply_json(response, 200, json);
}

/* Back on the loop: keep a good answer until the next hour's data. */
static void sizing_read_done(struct http_state *state, void *arg, struct http_response *response)
{
    const struct sizing_read *q = arg;
    struct answer_cache *cache = state->caches.sizing;
    if (!cache)
        return;
    if (response->status == 200)
        answer_cache_put(cache, q->key, q->cache_epoch, (uint64_t)q->to_ms, response->body,
                         response->body_size);
    else
        answer_cache_abandon(cache, q->key);
}

void api_sizing_get(struct http_state *state, const struct http_request *request,
                    struct http_response *response)
{
    const struct balkon_config *config = state->ctx->config;
    if (!state->ctx->services->savings.compute) {
        http_reply_error(response, 503, "the planner is not running");
        return;
    }
    struct sizing_read *q = malloc(sizeof *q);
    if (!q) {
        http_reply_error(response, 503, "out of memory");
        return;
    }
    const char *sizes_text = http_query(request, "sizes");
    const char *problem = NULL;
    if (sizes_text)
        problem = parse_sizes(sizes_text, q->sizes_wh, &q->size_count);
    else
        default_sizes(config->battery.capacity_wh, q->sizes_wh, &q->size_count);
    if (problem) {
        free(q);
        http_reply_error(response, 400, "sizes: %s, got \"%.60s\"", problem, sizes_text);
        return;
    }
    int64_t now_ms = balkon_clock_now_ms(&state->ctx->clock);
    q->to_ms = now_ms - now_ms % HOUR_MS;
    q->key[0] = '\0';
    for (size_t i = 0; i < q->size_count; i++)
        snprintf(q->key + strlen(q->key), sizeof q->key - strlen(q->key), "%s%.0f", i ? "," : "",
                 q->sizes_wh[i]);
    struct answer_cache *cache = state->caches.sizing;
    if (cache) {
        q->cache_epoch = answer_cache_epoch(cache);
        const char *body;
        size_t len;
        void *ready;
        if (answer_cache_lookup(cache, q->key, (uint64_t)q->to_ms, &body, &len, &ready) !=
            ANSWER_READ) {
            http_reply_kept(response, body, len, ready);
            free(q);
            return;
        }
    }
    q->compute = state->ctx->services->savings.compute;
    q->config = *config;
    http_read(state, request, response, read_sizing, sizing_read_done, q);
}
