/* The recommend module: when to start each configured appliance.
 *
 * It keeps the newest plan (prices, load forecast, planned battery power per slot) and the
 * newest solar forecast, and recomputes every appliance's best start (balkon_recommend) on
 * every new plan, every 15 simulated minutes and on a config change. After each round it
 * publishes BUS_EV_RECOMMENDATIONS (all of them, for the API) and, for each appliance whose
 * advice changed, BUS_EV_RECOMMENDATION (the hook a notifier turns into a message). The
 * API reads the current list through the recommend.current service.
 *
 * An appliance on a plug with auto_start gets the plug switched on at its recommended start
 * and off after its duration, once per deadline (day). */
#include "balkon/recommend.h"

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
#include <time.h>

/* How often (simulated time) the module looks at the clock: starts and stops are this exact. */
#define TICK_MS (10 * 1000)
#define RETRY_AFTER_FAILURE_MS (60 * 1000)

struct appliance_run {
    struct balkon_appliance_config config;
    struct ev_recommendation rec; /* the last one published */
    bool published;
    int64_t latest_ms; /* the deadline of the last computation */
    struct balkon_rec_result result;
    /* Automatic start: the run in progress or done for deadline started_for_ms. */
    int64_t started_for_ms; /* INT64_MIN: none */
    int64_t run_start_ms;
    int64_t run_end_ms;
    bool running;
    int want_on;        /* -1 nothing to send, else what the plug should be */
    int64_t send_at_ms; /* when to (re)send want_on; INT64_MIN: sent */
    uint64_t last_request_id;
};

struct recommender {
    struct balkon_ctx *ctx;
    struct appliance_run runs[BALKON_MAX_APPLIANCES];
    size_t count;
    struct balkon_plan_slot_row *plan;
    size_t plan_count;
    struct balkon_forecast_slot *pv;
    size_t pv_count;
    char currency[4]; /* the primary price provider's; "" = the tariff's */
    struct ev_recommendations current;
    int64_t next_compute_ms;
    uv_timer_t timer;
};

static void hhmm(int64_t ts_ms, char *buf, size_t size)
{
    time_t t = (time_t)(ts_ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    snprintf(buf, size, "%02d:%02d", tm.tm_hour, tm.tm_min);
}

static const char *currency_of(const struct recommender *r)
{
    return r->currency[0] ? r->currency : r->ctx->config->tariff.currency;
}

/* The next `latest` still ahead of now (today's, or tomorrow's once today's has passed),
 * and the `earliest` before it. */
static void window_of(const struct balkon_appliance_config *a, int64_t now_ms,
                      struct balkon_rec_window *w)
{
    int latest_min = balkon_parse_hhmm(a->latest);
    int64_t midnight_ms = balkon_local_midnight_ms(now_ms, 0);
    int64_t latest_ms = midnight_ms + (int64_t)latest_min * BALKON_MS_PER_MIN;
    if (latest_ms <= now_ms) {
        midnight_ms = balkon_local_midnight_ms(now_ms, 1);
        latest_ms = midnight_ms + (int64_t)latest_min * BALKON_MS_PER_MIN;
    }
    w->now_ms = now_ms;
    w->latest_ms = latest_ms;
    w->earliest_ms = INT64_MIN;
    if (a->earliest[0]) {
        int earliest_min = balkon_parse_hhmm(a->earliest);
        /* An earliest after latest ("22:00" .. "06:00") belongs to the evening before. */
        w->earliest_ms = earliest_min <= latest_min
                             ? midnight_ms + (int64_t)earliest_min * BALKON_MS_PER_MIN
                             : balkon_local_midnight_ms(midnight_ms - 1, 0) +
                                   (int64_t)earliest_min * BALKON_MS_PER_MIN;
    }
}

/* The plan's slots with the surplus the appliance could use: the newest PV forecast where
 * it has the slot (it may be newer than the plan), else the plan's own. */
static size_t build_slots(const struct recommender *r, struct balkon_rec_slot *slots)
{
    const struct balkon_config *config = r->ctx->config;
    size_t k = 0;
    for (size_t i = 0; i < r->plan_count; i++) {
        const struct balkon_plan_slot_row *row = &r->plan[i];
        double pv_w = row->pv_w;
        for (size_t j = 0; j < r->pv_count; j++)
            if (r->pv[j].slot_ts_ms == row->slot_ts_ms && isfinite(r->pv[j].value_w))
                pv_w = r->pv[j].value_w;
        slots[k++] = (struct balkon_rec_slot){
            .slot_ts_ms = row->slot_ts_ms,
            .import_per_kwh =
                isfinite(row->price_per_kwh) ? row->price_per_kwh : config->tariff.import_per_kwh,
            .feed_in_per_kwh = config->tariff.feed_in_per_kwh,
            .surplus_w = balkon_rec_surplus_w(pv_w, row->load_w, row->battery_w),
        };
    }
    return k;
}

static void fill_rec(const struct recommender *r, const struct appliance_run *run,
                     struct ev_recommendation *rec)
{
    memset(rec, 0, sizeof *rec);
    snprintf(rec->id, sizeof rec->id, "%s", run->config.id);
    snprintf(rec->name, sizeof rec->name, "%s",
             run->config.name[0] ? run->config.name : run->config.id);
    snprintf(rec->plug, sizeof rec->plug, "%s", run->config.plug);
    snprintf(rec->currency, sizeof rec->currency, "%s", currency_of(r));
    rec->auto_start = run->config.auto_start;
    rec->latest_ms = run->latest_ms;
    rec->cost = run->result.cost;
    rec->cost_now = run->result.cost_now;
    rec->saving = run->result.saving;
    char start[8], end[8];
    if (run->started_for_ms != INT64_MIN && run->started_for_ms == run->latest_ms) {
        hhmm(run->run_start_ms, start, sizeof start);
        hhmm(run->run_end_ms, end, sizeof end);
        rec->start_ms = run->run_start_ms;
        rec->end_ms = run->run_end_ms;
        snprintf(rec->status, sizeof rec->status, "%s", run->running ? "running" : "done");
        snprintf(rec->sentence, sizeof rec->sentence,
                 run->running ? "%s: started automatically at %s, runs until %s."
                              : "%s: ran from %s to %s (started automatically).",
                 rec->name, start, end);
        return;
    }
    snprintf(rec->status, sizeof rec->status, "%s", balkon_rec_status_name(run->result.status));
    rec->start_ms = run->result.start_ms;
    rec->end_ms = run->result.end_ms;
    snprintf(rec->sentence, sizeof rec->sentence, "%s", run->result.sentence);
}

/* Whether the advice differs enough to tell someone: another status, or another start
 * (a start of "now" stays "now" as the clock moves on). */
static bool advice_changed(const struct ev_recommendation *a, const struct ev_recommendation *b,
                           int64_t a_ts_ms, int64_t b_ts_ms)
{
    if (strcmp(a->status, b->status) != 0)
        return true;
    bool a_now = a->start_ms != INT64_MIN && a->start_ms <= a_ts_ms;
    bool b_now = b->start_ms != INT64_MIN && b->start_ms <= b_ts_ms;
    return a_now != b_now || (!a_now && a->start_ms != b->start_ms);
}

static void publish(struct recommender *r, int64_t now_ms)
{
    struct ev_recommendations *all = &r->current;
    int64_t previous_ts_ms = all->ts_ms;
    all->ts_ms = now_ms;
    all->count = r->count;
    for (size_t i = 0; i < r->count; i++) {
        struct appliance_run *run = &r->runs[i];
        fill_rec(r, run, &all->items[i]);
        if (!run->published || advice_changed(&all->items[i], &run->rec, now_ms, previous_ts_ms)) {
            log_info("recommend", "%s: %s", run->config.id, all->items[i].sentence);
            balkon_bus_publish(r->ctx->bus, BUS_EV_RECOMMENDATION, &all->items[i]);
        }
        run->rec = all->items[i];
        run->published = true;
    }
    balkon_bus_publish(r->ctx->bus, BUS_EV_RECOMMENDATIONS, all);
}

static void compute(struct recommender *r, int64_t now_ms)
{
    struct balkon_rec_slot *slots = r->plan_count ? malloc(r->plan_count * sizeof *slots) : NULL;
    if (r->plan_count && !slots) {
        log_warn("recommend", "out of memory: keeping the previous recommendations");
        return;
    }
    size_t count = build_slots(r, slots);
    for (size_t i = 0; i < r->count; i++) {
        struct appliance_run *run = &r->runs[i];
        struct balkon_rec_window window;
        window_of(&run->config, now_ms, &window);
        run->latest_ms = window.latest_ms;
        struct balkon_rec_appliance appliance = {
            .name = run->config.name[0] ? run->config.name : run->config.id,
            .duration_s = run->config.duration_min * 60.0,
            .energy_wh = run->config.energy_kwh * 1000.0,
        };
        balkon_recommend(&appliance, slots, count, &window, currency_of(r), &run->result);
    }
    free(slots);
    r->next_compute_ms = balkon_floor_ms(now_ms, BALKON_REC_SLOT_MS) + BALKON_REC_SLOT_MS;
    publish(r, now_ms);
}

static void send_switch(struct recommender *r, struct appliance_run *run, int64_t now_ms)
{
    struct device_command command = {.value = run->want_on, .request_id = balkon_command_id_next()};
    snprintf(command.device_id, sizeof command.device_id, "%s", run->config.plug);
    snprintf(command.command, sizeof command.command, "switch");
    snprintf(command.source, sizeof command.source, "recommend");
    run->last_request_id = command.request_id;
    run->send_at_ms = INT64_MIN;
    log_info("recommend", "%s: switching %s %s", run->config.id, run->config.plug,
             run->want_on ? "on" : "off");
    char why[128]; /* a refusal arrives as a result, during the call */
    balkon_command_send(r->ctx->services, &command, why, sizeof why);
}

/* Starts and stops automatic runs; true when one changed state. */
static bool drive_plugs(struct recommender *r, int64_t now_ms)
{
    bool changed = false;
    for (size_t i = 0; i < r->count; i++) {
        struct appliance_run *run = &r->runs[i];
        if (!run->config.auto_start || !run->config.plug[0])
            continue;
        if (run->running && now_ms >= run->run_end_ms) {
            run->running = false;
            run->want_on = 0;
            run->send_at_ms = now_ms;
            changed = true;
        } else if (!run->running && run->started_for_ms != run->latest_ms &&
                   run->result.status == BALKON_REC_OK && now_ms >= run->result.start_ms) {
            run->running = true;
            run->started_for_ms = run->latest_ms;
            run->run_start_ms = now_ms;
            run->run_end_ms = now_ms + (int64_t)llround(run->config.duration_min * 60000.0);
            run->want_on = 1;
            run->send_at_ms = now_ms;
            changed = true;
        }
        if (run->want_on >= 0 && run->send_at_ms != INT64_MIN && now_ms >= run->send_at_ms)
            send_switch(r, run, now_ms);
    }
    return changed;
}

static void tick(struct recommender *r)
{
    int64_t now_ms = balkon_clock_now_ms(&r->ctx->clock);
    bool deadline_passed = false;
    for (size_t i = 0; i < r->count; i++)
        deadline_passed |= r->runs[i].latest_ms != 0 && now_ms >= r->runs[i].latest_ms;
    if (now_ms >= r->next_compute_ms || deadline_passed)
        compute(r, now_ms);
    if (drive_plugs(r, now_ms))
        publish(r, now_ms);
}

static void timer_cb(uv_timer_t *timer)
{
    tick(timer->data);
}

/* Follows the config: appliances keep their automatic run across reloads. */
static void apply_config(struct recommender *r)
{
    const struct balkon_config *config = r->ctx->config;
    struct appliance_run old[BALKON_MAX_APPLIANCES];
    size_t old_count = r->count;
    memcpy(old, r->runs, sizeof old);
    r->count = 0;
    for (size_t i = 0; i < config->appliances.count && i < EV_RECOMMENDATIONS_MAX; i++) {
        struct appliance_run *run = &r->runs[r->count++];
        memset(run, 0, sizeof *run);
        run->started_for_ms = run->run_start_ms = run->run_end_ms = INT64_MIN;
        run->want_on = -1;
        run->send_at_ms = INT64_MIN;
        for (size_t j = 0; j < old_count; j++)
            if (strcmp(old[j].config.id, config->appliances.items[i].id) == 0 &&
                strcmp(old[j].config.plug, config->appliances.items[i].plug) == 0)
                *run = old[j];
        run->config = config->appliances.items[i];
    }
}

static void on_plan(enum bus_event event, const void *payload, void *user)
{
    struct recommender *r = user;
    const struct ev_plan *plan = payload;
    struct balkon_plan_slot_row *copy = plan->count ? malloc(plan->count * sizeof *copy) : NULL;
    if (plan->count && !copy) {
        log_warn("recommend", "out of memory: keeping the previous plan");
        return;
    }
    if (copy)
        memcpy(copy, plan->slots, plan->count * sizeof *copy);
    free(r->plan);
    r->plan = copy;
    r->plan_count = plan->count;
    int64_t now_ms = balkon_clock_now_ms(&r->ctx->clock);
    compute(r, now_ms);
    if (drive_plugs(r, now_ms))
        publish(r, now_ms);
}

static void on_forecast(enum bus_event event, const void *payload, void *user)
{
    struct recommender *r = user;
    const struct ev_forecast *forecast = payload;
    if (strcmp(forecast->kind, "pv") != 0)
        return;
    struct balkon_forecast_slot *copy =
        forecast->count ? malloc(forecast->count * sizeof *copy) : NULL;
    if (forecast->count && !copy)
        return; /* the plan's own PV stays good enough */
    if (copy)
        memcpy(copy, forecast->slots, forecast->count * sizeof *copy);
    free(r->pv);
    r->pv = copy;
    r->pv_count = forecast->count;
}

static void on_prices(enum bus_event event, const void *payload, void *user)
{
    struct recommender *r = user;
    const struct ev_prices *prices = payload;
    if (prices->primary)
        snprintf(r->currency, sizeof r->currency, "%s", prices->currency);
}

static void on_command_result(enum bus_event event, const void *payload, void *user)
{
    struct recommender *r = user;
    const struct ev_command_result *result = payload;
    if (strcmp(result->source, "recommend") != 0)
        return;
    for (size_t i = 0; i < r->count; i++) {
        struct appliance_run *run = &r->runs[i];
        if (run->last_request_id != result->request_id)
            continue;
        if (result->ok) {
            run->want_on = -1;
            log_info("recommend", "%s: %s switched %s, confirmed (command %llu)", run->config.id,
                     run->config.plug, result->value ? "on" : "off",
                     (unsigned long long)result->request_id);
        } else {
            run->send_at_ms = balkon_clock_now_ms(&r->ctx->clock) + RETRY_AFTER_FAILURE_MS;
            log_warn("recommend", "%s: switching %s %s failed: %s; retrying in a minute",
                     run->config.id, run->config.plug, result->value ? "on" : "off",
                     result->detail);
        }
    }
}

/* The recommend.current service. */
static void current_service(void *self, struct ev_recommendations *out)
{
    const struct recommender *r = self;
    *out = r->current;
}

static void on_config_changed(enum bus_event event, const void *payload, void *user)
{
    struct recommender *r = user;
    apply_config(r);
    compute(r, balkon_clock_now_ms(&r->ctx->clock));
}

/* The clock jumped: advise for the new time at once (a plug still to switch is sent now). */
static void on_clock_jumped(enum bus_event event, const void *payload, void *user)
{
    struct recommender *r = user;
    for (size_t i = 0; i < r->count; i++)
        if (r->runs[i].send_at_ms != INT64_MIN)
            r->runs[i].send_at_ms = INT64_MIN + 1;
    compute(r, balkon_clock_now_ms(&r->ctx->clock));
}

static const struct {
    enum bus_event event;
    balkon_bus_cb cb;
} subscriptions[] = {
    {BUS_EV_PLAN, on_plan},
    {BUS_EV_FORECAST, on_forecast},
    {BUS_EV_PRICES, on_prices},
    {BUS_EV_COMMAND_RESULT, on_command_result},
    {BUS_EV_CONFIG_CHANGED, on_config_changed},
    {BUS_EV_CLOCK_JUMPED, on_clock_jumped},
};
#define SUBSCRIPTION_COUNT (sizeof subscriptions / sizeof subscriptions[0])

static void unsubscribe(struct recommender *r)
{
    for (size_t i = 0; i < SUBSCRIPTION_COUNT; i++)
        balkon_bus_unsubscribe(r->ctx->bus, subscriptions[i].event, subscriptions[i].cb, r);
}

static int recommend_start(struct balkon_ctx *ctx, void **state)
{
    struct recommender *r = calloc(1, sizeof *r);
    if (!r)
        return BALKON_E_NOMEM;
    r->ctx = ctx;
    apply_config(r);
    for (size_t i = 0; i < SUBSCRIPTION_COUNT; i++) {
        int rc = balkon_bus_subscribe(ctx->bus, subscriptions[i].event, subscriptions[i].cb, r);
        if (rc < 0) {
            log_error("recommend", "cannot subscribe: %s", balkon_strerror(rc));
            unsubscribe(r);
            free(r);
            return rc;
        }
    }
    /* Until the first plan: every appliance says so. */
    compute(r, balkon_clock_now_ms(&ctx->clock));
    uv_timer_init(ctx->loop, &r->timer);
    r->timer.data = r;
    uint64_t period = balkon_clock_wall_ms(&ctx->clock, TICK_MS);
    uv_timer_start(&r->timer, timer_cb, period, period);
    if (ctx->services) {
        ctx->services->recommend.current = current_service;
        ctx->services->recommend.self = r;
    }
    *state = r;
    return 0;
}

static void recommend_stop(void *state)
{
    struct recommender *r = state;
    if (r->ctx->services)
        r->ctx->services->recommend.self = NULL;
    unsubscribe(r);
    uv_close((uv_handle_t *)&r->timer, NULL);
}

/* After the loop has ended, so the timer's close has completed. */
static void recommend_free(void *state)
{
    struct recommender *r = state;
    free(r->plan);
    free(r->pv);
    free(r);
}

const struct balkon_module balkon_module_recommend = {
    .name = "recommend",
    .start = recommend_start,
    .stop = recommend_stop,
    .free = recommend_free,
};
