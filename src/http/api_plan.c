/* GET /api/v1/plan: the plan in force, slot by slot, with the baselines and what it is
 *   expected to save.
 * GET /api/v1/strategy: the strategies and the one in use.
 * PUT /api/v1/strategy {"strategy": "optimal"}: switches at run time (until the config's
 *   strategy changes); answers with the new plan's summary. */
#include "http_internal.h"

#include "balkon/bus.h"
#include "balkon/config.h"
#include "balkon/error.h"
#include "balkon/optimizer.h"
#include "balkon/store.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double rounded(double value, double scale) { return round(value * scale) / scale; }

/* The slot in force at now_ms, or the first one. */
static size_t current_slot(const struct balkon_plan_record *plan, int64_t now_ms)
{
    for (size_t i = 0; i < plan->count; i++)
        if (now_ms >= plan->slots[i].slot_ts_ms && now_ms < plan->slots[i].slot_ts_ms + plan->slot_s * 1000)
            return i;
    return 0;
}

static cJSON *plan_json(const struct balkon_plan_record *plan, int64_t now_ms)
{
    cJSON *json = cJSON_CreateObject();
    cJSON_AddNumberToObject(json, "id", (double)plan->id);
    http_add_time(json, "created", plan->created_ts_ms);
    cJSON_AddStringToObject(json, "strategy", plan->strategy);
    cJSON_AddStringToObject(json, "currency", plan->currency);
    cJSON_AddNumberToObject(json, "slot_s", plan->slot_s);
    cJSON *summary = cJSON_Parse(plan->summary_json);
    cJSON_AddItemToObject(json, "summary", summary ? summary : cJSON_CreateObject());
    if (plan->count) {
        const struct balkon_plan_slot_row *now = &plan->slots[current_slot(plan, now_ms)];
        cJSON *current = cJSON_AddObjectToObject(json, "now");
        http_add_time(current, "slot", now->slot_ts_ms);
        cJSON_AddStringToObject(current, "mode", now->mode);
        cJSON_AddNumberToObject(current, "battery_w", rounded(now->battery_w, 10));
        cJSON_AddNumberToObject(current, "soc_pct", rounded(now->soc_pct, 10));
        cJSON_AddNumberToObject(current, "price_per_kwh", rounded(now->price_per_kwh, 1e5));
    }
    static const char *const columns[] = {"ts", "mode", "battery_w", "soc_pct", "pv_w", "load_w", "import_w",
                                          "export_w", "price", "cost", "cost_no_battery", "cost_self_consumption"};
    cJSON *arrays[sizeof columns / sizeof *columns];
    for (size_t c = 0; c < sizeof columns / sizeof *columns; c++)
        arrays[c] = cJSON_AddArrayToObject(json, columns[c]);
    for (size_t i = 0; i < plan->count; i++) {
        const struct balkon_plan_slot_row *r = &plan->slots[i];
        cJSON_AddItemToArray(arrays[0], cJSON_CreateNumber((double)r->slot_ts_ms));
        cJSON_AddItemToArray(arrays[1], cJSON_CreateString(r->mode));
        const double values[] = {rounded(r->battery_w, 10), rounded(r->soc_pct, 10), rounded(r->pv_w, 10),
                                 rounded(r->load_w, 10), rounded(r->import_w, 10), rounded(r->export_w, 10),
                                 rounded(r->price_per_kwh, 1e5), rounded(r->cost, 1e5),
                                 rounded(r->cost_no_battery, 1e5), rounded(r->cost_self_consumption, 1e5)};
        for (size_t v = 0; v < sizeof values / sizeof *values; v++)
            cJSON_AddItemToArray(arrays[2 + v], cJSON_CreateNumber(values[v]));
    }
    return json;
}

void api_plan_get(struct http_state *state, const struct http_request *request, struct http_response *response)
{
    struct balkon_plan_record plan;
    int rc = balkon_store_plan_get(state->ctx->store, INT64_MAX, &plan);
    if (rc == BALKON_E_NOTFOUND) {
        http_reply_error(response, 404, "no plan yet: the planner runs a moment after start");
        return;
    }
    if (rc < 0) {
        http_reply_error(response, 500, "cannot read the plan: %s", balkon_store_errmsg(state->ctx->store));
        return;
    }
    http_reply_json(response, 200, plan_json(&plan, balkon_clock_now_ms(&state->ctx->clock)));
    balkon_plan_record_free(&plan);
}

static cJSON *strategies_json(struct http_state *state)
{
    cJSON *json = cJSON_CreateObject();
    struct balkon_plan_record plan;
    if (balkon_store_plan_get(state->ctx->store, INT64_MAX, &plan) == 0) {
        cJSON_AddStringToObject(json, "active", plan.strategy);
        cJSON *summary = cJSON_Parse(plan.summary_json);
        cJSON_AddItemToObject(json, "summary", summary ? summary : cJSON_CreateObject());
        balkon_plan_record_free(&plan);
    } else {
        cJSON_AddNullToObject(json, "active");
    }
    cJSON_AddStringToObject(json, "configured", state->ctx->config->optimizer.strategy);
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

void api_strategy_get(struct http_state *state, const struct http_request *request, struct http_response *response)
{
    http_reply_json(response, 200, strategies_json(state));
}

void api_strategy_put(struct http_state *state, const struct http_request *request, struct http_response *response)
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
        http_reply_error(response, 400,
                         "strategy: unknown strategy \"%.40s\" (known: \"self_consumption\", \"optimal\", \"fixed_schedule\")",
                         name->valuestring);
        cJSON_Delete(body);
        return;
    }
    cJSON_Delete(body);
    if (strcmp(strategy->name, "fixed_schedule") == 0 && state->ctx->config->optimizer.schedule_count == 0) {
        http_reply_error(response, 400, "strategy: \"fixed_schedule\" needs windows in optimizer.schedule of the config");
        return;
    }
    struct ev_strategy_request ev = {0};
    snprintf(ev.name, sizeof ev.name, "%s", strategy->name);
    /* The planner replans while this publish runs, so the answer shows the new plan. */
    balkon_bus_publish(state->ctx->bus, BUS_EV_STRATEGY_REQUEST, &ev);
    http_reply_json(response, 200, strategies_json(state));
}
