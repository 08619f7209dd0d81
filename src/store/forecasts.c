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

/* What is wrong with one slot, or NULL. NAN in the band means "no band" and is stored as
 * NULL; an infinite band is a provider bug. */
static const char *slot_problem(const void *slot)
{
    const struct balkon_forecast_slot *s = slot;
    const char *problem = store_slot_span_problem(s->slot_ts_ms, s->slot_s);
    if (problem)
        return problem;
    if (!isfinite(s->value_w))
        return "value_w is not finite";
    if (isinf(s->p10_w) || isinf(s->p90_w))
        return "p10_w or p90_w is infinite (NAN means no band)";
    return NULL;
}

struct put_rows {
    const char *kind, *provider;
    int64_t issued_ts_ms;
    const struct balkon_forecast_slot *slots;
};

static void bind_row(sqlite3_stmt *st, size_t i, const void *ctx)
{
    const struct put_rows *rows = ctx;
    const struct balkon_forecast_slot *s = &rows->slots[i];
    sqlite3_bind_text(st, 1, rows->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, rows->provider, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, s->slot_ts_ms);
    sqlite3_bind_int(st, 4, s->slot_s);
    sqlite3_bind_int64(st, 5, rows->issued_ts_ms);
    sqlite3_bind_double(st, 6, s->value_w);
    store_bind_real_or_null(st, 7, s->p10_w);
    store_bind_real_or_null(st, 8, s->p90_w);
}

int balkon_store_forecast_put(struct balkon_store *store, const char *kind, const char *provider,
                              int64_t issued_ts_ms, const struct balkon_forecast_slot *slots,
                              size_t count)
{
    char what[160];
    int err = store_slot_names(store, "forecast", kind, provider, what, sizeof what);
    if (err)
        return err;
    err = store_check_slots(store, what, slots, sizeof *slots, count, slot_problem);
    if (err || count == 0)
        return err;
    struct put_rows rows = {kind, provider, issued_ts_ms, slots};
    return store_put_rows(store,
                          "INSERT OR REPLACE INTO forecasts(kind, provider, slot_ts_ms,"
                          " slot_s, issued_ts_ms, value_w, p10_w, p90_w)"
                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                          "forecast put", count, bind_row, &rows);
}

static int read_row(sqlite3_stmt *st, void *item, void *ctx)
{
    struct balkon_forecast_slot *s = item;
    s->slot_ts_ms = sqlite3_column_int64(st, 0);
    s->slot_s = (int32_t)sqlite3_column_int(st, 1);
    s->issued_ts_ms = sqlite3_column_int64(st, 2);
    s->value_w = sqlite3_column_double(st, 3);
    s->p10_w = store_column_real_or_nan(st, 4);
    s->p90_w = store_column_real_or_nan(st, 5);
    return 0;
}

/* One issue per slot in [from_ms, to_ms): the newest issued at or before issued_before_ms
 * whose lead (the slot's start minus the issue time) lies in [lead_min_ms, lead_max_ms).
 * max() with bare columns is SQLite's documented way to take the other columns from the
 * row holding the maximum. */
static int select_newest(struct balkon_store *store, const char *kind, const char *provider,
                         int64_t from_ms, int64_t to_ms, int64_t issued_before_ms,
                         int64_t lead_min_ms, int64_t lead_max_ms,
                         struct balkon_forecast_slot **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    char what[160];
    int err = store_slot_names(store, "forecast", kind, provider, what, sizeof what);
    if (err)
        return err;

    sqlite3_stmt *st = NULL;
    err = store_prepare(store,
                        "SELECT slot_ts_ms, slot_s, max(issued_ts_ms), value_w, p10_w,"
                        " p90_w FROM forecasts WHERE kind = ?1 AND provider = ?2"
                        " AND slot_ts_ms >= ?3 AND slot_ts_ms < ?4 AND issued_ts_ms <= ?5"
                        " AND issued_ts_ms <= slot_ts_ms - ?6 AND issued_ts_ms > slot_ts_ms - ?7"
                        " GROUP BY slot_ts_ms ORDER BY slot_ts_ms",
                        &st, "forecast get");
    if (err)
        return err;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, provider, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, from_ms);
    sqlite3_bind_int64(st, 4, to_ms);
    sqlite3_bind_int64(st, 5, issued_before_ms);
    /* Leads beyond a year mean "any": SQLite would turn an overflowing difference into a
     * float, so the open ends are bound as a plain large span. */
    const int64_t any_ms = (int64_t)400 * 86400000;
    sqlite3_bind_int64(st, 6, lead_min_ms < -any_ms ? -any_ms : lead_min_ms);
    sqlite3_bind_int64(st, 7, lead_max_ms > any_ms ? any_ms : lead_max_ms);
    void *list = NULL;
    err = store_read_rows(store, st, what, "forecast get", sizeof **out, 192, read_row, NULL, &list,
                          count);
    *out = list;
    return err;
}

int balkon_store_forecast_get(struct balkon_store *store, const char *kind, const char *provider,
                              int64_t from_ms, int64_t to_ms, int64_t issued_before_ms,
                              struct balkon_forecast_slot **out, size_t *count)
{
    return select_newest(store, kind, provider, from_ms, to_ms, issued_before_ms, INT64_MIN,
                         INT64_MAX, out, count);
}

int balkon_store_forecast_get_ahead(struct balkon_store *store, const char *kind,
                                    const char *provider, int64_t from_ms, int64_t to_ms,
                                    struct balkon_forecast_slot **out, size_t *count)
{
    return select_newest(store, kind, provider, from_ms, to_ms, INT64_MAX, 0, INT64_MAX, out,
                         count);
}

int balkon_store_forecast_get_lead(struct balkon_store *store, const char *kind,
                                   const char *provider, int64_t from_ms, int64_t to_ms,
                                   int64_t lead_min_ms, int64_t lead_max_ms,
                                   struct balkon_forecast_slot **out, size_t *count)
{
    return select_newest(store, kind, provider, from_ms, to_ms, INT64_MAX, lead_min_ms, lead_max_ms,
                         out, count);
}

int balkon_store_forecast_coverage(struct balkon_store *store, const char *kind,
                                   const char *provider, int64_t *issued_ts_ms, int64_t *end_ms)
{
    *issued_ts_ms = INT64_MIN;
    *end_ms = INT64_MIN;
    char what[160];
    int err = store_slot_names(store, "forecast", kind, provider, what, sizeof what);
    if (err)
        return err;

    /* The index forecasts_by_issue holds (kind, provider, issued_ts_ms, slot_ts_ms), so
     * its last entry is the newest issue's last slot: one seek. */
    sqlite3_stmt *st = NULL;
    err = store_prepare(store,
                        "SELECT issued_ts_ms, slot_ts_ms + slot_s * 1000 FROM forecasts"
                        " WHERE kind = ?1 AND provider = ?2"
                        " ORDER BY issued_ts_ms DESC, slot_ts_ms DESC LIMIT 1",
                        &st, "forecast coverage");
    if (err)
        return err;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, provider, -1, SQLITE_STATIC);
    return store_read_coverage(store, st, "forecast coverage", issued_ts_ms, end_ms);
}
