/* GET /api/v1/status: the site's power balance now (the latest sample interval); also the
 * `status` event of GET /api/v1/events.
 * Signs: grid_w + import / - export, battery_w + discharge / - charge. Before the first
 * interval is complete every value is null.
 *
 * The answer changes once per sample interval but may be asked thousands of times a
 * second (a wall display, a Home Assistant poll, a script): its text is written once per
 * new status and copied out. */
#include "http_internal.h"

#include "json_writer.h"

#include <math.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

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

/* The same answer as api_status_json, as text. */
static char *status_text(const struct http_state *state, size_t *len)
{
    const struct ev_site_status *s = &state->status;
    bool have = state->have_status;
    const struct {
        const char *key;
        double value;
    } powers[] = {{"pv_w", s->pv_w},
                  {"home_w", s->home_w},
                  {"grid_w", s->grid_w},
                  {"battery_w", s->battery_w},
                  {"soc_pct", s->soc_pct}};
    struct json_writer w;
    json_writer_init(&w, 256);
    jw_object_begin(&w);
    for (size_t i = 0; i < sizeof powers / sizeof *powers; i++) {
        jw_key(&w, powers[i].key);
        if (have)
            jw_number(&w, powers[i].value, 1);
        else
            jw_null(&w);
    }
    jw_key(&w, "ts");
    if (have)
        jw_time(&w, s->ts_ms);
    else
        jw_null(&w);
    jw_key(&w, "ts_ms");
    if (have)
        jw_int(&w, s->ts_ms);
    else
        jw_null(&w);
    jw_key(&w, "interval_s");
    if (have)
        jw_number(&w, (double)s->interval_ms / 1000.0, 3);
    else
        jw_null(&w);
    jw_object_end(&w);
    return json_writer_finish(&w, len);
}

void api_status_get(struct http_state *state, const struct http_request *request,
                    struct http_response *response)
{
    struct http_caches *caches = &state->caches;
    bool same = caches->status.text && caches->status_of_have == state->have_status &&
                (!state->have_status ||
                 memcmp(&caches->status_of, &state->status, sizeof state->status) == 0);
    if (!same) {
        size_t len = 0;
        char *text = status_text(state, &len);
        http_kept_set(&caches->status, text, len);
        caches->status_of = state->status;
        caches->status_of_have = state->have_status;
    }
    if (!caches->status.text) {
        http_reply_json(response, 500, NULL);
        return;
    }
    http_reply_kept(response, caches->status.text, caches->status.len, caches->status.response);
}
