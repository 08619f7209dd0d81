/* `balkonsolard import` run as a user runs it, on the files in tests/fixtures/import/, and
 * `balkonsolard simulate --db` on the result: a meter portal's counter export around both
 * DST changes (a 23-hour and a 25-hour day, a meter replaced in between), Home
 * Assistant's history with an outage, SMARD (both layouts) and Energy-Charts day-ahead
 * prices; bad rows name file, line and column; a PV outage filled with a flat value is
 * refused with its dates; importing the same data twice is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char out[1 << 16], err[1 << 14];
static char dir[64], db[128], fixtures[512], config[600];

static const char *fixture(const char *name)
{
    static char paths[8][600];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", fixtures, name);
    return p;
}

static int run(const char *const args[])
{
    return harness_run_cli_output(args, out, sizeof out, err, sizeof err);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/balkon-import-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(db, sizeof db, "%s/balkon.db", dir);
    snprintf(fixtures, sizeof fixtures, "%s/import", getenv("BALKON_FIXTURES"));
    snprintf(config, sizeof config, "%s/config.json", fixtures);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char path[192];
    const char *names[] = {"balkon.db", "balkon.db-wal", "balkon.db-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    return 0;
}

/* A column of simulate's CSV in the no_battery row. */
static double csv_value(const char *name)
{
    char header[2048], row[2048];
    const char *nl = strchr(out, '\n');
    assert_non_null(nl);
    snprintf(header, sizeof header, "%.*s", (int)(nl - out), out);
    const char *r = strstr(out, "\nno_battery,");
    assert_non_null(r);
    r++;
    snprintf(row, sizeof row, "%.*s", (int)strcspn(r, "\n"), r);
    int want = -1, col = 0;
    for (char *save = NULL, *t = strtok_r(header, ",", &save); t;
         t = strtok_r(NULL, ",", &save), col++)
        if (strcmp(t, name) == 0)
            want = col;
    assert_true(want >= 0);
    col = 0;
    for (char *save = NULL, *t = strtok_r(row, ",", &save); t;
         t = strtok_r(NULL, ",", &save), col++)
        if (col == want)
            return strtod(t, NULL);
    fail_msg("no column %s", name);
    return NAN;
}

static void simulate_day(const char *day)
{
    const char *args[] = {"simulate",         "--config", config,   "--db", db,
                          "--from",           day,        "--days", "1",    "--strategy",
                          "self_consumption", "--csv",    NULL};
    int rc = run(args);
    if (rc != 0)
        fail_msg("simulate %s: exit %d: %s", day, rc, err);
}

static void assert_near(double got, double want, const char *what)
{
    if (fabs(got - want) > 1e-3)
        fail_msg("%s: %.4f, wanted %.4f\n%s", what, got, want, out);
}

static void test_meter_counters_and_prices_around_dst(void **state)
{
    (void)state;
    const char *meter[] = {"import",
                           "--config",
                           config,
                           "--db",
                           db,
                           "--format",
                           "generic",
                           "--map",
                           "Zählerstand Bezug=home_w:kWh-counter",
                           "--map",
                           "PV Leistung=pv_w:W",
                           fixture("generic/meter.csv"),
                           NULL};
    int rc = run(meter);
    if (rc != 0)
        fail_msg("exit %d: %s", rc, err);
    /* 3 + 3 days: 96 + 92 + 96 and 96 + 100 + 96 slots of 0.1 kWh each. */
    assert_non_null(strstr(out, "home_w from \"Zählerstand Bezug\": 576 of"));
    assert_non_null(strstr(out, "57.6 kWh, 1 counter reset (first on line 142)"));
    assert_non_null(strstr(out, "gap: no data from 2025-04-01 00:00 to 2025-10-25 00:00"));

    const char *smard[] = {"import",
                           "--config",
                           config,
                           "--db",
                           db,
                           "--format",
                           "smard",
                           "--add-per-kwh",
                           "0.2",
                           "--vat-pct",
                           "19",
                           fixture("smard/day_ahead_hourly_2025-03-30.csv"),
                           fixture("smard/day_ahead_2025-10-26.csv"),
                           NULL};
    rc = run(smard);
    if (rc != 0)
        fail_msg("exit %d: %s", rc, err);
    assert_non_null(
        strstr(out, "23 slots of 60 minutes from 2025-03-30 00:00 to 2025-03-31 00:00"));
    assert_non_null(
        strstr(out, "99 slots of 15 minutes from 2025-10-26 00:00 to 2025-10-27 00:00"));
    assert_non_null(strstr(out, "gap: no price from 2025-10-26 11:30 to 2025-10-26 11:45"));

    /* The 23-hour day: 92 slots, 400 W all day, 300 W of PV from 06:00 to 18:00, every
     * slot at (0.10 + 0.20) x 1.19 EUR/kWh, the hourly SMARD rows in all four quarters. */
    simulate_day("2025-03-30");
    assert_near(csv_value("slots"), 92, "slots on 2025-03-30");
    assert_near(csv_value("load_kwh"), 9.2, "load on 2025-03-30");
    assert_near(csv_value("pv_kwh"), 3.6, "PV on 2025-03-30");
    assert_near(csv_value("energy_cost"), 5.6 * 0.357, "cost on 2025-03-30");
    /* The 25-hour day: 100 slots; the quarter-hour without a price (11:30, 100 W from the
     * grid) takes the tariff's 0.30. */
    simulate_day("2025-10-26");
    assert_near(csv_value("slots"), 100, "slots on 2025-10-26");
    assert_near(csv_value("load_kwh"), 10.0, "load on 2025-10-26");
    assert_near(csv_value("energy_cost"), (6.4 - 0.025) * 0.357 + 0.025 * 0.30,
                "cost on 2025-10-26");

    /* The same data again would count twice: refused, nothing written. */
    rc = run(meter);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err, "already holds stored data"));
    simulate_day("2025-03-30");
    assert_near(csv_value("load_kwh"), 9.2, "load on 2025-03-30 after a refused import");
}

static void test_home_assistant_history_with_an_outage(void **state)
{
    (void)state;
    const char *ha[] = {"import",
                        "--config",
                        config,
                        "--db",
                        db,
                        "--format",
                        "ha",
                        "--map",
                        "sensor.house_power=home_w:W",
                        "--map",
                        "sensor.balkon_pv_power=pv_w:W",
                        fixture("ha/history.csv"),
                        NULL};
    int rc = run(ha);
    if (rc != 0)
        fail_msg("exit %d: %s", rc, err);
    assert_non_null(strstr(out, "26 rows of entities not named by --map ignored"));
    assert_non_null(strstr(out, "home_w from \"sensor.house_power\": 96 of 100 slots"));
    assert_non_null(
        strstr(out, "gap: no data from 2025-10-26 12:00 to 2025-10-26 13:00 (4 slots)"));
    simulate_day("2025-10-26");
    assert_near(csv_value("slots"), 96, "slots: the outage's hour is skipped");
    assert_near(csv_value("load_kwh"), 9.6, "load");
}

static void test_energy_charts_prices(void **state)
{
    (void)state;
    const char *ec[] = {"import",
                        "--config",
                        config,
                        "--db",
                        db,
                        "--format",
                        "energy-charts",
                        "--provider",
                        "spot",
                        fixture("energy_charts/day_ahead_2025-10-26.csv"),
                        NULL};
    int rc = run(ec);
    if (rc != 0)
        fail_msg("exit %d: %s", rc, err);
    assert_non_null(strstr(out, "25 slots of 60 minutes from 2025-10-26 00:00 to 2025-10-27 00:00, "
                                "market mean 0.1000 EUR/kWh"));
}

static void test_bad_rows_name_file_line_and_column(void **state)
{
    (void)state;
    static const struct {
        const char *format, *map, *file, *message;
    } cases[] = {
        {"generic", "PV Leistung=pv_w:W", "bad/number.csv",
         "bad/number.csv:4: column 3 \"PV Leistung\": expected a number (decimal comma), got "
         "\"abc\""},
        {"generic", "house=home_w:W", "bad/dst_gap.csv",
         "bad/dst_gap.csv:3: column 1 \"time\": 02:30 does not exist on 2025-03-30"},
        {"ha", "sensor.house_power=home_w:W", "bad/ha_time.csv",
         "bad/ha_time.csv:3: column 3 \"last_changed\": \"yesterday\" is not a timestamp"},
        {"generic", "nope=home_w:W", "bad/number.csv",
         "bad/number.csv:1: no column \"nope\" (--map) in the header"},
        {"generic", "house=home_w:MW", "bad/dst_gap.csv",
         "--map \"house=home_w:MW\": unit must be"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *args[] = {
            "import",   "--config",      config,  "--db",       db,
            "--format", cases[i].format, "--map", cases[i].map, fixture(cases[i].file),
            NULL};
        int rc = run(args);
        if (rc != 2 || !strstr(err, cases[i].message))
            fail_msg("%s: exit %d, stderr \"%s\" (wanted 2 and \"%s\")", cases[i].file, rc, err,
                     cases[i].message);
    }
    assert_int_equal(access(db, F_OK), -1); /* nothing was opened, let alone written */
}

static void test_flat_pv_at_night_is_refused_with_its_dates(void **state)
{
    (void)state;
    const char *args[] = {"import",    "--config", config,           "--db",
                          db,          "--format", "generic",        "--map",
                          "pv=pv_w:W", "--map",    "house=home_w:W", fixture("pv_night/flat.csv"),
                          NULL};
    assert_int_equal(run(args), 2);
    assert_non_null(strstr(err, "on 3 days: 2025-06-02, 2025-06-03, 2025-06-04"));
    assert_int_equal(access(db, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_meter_counters_and_prices_around_dst, setup, teardown),
        cmocka_unit_test_setup_teardown(test_home_assistant_history_with_an_outage, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_energy_charts_prices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_rows_name_file_line_and_column, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flat_pv_at_night_is_refused_with_its_dates, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
