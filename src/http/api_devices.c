/* GET /api/v1/devices: every device the drivers have reported, with its roles, online
 * state, last reading time and latest values; also the `devices` event of GET /api/v1/events. */
#include "http_internal.h"

#include <math.h>

static void add_roles(cJSON *device, unsigned roles)
{
    cJSON *array = cJSON_AddArrayToObject(device, "roles");
    for (int bit = 0; bit < DEVICE_ROLE_COUNT; bit++)
        if (roles & (1u << bit))
            cJSON_AddItemToArray(array, cJSON_CreateString(balkon_device_role_name(1u << bit)));
}

cJSON *api_devices_json(const struct http_state *state)
{
    cJSON *json = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(json, "devices");
    for (size_t i = 0; i < state->device_count; i++) {
        const struct ev_device_state *d = &state->devices[i];
        cJSON *device = cJSON_CreateObject();
        cJSON_AddStringToObject(device, "id", d->device_id);
        cJSON_AddStringToObject(device, "type", d->type);
        cJSON_AddStringToObject(device, "model", d->model);
        add_roles(device, d->roles);
        cJSON_AddStringToObject(device, "firmware", d->firmware);
        cJSON_AddBoolToObject(device, "online", d->online);
        if (d->ts_ms == INT64_MIN)
            cJSON_AddNullToObject(device, "last_seen");
        else
            http_add_time(device, "last_seen", d->ts_ms);
        if (d->error[0]) {
            cJSON_AddStringToObject(device, "error", d->error);
            cJSON_AddStringToObject(device, "error_code",
                                    d->error_code[0] ? d->error_code : "failed");
        } else {
            cJSON_AddNullToObject(device, "error");
            cJSON_AddNullToObject(device, "error_code");
        }
        if (d->warning[0])
            cJSON_AddStringToObject(device, "warning", d->warning);
        else
            cJSON_AddNullToObject(device, "warning");
        cJSON *values = cJSON_AddObjectToObject(device, "values");
        for (size_t v = 0; v < d->value_count; v++)
            cJSON_AddNumberToObject(values, d->values[v].name,
                                    round(d->values[v].value * 1000) / 1000);
        cJSON_AddItemToArray(list, device);
    }
    return json;
}

void api_devices_get(struct http_state *state, const struct http_request *request,
                     struct http_response *response)
{
    http_reply_json(response, 200, api_devices_json(state));
}
