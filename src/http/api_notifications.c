/* GET /api/v1/notifications?limit=: what the notification rules reported, newest first
 * (limit 1 to 1000, default 50).
 * GET /api/v1/notifications/channels: every channel's health (sent, failed, last error).
 * POST /api/v1/notifications/test?channel=<id>: queues a test message through one channel
 *   and answers 202 at once; its outcome appears as last_test in .../channels.
 *
 * The last two call the notification module's services (notify.status, notify.test). */
#include "http_internal.h"

#include "balkon/store.h"

#include "balkon/bus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void read_notifications(struct balkon_store *store, void *arg,
                               struct http_response *response)
{
    long limit = *(const long *)arg;
    struct balkon_notification_record *records = NULL;
    size_t count = 0;
    if (balkon_store_notification_list(store, (size_t)limit, &records, &count) < 0) {
        http_reply_error(response, 500, "cannot read the notifications: %s",
                         balkon_store_errmsg(store));
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

void api_notifications_get(struct http_state *state, const struct http_request *request,
                           struct http_response *response)
{
    long *limit = malloc(sizeof *limit);
    if (!limit) {
        http_reply_error(response, 503, "out of memory");
        return;
    }
    if (!http_query_limit(request, response, 50, 1000, limit)) {
        free(limit);
        return;
    }
    http_read(state, request, response, read_notifications, NULL, limit);
}

/* Asks the notification module; false (and a 503 reply) when it is not running. channel
 * NULL: every channel's status; otherwise a test message through it. */
static bool ask(struct http_state *state, const char *channel, struct balkon_notify_status *out,
                struct http_response *response)
{
    const struct balkon_services *services = state->ctx->services;
    if (!services->notify.self) {
        http_reply_error(response, 503, "the notification module is not running");
        return false;
    }
    if (channel)
        services->notify.test(services->notify.self, channel, out);
    else
        services->notify.status(services->notify.self, out);
    return true;
}

static cJSON *channels_json(const struct balkon_notify_status *reply)
{
    cJSON *list = cJSON_CreateArray();
    for (size_t i = 0; i < reply->count; i++) {
        const struct balkon_notify_channel_status *c = &reply->channels[i];
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "id", c->id);
        cJSON_AddStringToObject(item, "type", c->type);
        cJSON_AddBoolToObject(item, "healthy", c->healthy);
        cJSON_AddNumberToObject(item, "sent", (double)c->sent);
        cJSON_AddNumberToObject(item, "failed", (double)c->failed);
        if (c->last_sent_ms == INT64_MIN)
            cJSON_AddNullToObject(item, "last_sent");
        else
            http_add_time(item, "last_sent", c->last_sent_ms);
        if (c->last_error_ms == INT64_MIN)
            cJSON_AddNullToObject(item, "last_error_at");
        else
            http_add_time(item, "last_error_at", c->last_error_ms);
        if (c->last_error[0])
            cJSON_AddStringToObject(item, "last_error", c->last_error);
        else
            cJSON_AddNullToObject(item, "last_error");
        if (c->last_test[0])
            cJSON_AddStringToObject(item, "last_test", c->last_test);
        else
            cJSON_AddNullToObject(item, "last_test");
        cJSON_AddItemToArray(list, item);
    }
    return list;
}

void api_notifications_channels_get(struct http_state *state, const struct http_request *request,
                                    struct http_response *response)
{
    (void)request;
    struct balkon_notify_status status;
    if (!ask(state, NULL, &status, response))
        return;
    cJSON *json = cJSON_CreateObject();
    cJSON_AddBoolToObject(json, "enabled", state->ctx->config->notifications.enabled);
    cJSON_AddItemToObject(json, "channels", channels_json(&status));
    http_reply_json(response, 200, json);
}

void api_notifications_test_post(struct http_state *state, const struct http_request *request,
                                 struct http_response *response)
{
    const char *channel = http_query(request, "channel");
    if (!channel || !channel[0]) {
        http_reply_error(response, 400,
                         "channel: missing; give the id of a channel in notifications.channels");
        return;
    }
    if (strlen(channel) >= BALKON_ID_MAX) {
        http_reply_error(response, 400, "channel: too long (at most %d characters)",
                         BALKON_ID_MAX - 1);
        return;
    }
    struct balkon_notify_status status;
    if (!ask(state, channel, &status, response))
        return;
    if (status.status != 202) {
        http_reply_error(response, status.status, "%s", status.message);
        return;
    }
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "channel", channel);
    cJSON_AddStringToObject(json, "status", "queued");
    cJSON_AddStringToObject(json, "message", status.message);
    http_reply_json(response, 202, json);
}
