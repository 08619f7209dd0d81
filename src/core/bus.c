/* The event bus. Delivery is synchronous for a publish made outside any handler and
 * queued (FIFO, payload copied) for a publish made from inside one, which is what keeps
 * one global order without re-entrant handler calls. */
#include "balkon/bus.h"

#include "balkon/error.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* What the bus knows of an event, generated from include/balkon/bus_events.h. An event
 * whose payload points to an array (item_size > 0) is queued with a copy of that array
 * stored right after the struct, in the same allocation. */
struct event_desc {
    const char *name;
    size_t size;
    size_t items_offset; /* the array's pointer within the payload */
    size_t count_offset; /* its element count (size_t) */
    size_t item_size;    /* 0: a flat payload */
};

#define ITEM_SIZE(name, items) sizeof(*((struct ev_##name *)0)->items)
static const struct event_desc event_descs[] = {
#define BUS_EVENT(id, name) [BUS_EV_##id] = {#name, sizeof(struct ev_##name), 0, 0, 0},
#define BUS_EVENT_ARRAY(id, name, items, count)                                                    \
    [BUS_EV_##id] = {#name, sizeof(struct ev_##name), offsetof(struct ev_##name, items),           \
                     offsetof(struct ev_##name, count), ITEM_SIZE(name, items)},
#include "balkon/bus_events.h"
#undef BUS_EVENT
#undef BUS_EVENT_ARRAY
};
_Static_assert(sizeof event_descs / sizeof event_descs[0] == BUS_EV__COUNT,
               "every event of enum bus_event has a row");

/* An array event's count must be a size_t and its items a pointer, or the copy below would
 * read the wrong bytes. */
#define BUS_EVENT(id, name)
#define BUS_EVENT_ARRAY(id, name, items, count)                                                    \
    _Static_assert(sizeof(((struct ev_##name *)0)->count) == sizeof(size_t),                       \
                   "ev_" #name "." #count " is a size_t");                                         \
    _Static_assert(sizeof(((struct ev_##name *)0)->items) == sizeof(void *),                       \
                   "ev_" #name "." #items " is a pointer");
#include "balkon/bus_events.h"
#undef BUS_EVENT
#undef BUS_EVENT_ARRAY

static size_t aligned(size_t size)
{
    size_t align = _Alignof(max_align_t);
    return (size + align - 1) / align * align;
}

static size_t item_count(const struct event_desc *desc, const void *payload)
{
    size_t count;
    memcpy(&count, (const char *)payload + desc->count_offset, sizeof count);
    return count;
}

/* Bytes a queued copy needs: the struct, then its array. */
static size_t queued_size(const struct event_desc *desc, const void *payload)
{
    if (!desc->item_size)
        return desc->size;
    return aligned(desc->size) + item_count(desc, payload) * desc->item_size;
}

static void copy_payload(const struct event_desc *desc, void *dst, const void *src)
{
    memcpy(dst, src, desc->size);
    if (!desc->item_size)
        return;
    size_t count = item_count(desc, src);
    const void *items;
    memcpy(&items, (const char *)src + desc->items_offset, sizeof items);
    void *copy = (char *)dst + aligned(desc->size);
    if (count)
        memcpy(copy, items, count * desc->item_size);
    memcpy((char *)dst + desc->items_offset, &copy, sizeof copy);
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

struct balkon_bus *balkon_bus_new(void)
{
    return calloc(1, sizeof(struct balkon_bus));
}

void balkon_bus_free(struct balkon_bus *bus)
{
    if (!bus)
        return;
    for (int i = 0; i < BUS_EV__COUNT; i++)
        free(bus->subs[i].items);
    while (bus->head) {
        struct queued_event *next = bus->head->next;
        free(bus->head);
        bus->head = next;
    }
    free(bus);
}

const char *balkon_device_role_name(unsigned role_bit)
{
    switch (role_bit) {
    case DEVICE_ROLE_METER:
        return "meter";
    case DEVICE_ROLE_INVERTER:
        return "inverter";
    case DEVICE_ROLE_BATTERY:
        return "battery";
    case DEVICE_ROLE_PLUG:
        return "plug";
    }
    return NULL;
}

const char *balkon_bus_event_name(enum bus_event event)
{
    if ((unsigned)event >= BUS_EV__COUNT)
        return "unknown";
    return event_descs[event].name;
}

uint64_t balkon_bus_published(const struct balkon_bus *bus)
{
    return bus->published;
}

int balkon_bus_subscribe(struct balkon_bus *bus, enum bus_event event, balkon_bus_cb cb, void *user)
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

int balkon_bus_subscribe_all(struct balkon_bus *bus, const struct bus_subscription *rows,
                             size_t count, void *user)
{
    for (size_t i = 0; i < count; i++) {
        int rc = balkon_bus_subscribe(bus, rows[i].event, rows[i].cb, user);
        if (rc < 0) {
            balkon_bus_unsubscribe_all(bus, rows, i, user);
            return rc;
        }
    }
    return 0;
}

void balkon_bus_unsubscribe_all(struct balkon_bus *bus, const struct bus_subscription *rows,
                                size_t count, void *user)
{
    for (size_t i = 0; i < count; i++)
        balkon_bus_unsubscribe(bus, rows[i].event, rows[i].cb, user);
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
        struct queued_event *q = malloc(sizeof *q + queued_size(desc, payload));
        if (!q)
            return BALKON_E_NOMEM;
        q->next = NULL;
        q->event = event;
        copy_payload(desc, q->payload, payload);
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
        free(q);
    }
    bus->dispatch_depth--;
    if (bus->needs_compaction)
        compact(bus);
    return 0;
}
