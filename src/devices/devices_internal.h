/* Inside the devices module: the drivers' runtime (one struct dev_driver_ops per driver, in
 * src/devices/<file>.c beside its descriptor src/drivers/<file>.c) and the online/offline
 * tracker (availability.c). */
#ifndef BALKON_DEVICES_INTERNAL_H
#define BALKON_DEVICES_INTERNAL_H

#include "balkon/command.h"
#include "balkon/module.h"

#include <stddef.h>

struct balkon_device_config;

/* How a driver talks to its devices. Its instance reads the device and publishes what it
 * learns on the bus: BUS_EV_METER_READING for meters, BUS_EV_DEVICE_STATE for every device
 * it exposes (one config entry may expose several, like the simulator's meter, inverter
 * and battery). */
struct dev_driver_ops {
    const struct balkon_driver *driver; /* type, description, roles, stale_s, check */
    /* Starts an instance. On failure writes "devices[i] (id): problem" context into msg and
     * returns a BALKON_E_* code; nothing is left running. */
    int (*start)(struct balkon_ctx *ctx, const struct balkon_device_config *device, void **instance,
                 char *msg, size_t msg_size);
    /* Applies a reloaded config (the ctx's config is already the new one). May be NULL. */
    void (*reconfigure)(void *instance);
    /* Closes the instance's handles; its memory is released once they are closed. */
    void (*stop)(void *instance);
    /* Starts a command for one of the instance's devices. Returns 0 when it is under way
     * (the driver publishes BUS_EV_COMMAND_RESULT when it is done and verified), or a
     * BALKON_E_* code with the reason in msg when it refuses it (unknown command, value out
     * of range, device offline). May be NULL: the device takes no commands. */
    int (*command)(void *instance, const struct device_command *command, char *msg,
                   size_t msg_size);
};

/* The runtime of the driver for a config `type`, or NULL. */
const struct dev_driver_ops *dev_driver_find(const char *type);

struct availability;

/* Starts tracking the configured devices; NULL when out of memory. */
struct availability *availability_start(struct balkon_ctx *ctx);
/* Follows a reloaded device list (the ctx's config is already the new one). */
void availability_reconfigure(struct availability *a);
/* Unsubscribes and closes; the memory goes once the timer is closed. Accepts NULL. */
void availability_stop(struct availability *a);

#endif
