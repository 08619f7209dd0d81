/* Work in progress: the awattar adapter. */
#include "balkon/provider.h"

const struct balkon_provider balkon_provider_awattar = {.type = "awattar"};
