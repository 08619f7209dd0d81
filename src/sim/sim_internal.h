/* Private interfaces between the simulator's pieces: random numbers (rng.c), the sun and
 * clear sky (sun.c), clouds and air temperature (weather.c), the PV array and inverter
 * (pv.c), the household (h0_profile.c, load.c) and the battery (battery.c). world.c couples
 * them. Nothing outside src/sim includes this header. */
#ifndef BALKON_SIM_INTERNAL_H
#define BALKON_SIM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "balkon/sim.h"

#define SIM_PI 3.14159265358979323846
#define SIM_DEG (SIM_PI / 180.0)

/* --- rng.c: xoshiro256** seeded through splitmix64. Each process of the world (weather,
 * household) draws from its own stream, so changing one never shifts the other's numbers. */
struct sim_rng {
    uint64_t s[4];
};

void sim_rng_seed(struct sim_rng *rng, uint64_t seed, uint64_t stream);
uint64_t sim_rng_next(struct sim_rng *rng);
double sim_rng_uniform(struct sim_rng *rng); /* in (0, 1), never 0 or 1 */
double sim_rng_range(struct sim_rng *rng, double lo, double hi);
double sim_rng_normal(struct sim_rng *rng);      /* mean 0, standard deviation 1 */
double sim_rng_exponential(struct sim_rng *rng); /* mean 1 */

/* --- sun.c --- */
struct sim_sky {
    double dni_w_per_m2; /* direct normal */
    double dhi_w_per_m2; /* diffuse on the horizontal */
    double ghi_w_per_m2; /* global on the horizontal = dni * sin(elevation) + dhi */
};

/* Sun position as sim_sun_position, plus the Earth-Sun distance in astronomical units. */
void sim_sun_state(int64_t ts_ms, double latitude_deg, double longitude_deg, double *elevation_deg,
                   double *azimuth_deg, double *distance_au);
/* Cloudless sky for a sun elevation; all zero when the sun is below the horizon. */
void sim_clear_sky(int64_t ts_ms, double elevation_deg, double distance_au, struct sim_sky *out);
/* Irradiance on a tilted plane (plane of array) from a sky and the sun's position. */
double sim_plane_irradiance(const struct sim_plane *plane, double elevation_deg, double azimuth_deg,
                            const struct sim_sky *sky);

/* --- weather.c --- */
struct sim_weather {
    struct sim_rng rng;
    double cloudiness;     /* configured long-run mean cover */
    double mean_cover;     /* this season's mean cover, which cover_offset is tuned to */
    double cover_offset;   /* a in cover = Phi(a + b z), chosen so E[cover] = mean_cover */
    double z_slow, z_fast; /* standard-normal Ornstein-Uhlenbeck states (weather, showers) */
    double temp_anomaly_k; /* slow random deviation from the climatological temperature */
    bool sun_occluded;     /* a cloud is in front of the sun right now */
    double switch_budget;  /* Exp(1) hazard left until the occlusion state flips */
};

void sim_weather_init(struct sim_weather *weather, uint64_t seed, double cloudiness, int64_t ts_ms,
                      double latitude_deg);
void sim_weather_set_cloudiness(struct sim_weather *weather, double cloudiness, int64_t ts_ms,
                                double latitude_deg);
double sim_weather_cover(const struct sim_weather *weather);
/* Advances the clouds by dt_s from ts_ms; returns the cover during the interval and the
 * fraction of it the sun spent behind a cloud. */
void sim_weather_step(struct sim_weather *weather, int64_t ts_ms, double latitude_deg, double dt_s,
                      double *cover, double *occluded_fraction);
/* The clear sky attenuated by clouds (Kasten-Czeplak on average, beam gated by occlusion). */
void sim_cloudy_sky(const struct sim_sky *clear, double elevation_deg, double cover,
                    double occluded_fraction, struct sim_sky *out);
double sim_air_temp_c(const struct sim_weather *weather, int64_t ts_ms, double latitude_deg,
                      double longitude_deg, double cover);

/* --- pv.c --- */
/* DC power of all planes at the inverter's input (after system losses). */
double sim_pv_dc_w(const struct sim_params *params, const struct sim_sky *sky, double elevation_deg,
                   double azimuth_deg, double air_temp_c, double *first_plane_poa_w_per_m2);
/* A micro-inverter: AC output for a DC input, capped at limit_w; *clipped_dc_w is the DC
 * power the cap threw away. */
double sim_inverter_ac_w(double dc_w, double efficiency, double limit_w, double *clipped_dc_w);

/* --- h0_profile.c --- */
/* Like sim_h0_power_w_per_mwh, also telling the local hour (0..23) of ts_ms. */
double sim_h0_lookup(int64_t ts_ms, int *local_hour);

/* --- load.c --- */
#define SIM_APPLIANCE_KINDS 8
#define SIM_MAX_PHASES 16

struct sim_appliance_run {
    bool active;
    double start_ms;
    int phase_count;
    double phase_end_s[SIM_MAX_PHASES]; /* cumulative, from start_ms */
    double phase_power_w[SIM_MAX_PHASES];
};

struct sim_load {
    struct sim_rng rng;
    double annual_kwh;
    double base_scale;      /* share of the H0 curve left after the modelled appliances */
    double event_scale;     /* appliance uses per day relative to the 3000 kWh household */
    double appliance_scale; /* appliance power factor; < 1 only for very small households */
    double hazard_left[SIM_APPLIANCE_KINDS]; /* Exp(1) budget until the next arrival */
    int pending[SIM_APPLIANCE_KINDS];        /* arrivals waiting for the running cycle */
    struct sim_appliance_run runs[SIM_APPLIANCE_KINDS];
    bool fridge_on;
    double fridge_switch_in_s;
    double fridge_power_w;
    int64_t h0_quarter_ms; /* UTC quarter-hour the cached H0 value belongs to */
    double h0_w_per_mwh;
    int h0_local_hour;
};

void sim_load_init(struct sim_load *load, uint64_t seed, double annual_kwh);
void sim_load_set_annual(struct sim_load *load, double annual_kwh);
/* Mean household power over [t0_ms, t1_ms). */
double sim_load_step(struct sim_load *load, int64_t t0_ms, int64_t t1_ms);
/* Expected yearly energy of the modelled appliances for a 3000 kWh household (kWh). */
double sim_load_appliance_kwh_per_year(void);

/* --- battery.c --- */
struct sim_battery {
    double energy_wh;
    double output_w; /* last AC-side power, the state of the AUTO mode's lag */
    enum sim_battery_mode mode;
    double setpoint_w;
};

#define SIM_BATTERY_LAG_S 3.0

/* Largest discharge / charge (both >= 0, AC side) the cells, the SoC bounds and the
 * device limits allow for the next dt_s. */
double sim_battery_max_discharge_w(const struct sim_params *params,
                                   const struct sim_battery *battery, double dt_s);
double sim_battery_max_charge_w(const struct sim_params *params, const struct sim_battery *battery,
                                double dt_s);
/* Moves energy for an AC-side power held for dt_s (+ discharge, - charge). */
void sim_battery_apply(const struct sim_params *params, struct sim_battery *battery,
                       double battery_w, double dt_s);
/* Mean of a first-order lag over dt_s that starts at y0 and heads for target; the value at
 * the end goes to *y_end. */
double sim_lag_mean(double y0, double target, double dt_s, double tau_s, double *y_end);

#endif
