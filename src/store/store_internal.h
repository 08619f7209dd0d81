/* What the files of src/store/ share: the store struct, the cached statements and the
 * error helpers. Nothing outside src/store/ includes this header. */
#ifndef BALKON_STORE_INTERNAL_H
#define BALKON_STORE_INTERNAL_H

#include "balkon/store.h"

#include <sqlite3.h>
#include <stdarg.h>

/* SQLite's page cache per connection, in KiB. SQLite's default (2000 KiB) is a third of the
 * daemon's memory budget for each connection, and the pages it keeps are copies of what the
 * kernel's page cache holds anyway: a miss costs a pread of a 4 KiB page, not a disk read.
 * 512 KiB holds the interior pages of every b-tree and the leaves a flush touches (about
 * 15 pages per series); the dashboard's reads stream through it. Every connection applies it
 * with STORE_CACHE_PRAGMA right after opening (cache_size is per connection). */
#define STORE_CACHE_KIB 512
#define STORE_STRINGIFY_(x) #x
#define STORE_STRINGIFY(x) STORE_STRINGIFY_(x)
#define STORE_CACHE_PRAGMA "PRAGMA cache_size=-" STORE_STRINGIFY(STORE_CACHE_KIB)

/* All of SQLite's memory in the process, every connection together, in KiB. A soft limit
 * (sqlite3_soft_heap_limit64): above it SQLite reuses its cache pages instead of allocating
 * more, and nothing fails. One connection (schema, statements, a full cache) takes about
 * 600 KiB; the API's read-only connections on libuv's thread pool would each add as much,
 * and this keeps their sum bounded: five connections reading the dashboard's history views
 * took 2.9 MB without it and 1.1 MB with it, in the same time. With the loop's connection,
 * the writer and two readers all in use, 512 KiB kept the daemon under 10 MB (1 MiB: 10.4
 * MB) and the dashboard's rounds as fast. Set on every open (it is process-wide, so setting
 * it again changes nothing). */
#define STORE_HEAP_LIMIT_KIB 512

#define STORE_MS_5M INT64_C(300000)
#define STORE_MS_1H INT64_C(3600000)
/* store_meta's key for the raw pruning horizon (retention.c writes it, flush.c reads it). */
#define STORE_META_RAW_PRUNED "raw_pruned_before_ts_ms"

/* One slot per hot-path statement. Each is prepared on first use by store_stmt with the
 * SQL written next to the code that runs it, and finalized by balkon_store_close. */
enum store_stmt_id {
    STMT_SERIES_FIND,
    STMT_SERIES_INSERT,
    STMT_RAW_INSERT,
    STMT_ROLLUP_5M,
    STMT_ROLLUP_1H,
    /* flush.c: incremental roll-ups and replaced samples */
    STMT_RAW_UPDATE,
    STMT_ROLLUP_5M_ADD,
    STMT_ROLLUP_1H_ADD,
    STMT_RAW_HORIZON,
    STMT_QUERY_RAW,
    STMT_QUERY_5M,
    STMT_QUERY_1H,
    STMT_SERIES_LIST,
    STMT_SERIES_SPAN,
    STMT_LAST_TS,
    STMT_META_SET,
    STMT_PRUNE_BOUND_RAW,
    STMT_PRUNE_BOUND_5M,
    STMT_PRUNE_BOUND_1H,
    STMT_PRUNE_DELETE_RAW,
    STMT_PRUNE_DELETE_5M,
    STMT_PRUNE_DELETE_1H,
    STMT_DEVICE_UPSERT,
    STMT_DEVICE_LIST,
    STMT_SESSION_GET, /* one per request with a session cookie */
    STMT_TOKEN_FIND,  /* one per request with an API token */
    STMT_COUNT
};

/* A buffered sample, waiting for the next flush. */
struct store_sample {
    int64_t series_id;
    int64_t ts_ms;
    double value;
};

/* The name -> id cache: open addressing, linear probing, power-of-two size. */
struct store_series_entry {
    char *name; /* NULL marks an empty slot */
    char unit[16];
    int64_t id;
};

struct balkon_store {
    sqlite3 *db;
    char *path;
    int64_t raw_retention_ms;
    int64_t rollup_5m_retention_ms;
    int64_t rollup_1h_retention_ms;
    size_t max_pending;

    sqlite3_stmt *stmts[STMT_COUNT];
    char errmsg[512];

    /* Series cache. max_series_id lets append reject unknown ids in O(1): ids come from
     * INTEGER PRIMARY KEY and series are never deleted, so every id in 1..max exists. */
    struct store_series_entry *series;
    size_t series_cap;
    size_t series_len;
    int64_t max_series_id;

    /* Pending samples: a ring that grows up to max_pending, oldest at head. */
    struct store_sample *pending;
    size_t pending_cap;
    size_t pending_head;
    size_t pending_len;
    uint64_t dropped;
    bool forced_flush_failed; /* no forced flush from append until a flush succeeds */

    /* A batch being written (flush.c): its samples are copied out but stay the oldest
     * inflight_len of the ring until it succeeds, so a failure has nothing to merge back.
     * Samples of it dropped meanwhile because the ring overflowed are counted in
     * inflight_dropped, and count as dropped only if the batch fails. */
    size_t inflight_len;
    uint64_t inflight_dropped;
    bool batch_out;
    bool writer_attached; /* a writer's owner flushes: append never does */

    /* Retention horizons applied so far (persisted in store_meta): raw samples before
     * raw_pruned_before_ms and 5-minute buckets before rollup_5m_pruned_before_ms may be
     * gone. Both are aligned to the next coarser bucket, so pruning removes whole buckets. */
    int64_t raw_pruned_before_ms;
    int64_t rollup_5m_pruned_before_ms;

    /* A read-only connection for the thread pool (readers.c): it never writes, and it
     * reloads the retention horizons before a query, since the loop's connection moves them. */
    bool reader;
    uint64_t data_version; /* balkon_store_data_version: bumped by every flush and prune */
};

/* db.c */
int store_stmt(struct balkon_store *store, enum store_stmt_id id, const char *sql,
               sqlite3_stmt **out);
int store_sqlite_err(struct balkon_store *store, int sqlite_rc, const char *context);
int store_set_error(struct balkon_store *store, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int store_exec(struct balkon_store *store, const char *sql, const char *context);
/* Prepares a one-off statement (the caller finalizes it, or store_run does); on failure
 * records the error under context. */
int store_prepare(struct balkon_store *store, const char *sql, sqlite3_stmt **st,
                  const char *context);
/* Steps a one-off statement that returns no rows and finalizes it; 0 or the error under
 * context. */
int store_run(struct balkon_store *store, sqlite3_stmt *st, const char *context);
int store_begin(struct balkon_store *store);
int store_commit(struct balkon_store *store);
void store_rollback(struct balkon_store *store);
int store_err_from_sqlite(int sqlite_rc);
/* Applies the settings every connection that writes needs (they are per connection:
 * synchronous, foreign keys, temp store, journal size, page cache, the fault tests' page
 * cap). Returns SQLITE_OK or SQLite's code with *step naming what failed. */
int store_connection_settings(sqlite3 *db, const char **step);

/* migrations.c */
/* Refuses a database from a newer schema before anything writes to the file. */
int store_schema_check(struct balkon_store *store, char *msg, size_t msg_size);
int store_migrate(struct balkon_store *store, char *msg, size_t msg_size);

/* samples.c */
void store_samples_free(struct balkon_store *store);
int store_series_load(struct balkon_store *store);
/* Returns 1 and sets *id_out when the series exists, 0 when not, or a BALKON_E_* code. */
int store_series_lookup(struct balkon_store *store, const char *name, int64_t *id_out);

/* flush.c */
/* The batch being written; the caller of store_batch_write owns it. */
struct balkon_store_batch {
    struct store_sample *samples;
    size_t count;
    uint64_t rejected; /* behind the raw pruning horizon: dropped when the batch succeeds */
    char errmsg[512];
};
/* Writes a batch through the store's own connection (the synchronous balkon_store_flush). */
int store_batch_write_here(struct balkon_store *store, struct balkon_store_batch *batch);

/* retention.c */
int store_meta_load(struct balkon_store *store);

/* slot_rows.c: what prices, forecasts and signals share. Each is a table of 15-minute
 * slots per provider (and kind); its slot type (balkon/series.h) starts with slot_ts_ms
 * and slot_s. `what` prefixes the errors ("prices tibber", "signal co2_g_per_kwh/uk"). */

/* Checks that a kind and a provider are named ("<table>: kind must not be empty") and
 * writes "<table> <kind>/<provider>" into what, the prefix of later errors. */
int store_slot_names(struct balkon_store *store, const char *table, const char *kind,
                     const char *provider, char *what, size_t size);
/* What is wrong with a slot's span, or NULL: slot_s must be positive, and the slot's end
 * representable, since coverage reports it. */
const char *store_slot_span_problem(int64_t slot_ts_ms, int32_t slot_s);
/* Checks count slots of size bytes before anything is written: "<what>: N slots but no
 * array", or the first problem(slot) as "<what>: slot <ISO start>: <problem>". */
int store_check_slots(struct balkon_store *store, const char *what, const void *slots, size_t size,
                      size_t count, const char *(*problem)(const void *slot));
/* Runs sql once per row in one transaction, bind(st, i, ctx) binding row i; errors under
 * context ("prices put"), and nothing written. */
int store_put_rows(struct balkon_store *store, const char *sql, const char *context, size_t count,
                   void (*bind)(sqlite3_stmt *st, size_t i, const void *ctx), const void *ctx);
/* Steps st (prepared and bound) to its end, appending one item of size bytes per row as
 * read(st, item, ctx) fills it; a nonzero return (its error set) stops the read. On
 * success *out (malloc'd, the caller frees it; NULL when no row) and *count. Finalizes st. */
int store_read_rows(struct balkon_store *store, sqlite3_stmt *st, const char *what,
                    const char *context, size_t size, size_t first_cap,
                    int (*read)(sqlite3_stmt *st, void *item, void *ctx), void *ctx, void **out,
                    size_t *count);
/* The newest row of a coverage query: its two integer columns into *a and *b, which stay
 * INT64_MIN when the table has no row. Finalizes st. */
int store_read_coverage(struct balkon_store *store, sqlite3_stmt *st, const char *context,
                        int64_t *a, int64_t *b);
/* NAN is stored as NULL (an unknown market price, no forecast band), and read back. */
void store_bind_real_or_null(sqlite3_stmt *st, int index, double value);
double store_column_real_or_nan(sqlite3_stmt *st, int col);

#endif
