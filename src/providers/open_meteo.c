/* Work in progress: the open_meteo adapter. */
#include "balkon/provider.h"

const struct balkon_provider balkon_provider_open_meteo = {.type = "open_meteo"};
