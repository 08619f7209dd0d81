/* Device drivers. The config's `type` picks a row of the driver table
 * (src/devices/devices_list.h); no other code switches on a device type.
 *
 * A driver instance reads its device and publishes what it learns on the bus:
 * BUS_EV_METER_READING for meters, BUS_EV_DEVICE_STATE for every device it exposes (one
 * config entry may expose several, like the simulator's meter, inverter and battery). */
#ifndef BALKON_DRIVER_H
#define BALKON_DRIVER_H

#include "balkon/command.h"

#include <stddef.h>

struct balkon_ctx;
struct balkon_device_config;
struct balkon_config_errors;

struct balkon_driver {
    const char *type;
    const char *description;
    unsigned roles;   /* DEVICE_ROLE_* bits its devices may have (for devices never seen) */
    /* A device counts as offline after max(stale_s, 3 x poll_interval_s) without a state:
     * push devices (MQTT) report less often than polled ones. */
    double stale_s;
    /* Starts an instance. On failure writes "devices[i] (id): problem" context into msg and
     * returns a BALKON_E_* code; nothing is left running. */
    int (*start)(struct balkon_ctx *ctx, const struct balkon_device_config *device,
                 void **instance, char *msg, size_t msg_size);
    /* Applies a reloaded config (the ctx's config is already the new one). May be NULL. */
    void (*reconfigure)(void *instance);
    /* Closes the instance's handles; its memory is released once they are closed. */
    void (*stop)(void *instance);
    /* Checks the type-specific options (host set, serial present …) with
     * balkon_config_add_error(errors, path, key, …). May be NULL. */
    void (*check)(const struct balkon_device_config *device, const char *path,
                  struct balkon_config_errors *errors);
    /* Starts a command for one of the instance's devices. Returns 0 when it is under way
     * (the driver publishes BUS_EV_COMMAND_RESULT when it is done and verified), or a
     * BALKON_E_* code with the reason in msg when it refuses it (unknown command, value out
     * of range, device offline). May be NULL: the device takes no commands. */
    int (*command)(void *instance, const struct device_command *command, char *msg,
                   size_t msg_size);
};

/* The driver for a config `type`, or NULL. */
const struct balkon_driver *balkon_driver_find(const char *type);
/* Writes the known types, comma-separated and quoted, for error messages and docs. */
void balkon_driver_list_types(char *out, size_t size);

#endif
