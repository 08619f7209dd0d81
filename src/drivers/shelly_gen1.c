/* The shelly_gen1 driver as the config sees it: type, roles, staleness and the checks of its
 * options. How it talks to the device is in src/devices/shelly_gen1.c. */
#include "balkon/driver.h"

#include "balkon/config_types.h"

static void check(const struct balkon_device_config *device, const char *path,
                  struct balkon_config_errors *errors)
{
    balkon_driver_check_host(device, path, errors);
    balkon_driver_check_meter_or_plug(device, path, errors);
}

/* The setup UI's catalogue (GET /api/v1/devices/catalogue). */
static const struct balkon_driver_model models[] = {
    {"3EM (Gen1)", "meter"},      {"EM (Gen1)", "meter"}, {"Plug S (Gen1)", "plug"},
    {"1PM (Gen1)", "plug,meter"}, {NULL, NULL},
};

static const struct balkon_driver_catalogue catalogue = {
    .brand = "Shelly",
    .models = models,
    .default_port = 80,
    .host = true,
    .options = "channel user password poll_interval_s timeout_s",
};

const struct balkon_driver balkon_driver_shelly_gen1 = {
    .type = "shelly_gen1",
    .description = "Shelly Gen1 meter (3EM, EM) or plug (Plug S, 1PM)",
    .roles = DEVICE_ROLE_METER | DEVICE_ROLE_PLUG,
    .stale_s = 5.0,
    .check = check,
    .catalogue = &catalogue,
};
