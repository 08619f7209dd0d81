/* The sma_speedwire driver as the config sees it: type, roles, staleness and the checks of
 * its options. How it listens to the meter is in src/devices/sma_speedwire.c. */
#include "balkon/driver.h"

#include "balkon/config_types.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

static void check(const struct balkon_device_config *device, const char *path,
                  struct balkon_config_errors *errors)
{
    if (device->serial[0]) {
        size_t n = strspn(device->serial, "0123456789");
        if (device->serial[n] || n > 10 || strtoull(device->serial, NULL, 10) == 0 ||
            strtoull(device->serial, NULL, 10) > 0xFFFFFFFFull)
            balkon_config_add_error(errors, path, "serial",
                                    "must be the meter's serial number as printed on it (digits, "
                                    "e.g. \"1901403938\"), got \"%s\"",
                                    device->serial);
    } else if (!device->host[0]) {
        balkon_config_add_error(errors, path, "serial",
                                "or host is required for type \"sma_speedwire\": several meters "
                                "may send to the same group");
    } else {
        struct in_addr addr;
        if (inet_pton(AF_INET, device->host, &addr) != 1)
            balkon_config_add_error(errors, path, "host",
                                    "must be the meter's IPv4 address for type \"sma_speedwire\" "
                                    "(or set serial), got \"%s\"",
                                    device->host);
    }
    if (device->role[0] && strcmp(device->role, "meter") != 0)
        balkon_config_add_error(errors, path, "role",
                                "must be \"meter\" for type \"sma_speedwire\", got \"%s\"",
                                device->role);
    if (device->power_scale == 0)
        balkon_config_add_error(errors, path, "power_scale", "must not be 0");
}

/* The setup UI's catalogue (GET /api/v1/devices/catalogue). The meter is found among the
 * multicast datagrams by its serial or its address; the port is Speedwire's. */
static const struct balkon_driver_model models[] = {
    {"Energy Meter 2.0", "meter"},
    {"Sunny Home Manager 2.0", "meter"},
    {NULL, NULL},
};

static const struct balkon_driver_catalogue catalogue = {
    .brand = "SMA",
    .models = models,
    .default_port = 9522,
    .host = true,
    .options = "serial poll_interval_s",
};

const struct balkon_driver balkon_driver_sma_speedwire = {
    .type = "sma_speedwire",
    .description = "SMA Energy Meter / Sunny Home Manager 2.0 (Speedwire multicast)",
    .roles = DEVICE_ROLE_METER,
    .stale_s = 5.0,
    .check = check,
    .catalogue = &catalogue,
};
