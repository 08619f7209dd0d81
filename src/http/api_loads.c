/* GET /api/v1/loads
 *   Every deferrable load: on or off and why ("solar surplus 640 W", "cheapest window
 *   starts 13:00 at 0.210 per kWh", "must finish by 18:00"), the plug's power, the run
 *   time today against the target, the planned start and any manual override. Also the
 *   `loads` event of GET /api/v1/events.
 * POST /api/v1/loads/{id}/override {"state": "on"|"off"|"auto", "duration_min": 60}
 *   Switches a load by hand for duration_min (absent or 0: until midnight), or hands it
 *   back to the automatic ("auto"). Answers with the load's new state. */
#include "http_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void add_time_or_null(cJSON *json, const char *key, int64_t ts_ms)
{
    if (ts_ms == INT64_MIN)
        cJSON_AddNullToObject(json, key);
    else
        http_add_time(json, key, ts_ms);
}

static cJSON *load_json(const struct ev_load_status *l)
{
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "id", l->id);
    cJSON_AddStringToObject(json, "name", l->name);
    cJSON_AddStringToObject(json, "plug", l->plug);
    cJSON_AddStringToObject(json, "mode", l->mode);
    cJSON_AddBoolToObject(json, "on", l->on);
    cJSON_AddBoolToObject(json, "plug_online", l->plug_online);
    http_add_number(json, "power_w", round(l->power_w * 10) / 10);
    cJSON_AddNumberToObject(json, "run_today_min", round(l->run_today_min * 10) / 10);
    cJSON_AddNumberToObject(json, "run_target_min", l->run_target_min);
    if (l->override[0])
        cJSON_AddStringToObject(json, "override", l->override);
    else
        cJSON_AddNullToObject(json, "override");
    add_time_or_null(json, "override_until", l->override_until_ms);
    add_time_or_null(json, "next_start", l->next_start_ms);
    cJSON_AddStringToObject(json, "reason", l->reason);
    return json;
}

cJSON *api_loads_json(const struct http_state *state)
{
    cJSON *json = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(json, "loads");
    for (size_t i = 0; i < state->loads.count; i++)
        cJSON_AddItemToArray(list, load_json(&state->loads.items[i]));
    return json;
}

void api_loads_get(struct http_state *state, const struct http_request *request,
                   struct http_response *response)
{
    http_reply_json(response, 200, api_loads_json(state));
}

static const struct ev_load_status *find_load(const struct http_state *state, const char *id)
{
    for (size_t i = 0; i < state->loads.count; i++)
        if (strcmp(state->loads.items[i].id, id) == 0)
            return &state->loads.items[i];
    return NULL;
}

void api_load_override_post(struct http_state *state, const struct http_request *request,
                            struct http_response *response)
{
    if (!find_load(state, request->path_param)) {
        http_reply_error_code(response, 404, "no_such_load",
                              http_error_params("id", request->path_param, NULL),
                              "no such load: %s (see GET /api/v1/loads)", request->path_param);
        return;
    }
    cJSON *body = http_body_object(request, response, "{\"state\": \"on\", \"duration_min\": 60}");
    if (!body)
        return;
    const cJSON *load_state = cJSON_GetObjectItemCaseSensitive(body, "state");
    const cJSON *duration = cJSON_GetObjectItemCaseSensitive(body, "duration_min");
    struct balkon_load_request override = {0};
    if (!cJSON_IsString(load_state) || (strcmp(load_state->valuestring, "on") != 0 &&
                                        strcmp(load_state->valuestring, "off") != 0 &&
                                        strcmp(load_state->valuestring, "auto") != 0)) {
        http_reply_error_code(
            response, 400, "one_of",
            http_error_params("field", "state", "allowed", "\"on\", \"off\", \"auto\"", NULL),
            "state: must be \"on\", \"off\" or \"auto\"");
    } else if (duration && !cJSON_IsNull(duration) &&
               (!cJSON_IsNumber(duration) ||
                !(duration->valuedouble >= 0 && duration->valuedouble <= 1440))) {
        char *got = cJSON_PrintUnformatted(duration);
        http_reply_error_code(response, 400, "range",
                              http_error_params("field", "duration_min", "min", "0", "max", "1440",
                                                "got", got ? got : "?", NULL),
                              "duration_min: must be a number of minutes from 0 to 1440");
        free(got);
    } else {
        snprintf(override.id, sizeof override.id, "%.31s", request->path_param);
        snprintf(override.state, sizeof override.state, "%s", load_state->valuestring);
        override.duration_s = cJSON_IsNumber(duration) ? duration->valuedouble * 60.0 : 0.0;
    }
    cJSON_Delete(body);
    if (!override.id[0])
        return;
    const struct balkon_services *services = state->ctx->services;
    if (!services->loads.self) {
        http_reply_error(response, 503, "the loads module is not running");
        return;
    }
    /* The loads module publishes the new status while the call runs. */
    char why[128];
    if (services->loads.override(services->loads.self, &override, why, sizeof why) < 0) {
        http_reply_error(response, 404, "%s (see GET /api/v1/loads)", why);
        return;
    }
    http_reply_json(response, 200, load_json(find_load(state, override.id)));
}
