/* The control module: on every meter reading, asks the controller (include/balkon/
 * controller.h) for the battery setpoint that keeps the grid at its target in the mode the
 * plan gives for the current slot, and sends it to the battery as a command. A one-second
 * timer notices a meter that went quiet, so the failsafe engages without readings.
 *
 * The battery is the configured control.battery, else the first device that reports the
 * battery role; PV is what devices with the inverter role report.
 *
 * With control.inverter set, the actuator is that inverter's non-persistent output limit
 * instead (zero export without a controllable battery, or a DC-coupled battery behind the
 * inverter as OpenDTU-OnBattery drives it): the same controller, with the inverter's
 * output as the "discharge" it sets, no charging and no SoC rules (the PV behind the
 * limit is not a battery to protect). */
#include "balkon/controller.h"

#include "balkon/bus.h"
#include "balkon/config.h"
#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/module.h"
#include "balkon/plan_config.h"
#include "balkon/optimizer.h"
#include "balkon/services.h"
#include "balkon/sim.h"
#include "balkon/sim_config.h"
#include "balkon/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WATCHDOG_MS 1000
#define MAX_PLAN_SLOTS 400
/* The clear sky's PV moves with the sun: once a minute is plenty. */
#define CLEAR_SKY_EVERY_MS 60000
/* At a cloud's edge the uncovered sun and the lit cloud beside it give a little more than
 * the clear sky (the simulator allows 5 %, docs/simulator.md). */
#define CLOUD_EDGE_FACTOR 1.05

struct planned_slot {
    int64_t ts_ms;
    enum balkon_ctl_mode mode;
    double power_w;
    char plan_mode[16]; /* the optimizer's mode, for the value law */
    double import_price_per_kwh, feed_in_per_kwh;
    struct balkon_opt_value value;
};

struct control {
    struct balkon_ctx *ctx;
    uv_timer_t watchdog;
    struct balkon_ctl ctl;
    char battery_id[BALKON_ID_MAX];
    double battery_w, soc_pct, pv_w, battery_voltage_v;
    bool battery_offline; /* then no commands: they would only fail; the event is raised */
    double grid_w;
    int64_t meter_ts_ms;
    struct planned_slot plan[MAX_PLAN_SLOTS];
    size_t plan_count;
    uint64_t commands_sent;
    uint64_t failsafes; /* entries into failsafe, for the API: a quiet meter should be rare */
    int64_t last_command_ms;
    enum balkon_ctl_state last_state;
    double target_override_w; /* from control.set_grid_target; NAN: the config's */
    double clear_sky_w;       /* the site's PV under a clear sky over the next minute */
    int64_t clear_sky_ts_ms;  /* when it was computed; INT64_MIN: not yet (or stale) */
};

static void params_from_config(const struct balkon_config *config, struct balkon_ctl_params *p)
{
    balkon_ctl_params_init(p);
    p->target_grid_w = config->control.target_grid_w;
    p->deadband_w = config->control.deadband_w;
    p->max_step_w = config->control.max_step_w;
    p->settle_s = config->control.settle_s;
    p->meter_stale_s = config->control.meter_stale_s;
    p->safe_output_w = config->control.safe_output_w;
    p->max_charge_w = config->battery.max_charge_w;
    p->max_discharge_w = config->battery.max_discharge_w;
    p->ac_limit_w = config->inverter.ac_limit_w;
    p->soc_min_pct = config->battery.soc_min_pct;
    p->soc_max_pct = config->battery.soc_max_pct;
    p->min_voltage_v = config->control.min_battery_voltage_v;
    if (config->control.inverter[0]) {
        p->max_charge_w = 0.0;
        p->max_discharge_w = config->inverter.ac_limit_w;
        p->soc_min_pct = 0.0;
        p->soc_max_pct = 100.0;
        p->min_voltage_v = 0.0;
    }
}

/* The plan's command for the slot holding now_ms; self-consumption without a plan. */
static const struct planned_slot *current_slot(const struct control *c, int64_t now_ms)
{
    for (size_t i = 0; i < c->plan_count; i++)
        if (now_ms >= c->plan[i].ts_ms && now_ms < c->plan[i].ts_ms + BALKON_SLOT_MS)
            return &c->plan[i];
    return NULL;
}

static void publish_status(struct control *c, int64_t now_ms, const char *mode)
{
    const struct balkon_config *config = c->ctx->config;
    struct ev_control_status status = {
        .ts_ms = now_ms,
        .enabled = config->control.enabled,
        .target_w = c->ctl.params.target_grid_w,
        .grid_w = c->grid_w,
        .error_w = c->ctl.error_w,
        .setpoint_w = c->commands_sent ? c->ctl.setpoint_w : NAN,
        .battery_w = c->battery_w,
        .commands_sent = c->commands_sent,
        .failsafes = c->failsafes,
        .last_command_ts_ms = c->commands_sent ? c->last_command_ms : INT64_MIN,
    };
    snprintf(status.battery_id, sizeof status.battery_id, "%s", c->battery_id);
    snprintf(status.mode, sizeof status.mode, "%s", mode);
    snprintf(status.state, sizeof status.state, "%s",
             !config->control.enabled || !c->battery_id[0] ? "off"
             : c->battery_offline                          ? "battery_offline"
                                                           : balkon_ctl_state_name(c->ctl.state));
    balkon_bus_publish(c->ctx->bus, BUS_EV_CONTROL_STATUS, &status);
}

/* Runs the slot by the plan's values (the value law, balkon_opt_value_command, which the
 * replay runs too): from the PV and load measured now, taken as the rest of the slot's
 * means, the command that minimises the slot's money plus the value of the SoC reached.
 * Without PV, SoC or a meter reading the plan's mode stands. */
static void by_value(const struct control *c, const struct planned_slot *slot, int64_t now_ms,
                     enum balkon_ctl_mode *mode, double *mode_power_w)
{
    const struct balkon_config *config = c->ctx->config;
    if (!isfinite(c->pv_w) || !isfinite(c->soc_pct) || !isfinite(c->grid_w))
        return;
    struct balkon_opt_battery battery;
    balkon_battery_from_config(config, &battery);
    double battery_w = isfinite(c->battery_w) ? c->battery_w : 0.0;
    struct balkon_opt_slot measured = {
        .import_price_per_kwh = slot->import_price_per_kwh,
        .feed_in_per_kwh = slot->feed_in_per_kwh,
        .pv_w = fmax(0.0, c->pv_w),
        .load_w = fmax(0.0, c->pv_w + battery_w + c->grid_w),
    };
    int64_t left_ms = slot->ts_ms + BALKON_SLOT_MS - now_ms;
    int left_s = left_ms < 60000 ? 60 : (int)(left_ms / 1000);
    enum balkon_opt_mode planned = BALKON_OPT_IDLE;
    balkon_opt_mode_parse(slot->plan_mode, &planned);
    struct balkon_opt_command command = balkon_opt_value_command(
        &battery, &measured, left_s, c->soc_pct / 100.0 * battery.capacity_wh, &slot->value,
        balkon_opt_command_follow(&battery, (struct balkon_opt_command){planned, 0.0}));
    /* The controller's modes do what balkon_opt_step does with these commands; a limit
     * below the battery's becomes the mode's power bound. */
    switch (command.mode) {
    case BALKON_OPT_DISCHARGE:
        *mode = command.limit_w >= battery.max_discharge_w ? BALKON_CTL_SELF_CONSUMPTION
                                                           : BALKON_CTL_DISCHARGE;
        break;
    case BALKON_OPT_CHARGE:
        *mode = BALKON_CTL_CHARGE;
        break;
    case BALKON_OPT_GRID_CHARGE:
        *mode = BALKON_CTL_GRID_CHARGE;
        break;
    case BALKON_OPT_HOLD:
        *mode = BALKON_CTL_HOLD;
        break;
    default:
        *mode = BALKON_CTL_IDLE;
        break;
    }
    double max_w =
        command.mode == BALKON_OPT_DISCHARGE ? battery.max_discharge_w : battery.max_charge_w;
    *mode_power_w = command.limit_w > 0.0 && command.limit_w < max_w ? command.limit_w : 0.0;
    if (*mode == BALKON_CTL_GRID_CHARGE && *mode_power_w == 0.0)
        *mode_power_w = battery.max_charge_w;
}

/* The PV a cloud's edge could uncover within one device latency: the configured site's PV
 * under a clear sky (the simulator's model, as the sim_solar forecast uses), a little
 * more for the edge's brightening, at most the inverter's limit. NAN without PV planes.
 * The controller bounds discharge by it (docs/control.md, "The cap while PV jumps"). */
static double pv_potential_w(struct control *c, int64_t now_ms)
{
    const struct balkon_config *config = c->ctx->config;
    if (config->pv.plane_count == 0)
        return NAN;
    if (c->clear_sky_ts_ms != INT64_MIN && now_ms >= c->clear_sky_ts_ms &&
        now_ms - c->clear_sky_ts_ms < CLEAR_SKY_EVERY_MS)
        return c->clear_sky_w;
    struct sim_params params;
    balkon_sim_params_from_config(config, 50, &params);
    params.cloudiness = 0;
    params.battery_capacity_wh = 0;
    struct sim_world *world = sim_world_new(&params, now_ms);
    c->clear_sky_ts_ms = now_ms;
    c->clear_sky_w = NAN; /* the PV model refused the site: no bound, until it changes */
    if (world) {
        struct sim_snapshot snapshot;
        sim_world_step(world, now_ms + CLEAR_SKY_EVERY_MS, &snapshot);
        double potential_w = snapshot.pv_w * CLOUD_EDGE_FACTOR;
        if (config->inverter.ac_limit_w > 0)
            potential_w = fmin(potential_w, config->inverter.ac_limit_w);
        c->clear_sky_w = potential_w;
        sim_world_free(world);
    }
    return c->clear_sky_w;
}

static void step(struct control *c)
{
    const struct balkon_config *config = c->ctx->config;
    int64_t now_ms = balkon_clock_now_ms(&c->ctx->clock);
    bool inverter_mode = config->control.inverter[0] != '\0';
    const struct planned_slot *slot = inverter_mode ? NULL : current_slot(c, now_ms);
    enum balkon_ctl_mode mode = slot ? slot->mode : BALKON_CTL_SELF_CONSUMPTION;
    double mode_power_w = slot && mode == BALKON_CTL_GRID_CHARGE ? fabs(slot->power_w) : 0;
    if (slot && slot->value.valid)
        by_value(c, slot, now_ms, &mode, &mode_power_w);
    if (!config->control.enabled || !c->battery_id[0] || c->meter_ts_ms == INT64_MIN ||
        c->battery_offline) {
        if (c->meter_ts_ms != INT64_MIN)
            publish_status(c, now_ms, balkon_ctl_mode_name(mode));
        return;
    }
    struct balkon_ctl_input in = {
        .now_s = (double)now_ms / 1000.0,
        .grid_w = c->grid_w,
        .meter_ts_s = (double)c->meter_ts_ms / 1000.0,
        .battery_w = c->battery_w,
        .pv_w = inverter_mode ? 0.0 : c->pv_w,
        .pv_potential_w = inverter_mode ? NAN : pv_potential_w(c, now_ms),
        .soc_pct = inverter_mode ? NAN : c->soc_pct,
        .battery_voltage_v = c->battery_voltage_v,
        .mode = mode,
        .mode_power_w = mode_power_w,
    };
    double setpoint_w;
    if (balkon_ctl_step(&c->ctl, &in, &setpoint_w)) {
        struct device_command command = {.value = setpoint_w};
        snprintf(command.device_id, sizeof command.device_id, "%s", c->battery_id);
        snprintf(command.command, sizeof command.command, "%s",
                 inverter_mode ? "limit" : "setpoint");
        snprintf(command.source, sizeof command.source, "control");
        c->commands_sent++;
        c->last_command_ms = now_ms;
        char why[128]; /* a refusal is logged by the devices module, as its result */
        balkon_command_send(c->ctx->services, &command, why, sizeof why);
    }
    if (c->ctl.state != c->last_state) {
        if (c->ctl.state == BALKON_CTL_FAILSAFE)
            c->failsafes++;
        if (c->ctl.state == BALKON_CTL_FAILSAFE)
            log_warn("control", "no meter reading for %.0f s: failsafe, battery at %.0f W",
                     in.now_s - in.meter_ts_s, c->ctl.setpoint_w);
        else if (c->last_state == BALKON_CTL_FAILSAFE)
            log_notice("control", "meter readings are back: tracking %+.0f W again",
                       c->ctl.params.target_grid_w);
        c->last_state = c->ctl.state;
    }
    publish_status(c, now_ms, balkon_ctl_mode_name(mode));
}

/* How a slot's plan is run against what really happens (as balkon_opt_command_follow
 * does in the replay): "discharge" covers the load and also stores surplus the forecast
 * missed (export earns nothing); "idle" becomes "hold"; the others stay. */
static enum balkon_ctl_mode control_mode(const char *plan_mode)
{
    enum balkon_ctl_mode mode = balkon_ctl_mode_from_name(plan_mode);
    if (mode == BALKON_CTL_DISCHARGE)
        return BALKON_CTL_SELF_CONSUMPTION;
    if (mode == BALKON_CTL_IDLE)
        return BALKON_CTL_HOLD;
    return mode;
}

static double value_of(const struct ev_device_state *state, const char *name)
{
    for (size_t i = 0; i < state->value_count; i++)
        if (strcmp(state->values[i].name, name) == 0)
            return state->values[i].value;
    return NAN;
}

static void on_event(enum bus_event event, const void *payload, void *user)
{
    struct control *c = user;
    switch (event) {
    case BUS_EV_CLOCK_JUMPED: {
        int64_t jump_ms = ((const struct ev_clock_jumped *)payload)->jump_ms;
        if (c->meter_ts_ms != INT64_MIN)
            c->meter_ts_ms += jump_ms;
        c->last_command_ms += jump_ms;
        balkon_ctl_shift(&c->ctl, (double)jump_ms / 1000.0);
        break;
    }
    case BUS_EV_METER_READING: {
        const struct ev_meter_reading *reading = payload;
        c->grid_w = reading->grid_w;
        c->meter_ts_ms = reading->ts_ms;
        step(c);
        break;
    }
    case BUS_EV_DEVICE_STATE: {
        const struct ev_device_state *state = payload;
        const char *wanted = c->ctx->config->control.battery;
        const char *inverter = c->ctx->config->control.inverter;
        if (inverter[0]) {
            if (strcmp(state->device_id, inverter) == 0) {
                snprintf(c->battery_id, sizeof c->battery_id, "%s", state->device_id);
                c->battery_offline = !state->online;
                c->battery_w = state->online ? value_of(state, "power_w") : NAN;
            }
            break;
        }
        if ((state->roles & DEVICE_ROLE_BATTERY) &&
            (wanted[0] ? strcmp(state->device_id, wanted) == 0
                       : !c->battery_id[0] || strcmp(state->device_id, c->battery_id) == 0)) {
            snprintf(c->battery_id, sizeof c->battery_id, "%s", state->device_id);
            c->battery_offline = !state->online;
            c->battery_w = state->online ? value_of(state, "power_w") : NAN;
            c->soc_pct = state->online ? value_of(state, "soc_pct") : NAN;
            c->battery_voltage_v = state->online ? value_of(state, "voltage_v") : NAN;
        }
        if (state->roles & DEVICE_ROLE_INVERTER)
            c->pv_w = value_of(state, "power_w");
        break;
    }
    case BUS_EV_PLAN: {
        const struct ev_plan *plan = payload;
        bool self_consumption = strcmp(plan->strategy, "self_consumption") == 0;
        c->plan_count = plan->count < MAX_PLAN_SLOTS ? plan->count : MAX_PLAN_SLOTS;
        for (size_t i = 0; i < c->plan_count; i++) {
            const struct balkon_plan_slot_row *row = &plan->slots[i];
            struct planned_slot *slot = &c->plan[i];
            *slot = (struct planned_slot){
                .ts_ms = row->slot_ts_ms,
                .mode = self_consumption ? BALKON_CTL_SELF_CONSUMPTION : control_mode(row->mode),
                .power_w = row->battery_w,
                .import_price_per_kwh = row->price_per_kwh,
                .feed_in_per_kwh = row->feed_in_per_kwh,
                .value = {.valid = row->value_valid && !self_consumption,
                          .soc_wh = row->value_soc_wh,
                          .charge_per_kwh = row->value_charge_per_kwh,
                          .discharge_per_kwh = row->value_discharge_per_kwh},
            };
            snprintf(slot->plan_mode, sizeof slot->plan_mode, "%s", row->mode);
        }
        break;
    }
    case BUS_EV_CONFIG_CHANGED: {
        const struct ev_config_changed *changed = payload;
        /* A run-time target holds until the config's own target changes. */
        if (changed->previous &&
            changed->previous->control.target_grid_w != changed->config->control.target_grid_w)
            c->target_override_w = NAN;
        struct balkon_ctl_params params;
        params_from_config(c->ctx->config, &params);
        if (isfinite(c->target_override_w))
            params.target_grid_w = c->target_override_w;
        c->ctl.params = params;
        c->clear_sky_ts_ms = INT64_MIN; /* the site or its planes may have changed */
        break;
    }
    default:
        break;
    }
}

static void watchdog_cb(uv_timer_t *timer)
{
    step(timer->data);
}

/* The control.set_grid_target service (Home Assistant's number). */
static int set_grid_target(void *self, double target_grid_w, const char *source, char *msg,
                           size_t msg_size)
{
    struct control *c = self;
    if (!isfinite(target_grid_w) || target_grid_w < -800 || target_grid_w > 800) {
        snprintf(msg, msg_size, "must be -800..800 W, got %g", target_grid_w);
        return BALKON_E_RANGE;
    }
    c->target_override_w = target_grid_w;
    c->ctl.params.target_grid_w = target_grid_w;
    log_notice("control", "grid target set to %+.0f W by %s", target_grid_w, source);
    return 0;
}

static const struct bus_subscription subscriptions[] = {
    {BUS_EV_METER_READING, on_event},  {BUS_EV_DEVICE_STATE, on_event}, {BUS_EV_PLAN, on_event},
    {BUS_EV_CONFIG_CHANGED, on_event}, {BUS_EV_CLOCK_JUMPED, on_event},
};
#define SUBSCRIPTION_COUNT (sizeof subscriptions / sizeof subscriptions[0])

static int control_start(struct balkon_ctx *ctx, void **state)
{
    struct control *c = calloc(1, sizeof *c);
    if (!c)
        return BALKON_E_NOMEM;
    c->ctx = ctx;
    c->battery_w = c->soc_pct = c->pv_w = c->grid_w = c->battery_voltage_v = NAN;
    c->meter_ts_ms = INT64_MIN;
    c->target_override_w = NAN;
    c->clear_sky_ts_ms = INT64_MIN;
    struct balkon_ctl_params params;
    params_from_config(ctx->config, &params);
    balkon_ctl_init(&c->ctl, &params);
    c->last_state = c->ctl.state;
    int rc = balkon_bus_subscribe_all(ctx->bus, subscriptions, SUBSCRIPTION_COUNT, c);
    if (rc < 0) {
        free(c);
        return rc;
    }
    uv_timer_init(ctx->loop, &c->watchdog);
    c->watchdog.data = c;
    uint64_t period_ms = balkon_clock_wall_ms(&ctx->clock, WATCHDOG_MS);
    uv_timer_start(&c->watchdog, watchdog_cb, period_ms ? period_ms : 1, period_ms ? period_ms : 1);
    if (ctx->services) {
        ctx->services->control.set_grid_target = set_grid_target;
        ctx->services->control.self = c;
    }
    *state = c;
    return 0;
}

static void control_stop(void *state)
{
    struct control *c = state;
    if (c->ctx->services)
        c->ctx->services->control.self = NULL;
    balkon_bus_unsubscribe_all(c->ctx->bus, subscriptions, SUBSCRIPTION_COUNT, c);
    uv_close((uv_handle_t *)&c->watchdog, NULL);
}

const struct balkon_module balkon_module_control = {
    .name = "control",
    .start = control_start,
    .stop = control_stop,
    .free = free,
};
