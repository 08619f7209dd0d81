/* The household's consumption: the H0 standard profile as the smooth base, plus the
 * appliances whose switching makes real meter readings jumpy.
 *
 * Appliances start as Poisson arrivals whose rate follows the time of day (an hourly
 * weight table per appliance, in local time). Each arrival runs a cycle of phases with
 * randomised durations and powers, e.g. a washing machine fills, heats its water (~2 kW),
 * washes and spins. An arrival while the same appliance still runs waits for its end, so no
 * use (and no energy) is lost. Arrival times come from the time-rescaling method: each
 * appliance holds an Exp(1) budget that the hazard rate * dt eats up, so random numbers are
 * drawn per arrival, not per step, and a trace barely depends on the step length.
 * The fridge is a compressor cycling ~100 W for ~10 min every ~45 min.
 *
 * Energy: the appliance table describes a 3000 kWh household; uses per day scale with
 * annual_load_kwh / 3000 (the fridge does not). Since H0 already contains the average of
 * all appliances, its curve is scaled down by the appliances' expected share of the year's
 * energy, so that the year sums to annual_load_kwh. Below ~600 kWh the fridge alone would
 * exceed half the energy; there all appliance powers shrink so that they keep half. */
#include <math.h>

#include "sim_internal.h"

#define LOAD_STREAM 2
#define REFERENCE_ANNUAL_KWH 3000.0
#define MAX_APPLIANCE_SHARE 0.5
#define DAYS_PER_YEAR 365.2425
#define QUARTER_MS INT64_C(900000)

struct phase_spec {
    double min_s, max_s, min_w, max_w;
};

struct appliance_spec {
    const char *name;    /* for readers and debuggers; the world never prints */
    double uses_per_day; /* in the 3000 kWh reference household */
    double hour_weight[24];
    int phase_count;
    struct phase_spec phases[SIM_MAX_PHASES];
};

/* Hour weights are relative (local time, index = hour); phases are {min_s, max_s, min_w, max_w}. */
static const struct appliance_spec appliances[SIM_APPLIANCE_KINDS] = {
    {
        .name = "kettle",
        .uses_per_day = 1.5,
        .hour_weight = {0, 0, 0, 0, 0, 1, 4, 6, 5, 3, 2, 2, 2, 2, 2, 3, 3, 2, 2, 2, 2, 1, 1, 0.3},
        .phase_count = 1,
        .phases = {{120, 240, 1800, 2200}},
    },
    {
        .name = "microwave",
        .uses_per_day = 0.8,
        .hour_weight = {0, 0, 0,   0,   0,   0,   0.3, 2, 1, 0.3, 0.3, 0.3,
                        4, 3, 0.3, 0.3, 0.3, 0.3, 3,   3, 1, 0.3, 0.3, 0.3},
        .phase_count = 1,
        .phases = {{90, 300, 800, 1200}},
    },
    {
        /* Bring to the boil, then simmer. */
        .name = "hob",
        .uses_per_day = 0.7,
        .hour_weight = {0, 0, 0,   0,   0,   0, 0, 1, 0.5, 0.3, 0.5, 3,
                        5, 1, 0.3, 0.3, 0.5, 3, 5, 3, 1,   0.3, 0,   0},
        .phase_count = 2,
        .phases = {{300, 600, 1800, 2200}, {600, 1800, 600, 1000}},
    },
    {
        /* Heat up, then the thermostat cycles the heater. */
        .name = "oven",
        .uses_per_day = 0.25,
        .hour_weight = {0, 0,   0,   0, 0, 0, 0, 0, 0.3, 0.5, 1, 3,
                        2, 0.5, 0.5, 1, 2, 4, 3, 1, 0.3, 0,   0, 0},
        .phase_count = 9,
        .phases = {{480, 720, 2000, 2400},
                   {180, 360, 0, 0},
                   {180, 300, 2000, 2400},
                   {180, 360, 0, 0},
                   {180, 300, 2000, 2400},
                   {180, 360, 0, 0},
                   {180, 300, 2000, 2400},
                   {180, 360, 0, 0},
                   {180, 300, 2000, 2400}},
    },
    {
        /* Fill, heat the water, wash, spin. */
        .name = "washing machine",
        .uses_per_day = 0.5,
        .hour_weight = {0, 0, 0, 0, 0, 0, 0.3, 1, 3, 4, 4, 3, 2, 2, 2, 2, 2, 3, 3, 2, 1, 0.3, 0, 0},
        .phase_count = 4,
        .phases = {{180, 300, 100, 200},
                   {600, 1200, 1800, 2200},
                   {2400, 3600, 100, 250},
                   {300, 600, 300, 500}},
    },
    {
        /* Pre-rinse, heat, wash, heat for the rinse, dry. */
        .name = "dishwasher",
        .uses_per_day = 0.5,
        .hour_weight = {0,   0, 0, 0,   0,   0,   0,   0.3, 0.5, 1, 0.5, 0.3,
                        0.5, 3, 2, 0.5, 0.3, 0.3, 0.5, 3,   4,   4, 2,   0.5},
        .phase_count = 5,
        .phases = {{300, 600, 50, 100},
                   {600, 900, 1800, 2200},
                   {1200, 1800, 80, 150},
                   {300, 600, 1800, 2200},
                   {900, 1800, 20, 60}},
    },
    {
        .name = "television",
        .uses_per_day = 1.2,
        .hour_weight = {0,   0,   0,   0,   0,   0, 0, 0.5, 0.3, 0.3, 0.3, 0.3,
                        0.5, 0.3, 0.3, 0.5, 0.5, 1, 2, 3,   5,   2,   1,   0.3},
        .phase_count = 1,
        .phases = {{1800, 9000, 60, 140}},
    },
    {
        /* Vacuum cleaner, hair dryer and other short motor or heater loads. */
        .name = "small appliances",
        .uses_per_day = 0.5,
        .hour_weight = {0, 0, 0, 0, 0, 0, 1,   2,   1,   2, 3, 2,
                        1, 1, 2, 2, 2, 1, 0.5, 0.5, 0.3, 0, 0, 0},
        .phase_count = 1,
        .phases = {{300, 900, 700, 1500}},
    },
};

/* Fridge compressor: on-time, off-time and power ranges. */
#define FRIDGE_ON_MIN_S 480.0
#define FRIDGE_ON_MAX_S 720.0
#define FRIDGE_OFF_MIN_S 1800.0
#define FRIDGE_OFF_MAX_S 2400.0
#define FRIDGE_MIN_W 80.0
#define FRIDGE_MAX_W 120.0

static double fridge_mean_w(void)
{
    double on_s = (FRIDGE_ON_MIN_S + FRIDGE_ON_MAX_S) / 2.0;
    double off_s = (FRIDGE_OFF_MIN_S + FRIDGE_OFF_MAX_S) / 2.0;
    return (FRIDGE_MIN_W + FRIDGE_MAX_W) / 2.0 * on_s / (on_s + off_s);
}

static double use_energy_wh(const struct appliance_spec *spec)
{
    /* Durations and powers are drawn independently and uniformly, so the mean energy of a
     * phase is the product of the means. */
    double wh = 0.0;
    for (int i = 0; i < spec->phase_count; i++) {
        const struct phase_spec *p = &spec->phases[i];
        wh += (p->min_s + p->max_s) / 2.0 * (p->min_w + p->max_w) / 2.0 / 3600.0;
    }
    return wh;
}

double sim_load_appliance_kwh_per_year(void)
{
    double kwh = fridge_mean_w() * 24.0 * DAYS_PER_YEAR / 1000.0;
    for (int k = 0; k < SIM_APPLIANCE_KINDS; k++)
        kwh += appliances[k].uses_per_day * DAYS_PER_YEAR * use_energy_wh(&appliances[k]) / 1000.0;
    return kwh;
}

void sim_load_set_annual(struct sim_load *load, double annual_kwh)
{
    load->annual_kwh = annual_kwh;
    load->event_scale = annual_kwh / REFERENCE_ANNUAL_KWH;
    load->appliance_scale = 1.0;
    load->base_scale = 1.0;
    if (annual_kwh <= 0.0)
        return;
    double fridge_kwh = fridge_mean_w() * 24.0 * DAYS_PER_YEAR / 1000.0;
    double events_kwh = (sim_load_appliance_kwh_per_year() - fridge_kwh) * load->event_scale;
    double share = (fridge_kwh + events_kwh) / annual_kwh;
    if (share > MAX_APPLIANCE_SHARE) {
        load->appliance_scale = MAX_APPLIANCE_SHARE / share;
        share = MAX_APPLIANCE_SHARE;
    }
    load->base_scale = 1.0 - share;
}

void sim_load_init(struct sim_load *load, uint64_t seed, double annual_kwh)
{
    *load = (struct sim_load){0};
    sim_rng_seed(&load->rng, seed, LOAD_STREAM);
    sim_load_set_annual(load, annual_kwh);
    for (int k = 0; k < SIM_APPLIANCE_KINDS; k++)
        load->hazard_left[k] = sim_rng_exponential(&load->rng);
    /* Start the fridge somewhere in its cycle rather than all simulated fridges in step. */
    load->fridge_on = sim_rng_uniform(&load->rng) < 600.0 / 2700.0;
    load->fridge_switch_in_s =
        sim_rng_uniform(&load->rng) * (load->fridge_on ? FRIDGE_ON_MAX_S : FRIDGE_OFF_MAX_S);
    load->fridge_power_w = sim_rng_range(&load->rng, FRIDGE_MIN_W, FRIDGE_MAX_W);
    load->h0_quarter_ms = INT64_MIN;
}

static void start_run(struct sim_load *load, int kind, double start_ms)
{
    const struct appliance_spec *spec = &appliances[kind];
    struct sim_appliance_run *run = &load->runs[kind];
    run->active = true;
    run->start_ms = start_ms;
    run->phase_count = spec->phase_count;
    double end_s = 0.0;
    for (int i = 0; i < spec->phase_count; i++) {
        const struct phase_spec *p = &spec->phases[i];
        end_s += sim_rng_range(&load->rng, p->min_s, p->max_s);
        run->phase_end_s[i] = end_s;
        run->phase_power_w[i] =
            sim_rng_range(&load->rng, p->min_w, p->max_w) * load->appliance_scale;
    }
}

static double run_end_ms(const struct sim_appliance_run *run)
{
    return run->start_ms + 1000.0 * run->phase_end_s[run->phase_count - 1];
}

/* Energy (W*s) a run uses between from_ms and to_ms. */
static double run_energy_ws(const struct sim_appliance_run *run, double from_ms, double to_ms)
{
    double energy_ws = 0.0;
    double phase_start_ms = run->start_ms;
    for (int i = 0; i < run->phase_count; i++) {
        double phase_end_ms = run->start_ms + 1000.0 * run->phase_end_s[i];
        double a = phase_start_ms > from_ms ? phase_start_ms : from_ms;
        double b = phase_end_ms < to_ms ? phase_end_ms : to_ms;
        if (b > a)
            energy_ws += run->phase_power_w[i] * (b - a) / 1000.0;
        phase_start_ms = phase_end_ms;
    }
    return energy_ws;
}

/* Accounts the running cycle of one appliance up to to_ms, starting waiting uses as each
 * cycle ends. */
static double advance_kind(struct sim_load *load, int kind, double from_ms, double to_ms)
{
    struct sim_appliance_run *run = &load->runs[kind];
    double energy_ws = 0.0;
    while (run->active) {
        energy_ws += run_energy_ws(run, from_ms, to_ms);
        double end_ms = run_end_ms(run);
        if (end_ms > to_ms)
            break;
        run->active = false;
        if (load->pending[kind] > 0) {
            load->pending[kind]--;
            start_run(load, kind, end_ms);
            from_ms = end_ms > from_ms ? end_ms : from_ms;
        }
    }
    return energy_ws;
}

static double fridge_energy_ws(struct sim_load *load, double dt_s)
{
    double energy_ws = 0.0;
    double left_s = dt_s;
    while (left_s > 0.0) {
        double seg_s = load->fridge_switch_in_s < left_s ? load->fridge_switch_in_s : left_s;
        if (load->fridge_on)
            energy_ws += seg_s * load->fridge_power_w * load->appliance_scale;
        load->fridge_switch_in_s -= seg_s;
        left_s -= seg_s;
        if (load->fridge_switch_in_s <= 0.0) {
            load->fridge_on = !load->fridge_on;
            if (load->fridge_on) {
                load->fridge_switch_in_s =
                    sim_rng_range(&load->rng, FRIDGE_ON_MIN_S, FRIDGE_ON_MAX_S);
                load->fridge_power_w = sim_rng_range(&load->rng, FRIDGE_MIN_W, FRIDGE_MAX_W);
            } else {
                load->fridge_switch_in_s =
                    sim_rng_range(&load->rng, FRIDGE_OFF_MIN_S, FRIDGE_OFF_MAX_S);
            }
        }
    }
    return energy_ws;
}

double sim_load_step(struct sim_load *load, int64_t t0_ms, int64_t t1_ms)
{
    if (t1_ms <= t0_ms || load->annual_kwh <= 0.0)
        return 0.0;
    double dt_s = (double)(t1_ms - t0_ms) / 1000.0;

    /* Time zones are whole quarter-hours off UTC, so a UTC quarter-hour is also a local one
     * and the (localtime_r-based) H0 lookup is needed once per quarter-hour only. */
    int64_t quarter_ms = t0_ms - ((t0_ms % QUARTER_MS) + QUARTER_MS) % QUARTER_MS;
    if (quarter_ms != load->h0_quarter_ms) {
        load->h0_w_per_mwh = sim_h0_lookup(quarter_ms, &load->h0_local_hour);
        load->h0_quarter_ms = quarter_ms;
    }
    double energy_ws = load->h0_w_per_mwh * load->annual_kwh / 1000.0 * load->base_scale * dt_s;
    energy_ws += fridge_energy_ws(load, dt_s);

    for (int k = 0; k < SIM_APPLIANCE_KINDS; k++) {
        const struct appliance_spec *spec = &appliances[k];
        double weight_sum = 0.0;
        for (int h = 0; h < 24; h++)
            weight_sum += spec->hour_weight[h];
        double rate_per_s = spec->uses_per_day * load->event_scale *
                            spec->hour_weight[load->h0_local_hour] / weight_sum / 3600.0;
        double cursor_ms = (double)t0_ms;
        if (rate_per_s > 0.0) {
            load->hazard_left[k] -= rate_per_s * dt_s;
            /* The budget ran out -budget / rate seconds before t1: that is the arrival. */
            while (load->hazard_left[k] <= 0.0) {
                double arrival_ms = (double)t1_ms + 1000.0 * load->hazard_left[k] / rate_per_s;
                if (arrival_ms < cursor_ms)
                    arrival_ms = cursor_ms;
                energy_ws += advance_kind(load, k, cursor_ms, arrival_ms);
                cursor_ms = arrival_ms;
                if (load->runs[k].active)
                    load->pending[k]++;
                else
                    start_run(load, k, arrival_ms);
                load->hazard_left[k] += sim_rng_exponential(&load->rng);
            }
        }
        energy_ws += advance_kind(load, k, cursor_ms, (double)t1_ms);
    }
    return energy_ws / dt_s;
}
