/* The HTTP module's kept answers (struct http_caches): made at start, emptied when a clock
 * jump or a new config changes what a kept answer would say, freed at the end. */
#include "http_internal.h"

#include "answer_cache.h"

#include "balkon/bus.h"
#include "balkon/error.h"
#include "balkon/store.h"

#include <microhttpd.h>
#include <stdlib.h>

/* A dashboard's working set: five curves of a day (3 KB each) or a year in days (15 KB
 * each); a month in hours (30 KB each) is read anew after each flush. 256 KiB cost 0.3 MB
 * of resident memory more (bench/memory.sh) for repeats the pool serves anyway. */
#define SERIES_CACHE_BYTES (128 * 1024)
#define SERIES_CACHE_ENTRY_BYTES (128 * 1024)
#define SIZING_CACHE_BYTES (16 * 1024)

static void forget(enum bus_event event, const void *payload, void *user)
{
    struct http_state *state = user;
    answer_cache_clear(state->caches.series);
    answer_cache_clear(state->caches.sizing);
    http_kept_forget(&state->caches.status);
}

static void *make_response(char *body, size_t len)
{
    return http_kept_response(body, len);
}

static void destroy_response(void *response)
{
    MHD_destroy_response(response); /* connections still sending it keep it */
}

int http_caches_start(struct http_state *state)
{
    state->reads.limit = BALKON_STORE_READERS; /* read_job.c: one read per reader at a time */
    state->caches.series = answer_cache_new(SERIES_CACHE_BYTES, SERIES_CACHE_ENTRY_BYTES,
                                            make_response, destroy_response);
    /* A few sizes' answers of about 1 KB each. */
    state->caches.sizing =
        answer_cache_new(SIZING_CACHE_BYTES, SIZING_CACHE_BYTES, make_response, destroy_response);
    if (!state->caches.series || !state->caches.sizing)
        return BALKON_E_NOMEM;
    balkon_bus_subscribe(state->ctx->bus, BUS_EV_CLOCK_JUMPED, forget, state);
    balkon_bus_subscribe(state->ctx->bus, BUS_EV_CONFIG_CHANGED, forget, state);
    return 0;
}

void http_caches_stop(struct http_state *state)
{
    balkon_bus_unsubscribe(state->ctx->bus, BUS_EV_CLOCK_JUMPED, forget, state);
    balkon_bus_unsubscribe(state->ctx->bus, BUS_EV_CONFIG_CHANGED, forget, state);
}

void http_caches_free(struct http_state *state)
{
    answer_cache_free(state->caches.series);
    answer_cache_free(state->caches.sizing);
    http_plan_free(state->caches.plan);
    http_kept_forget(&state->caches.status);
    state->caches = (struct http_caches){0};
}
