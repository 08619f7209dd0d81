/* GET /api/v1/providers: each configured provider's health: state, whether its data is
 * stale and how old, the last error, when it runs next, the last request (secrets masked).
 * Also the `providers` event of GET /api/v1/events. */
#include "http_internal.h"

#include "balkon/timeutil.h"

#include <math.h>

static const char *state_name(enum provider_state state)
{
    switch (state) {
    case PROVIDER_STATE_WAITING:
        return "waiting";
    case PROVIDER_STATE_OK:
        return "ok";
    case PROVIDER_STATE_FAILING:
        return "failing";
    case PROVIDER_STATE_DISABLED:
        return "disabled";
    case PROVIDER_STATE_STALE:
        return "stale";
    }
    return "unknown";
}

static void add_time_or_null(cJSON *json, const char *key, int64_t ts_ms)
{
    if (ts_ms == INT64_MIN)
        cJSON_AddNullToObject(json, key);
    else
        http_add_time(json, key, ts_ms);
}

cJSON *api_providers_json(const struct http_state *state)
{
    int64_t now_ms = balkon_clock_now_ms(&state->ctx->clock);
    cJSON *json = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(json, "providers");
    for (size_t i = 0; i < state->provider_count; i++) {
        const struct ev_provider_status *p = &state->providers[i];
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "id", p->provider);
        cJSON_AddStringToObject(item, "type", p->type);
        cJSON_AddStringToObject(item, "kind", p->kind);
        cJSON_AddStringToObject(item, "state", state_name(p->state));
        cJSON_AddBoolToObject(item, "stale", p->stale);
        add_time_or_null(item, "last_attempt", p->last_attempt_ms);
        add_time_or_null(item, "last_success", p->last_success_ms);
        if (p->last_success_ms == INT64_MIN)
            cJSON_AddNullToObject(item, "age_s");
        else
            cJSON_AddNumberToObject(item, "age_s", (double)(now_ms - p->last_success_ms) / 1000.0);
        if (p->state == PROVIDER_STATE_DISABLED) {
            cJSON_AddNullToObject(item, "next_run");
            cJSON_AddNullToObject(item, "next_run_in_s");
        } else {
            http_add_time(item, "next_run", p->next_run_ms);
            cJSON_AddNumberToObject(item, "next_run_in_s",
                                    round((double)(p->next_run_ms - now_ms) / 1000.0));
        }
        add_time_or_null(item, "data_until", p->data_until_ms);
        cJSON_AddNumberToObject(item, "consecutive_failures", p->consecutive_failures);
        cJSON_AddNumberToObject(item, "slot_count", (double)p->slot_count);
        cJSON_AddNumberToObject(item, "rejected_count", (double)p->rejected_count);
        cJSON_AddNumberToObject(item, "hole_count", (double)p->hole_count);
        add_time_or_null(item, "first_hole", p->first_hole_ms);
        if (p->last_error[0]) {
            cJSON_AddStringToObject(item, "last_error", p->last_error);
            cJSON_AddStringToObject(item, "last_error_code", p->last_error_code);
        } else {
            cJSON_AddNullToObject(item, "last_error");
            cJSON_AddNullToObject(item, "last_error_code");
        }
        if (p->warning[0])
            cJSON_AddStringToObject(item, "warning", p->warning);
        else
            cJSON_AddNullToObject(item, "warning");
        cJSON_AddStringToObject(item, "url", p->url);
        cJSON_AddItemToArray(list, item);
    }
    return json;
}

void api_providers_get(struct http_state *state, const struct http_request *request,
                       struct http_response *response)
{
    http_reply_json(response, 200, api_providers_json(state));
}
