/* libFuzzer target: the JSON bodies of the API's writes, through their real handlers with
 * a request built in memory (no MHD connection: the handlers read only method, path
 * parameter and body):
 *   0  POST /api/v1/devices/{id}/command   api_device_command_post
 *   1  POST /api/v1/loads/{id}/override    api_load_override_post
 *   2  PUT  /api/v1/strategy               api_strategy_put
 *   3  PUT  /api/v1/config                 the daemon's reading of the body (its handler in
 *      src/daemon/daemon.c is static and writes the config file): minify, parse, put back the
 *      masked secrets from the running config, load the result with the config loader.
 *   4  POST /api/v1/auth/login             api_auth_login_post (no password set: parse, 409)
 *   5  POST /api/v1/auth/setup             api_auth_setup_post (a wrong code: parse, 403/429)
 *   6  PUT  /api/v1/auth/password          api_auth_password_put (parse, 409)
 * None of these reaches the password hash, so no work is queued on the (never run) loop.
 * Input: byte 0 picks the body's kind, the rest is the body. The state has the demo's
 * device and load, an in-memory store, a bus without subscribers and the login state (its
 * setup code in a temporary directory). */
#include "../../src/http/http_internal.h"

#include "balkon/bus.h"
#include "balkon/config.h"
#include "balkon/log.h"
#include "balkon/store.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static struct http_state state;
static struct balkon_ctx ctx;
static struct balkon_services services; /* no module runs: every request answers 503 */
static struct balkon_config config;
static cJSON *current_json; /* the running config as GET /api/v1/config shows it */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static uv_loop_t loop;
    balkon_log_set_level((enum balkon_log_level)0);
    uv_loop_init(&loop);
    balkon_config_defaults(&config);
    ctx.loop = &loop;
    ctx.bus = balkon_bus_new();
    ctx.services = &services;
    ctx.config = &config;
    balkon_clock_init(&ctx.clock, 1, 0);
    struct balkon_store_options options = {.path = ":memory:"};
    char msg[256];
    if (balkon_store_open(&options, &ctx.store, msg, sizeof msg) != 0) {
        fprintf(stderr, "fuzz_api_bodies: %s\n", msg);
        abort();
    }
    static char dir[] = "/tmp/balkon-fuzz-XXXXXX";
    if (!mkdtemp(dir))
        abort();
    snprintf(config.storage.path, sizeof config.storage.path, "%s/fuzz.db", dir);
    state.ctx = &ctx;
    state.auth = http_auth_new(&state);
    state.device_count = 1;
    snprintf(state.devices[0].device_id, sizeof state.devices[0].device_id, "demo-battery");
    state.loads.count = 1;
    snprintf(state.loads.items[0].id, sizeof state.loads.items[0].id, "heater");
    current_json = balkon_config_to_json(&config);
    return 0;
}

/* PUT /api/v1/config up to the write: what the daemon does with the body. */
static void config_body(const char *body, size_t size)
{
    char *minified = malloc(size + 1);
    struct balkon_config *next_config = malloc(sizeof *next_config);
    struct balkon_config_errors *errors = malloc(sizeof *errors);
    cJSON *next = NULL;
    char *text = NULL;
    if (!minified || !next_config || !errors)
        goto done;
    memcpy(minified, body, size + 1);
    cJSON_Minify(minified);
    next = cJSON_Parse(minified);
    memset(errors, 0, sizeof *errors);
    if (!cJSON_IsObject(next)) {
        balkon_config_parse(body, next_config, errors);
        goto done;
    }
    balkon_config_keep_secrets(next, current_json, errors);
    text = cJSON_Print(next);
    if (text)
        balkon_config_parse(text, next_config, errors);
done:
    free(text);
    cJSON_Delete(next);
    free(errors);
    free(next_config);
    free(minified);
}

/* The handlers by input byte 0 (see the top); 3, without a handler, is the config body. */
static const struct {
    const char *method, *path, *path_param;
    http_handler handler;
} handlers[] = {
    {"POST", "/api/v1/devices/demo-battery/command", "demo-battery", api_device_command_post},
    {"POST", "/api/v1/loads/heater/override", "heater", api_load_override_post},
    {"PUT", "/api/v1/strategy", "", api_strategy_put},
    {NULL, NULL, NULL, NULL},
    {"POST", "/api/v1/auth/login", "", api_auth_login_post},
    {"POST", "/api/v1/auth/setup", "", api_auth_setup_post},
    {"PUT", "/api/v1/auth/password", "", api_auth_password_put},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *body = malloc(size);
    if (!body)
        return 0;
    memcpy(body, data + 1, size - 1);
    body[size - 1] = '\0';
    static const struct http_identity nobody = {.via = HTTP_AUTH_NONE};
    struct http_request request = {
        .body = body, .body_size = size - 1, .identity = &nobody, .client_ip = "192.0.2.1"};
    struct http_response response = {0};
    size_t kind = data[0] % (sizeof handlers / sizeof handlers[0]);
    if (handlers[kind].handler) {
        request.method = handlers[kind].method;
        request.path = handlers[kind].path;
        snprintf(request.path_param, sizeof request.path_param, "%s", handlers[kind].path_param);
        handlers[kind].handler(&state, &request, &response);
    } else {
        config_body(body, size - 1);
    }
    if (response.deferred)
        abort(); /* would leave work on a loop that never runs */
    /* Every answer is a status with a JSON body (the handlers above never stream). */
    if (response.status && (!response.body || response.status < 200 || response.status > 599))
        abort();
    if (!response.body_static)
        free(response.body);
    free(body);
    return 0;
}
