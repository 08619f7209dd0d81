/* The shelly_gen1 driver as the configuration sees it; its runtime is src/devices/shelly_gen1.c. */
#include "balkon/driver.h"

#include "balkon/config_types.h"

#include <stdbool.h>
#include <string.h>

static void check(const struct balkon_device_config *device, const char *path,
                  struct balkon_config_errors *errors)
{
    if (!device->host[0])
        balkon_config_add_error(errors, path, "host", "is required for type \"shelly_gen1\"");
    if (device->role[0] && strcmp(device->role, "meter") != 0 && strcmp(device->role, "plug") != 0)
        balkon_config_add_error(
            errors, path, "role",
            "must be \"meter\" or \"plug\" for type \"shelly_gen1\", got \"%s\"", device->role);
}

const struct balkon_driver balkon_driver_shelly_gen1 = {
    .type = "shelly_gen1",
    .description = "Shelly Gen1 meter (3EM, EM) or plug (Plug S, 1PM)",
    .roles = DEVICE_ROLE_METER | DEVICE_ROLE_PLUG,
    .stale_s = 5.0,
    .check = check,
};
