/* GET /api/v1/geocode, the setup's place search, through the real balkonsolard against a
 * fake geocoder on loopback (site.geocoder_url) that answers what the real Open-Meteo API
 * answered (tests/fixtures/real/geocoding/):
 *  - the places come back parsed, the request went out with the text percent-encoded, and
 *    the daemon answers other requests while the geocoder takes its time (the loop waits
 *    for nobody);
 *  - what the dashboard sends is checked first (q missing, too short, too long, not UTF-8,
 *    a control character; lang): a 400 naming the parameter, and the geocoder never asked;
 *  - the geocoder failing (HTTP 500, its 400 with a reason, garbage, nobody listening) is a
 *    502 that says so, and the daemon goes on searching;
 *  - an empty site.geocoder_url switches the search off (409); a login is needed even where
 *    reading is open; searches are rationed (429 with Retry-After);
 *  - a daemon stopped while a search waits stops at once and cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fake_http.h"
#include "harness.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>

struct answer {
    long status;
    char headers[8192];
    char body[16384];
    size_t body_size;
    long elapsed_ms;
};

static size_t body_cb(char *ptr, size_t size, size_t nmemb, void *user)
{
    struct answer *a = user;
    size_t n = size * nmemb, room = sizeof a->body - 1 - a->body_size;
    size_t take = n < room ? n : room;
    memcpy(a->body + a->body_size, ptr, take);
    a->body_size += take;
    a->body[a->body_size] = '\0';
    return n;
}

static size_t head_cb(char *ptr, size_t size, size_t nmemb, void *user)
{
    struct answer *a = user;
    size_t n = size * nmemb, used = strlen(a->headers), room = sizeof a->headers - 1 - used;
    size_t take = n < room ? n : room;
    memcpy(a->headers + used, ptr, take);
    a->headers[used + take] = '\0';
    return n;
}

/* GET path (already URL-encoded) with the daemon's API token unless anonymous. */
static struct answer ask(const struct daemon_proc *d, const char *path, bool anonymous)
{
    struct answer a = {0};
    char url[1024], auth[160];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", d->port, path);
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, head_cb);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &a);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    struct curl_slist *list = NULL;
    if (!anonymous) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", d->token);
        list = curl_slist_append(list, auth);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    long start = harness_now_ms();
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a.status);
    a.elapsed_ms = harness_now_ms() - start;
    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
    return a;
}

/* The value of header name in a's headers ("" when absent). */
static const char *header(const struct answer *a, const char *name, char *out, size_t size)
{
    out[0] = '\0';
    size_t len = strlen(name);
    for (const char *line = a->headers; *line; line = strchr(line, '\n') + 1) {
        if (strncasecmp(line, name, len) == 0 && line[len] == ':') {
            const char *v = line + len + 1;
            while (*v == ' ')
                v++;
            snprintf(out, size, "%.*s", (int)strcspn(v, "\r\n"), v);
            return out;
        }
        if (!strchr(line, '\n'))
            break;
    }
    return out;
}

/* A site whose place search is the fake's /v1/search (geocoder NULL: that URL; "" for
 * none) and whose map tiles come from tiles (a URL template, "" for none). */
static void write_config(struct daemon_proc *d, const char *geocoder, const char *tiles)
{
    char config[2048];
    snprintf(config, sizeof config,
             "{\"site\": {\"name\": \"Search\", \"geocoder_url\": \"%s\", \"map_tiles_url\": "
             "\"%s\"},\n"
             " \"http\": {\"read_without_login\": true},\n"
             " \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}]}\n",
             geocoder, tiles);
    harness_write_config(d, config);
}

static void start(struct harness_fixture *f, const char *geocoder, const char *tiles)
{
    char url[256];
    snprintf(url, sizeof url, "%s/v1/search", fake_http_base(f->fakes[0]));
    write_config(&f->daemon, geocoder ? geocoder : url, tiles);
    assert_true(harness_start(&f->daemon, NULL));
}

static void route_fixture(struct fake_http *fake, int delay_ms)
{
    char path[512];
    snprintf(path, sizeof path, "%s/real/geocoding/open_meteo_berlin_en_2023-03-31.json",
             getenv("BALKON_FIXTURES"));
    fake_http_route_file(fake, "/v1/search", 200, "application/json", path, NULL, delay_ms);
}

/* The answer's JSON; fails the test, showing the answer, unless it has want_status. */
static cJSON *expect(const struct answer *a, long want_status, const char *what)
{
    if (a->status != want_status)
        fail_msg("%s: HTTP %ld, want %ld: %s", what, a->status, want_status, a->body);
    cJSON *json = cJSON_Parse(a->body);
    if (!json)
        fail_msg("%s: not JSON: %s", what, a->body);
    return json;
}

/* An error answer: its status, code, the parameter it names, and words of its message. */
static void expect_error(const struct answer *a, long want_status, const char *code,
                         const char *field, const char *words, const char *what)
{
    cJSON *json = expect(a, want_status, what);
    const char *error = harness_text(json, "error");
    if (strcmp(harness_text(json, "code"), code) != 0)
        fail_msg("%s: code %s, want %s: %s", what, harness_text(json, "code"), code, a->body);
    if (field) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "%s: ", field);
        if (strncmp(error, prefix, strlen(prefix)) != 0)
            fail_msg("%s: the error does not name %s: %s", what, field, a->body);
        assert_string_equal(harness_text(cJSON_GetObjectItem(json, "params"), "field"), field);
    }
    if (words && !strstr(error, words))
        fail_msg("%s: \"%s\" not in the error: %s", what, words, a->body);
    cJSON_Delete(json);
}

static void test_places_come_back_parsed(void **state)
{
    struct harness_fixture *f = *state;
    struct daemon_proc *d = &f->daemon;
    route_fixture(f->fakes[0], 0);
    start(f, NULL, "");

    struct answer a = ask(d, "/api/v1/geocode?q=Berlin&lang=de", false);
    cJSON *json = expect(&a, 200, "search for Berlin");
    const cJSON *results = cJSON_GetObjectItem(json, "results");
    assert_int_equal(cJSON_GetArraySize(results), 5);
    const cJSON *first = cJSON_GetArrayItem(results, 0);
    assert_string_equal(harness_text(first, "name"), "Berlin");
    assert_string_equal(harness_text(first, "admin1"), "Land Berlin");
    assert_string_equal(harness_text(first, "country"), "Germany");
    assert_string_equal(harness_text(first, "country_code"), "DE");
    assert_string_equal(harness_text(first, "timezone"), "Europe/Berlin");
    assert_string_equal(harness_text(first, "postcode"), "10967");
    assert_float_equal(harness_number(first, "latitude"), 52.52437, 1e-9);
    assert_float_equal(harness_number(first, "longitude"), 13.41053, 1e-9);
    const cJSON *second = cJSON_GetArrayItem(results, 1);
    assert_string_equal(harness_text(second, "admin1"), "New Hampshire");
    assert_string_equal(harness_text(second, "timezone"), "America/New_York");
    assert_float_equal(harness_number(second, "longitude"), -71.18508, 1e-9);
    cJSON_Delete(json);
    char line[512], body[64], authorization[64];
    fake_http_last(f->fakes[0], "/v1/search", line, sizeof line, body, sizeof body, authorization,
                   sizeof authorization);
    assert_string_equal(line, "GET /v1/search?name=Berlin&count=5&language=de&format=json");

    /* Without lang: English. The text reaches the geocoder as it was typed. */
    a = ask(d, "/api/v1/geocode?q=K%C3%B6ln%20Hbf%20%26%20Dom", false);
    json = expect(&a, 200, "search for Köln Hbf & Dom");
    cJSON_Delete(json);
    fake_http_last(f->fakes[0], "/v1/search", line, sizeof line, body, sizeof body, authorization,
                   sizeof authorization);
    assert_string_equal(
        line, "GET /v1/search?name=K\xc3\xb6ln Hbf & Dom&count=5&language=en&format=json");
    assert_int_equal(fake_http_hits(f->fakes[0], "/v1/search"), 2);
    harness_stop_cleanly(d, 5000);
}

/* A slow geocoder delays its own search, nothing else: the loop never waits for it. */
struct slow_search {
    const struct daemon_proc *daemon;
    struct answer answer;
};

static void *search_thread(void *arg)
{
    struct slow_search *s = arg;
    s->answer = ask(s->daemon, "/api/v1/geocode?q=Berlin", false);
    return NULL;
}

static void test_the_loop_does_not_wait(void **state)
{
    struct harness_fixture *f = *state;
    struct daemon_proc *d = &f->daemon;
    route_fixture(f->fakes[0], 2500);
    start(f, NULL, "");
    struct slow_search search = {.daemon = d};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, search_thread, &search), 0);
    harness_sleep_ms(300);
    for (int i = 0; i < 5; i++) {
        struct answer health = ask(d, "/api/v1/health", true);
        assert_int_equal(health.status, 200);
        if (health.elapsed_ms > 500)
            fail_msg("GET /api/v1/health took %ld ms while a search waited", health.elapsed_ms);
        harness_sleep_ms(100);
    }
    pthread_join(thread, NULL);
    cJSON *json = expect(&search.answer, 200, "the slow search");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(json, "results")), 5);
    assert_true(search.answer.elapsed_ms >= 2400);
    cJSON_Delete(json);
    harness_stop_cleanly(d, 5000);
}

static void test_bad_queries_name_the_parameter(void **state)
{
    struct harness_fixture *f = *state;
    struct daemon_proc *d = &f->daemon;
    route_fixture(f->fakes[0], 0);
    start(f, NULL, "");
    struct answer a = ask(d, "/api/v1/geocode", false);
    expect_error(&a, 400, "required", "q", "is required", "no q");
    a = ask(d, "/api/v1/geocode?q=", false);
    expect_error(&a, 400, "required", "q", "is required", "empty q");
    a = ask(d, "/api/v1/geocode?q=B", false);
    expect_error(&a, 400, "too_short", "q", "at least 2 characters", "one letter");
    char path[400] = "/api/v1/geocode?q=";
    for (int i = 0; i < 101; i++)
        strcat(path, "a");
    a = ask(d, path, false);
    expect_error(&a, 400, "too_long", "q", "at most 100 bytes", "101 letters");
    a = ask(d, "/api/v1/geocode?q=Ber%FFlin", false);
    expect_error(&a, 400, "utf8", "q", "valid UTF-8", "a byte that is not UTF-8");
    a = ask(d, "/api/v1/geocode?q=Ber%00lin", false);
    expect_error(&a, 400, "invalid", "q", "control characters", "an encoded NUL");
    a = ask(d, "/api/v1/geocode?q=Ber%0Alin", false);
    expect_error(&a, 400, "invalid", "q", "control characters", "a line break");
    a = ask(d, "/api/v1/geocode?q=Berlin&lang=DEU", false);
    expect_error(&a, 400, "invalid", "lang", "two-letter language code", "lang DEU");
    assert_int_equal(fake_http_hits(f->fakes[0], "/v1/search"), 0);
    /* Reading is open here (http.read_without_login), the search is not. */
    a = ask(d, "/api/v1/geocode?q=Berlin", true);
    expect_error(&a, 401, "login_required", NULL, NULL, "without a login");
    assert_int_equal(ask(d, "/api/v1/status", true).status, 200);
    assert_int_equal(fake_http_hits(f->fakes[0], "/v1/search"), 0);
    harness_stop_cleanly(d, 5000);
}

static void test_geocoder_failures_are_502(void **state)
{
    struct harness_fixture *f = *state;
    struct daemon_proc *d = &f->daemon;
    start(f, NULL, "");
    struct fake_http *fake = f->fakes[0];

    harness_route_json(fake, "/v1/search", 500, "{\"error\":\"boom\"}");
    struct answer a = ask(d, "/api/v1/geocode?q=Berlin", false);
    expect_error(&a, 502, "geocoder_failed", NULL, "the geocoder answered HTTP 500", "HTTP 500");
    cJSON *json = cJSON_Parse(a.body);
    assert_string_equal(harness_text(cJSON_GetObjectItem(json, "params"), "detail"),
                        "the geocoder answered HTTP 500");
    cJSON_Delete(json);

    harness_route_json(
        fake, "/v1/search", 400,
        "{\"error\":true,\"reason\":\"Parameter count must be between 1 and 100.\"}");
    a = ask(d, "/api/v1/geocode?q=Berlin", false);
    expect_error(&a, 502, "geocoder_failed", NULL, "Parameter count must be between 1 and 100.",
                 "the geocoder's own 400");

    const char *html = "<html><body>502 Bad Gateway</body></html>";
    fake_http_route(fake, "/v1/search", 200, "text/html", html, strlen(html), NULL, 0);
    a = ask(d, "/api/v1/geocode?q=Berlin", false);
    expect_error(&a, 502, "geocoder_failed", NULL,
                 "cannot be read: the answer is not a JSON object", "garbage");
    harness_route_json(fake, "/v1/search", 200, "{\"results\":\"Berlin\"}");
    a = ask(d, "/api/v1/geocode?q=Berlin", false);
    expect_error(&a, 502, "geocoder_failed", NULL, "\"results\" is not a list",
                 "results not a list");

    /* Nothing found is no failure. */
    harness_route_json(fake, "/v1/search", 200, "{\"generationtime_ms\":0.3}");
    a = ask(d, "/api/v1/geocode?q=Xqzzyville", false);
    json = expect(&a, 200, "nothing found");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(json, "results")), 0);
    cJSON_Delete(json);

    /* The daemon is still there, and searches again once the geocoder is well. */
    assert_int_equal(ask(d, "/api/v1/health", true).status, 200);
    route_fixture(fake, 0);
    a = ask(d, "/api/v1/geocode?q=Berlin", false);
    json = expect(&a, 200, "after the failures");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(json, "results")), 5);
    cJSON_Delete(json);
    assert_non_null(strstr(harness_log(d), "place search: the geocoder answered HTTP 500"));
    harness_stop_cleanly(d, 5000);
}

static void test_nobody_listening_is_502(void **state)
{
    struct harness_fixture *f = *state;
    struct daemon_proc *d = &f->daemon;
    /* Port 9 (discard) on loopback: nothing listens there in a test machine. */
    start(f, "http://127.0.0.1:9/v1/search", "");
    struct answer a = ask(d, "/api/v1/geocode?q=Berlin", false);
    expect_error(&a, 502, "geocoder_failed", NULL, "no answer from the geocoder", "refused");
    assert_int_equal(ask(d, "/api/v1/health", true).status, 200);
    harness_stop_cleanly(d, 5000);
}

static void test_search_off_and_rationed(void **state)
{
    struct harness_fixture *f = *state;
    struct daemon_proc *d = &f->daemon;
    route_fixture(f->fakes[0], 0);
    start(f, "", "");
    struct answer a = ask(d, "/api/v1/geocode?q=Berlin", false);
    expect_error(&a, 409, "geocoder_off", NULL, "site.geocoder_url is empty", "search off");
    assert_int_equal(fake_http_hits(f->fakes[0], "/v1/search"), 0);
    harness_stop_cleanly(d, 5000);

    /* Switched on: ten at once, then one every 6 s. */
    start(f, NULL, "");
    for (int i = 0; i < 10; i++) {
        a = ask(d, "/api/v1/geocode?q=Berlin", false);
        if (a.status != 200)
            fail_msg("search %d: HTTP %ld: %s", i + 1, a.status, a.body);
    }
    a = ask(d, "/api/v1/geocode?q=Berlin", false);
    expect_error(&a, 429, "too_many_attempts", NULL, "too many place searches", "the 11th");
    char value[32];
    long retry_after = atol(header(&a, "Retry-After", value, sizeof value));
    assert_true(retry_after >= 1 && retry_after <= 6);
    cJSON *json = cJSON_Parse(a.body);
    assert_int_equal(atol(harness_text(cJSON_GetObjectItem(json, "params"), "retry_after_s")),
                     retry_after);
    cJSON_Delete(json);
    assert_int_equal(fake_http_hits(f->fakes[0], "/v1/search"), 10);
    harness_sleep_ms((int)retry_after * 1000 + 200);
    a = ask(d, "/api/v1/geocode?q=Berlin", false);
    json = expect(&a, 200, "after Retry-After");
    cJSON_Delete(json);
    harness_stop_cleanly(d, 5000);
}

/* A daemon told to stop while a search waits for a slow geocoder stops at once, cleanly;
 * the search gets its 503 or its connection closed, not a wait for the geocoder. */
static void test_stop_while_a_search_waits(void **state)
{
    struct harness_fixture *f = *state;
    struct daemon_proc *d = &f->daemon;
    route_fixture(f->fakes[0], 6000);
    start(f, NULL, "");
    struct slow_search search = {.daemon = d};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, search_thread, &search), 0);
    for (int waited = 0; waited < 3000 && fake_http_hits(f->fakes[0], "/v1/search") == 0;
         waited += 20)
        harness_sleep_ms(20);
    harness_sleep_ms(200);
    long start_ms = harness_now_ms();
    harness_stop_cleanly(d, 5000);
    long stop_ms = harness_now_ms() - start_ms;
    pthread_join(thread, NULL);
    print_message("stopped in %ld ms; the search: HTTP %ld after %ld ms %s\n", stop_ms,
                  search.answer.status, search.answer.elapsed_ms, search.answer.body);
    assert_true(stop_ms < 3000);
    assert_true(search.answer.status == 503 || search.answer.status == 0);
    assert_true(search.answer.elapsed_ms < 5000);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_places_come_back_parsed, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_the_loop_does_not_wait, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_bad_queries_name_the_parameter, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_geocoder_failures_are_502, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_nobody_listening_is_502, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_search_off_and_rationed, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_stop_while_a_search_waits, harness_setup_fake,
                                        harness_teardown_fakes),
    };
    int rc = cmocka_run_group_tests_name("geocode", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
