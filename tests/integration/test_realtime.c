/* The real-time core under load (issue 12), against the real balkonsolard:
 *  - heavy reads and control: while four clients fetch the heaviest series there is (100,000
 *    raw buckets, about 2 MB of JSON each, a new range every time so nothing comes from a
 *    cache), the simulated site's control never falls into failsafe and no meter_stale alert
 *    is raised; every client gets its whole answer;
 *  - kept answers follow the data: a day's series asked again and again grows as the
 *    recorder writes, and stays the same answer as a fresh read.
 *
 * The simulated clock runs 20 times faster than the wall, so the control's 15 s meter
 * timeout is 0.75 s of wall time: a loop that blocked on a read, as it did before the reads
 * moved to the thread pool, fails this test within seconds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#define HEAVY_CLIENTS 4
#define HEAVY_RUN_MS 12000
#define STEP_MS 5000
#define HEAVY_BUCKETS 100000
/* 2026-06-22T08:00:00Z: the simulation's start; the history ends an hour before it. */
#define START_MS INT64_C(1782115200000)
#define HISTORY_END_MS (START_MS - 3600000)
#define HISTORY_START_MS (HISTORY_END_MS - (int64_t)HEAVY_BUCKETS * STEP_MS)

static const char *CONFIG =
    "{\"site\": {\"timezone\": \"Europe/Berlin\"},\n"
    " \"pv\": {\"planes\": [{\"name\": \"south\", \"tilt\": 35, \"azimuth\": 0, \"peak_w\": "
    "890}]},\n"
    " \"battery\": {\"capacity_wh\": 2240},\n"
    " \"simulation\": {\"speed\": 20, \"start\": \"2026-06-22T08:00:00Z\"},\n"
    " \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
    " \"optimizer\": {\"strategy\": \"self_consumption\"},\n"
    " \"notifications\": {\"enabled\": true},\n"
    " \"storage\": {\"flush_interval_s\": 0.5, \"sample_interval_s\": 1}}\n";

/* Runs SQL with the sqlite3 tool; false (and the output on stderr) when it fails. */
static bool run_sql(const char *db_path, const char *statements)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "sqlite3 -batch -cmd '.timeout 5000' '%s' \"%s\" 2>&1", db_path,
             statements);
    FILE *p = popen(cmd, "r");
    if (!p)
        return false;
    char out[512] = "";
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    if (status != 0 || n > 0)
        fprintf(stderr, "sqlite3: %s\n", out);
    return status == 0 && n == 0;
}

/* A history series of HEAVY_BUCKETS raw 5-second samples, written while the daemon is down. */
static void write_history(struct daemon_proc *d)
{
    char statements[1024];
    snprintf(statements, sizeof statements,
             "INSERT OR IGNORE INTO series(name, unit) VALUES ('history_w', 'W');"
             "WITH RECURSIVE t(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM t WHERE i < %d)"
             " INSERT INTO samples_raw(series_id, ts_ms, value)"
             " SELECT (SELECT id FROM series WHERE name = 'history_w'), %lld + i * %d, 100 + i %% "
             "700 FROM t;",
             HEAVY_BUCKETS - 1, (long long)HISTORY_START_MS, STEP_MS);
    assert_true(run_sql(d->db_path, statements));
}

/* "2026-06-22T08:01:30.500Z" -> ms; 0 or -1. */
static int balkon_test_parse_iso(const char *text, long long *ms)
{
    struct tm tm = {0};
    int millis = 0;
    if (sscanf(text, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    const char *dot = strchr(text, '.');
    if (dot)
        millis = atoi(dot + 1);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *ms = (long long)timegm(&tm) * 1000 + millis;
    return 0;
}

struct heavy_client {
    struct daemon_proc *d;
    int index;
    int answers; /* complete answers: 200 with every bucket */
    int failures;
    long long bytes;
};

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *heavy_client_run(void *arg)
{
    struct heavy_client *c = arg;
    long long until = wall_ms() + HEAVY_RUN_MS;
    for (int n = 0; wall_ms() < until; n++) {
        /* Just under HEAVY_BUCKETS buckets, moved back by a bucket or more each time. */
        int back = (c->index * 3 + n) % 10;
        long long from_s = HISTORY_START_MS / 1000 - back * (STEP_MS / 1000);
        char path[256];
        snprintf(path, sizeof path, "/api/v1/series?name=history_w&step=5s&from=%lld&to=%lld",
                 from_s, from_s + (long long)(HEAVY_BUCKETS - 1) * STEP_MS / 1000);
        struct http_reply reply = harness_http(c->d, "GET", path, NULL, 0, NULL);
        cJSON *json = reply.status == 200 ? cJSON_Parse(reply.body) : NULL;
        int buckets = cJSON_GetArraySize(cJSON_GetObjectItem(json, "ts"));
        if (json && buckets >= HEAVY_BUCKETS - 10) {
            c->answers++;
            c->bytes += (long long)reply.size;
        } else {
            c->failures++;
            fprintf(stderr, "heavy client %d: status %ld, %d buckets\n", c->index, reply.status,
                    buckets);
        }
        cJSON_Delete(json);
        http_reply_free(&reply);
    }
    return NULL;
}

static cJSON *control(struct daemon_proc *d)
{
    struct http_reply reply = harness_http(d, "GET", "/api/v1/control", NULL, 0, NULL);
    cJSON *json = reply.status == 200 ? cJSON_Parse(reply.body) : NULL;
    http_reply_free(&reply);
    return json;
}

static int meter_stale_alerts(struct daemon_proc *d)
{
    cJSON *json = harness_get_json(d, "/api/v1/notifications?limit=1000");
    int n = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(json, "notifications")) n +=
        strcmp(harness_text(item, "rule"), "meter_stale") == 0;
    cJSON_Delete(json);
    return n;
}

static void test_heavy_reads_never_stop_the_control(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_config(d, CONFIG);
    assert_true(harness_start(d, NULL)); /* creates and migrates the database */
    assert_true(WIFEXITED(harness_signal_and_wait(d, SIGTERM, 5000, NULL)));
    write_history(d);
    assert_true(harness_start(d, NULL));

    /* The control runs on the simulator's meter before the load starts. */
    cJSON *before = NULL;
    for (int i = 0; i < 100 && !before; i++) {
        before = control(d);
        if (!before)
            harness_sleep_ms(100);
    }
    assert_non_null(before);
    assert_true(harness_number(before, "failsafes") == 0);
    double commands_before = harness_number(before, "commands_sent");
    cJSON_Delete(before);

    pthread_t threads[HEAVY_CLIENTS];
    struct heavy_client clients[HEAVY_CLIENTS];
    for (int i = 0; i < HEAVY_CLIENTS; i++) {
        clients[i] = (struct heavy_client){.d = d, .index = i};
        assert_int_equal(pthread_create(&threads[i], NULL, heavy_client_run, &clients[i]), 0);
    }
    /* Meanwhile the control must keep tracking: its state is sampled as a user would. */
    int failsafe_seen = 0;
    for (long long until = wall_ms() + HEAVY_RUN_MS; wall_ms() < until;) {
        cJSON *now = control(d);
        assert_non_null(now);
        failsafe_seen += strcmp(harness_text(now, "state"), "failsafe") == 0;
        cJSON_Delete(now);
        harness_sleep_ms(250);
    }
    int answers = 0;
    long long bytes = 0;
    for (int i = 0; i < HEAVY_CLIENTS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(clients[i].failures, 0);
        assert_true(clients[i].answers >= 1);
        answers += clients[i].answers;
        bytes += clients[i].bytes;
    }
    fprintf(stderr, "heavy reads: %d answers of %lld bytes on average in %d s\n", answers,
            answers ? bytes / answers : 0, HEAVY_RUN_MS / 1000);

    cJSON *after = control(d);
    assert_non_null(after);
    assert_int_equal(failsafe_seen, 0);
    assert_true(harness_number(after, "failsafes") == 0);
    assert_true(harness_number(after, "commands_sent") > commands_before); /* it kept working */
    cJSON_Delete(after);
    assert_int_equal(meter_stale_alerts(d), 0);
    assert_null(strstr(harness_log(d), "failsafe"));
}

/* The total sample count of a series answer, or -1. */
static long long answer_count(const char *body)
{
    cJSON *json = cJSON_Parse(body);
    const cJSON *counts = cJSON_GetObjectItem(json, "count");
    long long total = counts ? 0 : -1;
    const cJSON *item;
    cJSON_ArrayForEach(item, counts) total += (long long)item->valuedouble;
    cJSON_Delete(json);
    return total;
}

static void test_kept_answers_follow_the_data(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_config(d, CONFIG);
    assert_true(harness_start(d, NULL));
    /* The simulated day: from the start to a day later, in 15-minute buckets, as the
     * dashboard's day view asks (an explicit end, so the answer is kept). */
    char path[256];
    snprintf(path, sizeof path, "/api/v1/series?name=pv_w&from=%lld&to=%lld&step=15m",
             (long long)(START_MS / 1000), (long long)(START_MS / 1000 + 86400));
    long long first = -1;
    for (int i = 0; i < 100 && first <= 0; i++) {
        struct http_reply reply = harness_http(d, "GET", path, NULL, 0, NULL);
        first = reply.status == 200 ? answer_count(reply.body) : -1;
        http_reply_free(&reply);
        if (first <= 0)
            harness_sleep_ms(100);
    }
    assert_true(first > 0);
    /* Asked again while the recorder writes every 0.5 s, the answer grows. */
    long long later = first;
    for (int i = 0; i < 100 && later <= first; i++) {
        harness_sleep_ms(100);
        struct http_reply reply = harness_http(d, "GET", path, NULL, 0, NULL);
        assert_int_equal(reply.status, 200);
        later = answer_count(reply.body);
        http_reply_free(&reply);
    }
    assert_true(later > first);

    /* A kept answer is the same as a fresh read: a closed minute asked twice (read, then
     * kept) and once with `to` spelled as ISO-8601 (another key, so read anew). */
    char closed[256], closed_iso[256];
    snprintf(closed, sizeof closed, "/api/v1/series?name=pv_w&from=%lld&to=%lld&step=5s",
             (long long)(START_MS / 1000), (long long)(START_MS / 1000 + 60));
    snprintf(closed_iso, sizeof closed_iso,
             "/api/v1/series?name=pv_w&from=%lld&to=2026-06-22T08:01:00Z&step=5s",
             (long long)(START_MS / 1000));
    for (int i = 0; i < 200; i++) { /* until the minute and its flush are over */
        cJSON *health = harness_get_json(d, "/api/v1/health");
        long long now_ms = 0;
        assert_int_equal(balkon_test_parse_iso(harness_text(health, "now"), &now_ms), 0);
        cJSON_Delete(health);
        if (now_ms > START_MS + 90000)
            break;
        harness_sleep_ms(100);
    }
    struct http_reply read = harness_http(d, "GET", closed, NULL, 0, NULL);
    struct http_reply kept = harness_http(d, "GET", closed, NULL, 0, NULL);
    struct http_reply fresh = harness_http(d, "GET", closed_iso, NULL, 0, NULL);
    assert_int_equal(read.status, 200);
    assert_true(answer_count(read.body) >= 50); /* 1 s samples in 5 s buckets */
    assert_string_equal(read.body, kept.body);
    assert_string_equal(read.body, fresh.body);
    http_reply_free(&read);
    http_reply_free(&kept);
    http_reply_free(&fresh);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_heavy_reads_never_stop_the_control, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_kept_answers_follow_the_data, harness_setup,
                                        harness_teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
