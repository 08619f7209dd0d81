/* Private to src/http: the accept side of the HTTP server (listener.c) and its loopback
 * self-probe (probe.c). Apart from http_internal.h because it needs microhttpd.h. */
#ifndef BALKON_HTTP_LISTENER_H
#define BALKON_HTTP_LISTENER_H

#include "http_internal.h"

#include <microhttpd.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

/* Connections MHD may hold: the limit, room for those evicted but not yet reaped by MHD,
 * and the self-probe. */
#define HTTP_CONNECTION_SLOTS (2 * HTTP_CONNECTION_LIMIT)

struct http_listener;

/* Opens the listening socket on addr (listen, "ADDRESS:PORT" as configured, names it in
 * the log). Returns NULL on failure, logged with the reason. */
struct http_listener *http_listener_new(uv_loop_t *loop, const struct sockaddr *addr,
                                        socklen_t addr_len, const char *listen);
/* The port listened on (the one the kernel picked for port 0). */
unsigned http_listener_port(const struct http_listener *listener);
/* MHD_OPTION_NOTIFY_CONNECTION's callback, with the listener as cls. */
void http_listener_notify_cb(void *cls, struct MHD_Connection *connection, void **socket_context,
                             enum MHD_ConnectionNotificationCode toe);
/* Starts accepting: connections go to daemon, and run(run_arg) makes MHD process them
 * after each batch and after connections were shut down. */
void http_listener_start(struct http_listener *listener, struct MHD_Daemon *daemon,
                         void (*run)(void *run_arg), void *run_arg);
/* Stops accepting and closes the listening socket and the handles. Connections MHD still
 * holds are untouched; MHD_stop_daemon closes them, and may call back until it returns. */
void http_listener_stop(struct http_listener *listener);
/* Frees the listener once the loop has closed its handles and MHD_stop_daemon returned.
 * Accepts NULL. */
void http_listener_free(struct http_listener *listener);

/* The connection's request has arrived whole and is being answered (a response, a
 * deferred answer, an event stream): from now on no deadline, never evicted. */
void http_listener_answering(struct MHD_Connection *connection);
/* The connection's answer is done; kept alive, it waits for its next request, and the
 * request deadline starts again. */
void http_listener_waiting(struct MHD_Connection *connection);
/* Whether connection is the self-probe's. */
bool http_listener_is_probe(struct MHD_Connection *connection);
/* The self-probe has connected from local: that connection is admitted beyond the limits. */
void http_listener_expect_probe(struct http_listener *listener, const struct sockaddr *local);

struct http_probe;

/* Probes the server every period_ms: connects to target (the listening address, with a
 * wildcard one replaced by loopback) on the loop, sends GET /api/v1/health (over TLS when
 * tls) and publishes BUS_EV_HTTP_PROBE_ANSWERED when a 200 comes within the period. NULL
 * when out of memory. */
struct http_probe *http_probe_new(struct balkon_ctx *ctx, struct http_listener *listener,
                                  const struct sockaddr *target, uint64_t period_ms, bool tls);
/* Stops probing and closes the handles. */
void http_probe_stop(struct http_probe *probe);
/* Frees the probe once the loop has closed its handles. Accepts NULL. */
void http_probe_free(struct http_probe *probe);

#endif
