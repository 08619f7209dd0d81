/* The modbus and sunspec drivers as the config sees them: type, roles, staleness and the
 * checks of their options. How they talk to the device is in src/devices/modbus.c and
 * src/devices/sunspec.c. */
#include "balkon/driver.h"

#include "balkon/config_types.h"
#include "balkon/modbus_map.h"

#include <string.h>

/* "" (a meter for modbus; for sunspec whatever its models say), "meter", "inverter" or
 * "battery". */
static void check_role(const struct balkon_device_config *device, const char *path,
                       struct balkon_config_errors *errors)
{
    if (!device->role[0] || strcmp(device->role, "meter") == 0 ||
        strcmp(device->role, "inverter") == 0 || strcmp(device->role, "battery") == 0)
        return;
    balkon_config_add_error(errors, path, "role",
                            "must be \"meter\", \"inverter\" or \"battery\" for type \"%s\", got "
                            "\"%s\"",
                            device->type, device->role);
}

static void check_unit(const struct balkon_device_config *device, const char *path,
                       struct balkon_config_errors *errors)
{
    if (device->unit_id < 0 || device->unit_id > 247)
        balkon_config_add_error(errors, path, "unit_id", "must be 0 to 247, got %lld",
                                (long long)device->unit_id);
}

static void check_modbus(const struct balkon_device_config *device, const char *path,
                         struct balkon_config_errors *errors)
{
    balkon_driver_check_host(device, path, errors);
    check_role(device, path, errors);
    check_unit(device, path, errors);
    struct balkon_modbus_map map;
    char why[256];
    if (!device->registers[0]) {
        balkon_config_add_error(errors, path, "registers",
                                "is required for type \"modbus\" (e.g. \"power_w=40087:int16\")");
    } else if (!balkon_modbus_map_parse(device->registers, &map, why, sizeof why)) {
        balkon_config_add_error(errors, path, "registers", "%s", why);
    } else {
        bool power = false;
        for (size_t i = 0; i < map.count; i++)
            power |= strcmp(map.entries[i].name, "power_w") == 0;
        if (!power)
            balkon_config_add_error(errors, path, "registers", "must map power_w (the %s's power)",
                                    device->role[0] ? device->role : "meter");
    }
    if (device->power_scale == 0)
        balkon_config_add_error(errors, path, "power_scale", "must not be 0");
}

static void check_sunspec(const struct balkon_device_config *device, const char *path,
                          struct balkon_config_errors *errors)
{
    balkon_driver_check_host(device, path, errors);
    check_role(device, path, errors);
    check_unit(device, path, errors);
    if (device->power_scale == 0)
        balkon_config_add_error(errors, path, "power_scale", "must not be 0");
}

/* The setup UI's catalogue (GET /api/v1/devices/catalogue). */
static const struct balkon_driver_model modbus_models[] = {
    {"Modbus TCP meter (register map)", "meter"},
    {"Modbus TCP inverter (register map)", "inverter"},
    {"Modbus TCP battery (register map)", "battery"},
    {NULL, NULL},
};

static const struct balkon_driver_catalogue modbus_catalogue = {
    .brand = "Modbus TCP",
    .models = modbus_models,
    .default_port = 502,
    .host = true,
    .options = "unit_id registers poll_interval_s timeout_s",
};

static const struct balkon_driver_model sunspec_models[] = {
    {"SunSpec meter (models 201-204)", "meter"},
    {"SunSpec inverter (models 101-103)", "inverter"},
    {"SunSpec storage (models 124, 713, 802)", "battery"},
    {NULL, NULL},
};

static const struct balkon_driver_catalogue sunspec_catalogue = {
    .brand = "SunSpec (Modbus TCP)",
    .models = sunspec_models,
    .default_port = 502,
    .host = true,
    .options = "unit_id poll_interval_s timeout_s",
};

const struct balkon_driver balkon_driver_modbus = {
    .type = "modbus",
    .description = "any Modbus TCP device, read by a register map",
    .roles = DEVICE_ROLE_METER | DEVICE_ROLE_INVERTER | DEVICE_ROLE_BATTERY,
    .stale_s = 10.0,
    .check = check_modbus,
    .catalogue = &modbus_catalogue,
};

const struct balkon_driver balkon_driver_sunspec = {
    .type = "sunspec",
    .description = "SunSpec meter, inverter or storage over Modbus TCP",
    .roles = DEVICE_ROLE_METER | DEVICE_ROLE_INVERTER | DEVICE_ROLE_BATTERY,
    .stale_s = 10.0,
    .check = check_sunspec,
    .catalogue = &sunspec_catalogue,
};
