/* GET /api/v1/savings/sizes on the real daemon: a few simulated hours of a June morning
 * replayed for several battery sizes. The sizes come back sorted, without a battery nothing
 * is saved, the configured size's saving is the savings page's own self-consumption
 * counterfactual over the same range (GET /api/v1/savings), the price and payback follow
 * investment.battery_price, the default sizes are built around the configured battery, and
 * malformed sizes are refused naming the parameter. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Berlin, an 890 W plane, a 2.24 kWh battery bought for 700 EUR, a day/night tariff; 600x:
 * a wall second is ten simulated minutes. */
static void write_config(struct daemon_proc *d)
{
    harness_write_config(
        d, "{\n"
           "  \"site\": {\"name\": \"sizing test\", \"latitude\": 52.52, \"longitude\": 13.40,"
           " \"timezone\": \"Europe/Berlin\"},\n"
           "  \"pv\": {\"planes\": [{\"name\": \"south\", \"tilt\": 30, \"azimuth\": 0, "
           "\"peak_w\": 890}]},\n"
           "  \"battery\": {\"capacity_wh\": 2240},\n"
           "  \"simulation\": {\"speed\": 600, \"start\": \"2026-06-22T04:00:00Z\", "
           "\"cloudiness_pct\": 30},\n"
           "  \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
           "  \"providers\": [\n"
           "    {\"id\": \"tariff\", \"type\": \"tou\", \"zones\": [\n"
           "      {\"days\": \"daily\", \"from\": \"06:00\", \"to\": \"22:00\", "
           "\"price_per_kwh\": 0.40},\n"
           "      {\"days\": \"daily\", \"from\": \"22:00\", \"to\": \"06:00\", "
           "\"price_per_kwh\": 0.25}]},\n"
           "    {\"id\": \"forecast\", \"type\": \"sim_solar\"}],\n"
           "  \"tariff\": {\"feed_in_per_kwh\": 0},\n"
           "  \"investment\": {\"modules_price\": 450, \"battery_price\": 700}\n"
           "}\n");
}

static double number(const cJSON *json, const char *key)
{
    const cJSON *item = cJSON_GetObjectItem(json, key);
    if (!cJSON_IsNumber(item))
        fail_msg("%s is not a number", key);
    return item->valuedouble;
}

static void test_sizes_from_the_stored_history(void **state)
{
    struct daemon_proc *d = *state;
    write_config(d);
    assert_true(harness_start(d, NULL));
    /* Three simulated hours of a June morning. */
    harness_sleep_ms(18000);

    cJSON *sizing = harness_get_json(d, "/api/v1/savings/sizes?sizes=2240,0,500,500");
    assert_non_null(sizing);
    assert_string_equal(harness_text(sizing, "currency"), "EUR");
    assert_true(number(sizing, "battery_wh") == 2240);
    assert_true(fabs(number(sizing, "price_per_kwh") - 312.5) < 0.01);
    assert_true(number(sizing, "days") > 0);
    const cJSON *sizes = cJSON_GetObjectItem(sizing, "sizes");
    assert_int_equal(cJSON_GetArraySize(sizes), 3);
    const cJSON *none = cJSON_GetArrayItem(sizes, 0), *small = cJSON_GetArrayItem(sizes, 1),
                *configured = cJSON_GetArrayItem(sizes, 2);
    assert_true(number(none, "battery_wh") == 0 && number(small, "battery_wh") == 500 &&
                number(configured, "battery_wh") == 2240);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(small, "configured")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(configured, "configured")));
    assert_true(number(none, "saved") == 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(none, "payback_years")));
    assert_true(number(configured, "price") == 700);
    assert_true(fabs(number(small, "price") - 156.25) < 0.01);
    /* Less than a day of data: no saving per year, so no payback. */
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(configured, "annual_saving")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(configured, "payback_years")));
    /* A June morning: the battery covers the load from its charge and the surplus. */
    double saved = number(configured, "saved");
    assert_true(saved > 0.01);
    assert_true(saved >= number(small, "saved") - 0.005);

    /* The configured size is the savings page's self-consumption counterfactual. */
    char path[256];
    snprintf(path, sizeof path, "/api/v1/savings?from=%s&to=%s", harness_text(sizing, "from"),
             harness_text(sizing, "to"));
    cJSON *savings = harness_get_json(d, path);
    assert_non_null(savings);
    const cJSON *total = cJSON_GetObjectItem(savings, "total");
    double expected = number(total, "cost_no_battery") - number(total, "cost_self_consumption");
    if (fabs(expected - saved) > 0.011)
        fail_msg("sizes say %.2f saved with 2240 Wh, savings %.2f", saved, expected);
    cJSON_Delete(savings);
    cJSON_Delete(sizing);

    /* Without sizes: none, half, the configured battery, twice and three times it. */
    sizing = harness_get_json(d, "/api/v1/savings/sizes");
    assert_non_null(sizing);
    sizes = cJSON_GetObjectItem(sizing, "sizes");
    static const double defaults[] = {0, 1120, 2240, 4480, 6720};
    assert_int_equal(cJSON_GetArraySize(sizes), 5);
    for (int i = 0; i < 5; i++)
        assert_true(number(cJSON_GetArrayItem(sizes, i), "battery_wh") == defaults[i]);
    cJSON_Delete(sizing);

    static const char *const bad[] = {"abc", "0,,1000", "-5", "0,200000", "1,2,3,4,5,6,7"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "/api/v1/savings/sizes?sizes=%s", bad[i]);
        struct http_reply reply = harness_http(d, "GET", path, NULL, 0, NULL);
        if (reply.status != 400 || !strstr(reply.body, "sizes: "))
            fail_msg("sizes=%s: %ld %s", bad[i], reply.status, reply.body);
        http_reply_free(&reply);
    }
    struct http_reply reply = harness_http(d, "POST", "/api/v1/savings/sizes", "{}", 2, NULL);
    assert_int_equal(reply.status, 405);
    http_reply_free(&reply);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sizes_from_the_stored_history, harness_setup,
                                        harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
