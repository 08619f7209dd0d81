/* Deferrable loads behind smart plugs: when to switch them.
 *
 * Pure: no I/O, no bus; the loads module (src/loads/loads.c) feeds it the site's power
 * balance, the plug's state and the prices, and sends the switch commands. The rules, in
 * order (the first that applies decides, docs/loads.md):
 *   1. a manual override (API or dashboard) until it expires;
 *   2. mode "manual": nothing automatic;
 *   3. before `earliest`: off;   done for today (run_min reached): off;
 *   4. running (cheap or deadline start) with run time left: stays on until done;
 *   5. the deadline: if the run time left no longer fits before `latest`: on;
 *   6. mode "cheap" with prices: on in the cheapest contiguous window before `latest`;
 *   7. surplus: on once the PV left after the household (and, below the battery's
 *      priority SoC, its charging) covers the load for a minute; off once it covers less
 *      than half of it for two minutes.
 * Automatic switching keeps the minimum on and off times. */
#ifndef BALKON_LOADS_H
#define BALKON_LOADS_H

#include "balkon/series.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum balkon_load_mode { BALKON_LOAD_SURPLUS = 0, BALKON_LOAD_CHEAP, BALKON_LOAD_MANUAL };

/* Parses "surplus", "cheap", "manual"; -1 for anything else. */
int balkon_load_mode_parse(const char *text);

struct balkon_load_params {
    enum balkon_load_mode mode;
    double power_w;
    double run_s; /* per day; 0 = surplus only */
    double min_on_s;
    double min_off_s;
    double battery_priority_soc_pct;
    double battery_max_charge_w; /* what the battery can take below its priority SoC */
};

enum balkon_load_override { BALKON_LOAD_AUTO = 0, BALKON_LOAD_FORCE_ON, BALKON_LOAD_FORCE_OFF };

/* What the module remembers between decisions. Zero it to start; the module resets
 * run_today_s at local midnight. */
struct balkon_load_state {
    bool on;             /* what we last switched it to */
    bool started;        /* a run began (cheap window or deadline): finish it */
    int64_t switched_ms; /* INT64_MIN: never switched */
    double run_today_s;
    int64_t surplus_since_ms; /* INT64_MIN: no surplus now */
    int64_t deficit_since_ms; /* INT64_MIN: no deficit now */
    enum balkon_load_override override;
    int64_t override_until_ms;
};

struct balkon_load_inputs {
    int64_t now_ms;
    int64_t earliest_ms; /* today's `earliest` and `latest` as times */
    int64_t latest_ms;
    double pv_w;    /* NAN when unknown */
    double home_w;  /* the whole household, the load included when it runs */
    double soc_pct; /* NAN without a battery */
    double load_w;  /* what the plug measures now; NAN: assume power_w when on */
    const struct balkon_price_slot *prices; /* ascending; may be NULL */
    size_t price_count;
};

struct balkon_load_decision {
    bool on;
    char reason[96];
    int64_t next_start_ms; /* the planned start (cheap window or deadline); INT64_MIN: none */
};

void balkon_load_decide(const struct balkon_load_params *params, struct balkon_load_state *state,
                        const struct balkon_load_inputs *in, struct balkon_load_decision *out);

/* The start of the cheapest contiguous run of need_s within [from_ms, to_ms) by the
 * prices (a slot's price holds for its whole slot; times no slot covers make a window
 * impossible). Writes the average price into *avg_price when not NULL. INT64_MIN when no
 * window fits. */
int64_t balkon_load_cheapest_start(const struct balkon_price_slot *prices, size_t count,
                                   int64_t from_ms, int64_t to_ms, double need_s,
                                   double *avg_price);

#endif
