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

/* What is wrong with one slot, or NULL. */
static const char *slot_problem(const void *slot)
{
    const struct balkon_signal_slot *s = slot;
    const char *problem = store_slot_span_problem(s->slot_ts_ms, s->slot_s);
    if (!problem && !isfinite(s->value))
        problem = "the value is not finite";
    return problem;
}

struct put_rows {
    const char *kind, *provider;
    int64_t fetched_ts_ms;
    const struct balkon_signal_slot *slots;
};

static void bind_row(sqlite3_stmt *st, size_t i, const void *ctx)
{
    const struct put_rows *rows = ctx;
    sqlite3_bind_text(st, 1, rows->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, rows->provider, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, rows->slots[i].slot_ts_ms);
    sqlite3_bind_int(st, 4, rows->slots[i].slot_s);
    sqlite3_bind_double(st, 5, rows->slots[i].value);
    sqlite3_bind_int64(st, 6, rows->fetched_ts_ms);
}

int balkon_store_signal_put(struct balkon_store *store, const char *kind, const char *provider,
                            int64_t fetched_ts_ms, const struct balkon_signal_slot *slots,
                            size_t count)
{
    char what[160];
    int err = store_slot_names(store, "signal", kind, provider, what, sizeof what);
    if (err)
        return err;
    err = store_check_slots(store, what, slots, sizeof *slots, count, slot_problem);
    if (err || count == 0)
        return err;
    struct put_rows rows = {kind, provider, fetched_ts_ms, slots};
    return store_put_rows(store,
                          "INSERT OR REPLACE INTO signals(kind, provider, slot_ts_ms, slot_s,"
                          " value, fetched_ts_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                          "signal put", count, bind_row, &rows);
}

static int read_row(sqlite3_stmt *st, void *item, void *ctx)
{
    struct balkon_signal_slot *s = item;
    s->slot_ts_ms = sqlite3_column_int64(st, 0);
    s->slot_s = (int32_t)sqlite3_column_int(st, 1);
    s->value = sqlite3_column_double(st, 2);
    return 0;
}

int balkon_store_signal_get(struct balkon_store *store, const char *kind, const char *provider,
                            int64_t from_ms, int64_t to_ms, struct balkon_signal_slot **out,
                            size_t *count)
{
    *out = NULL;
    *count = 0;
    char what[160];
    int err = store_slot_names(store, "signal", kind, provider, what, sizeof what);
    if (err)
        return err;

    sqlite3_stmt *st = NULL;
    err = store_prepare(store,
                        "SELECT slot_ts_ms, slot_s, value FROM signals"
                        " WHERE kind = ?1 AND provider = ?2 AND slot_ts_ms >= ?3"
                        " AND slot_ts_ms < ?4 ORDER BY slot_ts_ms",
                        &st, "signal get");
    if (err)
        return err;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, provider, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, from_ms);
    sqlite3_bind_int64(st, 4, to_ms);
    void *list = NULL;
    err = store_read_rows(store, st, what, "signal get", sizeof **out, 96, read_row, NULL, &list,
                          count);
    *out = list;
    return err;
}

int balkon_store_signal_coverage(struct balkon_store *store, const char *kind, const char *provider,
                                 int64_t *end_ms, int64_t *fetched_ts_ms)
{
    *end_ms = INT64_MIN;
    *fetched_ts_ms = INT64_MIN;
    char what[160];
    int err = store_slot_names(store, "signal", kind, provider, what, sizeof what);
    if (err)
        return err;

    sqlite3_stmt *st = NULL;
    err = store_prepare(store,
                        "SELECT slot_ts_ms + slot_s * 1000, fetched_ts_ms FROM signals"
                        " WHERE kind = ?1 AND provider = ?2"
                        " ORDER BY slot_ts_ms DESC LIMIT 1",
                        &st, "signal coverage");
    if (err)
        return err;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, provider, -1, SQLITE_STATIC);
    return store_read_coverage(store, st, "signal coverage", end_ms, fetched_ts_ms);
}
