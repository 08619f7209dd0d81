/* Commands from MQTT, validated as the API validates its own, then handed to the module
 * that carries them out (include/balkon/services.h):
 *
 *   <prefix>/set/strategy       a strategy's name  → planner.set_strategy (as PUT /api/v1/strategy)
 *   <prefix>/set/grid_target_w  W, -800..800       → control.set_grid_target
 *   <prefix>/set/plug/<id>      "ON" / "OFF"       → devices.command "switch", source "mqtt" (as
 *                                                    POST /api/v1/devices/{id}/command)
 *
 * Anything else is logged with its topic and what is wrong, and ignored. Payloads are
 * bounded (MAX_PAYLOAD): a command is a word or a number. */
#include "ha_internal.h"

#include "balkon/config.h"
#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/optimizer.h"
#include "balkon/services.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PAYLOAD 64

/* The payload without surrounding white space, as a C string; -1 when too long or empty. */
static int trimmed(const char *payload, size_t len, char *out, size_t size, char *msg,
                   size_t msg_size)
{
    while (len && isspace((unsigned char)payload[0])) {
        payload++;
        len--;
    }
    while (len && isspace((unsigned char)payload[len - 1]))
        len--;
    if (len == 0) {
        snprintf(msg, msg_size, "the payload is empty");
        return -1;
    }
    if (len >= size || memchr(payload, '\0', len)) {
        snprintf(msg, msg_size, "the payload is not a short text (%zu bytes)", len);
        return -1;
    }
    memcpy(out, payload, len);
    out[len] = '\0';
    return 0;
}

int ha_parse_strategy(const char *payload, size_t len, char *name, size_t name_size, char *msg,
                      size_t msg_size)
{
    char text[MAX_PAYLOAD];
    if (trimmed(payload, len, text, sizeof text, msg, msg_size) < 0)
        return -1;
    const struct balkon_opt_strategy *strategy = balkon_opt_strategy_find(text);
    if (!strategy) {
        char known[160];
        balkon_opt_strategy_list_names(known, sizeof known);
        snprintf(msg, msg_size, "unknown strategy \"%.63s\" (known: %.100s)", text, known);
        return -1;
    }
    snprintf(name, name_size, "%s", strategy->name);
    return 0;
}

int ha_parse_grid_target(const char *payload, size_t len, double *target_w, char *msg,
                         size_t msg_size)
{
    char text[MAX_PAYLOAD];
    if (trimmed(payload, len, text, sizeof text, msg, msg_size) < 0)
        return -1;
    char *end;
    double value = strtod(text, &end);
    if (*end || end == text || !isfinite(value)) {
        snprintf(msg, msg_size, "expected a number of watts, got \"%s\"", text);
        return -1;
    }
    if (value < -800 || value > 800) {
        snprintf(msg, msg_size, "must be between -800 and 800 W, got %g", value);
        return -1;
    }
    *target_w = value;
    return 0;
}

int ha_parse_switch(const char *payload, size_t len, bool *on, char *msg, size_t msg_size)
{
    char text[MAX_PAYLOAD];
    if (trimmed(payload, len, text, sizeof text, msg, msg_size) < 0)
        return -1;
    if (strcmp(text, "ON") == 0 || strcmp(text, "on") == 0 || strcmp(text, "1") == 0)
        *on = true;
    else if (strcmp(text, "OFF") == 0 || strcmp(text, "off") == 0 || strcmp(text, "0") == 0)
        *on = false;
    else {
        snprintf(msg, msg_size, "expected \"ON\" or \"OFF\", got \"%s\"", text);
        return -1;
    }
    return 0;
}

static void set_strategy(struct ha *ha, const char *payload, size_t len, char *msg, size_t msg_size)
{
    char name[32];
    if (ha_parse_strategy(payload, len, name, sizeof name, msg, msg_size) < 0)
        return;
    if (strcmp(name, "fixed_schedule") == 0 && ha->ctx->config->optimizer.schedule_count == 0) {
        snprintf(msg, msg_size,
                 "\"fixed_schedule\" needs windows in optimizer.schedule of the config");
        return;
    }
    const struct balkon_services *services = ha->ctx->services;
    if (!services->planner.self) {
        snprintf(msg, msg_size, "the planner is not running");
        return;
    }
    log_notice("ha", "strategy \"%s\" requested over MQTT", name);
    if (services->planner.set_strategy(services->planner.self, name, NULL, NULL) < 0)
        snprintf(msg, msg_size, "out of memory");
}

static void set_grid_target(struct ha *ha, const char *payload, size_t len, char *msg,
                            size_t msg_size)
{
    double target_grid_w = 0;
    if (ha_parse_grid_target(payload, len, &target_grid_w, msg, msg_size) < 0)
        return;
    const struct balkon_services *services = ha->ctx->services;
    if (!services->control.self)
        snprintf(msg, msg_size, "the real-time control is not running");
    else
        services->control.set_grid_target(services->control.self, target_grid_w, "mqtt", msg,
                                          msg_size);
}

static void switch_plug(struct ha *ha, const char *id, const char *payload, size_t len, char *msg,
                        size_t msg_size)
{
    const struct ha_device *plug = NULL;
    for (size_t i = 0; i < ha->device_count && !plug; i++) {
        char sanitized[BALKON_ID_MAX];
        ha_sanitize(ha->devices[i].state.device_id, sanitized, sizeof sanitized);
        if (strcmp(sanitized, id) == 0)
            plug = &ha->devices[i];
    }
    if (!plug) {
        snprintf(msg, msg_size, "no such device \"%.40s\" (see GET /api/v1/devices)", id);
        return;
    }
    if (!(plug->state.roles & DEVICE_ROLE_PLUG)) {
        snprintf(msg, msg_size, "device \"%s\" is not a plug", plug->state.device_id);
        return;
    }
    bool on;
    if (ha_parse_switch(payload, len, &on, msg, msg_size) < 0)
        return;
    struct device_command ev = {.value = on ? 1 : 0};
    snprintf(ev.device_id, sizeof ev.device_id, "%s", plug->state.device_id);
    snprintf(ev.command, sizeof ev.command, "switch");
    snprintf(ev.source, sizeof ev.source, "mqtt");
    log_notice("ha", "switching %s %s over MQTT", ev.device_id, on ? "on" : "off");
    /* A refusal is logged by the devices module, as the command's result. */
    char why[128];
    if (balkon_command_send(ha->ctx->services, &ev, why, sizeof why) == BALKON_E_BUSY)
        snprintf(msg, msg_size, "%s", why);
}

void ha_command_cb(const char *topic, const void *payload, size_t len, void *user)
{
    struct ha *ha = user;
    char msg[192] = "";
    size_t prefix_len = strlen(ha->prefix);
    /* The subscription is <prefix>/set/#, so the topic starts with it. */
    if (strncmp(topic, ha->prefix, prefix_len) != 0 || strncmp(topic + prefix_len, "/set/", 5) != 0)
        return;
    const char *what = topic + prefix_len + 5;
    if (strcmp(what, "strategy") == 0)
        set_strategy(ha, payload, len, msg, sizeof msg);
    else if (strcmp(what, "grid_target_w") == 0)
        set_grid_target(ha, payload, len, msg, sizeof msg);
    else if (strncmp(what, "plug/", 5) == 0 && what[5] && !strchr(what + 5, '/'))
        switch_plug(ha, what + 5, payload, len, msg, sizeof msg);
    else
        snprintf(msg, sizeof msg,
                 "unknown command topic (known: set/strategy, set/grid_target_w, set/plug/<id>)");
    if (msg[0])
        log_warn("ha", "MQTT command on %s ignored: %s", topic, msg);
}
