/* The repository layer: SQLite behind functions that speak our types.
 *
 * Only src/store/ includes sqlite3.h. The database runs in WAL mode with
 * synchronous=NORMAL: a process crash loses nothing committed, a power loss may roll back
 * the last commits but never corrupts. The schema is migrated on open by PRAGMA user_version.
 *
 * Time series: raw samples are buffered in memory by balkon_store_append and written in
 * one transaction per balkon_store_flush (or per batch, below). Every flush also adds to the
 * roll-ups (5-minute and 1-hour buckets holding avg/min/max/count) of the buckets it touched, so
 * coarse queries over long ranges never scan raw data. Old raw samples and old 5-minute
 * buckets are deleted by balkon_store_prune according to the retention options; the
 * 1-hour buckets keep a year and more in a few megabytes.
 *
 * A store made by balkon_store_open is used from the loop thread only, with two exceptions
 * that have connections of their own: a batch write through a writer (below), and reads
 * on libuv's thread pool through readers (balkon_store_readers_*), each used by one job at
 * a time. */
#ifndef BALKON_STORE_H
#define BALKON_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balkon/series.h"

struct balkon_store;

struct balkon_store_options {
    const char *path;             /* database file; ":memory:" works for tests */
    int raw_retention_days;       /* raw samples older than this are deleted (default 7) */
    int rollup_5m_retention_days; /* 5-minute buckets (default 180) */
    int rollup_1h_retention_days; /* 1-hour buckets (default 3650) */
    size_t max_pending; /* samples buffered before append forces a flush (default 65536) */
};

/* Opens (creating if needed) and migrates the database. On failure returns a BALKON_E_*
 * code, *out stays NULL and a message naming the file and the problem is written to msg.
 * A database from a newer schema version is refused with BALKON_E_VERSION.
 * The caller owns *out and closes it with balkon_store_close. */
int balkon_store_open(const struct balkon_store_options *options, struct balkon_store **out,
                      char *msg, size_t msg_size);

/* Flushes what is pending, checkpoints the WAL and closes. Accepts NULL. */
void balkon_store_close(struct balkon_store *store);

/* --- Readers: read-only connections for the thread pool ------------------------------ */

struct balkon_store_readers;

/* How many readers the daemon keeps: libuv's pool has 4 threads, the machine maybe 2
 * cores; more connections would only cost page caches. */
#define BALKON_STORE_READERS 2

/* A pool of at most max read-only connections to the database at path, opened when first
 * needed. NULL for ":memory:" (another connection cannot see it) or when out of memory:
 * callers then read on the loop's own store. Free with balkon_store_readers_free after
 * every job that acquired a reader has released it. */
struct balkon_store_readers *balkon_store_readers_new(const char *path, size_t max);
void balkon_store_readers_free(struct balkon_store_readers *readers);
/* Lends a reader (thread-safe; waits while all max are lent). On failure *out is NULL and
 * msg says why. Give it back with balkon_store_readers_release. */
int balkon_store_readers_acquire(struct balkon_store_readers *readers, struct balkon_store **out,
                                 char *msg, size_t msg_size);
void balkon_store_readers_release(struct balkon_store_readers *readers,
                                  struct balkon_store *reader);

/* Opens one read-only connection (what the pool holds); closed by balkon_store_close. */
int balkon_store_open_reader(const char *path, struct balkon_store **out, char *msg,
                             size_t msg_size);

/* Brackets a job's reads in one read transaction, so they all see the same commit (a
 * flush or a prune between two of its queries cannot split a series). */
int balkon_store_read_begin(struct balkon_store *store);
void balkon_store_read_end(struct balkon_store *store);

/* The database file the store was opened on. */
const char *balkon_store_path(const struct balkon_store *store);

/* Changes whenever stored samples change (a flush wrote some, a prune removed some): an
 * answer computed from the samples stays true while this is unchanged. */
uint64_t balkon_store_data_version(const struct balkon_store *store);

/* The last error's text from SQLite with context; valid until the next store call. */
const char *balkon_store_errmsg(const struct balkon_store *store);

/* How long a write waits for another connection's lock before failing with
 * BALKON_E_BUSY (default 2000 ms). The loop blocks for that long at most. */
void balkon_store_set_busy_timeout(struct balkon_store *store, int timeout_ms);

/* The schema version the database is at (PRAGMA user_version). */
int balkon_store_schema_version(struct balkon_store *store);
/* The schema version this build migrates to. */
int balkon_store_schema_latest(void);

/* --- Time series ------------------------------------------------------------------ */

/* Looks up or registers a series by name ("pv_w", "device.meter.grid_w") and its unit
 * ("W", "%", "Wh"). Ids are cached in memory, so calling this per sample is cheap. */
int balkon_store_series_id(struct balkon_store *store, const char *name, const char *unit,
                           int64_t *id_out);

/* Buffers one sample. A later sample for the same series and ts_ms replaces the earlier
 * one. Forces a flush when max_pending samples are buffered. */
int balkon_store_append(struct balkon_store *store, int64_t series_id, int64_t ts_ms, double value);

/* Writes all buffered samples in one transaction and adds them to the roll-ups, on the
 * calling thread. On failure the samples stay buffered (up to max_pending; the oldest are
 * dropped beyond that, and the count of dropped samples grows). BALKON_E_BUSY while a
 * batch (below) is out. */
int balkon_store_flush(struct balkon_store *store);

/* Samples buffered and not yet stored, a batch being written included. */
size_t balkon_store_pending(const struct balkon_store *store);
uint64_t balkon_store_dropped(const struct balkon_store *store);

/* --- Flushing on another thread (src/store/flush.c) ---------------------------------- */

/* A big flush, or one that fails slowly on a full disk, must not stop the event loop, so
 * the daemon writes samples on a worker thread in three steps:
 *   balkon_store_batch_take    (loop thread) copies up to max_samples of the oldest
 *                              buffered samples into a batch that the caller owns; they
 *                              stay buffered (and counted in balkon_store_pending);
 *   balkon_store_batch_write   (one worker thread) writes the batch in one transaction,
 *                              raw samples and roll-ups, through a writer: a connection of
 *                              its own, never the store's;
 *   balkon_store_batch_finish  (loop thread) takes the outcome and frees the batch: on
 *                              success its samples leave the buffer, on failure they stay.
 * One batch is out at a time. A batch and a writer are used by one thread at a time and
 * share nothing with the store, so there is no lock. */
struct balkon_store_writer;
struct balkon_store_batch;

/* Opens the writer: a second connection to the store's file with the same settings, whose
 * writes wait at most busy_timeout_ms for another connection's lock. While it is open,
 * append never flushes by itself when the buffer is full: the writer's owner flushes.
 * BALKON_E_INVAL for an in-memory database or an SQLite built without threads. The
 * caller owns *out and closes it with balkon_store_writer_close (NULL accepted) after the
 * last batch write returned and before the store is closed. */
int balkon_store_writer_open(struct balkon_store *store, int busy_timeout_ms,
                             struct balkon_store_writer **out);
void balkon_store_writer_close(struct balkon_store_writer *writer);

/* NULL when nothing is buffered, a batch is already out, or memory is short (the samples
 * then simply stay buffered). */
struct balkon_store_batch *balkon_store_batch_take(struct balkon_store *store, size_t max_samples);
/* 0 or a BALKON_E_* code; then balkon_store_batch_errmsg says why. */
int balkon_store_batch_write(struct balkon_store_writer *writer, struct balkon_store_batch *batch);
const char *balkon_store_batch_errmsg(const struct balkon_store_batch *batch);
/* rc is what the write returned. Frees the batch (NULL accepted) and returns rc; on
 * failure the batch's error message becomes balkon_store_errmsg. */
int balkon_store_batch_finish(struct balkon_store *store, struct balkon_store_batch *batch, int rc);

/* Changes max_pending (for tests of a long outage: BALKON_TEST_MAX_PENDING, see
 * docs/faults.md); what is buffered beyond it is dropped oldest first and counted. */
void balkon_store_set_max_pending(struct balkon_store *store, size_t max_pending);

/* The newest sample timestamp stored for any series, or INT64_MIN if there is none. */
int64_t balkon_store_last_ts(struct balkon_store *store);

struct balkon_bucket {
    int64_t ts_ms; /* bucket start */
    double avg;    /* time-weighted by sample count */
    double min;
    double max;
    uint32_t count; /* raw samples in the bucket */
};

/* Downsamples a series over [from_ms, to_ms) into buckets of step_ms aligned to
 * multiples of step_ms (UTC). Empty buckets are left out. Reads the coarsest source that
 * still resolves step_ms (1-hour roll-up for step >= 1 h, 5-minute for >= 5 min, raw
 * otherwise), and falls back to a coarser source where raw data was already pruned.
 * Returns BALKON_E_NOTFOUND for an unknown series. *out is allocated (caller frees it
 * with free) and *count set; both are NULL/0 when nothing is in range. */
int balkon_store_query(struct balkon_store *store, const char *series, int64_t from_ms,
                       int64_t to_ms, int64_t step_ms, struct balkon_bucket **out, size_t *count);

struct balkon_series_info {
    char name[64];
    char unit[16];
    int64_t first_ts_ms; /* INT64_MIN when it has no samples */
    int64_t last_ts_ms;
};

/* The unit a series was registered with ("" when it has none). BALKON_E_NOTFOUND for an
 * unknown series. */
int balkon_store_series_unit(struct balkon_store *store, const char *name, char *unit, size_t size);

/* Lists every registered series. *out allocated, caller frees with free. */
int balkon_store_list_series(struct balkon_store *store, struct balkon_series_info **out,
                             size_t *count);

/* Applies retention relative to now_ms: deletes raw samples and 5-minute buckets older
 * than their retention, at most max_rows rows per call so the loop is never blocked
 * for long. *deleted_out (may be NULL) gets the number of rows deleted. */
int balkon_store_prune(struct balkon_store *store, int64_t now_ms, int64_t max_rows,
                       int64_t *deleted_out);

/* One mean of a series over [ts_ms, ts_ms + step). */
struct balkon_store_mean {
    int64_t ts_ms;
    double value;
};

/* Writes historical means (`balkonsolard import`) straight into the roll-ups, in one
 * transaction: each mean as the 5-minute buckets it spans (one sample each; only where the
 * 5-minute roll-ups are not pruned yet) and the hours they make up. step_ms is 5, 10, 15,
 * 20, 30 or 60 minutes; means are finite, aligned to step_ms and ascending. No raw samples
 * are written. An hour that already holds a roll-up of the series is refused
 * (BALKON_E_INVAL, balkon_store_errmsg names the hour), so nothing is counted twice. */
int balkon_store_history_put(struct balkon_store *store, const char *series, const char *unit,
                             int64_t step_ms, const struct balkon_store_mean *means, size_t count);

/* Where retention has pruned the 5-minute roll-ups: before this time (aligned to 1 h) only
 * hourly roll-ups are left, so a query at 15 minutes returns one row per hour there.
 * INT64_MIN when nothing was pruned. */
int64_t balkon_store_rollup_5m_horizon(const struct balkon_store *store);

/* --- Device registry -------------------------------------------------------------- */

struct balkon_device_record {
    char id[32];
    char type[32];
    char roles[64]; /* comma-separated: "meter,inverter,battery,plug" */
    char model[64];
    char firmware[32];
    int64_t first_seen_ms;
    int64_t last_seen_ms;
};

/* Inserts or updates a device; first_seen_ms is kept from the first insert. */
int balkon_store_device_upsert(struct balkon_store *store,
                               const struct balkon_device_record *device);
/* *out allocated, caller frees with free. */
int balkon_store_device_list(struct balkon_store *store, struct balkon_device_record **out,
                             size_t *count);

/* --- Command log ------------------------------------------------------------------ */

struct balkon_command_record {
    int64_t ts_ms;
    char device_id[32];
    char command[16];
    char value[32];
    char result[160]; /* "ok" or why it failed */
    char source[16];  /* who sent it: "control", "api", "mqtt", "loads", "recommend"; "" before */
    uint64_t request_id; /* 0: not known (logged before ids were kept) */
};

int balkon_store_command_log(struct balkon_store *store,
                             const struct balkon_command_record *record);
/* The newest `limit` commands, of one device or (device_id NULL) all, newest first. *out
 * allocated (free it). */
int balkon_store_command_list(struct balkon_store *store, const char *device_id, size_t limit,
                              struct balkon_command_record **out, size_t *count);

/* --- Notifications ---------------------------------------------------------------- */

struct balkon_notification_record {
    int64_t id;
    int64_t ts_ms;
    char rule[48];
    char severity[16];
    char title[128];
    char message[512];
    char state[16];         /* "open" until resolved */
    int64_t resolved_ts_ms; /* INT64_MIN: not resolved */
};

/* Stores a new notification (id ignored; state "" = "open"); *id_out (may be NULL) gets
 * its id. Texts longer than the record's fields are cut. */
int balkon_store_notification_add(struct balkon_store *store,
                                  const struct balkon_notification_record *record, int64_t *id_out);
/* Moves a notification to another state ("resolved", "expired") at ts_ms; resolved_ts_ms
 * is set to ts_ms. BALKON_E_NOTFOUND when there is no such id. */
int balkon_store_notification_set_state(struct balkon_store *store, int64_t id, const char *state,
                                        int64_t ts_ms);

/* The newest `limit` notifications, newest first (longer texts are cut to the record's
 * fields). *out allocated (free it). */
int balkon_store_notification_list(struct balkon_store *store, size_t limit,
                                   struct balkon_notification_record **out, size_t *count);

/* --- Prices, forecasts and grid signals --------------------------------------------- */

/* Every series here lives on the grid of 15-minute UTC slots (slot_s 900), the same grid
 * the providers normalise to. Writing a provider's slots replaces what it wrote before
 * for the same slots (latest fetch wins); forecasts instead keep every issue, so their
 * accuracy can be measured later. */

/* Writes one provider's prices in one transaction. currency: "EUR", "GBP". */
int balkon_store_prices_put(struct balkon_store *store, const char *provider, const char *currency,
                            int64_t fetched_ts_ms, const struct balkon_price_slot *slots,
                            size_t count);
/* Slots of one provider in [from_ms, to_ms), ascending. *out allocated (free it);
 * currency (4 bytes) gets the series' currency, "" when there is none. */
int balkon_store_prices_get(struct balkon_store *store, const char *provider, int64_t from_ms,
                            int64_t to_ms, struct balkon_price_slot **out, size_t *count,
                            char currency[4]);
/* End of the last stored slot (slot_ts_ms + slot_s) and when it was fetched; both
 * INT64_MIN when the provider has no prices. */
int balkon_store_prices_coverage(struct balkon_store *store, const char *provider, int64_t *end_ms,
                                 int64_t *fetched_ts_ms);

/* Stores one issued forecast (every slot gets issued_ts_ms) in one transaction. kind: "pv",
 * "load". A forecast issued again at the same time for the same slot replaces it. */
int balkon_store_forecast_put(struct balkon_store *store, const char *kind, const char *provider,
                              int64_t issued_ts_ms, const struct balkon_forecast_slot *slots,
                              size_t count);
/* For each slot in [from_ms, to_ms), the newest forecast issued at or before
 * issued_before_ms (INT64_MAX: the newest of all), ascending by slot. */
int balkon_store_forecast_get(struct balkon_store *store, const char *kind, const char *provider,
                              int64_t from_ms, int64_t to_ms, int64_t issued_before_ms,
                              struct balkon_forecast_slot **out, size_t *count);
/* For each slot in [from_ms, to_ms), the newest forecast issued before the slot began:
 * what was known in advance, for accuracy measurements. */
int balkon_store_forecast_get_ahead(struct balkon_store *store, const char *kind,
                                    const char *provider, int64_t from_ms, int64_t to_ms,
                                    struct balkon_forecast_slot **out, size_t *count);
/* For each slot in [from_ms, to_ms), the newest forecast issued between lead_max_ms
 * (exclusive) and lead_min_ms (inclusive) before the slot began: how the forecasts made
 * that far ahead turned out (the planner learns its forecast errors from these). */
int balkon_store_forecast_get_lead(struct balkon_store *store, const char *kind,
                                   const char *provider, int64_t from_ms, int64_t to_ms,
                                   int64_t lead_min_ms, int64_t lead_max_ms,
                                   struct balkon_forecast_slot **out, size_t *count);
/* When the newest forecast was issued and where it ends; INT64_MIN when there is none. */
int balkon_store_forecast_coverage(struct balkon_store *store, const char *kind,
                                   const char *provider, int64_t *issued_ts_ms, int64_t *end_ms);

/* Grid signals by kind: "renewable_share_pct", "grid_signal" (-1 congestion, 0 red,
 * 1 yellow, 2 green), "co2_g_per_kwh", "green_index" (0..100). Latest fetch wins. */
int balkon_store_signal_put(struct balkon_store *store, const char *kind, const char *provider,
                            int64_t fetched_ts_ms, const struct balkon_signal_slot *slots,
                            size_t count);
int balkon_store_signal_get(struct balkon_store *store, const char *kind, const char *provider,
                            int64_t from_ms, int64_t to_ms, struct balkon_signal_slot **out,
                            size_t *count);
int balkon_store_signal_coverage(struct balkon_store *store, const char *kind, const char *provider,
                                 int64_t *end_ms, int64_t *fetched_ts_ms);

/* --- Plans ------------------------------------------------------------------------- */

struct balkon_plan_record {
    int64_t id;
    int64_t created_ts_ms;
    char strategy[32];
    char currency[4];
    int32_t slot_s;
    char *summary_json;                 /* owned; free with balkon_plan_record_free */
    struct balkon_plan_slot_row *slots; /* owned */
    size_t count;
};

/* Stores a plan and its slots in one transaction; *id_out (may be NULL) gets its id. */
int balkon_store_plan_put(struct balkon_store *store, const struct balkon_plan_record *plan,
                          int64_t *id_out);
/* The newest plan created at or before at_ms (INT64_MAX: the newest of all). Returns
 * BALKON_E_NOTFOUND when there is none. Free with balkon_plan_record_free. */
int balkon_store_plan_get(struct balkon_store *store, int64_t at_ms,
                          struct balkon_plan_record *out);
void balkon_plan_record_free(struct balkon_plan_record *plan);
/* Deletes plans created before before_ms (a plan is replaced every 15 minutes; old ones
 * only serve to look back a few days). Returns the number deleted or an error. */
int balkon_store_plans_prune(struct balkon_store *store, int64_t before_ms);

/* --- Login (src/store/auth.c) ----------------------------------------------------- */

#define BALKON_STORE_DIGEST_SIZE 65 /* SHA-256 as hex + NUL */

/* The password's hash into hash (size bytes). BALKON_E_NOTFOUND when none is set yet. */
int balkon_store_password_get(struct balkon_store *store, char *hash, size_t size);
/* Sets (or replaces) the password's hash. */
int balkon_store_password_set(struct balkon_store *store, const char *hash, int64_t now_ms);

struct balkon_session_record {
    char digest[BALKON_STORE_DIGEST_SIZE]; /* SHA-256 of the cookie's value */
    char csrf[80];                         /* the token browser writes must echo */
    int64_t created_ts_ms;
    int64_t last_seen_ts_ms;
    int64_t expires_ts_ms;
};

int balkon_store_session_add(struct balkon_store *store,
                             const struct balkon_session_record *session);
/* The session with this digest that has not expired at now_ms; BALKON_E_NOTFOUND otherwise. */
int balkon_store_session_get(struct balkon_store *store, const char *digest, int64_t now_ms,
                             struct balkon_session_record *out);
/* Moves a session's last use and expiry forward. */
int balkon_store_session_touch(struct balkon_store *store, const char *digest,
                               int64_t last_seen_ts_ms, int64_t expires_ts_ms);
int balkon_store_session_delete(struct balkon_store *store, const char *digest);
/* Deletes every session but keep (NULL: every one), after a password change. */
int balkon_store_sessions_delete_others(struct balkon_store *store, const char *keep);
/* Deletes the sessions that expired before now_ms. */
int balkon_store_sessions_prune(struct balkon_store *store, int64_t now_ms);

struct balkon_token_record {
    int64_t id;
    char name[64];
    bool read_only; /* may read, never change anything */
    int64_t created_ts_ms;
    int64_t last_used_ts_ms; /* 0 = never */
};

/* Adds an API token by its digest; *id_out gets its id. */
int balkon_store_token_add(struct balkon_store *store, const char *name, const char *digest,
                           bool read_only, int64_t now_ms, int64_t *id_out);
/* The token with this digest; BALKON_E_NOTFOUND when there is none. */
int balkon_store_token_find(struct balkon_store *store, const char *digest,
                            struct balkon_token_record *out);
int balkon_store_token_touch(struct balkon_store *store, int64_t id, int64_t now_ms);
/* Every token, oldest first. The caller frees *out. */
int balkon_store_token_list(struct balkon_store *store, struct balkon_token_record **out,
                            size_t *count);
/* BALKON_E_NOTFOUND when there is no token with this id. */
int balkon_store_token_delete(struct balkon_store *store, int64_t id);

/* Deletes forecasts whose slot lies before forecasts_before_ms and command log entries
 * older than commands_before_ms, at most max_rows rows in all (call again while
 * *deleted_out == max_rows). */
int balkon_store_prune_history(struct balkon_store *store, int64_t forecasts_before_ms,
                               int64_t commands_before_ms, int64_t max_rows, int64_t *deleted_out);

/* Size of the database file plus its WAL, in bytes. */
int64_t balkon_store_size_bytes(struct balkon_store *store);

#endif
