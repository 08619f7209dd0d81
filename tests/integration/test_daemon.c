/* The real balkonsolard end to end: simulator -> bus -> store -> API, graceful stop,
 * restart with the data still there, reload on SIGHUP, config errors, HTTP errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* A summer morning in Berlin at 600x: one wall second is ten simulated minutes. */
static const char *CONFIG_FMT = "{\n"
                                "  \"site\": {\"name\": \"%s\", \"latitude\": 52.52, "
                                "\"longitude\": 13.40, \"timezone\": \"Europe/Berlin\"},\n"
                                "  \"pv\": {\"planes\": [{\"name\": \"south\", \"tilt\": 35, "
                                "\"azimuth\": 0, \"peak_w\": 890}]},\n"
                                "  \"battery\": {\"capacity_wh\": %g},\n"
                                "  \"simulation\": {\"speed\": 600, \"start\": "
                                "\"2026-06-21T06:00:00Z\", \"cloudiness_pct\": 20},\n"
                                "  \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
                                "  \"storage\": {\"flush_interval_s\": %g}\n"
                                "}\n";

static void write_config(struct daemon_proc *d, const char *name, double capacity_wh,
                         double flush_s)
{
    char json[2048];
    snprintf(json, sizeof json, CONFIG_FMT, name, capacity_wh, flush_s);
    harness_write_config(d, json);
}

/* Waits until /status has values; returns it. */
static cJSON *wait_for_status(struct daemon_proc *d)
{
    for (int i = 0; i < 100; i++) {
        cJSON *status = harness_get_json(d, "/api/v1/status");
        assert_non_null(status);
        if (cJSON_IsNumber(cJSON_GetObjectItem(status, "pv_w")))
            return status;
        cJSON_Delete(status);
        harness_sleep_ms(100);
    }
    fail_msg("status never filled:\n%s", harness_log(d));
    return NULL;
}

static void assert_balanced(const cJSON *s)
{
    double home = harness_require_number(s, "home_w"), pv = harness_require_number(s, "pv_w"),
           bat = harness_require_number(s, "battery_w"), grid = harness_require_number(s, "grid_w");
    /* Each value is rounded to 0.1 W in the answer. */
    assert_true(fabs(home - (pv + bat + grid)) <= 0.25);
    assert_true(pv >= 0 && home >= 0);
    assert_true(pv + (bat > 0 ? bat : 0) <= 800.5);
    double soc = harness_require_number(s, "soc_pct");
    assert_true(soc >= 10 - 1e-6 && soc <= 100 + 1e-6);
}

static int series_count(struct daemon_proc *d, const char *query, double *first_ts,
                        double *first_avg)
{
    cJSON *series = harness_get_json(d, query);
    assert_non_null(series);
    cJSON *ts = cJSON_GetObjectItem(series, "ts");
    cJSON *avg = cJSON_GetObjectItem(series, "avg");
    int n = cJSON_GetArraySize(ts);
    assert_int_equal(n, cJSON_GetArraySize(avg));
    if (n > 0 && first_ts)
        *first_ts = cJSON_GetArrayItem(ts, 0)->valuedouble;
    if (n > 0 && first_avg)
        *first_avg = cJSON_GetArrayItem(avg, 0)->valuedouble;
    cJSON_Delete(series);
    return n;
}

static void test_end_to_end_stop_and_restart(void **state)
{
    struct daemon_proc *d = *state;
    write_config(d, "Integration", 2240, 0.5);
    assert_true(harness_start(d, NULL));

    cJSON *health = harness_get_json(d, "/api/v1/health");
    assert_non_null(health);
    assert_string_equal(cJSON_GetObjectItem(health, "status")->valuestring, "ok");
    cJSON_Delete(health);

    /* Values flow and move: two readings a wall second apart differ in time and value. */
    cJSON *first = wait_for_status(d);
    assert_balanced(first);
    harness_sleep_ms(1200);
    cJSON *second = wait_for_status(d);
    assert_balanced(second);
    assert_true(harness_require_number(second, "ts_ms") > harness_require_number(first, "ts_ms"));
    assert_true(harness_require_number(second, "home_w") !=
                    harness_require_number(first, "home_w") ||
                harness_require_number(second, "pv_w") != harness_require_number(first, "pv_w"));
    cJSON_Delete(first);

    /* Around 06:00-08:00 UTC on 21 June the sun is up: PV must have produced. */
    harness_sleep_ms(1500);
    int points = series_count(
        d, "/api/v1/series?name=pv_w&from=2026-06-21T06:00:00Z&to=2026-06-21T12:00:00Z&step=300",
        NULL, NULL);
    assert_true(points >= 3);
    cJSON *pv = harness_get_json(
        d, "/api/v1/series?name=pv_w&from=2026-06-21T06:00:00Z&to=2026-06-21T12:00:00Z&step=300");
    double max_pv = 0;
    cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItem(pv, "max")) if (v->valuedouble > max_pv) max_pv =
        v->valuedouble;
    assert_true(max_pv > 50);
    assert_string_equal(cJSON_GetObjectItem(pv, "unit")->valuestring, "W");
    assert_int_equal((int)harness_require_number(pv, "step_s"), 300);
    cJSON_Delete(pv);

    /* Series list includes site and device series. */
    cJSON *list = harness_get_json(d, "/api/v1/series");
    char *text = cJSON_PrintUnformatted(list);
    assert_non_null(strstr(text, "\"name\":\"grid_w\""));
    assert_non_null(strstr(text, "\"name\":\"soc_pct\""));
    assert_non_null(strstr(text, "\"name\":\"device.sim-battery.soc_pct\""));
    free(text);
    cJSON_Delete(list);

    /* Devices: the simulator's meter, inverter and battery, online, with values. */
    cJSON *devices = harness_get_json(d, "/api/v1/devices");
    cJSON *arr = cJSON_GetObjectItem(devices, "devices");
    assert_int_equal(cJSON_GetArraySize(arr), 3);
    cJSON *dev;
    int seen = 0;
    cJSON_ArrayForEach(dev, arr)
    {
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(dev, "online")));
        const char *id = cJSON_GetObjectItem(dev, "id")->valuestring;
        const char *role = cJSON_GetArrayItem(cJSON_GetObjectItem(dev, "roles"), 0)->valuestring;
        if (strcmp(id, "sim-battery") == 0 && strcmp(role, "battery") == 0)
            seen |= 1;
        if (strcmp(id, "sim-meter") == 0 && strcmp(role, "meter") == 0)
            seen |= 2;
        if (strcmp(id, "sim-inverter") == 0 && strcmp(role, "inverter") == 0)
            seen |= 4;
        assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(dev, "values"), "power_w"));
    }
    assert_int_equal(seen, 7);
    cJSON_Delete(devices);

    cJSON *config = harness_get_json(d, "/api/v1/config");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(config, "site"), "name")->valuestring,
        "Integration");
    cJSON_Delete(config);

    /* What the first half hour looks like before the stop (once it is written). */
    for (int i = 0; i < 100; i++) {
        cJSON *now = wait_for_status(d);
        double ts = harness_require_number(now, "ts_ms");
        cJSON_Delete(now);
        if (ts >= 1782023400000.0 + 5 * 60000.0) /* 06:35Z: past the range and a flush */
            break;
        harness_sleep_ms(100);
    }
    harness_sleep_ms(600);
    const char *early =
        "/api/v1/series?name=home_w&from=2026-06-21T06:00:00Z&to=2026-06-21T06:30:00Z&step=60";
    double first_ts_before = 0, first_avg_before = 0;
    int points_before = series_count(d, early, &first_ts_before, &first_avg_before);
    assert_int_equal(points_before, 30);

    /* Stop: graceful, within 2 s, exit code 0. */
    double stop_ts = harness_require_number(second, "ts_ms");
    cJSON_Delete(second);
    long elapsed_ms;
    int status = harness_signal_and_wait(d, SIGTERM, 5000, &elapsed_ms);
    assert_true(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(elapsed_ms < 2000);
    assert_non_null(strstr(harness_log(d), "stopped"));
    print_message("graceful stop took %ld ms\n", elapsed_ms);

    /* Restart on the same database: the earlier data is there, and the clock resumes
     * after it instead of writing over it. */
    assert_true(harness_start(d, NULL));
    double first_ts_after = 0, first_avg_after = 0;
    assert_int_equal(series_count(d, early, &first_ts_after, &first_avg_after), points_before);
    assert_true(first_ts_after == first_ts_before && first_avg_after == first_avg_before);
    assert_true(harness_wait_log(d, "resuming the clock after the newest stored sample", 1000));
    cJSON *resumed = wait_for_status(d);
    assert_true(harness_require_number(resumed, "ts_ms") > stop_ts);
    cJSON_Delete(resumed);
    status = harness_signal_and_wait(d, SIGINT, 5000, &elapsed_ms);
    assert_true(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_stop_writes_what_is_buffered(void **state)
{
    /* The flush timer never fires within this test (60 s), so every sample found after
     * the restart was written by the graceful stop. */
    struct daemon_proc *d = *state;
    write_config(d, "Buffered", 2240, 60);
    assert_true(harness_start(d, NULL));
    cJSON *status = wait_for_status(d);
    cJSON_Delete(status);
    harness_sleep_ms(500);
    /* Nothing is in the database yet: the series is unknown (404) or empty. */
    struct http_reply r = harness_http(
        d, "GET",
        "/api/v1/series?name=grid_w&from=2026-06-21T00:00:00Z&to=2026-06-22T00:00:00Z&step=60",
        NULL, 0, NULL);
    assert_true(r.status == 404 || strstr(r.body, "\"ts\":[]") != NULL);
    http_reply_free(&r);
    assert_true(harness_signal_and_wait(d, SIGTERM, 5000, NULL) >= 0);
    assert_true(harness_start(d, NULL));
    assert_true(
        series_count(
            d,
            "/api/v1/series?name=grid_w&from=2026-06-21T00:00:00Z&to=2026-06-22T00:00:00Z&step=60",
            NULL, NULL) > 0);
    assert_true(harness_signal_and_wait(d, SIGTERM, 5000, NULL) >= 0);
}

static void test_http_errors(void **state)
{
    struct daemon_proc *d = *state;
    write_config(d, "Errors", 2240, 1);
    assert_true(harness_start(d, NULL));

    struct http_reply r = harness_http(d, "GET", "/api/v1/nothing", NULL, 0, NULL);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.content_type, "application/json");
    assert_non_null(strstr(r.body, "\"error\""));
    http_reply_free(&r);

    r = harness_http(d, "DELETE", "/api/v1/status", NULL, 0, NULL);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.allow, "GET");
    http_reply_free(&r);

    r = harness_http(d, "GET", "/api/v1/series?name=pv_w&from=yesterday", NULL, 0, NULL);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "from: expected an ISO-8601 time or Unix seconds"));
    http_reply_free(&r);

    r = harness_http(d, "GET", "/api/v1/series?name=pv_w&from=2026-06-22&to=2026-06-21", NULL, 0,
                     NULL);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "from: must be before to"));
    http_reply_free(&r);

    r = harness_http(d, "GET", "/api/v1/series?name=pv_w&step=fast", NULL, 0, NULL);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "step: expected seconds"));
    http_reply_free(&r);

    r = harness_http(d, "GET", "/api/v1/series?name=pv_w&from=2020-01-01&to=2026-01-01&step=1",
                     NULL, 0, NULL);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "step: too small for the range"));
    http_reply_free(&r);

    r = harness_http(d, "GET", "/api/v1/series?name=no_such_series", NULL, 0, NULL);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "no series \\\"no_such_series\\\""));
    http_reply_free(&r);

    size_t big_size = 100 * 1024;
    char *big = malloc(big_size);
    memset(big, 'x', big_size);
    r = harness_http(d, "POST", "/api/v1/status", big, big_size, NULL);
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(r.body, "http.max_body_bytes"));
    http_reply_free(&r);
    free(big);

    /* The dashboard: embedded, right type, revalidated with its ETag. */
    r = harness_http(d, "GET", "/", NULL, 0, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/html; charset=utf-8");
    assert_non_null(strstr(r.body, "BalkonSolar"));
    assert_true(r.etag[0] == '"');
    char etag[64];
    snprintf(etag, sizeof etag, "%s", r.etag);
    http_reply_free(&r);
    r = harness_http(d, "GET", "/index.html", NULL, 0, etag);
    assert_int_equal(r.status, 304);
    assert_int_equal(r.size, 0);
    http_reply_free(&r);
    r = harness_http(d, "GET", "/dist/app.js", NULL, 0, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/javascript; charset=utf-8");
    http_reply_free(&r);
    r = harness_http(d, "GET", "/dist/app.css", NULL, 0, NULL);
    assert_string_equal(r.content_type, "text/css; charset=utf-8");
    http_reply_free(&r);

    /* After all of that the daemon still runs. */
    cJSON *health = harness_get_json(d, "/api/v1/health");
    assert_non_null(health);
    cJSON_Delete(health);
    assert_true(harness_signal_and_wait(d, SIGTERM, 5000, NULL) >= 0);
}

static void test_sighup_reload(void **state)
{
    struct daemon_proc *d = *state;
    write_config(d, "Before", 2240, 1);
    assert_true(harness_start(d, NULL));

    /* An invalid new config is refused with its errors; the old one stays. */
    harness_write_config(
        d, "{\"battery\": {\"capacity_wh\": -5}, \"pv\": {\"planes\": [{\"tilt\": 30}]}}");
    kill(d->pid, SIGHUP);
    assert_true(harness_wait_log(d, "new config rejected; keeping the running one", 5000));
    const char *log = harness_log(d);
    assert_non_null(strstr(log, "battery.capacity_wh: must be > 0 and <= 100000, got -5"));
    assert_non_null(strstr(log, "pv.planes[0].peak_w: is required"));
    cJSON *config = harness_get_json(d, "/api/v1/config");
    assert_non_null(config);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(config, "site"), "name")->valuestring, "Before");
    cJSON_Delete(config);

    /* A valid one is applied without a restart. */
    write_config(d, "After", 1500, 1);
    kill(d->pid, SIGHUP);
    assert_true(harness_wait_log(d, "config reloaded", 5000));
    config = harness_get_json(d, "/api/v1/config");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(config, "site"), "name")->valuestring, "After");
    assert_int_equal((int)cJSON_GetObjectItem(cJSON_GetObjectItem(config, "battery"), "capacity_wh")
                         ->valuedouble,
                     1500);
    cJSON_Delete(config);
    assert_true(harness_wait_log(d, "sim: settings applied", 2000));

    /* The file vanishing is survived too. */
    remove(d->config_path);
    kill(d->pid, SIGHUP);
    harness_sleep_ms(300);
    assert_non_null(strstr(harness_log(d), "cannot open: No such file or directory"));
    cJSON *health = harness_get_json(d, "/api/v1/health");
    assert_non_null(health);
    cJSON_Delete(health);
    assert_true(harness_signal_and_wait(d, SIGTERM, 5000, NULL) >= 0);
}

static void test_invalid_config_is_refused(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_config(d, "{\n  \"battery\": {\"capacity_wh\": -5, \"coupling\": \"wireless\"},\n"
                            "  \"devices\": [{\"id\": \"x\", \"type\": \"toaster\"}]\n}\n");
    char out[4096];
    assert_int_equal(harness_check_config(d, out, sizeof out), 2);
    assert_non_null(strstr(out, "battery.capacity_wh: must be > 0 and <= 100000, got -5"));
    assert_non_null(
        strstr(out, "battery.coupling: must be one of \"ac\", \"dc\", got \"wireless\""));
    assert_non_null(strstr(out, "devices[0].type: unknown device type \"toaster\""));

    const char *run[] = {"--config", d->config_path, "--db", d->db_path, NULL};
    assert_int_equal(harness_run_cli(run, out, sizeof out), 2);
    assert_non_null(strstr(out, "battery.capacity_wh: must be > 0"));

    write_config(d, "Fine", 2240, 1);
    assert_int_equal(harness_check_config(d, out, sizeof out), 0);
    assert_non_null(strstr(out, "configuration is valid"));

    const char *version[] = {"--version", NULL};
    assert_int_equal(harness_run_cli(version, out, sizeof out), 0);
    assert_non_null(strstr(out, "balkonsolard "));
    const char *bad[] = {"--log-level", "loud", "--config", d->config_path, NULL};
    assert_int_equal(harness_run_cli(bad, out, sizeof out), 2);
    assert_non_null(strstr(out, "--log-level: must be one of"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_end_to_end_stop_and_restart, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_stop_writes_what_is_buffered, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_http_errors, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_sighup_reload, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_invalid_config_is_refused, harness_setup,
                                        harness_teardown),
    };
    return cmocka_run_group_tests_name("daemon", tests, NULL, NULL);
}
