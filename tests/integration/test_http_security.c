/* What every HTTP answer of the real balkonsolard promises a browser and a script, over
 * real HTTP on loopback (issue 15):
 *  - security headers on API, asset (plain and gzip), error and refusal answers: a
 *    Content-Security-Policy with frame-ancestors 'none', nosniff, X-Frame-Options DENY,
 *    Referrer-Policy no-referrer; no HSTS over plain HTTP; images from the dashboard, data:
 *    and the setup map's tile server (site.map_tiles_url) only, following a reload;
 *  - query ranges that would overflow int64 (the sanitizer build aborted on them) are a
 *    400 naming the parameter, and so are nan, inf and 1e300;
 *  - JSON bodies: trailing bytes after the object and strings that are not UTF-8 are
 *    refused with a 400 naming the field; a query value that is not UTF-8 is never echoed
 *    raw (every answer stays valid UTF-8);
 *  - listening beyond loopback without TLS warns in the log and in GET /api/v1/health (in a
 *    network namespace of its own, so nothing listens on a real interface). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *CONFIG =
    "{\n"
    "  \"site\": {\"name\": \"Security\", \"latitude\": 52.52, "
    "\"longitude\": 13.40, \"timezone\": \"Europe/Berlin\"},\n"
    "  \"simulation\": {\"speed\": 60, \"start\": \"2026-06-21T10:00:00Z\"},\n"
    "  \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
    "  \"pv\": {\"planes\": [{\"name\": \"south\", \"peak_w\": 890}]},\n"
    "  \"providers\": [{\"id\": \"tariff\", \"type\": \"tou\", \"zones\": "
    "[{\"days\": \"daily\", \"from\": \"00:00\", \"to\": \"00:00\", "
    "\"price_per_kwh\": 0.3}]},\n"
    "    {\"id\": \"forecast\", \"type\": \"sim_solar\"}]\n"
    "}\n";

struct answer {
    long status;
    char headers[8192];
    char body[16384];
    size_t body_size;
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

/* One request; headers NULL-terminated; token: send the daemon's API token. */
static struct answer ask(struct daemon_proc *d, const char *method, const char *path,
                         const char *body, const char *const headers[], bool token)
{
    struct answer a = {0};
    char url[512], auth[160];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", d->port, path);
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, head_cb);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &a);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    struct curl_slist *list = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", d->token);
        list = curl_slist_append(list, auth);
    }
    if (body) {
        list = curl_slist_append(list, "Content-Type: application/json");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a.status);
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

static void assert_security_headers(const struct answer *a, const char *what)
{
    char value[1024];
    print_message("%s: %ld\n", what, a->status);
    assert_true(a->status >= 200);
    header(a, "Content-Security-Policy", value, sizeof value);
    assert_non_null(strstr(value, "default-src 'self'"));
    assert_non_null(strstr(value, "script-src 'self'"));
    assert_non_null(strstr(value, "frame-ancestors 'none'"));
    assert_null(strstr(value, "unsafe-inline"));
    assert_string_equal(header(a, "X-Content-Type-Options", value, sizeof value), "nosniff");
    assert_string_equal(header(a, "X-Frame-Options", value, sizeof value), "DENY");
    assert_string_equal(header(a, "Referrer-Policy", value, sizeof value), "no-referrer");
    /* Plain HTTP: HSTS would be ignored, and it is off by default anyway. */
    assert_string_equal(header(a, "Strict-Transport-Security", value, sizeof value), "");
}

static void test_security_headers_on_every_answer(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_config(d, CONFIG);
    assert_true(harness_start(d, NULL));
    struct answer a = ask(d, "GET", "/api/v1/health", NULL, NULL, false);
    assert_int_equal(a.status, 200);
    assert_security_headers(&a, "API (public)");
    a = ask(d, "GET", "/api/v1/status", NULL, NULL, true);
    assert_int_equal(a.status, 200);
    assert_security_headers(&a, "API (cached status)");
    a = ask(d, "GET", "/api/v1/status", NULL, NULL, false);
    assert_int_equal(a.status, 401);
    assert_security_headers(&a, "refusal (no login)");
    a = ask(d, "GET", "/", NULL, NULL, false);
    assert_int_equal(a.status, 200);
    assert_security_headers(&a, "asset (index.html)");
    /* The page itself has no inline script left for the policy to block. */
    assert_null(strstr(a.body, "<script>"));
    assert_non_null(strstr(a.body, "<script src=\"/theme.js\"></script>"));
    a = ask(d, "GET", "/theme.js", NULL, NULL, false);
    assert_int_equal(a.status, 200);
    assert_security_headers(&a, "asset (theme.js)");
    a = ask(d, "GET", "/dist/app.js", NULL, (const char *[]){"Accept-Encoding: gzip", NULL}, false);
    assert_int_equal(a.status, 200);
    assert_security_headers(&a, "asset (gzip)");
    a = ask(d, "GET", "/no/such/file", NULL, NULL, false);
    assert_int_equal(a.status, 404);
    assert_security_headers(&a, "error 404");
    a = ask(d, "DELETE", "/api/v1/health", NULL, NULL, true);
    assert_int_equal(a.status, 405);
    assert_security_headers(&a, "error 405");
    a = ask(d, "GET", "/", NULL, (const char *[]){"Host: evil.example", NULL}, false);
    assert_int_equal(a.status, 403);
    assert_security_headers(&a, "refusal (Host)");
    /* On loopback: no warning about plain HTTP. */
    cJSON *health = harness_get_json(d, "/api/v1/health");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(health, "warning")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(health, "secure")));
    cJSON_Delete(health);
    assert_null(strstr(harness_log(d), "without HTTPS"));
    assert_int_equal(harness_signal_and_wait(d, SIGTERM, 5000, NULL), 0);
}

/* A 400 whose error names param. */
static void assert_refused(struct daemon_proc *d, const char *path, const char *param)
{
    struct answer a = ask(d, "GET", path, NULL, NULL, true);
    print_message("%s -> %ld %s\n", path, a.status, a.body);
    assert_int_equal(a.status, 400);
    cJSON *json = cJSON_Parse(a.body);
    assert_non_null(json);
    const char *error = harness_text(json, "error");
    assert_int_equal(strncmp(error, param, strlen(param)), 0);
    assert_int_equal(error[strlen(param)], ':');
    cJSON_Delete(json);
}

/* CONFIG with site.map_tiles_url set to tiles. */
static void write_tiles_config(struct daemon_proc *d, const char *tiles)
{
    char config[2048];
    const char *site = strstr(CONFIG, "\"site\": {") + strlen("\"site\": {");
    snprintf(config, sizeof config, "%.*s\"map_tiles_url\": \"%s\", %s", (int)(site - CONFIG),
             CONFIG, tiles, site);
    harness_write_config(d, config);
}

/* img-src of the policy of an answer: "'self' data:" and the tile origin, exactly. */
static const char *image_sources(const struct answer *a, char *out, size_t size)
{
    char policy[1024];
    header(a, "Content-Security-Policy", policy, sizeof policy);
    assert_non_null(strstr(policy, "default-src 'self'"));
    assert_non_null(strstr(policy, "frame-ancestors 'none'"));
    const char *img = strstr(policy, "img-src ");
    snprintf(out, size, "%.*s", img ? (int)strcspn(img, ";") : 0, img ? img : "");
    return out;
}

/* Waits (a reload takes a moment) until the page's policy allows exactly want's images. */
static void expect_page_images(struct daemon_proc *d, const char *want)
{
    char sources[256] = "";
    for (int waited = 0; waited < 5000; waited += 100) {
        struct answer page = ask(d, "GET", "/", NULL, NULL, false);
        assert_int_equal(page.status, 200);
        if (strcmp(image_sources(&page, sources, sizeof sources), want) == 0)
            return;
        harness_sleep_ms(100);
    }
    fail_msg("the page's images: \"%s\", want \"%s\"", sources, want);
}

/* The setup's map (site.map_tiles_url): the page may load images from the tile server's
 * origin and from no other; a reloaded config's next page follows; no map, no exception. */
static void test_policy_allows_the_tile_origin_only(void **state)
{
    struct daemon_proc *d = *state;
    write_tiles_config(d, "http://127.0.0.1:8099/tiles/{z}/{x}/{y}.png");
    assert_true(harness_start(d, NULL));
    expect_page_images(d, "img-src 'self' data: http://127.0.0.1:8099");
    char sources[256];
    struct answer api = ask(d, "GET", "/api/v1/health", NULL, NULL, false);
    assert_string_equal(image_sources(&api, sources, sizeof sources),
                        "img-src 'self' data: http://127.0.0.1:8099");

    /* Another tile server, the file reloaded: the next page's policy follows. */
    write_tiles_config(d, "https://tiles.example.org/osm/{z}/{x}/{y}.png");
    kill(d->pid, SIGHUP);
    expect_page_images(d, "img-src 'self' data: https://tiles.example.org");
    /* No map: no exception. */
    write_tiles_config(d, "");
    kill(d->pid, SIGHUP);
    expect_page_images(d, "img-src 'self' data:");
    harness_stop_cleanly(d, 5000);
}

static void test_overflowing_ranges_are_400(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_config(d, CONFIG);
    assert_true(harness_start(d, NULL));
    /* Issue 15's query: signed overflow in the range check (abort under the sanitizers). */
    assert_refused(d, "/api/v1/prices?from=-9000000000000000&to=9000000000000000", "from");
    assert_refused(d, "/api/v1/prices?from=0&to=9000000000000000", "to");
    assert_refused(d, "/api/v1/savings?from=-9000000000000000&to=9000000000000000", "from");
    assert_refused(d, "/api/v1/savings?to=9000000000000000", "to");
    assert_refused(d, "/api/v1/series?name=grid_power_w&from=-9000000000000000", "from");
    assert_refused(d, "/api/v1/series?name=grid_power_w&to=9000000000000000", "to");
    assert_refused(d, "/api/v1/series?name=grid_power_w&from=0&to=1000&step=1e300", "step");
    assert_refused(d, "/api/v1/signal?from=nan", "from");
    assert_refused(d, "/api/v1/forecast/solar?to=inf", "to");
    assert_refused(d, "/api/v1/forecast/load?from=1e300", "from");
    assert_refused(d, "/api/v1/prices?from=-1", "from");
    assert_refused(d, "/api/v1/commands?limit=99999999999999999999", "limit");
    /* A range within bounds that is too long is refused too, as before. */
    assert_refused(d, "/api/v1/prices?from=0&to=253402300799", "to");
    /* And a good one still answers. */
    struct answer a =
        ask(d, "GET", "/api/v1/prices?from=2026-06-21T00:00:00Z&to=2026-06-22T00:00:00Z", NULL,
            NULL, true);
    assert_true(a.status == 200 || a.status == 404); /* 404: no price provider configured */
    a = ask(d, "GET",
            "/api/v1/series?name=grid_power_w&from=2026-06-21T00:00:00Z&to=2026-06-22T00:00:00Z",
            NULL, NULL, true);
    assert_true(a.status == 200 || a.status == 404);
    /* The daemon is alive and well (the sanitizer build would have aborted above). */
    assert_int_equal(ask(d, "GET", "/api/v1/health", NULL, NULL, false).status, 200);
    assert_int_equal(harness_signal_and_wait(d, SIGTERM, 5000, NULL), 0);
}

static bool valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 0;
        if (n == 0 || (n == 2 && *p < 0xc2))
            return false;
        for (int i = 1; i < n; i++)
            if ((p[i] & 0xc0) != 0x80)
                return false;
        p += n;
    }
    return true;
}

static void test_strict_input(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_config(d, CONFIG);
    assert_true(harness_start(d, NULL));
    /* Trailing bytes after the JSON object. */
    struct answer a =
        ask(d, "PUT", "/api/v1/strategy", "{\"strategy\": \"optimal\"} x", NULL, true);
    assert_int_equal(a.status, 400);
    assert_non_null(strstr(a.body, "body: unexpected bytes after the JSON object"));
    a = ask(d, "PUT", "/api/v1/strategy", "{\"strategy\": \"optimal\"}{\"strategy\": \"x\"}", NULL,
            true);
    assert_int_equal(a.status, 400);
    /* White space after it is fine. */
    a = ask(d, "PUT", "/api/v1/strategy", "{\"strategy\": \"optimal\"} \r\n", NULL, true);
    assert_int_equal(a.status, 200);
    /* A string that is not UTF-8: raw, and as a lone surrogate escape. */
    a = ask(d, "PUT", "/api/v1/strategy",
            "{\"strategy\": \"opt\xff\", \"x\": [1, {\"y\": \"\xc0\xaf\"}]}", NULL, true);
    assert_int_equal(a.status, 400);
    assert_true(valid_utf8(a.body));
    cJSON *json = cJSON_Parse(a.body);
    assert_string_equal(harness_text(json, "field"), "strategy");
    assert_non_null(strstr(harness_text(json, "error"), "strategy: must be valid UTF-8"));
    cJSON_Delete(json);
    a = ask(d, "PUT", "/api/v1/strategy",
            "{\"strategy\": \"optimal\", \"x\": [1, {\"y\": \"\xc0\xaf\"}]}", NULL, true);
    assert_int_equal(a.status, 400);
    json = cJSON_Parse(a.body);
    assert_string_equal(harness_text(json, "field"), "x[1].y"); /* an overlong '/' */
    cJSON_Delete(json);
    a = ask(d, "PUT", "/api/v1/strategy", "{\"strategy\": \"\\ud800\"}", NULL, true);
    assert_int_equal(a.status, 400); /* cJSON refuses a lone surrogate as it parses */
    /* A query value that is not UTF-8 is not echoed raw (it was, making invalid JSON). */
    a = ask(d, "GET", "/api/v1/savings?group=%ff%fe", NULL, NULL, true);
    print_message("group=%%ff -> %ld %s\n", a.status, a.body);
    assert_true(a.status == 400 || a.status == 503);
    assert_true(valid_utf8(a.body));
    a = ask(d, "GET", "/api/v1/series?name=%c3%28", NULL, NULL, true);
    assert_int_equal(a.status, 404);
    assert_true(valid_utf8(a.body));
    json = cJSON_Parse(a.body);
    assert_non_null(json);
    cJSON_Delete(json);
    a = ask(d, "GET", "/api/v1/prices?from=%e2%82", NULL, NULL, true);
    assert_int_equal(a.status, 400);
    assert_true(valid_utf8(a.body));
    assert_int_equal(harness_signal_and_wait(d, SIGTERM, 5000, NULL), 0);
}

/* In a network namespace of its own (only lo), the daemon listens on 0.0.0.0 without TLS:
 * a warning in the log and in GET /api/v1/health. */
static void test_warning_beyond_loopback_without_tls(void **state)
{
    struct daemon_proc *d = *state;
    if (system("unshare -rn true >/dev/null 2>&1") != 0) {
        print_message("skipped: cannot make a network namespace (unshare -rn)\n");
        skip();
    }
    char config_path[400], log_path[400], health_path[400], command[2400];
    snprintf(config_path, sizeof config_path, "%s/open.json", d->dir);
    snprintf(log_path, sizeof log_path, "%s/open.log", d->dir);
    snprintf(health_path, sizeof health_path, "%s/health.json", d->dir);
    FILE *f = fopen(config_path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"site\": {\"name\": \"Open\", \"latitude\": 52.5, \"longitude\": 13.4, "
            "\"timezone\": \"Europe/Berlin\"}, \"devices\": [],"
            " \"storage\": {\"path\": \"%s/open.db\"}, \"http\": {\"listen\": \"0.0.0.0:18080\"}}",
            d->dir);
    fclose(f);
    snprintf(command, sizeof command,
             "unshare -rn sh -c 'ip link set lo up; \"%s\" --config \"%s\" >\"%s\" 2>&1 & pid=$!; "
             "for i in $(seq 50); do curl -sf http://127.0.0.1:18080/api/v1/health >\"%s\" && "
             "break; sleep 0.2; done; kill -TERM $pid; wait $pid'",
             getenv("BALKONSOLARD"), config_path, log_path, health_path);
    assert_int_equal(system(command), 0);
    char log[8192] = "", body[2048] = "";
    f = fopen(log_path, "r");
    assert_non_null(f);
    log[fread(log, 1, sizeof log - 1, f)] = '\0';
    fclose(f);
    f = fopen(health_path, "r");
    assert_non_null(f);
    body[fread(body, 1, sizeof body - 1, f)] = '\0';
    fclose(f);
    print_message("health: %s\n", body);
    assert_non_null(strstr(log, "listening beyond this machine without HTTPS"));
    cJSON *json = cJSON_Parse(body);
    assert_non_null(json);
    assert_non_null(strstr(harness_text(json, "warning"), "without HTTPS"));
    cJSON_Delete(json);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_security_headers_on_every_answer, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_policy_allows_the_tile_origin_only, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_overflowing_ranges_are_400, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_strict_input, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_warning_beyond_loopback_without_tls, harness_setup,
                                        harness_teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
