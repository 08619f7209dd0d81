/* Work in progress: the entsoe adapter. */
#include "balkon/provider.h"

const struct balkon_provider balkon_provider_entsoe = {.type = "entsoe"};
