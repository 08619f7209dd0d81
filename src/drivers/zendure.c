/* The zendure driver as the config sees it: type, roles, staleness and the checks of its
 * options. How it talks to the device is in src/devices/zendure.c. */
#include "balkon/driver.h"

#include "balkon/config_types.h"

#include <stdbool.h>
#include <string.h>

static bool wants_mqtt(const struct balkon_device_config *device)
{
    return strcmp(device->protocol, "mqtt") == 0;
}

static bool topic_safe(const char *text)
{
    return !strpbrk(text, "+#/");
}

static void check(const struct balkon_device_config *device, const char *path,
                  struct balkon_config_errors *errors)
{
    bool mqtt = wants_mqtt(device);
    if (!mqtt && strcmp(device->protocol, "http") != 0) {
        balkon_config_add_error(errors, path, "protocol",
                                "must be \"http\" or \"mqtt\" for type \"zendure\", got \"%s\"",
                                device->protocol);
        return;
    }
    if (!mqtt && !device->host[0])
        balkon_config_add_error(errors, path, "host",
                                "is required for type \"zendure\" with protocol \"http\"");
    if (!device->serial[0])
        balkon_config_add_error(errors, path, "serial",
                                "is required for type \"zendure\" (the device's serial number%s)",
                                mqtt ? ", its deviceKey in the MQTT topics"
                                     : ", sent with every write");
    else if (mqtt && !topic_safe(device->serial))
        balkon_config_add_error(errors, path, "serial",
                                "must not contain '/', '+' or '#', got \"%s\"", device->serial);
    if (mqtt && !device->product_key[0])
        balkon_config_add_error(errors, path, "product_key",
                                "is required for type \"zendure\" with protocol \"mqtt\" (e.g. "
                                "\"73bkTV\" for a Hub 1200)");
    else if (mqtt && !topic_safe(device->product_key))
        balkon_config_add_error(errors, path, "product_key",
                                "must not contain '/', '+' or '#', got \"%s\"",
                                device->product_key);
    if (device->max_power_w <= 0)
        balkon_config_add_error(errors, path, "max_power_w", "must be more than 0 W for a battery");
}

/* The setup UI's catalogue (GET /api/v1/devices/catalogue). */
static const struct balkon_driver_model models[] = {
    {"SolarFlow 800", "battery"},
    {"SolarFlow 800 Pro", "battery"},
    {"SolarFlow 2400 AC", "battery"},
    {"Hyper 2000", "battery"},
    {NULL, NULL},
};

static const struct balkon_driver_catalogue catalogue = {
    .brand = "Zendure",
    .models = models,
    .default_port = 80,
    .host = true,
    .options = "protocol serial product_key max_power_w poll_interval_s",
};

const struct balkon_driver balkon_driver_zendure = {
    .type = "zendure",
    .description = "Zendure SolarFlow battery (local HTTP API or MQTT)",
    .roles = DEVICE_ROLE_BATTERY,
    .stale_s = 20,
    .check = check,
    .catalogue = &catalogue,
};
