/* Retention: deletes raw samples, 5-minute and 1-hour buckets older than their
 * retention, a bounded number of rows per call, and keeps the pruning horizons that flush
 * and query rely on.
 *
 * Horizons are aligned to the next coarser bucket (raw to 5 minutes, 5-minute to 1 hour),
 * so pruning removes whole buckets and a bucket that still gets written always has all of
 * its finer data. They are persisted in store_meta and only ever move forward, so a
 * restart or a clock step back cannot let flush rebuild a roll-up from partial data.
 * Within a series rows go oldest first, so what is left is always one contiguous range. */
#include "store_internal.h"

#include "balkon/error.h"
#include "balkon/timeutil.h"

#include <stdio.h>
#include <string.h>

#define META_5M_PRUNED "rollup_5m_pruned_before_ts_ms"
#define PRUNE_NOW_MAX_MS INT64_C(253402300799999) /* year 9999 */

struct prune_tier {
    enum store_stmt_id bound_id;
    const char *bound_sql;
    enum store_stmt_id delete_id;
    const char *delete_sql;
};

/* The bound statement finds the (max_rows+1)-th oldest row below the cutoff, so the
 * delete is one primary-key range per series rather than a scan of the whole table. */
static const struct prune_tier prune_tiers[] = {
    {STMT_PRUNE_BOUND_RAW,
     "SELECT ts_ms FROM samples_raw WHERE series_id = ?1 AND ts_ms < ?2"
     " ORDER BY ts_ms LIMIT 1 OFFSET ?3",
     STMT_PRUNE_DELETE_RAW, "DELETE FROM samples_raw WHERE series_id = ?1 AND ts_ms < ?2"},
    {STMT_PRUNE_BOUND_5M,
     "SELECT bucket_ts_ms FROM samples_5m WHERE series_id = ?1 AND bucket_ts_ms < ?2"
     " ORDER BY bucket_ts_ms LIMIT 1 OFFSET ?3",
     STMT_PRUNE_DELETE_5M, "DELETE FROM samples_5m WHERE series_id = ?1 AND bucket_ts_ms < ?2"},
    {STMT_PRUNE_BOUND_1H,
     "SELECT bucket_ts_ms FROM samples_1h WHERE series_id = ?1 AND bucket_ts_ms < ?2"
     " ORDER BY bucket_ts_ms LIMIT 1 OFFSET ?3",
     STMT_PRUNE_DELETE_1H, "DELETE FROM samples_1h WHERE series_id = ?1 AND bucket_ts_ms < ?2"},
};

int store_meta_load(struct balkon_store *store)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store->db, "SELECT key, value_int FROM store_meta", -1, &st, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        int64_t value = sqlite3_column_int64(st, 1);
        if (key && strcmp(key, STORE_META_RAW_PRUNED) == 0)
            store->raw_pruned_before_ms = value;
        else if (key && strcmp(key, META_5M_PRUNED) == 0)
            store->rollup_5m_pruned_before_ms = value;
        rc = SQLITE_OK;
    }
    int err = rc == SQLITE_DONE ? 0 : store_sqlite_err(store, rc, "load store state");
    sqlite3_finalize(st);
    return err;
}

int64_t balkon_store_rollup_5m_horizon(const struct balkon_store *store)
{
    return store->rollup_5m_pruned_before_ms;
}

static int meta_set(struct balkon_store *store, const char *key, int64_t value)
{
    sqlite3_stmt *st;
    int err = store_stmt(store, STMT_META_SET,
                         "INSERT INTO store_meta(key, value_int) VALUES (?1, ?2)"
                         " ON CONFLICT(key) DO UPDATE SET value_int = excluded.value_int",
                         &st);
    if (err)
        return err;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, value);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        err = store_sqlite_err(store, rc, "save pruning horizon");
    sqlite3_reset(st);
    return err;
}

/* Deletes up to *budget rows older than cutoff_ms from one series in one tier. */
static int prune_series(struct balkon_store *store, const struct prune_tier *tier,
                        int64_t series_id, int64_t cutoff_ms, int64_t *budget, int64_t *deleted)
{
    sqlite3_stmt *st;
    int64_t bound_ms = cutoff_ms;
    int err = store_stmt(store, tier->bound_id, tier->bound_sql, &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, series_id);
    sqlite3_bind_int64(st, 2, cutoff_ms);
    sqlite3_bind_int64(st, 3, *budget);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        bound_ms = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        err = store_sqlite_err(store, rc, "prune: find chunk");
    sqlite3_reset(st);
    if (err)
        return err;

    err = store_stmt(store, tier->delete_id, tier->delete_sql, &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, series_id);
    sqlite3_bind_int64(st, 2, bound_ms);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        int64_t n = sqlite3_changes64(store->db);
        *deleted += n;
        *budget -= n;
    } else {
        err = store_sqlite_err(store, rc, "prune: delete");
    }
    sqlite3_reset(st);
    return err;
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

int balkon_store_prune(struct balkon_store *store, int64_t now_ms, int64_t max_rows,
                       int64_t *deleted_out)
{
    int64_t deleted = 0;
    if (deleted_out)
        *deleted_out = 0;
    if (max_rows <= 0)
        return store_set_error(store, BALKON_E_INVAL, "prune: max_rows must be > 0");
    if (now_ms < 0 || now_ms > PRUNE_NOW_MAX_MS)
        return store_set_error(store, BALKON_E_RANGE, "prune: now %lld ms is out of range",
                               (long long)now_ms);

    int64_t raw_before = max64(store->raw_pruned_before_ms,
                               balkon_floor_ms(now_ms - store->raw_retention_ms, STORE_MS_5M));
    int64_t rollup_5m_before =
        max64(store->rollup_5m_pruned_before_ms,
              balkon_floor_ms(now_ms - store->rollup_5m_retention_ms, STORE_MS_1H));
    int64_t cutoffs[] = {raw_before, rollup_5m_before,
                         balkon_floor_ms(now_ms - store->rollup_1h_retention_ms, STORE_MS_1H)};
    int64_t budget = max_rows;

    /* The horizons are saved in the same transaction as the first deletions they allow. */
    int err = store_begin(store);
    if (!err && raw_before != store->raw_pruned_before_ms)
        err = meta_set(store, STORE_META_RAW_PRUNED, raw_before);
    if (!err && rollup_5m_before != store->rollup_5m_pruned_before_ms)
        err = meta_set(store, META_5M_PRUNED, rollup_5m_before);
    for (size_t t = 0; !err && t < sizeof prune_tiers / sizeof prune_tiers[0]; t++)
        for (int64_t id = 1; !err && budget > 0 && id <= store->max_series_id; id++)
            err = prune_series(store, &prune_tiers[t], id, cutoffs[t], &budget, &deleted);
    if (!err)
        err = store_commit(store);
    if (err) {
        store_rollback(store);
        return err;
    }
    store->raw_pruned_before_ms = raw_before;
    store->rollup_5m_pruned_before_ms = rollup_5m_before;
    if (deleted)
        store->data_version++;
    if (deleted_out)
        *deleted_out = deleted;
    return 0;
}

/* --- Forecasts and the command log --------------------------------------------------- */

/* Runs a prepared DELETE (finalizing it); adds what it deleted to *deleted and takes it
 * from *budget. */
static int run_delete(struct balkon_store *store, sqlite3_stmt *st, int64_t *budget,
                      int64_t *deleted)
{
    int err = store_run(store, st, "prune history");
    if (err < 0)
        return err;
    int64_t n = sqlite3_changes64(store->db);
    *deleted += n;
    *budget -= n;
    return 0;
}

/* Deletes up to *budget forecast rows of one (kind, provider) with slots before cutoff_ms,
 * oldest first: the (budget+1)-th due row, by (slot, issue), bounds the chunk, so a chunk
 * never exceeds the budget and always makes progress. */
static int prune_forecast_pair(struct balkon_store *store, const char *kind, const char *provider,
                               int64_t cutoff_ms, int64_t *budget, int64_t *deleted)
{
    sqlite3_stmt *st;
    int err = store_prepare(
        store,
        "SELECT slot_ts_ms, issued_ts_ms FROM forecasts WHERE kind = ?1 AND provider = ?2"
        " AND slot_ts_ms < ?3 ORDER BY slot_ts_ms, issued_ts_ms LIMIT 1 OFFSET ?4",
        &st, "prune history");
    if (err < 0)
        return err;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, provider, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, cutoff_ms);
    sqlite3_bind_int64(st, 4, *budget);
    int64_t bound_slot_ms = cutoff_ms, bound_issue_ms = INT64_MIN;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        bound_slot_ms = sqlite3_column_int64(st, 0);
        bound_issue_ms = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sqlite_err(store, rc, "prune history");
    err = store_prepare(store,
                        "DELETE FROM forecasts WHERE kind = ?1 AND provider = ?2"
                        " AND (slot_ts_ms, issued_ts_ms) < (?3, ?4)",
                        &st, "prune history");
    if (err < 0)
        return err;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, provider, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, bound_slot_ms);
    sqlite3_bind_int64(st, 4, bound_issue_ms);
    return run_delete(store, st, budget, deleted);
}

/* Deletes up to *budget command log entries older than before_ms, oldest first. */
static int prune_commands(struct balkon_store *store, int64_t before_ms, int64_t *budget,
                          int64_t *deleted)
{
    sqlite3_stmt *st;
    int err =
        store_prepare(store,
                      "DELETE FROM command_log WHERE id IN"
                      " (SELECT id FROM command_log WHERE ts_ms < ?1 ORDER BY ts_ms LIMIT ?2)",
                      &st, "prune history");
    if (err < 0)
        return err;
    sqlite3_bind_int64(st, 1, before_ms);
    sqlite3_bind_int64(st, 2, *budget);
    return run_delete(store, st, budget, deleted);
}

/* The (kind, provider) of forecasts after the given pair ("", "" for the first), by a seek
 * in the primary key: 1 and the pair in kind, provider; 0 after the last; or an error. */
static int next_forecast_pair(struct balkon_store *store, char kind[32], char provider[64])
{
    sqlite3_stmt *st;
    int err = store_prepare(store,
                            "SELECT kind, provider FROM forecasts WHERE (kind, provider) > (?1, ?2)"
                            " ORDER BY kind, provider LIMIT 1",
                            &st, "prune history");
    if (err < 0)
        return err;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, provider, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(kind, 32, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(provider, 64, "%s", (const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return rc == SQLITE_ROW;
    return store_sqlite_err(store, rc, "prune history");
}

int balkon_store_prune_history(struct balkon_store *store, int64_t forecasts_before_ms,
                               int64_t commands_before_ms, int64_t max_rows, int64_t *deleted_out)
{
    int64_t deleted = 0, budget = max_rows;
    *deleted_out = 0;
    /* Forecasts: per (kind, provider), so each delete is a range of the primary key
     * (kind, provider, slot_ts_ms, issued_ts_ms) rather than a scan of the table. The
     * pairs are found by stepping through that key (one seek each), not by DISTINCT, which
     * reads a whole index. */
    char kind[32] = "", provider[64] = "";
    int err = store_begin(store);
    int found = 0;
    while (!err && budget > 0 && (found = next_forecast_pair(store, kind, provider)) > 0)
        err = prune_forecast_pair(store, kind, provider, forecasts_before_ms, &budget, &deleted);
    if (found < 0)
        err = found;
    if (!err && budget > 0)
        err = prune_commands(store, commands_before_ms, &budget, &deleted);
    if (!err)
        err = store_commit(store);
    if (err) {
        store_rollback(store);
        return err;
    }
    *deleted_out = deleted;
    return 0;
}
