/* The metrics module: counts what no other module keeps, for GET /metrics.
 *
 *   energy    since the daemon started, integrated from BUS_EV_SITE_STATUS (power x the
 *             status's interval), split by direction so every counter only grows;
 *   errors    BUS_EV_DEVICE_ERROR per device;
 *   commands  BUS_EV_COMMAND_RESULT by result;
 *   providers runs and failed runs, from each BUS_EV_PROVIDER_STATUS with a new attempt;
 *   loop lag  a 100 ms wall-clock timer notes how much later than due it fired: the time
 *             the loop spent on something else (a slow handler, a big SQLite write), as a
 *             histogram, so a p99 can be read from it; ten wake-ups a second cost nothing.
 *
 * The HTTP module reads them through the metrics.read service. */
#include "balkon/bus.h"
#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/module.h"
#include "balkon/services.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAG_PERIOD_MS 100

struct metrics {
    struct balkon_ctx *ctx;
    uv_timer_t lag_timer;
    uint64_t due_ms; /* when the lag timer is due, in uv_now's milliseconds */
    struct balkon_metrics_snapshot counters;
};

static void lag_cb(uv_timer_t *timer)
{
    struct metrics *m = timer->data;
    /* The real time in µs (uv_now is the iteration's start, in whole ms). */
    uint64_t now_us = uv_hrtime() / 1000u;
    uint64_t due_us = m->due_ms * 1000u;
    double lag_ms = now_us > due_us ? (double)(now_us - due_us) / 1000.0 : 0.0;
    struct balkon_metrics_snapshot *c = &m->counters;
    c->loop_lag_ms = lag_ms;
    c->loop_lag_sum_ms += lag_ms;
    c->loop_lag_count++;
    if (lag_ms > c->loop_lag_max_ms)
        c->loop_lag_max_ms = lag_ms;
    static const double bounds_ms[] = BALKON_METRICS_LAG_BOUNDS_MS;
    size_t bucket = 0;
    while (bucket < sizeof bounds_ms / sizeof *bounds_ms && lag_ms > bounds_ms[bucket])
        bucket++;
    c->loop_lag_buckets[bucket]++;
    m->due_ms = uv_now(m->ctx->loop) + LAG_PERIOD_MS; /* what libuv schedules from */
    uv_timer_start(&m->lag_timer, lag_cb, LAG_PERIOD_MS, 0);
}

static void add_energy(struct balkon_metrics_snapshot *c, const struct ev_site_status *s)
{
    double hours = (double)s->interval_ms / 3600000.0;
    if (!(hours > 0))
        return;
    if (isfinite(s->pv_w) && s->pv_w > 0)
        c->pv_wh += s->pv_w * hours;
    if (isfinite(s->home_w) && s->home_w > 0)
        c->home_wh += s->home_w * hours;
    if (isfinite(s->grid_w))
        *(s->grid_w > 0 ? &c->grid_import_wh : &c->grid_export_wh) += fabs(s->grid_w) * hours;
    if (isfinite(s->battery_w))
        *(s->battery_w > 0 ? &c->battery_discharge_wh : &c->battery_charge_wh) +=
            fabs(s->battery_w) * hours;
}

static void count_error(struct balkon_metrics_snapshot *c, const char *device_id)
{
    size_t i = 0;
    while (i < c->device_count && strcmp(c->devices[i].device_id, device_id) != 0)
        i++;
    if (i == BALKON_METRICS_DEVICES_MAX)
        return;
    if (i == c->device_count) {
        snprintf(c->devices[i].device_id, sizeof c->devices[i].device_id, "%s", device_id);
        c->device_count++;
    }
    c->devices[i].errors++;
}

static void count_provider_run(struct balkon_metrics_snapshot *c,
                               const struct ev_provider_status *s)
{
    size_t i = 0;
    while (i < c->provider_count && strcmp(c->providers[i].provider, s->provider) != 0)
        i++;
    if (i == BALKON_METRICS_DEVICES_MAX)
        return;
    if (i == c->provider_count) {
        snprintf(c->providers[i].provider, sizeof c->providers[i].provider, "%s", s->provider);
        c->providers[i].last_attempt_ms = INT64_MIN;
        c->provider_count++;
    }
    /* A status is also published without a run (at start, on a reload): count attempts. */
    if (s->last_attempt_ms == INT64_MIN || s->last_attempt_ms == c->providers[i].last_attempt_ms)
        return;
    c->providers[i].last_attempt_ms = s->last_attempt_ms;
    c->providers[i].runs++;
    if (s->state == PROVIDER_STATE_FAILING)
        c->providers[i].failures++;
}

static void on_event(enum bus_event event, const void *payload, void *user)
{
    struct metrics *m = user;
    switch (event) {
    case BUS_EV_SITE_STATUS:
        add_energy(&m->counters, payload);
        break;
    case BUS_EV_DEVICE_ERROR:
        count_error(&m->counters, ((const struct ev_device_error *)payload)->device_id);
        break;
    case BUS_EV_PROVIDER_STATUS:
        count_provider_run(&m->counters, payload);
        break;
    case BUS_EV_COMMAND_RESULT:
        if (((const struct ev_command_result *)payload)->ok)
            m->counters.commands_ok++;
        else
            m->counters.commands_failed++;
        break;
    default:
        break;
    }
}

static const enum bus_event EVENTS[] = {BUS_EV_SITE_STATUS, BUS_EV_DEVICE_ERROR,
                                        BUS_EV_COMMAND_RESULT, BUS_EV_PROVIDER_STATUS};
#define EVENT_COUNT (sizeof EVENTS / sizeof EVENTS[0])

/* The metrics.read service. */
static void read_service(void *self, struct balkon_metrics_snapshot *out)
{
    const struct metrics *m = self;
    *out = m->counters;
}

static int metrics_start(struct balkon_ctx *ctx, void **state)
{
    struct metrics *m = calloc(1, sizeof *m);
    if (!m)
        return BALKON_E_NOMEM;
    m->ctx = ctx;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < EVENT_COUNT; i++)
        rc = balkon_bus_subscribe(ctx->bus, EVENTS[i], on_event, m);
    if (rc < 0) {
        for (size_t i = 0; i < EVENT_COUNT; i++)
            balkon_bus_unsubscribe(ctx->bus, EVENTS[i], on_event, m);
        free(m);
        return rc;
    }
    uv_timer_init(ctx->loop, &m->lag_timer);
    m->lag_timer.data = m;
    m->due_ms = uv_now(ctx->loop) + LAG_PERIOD_MS;
    uv_timer_start(&m->lag_timer, lag_cb, LAG_PERIOD_MS, 0);
    if (ctx->services) {
        ctx->services->metrics.read = read_service;
        ctx->services->metrics.self = m;
    }
    *state = m;
    return 0;
}

static void metrics_stop(void *state)
{
    struct metrics *m = state;
    if (m->ctx->services)
        m->ctx->services->metrics.self = NULL;
    for (size_t i = 0; i < EVENT_COUNT; i++)
        balkon_bus_unsubscribe(m->ctx->bus, EVENTS[i], on_event, m);
    uv_close((uv_handle_t *)&m->lag_timer, NULL);
}

const struct balkon_module balkon_module_metrics = {
    .name = "metrics",
    .start = metrics_start,
    .stop = metrics_stop,
    .free = free,
};
