/* The home_assistant driver as the config sees it: type, roles, staleness and the checks of
 * its options. How it talks to Home Assistant is in src/devices/home_assistant.c. */
#include "balkon/driver.h"

#include "balkon/config_types.h"

#include <string.h>

/* "domain.object_id" with lowercase letters, digits and '_', as Home Assistant names
 * entities. */
static bool entity_id(const char *id)
{
    const char *dot = strchr(id, '.');
    if (!dot || dot == id || !dot[1] || strchr(dot + 1, '.'))
        return false;
    return strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789_.") == strlen(id);
}

static void check(const struct balkon_device_config *device, const char *path,
                  struct balkon_config_errors *errors)
{
    balkon_driver_check_host(device, path, errors);
    if (!device->token[0])
        balkon_config_add_error(errors, path, "token",
                                "is required for type \"home_assistant\" (a long-lived access "
                                "token from your Home Assistant profile, or \"env:NAME\")");
    if (!balkon_driver_check_entity_keys(device, path, errors, "a \"home_assistant\"",
                                         "the switch entity, e.g. \"switch.washer\"",
                                         "the power entity, e.g. \"sensor.grid_power\""))
        return;
    const char *const ids[] = {device->power_key, device->soc_key, device->state_key,
                               device->energy_key};
    const char *const keys[] = {"power_key", "soc_key", "state_key", "energy_key"};
    for (int i = 0; i < 4; i++)
        if (ids[i][0] && !entity_id(ids[i]))
            balkon_config_add_error(errors, path, keys[i],
                                    "must be an entity id like \"sensor.grid_power\", got \"%s\"",
                                    ids[i]);
    if (device->power_scale == 0)
        balkon_config_add_error(errors, path, "power_scale", "must not be 0");
}

/* The setup UI's catalogue (GET /api/v1/devices/catalogue). */
static const struct balkon_driver_model models[] = {
    {"Home Assistant meter entity", "meter"},
    {"Home Assistant inverter entity", "inverter"},
    {"Home Assistant battery entities", "battery"},
    {"Home Assistant switch", "plug,meter"},
    {NULL, NULL},
};

static const struct balkon_driver_catalogue catalogue = {
    .brand = "Home Assistant",
    .models = models,
    .default_port = 8123,
    .host = true,
    .options = "token power_key power_scale soc_key energy_key state_key poll_interval_s timeout_s",
};

const struct balkon_driver balkon_driver_home_assistant = {
    .type = "home_assistant",
    .description = "Home Assistant entities (REST API, long-lived token)",
    .roles = DEVICE_ROLE_METER | DEVICE_ROLE_INVERTER | DEVICE_ROLE_BATTERY | DEVICE_ROLE_PLUG,
    .stale_s = 10.0,
    .check = check,
    .catalogue = &catalogue,
};
