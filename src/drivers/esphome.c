/* The esphome driver as the config sees it: type, roles, staleness and the checks of its
 * options. How it talks to the device is in src/devices/esphome.c. */
#include "balkon/driver.h"

#include "balkon/config_types.h"

#include <string.h>

static void check(const struct balkon_device_config *device, const char *path,
                  struct balkon_config_errors *errors)
{
    balkon_driver_check_host(device, path, errors);
    if (!balkon_driver_check_entity_keys(device, path, errors, "an \"esphome\"",
                                         "the switch's id, e.g. \"relay\"",
                                         "the power sensor's id, e.g. \"power\""))
        return;
    const char *const ids[] = {device->power_key, device->soc_key, device->state_key,
                               device->energy_key};
    const char *const keys[] = {"power_key", "soc_key", "state_key", "energy_key"};
    for (int i = 0; i < 4; i++)
        if (strpbrk(ids[i], "/?#"))
            balkon_config_add_error(errors, path, keys[i],
                                    "must be an entity's id or name, without '/', '?' or '#', "
                                    "got \"%s\"",
                                    ids[i]);
    if (device->power_scale == 0)
        balkon_config_add_error(errors, path, "power_scale", "must not be 0");
}

/* The setup UI's catalogue (GET /api/v1/devices/catalogue). */
static const struct balkon_driver_model models[] = {
    {"ESPHome meter", "meter"},
    {"ESPHome smart plug", "plug,meter"},
    {"ESPHome battery", "battery"},
    {NULL, NULL},
};

static const struct balkon_driver_catalogue catalogue = {
    .brand = "ESPHome",
    .models = models,
    .default_port = 80,
    .host = true,
    .options = "power_key power_scale soc_key energy_key state_key user password poll_interval_s "
               "timeout_s",
};

const struct balkon_driver balkon_driver_esphome = {
    .type = "esphome",
    .description = "ESPHome device (web server REST API)",
    .roles = DEVICE_ROLE_METER | DEVICE_ROLE_INVERTER | DEVICE_ROLE_BATTERY | DEVICE_ROLE_PLUG,
    .stale_s = 5.0,
    .check = check,
    .catalogue = &catalogue,
};
