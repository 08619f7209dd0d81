/* The plan the daemon runs: a strategy's decisions as the control executes them (see
 * balkon_opt_plan_followed in include/balkon/optimizer.h). The planner module and the
 * replay engine both call this, so a replay is what the daemon would have done. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "balkon/error.h"
#include "optimizer_internal.h"

/* Added to the import price of the first slot and falling linearly to 0 at the last, per
 * kWh: enough to break ties between "use stored energy now" and "later, at the same
 * price" in favour of now (future PV may refill the battery; hoarding then exports it),
 * far too little to change any decision that is not a tie. */
#define TIE_BREAK_PER_KWH 1e-4

double balkon_opt_lowest_price_value_per_kwh(const struct balkon_opt_problem *problem)
{
    double lowest = INFINITY;
    for (size_t i = 0; i < problem->slot_count; i++)
        lowest = fmin(lowest, problem->slots[i].import_price_per_kwh);
    if (!isfinite(lowest))
        return 0.0;
    return fmax(0.0, lowest * problem->battery.discharge_efficiency -
                         problem->battery.wear_cost_per_kwh);
}

int balkon_opt_plan_followed(const struct balkon_opt_problem *problem, const char *strategy,
                             struct balkon_opt_workspace *ws, struct balkon_opt_plan *out,
                             bool *fell_back, char *msg, size_t msg_size)
{
    *fell_back = false;
    if (problem->slot_count == 0 || problem->slot_count > BALKON_OPT_MAX_SLOTS)
        return balkon_opt_plan(problem, strategy, ws, out, msg, msg_size); /* reports the error */

    /* Decide on the tie-broken prices ... */
    struct balkon_opt_slot nudged[BALKON_OPT_MAX_SLOTS];
    size_t n = problem->slot_count;
    for (size_t t = 0; t < n; t++) {
        nudged[t] = problem->slots[t];
        nudged[t].import_price_per_kwh += TIE_BREAK_PER_KWH * (double)(n - t) / (double)n;
    }
    struct balkon_opt_problem decide = *problem;
    decide.slots = nudged;
    decide.terminal_value_auto = false;
    decide.terminal_value_per_kwh = balkon_opt_terminal_value_per_kwh(problem);
    struct balkon_opt_workspace *own = NULL;
    if (!ws && !(ws = own = balkon_opt_workspace_new()))
        return BALKON_E_NOMEM;
    int err = balkon_opt_plan(&decide, strategy, ws, out, msg, msg_size);
    if (err)
        goto done;
    /* The programme's values along its path, for running the plan by them. */
    struct balkon_opt_value values[BALKON_OPT_MAX_SLOTS];
    const struct balkon_opt_value *path = NULL;
    bool have_values =
        strcmp(strategy, "optimal") == 0 && opt_workspace_path_values(ws, &path) == n;
    for (size_t t = 0; t < n; t++)
        values[t] = have_values ? path[t] : (struct balkon_opt_value){0};

    /* ... run them as the control does: every surplus stored when charging, all the load
     * covered when discharging, idle as hold; a grid charge whose import is below one SoC
     * step is the programme rounding a PV charge up to its grid, not a purchase ... */
    struct balkon_opt_command commands[BALKON_OPT_MAX_SLOTS];
    double rounding_w =
        problem->soc_step_wh / (problem->slot_s / 3600.0) / problem->battery.charge_efficiency +
        0.5;
    for (size_t t = 0; t < n; t++) {
        const struct balkon_opt_slot_result *r = &out->plan.slots[t];
        struct balkon_opt_command planned = {r->mode, r->limit_w};
        if (planned.mode == BALKON_OPT_GRID_CHARGE && r->import_w <= rounding_w)
            planned.mode = BALKON_OPT_CHARGE;
        commands[t] = balkon_opt_command_follow(&problem->battery, planned);
    }

    /* ... or run by the programme's values, as the control runs a slot (the value law,
     * balkon_opt_value_command), here on the forecast ... */
    struct balkon_opt_command by_value[BALKON_OPT_MAX_SLOTS];
    double soc_wh = problem->initial_soc_wh;
    for (size_t t = 0; have_values && t < n; t++) {
        struct balkon_opt_slot_result r;
        by_value[t] = balkon_opt_value_command(&problem->battery, &problem->slots[t],
                                               problem->slot_s, soc_wh, &values[t], commands[t]);
        balkon_opt_step(&problem->battery, &problem->slots[t], problem->slot_s, soc_wh, by_value[t],
                        &r);
        soc_wh = r.soc_wh;
    }

    /* ... and account for everything on the true prices. */
    char name[sizeof out->strategy];
    snprintf(name, sizeof name, "%s", out->strategy);
    struct balkon_opt_problem truth = *problem;
    truth.terminal_value_auto = false;
    truth.terminal_value_per_kwh = decide.terminal_value_per_kwh;
    if ((err = balkon_opt_plan(&truth, "self_consumption", ws, out, msg, msg_size)))
        goto done;
    struct balkon_opt_run followed;
    if ((err = balkon_opt_simulate(&truth, commands, &followed))) {
        err = opt_fail(msg, msg_size, err, "simulation: %s", balkon_strerror(err));
        goto done;
    }
    struct balkon_opt_run valued;
    if (have_values && (err = balkon_opt_simulate(&truth, by_value, &valued))) {
        err = opt_fail(msg, msg_size, err, "simulation: %s", balkon_strerror(err));
        goto done;
    }
    snprintf(out->strategy, sizeof out->strategy, "%s", name);
    /* The values hold near the plan's SoC; where following the commands does better on
     * the forecast, the plan carries no values and the commands are followed. */
    bool use_values = have_values && valued.totals.objective <= followed.totals.objective;
    const struct balkon_opt_run *best = use_values ? &valued : &followed;
    /* The programme is exact on its SoC grid; run in continuous amounts it can end up a
     * hair behind plain self-consumption. Then self-consumption is the better plan. */
    *fell_back = strcmp(name, "optimal") == 0 &&
                 best->totals.objective > out->self_consumption.totals.objective;
    out->plan = *fell_back ? out->self_consumption : *best;
    for (size_t t = 0; t < n && use_values && !*fell_back; t++)
        out->plan.slots[t].value = values[t];
done:
    balkon_opt_workspace_free(own);
    return err;
}
