/* The real balkonsolard with Tasmota devices: fake plugs and SML meter readers on HTTP
 * answering in Tasmota's documented formats (docs/devices.md, "tasmota"), and devices played
 * through a real mosquitto broker. What a user sees: values, model and firmware, the role
 * chosen from the config, switch commands verified (or failing with the reason), and each
 * kind of broken reply turning a device offline with its own error text while the others
 * keep running. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_http.h"
#include "harness.h"
#include "mqtt_broker.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- A stateful fake plug ----------------------------------------------------------- */

struct fake_plug {
    struct fake_http *http;
    const char *password; /* "" = no web password */
    bool single_relay;    /* answers "POWER" instead of "POWER1" */
    bool ignores;         /* answers commands but never switches */
    int on;
    int commands; /* Power1 On/Off received */
};

static int plug_handler(void *user, const char *line, const char *body, const char *authorization,
                        char *reply, size_t size, char *content_type, size_t content_type_size)
{
    struct fake_plug *p = user;
    snprintf(content_type, content_type_size, "application/json");
    if (p->password[0]) {
        char expect[128];
        snprintf(expect, sizeof expect, "?user=admin&password=%s&cmnd=", p->password);
        if (!strstr(line, expect)) {
            snprintf(reply, size, "{\"WARNING\":\"Need user=<username>&password=<password>\"}");
            return 200;
        }
    }
    const char *cmnd = strstr(line, "cmnd=");
    if (!cmnd)
        return 400;
    cmnd += strlen("cmnd=");
    const char *key = p->single_relay ? "POWER" : "POWER1";
    if (strcmp(cmnd, "Status 0") == 0) {
        snprintf(
            reply, size,
            "{\"Status\":{\"Module\":0,\"DeviceName\":\"Nous A1T\",\"FriendlyName\":[\"Tasmota\"],"
            "\"Topic\":\"tasmota_F97904\",\"ButtonTopic\":\"0\",\"Power\":\"%d\",\"PowerLock\":"
            "\"0\","
            "\"PowerOnState\":3,\"LedState\":1},"
            "\"StatusFWR\":{\"Version\":\"13.2.0(tasmota)\",\"BuildDateTime\":\"2023-10-11T11:47:"
            "12\","
            "\"Boot\":31,\"Core\":\"2_7_4_9\",\"SDK\":\"2.2.2-dev(38a443e)\",\"CpuFrequency\":80,"
            "\"Hardware\":\"ESP8266EX\",\"CR\":\"430/699\"}}",
            p->on);
    } else if (strcmp(cmnd, "Status 8") == 0) {
        snprintf(reply, size,
                 "{\"StatusSNS\":{\"Time\":\"2018-11-15T08:54:18\",\"ENERGY\":{\"TotalStartTime\":"
                 "\"2018-11-14T18:39:40\",\"Total\":6.404,\"Yesterday\":5.340,\"Today\":1.064,"
                 "\"Power\":%d,"
                 "\"ApparentPower\":%d,\"ReactivePower\":0,\"Factor\":0.99,\"Voltage\":226,"
                 "\"Current\":%.3f}}}",
                 p->on ? 87 : 0, p->on ? 88 : 0, p->on ? 0.385 : 0.0);
    } else if (strcasecmp(cmnd, "Power1") == 0) {
        snprintf(reply, size, "{\"%s\":\"%s\"}", key, p->on ? "ON" : "OFF");
    } else if (strcasecmp(cmnd, "Power1 On") == 0 || strcasecmp(cmnd, "Power1 Off") == 0) {
        p->commands++;
        if (!p->ignores)
            p->on = strcasecmp(cmnd, "Power1 On") == 0;
        snprintf(reply, size, "{\"%s\":\"%s\"}", key, p->on ? "ON" : "OFF");
    } else {
        snprintf(reply, size, "{\"Command\":\"Unknown\"}");
    }
    return 200;
}

static int plug_commands(struct fake_plug *p)
{
    fake_http_lock(p->http);
    int n = p->commands;
    fake_http_unlock(p->http);
    return n;
}

/* --- HTTP plugs --------------------------------------------------------------------- */

/* A plug behind a web password switched on and off, verified by reading the relay back; a
 * plug that ignores commands fails after three attempts with what it read back. */
static void test_http_plug_switch(void **state)
{
    struct daemon_proc *d = *state;
    struct fake_plug plug = {.http = fake_http_start(), .password = "s3cret", .single_relay = true};
    struct fake_plug stuck = {.http = fake_http_start(), .password = "", .ignores = true};
    assert_non_null(plug.http);
    assert_non_null(stuck.http);
    fake_http_route_handler(plug.http, "/cm", plug_handler, &plug);
    fake_http_route_handler(stuck.http, "/cm", plug_handler, &stuck);

    /* "stuck" has neither role nor power_key: without a power_key a Tasmota is a plug. */
    char devices[1024];
    snprintf(devices, sizeof devices,
             "{\"id\": \"plug\", \"type\": \"tasmota\", \"role\": \"plug\", \"host\": "
             "\"127.0.0.1\", \"port\": %d,"
             " \"password\": \"s3cret\", \"poll_interval_s\": 0.5, \"timeout_s\": 1},\n"
             "{\"id\": \"stuck\", \"type\": \"tasmota\", \"host\": \"127.0.0.1\", \"port\": %d,"
             " \"poll_interval_s\": 0.5, \"timeout_s\": 1}",
             fake_http_port(plug.http), fake_http_port(stuck.http));
    harness_write_site_config(d, "tasmota test", NULL, devices);
    assert_true(harness_start(d, NULL));

    cJSON *dev = harness_wait_value(d, "plug", "on", 0, 1e-6, 10000);
    assert_string_equal(harness_text(dev, "model"), "Nous A1T");
    assert_string_equal(harness_text(dev, "firmware"), "13.2.0(tasmota)");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(dev, "roles"), 0)->valuestring,
                        "plug");
    assert_float_equal(harness_device_value(dev, "power_w"), 0, 1e-9);
    assert_float_equal(harness_device_value(dev, "energy_wh"), 6404, 1e-6);
    assert_float_equal(harness_device_value(dev, "voltage_v"), 226, 1e-9);
    cJSON_Delete(dev);
    dev = harness_wait_value(d, "stuck", "on", 0, 1e-6, 10000);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(dev, "roles"), 0)->valuestring,
                        "plug");
    cJSON_Delete(dev);

    /* The password went with every request: otherwise the fake answers WARNING. */
    char line[512];
    fake_http_last(plug.http, "/cm", line, sizeof line, NULL, 0, NULL, 0);
    assert_non_null(strstr(line, "GET /cm?user=admin&password=s3cret&cmnd="));

    harness_post_command(d, "plug", "{\"command\": \"switch\", \"value\": 1}", 202, NULL);
    harness_post_command(d, "stuck", "{\"command\": \"switch\", \"value\": 1}", 202, NULL);
    assert_string_equal(harness_wait_command_count(d, "plug", 1, 10000), "ok");
    assert_int_equal(plug_commands(&plug), 1);
    dev = harness_wait_value(d, "plug", "on", 1, 1e-6, 5000);
    assert_float_equal(harness_device_value(dev, "power_w"), 87, 1e-9);
    cJSON_Delete(dev);

    harness_post_command(d, "plug", "{\"command\": \"switch\", \"value\": 0}", 202, NULL);
    assert_string_equal(harness_wait_command_count(d, "plug", 2, 10000), "ok");
    cJSON_Delete(harness_wait_value(d, "plug", "on", 0, 1e-6, 5000));

    /* Refused before anything is sent. */
    harness_post_command(d, "plug", "{\"command\": \"limit\", \"value\": 100}", 400,
                         "takes only \\\"switch\\\"");
    assert_int_equal(plug_commands(&plug), 2);

    assert_string_equal(harness_wait_command_count(d, "stuck", 1, 20000),
                        "read back 0, expected 1 (after 3 attempts)");
    assert_int_equal(plug_commands(&stuck), 3);

    fake_http_stop(plug.http);
    fake_http_stop(stuck.http);
}

/* --- HTTP meters -------------------------------------------------------------------- */

static void route_json(struct fake_http *fake, const char *body, int delay_ms)
{
    fake_http_route(fake, "/cm", 200, "application/json", body, strlen(body), NULL, delay_ms);
}

/* SML readers with user-defined groups and keys, with and without the "StatusSNS." prefix
 * and with the sign flipped by power_scale; a meter takes no commands. */
static void test_http_meter(void **state)
{
    struct daemon_proc *d = *state;
    struct fake_http *sml = fake_http_start();
    struct fake_http *flipped = fake_http_start();
    route_json(sml,
               "{\"StatusSNS\":{\"Time\":\"2023-02-28T12:49:49\",\"SML\":{\"total_kwh\":15011.575,"
               "\"curr_w\":-71}}}",
               0);
    route_json(
        flipped,
        "{\"StatusSNS\":{\"Time\":\"2023-10-09T07:31:50\",\"Power\":{\"Power_curr\":134,"
        "\"Total_in\":3663.1794,\"Total_out\":85.5164,\"Meter_Number\":\"0a014954520003504c4c\"}}}",
        0);
    char devices[1024];
    snprintf(devices, sizeof devices,
             "{\"id\": \"sml\", \"type\": \"tasmota\", \"host\": \"127.0.0.1\", \"port\": %d,"
             " \"power_key\": \"StatusSNS.SML.curr_w\", \"poll_interval_s\": 0.5},\n"
             "{\"id\": \"flipped\", \"type\": \"tasmota\", \"role\": \"meter\", \"host\": "
             "\"127.0.0.1\", \"port\": %d,"
             " \"power_key\": \"Power.Power_curr\", \"power_scale\": -1, \"poll_interval_s\": 0.5}",
             fake_http_port(sml), fake_http_port(flipped));
    harness_write_site_config(d, "tasmota test", NULL, devices);
    assert_true(harness_start(d, NULL));

    cJSON *dev = harness_wait_value(d, "sml", "power_w", -71, 1e-6, 10000);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(dev, "roles"), 0)->valuestring,
                        "meter");
    assert_string_equal(harness_text(dev, "model"), "Tasmota");
    assert_true(isnan(harness_device_value(dev, "on")));
    cJSON_Delete(dev);
    cJSON_Delete(harness_wait_value(d, "flipped", "power_w", -134, 1e-6, 10000));

    char line[256];
    fake_http_last(sml, "/cm", line, sizeof line, NULL, 0, NULL, 0);
    assert_string_equal(line, "GET /cm?cmnd=Status 8");

    harness_post_command(d, "sml", "{\"command\": \"switch\", \"value\": 1}", 400,
                         "is a meter and takes no commands");
    fake_http_stop(sml);
    fake_http_stop(flipped);
}

/* Two SML readers' real Status 8 answers (evcc issues #3787 and #26857, see
 * tests/fixtures/real/SOURCES): the grid power is SML.Power_curr as the payload says. */
static void test_http_meter_real_sml(void **state)
{
    struct daemon_proc *d = *state;
    static const char *const names[] = {"tasmota/status8_sml_evcc3787.json",
                                        "tasmota/status8_sml_evcc26857.json"};
    const char *root = getenv("BALKON_FIXTURES");
    assert_non_null(root);
    struct fake_http *fakes[2];
    double want_w[2];
    char devices[1024] = "";
    size_t used = 0;
    for (int i = 0; i < 2; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/real/%s", root, names[i]);
        char *body = fake_read_file(path, NULL);
        assert_non_null(body);
        cJSON *json = cJSON_Parse(body);
        want_w[i] =
            cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(json, "StatusSNS"), "SML"),
                                "Power_curr")
                ->valuedouble;
        cJSON_Delete(json);
        fakes[i] = fake_http_start();
        route_json(fakes[i], body, 0);
        free(body);
        used += (size_t)snprintf(devices + used, sizeof devices - used,
                                 "%s{\"id\": \"sml%d\", \"type\": \"tasmota\", \"host\": "
                                 "\"127.0.0.1\", \"port\": %d, \"power_key\": \"SML.Power_curr\","
                                 " \"poll_interval_s\": 0.5}",
                                 i ? ",\n" : "", i, fake_http_port(fakes[i]));
    }
    assert_true(want_w[0] == -894 && want_w[1] == -36); /* read by hand from the captures */
    harness_write_site_config(d, "tasmota test", NULL, devices);
    assert_true(harness_start(d, NULL));
    cJSON_Delete(harness_wait_value(d, "sml0", "power_w", want_w[0], 1e-6, 10000));
    cJSON_Delete(harness_wait_value(d, "sml1", "power_w", want_w[1], 1e-6, 10000));
    for (int i = 0; i < 2; i++)
        fake_http_stop(fakes[i]);
}

/* --- Broken devices ----------------------------------------------------------------- */

/* Each kind of failure turns its device offline with its own reason; a healthy device
 * next to them stays online; a device that answers properly again comes back. */
static void test_http_failures(void **state)
{
    struct daemon_proc *d = *state;
    static const char good[] = "{\"StatusSNS\":{\"Time\":\"2023-02-28T12:49:49\",\"SML\":{\"total_"
                               "kwh\":1.5,\"curr_w\":100}}}";
    const char *ids[] = {"healthy", "garbage", "error500", "warning",
                         "unauth",  "hangs",   "missing",  "unknown"};
    enum { N = sizeof ids / sizeof *ids };
    struct fake_http *fakes[N];
    char devices[4096] = "";
    size_t used = 0;
    for (int i = 0; i < N; i++) {
        fakes[i] = fake_http_start();
        assert_non_null(fakes[i]);
        route_json(fakes[i], good, 0);
        used += (size_t)snprintf(
            devices + used, sizeof devices - used,
            "%s{\"id\": \"%s\", \"type\": \"tasmota\", \"host\": \"127.0.0.1\", \"port\": %d,"
            " \"power_key\": \"SML.curr_w\", \"poll_interval_s\": 0.5, \"timeout_s\": 0.5}",
            i ? ",\n" : "", ids[i], fake_http_port(fakes[i]));
    }
    harness_write_site_config(d, "tasmota test", NULL, devices);
    assert_true(harness_start(d, NULL));
    for (int i = 0; i < N; i++)
        cJSON_Delete(harness_wait_value(d, ids[i], "power_w", 100, 1e-6, 10000));

    fake_http_route(fakes[1], "/cm", 200, "text/html", "<html>busy</html>", 17, NULL, 0);
    fake_http_route(fakes[2], "/cm", 500, "text/plain", "oops", 4, NULL, 0);
    route_json(fakes[3], "{\"WARNING\":\"Need user=<username>&password=<password>\"}", 0);
    fake_http_route(fakes[4], "/cm", 401, "text/plain", "", 0, NULL, 0);
    route_json(fakes[5], good, 3000);
    route_json(fakes[6],
               "{\"StatusSNS\":{\"Time\":\"2023-02-28T12:49:49\",\"SML\":{\"total_kwh\":1.5}}}", 0);
    route_json(fakes[7], "{\"Command\":\"Unknown\"}", 0);

    harness_wait_offline(d, "garbage", "Status 8: the reply is not a JSON object", 20000);
    harness_wait_offline(d, "error500", "Status 8: HTTP 500", 5000);
    harness_wait_offline(
        d, "warning",
        "Status 8: wrong or missing user/password (\"Need user=<username>&password=<password>\")",
        5000);
    harness_wait_offline(d, "unauth", "Status 8: HTTP 401: wrong or missing user/password", 5000);
    harness_wait_offline(d, "hangs", "timed out", 5000);
    harness_wait_offline(d, "missing", "Status 8: StatusSNS.SML.curr_w missing or not a number",
                         5000);
    harness_wait_offline(d, "unknown", "Status 8: the device answered Command Unknown", 5000);

    /* The last good value is kept, marked offline. */
    cJSON *dev = harness_device(d, "missing");
    assert_float_equal(harness_device_value(dev, "power_w"), 100, 1e-9);
    cJSON_Delete(dev);
    dev = harness_device(d, "healthy");
    assert_true(harness_device_online(dev));
    cJSON_Delete(dev);

    route_json(fakes[1], good, 0);
    dev = harness_wait_value(d, "garbage", "power_w", 100, 1e-6, 5000);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(dev, "error")));
    cJSON_Delete(dev);
    for (int i = 0; i < N; i++)
        fake_http_stop(fakes[i]);
}

/* --- Config ------------------------------------------------------------------------- */

static void test_check_config(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_site_config(
        d, "tasmota test", NULL,
        "{\"id\": \"a\", \"type\": \"tasmota\"},\n"
        "{\"id\": \"b\", \"type\": \"tasmota\", \"protocol\": \"mqtt\"},\n"
        "{\"id\": \"c\", \"type\": \"tasmota\", \"host\": \"10.0.0.9\", \"role\": \"inverter\"},\n"
        "{\"id\": \"e\", \"type\": \"tasmota\", \"host\": \"10.0.0.9\", \"protocol\": \"udp\"}");
    char out[4096];
    assert_int_equal(harness_check_config(d, out, sizeof out), 2);
    assert_non_null(
        strstr(out, "devices[0].host: is required for type \"tasmota\" with protocol \"http\""));
    assert_non_null(
        strstr(out, "devices[1].topic: is required for type \"tasmota\" with protocol \"mqtt\""));
    assert_non_null(strstr(
        out,
        "devices[2].role: must be \"meter\" or \"plug\" for type \"tasmota\", got \"inverter\""));
    assert_non_null(strstr(
        out,
        "devices[3].protocol: must be \"http\" or \"mqtt\" for type \"tasmota\", got \"udp\""));

    /* protocol "mqtt" without the mqtt section: the device is not started, and says why. */
    harness_assert_needs_mqtt_section(
        d, "tasmota test",
        "{\"id\": \"m\", \"type\": \"tasmota\", \"protocol\": \"mqtt\", \"topic\": \"plug_1\"}");
}

/* --- MQTT --------------------------------------------------------------------------- */

/* The device played through a real broker: SENSOR and STATE become values, a switch goes
 * out on cmnd/ and is confirmed by stat/, a device that never answers fails the command,
 * LWT Offline shows the device offline at once, and a meter is sent nothing. */
static void test_mqtt(void **state)
{
    struct daemon_proc *d = *state;
    struct mqtt_broker *broker = harness_start_broker();
    if (!broker)
        skip();
    struct mqtt_test_client *c = mqtt_test_client_new(mqtt_broker_port(broker));
    assert_non_null(c);
    assert_true(mqtt_test_subscribe(c, "cmnd/#"));

    char mqtt[256], devices[1024];
    harness_mqtt_section(broker, mqtt, sizeof mqtt);
    /* poll_interval_s: with MQTT the device's TelePeriod, so it counts offline after 3x. */
    snprintf(
        devices, sizeof devices,
        "{\"id\": \"mplug\", \"type\": \"tasmota\", \"protocol\": \"mqtt\", \"topic\": \"plug_1\","
        " \"role\": \"plug\", \"poll_interval_s\": 10, \"timeout_s\": 1},\n"
        "{\"id\": \"mmeter\", \"type\": \"tasmota\", \"protocol\": \"mqtt\", \"topic\": "
        "\"meter_1\","
        " \"power_key\": \"StatusSNS.SML.Power_curr\", \"poll_interval_s\": 10}");
    harness_write_site_config(d, "tasmota test", mqtt, devices);
    assert_true(harness_start(d, NULL));

    harness_publish_until(d, c, "tele/meter_1/SENSOR",
                          "{\"Time\":\"2024-10-03T12:49:13\",\"SML\":{\"Power_curr\":-250}}",
                          "mmeter", "power_w", -250);
    cJSON *dev = harness_device(d, "mmeter");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(dev, "roles"), 0)->valuestring,
                        "meter");
    cJSON_Delete(dev);

    harness_publish_until(
        d, c, "tele/plug_1/SENSOR",
        "{\"Time\":\"2024-10-03T12:49:13\",\"ENERGY\":{\"TotalStartTime\":\"2023-01-29T20:23:40\","
        "\"Total\":381.701,\"Yesterday\":0.140,\"Today\":0.327,\"Period\":25,\"Power\":42,"
        "\"ApparentPower\":50,\"ReactivePower\":20,\"Factor\":0.84,\"Voltage\":239,\"Current\":0."
        "210}}",
        "mplug", "power_w", 42);
    harness_publish_until(
        d, c, "tele/plug_1/STATE",
        "{\"Time\":\"2020-10-25T16:45:38\",\"Uptime\":\"0T00:13:30\",\"UptimeSec\":810,\"Heap\":27,"
        "\"SleepMode\":\"Dynamic\",\"Sleep\":50,\"LoadAvg\":19,\"MqttCount\":1,\"POWER\":\"OFF\","
        "\"Wifi\":{\"AP\":1,\"SSId\":\"xxxx\",\"Channel\":10,\"RSSI\":86,\"Signal\":-57}}",
        "mplug", "on", 0);
    dev = harness_device(d, "mplug");
    assert_float_equal(harness_device_value(dev, "energy_wh"), 381701, 1e-6);
    assert_float_equal(harness_device_value(dev, "voltage_v"), 239, 1e-9);
    cJSON_Delete(dev);

    /* Switch on: the command goes out on cmnd/, the device answers on stat/. */
    char payload[256];
    harness_post_command(d, "mplug", "{\"command\": \"switch\", \"value\": 1}", 202, NULL);
    assert_true(mqtt_test_wait_message(c, "cmnd/plug_1/POWER1", payload, sizeof payload, 5000));
    assert_string_equal(payload, "ON");
    assert_true(mqtt_test_publish(c, "stat/plug_1/RESULT", "{\"POWER\":\"ON\"}", false));
    assert_true(mqtt_test_publish(c, "stat/plug_1/POWER", "ON", false));
    assert_string_equal(harness_wait_command_count(d, "mplug", 1, 10000), "ok");
    cJSON_Delete(harness_wait_value(d, "mplug", "on", 1, 1e-6, 5000));

    /* Switch off, and the device stays silent: three sends, then the reason. */
    harness_post_command(d, "mplug", "{\"command\": \"switch\", \"value\": 0}", 202, NULL);
    assert_string_equal(harness_wait_command_count(d, "mplug", 2, 25000),
                        "no answer on stat/plug_1/POWER1 (after 3 attempts)");
    int offs = 0;
    while (mqtt_test_wait_message(c, "cmnd/plug_1/POWER1", payload, sizeof payload, 100))
        offs += strcmp(payload, "OFF") == 0;
    assert_int_equal(offs, 3);
    /* The meter was never sent anything. */
    assert_false(mqtt_test_wait_message(c, "cmnd/meter_1/#", payload, sizeof payload, 100));

    /* The broker's last will: offline at once, with the reason. */
    assert_true(mqtt_test_publish(c, "tele/plug_1/LWT", "Offline", true));
    harness_wait_offline(d, "mplug", "LWT Offline", 3000);
    dev = harness_device(d, "mmeter");
    assert_true(harness_device_online(dev));
    cJSON_Delete(dev);

    mqtt_test_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_http_plug_switch, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_http_meter, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_http_meter_real_sml, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_http_failures, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_check_config, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_mqtt, harness_setup, harness_teardown_broker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
