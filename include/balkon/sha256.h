/* SHA-256 (FIPS 180-4), for the digests of session cookies and API tokens.
 *
 * Our own 100 lines rather than OpenSSL's libcrypto: linking libcrypto for one hash maps a
 * 4.7 MB library at every start and initialises OpenSSL's providers on the first digest,
 * about 1.5 MB of resident memory in a daemon that aims at 10 MB in all. Speed does not
 * matter here: one digest of 80 bytes per request that carries a cookie or a token. */
#ifndef BALKON_SHA256_H
#define BALKON_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define BALKON_SHA256_SIZE 32

struct balkon_sha256 {
    uint32_t state[8];
    uint64_t total_bytes;
    unsigned char block[64];
    size_t block_len;
};

void balkon_sha256_init(struct balkon_sha256 *ctx);
void balkon_sha256_update(struct balkon_sha256 *ctx, const void *data, size_t size);
/* Writes the digest and wipes ctx. */
void balkon_sha256_final(struct balkon_sha256 *ctx, unsigned char out[BALKON_SHA256_SIZE]);

/* The digest of size bytes at data, in one call. */
void balkon_sha256(const void *data, size_t size, unsigned char out[BALKON_SHA256_SIZE]);

#endif
