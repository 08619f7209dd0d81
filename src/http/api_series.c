/* GET /api/v1/series?name=&from=&to=&step=
 *
 * Without name: the list of stored series. With name: the series downsampled into buckets
 * of `step` over [from, to), as columns ready for a chart:
 *   {"name","unit","from","to","step_s","ts":[ms…],"avg":[…],"min":[…],"max":[…],"count":[…]}
 * from/to: ISO-8601 or Unix seconds (default: the last 24 h); step: seconds, or with a
 * unit "30s", "5m", "1h", "1d" (default: the smallest tidy step giving <= 300 buckets). */
#include "http_internal.h"

#include "balkon/error.h"
#include "balkon/store.h"
#include "balkon/timeutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BUCKETS 100000
#define DEFAULT_TARGET_BUCKETS 300

static int parse_step(const char *text, int64_t *step_ms)
{
    char *end;
    double value = strtod(text, &end);
    double unit_ms = 1000;
    if (end == text || !isfinite(value))
        return BALKON_E_PARSE;
    if (*end == 's')
        end++;
    else if (*end == 'm')
        unit_ms = 60e3, end++;
    else if (*end == 'h')
        unit_ms = 3600e3, end++;
    else if (*end == 'd')
        unit_ms = 86400e3, end++;
    if (*end != '\0')
        return BALKON_E_PARSE;
    *step_ms = (int64_t)llround(value * unit_ms);
    return 0;
}

static int64_t default_step(int64_t range_ms)
{
    static const int64_t tidy_ms[] = {5000, 10000, 30000, 60000, 300000, 900000,
                                      3600000, 10800000, 86400000, 604800000};
    for (size_t i = 0; i < sizeof tidy_ms / sizeof tidy_ms[0]; i++)
        if (range_ms / tidy_ms[i] <= DEFAULT_TARGET_BUCKETS)
            return tidy_ms[i];
    return tidy_ms[sizeof tidy_ms / sizeof tidy_ms[0] - 1];
}

static void list_series(struct http_state *state, struct http_response *response)
{
    struct balkon_series_info *infos = NULL;
    size_t count = 0;
    int rc = balkon_store_list_series(state->ctx->store, &infos, &count);
    if (rc < 0) {
        http_reply_error(response, 500, "cannot list series: %s",
                         balkon_store_errmsg(state->ctx->store));
        return;
    }
    cJSON *json = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(json, "series");
    for (size_t i = 0; i < count; i++) {
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "name", infos[i].name);
        cJSON_AddStringToObject(item, "unit", infos[i].unit);
        if (infos[i].first_ts_ms != INT64_MIN) {
            http_add_time(item, "first", infos[i].first_ts_ms);
            http_add_time(item, "last", infos[i].last_ts_ms);
        }
        cJSON_AddItemToArray(list, item);
    }
    free(infos);
    http_reply_json(response, 200, json);
}

static bool parse_time_param(const struct http_request *request, struct http_response *response,
                             const char *name, int64_t *ts_ms)
{
    const char *text = http_query(request, name);
    if (!text)
        return true;
    if (balkon_parse_time(text, ts_ms) < 0) {
        http_reply_error(response, 400,
                         "%s: expected an ISO-8601 time or Unix seconds, got \"%.40s\"", name, text);
        return false;
    }
    return true;
}

static const char *series_unit(struct http_state *state, const char *name, char *unit, size_t size)
{
    struct balkon_series_info *infos = NULL;
    size_t count = 0;
    unit[0] = '\0';
    if (balkon_store_list_series(state->ctx->store, &infos, &count) == 0)
        for (size_t i = 0; i < count; i++)
            if (strcmp(infos[i].name, name) == 0)
                snprintf(unit, size, "%s", infos[i].unit);
    free(infos);
    return unit;
}

void api_series_get(struct http_state *state, const struct http_request *request,
                    struct http_response *response)
{
    const char *name = http_query(request, "name");
    if (!name) {
        list_series(state, response);
        return;
    }
    int64_t to_ms = balkon_clock_now_ms(&state->ctx->clock);
    int64_t from_ms = INT64_MIN;
    if (!parse_time_param(request, response, "to", &to_ms) ||
        !parse_time_param(request, response, "from", &from_ms))
        return;
    if (from_ms == INT64_MIN)
        from_ms = to_ms - BALKON_MS_PER_DAY;
    if (from_ms >= to_ms) {
        http_reply_error(response, 400, "from: must be before to");
        return;
    }
    int64_t step_ms = default_step(to_ms - from_ms);
    const char *step_text = http_query(request, "step");
    if (step_text && parse_step(step_text, &step_ms) < 0) {
        http_reply_error(response, 400,
                         "step: expected seconds or a number with s, m, h or d, got \"%.40s\"",
                         step_text);
        return;
    }
    if (step_ms < 1000) {
        http_reply_error(response, 400, "step: must be at least 1 s");
        return;
    }
    if ((to_ms - from_ms) / step_ms > MAX_BUCKETS) {
        http_reply_error(response, 400, "step: too small for the range (%lld buckets, at most %d)",
                         (long long)((to_ms - from_ms) / step_ms), MAX_BUCKETS);
        return;
    }

    struct balkon_bucket *buckets = NULL;
    size_t count = 0;
    int rc = balkon_store_query(state->ctx->store, name, from_ms, to_ms, step_ms, &buckets, &count);
    if (rc == BALKON_E_NOTFOUND) {
        http_reply_error(response, 404, "name: no series \"%.60s\" (GET /api/v1/series lists them)",
                         name);
        return;
    }
    if (rc < 0) {
        http_reply_error(response, 500, "cannot read series %.60s: %s", name,
                         balkon_store_errmsg(state->ctx->store));
        return;
    }
    char unit[16];
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "name", name);
    cJSON_AddStringToObject(json, "unit", series_unit(state, name, unit, sizeof unit));
    http_add_time(json, "from", from_ms);
    http_add_time(json, "to", to_ms);
    cJSON_AddNumberToObject(json, "step_s", (double)step_ms / 1000.0);
    cJSON *ts = cJSON_AddArrayToObject(json, "ts");
    cJSON *avg = cJSON_AddArrayToObject(json, "avg");
    cJSON *min = cJSON_AddArrayToObject(json, "min");
    cJSON *max = cJSON_AddArrayToObject(json, "max");
    cJSON *n = cJSON_AddArrayToObject(json, "count");
    for (size_t i = 0; i < count; i++) {
        cJSON_AddItemToArray(ts, cJSON_CreateNumber((double)buckets[i].ts_ms));
        cJSON_AddItemToArray(avg, cJSON_CreateNumber(round(buckets[i].avg * 100) / 100));
        cJSON_AddItemToArray(min, cJSON_CreateNumber(round(buckets[i].min * 100) / 100));
        cJSON_AddItemToArray(max, cJSON_CreateNumber(round(buckets[i].max * 100) / 100));
        cJSON_AddItemToArray(n, cJSON_CreateNumber(buckets[i].count));
    }
    free(buckets);
    http_reply_json(response, 200, json);
}
