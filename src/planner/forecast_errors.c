/* The site's forecast errors (balkon/forecast_error.h) from its own history: the stored
 * issues of the PV provider's forecast and of the planner's load forecast, taken at four
 * leads, against the measured pv_w and home_w of the same slots. Recent days weigh more. */
#include "planner_internal.h"

#include "balkon/config.h"
#include "balkon/error.h"
#include "balkon/series.h"
#include "balkon/store.h"

#include <math.h>
#include <stdlib.h>

#define LEARN_DAYS 28
#define HALF_LIFE_DAYS 30.0

/* Leads, as in the replay (src/replay/engine.c): 1, 6, 18 and 30 hours, each read over a
 * two-hour window so that a provider fetched every hour or two has an issue in it. */
static const int64_t lead_from_h[BALKON_FCERR_LEADS] = {1, 6, 18, 30};
#define LEAD_WINDOW_H 2

/* The measured 15-minute means of a series over [from_ms, from_ms + count slots), NAN
 * where none. *out allocated. */
static int read_measured(struct balkon_store *store, const char *series, int64_t from_ms,
                         size_t count, double **out)
{
    double *values = malloc(count * sizeof *values);
    if (!values)
        return BALKON_E_NOMEM;
    for (size_t i = 0; i < count; i++)
        values[i] = NAN;
    struct balkon_bucket *buckets = NULL;
    size_t n = 0;
    int rc = balkon_store_query(store, series, from_ms, from_ms + (int64_t)count * BALKON_SLOT_MS,
                                BALKON_SLOT_MS, &buckets, &n);
    if (rc < 0 && rc != BALKON_E_NOTFOUND) {
        free(values);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t k = (buckets[i].ts_ms - from_ms) / BALKON_SLOT_MS;
        if (k >= 0 && (size_t)k < count)
            values[k] = buckets[i].avg;
    }
    free(buckets);
    *out = values;
    return 0;
}

/* Adds what the forecasts of kind/provider made at each lead got wrong against measured. */
static int learn_kind(struct balkon_store *store, enum balkon_fcerr_kind kind,
                      const char *forecast_kind, const char *provider, int64_t from_ms,
                      int64_t now_ms, const double *measured, size_t count,
                      struct balkon_forecast_errors *errors, size_t *samples)
{
    for (int b = 0; b < BALKON_FCERR_LEADS; b++) {
        struct balkon_forecast_slot *issued = NULL;
        size_t n = 0;
        int64_t lead_min_ms = lead_from_h[b] * 3600000;
        int rc = balkon_store_forecast_get_lead(store, forecast_kind, provider, from_ms, now_ms,
                                                lead_min_ms, lead_min_ms + LEAD_WINDOW_H * 3600000,
                                                &issued, &n);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < n; i++) {
            int64_t k = (issued[i].slot_ts_ms - from_ms) / BALKON_SLOT_MS;
            if (k < 0 || (size_t)k >= count || !isfinite(measured[k]))
                continue;
            int minute, day_of_year;
            planner_local_time(issued[i].slot_ts_ms, &minute, &day_of_year);
            double age_days = (double)(now_ms - issued[i].slot_ts_ms) / 86400000.0;
            double lead_s = (double)(issued[i].slot_ts_ms - issued[i].issued_ts_ms) / 1000.0;
            balkon_fcerr_add(errors, kind, minute / 60, lead_s, issued[i].value_w, measured[k],
                             pow(0.5, age_days / HALF_LIFE_DAYS));
            (*samples)++;
        }
        free(issued);
    }
    return 0;
}

int planner_learn_errors(struct balkon_store *store, const struct balkon_config *config,
                         const char *pv_provider, int64_t now_ms,
                         struct balkon_forecast_errors *errors, size_t *samples)
{
    double peak_w = 0.0;
    for (size_t i = 0; i < config->pv.plane_count; i++)
        peak_w += config->pv.planes[i].peak_w;
    balkon_fcerr_init(errors, peak_w > 0.0 ? peak_w / 10.0 : 50.0, 50.0);
    *samples = 0;

    int64_t from_ms = (now_ms / BALKON_SLOT_MS - (int64_t)LEARN_DAYS * 96) * BALKON_SLOT_MS;
    size_t count = (size_t)((now_ms - from_ms) / BALKON_SLOT_MS);
    double *pv_w = NULL, *home_w = NULL;
    int rc = read_measured(store, "pv_w", from_ms, count, &pv_w);
    if (!rc)
        rc = read_measured(store, "home_w", from_ms, count, &home_w);
    if (!rc && pv_provider && pv_provider[0])
        rc = learn_kind(store, BALKON_FCERR_PV, "pv", pv_provider, from_ms, now_ms, pv_w, count,
                        errors, samples);
    if (!rc)
        rc = learn_kind(store, BALKON_FCERR_LOAD, "load", "household", from_ms, now_ms, home_w,
                        count, errors, samples);
    free(pv_w);
    free(home_w);
    return rc;
}
