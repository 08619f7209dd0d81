/* The real balkonsolard reading generic HTTP JSON devices (type "http_json") from a fake on
 * loopback: a meter whose power sits deep in the reply with its sign flipped by power_scale,
 * a battery with its SoC and a plug with an "ON"/"OFF" state, all as the user sees them in
 * /api/v1/devices and /api/v1/status; config errors naming the field; garbage, a missing key
 * and HTTP 500 shown as the device's error while the daemon keeps running. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_http.h"
#include "harness.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double number_or_nan(const cJSON *json, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(json, key);
    return cJSON_IsNumber(item) ? item->valuedouble : NAN;
}

static void assert_roles(const cJSON *device, const char *role)
{
    const cJSON *roles = cJSON_GetObjectItemCaseSensitive(device, "roles");
    assert_int_equal(cJSON_GetArraySize(roles), 1);
    assert_string_equal(cJSON_GetArrayItem(roles, 0)->valuestring, role);
}

static void test_meter_battery_and_plug_reach_the_api(void **state)
{
    struct harness_fixture *f = *state;
    struct daemon_proc *d = &f->daemon;
    /* An SML reading head that counts export as positive, a battery, a plug. */
    harness_route_json(
        f->fakes[0], "/api/live", 200,
        "{\"device\":\"reader-1\",\"sml\":{\"meters\":[{\"obis\":\"1-0:16.7.0\",\"power\":"
        "\"412.3\"},"
        "{\"obis\":\"1-0:1.8.0\",\"energy\":12345.6}]}}");
    harness_route_json(f->fakes[0], "/battery", 200,
                       "{\"bat\":{\"p\":-250,\"soc\":63.5,\"temp\":21.0}}");
    harness_route_json(f->fakes[0], "/plug", 200,
                       "{\"StatusSNS\":{\"ENERGY\":{\"Power\":0.035}},\"POWER\":\"ON\"}");
    char devices[2048];
    int port = fake_http_port(f->fakes[0]);
    snprintf(
        devices, sizeof devices,
        "{\"id\": \"reader\", \"type\": \"http_json\", \"host\": \"127.0.0.1\", \"port\": %d,"
        " \"path\": \"/api/live\", \"power_key\": \"sml.meters[0].power\", \"power_scale\": -1,"
        " \"poll_interval_s\": 0.5},"
        "{\"id\": \"bat\", \"type\": \"http_json\", \"role\": \"battery\", \"host\": \"127.0.0.1\","
        " \"port\": %d, \"path\": \"/battery\", \"power_key\": \"bat.p\", \"soc_key\": \"bat.soc\","
        " \"poll_interval_s\": 0.5},"
        "{\"id\": \"lamp\", \"type\": \"http_json\", \"role\": \"plug\", \"host\": \"127.0.0.1\","
        " \"port\": %d, \"path\": \"/plug\", \"power_key\": \"StatusSNS.ENERGY.Power\", "
        "\"power_scale\": 1000,"
        " \"state_key\": \"POWER\", \"poll_interval_s\": 0.5}",
        port, port, port);
    harness_write_devices_config(d, "http_json test", devices);
    assert_true(harness_start(d, NULL));

    cJSON *reader = harness_wait_state(d, "reader", true, "power_w", 10000);
    assert_string_equal(harness_text(reader, "type"), "http_json");
    assert_roles(reader, "meter");
    assert_true(harness_device_value(reader, "power_w") == -412.3);
    cJSON_Delete(reader);
    cJSON *bat = harness_wait_state(d, "bat", true, "soc_pct", 5000);
    assert_roles(bat, "battery");
    assert_true(harness_device_value(bat, "power_w") == -250);
    assert_true(harness_device_value(bat, "soc_pct") == 63.5);
    cJSON_Delete(bat);
    cJSON *lamp = harness_wait_state(d, "lamp", true, "on", 5000);
    assert_roles(lamp, "plug");
    assert_true(harness_device_value(lamp, "on") == 1);
    assert_true(harness_device_value(lamp, "power_w") == 35);
    cJSON_Delete(lamp);

    /* The site's balance: exporting 412.3 W while the battery charges with 250 W. */
    cJSON *status = NULL;
    for (int waited = 0; waited <= 8000; waited += 200) {
        cJSON_Delete(status);
        status = harness_get_json(d, "/api/v1/status");
        if (fabs(number_or_nan(status, "grid_w") + 412.3) < 0.01 &&
            fabs(number_or_nan(status, "battery_w") + 250) < 0.01)
            break;
        harness_sleep_ms(200);
    }
    char *shown = cJSON_PrintUnformatted(status);
    if (!(fabs(number_or_nan(status, "grid_w") + 412.3) < 0.01) ||
        number_or_nan(status, "soc_pct") != 63.5)
        fail_msg("/api/v1/status: %s", shown);
    free(shown);
    cJSON_Delete(status);
    char line[256];
    fake_http_last(f->fakes[0], "/api/live", line, sizeof line, NULL, 0, NULL, 0);
    assert_string_equal(line, "GET /api/live");

    /* The generic device takes no commands. */
    const char *body = "{\"command\": \"switch\", \"value\": 0}";
    struct http_reply reply =
        harness_http(d, "POST", "/api/v1/devices/lamp/command", body, strlen(body), NULL);
    assert_int_equal(reply.status, 400);
    assert_non_null(strstr(reply.body, "takes no commands"));
    http_reply_free(&reply);
}

static void test_config_check_names_the_fields(void **state)
{
    struct harness_fixture *f = *state;
    struct daemon_proc *d = &f->daemon;
    harness_write_devices_config(
        d, "http_json test",
        "{\"id\": \"m\", \"type\": \"http_json\", \"host\": \"10.0.0.9\"},"
        "{\"id\": \"n\", \"type\": \"http_json\", \"path\": \"status\", \"power_key\": \"p\","
        " \"role\": \"toaster\", \"power_scale\": 0}");
    char out[4096];
    assert_int_equal(harness_check_config(d, out, sizeof out), 2);
    const char *expected[] = {
        "devices[0].path: is required for type \"http_json\"",
        "devices[0].power_key: is required for type \"http_json\"",
        "devices[1].host: is required for type \"http_json\"",
        "devices[1].path: must start with \"/\", got \"status\"",
        "devices[1].role: must be \"meter\", \"inverter\", \"battery\" or \"plug\", got "
        "\"toaster\"",
        "devices[1].power_scale: must not be 0",
    };
    for (size_t i = 0; i < sizeof expected / sizeof *expected; i++)
        if (!strstr(out, expected[i]))
            fail_msg("--check-config did not say \"%s\":\n%s", expected[i], out);
    assert_null(strstr(out, "devices[0].host"));
}

static void test_bad_replies_are_shown_and_the_daemon_keeps_running(void **state)
{
    struct harness_fixture *f = *state;
    struct daemon_proc *d = &f->daemon;
    const char *garbage = "<html><body>It works!</body></html>";
    fake_http_route(f->fakes[0], "/garbage", 200, "text/html", garbage, strlen(garbage), NULL, 0);
    harness_route_json(f->fakes[0], "/renamed", 200, "{\"sml\":{\"meters\":[{\"watts\":412.3}]}}");
    harness_route_json(f->fakes[0], "/broken", 500, "{\"error\":\"internal\"}");
    harness_route_json(f->fakes[0], "/good", 200, "{\"power\":-100}");
    int port = fake_http_port(f->fakes[0]);
    char devices[2048];
    snprintf(devices, sizeof devices,
             "{\"id\": \"garbage\", \"type\": \"http_json\", \"host\": \"127.0.0.1\", \"port\": %d,"
             " \"path\": \"/garbage\", \"power_key\": \"power\", \"poll_interval_s\": 0.5},"
             "{\"id\": \"renamed\", \"type\": \"http_json\", \"host\": \"127.0.0.1\", \"port\": %d,"
             " \"path\": \"/renamed\", \"power_key\": \"sml.meters[0].power\", "
             "\"poll_interval_s\": 0.5},"
             "{\"id\": \"broken\", \"type\": \"http_json\", \"host\": \"127.0.0.1\", \"port\": %d,"
             " \"path\": \"/broken\", \"power_key\": \"power\", \"poll_interval_s\": 0.5},"
             "{\"id\": \"good\", \"type\": \"http_json\", \"host\": \"127.0.0.1\", \"port\": %d,"
             " \"path\": \"/good\", \"power_key\": \"power\", \"poll_interval_s\": 0.5}",
             port, port, port, port);
    harness_write_devices_config(d, "http_json test", devices);
    assert_true(harness_start(d, NULL));
    const char *ids[] = {"garbage", "renamed", "broken"};
    const char *errors[] = {"/garbage: the reply is not JSON",
                            "/renamed: sml.meters[0].power missing or not a number",
                            "/broken: HTTP 500"};
    for (size_t i = 0; i < 3; i++) {
        cJSON *device = harness_wait_state(d, ids[i], false, NULL, 12000);
        assert_string_equal(harness_text(device, "error"), errors[i]);
        cJSON_Delete(device);
    }
    /* The others keep running. */
    cJSON *good = harness_wait_state(d, "good", true, "power_w", 2000);
    assert_true(harness_device_value(good, "power_w") == -100);
    cJSON_Delete(good);
    harness_route_json(f->fakes[0], "/garbage", 200, "{\"power\":\"17.5\"}");
    cJSON *back = harness_wait_state(d, "garbage", true, "power_w", 5000);
    assert_true(harness_device_value(back, "power_w") == 17.5);
    cJSON_Delete(back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_meter_battery_and_plug_reach_the_api,
                                        harness_setup_fake, harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_config_check_names_the_fields, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_bad_replies_are_shown_and_the_daemon_keeps_running,
                                        harness_setup_fake, harness_teardown_fakes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
