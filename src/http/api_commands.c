/* POST /api/v1/devices/{id}/command {"command": "setpoint", "value": 300}
 *   Sends a command to a device: "switch" (plugs: value 1 on, 0 off), "limit" (inverters:
 *   W, non-persistent), "setpoint" (batteries: W, + discharge / − charge), "auto"
 *   (batteries: back to their own logic). 202 with the request id when the device's driver
 *   took it (the outcome lands in the command log), 400 when it refused it (the reason),
 *   404 for an unknown device. Note that the real-time control, when enabled, overrides a
 *   manual battery setpoint at its next step.
 * GET /api/v1/commands?device=&limit=
 *   The command log, newest first: each command's device, command, value, result, who sent
 *   it (source: "control", "api", "mqtt", "loads", "recommend") and its request id. */
#include "http_internal.h"

#include "balkon/bus.h"
#include "balkon/config_types.h"
#include "balkon/error.h"
#include "balkon/store.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool device_known(const struct http_state *state, const char *id)
{
    for (size_t i = 0; i < state->device_count; i++)
        if (strcmp(state->devices[i].device_id, id) == 0)
            return true;
    return false;
}

/* A command the device refused, with why ("setpoint: must be between -800 and 800 W, got
 * 1000"): coded as the config loader's problems are (range, min, ...), else
 * "device_refused" with the device's words. */
static void reply_refused(struct http_response *response, int status, const char *command,
                          const char *why)
{
    const char *colon = strstr(why, ": ");
    struct balkon_config_error_code code;
    balkon_config_error_classify(colon ? colon + 2 : why, &code);
    cJSON *params = cJSON_CreateObject();
    cJSON_AddStringToObject(params, "field", command);
    if (strcmp(code.code, "invalid") == 0) {
        cJSON_AddStringToObject(params, "detail", why);
        http_reply_error_code(response, status, status == 503 ? "unavailable" : "device_refused",
                              params, "%s: %s", command, why);
        return;
    }
    for (size_t i = 0; i < code.param_count; i++)
        cJSON_AddStringToObject(params, code.params[i].name, code.params[i].value);
    http_reply_error_code(response, status, code.code, params, "%s: %s", command, why);
}

void api_device_command_post(struct http_state *state, const struct http_request *request,
                             struct http_response *response)
{
    if (!device_known(state, request->path_param)) {
        http_reply_error_code(response, 404, "no_such_device",
                              http_error_params("id", request->path_param, NULL),
                              "no such device: %s (see GET /api/v1/devices)", request->path_param);
        return;
    }
    cJSON *body = http_body_object(request, response, "{\"command\": \"switch\", \"value\": 1}");
    if (!body)
        return;
    static const char *const commands[] = {"switch", "limit", "setpoint", "auto"};
    const cJSON *command = cJSON_GetObjectItemCaseSensitive(body, "command");
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(body, "value");
    bool known = false;
    for (size_t i = 0; cJSON_IsString(command) && i < sizeof commands / sizeof *commands; i++)
        known |= strcmp(command->valuestring, commands[i]) == 0;
    struct device_command ev = {0};
    if (!known) {
        http_reply_error_code(
            response, 400, "one_of",
            http_error_params("field", "command", "allowed",
                              "\"switch\", \"limit\", \"setpoint\", \"auto\"", NULL),
            "command: must be one of \"switch\", \"limit\", \"setpoint\", \"auto\"");
    } else if (strcmp(command->valuestring, "auto") != 0 &&
               (!cJSON_IsNumber(value) || !isfinite(value->valuedouble))) {
        http_reply_error_code(response, 400, "number", http_error_params("field", "value", NULL),
                              "value: is required for \"%s\" and must be a number",
                              command->valuestring);
    } else if (strcmp(command->valuestring, "switch") == 0 && value->valuedouble != 0 &&
               value->valuedouble != 1) {
        char got[32];
        snprintf(got, sizeof got, "%g", value->valuedouble);
        http_reply_error_code(
            response, 400, "one_of",
            http_error_params("field", "value", "allowed", "1, 0", "got", got, NULL),
            "value: \"switch\" takes 1 (on) or 0 (off), got %g", value->valuedouble);
    } else {
        snprintf(ev.device_id, sizeof ev.device_id, "%.31s", request->path_param);
        snprintf(ev.command, sizeof ev.command, "%s", command->valuestring);
        snprintf(ev.source, sizeof ev.source, "api");
        ev.value = cJSON_IsNumber(value) ? value->valuedouble : 0;
    }
    cJSON_Delete(body);
    if (!ev.device_id[0])
        return;
    ev.request_id = balkon_command_id_next();
    char why[128];
    int rc = balkon_command_send(state->ctx->services, &ev, why, sizeof why);
    if (rc < 0) {
        reply_refused(response, rc == BALKON_E_BUSY ? 503 : 400, ev.command, why);
        return;
    }
    /* A device that applies a command at once has reported it while the call ran. */
    bool done = state->last_result.request_id == ev.request_id &&
                strcmp(state->last_result.source, "api") == 0;
    cJSON *json = cJSON_CreateObject();
    cJSON_AddNumberToObject(json, "request_id", (double)ev.request_id);
    cJSON_AddStringToObject(json, "device", ev.device_id);
    cJSON_AddStringToObject(json, "command", ev.command);
    cJSON_AddNumberToObject(json, "value", ev.value);
    cJSON_AddStringToObject(json, "state", done ? "done" : "pending");
    http_reply_json(response, 202, json);
}

struct commands_read {
    bool one_device;
    char device[64];
    long limit;
};

static void read_commands(struct balkon_store *store, void *arg, struct http_response *response)
{
    const struct commands_read *q = arg;
    struct balkon_command_record *records = NULL;
    size_t count = 0;
    if (balkon_store_command_list(store, q->one_device ? q->device : NULL, (size_t)q->limit,
                                  &records, &count) < 0) {
        http_reply_error(response, 500, "cannot read the command log: %s",
                         balkon_store_errmsg(store));
        return;
    }
    cJSON *json = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(json, "commands");
    for (size_t i = 0; i < count; i++) {
        cJSON *item = cJSON_CreateObject();
        http_add_time(item, "ts", records[i].ts_ms);
        cJSON_AddStringToObject(item, "device", records[i].device_id);
        cJSON_AddStringToObject(item, "command", records[i].command);
        cJSON_AddStringToObject(item, "value", records[i].value);
        cJSON_AddStringToObject(item, "result", records[i].result);
        cJSON_AddStringToObject(item, "source", records[i].source);
        if (records[i].request_id)
            cJSON_AddNumberToObject(item, "request_id", (double)records[i].request_id);
        else
            cJSON_AddNullToObject(item, "request_id");
        cJSON_AddItemToArray(list, item);
    }
    free(records);
    http_reply_json(response, 200, json);
}

void api_commands_get(struct http_state *state, const struct http_request *request,
                      struct http_response *response)
{
    const char *device = http_query(request, "device");
    struct commands_read *q = calloc(1, sizeof *q);
    if (!q) {
        http_reply_error(response, 503, "out of memory");
        return;
    }
    if (!http_query_limit(request, response, 50, 1000, &q->limit)) {
        free(q);
        return;
    }
    if (device) {
        q->one_device = true;
        /* A longer id than any device has finds nothing, as before. */
        snprintf(q->device, sizeof q->device, "%s", device);
    }
    http_read(state, request, response, read_commands, NULL, q);
}
