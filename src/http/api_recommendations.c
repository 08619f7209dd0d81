/* GET /api/v1/recommendations
 *   For every configured appliance, the best start before its deadline (the cheapest and
 *   sunniest window of the plan) and what it saves against starting now:
 *   {"recommendations": [{"id", "name", "status", "start", "end", "latest", "cost",
 *   "cost_now", "saving", "currency", "sentence", "auto_start", "plug"}]}. status is "ok",
 *   "no_fit" (the run does not fit before latest), "no_data" (no plan covers it yet),
 *   "running" or "done" (an automatic start's run). Times are ISO-8601 or null, money
 *   rounded to 0.0001 or null. The recommend module answers the bus query synchronously. */
#include "http_internal.h"

#include <math.h>
#include <string.h>

static void add_time_or_null(cJSON *json, const char *key, int64_t ts_ms)
{
    if (ts_ms == INT64_MIN)
        cJSON_AddNullToObject(json, key);
    else
        http_add_time(json, key, ts_ms);
}

static cJSON *recommendation_json(const struct ev_recommendation *rec)
{
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "id", rec->id);
    cJSON_AddStringToObject(json, "name", rec->name);
    cJSON_AddStringToObject(json, "status", rec->status);
    add_time_or_null(json, "start", rec->start_ms);
    add_time_or_null(json, "end", rec->end_ms);
    add_time_or_null(json, "latest", rec->latest_ms);
    http_add_number(json, "cost", round(rec->cost * 10000) / 10000);
    http_add_number(json, "cost_now", round(rec->cost_now * 10000) / 10000);
    http_add_number(json, "saving", round(rec->saving * 10000) / 10000);
    cJSON_AddStringToObject(json, "currency", rec->currency);
    cJSON_AddStringToObject(json, "sentence", rec->sentence);
    cJSON_AddBoolToObject(json, "auto_start", rec->auto_start);
    if (rec->plug[0])
        cJSON_AddStringToObject(json, "plug", rec->plug);
    else
        cJSON_AddNullToObject(json, "plug");
    return json;
}

void api_recommendations_get(struct http_state *state, const struct http_request *request,
                             struct http_response *response)
{
    static struct ev_recommendations current; /* too big for comfort on the stack; one thread */
    memset(&current, 0, sizeof current);
    const struct balkon_services *services = state->ctx->services;
    if (!services->recommend.self) {
        http_reply_error(response, 503, "the recommendations cannot be read right now");
        return;
    }
    services->recommend.current(services->recommend.self, &current);
    cJSON *json = cJSON_CreateObject();
    if (current.ts_ms)
        http_add_time(json, "computed", current.ts_ms);
    else
        cJSON_AddNullToObject(json, "computed");
    cJSON *list = cJSON_AddArrayToObject(json, "recommendations");
    for (size_t i = 0; i < current.count && i < EV_RECOMMENDATIONS_MAX; i++)
        cJSON_AddItemToArray(list, recommendation_json(&current.items[i]));
    http_reply_json(response, 200, json);
}
