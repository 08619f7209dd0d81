/* Reads on libuv's thread pool: the API's store reads and the rendering of their answers.
 *
 * A handler checks the request on the loop, copies what the read needs into its own
 * struct, and calls http_read; the read runs on a pool thread with a read-only connection
 * of its own (balkon_store_readers_*), inside one read transaction, and fills the answer.
 * The loop only sends it. So a year of data or a slow SD card delays that one answer,
 * never the control loop. At most one read per reader runs at a time; the others wait on
 * the loop (the reads gate), so a flood of heavy reads never holds every pool thread and
 * the recorder's flushes and the planner still get theirs.
 *
 * Pool threads run at a lower priority (balkon/pool.h). */
#include "http_internal.h"

#include "balkon/pool.h"
#include "balkon/store.h"

#include <stdlib.h>

struct read_job {
    struct balkon_store_readers *readers;
    http_read_fn read;
    http_read_done_fn done;
    void *arg; /* owned; freed with free() after done */
    struct http_response reply;
};

static void run_read(struct balkon_store *store, struct read_job *job)
{
    if (balkon_store_read_begin(store) < 0) {
        http_reply_error(&job->reply, 500, "cannot read the database: %s",
                         balkon_store_errmsg(store));
        return;
    }
    job->read(store, job->arg, &job->reply);
    balkon_store_read_end(store);
}

static void work_cb(void *arg)
{
    struct read_job *job = arg;
    balkon_pool_thread_lower_priority();
    struct balkon_store *reader = NULL;
    char msg[256] = "";
    if (balkon_store_readers_acquire(job->readers, &reader, msg, sizeof msg) < 0) {
        http_reply_error(&job->reply, 503, "cannot open the database for reading: %s", msg);
        return;
    }
    run_read(reader, job);
    balkon_store_readers_release(job->readers, reader);
}

static void done_cb(struct http_state *state, void *arg, struct http_response *response)
{
    struct read_job *job = arg;
    *response = job->reply;
    if (job->done)
        job->done(state, job->arg, response);
    free(job->arg);
    free(job);
}

void http_read(struct http_state *state, const struct http_request *request,
               struct http_response *response, http_read_fn read, http_read_done_fn done, void *arg)
{
    struct read_job *job = calloc(1, sizeof *job);
    if (!job) {
        free(arg);
        http_reply_error(response, 503, "out of memory");
        return;
    }
    *job =
        (struct read_job){.readers = state->ctx->readers, .read = read, .done = done, .arg = arg};
    if (!job->readers) { /* an in-memory database: only the loop's connection sees it */
        run_read(state->ctx->store, job);
        done_cb(state, job, response);
        return;
    }
    http_defer_gated(state, request, response, work_cb, done_cb, job, &state->reads);
}
