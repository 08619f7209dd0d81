/* The value law: how a slot of an optimal plan is run against what is measured.
 *
 * The dynamic programme's value function V_{t+1}(E) is the cost still to come from the
 * slot's end with E stored. Executing the plan by its values means choosing, in the slot
 * as it really is, the battery power b that minimises
 *     money(b) + wear(b) + V(E + dE(b))
 * instead of running a command fixed on a forecast. The plan carries V near its own path
 * as two slopes (struct balkon_opt_value): the worth of a kWh above the planned SoC and of
 * a kWh below it. With those the objective is piecewise linear in b, so its minimum lies at
 * a kink, and the kinks are few: no battery, the grid flow at zero (all surplus stored, all
 * load covered), the planned SoC reached (from surplus or, where allowed, from the grid),
 * the power limits. A purchase beyond the plan's is not a candidate: the two slopes hold
 * near the plan's SoC, and a full-power grid charge moves far from it (on the random LP
 * instances it was the one case where the slopes misled).
 * Each candidate is run through balkon_opt_step, the one code path for every figure, and
 * the cheapest wins; ties go to the earlier candidate, self-consumption's command first.
 *
 * Why that is never worse than self-consumption on a flat tariff: no kWh in the cells can
 * be worth more than the import price it displaces after losses and wear, so covering a
 * deficit always pays at least as much as keeping the energy, and storing a surplus that
 * is paid nothing costs only wear. */
#include <math.h>

#include "optimizer_internal.h"

/* Money within this much counts as a tie. */
#define TIE 1e-9
/* Another command must beat self-consumption's by this much per kWh of SoC it ends apart
 * from it. The values come from prices nudged by up to 1e-4 per kWh (balkon_opt_plan_
 * followed) and from a grid, so differences this small are ties; a tie goes to
 * self-consumption: storing free surplus now and using stored energy now are what a
 * wrong forecast punishes least. */
#define SELF_CONSUMPTION_MARGIN_PER_KWH 5e-4

static double objective(const struct balkon_opt_value *v, const struct balkon_opt_slot_result *r)
{
    double above_wh = r->soc_wh - v->soc_wh;
    double worth = above_wh >= 0.0 ? v->charge_per_kwh * above_wh : v->discharge_per_kwh * above_wh;
    return r->cost + r->wear_cost - worth / 1000.0;
}

struct balkon_opt_command balkon_opt_value_command(const struct balkon_opt_battery *battery,
                                                   const struct balkon_opt_slot *measured,
                                                   int slot_s, double soc_wh,
                                                   const struct balkon_opt_value *value,
                                                   struct balkon_opt_command planned)
{
    if (!value || !value->valid || !isfinite(value->charge_per_kwh) ||
        !isfinite(value->discharge_per_kwh) || battery->capacity_wh <= 0.0)
        return balkon_opt_command_follow(battery, planned);

    double dt_h = slot_s / 3600.0;
    double to_plan_wh = value->soc_wh - soc_wh;
    struct balkon_opt_command candidates[8];
    size_t n = 0;
    candidates[n++] = (struct balkon_opt_command){BALKON_OPT_DISCHARGE, battery->max_discharge_w};
    candidates[n++] = (struct balkon_opt_command){BALKON_OPT_IDLE, 0.0};
    candidates[n++] = (struct balkon_opt_command){BALKON_OPT_HOLD, 0.0};
    candidates[n++] = (struct balkon_opt_command){BALKON_OPT_CHARGE, battery->max_charge_w};
    if (to_plan_wh < 0.0) {
        double w = -to_plan_wh * battery->discharge_efficiency / dt_h;
        candidates[n++] = (struct balkon_opt_command){BALKON_OPT_DISCHARGE, w};
    } else if (to_plan_wh > 0.0) {
        double w = to_plan_wh / battery->charge_efficiency / dt_h;
        candidates[n++] = (struct balkon_opt_command){BALKON_OPT_CHARGE, w};
        if (battery->allow_grid_charge)
            candidates[n++] = (struct balkon_opt_command){BALKON_OPT_GRID_CHARGE, w};
    }

    struct balkon_opt_slot_result r;
    balkon_opt_step(battery, measured, slot_s, soc_wh, candidates[0], &r);
    struct balkon_opt_command best = candidates[0];
    double best_j = objective(value, &r), self_j = best_j, self_wh = r.soc_wh;
    for (size_t i = 1; i < n; i++) {
        balkon_opt_step(battery, measured, slot_s, soc_wh, candidates[i], &r);
        double j = objective(value, &r);
        double margin = SELF_CONSUMPTION_MARGIN_PER_KWH * fabs(r.soc_wh - self_wh) / 1000.0;
        if (j < best_j - TIE && j < self_j - margin - TIE) {
            best_j = j;
            best = candidates[i];
        }
    }
    return best;
}

double balkon_opt_soc_step_wh(double capacity_wh)
{
    return fmax(BALKON_OPT_MIN_SOC_STEP_WH, capacity_wh / 2000.0);
}
