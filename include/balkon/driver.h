/* Device drivers as the configuration sees them. The config's `type` picks a row of the
 * driver table (include/balkon/drivers_list.h); no other code switches on a device type.
 *
 * A driver has one line in that list and two halves in files of the same name: its
 * descriptor in src/drivers/<file>.c (what it is and which options it needs: pure, so the
 * config's validation, below every module, can reach it) and its runtime in
 * src/devices/<file>.c (how it talks to the device: I/O, in the devices module,
 * struct dev_driver_ops). */
#ifndef BALKON_DRIVER_H
#define BALKON_DRIVER_H

#include <stdbool.h>
#include <stddef.h>

struct balkon_device_config;
struct balkon_config_errors;

enum device_role {
    DEVICE_ROLE_METER = 1 << 0,
    DEVICE_ROLE_INVERTER = 1 << 1,
    DEVICE_ROLE_BATTERY = 1 << 2,
    DEVICE_ROLE_PLUG = 1 << 3,
};

#define DEVICE_ROLE_COUNT 4

/* A model of the setup UI's catalogue (GET /api/v1/devices/catalogue): its name as the
 * maker sells it and the config "role" values it can have, comma-separated ("meter,plug"). */
struct balkon_driver_model {
    const char *name;
    const char *roles;
};

/* What the setup UI offers for a driver. */
struct balkon_driver_catalogue {
    const char *brand;
    const struct balkon_driver_model *models; /* ends with {NULL, NULL} */
    int default_port;    /* the port its protocol uses when "port" is 0; 0 = no address */
    bool host;           /* it is reached at "host" (else through MQTT or not at all) */
    const char *options; /* further config keys a user fills in, space-separated */
};

struct balkon_driver {
    const char *type;
    const char *description;
    unsigned roles; /* DEVICE_ROLE_* bits its devices may have (for devices never seen) */
    /* A device counts as offline after max(stale_s, 3 x poll_interval_s) without a state:
     * push devices (MQTT) report less often than polled ones. */
    double stale_s;
    /* Checks the type-specific options (host set, serial present …) with
     * balkon_config_add_error(errors, path, key, …). May be NULL. */
    void (*check)(const struct balkon_device_config *device, const char *path,
                  struct balkon_config_errors *errors);
    /* For the setup UI; NULL: the catalogue shows the type under "Other". */
    const struct balkon_driver_catalogue *catalogue;
};

#define BALKON_DRIVER(name) extern const struct balkon_driver balkon_driver_##name;
#include "balkon/drivers_list.h"
#undef BALKON_DRIVER

/* The driver for a config `type`, or NULL. */
const struct balkon_driver *balkon_driver_find(const char *type);
/* Writes the known types, comma-separated and quoted, for error messages and docs. */
void balkon_driver_list_types(char *out, size_t size);
/* The number of drivers and the i-th of them (i < count), in the table's order. */
size_t balkon_driver_count(void);
const struct balkon_driver *balkon_driver_at(size_t i);
struct balkon_config;
/* Whether a configured device is a battery (its role, or its driver's usual role): without
 * one the planner plans no battery, whatever the battery section says. */
bool balkon_driver_config_has_battery(const struct balkon_config *config);
/* The DEVICE_ROLE_* bit of a config `role` of a single-role device ("" is a meter), or 0. */
unsigned balkon_driver_role_bit(const char *role);

/* Checks shared by drivers; the messages name the device's type. */
/* "host" is set, and is a name or address only (no scheme, port, path or spaces). */
void balkon_driver_check_host(const struct balkon_device_config *device, const char *path,
                              struct balkon_config_errors *errors);
/* "protocol" is "http" (then "host" is set) or "mqtt"; false after reporting a problem. */
bool balkon_driver_check_transport(const struct balkon_device_config *device, const char *path,
                                   struct balkon_config_errors *errors);
/* "role" is "" (a meter), "meter" or "plug". */
void balkon_driver_check_meter_or_plug(const struct balkon_device_config *device, const char *path,
                                       struct balkon_config_errors *errors);
/* The role and entity keys of a driver that reads a device's entities by name (ESPHome,
 * Home Assistant): a known role, state_key for a plug and power_key otherwise, soc_key for
 * a battery only. who is "an \"esphome\"", state_hint and power_hint say what the key
 * names ("the switch's id, e.g. \"relay\""). false when the role is unknown (the keys are
 * not checked then). */
bool balkon_driver_check_entity_keys(const struct balkon_device_config *device, const char *path,
                                     struct balkon_config_errors *errors, const char *who,
                                     const char *state_hint, const char *power_hint);

#endif
