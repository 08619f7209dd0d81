/* Safety under faults (issue 8, item 4; issue 12), against the real balkonsolard;
 * docs/faults.md says which behaviour each fault has and which test proves it. Here:
 *  - a full database: control goes on without a failsafe or a false alert (the flushes run
 *    off the loop), the error is logged once, samples wait in memory, writing recovers when
 *    space returns, nothing stored or buffered is lost; and a full database that outlasts
 *    the buffer: the buffer stays at its bound, the oldest are dropped and counted;
 *  - price and PV forecast providers answering 500: a plan is still made on the tariff's
 *    price without PV, the providers show "failing", a provider_failing alert is stored;
 *  - the meter going silent with a safe output of 800 W in the morning sun: the battery is
 *    commanded to the safe output cut to what the 800 W cap leaves beside the PV;
 *  - the config file deleted while running: SIGHUP keeps the running config, PUT
 *    /api/v1/config writes the file again. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_http.h"
#include "harness.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The control is working (tracking, settling, limited, ...), not off or in failsafe. */
static bool control_runs(const cJSON *control)
{
    const char *state = harness_text(control, "state");
    return state[0] && strcmp(state, "failsafe") != 0 && strcmp(state, "off") != 0;
}

/* Runs one SQL statement with the sqlite3 tool (waiting up to 5 s for the daemon's write
 * lock) and returns the first line of its output (static buffer). */
static const char *sql(const char *db_path, const char *statement)
{
    static char line[512];
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sqlite3 -batch -noheader -cmd '.timeout 5000' '%s' \"%s\" 2>&1",
             db_path, statement);
    FILE *p = popen(cmd, "r");
    line[0] = '\0';
    if (p) {
        if (!fgets(line, sizeof line, p))
            line[0] = '\0';
        pclose(p);
    }
    line[strcspn(line, "\n")] = '\0';
    return line;
}

static long long sql_int(const char *db_path, const char *statement)
{
    const char *out = sql(db_path, statement);
    char *end;
    long long value = strtoll(out, &end, 10);
    if (end == out)
        fail_msg("sqlite3: %s: %s", statement, out);
    return value;
}

static int count_occurrences(const char *haystack, const char *needle)
{
    int n = 0;
    for (const char *at = strstr(haystack, needle); at; at = strstr(at + 1, needle))
        n++;
    return n;
}

/* --- A full database ----------------------------------------------------------------- */

/* 300x with 1-second samples: 13 series make about 3,900 samples per wall second, so a few
 * seconds of full disk leave a backlog whose writing took the old loop-thread flush well
 * over the 0.4 wall seconds (control.meter_stale_s 120 simulated) after which the control
 * falls into failsafe. */
static const char *DB_FULL_CONFIG_FMT =
    "{\"site\": {\"timezone\": \"Europe/Berlin\"},\n"
    " \"pv\": {\"planes\": [{\"name\": \"south\", \"tilt\": 35, \"azimuth\": 0, \"peak_w\": "
    "890}]},\n"
    " \"battery\": {\"capacity_wh\": 2240},\n"
    " \"simulation\": {\"speed\": %d, \"start\": \"2026-06-22T08:00:00Z\"},\n"
    " \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
    " \"optimizer\": {\"strategy\": \"self_consumption\"},\n"
    " \"control\": {\"meter_stale_s\": %d},\n"
    " \"notifications\": {\"enabled\": true,\n"
    "  \"channels\": [{\"id\": \"hook\", \"type\": \"webhook\", \"url\": \"%s/hook\"}]},\n"
    " \"storage\": {\"flush_interval_s\": 0.5, \"sample_interval_s\": 1}}\n";

/* Waits until the webhook's last request carries text; false after timeout_ms. */
static bool hook_says(struct fake_http *fake, const char *text, int timeout_ms)
{
    char line[256], body[4096], authorization[64];
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        fake_http_last(fake, "/hook", line, sizeof line, body, sizeof body, authorization,
                       sizeof authorization);
        if (strstr(body, text))
            return true;
        harness_sleep_ms(100);
    }
    fprintf(stderr, "the webhook's last body: %s\n", body);
    return false;
}

/* Every alert the webhook received, by kind. The handler runs on the fake's thread with its
 * lock held; the test reads under fake_http_lock. */
struct alerts_seen {
    int storage_open;
    int storage_resolved;
    int meter_stale;
    int others;
    char other[512];
};

static int count_alert(void *user, const char *line, const char *body, const char *authorization,
                       char *reply, size_t reply_size, char *content_type, size_t content_type_size)
{
    struct alerts_seen *seen = user;
    if (strstr(body, "\"rule\":\"storage_failing\""))
        (*(strstr(body, "\"state\":\"resolved\"") ? &seen->storage_resolved
                                                  : &seen->storage_open))++;
    else if (strstr(body, "\"rule\":\"meter_stale\""))
        seen->meter_stale++;
    else if (++seen->others == 1)
        snprintf(seen->other, sizeof seen->other, "%s", body);
    snprintf(reply, reply_size, "ok");
    snprintf(content_type, content_type_size, "text/plain");
    return 200;
}

static struct alerts_seen alerts_now(struct fake_http *fake, const struct alerts_seen *seen)
{
    fake_http_lock(fake);
    struct alerts_seen copy = *seen;
    fake_http_unlock(fake);
    return copy;
}

static cJSON *health(struct daemon_proc *d)
{
    cJSON *json = harness_get_json(d, "/api/v1/health");
    assert_non_null(json);
    return json;
}

static double pending_samples(struct daemon_proc *d)
{
    cJSON *h = health(d);
    double pending = harness_number(h, "db_pending_samples");
    cJSON_Delete(h);
    return pending;
}

/* A value of GET /metrics (Prometheus text), NAN when absent. */
static double metric(struct daemon_proc *d, const char *name)
{
    struct http_reply reply = harness_http(d, "GET", "/metrics", NULL, 0, NULL);
    double value = NAN;
    size_t len = strlen(name);
    for (const char *line = reply.body; reply.status == 200 && line && *line;) {
        if (strncmp(line, name, len) == 0 && line[len] == ' ')
            value = strtod(line + len + 1, NULL);
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    http_reply_free(&reply);
    return value;
}

/* The control as seen every 100 ms for duration_ms: *failsafe_polls counts the polls that
 * found it in failsafe. */
static void watch_control(struct daemon_proc *d, int duration_ms, int *failsafe_polls)
{
    for (int waited = 0; waited < duration_ms; waited += 100) {
        cJSON *control = harness_get_json(d, "/api/v1/control");
        *failsafe_polls += strcmp(harness_text(control, "state"), "failsafe") == 0;
        cJSON_Delete(control);
        harness_sleep_ms(100);
    }
}

/* Starts the daemon on a database that may not grow past its size with filler_blobs x 4 kB
 * of filler in it: "the disk" is full as soon as the free pages are used. A first run made
 * the schema and some data; returns the raw rows stored by then. */
static long long start_with_full_disk(struct daemon_proc *d, const char *config, int filler_blobs,
                                      const char *max_pending)
{
    harness_write_config(d, config);
    assert_true(harness_start(d, NULL));
    harness_sleep_ms(1500);
    assert_true(harness_signal_and_wait(d, SIGTERM, 5000, NULL) >= 0);
    long long rows_before = sql_int(d->db_path, "SELECT count(*) FROM samples_raw");
    assert_true(rows_before > 0);

    char fill[512];
    snprintf(fill, sizeof fill,
             "CREATE TABLE filler(b BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
             "SELECT i + 1 FROM n WHERE i < %d) INSERT INTO filler SELECT randomblob(4000) "
             "FROM n; PRAGMA wal_checkpoint(TRUNCATE);",
             filler_blobs);
    sql(d->db_path, fill);
    long long pages = sql_int(d->db_path, "PRAGMA page_count");
    char limit[64], pending[64];
    snprintf(limit, sizeof limit, "BALKON_TEST_DB_MAX_PAGES=%lld", pages);
    snprintf(pending, sizeof pending, "BALKON_TEST_MAX_PENDING=%s", max_pending ? max_pending : "");
    const char *env[] = {limit, pending, NULL};
    assert_true(harness_start_env(d, NULL, env));
    if (!harness_wait_log(d, "cannot write measurements", 20000))
        fail_msg("the database never filled up\n%s", harness_log(d));
    assert_non_null(strstr(harness_log(d), "database or disk is full"));
    return rows_before;
}

static void test_db_full_control_goes_on_and_recovers(void **state)
{
    struct daemon_proc *d = *state;
    struct fake_http *fake = fake_http_start();
    assert_non_null(fake);
    static struct alerts_seen seen;
    memset(&seen, 0, sizeof seen);
    fake_http_route_handler(fake, "/hook", count_alert, &seen);
    char config[2048];
    snprintf(config, sizeof config, DB_FULL_CONFIG_FMT, 300, 120, fake_http_base(fake));
    /* 8 MB of filler, so the space given back holds the whole backlog. At 300x the site
     * records about 4,500 samples a wall second, so the default 65,536 would fill up
     * before the store's backoff (1, 2, 4, 8 s) tries again at 15 s: a buffer for the
     * whole test, as a site at 1x has for hours. */
    long long rows_before = start_with_full_disk(d, config, 2048, "200000");
    /* The owner hears of it, though the alert cannot be stored. */
    if (!hook_says(fake, "\"rule\":\"storage_failing\"", 10000) ||
        !hook_says(fake, "\"severity\":\"critical\"", 1000) ||
        !hook_says(fake, "database or disk is full", 1000))
        fail_msg("no storage_failing alert at the webhook\n%s", harness_log(d));

    /* Full for 8 s: the control and the site go on, samples wait in memory. */
    cJSON *status = harness_get_json(d, "/api/v1/status");
    double ts_then = harness_number(status, "ts_ms");
    cJSON_Delete(status);
    double pending_then = pending_samples(d);
    int failsafe_polls = 0;
    watch_control(d, 8000, &failsafe_polls);
    status = harness_get_json(d, "/api/v1/status");
    assert_true(harness_number(status, "ts_ms") >
                ts_then + 600000); /* 8 wall s = 2400 simulated s */
    cJSON_Delete(status);
    double pending_full = pending_samples(d);
    assert_true(pending_full > pending_then);
    assert_true(pending_full > 10000); /* a backlog that takes a while to write */
    /* Logged once, not at every retry. */
    assert_int_equal(count_occurrences(harness_log(d), "cannot write measurements"), 1);
    /* Nothing stored before is lost, and the file is sound. */
    assert_true(sql_int(d->db_path, "SELECT count(*) FROM samples_raw") >= rows_before);
    assert_string_equal(sql(d->db_path, "PRAGMA quick_check"), "ok");

    /* Space returns: the filler goes, the backlog is written, and the control does not
     * notice. The backoff is at most 8 s by now. */
    assert_string_equal(sql(d->db_path, "DROP TABLE filler"), "");
    for (int waited = 0; waited < 30000; waited += 1000) {
        if (strstr(harness_log(d), "writing measurements again"))
            break;
        watch_control(d, 1000, &failsafe_polls);
    }
    watch_control(d, 2000, &failsafe_polls);
    struct alerts_seen alerts = alerts_now(fake, &seen);
    printf(
        "disk full: %.0f samples buffered, loop lag max %.3f s, %d failsafe polls, %d meter_stale "
        "alerts\n",
        pending_full, metric(d, "balkonsolar_loop_lag_max_seconds"), failsafe_polls,
        alerts.meter_stale);
    /* The control never fell into failsafe, so no meter_stale alert, sent or stored. */
    if (failsafe_polls > 0 || strstr(harness_log(d), "failsafe, battery at") ||
        alerts.meter_stale > 0)
        fail_msg("the control fell into failsafe (%d polls, %d meter_stale alerts)\n%s",
                 failsafe_polls, alerts.meter_stale, harness_log(d));
    if (!harness_wait_log(d, "writing measurements again (0 samples were dropped meanwhile)", 100))
        fail_msg("writing did not recover\n%s", harness_log(d));
    assert_true(pending_samples(d) < pending_full);
    /* The one true alert came and went, once each. */
    for (int waited = 0; waited < 10000 && alerts.storage_resolved == 0; waited += 100) {
        harness_sleep_ms(100);
        alerts = alerts_now(fake, &seen);
    }
    assert_int_equal(alerts.storage_open, 1);
    assert_int_equal(alerts.storage_resolved, 1);
    assert_int_equal(alerts.others, 0);
    cJSON *list = harness_get_json(d, "/api/v1/notifications");
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(list, "notifications"))
        assert_string_not_equal(harness_text(item, "rule"), "meter_stale");
    cJSON_Delete(list);

    assert_true(harness_signal_and_wait(d, SIGTERM, 5000, NULL) >= 0);
    /* Every buffered sample was written. */
    assert_true(sql_int(d->db_path, "SELECT count(*) FROM samples_raw") >
                rows_before + (long long)pending_full);
    assert_string_equal(sql(d->db_path, "PRAGMA integrity_check"), "ok");
    fake_http_stop(fake);
}

/* A full disk that outlasts the buffer (here shrunk to 3,000 samples, about 4 wall s of
 * this site at 60x): the buffer, and with it the memory, stays at its bound, the oldest
 * samples are dropped and counted, and the newest are written when space returns. */
static void test_db_full_longer_than_the_buffer(void **state)
{
    struct daemon_proc *d = *state;
    struct fake_http *fake = fake_http_start();
    assert_non_null(fake);
    static struct alerts_seen seen;
    memset(&seen, 0, sizeof seen);
    fake_http_route_handler(fake, "/hook", count_alert, &seen);
    char config[2048];
    snprintf(config, sizeof config, DB_FULL_CONFIG_FMT, 60, 15, fake_http_base(fake));
    long long rows_before = start_with_full_disk(d, config, 256, "3000");
    assert_non_null(strstr(harness_log(d), "at most 3000 samples buffered"));

    double pending_max = 0;
    int failsafe_polls = 0;
    for (int waited = 0; waited < 10000; waited += 500) {
        pending_max = fmax(pending_max, pending_samples(d));
        watch_control(d, 500, &failsafe_polls);
    }
    assert_true(pending_max == 3000); /* reached, never passed */
    cJSON *status = harness_get_json(d, "/api/v1/status");
    double ts_full_ms = harness_number(status, "ts_ms");
    cJSON_Delete(status);

    assert_string_equal(sql(d->db_path, "DROP TABLE filler"), "");
    for (int waited = 0; waited < 30000 && !strstr(harness_log(d), "writing measurements again");
         waited += 500)
        watch_control(d, 500, &failsafe_polls);
    const char *again = strstr(harness_log(d), "writing measurements again (");
    if (!again)
        fail_msg("writing did not recover\n%s", harness_log(d));
    long long dropped = strtoll(again + strlen("writing measurements again ("), NULL, 10);
    assert_true(dropped > 1000); /* at least the 6 s beyond the bound, 780 samples each */
    assert_int_equal(failsafe_polls, 0);
    assert_null(strstr(harness_log(d), "failsafe, battery at"));
    struct alerts_seen alerts = alerts_now(fake, &seen);
    for (int waited = 0; waited < 10000 && alerts.storage_resolved == 0; waited += 100) {
        harness_sleep_ms(100);
        alerts = alerts_now(fake, &seen);
    }
    assert_int_equal(alerts.meter_stale, 0);
    assert_int_equal(alerts.storage_open, 1);
    assert_int_equal(alerts.storage_resolved, 1);

    assert_true(harness_signal_and_wait(d, SIGTERM, 5000, NULL) >= 0);
    /* The buffer's samples were written: the newest from before the space returned, the
     * oldest of the outage gone. */
    long long rows_after = sql_int(d->db_path, "SELECT count(*) FROM samples_raw");
    assert_true(rows_after >= rows_before + 3000);
    char query[160];
    snprintf(query, sizeof query, "SELECT count(*) FROM samples_raw WHERE ts_ms >= %.0f",
             ts_full_ms - 30000);
    assert_true(sql_int(d->db_path, query) > 0);
    assert_string_equal(sql(d->db_path, "PRAGMA integrity_check"), "ok");
    fake_http_stop(fake);
}

/* --- Providers down -------------------------------------------------------------------- */

static void test_providers_down_plan_falls_back_and_alerts(void **state)
{
    struct daemon_proc *d = *state;
    struct fake_http *fake = fake_http_start();
    assert_non_null(fake);
    const char *err = "{\"error\": \"internal\"}";
    fake_http_route(fake, "/aw/", 500, "application/json", err, strlen(err), NULL, 0);
    fake_http_route(fake, "/om/", 500, "application/json", err, strlen(err), NULL, 0);
    fake_http_route(fake, "/hook", 200, "text/plain", "ok", 2, NULL, 0);
    char config[4096];
    snprintf(
        config, sizeof config,
        "{\"site\": {\"timezone\": \"Europe/Berlin\", \"latitude\": 52.52, \"longitude\": 13.4},\n"
        " \"pv\": {\"planes\": [{\"name\": \"south\", \"tilt\": 35, \"azimuth\": 0, \"peak_w\": "
        "890}]},\n"
        " \"battery\": {\"capacity_wh\": 2240},\n"
        " \"tariff\": {\"import_per_kwh\": 0.31},\n"
        " \"simulation\": {\"speed\": 60, \"start\": \"2026-06-22T08:00:00Z\"},\n"
        " \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
        " \"providers\": [{\"id\": \"prices\", \"type\": \"awattar\", \"base_url\": \"%1$s/aw\"},\n"
        "   {\"id\": \"sky\", \"type\": \"open_meteo\", \"base_url\": \"%1$s/om\"}],\n"
        " \"notifications\": {\"enabled\": true,\n"
        "  \"channels\": [{\"id\": \"hook\", \"type\": \"webhook\", \"url\": \"%1$s/hook\"}],\n"
        "  \"rules\": {\"provider_failing_min\": 0}}}\n",
        fake_http_base(fake));
    harness_write_config(d, config);
    assert_true(harness_start(d, NULL));

    /* Both providers failing, reported as such. */
    bool failing = false;
    for (int waited = 0; waited < 20000 && !failing; waited += 200) {
        cJSON *providers = harness_get_json(d, "/api/v1/providers");
        int n = 0;
        const cJSON *item;
        cJSON_ArrayForEach(item, cJSON_GetObjectItem(providers, "providers")) n +=
            strcmp(harness_text(item, "state"), "failing") == 0;
        cJSON_Delete(providers);
        failing = n == 2;
        if (!failing)
            harness_sleep_ms(200);
    }
    if (!failing)
        fail_msg("providers never reported failing\n%s", harness_log(d));
    assert_true(fake_http_hits(fake, "/aw/") >= 1 && fake_http_hits(fake, "/om/") >= 1);

    /* A plan is still made: the tariff's price, no PV forecast. */
    cJSON *plan = NULL;
    for (int waited = 0; waited < 20000 && !plan; waited += 200) {
        struct http_reply reply = harness_http(d, "GET", "/api/v1/plan", NULL, 0, NULL);
        if (reply.status == 200)
            plan = cJSON_Parse(reply.body);
        http_reply_free(&reply);
        if (!plan)
            harness_sleep_ms(200);
    }
    if (!plan)
        fail_msg("no plan\n%s", harness_log(d));
    const cJSON *summary = cJSON_GetObjectItem(plan, "summary");
    if (!(harness_number(summary, "slots") >= 4 && harness_number(summary, "price_slots") == 0 &&
          harness_number(summary, "pv_forecast_slots") == 0))
        fail_msg("plan: %s", cJSON_PrintUnformatted(summary));
    /* Every slot took tariff.import_per_kwh: the plan's current slot shows it. */
    const cJSON *current = cJSON_GetObjectItem(plan, "current");
    if (current)
        assert_true(fabs(harness_number(current, "price_per_kwh") - 0.31) < 1e-6);
    cJSON_Delete(plan);

    /* An alert row per provider, and it was sent. */
    int rows = 0;
    for (int waited = 0; waited < 20000 && rows < 2; waited += 200) {
        cJSON *list = harness_get_json(d, "/api/v1/notifications");
        rows = 0;
        const cJSON *item;
        cJSON_ArrayForEach(item, cJSON_GetObjectItem(list, "notifications")) rows +=
            strcmp(harness_text(item, "rule"), "provider_failing") == 0 &&
            strcmp(harness_text(item, "state"), "open") == 0;
        cJSON_Delete(list);
        if (rows < 2)
            harness_sleep_ms(200);
    }
    if (rows < 2)
        fail_msg("%d provider_failing alerts\n%s", rows, harness_log(d));
    assert_true(fake_http_hits(fake, "/hook") >= 1);
    cJSON *control = harness_get_json(d, "/api/v1/control");
    assert_true(control_runs(control));
    cJSON_Delete(control);
    assert_true(harness_signal_and_wait(d, SIGTERM, 5000, NULL) >= 0);
    fake_http_stop(fake);
}

/* --- Meter silent with a safe output in the sun ------------------------------------------- */

static void write_meter_config(struct daemon_proc *d, bool meter)
{
    char json[2048];
    snprintf(
        json, sizeof json,
        "{\"site\": {\"timezone\": \"Europe/Berlin\", \"latitude\": 52.52, \"longitude\": 13.4},\n"
        " \"pv\": {\"planes\": [{\"name\": \"south\", \"tilt\": 35, \"azimuth\": 0, \"peak_w\": "
        "890}]},\n"
        " \"battery\": {\"capacity_wh\": 2240},\n"
        " \"simulation\": {\"speed\": 5, \"start\": \"2026-06-22T05:00:00Z\", \"cloudiness_pct\": "
        "0,"
        " \"initial_soc_pct\": 80, \"battery_latency_s\": 1, \"meter_enabled\": %s},\n"
        " \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
        " \"optimizer\": {\"strategy\": \"self_consumption\"},\n"
        " \"control\": {\"meter_stale_s\": 5, \"safe_output_w\": 800}}\n",
        meter ? "true" : "false");
    harness_write_config(d, json);
}

static void test_meter_silent_safe_output_under_the_cap(void **state)
{
    struct daemon_proc *d = *state;
    write_meter_config(d, true);
    assert_true(harness_start(d, NULL));
    assert_true(harness_wait_log(d, "daemon: running", 5000));
    harness_sleep_ms(3000);
    write_meter_config(d, false);
    kill(d->pid, SIGHUP);
    cJSON *control = NULL;
    for (int waited = 0; waited < 8000 && !control; waited += 100) {
        cJSON *c = harness_get_json(d, "/api/v1/control");
        if (strcmp(harness_text(c, "state"), "failsafe") == 0)
            control = c;
        else
            cJSON_Delete(c);
        harness_sleep_ms(100);
    }
    if (!control)
        fail_msg("no failsafe\n%s", harness_log(d));
    cJSON_Delete(control);
    /* A clear June morning: with PV producing, a safe output of 800 W must be cut to what
     * the cap leaves. Watched for 15 simulated seconds. */
    double max_total_w = 0, max_battery_w = 0, min_pv_w = 1e9, max_setpoint_w = 0;
    for (int i = 0; i < 12; i++) {
        harness_sleep_ms(250);
        cJSON *status = harness_get_json(d, "/api/v1/status");
        control = harness_get_json(d, "/api/v1/control");
        double pv_w = harness_number(status, "pv_w"),
               battery_w = harness_number(status, "battery_w");
        double setpoint_w = harness_number(control, "setpoint_w");
        assert_string_equal(harness_text(control, "state"), "failsafe");
        /* The safe output, cut to what the cap leaves beside the PV. */
        assert_true(setpoint_w + pv_w <= 800 + 1);
        assert_true(setpoint_w >= 800 - pv_w - 150);
        max_setpoint_w = fmax(max_setpoint_w, setpoint_w);
        max_total_w = fmax(max_total_w, pv_w + fmax(battery_w, 0));
        max_battery_w = fmax(max_battery_w, battery_w);
        min_pv_w = fmin(min_pv_w, pv_w);
        cJSON_Delete(status);
        cJSON_Delete(control);
    }
    printf("failsafe in the morning: PV >= %.0f W, setpoint <= %.0f W, measured battery <= %.0f W, "
           "PV + battery <= %.0f W\n",
           min_pv_w, max_setpoint_w, max_battery_w, max_total_w);
    assert_true(min_pv_w > 50); /* the cap really cut the safe output of 800 W */
    assert_true(max_total_w <= 800 + 1);
    assert_true(harness_wait_log(d, "failsafe, battery at", 1000));
}

/* --- Config file deleted ------------------------------------------------------------------ */

static void test_config_deleted_keeps_running_and_put_recreates(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_config(d, "{\"site\": {\"name\": \"Kept\"},\n"
                            " \"simulation\": {\"speed\": 10},\n"
                            " \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}]}\n");
    assert_true(harness_start(d, NULL));
    /* "listening" comes before the signal handlers are installed; "running" after. */
    assert_true(harness_wait_log(d, "daemon: running", 5000));
    assert_int_equal(remove(d->config_path), 0);
    kill(d->pid, SIGHUP);
    if (!harness_wait_log(d, "new config rejected; keeping the running one", 5000))
        fail_msg("%s", harness_log(d));
    cJSON *config = harness_get_json(d, "/api/v1/config");
    assert_non_null(config);
    assert_string_equal(harness_text(cJSON_GetObjectItem(config, "site"), "name"), "Kept");
    /* The running config, sent back with a new name, becomes the file again. */
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(config, "site"), "name",
                              cJSON_CreateString("Recreated"));
    char *body = cJSON_PrintUnformatted(config);
    cJSON_Delete(config);
    struct http_reply reply = harness_http(d, "PUT", "/api/v1/config", body, strlen(body), NULL);
    free(body);
    if (reply.status != 200)
        fail_msg("PUT: %ld %s", reply.status, reply.body);
    http_reply_free(&reply);
    struct stat st;
    assert_int_equal(stat(d->config_path, &st), 0);
    char *file = fake_read_file(d->config_path, NULL);
    assert_non_null(file);
    assert_non_null(strstr(file, "Recreated"));
    free(file);
    /* And SIGHUP reads it again. */
    kill(d->pid, SIGHUP);
    assert_true(harness_wait_log(d, "config reloaded", 5000));
    cJSON *health = harness_get_json(d, "/api/v1/health");
    assert_non_null(health);
    cJSON_Delete(health);
    assert_true(harness_signal_and_wait(d, SIGTERM, 5000, NULL) >= 0);
}

/* --- Clock jumps ------------------------------------------------------------------------- */

/* libfaketime (Debian's faketime package, installed by scripts/install-deps.sh --test) moves
 * the daemon's wall clock while it runs: with FAKETIME_NO_CACHE it reads the offset from a
 * file on every call, and FAKETIME_DONT_FAKE_MONOTONIC leaves libuv's monotonic clock alone,
 * as NTP or `date -s` would. */
static const char *faketime_library(void)
{
    static const char *const candidates[] = {
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/arm-linux-gnueabihf/faketime/libfaketime.so.1",
        "/usr/lib/faketime/libfaketime.so.1"};
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
        if (access(candidates[i], R_OK) == 0)
            return candidates[i];
    return NULL;
}

static void set_offset(const char *path, const char *offset)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", offset);
    fclose(f);
}

static double status_ts_s(struct daemon_proc *d)
{
    cJSON *status = harness_get_json(d, "/api/v1/status");
    assert_non_null(status);
    double ts_s = harness_number(status, "ts_ms") / 1000.0;
    cJSON_Delete(status);
    return ts_s;
}

static void test_clock_jumps_are_followed(void **state)
{
    struct daemon_proc *d = *state;
    const char *library = faketime_library();
    if (!library)
        fail_msg("libfaketime is missing: run scripts/install-deps.sh --test");
    char offset_path[320], preload[300], file_env[360], asan[512];
    snprintf(offset_path, sizeof offset_path, "%s/faketime", d->dir);
    set_offset(offset_path, "+0");
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", library);
    snprintf(file_env, sizeof file_env, "FAKETIME_TIMESTAMP_FILE=%s", offset_path);
    /* Under ASan the preloaded library comes before ASan's runtime; that is fine here. */
    const char *asan_options = getenv("ASAN_OPTIONS");
    snprintf(asan, sizeof asan, "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
             asan_options ? asan_options : "", asan_options && asan_options[0] ? ":" : "");
    const char *env[] = {preload, file_env, "FAKETIME_NO_CACHE=1", "FAKETIME_DONT_FAKE_MONOTONIC=1",
                         asan,    NULL};
    /* Real time: the simulator at speed 1 from now, as a real site runs. */
    harness_write_config(d,
                         "{\"site\": {\"timezone\": \"Europe/Berlin\"},\n"
                         " \"pv\": {\"planes\": [{\"name\": \"south\", \"tilt\": 35, \"azimuth\": "
                         "0, \"peak_w\": 890}]},\n"
                         " \"battery\": {\"capacity_wh\": 2240},\n"
                         " \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
                         " \"storage\": {\"flush_interval_s\": 0.5, \"sample_interval_s\": 1}}\n");
    assert_true(harness_start_env(d, NULL, env));
    harness_sleep_ms(1500);
    double real_s = (double)time(NULL);
    double ts_s = status_ts_s(d);
    if (fabs(ts_s - real_s) >= 10)
        fail_msg("status at %.0f, real time %.0f\n%s", ts_s, real_s, harness_log(d));

    /* NTP corrects a Pi that booted two hours late: the clock follows within a check. */
    set_offset(offset_path, "+7200");
    if (!harness_wait_log(d, "the wall clock jumped by +7200 s", 15000) &&
        !harness_wait_log(d, "the wall clock jumped by +7199 s", 100))
        fail_msg("the forward jump was not noticed\n%s", harness_log(d));
    harness_sleep_ms(1500);
    assert_true(fabs(status_ts_s(d) - ((double)time(NULL) + 7200)) < 10);

    /* And back, three hours behind that. */
    set_offset(offset_path, "-3600");
    if (!harness_wait_log(d, "the wall clock jumped by -10800 s", 15000) &&
        !harness_wait_log(d, "the wall clock jumped by -10799 s", 100))
        fail_msg("the backward jump was not noticed\n%s", harness_log(d));
    harness_sleep_ms(1500);
    ts_s = status_ts_s(d);
    if (fabs(ts_s - ((double)time(NULL) - 3600)) >= 10)
        fail_msg("status at %.0f, real time %.0f\n%s", ts_s, (double)time(NULL),
                 strstr(harness_log(d), "jumped"));
    /* Through both, the control tracked, no device looked silent, the API answered and
     * nothing was corrupted. */
    cJSON *control = harness_get_json(d, "/api/v1/control");
    assert_true(control_runs(control));
    cJSON_Delete(control);
    const char *log = harness_log(d);
    if (strstr(log, "nothing heard") || strstr(log, "failsafe"))
        fail_msg("a jump looked like silence:\n%s", strstr(log, "jumped"));
    cJSON *h = health(d);
    assert_string_equal(harness_text(h, "status"), "ok");
    cJSON_Delete(h);
    int status = harness_signal_and_wait(d, SIGTERM, 5000, NULL);
    assert_true(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_string_equal(sql(d->db_path, "PRAGMA integrity_check"), "ok");
    assert_true(sql_int(d->db_path, "SELECT count(*) FROM samples_raw") > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_db_full_control_goes_on_and_recovers, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_db_full_longer_than_the_buffer, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_providers_down_plan_falls_back_and_alerts,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_meter_silent_safe_output_under_the_cap, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_config_deleted_keeps_running_and_put_recreates,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_clock_jumps_are_followed, harness_setup,
                                        harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
