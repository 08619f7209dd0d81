/* Gotify.
 *
 *   POST <url>/message?token=<token>
 *   Content-Type: application/json
 *
 *   {"title":"<title>","message":"<text>","priority":2|5|8}
 *
 * (info 2, warning 5, critical 8; a resolution 2.) Gotify answers 200 with the stored
 * message; 401 for a wrong token. */
#include "balkon/channel.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static int build(const struct balkon_notify_channel_config *c, const struct notify_message *m,
                 struct notify_request *out, char *error, size_t error_size)
{
    static const int priority[] = {2, 5, 8};
    char token[480];
    if (!notify_urlencode(c->token, token, sizeof token) ||
        !notify_url_join(out, c->url, "message?token=%s", token))
        return notify_refuse(error, error_size, "gotify URL too long");
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "title", m->title);
    cJSON_AddStringToObject(json, "message", m->text);
    cJSON_AddNumberToObject(json, "priority",
                            strcmp(m->state, "resolved") == 0 ? 2 : priority[m->severity]);
    if (!notify_json_body(out, notify_json_print(json), ""))
        return notify_refuse(error, error_size, "message too long for gotify");
    return 0;
}

static void check(const struct balkon_notify_channel_config *c, const char *path,
                  struct balkon_config_errors *errors)
{
    notify_check_http_url(c, path, errors);
    notify_check_required(c, path, "url", c->url, errors);
    notify_check_required(c, path, "token", c->token, errors);
}

const struct notify_channel_type notify_channel_gotify = {
    .type = "gotify", .build = build, .check = check};
