/* GET /api/v1/notifications?limit=: what the notification rules reported, newest first
 * (limit 1 to 1000, default 50).
 * GET /api/v1/notifications/channels: every channel's health (sent, failed, last error).
 * POST /api/v1/notifications/test?channel=<id>: queues a test message through one channel
 *   and answers 202 at once; its outcome appears as last_test in .../channels.
 *
 * The last two ask the notification module over the bus (BUS_EV_NOTIFY_REQUEST); it answers
 * (BUS_EV_NOTIFY_REPLY) before the publish returns. */
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

struct notify_wait {
    uint64_t request_id;
    bool answered;
    struct ev_notify_reply reply;
};

static void on_reply(enum bus_event event, const void *payload, void *user)
{
    (void)event;
    struct notify_wait *wait = user;
    const struct ev_notify_reply *reply = payload;
    if (reply->request_id == wait->request_id) {
        wait->reply = *reply;
        wait->answered = true;
    }
}

/* Asks the notification module; false (and a 503 reply) when it did not answer. */
static bool ask(struct http_state *state, const char *action, const char *channel, struct notify_wait *wait,
                struct http_response *response)
{
    static uint64_t next_id;
    struct ev_notify_request request = {.request_id = ++next_id};
    snprintf(request.action, sizeof request.action, "%s", action);
    snprintf(request.channel, sizeof request.channel, "%s", channel ? channel : "");
    wait->request_id = request.request_id;
    wait->answered = false;
    balkon_bus_subscribe(state->ctx->bus, BUS_EV_NOTIFY_REPLY, on_reply, wait);
    balkon_bus_publish(state->ctx->bus, BUS_EV_NOTIFY_REQUEST, &request);
    balkon_bus_unsubscribe(state->ctx->bus, BUS_EV_NOTIFY_REPLY, on_reply, wait);
    if (!wait->answered)
        http_reply_error(response, 503, "the notification module is not running");
    return wait->answered;
}

static cJSON *channels_json(const struct ev_notify_reply *reply)
{
    cJSON *list = cJSON_CreateArray();
    for (size_t i = 0; i < reply->count; i++) {
        const struct ev_notify_channel *c = &reply->channels[i];
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
    struct notify_wait wait;
    if (!ask(state, "status", NULL, &wait, response))
        return;
    cJSON *json = cJSON_CreateObject();
    cJSON_AddBoolToObject(json, "enabled", state->ctx->config->notifications.enabled);
    cJSON_AddItemToObject(json, "channels", channels_json(&wait.reply));
    http_reply_json(response, 200, json);
}

void api_notifications_test_post(struct http_state *state, const struct http_request *request,
                                 struct http_response *response)
{
    const char *channel = http_query(request, "channel");
    if (!channel || !channel[0]) {
        http_reply_error(response, 400, "channel: missing; give the id of a channel in notifications.channels");
        return;
    }
    if (strlen(channel) >= BALKON_ID_MAX) {
        http_reply_error(response, 400, "channel: too long (at most %d characters)", BALKON_ID_MAX - 1);
        return;
    }
    struct notify_wait wait;
    if (!ask(state, "test", channel, &wait, response))
        return;
    if (wait.reply.status != 202) {
        http_reply_error(response, wait.reply.status, "%s", wait.reply.message);
        return;
    }
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "channel", channel);
    cJSON_AddStringToObject(json, "status", "queued");
    cJSON_AddStringToObject(json, "message", wait.reply.message);
    http_reply_json(response, 202, json);
}
