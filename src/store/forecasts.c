/* Forecasts (kind "pv", "load", …): every issue is kept, one row per kind, provider, slot
 * and issue time, so what was forecast for a slot can later be compared with what
 * happened. Reading picks one issue per slot: the newest one issued by a given time, or
 * the newest one issued by the slot's own start ("ahead", what was known in advance).
 *
 * Both reads are one range search on the primary key (kind, provider, slot_ts_ms,
 * issued_ts_ms), which keeps the issues of a slot next to each other; see migration 2 for
 * the query plan and the index that finds the newest issue for coverage.
 *
 * Statements are prepared per call: forecasts are written once per fetch and read once
 * per plan, so the statement cache is not worth a slot. */
#include "store_internal.h"

#include "balkon/error.h"
#include "balkon/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_names(struct balkon_store *store, const char *kind, const char *provider)
{
    if (!kind || !kind[0])
        return store_set_error(store, BALKON_E_INVAL, "forecast: kind must not be empty");
    if (!provider || !provider[0])
        return store_set_error(store, BALKON_E_INVAL, "forecast %s: provider must not be empty",
                               kind);
    return 0;
}

/* What is wrong with one slot, or NULL. NAN in the band means "no band" and is stored as
 * NULL; an infinite band is a provider bug. */
static const char *slot_problem(const struct balkon_forecast_slot *s)
{
    if (s->slot_s <= 0)
        return "slot_s is not positive";
    if (s->slot_ts_ms > INT64_MAX - (int64_t)s->slot_s * 1000)
        return "the slot ends after the last representable time";
    if (!isfinite(s->value_w))
        return "value_w is not finite";
    if (isinf(s->p10_w) || isinf(s->p90_w))
        return "p10_w or p90_w is infinite (NAN means no band)";
    return NULL;
}

static void bind_real_or_null(sqlite3_stmt *st, int index, double value)
{
    if (isnan(value))
        sqlite3_bind_null(st, index);
    else
        sqlite3_bind_double(st, index, value);
}

static double column_real_or_nan(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL ? NAN : sqlite3_column_double(st, col);
}

int balkon_store_forecast_put(struct balkon_store *store, const char *kind, const char *provider,
                              int64_t issued_ts_ms, const struct balkon_forecast_slot *slots,
                              size_t count)
{
    int err = check_names(store, kind, provider);
    if (err)
        return err;
    if (count && !slots)
        return store_set_error(store, BALKON_E_INVAL, "forecast %s/%s: %zu slots but no array",
                               kind, provider, count);
    for (size_t i = 0; i < count; i++) {
        const char *problem = slot_problem(&slots[i]);
        if (problem) {
            char iso[BALKON_ISO_MAX];
            balkon_format_iso(slots[i].slot_ts_ms, iso, sizeof iso);
            return store_set_error(store, BALKON_E_INVAL, "forecast %s/%s: slot %s: %s", kind,
                                   provider, iso, problem);
        }
    }
    if (count == 0)
        return 0;

    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store->db,
                                "INSERT OR REPLACE INTO forecasts(kind, provider, slot_ts_ms,"
                                " slot_s, issued_ts_ms, value_w, p10_w, p90_w)"
                                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_err(store, rc, "forecast put");
    err = store_begin(store);
    if (err)
        goto fail;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, provider, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, issued_ts_ms);
    for (size_t i = 0; i < count; i++) {
        const struct balkon_forecast_slot *s = &slots[i];
        sqlite3_bind_int64(st, 3, s->slot_ts_ms);
        sqlite3_bind_int(st, 4, s->slot_s);
        sqlite3_bind_double(st, 6, s->value_w);
        bind_real_or_null(st, 7, s->p10_w);
        bind_real_or_null(st, 8, s->p90_w);
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE) {
            err = store_sqlite_err(store, rc, "forecast put");
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

/* One issue per slot in [from_ms, to_ms): the newest issued at or before issued_before_ms
 * and, when ahead, also at or before the slot's start. max() with bare columns is SQLite's
 * documented way to take the other columns from the row holding the maximum. */
static int select_newest(struct balkon_store *store, const char *kind, const char *provider,
                         int64_t from_ms, int64_t to_ms, int64_t issued_before_ms, bool ahead,
                         struct balkon_forecast_slot **out, size_t *count)
{
    struct balkon_forecast_slot *list = NULL;
    size_t len = 0, cap = 0;
    *out = NULL;
    *count = 0;
    int err = check_names(store, kind, provider);
    if (err)
        return err;

    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store->db,
                                "SELECT slot_ts_ms, slot_s, max(issued_ts_ms), value_w, p10_w,"
                                " p90_w FROM forecasts WHERE kind = ?1 AND provider = ?2"
                                " AND slot_ts_ms >= ?3 AND slot_ts_ms < ?4"
                                " AND issued_ts_ms <= ?5 AND (NOT ?6 OR issued_ts_ms <= slot_ts_ms)"
                                " GROUP BY slot_ts_ms ORDER BY slot_ts_ms",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_err(store, rc, "forecast get");
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, provider, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, from_ms);
    sqlite3_bind_int64(st, 4, to_ms);
    sqlite3_bind_int64(st, 5, issued_before_ms);
    sqlite3_bind_int(st, 6, ahead);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            cap = cap ? cap * 2 : 192;
            struct balkon_forecast_slot *grown = realloc(list, cap * sizeof *grown);
            if (!grown) {
                err = store_set_error(store, BALKON_E_NOMEM, "forecast %s/%s: out of memory", kind,
                                      provider);
                goto fail;
            }
            list = grown;
        }
        struct balkon_forecast_slot *s = &list[len++];
        s->slot_ts_ms = sqlite3_column_int64(st, 0);
        s->slot_s = (int32_t)sqlite3_column_int(st, 1);
        s->issued_ts_ms = sqlite3_column_int64(st, 2);
        s->value_w = sqlite3_column_double(st, 3);
        s->p10_w = column_real_or_nan(st, 4);
        s->p90_w = column_real_or_nan(st, 5);
    }
    if (rc != SQLITE_DONE) {
        err = store_sqlite_err(store, rc, "forecast get");
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

int balkon_store_forecast_get(struct balkon_store *store, const char *kind, const char *provider,
                              int64_t from_ms, int64_t to_ms, int64_t issued_before_ms,
                              struct balkon_forecast_slot **out, size_t *count)
{
    return select_newest(store, kind, provider, from_ms, to_ms, issued_before_ms, false, out,
                         count);
}

int balkon_store_forecast_get_ahead(struct balkon_store *store, const char *kind,
                                    const char *provider, int64_t from_ms, int64_t to_ms,
                                    struct balkon_forecast_slot **out, size_t *count)
{
    return select_newest(store, kind, provider, from_ms, to_ms, INT64_MAX, true, out, count);
}

int balkon_store_forecast_coverage(struct balkon_store *store, const char *kind,
                                   const char *provider, int64_t *issued_ts_ms, int64_t *end_ms)
{
    *issued_ts_ms = INT64_MIN;
    *end_ms = INT64_MIN;
    int err = check_names(store, kind, provider);
    if (err)
        return err;

    /* The index forecasts_by_issue holds (kind, provider, issued_ts_ms, slot_ts_ms), so
     * its last entry is the newest issue's last slot: one seek. */
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store->db,
                                "SELECT issued_ts_ms, slot_ts_ms + slot_s * 1000 FROM forecasts"
                                " WHERE kind = ?1 AND provider = ?2"
                                " ORDER BY issued_ts_ms DESC, slot_ts_ms DESC LIMIT 1",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_err(store, rc, "forecast coverage");
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, provider, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *issued_ts_ms = sqlite3_column_int64(st, 0);
        *end_ms = sqlite3_column_int64(st, 1);
    } else if (rc != SQLITE_DONE) {
        err = store_sqlite_err(store, rc, "forecast coverage");
    }
    sqlite3_finalize(st);
    return err;
}
