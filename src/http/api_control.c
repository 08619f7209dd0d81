/* GET /api/v1/control: what the real-time control is doing: the plan's mode, the grid
 * target, the last reading and error, the setpoint it sent and the battery's power. Also
 * the `control` event of GET /api/v1/events. "reason" says why, in the plan's reason
 * codes ({"code": "at_soc_min"}, {"code": "failsafe", "since": …}). */
#include "http_internal.h"

#include <math.h>
#include <string.h>

/* The battery's state each control reason stands for, in the plan's words (its reasons carry
 * the same "state", src/planner/reasons.c); resting for the others. */
static const char *battery_state(const char *code)
{
    static const struct {
        const char *code, *state;
    } states[] = {
        {"storing_surplus", "charging"},  {"grid_charging_cheap", "grid_charging"},
        {"covering_load", "discharging"}, {"holding_for_plan", "holding"},
        {"failsafe", "failsafe"},         {"battery_offline", "offline"},
        {"export_cap", "limiting"},
    };
    for (size_t i = 0; i < sizeof states / sizeof *states; i++)
        if (strcmp(code, states[i].code) == 0)
            return states[i].state;
    return "resting";
}

cJSON *api_control_json(const struct http_state *state)
{
    if (!state->have_control)
        return NULL;
    const struct ev_control_status *c = &state->control;
    cJSON *json = cJSON_CreateObject();
    http_add_time(json, "ts", c->ts_ms);
    cJSON_AddBoolToObject(json, "enabled", c->enabled);
    cJSON_AddStringToObject(json, "battery", c->battery_id);
    cJSON_AddStringToObject(json, "mode", c->mode);
    cJSON_AddStringToObject(json, "state", c->state);
    http_add_number(json, "target_w", c->target_w);
    http_add_number(json, "grid_w", round(c->grid_w * 10) / 10);
    http_add_number(json, "error_w", round(c->error_w * 10) / 10);
    http_add_number(json, "setpoint_w", round(c->setpoint_w * 10) / 10);
    http_add_number(json, "battery_w", round(c->battery_w * 10) / 10);
    cJSON_AddNumberToObject(json, "commands_sent", (double)c->commands_sent);
    cJSON_AddNumberToObject(json, "failsafes", (double)c->failsafes);
    if (c->last_command_ts_ms == INT64_MIN)
        cJSON_AddNullToObject(json, "last_command");
    else
        http_add_time(json, "last_command", c->last_command_ts_ms);
    /* Why, in the plan's vocabulary (GET /api/v1/plan's "reason"). */
    cJSON *reason = cJSON_AddObjectToObject(json, "reason");
    const char *code = c->reason[0] ? c->reason : "nothing_to_do";
    cJSON_AddStringToObject(reason, "code", code);
    cJSON_AddStringToObject(reason, "state", battery_state(code));
    if (c->reason_since_ts_ms != INT64_MIN) {
        http_add_time(reason, "since", c->reason_since_ts_ms);
        cJSON_AddNumberToObject(reason, "since_ts_ms", (double)c->reason_since_ts_ms);
    }
    if (isfinite(c->reason_price_per_kwh))
        cJSON_AddNumberToObject(reason, "price_per_kwh",
                                round(c->reason_price_per_kwh * 100000) / 100000);
    return json;
}

void api_control_get(struct http_state *state, const struct http_request *request,
                     struct http_response *response)
{
    if (!state->have_control) {
        http_reply_error(
            response, 404,
            "the control has not run yet (no meter reading, or control.enabled is false)");
        return;
    }
    http_reply_json(response, 200, api_control_json(state));
}
