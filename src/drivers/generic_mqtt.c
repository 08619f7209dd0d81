/* The mqtt_json driver as the config sees it: type, roles, staleness and the checks of its
 * options. How it talks to the device is in src/devices/generic_mqtt.c. */
#include "balkon/driver.h"

#include "balkon/config_types.h"

#include <string.h>

static void check(const struct balkon_device_config *device, const char *path,
                  struct balkon_config_errors *errors)
{
    unsigned role = balkon_driver_role_bit(device->role);
    if (!device->topic[0])
        balkon_config_add_error(errors, path, "topic",
                                "is required for type \"mqtt_json\" (the topic it publishes on)");
    if (!role)
        balkon_config_add_error(
            errors, path, "role",
            "must be \"meter\", \"inverter\", \"battery\" or \"plug\", got \"%s\"", device->role);
    if (device->power_scale == 0)
        balkon_config_add_error(errors, path, "power_scale", "must not be 0");
    if (!device->command_topic[0])
        return;
    if (role == DEVICE_ROLE_METER)
        balkon_config_add_error(errors, path, "command_topic",
                                "must be empty for a meter (it takes no commands)");
    if (strpbrk(device->command_topic, "+#"))
        balkon_config_add_error(errors, path, "command_topic",
                                "must not contain MQTT wildcards, got \"%s\"",
                                device->command_topic);
    if (role == DEVICE_ROLE_PLUG && !device->state_key[0])
        balkon_config_add_error(
            errors, path, "state_key",
            "is required for a plug with a command_topic (the switch is verified by it)");
}

/* The setup UI's catalogue (GET /api/v1/devices/catalogue). */
static const struct balkon_driver_model models[] = {
    {"MQTT JSON device", "meter,inverter,battery,plug"},
    {NULL, NULL},
};

static const struct balkon_driver_catalogue catalogue = {
    .brand = "Generic",
    .models = models,
    .default_port = 0,
    .host = false,
    .options = "topic power_key power_scale soc_key state_key command_topic command_payload "
               "max_power_w timeout_s",
};

const struct balkon_driver balkon_driver_mqtt_json = {
    .type = "mqtt_json",
    .description = "generic MQTT JSON device",
    .roles = DEVICE_ROLE_METER | DEVICE_ROLE_INVERTER | DEVICE_ROLE_BATTERY | DEVICE_ROLE_PLUG,
    .stale_s = 60.0,
    .check = check,
    .catalogue = &catalogue,
};
