/* The real balkonsolard planning its battery: a plan appears after start and is redone
 * every 15 minutes, obeys the battery's and the connection's limits, is at least as cheap
 * as plain self-consumption, switches strategy through the API and on reload, follows a
 * fixed schedule, and the load forecast and the savings are served from measured data. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include "balkon/store.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Berlin, two railing planes, an 800 W inverter, a 2.24 kWh AC battery; a day/night
 * tariff and our own solar forecast, so no network is needed. 600x: a wall second is ten
 * simulated minutes. */
static void write_config_prices(struct daemon_proc *d, const char *optimizer, double day_price,
                                double night_price)
{
    char json[4096];
    snprintf(json, sizeof json,
             "{\n"
             "  \"site\": {\"name\": \"planner test\", \"latitude\": 52.52, \"longitude\": 13.40,"
             " \"timezone\": \"Europe/Berlin\"},\n"
             "  \"pv\": {\"planes\": [{\"name\": \"east\", \"tilt\": 60, \"azimuth\": -90, "
             "\"peak_w\": 445},"
             " {\"name\": \"west\", \"tilt\": 60, \"azimuth\": 90, \"peak_w\": 445}]},\n"
             "  \"inverter\": {\"ac_limit_w\": 800},\n"
             "  \"battery\": {\"capacity_wh\": 2240, \"soc_min_pct\": 10, \"soc_max_pct\": 95},\n"
             "  \"simulation\": {\"speed\": 600, \"start\": \"2026-06-22T04:00:00Z\", "
             "\"cloudiness_pct\": 30},\n"
             "  \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
             "  \"providers\": [\n"
             "    {\"id\": \"tariff\", \"type\": \"tou\", \"zones\": [\n"
             "      {\"days\": \"daily\", \"from\": \"06:00\", \"to\": \"22:00\", "
             "\"price_per_kwh\": %g},\n"
             "      {\"days\": \"daily\", \"from\": \"22:00\", \"to\": \"06:00\", "
             "\"price_per_kwh\": %g}]},\n"
             "    {\"id\": \"forecast\", \"type\": \"sim_solar\"}],\n"
             "  \"tariff\": {\"feed_in_per_kwh\": 0},\n"
             "  \"investment\": {\"modules_price\": 450, \"battery_price\": 700},\n"
             "  \"optimizer\": %s\n"
             "}\n",
             day_price, night_price, optimizer);
    harness_write_config(d, json);
}

static void write_config(struct daemon_proc *d, const char *optimizer)
{
    write_config_prices(d, optimizer, 0.40, 0.25);
}

/* Waits for a plan newer than after_id (0: any); returns it. */
static cJSON *wait_plan(struct daemon_proc *d, double after_id, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        struct http_reply reply = harness_http(d, "GET", "/api/v1/plan", NULL, 0, NULL);
        if (reply.status == 200) {
            cJSON *plan = cJSON_Parse(reply.body);
            http_reply_free(&reply);
            if (harness_require_number(plan, "id") > after_id)
                return plan;
            cJSON_Delete(plan);
        } else {
            http_reply_free(&reply);
        }
        harness_sleep_ms(100);
    }
    fail_msg("no plan after id %g\n%s", after_id, harness_log(d));
    return NULL;
}

static double column(const cJSON *plan, const char *name, int i)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItem(plan, name), i)->valuedouble;
}

static void test_plan_obeys_limits_and_beats_self_consumption(void **state)
{
    struct daemon_proc *d = *state;
    write_config(d, "{\"strategy\": \"optimal\", \"wear_cost_per_kwh\": 0.02}");
    assert_true(harness_start(d, NULL));
    cJSON *plan = wait_plan(d, 0, 5000);
    assert_string_equal(harness_text(plan, "strategy"), "optimal");
    int n = cJSON_GetArraySize(cJSON_GetObjectItem(plan, "ts"));
    /* The tariff covers today and tomorrow: the plan reaches to the end of tomorrow. */
    assert_true(n >= 150 && n <= 192);
    const cJSON *summary = cJSON_GetObjectItem(plan, "summary");
    assert_int_equal((int)harness_require_number(summary, "price_slots"), n);
    assert_int_equal((int)harness_require_number(summary, "pv_forecast_slots"), n);
    for (int i = 0; i < n; i++) {
        double soc = column(plan, "soc_pct", i), battery_w = column(plan, "battery_w", i);
        double import_w = column(plan, "import_w", i), export_w = column(plan, "export_w", i);
        assert_true(soc >= 10 - 0.5 && soc <= 95 + 0.5);
        assert_true(fabs(battery_w) <= 800 + 0.1);
        assert_true(import_w >= 0 && export_w >= 0 && export_w <= 800 + 0.1);
        assert_true(column(plan, "pv_w", i) <= 800 + 0.1);
        assert_true(import_w == 0 || export_w == 0);
    }
    /* What is minimised can only be lower than self-consumption's (up to the SoC grid). */
    const cJSON *optimal = cJSON_GetObjectItem(summary, "plan");
    const cJSON *self = cJSON_GetObjectItem(summary, "self_consumption");
    const cJSON *none = cJSON_GetObjectItem(summary, "no_battery");
    assert_true(harness_require_number(optimal, "objective") <=
                harness_require_number(self, "objective") + 0.01);
    assert_true(harness_require_number(summary, "expected_saving_vs_no_battery") > 0.1);
    assert_true(harness_require_number(none, "discharge_wh") == 0);
    cJSON *now = cJSON_GetObjectItem(plan, "now");
    assert_true(strlen(harness_text(now, "mode")) > 0);
    /* A new site has no forecast errors to learn from yet: one certain forecast. */
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(summary, "forecast_scenarios")));
    assert_int_equal((int)harness_require_number(summary, "forecast_error_samples"), 0);

    /* Model-predictive: a new plan every 15 simulated minutes (1.5 s here). */
    double first_id = harness_require_number(plan, "id");
    cJSON_Delete(plan);
    plan = wait_plan(d, first_id, 4000);
    assert_true(harness_require_number(plan, "id") > first_id);
    cJSON_Delete(plan);
}

static void test_cheap_nights_are_used_when_grid_charging_is_allowed(void **state)
{
    struct daemon_proc *d = *state;
    /* A wide day/night spread: filling the battery at night for the morning pays. */
    write_config_prices(
        d, "{\"strategy\": \"optimal\", \"allow_grid_charge\": true, \"wear_cost_per_kwh\": 0.02}",
        0.45, 0.10);
    assert_true(harness_start(d, NULL));
    cJSON *plan = wait_plan(d, 0, 5000);
    const cJSON *summary = cJSON_GetObjectItem(plan, "summary");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(summary, "self_consumption_fallback")));
    assert_true(harness_require_number(summary, "expected_saving_vs_self_consumption") > 0.05);
    int grid_charging = 0;
    const cJSON *mode;
    int i = 0;
    cJSON_ArrayForEach(mode, cJSON_GetObjectItem(plan, "mode"))
    {
        if (strcmp(mode->valuestring, "grid_charge") == 0) {
            grid_charging++;
            assert_true(column(plan, "price", i) == 0.10); /* only in the cheap hours */
        }
        i++;
    }
    assert_true(grid_charging >= 2);
    cJSON_Delete(plan);
}

static void expect_put(struct daemon_proc *d, const char *body, long status, const char *needle)
{
    struct http_reply reply = harness_http(d, "PUT", "/api/v1/strategy", body, strlen(body), NULL);
    if (reply.status != status || !strstr(reply.body, needle))
        fail_msg("PUT %s: expected %ld with \"%s\", got %ld: %s", body, status, needle,
                 reply.status, reply.body);
    http_reply_free(&reply);
}

static void test_strategy_switches_at_run_time_and_on_reload(void **state)
{
    struct daemon_proc *d = *state;
    write_config(d, "{\"strategy\": \"optimal\"}");
    assert_true(harness_start(d, NULL));
    cJSON_Delete(wait_plan(d, 0, 5000));

    expect_put(d, "{\"strategy\": \"self_consumption\"}", 200, "\"active\":\"self_consumption\"");
    cJSON *plan = wait_plan(d, 0, 1000);
    assert_string_equal(harness_text(plan, "strategy"), "self_consumption");
    assert_string_equal(harness_text(cJSON_GetObjectItem(plan, "summary"), "reason"), "strategy");
    cJSON_Delete(plan);
    /* The switch's replan ran on the pool like any other: the loop never computes a plan. */
    const char *line = strstr(harness_log(d), "(self_consumption, strategy)");
    assert_non_null(line);
    const char *end = strchr(line, '\n');
    const char *off = strstr(line, "computed off the loop");
    assert_true(off && (!end || off < end));

    expect_put(d, "{\"strategy\": \"cheapest\"}", 400,
               "strategy: unknown strategy \\\"cheapest\\\" (known: \\\"self_consumption\\\", "
               "\\\"optimal\\\", \\\"fixed_schedule\\\")");
    expect_put(d, "{\"strategy\": 3}", 400, "strategy: is required and must be a string");
    expect_put(d, "[1,2", 400, "body: expected a JSON object");
    expect_put(d, "{\"strategy\": \"fixed_schedule\"}", 400, "optimizer.schedule");

    /* A new strategy in the config file wins over the run-time choice. */
    write_config(
        d, "{\"strategy\": \"fixed_schedule\", \"schedule\": ["
           "{\"from\": \"06:00\", \"to\": \"17:00\", \"mode\": \"hold\"},"
           "{\"from\": \"17:00\", \"to\": \"06:00\", \"mode\": \"discharge\", \"power_w\": 400}]}");
    kill(d->pid, SIGHUP);
    assert_true(harness_wait_log(d, "(fixed_schedule, config)", 5000));
    plan = wait_plan(d, 0, 1000);
    assert_string_equal(harness_text(plan, "strategy"), "fixed_schedule");
    /* Local 10:00 holds, local 18:00 discharges at no more than 400 W. */
    const cJSON *ts = cJSON_GetObjectItem(plan, "ts");
    int checked = 0;
    for (int i = 0; i < cJSON_GetArraySize(ts); i++) {
        double ts_ms = cJSON_GetArrayItem(ts, i)->valuedouble;
        const char *mode = cJSON_GetArrayItem(cJSON_GetObjectItem(plan, "mode"), i)->valuestring;
        if (ts_ms == 1782115200000.0) { /* 2026-06-22T08:00Z = 10:00 CEST */
            assert_string_equal(mode, "hold");
            checked++;
        }
        if (ts_ms == 1782144000000.0) { /* 16:00Z = 18:00 CEST */
            assert_string_equal(mode, "discharge");
            assert_true(column(plan, "battery_w", i) <= 400 + 0.1);
            checked++;
        }
    }
    assert_int_equal(checked, 2);
    cJSON_Delete(plan);
}

static void test_load_forecast_and_savings_from_measurements(void **state)
{
    struct daemon_proc *d = *state;
    write_config(d, "{\"strategy\": \"optimal\"}");
    assert_true(harness_start(d, NULL));
    cJSON_Delete(wait_plan(d, 0, 5000));
    /* Three simulated hours of a June morning. */
    harness_sleep_ms(18000);

    cJSON *load = harness_get_json(d, "/api/v1/forecast/load?days=1");
    assert_non_null(load);
    const cJSON *power = cJSON_GetObjectItem(load, "power_w");
    assert_true(cJSON_GetArraySize(power) >= 150);
    const cJSON *value;
    cJSON_ArrayForEach(value, power)
        assert_true(value->valuedouble > 0 && value->valuedouble < 5000);
    /* Forecasts made before each slot began, compared with what the meter then saw. */
    const cJSON *accuracy = cJSON_GetObjectItem(load, "accuracy");
    assert_true(harness_require_number(accuracy, "slots") >= 8);
    assert_true(harness_require_number(accuracy, "mae_w") >= 0);
    cJSON_Delete(load);

    cJSON *savings = harness_get_json(d, "/api/v1/savings");
    assert_non_null(savings);
    const cJSON *total = cJSON_GetObjectItem(savings, "total");
    assert_true(harness_require_number(total, "slots") >= 10);
    assert_true(harness_require_number(total, "pv_kwh") > 0.5);
    /* The sun was up: the modules saved money, and without them it costs the whole load. */
    assert_true(harness_require_number(total, "saved_vs_no_pv") > 0);
    assert_true(harness_require_number(total, "cost_no_pv") >=
                harness_require_number(total, "cost_no_battery"));
    assert_true(fabs(harness_require_number(total, "cost_no_pv") -
                     harness_require_number(total, "load_kwh") * 0.40) <
                0.02 + 0.1 * harness_require_number(total, "load_kwh"));
    const cJSON *period = cJSON_GetArrayItem(cJSON_GetObjectItem(savings, "periods"), 0);
    assert_string_equal(harness_text(period, "period"), "2026-06-22");
    const cJSON *payback = cJSON_GetObjectItem(savings, "payback");
    assert_true(harness_require_number(payback, "investment") == 1150);
    cJSON_Delete(savings);

    struct http_reply reply = harness_http(d, "GET", "/api/v1/savings?group=week", NULL, 0, NULL);
    assert_int_equal(reply.status, 400);
    assert_non_null(strstr(reply.body, "group: must be \\\"day\\\" or \\\"month\\\""));
    http_reply_free(&reply);
    reply = harness_http(d, "GET", "/api/v1/forecast/load?days=500", NULL, 0, NULL);
    assert_int_equal(reply.status, 400);
    assert_non_null(strstr(reply.body, "days"));
    http_reply_free(&reply);
}

/* A week of history in the daemon's database before it starts: measured PV and load every
 * minute, and the forecasts a daemon would have stored, issued every hour for 48 hours. The
 * PV forecast was 30 % low on alternate days and right on the others; the load forecast
 * missed the evening by 40 %. */
static void seed_history(const char *db_path, int64_t now_ms)
{
    struct balkon_store_options options = {.path = db_path};
    struct balkon_store *store = NULL;
    char msg[256] = "";
    if (balkon_store_open(&options, &store, msg, sizeof msg) != 0)
        fail_msg("seeding %s: %s", db_path, msg);
    int64_t pv_id, home_id, from_ms = now_ms - 7 * INT64_C(86400000);
    assert_int_equal(balkon_store_series_id(store, "pv_w", "W", &pv_id), 0);
    assert_int_equal(balkon_store_series_id(store, "home_w", "W", &home_id), 0);
    for (int64_t ts = from_ms; ts < now_ms; ts += 60000) {
        double pv = 0.0, load = 250.0, hour = (double)(ts % 86400000) / 3600000.0;
        if (hour > 4 && hour < 19)
            pv = 700.0 * sin(M_PI * (hour - 4) / 15);
        if (hour > 17 && hour < 21)
            load = 600.0;
        assert_int_equal(balkon_store_append(store, pv_id, ts, pv), 0);
        assert_int_equal(balkon_store_append(store, home_id, ts, load), 0);
    }
    assert_int_equal(balkon_store_flush(store), 0);
    static struct balkon_forecast_slot pv[192], load[192];
    for (int64_t issued = from_ms; issued < now_ms; issued += 3600000) {
        for (int i = 0; i < 192; i++) {
            int64_t slot = issued + (int64_t)i * 900000;
            double hour = (double)(slot % 86400000) / 3600000.0, mid = hour + 0.125;
            bool dull = (slot / 86400000) % 2 == 0;
            double pv_w = mid > 4 && mid < 19 ? 700.0 * sin(M_PI * (mid - 4) / 15) : 0.0;
            pv[i] = (struct balkon_forecast_slot){slot, 900, issued, dull ? pv_w * 0.7 : pv_w,
                                                  NAN,  NAN};
            load[i] = (struct balkon_forecast_slot){
                slot, 900, issued, hour > 17 && hour < 21 ? 360.0 : 250.0, NAN, NAN};
        }
        assert_int_equal(balkon_store_forecast_put(store, "pv", "forecast", issued, pv, 192), 0);
        assert_int_equal(balkon_store_forecast_put(store, "load", "household", issued, load, 192),
                         0);
    }
    balkon_store_close(store);
}

static void test_plan_weighs_the_sites_forecast_errors(void **state)
{
    struct daemon_proc *d = *state;
    write_config(d, "{\"strategy\": \"optimal\", \"scenario_after_h\": 6}");
    /* 2026-06-22T04:00:00Z, the simulation's start. */
    seed_history(d->db_path, INT64_C(1782100800000));
    assert_true(harness_start(d, NULL));
    cJSON *plan = wait_plan(d, 0, 5000);
    const cJSON *summary = cJSON_GetObjectItem(plan, "summary");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(summary, "forecast_scenarios")));
    /* Four leads, two kinds, a week of 15-minute slots. */
    assert_true(harness_require_number(summary, "forecast_error_samples") > 2000);
    const cJSON *value = cJSON_GetObjectItem(summary, "stored_energy_value");
    assert_non_null(value);
    assert_true(harness_require_number(value, "at_ts_ms") >= 1782100800000.0 + 6 * 3600000.0);
    assert_true(harness_require_number(value, "if_forecast_right_per_kwh") >= 0);
    assert_true(harness_require_number(value, "expected_per_kwh") >= 0);
    cJSON_Delete(plan);

    /* Planning on the forecast alone is one setting away. */
    write_config(d, "{\"strategy\": \"optimal\", \"scenario_after_h\": 0}");
    kill(d->pid, SIGHUP);
    for (int tries = 0; tries < 50; tries++) {
        plan = wait_plan(d, 0, 5000);
        summary = cJSON_GetObjectItem(plan, "summary");
        bool off = cJSON_IsFalse(cJSON_GetObjectItem(summary, "forecast_scenarios"));
        if (off) {
            assert_null(cJSON_GetObjectItem(summary, "stored_energy_value"));
            cJSON_Delete(plan);
            return;
        }
        cJSON_Delete(plan);
        harness_sleep_ms(100);
    }
    fail_msg("scenario_after_h 0 did not switch the scenarios off\n%s", harness_log(d));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plan_obeys_limits_and_beats_self_consumption,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_cheap_nights_are_used_when_grid_charging_is_allowed,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_strategy_switches_at_run_time_and_on_reload,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_load_forecast_and_savings_from_measurements,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_plan_weighs_the_sites_forecast_errors, harness_setup,
                                        harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
