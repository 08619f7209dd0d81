/* Unit tests of stored plans (src/store/plans.c): round trip of every field, the plan in
 * force at a past moment, invalid input named, pruning with its slots. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "balkon/error.h"
#include "balkon/store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 INT64_C(1782036000000) /* 2026-06-21T10:00:00Z */
#define SLOT_MS INT64_C(900000)

static struct balkon_store *open_memory(void)
{
    struct balkon_store_options options = {.path = ":memory:"};
    struct balkon_store *store = NULL;
    char msg[256];
    assert_int_equal(balkon_store_open(&options, &store, msg, sizeof msg), 0);
    return store;
}

static struct balkon_plan_record make_plan(int64_t created_ms, const char *strategy, size_t count)
{
    struct balkon_plan_record plan = {.created_ts_ms = created_ms,
                                      .slot_s = 900,
                                      .count = count,
                                      .summary_json = "{\"cost\":1.25}"};
    snprintf(plan.strategy, sizeof plan.strategy, "%s", strategy);
    snprintf(plan.currency, sizeof plan.currency, "EUR");
    plan.slots = calloc(count, sizeof *plan.slots);
    for (size_t i = 0; i < count; i++) {
        struct balkon_plan_slot_row *r = &plan.slots[i];
        r->slot_ts_ms = created_ms + (int64_t)i * SLOT_MS;
        snprintf(r->mode, sizeof r->mode, "%s", i % 2 ? "charge" : "discharge");
        r->battery_w = i % 2 ? -300.0 : 150.0 + (double)i;
        r->soc_pct = 50 + (double)i * 0.5;
        r->pv_w = 400;
        r->load_w = 250.5;
        r->import_w = 0;
        r->export_w = 12.25;
        r->price_per_kwh = -0.05 + (double)i / 100;
        r->cost = -0.001 * (double)i;
        r->cost_no_battery = 0.02;
        r->cost_self_consumption = 0.01;
        /* Every third slot waits for a cheaper hour (a time and a price), the others charge
         * from surplus (neither); the first has no reason, as a plan from before reasons. */
        if (i == 0)
            continue;
        bool waiting = i % 3 == 0;
        snprintf(r->reason_code, sizeof r->reason_code, "%s",
                 waiting ? "waiting_for_cheaper_hour" : "storing_surplus");
        snprintf(r->reason_state, sizeof r->reason_state, "%s", waiting ? "holding" : "charging");
        r->reason_ts_ms = waiting ? created_ms + 8 * SLOT_MS : INT64_MIN;
        r->reason_price_per_kwh = waiting ? 0.1234 : NAN;
    }
    return plan;
}

static void test_round_trip_and_plan_in_force(void **state)
{
    struct balkon_store *store = open_memory();
    struct balkon_plan_record first = make_plan(T0, "optimal", 192);
    struct balkon_plan_record second = make_plan(T0 + SLOT_MS, "self_consumption", 191);
    int64_t id1, id2;
    assert_int_equal(balkon_store_plan_put(store, &first, &id1), 0);
    assert_int_equal(balkon_store_plan_put(store, &second, &id2), 0);
    assert_true(id2 > id1);

    struct balkon_plan_record got;
    assert_int_equal(balkon_store_plan_get(store, INT64_MAX, &got), 0);
    assert_int_equal(got.id, id2);
    assert_string_equal(got.strategy, "self_consumption");
    assert_int_equal(got.count, 191);
    balkon_plan_record_free(&got);

    /* The plan in force at T0 + 10 min is the first one, with every field as written. */
    assert_int_equal(balkon_store_plan_get(store, T0 + 10 * 60000, &got), 0);
    assert_int_equal(got.id, id1);
    assert_string_equal(got.summary_json, "{\"cost\":1.25}");
    assert_string_equal(got.currency, "EUR");
    assert_int_equal(got.slot_s, 900);
    assert_int_equal(got.count, 192);
    for (size_t i = 0; i < 192; i++) {
        const struct balkon_plan_slot_row *a = &got.slots[i], *b = &first.slots[i];
        assert_true(a->slot_ts_ms == b->slot_ts_ms);
        assert_string_equal(a->mode, b->mode);
        const double x[] = {
            a->battery_w, a->soc_pct,       a->pv_w, a->load_w,          a->import_w,
            a->export_w,  a->price_per_kwh, a->cost, a->cost_no_battery, a->cost_self_consumption};
        const double y[] = {
            b->battery_w, b->soc_pct,       b->pv_w, b->load_w,          b->import_w,
            b->export_w,  b->price_per_kwh, b->cost, b->cost_no_battery, b->cost_self_consumption};
        for (int v = 0; v < 10; v++)
            assert_true(x[v] == y[v]);
        assert_string_equal(a->reason_code, b->reason_code);
        assert_string_equal(a->reason_state, b->reason_state);
        if (b->reason_code[0]) {
            assert_true(a->reason_ts_ms == b->reason_ts_ms);
            assert_true(isnan(b->reason_price_per_kwh) ? isnan(a->reason_price_per_kwh)
                                                       : a->reason_price_per_kwh == 0.1234);
        }
    }
    balkon_plan_record_free(&got);

    assert_int_equal(balkon_store_plan_get(store, T0 - 1, &got), BALKON_E_NOTFOUND);
    free(first.slots);
    free(second.slots);
    balkon_store_close(store);
}

static void test_invalid_plans_are_refused(void **state)
{
    struct balkon_store *store = open_memory();
    struct balkon_plan_record plan = make_plan(T0, "optimal", 4);
    plan.slots[2].cost = NAN;
    assert_int_equal(balkon_store_plan_put(store, &plan, NULL), BALKON_E_INVAL);
    assert_string_equal(balkon_store_errmsg(store), "plan: slot 2 has a value that is not finite");
    plan.slots[2].cost = 0;
    plan.strategy[0] = '\0';
    assert_int_equal(balkon_store_plan_put(store, &plan, NULL), BALKON_E_INVAL);
    assert_string_equal(balkon_store_errmsg(store), "plan: strategy must not be empty");
    /* Nothing half-written. */
    struct balkon_plan_record got;
    assert_int_equal(balkon_store_plan_get(store, INT64_MAX, &got), BALKON_E_NOTFOUND);
    free(plan.slots);
    balkon_store_close(store);
}

static void test_prune_removes_old_plans_with_their_slots(void **state)
{
    struct balkon_store *store = open_memory();
    for (int i = 0; i < 5; i++) {
        struct balkon_plan_record plan = make_plan(T0 + i * SLOT_MS, "optimal", 8);
        assert_int_equal(balkon_store_plan_put(store, &plan, NULL), 0);
        free(plan.slots);
    }
    assert_int_equal(balkon_store_plans_prune(store, T0 + 3 * SLOT_MS), 3);
    struct balkon_plan_record got;
    assert_int_equal(balkon_store_plan_get(store, T0 + 2 * SLOT_MS, &got), BALKON_E_NOTFOUND);
    assert_int_equal(balkon_store_plan_get(store, INT64_MAX, &got), 0);
    assert_int_equal(got.count, 8);
    balkon_plan_record_free(&got);
    assert_int_equal(balkon_store_plans_prune(store, T0), 0);
    balkon_store_close(store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_and_plan_in_force),
        cmocka_unit_test(test_invalid_plans_are_refused),
        cmocka_unit_test(test_prune_removes_old_plans_with_their_slots),
    };
    return cmocka_run_group_tests_name("store_plans", tests, NULL, NULL);
}
