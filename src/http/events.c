/* GET /api/v1/events: the bus as Server-Sent Events, so the dashboard needs no polling.
 *
 * Wire format (text/event-stream, UTF-8):
 *   retry: 3000                       once, first: reconnect after 3 s
 *   event: <name>\ndata: <JSON>\n\n   one frame per event; the JSON is one line
 *   : keepalive\n\n                   a comment every 15 s (wall time)
 * Names and data: status, devices, control, loads, providers carry the body of their GET
 * endpoint; plan {"id","created","strategy"}; command {"device","command","value","ok",
 * "detail"}; device_online {"device","online","detail"}. A new client first gets status,
 * devices, control (once the control has run) and loads at once.
 *
 * At most HTTP_EVENTS_MAX_CLIENTS streams are open, HTTP_EVENTS_PER_ADDRESS_MAX of them to
 * one client address (an IPv6 address by its /64): one machine, or one attacker, cannot
 * take them all. Beyond either, 503. A stream is being answered, so the listener's request
 * deadline does not apply to it (listener.c).
 *
 * MHD polls its sockets from our loop (server.c), so a stream must never block it: each
 * stream is a callback response whose reader hands out what the client's buffer holds and,
 * when that is empty, suspends the connection and returns 0. Bus events fill the buffers
 * and resume the suspended connections; wake() then makes MHD run on the next loop
 * iteration, never inside the bus handler, which may itself run under MHD_run.
 *
 * Throttle: the state types (status … providers) go to a client at most once per wall
 * second each. A newer state replaces one not sent yet; its frame is built from
 * http_state when it is due, once for all clients, so the 60x demo clock costs nothing per
 * skipped event. command and device_online always go, in order; at most SSE_QUEUE_MAX wait
 * per client and the oldest is dropped beyond. A client that does not read holds at most
 * about SSE_BACKLOG_MAX bytes; what comes meanwhile waits in the throttle slots and queue.
 *
 * Lifetime: a client is made by the handler and freed by MHD when the response is
 * destroyed, i.e. when its connection closes (the peer left, a write failed or timed out,
 * the daemon stops). A suspended connection neither times out nor notices a peer that
 * left; the keepalive resumes every stream at least every 15 s, which notices the one and
 * keeps MHD's connection timeout (30 s without progress) from closing a quiet stream. */
#include "http_internal.h"

#include "balkon/log.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SSE_THROTTLE_MS 1000
#define SSE_KEEPALIVE_MS 15000
#define SSE_QUEUE_MAX 64
#define SSE_BACKLOG_MAX (64 * 1024)
#define SSE_BLOCK_SIZE (16 * 1024)

static const char *const event_names[HTTP_EVENT_TYPE_COUNT] = {
    [HTTP_EVENT_STATUS] = "status",   [HTTP_EVENT_DEVICES] = "devices",
    [HTTP_EVENT_CONTROL] = "control", [HTTP_EVENT_LOADS] = "loads",
    [HTTP_EVENT_PLAN] = "plan",       [HTTP_EVENT_PROVIDERS] = "providers",
    [HTTP_EVENT_COMMAND] = "command", [HTTP_EVENT_DEVICE_ONLINE] = "device_online",
};

struct sse_client {
    struct sse_client *next;
    struct http_events *hub;
    struct MHD_Connection *connection;
    struct http_address_key key; /* the client's address, for the per-address limit */
    bool suspended;
    bool failed; /* out of memory: the stream ends */
    char *out;   /* frames for the stream that MHD has not taken yet */
    size_t out_len, out_sent, out_cap;
    bool pending[HTTP_EVENT_THROTTLED_COUNT];    /* a newer state waits for its turn */
    uint64_t due_ms[HTTP_EVENT_THROTTLED_COUNT]; /* its throttle opens then (uv_now) */
    char *queue[SSE_QUEUE_MAX];                  /* command/device_online frames, a ring */
    size_t queue_head, queue_count;
    uint64_t keepalive_ms; /* when the last keepalive went (or the stream began) */
    uint64_t dropped;      /* queued frames dropped because the client lagged */
};

struct http_events {
    struct http_state *state;
    uv_loop_t *loop;
    uv_timer_t timer; /* the next throttle opening or keepalive */
    void (*wake)(void *wake_arg);
    void *wake_arg;
    struct sse_client *clients;
    size_t client_count;
    bool stopped;
    char *frames[HTTP_EVENT_THROTTLED_COUNT]; /* built when first needed; NULL when stale */
};

static void timer_cb(uv_timer_t *timer);

static size_t backlog(const struct sse_client *c)
{
    return c->out_len - c->out_sent;
}

static void append(struct sse_client *c, const char *text, size_t len)
{
    if (c->out_sent == c->out_len)
        c->out_sent = c->out_len = 0;
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + len)
            cap *= 2;
        char *grown = realloc(c->out, cap);
        if (!grown) {
            c->failed = true;
            return;
        }
        c->out = grown;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, text, len);
    c->out_len += len;
}

/* "event: NAME\ndata: JSON\n\n", or NULL (out of memory). json is consumed. */
static char *format_frame(enum http_event_type type, cJSON *json)
{
    char *data = json ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    if (!data)
        return NULL;
    size_t size = strlen(event_names[type]) + strlen(data) + 32;
    char *frame = malloc(size);
    if (frame)
        snprintf(frame, size, "event: %s\ndata: %s\n\n", event_names[type], data);
    free(data);
    return frame;
}

static cJSON *plan_json(const struct http_state *state)
{
    if (!state->have_plan)
        return NULL;
    cJSON *json = cJSON_CreateObject();
    cJSON_AddNumberToObject(json, "id", (double)state->plan.id);
    http_add_time(json, "created", state->plan.created_ts_ms);
    cJSON_AddStringToObject(json, "strategy", state->plan.strategy);
    return json;
}

/* The current frame of a state type, or NULL when there is none (the control before it
 * ran, no plan yet) or no memory. Owned by the hub. */
static const char *state_frame(struct http_events *hub, enum http_event_type type)
{
    if (hub->frames[type])
        return hub->frames[type];
    const struct http_state *state = hub->state;
    cJSON *json = NULL;
    switch (type) {
    case HTTP_EVENT_STATUS:
        json = api_status_json(state);
        break;
    case HTTP_EVENT_DEVICES:
        json = api_devices_json(state);
        break;
    case HTTP_EVENT_CONTROL:
        json = api_control_json(state);
        break;
    case HTTP_EVENT_LOADS:
        json = api_loads_json(state);
        break;
    case HTTP_EVENT_PLAN:
        json = plan_json(state);
        break;
    case HTTP_EVENT_PROVIDERS:
        json = api_providers_json(state);
        break;
    default:
        break;
    }
    hub->frames[type] = format_frame(type, json);
    return hub->frames[type];
}

static void send_state(struct sse_client *c, enum http_event_type type, uint64_t now)
{
    const char *frame = state_frame(c->hub, type);
    if (frame)
        append(c, frame, strlen(frame));
    c->pending[type] = false;
    c->due_ms[type] = now + SSE_THROTTLE_MS;
}

/* Moves into the client's buffer what may go now: queued occurrences in order, states
 * whose throttle is open, the keepalive when due; as much as the backlog bound allows. */
static void fill(struct sse_client *c, uint64_t now)
{
    while (c->queue_count && backlog(c) < SSE_BACKLOG_MAX) {
        char *frame = c->queue[c->queue_head];
        append(c, frame, strlen(frame));
        free(frame);
        c->queue_head = (c->queue_head + 1) % SSE_QUEUE_MAX;
        c->queue_count--;
    }
    for (int type = 0; type < HTTP_EVENT_THROTTLED_COUNT; type++)
        if (c->pending[type] && now >= c->due_ms[type] && backlog(c) < SSE_BACKLOG_MAX)
            send_state(c, type, now);
    if (now >= c->keepalive_ms + SSE_KEEPALIVE_MS && backlog(c) < SSE_BACKLOG_MAX) {
        append(c, ": keepalive\n\n", 13);
        c->keepalive_ms = now;
    }
}

/* Starts the timer for the earliest moment a client has something to send. Clients at
 * their backlog bound are left out: their reader fills them again as MHD drains them. */
static void schedule(struct http_events *hub, uint64_t now)
{
    if (hub->stopped)
        return;
    uint64_t next = UINT64_MAX;
    for (struct sse_client *c = hub->clients; c; c = c->next) {
        if (backlog(c) >= SSE_BACKLOG_MAX)
            continue;
        for (int type = 0; type < HTTP_EVENT_THROTTLED_COUNT; type++)
            if (c->pending[type] && c->due_ms[type] < next)
                next = c->due_ms[type];
        if (c->keepalive_ms + SSE_KEEPALIVE_MS < next)
            next = c->keepalive_ms + SSE_KEEPALIVE_MS;
    }
    if (next == UINT64_MAX)
        uv_timer_stop(&hub->timer);
    else
        uv_timer_start(&hub->timer, timer_cb, next > now ? next - now : 0, 0);
}

/* Fills every client and resumes those that were waiting for data. */
static void kick(struct http_events *hub)
{
    if (hub->stopped)
        return;
    uint64_t now = uv_now(hub->loop);
    bool resumed = false;
    for (struct sse_client *c = hub->clients; c; c = c->next) {
        fill(c, now);
        if (c->suspended && (backlog(c) > 0 || c->failed)) {
            c->suspended = false;
            MHD_resume_connection(c->connection);
            resumed = true;
        }
    }
    if (resumed)
        hub->wake(hub->wake_arg);
    schedule(hub, now);
}

static void timer_cb(uv_timer_t *timer)
{
    kick(timer->data);
}

static ssize_t read_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct sse_client *c = cls;
    struct http_events *hub = c->hub;
    if (hub->stopped || c->failed)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (backlog(c) == 0) {
        uint64_t now = uv_now(hub->loop);
        fill(c, now);
        schedule(hub, now);
    }
    if (c->failed)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (backlog(c) == 0) {
        c->suspended = true;
        MHD_suspend_connection(c->connection);
        return 0;
    }
    size_t n = backlog(c) < max ? backlog(c) : max;
    memcpy(buf, c->out + c->out_sent, n);
    c->out_sent += n;
    return (ssize_t)n;
}

static void client_free(struct sse_client *c)
{
    while (c->queue_count) {
        free(c->queue[c->queue_head]);
        c->queue_head = (c->queue_head + 1) % SSE_QUEUE_MAX;
        c->queue_count--;
    }
    free(c->out);
    free(c);
}

/* MHD destroys the response when the connection is done with it. */
static void free_cb(void *cls)
{
    struct sse_client *c = cls;
    struct http_events *hub = c->hub;
    for (struct sse_client **p = &hub->clients; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            hub->client_count--;
            break;
        }
    }
    log_info("http", "event stream closed (%zu open%s)", hub->client_count,
             c->dropped ? ", it had lagged and missed events" : "");
    client_free(c);
    schedule(hub, uv_now(hub->loop));
}

/* The streams open to clients of key's address. */
static size_t streams_from(const struct http_events *hub, const struct http_address_key *key)
{
    size_t count = 0;
    for (const struct sse_client *c = hub->clients; c; c = c->next)
        count += memcmp(&c->key, key, sizeof *key) == 0;
    return count;
}

void api_events_get(struct http_state *state, const struct http_request *request,
                    struct http_response *response)
{
    struct http_events *hub = state->events;
    if (!hub || hub->stopped) {
        http_reply_error(response, 503, "the daemon is stopping");
        return;
    }
    if (hub->client_count >= HTTP_EVENTS_MAX_CLIENTS) {
        http_reply_error(
            response, 503,
            "too many event streams: %d are open, the most allowed; close one (another "
            "browser tab?) or poll the GET endpoints",
            HTTP_EVENTS_MAX_CLIENTS);
        return;
    }
    struct http_address_key key;
    http_address_key(request->client_ip, &key);
    if (streams_from(hub, &key) >= HTTP_EVENTS_PER_ADDRESS_MAX) {
        http_reply_error(response, 503,
                         "too many event streams from %s: %d are open, the most one address "
                         "may hold; close one (another browser tab?) or poll the GET endpoints",
                         request->client_ip, HTTP_EVENTS_PER_ADDRESS_MAX);
        return;
    }
    struct sse_client *c = calloc(1, sizeof *c);
    if (!c) {
        http_reply_error(response, 500, "out of memory");
        return;
    }
    c->hub = hub;
    c->connection = request->connection;
    c->key = key;
    uint64_t now = uv_now(hub->loop);
    c->keepalive_ms = now;
    static const char retry[] = "retry: 3000\n\n";
    append(c, retry, sizeof retry - 1);
    static const enum http_event_type snapshot[] = {HTTP_EVENT_STATUS, HTTP_EVENT_DEVICES,
                                                    HTTP_EVENT_CONTROL, HTTP_EVENT_LOADS};
    for (size_t i = 0; i < sizeof snapshot / sizeof *snapshot; i++)
        send_state(c, snapshot[i], now);
    struct MHD_Response *stream =
        c->failed ? NULL
                  : MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, SSE_BLOCK_SIZE, read_cb, c,
                                                      free_cb);
    if (!stream) {
        client_free(c);
        http_reply_error(response, 500, "out of memory");
        return;
    }
    /* From here the response owns the client: free_cb releases it. */
    c->next = hub->clients;
    hub->clients = c;
    hub->client_count++;
    MHD_add_response_header(stream, "Content-Type", "text/event-stream; charset=utf-8");
    MHD_add_response_header(stream, "Cache-Control", "no-store");
    MHD_add_response_header(stream, "X-Accel-Buffering", "no"); /* nginx: do not buffer */
    response->status = 200;
    response->stream = stream;
    log_info("http", "event stream opened (%zu open)", hub->client_count);
    schedule(hub, now);
}

struct http_events *http_events_new(struct http_state *state, uv_loop_t *loop,
                                    void (*wake)(void *wake_arg), void *wake_arg)
{
    struct http_events *hub = calloc(1, sizeof *hub);
    if (!hub)
        return NULL;
    hub->state = state;
    hub->loop = loop;
    hub->wake = wake;
    hub->wake_arg = wake_arg;
    uv_timer_init(loop, &hub->timer);
    hub->timer.data = hub;
    return hub;
}

void http_events_changed(struct http_events *hub, enum http_event_type type)
{
    if (!hub || hub->stopped || type >= HTTP_EVENT_THROTTLED_COUNT)
        return;
    free(hub->frames[type]);
    hub->frames[type] = NULL;
    if (!hub->clients)
        return;
    for (struct sse_client *c = hub->clients; c; c = c->next)
        c->pending[type] = true;
    kick(hub);
}

void http_events_push(struct http_events *hub, enum http_event_type type, cJSON *data)
{
    if (!hub || hub->stopped || !hub->clients || type < HTTP_EVENT_THROTTLED_COUNT) {
        cJSON_Delete(data);
        return;
    }
    char *frame = format_frame(type, data);
    if (!frame)
        return;
    for (struct sse_client *c = hub->clients; c; c = c->next) {
        if (c->queue_count == SSE_QUEUE_MAX) {
            free(c->queue[c->queue_head]);
            c->queue_head = (c->queue_head + 1) % SSE_QUEUE_MAX;
            c->queue_count--;
            if (c->dropped++ == 0)
                log_warn("http", "an event stream's client lags; its oldest events are dropped");
        }
        char *copy = strdup(frame);
        if (!copy) {
            c->failed = true;
            continue;
        }
        c->queue[(c->queue_head + c->queue_count++) % SSE_QUEUE_MAX] = copy;
    }
    free(frame);
    kick(hub);
}

size_t http_events_client_count(const struct http_events *hub)
{
    return hub ? hub->client_count : 0;
}

void http_events_stop(struct http_events *hub)
{
    if (!hub || hub->stopped)
        return;
    hub->stopped = true;
    /* MHD_stop_daemon must find no connection suspended; resumed, their readers end the
     * streams. */
    for (struct sse_client *c = hub->clients; c; c = c->next) {
        if (c->suspended) {
            c->suspended = false;
            MHD_resume_connection(c->connection);
        }
    }
    uv_timer_stop(&hub->timer);
    uv_close((uv_handle_t *)&hub->timer, NULL);
}

void http_events_free(struct http_events *hub)
{
    if (!hub)
        return;
    /* MHD_stop_daemon has released every stream; anything left was never queued. */
    while (hub->clients) {
        struct sse_client *next = hub->clients->next;
        client_free(hub->clients);
        hub->clients = next;
    }
    for (int type = 0; type < HTTP_EVENT_THROTTLED_COUNT; type++)
        free(hub->frames[type]);
    free(hub);
}
