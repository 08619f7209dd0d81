/* GET /api/v1/status: the site's power balance now (the latest sample interval); also the
 * `status` event of GET /api/v1/events.
 * Signs: grid_w + import / - export, battery_w + discharge / - charge. Before the first
 * interval is complete every value is null. */
#include "http_internal.h"

#include <math.h>

static void add_number_or_null(cJSON *json, const char *key, bool have, double value)
{
    if (have && isfinite(value))
        cJSON_AddNumberToObject(json, key, round(value * 10) / 10);
    else
        cJSON_AddNullToObject(json, key);
}

cJSON *api_status_json(const struct http_state *state)
{
    const struct ev_site_status *s = &state->status;
    bool have = state->have_status;
    cJSON *json = cJSON_CreateObject();
    add_number_or_null(json, "pv_w", have, s->pv_w);
    add_number_or_null(json, "home_w", have, s->home_w);
    add_number_or_null(json, "grid_w", have, s->grid_w);
    add_number_or_null(json, "battery_w", have, s->battery_w);
    add_number_or_null(json, "soc_pct", have, s->soc_pct);
    if (have) {
        http_add_time(json, "ts", s->ts_ms);
        cJSON_AddNumberToObject(json, "ts_ms", (double)s->ts_ms);
        cJSON_AddNumberToObject(json, "interval_s", (double)s->interval_ms / 1000.0);
    } else {
        cJSON_AddNullToObject(json, "ts");
        cJSON_AddNullToObject(json, "ts_ms");
        cJSON_AddNullToObject(json, "interval_s");
    }
    return json;
}

void api_status_get(struct http_state *state, const struct http_request *request,
                    struct http_response *response)
{
    http_reply_json(response, 200, api_status_json(state));
}
