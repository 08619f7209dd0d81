/* Work in progress: the corrently adapter. */
#include "balkon/provider.h"

const struct balkon_provider balkon_provider_corrently = {.type = "corrently"};
