/* The HTTP module: libmicrohttpd driven from the libuv loop.
 *
 * MHD runs without threads of its own (MHD_USE_EPOLL, no internal polling thread). Its
 * epoll fd is watched by a uv_poll_t and MHD_run is called on every wake; a uv_timer_t
 * follows MHD_get_timeout so connection timeouts fire even when no socket is ready. All
 * handlers therefore run on the loop thread, next to the bus, with no locks.
 *
 * The LAN is not a friendly place: listener.c accepts the connections itself and hands
 * them to MHD (MHD_USE_NO_LISTEN_SOCKET) within a global and a per-address limit, and
 * closes a connection whose request has not arrived whole within a deadline; MHD's own
 * timeout closes a connection idle that long while it is answered; request bodies have a
 * size limit (413 beyond it). Under a systemd watchdog, probe.c checks every few seconds
 * that the server still accepts and answers (docs/architecture.md).
 *
 * GET /api/v1/events streams (events.c) suspend their connection while they have nothing
 * to send (MHD_ALLOW_SUSPEND_RESUME); the bus handlers here keep http_state current and
 * tell the streams what changed. */
#include "http_internal.h"
#include "listener.h"

#include "balkon/bus.h"
#include "balkon/config.h"
#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/module.h"
#include "balkon/sd_notify.h"
#include "balkon/tls_cert.h"
#include "balkon/url.h"

#include <arpa/inet.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* MHD's timeout: how long a connection being answered may make no progress (a client
 * that does not read its answer). One that waits for its request has the deadline. */
/* Each connection's buffer for a request's headers and the answer's head. MHD clears it
 * before every request, so its default of 32 KiB cost 5 % of a small answer's CPU; a
 * dashboard's or a script's headers take 1-2 KiB (MHD answers 431 beyond the buffer). */
#define CONNECTION_MEMORY_BYTES (16 * 1024)
#define CONNECTION_TIMEOUT_S 30
#define HSTS_VALUE "max-age=31536000"

struct http_server {
    struct http_state state;
    struct MHD_Daemon *daemon;
    struct http_listener *listener;
    struct http_probe *probe; /* NULL without a watchdog */
    uv_poll_t poll;
    uv_timer_t timer;
    int handles_open;
    bool stopping;
    bool loop_ended;       /* http_free runs: the loop has ended */
    bool wake_pending;     /* a stream was resumed: MHD must run again */
    bool in_timer;         /* run_mhd runs from the timer's callback */
    bool tls;              /* answers go over TLS (http.tls) */
    bool hsts;             /* TLS and http.hsts: Strict-Transport-Security on every answer */
    struct deferral *held; /* answers waiting on their hold timer (a login's delay) */
};

/* A request whose answer is computed on libuv's thread pool (http_defer). */
struct deferral {
    uv_work_t work_req;
    struct http_server *server;
    struct MHD_Connection *connection;
    void (*work)(void *arg);
    void (*done)(struct http_state *state, void *arg, struct http_response *response);
    void *arg;
    struct http_response reply;
    bool finished;
    struct http_gate *gate; /* NULL: not gated */
    struct deferral *next;  /* in the gate's queue */
    uint64_t hold_until_ms; /* uv_now() before which the answer must not go out */
    uv_timer_t hold;        /* while held: closed when it fires (hold_closed_cb) */
    struct deferral *held_prev, *held_next;
};

/* Per-request context, allocated on the first call of the access handler and freed in
 * the request-completed callback. */
struct request_ctx {
    char *body;
    size_t body_size;
    bool too_large;
    struct deferral *deferral; /* owned; set while a deferred answer is pending or ready */
};

static void run_mhd(struct http_server *server);

static void poll_cb(uv_poll_t *poll, int status, int events)
{
    run_mhd(poll->data);
}
static void timer_cb(uv_timer_t *timer)
{
    struct http_server *server = timer->data;
    server->in_timer = true;
    run_mhd(server);
    server->in_timer = false;
}
static void listener_run(void *server)
{
    run_mhd(server);
}

/* An event stream was resumed: MHD must run to send its data. Not from here (a bus handler,
 * maybe under MHD_run itself), but on the loop's next turn. */
static void wake_cb(void *arg)
{
    struct http_server *server = arg;
    server->wake_pending = true;
    if (!server->stopping)
        uv_timer_start(&server->timer, timer_cb, 0, 0);
}

static void run_mhd(struct http_server *server)
{
    if (server->stopping)
        return;
    server->wake_pending = false;
    MHD_run(server->daemon);
    MHD_UNSIGNED_LONG_LONG timeout_ms;
    /* A stream resumed while MHD ran (a POST's command result, say) needs another run at
     * once; MHD's own timeout would leave it waiting for the next socket event. */
    if (server->wake_pending)
        uv_timer_start(&server->timer, timer_cb, 0, 0);
    else if (MHD_get_timeout(server->daemon, &timeout_ms) == MHD_YES)
        /* MHD says 0 while a TLS handshake waits for its peer (its connection stays
         * "ready", libmicrohttpd 0.9.75). Re-armed with 0 from inside its own callback the
         * timer would be due again at once, and libuv runs timers until none is due: the
         * loop would never leave that phase. 1 ms lets the loop turn. */
        uv_timer_start(&server->timer, timer_cb,
                       timeout_ms == 0 && server->in_timer ? 1 : timeout_ms, 0);
    else
        uv_timer_stop(&server->timer);
}

/* What the browser may load for the dashboard: its own files only, nothing inline (the
 * theme script is a file for this; styles are set through the CSSOM, which style-src does
 * not govern), no frames of it anywhere (clickjacking), no plugins, no <base>, and forms
 * post only here. data: images for the charts' and icons' inline SVGs, and the setup map's
 * tiles from the one origin of site.map_tiles_url (" https://tile.openstreetmap.org" after
 * "data:", or nothing without a map). */
#define POLICY_TO_IMAGES                                                                           \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:"
#define POLICY_AFTER_IMAGES                                                                        \
    "; connect-src 'self'; font-src 'self'; manifest-src 'self'; worker-src 'self'; "              \
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/* The policy of the running config, made at start and on every new config. One per
 * process, as the server is: kept answers (http_kept_response) are made without a server
 * at hand. A kept answer made before a config change keeps the policy it was made with
 * until it is made anew; only a page's own policy governs what the page loads. */
static char security_policy[sizeof POLICY_TO_IMAGES POLICY_AFTER_IMAGES + 208] =
    POLICY_TO_IMAGES POLICY_AFTER_IMAGES;

void http_security_policy(const struct balkon_config *config, char *out, size_t size)
{
    char tiles[204] = "";
    char source[200];
    /* The config's check refused a URL whose origin a policy cannot carry; should one get
     * here all the same, the map gets no exception rather than a wider one. */
    if (config->site.map_tiles_url[0] &&
        balkon_url_csp_source(config->site.map_tiles_url, source, sizeof source) == 0)
        snprintf(tiles, sizeof tiles, " %s", source);
    snprintf(out, size, "%s%s%s", POLICY_TO_IMAGES, tiles, POLICY_AFTER_IMAGES);
}

/* Headers every answer carries, whatever made it (JSON, an asset, an error, a stream). */
static void add_security_headers(struct MHD_Response *response)
{
    MHD_add_response_header(response, "Content-Security-Policy", security_policy);
    MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(response, "X-Frame-Options", "DENY");
    MHD_add_response_header(response, "Referrer-Policy", "no-referrer");
}

/* The headers the reply asks for, and those every answer carries. */
static void add_headers(struct MHD_Response *response, const struct http_response *reply)
{
    if (reply->content_type)
        MHD_add_response_header(response, "Content-Type", reply->content_type);
    if (reply->cache_control)
        MHD_add_response_header(response, "Cache-Control", reply->cache_control);
    if (reply->etag[0])
        MHD_add_response_header(response, "ETag", reply->etag);
    if (reply->allow[0])
        MHD_add_response_header(response, "Allow", reply->allow);
    if (reply->set_cookie[0])
        MHD_add_response_header(response, "Set-Cookie", reply->set_cookie);
    if (reply->retry_after_s) {
        char seconds[16];
        snprintf(seconds, sizeof seconds, "%u", reply->retry_after_s);
        MHD_add_response_header(response, "Retry-After", seconds);
    }
    if (reply->status == 401)
        MHD_add_response_header(response, "WWW-Authenticate", "Bearer realm=\"balkonsolar\"");
    add_security_headers(response);
}

struct MHD_Response *http_kept_response(char *text, size_t len)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer_with_free_callback_cls(len, text, free, text);
    if (response) {
        struct http_response reply = {0};
        http_reply_text(&reply, text, len);
        add_headers(response, &reply);
    }
    return response;
}

void http_kept_forget(struct http_kept *kept)
{
    if (kept->response)
        MHD_destroy_response(kept->response); /* frees the text with its last reference */
    else
        free(kept->text);
    *kept = (struct http_kept){0};
}

void http_kept_set(struct http_kept *kept, char *text, size_t len)
{
    http_kept_forget(kept);
    if (!text)
        return;
    *kept = (struct http_kept){.text = text, .len = len, .response = http_kept_response(text, len)};
}

void http_reply_kept(struct http_response *response, const char *text, size_t len,
                     struct MHD_Response *kept)
{
    if (!kept) { /* no response could be made for it: a copy of the text will do */
        char *copy = malloc(len + 1);
        if (copy) {
            memcpy(copy, text, len);
            copy[len] = '\0';
        }
        http_reply_text(response, copy, len);
        return;
    }
    http_reply_text(response, (char *)text, len);
    response->body_static = true; /* the kept response's, copied when a header must be added */
    response->ready = kept;
}

/* Freeing a large answer's buffer unmaps its pages, and those were written on a pool
 * thread, so the kernel must flush other cores' TLBs: 1-3 ms for a 2.8 MB series, on the
 * loop, after every send. Such buffers are freed on the pool instead. */
#define FREE_OFF_LOOP_BYTES (256 * 1024)

struct buffer_release {
    uv_work_t work;
    struct http_server *server;
    char *buffer;
};

static void buffer_free_work_cb(uv_work_t *work)
{
    struct buffer_release *release = work->data;
    free(release->buffer);
}

static void buffer_free_after_cb(uv_work_t *work, int status)
{
    free(work->data);
}

/* MHD is done with a large answer (called on the loop). */
static void release_buffer_cb(void *cls)
{
    struct buffer_release *release = cls;
    release->work.data = release;
    /* From MHD_stop_daemon, after the loop's end, no work would run: free it here. */
    if (release->server->loop_ended ||
        uv_queue_work(release->server->state.ctx->loop, &release->work, buffer_free_work_cb,
                      buffer_free_after_cb) < 0) {
        free(release->buffer);
        free(release);
    }
}

/* A response owning reply's malloc'd body; a large one is freed off the loop. */
static struct MHD_Response *response_owning_body(struct http_server *server,
                                                 struct http_response *reply)
{
    if (reply->body_size >= FREE_OFF_LOOP_BYTES) {
        struct buffer_release *release = malloc(sizeof *release);
        if (release) {
            *release = (struct buffer_release){.server = server, .buffer = reply->body};
            struct MHD_Response *response = MHD_create_response_from_buffer_with_free_callback_cls(
                reply->body_size, reply->body, release_buffer_cb, release);
            if (response)
                return response;
            free(release);
        }
    }
    return MHD_create_response_from_buffer(reply->body_size, reply->body, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result send_response(struct http_server *server, struct MHD_Connection *connection,
                                     struct http_response *reply)
{
    if (reply->stream) {
        add_security_headers(reply->stream);
        if (server->hsts)
            MHD_add_response_header(reply->stream, "Strict-Transport-Security", HSTS_VALUE);
        enum MHD_Result result =
            MHD_queue_response(connection, (unsigned)reply->status, reply->stream);
        MHD_destroy_response(reply->stream);
        return result;
    }
    /* A kept answer goes out as it is, unless this request needs a header of its own. */
    if (reply->ready && !reply->set_cookie[0] && !server->hsts)
        return MHD_queue_response(connection, (unsigned)reply->status, reply->ready);
    enum MHD_ResponseMemoryMode mode = reply->ready         ? MHD_RESPMEM_MUST_COPY
                                       : reply->body_static ? MHD_RESPMEM_PERSISTENT
                                                            : MHD_RESPMEM_MUST_FREE;
    struct MHD_Response *response =
        mode == MHD_RESPMEM_MUST_FREE
            ? response_owning_body(server, reply)
            : MHD_create_response_from_buffer(reply->body_size, reply->body, mode);
    if (!response) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(reply->body);
        return MHD_NO;
    }
    add_headers(response, reply);
    if (server->hsts)
        MHD_add_response_header(response, "Strict-Transport-Security", HSTS_VALUE);
    enum MHD_Result result = MHD_queue_response(connection, (unsigned)reply->status, response);
    MHD_destroy_response(response);
    return result;
}

static void deferral_work_cb(uv_work_t *req)
{
    struct deferral *deferral = req->data;
    deferral->work(deferral->arg);
}

static void deferral_after_cb(uv_work_t *req, int status);

/* Puts a deferral's work on the pool; if libuv refuses, does it here, on the loop. */
static void deferral_start(struct deferral *deferral)
{
    if (uv_queue_work(deferral->server->state.ctx->loop, &deferral->work_req, deferral_work_cb,
                      deferral_after_cb) < 0) {
        deferral_work_cb(&deferral->work_req);
        deferral_after_cb(&deferral->work_req, 0);
    }
}

/* A gated deferral is done: the next one waiting in the gate may start. */
static void gate_release(struct http_gate *gate)
{
    gate->running--;
    struct deferral *next = gate->first;
    if (!next)
        return;
    gate->first = next->next;
    if (!gate->first)
        gate->last = NULL;
    gate->running++;
    deferral_start(next);
}

/* A held answer's time has come (or the server stops): send it, or drop it when its
 * request is gone. */
static void hold_closed_cb(uv_handle_t *handle)
{
    struct deferral *deferral = handle->data;
    struct http_server *server = deferral->server;
    if (deferral->held_prev)
        deferral->held_prev->held_next = deferral->held_next;
    else
        server->held = deferral->held_next;
    if (deferral->held_next)
        deferral->held_next->held_prev = deferral->held_prev;
    if (!deferral->connection) {
        if (!deferral->reply.body_static)
            free(deferral->reply.body);
        free(deferral);
        return;
    }
    deferral->finished = true;
    MHD_resume_connection(deferral->connection);
    wake_cb(server);
}

static void hold_timer_cb(uv_timer_t *timer)
{
    uv_close((uv_handle_t *)timer, hold_closed_cb);
}

/* Keeps deferral's finished answer until its hold time, on a timer (the connection stays
 * suspended); false when it may go now. */
static bool hold(struct deferral *deferral)
{
    struct http_server *server = deferral->server;
    uint64_t now_ms = uv_now(server->state.ctx->loop);
    if (server->stopping || deferral->hold_until_ms <= now_ms ||
        uv_timer_init(server->state.ctx->loop, &deferral->hold) < 0)
        return false;
    deferral->hold.data = deferral;
    uv_timer_start(&deferral->hold, hold_timer_cb, deferral->hold_until_ms - now_ms, 0);
    deferral->held_prev = NULL;
    deferral->held_next = server->held;
    if (server->held)
        server->held->held_prev = deferral;
    server->held = deferral;
    return true;
}

static void deferral_after_cb(uv_work_t *req, int status)
{
    struct deferral *deferral = req->data;
    struct http_gate *gate = deferral->gate;
    deferral->done(&deferral->server->state, deferral->arg, &deferral->reply);
    if (gate)
        gate_release(gate);
    if (!deferral->connection) { /* the request was completed meanwhile: nobody to answer */
        if (!deferral->reply.body_static)
            free(deferral->reply.body);
        free(deferral);
        return;
    }
    if (hold(deferral))
        return;
    deferral->finished = true;
    /* MHD calls access_cb again for this request, which sends the reply. */
    MHD_resume_connection(deferral->connection);
    wake_cb(deferral->server);
}

void http_defer(struct http_state *state, const struct http_request *request,
                struct http_response *response, void (*work)(void *arg),
                void (*done)(struct http_state *state, void *arg, struct http_response *response),
                void *arg)
{
    http_defer_gated(state, request, response, work, done, arg, NULL);
}

void http_defer_gated(struct http_state *state, const struct http_request *request,
                      struct http_response *response, void (*work)(void *arg),
                      void (*done)(struct http_state *state, void *arg,
                                   struct http_response *response),
                      void *arg, struct http_gate *gate)
{
    struct http_server *server = (struct http_server *)state; /* state is its first member */
    struct request_ctx *ctx = request->server_ctx;
    struct deferral *deferral = calloc(1, sizeof *deferral);
    if (!deferral) {
        work(arg); /* out of memory: answer now, on the loop */
        done(state, arg, response);
        return;
    }
    deferral->server = server;
    deferral->connection = request->connection;
    deferral->work = work;
    deferral->done = done;
    deferral->arg = arg;
    deferral->work_req.data = deferral;
    deferral->gate = gate;
    deferral->hold_until_ms = response->hold_until_ms;
    if (gate && gate->running >= gate->limit) { /* waits its turn on the loop, not the pool */
        if (gate->last)
            gate->last->next = deferral;
        else
            gate->first = deferral;
        gate->last = deferral;
    } else {
        if (gate)
            gate->running++;
        if (uv_queue_work(state->ctx->loop, &deferral->work_req, deferral_work_cb,
                          deferral_after_cb) < 0) {
            if (gate)
                gate->running--;
            free(deferral);
            work(arg);
            done(state, arg, response);
            return;
        }
    }
    ctx->deferral = deferral;
    response->deferred = true;
}

struct deferral *http_await(struct http_state *state, const struct http_request *request,
                            struct http_response *response)
{
    struct request_ctx *ctx = request->server_ctx;
    if (!ctx || !request->connection)
        return NULL;
    struct deferral *deferral = calloc(1, sizeof *deferral);
    if (!deferral)
        return NULL;
    deferral->server = (struct http_server *)state; /* state is its first member */
    deferral->connection = request->connection;
    ctx->deferral = deferral;
    response->deferred = true;
    return deferral;
}

void http_await_answer(struct deferral *deferral, struct http_response *reply)
{
    deferral->reply = *reply;
    *reply = (struct http_response){0};
    if (!deferral->connection) { /* the request was completed meanwhile: nobody to answer */
        if (!deferral->reply.body_static)
            free(deferral->reply.body);
        free(deferral);
        return;
    }
    deferral->finished = true;
    /* MHD calls access_cb again for this request, which sends the reply. */
    MHD_resume_connection(deferral->connection);
    wake_cb(deferral->server);
}

static void client_ip(struct MHD_Connection *connection, char *out, size_t size)
{
    snprintf(out, size, "?");
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!info || !info->client_addr)
        return;
    const struct sockaddr *addr = info->client_addr;
    if (addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)addr)->sin_addr, out, (socklen_t)size);
    else if (addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)addr)->sin6_addr, out, (socklen_t)size);
}

/* An answer ready now that must wait (a refused login's delay): kept on a timer as if it
 * were deferred. */
static void hold_reply(struct http_server *server, struct request_ctx *ctx,
                       struct MHD_Connection *connection, struct http_response *reply)
{
    struct deferral *deferral = calloc(1, sizeof *deferral);
    if (!deferral)
        return; /* out of memory: it goes now */
    deferral->server = server;
    deferral->connection = connection;
    deferral->reply = *reply;
    deferral->hold_until_ms = reply->hold_until_ms;
    if (!hold(deferral)) {
        free(deferral);
        return;
    }
    ctx->deferral = deferral;
    *reply = (struct http_response){.deferred = true};
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *connection, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    struct http_server *server = cls;
    struct request_ctx *ctx = *con_cls;
    if (!ctx) {
        ctx = calloc(1, sizeof *ctx);
        if (!ctx)
            return MHD_NO;
        *con_cls = ctx;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t max_bytes = (size_t)server->state.ctx->config->http.max_body_bytes;
        if (!ctx->too_large && ctx->body_size + *upload_data_size <= max_bytes) {
            char *grown = realloc(ctx->body, ctx->body_size + *upload_data_size + 1);
            if (!grown)
                return MHD_NO;
            memcpy(grown + ctx->body_size, upload_data, *upload_data_size);
            ctx->body = grown;
            ctx->body_size += *upload_data_size;
            ctx->body[ctx->body_size] = '\0';
        } else {
            ctx->too_large = true;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    /* The request has arrived whole: the deadline for receiving it no longer applies. */
    http_listener_answering(connection);

    if (ctx->deferral) {
        if (!ctx->deferral->finished)
            return MHD_YES; /* a spurious call while suspended */
        struct http_response reply = ctx->deferral->reply;
        free(ctx->deferral);
        ctx->deferral = NULL;
        log_debug("http", "%s %s: %d", method, url, reply.status);
        return send_response(server, connection, &reply);
    }

    struct http_response reply = {0};
    const char *host =
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!http_auth_host_allowed(server->state.auth, host)) {
        http_reply_error_code(&reply, 403, "host_not_allowed",
                              http_error_params("host", host ? host : "", NULL),
                              "Host \"%.100s\" is not allowed: add it to http.allowed_hosts (this "
                              "guards against DNS rebinding)",
                              host);
        log_warn("http", "refused %s %s for Host \"%.100s\" (not in http.allowed_hosts)", method,
                 url, host);
        return send_response(server, connection, &reply);
    }
    if (ctx->too_large) {
        char max_text[24];
        snprintf(max_text, sizeof max_text, "%lld",
                 (long long)server->state.ctx->config->http.max_body_bytes);
        http_reply_error_code(&reply, 413, "too_large",
                              http_error_params("max_bytes", max_text, NULL),
                              "request body larger than %s bytes (http.max_body_bytes)", max_text);
    } else {
        struct http_request request = {
            .method = method,
            .path = url,
            .connection = connection,
            .body = ctx->body ? ctx->body : "",
            .body_size = ctx->body_size,
            .server_ctx = ctx,
        };
        char peer_ip[48];
        client_ip(connection, peer_ip, sizeof peer_ip);
        bool via_https;
        http_auth_client_source(server->state.auth, connection, peer_ip, request.client_ip,
                                sizeof request.client_ip, &via_https);
        request.secure = server->tls || via_https;
        http_route(&server->state, &request, &reply);
        if (!reply.deferred && reply.hold_until_ms > uv_now(server->state.ctx->loop))
            hold_reply(server, ctx, connection, &reply);
        if (reply.deferred) {
            MHD_suspend_connection(connection);
            return MHD_YES;
        }
        /* A matching ETag turns the answer into a bodiless 304. */
        const char *if_none_match =
            MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "If-None-Match");
        if (reply.status == 200 && reply.etag[0] && if_none_match &&
            strcmp(if_none_match, reply.etag) == 0) {
            if (!reply.body_static)
                free(reply.body);
            reply.status = 304;
            reply.body = (char *)"";
            reply.body_size = 0;
            reply.body_static = true;
        }
    }
    if (reply.status >= 500 && !reply.stream)
        log_error("http", "%s %s: %d %.*s", method, url, reply.status, (int)reply.body_size,
                  reply.body);
    else if (!http_listener_is_probe(connection)) /* every few seconds: not worth a line */
        log_debug("http", "%s %s: %d", method, url, reply.status);
    return send_response(server, connection, &reply);
}

static void completed_cb(void *cls, struct MHD_Connection *connection, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    http_listener_waiting(connection); /* kept alive, it may send another request */
    struct request_ctx *ctx = *con_cls;
    if (ctx) {
        /* A suspended request does not complete, so a deferral here is finished; should
         * MHD ever complete one early, its work's callback frees it instead. */
        if (ctx->deferral && !ctx->deferral->finished) {
            ctx->deferral->connection = NULL;
        } else if (ctx->deferral) {
            if (!ctx->deferral->reply.body_static)
                free(ctx->deferral->reply.body);
            free(ctx->deferral);
        }
        free(ctx->body);
        free(ctx);
        *con_cls = NULL;
    }
}

static void on_site_status(enum bus_event event, const void *payload, void *user)
{
    struct http_state *state = user;
    state->status = *(const struct ev_site_status *)payload;
    state->have_status = true;
    http_events_changed(state->events, HTTP_EVENT_STATUS);
}

static void on_device_state(enum bus_event event, const void *payload, void *user)
{
    struct http_state *state = user;
    const struct ev_device_state *device = payload;
    size_t i = 0;
    while (i < state->device_count && strcmp(state->devices[i].device_id, device->device_id) != 0)
        i++;
    if (i == HTTP_MAX_DEVICES)
        return;
    state->devices[i] = *device;
    if (i == state->device_count)
        state->device_count++;
    http_events_changed(state->events, HTTP_EVENT_DEVICES);
}

static void on_provider_status(enum bus_event event, const void *payload, void *user)
{
    struct http_state *state = user;
    const struct ev_provider_status *status = payload;
    size_t i = 0;
    while (i < state->provider_count && strcmp(state->providers[i].provider, status->provider) != 0)
        i++;
    if (i == BALKON_MAX_PROVIDERS)
        return;
    state->providers[i] = *status;
    if (i == state->provider_count)
        state->provider_count++;
    http_events_changed(state->events, HTTP_EVENT_PROVIDERS);
}

static void on_command_result(enum bus_event event, const void *payload, void *user)
{
    struct http_state *state = user;
    const struct ev_command_result *result = payload;
    state->last_result = *result;
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "device", result->device_id);
    cJSON_AddStringToObject(json, "command", result->command);
    http_add_number(json, "value", round(result->value * 1000) / 1000);
    cJSON_AddBoolToObject(json, "ok", result->ok);
    if (result->detail[0])
        cJSON_AddStringToObject(json, "detail", result->detail);
    else
        cJSON_AddNullToObject(json, "detail");
    http_events_push(state->events, HTTP_EVENT_COMMAND, json);
}

static void on_device_online(enum bus_event event, const void *payload, void *user)
{
    struct http_state *state = user;
    const struct ev_device_online *online = payload;
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "device", online->device_id);
    cJSON_AddBoolToObject(json, "online", online->online);
    if (online->detail[0] && !online->online)
        cJSON_AddStringToObject(json, "detail", online->detail);
    else
        cJSON_AddNullToObject(json, "detail");
    http_events_push(state->events, HTTP_EVENT_DEVICE_ONLINE, json);
}

static void on_plan(enum bus_event event, const void *payload, void *user)
{
    struct http_state *state = user;
    const struct ev_plan *plan = payload;
    state->plan.id = plan->id;
    state->plan.created_ts_ms = plan->created_ts_ms;
    snprintf(state->plan.strategy, sizeof state->plan.strategy, "%s", plan->strategy);
    state->have_plan = true;
    http_events_changed(state->events, HTTP_EVENT_PLAN);
}

static void on_daemon_started(enum bus_event event, const void *payload, void *user)
{
    struct http_state *state = user;
    const struct ev_daemon_started *info = payload;
    snprintf(state->config_path, sizeof state->config_path, "%s", info->config_path);
}

static void on_control_status(enum bus_event event, const void *payload, void *user)
{
    struct http_state *state = user;
    state->control = *(const struct ev_control_status *)payload;
    state->have_control = true;
    http_events_changed(state->events, HTTP_EVENT_CONTROL);
}

static void on_loads_status(enum bus_event event, const void *payload, void *user)
{
    struct http_state *state = user;
    state->loads = *(const struct ev_loads_status *)payload;
    http_events_changed(state->events, HTTP_EVENT_LOADS);
}

static void on_config_changed(enum bus_event event, const void *payload, void *user)
{
    /* Statuses of removed providers must not linger; the others stay until their next
     * status (a reload that leaves providers[] alone does not restart them). */
    struct http_state *state = user;
    const struct balkon_config *config = ((const struct ev_config_changed *)payload)->config;
    http_security_policy(config, security_policy, sizeof security_policy);
    size_t kept = 0;
    for (size_t i = 0; i < state->provider_count; i++) {
        bool present = false;
        for (size_t j = 0; j < config->providers.count && !present; j++)
            present = strcmp(config->providers.items[j].id, state->providers[i].provider) == 0;
        if (present)
            state->providers[kept++] = state->providers[i];
    }
    if (kept != state->provider_count) {
        state->provider_count = kept;
        http_events_changed(state->events, HTTP_EVENT_PROVIDERS);
    }
}

static const struct bus_subscription subscriptions[] = {
    {BUS_EV_SITE_STATUS, on_site_status},
    {BUS_EV_DEVICE_STATE, on_device_state},
    {BUS_EV_PROVIDER_STATUS, on_provider_status},
    {BUS_EV_CONFIG_CHANGED, on_config_changed},
    {BUS_EV_COMMAND_RESULT, on_command_result},
    {BUS_EV_CONTROL_STATUS, on_control_status},
    {BUS_EV_LOADS_STATUS, on_loads_status},
    {BUS_EV_DEVICE_ONLINE, on_device_online},
    {BUS_EV_PLAN, on_plan},
    {BUS_EV_DAEMON_STARTED, on_daemon_started},
};
#define SUBSCRIPTION_COUNT (sizeof subscriptions / sizeof subscriptions[0])

static void unsubscribe_all(struct http_server *server)
{
    balkon_bus_unsubscribe_all(server->state.ctx->bus, subscriptions, SUBSCRIPTION_COUNT,
                               &server->state);
}

/* Parses "ADDRESS:PORT" or "[IPv6]:PORT". Returns 0 or BALKON_E_INVAL. */
static int parse_listen(const char *listen, struct sockaddr_storage *addr, bool *ipv6)
{
    char host[64];
    const char *colon = strrchr(listen, ':');
    if (!colon || (size_t)(colon - listen) >= sizeof host)
        return BALKON_E_INVAL;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    int port = atoi(colon + 1);
    memset(addr, 0, sizeof *addr);
    size_t len = strlen(host);
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        host[len - 1] = '\0';
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *ipv6 = true;
        return inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1 ? 0 : BALKON_E_INVAL;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)addr;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *ipv6 = false;
    return inet_pton(AF_INET, host, &a4->sin_addr) == 1 ? 0 : BALKON_E_INVAL;
}

/* Whether addr reaches this machine only (127/8, ::1). */
static bool http_listen_loopback(const struct sockaddr_storage *addr)
{
    if (addr->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)addr)->sin_addr.s_addr) >> 24) == 127;
    return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)addr)->sin6_addr);
}

/* Starts the self-probe when there is a watchdog to feed. */
static void start_probe(struct http_server *server, struct sockaddr_storage *addr)
{
    uint64_t period_ms = balkon_sd_probe_period_ms();
    if (!period_ms)
        return;
    uint16_t port = htons((uint16_t)http_listener_port(server->listener));
    if (addr->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)addr)->sin6_port = port;
    else
        ((struct sockaddr_in *)addr)->sin_port = port;
    server->probe = http_probe_new(server->state.ctx, server->listener, (struct sockaddr *)addr,
                                   period_ms, server->tls);
    if (!server->probe)
        log_error("http", "out of memory for the self-probe: the watchdog will not be fed");
}

/* Frees what http_start made, in the reverse order; for a start that failed midway. */
static void discard(struct http_server *server)
{
    http_caches_stop(&server->state);
    http_caches_free(&server->state);
    http_events_free(server->state.events);
    http_auth_free(server->state.auth);
    if (server->daemon)
        MHD_stop_daemon(server->daemon);
    http_listener_free(server->listener);
    free(server->state.config_errors);
    free(server);
}

static int http_start(struct balkon_ctx *ctx, void **out)
{
    const char *listen = ctx->config->http.listen;
    struct sockaddr_storage addr;
    bool ipv6;
    if (parse_listen(listen, &addr, &ipv6) < 0) {
        log_error("http", "http.listen: cannot parse \"%s\" as ADDRESS:PORT", listen);
        return BALKON_E_INVAL;
    }
    struct http_server *server = calloc(1, sizeof *server);
    if (server)
        server->state.config_errors = calloc(1, sizeof *server->state.config_errors);
    if (!server || !server->state.config_errors) {
        free(server);
        return BALKON_E_NOMEM;
    }
    server->state.ctx = ctx;
    http_security_policy(ctx->config, security_policy, sizeof security_policy);
    struct balkon_tls_pem pem = {0};
    if (strcmp(ctx->config->http.tls, "off") != 0) {
        char msg[512];
        if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
            log_error("http", "http.tls: this libmicrohttpd was built without TLS");
            discard(server);
            return BALKON_E_INVAL;
        }
        if (balkon_tls_load(ctx->config, &pem, msg, sizeof msg) < 0) {
            log_error("http", "%s", msg);
            discard(server);
            return BALKON_E_IO;
        }
        server->tls = true;
        server->hsts = ctx->config->http.hsts;
        log_notice("http", "HTTPS with the certificate %s, SHA-256 fingerprint %s", pem.cert_path,
                   pem.fingerprint);
    }
    socklen_t addr_len = ipv6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    server->listener = http_listener_new(ctx->loop, (struct sockaddr *)&addr, addr_len, listen);
    if (!server->listener) {
        discard(server);
        return BALKON_E_IO;
    }
    /* MHD's connection limit only backs ours up (listener.c): room for every connection
     * the listener may have handed over, including those it has shut but MHD not yet
     * reaped. Its per-IP limit would count an IPv6 /64 as many addresses: ours does not. */
    /* With TLS, MHD does the handshake on the connections the listener hands over. */
    struct MHD_OptionItem tls_options[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, pem.cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, pem.key},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_OptionItem no_options[] = {{MHD_OPTION_END, 0, NULL}};
    server->daemon = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_NO_LISTEN_SOCKET |
            (server->tls ? MHD_USE_TLS : 0),
        0, NULL, NULL, access_cb, server, MHD_OPTION_ARRAY, server->tls ? tls_options : no_options,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY_BYTES,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTION_SLOTS, MHD_OPTION_NOTIFY_CONNECTION,
        http_listener_notify_cb, server->listener, MHD_OPTION_NOTIFY_COMPLETED, completed_cb,
        server, MHD_OPTION_END);
    balkon_tls_pem_free(&pem); /* MHD has its own copy in GnuTLS's credentials */
    if (!server->daemon) {
        log_error("http", "cannot start libmicrohttpd");
        discard(server);
        return BALKON_E_IO;
    }
    server->state.events = http_events_new(&server->state, ctx->loop, wake_cb, server);
    server->state.auth = http_auth_new(&server->state);
    if (!server->state.events || !server->state.auth || http_caches_start(&server->state) < 0) {
        discard(server);
        return BALKON_E_NOMEM;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    uv_poll_init(ctx->loop, &server->poll, info->epoll_fd);
    server->poll.data = server;
    uv_poll_start(&server->poll, UV_READABLE, poll_cb);
    uv_timer_init(ctx->loop, &server->timer);
    server->timer.data = server;
    server->handles_open = 2;
    http_listener_start(server->listener, server->daemon, listener_run, server);

    balkon_bus_subscribe_all(ctx->bus, subscriptions, SUBSCRIPTION_COUNT, &server->state);

    char host[64];
    snprintf(host, sizeof host, "%.*s", (int)(strrchr(listen, ':') - listen), listen);
    log_notice("http", "listening on %s://%s:%u/", server->tls ? "https" : "http", host,
               http_listener_port(server->listener));
    server->state.insecure_beyond_loopback = !server->tls && !http_listen_loopback(&addr);
    if (server->state.insecure_beyond_loopback)
        log_warn("http",
                 "listening beyond this machine without HTTPS: passwords and session cookies "
                 "cross the network readable by anyone on it (set http.tls to \"auto\" or "
                 "\"on\", or put an HTTPS proxy in front and listen on 127.0.0.1)");
    start_probe(server, &addr);
    *out = server;
    run_mhd(server);
    return 0;
}

static void close_cb(uv_handle_t *handle)
{
    struct http_server *server = handle->data;
    server->handles_open--;
}

static void http_stop(void *state)
{
    struct http_server *server = state;
    server->stopping = true;
    unsubscribe_all(server);
    api_devices_tests_stop(&server->state);
    /* Searches still waiting for the geocoder are answered now (503), before MHD stops. */
    api_geocode_stop(&server->state);
    http_caches_stop(&server->state);
    http_probe_stop(server->probe);
    http_listener_stop(server->listener);
    http_events_stop(server->state.events);
    http_auth_stop(server->state.auth);
    /* Held answers go now: MHD_stop_daemon needs every connection resumed. */
    for (struct deferral *deferral = server->held; deferral; deferral = deferral->held_next)
        if (!uv_is_closing((uv_handle_t *)&deferral->hold))
            uv_close((uv_handle_t *)&deferral->hold, hold_closed_cb);
    uv_poll_stop(&server->poll);
    uv_close((uv_handle_t *)&server->poll, close_cb);
    uv_close((uv_handle_t *)&server->timer, close_cb);
}

static void http_free(void *state)
{
    struct http_server *server = state;
    /* The epoll fd belongs to MHD: it may be closed only after the poll handle is. MHD
     * reports the connections it closes to the listener, which must outlive it. */
    server->loop_ended = true;
    MHD_stop_daemon(server->daemon);
    http_events_free(server->state.events); /* after MHD released the streams */
    http_auth_free(server->state.auth);
    http_caches_free(&server->state);
    http_probe_free(server->probe);
    http_listener_free(server->listener);
    free(server->state.config_errors);
    free(server);
}

const struct balkon_module balkon_module_http = {
    .name = "http",
    .start = http_start,
    .stop = http_stop,
    .free = http_free,
};
