/* Electricity prices: one row per provider and slot, in the provider's currency. A
 * re-fetch replaces the slots it covers (latest fetch wins); market_per_kwh is NULL where
 * the provider does not tell the wholesale price, and NAN in the API.
 *
 * Statements here are prepared per call rather than kept in the statement cache: prices
 * are written once per fetch and read once per plan, not once per sample, so preparing
 * (tens of microseconds) costs nothing worth a cache slot. */
#include "store_internal.h"

#include "balkon/error.h"
#include "balkon/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static bool is_currency(const char *currency)
{
    if (!currency || strlen(currency) != 3)
        return false;
    for (int i = 0; i < 3; i++)
        if (currency[i] < 'A' || currency[i] > 'Z')
            return false;
    return true;
}

/* What is wrong with one slot, or NULL. */
static const char *slot_problem(const void *slot)
{
    const struct balkon_price_slot *s = slot;
    const char *problem = store_slot_span_problem(s->slot_ts_ms, s->slot_s);
    if (problem)
        return problem;
    if (!isfinite(s->price_per_kwh))
        return "the price is not finite";
    if (isinf(s->market_per_kwh))
        return "the market price is infinite (NAN means unknown)";
    return NULL;
}

/* Everything is checked before the transaction starts, so a bad slot costs no write. */
static int check_put(struct balkon_store *store, const char *provider, const char *currency,
                     const struct balkon_price_slot *slots, size_t count)
{
    if (!provider || !provider[0])
        return store_set_error(store, BALKON_E_INVAL, "prices: provider must not be empty");
    if (!is_currency(currency))
        return store_set_error(store, BALKON_E_INVAL,
                               "prices %s: currency \"%.16s\" is not 3 uppercase letters "
                               "(\"EUR\", \"GBP\")",
                               provider, currency ? currency : "(null)");
    char what[160];
    snprintf(what, sizeof what, "prices %s", provider);
    return store_check_slots(store, what, slots, sizeof *slots, count, slot_problem);
}

struct put_rows {
    const char *provider, *currency;
    int64_t fetched_ts_ms;
    const struct balkon_price_slot *slots;
};

static void bind_row(sqlite3_stmt *st, size_t i, const void *ctx)
{
    const struct put_rows *rows = ctx;
    const struct balkon_price_slot *s = &rows->slots[i];
    sqlite3_bind_text(st, 1, rows->provider, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, s->slot_ts_ms);
    sqlite3_bind_int(st, 3, s->slot_s);
    sqlite3_bind_double(st, 4, s->price_per_kwh);
    store_bind_real_or_null(st, 5, s->market_per_kwh);
    sqlite3_bind_text(st, 6, rows->currency, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, rows->fetched_ts_ms);
}

int balkon_store_prices_put(struct balkon_store *store, const char *provider, const char *currency,
                            int64_t fetched_ts_ms, const struct balkon_price_slot *slots,
                            size_t count)
{
    int err = check_put(store, provider, currency, slots, count);
    if (err || count == 0)
        return err;
    struct put_rows rows = {provider, currency, fetched_ts_ms, slots};
    return store_put_rows(store,
                          "INSERT INTO prices(provider, slot_ts_ms, slot_s, price_per_kwh,"
                          " market_per_kwh, currency, fetched_ts_ms)"
                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                          " ON CONFLICT(provider, slot_ts_ms) DO UPDATE SET"
                          " slot_s = excluded.slot_s, price_per_kwh = excluded.price_per_kwh,"
                          " market_per_kwh = excluded.market_per_kwh,"
                          " currency = excluded.currency,"
                          " fetched_ts_ms = excluded.fetched_ts_ms",
                          "prices put", count, bind_row, &rows);
}

struct read_state {
    struct balkon_store *store;
    const char *provider;
    bool first;
    char currency[4]; /* the first row's */
};

static int read_row(sqlite3_stmt *st, void *item, void *ctx)
{
    struct read_state *r = ctx;
    /* One currency per answer: a provider whose currency changed (a re-configured
     * tariff) has rows in both, and a caller must not add pounds to euros. */
    const char *row_currency = (const char *)sqlite3_column_text(st, 4);
    if (!row_currency)
        row_currency = "";
    if (r->first) {
        snprintf(r->currency, sizeof r->currency, "%s", row_currency);
        r->first = false;
    } else if (strcmp(r->currency, row_currency) != 0) {
        char iso[BALKON_ISO_MAX];
        balkon_format_iso(sqlite3_column_int64(st, 0), iso, sizeof iso);
        return store_set_error(r->store, BALKON_E_RANGE,
                               "prices %s: the range mixes currencies (%s, then %s from %s); "
                               "ask for a range in one currency",
                               r->provider, r->currency, row_currency, iso);
    }
    struct balkon_price_slot *s = item;
    s->slot_ts_ms = sqlite3_column_int64(st, 0);
    s->slot_s = (int32_t)sqlite3_column_int(st, 1);
    s->price_per_kwh = sqlite3_column_double(st, 2);
    s->market_per_kwh = store_column_real_or_nan(st, 3);
    return 0;
}

int balkon_store_prices_get(struct balkon_store *store, const char *provider, int64_t from_ms,
                            int64_t to_ms, struct balkon_price_slot **out, size_t *count,
                            char currency[4])
{
    *out = NULL;
    *count = 0;
    if (currency)
        currency[0] = '\0';
    if (!provider || !provider[0])
        return store_set_error(store, BALKON_E_INVAL, "prices: provider must not be empty");

    sqlite3_stmt *st = NULL;
    int err = store_prepare(store,
                            "SELECT slot_ts_ms, slot_s, price_per_kwh, market_per_kwh, currency"
                            " FROM prices WHERE provider = ?1 AND slot_ts_ms >= ?2"
                            " AND slot_ts_ms < ?3 ORDER BY slot_ts_ms",
                            &st, "prices get");
    if (err)
        return err;
    sqlite3_bind_text(st, 1, provider, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, from_ms);
    sqlite3_bind_int64(st, 3, to_ms);
    char what[160];
    snprintf(what, sizeof what, "prices %s", provider);
    struct read_state r = {.store = store, .provider = provider, .first = true};
    void *list = NULL;
    err = store_read_rows(store, st, what, "prices get", sizeof **out, 96, read_row, &r, &list,
                          count);
    *out = list;
    if (err == 0 && currency)
        memcpy(currency, r.currency, sizeof r.currency);
    return err;
}

int balkon_store_prices_coverage(struct balkon_store *store, const char *provider, int64_t *end_ms,
                                 int64_t *fetched_ts_ms)
{
    *end_ms = INT64_MIN;
    *fetched_ts_ms = INT64_MIN;
    if (!provider || !provider[0])
        return store_set_error(store, BALKON_E_INVAL, "prices: provider must not be empty");

    sqlite3_stmt *st = NULL;
    int err = store_prepare(store,
                            "SELECT slot_ts_ms + slot_s * 1000, fetched_ts_ms FROM prices"
                            " WHERE provider = ?1 ORDER BY slot_ts_ms DESC LIMIT 1",
                            &st, "prices coverage");
    if (err)
        return err;
    sqlite3_bind_text(st, 1, provider, -1, SQLITE_STATIC);
    return store_read_coverage(store, st, "prices coverage", end_ms, fetched_ts_ms);
}
