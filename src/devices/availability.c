/* Online/offline for every device, whatever its driver: a device is online while its
 * states keep coming, offline once none came for longer than its staleness limit. On a
 * change it publishes BUS_EV_DEVICE_ONLINE and, going offline, the last state again with
 * online=false and the reason (the driver's last error, or how long it has been silent),
 * so the API, the site balance and the control all stop trusting its old values.
 * A configured device that never answered is shown too, offline with its error. */
#include "devices_internal.h"

#include "balkon/bus.h"
#include "balkon/config.h"
#include "balkon/driver.h"
#include "balkon/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_PERIOD_MS 1000
/* However fast the demo clock runs, a device gets this much wall time between states. */
#define MIN_STALE_WALL_MS 2000
#define MAX_TRACKED (BALKON_MAX_DEVICES * 4)

struct tracked {
    char device_id[BALKON_ID_MAX];
    size_t config_index;
    bool online;
    bool announced; /* an online/offline event went out for it */
    int64_t last_seen_ms;
    struct ev_device_state last_state;
};

/* Per configured device: the driver's last error and what the placeholder needs. */
struct configured {
    char id[BALKON_ID_MAX];
    char type[BALKON_ID_MAX];
    unsigned roles;
    double stale_s;
    char last_error[96];
    char last_code[24]; /* last_error's fault code */
    char logged_error[96];
    bool seen; /* one of its devices published a state */
    bool placeholder_published;
};

struct availability {
    struct balkon_ctx *ctx;
    uv_timer_t timer;
    int64_t started_ms;
    struct configured configured[BALKON_MAX_DEVICES];
    size_t configured_count;
    struct tracked tracked[MAX_TRACKED];
    size_t tracked_count;
};

static struct configured *configured_of(struct availability *a, const char *device_id,
                                        size_t *index)
{
    for (size_t i = 0; i < a->configured_count; i++) {
        size_t len = strlen(a->configured[i].id);
        if (strncmp(device_id, a->configured[i].id, len) == 0 &&
            (device_id[len] == '\0' || device_id[len] == '-')) {
            if (index)
                *index = i;
            return &a->configured[i];
        }
    }
    return NULL;
}

static void publish_online(struct availability *a, const char *device_id, bool online,
                           int64_t last_seen_ms, const char *detail)
{
    struct ev_device_online ev = {.ts_ms = balkon_clock_now_ms(&a->ctx->clock),
                                  .online = online,
                                  .last_seen_ms = last_seen_ms};
    snprintf(ev.device_id, sizeof ev.device_id, "%s", device_id);
    snprintf(ev.detail, sizeof ev.detail, "%s", detail);
    balkon_bus_publish(a->ctx->bus, BUS_EV_DEVICE_ONLINE, &ev);
}

static void on_state(enum bus_event event, const void *payload, void *user)
{
    struct availability *a = user;
    const struct ev_device_state *state = payload;
    if (!state->online)
        return; /* our own offline republications, or a driver's explicit "offline" */
    size_t config_index;
    struct configured *c = configured_of(a, state->device_id, &config_index);
    if (!c)
        return;
    c->seen = true;
    struct tracked *t = NULL;
    for (size_t i = 0; i < a->tracked_count && !t; i++)
        if (strcmp(a->tracked[i].device_id, state->device_id) == 0)
            t = &a->tracked[i];
    if (!t) {
        if (a->tracked_count == MAX_TRACKED)
            return;
        t = &a->tracked[a->tracked_count++];
        memset(t, 0, sizeof *t);
        snprintf(t->device_id, sizeof t->device_id, "%s", state->device_id);
        t->config_index = config_index;
    }
    t->last_seen_ms = state->ts_ms;
    t->last_state = *state;
    if (!t->online || !t->announced) {
        if (t->announced)
            log_info("devices", "%s: back online", t->device_id);
        t->online = true;
        t->announced = true;
        c->last_error[0] = c->logged_error[0] = '\0';
        publish_online(a, t->device_id, true, t->last_seen_ms, "");
    }
}

/* Why a device is offline, in words and as the fault code the dashboard translates. */
static void set_reason(struct ev_device_state *state, const char *error, const char *code)
{
    snprintf(state->error, sizeof state->error, "%s", error);
    snprintf(state->error_code, sizeof state->error_code, "%s", code);
}

/* What a configured device that never answered shows: offline under its config id. */
static void placeholder_state(const struct configured *c, struct ev_device_state *state)
{
    memset(state, 0, sizeof *state);
    state->roles = c->roles;
    state->ts_ms = INT64_MIN;
    snprintf(state->device_id, sizeof state->device_id, "%s", c->id);
    snprintf(state->type, sizeof state->type, "%s", c->type);
    if (c->last_error[0])
        set_reason(state, c->last_error, c->last_code);
    else
        set_reason(state, "not seen since the start", "not_seen");
}

static void on_error(enum bus_event event, const void *payload, void *user)
{
    struct availability *a = user;
    const struct ev_device_error *error = payload;
    struct configured *c = configured_of(a, error->device_id, NULL);
    if (!c)
        return;
    bool changed = strcmp(c->last_error, error->detail) != 0;
    snprintf(c->last_error, sizeof c->last_error, "%s", error->detail);
    snprintf(c->last_code, sizeof c->last_code, "%s", error->code[0] ? error->code : "failed");
    /* A device that keeps failing the same way is logged once, not every poll. */
    if (strcmp(c->logged_error, error->detail) != 0) {
        log_warn("devices", "%s: %s", error->device_id, error->detail);
        snprintf(c->logged_error, sizeof c->logged_error, "%s", error->detail);
    }
    if (!changed)
        return;
    /* Already offline: show the new reason, not the one it went offline with. */
    size_t config_index = (size_t)(c - a->configured);
    for (size_t i = 0; i < a->tracked_count; i++) {
        struct tracked *t = &a->tracked[i];
        if (t->config_index == config_index && !t->online) {
            struct ev_device_state state = t->last_state;
            state.online = false;
            set_reason(&state, c->last_error, c->last_code);
            balkon_bus_publish(a->ctx->bus, BUS_EV_DEVICE_STATE, &state);
        }
    }
    if (c->placeholder_published && !c->seen) {
        struct ev_device_state state;
        placeholder_state(c, &state);
        balkon_bus_publish(a->ctx->bus, BUS_EV_DEVICE_STATE, &state);
    }
}

static bool is_stale(const struct availability *a, const struct configured *c, int64_t since_ms,
                     int64_t now_ms)
{
    uint64_t silent_wall_ms = balkon_clock_wall_ms(&a->ctx->clock, now_ms - since_ms);
    uint64_t limit_wall_ms = balkon_clock_wall_ms(&a->ctx->clock, (int64_t)(c->stale_s * 1000.0));
    if (limit_wall_ms < MIN_STALE_WALL_MS)
        limit_wall_ms = MIN_STALE_WALL_MS;
    return now_ms > since_ms && silent_wall_ms > limit_wall_ms;
}

static void go_offline(struct availability *a, struct tracked *t, int64_t now_ms)
{
    const struct configured *c = &a->configured[t->config_index];
    struct ev_device_state state = t->last_state;
    state.online = false; /* ts_ms stays: the values are as old as the last reading */
    if (c->last_error[0]) {
        set_reason(&state, c->last_error, c->last_code);
    } else {
        char silent[64];
        snprintf(silent, sizeof silent, "nothing heard for %.0f s",
                 (double)(now_ms - t->last_seen_ms) / 1000.0);
        set_reason(&state, silent, "silent");
    }
    t->online = false;
    log_warn("devices", "%s: offline: %s", t->device_id, state.error);
    publish_online(a, t->device_id, false, t->last_seen_ms, state.error);
    balkon_bus_publish(a->ctx->bus, BUS_EV_DEVICE_STATE, &state);
}

/* A device that never answered: shown offline under its config id with the reason. */
static void publish_placeholder(struct availability *a, struct configured *c, int64_t now_ms)
{
    struct ev_device_state state;
    placeholder_state(c, &state);
    c->placeholder_published = true;
    log_warn("devices", "%s: offline: %s", c->id, state.error);
    publish_online(a, c->id, false, INT64_MIN, state.error);
    balkon_bus_publish(a->ctx->bus, BUS_EV_DEVICE_STATE, &state);
}

static void check_cb(uv_timer_t *timer)
{
    struct availability *a = timer->data;
    int64_t now_ms = balkon_clock_now_ms(&a->ctx->clock);
    for (size_t i = 0; i < a->tracked_count; i++) {
        struct tracked *t = &a->tracked[i];
        if (t->online && is_stale(a, &a->configured[t->config_index], t->last_seen_ms, now_ms))
            go_offline(a, t, now_ms);
    }
    for (size_t i = 0; i < a->configured_count; i++) {
        struct configured *c = &a->configured[i];
        if (!c->seen && !c->placeholder_published && is_stale(a, c, a->started_ms, now_ms))
            publish_placeholder(a, c, now_ms);
    }
}

static void on_clock_jumped(enum bus_event event, const void *payload, void *user)
{
    struct availability *a = user;
    int64_t jump_ms = ((const struct ev_clock_jumped *)payload)->jump_ms;
    a->started_ms += jump_ms;
    for (size_t i = 0; i < a->tracked_count; i++)
        a->tracked[i].last_seen_ms += jump_ms;
}

static const struct bus_subscription subscriptions[] = {
    {BUS_EV_DEVICE_STATE, on_state},
    {BUS_EV_DEVICE_ERROR, on_error},
    {BUS_EV_CLOCK_JUMPED, on_clock_jumped},
};
#define SUBSCRIPTION_COUNT (sizeof subscriptions / sizeof subscriptions[0])

struct availability *availability_start(struct balkon_ctx *ctx)
{
    struct availability *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->ctx = ctx;
    a->started_ms = balkon_clock_now_ms(&ctx->clock);
    availability_reconfigure(a);
    if (balkon_bus_subscribe_all(ctx->bus, subscriptions, SUBSCRIPTION_COUNT, a) < 0) {
        free(a);
        return NULL;
    }
    uv_timer_init(ctx->loop, &a->timer);
    a->timer.data = a;
    uv_timer_start(&a->timer, check_cb, CHECK_PERIOD_MS, CHECK_PERIOD_MS);
    return a;
}

void availability_reconfigure(struct availability *a)
{
    const struct balkon_config *config = a->ctx->config;
    struct configured old[BALKON_MAX_DEVICES];
    size_t old_count = a->configured_count;
    memcpy(old, a->configured, sizeof old);
    a->configured_count = 0;
    for (size_t i = 0; i < config->devices.count; i++) {
        const struct balkon_device_config *device = &config->devices.items[i];
        const struct balkon_driver *driver = balkon_driver_find(device->type);
        struct configured *c = &a->configured[a->configured_count++];
        memset(c, 0, sizeof *c);
        for (size_t j = 0; j < old_count; j++)
            if (strcmp(old[j].id, device->id) == 0)
                *c = old[j]; /* keeps what was seen and the last error */
        snprintf(c->id, sizeof c->id, "%s", device->id);
        snprintf(c->type, sizeof c->type, "%s", device->type);
        /* A never-seen device shows the role it is configured for, not every role its
         * driver can have (a Shelly meter is no plug, and gets no switch). */
        unsigned configured_role = device->role[0] ? balkon_driver_role_bit(device->role) : 0;
        c->roles = configured_role ? configured_role : driver ? driver->roles : 0;
        c->stale_s = driver ? driver->stale_s : 10.0;
        if (c->stale_s < 3.0 * device->poll_interval_s)
            c->stale_s = 3.0 * device->poll_interval_s;
    }
    /* Devices of a removed config entry are no longer tracked. */
    size_t kept = 0;
    for (size_t i = 0; i < a->tracked_count; i++) {
        size_t index;
        if (configured_of(a, a->tracked[i].device_id, &index)) {
            a->tracked[i].config_index = index;
            a->tracked[kept++] = a->tracked[i];
        }
    }
    a->tracked_count = kept;
}

static void closed_cb(uv_handle_t *handle)
{
    free(handle->data);
}

void availability_stop(struct availability *a)
{
    if (!a)
        return;
    balkon_bus_unsubscribe_all(a->ctx->bus, subscriptions, SUBSCRIPTION_COUNT, a);
    uv_timer_stop(&a->timer);
    uv_close((uv_handle_t *)&a->timer, closed_cb);
}
