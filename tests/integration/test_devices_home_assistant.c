/* The real balkonsolard with Home Assistant entities as devices, against a fake Home
 * Assistant answering in its REST API's format (docs/devices.md, "home_assistant"): a
 * meter (kW), a battery (power, SoC, energy in kWh), a plug switched through
 * /api/services/switch/turn_on|turn_off (the body and the bearer token asserted on the
 * wire) and read back; "unavailable" as a device warning; a wrong token, an unknown entity
 * and a unit that does not fit as device errors. The token comes from the environment
 * ("env:NAME") and never shows in GET /api/v1/config. Plus answers recorded from real Home
 * Assistant instances. */
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

#define TOKEN                                                                                      \
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJmYWtlLXRva2VuLWZvci10ZXN0cyIsImlhdCI6MTcw"    \
    "MDAwMDAwMCwiZXhwIjoyMDE1MzYwMDAwfQ.c2lnbmF0dXJlLW9mLWEtZmFrZS10b2tlbi1mb3ItdGVzdHM"

struct fake_ha {
    struct fake_http *http;
    bool washer_on;
    bool bat_unavailable;
    int service_calls;
    int bad_tokens;
    char last_service[128], last_body[256];
};

static int state(char *reply, size_t size, const char *entity, const char *value,
                 const char *attributes)
{
    snprintf(reply, size,
             "{\"entity_id\":\"%s\",\"state\":\"%s\",\"attributes\":{%s},"
             "\"last_changed\":\"2026-12-07T04:00:00.000000+00:00\","
             "\"last_reported\":\"2026-12-07T04:00:00.000000+00:00\","
             "\"last_updated\":\"2026-12-07T04:00:00.000000+00:00\","
             "\"context\":{\"id\":\"01JEXAMPLE\",\"parent_id\":null,\"user_id\":null}}",
             entity, value, attributes);
    return 200;
}

static int ha_handler(void *user, const char *line, const char *body, const char *authorization,
                      char *reply, size_t size, char *content_type, size_t content_type_size)
{
    struct fake_ha *f = user;
    snprintf(content_type, content_type_size, "application/json");
    if (strcmp(authorization, "Bearer " TOKEN) != 0) {
        f->bad_tokens++;
        snprintf(content_type, content_type_size, "text/plain");
        snprintf(reply, size, "401: Unauthorized");
        return 401;
    }
    const char *power = "\"state_class\":\"measurement\",\"unit_of_measurement\":\"W\","
                        "\"device_class\":\"power\"";
    if (strcmp(line, "GET /api/states/sensor.grid_power") == 0)
        return state(reply, size, "sensor.grid_power", "0.4125",
                     "\"unit_of_measurement\":\"kW\",\"device_class\":\"power\"");
    if (strcmp(line, "GET /api/states/sensor.bat_power") == 0)
        return state(reply, size, "sensor.bat_power", f->bat_unavailable ? "unavailable" : "-300",
                     power);
    if (strcmp(line, "GET /api/states/sensor.bat_soc") == 0)
        return state(reply, size, "sensor.bat_soc", "57",
                     "\"unit_of_measurement\":\"%\",\"device_class\":\"battery\"");
    if (strcmp(line, "GET /api/states/sensor.bat_energy") == 0)
        return state(reply, size, "sensor.bat_energy", "12.345",
                     "\"state_class\":\"total_increasing\",\"unit_of_measurement\":\"kWh\","
                     "\"device_class\":\"energy\"");
    if (strcmp(line, "GET /api/states/sensor.washer_power") == 0)
        return state(reply, size, "sensor.washer_power", f->washer_on ? "1830.2" : "0.0", power);
    if (strcmp(line, "GET /api/states/switch.washer") == 0)
        return state(reply, size, "switch.washer", f->washer_on ? "on" : "off",
                     "\"friendly_name\":\"Washer\"");
    if (strcmp(line, "GET /api/states/sensor.temperature") == 0)
        return state(reply, size, "sensor.temperature", "21.5",
                     "\"unit_of_measurement\":\"°C\",\"device_class\":\"temperature\"");
    if (strcmp(line, "POST /api/services/switch/turn_on") == 0 ||
        strcmp(line, "POST /api/services/switch/turn_off") == 0) {
        f->service_calls++;
        snprintf(f->last_service, sizeof f->last_service, "%s", line);
        snprintf(f->last_body, sizeof f->last_body, "%s", body);
        cJSON *json = cJSON_Parse(body);
        const cJSON *entity = cJSON_GetObjectItem(json, "entity_id");
        bool ok = cJSON_IsString(entity) && strcmp(entity->valuestring, "switch.washer") == 0;
        cJSON_Delete(json);
        if (!ok) {
            snprintf(content_type, content_type_size, "text/plain");
            snprintf(reply, size, "400: Bad Request");
            return 400;
        }
        f->washer_on = strstr(line, "turn_on") != NULL;
        snprintf(reply, size, "[]");
        return 200;
    }
    snprintf(reply, size, "{\"message\":\"Entity not found.\"}");
    return 404;
}

static int locked(struct fake_ha *f, const int *field)
{
    fake_http_lock(f->http);
    int n = *field;
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

static void test_entities(void **state_)
{
    struct daemon_proc *d = *state_;
    struct fake_ha f = {.http = fake_http_start()};
    assert_non_null(f.http);
    fake_http_route_handler(f.http, "/api", ha_handler, &f);
    int port = fake_http_port(f.http);
    char devices[3072];
    snprintf(devices, sizeof devices,
             "{\"id\": \"grid\", \"type\": \"home_assistant\", \"host\": \"127.0.0.1\", \"port\": "
             "%d, \"token\": \"env:HA_TEST_TOKEN\", \"power_key\": \"sensor.grid_power\","
             " \"poll_interval_s\": 0.5},\n"
             "{\"id\": \"bat\", \"type\": \"home_assistant\", \"role\": \"battery\", \"host\": "
             "\"127.0.0.1\", \"port\": %d, \"token\": \"env:HA_TEST_TOKEN\","
             " \"power_key\": \"sensor.bat_power\", \"soc_key\": \"sensor.bat_soc\","
             " \"energy_key\": \"sensor.bat_energy\", \"poll_interval_s\": 0.5},\n"
             "{\"id\": \"washer\", \"type\": \"home_assistant\", \"role\": \"plug\", \"host\": "
             "\"127.0.0.1\", \"port\": %d, \"token\": \"env:HA_TEST_TOKEN\","
             " \"power_key\": \"sensor.washer_power\", \"state_key\": \"switch.washer\","
             " \"poll_interval_s\": 0.5},\n"
             "{\"id\": \"wrongtoken\", \"type\": \"home_assistant\", \"host\": \"127.0.0.1\","
             " \"port\": %d, \"token\": \"not-the-token\", \"power_key\": \"sensor.grid_power\","
             " \"poll_interval_s\": 0.5},\n"
             "{\"id\": \"noentity\", \"type\": \"home_assistant\", \"host\": \"127.0.0.1\","
             " \"port\": %d, \"token\": \"env:HA_TEST_TOKEN\", \"power_key\": \"sensor.gone\","
             " \"poll_interval_s\": 0.5},\n"
             "{\"id\": \"wrongunit\", \"type\": \"home_assistant\", \"host\": \"127.0.0.1\","
             " \"port\": %d, \"token\": \"env:HA_TEST_TOKEN\","
             " \"power_key\": \"sensor.temperature\", \"poll_interval_s\": 0.5}",
             port, port, port, port, port, port);
    harness_write_devices_config(d, "ha test", devices);
    const char *const env[] = {"HA_TEST_TOKEN=" TOKEN, NULL};
    assert_true(harness_start_env(d, NULL, env));

    /* kW → W; a meter: the grid power in the status. */
    cJSON *dev = harness_wait_value(d, "grid", "power_w", 412.5, 1e-9, 10000);
    assert_string_equal(harness_text(dev, "model"), "Home Assistant");
    cJSON_Delete(dev);
    wait_status(d, "grid_w", 412.5, 10000);
    dev = harness_wait_value(d, "bat", "power_w", -300, 1e-9, 10000);
    assert_float_equal(harness_device_value(dev, "soc_pct"), 57, 1e-9);
    assert_float_equal(harness_device_value(dev, "energy_wh"), 12345, 1e-6);
    cJSON_Delete(dev);
    wait_status(d, "battery_w", -300, 10000);
    wait_status(d, "soc_pct", 57, 10000);

    /* The plug: switched on and off through the switch domain's services. */
    cJSON_Delete(harness_wait_value(d, "washer", "on", 0, 1e-9, 10000));
    harness_post_command(d, "washer", "{\"command\": \"switch\", \"value\": 1}", 202, NULL);
    assert_string_equal(harness_wait_command_result(d, "washer", "switch", "1", 20000), "ok");
    char line[128], body[256];
    fake_http_lock(f.http);
    snprintf(line, sizeof line, "%s", f.last_service);
    snprintf(body, sizeof body, "%s", f.last_body);
    fake_http_unlock(f.http);
    assert_string_equal(line, "POST /api/services/switch/turn_on");
    assert_string_equal(body, "{\"entity_id\":\"switch.washer\"}");
    dev = harness_wait_value(d, "washer", "power_w", 1830.2, 1e-9, 5000);
    assert_float_equal(harness_device_value(dev, "on"), 1, 0);
    cJSON_Delete(dev);
    harness_post_command(d, "washer", "{\"command\": \"switch\", \"value\": 0}", 202, NULL);
    assert_string_equal(harness_wait_command_result(d, "washer", "switch", "0", 20000), "ok");
    fake_http_lock(f.http);
    snprintf(line, sizeof line, "%s", f.last_service);
    fake_http_unlock(f.http);
    assert_string_equal(line, "POST /api/services/switch/turn_off");
    harness_post_command(d, "bat", "{\"command\": \"switch\", \"value\": 1}", 400, NULL);
    assert_int_equal(locked(&f, &f.service_calls), 2);

    /* Unavailable: online, with a warning, the power left out. */
    fake_http_lock(f.http);
    f.bat_unavailable = true;
    fake_http_unlock(f.http);
    bool warned = false;
    for (int i = 0; i < 50 && !warned; i++) {
        dev = harness_device(d, "bat");
        warned = strcmp(harness_text(dev, "warning"), "sensor.bat_power is unavailable") == 0;
        if (warned) {
            assert_true(harness_device_online(dev));
            assert_true(isnan(harness_device_value(dev, "power_w")));
            assert_float_equal(harness_device_value(dev, "soc_pct"), 57, 1e-9);
        }
        cJSON_Delete(dev);
        harness_sleep_ms(200);
    }
    assert_true(warned);

    harness_wait_offline(d, "wrongtoken", "HTTP 401: the token is wrong or revoked", 25000);
    harness_wait_offline(d, "noentity", "sensor.gone: HTTP 404: no such entity", 25000);
    harness_wait_offline(d, "wrongunit", "sensor.temperature: unit \"°C\" is not W or kW", 25000);
    assert_true(locked(&f, &f.bad_tokens) > 0);

    /* The token is a secret: never shown. */
    cJSON *config = harness_get_json(d, "/api/v1/config");
    char *shown = cJSON_PrintUnformatted(config);
    assert_null(strstr(shown, TOKEN));
    assert_null(strstr(shown, "not-the-token"));
    free(shown);
    cJSON_Delete(config);
    fake_http_stop(f.http);
}

/* --- Recorded answers ------------------------------------------------------------------- */

static char *fixture(const char *name)
{
    const char *root = getenv("BALKON_FIXTURES");
    assert_non_null(root);
    char path[512];
    snprintf(path, sizeof path, "%s/real/home_assistant/%s", root, name);
    char *text = fake_read_file(path, NULL);
    if (!text)
        fail_msg("cannot read %s", path);
    return text;
}

/* A user's power sensor (77.1 W) as an inverter; a real light's state (taken from a
 * recorded turn_on answer) as a plug's switch; the recorded "Entity not found." answer. */
static void test_recorded(void **state_)
{
    struct harness_fixture *fx = *state_;
    struct daemon_proc *d = &fx->daemon;
    char *power = fixture("state_power_aistation.json");
    char *service = fixture("service_light_turn_on_kitchen.json");
    char *not_found = fixture("entity_not_found.json");
    cJSON *power_json = cJSON_Parse(power);
    cJSON *service_json = cJSON_Parse(service);
    const char *power_entity = cJSON_GetObjectItem(power_json, "entity_id")->valuestring;
    double want_w = strtod(cJSON_GetObjectItem(power_json, "state")->valuestring, NULL);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(power_json, "attributes"), "unit_of_measurement")
            ->valuestring,
        "W");
    cJSON *light = cJSON_GetArrayItem(service_json, 0);
    const char *light_entity = cJSON_GetObjectItem(light, "entity_id")->valuestring;
    double want_on = strcmp(cJSON_GetObjectItem(light, "state")->valuestring, "on") == 0;
    char *light_text = cJSON_PrintUnformatted(light);
    char path[192];
    snprintf(path, sizeof path, "/api/states/%s", power_entity);
    harness_route_json(fx->fakes[0], path, 200, power);
    snprintf(path, sizeof path, "/api/states/%s", light_entity);
    harness_route_json(fx->fakes[0], path, 200, light_text);
    harness_route_json(fx->fakes[0], "/api/states/sensor.removed", 404, not_found);
    int port = fake_http_port(fx->fakes[0]);
    char devices[1024];
    snprintf(devices, sizeof devices,
             "{\"id\": \"pv\", \"type\": \"home_assistant\", \"role\": \"inverter\", \"host\": "
             "\"127.0.0.1\", \"port\": %d, \"token\": \"t\", \"power_key\": \"%s\","
             " \"poll_interval_s\": 0.5},\n"
             "{\"id\": \"lamp\", \"type\": \"home_assistant\", \"role\": \"plug\", \"host\": "
             "\"127.0.0.1\", \"port\": %d, \"token\": \"t\", \"state_key\": \"%s\","
             " \"poll_interval_s\": 0.5},\n"
             "{\"id\": \"gone\", \"type\": \"home_assistant\", \"host\": \"127.0.0.1\", \"port\": "
             "%d, \"token\": \"t\", \"power_key\": \"sensor.removed\", \"poll_interval_s\": 0.5}",
             port, power_entity, port, light_entity, port);
    harness_write_devices_config(d, "recorded ha", devices);
    assert_true(harness_start(d, NULL));
    cJSON_Delete(harness_wait_value(d, "pv", "power_w", want_w, 1e-9, 10000));
    cJSON_Delete(harness_wait_value(d, "lamp", "on", want_on, 1e-9, 10000));
    harness_wait_offline(d, "gone", "sensor.removed: HTTP 404: no such entity", 25000);
    /* By hand: the capture's 77.1 W. */
    cJSON *dev = harness_device(d, "pv");
    assert_float_equal(harness_device_value(dev, "power_w"), 77.1, 1e-9);
    cJSON_Delete(dev);
    free(light_text);
    cJSON_Delete(power_json);
    cJSON_Delete(service_json);
    free(power);
    free(service);
    free(not_found);
}

static void test_check_config(void **state_)
{
    struct daemon_proc *d = *state_;
    harness_write_site_config(
        d, "ha test", NULL,
        "{\"id\": \"a\", \"type\": \"home_assistant\", \"host\": \"10.0.0.9\","
        " \"power_key\": \"sensor.grid\"},\n"
        "{\"id\": \"b\", \"type\": \"home_assistant\", \"host\": \"10.0.0.9\", \"token\": \"t\","
        " \"power_key\": \"Grid Power\"},\n"
        "{\"id\": \"c\", \"type\": \"home_assistant\", \"host\": \"10.0.0.9\", \"token\": \"t\","
        " \"role\": \"plug\"}");
    char out[4096];
    assert_int_equal(harness_check_config(d, out, sizeof out), 2);
    assert_non_null(strstr(out, "devices[0].token: is required for type \"home_assistant\""));
    assert_non_null(strstr(
        out, "devices[1].power_key: must be an entity id like \"sensor.grid_power\", got \"Grid "
             "Power\""));
    assert_non_null(strstr(out, "devices[2].state_key: is required for a \"home_assistant\" plug"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_entities, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_recorded, harness_setup_fake, harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_check_config, harness_setup, harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
