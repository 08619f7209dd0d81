/* Random tokens (getrandom), SHA-256 digests (our own, src/util/sha256.c: the header says
 * why not libcrypto's) and password hashes (libxcrypt's yescrypt). */
#include "balkon/secret.h"

#include "balkon/error.h"
#include "balkon/sha256.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

int balkon_secret_random(unsigned char *out, size_t size)
{
    size_t done = 0;
    while (done < size) {
        ssize_t n = getrandom(out + done, size - done, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return BALKON_E_IO;
        done += (size_t)n;
    }
    return 0;
}

static void to_hex(const unsigned char *bytes, size_t size, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < size; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * size] = '\0';
}

int balkon_secret_token(const char *prefix, char out[BALKON_TOKEN_TEXT_SIZE])
{
    unsigned char bytes[BALKON_TOKEN_BYTES];
    size_t prefix_len = strlen(prefix);
    if (prefix_len + 2 * sizeof bytes + 1 > BALKON_TOKEN_TEXT_SIZE)
        return BALKON_E_INVAL;
    if (balkon_secret_random(bytes, sizeof bytes) < 0)
        return BALKON_E_IO;
    memcpy(out, prefix, prefix_len);
    to_hex(bytes, sizeof bytes, out + prefix_len);
    explicit_bzero(bytes, sizeof bytes);
    return 0;
}

int balkon_secret_digest(const char *text, char out[BALKON_DIGEST_HEX_SIZE])
{
    unsigned char digest[BALKON_SHA256_SIZE];
    balkon_sha256(text, strlen(text), digest);
    to_hex(digest, sizeof digest, out);
    return 0;
}

bool balkon_secret_equal(const char *a, const char *b)
{
    size_t len = strlen(a);
    if (len != strlen(b))
        return false;
    /* Every byte is compared whatever the first difference: the time tells no prefix. The
     * volatile keeps the compiler from turning the loop into an early-exit memcmp. */
    volatile unsigned char diff = 0;
    for (size_t i = 0; i < len; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

const char *balkon_password_problem(const char *password)
{
    size_t len = strlen(password);
    if (len < BALKON_PASSWORD_MIN_LEN)
        return "must be at least 8 characters long";
    if (len > BALKON_PASSWORD_MAX_LEN)
        return "must be at most 256 characters long";
    return NULL;
}

int balkon_password_hash(const char *password, char out[BALKON_PASSWORD_HASH_SIZE])
{
    if (!password[0] || strlen(password) > BALKON_PASSWORD_MAX_LEN)
        return BALKON_E_INVAL;
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    /* count 0 = libxcrypt's default cost for yescrypt; NULL randomness = its own getrandom. */
    if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof salt))
        return BALKON_E_IO;
    struct crypt_data *data = calloc(1, sizeof *data);
    if (!data)
        return BALKON_E_NOMEM;
    const char *hash = crypt_rn(password, salt, data, sizeof *data);
    int err = 0;
    if (!hash || hash[0] == '*' || strlen(hash) >= BALKON_PASSWORD_HASH_SIZE)
        err = BALKON_E_IO;
    else
        snprintf(out, BALKON_PASSWORD_HASH_SIZE, "%s", hash);
    explicit_bzero(data, sizeof *data);
    free(data);
    return err;
}

bool balkon_password_verify(const char *password, const char *hash)
{
    if (!hash[0] || strlen(password) > BALKON_PASSWORD_MAX_LEN)
        return false;
    struct crypt_data *data = calloc(1, sizeof *data);
    if (!data)
        return false;
    const char *computed = crypt_rn(password, hash, data, sizeof *data);
    bool ok = computed && computed[0] != '*' && balkon_secret_equal(computed, hash);
    explicit_bzero(data, sizeof *data);
    free(data);
    return ok;
}

void balkon_setup_code_path(const char *db_path, char *out, size_t size)
{
    const char *slash = strrchr(db_path, '/');
    if (strcmp(db_path, ":memory:") == 0 || !slash)
        snprintf(out, size, "setup-code");
    else
        snprintf(out, size, "%.*s/setup-code", (int)(slash - db_path), db_path);
}
