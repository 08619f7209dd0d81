/* The simulation: commands in, realised flows and money out. Plans, baselines, the replay
 * and the cost-benefit figures all come from here, so they share one set of physics. */
#include <math.h>
#include <string.h>

#include "balkon/error.h"
#include "optimizer_internal.h"

void balkon_opt_totals_add(struct balkon_opt_totals *t, const struct balkon_opt_slot *slot,
                           const struct balkon_opt_slot_result *r, double dt_h)
{
    t->import_wh += r->import_w * dt_h;
    t->export_wh += r->export_w * dt_h;
    t->pv_used_wh += r->pv_used_w * dt_h;
    t->pv_curtailed_wh += fmax(0.0, slot->pv_w - r->pv_used_w) * dt_h;
    t->charge_wh += fmax(0.0, -r->battery_w) * dt_h;
    t->discharge_wh += fmax(0.0, r->battery_w) * dt_h;
    t->energy_cost += r->cost;
    t->wear_cost += r->wear_cost;
}

struct balkon_opt_command balkon_opt_command_follow(const struct balkon_opt_battery *battery,
                                                    struct balkon_opt_command planned)
{
    switch (planned.mode) {
    case BALKON_OPT_CHARGE:
        return (struct balkon_opt_command){BALKON_OPT_CHARGE, battery->max_charge_w};
    case BALKON_OPT_DISCHARGE:
        return (struct balkon_opt_command){BALKON_OPT_DISCHARGE, battery->max_discharge_w};
    case BALKON_OPT_IDLE:
        return (struct balkon_opt_command){BALKON_OPT_HOLD, 0.0};
    default:
        return planned;
    }
}

int balkon_opt_simulate(const struct balkon_opt_problem *problem,
                        const struct balkon_opt_command *commands, struct balkon_opt_run *out)
{
    int err = opt_problem_check(problem, NULL, 0);
    if (err)
        return err;
    const struct balkon_opt_battery *battery = &problem->battery;
    double dt_h = problem->slot_s / 3600.0;
    double soc_wh = problem->initial_soc_wh;
    struct balkon_opt_totals *t = &out->totals;

    memset(t, 0, sizeof(*t));
    out->slot_count = problem->slot_count;
    for (size_t i = 0; i < problem->slot_count; i++) {
        struct balkon_opt_slot_result *r = &out->slots[i];
        balkon_opt_step(battery, &problem->slots[i], problem->slot_s, soc_wh, commands[i], r);
        t->throughput_wh += fabs(r->soc_wh - soc_wh);
        soc_wh = r->soc_wh;
        balkon_opt_totals_add(t, &problem->slots[i], r, dt_h);
    }
    t->soc_end_wh = soc_wh;
    t->stored_value =
        balkon_opt_terminal_value_per_kwh(problem) * (soc_wh - problem->initial_soc_wh) / 1000.0;
    t->objective = t->energy_cost + t->wear_cost - t->stored_value;
    return BALKON_OK;
}
