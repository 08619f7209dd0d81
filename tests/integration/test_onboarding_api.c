/* What the setup UI needs from the real daemon: the device catalogue made from the driver
 * table (GET /api/v1/devices/catalogue), a device read once before it is saved (POST
 * /api/v1/devices/test against a fake Shelly Pro 3EM, its answer at GET
 * /api/v1/devices/test/{id}) without it appearing among the site's devices, field errors
 * for a host with a port or a wrong type, a failure named for a port nobody listens on,
 * a plan without battery moves when no device is a battery (the battery section's defaults
 * notwithstanding), and PUT /api/v1/config writing only what differs from the defaults with the
 * file's comments kept and the file before in .bak (both 0600). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_http.h"
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *PRO3EM_SHELLY =
    "{\"name\":null,\"id\":\"shellypro3em-ec62609773d8\",\"mac\":\"EC62609773D8\",\"slot\":1,"
    "\"model\":\"SPEM-003CEBEU\",\"gen\":2,\"fw_id\":\"20241011-114455/1.4.4-g6d2a586\","
    "\"ver\":\"1.4.4\",\"app\":\"Pro3EM\",\"auth_en\":false,\"auth_domain\":null,"
    "\"profile\":\"triphase\"}";
static const char *PRO3EM_STATUS =
    "{\"id\":0,\"a_current\":1.851,\"a_voltage\":231.2,\"a_act_power\":-420.1,"
    "\"a_aprt_power\":428.0,\"a_pf\":-0.98,\"a_freq\":50.0,\"b_current\":0.412,\"b_voltage\":232.4,"
    "\"b_act_power\":52.3,\"b_aprt_power\":95.7,\"b_pf\":0.55,\"b_freq\":50.0,\"c_current\":0.371,"
    "\"c_voltage\":230.8,\"c_act_power\":55.3,\"c_aprt_power\":85.6,\"c_pf\":0.65,\"c_freq\":50.0,"
    "\"n_current\":null,\"total_current\":2.634,\"total_act_power\":-312.5,"
    "\"total_aprt_power\":609.3,\"user_calibrated_phase\":[]}";

static const cJSON *find_by(const cJSON *list, const char *key, const char *value)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        if (strcmp(harness_text(item, key), value) == 0)
            return item;
    }
    fail_msg("no item with %s = %s", key, value);
    return NULL;
}

static bool has_string(const cJSON *array, const char *value)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, array)
    {
        if (cJSON_IsString(item) && strcmp(item->valuestring, value) == 0)
            return true;
    }
    return false;
}

static void test_catalogue_comes_from_the_driver_table(void **state)
{
    struct harness_fixture *f = *state;
    struct daemon_proc *d = &f->daemon;
    harness_write_devices_config(d, "catalogue", "");
    assert_true(harness_start(d, NULL));
    cJSON *catalogue = harness_get_json(d, "/api/v1/devices/catalogue");
    const cJSON *drivers = cJSON_GetObjectItemCaseSensitive(catalogue, "drivers");
    /* Every type the config accepts is offered, each with at least one model. */
    char out[4096];
    const char *args[] = {"--check-config", "--config", "/nonexistent/x.json", NULL};
    harness_run_cli(args, out, sizeof out);
    const cJSON *driver;
    cJSON_ArrayForEach(driver, drivers)
    {
        assert_true(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(driver, "models")) >= 1);
        assert_non_null(harness_text(driver, "brand"));
    }
    assert_true(cJSON_GetArraySize(drivers) >= 9);
    const cJSON *shelly = find_by(drivers, "type", "shelly_gen2");
    assert_string_equal(harness_text(shelly, "brand"), "Shelly");
    assert_true(harness_number(shelly, "default_port") == 80);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(shelly, "host")));
    const cJSON *pro3em =
        find_by(cJSON_GetObjectItemCaseSensitive(shelly, "models"), "name", "Pro 3EM");
    const cJSON *roles = cJSON_GetObjectItemCaseSensitive(pro3em, "roles");
    assert_int_equal(cJSON_GetArraySize(roles), 1);
    assert_true(has_string(roles, "meter"));
    assert_true(has_string(cJSON_GetObjectItemCaseSensitive(shelly, "options"), "password"));
    const cJSON *marstek = find_by(drivers, "type", "marstek_venus");
    assert_true(harness_number(marstek, "default_port") == 30000);
    const cJSON *venus = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(marstek, "models"), 0);
    assert_true(has_string(cJSON_GetObjectItemCaseSensitive(venus, "roles"), "battery+meter"));
    const cJSON *mqtt = find_by(drivers, "type", "mqtt_json");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(mqtt, "host")));
    cJSON_Delete(catalogue);
}

/* Polls GET /api/v1/devices/test/{id} until it is no longer pending. */
static cJSON *wait_test(struct daemon_proc *d, const char *post_body)
{
    struct http_reply reply =
        harness_http(d, "POST", "/api/v1/devices/test", post_body, strlen(post_body), NULL);
    assert_int_equal(reply.status, 202);
    cJSON *started = cJSON_Parse(reply.body);
    http_reply_free(&reply);
    assert_string_equal(harness_text(started, "state"), "pending");
    char path[64];
    snprintf(path, sizeof path, "/api/v1/devices/test/%.0f", harness_number(started, "id"));
    cJSON_Delete(started);
    for (int waited = 0; waited < 15000; waited += 100) {
        cJSON *answer = harness_get_json(d, path);
        if (strcmp(harness_text(answer, "state"), "pending") != 0)
            return answer;
        cJSON_Delete(answer);
        harness_sleep_ms(100);
    }
    fail_msg("the device test did not end\n%s", harness_log(d));
    return NULL;
}

static void test_a_device_is_read_before_it_is_saved(void **state)
{
    struct harness_fixture *f = *state;
    struct daemon_proc *d = &f->daemon;
    harness_route_json(f->fakes[0], "/shelly", 200, PRO3EM_SHELLY);
    harness_route_json(f->fakes[0], "/rpc/EM.GetStatus", 200, PRO3EM_STATUS);
    harness_write_devices_config(d, "device test", "");
    assert_true(harness_start(d, NULL));
    char body[256];
    snprintf(body, sizeof body, "{\"type\":\"shelly_gen2\",\"host\":\"127.0.0.1\",\"port\":%d}",
             fake_http_port(f->fakes[0]));
    cJSON *answer = wait_test(d, body);
    assert_string_equal(harness_text(answer, "state"), "ok");
    assert_string_equal(harness_text(answer, "model"), "Pro3EM (SPEM-003CEBEU, gen 2)");
    assert_string_equal(harness_text(answer, "firmware"), "1.4.4");
    const cJSON *values = cJSON_GetObjectItemCaseSensitive(answer, "values");
    assert_true(harness_number(values, "power_w") == -312.5);
    assert_true(has_string(cJSON_GetObjectItemCaseSensitive(answer, "roles"), "meter"));
    cJSON_Delete(answer);
    assert_true(fake_http_hits(f->fakes[0], "/rpc/EM.GetStatus") >= 1);
    /* The test device is no device of the site, and it is not polled any more. */
    harness_sleep_ms(1500);
    cJSON *devices = harness_get_json(d, "/api/v1/devices");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(devices, "devices")), 0);
    cJSON_Delete(devices);
    int hits = fake_http_hits(f->fakes[0], "/rpc/EM.GetStatus");
    harness_sleep_ms(1500);
    assert_int_equal(fake_http_hits(f->fakes[0], "/rpc/EM.GetStatus"), hits);
}

static void assert_field_error(struct daemon_proc *d, const char *body, const char *path,
                               const char *message_part)
{
    struct http_reply reply =
        harness_http(d, "POST", "/api/v1/devices/test", body, strlen(body), NULL);
    assert_int_equal(reply.status, 400);
    cJSON *json = cJSON_Parse(reply.body);
    const cJSON *error = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(json, "errors"), 0);
    if (!error || strcmp(harness_text(error, "path"), path) != 0 ||
        !strstr(harness_text(error, "message"), message_part))
        fail_msg("for %s expected %s: ...%s..., got %s", body, path, message_part, reply.body);
    cJSON_Delete(json);
    http_reply_free(&reply);
}

static void test_bad_input_gets_field_errors(void **state)
{
    struct harness_fixture *f = *state;
    struct daemon_proc *d = &f->daemon;
    harness_write_devices_config(d, "bad input", "");
    assert_true(harness_start(d, NULL));
    assert_field_error(d, "{\"type\":\"shelly_gen2\",\"host\":\"127.0.0.1:9\"}", "host",
                       "without a port (put 9 into \"port\")");
    assert_field_error(d, "{\"type\":\"shelly_gen2\",\"host\":\"http://10.0.0.2\"}", "host",
                       "without \"http://\"");
    assert_field_error(d, "{\"type\":\"shelly_gen2\",\"host\":\"\"}", "host", "is required");
    assert_field_error(d, "{\"type\":\"shelly_gen2\",\"host\":\"10.0.0.2\",\"port\":70000}", "port",
                       "must be");
    assert_field_error(d, "{\"type\":\"nonsense\"}", "type",
                       "unknown device type \"nonsense\" (known: \"simulator\"");
    assert_field_error(d, "{\"type\":\"shelly_gen2\",\"host\":\"10.0.0.2\",\"role\":\"battery\"}",
                       "role", "must be \"meter\" or \"plug\"");
    struct http_reply reply = harness_http(d, "POST", "/api/v1/devices/test", "[1]", 3, NULL);
    assert_int_equal(reply.status, 400);
    http_reply_free(&reply);
    /* The same host check guards the config file. */
    harness_write_devices_config(
        d, "bad host", "{\"id\":\"m\",\"type\":\"shelly_gen2\",\"host\":\"127.0.0.1:9\"}");
    char out[4096];
    assert_int_not_equal(harness_check_config(d, out, sizeof out), 0);
    assert_non_null(strstr(out, "devices[0].host: must be a name or an IP address without a port"));
    /* Nobody listens: the test fails with the driver's reason, the daemon runs on. */
    cJSON *answer = wait_test(d, "{\"type\":\"shelly_gen2\",\"host\":\"127.0.0.1\",\"port\":9}");
    assert_string_equal(harness_text(answer, "state"), "failed");
    assert_true(strlen(harness_text(answer, "error")) > 5);
    /* With the code the page says it in its language: port 9 refuses the connection. */
    assert_string_equal(harness_text(answer, "error_code"), "unreachable");
    cJSON_Delete(answer);
    reply = harness_http(d, "GET", "/api/v1/devices/test/999", NULL, 0, NULL);
    assert_int_equal(reply.status, 404);
    http_reply_free(&reply);
}

static char *read_text(const char *path)
{
    size_t size;
    char *text = fake_read_file(path, &size);
    assert_non_null(text);
    return text;
}

static void test_put_keeps_comments_and_leaves_defaults_out(void **state)
{
    struct harness_fixture *f = *state;
    struct daemon_proc *d = &f->daemon;
    harness_write_config(d, "// My balcony\n"
                            "{\n"
                            "  \"site\": {\"name\": \"home\", // what the page shows\n"
                            "    \"latitude\": 52.52, \"longitude\": 13.40,"
                            " \"timezone\": \"Europe/Berlin\"},\n"
                            "  /* the meter */\n"
                            "  \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
                            "  \"storage\": {\"sample_interval_s\": 1}\n"
                            "}\n");
    assert_true(harness_start(d, NULL));
    cJSON *config = harness_get_json(d, "/api/v1/config");
    cJSON *site = cJSON_GetObjectItemCaseSensitive(config, "site");
    cJSON_ReplaceItemInObject(site, "name", cJSON_CreateString("balcony"));
    char *body = cJSON_PrintUnformatted(config);
    cJSON_Delete(config);
    struct http_reply reply = harness_http(d, "PUT", "/api/v1/config", body, strlen(body), NULL);
    free(body);
    assert_int_equal(reply.status, 200);
    http_reply_free(&reply);
    char *text = read_text(d->config_path);
    assert_non_null(strstr(text, "// My balcony"));
    assert_non_null(strstr(text, "\"name\": \"balcony\" // what the page shows"));
    assert_non_null(strstr(text, "/* the meter */"));
    /* Defaults are left out: the device's poll interval, the battery, the strategy. */
    assert_null(strstr(text, "poll_interval_s"));
    assert_null(strstr(text, "\"battery\""));
    assert_null(strstr(text, "\"strategy\""));
    char bak[400];
    snprintf(bak, sizeof bak, "%s.bak", d->config_path);
    char *old = read_text(bak);
    assert_non_null(strstr(old, "\"name\": \"home\""));
    struct stat st;
    assert_int_equal(stat(d->config_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(bak, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    free(old);
    free(text);
    /* The written file is what the daemon runs on after a restart. */
    cJSON *again = harness_get_json(d, "/api/v1/config");
    assert_string_equal(harness_text(cJSON_GetObjectItemCaseSensitive(again, "site"), "name"),
                        "balcony");
    cJSON_Delete(again);
}

/* Only a meter: the plan charges and discharges nothing, though battery.capacity_wh has its
 * default of 2240 Wh. */
static void test_no_battery_device_plans_no_battery(void **state)
{
    struct harness_fixture *f = *state;
    struct daemon_proc *d = &f->daemon;
    harness_route_json(f->fakes[0], "/shelly", 200, PRO3EM_SHELLY);
    harness_route_json(f->fakes[0], "/rpc/EM.GetStatus", 200, PRO3EM_STATUS);
    char json[2048];
    snprintf(json, sizeof json,
             "{\"site\": {\"name\": \"meter only\"},\n"
             " \"devices\": [{\"id\": \"grid\", \"type\": \"shelly_gen2\", \"host\": "
             "\"127.0.0.1\", \"port\": %d}],\n"
             "  \"pv\": {\"planes\": [{\"name\": \"south\", \"peak_w\": 890}]},\n"
             " \"providers\": [{\"id\": \"tariff\", \"type\": \"tou\", \"zones\": [\n"
             "   {\"days\": \"daily\", \"from\": \"06:00\", \"to\": \"22:00\", "
             "\"price_per_kwh\": 0.45},\n"
             "   {\"days\": \"daily\", \"from\": \"22:00\", \"to\": \"06:00\", "
             "\"price_per_kwh\": 0.15}]},\n"
             "   {\"id\": \"forecast\", \"type\": \"sim_solar\"}],\n"
             " \"optimizer\": {\"strategy\": \"optimal\", \"allow_grid_charge\": true},\n"
             " \"control\": {\"enabled\": false}}\n",
             fake_http_port(f->fakes[0]));
    harness_write_config(d, json);
    assert_true(harness_start(d, NULL));
    /* It says so. */
    assert_true(harness_wait_log(d, "no device is a battery: planning without one", 5000));
    cJSON *plan = NULL;
    for (int waited = 0; waited <= 15000 && !plan; waited += 200) {
        struct http_reply reply = harness_http(d, "GET", "/api/v1/plan", NULL, 0, NULL);
        if (reply.status == 200)
            plan = cJSON_Parse(reply.body);
        http_reply_free(&reply);
        if (!plan)
            harness_sleep_ms(200);
    }
    if (!plan)
        fail_msg("no plan\n%s", harness_log(d));
    const cJSON *battery_w = cJSON_GetObjectItemCaseSensitive(plan, "battery_w");
    assert_true(cJSON_GetArraySize(battery_w) > 10);
    const cJSON *item;
    cJSON_ArrayForEach(item, battery_w)
    {
        assert_true(item->valuedouble == 0.0);
    }
    cJSON_Delete(plan);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_catalogue_comes_from_the_driver_table,
                                        harness_setup_fake, harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_a_device_is_read_before_it_is_saved,
                                        harness_setup_fake, harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_bad_input_gets_field_errors, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_no_battery_device_plans_no_battery, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_put_keeps_comments_and_leaves_defaults_out,
                                        harness_setup_fake, harness_teardown_fakes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
