/* The device registry: which devices the daemon has seen, with their roles, model and
 * firmware, and when they were first and last seen. Drivers upsert on every successful
 * discovery; the dashboard lists them. */
#include "store_internal.h"

#include "balkon/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fields are fixed-size arrays in the record; a value that does not fit would come back
 * truncated from device_list, so it is refused on the way in. */
static bool terminated(const char *field, size_t size)
{
    return memchr(field, '\0', size) != NULL;
}

int balkon_store_device_upsert(struct balkon_store *store,
                               const struct balkon_device_record *device)
{
    const struct balkon_device_record *d = device;
    if (!d || !terminated(d->id, sizeof d->id) || !d->id[0])
        return store_set_error(store, BALKON_E_INVAL, "device: id must have 1..%zu characters",
                               sizeof d->id - 1);
    if (!terminated(d->type, sizeof d->type) || !terminated(d->roles, sizeof d->roles) ||
        !terminated(d->model, sizeof d->model) || !terminated(d->firmware, sizeof d->firmware))
        return store_set_error(store, BALKON_E_INVAL, "device %s: a field is not terminated",
                               d->id);

    sqlite3_stmt *st;
    int err = store_stmt(store, STMT_DEVICE_UPSERT,
                         "INSERT INTO devices(id, type, roles, model, firmware, first_seen_ms,"
                         " last_seen_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                         " ON CONFLICT(id) DO UPDATE SET type = excluded.type,"
                         " roles = excluded.roles, model = excluded.model,"
                         " firmware = excluded.firmware, last_seen_ms = excluded.last_seen_ms",
                         &st);
    if (err)
        return err;
    sqlite3_bind_text(st, 1, d->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, d->type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, d->roles, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, d->model, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, d->firmware, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, d->first_seen_ms);
    sqlite3_bind_int64(st, 7, d->last_seen_ms);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        err = store_sqlite_err(store, rc, "device upsert");
    sqlite3_reset(st);
    return err;
}

static void copy_text(char *dst, size_t size, sqlite3_stmt *st, int col)
{
    const unsigned char *text = sqlite3_column_text(st, col);
    snprintf(dst, size, "%s", text ? (const char *)text : "");
}

int balkon_store_device_list(struct balkon_store *store, struct balkon_device_record **out,
                             size_t *count)
{
    struct balkon_device_record *list = NULL;
    size_t len = 0, cap = 0;
    *out = NULL;
    *count = 0;
    sqlite3_stmt *st;
    int err = store_stmt(store, STMT_DEVICE_LIST,
                         "SELECT id, type, roles, model, firmware, first_seen_ms, last_seen_ms"
                         " FROM devices ORDER BY id",
                         &st);
    if (err)
        return err;
    int rc = SQLITE_DONE;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            cap = cap ? cap * 2 : 8;
            struct balkon_device_record *grown = realloc(list, cap * sizeof *grown);
            if (!grown) {
                err = store_set_error(store, BALKON_E_NOMEM, "device list: out of memory");
                goto fail;
            }
            list = grown;
        }
        struct balkon_device_record *d = &list[len++];
        memset(d, 0, sizeof *d);
        copy_text(d->id, sizeof d->id, st, 0);
        copy_text(d->type, sizeof d->type, st, 1);
        copy_text(d->roles, sizeof d->roles, st, 2);
        copy_text(d->model, sizeof d->model, st, 3);
        copy_text(d->firmware, sizeof d->firmware, st, 4);
        d->first_seen_ms = sqlite3_column_int64(st, 5);
        d->last_seen_ms = sqlite3_column_int64(st, 6);
    }
    if (rc != SQLITE_DONE) {
        err = store_sqlite_err(store, rc, "device list");
        goto fail;
    }
    sqlite3_reset(st);
    *out = list;
    *count = len;
    return 0;

fail:
    sqlite3_reset(st);
    free(list);
    return err;
}
