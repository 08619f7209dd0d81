/* The deferrable-load rules (include/balkon/loads.h) on hand-made situations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "balkon/loads.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MIN_MS (60 * 1000LL)
#define HOUR_MS (60 * MIN_MS)
/* 2026-06-15 00:00 UTC; the tests run in UTC (TZ set in main). */
#define DAY_MS 1781481600000LL

static struct balkon_price_slot prices[24];

static void hourly_prices(const double *eur)
{
    for (int h = 0; h < 24; h++)
        prices[h] = (struct balkon_price_slot){DAY_MS + h * HOUR_MS, 3600, eur[h], NAN};
}

static struct balkon_load_params params(enum balkon_load_mode mode, double run_min)
{
    return (struct balkon_load_params){.mode = mode,
                                       .power_w = 500,
                                       .run_s = run_min * 60,
                                       .min_on_s = 600,
                                       .min_off_s = 300,
                                       .battery_priority_soc_pct = 80,
                                       .battery_max_charge_w = 800};
}

static struct balkon_load_state fresh_state(void)
{
    return (struct balkon_load_state){
        .switched_ms = INT64_MIN, .surplus_since_ms = INT64_MIN, .deficit_since_ms = INT64_MIN};
}

static struct balkon_load_inputs at(int64_t now_ms, double pv_w, double home_w, double soc_pct)
{
    return (struct balkon_load_inputs){.now_ms = now_ms,
                                       .earliest_ms = DAY_MS,
                                       .latest_ms = DAY_MS + 24 * HOUR_MS - MIN_MS,
                                       .pv_w = pv_w,
                                       .home_w = home_w,
                                       .soc_pct = soc_pct,
                                       .load_w = NAN};
}

/* Runs the module's part: switch when the decision changes. */
static struct balkon_load_decision step(const struct balkon_load_params *p,
                                        struct balkon_load_state *s,
                                        const struct balkon_load_inputs *in)
{
    struct balkon_load_decision d;
    balkon_load_decide(p, s, in, &d);
    if (d.on != s->on) {
        s->on = d.on;
        s->switched_ms = in->now_ms;
    }
    return d;
}

static void test_cheapest_window(void **state)
{
    (void)state;
    double eur[24];
    for (int h = 0; h < 24; h++)
        eur[h] = 0.30;
    eur[13] = 0.10;
    eur[14] = 0.12;
    eur[20] = 0.05; /* cheapest hour, but its neighbours are dear */
    hourly_prices(eur);
    double avg = 0;
    int64_t start =
        balkon_load_cheapest_start(prices, 24, DAY_MS, DAY_MS + 24 * HOUR_MS, 2 * 3600, &avg);
    assert_int_equal(start, DAY_MS + 13 * HOUR_MS);
    assert_float_equal(avg, 0.11, 1e-9);
    /* One hour fits best at 20:00; a window ending at 19:00 cannot reach it. */
    assert_int_equal(
        balkon_load_cheapest_start(prices, 24, DAY_MS, DAY_MS + 24 * HOUR_MS, 3600, NULL),
        DAY_MS + 20 * HOUR_MS);
    assert_int_equal(
        balkon_load_cheapest_start(prices, 24, DAY_MS, DAY_MS + 19 * HOUR_MS, 3600, NULL),
        DAY_MS + 13 * HOUR_MS);
    /* 90 minutes starting 12:30 covers 12:30-13:00 at 0.30 — worse than 13:00-14:30. */
    assert_int_equal(
        balkon_load_cheapest_start(prices, 24, DAY_MS, DAY_MS + 24 * HOUR_MS, 5400, NULL),
        DAY_MS + 13 * HOUR_MS);
    /* From 13:20 the window starts now, not at a boundary in the past. */
    assert_int_equal(balkon_load_cheapest_start(prices, 24, DAY_MS + 13 * HOUR_MS + 20 * MIN_MS,
                                                DAY_MS + 24 * HOUR_MS, 3600, NULL),
                     DAY_MS + 20 * HOUR_MS);
    /* Does not fit, or prices missing inside: no window. */
    assert_int_equal(balkon_load_cheapest_start(prices, 24, DAY_MS, DAY_MS + HOUR_MS, 7200, NULL),
                     INT64_MIN);
    assert_int_equal(balkon_load_cheapest_start(prices, 24, DAY_MS + 23 * HOUR_MS,
                                                DAY_MS + 26 * HOUR_MS, 7200, NULL),
                     INT64_MIN);
}

static void test_surplus_starts_after_a_minute_and_stops_after_two(void **state)
{
    (void)state;
    struct balkon_load_params p = params(BALKON_LOAD_SURPLUS, 0);
    struct balkon_load_state s = fresh_state();
    int64_t t = DAY_MS + 12 * HOUR_MS;
    /* 700 W of PV, 150 W household: 550 W spare, battery full. */
    struct balkon_load_inputs in = at(t, 700, 150, 100);
    struct balkon_load_decision d = step(&p, &s, &in);
    assert_false(d.on);
    assert_non_null(strstr(d.reason, "waiting a minute"));
    in.now_ms = t + 61 * 1000;
    d = step(&p, &s, &in);
    assert_true(d.on);
    assert_string_equal(d.reason, "solar surplus 550 W");
    /* Running: the household now includes the load's 500 W. A cloud: 450 W of PV leaves
     * 300 W for the load after the household's 150 W, more than half of it: stays on. */
    in = at(t + 20 * MIN_MS, 450, 650, 100);
    assert_true(step(&p, &s, &in).on);
    /* 200 W of PV: less than half for two minutes, but min_on (10 min) already passed. */
    in = at(t + 21 * MIN_MS, 200, 650, 100);
    assert_true(step(&p, &s, &in).on);
    in.now_ms += 119 * 1000;
    assert_true(step(&p, &s, &in).on);
    in.now_ms += 2 * 1000;
    d = step(&p, &s, &in);
    assert_false(d.on);
    assert_non_null(strstr(d.reason, "surplus down to"));
}

static void test_battery_charges_first_below_its_priority_soc(void **state)
{
    (void)state;
    struct balkon_load_params p = params(BALKON_LOAD_SURPLUS, 0);
    struct balkon_load_state s = fresh_state();
    struct balkon_load_inputs in = at(DAY_MS + 12 * HOUR_MS, 800, 100, 50);
    assert_string_equal(step(&p, &s, &in).reason, "the battery charges first");
    in.now_ms += 5 * MIN_MS;
    assert_false(step(&p, &s, &in).on);
    in.soc_pct = 85;
    step(&p, &s, &in);
    in.now_ms += 61 * 1000;
    assert_true(step(&p, &s, &in).on);
}

static void test_minimum_on_and_off_times(void **state)
{
    (void)state;
    struct balkon_load_params p = params(BALKON_LOAD_SURPLUS, 0);
    struct balkon_load_state s = fresh_state();
    int64_t t = DAY_MS + 12 * HOUR_MS;
    struct balkon_load_inputs in = at(t, 900, 100, 100);
    step(&p, &s, &in);
    in.now_ms = t + 61 * 1000;
    assert_true(step(&p, &s, &in).on);
    /* The sun goes at once: off only after min_on_s (600 s) from the switch. */
    in = at(t + 2 * MIN_MS, 0, 600, 100);
    step(&p, &s, &in);
    in.now_ms = t + 5 * MIN_MS;
    struct balkon_load_decision d = step(&p, &s, &in);
    assert_true(d.on);
    assert_string_equal(d.reason, "stays on for at least 10 min");
    in.now_ms = t + 61 * 1000 + 10 * MIN_MS;
    assert_false(step(&p, &s, &in).on);
    /* And back on no sooner than min_off_s (300 s) later, however sunny. */
    int64_t off_ms = in.now_ms;
    in = at(off_ms + 30 * 1000, 900, 100, 100);
    step(&p, &s, &in);
    in.now_ms = off_ms + 2 * MIN_MS;
    d = step(&p, &s, &in);
    assert_false(d.on);
    assert_string_equal(d.reason, "stays off for at least 5 min");
    in.now_ms = off_ms + 5 * MIN_MS + 1000;
    assert_true(step(&p, &s, &in).on);
}

static void test_deadline_and_done(void **state)
{
    (void)state;
    struct balkon_load_params p = params(BALKON_LOAD_SURPLUS, 120);
    struct balkon_load_state s = fresh_state();
    struct balkon_load_inputs in = at(DAY_MS + 10 * HOUR_MS, 0, 200, 100);
    in.latest_ms = DAY_MS + 18 * HOUR_MS;
    struct balkon_load_decision d = step(&p, &s, &in);
    assert_false(d.on);
    /* Two hours before 18:00 less the one-minute margin. */
    assert_int_equal(d.next_start_ms, DAY_MS + 16 * HOUR_MS - MIN_MS);
    in.now_ms = DAY_MS + 16 * HOUR_MS - MIN_MS;
    d = step(&p, &s, &in);
    assert_true(d.on);
    assert_string_equal(d.reason, "must finish by 18:00");
    /* It runs until done even if the deadline rule alone would not hold it … */
    s.run_today_s = 60 * 60;
    in.now_ms = DAY_MS + 17 * HOUR_MS;
    assert_string_equal(step(&p, &s, &in).reason, "running until done");
    /* … and is off once run_min is reached. */
    s.run_today_s = 120 * 60;
    in.now_ms = DAY_MS + 17 * HOUR_MS + 30 * MIN_MS;
    d = step(&p, &s, &in);
    assert_false(d.on);
    assert_string_equal(d.reason, "done for today");
}

static void test_cheap_mode_runs_in_the_cheapest_window(void **state)
{
    (void)state;
    double eur[24];
    for (int h = 0; h < 24; h++)
        eur[h] = 0.30 + 0.001 * h;
    eur[13] = eur[14] = 0.10;
    hourly_prices(eur);
    struct balkon_load_params p = params(BALKON_LOAD_CHEAP, 120);
    struct balkon_load_state s = fresh_state();
    struct balkon_load_inputs in = at(DAY_MS + 8 * HOUR_MS, 0, 200, NAN);
    in.latest_ms = DAY_MS + 20 * HOUR_MS;
    in.prices = prices;
    in.price_count = 24;
    struct balkon_load_decision d = step(&p, &s, &in);
    assert_false(d.on);
    assert_int_equal(d.next_start_ms, DAY_MS + 13 * HOUR_MS);
    assert_string_equal(d.reason, "cheapest window starts 13:00 at 0.100 per kWh");
    in.now_ms = DAY_MS + 13 * HOUR_MS;
    d = step(&p, &s, &in);
    assert_true(d.on);
    /* Halfway, the remaining hour would be cheapest later — a started run is finished. */
    s.run_today_s = 3600;
    in.now_ms = DAY_MS + 14 * HOUR_MS;
    assert_string_equal(step(&p, &s, &in).reason, "running until done");
    s.run_today_s = 7200;
    in.now_ms = DAY_MS + 15 * HOUR_MS;
    assert_false(step(&p, &s, &in).on);
}

static void test_override_and_manual_mode(void **state)
{
    (void)state;
    struct balkon_load_params p = params(BALKON_LOAD_SURPLUS, 0);
    struct balkon_load_state s = fresh_state();
    s.override = BALKON_LOAD_FORCE_ON;
    s.override_until_ms = DAY_MS + 21 * HOUR_MS;
    struct balkon_load_inputs in = at(DAY_MS + 20 * HOUR_MS, 0, 700, 20);
    struct balkon_load_decision d = step(&p, &s, &in);
    assert_true(d.on);
    assert_string_equal(d.reason, "on by hand until 21:00");
    /* Expired: back to automatic, which switches off after two minutes without surplus. */
    in.now_ms = DAY_MS + 21 * HOUR_MS;
    d = step(&p, &s, &in);
    assert_int_equal(s.override, BALKON_LOAD_AUTO);
    assert_true(d.on);
    in.now_ms += 121 * 1000;
    assert_false(step(&p, &s, &in).on);
    p.mode = BALKON_LOAD_MANUAL;
    in = at(DAY_MS + 12 * HOUR_MS, 900, 100, 100);
    in.now_ms = DAY_MS + 22 * HOUR_MS;
    d = step(&p, &s, &in);
    assert_false(d.on);
    assert_string_equal(d.reason, "manual: switched only by hand");
}

static void test_waits_until_earliest(void **state)
{
    (void)state;
    struct balkon_load_params p = params(BALKON_LOAD_SURPLUS, 0);
    struct balkon_load_state s = fresh_state();
    struct balkon_load_inputs in = at(DAY_MS + 7 * HOUR_MS, 900, 100, 100);
    in.earliest_ms = DAY_MS + 9 * HOUR_MS;
    assert_string_equal(step(&p, &s, &in).reason, "waits until 09:00");
    assert_int_equal(balkon_load_mode_parse("cheap"), BALKON_LOAD_CHEAP);
    assert_int_equal(balkon_load_mode_parse("sometimes"), -1);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cheapest_window),
        cmocka_unit_test(test_surplus_starts_after_a_minute_and_stops_after_two),
        cmocka_unit_test(test_battery_charges_first_below_its_priority_soc),
        cmocka_unit_test(test_minimum_on_and_off_times),
        cmocka_unit_test(test_deadline_and_done),
        cmocka_unit_test(test_cheap_mode_runs_in_the_cheapest_window),
        cmocka_unit_test(test_override_and_manual_mode),
        cmocka_unit_test(test_waits_until_earliest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
