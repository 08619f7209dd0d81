/* The recommendation of a start time (include/balkon/recommend.h) on hand-made prices and
 * solar forecasts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "balkon/recommend.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIN_MS (60 * 1000LL)
#define HOUR_MS (60 * MIN_MS)
/* 2026-06-15 00:00 UTC; the tests run in UTC (TZ set in main). */
#define DAY_MS 1781481600000LL
#define AT(h, m) (DAY_MS + (h)*HOUR_MS + (m)*MIN_MS)

/* Two days of 15-minute slots from DAY_MS: import 0.30, no feed-in, no surplus. */
#define SLOTS (2 * 96)
static struct balkon_rec_slot slots[SLOTS];

static void flat(double import, double feed_in)
{
    for (int i = 0; i < SLOTS; i++)
        slots[i] = (struct balkon_rec_slot){DAY_MS + i * 15 * MIN_MS, import, feed_in, 0.0};
}

/* Sets the import price (NAN: unchanged) and surplus (NAN: unchanged) of [from, to). */
static void set(int64_t from_ms, int64_t to_ms, double import, double surplus_w)
{
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].slot_ts_ms >= from_ms && slots[i].slot_ts_ms < to_ms) {
            if (!isnan(import))
                slots[i].import_per_kwh = import;
            if (!isnan(surplus_w))
                slots[i].surplus_w = surplus_w;
        }
    }
}

/* A washing machine: 2 h, 1 kWh (500 W). */
static const struct balkon_rec_appliance washer = {"Washing machine", 2 * 3600.0, 1000.0};

static struct balkon_rec_result recommend(const struct balkon_rec_appliance *a, int64_t now_ms,
                                          int64_t latest_ms)
{
    struct balkon_rec_window window = {
        .now_ms = now_ms, .earliest_ms = INT64_MIN, .latest_ms = latest_ms};
    struct balkon_rec_result out;
    balkon_recommend(a, slots, SLOTS, &window, "EUR", &out);
    return out;
}

static void assert_contains(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("\"%s\" does not contain \"%s\"", text, part);
}

static void test_cheap_window_wins(void **state)
{
    flat(0.30, 0.0);
    set(AT(14, 0), AT(16, 0), 0.10, NAN);
    /* Now is off the 15-minute grid: the first candidate is now itself. */
    struct balkon_rec_result r = recommend(&washer, AT(10, 5), AT(18, 0));
    assert_int_equal(r.status, BALKON_REC_OK);
    assert_int_equal(r.start_ms, AT(14, 0));
    assert_int_equal(r.end_ms, AT(16, 0));
    assert_float_equal(r.cost, 0.10, 1e-9);
    assert_float_equal(r.cost_now, 0.30, 1e-9);
    assert_float_equal(r.saving, 0.20, 1e-9);
    assert_contains(r.sentence, "Start the washing machine at 14:00");
    assert_contains(r.sentence, "0.20 EUR cheaper than starting now");
}

static void test_a_window_straddling_prices_is_integrated(void **state)
{
    /* Only 14:00-15:00 is cheap: every 2 h start touching it costs the same share, so the
     * earliest of them with the whole cheap hour (13:00 .. 14:00) and the tie rule decide. */
    flat(0.30, 0.0);
    set(AT(14, 0), AT(15, 0), 0.10, NAN);
    struct balkon_rec_result r = recommend(&washer, AT(10, 0), AT(18, 0));
    assert_int_equal(r.start_ms, AT(13, 0));
    assert_float_equal(r.cost, 0.5 * 0.10 + 0.5 * 0.30, 1e-9);
    /* Starting now at 10:05 costs a quarter-hour at a partly covered slot: still 0.30. */
    r = recommend(&washer, AT(10, 5), AT(18, 0));
    assert_float_equal(r.cost_now, 0.30, 1e-9);
}

static void test_sunny_window_beats_a_slightly_cheaper_night_when_export_earns_nothing(void **state)
{
    flat(0.30, 0.0);
    set(AT(22, 0), AT(24 + 6, 0), 0.27, NAN); /* night tariff */
    set(AT(13, 0), AT(15, 0), NAN, 1000.0);   /* 1 kW of surplus: covers the 500 W */
    struct balkon_rec_result r = recommend(&washer, AT(10, 0), AT(24 + 8, 0));
    assert_int_equal(r.status, BALKON_REC_OK);
    assert_int_equal(r.start_ms, AT(13, 0));
    assert_float_equal(r.cost, 0.0, 1e-9);
    assert_float_equal(r.saving, 0.30, 1e-9);

    /* When export earns more than the night costs, the sun is worth more sold: the night wins. */
    flat(0.30, 0.29);
    set(AT(22, 0), AT(24 + 6, 0), 0.27, NAN);
    set(AT(13, 0), AT(15, 0), NAN, 1000.0);
    r = recommend(&washer, AT(10, 0), AT(24 + 8, 0));
    assert_int_equal(r.start_ms, AT(22, 0));
    assert_float_equal(r.cost, 0.27, 1e-9);
}

static void test_partial_surplus_covers_part_of_the_power(void **state)
{
    flat(0.30, 0.08);
    set(AT(12, 0), AT(14, 0), NAN, 250.0); /* half of the 500 W */
    double cost = balkon_rec_run_cost(&washer, slots, SLOTS, AT(12, 0));
    assert_float_equal(cost, 0.5 * 0.08 + 0.5 * 0.30, 1e-9);
}

static void test_latest_is_respected(void **state)
{
    flat(0.30, 0.0);
    set(AT(17, 0), AT(19, 0), 0.05, NAN); /* cheapest, but the run would end after 18:00 */
    set(AT(12, 0), AT(14, 0), 0.20, NAN);
    struct balkon_rec_result r = recommend(&washer, AT(10, 0), AT(18, 0));
    assert_int_equal(r.status, BALKON_REC_OK);
    assert_true(r.end_ms <= AT(18, 0));
    /* 16:00-18:00 has one cheap hour: 0.5 * 0.30 + 0.5 * 0.05 = 0.175 beats 0.20. */
    assert_int_equal(r.start_ms, AT(16, 0));
    assert_float_equal(r.cost, 0.175, 1e-9);
}

static void test_no_fit_says_so(void **state)
{
    flat(0.30, 0.0);
    struct balkon_rec_result r = recommend(&washer, AT(16, 30), AT(18, 0));
    assert_int_equal(r.status, BALKON_REC_NO_FIT);
    assert_int_equal(r.start_ms, INT64_MIN);
    assert_true(isnan(r.cost));
    assert_contains(r.sentence, "does not fit before 18:00");
    assert_contains(r.sentence, "washing machine (120 min)");
    assert_string_equal(balkon_rec_status_name(r.status), "no_fit");
}

static void test_ties_go_to_the_earlier_start(void **state)
{
    /* Flat prices: now is as good as any, and now it is. */
    flat(0.30, 0.0);
    struct balkon_rec_result r = recommend(&washer, AT(10, 0), AT(18, 0));
    assert_int_equal(r.start_ms, AT(10, 0));
    assert_float_equal(r.saving, 0.0, 1e-12);
    assert_contains(r.sentence, "Start the washing machine now: no cheaper time before 18:00");

    /* Two equally cheap hours: the first. */
    struct balkon_rec_appliance kettle = {"Dishwasher", 3600.0, 500.0};
    set(AT(12, 0), AT(13, 0), 0.10, NAN);
    set(AT(14, 0), AT(15, 0), 0.10, NAN);
    r = recommend(&kettle, AT(10, 0), AT(18, 0));
    assert_int_equal(r.start_ms, AT(12, 0));
    assert_contains(r.sentence, "Start the dishwasher at 12:00 (done by 13:00): 0.10 EUR cheaper");
}

static void test_earliest_delays_the_first_start(void **state)
{
    flat(0.30, 0.0);
    struct balkon_rec_window window = {
        .now_ms = AT(7, 10), .earliest_ms = AT(9, 0), .latest_ms = AT(18, 0)};
    struct balkon_rec_result r;
    balkon_recommend(&washer, slots, SLOTS, &window, "EUR", &r);
    assert_int_equal(r.start_ms, AT(9, 0));
    assert_int_equal(r.first_ms, AT(9, 0));
    assert_contains(r.sentence, "Start the washing machine at 09:00: no cheaper time");
}

static void test_without_a_plan_there_is_no_data(void **state)
{
    struct balkon_rec_window window = {
        .now_ms = AT(10, 0), .earliest_ms = INT64_MIN, .latest_ms = AT(18, 0)};
    struct balkon_rec_result r;
    balkon_recommend(&washer, NULL, 0, &window, "EUR", &r);
    assert_int_equal(r.status, BALKON_REC_NO_DATA);
    assert_true(isnan(r.cost_now));
    assert_contains(r.sentence, "No plan covers a run of the washing machine before 18:00");

    /* A plan ending at 11:00 covers no 2 h run. */
    flat(0.30, 0.0);
    balkon_recommend(&washer, slots, 4, &window, "EUR", &r);
    assert_int_equal(r.status, BALKON_REC_NO_DATA);
}

static void test_surplus_leaves_the_battery_its_charging(void **state)
{
    assert_float_equal(balkon_rec_surplus_w(800, 300, -200), 300, 1e-9);
    assert_float_equal(balkon_rec_surplus_w(800, 300, 100), 500,
                       1e-9); /* discharging takes nothing */
    assert_float_equal(balkon_rec_surplus_w(200, 300, 0), 0, 1e-9);
    assert_float_equal(balkon_rec_surplus_w(NAN, 300, 0), 0, 1e-9);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cheap_window_wins),
        cmocka_unit_test(test_a_window_straddling_prices_is_integrated),
        cmocka_unit_test(
            test_sunny_window_beats_a_slightly_cheaper_night_when_export_earns_nothing),
        cmocka_unit_test(test_partial_surplus_covers_part_of_the_power),
        cmocka_unit_test(test_latest_is_respected),
        cmocka_unit_test(test_no_fit_says_so),
        cmocka_unit_test(test_ties_go_to_the_earlier_start),
        cmocka_unit_test(test_earliest_delays_the_first_start),
        cmocka_unit_test(test_without_a_plan_there_is_no_data),
        cmocka_unit_test(test_surplus_leaves_the_battery_its_charging),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
