/* Shared between the optimizer's files: the slot physics that the dynamic programme and
 * the simulation both use, so that a plan and its replay cannot disagree. */
#ifndef BALKON_OPTIMIZER_INTERNAL_H
#define BALKON_OPTIMIZER_INTERNAL_H

#include <stdbool.h>

#include "balkon/optimizer.h"

/* Powers within this many watts count as equal (rounding of efficiencies and steps). */
#define OPT_EPS_W 1e-6

/* What the battery may do in a slot before its state of charge is considered. */
struct opt_bounds {
    double pv_ac_w;              /* PV alone on the AC side: min(pv_w, ac_limit_w) */
    double max_discharge_w;      /* power limit, room under the AC cap, the load left by PV */
    double max_charge_surplus_w; /* charging from PV that would be exported or clipped */
    double max_charge_w;         /* charging at all (more than surplus only with grid charge) */
};

/* Grid and PV flows of a slot for a given battery power. */
struct opt_flows {
    double pv_used_w;
    double import_w;
    double export_w;
};

void opt_slot_bounds(const struct balkon_opt_battery *battery, const struct balkon_opt_slot *slot,
                     struct opt_bounds *out);

/* Picks the PV use for battery power battery_w that minimises the slot's grid cost and
 * writes the flows. Charging may raise the import above what the home would import
 * without the battery only with via_grid (and the battery's allow_grid_charge). Returns
 * false when battery_w is not feasible in this slot. */
bool opt_dispatch(const struct balkon_opt_battery *battery, const struct balkon_opt_slot *slot,
                  const struct opt_bounds *bounds, double battery_w, bool via_grid,
                  struct opt_flows *out);

/* Money of the flows over a slot of dt_h hours. */
double opt_flows_cost(const struct balkon_opt_slot *slot, const struct opt_flows *flows,
                      double dt_h);

/* Energy the cells gain (+) or lose (-) over dt_h hours at AC power battery_w. */
double opt_cell_delta_wh(const struct balkon_opt_battery *battery, double battery_w, double dt_h);

double opt_soc_min_wh(const struct balkon_opt_battery *battery);
double opt_soc_max_wh(const struct balkon_opt_battery *battery);

/* Self-consumption's command for a slot, by the slot's own PV and load. */
struct balkon_opt_command opt_self_consumption_command(const struct balkon_opt_battery *battery,
                                                       const struct balkon_opt_slot *slot);

/* The value of stored energy along the last optimal plan made with ws, one per slot
 * (count returned; 0 when the last plan was not the optimal strategy's). */
size_t opt_workspace_path_values(const struct balkon_opt_workspace *ws,
                                 const struct balkon_opt_value **values);

/* Checks the problem; "field: problem" into msg (may be NULL). */
int opt_problem_check(const struct balkon_opt_problem *problem, char *msg, size_t msg_size);

/* Writes a message into msg when msg is not NULL; returns err. */
int opt_fail(char *msg, size_t msg_size, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The strategies, one per file, listed in strategies_list.h. */
#define OPT_STRATEGY(name) extern const struct balkon_opt_strategy opt_strategy_##name;
#include "strategies_list.h"
#undef OPT_STRATEGY

#endif
