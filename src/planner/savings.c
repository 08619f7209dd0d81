/* Savings from measured data (see include/balkon/savings.h).
 *
 * Per slot: the measured load (home_w), PV (pv_w) and grid (grid_w) averages, and the
 * consumer price the primary price provider stored for it (tariff.import_per_kwh where it
 * has none). The counterfactuals run through the optimizer's own simulation
 * (balkon_opt_plan), so "no battery" and "self-consumption" obey the same physics as the
 * plans: the same load and PV, the AC cap, the battery's limits and efficiencies; the
 * self-consumption battery starts from the measured state of charge and carries its
 * charge from one chunk of slots to the next.
 *
 * Slots are 15 minutes while 5-minute roll-ups exist and 1 hour where only hourly
 * roll-ups are left (storage.rollup_5m_retention_days). */
#include "balkon/savings.h"

#include "balkon/plan_config.h"

#include "balkon/config.h"
#include "balkon/error.h"
#include "balkon/optimizer.h"
#include "balkon/provider.h"
#include "balkon/store.h"
#include "balkon/timeutil.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK_SLOTS 96
/* Rows read from the store at once: a week at 15 min, four at 1 h (32 KB of rows). */
#define WINDOW_SLOTS (7 * 96)

struct measured {
    int64_t ts_ms;
    double load_w, pv_w, grid_w, soc_pct, price;
};

struct run {
    const struct balkon_config *config;
    struct balkon_savings *out;
    enum balkon_savings_group group;
    size_t period_capacity;
    double sc_soc_wh; /* the self-consumption battery's charge, carried across chunks */
    bool sc_soc_known;
    struct balkon_opt_workspace *ws;
    struct balkon_opt_plan *plan;
    char error[160]; /* why the replay failed, when the store does not say */
};

static void label_of(int64_t ts_ms, enum balkon_savings_group group, char *label, size_t size)
{
    time_t t = (time_t)(ts_ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(label, size, group == BALKON_SAVINGS_BY_DAY ? "%Y-%m-%d" : "%Y-%m", &tm);
}

static struct balkon_savings_figures *period_for(struct run *r, int64_t ts_ms)
{
    char label[16];
    label_of(ts_ms, r->group, label, sizeof label);
    struct balkon_savings *s = r->out;
    if (s->period_count && strcmp(s->periods[s->period_count - 1].label, label) == 0)
        return &s->periods[s->period_count - 1].figures;
    if (s->period_count == r->period_capacity) {
        size_t capacity = r->period_capacity ? r->period_capacity * 2 : 64;
        struct balkon_savings_period *grown = realloc(s->periods, capacity * sizeof *grown);
        if (!grown)
            return NULL;
        s->periods = grown;
        r->period_capacity = capacity;
    }
    struct balkon_savings_period *p = &s->periods[s->period_count++];
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label);
    p->from_ms = ts_ms;
    return &p->figures;
}

static void add(struct balkon_savings_figures *to, const struct balkon_savings_figures *slot)
{
    to->slots += slot->slots;
    to->load_wh += slot->load_wh;
    to->pv_wh += slot->pv_wh;
    to->import_wh += slot->import_wh;
    to->export_wh += slot->export_wh;
    to->cost_actual += slot->cost_actual;
    to->cost_no_pv += slot->cost_no_pv;
    to->cost_no_battery += slot->cost_no_battery;
    to->cost_self_consumption += slot->cost_self_consumption;
}

/* Replays one chunk of consecutive measured slots and books every slot. */
static int replay_chunk(struct run *r, const struct measured *m, size_t n, int slot_s)
{
    const struct balkon_config *c = r->config;
    struct balkon_opt_slot slots[CHUNK_SLOTS];
    for (size_t i = 0; i < n; i++)
        slots[i] = (struct balkon_opt_slot){.import_price_per_kwh = m[i].price,
                                            .feed_in_per_kwh = c->tariff.feed_in_per_kwh,
                                            .pv_w = m[i].pv_w,
                                            .load_w = m[i].load_w};
    struct balkon_opt_problem problem;
    balkon_opt_problem_init(&problem);
    problem.slots = slots;
    problem.slot_count = n;
    problem.slot_s = slot_s;
    balkon_battery_from_config(c, &problem.battery);
    problem.battery.wear_cost_per_kwh = 0; /* savings are money spent; wear is not */
    problem.battery.allow_grid_charge = false;
    if (!r->sc_soc_known) {
        double soc_pct = isfinite(m[0].soc_pct) ? m[0].soc_pct : c->battery.soc_min_pct;
        r->sc_soc_wh = c->battery.capacity_wh * soc_pct / 100.0;
        r->sc_soc_known = true;
    }
    problem.initial_soc_wh = r->sc_soc_wh;
    problem.terminal_value_auto = false;
    problem.terminal_value_per_kwh = 0;
    int rc =
        balkon_opt_plan(&problem, "self_consumption", r->ws, r->plan, r->error, sizeof r->error);
    if (rc < 0)
        return rc;
    r->sc_soc_wh = r->plan->self_consumption.totals.soc_end_wh;

    double hours = slot_s / 3600.0;
    for (size_t i = 0; i < n; i++) {
        double import_w = fmax(0, m[i].grid_w), export_w = fmax(0, -m[i].grid_w);
        struct balkon_savings_figures slot = {
            .slots = 1,
            .load_wh = m[i].load_w * hours,
            .pv_wh = m[i].pv_w * hours,
            .import_wh = import_w * hours,
            .export_wh = export_w * hours,
            .cost_actual =
                (import_w * m[i].price - export_w * c->tariff.feed_in_per_kwh) * hours / 1000.0,
            .cost_no_pv = m[i].load_w * m[i].price * hours / 1000.0,
            .cost_no_battery = r->plan->no_battery.slots[i].cost,
            .cost_self_consumption = r->plan->self_consumption.slots[i].cost,
        };
        struct balkon_savings_figures *period = period_for(r, m[i].ts_ms);
        if (!period)
            return BALKON_E_NOMEM;
        add(period, &slot);
        add(&r->out->total, &slot);
    }
    return 0;
}

/* Reads the buckets of one series into column `offset` of the measured rows. */
static int read_series(struct balkon_store *store, const char *name, int64_t from_ms, int64_t to_ms,
                       int64_t step_ms, struct measured *rows, size_t row_count, size_t offset)
{
    struct balkon_bucket *buckets = NULL;
    size_t n = 0;
    int rc = balkon_store_query(store, name, from_ms, to_ms, step_ms, &buckets, &n);
    if (rc == BALKON_E_NOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)((buckets[i].ts_ms - from_ms) / step_ms);
        if (k < row_count)
            *(double *)((char *)&rows[k] + offset) = buckets[i].avg;
    }
    free(buckets);
    return 0;
}

static int read_prices(struct balkon_store *store, const struct balkon_config *config,
                       int64_t from_ms, int64_t to_ms, int64_t step_ms, struct measured *rows,
                       size_t row_count, char *currency)
{
    for (size_t i = 0; i < row_count; i++)
        rows[i].price = config->tariff.import_per_kwh;
    const struct balkon_provider_config *primary =
        balkon_provider_primary(config, PROVIDER_KIND_PRICE);
    const char *provider = primary ? primary->id : NULL;
    if (!provider)
        return 0;
    struct balkon_price_slot *prices = NULL;
    size_t n = 0;
    char stored_currency[4] = "";
    int rc = balkon_store_prices_get(store, provider, from_ms, to_ms, &prices, &n, stored_currency);
    if (rc < 0)
        return rc;
    if (n && stored_currency[0])
        snprintf(currency, 4, "%s", stored_currency);
    /* An hourly slot takes the mean of its quarter-hours' prices. */
    double *sum = calloc(row_count, sizeof *sum);
    int *count = calloc(row_count, sizeof *count);
    if (!sum || !count) {
        free(sum);
        free(count);
        free(prices);
        return BALKON_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)((prices[i].slot_ts_ms - from_ms) / step_ms);
        if (k < row_count && isfinite(prices[i].price_per_kwh)) {
            sum[k] += prices[i].price_per_kwh;
            count[k]++;
        }
    }
    for (size_t k = 0; k < row_count; k++)
        if (count[k])
            rows[k].price = sum[k] / count[k];
    free(sum);
    free(count);
    free(prices);
    return 0;
}

/* Reads the measured series and the prices of rows [from_ms, to_ms) at step_ms. */
static int read_window(struct run *r, struct balkon_store *store, int64_t from_ms, int64_t to_ms,
                       int64_t step_ms, struct measured *rows, size_t row_count)
{
    for (size_t i = 0; i < row_count; i++)
        rows[i] = (struct measured){.ts_ms = from_ms + (int64_t)i * step_ms,
                                    .load_w = NAN,
                                    .pv_w = NAN,
                                    .grid_w = NAN,
                                    .soc_pct = NAN};
    int rc = read_series(store, "home_w", from_ms, to_ms, step_ms, rows, row_count,
                         offsetof(struct measured, load_w));
    if (!rc)
        rc = read_series(store, "pv_w", from_ms, to_ms, step_ms, rows, row_count,
                         offsetof(struct measured, pv_w));
    if (!rc)
        rc = read_series(store, "grid_w", from_ms, to_ms, step_ms, rows, row_count,
                         offsetof(struct measured, grid_w));
    if (!rc)
        rc = read_series(store, "soc_pct", from_ms, to_ms, step_ms, rows, row_count,
                         offsetof(struct measured, soc_pct));
    if (!rc)
        rc = read_prices(store, r->config, from_ms, to_ms, step_ms, rows, row_count,
                         r->out->currency);
    return rc;
}

/* The segment is read WINDOW_SLOTS rows at a time, so its memory is the same for a week or
 * a year (a year at 15 min read at once took 2 MB); the chunks run across windows exactly
 * as they would over the whole segment. */
static int process_segment(struct run *r, struct balkon_store *store, int64_t from_ms,
                           int64_t to_ms, int64_t step_ms)
{
    from_ms = balkon_floor_ms(from_ms, step_ms);
    if (to_ms <= from_ms)
        return 0;
    struct measured *rows = malloc(WINDOW_SLOTS * sizeof *rows);
    if (!rows)
        return BALKON_E_NOMEM;

    /* Complete slots go in chunks of consecutive ones; a gap starts a new chunk. */
    struct measured chunk[CHUNK_SLOTS];
    size_t chunk_len = 0;
    int rc = 0;
    const int64_t window_span_ms = WINDOW_SLOTS * step_ms;
    for (int64_t window_ms = from_ms; window_ms < to_ms && !rc; window_ms += window_span_ms) {
        int64_t window_end_ms =
            to_ms - window_ms > window_span_ms ? window_ms + window_span_ms : to_ms;
        size_t row_count = (size_t)((window_end_ms - window_ms + step_ms - 1) / step_ms);
        rc = read_window(r, store, window_ms, window_end_ms, step_ms, rows, row_count);
        for (size_t i = 0; i < row_count && !rc; i++) {
            if (!isfinite(rows[i].load_w) || !isfinite(rows[i].pv_w) || !isfinite(rows[i].grid_w)) {
                r->out->skipped_slots++;
                if (chunk_len)
                    rc = replay_chunk(r, chunk, chunk_len, (int)(step_ms / 1000));
                chunk_len = 0;
                continue;
            }
            if (chunk_len == CHUNK_SLOTS) {
                rc = replay_chunk(r, chunk, chunk_len, (int)(step_ms / 1000));
                chunk_len = 0;
            }
            chunk[chunk_len] = rows[i];
            chunk[chunk_len].pv_w = fmax(0, rows[i].pv_w);
            chunk[chunk_len].load_w = fmax(0, rows[i].load_w);
            chunk_len++;
        }
    }
    if (!rc && chunk_len)
        rc = replay_chunk(r, chunk, chunk_len, (int)(step_ms / 1000));
    free(rows);
    return rc;
}

int balkon_savings_compute(struct balkon_store *store, const struct balkon_config *config,
                           int64_t from_ms, int64_t to_ms, enum balkon_savings_group group,
                           struct balkon_savings *out, char *msg, size_t msg_size)
{
    memset(out, 0, sizeof *out);
    snprintf(out->currency, sizeof out->currency, "%s", config->tariff.currency);
    struct run r = {.config = config, .out = out, .group = group};
    r.ws = balkon_opt_workspace_new();
    r.plan = malloc(sizeof *r.plan);
    int rc = r.ws && r.plan ? 0 : BALKON_E_NOMEM;
    /* Hourly where only hourly roll-ups remain, quarter-hourly after that. */
    int64_t fine_from_ms = to_ms - config->storage.rollup_5m_retention_days * BALKON_MS_PER_DAY;
    fine_from_ms = balkon_floor_ms(fine_from_ms, BALKON_MS_PER_HOUR);
    if (!rc && from_ms < fine_from_ms)
        rc = process_segment(&r, store, from_ms, fine_from_ms, BALKON_MS_PER_HOUR);
    if (!rc)
        rc = process_segment(&r, store, from_ms > fine_from_ms ? from_ms : fine_from_ms, to_ms,
                             BALKON_SLOT_MS);
    balkon_opt_workspace_free(r.ws);
    free(r.plan);
    if (rc < 0) {
        snprintf(msg, msg_size, "%s",
                 r.error[0]                      ? r.error
                 : rc == BALKON_E_NOMEM          ? "out of memory"
                 : balkon_store_errmsg(store)[0] ? balkon_store_errmsg(store)
                                                 : balkon_strerror(rc));
        balkon_savings_free(out);
    }
    return rc;
}
