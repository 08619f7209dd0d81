/* A fake HTTP server for tests, on 127.0.0.1 with an ephemeral port, running in its own
 * threads (libmicrohttpd, a thread per connection, so a delayed answer blocks nobody).
 * Routes match by path prefix; the newest matching route wins. It counts hits per route
 * and remembers the last request of each, so tests can assert what was sent. */
#ifndef BALKON_FAKE_HTTP_H
#define BALKON_FAKE_HTTP_H

#include <stddef.h>

struct fake_http;

struct fake_http *fake_http_start(void);
void fake_http_stop(struct fake_http *fake);
int fake_http_port(const struct fake_http *fake);
/* "http://127.0.0.1:PORT" */
const char *fake_http_base(const struct fake_http *fake);

/* Answers requests whose path starts with prefix. body is copied. extra_header may be NULL
 * ("Retry-After: 120"). delay_ms > 0 waits before answering. */
void fake_http_route(struct fake_http *fake, const char *prefix, int status,
                     const char *content_type, const char *body, size_t body_size,
                     const char *extra_header, int delay_ms);
/* The same with the body read from a file; {{BASE}} in it becomes fake_http_base(). */
void fake_http_route_file(struct fake_http *fake, const char *prefix, int status,
                          const char *content_type, const char *file_path, const char *extra_header,
                          int delay_ms);

/* A route that computes its answer: a fake device with state. Called on the server's
 * thread with the fake's lock held (read shared state from the test under
 * fake_http_lock). line is "METHOD /path?query" (query decoded), body the request body,
 * authorization the header or "". Writes the reply into reply (NUL-terminated) and its
 * content type, returns the HTTP status; a negative return closes the connection without
 * an answer (a device that hangs up). */
typedef int (*fake_http_handler)(void *user, const char *line, const char *body,
                                 const char *authorization, char *reply, size_t reply_size,
                                 char *content_type, size_t content_type_size);
void fake_http_route_handler(struct fake_http *fake, const char *prefix, fake_http_handler handler,
                             void *user);
void fake_http_lock(struct fake_http *fake);
void fake_http_unlock(struct fake_http *fake);

/* Makes requests whose path starts with prefix require credentials, like a device with a
 * password set: digest with SHA-256 and qop "auth" in realm (Shelly Gen2: user "admin",
 * realm = the device id), or basic (Shelly Gen1, OpenDTU). Without valid credentials the
 * request gets 401 with an empty body and a challenge (WWW-Authenticate), and counts
 * neither as a hit nor as the route's last request. Independent of the routes: routing a
 * prefix again keeps its auth rule; the newest matching rule wins. */
void fake_http_require_digest(struct fake_http *fake, const char *prefix, const char *realm,
                              const char *user, const char *password);
void fake_http_require_basic(struct fake_http *fake, const char *prefix, const char *user,
                             const char *password);
/* Requests refused for missing or wrong credentials under an auth rule's prefix. */
int fake_http_auth_refused(struct fake_http *fake, const char *prefix);

int fake_http_hits(struct fake_http *fake, const char *prefix);
/* Copies of the last request to a prefix: "METHOD /path?query", its body and its
 * Authorization header. Empty strings when there was none. */
void fake_http_last(struct fake_http *fake, const char *prefix, char *line, size_t line_size,
                    char *body, size_t body_size, char *authorization, size_t auth_size);

/* The last request's headers to a prefix, one "Name: value\n" line each, as received
 * (names as the client spelled them). Empty when there was none. */
void fake_http_last_headers(struct fake_http *fake, const char *prefix, char *out, size_t size);

/* Reads a whole file (test helper); caller frees. NULL on failure. */
char *fake_read_file(const char *path, size_t *size);

#endif
