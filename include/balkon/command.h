/* Commands for devices: what a sender fills in, the one id allocator, and the result every
 * command ends in (BUS_EV_COMMAND_RESULT). Sent through the devices.command service
 * (include/balkon/services.h) and carried out by a driver (include/balkon/driver.h). */
#ifndef BALKON_COMMAND_H
#define BALKON_COMMAND_H

#include "balkon/bus.h"

#include <stdbool.h>
#include <stdint.h>

/* A command for a device: "switch" (value 0/1), "limit" (W: an inverter's output limit,
 * non-persistent), "setpoint" (W, + discharge / − charge: a battery's power), "auto" (a
 * battery back to its own logic). source says who sent it ("control", "api", "loads",
 * "recommend", "ha"); its BUS_EV_COMMAND_RESULT carries the same source and request_id,
 * and a sender takes only results that match both. */
struct device_command {
    char device_id[BALKON_ID_MAX];
    char command[16];
    double value;
    char source[16];
    uint64_t request_id; /* from balkon_command_id_next() */
};

/* The next command id: one counter for the whole daemon, so two senders never share an
 * id. Never 0. Loop thread only. */
uint64_t balkon_command_id_next(void);

struct balkon_services;
/* Sends command through the devices.command service. A sender that matches results sets
 * command->request_id from balkon_command_id_next() and remembers it before the call, as
 * a result (a refusal, a device that applies at once) can be delivered while the call
 * runs; an id left 0 is set here. Returns 0 (under way), BALKON_E_BUSY when the devices
 * module is not running, or the driver's refusal; msg says why. */
int balkon_command_send(const struct balkon_services *services, struct device_command *command,
                        char *msg, size_t msg_size);

/* The result event for command: its device, command, value, source and id, ok, and
 * detail (ignored when ok). */
struct ev_command_result balkon_command_result(const struct device_command *command, bool ok,
                                               const char *detail);

#endif
