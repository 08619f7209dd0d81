/* Work in progress: the uk_carbon adapter. */
#include "balkon/provider.h"

const struct balkon_provider balkon_provider_uk_carbon = {.type = "uk_carbon"};
