/* The importer's pure parts (src/import/): timestamps and local days with DST, numbers in
 * both decimal marks, quoted fields, counters that reset, gaps that stay gaps, and the PV
 * check. The command on real files is tests/integration/test_import.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../src/import/import_internal.h"

#include "balkon/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIN_MS INT64_C(60000)
#define T_2025_03_30_00_CET INT64_C(1743289200000)  /* 2025-03-29T23:00Z */
#define T_2025_10_26_00_CEST INT64_C(1761429600000) /* 2025-10-25T22:00Z */

static int berlin(void **state)
{
    (void)state;
    setenv("TZ", "Europe/Berlin", 1);
    tzset();
    return 0;
}

static int64_t at(const char *text, int64_t prev_ms)
{
    int64_t ms = 0;
    char why[160];
    if (import_parse_time(text, prev_ms, &ms, why, sizeof why))
        fail_msg("%s: %s", text, why);
    return ms;
}

static void test_timestamps_with_and_without_zone(void **state)
{
    (void)state;
    int64_t utc = at("2025-03-30T00:00:00Z", INT64_MIN);
    assert_true(utc == at("2025-03-30T01:00+01:00", INT64_MIN));
    assert_true(utc == at("2025-03-30 02:00:00+0200", INT64_MIN));
    assert_true(utc == at("2025-03-30T00:00:00.000 UTC", INT64_MIN));
    assert_true(utc == at("1743292800", INT64_MIN));
    assert_true(utc == at("2025-03-30 01:00", INT64_MIN)); /* local: CET */
    assert_true(utc == at("30.03.2025 01:00", INT64_MIN));
    assert_true(at("2025-03-30T00:00:00.250Z", INT64_MIN) == utc + 250);
    int64_t ms;
    char why[160];
    assert_int_equal(import_parse_time("yesterday", INT64_MIN, &ms, why, sizeof why),
                     BALKON_E_PARSE);
    assert_int_equal(import_parse_time("2025-13-01T00:00Z", INT64_MIN, &ms, why, sizeof why),
                     BALKON_E_PARSE);
    assert_int_equal(import_parse_time("2025-03-01T00:00+25:00", INT64_MIN, &ms, why, sizeof why),
                     BALKON_E_PARSE);
}

static void test_local_days_of_23_and_25_hours(void **state)
{
    (void)state;
    /* Spring: 02:00 to 03:00 does not exist, 03:00 is an hour after 01:00 + 1 h. */
    assert_true(at("2025-03-30 03:00", INT64_MIN) - at("2025-03-30 01:00", INT64_MIN) ==
                60 * MIN_MS);
    int64_t ms;
    char why[160];
    assert_int_equal(import_parse_time("2025-03-30 02:30", INT64_MIN, &ms, why, sizeof why),
                     BALKON_E_PARSE);
    assert_non_null(strstr(why, "02:30 does not exist on 2025-03-30"));
    /* Autumn: 02:00 to 03:00 twice, in order; the day has 100 quarter-hours. */
    int64_t prev = INT64_MIN, first = 0;
    size_t n = 0;
    const char *hours[] = {"00", "01", "02", "02", "03", "04"};
    for (size_t h = 0; h < 6; h++)
        for (int q = 0; q < 60; q += 15) {
            char text[32];
            snprintf(text, sizeof text, "2025-10-26 %s:%02d", hours[h], q);
            int64_t t = at(text, prev);
            if (n++ == 0)
                first = t;
            else
                assert_true(t == prev + 15 * MIN_MS);
            prev = t;
        }
    assert_true(first == T_2025_10_26_00_CEST);
    assert_true(prev == first + (6 * 4 - 1) * 15 * MIN_MS);
}

static void test_numbers_and_fields(void **state)
{
    (void)state;
    double v = 0;
    assert_true(import_parse_number("1.234,5", true, &v) && v == 1234.5);
    assert_true(import_parse_number("-5,17", true, &v) && v == -5.17);
    assert_true(import_parse_number("183.5", false, &v) && v == 183.5);
    assert_false(import_parse_number("1,5", false, &v));
    assert_false(import_parse_number("abc", false, &v));
    assert_false(import_parse_number("nan", false, &v));
    assert_false(import_parse_number("12 W", false, &v));
    char line[] = "a; \"b;c\" ;\"say \"\"x\"\"\";;d";
    struct import_row row;
    assert_true(import_split(line, import_detect_delimiter("a;b,c;d"), &row));
    assert_int_equal(row.count, 5);
    assert_string_equal(row.fields[1], "b;c");
    assert_string_equal(row.fields[2], "say \"x\"");
    assert_string_equal(row.fields[3], "");
    assert_string_equal(row.fields[4], "d");
}

static void add(struct import_series *s, int64_t ts_ms, double value, bool missing)
{
    if (s->count == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->points = realloc(s->points, s->cap * sizeof *s->points);
        assert_non_null(s->points);
    }
    s->points[s->count] = (struct import_point){ts_ms, value, s->count + 2, missing, 0};
    s->count++;
}

/* A 15-minute kWh counter over the 23-hour day at 400 W, replaced at noon. */
static void test_a_counter_that_resets(void **state)
{
    (void)state;
    struct import_series s = {.source = "meter", .series = "home_w", .kind = IMPORT_COUNTER};
    double counter = 1000000; /* Wh */
    for (int i = 0; i <= 92; i++) {
        if (i == 44)
            counter = 100; /* a new meter, counted from 0 at the reading before */
        add(&s, T_2025_03_30_00_CET + i * 15 * MIN_MS, counter, false);
        counter += 100;
    }
    struct import_means m;
    char msg[256];
    assert_int_equal(import_means(&s, 18 * 3600000, &m, msg, sizeof msg), 0);
    assert_int_equal(m.count, 92);
    assert_int_equal(m.filled, 92);
    assert_int_equal(m.gap_count, 0);
    assert_int_equal(m.resets, 1);
    assert_int_equal(m.first_reset_line, 44 + 2);
    for (size_t k = 0; k < m.count; k++)
        assert_true(fabs(m.value_w[k] - 400) < 1e-9);
    assert_true(fabs(m.energy_wh - 9200) < 1e-6);
    import_means_free(&m);
    free(s.points);
}

/* Missing rows, an interval too long for a counter and Home Assistant's "unavailable"
 * leave gaps; nothing is interpolated. */
static void test_gaps_stay_gaps(void **state)
{
    (void)state;
    struct import_series c = {.source = "meter", .series = "home_w", .kind = IMPORT_COUNTER};
    for (int i = 0; i <= 8; i++)
        if (i != 4 && i != 5) /* two readings missing: 45 minutes between two */
            add(&c, T_2025_03_30_00_CET + i * 15 * MIN_MS, i * 100.0, false);
    struct import_means m;
    char msg[256];
    assert_int_equal(import_means(&c, 18 * 3600000, &m, msg, sizeof msg), 0);
    assert_int_equal(m.count, 8);
    assert_int_equal(m.filled, 5);
    assert_int_equal(m.gap_count, 1);
    assert_true(m.gaps[0].from_ms == T_2025_03_30_00_CET + 3 * 15 * MIN_MS);
    assert_true(m.gaps[0].to_ms == T_2025_03_30_00_CET + 6 * 15 * MIN_MS);
    import_means_free(&m);
    free(c.points);

    struct import_series ha = {.source = "sensor.house", .series = "home_w", .hold = true};
    add(&ha, T_2025_03_30_00_CET, 400, false);
    add(&ha, T_2025_03_30_00_CET + 60 * MIN_MS + 7000, 0, true); /* unavailable */
    add(&ha, T_2025_03_30_00_CET + 120 * MIN_MS, 300, false);
    add(&ha, T_2025_03_30_00_CET + 180 * MIN_MS, 300, false);
    assert_int_equal(import_means(&ha, 18 * 3600000, &m, msg, sizeof msg), 0);
    /* 00:00-01:00 at 400 W; 01:00-01:15 only partly covered; 01:15-02:00 unavailable. */
    assert_int_equal(m.filled, 4 + 4);
    assert_int_equal(m.gap_count, 1);
    assert_true(m.gaps[0].to_ms - m.gaps[0].from_ms == 60 * MIN_MS);
    import_means_free(&m);
    free(ha.points);
}

static void test_pv_at_night_and_flat_days(void **state)
{
    (void)state;
    double values[3 * 96];
    for (int d = 0; d < 3; d++)
        for (int k = 0; k < 96; k++) {
            int hour = k / 4;
            values[d * 96 + k] = d == 1 ? 197 : (hour >= 6 && hour < 18 ? 300 : 0);
        }
    /* 2025-06-01 00:00 local = 2025-05-31T22:00Z */
    struct import_means m = {
        .first_ms = INT64_C(1748728800000), .count = 3 * 96, .value_w = values};
    char dates[4][11];
    assert_int_equal(import_pv_suspect_days(&m, 5, dates, 4), 1);
    assert_string_equal(dates[0], "2025-06-02");
    for (int k = 0; k < 96; k++)
        values[96 + k] = (k / 4 >= 6 && k / 4 < 18) ? 300 : 0;
    assert_int_equal(import_pv_suspect_days(&m, 5, dates, 4), 0);
    values[2 * 96 + 4] = 100; /* 01:00 of the third day: a mean of 8 W over 00:00-03:00 */
    assert_int_equal(import_pv_suspect_days(&m, 5, dates, 4), 1);
    assert_string_equal(dates[0], "2025-06-03");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timestamps_with_and_without_zone),
        cmocka_unit_test(test_local_days_of_23_and_25_hours),
        cmocka_unit_test(test_numbers_and_fields),
        cmocka_unit_test(test_a_counter_that_resets),
        cmocka_unit_test(test_gaps_stay_gaps),
        cmocka_unit_test(test_pv_at_night_and_flat_days),
    };
    return cmocka_run_group_tests(tests, berlin, NULL);
}
