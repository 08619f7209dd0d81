/* E-mail over SMTP (libcurl's SMTP client on the shared multi).
 *
 *   MAIL FROM:<from>  RCPT TO:<to>  DATA
 *   From: BalkonSolar <from>
 *   To: <to>
 *   Subject: [BalkonSolar] <title>
 *   Date: <RFC 5322 date>
 *   MIME-Version: 1.0
 *   Content-Type: text/plain; charset=utf-8
 *   Content-Transfer-Encoding: 8bit
 *
 *   <text>
 *
 * Lines end in CRLF; libcurl does the dot-stuffing. Header values have CR/LF removed so a
 * title cannot inject headers. */
#include "balkon/channel.h"
#include "balkon/url.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static void one_line(const char *in, char *out, size_t size)
{
    size_t n = 0;
    for (; *in && n + 1 < size; in++)
        out[n++] = (*in == '\r' || *in == '\n') ? ' ' : *in;
    out[n] = '\0';
}

static int build(const struct balkon_notify_channel_config *c, const struct notify_message *m,
                 struct notify_request *out, char *error, size_t error_size)
{
    out->email = true;
    snprintf(out->url, sizeof out->url, "%s", c->url);
    char title[128], date[64], text[1100];
    one_line(m->title, title, sizeof title);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    /* Bare LF in the text becomes CRLF, as SMTP wants. */
    size_t n = 0;
    for (const char *p = m->text; *p && n + 3 < sizeof text; p++) {
        if (*p == '\n' && (p == m->text || p[-1] != '\r'))
            text[n++] = '\r';
        text[n++] = *p;
    }
    text[n] = '\0';
    char body[4096];
    int len =
        snprintf(body, sizeof body,
                 "From: BalkonSolar <%s>\r\nTo: <%s>\r\nSubject: [BalkonSolar] %s\r\nDate: %s\r\n"
                 "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                 "Content-Transfer-Encoding: 8bit\r\n\r\n%s\r\n",
                 c->from, c->to, title, date, text);
    if (len < 0 || len >= (int)sizeof body || !notify_set_body(out, body))
        return notify_refuse(error, error_size, "message too long for e-mail");
    return 0;
}

static void check(const struct balkon_notify_channel_config *c, const char *path,
                  struct balkon_config_errors *errors)
{
    char shown[96];
    balkon_url_redact(c->url, shown, sizeof shown); /* user:pass@ must not be echoed */
    if (strncmp(c->url, "smtp://", 7) != 0 && strncmp(c->url, "smtps://", 8) != 0)
        balkon_config_add_error(
            errors, path, "url",
            "must be smtp://host:port or smtps://host:port for an email channel, got \"%s\"",
            shown);
    if (!c->from[0] || !strchr(c->from, '@'))
        balkon_config_add_error(errors, path, "from", "must be an e-mail address, got \"%s\"",
                                c->from);
    if (!c->to[0] || !strchr(c->to, '@'))
        balkon_config_add_error(errors, path, "to", "must be an e-mail address, got \"%s\"", c->to);
}

const struct notify_channel_type notify_channel_email = {
    .type = "email", .build = build, .check = check};
