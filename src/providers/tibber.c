/* Work in progress: the tibber adapter. */
#include "balkon/provider.h"

const struct balkon_provider balkon_provider_tibber = {.type = "tibber"};
