/* Crash safety (issue 8, item 5): balkonsolard is killed with SIGKILL at random moments
 * while it writes hard, 25 times over, restarting on the same database each time.
 *
 * The load: the simulator at 3600x with storage.sample_interval_s 1 and 13 series, i.e.
 * about 47,000 samples per wall second, flushed every storage.flush_interval_s = 0.5 s of
 * wall time in one transaction each (raw samples plus their 5-minute and 1-hour roll-ups).
 *
 * After every kill the database, opened by the sqlite3 command-line tool, must
 *  - pass PRAGMA integrity_check;
 *  - still hold everything the earlier rounds had (row count and newest sample never go
 *    back: the clock resumes after the newest stored sample, so nothing is overwritten);
 *  - have every 5-minute roll-up agree with its raw samples (a flush is atomic: raw rows
 *    and roll-ups commit together or not at all);
 *  - lose at most the last flush interval: the flush timer runs on wall time, so what can
 *    be lost is what was appended after the last commit, i.e. flush_interval_s of wall
 *    time = flush_interval_s x speed of simulated time, plus the time a flush itself takes
 *    and the loop's lag (SLACK_WALL_S, generous for sanitizer builds). The reference is
 *    the newest site status read over HTTP right before the kill (its ts is a lower bound
 *    of the daemon's simulated "now" at the kill), so:
 *        newest stored ts >= status ts - (flush_interval_s + SLACK_WALL_S) x speed.
 * The worst loss seen is printed in simulated and wall seconds.
 *
 * BALKON_CRASH_SEED=<n> repeats a run; the seed is printed either way. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KILLS 25
#define SPEED 3600.0
#define FLUSH_INTERVAL_S 0.5
#define SLACK_WALL_S 1.0
#define MIN_RUN_MS 250
#define MAX_RUN_MS 1500

static const char *CONFIG =
    "{\n"
    "  \"site\": {\"name\": \"crash test\", \"latitude\": 52.52, \"longitude\": 13.40,"
    " \"timezone\": \"Europe/Berlin\"},\n"
    "  \"pv\": {\"planes\": [{\"name\": \"south\", \"tilt\": 35, \"azimuth\": 0, "
    "\"peak_w\": 890}]},\n"
    "  \"battery\": {\"capacity_wh\": 2240},\n"
    "  \"simulation\": {\"speed\": 3600, \"start\": \"2026-06-01T00:00:00Z\"},\n"
    "  \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
    "  \"optimizer\": {\"strategy\": \"self_consumption\"},\n"
    "  \"control\": {\"meter_stale_s\": 600},\n"
    "  \"storage\": {\"flush_interval_s\": 0.5, \"sample_interval_s\": 1}\n"
    "}\n";

struct db_state {
    char integrity[512];
    int64_t rows;
    int64_t newest_ts_ms;
    int64_t bad_rollups;
};

/* Runs the sqlite3 tool on the database; false when it could not run. */
static bool inspect(const char *db_path, struct db_state *out)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "sqlite3 -batch -noheader -separator '|' '%s' "
             "'PRAGMA integrity_check;' "
             "'SELECT count(*), coalesce(max(ts_ms), -1) FROM samples_raw;' "
             "'SELECT count(*) FROM samples_5m m WHERE m.count != (SELECT count(*) FROM "
             "samples_raw r WHERE r.series_id = m.series_id AND r.ts_ms >= m.bucket_ts_ms AND "
             "r.ts_ms < m.bucket_ts_ms + 300000);' 2>&1",
             db_path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return false;
    char line[3][512] = {"", "", ""};
    for (int i = 0; i < 3 && fgets(line[i], sizeof line[i], p); i++)
        line[i][strcspn(line[i], "\n")] = '\0';
    int status = pclose(p);
    snprintf(out->integrity, sizeof out->integrity, "%s", line[0]);
    long long rows = -1, newest = -1, bad = -1;
    if (sscanf(line[1], "%lld|%lld", &rows, &newest) != 2 || sscanf(line[2], "%lld", &bad) != 1) {
        fprintf(stderr, "sqlite3 said: %s / %s / %s (status %d)\n", line[0], line[1], line[2],
                status);
        return false;
    }
    out->rows = rows;
    out->newest_ts_ms = newest;
    out->bad_rollups = bad;
    return status == 0;
}

/* The site status's ts_ms, or INT64_MIN before the first interval. */
static int64_t status_ts_ms(struct daemon_proc *d)
{
    cJSON *status = harness_get_json(d, "/api/v1/status");
    const cJSON *ts = cJSON_GetObjectItem(status, "ts_ms");
    int64_t value = cJSON_IsNumber(ts) ? (int64_t)ts->valuedouble : INT64_MIN;
    cJSON_Delete(status);
    return value;
}

static void test_sigkill_during_heavy_writes(void **state)
{
    struct daemon_proc *d = *state;
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    const char *env = getenv("BALKON_CRASH_SEED");
    if (env && *env)
        seed = (unsigned)strtoul(env, NULL, 10);
    printf("crash safety: seed %u (BALKON_CRASH_SEED=%u repeats this run)\n", seed, seed);
    srand(seed);
    harness_write_config(d, CONFIG);

    const int64_t bound_ms = (int64_t)((FLUSH_INTERVAL_S + SLACK_WALL_S) * SPEED * 1000.0);
    struct db_state prev = {.rows = 0, .newest_ts_ms = -1};
    int64_t worst_loss_ms = 0;
    int checked = 0;
    for (int round = 0; round < KILLS; round++) {
        assert_true(harness_start(d, NULL));
        int run_ms = MIN_RUN_MS + rand() % (MAX_RUN_MS - MIN_RUN_MS + 1);
        harness_sleep_ms(run_ms);
        int64_t before_kill_ts = status_ts_ms(d);
        kill(d->pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(d->pid, &status, 0), d->pid);
        d->pid = 0;
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

        struct db_state now;
        if (!inspect(d->db_path, &now))
            fail_msg("round %d (seed %u): sqlite3 could not read the database", round, seed);
        if (strcmp(now.integrity, "ok") != 0)
            fail_msg("round %d (seed %u): integrity_check: %s", round, seed, now.integrity);
        if (now.rows < prev.rows || now.newest_ts_ms < prev.newest_ts_ms)
            fail_msg("round %d (seed %u): stored data went back: %" PRId64 " rows, newest %" PRId64
                     " (before: %" PRId64 " rows, newest %" PRId64 ")",
                     round, seed, now.rows, now.newest_ts_ms, prev.rows, prev.newest_ts_ms);
        if (now.bad_rollups != 0)
            fail_msg("round %d (seed %u): %" PRId64 " 5-minute roll-ups disagree with their raw "
                     "samples",
                     round, seed, now.bad_rollups);
        if (before_kill_ts != INT64_MIN) {
            /* With nothing stored yet (killed before the first flush), what was lost is
             * everything since the start: the run's length on the simulated clock. */
            int64_t stored_ms =
                now.rows > 0 ? now.newest_ts_ms : before_kill_ts - (int64_t)(run_ms * SPEED);
            int64_t loss_ms = before_kill_ts - stored_ms;
            if (loss_ms > worst_loss_ms)
                worst_loss_ms = loss_ms;
            if (loss_ms > bound_ms)
                fail_msg("round %d (seed %u): killed %d ms after start, lost %.0f simulated s "
                         "(%.2f wall s) of samples; the bound is %.0f s (%.2f wall s)",
                         round, seed, run_ms, loss_ms / 1000.0, loss_ms / 1000.0 / SPEED,
                         bound_ms / 1000.0, bound_ms / 1000.0 / SPEED);
            checked++;
        }
        prev = now;
    }
    /* Every round but a very unlucky one had a status before its kill. */
    assert_true(checked >= KILLS / 2);
    assert_true(prev.rows > 100000);
    printf("crash safety: %d kills, %" PRId64 " rows kept, worst loss %.0f simulated s = %.2f "
           "wall s (flush interval %.1f s, bound %.1f s)\n",
           KILLS, prev.rows, worst_loss_ms / 1000.0, worst_loss_ms / 1000.0 / SPEED,
           FLUSH_INTERVAL_S, FLUSH_INTERVAL_S + SLACK_WALL_S);

    /* The daemon still starts and serves the data it kept, then stops cleanly. */
    assert_true(harness_start(d, NULL));
    cJSON *health = harness_get_json(d, "/api/v1/health");
    assert_non_null(health);
    cJSON_Delete(health);
    assert_true(harness_signal_and_wait(d, SIGTERM, 5000, NULL) >= 0);
    struct db_state last;
    assert_true(inspect(d->db_path, &last));
    assert_string_equal(last.integrity, "ok");
    assert_true(last.rows >= prev.rows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sigkill_during_heavy_writes, harness_setup,
                                        harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
