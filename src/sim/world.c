/* The simulated site: couples sun, clouds, PV, inverter, household, battery and meter, and
 * steps them through time.
 *
 * A step is cut into sub-steps that end on whole minutes (so at most 60 s, and a long step
 * is cut the same way however it is called); every process is integrated exactly over its
 * sub-step (energy overlaps for appliances, exact Ornstein-Uhlenbeck and lag updates), and
 * the snapshot reports the averages. The sun is evaluated at each sub-step's midpoint.
 *
 * Coupling, AC side, per sub-step:
 *
 * AC coupling: the micro-inverter turns PV DC into pv_w (capped at the connection limit).
 * The battery has its own inverter on the same connection, so its discharge may only fill
 * what PV leaves of the limit: pv_w + max(battery_w, 0) <= inverter_ac_limit_w. PV has the
 * priority because its energy is free. Charging does not count against the feed-in limit;
 * in SETPOINT mode it may draw from the grid, in AUTO mode it takes at most pv_w.
 *
 * DC coupling: the battery sits on the DC bus between modules and micro-inverter. Let
 * pv_ac_equiv = pv_dc * eta_inv be what the PV alone would give on the AC side uncapped, and
 * battery_w the battery's bus flow valued the same way (see battery.c). The inverter then
 * outputs out_w = min(pv_ac_equiv + battery_w, limit) and we report
 *     battery_w                  (+ discharge through the inverter / - DC diverted into cells)
 *     pv_w = out_w - battery_w   (PV's AC contribution, including what went to the cells)
 * so pv_w + battery_w is exactly the inverter's output (<= limit) and the meter balance
 * holds. While discharging, pv_w = pv_ac_equiv and the discharge is limited to
 * limit - pv_ac_equiv. Charging takes at most the PV's DC. When the PV alone exceeds the
 * limit the battery charges at least the excess (limit - pv_ac_equiv), in either mode: a
 * Solarbank-style hub stores what the inverter cannot pass; only what neither takes is
 * reported in pv_clipped_w.
 *
 * Meter: grid_w = home_w - pv_w - battery_w, computed from the step's averages, so
 * home_w = pv_w + battery_w + grid_w holds to rounding of one subtraction. */
#include <math.h>
#include <stdlib.h>

#include "balkon/error.h"
#include "sim_internal.h"

#define SUBSTEP_MS INT64_C(60000)

struct sim_world {
    struct sim_params params;
    int64_t ts_ms;
    struct sim_weather weather;
    struct sim_load load;
    struct sim_battery battery;
    struct sim_snapshot last;
    double extra_load_w;
    double pv_limit_w;
};

/* Time-weighted sums of a step's sub-steps. */
struct step_sums {
    double dt_s;
    double pv_dc_ws, pv_ws, clipped_ws, home_ws, battery_ws;
    double poa_s, elevation_s, air_temp_s, cover_s;
};

static double clamp(double x, double lo, double hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

static double soc_pct(const struct sim_world *world)
{
    double cap_wh = world->params.battery_capacity_wh;
    return cap_wh > 0.0 ? world->battery.energy_wh / cap_wh * 100.0 : 0.0;
}

/* What the battery wants to do over dt_s before limits: the setpoint, or the lagged chase
 * of the net demand. */
static double battery_request_w(const struct sim_world *world, double net_demand_w, double dt_s,
                                double *end_w)
{
    if (world->battery.mode == SIM_BATTERY_SETPOINT) {
        *end_w = world->battery.setpoint_w;
        return world->battery.setpoint_w;
    }
    return sim_lag_mean(world->battery.output_w, net_demand_w, dt_s, SIM_BATTERY_LAG_S, end_w);
}

static void couple_ac(struct sim_world *world, double dc_w, double home_w, double dt_s,
                      double *pv_w, double *battery_w, double *clipped_w)
{
    const struct sim_params *p = &world->params;
    *pv_w = sim_inverter_ac_w(dc_w, p->inverter_efficiency,
                              fmin(p->inverter_ac_limit_w, world->pv_limit_w), clipped_w);
    double max_dis_w = fmin(sim_battery_max_discharge_w(p, &world->battery, dt_s),
                            fmax(p->inverter_ac_limit_w - *pv_w, 0.0));
    double max_ch_w = sim_battery_max_charge_w(p, &world->battery, dt_s);
    if (world->battery.mode == SIM_BATTERY_AUTO)
        max_ch_w = fmin(max_ch_w, *pv_w);
    double end_w;
    double request_w = battery_request_w(world, home_w - *pv_w, dt_s, &end_w);
    *battery_w = clamp(request_w, -max_ch_w, max_dis_w);
    world->battery.output_w = clamp(end_w, -max_ch_w, max_dis_w);
}

static void couple_dc(struct sim_world *world, double dc_w, double home_w, double dt_s,
                      double *pv_w, double *battery_w, double *clipped_w)
{
    const struct sim_params *p = &world->params;
    double limit_w = p->inverter_ac_limit_w;
    double pv_equiv_w = dc_w * p->inverter_efficiency;
    double max_dis_w = fmin(sim_battery_max_discharge_w(p, &world->battery, dt_s),
                            fmax(limit_w - pv_equiv_w, 0.0));
    double max_ch_w = fmin(sim_battery_max_charge_w(p, &world->battery, dt_s), pv_equiv_w);
    double end_w;
    double request_w = battery_request_w(world, home_w - pv_equiv_w, dt_s, &end_w);
    if (pv_equiv_w > limit_w) {
        request_w = fmin(request_w, limit_w - pv_equiv_w);
        end_w = fmin(end_w, limit_w - pv_equiv_w);
    }
    *battery_w = clamp(request_w, -max_ch_w, max_dis_w);
    world->battery.output_w = clamp(end_w, -max_ch_w, max_dis_w);
    double input_w = pv_equiv_w + *battery_w;
    double out_w = fmin(input_w, limit_w);
    *clipped_w = (input_w - out_w) / p->inverter_efficiency;
    *pv_w = out_w - *battery_w;
}

static void substep(struct sim_world *world, int64_t t0_ms, int64_t t1_ms, struct step_sums *sums)
{
    const struct sim_params *p = &world->params;
    double dt_s = (double)(t1_ms - t0_ms) / 1000.0;
    int64_t mid_ms = t0_ms + (t1_ms - t0_ms) / 2;

    double elevation_deg, azimuth_deg, distance_au;
    sim_sun_state(mid_ms, p->latitude_deg, p->longitude_deg, &elevation_deg, &azimuth_deg,
                  &distance_au);
    struct sim_sky clear, sky;
    sim_clear_sky(mid_ms, elevation_deg, distance_au, &clear);
    double cover, occluded;
    sim_weather_step(&world->weather, t0_ms, p->latitude_deg, dt_s, &cover, &occluded);
    sim_cloudy_sky(&clear, elevation_deg, cover, occluded, &sky);
    double air_c =
        sim_air_temp_c(&world->weather, mid_ms, p->latitude_deg, p->longitude_deg, cover);
    double poa;
    double dc_w = sim_pv_dc_w(p, &sky, elevation_deg, azimuth_deg, air_c, &poa);
    double home_w = sim_load_step(&world->load, t0_ms, t1_ms) + world->extra_load_w;

    double pv_w, battery_w, clipped_w;
    if (p->battery_coupling == SIM_COUPLING_DC)
        couple_dc(world, dc_w, home_w, dt_s, &pv_w, &battery_w, &clipped_w);
    else
        couple_ac(world, dc_w, home_w, dt_s, &pv_w, &battery_w, &clipped_w);
    sim_battery_apply(p, &world->battery, battery_w, dt_s);

    sums->dt_s += dt_s;
    sums->pv_dc_ws += dc_w * dt_s;
    sums->pv_ws += pv_w * dt_s;
    sums->clipped_ws += clipped_w * dt_s;
    sums->home_ws += home_w * dt_s;
    sums->battery_ws += battery_w * dt_s;
    sums->poa_s += poa * dt_s;
    sums->elevation_s += elevation_deg * dt_s;
    sums->air_temp_s += air_c * dt_s;
    sums->cover_s += cover * dt_s;
}

/* The snapshot of a world that has not stepped yet: its state, no flows. */
static void describe_state(struct sim_world *world)
{
    const struct sim_params *p = &world->params;
    struct sim_snapshot *s = &world->last;
    double azimuth_deg;
    *s = (struct sim_snapshot){.ts_ms = world->ts_ms};
    sim_sun_position(world->ts_ms, p->latitude_deg, p->longitude_deg, &s->sun_elevation_deg,
                     &azimuth_deg);
    s->cloud_cover = sim_weather_cover(&world->weather);
    s->air_temp_c = sim_air_temp_c(&world->weather, world->ts_ms, p->latitude_deg, p->longitude_deg,
                                   s->cloud_cover);
    s->soc_pct = soc_pct(world);
    s->battery_energy_wh = world->battery.energy_wh;
}

struct sim_world *sim_world_new(const struct sim_params *params, int64_t start_ts_ms)
{
    if (sim_params_validate(params, NULL, 0) != 0)
        return NULL;
    struct sim_world *world = calloc(1, sizeof *world);
    if (!world)
        return NULL;
    world->params = *params;
    world->pv_limit_w = INFINITY;
    world->ts_ms = start_ts_ms;
    sim_weather_init(&world->weather, params->seed, params->cloudiness, start_ts_ms,
                     params->latitude_deg);
    sim_load_init(&world->load, params->seed, params->annual_load_kwh);
    world->battery.energy_wh =
        params->battery_capacity_wh * params->battery_initial_soc_pct / 100.0;
    world->battery.mode = SIM_BATTERY_AUTO;
    describe_state(world);
    return world;
}

void sim_world_free(struct sim_world *world)
{
    free(world);
}

int sim_world_reconfigure(struct sim_world *world, const struct sim_params *params)
{
    if (!world || sim_params_validate(params, NULL, 0) != 0)
        return BALKON_E_INVAL;
    /* A battery that appears where there was none starts at its configured SoC. */
    double keep_pct =
        world->params.battery_capacity_wh > 0.0 ? soc_pct(world) : params->battery_initial_soc_pct;
    world->params = *params;
    keep_pct = clamp(keep_pct, params->battery_soc_min_pct, params->battery_soc_max_pct);
    world->battery.energy_wh = params->battery_capacity_wh * keep_pct / 100.0;
    if (params->battery_capacity_wh <= 0.0)
        world->battery.output_w = 0.0;
    /* The random streams continue: a new seed only matters to a new world. */
    sim_weather_set_cloudiness(&world->weather, params->cloudiness, world->ts_ms,
                               params->latitude_deg);
    sim_load_set_annual(&world->load, params->annual_load_kwh);
    world->last.soc_pct = soc_pct(world);
    world->last.battery_energy_wh = world->battery.energy_wh;
    return 0;
}

void sim_world_set_battery_mode(struct sim_world *world, enum sim_battery_mode mode,
                                double setpoint_w)
{
    world->battery.mode = mode == SIM_BATTERY_SETPOINT ? SIM_BATTERY_SETPOINT : SIM_BATTERY_AUTO;
    world->battery.setpoint_w = isfinite(setpoint_w) ? setpoint_w : 0.0;
}

void sim_world_set_pv_limit(struct sim_world *world, double limit_w)
{
    world->pv_limit_w = isfinite(limit_w) && limit_w >= 0 ? limit_w : INFINITY;
}

void sim_world_set_extra_load(struct sim_world *world, double power_w)
{
    world->extra_load_w = isfinite(power_w) && power_w > 0 ? power_w : 0.0;
}

static int64_t next_minute_ms(int64_t ts_ms)
{
    int64_t floor_ms = ts_ms - ((ts_ms % SUBSTEP_MS) + SUBSTEP_MS) % SUBSTEP_MS;
    return floor_ms + SUBSTEP_MS;
}

void sim_world_shift(struct sim_world *world, int64_t jump_ms)
{
    world->ts_ms += jump_ms;
}

void sim_world_step(struct sim_world *world, int64_t ts_ms, struct sim_snapshot *out)
{
    if (ts_ms > world->ts_ms) {
        struct step_sums sums = {0};
        for (int64_t t_ms = world->ts_ms; t_ms < ts_ms;) {
            int64_t next_ms = next_minute_ms(t_ms);
            if (next_ms > ts_ms)
                next_ms = ts_ms;
            substep(world, t_ms, next_ms, &sums);
            t_ms = next_ms;
        }
        world->ts_ms = ts_ms;

        struct sim_snapshot *s = &world->last;
        double dt_s = sums.dt_s;
        s->ts_ms = ts_ms;
        s->pv_dc_w = sums.pv_dc_ws / dt_s;
        s->pv_w = sums.pv_ws / dt_s;
        s->pv_clipped_w = sums.clipped_ws / dt_s;
        s->home_w = sums.home_ws / dt_s;
        s->battery_w = sums.battery_ws / dt_s;
        s->grid_w = s->home_w - s->pv_w - s->battery_w;
        s->soc_pct = soc_pct(world);
        s->battery_energy_wh = world->battery.energy_wh;
        s->poa_w_per_m2 = sums.poa_s / dt_s;
        s->sun_elevation_deg = sums.elevation_s / dt_s;
        s->air_temp_c = sums.air_temp_s / dt_s;
        s->cloud_cover = sums.cover_s / dt_s;
    }
    /* A step to the same time (or, against the contract, back in time) changes nothing and
     * reports the last outcome again. */
    if (out)
        *out = world->last;
}
