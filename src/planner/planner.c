/* The planner module: plans the battery with the configured strategy (model-predictive:
 * every replan_interval_min from the measured state of charge, and at once when prices,
 * the solar forecast, the config or the strategy change), stores each plan with its two
 * baselines and publishes it for the real-time control.
 *
 * Triggers are coalesced: a burst (providers publishing at start, a reload) gives one
 * replan a moment later. A failed replan keeps the previous plan and is logged once per
 * distinct reason. */
#include "planner_internal.h"

#include "balkon/plan_config.h"

#include "balkon/bus.h"
#include "balkon/config.h"
#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/module.h"
#include "balkon/store.h"
#include "balkon/timeutil.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COALESCE_WALL_MS 200
#define PLAN_RETENTION_MS (7 * BALKON_MS_PER_DAY)

struct planner {
    struct balkon_ctx *ctx;
    uv_timer_t tick;      /* the periodic replan, on slot boundaries of simulated time */
    uv_timer_t soon;      /* coalesces event triggers */
    struct balkon_opt_workspace *ws;
    struct planner_inputs *inputs;
    struct balkon_opt_plan *plan;
    struct balkon_plan_slot_row *rows;
    char override[32];    /* strategy chosen at run time; "" = the config's */
    char reason[32];      /* why the pending replan was asked for */
    double soc_pct;       /* last measured; NAN until the first status */
    int64_t last_plan_ms;
    char last_error[256];
    bool fell_back;       /* the optimal plan lost to self-consumption and was replaced */
};

static const char *strategy_of(const struct planner *p)
{
    return p->override[0] ? p->override : p->ctx->config->optimizer.strategy;
}

static void add_totals(cJSON *parent, const char *key, const struct balkon_opt_totals *t)
{
    cJSON *o = cJSON_AddObjectToObject(parent, key);
    cJSON_AddNumberToObject(o, "energy_cost", round(t->energy_cost * 10000) / 10000);
    cJSON_AddNumberToObject(o, "wear_cost", round(t->wear_cost * 10000) / 10000);
    cJSON_AddNumberToObject(o, "stored_value", round(t->stored_value * 10000) / 10000);
    cJSON_AddNumberToObject(o, "objective", round(t->objective * 10000) / 10000);
    cJSON_AddNumberToObject(o, "import_wh", round(t->import_wh));
    cJSON_AddNumberToObject(o, "export_wh", round(t->export_wh));
    cJSON_AddNumberToObject(o, "charge_wh", round(t->charge_wh));
    cJSON_AddNumberToObject(o, "discharge_wh", round(t->discharge_wh));
    cJSON_AddNumberToObject(o, "pv_curtailed_wh", round(t->pv_curtailed_wh));
}

/* What the plan expects, in a few numbers the dashboard and the notifier can quote. */
static char *summary_json(const struct planner *p, double soc_start_pct)
{
    const struct planner_inputs *in = p->inputs;
    const struct balkon_opt_plan *plan = p->plan;
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "reason", p->reason);
    cJSON_AddStringToObject(json, "currency", in->currency);
    cJSON_AddNumberToObject(json, "slots", (double)in->count);
    cJSON_AddNumberToObject(json, "price_slots", (double)in->price_slots);
    cJSON_AddNumberToObject(json, "pv_forecast_slots", (double)in->pv_slots);
    cJSON_AddStringToObject(json, "price_provider", in->price_provider);
    cJSON_AddStringToObject(json, "pv_provider", in->pv_provider);
    cJSON_AddNumberToObject(json, "load_history_share", round(in->load_history_share * 1000) / 1000);
    cJSON_AddNumberToObject(json, "soc_start_pct", round(soc_start_pct * 10) / 10);
    cJSON_AddNumberToObject(json, "terminal_value_per_kwh", round(plan->terminal_value_per_kwh * 10000) / 10000);
    cJSON_AddBoolToObject(json, "self_consumption_fallback", p->fell_back);
    add_totals(json, "plan", &plan->plan.totals);
    add_totals(json, "no_battery", &plan->no_battery.totals);
    add_totals(json, "self_consumption", &plan->self_consumption.totals);
    /* Savings compare what is minimised (energy + wear − stored value), so a plan that ends
     * with less in the battery does not look better than it is. */
    cJSON_AddNumberToObject(json, "expected_saving_vs_no_battery",
                            round((plan->no_battery.totals.objective - plan->plan.totals.objective) * 10000) / 10000);
    cJSON_AddNumberToObject(json, "expected_saving_vs_self_consumption",
                            round((plan->self_consumption.totals.objective - plan->plan.totals.objective) * 10000) / 10000);
    char *text = cJSON_PrintUnformatted(json);
    cJSON_Delete(json);
    return text;
}

static void fill_rows(struct planner *p, double capacity_wh)
{
    const struct planner_inputs *in = p->inputs;
    for (size_t i = 0; i < in->count; i++) {
        const struct balkon_opt_slot_result *r = &p->plan->plan.slots[i];
        struct balkon_plan_slot_row *row = &p->rows[i];
        row->slot_ts_ms = in->slot_ts_ms[i];
        snprintf(row->mode, sizeof row->mode, "%s", balkon_opt_mode_name(r->mode));
        row->battery_w = r->battery_w;
        row->soc_pct = capacity_wh > 0 ? r->soc_wh / capacity_wh * 100 : 0;
        row->pv_w = in->slots[i].pv_w;
        row->load_w = in->slots[i].load_w;
        row->import_w = r->import_w;
        row->export_w = r->export_w;
        row->price_per_kwh = in->slots[i].import_price_per_kwh;
        row->cost = r->cost + r->wear_cost;
        row->cost_no_battery = p->plan->no_battery.slots[i].cost;
        row->cost_self_consumption = p->plan->self_consumption.slots[i].cost + p->plan->self_consumption.slots[i].wear_cost;
    }
}

static void fail(struct planner *p, const char *msg)
{
    if (strcmp(msg, p->last_error) != 0)
        log_error("planner", "cannot plan (keeping the previous plan): %s", msg);
    snprintf(p->last_error, sizeof p->last_error, "%s", msg);
}

static void replan(struct planner *p)
{
    const struct balkon_config *config = p->ctx->config;
    int64_t now_ms = balkon_clock_now_ms(&p->ctx->clock);
    char msg[256];
    if (planner_gather(p->ctx->store, config, now_ms, p->inputs, msg, sizeof msg) < 0)
        { fail(p, msg); return; }

    struct balkon_opt_problem problem;
    balkon_opt_problem_init(&problem);
    problem.slots = p->inputs->slots;
    problem.slot_count = p->inputs->count;
    balkon_battery_from_config(config, &problem.battery);
    double capacity_wh = problem.battery.capacity_wh;
    /* Before the first measurement (devices still connecting), assume the lower bound:
     * the plan is redone as soon as the battery reports. */
    double soc_pct = isfinite(p->soc_pct) ? p->soc_pct : config->battery.soc_min_pct;
    problem.initial_soc_wh = capacity_wh * soc_pct / 100.0;
    problem.soc_step_wh = config->optimizer.soc_step_wh;
    problem.terminal_value_auto = false;
    problem.terminal_value_per_kwh = config->optimizer.terminal_value_per_kwh >= 0
                                         ? config->optimizer.terminal_value_per_kwh
                                         : balkon_opt_lowest_price_value_per_kwh(&problem);
    struct balkon_opt_window windows[BALKON_OPT_MAX_WINDOWS];
    problem.windows = windows;
    problem.window_count = balkon_windows_from_config(config, windows);

    const char *strategy = strategy_of(p);
    if (balkon_opt_plan_followed(&problem, strategy, p->ws, p->plan, &p->fell_back, msg, sizeof msg) < 0)
        { fail(p, msg); return; }
    p->last_error[0] = '\0';

    fill_rows(p, capacity_wh);
    char *summary = summary_json(p, soc_pct);
    struct balkon_plan_record record = {.created_ts_ms = now_ms, .slot_s = 900, .summary_json = summary,
                                        .slots = p->rows, .count = p->inputs->count};
    snprintf(record.strategy, sizeof record.strategy, "%s", strategy);
    snprintf(record.currency, sizeof record.currency, "%s", p->inputs->currency);
    int64_t id = 0;
    if (balkon_store_plan_put(p->ctx->store, &record, &id) < 0) {
        snprintf(msg, sizeof msg, "cannot store the plan: %s", balkon_store_errmsg(p->ctx->store));
        free(summary);
        { fail(p, msg); return; }
    }
    free(summary);
    balkon_store_plans_prune(p->ctx->store, now_ms - PLAN_RETENTION_MS);
    p->last_plan_ms = now_ms;

    struct ev_plan ev = {.id = id, .created_ts_ms = now_ms, .count = p->inputs->count, .slots = p->rows};
    snprintf(ev.strategy, sizeof ev.strategy, "%s", strategy);
    snprintf(ev.reason, sizeof ev.reason, "%s", p->reason);
    const struct balkon_opt_totals *t = &p->plan->plan.totals;
    balkon_log(strcmp(p->reason, "timer") == 0 ? BALKON_LOG_DEBUG : BALKON_LOG_INFO, "planner", "plan %lld (%s, %s): %zu slots, now %s %.0f W; expected cost %.2f %s (no battery %.2f, self-consumption %.2f)",
        (long long)id, strategy, p->reason, p->inputs->count, p->rows[0].mode, p->rows[0].battery_w,
        t->energy_cost + t->wear_cost, p->inputs->currency, p->plan->no_battery.totals.energy_cost,
        p->plan->self_consumption.totals.energy_cost + p->plan->self_consumption.totals.wear_cost);
    balkon_bus_publish(p->ctx->bus, BUS_EV_PLAN, &ev);
}

static void soon_cb(uv_timer_t *timer)
{
    struct planner *p = timer->data;
    replan(p);
    p->reason[0] = '\0';
}

static void request_replan(struct planner *p, const char *reason)
{
    if (!p->reason[0])
        snprintf(p->reason, sizeof p->reason, "%s", reason);
    if (!uv_is_active((uv_handle_t *)&p->soon))
        uv_timer_start(&p->soon, soon_cb, COALESCE_WALL_MS, 0);
}

static void tick_cb(uv_timer_t *timer);

/* The next replan on a boundary of the interval in simulated time (e.g. :00 :15 :30 :45),
 * so the plan's first slot is always whole. */
static void schedule_tick(struct planner *p)
{
    int64_t interval_ms = (int64_t)(p->ctx->config->optimizer.replan_interval_min * 60000.0);
    int64_t now_ms = balkon_clock_now_ms(&p->ctx->clock);
    int64_t next_ms = balkon_floor_ms(now_ms, interval_ms) + interval_ms;
    uv_timer_start(&p->tick, tick_cb, balkon_clock_wall_ms(&p->ctx->clock, next_ms - now_ms) + 1, 0);
}

static void tick_cb(uv_timer_t *timer)
{
    struct planner *p = timer->data;
    request_replan(p, "timer");
    schedule_tick(p);
}

static void on_event(enum bus_event event, const void *payload, void *user)
{
    struct planner *p = user;
    switch (event) {
    case BUS_EV_SITE_STATUS: {
        const struct ev_site_status *status = payload;
        bool first = !isfinite(p->soc_pct) && isfinite(status->soc_pct);
        p->soc_pct = status->soc_pct;
        if (first)
            request_replan(p, "measured_soc");
        break;
    }
    case BUS_EV_PRICES:
        if (((const struct ev_prices *)payload)->primary)
            request_replan(p, "prices");
        break;
    case BUS_EV_FORECAST:
        if (strcmp(((const struct ev_forecast *)payload)->kind, "pv") == 0)
            request_replan(p, "forecast");
        break;
    case BUS_EV_CONFIG_CHANGED: {
        const struct ev_config_changed *change = payload;
        if (change->previous &&
            strcmp(change->previous->optimizer.strategy, change->config->optimizer.strategy) != 0)
            p->override[0] = '\0'; /* a new strategy in the file beats the run-time choice */
        schedule_tick(p);
        request_replan(p, "config");
        break;
    }
    case BUS_EV_STRATEGY_REQUEST: {
        const struct ev_strategy_request *request = payload;
        snprintf(p->override, sizeof p->override, "%s", request->name);
        log_notice("planner", "strategy switched to \"%s\" at run time", strategy_of(p));
        /* At once, not coalesced: the API answers with the new plan. */
        snprintf(p->reason, sizeof p->reason, "strategy");
        uv_timer_stop(&p->soon);
        soon_cb(&p->soon);
        break;
    }
    default:
        break;
    }
}

static const enum bus_event EVENTS[] = {BUS_EV_SITE_STATUS, BUS_EV_PRICES, BUS_EV_FORECAST,
                                        BUS_EV_CONFIG_CHANGED, BUS_EV_STRATEGY_REQUEST};
#define EVENT_COUNT (sizeof EVENTS / sizeof EVENTS[0])

static void planner_release(struct planner *p)
{
    balkon_opt_workspace_free(p->ws);
    free(p->inputs);
    free(p->plan);
    free(p->rows);
    free(p);
}

static int planner_start(struct balkon_ctx *ctx, void **state)
{
    struct planner *p = calloc(1, sizeof *p);
    if (!p)
        return BALKON_E_NOMEM;
    p->ctx = ctx;
    p->soc_pct = NAN;
    p->ws = balkon_opt_workspace_new();
    p->inputs = malloc(sizeof *p->inputs);
    p->plan = malloc(sizeof *p->plan);
    p->rows = calloc(BALKON_OPT_MAX_SLOTS, sizeof *p->rows);
    if (!p->ws || !p->inputs || !p->plan || !p->rows) {
        planner_release(p);
        log_error("planner", "cannot start: out of memory");
        return BALKON_E_NOMEM;
    }
    for (size_t i = 0; i < EVENT_COUNT; i++) {
        int rc = balkon_bus_subscribe(ctx->bus, EVENTS[i], on_event, p);
        if (rc < 0) {
            for (size_t j = 0; j < i; j++)
                balkon_bus_unsubscribe(ctx->bus, EVENTS[j], on_event, p);
            planner_release(p);
            log_error("planner", "cannot subscribe: %s", balkon_strerror(rc));
            return rc;
        }
    }
    uv_timer_init(ctx->loop, &p->tick);
    uv_timer_init(ctx->loop, &p->soon);
    p->tick.data = p->soon.data = p;
    schedule_tick(p);
    request_replan(p, "start");
    *state = p;
    return 0;
}

static void planner_stop(void *state)
{
    struct planner *p = state;
    for (size_t i = 0; i < EVENT_COUNT; i++)
        balkon_bus_unsubscribe(p->ctx->bus, EVENTS[i], on_event, p);
    uv_close((uv_handle_t *)&p->tick, NULL);
    uv_close((uv_handle_t *)&p->soon, NULL);
}

static void planner_free(void *state) { planner_release(state); }

const struct balkon_module balkon_module_planner = {
    .name = "planner",
    .start = planner_start,
    .stop = planner_stop,
    .free = planner_free,
};
