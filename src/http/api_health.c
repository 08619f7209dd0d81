/* GET /api/v1/health: liveness for Docker's HEALTHCHECK, systemd and monitoring. */
#include "http_internal.h"

#include "balkon/store.h"
#include "balkon/timeutil.h"
#include "balkon/version.h"

void api_health_get(struct http_state *state, const struct http_request *request,
                    struct http_response *response)
{
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "status", "ok");
    cJSON_AddStringToObject(json, "version", BALKON_VERSION);
    cJSON_AddNumberToObject(json, "uptime_s",
                            (double)(balkon_wall_now_ms() - state->ctx->started_ms) / 1000.0);
    http_add_time(json, "now", balkon_clock_now_ms(&state->ctx->clock));
    cJSON_AddNumberToObject(json, "clock_speed", state->ctx->clock.speed);
    cJSON_AddNumberToObject(json, "db_size_bytes",
                            (double)balkon_store_size_bytes(state->ctx->store));
    cJSON_AddNumberToObject(json, "db_pending_samples",
                            (double)balkon_store_pending(state->ctx->store));
    /* For the dashboard's banner: logins over plain HTTP beyond this machine. */
    cJSON_AddBoolToObject(json, "secure", request->secure);
    if (state->insecure_beyond_loopback)
        cJSON_AddStringToObject(json, "warning",
                                "reachable from the network without HTTPS: passwords and "
                                "session cookies cross it unencrypted (set http.tls)");
    else
        cJSON_AddNullToObject(json, "warning");
    http_reply_json(response, 200, json);
}
