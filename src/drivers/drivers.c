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

size_t balkon_driver_count(void)
{
    return DRIVER_COUNT;
}

const struct balkon_driver *balkon_driver_at(size_t i)
{
    return i < DRIVER_COUNT ? drivers[i] : NULL;
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

/* A host is what goes between "http://" and the path: a name, an IPv4 or an IPv6 address.
 * "127.0.0.1:9" or "http://x" would otherwise reach libcurl and come back as "URL using
 * bad/illegal format" long after the form was saved. */
static void check_host_format(const char *host, const char *path,
                              struct balkon_config_errors *errors)
{
    const char *colon = strchr(host, ':');
    bool ipv6 = colon && strchr(colon + 1, ':');
    if (strstr(host, "://"))
        balkon_config_add_error(errors, path, "host",
                                "must be a name or an IP address without \"http://\", got \"%s\"",
                                host);
    else if (colon && !ipv6)
        balkon_config_add_error(errors, path, "host",
                                "must be a name or an IP address without a port (put %s into "
                                "\"port\"), got \"%s\"",
                                colon + 1, host);
    else if (strpbrk(host, "/?#@ \t[]"))
        balkon_config_add_error(errors, path, "host",
                                "must be a name or an IP address only (no path, spaces or "
                                "brackets), got \"%s\"",
                                host);
}

/* A device is a battery when its role says so, or, without a role, when its driver's first
 * role is the battery: the simulator (its own battery) and battery-only or battery-first
 * drivers (Marstek, Zendure); the generic drivers default to a meter. */
static bool is_battery(const struct balkon_device_config *device)
{
    if (strstr(device->role, "battery"))
        return true;
    if (device->role[0])
        return false;
    const struct balkon_driver *driver = balkon_driver_find(device->type);
    if (!driver || !(driver->roles & DEVICE_ROLE_BATTERY))
        return false;
    return strcmp(device->type, "simulator") == 0 ||
           !(driver->roles & (DEVICE_ROLE_INVERTER | DEVICE_ROLE_PLUG));
}

bool balkon_driver_config_has_battery(const struct balkon_config *config)
{
    for (size_t i = 0; i < config->devices.count; i++)
        if (is_battery(&config->devices.items[i]))
            return true;
    return false;
}

void balkon_driver_check_host(const struct balkon_device_config *device, const char *path,
                              struct balkon_config_errors *errors)
{
    if (!device->host[0])
        balkon_config_add_error(errors, path, "host", "is required for type \"%s\"", device->type);
    else
        check_host_format(device->host, path, errors);
}

void balkon_driver_check_meter_or_plug(const struct balkon_device_config *device, const char *path,
                                       struct balkon_config_errors *errors)
{
    if (device->role[0] && strcmp(device->role, "meter") != 0 && strcmp(device->role, "plug") != 0)
        balkon_config_add_error(errors, path, "role",
                                "must be \"meter\" or \"plug\" for type \"%s\", got \"%s\"",
                                device->type, device->role);
}

bool balkon_driver_check_entity_keys(const struct balkon_device_config *device, const char *path,
                                     struct balkon_config_errors *errors, const char *who,
                                     const char *state_hint, const char *power_hint)
{
    unsigned role = balkon_driver_role_bit(device->role);
    if (!role) {
        balkon_config_add_error(
            errors, path, "role",
            "must be \"meter\", \"inverter\", \"battery\" or \"plug\", got \"%s\"", device->role);
        return false;
    }
    if (role == DEVICE_ROLE_PLUG && !device->state_key[0])
        balkon_config_add_error(errors, path, "state_key", "is required for %s plug (%s)", who,
                                state_hint);
    if (role != DEVICE_ROLE_PLUG && !device->power_key[0])
        balkon_config_add_error(errors, path, "power_key", "is required for %s %s (%s)", who,
                                device->role[0] ? device->role : "meter", power_hint);
    if (device->soc_key[0] && role != DEVICE_ROLE_BATTERY)
        balkon_config_add_error(errors, path, "soc_key", "is read for role \"battery\" only");
    if (device->state_key[0] && role != DEVICE_ROLE_PLUG)
        balkon_config_add_error(errors, path, "state_key", "is read for role \"plug\" only");
    return true;
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
    if (!mqtt)
        check_host_format(device->host, path, errors);
    return true;
}
