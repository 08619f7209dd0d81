/* The real balkonsolard driving a slow battery on its simulator (a Hoymiles-like 20 s from
 * command to output, simulation.battery_latency_s): no setpoint ever exceeds what the
 * 800 W cap leaves beside the PV of the moment, and the grid exports less than under
 * OpenDTU-OnBattery's dynamic power limiter, run in this process on the very same
 * simulated world (docs/control.md, "Choosing the targets"). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include "balkon/config.h"
#include "balkon/sim.h"
#include "balkon/sim_config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A Hoymiles-like slow device (20 s from command to output) on a cloudy June noon with a
 * heavy household, so that the battery discharges while PV moves under the cap. */
#define SLOW_LATENCY_S 20
#define SLOW_SPEED 30
#define SLOW_START "2026-06-22T10:00:00Z"
#define SLOW_START_MS 1782122400000LL /* SLOW_START in ms since the epoch */
/* An hour: a single half hour is decided by a few load steps that no controller can
 * answer before the device's 20 s; over an hour the steady state shows. */
#define SLOW_WINDOW_S 3600

static void slow_config(char *json, size_t size)
{
    snprintf(json, size,
             "{\n"
             "  \"site\": {\"name\": \"slow device\", \"latitude\": 52.52, \"longitude\": 13.40,"
             " \"timezone\": \"Europe/Berlin\"},\n"
             "  \"pv\": {\"planes\": [{\"name\": \"east\", \"tilt\": 30, \"azimuth\": -90, "
             "\"peak_w\": 890}, {\"name\": \"west\", \"tilt\": 30, \"azimuth\": 90, "
             "\"peak_w\": 890}]},\n"
             "  \"battery\": {\"capacity_wh\": 2240},\n"
             "  \"household\": {\"annual_kwh\": 6000},\n"
             "  \"simulation\": {\"speed\": %d, \"start\": \"%s\", \"cloudiness_pct\": 60,"
             " \"initial_soc_pct\": 40, \"battery_latency_s\": %d},\n"
             "  \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
             "  \"optimizer\": {\"strategy\": \"self_consumption\"},\n"
             "  \"control\": {\"target_grid_w\": 20}\n"
             "}\n",
             SLOW_SPEED, SLOW_START, SLOW_LATENCY_S);
}

/* One flow's counter from /metrics, in Wh. */
static double metrics_wh(struct daemon_proc *d, const char *flow)
{
    struct http_reply reply = harness_http(d, "GET", "/metrics", NULL, 0, NULL);
    assert_int_equal(reply.status, 200);
    char needle[96];
    snprintf(needle, sizeof needle, "balkonsolar_energy_kwh_total{flow=\"%s\"} ", flow);
    const char *at = strstr(reply.body, needle);
    if (!at)
        fail_msg("no %s in /metrics:\n%s", needle, reply.body);
    double kwh = strtod(at + strlen(needle), NULL);
    http_reply_free(&reply);
    return kwh * 1000.0;
}

/* OpenDTU-OnBattery's dynamic power limiter as shipped (bench/bench_control.c documents
 * its law: the gate on an acknowledged limit, stats polled every 5 s and newer than it, a
 * meter reading 2 s newer than the stats; limit = output + meter − 0 W, no hysteresis,
 * below 10 W standby, the upper limit 800 W; charging mirrored) on the daemon's own
 * simulated site: the same config gives the same world, second by second, and the same
 * device (a command replaces the pending one and lands SLOW_LATENCY_S later, when the
 * device answers it). Counts from from_ms to to_ms. */
struct limiter_run {
    double export_wh, pv_wh, home_wh;
    int commands;
};

static struct limiter_run limiter_run(const char *json, int64_t start_ms, int64_t from_ms,
                                      int64_t to_ms)
{
    struct limiter_run run = {0};
    struct balkon_config *config = calloc(1, sizeof *config);
    struct balkon_config_errors *errors = calloc(1, sizeof *errors);
    assert_non_null(config);
    assert_non_null(errors);
    assert_int_equal(balkon_config_parse(json, config, errors), 0);
    struct sim_params params;
    balkon_sim_params_from_config(config, config->simulation.initial_soc_pct, &params);
    double max_charge_w = config->battery.max_charge_w;
    free(config);
    free(errors);
    /* The household's rhythm follows local time, as in the daemon (site.timezone). */
    setenv("TZ", "Europe/Berlin", 1);
    tzset();
    struct sim_world *world = sim_world_new(&params, start_ms);
    assert_non_null(world);

    bool pending = false;
    double pending_w = 0, sent_w = NAN, stats_b_w = 0;
    int64_t apply_ms = 0, ack_ms = INT64_MIN, stats_ms = INT64_MIN, gate_stats_ms = INT64_MIN;
    struct sim_snapshot snap;
    double interval_grid_wh = 0;
    for (int64_t t = start_ms + 1000; t <= to_ms; t += 1000) {
        if (pending && t >= apply_ms) {
            sim_world_set_battery_mode(world, SIM_BATTERY_SETPOINT, pending_w);
            pending = false;
            ack_ms = t;
            gate_stats_ms = INT64_MIN;
        }
        sim_world_step(world, t, &snap);
        if (t > from_ms) {
            /* Counted as the daemon's metrics count it: the grid's net energy in each
             * storage interval (5 s, aligned on the clock), its export part. */
            interval_grid_wh += snap.grid_w / 3600.0;
            if (t % 5000 == 0) {
                run.export_wh += fmax(-interval_grid_wh, 0);
                interval_grid_wh = 0;
            }
            run.pv_wh += snap.pv_w / 3600.0;
            run.home_wh += snap.home_w / 3600.0;
        }
        if ((t / 1000) % 5 == 0) { /* the DTU's poll */
            stats_ms = t;
            stats_b_w = snap.battery_w;
            if (gate_stats_ms == INT64_MIN && stats_ms > ack_ms)
                gate_stats_ms = stats_ms; /* the oldest stats newer than the last answer */
        }
        if (pending || gate_stats_ms == INT64_MIN || t <= gate_stats_ms + 2000)
            continue;
        double limit_w = round(stats_b_w + snap.grid_w);
        limit_w = fmax(fmin(limit_w, 800.0), -max_charge_w);
        if (fabs(limit_w) < 10.0)
            limit_w = 0;
        if (isfinite(sent_w) && fabs(limit_w - sent_w) < 1.0)
            continue;
        sent_w = pending_w = limit_w;
        pending = true;
        run.commands += t > from_ms;
        /* The daemon's device takes a command a moment after the reading that caused it,
         * so it lands at the first step after t + latency: the same here. */
        apply_ms = t + SLOW_LATENCY_S * 1000 + 1;
    }
    sim_world_free(world);
    return run;
}

/* The slow device: every setpoint stays within what the cap leaves beside the PV of the
 * moment, and the grid exports less than OpenDTU-OnBattery's limiter lets it on the very
 * same simulated hour. */
static void test_slow_device_holds_the_cap_and_beats_the_limiter(void **state)
{
    struct daemon_proc *d = *state;
    char json[2048];
    slow_config(json, sizeof json);
    harness_write_config(d, json);
    assert_true(harness_start(d, NULL));
    /* Two simulated minutes to learn the device, then half an hour. */
    harness_sleep_ms(120 * 1000 / SLOW_SPEED);
    cJSON *status = harness_get_json(d, "/api/v1/status");
    assert_non_null(status);
    double from_ms = harness_number(status, "ts_ms");
    cJSON_Delete(status);
    double export_from_wh = metrics_wh(d, "grid_export");
    double pv_from_wh = metrics_wh(d, "pv"), home_from_wh = metrics_wh(d, "home");
    cJSON *control = harness_get_json(d, "/api/v1/control");
    double commands_from = harness_number(control, "commands_sent");
    cJSON_Delete(control);
    int samples = 0, over = 0, discharging_near_cap = 0;
    double last_pv_w = NAN;
    for (int waited_ms = 0; waited_ms < SLOW_WINDOW_S * 1000 / SLOW_SPEED; waited_ms += 250) {
        cJSON *now = harness_get_json(d, "/api/v1/control");
        cJSON *inverter = harness_device(d, "sim-inverter");
        assert_non_null(now);
        assert_non_null(inverter);
        double setpoint_w = harness_number(now, "setpoint_w");
        double pv_w = harness_device_value(inverter, "power_w");
        /* A setpoint sent before a PV jump that came between the two requests is no
         * breach: the controller had not seen that PV yet. */
        double excess_w = pv_w + fmax(setpoint_w, 0) - 800;
        bool jumped = isfinite(last_pv_w) && pv_w - last_pv_w >= excess_w;
        if (excess_w > 1 && !jumped) {
            over++;
            fprintf(stderr, "over the cap: setpoint %.0f W with PV %.0f W (before %.0f W)\n",
                    setpoint_w, pv_w, last_pv_w);
        }
        discharging_near_cap += setpoint_w > 0 && pv_w + setpoint_w > 650;
        last_pv_w = pv_w;
        samples++;
        cJSON_Delete(now);
        cJSON_Delete(inverter);
        harness_sleep_ms(250);
    }
    status = harness_get_json(d, "/api/v1/status");
    double to_ms = harness_number(status, "ts_ms");
    cJSON_Delete(status);
    double ours_wh = metrics_wh(d, "grid_export") - export_from_wh;
    double pv_wh = metrics_wh(d, "pv") - pv_from_wh, home_wh = metrics_wh(d, "home") - home_from_wh;
    control = harness_get_json(d, "/api/v1/control");
    double commands = harness_number(control, "commands_sent") - commands_from;
    cJSON_Delete(control);
    /* The daemon's world starts where its clock stood when the simulator began, a few
     * simulated seconds after SLOW_START: the start whose load matches is that one. */
    struct limiter_run ref = {0};
    for (int offset_s = 0; offset_s <= 30; offset_s++) {
        struct limiter_run r =
            limiter_run(json, SLOW_START_MS + offset_s * 1000LL, (int64_t)from_ms, (int64_t)to_ms);
        if (offset_s == 0 || fabs(r.home_wh - home_wh) < fabs(ref.home_wh - home_wh))
            ref = r;
    }
    fprintf(stderr,
            "slow device, %.0f simulated minutes: export %.1f Wh, %.0f commands (limiter %.1f Wh, "
            "%d commands); PV %.1f / %.1f Wh, home %.1f / %.1f Wh; %d samples, %d discharging "
            "near the cap, %d over it\n",
            (to_ms - from_ms) / 60000.0, ours_wh, commands, ref.export_wh, ref.commands, pv_wh,
            ref.pv_wh, home_wh, ref.home_wh, samples, discharging_near_cap, over);
    assert_true(to_ms - from_ms >= (SLOW_WINDOW_S - 300) * 1000.0);
    /* The same world: the limiter's run saw the daemon's PV and load. */
    assert_true(fabs(pv_wh - ref.pv_wh) <= 0.02 * ref.pv_wh + 5);
    assert_true(fabs(home_wh - ref.home_wh) <= 0.02 * ref.home_wh + 5);
    assert_true(discharging_near_cap > 0);
    assert_int_equal(over, 0);
    if (!(ours_wh < ref.export_wh))
        fail_msg("export %.1f Wh, OpenDTU-OnBattery's limiter %.1f Wh\n%s", ours_wh, ref.export_wh,
                 harness_log(d));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_slow_device_holds_the_cap_and_beats_the_limiter,
                                        harness_setup, harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
