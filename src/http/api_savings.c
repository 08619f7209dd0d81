/* GET /api/v1/savings?from=&to=&group=day|month
 *
 * What the plant saved, from measured data, against three counterfactuals replayed with
 * the same measured load and PV: no plant at all, the modules without the battery, and a
 * battery that only self-consumes; per day or month and in total, with a payback
 * estimate from investment.*. Default range: since investment.installed (or the first
 * measurement) until now. */
#include "http_internal.h"

#include "balkon/config.h"
#include "balkon/store.h"
#include "balkon/timeutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double money(double value)
{
    return round(value * 100) / 100;
}

static void add_figures(cJSON *json, const struct balkon_savings_figures *f)
{
    cJSON_AddNumberToObject(json, "slots", (double)f->slots);
    cJSON_AddNumberToObject(json, "load_kwh", round(f->load_wh / 10) / 100);
    cJSON_AddNumberToObject(json, "pv_kwh", round(f->pv_wh / 10) / 100);
    cJSON_AddNumberToObject(json, "import_kwh", round(f->import_wh / 10) / 100);
    cJSON_AddNumberToObject(json, "export_kwh", round(f->export_wh / 10) / 100);
    cJSON_AddNumberToObject(json, "cost", money(f->cost_actual));
    cJSON_AddNumberToObject(json, "cost_no_pv", money(f->cost_no_pv));
    cJSON_AddNumberToObject(json, "cost_no_battery", money(f->cost_no_battery));
    cJSON_AddNumberToObject(json, "cost_self_consumption", money(f->cost_self_consumption));
    cJSON_AddNumberToObject(json, "saved_vs_no_pv", money(f->cost_no_pv - f->cost_actual));
    cJSON_AddNumberToObject(json, "saved_vs_no_battery",
                            money(f->cost_no_battery - f->cost_actual));
    cJSON_AddNumberToObject(json, "saved_vs_self_consumption",
                            money(f->cost_self_consumption - f->cost_actual));
}

/* Years until the savings repay the price, extrapolating the measured days to a year.
 * Less than a year of data misses the seasons: "basis_days" says how much there was. */
static void add_payback(cJSON *json, const struct balkon_config *config,
                        const struct balkon_savings_figures *total)
{
    cJSON *payback = cJSON_AddObjectToObject(json, "payback");
    double days = (double)total->slots * 0.25 / 24; /* approximate when hourly slots are mixed in */
    double investment = config->investment.modules_price + config->investment.battery_price;
    cJSON_AddNumberToObject(payback, "investment", money(investment));
    cJSON_AddNumberToObject(payback, "basis_days", round(days * 10) / 10);
    if (days < 1 || investment <= 0) {
        cJSON_AddNullToObject(payback, "annual_saving");
        cJSON_AddNullToObject(payback, "years");
        cJSON_AddNullToObject(payback, "battery_years");
        cJSON_AddStringToObject(payback, "note",
                                investment <= 0 ? "set investment.modules_price and battery_price"
                                                : "needs at least a day of measurements");
        return;
    }
    double annual = (total->cost_no_pv - total->cost_actual) / days * 365;
    double battery_annual = (total->cost_no_battery - total->cost_actual) / days * 365;
    cJSON_AddNumberToObject(payback, "annual_saving", money(annual));
    http_add_number(payback, "years", annual > 0 ? round(investment / annual * 10) / 10 : NAN);
    http_add_number(payback, "battery_years",
                    battery_annual > 0 && config->investment.battery_price > 0
                        ? round(config->investment.battery_price / battery_annual * 10) / 10
                        : NAN);
    cJSON_AddStringToObject(payback, "note",
                            days < 365
                                ? "extrapolated from fewer than 365 days: seasons are not balanced"
                                : "from a full year or more");
}

/* A savings read: the range and a copy of the config (a reload may replace the running
 * one while the read runs on the pool). */
struct savings_read {
    int64_t from_ms;
    int64_t to_ms;
    bool default_from; /* from was not given: since the first measurement of home_w */
    int64_t now_ms;
    const char *group_text; /* NULL: by the range's length */
    enum balkon_savings_group group;
    /* The planner's savings.compute service, taken on the loop. */
    int (*compute)(struct balkon_store *, const struct balkon_config *, int64_t, int64_t,
                   enum balkon_savings_group, struct balkon_savings *, char *, size_t);
    struct balkon_config config;
};

static void read_savings(struct balkon_store *store, void *arg, struct http_response *response)
{
    struct savings_read *q = arg;
    const struct balkon_config *config = &q->config;
    if (q->default_from) {
        q->from_ms = q->now_ms - BALKON_MS_PER_DAY; /* when nothing was measured yet */
        struct balkon_series_info *series = NULL;
        size_t count = 0;
        if (balkon_store_list_series(store, &series, &count) == 0)
            for (size_t i = 0; i < count; i++)
                if (strcmp(series[i].name, "home_w") == 0 && series[i].first_ts_ms != INT64_MIN)
                    q->from_ms = series[i].first_ts_ms;
        free(series);
        if (!http_range_ok(response, q->from_ms, q->to_ms))
            return;
    }
    int64_t from_ms = q->from_ms, to_ms = q->to_ms;
    enum balkon_savings_group group = q->group;
    if (!q->group_text)
        group = to_ms - from_ms > 62 * BALKON_MS_PER_DAY ? BALKON_SAVINGS_BY_MONTH
                                                         : BALKON_SAVINGS_BY_DAY;

    struct balkon_savings savings;
    char msg[256];
    if (q->compute(store, config, from_ms, to_ms, group, &savings, msg, sizeof msg) < 0) {
        http_reply_error(response, 500, "cannot compute the savings: %s", msg);
        return;
    }
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "currency", savings.currency);
    http_add_time(json, "from", from_ms);
    http_add_time(json, "to", to_ms);
    cJSON_AddStringToObject(
        json, "method",
        "measured load and PV replayed without the plant, without the battery and with a "
        "self-consumption battery, at the same prices; cost = import x price - export x feed-in");
    cJSON_AddNumberToObject(json, "skipped_slots", (double)savings.skipped_slots);
    add_figures(cJSON_AddObjectToObject(json, "total"), &savings.total);
    add_payback(json, config, &savings.total);
    cJSON_AddStringToObject(json, "group", group == BALKON_SAVINGS_BY_DAY ? "day" : "month");
    cJSON *periods = cJSON_AddArrayToObject(json, "periods");
    for (size_t i = 0; i < savings.period_count; i++) {
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "period", savings.periods[i].label);
        add_figures(item, &savings.periods[i].figures);
        cJSON_AddItemToArray(periods, item);
    }
    balkon_savings_free(&savings);
    http_reply_json(response, 200, json);
}

void api_savings_get(struct http_state *state, const struct http_request *request,
                     struct http_response *response)
{
    const struct balkon_config *config = state->ctx->config;
    int64_t now_ms = balkon_clock_now_ms(&state->ctx->clock);
    if (!state->ctx->services->savings.compute) {
        http_reply_error(response, 503, "the planner is not running");
        return;
    }
    struct savings_read *q = malloc(sizeof *q);
    if (!q) {
        http_reply_error(response, 503, "out of memory");
        return;
    }
    int64_t default_from_ms = 0;
    q->now_ms = now_ms;
    q->default_from = !http_query(request, "from") &&
                      (!config->investment.installed[0] ||
                       balkon_parse_time(config->investment.installed, &default_from_ms) < 0);
    if (q->default_from) {
        /* From the first measurement, which the read looks up; it checks the range then. */
        q->to_ms = now_ms;
        if (!http_query_time(request, response, "to", &q->to_ms)) {
            free(q);
            return;
        }
    } else if (!http_query_range(request, response, default_from_ms, now_ms, &q->from_ms,
                                 &q->to_ms)) {
        free(q);
        return;
    }
    const char *group_text = http_query(request, "group");
    q->group_text = NULL;
    q->group = BALKON_SAVINGS_BY_DAY;
    if (group_text && strcmp(group_text, "day") == 0) {
        q->group_text = "day";
    } else if (group_text && strcmp(group_text, "month") == 0) {
        q->group_text = "month";
        q->group = BALKON_SAVINGS_BY_MONTH;
    } else if (group_text) {
        free(q);
        http_reply_error(response, 400, "group: must be \"day\" or \"month\", got \"%.20s\"",
                         group_text);
        return;
    }
    q->compute = state->ctx->services->savings.compute;
    q->config = *config;
    http_read(state, request, response, read_savings, NULL, q);
}
