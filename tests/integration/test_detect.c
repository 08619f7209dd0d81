/* `balkonsolard detect HOST[:PORT]` and POST /api/v1/devices/detect against fakes on
 * loopback: each fake answers the way its device's software does (real captures from
 * tests/fixtures/real/ where there are any, provenance in SOURCES), the test runs the real
 * binary or daemon and compares what it prints with values it reads from the fixtures
 * itself. A detected config must pass --check-config unchanged: that is what "ready"
 * means. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_http.h"
#include "fake_modbus.h"
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

static char *fixture(const char *name)
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

static double number_at(const cJSON *json, const char *a, const char *b)
{
    const cJSON *item = cJSON_GetObjectItem(json, a);
    if (b)
        item = cJSON_GetObjectItem(item, b);
    if (!cJSON_IsNumber(item))
        fail_msg("no number at %s%s%s", a, b ? "." : "", b ? b : "");
    return item->valuedouble;
}

/* Runs `balkonsolard detect args…` and returns its parsed stdout; *code gets the exit code. */
static cJSON *run_detect(const char *target, int *code, char *err, size_t err_size)
{
    const char *args[] = {"detect", "--timeout-ms", "1000", target, NULL};
    static char out[65536];
    *code = harness_run_cli_output(args, out, sizeof out, err, err_size);
    cJSON *json = cJSON_Parse(out);
    if (!json)
        fail_msg("detect %s printed no JSON: %s / %s", target, out, err);
    return json;
}

static cJSON *detect_found(const char *target, const char *want_type)
{
    int code;
    char err[4096];
    cJSON *json = run_detect(target, &code, err, sizeof err);
    char *text = cJSON_Print(json);
    if (code != 0 || !cJSON_IsTrue(cJSON_GetObjectItem(json, "found")) ||
        strcmp(harness_text(json, "type"), want_type) != 0)
        fail_msg("detect %s: exit %d, expected %s: %s %s", target, code, want_type, text, err);
    free(text);
    return json;
}

static void expect_reading(const cJSON *json, const char *name, double want)
{
    const cJSON *reading = cJSON_GetObjectItem(json, "reading");
    const cJSON *value = cJSON_GetObjectItem(reading, name);
    if (!cJSON_IsNumber(value) || fabs(value->valuedouble - want) > 1e-6)
        fail_msg("reading %s is %s, expected %.6g (reading_error: %s)", name,
                 cJSON_IsNumber(value) ? "another number" : "missing", want,
                 cJSON_GetObjectItem(json, "reading_error")
                     ? cJSON_GetObjectItem(json, "reading_error")->valuestring
                     : "none");
}

static void expect_config(const cJSON *json, const char *key, const char *want)
{
    const cJSON *item = cJSON_GetObjectItem(cJSON_GetObjectItem(json, "config"), key);
    if (!cJSON_IsString(item) || strcmp(item->valuestring, want) != 0)
        fail_msg("config.%s is %s, expected \"%s\"", key,
                 cJSON_IsString(item) ? item->valuestring : "missing", want);
}

/* The detected config, as it is, in a site's devices: --check-config must accept it. */
static void expect_config_valid(struct daemon_proc *d, const cJSON *json)
{
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(json, "driver_available")));
    char *config = cJSON_PrintUnformatted(cJSON_GetObjectItem(json, "config"));
    harness_write_devices_config(d, "detect", config);
    char out[4096];
    int code = harness_check_config(d, out, sizeof out);
    if (code != 0)
        fail_msg("the detected config %s is refused: %s", config, out);
    free(config);
}

static void target_of(const struct fake_http *fake, char *out, size_t size)
{
    snprintf(out, size, "127.0.0.1:%d", fake_http_port(fake));
}

/* A Pro 3EM: /shelly says Gen2 and the triphase profile, so EM.GetStatus is read (a real
 * capture) and its total_act_power is the grid reading. */
static void test_detect_shelly_gen2(void **state)
{
    struct harness_fixture *f = *state;
    char *info = fixture("detect/shelly_gen2_pro3em_shelly.json");
    char *em = fixture("shelly_gen2/pro3em_em_getstatus_crestron36.json");
    harness_route_json(f->fakes[0], "/shelly", 200, info);
    harness_route_json(f->fakes[0], "/rpc/EM.GetStatus", 200, em);
    char target[64];
    target_of(f->fakes[0], target, sizeof target);
    cJSON *json = detect_found(target, "shelly_gen2");
    cJSON *info_json = cJSON_Parse(info), *em_json = cJSON_Parse(em);
    assert_string_equal(harness_text(json, "model"), harness_text(info_json, "model"));
    assert_string_equal(harness_text(json, "firmware"), harness_text(info_json, "ver"));
    expect_reading(json, "grid_power_w", number_at(em_json, "total_act_power", NULL));
    /* The model "SPEM-003CEBEU" is not a catalogue name; the app "Pro3EM" is "Pro 3EM". */
    assert_string_equal(harness_text(info_json, "app"), "Pro3EM");
    assert_string_equal(harness_text(json, "catalogue_model"), "Pro 3EM");
    expect_config(json, "role", "meter");
    expect_config(json, "host", "127.0.0.1");
    assert_int_equal((int)number_at(json, "config", "port"), fake_http_port(f->fakes[0]));
    expect_config_valid(&f->daemon, json);
    cJSON_Delete(info_json);
    cJSON_Delete(em_json);
    cJSON_Delete(json);
    free(info);
    free(em);
}

/* A Shelly EM (Gen1): /shelly without "gen"; /status (a real capture) has two emeters, of
 * which the driver reads channel 0 (a 3EM's phases would be summed). */
static void test_detect_shelly_gen1(void **state)
{
    struct harness_fixture *f = *state;
    char *status = fixture("shelly_gen1/shem_status_evcc.json");
    harness_route_json(f->fakes[0], "/shelly", 200,
                       "{\"type\":\"SHEM\",\"mac\":\"C45BBE6E7C1C\",\"auth\":false,"
                       "\"fw\":\"20230913-114150/v1.14.0-gcb84623\",\"num_outputs\":1,"
                       "\"num_meters\":0,\"num_emeters\":2}");
    harness_route_json(f->fakes[0], "/status", 200, status);
    char target[64];
    target_of(f->fakes[0], target, sizeof target);
    cJSON *json = detect_found(target, "shelly_gen1");
    assert_string_equal(harness_text(json, "model"), "SHEM");
    assert_string_equal(harness_text(json, "firmware"), "20230913-114150/v1.14.0-gcb84623");
    cJSON *status_json = cJSON_Parse(status);
    const cJSON *emeters = cJSON_GetObjectItem(status_json, "emeters");
    double want_w = number_at(cJSON_GetArrayItem(emeters, 0), "power", NULL);
    expect_reading(json, "grid_power_w", want_w);
    expect_config(json, "role", "meter");
    expect_config_valid(&f->daemon, json);
    cJSON_Delete(status_json);
    cJSON_Delete(json);
    free(status);
}

/* OpenDTU with two inverters (the Web API doc's capture): the first inverter's serial, its
 * rated power (absolute limit over relative) and its AC power. */
static void test_detect_opendtu(void **state)
{
    struct harness_fixture *f = *state;
    char *live = fixture("opendtu/livedata_webapi_doc_two_inverters.json");
    harness_route_json(f->fakes[0], "/api/system/status", 200,
                       "{\"hostname\":\"OpenDTU-07F614\",\"git_hash\":\"v23.5.19\","
                       "\"pioenv\":\"generic_esp32\"}");
    harness_route_json(f->fakes[0], "/api/livedata/status", 200, live);
    char target[64];
    target_of(f->fakes[0], target, sizeof target);
    cJSON *json = detect_found(target, "opendtu");
    assert_string_equal(harness_text(json, "firmware"), "v23.5.19");
    cJSON *live_json = cJSON_Parse(live);
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(live_json, "inverters"), 0);
    expect_config(json, "serial", harness_text(first, "serial"));
    double rated_w =
        number_at(first, "limit_absolute", NULL) * 100 / number_at(first, "limit_relative", NULL);
    assert_true(fabs(number_at(json, "config", "max_power_w") - rated_w) < 0.5);
    const cJSON *ac = cJSON_GetObjectItem(first, "AC");
    const cJSON *channel = cJSON_GetObjectItem(ac ? ac : first, "0");
    expect_reading(json, "power_w", number_at(cJSON_GetObjectItem(channel, "Power"), "v", NULL));
    assert_int_equal((int)number_at(json, "inverters", NULL), 2);
    expect_config_valid(&f->daemon, json);
    cJSON_Delete(live_json);
    cJSON_Delete(json);
    free(live);
}

/* A Tasmota smart-meter reader: Status 0 around a real SML capture's StatusSNS. The
 * config reads the group's power key. */
static void test_detect_tasmota_sml(void **state)
{
    struct harness_fixture *f = *state;
    char *status8 = fixture("tasmota/status8_sml_evcc3787.json");
    cJSON *sns = cJSON_Parse(status8);
    assert_non_null(sns);
    cJSON *status0 = cJSON_Parse("{\"Status\":{\"Module\":0,\"DeviceName\":\"Stromzaehler\","
                                 "\"FriendlyName\":[\"Tasmota\"],\"Topic\":\"tasmota_A1B2C3\"},"
                                 "\"StatusFWR\":{\"Version\":\"12.1.1(tasmota)\","
                                 "\"Hardware\":\"ESP8266EX\"}}");
    cJSON_AddItemToObject(status0, "StatusSNS", cJSON_DetachItemFromObject(sns, "StatusSNS"));
    char *body = cJSON_PrintUnformatted(status0);
    harness_route_json(f->fakes[0], "/cm", 200, body);
    char target[64];
    target_of(f->fakes[0], target, sizeof target);
    cJSON *json = detect_found(target, "tasmota");
    assert_string_equal(harness_text(json, "model"), "Stromzaehler");
    assert_string_equal(harness_text(json, "firmware"), "12.1.1(tasmota)");
    expect_config(json, "role", "meter");
    /* The key the config names must hold the reading in the capture. */
    const char *key = harness_text(cJSON_GetObjectItem(json, "config"), "power_key");
    char group[64];
    snprintf(group, sizeof group, "%.*s", (int)strcspn(key, "."), key);
    double want_w =
        number_at(cJSON_GetObjectItem(status0, "StatusSNS"), group, key + strlen(group) + 1);
    assert_non_null(strstr(key + strlen(group) + 1, "ower"));
    expect_reading(json, "grid_power_w", want_w);
    expect_config_valid(&f->daemon, json);
    cJSON_Delete(json);
    cJSON_Delete(status0);
    cJSON_Delete(sns);
    free(body);
    free(status8);
}

/* A Zendure SolarFlow 800 (a real /properties/report capture): serial and product; SoC and
 * the pack's power (+ discharge). */
static void test_detect_zendure(void **state)
{
    struct harness_fixture *f = *state;
    char *report = fixture("zendure/sf800_report_pv_charging.json");
    harness_route_json(f->fakes[0], "/properties/report", 200, report);
    char target[64];
    target_of(f->fakes[0], target, sizeof target);
    cJSON *json = detect_found(target, "zendure");
    cJSON *r = cJSON_Parse(report);
    assert_string_equal(harness_text(json, "model"), harness_text(r, "product"));
    expect_config(json, "serial", harness_text(r, "sn"));
    expect_reading(json, "soc_pct", number_at(r, "properties", "electricLevel"));
    expect_reading(json, "power_w",
                   number_at(r, "properties", "packInputPower") -
                       number_at(r, "properties", "outputPackPower"));
    expect_config_valid(&f->daemon, json);
    cJSON_Delete(r);
    cJSON_Delete(json);
    free(report);
}

/* APsystems EZ1 (the local API manual's example answers): model and version from devVer,
 * the power of both inputs summed. */
static void test_detect_apsystems(void **state)
{
    struct harness_fixture *f = *state;
    char *info = fixture("detect/ez1_getdeviceinfo_manual.json");
    char *output = fixture("detect/ez1_getoutputdata_manual.json");
    harness_route_json(f->fakes[0], "/getDeviceInfo", 200, info);
    harness_route_json(f->fakes[0], "/getOutputData", 200, output);
    char target[64];
    target_of(f->fakes[0], target, sizeof target);
    cJSON *json = detect_found(target, "apsystems_ez1");
    assert_string_equal(harness_text(json, "model"), "EZ1");
    assert_string_equal(harness_text(json, "firmware"), "1.6.0");
    cJSON *o = cJSON_Parse(output);
    expect_reading(json, "power_w", number_at(o, "data", "p1") + number_at(o, "data", "p2"));
    assert_true(number_at(json, "config", "max_power_w") == 800);
    cJSON_Delete(o);
    cJSON_Delete(json);
    free(info);
    free(output);
}

/* An ESPHome device's web server: the event stream's ping names it, the first sensor in W
 * is the reading. */
static void test_detect_esphome(void **state)
{
    struct harness_fixture *f = *state;
    char *events = fixture("detect/esphome_events.txt");
    fake_http_route(f->fakes[0], "/events", 200, "text/event-stream", events, strlen(events), NULL,
                    0);
    char target[64];
    target_of(f->fakes[0], target, sizeof target);
    cJSON *json = detect_found(target, "esphome");
    assert_string_equal(harness_text(json, "model"), "balkon-plug");
    expect_reading(json, "power_w", 412.7);
    expect_config(json, "power_key", "power");
    expect_config(json, "role", "plug");
    expect_config(json, "state_key", "relay");
    cJSON_Delete(json);
    free(events);
}

/* --- Marstek over UDP ------------------------------------------------------------------ */

struct fake_marstek {
    int fd;
    int port;
    pthread_t thread;
    volatile int stop;
    char *device, *status; /* the results answered, captured on a Venus E */
    int requests;
};

static void *marstek_thread(void *arg)
{
    struct fake_marstek *m = arg;
    while (!m->stop) {
        struct pollfd p = {.fd = m->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        char buf[2048];
        struct sockaddr_in from;
        socklen_t len = sizeof from;
        ssize_t n = recvfrom(m->fd, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &len);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        m->requests++;
        cJSON *request = cJSON_Parse(buf);
        const char *method = harness_text(request, "method");
        const char *result = strcmp(method, "Marstek.GetDevice") == 0 ? m->device
                             : strcmp(method, "ES.GetStatus") == 0    ? m->status
                                                                      : NULL;
        char reply[4096];
        if (result)
            snprintf(reply, sizeof reply,
                     "{\"id\":%d,\"src\":\"VenusE-acd92968deb8\",\"result\":%s}",
                     (int)number_at(request, "id", NULL), result);
        else
            snprintf(reply, sizeof reply,
                     "{\"id\":%d,\"error\":{\"code\":-32601,\"message\":\"Method not found\"}}",
                     (int)number_at(request, "id", NULL));
        sendto(m->fd, reply, strlen(reply), 0, (struct sockaddr *)&from, len);
        cJSON_Delete(request);
    }
    return NULL;
}

static void test_detect_marstek(void **state)
{
    (void)state;
    struct fake_marstek m = {.device = fixture("marstek_venus/marstek_getdevice_sdbeu.json"),
                             .status = fixture("marstek_venus/es_getstatus_sdbeu.json")};
    m.fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(m.fd, (struct sockaddr *)&addr, sizeof addr), 0);
    socklen_t len = sizeof addr;
    getsockname(m.fd, (struct sockaddr *)&addr, &len);
    m.port = ntohs(addr.sin_port);
    assert_int_equal(pthread_create(&m.thread, NULL, marstek_thread, &m), 0);
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", m.port);
    cJSON *json = detect_found(target, "marstek_venus");
    cJSON *device = cJSON_Parse(m.device), *status = cJSON_Parse(m.status);
    assert_string_equal(harness_text(json, "model"), harness_text(device, "device"));
    char ver[16];
    snprintf(ver, sizeof ver, "%g", number_at(device, "ver", NULL));
    assert_string_equal(harness_text(json, "firmware"), ver);
    expect_reading(json, "soc_pct", number_at(status, "bat_soc", NULL));
    expect_reading(json, "power_w", number_at(status, "ongrid_power", NULL));
    expect_config(json, "role", "battery");
    assert_string_equal(harness_text(json, "catalogue_model"), "Venus E"); /* "VenusE" */
    m.stop = 1;
    pthread_join(m.thread, NULL);
    close(m.fd);
    assert_int_equal(m.requests, 2);
    struct daemon_proc d;
    harness_init(&d);
    expect_config_valid(&d, json);
    harness_cleanup(&d);
    cJSON_Delete(device);
    cJSON_Delete(status);
    cJSON_Delete(json);
    free(m.device);
    free(m.status);
}

/* --- SunSpec over Modbus TCP ------------------------------------------------------------ */

/* A SunSpec map as an energy meter serves it: "SunS", common model 1, a model 203
 * (three-phase wye meter, 105 registers) with W = -1234 and W_SF = -1, the end marker. */
static void sunspec_meter_map(struct fake_modbus *m)
{
    uint16_t head[4] = {0x5375, 0x6e53, 1, 66};
    fake_modbus_set(m, 40000, head, 4);
    uint16_t zeros[66] = {0};
    fake_modbus_set(m, 40004, zeros, 66);
    fake_modbus_set_string(m, 40004, "Carlo Gavazzi", 16);
    fake_modbus_set_string(m, 40020, "EM24DINAV23XE1X", 16);
    fake_modbus_set_string(m, 40044, "1.2.3", 8);
    fake_modbus_set_string(m, 40052, "KV1234567", 16);
    uint16_t meter_head[2] = {203, 105};
    fake_modbus_set(m, 40070, meter_head, 2);
    uint16_t meter[105] = {0};
    meter[16] = (uint16_t)(int16_t)-1234; /* W */
    meter[20] = (uint16_t)(int16_t)-1;    /* W_SF */
    fake_modbus_set(m, 40072, meter, 105);
    uint16_t end[2] = {0xFFFF, 0};
    fake_modbus_set(m, 40177, end, 2);
}

static void test_detect_sunspec(void **state)
{
    (void)state;
    struct fake_modbus *m = fake_modbus_start();
    assert_non_null(m);
    sunspec_meter_map(m);
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", fake_modbus_port(m));
    cJSON *json = detect_found(target, "sunspec");
    assert_string_equal(harness_text(json, "model"), "Carlo Gavazzi EM24DINAV23XE1X");
    assert_string_equal(harness_text(json, "firmware"), "1.2.3");
    expect_config(json, "serial", "KV1234567");
    expect_reading(json, "grid_power_w", -123.4);
    const cJSON *models = cJSON_GetObjectItem(json, "sunspec_models");
    assert_int_equal(cJSON_GetArraySize(models), 1);
    assert_int_equal(cJSON_GetArrayItem(models, 0)->valueint, 203);
    struct daemon_proc d;
    harness_init(&d);
    expect_config_valid(&d, json);
    harness_cleanup(&d);
    cJSON_Delete(json);
    fake_modbus_stop(m);
}

/* --- Nothing there, bad input -------------------------------------------------------------- */

static void test_detect_nothing(void **state)
{
    struct harness_fixture *f = *state;
    /* An HTTP server that knows none of the paths: every probe says what it saw. */
    char target[64];
    target_of(f->fakes[0], target, sizeof target);
    int code;
    char err[4096];
    cJSON *json = run_detect(target, &code, err, sizeof err);
    assert_int_equal(code, 1);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(json, "found")));
    assert_non_null(strstr(err, "no known device answered"));
    const cJSON *probes = cJSON_GetObjectItem(json, "probes");
    assert_int_equal(cJSON_GetArraySize(probes), 9);
    const cJSON *first = cJSON_GetArrayItem(probes, 0);
    assert_string_equal(harness_text(first, "probe"), "shelly");
    assert_string_equal(harness_text(first, "result"), "HTTP 404");
    assert_string_equal(harness_text(first, "outcome"), "http_status");
    cJSON_Delete(json);

    /* A port nobody listens on: every TCP probe is refused, the UDP one hears nothing back
     * but the port-closed error; each says so in a word the UI translates. */
    int closed_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in closed = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t closed_len = sizeof closed;
    assert_int_equal(bind(closed_fd, (struct sockaddr *)&closed, sizeof closed), 0);
    getsockname(closed_fd, (struct sockaddr *)&closed, &closed_len); /* bound, not listening */
    snprintf(target, sizeof target, "127.0.0.1:%d", ntohs(closed.sin_port));
    json = run_detect(target, &code, err, sizeof err);
    assert_int_equal(code, 1);
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(json, "probes"))
    {
        if (strcmp(harness_text(p, "outcome"), "refused") != 0)
            fail_msg("probe %s: outcome \"%s\" (%s), expected \"refused\"",
                     harness_text(p, "probe"), harness_text(p, "outcome"),
                     harness_text(p, "result"));
    }
    cJSON_Delete(json);
    close(closed_fd);

    const char *bad[][2] = {{"127.0.0.1:99999", "host: the port must be 1 to 65535"},
                            {"a b", "is not a host name or address"},
                            {":80", "host: no host before the port"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *args[] = {"detect", bad[i][0], NULL};
        char out[1024], errs[1024];
        assert_int_equal(harness_run_cli_output(args, out, sizeof out, errs, sizeof errs), 2);
        if (!strstr(errs, bad[i][1]))
            fail_msg("detect \"%s\": expected \"%s\", got \"%s\"", bad[i][0], bad[i][1], errs);
    }
}

/* A device that takes connections and never answers (a hung web server): the first probe
 * times out, the other TCP probes of that port are skipped instead of each waiting its
 * timeout, and the UDP probe still runs. */
static void test_detect_hung_device(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(fd, 16), 0); /* the kernel accepts; nobody ever reads */
    getsockname(fd, (struct sockaddr *)&addr, &len);
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", ntohs(addr.sin_port));
    const char *args[] = {"detect", "--timeout-ms", "300", target, NULL};
    static char out[65536];
    char err[1024];
    assert_int_equal(harness_run_cli_output(args, out, sizeof out, err, sizeof err), 1);
    cJSON *json = cJSON_Parse(out);
    assert_non_null(json);
    const cJSON *probes = cJSON_GetObjectItem(json, "probes");
    char skipped[64];
    snprintf(skipped, sizeof skipped, "skipped: port %d did not answer", ntohs(addr.sin_port));
    const cJSON *p;
    cJSON_ArrayForEach(p, probes)
    {
        const char *name = harness_text(p, "probe"), *result = harness_text(p, "result");
        const char *want = strcmp(name, "shelly") == 0          ? "timed out"
                           : strcmp(name, "marstek_venus") == 0 ? "no answer (port closed)"
                                                                : skipped;
        if (strcmp(result, want) != 0)
            fail_msg("probe %s: \"%s\", expected \"%s\"", name, result, want);
        const char *want_outcome = strcmp(name, "shelly") == 0          ? "timeout"
                                   : strcmp(name, "marstek_venus") == 0 ? "refused"
                                                                        : "skipped";
        assert_string_equal(harness_text(p, "outcome"), want_outcome);
    }
    cJSON_Delete(json);
    close(fd);
}

/* --- The API ----------------------------------------------------------------------------- */

struct api_call {
    struct daemon_proc *d;
    char body[128];
    struct http_reply reply;
    long elapsed_ms;
};

static void *api_thread(void *arg)
{
    struct api_call *call = arg;
    long start = harness_now_ms();
    call->reply = harness_http(call->d, "POST", "/api/v1/devices/detect", call->body,
                               strlen(call->body), NULL);
    call->elapsed_ms = harness_now_ms() - start;
    return NULL;
}

/* POST /api/v1/devices/detect finds the Pro 3EM; while a slow device keeps a detection
 * waiting, the daemon answers other requests at once (the probes are off the loop). */
static void test_detect_api(void **state)
{
    struct harness_fixture *f = *state;
    struct daemon_proc *d = &f->daemon;
    char *info = fixture("detect/shelly_gen2_pro3em_shelly.json");
    char *em = fixture("shelly_gen2/pro3em_em_getstatus_crestron36.json");
    harness_route_json(f->fakes[0], "/shelly", 200, info);
    harness_route_json(f->fakes[0], "/rpc/EM.GetStatus", 200, em);
    /* fakes[1] answers /shelly only after 1.2 s. */
    fake_http_route(f->fakes[1], "/shelly", 200, "application/json", info, strlen(info), NULL,
                    1200);
    harness_write_devices_config(d, "detect", "");
    assert_true(harness_start(d, NULL));

    struct api_call call = {.d = d};
    snprintf(call.body, sizeof call.body, "{\"host\": \"127.0.0.1:%d\"}",
             fake_http_port(f->fakes[0]));
    api_thread(&call);
    assert_int_equal(call.reply.status, 200);
    cJSON *json = cJSON_Parse(call.reply.body);
    assert_string_equal(harness_text(json, "type"), "shelly_gen2");
    cJSON *em_json = cJSON_Parse(em);
    expect_reading(json, "grid_power_w", number_at(em_json, "total_act_power", NULL));
    cJSON_Delete(em_json);
    cJSON_Delete(json);
    http_reply_free(&call.reply);

    struct api_call slow = {.d = d};
    snprintf(slow.body, sizeof slow.body, "{\"host\": \"127.0.0.1:%d\", \"timeout_ms\": 3000}",
             fake_http_port(f->fakes[1]));
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, api_thread, &slow), 0);
    harness_sleep_ms(300);
    long start = harness_now_ms();
    struct http_reply health = harness_http(d, "GET", "/api/v1/health", NULL, 0, NULL);
    long health_ms = harness_now_ms() - start;
    assert_int_equal(health.status, 200);
    http_reply_free(&health);
    /* A second detection meanwhile is refused, not queued behind the first. */
    struct http_reply busy =
        harness_http(d, "POST", "/api/v1/devices/detect", call.body, strlen(call.body), NULL);
    assert_int_equal(busy.status, 409);
    assert_non_null(strstr(busy.body, "\"code\":\"detect_running\""));
    http_reply_free(&busy);
    pthread_join(thread, NULL);
    if (health_ms > 500)
        fail_msg("GET /api/v1/health took %ld ms during a detection", health_ms);
    assert_true(slow.elapsed_ms >= 1100);
    assert_int_equal(slow.reply.status, 200);
    json = cJSON_Parse(slow.reply.body);
    assert_string_equal(harness_text(json, "type"), "shelly_gen2");
    cJSON_Delete(json);
    http_reply_free(&slow.reply);

    /* Each 400 with the code the dashboard translates (err.<code>) and the field. */
    const char *bad[][4] = {
        {"{\"host\": 5}", "host: expected", "bad_host", "host"},
        {"{}", "host: expected", "bad_host", "host"},
        {"{\"host\": \"a b\"}", "is not a host name or address", "bad_host", "host"},
        {"{\"host\": \"10.0.0.7:99999\"}", "host: the port must be 1 to 65535", "bad_host", "host"},
        {"{\"host\": \"127.0.0.1\", \"timeout_ms\": 1}", "timeout_ms: must", "range", "timeout_ms"},
        {"[1]", "body: expected a JSON object", "bad_body", NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct http_reply r =
            harness_http(d, "POST", "/api/v1/devices/detect", bad[i][0], strlen(bad[i][0]), NULL);
        assert_int_equal(r.status, 400);
        if (!strstr(r.body, bad[i][1]))
            fail_msg("%s: expected \"%s\" in %s", bad[i][0], bad[i][1], r.body);
        cJSON *error = cJSON_Parse(r.body);
        assert_string_equal(harness_text(error, "code"), bad[i][2]);
        if (bad[i][3])
            assert_string_equal(harness_text(cJSON_GetObjectItem(error, "params"), "field"),
                                bad[i][3]);
        cJSON_Delete(error);
        http_reply_free(&r);
    }
    free(info);
    free(em);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_detect_shelly_gen2, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_detect_shelly_gen1, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_detect_opendtu, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_detect_tasmota_sml, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_detect_zendure, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_detect_apsystems, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_detect_esphome, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test(test_detect_marstek),
        cmocka_unit_test(test_detect_sunspec),
        cmocka_unit_test(test_detect_hung_device),
        cmocka_unit_test_setup_teardown(test_detect_nothing, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_detect_api, harness_setup_fakes,
                                        harness_teardown_fakes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
