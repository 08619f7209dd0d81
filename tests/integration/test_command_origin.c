/* Commands from three senders to one plug, through the real daemon: an appliance's
 * automatic start (recommend), POST /api/v1/devices/{id}/command (the API) and Home
 * Assistant's switch over a real mosquitto (MQTT). Each command gets an id from the one
 * allocator and its result carries its sender, so the command log says who switched the
 * plug, and the recommendations confirm exactly their own commands, never the API's or
 * Home Assistant's (before, Home Assistant's and the recommendations' ids came from two
 * counters with the same bit, and results were matched by id alone). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include "mqtt_broker.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define PREFIX "bsorigin"

static void write_config(struct daemon_proc *d, int port)
{
    char json[4096];
    snprintf(json, sizeof json,
             "{\n"
             "  \"site\": {\"name\": \"origin test\", \"timezone\": \"UTC\"},\n"
             "  \"battery\": {\"capacity_wh\": 2240},\n"
             "  \"simulation\": {\"speed\": 60, \"start\": \"2026-06-22T10:00:00Z\", "
             "\"plug_power_w\": 300},\n"
             "  \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
             "  \"pv\": {\"planes\": [{\"name\": \"south\", \"peak_w\": 890}]},\n"
             "  \"providers\": [{\"id\": \"tariff\", \"type\": \"tou\", \"zones\": [\n"
             "      {\"days\": \"daily\", \"from\": \"00:00\", \"to\": \"24:00\", "
             "\"price_per_kwh\": 0.30}]},\n"
             "    {\"id\": \"forecast\", \"type\": \"sim_solar\"}],\n"
             "  \"appliances\": [{\"id\": \"dishwasher\", \"name\": \"Dishwasher\", "
             "\"duration_min\": 20,"
             " \"energy_kwh\": 0.1, \"latest\": \"10:30\", \"plug\": \"sim-plug\", \"auto_start\": "
             "true}],\n"
             "  \"mqtt\": {\"enabled\": true, \"host\": \"127.0.0.1\", \"port\": %d, "
             "\"client_id\": \"bsorigin\","
             " \"prefix\": \"" PREFIX "\", \"publish_interval_s\": 1}\n"
             "}\n",
             port);
    harness_write_config(d, json);
}

/* The command log's entries for sim-plug that ended ok, by source; the request ids into
 * ids (up to max). Returns how many entries there are. */
static size_t plug_commands(struct daemon_proc *d, const char *source, double *ids, size_t max)
{
    cJSON *json = harness_get_json(d, "/api/v1/commands?device=sim-plug&limit=100");
    size_t n = 0;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, cJSON_GetObjectItem(json, "commands"))
    {
        if (strcmp(harness_text(entry, "source"), source) != 0 ||
            strcmp(harness_text(entry, "result"), "ok") != 0)
            continue;
        const cJSON *id = cJSON_GetObjectItem(entry, "request_id");
        if (n < max)
            ids[n] = cJSON_IsNumber(id) ? id->valuedouble : NAN;
        n++;
    }
    cJSON_Delete(json);
    return n;
}

static size_t count_in_log(struct daemon_proc *d, const char *text)
{
    size_t n = 0;
    for (const char *at = strstr(harness_log(d), text); at; at = strstr(at + 1, text))
        n++;
    return n;
}

static void test_each_sender_sees_only_its_own_results(void **state)
{
    struct daemon_proc *d = *state;
    struct mqtt_broker *broker = mqtt_broker_start();
    if (!broker)
        skip();
    int port = mqtt_broker_port(broker);
    write_config(d, port);
    assert_true(harness_start(d, NULL));

    /* The recommendation starts the dishwasher at once (it must be done by 10:30). */
    double recommend_ids[8], api_ids[8], mqtt_ids[8];
    for (int waited = 0; plug_commands(d, "recommend", recommend_ids, 8) == 0; waited += 200) {
        if (waited > 20000)
            fail_msg("the recommendation never switched the plug\n%s", harness_log(d));
        harness_sleep_ms(200);
    }

    /* The same plug from the API … */
    const char *body = "{\"command\": \"switch\", \"value\": 0}";
    struct http_reply reply =
        harness_http(d, "POST", "/api/v1/devices/sim-plug/command", body, strlen(body), NULL);
    assert_int_equal(reply.status, 202);
    cJSON *answer = cJSON_Parse(reply.body);
    double api_answer_id = cJSON_GetObjectItem(answer, "request_id")->valuedouble;
    cJSON_Delete(answer);
    http_reply_free(&reply);

    /* … and from Home Assistant. */
    struct mqtt_test_client *ha = mqtt_test_client_new(port);
    assert_non_null(ha);
    for (int waited = 0; plug_commands(d, "api", api_ids, 8) == 0; waited += 200) {
        if (waited > 10000)
            fail_msg("the API's command never ended\n%s", harness_log(d));
        harness_sleep_ms(200);
    }
    assert_true(mqtt_test_publish(ha, PREFIX "/set/plug/sim-plug", "ON", false));
    for (int waited = 0; plug_commands(d, "mqtt", mqtt_ids, 8) == 0; waited += 200) {
        if (waited > 10000)
            fail_msg("Home Assistant's command never ended\n%s", harness_log(d));
        harness_sleep_ms(200);
    }
    mqtt_test_client_free(ha);
    harness_sleep_ms(1000);

    size_t recommend_count = plug_commands(d, "recommend", recommend_ids, 8);
    size_t api_count = plug_commands(d, "api", api_ids, 8);
    size_t mqtt_count = plug_commands(d, "mqtt", mqtt_ids, 8);
    assert_int_equal(api_count, 1);
    assert_int_equal(mqtt_count, 1);
    /* The API answered with the id its result carries. */
    assert_float_equal(api_ids[0], api_answer_id, 0);
    /* One allocator: no two commands share an id, whoever sent them. */
    assert_true(api_ids[0] != mqtt_ids[0]);
    for (size_t i = 0; i < recommend_count && i < 8; i++) {
        assert_true(recommend_ids[i] != api_ids[0]);
        assert_true(recommend_ids[i] != mqtt_ids[0]);
    }
    /* The recommendations confirmed their own commands, each once, and nothing else. */
    assert_int_equal(count_in_log(d, "recommend: dishwasher: sim-plug switched"), recommend_count);
    for (size_t i = 0; i < recommend_count && i < 8; i++) {
        char line[96];
        snprintf(line, sizeof line, "confirmed (command %.0f)", recommend_ids[i]);
        assert_int_equal(count_in_log(d, line), 1);
    }
    char api_line[64], mqtt_line[64];
    snprintf(api_line, sizeof api_line, "confirmed (command %.0f)", api_ids[0]);
    snprintf(mqtt_line, sizeof mqtt_line, "confirmed (command %.0f)", mqtt_ids[0]);
    assert_int_equal(count_in_log(d, api_line), 0);
    assert_int_equal(count_in_log(d, mqtt_line), 0);
    mqtt_broker_stop(broker);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_each_sender_sees_only_its_own_results, harness_setup,
                                        harness_teardown),
    };
    return cmocka_run_group_tests_name("command_origin", tests, NULL, NULL);
}
