/* A daemon's database as the replay's data: the household's load (home_w) and what PV
 * delivered (pv_w) as 15-minute means, and the prices the first enabled price provider
 * stored, known as early as the provider publishes them. The database is opened as the
 * daemon opens it (which migrates an older schema) and only read.
 *
 * Where the 5-minute roll-ups were already pruned (storage.rollup_5m_retention_days) only
 * hourly means are left: there, and in any later hour without a 15-minute bucket, the hour's
 * mean goes into all four slots. A 15-minute query over the pruned part would return one row
 * per hour, at the hour's first quarter, so that part is read at 1 h only. Stored prices of
 * longer slots (slot_s 3600) price every quarter-hour they span. Slots still without data are
 * gaps: not replayed, not learnt from, counted in the header; when more than half of the
 * range the database could hold is missing, the replay is refused rather than reported as
 * if it were the whole range. */
#include "replay_internal.h"

#include "balkon/config.h"
#include "balkon/error.h"
#include "balkon/provider.h"
#include "balkon/store.h"
#include "balkon/timeutil.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CHUNK_BUCKETS INT64_C(90000) /* below the store's per-query limit */

/* Reads one series' means at step_ms from read_from_ms on into values (NaN where there are
 * none). With only_empty, a bucket fills the slots it spans only where none of them has a
 * value; *filled (may be NULL) counts the slots it filled. */
static int read_buckets(struct balkon_store *store, const char *name,
                        const struct replay_data *data, int64_t read_from_ms, int64_t step_ms,
                        double *values, bool only_empty, size_t *filled)
{
    const struct balkon_replay_series *series = &data->series;
    int64_t start_ms = series->slots[0].ts_ms;
    int64_t end_ms = start_ms + (int64_t)series->count * BALKON_SLOT_MS;
    int64_t per = step_ms / BALKON_SLOT_MS;
    if (read_from_ms < start_ms)
        read_from_ms = start_ms;
    for (int64_t from = balkon_floor_ms(read_from_ms, step_ms); from < end_ms;
         from += CHUNK_BUCKETS * step_ms) {
        int64_t to =
            from + CHUNK_BUCKETS * step_ms < end_ms ? from + CHUNK_BUCKETS * step_ms : end_ms;
        struct balkon_bucket *buckets = NULL;
        size_t n = 0;
        int err = balkon_store_query(store, name, from, to, step_ms, &buckets, &n);
        if (err)
            return err;
        for (size_t i = 0; i < n; i++) {
            int64_t first = (buckets[i].ts_ms - start_ms) / BALKON_SLOT_MS;
            bool empty = true;
            for (int64_t k = first; only_empty && k < first + per; k++)
                if (k >= 0 && (size_t)k < series->count && isfinite(values[k]))
                    empty = false;
            for (int64_t k = first; empty && k < first + per; k++)
                if (k >= 0 && (size_t)k < series->count) {
                    values[k] = buckets[i].avg;
                    if (filled && (size_t)k >= series->first && (size_t)k < series->last)
                        (*filled)++;
                }
        }
        free(buckets);
    }
    return BALKON_OK;
}

/* 15-minute means where the 5-minute roll-ups are kept, hourly means in all four slots of
 * every hour that has none (all hours before the roll-ups' pruning horizon). *hourly gets
 * the replayed slots that took an hourly mean. */
static int read_series(struct balkon_store *store, const char *name, const struct replay_data *data,
                       double *values, size_t *hourly)
{
    for (size_t i = 0; i < data->series.count; i++)
        values[i] = NAN;
    *hourly = 0;
    int64_t horizon_ms = balkon_store_rollup_5m_horizon(store);
    int err = read_buckets(store, name, data, horizon_ms, BALKON_SLOT_MS, values, false, NULL);
    if (!err)
        err = read_buckets(store, name, data, INT64_MIN, BALKON_MS_PER_HOUR, values, true, hourly);
    return err;
}

/* The stored prices; tariff.import_per_kwh where none is stored. A slot's prices reach to
 * the end of tomorrow for a computed tariff, and for a day-ahead market once its
 * publication hour has passed (the end of today before). */
static int read_prices(struct balkon_store *store, const struct balkon_config *config,
                       struct replay_data *data)
{
    struct balkon_replay_series *series = &data->series;
    const struct balkon_provider_config *pc = balkon_provider_primary(config, PROVIDER_KIND_PRICE);
    const struct balkon_provider *provider = pc ? balkon_provider_find(pc->type) : NULL;
    snprintf(data->currency, sizeof data->currency, "%s", config->tariff.currency);
    for (size_t i = 0; i < series->count; i++) {
        struct balkon_replay_slot *slot = &series->slots[i];
        slot->import_price_per_kwh = config->tariff.import_per_kwh;
        slot->feed_in_per_kwh = config->tariff.feed_in_per_kwh;
        slot->price_known = false;
        slot->prices_until = series->count;
    }
    if (!provider) {
        snprintf(data->prices, sizeof data->prices,
                 "tariff.import_per_kwh %.4g in every slot (no price provider configured)",
                 config->tariff.import_per_kwh);
        return BALKON_OK;
    }
    struct balkon_price_slot *prices = NULL;
    size_t n = 0;
    char currency[4] = "";
    int64_t start_ms = series->slots[0].ts_ms;
    int err = balkon_store_prices_get(store, pc->id, start_ms,
                                      start_ms + (int64_t)series->count * BALKON_SLOT_MS, &prices,
                                      &n, currency);
    if (err)
        return err;
    if (n && currency[0])
        snprintf(data->currency, sizeof data->currency, "%s", currency);
    /* A stored slot prices every quarter-hour it spans: hourly day-ahead rows (slot_s 3600)
     * all four of theirs. */
    for (size_t i = 0; i < n; i++) {
        int64_t offset = prices[i].slot_ts_ms - start_ms;
        int64_t span_ms = (int64_t)prices[i].slot_s * 1000;
        if (offset % BALKON_SLOT_MS || span_ms % BALKON_SLOT_MS || span_ms <= 0 ||
            !isfinite(prices[i].price_per_kwh))
            continue;
        for (int64_t at = offset; at < offset + span_ms; at += BALKON_SLOT_MS) {
            if (at < 0 || (size_t)(at / BALKON_SLOT_MS) >= series->count)
                continue;
            size_t k = (size_t)(at / BALKON_SLOT_MS);
            series->slots[k].import_price_per_kwh = prices[i].price_per_kwh;
            series->slots[k].price_known = true;
        }
    }
    free(prices);
    size_t known = 0;
    for (size_t i = 0; i < series->count; i++) {
        struct balkon_replay_slot *slot = &series->slots[i];
        size_t day = data->day_of[i];
        bool tomorrow = provider->schedule == PROVIDER_SCHEDULE_LOCAL ||
                        (provider->schedule == PROVIDER_SCHEDULE_DAY_AHEAD &&
                         slot->minute_of_day >= provider->publication_hour * 60);
        size_t last_day = day + (tomorrow ? 2 : 1);
        slot->prices_until =
            data->day_start[last_day < data->day_count ? last_day : data->day_count];
        if (i >= series->first && i < series->last)
            known += slot->price_known;
    }
    snprintf(data->prices, sizeof data->prices,
             "stored by provider \"%s\" (%s) for %zu of the %zu slots; tariff.import_per_kwh %.4g "
             "elsewhere",
             pc->id, pc->type, known, series->last - series->first, config->tariff.import_per_kwh);
    return BALKON_OK;
}

static int span_of(struct balkon_store *store, const char *path, int64_t *first_ms,
                   int64_t *last_ms, char *msg, size_t msg_size)
{
    struct balkon_series_info *list = NULL;
    size_t n = 0;
    int err = balkon_store_list_series(store, &list, &n);
    if (err) {
        snprintf(msg, msg_size, "--db: cannot list the series of \"%s\": %s", path,
                 balkon_store_errmsg(store));
        return BALKON_E_INVAL;
    }
    int found = 0;
    *first_ms = INT64_MIN;
    *last_ms = INT64_MAX;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].name, "home_w") != 0 && strcmp(list[i].name, "pv_w") != 0)
            continue;
        if (list[i].first_ts_ms == INT64_MIN)
            continue;
        found++;
        *first_ms = list[i].first_ts_ms > *first_ms ? list[i].first_ts_ms : *first_ms;
        *last_ms = list[i].last_ts_ms < *last_ms ? list[i].last_ts_ms : *last_ms;
    }
    free(list);
    if (found < 2 || *first_ms > *last_ms) {
        snprintf(msg, msg_size,
                 "--db: \"%s\" holds no home_w and pv_w measurements (is it a "
                 "balkonsolard database?)",
                 path);
        return BALKON_E_INVAL;
    }
    return BALKON_OK;
}

/* Refuses a range of which more than half is missing: figures over a quarter of a year
 * must not pass for a year's. Counted are the replayed slots the database could hold: all of
 * them for an explicit --from, those between its first and last measurement otherwise (the
 * default range starts and ends at whole local days around them). */
static int check_coverage(const struct replay_data *data, bool explicit_range, int64_t first_ms,
                          int64_t last_ms, const char *path, char *msg, size_t msg_size)
{
    const struct balkon_replay_series *series = &data->series;
    size_t expected = 0, measured = 0;
    for (size_t i = series->first; i < series->last; i++) {
        const struct balkon_replay_slot *slot = &series->slots[i];
        if (!explicit_range && (slot->ts_ms + BALKON_SLOT_MS <= first_ms || slot->ts_ms > last_ms))
            continue;
        expected++;
        measured += slot->measured;
    }
    if (expected == 0 || measured * 2 >= expected)
        return BALKON_OK;
    char a[16], b[16];
    replay_format_day(data->from_ms, a, sizeof a);
    replay_format_day(data->to_ms - 1, b, sizeof b);
    snprintf(msg, msg_size,
             "--db: only %zu of the %zu slots from %s to %s have both home_w and pv_w in \"%s\" "
             "(%zu missing); the figures would not be those of the range. Import the missing "
             "data (balkonsolard import) or choose a range with data (--from, --days)",
             measured, expected, a, b, path, expected - measured);
    return BALKON_E_RANGE;
}

int replay_source_db(const struct replay_request *request, struct replay_data *data, char *msg,
                     size_t msg_size)
{
    const struct balkon_config *config = request->config;
    const char *path = request->db_path;
    struct stat st;
    if (stat(path, &st) < 0) {
        snprintf(msg, msg_size, "--db: cannot read \"%s\": %s", path, strerror(errno));
        return BALKON_E_INVAL;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(msg, msg_size, "--db: \"%s\" is not a database file", path);
        return BALKON_E_INVAL;
    }
    struct balkon_store_options options = {.path = path};
    struct balkon_store *store = NULL;
    char why[256];
    if (balkon_store_open(&options, &store, why, sizeof why) < 0) {
        snprintf(msg, msg_size, "--db: %s", why);
        return BALKON_E_INVAL;
    }
    int64_t first_ms, last_ms;
    int err = span_of(store, path, &first_ms, &last_ms, msg, msg_size);
    if (err)
        goto done;

    int64_t from_ms, to_ms;
    if (request->from_ms != INT64_MIN) {
        from_ms = request->from_ms;
        to_ms = balkon_local_midnight_ms(from_ms, request->days);
        if (to_ms <= first_ms || from_ms > last_ms) {
            char a[16], b[16], c[16];
            replay_format_day(from_ms, a, sizeof a);
            replay_format_day(first_ms, b, sizeof b);
            replay_format_day(last_ms, c, sizeof c);
            snprintf(msg, msg_size,
                     "--from: no measurements in the %d days from %s (\"%s\" holds %s to %s)",
                     request->days, a, path, b, c);
            err = BALKON_E_INVAL;
            goto done;
        }
    } else {
        /* The last N local days with data, the day of the newest sample included. */
        to_ms = balkon_local_midnight_ms(last_ms, 1);
        from_ms = balkon_local_midnight_ms(to_ms, -request->days);
        if (from_ms < balkon_local_midnight_ms(first_ms, 0))
            from_ms = balkon_local_midnight_ms(first_ms, 0);
    }
    int64_t start_ms =
        balkon_local_midnight_ms(from_ms, -(int)ceil(config->optimizer.history_days));
    int lookahead_days = (int)(request->horizon_slots / BALKON_REPLAY_SLOTS_PER_DAY) + 2;
    int64_t end_ms = balkon_local_midnight_ms(to_ms, lookahead_days);
    if ((err = replay_data_alloc(data, start_ms, from_ms, to_ms, end_ms)) < 0) {
        snprintf(msg, msg_size, "out of memory for %d days of slots", request->days);
        goto done;
    }
    data->days = 0;
    for (int64_t day = from_ms; day < to_ms; day = balkon_local_midnight_ms(day, 1))
        data->days++;

    double *load_w = malloc(data->series.count * sizeof *load_w);
    double *pv_w = malloc(data->series.count * sizeof *pv_w);
    size_t load_hourly = 0, pv_hourly = 0;
    if (!load_w || !pv_w) {
        err = BALKON_E_NOMEM;
        snprintf(msg, msg_size, "out of memory");
    } else if ((err = read_series(store, "home_w", data, load_w, &load_hourly)) ||
               (err = read_series(store, "pv_w", data, pv_w, &pv_hourly)) ||
               (err = read_prices(store, config, data))) {
        snprintf(msg, msg_size, "%s: %s", path, balkon_store_errmsg(store));
    } else {
        for (size_t i = 0; i < data->series.count; i++) {
            struct balkon_replay_slot *slot = &data->series.slots[i];
            slot->measured = isfinite(load_w[i]) && isfinite(pv_w[i]);
            slot->load_w = slot->measured ? fmax(0.0, load_w[i]) : 0.0;
            slot->pv_w = slot->measured ? fmax(0.0, pv_w[i]) : 0.0;
        }
        err = check_coverage(data, request->from_ms != INT64_MIN, first_ms, last_ms, path, msg,
                             msg_size);
        if (!err) {
            char a[16], b[16];
            replay_format_day(first_ms, a, sizeof a);
            replay_format_day(last_ms, b, sizeof b);
            size_t hourly = load_hourly > pv_hourly ? load_hourly : pv_hourly;
            snprintf(data->source, sizeof data->source,
                     "measurements in %s (home_w and pv_w as 15-minute means, %zu slots from "
                     "hourly means; stored from %s to %s)",
                     path, hourly, a, b);
            snprintf(data->pv_forecast, sizeof data->pv_forecast,
                     "persistence (the same time on the last day measured before)");
        }
    }
    free(load_w);
    free(pv_w);
done:
    balkon_store_close(store);
    return err;
}
