/* The best start of an appliance's run over the plan's slots (include/balkon/recommend.h). */
#include "balkon/recommend.h"

#include <ctype.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Costs closer than this count as equal, so float noise never moves a start later. */
#define COST_EPSILON 1e-9

const char *balkon_rec_status_name(enum balkon_rec_status status)
{
    switch (status) {
    case BALKON_REC_OK:
        return "ok";
    case BALKON_REC_NO_FIT:
        return "no_fit";
    case BALKON_REC_NO_DATA:
        return "no_data";
    }
    return "unknown";
}

double balkon_rec_surplus_w(double pv_w, double load_w, double battery_w)
{
    double pv = isfinite(pv_w) ? pv_w : 0.0;
    double load = isfinite(load_w) ? load_w : 0.0;
    double charge = isfinite(battery_w) && battery_w < 0 ? -battery_w : 0.0;
    double surplus = pv - load - charge;
    return surplus > 0 ? surplus : 0.0;
}

double balkon_rec_run_cost(const struct balkon_rec_appliance *appliance,
                           const struct balkon_rec_slot *slots, size_t count, int64_t start_ms)
{
    int64_t end_ms = start_ms + (int64_t)llround(appliance->duration_s * 1000.0);
    double power_w = appliance->energy_wh / (appliance->duration_s / 3600.0);
    double cost = 0.0;
    int64_t covered_ms = 0;
    for (size_t i = 0; i < count; i++) {
        int64_t from = slots[i].slot_ts_ms > start_ms ? slots[i].slot_ts_ms : start_ms;
        int64_t to = slots[i].slot_ts_ms + BALKON_SLOT_MS < end_ms
                         ? slots[i].slot_ts_ms + BALKON_SLOT_MS
                         : end_ms;
        if (to <= from)
            continue;
        double hours = (double)(to - from) / 3.6e6;
        double surplus = slots[i].surplus_w > 0 ? slots[i].surplus_w : 0.0;
        double covered_w = power_w < surplus ? power_w : surplus;
        cost += (covered_w * slots[i].feed_in_per_kwh +
                 (power_w - covered_w) * slots[i].import_per_kwh) *
                hours / 1000.0;
        covered_ms += to - from;
    }
    return covered_ms >= end_ms - start_ms ? cost : NAN;
}

static void hhmm(int64_t ts_ms, char *buf, size_t size)
{
    time_t t = (time_t)(ts_ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    snprintf(buf, size, "%02d:%02d", tm.tm_hour, tm.tm_min);
}

/* "Washing machine" → "washing machine" for the middle of a sentence; "TV" stays. */
static void noun(const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s", name && name[0] ? name : "appliance");
    if (isupper((unsigned char)buf[0]) && islower((unsigned char)buf[1]))
        buf[0] = (char)tolower((unsigned char)buf[0]);
}

static void write_sentence(const struct balkon_rec_appliance *appliance,
                           const struct balkon_rec_window *window, const char *currency,
                           struct balkon_rec_result *out)
{
    char name[80], latest[8], start[8], end[8], first[8];
    noun(appliance->name, name, sizeof name);
    hhmm(window->latest_ms, latest, sizeof latest);
    switch (out->status) {
    case BALKON_REC_NO_FIT:
        snprintf(out->sentence, sizeof out->sentence, "The %s (%.0f min) does not fit before %s.",
                 name, appliance->duration_s / 60.0, latest);
        return;
    case BALKON_REC_NO_DATA:
        snprintf(out->sentence, sizeof out->sentence,
                 "No plan covers a run of the %s before %s yet.", name, latest);
        return;
    case BALKON_REC_OK:
        break;
    }
    hhmm(out->start_ms, start, sizeof start);
    hhmm(out->end_ms, end, sizeof end);
    hhmm(out->first_ms, first, sizeof first);
    bool first_is_now = out->first_ms == window->now_ms;
    if (out->start_ms == out->first_ms) {
        snprintf(out->sentence, sizeof out->sentence,
                 "Start the %s %s%s: no cheaper time before %s.", name,
                 first_is_now ? "now" : "at ", first_is_now ? "" : first, latest);
    } else if (isfinite(out->saving)) {
        snprintf(out->sentence, sizeof out->sentence,
                 "Start the %s at %s (done by %s): %.2f %s cheaper than %s%s.", name, start, end,
                 out->saving, currency, first_is_now ? "starting now" : "at ",
                 first_is_now ? "" : first);
    } else {
        snprintf(out->sentence, sizeof out->sentence,
                 "Start the %s at %s (done by %s): the cheapest time before %s.", name, start, end,
                 latest);
    }
}

void balkon_recommend(const struct balkon_rec_appliance *appliance,
                      const struct balkon_rec_slot *slots, size_t count,
                      const struct balkon_rec_window *window, const char *currency,
                      struct balkon_rec_result *out)
{
    memset(out, 0, sizeof *out);
    out->start_ms = out->end_ms = INT64_MIN;
    out->cost = out->cost_now = out->saving = NAN;
    int64_t duration_ms = (int64_t)llround(appliance->duration_s * 1000.0);
    int64_t first_ms = window->earliest_ms != INT64_MIN && window->earliest_ms > window->now_ms
                           ? window->earliest_ms
                           : window->now_ms;
    out->first_ms = first_ms;
    out->cost_now = balkon_rec_run_cost(appliance, slots, count, first_ms);
    if (duration_ms <= 0 || first_ms + duration_ms > window->latest_ms) {
        out->status = BALKON_REC_NO_FIT;
        write_sentence(appliance, window, currency, out);
        return;
    }
    /* The first allowed start, then every 15-minute boundary after it. */
    int64_t boundary = (first_ms / BALKON_SLOT_MS + 1) * BALKON_SLOT_MS;
    if (first_ms < 0 && first_ms % BALKON_SLOT_MS)
        boundary -= BALKON_SLOT_MS;
    double best = NAN;
    for (int64_t start = first_ms; start + duration_ms <= window->latest_ms;
         start = start == first_ms ? boundary : start + BALKON_SLOT_MS) {
        double cost = balkon_rec_run_cost(appliance, slots, count, start);
        if (isfinite(cost) && (!isfinite(best) || cost < best - COST_EPSILON)) {
            best = cost;
            out->start_ms = start;
        }
    }
    if (!isfinite(best)) {
        out->status = BALKON_REC_NO_DATA;
        write_sentence(appliance, window, currency, out);
        return;
    }
    out->status = BALKON_REC_OK;
    out->end_ms = out->start_ms + duration_ms;
    out->cost = best;
    out->saving = isfinite(out->cost_now) ? fmax(0.0, out->cost_now - best) : NAN;
    write_sentence(appliance, window, currency, out);
}
