/* The slot types of prices, forecasts and grid signals, shared by the store, the bus and
 * the API. Every series lives on the grid of 15-minute UTC slots (slot_s 900). */
#ifndef BALKON_SERIES_H
#define BALKON_SERIES_H

#include <stdint.h>

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

#endif
