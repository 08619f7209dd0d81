/* The replay: a stretch of 15-minute slots with known PV, load and prices, run at full
 * speed through every strategy the way the daemon would run it, with forecasts made from
 * what was known before each decision (no peeking). The sizing advisor
 * (`balkonsolard simulate`, src/replay/command.c) and bench/bench_optimizer.c use it.
 *
 * Per slot t of the replayed range the engine:
 *   - no_battery: runs the slot without a battery;
 *   - self_consumption, fixed_schedule: decide on the slot's own measured PV and load (and
 *     the clock), as a battery that follows its meter does; they need no forecast;
 *   - optimal: builds the horizon the planner would see (prices known at t, the load
 *     forecast from the history before t, the PV forecast as issued before t), plans it
 *     with balkon_opt_plan, applies the planner's rules (a grid charge that only rounds a
 *     PV charge becomes a charge; each command as balkon_opt_command_follow makes it; the
 *     plan falls back to self-consumption when that is cheaper on the forecasts) and runs
 *     the slot's command against the measured PV and load;
 *   - optimal_as_planned (benchmarks only): the same plan with the planned power run
 *     literally;
 *   - perfect_foresight: optimal given the true PV and load of the same horizon, an upper
 *     bound of what forecasts can reach (over a horizon as long as the prices known).
 * Every battery starts at its lower SoC bound. The algorithm and its limits are in
 * docs/replay.md.
 *
 * Signs and units as in balkon/optimizer.h. */
#ifndef BALKON_REPLAY_H
#define BALKON_REPLAY_H

#include "balkon/daytype.h"
#include "balkon/optimizer.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BALKON_REPLAY_SLOTS_PER_DAY 96

/* One 15-minute slot of the data. */
struct balkon_replay_slot {
    int64_t ts_ms; /* start (UTC) */
    bool measured; /* false: no data (a gap, or past its end); not run, not learnt from */
    double pv_w;   /* PV's AC potential before the cap (measured: what PV delivered) */
    double load_w;
    double import_price_per_kwh; /* the consumer price charged for the slot */
    double feed_in_per_kwh;
    bool price_known;    /* the price is a provider's (else a flat tariff's fallback) */
    size_t prices_until; /* index: prices of slots before it are published at this slot */
    int minute_of_day;   /* local */
    int day_of_year;     /* local, 1..366 */
    enum balkon_day_type day_type;
};

/* The data: slots[0..count) at consecutive 15-minute steps; the replayed range is
 * [first, last); slots before first are history for the load forecast, slots from last on
 * are look-ahead for the horizons. */
struct balkon_replay_series {
    struct balkon_replay_slot *slots;
    size_t count;
    size_t first, last;
};

enum balkon_replay_strategy {
    BALKON_REPLAY_NO_BATTERY = 0,
    BALKON_REPLAY_SELF_CONSUMPTION,
    BALKON_REPLAY_OPTIMAL,
    BALKON_REPLAY_FIXED_SCHEDULE,
    BALKON_REPLAY_OPTIMAL_AS_PLANNED,
    BALKON_REPLAY_PERFECT_FORESIGHT,
};
#define BALKON_REPLAY_STRATEGY_COUNT 6
#define BALKON_REPLAY_BIT(s) (1u << (s))

/* "no_battery", "self_consumption", "optimal", "fixed_schedule", "optimal_as_planned",
 * "perfect_foresight"; "?" for an unknown value. */
const char *balkon_replay_strategy_name(enum balkon_replay_strategy strategy);
/* Parses a name as above. Returns 0 or BALKON_E_NOTFOUND. */
int balkon_replay_strategy_parse(const char *name, enum balkon_replay_strategy *out);

/* The PV forecast for slots [now, end) as known at slot now's start, into pv_w[0..end-now).
 * Must read nothing of the series from slot now on but calendars. Returns 0 or a
 * BALKON_E_* code. */
typedef int (*balkon_replay_pv_forecast_fn)(void *user, const struct balkon_replay_series *series,
                                            size_t now, size_t end, double *pv_w);

struct balkon_replay_params {
    struct balkon_opt_battery battery;
    double soc_step_wh; /* the DP's grid; 0 (the default): balkon_opt_soc_step_wh */
    /* Value of a kWh left at a horizon's end; < 0: the planner's automatic value (the
     * horizon's lowest import price x discharge efficiency - wear, at least 0). */
    double terminal_value_per_kwh;
    const struct balkon_opt_window *windows; /* borrowed; fixed_schedule */
    size_t window_count;
    size_t horizon_slots; /* longest horizon (optimizer.horizon_h x 4), 4..BALKON_OPT_MAX_SLOTS */
    double history_days;  /* load history the forecast learns from (optimizer.history_days) */
    double annual_kwh;    /* scales the standard profile while history is thin */
    unsigned strategies;  /* BALKON_REPLAY_BIT(...) of those to run; no_battery always runs */
    balkon_replay_pv_forecast_fn pv_forecast; /* NULL: balkon_replay_pv_persistence */
    void *pv_forecast_user;
    /* Plans that know forecasts are wrong (balkon/forecast_error.h): the errors of the
     * forecasts above are learnt as the replay goes, from the slots already replayed, and
     * "optimal" plans against scenarios of them from this many hours ahead on; 0: on one
     * certain forecast (optimizer.scenario_after_h). */
    double scenario_after_h;
    double pv_error_floor_w; /* PV errors scale with max(forecast, this) (a tenth of the peak) */
};

/* Fills params with the daemon's defaults: no battery, the adaptive SoC step, automatic
 * terminal value, 48 h horizon, 56 days of history, 3000 kWh, the strategies
 * self_consumption, optimal and perfect_foresight (fixed_schedule needs windows), PV by
 * persistence, forecast error scenarios from 8 h ahead, a 50 W PV error floor. */
void balkon_replay_params_init(struct balkon_replay_params *params);

/* PV by persistence: each slot gets the measured PV of the same time (UTC, i.e. the same
 * sun) on the last past day before `now` that has it, up to 7 days back; 0 W without. */
int balkon_replay_pv_persistence(void *user, const struct balkon_replay_series *series, size_t now,
                                 size_t end, double *pv_w);

/* What one strategy did over the replayed slots. */
struct balkon_replay_tally {
    bool ran;
    /* Summed over the slots run: import_wh, export_wh, pv_used_wh, pv_curtailed_wh,
     * charge_wh, discharge_wh, throughput_wh, energy_cost, wear_cost; soc_end_wh at the
     * end; stored_value = what the energy gained by the end is worth (see
     * balkon_replay_report); objective = energy_cost + wear_cost - stored_value, the net
     * cost the strategies are compared by. */
    struct balkon_opt_totals totals;
    double soc_start_wh;
    size_t plans;     /* re-plans made (optimal, perfect_foresight) */
    size_t fallbacks; /* of them, how many fell back to self-consumption */
    double plan_s;    /* time spent planning */
};

struct balkon_replay_report {
    struct balkon_replay_tally tally[BALKON_REPLAY_STRATEGY_COUNT];
    size_t slots;          /* slots run */
    size_t gaps;           /* slots of the range without data, skipped */
    double load_wh, pv_wh; /* measured, over the slots run */
    double price_min, price_max, price_mean;
    /* How the energy a battery gained by the end is credited. With the automatic terminal
     * value and slots after the range: by the optimal plan over the end_credit_slots after
     * the range (true PV and load where known), its cost from the start SoC minus that from
     * the end SoC. Otherwise (end_credit_slots 0): end_value_per_kwh per kWh gained, the
     * terminal value param or the automatic rule over the replayed prices. */
    size_t end_credit_slots;
    double end_value_per_kwh;
    size_t price_known_slots;
    /* Forecast errors at the slot being decided (optimal): mean |error| and mean error. */
    double load_mae_w, load_bias_w, pv_mae_w;
    double elapsed_s;
};

/* Replays series with params into out. Returns 0, or a BALKON_E_* code with msg set
 * ("field: problem"). Allocates its own scratch memory and frees it. */
int balkon_replay_run(const struct balkon_replay_series *series,
                      const struct balkon_replay_params *params, struct balkon_replay_report *out,
                      char *msg, size_t msg_size);

/* `balkonsolard simulate [options]`: argv[0] is "simulate". Returns the exit code: 0, 1
 * (the data could not be read or replayed) or 2 (bad options or config). */
int balkon_replay_main(int argc, char **argv);

#endif
