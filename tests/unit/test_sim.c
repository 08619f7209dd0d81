/* Unit tests of the simulator's physics (src/sim): meter balance, connection cap,
 * battery bookkeeping, sun position, PV, household load, clouds, determinism, validation. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "balkon/error.h"
#include "balkon/sim.h"

#define MIN_MS INT64_C(60000)
#define HOUR_MS INT64_C(3600000)
#define DAY_MS INT64_C(86400000)

/* Days since 1970-01-01 of a Gregorian date (Hinnant's days_from_civil). */
static int64_t utc_ms(int year, int month, int day, int hour, int minute)
{
    year -= month <= 2;
    int64_t era = (year >= 0 ? year : year - 399) / 400;
    int64_t yoe = year - era * 400;
    int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return days * DAY_MS + hour * HOUR_MS + minute * MIN_MS;
}

/* 2 x 445 Wp, south, 35 degrees, in Berlin, with an 800 W inverter and a 2 kWh battery. */
static struct sim_params berlin(void)
{
    struct sim_params p = {
        .latitude_deg = 52.52,
        .longitude_deg = 13.40,
        .planes = {{35.0, 0.0, 445.0}, {35.0, 0.0, 445.0}},
        .plane_count = 2,
        .inverter_ac_limit_w = 800.0,
        .inverter_efficiency = 0.96,
        .system_loss_fraction = 0.10,
        .battery_capacity_wh = 2000.0,
        .battery_max_charge_w = 800.0,
        .battery_max_discharge_w = 800.0,
        .battery_charge_efficiency = 0.95,
        .battery_discharge_efficiency = 0.90,
        .battery_soc_min_pct = 10.0,
        .battery_soc_max_pct = 100.0,
        .battery_initial_soc_pct = 50.0,
        .battery_coupling = SIM_COUPLING_AC,
        .annual_load_kwh = 3000.0,
        .cloudiness = 0.45,
        .seed = 42,
    };
    return p;
}

static struct sim_world *new_world(const struct sim_params *p, int64_t start_ms)
{
    struct sim_world *w = sim_world_new(p, start_ms);
    assert_non_null(w);
    return w;
}

/* --- meter balance and battery bookkeeping --- */

/* Steps a week and checks at every step that the meter balances, that powers have their
 * signs, and that the stored energy moved exactly as the battery flow and efficiencies say. */
static void run_balance_week(struct sim_params p, int64_t step_ms)
{
    int64_t start = utc_ms(2024, 6, 17, 0, 0);
    struct sim_world *w = new_world(&p, start);
    struct sim_snapshot s;
    double energy_wh = p.battery_capacity_wh * p.battery_initial_soc_pct / 100.0;
    double k = p.battery_coupling == SIM_COUPLING_DC ? p.inverter_efficiency : 1.0;
    double min_wh = p.battery_capacity_wh * p.battery_soc_min_pct / 100.0;
    double max_wh = p.battery_capacity_wh * p.battery_soc_max_pct / 100.0;
    int charging_steps = 0, discharging_steps = 0, at_bound = 0;
    for (int64_t t = start + step_ms; t <= start + 7 * DAY_MS; t += step_ms) {
        sim_world_step(w, t, &s);
        assert_true(fabs(s.home_w - (s.pv_w + s.battery_w + s.grid_w)) <= 1e-6);
        assert_true(s.home_w >= 0.0);
        assert_true(s.pv_w >= 0.0);
        /* AUTO charges from PV surplus only, even while its lag trails a passing cloud. */
        assert_true(s.battery_w >= -s.pv_w - 1e-9);
        double dt_h = (double)step_ms / HOUR_MS;
        double expect_wh = s.battery_w > 0.0
                               ? energy_wh - s.battery_w / k * dt_h / p.battery_discharge_efficiency
                               : energy_wh - s.battery_w / k * dt_h * p.battery_charge_efficiency;
        /* No clamping here: the power limits alone must keep the cells within bounds. */
        assert_true(fabs(s.battery_energy_wh - expect_wh) < 1e-9);
        at_bound += s.battery_energy_wh < min_wh + 1e-6 || s.battery_energy_wh > max_wh - 1e-6;
        energy_wh = s.battery_energy_wh;
        charging_steps += s.battery_w < -1.0;
        discharging_steps += s.battery_w > 1.0;
    }
    /* The week must have exercised both directions, or the bookkeeping check proved little. */
    assert_true(charging_steps > 1000);
    assert_true(discharging_steps > 1000);
    assert_true(at_bound > 1000); /* the bounds were reached, so their limits were tested */
    sim_world_free(w);
}

static void test_balance_week_1s_ac(void **state)
{
    (void)state;
    run_balance_week(berlin(), 1000);
}

static void test_balance_week_5s_dc(void **state)
{
    (void)state;
    struct sim_params p = berlin();
    p.battery_coupling = SIM_COUPLING_DC;
    run_balance_week(p, 5000);
}

/* --- the 800 W connection cap --- */

static struct sim_params big_array(enum sim_coupling coupling)
{
    struct sim_params p = berlin();
    p.plane_count = 4;
    for (int i = 0; i < 4; i++)
        p.planes[i] = (struct sim_plane){30.0, i % 2 ? 30.0 : -30.0, 500.0};
    p.battery_capacity_wh = 5000.0;
    p.battery_initial_soc_pct = 60.0;
    p.battery_coupling = coupling;
    p.cloudiness = 0.2;
    return p;
}

static void test_ac_cap_large_pv(void **state)
{
    (void)state;
    struct sim_params p = big_array(SIM_COUPLING_AC);
    int64_t start = utc_ms(2024, 6, 10, 0, 0);
    struct sim_world *w = new_world(&p, start);
    struct sim_snapshot s;
    int capped = 0, shared = 0;
    for (int64_t t = start + 10000; t <= start + 4 * DAY_MS; t += 10000) {
        /* Ask for full discharge one hour in three (recharging from the grid otherwise): the
         * cap, not the request, must limit it. */
        int discharge = (t / HOUR_MS) % 3 == 0;
        sim_world_set_battery_mode(w, SIM_BATTERY_SETPOINT, discharge ? 800.0 : -800.0);
        sim_world_step(w, t, &s);
        assert_true(s.pv_w + fmax(s.battery_w, 0.0) <= p.inverter_ac_limit_w + 1e-9);
        capped += s.pv_w > p.inverter_ac_limit_w - 1e-6;
        shared += s.pv_w > 100.0 && s.battery_w > 100.0;
    }
    assert_true(capped > 0);
    assert_true(shared > 0);
    sim_world_free(w);
}

static void test_dc_cap_and_clipped_storage(void **state)
{
    (void)state;
    struct sim_params p = big_array(SIM_COUPLING_DC);
    p.battery_initial_soc_pct = 10.0;
    p.battery_capacity_wh = 20000.0; /* never full within the test */
    struct sim_params none = p;
    none.battery_capacity_wh = 0.0;
    int64_t start = utc_ms(2024, 6, 10, 0, 0);
    struct sim_world *w = new_world(&p, start);
    struct sim_world *w0 = new_world(&none, start);
    struct sim_snapshot s, s0;
    double clipped_wh = 0.0, clipped_none_wh = 0.0, stored_at_cap_wh = 0.0;
    for (int64_t t = start + 10000; t <= start + 3 * DAY_MS; t += 10000) {
        /* Command 0 W by day and full discharge at night: storing is the battery's own idea. */
        double elev = 0.0, az = 0.0;
        sim_sun_position(t, p.latitude_deg, p.longitude_deg, &elev, &az);
        sim_world_set_battery_mode(w, SIM_BATTERY_SETPOINT, elev > 0.0 ? 0.0 : 800.0);
        sim_world_step(w, t, &s);
        sim_world_step(w0, t, &s0);
        assert_true(s.pv_w + s.battery_w <= p.inverter_ac_limit_w + 1e-9);
        assert_true(s0.pv_w <= p.inverter_ac_limit_w + 1e-9);
        clipped_wh += s.pv_clipped_w * 10.0 / 3600.0;
        clipped_none_wh += s0.pv_clipped_w * 10.0 / 3600.0;
        if (s0.pv_clipped_w > 0.0 && s.battery_w < 0.0)
            stored_at_cap_wh += -s.battery_w * 10.0 / 3600.0;
    }
    assert_true(clipped_none_wh > 500.0); /* the array really clips */
    assert_true(clipped_wh < 0.01 * clipped_none_wh);
    assert_true(stored_at_cap_wh > 0.8 * clipped_none_wh * p.inverter_efficiency);
    sim_world_free(w);
    sim_world_free(w0);
}

/* --- battery --- */

static void test_soc_stays_within_bounds(void **state)
{
    (void)state;
    struct sim_params p = berlin();
    p.battery_capacity_wh = 500.0;
    p.battery_soc_min_pct = 20.0;
    p.battery_soc_max_pct = 90.0;
    p.battery_initial_soc_pct = 50.0;
    for (int coupling = 0; coupling <= 1; coupling++) {
        p.battery_coupling = (enum sim_coupling)coupling;
        int64_t start = utc_ms(2024, 5, 1, 0, 0);
        struct sim_world *w = new_world(&p, start);
        struct sim_snapshot s;
        int at_min = 0, at_max = 0;
        for (int64_t t = start + 1000; t <= start + 3 * DAY_MS; t += 1000) {
            /* Alternate hard charge and discharge every 90 minutes, and AUTO in between. */
            int64_t phase = ((t - start) / (90 * MIN_MS)) % 3;
            if (phase == 2)
                sim_world_set_battery_mode(w, SIM_BATTERY_AUTO, 0.0);
            else
                sim_world_set_battery_mode(w, SIM_BATTERY_SETPOINT, phase ? 800.0 : -800.0);
            sim_world_step(w, t, &s);
            assert_true(s.soc_pct >= p.battery_soc_min_pct - 1e-9);
            assert_true(s.soc_pct <= p.battery_soc_max_pct + 1e-9);
            at_min += s.soc_pct < p.battery_soc_min_pct + 1e-6;
            at_max += s.soc_pct > p.battery_soc_max_pct - 1e-6;
        }
        assert_true(at_min > 0);
        assert_true(at_max > 0);
        sim_world_free(w);
    }
}

static void test_round_trip_efficiency(void **state)
{
    (void)state;
    struct sim_params p = berlin();
    p.battery_soc_min_pct = 5.0;
    p.battery_initial_soc_pct = 5.0;
    p.battery_charge_efficiency = 0.95;
    p.battery_discharge_efficiency = 0.90;
    int64_t start = utc_ms(2024, 1, 10, 20, 0); /* night: no PV to share the cap with */
    struct sim_world *w = new_world(&p, start);
    struct sim_snapshot s;
    double in_wh = 0.0, out_wh = 0.0;
    int64_t t = start;
    sim_world_set_battery_mode(w, SIM_BATTERY_SETPOINT, -470.0);
    for (int i = 0; i < 3600; i++) {
        t += 1000;
        sim_world_step(w, t, &s);
        in_wh += -s.battery_w / 3600.0;
    }
    assert_true(fabs(in_wh - 470.0) < 1e-6);
    assert_true(fabs(s.battery_energy_wh - (100.0 + in_wh * 0.95)) < 1e-6);
    /* 530 W does not divide the stored energy evenly: the last second must be cut short. */
    sim_world_set_battery_mode(w, SIM_BATTERY_SETPOINT, 530.0);
    for (int i = 0; i < 3 * 3600 && s.soc_pct > p.battery_soc_min_pct + 1e-9; i++) {
        t += 1000;
        sim_world_step(w, t, &s);
        out_wh += s.battery_w / 3600.0;
    }
    assert_true(fabs(out_wh - in_wh * 0.95 * 0.90) < 1e-6);
    sim_world_free(w);
}

static void test_no_battery_no_flow(void **state)
{
    (void)state;
    struct sim_params p = berlin();
    p.battery_capacity_wh = 0.0;
    int64_t start = utc_ms(2024, 6, 20, 0, 0);
    struct sim_world *w = new_world(&p, start);
    struct sim_snapshot s;
    const double commands[] = {-800.0, 800.0, 0.0};
    for (int64_t t = start + 30000; t <= start + DAY_MS; t += 30000) {
        int64_t i = (t / HOUR_MS) % 4;
        if (i == 3)
            sim_world_set_battery_mode(w, SIM_BATTERY_AUTO, 0.0);
        else
            sim_world_set_battery_mode(w, SIM_BATTERY_SETPOINT, commands[i]);
        sim_world_step(w, t, &s);
        assert_true(s.battery_w == 0.0);
        assert_true(s.soc_pct == 0.0);
        assert_true(fabs(s.grid_w - (s.home_w - s.pv_w)) <= 1e-9);
    }
    sim_world_free(w);
}

static void test_auto_mode_follows_net_demand(void **state)
{
    (void)state;
    struct sim_params p = berlin();
    p.battery_initial_soc_pct = 100.0;
    int64_t start = utc_ms(2024, 1, 10, 18, 0); /* winter evening: load, no PV */
    struct sim_world *w = new_world(&p, start);
    struct sim_snapshot s;
    double lag_error_wh = 0.0, home_wh = 0.0;
    for (int i = 1; i <= 3600; i++) {
        sim_world_step(w, start + i * 1000, &s);
        assert_true(s.battery_w >= 0.0); /* AUTO never charges from the grid */
        /* Ideal: the battery covers everything up to the connection's 800 W. */
        double ideal_grid_w = fmax(s.home_w - p.inverter_ac_limit_w, 0.0);
        if (i > 60) {
            lag_error_wh += fabs(s.grid_w - ideal_grid_w) / 3600.0;
            home_wh += s.home_w / 3600.0;
        }
    }
    /* A 3 s lag leaves a little of the load's jumps on the meter, no more. */
    assert_true(home_wh > 100.0);
    assert_true(lag_error_wh < 0.02 * home_wh);
    assert_true(lag_error_wh > 0.0); /* and it is a lag, not a perfect follower */
    sim_world_free(w);
}

/* Switching to AUTO, the battery's output rises towards the household's demand as a
 * first-order lag with a 3 s time constant: replay the exact dynamics from the snapshots. */
static void test_auto_mode_lag_response(void **state)
{
    (void)state;
    struct sim_params p = berlin();
    p.battery_initial_soc_pct = 100.0;
    int64_t start = utc_ms(2024, 1, 10, 19, 0); /* night */
    struct sim_world *w = new_world(&p, start);
    struct sim_snapshot s;
    sim_world_set_battery_mode(w, SIM_BATTERY_SETPOINT, 0.0);
    sim_world_step(w, start + MIN_MS, &s);
    assert_true(s.battery_w == 0.0);
    sim_world_set_battery_mode(w, SIM_BATTERY_AUTO, 0.0);
    double y_w = 0.0, tau_s = 3.0, decay = exp(-1.0 / tau_s);
    for (int i = 1; i <= 120; i++) {
        sim_world_step(w, start + MIN_MS + i * 1000, &s);
        double target_w = s.home_w; /* no PV at night */
        double mean_w = target_w + (y_w - target_w) * tau_s * (1.0 - decay);
        double end_w = target_w + (y_w - target_w) * decay;
        mean_w = fmin(mean_w, p.inverter_ac_limit_w);
        y_w = fmin(end_w, p.inverter_ac_limit_w);
        assert_true(fabs(s.battery_w - mean_w) < 1e-6);
        if (i == 1)
            assert_true(s.battery_w > 0.1 * s.home_w && s.battery_w < 0.2 * s.home_w);
    }
    sim_world_free(w);
}

/* --- sun and PV --- */

static void test_sun_position_berlin(void **state)
{
    (void)state;
    double elev, az;
    sim_sun_position(utc_ms(2024, 6, 21, 11, 8), 52.52, 13.40, &elev, &az);
    assert_true(fabs(elev - 60.9) < 0.1);
    assert_true(fabs(az) < 3.0);
    sim_sun_position(utc_ms(2024, 12, 21, 11, 0), 52.52, 13.40, &elev, &az);
    assert_true(fabs(elev - 14.05) < 0.15); /* 90 - 52.52 - 23.44 at the winter solstice */
    sim_sun_position(utc_ms(2024, 6, 21, 6, 0), 52.52, 13.40, &elev, &az);
    assert_true(az < -60.0 && az > -120.0); /* morning sun in the east */
    sim_sun_position(utc_ms(2024, 6, 21, 2, 0), -33.87, 151.21, &elev, &az);
    assert_true(fabs(fabs(az) - 180.0) < 5.0); /* Sydney's noon sun stands in the north */

    /* Sunrise (geometric elevation -0.833 deg): Berlin 2024-06-21 04:43 CEST = 02:43 UTC,
     * Berlin 2024-12-21 08:15 CET = 07:15 UTC (almanac values, to the minute). */
    const struct {
        int64_t day_ms, expect_ms;
    } rises[] = {
        {utc_ms(2024, 6, 21, 0, 0), utc_ms(2024, 6, 21, 2, 43)},
        {utc_ms(2024, 12, 21, 0, 0), utc_ms(2024, 12, 21, 7, 15)},
    };
    for (size_t i = 0; i < sizeof rises / sizeof rises[0]; i++) {
        int64_t rise_ms = -1;
        for (int64_t t = rises[i].day_ms; t < rises[i].day_ms + 12 * HOUR_MS; t += 1000) {
            sim_sun_position(t, 52.52, 13.40, &elev, &az);
            if (elev >= -0.833) {
                rise_ms = t;
                break;
            }
        }
        assert_true(llabs(rise_ms - rises[i].expect_ms) <= 60 * 1000);
    }
}

static void test_pv_night_noon_and_peak(void **state)
{
    (void)state;
    struct sim_params p = berlin();
    p.battery_capacity_wh = 0.0;
    p.cloudiness = 0.0;
    int64_t night = utc_ms(2024, 6, 20, 22, 0);
    struct sim_world *w = new_world(&p, night);
    struct sim_snapshot s;
    sim_world_step(w, night + MIN_MS, &s);
    assert_true(s.pv_w == 0.0 && s.pv_dc_w == 0.0 && s.poa_w_per_m2 == 0.0);
    sim_world_step(w, utc_ms(2024, 6, 21, 11, 7), &s);
    sim_world_step(w, utc_ms(2024, 6, 21, 11, 8), &s);
    /* ~1000 W/m2 on the modules: ~890 Wp less heat, system and inverter losses. */
    assert_true(s.poa_w_per_m2 > 900.0 && s.poa_w_per_m2 < 1100.0);
    assert_true(s.pv_w > 600.0 && s.pv_w < 800.0);
    sim_world_free(w);

    /* Over a cloudy year PV never exceeds the modules' summed peak (the cap lifted so that
     * it cannot hide an excess). */
    p.cloudiness = 0.5;
    p.inverter_ac_limit_w = 10000.0;
    int64_t start = utc_ms(2024, 1, 1, 0, 0);
    w = new_world(&p, start);
    double max_w = 0.0;
    for (int64_t t = start + MIN_MS; t <= start + 366 * DAY_MS; t += MIN_MS) {
        sim_world_step(w, t, &s);
        assert_true(s.pv_dc_w <= 890.0 && s.pv_w <= 890.0);
        if (s.sun_elevation_deg < -1.0)
            assert_true(s.pv_w == 0.0);
        max_w = fmax(max_w, s.pv_w);
    }
    assert_true(max_w > 650.0);
    sim_world_free(w);
}

static void test_east_morning_west_afternoon(void **state)
{
    (void)state;
    struct sim_params east = berlin(), west = berlin();
    east.plane_count = west.plane_count = 1;
    east.planes[0] = (struct sim_plane){35.0, -90.0, 445.0};
    west.planes[0] = (struct sim_plane){35.0, 90.0, 445.0};
    east.cloudiness = west.cloudiness = 0.0;
    east.battery_capacity_wh = west.battery_capacity_wh = 0.0;
    int64_t start = utc_ms(2024, 6, 21, 0, 0);
    struct sim_world *we = new_world(&east, start), *ww = new_world(&west, start);
    struct sim_snapshot se, sw;
    double east_am = 0.0, west_am = 0.0, east_pm = 0.0, west_pm = 0.0;
    for (int64_t t = start + MIN_MS; t <= start + DAY_MS; t += MIN_MS) {
        sim_world_step(we, t, &se);
        sim_world_step(ww, t, &sw);
        if (t < utc_ms(2024, 6, 21, 11, 8)) {
            east_am += se.pv_w;
            west_am += sw.pv_w;
        } else {
            east_pm += se.pv_w;
            west_pm += sw.pv_w;
        }
    }
    assert_true(east_am > 1.5 * west_am);
    assert_true(west_pm > 1.5 * east_pm);
    sim_world_free(we);
    sim_world_free(ww);
}

/* --- household --- */

static double dynamic_factor(int day_of_year)
{
    double t = day_of_year;
    return -3.92e-10 * pow(t, 4) + 3.2e-7 * pow(t, 3) - 7.02e-5 * t * t + 2.1e-3 * t + 1.24;
}

static void test_h0_profile_shape(void **state)
{
    (void)state;
    /* Wed 17 Jan 2024 (a winter workday), local time = CET = UTC+1. */
    double night = sim_h0_power_w_per_mwh(utc_ms(2024, 1, 17, 2, 0));    /* 03:00 */
    double evening = sim_h0_power_w_per_mwh(utc_ms(2024, 1, 17, 18, 0)); /* 19:00 */
    assert_true(night > 40.0 && night < 80.0);
    assert_true(evening > 2.0 * night);
    /* Christmas Day (a Wednesday) is a Sunday; the 22nd is a real one. Same season, so only
     * the dynamisation factor differs. */
    double xmas = sim_h0_power_w_per_mwh(utc_ms(2024, 12, 25, 11, 0));
    double sunday = sim_h0_power_w_per_mwh(utc_ms(2024, 12, 22, 11, 0));
    double workday = sim_h0_power_w_per_mwh(utc_ms(2024, 12, 18, 11, 0));
    assert_true(fabs(xmas / dynamic_factor(360) - sunday / dynamic_factor(357)) < 1e-9);
    assert_true(fabs(workday / dynamic_factor(353) - sunday / dynamic_factor(357)) > 10.0);
    /* The quarter-hour is local: 19:00 CET is 18:00 UTC in winter, 19:00 CEST is 17:00 UTC in
     * summer; the same local quarter-hour of neighbouring summer workdays differs by F only. */
    double jul10 = sim_h0_power_w_per_mwh(utc_ms(2024, 7, 10, 17, 0));
    double jul11 = sim_h0_power_w_per_mwh(utc_ms(2024, 7, 11, 17, 0));
    assert_true(fabs(jul10 / dynamic_factor(192) - jul11 / dynamic_factor(193)) < 1e-9);
}

static void test_winter_evening_load_above_night(void **state)
{
    (void)state;
    struct sim_params p = berlin();
    p.battery_capacity_wh = 0.0;
    int64_t start = utc_ms(2024, 1, 15, 0, 0); /* Monday */
    struct sim_world *w = new_world(&p, start);
    struct sim_snapshot s;
    double night_wh = 0.0, evening_wh = 0.0;
    for (int64_t t = start + MIN_MS; t <= start + 5 * DAY_MS; t += MIN_MS) {
        sim_world_step(w, t, &s);
        int64_t hour_utc = ((t - MIN_MS) % DAY_MS) / HOUR_MS;
        if (hour_utc >= 1 && hour_utc < 4) /* 02-05 CET */
            night_wh += s.home_w / 60.0;
        if (hour_utc >= 17 && hour_utc < 20) /* 18-21 CET */
            evening_wh += s.home_w / 60.0;
    }
    assert_true(evening_wh > 1.8 * night_wh);
    sim_world_free(w);
}

static void run_year_load(double annual_kwh, uint64_t seed, double cloudiness)
{
    struct sim_params p = berlin();
    p.annual_load_kwh = annual_kwh;
    p.seed = seed;
    p.cloudiness = cloudiness;
    int64_t start = utc_ms(2025, 1, 1, 0, 0);
    struct sim_world *w = new_world(&p, start);
    struct sim_snapshot s;
    double home_kwh = 0.0, cover_sum = 0.0;
    int steps = 0;
    for (int64_t t = start + 15 * MIN_MS; t <= start + 365 * DAY_MS; t += 15 * MIN_MS) {
        sim_world_step(w, t, &s);
        home_kwh += s.home_w * 0.25 / 1000.0;
        cover_sum += s.cloud_cover;
        steps++;
    }
    assert_true(fabs(home_kwh - annual_kwh) < 0.10 * annual_kwh);
    /* The year's mean cloud cover is the configured cloudiness. */
    assert_true(fabs(cover_sum / steps - cloudiness) < 0.06);
    sim_world_free(w);
}

static void test_year_load_energy(void **state)
{
    (void)state;
    run_year_load(3000.0, 1, 0.45);
    run_year_load(1500.0, 2, 0.7);
    run_year_load(6000.0, 3, 0.2);
}

/* --- determinism, validation, reconfiguration --- */

static void trace(uint64_t seed, struct sim_snapshot *out, int n)
{
    struct sim_params p = berlin();
    p.seed = seed;
    int64_t start = utc_ms(2024, 4, 1, 0, 0);
    struct sim_world *w = new_world(&p, start);
    for (int i = 0; i < n; i++)
        sim_world_step(w, start + (i + 1) * 10000, &out[i]);
    sim_world_free(w);
}

static int traces_equal(const struct sim_snapshot *a, const struct sim_snapshot *b, int n)
{
    for (int i = 0; i < n; i++) {
        if (a[i].ts_ms != b[i].ts_ms || a[i].pv_w != b[i].pv_w || a[i].home_w != b[i].home_w ||
            a[i].battery_w != b[i].battery_w || a[i].grid_w != b[i].grid_w ||
            a[i].soc_pct != b[i].soc_pct || a[i].cloud_cover != b[i].cloud_cover ||
            a[i].air_temp_c != b[i].air_temp_c)
            return 0;
    }
    return 1;
}

static void test_determinism(void **state)
{
    (void)state;
    enum { N = 8640 }; /* a day at 10 s */
    struct sim_snapshot *a = calloc(N, sizeof *a), *b = calloc(N, sizeof *b),
                        *c = calloc(N, sizeof *c);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    trace(7, a, N);
    trace(7, b, N);
    trace(8, c, N);
    assert_true(traces_equal(a, b, N));
    assert_false(traces_equal(a, c, N));
    free(a);
    free(b);
    free(c);
}

static void expect_invalid(struct sim_params p, const char *expect_msg)
{
    char msg[160] = "";
    assert_int_equal(sim_params_validate(&p, msg, sizeof msg), BALKON_E_INVAL);
    assert_string_equal(msg, expect_msg);
    assert_null(sim_world_new(&p, 0));
}

static void test_validation_messages(void **state)
{
    (void)state;
    struct sim_params p = berlin();
    char msg[160] = "";
    assert_int_equal(sim_params_validate(&p, msg, sizeof msg), 0);

    p = berlin();
    p.battery_charge_efficiency = 1.5;
    expect_invalid(p, "battery_charge_efficiency: must be in (0, 1], got 1.5");
    p = berlin();
    p.inverter_efficiency = 0.0;
    expect_invalid(p, "inverter_efficiency: must be in (0, 1], got 0");
    p = berlin();
    p.latitude_deg = 91.0;
    expect_invalid(p, "latitude_deg: must be in [-90, 90], got 91");
    p = berlin();
    p.longitude_deg = NAN;
    expect_invalid(p, "longitude_deg: must be a finite number, got nan");
    p = berlin();
    p.planes[1].tilt_deg = 95.0;
    expect_invalid(p, "planes[1].tilt_deg: must be in [0, 90], got 95");
    p = berlin();
    p.planes[0].azimuth_deg = -200.0;
    expect_invalid(p, "planes[0].azimuth_deg: must be in [-180, 180], got -200");
    p = berlin();
    /* No planes is a site without modules: valid, and it produces nothing. */
    p.plane_count = 0;
    assert_int_equal(sim_params_validate(&p, msg, sizeof msg), 0);
    /* 2026-06-21 12:00 Berlin (10:00 UTC): noon at midsummer. */
    const int64_t noon_ms = 1782036000000LL;
    struct sim_world *bare = sim_world_new(&p, noon_ms - 3600 * 1000);
    assert_non_null(bare);
    struct sim_snapshot snap;
    sim_world_step(bare, noon_ms, &snap);
    assert_true(snap.pv_w == 0.0 && snap.home_w > 0.0);
    sim_world_free(bare);
    p = berlin();
    p.plane_count = 9;
    expect_invalid(p, "plane_count: must be in [0, 8], got 9");
    p = berlin();
    p.system_loss_fraction = 1.0;
    expect_invalid(p, "system_loss_fraction: must be in [0, 1), got 1");
    p = berlin();
    p.cloudiness = -0.1;
    expect_invalid(p, "cloudiness: must be in [0, 1], got -0.1");
    p = berlin();
    p.battery_soc_min_pct = 80.0;
    p.battery_soc_max_pct = 80.0;
    p.battery_initial_soc_pct = 80.0;
    expect_invalid(p, "battery_soc_min_pct: must be below battery_soc_max_pct (80), got 80");
    p = berlin();
    p.battery_initial_soc_pct = 5.0;
    expect_invalid(p, "battery_initial_soc_pct: must be within battery_soc_min_pct.."
                      "battery_soc_max_pct [10, 100], got 5");
    p = berlin();
    p.battery_coupling = (enum sim_coupling)7;
    expect_invalid(p, "battery_coupling: must be 0 (AC) or 1 (DC), got 7");
    p = berlin();
    p.annual_load_kwh = INFINITY;
    expect_invalid(p, "annual_load_kwh: must be a finite number, got inf");
    /* Planes beyond plane_count are not looked at. */
    p = berlin();
    p.plane_count = 1;
    p.planes[1].tilt_deg = NAN;
    assert_int_equal(sim_params_validate(&p, NULL, 0), 0);
}

static void test_reconfigure_keeps_soc_percent(void **state)
{
    (void)state;
    struct sim_params p = berlin();
    p.battery_initial_soc_pct = 60.0;
    int64_t start = utc_ms(2024, 3, 1, 20, 0);
    struct sim_world *w = new_world(&p, start);
    struct sim_snapshot s;
    sim_world_set_battery_mode(w, SIM_BATTERY_SETPOINT, 400.0);
    sim_world_step(w, start + 10 * MIN_MS, &s);
    double soc_before = s.soc_pct;
    assert_true(soc_before < 60.0 - 1.0);

    struct sim_params bigger = p;
    bigger.battery_capacity_wh = 4000.0;
    bigger.cloudiness = 0.8;
    assert_int_equal(sim_world_reconfigure(w, &bigger), 0);
    sim_world_step(w, start + 10 * MIN_MS, &s); /* same time: nothing moves */
    assert_true(fabs(s.soc_pct - soc_before) < 1e-9);
    assert_true(fabs(s.battery_energy_wh - 40.0 * soc_before) < 1e-6);

    struct sim_params bad = bigger;
    bad.battery_capacity_wh = -1.0;
    assert_int_equal(sim_world_reconfigure(w, &bad), BALKON_E_INVAL);
    /* The old (bigger) params stay: discharging 400 W for 6 min at 0.9 draws 44.4 Wh. */
    sim_world_step(w, start + 16 * MIN_MS, &s);
    assert_true(fabs(s.battery_w - 400.0) < 1e-9);
    assert_true(fabs(s.battery_energy_wh - (40.0 * soc_before - 40.0 / 0.9)) < 1e-6);
    sim_world_free(w);
}

int main(void)
{
    /* The household's rhythm is in local time; pin it to Germany's rules without tzdata. */
    setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
    tzset();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_balance_week_1s_ac),
        cmocka_unit_test(test_balance_week_5s_dc),
        cmocka_unit_test(test_ac_cap_large_pv),
        cmocka_unit_test(test_dc_cap_and_clipped_storage),
        cmocka_unit_test(test_soc_stays_within_bounds),
        cmocka_unit_test(test_round_trip_efficiency),
        cmocka_unit_test(test_no_battery_no_flow),
        cmocka_unit_test(test_auto_mode_follows_net_demand),
        cmocka_unit_test(test_auto_mode_lag_response),
        cmocka_unit_test(test_sun_position_berlin),
        cmocka_unit_test(test_pv_night_noon_and_peak),
        cmocka_unit_test(test_east_morning_west_afternoon),
        cmocka_unit_test(test_h0_profile_shape),
        cmocka_unit_test(test_winter_evening_load_above_night),
        cmocka_unit_test(test_year_load_energy),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_validation_messages),
        cmocka_unit_test(test_reconfigure_keeps_soc_percent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
