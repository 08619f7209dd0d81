/* Work in progress: the forecast_solar adapter. */
#include "balkon/provider.h"

const struct balkon_provider balkon_provider_forecast_solar = {.type = "forecast_solar"};
