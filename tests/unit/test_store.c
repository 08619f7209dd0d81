/* Unit tests of the repository layer (src/store/): schema and migrations, batched
 * writes, roll-ups, downsampling queries, retention, the device registry.
 *
 * Each test gets its own database file in a fresh temporary directory. Where a test needs
 * to see what is really on disk, or to interfere (hold a lock, install a trigger), it
 * opens a second SQLite connection to the same file, as another process would. Expected
 * buckets are computed here by brute force from the samples the test wrote, never by the
 * code under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/store.h"
#include "store_fixture.h"

#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MS_S INT64_C(1000)
#define MS_MIN INT64_C(60000)
#define MS_5M INT64_C(300000)
#define MS_HOUR INT64_C(3600000)
#define MS_DAY INT64_C(86400000)
/* 2023-11-14T00:00:00Z: a day boundary, so hours and 5-minute buckets align. */
#define T0 INT64_C(1699920000000)

static int setup(void **state)
{
    return store_fixture_setup(state, "/tmp/balkon_store_XXXXXX");
}

static struct balkon_store *open_store_with(const char *path, int raw_days, int days_5m,
                                            int days_1h, size_t max_pending)
{
    struct balkon_store_options options = {
        .path = path,
        .raw_retention_days = raw_days,
        .rollup_5m_retention_days = days_5m,
        .rollup_1h_retention_days = days_1h,
        .max_pending = max_pending,
    };
    struct balkon_store *store = NULL;
    char msg[256];
    int err = balkon_store_open(&options, &store, msg, sizeof msg);
    if (err)
        fail_msg("open %s: %d %s", path, err, msg);
    return store;
}

static struct balkon_store *open_store(const char *path)
{
    return open_store_with(path, 0, 0, 0, 0);
}

static void assert_close(double actual, double expected)
{
    double tolerance = 1e-9 * (fabs(expected) > 1 ? fabs(expected) : 1);
    if (fabs(actual - expected) > tolerance)
        fail_msg("expected %.12g, got %.12g", expected, actual);
}

static int64_t series(struct balkon_store *store, const char *name, const char *unit)
{
    int64_t id = 0;
    int err = balkon_store_series_id(store, name, unit, &id);
    if (err)
        fail_msg("series %s: %d %s", name, err, balkon_store_errmsg(store));
    return id;
}

static void append_ok(struct balkon_store *store, int64_t id, int64_t ts_ms, double value)
{
    int err = balkon_store_append(store, id, ts_ms, value);
    if (err)
        fail_msg("append: %d %s", err, balkon_store_errmsg(store));
}

static void flush_ok(struct balkon_store *store)
{
    int err = balkon_store_flush(store);
    if (err)
        fail_msg("flush: %d %s", err, balkon_store_errmsg(store));
}

/* --- Brute-force expectations ------------------------------------------------------- */

struct sample {
    int64_t ts_ms;
    double value;
};

struct expected {
    int64_t ts_ms;
    double sum;
    double min;
    double max;
    uint32_t count;
};

static int64_t floor_to(int64_t ts, int64_t step)
{
    int64_t r = ts % step;
    return r < 0 ? ts - r - step : ts - r;
}

/* Buckets of samples (sorted by ts) over [from, to), as the store should return them. */
static size_t expect_buckets(const struct sample *s, size_t n, int64_t from, int64_t to,
                             int64_t step, struct expected *out, size_t cap)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i].ts_ms < from || s[i].ts_ms >= to)
            continue;
        int64_t b = floor_to(s[i].ts_ms, step);
        if (len == 0 || out[len - 1].ts_ms != b) {
            assert_true(len < cap);
            out[len++] = (struct expected){b, 0, s[i].value, s[i].value, 0};
        }
        struct expected *e = &out[len - 1];
        e->sum += s[i].value;
        e->count++;
        e->min = fmin(e->min, s[i].value);
        e->max = fmax(e->max, s[i].value);
    }
    return len;
}

static void check_query(struct balkon_store *store, const char *name, const struct sample *s,
                        size_t n, int64_t from, int64_t to, int64_t step)
{
    struct expected *want = calloc(n + 1, sizeof *want);
    assert_non_null(want);
    size_t want_len = expect_buckets(s, n, from, to, step, want, n + 1);
    struct balkon_bucket *got = NULL;
    size_t got_len = 0;
    int err = balkon_store_query(store, name, from, to, step, &got, &got_len);
    if (err)
        fail_msg("query: %d %s", err, balkon_store_errmsg(store));
    if (got_len != want_len)
        fail_msg("step %lld: %zu buckets, expected %zu", (long long)step, got_len, want_len);
    for (size_t i = 0; i < want_len; i++) {
        assert_int_equal(got[i].ts_ms, want[i].ts_ms);
        assert_int_equal(got[i].count, want[i].count);
        assert_close(got[i].avg, want[i].sum / want[i].count);
        assert_close(got[i].min, want[i].min);
        assert_close(got[i].max, want[i].max);
    }
    free(got);
    free(want);
}

/* Integer values so that sums are exact and the tolerance only covers division. */
static double pattern(int64_t i)
{
    return (double)((i * 7919) % 1013) - 300.0;
}

/* --- Schema and migrations ---------------------------------------------------------- */

static const char *const all_tables[] = {
    "series", "samples_raw", "samples_5m",    "samples_1h", "prices",      "forecasts",
    "plans",  "plan_slots",  "notifications", "devices",    "command_log", "store_meta",
};

static void assert_schema_complete(const char *path)
{
    sqlite3 *db = peer_open(path);
    char sql[256];
    assert_int_equal(peer_int(db, "PRAGMA user_version"), balkon_store_schema_latest());
    for (size_t i = 0; i < sizeof all_tables / sizeof all_tables[0]; i++) {
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM pragma_table_list WHERE name = '%s' AND strict = 1",
                 all_tables[i]);
        if (peer_int(db, sql) != 1)
            fail_msg("table %s missing or not STRICT", all_tables[i]);
    }
    /* Time series tables store rows in primary-key order. */
    assert_int_equal(peer_int(db, "SELECT count(*) FROM pragma_table_list WHERE wr = 1 AND name"
                                  " IN ('samples_raw', 'samples_5m', 'samples_1h')"),
                     3);
    sqlite3_close(db);
}

static void test_open_fresh_migrates(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store(f->path);
    assert_true(balkon_store_schema_latest() >= 1);
    assert_int_equal(balkon_store_schema_version(store), balkon_store_schema_latest());

    sqlite3 *db = peer_open(f->path);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);

    assert_schema_complete(f->path);
    balkon_store_close(store);
}

static void test_reopen_is_idempotent_and_keeps_data(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store(f->path);
    int64_t id = series(store, "pv_w", "W");
    append_ok(store, id, T0, 250);
    flush_ok(store);
    balkon_store_close(store);

    store = open_store(f->path);
    assert_int_equal(balkon_store_schema_version(store), balkon_store_schema_latest());
    assert_int_equal(series(store, "pv_w", "W"), id);
    struct balkon_bucket *b = NULL;
    size_t n = 0;
    assert_int_equal(balkon_store_query(store, "pv_w", T0, T0 + MS_MIN, MS_MIN, &b, &n), 0);
    assert_int_equal(n, 1);
    assert_close(b[0].avg, 250);
    free(b);
    balkon_store_close(store);
    assert_schema_complete(f->path);
}

static void test_newer_schema_is_refused(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = peer_open(f->path);
    peer_exec(db, "CREATE TABLE future(x); PRAGMA user_version = 7");
    sqlite3_close(db);

    struct balkon_store_options options = {.path = f->path};
    struct balkon_store *store = (struct balkon_store *)1;
    char msg[256], want[256];
    assert_int_equal(balkon_store_open(&options, &store, msg, sizeof msg), BALKON_E_VERSION);
    assert_null(store);
    snprintf(want, sizeof want,
             "%s: schema version 7 is newer than this build's %d; refusing to open", f->path,
             balkon_store_schema_latest());
    assert_string_equal(msg, want);

    /* Refusing must not have touched the file, not even its journal mode. */
    db = peer_open(f->path);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "delete");
    sqlite3_finalize(st);
    assert_int_equal(peer_int(db, "PRAGMA user_version"), 7);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM sqlite_schema"), 1);
    sqlite3_close(db);
}

static void test_version_zero_without_tables_is_migrated(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = peer_open(f->path);
    peer_exec(db, "CREATE TABLE scratch(x); DROP TABLE scratch");
    assert_int_equal(peer_int(db, "PRAGMA user_version"), 0);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM sqlite_schema"), 0);
    sqlite3_close(db);

    struct balkon_store *store = open_store(f->path);
    assert_int_equal(balkon_store_schema_version(store), balkon_store_schema_latest());
    balkon_store_close(store);
    assert_schema_complete(f->path);
}

static void test_open_failures_name_the_file(void **state)
{
    struct fixture *f = *state;
    char path[200], msg[256], want[300];
    struct balkon_store *store = NULL;

    snprintf(path, sizeof path, "%s/missing-dir/x.db", f->dir);
    struct balkon_store_options options = {.path = path};
    assert_int_equal(balkon_store_open(&options, &store, msg, sizeof msg), BALKON_E_IO);
    assert_null(store);
    snprintf(want, sizeof want, "%s: unable to open database file", path);
    assert_string_equal(msg, want);

    FILE *fp = fopen(f->path, "w");
    assert_non_null(fp);
    for (int i = 0; i < 200; i++)
        fputs("this is not a database file. ", fp);
    fclose(fp);
    options.path = f->path;
    assert_int_not_equal(balkon_store_open(&options, &store, msg, sizeof msg), 0);
    assert_null(store);
    snprintf(want, sizeof want, "%s: file is not a database", f->path);
    assert_string_equal(msg, want);

    options.raw_retention_days = 400; /* longer than the 5-minute roll-up's 180 */
    assert_int_equal(balkon_store_open(&options, &store, msg, sizeof msg), BALKON_E_RANGE);
    assert_null(store);
    assert_non_null(strstr(msg, "retention"));
}

/* --- Writing ------------------------------------------------------------------------ */

static void test_flush_is_one_transaction(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store(f->path);
    int64_t a = series(store, "grid_w", "W"), b = series(store, "pv_w", "W");
    for (int i = 0; i < 50; i++) {
        append_ok(store, a, T0 + i * 5 * MS_S, i);
        append_ok(store, b, T0 + i * 5 * MS_S, 2 * i);
    }
    assert_int_equal(balkon_store_pending(store), 100);

    sqlite3 *db = peer_open(f->path);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM samples_raw"), 0);

    /* The 90th write fails: if the flush were not one transaction, the 89 before it
     * would be visible afterwards. */
    char sql[256];
    snprintf(sql, sizeof sql,
             "CREATE TRIGGER fail_one BEFORE INSERT ON samples_raw"
             " WHEN NEW.series_id = %lld AND NEW.ts_ms = %lld"
             " BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
             (long long)b, (long long)(T0 + 44 * 5 * MS_S));
    peer_exec(db, sql);
    assert_int_equal(balkon_store_flush(store), BALKON_E_DB);
    assert_non_null(strstr(balkon_store_errmsg(store), "injected failure"));
    assert_int_equal(balkon_store_pending(store), 100);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM samples_raw"), 0);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM samples_5m"), 0);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM samples_1h"), 0);

    peer_exec(db, "DROP TRIGGER fail_one");
    flush_ok(store);
    assert_int_equal(balkon_store_pending(store), 0);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM samples_raw"), 100);
    assert_int_equal(peer_int(db, "SELECT sum(count) FROM samples_5m"), 100);
    assert_int_equal(peer_int(db, "SELECT sum(count) FROM samples_1h"), 100);
    sqlite3_close(db);
    balkon_store_close(store);
}

static void test_later_sample_wins(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store(f->path);
    int64_t id = series(store, "soc_pct", "%");
    append_ok(store, id, T0 + 1000, 1.0);
    append_ok(store, id, T0 + 2000, 10.0);
    append_ok(store, id, T0 + 1000, 2.0); /* same batch */
    flush_ok(store);
    append_ok(store, id, T0 + 1000, 3.0); /* next batch */
    flush_ok(store);

    sqlite3 *db = peer_open(f->path);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM samples_raw"), 2);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT value FROM samples_raw WHERE ts_ms = %lld",
             (long long)(T0 + 1000));
    assert_close(peer_double(db, sql), 3.0);
    assert_int_equal(peer_int(db, "SELECT count FROM samples_5m"), 2);
    assert_close(peer_double(db, "SELECT avg FROM samples_5m"), 6.5);
    assert_close(peer_double(db, "SELECT min FROM samples_1h"), 3.0);
    sqlite3_close(db);

    const struct sample want[] = {{T0 + 1000, 3.0}, {T0 + 2000, 10.0}};
    check_query(store, "soc_pct", want, 2, T0, T0 + MS_HOUR, MS_S);
    check_query(store, "soc_pct", want, 2, T0, T0 + MS_HOUR, MS_5M);
    balkon_store_close(store);
}

/* --- Queries and roll-ups ----------------------------------------------------------- */

static void test_downsampling_is_exact(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store(f->path);
    int64_t id = series(store, "home_w", "W");
    /* 26 hours of 5-second samples starting off the hour, so the first buckets are partial
     * and a day boundary is crossed. */
    size_t n = 26 * 720;
    struct sample *s = calloc(n, sizeof *s);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        s[i] = (struct sample){T0 - 37 * MS_MIN + 7 * MS_S + (int64_t)i * 5 * MS_S,
                               pattern((int64_t)i)};
        append_ok(store, id, s[i].ts_ms, s[i].value);
        if (i % 997 == 0)
            flush_ok(store); /* buckets get filled over several flushes */
    }
    flush_ok(store);

    int64_t from = T0 - MS_DAY, to = T0 + 2 * MS_DAY;
    static const int64_t steps[] = {5 * MS_S,    MS_MIN,  7 * MS_MIN,  MS_5M,
                                    15 * MS_MIN, MS_HOUR, 3 * MS_HOUR, MS_DAY};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        check_query(store, "home_w", s, n, from, to, steps[i]);
    /* A range starting and ending inside the data. */
    check_query(store, "home_w", s, n, T0 + 2 * MS_HOUR, T0 + 5 * MS_HOUR, MS_5M);
    check_query(store, "home_w", s, n, T0 + 2 * MS_HOUR, T0 + 5 * MS_HOUR, MS_HOUR);
    check_query(store, "home_w", s, n, T0 + 2 * MS_HOUR + 3 * MS_S, T0 + 2 * MS_HOUR + MS_MIN,
                10 * MS_S);
    free(s);
    balkon_store_close(store);
}

static void test_rollups_follow_late_and_replaced_samples(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store(f->path);
    int64_t id = series(store, "battery_w", "W");
    /* Two hours at 10 s, then late arrivals: a new sample inside the first hour and a
     * replacement with a new maximum, each in an already rolled-up bucket. */
    size_t n = 720;
    struct sample *s = calloc(n + 1, sizeof *s);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        s[i] = (struct sample){T0 + (int64_t)i * 10 * MS_S, pattern((int64_t)i)};
        append_ok(store, id, s[i].ts_ms, s[i].value);
    }
    flush_ok(store);

    size_t replaced = 100;
    s[replaced].value = 5000;
    int64_t late_ts = T0 + 17 * MS_MIN + 3 * MS_S;
    for (int round = 0; round < 2; round++) { /* the second round checks idempotence */
        append_ok(store, id, s[replaced].ts_ms, s[replaced].value);
        append_ok(store, id, late_ts, -4000);
        flush_ok(store);
    }
    /* Insert the late sample in time order into the expectation. */
    size_t pos = 0;
    while (s[pos].ts_ms < late_ts)
        pos++;
    memmove(&s[pos + 1], &s[pos], (n - pos) * sizeof *s);
    s[pos] = (struct sample){late_ts, -4000};
    n++;

    check_query(store, "battery_w", s, n, T0, T0 + 3 * MS_HOUR, MS_5M);
    check_query(store, "battery_w", s, n, T0, T0 + 3 * MS_HOUR, MS_HOUR);
    check_query(store, "battery_w", s, n, T0, T0 + 3 * MS_HOUR, 10 * MS_S);

    sqlite3 *db = peer_open(f->path);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count FROM samples_5m WHERE bucket_ts_ms = %lld",
             (long long)(T0 + 15 * MS_MIN));
    assert_int_equal(peer_int(db, sql), 31);
    assert_int_equal(peer_int(db, "SELECT sum(count) FROM samples_1h"), 721);
    assert_close(peer_double(db, "SELECT max(max) FROM samples_1h"), 5000);
    assert_close(peer_double(db, "SELECT min(min) FROM samples_1h"), -4000);
    sqlite3_close(db);
    free(s);
    balkon_store_close(store);
}

/* At minute steps over T0..T0+5d pruned at T0+5d: hourly buckets where only 1-hour
 * roll-ups are left, 5-minute ones where those are left, minutes in the last day; every
 * sample counted once. */
static void check_minute_fallback(struct balkon_store *store, const struct sample *s, size_t n,
                                  int64_t now)
{
    struct balkon_bucket *b = NULL;
    size_t len = 0;
    assert_int_equal(balkon_store_query(store, "grid_w", T0, now, MS_MIN, &b, &len), 0);
    assert_int_equal(len, 3 * 24 + 24 * 12 + 1440);
    uint64_t total_count = 0;
    double total_sum = 0, want_sum = 0;
    for (size_t i = 0; i < n; i++)
        want_sum += s[i].value;
    for (size_t i = 0; i < len; i++) {
        int64_t want_ts = i < 72         ? T0 + (int64_t)i * MS_HOUR
                          : i < 72 + 288 ? T0 + 3 * MS_DAY + (int64_t)(i - 72) * MS_5M
                                         : T0 + 4 * MS_DAY + (int64_t)(i - 360) * MS_MIN;
        uint32_t want_count = i < 72 ? 60 : i < 360 ? 5 : 1;
        assert_int_equal(b[i].ts_ms, want_ts);
        assert_int_equal(b[i].count, want_count);
        total_count += b[i].count;
        total_sum += b[i].avg * b[i].count;
    }
    assert_int_equal(total_count, n);
    assert_close(total_sum, want_sum);
    free(b);
}

static void test_query_across_pruned_raw_has_no_hole(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store_with(f->path, 1, 2, 10, 0);
    int64_t id = series(store, "grid_w", "W");
    /* Five days of minute samples; the store then prunes raw older than a day and
     * 5-minute buckets older than two days. */
    size_t n = 5 * 1440;
    struct sample *s = calloc(n, sizeof *s);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        s[i] = (struct sample){T0 + (int64_t)i * MS_MIN, pattern((int64_t)i)};
        append_ok(store, id, s[i].ts_ms, s[i].value);
    }
    flush_ok(store);
    int64_t now = T0 + 5 * MS_DAY, deleted = 0;
    assert_int_equal(balkon_store_prune(store, now, 1000000, &deleted), 0);
    assert_int_equal(deleted, 4 * 1440 + 3 * 288);

    check_minute_fallback(store, s, n, now);
    /* The horizons that split the tiers survive a restart. */
    balkon_store_close(store);
    store = open_store_with(f->path, 1, 2, 10, 0);
    check_minute_fallback(store, s, n, now);

    /* Coarser steps stay exact over the whole range. */
    check_query(store, "grid_w", s, n, T0, now, MS_HOUR);
    check_query(store, "grid_w", s, n, T0, now, MS_DAY);
    check_query(store, "grid_w", s, n, T0 + 3 * MS_DAY, now, MS_5M);
    free(s);
    balkon_store_close(store);
}

static void test_sample_behind_pruning_horizon_is_dropped(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store_with(f->path, 1, 2, 10, 0);
    int64_t id = series(store, "pv_w", "W");
    for (int64_t i = 0; i < 3 * 1440; i++)
        append_ok(store, id, T0 + i * MS_MIN, 100);
    flush_ok(store);
    assert_int_equal(balkon_store_prune(store, T0 + 3 * MS_DAY, 1000000, NULL), 0);

    /* Its 5-minute bucket lost its raw samples: rebuilding it from the one late sample
     * would replace 5 samples' worth of roll-up with 1. */
    append_ok(store, id, T0 + MS_DAY + 30 * MS_S, 999);
    flush_ok(store);
    assert_int_equal(balkon_store_dropped(store), 1);
    sqlite3 *db = peer_open(f->path);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count FROM samples_5m WHERE bucket_ts_ms = %lld",
             (long long)(T0 + MS_DAY));
    assert_int_equal(peer_int(db, sql), 5);
    assert_close(peer_double(db, "SELECT max(max) FROM samples_1h"), 100);
    sqlite3_close(db);
    balkon_store_close(store);

    /* The horizon survives a restart. */
    store = open_store_with(f->path, 1, 2, 10, 0);
    append_ok(store, id, T0 + MS_DAY + 40 * MS_S, 999);
    flush_ok(store);
    assert_int_equal(balkon_store_dropped(store), 1);
    balkon_store_close(store);
}

static void test_query_bounds_and_errors(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store(f->path);
    int64_t id = series(store, "pv_w", "W");
    append_ok(store, id, T0, 1);
    flush_ok(store);
    struct balkon_bucket *b = (struct balkon_bucket *)1;
    size_t n = 99;

    assert_int_equal(balkon_store_query(store, "nope", T0, T0 + MS_HOUR, MS_MIN, &b, &n),
                     BALKON_E_NOTFOUND);
    assert_null(b);
    assert_int_equal(n, 0);
    assert_int_equal(balkon_store_query(store, "pv_w", T0, T0 + 100000 * MS_S + 1, MS_S, &b, &n),
                     BALKON_E_RANGE);
    assert_int_equal(balkon_store_query(store, "pv_w", T0, T0 + 100000 * MS_S, MS_S, &b, &n), 0);
    assert_int_equal(n, 1);
    free(b);
    assert_int_equal(balkon_store_query(store, "pv_w", T0, T0 + MS_HOUR, 0, &b, &n),
                     BALKON_E_INVAL);
    assert_int_equal(balkon_store_query(store, "pv_w", INT64_MIN, INT64_MAX, MS_DAY, &b, &n),
                     BALKON_E_RANGE);
    /* Nothing in range: success, no allocation. */
    assert_int_equal(
        balkon_store_query(store, "pv_w", T0 + MS_DAY, T0 + 2 * MS_DAY, MS_HOUR, &b, &n), 0);
    assert_null(b);
    assert_int_equal(n, 0);

    /* Samples the database would refuse never enter the buffer. */
    assert_int_equal(balkon_store_append(store, id + 1, T0, 1), BALKON_E_INVAL);
    assert_int_equal(balkon_store_append(store, id, T0, NAN), BALKON_E_INVAL);
    assert_int_equal(balkon_store_append(store, id, T0, INFINITY), BALKON_E_INVAL);
    assert_int_equal(balkon_store_append(store, id, -1, 1), BALKON_E_RANGE);
    assert_int_equal(balkon_store_pending(store), 0);
    int64_t other = 0;
    assert_int_equal(balkon_store_series_id(store, "pv_w", "kW", &other), BALKON_E_INVAL);
    assert_non_null(strstr(balkon_store_errmsg(store), "pv_w"));
    assert_int_equal(balkon_store_series_id(store, "", "W", &other), BALKON_E_INVAL);
    balkon_store_close(store);
}

/* --- Retention ---------------------------------------------------------------------- */

static void test_retention_deletes_exactly_the_old_rows(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store_with(f->path, 1, 2, 3, 0);
    int64_t id = series(store, "pv_w", "W");
    for (int64_t i = 0; i < 4 * 1440; i++)
        append_ok(store, id, T0 + i * MS_MIN, (double)i);
    flush_ok(store);
    sqlite3 *db = peer_open(f->path);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM samples_raw"), 4 * 1440);

    int64_t now = T0 + 4 * MS_DAY, deleted = -1;
    assert_int_equal(balkon_store_prune(store, now, 100, &deleted), 0);
    assert_int_equal(deleted, 100);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM samples_raw"), 4 * 1440 - 100);
    assert_int_equal(peer_int(db, "SELECT min(ts_ms) FROM samples_raw"), T0 + 100 * MS_MIN);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM samples_5m"), 4 * 288);

    int64_t total = deleted;
    do {
        assert_int_equal(balkon_store_prune(store, now, 1000, &deleted), 0);
        assert_true(deleted <= 1000);
        total += deleted;
    } while (deleted > 0);
    assert_int_equal(total, 3 * 1440 + 2 * 288 + 24);

    assert_int_equal(peer_int(db, "SELECT count(*) FROM samples_raw"), 1440);
    assert_int_equal(peer_int(db, "SELECT min(ts_ms) FROM samples_raw"), T0 + 3 * MS_DAY);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM samples_5m"), 2 * 288);
    assert_int_equal(peer_int(db, "SELECT min(bucket_ts_ms) FROM samples_5m"), T0 + 2 * MS_DAY);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM samples_1h"), 3 * 24);
    assert_int_equal(peer_int(db, "SELECT min(bucket_ts_ms) FROM samples_1h"), T0 + MS_DAY);
    sqlite3_close(db);

    assert_int_equal(balkon_store_prune(store, now, 0, NULL), BALKON_E_INVAL);
    balkon_store_close(store);
}

static void test_retention_defaults(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store(f->path); /* 7 / 180 / 3650 days */
    int64_t id = series(store, "pv_w", "W");
    append_ok(store, id, T0, 1);
    append_ok(store, id, T0 + MS_DAY, 2);
    flush_ok(store);
    int64_t deleted = 0;
    assert_int_equal(balkon_store_prune(store, T0 + 7 * MS_DAY + MS_HOUR, 1000, &deleted), 0);
    assert_int_equal(deleted, 1);
    assert_int_equal(balkon_store_prune(store, T0 + 180 * MS_DAY + MS_HOUR, 1000, &deleted), 0);
    assert_int_equal(deleted, 1 + 1); /* the other raw sample and the first 5-minute bucket */
    assert_int_equal(balkon_store_prune(store, T0 + 3650 * MS_DAY + MS_HOUR, 1000, &deleted), 0);
    assert_int_equal(deleted, 1 + 1);
    balkon_store_close(store);
}

/* --- Listing ------------------------------------------------------------------------ */

static void test_list_series(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store_with(f->path, 1, 3, 10, 0);
    int64_t b = series(store, "b.soc_pct", "%");
    int64_t a = series(store, "a.grid_w", "W");
    series(store, "c.energy_wh", "Wh");
    append_ok(store, a, T0 + 2 * MS_DAY + 7 * MS_S, 1);
    append_ok(store, a, T0 + 2 * MS_DAY + 9 * MS_S, 1);
    append_ok(store, b, T0 + 13 * MS_S, 1); /* pruned below, left in the roll-ups */
    append_ok(store, b, T0 + 2 * MS_DAY, 1);
    flush_ok(store);
    assert_int_equal(balkon_store_prune(store, T0 + 2 * MS_DAY + MS_HOUR, 1000, NULL), 0);

    struct balkon_series_info *list = NULL;
    size_t n = 0;
    assert_int_equal(balkon_store_list_series(store, &list, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(list[0].name, "a.grid_w");
    assert_string_equal(list[0].unit, "W");
    assert_int_equal(list[0].first_ts_ms, T0 + 2 * MS_DAY + 7 * MS_S);
    assert_int_equal(list[0].last_ts_ms, T0 + 2 * MS_DAY + 9 * MS_S);
    assert_string_equal(list[1].name, "b.soc_pct");
    assert_string_equal(list[1].unit, "%");
    assert_int_equal(list[1].first_ts_ms, T0); /* the 5-minute bucket's start */
    assert_int_equal(list[1].last_ts_ms, T0 + 2 * MS_DAY);
    assert_string_equal(list[2].name, "c.energy_wh");
    assert_int_equal(list[2].first_ts_ms, INT64_MIN);
    assert_int_equal(list[2].last_ts_ms, INT64_MIN);
    free(list);
    balkon_store_close(store);
}

static void test_last_ts(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store(f->path);
    assert_int_equal(balkon_store_last_ts(store), INT64_MIN);
    int64_t a = series(store, "a", "W"), b = series(store, "b", "W");
    append_ok(store, a, T0 + 5000, 1);
    append_ok(store, b, T0 + 9000, 1);
    append_ok(store, a, T0 + 7000, 1);
    assert_int_equal(balkon_store_last_ts(store), INT64_MIN); /* not yet stored */
    flush_ok(store);
    assert_int_equal(balkon_store_last_ts(store), T0 + 9000);
    append_ok(store, a, T0 + 1000, 1); /* a late sample does not move it back */
    flush_ok(store);
    assert_int_equal(balkon_store_last_ts(store), T0 + 9000);
    balkon_store_close(store);
}

/* --- Devices ------------------------------------------------------------------------ */

static void test_device_upsert_keeps_first_seen(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store(f->path);
    struct balkon_device_record d = {.id = "meter1",
                                     .type = "shelly_pro3em",
                                     .roles = "meter",
                                     .model = "SPEM-003CEBEU",
                                     .firmware = "1.0.0",
                                     .first_seen_ms = T0,
                                     .last_seen_ms = T0};
    assert_int_equal(balkon_store_device_upsert(store, &d), 0);
    struct balkon_device_record other = {.id = "battery",
                                         .type = "marstek_venus",
                                         .roles = "battery",
                                         .first_seen_ms = T0 + 1,
                                         .last_seen_ms = T0 + 1};
    assert_int_equal(balkon_store_device_upsert(store, &other), 0);
    snprintf(d.firmware, sizeof d.firmware, "1.2.0");
    d.first_seen_ms = T0 + MS_DAY;
    d.last_seen_ms = T0 + MS_DAY;
    assert_int_equal(balkon_store_device_upsert(store, &d), 0);

    struct balkon_device_record *list = NULL;
    size_t n = 0;
    assert_int_equal(balkon_store_device_list(store, &list, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].id, "battery");
    assert_string_equal(list[1].id, "meter1");
    assert_string_equal(list[1].type, "shelly_pro3em");
    assert_string_equal(list[1].roles, "meter");
    assert_string_equal(list[1].model, "SPEM-003CEBEU");
    assert_string_equal(list[1].firmware, "1.2.0");
    assert_int_equal(list[1].first_seen_ms, T0);
    assert_int_equal(list[1].last_seen_ms, T0 + MS_DAY);
    free(list);

    struct balkon_device_record bad = {.type = "x"};
    assert_int_equal(balkon_store_device_upsert(store, &bad), BALKON_E_INVAL);
    memset(bad.id, 'x', sizeof bad.id); /* not terminated */
    assert_int_equal(balkon_store_device_upsert(store, &bad), BALKON_E_INVAL);
    balkon_store_close(store);
}

/* --- Failure and shutdown ----------------------------------------------------------- */

static void test_failed_flush_keeps_samples(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store(f->path);
    balkon_store_set_busy_timeout(store, 10);
    int64_t id = series(store, "pv_w", "W");
    for (int i = 0; i < 10; i++)
        append_ok(store, id, T0 + i * MS_S, i);

    sqlite3 *db = peer_open(f->path);
    peer_exec(db, "BEGIN IMMEDIATE"); /* holds the write lock */
    assert_int_equal(balkon_store_flush(store), BALKON_E_BUSY);
    assert_int_equal(balkon_store_pending(store), 10);
    assert_int_equal(balkon_store_dropped(store), 0);
    peer_exec(db, "COMMIT");

    flush_ok(store);
    assert_int_equal(balkon_store_pending(store), 0);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM samples_raw"), 10);
    assert_int_equal(peer_int(db, "SELECT sum(count) FROM samples_5m"), 10);
    sqlite3_close(db);
    balkon_store_close(store);
}

static void test_buffer_is_bounded_while_flushes_fail(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store_with(f->path, 0, 0, 0, 8);
    balkon_store_set_busy_timeout(store, 10);
    int64_t id = series(store, "pv_w", "W");

    sqlite3 *db = peer_open(f->path);
    peer_exec(db, "BEGIN IMMEDIATE");
    for (int i = 0; i < 20; i++)
        append_ok(store, id, T0 + i * MS_S, i); /* forced flushes fail */
    assert_int_equal(balkon_store_pending(store), 8);
    assert_int_equal(balkon_store_dropped(store), 12);
    peer_exec(db, "COMMIT");

    flush_ok(store);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM samples_raw"), 8);
    assert_int_equal(peer_int(db, "SELECT min(ts_ms) FROM samples_raw"), T0 + 12 * MS_S);
    /* With the lock gone, a full buffer flushes by itself again. */
    for (int i = 20; i < 28; i++)
        append_ok(store, id, T0 + i * MS_S, i);
    assert_int_equal(balkon_store_pending(store), 0);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM samples_raw"), 16);
    sqlite3_close(db);
    balkon_store_close(store);
}

static void test_close_writes_pending_samples(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store(f->path);
    int64_t id = series(store, "pv_w", "W");
    for (int i = 0; i < 5; i++)
        append_ok(store, id, T0 + i * MS_S, i);
    balkon_store_close(store);
    balkon_store_close(NULL);

    /* The WAL was checkpointed into the main file and truncated. */
    char wal[200];
    struct stat st;
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    assert_true(stat(wal, &st) != 0 || st.st_size == 0);
    sqlite3 *db = peer_open(f->path);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM samples_raw"), 5);
    assert_int_equal(peer_int(db, "SELECT sum(count) FROM samples_1h"), 5);
    sqlite3_close(db);
}

/* --- Incremental roll-ups ------------------------------------------------------------ */

static uint64_t next_random(uint64_t *rng)
{
    *rng = *rng * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return *rng >> 33;
}

static int compare_samples(const void *a, const void *b)
{
    const struct sample *x = a, *y = b;
    return x->ts_ms < y->ts_ms ? -1 : x->ts_ms > y->ts_ms;
}

/* Every roll-up row equals the aggregate of the data below it, as a rebuild would make it:
 * each 5-minute row that of its raw samples, each hour that of its 5-minute rows. Count,
 * min and max exactly; avg within rounding. */
static void assert_rollups_rebuildable(const char *path)
{
    sqlite3 *db = peer_open(path);
    static const char *const checks[][2] = {
        {"5-minute",
         "SELECT count(*) FROM samples_5m f JOIN (SELECT series_id, ts_ms / 300000 * 300000 AS b,"
         " avg(value) AS a, min(value) AS lo, max(value) AS hi, count(*) AS n FROM samples_raw"
         " GROUP BY 1, 2) r ON r.series_id = f.series_id AND r.b = f.bucket_ts_ms"
         " WHERE f.count != r.n OR f.min != r.lo OR f.max != r.hi"
         " OR abs(f.avg - r.a) > 1e-9 * max(1, abs(r.a))"},
        {"1-hour",
         "SELECT count(*) FROM samples_1h h JOIN (SELECT series_id, bucket_ts_ms / 3600000 * "
         "3600000"
         " AS b, sum(avg * count) / sum(count) AS a, min(min) AS lo, max(max) AS hi, sum(count) AS "
         "n"
         " FROM samples_5m GROUP BY 1, 2) f ON f.series_id = h.series_id AND f.b = h.bucket_ts_ms"
         " WHERE h.count != f.n OR h.min != f.lo OR h.max != f.hi"
         " OR abs(h.avg - f.a) > 1e-9 * max(1, abs(f.a))"},
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        int64_t wrong = peer_int(db, checks[i][1]);
        if (wrong != 0)
            fail_msg("%lld %s roll-up rows differ from a rebuild", (long long)wrong, checks[i][0]);
    }
    /* And no bucket is missing or left over. */
    assert_int_equal(peer_int(db, "SELECT count(*) FROM samples_5m"),
                     peer_int(db, "SELECT count(*) FROM (SELECT DISTINCT series_id, ts_ms / 300000"
                                  " FROM samples_raw)"));
    assert_int_equal(peer_int(db, "SELECT count(*) FROM samples_1h"),
                     peer_int(db, "SELECT count(*) FROM (SELECT DISTINCT series_id, ts_ms / 3600000"
                                  " FROM samples_raw)"));
    sqlite3_close(db);
}

/* Random flushes of samples that arrive in order, late, twice in one batch, and replacing
 * stored ones: the roll-ups, added to flush by flush, end up exactly as rebuilt from the
 * final raw samples, and queries agree with the brute-force expectation. */
static void test_incremental_rollups_equal_a_rebuild(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store(f->path);
    enum { SERIES = 3, SLOTS = 3 * 720, APPENDS = 12000 };
    int64_t ids[SERIES];
    static const char *const names[SERIES] = {"grid_w", "pv_w", "soc_pct"};
    for (int i = 0; i < SERIES; i++)
        ids[i] = series(store, names[i], "W");
    /* The final value of every (series, 5-second slot) of three hours; NAN = none. */
    double *last = malloc(sizeof(double) * SERIES * SLOTS);
    assert_non_null(last);
    for (size_t i = 0; i < (size_t)SERIES * SLOTS; i++)
        last[i] = NAN;
    uint64_t rng = 12345;
    int64_t cursor = 0; /* in-order arrivals move forward through the slots */
    for (int n = 0; n < APPENDS; n++) {
        int s = (int)(next_random(&rng) % SERIES);
        int64_t slot;
        uint64_t kind = next_random(&rng) % 10;
        if (kind < 7 && cursor < SLOTS) /* in order */
            slot = cursor++;
        else /* late: anywhere before, often onto a stored sample */
            slot = (int64_t)(next_random(&rng) % (uint64_t)(cursor ? cursor : 1));
        double value = (double)(int64_t)(next_random(&rng) % 20001) / 10.0 - 1000.0;
        append_ok(store, ids[s], T0 + slot * 5 * MS_S, value);
        last[s * SLOTS + slot] = value;
        if (next_random(&rng) % 40 == 0)
            flush_ok(store);
    }
    flush_ok(store);
    assert_int_equal(balkon_store_dropped(store), 0);
    assert_rollups_rebuildable(f->path);

    struct sample *want = calloc(SLOTS, sizeof *want);
    assert_non_null(want);
    for (int s = 0; s < SERIES; s++) {
        size_t n = 0;
        for (int64_t slot = 0; slot < SLOTS; slot++)
            if (!isnan(last[s * SLOTS + slot]))
                want[n++] = (struct sample){T0 + slot * 5 * MS_S, last[s * SLOTS + slot]};
        qsort(want, n, sizeof *want, compare_samples);
        check_query(store, names[s], want, n, T0, T0 + 4 * MS_HOUR, 5 * MS_S);
        check_query(store, names[s], want, n, T0, T0 + 4 * MS_HOUR, MS_5M);
        check_query(store, names[s], want, n, T0, T0 + 4 * MS_HOUR, MS_HOUR);
    }
    free(want);
    free(last);
    balkon_store_close(store);
}

/* --- Batches through a writer -------------------------------------------------------- */

struct write_job {
    struct balkon_store_writer *writer;
    struct balkon_store_batch *batch;
    int rc;
};

static void *write_job_run(void *arg)
{
    struct write_job *job = arg;
    job->rc = balkon_store_batch_write(job->writer, job->batch);
    return NULL;
}

/* Writes a batch on a thread of its own, as the daemon's thread pool does. */
static int write_on_thread(struct balkon_store_writer *writer, struct balkon_store_batch *batch)
{
    struct write_job job = {writer, batch, 0};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, write_job_run, &job), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    return job.rc;
}

static void test_batches_are_written_by_the_writer(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store_with(f->path, 0, 0, 0, 100);
    struct balkon_store_writer *writer = NULL;
    assert_int_equal(balkon_store_writer_open(store, 2000, &writer), 0);
    int64_t id = series(store, "grid_w", "W");
    for (int i = 0; i < 150; i++)
        append_ok(store, id, T0 + i * MS_S, i);
    /* With a writer attached a full buffer does not flush on this thread: the oldest go. */
    assert_int_equal(balkon_store_pending(store), 100);
    assert_int_equal(balkon_store_dropped(store), 50);

    struct balkon_store_batch *batch = balkon_store_batch_take(store, 60);
    assert_non_null(batch);
    assert_null(balkon_store_batch_take(store, 60)); /* one at a time */
    assert_int_equal(balkon_store_flush(store), BALKON_E_BUSY);
    append_ok(store, id, T0 + 150 * MS_S, 150); /* arrives meanwhile: drops a sample out */
    assert_int_equal(balkon_store_pending(store), 100);
    assert_int_equal(balkon_store_dropped(store), 50); /* not yet: the batch may succeed */
    assert_int_equal(balkon_store_batch_finish(store, batch, write_on_thread(writer, batch)), 0);
    /* All 60 were written, the one that had left the buffer too. */
    assert_int_equal(balkon_store_pending(store), 41);
    assert_int_equal(balkon_store_dropped(store), 50);
    sqlite3 *db = peer_open(f->path);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM samples_raw"), 60);
    assert_int_equal(peer_int(db, "SELECT min(ts_ms) FROM samples_raw"), T0 + 50 * MS_S);
    assert_int_equal(peer_int(db, "SELECT sum(count) FROM samples_1h"), 60);

    batch = balkon_store_batch_take(store, 1000);
    assert_non_null(batch);
    assert_int_equal(balkon_store_batch_finish(store, batch, write_on_thread(writer, batch)), 0);
    assert_int_equal(balkon_store_pending(store), 0);
    assert_null(balkon_store_batch_take(store, 1000)); /* nothing left */
    assert_int_equal(peer_int(db, "SELECT count(*) FROM samples_raw"), 101);
    assert_int_equal(peer_int(db, "SELECT max(ts_ms) FROM samples_raw"), T0 + 150 * MS_S);
    sqlite3_close(db);
    assert_rollups_rebuildable(f->path);
    balkon_store_writer_close(writer);
    balkon_store_writer_close(NULL);
    balkon_store_close(store);
}

static void test_failed_batch_stays_buffered(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store_with(f->path, 0, 0, 0, 20);
    struct balkon_store_writer *writer = NULL;
    assert_int_equal(balkon_store_writer_open(store, 10, &writer), 0);
    int64_t id = series(store, "pv_w", "W");
    for (int i = 0; i < 20; i++)
        append_ok(store, id, T0 + i * MS_S, i);

    sqlite3 *db = peer_open(f->path);
    peer_exec(db, "BEGIN IMMEDIATE"); /* holds the write lock */
    struct balkon_store_batch *batch = balkon_store_batch_take(store, 8);
    assert_non_null(batch);
    for (int i = 20; i < 23; i++) /* three of the batch's samples leave the full buffer */
        append_ok(store, id, T0 + i * MS_S, i);
    int rc = write_on_thread(writer, batch);
    assert_int_equal(rc, BALKON_E_BUSY);
    assert_non_null(strstr(balkon_store_batch_errmsg(batch), "database is locked"));
    assert_int_equal(balkon_store_batch_finish(store, batch, rc), BALKON_E_BUSY);
    assert_non_null(strstr(balkon_store_errmsg(store), "database is locked"));
    /* Nothing written; the batch's samples are still buffered but for the three dropped. */
    assert_int_equal(balkon_store_pending(store), 20);
    assert_int_equal(balkon_store_dropped(store), 3);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM samples_raw"), 0);
    peer_exec(db, "COMMIT");

    batch = balkon_store_batch_take(store, 100);
    assert_non_null(batch);
    assert_int_equal(balkon_store_batch_finish(store, batch, write_on_thread(writer, batch)), 0);
    assert_int_equal(balkon_store_pending(store), 0);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM samples_raw"), 20);
    assert_int_equal(peer_int(db, "SELECT min(ts_ms) FROM samples_raw"), T0 + 3 * MS_S);
    sqlite3_close(db);
    balkon_store_writer_close(writer);
    balkon_store_close(store);
}

/* A batch taken before a prune moved the raw horizon is written after it: the writer reads
 * the horizon inside its own transaction, so the sample behind it is dropped, not used to
 * rebuild a bucket whose raw samples are gone. */
static void test_writer_honours_a_prune_made_meanwhile(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store_with(f->path, 1, 2, 10, 0);
    struct balkon_store_writer *writer = NULL;
    assert_int_equal(balkon_store_writer_open(store, 2000, &writer), 0);
    int64_t id = series(store, "pv_w", "W");
    for (int64_t i = 0; i < 3 * 1440; i++)
        append_ok(store, id, T0 + i * MS_MIN, 100);
    flush_ok(store);

    append_ok(store, id, T0 + MS_DAY + 30 * MS_S, 999); /* replaces nothing, late */
    append_ok(store, id, T0 + 3 * MS_DAY, 5);
    struct balkon_store_batch *batch = balkon_store_batch_take(store, 100);
    assert_non_null(batch);
    assert_int_equal(balkon_store_prune(store, T0 + 3 * MS_DAY, 1000000, NULL), 0);
    assert_int_equal(balkon_store_batch_finish(store, batch, write_on_thread(writer, batch)), 0);
    assert_int_equal(balkon_store_dropped(store), 1);
    sqlite3 *db = peer_open(f->path);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count FROM samples_5m WHERE bucket_ts_ms = %lld",
             (long long)(T0 + MS_DAY));
    assert_int_equal(peer_int(db, sql), 5);
    assert_close(peer_double(db, "SELECT max(max) FROM samples_1h"), 100);
    assert_int_equal(peer_int(db, "SELECT max(ts_ms) FROM samples_raw"), T0 + 3 * MS_DAY);
    sqlite3_close(db);
    balkon_store_writer_close(writer);
    balkon_store_close(store);
}

static void test_writer_needs_a_file(void **state)
{
    struct balkon_store_options options = {.path = ":memory:"};
    struct balkon_store *store = NULL;
    char msg[128];
    assert_int_equal(balkon_store_open(&options, &store, msg, sizeof msg), 0);
    struct balkon_store_writer *writer = (struct balkon_store_writer *)1;
    assert_int_equal(balkon_store_writer_open(store, 100, &writer), BALKON_E_INVAL);
    assert_null(writer);
    assert_non_null(strstr(balkon_store_errmsg(store), "in-memory"));
    balkon_store_close(store);
}

static void test_size_bytes(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store(f->path);
    int64_t empty = balkon_store_size_bytes(store);
    assert_true(empty > 0);
    int64_t id = series(store, "pv_w", "W");
    for (int i = 0; i < 20000; i++)
        append_ok(store, id, T0 + i * MS_S, i);
    flush_ok(store);
    assert_true(balkon_store_size_bytes(store) > empty + 20000 * 8);
    balkon_store_close(store);

    struct balkon_store_options options = {.path = ":memory:"};
    char msg[128];
    assert_int_equal(balkon_store_open(&options, &store, msg, sizeof msg), 0);
    assert_true(balkon_store_size_bytes(store) > 0);
    balkon_store_close(store);
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, store_fixture_teardown)

int main(void)
{
    balkon_log_set_level(BALKON_LOG_WARN); /* migrations log a notice per fresh file */
    const struct CMUnitTest tests[] = {
        TEST(test_open_fresh_migrates),
        TEST(test_reopen_is_idempotent_and_keeps_data),
        TEST(test_newer_schema_is_refused),
        TEST(test_version_zero_without_tables_is_migrated),
        TEST(test_open_failures_name_the_file),
        TEST(test_flush_is_one_transaction),
        TEST(test_later_sample_wins),
        TEST(test_downsampling_is_exact),
        TEST(test_rollups_follow_late_and_replaced_samples),
        TEST(test_query_across_pruned_raw_has_no_hole),
        TEST(test_sample_behind_pruning_horizon_is_dropped),
        TEST(test_query_bounds_and_errors),
        TEST(test_retention_deletes_exactly_the_old_rows),
        TEST(test_retention_defaults),
        TEST(test_list_series),
        TEST(test_last_ts),
        TEST(test_device_upsert_keeps_first_seen),
        TEST(test_failed_flush_keeps_samples),
        TEST(test_buffer_is_bounded_while_flushes_fail),
        TEST(test_close_writes_pending_samples),
        TEST(test_incremental_rollups_equal_a_rebuild),
        TEST(test_batches_are_written_by_the_writer),
        TEST(test_failed_batch_stays_buffered),
        TEST(test_writer_honours_a_prune_made_meanwhile),
        TEST(test_writer_needs_a_file),
        TEST(test_size_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
