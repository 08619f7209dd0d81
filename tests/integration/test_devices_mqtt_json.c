/* The real balkonsolard reading generic MQTT devices through a real mosquitto, the test
 * playing the devices: a meter at a nested JSON path, an inverter publishing plain numbers,
 * a battery in kW with its SoC, a plug whose state and power come as JSON. Garbage is
 * reported and the daemon keeps going; commands go to the command topic with the payload's
 * placeholders replaced ({on_off}, {value}, {command}, {true_false}) and are verified by
 * the device's next state message, including a plug whose relay is stuck. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"
#include "mqtt_broker.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static void test_mqtt_json(void **state)
{
    struct daemon_proc *d = *state;
    struct mqtt_broker *broker = mqtt_broker_start();
    if (!broker)
        skip();
    struct mqtt_test_client *dev = mqtt_test_client_new(mqtt_broker_port(broker));
    assert_non_null(dev);
    assert_true(mqtt_test_subscribe(dev, "home/plug1/set"));
    assert_true(mqtt_test_subscribe(dev, "solar/cmd/#"));
    assert_true(mqtt_test_subscribe(dev, "bat/cmd"));
    /* What the devices last said, retained as many devices do: the daemon gets it on subscribing.
     */
    assert_true(mqtt_test_publish(
        dev, "tele/meter/SENSOR",
        "{\"Time\":\"2026-06-22T12:00:00\",\"SML\":{\"Total_in\":1234.5,\"Power_curr\":-215}}",
        true));
    assert_true(mqtt_test_publish(dev, "solar/ac/power", "412.5", true));
    assert_true(mqtt_test_publish(dev, "bat/state", "{\"p\":-0.3,\"soc\":55}", true));
    assert_true(
        mqtt_test_publish(dev, "home/plug1/state", "{\"state\":\"OFF\",\"power\":0}", true));

    char json[4096];
    snprintf(
        json, sizeof json,
        "{\n"
        "  \"control\": {\"enabled\": false},\n"
        "  \"mqtt\": {\"enabled\": true, \"host\": \"127.0.0.1\", \"port\": %d},\n"
        "  \"devices\": [\n"
        "    {\"id\": \"meter\", \"type\": \"mqtt_json\", \"topic\": \"tele/meter/SENSOR\","
        " \"power_key\": \"SML.Power_curr\"},\n"
        "    {\"id\": \"pv\", \"type\": \"mqtt_json\", \"role\": \"inverter\", \"topic\": "
        "\"solar/ac/power\","
        " \"command_topic\": \"solar/cmd/{command}\", \"command_payload\": \"{\\\"limit\\\": "
        "{value}}\"},\n"
        "    {\"id\": \"bat\", \"type\": \"mqtt_json\", \"role\": \"battery\", \"topic\": "
        "\"bat/state\","
        " \"power_key\": \"p\", \"soc_key\": \"soc\", \"power_scale\": 1000, \"command_topic\": "
        "\"bat/cmd\","
        " \"command_payload\": "
        "\"{\\\"mode\\\":\\\"{command}\\\",\\\"power\\\":{value},\\\"on\\\":{true_false}}\"},\n"
        "    {\"id\": \"plug\", \"type\": \"mqtt_json\", \"role\": \"plug\", \"topic\": "
        "\"home/plug1/state\","
        " \"power_key\": \"power\", \"state_key\": \"state\", \"command_topic\": "
        "\"home/plug1/set\","
        " \"command_payload\": \"{on_off}\", \"timeout_s\": 2}\n"
        "  ]\n"
        "}\n",
        mqtt_broker_port(broker));
    harness_write_config(d, json);
    assert_true(harness_start(d, NULL));

    /* Readings: a nested path, a plain number, kW scaled to W with the SoC, a plug. */
    cJSON *item = harness_wait_value(d, "meter", "power_w", -215, 0.01, 5000);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(item, "roles"), 0)->valuestring,
                        "meter");
    cJSON_Delete(item);
    cJSON_Delete(harness_wait_value(d, "pv", "power_w", 412.5, 0.01, 3000));
    item = harness_wait_value(d, "bat", "power_w", -300, 0.01, 3000);
    assert_true(harness_device_value(item, "soc_pct") == 55);
    cJSON_Delete(item);
    item = harness_wait_value(d, "plug", "on", 0, 0.01, 3000);
    assert_true(harness_device_value(item, "power_w") == 0);
    cJSON_Delete(item);

    /* Garbage is reported and changes nothing; the next good message counts. */
    assert_true(mqtt_test_publish(dev, "tele/meter/SENSOR", "garbage{", false));
    assert_true(
        mqtt_test_publish(dev, "tele/meter/SENSOR", "{\"SML\":{\"Power_curr\":\"abc\"}}", false));
    assert_true(mqtt_test_publish(dev, "tele/meter/SENSOR", "[1,2,3]", false));
    assert_true(harness_wait_log(d, "tele/meter/SENSOR: not JSON or a number", 3000));
    assert_true(
        harness_wait_log(d, "tele/meter/SENSOR: SML.Power_curr missing or not a number", 3000));
    item = harness_device(d, "meter");
    assert_true(harness_device_value(item, "power_w") == -215);
    cJSON_Delete(item);
    assert_true(
        mqtt_test_publish(dev, "tele/meter/SENSOR", "{\"SML\":{\"Power_curr\":120}}", false));
    cJSON_Delete(harness_wait_value(d, "meter", "power_w", 120, 0.01, 3000));

    /* Refusals. */
    harness_post_command(d, "meter", "{\"command\": \"switch\", \"value\": 1}", 400,
                         "takes no commands (a meter)");
    harness_post_command(d, "plug", "{\"command\": \"limit\", \"value\": 100}", 400,
                         "a plug takes \\\"switch\\\"");
    harness_post_command(d, "pv", "{\"command\": \"limit\", \"value\": 900}", 400,
                         "limit: must be between 0 and 800 W, got 900");

    /* The plug: "ON" on the command topic, verified by its next state message. */
    char payload[512];
    harness_post_command(d, "plug", "{\"command\": \"switch\", \"value\": 1}", 202, "pending");
    assert_true(mqtt_test_wait_message(dev, "home/plug1/set", payload, sizeof payload, 5000));
    assert_string_equal(payload, "ON");
    assert_true(
        mqtt_test_publish(dev, "home/plug1/state", "{\"state\":\"ON\",\"power\":35}", false));
    assert_string_equal(harness_wait_command_result(d, "plug", "switch", "1", 5000), "ok");
    item = harness_wait_value(d, "plug", "on", 1, 0.01, 3000);
    assert_true(harness_device_value(item, "power_w") == 35);
    cJSON_Delete(item);

    /* The inverter's limit: {command} in the topic, {value} in the payload; its output
     * stays under it. */
    harness_post_command(d, "pv", "{\"command\": \"limit\", \"value\": 300}", 202, "pending");
    assert_true(mqtt_test_wait_message(dev, "solar/cmd/limit", payload, sizeof payload, 5000));
    assert_string_equal(payload, "{\"limit\": 300}");
    assert_true(mqtt_test_publish(dev, "solar/ac/power", "281", false));
    assert_string_equal(harness_wait_command_result(d, "pv", "limit", "300", 5000), "ok");

    /* The battery's setpoint, followed by its power. */
    harness_post_command(d, "bat", "{\"command\": \"setpoint\", \"value\": 250}", 202, "pending");
    assert_true(mqtt_test_wait_message(dev, "bat/cmd", payload, sizeof payload, 5000));
    assert_string_equal(payload, "{\"mode\":\"setpoint\",\"power\":250,\"on\":true}");
    assert_true(mqtt_test_publish(dev, "bat/state", "{\"p\":0.248,\"soc\":54}", false));
    assert_string_equal(harness_wait_command_result(d, "bat", "setpoint", "250", 5000), "ok");

    /* A stuck relay: "OFF" three times, each answered with "ON"; the command fails. */
    harness_post_command(d, "plug", "{\"command\": \"switch\", \"value\": 0}", 202, "pending");
    for (int attempt = 0; attempt < 3; attempt++) {
        assert_true(mqtt_test_wait_message(dev, "home/plug1/set", payload, sizeof payload, 8000));
        assert_string_equal(payload, "OFF");
        assert_true(
            mqtt_test_publish(dev, "home/plug1/state", "{\"state\":\"ON\",\"power\":35}", false));
    }
    assert_string_equal(harness_wait_command_result(d, "plug", "switch", "0", 8000),
                        "read back 1, expected 0 (after 3 attempts)");
    assert_false(mqtt_test_wait_message(dev, "home/plug1/set", payload, sizeof payload, 300));

    /* All of this left the daemon running and every device online. */
    item = harness_device(d, "meter");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(item, "online")));
    cJSON_Delete(item);
    harness_stop_cleanly(d, 10000);
    mqtt_test_client_free(dev);
    mqtt_broker_stop(broker);
}

static void test_check_config(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_config(
        d, "{\"devices\": [{\"id\": \"a\", \"type\": \"mqtt_json\", \"role\": \"plug\","
           " \"command_topic\": \"x/set\"},\n"
           " {\"id\": \"b\", \"type\": \"mqtt_json\", \"topic\": \"m\", \"command_topic\": "
           "\"m/#\"}]}\n");
    char out[4096];
    assert_int_equal(harness_check_config(d, out, sizeof out), 2);
    assert_non_null(strstr(out, "devices[0].topic: is required for type \"mqtt_json\""));
    assert_non_null(
        strstr(out, "devices[0].state_key: is required for a plug with a command_topic"));
    assert_non_null(strstr(out, "devices[1].command_topic: must be empty for a meter"));
    assert_non_null(strstr(out, "devices[1].command_topic: must not contain MQTT wildcards"));
}

/* Without the mqtt section the device is not started, and the log says why. */
static void test_needs_the_mqtt_section(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_config(
        d,
        "{\"control\": {\"enabled\": false}, \"devices\": [{\"id\": \"m\", \"type\": \"mqtt_json\","
        " \"topic\": \"tele/meter/SENSOR\", \"power_key\": \"SML.Power_curr\"}]}\n");
    assert_true(harness_start(d, NULL));
    assert_true(harness_wait_log(
        d, "devices[0] (m): not started: type \"mqtt_json\" needs the mqtt section enabled", 3000));
    harness_stop_cleanly(d, 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_check_config, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_needs_the_mqtt_section, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_mqtt_json, harness_setup, harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
