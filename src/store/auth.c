/* The login's records: the password hash, browser sessions and API tokens. Rare writes
 * (a login, a token made), one read per authenticated request by primary key. */
#include "store_internal.h"

#include "balkon/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int balkon_store_password_get(struct balkon_store *store, char *hash, size_t size)
{
    sqlite3_stmt *st;
    int err = store_prepare(store, "SELECT hash FROM auth_password WHERE id = 1", &st, "password");
    if (err < 0)
        return err;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        snprintf(hash, size, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? BALKON_E_NOTFOUND : store_sqlite_err(store, rc, "password");
}

int balkon_store_password_set(struct balkon_store *store, const char *hash, int64_t now_ms)
{
    sqlite3_stmt *st;
    int err = store_prepare(
        store, "INSERT OR REPLACE INTO auth_password(id, hash, set_ts_ms) VALUES (1, ?1, ?2)", &st,
        "password");
    if (err < 0)
        return err;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_ms);
    return store_run(store, st, "password");
}

int balkon_store_session_add(struct balkon_store *store,
                             const struct balkon_session_record *session)
{
    sqlite3_stmt *st;
    int err = store_prepare(
        store,
        "INSERT INTO auth_sessions(digest, csrf, created_ts_ms, last_seen_ts_ms, expires_ts_ms)"
        " VALUES (?1, ?2, ?3, ?4, ?5)",
        &st, "session");
    if (err < 0)
        return err;
    sqlite3_bind_text(st, 1, session->digest, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, session->csrf, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, session->created_ts_ms);
    sqlite3_bind_int64(st, 4, session->last_seen_ts_ms);
    sqlite3_bind_int64(st, 5, session->expires_ts_ms);
    return store_run(store, st, "session");
}

int balkon_store_session_get(struct balkon_store *store, const char *digest, int64_t now_ms,
                             struct balkon_session_record *out)
{
    sqlite3_stmt *st;
    int err =
        store_stmt(store, STMT_SESSION_GET,
                   "SELECT csrf, created_ts_ms, last_seen_ts_ms, expires_ts_ms FROM auth_sessions"
                   " WHERE digest = ?1 AND expires_ts_ms > ?2",
                   &st);
    if (err < 0)
        return err;
    sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_ms);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        snprintf(out->digest, sizeof out->digest, "%s", digest);
        snprintf(out->csrf, sizeof out->csrf, "%s", (const char *)sqlite3_column_text(st, 0));
        out->created_ts_ms = sqlite3_column_int64(st, 1);
        out->last_seen_ts_ms = sqlite3_column_int64(st, 2);
        out->expires_ts_ms = sqlite3_column_int64(st, 3);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? BALKON_E_NOTFOUND : store_sqlite_err(store, rc, "session");
}

int balkon_store_session_touch(struct balkon_store *store, const char *digest,
                               int64_t last_seen_ts_ms, int64_t expires_ts_ms)
{
    sqlite3_stmt *st;
    int err = store_prepare(
        store,
        "UPDATE auth_sessions SET last_seen_ts_ms = ?2, expires_ts_ms = ?3 WHERE digest = ?1", &st,
        "session");
    if (err < 0)
        return err;
    sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, last_seen_ts_ms);
    sqlite3_bind_int64(st, 3, expires_ts_ms);
    return store_run(store, st, "session");
}

/* Runs a DELETE with one optional text (?1) and one number (?2) bound. */
static int delete_where(struct balkon_store *store, const char *sql, const char *text,
                        int64_t number)
{
    sqlite3_stmt *st;
    int err = store_prepare(store, sql, &st, "sessions");
    if (err < 0)
        return err;
    if (text)
        sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, number);
    return store_run(store, st, "sessions");
}

int balkon_store_session_delete(struct balkon_store *store, const char *digest)
{
    return delete_where(store, "DELETE FROM auth_sessions WHERE digest = ?1", digest, 0);
}

int balkon_store_sessions_delete_others(struct balkon_store *store, const char *keep)
{
    return delete_where(store, "DELETE FROM auth_sessions WHERE ?1 IS NULL OR digest <> ?1", keep,
                        0);
}

int balkon_store_sessions_prune(struct balkon_store *store, int64_t now_ms)
{
    return delete_where(store, "DELETE FROM auth_sessions WHERE expires_ts_ms <= ?2", NULL, now_ms);
}

int balkon_store_token_add(struct balkon_store *store, const char *name, const char *digest,
                           bool read_only, int64_t now_ms, int64_t *id_out)
{
    sqlite3_stmt *st;
    int err = store_prepare(
        store,
        "INSERT INTO auth_tokens(name, digest, created_ts_ms, read_only) VALUES (?1, ?2, ?3, ?4)",
        &st, "token");
    if (err < 0)
        return err;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, digest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now_ms);
    sqlite3_bind_int(st, 4, read_only ? 1 : 0);
    err = store_run(store, st, "token");
    if (err == 0 && id_out)
        *id_out = sqlite3_last_insert_rowid(store->db);
    return err;
}

static void read_token(sqlite3_stmt *st, struct balkon_token_record *out)
{
    memset(out, 0, sizeof *out);
    out->id = sqlite3_column_int64(st, 0);
    snprintf(out->name, sizeof out->name, "%s", (const char *)sqlite3_column_text(st, 1));
    out->created_ts_ms = sqlite3_column_int64(st, 2);
    out->last_used_ts_ms = sqlite3_column_int64(st, 3);
    out->read_only = sqlite3_column_int(st, 4) != 0;
}

int balkon_store_token_find(struct balkon_store *store, const char *digest,
                            struct balkon_token_record *out)
{
    sqlite3_stmt *st;
    int err = store_stmt(
        store, STMT_TOKEN_FIND,
        "SELECT id, name, created_ts_ms, ifnull(last_used_ts_ms, 0), read_only FROM auth_tokens"
        " WHERE digest = ?1",
        &st);
    if (err < 0)
        return err;
    sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_token(st, out);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? BALKON_E_NOTFOUND : store_sqlite_err(store, rc, "token");
}

int balkon_store_token_touch(struct balkon_store *store, int64_t id, int64_t now_ms)
{
    sqlite3_stmt *st;
    int err = store_prepare(store, "UPDATE auth_tokens SET last_used_ts_ms = ?2 WHERE id = ?1", &st,
                            "token");
    if (err < 0)
        return err;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, now_ms);
    return store_run(store, st, "token");
}

int balkon_store_token_list(struct balkon_store *store, struct balkon_token_record **out,
                            size_t *count)
{
    *out = NULL;
    *count = 0;
    sqlite3_stmt *st;
    int err = store_prepare(store,
                            "SELECT id, name, created_ts_ms, ifnull(last_used_ts_ms, 0), read_only "
                            "FROM auth_tokens ORDER BY id",
                            &st, "tokens");
    if (err < 0)
        return err;
    struct balkon_token_record *list = NULL;
    size_t n = 0, capacity = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == capacity) {
            capacity = capacity ? 2 * capacity : 8;
            struct balkon_token_record *grown = realloc(list, capacity * sizeof *list);
            if (!grown) {
                free(list);
                sqlite3_finalize(st);
                return store_set_error(store, BALKON_E_NOMEM, "tokens: out of memory");
            }
            list = grown;
        }
        read_token(st, &list[n++]);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(list);
        return store_sqlite_err(store, rc, "tokens");
    }
    *out = list;
    *count = n;
    return 0;
}

int balkon_store_token_delete(struct balkon_store *store, int64_t id)
{
    sqlite3_stmt *st;
    int err = store_prepare(store, "DELETE FROM auth_tokens WHERE id = ?1", &st, "token");
    if (err < 0)
        return err;
    sqlite3_bind_int64(st, 1, id);
    err = store_run(store, st, "token");
    if (err < 0)
        return err;
    return sqlite3_changes(store->db) > 0 ? 0 : BALKON_E_NOTFOUND;
}
