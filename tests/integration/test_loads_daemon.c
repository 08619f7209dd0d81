/* Deferrable loads through the real daemon: the simulator's smart plug with a 300 W
 * appliance behind it, switched by solar surplus, by hand through the API, and back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Midday in June, no clouds, a full battery: everything beyond the household is surplus.
 * At 20x a simulated minute takes 3 s. */
static void write_config(struct daemon_proc *d)
{
    harness_write_config(
        d, "{\n"
           "  \"site\": {\"name\": \"loads test\", \"latitude\": 52.52, \"longitude\": 13.40,"
           " \"timezone\": \"Europe/Berlin\"},\n"
           "  \"pv\": {\"planes\": [{\"name\": \"south\", \"tilt\": 35, \"azimuth\": 0, "
           "\"peak_w\": 1600}]},\n"
           "  \"battery\": {\"capacity_wh\": 2240},\n"
           "  \"household\": {\"annual_kwh\": 1000},\n"
           "  \"simulation\": {\"speed\": 20, \"start\": \"2026-06-22T10:00:00Z\", "
           "\"cloudiness_pct\": 0,"
           " \"initial_soc_pct\": 100, \"plug_power_w\": 300},\n"
           "  \"storage\": {\"sample_interval_s\": 5},\n"
           "  \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
           "  \"optimizer\": {\"strategy\": \"self_consumption\"},\n"
           "  \"loads\": [{\"id\": \"heater\", \"name\": \"Water heater\", \"plug\": \"sim-plug\","
           " \"mode\": \"surplus\", \"power_w\": 300, \"min_on_s\": 60, \"min_off_s\": 60}]\n"
           "}\n");
}

/* The load's entry in GET /api/v1/loads once `on` is as expected (caller deletes the
 * returned list); fails after timeout_ms. */
static cJSON *wait_load(struct daemon_proc *d, bool on, const char *reason_part, int timeout_ms,
                        const cJSON **load)
{
    for (int waited = 0; waited <= timeout_ms; waited += 200) {
        cJSON *json = harness_get_json(d, "/api/v1/loads");
        const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(json, "loads"), 0);
        if (first && cJSON_IsTrue(cJSON_GetObjectItem(first, "on")) == on &&
            strstr(harness_text(first, "reason"), reason_part)) {
            *load = first;
            return json;
        }
        cJSON_Delete(json);
        harness_sleep_ms(200);
    }
    cJSON *json = harness_get_json(d, "/api/v1/loads");
    fail_msg("load never %s with \"%s\": %s\n%s", on ? "on" : "off", reason_part,
             cJSON_PrintUnformatted(json), harness_log(d));
    return NULL;
}

static double plug_value(struct daemon_proc *d, const char *name)
{
    cJSON *json = harness_get_json(d, "/api/v1/devices");
    double value = NAN;
    const cJSON *device;
    cJSON_ArrayForEach(device, cJSON_GetObjectItem(json, "devices"))
    {
        if (strcmp(harness_text(device, "id"), "sim-plug") == 0) {
            const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(device, "values"), name);
            value = cJSON_IsNumber(v) ? v->valuedouble : NAN;
        }
    }
    cJSON_Delete(json);
    return value;
}

static void post(struct daemon_proc *d, const char *path, const char *body, long status,
                 const char *error_part)
{
    struct http_reply reply = harness_http(d, "POST", path, body, strlen(body), NULL);
    if (reply.status != status || !strstr(reply.body, error_part))
        fail_msg("POST %s %s: %ld %s", path, body, reply.status, reply.body);
    http_reply_free(&reply);
}

static void test_surplus_switches_the_plug_and_hand_overrides_win(void **state)
{
    struct daemon_proc *d = *state;
    write_config(d);
    assert_true(harness_start(d, NULL));

    const cJSON *load;
    cJSON *json = wait_load(d, true, "solar surplus", 20000, &load);
    assert_string_equal(harness_text(load, "name"), "Water heater");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(load, "plug_online")));
    cJSON_Delete(json);
    /* The plug really switched: it reports on and its appliance's power. */
    for (int i = 0; i < 20 && plug_value(d, "on") != 1; i++)
        harness_sleep_ms(200);
    assert_float_equal(plug_value(d, "on"), 1, 0);
    assert_float_equal(plug_value(d, "power_w"), 300, 0.01);
    assert_true(harness_wait_log(d, "heater: switching on (solar surplus", 1000));

    /* Off by hand for an hour: at once, whatever the surplus. */
    post(d, "/api/v1/loads/heater/override", "{\"state\": \"off\", \"duration_min\": 60}", 200,
         "\"on\":false");
    json = wait_load(d, false, "off by hand until", 2000, &load);
    assert_string_equal(harness_text(load, "override"), "off");
    cJSON_Delete(json);
    for (int i = 0; i < 20 && plug_value(d, "on") != 0; i++)
        harness_sleep_ms(200);
    assert_float_equal(plug_value(d, "on"), 0, 0);

    /* Handed back: on again after min_off_s and a minute of surplus. */
    post(d, "/api/v1/loads/heater/override", "{\"state\": \"auto\"}", 200, "\"id\":\"heater\"");
    json = wait_load(d, true, "solar surplus", 20000, &load);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(load, "override")));
    cJSON_Delete(json);

    /* Every switch went through the command log with the loads as its source. */
    json = harness_get_json(d, "/api/v1/commands?device=sim-plug");
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(json, "commands")) >= 3);
    cJSON_Delete(json);
}

static void test_bad_requests_name_the_problem(void **state)
{
    struct daemon_proc *d = *state;
    write_config(d);
    assert_true(harness_start(d, NULL));
    const cJSON *load;
    cJSON_Delete(wait_load(d, false, "", 10000, &load));
    post(d, "/api/v1/loads/boiler/override", "{\"state\": \"on\"}", 404, "no such load: boiler");
    post(d, "/api/v1/loads/heater/override", "{\"state\": \"maybe\"}", 400, "state: must be");
    post(d, "/api/v1/loads/heater/override", "{\"state\": \"on\", \"duration_min\": -5}", 400,
         "duration_min");
    post(d, "/api/v1/loads/heater/override", "not json", 400, "body: expected a JSON object");
    /* The daemon is still serving. */
    cJSON_Delete(harness_get_json(d, "/api/v1/loads"));
}

static void test_load_config_errors_name_the_field(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_config(
        d, "{\"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
           " \"loads\": [{\"id\": \"a\", \"plug\": \"sim-plug\", \"mode\": \"sometimes\"},\n"
           "             {\"id\": \"b\", \"plug\": \"sim-plug\", \"run_min\": 120,"
           " \"earliest\": \"17:00\", \"latest\": \"18:00\"}]}\n");
    char out[4096];
    assert_int_not_equal(harness_check_config(d, out, sizeof out), 0);
    assert_non_null(strstr(
        out,
        "loads[0].mode: must be one of \"surplus\", \"cheap\", \"manual\", got \"sometimes\""));
    assert_non_null(
        strstr(out, "loads[1].latest: leaves less than run_min (120 min) after earliest 17:00"));
    assert_non_null(strstr(out, "loads[1].plug: duplicate plug \"sim-plug\" (also loads[0])"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_surplus_switches_the_plug_and_hand_overrides_win,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests_name_the_problem, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_load_config_errors_name_the_field, harness_setup,
                                        harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
