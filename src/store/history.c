/* Historical means written straight into the roll-ups: what `balkonsolard import` loads
 * from a meter's or Home Assistant's export. A year ago is far behind the raw horizon, so
 * the samples cannot take the flush's path (which drops what is older than the raw
 * horizon, see flush.c); each mean becomes the 5-minute buckets it spans, one sample
 * each, and the hours they make up, as retention would have left the daemon's own data.
 * Where the 5-minute roll-ups were already pruned only the hours are written.
 *
 * Imported rows never mix with stored ones: an hour that already holds a roll-up of the
 * series is refused, so importing the same file twice, or over the daemon's own data, is
 * an error naming the first such hour rather than a doubled average. */
#include "store_internal.h"

#include "balkon/error.h"
#include "balkon/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void format_utc(int64_t ts_ms, char *out, size_t size)
{
    time_t t = (time_t)(ts_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, size, "%Y-%m-%dT%H:%MZ", &tm);
}

static int check_free(struct balkon_store *store, const char *series, int64_t id, int64_t from_ms,
                      int64_t to_ms)
{
    sqlite3_stmt *st = NULL;
    int err = store_prepare(store,
                            "SELECT min(bucket_ts_ms) FROM samples_1h WHERE series_id = ?1"
                            " AND bucket_ts_ms >= ?2 AND bucket_ts_ms < ?3",
                            &st, "import: look for stored hours");
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, from_ms);
    sqlite3_bind_int64(st, 3, to_ms);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        char at[32];
        format_utc(sqlite3_column_int64(st, 0), at, sizeof at);
        err = store_set_error(store, BALKON_E_INVAL,
                              "import %s: the hour from %s already holds stored data (imported "
                              "before, or measured by the daemon); import only ranges that are "
                              "not stored",
                              series, at);
    } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        err = store_sqlite_err(store, rc, "import: look for stored hours");
    }
    sqlite3_finalize(st);
    return err;
}

static int put_bucket(sqlite3_stmt *st, int64_t id, int64_t ts_ms, double avg, double min,
                      double max, int64_t count)
{
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, ts_ms);
    sqlite3_bind_double(st, 3, avg);
    sqlite3_bind_double(st, 4, min);
    sqlite3_bind_double(st, 5, max);
    sqlite3_bind_int64(st, 6, count);
    return sqlite3_step(st);
}

int balkon_store_history_put(struct balkon_store *store, const char *series, const char *unit,
                             int64_t step_ms, const struct balkon_store_mean *means, size_t count)
{
    if (step_ms <= 0 || step_ms % STORE_MS_5M || STORE_MS_1H % step_ms)
        return store_set_error(store, BALKON_E_INVAL,
                               "import %s: a step of %lld ms is not 5, 10, 15, 20, 30 or 60 "
                               "minutes",
                               series, (long long)step_ms);
    for (size_t i = 0; i < count; i++) {
        if (means[i].ts_ms < 0 || means[i].ts_ms % step_ms || !isfinite(means[i].value) ||
            (i && means[i].ts_ms <= means[i - 1].ts_ms))
            return store_set_error(store, BALKON_E_INVAL,
                                   "import %s: mean %zu is not finite, aligned and ascending",
                                   series, i);
    }
    if (count == 0)
        return 0;
    int64_t id = 0;
    int err = balkon_store_series_id(store, series, unit, &id);
    if (err)
        return err;
    sqlite3_stmt *put5 = NULL, *put1h = NULL;
    if ((err = store_begin(store)))
        return err;
    int64_t first_hour = balkon_floor_ms(means[0].ts_ms, STORE_MS_1H);
    int64_t end_hour = balkon_floor_ms(means[count - 1].ts_ms, STORE_MS_1H) + STORE_MS_1H;
    if ((err = check_free(store, series, id, first_hour, end_hour)))
        goto fail;
    err = store_prepare(store,
                        "INSERT INTO samples_5m(series_id, bucket_ts_ms, avg, min, max, count)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        &put5, "import: 5-minute roll-ups");
    if (!err)
        err = store_prepare(store,
                            "INSERT INTO samples_1h(series_id, bucket_ts_ms, avg, min, max, count)"
                            " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                            &put1h, "import: hourly roll-ups");
    if (err)
        goto fail;
    int64_t per = step_ms / STORE_MS_5M;
    int64_t horizon_ms = store->rollup_5m_pruned_before_ms;
    size_t i = 0;
    while (i < count) {
        int64_t hour = balkon_floor_ms(means[i].ts_ms, STORE_MS_1H);
        double sum = 0, min = INFINITY, max = -INFINITY;
        int64_t n = 0;
        for (; i < count && balkon_floor_ms(means[i].ts_ms, STORE_MS_1H) == hour; i++) {
            for (int64_t k = 0; k < per && hour >= horizon_ms; k++) {
                int rc = put_bucket(put5, id, means[i].ts_ms + k * STORE_MS_5M, means[i].value,
                                    means[i].value, means[i].value, 1);
                if (rc != SQLITE_DONE) {
                    err = store_sqlite_err(store, rc, "import: 5-minute roll-ups");
                    goto fail;
                }
            }
            sum += means[i].value * (double)per;
            n += per;
            min = fmin(min, means[i].value);
            max = fmax(max, means[i].value);
        }
        int rc = put_bucket(put1h, id, hour, sum / (double)n, min, max, n);
        if (rc != SQLITE_DONE) {
            err = store_sqlite_err(store, rc, "import: hourly roll-ups");
            goto fail;
        }
    }
    sqlite3_finalize(put5);
    sqlite3_finalize(put1h);
    put5 = put1h = NULL;
    if ((err = store_commit(store)))
        goto fail;
    store->data_version++;
    return 0;
fail:
    sqlite3_finalize(put5);
    sqlite3_finalize(put1h);
    store_rollback(store);
    return err;
}
