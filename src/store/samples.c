/* Writing time series, the loop thread's side: the series registry with its in-memory
 * name -> id cache, the append buffer, and the batches that carry the buffer to flush.c,
 * which writes them (on this thread for balkon_store_flush, on a worker for the daemon).
 *
 * The buffer is a ring of at most max_pending samples. A batch is a copy of its oldest
 * samples; they stay in the ring until the batch is written, so a failed write leaves the
 * buffer as it was and nothing has to be merged back. */
#include "store_internal.h"

#include "balkon/error.h"
#include "balkon/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERIES_NAME_MAX 64 /* sizeof balkon_series_info.name */
#define SERIES_UNIT_MAX 16
/* Year 9999; keeps bucket arithmetic far from int64 overflow. */
#define SAMPLE_TS_MAX_MS INT64_C(253402300799999)

/* --- Series cache ------------------------------------------------------------------ */

static uint64_t hash_name(const char *name)
{
    uint64_t h = UINT64_C(14695981039346656037); /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * UINT64_C(1099511628211);
    return h;
}

static struct store_series_entry *cache_find(const struct balkon_store *store, const char *name)
{
    if (!store->series_cap)
        return NULL;
    size_t mask = store->series_cap - 1;
    for (size_t i = hash_name(name) & mask; store->series[i].name; i = (i + 1) & mask)
        if (strcmp(store->series[i].name, name) == 0)
            return &store->series[i];
    return NULL;
}

static void cache_place(struct store_series_entry *table, size_t cap,
                        struct store_series_entry entry)
{
    size_t mask = cap - 1;
    size_t i = hash_name(entry.name) & mask;
    while (table[i].name)
        i = (i + 1) & mask;
    table[i] = entry;
}

static int cache_put(struct balkon_store *store, const char *name, const char *unit, int64_t id)
{
    /* Keep the load factor under 0.7 so probes stay short. */
    if ((store->series_len + 1) * 10 > store->series_cap * 7) {
        size_t cap = store->series_cap ? store->series_cap * 2 : 64;
        struct store_series_entry *table = calloc(cap, sizeof *table);
        if (!table)
            return BALKON_E_NOMEM;
        for (size_t i = 0; i < store->series_cap; i++)
            if (store->series[i].name)
                cache_place(table, cap, store->series[i]);
        free(store->series);
        store->series = table;
        store->series_cap = cap;
    }
    struct store_series_entry entry = {.name = strdup(name), .id = id};
    if (!entry.name)
        return BALKON_E_NOMEM;
    snprintf(entry.unit, sizeof entry.unit, "%s", unit);
    cache_place(store->series, store->series_cap, entry);
    store->series_len++;
    return 0;
}

int store_series_load(struct balkon_store *store)
{
    sqlite3_stmt *st = NULL;
    int rc =
        sqlite3_prepare_v2(store->db, "SELECT coalesce(max(id), 0) FROM series", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    int err = 0;
    if (rc == SQLITE_ROW)
        store->max_series_id = sqlite3_column_int64(st, 0);
    else
        err = store_sqlite_err(store, rc, "load series");
    sqlite3_finalize(st);
    return err;
}

static int check_unit(struct balkon_store *store, const char *name, const char *stored,
                      const char *wanted)
{
    if (wanted && strcmp(stored, wanted) != 0)
        return store_set_error(store, BALKON_E_INVAL,
                               "series %s is registered with unit \"%s\", not \"%s\"", name, stored,
                               wanted);
    return 0;
}

/* Returns 1 and fills id/unit when the series exists, 0 when not, or an error. */
static int series_find(struct balkon_store *store, const char *name, int64_t *id,
                       char unit[SERIES_UNIT_MAX])
{
    sqlite3_stmt *st;
    int err =
        store_stmt(store, STMT_SERIES_FIND, "SELECT id, unit FROM series WHERE name = ?1", &st);
    if (err)
        return err;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int found = 0;
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        const unsigned char *text = sqlite3_column_text(st, 1);
        snprintf(unit, SERIES_UNIT_MAX, "%s", text ? (const char *)text : "");
        found = 1;
    } else if (rc != SQLITE_DONE) {
        found = store_sqlite_err(store, rc, "look up series");
    }
    sqlite3_reset(st);
    return found;
}

int store_series_lookup(struct balkon_store *store, const char *name, int64_t *id_out)
{
    const struct store_series_entry *cached = cache_find(store, name);
    if (cached) {
        *id_out = cached->id;
        return 1;
    }
    char unit[SERIES_UNIT_MAX];
    return series_find(store, name, id_out, unit);
}

int balkon_store_series_unit(struct balkon_store *store, const char *name, char *unit, size_t size)
{
    const struct store_series_entry *cached = cache_find(store, name);
    if (cached) {
        snprintf(unit, size, "%s", cached->unit);
        return 0;
    }
    int64_t id;
    char stored[SERIES_UNIT_MAX];
    int found = series_find(store, name, &id, stored);
    if (found < 0)
        return found;
    if (!found)
        return store_set_error(store, BALKON_E_NOTFOUND, "no series named %s", name);
    snprintf(unit, size, "%s", stored);
    return 0;
}

int balkon_store_series_id(struct balkon_store *store, const char *name, const char *unit,
                           int64_t *id_out)
{
    if (!name || !name[0] || strlen(name) >= SERIES_NAME_MAX)
        return store_set_error(store, BALKON_E_INVAL, "series name must have 1..%d characters",
                               SERIES_NAME_MAX - 1);
    if (unit && strlen(unit) >= SERIES_UNIT_MAX)
        return store_set_error(store, BALKON_E_INVAL, "series %s: unit longer than %d", name,
                               SERIES_UNIT_MAX - 1);

    const struct store_series_entry *cached = cache_find(store, name);
    if (cached) {
        int err = check_unit(store, name, cached->unit, unit);
        if (!err)
            *id_out = cached->id;
        return err;
    }

    int64_t id = 0;
    char stored_unit[SERIES_UNIT_MAX] = "";
    int found = series_find(store, name, &id, stored_unit);
    if (found < 0)
        return found;
    if (found) {
        int err = check_unit(store, name, stored_unit, unit);
        if (err)
            return err;
    } else {
        sqlite3_stmt *st;
        int err = store_stmt(store, STMT_SERIES_INSERT,
                             "INSERT INTO series(name, unit) VALUES (?1, ?2)", &st);
        if (err)
            return err;
        snprintf(stored_unit, sizeof stored_unit, "%s", unit ? unit : "");
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, stored_unit, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            err = store_sqlite_err(store, rc, "register series");
        sqlite3_reset(st);
        if (err)
            return err;
        id = sqlite3_last_insert_rowid(store->db);
    }
    if (id > store->max_series_id)
        store->max_series_id = id;
    int err = cache_put(store, name, stored_unit, id);
    if (err)
        return store_set_error(store, err, "series %s: out of memory", name);
    *id_out = id;
    return 0;
}

/* --- Append buffer ------------------------------------------------------------------ */

static struct store_sample *pending_at(const struct balkon_store *store, size_t i)
{
    return &store->pending[(store->pending_head + i) % store->pending_cap];
}

/* Grows the ring towards max_pending, unrolling it so the oldest sample is at index 0. */
static int pending_grow(struct balkon_store *store)
{
    size_t cap = store->pending_cap ? store->pending_cap * 2 : 256;
    if (cap > store->max_pending)
        cap = store->max_pending;
    struct store_sample *ring = malloc(cap * sizeof *ring);
    if (!ring)
        return BALKON_E_NOMEM;
    for (size_t i = 0; i < store->pending_len; i++)
        ring[i] = *pending_at(store, i);
    free(store->pending);
    store->pending = ring;
    store->pending_cap = cap;
    store->pending_head = 0;
    return 0;
}

/* The oldest sample goes; if it belongs to the batch being written it is dropped only
 * should that batch fail. */
static void drop_oldest(struct balkon_store *store)
{
    store->pending_head = (store->pending_head + 1) % store->pending_cap;
    store->pending_len--;
    if (store->inflight_len > 0) {
        store->inflight_len--;
        store->inflight_dropped++;
    } else {
        store->dropped++;
    }
}

void balkon_store_set_max_pending(struct balkon_store *store, size_t max_pending)
{
    store->max_pending = max_pending ? max_pending : 1;
    while (store->pending_len > store->max_pending)
        drop_oldest(store);
}

int balkon_store_append(struct balkon_store *store, int64_t series_id, int64_t ts_ms, double value)
{
    /* A sample the database would reject must not enter the buffer: it would make every
     * later flush fail and so poison the whole buffer. */
    if (series_id < 1 || series_id > store->max_series_id)
        return store_set_error(store, BALKON_E_INVAL, "append: unknown series id %lld",
                               (long long)series_id);
    if (!isfinite(value))
        return store_set_error(store, BALKON_E_INVAL,
                               "append: series %lld at %lld ms: value is not finite",
                               (long long)series_id, (long long)ts_ms);
    if (ts_ms < 0 || ts_ms > SAMPLE_TS_MAX_MS)
        return store_set_error(store, BALKON_E_RANGE,
                               "append: series %lld: timestamp %lld ms is out of range",
                               (long long)series_id, (long long)ts_ms);

    if (store->pending_len >= store->max_pending) {
        drop_oldest(store);
    } else if (store->pending_len == store->pending_cap) {
        int err = pending_grow(store);
        if (err)
            return store_set_error(store, err, "append: out of memory");
    }
    *pending_at(store, store->pending_len) =
        (struct store_sample){.series_id = series_id, .ts_ms = ts_ms, .value = value};
    store->pending_len++;

    /* A forced flush that failed is not retried per append: each retry could block for
     * the busy timeout. The periodic flush retries, and success re-arms this. The
     * sample itself is buffered, so append succeeds either way. With a writer attached its
     * owner flushes, off this thread. */
    if (store->pending_len >= store->max_pending && !store->forced_flush_failed &&
        !store->writer_attached && !store->batch_out && balkon_store_flush(store) != 0)
        store->forced_flush_failed = true;
    return 0;
}

size_t balkon_store_pending(const struct balkon_store *store)
{
    return store->pending_len;
}

uint64_t balkon_store_dropped(const struct balkon_store *store)
{
    return store->dropped;
}

/* --- Batches ------------------------------------------------------------------------ */

struct balkon_store_batch *balkon_store_batch_take(struct balkon_store *store, size_t max_samples)
{
    if (store->batch_out || store->pending_len == 0 || max_samples == 0)
        return NULL;
    size_t n = store->pending_len < max_samples ? store->pending_len : max_samples;
    struct balkon_store_batch *batch = calloc(1, sizeof *batch);
    if (batch)
        batch->samples = malloc(n * sizeof *batch->samples);
    if (!batch || !batch->samples) {
        free(batch);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        batch->samples[i] = *pending_at(store, i);
    batch->count = n;
    store->batch_out = true;
    store->inflight_len = n;
    store->inflight_dropped = 0;
    return batch;
}

int balkon_store_batch_finish(struct balkon_store *store, struct balkon_store_batch *batch, int rc)
{
    if (!batch)
        return rc;
    if (rc == 0) {
        /* The written samples are the oldest ones still buffered; those the ring dropped
         * meanwhile were written all the same. */
        store->pending_head = (store->pending_head + store->inflight_len) % store->pending_cap;
        store->pending_len -= store->inflight_len;
        store->dropped += batch->rejected;
        store->forced_flush_failed = false;
        store->data_version++;
    } else {
        store->dropped += store->inflight_dropped;
        snprintf(store->errmsg, sizeof store->errmsg, "%s", batch->errmsg);
    }
    if (store->pending_len == 0)
        store->pending_head = 0;
    store->inflight_len = 0;
    store->inflight_dropped = 0;
    store->batch_out = false;
    free(batch->samples);
    free(batch);
    return rc;
}

const char *balkon_store_batch_errmsg(const struct balkon_store_batch *batch)
{
    return batch->errmsg;
}

int balkon_store_flush(struct balkon_store *store)
{
    if (store->pending_len == 0)
        return 0;
    if (store->batch_out)
        return store_set_error(store, BALKON_E_BUSY, "flush: a batch is being written");
    struct balkon_store_batch *batch = balkon_store_batch_take(store, SIZE_MAX);
    if (!batch)
        return store_set_error(store, BALKON_E_NOMEM, "flush: out of memory");
    return balkon_store_batch_finish(store, batch, store_batch_write_here(store, batch));
}

void store_samples_free(struct balkon_store *store)
{
    for (size_t i = 0; i < store->series_cap; i++)
        free(store->series[i].name);
    free(store->series);
    free(store->pending);
}
