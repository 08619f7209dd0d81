/* The real balkonsolard with APsystems EZ1 micro-inverters: a stateful fake answering in the
 * format of APsystems' "EZ1 Local API User Manual" (docs/devices.md, "apsystems_ez1"), and
 * fakes serving the answers users captured from an EZ1-H and an EZ1-D plus the manual's own
 * examples. What a user sees: values in /api/v1/devices and the PV power in /api/v1/status,
 * a limit (setMaxPower) and an off/on switch (setOnOff) reaching the fake and read back,
 * refusals outside the device's range, "FAILED" answers and broken replies as device
 * errors. */
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

/* --- A stateful fake EZ1-M ------------------------------------------------------------ */

struct fake_ez1 {
    struct fake_http *http;
    int max_power_w; /* the limit in force */
    int status;      /* 0 producing, 1 off */
    bool refuses;    /* every set answers "FAILED" */
    int sets;
    char last_set[128];
};

static int ez1_handler(void *user, const char *line, const char *body, const char *authorization,
                       char *reply, size_t size, char *content_type, size_t content_type_size)
{
    struct fake_ez1 *f = user;
    (void)body;
    (void)authorization;
    snprintf(content_type, content_type_size, "application/json");
    const char *tail = ",\"message\":\"SUCCESS\",\"deviceId\":\"E07000000001\"}";
    double p1 = f->status ? 0 : 151.5, p2 = f->status ? 0 : 148.25;
    if (strcmp(line, "GET /getDeviceInfo") == 0) {
        snprintf(reply, size,
                 "{\"data\":{\"deviceId\":\"E07000000001\",\"devVer\":\"EZ1 1.7.5\","
                 "\"ssid\":\"home\",\"ipAddr\":\"127.0.0.1\",\"minPower\":\"30\","
                 "\"maxPower\":\"800\"}%s",
                 tail);
    } else if (strcmp(line, "GET /getOutputData") == 0) {
        snprintf(reply, size,
                 "{\"data\":{\"p1\":%.2f,\"e1\":0.41,\"te1\":123.456,\"p2\":%.2f,\"e2\":0.39,"
                 "\"te2\":120.544}%s",
                 p1, p2, tail);
    } else if (strcmp(line, "GET /getMaxPower") == 0) {
        snprintf(reply, size, "{\"data\":{\"maxPower\":\"%d\"}%s", f->max_power_w, tail);
    } else if (strcmp(line, "GET /getOnOff") == 0) {
        snprintf(reply, size, "{\"data\":{\"status\":\"%d\"}%s", f->status, tail);
    } else if (strncmp(line, "GET /setMaxPower?p=", 19) == 0 ||
               strncmp(line, "GET /setOnOff?status=", 21) == 0) {
        f->sets++;
        snprintf(f->last_set, sizeof f->last_set, "%s", line + 4);
        bool power = line[5] == 's' && line[8] == 'M';
        int value = atoi(strchr(line, '=') + 1);
        if (f->refuses) {
            snprintf(reply, size,
                     "{\"data\":{\"maxPower\":\"%d\"},\"message\":\"FAILED\","
                     "\"deviceId\":\"E07000000001\"}",
                     f->max_power_w);
            return 200;
        }
        if (power)
            f->max_power_w = value;
        else
            f->status = value;
        snprintf(reply, size,
                 power ? "{\"data\":{\"maxPower\":\"%d\"}%s" : "{\"data\":{\"status\":\"%d\"}%s",
                 value, tail);
    } else {
        return 404;
    }
    return 200;
}

static void start_ez1(struct fake_ez1 *f)
{
    *f = (struct fake_ez1){.http = fake_http_start(), .max_power_w = 800};
    assert_non_null(f->http);
    fake_http_route_handler(f->http, "/", ez1_handler, f);
}

static int locked_sets(struct fake_ez1 *f, char *last, size_t size)
{
    fake_http_lock(f->http);
    int n = f->sets;
    if (last)
        snprintf(last, size, "%s", f->last_set);
    fake_http_unlock(f->http);
    return n;
}

static void wait_status_pv_w(struct daemon_proc *d, double expected_w, int timeout_ms)
{
    double pv_w = NAN;
    for (int waited = 0; waited <= timeout_ms; waited += 200) {
        cJSON *status = harness_get_json(d, "/api/v1/status");
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(status, "pv_w");
        pv_w = cJSON_IsNumber(item) ? item->valuedouble : NAN;
        cJSON_Delete(status);
        if (fabs(pv_w - expected_w) <= 0.11)
            return;
        harness_sleep_ms(200);
    }
    fail_msg("/api/v1/status pv_w is %g, expected %g\n%s", pv_w, expected_w, harness_log(d));
}

/* Values, the PV power in the status, a limit and a switch sent and read back, refusals. */
static void test_inverter(void **state)
{
    struct daemon_proc *d = *state;
    struct fake_ez1 f;
    start_ez1(&f);
    int port = fake_http_port(f.http);
    char devices[768];
    snprintf(devices, sizeof devices,
             "{\"id\": \"ez1\", \"type\": \"apsystems_ez1\", \"host\": \"127.0.0.1\", \"port\": %d,"
             " \"max_power_w\": 600, \"poll_interval_s\": 0.5},\n"
             /* The site's balance runs on meter readings: a grid meter beside it. */
             "{\"id\": \"grid\", \"type\": \"http_json\", \"host\": \"127.0.0.1\", \"port\": %d,"
             " \"path\": \"/meter\", \"power_key\": \"power\", \"poll_interval_s\": 0.5}",
             port, port);
    harness_route_json(f.http, "/meter", 200, "{\"power\": -50.0}");
    harness_write_devices_config(d, "ez1 test", devices);
    assert_true(harness_start(d, NULL));

    cJSON *dev = harness_wait_value(d, "ez1", "power_w", 299.75, 1e-6, 10000);
    assert_string_equal(harness_text(dev, "model"), "APsystems EZ1");
    assert_string_equal(harness_text(dev, "firmware"), "EZ1 1.7.5");
    assert_float_equal(harness_device_value(dev, "power_input1_w"), 151.5, 1e-6);
    assert_float_equal(harness_device_value(dev, "power_input2_w"), 148.25, 1e-6);
    assert_float_equal(harness_device_value(dev, "energy_wh"), 244000, 1e-3);
    assert_float_equal(harness_device_value(dev, "yield_day_wh"), 800, 1e-3);
    assert_float_equal(harness_device_value(dev, "limit_w"), 800, 1e-6);
    assert_float_equal(harness_device_value(dev, "max_power_w"), 800, 1e-6);
    assert_float_equal(harness_device_value(dev, "on"), 1, 0);
    cJSON_Delete(dev);
    wait_status_pv_w(d, 299.8, 10000); /* the status rounds to 0.1 W */

    /* A limit: setMaxPower with whole watts, read back through getMaxPower. */
    harness_post_command(d, "ez1", "{\"command\": \"limit\", \"value\": 450.4}", 202, NULL);
    assert_string_equal(harness_wait_command_count(d, "ez1", 1, 20000), "ok");
    char last[128];
    assert_int_equal(locked_sets(&f, last, sizeof last), 1);
    assert_string_equal(last, "/setMaxPower?p=450");
    cJSON_Delete(harness_wait_value(d, "ez1", "limit_w", 450, 1e-6, 5000));

    /* Refused before anything is sent: below the device's minimum, above the cap. */
    harness_post_command(d, "ez1", "{\"command\": \"limit\", \"value\": 20}", 400,
                         "must be between 30 and 600 W, got 20");
    harness_post_command(d, "ez1", "{\"command\": \"limit\", \"value\": 700}", 400,
                         "must be between 30 and 600 W, got 700");
    harness_post_command(d, "ez1", "{\"command\": \"setpoint\", \"value\": 100}", 400,
                         "takes \\\"limit\\\" (W) and \\\"switch\\\"");
    harness_post_command(d, "ez1", "{\"command\": \"switch\", \"value\": 2}", 400, NULL);
    assert_int_equal(locked_sets(&f, NULL, 0), 1);

    /* Off: setOnOff?status=1, read back, no output; on again. */
    harness_post_command(d, "ez1", "{\"command\": \"switch\", \"value\": 0}", 202, NULL);
    assert_string_equal(harness_wait_command_result(d, "ez1", "switch", "0", 20000), "ok");
    locked_sets(&f, last, sizeof last);
    assert_string_equal(last, "/setOnOff?status=1");
    dev = harness_wait_value(d, "ez1", "on", 0, 1e-9, 5000);
    cJSON_Delete(dev);
    cJSON_Delete(harness_wait_value(d, "ez1", "power_w", 0, 1e-9, 5000));
    wait_status_pv_w(d, 0, 10000);
    harness_post_command(d, "ez1", "{\"command\": \"switch\", \"value\": 1}", 202, NULL);
    assert_string_equal(harness_wait_command_result(d, "ez1", "switch", "1", 20000), "ok");
    locked_sets(&f, last, sizeof last);
    assert_string_equal(last, "/setOnOff?status=0");
    cJSON_Delete(harness_wait_value(d, "ez1", "on", 1, 1e-9, 5000));
    fake_http_stop(f.http);
}

/* A set answered "FAILED" ends with its reason after three attempts; a getOutputData that
 * says FAILED, garbage, HTTP 500, a missing field or a hang turn the device offline with
 * their reason. All in parallel. */
static void test_failures(void **state)
{
    struct daemon_proc *d = *state;
    const char *ids[] = {"refuses", "failed", "garbage", "e500", "nofield", "hangs"};
    enum { N = sizeof ids / sizeof *ids };
    struct fake_ez1 f[N];
    char devices[4096] = "";
    size_t used = 0;
    for (int i = 0; i < N; i++) {
        start_ez1(&f[i]);
        used += (size_t)snprintf(
            devices + used, sizeof devices - used,
            "%s{\"id\": \"%s\", \"type\": \"apsystems_ez1\", \"host\": \"127.0.0.1\", \"port\": %d,"
            " \"poll_interval_s\": 0.5, \"timeout_s\": 0.5}",
            i ? ",\n" : "", ids[i], fake_http_port(f[i].http));
    }
    f[0].refuses = true;
    harness_write_devices_config(d, "ez1 test", devices);
    assert_true(harness_start(d, NULL));
    for (int i = 0; i < N; i++)
        cJSON_Delete(harness_wait_value(d, ids[i], "power_w", 299.75, 1e-6, 10000));

    harness_post_command(d, "refuses", "{\"command\": \"limit\", \"value\": 300}", 202, NULL);

    const char *failed = "{\"data\":{},\"message\":\"FAILED\",\"deviceId\":\"E07000000001\"}";
    const char *nofield = "{\"data\":{\"p1\":1,\"e1\":0,\"te1\":0,\"p2\":2,\"e2\":0},"
                          "\"message\":\"SUCCESS\",\"deviceId\":\"E07000000001\"}";
    fake_http_route(f[1].http, "/getOutputData", 200, "application/json", failed, strlen(failed),
                    NULL, 0);
    fake_http_route(f[2].http, "/getOutputData", 200, "text/html", "<html>", 6, NULL, 0);
    fake_http_route(f[3].http, "/getOutputData", 500, "text/plain", "oops", 4, NULL, 0);
    fake_http_route(f[4].http, "/getOutputData", 200, "application/json", nofield, strlen(nofield),
                    NULL, 0);
    fake_http_route(f[5].http, "/getOutputData", 200, "application/json", "{}", 2, NULL, 3000);

    harness_wait_offline(d, "failed", "getOutputData: the inverter answered FAILED", 40000);
    harness_wait_offline(d, "garbage", "getOutputData: the reply is not JSON", 10000);
    harness_wait_offline(d, "e500", "getOutputData: HTTP 500", 10000);
    harness_wait_offline(d, "nofield", "getOutputData: data.te2 missing or not a number", 10000);
    harness_wait_offline(d, "hangs", "timed out", 10000);

    assert_string_equal(harness_wait_command_count(d, "refuses", 1, 40000),
                        "setMaxPower: the inverter answered FAILED (after 3 attempts)");
    assert_int_equal(locked_sets(&f[0], NULL, 0), 3);
    cJSON *dev = harness_device(d, "refuses");
    assert_true(harness_device_online(dev));
    assert_float_equal(harness_device_value(dev, "limit_w"), 800, 1e-6);
    cJSON_Delete(dev);
    for (int i = 0; i < N; i++)
        fake_http_stop(f[i].http);
}

/* --- Real captures and the manual's examples ------------------------------------------ */

static char *real_fixture(const char *name)
{
    const char *root = getenv("BALKON_FIXTURES");
    assert_non_null(root);
    char path[512];
    snprintf(path, sizeof path, "%s/real/apsystems_ez1/%s", root, name);
    char *text = fake_read_file(path, NULL);
    if (!text)
        fail_msg("cannot read %s", path);
    return text;
}

/* data[key] of a captured answer, a number or a numeric string, read by the test itself. */
static double captured(const char *text, const char *key)
{
    cJSON *json = cJSON_Parse(text);
    const cJSON *item = cJSON_GetObjectItem(cJSON_GetObjectItem(json, "data"), key);
    double v = cJSON_IsNumber(item)   ? item->valuedouble
               : cJSON_IsString(item) ? strtod(item->valuestring, NULL)
                                      : NAN;
    cJSON_Delete(json);
    assert_false(isnan(v));
    return v;
}

static const char *captured_text(const char *text, const char *key, char *out, size_t size)
{
    cJSON *json = cJSON_Parse(text);
    const cJSON *item = cJSON_GetObjectItem(cJSON_GetObjectItem(json, "data"), key);
    assert_true(cJSON_IsString(item));
    snprintf(out, size, "%s", item->valuestring);
    cJSON_Delete(json);
    return out;
}

/* An EZ1-H's getDeviceInfo (a user's capture: maxPower 960) with the manual's examples for
 * getOutputData, getMaxPower and getOnOff; an EZ1-D's getDeviceInfo (minPower 80,
 * maxPower 1800) whose getMaxPower is not there (that model moved it): read without a
 * limit, and the limit's range taken from the device. */
static void test_real_answers(void **state)
{
    struct harness_fixture *fx = *state;
    struct daemon_proc *d = &fx->daemon;
    char *info_h = real_fixture("getdeviceinfo_ez1h.json");
    char *info_d = real_fixture("getdeviceinfo_ez1d.json");
    char *output = real_fixture("doc_getoutputdata.json");
    char *max_power = real_fixture("doc_getmaxpower.json");
    char *onoff = real_fixture("doc_getonoff.json");
    harness_route_json(fx->fakes[0], "/getDeviceInfo", 200, info_h);
    harness_route_json(fx->fakes[0], "/getOutputData", 200, output);
    harness_route_json(fx->fakes[0], "/getMaxPower", 200, max_power);
    harness_route_json(fx->fakes[0], "/getOnOff", 200, onoff);
    harness_route_json(fx->fakes[1], "/getDeviceInfo", 200, info_d);
    harness_route_json(fx->fakes[1], "/getOutputData", 200, output);
    harness_route_json(fx->fakes[1], "/getOnOff", 200, onoff);
    char devices[512];
    snprintf(
        devices, sizeof devices,
        "{\"id\": \"ez1h\", \"type\": \"apsystems_ez1\", \"host\": \"127.0.0.1\", \"port\": %d,"
        " \"max_power_w\": 2000, \"poll_interval_s\": 0.5},\n"
        "{\"id\": \"ez1d\", \"type\": \"apsystems_ez1\", \"host\": \"127.0.0.1\", \"port\": %d,"
        " \"max_power_w\": 2000, \"poll_interval_s\": 0.5}",
        fake_http_port(fx->fakes[0]), fake_http_port(fx->fakes[1]));
    harness_write_devices_config(d, "real ez1", devices);
    assert_true(harness_start(d, NULL));

    char text[64];
    cJSON *dev =
        harness_wait_value(d, "ez1h", "limit_w", captured(max_power, "maxPower"), 1e-9, 10000);
    assert_string_equal(harness_text(dev, "firmware"),
                        captured_text(info_h, "devVer", text, sizeof text));
    assert_float_equal(harness_device_value(dev, "max_power_w"), captured(info_h, "maxPower"),
                       1e-9);
    assert_float_equal(harness_device_value(dev, "power_w"),
                       captured(output, "p1") + captured(output, "p2"), 1e-9);
    assert_float_equal(harness_device_value(dev, "energy_wh"),
                       (captured(output, "te1") + captured(output, "te2")) * 1000, 1e-9);
    assert_float_equal(harness_device_value(dev, "on"), captured(onoff, "status") == 0, 0);
    /* By hand: the manual's getMaxPower says 600 W; the EZ1-H goes up to 960 W. */
    assert_float_equal(harness_device_value(dev, "limit_w"), 600, 0);
    assert_float_equal(harness_device_value(dev, "max_power_w"), 960, 0);
    cJSON_Delete(dev);
    /* The device's range bounds a limit: 961 W is refused although the cap is 2000. */
    harness_post_command(d, "ez1h", "{\"command\": \"limit\", \"value\": 961}", 400,
                         "must be between 30 and 960 W, got 961");

    dev = harness_wait_value(d, "ez1d", "max_power_w", captured(info_d, "maxPower"), 1e-9, 10000);
    assert_string_equal(harness_text(dev, "firmware"),
                        captured_text(info_d, "devVer", text, sizeof text));
    assert_true(isnan(harness_device_value(dev, "limit_w")));
    assert_true(harness_device_online(dev));
    cJSON_Delete(dev);
    harness_post_command(d, "ez1d", "{\"command\": \"limit\", \"value\": 79}", 400,
                         "must be between 80 and 1800 W, got 79");

    free(info_h);
    free(info_d);
    free(output);
    free(max_power);
    free(onoff);
}

static void test_check_config(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_site_config(d, "ez1 test", NULL,
                              "{\"id\": \"a\", \"type\": \"apsystems_ez1\"},\n"
                              "{\"id\": \"b\", \"type\": \"apsystems_ez1\", \"host\": \"10.0.0.9\","
                              " \"max_power_w\": 0}");
    char out[4096];
    assert_int_equal(harness_check_config(d, out, sizeof out), 2);
    assert_non_null(strstr(out, "devices[0].host: is required for type \"apsystems_ez1\""));
    assert_non_null(strstr(out, "devices[1].max_power_w: must be > 0 for type \"apsystems_ez1\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_inverter, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_failures, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_real_answers, harness_setup_fakes,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_check_config, harness_setup, harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
