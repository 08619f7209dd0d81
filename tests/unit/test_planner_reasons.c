/* The reasons the planner gives for each slot (src/planner/reasons.c): what a person reads as
 * "what it does and why". Each case is a short plan (mode, battery power, SoC at the slot's
 * end, PV, load, price) and the code, state and parameters the slot must get. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../src/planner/planner_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define T0 1782000000000LL
#define SLOT_MS 900000LL

struct slot {
    const char *mode;
    double battery_w, soc_pct, pv_w, load_w, price;
};

static void plan(const struct slot *slots, size_t count, double soc_start_pct, double capacity_wh,
                 struct planner_reason *out)
{
    struct balkon_plan_slot_row rows[16];
    assert_true(count <= 16);
    memset(rows, 0, sizeof rows);
    for (size_t i = 0; i < count; i++) {
        rows[i].slot_ts_ms = T0 + (int64_t)i * SLOT_MS;
        snprintf(rows[i].mode, sizeof rows[i].mode, "%s", slots[i].mode);
        rows[i].battery_w = slots[i].battery_w;
        rows[i].soc_pct = slots[i].soc_pct;
        rows[i].pv_w = slots[i].pv_w;
        rows[i].load_w = slots[i].load_w;
        rows[i].price_per_kwh = slots[i].price;
    }
    planner_slot_reasons(rows, count, soc_start_pct, capacity_wh, 10, 100, out);
}

static void expect(const struct planner_reason *r, const char *code, const char *state)
{
    assert_string_equal(r->code, code);
    assert_string_equal(r->state, state);
}

static void test_what_the_battery_does(void **state)
{
    (void)state;
    const struct slot slots[] = {
        {"charge", -300, 40, 600, 300, 0.38},    /* surplus stored */
        {"discharge", -200, 45, 500, 300, 0.38}, /* "discharge" mode, yet charging */
        {"discharge", 250, 40, 50, 300, 0.38},   /* covering the load */
        {"grid_charge", -800, 70, 0, 200, 0.12}, /* cheap grid charging */
        {"discharge", 2, 70, 300, 298, 0.38},    /* balanced: resting */
    };
    struct planner_reason r[5];
    plan(slots, 5, 30, 2240, r);
    expect(&r[0], "storing_surplus", "charging");
    expect(&r[1], "storing_surplus", "charging");
    expect(&r[2], "covering_load", "discharging");
    expect(&r[3], "grid_charging_cheap", "grid_charging");
    assert_true(fabs(r[3].price_per_kwh - 0.12) < 1e-9);
    assert_true(r[3].ts_ms == INT64_MIN);
    expect(&r[4], "nothing_to_do", "resting");
    assert_true(isnan(r[0].price_per_kwh) && r[0].ts_ms == INT64_MIN);
}

static void test_limits(void **state)
{
    (void)state;
    /* The SoC a slot starts from is the previous slot's end (the first: soc_start_pct). */
    const struct slot slots[] = {
        {"discharge", 0, 10, 0, 300, 0.38}, /* starts at 10 %: at the minimum */
        {"charge", 0, 100, 700, 300, 0.38}, /* starts at 10 %, a surplus it does not store */
        {"charge", 0, 100, 700, 300, 0.38}, /* starts full with a surplus: at the maximum */
        {"idle", 0, 100, 0, 300, 0.38},     /* starts full, deficit, no later discharge */
    };
    struct planner_reason r[4];
    plan(slots, 4, 10, 2240, r);
    expect(&r[0], "at_soc_min", "resting");
    expect(&r[1], "exporting_surplus", "resting");
    expect(&r[2], "at_soc_max", "resting");
    expect(&r[3], "nothing_to_do", "resting");
}

static void test_waiting_for_cheaper_hour(void **state)
{
    (void)state;
    const struct slot slots[] = {
        {"discharge", 0, 10, 0, 200, 0.27},      /* at the minimum, grid charging comes at 0.12 */
        {"grid_charge", -800, 30, 0, 200, 0.27}, /* not cheaper: not what it waits for */
        {"grid_charge", -800, 50, 0, 200, 0.12},
        {"discharge", 300, 45, 0, 300, 0.38},
    };
    struct planner_reason r[4];
    plan(slots, 4, 10, 2240, r);
    expect(&r[0], "waiting_for_cheaper_hour", "holding");
    assert_true(r[0].ts_ms == T0 + 2 * SLOT_MS);
    assert_true(fabs(r[0].price_per_kwh - 0.12) < 1e-9);

    /* A grid charge at the same price: waiting for it, not for a cheaper hour. */
    const struct slot same[] = {
        {"discharge", 0, 10, 0, 200, 0.12},
        {"grid_charge", -800, 30, 0, 200, 0.12},
    };
    plan(same, 2, 10, 2240, r);
    expect(&r[0], "waiting_for_grid_charge", "holding");
    assert_true(r[0].ts_ms == T0 + SLOT_MS);

    /* Only a dearer grid charge ahead (for a dearer hour still): the minimum is the reason. */
    const struct slot none[] = {
        {"discharge", 0, 10, 0, 200, 0.12},
        {"grid_charge", -800, 30, 0, 200, 0.27},
    };
    plan(none, 2, 10, 2240, r);
    expect(&r[0], "at_soc_min", "resting");
}

static void test_saving_for_dearer_hour(void **state)
{
    (void)state;
    const struct slot slots[] = {
        {"idle", 0, 70, 0, 200, 0.27}, /* holds for the 0.38 slot, not the 0.27 one */
        {"discharge", 100, 69, 0, 200, 0.27},
        {"idle", 0, 69, 0, 200, 0.27},
        {"discharge", 300, 60, 0, 300, 0.38},
    };
    struct planner_reason r[4];
    plan(slots, 4, 70, 2240, r);
    expect(&r[0], "saving_for_dearer_hour", "holding");
    assert_true(r[0].ts_ms == T0 + 3 * SLOT_MS);
    assert_true(fabs(r[0].price_per_kwh - 0.38) < 1e-9);
    expect(&r[1], "covering_load", "discharging");
    expect(&r[2], "saving_for_dearer_hour", "holding");
    expect(&r[3], "covering_load", "discharging");
}

static void test_no_battery(void **state)
{
    (void)state;
    const struct slot slots[] = {{"idle", 0, 0, 500, 300, 0.38}, {"idle", 0, 0, 0, 300, 0.38}};
    struct planner_reason r[2];
    plan(slots, 2, 0, 0, r);
    expect(&r[0], "no_battery", "resting");
    expect(&r[1], "no_battery", "resting");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_what_the_battery_does),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_waiting_for_cheaper_hour),
        cmocka_unit_test(test_saving_for_dearer_hour),
        cmocka_unit_test(test_no_battery),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
