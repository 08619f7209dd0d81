/* The physics of one slot, shared by the dynamic programme and the simulation.
 *
 * Powers are slot means, AC side. pv_w is PV's AC potential before curtailment and the cap;
 * battery_w is + discharge / - charge; grid g = load - pv_used - battery_w (+ import).
 *
 * AC coupling: the micro-inverter delivers pv_used <= min(pv, ac_limit). The battery's own
 * inverter shares the connection's cap, PV first: discharge <= ac_limit - min(pv, ac_limit).
 * Charging is not capped by the connection; it takes PV surplus, or the grid when allowed.
 *
 * DC coupling: pv_used is all PV taken from the modules, into the cells included; the
 * inverter passes pv_used + battery_w, which must lie in [0, ac_limit]. So the cells charge
 * only from PV (pv_used >= -battery_w), may store PV the inverter would clip, and discharge
 * fills only what PV leaves of the cap.
 *
 * Rules of both: the battery never exports (discharge <= load - PV's AC output; while it
 * discharges, g >= 0). Charging must not raise the import above what the home would import
 * without the battery (so it takes surplus only), except in GRID_CHARGE where the battery
 * allows it. PV is curtailed only when that pays: exporting at a negative feed-in, or
 * importing at a negative price.
 *
 * Efficiencies act on the cells' side: charging at -battery_w for dt stores
 * -battery_w * dt * charge_efficiency; discharging draws battery_w * dt / discharge_efficiency. */
#include <math.h>

#include "optimizer_internal.h"

static double min2(double a, double b)
{
    return a < b ? a : b;
}

static double max2(double a, double b)
{
    return a > b ? a : b;
}

double opt_soc_min_wh(const struct balkon_opt_battery *battery)
{
    return battery->capacity_wh * battery->soc_min_pct / 100.0;
}

double opt_soc_max_wh(const struct balkon_opt_battery *battery)
{
    return battery->capacity_wh * battery->soc_max_pct / 100.0;
}

void opt_slot_bounds(const struct balkon_opt_battery *battery, const struct balkon_opt_slot *slot,
                     struct opt_bounds *out)
{
    double pv_w = max2(0.0, slot->pv_w);
    double load_w = max2(0.0, slot->load_w);
    double ac_w = max2(0.0, battery->ac_limit_w);
    bool dc = battery->coupling == BALKON_OPT_COUPLING_DC;

    out->pv_ac_w = min2(pv_w, ac_w);
    if (battery->capacity_wh <= 0.0) {
        out->max_discharge_w = out->max_charge_surplus_w = out->max_charge_w = 0.0;
        return;
    }
    /* DC: what PV has left after feeding the home through the inverter, clipping included. */
    double surplus_w = dc ? max2(0.0, pv_w - min2(load_w, ac_w)) : max2(0.0, out->pv_ac_w - load_w);
    out->max_charge_surplus_w = min2(battery->max_charge_w, surplus_w);
    if (!battery->allow_grid_charge)
        out->max_charge_w = out->max_charge_surplus_w;
    else
        out->max_charge_w = dc ? min2(battery->max_charge_w, pv_w) : battery->max_charge_w;

    double discharge_w = min2(battery->max_discharge_w, max2(0.0, ac_w - out->pv_ac_w));
    out->max_discharge_w = min2(discharge_w, max2(0.0, load_w - out->pv_ac_w));
}

/* Grid cost rate of grid power g (+ import) at the slot's prices, per W. */
static double grid_rate(const struct balkon_opt_slot *slot, double grid_w)
{
    return grid_w > 0.0 ? slot->import_price_per_kwh * grid_w : slot->feed_in_per_kwh * grid_w;
}

bool opt_dispatch(const struct balkon_opt_battery *battery, const struct balkon_opt_slot *slot,
                  const struct opt_bounds *bounds, double battery_w, bool via_grid,
                  struct opt_flows *out)
{
    double pv_w = max2(0.0, slot->pv_w);
    double load_w = max2(0.0, slot->load_w);
    double used_lo_w = 0.0, used_hi_w = bounds->pv_ac_w;

    via_grid = via_grid && battery->allow_grid_charge;
    double max_charge_w = via_grid ? bounds->max_charge_w : bounds->max_charge_surplus_w;
    if (battery_w > bounds->max_discharge_w + OPT_EPS_W || -battery_w > max_charge_w + OPT_EPS_W)
        return false;
    if (battery->coupling == BALKON_OPT_COUPLING_DC) {
        used_lo_w = max2(0.0, -battery_w);
        used_hi_w = min2(pv_w, battery->ac_limit_w - battery_w);
    }
    if (used_lo_w > used_hi_w + OPT_EPS_W)
        return false;
    used_hi_w = max2(used_hi_w, used_lo_w);

    /* The grid power lies in [lo, hi] by the choice of PV use; the rules narrow it. */
    double lo_w = load_w - used_hi_w - battery_w;
    double hi_w = load_w - used_lo_w - battery_w;
    if (battery_w < -OPT_EPS_W && !via_grid)
        hi_w = min2(hi_w, max2(0.0, load_w - bounds->pv_ac_w));
    if (battery_w > OPT_EPS_W)
        lo_w = max2(lo_w, 0.0);
    if (lo_w > hi_w + OPT_EPS_W)
        return false;
    hi_w = max2(hi_w, lo_w);

    /* The cost is linear on each side of 0, so its minimum lies at an end or at 0. Ties go
     * to the lowest grid power: use PV rather than curtail it. */
    double grid_w = lo_w;
    if (lo_w < 0.0 && hi_w > 0.0 && grid_rate(slot, 0.0) < grid_rate(slot, grid_w))
        grid_w = 0.0;
    if (grid_rate(slot, hi_w) < grid_rate(slot, grid_w))
        grid_w = hi_w;

    out->import_w = max2(grid_w, 0.0);
    out->export_w = max2(-grid_w, 0.0);
    out->pv_used_w = min2(pv_w, max2(0.0, load_w - battery_w - grid_w));
    return true;
}

double opt_flows_cost(const struct balkon_opt_slot *slot, const struct opt_flows *flows,
                      double dt_h)
{
    return (flows->import_w * slot->import_price_per_kwh -
            flows->export_w * slot->feed_in_per_kwh) *
           dt_h / 1000.0;
}

double opt_cell_delta_wh(const struct balkon_opt_battery *battery, double battery_w, double dt_h)
{
    if (battery_w < 0.0)
        return -battery_w * dt_h * battery->charge_efficiency;
    return -battery_w * dt_h / battery->discharge_efficiency;
}

struct balkon_opt_command opt_self_consumption_command(const struct balkon_opt_battery *battery,
                                                       const struct balkon_opt_slot *slot)
{
    struct opt_bounds bounds;
    opt_slot_bounds(battery, slot, &bounds);
    struct balkon_opt_command command = {BALKON_OPT_IDLE, 0.0};
    if (bounds.max_charge_surplus_w > 0.0) {
        command.mode = BALKON_OPT_CHARGE;
        command.limit_w = battery->max_charge_w;
    } else if (bounds.max_discharge_w > 0.0) {
        command.mode = BALKON_OPT_DISCHARGE;
        command.limit_w = battery->max_discharge_w;
    }
    return command;
}

/* The battery power a command gives, within the slot's bounds and the SoC's room. */
static double command_power_w(const struct balkon_opt_battery *battery,
                              const struct opt_bounds *bounds, double soc_wh, double dt_h,
                              struct balkon_opt_command command)
{
    double min_wh = opt_soc_min_wh(battery), max_wh = opt_soc_max_wh(battery);
    double avail_w =
        soc_wh > min_wh ? (soc_wh - min_wh) * battery->discharge_efficiency / dt_h : 0.0;
    double room_w = soc_wh < max_wh ? (max_wh - soc_wh) / battery->charge_efficiency / dt_h : 0.0;
    double limit_w = command.limit_w > 0.0 ? command.limit_w : 0.0; /* NaN too */

    switch (command.mode) {
    case BALKON_OPT_HOLD:
        return -min2(bounds->max_charge_surplus_w, room_w);
    case BALKON_OPT_CHARGE:
        return -min2(limit_w, min2(bounds->max_charge_surplus_w, room_w));
    case BALKON_OPT_GRID_CHARGE:
        return -min2(limit_w, min2(bounds->max_charge_w, room_w));
    case BALKON_OPT_DISCHARGE:
        if (bounds->max_discharge_w > 0.0)
            return min2(limit_w, min2(bounds->max_discharge_w, avail_w));
        /* A surplus the plan did not expect: store it rather than give it away, as a
         * battery covering its home's load does (and as the control runs this mode). */
        return -min2(bounds->max_charge_surplus_w, room_w);
    case BALKON_OPT_IDLE:
    default:
        return 0.0;
    }
}

void balkon_opt_step(const struct balkon_opt_battery *battery, const struct balkon_opt_slot *slot,
                     int slot_s, double soc_wh, struct balkon_opt_command command,
                     struct balkon_opt_slot_result *out)
{
    double dt_h = slot_s / 3600.0;
    struct opt_bounds bounds;
    struct opt_flows flows;

    opt_slot_bounds(battery, slot, &bounds);
    double battery_w =
        battery->capacity_wh > 0.0 ? command_power_w(battery, &bounds, soc_wh, dt_h, command) : 0.0;
    bool via_grid = command.mode == BALKON_OPT_GRID_CHARGE;
    if (!opt_dispatch(battery, slot, &bounds, battery_w, via_grid, &flows)) {
        battery_w = 0.0; /* cannot happen within the bounds; stay safe anyway */
        opt_dispatch(battery, slot, &bounds, 0.0, false, &flows);
    }

    double delta_wh =
        battery->capacity_wh > 0.0 ? opt_cell_delta_wh(battery, battery_w, dt_h) : 0.0;
    /* Rounding must not carry the SoC past a bound it was moving towards. */
    double end_wh = soc_wh + delta_wh;
    if (delta_wh < 0.0)
        end_wh = max2(end_wh, min2(opt_soc_min_wh(battery), soc_wh));
    if (delta_wh > 0.0)
        end_wh = min2(end_wh, max2(opt_soc_max_wh(battery), soc_wh));

    out->mode = command.mode;
    out->limit_w = command.limit_w;
    out->value = (struct balkon_opt_value){0};
    out->battery_w = battery_w;
    out->soc_wh = end_wh;
    out->pv_used_w = flows.pv_used_w;
    out->import_w = flows.import_w;
    out->export_w = flows.export_w;
    out->cost = opt_flows_cost(slot, &flows, dt_h);
    out->wear_cost = fabs(delta_wh) / 1000.0 * battery->wear_cost_per_kwh;
}
