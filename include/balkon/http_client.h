/* An HTTP client on the daemon's loop: libcurl's multi interface driven by libuv.
 *
 * Every transfer has a connect timeout and an overall timeout (libcurl has no overall
 * timeout by default and waits 300 s to connect), and a bound on the response size, so a
 * slow or hostile server can neither stall a module nor exhaust memory. Completion is
 * reported through a callback on the loop thread.
 *
 * libcurl is loaded with the first transfer of the process, not at start (src/net/curl_lib.h
 * says why); when it cannot be loaded, transfers fail with the reason in result.error. */
#ifndef BALKON_HTTP_CLIENT_H
#define BALKON_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct balkon_http_client;

#define BALKON_HTTP_MAX_HEADERS 8

enum balkon_http_auth {
    BALKON_HTTP_AUTH_NONE = 0,
    BALKON_HTTP_AUTH_BASIC,  /* OpenDTU, Shelly Gen1 */
    BALKON_HTTP_AUTH_DIGEST, /* Shelly Gen2 (SHA-256) */
};

struct balkon_http_request {
    const char *method; /* "GET" (default when NULL) or "POST" */
    const char *url;
    const char *headers[BALKON_HTTP_MAX_HEADERS]; /* "Name: value", NULL-terminated */
    const char *body;                             /* POST body or NULL; copied */
    size_t body_size;
    long connect_timeout_ms;    /* default 5000 */
    long timeout_ms;            /* default 20000 */
    size_t max_response_bytes;  /* default 4 MiB; larger answers fail */
    enum balkon_http_auth auth; /* with user and password; copied */
    const char *user;
    const char *password;
    /* E-mail instead of HTTP: with mail_from set, url is "smtp://host:port" (or smtps://),
     * body is the whole message (headers, blank line, text; CRLF line ends) sent to
     * mail_rcpt, and user/password log in when user is set (auth is ignored). status is
     * the SMTP server's last reply code. */
    const char *mail_from;
    const char *mail_rcpt;
    /* Redirects (3xx) are followed, at most 3, only to the same scheme, host and port;
     * a redirect elsewhere ends the transfer with the reason in result.error. Devices set
     * no_redirects: a device is asked at its own address, and any redirect is an error. */
    bool no_redirects;
};

struct balkon_http_result {
    long status;         /* HTTP status, 0 when no answer came */
    int transport_error; /* 0, or a libcurl error code */
    char error[256];     /* what went wrong in words, "" on a completed transfer */
    const char *body;    /* NUL-terminated; valid during the callback only */
    size_t body_size;
    long retry_after_s; /* from a Retry-After header (seconds or HTTP date), -1 if none */
    double elapsed_s;
};

typedef void (*balkon_http_cb)(const struct balkon_http_result *result, void *user);

/* What went wrong, as a code the dashboard translates (docs/api.md, "Fault codes"):
 * "timeout", "unreachable" (refused, no route), "unknown_host", "tls", "too_large",
 * "auth" (401/403), "http_status" (another non-2xx status), "transport" (any other
 * failure); NULL for a 2xx answer. */
const char *balkon_http_fault(const struct balkon_http_result *result);

/* Creates a client on loop. The caller owns it and closes it with balkon_http_client_close. */
int balkon_http_client_new(uv_loop_t *loop, struct balkon_http_client **out);

/* Starts a transfer. On success cb is called exactly once, later, on the loop thread (also
 * when the client is closed first: then with transport_error set and "cancelled"). If this
 * returns an error, cb is never called. */
int balkon_http_fetch(struct balkon_http_client *client, const struct balkon_http_request *request,
                      balkon_http_cb cb, void *user);

/* Cancels what is in flight (their callbacks run with "cancelled") and releases the client
 * once its handles are closed. Accepts NULL. */
void balkon_http_client_close(struct balkon_http_client *client);

/* Transfers in flight. */
size_t balkon_http_client_active(const struct balkon_http_client *client);

/* Loads libcurl if no transfer has yet, and describes it in text ("libcurl 7.88.1, TLS
 * OpenSSL/3.0.15"); *tls tells whether it speaks TLS (https://, smtps://). Returns 0, or
 * BALKON_E_NOTFOUND with why in text when libcurl cannot be loaded. On the loop thread. */
int balkon_http_library(char *text, size_t text_size, bool *tls);

#endif
