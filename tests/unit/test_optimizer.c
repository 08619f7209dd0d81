/* Unit tests of the optimizer (src/optimizer): slot physics with hand-computed values, the
 * simulation's totals, the dynamic programme against exhaustive search, the edge cases
 * (negative and flat prices, empty and full battery, no PV, DST days, the AC cap), the
 * self_consumption and fixed_schedule strategies, the plan's baselines and its errors. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "balkon/error.h"
#include "balkon/optimizer.h"

#define EPS 1e-9

/* cmocka 1.1.5's assert_float_equal compares floats; these are doubles. */
#define assert_near(a, b, tol)                                                                     \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        if (!(fabs(a_ - b_) <= (tol))) {                                                           \
            print_error("%s = %.12g, expected %.12g (+- %g)\n", #a, a_, b_, (double)(tol));        \
            _fail(__FILE__, __LINE__);                                                             \
        }                                                                                          \
    } while (0)

struct fixture {
    struct balkon_opt_slot slots[BALKON_OPT_MAX_SLOTS];
    struct balkon_opt_problem p;
};

static struct fixture fx;
static struct balkon_opt_plan plan;

/* 1 kWh AC battery, 10-100 %, 400 W each way, 95 % / 90 %, an 800 W connection. */
static struct balkon_opt_battery battery_ac(void)
{
    return (struct balkon_opt_battery){
        .capacity_wh = 1000.0,
        .soc_min_pct = 10.0,
        .soc_max_pct = 100.0,
        .max_charge_w = 400.0,
        .max_discharge_w = 400.0,
        .charge_efficiency = 0.95,
        .discharge_efficiency = 0.90,
        .wear_cost_per_kwh = 0.0,
        .coupling = BALKON_OPT_COUPLING_AC,
        .ac_limit_w = 800.0,
        .allow_grid_charge = false,
    };
}

static struct balkon_opt_battery battery_dc(void)
{
    struct balkon_opt_battery b = battery_ac();
    b.coupling = BALKON_OPT_COUPLING_DC;
    return b;
}

/* n quarter-hour slots from midnight, all with the same price, PV and load. */
static struct balkon_opt_problem *setup(size_t n, double price, double pv_w, double load_w)
{
    memset(fx.slots, 0, sizeof(fx.slots));
    for (size_t i = 0; i < n; i++)
        fx.slots[i] = (struct balkon_opt_slot){price, 0.0, pv_w, load_w, (int)(i * 15 % 1440)};
    balkon_opt_problem_init(&fx.p);
    fx.p.slots = fx.slots;
    fx.p.slot_count = n;
    fx.p.battery = battery_ac();
    fx.p.initial_soc_wh = 500.0;
    return &fx.p;
}

static void plan_ok(const struct balkon_opt_problem *p, const char *strategy)
{
    char msg[200] = "";
    int err = balkon_opt_plan(p, strategy, NULL, &plan, msg, sizeof(msg));
    if (err)
        fail_msg("plan %s: %d %s", strategy, err, msg);
}

static struct balkon_opt_slot_result step(const struct balkon_opt_battery *b, double price,
                                          double feed_in, double pv_w, double load_w, double soc_wh,
                                          enum balkon_opt_mode mode, double limit_w)
{
    struct balkon_opt_slot slot = {price, feed_in, pv_w, load_w, 0};
    struct balkon_opt_slot_result r;
    balkon_opt_step(b, &slot, 900, soc_wh, (struct balkon_opt_command){mode, limit_w}, &r);
    return r;
}

static uint64_t rng_state;

static double uniform(void)
{
    rng_state = rng_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* --- slot physics -------------------------------------------------------------------- */

static void test_step_ac(void **state)
{
    struct balkon_opt_battery b = battery_ac();
    b.wear_cost_per_kwh = 0.1;

    /* Idle with 300 W surplus exports it: -300 W x 0.25 h x 0.10 = -0.0075. */
    struct balkon_opt_slot_result r = step(&b, 0.30, 0.10, 500, 200, 500, BALKON_OPT_IDLE, 0);
    assert_near(r.battery_w, 0.0, EPS);
    assert_near(r.export_w, 300.0, EPS);
    assert_near(r.import_w, 0.0, EPS);
    assert_near(r.cost, -0.0075, EPS);
    assert_near(r.soc_wh, 500.0, EPS);

    /* Charge takes the surplus: 300 W x 0.25 h x 0.95 = 71.25 Wh; wear 0.07125 kWh x 0.1. */
    r = step(&b, 0.30, 0.10, 500, 200, 500, BALKON_OPT_CHARGE, 1000);
    assert_near(r.battery_w, -300.0, EPS);
    assert_near(r.export_w, 0.0, EPS);
    assert_near(r.soc_wh, 571.25, EPS);
    assert_near(r.wear_cost, 0.007125, EPS);

    /* Discharge covers the load up to the power limit: 400 W draws 400 x 0.25 / 0.9 Wh. */
    r = step(&b, 0.30, 0.10, 100, 500, 500, BALKON_OPT_DISCHARGE, 1000);
    assert_near(r.battery_w, 400.0, EPS);
    assert_near(r.import_w, 0.0, EPS);
    assert_near(r.soc_wh, 500.0 - 100.0 / 0.9, EPS);

    /* ... and up to the command's limit: 150 W, so 250 W imported at 0.30. */
    r = step(&b, 0.30, 0.10, 100, 500, 500, BALKON_OPT_DISCHARGE, 150);
    assert_near(r.battery_w, 150.0, EPS);
    assert_near(r.import_w, 250.0, EPS);
    assert_near(r.cost, 0.01875, EPS);

    /* The battery never exports; with PV covering the load, "discharge" stores the
     * surplus the plan did not expect instead of giving it away. */
    r = step(&b, 0.30, 0.10, 600, 500, 500, BALKON_OPT_DISCHARGE, 400);
    assert_near(r.battery_w, -100.0, EPS);
    assert_near(r.export_w, 0.0, EPS);
    assert_true(r.soc_wh > 500.0);
}

static void test_step_ac_cap_and_grid_charge(void **state)
{
    struct balkon_opt_battery b = battery_ac();

    /* PV beyond the cap is clipped: 800 W used, 700 W exported. */
    struct balkon_opt_slot_result r = step(&b, 0.30, 0.0, 1000, 100, 500, BALKON_OPT_IDLE, 0);
    assert_near(r.pv_used_w, 800.0, EPS);
    assert_near(r.export_w, 700.0, EPS);

    /* PV first under the cap: with 700 W PV only 100 W of discharge fit under 800 W. */
    r = step(&b, 0.30, 0.0, 700, 1200, 500, BALKON_OPT_DISCHARGE, 400);
    assert_near(r.battery_w, 100.0, EPS);
    assert_near(r.import_w, 400.0, EPS);

    /* Grid charging only where allowed; otherwise it charges from surplus (none here). */
    r = step(&b, 0.30, 0.0, 0, 200, 500, BALKON_OPT_GRID_CHARGE, 400);
    assert_near(r.battery_w, 0.0, EPS);
    assert_near(r.import_w, 200.0, EPS);
    b.allow_grid_charge = true;
    r = step(&b, 0.30, 0.0, 0, 200, 500, BALKON_OPT_GRID_CHARGE, 400);
    assert_near(r.battery_w, -400.0, EPS);
    assert_near(r.import_w, 600.0, EPS);
    assert_int_equal(r.mode, BALKON_OPT_GRID_CHARGE);
}

static void test_step_soc_bounds(void **state)
{
    struct balkon_opt_battery b = battery_ac();

    /* At the minimum (100 Wh) nothing is left to discharge. */
    struct balkon_opt_slot_result r = step(&b, 0.30, 0.0, 0, 500, 100, BALKON_OPT_DISCHARGE, 400);
    assert_near(r.battery_w, 0.0, EPS);
    assert_near(r.import_w, 500.0, EPS);

    /* 10 Wh from full: 10 / 0.95 / 0.25 h = 42.1 W fill it exactly. */
    r = step(&b, 0.30, 0.0, 1000, 0, 990, BALKON_OPT_CHARGE, 400);
    assert_near(r.battery_w, -10.0 / 0.95 / 0.25, 1e-9);
    assert_near(r.soc_wh, 1000.0, EPS);

    /* 30 Wh above the minimum: 30 x 0.9 / 0.25 h = 108 W. */
    r = step(&b, 0.30, 0.0, 0, 500, 130, BALKON_OPT_DISCHARGE, 400);
    assert_near(r.battery_w, 108.0, 1e-9);
    assert_near(r.soc_wh, 100.0, 1e-9);

    /* Below the minimum (a measured 50 Wh) the battery may charge but not discharge. */
    r = step(&b, 0.30, 0.0, 0, 500, 50, BALKON_OPT_DISCHARGE, 400);
    assert_near(r.battery_w, 0.0, EPS);
    r = step(&b, 0.30, 0.0, 300, 100, 50, BALKON_OPT_CHARGE, 400);
    assert_near(r.battery_w, -200.0, EPS);
    assert_near(r.soc_wh, 50.0 + 200.0 * 0.25 * 0.95, EPS);
}

static void test_step_negative_prices(void **state)
{
    struct balkon_opt_battery none = battery_ac();
    none.capacity_wh = 0.0;

    /* Exporting costs money (feed-in -0.05): PV is curtailed to the load. */
    struct balkon_opt_slot_result r = step(&none, 0.30, -0.05, 600, 100, 0, BALKON_OPT_IDLE, 0);
    assert_near(r.export_w, 0.0, EPS);
    assert_near(r.pv_used_w, 100.0, EPS);
    assert_near(r.cost, 0.0, EPS);

    /* Importing pays (-0.10): all PV is curtailed and the load imported, earning 0.0075. */
    r = step(&none, -0.10, -0.20, 600, 300, 0, BALKON_OPT_IDLE, 0);
    assert_near(r.pv_used_w, 0.0, EPS);
    assert_near(r.import_w, 300.0, EPS);
    assert_near(r.cost, -0.0075, EPS);

    /* Without grid charging, charging must not import: the 300 W surplus is all it takes,
     * even though importing would pay. */
    struct balkon_opt_battery b = battery_ac();
    r = step(&b, -0.10, -0.20, 600, 300, 500, BALKON_OPT_CHARGE, 400);
    assert_near(r.battery_w, -300.0, EPS);
    assert_near(r.import_w, 0.0, EPS);
    assert_near(r.export_w, 0.0, EPS);
}

static void test_step_dc(void **state)
{
    struct balkon_opt_battery b = battery_dc();

    /* Charging from PV lets the inverter pass 700 W of 1100 W PV: nothing is clipped. */
    struct balkon_opt_slot_result r = step(&b, 0.30, 0.0, 1100, 200, 500, BALKON_OPT_CHARGE, 1000);
    assert_near(r.battery_w, -400.0, EPS);
    assert_near(r.pv_used_w, 1100.0, EPS);
    assert_near(r.export_w, 500.0, EPS);
    /* Idle: the inverter clips at 800 W. */
    r = step(&b, 0.30, 0.0, 1100, 200, 500, BALKON_OPT_IDLE, 0);
    assert_near(r.pv_used_w, 800.0, EPS);
    assert_near(r.export_w, 600.0, EPS);

    /* Hold stores what the inverter would clip although the home imports 100 W. */
    r = step(&b, 0.30, 0.0, 1100, 900, 500, BALKON_OPT_HOLD, 0);
    assert_near(r.battery_w, -300.0, EPS);
    assert_near(r.import_w, 100.0, EPS);

    /* PV and discharge share the inverter: 600 W PV leaves 200 W for the battery. */
    r = step(&b, 0.30, 0.0, 600, 1000, 500, BALKON_OPT_DISCHARGE, 400);
    assert_near(r.battery_w, 200.0, EPS);
    assert_near(r.import_w, 200.0, EPS);

    /* "Grid charge" in DC diverts PV into the cells while the grid covers the home. */
    r = step(&b, 0.30, 0.0, 300, 400, 500, BALKON_OPT_GRID_CHARGE, 200);
    assert_near(r.battery_w, 0.0, EPS);
    assert_near(r.import_w, 100.0, EPS);
    b.allow_grid_charge = true;
    r = step(&b, 0.30, 0.0, 300, 400, 500, BALKON_OPT_GRID_CHARGE, 200);
    assert_near(r.battery_w, -200.0, EPS);
    assert_near(r.import_w, 300.0, EPS);
    /* ... but never more than the PV. */
    r = step(&b, 0.30, 0.0, 150, 400, 500, BALKON_OPT_GRID_CHARGE, 400);
    assert_near(r.battery_w, -150.0, EPS);
}

static void test_simulate_totals(void **state)
{
    struct balkon_opt_problem *p = setup(3, 0.30, 0.0, 200.0);
    fx.slots[0].pv_w = 600.0;
    p->terminal_value_auto = false;
    p->terminal_value_per_kwh = 0.20;
    p->battery.wear_cost_per_kwh = 0.10;
    struct balkon_opt_command commands[3] = {
        {BALKON_OPT_CHARGE, 400}, {BALKON_OPT_IDLE, 0}, {BALKON_OPT_DISCHARGE, 100}};
    static struct balkon_opt_run run;

    assert_int_equal(balkon_opt_simulate(p, commands, &run), BALKON_OK);
    const struct balkon_opt_totals *t = &run.totals;
    /* Slot 0 stores 400 x 0.25 x 0.95 = 95 Wh, slot 2 draws 100 x 0.25 / 0.9 = 27.78 Wh. */
    double end_wh = 500.0 + 95.0 - 25.0 / 0.9;
    assert_near(t->soc_end_wh, end_wh, EPS);
    assert_near(t->charge_wh, 100.0, EPS);
    assert_near(t->discharge_wh, 25.0, EPS);
    assert_near(t->throughput_wh, 95.0 + 25.0 / 0.9, EPS);
    /* Import: slot 1 200 W, slot 2 100 W, for 0.25 h each. */
    assert_near(t->import_wh, 75.0, EPS);
    assert_near(t->export_wh, 0.0, EPS);
    assert_near(t->energy_cost, 75.0 * 0.30 / 1000.0, EPS);
    assert_near(t->wear_cost, (95.0 + 25.0 / 0.9) * 0.10 / 1000.0, EPS);
    assert_near(t->stored_value, 0.20 * (end_wh - 500.0) / 1000.0, EPS);
    assert_near(t->objective, t->energy_cost + t->wear_cost - t->stored_value, EPS);
}

/* --- the dynamic programme against exhaustive search ---------------------------------- */

struct search {
    const struct balkon_opt_problem *p;
    double levels[64];
    int level_count;
    double value_per_wh;
    double best;
    long paths;
};

/* The levels of the documented grid: initial SoC + k x step within the bounds (widened to
 * the initial SoC when it lies outside). */
static void search_levels(struct search *s)
{
    const struct balkon_opt_problem *p = s->p;
    double min_wh = p->battery.capacity_wh * p->battery.soc_min_pct / 100.0;
    double max_wh = p->battery.capacity_wh * p->battery.soc_max_pct / 100.0;
    double lo = fmin(min_wh, p->initial_soc_wh), hi = fmax(max_wh, p->initial_soc_wh);
    s->level_count = 0;
    for (int k = -100; k <= 100; k++) {
        double level = p->initial_soc_wh + k * p->soc_step_wh;
        if (level >= lo - 1e-9 && level <= hi + 1e-9)
            s->levels[s->level_count++] = level;
    }
}

/* Every path of levels, each slot's move made by a command that demands exactly the power
 * of the move; the simulation rejects what the physics does not allow. */
static void search_from(struct search *s, size_t t, double soc_wh, double cost)
{
    const struct balkon_opt_problem *p = s->p;
    if (t == p->slot_count) {
        double total = cost - s->value_per_wh * (soc_wh - p->initial_soc_wh);
        s->best = fmin(s->best, total);
        s->paths++;
        return;
    }
    double dt_h = p->slot_s / 3600.0;
    for (int j = 0; j < s->level_count; j++) {
        double delta_wh = s->levels[j] - soc_wh;
        struct balkon_opt_command c = {BALKON_OPT_IDLE, 0.0};
        if (delta_wh > 1e-9)
            c = (struct balkon_opt_command){BALKON_OPT_GRID_CHARGE,
                                            delta_wh / p->battery.charge_efficiency / dt_h};
        else if (delta_wh < -1e-9)
            c = (struct balkon_opt_command){BALKON_OPT_DISCHARGE,
                                            -delta_wh * p->battery.discharge_efficiency / dt_h};
        struct balkon_opt_slot_result r;
        balkon_opt_step(&p->battery, &p->slots[t], p->slot_s, soc_wh, c, &r);
        if (fabs(r.soc_wh - s->levels[j]) > 1e-6)
            continue;
        search_from(s, t + 1, s->levels[j], cost + r.cost + r.wear_cost);
    }
}

static void random_tiny_instance(uint64_t seed, struct balkon_opt_problem *p)
{
    rng_state = seed * 7919 + 17;
    size_t n = 5 + (size_t)(uniform() * 2.0); /* 5 or 6 slots */
    setup(n, 0.0, 0.0, 0.0);
    for (size_t i = 0; i < n; i++) {
        struct balkon_opt_slot *s = &fx.slots[i];
        s->import_price_per_kwh = -0.10 + 0.60 * uniform();
        s->feed_in_per_kwh = fmin(s->import_price_per_kwh, -0.05 + 0.15 * uniform());
        s->pv_w = uniform() < 0.2 ? 0.0 : 1200.0 * uniform();
        s->load_w = 100.0 + 600.0 * uniform();
    }
    p->slot_s = 3600;
    p->soc_step_wh = 100.0;
    p->battery.capacity_wh = 800.0;
    p->battery.soc_min_pct = 30.0 * uniform();
    p->battery.soc_max_pct = 70.0 + 30.0 * uniform();
    p->battery.max_charge_w = 150.0 + 450.0 * uniform();
    p->battery.max_discharge_w = 150.0 + 450.0 * uniform();
    p->battery.charge_efficiency = 0.85 + 0.15 * uniform();
    p->battery.discharge_efficiency = 0.85 + 0.15 * uniform();
    p->battery.wear_cost_per_kwh = uniform() < 0.5 ? 0.0 : 0.1 * uniform();
    p->battery.coupling = uniform() < 0.5 ? BALKON_OPT_COUPLING_AC : BALKON_OPT_COUPLING_DC;
    p->battery.ac_limit_w = 600.0 + 400.0 * uniform();
    p->battery.allow_grid_charge = uniform() < 0.5;
    p->initial_soc_wh = 800.0 * uniform(); /* often outside the bounds */
    p->terminal_value_auto = uniform() < 0.5;
    p->terminal_value_per_kwh = 0.3 * uniform();
}

static void test_dp_matches_exhaustive_search(void **state)
{
    long total_paths = 0;
    for (uint64_t seed = 1; seed <= 60; seed++) {
        struct balkon_opt_problem *p = &fx.p;
        random_tiny_instance(seed, p);
        struct search s = {.p = p, .best = HUGE_VAL};
        s.value_per_wh = balkon_opt_terminal_value_per_kwh(p) / 1000.0;
        search_levels(&s);
        search_from(&s, 0, p->initial_soc_wh, 0.0);
        total_paths += s.paths;

        double dp;
        assert_int_equal(balkon_opt_optimal_value(p, NULL, &dp), BALKON_OK);
        plan_ok(p, "optimal");
        if (fabs(dp - s.best) > 1e-9 || fabs(plan.plan.totals.objective - s.best) > 1e-9)
            fail_msg("seed %llu: exhaustive %.12f over %ld paths, DP %.12f, plan %.12f",
                     (unsigned long long)seed, s.best, s.paths, dp, plan.plan.totals.objective);
    }
    /* The search did search: on average hundreds of feasible paths per instance. */
    print_message("exhaustive search: %ld feasible paths over 60 instances\n", total_paths);
    assert_true(total_paths > 60 * 300);
}

/* --- edge cases ----------------------------------------------------------------------- */

static void test_negative_prices(void **state)
{
    /* Eight quarter-hours: two with negative prices and PV at midday, then an expensive
     * evening. An AC battery that may grid-charge. */
    static const double price[8] = {0.30, 0.30, -0.10, -0.10, 0.30, 0.40, 0.40, 0.40};
    static const double feed_in[8] = {0.0, 0.0, -0.12, -0.12, 0.0, 0.0, 0.0, 0.0};
    struct balkon_opt_problem *p = setup(8, 0.0, 0.0, 200.0);
    for (int i = 0; i < 8; i++) {
        fx.slots[i].import_price_per_kwh = price[i];
        fx.slots[i].feed_in_per_kwh = feed_in[i];
    }
    fx.slots[2].pv_w = fx.slots[3].pv_w = 600.0;
    p->initial_soc_wh = 100.0; /* empty */
    p->battery.allow_grid_charge = true;
    p->battery.discharge_efficiency = 1.0;
    p->soc_step_wh = 5.0; /* 400 W x 0.25 h x 0.95 = 95 Wh and 50 Wh slots are on the grid */
    plan_ok(p, "optimal");

    for (int i = 2; i <= 3; i++) {
        const struct balkon_opt_slot_result *r = &plan.plan.slots[i];
        /* Importing pays: charge at full power from the grid, curtail the PV, export nothing. */
        assert_int_equal(r->mode, BALKON_OPT_GRID_CHARGE);
        assert_near(r->battery_w, -400.0, 1e-6);
        assert_near(r->pv_used_w, 0.0, 1e-6);
        assert_near(r->import_w, 600.0, 1e-6);
        assert_near(r->export_w, 0.0, 1e-6);
        assert_true(r->cost < 0.0);
    }
    /* The 190 Wh stored cover the evening at 0.40 (150 Wh); the rest is worth as much
     * kept (terminal value: median price 0.30) as used at 0.30. */
    for (int i = 5; i <= 7; i++)
        assert_near(plan.plan.slots[i].battery_w, 200.0, 1e-6);
    assert_true(plan.plan.totals.objective < plan.no_battery.totals.objective - 0.05);

    /* Without grid charging it still never exports at a negative feed-in. */
    p->battery.allow_grid_charge = false;
    plan_ok(p, "optimal");
    for (int i = 0; i < 8; i++) {
        assert_true(plan.plan.slots[i].mode != BALKON_OPT_GRID_CHARGE);
        if (feed_in[i] < 0.0)
            assert_near(plan.plan.slots[i].export_w, 0.0, 1e-6);
    }
    assert_near(plan.plan.slots[2].battery_w, -400.0, 1e-6);
    assert_near(plan.plan.slots[2].import_w, 0.0, 1e-6);
}

static void test_flat_prices_do_not_cycle(void **state)
{
    /* A day at one price with a little PV at noon and 5 ct/kWh of wear: storing surplus
     * pays, but buying to store or discharging energy worth the same later does not. */
    struct balkon_opt_problem *p = setup(96, 0.30, 0.0, 300.0);
    for (int i = 44; i < 52; i++)
        fx.slots[i].pv_w = 600.0;
    p->battery.allow_grid_charge = true;
    p->battery.wear_cost_per_kwh = 0.05;
    p->initial_soc_wh = 300.0; /* room for all the surplus */
    plan_ok(p, "optimal");
    for (int i = 0; i < 96; i++) {
        const struct balkon_opt_slot_result *r = &plan.plan.slots[i];
        assert_true(r->battery_w <= 1e-9);
        assert_true(r->mode != BALKON_OPT_GRID_CHARGE);
        if (i >= 44 && i < 52)
            assert_int_equal(r->mode, BALKON_OPT_CHARGE);
        else
            assert_near(r->battery_w, 0.0, 1e-9);
    }
    /* 8 slots x 300 W surplus x 0.25 h x 0.95, on the 10 Wh grid: 8 x 70 Wh. */
    assert_near(plan.plan.totals.soc_end_wh, 300.0 + 8 * 70.0, 1e-6);
}

static void test_empty_battery(void **state)
{
    struct balkon_opt_problem *p = setup(96, 0.30, 0.0, 300.0);
    for (int i = 0; i < 96; i++)
        fx.slots[i].import_price_per_kwh = 0.20 + 0.002 * i;
    p->initial_soc_wh = 100.0; /* at soc_min */
    plan_ok(p, "optimal");
    /* No PV, no grid charging: nothing to do, the plan costs what no battery costs. */
    for (int i = 0; i < 96; i++) {
        assert_near(plan.plan.slots[i].battery_w, 0.0, 1e-9);
        assert_int_equal(plan.plan.slots[i].mode, BALKON_OPT_IDLE);
    }
    assert_near(plan.plan.totals.objective, plan.no_battery.totals.objective, 1e-9);
}

static void test_full_battery(void **state)
{
    /* Full at the start of a sunny morning with the evening dearer than the morning. */
    struct balkon_opt_problem *p = setup(96, 0.25, 0.0, 200.0);
    for (int i = 32; i < 64; i++)
        fx.slots[i].pv_w = 700.0;
    for (int i = 72; i < 88; i++)
        fx.slots[i].import_price_per_kwh = 0.45;
    p->initial_soc_wh = 1000.0;
    plan_ok(p, "optimal");
    for (int i = 0; i < 96; i++) {
        const struct balkon_opt_slot_result *r = &plan.plan.slots[i];
        assert_true(r->soc_wh <= 1000.0 + 1e-9 && r->soc_wh >= 100.0 - 1e-9);
        if (i >= 72 && i < 88)
            assert_true(r->battery_w > 0.0); /* the dear evening is covered */
    }
    /* The night before the sun empties the battery so the noon surplus (500 W x 8 h, more
     * than fits) refills it for free; the evening then empties it again. */
    assert_true(plan.plan.slots[31].soc_wh <= 100.0 + 10.0);
    assert_near(plan.plan.slots[63].soc_wh, 1000.0, 10.0);
    /* 200 W for 0.25 h need 55.6 Wh from the cells; the largest 10 Wh move that does not
     * export is 50 Wh, 180 W. */
    for (int i = 72; i < 88; i++)
        assert_near(plan.plan.slots[i].battery_w, 180.0, 1e-6);
    assert_true(plan.plan.totals.export_wh > 0.0);
    assert_true(plan.plan.totals.objective < plan.self_consumption.totals.objective + 1e-9);
}

static void test_zero_pv_discharges_in_dearest_slots(void **state)
{
    static const double price[8] = {0.20, 0.50, 0.30, 0.60, 0.25, 0.40, 0.35, 0.45};
    struct balkon_opt_problem *p = setup(8, 0.0, 0.0, 400.0);
    for (int i = 0; i < 8; i++)
        fx.slots[i].import_price_per_kwh = price[i];
    p->battery.discharge_efficiency = 1.0;
    p->initial_soc_wh = 400.0; /* 300 Wh above the minimum: three slots of 100 Wh */
    p->terminal_value_auto = false;
    p->terminal_value_per_kwh = 0.10;
    plan_ok(p, "optimal");
    for (int i = 0; i < 8; i++) {
        bool dearest = i == 1 || i == 3 || i == 7;
        assert_near(plan.plan.slots[i].battery_w, dearest ? 400.0 : 0.0, 1e-6);
        assert_int_equal(plan.plan.slots[i].mode, dearest ? BALKON_OPT_DISCHARGE : BALKON_OPT_HOLD);
    }
    assert_near(plan.plan.totals.soc_end_wh, 100.0, 1e-6);
    /* Saved 100 Wh at 0.50, 0.60 and 0.45; gave up 300 Wh of terminal value at 0.10. */
    assert_near(plan.no_battery.totals.objective - plan.plan.totals.objective,
                0.1 * (0.50 + 0.60 + 0.45) - 0.03, 1e-9);
}

/* DST days: 23 h (92 slots, 02:00-03:00 missing) and 25 h (100 slots, 02:00-03:00 twice). */
static size_t dst_day(bool long_day)
{
    size_t n = 0;
    for (int minute = 0; minute < 1440; minute += 15) {
        bool repeated = minute >= 120 && minute < 180;
        int copies = repeated ? (long_day ? 2 : 0) : 1;
        for (int c = 0; c < copies; c++)
            fx.slots[n++] = (struct balkon_opt_slot){0.25 + (minute >= 1020 ? 0.15 : 0.0), 0.0,
                                                     minute >= 600 && minute < 900 ? 700.0 : 0.0,
                                                     250.0, minute};
    }
    return n;
}

static void test_dst_days(void **state)
{
    static const struct balkon_opt_window windows[] = {
        {120, 180, BALKON_OPT_HOLD, 0.0},
        {1020, 1320, BALKON_OPT_DISCHARGE, 0.0},
    };
    for (int long_day = 0; long_day <= 1; long_day++) {
        struct balkon_opt_problem *p = setup(1, 0.0, 0.0, 0.0);
        p->slot_count = dst_day(long_day);
        assert_int_equal(p->slot_count, long_day ? 100 : 92);
        p->windows = windows;
        p->window_count = 2;

        plan_ok(p, "fixed_schedule");
        int hold = 0, discharge = 0;
        for (size_t i = 0; i < p->slot_count; i++) {
            hold += plan.plan.slots[i].mode == BALKON_OPT_HOLD;
            discharge += plan.plan.slots[i].mode == BALKON_OPT_DISCHARGE &&
                         fx.slots[i].minute_of_day >= 1020 && fx.slots[i].minute_of_day < 1320;
        }
        assert_int_equal(hold, long_day ? 8 : 0);
        assert_int_equal(discharge, 20);

        plan_ok(p, "optimal");
        assert_int_equal(plan.plan.slot_count, p->slot_count);
        double soc = p->initial_soc_wh;
        for (size_t i = 0; i < p->slot_count; i++) {
            const struct balkon_opt_slot_result *r = &plan.plan.slots[i];
            double delta =
                r->battery_w < 0 ? -r->battery_w * 0.25 * 0.95 : -r->battery_w * 0.25 / 0.9;
            assert_near(r->soc_wh, soc + delta, 1e-6);
            soc = r->soc_wh;
        }
        /* The dearer evening is where the battery empties. */
        assert_near(plan.plan.totals.soc_end_wh, 100.0, 10.0);
        assert_true(plan.plan.totals.objective < plan.self_consumption.totals.objective + 1e-9);
    }
}

/* A random two-day instance for the invariant checks. */
static void random_instance(uint64_t seed, struct balkon_opt_problem *p)
{
    rng_state = seed;
    setup(192, 0.0, 0.0, 0.0);
    for (int i = 0; i < 192; i++) {
        double h = (i % 96) / 4.0;
        struct balkon_opt_slot *s = &fx.slots[i];
        s->import_price_per_kwh = 0.15 + 0.25 * uniform() - (h > 11 && h < 15 ? 0.2 : 0.0);
        s->feed_in_per_kwh = fmin(0.08, s->import_price_per_kwh);
        s->pv_w = h > 6 && h < 20 ? 1400.0 * sin(M_PI * (h - 6) / 14) * uniform() : 0.0;
        s->load_w = 100.0 + 900.0 * uniform() * uniform();
    }
    p->battery.capacity_wh = 2240.0;
    p->battery.max_charge_w = p->battery.max_discharge_w = 800.0;
    p->battery.coupling = seed % 2 ? BALKON_OPT_COUPLING_DC : BALKON_OPT_COUPLING_AC;
    p->battery.allow_grid_charge = seed % 3 == 0;
    p->battery.wear_cost_per_kwh = 0.03;
    p->initial_soc_wh = 2240.0 * uniform();
}

static void test_invariants_cap_and_export(void **state)
{
    static const char *const strategies[] = {"optimal", "self_consumption"};
    for (uint64_t seed = 1; seed <= 8; seed++) {
        struct balkon_opt_problem *p = &fx.p;
        random_instance(seed, p);
        const struct balkon_opt_battery *b = &p->battery;
        for (int k = 0; k < 2; k++) {
            plan_ok(p, strategies[k]);
            const struct balkon_opt_run *runs[3] = {&plan.plan, &plan.no_battery,
                                                    &plan.self_consumption};
            for (int m = 0; m < 3; m++) {
                for (int i = 0; i < 192; i++) {
                    const struct balkon_opt_slot_result *r = &runs[m]->slots[i];
                    const struct balkon_opt_slot *s = &fx.slots[i];
                    /* The meter balances. */
                    assert_near(r->import_w - r->export_w, s->load_w - r->pv_used_w - r->battery_w,
                                1e-6);
                    /* The AC cap: DC = what the inverter passes; AC = PV plus discharge. */
                    double out_w = b->coupling == BALKON_OPT_COUPLING_DC
                                       ? r->pv_used_w + r->battery_w
                                       : r->pv_used_w + fmax(r->battery_w, 0.0);
                    assert_true(out_w <= b->ac_limit_w + 1e-6);
                    assert_true(r->export_w <= b->ac_limit_w + 1e-6);
                    assert_true(r->pv_used_w <= s->pv_w + 1e-6);
                    /* The battery never exports. */
                    if (r->battery_w > 1e-9)
                        assert_near(r->export_w, 0.0, 1e-6);
                    /* DC charges only from PV. */
                    if (b->coupling == BALKON_OPT_COUPLING_DC)
                        assert_true(-r->battery_w <= s->pv_w + 1e-6);
                    if (!b->allow_grid_charge)
                        assert_true(r->mode != BALKON_OPT_GRID_CHARGE);
                }
            }
        }
        /* The optimum beats both baselines on the same data. */
        plan_ok(p, "optimal");
        assert_true(plan.plan.totals.objective <= plan.no_battery.totals.objective + 1e-9);
        assert_true(plan.plan.totals.objective <= plan.self_consumption.totals.objective + 0.02);
    }
}

/* --- strategies and the plan -------------------------------------------------------------- */

static void test_self_consumption(void **state)
{
    struct balkon_opt_problem *p = setup(4, 0.30, 0.0, 200.0);
    fx.slots[0].pv_w = 700.0; /* 500 W surplus, 400 W charge limit */
    fx.slots[1].pv_w = 300.0; /* 100 W surplus */
    fx.slots[3].load_w = 600.0;
    plan_ok(p, "self_consumption");
    const struct balkon_opt_slot_result *r = plan.plan.slots;
    assert_int_equal(r[0].mode, BALKON_OPT_CHARGE);
    assert_near(r[0].battery_w, -400.0, EPS);
    assert_near(r[0].export_w, 100.0, EPS);
    assert_near(r[1].battery_w, -100.0, EPS);
    assert_int_equal(r[2].mode, BALKON_OPT_DISCHARGE);
    assert_near(r[2].battery_w, 200.0, EPS);
    assert_near(r[3].battery_w, 400.0, EPS);
    assert_near(r[3].import_w, 200.0, EPS);
    /* The baseline in every plan is the same thing. */
    assert_memory_equal(plan.plan.slots, plan.self_consumption.slots, 4 * sizeof(r[0]));
    assert_memory_equal(&plan.plan.totals, &plan.self_consumption.totals, sizeof(plan.plan.totals));
    assert_string_equal(plan.strategy, "self_consumption");
}

static void test_fixed_schedule(void **state)
{
    /* Hold until 17:00, then discharge; grid charge 22:00-01:00 at 300 W (wraps). */
    static const struct balkon_opt_window windows[] = {
        {1320, 60, BALKON_OPT_GRID_CHARGE, 300.0},
        {0, 1020, BALKON_OPT_HOLD, 0.0},
        {1020, 1440, BALKON_OPT_DISCHARGE, 0.0},
    };
    struct balkon_opt_problem *p = setup(96, 0.30, 0.0, 300.0);
    for (int i = 40; i < 56; i++)
        fx.slots[i].pv_w = 500.0;
    p->windows = windows;
    p->window_count = 3;
    p->battery.allow_grid_charge = true;
    plan_ok(p, "fixed_schedule");
    const struct balkon_opt_slot_result *r = plan.plan.slots;

    assert_int_equal(r[0].mode, BALKON_OPT_GRID_CHARGE); /* 00:00 */
    assert_near(r[0].battery_w, -300.0, EPS);
    assert_int_equal(r[3].mode, BALKON_OPT_GRID_CHARGE); /* 00:45 */
    assert_near(r[3].soc_wh, 500.0 + 4 * 300.0 * 0.25 * 0.95, 1e-9);
    assert_int_equal(r[4].mode, BALKON_OPT_HOLD);  /* 01:00 */
    assert_int_equal(r[24].mode, BALKON_OPT_HOLD); /* 06:00 */
    assert_near(r[24].battery_w, 0.0, EPS);        /* holds: the home imports */
    assert_near(r[24].import_w, 300.0, EPS);
    assert_near(r[40].battery_w, -200.0, EPS);          /* hold stores the surplus */
    assert_int_equal(r[67].mode, BALKON_OPT_HOLD);      /* 16:45 */
    assert_int_equal(r[68].mode, BALKON_OPT_DISCHARGE); /* 17:00 */
    assert_near(r[68].battery_w, 300.0, EPS);
    assert_int_equal(r[88].mode, BALKON_OPT_GRID_CHARGE); /* 22:00 */
    for (int i = 0; i < 96; i++)
        assert_true(r[i].soc_wh >= 100.0 - 1e-9 && r[i].soc_wh <= 1000.0 + 1e-9);

    /* Slots in no window behave as self-consumption. */
    p->window_count = 1;
    plan_ok(p, "fixed_schedule");
    assert_int_equal(plan.plan.slots[40].mode, BALKON_OPT_CHARGE);
    assert_int_equal(plan.plan.slots[70].mode, BALKON_OPT_DISCHARGE);
}

static void test_replay_on_actuals(void **state)
{
    /* Plan for a 300 W evening load, then the home only draws 100 W: the battery follows
     * the load and does not export the rest. */
    struct balkon_opt_problem *p = setup(4, 0.40, 0.0, 300.0);
    p->terminal_value_auto = false;
    p->terminal_value_per_kwh = 0.0;
    plan_ok(p, "optimal");
    struct balkon_opt_command commands[4];
    for (int i = 0; i < 4; i++) {
        commands[i] =
            (struct balkon_opt_command){plan.plan.slots[i].mode, plan.plan.slots[i].limit_w};
        assert_int_equal(commands[i].mode, BALKON_OPT_DISCHARGE);
    }
    /* Replayed on the forecast, the commands give the plan back. */
    static struct balkon_opt_run run;
    assert_int_equal(balkon_opt_simulate(p, commands, &run), BALKON_OK);
    assert_near(run.totals.objective, plan.plan.totals.objective, 1e-12);

    for (int i = 0; i < 4; i++)
        fx.slots[i].load_w = 100.0;
    assert_int_equal(balkon_opt_simulate(p, commands, &run), BALKON_OK);
    for (int i = 0; i < 4; i++) {
        assert_near(run.slots[i].battery_w, 100.0, 1e-9);
        assert_near(run.slots[i].export_w, 0.0, 1e-9);
    }
}

static void test_follow_plan_in_real_time(void **state)
{
    struct balkon_opt_battery b = battery_ac();
    struct balkon_opt_command c;

    c = balkon_opt_command_follow(&b, (struct balkon_opt_command){BALKON_OPT_DISCHARGE, 150.0});
    assert_int_equal(c.mode, BALKON_OPT_DISCHARGE);
    assert_near(c.limit_w, 400.0, 0.0);
    c = balkon_opt_command_follow(&b, (struct balkon_opt_command){BALKON_OPT_CHARGE, 100.0});
    assert_int_equal(c.mode, BALKON_OPT_CHARGE);
    assert_near(c.limit_w, 400.0, 0.0);
    c = balkon_opt_command_follow(&b, (struct balkon_opt_command){BALKON_OPT_IDLE, 0.0});
    assert_int_equal(c.mode, BALKON_OPT_HOLD);
    c = balkon_opt_command_follow(&b, (struct balkon_opt_command){BALKON_OPT_HOLD, 0.0});
    assert_int_equal(c.mode, BALKON_OPT_HOLD);
    c = balkon_opt_command_follow(&b, (struct balkon_opt_command){BALKON_OPT_GRID_CHARGE, 300.0});
    assert_int_equal(c.mode, BALKON_OPT_GRID_CHARGE);
    assert_near(c.limit_w, 300.0, 0.0);

    /* Planned: discharge 150 W for a 150 W load. Measured: 350 W of load. Followed, the
     * battery covers it all; the planned power alone would import 200 W. */
    struct balkon_opt_slot_result planned, followed;
    struct balkon_opt_command plan_c = {BALKON_OPT_DISCHARGE, 150.0};
    planned = step(&b, 0.30, 0.0, 0, 350, 500, plan_c.mode, plan_c.limit_w);
    c = balkon_opt_command_follow(&b, plan_c);
    followed = step(&b, 0.30, 0.0, 0, 350, 500, c.mode, c.limit_w);
    assert_near(planned.import_w, 200.0, EPS);
    assert_near(followed.battery_w, 350.0, EPS);
    assert_near(followed.import_w, 0.0, EPS);
    /* Planned idle, but the sun came out: 300 W surplus is stored, not exported. */
    c = balkon_opt_command_follow(&b, (struct balkon_opt_command){BALKON_OPT_IDLE, 0.0});
    followed = step(&b, 0.30, 0.0, 500, 200, 500, c.mode, c.limit_w);
    assert_near(followed.battery_w, -300.0, EPS);
    assert_near(followed.export_w, 0.0, EPS);
}

static void test_terminal_value(void **state)
{
    struct balkon_opt_problem *p = setup(4, 0.0, 0.0, 0.0);
    static const double prices[4] = {0.40, 0.10, 0.30, 0.20};
    for (int i = 0; i < 4; i++)
        fx.slots[i].import_price_per_kwh = prices[i];
    /* Median of 0.10, 0.20, 0.30, 0.40 is 0.25; times discharge efficiency 0.9. */
    assert_near(balkon_opt_terminal_value_per_kwh(p), 0.225, EPS);
    for (int i = 0; i < 4; i++)
        fx.slots[i].import_price_per_kwh = -prices[i];
    assert_near(balkon_opt_terminal_value_per_kwh(p), 0.0, EPS);
    p->terminal_value_auto = false;
    p->terminal_value_per_kwh = 0.17;
    assert_near(balkon_opt_terminal_value_per_kwh(p), 0.17, EPS);

    /* With no value on what is left, a plan empties the battery; with a high one it keeps
     * everything (0.9 x 0.30 per stored kWh saved now < 0.5 later). */
    p = setup(8, 0.30, 0.0, 200.0);
    p->terminal_value_auto = false;
    p->terminal_value_per_kwh = 0.0;
    plan_ok(p, "optimal");
    assert_near(plan.plan.totals.soc_end_wh, 100.0, 30.0);
    p->terminal_value_per_kwh = 0.50;
    plan_ok(p, "optimal");
    assert_near(plan.plan.totals.soc_end_wh, 500.0, EPS);
}

static void test_errors(void **state)
{
    char msg[200] = "";
    struct balkon_opt_problem *p = setup(4, 0.30, 0.0, 200.0);

    assert_int_equal(balkon_opt_plan(p, "greedy", NULL, &plan, msg, sizeof(msg)),
                     BALKON_E_NOTFOUND);
    assert_non_null(strstr(msg, "\"greedy\""));
    assert_non_null(strstr(msg, "optimal"));

    p->battery.charge_efficiency = 1.2;
    assert_int_equal(balkon_opt_plan(p, "optimal", NULL, &plan, msg, sizeof(msg)), BALKON_E_INVAL);
    assert_int_equal(strncmp(msg, "battery.charge_efficiency:", 26), 0);
    p->battery.charge_efficiency = 0.95;

    fx.slots[2].load_w = NAN;
    assert_int_equal(balkon_opt_problem_validate(p, msg, sizeof(msg)), BALKON_E_INVAL);
    assert_int_equal(strncmp(msg, "slots[2]:", 9), 0);
    fx.slots[2].load_w = 200.0;

    p->soc_step_wh = 0.01; /* 100,001 levels */
    assert_int_equal(balkon_opt_problem_validate(p, msg, sizeof(msg)), BALKON_E_TOOBIG);
    p->soc_step_wh = 10.0;

    p->slot_count = BALKON_OPT_MAX_SLOTS + 1;
    assert_int_equal(balkon_opt_problem_validate(p, msg, sizeof(msg)), BALKON_E_INVAL);
    p->slot_count = 4;

    assert_int_equal(balkon_opt_plan(p, "fixed_schedule", NULL, &plan, msg, sizeof(msg)),
                     BALKON_E_INVAL);
    assert_int_equal(strncmp(msg, "windows:", 8), 0);
    assert_int_equal(balkon_opt_plan(p, "optimal", NULL, &plan, NULL, 0), BALKON_OK);

    /* Extremes within the bounds: the finest grid allowed and a 1 MW charger. */
    p->soc_step_wh = 0.05; /* 20,001 levels */
    p->battery.max_charge_w = p->battery.max_discharge_w = 1e6;
    p->slot_s = 86400;
    assert_int_equal(balkon_opt_plan(p, "optimal", NULL, &plan, msg, sizeof(msg)), BALKON_OK);
}

static void test_strategy_table_and_modes(void **state)
{
    size_t count = 0;
    const struct balkon_opt_strategy *const *all = balkon_opt_strategies(&count);
    assert_int_equal(count, 3);
    for (size_t i = 0; i < count; i++) {
        assert_ptr_equal(balkon_opt_strategy_find(all[i]->name), all[i]);
        assert_non_null(all[i]->description);
        assert_non_null(all[i]->plan_fn);
    }
    assert_null(balkon_opt_strategy_find("nope"));
    assert_null(balkon_opt_strategy_find(NULL));

    for (int m = 0; m < BALKON_OPT_MODE_COUNT; m++) {
        enum balkon_opt_mode back;
        assert_int_equal(
            balkon_opt_mode_parse(balkon_opt_mode_name((enum balkon_opt_mode)m), &back), BALKON_OK);
        assert_int_equal(back, m);
    }
    assert_string_equal(balkon_opt_mode_name(BALKON_OPT_GRID_CHARGE), "grid_charge");
    assert_string_equal(balkon_opt_mode_name((enum balkon_opt_mode)99), "?");
    enum balkon_opt_mode m;
    assert_int_equal(balkon_opt_mode_parse("charging", &m), BALKON_E_INVAL);
}

static void test_workspace_is_reused(void **state)
{
    struct balkon_opt_problem *p = &fx.p;
    random_instance(3, p);
    struct balkon_opt_workspace *ws = balkon_opt_workspace_new();
    assert_non_null(ws);
    double a, b;
    assert_int_equal(balkon_opt_optimal_value(p, ws, &a), BALKON_OK);
    size_t bytes = balkon_opt_workspace_bytes(ws);
    /* 192 slots x about 200 levels of int16 moves at least. */
    assert_true(bytes >= 192 * 200 * 2);
    p->slot_count = 96;
    assert_int_equal(balkon_opt_optimal_value(p, ws, &b), BALKON_OK);
    assert_int_equal(balkon_opt_workspace_bytes(ws), bytes);
    p->slot_count = 192;
    assert_int_equal(balkon_opt_optimal_value(p, ws, &b), BALKON_OK);
    assert_near(a, b, 0.0);
    balkon_opt_workspace_free(ws);
    balkon_opt_workspace_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_step_ac),
        cmocka_unit_test(test_step_ac_cap_and_grid_charge),
        cmocka_unit_test(test_step_soc_bounds),
        cmocka_unit_test(test_step_negative_prices),
        cmocka_unit_test(test_step_dc),
        cmocka_unit_test(test_simulate_totals),
        cmocka_unit_test(test_dp_matches_exhaustive_search),
        cmocka_unit_test(test_negative_prices),
        cmocka_unit_test(test_flat_prices_do_not_cycle),
        cmocka_unit_test(test_empty_battery),
        cmocka_unit_test(test_full_battery),
        cmocka_unit_test(test_zero_pv_discharges_in_dearest_slots),
        cmocka_unit_test(test_dst_days),
        cmocka_unit_test(test_invariants_cap_and_export),
        cmocka_unit_test(test_self_consumption),
        cmocka_unit_test(test_fixed_schedule),
        cmocka_unit_test(test_replay_on_actuals),
        cmocka_unit_test(test_follow_plan_in_real_time),
        cmocka_unit_test(test_terminal_value),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_strategy_table_and_modes),
        cmocka_unit_test(test_workspace_is_reused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
