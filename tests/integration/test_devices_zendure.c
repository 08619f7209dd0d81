/* The real balkonsolard driving Zendure SolarFlow batteries:
 *   HTTP  fake SolarFlow 800s answering the zenSDK's documented /properties/report and
 *         /properties/write: values and model in the API, a discharge and a charge setpoint
 *         written with smartMode 1 and verified by reading back, a device that takes the
 *         write but changes nothing (the command fails after its attempts), one answering
 *         HTTP 500 (offline with the reason), and an MQTT device without the mqtt section
 *         (not started, with the reason in the log);
 *   MQTT  a real mosquitto and the test playing an old hub: the daemon asks for getAll,
 *         a full report and partial ones are merged, garbage is reported without harm, a
 *         setpoint arrives on the write topic as outputLimit and is confirmed by the next
 *         report; a hub that never confirms makes the command fail. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_http.h"
#include "harness.h"
#include "mqtt_broker.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* --- HTTP: a fake SolarFlow 800 -------------------------------------------------------- */

struct fake_sf {
    struct fake_http *http;
    const char *serial;
    bool ignores_writes;
    int ac_mode;
    int output_limit, input_limit;
    int writes;
    char last_write[512];
};

static int sf_handler(void *user, const char *line, const char *body, const char *authorization,
                      char *reply, size_t reply_size, char *content_type, size_t content_type_size)
{
    struct fake_sf *f = user;
    snprintf(content_type, content_type_size, "application/json");
    if (strncmp(line, "GET /properties/report", 22) == 0) {
        /* The recorded SolarFlow 800 answer, with the state this fake holds. */
        int pack_in = f->ac_mode == 2 ? f->output_limit : 0,
            pack_out = f->ac_mode == 1 ? f->input_limit : 0;
        snprintf(reply, reply_size,
                 "{\"messageId\":230,\"sn\":\"%s\",\"timestamp\":1752065262,\"version\":2,"
                 "\"product\":\"solarFlow800\","
                 "\"properties\":{\"BatVolt\":5099,\"IOTState\":2,\"acMode\":%d,\"acStatus\":2,"
                 "\"chargeMaxLimit\":800,"
                 "\"electricLevel\":73,\"gridInputPower\":%d,\"hyperTmp\":3211,\"inputLimit\":%d,"
                 "\"inverseMaxPower\":800,\"minSoc\":50,\"outputHomePower\":%d,\"outputLimit\":%d,"
                 "\"outputPackPower\":%d,\"packInputPower\":%d,\"packNum\":2,\"packState\":1,"
                 "\"smartMode\":1,"
                 "\"socSet\":1000,\"solarInputPower\":572,\"solarPower1\":332,\"solarPower2\":240},"
                 "\"packData\":[{\"batcur\":99,\"maxTemp\":3071,\"power\":443,\"sn\":\"PACK1\","
                 "\"socLevel\":74}]}",
                 f->serial, f->ac_mode, f->ac_mode == 1 ? f->input_limit : 0, f->input_limit,
                 f->ac_mode == 2 ? f->output_limit : 0, f->output_limit, pack_out, pack_in);
        return 200;
    }
    if (strncmp(line, "POST /properties/write", 22) == 0) {
        f->writes++;
        snprintf(f->last_write, sizeof f->last_write, "%s", body);
        cJSON *json = cJSON_Parse(body);
        const cJSON *sn = cJSON_GetObjectItem(json, "sn");
        const cJSON *props = cJSON_GetObjectItem(json, "properties");
        int status = 200;
        if (!cJSON_IsString(sn) || strcmp(sn->valuestring, f->serial) != 0 ||
            !cJSON_IsObject(props) || !cJSON_IsNumber(cJSON_GetObjectItem(props, "smartMode")) ||
            cJSON_GetObjectItem(props, "smartMode")->valueint != 1) {
            status = 400;
        } else if (!f->ignores_writes) {
            f->ac_mode = cJSON_GetObjectItem(props, "acMode")->valueint;
            f->output_limit = cJSON_GetObjectItem(props, "outputLimit")->valueint;
            f->input_limit = cJSON_GetObjectItem(props, "inputLimit")->valueint;
        }
        cJSON_Delete(json);
        snprintf(reply, reply_size, "%s", status == 200 ? "" : "{\"error\":\"bad request\"}");
        return status;
    }
    return 404;
}

static void test_http(void **state)
{
    struct daemon_proc *d = *state;
    struct fake_sf sf = {
        .serial = "HOA1NHMAMXXXXX3", .ac_mode = 1, .output_limit = 0, .input_limit = 383};
    struct fake_sf deaf = {.serial = "HOA1NHMAMYYYYY4", .ignores_writes = true, .ac_mode = 2};
    sf.http = fake_http_start();
    deaf.http = fake_http_start();
    struct fake_http *broken = fake_http_start();
    fake_http_route_handler(sf.http, "/properties", sf_handler, &sf);
    fake_http_route_handler(deaf.http, "/properties", sf_handler, &deaf);
    fake_http_route(broken, "/properties", 500, "text/plain", "oops", 4, NULL, 0);
    char json[2048];
    snprintf(json, sizeof json,
             "{\n"
             "  \"control\": {\"enabled\": false},\n"
             "  \"devices\": [\n"
             "    {\"id\": \"sf\", \"type\": \"zendure\", \"host\": \"127.0.0.1\", \"port\": %d, "
             "\"serial\": \"%s\","
             " \"poll_interval_s\": 0.5, \"timeout_s\": 1},\n"
             "    {\"id\": \"deaf\", \"type\": \"zendure\", \"host\": \"127.0.0.1\", \"port\": %d, "
             "\"serial\": \"%s\","
             " \"poll_interval_s\": 0.5, \"timeout_s\": 1},\n"
             "    {\"id\": \"broken\", \"type\": \"zendure\", \"host\": \"127.0.0.1\", \"port\": "
             "%d, \"serial\": \"X\","
             " \"poll_interval_s\": 0.5, \"timeout_s\": 1},\n"
             "    {\"id\": \"hub\", \"type\": \"zendure\", \"protocol\": \"mqtt\", "
             "\"product_key\": \"73bkTV\","
             " \"serial\": \"HUB123\"}\n"
             "  ]\n"
             "}\n",
             fake_http_port(sf.http), sf.serial, fake_http_port(deaf.http), deaf.serial,
             fake_http_port(broken));
    harness_write_config(d, json);
    assert_true(harness_start(d, NULL));
    assert_true(harness_wait_log(
        d, "hub): not started: protocol \"mqtt\" needs the mqtt section enabled", 2000));

    /* The report as a user sees it (the recorded fields, with the fake's state). */
    cJSON *dev = harness_wait_device(d, "sf", true, "soc_pct", 73, 5000);
    assert_string_equal(harness_text(dev, "model"), "solarFlow800");
    assert_true(harness_device_value(dev, "power_w") ==
                -383); /* charging: outputPackPower 383, + discharge */
    assert_true(harness_device_value(dev, "ac_mode") == 1);
    assert_true(harness_device_value(dev, "solar_w") == 572);
    assert_true(harness_device_value(dev, "max_soc_pct") == 100);
    assert_true(harness_device_value(dev, "min_soc_pct") == 5);
    assert_true(fabs(harness_device_value(dev, "temperature_c") - 48.0) < 0.01);
    cJSON_Delete(dev);

    harness_post_command(d, "sf", "{\"command\": \"setpoint\", \"value\": 900}", 400,
                         "setpoint: must be between -800 and 800 W, got 900");
    harness_post_command(d, "sf", "{\"command\": \"auto\"}", 400, "smartMode 0");

    /* Discharge 300 W: acMode 2 + outputLimit, verified by reading back. */
    harness_post_command(d, "sf", "{\"command\": \"setpoint\", \"value\": 300}", 202, "pending");
    harness_post_command(d, "deaf", "{\"command\": \"setpoint\", \"value\": 300}", 202, "pending");
    assert_string_equal(harness_wait_command_result(d, "sf", "setpoint", "300", 8000), "ok");
    fake_http_lock(sf.http);
    assert_int_equal(sf.ac_mode, 2);
    assert_int_equal(sf.output_limit, 300);
    fake_http_unlock(sf.http);
    cJSON_Delete(harness_wait_device(d, "sf", true, "power_w", 300, 3000));

    /* Charge 200 W: acMode 1 + inputLimit, never persisted (smartMode 1). */
    harness_post_command(d, "sf", "{\"command\": \"setpoint\", \"value\": -200}", 202, "pending");
    assert_string_equal(harness_wait_command_result(d, "sf", "setpoint", "-200", 8000), "ok");
    fake_http_lock(sf.http);
    assert_string_equal(sf.last_write,
                        "{\"sn\":\"HOA1NHMAMXXXXX3\",\"properties\":{\"smartMode\":1,\"acMode\":1,"
                        "\"outputLimit\":0,\"inputLimit\":200}}");
    fake_http_unlock(sf.http);
    cJSON_Delete(harness_wait_device(d, "sf", true, "input_limit_w", 200, 3000));

    /* The deaf one took three writes and changed nothing. */
    assert_string_equal(harness_wait_command_result(d, "deaf", "setpoint", "300", 15000),
                        "read back 0, expected 300 (after 3 attempts)");
    fake_http_lock(deaf.http);
    assert_int_equal(deaf.writes, 3);
    fake_http_unlock(deaf.http);

    /* HTTP 500: offline with the reason once stale (20 s), the others unaffected. */
    dev = harness_wait_device(d, "broken", false, NULL, 0, 25000);
    assert_string_equal(harness_text(dev, "error"), "/properties/report: HTTP 500");
    cJSON_Delete(dev);
    cJSON_Delete(harness_wait_device(d, "sf", true, "soc_pct", 73, 1000));

    harness_stop_cleanly(d, 10000);
    fake_http_stop(sf.http);
    fake_http_stop(deaf.http);
    fake_http_stop(broken);
}

/* --- MQTT: the test plays an old hub on a real broker ----------------------------------- */

#define REPORT "/73bkTV/HUB123/properties/report"
#define WRITE "iot/73bkTV/HUB123/properties/write"

static void test_mqtt(void **state)
{
    struct daemon_proc *d = *state;
    struct mqtt_broker *broker = mqtt_broker_start();
    if (!broker)
        skip();
    struct mqtt_test_client *hub = mqtt_test_client_new(mqtt_broker_port(broker));
    assert_non_null(hub);
    assert_true(mqtt_test_subscribe(hub, "iot/73bkTV/HUB123/#"));
    char json[1024];
    snprintf(json, sizeof json,
             "{\n"
             "  \"control\": {\"enabled\": false},\n"
             "  \"mqtt\": {\"enabled\": true, \"host\": \"127.0.0.1\", \"port\": %d},\n"
             "  \"devices\": [{\"id\": \"hub\", \"type\": \"zendure\", \"protocol\": \"mqtt\","
             " \"product_key\": \"73bkTV\", \"serial\": \"HUB123\", \"timeout_s\": 2}]\n"
             "}\n",
             mqtt_broker_port(broker));
    harness_write_config(d, json);
    assert_true(harness_start(d, NULL));

    /* It asks for a full report, which the hub sends. */
    char payload[1024];
    assert_true(mqtt_test_wait_message(hub, "iot/73bkTV/HUB123/properties/read", payload,
                                       sizeof payload, 10000));
    assert_string_equal(payload, "{\"properties\":[\"getAll\"]}");
    assert_true(mqtt_test_publish(
        hub, REPORT,
        "{\"properties\":{\"electricLevel\":64,\"packInputPower\":0,\"outputPackPower\":150,"
        "\"outputHomePower\":0,\"solarInputPower\":300,\"outputLimit\":100,\"inputLimit\":0,"
        "\"socSet\":1000,\"minSoc\":100},\"packData\":[{\"sn\":\"P1\",\"socLevel\":64}]}",
        false));
    cJSON *dev = harness_wait_device(d, "hub", true, "soc_pct", 64, 5000);
    assert_true(harness_device_value(dev, "power_w") == -150);
    assert_true(harness_device_value(dev, "limit_w") == 100);
    assert_string_equal(harness_text(dev, "model"), "SolarFlow Hub 1200");
    cJSON_Delete(dev);

    /* A partial report changes only what it carries; garbage is reported, not fatal. */
    assert_true(mqtt_test_publish(hub, REPORT, "no json {", false));
    assert_true(mqtt_test_publish(hub, REPORT, "{\"unexpected\":[1,2]}", false));
    assert_true(mqtt_test_publish(
        hub, REPORT, "{\"properties\":{\"packInputPower\":200,\"outputPackPower\":0}}", false));
    dev = harness_wait_device(d, "hub", true, "power_w", 200, 5000);
    assert_true(harness_device_value(dev, "soc_pct") == 64);
    cJSON_Delete(dev);
    assert_true(harness_wait_log(d, "properties/report: not JSON", 1000));

    /* Only output limits over MQTT; "auto" never. */
    harness_post_command(d, "hub", "{\"command\": \"setpoint\", \"value\": -100}", 400,
                         "between 0 and 800 W");
    harness_post_command(d, "hub", "{\"command\": \"auto\"}", 400, "not supported");

    /* A setpoint arrives as outputLimit and is confirmed by the hub's next report. */
    harness_post_command(d, "hub", "{\"command\": \"setpoint\", \"value\": 250}", 202, "pending");
    assert_true(mqtt_test_wait_message(hub, WRITE, payload, sizeof payload, 5000));
    cJSON *write = cJSON_Parse(payload);
    assert_non_null(write);
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(write, "properties"), "outputLimit")->valueint,
        250);
    cJSON_Delete(write);
    assert_true(mqtt_test_publish(hub, REPORT, "{\"properties\":{\"outputLimit\":250}}", false));
    assert_string_equal(harness_wait_command_result(d, "hub", "setpoint", "250", 8000), "ok");
    cJSON_Delete(harness_wait_device(d, "hub", true, "limit_w", 250, 2000));

    /* Below 100 W the hub works in 30 W steps: 50 goes out as 60 and counts as confirmed. */
    harness_post_command(d, "hub", "{\"command\": \"setpoint\", \"value\": 50}", 202, "pending");
    assert_true(mqtt_test_wait_message(hub, WRITE, payload, sizeof payload, 5000));
    assert_non_null(strstr(payload, "{\"properties\":{\"outputLimit\":60}"));
    assert_true(mqtt_test_publish(hub, REPORT, "{\"properties\":{\"outputLimit\":60}}", false));
    assert_string_equal(harness_wait_command_result(d, "hub", "setpoint", "50", 8000), "ok");

    /* A hub that never confirms: the command fails after its attempts. */
    harness_post_command(d, "hub", "{\"command\": \"setpoint\", \"value\": 400}", 202, "pending");
    assert_string_equal(harness_wait_command_result(d, "hub", "setpoint", "400", 20000),
                        "no report with outputLimit within 2 s (after 3 attempts)");
    int writes = 0;
    while (mqtt_test_wait_message(hub, WRITE, payload, sizeof payload, 100))
        writes += strstr(payload, "\"outputLimit\":400") != NULL;
    assert_int_equal(writes, 3);

    harness_stop_cleanly(d, 10000);
    mqtt_test_client_free(hub);
    mqtt_broker_stop(broker);
}

static void test_check_config(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_config(
        d,
        "{\"devices\": [{\"id\": \"a\", \"type\": \"zendure\"},\n"
        " {\"id\": \"b\", \"type\": \"zendure\", \"protocol\": \"mqtt\", \"serial\": \"x/y\"}]}\n");
    char out[4096];
    assert_int_equal(harness_check_config(d, out, sizeof out), 2);
    assert_non_null(
        strstr(out, "devices[0].host: is required for type \"zendure\" with protocol \"http\""));
    assert_non_null(strstr(out, "devices[0].serial: is required for type \"zendure\""));
    assert_non_null(
        strstr(out, "devices[1].serial: must not contain '/', '+' or '#', got \"x/y\""));
    assert_non_null(strstr(
        out, "devices[1].product_key: is required for type \"zendure\" with protocol \"mqtt\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_check_config, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_http, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_mqtt, harness_setup, harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
