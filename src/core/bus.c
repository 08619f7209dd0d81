/* The event bus. Delivery is synchronous for a publish made outside any handler and
 * queued (FIFO, payload copied) for a publish made from inside one, which is what keeps
 * one global order without re-entrant handler calls. */
#include "balkon/bus.h"

#include "balkon/error.h"

#include <stdlib.h>
#include <string.h>

/* How to copy an event's payload when it must be queued. Events whose payload points to
 * arrays of their own add copy/release functions here; flat payloads are memcpy'd. */
struct event_desc {
    const char *name;
    size_t size;
    int (*copy)(void *dst, const void *src);
    void (*release)(void *payload);
};

/* Events that point to a slot array get a deep copy when queued. The array is stored right
 * after the payload struct in one allocation, so release has nothing to do. */
static int copy_prices(void *dst, const void *src);
static int copy_forecast(void *dst, const void *src);
static int copy_signal(void *dst, const void *src);
static int copy_plan(void *dst, const void *src);
static int copy_config_replace(void *dst, const void *src);
/* For queries whose payload points to the asker's stack: they cannot wait in the queue. */
static int refuse_queue(void *dst, const void *src);

static const struct event_desc event_descs[BUS_EV__COUNT] = {
    [BUS_EV_METER_READING] = {"meter_reading", sizeof(struct ev_meter_reading), NULL, NULL},
    [BUS_EV_DEVICE_STATE] = {"device_state", sizeof(struct ev_device_state), NULL, NULL},
    [BUS_EV_SITE_STATUS] = {"site_status", sizeof(struct ev_site_status), NULL, NULL},
    [BUS_EV_SAMPLE] = {"sample", sizeof(struct ev_sample), NULL, NULL},
    [BUS_EV_CONFIG_CHANGED] = {"config_changed", sizeof(struct ev_config_changed), NULL, NULL},
    [BUS_EV_SHUTDOWN] = {"shutdown", sizeof(struct ev_shutdown), NULL, NULL},
    [BUS_EV_PRICES] = {"prices", sizeof(struct ev_prices), copy_prices, NULL},
    [BUS_EV_FORECAST] = {"forecast", sizeof(struct ev_forecast), copy_forecast, NULL},
    [BUS_EV_SIGNAL] = {"signal", sizeof(struct ev_signal), copy_signal, NULL},
    [BUS_EV_PROVIDER_STATUS] = {"provider_status", sizeof(struct ev_provider_status), NULL, NULL},
    [BUS_EV_PLAN] = {"plan", sizeof(struct ev_plan), copy_plan, NULL},
    [BUS_EV_STRATEGY_REQUEST] = {"strategy_request", sizeof(struct ev_strategy_request), NULL, NULL},
    [BUS_EV_DEVICE_COMMAND] = {"device_command", sizeof(struct ev_device_command), NULL, NULL},
    [BUS_EV_COMMAND_RESULT] = {"command_result", sizeof(struct ev_command_result), NULL, NULL},
    [BUS_EV_CONTROL_STATUS] = {"control_status", sizeof(struct ev_control_status), NULL, NULL},
    [BUS_EV_DEVICE_ERROR] = {"device_error", sizeof(struct ev_device_error), NULL, NULL},
    [BUS_EV_DEVICE_ONLINE] = {"device_online", sizeof(struct ev_device_online), NULL, NULL},
    [BUS_EV_LOADS_STATUS] = {"loads_status", sizeof(struct ev_loads_status), NULL, NULL},
    [BUS_EV_LOAD_OVERRIDE] = {"load_override", sizeof(struct ev_load_override), NULL, NULL},
    [BUS_EV_CONFIG_REPLACE] = {"config_replace", sizeof(struct ev_config_replace), copy_config_replace, NULL},
    [BUS_EV_CONFIG_REPLACED] = {"config_replaced", sizeof(struct ev_config_replaced), NULL, NULL},
    [BUS_EV_DAEMON_STARTED] = {"daemon_started", sizeof(struct ev_daemon_started), NULL, NULL},
    [BUS_EV_NOTIFY_REQUEST] = {"notify_request", sizeof(struct ev_notify_request), NULL, NULL},
    [BUS_EV_NOTIFY_REPLY] = {"notify_reply", sizeof(struct ev_notify_reply), NULL, NULL},
    [BUS_EV_CONTROL_TARGET] = {"control_target", sizeof(struct ev_control_target), NULL, NULL},
    [BUS_EV_METRICS_REQUEST] = {"metrics_request", sizeof(struct ev_metrics_request), NULL, NULL},
    [BUS_EV_METRICS_REPLY] = {"metrics_reply", sizeof(struct ev_metrics_reply), NULL, NULL},
    [BUS_EV_RECOMMENDATIONS] = {"recommendations", sizeof(struct ev_recommendations), NULL, NULL},
    [BUS_EV_RECOMMENDATION] = {"recommendation", sizeof(struct ev_recommendation), NULL, NULL},
    [BUS_EV_RECOMMENDATIONS_QUERY] = {"recommendations_query", sizeof(struct ev_recommendations_query),
                                      refuse_queue, NULL},
    [BUS_EV_STORAGE_STATUS] = {"storage_status", sizeof(struct ev_storage_status), NULL, NULL},
    [BUS_EV_CLOCK_JUMPED] = {"clock_jumped", sizeof(struct ev_clock_jumped), NULL, NULL},
    [BUS_EV_HTTP_PROBE_ANSWERED] = {"http_probe_answered", sizeof(struct ev_http_probe_answered),
                                    NULL, NULL},
};

/* Bytes a queued copy needs beyond the payload struct. */
static size_t extra_size(enum bus_event event, const void *payload)
{
    switch (event) {
    case BUS_EV_PRICES: return ((const struct ev_prices *)payload)->count * sizeof(struct balkon_price_slot);
    case BUS_EV_FORECAST: return ((const struct ev_forecast *)payload)->count * sizeof(struct balkon_forecast_slot);
    case BUS_EV_SIGNAL: return ((const struct ev_signal *)payload)->count * sizeof(struct balkon_signal_slot);
    case BUS_EV_PLAN: return ((const struct ev_plan *)payload)->count * sizeof(struct balkon_plan_slot_row);
    case BUS_EV_CONFIG_REPLACE: return ((const struct ev_config_replace *)payload)->size;
    default: return 0;
    }
}

static void *tail_of(void *dst, size_t size)
{
    /* The copy's array starts right after the struct, suitably aligned. */
    size_t offset = (size + _Alignof(max_align_t) - 1) / _Alignof(max_align_t) * _Alignof(max_align_t);
    return (char *)dst + offset;
}

static int copy_prices(void *dst, const void *src)
{
    struct ev_prices *to = dst;
    *to = *(const struct ev_prices *)src;
    struct balkon_price_slot *slots = tail_of(dst, sizeof *to);
    if (to->count)
        memcpy(slots, to->slots, to->count * sizeof *slots);
    to->slots = slots;
    return 0;
}

static int copy_forecast(void *dst, const void *src)
{
    struct ev_forecast *to = dst;
    *to = *(const struct ev_forecast *)src;
    struct balkon_forecast_slot *slots = tail_of(dst, sizeof *to);
    if (to->count)
        memcpy(slots, to->slots, to->count * sizeof *slots);
    to->slots = slots;
    return 0;
}

static int copy_signal(void *dst, const void *src)
{
    struct ev_signal *to = dst;
    *to = *(const struct ev_signal *)src;
    struct balkon_signal_slot *slots = tail_of(dst, sizeof *to);
    if (to->count)
        memcpy(slots, to->slots, to->count * sizeof *slots);
    to->slots = slots;
    return 0;
}

static int copy_plan(void *dst, const void *src)
{
    struct ev_plan *to = dst;
    *to = *(const struct ev_plan *)src;
    struct balkon_plan_slot_row *slots = tail_of(dst, sizeof *to);
    if (to->count)
        memcpy(slots, to->slots, to->count * sizeof *slots);
    to->slots = slots;
    return 0;
}

static int copy_config_replace(void *dst, const void *src)
{
    struct ev_config_replace *to = dst;
    *to = *(const struct ev_config_replace *)src;
    char *text = tail_of(dst, sizeof *to);
    if (to->size)
        memcpy(text, to->text, to->size);
    to->text = text;
    return 0;
}

struct subscription {
    balkon_bus_cb cb; /* NULL once unsubscribed during a dispatch; compacted afterwards */
    void *user;
};

struct subscriber_list {
    struct subscription *items;
    size_t count;
    size_t capacity;
};

struct queued_event {
    struct queued_event *next;
    enum bus_event event;
    max_align_t payload[]; /* event_descs[event].size bytes */
};

struct balkon_bus {
    struct subscriber_list subs[BUS_EV__COUNT];
    struct queued_event *head;
    struct queued_event *tail;
    int dispatch_depth;
    bool needs_compaction;
    uint64_t published;
};

struct balkon_bus *balkon_bus_new(void) { return calloc(1, sizeof(struct balkon_bus)); }

static void free_queued(struct queued_event *q)
{
    const struct event_desc *desc = &event_descs[q->event];
    if (desc->release)
        desc->release(q->payload);
    free(q);
}

void balkon_bus_free(struct balkon_bus *bus)
{
    if (!bus)
        return;
    for (int i = 0; i < BUS_EV__COUNT; i++)
        free(bus->subs[i].items);
    while (bus->head) {
        struct queued_event *next = bus->head->next;
        free_queued(bus->head);
        bus->head = next;
    }
    free(bus);
}

const char *balkon_device_role_name(unsigned role_bit)
{
    switch (role_bit) {
    case DEVICE_ROLE_METER: return "meter";
    case DEVICE_ROLE_INVERTER: return "inverter";
    case DEVICE_ROLE_BATTERY: return "battery";
    case DEVICE_ROLE_PLUG: return "plug";
    }
    return NULL;
}

const char *balkon_bus_event_name(enum bus_event event)
{
    if ((unsigned)event >= BUS_EV__COUNT)
        return "unknown";
    return event_descs[event].name;
}

uint64_t balkon_bus_published(const struct balkon_bus *bus) { return bus->published; }

int balkon_bus_subscribe(struct balkon_bus *bus, enum bus_event event, balkon_bus_cb cb,
                         void *user)
{
    if (!bus || !cb || (unsigned)event >= BUS_EV__COUNT)
        return BALKON_E_INVAL;
    struct subscriber_list *list = &bus->subs[event];
    for (size_t i = 0; i < list->count; i++)
        if (list->items[i].cb == cb && list->items[i].user == user)
            return BALKON_E_INVAL;
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 4;
        struct subscription *items = realloc(list->items, capacity * sizeof *items);
        if (!items)
            return BALKON_E_NOMEM;
        list->items = items;
        list->capacity = capacity;
    }
    list->items[list->count++] = (struct subscription){cb, user};
    return 0;
}

static void compact(struct balkon_bus *bus)
{
    for (int e = 0; e < BUS_EV__COUNT; e++) {
        struct subscriber_list *list = &bus->subs[e];
        size_t kept = 0;
        for (size_t i = 0; i < list->count; i++)
            if (list->items[i].cb)
                list->items[kept++] = list->items[i];
        list->count = kept;
    }
    bus->needs_compaction = false;
}

void balkon_bus_unsubscribe(struct balkon_bus *bus, enum bus_event event, balkon_bus_cb cb,
                            void *user)
{
    if (!bus || (unsigned)event >= BUS_EV__COUNT)
        return;
    struct subscriber_list *list = &bus->subs[event];
    for (size_t i = 0; i < list->count; i++) {
        if (list->items[i].cb == cb && list->items[i].user == user) {
            /* Removing in place would shift the array under a running dispatch loop. */
            list->items[i].cb = NULL;
            bus->needs_compaction = true;
        }
    }
    if (bus->dispatch_depth == 0)
        compact(bus);
}

static void deliver(struct balkon_bus *bus, enum bus_event event, const void *payload)
{
    struct subscriber_list *list = &bus->subs[event];
    /* Subscribers added during this delivery are past `count` and see only later events. */
    size_t count = list->count;
    for (size_t i = 0; i < count; i++) {
        struct subscription sub = list->items[i];
        if (sub.cb)
            sub.cb(event, payload, sub.user);
    }
}

int balkon_bus_publish(struct balkon_bus *bus, enum bus_event event, const void *payload)
{
    if (!bus || !payload || (unsigned)event >= BUS_EV__COUNT)
        return BALKON_E_INVAL;
    const struct event_desc *desc = &event_descs[event];
    bus->published++;

    if (bus->dispatch_depth > 0) {
        size_t align = _Alignof(max_align_t);
        size_t payload_size = (desc->size + align - 1) / align * align + extra_size(event, payload);
        struct queued_event *q = malloc(sizeof *q + payload_size);
        if (!q)
            return BALKON_E_NOMEM;
        q->next = NULL;
        q->event = event;
        if (desc->copy) {
            int rc = desc->copy(q->payload, payload);
            if (rc < 0) {
                free(q);
                return rc;
            }
        } else {
            memcpy(q->payload, payload, desc->size);
        }
        if (bus->tail)
            bus->tail->next = q;
        else
            bus->head = q;
        bus->tail = q;
        return 0;
    }

    bus->dispatch_depth++;
    deliver(bus, event, payload);
    while (bus->head) {
        struct queued_event *q = bus->head;
        bus->head = q->next;
        if (!bus->head)
            bus->tail = NULL;
        deliver(bus, q->event, q->payload);
        free_queued(q);
    }
    bus->dispatch_depth--;
    if (bus->needs_compaction)
        compact(bus);
    return 0;
}

static int refuse_queue(void *dst, const void *src)
{
    (void)dst;
    (void)src;
    return BALKON_E_INVAL;
}
