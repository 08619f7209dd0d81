/* The event bus: delivery, global order with nested publishes, payload copies,
 * unsubscribing from inside a handler. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "balkon/bus.h"
#include "balkon/error.h"

#include <stdio.h>
#include <math.h>
#include <string.h>

struct trace {
    char log[64][80];
    size_t count;
};

static void record(struct trace *t, const char *who, const struct ev_sample *s)
{
    snprintf(t->log[t->count++], sizeof t->log[0], "%s:%s", who, s->series);
}

struct handler_ctx {
    struct balkon_bus *bus;
    struct trace *trace;
    const char *name;
};

static void handler_a(enum bus_event e, const void *p, void *user)
{
    struct handler_ctx *h = user;
    record(h->trace, h->name, p);
    /* A publishes a follow-up for the first event only. */
    const struct ev_sample *s = p;
    if (strcmp(s->series, "first") == 0) {
        struct ev_sample follow = {.series = "second"};
        assert_int_equal(balkon_bus_publish(h->bus, BUS_EV_SAMPLE, &follow), 0);
        /* The publisher may reuse its payload at once; the bus made a copy. */
        strcpy(follow.series, "clobbered");
    }
}

static void handler_b(enum bus_event e, const void *p, void *user)
{
    struct handler_ctx *h = user;
    record(h->trace, h->name, p);
}

static void test_delivers_in_subscription_order(void **state)
{
    struct balkon_bus *bus = balkon_bus_new();
    struct trace t = {0};
    struct handler_ctx a = {bus, &t, "A"}, b = {bus, &t, "B"};
    assert_int_equal(balkon_bus_subscribe(bus, BUS_EV_SAMPLE, handler_b, &b), 0);
    assert_int_equal(balkon_bus_subscribe(bus, BUS_EV_SAMPLE, handler_a, &a), 0);
    struct ev_sample s = {.series = "x"};
    balkon_bus_publish(bus, BUS_EV_SAMPLE, &s);
    assert_int_equal(t.count, 2);
    assert_string_equal(t.log[0], "B:x");
    assert_string_equal(t.log[1], "A:x");
    assert_int_equal(balkon_bus_published(bus), 1);
    balkon_bus_free(bus);
}

static void test_nested_publish_keeps_global_order(void **state)
{
    struct balkon_bus *bus = balkon_bus_new();
    struct trace t = {0};
    struct handler_ctx a = {bus, &t, "A"}, b = {bus, &t, "B"};
    balkon_bus_subscribe(bus, BUS_EV_SAMPLE, handler_a, &a);
    balkon_bus_subscribe(bus, BUS_EV_SAMPLE, handler_b, &b);
    struct ev_sample s = {.series = "first"};
    balkon_bus_publish(bus, BUS_EV_SAMPLE, &s);
    /* B must see "first" before anybody sees "second", and "second" arrives intact. */
    assert_int_equal(t.count, 4);
    assert_string_equal(t.log[0], "A:first");
    assert_string_equal(t.log[1], "B:first");
    assert_string_equal(t.log[2], "A:second");
    assert_string_equal(t.log[3], "B:second");
    balkon_bus_free(bus);
}

static int calls_self;
static void self_removing(enum bus_event e, const void *p, void *user)
{
    calls_self++;
    balkon_bus_unsubscribe(user, e, self_removing, user);
}

static void test_unsubscribe_inside_handler(void **state)
{
    struct balkon_bus *bus = balkon_bus_new();
    struct trace t = {0};
    struct handler_ctx b = {bus, &t, "B"};
    calls_self = 0;
    balkon_bus_subscribe(bus, BUS_EV_SAMPLE, self_removing, bus);
    balkon_bus_subscribe(bus, BUS_EV_SAMPLE, handler_b, &b);
    struct ev_sample s = {.series = "x"};
    balkon_bus_publish(bus, BUS_EV_SAMPLE, &s);
    balkon_bus_publish(bus, BUS_EV_SAMPLE, &s);
    assert_int_equal(calls_self, 1);
    assert_int_equal(t.count, 2); /* B kept receiving */
    balkon_bus_free(bus);
}

static void test_events_are_separate(void **state)
{
    struct balkon_bus *bus = balkon_bus_new();
    struct trace t = {0};
    struct handler_ctx b = {bus, &t, "B"};
    balkon_bus_subscribe(bus, BUS_EV_SAMPLE, handler_b, &b);
    struct ev_meter_reading r = {.grid_w = 5};
    balkon_bus_publish(bus, BUS_EV_METER_READING, &r);
    assert_int_equal(t.count, 0);
    balkon_bus_free(bus);
}

static void test_rejects_bad_arguments(void **state)
{
    struct balkon_bus *bus = balkon_bus_new();
    struct ev_sample s = {0};
    assert_int_equal(balkon_bus_publish(bus, BUS_EV__COUNT, &s), BALKON_E_INVAL);
    assert_int_equal(balkon_bus_publish(bus, BUS_EV_SAMPLE, NULL), BALKON_E_INVAL);
    assert_int_equal(balkon_bus_subscribe(bus, BUS_EV_SAMPLE, NULL, NULL), BALKON_E_INVAL);
    assert_int_equal(balkon_bus_subscribe(bus, BUS_EV_SAMPLE, handler_b, bus), 0);
    assert_int_equal(balkon_bus_subscribe(bus, BUS_EV_SAMPLE, handler_b, bus), BALKON_E_INVAL);
    assert_string_equal(balkon_bus_event_name(BUS_EV_METER_READING), "meter_reading");
    balkon_bus_free(bus);
    balkon_bus_free(NULL);
}

/* A prices event published from inside a handler is queued; the publisher's array is gone
 * (here: overwritten) by the time it is delivered, so the bus must have copied it. */
static double delivered_sum;
static size_t delivered_count;

static void republish_prices(enum bus_event e, const void *payload, void *user)
{
    struct balkon_bus *bus = user;
    struct balkon_price_slot slots[3];
    for (int i = 0; i < 3; i++)
        slots[i] = (struct balkon_price_slot){
            .slot_ts_ms = i * 900000, .slot_s = 900, .price_per_kwh = 0.1 * (i + 1)};
    struct ev_prices ev = {.provider = "nested", .count = 3, .slots = slots};
    balkon_bus_publish(bus, BUS_EV_PRICES, &ev);
    memset(slots, 0xff, sizeof slots);
}

static void sum_prices(enum bus_event e, const void *payload, void *user)
{
    const struct ev_prices *ev = payload;
    if (strcmp(ev->provider, "nested") != 0)
        return;
    delivered_count = ev->count;
    for (size_t i = 0; i < ev->count; i++)
        delivered_sum += ev->slots[i].price_per_kwh;
}

static void test_queued_slot_arrays_are_copied(void **state)
{
    struct balkon_bus *bus = balkon_bus_new();
    delivered_sum = 0;
    delivered_count = 0;
    balkon_bus_subscribe(bus, BUS_EV_SAMPLE, republish_prices, bus);
    balkon_bus_subscribe(bus, BUS_EV_PRICES, sum_prices, NULL);
    struct ev_sample s = {.series = "trigger"};
    balkon_bus_publish(bus, BUS_EV_SAMPLE, &s);
    assert_int_equal(delivered_count, 3);
    assert_true(fabs(delivered_sum - 0.6) < 1e-12);
    balkon_bus_free(bus);
}

static void test_frees_undelivered_when_freed(void **state)
{
    /* Nothing queued survives outside a dispatch; freeing must be clean under ASan. */
    struct balkon_bus *bus = balkon_bus_new();
    struct trace t = {0};
    struct handler_ctx a = {bus, &t, "A"};
    balkon_bus_subscribe(bus, BUS_EV_SAMPLE, handler_a, &a);
    struct ev_sample s = {.series = "first"};
    balkon_bus_publish(bus, BUS_EV_SAMPLE, &s);
    assert_int_equal(t.count, 2);
    balkon_bus_free(bus);
}

/* Every event is in the bus's table: a name for the log, and the size a queued copy takes
 * (an event left out was queued as zero bytes and delivered as garbage). */
static void test_every_event_is_registered(void **state)
{
    for (int e = 0; e < BUS_EV__COUNT; e++) {
        const char *name = balkon_bus_event_name((enum bus_event)e);
        if (!name || !name[0] || strcmp(name, "unknown") == 0)
            fail_msg("event %d has no name in src/core/bus.c's table", e);
    }
}

static struct ev_clock_jumped jumped;
static struct ev_http_probe_answered probed;

static void republish_flat(enum bus_event e, const void *payload, void *user)
{
    struct balkon_bus *bus = user;
    struct ev_clock_jumped jump = {.jump_ms = -7200000};
    struct ev_http_probe_answered probe = {.answered_ms = 123456789, .latency_ms = 3};
    balkon_bus_publish(bus, BUS_EV_CLOCK_JUMPED, &jump);
    balkon_bus_publish(bus, BUS_EV_HTTP_PROBE_ANSWERED, &probe);
}

static void keep_flat(enum bus_event e, const void *payload, void *user)
{
    if (e == BUS_EV_CLOCK_JUMPED)
        jumped = *(const struct ev_clock_jumped *)payload;
    else
        probed = *(const struct ev_http_probe_answered *)payload;
}

/* Published from inside a handler, flat payloads are queued as copies: whole ones. */
static void test_queued_flat_payloads_arrive_whole(void **state)
{
    struct balkon_bus *bus = balkon_bus_new();
    balkon_bus_subscribe(bus, BUS_EV_SAMPLE, republish_flat, bus);
    balkon_bus_subscribe(bus, BUS_EV_CLOCK_JUMPED, keep_flat, NULL);
    balkon_bus_subscribe(bus, BUS_EV_HTTP_PROBE_ANSWERED, keep_flat, NULL);
    struct ev_sample s = {.series = "trigger"};
    balkon_bus_publish(bus, BUS_EV_SAMPLE, &s);
    assert_int_equal(jumped.jump_ms, -7200000);
    assert_int_equal(probed.answered_ms, 123456789);
    assert_int_equal(probed.latency_ms, 3);
    balkon_bus_free(bus);
}

/* Every array event (generated from include/balkon/bus_events.h) gets its own array when
 * queued, and an empty one stays empty. */
static size_t arrays_seen[BUS_EV__COUNT];
static double arrays_value[BUS_EV__COUNT];

static void republish_arrays(enum bus_event e, const void *payload, void *user)
{
    struct balkon_bus *bus = user;
    struct balkon_forecast_slot forecast[2] = {{.slot_ts_ms = 0, .value_w = 410},
                                               {.slot_ts_ms = 900000, .value_w = 5}};
    struct balkon_signal_slot signal[1] = {{.slot_ts_ms = 0, .value = 61}};
    struct balkon_plan_slot_row plan[2] = {{.slot_ts_ms = 0, .battery_w = -300},
                                           {.slot_ts_ms = 900000, .battery_w = 2}};
    struct ev_forecast f = {.kind = "pv", .count = 2, .slots = forecast};
    struct ev_signal sg = {.kind = "co2_g_per_kwh", .count = 1, .slots = signal};
    struct ev_plan p = {.id = 42, .count = 2, .slots = plan};
    struct ev_prices empty = {.provider = "empty", .count = 0, .slots = NULL};
    balkon_bus_publish(bus, BUS_EV_FORECAST, &f);
    balkon_bus_publish(bus, BUS_EV_SIGNAL, &sg);
    balkon_bus_publish(bus, BUS_EV_PLAN, &p);
    balkon_bus_publish(bus, BUS_EV_PRICES, &empty);
    memset(forecast, 0xff, sizeof forecast);
    memset(signal, 0xff, sizeof signal);
    memset(plan, 0xff, sizeof plan);
}

static void sum_arrays(enum bus_event e, const void *payload, void *user)
{
    double sum = 0;
    size_t count = 0;
    if (e == BUS_EV_FORECAST) {
        const struct ev_forecast *f = payload;
        for (count = 0; count < f->count; count++)
            sum += f->slots[count].value_w;
    } else if (e == BUS_EV_SIGNAL) {
        const struct ev_signal *sg = payload;
        for (count = 0; count < sg->count; count++)
            sum += sg->slots[count].value;
    } else if (e == BUS_EV_PLAN) {
        const struct ev_plan *p = payload;
        for (count = 0; count < p->count; count++)
            sum += p->slots[count].battery_w;
    } else if (e == BUS_EV_PRICES) {
        count = ((const struct ev_prices *)payload)->count;
    }
    arrays_seen[e] = count;
    arrays_value[e] = sum;
}

static void test_every_array_event_is_copied_when_queued(void **state)
{
    struct balkon_bus *bus = balkon_bus_new();
    memset(arrays_seen, 0xff, sizeof arrays_seen);
    balkon_bus_subscribe(bus, BUS_EV_SAMPLE, republish_arrays, bus);
    enum bus_event arrays[] = {BUS_EV_FORECAST, BUS_EV_SIGNAL, BUS_EV_PLAN, BUS_EV_PRICES};
    for (size_t i = 0; i < 4; i++)
        balkon_bus_subscribe(bus, arrays[i], sum_arrays, NULL);
    struct ev_sample s = {.series = "trigger"};
    balkon_bus_publish(bus, BUS_EV_SAMPLE, &s);
    assert_int_equal(arrays_seen[BUS_EV_FORECAST], 2);
    assert_true(arrays_value[BUS_EV_FORECAST] == 415);
    assert_int_equal(arrays_seen[BUS_EV_SIGNAL], 1);
    assert_true(arrays_value[BUS_EV_SIGNAL] == 61);
    assert_int_equal(arrays_seen[BUS_EV_PLAN], 2);
    assert_true(arrays_value[BUS_EV_PLAN] == -298);
    assert_int_equal(arrays_seen[BUS_EV_PRICES], 0);
    balkon_bus_free(bus);
}

/* Names are the log's and the docs' words for events: one each. */
static void test_event_names_are_unique(void **state)
{
    for (int a = 0; a < BUS_EV__COUNT; a++)
        for (int b = a + 1; b < BUS_EV__COUNT; b++)
            if (strcmp(balkon_bus_event_name((enum bus_event)a),
                       balkon_bus_event_name((enum bus_event)b)) == 0)
                fail_msg("events %d and %d are both \"%s\"", a, b,
                         balkon_bus_event_name((enum bus_event)a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delivers_in_subscription_order),
        cmocka_unit_test(test_nested_publish_keeps_global_order),
        cmocka_unit_test(test_unsubscribe_inside_handler),
        cmocka_unit_test(test_events_are_separate),
        cmocka_unit_test(test_rejects_bad_arguments),
        cmocka_unit_test(test_queued_slot_arrays_are_copied),
        cmocka_unit_test(test_frees_undelivered_when_freed),
        cmocka_unit_test(test_every_event_is_registered),
        cmocka_unit_test(test_queued_flat_payloads_arrive_whole),
        cmocka_unit_test(test_every_array_event_is_copied_when_queued),
        cmocka_unit_test(test_event_names_are_unique),
    };
    return cmocka_run_group_tests_name("bus", tests, NULL, NULL);
}
