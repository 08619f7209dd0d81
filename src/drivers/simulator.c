/* The simulator driver as the config sees it: type, roles, staleness and the checks of its
 * options. How it talks to the device is in src/devices/simulator.c. */
#include "balkon/driver.h"

#include "balkon/config_types.h"

/* The setup UI's catalogue (GET /api/v1/devices/catalogue). */
static const struct balkon_driver_model models[] = {
    {"Simulated site", ""},
    {NULL, NULL},
};

static const struct balkon_driver_catalogue catalogue = {
    .brand = "BalkonSolar",
    .models = models,
    .default_port = 0,
    .host = false,
    .options = "",
};

const struct balkon_driver balkon_driver_simulator = {
    .type = "simulator",
    .description = "simulated meter, PV inverter and battery",
    .roles = DEVICE_ROLE_METER | DEVICE_ROLE_INVERTER | DEVICE_ROLE_BATTERY | DEVICE_ROLE_PLUG,
    .stale_s = 10,
    .catalogue = &catalogue,
};
