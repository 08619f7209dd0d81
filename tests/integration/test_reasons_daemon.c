/* Decisions explained, through the real daemon: the demo's simulated site started at chosen
 * times (simulation.start) must answer GET /api/v1/plan with a reason per slot and for the
 * slot in force ("now.reason"), what comes next ("now.next"), and GET /api/v1/control with
 * the control's reason; each case is a situation a user asks "why?" about:
 *   - a winter night with the battery at its minimum: at_soc_min (plan and control);
 *   - a clear summer noon with a small load: storing_surplus (plan and control);
 *   - a summer midnight with a full battery and a dearer morning: saving_for_dearer_hour,
 *     naming the hour and price it saves for;
 *   - the battery at its minimum, grid charging allowed and a cheap zone at 03:00:
 *     waiting_for_cheaper_hour, and "next" is that grid charge at its price. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The demo site (config/demo.json) at a chosen start, SoC and weather; extra adds config
 * sections ("" or ", \"optimizer\": {…}"); tariff is the providers' tou zones. */
static void write_config(struct daemon_proc *d, const char *start, double soc_pct,
                         double cloudiness_pct, double annual_kwh, const char *zones,
                         const char *extra)
{
    char json[4096];
    snprintf(json, sizeof json,
             "{\"site\": {\"name\": \"reasons\", \"latitude\": 52.52, \"longitude\": 13.40,"
             " \"timezone\": \"Europe/Berlin\"},"
             " \"pv\": {\"planes\": [{\"name\": \"east\", \"tilt\": 60, \"azimuth\": -90,"
             " \"peak_w\": 445}, {\"name\": \"west\", \"tilt\": 60, \"azimuth\": 90,"
             " \"peak_w\": 445}]},"
             " \"inverter\": {\"ac_limit_w\": 800},"
             " \"battery\": {\"capacity_wh\": 2240, \"max_charge_w\": 800,"
             " \"max_discharge_w\": 800, \"coupling\": \"ac\"},"
             " \"household\": {\"annual_kwh\": %g},"
             " \"simulation\": {\"speed\": 1, \"start\": \"%s\", \"initial_soc_pct\": %g,"
             " \"cloudiness_pct\": %g},"
             " \"devices\": [{\"id\": \"demo\", \"type\": \"simulator\"}],"
             " \"providers\": [{\"id\": \"tariff\", \"type\": \"tou\", \"zones\": [%s]},"
             " {\"id\": \"forecast\", \"type\": \"sim_solar\"}],"
             " \"tariff\": {\"feed_in_per_kwh\": 0, \"import_per_kwh\": 0.35,"
             " \"currency\": \"EUR\"}%s}",
             annual_kwh, start, soc_pct, cloudiness_pct, zones, extra);
    harness_write_config(d, json);
}

#define DAY_NIGHT                                                                                  \
    "{\"days\": \"daily\", \"from\": \"06:00\", \"to\": \"22:00\", \"price_per_kwh\": 0.38},"      \
    " {\"days\": \"daily\", \"from\": \"22:00\", \"to\": \"06:00\", \"price_per_kwh\": 0.27}"

static const char *const KNOWN[] = {
    "no_battery",
    "grid_charging_cheap",
    "storing_surplus",
    "covering_load",
    "at_soc_min",
    "at_soc_max",
    "nothing_to_do",
    "exporting_surplus",
    "waiting_for_grid_charge",
    "waiting_for_cheaper_hour",
    "saving_for_dearer_hour",
    "control_off",
    "battery_offline",
    "failsafe",
    "export_cap",
    "holding_for_plan",
};

static bool known(const char *code)
{
    for (size_t i = 0; i < sizeof KNOWN / sizeof *KNOWN; i++)
        if (code && strcmp(code, KNOWN[i]) == 0)
            return true;
    return false;
}

static bool known_state(const char *state)
{
    static const char *const states[] = {"charging", "grid_charging", "discharging", "holding",
                                         "resting",  "failsafe",      "offline",     "limiting"};
    for (size_t i = 0; i < sizeof states / sizeof *states; i++)
        if (state && strcmp(state, states[i]) == 0)
            return true;
    return false;
}

static const char *code_of(const cJSON *parent, const char *key)
{
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(parent, key);
    return harness_text(reason, "code");
}

/* GET path as JSON when it answers 200, else NULL (no plan or control status yet). */
static cJSON *get_json(struct daemon_proc *d, const char *path)
{
    struct http_reply reply = harness_http(d, "GET", path, NULL, 0, NULL);
    cJSON *json = reply.status == 200 ? cJSON_Parse(reply.body) : NULL;
    http_reply_free(&reply);
    return json;
}

/* GET /api/v1/plan once there is a plan from the measured SoC (the first may start from
 * soc_min, before the battery reported); every slot has a known reason. */
static cJSON *wait_plan(struct daemon_proc *d, double soc_pct)
{
    for (int i = 0; i < 150; i++) {
        cJSON *plan = get_json(d, "/api/v1/plan");
        const cJSON *summary = cJSON_GetObjectItemCaseSensitive(plan, "summary");
        if (plan && cJSON_GetObjectItemCaseSensitive(plan, "now") &&
            fabs(harness_number(summary, "soc_start_pct") - soc_pct) < 3) {
            const cJSON *ts = cJSON_GetObjectItemCaseSensitive(plan, "ts");
            const cJSON *reasons = cJSON_GetObjectItemCaseSensitive(plan, "reason");
            assert_true(cJSON_IsArray(reasons));
            assert_int_equal(cJSON_GetArraySize(reasons), cJSON_GetArraySize(ts));
            const cJSON *r;
            cJSON_ArrayForEach(r, reasons)
            {
                if (!known(harness_text(r, "code")) || !known_state(harness_text(r, "state")))
                    fail_msg("a slot's reason is not a known code and state: %s",
                             cJSON_PrintUnformatted(r));
            }
            assert_null(cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(plan, "summary"), "slot_reasons"));
            return plan;
        }
        cJSON_Delete(plan);
        harness_sleep_ms(100);
    }
    fail_msg("no plan from a SoC of %g %% within 15 s", soc_pct);
    return NULL;
}

/* Waits until GET /api/v1/control gives the reason want; fails with the last one seen. */
static void wait_control_reason(struct daemon_proc *d, const char *want)
{
    char last[256] = "(no control status)";
    for (int i = 0; i < 150; i++) {
        cJSON *control = get_json(d, "/api/v1/control");
        const char *code = control ? code_of(control, "reason") : NULL;
        if (code) {
            assert_true(known(code));
            assert_true(known_state(harness_text(cJSON_GetObjectItem(control, "reason"), "state")));
            snprintf(last, sizeof last, "%s", code);
        }
        bool ok = code && strcmp(code, want) == 0;
        cJSON_Delete(control);
        if (ok)
            return;
        harness_sleep_ms(100);
    }
    fail_msg("the control's reason stayed \"%s\", expected \"%s\"", last, want);
}

static void test_night_at_minimum(void **state)
{
    struct daemon_proc *d = *state;
    write_config(d, "2026-12-07T02:00:00+01:00", 10, 45, 3000, DAY_NIGHT, "");
    assert_true(harness_start(d, NULL));
    cJSON *plan = wait_plan(d, 10);
    const cJSON *now = cJSON_GetObjectItemCaseSensitive(plan, "now");
    assert_string_equal(code_of(now, "reason"), "at_soc_min");
    /* What comes next is when the battery stops resting (the optimizer's mode may stay
     * "discharge" all along: the state changes, not the mode). */
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(now, "next");
    if (!cJSON_IsNull(next)) /* a dark December may keep it resting to the horizon */
        assert_string_not_equal(
            harness_text(cJSON_GetObjectItemCaseSensitive(next, "reason"), "state"), "resting");
    cJSON_Delete(plan);
    wait_control_reason(d, "at_soc_min");
}

static void test_noon_storing_surplus(void **state)
{
    struct daemon_proc *d = *state;
    write_config(d, "2026-06-21T13:00:00+02:00", 30, 0, 1200, DAY_NIGHT, "");
    assert_true(harness_start(d, NULL));
    cJSON *plan = wait_plan(d, 30);
    const cJSON *now = cJSON_GetObjectItemCaseSensitive(plan, "now");
    assert_string_equal(code_of(now, "reason"), "storing_surplus");
    /* The plan's mode may be "discharge" (cover the load, store what is left over): the
     * state says what the battery does. */
    assert_string_equal(harness_text(cJSON_GetObjectItemCaseSensitive(now, "reason"), "state"),
                        "charging");
    assert_true(harness_require_number(now, "battery_w") < 0);
    cJSON_Delete(plan);
    wait_control_reason(d, "storing_surplus");
}

static void test_midnight_saving_for_dearer_hour(void **state)
{
    struct daemon_proc *d = *state;
    write_config(d, "2026-06-22T00:30:00+02:00", 80, 45, 3000, DAY_NIGHT, "");
    assert_true(harness_start(d, NULL));
    cJSON *plan = wait_plan(d, 80);
    const cJSON *now = cJSON_GetObjectItemCaseSensitive(plan, "now");
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(now, "reason");
    assert_string_equal(harness_text(reason, "code"), "saving_for_dearer_hour");
    /* It names the hour it saves for: 06:00 local, when the day price begins. */
    assert_true(fabs(harness_require_number(reason, "price_per_kwh") - 0.38) < 1e-6);
    double ts_ms = harness_require_number(reason, "ts_ms");
    assert_true(ts_ms >= 1782100800000.0); /* 2026-06-22T06:00:00+02:00 */
    /* What comes next: the hour it saved for, when the battery discharges, at its price. */
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(now, "next");
    assert_true(cJSON_IsObject(next));
    assert_true(harness_require_number(next, "ts_ms") == ts_ms);
    assert_string_equal(harness_text(cJSON_GetObjectItemCaseSensitive(next, "reason"), "state"),
                        "discharging");
    assert_true(fabs(harness_require_number(next, "price_per_kwh") - 0.38) < 1e-6);
    cJSON_Delete(plan);
}

static void test_waiting_for_cheaper_hour(void **state)
{
    struct daemon_proc *d = *state;
    write_config(
        d, "2026-06-21T23:00:00+02:00", 10, 45, 3000,
        "{\"days\": \"daily\", \"from\": \"06:00\", \"to\": \"22:00\", \"price_per_kwh\": 0.38},"
        " {\"days\": \"daily\", \"from\": \"22:00\", \"to\": \"03:00\", \"price_per_kwh\": 0.27},"
        " {\"days\": \"daily\", \"from\": \"03:00\", \"to\": \"06:00\", \"price_per_kwh\": 0.12}",
        ", \"optimizer\": {\"allow_grid_charge\": true}");
    assert_true(harness_start(d, NULL));
    cJSON *plan = wait_plan(d, 10);
    const cJSON *now = cJSON_GetObjectItemCaseSensitive(plan, "now");
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(now, "reason");
    assert_string_equal(harness_text(reason, "code"), "waiting_for_cheaper_hour");
    assert_true(fabs(harness_require_number(reason, "price_per_kwh") - 0.12) < 1e-6);
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(now, "next");
    assert_string_equal(harness_text(next, "mode"), "grid_charge");
    assert_true(fabs(harness_require_number(next, "price_per_kwh") - 0.12) < 1e-6);
    assert_true(harness_require_number(next, "ts_ms") == harness_require_number(reason, "ts_ms"));
    assert_string_equal(code_of(next, "reason"), "grid_charging_cheap");
    cJSON_Delete(plan);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_night_at_minimum, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_noon_storing_surplus, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_midnight_saving_for_dearer_hour, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_waiting_for_cheaper_hour, harness_setup,
                                        harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
