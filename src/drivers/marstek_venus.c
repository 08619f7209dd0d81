/* The marstek_venus driver as the config sees it: type, roles, staleness and the checks of its
 * options. How it talks to the device is in src/devices/marstek_venus.c. */
#include "balkon/driver.h"

#include "balkon/config_types.h"

#include <string.h>

static void check(const struct balkon_device_config *device, const char *path,
                  struct balkon_config_errors *errors)
{
    balkon_driver_check_host(device, path, errors);
    /* "" (the default) is the battery alone. */
    if (device->role[0] && strcmp(device->role, "battery") != 0 &&
        strcmp(device->role, "battery+meter") != 0)
        balkon_config_add_error(
            errors, path, "role",
            "must be \"battery\" or \"battery+meter\" for type \"marstek_venus\", got \"%s\"",
            device->role);
    if (device->max_power_w <= 0)
        balkon_config_add_error(errors, path, "max_power_w", "must be more than 0 W for a battery");
    /* The setpoint is refreshed at a poll, every third of failsafe_s: polls must be that often. */
    if (device->failsafe_s < 3 * device->poll_interval_s)
        balkon_config_add_error(errors, path, "failsafe_s",
                                "must be at least 3 × poll_interval_s (%g s) for type "
                                "\"marstek_venus\", got %g s",
                                3 * device->poll_interval_s, device->failsafe_s);
}

/* The setup UI's catalogue (GET /api/v1/devices/catalogue). */
static const struct balkon_driver_model models[] = {
    {"Venus E", "battery,battery+meter"},
    {"Venus C", "battery,battery+meter"},
    {"Venus D", "battery,battery+meter"},
    {NULL, NULL},
};

static const struct balkon_driver_catalogue catalogue = {
    .brand = "Marstek",
    .models = models,
    .default_port = 30000,
    .host = true,
    .options = "power_scale max_power_w poll_interval_s",
};

const struct balkon_driver balkon_driver_marstek_venus = {
    .type = "marstek_venus",
    .description = "Marstek Venus battery (local Open API over UDP)",
    .roles = DEVICE_ROLE_BATTERY | DEVICE_ROLE_METER,
    .stale_s = 15,
    .check = check,
    .catalogue = &catalogue,
};
