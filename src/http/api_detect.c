/* POST /api/v1/devices/browse {"timeout_ms": 2000}
 *   Lists the devices that announce themselves by mDNS / DNS-SD within timeout_ms (Shelly,
 *   ESPHome, web servers), each with the address to detect. Same rules as detect; 503
 *   when the query cannot be sent (no multicast route).
 * POST /api/v1/devices/detect {"host": "192.168.1.50[:PORT]", "timeout_ms": 1500}
 *   Probes the local APIs of the devices the drivers know at host (include/balkon/detect.h)
 *   and answers with what it found: type, model, firmware, a ready device config and a live
 *   reading, and what every probe saw. 400 names a bad field; 409 while another detection
 *   runs.
 *
 * The probes block for up to a few seconds each, so they run on libuv's pool (http_defer),
 * one detection at a time: the pool's threads also serve the recorder and the planner. */
#include "http_internal.h"

#include "balkon/error.h"

#include <stdlib.h>
#include <string.h>

struct detect_job {
    /* One of the two: a detection of target, or a browse. */
    int (*run)(const char *target, int timeout_ms, char **json_out, char *msg, size_t msg_size);
    int (*browse)(int timeout_ms, char **json_out, char *msg, size_t msg_size);
    char target[300];
    int timeout_ms;
    int rc;
    char *json; /* the answer, owned by the job until it is replied */
    char msg[256];
};

/* Loop-only: whether a detection is on the pool. */
static bool detect_running;

static void detect_work(void *arg)
{
    struct detect_job *job = arg;
    job->rc = job->browse
                  ? job->browse(job->timeout_ms, &job->json, job->msg, sizeof job->msg)
                  : job->run(job->target, job->timeout_ms, &job->json, job->msg, sizeof job->msg);
}

static void detect_done(struct http_state *state, void *arg, struct http_response *response)
{
    (void)state;
    struct detect_job *job = arg;
    detect_running = false;
    if (job->rc == BALKON_E_INVAL) {
        http_reply_error_code(response, 400, "bad_host",
                              http_error_params("field", "host", "got", job->target, NULL), "%s",
                              job->msg);
    } else if (job->rc == BALKON_E_IO) {
        http_reply_error_code(response, 503, "browse_failed",
                              http_error_params("reason", job->msg, NULL), "%s", job->msg);
    } else if (job->rc < 0) {
        http_reply_error(response, 500, "detection failed: %s", balkon_strerror(job->rc));
    } else {
        cJSON *json = cJSON_Parse(job->json);
        if (json)
            http_reply_json(response, 200, json);
        else
            http_reply_error(response, 500, "detection failed: out of memory");
    }
    free(job->json);
    free(job);
}

/* 400 for a timeout_ms out of min_ms..10000, with the code the dashboard translates. */
static void timeout_error(struct http_response *response, const cJSON *timeout, int min_ms)
{
    char min[16], got[32];
    snprintf(min, sizeof min, "%d", min_ms);
    if (cJSON_IsNumber(timeout))
        snprintf(got, sizeof got, "%g", timeout->valuedouble);
    else
        snprintf(got, sizeof got, "%s", "not a number");
    http_reply_error_code(
        response, 400, "range",
        http_error_params("field", "timeout_ms", "min", min, "max", "10000", "got", got, NULL),
        "timeout_ms: must be a number from %d to 10000 (ms)", min_ms);
}

/* 409: one detection or browse at a time (another tab, another person). */
static void busy_error(struct http_response *response)
{
    http_reply_error_code(response, 409, "detect_running", NULL,
                          "a detection is running already: try again when it ends");
}

void api_devices_detect_post(struct http_state *state, const struct http_request *request,
                             struct http_response *response)
{
    const struct balkon_services *services = state->ctx->services;
    if (!services->detect.run) {
        http_reply_error(response, 503, "the devices module is not running");
        return;
    }
    cJSON *body = http_body_object(request, response, "{\"host\": \"192.168.1.50\"}");
    if (!body)
        return;
    const cJSON *host = cJSON_GetObjectItemCaseSensitive(body, "host");
    const cJSON *timeout = cJSON_GetObjectItemCaseSensitive(body, "timeout_ms");
    struct detect_job *job = NULL;
    if (!cJSON_IsString(host) || !host->valuestring[0] || strlen(host->valuestring) > 260) {
        http_reply_error_code(response, 400, "bad_host",
                              http_error_params("field", "host", "got",
                                                cJSON_IsString(host) ? host->valuestring : "",
                                                NULL),
                              "host: expected the device's address as a string, like "
                              "\"192.168.1.50\" or \"shelly.local:8080\"");
    } else if (timeout && (!cJSON_IsNumber(timeout) || timeout->valuedouble < 50 ||
                           timeout->valuedouble > 10000)) {
        timeout_error(response, timeout, 50);
    } else if (detect_running) {
        busy_error(response);
    } else if (!(job = calloc(1, sizeof *job))) {
        http_reply_error(response, 500, "out of memory");
    } else {
        job->run = services->detect.run;
        snprintf(job->target, sizeof job->target, "%s", host->valuestring);
        job->timeout_ms = timeout ? (int)timeout->valuedouble : 0;
        detect_running = true;
        http_defer(state, request, response, detect_work, detect_done, job);
    }
    cJSON_Delete(body);
}

void api_devices_browse_post(struct http_state *state, const struct http_request *request,
                             struct http_response *response)
{
    const struct balkon_services *services = state->ctx->services;
    if (!services->detect.browse) {
        http_reply_error(response, 503, "the devices module is not running");
        return;
    }
    cJSON *body = http_body_object(request, response, "{\"timeout_ms\": 2000}");
    if (!body)
        return;
    const cJSON *timeout = cJSON_GetObjectItemCaseSensitive(body, "timeout_ms");
    struct detect_job *job = NULL;
    if (timeout &&
        (!cJSON_IsNumber(timeout) || timeout->valuedouble < 100 || timeout->valuedouble > 10000)) {
        timeout_error(response, timeout, 100);
    } else if (detect_running) {
        busy_error(response);
    } else if (!(job = calloc(1, sizeof *job))) {
        http_reply_error(response, 500, "out of memory");
    } else {
        job->browse = services->detect.browse;
        job->timeout_ms = timeout ? (int)timeout->valuedouble : 0;
        detect_running = true;
        http_defer(state, request, response, detect_work, detect_done, job);
    }
    cJSON_Delete(body);
}
