/* The providers module: runs every configured provider on its own rhythm, on the loop.
 *
 * A run builds the provider's request(s) (one per PV plane for single-plane APIs), fetches
 * them with libcurl multi (following pagination on the same host), parses, normalises onto
 * 15-minute slots, stores and publishes the result. A failed run keeps the stored data,
 * marks the status failing and retries with exponential backoff and jitter, honouring
 * Retry-After and a provider's own retry-at. One provider's failure never delays another.
 *
 * Rhythms: day-ahead prices are fetched when tomorrow is not stored yet and then each day
 * after their publication hour, every 15 minutes until tomorrow is there; forecasts and
 * signals every interval_min with ±10 % jitter; local tariffs daily. At start the stored
 * coverage decides, so a restart does not refetch what the database already holds. */
#include "balkon/bus.h"
#include "balkon/config.h"
#include "balkon/error.h"
#include "balkon/url.h"
#include "balkon/http_client.h"
#include "balkon/log.h"
#include "balkon/module.h"
#include "balkon/provider.h"
#include "balkon/store.h"
#include "balkon/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PAGES 20
#define RETRY_MIN_MS (30 * BALKON_MS_PER_S)
#define RETRY_MAX_MS BALKON_MS_PER_HOUR
#define DAY_AHEAD_RETRY_MS (15 * BALKON_MS_PER_MIN)

struct fetcher;

struct fetch_state {
    struct fetcher *fetcher;
    const struct balkon_provider *provider;
    struct balkon_provider_config config; /* a copy: the running config may be swapped */
    uv_timer_t timer;
    bool running;
    int part;
    int part_count;
    int page;
    char request_origin[1024]; /* the run's first URL: pages must stay on its origin */
    struct provider_result result;
    struct provider_slot *combined; /* the parts' slots, summed per slot (PV planes) */
    size_t combined_count;
    struct ev_provider_status status;
    size_t run_hole_count; /* holes the normaliser found in this run's parts */
    int64_t run_first_hole_ms;
    int stale_runs; /* runs in a row whose reply held only past data */
};

struct fetcher {
    struct balkon_ctx *ctx;
    struct balkon_http_client *http;
    struct fetch_state *states;
    size_t count;
    bool closing;
    uint64_t rng;
};

static const char *kind_name(enum provider_kind kind)
{
    return kind == PROVIDER_KIND_PRICE ? "price" : kind == PROVIDER_KIND_PV ? "pv" : "signal";
}

/* xorshift64*: jitter needs no quality, only to differ between providers and runs. */
static double jitter(struct fetcher *f)
{
    f->rng ^= f->rng >> 12;
    f->rng ^= f->rng << 25;
    f->rng ^= f->rng >> 27;
    return (double)((f->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static int64_t now_ms(const struct fetch_state *s)
{
    return balkon_clock_now_ms(&s->fetcher->ctx->clock);
}

static void run_cb(uv_timer_t *timer);

static void schedule_at(struct fetch_state *s, int64_t when_ms)
{
    int64_t delay_ms = when_ms - now_ms(s);
    if (delay_ms < 0)
        delay_ms = 0;
    s->status.next_run_ms = now_ms(s) + delay_ms;
    uv_timer_start(&s->timer, run_cb,
                   delay_ms ? balkon_clock_wall_ms(&s->fetcher->ctx->clock, delay_ms) : 0, 0);
}

static int64_t interval_ms(const struct fetch_state *s)
{
    double minutes =
        s->config.interval_min > 0 ? s->config.interval_min : s->provider->default_interval_min;
    return (int64_t)((minutes > 0 ? minutes : 60) * 60000.0);
}

/* When a day-ahead provider should run next, given what is stored until end_ms. */
static int64_t next_day_ahead_ms(struct fetch_state *s, int64_t end_ms)
{
    int64_t now = now_ms(s);
    int64_t tomorrow_end = balkon_local_midnight_ms(now, 2);
    int64_t today_end = balkon_local_midnight_ms(now, 1);
    int64_t publication =
        balkon_local_midnight_ms(now, 0) + s->provider->publication_hour * BALKON_MS_PER_HOUR;
    int64_t spread = (int64_t)(jitter(s->fetcher) * 10 * BALKON_MS_PER_MIN);
    if (end_ms >= tomorrow_end) /* tomorrow is there: come back after tomorrow's publication */
        return today_end + s->provider->publication_hour * BALKON_MS_PER_HOUR + spread;
    if (end_ms >= today_end && now < publication) /* today is there, tomorrow not out yet */
        return publication + spread;
    return now; /* something is missing that should be available: fetch now */
}

static int64_t data_end_ms(struct fetch_state *s, int64_t *fetched_ms)
{
    struct balkon_store *store = s->fetcher->ctx->store;
    int64_t end_ms = INT64_MIN, issued_ms = INT64_MIN;
    *fetched_ms = INT64_MIN;
    switch (s->provider->kind) {
    case PROVIDER_KIND_PRICE:
        balkon_store_prices_coverage(store, s->config.id, &end_ms, fetched_ms);
        break;
    case PROVIDER_KIND_PV:
        balkon_store_forecast_coverage(store, "pv", s->config.id, &issued_ms, &end_ms);
        *fetched_ms = issued_ms;
        break;
    case PROVIDER_KIND_SIGNAL:
        balkon_store_signal_coverage(store, s->provider->value_kind, s->config.id, &end_ms,
                                     fetched_ms);
        break;
    }
    return end_ms;
}

static bool is_stale(struct fetch_state *s)
{
    int64_t now = now_ms(s);
    if (s->status.last_success_ms == INT64_MIN)
        return true;
    int64_t age_ms = now - s->status.last_success_ms;
    switch (s->provider->schedule) {
    case PROVIDER_SCHEDULE_DAY_AHEAD:
        return s->status.data_until_ms < balkon_local_midnight_ms(now, 1) ||
               age_ms > 26 * BALKON_MS_PER_HOUR;
    case PROVIDER_SCHEDULE_INTERVAL:
        return age_ms > 2 * interval_ms(s) + 5 * BALKON_MS_PER_MIN;
    case PROVIDER_SCHEDULE_LOCAL:
        return s->status.data_until_ms < balkon_local_midnight_ms(now, 1);
    }
    return false;
}

static void publish_status(struct fetch_state *s)
{
    s->status.stale = is_stale(s);
    balkon_bus_publish(s->fetcher->ctx->bus, BUS_EV_PROVIDER_STATUS, &s->status);
}

/* The states mirror the running config's providers (they restart when those change). */
static bool is_primary_price(const struct fetch_state *s)
{
    const struct balkon_provider_config *primary =
        balkon_provider_primary(s->fetcher->ctx->config, PROVIDER_KIND_PRICE);
    return primary && strcmp(primary->id, s->config.id) == 0;
}

/* Loads what the store holds for [from, to) and publishes it, so subscribers start with the
 * last good data after a restart. */
static void publish_stored(struct fetch_state *s, int64_t from_ms, int64_t to_ms)
{
    struct balkon_store *store = s->fetcher->ctx->store;
    struct balkon_bus *bus = s->fetcher->ctx->bus;
    switch (s->provider->kind) {
    case PROVIDER_KIND_PRICE: {
        struct ev_prices ev = {.primary = is_primary_price(s)};
        struct balkon_price_slot *slots = NULL;
        if (balkon_store_prices_get(store, s->config.id, from_ms, to_ms, &slots, &ev.count,
                                    ev.currency) == 0 &&
            ev.count) {
            snprintf(ev.provider, sizeof ev.provider, "%s", s->config.id);
            ev.slots = slots;
            balkon_bus_publish(bus, BUS_EV_PRICES, &ev);
        }
        free(slots);
        break;
    }
    case PROVIDER_KIND_PV: {
        struct ev_forecast ev = {.kind = "pv"};
        struct balkon_forecast_slot *slots = NULL;
        if (balkon_store_forecast_get(store, "pv", s->config.id, from_ms, to_ms, INT64_MAX, &slots,
                                      &ev.count) == 0 &&
            ev.count) {
            snprintf(ev.provider, sizeof ev.provider, "%s", s->config.id);
            ev.issued_ts_ms = slots[ev.count - 1].issued_ts_ms;
            ev.slots = slots;
            balkon_bus_publish(bus, BUS_EV_FORECAST, &ev);
        }
        free(slots);
        break;
    }
    case PROVIDER_KIND_SIGNAL: {
        const char *kinds[2] = {s->provider->value_kind, s->provider->aux_kind};
        for (int k = 0; k < 2 && kinds[k]; k++) {
            struct ev_signal ev = {0};
            struct balkon_signal_slot *slots = NULL;
            if (balkon_store_signal_get(store, kinds[k], s->config.id, from_ms, to_ms, &slots,
                                        &ev.count) == 0 &&
                ev.count) {
                snprintf(ev.kind, sizeof ev.kind, "%s", kinds[k]);
                snprintf(ev.provider, sizeof ev.provider, "%s", s->config.id);
                ev.slots = slots;
                balkon_bus_publish(bus, BUS_EV_SIGNAL, &ev);
            }
            free(slots);
        }
        break;
    }
    }
}

static void finish_run(struct fetch_state *s)
{
    s->running = false;
    provider_result_free(&s->result);
    free(s->combined);
    s->combined = NULL;
    s->combined_count = 0;
}

/* The n-th retry's delay (n ≥ 1): 30 s doubling up to an hour, ±20 % jitter. */
static int64_t backoff_ms(struct fetch_state *s, int n)
{
    int shift = n - 1 < 7 ? n - 1 : 7;
    int64_t delay_ms = RETRY_MIN_MS << (shift > 0 ? shift : 0);
    if (delay_ms > RETRY_MAX_MS)
        delay_ms = RETRY_MAX_MS;
    return (int64_t)((double)delay_ms * (0.8 + 0.4 * jitter(s->fetcher)));
}

/* code: the fault code the dashboard translates: a provider_error_token, or for no answer
 * balkon_http_fault's ("timeout", "unreachable" …), "failed" for our own trouble. */
static void fail_run(struct fetch_state *s, const char *code, const char *error, long retry_after_s,
                     int64_t retry_at_ms)
{
    int64_t now = now_ms(s);
    s->status.state = PROVIDER_STATE_FAILING;
    s->status.consecutive_failures++;
    snprintf(s->status.last_error, sizeof s->status.last_error, "%s", error);
    snprintf(s->status.last_error_code, sizeof s->status.last_error_code, "%s", code);
    int64_t when_ms = now + backoff_ms(s, s->status.consecutive_failures);
    if (retry_after_s >= 0 && now + retry_after_s * BALKON_MS_PER_S > when_ms)
        when_ms = now + retry_after_s * BALKON_MS_PER_S;
    if (retry_at_ms != INT64_MIN && retry_at_ms > when_ms)
        when_ms = retry_at_ms;
    /* Log the first failure and every tenth, not every retry of a provider down for days. */
    if (s->status.consecutive_failures == 1 || s->status.consecutive_failures % 10 == 0)
        log_warn("providers", "%s: %s (attempt %d; keeping the stored data, retrying in %lld s)",
                 s->config.id, error, s->status.consecutive_failures,
                 (long long)((when_ms - now) / 1000));
    finish_run(s);
    schedule_at(s, when_ms);
    publish_status(s);
}

/* A reply that held only past data: stored (it is what the source says), but not a success.
 * The provider shows "stale" with a warning and retries with the failures' backoff, so a
 * source stuck on yesterday is neither trusted nor hammered. */
static void stale_run(struct fetch_state *s, int64_t reply_end_ms)
{
    int64_t now = now_ms(s);
    s->stale_runs++;
    int64_t when_ms = now + backoff_ms(s, s->stale_runs);
    char until[BALKON_ISO_MAX];
    if (reply_end_ms == INT64_MIN)
        snprintf(until, sizeof until, "(nothing)");
    else
        balkon_format_iso(reply_end_ms, until, sizeof until);
    snprintf(s->status.warning, sizeof s->status.warning,
             "the reply holds only past data (until %s); retrying in %lld s", until,
             (long long)((when_ms - now) / 1000));
    s->status.state = PROVIDER_STATE_STALE;
    s->status.slot_count = s->combined_count;
    s->status.rejected_count = s->result.rejected_count;
    if (s->stale_runs == 1 || s->stale_runs % 10 == 0)
        log_warn("providers", "%s: %s (attempt %d)", s->config.id, s->status.warning,
                 s->stale_runs);
    finish_run(s);
    schedule_at(s, when_ms);
    publish_status(s);
}

/* Adds one part's slots into the run's combined series (PV planes add up). */
static int combine(struct fetch_state *s, const struct provider_slots *slots)
{
    for (size_t i = 0; i < slots->count; i++) {
        const struct provider_slot *slot = &slots->items[i];
        struct provider_slot *match = NULL;
        for (size_t j = 0; j < s->combined_count && !match; j++)
            if (s->combined[j].start_ms == slot->start_ms)
                match = &s->combined[j];
        if (match) {
            match->value += slot->value;
            match->p10 = isnan(match->p10) ? slot->p10 : match->p10 + slot->p10;
            match->p90 = isnan(match->p90) ? slot->p90 : match->p90 + slot->p90;
            continue;
        }
        struct provider_slot *grown = realloc(s->combined, (s->combined_count + 1) * sizeof *grown);
        if (!grown)
            return BALKON_E_NOMEM;
        s->combined = grown;
        s->combined[s->combined_count++] = *slot;
    }
    return 0;
}

static int compare_slot_start(const void *a, const void *b)
{
    const struct provider_slot *x = a, *y = b;
    return x->start_ms < y->start_ms ? -1 : x->start_ms > y->start_ms;
}

static void store_and_publish(struct fetch_state *s)
{
    struct balkon_ctx *ctx = s->fetcher->ctx;
    int64_t now = now_ms(s);
    size_t n = s->combined_count;
    qsort(s->combined, n, sizeof *s->combined, compare_slot_start);
    int rc = 0;
    switch (s->provider->kind) {
    case PROVIDER_KIND_PRICE: {
        struct balkon_price_slot *slots = calloc(n ? n : 1, sizeof *slots);
        if (!slots) {
            fail_run(s, "failed", "out of memory", -1, INT64_MIN);
            return;
        }
        double vat = 1 + s->config.vat_pct / 100.0;
        for (size_t i = 0; i < n; i++) {
            double value = s->combined[i].value;
            slots[i] = (struct balkon_price_slot){
                .slot_ts_ms = s->combined[i].start_ms,
                .slot_s = 900,
                .price_per_kwh =
                    s->result.consumer_price ? value : (value + s->config.charges_per_kwh) * vat,
                .market_per_kwh = s->result.consumer_price ? NAN : value};
        }
        rc = balkon_store_prices_put(ctx->store, s->config.id, s->result.currency, now, slots, n);
        if (rc == 0) {
            struct ev_prices ev = {.count = n, .slots = slots, .primary = is_primary_price(s)};
            snprintf(ev.provider, sizeof ev.provider, "%s", s->config.id);
            snprintf(ev.currency, sizeof ev.currency, "%s", s->result.currency);
            balkon_bus_publish(ctx->bus, BUS_EV_PRICES, &ev);
        }
        free(slots);
        break;
    }
    case PROVIDER_KIND_PV: {
        struct balkon_forecast_slot *slots = calloc(n ? n : 1, sizeof *slots);
        if (!slots) {
            fail_run(s, "failed", "out of memory", -1, INT64_MIN);
            return;
        }
        /* The planes' sum goes through one inverter: cap it at the connection's AC limit. */
        double cap_w = ctx->config->inverter.ac_limit_w;
        for (size_t i = 0; i < n; i++)
            slots[i] = (struct balkon_forecast_slot){
                .slot_ts_ms = s->combined[i].start_ms,
                .slot_s = 900,
                .issued_ts_ms = now,
                .value_w = fmin(s->combined[i].value, cap_w),
                .p10_w = isnan(s->combined[i].p10) ? NAN : fmin(s->combined[i].p10, cap_w),
                .p90_w = isnan(s->combined[i].p90) ? NAN : fmin(s->combined[i].p90, cap_w)};
        rc = balkon_store_forecast_put(ctx->store, "pv", s->config.id, now, slots, n);
        if (rc == 0) {
            struct ev_forecast ev = {.kind = "pv", .issued_ts_ms = now, .count = n, .slots = slots};
            snprintf(ev.provider, sizeof ev.provider, "%s", s->config.id);
            balkon_bus_publish(ctx->bus, BUS_EV_FORECAST, &ev);
        }
        free(slots);
        break;
    }
    case PROVIDER_KIND_SIGNAL: {
        struct balkon_signal_slot *slots = calloc(n ? n : 1, sizeof *slots);
        if (!slots) {
            fail_run(s, "failed", "out of memory", -1, INT64_MIN);
            return;
        }
        const char *kinds[2] = {s->provider->value_kind, s->provider->aux_kind};
        for (int k = 0; k < 2 && kinds[k] && rc == 0; k++) {
            size_t m = 0;
            for (size_t i = 0; i < n; i++) {
                double value = k == 0 ? s->combined[i].value : s->combined[i].aux;
                if (isfinite(value))
                    slots[m++] = (struct balkon_signal_slot){s->combined[i].start_ms, 900, value};
            }
            rc = balkon_store_signal_put(ctx->store, kinds[k], s->config.id, now, slots, m);
            if (rc == 0) {
                struct ev_signal ev = {.count = m, .slots = slots};
                snprintf(ev.kind, sizeof ev.kind, "%s", kinds[k]);
                snprintf(ev.provider, sizeof ev.provider, "%s", s->config.id);
                balkon_bus_publish(ctx->bus, BUS_EV_SIGNAL, &ev);
            }
        }
        free(slots);
        break;
    }
    }
    if (rc < 0) {
        char error[300];
        snprintf(error, sizeof error, "cannot store: %s", balkon_store_errmsg(ctx->store));
        {
            fail_run(s, "failed", error, -1, INT64_MIN);
            return;
        }
    }

    int64_t fetched_ms;
    s->status.data_until_ms = data_end_ms(s, &fetched_ms);
    /* What the data lacks, in the provider's words (Corrently without CO2, say). */
    snprintf(s->status.warning, sizeof s->status.warning, "%s", s->result.detail);
    int64_t reply_end_ms = n ? s->combined[n - 1].start_ms + BALKON_SLOT_MS : INT64_MIN;
    if (reply_end_ms <= now) {
        stale_run(s, reply_end_ms);
        return;
    }
    s->stale_runs = 0;
    s->status.state = PROVIDER_STATE_OK;
    s->status.last_success_ms = now;
    s->status.consecutive_failures = 0;
    s->status.last_error[0] = '\0';
    s->status.last_error_code[0] = '\0';
    s->status.slot_count = n;
    s->status.rejected_count = s->result.rejected_count;
    s->status.hole_count = s->run_hole_count;
    s->status.first_hole_ms = s->run_first_hole_ms;
    if (s->run_hole_count) {
        char iso[BALKON_ISO_MAX];
        log_warn("providers",
                 "%s: %zu slots missing inside the data (first at %s); left empty, not guessed",
                 s->config.id, s->run_hole_count,
                 balkon_format_iso(s->run_first_hole_ms, iso, sizeof iso));
    }
    if (s->result.rejected_count)
        log_warn("providers",
                 "%s: rejected %zu implausible entries (first: #%d, %s); kept the rest",
                 s->config.id, s->result.rejected_count, s->result.rejected[0].index,
                 s->result.rejected[0].reason);
    log_info("providers", "%s: %zu slots stored", s->config.id, n);
    finish_run(s);

    int64_t next_ms;
    switch (s->provider->schedule) {
    case PROVIDER_SCHEDULE_DAY_AHEAD:
        next_ms = next_day_ahead_ms(s, s->status.data_until_ms);
        if (next_ms <= now) /* published data still incomplete: try again later */
            next_ms = now + DAY_AHEAD_RETRY_MS;
        break;
    case PROVIDER_SCHEDULE_INTERVAL:
        next_ms = now + (int64_t)((double)interval_ms(s) * (0.9 + 0.2 * jitter(s->fetcher)));
        break;
    default:
        next_ms = balkon_local_midnight_ms(now, 1) + BALKON_MS_PER_MIN;
        break;
    }
    schedule_at(s, next_ms);
    publish_status(s);
}

static void start_request(struct fetch_state *s, const char *url);

static void reply_cb(const struct balkon_http_result *http, void *user)
{
    struct fetch_state *s = user;
    if (s->fetcher->closing)
        return;
    if (http->transport_error) {
        char error[300];
        snprintf(error, sizeof error, "no answer: %s", http->error);
        {
            fail_run(s, balkon_http_fault(http), error, -1, INT64_MIN);
            return;
        }
    }
    struct provider_env env = {
        .provider = &s->config, .config = s->fetcher->ctx->config, .now_ms = now_ms(s)};
    struct provider_reply reply = {.status = http->status,
                                   .body = http->body,
                                   .body_size = http->body_size,
                                   .retry_after_s = http->retry_after_s};
    s->result.next_url[0] = '\0';
    s->provider->parse(&env, s->part, &reply, &s->result);
    if (s->result.error != PROVIDER_OK) {
        char error[300];
        snprintf(error, sizeof error, "%s: %s", provider_error_token(s->result.error),
                 s->result.detail);
        {
            fail_run(s, provider_error_token(s->result.error), error, s->result.retry_after_s,
                     s->result.retry_at_ms);
            return;
        }
    }
    if (s->result.next_url[0]) {
        if (!url_same_origin(s->result.next_url, s->request_origin)) {
            fail_run(s, "provider_error", "pagination points to another server; not followed", -1,
                     INT64_MIN);
            return;
        }
        if (++s->page >= MAX_PAGES) {
            fail_run(s, "provider_error", "more pages than expected; not followed", -1, INT64_MIN);
            return;
        }
        char next[1024];
        snprintf(next, sizeof next, "%s", s->result.next_url);
        {
            start_request(s, next);
            return;
        }
    }
    struct provider_slots slots;
    struct provider_limits limits = provider_part_limits(s->provider, &env, s->part);
    if (provider_normalize(&s->result, &limits, &slots) < 0) {
        fail_run(s, "failed", "out of memory", -1, INT64_MIN);
        return;
    }
    if (s->result.error != PROVIDER_OK) {
        provider_slots_free(&slots);
        char error[300];
        snprintf(error, sizeof error, "%s: %s", provider_error_token(s->result.error),
                 s->result.detail);
        {
            fail_run(s, provider_error_token(s->result.error), error, -1, INT64_MIN);
            return;
        }
    }
    if (slots.hole_count) {
        s->run_hole_count += slots.hole_count;
        if (s->run_first_hole_ms == INT64_MIN || slots.first_hole_ms < s->run_first_hole_ms)
            s->run_first_hole_ms = slots.first_hole_ms;
    }
    if (s->provider->finish)
        s->provider->finish(&env, s->part, &slots);
    int rc = combine(s, &slots);
    provider_slots_free(&slots);
    if (rc < 0) {
        fail_run(s, "failed", "out of memory", -1, INT64_MIN);
        return;
    }
    /* Points of this part are placed; the next part starts with an empty point list but
     * keeps the flags (currency, consumer price) the parser set. */
    s->result.count = 0;
    if (++s->part < s->part_count) {
        start_request(s, NULL);
        return;
    }
    store_and_publish(s);
}

static void start_request(struct fetch_state *s, const char *url)
{
    struct provider_env env = {
        .provider = &s->config, .config = s->fetcher->ctx->config, .now_ms = now_ms(s)};
    struct provider_request request = {0};
    if (s->provider->build_request(&env, s->part, &request) < 0) {
        fail_run(s, "failed",
                 request.url_for_log[0] ? request.url_for_log : "cannot build the request", -1,
                 INT64_MIN);
        return;
    }
    if (!url) {
        s->page = 0;
        url = request.url;
        snprintf(s->request_origin, sizeof s->request_origin, "%s", request.url);
    }
    /* A base_url with a path may carry a proxy's key, and a next page's URL is the
     * server's: show only their origin then (the config shows base_url the same way). */
    if (s->page || balkon_url_has_secret(s->config.base_url[0] ? s->config.base_url : "http://x"))
        balkon_url_redact(s->page ? url : request.url, s->status.url, sizeof s->status.url);
    else
        snprintf(s->status.url, sizeof s->status.url, "%.255s", request.url_for_log);
    struct balkon_http_request http = {
        .method = request.method[0] ? request.method : "GET",
        .url = url,
        .body = s->page == 0 && request.body[0] ? request.body : NULL,
        .body_size = s->page == 0 ? strlen(request.body) : 0,
        .timeout_ms = (long)(s->config.timeout_s * 1000),
    };
    for (int i = 0; i < PROVIDER_MAX_HEADERS; i++)
        http.headers[i] = request.headers[i][0] ? request.headers[i] : NULL;
    int rc = balkon_http_fetch(s->fetcher->http, &http, reply_cb, s);
    if (rc < 0)
        fail_run(s, "failed", "cannot start the request", -1, INT64_MIN);
}

static void run_cb(uv_timer_t *timer)
{
    struct fetch_state *s = timer->data;
    if (s->running || s->fetcher->closing)
        return;
    s->running = true;
    s->status.last_attempt_ms = now_ms(s);
    s->run_hole_count = 0;
    s->run_first_hole_ms = INT64_MIN;
    provider_result_init(&s->result);
    s->part = 0;
    if (s->provider->schedule == PROVIDER_SCHEDULE_LOCAL) {
        struct provider_env env = {
            .provider = &s->config, .config = s->fetcher->ctx->config, .now_ms = now_ms(s)};
        s->provider->generate(&env, &s->result);
        struct provider_slots slots;
        if (provider_normalize(&s->result, &s->provider->limits, &slots) < 0) {
            fail_run(s, "failed", "out of memory", -1, INT64_MIN);
            return;
        }
        int rc = combine(s, &slots);
        provider_slots_free(&slots);
        if (rc < 0 || s->result.error != PROVIDER_OK) {
            fail_run(s, s->result.error ? provider_error_token(s->result.error) : "failed",
                     s->result.error ? s->result.detail : "out of memory", -1, INT64_MIN);
            return;
        }
        {
            store_and_publish(s);
            return;
        }
    }
    struct provider_env env = {
        .provider = &s->config, .config = s->fetcher->ctx->config, .now_ms = now_ms(s)};
    s->part_count = s->provider->parts ? s->provider->parts(&env) : 1;
    start_request(s, NULL);
}

/* Decides the first run from what the store already holds and publishes that data. */
static void start_state(struct fetch_state *s)
{
    int64_t now = now_ms(s), fetched_ms;
    int64_t end_ms = data_end_ms(s, &fetched_ms);
    s->status.data_until_ms = end_ms;
    s->status.last_success_ms = fetched_ms;
    int64_t first_ms = now;
    switch (s->provider->schedule) {
    case PROVIDER_SCHEDULE_DAY_AHEAD:
        first_ms = next_day_ahead_ms(s, end_ms);
        break;
    case PROVIDER_SCHEDULE_INTERVAL:
        if (fetched_ms != INT64_MIN && now - fetched_ms < interval_ms(s))
            first_ms = fetched_ms + interval_ms(s);
        break;
    case PROVIDER_SCHEDULE_LOCAL:
        if (end_ms >= balkon_local_midnight_ms(now, 2))
            first_ms = balkon_local_midnight_ms(now, 1) + BALKON_MS_PER_MIN;
        break;
    }
    if (fetched_ms != INT64_MIN) {
        s->status.state = PROVIDER_STATE_OK;
        publish_stored(s, balkon_local_midnight_ms(now, 0), balkon_local_midnight_ms(now, 3));
        if (first_ms > now)
            log_info("providers", "%s: using stored data until %lld; next fetch in %lld s",
                     s->config.id, (long long)(end_ms / 1000),
                     (long long)((first_ms - now) / 1000));
    }
    schedule_at(s, first_ms);
    publish_status(s);
}

static void stop_states(struct fetcher *f)
{
    f->closing = true;
    balkon_http_client_close(f->http); /* in-flight callbacks run now and see `closing` */
    f->http = NULL;
    for (size_t i = 0; i < f->count; i++) {
        struct fetch_state *s = &f->states[i];
        finish_run(s);
        uv_close((uv_handle_t *)&s->timer, NULL);
    }
}

static int start_states(struct fetcher *f)
{
    const struct balkon_config *config = f->ctx->config;
    f->closing = false;
    int rc = balkon_http_client_new(f->ctx->loop, &f->http);
    if (rc < 0)
        return rc;
    f->states = calloc(config->providers.count ? config->providers.count : 1, sizeof *f->states);
    if (!f->states)
        return BALKON_E_NOMEM;
    f->count = 0;
    for (size_t i = 0; i < config->providers.count; i++) {
        const struct balkon_provider_config *pc = &config->providers.items[i];
        struct fetch_state *s = &f->states[f->count++];
        s->fetcher = f;
        s->provider = balkon_provider_find(pc->type);
        s->config = *pc;
        uv_timer_init(f->ctx->loop, &s->timer);
        s->timer.data = s;
        snprintf(s->status.provider, sizeof s->status.provider, "%s", pc->id);
        snprintf(s->status.type, sizeof s->status.type, "%s", pc->type);
        snprintf(s->status.kind, sizeof s->status.kind, "%s", kind_name(s->provider->kind));
        s->status.last_attempt_ms = s->status.last_success_ms = INT64_MIN;
        s->status.first_hole_ms = INT64_MIN;
        if (!pc->enabled) {
            s->status.state = PROVIDER_STATE_DISABLED;
            publish_status(s);
            continue;
        }
        start_state(s);
    }
    return 0;
}

/* Frees the states once their timers are closed: called from a zero-delay idle pass. */
struct retired {
    uv_timer_t timer;
    struct fetch_state *states;
};

static void retired_close_cb(uv_handle_t *handle)
{
    struct retired *r = handle->data;
    free(r->states);
    free(r);
}

static void retired_cb(uv_timer_t *timer)
{
    uv_close((uv_handle_t *)timer, retired_close_cb);
}

static void retire_states(struct fetcher *f)
{
    /* The states' timers close on the next loop pass; free them only after that. */
    struct retired *r = malloc(sizeof *r);
    if (!r)
        return; /* leaking on OOM beats freeing memory a closing handle still uses */
    r->states = f->states;
    uv_timer_init(f->ctx->loop, &r->timer);
    r->timer.data = r;
    uv_timer_start(&r->timer, retired_cb, 0, 0);
    f->states = NULL;
    f->count = 0;
}

static void on_config_changed(enum bus_event event, const void *payload, void *user)
{
    struct fetcher *f = user;
    const struct ev_config_changed *change = payload;
    if (change->previous && change->previous->providers.count == change->config->providers.count &&
        memcmp(&change->previous->providers, &change->config->providers,
               sizeof change->config->providers) == 0)
        return;
    log_info("providers", "provider settings changed: restarting the providers");
    stop_states(f);
    retire_states(f);
    if (start_states(f) < 0)
        log_error("providers", "cannot restart the providers");
}

static int fetcher_start(struct balkon_ctx *ctx, void **state)
{
    struct fetcher *f = calloc(1, sizeof *f);
    if (!f)
        return BALKON_E_NOMEM;
    f->ctx = ctx;
    f->rng = (uint64_t)balkon_wall_now_ms() | 1;
    int rc = start_states(f);
    if (rc == 0)
        rc = balkon_bus_subscribe(ctx->bus, BUS_EV_CONFIG_CHANGED, on_config_changed, f);
    if (rc < 0) {
        log_error("providers", "cannot start: %s", balkon_strerror(rc));
        stop_states(f);
        retire_states(f);
        free(f);
        return rc;
    }
    *state = f;
    return 0;
}

static void fetcher_stop(void *state)
{
    struct fetcher *f = state;
    balkon_bus_unsubscribe(f->ctx->bus, BUS_EV_CONFIG_CHANGED, on_config_changed, f);
    stop_states(f);
}

static void fetcher_free(void *state)
{
    struct fetcher *f = state;
    free(f->states);
    free(f);
}

const struct balkon_module balkon_module_providers = {
    .name = "providers",
    .start = fetcher_start,
    .stop = fetcher_stop,
    .free = fetcher_free,
};
