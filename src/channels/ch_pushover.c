/* Pushover.
 *
 *   POST <url or https://api.pushover.net>/1/messages.json
 *   Content-Type: application/x-www-form-urlencoded
 *
 *   token=<token>&user=<user>&title=<title>&message=<text>&priority=-1|0|1
 *
 * (info -1 quiet, warning 0 normal, critical 1 high; a resolution is -1.) Pushover answers
 * 200 {"status":1,…}; 4xx with {"errors":[…]} for a wrong token or user. */
#include "balkon/channel.h"

#include <stdio.h>
#include <string.h>

static int build(const struct balkon_notify_channel_config *c, const struct notify_message *m,
                 struct notify_request *out, char *error, size_t error_size)
{
    static const char *const priority[] = {"-1", "0", "1"};
    const char *base = c->url[0] ? c->url : "https://api.pushover.net";
    char token[480], user[400], title[400], text[1600];
    if (!notify_url_join(out, base, "1/messages.json") ||
        !notify_urlencode(c->token, token, sizeof token) ||
        !notify_urlencode(c->user, user, sizeof user) ||
        !notify_urlencode(m->title, title, sizeof title) ||
        !notify_urlencode(m->text, text, sizeof text))
        goto too_long;
    char body[4096];
    snprintf(body, sizeof body, "token=%s&user=%s&title=%s&message=%s&priority=%s", token, user,
             title, text, strcmp(m->state, "resolved") == 0 ? "-1" : priority[m->severity]);
    if (!notify_add_header(out, "Content-Type: application/x-www-form-urlencoded") ||
        !notify_set_body(out, body))
        goto too_long;
    return 0;
too_long:
    return notify_refuse(error, error_size, "message too long for pushover");
}

static void check(const struct balkon_notify_channel_config *c, const char *path,
                  struct balkon_config_errors *errors)
{
    notify_check_http_url(c, path, errors);
    notify_check_required(c, path, "token", c->token, errors);
    if (!c->user[0])
        balkon_config_add_error(errors, path, "user",
                                "is required for a pushover channel (the user key)");
}

const struct notify_channel_type notify_channel_pushover = {
    .type = "pushover", .build = build, .check = check};
