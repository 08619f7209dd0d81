/* Telegram bot API.
 *
 *   POST <url or https://api.telegram.org>/bot<token>/sendMessage
 *   Content-Type: application/json
 *
 *   {"chat_id":"<chat_id>","text":"<title>\n\n<text>","disable_web_page_preview":true}
 *
 * Telegram answers 200 {"ok":true,…}; anything else is a failure (401 wrong token, 400 "chat
 * not found"). */
#include "balkon/channel.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static int build(const struct balkon_notify_channel_config *c, const struct notify_message *m,
                 struct notify_request *out, char *error, size_t error_size)
{
    const char *base = c->url[0] ? c->url : "https://api.telegram.org";
    if (!notify_url_join(out, base, "bot%s/sendMessage", c->token))
        return notify_refuse(error, error_size, "telegram URL too long");
    char text[700];
    snprintf(text, sizeof text, "%s\n\n%s", m->title, m->text);
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "chat_id", c->chat_id);
    cJSON_AddStringToObject(json, "text", text);
    cJSON_AddBoolToObject(json, "disable_web_page_preview", 1);
    if (!notify_json_body(out, notify_json_print(json), ""))
        return notify_refuse(error, error_size, "message too long for telegram");
    return 0;
}

static void check(const struct balkon_notify_channel_config *c, const char *path,
                  struct balkon_config_errors *errors)
{
    notify_check_http_url(c, path, errors);
    notify_check_required(c, path, "token", c->token, errors);
    notify_check_required(c, path, "chat_id", c->chat_id, errors);
}

const struct notify_channel_type notify_channel_telegram = {
    .type = "telegram", .build = build, .check = check};
