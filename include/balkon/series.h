/* The slot types of prices, forecasts and grid signals, shared by the store, the bus and
 * the API. Every series lives on the grid of 15-minute UTC slots (slot_s 900). */
#ifndef BALKON_SERIES_H
#define BALKON_SERIES_H

#include <stdbool.h>
#include <stdint.h>

/* The slot: the 15-minute UTC grid that prices, forecasts, signals, plans, the control's
 * plan steps, recommendations and replays are all put on. */
#define BALKON_SLOT_S 900
#define BALKON_SLOT_MS (INT64_C(1000) * BALKON_SLOT_S)

struct balkon_price_slot {
    int64_t slot_ts_ms;
    int32_t slot_s;
    double price_per_kwh;  /* consumer price in the series' currency, all-in */
    double market_per_kwh; /* wholesale price before charges and VAT; NAN when unknown */
};

struct balkon_forecast_slot {
    int64_t slot_ts_ms;
    int32_t slot_s;
    int64_t issued_ts_ms;
    double value_w; /* mean power over the slot */
    double p10_w;   /* NAN when the provider gives no band */
    double p90_w;
};

struct balkon_signal_slot {
    int64_t slot_ts_ms;
    int32_t slot_s;
    double value;
};

/* One 15-minute slot of a stored plan. battery_w: + discharge / − charge; soc_pct at the
 * slot's end; money in the plan's currency for the slot. */
struct balkon_plan_slot_row {
    int64_t slot_ts_ms;
    char mode[16];
    double battery_w;
    double soc_pct;
    double pv_w;
    double load_w;
    double import_w;
    double export_w;
    double price_per_kwh;
    double cost;
    double cost_no_battery;
    double cost_self_consumption;
    /* Why the plan does this (src/planner/reasons.c, docs/api.md): the code and the battery's
     * state it stands for ("" in a plan stored before reasons were), with the time and the
     * price it refers to (INT64_MIN and NAN when the code takes none). */
    char reason_code[32];
    char reason_state[16];
    int64_t reason_ts_ms;
    double reason_price_per_kwh;
    /* For the control only (not stored): the slot's feed-in and the plan's value of stored
     * energy at the slot's end (struct balkon_opt_value, docs/optimizer.md); value_valid
     * false when the plan carries none. */
    double feed_in_per_kwh;
    bool value_valid;
    double value_soc_wh;
    double value_charge_per_kwh;
    double value_discharge_per_kwh;
};

#endif
