/* The real balkonsolard publishing to a real mosquitto, read back as Home Assistant would:
 * discovery configs (device_class, unit, state_class, unique_id, availability, device),
 * live state, commands in (the strategy select, the grid target number, a plug switch)
 * checked through the HTTP API, bad commands logged and ignored, a broker restarted
 * without persistence (discovery and "online" come back), a clean stop ("offline") and
 * a daemon killed with SIGKILL (the broker's will says "offline"). */
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

#define PREFIX "bstest"
#define NODE "balkonsolar_bstest"

/* extra_device: one more device's JSON object after the simulator, or NULL. */
static void write_config(struct daemon_proc *d, int port, const char *extra_device)
{
    char json[4096];
    snprintf(json, sizeof json,
             "{\n"
             "  \"site\": {\"name\": \"HA test\", \"latitude\": 52.52, \"longitude\": 13.40, "
             "\"timezone\": \"Europe/Berlin\"},\n"
             "  \"pv\": {\"planes\": [{\"name\": \"south\", \"tilt\": 35, \"azimuth\": 0, "
             "\"peak_w\": 890}]},\n"
             "  \"battery\": {\"capacity_wh\": 2240},\n"
             "  \"simulation\": {\"speed\": 60, \"start\": \"2026-06-22T09:00:00Z\", "
             "\"cloudiness_pct\": 0,"
             " \"initial_soc_pct\": 50, \"plug_power_w\": 200},\n"
             "  \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}%s%s],\n"
             "  \"providers\": [{\"id\": \"tariff\", \"type\": \"tou\", \"zones\": [\n"
             "      {\"days\": \"daily\", \"from\": \"00:00\", \"to\": \"24:00\", "
             "\"price_per_kwh\": 0.32}]},\n"
             "    {\"id\": \"forecast\", \"type\": \"sim_solar\"}],\n"
             "  \"optimizer\": {\"strategy\": \"self_consumption\"},\n"
             "  \"mqtt\": {\"enabled\": true, \"host\": \"127.0.0.1\", \"port\": %d, "
             "\"client_id\": \"bstest\","
             " \"prefix\": \"" PREFIX "\", \"publish_interval_s\": 1}\n"
             "}\n",
             extra_device ? ", " : "", extra_device ? extra_device : "", port);
    harness_write_config(d, json);
}

/* The retained message on topic, as a fresh subscriber gets it; false after timeout_ms. */
static bool retained(int port, const char *topic, char *out, size_t size, int timeout_ms)
{
    struct mqtt_test_client *c = mqtt_test_client_new(port);
    assert_non_null(c);
    assert_true(mqtt_test_subscribe(c, topic));
    bool got = mqtt_test_wait_message(c, topic, out, size, timeout_ms);
    mqtt_test_client_free(c);
    return got;
}

/* Waits until topic's retained message is there (it is published every second). */
static cJSON *retained_json(struct daemon_proc *d, int port, const char *topic)
{
    static char payload[8192];
    for (int i = 0; i < 30; i++) {
        if (retained(port, topic, payload, sizeof payload, 500)) {
            cJSON *json = cJSON_Parse(payload);
            if (!json)
                fail_msg("%s: not JSON: %s", topic, payload);
            return json;
        }
    }
    fputs(harness_log(d), stderr);
    fail_msg("nothing retained on %s", topic);
    return NULL;
}

/* A sensor's discovery config has what Home Assistant needs for it. */
static void check_sensor(struct daemon_proc *d, int port, const char *object,
                         const char *device_class, const char *unit, const char *state_class,
                         const char *state_topic, const char *key)
{
    char topic[256], want[256];
    snprintf(topic, sizeof topic, "homeassistant/sensor/" NODE "/%s/config", object);
    cJSON *config = retained_json(d, port, topic);
    snprintf(want, sizeof want, NODE "_%s", object);
    assert_string_equal(harness_text(config, "unique_id"), want);
    assert_string_equal(harness_text(config, "device_class"), device_class);
    assert_string_equal(harness_text(config, "unit_of_measurement"), unit);
    if (state_class)
        assert_string_equal(harness_text(config, "state_class"), state_class);
    else
        assert_null(cJSON_GetObjectItem(config, "state_class"));
    assert_string_equal(harness_text(config, "availability_topic"), PREFIX "/status");
    assert_string_equal(harness_text(config, "state_topic"), state_topic);
    snprintf(want, sizeof want, "{{ value_json.%s }}", key);
    assert_string_equal(harness_text(config, "value_template"), want);
    const cJSON *device = cJSON_GetObjectItem(config, "device");
    assert_string_equal(
        cJSON_GetArrayItem(cJSON_GetObjectItem(device, "identifiers"), 0)->valuestring, NODE);
    assert_string_equal(harness_text(device, "name"), "HA test");
    assert_true(harness_text(config, "name")[0] != '\0');
    cJSON_Delete(config);
}

static void publish(int port, const char *topic, const char *payload)
{
    struct mqtt_test_client *c = mqtt_test_client_new(port);
    assert_non_null(c);
    assert_true(mqtt_test_publish(c, topic, payload, false));
    mqtt_test_client_free(c);
}

static bool strategy_is(struct daemon_proc *d, const char *name)
{
    cJSON *json = harness_get_json(d, "/api/v1/strategy");
    bool is = strcmp(harness_text(json, "active"), name) == 0;
    cJSON_Delete(json);
    return is;
}

static double control_target(struct daemon_proc *d)
{
    cJSON *json = harness_get_json(d, "/api/v1/control");
    double target = harness_number(json, "target_w");
    cJSON_Delete(json);
    return target;
}

static double plug_on(struct daemon_proc *d)
{
    cJSON *json = harness_get_json(d, "/api/v1/devices");
    double on = NAN;
    const cJSON *device;
    cJSON_ArrayForEach(device, cJSON_GetObjectItem(json, "devices"))
    {
        if (strcmp(harness_text(device, "id"), "sim-plug") == 0)
            on = harness_number(cJSON_GetObjectItem(device, "values"), "on");
    }
    cJSON_Delete(json);
    return on;
}

#define WAIT_FOR(cond, what, d)                                                                    \
    do {                                                                                           \
        int waited_ = 0;                                                                           \
        while (!(cond) && waited_ < 15000) {                                                       \
            harness_sleep_ms(100);                                                                 \
            waited_ += 100;                                                                        \
        }                                                                                          \
        if (!(cond)) {                                                                             \
            fputs(harness_log(d), stderr);                                                         \
            fail_msg("timed out waiting for %s", what);                                            \
        }                                                                                          \
    } while (0)

static void test_discovery_state_and_commands(void **state)
{
    struct daemon_proc *d = *state;
    struct mqtt_broker *broker = mqtt_broker_start();
    if (!broker)
        skip();
    int port = mqtt_broker_port(broker);
    write_config(d, port, NULL);
    assert_true(harness_start(d, NULL));

    char payload[8192];
    assert_true(retained(port, PREFIX "/status", payload, sizeof payload, 10000));
    assert_string_equal(payload, "online");

    /* Discovery, as Home Assistant reads it. */
    check_sensor(d, port, "pv_power", "power", "W", "measurement", PREFIX "/state/site", "pv_w");
    check_sensor(d, port, "grid_power", "power", "W", "measurement", PREFIX "/state/site",
                 "grid_w");
    check_sensor(d, port, "battery_power", "power", "W", "measurement", PREFIX "/state/site",
                 "battery_w");
    check_sensor(d, port, "home_power", "power", "W", "measurement", PREFIX "/state/site",
                 "home_w");
    check_sensor(d, port, "soc", "battery", "%", "measurement", PREFIX "/state/site", "soc_pct");
    check_sensor(d, port, "price", "monetary", "EUR/kWh", NULL, PREFIX "/state/site",
                 "price_per_kwh");
    check_sensor(d, port, "pv_energy_today", "energy", "kWh", "total_increasing",
                 PREFIX "/state/energy", "pv_kwh");
    check_sensor(d, port, "grid_import_today", "energy", "kWh", "total_increasing",
                 PREFIX "/state/energy", "import_kwh");
    check_sensor(d, port, "savings_today", "monetary", "EUR", NULL, PREFIX "/state/energy",
                 "savings");
    check_sensor(d, port, "sim-battery_soc_pct", "battery", "%", "measurement",
                 PREFIX "/state/device/sim-battery", "soc_pct");

    cJSON *select = retained_json(d, port, "homeassistant/select/" NODE "/strategy/config");
    assert_string_equal(harness_text(select, "command_topic"), PREFIX "/set/strategy");
    assert_string_equal(harness_text(select, "state_topic"), PREFIX "/state/strategy");
    assert_string_equal(harness_text(select, "availability_topic"), PREFIX "/status");
    char *options = cJSON_PrintUnformatted(cJSON_GetObjectItem(select, "options"));
    assert_string_equal(options, "[\"self_consumption\",\"optimal\",\"fixed_schedule\"]");
    free(options);
    cJSON_Delete(select);
    cJSON *number_config =
        retained_json(d, port, "homeassistant/number/" NODE "/grid_target/config");
    assert_string_equal(harness_text(number_config, "command_topic"), PREFIX "/set/grid_target_w");
    assert_true(harness_number(number_config, "min") == -800 &&
                harness_number(number_config, "max") == 800);
    assert_string_equal(harness_text(number_config, "unit_of_measurement"), "W");
    cJSON_Delete(number_config);
    cJSON *plug_config =
        retained_json(d, port, "homeassistant/switch/" NODE "/plug_sim-plug/config");
    assert_string_equal(harness_text(plug_config, "command_topic"), PREFIX "/set/plug/sim-plug");
    assert_string_equal(harness_text(plug_config, "state_topic"), PREFIX "/state/plug/sim-plug");
    assert_string_equal(harness_text(plug_config, "payload_on"), "ON");
    cJSON_Delete(plug_config);

    /* Live state. */
    cJSON *site = NULL;
    for (int i = 0; i < 20; i++) {
        cJSON_Delete(site);
        site = retained_json(d, port, PREFIX "/state/site");
        if (isfinite(harness_number(site, "pv_w")) && isfinite(harness_number(site, "soc_pct")))
            break;
        harness_sleep_ms(500);
    }
    assert_true(harness_number(site, "pv_w") > 0); /* a clear June morning */
    assert_true(harness_number(site, "soc_pct") >= 0 && harness_number(site, "soc_pct") <= 100);
    assert_true(isfinite(harness_number(site, "grid_w")) &&
                isfinite(harness_number(site, "home_w")));
    assert_true(fabs(harness_number(site, "price_per_kwh") - 0.32) < 1e-6);
    assert_string_equal(harness_text(site, "currency"), "EUR");
    cJSON_Delete(site);
    cJSON *energy = retained_json(d, port, PREFIX "/state/energy");
    assert_true(harness_number(energy, "pv_kwh") >= 0);
    assert_true(isfinite(harness_number(energy, "savings")));
    cJSON_Delete(energy);
    cJSON *device = retained_json(d, port, PREFIX "/state/device/sim-battery");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(device, "online")));
    assert_true(harness_number(device, "soc_pct") > 0);
    cJSON_Delete(device);
    cJSON *plan = retained_json(d, port, PREFIX "/state/plan");
    assert_string_equal(harness_text(plan, "strategy"), "self_consumption");
    assert_true(isfinite(harness_number(plan, "expected_cost")));
    assert_true(harness_text(plan, "mode_now")[0] != '\0');
    cJSON_Delete(plan);
    assert_true(retained(port, PREFIX "/state/strategy", payload, sizeof payload, 5000));
    assert_string_equal(payload, "self_consumption");

    /* The select: a strategy in, as PUT /api/v1/strategy would. */
    publish(port, PREFIX "/set/strategy", "optimal");
    WAIT_FOR(strategy_is(d, "optimal"), "strategy optimal", d);
    publish(port, PREFIX "/set/strategy", "bogus");
    assert_true(harness_wait_log(
        d, "MQTT command on " PREFIX "/set/strategy ignored: unknown strategy \"bogus\"", 5000));
    assert_true(strategy_is(d, "optimal"));

    /* The number: the control's grid target. */
    WAIT_FOR(isfinite(control_target(d)), "the control's first status", d);
    assert_true(fabs(control_target(d) - 20) < 1e-9); /* the config's */
    publish(port, PREFIX "/set/grid_target_w", "-150");
    WAIT_FOR(fabs(control_target(d) + 150) < 1e-9, "grid target -150", d);
    publish(port, PREFIX "/set/grid_target_w", "5000");
    assert_true(
        harness_wait_log(d,
                         "MQTT command on " PREFIX
                         "/set/grid_target_w ignored: must be between -800 and 800 W, got 5000",
                         5000));
    publish(port, PREFIX "/set/grid_target_w", "abc");
    assert_true(harness_wait_log(d, "ignored: expected a number of watts, got \"abc\"", 5000));
    harness_sleep_ms(300);
    assert_true(fabs(control_target(d) + 150) < 1e-9);

    /* The switch: the simulator's plug. */
    WAIT_FOR(plug_on(d) == 0, "the plug's first state", d);
    publish(port, PREFIX "/set/plug/sim-plug", "ON");
    WAIT_FOR(plug_on(d) == 1, "the plug on", d);
    for (int i = 0; i < 30; i++) {
        if (retained(port, PREFIX "/state/plug/sim-plug", payload, sizeof payload, 500) &&
            strcmp(payload, "ON") == 0)
            break;
        harness_sleep_ms(200);
    }
    assert_string_equal(payload, "ON");
    publish(port, PREFIX "/set/plug/sim-plug", "maybe");
    assert_true(harness_wait_log(
        d, "set/plug/sim-plug ignored: expected \"ON\" or \"OFF\", got \"maybe\"", 5000));
    publish(port, PREFIX "/set/plug/sim-battery", "OFF");
    assert_true(harness_wait_log(
        d, "set/plug/sim-battery ignored: device \"sim-battery\" is not a plug", 5000));
    publish(port, PREFIX "/set/plug/sim-plug", "OFF");
    WAIT_FOR(plug_on(d) == 0, "the plug off", d);

    /* A broker restarted without persistence forgets every retained message: it all
     * comes back after the reconnect. */
    mqtt_broker_kill(broker);
    assert_true(harness_wait_log(d, "lost", 10000));
    /* Meanwhile the daemon goes on without it: the site advances, the control keeps
     * tracking, a plug still switches through the API. */
    cJSON *before = harness_get_json(d, "/api/v1/status");
    double ts_before = cJSON_GetObjectItem(before, "ts_ms")->valuedouble;
    cJSON_Delete(before);
    harness_sleep_ms(3000);
    cJSON *after = harness_get_json(d, "/api/v1/status");
    assert_true(cJSON_GetObjectItem(after, "ts_ms")->valuedouble > ts_before + 60000); /* 60x */
    cJSON_Delete(after);
    cJSON *control = harness_get_json(d, "/api/v1/control");
    const char *control_state = harness_text(control, "state");
    if (!control_state[0] || strcmp(control_state, "failsafe") == 0 ||
        strcmp(control_state, "off") == 0)
        fail_msg("control %s while the broker is gone\n%s", control_state, harness_log(d));
    cJSON_Delete(control);
    const char *on = "{\"command\": \"switch\", \"value\": 1}";
    struct http_reply reply =
        harness_http(d, "POST", "/api/v1/devices/sim-plug/command", on, strlen(on), NULL);
    assert_int_equal(reply.status, 202);
    http_reply_free(&reply);
    WAIT_FOR(plug_on(d) == 1, "the plug on without the broker", d);
    assert_true(mqtt_broker_restart(broker));
    assert_true(retained(port, PREFIX "/status", payload, sizeof payload, 20000));
    assert_string_equal(payload, "online");
    check_sensor(d, port, "pv_power", "power", "W", "measurement", PREFIX "/state/site", "pv_w");
    cJSON *again = retained_json(d, port, "homeassistant/switch/" NODE "/plug_sim-plug/config");
    cJSON_Delete(again);
    again = retained_json(d, port, PREFIX "/state/site");
    cJSON_Delete(again);

    /* A clean stop says "offline" itself (a DISCONNECT does not fire the will). */
    int status = harness_signal_and_wait(d, SIGTERM, 10000, NULL);
    assert_true(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(retained(port, PREFIX "/status", payload, sizeof payload, 5000));
    assert_string_equal(payload, "offline");
    mqtt_broker_stop(broker);
}

static void test_will_on_sigkill(void **state)
{
    struct daemon_proc *d = *state;
    struct mqtt_broker *broker = mqtt_broker_start();
    if (!broker)
        skip();
    int port = mqtt_broker_port(broker);
    write_config(d, port, NULL);
    assert_true(harness_start(d, NULL));
    struct mqtt_test_client *watcher = mqtt_test_client_new(port);
    assert_non_null(watcher);
    char payload[64] = "";
    assert_true(
        mqtt_test_subscribe(watcher, PREFIX "/status")); /* retained, or live once connected */
    assert_true(mqtt_test_wait_message(watcher, PREFIX "/status", payload, sizeof payload, 10000));
    assert_string_equal(payload, "online");
    kill(d->pid, SIGKILL);
    waitpid(d->pid, NULL, 0);
    d->pid = 0;
    /* The broker notices the closed socket at once and publishes the will. */
    assert_true(mqtt_test_wait_message(watcher, PREFIX "/status", payload, sizeof payload, 10000));
    assert_string_equal(payload, "offline");
    mqtt_test_client_free(watcher);
    assert_true(retained(port, PREFIX "/status", payload, sizeof payload, 5000));
    assert_string_equal(payload, "offline");
    mqtt_broker_stop(broker);
}

/* A device's energy counter becomes the energy sensor docs/mqtt.md promises: OpenDTU's
 * energy_wh (YieldTotal, sent in kWh, kept in Wh) is an energy sensor in Wh that only grows,
 * and the state Home Assistant reads under that unit is the same Wh figure. The simulated
 * battery's stored energy goes up and down, so it is a stored-energy measurement. */
static void test_device_energy_sensor(void **state)
{
    struct daemon_proc *d = *state;
    struct mqtt_broker *broker = mqtt_broker_start();
    if (!broker)
        skip();
    int port = mqtt_broker_port(broker);
    write_config(d, port,
                 "{\"id\": \"dtu\", \"type\": \"opendtu\", \"protocol\": \"mqtt\", "
                 "\"serial\": \"116180400144\", \"max_power_w\": 800}");
    assert_true(harness_start(d, NULL));

    struct mqtt_test_client *dtu = mqtt_test_client_new(port);
    assert_non_null(dtu);
    char config[8192];
    bool announced = false;
    for (int i = 0; i < 40 && !announced; i++) {
        /* A state goes out on each status/reachable; a sleeping inverter reports 0 W. */
        assert_true(mqtt_test_publish(dtu, "solar/116180400144/0/yieldtotal", "456.789", false));
        assert_true(mqtt_test_publish(dtu, "solar/116180400144/status/reachable", "0", false));
        announced = retained(port, "homeassistant/sensor/" NODE "/dtu_energy_wh/config", config,
                             sizeof config, 500);
    }
    mqtt_test_client_free(dtu);
    if (!announced)
        fputs(harness_log(d), stderr);
    assert_true(announced);
    check_sensor(d, port, "dtu_energy_wh", "energy", "Wh", "total_increasing",
                 PREFIX "/state/device/dtu", "energy_wh");
    cJSON *device = retained_json(d, port, PREFIX "/state/device/dtu");
    assert_float_equal(harness_number(device, "energy_wh"), 456789, 1e-6);
    cJSON_Delete(device);

    check_sensor(d, port, "sim-battery_stored_wh", "energy_storage", "Wh", "measurement",
                 PREFIX "/state/device/sim-battery", "stored_wh");
    int status = harness_signal_and_wait(d, SIGTERM, 10000, NULL);
    assert_true(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    mqtt_broker_stop(broker);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_discovery_state_and_commands, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_will_on_sigkill, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_device_energy_sensor, harness_setup, harness_teardown),
    };
    return cmocka_run_group_tests_name("mqtt_ha", tests, NULL, NULL);
}
