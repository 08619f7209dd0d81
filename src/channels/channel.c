/* The channel table and what the channels share: severities, bounded request building and
 * the checks most channels make of their options. */
#include "balkon/channel.h"
#include "balkon/url.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *notify_severity_name(enum notify_severity s)
{
    return s == NOTIFY_CRITICAL ? "critical" : s == NOTIFY_WARNING ? "warning" : "info";
}

enum notify_severity notify_severity_parse(const char *name)
{
    return strcmp(name, "critical") == 0  ? NOTIFY_CRITICAL
           : strcmp(name, "warning") == 0 ? NOTIFY_WARNING
                                          : NOTIFY_INFO;
}

const struct notify_channel_type *notify_channel_find(const char *type)
{
    static const struct notify_channel_type *const all[] = {
#define NOTIFY_CHANNEL(name) &notify_channel_##name,
#include "balkon/channels_list.h"
#undef NOTIFY_CHANNEL
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(all[i]->type, type) == 0)
            return all[i];
    return NULL;
}

bool notify_urlencode(const char *text, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (n + 4 > size)
            return false;
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-_.~", *p))
            out[n++] = (char)*p;
        else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    out[n] = '\0';
    return true;
}

bool notify_add_header(struct notify_request *out, const char *fmt, ...)
{
    if (out->header_count >= sizeof out->headers / sizeof out->headers[0])
        return false;
    char *h = out->headers[out->header_count];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(h, sizeof out->headers[0], fmt, ap);
    va_end(ap);
    if (len < 0 || len >= (int)sizeof out->headers[0])
        return false;
    for (char *p = h; *p; p++) /* a value with a line break would inject headers */
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    out->header_count++;
    return true;
}

bool notify_set_body(struct notify_request *out, const char *body)
{
    size_t len = strlen(body);
    if (len >= sizeof out->body)
        return false;
    memcpy(out->body, body, len + 1);
    out->body_size = len;
    return true;
}

bool notify_url_join(struct notify_request *out, const char *base, const char *fmt, ...)
{
    size_t len = strlen(base);
    int n =
        snprintf(out->url, sizeof out->url, "%s%s", base, len && base[len - 1] == '/' ? "" : "/");
    if (n < 0 || n >= (int)sizeof out->url)
        return false;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(out->url + n, sizeof out->url - (size_t)n, fmt, ap);
    va_end(ap);
    return m >= 0 && m < (int)(sizeof out->url - (size_t)n);
}

char *notify_json_print(cJSON *json)
{
    char *text = cJSON_PrintUnformatted(json);
    cJSON_Delete(json);
    return text;
}

bool notify_json_body(struct notify_request *out, char *body, const char *bearer_token)
{
    bool ok =
        body && notify_add_header(out, "Content-Type: application/json") &&
        (!bearer_token[0] || notify_add_header(out, "Authorization: Bearer %s", bearer_token)) &&
        notify_set_body(out, body);
    free(body);
    return ok;
}

int notify_refuse(char *error, size_t error_size, const char *reason)
{
    snprintf(error, error_size, "%s", reason);
    return -1;
}

void notify_check_http_url(const struct balkon_notify_channel_config *c, const char *path,
                           struct balkon_config_errors *errors)
{
    char shown[96];
    balkon_url_redact(c->url, shown, sizeof shown); /* the path may be the secret */
    if (c->url[0] && strncmp(c->url, "http://", 7) != 0 && strncmp(c->url, "https://", 8) != 0)
        balkon_config_add_error(errors, path, "url",
                                "must start with http:// or https://, got \"%s\"", shown);
}

void notify_check_required(const struct balkon_notify_channel_config *c, const char *path,
                           const char *key, const char *value, struct balkon_config_errors *errors)
{
    if (!value[0])
        balkon_config_add_error(errors, path, key, "is required for a %s channel", c->type);
}

/* The names in the list are the types: a channel's file sets .type to its list name. */
const char *const notify_channel_types[] = {
#define NOTIFY_CHANNEL(name) #name,
#include "balkon/channels_list.h"
#undef NOTIFY_CHANNEL
    NULL,
};
