/* The key the HTTP server's per-address limits count a client under (src/http/listener.c):
 * an IPv4 address as is, an IPv6 address by its /64, an IPv4 client of a dual-stack socket
 * as the IPv4 address it is. Loopback cannot show the /64 rule in an integration test, so
 * it is proven here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../src/http/http_internal.h"

#include <string.h>

static bool same(const char *a, const char *b)
{
    struct http_address_key ka, kb;
    assert_true(http_address_key(a, &ka));
    assert_true(http_address_key(b, &kb));
    return memcmp(&ka, &kb, sizeof ka) == 0;
}

static void test_ipv4_addresses_count_one_by_one(void **state)
{
    assert_true(same("192.168.1.23", "192.168.1.23"));
    assert_false(same("192.168.1.23", "192.168.1.24"));
    assert_false(same("127.0.0.2", "127.0.0.3"));
}

static void test_ipv6_addresses_count_by_their_64(void **state)
{
    assert_true(same("2001:db8:1:2::1", "2001:db8:1:2:ffff:ee:dd:9"));
    assert_false(same("2001:db8:1:2::1", "2001:db8:1:3::1"));
    assert_true(same("::1", "::2"));
}

static void test_mapped_ipv4_is_ipv4(void **state)
{
    assert_true(same("::ffff:192.168.1.23", "192.168.1.23"));
    /* Not the /64 of all mapped addresses, which would lump every IPv4 client together. */
    assert_false(same("::ffff:192.168.1.23", "::ffff:192.168.1.24"));
    /* An IPv4 key never equals an IPv6 one, even of zeros. */
    assert_false(same("0.0.0.0", "::"));
}

static void test_refuses_what_is_no_address(void **state)
{
    struct http_address_key key;
    assert_false(http_address_key("?", &key));
    assert_false(http_address_key("", &key));
    assert_false(http_address_key("192.168.1", &key));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_addresses_count_one_by_one),
        cmocka_unit_test(test_ipv6_addresses_count_by_their_64),
        cmocka_unit_test(test_mapped_ipv4_is_ipv4),
        cmocka_unit_test(test_refuses_what_is_no_address),
    };
    return cmocka_run_group_tests_name("http_address", tests, NULL, NULL);
}
