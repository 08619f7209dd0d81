/* GET /api/v1/series?name=&from=&to=&step=
 *
 * Without name: the list of stored series. With name: the series downsampled into buckets
 * of `step` over [from, to), as columns ready for a chart:
 *   {"name","unit","from","to","step_s","ts":[ms…],"avg":[…],"min":[…],"max":[…],"count":[…]}
 * from/to: ISO-8601 or Unix seconds (default: the last 24 h); step: seconds, or with a
 * unit "30s", "5m", "1h", "1d" (default: the smallest tidy step giving <= 300 buckets).
 *
 * The query and the rendering run on the thread pool (read_job.c). A dashboard asks the
 * same ranges again and again (a day in 15 minutes, a year in days), so answers are kept
 * in the series cache until the next flush or prune changes the stored samples; between
 * two flushes the same question costs a lookup and a copy. */
#include "http_internal.h"

#include "answer_cache.h"
#include "json_writer.h"

#include "balkon/error.h"
#include "balkon/store.h"
#include "balkon/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BUCKETS 100000
#define DEFAULT_TARGET_BUCKETS 300

static int parse_step(const char *text, int64_t *step_ms)
{
    char *end;
    double value = strtod(text, &end);
    double unit_ms = 1000;
    if (end == text || !isfinite(value))
        return BALKON_E_PARSE;
    if (*end == 's')
        end++;
    else if (*end == 'm')
        unit_ms = 60e3, end++;
    else if (*end == 'h')
        unit_ms = 3600e3, end++;
    else if (*end == 'd')
        unit_ms = 86400e3, end++;
    /* Bounded before the conversion: no step is longer than the times the API accepts. */
    if (*end != '\0' || value * unit_ms > (double)HTTP_TIME_MAX_MS || value * unit_ms < 0)
        return BALKON_E_PARSE;
    *step_ms = (int64_t)llround(value * unit_ms);
    return 0;
}

static int64_t default_step(int64_t range_ms)
{
    static const int64_t tidy_ms[] = {5000,   10000,   30000,    60000,    300000,
                                      900000, 3600000, 10800000, 86400000, 604800000};
    for (size_t i = 0; i < sizeof tidy_ms / sizeof tidy_ms[0]; i++)
        if (range_ms / tidy_ms[i] <= DEFAULT_TARGET_BUCKETS)
            return tidy_ms[i];
    return tidy_ms[sizeof tidy_ms / sizeof tidy_ms[0] - 1];
}

static void read_list(struct balkon_store *store, void *arg, struct http_response *reply)
{
    struct balkon_series_info *infos = NULL;
    size_t count = 0;
    if (balkon_store_list_series(store, &infos, &count) < 0) {
        http_reply_error(reply, 500, "cannot list series: %s", balkon_store_errmsg(store));
        return;
    }
    struct json_writer w;
    json_writer_init(&w, 128 + count * 128);
    jw_object_begin(&w);
    jw_key(&w, "series");
    jw_array_begin(&w);
    for (size_t i = 0; i < count; i++) {
        jw_object_begin(&w);
        jw_key(&w, "name");
        jw_string(&w, infos[i].name);
        jw_key(&w, "unit");
        jw_string(&w, infos[i].unit);
        if (infos[i].first_ts_ms != INT64_MIN) {
            jw_key(&w, "first");
            jw_time(&w, infos[i].first_ts_ms);
            jw_key(&w, "last");
            jw_time(&w, infos[i].last_ts_ms);
        }
        jw_object_end(&w);
    }
    jw_array_end(&w);
    jw_object_end(&w);
    free(infos);
    http_reply_written(reply, &w);
}

/* One series query, from the handler to the pool and back. */
struct series_read {
    char name[64];
    int64_t from_ms;
    int64_t to_ms;
    int64_t step_ms;
    char key[128];        /* the cache's key (name, from, to, step); "" when not cached */
    uint64_t cache_epoch; /* the cache's epoch and the data's version when the read began */
    uint64_t data_version;
};

static void write_column(struct json_writer *w, const char *key,
                         const struct balkon_bucket *buckets, size_t count, size_t offset)
{
    jw_key(w, key);
    jw_array_begin(w);
    for (size_t i = 0; i < count; i++)
        jw_number(w, *(const double *)((const char *)&buckets[i] + offset), 2);
    jw_array_end(w);
}

static void read_series(struct balkon_store *store, void *arg, struct http_response *reply)
{
    const struct series_read *q = arg;
    char unit[16];
    int rc = balkon_store_series_unit(store, q->name, unit, sizeof unit);
    struct balkon_bucket *buckets = NULL;
    size_t count = 0;
    if (rc == 0)
        rc = balkon_store_query(store, q->name, q->from_ms, q->to_ms, q->step_ms, &buckets, &count);
    if (rc == BALKON_E_NOTFOUND) {
        http_reply_error(reply, 404, "name: no series \"%.60s\" (GET /api/v1/series lists them)",
                         q->name);
        return;
    }
    if (rc < 0) {
        http_reply_error(reply, 500, "cannot read series %.60s: %s", q->name,
                         balkon_store_errmsg(store));
        return;
    }
    /* About 60 bytes a bucket: a 13-digit time, three values and a count. */
    struct json_writer w;
    json_writer_init(&w, 256 + count * 64);
    jw_object_begin(&w);
    jw_key(&w, "name");
    jw_string(&w, q->name);
    jw_key(&w, "unit");
    jw_string(&w, unit);
    jw_key(&w, "from");
    jw_time(&w, q->from_ms);
    jw_key(&w, "to");
    jw_time(&w, q->to_ms);
    jw_key(&w, "step_s");
    jw_number(&w, (double)q->step_ms / 1000.0, 3);
    jw_key(&w, "ts");
    jw_array_begin(&w);
    for (size_t i = 0; i < count; i++)
        jw_int(&w, buckets[i].ts_ms);
    jw_array_end(&w);
    write_column(&w, "avg", buckets, count, offsetof(struct balkon_bucket, avg));
    write_column(&w, "min", buckets, count, offsetof(struct balkon_bucket, min));
    write_column(&w, "max", buckets, count, offsetof(struct balkon_bucket, max));
    jw_key(&w, "count");
    jw_array_begin(&w);
    for (size_t i = 0; i < count; i++)
        jw_int(&w, buckets[i].count);
    jw_array_end(&w);
    jw_object_end(&w);
    free(buckets);
    http_reply_written(reply, &w);
}

/* Back on the loop: keep a good answer for the next request of the same range. */
static void series_read_done(struct http_state *state, void *arg, struct http_response *response)
{
    const struct series_read *q = arg;
    struct answer_cache *cache = state->caches.series;
    if (!cache || !q->key[0])
        return;
    if (response->status == 200)
        answer_cache_put(cache, q->key, q->cache_epoch, q->data_version, response->body,
                         response->body_size);
    else
        answer_cache_abandon(cache, q->key);
}

/* Checks the query; false after a 400. */
static bool parse_query(struct http_state *state, const struct http_request *request,
                        struct http_response *response, struct series_read *q)
{
    int64_t to_ms = balkon_clock_now_ms(&state->ctx->clock);
    int64_t from_ms = INT64_MIN;
    if (!http_query_time(request, response, "to", &to_ms) ||
        !http_query_time(request, response, "from", &from_ms))
        return false;
    if (from_ms == INT64_MIN)
        from_ms = to_ms - BALKON_MS_PER_DAY;
    if (from_ms >= to_ms) {
        http_reply_error(response, 400, "from: must be before to");
        return false;
    }
    int64_t step_ms = default_step(to_ms - from_ms);
    const char *step_text = http_query(request, "step");
    if (step_text && parse_step(step_text, &step_ms) < 0) {
        http_reply_error(response, 400,
                         "step: expected seconds or a number with s, m, h or d (at most "
                         "9999 years), got \"%.40s\"",
                         step_text);
        return false;
    }
    if (step_ms < 1000) {
        http_reply_error(response, 400, "step: must be at least 1 s");
        return false;
    }
    if ((to_ms - from_ms) / step_ms > MAX_BUCKETS) {
        http_reply_error(response, 400, "step: too small for the range (%lld buckets, at most %d)",
                         (long long)((to_ms - from_ms) / step_ms), MAX_BUCKETS);
        return false;
    }
    q->from_ms = from_ms;
    q->to_ms = to_ms;
    q->step_ms = step_ms;
    return true;
}

void api_series_get(struct http_state *state, const struct http_request *request,
                    struct http_response *response)
{
    const char *name = http_query(request, "name");
    if (!name) {
        http_read(state, request, response, read_list, NULL, NULL);
        return;
    }
    if (strlen(name) >= sizeof((struct series_read *)0)->name) {
        http_reply_error(response, 404, "name: no series \"%.60s\" (GET /api/v1/series lists them)",
                         name);
        return;
    }
    struct series_read *q = calloc(1, sizeof *q);
    if (!q) {
        http_reply_error(response, 503, "out of memory");
        return;
    }
    if (!parse_query(state, request, response, q)) {
        free(q);
        return;
    }
    snprintf(q->name, sizeof q->name, "%s", name);
    /* Only ranges with an explicit end repeat: the default ends now, a new key each time. */
    struct answer_cache *cache = http_query(request, "to") ? state->caches.series : NULL;
    if (cache) {
        snprintf(q->key, sizeof q->key, "%s|%lld|%lld|%lld", name, (long long)q->from_ms,
                 (long long)q->to_ms, (long long)q->step_ms);
        q->cache_epoch = answer_cache_epoch(cache);
        q->data_version = balkon_store_data_version(state->ctx->store);
        const char *body;
        size_t len;
        void *ready;
        if (answer_cache_lookup(cache, q->key, q->data_version, &body, &len, &ready) !=
            ANSWER_READ) {
            http_reply_kept(response, body, len, ready);
            free(q);
            return;
        }
    }
    http_read(state, request, response, read_series, series_read_done, q);
}
