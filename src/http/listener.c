/* The HTTP server's accept side: the listening socket, which connections MHD gets, and
 * which it must close before it would by itself.
 *
 * Why not MHD's own accept: with MHD_USE_EPOLL and no thread of its own, MHD takes its
 * listening socket out of its epoll set when it reaches its connection limit and puts it
 * back only at the start of a later MHD_run. Once the last connection is gone nothing calls
 * MHD_run again (its epoll set is empty, it has no timeout), so a burst of connections up
 * to the limit stopped the server for good. So MHD runs with MHD_USE_NO_LISTEN_SOCKET:
 * this file owns the listening socket, watched by a uv_poll_t, accepts in batches, hands
 * each connection over with MHD_add_connection, and learns from
 * MHD_OPTION_NOTIFY_CONNECTION when MHD has closed one. Accepting never waits for MHD.
 *
 * Each connection is waiting (for its request's headers and body, since it was accepted
 * or since its previous answer ended) or answering (its request is complete: a response
 * being sent, a deferred answer, an event stream):
 * - A waiting connection has HTTP_REQUEST_DEADLINE_MS in all to deliver its request,
 *   however slowly it trickles in (slowloris: MHD's own timeout counts only idle time).
 *   Then it is shut down: shutdown(2) makes MHD read EOF and close it as if the client had
 *   left, on the loop, in its next run.
 * - One client address (an IPv6 address by its /64) holds at most
 *   HTTP_PER_ADDRESS_CONNECTION_LIMIT connections, all together HTTP_CONNECTION_LIMIT. A
 *   newcomer over a limit takes the place of the connection that has waited longest for its
 *   request (of its own address at the address's limit, of any at the global one), so a
 *   health check always gets in. A connection being answered is never evicted; when every
 *   one is, the newcomer gets a 503 and is closed.
 * - The self-probe's connection (probe.c) is admitted beyond the limits: it is there to
 *   prove that the server accepts and answers, not that there is room. */
#define _GNU_SOURCE /* accept4: the accepted socket non-blocking without another call */
#include "listener.h"

#include "balkon/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPT_BATCH 16      /* connections accepted before MHD runs again */
#define SWEEP_PERIOD_MS 250  /* how often the request deadline is checked */
#define ACCEPT_PAUSE_MS 1000 /* accepting rests this long when out of descriptors */
#define REFUSAL_LOG_PERIOD_MS 10000
/* A send copies at most this much into the kernel (which doubles it for its bookkeeping).
 * MHD sends an answer's whole remaining buffer at once, and with the kernel's autotuned
 * buffer of several MB one send of a 2.8 MB series kept the loop busy copying for 5-10
 * ms; in slices the copying is spread over the loop's turns. A LAN needs no more in
 * flight. */
#define SEND_BUFFER_BYTES (128 * 1024)

enum conn_state { CONN_FREE, CONN_WAITING, CONN_ANSWERING, CONN_CLOSING };

struct conn {
    struct http_listener *listener;
    enum conn_state state;
    int fd;
    bool probe;
    struct http_address_key key;
    char ip[INET6_ADDRSTRLEN];
    uint64_t waiting_since_ms; /* uv_now() when it began to wait for a request */
};

struct http_listener {
    uv_loop_t *loop;
    int fd; /* the listening socket; -1 once stopped */
    unsigned port;
    uv_poll_t poll;
    uv_timer_t sweep; /* the request deadline, while a connection waits for its request */
    uv_timer_t pause; /* accepting again after running out of descriptors */
    uv_timer_t wedge; /* BALKON_TEST_HTTP_WEDGE_MS */
    bool wedge_on, wedged;
    bool started, stopped;
    struct MHD_Daemon *daemon;
    void (*run)(void *run_arg);
    void *run_arg;
    struct conn conns[HTTP_CONNECTION_SLOTS];
    struct conn *adding; /* the slot MHD_add_connection is filling in */
    bool probe_expected;
    struct sockaddr_storage probe_addr; /* where the self-probe connects from */
    uint64_t refused;                   /* since the last log line about it */
    uint64_t refusal_logged_ms;
};

bool http_address_key(const char *client_ip, struct http_address_key *key)
{
    memset(key, 0, sizeof *key);
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, client_ip, &a4) == 1) {
        memcpy(key->bytes, &a4, sizeof a4);
        return true;
    }
    if (inet_pton(AF_INET6, client_ip, &a6) != 1)
        return false;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) { /* an IPv4 client of a dual-stack socket */
        memcpy(key->bytes, a6.s6_addr + 12, 4);
        return true;
    }
    /* One host may pick any address of its /64 at will. The 0xff marks the key as IPv6, as
     * no IPv4 key has a byte beyond its fourth. */
    memcpy(key->bytes, a6.s6_addr, 8);
    key->bytes[15] = 0xff;
    return true;
}

static bool same_key(const struct http_address_key *a, const struct http_address_key *b)
{
    return memcmp(a->bytes, b->bytes, sizeof a->bytes) == 0;
}

static void address_text(const struct sockaddr *addr, char *out, size_t size)
{
    snprintf(out, size, "?");
    if (addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)addr)->sin_addr, out, (socklen_t)size);
    else if (addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)addr)->sin6_addr, out, (socklen_t)size);
}

static bool same_endpoint(const struct sockaddr *a, const struct sockaddr_storage *b)
{
    if (a->sa_family != b->ss_family)
        return false;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a;
        const struct sockaddr_in *y = (const struct sockaddr_in *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
    const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
    return x->sin6_port == y->sin6_port && IN6_ARE_ADDR_EQUAL(&x->sin6_addr, &y->sin6_addr);
}

static struct conn *conn_of(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

/* The connection that has waited longest for its request, of key's address or (key NULL)
 * of any; NULL when every one is being answered. */
static struct conn *longest_waiting(struct http_listener *l, const struct http_address_key *key)
{
    struct conn *oldest = NULL;
    for (size_t i = 0; i < HTTP_CONNECTION_SLOTS; i++) {
        struct conn *c = &l->conns[i];
        if (c->state != CONN_WAITING || c->probe || (key && !same_key(&c->key, key)))
            continue;
        if (!oldest || c->waiting_since_ms < oldest->waiting_since_ms)
            oldest = c;
    }
    return oldest;
}

/* Closes c on MHD's behalf: MHD reads EOF, closes it and tells notify_cb. */
static void shut(struct conn *c)
{
    shutdown(c->fd, SHUT_RDWR);
    c->state = CONN_CLOSING;
}

/* Makes room for a connection from key by evicting the longest waiting one where a limit
 * is reached. Returns NULL, or why there is no room. */
static const char *make_room(struct http_listener *l, const struct http_address_key *key)
{
    size_t all = 0, same = 0;
    for (size_t i = 0; i < HTTP_CONNECTION_SLOTS; i++) {
        const struct conn *c = &l->conns[i];
        if ((c->state == CONN_WAITING || c->state == CONN_ANSWERING) && !c->probe) {
            all++;
            same += same_key(&c->key, key);
        }
    }
    struct conn *victim = NULL;
    if (same >= HTTP_PER_ADDRESS_CONNECTION_LIMIT) {
        victim = longest_waiting(l, key);
        if (!victim)
            return "too many connections from this address, all of them being answered: "
                   "close one (an event stream?) and try again";
    } else if (all >= HTTP_CONNECTION_LIMIT) {
        victim = longest_waiting(l, NULL);
        if (!victim)
            return "the server is at its connection limit, all of them being answered: try "
                   "again in a moment";
    }
    if (victim) {
        log_debug("http",
                  "closed a connection from %s that waited %" PRIu64
                  " ms for its request, to make room",
                  victim->ip, uv_now(l->loop) - victim->waiting_since_ms);
        shut(victim);
    }
    return NULL;
}

/* Answers 503 with why and closes fd, without waiting: the answer fits in the new socket's
 * empty send buffer. What the client sent is read first, lest the close turn into a reset
 * that discards the answer. */
static void refuse(struct http_listener *l, int fd, const char *ip, const char *why)
{
    char text[512];
    int body_len = (int)strlen(why) + (int)strlen("{\"error\":\"\"}");
    int len = snprintf(text, sizeof text,
                       "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                       "Content-Length: %d\r\nRetry-After: 1\r\nConnection: close\r\n"
                       "X-Content-Type-Options: nosniff\r\n\r\n{\"error\":\"%s\"}",
                       body_len, why);
    if (len > 0 && (size_t)len < sizeof text)
        (void)send(fd, text, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL);
    shutdown(fd, SHUT_WR);
    char scratch[4096];
    for (int i = 0; i < 4 && recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) > 0; i++)
        ;
    close(fd);
    /* A flood must not flood the log: one line per period, with the count. */
    l->refused++;
    uint64_t now = uv_now(l->loop);
    if (l->refusal_logged_ms == 0 || now - l->refusal_logged_ms >= REFUSAL_LOG_PERIOD_MS) {
        log_warn("http", "refused %" PRIu64 " connection%s (the last from %s): %s", l->refused,
                 l->refused == 1 ? "" : "s", ip, why);
        l->refused = 0;
        l->refusal_logged_ms = now;
    }
}

static struct conn *free_slot(struct http_listener *l)
{
    for (size_t i = 0; i < HTTP_CONNECTION_SLOTS; i++)
        if (l->conns[i].state == CONN_FREE)
            return &l->conns[i];
    return NULL;
}

static void sweep_cb(uv_timer_t *timer);

/* The deadline is checked only while some connection waits for its request: an open
 * dashboard's event stream alone does not wake the loop. */
static void start_sweep(struct http_listener *l)
{
    if (!l->stopped && !uv_is_active((uv_handle_t *)&l->sweep))
        uv_timer_start(&l->sweep, sweep_cb, SWEEP_PERIOD_MS, SWEEP_PERIOD_MS);
}

/* Hands fd, accepted from addr, to MHD if the limits allow. */
static void admit(struct http_listener *l, int fd, const struct sockaddr *addr, socklen_t addr_len)
{
    char ip[INET6_ADDRSTRLEN];
    address_text(addr, ip, sizeof ip);
    struct http_address_key key;
    http_address_key(ip, &key);
    bool probe = l->probe_expected && same_endpoint(addr, &l->probe_addr);
    if (probe)
        l->probe_expected = false;
    const char *why = probe ? NULL : make_room(l, &key);
    struct conn *c = why ? NULL : free_slot(l);
    if (!why && !c)
        why = "the server has no room for another connection: try again in a moment";
    if (why) {
        refuse(l, fd, ip, why);
        return;
    }
    *c = (struct conn){.listener = l,
                       .state = CONN_WAITING,
                       .fd = fd,
                       .probe = probe,
                       .key = key,
                       .waiting_since_ms = uv_now(l->loop)};
    snprintf(c->ip, sizeof c->ip, "%s", ip);
    l->adding = c;
    /* MHD calls notify_cb (STARTED) from inside; on failure it has closed fd, after
     * notify_cb (CLOSED) when it got that far. */
    if (MHD_add_connection(l->daemon, fd, addr, addr_len) != MHD_YES) {
        log_warn("http", "cannot serve a connection from %s: %s", ip, strerror(errno));
        c->state = CONN_FREE;
    }
    l->adding = NULL;
    start_sweep(l);
}

void http_listener_notify_cb(void *cls, struct MHD_Connection *connection, void **socket_context,
                             enum MHD_ConnectionNotificationCode toe)
{
    struct http_listener *l = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_context = l->adding;
        return;
    }
    struct conn *c = *socket_context;
    if (c)
        c->state = CONN_FREE;
    *socket_context = NULL;
}

static void accept_cb(uv_poll_t *poll, int status, int events);

static void pause_cb(uv_timer_t *timer)
{
    struct http_listener *l = timer->data;
    if (!l->stopped && !l->wedged)
        uv_poll_start(&l->poll, UV_READABLE, accept_cb);
}

static void accept_cb(uv_poll_t *poll, int status, int events)
{
    struct http_listener *l = poll->data;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_storage addr;
        socklen_t addr_len = sizeof addr;
        int fd = accept4(l->fd, (struct sockaddr *)&addr, &addr_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            int send_buffer = SEND_BUFFER_BYTES;
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &send_buffer, sizeof send_buffer);
            admit(l, fd, (struct sockaddr *)&addr, addr_len);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            /* Out of descriptors or memory: the socket stays readable, so retrying at once
             * would spin; the deadline meanwhile frees descriptors. */
            log_warn("http", "cannot accept connections: %s; trying again in %d ms",
                     strerror(errno), ACCEPT_PAUSE_MS);
            uv_poll_stop(&l->poll);
            uv_timer_start(&l->pause, pause_cb, ACCEPT_PAUSE_MS, 0);
        }
        break;
    }
    l->run(l->run_arg);
}

/* Shuts the connections whose request is overdue, then lets MHD close them. */
static void sweep_cb(uv_timer_t *timer)
{
    struct http_listener *l = timer->data;
    uint64_t now = uv_now(l->loop);
    size_t overdue = 0, waiting = 0;
    const char *last_ip = "";
    for (size_t i = 0; i < HTTP_CONNECTION_SLOTS; i++) {
        struct conn *c = &l->conns[i];
        if (c->state != CONN_WAITING)
            continue;
        if (now - c->waiting_since_ms >= HTTP_REQUEST_DEADLINE_MS) {
            shut(c);
            overdue++;
            last_ip = c->ip;
        } else {
            waiting++;
        }
    }
    if (overdue) {
        log_info("http",
                 "closed %zu connection%s that sent no complete request within %d s "
                 "(the last from %s)",
                 overdue, overdue == 1 ? "" : "s", HTTP_REQUEST_DEADLINE_MS / 1000, last_ip);
        l->run(l->run_arg);
    }
    if (!waiting)
        uv_timer_stop(&l->sweep);
}

unsigned http_listener_port(const struct http_listener *listener)
{
    return listener->port;
}

static int open_socket(const struct sockaddr *addr, socklen_t addr_len, unsigned *port)
{
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int on = 1;
    /* A restart must not wait for the old connections' TIME_WAIT; and [::] means IPv6
     * only, as it did with MHD's own socket. */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (addr->sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    struct sockaddr_storage bound;
    socklen_t bound_len = sizeof bound;
    if (bind(fd, addr, addr_len) < 0 || listen(fd, SOMAXCONN) < 0 ||
        getsockname(fd, (struct sockaddr *)&bound, &bound_len) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    *port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                              : ((struct sockaddr_in *)&bound)->sin_port);
    return fd;
}

struct http_listener *http_listener_new(uv_loop_t *loop, const struct sockaddr *addr,
                                        socklen_t addr_len, const char *listen)
{
    struct http_listener *l = calloc(1, sizeof *l);
    if (!l) {
        log_error("http", "out of memory");
        return NULL;
    }
    l->loop = loop;
    l->fd = open_socket(addr, addr_len, &l->port);
    if (l->fd < 0) {
        log_error("http", "http.listen: cannot listen on %s: %s", listen, strerror(errno));
        free(l);
        return NULL;
    }
    return l;
}

/* For tests/integration/test_sd_notify.c only: BALKON_TEST_HTTP_WEDGE_MS=N stops accepting
 * N ms after the start, leaving new connections in the backlog as the old connection-limit
 * wedge did, so the test can see the watchdog go unfed. */
static void wedge_cb(uv_timer_t *timer)
{
    struct http_listener *l = timer->data;
    log_warn("http", "test mode: no longer accepting connections (BALKON_TEST_HTTP_WEDGE_MS)");
    l->wedged = true;
    uv_poll_stop(&l->poll);
    uv_timer_stop(&l->pause);
}

static void start_test_wedge(struct http_listener *l)
{
    const char *wedge_ms = getenv("BALKON_TEST_HTTP_WEDGE_MS");
    if (!wedge_ms || !wedge_ms[0])
        return;
    log_warn("http", "test mode: accepting connections for %s ms only (BALKON_TEST_HTTP_WEDGE_MS)",
             wedge_ms);
    uv_timer_init(l->loop, &l->wedge);
    l->wedge.data = l;
    l->wedge_on = true;
    uv_timer_start(&l->wedge, wedge_cb, (uint64_t)strtoull(wedge_ms, NULL, 10), 0);
}

void http_listener_start(struct http_listener *l, struct MHD_Daemon *daemon,
                         void (*run)(void *run_arg), void *run_arg)
{
    l->daemon = daemon;
    l->run = run;
    l->run_arg = run_arg;
    uv_poll_init(l->loop, &l->poll, l->fd);
    l->poll.data = l;
    uv_poll_start(&l->poll, UV_READABLE, accept_cb);
    uv_timer_init(l->loop, &l->sweep);
    l->sweep.data = l;
    uv_timer_init(l->loop, &l->pause);
    l->pause.data = l;
    l->started = true;
    start_test_wedge(l);
}

void http_listener_stop(struct http_listener *l)
{
    if (l->stopped)
        return;
    l->stopped = true;
    if (l->started) {
        uv_poll_stop(&l->poll);
        uv_close((uv_handle_t *)&l->poll, NULL);
        uv_close((uv_handle_t *)&l->sweep, NULL);
        uv_close((uv_handle_t *)&l->pause, NULL);
        if (l->wedge_on)
            uv_close((uv_handle_t *)&l->wedge, NULL);
    }
    /* Closed now, so a client connecting during the stop is refused instead of waiting. */
    close(l->fd);
    l->fd = -1;
}

void http_listener_free(struct http_listener *l)
{
    if (!l)
        return;
    if (l->fd >= 0)
        close(l->fd);
    free(l);
}

void http_listener_answering(struct MHD_Connection *connection)
{
    struct conn *c = conn_of(connection);
    if (c && c->state == CONN_WAITING)
        c->state = CONN_ANSWERING;
}

void http_listener_waiting(struct MHD_Connection *connection)
{
    struct conn *c = conn_of(connection);
    if (c && c->state == CONN_ANSWERING) {
        c->state = CONN_WAITING;
        c->waiting_since_ms = uv_now(c->listener->loop);
        start_sweep(c->listener);
    }
}

bool http_listener_is_probe(struct MHD_Connection *connection)
{
    struct conn *c = conn_of(connection);
    return c && c->probe;
}

void http_listener_expect_probe(struct http_listener *l, const struct sockaddr *local)
{
    size_t len =
        local->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    memcpy(&l->probe_addr, local, len);
    l->probe_expected = true;
}
