/* Problem defaults, validation, the terminal value and the names of the modes. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balkon/error.h"
#include "optimizer_internal.h"

static const char *const mode_names[BALKON_OPT_MODE_COUNT] = {
    [BALKON_OPT_IDLE] = "idle",
    [BALKON_OPT_CHARGE] = "charge",
    [BALKON_OPT_DISCHARGE] = "discharge",
    [BALKON_OPT_HOLD] = "hold",
    [BALKON_OPT_GRID_CHARGE] = "grid_charge",
};

const char *balkon_opt_mode_name(enum balkon_opt_mode mode)
{
    if ((unsigned)mode >= BALKON_OPT_MODE_COUNT)
        return "?";
    return mode_names[mode];
}

int balkon_opt_mode_parse(const char *name, enum balkon_opt_mode *out)
{
    for (int i = 0; name && i < BALKON_OPT_MODE_COUNT; i++) {
        if (strcmp(name, mode_names[i]) == 0) {
            *out = (enum balkon_opt_mode)i;
            return BALKON_OK;
        }
    }
    return BALKON_E_INVAL;
}

int opt_fail(char *msg, size_t msg_size, int err, const char *fmt, ...)
{
    if (msg && msg_size > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, msg_size, fmt, ap);
        va_end(ap);
    }
    return err;
}

void balkon_opt_problem_init(struct balkon_opt_problem *problem)
{
    memset(problem, 0, sizeof(*problem));
    problem->slot_s = BALKON_SLOT_S;
    problem->soc_step_wh = BALKON_OPT_DEFAULT_SOC_STEP_WH;
    problem->terminal_value_auto = true;
    problem->battery.coupling = BALKON_OPT_COUPLING_AC;
    problem->battery.ac_limit_w = BALKON_OPT_DEFAULT_AC_LIMIT_W;
    problem->battery.soc_max_pct = 100.0;
    problem->battery.charge_efficiency = 1.0;
    problem->battery.discharge_efficiency = 1.0;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double balkon_opt_terminal_value_per_kwh(const struct balkon_opt_problem *problem)
{
    if (!problem->terminal_value_auto)
        return problem->terminal_value_per_kwh;
    size_t n = problem->slot_count;
    if (n == 0 || n > BALKON_OPT_MAX_SLOTS)
        return 0.0;
    double prices[BALKON_OPT_MAX_SLOTS];
    for (size_t i = 0; i < n; i++)
        prices[i] = problem->slots[i].import_price_per_kwh;
    qsort(prices, n, sizeof(prices[0]), compare_double);
    double median = n % 2 ? prices[n / 2] : 0.5 * (prices[n / 2 - 1] + prices[n / 2]);
    return (median > 0.0 ? median : 0.0) * problem->battery.discharge_efficiency;
}

/* Each check names the field and what was expected. */
static int check_range(char *msg, size_t msg_size, const char *field, double value, double lo,
                       double hi)
{
    if (isfinite(value) && value >= lo && value <= hi)
        return BALKON_OK;
    return opt_fail(msg, msg_size, BALKON_E_INVAL, "%s: must be in [%g, %g], got %g", field, lo, hi,
                    value);
}

static int check_slots(const struct balkon_opt_problem *p, char *msg, size_t msg_size)
{
    for (size_t i = 0; i < p->slot_count; i++) {
        const struct balkon_opt_slot *s = &p->slots[i];
        if (!isfinite(s->import_price_per_kwh) || !isfinite(s->feed_in_per_kwh))
            return opt_fail(msg, msg_size, BALKON_E_INVAL, "slots[%zu]: price is not a number", i);
        if (!isfinite(s->pv_w) || s->pv_w < 0.0 || !isfinite(s->load_w) || s->load_w < 0.0)
            return opt_fail(msg, msg_size, BALKON_E_INVAL,
                            "slots[%zu]: pv_w and load_w must be finite and >= 0", i);
        if (s->minute_of_day < 0 || s->minute_of_day >= 1440)
            return opt_fail(msg, msg_size, BALKON_E_INVAL,
                            "slots[%zu].minute_of_day: must be in [0, 1439], got %d", i,
                            s->minute_of_day);
    }
    return BALKON_OK;
}

static int check_battery(const struct balkon_opt_battery *b, char *msg, size_t msg_size)
{
    int err;
    if ((err = check_range(msg, msg_size, "battery.capacity_wh", b->capacity_wh, 0.0, 1e6)) ||
        (err = check_range(msg, msg_size, "battery.ac_limit_w", b->ac_limit_w, 0.0, 1e6)))
        return err;
    if (b->coupling != BALKON_OPT_COUPLING_AC && b->coupling != BALKON_OPT_COUPLING_DC)
        return opt_fail(msg, msg_size, BALKON_E_INVAL, "battery.coupling: must be ac or dc");
    if (b->capacity_wh == 0.0)
        return BALKON_OK;
    if ((err = check_range(msg, msg_size, "battery.soc_min_pct", b->soc_min_pct, 0.0, 100.0)) ||
        (err = check_range(msg, msg_size, "battery.soc_max_pct", b->soc_max_pct, b->soc_min_pct,
                           100.0)) ||
        (err = check_range(msg, msg_size, "battery.max_charge_w", b->max_charge_w, 0.0, 1e6)) ||
        (err =
             check_range(msg, msg_size, "battery.max_discharge_w", b->max_discharge_w, 0.0, 1e6)) ||
        (err = check_range(msg, msg_size, "battery.charge_efficiency", b->charge_efficiency, 0.01,
                           1.0)) ||
        (err = check_range(msg, msg_size, "battery.discharge_efficiency", b->discharge_efficiency,
                           0.01, 1.0)) ||
        (err = check_range(msg, msg_size, "battery.wear_cost_per_kwh", b->wear_cost_per_kwh, 0.0,
                           1e3)))
        return err;
    return BALKON_OK;
}

static int check_windows(const struct balkon_opt_problem *p, char *msg, size_t msg_size)
{
    if (p->window_count > BALKON_OPT_MAX_WINDOWS)
        return opt_fail(msg, msg_size, BALKON_E_TOOBIG, "windows: at most %d, got %zu",
                        BALKON_OPT_MAX_WINDOWS, p->window_count);
    if (p->window_count > 0 && !p->windows)
        return opt_fail(msg, msg_size, BALKON_E_INVAL, "windows: missing");
    for (size_t i = 0; i < p->window_count; i++) {
        const struct balkon_opt_window *w = &p->windows[i];
        if (w->from_minute < 0 || w->from_minute > 1440 || w->to_minute < 0 || w->to_minute > 1440)
            return opt_fail(msg, msg_size, BALKON_E_INVAL,
                            "windows[%zu]: minutes must be in [0, 1440]", i);
        if ((unsigned)w->mode >= BALKON_OPT_MODE_COUNT)
            return opt_fail(msg, msg_size, BALKON_E_INVAL, "windows[%zu].mode: unknown", i);
        if (!isfinite(w->power_w) || w->power_w < 0.0)
            return opt_fail(msg, msg_size, BALKON_E_INVAL,
                            "windows[%zu].power_w: must be >= 0, got %g", i, w->power_w);
    }
    return BALKON_OK;
}

static int check_scenarios(const struct balkon_opt_problem *p, char *msg, size_t msg_size)
{
    if (p->scenario_count == 0)
        return BALKON_OK;
    if (p->scenario_count > BALKON_OPT_MAX_SCENARIOS || !p->scenarios)
        return opt_fail(msg, msg_size, BALKON_E_INVAL, "scenarios: need 0 to %d, got %zu",
                        BALKON_OPT_MAX_SCENARIOS, p->scenarios ? p->scenario_count : 0);
    if (p->scenario_from_slot < 1 || p->scenario_from_slot >= p->slot_count)
        return opt_fail(msg, msg_size, BALKON_E_INVAL,
                        "scenario_from_slot: must be in [1, %zu], got %zu", p->slot_count - 1,
                        p->scenario_from_slot);
    double total = 0.0;
    for (size_t i = 0; i < p->scenario_count; i++) {
        const struct balkon_opt_scenario *sc = &p->scenarios[i];
        if (!isfinite(sc->probability) || sc->probability < 0.0)
            return opt_fail(msg, msg_size, BALKON_E_INVAL,
                            "scenarios[%zu].probability: must be >= 0, got %g", i, sc->probability);
        if (!sc->pv_w || !sc->load_w)
            return opt_fail(msg, msg_size, BALKON_E_INVAL, "scenarios[%zu]: missing series", i);
        for (size_t t = p->scenario_from_slot; t < p->slot_count; t++)
            if (!isfinite(sc->pv_w[t]) || sc->pv_w[t] < 0.0 || !isfinite(sc->load_w[t]) ||
                sc->load_w[t] < 0.0)
                return opt_fail(msg, msg_size, BALKON_E_INVAL,
                                "scenarios[%zu]: slot %zu: PV and load must be >= 0", i, t);
        total += sc->probability;
    }
    if (fabs(total - 1.0) > 1e-6)
        return opt_fail(msg, msg_size, BALKON_E_INVAL,
                        "scenarios: probabilities must add up to 1, got %g", total);
    return BALKON_OK;
}

int opt_problem_check(const struct balkon_opt_problem *p, char *msg, size_t msg_size)
{
    int err;
    if (p->slot_count == 0 || p->slot_count > BALKON_OPT_MAX_SLOTS || !p->slots)
        return opt_fail(msg, msg_size, BALKON_E_INVAL, "slots: need 1 to %d, got %zu",
                        BALKON_OPT_MAX_SLOTS, p->slots ? p->slot_count : 0);
    if (p->slot_s < 60 || p->slot_s > 86400)
        return opt_fail(msg, msg_size, BALKON_E_INVAL, "slot_s: must be in [60, 86400], got %d",
                        p->slot_s);
    if ((err = check_slots(p, msg, msg_size)) ||
        (err = check_battery(&p->battery, msg, msg_size)) ||
        (err = check_windows(p, msg, msg_size)) || (err = check_scenarios(p, msg, msg_size)))
        return err;
    if ((err = check_range(msg, msg_size, "initial_soc_wh", p->initial_soc_wh, 0.0,
                           p->battery.capacity_wh)) ||
        (err = check_range(msg, msg_size, "soc_step_wh", p->soc_step_wh, 0.001, 1e6)))
        return err;
    if (!p->terminal_value_auto && !isfinite(p->terminal_value_per_kwh))
        return opt_fail(msg, msg_size, BALKON_E_INVAL, "terminal_value_per_kwh: not a number");
    /* The grid spans at most the capacity (it covers the bounds and the initial SoC). */
    if (p->battery.capacity_wh / p->soc_step_wh + 1.0 > BALKON_OPT_MAX_LEVELS)
        return opt_fail(msg, msg_size, BALKON_E_TOOBIG,
                        "soc_step_wh: %g Wh gives more than %d SoC levels for %g Wh",
                        p->soc_step_wh, BALKON_OPT_MAX_LEVELS, p->battery.capacity_wh);
    return BALKON_OK;
}

int balkon_opt_problem_validate(const struct balkon_opt_problem *problem, char *msg,
                                size_t msg_size)
{
    return opt_problem_check(problem, msg, msg_size);
}
