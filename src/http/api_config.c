/* GET /api/v1/config: the running configuration, secrets replaced by "***" and URLs
 *   shown as scheme://host:port followed by the mask (src/core/config_out.c).
 * PUT /api/v1/config: a whole new config (the shape GET answers with; "***" keeps a
 *   secret as it is, but only while the item still points where it did: a changed
 *   destination needs the secret anew, see balkon_config_keep_secrets). The daemon
 *   checks it with the file's loader, rewrites the config
 *   file (the previous one kept as <file>.bak) and applies it as SIGHUP does; this module
 *   only calls the daemon's config.replace service and turns the answer into HTTP. */
#include "http_internal.h"

#include "balkon/config.h"

#include <string.h>

void api_config_get(struct http_state *state, const struct http_request *request,
                    struct http_response *response)
{
    http_reply_json(response, 200, balkon_config_to_json(state->ctx->config));
}

/* {"error":"config has N errors","errors":[{"path":..,"message":..},…]}: the loader's
 * "path: message" lines split at the first ": ". */
cJSON *http_config_errors_json(const struct balkon_config_errors *errors, const char *prefix)
{
    size_t total = errors->count + errors->dropped;
    char summary[96];
    snprintf(summary, sizeof summary, "config has %zu error%s%s", total, total == 1 ? "" : "s",
             errors->dropped ? " (the first listed)" : "");
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "error", summary);
    /* Codes and parameters the dashboard translates (docs/api.md, "Errors"). */
    cJSON_AddStringToObject(json, "code", "config_invalid");
    cJSON *params = cJSON_AddObjectToObject(json, "params");
    cJSON_AddNumberToObject(params, "count", (double)total);
    cJSON *list = cJSON_AddArrayToObject(json, "errors");
    for (size_t i = 0; i < errors->count; i++) {
        const char *line = errors->items[i];
        const char *colon = strstr(line, ": ");
        cJSON *item = cJSON_CreateObject();
        if (colon) {
            char path[256];
            size_t skip = strncmp(line, prefix, strlen(prefix)) == 0 ? strlen(prefix) : 0;
            snprintf(path, sizeof path, "%.*s", (int)(colon - line - (ptrdiff_t)skip), line + skip);
            cJSON_AddStringToObject(item, "path", path);
            cJSON_AddStringToObject(item, "message", colon + 2);
            struct balkon_config_error_code code;
            balkon_config_error_classify(colon + 2, &code);
            cJSON_AddStringToObject(item, "code", code.code);
            cJSON *item_params = cJSON_AddObjectToObject(item, "params");
            cJSON_AddStringToObject(item_params, "field", path);
            for (size_t k = 0; k < code.param_count; k++)
                cJSON_AddStringToObject(item_params, code.params[k].name, code.params[k].value);
        } else {
            cJSON_AddStringToObject(item, "path", "(config)");
            cJSON_AddStringToObject(item, "message", line);
        }
        cJSON_AddItemToArray(list, item);
    }
    return json;
}

static cJSON *restart_json(const char *changed)
{
    cJSON *list = cJSON_CreateArray();
    while (*changed) {
        size_t len = strcspn(changed, ",");
        char path[128];
        snprintf(path, sizeof path, "%.*s", (int)len, changed);
        cJSON_AddItemToArray(list, cJSON_CreateString(path));
        changed += len;
        while (*changed == ',' || *changed == ' ')
            changed++;
    }
    return list;
}

void api_config_put(struct http_state *state, const struct http_request *request,
                    struct http_response *response)
{
    const struct balkon_services *services = state->ctx->services;
    if (!services->config.self) {
        http_reply_error(response, 503,
                         "the config cannot be replaced now (the daemon is stopping)");
        return;
    }
    struct balkon_config_replace_result answer = {.errors = state->config_errors};
    const struct balkon_config_replace_result *reply = &answer;
    services->config.replace(services->config.self, request->body, request->body_size, &answer);
    switch (reply->result) {
    case CONFIG_REPLACE_APPLIED: {
        cJSON *json = cJSON_CreateObject();
        cJSON_AddItemToObject(json, "config", balkon_config_to_json(state->ctx->config));
        cJSON_AddItemToObject(json, "restart_required", restart_json(reply->restart_required));
        http_reply_json(response, 200, json);
        return;
    }
    case CONFIG_REPLACE_INVALID:
        http_reply_json(response, 400, http_config_errors_json(state->config_errors, ""));
        return;
    case CONFIG_REPLACE_NO_FILE:
        http_reply_error(response, 409, "%s", reply->message);
        return;
    case CONFIG_REPLACE_FAILED:
        break;
    }
    http_reply_error(response, 500, "the config was not changed: %s", reply->message);
}
