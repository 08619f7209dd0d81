/* Action recommendations through the real daemon: a demo-like site with a time-of-use
 * tariff and the sim_solar forecast, GET /api/v1/recommendations, and an appliance on the
 * simulator's plug started automatically and switched off after its run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Seconds since the epoch of "YYYY-MM-DDTHH:MM:SS..." (UTC). */
static int64_t iso_time(const char *iso)
{
    int y, mo, d, h, mi, se;
    if (sscanf(iso, "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &se) != 6)
        fail_msg("not an ISO time: \"%s\"", iso);
    /* Days from civil (Howard Hinnant's algorithm). */
    y -= mo <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return days * 86400 + h * 3600 + mi * 60 + se;
}

/* The recommendation of id once its status is `status` (caller deletes *json); fails after
 * timeout_ms. */
static const cJSON *wait_recommendation(struct daemon_proc *d, const char *id, const char *status,
                                        int timeout_ms, cJSON **json)
{
    for (int waited = 0; waited <= timeout_ms; waited += 200) {
        *json = harness_get_json(d, "/api/v1/recommendations");
        const cJSON *rec;
        cJSON_ArrayForEach(rec, cJSON_GetObjectItem(*json, "recommendations"))
        {
            if (strcmp(harness_text(rec, "id"), id) == 0 &&
                strcmp(harness_text(rec, "status"), status) == 0)
                return rec;
        }
        cJSON_Delete(*json);
        harness_sleep_ms(200);
    }
    *json = harness_get_json(d, "/api/v1/recommendations");
    fail_msg("%s never \"%s\": %s\n%s", id, status, cJSON_PrintUnformatted(*json), harness_log(d));
    return NULL;
}

static double plug_on(struct daemon_proc *d)
{
    cJSON *json = harness_get_json(d, "/api/v1/devices");
    double value = NAN;
    const cJSON *device;
    cJSON_ArrayForEach(device, cJSON_GetObjectItem(json, "devices"))
    {
        if (strcmp(harness_text(device, "id"), "sim-plug") == 0)
            value = harness_number(cJSON_GetObjectItem(device, "values"), "on");
    }
    cJSON_Delete(json);
    return value;
}

static bool wait_plug(struct daemon_proc *d, double on, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 200) {
        if (plug_on(d) == on)
            return true;
        harness_sleep_ms(200);
    }
    return false;
}

/* 07:00 in Berlin on a June day, 60x: a cheap tariff zone at midday, no pay for export. */
static void test_recommendations_name_the_appliance_and_a_start_before_latest(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_config(
        d, "{\n"
           "  \"site\": {\"name\": \"recommend test\", \"latitude\": 52.52, \"longitude\": 13.40,"
           " \"timezone\": \"Europe/Berlin\"},\n"
           "  \"pv\": {\"planes\": [{\"name\": \"east\", \"tilt\": 60, \"azimuth\": -90, "
           "\"peak_w\": 445},"
           " {\"name\": \"west\", \"tilt\": 60, \"azimuth\": 90, \"peak_w\": 445}]},\n"
           "  \"battery\": {\"capacity_wh\": 2240},\n"
           "  \"simulation\": {\"speed\": 60, \"start\": \"2026-06-22T05:00:00Z\", "
           "\"cloudiness_pct\": 45},\n"
           "  \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
           "  \"providers\": [{\"id\": \"tariff\", \"type\": \"tou\", \"zones\": [\n"
           "      {\"days\": \"daily\", \"from\": \"06:00\", \"to\": \"22:00\", \"price_per_kwh\": "
           "0.38},\n"
           "      {\"days\": \"daily\", \"from\": \"12:00\", \"to\": \"14:00\", \"price_per_kwh\": "
           "0.10},\n"
           "      {\"days\": \"daily\", \"from\": \"22:00\", \"to\": \"06:00\", \"price_per_kwh\": "
           "0.27}]},\n"
           "    {\"id\": \"forecast\", \"type\": \"sim_solar\"}],\n"
           "  \"tariff\": {\"feed_in_per_kwh\": 0, \"currency\": \"EUR\"},\n"
           "  \"appliances\": [\n"
           "    {\"id\": \"washer\", \"name\": \"Washing machine\", \"duration_min\": 120, "
           "\"energy_kwh\": 0.9,"
           " \"latest\": \"20:00\"},\n"
           "    {\"id\": \"dryer\", \"name\": \"Dryer\", \"duration_min\": 600, \"energy_kwh\": 2, "
           "\"latest\": \"08:00\"}]\n"
           "}\n");
    assert_true(harness_start(d, NULL));

    cJSON *json;
    const cJSON *rec = wait_recommendation(d, "washer", "ok", 20000, &json);
    assert_string_equal(harness_text(rec, "name"), "Washing machine");
    assert_string_equal(harness_text(rec, "currency"), "EUR");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(rec, "auto_start")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(rec, "plug")));
    assert_non_null(strstr(harness_text(rec, "sentence"), "washing machine"));
    /* Ends by 20:00 Berlin (18:00 UTC) on the simulated day. */
    int64_t start = iso_time(harness_text(rec, "start")), end = iso_time(harness_text(rec, "end"));
    int64_t latest = iso_time("2026-06-22T18:00:00");
    assert_int_equal(iso_time(harness_text(rec, "latest")), latest);
    assert_int_equal(end - start, 120 * 60);
    assert_true(end <= latest);
    /* Starting at 07:00 pays the day price for most of it; the midday zone (or the sun) is
     * cheaper, so the advice is to wait and it saves money. */
    double saving = harness_number(rec, "saving");
    assert_true(saving > 0);
    assert_float_equal(saving, harness_number(rec, "cost_now") - harness_number(rec, "cost"),
                       0.0002);
    assert_true(start > iso_time(harness_text(json, "computed")));
    assert_non_null(strstr(harness_text(rec, "sentence"), "cheaper than starting now"));

    /* Ten hours do not fit before 08:00: said in words. */
    const cJSON *dryer = cJSON_GetArrayItem(cJSON_GetObjectItem(json, "recommendations"), 1);
    assert_string_equal(harness_text(dryer, "status"), "no_fit");
    assert_non_null(
        strstr(harness_text(dryer, "sentence"), "dryer (600 min) does not fit before 08:00"));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(dryer, "start")));
    cJSON_Delete(json);
    assert_true(harness_wait_log(d, "recommend: washer: Start the washing machine", 1000));
}

/* 10:00 UTC, 60x: a 20-minute run that must be done by 10:30 can only start now. */
static void test_auto_start_switches_the_plug_on_and_off_after_the_run(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_config(d,
                         "{\n"
                         "  \"site\": {\"name\": \"auto start\", \"timezone\": \"UTC\"},\n"
                         "  \"pv\": {\"planes\": [{\"name\": \"south\", \"peak_w\": 890}]},\n"
                         "  \"battery\": {\"capacity_wh\": 2240},\n"
                         "  \"simulation\": {\"speed\": 60, \"start\": \"2026-06-22T10:00:00Z\", "
                         "\"plug_power_w\": 300},\n"
                         "  \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
                         "  \"providers\": [{\"id\": \"tariff\", \"type\": \"tou\", \"zones\": [\n"
                         "      {\"days\": \"daily\", \"from\": \"00:00\", \"to\": \"24:00\", "
                         "\"price_per_kwh\": 0.30}]},\n"
                         "    {\"id\": \"forecast\", \"type\": \"sim_solar\"}],\n"
                         "  \"appliances\": [{\"id\": \"dishwasher\", \"name\": \"Dishwasher\", "
                         "\"duration_min\": 20,"
                         " \"energy_kwh\": 0.1, \"latest\": \"10:30\", \"plug\": \"sim-plug\", "
                         "\"auto_start\": true}]\n"
                         "}\n");
    assert_true(harness_start(d, NULL));

    cJSON *json;
    const cJSON *rec = wait_recommendation(d, "dishwasher", "running", 20000, &json);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(rec, "auto_start")));
    assert_string_equal(harness_text(rec, "plug"), "sim-plug");
    assert_non_null(strstr(harness_text(rec, "sentence"), "started automatically"));
    assert_int_equal(iso_time(harness_text(rec, "end")) - iso_time(harness_text(rec, "start")),
                     20 * 60);
    cJSON_Delete(json);
    if (!wait_plug(d, 1, 5000))
        fail_msg("the plug never switched on\n%s", harness_log(d));

    /* 20 simulated minutes are 20 s; then off, and the run is done for today. */
    rec = wait_recommendation(d, "dishwasher", "done", 40000, &json);
    cJSON_Delete(json);
    if (!wait_plug(d, 0, 5000))
        fail_msg("the plug never switched off\n%s", harness_log(d));
    assert_true(harness_wait_log(d, "dishwasher: switching sim-plug on", 1000));
    assert_true(harness_wait_log(d, "dishwasher: switching sim-plug off", 1000));
    /* Once per day: it stays off. */
    harness_sleep_ms(2000);
    assert_float_equal(plug_on(d), 0, 0);
}

static void test_appliance_config_errors_name_the_field(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_config(
        d, "{\"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
           " \"loads\": [{\"id\": \"heater\", \"plug\": \"sim-plug\"}],\n"
           " \"appliances\": [\n"
           "  {\"id\": \"a\", \"duration_min\": 60, \"energy_kwh\": 1, \"latest\": \"25:00\"},\n"
           "  {\"id\": \"a\", \"duration_min\": 60, \"energy_kwh\": 0, \"latest\": \"18:00\","
           " \"earliest\": \"soon\", \"auto_start\": true},\n"
           "  {\"id\": \"c\", \"energy_kwh\": 1, \"latest\": \"18:00\", \"plug\": \"sim-plug\","
           " \"auto_start\": true}]}\n");
    char out[4096];
    assert_int_not_equal(harness_check_config(d, out, sizeof out), 0);
    const char *expected[] = {
        "appliances[0].latest: must be a time HH:MM, got \"25:00\"",
        "appliances[1].energy_kwh: must be > 0",
        "appliances[1].earliest: must be a time HH:MM or \"\" (now), got \"soon\"",
        "appliances[1].auto_start: needs a plug",
        "appliances[1].id: duplicate id \"a\" (also appliances[0])",
        "appliances[2].duration_min",
        "appliances[2].plug: \"sim-plug\" is also the plug of loads[0]",
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        if (!strstr(out, expected[i]))
            fail_msg("missing \"%s\" in:\n%s", expected[i], out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_recommendations_name_the_appliance_and_a_start_before_latest, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(test_auto_start_switches_the_plug_on_and_off_after_the_run,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_appliance_config_errors_name_the_field, harness_setup,
                                        harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
