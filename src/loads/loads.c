/* The loads module: switches the configured deferrable loads' smart plugs.
 *
 * On every site status (the power balance, a few seconds apart) it counts each load's run
 * time, asks balkon_load_decide what the load should do, sends a "switch" command when
 * that changes, and publishes BUS_EV_LOADS_STATUS with the reason in words. A plug that
 * someone switches at the plug itself is left alone for the rest of the day (a manual
 * override), and a plug that is offline is not commanded. */
#include "balkon/loads.h"

#include "balkon/bus.h"
#include "balkon/config.h"
#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/module.h"
#include "balkon/services.h"
#include "balkon/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A plug reporting another state this long after our last command was switched by hand. */
#define HAND_SWITCH_GRACE_MS (30 * 1000)
#define RETRY_AFTER_FAILURE_MS (60 * 1000)

struct load_run {
    struct balkon_load_config config;
    struct balkon_load_params params;
    struct balkon_load_state state;
    struct balkon_load_decision decision;
    bool plug_seen;
    bool plug_online;
    int plug_on; /* -1 unknown, else what the plug reports */
    double plug_w;
    int64_t last_command_ms; /* INT64_MIN: none */
    uint64_t last_request_id;
    int64_t failed_ms; /* our last command failed at; INT64_MIN: none */
};

struct loads {
    struct balkon_ctx *ctx;
    struct load_run runs[BALKON_MAX_LOADS];
    size_t count;
    struct balkon_price_slot *prices;
    size_t price_count;
    int64_t day_start_ms;
    int64_t last_status_ms; /* INT64_MIN: none yet */
};

static void load_params(struct loads *loads, struct load_run *run)
{
    const struct balkon_config *config = loads->ctx->config;
    run->params = (struct balkon_load_params){
        .mode = (enum balkon_load_mode)balkon_load_mode_parse(run->config.mode),
        .power_w = run->config.power_w,
        .run_s = run->config.run_min * 60.0,
        .min_on_s = run->config.min_on_s,
        .min_off_s = run->config.min_off_s,
        .battery_priority_soc_pct = run->config.battery_priority_soc_pct,
        .battery_max_charge_w =
            config->battery.capacity_wh > 0 ? config->battery.max_charge_w : 0.0,
    };
}

/* Follows the config: loads keep their state (run time, overrides) across reloads. */
static void apply_config(struct loads *loads)
{
    const struct balkon_config *config = loads->ctx->config;
    struct load_run old[BALKON_MAX_LOADS];
    size_t old_count = loads->count;
    memcpy(old, loads->runs, sizeof old);
    loads->count = 0;
    for (size_t i = 0; i < config->loads.count; i++) {
        struct load_run *run = &loads->runs[loads->count++];
        memset(run, 0, sizeof *run);
        run->state.switched_ms = run->state.surplus_since_ms = run->state.deficit_since_ms =
            INT64_MIN;
        run->last_command_ms = run->failed_ms = INT64_MIN;
        run->plug_on = -1;
        run->plug_w = NAN;
        for (size_t j = 0; j < old_count; j++)
            if (strcmp(old[j].config.id, config->loads.items[i].id) == 0 &&
                strcmp(old[j].config.plug, config->loads.items[i].plug) == 0)
                *run = old[j];
        run->config = config->loads.items[i];
        load_params(loads, run);
    }
}

static void send_switch(struct loads *loads, struct load_run *run, bool on, int64_t now_ms)
{
    struct device_command command = {.value = on ? 1 : 0, .request_id = balkon_command_id_next()};
    snprintf(command.device_id, sizeof command.device_id, "%s", run->config.plug);
    snprintf(command.command, sizeof command.command, "switch");
    snprintf(command.source, sizeof command.source, "loads");
    run->last_command_ms = now_ms;
    log_info("loads", "%s: switching %s (%s)", run->config.id, on ? "on" : "off",
             run->decision.reason);
    run->last_request_id = command.request_id; /* a refusal's result arrives during the call */
    char why[128];
    if (balkon_command_send(loads->ctx->services, &command, why, sizeof why) == BALKON_E_BUSY)
        log_warn("loads", "%s: cannot switch: %s", run->config.id, why);
}

static void publish_status(struct loads *loads, int64_t now_ms)
{
    struct ev_loads_status status = {.ts_ms = now_ms, .count = loads->count};
    for (size_t i = 0; i < loads->count && i < EV_LOADS_MAX; i++) {
        const struct load_run *run = &loads->runs[i];
        struct ev_load_status *item = &status.items[i];
        snprintf(item->id, sizeof item->id, "%s", run->config.id);
        snprintf(item->name, sizeof item->name, "%s", run->config.name);
        snprintf(item->plug, sizeof item->plug, "%s", run->config.plug);
        snprintf(item->mode, sizeof item->mode, "%s", run->config.mode);
        item->on = run->state.on;
        item->plug_online = run->plug_online;
        item->power_w = run->plug_w;
        item->run_today_min = run->state.run_today_s / 60.0;
        item->run_target_min = run->config.run_min;
        snprintf(item->override, sizeof item->override, "%s",
                 run->state.override == BALKON_LOAD_FORCE_ON    ? "on"
                 : run->state.override == BALKON_LOAD_FORCE_OFF ? "off"
                                                                : "");
        item->override_until_ms =
            run->state.override == BALKON_LOAD_AUTO ? INT64_MIN : run->state.override_until_ms;
        item->next_start_ms = run->decision.next_start_ms;
        snprintf(item->reason, sizeof item->reason, "%s",
                 run->plug_seen ? (run->plug_online ? run->decision.reason : "the plug is offline")
                                : "waiting for the plug to report");
    }
    balkon_bus_publish(loads->ctx->bus, BUS_EV_LOADS_STATUS, &status);
}

/* Someone switched the plug itself: respect it for the rest of the day. */
static void adopt_hand_switch(struct loads *loads, struct load_run *run, int64_t now_ms)
{
    if (run->plug_on < 0 || (run->plug_on == 1) == run->state.on ||
        run->state.override != BALKON_LOAD_AUTO)
        return;
    if (run->last_command_ms != INT64_MIN && now_ms - run->last_command_ms < HAND_SWITCH_GRACE_MS)
        return;
    if (run->failed_ms != INT64_MIN && now_ms - run->failed_ms < RETRY_AFTER_FAILURE_MS)
        return;
    run->state.on = run->plug_on == 1;
    run->state.switched_ms = now_ms;
    run->state.override = run->state.on ? BALKON_LOAD_FORCE_ON : BALKON_LOAD_FORCE_OFF;
    run->state.override_until_ms = balkon_local_midnight_ms(now_ms, 1);
    log_info("loads", "%s: switched %s at the plug; left so until midnight", run->config.id,
             run->state.on ? "on" : "off");
}

static void decide_one(struct loads *loads, struct load_run *run, const struct ev_site_status *site,
                       int64_t now_ms)
{
    int64_t midnight_ms = loads->day_start_ms;
    struct balkon_load_inputs in = {
        .now_ms = now_ms,
        .earliest_ms = midnight_ms + (int64_t)balkon_parse_hhmm(run->config.earliest) * 60000,
        .latest_ms = midnight_ms + (int64_t)balkon_parse_hhmm(run->config.latest) * 60000,
        .pv_w = site->pv_w,
        .home_w = site->home_w,
        .soc_pct = site->soc_pct,
        .load_w = run->plug_w,
        .prices = loads->prices,
        .price_count = loads->price_count,
    };
    adopt_hand_switch(loads, run, now_ms);
    bool was_on = run->state.on;
    balkon_load_decide(&run->params, &run->state, &in, &run->decision);
    if (!run->plug_online)
        return; /* nothing to command; decide again when it is back */
    bool differs_from_plug = run->plug_on >= 0 && (run->plug_on == 1) != run->decision.on;
    bool retry = run->failed_ms != INT64_MIN && now_ms - run->failed_ms >= RETRY_AFTER_FAILURE_MS &&
                 differs_from_plug;
    if (run->decision.on != was_on || retry) {
        run->state.on = run->decision.on;
        run->state.switched_ms = now_ms;
        run->failed_ms = INT64_MIN;
        send_switch(loads, run, run->decision.on, now_ms);
    }
}

static void on_site_status(enum bus_event event, const void *payload, void *user)
{
    struct loads *loads = user;
    const struct ev_site_status *site = payload;
    int64_t now_ms = site->ts_ms;
    int64_t midnight_ms = balkon_local_midnight_ms(now_ms, 0);
    bool new_day = midnight_ms != loads->day_start_ms;
    loads->day_start_ms = midnight_ms;
    for (size_t i = 0; i < loads->count; i++) {
        struct load_run *run = &loads->runs[i];
        if (new_day) {
            run->state.run_today_s = 0.0;
            run->state.started = false;
        } else if (loads->last_status_ms != INT64_MIN) {
            bool running = run->plug_on >= 0 ? run->plug_on == 1 : run->state.on;
            if (running)
                run->state.run_today_s += (double)(now_ms - loads->last_status_ms) / 1000.0;
        }
        decide_one(loads, run, site, now_ms);
    }
    loads->last_status_ms = now_ms;
    if (loads->count)
        publish_status(loads, now_ms);
}

static void on_device_state(enum bus_event event, const void *payload, void *user)
{
    struct loads *loads = user;
    const struct ev_device_state *state = payload;
    for (size_t i = 0; i < loads->count; i++) {
        struct load_run *run = &loads->runs[i];
        if (strcmp(run->config.plug, state->device_id) != 0)
            continue;
        run->plug_seen = true;
        run->plug_online = state->online;
        for (size_t v = 0; v < state->value_count; v++) {
            if (strcmp(state->values[v].name, "on") == 0)
                run->plug_on = state->values[v].value != 0;
            else if (strcmp(state->values[v].name, "power_w") == 0)
                run->plug_w = state->values[v].value;
        }
    }
}

static void on_command_result(enum bus_event event, const void *payload, void *user)
{
    struct loads *loads = user;
    const struct ev_command_result *result = payload;
    if (strcmp(result->source, "loads") != 0 || result->ok)
        return;
    for (size_t i = 0; i < loads->count; i++) {
        struct load_run *run = &loads->runs[i];
        if (run->last_request_id == result->request_id) {
            run->failed_ms = balkon_clock_now_ms(&loads->ctx->clock);
            log_warn("loads", "%s: switching %s failed: %s; retrying in a minute", run->config.id,
                     result->value ? "on" : "off", result->detail);
        }
    }
}

static void on_prices(enum bus_event event, const void *payload, void *user)
{
    struct loads *loads = user;
    const struct ev_prices *prices = payload;
    if (!prices->primary)
        return;
    struct balkon_price_slot *copy = prices->count ? malloc(prices->count * sizeof *copy) : NULL;
    if (prices->count && !copy) {
        log_warn("loads", "out of memory: keeping the previous prices");
        return;
    }
    if (copy)
        memcpy(copy, prices->slots, prices->count * sizeof *copy);
    free(loads->prices);
    loads->prices = copy;
    loads->price_count = prices->count;
}

/* The loads.override service. */
static int override_service(void *self, const struct balkon_load_request *request, char *msg,
                            size_t msg_size)
{
    struct loads *loads = self;
    int rc = BALKON_E_NOTFOUND;
    int64_t now_ms = balkon_clock_now_ms(&loads->ctx->clock);
    for (size_t i = 0; i < loads->count; i++) {
        struct load_run *run = &loads->runs[i];
        if (strcmp(run->config.id, request->id) != 0)
            continue;
        if (strcmp(request->state, "auto") == 0) {
            run->state.override = BALKON_LOAD_AUTO;
        } else {
            run->state.override =
                strcmp(request->state, "on") == 0 ? BALKON_LOAD_FORCE_ON : BALKON_LOAD_FORCE_OFF;
            run->state.override_until_ms = request->duration_s > 0
                                               ? now_ms + (int64_t)(request->duration_s * 1000.0)
                                               : balkon_local_midnight_ms(now_ms, 1);
        }
        log_info("loads", "%s: %s by hand", run->config.id, request->state);
        /* Act at once rather than at the next site status: the user is watching. */
        struct ev_site_status site = {.ts_ms = now_ms, .pv_w = NAN, .home_w = NAN, .soc_pct = NAN};
        decide_one(loads, run, &site, now_ms);
        publish_status(loads, now_ms);
        rc = 0;
    }
    if (rc < 0)
        snprintf(msg, msg_size, "no such load: %s", request->id);
    return rc;
}

static void on_config_changed(enum bus_event event, const void *payload, void *user)
{
    apply_config(user);
}

/* The clock jumped: minimum on/off times, surplus and deficit delays and overrides keep
 * their length. */
static void on_clock_jumped(enum bus_event event, const void *payload, void *user)
{
    struct loads *loads = user;
    int64_t jump_ms = ((const struct ev_clock_jumped *)payload)->jump_ms;
    int64_t *times[4];
    for (size_t i = 0; i < loads->count; i++) {
        struct balkon_load_state *s = &loads->runs[i].state;
        times[0] = &s->switched_ms;
        times[1] = &s->surplus_since_ms;
        times[2] = &s->deficit_since_ms;
        times[3] = &s->override_until_ms;
        for (size_t t = 0; t < 4; t++)
            if (*times[t] != INT64_MIN && *times[t] != 0)
                *times[t] += jump_ms;
    }
    if (loads->last_status_ms != INT64_MIN)
        loads->last_status_ms += jump_ms;
}

static const struct bus_subscription subscriptions[] = {
    {BUS_EV_SITE_STATUS, on_site_status},       {BUS_EV_DEVICE_STATE, on_device_state},
    {BUS_EV_COMMAND_RESULT, on_command_result}, {BUS_EV_PRICES, on_prices},
    {BUS_EV_CONFIG_CHANGED, on_config_changed}, {BUS_EV_CLOCK_JUMPED, on_clock_jumped},
};
#define SUBSCRIPTION_COUNT (sizeof subscriptions / sizeof subscriptions[0])

static int loads_start(struct balkon_ctx *ctx, void **state)
{
    struct loads *loads = calloc(1, sizeof *loads);
    if (!loads)
        return BALKON_E_NOMEM;
    loads->ctx = ctx;
    loads->last_status_ms = INT64_MIN;
    loads->day_start_ms = balkon_local_midnight_ms(balkon_clock_now_ms(&ctx->clock), 0);
    apply_config(loads);
    int rc = balkon_bus_subscribe_all(ctx->bus, subscriptions, SUBSCRIPTION_COUNT, loads);
    if (rc < 0) {
        log_error("loads", "cannot subscribe: %s", balkon_strerror(rc));
        free(loads);
        return rc;
    }
    if (ctx->services) {
        ctx->services->loads.override = override_service;
        ctx->services->loads.self = loads;
    }
    *state = loads;
    return 0;
}

static void loads_stop(void *state)
{
    struct loads *loads = state;
    if (loads->ctx->services)
        loads->ctx->services->loads.self = NULL;
    balkon_bus_unsubscribe_all(loads->ctx->bus, subscriptions, SUBSCRIPTION_COUNT, loads);
}

static void loads_free(void *state)
{
    struct loads *loads = state;
    free(loads->prices);
    free(loads);
}

const struct balkon_module balkon_module_loads = {
    .name = "loads",
    .start = loads_start,
    .stop = loads_stop,
    .free = loads_free,
};
