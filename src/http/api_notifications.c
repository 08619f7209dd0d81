/* GET /api/v1/notifications?limit=: what the notification rules reported, newest first
 * (limit 1 to 1000, default 50). */
#include "http_internal.h"

#include "balkon/store.h"

#include <stdlib.h>

void api_notifications_get(struct http_state *state, const struct http_request *request,
                           struct http_response *response)
{
    long limit;
    if (!http_query_limit(request, response, 50, 1000, &limit))
        return;
    struct balkon_notification_record *records = NULL;
    size_t count = 0;
    if (balkon_store_notification_list(state->ctx->store, (size_t)limit, &records, &count) < 0) {
        http_reply_error(response, 500, "cannot read the notifications: %s",
                         balkon_store_errmsg(state->ctx->store));
        return;
    }
    cJSON *json = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(json, "notifications");
    for (size_t i = 0; i < count; i++) {
        const struct balkon_notification_record *r = &records[i];
        cJSON *item = cJSON_CreateObject();
        cJSON_AddNumberToObject(item, "id", (double)r->id);
        http_add_time(item, "ts", r->ts_ms);
        cJSON_AddStringToObject(item, "rule", r->rule);
        cJSON_AddStringToObject(item, "severity", r->severity);
        cJSON_AddStringToObject(item, "title", r->title);
        cJSON_AddStringToObject(item, "message", r->message);
        cJSON_AddStringToObject(item, "state", r->state);
        if (r->resolved_ts_ms == INT64_MIN)
            cJSON_AddNullToObject(item, "resolved");
        else
            http_add_time(item, "resolved", r->resolved_ts_ms);
        cJSON_AddItemToArray(list, item);
    }
    free(records);
    http_reply_json(response, 200, json);
}
