/* The real-time controller: turns each meter reading into a battery setpoint so that the
 * grid power tracks a target, in the mode the plan gives for the current slot.
 *
 * Pure: no I/O, no clock, no bus. The control module (src/control/control.c) calls it on
 * every meter reading; the tests and bench/bench_control.c call the same code on the
 * simulator. The control law, the waiting rules and their reasons are in docs/control.md.
 *
 * Signs (ours): grid_w + import / − export; battery_w and setpoint_w + discharge / −
 * charge (AC side); pv_w ≥ 0 is the PV inverter's AC output. */
#ifndef BALKON_CONTROLLER_H
#define BALKON_CONTROLLER_H

#include <stdbool.h>
#include <stdint.h>

/* What the plan asks for in the current slot (the optimizer's modes). */
enum balkon_ctl_mode {
    BALKON_CTL_IDLE = 0,         /* battery off */
    BALKON_CTL_CHARGE,           /* charge from surplus only (never import to charge) */
    BALKON_CTL_DISCHARGE,        /* cover the load (never export from the battery, never charge) */
    BALKON_CTL_HOLD,             /* never discharge; surplus charges */
    BALKON_CTL_GRID_CHARGE,      /* charge at mode_power_w even while importing; more from
                                    surplus that would otherwise be exported */
    BALKON_CTL_SELF_CONSUMPTION, /* both: charge surplus, cover load (no plan yet) */
};

struct balkon_ctl_params {
    double target_grid_w;        /* where the grid should sit while discharging (+20: a little
                                    import, no free export); while charging the target is
                                    min(target_grid_w, 0) − deadband_w, so that charging never
                                    imports */
    double charge_target_grid_w; /* where the grid should sit while charging from surplus
                                    in SELF_CONSUMPTION (+10: chosen by measured cost, see
                                    docs/control.md); NAN = as the charging modes:
                                    min(target_grid_w, 0) − deadband_w */
    double deadband_w;           /* setpoint changes of this size or less are not sent */
    double max_step_w;           /* slew limit: the largest step away from 0 W per command
                                    (steps towards 0 W are not limited) */
    double gain;                 /* share of the error corrected per command when the battery
                                    has to work harder, (0, 1]; backing off takes the whole
                                    error */
    double settle_s;             /* the battery's latency: how long until a setpoint shows in
                                    its measured power (dead time plus ramp) */
    double meter_delay_s;        /* how long after the battery has shown a change the meter
                                    reflects it (the meter's averaging plus transport; 0 when
                                    meter_ts_s already is the time the value was measured) */
    double min_interval_s;       /* never command more often than this */
    double max_charge_w;         /* battery limits, AC side */
    double max_discharge_w;
    double ac_limit_w;    /* PV + battery discharge through the connection (800) */
    double soc_min_pct;   /* no discharge at or below (until 1 % above again) */
    double soc_max_pct;   /* no charge at or above */
    double min_voltage_v; /* no discharge at or below this battery voltage (until
                             0.5 V above again); 0 = off. The SoC of a cold or aged
                             battery can read high while its voltage sags. */
    double meter_stale_s; /* no meter reading for this long: failsafe */
    double safe_output_w; /* setpoint in failsafe (clamped to 0..cap) */
};

/* Fills the defaults: target +20 W, charge target +10 W (self-consumption), deadband 15 W,
 * step 800 W, gain 1, settle 3 s, meter delay 2 s, interval 1 s, 800 W both ways and cap,
 * SoC 10..100 %, stale 15 s, safe output 0 W. */
void balkon_ctl_params_init(struct balkon_ctl_params *params);

struct balkon_ctl_input {
    double now_s;             /* monotonic seconds (simulated time in the daemon) */
    double grid_w;            /* the newest meter reading; NAN if none */
    double meter_ts_s;        /* when it was taken (or arrived); a reading is used once */
    double battery_w;         /* the battery's measured AC power; NAN if unknown */
    double pv_w;              /* the PV inverter's AC output; NAN if unknown (then the cap
                                 can only bound the battery alone) */
    double pv_potential_w;    /* the most PV that could appear within one device latency
                                 (a clear sky's, the forecast's); discharge is bounded
                                 to ac_limit_w minus it. 0 or NAN: unknown, no bound */
    double soc_pct;           /* NAN if unknown (the last known SoC blocks stay) */
    double battery_voltage_v; /* NAN if unknown */
    enum balkon_ctl_mode mode;
    double mode_power_w; /* GRID_CHARGE: the charge power (0 = the battery's limit);
                            others: an upper bound on |setpoint| (0 = the battery's
                            limit) */
};

enum balkon_ctl_state {
    BALKON_CTL_TRACKING = 0, /* following the target */
    BALKON_CTL_SETTLING,     /* waiting for the last setpoint to show */
    BALKON_CTL_HOLDING,      /* within the deadband: nothing to do */
    BALKON_CTL_LIMITED,      /* at a limit (power, SoC, cap, mode) */
    BALKON_CTL_FAILSAFE,     /* meter stale: safe output */
};

/* The controller's memory between calls; zero-initialise, then balkon_ctl_init. The
 * fields below `error_w` are the controller's own bookkeeping: read them for display if
 * useful, never write them. */
struct balkon_ctl {
    struct balkon_ctl_params params;
    double setpoint_w;         /* the last setpoint sent (0 before the first) */
    enum balkon_ctl_mode mode; /* the mode of the last step */
    double last_command_s;     /* when it was sent; -inf before the first */
    enum balkon_ctl_state state;
    double error_w;      /* grid − target at the last step (NAN in failsafe) */
    double min_w, max_w; /* the setpoint's bounds at the last step (mode, SoC, cap) */

    double previous_setpoint_w;  /* the setpoint before the last one */
    double last_meter_ts_s;      /* the newest reading used; -inf before the first */
    double shown_s;              /* when the battery showed the last setpoint; +inf not yet */
    double span_lo_w, span_hi_w; /* battery powers the meter's readings may still reflect */
    double last_battery_w;       /* measured at the previous step; NAN if unknown */
    double last_grid_w;          /* the previous meter reading; NAN before the first */
    double waiting_since_s;      /* when the current wait for the meter began */
    double dead_time_s;          /* learned: command to the battery's first move (0 = none yet) */
    double meter_lag_s;          /* learned: the battery's move to the reading showing it */
    double unanswered_since_s;   /* the oldest command the battery has not moved for; NAN */
    double unanswered_from_w;    /* the battery's measured power then */
    double unanswered_grid_w;    /* and the meter's reading then */
    double probe_s, probe_w, probe_grid_w; /* a battery move waiting to show in the meter */
    double pv_last_w, pv_ts_s; /* the previous PV reading and its time (NAN, -inf: none) */
    double pv_climb_w;         /* learned: how far PV climbs within one loop delay */
    double sun_seen_s;         /* when PV last reached 70 % of pv_potential_w; -inf never */
    bool settled;              /* the meter reflects the last setpoint */
    bool soc_low, soc_high;    /* SoC protection engaged (soc_low with 1 % hysteresis) */
    bool voltage_low;          /* voltage protection engaged */
};

void balkon_ctl_init(struct balkon_ctl *ctl, const struct balkon_ctl_params *params);

/* One step on a meter reading (or on a timer, to notice a stale meter, a new mode or a new
 * SoC). Returns true when a new setpoint should be sent (then *setpoint_w holds it); false
 * when the last one stands. The first step always returns true: the device may still hold
 * a setpoint from before a restart. */
bool balkon_ctl_step(struct balkon_ctl *ctl, const struct balkon_ctl_input *in, double *setpoint_w);

/* The clock the inputs come from jumped by jump_s: every time the controller remembers
 * moves with it, so waits and staleness go on as if nothing happened. */
void balkon_ctl_shift(struct balkon_ctl *ctl, double jump_s);

/* "tracking", "settling", "holding", "limited", "failsafe". */
const char *balkon_ctl_state_name(enum balkon_ctl_state state);
/* "idle", "charge", "discharge", "hold", "grid_charge", "self_consumption". */
const char *balkon_ctl_mode_name(enum balkon_ctl_mode mode);
/* Maps an optimizer mode name ("idle", "charge", "discharge", "hold", "grid_charge") to a
 * control mode; unknown names give SELF_CONSUMPTION. */
enum balkon_ctl_mode balkon_ctl_mode_from_name(const char *name);

#endif
