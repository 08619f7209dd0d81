/* The strategy table and the plan: a strategy's commands simulated on the problem's data,
 * next to the two baselines (no battery; self-consumption) on the same data. */
#include <stdio.h>
#include <string.h>

#include "balkon/error.h"
#include "optimizer_internal.h"

#define OPT_STRATEGY(name) &opt_strategy_##name,
static const struct balkon_opt_strategy *const strategies[] = {
#include "strategies_list.h"
};
#undef OPT_STRATEGY
#define STRATEGY_COUNT (sizeof(strategies) / sizeof(strategies[0]))

const struct balkon_opt_strategy *const *balkon_opt_strategies(size_t *count)
{
    *count = STRATEGY_COUNT;
    return strategies;
}

const struct balkon_opt_strategy *balkon_opt_strategy_find(const char *name)
{
    for (size_t i = 0; name && i < STRATEGY_COUNT; i++) {
        if (strcmp(strategies[i]->name, name) == 0)
            return strategies[i];
    }
    return NULL;
}

void balkon_opt_strategy_list_names(char *out, size_t size)
{
    out[0] = '\0';
    for (size_t i = 0; i < STRATEGY_COUNT; i++) {
        size_t len = strlen(out);
        snprintf(out + len, size - len, "%s\"%s\"", i ? ", " : "", strategies[i]->name);
    }
}

static int run_baselines(const struct balkon_opt_problem *problem,
                         struct balkon_opt_command *commands, struct balkon_opt_plan *out)
{
    struct balkon_opt_problem none = *problem;
    int err;

    none.battery.capacity_wh = 0.0;
    none.initial_soc_wh = 0.0;
    for (size_t t = 0; t < problem->slot_count; t++)
        commands[t] = (struct balkon_opt_command){BALKON_OPT_IDLE, 0.0};
    if ((err = balkon_opt_simulate(&none, commands, &out->no_battery)))
        return err;
    if ((err = opt_strategy_self_consumption.plan_fn(problem, NULL, commands)))
        return err;
    return balkon_opt_simulate(problem, commands, &out->self_consumption);
}

int balkon_opt_plan(const struct balkon_opt_problem *problem, const char *strategy,
                    struct balkon_opt_workspace *ws, struct balkon_opt_plan *out, char *msg,
                    size_t msg_size)
{
    struct balkon_opt_command commands[BALKON_OPT_MAX_SLOTS];
    const struct balkon_opt_strategy *s = balkon_opt_strategy_find(strategy);
    int err;

    if (!s) {
        char names[128] = "";
        for (size_t i = 0; i < STRATEGY_COUNT; i++)
            snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? ", " : "",
                     strategies[i]->name);
        return opt_fail(msg, msg_size, BALKON_E_NOTFOUND, "strategy: unknown \"%s\", expected %s",
                        strategy ? strategy : "", names);
    }
    if ((err = opt_problem_check(problem, msg, msg_size)))
        return err;
    if (s->check_fn && (err = s->check_fn(problem, msg, msg_size)))
        return err;
    if ((err = s->plan_fn(problem, ws, commands)))
        return opt_fail(msg, msg_size, err, "strategy %s: %s", s->name, balkon_strerror(err));

    snprintf(out->strategy, sizeof(out->strategy), "%s", s->name);
    out->terminal_value_per_kwh = balkon_opt_terminal_value_per_kwh(problem);
    if ((err = balkon_opt_simulate(problem, commands, &out->plan)) ||
        (err = run_baselines(problem, commands, out)))
        return opt_fail(msg, msg_size, err, "simulation: %s", balkon_strerror(err));
    return BALKON_OK;
}
