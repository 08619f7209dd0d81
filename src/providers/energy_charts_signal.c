/* Work in progress: the energy_charts_signal adapter. */
#include "balkon/provider.h"

const struct balkon_provider balkon_provider_energy_charts_signal = {.type = "energy_charts_signal"};
