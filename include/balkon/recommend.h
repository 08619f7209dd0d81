/* Action recommendations: when to start an appliance ("start the dishwasher at 13:15: 0.35
 * EUR cheaper than now").
 *
 * Pure: no I/O, no bus. The recommend module (src/recommend/recommendations.c) builds the
 * slots from the newest plan (prices, load forecast, planned battery power) and the solar
 * forecast, and publishes what this returns (docs/recommendations.md).
 *
 * The cost of a run: the appliance draws a flat power energy / duration. In each 15-minute
 * slot the part of that power the forecast PV surplus covers costs the feed-in price (what
 * the PV would otherwise earn), the rest the import price; the cost is summed over the run,
 * each slot weighted by how much of it the run overlaps. So the cheapest start is also the
 * sunniest one when export earns less than import costs. */
#ifndef BALKON_RECOMMEND_H
#define BALKON_RECOMMEND_H

#include "balkon/series.h"

#include <stddef.h>
#include <stdint.h>

/* One 15-minute slot of the plan as the recommendation sees it. */
struct balkon_rec_slot {
    int64_t slot_ts_ms; /* the slot's start, on the 15-minute grid */
    double import_per_kwh;
    double feed_in_per_kwh;
    double surplus_w; /* PV the site would export: >= 0 */
};

struct balkon_rec_appliance {
    const char *name;  /* "Washing machine"; used in the sentence */
    double duration_s; /* > 0 */
    double energy_wh;  /* per run, >= 0 */
};

struct balkon_rec_window {
    int64_t now_ms;
    int64_t earliest_ms; /* not before; INT64_MIN: now */
    int64_t latest_ms;   /* finished by */
};

enum balkon_rec_status {
    BALKON_REC_OK = 0,  /* start_ms is the best start */
    BALKON_REC_NO_FIT,  /* the run does not fit before latest */
    BALKON_REC_NO_DATA, /* it fits, but no start has the plan's slots for its whole run */
};

/* "ok", "no_fit", "no_data". */
const char *balkon_rec_status_name(enum balkon_rec_status status);

struct balkon_rec_result {
    enum balkon_rec_status status;
    int64_t start_ms; /* OK: the best start; otherwise INT64_MIN */
    int64_t end_ms;
    int64_t first_ms;   /* the first allowed start: max(now, earliest) */
    double cost;        /* OK: the run's cost at start_ms; NAN otherwise */
    double cost_now;    /* the run's cost at first_ms; NAN when the plan does not cover it */
    double saving;      /* cost_now - cost (>= 0); NAN when either is */
    char sentence[192]; /* in words, English, local times */
};

/* PV the site would have left over in a plan slot: pv − load − the battery's planned
 * charging (battery_w: + discharge / − charge), never below 0; NAN inputs count as 0. */
double balkon_rec_surplus_w(double pv_w, double load_w, double battery_w);

/* The cost of running from start_ms for the appliance's duration, or NAN when the slots
 * (ascending, on the 15-minute grid) do not cover the whole run. */
double balkon_rec_run_cost(const struct balkon_rec_appliance *appliance,
                           const struct balkon_rec_slot *slots, size_t count, int64_t start_ms);

/* The best start within the window: the candidates are the first allowed start and every
 * 15-minute boundary after it whose run ends by latest; the cheapest wins, an earlier one
 * on a tie. currency names the money in the sentence. */
void balkon_recommend(const struct balkon_rec_appliance *appliance,
                      const struct balkon_rec_slot *slots, size_t count,
                      const struct balkon_rec_window *window, const char *currency,
                      struct balkon_rec_result *out);

#endif
