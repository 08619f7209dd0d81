/* The replay engine (see include/balkon/replay.h): every strategy over the same measured
 * slots, re-planned every slot the way the planner module does it (src/planner/planner.c:
 * horizon up to the last known price, load forecast rebuilt from the history before the
 * decision, automatic terminal value, the followed plan and its fall-back to
 * self-consumption), with the current slot's command run against what really happened. */
#include "balkon/replay.h"

#include "balkon/error.h"
#include "balkon/forecast_error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIN_HORIZON_SLOTS 4 /* as the planner: never plan fewer */

static const char *const strategy_names[BALKON_REPLAY_STRATEGY_COUNT] = {
    "no_battery",     "self_consumption",   "optimal",
    "fixed_schedule", "optimal_as_planned", "perfect_foresight",
};

const char *balkon_replay_strategy_name(enum balkon_replay_strategy strategy)
{
    return (unsigned)strategy < BALKON_REPLAY_STRATEGY_COUNT ? strategy_names[strategy] : "?";
}

int balkon_replay_strategy_parse(const char *name, enum balkon_replay_strategy *out)
{
    for (int i = 0; name && i < BALKON_REPLAY_STRATEGY_COUNT; i++) {
        if (strcmp(name, strategy_names[i]) == 0) {
            *out = (enum balkon_replay_strategy)i;
            return BALKON_OK;
        }
    }
    return BALKON_E_NOTFOUND;
}

void balkon_replay_params_init(struct balkon_replay_params *params)
{
    memset(params, 0, sizeof *params);
    params->battery = (struct balkon_opt_battery){
        .soc_max_pct = 100.0,
        .charge_efficiency = 1.0,
        .discharge_efficiency = 1.0,
        .ac_limit_w = BALKON_OPT_DEFAULT_AC_LIMIT_W,
    };
    params->soc_step_wh = 0.0; /* adaptive */
    params->terminal_value_per_kwh = -1.0;
    params->horizon_slots = 192;
    params->history_days = 56.0;
    params->annual_kwh = 3000.0;
    params->scenario_after_h = 8.0;
    params->pv_error_floor_w = 50.0;
    params->strategies = BALKON_REPLAY_BIT(BALKON_REPLAY_SELF_CONSUMPTION) |
                         BALKON_REPLAY_BIT(BALKON_REPLAY_OPTIMAL) |
                         BALKON_REPLAY_BIT(BALKON_REPLAY_PERFECT_FORESIGHT);
}

int balkon_replay_pv_persistence(void *user, const struct balkon_replay_series *series, size_t now,
                                 size_t end, double *pv_w)
{
    for (size_t s = now; s < end; s++) {
        pv_w[s - now] = 0.0;
        for (size_t k = (s - now) / BALKON_REPLAY_SLOTS_PER_DAY + 1, tries = 0; tries < 7;
             k++, tries++) {
            size_t back = k * BALKON_REPLAY_SLOTS_PER_DAY;
            if (back > s)
                break;
            if (series->slots[s - back].measured) {
                pv_w[s - now] = series->slots[s - back].pv_w;
                break;
            }
        }
    }
    return BALKON_OK;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The engine's state across slots. */
struct engine {
    const struct balkon_replay_series *series;
    const struct balkon_replay_params *params;
    struct balkon_replay_report *out;
    struct balkon_opt_workspace *ws;
    struct balkon_opt_plan *plan;
    struct balkon_load_profile *profile;
    struct balkon_load_sample *samples; /* one per series slot; NaN where not measured */
    double soc_wh[BALKON_REPLAY_STRATEGY_COUNT];
    struct balkon_opt_slot horizon[BALKON_OPT_MAX_SLOTS];
    double load_fc_w[BALKON_OPT_MAX_SLOTS];
    double pv_fc_w[BALKON_OPT_MAX_SLOTS];
    /* Forecast errors learnt so far, from the forecasts made lead_slots[i] slots ahead of each
     * slot (kept until the slot is replayed) against what happened. */
    struct balkon_forecast_errors *errors;
    struct lead_memo *memo; /* [BALKON_FCERR_LEADS][MEMO_SLOTS] */
    int64_t errors_day;     /* UTC day of the last forgetting */
    struct balkon_fcerr_scenario_set scenario_set;
    char *msg;
    size_t msg_size;
};

/* A forecast made ahead of slot `target`, waiting for the slot to be replayed. */
struct lead_memo {
    size_t target;
    double pv_w, load_w;
};
/* One lead per bucket of balkon_fcerr_lead_bucket: 1 h, 6 h, 18 h, 30 h. */
static const size_t lead_slots[BALKON_FCERR_LEADS] = {4, 24, 72, 120};
#define MEMO_SLOTS 128 /* more than the longest lead */
/* Errors lose half their weight in 30 days: the season changes how wrong forecasts are. */
#define ERROR_DAILY_DECAY 0.977159968434759

/* The DP's SoC step: the configured one, or with 0 the adaptive one for the battery. */
static double step_wh(const struct balkon_replay_params *params)
{
    return params->soc_step_wh > 0.0 ? params->soc_step_wh
                                     : balkon_opt_soc_step_wh(params->battery.capacity_wh);
}

static bool runs(const struct engine *e, enum balkon_replay_strategy s)
{
    return s == BALKON_REPLAY_NO_BATTERY || (e->params->strategies & BALKON_REPLAY_BIT(s));
}

static void tally_step(struct engine *e, enum balkon_replay_strategy s,
                       const struct balkon_opt_slot *slot, const struct balkon_opt_slot_result *r)
{
    struct balkon_opt_totals *t = &e->out->tally[s].totals;
    balkon_opt_totals_add(t, slot, r, BALKON_SLOT_S / 3600.0);
    t->throughput_wh += fabs(r->soc_wh - e->soc_wh[s]);
    t->soc_end_wh = r->soc_wh;
    e->soc_wh[s] = r->soc_wh;
}

/* Runs strategy s's command for the slot against the measured data. */
static void execute(struct engine *e, enum balkon_replay_strategy s,
                    const struct balkon_opt_battery *battery, const struct balkon_opt_slot *actual,
                    struct balkon_opt_command command)
{
    struct balkon_opt_slot_result r;
    balkon_opt_step(battery, actual, BALKON_SLOT_S, e->soc_wh[s], command, &r);
    tally_step(e, s, actual, &r);
}

/* What a battery following its meter does in the slot: self_consumption, or the fixed
 * schedule's window for the slot's minute. */
static struct balkon_opt_command reactive_command(const struct engine *e, const char *strategy,
                                                  const struct balkon_opt_slot *actual,
                                                  double soc_wh)
{
    struct balkon_opt_problem one;
    struct balkon_opt_command command = {BALKON_OPT_IDLE, 0.0};
    balkon_opt_problem_init(&one);
    one.slots = actual;
    one.slot_count = 1;
    one.battery = e->params->battery;
    one.initial_soc_wh = soc_wh;
    one.windows = e->params->windows;
    one.window_count = e->params->window_count;
    balkon_opt_strategy_find(strategy)->plan_fn(&one, NULL, &command);
    return command;
}

static double terminal_value(const struct engine *e, const struct balkon_opt_problem *p)
{
    if (e->params->terminal_value_per_kwh >= 0.0)
        return e->params->terminal_value_per_kwh;
    return balkon_opt_lowest_price_value_per_kwh(p);
}

/* Plans e->horizon[0..n) from soc_wh with "optimal" and returns in *command what the
 * daemon runs in the first slot. as_planned: the DP's command as it is; otherwise the
 * planner's rules (planner.c, follow_plan and the fall-back). Returns 0 or an error. */
static int plan_first(struct engine *e, enum balkon_replay_strategy s, size_t n, double soc_wh,
                      bool as_planned, struct balkon_opt_command *command, bool *fell_back)
{
    struct balkon_opt_problem p;
    balkon_opt_problem_init(&p);
    p.slots = e->horizon;
    p.slot_count = n;
    p.slot_s = BALKON_SLOT_S;
    p.battery = e->params->battery;
    p.initial_soc_wh = soc_wh;
    p.soc_step_wh = step_wh(e->params);
    p.terminal_value_auto = false;
    p.terminal_value_per_kwh = terminal_value(e, &p);
    /* Perfect foresight knows what comes: no scenarios. */
    if (s != BALKON_REPLAY_PERFECT_FORESIGHT)
        balkon_fcerr_attach(e->errors, e->params->scenario_after_h, 0.0, &e->scenario_set, &p);

    double t0 = now_s();
    int err;
    *fell_back = false;
    if (as_planned) {
        err = balkon_opt_plan(&p, "optimal", e->ws, e->plan, e->msg, e->msg_size);
        if (!err)
            *command = (struct balkon_opt_command){e->plan->plan.slots[0].mode,
                                                   e->plan->plan.slots[0].limit_w};
    } else {
        /* The daemon's rules: src/planner/planner.c calls the same function. */
        err =
            balkon_opt_plan_followed(&p, "optimal", e->ws, e->plan, fell_back, e->msg, e->msg_size);
        if (!err)
            *command = balkon_opt_command_follow(
                &p.battery, (struct balkon_opt_command){e->plan->plan.slots[0].mode,
                                                        e->plan->plan.slots[0].limit_w});
    }
    struct balkon_replay_tally *tally = &e->out->tally[s];
    tally->plan_s += now_s() - t0;
    tally->plans++;
    tally->fallbacks += *fell_back;
    return err;
}

/* The end of the horizon the planner sees at slot t: the last known price within the
 * horizon, or the whole horizon when none is known (flat tariff); at least 4 slots. */
static size_t horizon_end(const struct engine *e, size_t t)
{
    const struct balkon_replay_series *series = e->series;
    size_t max_end = t + e->params->horizon_slots;
    size_t rule_end =
        series->slots[t].prices_until < max_end ? series->slots[t].prices_until : max_end;
    size_t end = max_end;
    for (size_t s = rule_end < series->count ? rule_end : series->count; s > t; s--) {
        if (series->slots[s - 1].price_known) {
            end = s;
            break;
        }
    }
    if (end < t + MIN_HORIZON_SLOTS)
        end = t + MIN_HORIZON_SLOTS;
    return end < series->count ? end : series->count;
}

/* Forecasts for [t, end) as known at t's start, into e->load_fc_w and e->pv_fc_w. */
static int forecast(struct engine *e, size_t t, size_t end)
{
    const struct balkon_replay_series *series = e->series;
    const struct balkon_replay_params *params = e->params;
    size_t span = (size_t)ceil(params->history_days) * (BALKON_REPLAY_SLOTS_PER_DAY + 4);
    size_t from = t > span ? t - span : 0;
    struct balkon_load_profile_params lp;
    balkon_load_profile_params_init(&lp);
    lp.now_ms = series->slots[t].ts_ms;
    lp.max_age_days = params->history_days;
    lp.annual_kwh = params->annual_kwh;
    /* Samples end at slot t: the history stops where the decision is made. */
    int err = balkon_load_profile_build(e->samples + from, t - from, &lp, e->profile);
    if (err)
        return err;
    for (size_t s = t; s < end; s++) {
        const struct balkon_replay_slot *slot = &series->slots[s];
        e->load_fc_w[s - t] = balkon_load_forecast_w(e->profile, slot->day_type,
                                                     slot->minute_of_day, slot->day_of_year);
    }
    balkon_replay_pv_forecast_fn pv_fn =
        params->pv_forecast ? params->pv_forecast : balkon_replay_pv_persistence;
    return pv_fn(params->pv_forecast_user, series, t, end, e->pv_fc_w);
}

/* Fills e->horizon for [t, end) with the known prices and forecasts, or with the truth
 * where measured (perfect foresight). */
static void fill_horizon(struct engine *e, size_t t, size_t end, bool truth)
{
    for (size_t s = t; s < end; s++) {
        const struct balkon_replay_slot *slot = &e->series->slots[s];
        bool real = truth && slot->measured;
        e->horizon[s - t] = (struct balkon_opt_slot){
            .import_price_per_kwh = slot->import_price_per_kwh,
            .feed_in_per_kwh = slot->feed_in_per_kwh,
            .pv_w = real ? slot->pv_w : e->pv_fc_w[s - t],
            .load_w = real ? slot->load_w : e->load_fc_w[s - t],
            .minute_of_day = slot->minute_of_day,
        };
    }
}

/* Learns from slot t (measured) how wrong the forecasts made ahead of it were, and keeps
 * the forecasts made now for the slots they are ahead of. */
static void learn_errors(struct engine *e, size_t t, size_t end)
{
    const struct balkon_replay_slot *slot = &e->series->slots[t];
    int64_t day = slot->ts_ms / 86400000;
    if (day != e->errors_day) {
        balkon_fcerr_decay(e->errors, ERROR_DAILY_DECAY);
        e->errors_day = day;
    }
    for (int b = 0; b < BALKON_FCERR_LEADS; b++) {
        double lead_s = (double)lead_slots[b] * BALKON_SLOT_S;
        struct lead_memo *memo = &e->memo[(size_t)b * MEMO_SLOTS + t % MEMO_SLOTS];
        if (memo->target == t) {
            int hour = slot->minute_of_day / 60;
            balkon_fcerr_add(e->errors, BALKON_FCERR_PV, hour, lead_s, memo->pv_w, slot->pv_w, 1.0);
            balkon_fcerr_add(e->errors, BALKON_FCERR_LOAD, hour, lead_s, memo->load_w, slot->load_w,
                             1.0);
        }
        size_t target = t + lead_slots[b];
        if (target < end)
            e->memo[(size_t)b * MEMO_SLOTS + target % MEMO_SLOTS] =
                (struct lead_memo){target, e->pv_fc_w[lead_slots[b]], e->load_fc_w[lead_slots[b]]};
    }
}

static int mpc_step(struct engine *e, enum balkon_replay_strategy s, size_t t, size_t end,
                    const struct balkon_opt_slot *actual)
{
    if (!runs(e, s))
        return BALKON_OK;
    struct balkon_opt_command command;
    bool fell_back;
    fill_horizon(e, t, end, s == BALKON_REPLAY_PERFECT_FORESIGHT);
    int err = plan_first(e, s, end - t, e->soc_wh[s], s == BALKON_REPLAY_OPTIMAL_AS_PLANNED,
                         &command, &fell_back);
    if (err)
        return err;
    if (fell_back)
        command = reactive_command(e, "self_consumption", actual, e->soc_wh[s]);
    else if (s != BALKON_REPLAY_OPTIMAL_AS_PLANNED)
        /* The daemon's control runs the slot by the plan's values against what happens. */
        command = balkon_opt_value_command(&e->params->battery, actual, BALKON_SLOT_S, e->soc_wh[s],
                                           &e->plan->plan.slots[0].value, command);
    execute(e, s, &e->params->battery, actual, command);
    return BALKON_OK;
}

static int replay_slot(struct engine *e, size_t t)
{
    const struct balkon_replay_slot *slot = &e->series->slots[t];
    struct balkon_replay_report *out = e->out;
    const struct balkon_opt_slot actual = {slot->import_price_per_kwh, slot->feed_in_per_kwh,
                                           slot->pv_w, slot->load_w, slot->minute_of_day};
    out->slots++;
    out->load_wh += slot->load_w * BALKON_SLOT_S / 3600.0;
    out->pv_wh += slot->pv_w * BALKON_SLOT_S / 3600.0;
    out->price_min = fmin(out->price_min, slot->import_price_per_kwh);
    out->price_max = fmax(out->price_max, slot->import_price_per_kwh);
    out->price_mean += slot->import_price_per_kwh;
    out->price_known_slots += slot->price_known;

    struct balkon_opt_battery none = e->params->battery;
    none.capacity_wh = 0.0;
    execute(e, BALKON_REPLAY_NO_BATTERY, &none, &actual, (struct balkon_opt_command){0, 0});
    if (runs(e, BALKON_REPLAY_SELF_CONSUMPTION))
        execute(e, BALKON_REPLAY_SELF_CONSUMPTION, &e->params->battery, &actual,
                reactive_command(e, "self_consumption", &actual,
                                 e->soc_wh[BALKON_REPLAY_SELF_CONSUMPTION]));
    if (runs(e, BALKON_REPLAY_FIXED_SCHEDULE))
        execute(e, BALKON_REPLAY_FIXED_SCHEDULE, &e->params->battery, &actual,
                reactive_command(e, "fixed_schedule", &actual,
                                 e->soc_wh[BALKON_REPLAY_FIXED_SCHEDULE]));

    unsigned mpc = BALKON_REPLAY_BIT(BALKON_REPLAY_OPTIMAL) |
                   BALKON_REPLAY_BIT(BALKON_REPLAY_OPTIMAL_AS_PLANNED) |
                   BALKON_REPLAY_BIT(BALKON_REPLAY_PERFECT_FORESIGHT);
    if (!(e->params->strategies & mpc))
        return BALKON_OK;
    size_t end = horizon_end(e, t);
    int err = forecast(e, t, end);
    if (err) {
        snprintf(e->msg, e->msg_size, "forecast at slot %zu: %s", t, balkon_strerror(err));
        return err;
    }
    out->load_mae_w += fabs(e->load_fc_w[0] - slot->load_w);
    out->load_bias_w += e->load_fc_w[0] - slot->load_w;
    out->pv_mae_w += fabs(e->pv_fc_w[0] - slot->pv_w);
    learn_errors(e, t, end);
    if ((err = mpc_step(e, BALKON_REPLAY_OPTIMAL, t, end, &actual)) ||
        (err = mpc_step(e, BALKON_REPLAY_OPTIMAL_AS_PLANNED, t, end, &actual)) ||
        (err = mpc_step(e, BALKON_REPLAY_PERFECT_FORESIGHT, t, end, &actual)))
        return err;
    return BALKON_OK;
}

/* Credits the energy each battery gained by the end with what it is worth afterwards: the
 * optimal plan's value over the horizon that follows the range (true PV and load where the
 * series has them, forecasts after) from the start SoC minus that from the end SoC. One
 * yardstick for every strategy, so that one that ends fuller is not charged for energy it
 * still holds (it matters over a few days, hardly over a year). With a fixed terminal value,
 * or without slots after the range, the energy is valued as a plan's horizon end is. */
static int credit_end(struct engine *e)
{
    const struct balkon_replay_series *series = e->series;
    const struct balkon_opt_battery *b = &e->params->battery;
    struct balkon_replay_report *out = e->out;
    double start_wh = b->capacity_wh * b->soc_min_pct / 100.0, v_start = 0.0;
    struct balkon_opt_problem p;
    balkon_opt_problem_init(&p);
    bool by_plan = e->params->terminal_value_per_kwh < 0.0 && series->last < series->count &&
                   b->capacity_wh > 0.0;
    if (by_plan) {
        size_t t = series->last, end = horizon_end(e, t);
        int err = forecast(e, t, end);
        if (err)
            return err;
        fill_horizon(e, t, end, true);
        p.slots = e->horizon;
        p.slot_count = end - t;
        p.battery = *b;
        p.initial_soc_wh = start_wh;
        p.soc_step_wh = step_wh(e->params);
        p.terminal_value_auto = false;
        p.terminal_value_per_kwh = terminal_value(e, &p);
        if ((err = balkon_opt_optimal_value(&p, e->ws, &v_start)))
            return err;
        out->end_credit_slots = end - t;
    } else {
        double value = e->params->terminal_value_per_kwh;
        if (value < 0.0) {
            double lowest = INFINITY;
            for (size_t s = series->first; s < series->last; s++)
                lowest = fmin(lowest, series->slots[s].import_price_per_kwh);
            value =
                isfinite(lowest) ? lowest * b->discharge_efficiency - b->wear_cost_per_kwh : 0.0;
        }
        out->end_value_per_kwh = fmax(0.0, value);
    }
    for (int s = 0; s < BALKON_REPLAY_STRATEGY_COUNT; s++) {
        struct balkon_opt_totals *t = &out->tally[s].totals;
        double gained_wh = t->soc_end_wh - out->tally[s].soc_start_wh;
        if (s == BALKON_REPLAY_NO_BATTERY || !out->tally[s].ran || gained_wh == 0.0) {
            t->stored_value = 0.0;
        } else if (by_plan) {
            double v_end;
            p.initial_soc_wh = t->soc_end_wh;
            int err = balkon_opt_optimal_value(&p, e->ws, &v_end);
            if (err)
                return err;
            t->stored_value = v_start - v_end;
        } else {
            t->stored_value = out->end_value_per_kwh * gained_wh / 1000.0;
        }
        t->objective = t->energy_cost + t->wear_cost - t->stored_value;
    }
    return BALKON_OK;
}

static int check(const struct balkon_replay_series *series,
                 const struct balkon_replay_params *params, char *msg, size_t msg_size)
{
    if (!series->slots || series->first > series->last || series->last > series->count) {
        snprintf(msg, msg_size, "series: replayed range [%zu, %zu) outside its %zu slots",
                 series->first, series->last, series->count);
        return BALKON_E_INVAL;
    }
    if (params->horizon_slots < MIN_HORIZON_SLOTS || params->horizon_slots > BALKON_OPT_MAX_SLOTS) {
        snprintf(msg, msg_size, "horizon_slots: must be %d to %d, got %zu", MIN_HORIZON_SLOTS,
                 BALKON_OPT_MAX_SLOTS, params->horizon_slots);
        return BALKON_E_INVAL;
    }
    if ((params->strategies & BALKON_REPLAY_BIT(BALKON_REPLAY_FIXED_SCHEDULE)) &&
        params->window_count == 0) {
        snprintf(msg, msg_size, "windows: fixed_schedule needs at least one window");
        return BALKON_E_INVAL;
    }
    /* The battery and the SoC grid are checked as a plan's problem would be. */
    struct balkon_opt_slot slot = {0};
    struct balkon_opt_problem p;
    balkon_opt_problem_init(&p);
    p.slots = &slot;
    p.slot_count = 1;
    p.battery = params->battery;
    p.soc_step_wh = step_wh(params);
    return balkon_opt_problem_validate(&p, msg, msg_size);
}

int balkon_replay_run(const struct balkon_replay_series *series,
                      const struct balkon_replay_params *params, struct balkon_replay_report *out,
                      char *msg, size_t msg_size)
{
    char scratch[256];
    if (!msg) {
        msg = scratch;
        msg_size = sizeof scratch;
    }
    memset(out, 0, sizeof *out);
    out->price_min = INFINITY;
    out->price_max = -INFINITY;
    int err = check(series, params, msg, msg_size);
    if (err)
        return err;

    struct engine *e = calloc(1, sizeof *e);
    if (!e)
        return BALKON_E_NOMEM;
    e->series = series;
    e->params = params;
    e->out = out;
    e->msg = msg;
    e->msg_size = msg_size;
    e->ws = balkon_opt_workspace_new();
    e->plan = malloc(sizeof *e->plan);
    e->profile = malloc(sizeof *e->profile);
    e->samples = malloc((series->count ? series->count : 1) * sizeof *e->samples);
    e->errors = malloc(sizeof *e->errors);
    e->memo = malloc(BALKON_FCERR_LEADS * MEMO_SLOTS * sizeof *e->memo);
    err = BALKON_E_NOMEM;
    if (!e->ws || !e->plan || !e->profile || !e->samples || !e->errors || !e->memo) {
        snprintf(msg, msg_size, "out of memory");
        goto done;
    }
    balkon_fcerr_init(e->errors, params->pv_error_floor_w, 50.0);
    for (size_t i = 0; i < BALKON_FCERR_LEADS * MEMO_SLOTS; i++)
        e->memo[i] = (struct lead_memo){SIZE_MAX, 0.0, 0.0};
    e->errors_day = INT64_MIN;
    for (size_t i = 0; i < series->count; i++) {
        const struct balkon_replay_slot *slot = &series->slots[i];
        e->samples[i] = (struct balkon_load_sample){
            slot->ts_ms, slot->measured ? slot->load_w : NAN, slot->day_type, slot->minute_of_day};
    }
    double start_wh = params->battery.capacity_wh * params->battery.soc_min_pct / 100.0;
    for (int s = 0; s < BALKON_REPLAY_STRATEGY_COUNT; s++) {
        e->soc_wh[s] = s == BALKON_REPLAY_NO_BATTERY ? 0.0 : start_wh;
        out->tally[s].ran = runs(e, (enum balkon_replay_strategy)s);
        out->tally[s].soc_start_wh = out->tally[s].totals.soc_end_wh = e->soc_wh[s];
    }

    double t0 = now_s();
    err = BALKON_OK;
    for (size_t t = series->first; t < series->last && !err; t++) {
        if (series->slots[t].measured)
            err = replay_slot(e, t);
        else
            out->gaps++;
    }
    if (!err && (err = credit_end(e)))
        snprintf(msg, msg_size, "valuing the energy left at the end: %s", balkon_strerror(err));
    out->elapsed_s = now_s() - t0;
    if (out->slots) {
        out->price_mean /= (double)out->slots;
        out->load_mae_w /= (double)out->slots;
        out->load_bias_w /= (double)out->slots;
        out->pv_mae_w /= (double)out->slots;
    } else {
        out->price_min = out->price_max = 0.0;
    }
done:
    balkon_opt_workspace_free(e->ws);
    free(e->plan);
    free(e->profile);
    free(e->samples);
    free(e->errors);
    free(e->memo);
    free(e);
    return err;
}
