/* The real balkonsolard with Hoymiles inverters behind fake OpenDTUs answering in the
 * documented formats (docs/devices.md, "opendtu": the 2024, 2023 and 2022 live-data shapes,
 * /api/limit/config and /api/limit/status), and one played through a real mosquitto broker.
 * What a user sees: values, a sleeping inverter online at 0 W, limits sent non-persistent
 * (limit_type 0, asserted on the wire) and verified through the limit status, each way a
 * limit can fail with its reason, and each kind of broken reply turning the device offline
 * with its own error text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_http.h"
#include "harness.h"
#include "mqtt_broker.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERIAL "116180400144"
#define AUTH_OK "Basic YWRtaW46czNjcmV0" /* admin:s3cret */

/* --- A stateful fake OpenDTU -------------------------------------------------------- */

enum shape { SHAPE_2024, SHAPE_2023, SHAPE_2022 };

struct fake_dtu {
    struct fake_http *http;
    enum shape shape;
    double max_power_w; /* the inverter's maximum as the DTU knows it */
    double limit_pct;
    bool reachable;
    bool no_channels;         /* the DTU has not heard the inverter since its boot */
    bool ignores_limits;      /* answers "success" but the inverter keeps its limit */
    const char *final_status; /* limit_set_status once no longer Pending: "Ok", "Failure" */
    int pending_left;         /* limit/status answers "Pending" this many more times */
    int pending_per_limit;
    int limit_posts;
    int status_reads;
    char last_limit_body[256];
    char last_limit_auth[128];
};

static int live_2024(const struct fake_dtu *f, char *reply, size_t size)
{
    double ac = 187.3, limit_w = f->limit_pct * f->max_power_w / 100.0;
    if (f->no_channels)
        return snprintf(
            reply, size,
            "{\"inverters\":[{\"serial\":\"%s\",\"name\":\"Balkon\",\"order\":0,\"data_age\":24013,"
            "\"poll_enabled\":true,\"reachable\":false,\"producing\":false,\"limit_relative\":0,"
            "\"limit_absolute\":-1,\"AC\":{},\"DC\":{},\"INV\":{},\"events\":-1}],"
            "\"total\":{\"Power\":{\"v\":0,\"u\":\"W\",\"d\":1},\"YieldDay\":{\"v\":0,\"u\":\"Wh\","
            "\"d\":0},"
            "\"YieldTotal\":{\"v\":0,\"u\":\"kWh\",\"d\":2}},"
            "\"hints\":{\"time_sync\":false,\"radio_problem\":false,\"default_password\":false}}",
            SERIAL);
    return snprintf(
        reply, size,
        "{\"inverters\":[{\"serial\":\"%s\",\"name\":\"Balkon\",\"order\":0,\"data_age\":3,\"poll_"
        "enabled\":true,"
        "\"reachable\":%s,\"producing\":%s,\"limit_relative\":%.1f,\"limit_absolute\":%.1f,"
        "\"AC\":{\"0\":{\"Power\":{\"v\":%.2f,\"u\":\"W\",\"d\":1},\"Voltage\":{\"v\":231.2,\"u\":"
        "\"V\",\"d\":1},"
        "\"Current\":{\"v\":0.81,\"u\":\"A\",\"d\":2},\"Frequency\":{\"v\":50.01,\"u\":\"Hz\","
        "\"d\":2},"
        "\"PowerFactor\":{\"v\":0.999,\"u\":\"\",\"d\":3},\"ReactivePower\":{\"v\":0.3,\"u\":"
        "\"var\",\"d\":1}}},"
        "\"DC\":{\"0\":{\"name\":{\"u\":\"Sued\"},\"Power\":{\"v\":98.4,\"u\":\"W\",\"d\":1},"
        "\"Voltage\":{\"v\":33.1,\"u\":\"V\",\"d\":1},\"Current\":{\"v\":2.97,\"u\":\"A\",\"d\":2},"
        "\"YieldDay\":{\"v\":610,\"u\":\"Wh\",\"d\":0},\"YieldTotal\":{\"v\":228.395,\"u\":\"kWh\","
        "\"d\":3}},"
        "\"1\":{\"name\":{\"u\":\"West\"},\"Power\":{\"v\":97.1,\"u\":\"W\",\"d\":1},"
        "\"YieldDay\":{\"v\":624,\"u\":\"Wh\",\"d\":0},\"YieldTotal\":{\"v\":228.394,\"u\":\"kWh\","
        "\"d\":3}}},"
        "\"INV\":{\"0\":{\"Power "
        "DC\":{\"v\":195.5,\"u\":\"W\",\"d\":1},\"YieldDay\":{\"v\":1234,\"u\":\"Wh\",\"d\":0},"
        "\"YieldTotal\":{\"v\":456.789,\"u\":\"kWh\",\"d\":3},\"Temperature\":{\"v\":31.2,\"u\":"
        "\"°C\",\"d\":1},"
        "\"Efficiency\":{\"v\":95.81,\"u\":\"%%\",\"d\":3}}},\"events\":2}],"
        "\"total\":{\"Power\":{\"v\":%.2f,\"u\":\"W\",\"d\":1},\"YieldDay\":{\"v\":1234,\"u\":"
        "\"Wh\",\"d\":0},"
        "\"YieldTotal\":{\"v\":456.79,\"u\":\"kWh\",\"d\":2}},"
        "\"hints\":{\"time_sync\":false,\"radio_problem\":false,\"default_password\":false}}",
        SERIAL, f->reachable ? "true" : "false", f->reachable ? "true" : "false", f->limit_pct,
        limit_w, ac, ac);
}

static int live_2023(const struct fake_dtu *f, char *reply, size_t size)
{
    return snprintf(
        reply, size,
        "{\"inverters\":[{\"serial\":\"%s\",\"name\":\"Meine "
        "Solaranlage\",\"data_age\":6,\"reachable\":true,"
        "\"producing\":true,\"limit_relative\":%.0f,\"limit_absolute\":%.0f,"
        "\"AC\":{\"0\":{\"Power\":{\"v\":70.69999695,\"u\":\"W\",\"d\":1},\"Voltage\":{\"v\":230.1,"
        "\"u\":\"V\",\"d\":1},"
        "\"Current\":{\"v\":0.31,\"u\":\"A\",\"d\":2},\"Power "
        "DC\":{\"v\":74.2,\"u\":\"W\",\"d\":1},"
        "\"YieldDay\":{\"v\":512,\"u\":\"Wh\",\"d\":0},\"YieldTotal\":{\"v\":12.5,\"u\":\"kWh\","
        "\"d\":3},"
        "\"Frequency\":{\"v\":50,\"u\":\"Hz\",\"d\":2},\"PowerFactor\":{\"v\":1,\"u\":\"\",\"d\":3}"
        ","
        "\"ReactivePower\":{\"v\":0,\"u\":\"var\",\"d\":1},\"Efficiency\":{\"v\":95.3,\"u\":\"%%\","
        "\"d\":3}}},"
        "\"DC\":{\"0\":{\"name\":{\"u\":\"\"},\"Power\":{\"v\":74.2,\"u\":\"W\",\"d\":1},"
        "\"Irradiation\":{\"v\":18.5,\"u\":\"%%\",\"d\":3}}},"
        "\"INV\":{\"0\":{\"Temperature\":{\"v\":22.5,\"u\":\"°C\",\"d\":1}}},\"events\":0}],"
        "\"total\":{\"Power\":{\"v\":70.7,\"u\":\"W\",\"d\":1},\"YieldDay\":{\"v\":512,\"u\":"
        "\"Wh\",\"d\":0},"
        "\"YieldTotal\":{\"v\":12.5,\"u\":\"kWh\",\"d\":2}},"
        "\"hints\":{\"time_sync\":false,\"radio_problem\":false,\"default_password\":false}}",
        SERIAL, f->limit_pct, f->limit_pct * f->max_power_w / 100.0);
}

static int live_2022(const struct fake_dtu *f, char *reply, size_t size)
{
    return snprintf(
        reply, size,
        "[{\"serial\":\"%s\",\"name\":\"HM600\",\"data_age\":4,\"reachable\":true,\"producing\":"
        "true,"
        "\"limit_relative\":%.0f,\"limit_absolute\":%.0f,"
        "\"0\":{\"Power\":{\"v\":55.5,\"u\":\"W\",\"d\":1},\"Voltage\":{\"v\":229.9,\"u\":\"V\","
        "\"d\":1},"
        "\"Power "
        "DC\":{\"v\":58.1,\"u\":\"W\",\"d\":1},\"YieldDay\":{\"v\":99,\"u\":\"Wh\",\"d\":0},"
        "\"YieldTotal\":{\"v\":1.25,\"u\":\"kWh\",\"d\":3},\"Temperature\":{\"v\":19.8,\"u\":"
        "\"°C\",\"d\":1}},"
        "\"1\":{\"Power\":{\"v\":29.1,\"u\":\"W\",\"d\":1}},\"2\":{\"Power\":{\"v\":29.0,\"u\":"
        "\"W\",\"d\":1}},"
        "\"events\":3}]",
        SERIAL, f->limit_pct, f->limit_pct * f->max_power_w / 100.0);
}

static int dtu_handler(void *user, const char *line, const char *body, const char *authorization,
                       char *reply, size_t size, char *content_type, size_t content_type_size)
{
    struct fake_dtu *f = user;
    snprintf(content_type, content_type_size, "application/json");
    if (strcmp(line, "GET /api/system/status") == 0) {
        snprintf(
            reply, size,
            "{\"hostname\":\"OpenDTU-1A2B3C\",\"sdkversion\":\"v4.4.7\",\"cpufreq\":240,"
            "\"cputemp\":41.6,"
            "\"heap_total\":238196,\"heap_used\":122400,\"heap_max_block\":65524,\"heap_min_free\":"
            "90112,"
            "\"sketch_total\":1966080,\"sketch_used\":1401792,\"littlefs_total\":196608,\"littlefs_"
            "used\":12288,"
            "\"chiprevision\":3,\"chipmodel\":\"ESP32-D0WD-V3\",\"chipcores\":2,\"flashsize\":"
            "4194304,"
            "\"resetreason_0\":\"Power on reset\",\"resetreason_1\":\"Power on "
            "reset\",\"cfgsavecount\":14,"
            "\"config_version\":\"0.1.24.0\",\"git_hash\":\"v24.11.7\",\"pioenv\":\"generic_"
            "esp32\","
            "\"uptime\":81234,\"nrf_configured\":true,\"nrf_connected\":true,\"nrf_pvariant\":true,"
            "\"cmt_configured\":false,\"cmt_connected\":false}");
        return 200;
    }
    if (strncmp(line, "GET /api/livedata/status?inv=", strlen("GET /api/livedata/status?inv=")) ==
        0) {
        /* Whatever inverter is asked for, this DTU knows only SERIAL. */
        if (f->shape == SHAPE_2024)
            live_2024(f, reply, size);
        else if (f->shape == SHAPE_2023)
            live_2023(f, reply, size);
        else
            live_2022(f, reply, size);
        return 200;
    }
    if (strcmp(line, "GET /api/limit/status") == 0) {
        f->status_reads++;
        const char *status = f->pending_left > 0 ? "Pending"
                             : f->final_status   ? f->final_status
                                                 : "Ok";
        if (f->pending_left > 0)
            f->pending_left--;
        snprintf(
            reply, size,
            "{\"%s\":{\"limit_relative\":%.1f,\"max_power\":%.0f,\"limit_set_status\":\"%s\"}}",
            SERIAL, f->limit_pct, f->max_power_w, status);
        return 200;
    }
    if (strcmp(line, "POST /api/limit/config") == 0) {
        if (strcmp(authorization, AUTH_OK) != 0) {
            reply[0] = '\0';
            snprintf(content_type, content_type_size, "text/plain");
            return 401;
        }
        f->limit_posts++;
        snprintf(f->last_limit_body, sizeof f->last_limit_body, "%s", body);
        snprintf(f->last_limit_auth, sizeof f->last_limit_auth, "%s", authorization);
        cJSON *data = strncmp(body, "data=", 5) == 0 ? cJSON_Parse(body + 5) : NULL;
        const cJSON *type = cJSON_GetObjectItem(data, "limit_type");
        const cJSON *limit = cJSON_GetObjectItem(data, "limit_value");
        const cJSON *serial = cJSON_GetObjectItem(data, "serial");
        if (!data) {
            snprintf(reply, size,
                     "{\"type\":\"warning\",\"message\":\"Failed to parse data!\",\"code\":1004}");
        } else if (!cJSON_IsNumber(type) || !cJSON_IsNumber(limit) || !cJSON_IsString(serial)) {
            snprintf(reply, size,
                     "{\"type\":\"warning\",\"message\":\"Values are missing!\",\"code\":1005}");
        } else if (limit->valuedouble > f->max_power_w) {
            snprintf(reply, size,
                     "{\"type\":\"warning\",\"message\":\"Limit must between 0 and "
                     "%.0f!\",\"code\":5002,"
                     "\"param\":{\"max\":%.0f}}",
                     f->max_power_w, f->max_power_w);
        } else {
            if (!f->ignores_limits)
                f->limit_pct = limit->valuedouble * 100.0 / f->max_power_w;
            f->pending_left = f->pending_per_limit;
            snprintf(reply, size,
                     "{\"type\":\"success\",\"message\":\"Settings saved!\",\"code\":1001}");
        }
        cJSON_Delete(data);
        return 200;
    }
    return 404;
}

static int locked(struct fake_dtu *f, const int *field)
{
    fake_http_lock(f->http);
    int n = *field;
    fake_http_unlock(f->http);
    return n;
}

static void start_dtu(struct fake_dtu *f, enum shape shape, double max_power_w)
{
    *f = (struct fake_dtu){.http = fake_http_start(),
                           .shape = shape,
                           .max_power_w = max_power_w,
                           .limit_pct = 100,
                           .reachable = true};
    assert_non_null(f->http);
    fake_http_route_handler(f->http, "/api", dtu_handler, f);
}

/* --- Reading and limiting ----------------------------------------------------------- */

/* Values from the three live-data shapes; a limit sent as limit_type 0, confirmed through
 * a limit status that is Pending twice (read again, not sent again); limits outside
 * 0..max_power_w refused; a sleeping inverter online at 0 W; one that the DTU has not heard
 * since its boot online at 0 W too. */
static void test_http_inverter(void **state)
{
    struct daemon_proc *d = *state;
    struct fake_dtu hm, old23, old22, night;
    start_dtu(&hm, SHAPE_2024, 800);
    start_dtu(&old23, SHAPE_2023, 600);
    start_dtu(&old22, SHAPE_2022, 600);
    start_dtu(&night, SHAPE_2024, 800);
    hm.pending_per_limit = 2;
    night.no_channels = true;
    night.reachable = false;

    char devices[2048];
    snprintf(devices, sizeof devices,
             "{\"id\": \"hm\", \"type\": \"opendtu\", \"host\": \"127.0.0.1\", \"port\": %d, "
             "\"serial\": \"%s\","
             " \"password\": \"s3cret\", \"max_power_w\": 800, \"poll_interval_s\": 0.5},\n"
             "{\"id\": \"old23\", \"type\": \"opendtu\", \"host\": \"127.0.0.1\", \"port\": %d, "
             "\"serial\": \"%s\","
             " \"poll_interval_s\": 0.5},\n"
             "{\"id\": \"old22\", \"type\": \"opendtu\", \"host\": \"127.0.0.1\", \"port\": %d, "
             "\"serial\": \"%s\","
             " \"poll_interval_s\": 0.5},\n"
             "{\"id\": \"night\", \"type\": \"opendtu\", \"host\": \"127.0.0.1\", \"port\": %d, "
             "\"serial\": \"%s\","
             " \"poll_interval_s\": 0.5}",
             fake_http_port(hm.http), SERIAL, fake_http_port(old23.http), SERIAL,
             fake_http_port(old22.http), SERIAL, fake_http_port(night.http), SERIAL);
    harness_write_site_config(d, "opendtu test", NULL, devices);
    assert_true(harness_start(d, NULL));

    cJSON *dev = harness_wait_value(d, "hm", "power_w", 187.3, 1e-6, 10000);
    assert_string_equal(harness_text(dev, "model"), "Hoymiles via OpenDTU");
    assert_string_equal(harness_text(dev, "firmware"), "OpenDTU v24.11.7");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(dev, "roles"), 0)->valuestring,
                        "inverter");
    assert_float_equal(harness_device_value(dev, "dc_power_w"), 195.5, 1e-6);
    assert_float_equal(harness_device_value(dev, "limit_w"), 800, 1e-6);
    assert_float_equal(harness_device_value(dev, "limit_pct"), 100, 1e-6);
    assert_float_equal(harness_device_value(dev, "energy_wh"), 456789, 1e-3);
    assert_float_equal(harness_device_value(dev, "yield_day_wh"), 1234, 1e-6);
    assert_float_equal(harness_device_value(dev, "temperature_c"), 31.2, 1e-6);
    assert_float_equal(harness_device_value(dev, "reachable"), 1, 1e-9);
    assert_float_equal(harness_device_value(dev, "producing"), 1, 1e-9);
    assert_float_equal(harness_device_value(dev, "data_age_s"), 3, 1e-9);
    cJSON_Delete(dev);

    dev = harness_wait_value(d, "old23", "power_w", 70.7, 1e-6, 10000);
    assert_float_equal(harness_device_value(dev, "dc_power_w"), 74.2, 1e-6);
    assert_float_equal(harness_device_value(dev, "energy_wh"), 12500, 1e-3);
    assert_float_equal(harness_device_value(dev, "temperature_c"), 22.5, 1e-6);
    assert_float_equal(harness_device_value(dev, "limit_w"), 600, 1e-6);
    cJSON_Delete(dev);
    dev = harness_wait_value(d, "old22", "power_w", 55.5, 1e-6, 10000);
    assert_float_equal(harness_device_value(dev, "dc_power_w"), 58.1, 1e-6);
    assert_float_equal(harness_device_value(dev, "yield_day_wh"), 99, 1e-6);
    assert_float_equal(harness_device_value(dev, "temperature_c"), 19.8, 1e-6);
    cJSON_Delete(dev);
    dev = harness_wait_value(d, "night", "reachable", 0, 1e-6, 10000);
    assert_float_equal(harness_device_value(dev, "power_w"), 0, 1e-9);
    assert_true(isnan(harness_device_value(dev, "limit_w"))); /* limit_absolute -1: unknown */
    cJSON_Delete(dev);

    /* A limit: sent once as limit_type 0 with Basic auth, confirmed after two Pending reads. */
    harness_post_command(d, "hm", "{\"command\": \"limit\", \"value\": 300}", 202, NULL);
    assert_string_equal(harness_wait_command_count(d, "hm", 1, 20000), "ok");
    assert_int_equal(locked(&hm, &hm.limit_posts), 1);
    assert_int_equal(locked(&hm, &hm.status_reads), 3);
    char body[256], auth[128];
    fake_http_lock(hm.http);
    snprintf(body, sizeof body, "%s", hm.last_limit_body);
    snprintf(auth, sizeof auth, "%s", hm.last_limit_auth);
    fake_http_unlock(hm.http);
    assert_string_equal(body,
                        "data={\"serial\":\"" SERIAL "\",\"limit_type\":0,\"limit_value\":300}");
    assert_string_equal(auth, AUTH_OK);
    cJSON *data = cJSON_Parse(body + 5);
    assert_int_equal(cJSON_GetObjectItem(data, "limit_type")->valueint, 0); /* never persistent */
    cJSON_Delete(data);
    cJSON_Delete(harness_wait_value(d, "hm", "limit_w", 300, 1e-6, 5000));

    /* Refused before anything is sent. */
    harness_post_command(d, "hm", "{\"command\": \"limit\", \"value\": 900}", 400,
                         "must be between 0 and 800 W, got 900");
    harness_post_command(d, "hm", "{\"command\": \"limit\", \"value\": -5}", 400,
                         "must be between 0 and 800 W, got -5");
    harness_post_command(d, "hm", "{\"command\": \"switch\", \"value\": 1}", 400,
                         "takes only \\\"limit\\\"");
    harness_post_command(d, "old23", "{\"command\": \"limit\", \"value\": 100}", 400,
                         "needs the DTU's admin password");
    assert_int_equal(locked(&hm, &hm.limit_posts), 1);

    /* Night: the DTU answers, the inverter sleeps with its last values at the DTU. */
    fake_http_lock(hm.http);
    hm.reachable = false;
    fake_http_unlock(hm.http);
    dev = harness_wait_value(d, "hm", "reachable", 0, 1e-6, 5000);
    assert_float_equal(harness_device_value(dev, "power_w"), 0, 1e-9);
    assert_float_equal(harness_device_value(dev, "producing"), 0, 1e-9);
    assert_true(harness_device_online(dev));
    cJSON_Delete(dev);

    fake_http_stop(hm.http);
    fake_http_stop(old23.http);
    fake_http_stop(old22.http);
    fake_http_stop(night.http);
}

/* --- Failures ----------------------------------------------------------------------- */

static void route(struct fake_dtu *f, int status, const char *type, const char *body, int delay_ms)
{
    fake_http_route(f->http, "/api/livedata", status, type, body, strlen(body), NULL, delay_ms);
}

/* Limits that fail (a DTU that says success but whose inverter keeps the old limit, a
 * refusal as HTTP 200 "warning", a limit status "Failure", a wrong password) each end with
 * their reason after three attempts; broken live data (garbage, HTTP 500, 401, 429, a hang,
 * a wrong serial) turns each device offline with its own reason. All in parallel. */
static void test_http_failures(void **state)
{
    struct daemon_proc *d = *state;
    const char *ids[] = {"ignores", "refuses", "fails", "wrongpw", "garbage",
                         "e500",    "e401",    "e429",  "hangs",   "serial"};
    enum { N = sizeof ids / sizeof *ids };
    struct fake_dtu f[N];
    char devices[6144] = "";
    size_t used = 0;
    for (int i = 0; i < N; i++) {
        start_dtu(&f[i], SHAPE_2024, i == 1 ? 600 : 800);
        used += (size_t)snprintf(
            devices + used, sizeof devices - used,
            "%s{\"id\": \"%s\", \"type\": \"opendtu\", \"host\": \"127.0.0.1\", \"port\": %d,"
            " \"serial\": \"%s\", \"password\": \"%s\", \"max_power_w\": 800,"
            " \"poll_interval_s\": 0.5, \"timeout_s\": 0.5}",
            i ? ",\n" : "", ids[i], fake_http_port(f[i].http), i == N - 1 ? "116180400999" : SERIAL,
            i == 3 ? "wrong" : "s3cret");
    }
    f[0].ignores_limits = true;
    f[2].final_status = "Failure";
    harness_write_site_config(d, "opendtu test", NULL, devices);
    assert_true(harness_start(d, NULL));
    for (int i = 0; i < N - 1; i++)
        cJSON_Delete(harness_wait_value(d, ids[i], "power_w", 187.3, 1e-6, 10000));

    harness_post_command(d, "ignores", "{\"command\": \"limit\", \"value\": 300}", 202, NULL);
    harness_post_command(d, "refuses", "{\"command\": \"limit\", \"value\": 700}", 202,
                         NULL); /* its inverter: 600 W */
    harness_post_command(d, "fails", "{\"command\": \"limit\", \"value\": 300}", 202, NULL);
    harness_post_command(d, "wrongpw", "{\"command\": \"limit\", \"value\": 300}", 202, NULL);

    route(&f[4], 200, "text/html", "<html><body>Update in progress</body></html>", 0);
    route(&f[5], 500, "text/plain", "Internal Server Error", 0);
    route(&f[6], 401, "text/plain", "", 0); /* "Allow readonly" switched off */
    route(&f[7], 429, "text/plain", "Too Many Requests", 0);
    route(&f[8], 200, "application/json", "{\"inverters\":[]}", 3000);

    harness_wait_offline(d, "serial",
                         "livedata: inverter 116180400999 not in the reply (check serial)", 20000);
    harness_wait_offline(d, "garbage", "livedata: the reply is not JSON", 20000);
    harness_wait_offline(d, "e500", "livedata: HTTP 500", 5000);
    harness_wait_offline(d, "e401", "livedata: HTTP 401: wrong or missing user/password", 5000);
    harness_wait_offline(d, "e429", "livedata: HTTP 429", 5000);
    harness_wait_offline(d, "hangs", "timed out", 5000);

    assert_string_equal(harness_wait_command_count(d, "ignores", 1, 30000),
                        "read back 800, expected 300 (after 3 attempts)");
    assert_int_equal(locked(&f[0], &f[0].limit_posts), 3);
    assert_string_equal(harness_wait_command_count(d, "refuses", 1, 30000),
                        "limit/config: Limit must between 0 and 600! (after 3 attempts)");
    assert_string_equal(harness_wait_command_count(d, "fails", 1, 30000),
                        "limit status Failure (after 3 attempts)");
    assert_string_equal(
        harness_wait_command_count(d, "wrongpw", 1, 30000),
        "limit/config: HTTP 401: wrong or missing user/password (after 3 attempts)");
    assert_int_equal(locked(&f[3], &f[3].limit_posts), 0);

    /* The devices whose limits failed still read fine. */
    for (int i = 0; i < 4; i++) {
        cJSON *dev = harness_device(d, ids[i]);
        assert_true(harness_device_online(dev));
        cJSON_Delete(dev);
    }
    for (int i = 0; i < N; i++)
        fake_http_stop(f[i].http);
}

/* --- Config ------------------------------------------------------------------------- */

static void test_check_config(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_site_config(
        d, "opendtu test", NULL,
        "{\"id\": \"a\", \"type\": \"opendtu\", \"serial\": \"" SERIAL "\"},\n"
        "{\"id\": \"b\", \"type\": \"opendtu\", \"host\": \"10.0.0.9\"},\n"
        "{\"id\": \"c\", \"type\": \"opendtu\", \"host\": \"10.0.0.9\", \"serial\": \"HM-600 "
        "xyz\"},\n"
        "{\"id\": \"e\", \"type\": \"opendtu\", \"protocol\": \"mqtt\", \"serial\": \"" SERIAL "\","
        " \"topic\": \"solar/#\", \"max_power_w\": 0}");
    char out[4096];
    assert_int_equal(harness_check_config(d, out, sizeof out), 2);
    assert_non_null(
        strstr(out, "devices[0].host: is required for type \"opendtu\" with protocol \"http\""));
    assert_non_null(strstr(out, "devices[1].serial: is required for type \"opendtu\""));
    assert_non_null(strstr(
        out, "devices[2].serial: must be the inverter's serial (hex digits), got \"HM-600 xyz\""));
    assert_non_null(strstr(out, "devices[3].topic: must not contain MQTT wildcards"));
    assert_non_null(strstr(out, "devices[3].max_power_w: must be > 0"));

    harness_assert_needs_mqtt_section(
        d, "opendtu test",
        "{\"id\": \"m\", \"type\": \"opendtu\", \"protocol\": \"mqtt\", \"serial\": \"" SERIAL
        "\"}");
}

/* --- MQTT --------------------------------------------------------------------------- */

/* The DTU played through a real broker: plain-text values under the default base topic
 * "solar", the limit published non-retained on cmd/limit_nonpersistent_absolute and
 * confirmed by status/limit_absolute, the DTU's last will turning the inverter offline. */
static void test_mqtt(void **state)
{
    struct daemon_proc *d = *state;
    struct mqtt_broker *broker = harness_start_broker();
    if (!broker)
        skip();
    struct mqtt_test_client *c = mqtt_test_client_new(mqtt_broker_port(broker));
    assert_non_null(c);
    assert_true(mqtt_test_subscribe(c, "solar/" SERIAL "/cmd/#"));

    char mqtt[256];
    harness_mqtt_section(broker, mqtt, sizeof mqtt);
    harness_write_site_config(
        d, "opendtu test", mqtt,
        "{\"id\": \"mdtu\", \"type\": \"opendtu\", \"protocol\": \"mqtt\", \"serial\": \"" SERIAL
        "\","
        " \"max_power_w\": 800, \"poll_interval_s\": 5}");
    assert_true(harness_start(d, NULL));

    assert_true(mqtt_test_publish(c, "solar/" SERIAL "/0/power", "123.4",
                                  false)); /* maybe before the subscription */
    assert_true(mqtt_test_publish(c, "solar/" SERIAL "/status/limit_absolute", "800.00", false));
    harness_publish_until(d, c, "solar/" SERIAL "/status/reachable", "1", "mdtu", "reachable", 1);
    assert_true(mqtt_test_publish(c, "solar/" SERIAL "/status/producing", "1", false));
    assert_true(mqtt_test_publish(c, "solar/" SERIAL "/status/limit_absolute", "800.00", false));
    assert_true(mqtt_test_publish(c, "solar/" SERIAL "/status/limit_relative", "100.00", false));
    assert_true(mqtt_test_publish(c, "solar/" SERIAL "/0/powerdc", "130.5", false));
    assert_true(mqtt_test_publish(c, "solar/" SERIAL "/0/yieldtotal", "456.789", false));
    assert_true(mqtt_test_publish(c, "solar/" SERIAL "/device/fwbuildversion", "10012", false));
    harness_publish_until(d, c, "solar/" SERIAL "/0/power", "123.4", "mdtu", "power_w", 123.4);
    cJSON *dev = harness_device(d, "mdtu");
    assert_float_equal(harness_device_value(dev, "dc_power_w"), 130.5, 1e-6);
    assert_float_equal(harness_device_value(dev, "limit_w"), 800, 1e-6);
    assert_float_equal(harness_device_value(dev, "limit_pct"), 100, 1e-6);
    assert_float_equal(harness_device_value(dev, "energy_wh"), 456789, 1e-3);
    assert_float_equal(harness_device_value(dev, "producing"), 1, 1e-9);
    assert_string_equal(harness_text(dev, "firmware"), "10012");
    cJSON_Delete(dev);

    /* A limit goes out on the non-persistent topic, and is confirmed by the DTU's status. */
    char payload[64];
    harness_post_command(d, "mdtu", "{\"command\": \"limit\", \"value\": 300.4}", 202, NULL);
    assert_true(mqtt_test_wait_message(c, "solar/" SERIAL "/cmd/limit_nonpersistent_absolute",
                                       payload, sizeof payload, 5000));
    assert_string_equal(payload, "300");
    assert_false(mqtt_test_wait_message(c, "solar/" SERIAL "/cmd/limit_persistent_absolute",
                                        payload, sizeof payload, 100));
    /* Not retained: a new subscriber gets nothing. */
    struct mqtt_test_client *late = mqtt_test_client_new(mqtt_broker_port(broker));
    assert_true(mqtt_test_subscribe(late, "solar/#"));
    assert_false(
        mqtt_test_wait_message(late, "solar/" SERIAL "/cmd/#", payload, sizeof payload, 500));
    mqtt_test_client_free(late);
    assert_true(mqtt_test_publish(c, "solar/" SERIAL "/status/limit_absolute", "800.00",
                                  false)); /* not yet */
    harness_sleep_ms(3500); /* past the verify delay: the driver is waiting for the new value */
    assert_true(mqtt_test_publish(c, "solar/" SERIAL "/status/limit_absolute", "300.00", false));
    assert_string_equal(harness_wait_command_count(d, "mdtu", 1, 10000), "ok");
    cJSON_Delete(harness_wait_value(d, "mdtu", "limit_w", 300, 1e-6, 5000));

    /* Night: the DTU keeps publishing, the inverter is unreachable: online at 0 W. */
    harness_publish_until(d, c, "solar/" SERIAL "/status/reachable", "0", "mdtu", "reachable", 0);
    dev = harness_device(d, "mdtu");
    assert_float_equal(harness_device_value(dev, "power_w"), 0, 1e-9);
    cJSON_Delete(dev);

    assert_true(mqtt_test_publish(c, "solar/dtu/status", "offline", true));
    harness_wait_offline(d, "mdtu", "solar/dtu/status: offline", 3000);

    mqtt_test_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_http_inverter, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_http_failures, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_check_config, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_mqtt, harness_setup, harness_teardown_broker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
