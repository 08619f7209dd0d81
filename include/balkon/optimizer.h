/* The optimizer's maths: battery plans, the simulation that turns a plan into energy and
 * money, and the household load forecast.
 *
 * Pure functions: no I/O, no clock, no time zone, no bus, no logging. The daemon, the
 * replay command, the tests and the benchmarks call the same code. Everything that depends
 * on the calendar (the local minute of day of a slot, the day type of a date) is an input.
 *
 * Signs and units (ours, everywhere in this header):
 *   battery_w   AC side, + discharge / - charge
 *   import_w, export_w   grid flows, both >= 0 (grid_w = import_w - export_w)
 *   pv_w, load_w         >= 0
 *   *_wh        energy; soc_wh is the energy stored in the cells
 *   *_per_kwh   money per kWh in the prices' currency; every money figure ("cost",
 *               "value", "objective") is in that currency
 *   slot_s, ts_ms, minute_of_day   as named
 *
 * The model, the dynamic programme and its limits are described in docs/optimizer.md. */
#ifndef BALKON_OPTIMIZER_H
#define BALKON_OPTIMIZER_H

#include "balkon/daytype.h"
#include "balkon/series.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest plan: four days of quarter-hours (a 48 h horizon needs 192, a DST day 92/100). */
#define BALKON_OPT_MAX_SLOTS 384
#define BALKON_OPT_DEFAULT_SOC_STEP_WH 10.0
#define BALKON_OPT_DEFAULT_AC_LIMIT_W 800.0
/* Most SoC grid points the dynamic programme accepts (capacity / soc_step_wh + 1). */
#define BALKON_OPT_MAX_LEVELS 20001
#define BALKON_OPT_MAX_WINDOWS 16
/* The adaptive SoC step's floor (balkon_opt_soc_step_wh). */
#define BALKON_OPT_MIN_SOC_STEP_WH 0.5

/* --- Plan inputs ------------------------------------------------------------------- */

/* What the battery is told to do in a slot. A command is a mode plus a power bound
 * limit_w >= 0; balkon_opt_step says exactly what each mode does with the slot's actual
 * PV and load:
 *   IDLE         battery off.
 *   HOLD         never discharge; PV that would otherwise be exported (or clipped at the
 *                AC cap) charges the battery. limit_w is not used.
 *   CHARGE       charge from PV surplus only (never raising the import), at most limit_w.
 *   DISCHARGE    cover the load, at most limit_w; PV surplus the plan did not expect is
 *                stored rather than exported. The battery never exports (zero export,
 *                as the controllers of this field do).
 *   GRID_CHARGE  charge at limit_w even while the home imports: AC coupling takes the
 *                energy from the grid, DC coupling diverts PV into the cells while the grid
 *                covers the home. Only where allow_grid_charge; otherwise it acts as CHARGE. */
enum balkon_opt_mode {
    BALKON_OPT_IDLE = 0,
    BALKON_OPT_CHARGE,
    BALKON_OPT_DISCHARGE,
    BALKON_OPT_HOLD,
    BALKON_OPT_GRID_CHARGE,
};
#define BALKON_OPT_MODE_COUNT 5

/* "idle", "charge", "discharge", "hold", "grid_charge"; "?" for an unknown value. */
const char *balkon_opt_mode_name(enum balkon_opt_mode mode);
/* Parses a mode name. Returns 0 or BALKON_E_INVAL. */
int balkon_opt_mode_parse(const char *name, enum balkon_opt_mode *out);

struct balkon_opt_command {
    enum balkon_opt_mode mode;
    double limit_w;
};

enum balkon_opt_coupling {
    /* Battery on its own plug with its own inverter: may charge from the grid (if allowed);
     * its discharge shares the connection's AC cap with the PV inverter. */
    BALKON_OPT_COUPLING_AC = 0,
    /* Battery between modules and micro-inverter: charges only from PV (also from PV the
     * inverter would clip), and PV plus discharge pass the inverter's AC cap together. */
    BALKON_OPT_COUPLING_DC = 1,
};

/* One slot of the horizon. */
struct balkon_opt_slot {
    double import_price_per_kwh; /* consumer price, taxes included; may be negative */
    double feed_in_per_kwh;      /* paid for export; 0 when unpaid, negative = export costs */
    /* PV's potential on the AC side (after the inverter's efficiency) before curtailment
     * and before the AC cap; with DC coupling the battery's power is valued the same way. */
    double pv_w;
    double load_w;
    int minute_of_day; /* local time of the slot's start, 0..1439 (fixed_schedule only) */
};

struct balkon_opt_battery {
    double capacity_wh; /* usable; 0 = no battery */
    double soc_min_pct; /* of capacity_wh */
    double soc_max_pct;
    double max_charge_w; /* AC side */
    double max_discharge_w;
    double charge_efficiency;    /* energy stored / energy taken, (0, 1] */
    double discharge_efficiency; /* energy delivered / energy drawn, (0, 1] */
    double wear_cost_per_kwh;    /* per kWh moved into or out of the cells (both count) */
    enum balkon_opt_coupling coupling;
    double ac_limit_w;      /* AC cap on PV plus battery discharge (800) */
    bool allow_grid_charge; /* may charge while the home imports (see GRID_CHARGE) */
};

/* A fixed_schedule window: slots whose minute_of_day lies in [from_minute, to_minute) get
 * the mode. to_minute may be 1440 and may be below from_minute to wrap past midnight. The
 * first matching window wins; slots in no window do what self_consumption does. */
struct balkon_opt_window {
    int from_minute;
    int to_minute;
    enum balkon_opt_mode mode;
    double power_w; /* the command's limit_w; 0 = the battery's power limit */
};

/* One way the forecast may turn out, for the optimal strategy's two-stage programme:
 * PV and load per slot (borrowed, slot_count each) with the scenario's probability. */
struct balkon_opt_scenario {
    double probability;
    const double *pv_w;
    const double *load_w;
};
#define BALKON_OPT_MAX_SCENARIOS 5

struct balkon_opt_problem {
    const struct balkon_opt_slot *slots; /* borrowed for the call */
    size_t slot_count;                   /* 1..BALKON_OPT_MAX_SLOTS */
    int slot_s;                          /* length of every slot (900) */
    struct balkon_opt_battery battery;
    double initial_soc_wh; /* measured; may lie outside the SoC bounds */
    double soc_step_wh;    /* the dynamic programme's grid (10) */
    /* Value of a kWh still stored at the horizon's end. With terminal_value_auto (the
     * default) it is max(0, median import price of the horizon) x discharge_efficiency:
     * what a stored kWh would typically save later. */
    bool terminal_value_auto;
    double terminal_value_per_kwh;
    const struct balkon_opt_window *windows; /* borrowed; fixed_schedule only */
    size_t window_count;
    /* Forecasts are wrong (docs/optimizer.md, "Plans that know forecasts are wrong"): with
     * scenarios, "optimal" plans slots [0, scenario_from_slot) on the forecast in slots and
     * values the SoC it reaches there by the expected cost still to come over the scenarios,
     * each planned on its own from then on (the plan learns which came true before it must
     * act on it). The first scenario is the one the plan's path follows after the split.
     * None (scenario_count 0): one certain forecast. */
    const struct balkon_opt_scenario *scenarios; /* borrowed; optimal only */
    size_t scenario_count;
    size_t scenario_from_slot; /* 1..slot_count-1 */
};

/* Fills problem with the defaults: no slots, 900 s slots, a 10 Wh SoC step, automatic
 * terminal value, an AC-coupled 800 W connection without a battery. */
void balkon_opt_problem_init(struct balkon_opt_problem *problem);

/* Checks the problem for sense (slot count, finite numbers, bounds, efficiencies, the SoC
 * grid's size). On error writes "field: problem" into msg and returns BALKON_E_INVAL or
 * BALKON_E_TOOBIG. */
int balkon_opt_problem_validate(const struct balkon_opt_problem *problem, char *msg,
                                size_t msg_size);

/* The terminal value the problem uses (resolves terminal_value_auto). */
double balkon_opt_terminal_value_per_kwh(const struct balkon_opt_problem *problem);

/* --- Results ------------------------------------------------------------------------ */

/* What the optimal plan says a kWh in the cells is worth at the end of a slot: the
 * marginal values of its value function (-dV/dE of the dynamic programme, the cost still to
 * come) at the SoC the plan reaches, above it (charging further) and below it (discharging
 * further). The control runs the slot by balkon_opt_value_command with these, against
 * what is measured (docs/optimizer.md, "Executing a plan by its values"). */
struct balkon_opt_value {
    bool valid;               /* false: the plan has no values (not optimal, or a fall-back) */
    double soc_wh;            /* the plan's SoC at the slot's end */
    double charge_per_kwh;    /* worth of a kWh stored above soc_wh */
    double discharge_per_kwh; /* worth of a kWh missing below soc_wh */
};

struct balkon_opt_slot_result {
    enum balkon_opt_mode mode; /* the command */
    double limit_w;
    double battery_w; /* + discharge / - charge */
    double soc_wh;    /* at the slot's end */
    double pv_used_w; /* PV taken from the modules (DC coupling: including into the cells) */
    double import_w;
    double export_w;
    double cost; /* import x price - export x feed-in over the slot */
    double wear_cost;
    struct balkon_opt_value value; /* optimal plans only (see balkon_opt_plan_followed) */
};

struct balkon_opt_totals {
    double import_wh;
    double export_wh;
    double pv_used_wh;
    double pv_curtailed_wh; /* PV potential not used: clipped at the cap or curtailed */
    double charge_wh;       /* AC side */
    double discharge_wh;
    double throughput_wh; /* cell side, in plus out: what wear is charged on */
    double soc_end_wh;
    double energy_cost; /* sum of the slots' cost */
    double wear_cost;
    double stored_value; /* terminal value x (soc_end_wh - initial_soc_wh) */
    double objective;    /* energy_cost + wear_cost - stored_value: what is minimised */
};

struct balkon_opt_run {
    size_t slot_count;
    struct balkon_opt_slot_result slots[BALKON_OPT_MAX_SLOTS];
    struct balkon_opt_totals totals;
};

/* A strategy's plan and the two baselines on the same data. About 100 KB: allocate it. */
struct balkon_opt_plan {
    char strategy[32];
    double terminal_value_per_kwh;
    struct balkon_opt_run plan;
    struct balkon_opt_run no_battery;
    struct balkon_opt_run self_consumption;
};

/* --- Simulation: the one code path for every figure --------------------------------- */

/* Runs one slot: applies command to the battery holding soc_wh, with the slot's PV, load
 * and prices, and writes the realised flows, costs and end SoC into out. Physics (see
 * docs/optimizer.md): power limits, SoC bounds (energy outside them may only move back
 * towards them), efficiencies, the AC cap with PV first, coupling, the grid charging rule,
 * no export from the battery; PV is curtailed only when that saves money. */
void balkon_opt_step(const struct balkon_opt_battery *battery, const struct balkon_opt_slot *slot,
                     int slot_s, double soc_wh, struct balkon_opt_command command,
                     struct balkon_opt_slot_result *out);

/* Adds one slot's realised flows and money (dt_h hours long) to t. Throughput, end SoC and
 * the objective are the caller's: they depend on the SoC it tracks. */
void balkon_opt_totals_add(struct balkon_opt_totals *t, const struct balkon_opt_slot *slot,
                           const struct balkon_opt_slot_result *r, double dt_h);

/* The command to run against measured PV and load when a plan (made on forecasts) says
 * `planned`: keep the plan's decision but not its forecast amounts. CHARGE stores all the
 * surplus there is, DISCHARGE covers all the load there is (each up to the battery's power
 * limit), IDLE becomes HOLD (surplus the forecast missed is stored); HOLD and GRID_CHARGE
 * (a deliberate purchase) stay as planned. Re-planning every slot corrects the SoC. In the
 * year replay of bench/bench_optimizer.c this is what makes the forecasts pay; running the
 * planned powers literally exports unforecast surplus and imports unforecast load. */
struct balkon_opt_command balkon_opt_command_follow(const struct balkon_opt_battery *battery,
                                                    struct balkon_opt_command planned);

/* The value law: the command for one slot, run against the measured (or best known) PV and
 * load of the slot, that minimises the slot's money and wear plus the value of the SoC it
 * reaches, the value being linear on each side of value->soc_wh with the slopes
 * value->charge_per_kwh and value->discharge_per_kwh. The candidates are every kink of
 * that piecewise-linear cost: no battery, all the surplus stored or all the load covered,
 * the plan's own SoC reached (a grid charge only up to it), the power limits. So unexpected surplus
 * is stored and unexpected load covered exactly when that pays, and energy the plan keeps for a
 * dearer slot stays. Ties go to self-consumption's command. Without valid values it returns
 * balkon_opt_command_follow(battery, planned). */
struct balkon_opt_command balkon_opt_value_command(const struct balkon_opt_battery *battery,
                                                   const struct balkon_opt_slot *measured,
                                                   int slot_s, double soc_wh,
                                                   const struct balkon_opt_value *value,
                                                   struct balkon_opt_command planned);

/* The adaptive SoC step of the dynamic programme for a battery: capacity / 2000, at least
 * BALKON_OPT_MIN_SOC_STEP_WH (see docs/optimizer.md, "Discretisation"). */
double balkon_opt_soc_step_wh(double capacity_wh);

/* Runs commands[0..problem->slot_count) from problem->initial_soc_wh over the problem's
 * slots (forecast or measured) and fills out, totals included. Returns 0 or
 * BALKON_E_INVAL (the problem does not validate). */
int balkon_opt_simulate(const struct balkon_opt_problem *problem,
                        const struct balkon_opt_command *commands, struct balkon_opt_run *out);

/* --- Strategies ------------------------------------------------------------------------ */

/* Scratch memory of the dynamic programme, reused across solves so that replanning every
 * 15 minutes allocates nothing once it has grown. Owned by the caller. */
struct balkon_opt_workspace;
struct balkon_opt_workspace *balkon_opt_workspace_new(void);
void balkon_opt_workspace_free(struct balkon_opt_workspace *ws); /* accepts NULL */
/* What keeping room for more surplus than forecast is worth in the last optimal plan made
 * with a workspace and scenarios: at the split (slot), on the plan's path (soc_wh), one
 * more kWh kept would be worth forecast_per_kwh if the forecast came true, and
 * expected_per_kwh over the scenarios (it may not fit beside a sunnier day's surplus).
 * Where the second is lower, the plan uses energy now that the forecast alone would keep.
 * valid false: no scenarios. */
struct balkon_opt_room {
    bool valid;
    size_t slot;
    double soc_wh;
    double forecast_per_kwh;
    double expected_per_kwh;
};
struct balkon_opt_room balkon_opt_workspace_room(const struct balkon_opt_workspace *ws);

/* Bytes the workspace holds now (its largest solve so far). */
size_t balkon_opt_workspace_bytes(const struct balkon_opt_workspace *ws);

/* A strategy turns a validated problem into one command per slot. plan_fn returns 0 or a
 * BALKON_E_* code; ws may be NULL (then it allocates and frees its own). check_fn (may be
 * NULL) checks what only this strategy needs, writing "field: problem" into msg. */
struct balkon_opt_strategy {
    const char *name;
    const char *description;
    int (*check_fn)(const struct balkon_opt_problem *problem, char *msg, size_t msg_size);
    int (*plan_fn)(const struct balkon_opt_problem *problem, struct balkon_opt_workspace *ws,
                   struct balkon_opt_command *commands);
};

/* The strategy table: "self_consumption", "optimal", "fixed_schedule". */
const struct balkon_opt_strategy *const *balkon_opt_strategies(size_t *count);
/* The strategy of that name, or NULL. */
const struct balkon_opt_strategy *balkon_opt_strategy_find(const char *name);
/* The strategies' names in table order, quoted and comma-separated, for error messages:
 * "\"self_consumption\", \"optimal\", …". Truncated to size. */
void balkon_opt_strategy_list_names(char *out, size_t size);

/* Plans with the named strategy and simulates its commands and both baselines (no battery;
 * self_consumption) on the problem's data into out. ws may be NULL. Returns 0,
 * BALKON_E_NOTFOUND (no such strategy; msg names it), BALKON_E_INVAL/TOOBIG (msg names the
 * field) or BALKON_E_NOMEM. msg may be NULL. */
int balkon_opt_plan(const struct balkon_opt_problem *problem, const char *strategy,
                    struct balkon_opt_workspace *ws, struct balkon_opt_plan *out, char *msg,
                    size_t msg_size);

/* The plan the daemon runs (the planner module and the replay engine call this): the
 * strategy decides on prices nudged by a hundredth of a cent per kWh, falling over the
 * horizon, so that ties between using stored energy now or later at the same price go to
 * now; its commands are then run as the control runs them (balkon_opt_command_follow; a
 * grid charge importing less than one SoC step counts as a PV charge) and simulated, with
 * both baselines, on the true prices. An "optimal" plan that comes out behind
 * self-consumption is replaced by it (*fell_back). out->plan holds the followed run.
 * Returns as balkon_opt_plan. */
int balkon_opt_plan_followed(const struct balkon_opt_problem *problem, const char *strategy,
                             struct balkon_opt_workspace *ws, struct balkon_opt_plan *out,
                             bool *fell_back, char *msg, size_t msg_size);

/* The daemon's automatic terminal value: the horizon's lowest import price after discharge
 * losses and wear, at least 0 (a stored kWh is only surely worth the cheapest price it can
 * replace; the median made plans hoard energy the household could use now). */
double balkon_opt_lowest_price_value_per_kwh(const struct balkon_opt_problem *problem);

/* The optimal strategy's minimum objective over its SoC grid, without building commands
 * (for tests and benchmarks). Returns 0 or an error code. */
int balkon_opt_optimal_value(const struct balkon_opt_problem *problem,
                             struct balkon_opt_workspace *ws, double *objective_out);

/* --- Load forecast ------------------------------------------------------------------ */

/* Day types come from balkon/daytype.h (workday, Saturday, Sunday or public holiday). */
#define BALKON_DAY_TYPES BALKON_DAY_TYPE_COUNT
#define BALKON_LOAD_SLOTS_PER_DAY 96

/* A past 15-minute mean of the household's load. day_type and minute_of_day (local start)
 * are the caller's: this code knows no calendar. */
struct balkon_load_sample {
    int64_t ts_ms;
    double load_w;
    enum balkon_day_type day_type;
    int minute_of_day;
};

struct balkon_load_profile_params {
    int64_t now_ms;             /* samples are weighted by their age at now_ms */
    double weekly_decay;        /* weight factor per week of age, (0, 1] (0.7) */
    double max_age_days;        /* older samples are ignored (56) */
    double full_history_weight; /* summed weight at which history fully replaces H0 (2) */
    double annual_kwh;          /* scales the standard profile (3000) */
};
void balkon_load_profile_params_init(struct balkon_load_profile_params *params);

/* A profile per day type and quarter-hour of the day: the recency-weighted mean of the
 * history and its summed weight, which sets how much of it the forecast trusts. */
struct balkon_load_profile {
    double history_w[BALKON_DAY_TYPES][BALKON_LOAD_SLOTS_PER_DAY];
    double weight[BALKON_DAY_TYPES][BALKON_LOAD_SLOTS_PER_DAY];
    double full_history_weight;
    double annual_kwh;
};

/* Builds the profile from samples (any order; NaN or negative loads, samples from the
 * future and older than max_age_days are skipped). Returns 0 or BALKON_E_INVAL. */
int balkon_load_profile_build(const struct balkon_load_sample *samples, size_t count,
                              const struct balkon_load_profile_params *params,
                              struct balkon_load_profile *out);

/* Share of history in the forecast for that day type and quarter-hour:
 * min(1, weight / full_history_weight); the rest is the standard profile. */
double balkon_load_history_share(const struct balkon_load_profile *profile,
                                 enum balkon_day_type day_type, int minute_of_day);

/* Forecast of one future slot: history and the standard profile blended by
 * balkon_load_history_share. day_of_year (1..366; 0 = ignore) applies H0's seasonal factor
 * to the standard profile's part. */
double balkon_load_forecast_w(const struct balkon_load_profile *profile,
                              enum balkon_day_type day_type, int minute_of_day, int day_of_year);

/* The standard household profile (an approximation of the BDEW H0 shape, see
 * src/optimizer/h0_shape.c) in W for a household using annual_kwh a year, for the
 * quarter-hour holding minute_of_day; day_of_year as above. */
double balkon_load_standard_w(double annual_kwh, enum balkon_day_type day_type, int minute_of_day,
                              int day_of_year);

/* H0's day-of-year factor F(t) = -3.92e-10 t^4 + 3.2e-7 t^3 - 7.02e-5 t^2 + 2.1e-3 t + 1.24. */
double balkon_load_h0_factor(int day_of_year);

struct balkon_load_accuracy {
    size_t count;  /* pairs compared (NaN on either side is skipped) */
    double mae_w;  /* mean |forecast - actual| */
    double bias_w; /* mean (forecast - actual): + = forecast too high */
    double rmse_w;
    double actual_mean_w;
};

/* Compares forecast_w[i] with actual_w[i]. Returns 0, or BALKON_E_INVAL when no pair is
 * usable (out is then zeroed). */
int balkon_load_accuracy(const double *forecast_w, const double *actual_w, size_t count,
                         struct balkon_load_accuracy *out);

#endif
