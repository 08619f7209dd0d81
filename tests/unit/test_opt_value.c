/* Running a plan by its value function (balkon_opt_value_command) against what really
 * happens, compared with plain self-consumption and with the older way of running a plan
 * (balkon_opt_command_follow: charge stores all surplus, discharge covers all load, idle
 * and hold never discharge).
 *
 * A synthetic year of hourly slots on a flat tariff, where self-consumption is the
 * optimum: PV under day-to-day clouds that the forecast does not know (it assumes the
 * season's mean cloudiness), a load with random appliance peaks the forecast does not
 * know either. Every third hour is planned over the next 24 forecast hours, and each hour
 * is run against the true PV and load. The value law must never
 * be behind self-consumption; the old execution was (issue 14: a hold or charge slot
 * never covered a deficit nobody expected). The plans use a 10 Wh step to keep the test
 * quick under the sanitizers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "balkon/error.h"
#include "balkon/optimizer.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define HOURS (365 * 24)
#define HORIZON 24
/* Plans are made every this many hours and each of their slots is run by its own values
 * (the daemon re-plans every 15 minutes; fewer plans keep the test quick under the
 * sanitizers, and the later slots' values are exercised too). */
#define REPLAN_HOURS 3

static uint64_t rng;

static double uniform(void)
{
    rng = rng * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return (double)(rng >> 11) / 9007199254740992.0;
}

struct year {
    struct balkon_opt_slot actual[HOURS + HORIZON];
    struct balkon_opt_slot forecast[HOURS + HORIZON];
};

/* Clear-sky PV of a 1.2 kWp plant by season, scaled by a daily cloudiness and an hourly
 * flicker; the forecast knows the clear sky and the mean cloudiness only. */
static void make_year(struct year *y, uint64_t seed, double price, double feed_in)
{
    rng = seed;
    double cloud = 0.6;
    for (size_t i = 0; i < HOURS + HORIZON; i++) {
        int day = (int)(i / 24) % 365, hour = (int)(i % 24);
        if (hour == 0)
            cloud = 0.1 + 0.9 * uniform();
        double season = 0.55 + 0.45 * cos(2.0 * M_PI * (day - 172) / 365.0);
        double half = 4.0 + 4.0 * season; /* hours from noon to sunset */
        double h = hour + 0.5 - 13.0;
        double sun = fabs(h) < half ? cos(M_PI / 2.0 * h / half) : 0.0;
        double clear_w = 1100.0 * season * sun;
        double load_mean = 180.0 + 250.0 * exp(-pow(hour - 7.5, 2) / 2.0) +
                           450.0 * exp(-pow(hour - 19.5, 2) / 3.0);
        double spike = uniform() < 0.12 ? 1200.0 * uniform() : 0.0;
        y->actual[i] = (struct balkon_opt_slot){
            .import_price_per_kwh = price,
            .feed_in_per_kwh = feed_in,
            .pv_w = clear_w * cloud * (0.7 + 0.6 * uniform()),
            .load_w = load_mean * (0.6 + 0.8 * uniform()) + spike,
            .minute_of_day = hour * 60,
        };
        y->forecast[i] = y->actual[i];
        y->forecast[i].pv_w = clear_w * 0.55;
        y->forecast[i].load_w = load_mean + 0.12 * 600.0;
    }
}

static struct balkon_opt_battery battery_of(enum balkon_opt_coupling coupling)
{
    return (struct balkon_opt_battery){
        .capacity_wh = 2240.0,
        .soc_min_pct = 10.0,
        .soc_max_pct = 100.0,
        .max_charge_w = 800.0,
        .max_discharge_w = 800.0,
        .charge_efficiency = 0.95,
        .discharge_efficiency = 0.95,
        .wear_cost_per_kwh = 0.02,
        .coupling = coupling,
        .ac_limit_w = 800.0,
        .allow_grid_charge = coupling == BALKON_OPT_COUPLING_AC,
    };
}

/* FOLLOWED runs the published plan's command through balkon_opt_command_follow, as the
 * replay did before the value law (with hourly plans published as followed commands it lost
 * 0.87 and 1.38 EUR against self-consumption on these years, AC and DC); kept for
 * comparing by hand. */
enum how { SELF_CONSUMPTION, FOLLOWED, BY_VALUE };

/* The year's cost with the battery run `how`, the energy left valued at value_per_kwh. */
static double run_year(const struct year *y, const struct balkon_opt_battery *battery, enum how how,
                       double value_per_kwh, struct balkon_opt_workspace *ws)
{
    static struct balkon_opt_plan plan;
    double start_wh = battery->capacity_wh * battery->soc_min_pct / 100.0;
    double soc_wh = start_wh, cost = 0.0;
    char msg[160] = "";
    bool fell_back = false;

    for (size_t t = 0; t < HOURS; t++) {
        struct balkon_opt_problem p;
        balkon_opt_problem_init(&p);
        p.slot_s = 3600;
        p.battery = *battery;
        p.initial_soc_wh = soc_wh;
        p.soc_step_wh = 10.0;
        p.terminal_value_auto = false;
        p.terminal_value_per_kwh = value_per_kwh;
        struct balkon_opt_command command;
        if (how == SELF_CONSUMPTION) {
            p.slots = &y->actual[t];
            p.slot_count = 1;
            assert_int_equal(
                balkon_opt_strategy_find("self_consumption")->plan_fn(&p, NULL, &command), 0);
        } else {
            p.slots = &y->forecast[t];
            p.slot_count = HORIZON;
            if (t % REPLAN_HOURS == 0 &&
                balkon_opt_plan_followed(&p, "optimal", ws, &plan, &fell_back, msg, sizeof msg))
                fail_msg("plan: %s", msg);
            const struct balkon_opt_slot_result *first = &plan.plan.slots[t % REPLAN_HOURS];
            command = balkon_opt_command_follow(
                battery, (struct balkon_opt_command){first->mode, first->limit_w});
            if (how == BY_VALUE)
                command = balkon_opt_value_command(battery, &y->actual[t], 3600, soc_wh,
                                                   &first->value, command);
            /* A plan that fell back to self-consumption runs as self-consumption does, on
             * the slot as it is (as the replay engine and the control do). */
            if (fell_back) {
                p.slots = &y->actual[t];
                p.slot_count = 1;
                assert_int_equal(
                    balkon_opt_strategy_find("self_consumption")->plan_fn(&p, NULL, &command), 0);
            }
        }
        struct balkon_opt_slot_result r;
        balkon_opt_step(battery, &y->actual[t], 3600, soc_wh, command, &r);
        cost += r.cost + r.wear_cost;
        soc_wh = r.soc_wh;
    }
    return cost - value_per_kwh * (soc_wh - start_wh) / 1000.0;
}

static void compare(enum balkon_opt_coupling coupling, uint64_t seed)
{
    static struct year y;
    struct balkon_opt_battery battery = battery_of(coupling);
    const double price = 0.32;
    /* What a kWh in the cells is worth on this tariff: the price it displaces. */
    double value = price * battery.discharge_efficiency - battery.wear_cost_per_kwh;
    struct balkon_opt_workspace *ws = balkon_opt_workspace_new();
    assert_non_null(ws);

    make_year(&y, seed, price, 0.0);
    double none_cost = 0.0;
    for (size_t t = 0; t < HOURS; t++) {
        const struct balkon_opt_slot *s = &y.actual[t];
        none_cost += fmax(0.0, s->load_w - fmin(s->pv_w, 800.0)) * price / 1000.0;
    }
    double sc = run_year(&y, &battery, SELF_CONSUMPTION, value, ws);
    double by_value = run_year(&y, &battery, BY_VALUE, value, ws);
    print_message("%s seed %llu: no battery %.2f  self_consumption %.2f  by value %.2f (%+.2f)\n",
                  coupling == BALKON_OPT_COUPLING_DC ? "dc" : "ac", (unsigned long long)seed,
                  none_cost, sc, by_value, by_value - sc);
    /* Never behind self-consumption (a cent a year for rounding). */
    assert_true(by_value <= sc + 0.01);
    balkon_opt_workspace_free(ws);
}

static void test_flat_year_never_behind_self_consumption(void **state)
{
    (void)state;
    compare(BALKON_OPT_COUPLING_AC, 1);
    compare(BALKON_OPT_COUPLING_DC, 2);
}

/* The law on one slot, by hand: a deficit nobody expected is covered when the import
 * price beats the stored kWh's worth, and kept when a dearer use is planned; a surplus is
 * sold when feed-in pays more than storing it. */
static void test_value_law_single_slot(void **state)
{
    (void)state;
    struct balkon_opt_battery b = battery_of(BALKON_OPT_COUPLING_AC);
    b.allow_grid_charge = false;
    b.wear_cost_per_kwh = 0.0;
    b.charge_efficiency = b.discharge_efficiency = 1.0;
    struct balkon_opt_slot deficit = {.import_price_per_kwh = 0.30, .pv_w = 0, .load_w = 400};
    struct balkon_opt_value cheap = {true, 1000.0, 0.20, 0.20};
    struct balkon_opt_value dear = {true, 1000.0, 0.40, 0.40};
    struct balkon_opt_command hold = {BALKON_OPT_HOLD, 0.0}, c;
    struct balkon_opt_slot_result r;

    c = balkon_opt_value_command(&b, &deficit, 900, 1000.0, &cheap, hold);
    balkon_opt_step(&b, &deficit, 900, 1000.0, c, &r);
    assert_true(fabs(r.battery_w - 400.0) < 1e-6); /* covered */
    c = balkon_opt_value_command(&b, &deficit, 900, 1000.0, &dear, hold);
    balkon_opt_step(&b, &deficit, 900, 1000.0, c, &r);
    assert_true(fabs(r.battery_w) < 1e-6); /* kept */

    struct balkon_opt_slot surplus = {
        .import_price_per_kwh = 0.30, .feed_in_per_kwh = 0.13, .pv_w = 700, .load_w = 200};
    struct balkon_opt_command charge = {BALKON_OPT_CHARGE, 800.0};
    c = balkon_opt_value_command(&b, &surplus, 900, 1000.0,
                                 &(struct balkon_opt_value){true, 1000.0, 0.03, 0.03}, charge);
    balkon_opt_step(&b, &surplus, 900, 1000.0, c, &r);
    assert_true(fabs(r.battery_w) < 1e-6 && fabs(r.export_w - 500.0) < 1e-6); /* sold */
    c = balkon_opt_value_command(&b, &surplus, 900, 1000.0, &cheap, charge);
    balkon_opt_step(&b, &surplus, 900, 1000.0, c, &r);
    assert_true(fabs(r.battery_w + 500.0) < 1e-6); /* stored */

    /* The plan's partial discharge: energy above the planned SoC is worth less than the
     * price, energy below it more; the battery stops at the planned SoC. */
    struct balkon_opt_value partial = {true, 950.0, 0.20, 0.40};
    c = balkon_opt_value_command(&b, &deficit, 900, 1000.0, &partial, hold);
    balkon_opt_step(&b, &deficit, 900, 1000.0, c, &r);
    assert_true(fabs(r.soc_wh - 950.0) < 1e-6);

    /* Without values the plan's command runs as balkon_opt_command_follow makes it. */
    struct balkon_opt_value none = {0};
    c = balkon_opt_value_command(&b, &deficit, 900, 1000.0, &none, hold);
    assert_int_equal(c.mode, BALKON_OPT_HOLD);
}

/* Issue 14's spot-indexed feed-in: morning PV sells at 12-14 ct, the battery is full by
 * noon if it stores it, and noon's PV then sells at 3 ct. The optimum sells in the morning
 * and stores at noon; the followed plan (idle as hold, charge storing all surplus) stored
 * the morning PV and lost about 8 %. Planned on the truth, the plan the daemon publishes
 * and runs must stay within 0.5 % of the programme's own optimum. */
static void test_spot_feed_in_keeps_selling(void **state)
{
    (void)state;
    static struct balkon_opt_slot slots[192];
    static struct balkon_opt_plan plan;
    for (size_t t = 0; t < 192; t++) {
        double h = (double)(t % 96) / 4.0;
        double sun = h > 6.0 && h < 20.0 ? sin(M_PI * (h - 6.0) / 14.0) : 0.0;
        double market = h < 11.0 ? 0.13 : (h < 16.0 ? 0.03 : 0.15);
        slots[t] = (struct balkon_opt_slot){
            .import_price_per_kwh = 0.20 + market,
            .feed_in_per_kwh = market,
            .pv_w = 1400.0 * sun,
            .load_w = 200.0,
            .minute_of_day = (int)(t % 96) * 15,
        };
    }
    struct balkon_opt_problem p;
    balkon_opt_problem_init(&p);
    p.slots = slots;
    p.slot_count = 192;
    p.battery = battery_of(BALKON_OPT_COUPLING_AC);
    p.battery.allow_grid_charge = false;
    p.initial_soc_wh = 224.0;
    p.soc_step_wh = balkon_opt_soc_step_wh(p.battery.capacity_wh);
    p.terminal_value_auto = false;
    p.terminal_value_per_kwh = 0.30;
    double dp, by_value = 0.0, soc = p.initial_soc_wh;
    bool fell_back;
    assert_int_equal(balkon_opt_optimal_value(&p, NULL, &dp), 0);
    assert_int_equal(balkon_opt_plan_followed(&p, "optimal", NULL, &plan, &fell_back, NULL, 0), 0);
    for (size_t t = 0; t < 192; t++) {
        const struct balkon_opt_slot_result *f = &plan.plan.slots[t];
        struct balkon_opt_command c = balkon_opt_value_command(
            &p.battery, &slots[t], 900, soc, &f->value,
            balkon_opt_command_follow(&p.battery,
                                      (struct balkon_opt_command){f->mode, f->limit_w}));
        struct balkon_opt_slot_result r;
        balkon_opt_step(&p.battery, &slots[t], 900, soc, c, &r);
        by_value += r.cost + r.wear_cost;
        soc = r.soc_wh;
    }
    by_value -= 0.30 * (soc - p.initial_soc_wh) / 1000.0;
    double followed = plan.plan.totals.objective, sc = plan.self_consumption.totals.objective;
    print_message("spot feed-in: DP %.4f  followed plan %.4f (%+.2f %%)  by value %.4f (%+.2f %%)  "
                  "self_consumption %.4f\n",
                  dp, followed, 100.0 * (followed - dp) / fabs(dp), by_value,
                  100.0 * (by_value - dp) / fabs(dp), sc);
    assert_true(followed <= dp + 0.005 * fabs(dp));
    assert_true(by_value <= dp + 0.005 * fabs(dp));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_law_single_slot),
        cmocka_unit_test(test_spot_feed_in_keeps_selling),
        cmocka_unit_test(test_flat_year_never_behind_self_consumption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
