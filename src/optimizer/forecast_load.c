/* Load forecast: a profile per day type and quarter-hour of the day from the household's
 * own history, weighted towards recent weeks, blended with the standard profile while the
 * history is thin.
 *
 * A sample of age a (weeks, continuous) weighs weekly_decay^a, so with 0.7 last week
 * counts 0.7, four weeks ago 0.24. For each day type d and quarter-hour q
 *     history(d, q) = sum(w x load) / sum(w),   W(d, q) = sum(w)
 *     share(d, q)   = min(1, W(d, q) / full_history_weight)
 *     forecast      = share x history + (1 - share) x standard(d, q, day of year)
 * W is a recency-weighted count of days seen, so the standard profile fades out as days of
 * that type accumulate (with 2, after two recent days) and comes back when the history is
 * only old. Samples on DST days fall into the quarter-hour of their local start, so the
 * repeated hour of October's 25-hour day counts twice, like any other sample. */
#include <math.h>
#include <string.h>

#include "balkon/error.h"
#include "balkon/optimizer.h"

#define MS_PER_WEEK (7.0 * 86400000.0)

void balkon_load_profile_params_init(struct balkon_load_profile_params *params)
{
    memset(params, 0, sizeof(*params));
    params->weekly_decay = 0.7;
    params->max_age_days = 56.0;
    params->full_history_weight = 2.0;
    params->annual_kwh = 3000.0;
}

static bool params_ok(const struct balkon_load_profile_params *p)
{
    return isfinite(p->weekly_decay) && p->weekly_decay > 0.0 && p->weekly_decay <= 1.0 &&
           isfinite(p->max_age_days) && p->max_age_days > 0.0 && isfinite(p->full_history_weight) &&
           p->full_history_weight > 0.0 && isfinite(p->annual_kwh) && p->annual_kwh >= 0.0;
}

static bool sample_usable(const struct balkon_load_sample *s, int64_t now_ms, double max_age_ms)
{
    return isfinite(s->load_w) && s->load_w >= 0.0 && (unsigned)s->day_type < BALKON_DAY_TYPES &&
           s->minute_of_day >= 0 && s->minute_of_day < 1440 && s->ts_ms <= now_ms &&
           (double)(now_ms - s->ts_ms) <= max_age_ms;
}

int balkon_load_profile_build(const struct balkon_load_sample *samples, size_t count,
                              const struct balkon_load_profile_params *params,
                              struct balkon_load_profile *out)
{
    if (!params_ok(params) || (count > 0 && !samples))
        return BALKON_E_INVAL;
    double sum_wx[BALKON_DAY_TYPES][BALKON_LOAD_SLOTS_PER_DAY] = {{0}};
    double max_age_ms = params->max_age_days * 86400000.0;
    double log_decay = log(params->weekly_decay);

    memset(out, 0, sizeof(*out));
    out->full_history_weight = params->full_history_weight;
    out->annual_kwh = params->annual_kwh;
    for (size_t i = 0; i < count; i++) {
        const struct balkon_load_sample *s = &samples[i];
        if (!sample_usable(s, params->now_ms, max_age_ms))
            continue;
        double w = exp(log_decay * (double)(params->now_ms - s->ts_ms) / MS_PER_WEEK);
        int q = s->minute_of_day / 15;
        out->weight[s->day_type][q] += w;
        sum_wx[s->day_type][q] += w * s->load_w;
    }
    for (int d = 0; d < BALKON_DAY_TYPES; d++) {
        for (int q = 0; q < BALKON_LOAD_SLOTS_PER_DAY; q++) {
            if (out->weight[d][q] > 0.0)
                out->history_w[d][q] = sum_wx[d][q] / out->weight[d][q];
        }
    }
    return BALKON_OK;
}

double balkon_load_history_share(const struct balkon_load_profile *profile,
                                 enum balkon_day_type day_type, int minute_of_day)
{
    if ((unsigned)day_type >= BALKON_DAY_TYPES || minute_of_day < 0 || minute_of_day >= 1440 ||
        profile->full_history_weight <= 0.0)
        return 0.0;
    double share = profile->weight[day_type][minute_of_day / 15] / profile->full_history_weight;
    return share < 1.0 ? share : 1.0;
}

double balkon_load_forecast_w(const struct balkon_load_profile *profile,
                              enum balkon_day_type day_type, int minute_of_day, int day_of_year)
{
    double share = balkon_load_history_share(profile, day_type, minute_of_day);
    double standard_w =
        balkon_load_standard_w(profile->annual_kwh, day_type, minute_of_day, day_of_year);
    if (share <= 0.0)
        return standard_w;
    return share * profile->history_w[day_type][minute_of_day / 15] + (1.0 - share) * standard_w;
}
