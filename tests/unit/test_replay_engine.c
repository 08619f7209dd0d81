/* The replay engine (include/balkon/replay.h) on synthetic days: no peeking (what happens
 * after a slot never changes the decisions up to it, except for perfect foresight, which
 * is meant to see it), energy balance, the baselines, persistence and the horizon rules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "balkon/error.h"
#include "balkon/replay.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DAYS 20
#define COUNT (DAYS * BALKON_REPLAY_SLOTS_PER_DAY)
#define FIRST (14 * BALKON_REPLAY_SLOTS_PER_DAY) /* two weeks of history */

static uint64_t rng = 7;

static double uniform(void)
{
    rng = rng * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* Sunny middays with a surplus, evening peaks, a dearer evening and prices that differ from
 * slot to slot, all known until the end of tomorrow. */
static void make_series(struct balkon_replay_slot *slots, uint64_t seed)
{
    rng = seed;
    for (size_t i = 0; i < COUNT; i++) {
        int minute = (int)(i % BALKON_REPLAY_SLOTS_PER_DAY) * 15;
        double h = minute / 60.0;
        double sun = h > 6 && h < 20 ? sin(M_PI * (h - 6) / 14) : 0;
        size_t day = i / BALKON_REPLAY_SLOTS_PER_DAY;
        slots[i] = (struct balkon_replay_slot){
            .ts_ms = INT64_C(1750000000000) + (int64_t)i * 900000,
            .measured = true,
            .pv_w = 900 * sun * (0.5 + 0.5 * uniform()),
            .load_w = 150 + 100 * uniform() + (h > 18 && h < 21 ? 500 * uniform() : 0),
            .import_price_per_kwh = h >= 17 && h < 21 ? 0.45 : 0.25 + 0.05 * uniform(),
            .price_known = true,
            .prices_until = (day + 2) * BALKON_REPLAY_SLOTS_PER_DAY,
            .minute_of_day = minute,
            .day_of_year = 160 + (int)day,
            .day_type =
                (enum balkon_day_type)(day % 7 == 6 ? BALKON_DAY_SUNDAY : BALKON_DAY_WORKDAY),
        };
    }
}

static void params_for(struct balkon_replay_params *params)
{
    balkon_replay_params_init(params);
    params->battery = (struct balkon_opt_battery){
        .capacity_wh = 2000,
        .soc_min_pct = 10,
        .soc_max_pct = 100,
        .max_charge_w = 800,
        .max_discharge_w = 800,
        .charge_efficiency = 0.95,
        .discharge_efficiency = 0.95,
        .wear_cost_per_kwh = 0.02,
        .coupling = BALKON_OPT_COUPLING_AC,
        .ac_limit_w = 800,
    };
    params->soc_step_wh = 20;
    params->history_days = 14;
}

static void run(struct balkon_replay_slot *slots, size_t last, struct balkon_replay_report *report)
{
    struct balkon_replay_series series = {slots, COUNT, FIRST, last};
    struct balkon_replay_params params;
    params_for(&params);
    char msg[256] = "";
    if (balkon_replay_run(&series, &params, report, msg, sizeof msg) != 0)
        fail_msg("replay: %s", msg);
}

static bool same_tally(const struct balkon_replay_tally *a, const struct balkon_replay_tally *b)
{
    return a->totals.energy_cost == b->totals.energy_cost &&
           a->totals.import_wh == b->totals.import_wh &&
           a->totals.soc_end_wh == b->totals.soc_end_wh &&
           a->totals.throughput_wh == b->totals.throughput_wh;
}

static void test_no_peeking(void **state)
{
    static struct balkon_replay_slot a[COUNT], b[COUNT];
    struct balkon_replay_report ra, rb;
    make_series(a, 1);
    memcpy(b, a, sizeof a);
    /* From 2 days in, b's weather and household differ (prices stay: they are published):
     * a dull afternoon and a busy evening, which perfect foresight prepares for. (Run by the
     * plan's values, perfect foresight already covers what comes, so a milder change may
     * leave its morning as it was.) */
    size_t cut = FIRST + 2 * BALKON_REPLAY_SLOTS_PER_DAY + 40;
    rng = 99;
    for (size_t i = cut; i < COUNT; i++) {
        b[i].pv_w = a[i].pv_w * 0.3 * uniform();
        b[i].load_w = a[i].load_w * (1.0 + 1.4 * uniform());
    }
    run(a, cut, &ra);
    run(b, cut, &rb);
    assert_true(
        same_tally(&ra.tally[BALKON_REPLAY_NO_BATTERY], &rb.tally[BALKON_REPLAY_NO_BATTERY]));
    assert_true(same_tally(&ra.tally[BALKON_REPLAY_SELF_CONSUMPTION],
                           &rb.tally[BALKON_REPLAY_SELF_CONSUMPTION]));
    assert_true(same_tally(&ra.tally[BALKON_REPLAY_OPTIMAL], &rb.tally[BALKON_REPLAY_OPTIMAL]));
    /* Perfect foresight sees the future: the same cut changes what it did before it. */
    assert_false(same_tally(&ra.tally[BALKON_REPLAY_PERFECT_FORESIGHT],
                            &rb.tally[BALKON_REPLAY_PERFECT_FORESIGHT]));
}

static void test_balance_and_order(void **state)
{
    static struct balkon_replay_slot slots[COUNT];
    struct balkon_replay_report r;
    make_series(slots, 3);
    run(slots, COUNT - 2 * BALKON_REPLAY_SLOTS_PER_DAY, &r);
    assert_int_equal(r.slots, COUNT - 2 * BALKON_REPLAY_SLOTS_PER_DAY - FIRST);
    for (int s = 0; s < BALKON_REPLAY_STRATEGY_COUNT; s++) {
        const struct balkon_replay_tally *t = &r.tally[s];
        if (!t->ran)
            continue;
        double grid = t->totals.import_wh - t->totals.export_wh;
        double rest =
            r.load_wh - t->totals.pv_used_wh - (t->totals.discharge_wh - t->totals.charge_wh);
        assert_true(fabs(grid - rest) < 1e-6 * r.load_wh);
        if (s != BALKON_REPLAY_NO_BATTERY)
            assert_true(t->totals.soc_end_wh >= 200 - 1e-9 && t->totals.soc_end_wh <= 2000 + 1e-9);
    }
    assert_false(r.tally[BALKON_REPLAY_OPTIMAL_AS_PLANNED].ran);
    double none = r.tally[BALKON_REPLAY_NO_BATTERY].totals.objective;
    assert_true(r.tally[BALKON_REPLAY_SELF_CONSUMPTION].totals.objective < 0.9 * none);
    assert_true(r.tally[BALKON_REPLAY_OPTIMAL].totals.objective < 0.9 * none);
    /* Prices that differ from slot to slot leave no ties: the truth helps. */
    assert_true(r.tally[BALKON_REPLAY_PERFECT_FORESIGHT].totals.objective <=
                r.tally[BALKON_REPLAY_OPTIMAL].totals.objective + 0.01 * none);
    assert_int_equal(r.tally[BALKON_REPLAY_OPTIMAL].plans, r.slots);
    assert_true(r.load_mae_w > 1 && r.pv_mae_w > 1);
}

static void test_gaps_are_skipped(void **state)
{
    static struct balkon_replay_slot slots[COUNT];
    struct balkon_replay_report r;
    make_series(slots, 5);
    for (size_t i = FIRST + 10; i < FIRST + 30; i++)
        slots[i].measured = false;
    run(slots, FIRST + BALKON_REPLAY_SLOTS_PER_DAY, &r);
    assert_int_equal(r.gaps, 20);
    assert_int_equal(r.slots, BALKON_REPLAY_SLOTS_PER_DAY - 20);
}

static void test_persistence(void **state)
{
    static struct balkon_replay_slot slots[COUNT];
    make_series(slots, 9);
    struct balkon_replay_series series = {slots, COUNT, FIRST, COUNT};
    double pv[200];
    size_t now = FIRST + 50;
    slots[now - BALKON_REPLAY_SLOTS_PER_DAY + 2].measured = false; /* falls back a day */
    assert_int_equal(balkon_replay_pv_persistence(NULL, &series, now, now + 150, pv), 0);
    assert_true(pv[0] == slots[now - 96].pv_w);
    assert_true(pv[2] == slots[now + 2 - 2 * 96].pv_w);
    assert_true(pv[96] ==
                slots[now - 96].pv_w); /* the day after tomorrow: still the last past day */
    assert_true(pv[100] == slots[now + 100 - 2 * 96].pv_w);
}

static void test_names_and_errors(void **state)
{
    enum balkon_replay_strategy s;
    assert_int_equal(balkon_replay_strategy_parse("perfect_foresight", &s), 0);
    assert_int_equal(s, BALKON_REPLAY_PERFECT_FORESIGHT);
    assert_string_equal(balkon_replay_strategy_name(BALKON_REPLAY_FIXED_SCHEDULE),
                        "fixed_schedule");
    assert_int_equal(balkon_replay_strategy_parse("cheapest", &s), BALKON_E_NOTFOUND);

    static struct balkon_replay_slot slots[COUNT];
    make_series(slots, 11);
    struct balkon_replay_series series = {slots, COUNT, FIRST, COUNT};
    struct balkon_replay_params params;
    struct balkon_replay_report report;
    char msg[256];
    params_for(&params);
    params.strategies |= BALKON_REPLAY_BIT(BALKON_REPLAY_FIXED_SCHEDULE);
    assert_int_equal(balkon_replay_run(&series, &params, &report, msg, sizeof msg), BALKON_E_INVAL);
    assert_non_null(strstr(msg, "windows"));
    params_for(&params);
    params.battery.charge_efficiency = 0;
    assert_int_equal(balkon_replay_run(&series, &params, &report, msg, sizeof msg), BALKON_E_INVAL);
    assert_non_null(strstr(msg, "efficiency"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_peeking),       cmocka_unit_test(test_balance_and_order),
        cmocka_unit_test(test_gaps_are_skipped), cmocka_unit_test(test_persistence),
        cmocka_unit_test(test_names_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
