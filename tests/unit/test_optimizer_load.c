/* Unit tests of the load forecast (src/optimizer/forecast_load.c, h0_shape.c,
 * load_accuracy.c): the standard profile and its year, recency weighting, blending with the
 * standard profile by how much history there is, day types, skipped samples, DST, and the
 * accuracy metrics. */
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

#define DAY_MS INT64_C(86400000)
#define WEEK_MS (7 * DAY_MS)
#define NOW_MS (INT64_C(1750000000000) / DAY_MS * DAY_MS) /* a midnight in June 2025 */

/* cmocka 1.1.5's assert_float_equal compares floats; these are doubles. */
#define assert_near(a, b, tol)                                                                     \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        if (!(fabs(a_ - b_) <= (tol))) {                                                           \
            print_error("%s = %.12g, expected %.12g (+- %g)\n", #a, a_, b_, (double)(tol));        \
            _fail(__FILE__, __LINE__);                                                             \
        }                                                                                          \
    } while (0)

static struct balkon_load_profile profile;

static struct balkon_load_profile_params params(void)
{
    struct balkon_load_profile_params p;
    balkon_load_profile_params_init(&p);
    p.now_ms = NOW_MS;
    return p;
}

static void test_defaults(void **state)
{
    struct balkon_load_profile_params p;
    balkon_load_profile_params_init(&p);
    assert_near(p.weekly_decay, 0.7, 0.0);
    assert_near(p.max_age_days, 56.0, 0.0);
    assert_near(p.full_history_weight, 2.0, 0.0);
    assert_near(p.annual_kwh, 3000.0, 0.0);
}

static void test_standard_profile(void **state)
{
    /* The table's first workday value (00:00-00:15) is 82.1 W per 1000 kWh. */
    assert_near(balkon_load_standard_w(3000.0, BALKON_DAY_WORKDAY, 0, 0), 246.3, 1e-9);
    assert_near(balkon_load_standard_w(3000.0, BALKON_DAY_WORKDAY, 14, 0), 246.3, 1e-9);
    /* The seasonal factor: F(1) = 1.2420..., F(180) = 0.7982... */
    assert_near(balkon_load_h0_factor(1), 1.242030119608, 1e-9);
    assert_near(balkon_load_h0_factor(180), 0.79825408, 1e-8);
    assert_near(balkon_load_h0_factor(0), 1.0, 0.0);
    assert_near(balkon_load_standard_w(1000.0, BALKON_DAY_WORKDAY, 0, 1), 82.1 * 1.242030119608,
                1e-9);
    /* Out of range: 0 W. */
    assert_near(balkon_load_standard_w(3000.0, BALKON_DAY_WORKDAY, 1440, 0), 0.0, 0.0);
    assert_near(balkon_load_standard_w(3000.0, (enum balkon_day_type)3, 0, 0), 0.0, 0.0);

    /* The evening peak is above the night minimum by a factor of three or more. */
    for (int d = 0; d < BALKON_DAY_TYPES; d++) {
        double night = balkon_load_standard_w(1000.0, d, 4 * 60, 0);
        double evening = balkon_load_standard_w(1000.0, d, 19 * 60 + 30, 0);
        assert_true(evening > 3.0 * night);
    }

    /* A year of it (2025: Wednesday 1 Jan, 52 Saturdays and 52 Sundays) is the annual
     * consumption within the factor's own 0.45 % and the rounding of the table. */
    double kwh = 0.0;
    for (int day = 0; day < 365; day++) {
        int weekday = (day + 2) % 7; /* 0 = Monday */
        enum balkon_day_type type = weekday == 5   ? BALKON_DAY_SATURDAY
                                    : weekday == 6 ? BALKON_DAY_SUNDAY
                                                   : BALKON_DAY_WORKDAY;
        for (int q = 0; q < 96; q++)
            kwh += balkon_load_standard_w(3000.0, type, q * 15, day + 1) * 0.25 / 1000.0;
    }
    assert_near(kwh, 3000.0, 3000.0 * 0.01);
}

static void test_no_history_is_the_standard_profile(void **state)
{
    struct balkon_load_profile_params p = params();
    assert_int_equal(balkon_load_profile_build(NULL, 0, &p, &profile), BALKON_OK);
    for (int d = 0; d < BALKON_DAY_TYPES; d++) {
        for (int m = 0; m < 1440; m += 15) {
            assert_near(balkon_load_history_share(&profile, d, m), 0.0, 0.0);
            assert_near(balkon_load_forecast_w(&profile, d, m, 100),
                        balkon_load_standard_w(3000.0, d, m, 100), 0.0);
        }
    }
}

static void test_recency_weighting_and_blend(void **state)
{
    /* Workday 08:00: 100 W a week ago (weight 0.7), 200 W today (weight 1). */
    struct balkon_load_sample samples[] = {
        {NOW_MS - WEEK_MS, 100.0, BALKON_DAY_WORKDAY, 480},
        {NOW_MS, 200.0, BALKON_DAY_WORKDAY, 480},
    };
    struct balkon_load_profile_params p = params();
    assert_int_equal(balkon_load_profile_build(samples, 2, &p, &profile), BALKON_OK);
    double history = (0.7 * 100.0 + 200.0) / 1.7;
    assert_near(profile.history_w[BALKON_DAY_WORKDAY][32], history, 1e-9);
    assert_near(profile.weight[BALKON_DAY_WORKDAY][32], 1.7, 1e-9);

    /* Weight 1.7 of 2 needed: 85 % history, 15 % standard profile. */
    assert_near(balkon_load_history_share(&profile, BALKON_DAY_WORKDAY, 485), 0.85, 1e-9);
    double standard = balkon_load_standard_w(3000.0, BALKON_DAY_WORKDAY, 480, 0);
    assert_near(balkon_load_forecast_w(&profile, BALKON_DAY_WORKDAY, 480, 0),
                0.85 * history + 0.15 * standard, 1e-9);
    /* Other quarter-hours and day types have no history. */
    assert_near(balkon_load_forecast_w(&profile, BALKON_DAY_WORKDAY, 495, 0),
                balkon_load_standard_w(3000.0, BALKON_DAY_WORKDAY, 495, 0), 0.0);
    assert_near(balkon_load_forecast_w(&profile, BALKON_DAY_SATURDAY, 480, 0),
                balkon_load_standard_w(3000.0, BALKON_DAY_SATURDAY, 480, 0), 0.0);

    /* Half a week of age weighs 0.7^0.5. */
    samples[0].ts_ms = NOW_MS - WEEK_MS / 2;
    assert_int_equal(balkon_load_profile_build(samples, 2, &p, &profile), BALKON_OK);
    assert_near(profile.weight[BALKON_DAY_WORKDAY][32], 1.0 + sqrt(0.7), 1e-9);
}

static void test_full_history_replaces_standard(void **state)
{
    /* Four Saturdays of a night owl (600 W at 02:00): the weights 1, 0.7, 0.49, 0.343
     * sum past 2, so the forecast is the history alone. */
    struct balkon_load_sample samples[4];
    for (int w = 0; w < 4; w++)
        samples[w] = (struct balkon_load_sample){NOW_MS - w * WEEK_MS, 600.0 - 10.0 * w,
                                                 BALKON_DAY_SATURDAY, 120};
    struct balkon_load_profile_params p = params();
    assert_int_equal(balkon_load_profile_build(samples, 4, &p, &profile), BALKON_OK);
    double weights = 1.0 + 0.7 + 0.49 + 0.343;
    double history = (600.0 + 0.7 * 590.0 + 0.49 * 580.0 + 0.343 * 570.0) / weights;
    assert_near(balkon_load_history_share(&profile, BALKON_DAY_SATURDAY, 120), 1.0, 0.0);
    assert_near(balkon_load_forecast_w(&profile, BALKON_DAY_SATURDAY, 125, 200), history, 1e-9);

    /* The same four samples three months later are too old (56 days) to count. */
    p.now_ms = NOW_MS + 13 * WEEK_MS;
    assert_int_equal(balkon_load_profile_build(samples, 4, &p, &profile), BALKON_OK);
    assert_near(balkon_load_history_share(&profile, BALKON_DAY_SATURDAY, 120), 0.0, 0.0);

    /* Five weeks later all four are still within 56 days but weigh 0.7^5 ... 0.7^8, 0.35
     * together: the standard profile is back to most of the blend. */
    p.now_ms = NOW_MS + 5 * WEEK_MS;
    assert_int_equal(balkon_load_profile_build(samples, 4, &p, &profile), BALKON_OK);
    assert_near(balkon_load_history_share(&profile, BALKON_DAY_SATURDAY, 120),
                (pow(0.7, 5) + pow(0.7, 6) + pow(0.7, 7) + pow(0.7, 8)) / 2.0, 1e-9);
}

static void test_skipped_samples_and_dst(void **state)
{
    struct balkon_load_sample samples[] = {
        {NOW_MS - DAY_MS, NAN, BALKON_DAY_SUNDAY, 600},        /* not a number */
        {NOW_MS - DAY_MS, -5.0, BALKON_DAY_SUNDAY, 600},       /* negative */
        {NOW_MS + DAY_MS, 999.0, BALKON_DAY_SUNDAY, 600},      /* from the future */
        {NOW_MS - 60 * DAY_MS, 999.0, BALKON_DAY_SUNDAY, 600}, /* too old */
        {NOW_MS - DAY_MS, 999.0, BALKON_DAY_SUNDAY, 1440},     /* no such minute */
        {NOW_MS - DAY_MS, 999.0, (enum balkon_day_type)7, 600},
        {NOW_MS, 300.0, BALKON_DAY_SUNDAY, 600},
        /* The repeated 02:00-03:00 of a 25-hour day: both count for 02:15. */
        {NOW_MS - 2 * 3600000, 100.0, BALKON_DAY_SUNDAY, 135},
        {NOW_MS - 1 * 3600000, 200.0, BALKON_DAY_SUNDAY, 135},
    };
    struct balkon_load_profile_params p = params();
    assert_int_equal(balkon_load_profile_build(samples, 9, &p, &profile), BALKON_OK);
    assert_near(profile.history_w[BALKON_DAY_SUNDAY][40], 300.0, 0.0);
    assert_near(profile.weight[BALKON_DAY_SUNDAY][40], 1.0, 0.0);
    double w1 = pow(0.7, 2.0 / 168.0), w2 = pow(0.7, 1.0 / 168.0);
    assert_near(profile.history_w[BALKON_DAY_SUNDAY][9], (w1 * 100.0 + w2 * 200.0) / (w1 + w2),
                1e-9);
    for (int q = 0; q < 96; q++) {
        if (q != 40 && q != 9)
            assert_near(profile.weight[BALKON_DAY_SUNDAY][q], 0.0, 0.0);
    }
}

static void test_invalid_params(void **state)
{
    struct balkon_load_profile_params p = params();
    p.weekly_decay = 0.0;
    assert_int_equal(balkon_load_profile_build(NULL, 0, &p, &profile), BALKON_E_INVAL);
    p = params();
    p.weekly_decay = 1.5;
    assert_int_equal(balkon_load_profile_build(NULL, 0, &p, &profile), BALKON_E_INVAL);
    p = params();
    p.full_history_weight = 0.0;
    assert_int_equal(balkon_load_profile_build(NULL, 0, &p, &profile), BALKON_E_INVAL);
    p = params();
    p.annual_kwh = NAN;
    assert_int_equal(balkon_load_profile_build(NULL, 0, &p, &profile), BALKON_E_INVAL);
    p = params();
    assert_int_equal(balkon_load_profile_build(NULL, 3, &p, &profile), BALKON_E_INVAL);
}

static void test_accuracy(void **state)
{
    const double forecast[] = {100.0, 200.0, 300.0, NAN};
    const double actual[] = {110.0, 180.0, 330.0, 50.0};
    struct balkon_load_accuracy a;
    assert_int_equal(balkon_load_accuracy(forecast, actual, 4, &a), BALKON_OK);
    /* Errors -10, +20, -30 over the three usable pairs. */
    assert_int_equal(a.count, 3);
    assert_near(a.mae_w, 20.0, 1e-12);
    assert_near(a.bias_w, -20.0 / 3.0, 1e-12);
    assert_near(a.rmse_w, sqrt(1400.0 / 3.0), 1e-12);
    assert_near(a.actual_mean_w, 620.0 / 3.0, 1e-12);

    const double none[] = {NAN};
    assert_int_equal(balkon_load_accuracy(none, actual, 1, &a), BALKON_E_INVAL);
    assert_int_equal(a.count, 0);
    assert_int_equal(balkon_load_accuracy(forecast, actual, 0, &a), BALKON_E_INVAL);
}

/* A household unlike H0 (night shift: 800 W from 22:00 to 06:00, 150 W otherwise, plus
 * noise) seen for three weeks: the forecast must learn it. */
static void test_history_beats_standard_profile(void **state)
{
    static struct balkon_load_sample samples[21 * 96];
    static double truth[96], forecast[96], standard[96];
    uint64_t rng = 99;
    size_t n = 0;
    for (int day = 21; day >= 1; day--) {
        for (int q = 0; q < 96; q++) {
            rng = rng * UINT64_C(6364136223846793005) + 1;
            double noise = ((double)(rng >> 11) / 9007199254740992.0 - 0.5) * 100.0;
            double base = q >= 88 || q < 24 ? 800.0 : 150.0;
            samples[n++] = (struct balkon_load_sample){NOW_MS - day * DAY_MS + q * 900000,
                                                       base + noise, BALKON_DAY_WORKDAY, q * 15};
        }
    }
    struct balkon_load_profile_params p = params();
    assert_int_equal(balkon_load_profile_build(samples, n, &p, &profile), BALKON_OK);
    for (int q = 0; q < 96; q++) {
        truth[q] = q >= 88 || q < 24 ? 800.0 : 150.0;
        forecast[q] = balkon_load_forecast_w(&profile, BALKON_DAY_WORKDAY, q * 15, 170);
        standard[q] = balkon_load_standard_w(3000.0, BALKON_DAY_WORKDAY, q * 15, 170);
    }
    struct balkon_load_accuracy learned, prior;
    assert_int_equal(balkon_load_accuracy(forecast, truth, 96, &learned), BALKON_OK);
    assert_int_equal(balkon_load_accuracy(standard, truth, 96, &prior), BALKON_OK);
    assert_true(learned.mae_w < 20.0);
    assert_true(prior.mae_w > 200.0);
    assert_near(learned.bias_w, 0.0, 10.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_standard_profile),
        cmocka_unit_test(test_no_history_is_the_standard_profile),
        cmocka_unit_test(test_recency_weighting_and_blend),
        cmocka_unit_test(test_full_history_replaces_standard),
        cmocka_unit_test(test_skipped_samples_and_dst),
        cmocka_unit_test(test_invalid_params),
        cmocka_unit_test(test_accuracy),
        cmocka_unit_test(test_history_beats_standard_profile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
