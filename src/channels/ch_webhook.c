/* A generic webhook: the message as JSON, for Home Assistant, Node-RED, n8n, Slack-style
 * relays.
 *
 *   POST <url>
 *   Content-Type: application/json
 *   Authorization: Bearer <token>   (only with a token)
 *
 *   {"rule":"device_offline","subject":"meter","severity":"warning","state":"open",
 *    "title":"…","message":"…","ts":"2026-06-01T12:00:00Z"}
 *
 * Any 2xx answer counts as delivered. */
#include "balkon/channel.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

char *notify_message_json(const struct notify_message *m)
{
    char ts[32];
    time_t t = (time_t)(m->ts_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "rule", m->rule);
    cJSON_AddStringToObject(json, "subject", m->subject);
    cJSON_AddStringToObject(json, "severity", notify_severity_name(m->severity));
    cJSON_AddStringToObject(json, "state", m->state);
    cJSON_AddStringToObject(json, "title", m->title);
    cJSON_AddStringToObject(json, "message", m->text);
    cJSON_AddStringToObject(json, "ts", ts);
    return notify_json_print(json);
}

static int build(const struct balkon_notify_channel_config *c, const struct notify_message *m,
                 struct notify_request *out, char *error, size_t error_size)
{
    snprintf(out->url, sizeof out->url, "%s", c->url);
    if (!notify_json_body(out, notify_message_json(m), c->token))
        return notify_refuse(error, error_size, "message too long for the webhook");
    return 0;
}

static void check(const struct balkon_notify_channel_config *c, const char *path,
                  struct balkon_config_errors *errors)
{
    notify_check_http_url(c, path, errors);
    notify_check_required(c, path, "url", c->url, errors);
}

const struct notify_channel_type notify_channel_webhook = {
    .type = "webhook", .build = build, .check = check};
