/* Device drivers fed with payloads captured from real devices by other people
 * (tests/fixtures/real/<driver>/, provenance in tests/fixtures/real/SOURCES), through the
 * real daemon and a local fake. The expected values are read from the payload by the test
 * itself, so a driver that misreads a field cannot agree with itself. These tests only read:
 * the drivers' own tests (test_devices_<driver>.c) cover commands and failures. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_http.h"
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *real_fixture(const char *name)
{
    const char *root = getenv("BALKON_FIXTURES");
    assert_non_null(root);
    char path[512];
    snprintf(path, sizeof path, "%s/real/%s", root, name);
    char *text = fake_read_file(path, NULL);
    if (!text)
        fail_msg("cannot read %s", path);
    return text;
}

/* inverter[channel][field].v of an OpenDTU livedata answer. */
static double live_value(const cJSON *inverter, const char *channel, const char *field)
{
    const cJSON *v = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(inverter, channel), field), "v");
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static void expect_device_value(const cJSON *device, const char *name, double want, double tolerance)
{
    double got = harness_device_value(device, name);
    if (!(fabs(got - want) <= tolerance))
        fail_msg("%s: %s is %.9g, expected %.9g", harness_text(device, "id"), name, got, want);
}

/* /api/v1/devices rounds values to 3 decimals: compare within half of that. */

/* OpenDTU's Web API documentation: the curl output of /api/livedata/status for two
 * inverters (HM600 and HM800) on one DTU; one device per inverter serial. */
static void test_opendtu_webapi_doc_two_inverters(void **state)
{
    struct harness_fixture *f = *state;
    struct daemon_proc *d = &f->daemon;
    char *live = real_fixture("opendtu/livedata_webapi_doc_two_inverters.json");
    /* /api/system/status is not part of the capture: a minimal answer. */
    harness_route_json(f->fakes[0], "/api/system/status", 200,
                       "{\"hostname\":\"OpenDTU-07F614\",\"git_hash\":\"v23.5.19\"}");
    harness_route_json(f->fakes[0], "/api/livedata/status", 200, live);
    cJSON *json = cJSON_Parse(live);
    assert_non_null(json);
    const cJSON *inverters = cJSON_GetObjectItem(json, "inverters");
    char devices[1024] = "";
    size_t used = 0;
    for (int i = 0; i < 2; i++) {
        const cJSON *inverter = cJSON_GetArrayItem(inverters, i);
        used += (size_t)snprintf(
            devices + used, sizeof devices - used,
            "%s{\"id\": \"hm%d\", \"type\": \"opendtu\", \"host\": \"127.0.0.1\", \"port\": %d,"
            " \"serial\": \"%s\", \"poll_interval_s\": 0.5}",
            i ? ",\n" : "", i, fake_http_port(f->fakes[0]),
            cJSON_GetObjectItem(inverter, "serial")->valuestring);
    }
    harness_write_site_config(d, "real devices", NULL, devices);
    assert_true(harness_start(d, NULL));

    for (int i = 0; i < 2; i++) {
        const cJSON *inverter = cJSON_GetArrayItem(inverters, i);
        char id[8];
        snprintf(id, sizeof id, "hm%d", i);
        cJSON *dev = harness_wait_value(d, id, "power_w", live_value(inverter, "0", "Power"),
                                        0.0006, 10000);
        expect_device_value(dev, "dc_power_w", live_value(inverter, "0", "Power DC"), 0.0006);
        expect_device_value(dev, "yield_day_wh", live_value(inverter, "0", "YieldDay"), 0.0006);
        expect_device_value(dev, "energy_wh", live_value(inverter, "0", "YieldTotal") * 1000.0, 0.0006);
        expect_device_value(dev, "temperature_c", live_value(inverter, "0", "Temperature"), 0.0006);
        expect_device_value(dev, "limit_w", cJSON_GetObjectItem(inverter, "limit_absolute")->valuedouble,
                     1e-9);
        expect_device_value(dev, "reachable", 1, 0);
        cJSON_Delete(dev);
    }
    /* By hand: the HM800 delivers 70.1 W AC from 73.6 W DC. */
    cJSON *hm800 = harness_device(d, "hm1");
    expect_device_value(hm800, "power_w", 70.1, 0);
    cJSON_Delete(hm800);
    cJSON_Delete(json);
    free(live);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_opendtu_webapi_doc_two_inverters, harness_setup_fake,
                                        harness_teardown_fakes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
