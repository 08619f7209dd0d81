/* MQTT: the message as JSON (the webhook's format) published to <topic> on the broker of
 * the mqtt section, qos 1, not retained (an alert is an event, not a state). */
#include "balkon/channel.h"

#include <stdio.h>
#include <string.h>
#include <stdlib.h>

static int build(const struct balkon_notify_channel_config *c, const struct notify_message *m,
                 struct notify_request *out, char *error, size_t error_size)
{
    out->kind = NOTIFY_REQ_MQTT;
    snprintf(out->topic, sizeof out->topic, "%s", c->topic);
    char *body = notify_message_json(m);
    bool ok = body && notify_set_body(out, body);
    free(body);
    if (!ok)
        return notify_refuse(error, error_size, "message too long for MQTT");
    return 0;
}

static void check(const struct balkon_notify_channel_config *c, const char *path,
                  struct balkon_config_errors *errors)
{
    notify_check_http_url(c, path, errors);
    notify_check_required(c, path, "topic", c->topic, errors);
    if (strchr(c->topic, '#') || strchr(c->topic, '+'))
        balkon_config_add_error(errors, path, "topic",
                                "must not contain MQTT wildcards, got \"%s\"", c->topic);
}

const struct notify_channel_type notify_channel_mqtt = {
    .type = "mqtt", .build = build, .check = check};
