/* The real balkonsolard with Hoymiles inverters behind fake AhoyDTUs answering in the
 * documented format (docs/devices.md, "ahoydtu": GET /api/inverter/id/N, POST /api/ctrl),
 * and one fed the /api/inverter/id/0 answer a user captured from a real HM-600. What a user
 * sees: values in /api/v1/devices and the PV power in /api/v1/status, a limit sent
 * non-persistent (asserted on the wire) and verified through power_limit_read, a sleeping
 * inverter online at 0 W, refusals before anything is sent, and each kind of broken reply
 * turning the device offline with its own error text. */
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

/* --- A stateful fake AhoyDTU (0.8 format) ------------------------------------------- */

struct fake_ahoy {
    struct fake_http *http;
    double max_power_w;
    double limit_pct;
    int status;          /* 2 producing, 0 off (asleep) */
    bool ignores_limits; /* answers success, but the inverter keeps its limit */
    bool protected_api;  /* answers ERR_PROTECTED */
    int ctrl_posts;
    char last_ctrl_body[256];
};

static int ahoy_handler(void *user, const char *line, const char *body, const char *authorization,
                        char *reply, size_t size, char *content_type, size_t content_type_size)
{
    struct fake_ahoy *f = user;
    (void)authorization;
    snprintf(content_type, content_type_size, "application/json");
    if (strncmp(line, "GET /api/inverter/id/", 21) == 0) {
        if (strcmp(line + 21, "0") != 0) {
            snprintf(reply, size, "{\"error\":\"inverter not found!\"}");
            return 200;
        }
        snprintf(reply, size,
                 "{\"id\":0,\"enabled\":true,\"name\":\"Balkon\",\"serial\":\"116180400144\","
                 "\"version\":\"10012\",\"power_limit_read\":%.1f,\"power_limit_ack\":true,"
                 "\"max_pwr\":%.0f,\"ts_last_success\":1733550000,\"generation\":1,"
                 "\"status\":%d,\"alarm_cnt\":2,\"rssi\":-64,\"ts_max_ac_pwr\":0,"
                 "\"ts_max_temp\":0,\"ch\":[[231.4,0.81,187.3,50.01,0.999,31.2,456.789,1234,"
                 "195.5,95.81,0.3,612.4],[33.1,2.97,98.4,610,228.395,23.1],"
                 "[32.9,2.95,97.1,624,228.394,22.8]],\"ch_name\":[\"AC\",\"Sued\",\"West\"],"
                 "\"ch_max_pwr\":[null,425,425]}",
                 f->limit_pct, f->max_power_w, f->status);
        return 200;
    }
    if (strcmp(line, "POST /api/ctrl") == 0) {
        f->ctrl_posts++;
        snprintf(f->last_ctrl_body, sizeof f->last_ctrl_body, "%s", body);
        cJSON *json = cJSON_Parse(body);
        const cJSON *cmd = cJSON_GetObjectItem(json, "cmd");
        const cJSON *val = cJSON_GetObjectItem(json, "val");
        if (f->protected_api)
            snprintf(reply, size, "{\"success\":false,\"error\":\"ERR_PROTECTED\"}");
        else if (!cJSON_IsString(cmd) || !cJSON_IsNumber(val))
            snprintf(reply, size, "{\"success\":false,\"error\":\"unknown cmd\"}");
        else {
            if (!f->ignores_limits && strcmp(cmd->valuestring, "limit_nonpersistent_absolute") == 0)
                f->limit_pct = round(val->valuedouble * 1000.0 / f->max_power_w) / 10.0;
            snprintf(reply, size, "{\"success\":true}");
        }
        cJSON_Delete(json);
        return 200;
    }
    return 404;
}

static void start_ahoy(struct fake_ahoy *f, double max_power_w)
{
    *f = (struct fake_ahoy){
        .http = fake_http_start(), .max_power_w = max_power_w, .limit_pct = 100, .status = 2};
    assert_non_null(f->http);
    fake_http_route_handler(f->http, "/api", ahoy_handler, f);
}

static int locked_posts(struct fake_ahoy *f)
{
    fake_http_lock(f->http);
    int n = f->ctrl_posts;
    fake_http_unlock(f->http);
    return n;
}

static double wait_status_pv_w(struct daemon_proc *d, double expected_w, int timeout_ms)
{
    double pv_w = NAN;
    for (int waited = 0; waited <= timeout_ms; waited += 200) {
        cJSON *status = harness_get_json(d, "/api/v1/status");
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(status, "pv_w");
        pv_w = cJSON_IsNumber(item) ? item->valuedouble : NAN;
        cJSON_Delete(status);
        if (fabs(pv_w - expected_w) <= 0.11)
            return pv_w;
        harness_sleep_ms(200);
    }
    fail_msg("/api/v1/status pv_w is %g, expected %g\n%s", pv_w, expected_w, harness_log(d));
    return pv_w;
}

/* Values, the PV power in the status, a limit sent as limit_nonpersistent_absolute and
 * read back, refusals, the inverter asleep. */
static void test_inverter(void **state)
{
    struct daemon_proc *d = *state;
    struct fake_ahoy f;
    start_ahoy(&f, 800);
    char devices[512];
    snprintf(devices, sizeof devices,
             "{\"id\": \"hm\", \"type\": \"ahoydtu\", \"host\": \"127.0.0.1\", \"port\": %d,"
             " \"max_power_w\": 600, \"poll_interval_s\": 0.5},\n"
             /* The site's balance runs on meter readings: a grid meter beside the DTU. */
             "{\"id\": \"grid\", \"type\": \"http_json\", \"host\": \"127.0.0.1\", \"port\": %d,"
             " \"path\": \"/meter\", \"power_key\": \"power\", \"poll_interval_s\": 0.5}",
             fake_http_port(f.http), fake_http_port(f.http));
    harness_route_json(f.http, "/meter", 200, "{\"power\": 120.0}");
    harness_write_devices_config(d, "ahoy test", devices);
    assert_true(harness_start(d, NULL));

    cJSON *dev = harness_wait_value(d, "hm", "power_w", 187.3, 1e-6, 10000);
    assert_string_equal(harness_text(dev, "model"), "Hoymiles via AhoyDTU");
    assert_string_equal(harness_text(dev, "firmware"), "inverter 10012");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(dev, "roles"), 0)->valuestring,
                        "inverter");
    assert_float_equal(harness_device_value(dev, "dc_power_w"), 195.5, 1e-6);
    assert_float_equal(harness_device_value(dev, "limit_pct"), 100, 1e-6);
    assert_float_equal(harness_device_value(dev, "limit_w"), 800, 1e-6);
    assert_float_equal(harness_device_value(dev, "max_power_w"), 800, 1e-6);
    assert_float_equal(harness_device_value(dev, "energy_wh"), 456789, 1e-3);
    assert_float_equal(harness_device_value(dev, "yield_day_wh"), 1234, 1e-6);
    assert_float_equal(harness_device_value(dev, "temperature_c"), 31.2, 1e-6);
    assert_float_equal(harness_device_value(dev, "reachable"), 1, 0);
    assert_float_equal(harness_device_value(dev, "producing"), 1, 0);
    cJSON_Delete(dev);
    wait_status_pv_w(d, 187.3, 10000);

    /* A limit: one POST, non-persistent, whole watts, verified as 37.5 % of 800 W. */
    harness_post_command(d, "hm", "{\"command\": \"limit\", \"value\": 299.8}", 202, NULL);
    assert_string_equal(harness_wait_command_count(d, "hm", 1, 20000), "ok");
    assert_int_equal(locked_posts(&f), 1);
    char body[256];
    fake_http_lock(f.http);
    snprintf(body, sizeof body, "%s", f.last_ctrl_body);
    fake_http_unlock(f.http);
    assert_string_equal(body, "{\"id\":0,\"cmd\":\"limit_nonpersistent_absolute\",\"val\":300}");
    dev = harness_wait_value(d, "hm", "limit_w", 300, 1e-6, 5000);
    assert_float_equal(harness_device_value(dev, "limit_pct"), 37.5, 1e-6);
    cJSON_Delete(dev);

    /* Refused before anything is sent: above the configured cap, negative, not a limit. */
    harness_post_command(d, "hm", "{\"command\": \"limit\", \"value\": 700}", 400,
                         "must be between 0 and 600 W, got 700");
    harness_post_command(d, "hm", "{\"command\": \"limit\", \"value\": -1}", 400,
                         "must be between 0 and 600 W, got -1");
    harness_post_command(d, "hm", "{\"command\": \"switch\", \"value\": 1}", 400,
                         "takes only \\\"limit\\\"");
    assert_int_equal(locked_posts(&f), 1);

    /* Night: the DTU answers with the inverter's last values, status 0. */
    fake_http_lock(f.http);
    f.status = 0;
    fake_http_unlock(f.http);
    dev = harness_wait_value(d, "hm", "reachable", 0, 1e-6, 5000);
    assert_float_equal(harness_device_value(dev, "power_w"), 0, 0);
    assert_float_equal(harness_device_value(dev, "producing"), 0, 0);
    assert_true(harness_device_online(dev));
    cJSON_Delete(dev);
    wait_status_pv_w(d, 0, 10000);
    fake_http_stop(f.http);
}

/* Limits that fail (ignored by the inverter, ERR_PROTECTED) end with their reason after
 * three attempts; broken replies (an unknown inverter id, garbage, HTTP 500, no ch, a hang)
 * turn each device offline with its own reason. All in parallel. */
static void test_failures(void **state)
{
    struct daemon_proc *d = *state;
    const char *ids[] = {"ignores", "protected", "unknown", "garbage", "e500", "noch", "hangs"};
    enum { N = sizeof ids / sizeof *ids };
    struct fake_ahoy f[N];
    char devices[4096] = "";
    size_t used = 0;
    for (int i = 0; i < N; i++) {
        start_ahoy(&f[i], 800);
        used += (size_t)snprintf(
            devices + used, sizeof devices - used,
            "%s{\"id\": \"%s\", \"type\": \"ahoydtu\", \"host\": \"127.0.0.1\", \"port\": %d,"
            " \"channel\": %d, \"max_power_w\": 800, \"poll_interval_s\": 0.5,"
            " \"timeout_s\": 0.5}",
            i ? ",\n" : "", ids[i], fake_http_port(f[i].http), i == 2 ? 3 : 0);
    }
    f[0].ignores_limits = true;
    f[1].protected_api = true;
    harness_write_devices_config(d, "ahoy test", devices);
    assert_true(harness_start(d, NULL));
    for (int i = 3; i < N; i++)
        cJSON_Delete(harness_wait_value(d, ids[i], "power_w", 187.3, 1e-6, 10000));

    harness_post_command(d, "ignores", "{\"command\": \"limit\", \"value\": 300}", 202, NULL);
    harness_post_command(d, "protected", "{\"command\": \"limit\", \"value\": 300}", 202, NULL);

    const char *garbage = "<html>Update in progress</html>";
    fake_http_route(f[3].http, "/api/inverter", 200, "text/html", garbage, strlen(garbage), NULL,
                    0);
    fake_http_route(f[4].http, "/api/inverter", 500, "text/plain", "oops", 4, NULL, 0);
    const char *noch = "{\"id\":0,\"name\":\"x\",\"ch\":[]}";
    fake_http_route(f[5].http, "/api/inverter", 200, "application/json", noch, strlen(noch), NULL,
                    0);
    fake_http_route(f[6].http, "/api/inverter", 200, "application/json", "{}", 2, NULL, 3000);

    harness_wait_offline(
        d, "unknown", "inverter/id/3: the DTU says \"inverter not found!\" (check channel", 20000);
    harness_wait_offline(d, "garbage", "inverter: the reply is not JSON", 20000);
    harness_wait_offline(d, "e500", "inverter: HTTP 500", 5000);
    harness_wait_offline(d, "noch", "inverter/id/0: ch[0] (the AC channel) missing", 5000);
    harness_wait_offline(d, "hangs", "timed out", 5000);

    assert_string_equal(harness_wait_command_count(d, "ignores", 1, 40000),
                        "read back 800, expected 300 (after 3 attempts)");
    assert_int_equal(locked_posts(&f[0]), 3);
    assert_string_equal(
        harness_wait_command_count(d, "protected", 1, 40000),
        "ctrl: ERR_PROTECTED (the DTU's API is password-protected) (after 3 attempts)");
    for (int i = 0; i < 2; i++) {
        cJSON *dev = harness_device(d, ids[i]);
        assert_true(harness_device_online(dev));
        cJSON_Delete(dev);
    }
    for (int i = 0; i < N; i++)
        fake_http_stop(f[i].http);
}

/* --- A real capture ------------------------------------------------------------------- */

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

static void expect_dev_value(const cJSON *device, const char *name, double want)
{
    double got = harness_device_value(device, name);
    if (!(fabs(got - want) <= 0.0006)) /* the API rounds to 3 decimals */
        fail_msg("%s is %.9g, expected %.9g", name, got, want);
}

/* ch0[name], by the field names AhoyDTU's /api/live lists for ch0 (its ch0_fld_names). */
static double ch0_field(const cJSON *ch0, const char *name)
{
    static const char *const names[] = {"U_AC",  "I_AC",       "P_AC",       "F_AC",
                                        "PF_AC", "Temp",       "YieldTotal", "YieldDay",
                                        "P_DC",  "Efficiency", "Q_AC"};
    for (int i = 0; i < (int)(sizeof names / sizeof *names); i++)
        if (strcmp(names[i], name) == 0)
            return cJSON_GetArrayItem(ch0, i)->valuedouble;
    fail_msg("no ch0 field %s", name);
    return NAN;
}

/* A user's /api/inverter/id/0 of an HM-600 (firmware 10010, an AhoyDTU before 0.8: no
 * status, no max_pwr). Expected values are read from the capture by the test, by the
 * field names AhoyDTU's /api/live lists for ch0 (U_AC, I_AC, P_AC, F_AC, PF_AC, Temp,
 * YieldTotal, YieldDay, P_DC, …). */
static void test_real_hm600(void **state)
{
    struct harness_fixture *fx = *state;
    struct daemon_proc *d = &fx->daemon;
    char *capture = real_fixture("ahoydtu/inverter_id0_hm600.json");
    harness_route_json(fx->fakes[0], "/api/inverter/id/0", 200, capture);
    cJSON *json = cJSON_Parse(capture);
    assert_non_null(json);
    const cJSON *ch0 = cJSON_GetArrayItem(cJSON_GetObjectItem(json, "ch"), 0);
    assert_int_equal(cJSON_GetArraySize(ch0), 11);
    char devices[256];
    snprintf(devices, sizeof devices,
             "{\"id\": \"hm600\", \"type\": \"ahoydtu\", \"host\": \"127.0.0.1\", \"port\": %d,"
             " \"max_power_w\": 600, \"poll_interval_s\": 0.5}",
             fake_http_port(fx->fakes[0]));
    harness_write_site_config(d, "real ahoy", NULL, devices);
    assert_true(harness_start(d, NULL));

    cJSON *dev =
        harness_wait_value(d, "hm600", "temperature_c", ch0_field(ch0, "Temp"), 0.0006, 10000);
    expect_dev_value(dev, "power_w", ch0_field(ch0, "P_AC"));
    expect_dev_value(dev, "dc_power_w", ch0_field(ch0, "P_DC"));
    expect_dev_value(dev, "energy_wh", ch0_field(ch0, "YieldTotal") * 1000.0);
    expect_dev_value(dev, "yield_day_wh", ch0_field(ch0, "YieldDay"));
    expect_dev_value(dev, "limit_pct", cJSON_GetObjectItem(json, "power_limit_read")->valuedouble);
    /* Before 0.8 the DTU tells neither the inverter's maximum nor its status. */
    assert_true(isnan(harness_device_value(dev, "limit_w")));
    assert_true(isnan(harness_device_value(dev, "reachable")));
    assert_string_equal(harness_text(dev, "firmware"), "inverter 10010");
    /* By hand: the capture was taken in the evening, 0.9 W DC and 112.122 kWh in total. */
    expect_dev_value(dev, "dc_power_w", 0.9);
    expect_dev_value(dev, "energy_wh", 112122);
    cJSON_Delete(dev);
    cJSON_Delete(json);
    free(capture);
}

static void test_check_config(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_site_config(d, "ahoy test", NULL,
                              "{\"id\": \"a\", \"type\": \"ahoydtu\", \"max_power_w\": 600},\n"
                              "{\"id\": \"b\", \"type\": \"ahoydtu\", \"host\": \"10.0.0.9\","
                              " \"max_power_w\": 0, \"channel\": 16}");
    char out[4096];
    assert_int_equal(harness_check_config(d, out, sizeof out), 2);
    assert_non_null(strstr(out, "devices[0].host: is required for type \"ahoydtu\""));
    assert_non_null(strstr(out, "devices[1].max_power_w: must be > 0 for type \"ahoydtu\""));
    assert_non_null(
        strstr(out, "devices[1].channel: must be the inverter's id at the DTU, 0 to 15"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_inverter, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_failures, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_real_hm600, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_check_config, harness_setup, harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
