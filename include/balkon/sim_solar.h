/* The climatological solar forecast of the "sim_solar" provider, for other users of the same
 * method (the replay command): the simulator's PV model for the configured site under a
 * clear sky, scaled by the share of clear-sky yield the configured long-run cloudiness
 * leaves over a year. Implemented in src/providers/sim_solar.c. */
#ifndef BALKON_SIM_SOLAR_H
#define BALKON_SIM_SOLAR_H

#include <stddef.h>
#include <stdint.h>

struct balkon_config;

/* Share of the clear-sky yield left at long-run cloud cover `cloudiness` (0..1). */
double balkon_sim_solar_cloud_factor(double cloudiness);

/* The forecast AC power (W, after the inverter's cap) of `count` consecutive 15-minute slots
 * from start_ms, as issued at start_ms: a clear-sky world is started there and stepped slot
 * by slot. Writes pv_w[0..count). Returns 0 or BALKON_E_INVAL (the PV model refused the
 * site's parameters). */
int balkon_sim_solar_forecast(const struct balkon_config *config, int64_t start_ms, size_t count,
                              double *pv_w);

#endif
