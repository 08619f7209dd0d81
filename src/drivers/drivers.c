/* The driver table (include/balkon/drivers_list.h) as the configuration reads it. */
#include "balkon/driver.h"

#include "balkon/config_types.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const struct balkon_driver *const drivers[] = {
#define BALKON_DRIVER(name) &balkon_driver_##name,
#include "balkon/drivers_list.h"
#undef BALKON_DRIVER
};
#define DRIVER_COUNT (sizeof drivers / sizeof drivers[0])

const struct balkon_driver *balkon_driver_find(const char *type)
{
    for (size_t i = 0; i < DRIVER_COUNT; i++)
        if (strcmp(drivers[i]->type, type) == 0)
            return drivers[i];
    return NULL;
}

void balkon_driver_list_types(char *out, size_t size)
{
    out[0] = '\0';
    for (size_t i = 0; i < DRIVER_COUNT; i++) {
        size_t len = strlen(out);
        snprintf(out + len, size - len, "%s\"%s\"", i ? ", " : "", drivers[i]->type);
    }
}

unsigned balkon_driver_role_bit(const char *role)
{
    static const struct {
        const char *name;
        unsigned bit;
    } roles[] = {{"", DEVICE_ROLE_METER},
                 {"meter", DEVICE_ROLE_METER},
                 {"inverter", DEVICE_ROLE_INVERTER},
                 {"battery", DEVICE_ROLE_BATTERY},
                 {"plug", DEVICE_ROLE_PLUG}};
    for (size_t i = 0; i < sizeof roles / sizeof *roles; i++)
        if (strcmp(role, roles[i].name) == 0)
            return roles[i].bit;
    return 0;
}

void balkon_driver_check_host(const struct balkon_device_config *device, const char *path,
                              struct balkon_config_errors *errors)
{
    if (!device->host[0])
        balkon_config_add_error(errors, path, "host", "is required for type \"%s\"", device->type);
}

void balkon_driver_check_meter_or_plug(const struct balkon_device_config *device, const char *path,
                                       struct balkon_config_errors *errors)
{
    if (device->role[0] && strcmp(device->role, "meter") != 0 && strcmp(device->role, "plug") != 0)
        balkon_config_add_error(errors, path, "role",
                                "must be \"meter\" or \"plug\" for type \"%s\", got \"%s\"",
                                device->type, device->role);
}

bool balkon_driver_check_transport(const struct balkon_device_config *device, const char *path,
                                   struct balkon_config_errors *errors)
{
    bool mqtt = strcmp(device->protocol, "mqtt") == 0;
    if (!mqtt && strcmp(device->protocol, "http") != 0) {
        balkon_config_add_error(errors, path, "protocol",
                                "must be \"http\" or \"mqtt\" for type \"%s\", got \"%s\"",
                                device->type, device->protocol);
        return false;
    }
    if (!mqtt && !device->host[0]) {
        balkon_config_add_error(errors, path, "host",
                                "is required for type \"%s\" with protocol \"http\"", device->type);
        return false;
    }
    return true;
}
