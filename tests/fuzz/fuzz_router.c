/* libFuzzer target: the router and the query strings, through http_route and the real
 * handlers with a request built in memory (no MHD connection; http_query reads the pairs
 * the target decoded the way MHD does: split on '&' and the first '=', then '+' and %XX).
 *
 * Input: byte 0 picks the method (GET, HEAD, POST, PUT, DELETE), the rest is a target like
 * "/api/v1/series?name=grid_power_w&from=-9e15&to=9e15&step=1s". The state has an empty
 * in-memory store (store reads run at once, on this thread), the demo config with
 * http.read_without_login (so every GET route reaches its handler), no module's services
 * (their routes answer 503) and no event hub (the stream route answers 503). Nobody is
 * logged in, so write routes stop at the login check; their bodies are fuzz_api_bodies'.
 * Assets may come as a response MHD made (for their Vary header): destroyed unsent.
 * Every answer must be a status from 200 to 599 with a body that is valid UTF-8. */
#include "../../src/http/http_internal.h"

#include "balkon/bus.h"
#include "balkon/config.h"
#include "balkon/log.h"
#include "balkon/store.h"

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define MAX_PAIRS 32

static struct http_state state;
static struct balkon_ctx ctx;
static struct balkon_services services;
static struct balkon_config config;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static uv_loop_t loop;
    balkon_log_set_level((enum balkon_log_level)0);
    uv_loop_init(&loop);
    balkon_config_defaults(&config);
    config.http.read_without_login = true;
    ctx.loop = &loop;
    ctx.bus = balkon_bus_new();
    ctx.services = &services;
    ctx.config = &config;
    balkon_clock_init(&ctx.clock, 1, 0);
    struct balkon_store_options options = {.path = ":memory:"};
    char msg[256];
    if (balkon_store_open(&options, &ctx.store, msg, sizeof msg) != 0) {
        fprintf(stderr, "fuzz_router: %s\n", msg);
        abort();
    }
    static char dir[] = "/tmp/balkon-fuzz-XXXXXX";
    if (!mkdtemp(dir))
        abort();
    snprintf(config.storage.path, sizeof config.storage.path, "%s/fuzz.db", dir);
    state.ctx = &ctx;
    state.auth = http_auth_new(&state);
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes in place as MHD's MHD_http_unescape does (with '+' as a space first). */
static void unescape(char *text)
{
    char *out = text;
    for (char *in = text; *in; in++) {
        int hi, lo;
        if (*in == '+') {
            *out++ = ' ';
        } else if (*in == '%' && (hi = hex_value(in[1])) >= 0 && (lo = hex_value(in[2])) >= 0) {
            *out++ = (char)(hi * 16 + lo);
            in += 2;
        } else {
            *out++ = *in;
        }
    }
    *out = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE"};
    if (size < 1)
        return 0;
    char *target = malloc(size);
    if (!target)
        return 0;
    memcpy(target, data + 1, size - 1);
    target[size - 1] = '\0'; /* MHD hands over C strings: a NUL ends the target */
    struct http_query_pair pairs[MAX_PAIRS];
    size_t count = 0;
    char *query = strchr(target, '?');
    if (query) {
        *query++ = '\0';
        for (char *item = strtok(query, "&"); item && count < MAX_PAIRS; item = strtok(NULL, "&")) {
            char *equals = strchr(item, '=');
            if (equals)
                *equals++ = '\0';
            unescape(item);
            if (equals)
                unescape(equals);
            pairs[count++] = (struct http_query_pair){.name = item, .value = equals ? equals : ""};
        }
    }
    unescape(target);
    struct http_request request = {
        .method = methods[data[0] % (sizeof methods / sizeof methods[0])],
        .path = target,
        .body = "",
        .client_ip = "192.0.2.1",
        .query_pairs = pairs,
        .query_count = count,
    };
    struct http_response response = {0};
    http_route(&state, &request, &response);
    if (response.deferred)
        abort();           /* would leave work on a loop that never runs */
    if (response.stream) { /* an asset with headers of its own (Vary): made by MHD */
        MHD_destroy_response(response.stream);
        free(target);
        return 0;
    }
    if (response.status < 200 || response.status > 599 || !response.body)
        abort();
    /* An answer that quotes the query must still be valid JSON text. */
    if (response.content_type && strcmp(response.content_type, "application/json") == 0 &&
        !http_utf8_valid(response.body, response.body_size))
        abort();
    if (!response.body_static)
        free(response.body);
    free(target);
    return 0;
}
