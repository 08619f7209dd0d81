/* GET /api/v1/system: what the daemon runs as, for a settings page and for support: its
 * version and uptime, the files it uses, the database's size, the bus's traffic, the open
 * event streams, the MQTT connection and the time zone. */
#include "http_internal.h"

#include "balkon/mqtt.h"
#include "balkon/store.h"
#include "balkon/timeutil.h"
#include "balkon/version.h"

#include <time.h>

void api_system_get(struct http_state *state, const struct http_request *request,
                    struct http_response *response)
{
    const struct balkon_ctx *ctx = state->ctx;
    const struct balkon_config *config = ctx->config;
    int64_t now_ms = balkon_wall_now_ms();
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "version", BALKON_VERSION);
    cJSON_AddNumberToObject(json, "uptime_s", (double)(now_ms - ctx->started_ms) / 1000.0);
    http_add_time(json, "started", ctx->started_ms);
    if (state->config_path[0])
        cJSON_AddStringToObject(json, "config_path", state->config_path);
    else
        cJSON_AddNullToObject(json, "config_path");
    cJSON_AddStringToObject(json, "db_path", config->storage.path);
    int64_t db_size = balkon_store_size_bytes(ctx->store);
    if (db_size >= 0)
        cJSON_AddNumberToObject(json, "db_size_bytes", (double)db_size);
    else
        cJSON_AddNullToObject(json, "db_size_bytes");
    cJSON_AddNumberToObject(json, "bus_events_published", (double)balkon_bus_published(ctx->bus));
    cJSON_AddNumberToObject(json, "sse_clients", (double)http_events_client_count(state->events));
    cJSON_AddNumberToObject(json, "sse_clients_max", HTTP_EVENTS_MAX_CLIENTS);
    if (ctx->mqtt) {
        cJSON *mqtt = cJSON_AddObjectToObject(json, "mqtt");
        cJSON_AddBoolToObject(mqtt, "connected", balkon_mqtt_connected(ctx->mqtt));
        cJSON_AddStringToObject(mqtt, "status", balkon_mqtt_status(ctx->mqtt));
    } else {
        cJSON_AddNullToObject(json, "mqtt");
    }
    /* site.timezone takes effect at start only, so the running config names the zone in
     * force; empty means the system's. */
    if (config->site.timezone[0])
        cJSON_AddStringToObject(json, "timezone", config->site.timezone);
    else
        cJSON_AddNullToObject(json, "timezone");
    time_t now_s = (time_t)(now_ms / 1000);
    struct tm local;
    if (localtime_r(&now_s, &local))
        cJSON_AddNumberToObject(json, "utc_offset_s", (double)local.tm_gmtoff);
    else
        cJSON_AddNullToObject(json, "utc_offset_s");
    http_reply_json(response, 200, json);
}
