/* URL origins and redaction (include/balkon/url.h). Deliberately small: it parses only
 * what decides where a request goes, the way libcurl reads it for http, https, smtp and
 * smtps; anything it cannot read is treated as secret and as a different origin. */
#include "balkon/url.h"

#include "balkon/error.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int default_port(const char *scheme)
{
    static const struct {
        const char *scheme;
        int port;
    } ports[] = {{"http", 80}, {"https", 443}, {"smtp", 25}, {"smtps", 465}, {"mqtt", 1883}};
    for (size_t i = 0; i < sizeof ports / sizeof ports[0]; i++)
        if (strcmp(ports[i].scheme, scheme) == 0)
            return ports[i].port;
    return 0;
}

/* Parses and also reports whether the port was written out (for redaction). */
static int parse(const char *text, struct balkon_url *out, bool *explicit_port)
{
    memset(out, 0, sizeof *out);
    *explicit_port = false;
    const char *sep = strstr(text, "://");
    size_t scheme_len = sep ? (size_t)(sep - text) : 0;
    if (!sep || scheme_len == 0 || scheme_len >= sizeof out->scheme ||
        !isalpha((unsigned char)text[0]))
        return BALKON_E_PARSE;
    for (size_t i = 0; i < scheme_len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (!isalnum(c) && c != '+' && c != '-' && c != '.')
            return BALKON_E_PARSE;
        out->scheme[i] = (char)tolower(c);
    }
    const char *authority = sep + 3;
    size_t authority_len = strcspn(authority, "/?#");
    out->rest = authority + authority_len;
    /* User info ends at the last '@' of the authority, as libcurl reads it. */
    const char *host = authority;
    for (size_t i = 0; i < authority_len; i++)
        if (authority[i] == '@')
            host = authority + i + 1;
    out->has_userinfo = host != authority;
    size_t host_len = authority_len - (size_t)(host - authority);
    const char *port_text = NULL;
    const char *name = host;
    size_t name_len;
    if (host_len && host[0] == '[') {
        const char *close = memchr(host, ']', host_len);
        if (!close)
            return BALKON_E_PARSE;
        const char *after = close + 1;
        if (after < host + host_len) {
            if (*after != ':')
                return BALKON_E_PARSE;
            port_text = after + 1;
        }
        name = host + 1;
        name_len = (size_t)(close - name);
    } else {
        const char *colon = memchr(host, ':', host_len);
        name_len = colon ? (size_t)(colon - host) : host_len;
        if (colon)
            port_text = colon + 1;
    }
    if (name_len == 0 || name_len >= sizeof out->host)
        return BALKON_E_PARSE;
    for (size_t i = 0; i < name_len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c <= ' ' || c >= 0x7f)
            return BALKON_E_PARSE;
        out->host[i] = (char)tolower(c);
    }
    out->port = default_port(out->scheme);
    if (port_text) {
        const char *end = authority + authority_len;
        long port = 0;
        if (port_text == end)
            return BALKON_E_PARSE;
        for (const char *p = port_text; p < end; p++) {
            if (!isdigit((unsigned char)*p) || port > 65535)
                return BALKON_E_PARSE;
            port = port * 10 + (*p - '0');
        }
        if (port < 1 || port > 65535)
            return BALKON_E_PARSE;
        out->port = (int)port;
        *explicit_port = true;
    }
    return 0;
}

int balkon_url_parse(const char *text, struct balkon_url *out)
{
    bool explicit_port;
    return parse(text, out, &explicit_port);
}

bool balkon_url_same_origin(const char *a, const char *b)
{
    struct balkon_url ua, ub;
    if (balkon_url_parse(a, &ua) < 0 || balkon_url_parse(b, &ub) < 0)
        return false;
    return strcmp(ua.scheme, ub.scheme) == 0 && strcmp(ua.host, ub.host) == 0 && ua.port == ub.port;
}

bool balkon_url_has_secret(const char *text)
{
    struct balkon_url url;
    if (balkon_url_parse(text, &url) < 0)
        return true;
    return url.has_userinfo || (url.rest[0] && strcmp(url.rest, "/") != 0);
}

void balkon_url_redact(const char *text, char *out, size_t size)
{
    struct balkon_url url;
    bool explicit_port;
    if (size == 0)
        return;
    if (parse(text, &url, &explicit_port) < 0) {
        /* Not a URL: shown only when nothing in it could be user info, a path or a query. */
        snprintf(out, size, "%s", strpbrk(text, "@/?#:") ? "***" : text);
        return;
    }
    if (!balkon_url_has_secret(text)) {
        snprintf(out, size, "%s", text);
        return;
    }
    bool v6 = strchr(url.host, ':') != NULL;
    char port[8] = "";
    if (explicit_port)
        snprintf(port, sizeof port, ":%d", url.port);
    snprintf(out, size, "%s://%s%s%s%s%s", url.scheme, v6 ? "[" : "", url.host, v6 ? "]" : "", port,
             BALKON_URL_MASK);
}

int balkon_url_csp_source(const char *text, char *out, size_t size)
{
    struct balkon_url url;
    if (balkon_url_parse(text, &url) < 0 || url.has_userinfo ||
        (strcmp(url.scheme, "http") != 0 && strcmp(url.scheme, "https") != 0))
        return BALKON_E_PARSE;
    /* The policy is a header of source expressions split by spaces and ';': a host with
     * anything beyond these characters (a '*' wildcard included) could widen it. */
    bool v6 = strchr(url.host, ':') != NULL;
    for (const char *c = url.host; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '.' || *c == '-' || (v6 && *c == ':')))
            return BALKON_E_PARSE;
    char port[8] = "";
    if (url.port != default_port(url.scheme))
        snprintf(port, sizeof port, ":%d", url.port);
    int n = snprintf(out, size, "%s://%s%s%s%s", url.scheme, v6 ? "[" : "", url.host, v6 ? "]" : "",
                     port);
    return n < 0 || (size_t)n >= size ? BALKON_E_PARSE : 0;
}
