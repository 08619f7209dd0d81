/* URLs as the config and the HTTP client see them: where a URL goes (its origin: scheme,
 * host and port) and what of it may be shown. A URL's user info (user:pass@), path and
 * query may hold credentials (a webhook's secret path, a token in a query, a password
 * before the host); its origin only says where the request goes, so that is what is
 * shown, and what a stored secret is bound to. */
#ifndef BALKON_URL_H
#define BALKON_URL_H

#include <stdbool.h>
#include <stddef.h>

/* What replaces the hidden part of a URL when it is shown. */
#define BALKON_URL_MASK "/***"

struct balkon_url {
    char scheme[16]; /* lowercase: "http", "https", "smtp" */
    char host[256];  /* lowercase; IPv6 without brackets */
    int port;        /* the explicit port, else the scheme's default (0 when unknown) */
    bool has_userinfo;
    const char *rest; /* path, query and fragment: points into the parsed text ("" if none) */
};

/* Splits "scheme://[user[:pass]@]host[:port][/path][?query]". Returns 0, or
 * BALKON_E_PARSE when the text is not an absolute URL with a host and a valid port. */
int balkon_url_parse(const char *text, struct balkon_url *out);

/* Whether both are URLs to the same scheme, host and port (ports defaulted by scheme). */
bool balkon_url_same_origin(const char *a, const char *b);

/* Whether the URL has something beyond its origin that could be a credential: user info,
 * or a path other than "/", a query or a fragment. Text that is no URL counts as secret. */
bool balkon_url_has_secret(const char *text);

/* Writes what of a URL may be shown: the URL itself when balkon_url_has_secret is false,
 * else "scheme://host[:port]" and BALKON_URL_MASK (the port only when given explicitly in the URL);
 * text that is no URL as it is when it has none of "@/?#:", else "***". */
void balkon_url_redact(const char *text, char *out, size_t size);

/* Writes where an http(s) URL goes as a Content-Security-Policy source expression: its
 * scheme and host, and its port when it is not the scheme's default ("https://host",
 * "http://127.0.0.1:8080", "http://[::1]:8080"). Returns 0, or BALKON_E_PARSE when text is
 * no http:// or https:// URL, has user info, or its host holds a character a policy cannot
 * carry (only letters, digits, '.', '-' and an IPv6 address's hex digits and ':'). */
int balkon_url_csp_source(const char *text, char *out, size_t size);

#endif
