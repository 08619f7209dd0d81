/* Grid signals: one value per kind, provider and slot ("renewable_share_pct",
 * "grid_signal", "co2_g_per_kwh", "green_index"; the unit is in the kind). A re-fetch
 * replaces the slots it covers (latest fetch wins). Kinds are independent series.
 *
 * Statements are prepared per call: signals are written once per fetch and read once per
 * plan, so the statement cache is not worth a slot. */
#include "store_internal.h"

#include "balkon/error.h"
#include "balkon/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int check_names(struct balkon_store *store, const char *kind, const char *provider)
{
    if (!kind || !kind[0])
        return store_set_error(store, BALKON_E_INVAL, "signal: kind must not be empty");
    if (!provider || !provider[0])
        return store_set_error(store, BALKON_E_INVAL, "signal %s: provider must not be empty",
                               kind);
    return 0;
}

/* What is wrong with one slot, or NULL. */
static const char *slot_problem(const struct balkon_signal_slot *s)
{
    if (s->slot_s <= 0)
        return "slot_s is not positive";
    if (s->slot_ts_ms > INT64_MAX - (int64_t)s->slot_s * 1000)
        return "the slot ends after the last representable time";
    if (!isfinite(s->value))
        return "the value is not finite";
    return NULL;
}

int balkon_store_signal_put(struct balkon_store *store, const char *kind, const char *provider,
                            int64_t fetched_ts_ms, const struct balkon_signal_slot *slots,
                            size_t count)
{
    int err = check_names(store, kind, provider);
    if (err)
        return err;
    if (count && !slots)
        return store_set_error(store, BALKON_E_INVAL, "signal %s/%s: %zu slots but no array", kind,
                               provider, count);
    for (size_t i = 0; i < count; i++) {
        const char *problem = slot_problem(&slots[i]);
        if (problem) {
            char iso[BALKON_ISO_MAX];
            balkon_format_iso(slots[i].slot_ts_ms, iso, sizeof iso);
            return store_set_error(store, BALKON_E_INVAL, "signal %s/%s: slot %s: %s", kind,
                                   provider, iso, problem);
        }
    }
    if (count == 0)
        return 0;

    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store->db,
                                "INSERT OR REPLACE INTO signals(kind, provider, slot_ts_ms, slot_s,"
                                " value, fetched_ts_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_err(store, rc, "signal put");
    err = store_begin(store);
    if (err)
        goto fail;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, provider, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, fetched_ts_ms);
    for (size_t i = 0; i < count; i++) {
        sqlite3_bind_int64(st, 3, slots[i].slot_ts_ms);
        sqlite3_bind_int(st, 4, slots[i].slot_s);
        sqlite3_bind_double(st, 5, slots[i].value);
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE) {
            err = store_sqlite_err(store, rc, "signal put");
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

int balkon_store_signal_get(struct balkon_store *store, const char *kind, const char *provider,
                            int64_t from_ms, int64_t to_ms, struct balkon_signal_slot **out,
                            size_t *count)
{
    struct balkon_signal_slot *list = NULL;
    size_t len = 0, cap = 0;
    *out = NULL;
    *count = 0;
    int err = check_names(store, kind, provider);
    if (err)
        return err;

    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store->db,
                                "SELECT slot_ts_ms, slot_s, value FROM signals"
                                " WHERE kind = ?1 AND provider = ?2 AND slot_ts_ms >= ?3"
                                " AND slot_ts_ms < ?4 ORDER BY slot_ts_ms",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_err(store, rc, "signal get");
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, provider, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, from_ms);
    sqlite3_bind_int64(st, 4, to_ms);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            cap = cap ? cap * 2 : 96;
            struct balkon_signal_slot *grown = realloc(list, cap * sizeof *grown);
            if (!grown) {
                err = store_set_error(store, BALKON_E_NOMEM, "signal %s/%s: out of memory", kind,
                                      provider);
                goto fail;
            }
            list = grown;
        }
        struct balkon_signal_slot *s = &list[len++];
        s->slot_ts_ms = sqlite3_column_int64(st, 0);
        s->slot_s = (int32_t)sqlite3_column_int(st, 1);
        s->value = sqlite3_column_double(st, 2);
    }
    if (rc != SQLITE_DONE) {
        err = store_sqlite_err(store, rc, "signal get");
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

int balkon_store_signal_coverage(struct balkon_store *store, const char *kind, const char *provider,
                                 int64_t *end_ms, int64_t *fetched_ts_ms)
{
    *end_ms = INT64_MIN;
    *fetched_ts_ms = INT64_MIN;
    int err = check_names(store, kind, provider);
    if (err)
        return err;

    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store->db,
                                "SELECT slot_ts_ms + slot_s * 1000, fetched_ts_ms FROM signals"
                                " WHERE kind = ?1 AND provider = ?2"
                                " ORDER BY slot_ts_ms DESC LIMIT 1",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_err(store, rc, "signal coverage");
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, provider, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *end_ms = sqlite3_column_int64(st, 0);
        *fetched_ts_ms = sqlite3_column_int64(st, 1);
    } else if (rc != SQLITE_DONE) {
        err = store_sqlite_err(store, rc, "signal coverage");
    }
    sqlite3_finalize(st);
    return err;
}
