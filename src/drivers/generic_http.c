/* The http_json driver as the config sees it: type, roles, staleness and the checks of its
 * options. How it talks to the device is in src/devices/generic_http.c. */
#include "balkon/driver.h"

#include "balkon/config_types.h"

static void check(const struct balkon_device_config *device, const char *path,
                  struct balkon_config_errors *errors)
{
    balkon_driver_check_host(device, path, errors);
    if (!device->path[0])
        balkon_config_add_error(errors, path, "path",
                                "is required for type \"http_json\" (e.g. \"/status\")");
    else if (device->path[0] != '/')
        balkon_config_add_error(errors, path, "path", "must start with \"/\", got \"%s\"",
                                device->path);
    if (!device->power_key[0])
        balkon_config_add_error(
            errors, path, "power_key",
            "is required for type \"http_json\" (where the power is, e.g. \"emeters[0].power\")");
    if (!balkon_driver_role_bit(device->role))
        balkon_config_add_error(
            errors, path, "role",
            "must be \"meter\", \"inverter\", \"battery\" or \"plug\", got \"%s\"", device->role);
    if (device->power_scale == 0)
        balkon_config_add_error(errors, path, "power_scale", "must not be 0");
}

/* The setup UI's catalogue (GET /api/v1/devices/catalogue). */
static const struct balkon_driver_model models[] = {
    {"HTTP JSON device", "meter,inverter,battery,plug"},
    {NULL, NULL},
};

static const struct balkon_driver_catalogue catalogue = {
    .brand = "Generic",
    .models = models,
    .default_port = 80,
    .host = true,
    .options =
        "path power_key power_scale soc_key state_key user password poll_interval_s timeout_s",
};

const struct balkon_driver balkon_driver_http_json = {
    .type = "http_json",
    .description = "generic HTTP JSON device",
    .roles = DEVICE_ROLE_METER | DEVICE_ROLE_INVERTER | DEVICE_ROLE_BATTERY | DEVICE_ROLE_PLUG,
    .stale_s = 5.0,
    .check = check,
    .catalogue = &catalogue,
};
