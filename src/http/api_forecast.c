/* GET /api/v1/forecast/solar?from=&to=&provider=
 *   The newest solar forecast per 15-minute slot, AC power summed over the planes and
 *   capped at the inverter's limit, with the P10/P90 band where the provider gives one.
 * GET /api/v1/forecast/solar/accuracy?days=
 *   How good each PV provider was: per local day, what it forecast before each slot began
 *   against the PV power measured in that slot: mean absolute error and bias (forecast -
 *   measured, in W), and the day's energy both ways. Slots without a measurement or an
 *   advance forecast are left out, and the number compared is reported. */
#include "http_internal.h"

#include "balkon/config.h"
#include "balkon/provider.h"
#include "balkon/store.h"
#include "balkon/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* What a forecast read needs, copied on the loop (the reads run on the thread pool). */
struct forecast_read {
    char provider[BALKON_ID_MAX];
    int64_t now_ms;
    int64_t from_ms;
    int64_t to_ms;
    int days;
    size_t pv_provider_count; /* accuracy: the PV providers' ids */
    char pv_providers[BALKON_MAX_PROVIDERS][BALKON_ID_MAX];
};

static void read_solar(struct balkon_store *store, void *arg, struct http_response *response)
{
    const struct forecast_read *q = arg;
    int64_t from_ms = q->from_ms, to_ms = q->to_ms;
    struct balkon_forecast_slot *slots = NULL;
    size_t count = 0;
    if (balkon_store_forecast_get(store, "pv", q->provider, from_ms, to_ms, INT64_MAX, &slots,
                                  &count) < 0) {
        http_reply_error(response, 500, "cannot read the forecast: %s", balkon_store_errmsg(store));
        return;
    }
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "provider", q->provider);
    cJSON_AddStringToObject(json, "unit", "W");
    cJSON_AddNumberToObject(json, "slot_s", 900);
    http_add_time(json, "from", from_ms);
    http_add_time(json, "to", to_ms);
    int64_t issued_ms = INT64_MIN;
    double energy_wh = 0;
    cJSON *ts = cJSON_AddArrayToObject(json, "ts");
    cJSON *power = cJSON_AddArrayToObject(json, "power_w");
    cJSON *p10 = cJSON_AddArrayToObject(json, "p10_w");
    cJSON *p90 = cJSON_AddArrayToObject(json, "p90_w");
    for (size_t i = 0; i < count; i++) {
        cJSON_AddItemToArray(ts, cJSON_CreateNumber((double)slots[i].slot_ts_ms));
        http_add_number(power, NULL, round(slots[i].value_w * 10) / 10);
        http_add_number(p10, NULL, round(slots[i].p10_w * 10) / 10);
        http_add_number(p90, NULL, round(slots[i].p90_w * 10) / 10);
        energy_wh += slots[i].value_w * slots[i].slot_s / 3600.0;
        if (slots[i].issued_ts_ms > issued_ms)
            issued_ms = slots[i].issued_ts_ms;
    }
    free(slots);
    if (issued_ms == INT64_MIN)
        cJSON_AddNullToObject(json, "issued");
    else
        http_add_time(json, "issued", issued_ms);
    cJSON_AddNumberToObject(json, "energy_wh", round(energy_wh));
    http_reply_json(response, 200, json);
}

void api_forecast_solar_get(struct http_state *state, const struct http_request *request,
                            struct http_response *response)
{
    const struct balkon_provider_config *pc =
        http_pick_provider(state, request, response, PROVIDER_KIND_PV, "solar forecast");
    if (!pc)
        return;
    int64_t now_ms = balkon_clock_now_ms(&state->ctx->clock);
    int64_t from_ms, to_ms;
    if (!http_query_range(request, response, balkon_local_midnight_ms(now_ms, 0),
                          balkon_local_midnight_ms(now_ms, 2), &from_ms, &to_ms))
        return;
    struct forecast_read *q = calloc(1, sizeof *q);
    if (!q) {
        http_reply_error(response, 503, "out of memory");
        return;
    }
    snprintf(q->provider, sizeof q->provider, "%s", pc->id);
    q->from_ms = from_ms;
    q->to_ms = to_ms;
    http_read(state, request, response, read_solar, NULL, q);
}

/* One forecast's accuracy over `days` local days ending today: what was forecast (kind,
 * provider) before each slot began against the measured series. */
static cJSON *forecast_accuracy(struct balkon_store *store, int64_t now_ms, const char *kind,
                                const char *provider, const char *series, int days)
{
    cJSON *item = cJSON_CreateObject();
    cJSON_AddStringToObject(item, "provider", provider);
    cJSON *list = cJSON_AddArrayToObject(item, "days");
    double total_abs = 0, total_bias = 0;
    size_t total_n = 0;
    for (int d = -(days - 1); d <= 0; d++) {
        int64_t day_ms = balkon_local_midnight_ms(now_ms, d);
        int64_t end_ms = balkon_local_midnight_ms(now_ms, d + 1);
        struct balkon_forecast_slot *forecast = NULL;
        struct balkon_bucket *measured = NULL;
        size_t nf = 0, nm = 0;
        if (balkon_store_forecast_get_ahead(store, kind, provider, day_ms, end_ms, &forecast, &nf) <
                0 ||
            balkon_store_query(store, series, day_ms, end_ms, BALKON_SLOT_MS, &measured, &nm) < 0) {
            free(forecast);
            free(measured);
            continue; /* no measurements yet (unknown series) or a read error: no row */
        }
        double abs_sum = 0, bias_sum = 0, forecast_wh = 0, actual_wh = 0;
        size_t n = 0, j = 0;
        for (size_t i = 0; i < nf; i++) {
            while (j < nm && measured[j].ts_ms < forecast[i].slot_ts_ms)
                j++;
            if (j == nm || measured[j].ts_ms != forecast[i].slot_ts_ms)
                continue;
            /* Only slots that are over: the current one is still being measured. */
            if (forecast[i].slot_ts_ms + forecast[i].slot_s * 1000 > now_ms)
                continue;
            double error_w = forecast[i].value_w - measured[j].avg;
            abs_sum += fabs(error_w);
            bias_sum += error_w;
            forecast_wh += forecast[i].value_w / 4;
            actual_wh += measured[j].avg / 4;
            n++;
        }
        free(forecast);
        free(measured);
        if (n == 0)
            continue;
        char date[16];
        time_t t = (time_t)(day_ms / 1000);
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(date, sizeof date, "%Y-%m-%d", &tm);
        cJSON *day = cJSON_CreateObject();
        cJSON_AddStringToObject(day, "date", date);
        cJSON_AddNumberToObject(day, "slots", (double)n);
        cJSON_AddNumberToObject(day, "mae_w", round(abs_sum / (double)n * 10) / 10);
        cJSON_AddNumberToObject(day, "bias_w", round(bias_sum / (double)n * 10) / 10);
        cJSON_AddNumberToObject(day, "forecast_wh", round(forecast_wh));
        cJSON_AddNumberToObject(day, "actual_wh", round(actual_wh));
        cJSON_AddItemToArray(list, day);
        total_abs += abs_sum;
        total_bias += bias_sum;
        total_n += n;
    }
    cJSON_AddNumberToObject(item, "slots", (double)total_n);
    http_add_number(item, "mae_w", total_n ? round(total_abs / (double)total_n * 10) / 10 : NAN);
    http_add_number(item, "bias_w", total_n ? round(total_bias / (double)total_n * 10) / 10 : NAN);
    return item;
}

/* ?days= (1..90, default 7); false after replying 400. */
static bool query_days(const struct http_request *request, struct http_response *response,
                       int *days)
{
    *days = 7;
    const char *text = http_query(request, "days");
    if (!text)
        return true;
    char *end;
    long value = strtol(text, &end, 10);
    if (!*text || *end || value < 1 || value > 90) {
        http_reply_error(response, 400, "days: must be a whole number from 1 to 90, got \"%.20s\"",
                         text);
        return false;
    }
    *days = (int)value;
    return true;
}

static void read_accuracy(struct balkon_store *store, void *arg, struct http_response *response)
{
    const struct forecast_read *q = arg;
    cJSON *json = cJSON_CreateObject();
    cJSON_AddNumberToObject(json, "days", q->days);
    cJSON_AddStringToObject(json, "method",
                            "forecast issued before each 15-minute slot vs measured PV power; "
                            "bias = forecast - measured");
    cJSON *list = cJSON_AddArrayToObject(json, "providers");
    for (size_t i = 0; i < q->pv_provider_count; i++)
        cJSON_AddItemToArray(
            list, forecast_accuracy(store, q->now_ms, "pv", q->pv_providers[i], "pv_w", q->days));
    http_reply_json(response, 200, json);
}

void api_forecast_accuracy_get(struct http_state *state, const struct http_request *request,
                               struct http_response *response)
{
    int days;
    if (!query_days(request, response, &days))
        return;
    struct forecast_read *q = calloc(1, sizeof *q);
    if (!q) {
        http_reply_error(response, 503, "out of memory");
        return;
    }
    q->days = days;
    q->now_ms = balkon_clock_now_ms(&state->ctx->clock);
    const struct balkon_config *config = state->ctx->config;
    for (size_t i = 0; i < config->providers.count && q->pv_provider_count < BALKON_MAX_PROVIDERS;
         i++) {
        const struct balkon_provider *provider =
            balkon_provider_find(config->providers.items[i].type);
        if (provider && provider->kind == PROVIDER_KIND_PV)
            snprintf(q->pv_providers[q->pv_provider_count++], BALKON_ID_MAX, "%s",
                     config->providers.items[i].id);
    }
    http_read(state, request, response, read_accuracy, NULL, q);
}

/* GET /api/v1/forecast/load?from=&to=&days=
 *   The newest household load forecast per slot (made by the planner from the measured
 *   history blended with the standard profile), and its accuracy over the last `days`. */
static void read_load(struct balkon_store *store, void *arg, struct http_response *response)
{
    const struct forecast_read *q = arg;
    int64_t from_ms = q->from_ms, to_ms = q->to_ms;
    struct balkon_forecast_slot *slots = NULL;
    size_t count = 0;
    if (balkon_store_forecast_get(store, "load", "household", from_ms, to_ms, INT64_MAX, &slots,
                                  &count) < 0) {
        http_reply_error(response, 500, "cannot read the load forecast: %s",
                         balkon_store_errmsg(store));
        return;
    }
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "unit", "W");
    cJSON_AddNumberToObject(json, "slot_s", 900);
    http_add_time(json, "from", from_ms);
    http_add_time(json, "to", to_ms);
    cJSON *ts = cJSON_AddArrayToObject(json, "ts");
    cJSON *power = cJSON_AddArrayToObject(json, "power_w");
    double energy_wh = 0;
    int64_t issued_ms = INT64_MIN;
    for (size_t i = 0; i < count; i++) {
        cJSON_AddItemToArray(ts, cJSON_CreateNumber((double)slots[i].slot_ts_ms));
        http_add_number(power, NULL, round(slots[i].value_w * 10) / 10);
        energy_wh += slots[i].value_w * slots[i].slot_s / 3600.0;
        if (slots[i].issued_ts_ms > issued_ms)
            issued_ms = slots[i].issued_ts_ms;
    }
    free(slots);
    if (issued_ms != INT64_MIN)
        http_add_time(json, "issued", issued_ms);
    else
        cJSON_AddNullToObject(json, "issued");
    cJSON_AddNumberToObject(json, "energy_wh", round(energy_wh));
    cJSON *accuracy = forecast_accuracy(store, q->now_ms, "load", "household", "home_w", q->days);
    cJSON_DeleteItemFromObject(accuracy, "provider");
    cJSON_AddItemToObject(json, "accuracy", accuracy);
    http_reply_json(response, 200, json);
}

void api_forecast_load_get(struct http_state *state, const struct http_request *request,
                           struct http_response *response)
{
    int64_t now_ms = balkon_clock_now_ms(&state->ctx->clock);
    struct forecast_read *q = calloc(1, sizeof *q);
    if (!q) {
        http_reply_error(response, 503, "out of memory");
        return;
    }
    q->now_ms = now_ms;
    if (!http_query_range(request, response, balkon_floor_ms(now_ms, BALKON_SLOT_MS),
                          now_ms + 2 * BALKON_MS_PER_DAY, &q->from_ms, &q->to_ms) ||
        !query_days(request, response, &q->days)) {
        free(q);
        return;
    }
    http_read(state, request, response, read_load, NULL, q);
}
