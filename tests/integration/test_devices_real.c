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

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

/* inverter[channel][field].v of an OpenDTU livedata answer; newer firmware nests the
 * channels under "AC" and "INV". */
static double live_value(const cJSON *inverter, const char *channel, const char *field)
{
    static const char *const groups[] = {NULL, "AC", "INV"};
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        const cJSON *group = groups[i] ? cJSON_GetObjectItem(inverter, groups[i]) : inverter;
        const cJSON *v = cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetObjectItem(group, channel), field), "v");
        if (cJSON_IsNumber(v))
            return v->valuedouble;
    }
    fail_msg("the capture has no %s.%s", channel, field);
    return NAN;
}

static void expect_device_value(const cJSON *device, const char *name, double want,
                                double tolerance)
{
    double got = harness_device_value(device, name);
    if (!(fabs(got - want) <= tolerance))
        fail_msg("%s: %s is %.9g, expected %.9g", harness_text(device, "id"), name, got, want);
}

/* /api/v1/devices rounds values to 3 decimals: compare within half of that. */

/* One captured /api/livedata/status served by the fake, one device per inverter serial:
 * every value the driver reports is the capture's. Returns the parsed capture. */
static cJSON *opendtu_capture(struct harness_fixture *f, const char *name, char **live_out)
{
    struct daemon_proc *d = &f->daemon;
    char *live = real_fixture(name);
    /* /api/system/status is not part of the captures: a minimal answer. */
    harness_route_json(f->fakes[0], "/api/system/status", 200,
                       "{\"hostname\":\"OpenDTU-07F614\",\"git_hash\":\"v23.5.19\"}");
    harness_route_json(f->fakes[0], "/api/livedata/status", 200, live);
    cJSON *json = cJSON_Parse(live);
    assert_non_null(json);
    const cJSON *inverters = cJSON_GetObjectItem(json, "inverters");
    int count = cJSON_GetArraySize(inverters);
    char devices[1024] = "";
    size_t used = 0;
    for (int i = 0; i < count; i++) {
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

    for (int i = 0; i < count; i++) {
        const cJSON *inverter = cJSON_GetArrayItem(inverters, i);
        char id[16];
        snprintf(id, sizeof id, "hm%d", i);
        /* An inverter the DTU cannot reach (asleep) keeps its last values there: it
         * produces nothing (src/devices/opendtu.c). */
        bool awake = cJSON_IsTrue(cJSON_GetObjectItem(inverter, "reachable"));
        cJSON *dev = harness_wait_value(
            d, id, "power_w", awake ? live_value(inverter, "0", "Power") : 0, 0.0006, 10000);
        expect_device_value(dev, "dc_power_w", awake ? live_value(inverter, "0", "Power DC") : 0,
                            0.0006);
        expect_device_value(dev, "yield_day_wh", live_value(inverter, "0", "YieldDay"), 0.0006);
        expect_device_value(dev, "energy_wh", live_value(inverter, "0", "YieldTotal") * 1000.0,
                            0.0006);
        expect_device_value(dev, "limit_w",
                            cJSON_GetObjectItem(inverter, "limit_absolute")->valuedouble, 1e-9);
        expect_device_value(dev, "reachable",
                            cJSON_IsTrue(cJSON_GetObjectItem(inverter, "reachable")), 0);
        cJSON_Delete(dev);
    }
    *live_out = live;
    return json;
}

/* OpenDTU's Web API documentation: the curl output of /api/livedata/status for two
 * inverters (HM600 and HM800) on one DTU. */
static void test_opendtu_webapi_doc_two_inverters(void **state)
{
    struct harness_fixture *f = *state;
    char *live = NULL;
    cJSON *json = opendtu_capture(f, "opendtu/livedata_webapi_doc_two_inverters.json", &live);
    const cJSON *inverters = cJSON_GetObjectItem(json, "inverters");
    for (int i = 0; i < 2; i++) {
        char id[16];
        snprintf(id, sizeof id, "hm%d", i);
        cJSON *dev = harness_device(&f->daemon, id);
        expect_device_value(dev, "temperature_c",
                            live_value(cJSON_GetArrayItem(inverters, i), "0", "Temperature"),
                            0.0006);
        cJSON_Delete(dev);
    }
    /* By hand: the HM800 delivers 70.1 W AC from 73.6 W DC. */
    cJSON *hm800 = harness_device(&f->daemon, "hm1");
    expect_device_value(hm800, "power_w", 70.1, 0);
    cJSON_Delete(hm800);
    cJSON_Delete(json);
    free(live);
}

/* dbus-opendtu's recorded status of two HM-1500 (one unreachable at night, one reachable),
 * and its recording of OpenDTU v24.2.12 with one HM-600 (docs/ of henne49/dbus-opendtu). */
static void test_opendtu_dbus_opendtu_recordings(void **state)
{
    struct harness_fixture *f = *state;
    char *live = NULL;
    cJSON *json = opendtu_capture(f, "opendtu/dbus_opendtu_status_hm1500.json", &live);
    /* By hand: the first HM-1500 is out of reach (its last 31.8 W are not counted) with
     * 15 Wh that day; the second answers. */
    cJSON *first = harness_device(&f->daemon, "hm0");
    expect_device_value(first, "power_w", 0, 0);
    expect_device_value(first, "yield_day_wh", 15, 0);
    expect_device_value(first, "reachable", 0, 0);
    cJSON_Delete(first);
    cJSON *second = harness_device(&f->daemon, "hm1");
    expect_device_value(second, "reachable", 1, 0);
    cJSON_Delete(second);
    cJSON_Delete(json);
    free(live);
}

static void test_opendtu_v24_recording(void **state)
{
    struct harness_fixture *f = *state;
    char *live = NULL;
    cJSON *json = opendtu_capture(f, "opendtu/dbus_opendtu_v24.2.12_inverter.json", &live);
    cJSON *hm = harness_device(&f->daemon, "hm0");
    expect_device_value(hm, "limit_w", 600, 0); /* by hand: an HM-600 at its full limit */
    cJSON_Delete(hm);
    cJSON_Delete(json);
    free(live);
}

/* --- Marstek Venus (UDP JSON-RPC) ---------------------------------------------------------- */

/* A Venus E answering as the captured one did: ES.GetStatus, ES.GetMode and
 * Marstek.GetDevice with the captured results; Bat.GetStatus, Wifi.GetStatus and
 * EM.GetStatus never answered on that device, so they stay unanswered here too. */
struct captured_venus {
    int fd;
    int port;
    pthread_t thread;
    volatile int stop;
    char *status, *mode, *device;
};

static void *venus_thread(void *arg)
{
    struct captured_venus *v = arg;
    while (!v->stop) {
        struct pollfd p = {.fd = v->fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        char buf[2048];
        struct sockaddr_in from;
        socklen_t from_len = sizeof from;
        ssize_t n = recvfrom(v->fd, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &from_len);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        cJSON *request = cJSON_Parse(buf);
        const cJSON *method = cJSON_GetObjectItem(request, "method");
        const char *result = NULL;
        if (cJSON_IsString(method) && strcmp(method->valuestring, "ES.GetStatus") == 0)
            result = v->status;
        else if (cJSON_IsString(method) && strcmp(method->valuestring, "ES.GetMode") == 0)
            result = v->mode;
        else if (cJSON_IsString(method) && strcmp(method->valuestring, "Marstek.GetDevice") == 0)
            result = v->device;
        if (result) {
            /* The envelope as the capture's documentation shows it. */
            char out[2048];
            int id = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(request, "id"));
            snprintf(out, sizeof out, "{\"id\":%d,\"src\":\"VenusE-acd92968deb8\",\"result\":%s}",
                     id, result);
            sendto(v->fd, out, strlen(out), 0, (struct sockaddr *)&from, from_len);
        }
        cJSON_Delete(request);
    }
    return NULL;
}

/* A capture's result: the file holds the result alone or the whole reply envelope. */
static char *marstek_result(const char *name)
{
    char *text = real_fixture(name);
    cJSON *json = cJSON_Parse(text);
    assert_non_null(json);
    const cJSON *result = cJSON_GetObjectItem(json, "result");
    if (result) {
        free(text);
        text = cJSON_PrintUnformatted(result);
    }
    cJSON_Delete(json);
    return text;
}

/* The daemon reads a Venus answering with these captures: SoC, capacity and grid power
 * from ES.GetStatus, model and firmware from Marstek.GetDevice. */
static void marstek_captured(void **state, const char *status_name, const char *mode_name)
{
    struct daemon_proc *d = &((struct harness_fixture *)*state)->daemon;
    struct captured_venus v = {
        .status = marstek_result(status_name),
        .mode = marstek_result(mode_name),
        .device = marstek_result("marstek_venus/marstek_getdevice_sdbeu.json"),
    };
    v.fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(v.fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(v.fd, (struct sockaddr *)&addr, sizeof addr), 0);
    socklen_t len = sizeof addr;
    getsockname(v.fd, (struct sockaddr *)&addr, &len);
    v.port = ntohs(addr.sin_port);
    assert_int_equal(pthread_create(&v.thread, NULL, venus_thread, &v), 0);

    char devices[512];
    snprintf(devices, sizeof devices,
             "{\"id\": \"venus\", \"type\": \"marstek_venus\", \"host\": \"127.0.0.1\", "
             "\"port\": %d, \"role\": \"battery\", \"poll_interval_s\": 0.5, \"timeout_s\": 1}",
             v.port);
    harness_write_site_config(d, "real devices", NULL, devices);
    assert_true(harness_start(d, NULL));

    cJSON *status = cJSON_Parse(v.status);
    cJSON *dev = harness_wait_device(d, "venus", true, "soc_pct",
                                     cJSON_GetObjectItem(status, "bat_soc")->valuedouble, 10000);
    expect_device_value(dev, "capacity_wh", cJSON_GetObjectItem(status, "bat_cap")->valuedouble, 0);
    expect_device_value(dev, "power_w", cJSON_GetObjectItem(status, "ongrid_power")->valuedouble,
                        0);
    cJSON_Delete(dev);
    cJSON_Delete(status);
    /* Model and firmware from Marstek.GetDevice: "VenusE", version 155. */
    for (int waited = 0;; waited += 250) {
        dev = harness_device(d, "venus");
        if (strcmp(harness_text(dev, "model"), "VenusE") == 0)
            break;
        cJSON_Delete(dev);
        if (waited > 12000)
            fail_msg("no model from Marstek.GetDevice\n%s", harness_log(d));
        harness_sleep_ms(250);
    }
    assert_string_equal(harness_text(dev, "firmware"), "155");
    assert_true(harness_device_online(dev));
    cJSON_Delete(dev);

    harness_stop_cleanly(d, 5000);
    v.stop = 1;
    pthread_join(v.thread, NULL);
    close(v.fd);
    free(v.status);
    free(v.mode);
    free(v.device);
}

static void test_marstek_captured_venus_e(void **state)
{
    marstek_captured(state, "marstek_venus/es_getstatus_sdbeu.json",
                     "marstek_venus/es_getmode_sdbeu.json");
}

/* A Venus A's ES.GetStatus (taurgis/has-marstek-local-api #4: 21 %, 2080 Wh, 185 W) and a
 * Venus E 3.0's mode answer in Auto with CT fields (jaapp/ha-marstek-local-api #142). */
static void test_marstek_captured_venus_a_and_e3(void **state)
{
    marstek_captured(state, "marstek_venus/es_getstatus_venusa_taurgis4.json",
                     "marstek_venus/es_getmode_venuse3_jaapp142.json");
}

/* --- Zendure SolarFlow (zenSDK HTTP) ---------------------------------------------------- */

/* Checks a zendure device's values against a captured /properties/report, derived here. */
static void expect_zendure(const cJSON *dev, const char *report)
{
    cJSON *json = cJSON_Parse(report);
    assert_non_null(json);
    const cJSON *props = cJSON_GetObjectItem(json, "properties");
#define PROP(name) cJSON_GetObjectItem(props, name)->valuedouble
    expect_device_value(dev, "soc_pct", PROP("electricLevel"), 0);
    /* + discharge: what leaves the pack minus what goes into it. */
    expect_device_value(dev, "power_w", PROP("packInputPower") - PROP("outputPackPower"), 0);
    expect_device_value(dev, "ac_output_w", PROP("outputHomePower"), 0);
    expect_device_value(dev, "ac_input_w", PROP("gridInputPower"), 0);
    expect_device_value(dev, "solar_w", PROP("solarInputPower"), 0);
    expect_device_value(dev, "limit_w", PROP("outputLimit"), 0);
    expect_device_value(dev, "input_limit_w", PROP("inputLimit"), 0);
    expect_device_value(dev, "min_soc_pct", PROP("minSoc") / 10.0, 0.0006);
    expect_device_value(dev, "max_soc_pct", PROP("socSet") / 10.0, 0.0006);
    /* hyperTmp is in 0.1 K. */
    expect_device_value(dev, "temperature_c", (PROP("hyperTmp") - 2731.0) / 10.0, 0.0006);
#undef PROP
    cJSON_Delete(json);
}

/* Two SolarFlow 800s' real /properties/report answers: a Pro discharging 145 W off-grid with
 * two packs, a plain 800 charging 65 W from the panels. */
static void test_zendure_captured_reports(void **state)
{
    struct harness_fixture *f = *state;
    struct daemon_proc *d = &f->daemon;
    char *pro = real_fixture("zendure/sf800pro_report_offgrid_discharge.json");
    char *plain = real_fixture("zendure/sf800_report_pv_charging.json");
    harness_route_json(f->fakes[0], "/properties/report", 200, pro);
    harness_route_json(f->fakes[1], "/properties/report", 200, plain);
    char devices[1024];
    snprintf(devices, sizeof devices,
             "{\"id\": \"pro\", \"type\": \"zendure\", \"host\": \"127.0.0.1\", \"port\": %d,"
             " \"serial\": \"EOA1NHN3N234970\", \"poll_interval_s\": 0.5, \"timeout_s\": 1},\n"
             "{\"id\": \"plain\", \"type\": \"zendure\", \"host\": \"127.0.0.1\", \"port\": %d,"
             " \"serial\": \"WOB1NTMCN030166\", \"poll_interval_s\": 0.5, \"timeout_s\": 1}",
             fake_http_port(f->fakes[0]), fake_http_port(f->fakes[1]));
    harness_write_site_config(d, "real devices", NULL, devices);
    assert_true(harness_start(d, NULL));

    cJSON *dev = harness_wait_device(d, "pro", true, "soc_pct", 42, 10000);
    expect_zendure(dev, pro);
    expect_device_value(dev, "power_w", 145, 0); /* by hand: discharging 145 W */
    cJSON_Delete(dev);
    dev = harness_wait_device(d, "plain", true, "soc_pct", 21, 10000);
    expect_zendure(dev, plain);
    expect_device_value(dev, "power_w", -65, 0); /* by hand: charging 65 W */
    cJSON_Delete(dev);
    free(pro);
    free(plain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_opendtu_webapi_doc_two_inverters, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_opendtu_dbus_opendtu_recordings, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_opendtu_v24_recording, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_marstek_captured_venus_e, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_marstek_captured_venus_a_and_e3, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_zendure_captured_reports, harness_setup_fakes,
                                        harness_teardown_fakes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
