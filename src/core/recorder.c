/* The recorder module: writes what the bus measures into the store.
 *
 * Samples are buffered by the store and written in one transaction per flush, every
 * storage.flush_interval_s of wall time and on shutdown. Retention runs in small chunks
 * on a timer so the loop is never blocked for long. Devices are registered (first and
 * last seen) at most once a minute each. A failing database is logged when it starts
 * failing and when it recovers, not at every flush; the control loop never waits on it. */
#include "balkon/bus.h"
#include "balkon/config.h"
#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/module.h"
#include "balkon/store.h"
#include "balkon/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRUNE_PERIOD_MS (60 * 1000)
#define PRUNE_CHUNK_ROWS 20000
#define DEVICE_UPSERT_PERIOD_MS (60 * BALKON_MS_PER_S)
#define RECORDER_MAX_DEVICES 48

struct seen_device {
    char id[BALKON_ID_MAX];
    int64_t upserted_ms;
    bool online;
};

struct recorder {
    struct balkon_ctx *ctx;
    uv_timer_t flush_timer;
    uv_timer_t prune_timer;
    bool failing;
    struct seen_device devices[RECORDER_MAX_DEVICES];
    size_t device_count;
};

static void flush(struct recorder *rec)
{
    int rc = balkon_store_flush(rec->ctx->store);
    struct ev_storage_status status = {.ok = rc == 0};
    if (rc < 0 && !rec->failing) {
        log_error("recorder", "cannot write measurements: %s; keeping up to the buffer's limit "
                              "in memory and retrying",
                  balkon_store_errmsg(rec->ctx->store));
        rec->failing = true;
        snprintf(status.error, sizeof status.error, "%s", balkon_store_errmsg(rec->ctx->store));
        balkon_bus_publish(rec->ctx->bus, BUS_EV_STORAGE_STATUS, &status);
    } else if (rc == 0 && rec->failing) {
        status.dropped = balkon_store_dropped(rec->ctx->store);
        log_notice("recorder", "writing measurements again (%llu samples were dropped meanwhile)",
                   (unsigned long long)status.dropped);
        rec->failing = false;
        balkon_bus_publish(rec->ctx->bus, BUS_EV_STORAGE_STATUS, &status);
    }
}

static void on_sample(enum bus_event event, const void *payload, void *user)
{
    struct recorder *rec = user;
    const struct ev_sample *sample = payload;
    int64_t series_id;
    int rc = balkon_store_series_id(rec->ctx->store, sample->series, sample->unit, &series_id);
    if (rc == 0)
        rc = balkon_store_append(rec->ctx->store, series_id, sample->ts_ms, sample->value);
    if (rc < 0 && !rec->failing) {
        log_error("recorder", "cannot record %s: %s", sample->series,
                  balkon_store_errmsg(rec->ctx->store));
        rec->failing = true;
    }
}

static void flush_cb(uv_timer_t *timer) { flush(timer->data); }

static void roles_text(unsigned roles, char *out, size_t size)
{
    out[0] = '\0';
    for (int bit = 0; bit < DEVICE_ROLE_COUNT; bit++) {
        if (!(roles & (1u << bit)))
            continue;
        size_t len = strlen(out);
        snprintf(out + len, size - len, "%s%s", len ? "," : "", balkon_device_role_name(1u << bit));
    }
}

static void on_device_state(enum bus_event event, const void *payload, void *user)
{
    struct recorder *rec = user;
    const struct ev_device_state *state = payload;
    if (state->ts_ms == INT64_MIN)
        return; /* configured but never seen: nothing to record */
    struct seen_device *seen = NULL;
    for (size_t i = 0; i < rec->device_count && !seen; i++)
        if (strcmp(rec->devices[i].id, state->device_id) == 0)
            seen = &rec->devices[i];
    if (!seen) {
        if (rec->device_count == RECORDER_MAX_DEVICES)
            return;
        seen = &rec->devices[rec->device_count++];
        snprintf(seen->id, sizeof seen->id, "%s", state->device_id);
        seen->upserted_ms = INT64_MIN;
    }
    bool due = seen->upserted_ms == INT64_MIN ||
               state->ts_ms - seen->upserted_ms >= DEVICE_UPSERT_PERIOD_MS;
    if (!due && seen->online == state->online)
        return;
    struct balkon_device_record record = {.first_seen_ms = state->ts_ms,
                                          .last_seen_ms = state->ts_ms};
    snprintf(record.id, sizeof record.id, "%s", state->device_id);
    snprintf(record.type, sizeof record.type, "%s", state->type);
    snprintf(record.model, sizeof record.model, "%s", state->model);
    roles_text(state->roles, record.roles, sizeof record.roles);
    if (balkon_store_device_upsert(rec->ctx->store, &record) == 0) {
        seen->upserted_ms = state->ts_ms;
        seen->online = state->online;
    }
}

static void start_flush_timer(struct recorder *rec)
{
    uint64_t flush_ms = (uint64_t)(rec->ctx->config->storage.flush_interval_s * 1000.0);
    uv_timer_start(&rec->flush_timer, flush_cb, flush_ms, flush_ms);
}

static void on_config_changed(enum bus_event event, const void *payload, void *user)
{
    start_flush_timer(user);
}

static void on_shutdown(enum bus_event event, const void *payload, void *user) { flush(user); }


static void prune_cb(uv_timer_t *timer)
{
    struct recorder *rec = timer->data;
    int64_t deleted = 0;
    int rc = balkon_store_prune(rec->ctx->store, balkon_clock_now_ms(&rec->ctx->clock),
                                PRUNE_CHUNK_ROWS, &deleted);
    if (rc < 0) {
        log_warn("recorder", "retention: %s", balkon_store_errmsg(rec->ctx->store));
        return;
    }
    const struct balkon_config *config = rec->ctx->config;
    int64_t now_ms = balkon_clock_now_ms(&rec->ctx->clock), history_deleted = 0;
    if (deleted < PRUNE_CHUNK_ROWS &&
        balkon_store_prune_history(rec->ctx->store,
                                   now_ms - config->storage.forecast_retention_days * BALKON_MS_PER_DAY,
                                   now_ms - config->storage.command_log_retention_days * BALKON_MS_PER_DAY,
                                   PRUNE_CHUNK_ROWS - deleted, &history_deleted) < 0)
        log_warn("recorder", "retention: %s", balkon_store_errmsg(rec->ctx->store));
    deleted += history_deleted;
    if (deleted > 0)
        log_debug("recorder", "retention: deleted %lld old rows", (long long)deleted);
    /* A full chunk means more is waiting: come back soon rather than in a minute. */
    uv_timer_start(timer, prune_cb, deleted >= PRUNE_CHUNK_ROWS ? 100 : PRUNE_PERIOD_MS, 0);
}

static const struct {
    enum bus_event event;
    balkon_bus_cb cb;
} subscriptions[] = {
    {BUS_EV_SAMPLE, on_sample},
    {BUS_EV_DEVICE_STATE, on_device_state},
    {BUS_EV_SHUTDOWN, on_shutdown},
    {BUS_EV_CONFIG_CHANGED, on_config_changed},
};
#define SUBSCRIPTION_COUNT (sizeof subscriptions / sizeof subscriptions[0])

static void unsubscribe_all(struct recorder *rec)
{
    for (size_t i = 0; i < SUBSCRIPTION_COUNT; i++)
        balkon_bus_unsubscribe(rec->ctx->bus, subscriptions[i].event, subscriptions[i].cb, rec);
}

static int recorder_start(struct balkon_ctx *ctx, void **state)
{
    struct recorder *rec = calloc(1, sizeof *rec);
    if (!rec)
        return BALKON_E_NOMEM;
    rec->ctx = ctx;
    for (size_t i = 0; i < SUBSCRIPTION_COUNT; i++) {
        int rc = balkon_bus_subscribe(ctx->bus, subscriptions[i].event, subscriptions[i].cb, rec);
        if (rc < 0) {
            unsubscribe_all(rec);
            free(rec);
            return rc;
        }
    }
    uv_timer_init(ctx->loop, &rec->flush_timer);
    rec->flush_timer.data = rec;
    start_flush_timer(rec);
    uv_timer_init(ctx->loop, &rec->prune_timer);
    rec->prune_timer.data = rec;
    uv_timer_start(&rec->prune_timer, prune_cb, 1000, 0);
    *state = rec;
    return 0;
}

static void recorder_stop(void *state)
{
    struct recorder *rec = state;
    unsubscribe_all(rec);
    flush(rec);
    uv_close((uv_handle_t *)&rec->flush_timer, NULL);
    uv_close((uv_handle_t *)&rec->prune_timer, NULL);
}

const struct balkon_module balkon_module_recorder = {
    .name = "recorder",
    .start = recorder_start,
    .stop = recorder_stop,
    .free = free,
};
