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

const struct balkon_driver balkon_driver_opendtu = {
    .type = "opendtu",
    .description = "Hoymiles inverter via OpenDTU (HTTP or MQTT)",
    .roles = DEVICE_ROLE_INVERTER,
    .stale_s = 15.0,
    .check = check,
};
