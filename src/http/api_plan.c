/* GET /api/v1/plan: the plan in force, slot by slot, with the baselines and what it is
 *   expected to save.
 * GET /api/v1/strategy: the strategies and the one in use.
 * PUT /api/v1/strategy {"strategy": "optimal"}: switches at run time (until the config's
 *   strategy changes); answers with the new plan's summary.
 *
 * A plan changes every 15 minutes but is read far more often, so it is read and rendered
 * once, on the thread pool, and kept (state->caches.plan) until the planner publishes the
 * next: the slot columns as one finished text, with only the small "now" object (the slot
 * in force, which moves with the clock) written per request. */
#include "http_internal.h"

#include "json_writer.h"

#include "balkon/bus.h"
#include "balkon/config.h"
#include "balkon/error.h"
#include "balkon/optimizer.h"
#include "balkon/store.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

/* What the answer's "now" object needs of each slot. */
struct plan_now {
    int64_t slot_ts_ms;
    char mode[16];
    double battery_w;
    double soc_pct;
    double price_per_kwh;
    char reason[160]; /* the slot's reason object as compact JSON; "" for an older plan */
    char state[16];   /* the battery's state the reason stands for; "" for an older plan */
};

struct http_plan {
    int64_t id;
    char strategy[32];
    int32_t slot_s;
    char *summary; /* the summary object as compact JSON */
    char *head;    /* {"id":…,"summary":{…}  (open: "now" and the columns follow) */
    size_t head_len;
    char *columns; /* "ts":[…],…,"cost_self_consumption":[…]}  (the object's rest) */
    size_t columns_len;
    struct plan_now *now; /* one per slot */
    size_t count;
    struct http_kept answer; /* the whole answer while slot answer_slot is in force */
    size_t answer_slot;
};

void http_plan_free(struct http_plan *plan)
{
    if (!plan)
        return;
    free(plan->summary);
    free(plan->head);
    free(plan->columns);
    free(plan->now);
    http_kept_forget(&plan->answer);
    free(plan);
}

/* The stored summary, re-printed compactly so the answer's bytes do not depend on how it
 * was stored. A plan stored before the slots' reasons were columns (schema version 6) holds
 * them in its summary as a list, left out here: such a plan answers null reasons. */
static char *compact_summary(const char *stored)
{
    cJSON *summary = cJSON_Parse(stored ? stored : "");
    cJSON_DeleteItemFromObjectCaseSensitive(summary, "slot_reasons");
    char *text = cJSON_PrintUnformatted(summary ? summary : cJSON_CreateObject());
    cJSON_Delete(summary);
    return text;
}

static char *render_head(const struct balkon_plan_record *record, const char *summary, size_t *len)
{
    struct json_writer w;
    json_writer_init(&w, 256 + strlen(summary));
    jw_object_begin(&w);
    jw_key(&w, "id");
    jw_int(&w, record->id);
    jw_key(&w, "created");
    jw_time(&w, record->created_ts_ms);
    jw_key(&w, "strategy");
    jw_string(&w, record->strategy);
    jw_key(&w, "currency");
    jw_string(&w, record->currency);
    jw_key(&w, "slot_s");
    jw_int(&w, record->slot_s);
    jw_key(&w, "summary");
    jw_raw_value(&w, summary, strlen(summary));
    return json_writer_finish(&w, len);
}

/* Each column: its key, the field's offset in a slot row and its decimals. */
static const struct {
    const char *key;
    size_t offset;
    int decimals;
} number_columns[] = {
    {"battery_w", offsetof(struct balkon_plan_slot_row, battery_w), 1},
    {"soc_pct", offsetof(struct balkon_plan_slot_row, soc_pct), 1},
    {"pv_w", offsetof(struct balkon_plan_slot_row, pv_w), 1},
    {"load_w", offsetof(struct balkon_plan_slot_row, load_w), 1},
    {"import_w", offsetof(struct balkon_plan_slot_row, import_w), 1},
    {"export_w", offsetof(struct balkon_plan_slot_row, export_w), 1},
    {"price", offsetof(struct balkon_plan_slot_row, price_per_kwh), 5},
    {"cost", offsetof(struct balkon_plan_slot_row, cost), 5},
    {"cost_no_battery", offsetof(struct balkon_plan_slot_row, cost_no_battery), 5},
    {"cost_self_consumption", offsetof(struct balkon_plan_slot_row, cost_self_consumption), 5},
};

static char *render_columns(const struct balkon_plan_record *record, const struct plan_now *now,
                            size_t *len)
{
    struct json_writer w;
    json_writer_init(&w, 256 + record->count * 120);
    jw_key(&w, "ts");
    jw_array_begin(&w);
    for (size_t i = 0; i < record->count; i++)
        jw_int(&w, record->slots[i].slot_ts_ms);
    jw_array_end(&w);
    jw_key(&w, "mode");
    jw_array_begin(&w);
    for (size_t i = 0; i < record->count; i++)
        jw_string(&w, record->slots[i].mode);
    jw_array_end(&w);
    for (size_t c = 0; c < sizeof number_columns / sizeof *number_columns; c++) {
        jw_key(&w, number_columns[c].key);
        jw_array_begin(&w);
        for (size_t i = 0; i < record->count; i++)
            jw_number(&w,
                      *(const double *)((const char *)&record->slots[i] + number_columns[c].offset),
                      number_columns[c].decimals);
        jw_array_end(&w);
    }
    jw_key(&w, "reason");
    jw_array_begin(&w);
    for (size_t i = 0; i < record->count; i++)
        if (now[i].reason[0])
            jw_raw_value(&w, now[i].reason, strlen(now[i].reason));
        else
            jw_null(&w);
    jw_array_end(&w);
    jw_object_end(&w);
    return json_writer_finish(&w, len);
}

/* A slot's reason object ({"code","state"[,"ts_ms"][,"price_per_kwh"]}) from its columns. */
static void reason_of_row(const struct balkon_plan_slot_row *row, struct plan_now *now)
{
    snprintf(now->state, sizeof now->state, "%s", row->reason_state);
    struct json_writer w;
    json_writer_init(&w, 160);
    jw_object_begin(&w);
    jw_key(&w, "code");
    jw_string(&w, row->reason_code);
    jw_key(&w, "state");
    jw_string(&w, row->reason_state);
    if (row->reason_ts_ms != INT64_MIN) {
        jw_key(&w, "ts_ms");
        jw_int(&w, row->reason_ts_ms);
    }
    if (isfinite(row->reason_price_per_kwh)) {
        jw_key(&w, "price_per_kwh");
        jw_number(&w, row->reason_price_per_kwh, 5);
    }
    jw_object_end(&w);
    size_t len = 0;
    char *text = json_writer_finish(&w, &len);
    if (text && len < sizeof now->reason)
        memcpy(now->reason, text, len + 1);
    free(text);
}

/* Renders a stored plan; NULL when out of memory. */
static struct http_plan *render_plan(const struct balkon_plan_record *record)
{
    struct http_plan *plan = calloc(1, sizeof *plan);
    if (!plan)
        return NULL;
    plan->id = record->id;
    plan->slot_s = record->slot_s;
    snprintf(plan->strategy, sizeof plan->strategy, "%s", record->strategy);
    plan->count = record->count;
    plan->summary = compact_summary(record->summary_json);
    plan->now = calloc(record->count ? record->count : 1, sizeof *plan->now);
    if (!plan->summary || !plan->now)
        goto fail;
    for (size_t i = 0; i < record->count; i++)
        if (record->slots[i].reason_code[0])
            reason_of_row(&record->slots[i], &plan->now[i]);
    plan->head = render_head(record, plan->summary, &plan->head_len);
    plan->columns = render_columns(record, plan->now, &plan->columns_len);
    if (!plan->head || !plan->columns)
        goto fail;
    for (size_t i = 0; i < record->count; i++) {
        const struct balkon_plan_slot_row *row = &record->slots[i];
        struct plan_now *now = &plan->now[i];
        now->slot_ts_ms = row->slot_ts_ms;
        snprintf(now->mode, sizeof now->mode, "%s", row->mode);
        now->battery_w = row->battery_w;
        now->soc_pct = row->soc_pct;
        now->price_per_kwh = row->price_per_kwh;
    }
    return plan;
fail:
    http_plan_free(plan);
    return NULL;
}

/* The slot in force at now_ms, or the first one. */
static size_t current_slot(const struct http_plan *plan, int64_t now_ms)
{
    for (size_t i = 0; i < plan->count; i++)
        if (now_ms >= plan->now[i].slot_ts_ms &&
            now_ms < plan->now[i].slot_ts_ms + plan->slot_s * 1000)
            return i;
    return 0;
}

static void add_reason(struct json_writer *w, const struct plan_now *slot)
{
    jw_key(w, "reason");
    if (slot->reason[0])
        jw_raw_value(w, slot->reason, strlen(slot->reason));
    else
        jw_null(w);
}

/* "What's next": the first later slot where the battery's state changes (charging,
 * discharging, holding, resting: src/planner/reasons.c; the mode for an older plan without
 * reasons), with its time, price and reason; null when it holds to the horizon. The state,
 * not the optimizer's mode: a "discharge" slot may charge from a surplus. */
static void add_next(struct json_writer *w, const struct http_plan *plan, size_t current)
{
    const struct plan_now *now = &plan->now[current];
    jw_key(w, "next");
    for (size_t i = current + 1; i < plan->count; i++) {
        const struct plan_now *slot = &plan->now[i];
        if (now->state[0] && slot->state[0] ? strcmp(slot->state, now->state) == 0
                                            : strcmp(slot->mode, now->mode) == 0)
            continue;
        jw_object_begin(w);
        jw_key(w, "slot");
        jw_time(w, slot->slot_ts_ms);
        jw_key(w, "ts_ms");
        jw_int(w, slot->slot_ts_ms);
        jw_key(w, "mode");
        jw_string(w, slot->mode);
        jw_key(w, "battery_w");
        jw_number(w, slot->battery_w, 1);
        jw_key(w, "price_per_kwh");
        jw_number(w, slot->price_per_kwh, 5);
        add_reason(w, slot);
        jw_object_end(w);
        return;
    }
    jw_null(w);
}

/* The whole answer at now_ms: the head, the slot in force, the columns. */
static void reply_plan(const struct http_plan *plan, int64_t now_ms, struct http_response *response)
{
    struct json_writer w;
    json_writer_init(&w, plan->head_len + plan->columns_len + 160);
    jw_raw_value(&w, plan->head, plan->head_len);
    if (plan->count) {
        const struct plan_now *now = &plan->now[current_slot(plan, now_ms)];
        jw_key(&w, "now");
        jw_object_begin(&w);
        jw_key(&w, "slot");
        jw_time(&w, now->slot_ts_ms);
        jw_key(&w, "mode");
        jw_string(&w, now->mode);
        jw_key(&w, "battery_w");
        jw_number(&w, now->battery_w, 1);
        jw_key(&w, "soc_pct");
        jw_number(&w, now->soc_pct, 1);
        jw_key(&w, "price_per_kwh");
        jw_number(&w, now->price_per_kwh, 5);
        add_reason(&w, now);
        add_next(&w, plan, (size_t)(now - plan->now));
        jw_object_end(&w);
    }
    jw_raw_value(&w, plan->columns, plan->columns_len);
    http_reply_written(response, &w);
}

static cJSON *strategies_json(const struct http_plan *plan, const char *configured)
{
    cJSON *json = cJSON_CreateObject();
    if (plan) {
        cJSON_AddStringToObject(json, "active", plan->strategy);
        cJSON *summary = cJSON_Parse(plan->summary);
        cJSON_AddItemToObject(json, "summary", summary ? summary : cJSON_CreateObject());
    } else {
        cJSON_AddNullToObject(json, "active");
    }
    cJSON_AddStringToObject(json, "configured", configured);
    cJSON *list = cJSON_AddArrayToObject(json, "strategies");
    size_t count;
    const struct balkon_opt_strategy *const *strategies = balkon_opt_strategies(&count);
    for (size_t i = 0; i < count; i++) {
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "name", strategies[i]->name);
        cJSON_AddStringToObject(item, "description", strategies[i]->description);
        cJSON_AddItemToArray(list, item);
    }
    return json;
}

/* A plan read on the pool, for GET /plan or the strategy answers. */
struct plan_read {
    bool strategies;     /* answer with the strategy list, not the plan */
    char configured[32]; /* optimizer.strategy of the config */
    int64_t now_ms;
    struct http_plan *plan; /* the rendered plan, NULL when there is none (owned) */
};

static void read_plan(struct balkon_store *store, void *arg, struct http_response *reply)
{
    struct plan_read *job = arg;
    struct balkon_plan_record record;
    int rc = balkon_store_plan_get(store, INT64_MAX, &record);
    if (rc < 0 && rc != BALKON_E_NOTFOUND) {
        http_reply_error(reply, 500, "cannot read the plan: %s", balkon_store_errmsg(store));
        return;
    }
    if (rc == 0) {
        job->plan = render_plan(&record);
        balkon_plan_record_free(&record);
        if (!job->plan) {
            http_reply_error(reply, 503, "out of memory");
            return;
        }
    }
    if (job->strategies)
        http_reply_json(reply, 200, strategies_json(job->plan, job->configured));
    else if (!job->plan)
        http_reply_error(reply, 404, "no plan yet: the planner runs a moment after start");
    else
        reply_plan(job->plan, job->now_ms, reply);
}

/* Back on the loop: keep the rendering if it is newer than the one kept. */
static void plan_read_done(struct http_state *state, void *arg, struct http_response *response)
{
    struct plan_read *job = arg;
    if (job->plan && (!state->caches.plan || state->caches.plan->id < job->plan->id)) {
        http_plan_free(state->caches.plan);
        state->caches.plan = job->plan;
        job->plan = NULL;
    }
    http_plan_free(job->plan);
}

/* Answers from the kept plan: the whole text is written once per slot in force. */
static void reply_kept_plan(struct http_plan *plan, int64_t now_ms, struct http_response *response)
{
    size_t slot = current_slot(plan, now_ms);
    if (!plan->answer.text || plan->answer_slot != slot) {
        struct http_response made = {0};
        reply_plan(plan, now_ms, &made);
        if (made.status != 200) {
            http_kept_forget(&plan->answer);
            *response = made;
            return;
        }
        http_kept_set(&plan->answer, made.body, made.body_size);
        plan->answer_slot = slot;
    }
    http_reply_kept(response, plan->answer.text, plan->answer.len, plan->answer.response);
}

/* The kept rendering when it is the newest plan the planner published, else NULL. */
static struct http_plan *kept_plan(const struct http_state *state)
{
    struct http_plan *plan = state->caches.plan;
    return plan && state->have_plan && plan->id == state->plan.id ? plan : NULL;
}

static void answer(struct http_state *state, const struct http_request *request,
                   struct http_response *response, bool strategies)
{
    const char *configured = state->ctx->config->optimizer.strategy;
    int64_t now_ms = balkon_clock_now_ms(&state->ctx->clock);
    struct http_plan *plan = kept_plan(state);
    if (plan && strategies) {
        http_reply_json(response, 200, strategies_json(plan, configured));
        return;
    }
    if (plan) {
        reply_kept_plan(plan, now_ms, response);
        return;
    }
    struct plan_read *job = calloc(1, sizeof *job);
    if (!job) {
        http_reply_error(response, 503, "out of memory");
        return;
    }
    job->strategies = strategies;
    job->now_ms = now_ms;
    snprintf(job->configured, sizeof job->configured, "%s", configured);
    http_read(state, request, response, read_plan, plan_read_done, job);
}

void api_plan_get(struct http_state *state, const struct http_request *request,
                  struct http_response *response)
{
    answer(state, request, response, false);
}

void api_strategy_get(struct http_state *state, const struct http_request *request,
                      struct http_response *response)
{
    answer(state, request, response, true);
}

/* A PUT /strategy waiting for the plan of its new strategy. */
struct strategy_switch {
    struct deferral *deferral; /* NULL: nobody to answer (a request built in memory) */
    char configured[32];
};

static void switched_cb(void *user, const char *error, const char *strategy,
                        const char *summary_json)
{
    struct strategy_switch *waiting = user;
    struct http_response reply = {0};
    if (error) {
        http_reply_error(&reply, 503, "the strategy is switched, but no plan came: %s", error);
    } else {
        struct http_plan plan = {.summary = compact_summary(summary_json)};
        snprintf(plan.strategy, sizeof plan.strategy, "%s", strategy);
        http_reply_json(&reply, 200, strategies_json(&plan, waiting->configured));
        free(plan.summary);
    }
    if (waiting->deferral)
        http_await_answer(waiting->deferral, &reply);
    else if (!reply.body_static)
        free(reply.body);
    free(waiting);
}

void api_strategy_put(struct http_state *state, const struct http_request *request,
                      struct http_response *response)
{
    cJSON *body = http_body_object(request, response, "{\"strategy\": \"optimal\"}");
    if (!body)
        return;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(body, "strategy");
    if (!cJSON_IsString(name)) {
        cJSON_Delete(body);
        http_reply_error(response, 400, "strategy: is required and must be a string");
        return;
    }
    const struct balkon_opt_strategy *strategy = balkon_opt_strategy_find(name->valuestring);
    if (!strategy) {
        char known[128];
        balkon_opt_strategy_list_names(known, sizeof known);
        http_reply_error(response, 400, "strategy: unknown strategy \"%.40s\" (known: %s)",
                         name->valuestring, known);
        cJSON_Delete(body);
        return;
    }
    cJSON_Delete(body);
    if (strcmp(strategy->name, "fixed_schedule") == 0 &&
        state->ctx->config->optimizer.schedule_count == 0) {
        http_reply_error(
            response, 400,
            "strategy: \"fixed_schedule\" needs windows in optimizer.schedule of the config");
        return;
    }
    const struct balkon_services *services = state->ctx->services;
    if (!services->planner.self) {
        http_reply_error(response, 503, "the planner is not running");
        return;
    }
    /* The planner replans on the pool; the answer waits, suspended, for the new plan. */
    struct strategy_switch *waiting = calloc(1, sizeof *waiting);
    if (!waiting) {
        http_reply_error(response, 503, "out of memory");
        return;
    }
    snprintf(waiting->configured, sizeof waiting->configured, "%s",
             state->ctx->config->optimizer.strategy);
    if (services->planner.set_strategy(services->planner.self, strategy->name, switched_cb,
                                       waiting) < 0) {
        free(waiting);
        http_reply_error(response, 503, "out of memory");
        return;
    }
    /* The callback never comes from inside set_strategy, so the deferral is in place first. */
    waiting->deferral = http_await(state, request, response);
    if (!waiting->deferral) /* a request without a connection to wait on: what is there now */
        answer(state, request, response, true);
}
