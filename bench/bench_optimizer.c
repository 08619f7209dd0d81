/* Benchmark of the optimizer: how fast the optimal plan is, what it costs in memory, how
 * its cost depends on horizon and SoC resolution, and what each strategy is worth over a
 * simulated year. It prints figures and asserts nothing.
 *
 *   bench_optimizer [--days N] [--runs N] [--skip-year]
 *
 * (a) Solve: "optimal" for 48 h of 15-minute slots with a 10 Wh SoC step on a 2.24 kWh
 *     battery: the dynamic programme alone and the whole plan (strategy, its simulation and
 *     both baselines), median / 90th percentile / minimum of --runs runs (default 500) with a
 *     reused workspace, and once with a fresh workspace per solve. Memory: the bytes the
 *     DP's workspace holds, the plan struct, and the process's peak RSS.
 * (b) Resolution: horizon 12/24/48/72 h x SoC step 1/5/10/20/50/100 Wh: median solve time
 *     and the plan's objective, and how much dearer it is than at 1 Wh.
 * (c) A year (default 365 days of 2025, TZ Europe/Berlin) of the simulator's PV (1780 Wp on
 *     two planes behind an 800 W inverter) and household (3000 kWh), with a synthetic
 *     day-ahead price that dips when the sun shines, replayed by the replay engine
 *     (include/balkon/replay.h, the one behind `balkonsolard simulate`) with the same
 *     measured PV and load for: no battery; self_consumption; optimal with forecasts,
 *     re-planned every 15 minutes (model-predictive) the way the planner does it, prices
 *     known as day-ahead markets publish them (tomorrow's from 13:00), load forecast from
 *     the 56 days before each decision, PV forecast by persistence (the same slot on the last
 *     past day) - no peeking - with the current slot's command run as
 *     balkon_opt_command_follow makes it, and once more with the planned power taken
 *     literally; and optimal with perfect foresight (the same DP, horizons and execution
 *     given the true PV and load). For an AC battery that may charge from the grid and for a
 *     DC-coupled one. Every battery starts empty. */
#include "balkon/error.h"
#include "balkon/optimizer.h"
#include "balkon/replay.h"
#include "balkon/sim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define SLOT_MS INT64_C(900000)
#define DAY_SLOTS 96
#define HISTORY_DAYS 56
#define LOOKAHEAD_DAYS 2

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v and returns its q-quantile (0.5 = median). */
static double quantile(double *v, size_t n, double q)
{
    qsort(v, n, sizeof(v[0]), compare_double);
    return v[(size_t)(q * (double)(n - 1) + 0.5)];
}

static uint64_t rng_state = 1;

static double uniform(void)
{
    rng_state = rng_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* 2.24 kWh, 10-100 %, 800 W both ways, 95 % / 95 %, 3 ct/kWh wear, 800 W connection. */
static struct balkon_opt_battery battery_224(enum balkon_opt_coupling coupling)
{
    return (struct balkon_opt_battery){
        .capacity_wh = 2240.0,
        .soc_min_pct = 10.0,
        .soc_max_pct = 100.0,
        .max_charge_w = 800.0,
        .max_discharge_w = 800.0,
        .charge_efficiency = 0.95,
        .discharge_efficiency = 0.95,
        .wear_cost_per_kwh = 0.03,
        .coupling = coupling,
        .ac_limit_w = 800.0,
        .allow_grid_charge = coupling == BALKON_OPT_COUPLING_AC,
    };
}

/* A synthetic horizon from midnight: day-ahead-like prices with a solar dip, PV under
 * passing clouds (up to beyond the cap), a household with appliance peaks. */
static void synthetic_slots(struct balkon_opt_slot *slots, size_t n, uint64_t seed)
{
    rng_state = seed;
    for (size_t t = 0; t < n; t++) {
        double h = (double)(t % DAY_SLOTS) / 4.0;
        double sun = h > 6.0 && h < 20.0 ? sin(M_PI * (h - 6.0) / 14.0) : 0.0;
        double market = 0.09 + 0.04 * exp(-pow(h - 8.0, 2) / 4.0) +
                        0.08 * exp(-pow(h - 19.0, 2) / 5.0) - 0.10 * sun + 0.02 * (uniform() - 0.5);
        slots[t] = (struct balkon_opt_slot){
            .import_price_per_kwh = (market + 0.17) * 1.19,
            .feed_in_per_kwh = 0.0,
            .pv_w = 1100.0 * sun * (0.4 + 0.6 * uniform()),
            .load_w = 150.0 + 80.0 * uniform() + (uniform() < 0.12 ? 1200.0 * uniform() : 0.0),
            .minute_of_day = (int)(t % DAY_SLOTS) * 15,
        };
    }
}

static void synthetic_problem(struct balkon_opt_problem *p, const struct balkon_opt_slot *slots,
                              size_t n, double step_wh)
{
    balkon_opt_problem_init(p);
    p->slots = slots;
    p->slot_count = n;
    p->battery = battery_224(BALKON_OPT_COUPLING_AC);
    p->initial_soc_wh = 1120.0;
    p->soc_step_wh = step_wh;
}

/* --- (a) solve time and memory ------------------------------------------------------ */

static int bench_solve(int runs)
{
    static struct balkon_opt_slot slots[192];
    static struct balkon_opt_plan plan;
    struct balkon_opt_problem p;
    double *dp_s = calloc((size_t)runs, sizeof(double));
    double *plan_s = calloc((size_t)runs, sizeof(double));
    double *cold_s = calloc((size_t)runs, sizeof(double));
    struct balkon_opt_workspace *ws = balkon_opt_workspace_new();
    double objective = 0.0;
    int err = BALKON_E_NOMEM;
    if (!dp_s || !plan_s || !cold_s || !ws)
        goto done;

    synthetic_slots(slots, 192, 7);
    synthetic_problem(&p, slots, 192, 10.0);
    long rss_before_kb = peak_rss_kb();
    if ((err = balkon_opt_optimal_value(&p, ws, &objective))) /* warm-up */
        goto done;
    for (int i = 0; i < runs; i++) {
        double t0 = now_s();
        balkon_opt_optimal_value(&p, ws, &objective);
        double t1 = now_s();
        if ((err = balkon_opt_plan(&p, "optimal", ws, &plan, NULL, 0)))
            goto done;
        double t2 = now_s();
        balkon_opt_optimal_value(&p, NULL, &objective);
        double t3 = now_s();
        dp_s[i] = t1 - t0;
        plan_s[i] = t2 - t1;
        cold_s[i] = t3 - t2;
    }
    printf("(a) optimal, 48 h x 15 min (192 slots), 10 Wh step, 2.24 kWh (10-100 %%, %zu "
           "levels), %d runs\n",
           (size_t)(2016.0 / 10.0) + 1, runs);
    printf("    DP only, reused workspace     median %7.3f ms  p90 %7.3f ms  min %7.3f ms\n",
           1e3 * quantile(dp_s, (size_t)runs, 0.5), 1e3 * quantile(dp_s, (size_t)runs, 0.9),
           1e3 * quantile(dp_s, (size_t)runs, 0.0));
    printf("    DP, fresh workspace each time median %7.3f ms\n",
           1e3 * quantile(cold_s, (size_t)runs, 0.5));
    printf("    whole plan (DP, labels, simulation, both baselines) median %7.3f ms\n",
           1e3 * quantile(plan_s, (size_t)runs, 0.5));
    printf("    objective %.4f, no battery %.4f, self-consumption %.4f\n", objective,
           plan.no_battery.totals.objective, plan.self_consumption.totals.objective);
    printf("    memory: DP workspace %zu bytes; struct balkon_opt_plan %zu bytes (caller's); "
           "peak RSS %ld kB (%ld kB before the first solve)\n\n",
           balkon_opt_workspace_bytes(ws), sizeof(struct balkon_opt_plan), peak_rss_kb(),
           rss_before_kb);
    err = BALKON_OK;
done:
    balkon_opt_workspace_free(ws);
    free(dp_s);
    free(plan_s);
    free(cold_s);
    return err;
}

/* --- (a2) the adaptive SoC step per battery size ------------------------------------- */

/* The step balkon_opt_soc_step_wh gives each size, the DP's time for 48 h, and the whole
 * plan the daemon makes (balkon_opt_plan_followed: DP, values, simulations, baselines). */
static int bench_adaptive(int runs)
{
    static const double sizes_wh[] = {1000.0, 2240.0, 5000.0, 10000.0};
    static struct balkon_opt_slot slots[192];
    static struct balkon_opt_plan plan;
    struct balkon_opt_workspace *ws = balkon_opt_workspace_new();
    double *dp_s = calloc((size_t)runs, sizeof(double));
    double *plan_s = calloc((size_t)runs, sizeof(double));
    int err = BALKON_E_NOMEM;
    if (!ws || !dp_s || !plan_s)
        goto done;

    synthetic_slots(slots, 192, 7);
    printf("(a2) adaptive SoC step (capacity / 2000, at least %.1f Wh), 48 h x 15 min, %d runs\n",
           BALKON_OPT_MIN_SOC_STEP_WH, runs);
    for (size_t k = 0; k < sizeof sizes_wh / sizeof sizes_wh[0]; k++) {
        struct balkon_opt_problem p;
        double objective;
        bool fell_back;
        synthetic_problem(&p, slots, 192, balkon_opt_soc_step_wh(sizes_wh[k]));
        p.battery.capacity_wh = sizes_wh[k];
        p.initial_soc_wh = sizes_wh[k] / 2.0;
        if ((err = balkon_opt_optimal_value(&p, ws, &objective)))
            goto done;
        for (int i = 0; i < runs; i++) {
            double t0 = now_s();
            balkon_opt_optimal_value(&p, ws, &objective);
            double t1 = now_s();
            if ((err = balkon_opt_plan_followed(&p, "optimal", ws, &plan, &fell_back, NULL, 0)))
                goto done;
            dp_s[i] = t1 - t0;
            plan_s[i] = now_s() - t1;
        }
        printf("    %6.0f Wh: step %5.2f Wh (%5.0f levels)  DP median %6.3f ms  p90 %6.3f ms  "
               "whole followed plan median %6.3f ms  workspace %zu bytes\n",
               sizes_wh[k], p.soc_step_wh, sizes_wh[k] * 0.9 / p.soc_step_wh + 1.0,
               1e3 * quantile(dp_s, (size_t)runs, 0.5), 1e3 * quantile(dp_s, (size_t)runs, 0.9),
               1e3 * quantile(plan_s, (size_t)runs, 0.5), balkon_opt_workspace_bytes(ws));
        /* The daemon's default: three forecast-error scenarios from 12 h ahead (here PV
         * 30 % up or down and load 10 % the other way). */
        static double pv_w[3][192], load_w[3][192];
        static const double pv_factor[3] = {1.0, 1.3, 0.7}, load_factor[3] = {1.0, 0.9, 1.1};
        struct balkon_opt_scenario scenarios[3];
        for (int sc = 0; sc < 3; sc++) {
            for (size_t t = 0; t < 192; t++) {
                pv_w[sc][t] = slots[t].pv_w * pv_factor[sc];
                load_w[sc][t] = slots[t].load_w * load_factor[sc];
            }
            scenarios[sc] = (struct balkon_opt_scenario){1.0 / 3.0, pv_w[sc], load_w[sc]};
        }
        scenarios[2].probability = 1.0 - 2.0 / 3.0;
        p.scenarios = scenarios;
        p.scenario_count = 3;
        p.scenario_from_slot = 48;
        for (int i = 0; i < runs; i++) {
            double t0 = now_s();
            if ((err = balkon_opt_optimal_value(&p, ws, &objective)))
                goto done;
            double t1 = now_s();
            if ((err = balkon_opt_plan_followed(&p, "optimal", ws, &plan, &fell_back, NULL, 0)))
                goto done;
            dp_s[i] = t1 - t0;
            plan_s[i] = now_s() - t1;
        }
        printf(
            "    %6s    with 3 error scenarios from 12 h:        DP median %6.3f ms  p90 %6.3f ms  "
            "whole followed plan median %6.3f ms\n",
            "", 1e3 * quantile(dp_s, (size_t)runs, 0.5), 1e3 * quantile(dp_s, (size_t)runs, 0.9),
            1e3 * quantile(plan_s, (size_t)runs, 0.5));
    }
    printf("\n");
    err = BALKON_OK;
done:
    balkon_opt_workspace_free(ws);
    free(dp_s);
    free(plan_s);
    return err;
}

/* --- (b) horizon x resolution ----------------------------------------------------------- */

static int bench_resolution(void)
{
    static const int hours[] = {12, 24, 48, 72};
    static const double steps[] = {1.0, 5.0, 10.0, 20.0, 50.0, 100.0};
    static struct balkon_opt_slot slots[288];
    struct balkon_opt_workspace *ws = balkon_opt_workspace_new();
    struct balkon_opt_problem p;
    double times[25];
    if (!ws)
        return BALKON_E_NOMEM;

    synthetic_slots(slots, 288, 11);
    printf("(b) optimal by horizon and SoC step (same data; time = median of 25 solves; "
           "cost = objective, + %% over the 1 Wh grid)\n");
    printf("    horizon  slots |");
    for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++)
        printf(" %6.0f Wh step        |", steps[s]);
    printf("\n");
    for (size_t h = 0; h < sizeof(hours) / sizeof(hours[0]); h++) {
        size_t n = (size_t)hours[h] * 4;
        double fine = 0.0;
        printf("    %5d h %6zu |", hours[h], n);
        for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
            double objective = 0.0;
            synthetic_problem(&p, slots, n, steps[s]);
            for (int r = 0; r < 25; r++) {
                double t0 = now_s();
                int err = balkon_opt_optimal_value(&p, ws, &objective);
                times[r] = now_s() - t0;
                if (err) {
                    balkon_opt_workspace_free(ws);
                    return err;
                }
            }
            if (s == 0)
                fine = objective;
            printf(" %6.2f ms %6.3f %+5.1f%% |", 1e3 * quantile(times, 25, 0.5), objective,
                   100.0 * (objective - fine) / fabs(fine));
        }
        printf("\n");
    }
    printf("\n");
    balkon_opt_workspace_free(ws);
    return BALKON_OK;
}

/* --- (c) a simulated year ------------------------------------------------------------- */

/* The replay engine's data (include/balkon/replay.h) for the simulated year. */
struct year {
    struct balkon_replay_series series;
    size_t *day_start; /* first slot of each local day; [days] = count */
    size_t days;
};

static void year_free(struct year *y)
{
    free(y->series.slots);
    free(y->day_start);
}

static int64_t local_midnight_ms(int year, int month, int day)
{
    struct tm tm = {.tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day, .tm_isdst = -1};
    return (int64_t)mktime(&tm) * 1000;
}

/* The price: a day-ahead market that follows demand (morning and evening peaks, winter
 * dearer) and falls when the sun shines (here: with this site's PV, as if everyone's panels
 * saw the same sky), plus grid charges and VAT. */
static double consumer_price(const struct tm *tm, double pv_w)
{
    double h = tm->tm_hour + tm->tm_min / 60.0;
    double winter = cos(2.0 * M_PI * (tm->tm_yday - 15) / 365.0); /* 1 mid-Jan, -1 mid-Jul */
    double market = 0.085 + 0.025 * winter + 0.035 * exp(-pow(h - 8.0, 2) / 3.0) +
                    0.07 * exp(-pow(h - 19.0, 2) / 4.0) - 0.16 * pv_w / 1500.0 +
                    (tm->tm_wday == 0 || tm->tm_wday == 6 ? -0.02 : 0.0) +
                    0.015 * (uniform() - 0.5);
    return (market + 0.17) * 1.19;
}

static int year_make(struct year *y, int days)
{
    struct sim_params sp = {
        .latitude_deg = 52.52,
        .longitude_deg = 13.40,
        .planes = {{30.0, -45.0, 890.0}, {30.0, 45.0, 890.0}},
        .plane_count = 2,
        .inverter_ac_limit_w = 800.0,
        .inverter_efficiency = 0.96,
        .system_loss_fraction = 0.10,
        .battery_capacity_wh = 0.0,
        .battery_max_charge_w = 0.0,
        .battery_max_discharge_w = 0.0,
        .battery_charge_efficiency = 0.95,
        .battery_discharge_efficiency = 0.95,
        .battery_soc_min_pct = 0.0,
        .battery_soc_max_pct = 100.0,
        .battery_initial_soc_pct = 0.0,
        .battery_coupling = SIM_COUPLING_AC,
        .annual_load_kwh = 3000.0,
        .cloudiness = 0.45,
        .seed = 42,
    };
    int64_t replay_ms = local_midnight_ms(2025, 1, 1);
    int64_t start_ms = local_midnight_ms(2024, 11, 6); /* 56 days of history */
    int64_t end_ms = local_midnight_ms(2025, 1, 1 + days + LOOKAHEAD_DAYS);
    size_t cap = (size_t)((end_ms - start_ms) / SLOT_MS);
    size_t day_cap = (size_t)(HISTORY_DAYS + days + LOOKAHEAD_DAYS + 2);

    memset(y, 0, sizeof(*y));
    y->series.slots = calloc(cap, sizeof(*y->series.slots));
    y->day_start = calloc(day_cap, sizeof(size_t));
    size_t *day_of = calloc(cap, sizeof(size_t));
    struct sim_world *world = sim_world_new(&sp, start_ms);
    if (!y->series.slots || !y->day_start || !day_of || !world) {
        sim_world_free(world);
        free(day_of);
        year_free(y);
        return BALKON_E_NOMEM;
    }

    rng_state = 2025;
    int last_yday = -1;
    for (size_t i = 0; i < cap; i++) {
        struct balkon_replay_slot *slot = &y->series.slots[i];
        int64_t ts = start_ms + (int64_t)i * SLOT_MS;
        struct sim_snapshot snap;
        sim_world_step(world, ts + SLOT_MS, &snap);
        time_t t_s = (time_t)(ts / 1000);
        struct tm tm;
        localtime_r(&t_s, &tm);
        if (tm.tm_yday != last_yday) {
            y->day_start[y->days++] = i;
            last_yday = tm.tm_yday;
        }
        day_of[i] = y->days - 1;
        slot->ts_ms = ts;
        slot->measured = true;
        slot->pv_w = snap.pv_dc_w * sp.inverter_efficiency; /* AC potential, before the cap */
        slot->load_w = snap.home_w;
        slot->import_price_per_kwh = consumer_price(&tm, slot->pv_w);
        slot->price_known = true;
        slot->minute_of_day = tm.tm_hour * 60 + tm.tm_min;
        slot->day_of_year = tm.tm_yday + 1;
        slot->day_type = balkon_day_type_of(ts);
        if (ts == replay_ms)
            y->series.first = i;
    }
    y->day_start[y->days] = cap;
    /* Day-ahead prices: tomorrow's are published at 13:00; before, today's are known. */
    for (size_t i = 0; i < cap; i++) {
        size_t day = day_of[i] + (y->series.slots[i].minute_of_day >= 13 * 60 ? 2 : 1);
        y->series.slots[i].prices_until = y->day_start[day < y->days ? day : y->days];
    }
    y->series.count = cap;
    y->series.last = y->day_start[HISTORY_DAYS + (size_t)days];
    free(day_of);
    sim_world_free(world);
    return BALKON_OK;
}

static void print_tally(const struct balkon_replay_report *r, enum balkon_replay_strategy s,
                        const char *label)
{
    const struct balkon_replay_tally *t = &r->tally[s];
    double none = r->tally[BALKON_REPLAY_NO_BATTERY].totals.objective;
    double saved = none - t->totals.objective;
    double best_saved = none - r->tally[BALKON_REPLAY_PERFECT_FORESIGHT].totals.objective;
    printf("    %-37s %8.2f EUR %8.2f EUR %6.1f %% | %7.0f %7.0f %6.0f kWh | %5.0f Wh", label,
           t->totals.objective, saved, best_saved > 0 ? 100.0 * saved / best_saved : 0.0,
           t->totals.import_wh / 1000.0, t->totals.export_wh / 1000.0,
           t->totals.throughput_wh / 1000.0, t->totals.soc_end_wh);
    if (t->plans)
        printf(" | %.3f ms/solve, %zu fall-backs", 1e3 * t->plan_s / (double)t->plans,
               t->fallbacks);
    printf("\n");
}

static int replay_battery(struct year *y, enum balkon_opt_coupling coupling)
{
    struct balkon_replay_params params;
    struct balkon_replay_report report;
    char msg[256];

    /* The planner's way (src/replay/engine.c); the SoC grid of (a), prices as published. */
    balkon_replay_params_init(&params);
    params.battery = battery_224(coupling);
    params.soc_step_wh = 10.0;
    params.horizon_slots = 192;
    params.history_days = HISTORY_DAYS;
    params.annual_kwh = 3000.0;
    params.strategies = BALKON_REPLAY_BIT(BALKON_REPLAY_SELF_CONSUMPTION) |
                        BALKON_REPLAY_BIT(BALKON_REPLAY_OPTIMAL) |
                        BALKON_REPLAY_BIT(BALKON_REPLAY_OPTIMAL_AS_PLANNED) |
                        BALKON_REPLAY_BIT(BALKON_REPLAY_PERFECT_FORESIGHT);
    int err = balkon_replay_run(&y->series, &params, &report, msg, sizeof(msg));
    if (err) {
        fprintf(stderr, "bench_optimizer: replay: %s\n", msg);
        return err;
    }

    printf("    %s-coupled 2.24 kWh, 800 W, 95 %%/95 %%, wear 0.03 EUR/kWh%s; %zu slots in "
           "%.1f s\n",
           coupling == BALKON_OPT_COUPLING_AC ? "AC" : "DC",
           params.battery.allow_grid_charge ? ", grid charging allowed" : "", report.slots,
           report.elapsed_s);
    printf("    %-37s %12s %12s %8s | %7s %7s %10s | %8s\n", "strategy", "annual cost", "saved",
           "of best", "import", "export", "throughput", "SoC end");
    print_tally(&report, BALKON_REPLAY_NO_BATTERY, "no battery");
    print_tally(&report, BALKON_REPLAY_SELF_CONSUMPTION, "self_consumption");
    print_tally(&report, BALKON_REPLAY_OPTIMAL, "optimal, forecasts");
    print_tally(&report, BALKON_REPLAY_OPTIMAL_AS_PLANNED, "optimal, forecasts, powers as planned");
    print_tally(&report, BALKON_REPLAY_PERFECT_FORESIGHT, "optimal, perfect foresight");
    printf("    forecast errors at the slot being run: load MAE %.0f W, bias %+.0f W; PV "
           "(persistence) MAE %.0f W\n\n",
           report.load_mae_w, report.load_bias_w, report.pv_mae_w);
    return BALKON_OK;
}

static int bench_year(int days)
{
    struct year y;
    double t0 = now_s();
    int err = year_make(&y, days);
    if (err)
        return err;
    double pv_kwh = 0.0, load_kwh = 0.0, price_sum = 0.0, price_min = 1e9, price_max = -1e9;
    for (size_t t = y.series.first; t < y.series.last; t++) {
        const struct balkon_replay_slot *slot = &y.series.slots[t];
        pv_kwh += slot->pv_w * 0.25 / 1000.0;
        load_kwh += slot->load_w * 0.25 / 1000.0;
        price_sum += slot->import_price_per_kwh;
        price_min = fmin(price_min, slot->import_price_per_kwh);
        price_max = fmax(price_max, slot->import_price_per_kwh);
    }
    printf("(c) replay of %d days from 2025-01-01 (TZ %s): PV potential %.0f kWh, load %.0f kWh, "
           "price %.3f..%.3f EUR/kWh (mean %.3f), feed-in unpaid; data made in %.1f s\n",
           days, getenv("TZ"), pv_kwh, load_kwh, price_min, price_max,
           price_sum / (double)(y.series.last - y.series.first), now_s() - t0);
    printf("    annual cost = grid money + wear - the energy gained in the battery by the end; "
           "saved = vs no battery;\n    of best = share of the perfect-foresight saving\n");
    if ((err = replay_battery(&y, BALKON_OPT_COUPLING_AC)) == BALKON_OK)
        err = replay_battery(&y, BALKON_OPT_COUPLING_DC);
    year_free(&y);
    return err;
}

int main(int argc, char **argv)
{
    int days = 365, runs = 500;
    bool skip_year = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--days") == 0 && i + 1 < argc)
            days = atoi(argv[++i]);
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--skip-year") == 0)
            skip_year = true;
        else {
            fprintf(stderr, "usage: %s [--days N] [--runs N] [--skip-year]\n", argv[0]);
            return 2;
        }
    }
    if (days < 1 || days > 366 || runs < 1) {
        fprintf(stderr, "bench_optimizer: --days must be 1..366, --runs >= 1\n");
        return 2;
    }
    setenv("TZ", "Europe/Berlin", 1);
    tzset();

    int err;
    if ((err = bench_solve(runs)) || (err = bench_adaptive(runs / 5 + 1)) ||
        (err = bench_resolution()) || (!skip_year && (err = bench_year(days)))) {
        fprintf(stderr, "bench_optimizer: %s\n", balkon_strerror(err));
        return 1;
    }
    printf("peak RSS %ld kB\n", peak_rss_kb());
    return 0;
}
