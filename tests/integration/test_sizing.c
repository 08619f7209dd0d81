/* `balkonsolard simulate --battery-wh A,B,C`, the sizing sweep, run as a user runs it: every
 * size's CSV rows are the rows of a single run with that size (to the printed digit), the
 * sizes differ where they should (a small battery saves less than a big one), the table
 * prints each size's saving and its payback from investment.battery_price, the sweep syntax
 * FROM:TO:STEP expands to its sizes, and malformed lists exit 2 naming the option. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char out[1 << 16], err[1 << 14];

static int run(const char *const args[])
{
    return harness_run_cli_output(args, out, sizeof out, err, sizeof err);
}

static const char *demo_config(void)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/config/demo.json", getenv("BALKON_SOURCE_DIR"));
    return path;
}

/* The data lines of a CSV (header dropped) whose last field, battery_wh, is size_wh, in
 * order, joined into rows. Returns how many. */
static size_t rows_for_size(const char *csv, double size_wh, char *rows, size_t rows_size)
{
    size_t n = 0;
    rows[0] = '\0';
    for (const char *p = strchr(csv, '\n'); p && p[1]; p = strchr(p + 1, '\n')) {
        const char *line = p + 1;
        size_t len = strcspn(line, "\n");
        const char *last = line + len;
        while (last > line && last[-1] != ',')
            last--;
        if (strtod(last, NULL) != size_wh)
            continue;
        size_t used = strlen(rows);
        assert_true(used + len + 2 < rows_size);
        memcpy(rows + used, line, len);
        rows[used + len] = '\n';
        rows[used + len + 1] = '\0';
        n++;
    }
    return n;
}

/* optimal's "saved" (the third field) in the rows of one size. */
static double optimal_saved(const char *rows)
{
    const char *row = strstr(rows, "optimal,");
    assert_non_null(row);
    const char *comma = strchr(row, ',');
    comma = strchr(comma + 1, ',');
    return strtod(comma + 1, NULL);
}

static void test_sweep_matches_single_runs(void **state)
{
    static const char *const sizes[] = {"0", "100", "2240"};
    static char sweep[1 << 16], rows[1 << 14], single_rows[1 << 14];
    const char *sweep_args[] = {"simulate",   "--config", demo_config(), "--days",
                                "2",          "--from",   "2025-05-02",  "--battery-wh",
                                "0,100,2240", "--csv",    NULL};
    int rc = run(sweep_args);
    if (rc != 0)
        fail_msg("exit %d: %s", rc, err);
    snprintf(sweep, sizeof sweep, "%s", out);
    /* One header, four strategies per size. */
    assert_int_equal(strncmp(sweep, "strategy,cost,saved,", 20), 0);
    assert_null(strstr(sweep + 1, "\nstrategy,"));

    double saved[3];
    for (size_t k = 0; k < 3; k++) {
        double size_wh = strtod(sizes[k], NULL);
        assert_int_equal(rows_for_size(sweep, size_wh, rows, sizeof rows), 4);
        const char *single_args[] = {"simulate", "--config", demo_config(), "--days",
                                     "2",        "--from",   "2025-05-02",  "--battery-wh",
                                     sizes[k],   "--csv",    NULL};
        assert_int_equal(run(single_args), 0);
        assert_int_equal(rows_for_size(out, size_wh, single_rows, sizeof single_rows), 4);
        if (strcmp(rows, single_rows) != 0)
            fail_msg("%s Wh: the sweep printed\n%sbut a single run\n%s", sizes[k], rows,
                     single_rows);
        saved[k] = optimal_saved(rows);
    }
    /* No battery saves nothing; a bigger battery saves more in sunny May days. */
    assert_true(fabs(saved[0]) < 1e-4);
    assert_true(saved[1] > 0.05);
    if (!(saved[2] > saved[1] + 0.02))
        fail_msg("2240 Wh saved %.4f, 100 Wh %.4f", saved[2], saved[1]);

    /* The table: a row per size with the savings of the single runs and a payback from the
     * demo's investment.battery_price (700 EUR for 2240 Wh: 312.50 EUR per kWh). */
    const char *table_args[] = {"simulate", "--config",   demo_config(),  "--days",     "2",
                                "--from",   "2025-05-02", "--battery-wh", "0,100,2240", NULL};
    assert_int_equal(run(table_args), 0);
    assert_non_null(strstr(out, "Sizing sweep of 2 days, 2025-05-02 to 2025-05-03"));
    assert_non_null(strstr(out, "battery at 312.50 EUR per kWh of capacity, on optimal's saving"));
    for (size_t k = 0; k < 3; k++) {
        char line[128];
        snprintf(line, sizeof line, "\n%10s ", sizes[k]);
        const char *row = strstr(out, line);
        if (!row)
            fail_msg("no row for %s Wh in\n%s", sizes[k], out);
        /* battery, self_consumption, optimal, perfect_foresight | per year, price, payback */
        double size_wh, self, optimal, best, per_year;
        assert_int_equal(
            sscanf(row, "%lf %lf %lf %lf | %lf", &size_wh, &self, &optimal, &best, &per_year), 5);
        assert_true(fabs(optimal - saved[k]) < 0.006);
        assert_true(fabs(per_year - saved[k] / 2 * 365) < 0.01 + 0.005 * 365 / 2);
        const char *bar = strchr(row, '|');
        double price;
        char payback[16];
        assert_int_equal(sscanf(bar + 1, "%lf %lf %15s", &per_year, &price, payback), 3);
        assert_true(fabs(price - 312.5 * size_wh / 1000) < 1);
        if (k == 0)
            assert_string_equal(payback, "-");
        else
            assert_true(fabs(atof(payback) - price / per_year) < 0.06);
    }
}

static void test_sweep_syntax(void **state)
{
    const char *args[] = {
        "simulate",   "--config",   demo_config(), "--days",           "1",
        "--from",     "2025-05-02", "--strategy",  "self_consumption", "--battery-wh",
        "0:1000:500", "--csv",      NULL};
    int rc = run(args);
    if (rc != 0)
        fail_msg("exit %d: %s", rc, err);
    char rows[4096];
    assert_int_equal(rows_for_size(out, 0, rows, sizeof rows), 2);
    assert_int_equal(rows_for_size(out, 500, rows, sizeof rows), 2);
    assert_int_equal(rows_for_size(out, 1000, rows, sizeof rows), 2);
    assert_int_equal(rows_for_size(out, 1500, rows, sizeof rows), 0);

    struct {
        const char *value;
        const char *named;
    } cases[] = {
        {"0,,1000", "--battery-wh: must be a number of Wh from 0 to 100000, got \"0,,1000\""},
        {"1000,", "--battery-wh"},
        {"0,200000", "--battery-wh"},
        {"1000:0:100", "--battery-wh: a sweep must be FROM:TO:STEP"},
        {"0:1000:0", "--battery-wh: a sweep must be FROM:TO:STEP"},
        {"0:1000", "--battery-wh: a sweep must be FROM:TO:STEP"},
        {"0:100000:100", "--battery-wh: a sweep may have at most 32 sizes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *bad[] = {"simulate",     "--config",     demo_config(),
                             "--battery-wh", cases[i].value, NULL};
        rc = run(bad);
        if (rc != 2 || !strstr(err, cases[i].named))
            fail_msg("--battery-wh %s: exit %d, stderr \"%s\" (wanted 2 and \"%s\")",
                     cases[i].value, rc, err, cases[i].named);
        assert_string_equal(out, "");
    }
    const char *bad_price[] = {"simulate",        "--config", demo_config(),
                               "--price-per-kwh", "-3",       NULL};
    assert_int_equal(run(bad_price), 2);
    assert_non_null(strstr(err, "--price-per-kwh: must be a number"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sweep_matches_single_runs),
        cmocka_unit_test(test_sweep_syntax),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
