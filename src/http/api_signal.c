/* GET /api/v1/signal?from=&to=&kind=
 * Grid signals per 15-minute slot, one series per kind and provider: renewable share (%),
 * traffic light (-1 congestion, 0 red, 1 yellow, 2 green), CO2 intensity (g/kWh) and the
 * green-power index (0-100). Default range: today and tomorrow (local). */
#include "http_internal.h"

#include "balkon/provider.h"
#include "balkon/store.h"
#include "balkon/timeutil.h"

#include <stdlib.h>
#include <string.h>

static const char *unit_of(const char *kind)
{
    if (strcmp(kind, "renewable_share_pct") == 0)
        return "%";
    if (strcmp(kind, "co2_g_per_kwh") == 0)
        return "g/kWh";
    return "";
}

static bool add_series(struct http_state *state, cJSON *list, const char *kind, const char *provider,
                       int64_t from_ms, int64_t to_ms)
{
    struct balkon_signal_slot *slots = NULL;
    size_t count = 0;
    if (balkon_store_signal_get(state->ctx->store, kind, provider, from_ms, to_ms, &slots, &count) < 0)
        return false;
    cJSON *series = cJSON_CreateObject();
    cJSON_AddStringToObject(series, "kind", kind);
    cJSON_AddStringToObject(series, "provider", provider);
    cJSON_AddStringToObject(series, "unit", unit_of(kind));
    cJSON *ts = cJSON_AddArrayToObject(series, "ts");
    cJSON *value = cJSON_AddArrayToObject(series, "value");
    for (size_t i = 0; i < count; i++) {
        cJSON_AddItemToArray(ts, cJSON_CreateNumber((double)slots[i].slot_ts_ms));
        http_add_number(value, NULL, slots[i].value);
    }
    free(slots);
    cJSON_AddItemToArray(list, series);
    return true;
}

void api_signal_get(struct http_state *state, const struct http_request *request,
                    struct http_response *response)
{
    int64_t now_ms = balkon_clock_now_ms(&state->ctx->clock);
    int64_t from_ms, to_ms;
    if (!http_query_range(request, response, balkon_local_midnight_ms(now_ms, 0),
                          balkon_local_midnight_ms(now_ms, 2), &from_ms, &to_ms))
        return;
    const char *wanted = http_query(request, "kind");
    const struct balkon_config *config = state->ctx->config;
    cJSON *json = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(json, "series");
    bool known_kind = !wanted;
    for (size_t i = 0; i < config->providers.count; i++) {
        const struct balkon_provider_config *pc = &config->providers.items[i];
        const struct balkon_provider *provider = balkon_provider_find(pc->type);
        if (!provider || provider->kind != PROVIDER_KIND_SIGNAL)
            continue;
        const char *kinds[2] = {provider->value_kind, provider->aux_kind};
        for (int k = 0; k < 2; k++) {
            if (!kinds[k] || (wanted && strcmp(wanted, kinds[k]) != 0))
                continue;
            known_kind = true;
            if (!add_series(state, list, kinds[k], pc->id, from_ms, to_ms)) {
                cJSON_Delete(json);
                http_reply_error(response, 500, "cannot read signals: %s", balkon_store_errmsg(state->ctx->store));
                return;
            }
        }
    }
    if (!known_kind) {
        cJSON_Delete(json);
        http_reply_error(response, 404, "kind: no configured provider gives \"%.40s\" (renewable_share_pct, "
                                        "grid_signal, co2_g_per_kwh, green_index)", wanted);
        return;
    }
    http_reply_json(response, 200, json);
}
