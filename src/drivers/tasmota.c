/* The tasmota driver as the config sees it: type, roles, staleness and the checks of its
 * options. How it talks to the device is in src/devices/tasmota.c. */
#include "balkon/driver.h"

#include "balkon/config_types.h"

#include <stdbool.h>
#include <string.h>

static bool wants_mqtt(const struct balkon_device_config *device)
{
    return strcmp(device->protocol, "mqtt") == 0;
}

static void check(const struct balkon_device_config *device, const char *path,
                  struct balkon_config_errors *errors)
{
    if (balkon_driver_check_transport(device, path, errors) && wants_mqtt(device) &&
        !device->topic[0])
        balkon_config_add_error(
            errors, path, "topic",
            "is required for type \"tasmota\" with protocol \"mqtt\" (the device's %%topic%%, "
            "e.g. \"tasmota_A1B2C3\")");
    if (wants_mqtt(device) && strpbrk(device->topic, "+#"))
        balkon_config_add_error(errors, path, "topic",
                                "must not contain MQTT wildcards, got \"%s\"", device->topic);
    balkon_driver_check_meter_or_plug(device, path, errors);
    if (device->power_scale == 0)
        balkon_config_add_error(errors, path, "power_scale", "must not be 0");
}

/* The setup UI's catalogue (GET /api/v1/devices/catalogue). */
static const struct balkon_driver_model models[] = {
    {"Smart plug", "plug"},
    {"Smart-meter reader (SML)", "meter"},
    {NULL, NULL},
};

static const struct balkon_driver_catalogue catalogue = {
    .brand = "Tasmota",
    .models = models,
    .default_port = 80,
    .host = true,
    .options = "protocol topic channel user password power_key power_scale poll_interval_s",
};

const struct balkon_driver balkon_driver_tasmota = {
    .type = "tasmota",
    .description = "Tasmota plug or smart-meter reader (HTTP or MQTT)",
    .roles = DEVICE_ROLE_METER | DEVICE_ROLE_PLUG,
    .stale_s = 10.0,
    .check = check,
    .catalogue = &catalogue,
};
