/* When a deferrable load runs: the rules are listed in include/balkon/loads.h. */
#include "balkon/loads.h"

#include "balkon/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Surplus must last this long before a load starts, and a deficit before it stops: a
 * passing cloud should not switch a dishwasher. */
#define SURPLUS_DELAY_MS (60 * 1000)
#define DEFICIT_DELAY_MS (120 * 1000)
/* The deadline starts a run this much early, so a late meter reading cannot miss it. */
#define DEADLINE_MARGIN_MS (60 * 1000)

int balkon_load_mode_parse(const char *text)
{
    if (strcmp(text, "surplus") == 0)
        return BALKON_LOAD_SURPLUS;
    if (strcmp(text, "cheap") == 0)
        return BALKON_LOAD_CHEAP;
    if (strcmp(text, "manual") == 0)
        return BALKON_LOAD_MANUAL;
    return -1;
}

/* The price integral over [start, end) in price x seconds; false when a gap is inside. */
static bool window_cost(const struct balkon_price_slot *prices, size_t count, int64_t start_ms,
                        int64_t end_ms, double *cost)
{
    double covered_s = 0.0, sum = 0.0;
    for (size_t i = 0; i < count; i++) {
        int64_t slot_start = prices[i].slot_ts_ms;
        int64_t slot_end = slot_start + (int64_t)prices[i].slot_s * 1000;
        int64_t from = slot_start > start_ms ? slot_start : start_ms;
        int64_t to = slot_end < end_ms ? slot_end : end_ms;
        if (to <= from || !isfinite(prices[i].price_per_kwh))
            continue;
        covered_s += (double)(to - from) / 1000.0;
        sum += prices[i].price_per_kwh * (double)(to - from) / 1000.0;
    }
    *cost = sum;
    return covered_s >= (double)(end_ms - start_ms) / 1000.0 - 1.0;
}

int64_t balkon_load_cheapest_start(const struct balkon_price_slot *prices, size_t count,
                                   int64_t from_ms, int64_t to_ms, double need_s, double *avg_price)
{
    int64_t need_ms = (int64_t)(need_s * 1000.0);
    if (need_ms <= 0 || from_ms + need_ms > to_ms)
        return INT64_MIN;
    /* The cost is piecewise linear in the start, so the best start is at `from` or where
     * the window's start or end meets a slot boundary. */
    int64_t best_start = INT64_MIN;
    double best_cost = INFINITY;
    for (size_t i = 0; i <= 2 * count; i++) {
        int64_t start;
        if (i == 2 * count)
            start = from_ms;
        else if (i % 2 == 0)
            start = prices[i / 2].slot_ts_ms;
        else
            start = prices[i / 2].slot_ts_ms + (int64_t)prices[i / 2].slot_s * 1000 - need_ms;
        double cost;
        if (start < from_ms || start + need_ms > to_ms ||
            !window_cost(prices, count, start, start + need_ms, &cost))
            continue;
        /* Ties go to the earlier start: done sooner, same money. */
        if (cost < best_cost - 1e-9 || (fabs(cost - best_cost) <= 1e-9 && start < best_start)) {
            best_cost = cost;
            best_start = start;
        }
    }
    if (best_start != INT64_MIN && avg_price)
        *avg_price = best_cost / need_s;
    return best_start;
}

static void hhmm(int64_t ts_ms, char *out, size_t size)
{
    time_t t = (time_t)(ts_ms / 1000);
    struct tm local;
    localtime_r(&t, &local);
    snprintf(out, size, "%02d:%02d", local.tm_hour, local.tm_min);
}

static void decide(struct balkon_load_decision *out, bool on, const char *fmt, const char *arg)
{
    out->on = on;
    snprintf(out->reason, sizeof out->reason, fmt, arg);
}

/* Rule 7: the PV the household does not use, less what the battery takes first. */
static void surplus_rule(const struct balkon_load_params *p, struct balkon_load_state *s,
                         const struct balkon_load_inputs *in, struct balkon_load_decision *out)
{
    if (!isfinite(in->pv_w) || !isfinite(in->home_w)) {
        decide(out, s->on, "%s", "waits for meter readings");
        return;
    }
    double own_w = s->on ? (isfinite(in->load_w) ? in->load_w : p->power_w) : 0.0;
    double battery_first_w = isfinite(in->soc_pct) && in->soc_pct < p->battery_priority_soc_pct
                                 ? p->battery_max_charge_w
                                 : 0.0;
    double available_w = in->pv_w - (in->home_w - own_w) - battery_first_w;
    bool enough = available_w >= (s->on ? 0.5 * p->power_w : p->power_w);
    if (enough) {
        s->deficit_since_ms = INT64_MIN;
        if (s->surplus_since_ms == INT64_MIN)
            s->surplus_since_ms = in->now_ms;
    } else {
        s->surplus_since_ms = INT64_MIN;
        if (s->deficit_since_ms == INT64_MIN)
            s->deficit_since_ms = in->now_ms;
    }
    char text[24];
    snprintf(text, sizeof text, "%.0f", available_w);
    if (s->on)
        decide(out,
               !(s->deficit_since_ms != INT64_MIN &&
                 in->now_ms - s->deficit_since_ms >= DEFICIT_DELAY_MS),
               enough ? "solar surplus %s W" : "surplus down to %s W", text);
    else if (enough && in->now_ms - s->surplus_since_ms >= SURPLUS_DELAY_MS)
        decide(out, true, "solar surplus %s W", text);
    else if (battery_first_w > 0 && !enough)
        decide(out, false, "%s", "the battery charges first");
    else
        decide(out, false, enough ? "surplus %s W, waiting a minute" : "not enough surplus (%s W)",
               text);
}

/* Rules 3 to 7: what the load should do without a manual override. */
static void automatic(const struct balkon_load_params *p, struct balkon_load_state *s,
                      const struct balkon_load_inputs *in, struct balkon_load_decision *out)
{
    char when[8];
    double left_s = p->run_s - s->run_today_s;
    if (in->now_ms < in->earliest_ms) {
        hhmm(in->earliest_ms, when, sizeof when);
        decide(out, false, "waits until %s", when);
        return;
    }
    if (p->run_s > 0 && left_s <= 0) {
        s->started = false;
        decide(out, false, "%s", "done for today");
        return;
    }
    if (s->started && s->on && left_s > 0) {
        decide(out, true, "%s", "running until done");
        return;
    }
    hhmm(in->latest_ms, when, sizeof when);
    int64_t deadline_start_ms = in->latest_ms - (int64_t)(left_s * 1000.0) - DEADLINE_MARGIN_MS;
    if (p->run_s > 0) {
        out->next_start_ms = deadline_start_ms;
        if (in->now_ms >= deadline_start_ms) {
            s->started = true;
            decide(out, true, "must finish by %s", when);
            return;
        }
    }
    if (p->mode == BALKON_LOAD_CHEAP && p->run_s > 0 && in->price_count > 0) {
        double avg = NAN;
        int64_t start_ms = balkon_load_cheapest_start(in->prices, in->price_count, in->now_ms,
                                                      in->latest_ms, left_s, &avg);
        if (start_ms != INT64_MIN) {
            out->next_start_ms = start_ms;
            char text[48];
            hhmm(start_ms, when, sizeof when);
            snprintf(text, sizeof text, "%s at %.3f per kWh", when, avg);
            if (in->now_ms >= start_ms) {
                s->started = true;
                decide(out, true, "cheapest window, from %s", text);
            } else {
                decide(out, false, "cheapest window starts %s", text);
            }
            return;
        }
    }
    surplus_rule(p, s, in, out);
}

void balkon_load_decide(const struct balkon_load_params *p, struct balkon_load_state *s,
                        const struct balkon_load_inputs *in, struct balkon_load_decision *out)
{
    memset(out, 0, sizeof *out);
    out->next_start_ms = INT64_MIN;
    if (s->override != BALKON_LOAD_AUTO && in->now_ms >= s->override_until_ms)
        s->override = BALKON_LOAD_AUTO;
    if (s->override != BALKON_LOAD_AUTO) {
        char until[8];
        hhmm(s->override_until_ms, until, sizeof until);
        decide(out, s->override == BALKON_LOAD_FORCE_ON,
               s->override == BALKON_LOAD_FORCE_ON ? "on by hand until %s" : "off by hand until %s",
               until);
        return;
    }
    if (p->mode == BALKON_LOAD_MANUAL) {
        decide(out, s->on, "%s", "manual: switched only by hand");
        return;
    }
    automatic(p, s, in, out);
    /* Minimum on/off times hold for automatic switching; the deadline overrides min_off. */
    if (out->on != s->on && s->switched_ms != INT64_MIN) {
        double since_s = (double)(in->now_ms - s->switched_ms) / 1000.0;
        double min_s = s->on ? p->min_on_s : p->min_off_s;
        bool deadline = out->on && strncmp(out->reason, "must finish", 11) == 0;
        if (since_s < min_s && !deadline) {
            out->on = s->on;
            snprintf(out->reason, sizeof out->reason, "%s for at least %.0f min",
                     s->on ? "stays on" : "stays off", min_s / 60.0);
        }
    }
}
