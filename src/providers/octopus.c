/* Work in progress: the octopus adapter. */
#include "balkon/provider.h"

const struct balkon_provider balkon_provider_octopus = {.type = "octopus"};
