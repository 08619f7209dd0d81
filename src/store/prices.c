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
#include <stdlib.h>
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
static const char *slot_problem(const struct balkon_price_slot *s)
{
    if (s->slot_s <= 0)
        return "slot_s is not positive";
    /* The slot's end must be representable: coverage reports it. */
    if (s->slot_ts_ms > INT64_MAX - (int64_t)s->slot_s * 1000)
        return "the slot ends after the last representable time";
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
    if (count && !slots)
        return store_set_error(store, BALKON_E_INVAL, "prices %s: %zu slots but no array", provider,
                               count);
    for (size_t i = 0; i < count; i++) {
        const char *problem = slot_problem(&slots[i]);
        if (problem) {
            char iso[BALKON_ISO_MAX];
            balkon_format_iso(slots[i].slot_ts_ms, iso, sizeof iso);
            return store_set_error(store, BALKON_E_INVAL, "prices %s: slot %s: %s", provider, iso,
                                   problem);
        }
    }
    return 0;
}

int balkon_store_prices_put(struct balkon_store *store, const char *provider, const char *currency,
                            int64_t fetched_ts_ms, const struct balkon_price_slot *slots,
                            size_t count)
{
    int err = check_put(store, provider, currency, slots, count);
    if (err || count == 0)
        return err;

    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store->db,
                                "INSERT INTO prices(provider, slot_ts_ms, slot_s, price_per_kwh,"
                                " market_per_kwh, currency, fetched_ts_ms)"
                                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                                " ON CONFLICT(provider, slot_ts_ms) DO UPDATE SET"
                                " slot_s = excluded.slot_s, price_per_kwh = excluded.price_per_kwh,"
                                " market_per_kwh = excluded.market_per_kwh,"
                                " currency = excluded.currency,"
                                " fetched_ts_ms = excluded.fetched_ts_ms",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_err(store, rc, "prices put");
    err = store_begin(store);
    if (err)
        goto fail;
    sqlite3_bind_text(st, 1, provider, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, currency, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, fetched_ts_ms);
    for (size_t i = 0; i < count; i++) {
        const struct balkon_price_slot *s = &slots[i];
        sqlite3_bind_int64(st, 2, s->slot_ts_ms);
        sqlite3_bind_int(st, 3, s->slot_s);
        sqlite3_bind_double(st, 4, s->price_per_kwh);
        if (isnan(s->market_per_kwh))
            sqlite3_bind_null(st, 5);
        else
            sqlite3_bind_double(st, 5, s->market_per_kwh);
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE) {
            err = store_sqlite_err(store, rc, "prices put");
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

int balkon_store_prices_get(struct balkon_store *store, const char *provider, int64_t from_ms,
                            int64_t to_ms, struct balkon_price_slot **out, size_t *count,
                            char currency[4])
{
    struct balkon_price_slot *list = NULL;
    size_t len = 0, cap = 0;
    char first_currency[4] = "";
    *out = NULL;
    *count = 0;
    if (currency)
        currency[0] = '\0';
    if (!provider || !provider[0])
        return store_set_error(store, BALKON_E_INVAL, "prices: provider must not be empty");

    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store->db,
                                "SELECT slot_ts_ms, slot_s, price_per_kwh, market_per_kwh, currency"
                                " FROM prices WHERE provider = ?1 AND slot_ts_ms >= ?2"
                                " AND slot_ts_ms < ?3 ORDER BY slot_ts_ms",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_err(store, rc, "prices get");
    sqlite3_bind_text(st, 1, provider, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, from_ms);
    sqlite3_bind_int64(st, 3, to_ms);
    int err = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        /* One currency per answer: a provider whose currency changed (a re-configured
         * tariff) has rows in both, and a caller must not add pounds to euros. */
        const char *row_currency = (const char *)sqlite3_column_text(st, 4);
        if (!row_currency)
            row_currency = "";
        if (len == 0) {
            snprintf(first_currency, sizeof first_currency, "%s", row_currency);
        } else if (strcmp(first_currency, row_currency) != 0) {
            char iso[BALKON_ISO_MAX];
            balkon_format_iso(sqlite3_column_int64(st, 0), iso, sizeof iso);
            err = store_set_error(store, BALKON_E_RANGE,
                                  "prices %s: the range mixes currencies (%s, then %s from %s); "
                                  "ask for a range in one currency",
                                  provider, first_currency, row_currency, iso);
            goto fail;
        }
        if (len == cap) {
            cap = cap ? cap * 2 : 96;
            struct balkon_price_slot *grown = realloc(list, cap * sizeof *grown);
            if (!grown) {
                err = store_set_error(store, BALKON_E_NOMEM, "prices %s: out of memory", provider);
                goto fail;
            }
            list = grown;
        }
        struct balkon_price_slot *s = &list[len++];
        s->slot_ts_ms = sqlite3_column_int64(st, 0);
        s->slot_s = (int32_t)sqlite3_column_int(st, 1);
        s->price_per_kwh = sqlite3_column_double(st, 2);
        s->market_per_kwh =
            sqlite3_column_type(st, 3) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 3);
    }
    if (rc != SQLITE_DONE) {
        err = store_sqlite_err(store, rc, "prices get");
        goto fail;
    }
    sqlite3_finalize(st);
    *out = list;
    *count = len;
    if (currency)
        memcpy(currency, first_currency, sizeof first_currency);
    return 0;

fail:
    sqlite3_finalize(st);
    free(list);
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
    int rc = sqlite3_prepare_v2(store->db,
                                "SELECT slot_ts_ms + slot_s * 1000, fetched_ts_ms FROM prices"
                                " WHERE provider = ?1 ORDER BY slot_ts_ms DESC LIMIT 1",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_err(store, rc, "prices coverage");
    sqlite3_bind_text(st, 1, provider, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    int err = 0;
    if (rc == SQLITE_ROW) {
        *end_ms = sqlite3_column_int64(st, 0);
        *fetched_ts_ms = sqlite3_column_int64(st, 1);
    } else if (rc != SQLITE_DONE) {
        err = store_sqlite_err(store, rc, "prices coverage");
    }
    sqlite3_finalize(st);
    return err;
}
