/* GET /api/v1/openapi.json: the API's OpenAPI 3.1 description (docs/openapi.json, embedded
 * at build time), public like /health so tools can read it before they have a token. */
#include "http_internal.h"

#include "balkon/http_routes.h"

void api_openapi_get(struct http_state *state, const struct http_request *request,
                     struct http_response *response)
{
    (void)state;
    (void)request;
    response->status = 200;
    response->content_type = "application/json";
    /* The embedded bytes live as long as the program: served without a copy. */
    response->body = (char *)balkon_openapi_json;
    response->body_size = balkon_openapi_json_size;
    response->body_static = true;
    response->cache_control = "no-cache";
}
