/* libmosquitto on libuv.
 *
 * libmosquitto's external-loop interface: a uv_poll_t watches mosquitto_socket()
 * (readable always, writable while mosquitto_want_write()), readiness is handed back
 * with mosquitto_loop_read/_write, and a 1 s timer calls mosquitto_loop_misc, which
 * sends the keepalive pings and notices a broker that stopped answering them. The
 * reconnects are ours: libmosquitto's own live in its blocking loop functions.
 *
 * The poll handle must not outlive its descriptor: a reconnect gets the same number
 * back, and libuv misbehaves with two handles on one fd. So each connection gets its own
 * poll handle, closed as soon as the connection fails (from on_disconnect, or where we
 * give up on it ourselves), before every reconnect and disconnect (which close the old
 * socket), and whenever mosquitto_socket() is no longer the descriptor it watches. Where
 * libmosquitto closed the socket first, the kernel has already dropped it from epoll,
 * and nothing can have reused the number in between, so the late stop is harmless.
 *
 * libmosquitto itself is loaded when the first client is made (mosquitto_lib.c), so a site
 * without MQTT never maps it, nor the OpenSSL it links. */
#include "balkon/mqtt.h"

#include "balkon/error.h"
#include "balkon/log.h"

#include "mosquitto_lib.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BACKOFF_MIN_S 1u
#define BACKOFF_MAX_S 60u
/* A SYN to an address nobody answers would otherwise wait for TCP's ~2 minutes. */
#define CONNECT_TIMEOUT_S 10u
#define TICK_MS 1000u
/* Subscribing with qos 1 lets a device's qos 1 messages arrive as qos 1. */
#define SUBSCRIBE_QOS 1

enum conn_state {
    ST_WAITING,    /* no connection; the retry timer runs */
    ST_CONNECTING, /* socket opened, CONNECT sent or pending, no CONNACK yet */
    ST_CONNECTED,
};

struct sub {
    struct sub *next;
    balkon_mqtt_message_cb cb; /* NULL once unsubscribed; freed by prune_subs */
    void *user;
    char filter[];
};

struct conn_cb {
    struct conn_cb *next;
    balkon_mqtt_connect_cb cb; /* NULL once dropped; freed by prune_subs */
    void *user;
};

struct balkon_mqtt {
    uv_loop_t *loop;
    struct mosquitto *mosq;
    uv_poll_t *poll; /* watches the current socket; NULL when there is none */
    int poll_fd;
    int poll_events;
    uv_timer_t tick;
    uv_timer_t retry;
    int open_handles;
    enum conn_state state;
    uint64_t since_ms; /* when the current attempt or connection began */
    unsigned backoff_s;
    char host[256];
    int port;
    int keepalive_s;
    char endpoint[272]; /* "host:port", for messages */
    struct sub *subs;
    struct conn_cb *conn_cbs;
    int dispatching; /* depth of on_message: subs are unlinked only at 0 */
    bool closing;
    char refusal[128];       /* the broker's CONNACK reason until on_disconnect reports it */
    char logged_reason[128]; /* the failure last logged as a warning: repeats go to debug */
    char status[512];
};

/* libmosquitto, loaded by the first balkon_mqtt_new (mosquitto_lib.c): every call into it
 * goes through this table. Set before any client exists, so never NULL where it is used. */
static const struct mosquitto_lib *libmosq;

static void retry_cb(uv_timer_t *timer);

static void poll_closed_cb(uv_handle_t *handle)
{
    free(handle);
}

static void poll_detach(struct balkon_mqtt *m)
{
    if (!m->poll)
        return;
    uv_poll_stop(m->poll);
    uv_close((uv_handle_t *)m->poll, poll_closed_cb);
    m->poll = NULL;
}

/* Says why libmosquitto gave up, in words; errno_value is errno as it was right after. */
static const char *reason_text(const struct balkon_mqtt *m, int rc, int errno_value, char *buf,
                               size_t size)
{
    switch (rc) {
    case MOSQ_ERR_ERRNO:
        snprintf(buf, size, "%s", strerror(errno_value));
        break;
    case MOSQ_ERR_EAI: /* libmosquitto leaves getaddrinfo's code in errno */
        snprintf(buf, size, "cannot resolve \"%.60s\": %s", m->host, gai_strerror(errno_value));
        break;
    case MOSQ_ERR_CONN_LOST:
        snprintf(buf, size, "closed by the broker");
        break;
    case MOSQ_ERR_KEEPALIVE:
        snprintf(buf, size, "the broker stopped answering keepalive pings");
        break;
    case MOSQ_ERR_CONN_REFUSED:
        snprintf(buf, size, "%s", m->refusal[0] ? m->refusal : "refused by the broker");
        break;
    default:
        snprintf(buf, size, "%s", libmosq->strerror(rc));
        break;
    }
    size_t len = strlen(buf); /* libmosquitto's texts end in '.', ours continue after them */
    if (len > 0 && buf[len - 1] == '.')
        buf[len - 1] = '\0';
    return buf;
}

/* Ends the current attempt or connection and schedules the next attempt. */
static void connection_failed(struct balkon_mqtt *m, const char *reason)
{
    poll_detach(m);
    if (m->closing || m->state == ST_WAITING)
        return;
    bool was_connected = m->state == ST_CONNECTED;
    /* A connection that held for a while ends the series of failures; one that drops
     * right away (a second client with our id, a broker refusing us after CONNACK) must
     * not make us reconnect every second. */
    if (was_connected && uv_now(m->loop) - m->since_ms >= BACKOFF_MAX_S * 1000u)
        m->backoff_s = BACKOFF_MIN_S;
    unsigned delay_s = m->backoff_s;
    m->backoff_s = m->backoff_s * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : m->backoff_s * 2;
    m->state = ST_WAITING;
    snprintf(m->status, sizeof m->status, "%s %s%s: %s; retrying in %u s",
             was_connected ? "connection to" : "cannot connect to", m->endpoint,
             was_connected ? " lost" : "", reason, delay_s);
    if (was_connected || strcmp(reason, m->logged_reason) != 0)
        log_warn("mqtt", "%s", m->status);
    else
        log_debug("mqtt", "%s", m->status);
    snprintf(m->logged_reason, sizeof m->logged_reason, "%s", reason);
    uv_timer_start(&m->retry, retry_cb, (uint64_t)delay_s * 1000u, 0);
}

static void poll_cb(uv_poll_t *handle, int status, int events);

/* Makes the poll handle watch libmosquitto's current socket, for writing only while
 * libmosquitto has something to send. Called after every call into libmosquitto. */
static void poll_sync(struct balkon_mqtt *m)
{
    if (m->closing)
        return;
    int fd = libmosq->socket(m->mosq);
    if (m->poll && (m->poll_fd != fd || m->state == ST_WAITING))
        poll_detach(m);
    if (fd < 0 || m->state == ST_WAITING)
        return;
    if (!m->poll) {
        uv_poll_t *poll = malloc(sizeof *poll);
        int rc = poll ? uv_poll_init_socket(m->loop, poll, fd) : UV_ENOMEM;
        if (rc < 0) {
            free(poll);
            connection_failed(m, uv_strerror(rc));
            return;
        }
        poll->data = m;
        m->poll = poll;
        m->poll_fd = fd;
        m->poll_events = 0;
    }
    int events = UV_READABLE | (libmosq->want_write(m->mosq) ? UV_WRITABLE : 0);
    if (events != m->poll_events && uv_poll_start(m->poll, events, poll_cb) == 0)
        m->poll_events = events;
}

/* After a libmosquitto call: on failure it has normally reported the disconnect through
 * on_disconnect already; if not (it returned early), we end the connection here. */
static void after_call(struct balkon_mqtt *m, int rc)
{
    int errno_value = errno;
    if (m->closing)
        return;
    if (rc != MOSQ_ERR_SUCCESS && m->state != ST_WAITING) {
        char reason[128];
        connection_failed(m, reason_text(m, rc, errno_value, reason, sizeof reason));
        return;
    }
    poll_sync(m);
}

static void poll_cb(uv_poll_t *handle, int status, int events)
{
    struct balkon_mqtt *m = handle->data;
    if (handle != m->poll)
        return;
    if (status < 0) {
        /* libuv reports POLLERR this way (and stops the handle): a refused or reset
         * connection. The socket's pending error says which. */
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(m->poll_fd, SOL_SOCKET, SO_ERROR, &err, &len);
        connection_failed(m, err ? strerror(err) : uv_strerror(status));
        return;
    }
    int rc = MOSQ_ERR_SUCCESS;
    if (events & UV_READABLE)
        rc = libmosq->loop_read(m->mosq, 1);
    /* Message callbacks may have closed the client, or the read may have ended the
     * connection; then the write has nothing to do. */
    if (rc == MOSQ_ERR_SUCCESS && !m->closing && handle == m->poll && (events & UV_WRITABLE))
        rc = libmosq->loop_write(m->mosq, 1);
    after_call(m, rc);
}

static void subscribe_at_broker(struct balkon_mqtt *m, const char *filter)
{
    if (m->state == ST_CONNECTED)
        libmosq->subscribe(m->mosq, NULL, filter, SUBSCRIBE_QOS);
}

/* Whether a live subscription other than except uses filter. */
static bool filter_in_use(const struct balkon_mqtt *m, const char *filter, const struct sub *except)
{
    for (const struct sub *s = m->subs; s; s = s->next)
        if (s != except && s->cb && strcmp(s->filter, filter) == 0)
            return true;
    return false;
}

static void prune_subs(struct balkon_mqtt *m);

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct balkon_mqtt *m = obj;
    if (m->closing)
        return;
    if (rc != 0) { /* libmosquitto reports the disconnect next; keep the reason for it */
        snprintf(m->refusal, sizeof m->refusal, "%s", libmosq->connack_string(rc));
        return;
    }
    m->state = ST_CONNECTED;
    m->since_ms = uv_now(m->loop);
    m->logged_reason[0] = '\0';
    snprintf(m->status, sizeof m->status, "connected to %s", m->endpoint);
    log_info("mqtt", "%s", m->status);
    /* The session is clean: the broker forgot our subscriptions with the connection. */
    for (const struct sub *s = m->subs; s; s = s->next) {
        bool earlier = false;
        for (const struct sub *e = m->subs; e != s && !earlier; e = e->next)
            earlier = e->cb && strcmp(e->filter, s->filter) == 0;
        if (s->cb && !earlier)
            subscribe_at_broker(m, s->filter);
    }
    m->dispatching++;
    for (struct conn_cb *c = m->conn_cbs; c && !m->closing && m->state == ST_CONNECTED; c = c->next)
        if (c->cb)
            c->cb(c->user);
    m->dispatching--;
    if (m->dispatching == 0 && !m->closing)
        prune_subs(m);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    struct balkon_mqtt *m = obj;
    int errno_value = errno;
    char reason[128];
    if (!m->closing)
        connection_failed(m, reason_text(m, rc, errno_value, reason, sizeof reason));
}

static void prune_subs(struct balkon_mqtt *m)
{
    struct conn_cb **c = &m->conn_cbs;
    while (*c) {
        struct conn_cb *cc = *c;
        if (cc->cb) {
            c = &cc->next;
        } else {
            *c = cc->next;
            free(cc);
        }
    }
    struct sub **p = &m->subs;
    while (*p) {
        struct sub *s = *p;
        if (s->cb) {
            p = &s->next;
        } else {
            *p = s->next;
            free(s);
        }
    }
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
    struct balkon_mqtt *m = obj;
    if (m->closing || !m->subs)
        return;
    /* Subscriptions added by a callback start with the next message. */
    const struct sub *last = m->subs;
    while (last->next)
        last = last->next;
    m->dispatching++;
    for (struct sub *s = m->subs; s && !m->closing; s = s->next) {
        bool match = false;
        if (s->cb &&
            libmosq->topic_matches_sub(s->filter, msg->topic, &match) == MOSQ_ERR_SUCCESS && match)
            s->cb(msg->topic, msg->payload ? msg->payload : "", (size_t)msg->payloadlen, s->user);
        if (s == last)
            break;
    }
    m->dispatching--;
    if (m->dispatching == 0 && !m->closing)
        prune_subs(m);
}

static void retry_cb(uv_timer_t *timer)
{
    struct balkon_mqtt *m = timer->data;
    poll_detach(m); /* the connect closes the previous socket */
    m->state = ST_CONNECTING;
    m->since_ms = uv_now(m->loop);
    m->refusal[0] = '\0';
    /* Non-blocking: the TCP connect completes, and CONNECT is sent, when the socket
     * becomes writable. Only resolving a host name blocks. */
    int rc = libmosq->connect_async(m->mosq, m->host, m->port, m->keepalive_s);
    after_call(m, rc == MOSQ_ERR_CONN_PENDING ? MOSQ_ERR_SUCCESS : rc);
}

static void tick_cb(uv_timer_t *timer)
{
    struct balkon_mqtt *m = timer->data;
    if (m->state == ST_CONNECTING && uv_now(m->loop) - m->since_ms >= CONNECT_TIMEOUT_S * 1000u) {
        char reason[64];
        snprintf(reason, sizeof reason, "no answer within %u s", CONNECT_TIMEOUT_S);
        connection_failed(m, reason);
    } else if (m->state == ST_CONNECTED) {
        after_call(m, libmosq->loop_misc(m->mosq));
    }
}

static int fail_new(int rc, char *error, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_new(int rc, char *error, size_t size, const char *fmt, ...)
{
    if (error && size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(error, size, fmt, ap);
        va_end(ap);
    }
    return rc;
}

int balkon_mqtt_new(uv_loop_t *loop, const struct balkon_mqtt_settings *settings,
                    struct balkon_mqtt **out, char *error, size_t error_size)
{
    const struct balkon_mqtt_settings *s = settings;
    if (!loop || !s || !out)
        return fail_new(BALKON_E_INVAL, error, error_size, "no settings");
    if (!s->host || !s->host[0])
        return fail_new(BALKON_E_INVAL, error, error_size, "host is empty");
    int port = s->port ? s->port : BALKON_MQTT_DEFAULT_PORT;
    int keepalive_s = s->keepalive_s ? s->keepalive_s : BALKON_MQTT_DEFAULT_KEEPALIVE_S;
    if (port < 1 || port > 65535)
        return fail_new(BALKON_E_RANGE, error, error_size, "port must be 1..65535, got %d", port);
    if (keepalive_s < 5 || keepalive_s > 65535) /* libmosquitto refuses less than 5 s */
        return fail_new(BALKON_E_RANGE, error, error_size, "keepalive_s must be 5..65535, got %d",
                        keepalive_s);
    const char *load_error;
    libmosq = mosquitto_lib_get(&load_error);
    if (!libmosq)
        return fail_new(BALKON_E_NOTFOUND, error, error_size, "%s", load_error);
    struct balkon_mqtt *m = calloc(1, sizeof *m);
    if (!m)
        return fail_new(BALKON_E_NOMEM, error, error_size, "out of memory");
    if (snprintf(m->host, sizeof m->host, "%s", s->host) >= (int)sizeof m->host) {
        free(m);
        return fail_new(BALKON_E_INVAL, error, error_size, "host is longer than %zu characters",
                        sizeof m->host - 1);
    }
    const char *client_id =
        s->client_id && s->client_id[0] ? s->client_id : BALKON_MQTT_DEFAULT_CLIENT_ID;
    m->mosq = libmosq->new (client_id, true, m);
    if (!m->mosq || (s->user && s->user[0] &&
                     libmosq->username_pw_set(m->mosq, s->user, s->password) != MOSQ_ERR_SUCCESS)) {
        libmosq->destroy(m->mosq);
        free(m);
        return fail_new(BALKON_E_NOMEM, error, error_size, "cannot create the libmosquitto client");
    }
    if (s->will_topic && s->will_topic[0]) {
        size_t will_len = s->will_payload ? strlen(s->will_payload) : 0;
        int rc = libmosq->pub_topic_check(s->will_topic) == MOSQ_ERR_SUCCESS
                     ? libmosq->will_set(m->mosq, s->will_topic, (int)will_len, s->will_payload, 1,
                                         s->will_retain)
                     : MOSQ_ERR_INVAL;
        if (rc != MOSQ_ERR_SUCCESS) {
            libmosq->destroy(m->mosq);
            free(m);
            return fail_new(BALKON_E_INVAL, error, error_size,
                            "will topic \"%.64s\" is not a valid topic", s->will_topic);
        }
    }
    libmosq->connect_callback_set(m->mosq, on_connect);
    libmosq->disconnect_callback_set(m->mosq, on_disconnect);
    libmosq->message_callback_set(m->mosq, on_message);
    m->loop = loop;
    m->port = port;
    m->keepalive_s = keepalive_s;
    m->backoff_s = BACKOFF_MIN_S;
    m->state = ST_WAITING;
    snprintf(m->endpoint, sizeof m->endpoint, "%s:%d", m->host, port);
    snprintf(m->status, sizeof m->status, "connecting to %s", m->endpoint);
    uv_timer_init(loop, &m->tick);
    uv_timer_init(loop, &m->retry);
    m->tick.data = m->retry.data = m;
    m->open_handles = 2;
    uv_timer_start(&m->tick, tick_cb, TICK_MS, TICK_MS);
    uv_timer_start(&m->retry, retry_cb, 0, 0); /* the first attempt, on the loop like the rest */
    *out = m;
    return 0;
}

int balkon_mqtt_subscribe(struct balkon_mqtt *m, const char *topic_filter,
                          balkon_mqtt_message_cb cb, void *user)
{
    /* libmosquitto's check lets "" through; MQTT wants at least one character. */
    if (!m || m->closing || !topic_filter || !topic_filter[0] || !cb ||
        libmosq->sub_topic_check(topic_filter) != MOSQ_ERR_SUCCESS)
        return BALKON_E_INVAL;
    size_t len = strlen(topic_filter);
    struct sub *s = calloc(1, sizeof *s + len + 1);
    if (!s)
        return BALKON_E_NOMEM;
    memcpy(s->filter, topic_filter, len + 1);
    s->cb = cb;
    s->user = user;
    struct sub **tail = &m->subs;
    while (*tail)
        tail = &(*tail)->next;
    *tail = s;
    if (!filter_in_use(m, topic_filter, s)) {
        subscribe_at_broker(m, topic_filter);
        poll_sync(m);
    }
    return 0;
}

int balkon_mqtt_on_connect(struct balkon_mqtt *m, balkon_mqtt_connect_cb cb, void *user)
{
    if (!m || m->closing || !cb)
        return BALKON_E_INVAL;
    struct conn_cb *c = calloc(1, sizeof *c);
    if (!c)
        return BALKON_E_NOMEM;
    c->cb = cb;
    c->user = user;
    struct conn_cb **tail = &m->conn_cbs;
    while (*tail)
        tail = &(*tail)->next;
    *tail = c;
    return 0;
}

void balkon_mqtt_unsubscribe_all(struct balkon_mqtt *m, void *user)
{
    if (!m)
        return;
    for (struct conn_cb *c = m->conn_cbs; c; c = c->next)
        if (c->user == user)
            c->cb = NULL;
    bool sent = false;
    for (struct sub *s = m->subs; s; s = s->next) {
        if (!s->cb || s->user != user)
            continue;
        s->cb = NULL;
        if (m->state == ST_CONNECTED && !m->closing && !filter_in_use(m, s->filter, NULL)) {
            libmosq->unsubscribe(m->mosq, NULL, s->filter);
            sent = true;
        }
    }
    if (m->dispatching == 0)
        prune_subs(m);
    if (sent)
        poll_sync(m);
}

int balkon_mqtt_publish(struct balkon_mqtt *m, const char *topic, const void *payload, size_t len,
                        int qos, bool retain)
{
    if (!m || !topic || !topic[0] || qos < 0 || qos > 2 || (len && !payload) ||
        libmosq->pub_topic_check(topic) != MOSQ_ERR_SUCCESS)
        return BALKON_E_INVAL;
    if (len > INT_MAX)
        return BALKON_E_TOOBIG;
    if (m->closing || m->state != ST_CONNECTED)
        return BALKON_E_IO;
    int rc = libmosq->publish(m->mosq, NULL, topic, (int)len, payload, qos, retain);
    /* A failed write is not the end of the connection yet: the poll sees the socket's
     * state next and reports it once. */
    poll_sync(m);
    switch (rc) {
    case MOSQ_ERR_SUCCESS:
        return 0;
    case MOSQ_ERR_NOMEM:
        return BALKON_E_NOMEM;
    case MOSQ_ERR_PAYLOAD_SIZE:
    case MOSQ_ERR_OVERSIZE_PACKET:
        return BALKON_E_TOOBIG;
    case MOSQ_ERR_INVAL:
    case MOSQ_ERR_MALFORMED_UTF8:
        return BALKON_E_INVAL;
    default:
        return BALKON_E_IO;
    }
}

bool balkon_mqtt_connected(const struct balkon_mqtt *m)
{
    return m && !m->closing && m->state == ST_CONNECTED;
}

const char *balkon_mqtt_status(const struct balkon_mqtt *m)
{
    if (!m)
        return "disabled";
    return m->closing ? "closed" : m->status;
}

static void closed_cb(uv_handle_t *handle)
{
    struct balkon_mqtt *m = handle->data;
    if (--m->open_handles > 0)
        return;
    libmosq->destroy(m->mosq);
    m->dispatching = 0;
    for (struct sub *s = m->subs; s; s = s->next)
        s->cb = NULL;
    for (struct conn_cb *c = m->conn_cbs; c; c = c->next)
        c->cb = NULL;
    prune_subs(m);
    free(m);
}

void balkon_mqtt_close(struct balkon_mqtt *m)
{
    if (!m || m->closing)
        return;
    bool was_connected = m->state == ST_CONNECTED;
    m->closing = true;
    poll_detach(m);    /* before the disconnect closes the socket */
    if (was_connected) /* sends DISCONNECT now, unless called from one of our callbacks */
        libmosq->disconnect(m->mosq);
    uv_timer_stop(&m->tick);
    uv_timer_stop(&m->retry);
    uv_close((uv_handle_t *)&m->tick, closed_cb);
    uv_close((uv_handle_t *)&m->retry, closed_cb);
}
