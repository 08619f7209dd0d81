/* libcurl multi on libuv against a local fake server: bodies, statuses, Retry-After,
 * timeouts, size limits, POST bodies and headers, refused connections, cancellation, and
 * that the libcurl loaded at run time speaks TLS. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "balkon/http_client.h"
#include "fake_http.h"

#include <curl/curl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct outcome {
    int calls;
    long status;
    int transport_error;
    char error[256];
    char body[8192];
    size_t body_size;
    long retry_after_s;
};

static void done_cb(const struct balkon_http_result *r, void *user)
{
    struct outcome *o = user;
    o->calls++;
    o->status = r->status;
    o->transport_error = r->transport_error;
    snprintf(o->error, sizeof o->error, "%s", r->error);
    snprintf(o->body, sizeof o->body, "%s", r->body);
    o->body_size = r->body_size;
    o->retry_after_s = r->retry_after_s;
}

static struct fake_http *fake;
static uv_loop_t loop;
static struct balkon_http_client *client;

static int setup(void **state)
{
    fake = fake_http_start();
    uv_loop_init(&loop);
    return balkon_http_client_new(&loop, &client);
}

static int teardown(void **state)
{
    balkon_http_client_close(client);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    fake_http_stop(fake);
    return 0;
}

static struct outcome fetch(const struct balkon_http_request *request)
{
    struct outcome o = {0};
    assert_int_equal(balkon_http_fetch(client, request, done_cb, &o), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(o.calls, 1);
    return o;
}

static void url(char *out, size_t size, const char *path)
{
    snprintf(out, size, "%s%s", fake_http_base(fake), path);
}

static void test_get_body(void **state)
{
    fake_http_route(fake, "/ok", 200, "application/json", "{\"a\":1}", 7, NULL, 0);
    char u[256];
    url(u, sizeof u, "/ok?x=1");
    struct outcome o = fetch(&(struct balkon_http_request){.url = u});
    assert_int_equal(o.status, 200);
    assert_int_equal(o.transport_error, 0);
    assert_string_equal(o.body, "{\"a\":1}");
    assert_int_equal(o.retry_after_s, -1);
    char line[256];
    fake_http_last(fake, "/ok", line, sizeof line, NULL, 0, NULL, 0);
    assert_string_equal(line, "GET /ok?x=1");
}

static void test_error_status_and_retry_after(void **state)
{
    fake_http_route(fake, "/busy", 429, "text/plain", "slow down", 9, "Retry-After: 120", 0);
    char u[256];
    url(u, sizeof u, "/busy");
    struct outcome o = fetch(&(struct balkon_http_request){.url = u});
    assert_int_equal(o.status, 429);
    assert_int_equal(o.transport_error, 0);
    assert_int_equal(o.retry_after_s, 120);
    fake_http_route(fake, "/down", 500, "text/plain", "oops", 4, NULL, 0);
    url(u, sizeof u, "/down");
    o = fetch(&(struct balkon_http_request){.url = u});
    assert_int_equal(o.status, 500);
    assert_string_equal(o.body, "oops");
}

static void test_timeout(void **state)
{
    fake_http_route(fake, "/slow", 200, "text/plain", "late", 4, NULL, 1500);
    char u[256];
    url(u, sizeof u, "/slow");
    struct outcome o = fetch(&(struct balkon_http_request){.url = u, .timeout_ms = 200});
    assert_int_not_equal(o.transport_error, 0);
    assert_non_null(strstr(o.error, "imed out"));
}

static void test_size_limit(void **state)
{
    char big[4000];
    memset(big, 'x', sizeof big);
    fake_http_route(fake, "/big", 200, "text/plain", big, sizeof big, NULL, 0);
    char u[256];
    url(u, sizeof u, "/big");
    struct outcome o = fetch(&(struct balkon_http_request){.url = u, .max_response_bytes = 1000});
    assert_int_not_equal(o.transport_error, 0);
    assert_string_equal(o.error, "response larger than 1000 bytes");
}

static void test_post_with_headers(void **state)
{
    fake_http_route(fake, "/gql", 200, "application/json", "{}", 2, NULL, 0);
    char u[256];
    url(u, sizeof u, "/gql");
    const char *body = "{\"query\":\"{ viewer { name } }\"}";
    struct outcome o = fetch(&(struct balkon_http_request){
        .method = "POST",
        .url = u,
        .body = body,
        .body_size = strlen(body),
        .headers = {"Authorization: Bearer t0ken", "Content-Type: application/json"}});
    assert_int_equal(o.status, 200);
    char line[256], got_body[256], auth[256];
    fake_http_last(fake, "/gql", line, sizeof line, got_body, sizeof got_body, auth, sizeof auth);
    assert_string_equal(line, "POST /gql");
    assert_string_equal(got_body, body);
    assert_string_equal(auth, "Bearer t0ken");
}

static void test_refused_connection(void **state)
{
    /* Port 1 on loopback: nothing listens there. */
    struct outcome o =
        fetch(&(struct balkon_http_request){.url = "http://127.0.0.1:1/x", .timeout_ms = 2000});
    assert_int_equal(o.status, 0);
    assert_int_not_equal(o.transport_error, 0);
    assert_true(o.error[0] != '\0');
}

static void test_parallel_transfers(void **state)
{
    fake_http_route(fake, "/p", 200, "text/plain", "p", 1, NULL, 300);
    char u[256];
    url(u, sizeof u, "/p");
    struct outcome o[4] = {0};
    for (int i = 0; i < 4; i++)
        assert_int_equal(
            balkon_http_fetch(client, &(struct balkon_http_request){.url = u}, done_cb, &o[i]), 0);
    assert_int_equal(balkon_http_client_active(client), 4);
    uint64_t start = uv_hrtime();
    uv_run(&loop, UV_RUN_DEFAULT);
    double elapsed_ms = (double)(uv_hrtime() - start) / 1e6;
    for (int i = 0; i < 4; i++)
        assert_int_equal(o[i].status, 200);
    /* Four 300 ms answers in parallel, not in a row. */
    assert_true(elapsed_ms < 1100);
}

static void test_close_cancels_in_flight(void **state)
{
    fake_http_route(fake, "/never", 200, "text/plain", "x", 1, NULL, 1000);
    char u[256];
    url(u, sizeof u, "/never");
    struct outcome o = {0};
    assert_int_equal(
        balkon_http_fetch(client, &(struct balkon_http_request){.url = u}, done_cb, &o), 0);
    uv_run(&loop, UV_RUN_NOWAIT);
    balkon_http_client_close(client);
    assert_int_equal(o.calls, 1);
    assert_string_equal(o.error, "cancelled");
    client = NULL; /* teardown's close accepts NULL */
    assert_int_equal(balkon_http_fetch(NULL, &(struct balkon_http_request){.url = u}, done_cb, &o),
                     -2);
}

static struct outcome closer_outcome;

static void close_cb(const struct balkon_http_result *r, void *user)
{
    done_cb(r, user);
    balkon_http_client_close(client);
}

/* A callback that closes the client while another transfer is in flight: that one is
 * cancelled, and every callback runs once. */
static void test_close_from_a_callback(void **state)
{
    fake_http_route(fake, "/fast", 200, "text/plain", "f", 1, NULL, 0);
    fake_http_route(fake, "/slow", 200, "text/plain", "s", 1, NULL, 1000);
    char fast[256], slow[256];
    url(fast, sizeof fast, "/fast");
    url(slow, sizeof slow, "/slow");
    closer_outcome = (struct outcome){0};
    struct outcome other = {0};
    assert_int_equal(
        balkon_http_fetch(client, &(struct balkon_http_request){.url = slow}, done_cb, &other), 0);
    assert_int_equal(balkon_http_fetch(client, &(struct balkon_http_request){.url = fast}, close_cb,
                                       &closer_outcome),
                     0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(closer_outcome.calls, 1);
    assert_int_equal(closer_outcome.status, 200);
    assert_int_equal(other.calls, 1);
    assert_string_equal(other.error, "cancelled");
    client = NULL; /* closed; teardown's close accepts NULL */
}

/* libcurl is loaded on first use (src/net/curl_lib.c): the one it loads must speak TLS, and
 * an https:// URL must reach a TLS handshake. The fake server speaks plain HTTP, so the
 * handshake fails, which is the proof that TLS ran (an unsupported scheme fails earlier,
 * with CURLE_UNSUPPORTED_PROTOCOL). */
static void test_https_goes_through_tls(void **state)
{
    char text[256];
    bool tls = false;
    assert_int_equal(balkon_http_library(text, sizeof text, &tls), 0);
    assert_true(tls);
    assert_null(strstr(text, "TLS none"));
    fake_http_route(fake, "/tls", 200, "text/plain", "plain", 5, NULL, 0);
    char u[256];
    url(u, sizeof u, "/tls");
    assert_int_equal(strncmp(u, "http://", 7), 0);
    char https[260];
    snprintf(https, sizeof https, "https://%s", u + 7);
    struct outcome o = fetch(&(struct balkon_http_request){.url = https, .timeout_ms = 5000});
    assert_int_equal(o.status, 0);
    assert_int_equal(o.transport_error, CURLE_SSL_CONNECT_ERROR);
}

/* Issue 15: libcurl followed redirects to any host, so a provider's server could send the
 * daemon (and the provider's token) to an address on the LAN. Now: the same scheme, host
 * and port only (POST after 303 as GET), and devices not at all. */
static void test_redirects_stay_on_the_origin(void **state)
{
    struct fake_http *other = fake_http_start();
    assert_non_null(other);
    char location[256];
    fake_http_route(fake, "/final", 200, "application/json", "{\"ok\":1}", 8, NULL, 0);
    fake_http_route(fake, "/same", 302, "text/plain", "", 0, "Location: /final?x=1", 0);
    snprintf(location, sizeof location, "Location: %s/stolen", fake_http_base(other));
    fake_http_route(fake, "/port", 302, "text/plain", "", 0, location, 0);
    snprintf(location, sizeof location, "Location: http://127.0.0.2:%d/final?token=t0p",
             fake_http_port(fake));
    fake_http_route(fake, "/host", 301, "text/plain", "", 0, location, 0);
    snprintf(location, sizeof location, "Location: https://127.0.0.1:%d/final",
             fake_http_port(fake));
    fake_http_route(fake, "/scheme", 308, "text/plain", "", 0, location, 0);
    fake_http_route(fake, "/loop", 302, "text/plain", "", 0, "Location: /loop", 0);
    fake_http_route(fake, "/post", 303, "text/plain", "", 0, "Location: /final", 0);
    fake_http_route(other, "/stolen", 200, "application/json", "{}", 2, NULL, 0);
    char u[256];

    url(u, sizeof u, "/same");
    struct outcome o = fetch(&(struct balkon_http_request){.url = u});
    assert_int_equal(o.status, 200);
    assert_string_equal(o.body, "{\"ok\":1}");
    assert_int_equal(fake_http_hits(fake, "/final"), 1);

    const char *refused[][2] = {
        {"/port", "refused: only redirects to the same scheme, host and port"},
        {"/host", "to http://127.0.0.2:"},
        {"/scheme", "to https://127.0.0.1:"},
        {"/loop", "more than 3 redirects"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        url(u, sizeof u, refused[i][0]);
        o = fetch(&(struct balkon_http_request){.url = u, .headers = {"Authorization: Bearer t"}});
        if (o.transport_error == 0 || !strstr(o.error, refused[i][1]))
            fail_msg("%s: error \"%s\" (status %ld), want \"%s\"", refused[i][0], o.error, o.status,
                     refused[i][1]);
        assert_null(strstr(o.error, "t0p")); /* the target's query is not shown */
    }
    assert_int_equal(fake_http_hits(other, "/stolen"), 0);
    assert_int_equal(fake_http_hits(fake, "/final"), 1);
    assert_int_equal(fake_http_hits(fake, "/loop"), 4);

    /* After a 303 the POST goes on as a GET. */
    url(u, sizeof u, "/post");
    o = fetch(&(struct balkon_http_request){
        .method = "POST", .url = u, .body = "{\"q\":1}", .body_size = 7});
    assert_int_equal(o.status, 200);
    char line[128];
    fake_http_last(fake, "/final", line, sizeof line, NULL, 0, NULL, 0);
    assert_string_equal(line, "GET /final");

    /* A device is never redirected, not even on its own host. */
    url(u, sizeof u, "/same");
    o = fetch(&(struct balkon_http_request){.url = u, .no_redirects = true});
    assert_int_not_equal(o.transport_error, 0);
    assert_non_null(strstr(o.error, "redirect not followed (devices never are)"));
    assert_int_equal(fake_http_hits(fake, "/final"), 2);
    fake_http_stop(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_status_and_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_with_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parallel_transfers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_cancels_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_from_a_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_https_goes_through_tls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirects_stay_on_the_origin, setup, teardown),
    };
    return cmocka_run_group_tests_name("http_client", tests, NULL, NULL);
}
