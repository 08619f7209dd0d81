/* The household's load forecast: a profile per day type and quarter-hour learnt from the
 * stored home_w history (recent weeks weigh more), blended with the standard household
 * profile where history is thin (see balkon_load_forecast_w). Every forecast is stored
 * (kind "load", provider "household") so its accuracy can be measured later. */
#include "planner_internal.h"

#include "balkon/config.h"
#include "balkon/daytype.h"
#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/store.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>

void planner_local_time(int64_t ts_ms, int *minute_of_day, int *day_of_year)
{
    time_t t = (time_t)(ts_ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    *minute_of_day = tm.tm_hour * 60 + tm.tm_min;
    *day_of_year = tm.tm_yday + 1;
}

/* The history as load samples with their calendar. *out allocated (free it). */
static int read_history(struct balkon_store *store, int64_t from_ms, int64_t to_ms,
                        struct balkon_load_sample **out, size_t *count)
{
    struct balkon_bucket *buckets = NULL;
    size_t n = 0;
    *out = NULL;
    *count = 0;
    int rc = balkon_store_query(store, "home_w", from_ms, to_ms, BALKON_SLOT_MS, &buckets, &n);
    if (rc == BALKON_E_NOTFOUND || n == 0) {
        free(buckets);
        return 0; /* a new installation: the standard profile carries the forecast */
    }
    if (rc < 0)
        return rc;
    struct balkon_load_sample *samples = malloc(n * sizeof *samples);
    if (!samples) {
        free(buckets);
        return BALKON_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        int minute, day_of_year;
        planner_local_time(buckets[i].ts_ms, &minute, &day_of_year);
        samples[i] = (struct balkon_load_sample){
            .ts_ms = buckets[i].ts_ms,
            .load_w = buckets[i].avg,
            .day_type = balkon_day_type_of(buckets[i].ts_ms),
            .minute_of_day = minute,
        };
    }
    free(buckets);
    *out = samples;
    *count = n;
    return 0;
}

int planner_forecast_load(struct balkon_store *store, const struct balkon_config *config,
                          int64_t now_ms, const int64_t *slot_ts_ms, size_t count, double *load_w,
                          double *history_share)
{
    struct balkon_load_profile_params params;
    balkon_load_profile_params_init(&params);
    params.now_ms = now_ms;
    params.max_age_days = config->optimizer.history_days;
    params.annual_kwh = config->household.annual_kwh;

    struct balkon_load_sample *samples = NULL;
    size_t sample_count = 0;
    int64_t from_ms = now_ms - (int64_t)(config->optimizer.history_days * 86400000.0);
    int rc = read_history(store, from_ms, now_ms, &samples, &sample_count);
    if (rc < 0)
        return rc;
    struct balkon_load_profile *profile = malloc(sizeof *profile);
    if (!profile) {
        free(samples);
        return BALKON_E_NOMEM;
    }
    rc = balkon_load_profile_build(samples, sample_count, &params, profile);
    free(samples);
    if (rc < 0) {
        free(profile);
        return rc;
    }

    double share_sum = 0;
    for (size_t i = 0; i < count; i++) {
        int minute, day_of_year;
        planner_local_time(slot_ts_ms[i], &minute, &day_of_year);
        enum balkon_day_type type = balkon_day_type_of(slot_ts_ms[i]);
        load_w[i] = balkon_load_forecast_w(profile, type, minute, day_of_year);
        share_sum += balkon_load_history_share(profile, type, minute);
    }
    free(profile);
    *history_share = count ? share_sum / (double)count : 0;
    return 0;
}

void planner_store_load_forecast(struct balkon_store *store, int64_t issued_ms,
                                 const struct planner_inputs *in)
{
    struct balkon_forecast_slot *stored = malloc(in->count * sizeof *stored);
    if (!stored) {
        log_warn("planner", "cannot store the load forecast: out of memory");
        return;
    }
    for (size_t i = 0; i < in->count; i++)
        stored[i] = (struct balkon_forecast_slot){.slot_ts_ms = in->slot_ts_ms[i],
                                                  .slot_s = 900,
                                                  .issued_ts_ms = issued_ms,
                                                  .value_w = in->slots[i].load_w,
                                                  .p10_w = NAN,
                                                  .p90_w = NAN};
    if (balkon_store_forecast_put(store, "load", "household", issued_ms, stored, in->count) < 0)
        log_warn("planner", "cannot store the load forecast: %s", balkon_store_errmsg(store));
    free(stored);
}
