/* The shelly_gen2 driver as the configuration sees it; its runtime is src/devices/shelly_gen2.c. */
#include "balkon/driver.h"

#include "balkon/config_types.h"

#include <stdbool.h>
#include <string.h>

static void check(const struct balkon_device_config *device, const char *path,
                  struct balkon_config_errors *errors)
{
    if (!device->host[0])
        balkon_config_add_error(errors, path, "host", "is required for type \"shelly_gen2\"");
    if (device->role[0] && strcmp(device->role, "meter") != 0 && strcmp(device->role, "plug") != 0)
        balkon_config_add_error(
            errors, path, "role",
            "must be \"meter\" or \"plug\" for type \"shelly_gen2\", got \"%s\"", device->role);
}

const struct balkon_driver balkon_driver_shelly_gen2 = {
    .type = "shelly_gen2",
    .description = "Shelly Gen2/Gen3 meter or plug (HTTP RPC)",
    .roles = DEVICE_ROLE_METER | DEVICE_ROLE_PLUG,
    .stale_s = 5.0,
    .check = check,
};
