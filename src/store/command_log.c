/* The command log: every command sent to a device and how it ended, for the user ("why
 * did the battery stop at 17:02?") and for rate limits. Pruned with the raw samples. */
#include "store_internal.h"

#include "balkon/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int balkon_store_command_log(struct balkon_store *store, const struct balkon_command_record *record)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        store->db,
        "INSERT INTO command_log(ts_ms, device_id, command, value, result, source,"
        " request_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_err(store, rc, "command log");
    sqlite3_bind_int64(st, 1, record->ts_ms);
    sqlite3_bind_text(st, 2, record->device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, record->command, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, record->value, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, record->result, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, record->source, -1, SQLITE_STATIC);
    if (record->request_id)
        sqlite3_bind_int64(st, 7, (sqlite3_int64)record->request_id);
    return store_run(store, st, "command log");
}

int balkon_store_command_list(struct balkon_store *store, const char *device_id, size_t limit,
                              struct balkon_command_record **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        store->db,
        "SELECT ts_ms, device_id, command, ifnull(value, ''), result, source,"
        " ifnull(request_id, 0) FROM command_log"
        " WHERE ?1 IS NULL OR device_id = ?1 ORDER BY ts_ms DESC, id DESC LIMIT ?2",
        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_err(store, rc, "command list");
    if (device_id)
        sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
    struct balkon_command_record *list = calloc(limit ? limit : 1, sizeof *list);
    if (!list) {
        sqlite3_finalize(st);
        return store_set_error(store, BALKON_E_NOMEM, "command list: out of memory");
    }
    size_t n = 0;
    while (n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct balkon_command_record *r = &list[n++];
        r->ts_ms = sqlite3_column_int64(st, 0);
        snprintf(r->device_id, sizeof r->device_id, "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(r->command, sizeof r->command, "%s", (const char *)sqlite3_column_text(st, 2));
        snprintf(r->value, sizeof r->value, "%s", (const char *)sqlite3_column_text(st, 3));
        snprintf(r->result, sizeof r->result, "%s", (const char *)sqlite3_column_text(st, 4));
        snprintf(r->source, sizeof r->source, "%s", (const char *)sqlite3_column_text(st, 5));
        r->request_id = (uint64_t)sqlite3_column_int64(st, 6);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        free(list);
        return store_sqlite_err(store, rc, "command list");
    }
    *out = list;
    *count = n;
    return 0;
}
