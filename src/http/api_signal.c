/* GET /api/v1/signal?from=&to=&kind=
 * Grid signals per 15-minute slot, one series per kind and provider: renewable share (%),
 * traffic light (-1 congestion, 0 red, 1 yellow, 2 green), CO2 intensity (g/kWh) and the
 * green-power index (0-100). Default range: today and tomorrow (local). */
#include "http_internal.h"

#include "balkon/config.h"
#include "balkon/provider.h"
#include "balkon/store.h"
#include "balkon/timeutil.h"

#include <stdio.h>
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

static bool add_series(struct balkon_store *store, cJSON *list, const char *kind,
                       const char *provider, int64_t from_ms, int64_t to_ms)
{
    struct balkon_signal_slot *slots = NULL;
    size_t count = 0;
    if (balkon_store_signal_get(store, kind, provider, from_ms, to_ms, &slots, &count) < 0)
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

/* The series to read: (kind, provider) pairs chosen on the loop from the config. */
struct signal_read {
    int64_t from_ms;
    int64_t to_ms;
    size_t count;
    struct {
        const char *kind; /* the provider table's static string */
        char provider[BALKON_ID_MAX];
    } series[BALKON_MAX_PROVIDERS * 2];
};

static void read_signals(struct balkon_store *store, void *arg, struct http_response *response)
{
    const struct signal_read *q = arg;
    cJSON *json = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(json, "series");
    for (size_t i = 0; i < q->count; i++)
        if (!add_series(store, list, q->series[i].kind, q->series[i].provider, q->from_ms,
                        q->to_ms)) {
            cJSON_Delete(json);
            http_reply_error(response, 500, "cannot read signals: %s", balkon_store_errmsg(store));
            return;
        }
    http_reply_json(response, 200, json);
}

void api_signal_get(struct http_state *state, const struct http_request *request,
                    struct http_response *response)
{
    int64_t now_ms = balkon_clock_now_ms(&state->ctx->clock);
    struct signal_read *q = calloc(1, sizeof *q);
    if (!q) {
        http_reply_error(response, 503, "out of memory");
        return;
    }
    if (!http_query_range(request, response, balkon_local_midnight_ms(now_ms, 0),
                          balkon_local_midnight_ms(now_ms, 2), &q->from_ms, &q->to_ms)) {
        free(q);
        return;
    }
    const char *wanted = http_query(request, "kind");
    const struct balkon_config *config = state->ctx->config;
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
            q->series[q->count].kind = kinds[k];
            snprintf(q->series[q->count].provider, BALKON_ID_MAX, "%s", pc->id);
            q->count++;
        }
    }
    if (!known_kind) {
        free(q);
        http_reply_error(response, 404,
                         "kind: no configured provider gives \"%.40s\" (renewable_share_pct, "
                         "grid_signal, co2_g_per_kwh, green_index)",
                         wanted);
        return;
    }
    http_read(state, request, response, read_signals, NULL, q);
}
