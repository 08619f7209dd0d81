/* The schema and its migrations, keyed by PRAGMA user_version.
 *
 * Each step moves the schema from version N-1 to N and runs in its own transaction
 * together with the user_version bump, so an interrupted migration leaves the database at
 * a whole version. Steps are append-only: a released step is never edited; a change is a
 * new step. A database from a newer build is refused rather than guessed at.
 *
 * All tables are STRICT (type errors fail instead of being stored). Time is UTC
 * milliseconds since the epoch (*_ts_ms), durations in seconds (*_s), units in names. */
#include "store_internal.h"

#include "balkon/error.h"
#include "balkon/log.h"

#include <stdio.h>

struct migration {
    const char *description;
    const char *sql;
};

static const struct migration migrations[] = {
    /* version 1 */
    {"time series, roll-ups, prices, forecasts, plans, notifications, devices, command log",
     /* Series ids are never reused or deleted: append checks ids against the max. */
     "CREATE TABLE series ("
     "  id INTEGER PRIMARY KEY,"
     "  name TEXT NOT NULL UNIQUE,"
     "  unit TEXT NOT NULL DEFAULT ''"
     ") STRICT;"
     /* WITHOUT ROWID: the primary key is the storage order, so one series' time range is
      * one contiguous b-tree range and no second index is needed. */
     "CREATE TABLE samples_raw ("
     "  series_id INTEGER NOT NULL REFERENCES series(id),"
     "  ts_ms INTEGER NOT NULL,"
     "  value REAL NOT NULL,"
     "  PRIMARY KEY (series_id, ts_ms)"
     ") STRICT, WITHOUT ROWID;"
     /* Roll-ups: avg/min/max in the series' unit, count = raw samples in the bucket. */
     "CREATE TABLE samples_5m ("
     "  series_id INTEGER NOT NULL REFERENCES series(id),"
     "  bucket_ts_ms INTEGER NOT NULL,"
     "  avg REAL NOT NULL,"
     "  min REAL NOT NULL,"
     "  max REAL NOT NULL,"
     "  count INTEGER NOT NULL,"
     "  PRIMARY KEY (series_id, bucket_ts_ms)"
     ") STRICT, WITHOUT ROWID;"
     "CREATE TABLE samples_1h ("
     "  series_id INTEGER NOT NULL REFERENCES series(id),"
     "  bucket_ts_ms INTEGER NOT NULL,"
     "  avg REAL NOT NULL,"
     "  min REAL NOT NULL,"
     "  max REAL NOT NULL,"
     "  count INTEGER NOT NULL,"
     "  PRIMARY KEY (series_id, bucket_ts_ms)"
     ") STRICT, WITHOUT ROWID;"
     /* The store's own state, e.g. the retention horizons applied so far. */
     "CREATE TABLE store_meta ("
     "  key TEXT PRIMARY KEY,"
     "  value_int INTEGER NOT NULL"
     ") STRICT, WITHOUT ROWID;"
     /* One row per provider and slot; a re-fetch replaces it. market_eur_per_kwh is the
      * wholesale price before charges and VAT, where the provider tells it. */
     "CREATE TABLE prices ("
     "  provider TEXT NOT NULL,"
     "  slot_ts_ms INTEGER NOT NULL,"
     "  slot_s INTEGER NOT NULL CHECK (slot_s > 0),"
     "  price_eur_per_kwh REAL NOT NULL,"
     "  market_eur_per_kwh REAL,"
     "  fetched_ts_ms INTEGER NOT NULL,"
     "  PRIMARY KEY (provider, slot_ts_ms)"
     ") STRICT, WITHOUT ROWID;"
     /* Every issued forecast is kept, so forecast accuracy can be measured afterwards.
      * value_w is the mean power over the slot; p10_w/p90_w the band where known. */
     "CREATE TABLE forecasts ("
     "  kind TEXT NOT NULL,"
     "  provider TEXT NOT NULL,"
     "  slot_ts_ms INTEGER NOT NULL,"
     "  slot_s INTEGER NOT NULL CHECK (slot_s > 0),"
     "  issued_ts_ms INTEGER NOT NULL,"
     "  value_w REAL NOT NULL,"
     "  p10_w REAL,"
     "  p90_w REAL,"
     "  PRIMARY KEY (kind, provider, slot_ts_ms, issued_ts_ms)"
     ") STRICT, WITHOUT ROWID;"
     "CREATE TABLE plans ("
     "  id INTEGER PRIMARY KEY,"
     "  created_ts_ms INTEGER NOT NULL,"
     "  strategy TEXT NOT NULL,"
     "  horizon_start_ts_ms INTEGER NOT NULL,"
     "  slot_s INTEGER NOT NULL CHECK (slot_s > 0),"
     "  summary_json TEXT NOT NULL DEFAULT '{}'"
     ") STRICT;"
     "CREATE INDEX plans_by_created ON plans(created_ts_ms);"
     /* Signs: battery_w + discharge / - charge, grid_w + import / - export. */
     "CREATE TABLE plan_slots ("
     "  plan_id INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,"
     "  slot_ts_ms INTEGER NOT NULL,"
     "  mode TEXT NOT NULL,"
     "  battery_w REAL NOT NULL,"
     "  soc_pct REAL NOT NULL,"
     "  grid_w REAL NOT NULL,"
     "  cost_eur REAL NOT NULL,"
     "  PRIMARY KEY (plan_id, slot_ts_ms)"
     ") STRICT, WITHOUT ROWID;"
     "CREATE TABLE notifications ("
     "  id INTEGER PRIMARY KEY,"
     "  ts_ms INTEGER NOT NULL,"
     "  rule TEXT NOT NULL,"
     "  severity TEXT NOT NULL,"
     "  title TEXT NOT NULL,"
     "  message TEXT NOT NULL,"
     "  state TEXT NOT NULL DEFAULT 'open',"
     "  resolved_ts_ms INTEGER"
     ") STRICT;"
     "CREATE INDEX notifications_by_ts ON notifications(ts_ms);"
     "CREATE INDEX notifications_by_rule_state ON notifications(rule, state);"
     "CREATE TABLE devices ("
     "  id TEXT PRIMARY KEY,"
     "  type TEXT NOT NULL,"
     "  roles TEXT NOT NULL DEFAULT '',"
     "  model TEXT NOT NULL DEFAULT '',"
     "  firmware TEXT NOT NULL DEFAULT '',"
     "  first_seen_ms INTEGER NOT NULL,"
     "  last_seen_ms INTEGER NOT NULL"
     ") STRICT, WITHOUT ROWID;"
     /* No foreign key to devices: a command to a device not yet registered is still worth
      * recording. value is text so both "400" (W) and "charge" fit. */
     "CREATE TABLE command_log ("
     "  id INTEGER PRIMARY KEY,"
     "  ts_ms INTEGER NOT NULL,"
     "  device_id TEXT NOT NULL,"
     "  command TEXT NOT NULL,"
     "  value TEXT,"
     "  result TEXT NOT NULL"
     ") STRICT;"
     "CREATE INDEX command_log_by_ts ON command_log(ts_ms);"
     "CREATE INDEX command_log_by_device ON command_log(device_id, ts_ms);"},
    /* version 2 */
    {"prices in any currency, grid signals, forecasts indexed by issue",
     /* Prices may be in GBP (Octopus) or another currency, so the unit leaves the column
      * names and becomes a column. Rows from version 1 were all euros. */
     "ALTER TABLE prices RENAME COLUMN price_eur_per_kwh TO price_per_kwh;"
     "ALTER TABLE prices RENAME COLUMN market_eur_per_kwh TO market_per_kwh;"
     "ALTER TABLE prices ADD COLUMN currency TEXT NOT NULL DEFAULT 'EUR'"
     "  CHECK (currency GLOB '[A-Z][A-Z][A-Z]');"
     /* One row per kind, provider and slot; a re-fetch replaces it. The unit is in kind
      * ("renewable_share_pct", "co2_g_per_kwh"). */
     "CREATE TABLE signals ("
     "  kind TEXT NOT NULL,"
     "  provider TEXT NOT NULL,"
     "  slot_ts_ms INTEGER NOT NULL,"
     "  slot_s INTEGER NOT NULL CHECK (slot_s > 0),"
     "  value REAL NOT NULL,"
     "  fetched_ts_ms INTEGER NOT NULL,"
     "  PRIMARY KEY (kind, provider, slot_ts_ms)"
     ") STRICT, WITHOUT ROWID;"
     /* forecast_get and forecast_get_ahead need no index of their own: the primary key
      * (kind, provider, slot_ts_ms, issued_ts_ms) keeps every issue of a slot together, so
      * EXPLAIN QUERY PLAN shows "SEARCH forecasts USING PRIMARY KEY (kind=? AND provider=?
      * AND slot_ts_ms>? AND slot_ts_ms<?)" with no temporary b-tree; a 2-day range with 24
      * issues a day kept for a year (1.7 M rows) reads in about 1 ms. The newest issue
      * (forecast_coverage) is what the key cannot find: without this index it scans all
      * of a provider's rows (about 90 ms for that year, far more on a Raspberry Pi). With
      * it, one seek; it costs about 30 bytes per forecast row. */
     "CREATE INDEX forecasts_by_issue ON forecasts(kind, provider, issued_ts_ms);"},
    /* version 3 */
    {"plans with their baselines per slot",
     /* Nothing wrote plan_slots before version 3, so it is rebuilt rather than altered.
      * A plan slot holds what the optimizer expects and what the two baselines (no
      * battery, plain self-consumption) would cost with the same forecasts, so the
      * dashboard can show the plan's expected benefit slot by slot. battery_w: +
      * discharge / − charge, as everywhere in the API. Money is in plans.currency. */
     "DROP TABLE plan_slots;"
     "ALTER TABLE plans ADD COLUMN currency TEXT NOT NULL DEFAULT 'EUR';"
     "CREATE TABLE plan_slots ("
     "  plan_id INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,"
     "  slot_ts_ms INTEGER NOT NULL,"
     "  mode TEXT NOT NULL,"
     "  battery_w REAL NOT NULL,"
     "  soc_pct REAL NOT NULL,"
     "  pv_w REAL NOT NULL,"
     "  load_w REAL NOT NULL,"
     "  import_w REAL NOT NULL,"
     "  export_w REAL NOT NULL,"
     "  price_per_kwh REAL NOT NULL,"
     "  cost REAL NOT NULL,"
     "  cost_no_battery REAL NOT NULL,"
     "  cost_self_consumption REAL NOT NULL,"
     "  PRIMARY KEY (plan_id, slot_ts_ms)"
     ") STRICT, WITHOUT ROWID;"},
    /* version 4 */
    {"login: the password hash, sessions and API tokens",
     /* Only digests of sessions and tokens are kept (SHA-256 of 256 random bits), never the
      * secrets themselves; the password only as its yescrypt hash. One password per
      * installation: the row with id 1. */
     "CREATE TABLE auth_password ("
     "  id INTEGER PRIMARY KEY CHECK (id = 1),"
     "  hash TEXT NOT NULL,"
     "  set_ts_ms INTEGER NOT NULL"
     ") STRICT;"
     "CREATE TABLE auth_sessions ("
     "  digest TEXT PRIMARY KEY,"
     "  csrf TEXT NOT NULL,"
     "  created_ts_ms INTEGER NOT NULL,"
     "  last_seen_ts_ms INTEGER NOT NULL,"
     "  expires_ts_ms INTEGER NOT NULL"
     ") STRICT, WITHOUT ROWID;"
     "CREATE TABLE auth_tokens ("
     "  id INTEGER PRIMARY KEY,"
     "  name TEXT NOT NULL,"
     "  read_only INTEGER NOT NULL DEFAULT 0 CHECK (read_only IN (0, 1)),"
     "  digest TEXT NOT NULL UNIQUE,"
     "  created_ts_ms INTEGER NOT NULL,"
     "  last_used_ts_ms INTEGER"
     ") STRICT;"},
    /* version 5 */
    {"command log: who sent each command, and its id",
     /* Commands come from the control, the API, Home Assistant, the loads and the
      * recommendations: the log says which, so "why did my plug switch?" has an answer.
      * Rows from before say "". */
     "ALTER TABLE command_log ADD COLUMN source TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE command_log ADD COLUMN request_id INTEGER;"},
    /* version 6 */
    {"plan slots: the reason of each slot",
     /* The reason was kept in the plan's summary JSON, a list beside the table; it is the
      * slot's, so it is a column like the others. Plans from before have '' (the API then
      * reads the summary's list). */
     "ALTER TABLE plan_slots ADD COLUMN reason_code TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE plan_slots ADD COLUMN reason_state TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE plan_slots ADD COLUMN reason_ts_ms INTEGER;"
     "ALTER TABLE plan_slots ADD COLUMN reason_price_per_kwh REAL;"},
};

#define MIGRATION_COUNT ((int)(sizeof migrations / sizeof migrations[0]))

int balkon_store_schema_latest(void)
{
    return MIGRATION_COUNT;
}

static int read_user_version(struct balkon_store *store, int *version_out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store->db, "PRAGMA user_version", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    int err = 0;
    if (rc == SQLITE_ROW)
        *version_out = sqlite3_column_int(st, 0);
    else
        err = store_sqlite_err(store, rc, "read schema version");
    sqlite3_finalize(st);
    return err;
}

/* Runs one step: re-reads the version inside the write transaction, so two processes
 * opening the same fresh file cannot both apply it. */
static int apply_step(struct balkon_store *store, int target, bool *applied)
{
    char sql[64];
    int version = 0;
    *applied = false;
    int err = store_begin(store);
    if (err)
        return err;
    err = read_user_version(store, &version);
    if (err || version >= target)
        goto done;
    err = store_exec(store, migrations[target - 1].sql, "migrate");
    if (err)
        goto done;
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d", target);
    err = store_exec(store, sql, "set schema version");
    if (err)
        goto done;
    err = store_commit(store);
    *applied = err == 0;
done:
    if (err || !*applied)
        store_rollback(store);
    return err;
}

int store_schema_check(struct balkon_store *store, char *msg, size_t msg_size)
{
    int version = 0;
    int err = read_user_version(store, &version);
    if (err) {
        snprintf(msg, msg_size, "%s: %s", store->path, sqlite3_errmsg(store->db));
        return err;
    }
    if (version > MIGRATION_COUNT) {
        snprintf(msg, msg_size,
                 "%s: schema version %d is newer than this build's %d; refusing to open",
                 store->path, version, MIGRATION_COUNT);
        return BALKON_E_VERSION;
    }
    return 0;
}

int store_migrate(struct balkon_store *store, char *msg, size_t msg_size)
{
    int version = 0;
    int err = read_user_version(store, &version);
    if (err) {
        snprintf(msg, msg_size, "%s: %s", store->path, store->errmsg);
        return err;
    }
    /* Another process may have upgraded the file since store_schema_check. */
    if (version > MIGRATION_COUNT)
        return store_schema_check(store, msg, msg_size);
    for (int target = version + 1; target <= MIGRATION_COUNT; target++) {
        bool applied;
        err = apply_step(store, target, &applied);
        if (err) {
            snprintf(msg, msg_size, "%s: migration to schema version %d failed: %s", store->path,
                     target, store->errmsg);
            return err;
        }
        if (applied)
            log_notice("store", "%s: schema migrated to version %d (%s)", store->path, target,
                       migrations[target - 1].description);
    }
    return 0;
}
