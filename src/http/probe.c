/* The HTTP server's self-probe: proof for the systemd watchdog that the server still
 * accepts and answers, not only that the loop turns.
 *
 * Every period the daemon connects to its own listening address over TCP (a wildcard
 * address replaced by loopback), sends
 *   GET /api/v1/health HTTP/1.1\r\nHost: ADDRESS\r\nConnection: close\r\n\r\n
 * and waits for the status line "HTTP/1.1 200 ". All of it is libuv on the loop (a
 * uv_tcp_t, never a blocking call), so the probe goes through the same accept, the same
 * MHD and the same handler as any client. An answer within the period is published as
 * BUS_EV_HTTP_PROBE_ANSWERED; the systemd module feeds the watchdog only while those come.
 * The listener admits the probe's connection beyond the connection limits (it tells it
 * the address the probe connects from), so a flood of clients cannot starve the probe and
 * make systemd restart a server that merely has no room.
 *
 * Under http.tls the probe speaks TLS too (GnuTLS as a client, non-blocking, its records
 * carried by the same uv_tcp_t through push/pull functions), so the watchdog still proves
 * the handshake and the handler. It does not check the certificate: it asks whether the
 * server answers, not who it is. */
#include "listener.h"

#include "balkon/bus.h"
#include "balkon/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum probe_state {
    PROBE_IDLE,    /* no connection: the next one may start */
    PROBE_RUNNING, /* connecting, sending or waiting for the answer */
    PROBE_CLOSING, /* its handle is closing; the next one waits for that */
};

struct http_probe {
    struct balkon_ctx *ctx;
    struct http_listener *listener;
    struct sockaddr_storage target;
    uint64_t period_ms;
    uv_timer_t timer;
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_write_t write_req;
    enum probe_state state;
    bool stopped;
    char request[128];
    char reply[64]; /* the start of the answer: enough for its status line */
    size_t reply_len;
    uint64_t started_ms;
    uint64_t failures; /* in a row; logged at the first and when it ends */
    /* TLS (http.tls): the session of the running probe, and what came in for it */
    gnutls_certificate_credentials_t credentials; /* NULL: plain HTTP */
    gnutls_session_t session;
    bool handshaken;
    char in[32 * 1024];
    size_t in_len, in_off;
};

/* One TLS record on its way out, owned by its write request. */
struct tls_write {
    uv_write_t req;
    struct http_probe *probe;
    char data[];
};

static void close_cb(uv_handle_t *handle)
{
    struct http_probe *probe = handle->data;
    probe->state = PROBE_IDLE;
}

/* Ends the running probe: published when answered, logged when it failed. */
static void finish(struct http_probe *probe, const char *failure)
{
    if (probe->state != PROBE_RUNNING)
        return;
    uint64_t now = uv_now(probe->ctx->loop);
    if (!failure) {
        if (probe->failures)
            log_notice("http", "the self-probe is answered again (after %" PRIu64 " failure%s)",
                       probe->failures, probe->failures == 1 ? "" : "s");
        probe->failures = 0;
        struct ev_http_probe_answered event = {.answered_ms = now,
                                               .latency_ms = now - probe->started_ms};
        balkon_bus_publish(probe->ctx->bus, BUS_EV_HTTP_PROBE_ANSWERED, &event);
    } else if (probe->failures++ == 0) {
        log_warn("http",
                 "self-probe GET /api/v1/health: %s; the watchdog is not fed while "
                 "the server does not answer",
                 failure);
    }
    probe->state = PROBE_CLOSING;
    if (probe->session) {
        gnutls_deinit(probe->session);
        probe->session = NULL;
    }
    uv_close((uv_handle_t *)&probe->tcp, close_cb);
}

static void alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct http_probe *probe = handle->data;
    if (probe->credentials) {
        if (probe->in_off == probe->in_len)
            probe->in_off = probe->in_len = 0;
        *buf = uv_buf_init(probe->in + probe->in_len, (unsigned)(sizeof probe->in - probe->in_len));
        return;
    }
    *buf = uv_buf_init(probe->reply + probe->reply_len,
                       (unsigned)(sizeof probe->reply - 1 - probe->reply_len));
}

/* The answer so far: finished when its status line is there (or cannot be). */
static void check_reply(struct http_probe *probe)
{
    if (!strstr(probe->reply, "\r\n") && probe->reply_len < sizeof probe->reply - 1)
        return;
    if (strncmp(probe->reply, "HTTP/1.1 200 ", 13) == 0) {
        finish(probe, NULL);
        return;
    }
    char failure[96];
    snprintf(failure, sizeof failure, "answered \"%.*s\"", (int)strcspn(probe->reply, "\r\n"),
             probe->reply);
    finish(probe, failure);
}

static void tls_write_cb(uv_write_t *req, int status)
{
    struct tls_write *write = req->data;
    if (status < 0 && status != UV_ECANCELED)
        finish(write->probe, uv_strerror(status));
    free(write);
}

/* GnuTLS's output: onto the connection (queued by libuv, so always all of it). */
static ssize_t tls_push(gnutls_transport_ptr_t ptr, const void *data, size_t len)
{
    struct http_probe *probe = ptr;
    struct tls_write *write = malloc(sizeof *write + len);
    if (!write) {
        gnutls_transport_set_errno(probe->session, ENOMEM);
        return -1;
    }
    memcpy(write->data, data, len);
    write->probe = probe;
    write->req.data = write;
    uv_buf_t buf = uv_buf_init(write->data, (unsigned)len);
    if (uv_write(&write->req, (uv_stream_t *)&probe->tcp, &buf, 1, tls_write_cb) < 0) {
        free(write);
        gnutls_transport_set_errno(probe->session, EIO);
        return -1;
    }
    return (ssize_t)len;
}

/* GnuTLS's input: what read_cb has gathered, or "again" until more comes. */
static ssize_t tls_pull(gnutls_transport_ptr_t ptr, void *data, size_t len)
{
    struct http_probe *probe = ptr;
    size_t have = probe->in_len - probe->in_off;
    if (have == 0) {
        gnutls_transport_set_errno(probe->session, EAGAIN);
        return -1;
    }
    size_t n = have < len ? have : len;
    memcpy(data, probe->in + probe->in_off, n);
    probe->in_off += n;
    return (ssize_t)n;
}

/* Takes the TLS conversation as far as what has arrived allows: the handshake, then the
 * request, then the answer's status line. */
static void tls_step(struct http_probe *probe)
{
    if (!probe->handshaken) {
        int rc = gnutls_handshake(probe->session);
        if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
            return;
        if (rc < 0) {
            finish(probe, gnutls_strerror(rc));
            return;
        }
        probe->handshaken = true;
        ssize_t sent = gnutls_record_send(probe->session, probe->request, strlen(probe->request));
        if (sent < 0) {
            finish(probe, gnutls_strerror((int)sent));
            return;
        }
    }
    while (probe->state == PROBE_RUNNING) {
        ssize_t n = gnutls_record_recv(probe->session, probe->reply + probe->reply_len,
                                       sizeof probe->reply - 1 - probe->reply_len);
        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
            return;
        if (n <= 0) {
            finish(probe, n == 0 ? "closed without an answer" : gnutls_strerror((int)n));
            return;
        }
        probe->reply_len += (size_t)n;
        probe->reply[probe->reply_len] = '\0';
        check_reply(probe);
    }
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct http_probe *probe = stream->data;
    if (nread < 0) {
        finish(probe, nread == UV_EOF ? "closed without an answer" : uv_strerror((int)nread));
        return;
    }
    if (probe->credentials) {
        probe->in_len += (size_t)nread;
        tls_step(probe);
        return;
    }
    probe->reply_len += (size_t)nread;
    probe->reply[probe->reply_len] = '\0';
    check_reply(probe);
}

static void write_cb(uv_write_t *req, int status)
{
    if (status < 0 && status != UV_ECANCELED)
        finish(req->data, uv_strerror(status));
}

static void connect_cb(uv_connect_t *req, int status)
{
    struct http_probe *probe = req->data;
    if (probe->state != PROBE_RUNNING)
        return;
    if (status < 0) {
        finish(probe, uv_strerror(status));
        return;
    }
    if (probe->credentials) {
        int rc = uv_read_start((uv_stream_t *)&probe->tcp, alloc_cb, read_cb);
        if (rc < 0)
            finish(probe, uv_strerror(rc));
        else
            tls_step(probe);
        return;
    }
    uv_buf_t buf = uv_buf_init(probe->request, (unsigned)strlen(probe->request));
    int rc = uv_write(&probe->write_req, (uv_stream_t *)&probe->tcp, &buf, 1, write_cb);
    if (rc == 0)
        rc = uv_read_start((uv_stream_t *)&probe->tcp, alloc_cb, read_cb);
    if (rc < 0)
        finish(probe, uv_strerror(rc));
}

static void start(struct http_probe *probe)
{
    uv_tcp_init(probe->ctx->loop, &probe->tcp);
    probe->tcp.data = probe;
    probe->state = PROBE_RUNNING;
    probe->reply_len = 0;
    probe->reply[0] = '\0';
    probe->started_ms = uv_now(probe->ctx->loop);
    if (probe->credentials) {
        probe->handshaken = false;
        probe->in_len = probe->in_off = 0;
        if (gnutls_init(&probe->session, GNUTLS_CLIENT | GNUTLS_NONBLOCK) < 0) {
            probe->session = NULL;
            finish(probe, "cannot start a TLS session");
            return;
        }
        gnutls_set_default_priority(probe->session);
        gnutls_credentials_set(probe->session, GNUTLS_CRD_CERTIFICATE, probe->credentials);
        gnutls_transport_set_ptr(probe->session, probe);
        gnutls_transport_set_push_function(probe->session, tls_push);
        gnutls_transport_set_pull_function(probe->session, tls_pull);
    }
    int rc = uv_tcp_connect(&probe->connect_req, &probe->tcp,
                            (const struct sockaddr *)&probe->target, connect_cb);
    if (rc < 0) {
        finish(probe, uv_strerror(rc));
        return;
    }
    /* connect(2) has bound the local address already; the listener will accept the
     * connection in a later poll phase of the loop, not before this returns. */
    struct sockaddr_storage local;
    int len = sizeof local;
    if (uv_tcp_getsockname(&probe->tcp, (struct sockaddr *)&local, &len) == 0)
        http_listener_expect_probe(probe->listener, (struct sockaddr *)&local);
}

/* Each period: a probe still running has failed (no answer within the period); a new one
 * starts once the previous handle has closed. */
static void timer_cb(uv_timer_t *timer)
{
    struct http_probe *probe = timer->data;
    if (probe->state == PROBE_RUNNING) {
        char failure[64];
        snprintf(failure, sizeof failure, "no answer within %" PRIu64 " ms", probe->period_ms);
        finish(probe, failure);
    }
    if (probe->state == PROBE_IDLE)
        start(probe);
}

/* The address to probe: the listening one, a wildcard replaced by loopback; and the
 * request, which names it in its Host header (an address passes the Host allowlist). */
static void make_target(struct http_probe *probe, const struct sockaddr *listen_addr)
{
    char ip[INET6_ADDRSTRLEN];
    if (listen_addr->sa_family == AF_INET6) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&probe->target;
        memcpy(a6, listen_addr, sizeof *a6);
        if (IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr))
            a6->sin6_addr = in6addr_loopback;
        inet_ntop(AF_INET6, &a6->sin6_addr, ip, sizeof ip);
        snprintf(probe->request, sizeof probe->request,
                 "GET /api/v1/health HTTP/1.1\r\nHost: [%s]\r\nConnection: close\r\n\r\n", ip);
        return;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)&probe->target;
    memcpy(a4, listen_addr, sizeof *a4);
    if (a4->sin_addr.s_addr == htonl(INADDR_ANY))
        a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    inet_ntop(AF_INET, &a4->sin_addr, ip, sizeof ip);
    snprintf(probe->request, sizeof probe->request,
             "GET /api/v1/health HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", ip);
}

struct http_probe *http_probe_new(struct balkon_ctx *ctx, struct http_listener *listener,
                                  const struct sockaddr *target, uint64_t period_ms, bool tls)
{
    struct http_probe *probe = calloc(1, sizeof *probe);
    if (!probe)
        return NULL;
    if (tls && gnutls_certificate_allocate_credentials(&probe->credentials) < 0) {
        free(probe);
        return NULL;
    }
    probe->ctx = ctx;
    probe->listener = listener;
    probe->period_ms = period_ms;
    make_target(probe, target);
    probe->connect_req.data = probe;
    probe->write_req.data = probe;
    uv_timer_init(ctx->loop, &probe->timer);
    probe->timer.data = probe;
    uv_timer_start(&probe->timer, timer_cb, 0, period_ms);
    log_info("http", "self-probe every %" PRIu64 " ms for the watchdog", period_ms);
    return probe;
}

void http_probe_stop(struct http_probe *probe)
{
    if (!probe || probe->stopped)
        return;
    probe->stopped = true;
    uv_close((uv_handle_t *)&probe->timer, NULL);
    if (probe->state == PROBE_RUNNING) {
        probe->state = PROBE_CLOSING;
        uv_close((uv_handle_t *)&probe->tcp, close_cb);
    }
    if (probe->session) {
        gnutls_deinit(probe->session);
        probe->session = NULL;
    }
}

void http_probe_free(struct http_probe *probe)
{
    if (probe && probe->credentials)
        gnutls_certificate_free_credentials(probe->credentials);
    free(probe);
}
