/* Driver "simulator": a whole simulated site behind one config entry.
 *
 * It steps the physics of src/sim/ on the daemon's clock (which may run faster
 * than wall time) and exposes three devices the way real drivers do:
 *   <id>-meter     role meter:    BUS_EV_METER_READING grid_w, state value power_w
 *   <id>-inverter  role inverter: power_w (AC), dc_power_w, clipped_w, limit_w; takes
 *                  "limit" (W, 0 … inverter.ac_limit_w) as OpenDTU's non-persistent limit
 *   <id>-battery   role battery:  power_w (+ discharge), soc_pct, energy_wh
 *   <id>-plug      role plug:     on, power_w (only with simulation.plug_power_w > 0; its
 *                  appliance adds to the household's load)
 * Device states are published before the meter reading of the same step, so whoever
 * balances the site sees a consistent set at every reading. The battery runs in its
 * vendor-style automatic mode (cover the load, store the surplus).
 *
 * Failsafe, as the Marstek's Passive countdown: a setpoint expires when the daemon has not
 * refreshed it for failsafe_s (counted in real seconds, i.e. failsafe_s × speed of
 * simulated time), and the battery returns to its automatic mode. The two sides are kept
 * apart in tick_cb: the device catches up the simulated time first (so a loop that was
 * stopped or hung sees the setpoint expire within the gap, at the step where a real battery
 * would have dropped it), and only then does the daemon side refresh it. The battery state
 * shows setpoint_w (while one stands) and failsafe_trips. */
#include "device_kit.h"

#include "devices_internal.h"
#include "balkon/driver.h"

#include "balkon/bus.h"
#include "balkon/config.h"
#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/module.h"
#include "balkon/sim.h"
#include "balkon/sim_config.h"
#include "balkon/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Never take more physics steps per timer tick than this; a loop that fell far behind
 * (suspended laptop, debugger) jumps instead of spinning to catch up. */
#define MAX_STEPS_PER_TICK 2000
#define MIN_TICK_MS 10

struct simulator {
    struct balkon_ctx *ctx;
    uv_timer_t timer;
    struct sim_world *world;
    char id[BALKON_ID_MAX];
    int64_t step_ms;
    int64_t last_ts_ms;
    /* A battery command waiting out the simulated latency. */
    bool pending;
    int64_t pending_apply_ms;
    struct device_command pending_command;
    bool plug_on;
    /* The failsafe: a setpoint stands (the world is in SIM_BATTERY_SETPOINT) and was last
     * refreshed at refreshed_ms (the clock's ms); failsafe_trips counts expiries. */
    bool setpoint_standing;
    double setpoint_w;
    int64_t refreshed_ms;
    unsigned failsafe_trips;
    double failsafe_s; /* the device's option; 0 (a config without it): 60 */
    double limit_w;    /* the inverter's output limit; NAN (its rating) until commanded */
    bool limit_pending;
    int64_t limit_apply_ms;
    struct device_command limit_command;
};

static void add_value(struct ev_device_state *state, const char *name, double value)
{
    if (state->value_count >= EV_DEVICE_VALUES_MAX)
        return;
    struct device_value *v = &state->values[state->value_count++];
    snprintf(v->name, sizeof v->name, "%s", name);
    v->value = value;
}

static void init_state(struct ev_device_state *state, const struct simulator *sim,
                       const char *suffix, const char *model, unsigned roles, int64_t ts_ms)
{
    memset(state, 0, sizeof *state);
    snprintf(state->device_id, sizeof state->device_id, "%.20s-%s", sim->id, suffix);
    snprintf(state->type, sizeof state->type, "simulator");
    snprintf(state->model, sizeof state->model, "%s", model);
    state->roles = roles;
    state->online = true;
    state->ts_ms = ts_ms;
}

static void publish_snapshot(struct simulator *sim, const struct sim_snapshot *snap)
{
    const struct balkon_config *config = sim->ctx->config;
    struct ev_device_state state;

    init_state(&state, sim, "inverter", "Simulated micro-inverter", DEVICE_ROLE_INVERTER,
               snap->ts_ms);
    add_value(&state, "power_w", snap->pv_w);
    add_value(&state, "dc_power_w", snap->pv_dc_w);
    add_value(&state, "clipped_w", snap->pv_clipped_w);
    add_value(&state, "limit_w",
              isfinite(sim->limit_w) ? sim->limit_w : config->inverter.ac_limit_w);
    balkon_bus_publish(sim->ctx->bus, BUS_EV_DEVICE_STATE, &state);

    init_state(&state, sim, "battery", "Simulated battery", DEVICE_ROLE_BATTERY, snap->ts_ms);
    add_value(&state, "power_w", snap->battery_w);
    add_value(&state, "soc_pct", snap->soc_pct);
    add_value(&state, "stored_wh", snap->battery_energy_wh);
    if (sim->setpoint_standing)
        add_value(&state, "setpoint_w", sim->setpoint_w);
    add_value(&state, "failsafe_trips", sim->failsafe_trips);
    balkon_bus_publish(sim->ctx->bus, BUS_EV_DEVICE_STATE, &state);

    if (config->simulation.plug_power_w > 0) {
        init_state(&state, sim, "plug", "Simulated smart plug", DEVICE_ROLE_PLUG, snap->ts_ms);
        add_value(&state, "on", sim->plug_on);
        add_value(&state, "power_w", sim->plug_on ? config->simulation.plug_power_w : 0.0);
        balkon_bus_publish(sim->ctx->bus, BUS_EV_DEVICE_STATE, &state);
    }

    init_state(&state, sim, "meter", "Simulated smart meter", DEVICE_ROLE_METER, snap->ts_ms);
    if (!config->simulation.meter_enabled)
        return; /* a failed meter says nothing; its last state ages until it counts as offline */
    add_value(&state, "power_w", snap->grid_w);
    balkon_bus_publish(sim->ctx->bus, BUS_EV_DEVICE_STATE, &state);

    struct ev_meter_reading reading = {.ts_ms = snap->ts_ms, .grid_w = snap->grid_w};
    memcpy(reading.device_id, state.device_id, sizeof reading.device_id);
    balkon_bus_publish(sim->ctx->bus, BUS_EV_METER_READING, &reading);
}

static void publish_result(struct simulator *sim, const struct device_command *c)
{
    struct ev_command_result result = balkon_command_result(c, true, NULL);
    balkon_bus_publish(sim->ctx->bus, BUS_EV_COMMAND_RESULT, &result);
}

/* The battery takes the setpoint once its latency has passed, and reports it back. */
static void apply_command(struct simulator *sim)
{
    const struct device_command *c = &sim->pending_command;
    sim->pending = false;
    bool automatic = strcmp(c->command, "auto") == 0;
    sim_world_set_battery_mode(sim->world, automatic ? SIM_BATTERY_AUTO : SIM_BATTERY_SETPOINT,
                               c->value);
    sim->setpoint_standing = !automatic;
    sim->setpoint_w = c->value;
    sim->refreshed_ms = sim->last_ts_ms;
    publish_result(sim, c);
}

/* The device side of the failsafe: a setpoint not refreshed for failsafe_s (real seconds)
 * expires at the step where the time runs out. */
static void check_failsafe(struct simulator *sim, int64_t ts_ms)
{
    double expiry_ms = sim->failsafe_s * 1000.0 * sim->ctx->clock.speed;
    if (!sim->setpoint_standing || (double)(ts_ms - sim->refreshed_ms) <= expiry_ms)
        return;
    sim->setpoint_standing = false;
    sim->failsafe_trips++;
    sim_world_set_battery_mode(sim->world, SIM_BATTERY_AUTO, 0);
    log_warn("simulator",
             "%s-battery: setpoint %g W not refreshed for %g s: expired, back to automatic mode",
             sim->id, sim->setpoint_w, sim->failsafe_s);
}

/* An inverter's limit takes effect after the same latency as the battery's setpoint. */
static int limit_inverter(struct simulator *sim, const struct device_command *command, char *msg,
                          size_t msg_size)
{
    const struct balkon_config *config = sim->ctx->config;
    if (strcmp(command->command, "limit") != 0 ||
        !(command->value >= 0 && command->value <= config->inverter.ac_limit_w)) {
        snprintf(msg, msg_size, "an inverter takes \"limit\" from 0 to %g W",
                 config->inverter.ac_limit_w);
        return BALKON_E_RANGE;
    }
    sim->limit_command = *command;
    sim->limit_apply_ms = balkon_clock_now_ms(&sim->ctx->clock) +
                          (int64_t)(config->simulation.battery_latency_s * 1000.0);
    sim->limit_pending = true;
    return 0;
}

static void apply_limit(struct simulator *sim)
{
    sim->limit_pending = false;
    sim->limit_w = sim->limit_command.value;
    sim_world_set_pv_limit(sim->world, sim->limit_w);
    publish_result(sim, &sim->limit_command);
}

/* A plug switches at once, as real ones do; the result is confirmed by its next state. */
static int switch_plug(struct simulator *sim, const struct device_command *command, char *msg,
                       size_t msg_size)
{
    if (strcmp(command->command, "switch") != 0 || (command->value != 0 && command->value != 1)) {
        snprintf(msg, msg_size, "a plug takes \"switch\" with 1 (on) or 0 (off)");
        return BALKON_E_INVAL;
    }
    sim->plug_on = command->value == 1;
    sim_world_set_extra_load(sim->world,
                             sim->plug_on ? sim->ctx->config->simulation.plug_power_w : 0.0);
    publish_result(sim, command);
    return 0;
}

/* "setpoint" (W, + discharge / − charge) or "auto" (the battery's own self-consumption
 * logic, as a vendor battery with its own meter runs) for the "<id>-battery" device. A
 * newer command replaces one still waiting, as a real device's last write wins. */
static int simulator_command(void *instance, const struct device_command *command, char *msg,
                             size_t msg_size)
{
    struct simulator *sim = instance;
    const struct balkon_config *config = sim->ctx->config;
    char battery_id[BALKON_ID_MAX], plug_id[BALKON_ID_MAX];
    snprintf(battery_id, sizeof battery_id, "%.20s-battery", sim->id);
    snprintf(plug_id, sizeof plug_id, "%.20s-plug", sim->id);
    if (config->simulation.plug_power_w > 0 && strcmp(command->device_id, plug_id) == 0)
        return switch_plug(sim, command, msg, msg_size);
    char inverter_id[BALKON_ID_MAX];
    snprintf(inverter_id, sizeof inverter_id, "%.20s-inverter", sim->id);
    if (strcmp(command->device_id, inverter_id) == 0)
        return limit_inverter(sim, command, msg, msg_size);
    if (strcmp(command->device_id, battery_id) != 0) {
        snprintf(msg, msg_size, "%s takes no commands (only %s and %s do)", command->device_id,
                 battery_id, inverter_id);
        return BALKON_E_INVAL;
    }
    int rc = dev_battery_command_check(command, -config->battery.max_charge_w,
                                       config->battery.max_discharge_w, msg, msg_size);
    if (rc < 0)
        return rc;
    sim->pending_command = *command;
    sim->pending_apply_ms = balkon_clock_now_ms(&sim->ctx->clock) +
                            (int64_t)(config->simulation.battery_latency_s * 1000.0);
    sim->pending = true;
    return 0;
}

static void tick_cb(uv_timer_t *timer)
{
    struct simulator *sim = timer->data;
    int64_t now_ms = balkon_clock_now_ms(&sim->ctx->clock);
    struct sim_snapshot snap;
    int steps = 0;
    while (sim->last_ts_ms + sim->step_ms <= now_ms) {
        if (++steps > MAX_STEPS_PER_TICK) {
            log_warn("simulator", "%s: %.0f s behind the clock; skipping ahead", sim->id,
                     (double)(now_ms - sim->last_ts_ms) / 1000.0);
            sim->last_ts_ms = balkon_floor_ms(now_ms, sim->step_ms) - sim->step_ms;
        }
        sim->last_ts_ms += sim->step_ms;
        if (sim->pending && sim->last_ts_ms >= sim->pending_apply_ms)
            apply_command(sim);
        if (sim->limit_pending && sim->last_ts_ms >= sim->limit_apply_ms)
            apply_limit(sim);
        check_failsafe(sim, sim->last_ts_ms);
        sim_world_step(sim->world, sim->last_ts_ms, &snap);
        publish_snapshot(sim, &snap);
    }
    /* The daemon side: alive and caught up, it keeps its setpoint from expiring. */
    if (sim->setpoint_standing)
        sim->refreshed_ms = sim->last_ts_ms;
}

/* The clock jumped: the simulated site goes on from the new time, as a real one would. */
static void on_clock_jumped(enum bus_event event, const void *payload, void *user)
{
    struct simulator *sim = user;
    int64_t jump_ms = ((const struct ev_clock_jumped *)payload)->jump_ms;
    sim->last_ts_ms += jump_ms;
    sim->pending_apply_ms += jump_ms;
    sim->limit_apply_ms += jump_ms;
    sim->refreshed_ms += jump_ms;
    sim_world_shift(sim->world, jump_ms);
}

static int simulator_start(struct balkon_ctx *ctx, const struct balkon_device_config *device,
                           void **instance, char *msg, size_t msg_size)
{
    struct sim_params params;
    balkon_sim_params_from_config(ctx->config, ctx->config->simulation.initial_soc_pct, &params);
    if (sim_params_validate(&params, msg, msg_size) < 0)
        return BALKON_E_INVAL;

    struct simulator *sim = calloc(1, sizeof *sim);
    if (!sim)
        return BALKON_E_NOMEM;
    sim->ctx = ctx;
    sim->limit_w = NAN;
    snprintf(sim->id, sizeof sim->id, "%s", device->id);
    sim->failsafe_s = device->failsafe_s > 0 ? device->failsafe_s : 60;
    sim->step_ms = (int64_t)(ctx->config->simulation.step_s * 1000.0);
    int64_t now_ms = balkon_clock_now_ms(&ctx->clock);
    sim->last_ts_ms = balkon_floor_ms(now_ms, sim->step_ms);
    sim->world = sim_world_new(&params, sim->last_ts_ms);
    if (!sim->world) {
        free(sim);
        snprintf(msg, msg_size, "cannot create the simulated world");
        return BALKON_E_NOMEM;
    }
    uv_timer_init(ctx->loop, &sim->timer);
    sim->timer.data = sim;
    uint64_t period_ms = balkon_clock_wall_ms(&ctx->clock, sim->step_ms);
    if (period_ms < MIN_TICK_MS)
        period_ms = MIN_TICK_MS;
    uv_timer_start(&sim->timer, tick_cb, 0, period_ms);
    balkon_bus_subscribe(ctx->bus, BUS_EV_CLOCK_JUMPED, on_clock_jumped, sim);
    *instance = sim;
    return 0;
}

static void simulator_reconfigure(void *instance)
{
    struct simulator *sim = instance;
    struct sim_params params;
    char msg[256] = "rejected by the simulator";
    balkon_sim_params_from_config(sim->ctx->config, sim->ctx->config->simulation.initial_soc_pct,
                                  &params);
    if (sim_params_validate(&params, msg, sizeof msg) < 0 ||
        sim_world_reconfigure(sim->world, &params) < 0) {
        log_error("simulator", "%s: new settings not applied: %s", sim->id, msg);
        return;
    }
    const struct balkon_config *config = sim->ctx->config;
    for (size_t i = 0; i < config->devices.count; i++)
        if (strcmp(config->devices.items[i].id, sim->id) == 0 &&
            config->devices.items[i].failsafe_s > 0)
            sim->failsafe_s = config->devices.items[i].failsafe_s;
    log_info("simulator", "%s: settings applied", sim->id);
}

static void close_cb(uv_handle_t *handle)
{
    struct simulator *sim = handle->data;
    sim_world_free(sim->world);
    free(sim);
}

static void simulator_stop(void *instance)
{
    struct simulator *sim = instance;
    balkon_bus_unsubscribe(sim->ctx->bus, BUS_EV_CLOCK_JUMPED, on_clock_jumped, sim);
    uv_timer_stop(&sim->timer);
    uv_close((uv_handle_t *)&sim->timer, close_cb);
}

const struct dev_driver_ops dev_driver_simulator = {
    .driver = &balkon_driver_simulator,
    .start = simulator_start,
    .reconfigure = simulator_reconfigure,
    .stop = simulator_stop,
    .command = simulator_command,
};
