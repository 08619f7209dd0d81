/* Strategy "self_consumption": what vendor batteries do on their own. Charge from PV
 * surplus, discharge to cover the load, each up to the battery's power limit; never from
 * or to the grid. The plan is decided slot by slot from the slot's own PV and load, so the
 * same strategy run on measured data is the self-consumption counterfactual. */
#include "balkon/error.h"
#include "optimizer_internal.h"

static int plan_self_consumption(const struct balkon_opt_problem *p,
                                 struct balkon_opt_workspace *ws,
                                 struct balkon_opt_command *commands)
{
    for (size_t t = 0; t < p->slot_count; t++)
        commands[t] = opt_self_consumption_command(&p->battery, &p->slots[t]);
    return BALKON_OK;
}

const struct balkon_opt_strategy opt_strategy_self_consumption = {
    .name = "self_consumption",
    .description = "charge from PV surplus, discharge to cover the load (what vendor "
                   "batteries do)",
    .plan_fn = plan_self_consumption,
};
