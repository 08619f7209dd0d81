/* What the slot tables (prices, forecasts, signals) share: checking slots before a write,
 * writing rows in one transaction, reading rows into a growing array, reading coverage.
 * Each table's file keeps its SQL, its own checks and how a row maps to its slot type. */
#include "store_internal.h"

#include "balkon/error.h"
#include "balkon/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int store_slot_names(struct balkon_store *store, const char *table, const char *kind,
                     const char *provider, char *what, size_t size)
{
    if (!kind || !kind[0])
        return store_set_error(store, BALKON_E_INVAL, "%s: kind must not be empty", table);
    if (!provider || !provider[0])
        return store_set_error(store, BALKON_E_INVAL, "%s %s: provider must not be empty", table,
                               kind);
    snprintf(what, size, "%s %s/%s", table, kind, provider);
    return 0;
}

const char *store_slot_span_problem(int64_t slot_ts_ms, int32_t slot_s)
{
    if (slot_s <= 0)
        return "slot_s is not positive";
    if (slot_ts_ms > INT64_MAX - (int64_t)slot_s * 1000)
        return "the slot ends after the last representable time";
    return NULL;
}

int store_check_slots(struct balkon_store *store, const char *what, const void *slots, size_t size,
                      size_t count, const char *(*problem)(const void *slot))
{
    if (count && !slots)
        return store_set_error(store, BALKON_E_INVAL, "%s: %zu slots but no array", what, count);
    for (size_t i = 0; i < count; i++) {
        const void *slot = (const char *)slots + i * size;
        const char *why = problem(slot);
        if (why) {
            char iso[BALKON_ISO_MAX];
            balkon_format_iso(*(const int64_t *)slot, iso, sizeof iso); /* slot_ts_ms */
            return store_set_error(store, BALKON_E_INVAL, "%s: slot %s: %s", what, iso, why);
        }
    }
    return 0;
}

int store_put_rows(struct balkon_store *store, const char *sql, const char *context, size_t count,
                   void (*bind)(sqlite3_stmt *st, size_t i, const void *ctx), const void *ctx)
{
    sqlite3_stmt *st = NULL;
    int err = store_prepare(store, sql, &st, context);
    if (err)
        return err;
    err = store_begin(store);
    if (err)
        goto fail;
    for (size_t i = 0; i < count; i++) {
        bind(st, i, ctx);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE) {
            err = store_sqlite_err(store, rc, context);
            goto fail;
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    st = NULL;
    err = store_commit(store);
    if (err)
        goto fail;
    return 0;

fail:
    sqlite3_finalize(st);
    store_rollback(store);
    return err;
}

int store_read_rows(struct balkon_store *store, sqlite3_stmt *st, const char *what,
                    const char *context, size_t size, size_t first_cap,
                    int (*read)(sqlite3_stmt *st, void *item, void *ctx), void *ctx, void **out,
                    size_t *count)
{
    char *list = NULL;
    size_t len = 0, cap = 0;
    int err = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            cap = cap ? cap * 2 : first_cap;
            char *grown = realloc(list, cap * size);
            if (!grown) {
                err = store_set_error(store, BALKON_E_NOMEM, "%s: out of memory", what);
                goto fail;
            }
            list = grown;
        }
        err = read(st, list + len * size, ctx);
        if (err)
            goto fail;
        len++;
    }
    if (rc != SQLITE_DONE) {
        err = store_sqlite_err(store, rc, context);
        goto fail;
    }
    sqlite3_finalize(st);
    *out = list;
    *count = len;
    return 0;

fail:
    sqlite3_finalize(st);
    free(list);
    return err;
}

int store_read_coverage(struct balkon_store *store, sqlite3_stmt *st, const char *context,
                        int64_t *a, int64_t *b)
{
    int err = 0;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *a = sqlite3_column_int64(st, 0);
        *b = sqlite3_column_int64(st, 1);
    } else if (rc != SQLITE_DONE) {
        err = store_sqlite_err(store, rc, context);
    }
    sqlite3_finalize(st);
    return err;
}

void store_bind_real_or_null(sqlite3_stmt *st, int index, double value)
{
    if (isnan(value))
        sqlite3_bind_null(st, index);
    else
        sqlite3_bind_double(st, index, value);
}

double store_column_real_or_nan(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL ? NAN : sqlite3_column_double(st, col);
}
