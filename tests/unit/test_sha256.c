/* SHA-256 against FIPS 180-4's examples and digests from Python's hashlib for lengths at the
 * padding's edges (55, 56, 63, 64, 65 bytes: the length field fits, just fails to fit, or
 * needs its own block), whole and fed in uneven pieces; and balkon_secret_digest's hex. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "balkon/secret.h"
#include "balkon/sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hex(const unsigned char digest[BALKON_SHA256_SIZE], char out[65])
{
    for (int i = 0; i < BALKON_SHA256_SIZE; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

static void test_fips_examples(void **state)
{
    unsigned char d[BALKON_SHA256_SIZE];
    char h[65];
    balkon_sha256("abc", 3, d);
    hex(d, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    balkon_sha256(two_blocks, strlen(two_blocks), d);
    hex(d, h);
    assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    struct balkon_sha256 ctx;
    balkon_sha256_init(&ctx);
    char a[1000];
    memset(a, 'a', sizeof a);
    for (int i = 0; i < 1000; i++)
        balkon_sha256_update(&ctx, a, sizeof a);
    balkon_sha256_final(&ctx, d);
    hex(d, h);
    assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_padding_edges(void **state)
{
    static const struct {
        size_t size;
        const char *digest;
    } cases[] = {
        {0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {3, "ce562c676ea7aba9812f54db146b0096011bf3e423edfb0a6f8fb2b02674a801"},
        {55, "16fa57a0a3423a715d594516339f36189d6b5f93754a9714fef202616a9fabfe"},
        {56, "c37b44e5f1b18554b36966f4f8e08bfbf3164c4b6c10374d12d89850892073c5"},
        {63, "bbba992d2c85af960fb2987a1fd05e0aa82a3db3c740dd8982a9e273b75e36a3"},
        {64, "66bd4633ed6f71c4ecfa4763bf7ba1c8ec7612de9aa6c0578a7b675207c71e0b"},
        {65, "9f7dc47107b750a1f3d35db5d9547f24ef40da5b731b9540d4f43710a154f6c9"},
        {119, "a3ed307b730fa77c07531300c6e4a282330011d4d4caf6bb7b63ae05950f4b66"},
        {1000, "095ecb62e30793ab4b954cd6a0586d0cc91f7ea5b1332694d8da780e98676d78"},
    };
    unsigned char message[1000];
    for (size_t i = 0; i < sizeof message; i++)
        message[i] = (unsigned char)(i * 7 + 1);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        unsigned char d[BALKON_SHA256_SIZE];
        char h[65];
        balkon_sha256(message, cases[c].size, d);
        hex(d, h);
        assert_string_equal(h, cases[c].digest);
        /* The same in pieces of 1, 2, 3 … bytes, across block boundaries. */
        struct balkon_sha256 ctx;
        balkon_sha256_init(&ctx);
        for (size_t done = 0, piece = 1; done < cases[c].size; done += piece, piece++) {
            if (piece > cases[c].size - done)
                piece = cases[c].size - done;
            balkon_sha256_update(&ctx, message + done, piece);
        }
        balkon_sha256_final(&ctx, d);
        hex(d, h);
        assert_string_equal(h, cases[c].digest);
    }
}

static void test_secret_digest_is_sha256_hex(void **state)
{
    char out[BALKON_DIGEST_HEX_SIZE];
    assert_int_equal(balkon_secret_digest("abc", out), 0);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_true(balkon_secret_equal(
        out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    assert_false(balkon_secret_equal(
        out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ae"));
    assert_false(balkon_secret_equal(out, "ba78"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fips_examples),
        cmocka_unit_test(test_padding_edges),
        cmocka_unit_test(test_secret_digest_is_sha256_hex),
    };
    return cmocka_run_group_tests_name("sha256", tests, NULL, NULL);
}
