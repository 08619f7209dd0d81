/* GET /api/v1/config: the running configuration, secrets replaced by "***". */
#include "http_internal.h"

#include "balkon/config.h"

void api_config_get(struct http_state *state, const struct http_request *request,
                    struct http_response *response)
{
    http_reply_json(response, 200, balkon_config_to_json(state->ctx->config));
}
