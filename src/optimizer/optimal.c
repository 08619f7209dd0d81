/* Strategy "optimal": dynamic programming over (slot x state of charge).
 *
 * The SoC grid: levels E_k = E0 + (k - k0) * step, anchored at the measured SoC E0 so that
 * "do nothing" is always a move on the grid, from the lowest level >= min(E_min, E0) to the
 * highest <= max(E_max, E0). (So the grid may stop up to one step short of a bound.) Levels
 * outside [E_min, E_max] exist only when E0 does; they are entered only by moving towards
 * the bounds or by staying.
 *
 * A move from level i to j changes the stored energy by dE = (j - i) * step, and that fixes
 * the AC battery power: charging takes dE / eta_c, discharging delivers -dE * eta_d. The
 * power limits therefore bound the moves to
 *     j - i <= floor(max_charge_w * dt * eta_c / step)
 *     i - j <= floor(max_discharge_w * dt / eta_d / step)
 * and the slot's physics (AC cap, surplus, no battery export, grid charging) rule out more.
 * As the grid is uniform, a move's cost depends only on j - i: per slot it is computed once
 * per move (about 40 of them), grid money from opt_dispatch plus wear on |dE|. The recursion
 *     V_T(i) = -terminal_value * (E_i - E0)
 *     V_t(i) = min over j of [ c_t(j - i) + V_{t+1}(j) ]
 * is then a min-plus pass over the grid per slot; V_0(k0) is the optimum and the stored
 * moves give the path. The result is exact for the grid: no path between grid levels is
 * cheaper. Among equally cheap moves the one that leaves more energy stored wins: free
 * surplus is stored at once rather than in a later slot the forecast may get wrong.
 * (Cycling is never a tie with wear or losses, so flat prices do not cycle the battery.)
 *
 * A move's cost is piecewise linear in the move (kinks at 0, where the grid flow changes
 * sign, where a bound starts), so each slot's pass runs per linear piece with a monotone
 * queue (relax_piece): time slots x levels x pieces, not slots x levels x moves, which
 * makes fine grids affordable. Memory: one int16 move per slot and level, two rows of
 * values, the move costs and the queue, kept in a workspace reused from solve to solve.
 *
 * The path becomes commands (see balkon_opt_command): for each slot the mode whose
 * simulation with the forecast reproduces the planned power, so that simulating the
 * commands on the forecast gives back exactly the DP's plan. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "balkon/error.h"
#include "optimizer_internal.h"

/* Money within this much counts as a tie. */
#define TIE 1e-9

struct balkon_opt_workspace {
    int16_t *moves;
    size_t moves_cap;
    double *values; /* five rows of levels: two for the recursion, three for scenarios */
    size_t values_cap;
    double *move_costs;
    size_t move_costs_cap;
    int *queue; /* one level index per level */
    size_t queue_cap;
    /* V_{t+1}(k + 1) - V_{t+1}(k) per slot t and level k: what the value law needs. */
    float *value_steps;
    size_t value_steps_cap;
    /* The last optimal plan's value of stored energy along its path, one per slot. */
    struct balkon_opt_value *path_values;
    size_t path_values_cap;
    size_t path_count;
    /* With scenarios: the first scenario's value steps at the split (the forecast alone),
     * and what a stored kWh is worth there on the path, by it and over all scenarios. */
    float *split_steps;
    size_t split_steps_cap;
    struct balkon_opt_room room;
};

struct grid {
    double e0_wh;
    double step_wh;
    int k0;      /* index of E0 */
    int count;   /* levels */
    int kmin_ok; /* first level >= E_min */
    int kmax_ok; /* last level <= E_max */
    int up;      /* most levels up in one slot */
    int down;    /* most levels down */
};

struct balkon_opt_workspace *balkon_opt_workspace_new(void)
{
    return calloc(1, sizeof(struct balkon_opt_workspace));
}

void balkon_opt_workspace_free(struct balkon_opt_workspace *ws)
{
    if (!ws)
        return;
    free(ws->moves);
    free(ws->values);
    free(ws->move_costs);
    free(ws->queue);
    free(ws->value_steps);
    free(ws->path_values);
    free(ws->split_steps);
    free(ws);
}

size_t balkon_opt_workspace_bytes(const struct balkon_opt_workspace *ws)
{
    if (!ws)
        return 0;
    return sizeof(*ws) + ws->moves_cap * sizeof(*ws->moves) + ws->values_cap * sizeof(*ws->values) +
           ws->move_costs_cap * sizeof(*ws->move_costs) + ws->queue_cap * sizeof(*ws->queue) +
           ws->value_steps_cap * sizeof(*ws->value_steps) +
           ws->path_values_cap * sizeof(*ws->path_values) +
           ws->split_steps_cap * sizeof(*ws->split_steps);
}

/* Grows *buf to hold need elements; the contents are not kept. */
static int reserve(void **buf, size_t *cap, size_t need, size_t elem_size)
{
    if (*cap >= need)
        return BALKON_OK;
    void *p = malloc(need * elem_size);
    if (!p)
        return BALKON_E_NOMEM;
    free(*buf);
    *buf = p;
    *cap = need;
    return BALKON_OK;
}

static int clamp_int(int v, int lo, int hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* floor(steps) as an int in [0, most]. */
static int levels_within(double steps, int most)
{
    double levels = floor(steps + 1e-9);
    return levels <= 0.0 ? 0 : (levels >= most ? most : (int)levels);
}

static void grid_setup(const struct balkon_opt_problem *p, struct grid *g)
{
    const struct balkon_opt_battery *b = &p->battery;
    double min_wh = opt_soc_min_wh(b), max_wh = opt_soc_max_wh(b);
    double e0 = p->initial_soc_wh, step = p->soc_step_wh, dt_h = p->slot_s / 3600.0;

    g->e0_wh = e0;
    g->step_wh = step;
    if (b->capacity_wh <= 0.0) {
        *g = (struct grid){e0, step, 0, 1, 0, 0, 0, 0};
        return;
    }
    g->k0 = (int)floor((e0 - fmin(min_wh, e0)) / step + 1e-9);
    g->count = g->k0 + (int)floor((fmax(max_wh, e0) - e0) / step + 1e-9) + 1;
    g->kmin_ok = g->k0 - (int)floor((e0 - min_wh) / step + 1e-9);
    if (e0 < min_wh)
        g->kmin_ok = g->k0 + (int)ceil((min_wh - e0) / step - 1e-9);
    g->kmax_ok = g->k0 + (int)floor((max_wh - e0) / step + 1e-9);
    if (e0 > max_wh)
        g->kmax_ok = g->k0 - (int)ceil((e0 - max_wh) / step - 1e-9);
    g->kmin_ok = clamp_int(g->kmin_ok, 0, g->count - 1);
    g->kmax_ok = clamp_int(g->kmax_ok, 0, g->count - 1);
    /* Clamped as doubles: a 1 MW charger on a 1 Wh grid must not overflow an int. */
    g->up = levels_within(b->max_charge_w * dt_h * b->charge_efficiency / step, g->count - 1);
    g->down =
        levels_within(b->max_discharge_w * dt_h / b->discharge_efficiency / step, g->count - 1);
}

/* AC battery power of a move of `levels` grid steps (+ up = charge). */
static double move_power_w(const struct balkon_opt_battery *b, const struct grid *g, int levels,
                           double dt_h)
{
    double delta_wh = levels * g->step_wh;
    if (levels > 0)
        return -delta_wh / b->charge_efficiency / dt_h;
    return -delta_wh * b->discharge_efficiency / dt_h;
}

/* cost[d] for d in [-down, up] (cost points at the zero move): money of the move in slot. */
static void move_costs(const struct balkon_opt_problem *p, const struct balkon_opt_slot *slot,
                       const struct grid *g, double *cost)
{
    const struct balkon_opt_battery *b = &p->battery;
    double dt_h = p->slot_s / 3600.0;
    struct opt_bounds bounds;
    struct opt_flows flows;

    opt_slot_bounds(b, slot, &bounds);
    for (int d = -g->down; d <= g->up; d++) {
        double battery_w = d == 0 ? 0.0 : move_power_w(b, g, d, dt_h);
        double money = HUGE_VAL;
        if (opt_dispatch(b, slot, &bounds, battery_w, false, &flows))
            money = opt_flows_cost(slot, &flows, dt_h);
        if (d > 0 && b->allow_grid_charge &&
            opt_dispatch(b, slot, &bounds, battery_w, true, &flows))
            money = fmin(money, opt_flows_cost(slot, &flows, dt_h));
        cost[d] = money + fabs(d * g->step_wh) / 1000.0 * b->wear_cost_per_kwh;
    }
}

/* Lowest and highest level reachable from level i: targets below kmin_ok only by charging
 * or staying, above kmax_ok only by discharging or staying. */
static int lowest_target(const struct grid *g, int i)
{
    return i < g->kmin_ok ? i : g->kmin_ok;
}

static int highest_target(const struct grid *g, int i)
{
    return i > g->kmax_ok ? i : g->kmax_ok;
}

/* Keeps (value, d) when it beats the best so far; ties go to the higher target level. */
static void consider(double value, int d, double *best, int16_t *best_d)
{
    if (value < *best - TIE || (value <= *best + TIE && d > *best_d)) {
        *best = value;
        *best_d = (int16_t)d;
    }
}

/* The moves in [a, b] form one linear piece of the slot's cost, c(d) = c(a) + slope (d - a).
 * Then min over d of c(d) + next[i + d] is, up to terms in i, the minimum of
 * w(j) = next[j] + slope j over the window j in [i + a, i + b] (cut to the reachable
 * levels). Both window ends only grow with i, so a monotone queue finds every window's
 * minimum in one pass over the levels: O(levels) per piece instead of O(levels x moves). */
static void relax_piece(const struct grid *g, const double *cost, int a, int b, const double *next,
                        double *cur, int16_t *moves, int *queue)
{
    double slope = b > a ? (cost[b] - cost[a]) / (b - a) : 0.0;
    int head = 0, tail = 0, pushed = 0;

    for (int i = 0; i < g->count; i++) {
        int lo = i + a, hi = i + b;
        if (lo < lowest_target(g, i))
            lo = lowest_target(g, i);
        if (hi > highest_target(g, i))
            hi = highest_target(g, i);
        for (; pushed <= hi && pushed < g->count; pushed++) {
            double w = next[pushed] + slope * pushed;
            while (tail > head) {
                double back = next[queue[tail - 1]] + slope * queue[tail - 1];
                if (back >= w) /* on equal w the higher level stays */
                    tail--;
                else
                    break;
            }
            queue[tail++] = pushed;
        }
        while (tail > head && queue[head] < lo)
            head++;
        if (tail == head || lo > hi)
            continue;
        int j = queue[head];
        consider(cost[j - i] + next[j], j - i, &cur[i], &moves[i]);
    }
}

/* One slot of the recursion: cur[i] = min over d of cost[d] + next[i + d]. The move costs
 * are cut into maximal linear pieces (a kink where the grid flow changes sign, where the
 * efficiency changes at d = 0, where a bound makes moves infeasible) and each piece is
 * relaxed in one pass. */
static void relax_slot(const struct grid *g, const double *cost, const double *next, double *cur,
                       int16_t *moves, int *queue)
{
    for (int i = 0; i < g->count; i++) {
        cur[i] = cost[0] + next[i];
        moves[i] = 0;
    }
    int d = -g->down;
    while (d <= g->up) {
        if (!isfinite(cost[d])) {
            d++;
            continue;
        }
        int b = d;
        if (b + 1 <= g->up && isfinite(cost[b + 1])) {
            double slope = cost[b + 1] - cost[b];
            b++;
            while (b + 1 <= g->up && isfinite(cost[b + 1]) &&
                   fabs((cost[b + 1] - cost[b]) - slope) <= 1e-12 * (1.0 + fabs(slope)))
                b++;
        }
        relax_piece(g, cost, d, b, next, cur, moves, queue);
        d = b + 1;
    }
}

/* The recursion over slots [from, to): on entry *next holds the values after slot to - 1,
 * on return the values before slot from. With a scenario, its PV and load replace the
 * forecast's. ws keeps each slot's moves and value steps. */
static void backward(const struct balkon_opt_problem *p, struct balkon_opt_workspace *ws,
                     const struct grid *g, size_t from, size_t to,
                     const struct balkon_opt_scenario *scenario, double **next, double **cur)
{
    size_t n = (size_t)g->count;
    double *cost = ws->move_costs + g->down;
    for (size_t t = to; t-- > from;) {
        float *steps = ws->value_steps + t * n;
        for (size_t k = 0; k + 1 < n; k++)
            steps[k] = (float)((*next)[k + 1] - (*next)[k]);
        steps[n - 1] = 0.0f;
        struct balkon_opt_slot slot = p->slots[t];
        if (scenario) {
            slot.pv_w = scenario->pv_w[t];
            slot.load_w = scenario->load_w[t];
        }
        move_costs(p, &slot, g, cost);
        relax_slot(g, cost, *next, *cur, ws->moves + t * n, ws->queue);
        double *swap = *next;
        *next = *cur;
        *cur = swap;
    }
}

/* The scenarios other than the path's are needed only for their value at the split: they
 * are solved on a grid this many times coarser (about that much less work) and read off it
 * linearly. */
#define SCENARIO_COARSENING 4

static void terminal_values(const struct grid *g, double value_per_wh, double *values)
{
    for (int k = 0; k < g->count; k++)
        values[k] = -value_per_wh * ((double)(k - g->k0) * g->step_wh);
}

/* Adds probability x the scenario's value at the split, per level of the fine grid g, to
 * expected. The coarse solve writes its moves and value steps over rows the path's own
 * solves write again afterwards. scratch holds 2 x g->count doubles. */
static void add_coarse_scenario(const struct balkon_opt_problem *p, struct balkon_opt_workspace *ws,
                                const struct grid *g, const struct balkon_opt_scenario *scenario,
                                double value_per_wh, double *scratch, double *expected)
{
    struct balkon_opt_problem coarse = *p;
    coarse.soc_step_wh = p->soc_step_wh * SCENARIO_COARSENING;
    struct grid gc;
    grid_setup(&coarse, &gc);
    double *next = scratch, *cur = scratch + g->count;
    terminal_values(&gc, value_per_wh, next);
    backward(&coarse, ws, &gc, p->scenario_from_slot, p->slot_count, scenario, &next, &cur);
    for (int k = 0; k < g->count; k++) {
        double value = next[0];
        if (gc.count > 1) {
            double x = gc.k0 + (k - g->k0) * g->step_wh / gc.step_wh;
            int i = clamp_int((int)floor(x), 0, gc.count - 2);
            double frac = fmin(1.0, fmax(0.0, x - i));
            value = next[i] * (1.0 - frac) + next[i + 1] * frac;
        }
        expected[k] += scenario->probability * value;
    }
}

/* Runs the recursion; ws holds the moves afterwards. With scenarios: each is planned on its
 * own from the split on (the first, the path's, on the plan's grid and last, so that its
 * moves are the ones kept; the others on a coarser grid), and the slots before the split
 * are planned against the expected value of the SoC they reach. */
static int solve(const struct balkon_opt_problem *p, struct balkon_opt_workspace *ws,
                 struct grid *g, double *objective_out)
{
    grid_setup(p, g);
    size_t n = (size_t)g->count, slots = p->slot_count;
    int err;
    if ((err = reserve((void **)&ws->moves, &ws->moves_cap, n * slots, sizeof(int16_t))) ||
        (err = reserve((void **)&ws->values, &ws->values_cap, 5 * n, sizeof(double))) ||
        (err = reserve((void **)&ws->move_costs, &ws->move_costs_cap, (size_t)(g->up + g->down + 1),
                       sizeof(double))) ||
        (err = reserve((void **)&ws->queue, &ws->queue_cap, n, sizeof(int))) ||
        (err =
             reserve((void **)&ws->value_steps, &ws->value_steps_cap, n * slots, sizeof(float))) ||
        (p->scenario_count &&
         (err = reserve((void **)&ws->split_steps, &ws->split_steps_cap, n, sizeof(float)))))
        return err;

    double value_per_wh = balkon_opt_terminal_value_per_kwh(p) / 1000.0;
    double *next = ws->values, *cur = ws->values + n, *expected = ws->values + 2 * n;
    size_t split = p->scenario_count ? p->scenario_from_slot : slots;
    if (p->scenario_count) {
        for (size_t k = 0; k < n; k++)
            expected[k] = 0.0;
        for (size_t i = 1; i < p->scenario_count; i++)
            add_coarse_scenario(p, ws, g, &p->scenarios[i], value_per_wh, ws->values + 3 * n,
                                expected);
        terminal_values(g, value_per_wh, next);
        backward(p, ws, g, split, slots, &p->scenarios[0], &next, &cur);
        for (size_t k = 0; k < n; k++)
            expected[k] += p->scenarios[0].probability * next[k];
        for (size_t k = 0; k + 1 < n; k++)
            ws->split_steps[k] = (float)(next[k + 1] - next[k]);
        ws->split_steps[n - 1] = 0.0f;
        for (size_t k = 0; k < n; k++)
            next[k] = expected[k];
    } else {
        terminal_values(g, value_per_wh, next);
    }
    backward(p, ws, g, 0, split, NULL, &next, &cur);
    *objective_out = next[g->k0];
    return BALKON_OK;
}

/* The command that makes the simulation reproduce battery_w in this slot. */
static struct balkon_opt_command label(const struct balkon_opt_problem *p, size_t t, double soc_wh,
                                       double battery_w)
{
    const struct balkon_opt_slot *slot = &p->slots[t];
    struct balkon_opt_slot_result r;
    struct balkon_opt_command c = {BALKON_OPT_IDLE, 0.0};

    if (battery_w > OPT_EPS_W)
        return (struct balkon_opt_command){BALKON_OPT_DISCHARGE, battery_w};
    if (battery_w < -OPT_EPS_W) {
        /* "charge" when it gives the move at the same money, else the grid is needed. */
        struct balkon_opt_slot_result g;
        struct balkon_opt_command grid = {BALKON_OPT_GRID_CHARGE, -battery_w};
        c = (struct balkon_opt_command){BALKON_OPT_CHARGE, -battery_w};
        balkon_opt_step(&p->battery, slot, p->slot_s, soc_wh, c, &r);
        if (!p->battery.allow_grid_charge)
            return c;
        balkon_opt_step(&p->battery, slot, p->slot_s, soc_wh, grid, &g);
        bool same = fabs(r.battery_w - battery_w) <= OPT_EPS_W && r.cost <= g.cost + TIE;
        return same ? c : grid;
    }
    /* Staying: "hold" when the battery could cover an import but keeps its energy. */
    struct balkon_opt_command discharge = {BALKON_OPT_DISCHARGE, p->battery.max_discharge_w};
    balkon_opt_step(&p->battery, slot, p->slot_s, soc_wh, discharge, &r);
    if (r.battery_w <= OPT_EPS_W)
        return c;
    struct balkon_opt_command hold = {BALKON_OPT_HOLD, 0.0};
    balkon_opt_step(&p->battery, slot, p->slot_s, soc_wh, hold, &r);
    return fabs(r.battery_w) <= OPT_EPS_W ? hold : c;
}

/* The marginal values of stored energy at level k after slot t: -dV/dE over the next
 * span levels above (charging further) and below (discharging further), per kWh. A span
 * of about 1 % of the battery smooths the grid's own steps. Where there is no level on
 * one side, that side's value is the other's (the battery cannot go there anyway). */
static struct balkon_opt_value value_at(const struct balkon_opt_problem *p, const float *steps,
                                        const struct grid *g, int k)
{
    int span = (int)fmax(1.0, floor(0.01 * p->battery.capacity_wh / g->step_wh));
    double up = 0.0, down = 0.0;
    int n_up = 0, n_down = 0;
    for (int i = k; i < k + span && i + 1 < g->count; i++, n_up++)
        up += steps[i];
    for (int i = k - 1; i >= k - span && i >= 0; i--, n_down++)
        down += steps[i];
    struct balkon_opt_value v = {.valid = true, .soc_wh = g->e0_wh + (k - g->k0) * g->step_wh};
    double per_kwh = 1000.0 / g->step_wh;
    v.charge_per_kwh = n_up ? -up / n_up * per_kwh : NAN;
    v.discharge_per_kwh = n_down ? -down / n_down * per_kwh : NAN;
    if (isnan(v.charge_per_kwh))
        v.charge_per_kwh = isnan(v.discharge_per_kwh) ? 0.0 : v.discharge_per_kwh;
    if (isnan(v.discharge_per_kwh))
        v.discharge_per_kwh = v.charge_per_kwh;
    return v;
}

static struct balkon_opt_value path_value(const struct balkon_opt_problem *p,
                                          const struct balkon_opt_workspace *ws,
                                          const struct grid *g, size_t t, int k)
{
    return value_at(p, ws->value_steps + t * (size_t)g->count, g, k);
}

static int plan_optimal(const struct balkon_opt_problem *p, struct balkon_opt_workspace *ws,
                        struct balkon_opt_command *commands)
{
    struct balkon_opt_workspace *own = NULL;
    struct grid g;
    double objective;
    int err;

    if (!ws && !(ws = own = balkon_opt_workspace_new()))
        return BALKON_E_NOMEM;
    ws->path_count = 0;
    ws->room = (struct balkon_opt_room){0};
    if ((err = solve(p, ws, &g, &objective)))
        goto done;

    if ((err = reserve((void **)&ws->path_values, &ws->path_values_cap, p->slot_count,
                       sizeof(*ws->path_values))))
        goto done;
    ws->path_count = p->slot_count;

    double dt_h = p->slot_s / 3600.0, soc_wh = p->initial_soc_wh;
    int k = g.k0;
    for (size_t t = 0; t < p->slot_count; t++) {
        int d = ws->moves[t * (size_t)g.count + (size_t)k];
        double battery_w = d == 0 ? 0.0 : move_power_w(&p->battery, &g, d, dt_h);
        struct balkon_opt_slot_result r;
        commands[t] = label(p, t, soc_wh, battery_w);
        balkon_opt_step(&p->battery, &p->slots[t], p->slot_s, soc_wh, commands[t], &r);
        soc_wh = r.soc_wh;
        k += d;
        ws->path_values[t] = path_value(p, ws, &g, t, k);
        if (p->scenario_count && t + 1 == p->scenario_from_slot) {
            struct balkon_opt_value alone = value_at(p, ws->split_steps, &g, k);
            ws->room = (struct balkon_opt_room){
                .valid = true,
                .slot = t + 1,
                .soc_wh = ws->path_values[t].soc_wh,
                .forecast_per_kwh = alone.charge_per_kwh,
                .expected_per_kwh = ws->path_values[t].charge_per_kwh,
            };
        }
    }
done:
    balkon_opt_workspace_free(own);
    return err;
}

struct balkon_opt_room balkon_opt_workspace_room(const struct balkon_opt_workspace *ws)
{
    return ws ? ws->room : (struct balkon_opt_room){0};
}

size_t opt_workspace_path_values(const struct balkon_opt_workspace *ws,
                                 const struct balkon_opt_value **values)
{
    *values = ws ? ws->path_values : NULL;
    return ws ? ws->path_count : 0;
}

int balkon_opt_optimal_value(const struct balkon_opt_problem *problem,
                             struct balkon_opt_workspace *ws, double *objective_out)
{
    struct balkon_opt_workspace *own = NULL;
    struct grid g;
    int err = opt_problem_check(problem, NULL, 0);
    if (err)
        return err;
    if (!ws && !(ws = own = balkon_opt_workspace_new()))
        return BALKON_E_NOMEM;
    err = solve(problem, ws, &g, objective_out);
    balkon_opt_workspace_free(own);
    return err;
}

const struct balkon_opt_strategy opt_strategy_optimal = {
    .name = "optimal",
    .description = "minimum cost over the horizon by dynamic programming over slot and SoC "
                   "(grid money, battery wear, value of the energy left at the end)",
    .plan_fn = plan_optimal,
};
