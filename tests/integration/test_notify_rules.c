/* Alert rules through the real daemon on the simulator, delivered to a fake webhook:
 * a failed meter (simulation.meter_enabled false, applied with SIGHUP) raises "device
 * offline" and "meter stale" exactly once each, and both resolve once the meter is back;
 * quiet hours hold back the warning but not the critical alert; the hourly rate limit caps
 * what is sent (all of it is still stored); a negative price from a time-of-use tariff
 * raises the negative price alert. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_http.h"
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Simulated midday in June (12:00 in Berlin) at 20x: a device counts as offline about 3 s
 * after the meter fails, the control goes to failsafe within a second. Every rule the
 * test does not look at is switched off, so the webhook's hits are exact. */
static void write_config(struct daemon_proc *d, struct fake_http *fake, bool meter,
                         const char *extra, const char *rules)
{
    char config[4096];
    snprintf(config, sizeof config,
             "{\"site\": {\"timezone\": \"Europe/Berlin\"},\n"
             " \"battery\": {\"capacity_wh\": 2240},\n"
             " \"simulation\": {\"speed\": 20, \"start\": \"2026-06-22T10:00:00Z\", "
             "\"meter_enabled\": %s},\n"
             " \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
             " \"control\": {\"enabled\": true},\n"
             " \"notifications\": {\"enabled\": true, %s\n"
             "  \"channels\": [{\"id\": \"hook\", \"type\": \"webhook\", \"url\": \"%s/hook\"}],\n"
             "  \"rules\": {\"battery_empty\": false, \"battery_not_charging\": false, "
             "\"optimizer_fallback\": false, \"provider_failing\": false,"
             " \"price_spike\": false, %s}}}\n",
             meter ? "true" : "false", extra, fake_http_base(fake),
             rules ? rules : "\"negative_price\": false");
    harness_write_config(d, config);
}

static int count_rows(struct daemon_proc *d, const char *rule, const char *state)
{
    cJSON *json = harness_get_json(d, "/api/v1/notifications");
    int n = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(json, "notifications"))
    {
        if (strcmp(cJSON_GetObjectItem(item, "rule")->valuestring, rule) == 0 &&
            (!state || strcmp(cJSON_GetObjectItem(item, "state")->valuestring, state) == 0))
            n++;
    }
    cJSON_Delete(json);
    return n;
}

static void wait_rows(struct daemon_proc *d, const char *rule, const char *state, int count)
{
    for (int waited = 0; waited < 30000; waited += 100) {
        if (count_rows(d, rule, state) >= count)
            return;
        harness_sleep_ms(100);
    }
    cJSON *json = harness_get_json(d, "/api/v1/notifications");
    fail_msg("no %s row in state %s: %s\n%s", rule, state ? state : "(any)",
             cJSON_PrintUnformatted(json), harness_log(d));
}

static void wait_hits(struct fake_http *fake, int hits, struct daemon_proc *d)
{
    for (int waited = 0; waited < 15000 && fake_http_hits(fake, "/hook") < hits; waited += 50)
        harness_sleep_ms(50);
    if (fake_http_hits(fake, "/hook") < hits)
        fail_msg("webhook: %d hits, expected %d\n%s", fake_http_hits(fake, "/hook"), hits,
                 harness_log(d));
}

static void meter_fails(struct daemon_proc *d, struct fake_http *fake, const char *extra)
{
    write_config(d, fake, true, extra, NULL);
    assert_true(harness_start(d, NULL));
    assert_true(harness_wait_log(d, "plan 1", 15000));
    write_config(d, fake, false, extra, NULL);
    kill(d->pid, SIGHUP);
    wait_rows(d, "meter_stale", "open", 1);
    wait_rows(d, "device_offline", "open", 1);
}

static void test_meter_failure_alerts_once_then_resolves(void **state)
{
    struct daemon_proc *d = *state;
    struct fake_http *fake = fake_http_start();
    fake_http_route(fake, "/hook", 200, "text/plain", "", 0, NULL, 0);
    meter_fails(d, fake, "");
    wait_hits(fake, 2, d);
    /* The conditions last (the control reports failsafe every step): still one each. */
    assert_true(harness_wait_log(d, "offline: nothing heard", 5000));
    harness_sleep_ms(3000);
    assert_int_equal(count_rows(d, "meter_stale", NULL), 1);
    assert_int_equal(count_rows(d, "device_offline", NULL), 1);
    assert_int_equal(fake_http_hits(fake, "/hook"), 2);
    cJSON *json = harness_get_json(d, "/api/v1/notifications");
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(json, "notifications"))
    {
        const char *rule = cJSON_GetObjectItem(item, "rule")->valuestring;
        const char *severity = cJSON_GetObjectItem(item, "severity")->valuestring;
        if (strcmp(rule, "meter_stale") == 0)
            assert_string_equal(severity, "critical");
        else {
            assert_string_equal(rule, "device_offline");
            assert_string_equal(severity, "warning");
            assert_string_equal(cJSON_GetObjectItem(item, "title")->valuestring,
                                "Device sim-meter offline");
        }
        assert_true(cJSON_IsNull(cJSON_GetObjectItem(item, "resolved")));
    }
    cJSON_Delete(json);

    /* The meter is back: both resolve, and one "resolved" message each is sent. */
    write_config(d, fake, true, "", NULL);
    kill(d->pid, SIGHUP);
    wait_rows(d, "meter_stale", "resolved", 1);
    wait_rows(d, "device_offline", "resolved", 1);
    wait_hits(fake, 4, d);
    char body[4096];
    fake_http_last(fake, "/hook", NULL, 0, body, sizeof body, NULL, 0);
    cJSON *last = cJSON_Parse(body);
    assert_string_equal(cJSON_GetObjectItem(last, "state")->valuestring, "resolved");
    assert_non_null(strstr(cJSON_GetObjectItem(last, "title")->valuestring, "Resolved: "));
    cJSON_Delete(last);
    json = harness_get_json(d, "/api/v1/notifications");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(json, "notifications")), 2);
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(json, "notifications"))
        assert_true(cJSON_IsString(cJSON_GetObjectItem(item, "resolved")));
    cJSON_Delete(json);
    harness_sleep_ms(1000);
    assert_int_equal(fake_http_hits(fake, "/hook"), 4);
    fake_http_stop(fake);
}

/* 06:00–23:00 local covers the simulated noon: the warning is held back, the critical
 * alert goes out. */
static void test_quiet_hours_pass_only_critical(void **state)
{
    struct daemon_proc *d = *state;
    struct fake_http *fake = fake_http_start();
    fake_http_route(fake, "/hook", 200, "text/plain", "", 0, NULL, 0);
    meter_fails(d, fake, "\"quiet_hours_from\": \"06:00\", \"quiet_hours_to\": \"23:00\",");
    assert_true(harness_wait_log(
        d, "quiet hours: not sending \"Device sim-meter offline\" (warning)", 10000));
    wait_hits(fake, 1, d);
    harness_sleep_ms(1000);
    assert_int_equal(fake_http_hits(fake, "/hook"), 1);
    char body[4096];
    fake_http_last(fake, "/hook", NULL, 0, body, sizeof body, NULL, 0);
    cJSON *last = cJSON_Parse(body);
    assert_string_equal(cJSON_GetObjectItem(last, "rule")->valuestring, "meter_stale");
    assert_string_equal(cJSON_GetObjectItem(last, "severity")->valuestring, "critical");
    cJSON_Delete(last);
    fake_http_stop(fake);
}

/* max_per_hour 1: the first alert is sent, the second only stored. */
static void test_rate_limit_caps(void **state)
{
    struct daemon_proc *d = *state;
    struct fake_http *fake = fake_http_start();
    fake_http_route(fake, "/hook", 200, "text/plain", "", 0, NULL, 0);
    meter_fails(d, fake, "\"max_per_hour\": 1,");
    assert_true(harness_wait_log(d, "rate limit: not sending", 10000));
    assert_true(harness_wait_log(d, "more than 1 alerts in an hour", 1000));
    wait_hits(fake, 1, d);
    harness_sleep_ms(1000);
    assert_int_equal(fake_http_hits(fake, "/hook"), 1);
    assert_int_equal(count_rows(d, "meter_stale", "open") + count_rows(d, "device_offline", "open"),
                     2);
    fake_http_stop(fake);
}

/* A time-of-use tariff with a negative afternoon price. */
static void test_negative_price(void **state)
{
    struct daemon_proc *d = *state;
    struct fake_http *fake = fake_http_start();
    fake_http_route(fake, "/hook", 200, "text/plain", "", 0, NULL, 0);
    char config[4096];
    snprintf(
        config, sizeof config,
        "{\"site\": {\"timezone\": \"Europe/Berlin\"},\n"
        " \"simulation\": {\"speed\": 20, \"start\": \"2026-06-22T10:00:00Z\"},\n"
        " \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
        " \"providers\": [{\"id\": \"tariff\", \"type\": \"tou\", \"zones\": ["
        "{\"from\": \"00:00\", \"to\": \"14:00\", \"price_per_kwh\": 0.30},"
        "{\"from\": \"14:00\", \"to\": \"24:00\", \"price_per_kwh\": -0.05}]}],\n"
        " \"notifications\": {\"enabled\": true,\n"
        "  \"channels\": [{\"id\": \"hook\", \"type\": \"webhook\", \"url\": \"%s/hook\"}],\n"
        "  \"rules\": {\"device_offline\": false, \"meter_stale\": false, \"battery_empty\": "
        "false, \"battery_not_charging\": false,"
        " \"optimizer_fallback\": false, \"provider_failing\": false, \"price_spike\": false}}}\n",
        fake_http_base(fake));
    harness_write_config(d, config);
    assert_true(harness_start(d, NULL));
    wait_rows(d, "negative_price", "open", 1);
    wait_hits(fake, 1, d);
    char body[4096];
    fake_http_last(fake, "/hook", NULL, 0, body, sizeof body, NULL, 0);
    cJSON *last = cJSON_Parse(body);
    assert_string_equal(cJSON_GetObjectItem(last, "rule")->valuestring, "negative_price");
    assert_string_equal(cJSON_GetObjectItem(last, "subject")->valuestring, "tariff");
    assert_non_null(strstr(cJSON_GetObjectItem(last, "message")->valuestring, "-0.0500 EUR/kWh"));
    cJSON_Delete(last);
    harness_sleep_ms(1000);
    assert_int_equal(count_rows(d, "negative_price", NULL), 1);
    fake_http_stop(fake);
}

/* An appliance's recommended start reaches the channels once, in words. */
static void test_recommendation_is_notified(void **state)
{
    struct daemon_proc *d = *state;
    struct fake_http *fake = fake_http_start();
    fake_http_route(fake, "/hook", 200, "text/plain", "", 0, NULL, 0);
    char config[4096];
    snprintf(config, sizeof config,
             "{\"site\": {\"timezone\": \"Europe/Berlin\"},\n"
             " \"simulation\": {\"speed\": 20, \"start\": \"2026-06-22T06:00:00Z\"},\n"
             " \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
             " \"providers\": [{\"id\": \"tariff\", \"type\": \"tou\", \"zones\": ["
             "{\"from\": \"00:00\", \"to\": \"15:00\", \"price_per_kwh\": 0.40},"
             "{\"from\": \"15:00\", \"to\": \"18:00\", \"price_per_kwh\": 0.10},"
             "{\"from\": \"18:00\", \"to\": \"24:00\", \"price_per_kwh\": 0.40}]}],\n"
             " \"appliances\": [{\"id\": \"washer\", \"name\": \"Washing machine\", "
             "\"duration_min\": 120,"
             " \"energy_kwh\": 0.9, \"latest\": \"20:00\"}],\n"
             " \"notifications\": {\"enabled\": true,\n"
             "  \"channels\": [{\"id\": \"hook\", \"type\": \"webhook\", \"url\": \"%s/hook\"}],\n"
             "  \"rules\": {\"device_offline\": false, \"meter_stale\": false, \"battery_empty\": "
             "false, \"battery_not_charging\": false,"
             " \"optimizer_fallback\": false, \"provider_failing\": false, \"price_spike\": false,"
             " \"negative_price\": false}}}\n",
             fake_http_base(fake));
    harness_write_config(d, config);
    assert_true(harness_start(d, NULL));
    wait_rows(d, "recommendation", NULL, 1);
    wait_hits(fake, 1, d);
    char body[4096];
    fake_http_last(fake, "/hook", NULL, 0, body, sizeof body, NULL, 0);
    cJSON *last = cJSON_Parse(body);
    assert_string_equal(cJSON_GetObjectItem(last, "rule")->valuestring, "recommendation");
    assert_string_equal(cJSON_GetObjectItem(last, "subject")->valuestring, "washer");
    const char *message = cJSON_GetObjectItem(last, "message")->valuestring;
    if (!strstr(message, "Start the washing machine at ") || !strstr(message, "cheaper"))
        fail_msg("unexpected message: %s", message);
    cJSON_Delete(last);
    fake_http_stop(fake);
}

/* Surplus exported past a battery with room that does not charge (here: the control is
 * off and the battery was told to hold 0 W) is reported once, after not_charging_min. */
static void test_battery_not_charging(void **state)
{
    struct daemon_proc *d = *state;
    struct fake_http *fake = fake_http_start();
    fake_http_route(fake, "/hook", 200, "text/plain", "", 0, NULL, 0);
    char config[4096];
    snprintf(
        config, sizeof config,
        "{\"site\": {\"timezone\": \"Europe/Berlin\"},\n"
        " \"pv\": {\"planes\": [{\"name\": \"south\", \"tilt\": 35, \"azimuth\": 0, \"peak_w\": "
        "1600}]},\n"
        " \"battery\": {\"capacity_wh\": 2240},\n"
        " \"household\": {\"annual_kwh\": 1000},\n"
        " \"simulation\": {\"speed\": 20, \"start\": \"2026-06-22T10:00:00Z\", \"cloudiness_pct\": "
        "0,"
        " \"initial_soc_pct\": 50},\n"
        " \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
        " \"control\": {\"enabled\": false},\n"
        " \"notifications\": {\"enabled\": true,\n"
        "  \"channels\": [{\"id\": \"hook\", \"type\": \"webhook\", \"url\": \"%s/hook\"}],\n"
        "  \"rules\": {\"device_offline\": false, \"meter_stale\": false, \"battery_empty\": false,"
        " \"optimizer_fallback\": false, \"provider_failing\": false, \"price_spike\": false,"
        " \"negative_price\": false, \"recommendations\": false, \"not_charging_min\": 2}}}\n",
        fake_http_base(fake));
    harness_write_config(d, config);
    assert_true(harness_start(d, NULL));
    assert_true(harness_wait_log(d, "daemon: running", 10000));
    const char *hold = "{\"command\": \"setpoint\", \"value\": 0}";
    struct http_reply reply = {0};
    for (int i = 0; i < 50 && reply.status != 202; i++) { /* until the battery has reported */
        http_reply_free(&reply);
        harness_sleep_ms(100);
        reply = harness_http(d, "POST", "/api/v1/devices/sim-battery/command", hold, strlen(hold),
                             NULL);
    }
    assert_int_equal(reply.status, 202);
    http_reply_free(&reply);
    wait_rows(d, "battery_not_charging", "open", 1);
    wait_hits(fake, 1, d);
    char body[4096];
    fake_http_last(fake, "/hook", NULL, 0, body, sizeof body, NULL, 0);
    cJSON *last = cJSON_Parse(body);
    assert_string_equal(cJSON_GetObjectItem(last, "rule")->valuestring, "battery_not_charging");
    assert_non_null(strstr(cJSON_GetObjectItem(last, "message")->valuestring,
                           "go to the grid while the battery is at"));
    cJSON_Delete(last);
    /* Once, not every interval. */
    harness_sleep_ms(2000);
    assert_int_equal(count_rows(d, "battery_not_charging", NULL), 1);
    /* Back to its own logic, it charges: resolved. */
    const char *automatic = "{\"command\": \"auto\"}";
    reply = harness_http(d, "POST", "/api/v1/devices/sim-battery/command", automatic,
                         strlen(automatic), NULL);
    assert_int_equal(reply.status, 202);
    http_reply_free(&reply);
    wait_rows(d, "battery_not_charging", "resolved", 1);
    fake_http_stop(fake);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_meter_failure_alerts_once_then_resolves, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_quiet_hours_pass_only_critical, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit_caps, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_negative_price, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_recommendation_is_notified, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_battery_not_charging, harness_setup, harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
