/* What the store's unit tests share: a fresh temporary directory per test holding the
 * database file, and a second SQLite connection (the "peer") that looks at what is really
 * on disk or interferes, as another process would. Header-only, so each test stays one
 * file linked to the library it tests; include it after cmocka.h. */
#ifndef BALKON_TEST_STORE_FIXTURE_H
#define BALKON_TEST_STORE_FIXTURE_H

#include "balkon/store.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct fixture {
    char dir[64];
    char path[128];
    struct balkon_store *store; /* closed by the teardown when a test left it open */
};

/* Makes the directory from template ("/tmp/balkon_store_XXXXXX"); -1 when it cannot. */
static inline int store_fixture_setup(void **state, const char *template)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s", template);
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/test.db", f->dir);
    *state = f;
    return 0;
}

/* Closes f->store, removes the database with its WAL, shared-memory and journal files and
 * the directory. */
static inline int store_fixture_teardown(void **state)
{
    struct fixture *f = *state;
    balkon_store_close(f->store);
    char file[160];
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(file, sizeof file, "%s%s", f->path, suffixes[i]);
        unlink(file);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* A second connection, as another process would have. */
static inline sqlite3 *peer_open(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 2000);
    return db;
}

static inline void peer_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err ? err : "?");
}

/* The first column of the first row as an integer; INT64_MIN for NULL. */
static inline int64_t peer_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_type(st, 0) == SQLITE_NULL ? INT64_MIN : sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The first column of the first row as a double. */
static inline double peer_double(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    double v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

#endif
