/* The real-time controller (include/balkon/controller.h): one meter reading in, at most one
 * battery setpoint out.
 *
 * The control law. A battery that has settled at power b while the meter reads grid g
 * tells us what the home needs from it: need = b + g − target, because home = pv + b + g
 * and only b moves. The new setpoint is that need, approached with `gain` when the battery
 * has to work harder (and by at most max_step_w per command) but taken whole when it backs
 * off: a late cut exports for free, a hasty one only imports for a moment. Discharging
 * aims at target_grid_w (+20 W), so that the battery never pushes the grid into export.
 * Charging from surplus in self-consumption aims at charge_target_grid_w (+10 W): a watt
 * exported while charging is lost, one imported is stored at the round trip's loss
 * (docs/control.md, "Choosing the targets"); the plan's charging modes aim at
 * min(target, 0) − deadband, never importing. Between the two targets the battery rests.
 *
 * Latency. A setpoint shows in the battery's output only after its dead time and ramp, and
 * in the meter only after the meter's own delay. Reacting to readings taken before then
 * counts the same error twice: that is how the proportional loops of this field oscillate.
 * So after every command the controller is unsettled until
 *   - the battery has shown the setpoint: its measured power got at least halfway and
 *     within tolerance, or has stopped moving after the settle time (without a measured
 *     power: the settle time has passed), and
 *   - a reading at least the meter delay younger than that moment has arrived, and it
 *     agrees with the one before (a meter later than we think still shows the ramp).
 * The settle time and the meter delay are the configured ones or, when longer, the ones
 * learned from the commands themselves: the time from a command to the battery's first
 * measured move, and from that move to the first reading that shows it (without a
 * measured power: from the command to that reading). A user who leaves the defaults gets
 * a loop tuned to the device after its first few commands.
 *
 * While unsettled the controller does not know which of the battery powers since the
 * last settled moment (span_lo_w..span_hi_w, commanded or measured) a reading reflects,
 * so it acts only when the law gives a move beyond the deadband, in the same direction,
 * for every one of them, and then takes the smallest such move. A kettle is answered at
 * once; the loop's own past corrections are never answered twice. A battery that starts
 * moving when the controller thought it settled (it was slower than expected, its BMS
 * derates it) unsettles the controller the same way.
 *
 * Reference. Settled, the law starts from the setpoint when the battery delivers it
 * within tolerance (so a device that always delivers a little less is corrected, as an
 * integrator would), and from the measured power when it does not (a battery held back
 * by its SoC, its temperature or its own limits winds nothing up).
 *
 * Hard limits (mode, power, SoC, AC cap) bound every setpoint. When the setpoint in force
 * breaks a limit (PV rose under the cap, the SoC reached a bound, the plan changed the
 * mode) the controller moves to the limit at once, without waiting or slewing. Tracking
 * stays deadband_w below the cap so that small PV changes do not force commands, and
 * further below by how far PV has lately climbed within one loop delay. While the sun has
 * lately been out, discharge also stays within what the cap leaves beside the PV
 * potential (the clear sky's PV): a cloud's edge outruns any cut. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "balkon/controller.h"

/* Discharging stopped at soc_min starts again only this much above it: a SoC estimate
 * jitters under load, and the cells should not be cycled at the bottom on every tick. */
#define SOC_HYSTERESIS_PCT 1.0
/* A sagging voltage recovers under a lighter load; only well above the limit counts. */
#define VOLTAGE_HYSTERESIS_V 0.5
#define EPS_W 0.5
#define MAX_DEAD_TIME_S 30.0 /* longer is no answer (a Hoymiles takes ~18-25 s) */
#define MAX_METER_LAG_S 10.0 /* longer is a load change, not the meter */
/* The cap's extra margin for climbing PV never takes more than this from the battery. */
#define MAX_CAP_MARGIN_W 100.0
/* The PV potential bounds discharge only while the sun has lately come through (PV at
 * this share of the potential within this long): under an overcast sky no edge uncovers
 * it, and the bound would only cost import (docs/control.md, "The cap while PV jumps"). */
#define SUN_SHARE 0.7
#define SUN_MEMORY_S 600.0
/* How long a PV climb is remembered (clouds thin and thicken over minutes). */
#define PV_CLIMB_MEMORY_S 600.0

/* Before the device answers, a further move must exceed this many deadbands (75 W):
 * measured on bench_control, docs/control.md. */
#define PENDING_MOVE_DEADBANDS 5.0

struct bounds {
    double lo, hi;  /* where tracking may put the setpoint */
    double hi_hard; /* above this the setpoint in force must go at once */
};

static double clamp(double x, double lo, double hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

void balkon_ctl_params_init(struct balkon_ctl_params *params)
{
    *params = (struct balkon_ctl_params){
        .target_grid_w = 20.0,
        .charge_target_grid_w = 10.0,
        .deadband_w = 15.0,
        .max_step_w = 800.0,
        .gain = 1.0,
        .settle_s = 3.0,
        .meter_delay_s = 2.0,
        .min_interval_s = 1.0,
        .max_charge_w = 800.0,
        .max_discharge_w = 800.0,
        .ac_limit_w = 800.0,
        .soc_min_pct = 10.0,
        .soc_max_pct = 100.0,
        .meter_stale_s = 15.0,
        .safe_output_w = 0.0,
    };
}

void balkon_ctl_init(struct balkon_ctl *ctl, const struct balkon_ctl_params *params)
{
    *ctl = (struct balkon_ctl){0};
    if (params)
        ctl->params = *params;
    else
        balkon_ctl_params_init(&ctl->params);
    ctl->last_command_s = -INFINITY;
    ctl->state = BALKON_CTL_TRACKING;
    ctl->error_w = NAN;
    ctl->last_meter_ts_s = -INFINITY;
    ctl->shown_s = INFINITY;
    ctl->last_battery_w = NAN;
    ctl->last_grid_w = NAN;
    ctl->unanswered_since_s = NAN;
    ctl->unanswered_from_w = NAN;
    ctl->unanswered_grid_w = NAN;
    ctl->probe_s = NAN;
    ctl->pv_last_w = NAN;
    ctl->pv_ts_s = -INFINITY;
    ctl->sun_seen_s = -INFINITY;
    ctl->settled = true;
}

/* How far the measured power may sit from the setpoint and still count as delivering it:
 * devices are rarely exact, least so at low power. */
static double tolerance_w(const struct balkon_ctl *ctl)
{
    return fmax(2.0 * ctl->params.deadband_w, 0.05 * fabs(ctl->setpoint_w));
}

static void update_voltage(struct balkon_ctl *ctl, double voltage_v)
{
    const struct balkon_ctl_params *p = &ctl->params;
    if (!(p->min_voltage_v > 0) || !isfinite(voltage_v))
        return;
    if (voltage_v <= p->min_voltage_v)
        ctl->voltage_low = true;
    else if (voltage_v >= p->min_voltage_v + VOLTAGE_HYSTERESIS_V)
        ctl->voltage_low = false;
}

static void update_soc(struct balkon_ctl *ctl, double soc_pct)
{
    const struct balkon_ctl_params *p = &ctl->params;
    if (!isfinite(soc_pct))
        return;
    if (soc_pct <= p->soc_min_pct)
        ctl->soc_low = true;
    else if (soc_pct >= p->soc_min_pct + SOC_HYSTERESIS_PCT)
        ctl->soc_low = false;
    /* No hysteresis at the top: a battery a little below full should take the surplus
     * that would otherwise be exported, and nothing flaps there (only PV and load move
     * the SoC across the bound, not the controller). */
    ctl->soc_high = soc_pct >= p->soc_max_pct;
}

static void compute_bounds(struct balkon_ctl *ctl, const struct balkon_ctl_input *in,
                           struct bounds *b)
{
    const struct balkon_ctl_params *p = &ctl->params;
    double max_ch = fmax(p->max_charge_w, 0.0);
    double max_dis = fmax(p->max_discharge_w, 0.0);
    double limit =
        isfinite(in->mode_power_w) && in->mode_power_w > 0.0 ? in->mode_power_w : INFINITY;
    double ch = fmin(max_ch, limit), dis = fmin(max_dis, limit);

    switch (in->mode) {
    case BALKON_CTL_IDLE:
        b->lo = b->hi = 0.0;
        break;
    case BALKON_CTL_CHARGE:
    case BALKON_CTL_HOLD:
        b->lo = -ch;
        b->hi = 0.0;
        break;
    case BALKON_CTL_DISCHARGE:
        b->lo = 0.0;
        b->hi = dis;
        break;
    case BALKON_CTL_GRID_CHARGE:
        b->lo = -max_ch;
        b->hi = -ch;
        break;
    case BALKON_CTL_SELF_CONSUMPTION:
    default:
        b->lo = -ch;
        b->hi = dis;
        break;
    }

    update_soc(ctl, in->soc_pct);
    update_voltage(ctl, in->battery_voltage_v);
    if (ctl->soc_low || ctl->voltage_low) {
        b->hi = fmin(b->hi, 0.0);
        b->lo = fmin(b->lo, b->hi);
    }
    if (ctl->soc_high) {
        b->lo = fmax(b->lo, 0.0);
        b->hi = fmax(b->hi, b->lo);
    }

    double pv_w = isfinite(in->pv_w) ? fmax(in->pv_w, 0.0) : 0.0;
    double cap_w = fmax(p->ac_limit_w - pv_w, 0.0);
    b->hi_hard = fmin(b->hi, cap_w);
    /* Riding the cap, PV's own climb during one loop delay would carry the output over it
     * before the next cut lands: keep that much more clear, as PV lately climbed. */
    double margin_w = p->deadband_w + fmin(ctl->pv_climb_w, MAX_CAP_MARGIN_W);
    b->hi = fmin(b->hi, fmax(cap_w - margin_w, 0.0));
    /* A cloud's edge lifts PV by hundreds of watts within seconds, faster than any reading
     * and command can follow: discharge only what leaves room for the PV that could appear
     * within one device latency. It binds only where that PV and the discharge together
     * reach the cap, i.e. at high sun, where the battery's share is small anyway. */
    if (isfinite(in->pv_potential_w) && in->pv_potential_w > 0.0 &&
        pv_w >= SUN_SHARE * in->pv_potential_w)
        ctl->sun_seen_s = in->now_s;
    bool sun_lately = in->now_s - ctl->sun_seen_s <= SUN_MEMORY_S;
    if (sun_lately && isfinite(in->pv_potential_w) && in->pv_potential_w > pv_w) {
        double room_w = fmax(p->ac_limit_w - in->pv_potential_w, 0.0);
        b->hi_hard = fmin(b->hi_hard, room_w);
        b->hi = fmin(b->hi, room_w);
    }
    b->lo = fmin(b->lo, b->hi);
}

/* The learned values rise at once and sink slowly, so that one quick answer does not undo
 * the lesson of a slow one. */
static void learn(double *estimate_s, double seen_s)
{
    if (!(seen_s >= 0.0))
        return;
    if (seen_s > *estimate_s)
        *estimate_s = seen_s;
    else
        *estimate_s += 0.2 * (seen_s - *estimate_s);
}

/* Learns the loop's delays from the commands themselves: the device's dead time (from the
 * oldest unanswered command to the battery's first measured move towards the setpoint)
 * and the meter's lag behind the battery's measurement (from that move to the first
 * reading that shows it). */
static void learn_delays(struct balkon_ctl *ctl, double b, double now_s, bool fresh, double grid_w)
{
    const struct balkon_ctl_params *p = &ctl->params;
    if (isfinite(ctl->probe_s) && fresh) {
        double shown_w = (ctl->probe_grid_w - grid_w) * (ctl->probe_w > 0.0 ? 1.0 : -1.0);
        if (now_s - ctl->probe_s > MAX_METER_LAG_S) {
            ctl->probe_s = NAN;
        } else if (shown_w >= 0.8 * fabs(ctl->probe_w)) {
            learn(&ctl->meter_lag_s, now_s - ctl->probe_s);
            ctl->probe_s = NAN;
        }
    }
    if (!isfinite(ctl->unanswered_since_s) || !isfinite(ctl->unanswered_from_w))
        return;
    if (now_s - ctl->unanswered_since_s > MAX_DEAD_TIME_S) {
        ctl->unanswered_since_s = NAN; /* held back (SoC, cap, its own limits): no answer */
        return;
    }
    double asked_w = ctl->setpoint_w - ctl->unanswered_from_w;
    if (fabs(asked_w) <= 2.0 * p->deadband_w)
        return;
    double sign = asked_w > 0.0 ? 1.0 : -1.0;
    double enough_w = fmax(p->deadband_w, 0.25 * fabs(asked_w));
    if (!isfinite(b)) {
        /* No measured power: the first reading that shows the move gives the whole loop's
         * delay, which is all the waiting needs. */
        if (fresh && isfinite(ctl->unanswered_grid_w) &&
            (ctl->unanswered_grid_w - grid_w) * sign > enough_w) {
            learn(&ctl->dead_time_s, now_s - ctl->unanswered_since_s);
            ctl->unanswered_since_s = NAN;
        }
        return;
    }
    if ((b - ctl->unanswered_from_w) * sign <= enough_w)
        return;
    learn(&ctl->dead_time_s, now_s - ctl->unanswered_since_s);
    if (isfinite(ctl->unanswered_grid_w)) {
        ctl->probe_s = now_s;
        ctl->probe_w = b - ctl->unanswered_from_w;
        ctl->probe_grid_w = ctl->unanswered_grid_w;
    }
    ctl->unanswered_since_s = NAN;
}

/* How far PV climbs within one loop delay (the battery's latency, the meter's delay and a
 * reading), the most seen lately: steady climbs, not jumps (no margin a battery can
 * afford absorbs a cloud's edge). */
static void learn_pv_climb(struct balkon_ctl *ctl, const struct balkon_ctl_input *in)
{
    const struct balkon_ctl_params *p = &ctl->params;
    if (!isfinite(in->pv_w) || !isfinite(in->meter_ts_s))
        return;
    double dt_s = in->meter_ts_s - ctl->pv_ts_s;
    if (!(dt_s > 0.0))
        return;
    if (isfinite(ctl->pv_last_w) && dt_s <= 60.0) {
        double delay_s = fmax(p->settle_s, ctl->dead_time_s + 1.0) +
                         fmax(p->meter_delay_s, ctl->meter_lag_s) + p->min_interval_s;
        double rate_w_per_s = fmax(in->pv_w - ctl->pv_last_w, 0.0) / dt_s;
        ctl->pv_climb_w *= exp(-dt_s / PV_CLIMB_MEMORY_S);
        if (rate_w_per_s * delay_s <= MAX_CAP_MARGIN_W) /* a jump is not a climb */
            ctl->pv_climb_w = fmax(ctl->pv_climb_w, rate_w_per_s * delay_s);
    }
    ctl->pv_last_w = in->pv_w;
    ctl->pv_ts_s = in->meter_ts_s;
}

/* Keeps the settling bookkeeping up to date with the battery's measured power b and, when
 * fresh, the meter reading grid_w. */
static void observe(struct balkon_ctl *ctl, double b, double now_s, bool fresh, double grid_w)
{
    const struct balkon_ctl_params *p = &ctl->params;
    bool known = isfinite(b);
    bool moving =
        known && isfinite(ctl->last_battery_w) && fabs(b - ctl->last_battery_w) > p->deadband_w;

    learn_delays(ctl, b, now_s, fresh, grid_w);
    if (ctl->settled && moving) {
        /* The battery moves after all (later than we waited, or by itself); readings lag
         * behind it until it stops, and it may be heading for the setpoint. */
        ctl->settled = false;
        ctl->shown_s = INFINITY;
        ctl->waiting_since_s = now_s;
        ctl->span_lo_w = fmin(fmin(ctl->span_lo_w, ctl->last_battery_w), ctl->setpoint_w);
        ctl->span_hi_w = fmax(fmax(ctl->span_hi_w, ctl->last_battery_w), ctl->setpoint_w);
    }
    if (!ctl->settled) {
        if (known) {
            ctl->span_lo_w = fmin(ctl->span_lo_w, b);
            ctl->span_hi_w = fmax(ctl->span_hi_w, b);
        }
        double since_s = now_s - ctl->last_command_s;
        double settle_s = fmax(p->settle_s, ctl->dead_time_s + 1.0);
        if (isinf(ctl->shown_s)) {
            if (known) {
                double step_w = fabs(ctl->setpoint_w - ctl->previous_setpoint_w);
                double tol_w = fmax(fmin(tolerance_w(ctl), step_w / 2.0), 1.0);
                bool reached = fabs(b - ctl->setpoint_w) <= tol_w;
                bool stopped = since_s >= settle_s && !moving;
                if (reached || stopped)
                    ctl->shown_s = now_s;
            } else if (since_s >= settle_s) {
                ctl->shown_s = ctl->last_command_s + settle_s;
            }
        }
        /* The reading must also have stopped moving: if the meter is later than
         * meter_delay_s says, the battery's ramp is still passing through its readings.
         * The hard timeout keeps a battery or a home whose readings never rest (noise
         * above the deadband) from freezing the loop in the cautious mode. */
        bool reading_rests = fresh && isfinite(ctl->last_grid_w) &&
                             fabs(grid_w - ctl->last_grid_w) <= 2.0 * p->deadband_w;
        double meter_delay_s = fmax(p->meter_delay_s, ctl->meter_lag_s);
        if ((reading_rests && ctl->last_meter_ts_s >= ctl->shown_s + meter_delay_s) ||
            now_s - ctl->waiting_since_s >= 3.0 * settle_s + meter_delay_s + 1.0)
            ctl->settled = true;
    }
    if (fresh)
        ctl->last_grid_w = grid_w;
    if (ctl->settled) {
        double ref = known && fabs(b - ctl->setpoint_w) > tolerance_w(ctl) ? b : ctl->setpoint_w;
        ctl->span_lo_w = ctl->span_hi_w = ref;
    }
    ctl->last_battery_w = b;
}

/* Where the grid should sit while charging. The plan's charging modes promise never to
 * import for it, so they keep a deadband below 0 W; self-consumption takes the measured
 * choice (docs/control.md, "Choosing the targets"). Never above the discharge target. */
static double charge_target(const struct balkon_ctl *ctl)
{
    const struct balkon_ctl_params *p = &ctl->params;
    if (ctl->mode == BALKON_CTL_SELF_CONSUMPTION && isfinite(p->charge_target_grid_w))
        return fmin(p->charge_target_grid_w, p->target_grid_w);
    return fmin(p->target_grid_w, 0.0) - p->deadband_w;
}

/* The setpoint the law asks for if the battery is at ref_w while the meter reads grid_w. */
static double law(const struct balkon_ctl *ctl, double ref_w, double grid_w)
{
    const struct balkon_ctl_params *p = &ctl->params;
    double gain = p->gain > 0.0 ? fmin(p->gain, 1.0) : 0.1;
    double t_dis = p->target_grid_w;
    double t_ch = charge_target(ctl);
    double need_dis = ref_w + grid_w - t_dis;
    double need_ch = ref_w + grid_w - t_ch;
    double need = need_dis > 0.0 ? need_dis : (need_ch < 0.0 ? need_ch : 0.0);

    if (need * ref_w > 0.0 && fabs(need) <= fabs(ref_w))
        return need; /* backing off: the whole error */
    if (need * ref_w > 0.0)
        return ref_w + gain * (need - ref_w);
    return gain * need; /* from rest, or after crossing 0 W */
}

/* The tracking setpoint for a fresh reading, within bounds and slew; NAN while the
 * reading cannot tell whether a move is needed. *limited says whether a bound cut it. */
static double track(struct balkon_ctl *ctl, double grid_w, const struct bounds *bd, bool *limited)
{
    const struct balkon_ctl_params *p = &ctl->params;
    double sp = ctl->setpoint_w;
    double target = sp < 0.0 ? charge_target(ctl) : p->target_grid_w;
    ctl->error_w = grid_w - target;

    double a = law(ctl, ctl->span_lo_w, grid_w);
    double b = law(ctl, ctl->span_hi_w, grid_w);
    double desired;
    if (ctl->settled || fabs(a - b) < EPS_W)
        desired = a;
    else if (fmin(a, b) > sp + p->deadband_w)
        desired = fmin(a, b);
    else if (fmax(a, b) < sp - p->deadband_w)
        desired = fmax(a, b);
    else
        return NAN;

    if (p->max_step_w > 0.0) {
        if (desired > 0.0)
            desired = fmin(desired, fmax(sp, 0.0) + p->max_step_w);
        else if (desired < 0.0)
            desired = fmax(desired, fmin(sp, 0.0) - p->max_step_w);
    }
    double bounded = clamp(desired, bd->lo, bd->hi);
    *limited = fabs(bounded - desired) > EPS_W;
    return bounded;
}

static bool command(struct balkon_ctl *ctl, double value_w, double now_s, double *setpoint_w)
{
    ctl->previous_setpoint_w = ctl->setpoint_w;
    ctl->setpoint_w = value_w;
    ctl->last_command_s = now_s;
    ctl->waiting_since_s = now_s;
    /* A command that continues the unanswered one's move keeps its start (the battery
     * answers the first); any other starts a new question. */
    double asked_w = ctl->previous_setpoint_w - ctl->unanswered_from_w;
    bool continues = isfinite(ctl->unanswered_since_s) &&
                     fabs(asked_w) > 2.0 * ctl->params.deadband_w &&
                     (value_w - ctl->previous_setpoint_w) * asked_w > 0.0;
    if (!continues) {
        ctl->unanswered_since_s = now_s;
        ctl->unanswered_from_w =
            isfinite(ctl->last_battery_w) ? ctl->last_battery_w : ctl->previous_setpoint_w;
        ctl->unanswered_grid_w = ctl->last_grid_w;
    }
    ctl->settled = false;
    ctl->shown_s = INFINITY;
    ctl->span_lo_w = fmin(ctl->span_lo_w, value_w);
    ctl->span_hi_w = fmax(ctl->span_hi_w, value_w);
    if (setpoint_w)
        *setpoint_w = value_w;
    return true;
}

bool balkon_ctl_step(struct balkon_ctl *ctl, const struct balkon_ctl_input *in, double *setpoint_w)
{
    const struct balkon_ctl_params *p = &ctl->params;
    double now_s = in->now_s;
    struct bounds bd;
    ctl->mode = in->mode;
    learn_pv_climb(ctl, in);
    compute_bounds(ctl, in, &bd);
    ctl->min_w = bd.lo;
    ctl->max_w = bd.hi;

    bool first = isinf(ctl->last_command_s);
    bool may_command = first || now_s - ctl->last_command_s >= p->min_interval_s;
    bool fresh =
        isfinite(in->grid_w) && isfinite(in->meter_ts_s) && in->meter_ts_s > ctl->last_meter_ts_s;
    if (fresh)
        ctl->last_meter_ts_s = in->meter_ts_s;
    double battery_w = isfinite(in->battery_w) ? in->battery_w : NAN;
    observe(ctl, battery_w, now_s, fresh, in->grid_w);

    if (!(now_s - ctl->last_meter_ts_s < p->meter_stale_s)) {
        double safe = isfinite(p->safe_output_w) ? p->safe_output_w : 0.0;
        safe = clamp(safe, 0.0, fmax(bd.hi, 0.0));
        bool entering = ctl->state != BALKON_CTL_FAILSAFE;
        ctl->state = BALKON_CTL_FAILSAFE;
        ctl->error_w = NAN;
        bool differs = fabs(safe - ctl->setpoint_w) > (entering ? EPS_W : p->deadband_w) ||
                       safe < ctl->setpoint_w - EPS_W;
        if (may_command && (first || differs))
            return command(ctl, safe, now_s, setpoint_w);
        return false;
    }

    bool limited = false;
    double desired = fresh ? track(ctl, in->grid_w, &bd, &limited) : NAN;
    double sp = ctl->setpoint_w;
    bool outside = sp > bd.hi_hard + EPS_W || sp < bd.lo - EPS_W;

    if (first || outside) {
        double from = isfinite(desired) ? desired : (first && isfinite(battery_w) ? battery_w : sp);
        ctl->state = BALKON_CTL_LIMITED;
        if (may_command)
            return command(ctl, clamp(from, bd.lo, bd.hi), now_s, setpoint_w);
        return false;
    }
    if (!fresh)
        return false; /* nothing new to act on; the state stands */
    if (!isfinite(desired)) {
        ctl->state = BALKON_CTL_SETTLING;
        return false;
    }
    if (fabs(desired - sp) <= p->deadband_w) {
        ctl->state = limited ? BALKON_CTL_LIMITED : BALKON_CTL_HOLDING;
        return false;
    }
    ctl->state = limited ? BALKON_CTL_LIMITED : BALKON_CTL_TRACKING;
    if (!may_command)
        return false;
    /* The device has not answered the last command yet (its measured power has not moved
     * towards it): only a real load step is worth another one. Flicker may be what the
     * pending command already covers, and a device that restarts its wait on every
     * command (the daemon's simulator; a DTU that drops a pending limit) would never
     * answer a loop that keeps correcting. */
    if (isfinite(ctl->unanswered_since_s) && now_s - ctl->unanswered_since_s < MAX_DEAD_TIME_S &&
        fabs(desired - sp) <= PENDING_MOVE_DEADBANDS * p->deadband_w) {
        ctl->state = BALKON_CTL_SETTLING;
        return false;
    }
    return command(ctl, desired, now_s, setpoint_w);
}

const char *balkon_ctl_state_name(enum balkon_ctl_state state)
{
    switch (state) {
    case BALKON_CTL_TRACKING:
        return "tracking";
    case BALKON_CTL_SETTLING:
        return "settling";
    case BALKON_CTL_HOLDING:
        return "holding";
    case BALKON_CTL_LIMITED:
        return "limited";
    case BALKON_CTL_FAILSAFE:
        return "failsafe";
    }
    return "?";
}

static const char *const mode_names[] = {
    [BALKON_CTL_IDLE] = "idle",
    [BALKON_CTL_CHARGE] = "charge",
    [BALKON_CTL_DISCHARGE] = "discharge",
    [BALKON_CTL_HOLD] = "hold",
    [BALKON_CTL_GRID_CHARGE] = "grid_charge",
    [BALKON_CTL_SELF_CONSUMPTION] = "self_consumption",
};

const char *balkon_ctl_mode_name(enum balkon_ctl_mode mode)
{
    if ((unsigned)mode < sizeof mode_names / sizeof mode_names[0])
        return mode_names[mode];
    return "?";
}

enum balkon_ctl_mode balkon_ctl_mode_from_name(const char *name)
{
    for (size_t i = 0; name && i < sizeof mode_names / sizeof mode_names[0]; i++)
        if (strcmp(name, mode_names[i]) == 0)
            return (enum balkon_ctl_mode)i;
    return BALKON_CTL_SELF_CONSUMPTION;
}

void balkon_ctl_shift(struct balkon_ctl *ctl, double jump_s)
{
    /* -inf, +inf and NAN (never, not yet, none) stay what they are. */
    ctl->last_command_s += jump_s;
    ctl->last_meter_ts_s += jump_s;
    ctl->shown_s += jump_s;
    ctl->waiting_since_s += jump_s;
    ctl->unanswered_since_s += jump_s;
    ctl->probe_s += jump_s;
    ctl->pv_ts_s += jump_s;
    ctl->sun_seen_s += jump_s;
}
