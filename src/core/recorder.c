/* The recorder module: writes what the bus measures into the store.
 *
 * Samples are buffered by the store and written every storage.flush_interval_s of wall
 * time, on shutdown, and at once when a batch's worth is waiting. The writing runs on
 * libuv's thread pool through a writer, a database connection of its own (see
 * include/balkon/store.h): a flush takes a millisecond on a healthy disk, but hundreds of
 * them for the backlog after an outage, or until the commit fails on a full one, and the
 * loop carries the control, which must never wait for the disk. One batch of at most
 * FLUSH_BATCH_SAMPLES is out at a time; a longer backlog goes batch after batch, so a write
 * through the loop's own connection (the command log, a notification) waits for the lock
 * one batch's time at most.
 *
 * A failed flush keeps its samples buffered (up to the store's max_pending, the oldest
 * dropped and counted beyond that) and is retried after a backoff of 1 s that doubles up
 * to 60 s, so a failing disk costs one attempt per backoff. The failure is logged and
 * published (BUS_EV_STORAGE_STATUS: the storage_failing alert) when it starts, and the
 * recovery when the backlog is written, not at every attempt.
 *
 * Retention runs in small chunks on a timer so the loop is never blocked for long. Devices
 * are registered (first and last seen) at most once a minute each. */
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
/* About 5 ms of writing in Release on the development machine (bench/bench_store). */
#define FLUSH_BATCH_SAMPLES 4096
#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS (60 * 1000)
/* The writer is off the loop, so it may wait for another process's lock (a backup, the
 * sqlite3 shell) as long as the loop's connection does. */
#define WRITER_BUSY_TIMEOUT_MS 2000

struct seen_device {
    char id[BALKON_ID_MAX];
    int64_t upserted_ms;
    bool online;
};

struct recorder {
    struct balkon_ctx *ctx;
    uv_timer_t flush_timer;
    uv_timer_t prune_timer;
    uv_work_t flush_work;
    struct balkon_store_writer *writer; /* NULL: flushes run on the loop (in-memory database) */
    struct balkon_store_batch *batch;   /* owned by the flush job while one is out */
    int batch_rc;                       /* set by the job on the worker, read after it */
    bool failing;
    uint64_t backoff_ms;     /* 0 while flushes succeed */
    uint64_t dropped_before; /* balkon_store_dropped when the failure began */
    bool stopping;
    bool append_error_logged;
    struct seen_device devices[RECORDER_MAX_DEVICES];
    size_t device_count;
};

static uint64_t flush_interval_ms(const struct recorder *rec)
{
    return (uint64_t)(rec->ctx->config->storage.flush_interval_s * 1000.0);
}

static void flush_cb(uv_timer_t *timer);

static void start_flush_timer(struct recorder *rec)
{
    uint64_t flush_ms = flush_interval_ms(rec);
    uv_timer_start(&rec->flush_timer, flush_cb, flush_ms, flush_ms);
}

static void flush_start(struct recorder *rec);

static void flush_failed(struct recorder *rec)
{
    struct balkon_store *store = rec->ctx->store;
    rec->backoff_ms = rec->backoff_ms ? rec->backoff_ms * 2 : BACKOFF_FIRST_MS;
    if (rec->backoff_ms > BACKOFF_MAX_MS)
        rec->backoff_ms = BACKOFF_MAX_MS;
    if (!rec->stopping) /* the next attempt after the backoff, then the usual cadence */
        uv_timer_start(&rec->flush_timer, flush_cb, rec->backoff_ms, flush_interval_ms(rec));
    if (rec->failing)
        return;
    log_error("recorder",
              "cannot write measurements: %s; keeping up to the buffer's limit in memory and "
              "retrying (after 1 s, doubling up to 60 s)",
              balkon_store_errmsg(store));
    rec->failing = true;
    rec->dropped_before = balkon_store_dropped(store);
    struct ev_storage_status status = {.ok = false};
    snprintf(status.error, sizeof status.error, "%s", balkon_store_errmsg(store));
    balkon_bus_publish(rec->ctx->bus, BUS_EV_STORAGE_STATUS, &status);
}

static void flush_succeeded(struct recorder *rec)
{
    struct balkon_store *store = rec->ctx->store;
    if (rec->backoff_ms) {
        rec->backoff_ms = 0;
        if (!rec->stopping)
            start_flush_timer(rec);
    }
    /* A backlog goes batch after batch, each its own job; writing works again once it is
     * written. */
    bool backlog = rec->writer && balkon_store_pending(store) >= FLUSH_BATCH_SAMPLES;
    if (backlog)
        flush_start(rec);
    if (!rec->failing || backlog)
        return;
    struct ev_storage_status status = {
        .ok = true, .dropped = balkon_store_dropped(store) - rec->dropped_before};
    log_notice("recorder", "writing measurements again (%llu samples were dropped meanwhile)",
               (unsigned long long)status.dropped);
    rec->failing = false;
    balkon_bus_publish(rec->ctx->bus, BUS_EV_STORAGE_STATUS, &status);
}

static void flush_done(struct recorder *rec, int rc)
{
    if (rc < 0)
        flush_failed(rec);
    else
        flush_succeeded(rec);
}

/* On a thread of the pool: the batch and the writer are this job's alone until it ends. */
static void flush_work_cb(uv_work_t *work)
{
    struct recorder *rec = work->data;
    rec->batch_rc = balkon_store_batch_write(rec->writer, rec->batch);
}

static void flush_after_cb(uv_work_t *work, int status)
{
    struct recorder *rec = work->data;
    struct balkon_store_batch *batch = rec->batch;
    rec->batch = NULL;
    /* Jobs are never cancelled, so status is 0; a cancelled one wrote nothing. */
    int rc = balkon_store_batch_finish(rec->ctx->store, batch,
                                       status == 0 ? rec->batch_rc : BALKON_E_IO);
    flush_done(rec, rc);
}

/* Starts writing the oldest buffered samples, unless a batch is out already. */
static void flush_start(struct recorder *rec)
{
    struct balkon_store *store = rec->ctx->store;
    if (rec->batch)
        return;
    if (!rec->writer) {
        if (balkon_store_pending(store) > 0)
            flush_done(rec, balkon_store_flush(store));
        return;
    }
    rec->batch = balkon_store_batch_take(store, FLUSH_BATCH_SAMPLES);
    if (!rec->batch)
        return;
    rec->flush_work.data = rec;
    if (uv_queue_work(rec->ctx->loop, &rec->flush_work, flush_work_cb, flush_after_cb) < 0) {
        /* Only invalid arguments make this fail; write here rather than lose the batch. */
        struct balkon_store_batch *batch = rec->batch;
        rec->batch = NULL;
        flush_done(rec, balkon_store_batch_finish(store, batch,
                                                  balkon_store_batch_write(rec->writer, batch)));
    }
}

/* The periodic flush; after a failure the timer's first expiry is the backoff's end. */
static void flush_cb(uv_timer_t *timer)
{
    flush_start(timer->data);
}

static void on_sample(enum bus_event event, const void *payload, void *user)
{
    struct recorder *rec = user;
    struct balkon_store *store = rec->ctx->store;
    const struct ev_sample *sample = payload;
    int64_t series_id;
    int rc = balkon_store_series_id(store, sample->series, sample->unit, &series_id);
    if (rc == 0)
        rc = balkon_store_append(store, series_id, sample->ts_ms, sample->value);
    if (rc < 0 && !rec->append_error_logged) {
        log_error("recorder", "cannot record %s: %s", sample->series, balkon_store_errmsg(store));
        rec->append_error_logged = true;
    }
    /* A batch's worth waiting (a fast simulation) need not wait for the timer; while
     * failing, the backoff decides. */
    if (rec->writer && !rec->backoff_ms && balkon_store_pending(store) >= FLUSH_BATCH_SAMPLES)
        flush_start(rec);
}

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

static void on_config_changed(enum bus_event event, const void *payload, void *user)
{
    struct recorder *rec = user;
    if (!rec->backoff_ms) /* a backoff under way keeps its time; recovery restarts the timer */
        start_flush_timer(rec);
}

/* The last samples go out now; whatever is still buffered when the loop has ended is
 * written by balkon_store_close. */
static void on_shutdown(enum bus_event event, const void *payload, void *user)
{
    flush_start(user);
}

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
        balkon_store_prune_history(
            rec->ctx->store, now_ms - config->storage.forecast_retention_days * BALKON_MS_PER_DAY,
            now_ms - config->storage.command_log_retention_days * BALKON_MS_PER_DAY,
            PRUNE_CHUNK_ROWS - deleted, &history_deleted) < 0)
        log_warn("recorder", "retention: %s", balkon_store_errmsg(rec->ctx->store));
    deleted += history_deleted;
    if (deleted > 0)
        log_debug("recorder", "retention: deleted %lld old rows", (long long)deleted);
    /* A full chunk means more is waiting: come back soon rather than in a minute. */
    uv_timer_start(timer, prune_cb, deleted >= PRUNE_CHUNK_ROWS ? 100 : PRUNE_PERIOD_MS, 0);
}

static const struct bus_subscription subscriptions[] = {
    {BUS_EV_SAMPLE, on_sample},
    {BUS_EV_DEVICE_STATE, on_device_state},
    {BUS_EV_SHUTDOWN, on_shutdown},
    {BUS_EV_CONFIG_CHANGED, on_config_changed},
};
#define SUBSCRIPTION_COUNT (sizeof subscriptions / sizeof subscriptions[0])

static void unsubscribe_all(struct recorder *rec)
{
    balkon_bus_unsubscribe_all(rec->ctx->bus, subscriptions, SUBSCRIPTION_COUNT, rec);
}

static int recorder_start(struct balkon_ctx *ctx, void **state)
{
    struct recorder *rec = calloc(1, sizeof *rec);
    if (!rec)
        return BALKON_E_NOMEM;
    rec->ctx = ctx;
    /* Test hook (docs/faults.md): a small buffer, so a test can outlast it in seconds. */
    const char *max_pending = getenv("BALKON_TEST_MAX_PENDING");
    if (max_pending && max_pending[0]) {
        balkon_store_set_max_pending(ctx->store, (size_t)strtoull(max_pending, NULL, 10));
        log_warn("recorder", "test mode: at most %s samples buffered (BALKON_TEST_MAX_PENDING)",
                 max_pending);
    }
    if (balkon_store_writer_open(ctx->store, WRITER_BUSY_TIMEOUT_MS, &rec->writer) < 0)
        log_notice("recorder", "measurements are written on the event loop: %s",
                   balkon_store_errmsg(ctx->store));
    int rc = balkon_bus_subscribe_all(ctx->bus, subscriptions, SUBSCRIPTION_COUNT, rec);
    if (rc < 0) {
        balkon_store_writer_close(rec->writer);
        free(rec);
        return rc;
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

/* A batch still out keeps the loop running until it is written: the daemon runs the loop
 * to the end before it frees the modules, so the writer is idle when it is closed. */
static void recorder_stop(void *state)
{
    struct recorder *rec = state;
    unsubscribe_all(rec);
    rec->stopping = true;
    flush_start(rec);
    uv_close((uv_handle_t *)&rec->flush_timer, NULL);
    uv_close((uv_handle_t *)&rec->prune_timer, NULL);
}

static void recorder_free(void *state)
{
    struct recorder *rec = state;
    balkon_store_writer_close(rec->writer);
    free(rec);
}

const struct balkon_module balkon_module_recorder = {
    .name = "recorder",
    .start = recorder_start,
    .stop = recorder_stop,
    .free = recorder_free,
};
