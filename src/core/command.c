/* The one command id allocator and the result of a command (include/balkon/command.h). */
#include "balkon/command.h"

#include "balkon/error.h"
#include "balkon/services.h"

#include <stdio.h>

uint64_t balkon_command_id_next(void)
{
    /* Loop thread only, so a plain counter; 0 never appears, as senders use it for "none". */
    static uint64_t last_id;
    return ++last_id;
}

struct ev_command_result balkon_command_result(const struct device_command *command, bool ok,
                                               const char *detail)
{
    struct ev_command_result result = {
        .value = command->value, .request_id = command->request_id, .ok = ok};
    snprintf(result.device_id, sizeof result.device_id, "%s", command->device_id);
    snprintf(result.command, sizeof result.command, "%s", command->command);
    snprintf(result.source, sizeof result.source, "%s", command->source);
    snprintf(result.detail, sizeof result.detail, "%s", ok || !detail ? "" : detail);
    return result;
}

int balkon_command_send(const struct balkon_services *services, struct device_command *command,
                        char *msg, size_t msg_size)
{
    if (!command->request_id)
        command->request_id = balkon_command_id_next();
    if (!services || !services->devices.self) {
        snprintf(msg, msg_size, "the devices module is not running");
        return BALKON_E_BUSY;
    }
    return services->devices.command(services->devices.self, command, msg, msg_size);
}
