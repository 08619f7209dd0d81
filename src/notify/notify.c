/* The notification module: turns what the rules find into alerts, and alerts into
 * messages on the configured channels.
 *
 * An alert is keyed by (rule, subject). The first notify_raise stores it ("open") and sends
 * it; repeats do nothing until notify_clear stores the resolution and sends "Resolved: …".
 * Before sending: quiet hours (local time of the daemon's clock; only critical alerts pass)
 * and a rate limit (max_per_hour alerts per sliding hour of wall time, all channels
 * together). What is held back is still stored. Every channel gets its own delivery with 3
 * attempts (1 s, then 2 s apart); one channel's failure never delays another, and is
 * reported in GET /api/v1/notifications/channels and logged once per failing spell. */
#include "notify_internal.h"

#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/module.h"
#include "balkon/services.h"
#include "balkon/mqtt.h"
#include "balkon/store.h"
#include "balkon/timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_OPEN 64
#define MAX_ATTEMPTS 3
#define FIRST_RETRY_MS 1000
#define RATE_WINDOW_MS (3600 * 1000)
#define RATE_MAX 1000

struct open_alert {
    char rule[48];
    char subject[48];
    enum notify_severity severity;
    bool quiet_resolve;
    char title[128];
    int64_t id; /* the stored row */
};

struct channel_run {
    struct balkon_notify_channel_config config;
    struct balkon_notify_channel_status status;
};

struct delivery {
    struct delivery *next;
    struct notify *n;
    uv_timer_t timer; /* retry backoff; the delivery is freed in its close callback */
    char channel_id[32];
    struct notify_request request;
    struct balkon_notify_channel_config config;
    int attempt;
    bool test;
    bool in_flight;
};

struct notify {
    struct balkon_ctx *ctx;
    struct notify_rules *rules;
    struct balkon_http_client *http;
    struct channel_run channels[BALKON_MAX_NOTIFY_CHANNELS];
    size_t channel_count;
    struct open_alert open[MAX_OPEN];
    size_t open_count;
    uint64_t sent_ms[RATE_MAX]; /* wall times of the alerts sent, a ring */
    size_t sent_head, sent_count;
    bool rate_warned;
    struct delivery *deliveries;
    bool stopping;
};

static struct channel_run *find_channel(struct notify *n, const char *id)
{
    for (size_t i = 0; i < n->channel_count; i++)
        if (strcmp(n->channels[i].config.id, id) == 0)
            return &n->channels[i];
    return NULL;
}

/* Follows the config; channels keep their counters across reloads by id. */
static void apply_config(struct notify *n)
{
    const struct balkon_config *config = n->ctx->config;
    struct channel_run old[BALKON_MAX_NOTIFY_CHANNELS];
    size_t old_count = n->channel_count;
    memcpy(old, n->channels, sizeof old);
    n->channel_count = 0;
    for (size_t i = 0; i < config->notifications.channel_count; i++) {
        struct channel_run *run = &n->channels[n->channel_count++];
        memset(run, 0, sizeof *run);
        run->config = config->notifications.channels[i];
        run->status.healthy = true;
        run->status.last_sent_ms = run->status.last_error_ms = INT64_MIN;
        for (size_t j = 0; j < old_count; j++)
            if (strcmp(old[j].config.id, run->config.id) == 0 &&
                strcmp(old[j].config.type, run->config.type) == 0)
                run->status = old[j].status;
        memcpy(run->status.id, run->config.id, sizeof run->status.id);
        memcpy(run->status.type, run->config.type, sizeof run->status.type);
    }
}

static void delivery_closed_cb(uv_handle_t *handle)
{
    free(handle->data);
}

static void delivery_end(struct delivery *d)
{
    for (struct delivery **p = &d->n->deliveries; *p; p = &(*p)->next)
        if (*p == d) {
            *p = d->next;
            break;
        }
    uv_close((uv_handle_t *)&d->timer, delivery_closed_cb);
}

static void attempt(struct delivery *d);

static void retry_cb(uv_timer_t *timer)
{
    attempt(timer->data);
}

static void delivery_result(struct delivery *d, bool ok, const char *error)
{
    struct notify *n = d->n;
    if (n->stopping) {
        delivery_end(d);
        return;
    }
    if (!ok && d->attempt < MAX_ATTEMPTS) {
        log_debug("notify", "%s: attempt %d failed (%s); retrying", d->channel_id, d->attempt,
                  error);
        uv_timer_start(&d->timer, retry_cb, (uint64_t)FIRST_RETRY_MS << (d->attempt - 1), 0);
        return;
    }
    struct channel_run *run = find_channel(n, d->channel_id);
    if (run) {
        struct balkon_notify_channel_status *s = &run->status;
        int64_t now_ms = (int64_t)time(NULL) * 1000;
        if (ok) {
            if (!s->healthy)
                log_info("notify", "channel %s delivers again", d->channel_id);
            s->healthy = true;
            s->sent++;
            s->last_sent_ms = now_ms;
            s->last_error[0] = '\0';
        } else {
            if (s->healthy)
                log_warn("notify", "channel %s (%s) failed after %d attempts: %s", d->channel_id,
                         run->config.type, MAX_ATTEMPTS, error);
            s->healthy = false;
            s->failed++;
            s->last_error_ms = now_ms;
            snprintf(s->last_error, sizeof s->last_error, "%s", error);
        }
        if (d->test)
            snprintf(s->last_test, sizeof s->last_test, "%s", ok ? "ok" : error);
    }
    delivery_end(d);
}

static void http_done_cb(const struct balkon_http_result *result, void *user)
{
    struct delivery *d = user;
    d->in_flight = false;
    char error[300] = "";
    bool ok = !result->transport_error;
    if (!ok)
        snprintf(error, sizeof error, "%s", result->error);
    else if (!d->request.email && (result->status < 200 || result->status > 299)) {
        ok = false;
        snprintf(error, sizeof error, "HTTP %ld: %.120s", result->status,
                 result->body ? result->body : "");
    }
    delivery_result(d, ok, error);
}

static void attempt(struct delivery *d)
{
    struct notify *n = d->n;
    d->attempt++;
    if (d->request.kind == NOTIFY_REQ_MQTT) {
        int rc = n->ctx->mqtt ? balkon_mqtt_publish(n->ctx->mqtt, d->request.topic, d->request.body,
                                                    d->request.body_size, 1, false)
                              : BALKON_E_IO;
        char error[200] = "";
        if (rc < 0)
            snprintf(error, sizeof error, "MQTT publish to %s failed: %s", d->request.topic,
                     n->ctx->mqtt ? balkon_mqtt_status(n->ctx->mqtt) : "mqtt is disabled");
        delivery_result(d, rc == 0, error);
        return;
    }
    struct balkon_http_request req = {.method = d->request.email ? NULL : "POST",
                                      .url = d->request.url,
                                      .body = d->request.body,
                                      .body_size = d->request.body_size,
                                      .timeout_ms = 15000};
    for (size_t i = 0; i < d->request.header_count; i++)
        req.headers[i] = d->request.headers[i];
    if (d->request.email) {
        req.mail_from = d->config.from;
        req.mail_rcpt = d->config.to;
        req.user = d->config.user;
        req.password = d->config.password;
    }
    d->in_flight = true;
    int rc = balkon_http_fetch(n->http, &req, http_done_cb, d);
    if (rc < 0) {
        d->in_flight = false;
        delivery_result(d, false, balkon_strerror(rc));
    }
}

/* Starts one channel's delivery. The retry timer runs in the delivery's own handle, so a
 * slow or failing channel never holds up the others. */
static void deliver(struct notify *n, struct channel_run *run, const struct notify_message *m,
                    bool test)
{
    const struct notify_channel_type *type = notify_channel_find(run->config.type);
    struct delivery *d = calloc(1, sizeof *d);
    if (!type || !d) {
        free(d);
        return;
    }
    char error[160];
    if (type->build(&run->config, m, &d->request, error, sizeof error) < 0) {
        snprintf(run->status.last_error, sizeof run->status.last_error, "%s", error);
        run->status.healthy = false;
        free(d);
        return;
    }
    d->n = n;
    d->config = run->config;
    d->test = test;
    snprintf(d->channel_id, sizeof d->channel_id, "%s", run->config.id);
    uv_timer_init(n->ctx->loop, &d->timer);
    d->timer.data = d;
    d->next = n->deliveries;
    n->deliveries = d;
    if (test)
        snprintf(run->status.last_test, sizeof run->status.last_test, "pending");
    attempt(d);
}

static bool in_quiet_hours(const struct notify *n, int64_t ts_ms)
{
    const struct balkon_config *c = n->ctx->config;
    int from = balkon_parse_hhmm(c->notifications.quiet_hours_from);
    int to = balkon_parse_hhmm(c->notifications.quiet_hours_to);
    if (from < 0 || to < 0 || from == to)
        return false;
    time_t t = (time_t)(ts_ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    int minute = tm.tm_hour * 60 + tm.tm_min;
    return from < to ? minute >= from && minute < to : minute >= from || minute < to;
}

/* Counts this alert against the hourly limit; false when the limit is reached. */
static bool rate_allows(struct notify *n)
{
    uint64_t now = uv_now(n->ctx->loop);
    while (n->sent_count && now - n->sent_ms[n->sent_head] >= RATE_WINDOW_MS) {
        n->sent_head = (n->sent_head + 1) % RATE_MAX;
        n->sent_count--;
    }
    int64_t max = n->ctx->config->notifications.max_per_hour;
    if ((int64_t)n->sent_count >= max || n->sent_count >= RATE_MAX) {
        if (!n->rate_warned)
            log_warn("notify",
                     "more than %lld alerts in an hour: holding the rest back (they are stored)",
                     (long long)max);
        n->rate_warned = true;
        return false;
    }
    n->rate_warned = false;
    n->sent_ms[(n->sent_head + n->sent_count++) % RATE_MAX] = now;
    return true;
}

static void send_message(struct notify *n, const struct notify_message *m)
{
    if (m->severity != NOTIFY_CRITICAL && in_quiet_hours(n, m->ts_ms)) {
        log_info("notify", "quiet hours: not sending \"%s\" (%s)", m->title,
                 notify_severity_name(m->severity));
        return;
    }
    if (!rate_allows(n)) {
        log_info("notify", "rate limit: not sending \"%s\"", m->title);
        return;
    }
    log_info("notify", "%s %s: %s", notify_severity_name(m->severity), m->state, m->title);
    for (size_t i = 0; i < n->channel_count; i++)
        if (m->severity >= notify_severity_parse(n->channels[i].config.min_severity))
            deliver(n, &n->channels[i], m, false);
}

static int64_t store_message(struct notify *n, const struct notify_message *m)
{
    struct balkon_notification_record r = {.ts_ms = m->ts_ms, .resolved_ts_ms = INT64_MIN};
    snprintf(r.rule, sizeof r.rule, "%s", m->rule);
    snprintf(r.severity, sizeof r.severity, "%s", notify_severity_name(m->severity));
    snprintf(r.title, sizeof r.title, "%s", m->title);
    snprintf(r.message, sizeof r.message, "%s", m->text);
    snprintf(r.state, sizeof r.state, "%s", m->state);
    if (strcmp(m->state, "once") == 0)
        r.resolved_ts_ms = m->ts_ms;
    int64_t id = 0;
    if (balkon_store_notification_add(n->ctx->store, &r, &id) < 0)
        log_error("notify", "cannot store \"%s\": %s", m->title,
                  balkon_store_errmsg(n->ctx->store));
    return id;
}

static void fill_message(struct notify_message *m, struct notify *n, const char *rule,
                         const char *subject, enum notify_severity severity, const char *state,
                         const char *title, const char *fmt, va_list ap)
{
    memset(m, 0, sizeof *m);
    snprintf(m->rule, sizeof m->rule, "%s", rule);
    snprintf(m->subject, sizeof m->subject, "%s", subject);
    m->severity = severity;
    snprintf(m->state, sizeof m->state, "%s", state);
    snprintf(m->title, sizeof m->title, "%s", title);
    vsnprintf(m->text, sizeof m->text, fmt, ap);
    m->ts_ms = balkon_clock_now_ms(&n->ctx->clock);
}

void notify_raise(struct notify *n, const char *rule, const char *subject,
                  enum notify_severity severity, bool quiet_resolve, const char *title,
                  const char *fmt, ...)
{
    for (size_t i = 0; i < n->open_count; i++)
        if (strcmp(n->open[i].rule, rule) == 0 && strcmp(n->open[i].subject, subject) == 0)
            return;
    if (n->open_count >= MAX_OPEN)
        return;
    struct notify_message m;
    va_list ap;
    va_start(ap, fmt);
    fill_message(&m, n, rule, subject, severity, "open", title, fmt, ap);
    va_end(ap);
    struct open_alert *a = &n->open[n->open_count++];
    snprintf(a->rule, sizeof a->rule, "%s", rule);
    snprintf(a->subject, sizeof a->subject, "%s", subject);
    snprintf(a->title, sizeof a->title, "%s", title);
    a->severity = severity;
    a->quiet_resolve = quiet_resolve;
    a->id = store_message(n, &m);
    send_message(n, &m);
}

static void resolve_at(struct notify *n, size_t i, bool send)
{
    struct open_alert a = n->open[i];
    n->open[i] = n->open[--n->open_count];
    int64_t now_ms = balkon_clock_now_ms(&n->ctx->clock);
    if (a.id > 0)
        balkon_store_notification_set_state(n->ctx->store, a.id, "resolved", now_ms);
    if (!send || a.quiet_resolve)
        return;
    struct notify_message m = {.severity = a.severity, .ts_ms = now_ms};
    snprintf(m.rule, sizeof m.rule, "%s", a.rule);
    snprintf(m.subject, sizeof m.subject, "%s", a.subject);
    snprintf(m.state, sizeof m.state, "resolved");
    snprintf(m.title, sizeof m.title, "Resolved: %.110s", a.title);
    snprintf(m.text, sizeof m.text, "%s is over.", a.title);
    send_message(n, &m);
}

void notify_clear(struct notify *n, const char *rule, const char *subject)
{
    for (size_t i = 0; i < n->open_count; i++)
        if (strcmp(n->open[i].rule, rule) == 0 && strcmp(n->open[i].subject, subject) == 0) {
            resolve_at(n, i, true);
            return;
        }
}

void notify_once(struct notify *n, const char *rule, const char *subject,
                 enum notify_severity severity, const char *title, const char *fmt, ...)
{
    struct notify_message m;
    va_list ap;
    va_start(ap, fmt);
    fill_message(&m, n, rule, subject, severity, "once", title, fmt, ap);
    va_end(ap);
    store_message(n, &m);
    send_message(n, &m);
}

static void reply(const struct notify *n, int status, const char *message,
                  struct balkon_notify_status *out)
{
    *out = (struct balkon_notify_status){.status = status};
    snprintf(out->message, sizeof out->message, "%s", message);
    for (size_t i = 0; i < n->channel_count && i < BALKON_NOTIFY_CHANNELS_MAX; i++)
        out->channels[out->count++] = n->channels[i].status;
}

/* The notify.status service. */
static void status_service(void *self, struct balkon_notify_status *out)
{
    reply(self, 200, "", out);
}

/* The notify.test service. */
static void test_service(void *self, const char *channel, struct balkon_notify_status *out)
{
    struct notify *n = self;
    if (!n->ctx->config->notifications.enabled) {
        reply(n, 503, "notifications are disabled (notifications.enabled is false)", out);
        return;
    }
    struct channel_run *run = find_channel(n, channel);
    if (!run) {
        char msg[160];
        snprintf(msg, sizeof msg, "no notification channel \"%s\" in notifications.channels",
                 channel);
        reply(n, 404, msg, out);
        return;
    }
    struct notify_message m = {.severity = NOTIFY_INFO,
                               .ts_ms = balkon_clock_now_ms(&n->ctx->clock)};
    snprintf(m.rule, sizeof m.rule, "test");
    snprintf(m.subject, sizeof m.subject, "%s", run->config.id);
    snprintf(m.state, sizeof m.state, "once");
    snprintf(m.title, sizeof m.title, "BalkonSolar test message");
    snprintf(m.text, sizeof m.text, "This is a test of the notification channel \"%s\" (%s).",
             run->config.id, run->config.type);
    store_message(n, &m);
    /* A test ignores quiet hours, the rate limit and min_severity: it was asked for. */
    deliver(n, run, &m, true);
    reply(n, 202, "test message queued; see GET /api/v1/notifications/channels for the outcome",
          out);
}

static void on_event(enum bus_event event, const void *payload, void *user)
{
    struct notify *n = user;
    if (event == BUS_EV_CONFIG_CHANGED) {
        apply_config(n);
        if (!n->ctx->config->notifications.enabled)
            while (n->open_count)
                resolve_at(n, 0, false);
    }
    if (n->ctx->config->notifications.enabled)
        notify_rules_on_event(n->rules, event, payload);
}

static const struct bus_subscription subscriptions[] = {
    {BUS_EV_CONFIG_CHANGED, on_event}, {BUS_EV_DEVICE_ONLINE, on_event},
    {BUS_EV_CONTROL_STATUS, on_event}, {BUS_EV_SITE_STATUS, on_event},
    {BUS_EV_PRICES, on_event},         {BUS_EV_PROVIDER_STATUS, on_event},
    {BUS_EV_PLAN, on_event},           {BUS_EV_RECOMMENDATION, on_event},
    {BUS_EV_STORAGE_STATUS, on_event}, {BUS_EV_CLOCK_JUMPED, on_event},
};
#define SUBSCRIPTION_COUNT (sizeof subscriptions / sizeof subscriptions[0])

/* Alerts still open from an earlier run cannot be resolved by this one. */
static void expire_old(struct notify *n)
{
    struct balkon_notification_record *list = NULL;
    size_t count = 0;
    if (balkon_store_notification_list(n->ctx->store, 1000, &list, &count) < 0)
        return;
    for (size_t i = 0; i < count; i++)
        if (strcmp(list[i].state, "open") == 0)
            balkon_store_notification_set_state(n->ctx->store, list[i].id, "expired",
                                                n->ctx->started_ms);
    free(list);
}

static int notify_start(struct balkon_ctx *ctx, void **state)
{
    struct notify *n = calloc(1, sizeof *n);
    if (!n)
        return BALKON_E_NOMEM;
    n->ctx = ctx;
    n->rules = notify_rules_new(n, ctx);
    int rc = n->rules ? balkon_http_client_new(ctx->loop, &n->http) : BALKON_E_NOMEM;
    if (rc < 0) {
        log_error("notify", "cannot start: %s", balkon_strerror(rc));
        notify_rules_free(n->rules);
        free(n);
        return rc;
    }
    apply_config(n);
    expire_old(n);
    rc = balkon_bus_subscribe_all(ctx->bus, subscriptions, SUBSCRIPTION_COUNT, n);
    if (rc < 0) {
        log_error("notify", "cannot subscribe: %s", balkon_strerror(rc));
        balkon_http_client_close(n->http);
        notify_rules_free(n->rules);
        free(n);
        return rc;
    }
    if (ctx->services) {
        ctx->services->notify.status = status_service;
        ctx->services->notify.test = test_service;
        ctx->services->notify.self = n;
    }
    *state = n;
    return 0;
}

static void notify_stop(void *state)
{
    struct notify *n = state;
    if (n->ctx->services)
        n->ctx->services->notify.self = NULL;
    balkon_bus_unsubscribe_all(n->ctx->bus, subscriptions, SUBSCRIPTION_COUNT, n);
    n->stopping = true;
    /* Waiting deliveries end now; those in flight end in their cancelled callback. */
    for (struct delivery *d = n->deliveries, *next; d; d = next) {
        next = d->next;
        if (!d->in_flight)
            delivery_end(d);
    }
    balkon_http_client_close(n->http);
    n->http = NULL;
}

static void notify_free(void *state)
{
    struct notify *n = state;
    if (!n)
        return;
    notify_rules_free(n->rules);
    free(n);
}

const struct balkon_module balkon_module_notify = {
    .name = "notify", .start = notify_start, .stop = notify_stop, .free = notify_free};
