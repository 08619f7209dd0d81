/* The real balkonsolard with ESPHome devices behind a fake answering in the web server's
 * documented REST format (docs/devices.md, "esphome"): a meter whose power sensor reaches
 * /api/v1/devices and /api/v1/status, a battery (power in kW, SoC), a plug switched through
 * POST /switch/<id>/turn_on|turn_off (asserted on the wire) and read back, entity names
 * with spaces percent-encoded, and each broken answer (no reading yet, unknown entity, not
 * JSON) as a device error naming the entity. Plus a user's captured power sensor answer
 * and the documentation's examples. */
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

struct fake_esphome {
    struct fake_http *http;
    bool relay_on;
    int posts;
    char last_post[128];
};

static int esphome_handler(void *user, const char *line, const char *body,
                           const char *authorization, char *reply, size_t size, char *content_type,
                           size_t content_type_size)
{
    struct fake_esphome *f = user;
    (void)body;
    (void)authorization;
    snprintf(content_type, content_type_size, "application/json");
    if (strcmp(line, "GET /sensor/grid_power") == 0)
        snprintf(reply, size,
                 "{\"id\":\"sensor-grid_power\",\"value\":-412.5,\"state\":\"-412 W\"}");
    else if (strcmp(line, "GET /sensor/Battery Power") == 0) /* the fake decodes the path */
        snprintf(reply, size,
                 "{\"id\":\"sensor-battery_power\",\"value\":-0.85,\"state\":\"-0.85 kW\"}");
    else if (strcmp(line, "GET /sensor/Battery SoC") == 0)
        snprintf(reply, size, "{\"id\":\"sensor-battery_soc\",\"value\":64,\"state\":\"64 %%\"}");
    else if (strcmp(line, "GET /sensor/plug_power") == 0)
        snprintf(reply, size, "{\"id\":\"sensor-plug_power\",\"value\":%s,\"state\":\"%s\"}",
                 f->relay_on ? "61.2" : "0", f->relay_on ? "61.2 W" : "0.0 W");
    else if (strcmp(line, "GET /sensor/plug_energy") == 0)
        snprintf(reply, size,
                 "{\"id\":\"sensor-plug_energy\",\"value\":3.217,\"state\":\"3.217 kWh\"}");
    else if (strcmp(line, "GET /switch/relay") == 0)
        snprintf(reply, size, "{\"id\":\"switch-relay\",\"value\":%s,\"state\":\"%s\"}",
                 f->relay_on ? "true" : "false", f->relay_on ? "ON" : "OFF");
    else if (strcmp(line, "GET /sensor/fresh") == 0) /* booted, no reading yet */
        snprintf(reply, size, "{\"id\":\"sensor-fresh\",\"state\":\"NA\"}");
    else if (strcmp(line, "GET /sensor/html") == 0) {
        snprintf(content_type, content_type_size, "text/html");
        snprintf(reply, size, "<html>");
    } else if (strcmp(line, "POST /switch/relay/turn_on") == 0 ||
               strcmp(line, "POST /switch/relay/turn_off") == 0) {
        f->posts++;
        snprintf(f->last_post, sizeof f->last_post, "%s", line);
        f->relay_on = strstr(line, "turn_on") != NULL;
        reply[0] = '\0';
        snprintf(content_type, content_type_size, "text/plain");
    } else {
        reply[0] = '\0';
        return 404;
    }
    return 200;
}

static int locked_posts(struct fake_esphome *f, char *last, size_t size)
{
    fake_http_lock(f->http);
    int n = f->posts;
    if (last)
        snprintf(last, size, "%s", f->last_post);
    fake_http_unlock(f->http);
    return n;
}

static void wait_status(struct daemon_proc *d, const char *key, double expected, int timeout_ms)
{
    double got = NAN;
    for (int waited = 0; waited <= timeout_ms; waited += 200) {
        cJSON *status = harness_get_json(d, "/api/v1/status");
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(status, key);
        got = cJSON_IsNumber(item) ? item->valuedouble : NAN;
        cJSON_Delete(status);
        if (fabs(got - expected) <= 0.11)
            return;
        harness_sleep_ms(200);
    }
    fail_msg("/api/v1/status %s is %g, expected %g\n%s", key, got, expected, harness_log(d));
}

static void test_devices(void **state)
{
    struct daemon_proc *d = *state;
    struct fake_esphome f = {.http = fake_http_start()};
    assert_non_null(f.http);
    fake_http_route_handler(f.http, "/", esphome_handler, &f);
    int port = fake_http_port(f.http);
    char devices[2048];
    snprintf(
        devices, sizeof devices,
        "{\"id\": \"grid\", \"type\": \"esphome\", \"host\": \"127.0.0.1\", \"port\": %d,"
        " \"power_key\": \"grid_power\", \"poll_interval_s\": 0.5},\n"
        "{\"id\": \"bat\", \"type\": \"esphome\", \"role\": \"battery\", \"host\": "
        "\"127.0.0.1\", \"port\": %d, \"power_key\": \"Battery Power\", \"power_scale\": -1,"
        " \"soc_key\": \"Battery SoC\", \"poll_interval_s\": 0.5},\n"
        "{\"id\": \"plug\", \"type\": \"esphome\", \"role\": \"plug\", \"host\": \"127.0.0.1\","
        " \"port\": %d, \"power_key\": \"plug_power\", \"state_key\": \"relay\","
        " \"energy_key\": \"plug_energy\","
        " \"poll_interval_s\": 0.5},\n"
        "{\"id\": \"fresh\", \"type\": \"esphome\", \"host\": \"127.0.0.1\", \"port\": %d,"
        " \"power_key\": \"fresh\", \"poll_interval_s\": 0.5},\n"
        "{\"id\": \"missing\", \"type\": \"esphome\", \"host\": \"127.0.0.1\", \"port\": %d,"
        " \"power_key\": \"no_such\", \"poll_interval_s\": 0.5},\n"
        "{\"id\": \"html\", \"type\": \"esphome\", \"host\": \"127.0.0.1\", \"port\": %d,"
        " \"power_key\": \"html\", \"poll_interval_s\": 0.5}",
        port, port, port, port, port, port);
    harness_write_devices_config(d, "esphome test", devices);
    assert_true(harness_start(d, NULL));

    cJSON *dev = harness_wait_value(d, "grid", "power_w", -412.5, 1e-9, 10000);
    assert_string_equal(harness_text(dev, "model"), "ESPHome");
    cJSON_Delete(dev);
    wait_status(d, "grid_w", -412.5, 10000);
    /* kW scaled to W, then power_scale -1 (the sensor counts charging as negative). */
    dev = harness_wait_value(d, "bat", "power_w", 850, 1e-9, 10000);
    assert_float_equal(harness_device_value(dev, "soc_pct"), 64, 1e-9);
    cJSON_Delete(dev);
    wait_status(d, "battery_w", 850, 10000);
    wait_status(d, "soc_pct", 64, 10000);
    dev = harness_wait_value(d, "plug", "on", 0, 1e-9, 10000);
    assert_float_equal(harness_device_value(dev, "power_w"), 0, 1e-9);
    assert_float_equal(harness_device_value(dev, "energy_wh"), 3217, 1e-6); /* kWh → Wh */
    cJSON_Delete(dev);

    harness_post_command(d, "plug", "{\"command\": \"switch\", \"value\": 1}", 202, NULL);
    assert_string_equal(harness_wait_command_result(d, "plug", "switch", "1", 20000), "ok");
    char last[128];
    assert_int_equal(locked_posts(&f, last, sizeof last), 1);
    assert_string_equal(last, "POST /switch/relay/turn_on");
    dev = harness_wait_value(d, "plug", "power_w", 61.2, 1e-9, 5000);
    assert_float_equal(harness_device_value(dev, "on"), 1, 0);
    cJSON_Delete(dev);
    harness_post_command(d, "plug", "{\"command\": \"switch\", \"value\": 0}", 202, NULL);
    assert_string_equal(harness_wait_command_result(d, "plug", "switch", "0", 20000), "ok");
    locked_posts(&f, last, sizeof last);
    assert_string_equal(last, "POST /switch/relay/turn_off");
    cJSON_Delete(harness_wait_value(d, "plug", "on", 0, 1e-9, 5000));
    /* A meter takes no switch. */
    harness_post_command(d, "grid", "{\"command\": \"switch\", \"value\": 1}", 400, NULL);
    assert_int_equal(locked_posts(&f, NULL, 0), 2);

    harness_wait_offline(d, "fresh", "sensor/fresh: no value (state \"NA\")", 10000);
    harness_wait_offline(d, "missing", "sensor/no_such: HTTP 404", 10000);
    harness_wait_offline(d, "html", "sensor/html: the reply is not JSON", 10000);
    fake_http_stop(f.http);
}

/* --- Captured and documented answers --------------------------------------------------- */

static char *fixture(const char *name)
{
    const char *root = getenv("BALKON_FIXTURES");
    assert_non_null(root);
    char path[512];
    snprintf(path, sizeof path, "%s/real/esphome/%s", root, name);
    char *text = fake_read_file(path, NULL);
    if (!text)
        fail_msg("cannot read %s", path);
    return text;
}

static double json_value(const char *text)
{
    cJSON *json = cJSON_Parse(text);
    const cJSON *value = cJSON_GetObjectItem(json, "value");
    double v = cJSON_IsBool(value) ? cJSON_IsTrue(value) : value->valuedouble;
    cJSON_Delete(json);
    return v;
}

/* A user's GET /sensor/power answer as a meter; the documentation's sensor example as an
 * inverter's power; its binary-sensor example (switches report the same) as a plug's
 * switch. */
static void test_captured(void **state)
{
    struct harness_fixture *fx = *state;
    struct daemon_proc *d = &fx->daemon;
    char *power = fixture("sensor_power_capture.json");
    char *doc_sensor = fixture("doc_sensor_outside_temperature.json");
    char *doc_switch = fixture("doc_binary_sensor_living_room_status.json");
    harness_route_json(fx->fakes[0], "/sensor/power", 200, power);
    harness_route_json(fx->fakes[0], "/sensor/outside_temperature", 200, doc_sensor);
    harness_route_json(fx->fakes[0], "/switch/living_room_status", 200, doc_switch);
    int port = fake_http_port(fx->fakes[0]);
    char devices[1024];
    snprintf(devices, sizeof devices,
             "{\"id\": \"m\", \"type\": \"esphome\", \"host\": \"127.0.0.1\", \"port\": %d,"
             " \"power_key\": \"power\", \"poll_interval_s\": 0.5},\n"
             "{\"id\": \"pv\", \"type\": \"esphome\", \"role\": \"inverter\", \"host\": "
             "\"127.0.0.1\", \"port\": %d, \"power_key\": \"outside_temperature\","
             " \"poll_interval_s\": 0.5},\n"
             "{\"id\": \"p\", \"type\": \"esphome\", \"role\": \"plug\", \"host\": \"127.0.0.1\","
             " \"port\": %d, \"state_key\": \"living_room_status\", \"poll_interval_s\": 0.5}",
             port, port, port);
    harness_write_devices_config(d, "captured esphome", devices);
    assert_true(harness_start(d, NULL));
    /* The API rounds to 3 decimals. */
    cJSON_Delete(harness_wait_value(d, "m", "power_w", json_value(power), 0.0006, 10000));
    cJSON_Delete(harness_wait_value(d, "pv", "power_w", json_value(doc_sensor), 0.0006, 10000));
    cJSON *dev = harness_wait_value(d, "p", "on", json_value(doc_switch), 1e-9, 10000);
    assert_true(isnan(harness_device_value(dev, "power_w")));
    cJSON_Delete(dev);
    /* By hand: the capture's 35.08036 W. */
    dev = harness_device(d, "m");
    assert_float_equal(harness_device_value(dev, "power_w"), 35.08, 0.0006);
    cJSON_Delete(dev);
    free(power);
    free(doc_sensor);
    free(doc_switch);
}

static void test_check_config(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_site_config(
        d, "esphome test", NULL,
        "{\"id\": \"a\", \"type\": \"esphome\", \"host\": \"10.0.0.9\"},\n"
        "{\"id\": \"b\", \"type\": \"esphome\", \"host\": \"10.0.0.9\", \"role\": \"plug\"},\n"
        "{\"id\": \"c\", \"type\": \"esphome\", \"host\": \"10.0.0.9\", \"power_key\": \"a/b\","
        " \"soc_key\": \"soc\"}");
    char out[4096];
    assert_int_equal(harness_check_config(d, out, sizeof out), 2);
    assert_non_null(strstr(out, "devices[0].power_key: is required for an \"esphome\" meter"));
    assert_non_null(strstr(out, "devices[1].state_key: is required for an \"esphome\" plug"));
    assert_non_null(strstr(out, "devices[2].power_key: must be an entity's id or name"));
    assert_non_null(strstr(out, "devices[2].soc_key: is read for role \"battery\" only"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_devices, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_captured, harness_setup_fake, harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_check_config, harness_setup, harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
