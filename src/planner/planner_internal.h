/* The planner module's parts: gathering the inputs of a plan from the store and the
 * config, the household load forecast, and the forecast errors learnt from history. */
#ifndef BALKON_PLANNER_INTERNAL_H
#define BALKON_PLANNER_INTERNAL_H

#include "balkon/forecast_error.h"
#include "balkon/optimizer.h"
#include "balkon/series.h"

#include <stddef.h>
#include <stdint.h>

struct balkon_store;
struct balkon_config;

/* What a plan is made of, and how much of it is real data rather than a fallback. */
struct planner_inputs {
    int64_t start_ms; /* first slot's start */
    size_t count;
    struct balkon_opt_slot slots[BALKON_OPT_MAX_SLOTS];
    int64_t slot_ts_ms[BALKON_OPT_MAX_SLOTS];
    size_t price_slots;        /* slots with a provider's price (others: tariff) */
    size_t pv_slots;           /* slots with a solar forecast (others: 0 W) */
    double load_history_share; /* mean share of measured history in the load forecast */
    char price_provider[32];   /* "" when none */
    char pv_provider[32];
    char currency[4];
};

/* Fills the slots from now's slot on: prices of the first enabled price provider (the
 * horizon ends with the last known price, but never below 4 slots), the newest solar
 * forecast of the first enabled PV provider, and the load forecast. Only reads, so it
 * runs on the thread pool with a reader. Returns 0 or a BALKON_E_* code with msg set. */
int planner_gather(struct balkon_store *store, const struct balkon_config *config, int64_t now_ms,
                   struct planner_inputs *inputs, char *msg, size_t msg_size);

/* Forecasts the household's load for the slots starting at slot_ts_ms[0..count) from the
 * stored history of home_w and writes W per slot into load_w and the mean share of
 * measured history in it into *history_share (0 = all standard profile). Returns 0 or a
 * negative BALKON_E_* code. */
int planner_forecast_load(struct balkon_store *store, const struct balkon_config *config,
                          int64_t now_ms, const int64_t *slot_ts_ms, size_t count, double *load_w,
                          double *history_share);
/* Stores the inputs' load forecast (forecast kind "load", provider "household"), issued at
 * issued_ms, so its accuracy can be measured later; a failure is logged. */
void planner_store_load_forecast(struct balkon_store *store, int64_t issued_ms,
                                 const struct planner_inputs *in);

/* Learns the site's forecast errors (balkon/forecast_error.h) from the last weeks: the
 * stored issues of pv_provider's forecast ("" or NULL: none) and of the load forecast at
 * four leads against the measured pv_w and home_w. Only reads (thread pool). *samples gets
 * the number of slots learnt from. Returns 0 or a negative BALKON_E_* code. */
int planner_learn_errors(struct balkon_store *store, const struct balkon_config *config,
                         const char *pv_provider, int64_t now_ms,
                         struct balkon_forecast_errors *errors, size_t *samples);

/* Why the plan does what it does in a slot (src/planner/reasons.c): a code and its
 * parameters (ts_ms INT64_MIN and price_per_kwh NAN when the code has none). */
struct planner_reason {
    char code[32];
    char
        state[16]; /* the battery's state: charging, grid_charging, discharging, holding, resting */
    int64_t ts_ms;
    double price_per_kwh;
};

/* The reason of each of the count slots into out[0..count), from the plan's rows, the SoC
 * the plan starts from and the battery's limits. Pure. */
void planner_slot_reasons(const struct balkon_plan_slot_row *rows, size_t count,
                          double soc_start_pct, double capacity_wh, double soc_min_pct,
                          double soc_max_pct, struct planner_reason *out);

/* The local minute of day (0..1439) and day of year (1..366) of ts_ms. */
void planner_local_time(int64_t ts_ms, int *minute_of_day, int *day_of_year);

#endif
