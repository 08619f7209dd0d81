/* The apsystems_ez1 driver as the config sees it: type, roles, staleness and the checks of
 * its options. How it talks to the device is in src/devices/apsystems_ez1.c. */
#include "balkon/driver.h"

#include "balkon/config_types.h"

static void check(const struct balkon_device_config *device, const char *path,
                  struct balkon_config_errors *errors)
{
    balkon_driver_check_host(device, path, errors);
    if (device->max_power_w <= 0)
        balkon_config_add_error(
            errors, path, "max_power_w",
            "must be > 0 for type \"apsystems_ez1\" (the highest limit to set)");
}

/* The setup UI's catalogue (GET /api/v1/devices/catalogue). */
static const struct balkon_driver_model models[] = {
    {"EZ1-M", "inverter"},
    {"EZ1-H", "inverter"},
    {NULL, NULL},
};

static const struct balkon_driver_catalogue catalogue = {
    .brand = "APsystems",
    .models = models,
    .default_port = 8050,
    .host = true,
    .options = "max_power_w poll_interval_s timeout_s",
};

const struct balkon_driver balkon_driver_apsystems_ez1 = {
    .type = "apsystems_ez1",
    .description = "APsystems EZ1 micro-inverter (local API, port 8050)",
    .roles = DEVICE_ROLE_INVERTER,
    /* The EZ1 answers slowly and sometimes not at all for a poll or two. */
    .stale_s = 30.0,
    .check = check,
    .catalogue = &catalogue,
};
