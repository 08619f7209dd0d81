/* <prefix>/state/energy: today's energy and money, the same figures as GET /api/v1/savings.
 *
 * They come from the store and a replay of the day through the optimizer's simulation
 * (the savings.compute service), which takes milliseconds to tens of milliseconds on a Pi:
 * too long for the loop, which runs the battery's control. So each publish tick starts a
 * job on libuv's thread pool with a read-only connection of its own, and the loop only
 * publishes the result. One job at a time: a tick that finds one running skips. */
#include "ha_internal.h"

#include "balkon/config.h"
#include "balkon/log.h"
#include "balkon/pool.h"
#include "balkon/services.h"
#include "balkon/store.h"
#include "balkon/timeutil.h"

#include <stdio.h>
#include <stdlib.h>

struct energy_job {
    uv_work_t work;
    struct ha *ha;
    struct balkon_store_readers *readers; /* NULL: an in-memory store, read on the loop */
    struct balkon_store *store;           /* the loop's, for an in-memory store only */
    int (*compute)(struct balkon_store *, const struct balkon_config *, int64_t, int64_t,
                   enum balkon_savings_group, struct balkon_savings *, char *, size_t);
    struct balkon_config config; /* a copy: a reload may replace the running one meanwhile */
    int64_t from_ms, to_ms;
    int rc;
    char msg[128];
    struct balkon_savings savings;
};

static void compute_on(struct balkon_store *store, struct energy_job *job)
{
    job->rc = balkon_store_read_begin(store);
    if (job->rc < 0) {
        snprintf(job->msg, sizeof job->msg, "%s", balkon_store_errmsg(store));
        return;
    }
    job->rc = job->compute(store, &job->config, job->from_ms, job->to_ms, BALKON_SAVINGS_BY_DAY,
                           &job->savings, job->msg, sizeof job->msg);
    balkon_store_read_end(store);
}

static void work_cb(uv_work_t *work)
{
    struct energy_job *job = work->data;
    balkon_pool_thread_lower_priority();
    struct balkon_store *reader = NULL;
    job->rc = balkon_store_readers_acquire(job->readers, &reader, job->msg, sizeof job->msg);
    if (job->rc < 0)
        return;
    compute_on(reader, job);
    balkon_store_readers_release(job->readers, reader);
}

static void publish(struct ha *ha, const struct energy_job *job)
{
    const struct balkon_savings_figures *f = &job->savings.total;
    cJSON *json = cJSON_CreateObject();
    ha_add_number(json, "pv_kwh", f->pv_wh / 1000.0, 0.001);
    ha_add_number(json, "home_kwh", f->load_wh / 1000.0, 0.001);
    ha_add_number(json, "import_kwh", f->import_wh / 1000.0, 0.001);
    ha_add_number(json, "export_kwh", f->export_wh / 1000.0, 0.001);
    ha_add_number(json, "cost", f->cost_actual, 0.01);
    ha_add_number(json, "savings", f->cost_no_pv - f->cost_actual, 0.01);
    cJSON_AddStringToObject(json, "currency",
                            job->savings.currency[0] ? job->savings.currency : ha->currency);
    ha_add_time(json, "since", job->from_ms);
    char topic[HA_TOPIC_MAX];
    snprintf(topic, sizeof topic, "%s/state/energy", ha->prefix);
    ha_publish_json(ha, topic, json);
}

static void after_work_cb(uv_work_t *work, int status)
{
    struct energy_job *job = work->data;
    struct ha *ha = job->ha;
    ha->energy_busy = false;
    if (status == 0 && job->rc == 0 && !ha->stopping)
        publish(ha, job);
    else if (status == 0 && job->rc < 0)
        log_debug("ha", "today's energy not published: %s", job->msg);
    if (job->rc == 0)
        balkon_savings_free(&job->savings);
    free(job);
}

void ha_energy_refresh(struct ha *ha, int64_t now_ms)
{
    const struct balkon_services *services = ha->ctx->services;
    if (ha->energy_busy || !services || !services->savings.compute)
        return;
    struct energy_job *job = calloc(1, sizeof *job);
    if (!job)
        return;
    int64_t midnight_ms = balkon_local_midnight_ms(now_ms, 0);
    job->ha = ha;
    job->readers = ha->ctx->readers;
    job->store = ha->ctx->store;
    job->compute = services->savings.compute;
    job->config = *ha->ctx->config;
    job->from_ms = midnight_ms;
    job->to_ms = now_ms > midnight_ms ? now_ms : midnight_ms + 1;
    job->work.data = job;
    if (!job->readers) {
        compute_on(job->store, job);
        after_work_cb(&job->work, 0);
        return;
    }
    ha->energy_busy = true;
    if (uv_queue_work(ha->ctx->loop, &job->work, work_cb, after_work_cb) < 0) {
        ha->energy_busy = false;
        free(job);
    }
}
