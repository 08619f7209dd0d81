/* Writing a batch of samples: the raw rows and the 5-minute and 1-hour roll-ups in one
 * transaction, through the store's own connection (balkon_store_flush, on the caller's
 * thread) or through a writer, a second connection that a worker thread uses so the event
 * loop never waits for the disk.
 *
 * Roll-ups are incremental: every bucket the batch touches gets the batch's own count,
 * sum, min and max added in one upsert (avg becomes (avg x count + sum) / (count + n)), so
 * a flush costs the same whether its buckets are empty or nearly full and reads no raw row
 * again. What cannot be added is a sample that replaces a stored one (same series and
 * ts_ms, after a restart or a clock step back: the later sample wins), or a second sample
 * for the same series and ts_ms in one batch. Its 5-minute bucket is then rebuilt from its
 * raw samples and its hour from its 5-minute buckets. A rebuild relies on the finer data
 * of the bucket being complete, which retention.c guarantees by pruning whole buckets only
 * and this file by refusing samples older than the raw pruning horizon (they are counted
 * as dropped). The horizon is read inside the write's transaction, so a prune through the
 * other connection cannot slip in between.
 *
 * The result is that of a rebuild: count, min and max exactly, avg up to rounding in the
 * last digits (tests/unit/test_store.c compares every bucket with a rebuild). */
#include "store_internal.h"

#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAL_AUTOCHECKPOINT_PAGES 1000 /* SQLite's default, back on the store's connection */

/* A connection as a write sees it: the store's or a writer's, with its statement cache
 * and the buffer its errors go to (the batch's, never the store's, on a worker). */
struct conn {
    sqlite3 *db;
    sqlite3_stmt **stmts; /* STMT_COUNT slots, prepared on first use */
    char *errmsg;
    size_t errmsg_size;
};

struct balkon_store_writer {
    sqlite3 *db;
    sqlite3_stmt *stmts[STMT_COUNT];
    struct balkon_store *store; /* only to detach on close, on the loop thread */
};

/* Must run before anything else touches the connection: sqlite3_errmsg describes only
 * the most recent call. */
static int conn_err(struct conn *c, int sqlite_rc, const char *context)
{
    snprintf(c->errmsg, c->errmsg_size, "%s: %s", context, sqlite3_errmsg(c->db));
    int err = store_err_from_sqlite(sqlite_rc);
    return err ? err : BALKON_E_DB;
}

static int conn_stmt(struct conn *c, enum store_stmt_id id, const char *sql, sqlite3_stmt **out)
{
    if (!c->stmts[id]) {
        int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &c->stmts[id], NULL);
        if (rc != SQLITE_OK)
            return conn_err(c, rc, "flush: prepare statement");
    }
    *out = c->stmts[id];
    return 0;
}

static int conn_exec(struct conn *c, const char *sql, const char *context)
{
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : conn_err(c, rc, context);
}

/* Steps a statement that returns no row and resets it for the next use. */
static int conn_step(struct conn *c, sqlite3_stmt *st, const char *context)
{
    int rc = sqlite3_step(st);
    int err = rc == SQLITE_DONE ? 0 : conn_err(c, rc, context);
    sqlite3_reset(st);
    return err;
}

/* --- The batch's buckets ------------------------------------------------------------ */

/* What the batch adds to one 5-minute bucket. */
struct bucket {
    int64_t series_id;
    int64_t bucket_ts_ms;
    double sum;
    double min;
    double max;
    uint32_t count;
    bool rebuild; /* a sample replaced another: rebuild from raw instead of adding */
};

/* The buckets in arrival order, found by an open-addressing index (slot = item + 1, 0 is
 * empty) with a power-of-two size kept under half full. A batch touches few buckets: a
 * day of 13 series at 5 s is under 4,000. */
struct buckets {
    struct bucket *items;
    size_t len;
    size_t cap;
    uint32_t *slots;
    size_t slot_cap;
};

static size_t bucket_hash(int64_t series_id, int64_t bucket_ts_ms, size_t mask)
{
    uint64_t h = (uint64_t)series_id * UINT64_C(0x9E3779B97F4A7C15) ^
                 (uint64_t)(bucket_ts_ms / STORE_MS_5M) * UINT64_C(0xC2B2AE3D27D4EB4F);
    return (size_t)(h ^ (h >> 29)) & mask;
}

static int buckets_reindex(struct buckets *b, size_t slot_cap)
{
    uint32_t *slots = calloc(slot_cap, sizeof *slots);
    if (!slots)
        return BALKON_E_NOMEM;
    for (size_t i = 0; i < b->len; i++) {
        size_t at = bucket_hash(b->items[i].series_id, b->items[i].bucket_ts_ms, slot_cap - 1);
        while (slots[at])
            at = (at + 1) & (slot_cap - 1);
        slots[at] = (uint32_t)(i + 1);
    }
    free(b->slots);
    b->slots = slots;
    b->slot_cap = slot_cap;
    return 0;
}

/* The bucket of (series_id, bucket_ts_ms), added empty if new; NULL when out of memory. */
static struct bucket *buckets_get(struct buckets *b, int64_t series_id, int64_t bucket_ts_ms)
{
    if (b->slot_cap) {
        size_t mask = b->slot_cap - 1;
        for (size_t at = bucket_hash(series_id, bucket_ts_ms, mask); b->slots[at];
             at = (at + 1) & mask) {
            struct bucket *item = &b->items[b->slots[at] - 1];
            if (item->series_id == series_id && item->bucket_ts_ms == bucket_ts_ms)
                return item;
        }
    }
    if (b->len == UINT32_MAX - 1)
        return NULL;
    if ((b->len + 1) * 2 > b->slot_cap &&
        buckets_reindex(b, b->slot_cap ? b->slot_cap * 2 : 64) != 0)
        return NULL;
    if (b->len == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 32;
        struct bucket *items = realloc(b->items, cap * sizeof *items);
        if (!items)
            return NULL;
        b->items = items;
        b->cap = cap;
    }
    size_t mask = b->slot_cap - 1;
    size_t at = bucket_hash(series_id, bucket_ts_ms, mask);
    while (b->slots[at])
        at = (at + 1) & mask;
    struct bucket *item = &b->items[b->len++];
    *item = (struct bucket){.series_id = series_id, .bucket_ts_ms = bucket_ts_ms};
    b->slots[at] = (uint32_t)b->len;
    return item;
}

static void bucket_add(struct bucket *k, double value)
{
    if (k->count == 0 || value < k->min)
        k->min = value;
    if (k->count == 0 || value > k->max)
        k->max = value;
    k->sum += value;
    k->count++;
}

static int compare_buckets(const void *a, const void *b)
{
    const struct bucket *x = a, *y = b;
    if (x->series_id != y->series_id)
        return x->series_id < y->series_id ? -1 : 1;
    if (x->bucket_ts_ms != y->bucket_ts_ms)
        return x->bucket_ts_ms < y->bucket_ts_ms ? -1 : 1;
    return 0;
}

/* --- Raw samples --------------------------------------------------------------------- */

/* Pruning stops at this horizon (retention.c): a sample before it is refused. */
static int read_raw_horizon(struct conn *c, int64_t *horizon_ms)
{
    sqlite3_stmt *st;
    int err =
        conn_stmt(c, STMT_RAW_HORIZON, "SELECT value_int FROM store_meta WHERE key = ?1", &st);
    if (err)
        return err;
    sqlite3_bind_text(st, 1, STORE_META_RAW_PRUNED, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *horizon_ms = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : INT64_MIN;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        err = conn_err(c, rc, "flush: read the pruning horizon");
    sqlite3_reset(st);
    return err;
}

/* DO NOTHING tells a new sample (one row changed) from one that replaces a stored sample
 * (none): only the latter pays for an update and a rebuild of its buckets. */
static const char raw_insert_sql[] =
    "INSERT INTO samples_raw(series_id, ts_ms, value) VALUES (?1, ?2, ?3)"
    " ON CONFLICT(series_id, ts_ms) DO NOTHING";
static const char raw_update_sql[] =
    "UPDATE samples_raw SET value = ?3 WHERE series_id = ?1 AND ts_ms = ?2";

static int bind_sample(sqlite3_stmt *st, const struct store_sample *s)
{
    sqlite3_bind_int64(st, 1, s->series_id);
    sqlite3_bind_int64(st, 2, s->ts_ms);
    return sqlite3_bind_double(st, 3, s->value);
}

/* Writes the raw samples in arrival order (so the later of two for the same series and
 * ts_ms wins) and sums up what each 5-minute bucket gets. */
static int write_raw(struct conn *c, struct balkon_store_batch *batch, int64_t horizon_ms,
                     struct buckets *buckets)
{
    sqlite3_stmt *insert, *update;
    int err = conn_stmt(c, STMT_RAW_INSERT, raw_insert_sql, &insert);
    if (!err)
        err = conn_stmt(c, STMT_RAW_UPDATE, raw_update_sql, &update);
    struct bucket *last = NULL;
    for (size_t i = 0; !err && i < batch->count; i++) {
        const struct store_sample *s = &batch->samples[i];
        if (s->ts_ms < horizon_ms) {
            batch->rejected++;
            continue;
        }
        int64_t bucket_ts_ms = balkon_floor_ms(s->ts_ms, STORE_MS_5M);
        struct bucket *k =
            last && last->series_id == s->series_id && last->bucket_ts_ms == bucket_ts_ms
                ? last
                : buckets_get(buckets, s->series_id, bucket_ts_ms);
        if (!k) {
            snprintf(c->errmsg, c->errmsg_size, "flush: out of memory");
            return BALKON_E_NOMEM;
        }
        last = k;
        bind_sample(insert, s);
        err = conn_step(c, insert, "flush: write sample");
        if (err)
            break;
        if (sqlite3_changes(c->db) == 1) {
            bucket_add(k, s->value);
            continue;
        }
        bind_sample(update, s);
        err = conn_step(c, update, "flush: replace sample");
        k->rebuild = true;
    }
    return err;
}

/* --- Roll-ups ------------------------------------------------------------------------ */

/* ?3 is the batch's sum, ?6 its count; in DO UPDATE the bare column names are the stored
 * row's values. */
static const char rollup_5m_add_sql[] =
    "INSERT INTO samples_5m(series_id, bucket_ts_ms, avg, min, max, count)"
    " VALUES (?1, ?2, ?3 / ?6, ?4, ?5, ?6)"
    " ON CONFLICT(series_id, bucket_ts_ms) DO UPDATE SET"
    " avg = (avg * count + ?3) / (count + ?6), min = min(min, ?4), max = max(max, ?5),"
    " count = count + ?6";

static const char rollup_1h_add_sql[] =
    "INSERT INTO samples_1h(series_id, bucket_ts_ms, avg, min, max, count)"
    " VALUES (?1, ?2, ?3 / ?6, ?4, ?5, ?6)"
    " ON CONFLICT(series_id, bucket_ts_ms) DO UPDATE SET"
    " avg = (avg * count + ?3) / (count + ?6), min = min(min, ?4), max = max(max, ?5),"
    " count = count + ?6";

/* A rebuilt bucket holds at least the sample just written, so the aggregates are never
 * over an empty set (avg NULL would violate NOT NULL). */
static const char rollup_5m_rebuild_sql[] =
    "INSERT INTO samples_5m(series_id, bucket_ts_ms, avg, min, max, count)"
    " SELECT ?1, ?2, avg(value), min(value), max(value), count(*) FROM samples_raw"
    " WHERE series_id = ?1 AND ts_ms >= ?2 AND ts_ms < ?2 + 300000"
    " ON CONFLICT(series_id, bucket_ts_ms) DO UPDATE SET"
    " avg = excluded.avg, min = excluded.min, max = excluded.max, count = excluded.count";

static const char rollup_1h_rebuild_sql[] =
    "INSERT INTO samples_1h(series_id, bucket_ts_ms, avg, min, max, count)"
    " SELECT ?1, ?2, sum(avg * count) / sum(count), min(min), max(max), sum(count)"
    " FROM samples_5m WHERE series_id = ?1 AND bucket_ts_ms >= ?2"
    " AND bucket_ts_ms < ?2 + 3600000"
    " ON CONFLICT(series_id, bucket_ts_ms) DO UPDATE SET"
    " avg = excluded.avg, min = excluded.min, max = excluded.max, count = excluded.count";

static int add_bucket(struct conn *c, sqlite3_stmt *st, const struct bucket *k, const char *context)
{
    sqlite3_bind_int64(st, 1, k->series_id);
    sqlite3_bind_int64(st, 2, k->bucket_ts_ms);
    sqlite3_bind_double(st, 3, k->sum);
    sqlite3_bind_double(st, 4, k->min);
    sqlite3_bind_double(st, 5, k->max);
    sqlite3_bind_int64(st, 6, k->count);
    return conn_step(c, st, context);
}

static int rebuild_bucket(struct conn *c, sqlite3_stmt *st, int64_t series_id, int64_t bucket_ts_ms,
                          const char *context)
{
    sqlite3_bind_int64(st, 1, series_id);
    sqlite3_bind_int64(st, 2, bucket_ts_ms);
    return conn_step(c, st, context);
}

static int write_5m(struct conn *c, const struct buckets *b)
{
    sqlite3_stmt *add, *rebuild;
    int err = conn_stmt(c, STMT_ROLLUP_5M_ADD, rollup_5m_add_sql, &add);
    if (!err)
        err = conn_stmt(c, STMT_ROLLUP_5M, rollup_5m_rebuild_sql, &rebuild);
    for (size_t i = 0; !err && i < b->len; i++) {
        const struct bucket *k = &b->items[i];
        err = k->rebuild ? rebuild_bucket(c, rebuild, k->series_id, k->bucket_ts_ms,
                                          "flush: rebuild a 5-minute roll-up")
                         : add_bucket(c, add, k, "flush: add to a 5-minute roll-up");
    }
    return err;
}

/* The buckets are sorted, so the 5-minute buckets of one hour are adjacent; an hour with
 * a rebuilt 5-minute bucket is rebuilt too, the others get the sum of theirs. */
static int write_1h(struct conn *c, const struct buckets *b)
{
    sqlite3_stmt *add, *rebuild;
    int err = conn_stmt(c, STMT_ROLLUP_1H_ADD, rollup_1h_add_sql, &add);
    if (!err)
        err = conn_stmt(c, STMT_ROLLUP_1H, rollup_1h_rebuild_sql, &rebuild);
    for (size_t i = 0; !err && i < b->len;) {
        struct bucket hour = {.series_id = b->items[i].series_id,
                              .bucket_ts_ms =
                                  balkon_floor_ms(b->items[i].bucket_ts_ms, STORE_MS_1H)};
        for (; i < b->len && b->items[i].series_id == hour.series_id &&
               balkon_floor_ms(b->items[i].bucket_ts_ms, STORE_MS_1H) == hour.bucket_ts_ms;
             i++) {
            const struct bucket *k = &b->items[i];
            hour.rebuild |= k->rebuild;
            if (k->rebuild)
                continue;
            hour.min = hour.count == 0 || k->min < hour.min ? k->min : hour.min;
            hour.max = hour.count == 0 || k->max > hour.max ? k->max : hour.max;
            hour.sum += k->sum;
            hour.count += k->count;
        }
        err = hour.rebuild ? rebuild_bucket(c, rebuild, hour.series_id, hour.bucket_ts_ms,
                                            "flush: rebuild a 1-hour roll-up")
                           : add_bucket(c, add, &hour, "flush: add to a 1-hour roll-up");
    }
    return err;
}

/* --- One batch, one transaction ------------------------------------------------------- */

static int write_batch(struct conn *c, struct balkon_store_batch *batch)
{
    struct buckets buckets = {0};
    int64_t horizon_ms = INT64_MIN;
    batch->rejected = 0;
    batch->errmsg[0] = '\0';
    /* IMMEDIATE takes the write lock up front, so a busy database fails before any work. */
    int err = conn_exec(c, "BEGIN IMMEDIATE", "flush: begin transaction");
    if (!err)
        err = read_raw_horizon(c, &horizon_ms);
    if (!err)
        err = write_raw(c, batch, horizon_ms, &buckets);
    if (!err) {
        if (buckets.len > 1)
            qsort(buckets.items, buckets.len, sizeof *buckets.items, compare_buckets);
        err = write_5m(c, &buckets);
    }
    if (!err)
        err = write_1h(c, &buckets);
    if (!err)
        err = conn_exec(c, "COMMIT", "flush: commit");
    if (err) {
        /* A failed COMMIT (disk full) may have rolled back already. */
        if (!sqlite3_get_autocommit(c->db))
            sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        batch->rejected = 0;
    }
    free(buckets.items);
    free(buckets.slots);
    return err;
}

int store_batch_write_here(struct balkon_store *store, struct balkon_store_batch *batch)
{
    struct conn c = {store->db, store->stmts, batch->errmsg, sizeof batch->errmsg};
    return write_batch(&c, batch);
}

int balkon_store_batch_write(struct balkon_store_writer *writer, struct balkon_store_batch *batch)
{
    struct conn c = {writer->db, writer->stmts, batch->errmsg, sizeof batch->errmsg};
    return write_batch(&c, batch);
}

/* --- The writer ---------------------------------------------------------------------- */

int balkon_store_writer_open(struct balkon_store *store, int busy_timeout_ms,
                             struct balkon_store_writer **out)
{
    *out = NULL;
    const char *file = sqlite3_db_filename(store->db, "main");
    if (!file || !file[0])
        return store_set_error(store, BALKON_E_INVAL,
                               "%s: an in-memory database has no second connection", store->path);
    if (!sqlite3_threadsafe())
        return store_set_error(store, BALKON_E_INVAL, "%s: SQLite is built without threads",
                               store->path);
    struct balkon_store_writer *writer = calloc(1, sizeof *writer);
    if (!writer)
        return store_set_error(store, BALKON_E_NOMEM, "%s: writer: out of memory", store->path);
    /* NOMUTEX: one thread at a time uses it, handed over by the thread pool's queue. */
    int rc = sqlite3_open_v2(file, &writer->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    const char *step = "open";
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(writer->db, busy_timeout_ms);
    if (rc == SQLITE_OK) /* WAL mode is in the file already */
        rc = store_connection_settings(writer->db, &step);
    if (rc != SQLITE_OK) {
        int err = store_set_error(
            store, store_err_from_sqlite(rc) ? store_err_from_sqlite(rc) : BALKON_E_DB,
            "%s: writer: %s: %s", store->path, step,
            writer->db ? sqlite3_errmsg(writer->db) : sqlite3_errstr(rc));
        sqlite3_close(writer->db);
        free(writer);
        return err;
    }
    writer->store = store;
    store->writer_attached = true;
    /* A commit that fills the WAL past 1000 pages runs the checkpoint, which copies the WAL
     * into the file and, with synchronous=NORMAL, waits for two fsyncs: seconds on a slow
     * SD card. The writer commits every flush, so it takes them all off the loop. */
    sqlite3_wal_autocheckpoint(store->db, 0);
    *out = writer;
    return 0;
}

void balkon_store_writer_close(struct balkon_store_writer *writer)
{
    if (!writer)
        return;
    for (int i = 0; i < STMT_COUNT; i++)
        sqlite3_finalize(writer->stmts[i]);
    if (sqlite3_close(writer->db) != SQLITE_OK)
        log_error("store", "%s: close the writer: %s", writer->store->path,
                  sqlite3_errmsg(writer->db));
    writer->store->writer_attached = false;
    sqlite3_wal_autocheckpoint(writer->store->db, WAL_AUTOCHECKPOINT_PAGES);
    free(writer);
}
