/* GET /api/v1/geocode?q=TEXT[&lang=de]: the setup's place search. The daemon asks the
 * geocoder of site.geocoder_url (geocode.h has its wire format) through its HTTP client on
 * the loop and answers, once the geocoder has, with the places it found:
 *   {"results":[{"name":"Berlin","admin1":"Land Berlin","country":"Germany",
 *     "country_code":"DE","latitude":52.52437,"longitude":13.41053,
 *     "timezone":"Europe/Berlin","postcode":"10967"}]}
 * The request waits suspended meanwhile (http_await); the loop never does.
 *
 * Each search costs the geocoder's operator something and is sent from this daemon's
 * address, so searches are rationed for all callers together: a burst of RATE_BURST, then
 * one per RATE_PERIOD_MS (429 with Retry-After beyond), and at most IN_FLIGHT_MAX waiting
 * for an answer at once. */
#include "http_internal.h"

#include "geocode.h"

#include "balkon/error.h"
#include "balkon/http_client.h"
#include "balkon/log.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RATE_BURST 10.0
#define RATE_PERIOD_MS 6000.0 /* ten a minute, once the burst is spent */
#define IN_FLIGHT_MAX 4
#define CONNECT_TIMEOUT_MS 4000
#define TIMEOUT_MS 8000
#define MAX_ANSWER_BYTES (256 * 1024) /* five places take about 2 KB */

struct search {
    struct http_state *state;
    struct deferral *waiting; /* NULL: the request could not wait; nobody to answer */
};

/* {"field": name, more pairs…} for an error naming a query parameter. */
static void reply_field(struct http_response *response, int status, const char *code,
                        const char *field, const char *extra_name, const char *extra_value,
                        const char *problem)
{
    cJSON *params = http_error_params("field", field, extra_name, extra_value, NULL);
    http_reply_error_code(response, status, code, params, "%s: %s", field, problem);
}

static void add_text_or_null(cJSON *object, const char *key, const char *text)
{
    if (text[0])
        cJSON_AddStringToObject(object, key, text);
    else
        cJSON_AddNullToObject(object, key);
}

static cJSON *results_json(const struct geocode_results *results)
{
    cJSON *json = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(json, "results");
    for (size_t i = 0; i < results->count; i++) {
        const struct geocode_place *p = &results->places[i];
        cJSON *place = cJSON_CreateObject();
        cJSON_AddStringToObject(place, "name", p->name);
        add_text_or_null(place, "admin1", p->admin1);
        add_text_or_null(place, "country", p->country);
        add_text_or_null(place, "country_code", p->country_code);
        /* 5 decimals are a metre: more than a site needs, less than the service sends. */
        cJSON_AddNumberToObject(place, "latitude", round(p->latitude_deg * 1e5) / 1e5);
        cJSON_AddNumberToObject(place, "longitude", round(p->longitude_deg * 1e5) / 1e5);
        add_text_or_null(place, "timezone", p->timezone);
        if (p->postcode[0])
            cJSON_AddStringToObject(place, "postcode", p->postcode);
        cJSON_AddItemToArray(list, place);
    }
    return json;
}

static void reply_failed(struct http_response *response, const char *detail)
{
    log_warn("http", "place search: %s", detail);
    http_reply_error_code(response, 502, "geocoder_failed",
                          http_error_params("detail", detail, NULL),
                          "the place search failed: %s (site.geocoder_url)", detail);
}

/* The geocoder's answer as ours. */
static void answer(const struct balkon_http_result *result, struct http_response *response)
{
    char detail[256];
    if (result->transport_error || result->status == 0) {
        if (strcmp(result->error, "cancelled") == 0) {
            http_reply_error(response, 503, "the place search was cancelled: the daemon stops");
            return;
        }
        snprintf(detail, sizeof detail, "no answer from the geocoder (%.200s)", result->error);
        reply_failed(response, detail);
        return;
    }
    struct geocode_results results;
    char problem[200];
    int rc = geocode_parse(result->body, result->body_size, &results, problem, sizeof problem);
    if (result->status != 200) {
        /* Its 400 says why in words ({"error":true,"reason":…}); anything else by status. */
        if (rc < 0 && strstr(problem, "refused"))
            snprintf(detail, sizeof detail, "the geocoder answered HTTP %ld: %s", result->status,
                     problem);
        else
            snprintf(detail, sizeof detail, "the geocoder answered HTTP %ld", result->status);
        reply_failed(response, detail);
        return;
    }
    if (rc < 0) {
        snprintf(detail, sizeof detail, "the geocoder's answer cannot be read: %s", problem);
        reply_failed(response, detail);
        return;
    }
    if (results.skipped)
        log_info("http",
                 "place search: %zu of the geocoder's places left out (no name, or "
                 "coordinates out of range)",
                 results.skipped);
    http_reply_json(response, 200, results_json(&results));
}

static void fetched_cb(const struct balkon_http_result *result, void *user)
{
    struct search *search = user;
    search->state->geocoder.in_flight--;
    struct http_response reply = {0};
    answer(result, &reply);
    if (search->waiting)
        http_await_answer(search->waiting, &reply);
    else if (!reply.body_static)
        free(reply.body);
    free(search);
}

/* Takes one search from the bucket; false with the seconds until the next one can go. */
static bool take_token(struct http_geocoder *geocoder, uint64_t now_ms, unsigned *wait_s)
{
    if (!geocoder->started) {
        geocoder->tokens = RATE_BURST;
        geocoder->started = true;
    } else {
        geocoder->tokens += (double)(now_ms - geocoder->tokens_at_ms) / RATE_PERIOD_MS;
        if (geocoder->tokens > RATE_BURST)
            geocoder->tokens = RATE_BURST;
    }
    geocoder->tokens_at_ms = now_ms;
    if (geocoder->tokens < 1) {
        *wait_s = (unsigned)ceil((1 - geocoder->tokens) * RATE_PERIOD_MS / 1000);
        return false;
    }
    geocoder->tokens -= 1;
    return true;
}

void api_geocode_get(struct http_state *state, const struct http_request *request,
                     struct http_response *response)
{
    struct http_geocoder *geocoder = &state->geocoder;
    const char *base = state->ctx->config->site.geocoder_url;
    size_t len;
    const char *text = http_query_n(request, "q", &len);
    const char *code;
    const char *problem = geocode_query_problem(text, len, &code);
    if (problem) {
        reply_field(response, 400, code, "q",
                    strcmp(code, "too_long") == 0    ? "max"
                    : strcmp(code, "too_short") == 0 ? "min"
                                                     : NULL,
                    strcmp(code, "too_long") == 0 ? "100" : "2", problem);
        return;
    }
    const char *lang = http_query(request, "lang");
    if (!lang)
        lang = "en";
    if (!geocode_lang_ok(lang)) {
        char got[40];
        snprintf(got, sizeof got, "%.20s", lang);
        reply_field(response, 400, "invalid", "lang", "got", got,
                    "must be a two-letter language code like \"de\" or \"en\"");
        return;
    }
    if (!base[0]) {
        http_reply_error_code(response, 409, "geocoder_off", NULL,
                              "the place search is off: site.geocoder_url is empty (enter "
                              "latitude and longitude, or pick the place on the map)");
        return;
    }
    if (geocoder->stopping || !request->connection) {
        http_reply_error(response, 503, "the place search is not available now");
        return;
    }
    if (geocoder->in_flight >= IN_FLIGHT_MAX) {
        response->retry_after_s = 1;
        http_reply_error_code(
            response, 429, "too_many_attempts", http_error_params("retry_after_s", "1", NULL),
            "%d place searches are waiting for the geocoder; try again in 1 s", IN_FLIGHT_MAX);
        return;
    }
    unsigned wait_s;
    if (!take_token(geocoder, uv_now(state->ctx->loop), &wait_s)) {
        char seconds[16];
        snprintf(seconds, sizeof seconds, "%u", wait_s);
        response->retry_after_s = wait_s;
        http_reply_error_code(response, 429, "too_many_attempts",
                              http_error_params("retry_after_s", seconds, NULL),
                              "too many place searches (%g, then one every %g s): try again in "
                              "%u s",
                              RATE_BURST, RATE_PERIOD_MS / 1000, wait_s);
        return;
    }
    char url[1024];
    if (!geocode_url(base, text, lang, url, sizeof url)) {
        http_reply_error(response, 500,
                         "the place search's URL does not fit (site.geocoder_url "
                         "is too long)");
        return;
    }
    if (!geocoder->client && balkon_http_client_new(state->ctx->loop, &geocoder->client) < 0) {
        http_reply_error(response, 503, "out of memory for the place search");
        return;
    }
    struct search *search = calloc(1, sizeof *search);
    if (!search) {
        http_reply_error(response, 503, "out of memory for the place search");
        return;
    }
    search->state = state;
    struct balkon_http_request fetch = {
        .url = url,
        .headers = {"Accept: application/json"},
        .connect_timeout_ms = CONNECT_TIMEOUT_MS,
        .timeout_ms = TIMEOUT_MS,
        .max_response_bytes = MAX_ANSWER_BYTES,
    };
    if (balkon_http_fetch(geocoder->client, &fetch, fetched_cb, search) < 0) {
        free(search);
        http_reply_error(response, 503, "the place search cannot start a request now");
        return;
    }
    geocoder->in_flight++;
    search->waiting = http_await(state, request, response);
    if (!search->waiting) /* the answer will find nobody: say so now */
        http_reply_error(response, 503, "out of memory for the place search");
}

void api_geocode_stop(struct http_state *state)
{
    state->geocoder.stopping = true;
    /* Runs the callbacks of the searches in flight ("cancelled": answered 503). */
    balkon_http_client_close(state->geocoder.client);
    state->geocoder.client = NULL;
}
