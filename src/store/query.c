/* Reading time series: downsampling queries over the three tiers (raw, 5-minute, 1-hour),
 * the list of series with their time span, and the newest stored timestamp.
 *
 * A query reads the coarsest tier whose bucket length divides step_ms, and where that
 * tier was already pruned it reads the next coarser one instead. The tiers are split at
 * the pruning horizons of retention.c, which are aligned to the coarser tier's bucket, so
 * every sample is counted exactly once and pruning leaves no hole. Rows arrive in time
 * order, tier after tier, and are merged into output buckets on the fly. */
#include "store_internal.h"

#include "balkon/error.h"
#include "balkon/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUERY_MAX_BUCKETS INT64_C(100000)
/* Bounds for from/to keep the bucket arithmetic far from int64 overflow. */
#define QUERY_TS_LIMIT_MS (INT64_C(1) << 60)

struct accumulator {
    int64_t ts_ms;
    double sum; /* of value x count, so the average is weighted by sample count */
    double min;
    double max;
    uint64_t count;
};

struct query_ctx {
    int64_t step_ms;
    struct accumulator *acc;
    size_t len;
    size_t cap;
    size_t max;
};

static int add_row(struct query_ctx *q, int64_t ts_ms, double avg, double min, double max,
                   int64_t count)
{
    int64_t bucket = balkon_floor_ms(ts_ms, q->step_ms);
    if (q->len && q->acc[q->len - 1].ts_ms == bucket) {
        struct accumulator *a = &q->acc[q->len - 1];
        a->sum += avg * (double)count;
        a->count += (uint64_t)count;
        if (min < a->min)
            a->min = min;
        if (max > a->max)
            a->max = max;
        return 0;
    }
    if (q->len == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        if (cap > q->max)
            cap = q->max;
        if (cap <= q->len)
            return BALKON_E_RANGE; /* cannot happen: rows lie in [from, to) */
        struct accumulator *acc = realloc(q->acc, cap * sizeof *acc);
        if (!acc)
            return BALKON_E_NOMEM;
        q->acc = acc;
        q->cap = cap;
    }
    q->acc[q->len++] = (struct accumulator){bucket, avg * (double)count, min, max, (uint64_t)count};
    return 0;
}

/* Every tier statement yields (ts, avg, min, max, count) so one reader serves all. */
static const struct {
    enum store_stmt_id id;
    const char *sql;
} tier_sql[] = {
    {STMT_QUERY_RAW, "SELECT ts_ms, value, value, value, 1 FROM samples_raw"
                     " WHERE series_id = ?1 AND ts_ms >= ?2 AND ts_ms < ?3 ORDER BY ts_ms"},
    {STMT_QUERY_5M, "SELECT bucket_ts_ms, avg, min, max, count FROM samples_5m"
                    " WHERE series_id = ?1 AND bucket_ts_ms >= ?2 AND bucket_ts_ms < ?3"
                    " ORDER BY bucket_ts_ms"},
    {STMT_QUERY_1H, "SELECT bucket_ts_ms, avg, min, max, count FROM samples_1h"
                    " WHERE series_id = ?1 AND bucket_ts_ms >= ?2 AND bucket_ts_ms < ?3"
                    " ORDER BY bucket_ts_ms"},
};

enum tier { TIER_RAW, TIER_5M, TIER_1H };

static int read_tier(struct balkon_store *store, struct query_ctx *q, enum tier tier,
                     int64_t series_id, int64_t from_ms, int64_t to_ms)
{
    if (from_ms >= to_ms)
        return 0;
    sqlite3_stmt *st;
    int err = store_stmt(store, tier_sql[tier].id, tier_sql[tier].sql, &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, series_id);
    sqlite3_bind_int64(st, 2, from_ms);
    sqlite3_bind_int64(st, 3, to_ms);
    int rc = SQLITE_DONE;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW)
        err = add_row(q, sqlite3_column_int64(st, 0), sqlite3_column_double(st, 1),
                      sqlite3_column_double(st, 2), sqlite3_column_double(st, 3),
                      sqlite3_column_int64(st, 4));
    if (err)
        store_set_error(store, err, "query: too many buckets or out of memory");
    else if (rc != SQLITE_DONE)
        err = store_sqlite_err(store, rc, "query");
    sqlite3_reset(st);
    return err;
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}
static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

int balkon_store_query(struct balkon_store *store, const char *series, int64_t from_ms,
                       int64_t to_ms, int64_t step_ms, struct balkon_bucket **out, size_t *count)
{
    struct query_ctx q = {.step_ms = step_ms};
    *out = NULL;
    *count = 0;
    if (!series || step_ms <= 0)
        return store_set_error(store, BALKON_E_INVAL, "query: needs a series and a step > 0");
    if (from_ms < -QUERY_TS_LIMIT_MS || to_ms > QUERY_TS_LIMIT_MS || step_ms > QUERY_TS_LIMIT_MS)
        return store_set_error(store, BALKON_E_RANGE, "query %s: time range out of bounds", series);
    int64_t series_id = 0;
    int found = store_series_lookup(store, series, &series_id);
    if (found < 0)
        return found;
    if (!found)
        return store_set_error(store, BALKON_E_NOTFOUND, "query: no series named %s", series);
    if (from_ms >= to_ms)
        return 0;
    int64_t buckets =
        (balkon_floor_ms(to_ms - 1, step_ms) - balkon_floor_ms(from_ms, step_ms)) / step_ms + 1;
    if (buckets > QUERY_MAX_BUCKETS)
        return store_set_error(store, BALKON_E_RANGE,
                               "query %s: %lld buckets requested, at most %lld allowed", series,
                               (long long)buckets, (long long)QUERY_MAX_BUCKETS);
    q.max = (size_t)buckets;

    /* Before p5 the 5-minute tier may be pruned (so read 1-hour), before praw the raw
     * tier (so read 5-minute). The preferred tier caps how fine we go. */
    enum tier preferred = step_ms % STORE_MS_1H == 0   ? TIER_1H
                          : step_ms % STORE_MS_5M == 0 ? TIER_5M
                                                       : TIER_RAW;
    int64_t praw = preferred == TIER_RAW ? max64(store->raw_pruned_before_ms, from_ms) : to_ms;
    int64_t p5 = preferred == TIER_1H
                     ? to_ms
                     : min64(max64(store->rollup_5m_pruned_before_ms, from_ms), praw);
    praw = min64(praw, to_ms);
    p5 = min64(p5, to_ms);
    int err = read_tier(store, &q, TIER_1H, series_id, from_ms, p5);
    if (!err)
        err = read_tier(store, &q, TIER_5M, series_id, p5, praw);
    if (!err)
        err = read_tier(store, &q, TIER_RAW, series_id, praw, to_ms);
    if (err || q.len == 0)
        goto done;

    struct balkon_bucket *result = malloc(q.len * sizeof *result);
    if (!result) {
        err = store_set_error(store, BALKON_E_NOMEM, "query %s: out of memory", series);
        goto done;
    }
    for (size_t i = 0; i < q.len; i++) {
        const struct accumulator *a = &q.acc[i];
        result[i] = (struct balkon_bucket){
            .ts_ms = a->ts_ms,
            .avg = a->sum / (double)a->count,
            .min = a->min,
            .max = a->max,
            .count = a->count > UINT32_MAX ? UINT32_MAX : (uint32_t)a->count,
        };
    }
    *out = result;
    *count = q.len;
done:
    free(q.acc);
    return err;
}

/* --- Series list and span ----------------------------------------------------------- */

/* Each min()/max() sits in its own subquery: SQLite answers a lone min or max from the
 * primary key in O(log n), but scans the range when one SELECT asks for both. */
static const char span_sql[] = "SELECT (SELECT min(ts_ms) FROM samples_raw WHERE series_id = ?1),"
                               " (SELECT max(ts_ms) FROM samples_raw WHERE series_id = ?1),"
                               " (SELECT min(bucket_ts_ms) FROM samples_5m WHERE series_id = ?1),"
                               " (SELECT max(bucket_ts_ms) FROM samples_5m WHERE series_id = ?1),"
                               " (SELECT min(bucket_ts_ms) FROM samples_1h WHERE series_id = ?1),"
                               " (SELECT max(bucket_ts_ms) FROM samples_1h WHERE series_id = ?1)";

/* The first timestamp is exact while raw data covers it; where only a roll-up still
 * holds older data, it is that bucket's start. The same goes for the last. */
static int series_span(struct balkon_store *store, int64_t series_id,
                       struct balkon_series_info *info)
{
    sqlite3_stmt *st;
    int err = store_stmt(store, STMT_SERIES_SPAN, span_sql, &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, series_id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        err = store_sqlite_err(store, rc, "list series");
        goto done;
    }
    static const int64_t tier_ms[] = {1, STORE_MS_5M, STORE_MS_1H};
    info->first_ts_ms = INT64_MIN;
    info->last_ts_ms = INT64_MIN;
    for (int tier = 0; tier < 3; tier++) {
        if (sqlite3_column_type(st, tier * 2) == SQLITE_NULL)
            continue;
        int64_t first = sqlite3_column_int64(st, tier * 2);
        int64_t last = sqlite3_column_int64(st, tier * 2 + 1);
        if (info->first_ts_ms == INT64_MIN ||
            first < balkon_floor_ms(info->first_ts_ms, tier_ms[tier]))
            info->first_ts_ms = first;
        if (info->last_ts_ms == INT64_MIN)
            info->last_ts_ms = last;
    }
done:
    sqlite3_reset(st);
    return err;
}

int balkon_store_list_series(struct balkon_store *store, struct balkon_series_info **out,
                             size_t *count)
{
    struct balkon_series_info *list = NULL;
    size_t len = 0, cap = 0;
    *out = NULL;
    *count = 0;
    sqlite3_stmt *st;
    int err =
        store_stmt(store, STMT_SERIES_LIST, "SELECT id, name, unit FROM series ORDER BY name", &st);
    if (err)
        return err;
    int rc = SQLITE_DONE;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            cap = cap ? cap * 2 : 16;
            struct balkon_series_info *grown = realloc(list, cap * sizeof *grown);
            if (!grown) {
                err = store_set_error(store, BALKON_E_NOMEM, "list series: out of memory");
                break;
            }
            list = grown;
        }
        struct balkon_series_info *info = &list[len++];
        memset(info, 0, sizeof *info);
        snprintf(info->name, sizeof info->name, "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(info->unit, sizeof info->unit, "%s", (const char *)sqlite3_column_text(st, 2));
        err = series_span(store, sqlite3_column_int64(st, 0), info);
    }
    if (!err && rc != SQLITE_DONE)
        err = store_sqlite_err(store, rc, "list series");
    sqlite3_reset(st);
    if (err) {
        free(list);
        return err;
    }
    *out = list;
    *count = len;
    return 0;
}

int64_t balkon_store_last_ts(struct balkon_store *store)
{
    sqlite3_stmt *st;
    if (store_stmt(store, STMT_LAST_TS,
                   "SELECT max(coalesce("
                   " (SELECT max(ts_ms) FROM samples_raw r WHERE r.series_id = s.id),"
                   " (SELECT max(bucket_ts_ms) FROM samples_5m f WHERE f.series_id = s.id),"
                   " (SELECT max(bucket_ts_ms) FROM samples_1h h WHERE h.series_id = s.id)))"
                   " FROM series s",
                   &st) != 0)
        return INT64_MIN;
    int64_t last = INT64_MIN;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        last = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_ROW)
        store_sqlite_err(store, rc, "last timestamp");
    sqlite3_reset(st);
    return last;
}
