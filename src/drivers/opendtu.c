/* The opendtu driver as the config sees it: type, roles, staleness and the checks of its
 * options. How it talks to the device is in src/devices/opendtu.c. */
#include "balkon/driver.h"

#include "balkon/config_types.h"

#include <string.h>

static void check(const struct balkon_device_config *device, const char *path,
                  struct balkon_config_errors *errors)
{
    balkon_driver_check_transport(device, path, errors);
    if (!device->serial[0]) {
        balkon_config_add_error(errors, path, "serial",
                                "is required for type \"opendtu\" (the inverter's serial number, "
                                "e.g. \"116180400144\")");
    } else {
        size_t n = strspn(device->serial, "0123456789abcdefABCDEF");
        if (device->serial[n] || n > 16)
            balkon_config_add_error(errors, path, "serial",
                                    "must be the inverter's serial (hex digits), got \"%s\"",
                                    device->serial);
    }
    if (strpbrk(device->topic, "+#"))
        balkon_config_add_error(errors, path, "topic",
                                "must not contain MQTT wildcards, got \"%s\"", device->topic);
    if (device->max_power_w <= 0)
        balkon_config_add_error(errors, path, "max_power_w",
                                "must be > 0 for type \"opendtu\" (the highest limit to set)");
}

/* The setup UI's catalogue (GET /api/v1/devices/catalogue). */
static const struct balkon_driver_model models[] = {
    {"HM-300/350/400", "inverter"},
    {"HM-600/700/800", "inverter"},
    {"HM-1200/1500", "inverter"},
    {"HMS-800-2T", "inverter"},
    {"HMS-1600-4T", "inverter"},
    {"HMS-2000-4T", "inverter"},
    {NULL, NULL},
};

static const struct balkon_driver_catalogue catalogue = {
    .brand = "Hoymiles (OpenDTU)",
    .models = models,
    .default_port = 80,
    .host = true,
    .options = "protocol serial topic user password max_power_w poll_interval_s",
};

const struct balkon_driver balkon_driver_opendtu = {
    .type = "opendtu",
    .description = "Hoymiles inverter via OpenDTU (HTTP or MQTT)",
    .roles = DEVICE_ROLE_INVERTER,
    .stale_s = 15.0,
    .check = check,
    .catalogue = &catalogue,
};
