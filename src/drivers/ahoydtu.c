/* The ahoydtu driver as the config sees it: type, roles, staleness and the checks of its
 * options. How it talks to the device is in src/devices/ahoydtu.c. */
#include "balkon/driver.h"

#include "balkon/config_types.h"

static void check(const struct balkon_device_config *device, const char *path,
                  struct balkon_config_errors *errors)
{
    balkon_driver_check_host(device, path, errors);
    /* AhoyDTU numbers its inverters 0 … MAX_NUM_INVERTERS-1 (at most 16 on an ESP32). */
    if (device->channel < 0 || device->channel > 15)
        balkon_config_add_error(errors, path, "channel",
                                "must be the inverter's id at the DTU, 0 to 15, got %lld",
                                (long long)device->channel);
    if (device->max_power_w <= 0)
        balkon_config_add_error(errors, path, "max_power_w",
                                "must be > 0 for type \"ahoydtu\" (the highest limit to set)");
}

/* The setup UI's catalogue (GET /api/v1/devices/catalogue). */
static const struct balkon_driver_model models[] = {
    {"HM-300/350/400", "inverter"}, {"HM-600/700/800", "inverter"}, {"HM-1200/1500", "inverter"},
    {"HMS-800-2T", "inverter"},     {"TSUN TSOL-M800", "inverter"}, {NULL, NULL},
};

static const struct balkon_driver_catalogue catalogue = {
    .brand = "Hoymiles/TSUN (AhoyDTU)",
    .models = models,
    .default_port = 80,
    .host = true,
    .options = "channel max_power_w password poll_interval_s timeout_s",
};

const struct balkon_driver balkon_driver_ahoydtu = {
    .type = "ahoydtu",
    .description = "Hoymiles/TSUN inverter via AhoyDTU (REST API)",
    .roles = DEVICE_ROLE_INVERTER,
    .stale_s = 15.0,
    .check = check,
    .catalogue = &catalogue,
};
