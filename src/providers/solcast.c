/* Work in progress: the solcast adapter. */
#include "balkon/provider.h"

const struct balkon_provider balkon_provider_solcast = {.type = "solcast"};
