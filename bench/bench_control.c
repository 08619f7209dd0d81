/* Benchmark of the real-time controller (include/balkon/controller.h) against the loops
 * other projects ship, on the same plant, at 1-second resolution. It prints figures, one
 * table per device profile with every controller side by side, and a pass/fail line per
 * target of issue 18. It asserts nothing (the exit status is 0 unless memory runs out).
 *
 *   bench_control [--date YYYY-MM-DD] [--days N] [--seed N] [--cloudiness X]
 *
 * For sweeps (docs/control.md, "Choosing the targets"), the environment overrides ours':
 * BT target_grid_w, BCT charge_target_grid_w, BDB deadband_w, BG gain, BMS max_step_w;
 * BPOT the PV potential ours is given: clear (default: the site's PV under a clear sky,
 * × BPOTF = 1.05, at most the inverter's 800 W), none, or peak (the highest PV reading of
 * the last 10 minutes). The step test has no clear sky: there ours gets none.
 *
 * The day: the simulator's site (include/balkon/sim.h, TZ Europe/Berlin): 1780 Wp on two
 * planes (east and west, 30°) behind an 800 W inverter, a 3000 kWh household (H0 base,
 * standby, kettle, microwave, hob, oven, washing machine, dishwasher, TV, a cycling fridge)
 * and passing clouds. Its load and PV are drawn second by second once, with the battery
 * off, so every controller sees exactly the same day. The step test: 4 synthetic hours of
 * square load steps (200..1400 W, every 90 s) on a base of 150 W, with PV stepping between
 * 0, 350 and 700 W every 7 minutes (so that the cap is hit while the load steps).
 *
 * The plant (the harness's own, so that the synthetic test runs on it too): an AC-coupled
 * 2.24 kWh battery, 800 W both ways, 95 % each way, SoC 10..100 %, starting at 30 % (the
 * step test: 50 %). A command reaches the battery after the profile's latency (drawn per
 * command between latency_s and latency_max_s; arrivals keep their order), the output then
 * ramps at ramp_w_per_s. The device answers the command (ack) after ack_s. The controller
 * sees the meter's grid and PV readings meter_delay_s late and the battery's own measured
 * power report_delay_s late, once per reading interval. grid = home − pv − battery. The
 * 800 W cap is a rule, not physics: PV + discharge above it flows, and counts as over cap.
 *
 * Profiles (the device's delays; sources where there are some):
 *   fast, typical, slow   as before (latency 2/5/10 s, ramp 400/200/80 W/s)
 *   meter slower          the battery reports after 1 s, the meter after 3 s
 *   meter faster          the meter after 1 s, the battery's report after 3 s
 *   Hoymiles-like         HM-1500 behind OpenDTU: reacts after ≈18 s, at full ≈25 s
 *                         (tbnobody/OpenDTU#571), limit ack ≈2 s (OnBattery PR #708), stats
 *                         polled every 5 s (DTU_POLL_INTERVAL): latency 18..22 s, 120 W/s,
 *                         report 5 s late
 *   Marstek-like          Venus on its local API (UDP/Modbus): fast answer, fast inverter;
 *                         latency 2..3 s, 500 W/s, meter 1 s, report 1 s (no published
 *                         figure found: an assumption)
 *   Zendure-like          SolarFlow over local MQTT/HTTP (zenSDK): properties reported every
 *                         few seconds; latency 6..9 s, 100 W/s, report 4 s (an assumption)
 *   slow, restarting      as the daemon's simulator does (simulation.battery_latency_s): a
 *                         new command replaces the one in flight and waits the whole 20 s
 *                         again; it answers (ack) when it applies
 *
 * Controllers:
 *   ours            balkon_ctl with its defaults (it learns the device's delays itself)
 *   P, Kp = k       every reading: setpoint = reported battery + k × (grid − 20 W), within
 *                   the battery's limits and the cap; sent when it changes by 1 W
 *   P, our targets  Kp = 1, but aiming at +20 W while discharging and −15 W while charging
 *                   and sending only changes beyond our 15 W deadband
 *   OpenDTU-OnB     OpenDTU-OnBattery's dynamic power limiter (hoylabs/OpenDTU-OnBattery
 *                   @1bfc0cc6, src/PowerLimiter.cpp, PowerLimiterInverter.cpp), re-implemented
 *                   from its documented algorithm, defaults as shipped (target consumption
 *                   0 W, hysteresis 0 W, lower limit 10 W, upper limit 800 W):
 *                   - gate, in order: the last limit command was acknowledged; inverter
 *                     stats (polled every 5 s, its DTU_POLL_INTERVAL) arrived after that
 *                     command; the meter reading arrived more than 2 s after the newest
 *                     stats; else nothing is computed;
 *                   - law: target = stats' AC output + meter − target consumption, < 0 → 0,
 *                     capped at the upper limit; below the lower limit → standby (0 W);
 *                   - hysteresis: |target − output| < hysteresis → no command (0 when
 *                     0 W is asked).
 *                   It drives a battery inverter, which only discharges; charging from
 *                   surplus is left to the device itself here as there (its own MPPT):
 *                   this column charges with the same law and gate mirrored (its grid
 *                   charger's "auto power" mode does that, target 0 W). It does not know
 *                   the PV inverter's output, so its cap is the upper limit alone.
 *   OpenDTU-OnB, 1 s the same law and hysteresis 0, but fed like ours (stats every
 *                   reading, meter gate on the reading being newer than the stats): what
 *                   the law does without the 5 s poll
 *   ideal           knows each second's load and PV and has no delays: the floor
 *   ideal, device delays  knows each second's load and PV at once, keeps our 15 W below
 *                   the cap, but sends through the device's latency and ramp: what stays
 *                   over the cap for it comes from PV's jumps alone, whatever the loop
 *
 * Figures per day (the step test: per its 4 hours):
 *   free export      Wh exported that the battery could have kept (by discharging less or
 *                    charging more, within its limits and SoC)
 *   avoid. import    Wh imported that the battery could have covered (within its limits,
 *                    SoC and the cap); the +20 W target counts for every controller alike
 *   grid → battery   Wh imported while the battery charged
 *   commands         setpoints sent
 *   over cap         seconds with PV + discharge above 800 W; longest such stretch
 *   settled          load steps (≥ 150 W, the load then steady, the battery not at a
 *                    limit) after which the grid is within −25..+45 W two readings after
 *                    the device could have responded (meter delay + one reading + the
 *                    device's latency + its ramp), and stays there 2 s */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "balkon/controller.h"
#include "balkon/sim.h"

#define TARGET_W 20.0
#define AC_LIMIT_W 800.0
#define MAX_W 800.0
#define SOC_MIN 10.0
#define SOC_MAX 100.0
#define CAPACITY_WH 2240.0
#define EFFICIENCY 0.95
#define QUEUE 256
#define OB_POLL_S 5       /* OpenDTU's DTU_POLL_INTERVAL */
#define OB_METER_GATE_S 2 /* PowerLimiter.cpp: meter newer than stats + 2000 ms */
#define OB_LOWER_W 10.0   /* POWERLIMITER_LOWER_POWER_LIMIT */
#define OB_UPPER_W 800.0  /* POWERLIMITER_UPPER_POWER_LIMIT */
#define STEP_MIN_W 150.0
#define BAND_LO_W -25.0
#define BAND_HI_W 45.0

struct profile {
    const char *name;
    double latency_s, latency_max_s, ramp_w_per_s, meter_delay_s, report_delay_s, interval_s;
    double ack_s;
    bool restarts; /* a new command replaces the one in flight and its latency restarts */
};

static const struct profile profiles[] = {
    {"typical: battery 5 s + 200 W/s, meter 2 s, report 2 s, readings 1 s", 5, 5, 200, 2, 2, 1, 1,
     false},
    {"fast: battery 2 s + 400 W/s, meter 1 s, report 1 s", 2, 2, 400, 1, 1, 1, 1, false},
    {"slow: battery 10 s + 80 W/s, meter 3 s, report 3 s, readings 2 s", 10, 10, 80, 3, 3, 2, 1,
     false},
    {"meter slower: battery 5 s + 200 W/s, meter 3 s, report 1 s", 5, 5, 200, 3, 1, 1, 1, false},
    {"meter faster: battery 5 s + 200 W/s, meter 1 s, report 3 s", 5, 5, 200, 1, 3, 1, 1, false},
    {"Hoymiles-like: 18-22 s + 120 W/s, meter 2 s, report 5 s", 18, 22, 120, 2, 5, 1, 2, false},
    {"Marstek-like: 2-3 s + 500 W/s, meter 1 s, report 1 s", 2, 3, 500, 1, 1, 1, 1, false},
    {"Zendure-like: 6-9 s + 100 W/s, meter 2 s, report 4 s", 6, 9, 100, 2, 4, 1, 1, false},
    {"slow, restarting: 20 s (a new command restarts the wait) + 120 W/s, meter 2 s, report 5 s",
     20, 20, 120, 2, 5, 1, 20, true},
};

enum kind { OURS, PLAIN_P, P_OUR_TARGETS, OB_SHIPPED, OB_FAST, IDEAL, IDEAL_DELAYED };

struct controller {
    const char *name;
    enum kind kind;
    double kp;
};

static const struct controller controllers[] = {
    {"ours", OURS, 0},
    {"P, Kp = 1.0", PLAIN_P, 1.0},
    {"P, Kp = 0.5", PLAIN_P, 0.5},
    {"P, our targets", P_OUR_TARGETS, 1.0},
    {"OpenDTU-OnB", OB_SHIPPED, 0},
    {"OpenDTU-OnB, 1 s", OB_FAST, 0},
    {"ideal", IDEAL, 0},
    {"ideal, device delays", IDEAL_DELAYED, 0},
};
#define N_CONTROLLERS (sizeof controllers / sizeof controllers[0])

struct figures {
    double free_export_wh, avoidable_import_wh, grid_charge_wh;
    double import_wh, export_wh;
    int commands, steps, settled;
    double over_cap_s, over_cap_run_s, hours;
    int events; /* the first stretches over the cap: when, PV's jump into it, the battery */
    double event_s[4], event_pv_jump_w[4], event_battery_w[4];
};

struct trace {
    double *home_w, *pv_w; /* [1..seconds]: the load and PV during second s-1..s */
    double *clear_pv_w;    /* the same site's PV under a clear sky; NULL: unknown */
    int seconds;
    double initial_soc_pct;
};

/* Per second, what the controllers may look at later. */
struct sample {
    double grid_w, battery_w, pv_w, soc_pct;
};

static struct sim_params site(uint64_t seed, double cloudiness)
{
    struct sim_params sp = {
        .latitude_deg = 52.52,
        .longitude_deg = 13.40,
        .planes = {{30.0, -90.0, 890.0}, {30.0, 90.0, 890.0}},
        .plane_count = 2,
        .inverter_ac_limit_w = AC_LIMIT_W,
        .inverter_efficiency = 0.96,
        .system_loss_fraction = 0.10,
        .battery_capacity_wh = CAPACITY_WH,
        .battery_max_charge_w = MAX_W,
        .battery_max_discharge_w = MAX_W,
        .battery_charge_efficiency = EFFICIENCY,
        .battery_discharge_efficiency = EFFICIENCY,
        .battery_soc_min_pct = SOC_MIN,
        .battery_soc_max_pct = SOC_MAX,
        .battery_initial_soc_pct = 30.0,
        .battery_coupling = SIM_COUPLING_AC,
        .annual_load_kwh = 3000.0,
        .cloudiness = cloudiness,
        .seed = seed,
    };
    return sp;
}

static int trace_alloc(struct trace *t, int seconds)
{
    t->home_w = calloc((size_t)seconds + 1, sizeof(double));
    t->pv_w = calloc((size_t)seconds + 1, sizeof(double));
    t->seconds = seconds;
    return t->home_w && t->pv_w ? 0 : -1;
}

static void trace_free(struct trace *t)
{
    free(t->home_w);
    free(t->pv_w);
    free(t->clear_pv_w);
    *t = (struct trace){0};
}

/* The day's load and PV from a simulated world whose battery stays off. */
static int trace_day(struct trace *t, const struct sim_params *sp, int64_t start_ms, int seconds)
{
    struct sim_world *w = sim_world_new(sp, start_ms);
    if (!w || trace_alloc(t, seconds) != 0) {
        sim_world_free(w);
        return -1;
    }
    sim_world_set_battery_mode(w, SIM_BATTERY_SETPOINT, 0.0);
    struct sim_snapshot s;
    for (int i = 1; i <= seconds; i++) {
        sim_world_step(w, start_ms + (int64_t)i * 1000, &s);
        t->home_w[i] = s.home_w;
        t->pv_w[i] = s.pv_w;
    }
    t->initial_soc_pct = sp->battery_initial_soc_pct;
    sim_world_free(w);

    /* The PV a clear sky would give: what a cloud's edge can uncover at once. */
    struct sim_params clear = *sp;
    clear.cloudiness = 0.0;
    w = sim_world_new(&clear, start_ms);
    t->clear_pv_w = calloc((size_t)seconds + 1, sizeof(double));
    if (!w || !t->clear_pv_w) {
        sim_world_free(w);
        return -1;
    }
    sim_world_set_battery_mode(w, SIM_BATTERY_SETPOINT, 0.0);
    for (int i = 1; i <= seconds; i++) {
        sim_world_step(w, start_ms + (int64_t)i * 1000, &s);
        t->clear_pv_w[i] = s.pv_w;
    }
    sim_world_free(w);
    return 0;
}

static uint64_t rng_next(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

static double rng_uniform(uint64_t *state)
{
    return (double)(rng_next(state) >> 11) / 9007199254740992.0;
}

/* The step test: square load steps on a small base, PV stepping under the cap. */
static int trace_steps(struct trace *t)
{
    int seconds = 4 * 3600;
    if (trace_alloc(t, seconds) != 0)
        return -1;
    uint64_t rng = 0x5eed5eedULL;
    double extra_w = 0.0, pv_w = 0.0;
    static const double pv_levels_w[] = {0.0, 350.0, 700.0, 350.0, 700.0, 0.0};
    for (int i = 1; i <= seconds; i++) {
        if (i % 90 == 0)
            extra_w = extra_w > 0.0 ? 0.0 : 200.0 + 1200.0 * rng_uniform(&rng);
        if (i % 420 == 0 || i == 1)
            pv_w = pv_levels_w[(i / 420) % 6];
        t->home_w[i] = 150.0 + extra_w + 5.0 * sin(i * 0.7); /* a little noise */
        t->pv_w[i] = pv_w;
    }
    t->initial_soc_pct = 50.0;
    return 0;
}

static double clamp(double x, double lo, double hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

/* What each reference sends, and when: the laws in the header. */
struct reference {
    double last_sent_w;
    double cmd_s;     /* the last command; -inf before */
    double stats_s;   /* OpenDTU: when the newest inverter stats arrived */
    double stats_b_w; /* and the AC output they said */
};

static bool reference_step(const struct controller *cc, const struct profile *pf,
                           struct reference *r, int s, const struct sample *m,
                           const struct sample *bm, double *value)
{
    double v;
    switch (cc->kind) {
    case PLAIN_P:
        v = bm->battery_w + cc->kp * (m->grid_w - TARGET_W);
        v = clamp(v, -MAX_W, fmin(MAX_W, AC_LIMIT_W - m->pv_w));
        if (fabs(v - r->last_sent_w) < 1.0)
            return false;
        break;
    case P_OUR_TARGETS: {
        double need = bm->battery_w + m->grid_w;
        v = need - TARGET_W > 0.0 ? need - TARGET_W : (need + 15.0 < 0.0 ? need + 15.0 : 0.0);
        v = clamp(v, -MAX_W, fmin(MAX_W, AC_LIMIT_W - m->pv_w));
        if (fabs(v - r->last_sent_w) <= 15.0)
            return false;
        break;
    }
    case OB_SHIPPED:
    case OB_FAST: {
        bool shipped = cc->kind == OB_SHIPPED;
        double ack_s = r->cmd_s + fmin(pf->ack_s, pf->latency_s);
        if (s < ack_s)
            return false; /* the limit command is still pending */
        /* Stats arrive on the DTU's poll (shipped) or with every reading. */
        if (!shipped || s % OB_POLL_S == 0) {
            r->stats_s = s;
            r->stats_b_w = bm->battery_w;
        }
        if (!(r->stats_s > r->cmd_s))
            return false; /* no stats newer than the last command yet */
        if (shipped && !(s > r->stats_s + OB_METER_GATE_S))
            return false; /* the meter reading must be newer than the stats + 2 s */
        /* calcTargetOutput: the governed output plus the meter, less the target. */
        double target = round(r->stats_b_w + m->grid_w) - 0.0;
        target = fmin(target, OB_UPPER_W);
        if (target > 0.0 && target < OB_LOWER_W)
            target = 0.0;
        if (target < 0.0 && target > -OB_LOWER_W)
            target = 0.0;
        target = fmax(target, -MAX_W);
        /* updateInverterLimits: hysteresis 0 as shipped; an unchanged limit is not sent. */
        if (fabs(target - r->last_sent_w) < 1.0)
            return false;
        v = target;
        break;
    }
    default:
        return false;
    }
    *value = v;
    r->last_sent_w = v;
    r->cmd_s = s;
    return true;
}

static int run(const struct trace *tr, const struct profile *pf, const struct controller *cc,
               struct figures *f)
{
    int seconds = tr->seconds;
    struct sample *hist = calloc((size_t)seconds + 1, sizeof *hist);
    if (!hist)
        return -1;
    double soc = tr->initial_soc_pct;
    hist[0] = (struct sample){tr->home_w[1] - tr->pv_w[1], 0.0, tr->pv_w[1], soc};

    struct balkon_ctl_params params;
    balkon_ctl_params_init(&params);
    params.soc_min_pct = SOC_MIN;
    params.soc_max_pct = SOC_MAX;
    if (getenv("BT"))
        params.target_grid_w = atof(getenv("BT"));
    if (getenv("BCT"))
        params.charge_target_grid_w = atof(getenv("BCT"));
    if (getenv("BDB"))
        params.deadband_w = atof(getenv("BDB"));
    if (getenv("BG"))
        params.gain = atof(getenv("BG"));
    if (getenv("BMS"))
        params.max_step_w = atof(getenv("BMS"));
    struct balkon_ctl ctl;
    balkon_ctl_init(&ctl, &params);
    struct reference ref = {.cmd_s = -INFINITY, .stats_s = -INFINITY};

    struct {
        double at_s, value_w;
    } queue[QUEUE];
    int queued = 0;
    double target_w = 0.0, out_w = 0.0, last_at_s = 0.0, run_s = 0.0;
    double next_reading_s = 0.0;
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    int md = (int)lround(pf->meter_delay_s), rd = (int)lround(pf->report_delay_s);
    /* PV potential given to ours: the clear sky's (default), none, or the highest PV
     * measured in the last 10 minutes (BPOT=clear|none|peak); with BPOTF its factor. */
    const char *pot = getenv("BPOT") ? getenv("BPOT") : "clear";
    double pot_factor = getenv("BPOTF") ? atof(getenv("BPOTF")) : 1.05;
    *f = (struct figures){.hours = seconds / 3600.0};

    for (int s = 0; s < seconds; s++) {
        bool sent = false;
        double value = 0.0;
        if (cc->kind == IDEAL || cc->kind == IDEAL_DELAYED) {
            double pv = tr->pv_w[s + 1];
            double lo = soc < SOC_MAX ? -MAX_W : 0.0;
            /* The delayed ideal keeps our deadband below the cap, as ours does: what
             * stays over it is PV's jumps alone. */
            double margin_w = cc->kind == IDEAL_DELAYED ? 15.0 : 0.0;
            double hi = soc > SOC_MIN ? fmin(MAX_W, fmax(AC_LIMIT_W - pv - margin_w, 0.0)) : 0.0;
            value = clamp(tr->home_w[s + 1] - pv, lo, hi);
            sent = fabs(value - target_w) >= 1.0;
        } else if (s >= next_reading_s) {
            next_reading_s += pf->interval_s;
            const struct sample *m = &hist[s >= md ? s - md : 0];
            const struct sample *bm = &hist[s >= rd ? s - rd : 0];
            if (cc->kind == OURS) {
                double potential_w = NAN;
                if (strcmp(pot, "clear") == 0 && tr->clear_pv_w)
                    potential_w = fmin(tr->clear_pv_w[s + 1] * pot_factor, AC_LIMIT_W);
                else if (strcmp(pot, "peak") == 0)
                    for (int j = s >= md + 600 ? s - md - 600 : 0; j <= s - md; j++)
                        potential_w =
                            isfinite(potential_w) ? fmax(potential_w, hist[j].pv_w) : hist[j].pv_w;
                struct balkon_ctl_input in = {
                    .now_s = s,
                    .grid_w = m->grid_w,
                    .meter_ts_s = s,
                    .battery_w = bm->battery_w,
                    .pv_w = m->pv_w,
                    .pv_potential_w = potential_w,
                    .soc_pct = hist[s].soc_pct,
                    .mode = BALKON_CTL_SELF_CONSUMPTION,
                };
                sent = balkon_ctl_step(&ctl, &in, &value);
            } else {
                sent = reference_step(cc, pf, &ref, s, m, bm, &value);
            }
        }
        if (sent) {
            f->commands++;
            if (cc->kind == IDEAL) {
                target_w = value;
            } else if (queued < QUEUE) {
                double lat_s =
                    pf->latency_s + (pf->latency_max_s - pf->latency_s) * rng_uniform(&rng);
                last_at_s = fmax(s + lat_s, last_at_s);
                queue[queued].at_s = last_at_s;
                queue[queued].value_w = value;
                queued++;
            }
        }

        /* The device: commands arrive after the latency, then the output ramps. */
        int kept = 0;
        for (int i = 0; i < queued; i++) {
            if (queue[i].at_s <= s)
                target_w = queue[i].value_w;
            else
                queue[kept++] = queue[i];
        }
        queued = kept;
        if (cc->kind == IDEAL)
            out_w = target_w;
        else if (out_w < target_w)
            out_w = fmin(target_w, out_w + pf->ramp_w_per_s);
        else
            out_w = fmax(target_w, out_w - pf->ramp_w_per_s);

        /* The plant over second s..s+1: the BMS stops at the SoC bounds. */
        double home = tr->home_w[s + 1], pv = tr->pv_w[s + 1];
        double b = out_w;
        if ((b > 0.0 && soc <= SOC_MIN) || (b < 0.0 && soc >= SOC_MAX))
            b = 0.0;
        double prev_soc = soc;
        double dwh = b > 0.0 ? -b / EFFICIENCY / 3600.0 : -b * EFFICIENCY / 3600.0;
        soc = clamp(soc + 100.0 * dwh / CAPACITY_WH, 0.0, 100.0);
        double g = home - pv - b;
        hist[s + 1] = (struct sample){g, b, pv, soc};

        /* What that second was worth. */
        double lowest_b = prev_soc < SOC_MAX ? -MAX_W : 0.0;
        double highest_b = prev_soc > SOC_MIN ? fmin(MAX_W, fmax(AC_LIMIT_W - pv, 0.0)) : 0.0;
        double export_w = fmax(-g, 0.0), import_w = fmax(g, 0.0);
        f->export_wh += export_w / 3600.0;
        f->import_wh += import_w / 3600.0;
        f->free_export_wh += fmin(export_w, fmax(b - lowest_b, 0.0)) / 3600.0;
        f->avoidable_import_wh += fmin(import_w, fmax(highest_b - b, 0.0)) / 3600.0;
        f->grid_charge_wh += fmin(import_w, fmax(-b, 0.0)) / 3600.0;
        if (b > 0.0 && pv + b > AC_LIMIT_W + 1.0) {
            f->over_cap_s += 1.0;
            if (run_s == 0.0 && f->events < 4) {
                f->event_s[f->events] = s;
                f->event_pv_jump_w[f->events] = pv - hist[s >= 3 ? s - 3 : 0].pv_w;
                f->event_battery_w[f->events] = b;
                f->events++;
            }
            run_s += 1.0;
            f->over_cap_run_s = fmax(f->over_cap_run_s, run_s);
        } else {
            run_s = 0.0;
        }
    }

    /* Load steps: how many settled two readings after the device could have responded. */
    for (int i = 2; i + 4 < seconds; i++) {
        /* A step: the load moves by 150 W or more within 3 s (appliances take a second or
         * two to reach their power), then stays within 50 W of its new level. */
        double step_w = tr->home_w[i + 2] - tr->home_w[i - 1];
        if (fabs(tr->home_w[i] - tr->home_w[i - 1]) < 30.0 || fabs(step_w) < STEP_MIN_W)
            continue;
        double ramp_s = fabs(step_w) / pf->ramp_w_per_s;
        int window = (int)ceil(pf->meter_delay_s + pf->interval_s + pf->latency_max_s + ramp_s +
                               2.0 * pf->interval_s);
        int check = i + 2 + window, end = check + 2;
        if (end > seconds)
            break;
        bool steady = true, feasible = true;
        for (int j = i + 2; j <= end && steady; j++)
            steady = fabs(tr->home_w[j] - tr->home_w[i + 2]) < 50.0 &&
                     fabs(tr->pv_w[j] - tr->pv_w[i + 2]) < 50.0;
        /* Only steps the battery can follow: the ideal setpoint inside the limits. */
        double need = tr->home_w[i + 2] - tr->pv_w[i + 2];
        double soc_then = hist[i].soc_pct;
        if (need > fmin(MAX_W, AC_LIMIT_W - tr->pv_w[i + 2]) - 30.0 || need < -MAX_W + 30.0 ||
            (need > 0.0 && soc_then < SOC_MIN + 2.0) || (need < 0.0 && soc_then > SOC_MAX - 1.0))
            feasible = false;
        i += 2;
        if (!steady || !feasible)
            continue;
        f->steps++;
        bool ok = true;
        for (int j = check; j <= end; j++)
            ok = ok && hist[j].grid_w >= BAND_LO_W && hist[j].grid_w <= BAND_HI_W;
        if (ok)
            f->settled++;
    }
    free(hist);
    return 0;
}

static int64_t local_midnight_ms(int year, int month, int day)
{
    struct tm tm = {.tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day, .tm_isdst = -1};
    return (int64_t)mktime(&tm) * 1000;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_control [--date YYYY-MM-DD] [--days N] [--seed N] "
                    "[--cloudiness X]\n");
}

static void print_table(const char *title, const struct figures *f, double per_day)
{
    printf("\n%s\n\n", title);
    printf("| controller | free export (Wh) | avoid. import (Wh) | grid → battery (Wh) | "
           "commands | over cap (s) | longest over cap (s) | settled ≤ 2 readings | "
           "import / export (Wh) |\n");
    printf("|---|---|---|---|---|---|---|---|---|\n");
    for (size_t c = 0; c < N_CONTROLLERS; c++) {
        const struct figures *x = &f[c];
        printf("| %s | %.1f | %.1f | %.1f | %.0f | %.0f | %.0f | %d/%d = %.0f %% | %.0f / %.0f |\n",
               controllers[c].name, x->free_export_wh * per_day, x->avoidable_import_wh * per_day,
               x->grid_charge_wh * per_day, x->commands * per_day, x->over_cap_s * per_day,
               x->over_cap_run_s, x->settled, x->steps,
               x->steps ? 100.0 * x->settled / x->steps : 100.0, x->import_wh * per_day,
               x->export_wh * per_day);
    }
}

static void verdict(const char *what, bool pass, const char *fmt, double a, double b)
{
    printf("%s %s: ", pass ? "PASS" : "FAIL", what);
    printf(fmt, a, b);
    printf("\n");
}

/* The targets of issue 18 for one profile: the typical one has its own, every other must
 * not be beaten by a reference on both free export and avoidable import, and never be over
 * the cap for longer than one device latency. */
static void targets(const struct profile *pf, const struct figures *f, const struct figures *st,
                    double per_day, bool typical)
{
    const struct figures *ours = &f[0];
    /* The shortest stretch over the cap a controller that reacts to the meter can manage
     * after PV jumps: the meter's delay, one reading, the device's latency and the ramp
     * of an 800 W cut. Only a margin kept below the cap beats it. */
    double response_s =
        pf->meter_delay_s + pf->interval_s + pf->latency_max_s + MAX_W / pf->ramp_w_per_s;
    printf("\n");
    if (typical) {
        const struct figures *ob = &f[4];
        verdict("free export ≤ OpenDTU-OnBattery's", ours->free_export_wh <= ob->free_export_wh,
                "%.1f vs %.1f Wh/day", ours->free_export_wh * per_day,
                ob->free_export_wh * per_day);
        verdict("over cap ≤ 5 s/day", ours->over_cap_s * per_day <= 5.0, "%.0f s/day (limit %.0f)",
                ours->over_cap_s * per_day, 5.0);
        const struct figures *floor = &f[N_CONTROLLERS - 1];
        printf("     an ideal controller that knows PV and load at once but waits the device: "
               "%.0f s/day over the cap, longest %.0f s (no margin)\n",
               floor->over_cap_s * per_day, floor->over_cap_run_s);
        verdict("≤ 2000 commands/day", ours->commands * per_day <= 2000.0, "%.0f (limit %.0f)",
                ours->commands * per_day, 2000.0);
        int steps = ours->steps + st[0].steps, settled = ours->settled + st[0].settled;
        double share = steps ? 100.0 * settled / steps : 100.0;
        printf("%s ≥ 95 %% of load steps settled within 2 readings (day and step test): "
               "%d/%d = %.1f %%\n",
               share >= 95.0 ? "PASS" : "FAIL", settled, steps, share);
    }
    for (int e = 0; e < ours->events; e++)
        printf("     over the cap from %02d:%02d:%02d: PV rose %.0f W within 3 s while the "
               "battery gave %.0f W\n",
               (int)ours->event_s[e] / 3600, (int)ours->event_s[e] / 60 % 60,
               (int)ours->event_s[e] % 60, ours->event_pv_jump_w[e], ours->event_battery_w[e]);
    double best_fe = INFINITY, best_ai = INFINITY;
    const char *dominated_by = NULL;
    for (size_t c = 1; c < N_CONTROLLERS; c++) {
        if (controllers[c].kind == IDEAL || controllers[c].kind == IDEAL_DELAYED)
            continue;
        best_fe = fmin(best_fe, f[c].free_export_wh);
        best_ai = fmin(best_ai, f[c].avoidable_import_wh);
        if (f[c].free_export_wh < ours->free_export_wh &&
            f[c].avoidable_import_wh < ours->avoidable_import_wh && !dominated_by)
            dominated_by = controllers[c].name;
    }
    printf("%s no reference better on both free export and avoidable import%s%s\n",
           dominated_by ? "FAIL" : "PASS", dominated_by ? ": beaten by " : "",
           dominated_by ? dominated_by : "");
    printf("     (ours %.1f / %.1f Wh; the best of any reference per figure %.1f / %.1f Wh)\n",
           ours->free_export_wh * per_day, ours->avoidable_import_wh * per_day, best_fe * per_day,
           best_ai * per_day);
    double run_s = fmax(ours->over_cap_run_s, st[0].over_cap_run_s);
    printf("%s never over the cap longer than one device latency: longest %.0f s (day and step "
           "test), latency %.0f s\n",
           run_s <= pf->latency_max_s ? "PASS" : "FAIL", run_s, pf->latency_max_s);
    /* The step test's PV steps by 350 W at once and has no clear sky to know them by: no
     * controller without a margin of 350 W stays under the cap there. */
    printf("     longest: the day %.0f s, the step test %.0f s; an ideal controller that knows PV "
           "at once but waits the device: %.0f s and %.0f s\n",
           ours->over_cap_run_s, st[0].over_cap_run_s, f[N_CONTROLLERS - 1].over_cap_run_s,
           st[N_CONTROLLERS - 1].over_cap_run_s);
    /* The reading that can be met: one device response after the meter shows the PV. */
    printf("%s never over the cap longer than the meter delay, one reading and one device "
           "response (latency + ramp): longest %.0f s, limit %.0f s\n",
           run_s <= response_s ? "PASS" : "FAIL", run_s, response_s);
}

int main(int argc, char **argv)
{
    int year = 2025, month = 5, day = 14, days = 1;
    uint64_t seed = 11;
    double cloudiness = 0.5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--date") == 0 && i + 1 < argc) {
            if (sscanf(argv[++i], "%d-%d-%d", &year, &month, &day) != 3) {
                usage();
                return 2;
            }
        } else if (strcmp(argv[i], "--days") == 0 && i + 1 < argc) {
            days = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--cloudiness") == 0 && i + 1 < argc) {
            cloudiness = atof(argv[++i]);
        } else {
            usage();
            return 2;
        }
    }
    if (days < 1 || days > 366 || cloudiness < 0.0 || cloudiness > 1.0) {
        usage();
        return 2;
    }
    setenv("TZ", "Europe/Berlin", 1);
    tzset();

    struct sim_params sp = site(seed, cloudiness);
    int64_t start_ms = local_midnight_ms(year, month, day);
    int seconds = (int)((local_midnight_ms(year, month, day + days) - start_ms) / 1000);
    struct trace tr = {0}, steps = {0};
    if (trace_day(&tr, &sp, start_ms, seconds) != 0 || trace_steps(&steps) != 0) {
        fprintf(stderr, "bench_control: out of memory or invalid site\n");
        trace_free(&tr);
        trace_free(&steps);
        return 1;
    }
    double pv_kwh = 0.0, load_kwh = 0.0, no_bat_import = 0.0, no_bat_export = 0.0;
    for (int i = 1; i <= seconds; i++) {
        pv_kwh += tr.pv_w[i] / 3.6e6;
        load_kwh += tr.home_w[i] / 3.6e6;
        double g = tr.home_w[i] - tr.pv_w[i];
        no_bat_import += fmax(g, 0.0) / 3600.0;
        no_bat_export += fmax(-g, 0.0) / 3600.0;
    }
    printf("%d day(s) from %04d-%02d-%02d (TZ Europe/Berlin, seed %llu, cloudiness %.2f): "
           "PV %.2f kWh, load %.2f kWh; without a battery %.0f Wh import, %.0f Wh export.\n"
           "Figures per day; the longest stretch over the cap over the whole run.\n",
           days, year, month, day, (unsigned long long)seed, cloudiness, pv_kwh, load_kwh,
           no_bat_import, no_bat_export);

    int status = 0;
    struct figures f[N_CONTROLLERS], st[N_CONTROLLERS];
    for (size_t p = 0; p < sizeof profiles / sizeof profiles[0] && status == 0; p++) {
        for (size_t c = 0; c < N_CONTROLLERS && status == 0; c++)
            if (run(&tr, &profiles[p], &controllers[c], &f[c]) != 0 ||
                run(&steps, &profiles[p], &controllers[c], &st[c]) != 0)
                status = 1;
        if (status)
            break;
        printf("\n## %s\n", profiles[p].name);
        print_table("The day:", f, 1.0 / days);
        print_table("The step test (4 h; figures per 4 h):", st, 1.0);
        targets(&profiles[p], f, st, 1.0 / days, p == 0);
    }
    if (status)
        fprintf(stderr, "bench_control: out of memory\n");
    trace_free(&tr);
    trace_free(&steps);
    return status;
}
