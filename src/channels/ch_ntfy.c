/* ntfy (https://ntfy.sh or a self-hosted server).
 *
 *   POST <url>/<topic>
 *   Title: <title>
 *   Priority: 3 | 4 | 5          (info, warning, critical; 5 = "urgent")
 *   Tags: information_source | warning | rotating_light | white_check_mark (resolved)
 *   Authorization: Bearer <token> (only with a token)
 *
 *   <text>                        (the body is the message, plain UTF-8) */
#include "balkon/channel.h"

#include <stdio.h>
#include <string.h>

static int build(const struct balkon_notify_channel_config *c, const struct notify_message *m,
                 struct notify_request *out, char *error, size_t error_size)
{
    static const char *const priority[] = {"3", "4", "5"};
    static const char *const tags[] = {"information_source", "warning", "rotating_light"};
    if (!notify_url_join(out, c->url, "%s", c->topic))
        goto too_long;
    bool resolved = strcmp(m->state, "resolved") == 0;
    if (!notify_add_header(out, "Title: %s", m->title) ||
        !notify_add_header(out, "Priority: %s", resolved ? "3" : priority[m->severity]) ||
        !notify_add_header(out, "Tags: %s", resolved ? "white_check_mark" : tags[m->severity]) ||
        (c->token[0] && !notify_add_header(out, "Authorization: Bearer %s", c->token)) ||
        !notify_set_body(out, m->text))
        goto too_long;
    return 0;
too_long:
    return notify_refuse(error, error_size, "message too long for ntfy");
}

static void check(const struct balkon_notify_channel_config *c, const char *path,
                  struct balkon_config_errors *errors)
{
    notify_check_http_url(c, path, errors);
    notify_check_required(c, path, "url", c->url, errors);
    notify_check_required(c, path, "topic", c->topic, errors);
}

const struct notify_channel_type notify_channel_ntfy = {
    .type = "ntfy", .build = build, .check = check};
