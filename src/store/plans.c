/* Plans: what the optimizer decided, slot by slot, with the two baselines beside it. A
 * new plan is stored every 15 minutes and on every change of prices, forecast or config;
 * readers want the newest one, or the one that was in force at some past moment.
 *
 * Statements are prepared per call: a plan is written a few times an hour. */
#include "store_internal.h"

#include "balkon/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool slot_finite(const struct balkon_plan_slot_row *r)
{
    const double values[] = {
        r->battery_w, r->soc_pct,       r->pv_w, r->load_w,          r->import_w,
        r->export_w,  r->price_per_kwh, r->cost, r->cost_no_battery, r->cost_self_consumption};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++)
        if (!isfinite(values[i]))
            return false;
    return true;
}

static int insert_slots(struct balkon_store *store, int64_t plan_id,
                        const struct balkon_plan_record *plan)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        store->db,
        "INSERT INTO plan_slots(plan_id, slot_ts_ms, mode, battery_w, soc_pct, pv_w,"
        " load_w, import_w, export_w, price_per_kwh, cost, cost_no_battery,"
        " cost_self_consumption, reason_code, reason_state, reason_ts_ms, reason_price_per_kwh)"
        " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)",
        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_err(store, rc, "plan put");
    int err = 0;
    sqlite3_bind_int64(st, 1, plan_id);
    for (size_t i = 0; i < plan->count && !err; i++) {
        const struct balkon_plan_slot_row *r = &plan->slots[i];
        sqlite3_bind_int64(st, 2, r->slot_ts_ms);
        sqlite3_bind_text(st, 3, r->mode, -1, SQLITE_STATIC);
        const double values[] = {
            r->battery_w, r->soc_pct,       r->pv_w, r->load_w,          r->import_w,
            r->export_w,  r->price_per_kwh, r->cost, r->cost_no_battery, r->cost_self_consumption};
        for (int v = 0; v < 10; v++)
            sqlite3_bind_double(st, 4 + v, values[v]);
        bool reason = r->reason_code[0] != '\0';
        sqlite3_bind_text(st, 14, r->reason_code, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 15, reason ? r->reason_state : "", -1, SQLITE_STATIC);
        if (reason && r->reason_ts_ms != INT64_MIN)
            sqlite3_bind_int64(st, 16, r->reason_ts_ms);
        else
            sqlite3_bind_null(st, 16);
        if (reason && isfinite(r->reason_price_per_kwh))
            sqlite3_bind_double(st, 17, r->reason_price_per_kwh);
        else
            sqlite3_bind_null(st, 17);
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            err = store_sqlite_err(store, rc, "plan put: slot");
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return err;
}

int balkon_store_plan_put(struct balkon_store *store, const struct balkon_plan_record *plan,
                          int64_t *id_out)
{
    if (!plan->strategy[0])
        return store_set_error(store, BALKON_E_INVAL, "plan: strategy must not be empty");
    if (plan->count && !plan->slots)
        return store_set_error(store, BALKON_E_INVAL, "plan: %zu slots but no array", plan->count);
    if (plan->slot_s <= 0)
        return store_set_error(store, BALKON_E_INVAL, "plan: slot_s must be positive, got %d",
                               plan->slot_s);
    for (size_t i = 0; i < plan->count; i++)
        if (!slot_finite(&plan->slots[i]))
            return store_set_error(store, BALKON_E_INVAL,
                                   "plan: slot %zu has a value that is not finite", i);

    sqlite3_stmt *st = NULL;
    int rc =
        sqlite3_prepare_v2(store->db,
                           "INSERT INTO plans(created_ts_ms, strategy, horizon_start_ts_ms, slot_s,"
                           " summary_json, currency) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_err(store, rc, "plan put");
    int err = store_begin(store);
    if (err) {
        sqlite3_finalize(st);
        return err;
    }
    sqlite3_bind_int64(st, 1, plan->created_ts_ms);
    sqlite3_bind_text(st, 2, plan->strategy, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, plan->count ? plan->slots[0].slot_ts_ms : plan->created_ts_ms);
    sqlite3_bind_int(st, 4, plan->slot_s);
    sqlite3_bind_text(st, 5, plan->summary_json ? plan->summary_json : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, plan->currency[0] ? plan->currency : "EUR", -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        err = store_sqlite_err(store, rc, "plan put");
        store_rollback(store);
        return err;
    }
    int64_t id = sqlite3_last_insert_rowid(store->db);
    err = insert_slots(store, id, plan);
    if (!err)
        err = store_commit(store);
    if (err) {
        store_rollback(store);
        return err;
    }
    if (id_out)
        *id_out = id;
    return 0;
}

static int read_slots(struct balkon_store *store, struct balkon_plan_record *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        store->db,
        "SELECT slot_ts_ms, mode, battery_w, soc_pct, pv_w, load_w, import_w, export_w,"
        " price_per_kwh, cost, cost_no_battery, cost_self_consumption, reason_code,"
        " reason_state, reason_ts_ms, reason_price_per_kwh"
        " FROM plan_slots WHERE plan_id = ?1 ORDER BY slot_ts_ms",
        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_err(store, rc, "plan get: slots");
    sqlite3_bind_int64(st, 1, out->id);
    size_t cap = 0;
    int err = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->count == cap) {
            size_t grown_cap = cap ? cap * 2 : 256;
            struct balkon_plan_slot_row *grown = realloc(out->slots, grown_cap * sizeof *grown);
            if (!grown) {
                err = store_set_error(store, BALKON_E_NOMEM, "plan get: out of memory");
                break;
            }
            out->slots = grown;
            cap = grown_cap;
        }
        struct balkon_plan_slot_row *r = &out->slots[out->count++];
        r->slot_ts_ms = sqlite3_column_int64(st, 0);
        snprintf(r->mode, sizeof r->mode, "%s", (const char *)sqlite3_column_text(st, 1));
        double *values[] = {&r->battery_w,
                            &r->soc_pct,
                            &r->pv_w,
                            &r->load_w,
                            &r->import_w,
                            &r->export_w,
                            &r->price_per_kwh,
                            &r->cost,
                            &r->cost_no_battery,
                            &r->cost_self_consumption};
        for (int v = 0; v < 10; v++)
            *values[v] = sqlite3_column_double(st, 2 + v);
        snprintf(r->reason_code, sizeof r->reason_code, "%s",
                 (const char *)sqlite3_column_text(st, 12));
        snprintf(r->reason_state, sizeof r->reason_state, "%s",
                 (const char *)sqlite3_column_text(st, 13));
        r->reason_ts_ms =
            sqlite3_column_type(st, 14) == SQLITE_NULL ? INT64_MIN : sqlite3_column_int64(st, 14);
        r->reason_price_per_kwh =
            sqlite3_column_type(st, 15) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 15);
    }
    if (!err && rc != SQLITE_DONE)
        err = store_sqlite_err(store, rc, "plan get: slots");
    sqlite3_finalize(st);
    return err;
}

int balkon_store_plan_get(struct balkon_store *store, int64_t at_ms, struct balkon_plan_record *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        store->db,
        "SELECT id, created_ts_ms, strategy, currency, slot_s, summary_json FROM plans"
        " WHERE created_ts_ms <= ?1 ORDER BY created_ts_ms DESC, id DESC LIMIT 1",
        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_err(store, rc, "plan get");
    sqlite3_bind_int64(st, 1, at_ms);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(st);
        return BALKON_E_NOTFOUND;
    }
    if (rc != SQLITE_ROW) {
        int err = store_sqlite_err(store, rc, "plan get");
        sqlite3_finalize(st);
        return err;
    }
    out->id = sqlite3_column_int64(st, 0);
    out->created_ts_ms = sqlite3_column_int64(st, 1);
    snprintf(out->strategy, sizeof out->strategy, "%s", (const char *)sqlite3_column_text(st, 2));
    snprintf(out->currency, sizeof out->currency, "%s", (const char *)sqlite3_column_text(st, 3));
    out->slot_s = sqlite3_column_int(st, 4);
    out->summary_json = strdup((const char *)sqlite3_column_text(st, 5));
    sqlite3_finalize(st);
    if (!out->summary_json)
        return store_set_error(store, BALKON_E_NOMEM, "plan get: out of memory");
    int err = read_slots(store, out);
    if (err)
        balkon_plan_record_free(out);
    return err;
}

void balkon_plan_record_free(struct balkon_plan_record *plan)
{
    free(plan->summary_json);
    free(plan->slots);
    plan->summary_json = NULL;
    plan->slots = NULL;
    plan->count = 0;
}

int balkon_store_plans_prune(struct balkon_store *store, int64_t before_ms)
{
    sqlite3_stmt *st = NULL;
    int rc =
        sqlite3_prepare_v2(store->db, "DELETE FROM plans WHERE created_ts_ms < ?1", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_err(store, rc, "plan prune");
    sqlite3_bind_int64(st, 1, before_ms);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_sqlite_err(store, rc, "plan prune");
    return sqlite3_changes(store->db);
}
