/* Why the plan does what it does in each slot: a reason code with its parameters, for the
 * dashboard's "what it does and why" sentence and for GET /api/v1/plan (docs/api.md).
 *
 * The reason is read off the plan after it is made (the optimizer's DP has no notion of a
 * reason): the slot's mode, the state of charge it starts from, its surplus or deficit, and
 * what the plan does later. The codes are the one vocabulary the API, the control status
 * and the dashboard share:
 *
 *   no_battery                     no battery configured
 *   grid_charging_cheap{price}     charging from the grid at this slot's price
 *   storing_surplus                charging from solar surplus
 *   covering_load                  discharging to cover the household
 *   at_soc_min                     wants to discharge, but the battery is at its minimum
 *   at_soc_max                     solar surplus, but the battery is full
 *   exporting_surplus              solar surplus the plan does not store now (room for later)
 *   waiting_for_cheaper_hour{ts, price}  at its minimum; grid charging comes later, cheaper
 *   waiting_for_grid_charge{ts, price}   at its minimum; grid charging comes later, same price
 *   saving_for_dearer_hour{ts, price}    holding its energy for a dearer hour later
 *   nothing_to_do                  neither surplus nor a reason to discharge
 *
 * Each code stands for one of the battery's states, the words the dashboard uses on Live, Plan
 * and the control card: charging, grid_charging, discharging, holding, resting. (The
 * optimizer's modes say how a slot is run, not what the battery does: its "discharge" also
 * stores a surplus the forecast missed.) */
#include "planner_internal.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Half a percent: the DP works in SoC steps, so "at the limit" is a band, not a value. */
#define AT_LIMIT_PCT 0.5
/* Below this the battery is resting, whatever the mode says. */
#define RESTING_W 5.0

static const struct {
    const char *code, *state;
} states[] = {
    {"storing_surplus", "charging"},       {"grid_charging_cheap", "grid_charging"},
    {"covering_load", "discharging"},      {"waiting_for_cheaper_hour", "holding"},
    {"saving_for_dearer_hour", "holding"}, {"waiting_for_grid_charge", "holding"},
};

static void set(struct planner_reason *r, const char *code)
{
    snprintf(r->code, sizeof r->code, "%s", code);
    snprintf(r->state, sizeof r->state, "resting");
    for (size_t i = 0; i < sizeof states / sizeof *states; i++)
        if (strcmp(code, states[i].code) == 0)
            snprintf(r->state, sizeof r->state, "%s", states[i].state);
    r->ts_ms = INT64_MIN;
    r->price_per_kwh = NAN;
}

#define PRICE_EPS 0.0005 /* prices differ by more than a rounding */

/* The first slot after i in the mode whose price is dearer (sign +1) or cheaper (sign -1)
 * than slot i's; with or_equal, also one at the same price. -1 when none. */
static long next_priced(const struct balkon_plan_slot_row *rows, size_t count, size_t i,
                        const char *mode, int sign, bool or_equal)
{
    for (size_t j = i + 1; j < count; j++) {
        double diff = sign * (rows[j].price_per_kwh - rows[i].price_per_kwh);
        if (strcmp(rows[j].mode, mode) == 0 &&
            (diff > PRICE_EPS || (or_equal && diff > -PRICE_EPS)))
            return (long)j;
    }
    return -1;
}

void planner_slot_reasons(const struct balkon_plan_slot_row *rows, size_t count,
                          double soc_start_pct, double capacity_wh, double soc_min_pct,
                          double soc_max_pct, struct planner_reason *out)
{
    for (size_t i = 0; i < count; i++) {
        const struct balkon_plan_slot_row *row = &rows[i];
        struct planner_reason *r = &out[i];
        /* A slot's SoC is the one at its end: it starts where the one before ended. */
        double soc_pct = i == 0 ? soc_start_pct : rows[i - 1].soc_pct;
        bool at_min = soc_pct <= soc_min_pct + AT_LIMIT_PCT;
        bool at_max = soc_pct >= soc_max_pct - AT_LIMIT_PCT;
        bool surplus = row->pv_w > row->load_w + RESTING_W;
        const char *mode = row->mode;
        if (capacity_wh <= 0.0) {
            set(r, "no_battery");
        } else if (strcmp(mode, "grid_charge") == 0) {
            set(r, "grid_charging_cheap");
            r->price_per_kwh = row->price_per_kwh;
        } else if (row->battery_w < -RESTING_W) {
            set(r, "storing_surplus");
        } else if (row->battery_w > RESTING_W) {
            set(r, "covering_load");
        } else if (surplus) {
            set(r, at_max ? "at_soc_max" : "exporting_surplus");
        } else if (at_min) {
            /* The cheaper grid charge it waits for, else one at the same price. */
            long j = next_priced(rows, count, i, "grid_charge", -1, false);
            bool cheaper = j >= 0;
            if (j < 0)
                j = next_priced(rows, count, i, "grid_charge", -1, true);
            if (j >= 0) {
                set(r, cheaper ? "waiting_for_cheaper_hour" : "waiting_for_grid_charge");
                r->ts_ms = rows[j].slot_ts_ms;
                r->price_per_kwh = rows[j].price_per_kwh;
            } else {
                set(r, "at_soc_min");
            }
        } else {
            long j = next_priced(rows, count, i, "discharge", +1, false);
            if (j >= 0) {
                set(r, "saving_for_dearer_hour");
                r->ts_ms = rows[j].slot_ts_ms;
                r->price_per_kwh = rows[j].price_per_kwh;
            } else {
                set(r, "nothing_to_do");
            }
        }
    }
}
