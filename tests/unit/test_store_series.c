/* Unit tests of prices, forecasts and grid signals in the store (src/store/prices.c,
 * forecasts.c, signals.c) and of schema migration 2, which they need.
 *
 * Each test gets its own database file in a fresh temporary directory, so a second SQLite
 * connection can look at what is really on disk or interfere (install a failing trigger),
 * as another process would. Which forecast issue a read should pick is computed here by
 * brute force over the issues the test wrote, never by the code under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/store.h"
#include "store_fixture.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MS_MIN INT64_C(60000)
#define MS_SLOT INT64_C(900000)
#define MS_HOUR INT64_C(3600000)
/* 2023-11-14T00:00:00Z */
#define T0 INT64_C(1699920000000)

static int setup(void **state)
{
    return store_fixture_setup(state, "/tmp/balkon_series_XXXXXX");
}

static struct balkon_store *open_store(struct fixture *f)
{
    struct balkon_store_options options = {.path = f->path};
    char msg[256];
    int err = balkon_store_open(&options, &f->store, msg, sizeof msg);
    if (err)
        fail_msg("open %s: %d %s", f->path, err, msg);
    return f->store;
}

static void assert_errmsg_has(struct balkon_store *store, const char *part)
{
    const char *msg = balkon_store_errmsg(store);
    if (!strstr(msg, part))
        fail_msg("error message \"%s\" lacks \"%s\"", msg, part);
}

/* Exact comparison is right here: doubles go into SQLite and come back bit for bit. */
static void assert_same_or_both_nan(double actual, double expected)
{
    if (isnan(expected) ? !isnan(actual) : actual != expected)
        fail_msg("expected %.17g, got %.17g", expected, actual);
}

/* --- Prices ------------------------------------------------------------------------- */

static struct balkon_price_slot price(int k, double price_per_kwh, double market_per_kwh)
{
    return (struct balkon_price_slot){T0 + k * MS_SLOT, 900, price_per_kwh, market_per_kwh};
}

static void test_prices_round_trip(void **state)
{
    struct balkon_store *store = open_store(*state);
    const struct balkon_price_slot put[] = {
        price(0, 0.3012, 0.0851),
        price(1, 0.2875, NAN),
        price(2, -0.0125, -0.1190),
        price(3, 0.3333333333333333, 0.1),
    };
    assert_int_equal(balkon_store_prices_put(store, "tibber", "EUR", T0 - MS_HOUR, put, 4), 0);

    struct balkon_price_slot *got = NULL;
    size_t n = 99;
    char currency[4] = "XXX";
    assert_int_equal(
        balkon_store_prices_get(store, "tibber", T0, T0 + 4 * MS_SLOT, &got, &n, currency), 0);
    assert_int_equal(n, 4);
    assert_string_equal(currency, "EUR");
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(got[i].slot_ts_ms, put[i].slot_ts_ms);
        assert_int_equal(got[i].slot_s, 900);
        assert_same_or_both_nan(got[i].price_per_kwh, put[i].price_per_kwh);
        assert_same_or_both_nan(got[i].market_per_kwh, put[i].market_per_kwh);
    }
    free(got);

    /* [from, to): the slot starting at to is left out, the one starting at from is in. */
    assert_int_equal(balkon_store_prices_get(store, "tibber", T0 + MS_SLOT, T0 + 3 * MS_SLOT, &got,
                                             &n, currency),
                     0);
    assert_int_equal(n, 2);
    assert_int_equal(got[0].slot_ts_ms, T0 + MS_SLOT);
    assert_int_equal(got[1].slot_ts_ms, T0 + 2 * MS_SLOT);
    free(got);

    /* Nothing in range, or another provider: NULL, 0 and no currency. */
    got = (struct balkon_price_slot *)put;
    assert_int_equal(balkon_store_prices_get(store, "tibber", T0 + 4 * MS_SLOT, T0 + MS_HOUR * 9,
                                             &got, &n, currency),
                     0);
    assert_null(got);
    assert_int_equal(n, 0);
    assert_string_equal(currency, "");
    assert_int_equal(
        balkon_store_prices_get(store, "awattar", T0, T0 + MS_HOUR, &got, &n, currency), 0);
    assert_null(got);
    assert_int_equal(n, 0);
}

static void test_prices_latest_fetch_wins(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store(f);
    const struct balkon_price_slot first[] = {price(0, 0.30, 0.10), price(1, 0.31, 0.11),
                                              price(2, 0.32, 0.12)};
    const struct balkon_price_slot second[] = {price(1, 0.21, NAN), price(2, 0.22, 0.02),
                                               price(3, 0.23, 0.03)};
    assert_int_equal(balkon_store_prices_put(store, "tibber", "EUR", T0 - 2 * MS_HOUR, first, 3),
                     0);
    assert_int_equal(balkon_store_prices_put(store, "tibber", "EUR", T0 - MS_HOUR, second, 3), 0);

    struct balkon_price_slot *got = NULL;
    size_t n = 0;
    assert_int_equal(balkon_store_prices_get(store, "tibber", T0, T0 + MS_HOUR, &got, &n, NULL), 0);
    assert_int_equal(n, 4);
    assert_same_or_both_nan(got[0].price_per_kwh, 0.30);
    assert_same_or_both_nan(got[0].market_per_kwh, 0.10);
    /* The re-fetch replaces the whole slot, so an unknown market price stays unknown
     * rather than keeping the old one. */
    assert_same_or_both_nan(got[1].price_per_kwh, 0.21);
    assert_same_or_both_nan(got[1].market_per_kwh, NAN);
    assert_same_or_both_nan(got[2].price_per_kwh, 0.22);
    assert_same_or_both_nan(got[3].price_per_kwh, 0.23);
    free(got);

    sqlite3 *db = peer_open(f->path);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM prices"), 4);
    assert_int_equal(peer_int(db, "SELECT fetched_ts_ms FROM prices ORDER BY slot_ts_ms"),
                     T0 - 2 * MS_HOUR);
    assert_int_equal(
        peer_int(db, "SELECT count(*) FROM prices WHERE fetched_ts_ms = 1699916400000"), 3);
    sqlite3_close(db);
}

static void test_prices_currency(void **state)
{
    struct balkon_store *store = open_store(*state);
    const struct balkon_price_slot gbp[] = {price(0, 0.245, NAN), price(2, 0.198, 0.061)};
    assert_int_equal(balkon_store_prices_put(store, "octopus", "GBP", T0, gbp, 2), 0);
    const struct balkon_price_slot eur[] = {price(0, 0.31, 0.09)};
    assert_int_equal(balkon_store_prices_put(store, "tibber", "EUR", T0, eur, 1), 0);

    struct balkon_price_slot *got = NULL;
    size_t n = 0;
    char currency[4] = "";
    assert_int_equal(
        balkon_store_prices_get(store, "octopus", T0, T0 + MS_HOUR, &got, &n, currency), 0);
    assert_int_equal(n, 2);
    assert_string_equal(currency, "GBP");
    free(got);
    assert_int_equal(balkon_store_prices_get(store, "tibber", T0, T0 + MS_HOUR, &got, &n, currency),
                     0);
    assert_int_equal(n, 1);
    assert_string_equal(currency, "EUR");
    free(got);

    static const char *const bad[] = {"gbp", "EU", "EURO", "", "E1R", "GB "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(balkon_store_prices_put(store, "octopus", bad[i], T0, gbp, 2),
                         BALKON_E_INVAL);
        assert_errmsg_has(store, "3 uppercase letters");
    }
    assert_int_equal(balkon_store_prices_put(store, "octopus", NULL, T0, gbp, 2), BALKON_E_INVAL);

    /* A provider whose currency changed: a range in one currency still reads, a range
     * across the change is refused rather than mixing pounds and euros. */
    const struct balkon_price_slot later[] = {price(3, 0.35, NAN)};
    assert_int_equal(balkon_store_prices_put(store, "octopus", "EUR", T0, later, 1), 0);
    assert_int_equal(
        balkon_store_prices_get(store, "octopus", T0, T0 + 3 * MS_SLOT, &got, &n, currency), 0);
    assert_int_equal(n, 2);
    assert_string_equal(currency, "GBP");
    free(got);
    got = (struct balkon_price_slot *)gbp;
    assert_int_equal(
        balkon_store_prices_get(store, "octopus", T0, T0 + MS_HOUR, &got, &n, currency),
        BALKON_E_RANGE);
    assert_null(got);
    assert_int_equal(n, 0);
    assert_errmsg_has(store, "mixes currencies (GBP, then EUR from 2023-11-14T00:45:00Z)");

    /* A re-fetch of a slot replaces its currency too. */
    const struct balkon_price_slot refetch = price(2, 0.30, NAN);
    assert_int_equal(balkon_store_prices_put(store, "octopus", "EUR", T0, &refetch, 1), 0);
    assert_int_equal(
        balkon_store_prices_get(store, "octopus", T0 + MS_SLOT, T0 + MS_HOUR, &got, &n, currency),
        0);
    assert_int_equal(n, 2);
    assert_string_equal(currency, "EUR");
    free(got);
}

static void test_prices_coverage(void **state)
{
    struct balkon_store *store = open_store(*state);
    int64_t end = 0, fetched = 0;
    assert_int_equal(balkon_store_prices_coverage(store, "tibber", &end, &fetched), 0);
    assert_true(end == INT64_MIN);
    assert_true(fetched == INT64_MIN);

    const struct balkon_price_slot day1[] = {price(0, 0.30, NAN), price(95, 0.31, NAN)};
    assert_int_equal(balkon_store_prices_put(store, "tibber", "EUR", T0 - MS_HOUR, day1, 2), 0);
    /* An hourly slot written by an older fetch, for the hour after: the last slot decides. */
    struct balkon_price_slot hour = price(96, 0.29, NAN);
    hour.slot_s = 3600;
    assert_int_equal(balkon_store_prices_put(store, "tibber", "EUR", T0 - 2 * MS_HOUR, &hour, 1),
                     0);
    assert_int_equal(balkon_store_prices_coverage(store, "tibber", &end, &fetched), 0);
    assert_int_equal(end, T0 + 96 * MS_SLOT + MS_HOUR);
    assert_int_equal(fetched, T0 - 2 * MS_HOUR);

    /* Other providers are unaffected. */
    assert_int_equal(balkon_store_prices_coverage(store, "awattar", &end, &fetched), 0);
    assert_true(end == INT64_MIN);
    assert_true(fetched == INT64_MIN);
}

static void test_prices_invalid_input(void **state)
{
    struct balkon_store *store = open_store(*state);
    struct balkon_price_slot slots[] = {price(0, 0.30, NAN), price(1, 0.31, NAN)};
    assert_int_equal(balkon_store_prices_put(store, NULL, "EUR", T0, slots, 2), BALKON_E_INVAL);
    assert_errmsg_has(store, "provider");
    assert_int_equal(balkon_store_prices_put(store, "", "EUR", T0, slots, 2), BALKON_E_INVAL);
    assert_errmsg_has(store, "provider");
    assert_int_equal(balkon_store_prices_put(store, "tibber", "EUR", T0, NULL, 2), BALKON_E_INVAL);

    slots[1].slot_s = 0;
    assert_int_equal(balkon_store_prices_put(store, "tibber", "EUR", T0, slots, 2), BALKON_E_INVAL);
    assert_errmsg_has(store, "slot 2023-11-14T00:15:00Z: slot_s");
    slots[1].slot_s = -900;
    assert_int_equal(balkon_store_prices_put(store, "tibber", "EUR", T0, slots, 2), BALKON_E_INVAL);
    slots[1].slot_s = 900;
    slots[1].market_per_kwh = -INFINITY;
    assert_int_equal(balkon_store_prices_put(store, "tibber", "EUR", T0, slots, 2), BALKON_E_INVAL);
    assert_errmsg_has(store, "slot 2023-11-14T00:15:00Z: the market price");
    slots[1].market_per_kwh = NAN;
    slots[0].slot_ts_ms = INT64_MAX - 1000;
    assert_int_equal(balkon_store_prices_put(store, "tibber", "EUR", T0, slots, 2), BALKON_E_INVAL);
    slots[0].slot_ts_ms = T0;

    struct balkon_price_slot *got = NULL;
    size_t n = 0;
    assert_int_equal(balkon_store_prices_get(store, "", T0, T0 + MS_HOUR, &got, &n, NULL),
                     BALKON_E_INVAL);
    int64_t end, fetched;
    assert_int_equal(balkon_store_prices_coverage(store, NULL, &end, &fetched), BALKON_E_INVAL);
    assert_true(end == INT64_MIN);

    /* Nothing of the refused calls was written; an empty put is fine and writes nothing. */
    assert_int_equal(balkon_store_prices_put(store, "tibber", "EUR", T0, NULL, 0), 0);
    assert_int_equal(balkon_store_prices_coverage(store, "tibber", &end, &fetched), 0);
    assert_true(end == INT64_MIN);
}

/* A put that fails in the middle leaves the provider's prices as they were: a bad value
 * is refused before anything is written, and a write that fails inside SQLite (here an
 * injected trigger) rolls the whole transaction back. */
static void test_prices_put_is_all_or_nothing(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store(f);
    struct balkon_price_slot before[8], update[8];
    for (int k = 0; k < 8; k++) {
        before[k] = price(k, 0.30, 0.10);
        update[k] = price(k, 0.20 + 0.01 * k, NAN);
    }
    assert_int_equal(balkon_store_prices_put(store, "tibber", "EUR", T0 - MS_HOUR, before, 8), 0);

    update[5].price_per_kwh = NAN;
    assert_int_equal(balkon_store_prices_put(store, "tibber", "EUR", T0, update, 8),
                     BALKON_E_INVAL);
    assert_errmsg_has(store, "prices tibber: slot 2023-11-14T01:15:00Z: the price is not finite");
    update[5].price_per_kwh = INFINITY;
    assert_int_equal(balkon_store_prices_put(store, "tibber", "EUR", T0, update, 8),
                     BALKON_E_INVAL);
    update[5].price_per_kwh = 0.25;

    sqlite3 *db = peer_open(f->path);
    char sql[256];
    snprintf(sql, sizeof sql,
             "CREATE TRIGGER fail_one BEFORE UPDATE ON prices WHEN NEW.slot_ts_ms = %lld"
             " BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
             (long long)update[5].slot_ts_ms);
    peer_exec(db, sql);
    assert_int_equal(balkon_store_prices_put(store, "tibber", "EUR", T0, update, 8), BALKON_E_DB);
    assert_errmsg_has(store, "injected failure");
    peer_exec(db, "DROP TRIGGER fail_one");

    assert_int_equal(peer_int(db, "SELECT count(*) FROM prices"), 8);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM prices WHERE price_per_kwh = 0.30"
                                  " AND market_per_kwh = 0.10 AND fetched_ts_ms = 1699916400000"),
                     8);

    /* The store is usable after the rollback, and the same put now goes through. */
    assert_int_equal(balkon_store_prices_put(store, "tibber", "EUR", T0, update, 8), 0);
    assert_int_equal(
        peer_int(db, "SELECT count(*) FROM prices WHERE fetched_ts_ms = 1699920000000"), 8);
    sqlite3_close(db);
}

/* --- Forecasts ---------------------------------------------------------------------- */

struct issue {
    int64_t issued_ts_ms;
    int first_k; /* covers slots T0 + k * 15 min for k in [first_k, last_k] */
    int last_k;
    double base_w; /* value_w of slot k is base_w + k */
};

/* Three issues over overlapping slots. I2 also covers slots before it was issued (as an
 * estimate of the recent past), I3 only the future. Slots -2 and -1 have no issue from
 * before their start; slots 10 and 11 only I1, which the newest issue I3 does not reach. */
static const struct issue issues[] = {
    {T0 - MS_HOUR, 0, 11, 100},     /* I1 */
    {T0 + 2 * MS_SLOT, -2, 7, 200}, /* I2, issued exactly at the start of slot 2 */
    {T0 + 4 * MS_SLOT, 4, 9, 300},  /* I3, issued exactly at the start of slot 4 */
};
#define ISSUE_COUNT (sizeof issues / sizeof issues[0])
#define K_MIN -2
#define K_MAX 11

static void put_issue(struct balkon_store *store, const struct issue *is)
{
    struct balkon_forecast_slot slots[32];
    size_t n = 0;
    for (int k = is->first_k; k <= is->last_k; k++)
        slots[n++] = (struct balkon_forecast_slot){
            .slot_ts_ms = T0 + k * MS_SLOT,
            .slot_s = 900,
            .issued_ts_ms = 12345, /* ignored: the issue time is the argument */
            .value_w = is->base_w + k,
            .p10_w = k % 3 == 0 ? NAN : is->base_w + k - 50,
            .p90_w = k % 3 == 0 ? NAN : is->base_w + k + 50.5,
        };
    assert_int_equal(balkon_store_forecast_put(store, "pv", "solcast", is->issued_ts_ms, slots, n),
                     0);
}

/* The issue a read should pick for slot k, or NULL: brute force over all issues. */
static const struct issue *expected_issue(int k, int64_t issued_before_ms, bool ahead)
{
    const struct issue *best = NULL;
    int64_t slot_ts_ms = T0 + k * MS_SLOT;
    for (size_t i = 0; i < ISSUE_COUNT; i++) {
        const struct issue *is = &issues[i];
        if (k < is->first_k || k > is->last_k || is->issued_ts_ms > issued_before_ms)
            continue;
        if (ahead && is->issued_ts_ms > slot_ts_ms)
            continue;
        if (!best || is->issued_ts_ms > best->issued_ts_ms)
            best = is;
    }
    return best;
}

static void assert_forecast_matches(const struct balkon_forecast_slot *got, size_t n,
                                    int64_t issued_before_ms, bool ahead)
{
    size_t j = 0;
    for (int k = K_MIN; k <= K_MAX; k++) {
        const struct issue *want = expected_issue(k, issued_before_ms, ahead);
        if (!want)
            continue;
        if (j >= n)
            fail_msg("slot %d missing", k);
        assert_int_equal(got[j].slot_ts_ms, T0 + k * MS_SLOT);
        assert_int_equal(got[j].slot_s, 900);
        assert_int_equal(got[j].issued_ts_ms, want->issued_ts_ms);
        assert_same_or_both_nan(got[j].value_w, want->base_w + k);
        j++;
    }
    assert_int_equal(n, j);
}

static void test_forecast_newest_issue_per_slot(void **state)
{
    struct balkon_store *store = open_store(*state);
    /* Written out of order: what counts is the issue time, not the order of writing. */
    put_issue(store, &issues[2]);
    put_issue(store, &issues[0]);
    put_issue(store, &issues[1]);

    const int64_t from = T0 + K_MIN * MS_SLOT, to = T0 + (K_MAX + 1) * MS_SLOT;
    const int64_t limits[] = {INT64_MAX,
                              issues[2].issued_ts_ms,
                              issues[1].issued_ts_ms,
                              issues[1].issued_ts_ms - 1,
                              issues[0].issued_ts_ms,
                              T0 - 2 * MS_HOUR};
    struct balkon_forecast_slot *got = NULL;
    size_t n = 0;
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        assert_int_equal(
            balkon_store_forecast_get(store, "pv", "solcast", from, to, limits[i], &got, &n), 0);
        assert_forecast_matches(got, n, limits[i], false);
        free(got);
    }

    /* Spelled out once, so the brute force above is not the only judge. */
    assert_int_equal(
        balkon_store_forecast_get(store, "pv", "solcast", from, to, INT64_MAX, &got, &n), 0);
    assert_int_equal(n, 14);
    assert_int_equal(got[0].issued_ts_ms, issues[1].issued_ts_ms);  /* slot -2: I2 */
    assert_int_equal(got[5].issued_ts_ms, issues[1].issued_ts_ms);  /* slot 3: I2 */
    assert_int_equal(got[6].issued_ts_ms, issues[2].issued_ts_ms);  /* slot 4: I3 */
    assert_int_equal(got[13].issued_ts_ms, issues[0].issued_ts_ms); /* slot 11: I1 */
    free(got);
    /* issued_before between I1 and I2: I1 everywhere it reaches, nothing before slot 0. */
    assert_int_equal(balkon_store_forecast_get(store, "pv", "solcast", from, to,
                                               issues[1].issued_ts_ms - 1, &got, &n),
                     0);
    assert_int_equal(n, 12);
    assert_int_equal(got[0].slot_ts_ms, T0);
    assert_same_or_both_nan(got[4].value_w, 104);
    free(got);
    /* Before any issue: nothing. */
    got = (struct balkon_forecast_slot *)&issues[0];
    assert_int_equal(
        balkon_store_forecast_get(store, "pv", "solcast", from, to, T0 - 2 * MS_HOUR, &got, &n), 0);
    assert_null(got);
    assert_int_equal(n, 0);
    /* Other kinds and providers are separate. */
    assert_int_equal(
        balkon_store_forecast_get(store, "load", "solcast", from, to, INT64_MAX, &got, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(
        balkon_store_forecast_get(store, "pv", "forecast.solar", from, to, INT64_MAX, &got, &n), 0);
    assert_int_equal(n, 0);
}

/* The issue made within a lead window before each slot: what the planner learns its
 * forecast errors from. */
static void test_forecast_get_lead(void **state)
{
    struct balkon_store *store = open_store(*state);
    for (size_t i = 0; i < ISSUE_COUNT; i++)
        put_issue(store, &issues[i]);
    const int64_t from = T0 + K_MIN * MS_SLOT, to = T0 + (K_MAX + 1) * MS_SLOT;
    struct balkon_forecast_slot *got = NULL;
    size_t n = 0;
    /* 1 to 2 hours ahead: I1 (an hour before slot 0) for slots 0-3, I2 for 6-7 (its last),
     * I3 for 8-9 (its last). */
    assert_int_equal(balkon_store_forecast_get_lead(store, "pv", "solcast", from, to, MS_HOUR,
                                                    2 * MS_HOUR, &got, &n),
                     0);
    static const int want_k[] = {0, 1, 2, 3, 6, 7, 8, 9};
    static const int want_issue[] = {0, 0, 0, 0, 1, 1, 2, 2};
    assert_int_equal(n, 8);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(got[i].slot_ts_ms, T0 + want_k[i] * MS_SLOT);
        assert_int_equal(got[i].issued_ts_ms, issues[want_issue[i]].issued_ts_ms);
    }
    free(got);
    /* Under half an hour ahead: the lead's lower end counts, its upper end does not. */
    assert_int_equal(
        balkon_store_forecast_get_lead(store, "pv", "solcast", from, to, 0, 2 * MS_SLOT, &got, &n),
        0);
    assert_int_equal(n, 4);
    assert_int_equal(got[0].slot_ts_ms, T0 + 2 * MS_SLOT);
    assert_int_equal(got[0].issued_ts_ms, issues[1].issued_ts_ms);
    assert_int_equal(got[3].slot_ts_ms, T0 + 5 * MS_SLOT);
    assert_int_equal(got[3].issued_ts_ms, issues[2].issued_ts_ms);
    free(got);
}

static void test_forecast_get_ahead(void **state)
{
    struct balkon_store *store = open_store(*state);
    for (size_t i = 0; i < ISSUE_COUNT; i++)
        put_issue(store, &issues[i]);

    const int64_t from = T0 + K_MIN * MS_SLOT, to = T0 + (K_MAX + 1) * MS_SLOT;
    struct balkon_forecast_slot *got = NULL;
    size_t n = 0;
    assert_int_equal(balkon_store_forecast_get_ahead(store, "pv", "solcast", from, to, &got, &n),
                     0);
    assert_forecast_matches(got, n, INT64_MAX, true);
    /* Slots -2 and -1 were only forecast afterwards, so they are left out; slot 2 gets I2,
     * issued exactly at its start, slot 1 still I1. */
    assert_int_equal(n, 12);
    assert_int_equal(got[0].slot_ts_ms, T0);
    assert_int_equal(got[1].issued_ts_ms, issues[0].issued_ts_ms);
    assert_int_equal(got[2].issued_ts_ms, issues[1].issued_ts_ms);
    assert_int_equal(got[4].issued_ts_ms, issues[2].issued_ts_ms);
    assert_int_equal(got[11].issued_ts_ms, issues[0].issued_ts_ms);
    free(got);

    /* A sub-range. */
    assert_int_equal(balkon_store_forecast_get_ahead(store, "pv", "solcast", T0 + 3 * MS_SLOT,
                                                     T0 + 5 * MS_SLOT, &got, &n),
                     0);
    assert_int_equal(n, 2);
    assert_same_or_both_nan(got[0].value_w, 203);
    assert_same_or_both_nan(got[1].value_w, 304);
    free(got);
}

static void test_forecast_band_and_reissue(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store(f);
    put_issue(store, &issues[0]);

    struct balkon_forecast_slot *got = NULL;
    size_t n = 0;
    assert_int_equal(
        balkon_store_forecast_get(store, "pv", "solcast", T0, T0 + MS_HOUR, INT64_MAX, &got, &n),
        0);
    assert_int_equal(n, 4);
    for (int k = 0; k < 4; k++) {
        assert_same_or_both_nan(got[k].p10_w, k % 3 == 0 ? NAN : 100 + k - 50);
        assert_same_or_both_nan(got[k].p90_w, k % 3 == 0 ? NAN : 100 + k + 50.5);
    }
    free(got);
    sqlite3 *db = peer_open(f->path);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM forecasts WHERE p10_w IS NULL"
                                  " AND p90_w IS NULL"),
                     4); /* k = 0, 3, 6, 9 */

    /* The same issue again replaces its slots instead of adding rows. */
    struct balkon_forecast_slot again = {T0 + MS_SLOT, 900, 0, 555, NAN, NAN};
    assert_int_equal(
        balkon_store_forecast_put(store, "pv", "solcast", issues[0].issued_ts_ms, &again, 1), 0);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM forecasts"), 12);
    assert_int_equal(balkon_store_forecast_get(store, "pv", "solcast", T0 + MS_SLOT,
                                               T0 + 2 * MS_SLOT, INT64_MAX, &got, &n),
                     0);
    assert_int_equal(n, 1);
    assert_same_or_both_nan(got[0].value_w, 555);
    assert_same_or_both_nan(got[0].p10_w, NAN);
    free(got);

    /* Refused input writes nothing, and says which slot. */
    struct balkon_forecast_slot bad[3] = {
        {T0 + 20 * MS_SLOT, 900, 0, 1, NAN, NAN},
        {T0 + 21 * MS_SLOT, 900, 0, NAN, NAN, NAN},
        {T0 + 22 * MS_SLOT, 900, 0, 3, NAN, NAN},
    };
    assert_int_equal(balkon_store_forecast_put(store, "pv", "solcast", T0, bad, 3), BALKON_E_INVAL);
    assert_errmsg_has(store, "forecast pv/solcast: slot 2023-11-14T05:15:00Z: value_w");
    bad[1].value_w = 2;
    bad[1].p90_w = INFINITY;
    assert_int_equal(balkon_store_forecast_put(store, "pv", "solcast", T0, bad, 3), BALKON_E_INVAL);
    bad[1].p90_w = NAN;
    bad[2].slot_s = 0;
    assert_int_equal(balkon_store_forecast_put(store, "pv", "solcast", T0, bad, 3), BALKON_E_INVAL);
    assert_errmsg_has(store, "slot_s");
    bad[2].slot_s = 900;
    assert_int_equal(balkon_store_forecast_put(store, "", "solcast", T0, bad, 3), BALKON_E_INVAL);
    assert_errmsg_has(store, "kind");
    assert_int_equal(balkon_store_forecast_put(store, "pv", NULL, T0, bad, 3), BALKON_E_INVAL);
    assert_errmsg_has(store, "provider");
    assert_int_equal(
        balkon_store_forecast_get(store, NULL, "solcast", T0, T0 + MS_HOUR, INT64_MAX, &got, &n),
        BALKON_E_INVAL);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM forecasts"), 12);

    /* A failure inside the transaction rolls the whole issue back. */
    peer_exec(db, "CREATE TRIGGER fail_one BEFORE INSERT ON forecasts WHEN NEW.value_w = 3"
                  " BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
    assert_int_equal(balkon_store_forecast_put(store, "pv", "solcast", T0, bad, 3), BALKON_E_DB);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM forecasts"), 12);
    peer_exec(db, "DROP TRIGGER fail_one");
    assert_int_equal(balkon_store_forecast_put(store, "pv", "solcast", T0, bad, 3), 0);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM forecasts"), 15);
    sqlite3_close(db);
}

static void test_forecast_coverage(void **state)
{
    struct balkon_store *store = open_store(*state);
    int64_t issued = 0, end = 0;
    assert_int_equal(balkon_store_forecast_coverage(store, "pv", "solcast", &issued, &end), 0);
    assert_true(issued == INT64_MIN);
    assert_true(end == INT64_MIN);

    for (size_t i = 0; i < ISSUE_COUNT; i++)
        put_issue(store, &issues[i]);
    /* The newest issue (I3) and its own end, although the older I1 reaches further. */
    assert_int_equal(balkon_store_forecast_coverage(store, "pv", "solcast", &issued, &end), 0);
    assert_int_equal(issued, issues[2].issued_ts_ms);
    assert_int_equal(end, T0 + 10 * MS_SLOT);

    assert_int_equal(balkon_store_forecast_coverage(store, "load", "solcast", &issued, &end), 0);
    assert_true(issued == INT64_MIN);
    assert_true(end == INT64_MIN);
    assert_int_equal(balkon_store_forecast_coverage(store, "pv", "", &issued, &end),
                     BALKON_E_INVAL);
}

/* --- Grid signals ------------------------------------------------------------------- */

static void test_signals_kinds_are_independent(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store(f);
    struct balkon_signal_slot share[4], co2[3];
    for (int k = 0; k < 4; k++)
        share[k] = (struct balkon_signal_slot){T0 + k * MS_SLOT, 900, 40.5 + k};
    for (int k = 0; k < 3; k++)
        co2[k] = (struct balkon_signal_slot){T0 + k * MS_SLOT, 900, 380 - 10 * k};
    assert_int_equal(balkon_store_signal_put(store, "renewable_share_pct", "energy-charts",
                                             T0 - MS_HOUR, share, 4),
                     0);
    assert_int_equal(
        balkon_store_signal_put(store, "co2_g_per_kwh", "energy-charts", T0 - MS_HOUR, co2, 3), 0);

    struct balkon_signal_slot *got = NULL;
    size_t n = 0;
    assert_int_equal(balkon_store_signal_get(store, "renewable_share_pct", "energy-charts", T0,
                                             T0 + MS_HOUR, &got, &n),
                     0);
    assert_int_equal(n, 4);
    for (int k = 0; k < 4; k++) {
        assert_int_equal(got[k].slot_ts_ms, T0 + k * MS_SLOT);
        assert_int_equal(got[k].slot_s, 900);
        assert_same_or_both_nan(got[k].value, 40.5 + k);
    }
    free(got);
    assert_int_equal(balkon_store_signal_get(store, "co2_g_per_kwh", "energy-charts", T0,
                                             T0 + MS_HOUR, &got, &n),
                     0);
    assert_int_equal(n, 3);
    assert_same_or_both_nan(got[2].value, 360);
    free(got);

    /* A re-fetch of one kind replaces its slots and leaves the other kind alone. */
    struct balkon_signal_slot refetch = {T0 + MS_SLOT, 900, 99};
    assert_int_equal(
        balkon_store_signal_put(store, "co2_g_per_kwh", "energy-charts", T0, &refetch, 1), 0);
    assert_int_equal(balkon_store_signal_get(store, "co2_g_per_kwh", "energy-charts", T0 + MS_SLOT,
                                             T0 + 2 * MS_SLOT, &got, &n),
                     0);
    assert_int_equal(n, 1);
    assert_same_or_both_nan(got[0].value, 99);
    free(got);
    assert_int_equal(balkon_store_signal_get(store, "renewable_share_pct", "energy-charts",
                                             T0 + MS_SLOT, T0 + 2 * MS_SLOT, &got, &n),
                     0);
    assert_same_or_both_nan(got[0].value, 41.5);
    free(got);

    int64_t end = 0, fetched = 0;
    assert_int_equal(
        balkon_store_signal_coverage(store, "renewable_share_pct", "energy-charts", &end, &fetched),
        0);
    assert_int_equal(end, T0 + 4 * MS_SLOT);
    assert_int_equal(fetched, T0 - MS_HOUR);
    assert_int_equal(
        balkon_store_signal_coverage(store, "co2_g_per_kwh", "energy-charts", &end, &fetched), 0);
    assert_int_equal(end, T0 + 3 * MS_SLOT);
    assert_int_equal(fetched, T0 - MS_HOUR);
    assert_int_equal(
        balkon_store_signal_coverage(store, "grid_signal", "energy-charts", &end, &fetched), 0);
    assert_true(end == INT64_MIN);
    assert_true(fetched == INT64_MIN);
    got = share;
    assert_int_equal(
        balkon_store_signal_get(store, "grid_signal", "energy-charts", T0, T0 + MS_HOUR, &got, &n),
        0);
    assert_null(got);
    assert_int_equal(n, 0);

    /* Refused input writes nothing. */
    share[2].value = NAN;
    assert_int_equal(
        balkon_store_signal_put(store, "renewable_share_pct", "energy-charts", T0, share, 4),
        BALKON_E_INVAL);
    assert_errmsg_has(store, "slot 2023-11-14T00:30:00Z: the value is not finite");
    share[2].value = 1;
    share[3].slot_s = -1;
    assert_int_equal(
        balkon_store_signal_put(store, "renewable_share_pct", "energy-charts", T0, share, 4),
        BALKON_E_INVAL);
    share[3].slot_s = 900;
    assert_int_equal(balkon_store_signal_put(store, "", "energy-charts", T0, share, 4),
                     BALKON_E_INVAL);
    assert_int_equal(balkon_store_signal_put(store, "grid_signal", NULL, T0, share, 4),
                     BALKON_E_INVAL);
    sqlite3 *db = peer_open(f->path);
    assert_int_equal(
        peer_int(db, "SELECT count(*) FROM signals WHERE fetched_ts_ms = 1699920000000"), 1);

    /* A failure inside the transaction (the third slot) rolls back the first two. */
    peer_exec(db,
              "CREATE TRIGGER fail_one BEFORE INSERT ON signals WHEN NEW.slot_ts_ms = 1699921800000"
              " BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
    assert_int_equal(
        balkon_store_signal_put(store, "renewable_share_pct", "energy-charts", T0, share, 4),
        BALKON_E_DB);
    assert_errmsg_has(store, "injected failure");
    peer_exec(db, "DROP TRIGGER fail_one");
    assert_int_equal(
        peer_int(db, "SELECT count(*) FROM signals WHERE fetched_ts_ms = 1699920000000"), 1);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM signals"), 7);
    sqlite3_close(db);
}

/* --- Schema ------------------------------------------------------------------------- */

/* Forecasts and the command log go after their retention, in bounded chunks, oldest
 * first; newer rows and other tables stay. */
static void test_prune_history(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store(f);
    struct balkon_forecast_slot slots[10];
    for (int i = 0; i < 10; i++)
        slots[i] = (struct balkon_forecast_slot){T0 + i * MS_HOUR, 3600, 0, 100.0 * i, NAN, NAN};
    assert_int_equal(balkon_store_forecast_put(store, "pv", "a", T0 - MS_HOUR, slots, 10), 0);
    assert_int_equal(balkon_store_forecast_put(store, "pv", "a", T0, slots, 10), 0);
    assert_int_equal(balkon_store_forecast_put(store, "load", "b", T0, slots, 10), 0);
    for (int i = 0; i < 6; i++) {
        struct balkon_command_record record = {.ts_ms = T0 + i * MS_HOUR};
        snprintf(record.device_id, sizeof record.device_id, "bat");
        snprintf(record.command, sizeof record.command, "setpoint");
        snprintf(record.result, sizeof record.result, "ok");
        assert_int_equal(balkon_store_command_log(store, &record), 0);
    }
    /* Slots 0..4 and commands 0..2 are due: 5 + 5 + 5 forecast rows and 3 commands. A
     * budget of 7 takes the first pair's 7 oldest rows (whole slots first). */
    int64_t deleted = 0;
    assert_int_equal(
        balkon_store_prune_history(store, T0 + 5 * MS_HOUR, T0 + 3 * MS_HOUR, 7, &deleted), 0);
    assert_true(deleted <= 7 && deleted > 0);
    int64_t total = deleted;
    while (deleted > 0) {
        assert_int_equal(
            balkon_store_prune_history(store, T0 + 5 * MS_HOUR, T0 + 3 * MS_HOUR, 7, &deleted), 0);
        total += deleted;
    }
    assert_int_equal(total, 18);
    balkon_store_flush(store);
    sqlite3 *db = peer_open(f->path);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM forecasts"), 15);
    assert_int_equal(peer_int(db, "SELECT min(slot_ts_ms) FROM forecasts") - T0, 5 * MS_HOUR);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM command_log"), 3);
    assert_int_equal(peer_int(db, "SELECT min(ts_ms) FROM command_log") - T0, 3 * MS_HOUR);
    sqlite3_close(db);
}

static void test_fresh_database_has_latest_schema(void **state)
{
    struct fixture *f = *state;
    struct balkon_store *store = open_store(f);
    assert_int_equal(balkon_store_schema_latest(), 6);
    assert_int_equal(balkon_store_schema_version(store), 6);

    sqlite3 *db = peer_open(f->path);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM pragma_table_list WHERE name = 'signals'"
                                  " AND strict = 1 AND wr = 1"),
                     1);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM pragma_table_info('prices') WHERE name"
                                  " IN ('price_per_kwh', 'market_per_kwh', 'currency')"),
                     3);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM pragma_index_list('forecasts')"
                                  " WHERE name = 'forecasts_by_issue'"),
                     1);
    sqlite3_close(db);
}

/* A version-1 file, built by hand with the version-1 definitions of the tables that open
 * and migrations 2 and 5 touch, holding prices written before currencies existed and a
 * command logged before senders were. */
static void test_migration_from_version_1_keeps_prices(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = peer_open(f->path);
    peer_exec(
        db,
        "CREATE TABLE series (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
        "  unit TEXT NOT NULL DEFAULT '') STRICT;"
        "CREATE TABLE store_meta (key TEXT PRIMARY KEY, value_int INTEGER NOT NULL)"
        "  STRICT, WITHOUT ROWID;"
        "CREATE TABLE prices (provider TEXT NOT NULL, slot_ts_ms INTEGER NOT NULL,"
        "  slot_s INTEGER NOT NULL CHECK (slot_s > 0), price_eur_per_kwh REAL NOT NULL,"
        "  market_eur_per_kwh REAL, fetched_ts_ms INTEGER NOT NULL,"
        "  PRIMARY KEY (provider, slot_ts_ms)) STRICT, WITHOUT ROWID;"
        "CREATE TABLE forecasts (kind TEXT NOT NULL, provider TEXT NOT NULL,"
        "  slot_ts_ms INTEGER NOT NULL, slot_s INTEGER NOT NULL CHECK (slot_s > 0),"
        "  issued_ts_ms INTEGER NOT NULL, value_w REAL NOT NULL, p10_w REAL, p90_w REAL,"
        "  PRIMARY KEY (kind, provider, slot_ts_ms, issued_ts_ms)) STRICT, WITHOUT ROWID;"
        "CREATE TABLE plans (id INTEGER PRIMARY KEY, created_ts_ms INTEGER NOT NULL,"
        "  strategy TEXT NOT NULL, horizon_start_ts_ms INTEGER NOT NULL,"
        "  slot_s INTEGER NOT NULL CHECK (slot_s > 0), summary_json TEXT NOT NULL DEFAULT '{}') "
        "STRICT;"
        "CREATE TABLE plan_slots (plan_id INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,"
        "  slot_ts_ms INTEGER NOT NULL, mode TEXT NOT NULL, battery_w REAL NOT NULL,"
        "  soc_pct REAL NOT NULL, grid_w REAL NOT NULL, cost_eur REAL NOT NULL,"
        "  PRIMARY KEY (plan_id, slot_ts_ms)) STRICT, WITHOUT ROWID;"
        "CREATE TABLE command_log (id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL,"
        "  device_id TEXT NOT NULL, command TEXT NOT NULL, value TEXT, result TEXT NOT NULL)"
        "  STRICT;"
        "INSERT INTO command_log(ts_ms, device_id, command, value, result)"
        "  VALUES (1699920000000, 'plug', 'switch', '1', 'ok');"
        "INSERT INTO prices VALUES ('awattar', 1699920000000, 900, 0.3125, 0.0875,"
        "  1699916400000);"
        "INSERT INTO prices VALUES ('awattar', 1699920900000, 900, 0.2950, NULL,"
        "  1699916400000);"
        "INSERT INTO forecasts VALUES ('pv', 'solcast', 1699920000000, 900,"
        "  1699916400000, 420, NULL, 510);"
        "PRAGMA user_version = 1;");
    sqlite3_close(db);

    struct balkon_store *store = open_store(f);
    assert_int_equal(balkon_store_schema_version(store), balkon_store_schema_latest());

    struct balkon_price_slot *got = NULL;
    size_t n = 0;
    char currency[4] = "";
    assert_int_equal(
        balkon_store_prices_get(store, "awattar", T0, T0 + MS_HOUR, &got, &n, currency), 0);
    assert_int_equal(n, 2);
    assert_string_equal(currency, "EUR");
    assert_int_equal(got[0].slot_ts_ms, T0);
    assert_int_equal(got[0].slot_s, 900);
    assert_same_or_both_nan(got[0].price_per_kwh, 0.3125);
    assert_same_or_both_nan(got[0].market_per_kwh, 0.0875);
    assert_same_or_both_nan(got[1].price_per_kwh, 0.2950);
    assert_same_or_both_nan(got[1].market_per_kwh, NAN);
    free(got);
    int64_t end, fetched;
    assert_int_equal(balkon_store_prices_coverage(store, "awattar", &end, &fetched), 0);
    assert_int_equal(end, T0 + 2 * MS_SLOT);
    assert_int_equal(fetched, T0 - MS_HOUR);

    struct balkon_forecast_slot *fc = NULL;
    assert_int_equal(
        balkon_store_forecast_get(store, "pv", "solcast", T0, T0 + MS_SLOT, INT64_MAX, &fc, &n), 0);
    assert_int_equal(n, 1);
    assert_same_or_both_nan(fc[0].value_w, 420);
    assert_same_or_both_nan(fc[0].p10_w, NAN);
    assert_same_or_both_nan(fc[0].p90_w, 510);
    free(fc);

    /* The old command is kept; it says no sender and no id. */
    struct balkon_command_record *commands = NULL;
    assert_int_equal(balkon_store_command_list(store, "plug", 10, &commands, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(commands[0].result, "ok");
    assert_string_equal(commands[0].source, "");
    assert_int_equal(commands[0].request_id, 0);
    free(commands);

    /* The migrated table takes new rows in another currency and signals work. */
    const struct balkon_price_slot gbp = {T0, 900, 0.24, NAN};
    assert_int_equal(balkon_store_prices_put(store, "octopus", "GBP", T0, &gbp, 1), 0);
    const struct balkon_signal_slot sig = {T0, 900, 2};
    assert_int_equal(balkon_store_signal_put(store, "grid_signal", "stromgedacht", T0, &sig, 1), 0);
    db = peer_open(f->path);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM prices WHERE currency = 'EUR'"), 2);
    assert_int_equal(peer_int(db, "SELECT count(*) FROM prices WHERE currency = 'GBP'"), 1);
    sqlite3_close(db);
}

/* ":memory:" works as well as a file. */
static void test_in_memory_store(void **state)
{
    (void)state;
    struct balkon_store_options options = {.path = ":memory:"};
    struct balkon_store *store = NULL;
    char msg[256];
    assert_int_equal(balkon_store_open(&options, &store, msg, sizeof msg), 0);
    const struct balkon_price_slot p = {T0, 900, 0.3, NAN};
    assert_int_equal(balkon_store_prices_put(store, "tibber", "EUR", T0, &p, 1), 0);
    int64_t end, fetched;
    assert_int_equal(balkon_store_prices_coverage(store, "tibber", &end, &fetched), 0);
    assert_int_equal(end, T0 + MS_SLOT);
    balkon_store_close(store);
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, store_fixture_teardown)

int main(void)
{
    balkon_log_set_level(BALKON_LOG_WARN); /* migrations log a notice per fresh file */
    const struct CMUnitTest tests[] = {
        TEST(test_prices_round_trip),
        TEST(test_prices_latest_fetch_wins),
        TEST(test_prices_currency),
        TEST(test_prices_coverage),
        TEST(test_prices_invalid_input),
        TEST(test_prices_put_is_all_or_nothing),
        TEST(test_forecast_newest_issue_per_slot),
        TEST(test_forecast_get_ahead),
        TEST(test_forecast_get_lead),
        TEST(test_forecast_band_and_reissue),
        TEST(test_forecast_coverage),
        TEST(test_signals_kinds_are_independent),
        TEST(test_fresh_database_has_latest_schema),
        TEST(test_prune_history),
        TEST(test_migration_from_version_1_keeps_prices),
        TEST(test_in_memory_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
