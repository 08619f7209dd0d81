/* POST /api/v1/devices/test and GET /api/v1/devices/test/{id}: the setup UI's Test
 * button. The body is one device as in the config's "devices" list (without an id it is
 * called "test"); it is checked with the config's own rules (a 400 lists the problems by
 * key, "host", "port", as PUT /api/v1/config does with their paths), then the devices
 * module reads it once through its driver (devices.test). The reading takes a few seconds,
 * never on the loop's time: the POST answers at once
 *   202 {"id":3,"state":"pending"}
 * and GET /api/v1/devices/test/3 answers
 *   {"id":3,"state":"pending"}
 *   {"id":3,"state":"ok","model":"SPEM-003CEBEU","firmware":"1.4.4","roles":["meter"],
 *    "values":{"grid_w":312.5,…}}
 *   {"id":3,"state":"failed","error":"connection refused"}
 * A finished answer is kept until its slot is needed for a new test. */
#include "http_internal.h"

#include "balkon/config.h"
#include "balkon/services.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A test's reading: the driver reads and identifies within its timeout_s, twice over. */
#define TEST_TIMEOUT_S 8.0

static void done_cb(void *user, const struct ev_device_state *state, const char *error,
                    const char *error_code)
{
    struct http_device_test *test = user;
    test->state = state ? HTTP_DEVICE_TEST_OK : HTTP_DEVICE_TEST_FAILED;
    if (state)
        test->reading = *state;
    snprintf(test->error, sizeof test->error, "%s", error ? error : "");
    snprintf(test->error_code, sizeof test->error_code, "%s", error_code ? error_code : "");
}

/* A free slot, else the oldest finished one; NULL when every slot is pending. */
static struct http_device_test *free_slot(struct http_state *state)
{
    struct http_device_test *best = NULL;
    for (size_t i = 0; i < HTTP_DEVICE_TESTS_MAX; i++) {
        struct http_device_test *test = &state->device_tests[i];
        if (test->state == HTTP_DEVICE_TEST_PENDING)
            continue;
        if (!best || test->id < best->id)
            best = test;
    }
    return best;
}

static cJSON *test_json(const struct http_device_test *test)
{
    static const char *const names[] = {"none", "pending", "ok", "failed"};
    cJSON *json = cJSON_CreateObject();
    cJSON_AddNumberToObject(json, "id", test->id);
    cJSON_AddStringToObject(json, "state", names[test->state]);
    if (test->state == HTTP_DEVICE_TEST_FAILED) {
        cJSON_AddStringToObject(json, "error", test->error);
        cJSON_AddStringToObject(json, "error_code", test->error_code);
    }
    if (test->state != HTTP_DEVICE_TEST_OK)
        return json;
    const struct ev_device_state *d = &test->reading;
    cJSON_AddStringToObject(json, "device_id", d->device_id);
    cJSON_AddStringToObject(json, "model", d->model);
    cJSON_AddStringToObject(json, "firmware", d->firmware);
    cJSON *roles = cJSON_AddArrayToObject(json, "roles");
    for (int bit = 0; bit < DEVICE_ROLE_COUNT; bit++)
        if (d->roles & (1u << bit))
            cJSON_AddItemToArray(roles, cJSON_CreateString(balkon_device_role_name(1u << bit)));
    if (d->warning[0])
        cJSON_AddStringToObject(json, "warning", d->warning);
    cJSON *values = cJSON_AddObjectToObject(json, "values");
    for (size_t v = 0; v < d->value_count; v++)
        cJSON_AddNumberToObject(values, d->values[v].name, round(d->values[v].value * 1000) / 1000);
    return json;
}

/* {"devices":[device]} as config text, the device named "test" when it has no id. */
static char *config_text_of(const struct http_request *request, const char **problem)
{
    cJSON *device = request->body ? cJSON_ParseWithLength(request->body, request->body_size) : NULL;
    if (!cJSON_IsObject(device)) {
        cJSON_Delete(device);
        *problem = "the body must be one device as a JSON object, as in the config's \"devices\"";
        return NULL;
    }
    if (!cJSON_GetObjectItemCaseSensitive(device, "id"))
        cJSON_AddStringToObject(device, "id", "test");
    cJSON *config = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(config, "devices"), device);
    char *text = cJSON_PrintUnformatted(config);
    cJSON_Delete(config);
    if (!text)
        *problem = "out of memory";
    return text;
}

void api_devices_test_post(struct http_state *state, const struct http_request *request,
                           struct http_response *response)
{
    const struct balkon_services *services = state->ctx->services;
    if (!services->devices.self || !services->devices.test) {
        http_reply_error(response, 503, "devices cannot be tested now (the daemon is stopping)");
        return;
    }
    const char *problem = NULL;
    char *text = config_text_of(request, &problem);
    if (!text) {
        http_reply_error(response, 400, "%s", problem);
        return;
    }
    struct balkon_config *config = malloc(sizeof *config);
    if (!config) {
        free(text);
        http_reply_error(response, 503, "out of memory");
        return;
    }
    int rc = balkon_config_parse(text, config, state->config_errors);
    free(text);
    if (rc < 0) {
        free(config);
        http_reply_json(response, 400,
                        http_config_errors_json(state->config_errors, "devices[0]."));
        return;
    }
    struct http_device_test *test = free_slot(state);
    if (!test) {
        free(config);
        http_reply_error(response, 429, "%d tests are running; wait for one to end",
                         HTTP_DEVICE_TESTS_MAX);
        return;
    }
    memset(test, 0, sizeof *test);
    test->id = ++state->device_test_count;
    test->state = HTTP_DEVICE_TEST_PENDING;
    char msg[160] = "";
    rc = services->devices.test(services->devices.self, &config->devices.items[0], TEST_TIMEOUT_S,
                                done_cb, test, msg, sizeof msg);
    free(config);
    if (rc < 0) {
        test->state = HTTP_DEVICE_TEST_NONE;
        http_reply_error(response, 400, "the device cannot be tested: %s", msg);
        return;
    }
    http_reply_json(response, 202, test_json(test));
}

void api_devices_test_get(struct http_state *state, const struct http_request *request,
                          struct http_response *response)
{
    char *end = NULL;
    unsigned long id = strtoul(request->path_param, &end, 10);
    for (size_t i = 0; end && !*end && id > 0 && i < HTTP_DEVICE_TESTS_MAX; i++) {
        const struct http_device_test *test = &state->device_tests[i];
        if (test->state != HTTP_DEVICE_TEST_NONE && test->id == id) {
            http_reply_json(response, 200, test_json(test));
            return;
        }
    }
    http_reply_error(response, 404, "no device test %s (only the latest %d are kept)",
                     request->path_param, HTTP_DEVICE_TESTS_MAX);
}

void api_devices_tests_stop(struct http_state *state)
{
    const struct balkon_services *services = state->ctx->services;
    if (!services || !services->devices.self || !services->devices.cancel)
        return;
    for (size_t i = 0; i < HTTP_DEVICE_TESTS_MAX; i++)
        services->devices.cancel(services->devices.self, &state->device_tests[i]);
}
