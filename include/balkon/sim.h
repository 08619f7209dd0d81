/* The simulated site: household load, PV, micro-inverter, battery and smart meter.
 *
 * Pure physics, no I/O, no bus: the daemon's "simulator" device driver, the tests, the
 * benchmarks and (later) the replay command all step the same world. The world is
 * deterministic for a given seed and sequence of step times.
 *
 * Signs (ours, everywhere): grid_w + import / - export; battery_w + discharge / - charge;
 * pv_w >= 0; home_w >= 0; and at every step home_w = pv_w + battery_w + grid_w exactly,
 * because the meter measures the grid as the balance of the others.
 *
 * Local time (for the household's daily rhythm) is the process's time zone (TZ). */
#ifndef BALKON_SIM_H
#define BALKON_SIM_H

#include <stddef.h>
#include <stdint.h>

#define SIM_MAX_PLANES 8

struct sim_plane {
    double tilt_deg;    /* 0 = flat, 90 = vertical (a balcony railing) */
    double azimuth_deg; /* 0 = south, -90 = east, 90 = west, +-180 = north */
    double peak_w;      /* modules' peak DC power on this plane (Wp) */
};

enum sim_coupling {
    /* Battery on its own plug with its own inverter; can charge from the grid. Its AC
     * output and the PV inverter's share the 800 W connection limit. */
    SIM_COUPLING_AC = 0,
    /* Battery between modules and micro-inverter (Solarbank style): charges only from PV,
     * and can store what the inverter would clip at its AC limit. */
    SIM_COUPLING_DC = 1,
};

enum sim_battery_mode {
    /* What vendor batteries do with their own meter: discharge to cover the load, charge
     * from surplus, following the grid reading towards 0 W with a lag of a few seconds. */
    SIM_BATTERY_AUTO = 0,
    /* Hold the commanded AC power (+ discharge, - charge), within limits and SoC bounds. */
    SIM_BATTERY_SETPOINT = 1,
};

struct sim_params {
    double latitude_deg;
    double longitude_deg;
    struct sim_plane planes[SIM_MAX_PLANES];
    size_t plane_count;

    double inverter_ac_limit_w;  /* AC cap on everything fed through the connection (800) */
    double inverter_efficiency;  /* DC -> AC, e.g. 0.96 */
    double system_loss_fraction; /* wiring, soiling, mismatch, e.g. 0.10 */

    double battery_capacity_wh;  /* usable capacity; 0 = no battery */
    double battery_max_charge_w; /* AC-side limits */
    double battery_max_discharge_w;
    double battery_charge_efficiency;    /* energy stored / energy taken, e.g. 0.95 */
    double battery_discharge_efficiency; /* energy delivered / energy drawn, e.g. 0.95 */
    double battery_soc_min_pct;
    double battery_soc_max_pct;
    double battery_initial_soc_pct;
    enum sim_coupling battery_coupling;

    double annual_load_kwh; /* household consumption per year, e.g. 3000 */
    double cloudiness;      /* long-run mean cloud cover, 0 = always clear, 1 = overcast */
    uint64_t seed;
};

/* One step's outcome. Powers are averages over the step just taken; soc at its end. */
struct sim_snapshot {
    int64_t ts_ms;
    double pv_dc_w;      /* modules' DC output before the inverter */
    double pv_w;         /* PV's AC contribution (after inverter efficiency and cap) */
    double pv_clipped_w; /* DC power lost to the AC cap (DC coupling stores some of it) */
    double home_w;       /* household load */
    double battery_w;    /* + discharge / - charge, AC side */
    double grid_w;       /* + import / - export, what the meter reads */
    double soc_pct;
    double battery_energy_wh; /* energy stored now */
    double poa_w_per_m2;      /* irradiance on the first plane (plane of array) */
    double sun_elevation_deg;
    double air_temp_c;
    double cloud_cover; /* 0..1 */
};

struct sim_world;

/* Checks params for physical sense; on error writes "field: problem" into msg and
 * returns BALKON_E_INVAL. */
int sim_params_validate(const struct sim_params *params, char *msg, size_t msg_size);

/* Creates a world at start_ts_ms. Returns NULL on invalid params or no memory.
 * The caller owns the world and frees it with sim_world_free. */
struct sim_world *sim_world_new(const struct sim_params *params, int64_t start_ts_ms);
void sim_world_free(struct sim_world *world);

/* Applies new params (a reloaded config) while keeping time, SoC percentage, cloud state
 * and running appliances. Returns 0 or BALKON_E_INVAL (the old params stay). */
int sim_world_reconfigure(struct sim_world *world, const struct sim_params *params);

void sim_world_set_battery_mode(struct sim_world *world, enum sim_battery_mode mode,
                                double setpoint_w);

/* The PV inverter's output limit in W (a non-persistent limit as OpenDTU sets it);
 * INFINITY or a negative value: none beyond its rating. */
void sim_world_set_pv_limit(struct sim_world *world, double limit_w);

/* A load outside the household profile (a simulated smart plug's appliance), W ≥ 0. */
void sim_world_set_extra_load(struct sim_world *world, double power_w);

/* Advances the world to ts_ms (must not go backwards; steps longer than 60 s are split
 * internally) and writes the outcome into out. */
void sim_world_step(struct sim_world *world, int64_t ts_ms, struct sim_snapshot *out);
/* Moves the world's time by jump_ms without stepping its physics (the clock jumped). */
void sim_world_shift(struct sim_world *world, int64_t jump_ms);

/* --- Pure pieces, exposed so tests can check them against known values. --- */

/* Sun position for a UTC time and place. Azimuth in our convention: 0 = south,
 * -90 = east, 90 = west. Elevation above the horizon, negative at night. */
void sim_sun_position(int64_t ts_ms, double latitude_deg, double longitude_deg,
                      double *elevation_deg, double *azimuth_deg);

/* Standard household profile (BDEW H0 shape) in W per 1000 kWh/year, already multiplied
 * by the day-of-year dynamic factor, for the quarter-hour containing local time ts_ms. */
double sim_h0_power_w_per_mwh(int64_t ts_ms);

#endif
