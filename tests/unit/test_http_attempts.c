/* The login attempt limits (src/http/auth.c) on addresses loopback cannot show: IPv6
 * addresses counted one by one before their /64, IPv4-mapped addresses as IPv4, and the
 * arithmetic of the delays (free failures, doubling, the cap, the queue, the global
 * delay that never refuses). The real daemon's behaviour is in test_auth. The loop's
 * clock does not move here, so every hold is relative to one fixed now. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../src/http/http_internal.h"

#include "balkon/bus.h"
#include "balkon/config.h"
#include "balkon/log.h"
#include "balkon/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static uv_loop_t loop;
static struct balkon_config config;
static struct balkon_ctx ctx;
static struct balkon_services services;
static struct http_state state;
static char dir[64];

static int setup(void **unused)
{
    balkon_log_set_level((enum balkon_log_level)0);
    uv_loop_init(&loop);
    balkon_config_defaults(&config);
    ctx.loop = &loop;
    ctx.bus = balkon_bus_new();
    ctx.services = &services;
    ctx.config = &config;
    struct balkon_store_options options = {.path = ":memory:"};
    char msg[256];
    assert_int_equal(balkon_store_open(&options, &ctx.store, msg, sizeof msg), 0);
    snprintf(dir, sizeof dir, "/tmp/balkon-attempts-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(config.storage.path, sizeof config.storage.path, "%s/t.db", dir);
    state = (struct http_state){.ctx = &ctx};
    state.auth = http_auth_new(&state);
    assert_non_null(state.auth);
    return 0;
}

static int teardown(void **unused)
{
    http_auth_stop(state.auth);
    uv_run(&loop, UV_RUN_DEFAULT);
    http_auth_free(state.auth);
    balkon_store_close(ctx.store);
    balkon_bus_free(ctx.bus);
    uv_loop_close(&loop);
    char path[128];
    snprintf(path, sizeof path, "%s/setup-code", dir);
    remove(path);
    remove(dir);
    return 0;
}

/* One attempt from ip: its wait in ms (0: at once), or -1 for a 429. */
static long attempt(const char *ip)
{
    struct http_request request = {0};
    snprintf(request.client_ip, sizeof request.client_ip, "%s", ip);
    struct http_response response = {0};
    bool ok = http_auth_attempt(state.auth, &request, &response);
    if (!response.body_static)
        free(response.body);
    if (!ok) {
        assert_int_equal(response.status, 429);
        assert_true(response.retry_after_s > 0);
        return -1;
    }
    return response.hold_until_ms ? (long)(response.hold_until_ms - uv_now(&loop)) : 0;
}

static void test_delays_double_after_free_failures(void **unused)
{
    for (int i = 0; i < 5; i++)
        assert_int_equal(attempt("192.0.2.1"), 0);
    /* Queued one after the other: each answer waits for the one before it, plus its own. */
    assert_int_equal(attempt("192.0.2.1"), 1000);
    assert_int_equal(attempt("192.0.2.1"), 1000 + 2000);
    assert_int_equal(attempt("192.0.2.1"), 1000 + 2000 + 4000);
    /* Another address is not slowed by it. */
    assert_int_equal(attempt("192.0.2.2"), 0);
    /* A success forgets the source's failures. */
    http_auth_attempt_succeeded(state.auth, "192.0.2.1");
    assert_int_equal(attempt("192.0.2.1"), 0);
}

static void test_queue_beyond_two_minutes_is_429(void **unused)
{
    long last = 0, wait_ms;
    int tries = 0;
    while ((wait_ms = attempt("192.0.2.50")) >= 0) {
        assert_true(wait_ms >= last);
        assert_true(wait_ms - last <= 60000); /* no single delay beyond the cap */
        last = wait_ms;
        assert_true(++tries < 50);
    }
    assert_true(last <= 120000);
    print_message("429 after %d attempts, %ld ms queued\n", tries + 1, last);
    /* The owner from elsewhere is not refused. */
    assert_true(attempt("192.0.2.51") >= 0);
}

static void test_ipv6_address_before_its_64(void **unused)
{
    /* One address fails six times: it waits; its neighbour in the /64 does not. */
    for (int i = 0; i < 5; i++)
        assert_int_equal(attempt("2001:db8:aa::1"), 0);
    assert_int_equal(attempt("2001:db8:aa::1"), 1000);
    assert_int_equal(attempt("2001:db8:aa::2"), 0);
    /* Hopping addresses: after 20 failures in the /64, a fresh address there waits too. */
    for (int host = 3; host < 17; host++) {
        char ip[48];
        snprintf(ip, sizeof ip, "2001:db8:aa::%d", host);
        attempt(ip);
    }
    assert_true(attempt("2001:db8:aa::ffff") > 0);
    /* Another /64 is untouched, and so is an IPv4 client of a dual-stack socket. */
    assert_int_equal(attempt("2001:db8:ab::1"), 0);
    assert_int_equal(attempt("::ffff:192.0.2.77"), 0);
}

static void test_everyone_failing_never_refuses_a_fresh_source(void **unused)
{
    char ip[48];
    for (int host = 0; host < 120; host++) {
        snprintf(ip, sizeof ip, "198.51.100.%d", host);
        assert_true(attempt(ip) >= 0);
    }
    /* Hundreds of failures from everywhere: a fresh address still gets an answer, late by
     * at most 4 s. */
    long wait_ms = attempt("203.0.113.5");
    print_message("a fresh source after 120+ failures waits %ld ms\n", wait_ms);
    assert_true(wait_ms > 0 && wait_ms <= 4000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delays_double_after_free_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_beyond_two_minutes_is_429, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6_address_before_its_64, setup, teardown),
        cmocka_unit_test_setup_teardown(test_everyone_failing_never_refuses_a_fresh_source, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
