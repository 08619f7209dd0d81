/* The planner module: plans the battery with the configured strategy (model-predictive:
 * every replan_interval_min from the measured state of charge, and at once when prices,
 * the solar forecast, the config or the strategy change), stores each plan with its two
 * baselines and publishes it for the real-time control.
 *
 * Triggers are coalesced: a burst (providers publishing at start, a reload) gives one
 * replan a moment later. A failed replan keeps the previous plan and is logged once per
 * distinct reason.
 *
 * A replan reads weeks of load history and solves a DP: 9-17 ms on the development
 * machine with a year of data (more on a Pi), too long for the loop that runs the control. So the
 * reading and solving run on libuv's thread pool (a job with a copy of the config and a reader),
 * and only the writes (the plan, the load forecast) and the publish come back to the loop. One job
 * at a time; a trigger during a job replans once it is done. A strategy switched at run time is
 * planned on the loop at once, because the API answers with the new plan; a job still running then
 * is outdated and its result dropped. */
#include "planner_internal.h"

#include "balkon/driver.h"
#include "balkon/plan_config.h"

#include "balkon/bus.h"
#include "balkon/config.h"
#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/module.h"
#include "balkon/pool.h"
#include "balkon/savings.h"
#include "balkon/services.h"
#include "balkon/store.h"
#include "balkon/timeutil.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COALESCE_WALL_MS 200
#define PLAN_RETENTION_MS (7 * BALKON_MS_PER_DAY)

/* A caller of planner.set_strategy waiting for its plan. */
struct strategy_waiter {
    void (*done)(void *user, const char *error, const char *strategy, const char *summary_json);
    void *user;
    struct strategy_waiter *next;
};

struct planner {
    struct balkon_ctx *ctx;
    uv_timer_t tick;   /* the periodic replan, on slot boundaries of simulated time */
    uv_timer_t soon;   /* coalesces event triggers */
    char override[32]; /* strategy chosen at run time; "" = the config's */
    char reason[32];   /* why the pending replan was asked for */
    double soc_pct;    /* last measured; NAN until the first status */
    int64_t last_plan_ms;
    char last_error[256];
    uint64_t generation; /* replans begun; a job's result counts only if none began after it */
    bool job_running;    /* a replan job is on the thread pool */
    /* Waiting for the first plan of a replan begun at strategy_generation or later (the
     * strategy switched at run time), oldest first. */
    struct strategy_waiter *waiters;
    uint64_t strategy_generation;
    bool stopping;
    /* The forecast errors learnt from history, relearnt on the first plan of each UTC day
     * (on the pool); NULL until the first lesson. */
    struct balkon_forecast_errors *errors;
    int64_t errors_day;
    size_t error_samples;
};

/* One replan: what it starts from (copied, so the loop may go on changing its own), what
 * it computes off the loop, and what comes back. */
struct replan_job {
    uv_work_t work;
    struct planner *p;
    struct balkon_store_readers *readers; /* NULL: computed on the loop with the store */
    uint64_t generation;
    int64_t now_ms;
    double soc_pct;
    char strategy[32];
    char reason[32];
    struct balkon_config config;
    struct planner_inputs inputs;
    struct balkon_opt_plan plan;
    struct balkon_plan_slot_row rows[BALKON_OPT_MAX_SLOTS];
    bool fell_back; /* the optimal plan lost to self-consumption and was replaced */
    int err;
    char msg[256];
    double capacity_wh;
    double soc_start_pct;
    double compute_ms;
    double gather_ms;
    /* The planner's errors (have_errors), or relearnt by this job (learn, then learnt). */
    struct balkon_forecast_errors errors;
    bool have_errors, learn, learnt;
    size_t error_samples;
    bool scenarios; /* the plan weighed the error scenarios */
    struct balkon_opt_room room;
    struct balkon_fcerr_scenario_set scenario_set;
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

/* Why each slot does what it does (src/planner/reasons.c), into the rows it is stored with. */
static void fill_reasons(struct replan_job *job)
{
    size_t count = job->inputs.count;
    struct planner_reason *reasons = calloc(count ? count : 1, sizeof *reasons);
    if (!reasons)
        return; /* the plan stands without its reasons */
    planner_slot_reasons(job->rows, count, job->soc_start_pct, job->capacity_wh,
                         job->config.battery.soc_min_pct, job->config.battery.soc_max_pct, reasons);
    for (size_t i = 0; i < count; i++) {
        struct balkon_plan_slot_row *row = &job->rows[i];
        snprintf(row->reason_code, sizeof row->reason_code, "%s", reasons[i].code);
        snprintf(row->reason_state, sizeof row->reason_state, "%s", reasons[i].state);
        row->reason_ts_ms = reasons[i].ts_ms;
        row->reason_price_per_kwh = isfinite(reasons[i].price_per_kwh)
                                        ? round(reasons[i].price_per_kwh * 100000) / 100000
                                        : NAN;
    }
    free(reasons);
}

/* What the plan expects, in a few numbers the dashboard and the notifier can quote. */
static char *summary_json(const struct replan_job *job)
{
    const struct planner_inputs *in = &job->inputs;
    const struct balkon_opt_plan *plan = &job->plan;
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "reason", job->reason);
    cJSON_AddStringToObject(json, "currency", in->currency);
    cJSON_AddNumberToObject(json, "slots", (double)in->count);
    cJSON_AddNumberToObject(json, "price_slots", (double)in->price_slots);
    cJSON_AddNumberToObject(json, "pv_forecast_slots", (double)in->pv_slots);
    cJSON_AddStringToObject(json, "price_provider", in->price_provider);
    cJSON_AddStringToObject(json, "pv_provider", in->pv_provider);
    cJSON_AddNumberToObject(json, "load_history_share",
                            round(in->load_history_share * 1000) / 1000);
    /* What the plan had to work with: 0 says "none" (no battery device, no planes), which
     * the dashboard says in words instead of drawing an empty gauge. */
    cJSON_AddNumberToObject(json, "battery_capacity_wh", round(job->capacity_wh));
    double pv_peak_w = 0.0;
    for (size_t i = 0; i < job->config.pv.plane_count; i++)
        pv_peak_w += job->config.pv.planes[i].peak_w;
    cJSON_AddNumberToObject(json, "pv_peak_w", round(pv_peak_w));
    cJSON_AddNumberToObject(json, "soc_start_pct", round(job->soc_start_pct * 10) / 10);
    cJSON_AddNumberToObject(json, "terminal_value_per_kwh",
                            round(plan->terminal_value_per_kwh * 10000) / 10000);
    cJSON_AddBoolToObject(json, "self_consumption_fallback", job->fell_back);
    cJSON_AddBoolToObject(json, "forecast_scenarios", job->scenarios);
    cJSON_AddNumberToObject(json, "forecast_error_samples", (double)job->error_samples);
    if (job->room.valid) {
        /* What room for a sunnier day than forecast is worth (docs/optimizer.md). */
        cJSON *room = cJSON_AddObjectToObject(json, "stored_energy_value");
        cJSON_AddNumberToObject(room, "at_ts_ms", (double)job->inputs.slot_ts_ms[job->room.slot]);
        cJSON_AddNumberToObject(room, "soc_wh", round(job->room.soc_wh));
        cJSON_AddNumberToObject(room, "if_forecast_right_per_kwh",
                                round(job->room.forecast_per_kwh * 10000) / 10000);
        cJSON_AddNumberToObject(room, "expected_per_kwh",
                                round(job->room.expected_per_kwh * 10000) / 10000);
    }
    add_totals(json, "plan", &plan->plan.totals);
    add_totals(json, "no_battery", &plan->no_battery.totals);
    add_totals(json, "self_consumption", &plan->self_consumption.totals);
    /* Savings compare what is minimised (energy + wear − stored value), so a plan that ends
     * with less in the battery does not look better than it is. */
    cJSON_AddNumberToObject(
        json, "expected_saving_vs_no_battery",
        round((plan->no_battery.totals.objective - plan->plan.totals.objective) * 10000) / 10000);
    cJSON_AddNumberToObject(
        json, "expected_saving_vs_self_consumption",
        round((plan->self_consumption.totals.objective - plan->plan.totals.objective) * 10000) /
            10000);
    char *text = cJSON_PrintUnformatted(json);
    cJSON_Delete(json);
    return text;
}

static void fill_rows(struct replan_job *job)
{
    const struct planner_inputs *in = &job->inputs;
    const struct balkon_opt_plan *plan = &job->plan;
    for (size_t i = 0; i < in->count; i++) {
        const struct balkon_opt_slot_result *r = &plan->plan.slots[i];
        struct balkon_plan_slot_row *row = &job->rows[i];
        row->slot_ts_ms = in->slot_ts_ms[i];
        snprintf(row->mode, sizeof row->mode, "%s", balkon_opt_mode_name(r->mode));
        row->battery_w = r->battery_w;
        row->soc_pct = job->capacity_wh > 0 ? r->soc_wh / job->capacity_wh * 100 : 0;
        row->pv_w = in->slots[i].pv_w;
        row->load_w = in->slots[i].load_w;
        row->import_w = r->import_w;
        row->export_w = r->export_w;
        row->price_per_kwh = in->slots[i].import_price_per_kwh;
        row->cost = r->cost + r->wear_cost;
        row->cost_no_battery = plan->no_battery.slots[i].cost;
        row->cost_self_consumption =
            plan->self_consumption.slots[i].cost + plan->self_consumption.slots[i].wear_cost;
        row->feed_in_per_kwh = in->slots[i].feed_in_per_kwh;
        row->value_valid = r->value.valid;
        row->value_soc_wh = r->value.soc_wh;
        row->value_charge_per_kwh = r->value.charge_per_kwh;
        row->value_discharge_per_kwh = r->value.discharge_per_kwh;
    }
}

/* Tells the set_strategy callers what became of a replan begun at generation: the ones
 * waiting for a replan that began later keep waiting. */
static void answer_waiters(struct planner *p, uint64_t generation, const char *error,
                           const char *strategy, const char *summary_json)
{
    if (!p->waiters || generation < p->strategy_generation)
        return;
    struct strategy_waiter *w = p->waiters;
    p->waiters = NULL;
    while (w) {
        struct strategy_waiter *next = w->next;
        w->done(w->user, error, strategy, summary_json);
        free(w);
        w = next;
    }
}

/* A replan begun at generation failed. */
static void fail(struct planner *p, uint64_t generation, const char *msg)
{
    if (strcmp(msg, p->last_error) != 0)
        log_error("planner", "cannot plan (keeping the previous plan): %s", msg);
    snprintf(p->last_error, sizeof p->last_error, "%s", msg);
    answer_waiters(p, generation, msg, NULL, NULL);
}

/* Plans against scenarios of the learnt forecast errors (balkon/forecast_error.h) when
 * the config asks for it and something has been learnt; relearns them first when due (only
 * on the pool: a replan on the loop uses what the planner has). */
static void plan_scenarios(struct replan_job *job, struct balkon_store *store,
                           struct balkon_opt_problem *problem)
{
    if (job->learn && job->readers) {
        size_t samples = 0;
        int rc = planner_learn_errors(store, &job->config, job->inputs.pv_provider, job->now_ms,
                                      &job->errors, &samples);
        job->learnt = rc == 0;
        job->have_errors = rc == 0;
        job->error_samples = samples;
    }
    double lead0_s = (double)(job->inputs.start_ms - job->now_ms) / 1000.0;
    job->scenarios = job->have_errors &&
                     balkon_fcerr_attach(&job->errors, job->config.optimizer.scenario_after_h,
                                         lead0_s, &job->scenario_set, problem);
}

/* Reads the inputs and solves: pure but for the reads, so it may run on a pool thread. */
static void compute(struct replan_job *job, struct balkon_store *store)
{
    const struct balkon_config *config = &job->config;
    uint64_t started_ns = uv_hrtime();
    job->err = planner_gather(store, config, job->now_ms, &job->inputs, job->msg, sizeof job->msg);
    job->gather_ms = (double)(uv_hrtime() - started_ns) / 1e6;
    if (job->err < 0)
        return;
    struct balkon_opt_problem problem;
    balkon_opt_problem_init(&problem);
    problem.slots = job->inputs.slots;
    problem.slot_count = job->inputs.count;
    balkon_battery_from_config(config, &problem.battery);
    /* The battery section has defaults (2.24 kWh): without a battery among the devices
     * there is none to plan for. */
    if (!balkon_driver_config_has_battery(config))
        problem.battery.capacity_wh = 0.0;
    job->capacity_wh = problem.battery.capacity_wh;
    /* Before the first measurement (devices still connecting), assume the lower bound:
     * the plan is redone as soon as the battery reports. */
    job->soc_start_pct = isfinite(job->soc_pct) ? job->soc_pct : config->battery.soc_min_pct;
    problem.initial_soc_wh = job->capacity_wh * job->soc_start_pct / 100.0;
    problem.soc_step_wh = config->optimizer.soc_step_wh > 0
                              ? config->optimizer.soc_step_wh
                              : balkon_opt_soc_step_wh(problem.battery.capacity_wh);
    problem.terminal_value_auto = false;
    problem.terminal_value_per_kwh = config->optimizer.terminal_value_per_kwh >= 0
                                         ? config->optimizer.terminal_value_per_kwh
                                         : balkon_opt_lowest_price_value_per_kwh(&problem);
    struct balkon_opt_window windows[BALKON_OPT_MAX_WINDOWS];
    problem.windows = windows;
    problem.window_count = balkon_windows_from_config(config, windows);

    plan_scenarios(job, store, &problem);

    struct balkon_opt_workspace *ws = balkon_opt_workspace_new();
    if (!ws) {
        job->err = BALKON_E_NOMEM;
        snprintf(job->msg, sizeof job->msg, "out of memory");
        return;
    }
    job->err = balkon_opt_plan_followed(&problem, job->strategy, ws, &job->plan, &job->fell_back,
                                        job->msg, sizeof job->msg);
    job->room = balkon_opt_workspace_room(ws);
    balkon_opt_workspace_free(ws);
    if (job->err >= 0) {
        fill_rows(job);
        fill_reasons(job);
    }
    job->compute_ms = (double)(uv_hrtime() - started_ns) / 1e6;
}

/* Keeps the forecast errors a job relearnt (a failed lesson is retried the next day). */
static void keep_errors(struct planner *p, const struct replan_job *job)
{
    if (!job->learn || !job->readers)
        return;
    p->errors_day = job->now_ms / 86400000;
    if (!job->learnt)
        return;
    if (!p->errors && !(p->errors = malloc(sizeof *p->errors)))
        return;
    *p->errors = job->errors;
    p->error_samples = job->error_samples;
}

/* Back on the loop: stores and publishes the plan the job made. */
static void finish(struct planner *p, struct replan_job *job)
{
    if (job->err < 0) {
        fail(p, job->generation, job->msg);
        return;
    }
    p->last_error[0] = '\0';
    keep_errors(p, job);
    uint64_t started_ns = uv_hrtime();
    struct balkon_store *store = p->ctx->store;
    planner_store_load_forecast(store, job->now_ms, &job->inputs);
    char *summary = summary_json(job);
    struct balkon_plan_record record = {.created_ts_ms = job->now_ms,
                                        .slot_s = 900,
                                        .summary_json = summary,
                                        .slots = job->rows,
                                        .count = job->inputs.count};
    snprintf(record.strategy, sizeof record.strategy, "%s", job->strategy);
    snprintf(record.currency, sizeof record.currency, "%s", job->inputs.currency);
    int64_t id = 0;
    if (balkon_store_plan_put(store, &record, &id) < 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "cannot store the plan: %s", balkon_store_errmsg(store));
        free(summary);
        fail(p, job->generation, msg);
        return;
    }
    balkon_store_plans_prune(store, job->now_ms - PLAN_RETENTION_MS);
    p->last_plan_ms = job->now_ms;

    struct ev_plan ev = {
        .id = id, .created_ts_ms = job->now_ms, .count = job->inputs.count, .slots = job->rows};
    snprintf(ev.strategy, sizeof ev.strategy, "%s", job->strategy);
    snprintf(ev.reason, sizeof ev.reason, "%s", job->reason);
    const struct balkon_opt_totals *t = &job->plan.plan.totals;
    balkon_log(
        strcmp(job->reason, "timer") == 0 ? BALKON_LOG_DEBUG : BALKON_LOG_INFO, "planner",
        "plan %lld (%s, %s): %zu slots, now %s %.0f W; expected cost %.2f %s (no battery %.2f, "
        "self-consumption %.2f); %s %.1f ms (inputs %.1f ms), stored in %.1f ms",
        (long long)id, job->strategy, job->reason, job->inputs.count, job->rows[0].mode,
        job->rows[0].battery_w, t->energy_cost + t->wear_cost, job->inputs.currency,
        job->plan.no_battery.totals.energy_cost,
        job->plan.self_consumption.totals.energy_cost + job->plan.self_consumption.totals.wear_cost,
        job->readers ? "computed off the loop in" : "computed on the loop in", job->compute_ms,
        job->gather_ms, (double)(uv_hrtime() - started_ns) / 1e6);
    balkon_bus_publish(p->ctx->bus, BUS_EV_PLAN, &ev);
    answer_waiters(p, job->generation, NULL, job->strategy, summary);
    free(summary);
}

static struct replan_job *job_new(struct planner *p)
{
    struct replan_job *job = malloc(sizeof *job);
    if (!job)
        return NULL;
    /* The large parts (config, inputs, plan, rows) are filled in whole before they are read. */
    memset(job, 0, offsetof(struct replan_job, config));
    job->fell_back = false;
    job->err = 0;
    job->msg[0] = '\0';
    job->compute_ms = job->gather_ms = 0;
    job->p = p;
    job->generation = ++p->generation;
    job->now_ms = balkon_clock_now_ms(&p->ctx->clock);
    job->soc_pct = p->soc_pct;
    snprintf(job->strategy, sizeof job->strategy, "%s", strategy_of(p));
    snprintf(job->reason, sizeof job->reason, "%s", p->reason[0] ? p->reason : "timer");
    job->config = *p->ctx->config;
    /* Forecast errors: the planner's copy, relearnt on the first plan of a UTC day. */
    int64_t day = job->now_ms / 86400000;
    job->have_errors = p->errors != NULL;
    if (p->errors)
        job->errors = *p->errors;
    job->learn = p->errors_day != day;
    job->learnt = job->scenarios = false;
    job->error_samples = p->error_samples;
    return job;
}

static void job_work_cb(uv_work_t *work)
{
    struct replan_job *job = work->data;
    balkon_pool_thread_lower_priority();
    struct balkon_store *reader = NULL;
    if (balkon_store_readers_acquire(job->readers, &reader, job->msg, sizeof job->msg) < 0) {
        job->err = BALKON_E_IO;
        return;
    }
    if (balkon_store_read_begin(reader) < 0) {
        job->err = BALKON_E_IO;
        snprintf(job->msg, sizeof job->msg, "cannot read the database: %s",
                 balkon_store_errmsg(reader));
    } else {
        compute(job, reader);
        balkon_store_read_end(reader);
    }
    balkon_store_readers_release(job->readers, reader);
}

static void request_replan(struct planner *p, const char *reason);

static void job_after_cb(uv_work_t *work, int status)
{
    struct replan_job *job = work->data;
    struct planner *p = job->p;
    p->job_running = false;
    /* A newer replan (a strategy switched meanwhile) outdates this one; so does the stop. */
    if (!p->stopping && status == 0 && job->generation == p->generation)
        finish(p, job);
    free(job);
    if (!p->stopping && p->reason[0])
        request_replan(p, p->reason); /* asked for while the job ran */
}

/* Replans now, on the loop: an in-memory database is seen by the loop's connection only. */
static void replan_on_loop(struct planner *p)
{
    struct replan_job *job = job_new(p);
    if (!job) {
        fail(p, p->generation + 1, "out of memory");
        return;
    }
    compute(job, p->ctx->store);
    finish(p, job);
    free(job);
}

static void soon_cb(uv_timer_t *timer)
{
    struct planner *p = timer->data;
    if (p->job_running)
        return;             /* the reason stays: the job's end replans again */
    if (!p->ctx->readers) { /* an in-memory database: only the loop's connection sees it */
        replan_on_loop(p);
        p->reason[0] = '\0';
        return;
    }
    struct replan_job *job = job_new(p);
    if (!job) {
        fail(p, p->generation + 1, "out of memory");
        return;
    }
    p->reason[0] = '\0';
    job->readers = p->ctx->readers;
    job->work.data = job;
    if (uv_queue_work(p->ctx->loop, &job->work, job_work_cb, job_after_cb) < 0) {
        uint64_t generation = job->generation;
        free(job);
        fail(p, generation, "cannot queue the replan");
        return;
    }
    p->job_running = true;
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
    uv_timer_start(&p->tick, tick_cb, balkon_clock_wall_ms(&p->ctx->clock, next_ms - now_ms) + 1,
                   0);
}

static void tick_cb(uv_timer_t *timer)
{
    struct planner *p = timer->data;
    request_replan(p, "timer");
    schedule_tick(p);
}

/* Says once per config (at start and when a reload changes it) that no device is a battery,
 * so the plans hold none whatever the battery section says. */
static void say_battery(const struct balkon_config *config, const struct balkon_config *previous)
{
    bool has = balkon_driver_config_has_battery(config);
    if (!has && (!previous || balkon_driver_config_has_battery(previous)))
        log_notice("planner", "no device is a battery: planning without one (the battery "
                              "section applies once a battery device is configured)");
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
        say_battery(change->config, change->previous);
        schedule_tick(p);
        request_replan(p, "config");
        break;
    }
    default:
        break;
    }
}

/* The planner.set_strategy service: a replan at once, not coalesced, on the pool like any
 * other (a running one finishes first, and its plan, of the old strategy, answers nobody). */
static int set_strategy(void *self, const char *name,
                        void (*done)(void *user, const char *error, const char *strategy,
                                     const char *summary_json),
                        void *user)
{
    struct planner *p = self;
    if (done) {
        struct strategy_waiter *w = malloc(sizeof *w);
        if (!w)
            return BALKON_E_NOMEM;
        *w = (struct strategy_waiter){done, user, NULL};
        struct strategy_waiter **tail = &p->waiters;
        while (*tail)
            tail = &(*tail)->next;
        *tail = w;
    }
    snprintf(p->override, sizeof p->override, "%s", name);
    log_notice("planner", "strategy switched to \"%s\" at run time", strategy_of(p));
    snprintf(p->reason, sizeof p->reason, "strategy");
    p->strategy_generation = p->generation + 1;
    uv_timer_stop(&p->soon);
    uv_timer_start(&p->soon, soon_cb, 0, 0);
    return 0;
}

static const struct bus_subscription subscriptions[] = {
    {BUS_EV_SITE_STATUS, on_event},
    {BUS_EV_PRICES, on_event},
    {BUS_EV_FORECAST, on_event},
    {BUS_EV_CONFIG_CHANGED, on_event},
};
#define SUBSCRIPTION_COUNT (sizeof subscriptions / sizeof subscriptions[0])

static void planner_release(struct planner *p)
{
    free(p->errors);
    free(p);
}

static int planner_start(struct balkon_ctx *ctx, void **state)
{
    struct planner *p = calloc(1, sizeof *p);
    if (!p)
        return BALKON_E_NOMEM;
    p->ctx = ctx;
    p->soc_pct = NAN;
    p->errors_day = INT64_MIN;
    int rc = balkon_bus_subscribe_all(ctx->bus, subscriptions, SUBSCRIPTION_COUNT, p);
    if (rc < 0) {
        planner_release(p);
        log_error("planner", "cannot subscribe: %s", balkon_strerror(rc));
        return rc;
    }
    uv_timer_init(ctx->loop, &p->tick);
    uv_timer_init(ctx->loop, &p->soon);
    p->tick.data = p->soon.data = p;
    schedule_tick(p);
    say_battery(ctx->config, NULL);
    request_replan(p, "start");
    if (ctx->services) {
        ctx->services->planner.set_strategy = set_strategy;
        ctx->services->planner.self = p;
        ctx->services->savings.compute = balkon_savings_compute;
    }
    *state = p;
    return 0;
}

static void planner_stop(void *state)
{
    struct planner *p = state;
    if (p->ctx->services) {
        p->ctx->services->planner.self = NULL;
        p->ctx->services->savings.compute = NULL;
    }
    p->stopping = true; /* a job still running ends without a plan */
    answer_waiters(p, UINT64_MAX, "the daemon is stopping", NULL, NULL);
    balkon_bus_unsubscribe_all(p->ctx->bus, subscriptions, SUBSCRIPTION_COUNT, p);
    uv_close((uv_handle_t *)&p->tick, NULL);
    uv_close((uv_handle_t *)&p->soon, NULL);
}

static void planner_free(void *state)
{
    planner_release(state);
}

const struct balkon_module balkon_module_planner = {
    .name = "planner",
    .start = planner_start,
    .stop = planner_stop,
    .free = planner_free,
};
