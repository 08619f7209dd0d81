/* Benchmark of the real-time controller (include/balkon/controller.h) against the plain
 * proportional loop most setups run, on a simulated day at 1-second resolution. It prints
 * figures and asserts nothing.
 *
 *   bench_control [--date YYYY-MM-DD] [--days N] [--seed N] [--cloudiness X]
 *
 * The site is the simulator's (include/balkon/sim.h, TZ Europe/Berlin): 1780 Wp on two
 * planes (east and west, 30°) behind an 800 W inverter, a 3000 kWh household whose load
 * has the H0 base, standby, a kettle, microwave, hob, oven, washing machine, dishwasher,
 * television and a cycling fridge, and clouds that pass the sun; an AC-coupled 2.24 kWh
 * battery (800 W both ways, SoC 10-100 %, starting at 30 % at midnight). The simulator
 * holds a battery setpoint at once, so the harness adds the device and the meter: a
 * command reaches the battery latency_s later, its output then ramps at ramp_w_per_s; the
 * controller sees the meter's grid and PV readings meter_delay_s late and the battery's
 * measured power report_delay_s late, once per reading interval. The simulator's AC
 * coupling keeps PV + discharge within the 800 W cap; the harness counts the seconds in
 * which the device was asked for more ("over cap").
 *
 * Controllers, all aiming at +20 W import:
 *   ours             balkon_ctl with its defaults (settle 3 s, meter delay 2 s: it learns
 *                    the device's real delays from its own commands)
 *   ours, tuned      the same with settle_s and meter_delay_s set to the device's
 *   P, Kp = k        every reading: setpoint = measured battery + k × (grid − target),
 *                    within the battery's limits and the cap; no deadband, no waiting
 *   ideal            knows each second's load and PV and has no delays: the floor
 *
 * Figures per day, self-consumption mode throughout:
 *   free export      Wh exported that the battery could have kept (by discharging less or
 *                    charging more, within its limits and SoC)
 *   battery → grid   the part of it the battery itself exported (discharging while the
 *                    meter showed export): what DISCHARGE must keep small
 *   avoid. import    Wh imported that the battery could have covered (within its limits,
 *                    SoC and the cap); the +20 W target itself counts, for every
 *                    controller alike (the ideal one aims at 0 W)
 *   grid → battery   Wh imported while the battery charged: charging from the grid,
 *                    which self-consumption must not do
 *   commands         setpoints sent (the P loop: those that changed by 1 W or more)
 *   reversals/h      how often the direction of the setpoint's changes flips: hunting
 *   overshoot        the worst second in which the battery pushed the grid past 0 W the
 *                    wrong way (discharging into export, or charging from import), W
 *   at cap           seconds with PV + discharge within 20 W of the cap
 *   over cap         seconds in which the device was asked for more than the cap allowed */
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
#define QUEUE 256

struct profile {
    const char *name;
    double latency_s, ramp_w_per_s, meter_delay_s, report_delay_s, interval_s;
};

static const struct profile profiles[] = {
    {"fast: battery 2 s + 400 W/s, meter 1 s, readings 1 s", 2.0, 400.0, 1.0, 1.0, 1.0},
    {"typical: battery 5 s + 200 W/s, meter 2 s, readings 1 s", 5.0, 200.0, 2.0, 2.0, 1.0},
    {"slow: battery 10 s + 80 W/s, meter 3 s, readings 2 s", 10.0, 80.0, 3.0, 3.0, 2.0},
};

enum kind { OURS, OURS_TUNED, PLAIN_P, IDEAL };

struct controller {
    const char *name;
    enum kind kind;
    double kp;
};

static const struct controller controllers[] = {
    {"ours", OURS, 0},
    {"ours, tuned", OURS_TUNED, 0},
    {"P, Kp = 1.0", PLAIN_P, 1.0},
    {"P, Kp = 0.5", PLAIN_P, 0.5},
    {"P, Kp = 0.3", PLAIN_P, 0.3},
    {"ideal", IDEAL, 0},
};

struct figures {
    double free_export_wh, battery_export_wh, avoidable_import_wh, grid_charge_wh, overshoot_w;
    double import_wh, export_wh;
    int commands, reversals;
    double at_cap_s, over_cap_s, hours;
};

struct trace {
    double *home_w, *pv_w;
    int seconds;
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
        .battery_capacity_wh = 2240.0,
        .battery_max_charge_w = MAX_W,
        .battery_max_discharge_w = MAX_W,
        .battery_charge_efficiency = 0.95,
        .battery_discharge_efficiency = 0.95,
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

/* The day's load and PV second by second, from a world whose battery stays off: the
 * simulator's household and weather draw from their own random streams, so every run
 * below sees exactly these. The ideal controller reads them. */
static int trace_make(struct trace *t, const struct sim_params *sp, int64_t start_ms, int seconds)
{
    struct sim_world *w = sim_world_new(sp, start_ms);
    t->home_w = calloc((size_t)seconds + 1, sizeof(double));
    t->pv_w = calloc((size_t)seconds + 1, sizeof(double));
    if (!w || !t->home_w || !t->pv_w) {
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
    t->seconds = seconds;
    sim_world_free(w);
    return 0;
}

static double clamp(double x, double lo, double hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

static int run(const struct sim_params *sp, int64_t start_ms, int seconds, const struct trace *tr,
               const struct profile *pf, const struct controller *cc, struct figures *f)
{
    struct sim_world *w = sim_world_new(sp, start_ms);
    struct sim_snapshot *hist = calloc((size_t)seconds + 1, sizeof *hist);
    if (!w || !hist) {
        sim_world_free(w);
        free(hist);
        return -1;
    }
    sim_world_set_battery_mode(w, SIM_BATTERY_SETPOINT, 0.0);
    sim_world_step(w, start_ms, &hist[0]);

    struct balkon_ctl_params params;
    balkon_ctl_params_init(&params);
    params.soc_min_pct = SOC_MIN;
    params.soc_max_pct = SOC_MAX;
    if (cc->kind == OURS_TUNED) {
        params.settle_s = pf->latency_s + pf->report_delay_s + MAX_W / pf->ramp_w_per_s / 2.0;
        params.meter_delay_s = fmax(pf->meter_delay_s - pf->report_delay_s, 0.0) + 1.0;
    }
    struct balkon_ctl ctl;
    balkon_ctl_init(&ctl, &params);

    struct {
        double at_s, value_w;
    } queue[QUEUE];
    int queued = 0;
    double target_w = 0.0, out_w = 0.0, last_sent = 0.0, last_delta = 0.0;
    double next_reading_s = 0.0;
    int md = (int)lround(pf->meter_delay_s), rd = (int)lround(pf->report_delay_s);
    *f = (struct figures){.hours = seconds / 3600.0};

    for (int s = 0; s < seconds; s++) {
        /* The controller, on a reading. */
        bool sent = false;
        double value = 0.0;
        if (cc->kind == IDEAL) {
            double pv = tr->pv_w[s + 1];
            value = clamp(tr->home_w[s + 1] - pv, -MAX_W, fmin(MAX_W, AC_LIMIT_W - pv));
            sent = fabs(value - last_sent) >= 1.0;
        } else if (s >= next_reading_s) {
            next_reading_s += pf->interval_s;
            const struct sim_snapshot *m = &hist[s >= md ? s - md : 0];
            const struct sim_snapshot *bm = &hist[s >= rd ? s - rd : 0];
            if (cc->kind == PLAIN_P) {
                value = bm->battery_w + cc->kp * (m->grid_w - TARGET_W);
                value = clamp(value, -MAX_W, fmin(MAX_W, AC_LIMIT_W - m->pv_w));
                sent = fabs(value - last_sent) >= 1.0;
            } else {
                struct balkon_ctl_input in = {
                    .now_s = s,
                    .grid_w = m->grid_w,
                    .meter_ts_s = s,
                    .battery_w = bm->battery_w,
                    .pv_w = m->pv_w,
                    .soc_pct = hist[s].soc_pct,
                    .mode = BALKON_CTL_SELF_CONSUMPTION,
                };
                sent = balkon_ctl_step(&ctl, &in, &value);
            }
        }
        if (sent) {
            double delta = value - last_sent;
            if (delta * last_delta < 0.0)
                f->reversals++;
            if (delta != 0.0)
                last_delta = delta;
            last_sent = value;
            f->commands++;
            if (cc->kind == IDEAL) {
                target_w = value;
            } else if (queued < QUEUE) {
                queue[queued].at_s = s + pf->latency_s;
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
        sim_world_set_battery_mode(w, SIM_BATTERY_SETPOINT, out_w);
        sim_world_step(w, start_ms + (int64_t)(s + 1) * 1000, &hist[s + 1]);

        /* What that second was worth. */
        const struct sim_snapshot *h = &hist[s + 1];
        double prev_soc = hist[s].soc_pct;
        double b = h->battery_w, g = h->grid_w, pv = h->pv_w;
        double lowest_b = prev_soc < SOC_MAX ? -MAX_W : 0.0;
        double highest_b = prev_soc > SOC_MIN ? fmin(MAX_W, fmax(AC_LIMIT_W - pv, 0.0)) : 0.0;
        double export_w = fmax(-g, 0.0), import_w = fmax(g, 0.0);
        f->export_wh += export_w / 3600.0;
        f->import_wh += import_w / 3600.0;
        f->free_export_wh += fmin(export_w, fmax(b - lowest_b, 0.0)) / 3600.0;
        f->avoidable_import_wh += fmin(import_w, fmax(highest_b - b, 0.0)) / 3600.0;
        f->grid_charge_wh += fmin(import_w, fmax(-b, 0.0)) / 3600.0;
        f->battery_export_wh += fmin(export_w, fmax(b, 0.0)) / 3600.0;
        double over = fmax(fmin(export_w, fmax(b, 0.0)), fmin(import_w, fmax(-b, 0.0)));
        f->overshoot_w = fmax(f->overshoot_w, over);
        if (b > 0.0 && pv + b >= AC_LIMIT_W - 20.0)
            f->at_cap_s += 1.0;
        if (out_w > 0.0 && pv + out_w > AC_LIMIT_W + 1.0)
            f->over_cap_s += 1.0;
    }
    sim_world_free(w);
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
    struct trace tr = {0};
    if (trace_make(&tr, &sp, start_ms, seconds) != 0) {
        fprintf(stderr, "bench_control: out of memory or invalid site\n");
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
           "PV %.2f kWh, load %.2f kWh; without a battery %.0f Wh import, %.0f Wh export\n",
           days, year, month, day, (unsigned long long)seed, cloudiness, pv_kwh, load_kwh,
           no_bat_import, no_bat_export);

    int status = 0;
    for (size_t p = 0; p < sizeof profiles / sizeof profiles[0]; p++) {
        printf("\n%s\n\n", profiles[p].name);
        printf("| controller | free export (Wh) | battery → grid (Wh) | avoid. import (Wh) | "
               "grid → battery (Wh) | commands | reversals/h | overshoot (W) | at cap (s) | "
               "over cap (s) | import / export (Wh) |\n");
        printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (size_t c = 0; c < sizeof controllers / sizeof controllers[0]; c++) {
            if (controllers[c].kind == IDEAL && p > 0)
                continue; /* the same for every profile */
            struct figures f;
            if (run(&sp, start_ms, seconds, &tr, &profiles[p], &controllers[c], &f) != 0) {
                fprintf(stderr, "bench_control: out of memory\n");
                status = 1;
                break;
            }
            printf(
                "| %s | %.1f | %.1f | %.1f | %.1f | %d | %.1f | %.0f | %.0f | %.0f | %.0f / %.0f "
                "|\n",
                controllers[c].name, f.free_export_wh, f.battery_export_wh, f.avoidable_import_wh,
                f.grid_charge_wh, f.commands, f.reversals / f.hours, f.overshoot_w, f.at_cap_s,
                f.over_cap_s, f.import_wh, f.export_wh);
        }
    }
    free(tr.home_w);
    free(tr.pv_w);
    return status;
}
