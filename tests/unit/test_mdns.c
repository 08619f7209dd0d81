/* The mDNS parser and query (src/devices/mdns.c): a response as a Shelly announces itself
 * (names compressed as responders do), and the malformed messages a hostile host on the LAN
 * could send: cut short, a name pointing at itself or forward, labels too long. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../src/devices/mdns.h"

#include <stdio.h>
#include <string.h>

struct seen {
    struct mdns_record records[8];
    int count;
};

static void collect(const struct mdns_record *r, void *user)
{
    struct seen *s = user;
    if (s->count < 8)
        s->records[s->count++] = *r;
}

/* Builds a response: PTR _shelly._tcp.local → instance, SRV, TXT, A; names after the first
 * are compressed pointers, as responders send them. */
static size_t shelly_response(uint8_t *m)
{
    size_t p = 0;
    const uint8_t head[12] = {0, 0, 0x84, 0, 0, 0, 0, 4, 0, 0, 0, 0};
    memcpy(m, head, 12);
    p = 12;
    /* @12: _shelly._tcp.local */
    const uint8_t service[] = {7,   '_', 's', 'h', 'e', 'l', 'l', 'y', 4,   '_',
                               't', 'c', 'p', 5,   'l', 'o', 'c', 'a', 'l', 0};
    memcpy(m + p, service, sizeof service);
    p += sizeof service;
    const uint8_t ptr_fixed[] = {0, 12, 0, 1, 0, 0, 0x11, 0x94, 0, 0};
    memcpy(m + p, ptr_fixed, sizeof ptr_fixed);
    size_t rdlen_at = p + 8;
    p += sizeof ptr_fixed;
    size_t instance_at = p; /* "shellyplus1pm-abc" + pointer to the service */
    const char *label = "shellyplus1pm-abc";
    m[p++] = (uint8_t)strlen(label);
    memcpy(m + p, label, strlen(label));
    p += strlen(label);
    m[p++] = 0xC0;
    m[p++] = 12;
    m[rdlen_at + 1] = (uint8_t)(p - instance_at);
    /* SRV instance → port 80, host shellyplus1pm-abc.local */
    m[p++] = 0xC0;
    m[p++] = (uint8_t)instance_at;
    const uint8_t srv_fixed[] = {0, 33, 0x80, 1, 0, 0, 0, 120};
    memcpy(m + p, srv_fixed, sizeof srv_fixed);
    p += sizeof srv_fixed;
    size_t srv_len_at = p;
    p += 2;
    size_t srv_at = p;
    const uint8_t srv_head[] = {0, 0, 0, 0, 0, 80};
    memcpy(m + p, srv_head, sizeof srv_head);
    p += sizeof srv_head;
    size_t host_at = p;
    m[p++] = (uint8_t)strlen(label);
    memcpy(m + p, label, strlen(label));
    p += strlen(label);
    m[p++] = 0xC0;
    m[p++] = 12 + 13; /* "local" inside the service name */
    m[srv_len_at + 1] = (uint8_t)(p - srv_at);
    /* TXT instance: gen=2, app=Plus1PM */
    m[p++] = 0xC0;
    m[p++] = (uint8_t)instance_at;
    const uint8_t txt_fixed[] = {0, 16, 0x80, 1, 0, 0, 0, 120, 0, 18};
    memcpy(m + p, txt_fixed, sizeof txt_fixed);
    p += sizeof txt_fixed;
    const uint8_t txt[] = {5,   'g', 'e', 'n', '=', '2', 11,  'a', 'p',
                           'p', '=', 'P', 'l', 'u', 's', '1', 'P', 'M'};
    memcpy(m + p, txt, sizeof txt);
    p += sizeof txt;
    /* A host → 192.168.1.77 */
    m[p++] = 0xC0;
    m[p++] = (uint8_t)host_at;
    const uint8_t a[] = {0, 1, 0x80, 1, 0, 0, 0, 120, 0, 4, 192, 168, 1, 77};
    memcpy(m + p, a, sizeof a);
    p += sizeof a;
    return p;
}

static void test_parse_shelly_announcement(void **state)
{
    (void)state;
    uint8_t m[512];
    size_t len = shelly_response(m);
    struct seen s = {0};
    assert_int_equal(mdns_parse(m, len, collect, &s), 4);
    assert_int_equal(s.records[0].type, MDNS_PTR);
    assert_string_equal(s.records[0].name, "_shelly._tcp.local");
    assert_string_equal(s.records[0].target, "shellyplus1pm-abc._shelly._tcp.local");
    assert_int_equal(s.records[0].ttl_s, 4500);
    assert_int_equal(s.records[1].type, MDNS_SRV);
    assert_string_equal(s.records[1].name, "shellyplus1pm-abc._shelly._tcp.local");
    assert_string_equal(s.records[1].target, "shellyplus1pm-abc.local");
    assert_int_equal(s.records[1].port, 80);
    assert_int_equal(s.records[2].type, MDNS_TXT);
    assert_string_equal(s.records[2].txt, "gen=2\napp=Plus1PM\n");
    assert_int_equal(s.records[3].type, MDNS_A);
    assert_string_equal(s.records[3].name, "shellyplus1pm-abc.local");
    assert_memory_equal(s.records[3].ipv4, ((uint8_t[]){192, 168, 1, 77}), 4);

    /* Every cut of the message is refused (or yields only the records before the cut),
     * never read beyond its end (ASan watches). */
    for (size_t cut = 0; cut < len; cut++) {
        struct seen part = {0};
        assert_true(mdns_parse(m, cut, collect, &part) < 4);
    }
}

static void test_parse_malformed(void **state)
{
    (void)state;
    struct seen s = {0};
    /* One answer whose name points at itself. */
    uint8_t loop[] = {0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xC0, 12,
                      0, 1, 0,    1, 0, 0, 0, 1, 0, 4, 1, 2, 3,    4};
    assert_int_equal(mdns_parse(loop, sizeof loop, collect, &s), -1);
    /* A name pointing forward (to the rdata). */
    uint8_t forward[] = {0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0,   0xC0, 24,
                         0, 1, 0,    1, 0, 0, 0, 1, 0, 4, 1, 'a', 0,    4};
    assert_int_equal(mdns_parse(forward, sizeof forward, collect, &s), -1);
    /* A label of 64 bytes (the 0x40 bit is reserved). */
    uint8_t label[12 + 70] = {0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 64};
    assert_int_equal(mdns_parse(label, sizeof label, collect, &s), -1);
    /* More answers announced than present. */
    uint8_t few[] = {0, 0, 0x84, 0, 0, 0, 0, 9, 0, 0, 0, 0};
    assert_int_equal(mdns_parse(few, sizeof few, collect, &s), -1);
    /* Shorter than a header. */
    assert_int_equal(mdns_parse(few, 11, collect, &s), -1);
    assert_int_equal(s.count, 0);
    /* An A record of the wrong size is skipped, not read. */
    uint8_t bad_a[] = {0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 'h',
                       0, 0, 1,    0, 1, 0, 0, 0, 1, 0, 2, 1, 2};
    assert_int_equal(mdns_parse(bad_a, sizeof bad_a, collect, &s), 0);
}

static void test_query(void **state)
{
    (void)state;
    const char *services[] = {"_shelly._tcp.local", "_http._tcp.local"};
    uint8_t q[256];
    size_t len = mdns_query_build(q, sizeof q, services, 2);
    /* header 12 + (20 + 4) + (18 + 4) */
    assert_int_equal(len, 12 + 24 + 22);
    assert_int_equal(q[5], 2);
    assert_int_equal(q[12], 7);
    assert_memory_equal(q + 13, "_shelly", 7);
    assert_int_equal(q[12 + 20 + 1], 12); /* type PTR */
    /* The query parses as a message with questions and no records. */
    struct seen s = {0};
    assert_int_equal(mdns_parse(q, len, collect, &s), 0);
    /* Too small a buffer, an empty label: refused. */
    assert_int_equal(mdns_query_build(q, 20, services, 2), 0);
    const char *bad[] = {"_shelly..local"};
    assert_int_equal(mdns_query_build(q, sizeof q, bad, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_shelly_announcement),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_query),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
