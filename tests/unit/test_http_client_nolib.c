/* Without libcurl at run time (BALKON_LIBCURL names a library that does not exist): a client
 * is still made, every transfer fails through its callback (later, never inside
 * balkon_http_fetch) with an error that names the library and the package to install, and
 * closing the client, also from such a callback, cancels what has not failed yet. Its own
 * executable, since libcurl is loaded, or not, once per process. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "balkon/error.h"
#include "balkon/http_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MISSING_SONAME "libcurl-balkon-test-missing.so.4"

struct outcome {
    int calls;
    int transport_error;
    char error[256];
};

static void done_cb(const struct balkon_http_result *r, void *user)
{
    struct outcome *o = user;
    o->calls++;
    o->transport_error = r->transport_error;
    snprintf(o->error, sizeof o->error, "%s", r->error);
}

static void test_transfers_fail_with_the_reason(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct balkon_http_client *client = NULL;
    assert_int_equal(balkon_http_client_new(&loop, &client), 0);
    struct outcome o[2] = {0};
    const struct balkon_http_request request = {.url = "https://127.0.0.1:1/x"};
    for (int i = 0; i < 2; i++)
        assert_int_equal(balkon_http_fetch(client, &request, done_cb, &o[i]), 0);
    assert_int_equal(o[0].calls, 0); /* not before fetch returned */
    assert_int_equal(balkon_http_client_active(client), 2);
    uv_run(&loop, UV_RUN_DEFAULT);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(o[i].calls, 1);
        assert_int_not_equal(o[i].transport_error, 0);
        assert_non_null(strstr(o[i].error, MISSING_SONAME));
        assert_non_null(strstr(o[i].error, "apt install libcurl4"));
    }
    assert_int_equal(balkon_http_client_active(client), 0);

    /* One queued, then the client closed before the loop ran: cancelled, once. */
    struct outcome late = {0};
    assert_int_equal(balkon_http_fetch(client, &request, done_cb, &late), 0);
    balkon_http_client_close(client);
    assert_int_equal(late.calls, 1);
    assert_string_equal(late.error, "cancelled");
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(late.calls, 1);
    assert_int_equal(uv_loop_close(&loop), 0);

    char text[512];
    bool tls = true;
    assert_int_equal(balkon_http_library(text, sizeof text, &tls), BALKON_E_NOTFOUND);
    assert_false(tls);
    assert_non_null(strstr(text, MISSING_SONAME));
}

static struct balkon_http_client *closing_client;

static void close_cb(const struct balkon_http_result *r, void *user)
{
    done_cb(r, user);
    balkon_http_client_close(closing_client);
}

/* A callback that closes the client: the others are cancelled, each callback runs once. */
static void test_close_from_a_callback(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    assert_int_equal(balkon_http_client_new(&loop, &closing_client), 0);
    struct outcome first = {0}, second = {0};
    const struct balkon_http_request request = {.url = "http://127.0.0.1:1/x"};
    assert_int_equal(balkon_http_fetch(closing_client, &request, close_cb, &first), 0);
    assert_int_equal(balkon_http_fetch(closing_client, &request, done_cb, &second), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(first.calls, 1);
    assert_non_null(strstr(first.error, MISSING_SONAME));
    assert_int_equal(second.calls, 1);
    assert_string_equal(second.error, "cancelled");
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    setenv("BALKON_LIBCURL", MISSING_SONAME, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transfers_fail_with_the_reason),
        cmocka_unit_test(test_close_from_a_callback),
    };
    return cmocka_run_group_tests_name("http_client_nolib", tests, NULL, NULL);
}
