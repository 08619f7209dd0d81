/* What the savings.compute service hands back, owned by whoever called it: freed here, in
 * core, so the callers (HTTP, Home Assistant) need nothing of the planner that computes it. */
#include "balkon/savings_types.h"

#include <stdlib.h>

void balkon_savings_free(struct balkon_savings *savings)
{
    free(savings->periods);
    savings->periods = NULL;
    savings->period_count = 0;
}
