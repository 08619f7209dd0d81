/* Work in progress: the energy_charts adapter. */
#include "balkon/provider.h"

const struct balkon_provider balkon_provider_energy_charts = {.type = "energy_charts"};
