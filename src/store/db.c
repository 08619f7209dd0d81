/* The database connection: open with its pragmas, close with a final flush and WAL
 * checkpoint, the statement cache, error mapping and messages, and the file size.
 *
 * Pragmas and why: WAL lets the dashboard read while the loop writes, and with
 * synchronous=NORMAL a commit costs no fsync (a power loss may roll back the last commits
 * but never corrupts, which suits an SD card). journal_size_limit keeps the WAL file from
 * staying large after a big transaction. foreign_keys and cache_size are per connection, so
 * they are set on every open (the cache's size: STORE_CACHE_KIB in store_internal.h). */
#include "store_internal.h"

#include "balkon/error.h"
#include "balkon/log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_DEFAULT_RAW_DAYS 7
#define STORE_DEFAULT_5M_DAYS 180
#define STORE_DEFAULT_1H_DAYS 3650
#define STORE_DEFAULT_MAX_PENDING 65536
#define STORE_MAX_RETENTION_DAYS 100000
#define STORE_DEFAULT_BUSY_TIMEOUT_MS 2000

static const char *const open_pragmas[] = {
    "PRAGMA synchronous=NORMAL",         "PRAGMA foreign_keys=ON", "PRAGMA temp_store=MEMORY",
    "PRAGMA journal_size_limit=4194304", STORE_CACHE_PRAGMA,
};

int store_err_from_sqlite(int sqlite_rc)
{
    switch (sqlite_rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return BALKON_E_BUSY;
    case SQLITE_NOMEM:
        return BALKON_E_NOMEM;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
        return BALKON_E_IO;
    case SQLITE_TOOBIG:
        return BALKON_E_TOOBIG;
    default:
        return BALKON_E_DB;
    }
}

/* Must run before anything else touches the connection, since sqlite3_errmsg describes
 * only the most recent call. */
int store_sqlite_err(struct balkon_store *store, int sqlite_rc, const char *context)
{
    snprintf(store->errmsg, sizeof store->errmsg, "%s: %s", context, sqlite3_errmsg(store->db));
    int err = store_err_from_sqlite(sqlite_rc);
    return err ? err : BALKON_E_DB;
}

int store_set_error(struct balkon_store *store, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(store->errmsg, sizeof store->errmsg, fmt, ap);
    va_end(ap);
    return err;
}

int store_stmt(struct balkon_store *store, enum store_stmt_id id, const char *sql,
               sqlite3_stmt **out)
{
    if (!store->stmts[id]) {
        int rc = sqlite3_prepare_v3(store->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                    &store->stmts[id], NULL);
        if (rc != SQLITE_OK)
            return store_sqlite_err(store, rc, "prepare statement");
    }
    /* A statement left mid-iteration would keep a read transaction open. */
    sqlite3_reset(store->stmts[id]);
    sqlite3_clear_bindings(store->stmts[id]);
    *out = store->stmts[id];
    return 0;
}

int store_prepare(struct balkon_store *store, const char *sql, sqlite3_stmt **st,
                  const char *context)
{
    int rc = sqlite3_prepare_v2(store->db, sql, -1, st, NULL);
    return rc == SQLITE_OK ? 0 : store_sqlite_err(store, rc, context);
}

int store_run(struct balkon_store *store, sqlite3_stmt *st, const char *context)
{
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : store_sqlite_err(store, rc, context);
}

int store_exec(struct balkon_store *store, const char *sql, const char *context)
{
    int rc = sqlite3_exec(store->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : store_sqlite_err(store, rc, context);
}

/* IMMEDIATE takes the write lock up front, so a busy database fails here, before any
 * work, rather than at the first write. */
int store_begin(struct balkon_store *store)
{
    return store_exec(store, "BEGIN IMMEDIATE", "begin transaction");
}

int store_commit(struct balkon_store *store)
{
    return store_exec(store, "COMMIT", "commit");
}

void store_rollback(struct balkon_store *store)
{
    if (!sqlite3_get_autocommit(store->db))
        sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
}

static void write_msg(char *msg, size_t msg_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void write_msg(char *msg, size_t msg_size, const char *fmt, ...)
{
    if (!msg || msg_size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msg_size, fmt, ap);
    va_end(ap);
}

static int resolve_days(int days, int fallback, const char *what, int64_t *out_ms, char *msg,
                        size_t msg_size)
{
    if (days < 0 || days > STORE_MAX_RETENTION_DAYS) {
        write_msg(msg, msg_size, "%s retention of %d days is outside 0..%d", what, days,
                  STORE_MAX_RETENTION_DAYS);
        return BALKON_E_RANGE;
    }
    *out_ms = (int64_t)(days ? days : fallback) * INT64_C(86400000);
    return 0;
}

/* Retention must shrink towards finer data: flush recomputes a 1-hour bucket from its
 * 5-minute buckets and a 5-minute bucket from its raw samples, which is only correct while
 * the finer data of every bucket still being written is complete. */
static int resolve_options(struct balkon_store *store, const struct balkon_store_options *o,
                           char *msg, size_t msg_size)
{
    int err = resolve_days(o->raw_retention_days, STORE_DEFAULT_RAW_DAYS, "raw",
                           &store->raw_retention_ms, msg, msg_size);
    if (!err)
        err = resolve_days(o->rollup_5m_retention_days, STORE_DEFAULT_5M_DAYS, "5-minute",
                           &store->rollup_5m_retention_ms, msg, msg_size);
    if (!err)
        err = resolve_days(o->rollup_1h_retention_days, STORE_DEFAULT_1H_DAYS, "1-hour",
                           &store->rollup_1h_retention_ms, msg, msg_size);
    if (err)
        return err;
    if (store->raw_retention_ms > store->rollup_5m_retention_ms ||
        store->rollup_5m_retention_ms > store->rollup_1h_retention_ms) {
        write_msg(msg, msg_size,
                  "retention must not grow towards finer data: raw %lld days, 5-minute %lld "
                  "days, 1-hour %lld days",
                  (long long)(store->raw_retention_ms / 86400000),
                  (long long)(store->rollup_5m_retention_ms / 86400000),
                  (long long)(store->rollup_1h_retention_ms / 86400000));
        return BALKON_E_RANGE;
    }
    store->max_pending = o->max_pending ? o->max_pending : STORE_DEFAULT_MAX_PENDING;
    return 0;
}

static void store_free(struct balkon_store *store)
{
    for (int i = 0; i < STMT_COUNT; i++)
        sqlite3_finalize(store->stmts[i]);
    if (store->db && sqlite3_close(store->db) != SQLITE_OK)
        log_error("store", "%s: close: %s", store->path, sqlite3_errmsg(store->db));
    store_samples_free(store);
    free(store->path);
    free(store);
}

/* For the fault tests only (tests/integration/test_faults.c, docs/faults.md): a full disk
 * cannot be made without privileges, so BALKON_TEST_DB_MAX_PAGES caps the database at that
 * many pages (PRAGMA max_page_count), past which SQLite fails writes with SQLITE_FULL just
 * as on a full disk. Pages freed by another connection (DROP TABLE) become usable again,
 * which is how the test gives the space back. */
int store_connection_settings(sqlite3 *db, const char **step)
{
    for (size_t i = 0; i < sizeof open_pragmas / sizeof open_pragmas[0]; i++) {
        *step = open_pragmas[i];
        int rc = sqlite3_exec(db, open_pragmas[i], NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            return rc;
    }
    /* The test's full disk is a limit per connection: every connection that writes takes it,
     * or one would write where another cannot. */
    const char *pages = getenv("BALKON_TEST_DB_MAX_PAGES");
    if (!pages || !pages[0])
        return SQLITE_OK;
    *step = "BALKON_TEST_DB_MAX_PAGES";
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count=%lld", strtoll(pages, NULL, 10));
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static int apply_pragmas(struct balkon_store *store, char *msg, size_t msg_size)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        write_msg(msg, msg_size, "%s: %s", store->path, sqlite3_errmsg(store->db));
        sqlite3_finalize(st);
        return store_err_from_sqlite(rc) ? store_err_from_sqlite(rc) : BALKON_E_DB;
    }
    const char *mode = (const char *)sqlite3_column_text(st, 0);
    bool ok = mode && (strcmp(mode, "wal") == 0 || strcmp(mode, "memory") == 0);
    if (!ok)
        write_msg(msg, msg_size, "%s: cannot switch to WAL mode (journal_mode stays %s)",
                  store->path, mode ? mode : "unknown");
    sqlite3_finalize(st);
    if (!ok)
        return BALKON_E_DB;

    const char *step = "";
    rc = store_connection_settings(store->db, &step);
    if (rc != SQLITE_OK) {
        write_msg(msg, msg_size, "%s: %s: %s", store->path, step, sqlite3_errmsg(store->db));
        return store_err_from_sqlite(rc) ? store_err_from_sqlite(rc) : BALKON_E_DB;
    }
    const char *pages = getenv("BALKON_TEST_DB_MAX_PAGES");
    if (pages && pages[0])
        log_warn("store", "%s: test mode: at most %s pages (BALKON_TEST_DB_MAX_PAGES)", store->path,
                 pages);
    return 0;
}

int balkon_store_open(const struct balkon_store_options *options, struct balkon_store **out,
                      char *msg, size_t msg_size)
{
    char local_msg[256];
    if (!msg || msg_size == 0) {
        msg = local_msg;
        msg_size = sizeof local_msg;
    }
    if (!out)
        return BALKON_E_INVAL;
    *out = NULL;
    msg[0] = '\0';
    if (!options || !options->path || !options->path[0]) {
        write_msg(msg, msg_size, "no database path given");
        return BALKON_E_INVAL;
    }

    int err;
    struct balkon_store *store = calloc(1, sizeof *store);
    if (!store) {
        write_msg(msg, msg_size, "%s: out of memory", options->path);
        return BALKON_E_NOMEM;
    }
    store->raw_pruned_before_ms = INT64_MIN;
    store->rollup_5m_pruned_before_ms = INT64_MIN;
    store->path = strdup(options->path);
    if (!store->path) {
        write_msg(msg, msg_size, "%s: out of memory", options->path);
        err = BALKON_E_NOMEM;
        goto fail;
    }
    err = resolve_options(store, options, msg, msg_size);
    if (err)
        goto fail;

    sqlite3_soft_heap_limit64((sqlite3_int64)STORE_HEAP_LIMIT_KIB * 1024);
    /* The database holds password and token digests: a new one is made owner-only here
     * rather than by SQLite (which would use 0644 less the umask); its journal and WAL
     * files take the database file's mode. */
    if (strcmp(store->path, ":memory:") != 0 && strncmp(store->path, "file:", 5) != 0) {
        int fd = open(store->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0)
            close(fd);
    }
    /* NOMUTEX: the store belongs to the loop thread, so SQLite's own locking is waste. */
    int rc =
        sqlite3_open_v2(store->path, &store->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        write_msg(msg, msg_size, "%s: %s", store->path,
                  store->db ? sqlite3_errmsg(store->db) : sqlite3_errstr(rc));
        err = store_err_from_sqlite(rc);
        goto fail;
    }
    sqlite3_busy_timeout(store->db, STORE_DEFAULT_BUSY_TIMEOUT_MS);

    /* Switching to WAL writes the file header, so a newer file is refused first. */
    err = store_schema_check(store, msg, msg_size);
    if (!err)
        err = apply_pragmas(store, msg, msg_size);
    if (!err)
        err = store_migrate(store, msg, msg_size);
    if (err)
        goto fail;

    err = store_meta_load(store);
    if (!err)
        err = store_series_load(store);
    if (err) {
        write_msg(msg, msg_size, "%s: %s", store->path, store->errmsg);
        goto fail;
    }
    *out = store;
    return 0;

fail:
    store_free(store);
    return err;
}

/* A reader shares the file, not the struct: its statements, series cache and errors are
 * its own, so it can run on another thread while the loop's connection writes (WAL lets
 * readers see the last commit without waiting). Read-only, so a bug cannot write from the
 * pool; no migration (the loop's open did it). */
int balkon_store_open_reader(const char *path, struct balkon_store **out, char *msg,
                             size_t msg_size)
{
    *out = NULL;
    struct balkon_store *store = calloc(1, sizeof *store);
    if (!store || !(store->path = strdup(path))) {
        write_msg(msg, msg_size, "%s: out of memory", path);
        free(store);
        return BALKON_E_NOMEM;
    }
    store->reader = true;
    store->raw_pruned_before_ms = INT64_MIN;
    store->rollup_5m_pruned_before_ms = INT64_MIN;
    int rc = sqlite3_open_v2(path, &store->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    int err = 0;
    if (rc != SQLITE_OK) {
        write_msg(msg, msg_size, "%s: %s", path,
                  store->db ? sqlite3_errmsg(store->db) : sqlite3_errstr(rc));
        err = store_err_from_sqlite(rc);
    } else {
        sqlite3_busy_timeout(store->db, STORE_DEFAULT_BUSY_TIMEOUT_MS);
        if (sqlite3_exec(store->db, STORE_CACHE_PRAGMA, NULL, NULL, NULL) != SQLITE_OK) {
            write_msg(msg, msg_size, "%s: %s", path, sqlite3_errmsg(store->db));
            err = BALKON_E_DB;
        }
    }
    if (err) {
        store_free(store);
        return err;
    }
    *out = store;
    return 0;
}

int balkon_store_read_begin(struct balkon_store *store)
{
    int err = store_exec(store, "BEGIN", "begin read");
    if (!err && store->reader)
        err = store_meta_load(store);
    if (err)
        store_rollback(store);
    return err;
}

void balkon_store_read_end(struct balkon_store *store)
{
    store_rollback(store);
}

const char *balkon_store_path(const struct balkon_store *store)
{
    return store->path;
}

uint64_t balkon_store_data_version(const struct balkon_store *store)
{
    return store->data_version;
}

void balkon_store_close(struct balkon_store *store)
{
    if (!store)
        return;
    if (store->reader) {
        store_free(store);
        return;
    }
    /* close returns nothing, so this is the one place that logs its own failures. */
    size_t pending = store->pending_len;
    if (pending && balkon_store_flush(store) != 0)
        log_error("store", "%s: %zu samples lost on close: %s", store->path, pending,
                  store->errmsg);
    if (store_exec(store, "PRAGMA wal_checkpoint(TRUNCATE)", "checkpoint") != 0)
        log_warn("store", "%s: %s", store->path, store->errmsg);
    if (store_exec(store, "PRAGMA optimize", "optimize") != 0)
        log_warn("store", "%s: %s", store->path, store->errmsg);
    store_free(store);
}

const char *balkon_store_errmsg(const struct balkon_store *store)
{
    return store ? store->errmsg : "no store";
}

void balkon_store_set_busy_timeout(struct balkon_store *store, int timeout_ms)
{
    sqlite3_busy_timeout(store->db, timeout_ms);
}

static int64_t pragma_int(struct balkon_store *store, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t value = BALKON_E_DB;
    int rc = sqlite3_prepare_v2(store->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        value = sqlite3_column_int64(st, 0);
    else
        value = store_sqlite_err(store, rc, sql);
    sqlite3_finalize(st);
    return value;
}

int balkon_store_schema_version(struct balkon_store *store)
{
    return (int)pragma_int(store, "PRAGMA user_version");
}

int64_t balkon_store_size_bytes(struct balkon_store *store)
{
    const char *file = sqlite3_db_filename(store->db, "main");
    if (!file || !file[0]) {
        /* In-memory or temporary database: there is no file to stat. */
        int64_t pages = pragma_int(store, "PRAGMA page_count");
        int64_t page_size = pragma_int(store, "PRAGMA page_size");
        return pages < 0 ? pages : page_size < 0 ? page_size : pages * page_size;
    }
    struct stat st;
    if (stat(file, &st) != 0)
        return store_set_error(store, BALKON_E_IO, "%s: cannot stat", file);
    int64_t size = (int64_t)st.st_size;
    char wal[4096];
    if (snprintf(wal, sizeof wal, "%s-wal", file) < (int)sizeof wal && stat(wal, &st) == 0)
        size += (int64_t)st.st_size;
    return size;
}
