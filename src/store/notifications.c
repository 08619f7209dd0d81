/* Notifications: what the rules told the user (written by the notification module, read
 * by the API), kept in the notifications table. */
#include "store_internal.h"

#include "balkon/error.h"

#include <stdio.h>
#include <stdlib.h>

int balkon_store_notification_list(struct balkon_store *store, size_t limit,
                                   struct balkon_notification_record **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    sqlite3_stmt *st = NULL;
    int rc =
        sqlite3_prepare_v2(store->db,
                           "SELECT id, ts_ms, rule, severity, title, message, state, resolved_ts_ms"
                           " FROM notifications ORDER BY ts_ms DESC, id DESC LIMIT ?1",
                           -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_err(store, rc, "notification list");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)limit);
    struct balkon_notification_record *list = calloc(limit ? limit : 1, sizeof *list);
    if (!list) {
        sqlite3_finalize(st);
        return store_set_error(store, BALKON_E_NOMEM, "notification list: out of memory");
    }
    size_t n = 0;
    while (n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct balkon_notification_record *r = &list[n++];
        r->id = sqlite3_column_int64(st, 0);
        r->ts_ms = sqlite3_column_int64(st, 1);
        snprintf(r->rule, sizeof r->rule, "%s", (const char *)sqlite3_column_text(st, 2));
        snprintf(r->severity, sizeof r->severity, "%s", (const char *)sqlite3_column_text(st, 3));
        snprintf(r->title, sizeof r->title, "%s", (const char *)sqlite3_column_text(st, 4));
        snprintf(r->message, sizeof r->message, "%s", (const char *)sqlite3_column_text(st, 5));
        snprintf(r->state, sizeof r->state, "%s", (const char *)sqlite3_column_text(st, 6));
        r->resolved_ts_ms =
            sqlite3_column_type(st, 7) == SQLITE_NULL ? INT64_MIN : sqlite3_column_int64(st, 7);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        free(list);
        return store_sqlite_err(store, rc, "notification list");
    }
    *out = list;
    *count = n;
    return 0;
}

int balkon_store_notification_add(struct balkon_store *store,
                                  const struct balkon_notification_record *record, int64_t *id_out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        store->db,
        "INSERT INTO notifications (ts_ms, rule, severity, title, message, state,"
        " resolved_ts_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_err(store, rc, "notification add");
    sqlite3_bind_int64(st, 1, record->ts_ms);
    sqlite3_bind_text(st, 2, record->rule, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, record->severity, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, record->title, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, record->message, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, record->state[0] ? record->state : "open", -1, SQLITE_TRANSIENT);
    if (record->resolved_ts_ms == INT64_MIN)
        sqlite3_bind_null(st, 7);
    else
        sqlite3_bind_int64(st, 7, record->resolved_ts_ms);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_sqlite_err(store, rc, "notification add");
    if (id_out)
        *id_out = sqlite3_last_insert_rowid(store->db);
    return 0;
}

int balkon_store_notification_set_state(struct balkon_store *store, int64_t id, const char *state,
                                        int64_t ts_ms)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        store->db, "UPDATE notifications SET state = ?2, resolved_ts_ms = ?3 WHERE id = ?1", -1,
        &st, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_err(store, rc, "notification state");
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, state, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, ts_ms);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_sqlite_err(store, rc, "notification state");
    if (sqlite3_changes(store->db) == 0)
        return store_set_error(store, BALKON_E_NOTFOUND, "notification %lld: not found",
                               (long long)id);
    return 0;
}
