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
#include <stdlib.h>
#include <string.h>

static int build(const struct balkon_notify_channel_config *c, const struct notify_message *m,
                 struct notify_request *out, char *error, size_t error_size)
{
    static const int priority[] = {2, 5, 8};
    size_t len = strlen(c->url);
    const char *slash = len && c->url[len - 1] == '/' ? "" : "/";
    char token[480];
    if (!notify_urlencode(c->token, token, sizeof token) ||
        snprintf(out->url, sizeof out->url, "%s%smessage?token=%s", c->url, slash, token) >=
            (int)sizeof out->url) {
        snprintf(error, error_size, "gotify URL too long");
        return -1;
    }
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "title", m->title);
    cJSON_AddStringToObject(json, "message", m->text);
    cJSON_AddNumberToObject(json, "priority",
                            strcmp(m->state, "resolved") == 0 ? 2 : priority[m->severity]);
    char *body = cJSON_PrintUnformatted(json);
    cJSON_Delete(json);
    bool ok = body && notify_add_header(out, "Content-Type: application/json") &&
              notify_set_body(out, body);
    free(body);
    if (!ok) {
        snprintf(error, error_size, "message too long for gotify");
        return -1;
    }
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
