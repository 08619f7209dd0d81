/* The real balkonsolard driving the simulated battery second by second: the grid stays
 * near its target, PV plus battery never exceed the 800 W cap, the failsafe engages when
 * the meter goes quiet and lets go when it is back, and commands from the API are
 * validated, executed and logged. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A June afternoon at 5x: the meter reads every simulated second, the battery takes 2 s
 * to follow a setpoint. */
static void write_config(struct daemon_proc *d, bool meter_enabled)
{
    char json[2048];
    snprintf(json, sizeof json,
             "{\n"
             "  \"site\": {\"name\": \"control test\", \"latitude\": 52.52, \"longitude\": 13.40,"
             " \"timezone\": \"Europe/Berlin\"},\n"
             "  \"pv\": {\"planes\": [{\"name\": \"south\", \"tilt\": 35, \"azimuth\": 0, "
             "\"peak_w\": 890}]},\n"
             "  \"battery\": {\"capacity_wh\": 2240},\n"
             "  \"simulation\": {\"speed\": 5, \"start\": \"2026-06-22T15:00:00Z\", "
             "\"cloudiness_pct\": 20,"
             " \"initial_soc_pct\": 60, \"battery_latency_s\": 2, \"meter_enabled\": %s},\n"
             "  \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
             "  \"optimizer\": {\"strategy\": \"self_consumption\"},\n"
             "  \"control\": {\"target_grid_w\": 20, \"meter_stale_s\": 5, \"safe_output_w\": 0}\n"
             "}\n",
             meter_enabled ? "true" : "false");
    harness_write_config(d, json);
}

static cJSON *wait_control_state(struct daemon_proc *d, const char *state, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        struct http_reply reply = harness_http(d, "GET", "/api/v1/control", NULL, 0, NULL);
        if (reply.status == 200) {
            cJSON *control = cJSON_Parse(reply.body);
            http_reply_free(&reply);
            if (strcmp(harness_text(control, "state"), state) == 0)
                return control;
            cJSON_Delete(control);
        } else {
            http_reply_free(&reply);
        }
        harness_sleep_ms(100);
    }
    fail_msg("control never reached \"%s\"\n%s", state, harness_log(d));
    return NULL;
}

static void test_grid_tracks_the_target_within_the_cap(void **state)
{
    struct daemon_proc *d = *state;
    write_config(d, true);
    assert_true(harness_start(d, NULL));
    /* Let it settle for a simulated minute, then watch two. */
    harness_sleep_ms(12000);
    double abs_error_sum = 0;
    int samples = 0, far = 0;
    for (int i = 0; i < 48; i++) {
        cJSON *status = harness_get_json(d, "/api/v1/status");
        cJSON *control = harness_get_json(d, "/api/v1/control");
        assert_non_null(status);
        assert_non_null(control);
        double grid_w = harness_number(status, "grid_w"), pv_w = harness_number(status, "pv_w"),
               battery_w = harness_number(status, "battery_w");
        double soc = harness_number(status, "soc_pct");
        /* The connection's cap holds in every interval: PV plus battery output. */
        assert_true(pv_w + fmax(0, battery_w) <= 800 + 1);
        if (soc > 15 && soc < 95) { /* away from the SoC limits the battery can always follow */
            abs_error_sum += fabs(grid_w - 20);
            far += fabs(grid_w - 20) > 200;
            samples++;
        }
        assert_string_equal(harness_text(control, "battery"), "sim-battery");
        cJSON_Delete(status);
        cJSON_Delete(control);
        harness_sleep_ms(500);
    }
    assert_true(samples >= 30);
    /* Household steps (a kettle, the fridge) move the grid for a few seconds at most. */
    double mean_error_w = abs_error_sum / samples;
    if (mean_error_w > 60 || far > samples / 5)
        fail_msg("grid off target: mean |error| %.1f W, %d of %d samples > 200 W\n%s", mean_error_w,
                 far, samples, harness_log(d));
    cJSON *control = harness_get_json(d, "/api/v1/control");
    assert_true(harness_number(control, "commands_sent") >= 1);
    assert_true(harness_number(control, "target_w") == 20);
    cJSON_Delete(control);
}

static void test_failsafe_when_the_meter_stops(void **state)
{
    struct daemon_proc *d = *state;
    write_config(d, true);
    assert_true(harness_start(d, NULL));
    harness_sleep_ms(3000);
    write_config(d, false);
    kill(d->pid, SIGHUP);
    /* meter_stale_s 5 simulated seconds = 1 wall second here. */
    cJSON *control = wait_control_state(d, "failsafe", 6000);
    assert_true(harness_number(control, "setpoint_w") == 0);
    cJSON_Delete(control);
    assert_true(harness_wait_log(d, "failsafe, battery at 0 W", 2000));
    /* The silent meter is shown offline with the reason; the rest keeps running. */
    assert_true(harness_wait_log(d, "sim-meter: offline: nothing heard for", 6000));
    cJSON *devices = harness_get_json(d, "/api/v1/devices");
    const cJSON *device;
    int online_count = 0;
    bool meter_offline = false;
    cJSON_ArrayForEach(device, cJSON_GetObjectItem(devices, "devices"))
    {
        bool online = cJSON_IsTrue(cJSON_GetObjectItem(device, "online"));
        online_count += online;
        if (strcmp(harness_text(device, "id"), "sim-meter") == 0)
            meter_offline =
                !online && strstr(harness_text(device, "error"), "nothing heard for") != NULL;
    }
    cJSON_Delete(devices);
    assert_true(meter_offline);
    assert_int_equal(online_count, 2); /* inverter and battery */

    write_config(d, true);
    kill(d->pid, SIGHUP);
    assert_true(harness_wait_log(d, "meter readings are back", 6000));
    assert_true(harness_wait_log(d, "sim-meter: back online", 6000));
}

/* No controllable battery, export not allowed: the control limits the inverter so that
 * nothing flows out (OpenDTU-style zero export). A noon in June with 1.6 kWp behind an
 * 800 W inverter and a household of ~100 W: without the limit 600+ W would be exported. */
static void test_inverter_limit_holds_zero_export(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_config(d,
                         "{\n"
                         "  \"site\": {\"latitude\": 52.52, \"longitude\": 13.40, \"timezone\": "
                         "\"Europe/Berlin\"},\n"
                         "  \"pv\": {\"planes\": [{\"name\": \"south\", \"tilt\": 35, \"azimuth\": "
                         "0, \"peak_w\": 1600}]},\n"
                         "  \"battery\": {\"capacity_wh\": 2240},\n"
                         "  \"household\": {\"annual_kwh\": 1000},\n"
                         "  \"simulation\": {\"speed\": 5, \"start\": \"2026-06-22T10:00:00Z\", "
                         "\"cloudiness_pct\": 0,"
                         " \"initial_soc_pct\": 100, \"battery_latency_s\": 3},\n"
                         "  \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
                         "  \"optimizer\": {\"strategy\": \"self_consumption\"},\n"
                         "  \"control\": {\"inverter\": \"sim-inverter\", \"target_grid_w\": 20}\n"
                         "}\n");
    assert_true(harness_start(d, NULL));
    /* The full battery rests (it would otherwise take nothing and cover the load itself). */
    harness_sleep_ms(1000);
    const char *rest = "{\"command\":\"setpoint\",\"value\":0}";
    struct http_reply reply =
        harness_http(d, "POST", "/api/v1/devices/sim-battery/command", rest, strlen(rest), NULL);
    assert_int_equal(reply.status, 202);
    http_reply_free(&reply);
    harness_sleep_ms(10000);
    int samples = 0, exporting = 0;
    double abs_error_sum = 0;
    for (int i = 0; i < 30; i++) {
        cJSON *status = harness_get_json(d, "/api/v1/status");
        double grid_w = harness_number(status, "grid_w");
        abs_error_sum += fabs(grid_w - 20);
        exporting += grid_w < -50;
        samples++;
        cJSON_Delete(status);
        harness_sleep_ms(400);
    }
    cJSON *control = harness_get_json(d, "/api/v1/control");
    assert_string_equal(harness_text(control, "battery"), "sim-inverter");
    assert_true(harness_number(control, "commands_sent") >= 1);
    assert_true(harness_number(control, "setpoint_w") <
                400); /* the limit sits near the household's load */
    cJSON_Delete(control);
    if (abs_error_sum / samples > 60 || exporting > samples / 5)
        fail_msg("export not held off: mean |grid - 20| %.1f W, %d of %d samples exporting\n%s",
                 abs_error_sum / samples, exporting, samples, harness_log(d));
    cJSON *commands = harness_get_json(d, "/api/v1/commands?device=sim-inverter&limit=1");
    const cJSON *last = cJSON_GetArrayItem(cJSON_GetObjectItem(commands, "commands"), 0);
    assert_string_equal(harness_text(last, "command"), "limit");
    cJSON_Delete(commands);
}

static void expect_post(struct daemon_proc *d, const char *path, const char *body, long status,
                        const char *needle)
{
    struct http_reply reply = harness_http(d, "POST", path, body, strlen(body), NULL);
    if (reply.status != status || !strstr(reply.body, needle))
        fail_msg("POST %s %s: expected %ld with \"%s\", got %ld: %s", path, body, status, needle,
                 reply.status, reply.body);
    http_reply_free(&reply);
}

static void test_api_commands_are_validated_and_logged(void **state)
{
    struct daemon_proc *d = *state;
    write_config(d, true);
    assert_true(harness_start(d, NULL));
    harness_sleep_ms(1500);
    expect_post(d, "/api/v1/devices/sim-battery/command",
                "{\"command\": \"setpoint\", \"value\": 300}", 202, "\"state\":\"pending\"");
    expect_post(d, "/api/v1/devices/sim-battery/command",
                "{\"command\": \"setpoint\", \"value\": 5000}", 400,
                "setpoint: must be between -800 and 800 W, got 5000");
    expect_post(d, "/api/v1/devices/sim-meter/command",
                "{\"command\": \"setpoint\", \"value\": 10}", 400, "takes no commands");
    expect_post(d, "/api/v1/devices/toaster/command", "{\"command\": \"switch\", \"value\": 1}",
                404, "toaster");
    expect_post(d, "/api/v1/devices/sim-battery/command", "{\"command\": \"explode\"}", 400,
                "command: must be one of");
    expect_post(d, "/api/v1/devices/sim-battery/command", "{\"command\": \"setpoint\"}", 400,
                "value: is required");
    expect_post(d, "/api/v1/devices/sim-battery/command", "{\"command\": \"switch\", \"value\": 3}",
                400, "value: \\\"switch\\\" takes 1 (on) or 0 (off)");
    expect_post(d, "/api/v1/devices/sim-battery/command", "not json", 400,
                "body: expected a JSON object");
    /* Executed after the battery's latency, and logged with the control's own commands. */
    harness_sleep_ms(1500);
    cJSON *log = harness_get_json(d, "/api/v1/commands?device=sim-battery&limit=200");
    assert_non_null(log);
    char *log_text = cJSON_PrintUnformatted(log);
    assert_non_null(strstr(log_text, "\"value\":\"300\",\"result\":\"ok\""));
    assert_non_null(strstr(log_text, "setpoint: must be between"));
    free(log_text);
    cJSON_Delete(log);
    struct http_reply reply = harness_http(d, "GET", "/api/v1/commands?limit=0", NULL, 0, NULL);
    assert_int_equal(reply.status, 400);
    http_reply_free(&reply);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_grid_tracks_the_target_within_the_cap, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_inverter_limit_holds_zero_export, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_failsafe_when_the_meter_stops, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_api_commands_are_validated_and_logged, harness_setup,
                                        harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
