/* Secrets: random tokens, their digests, and password hashes.
 *
 * Passwords are stored only as crypt(3) yescrypt hashes (libxcrypt: salted, memory-hard,
 * about 50 ms on a PC and a few hundred on a Raspberry Pi, so they are computed off the
 * loop). Session cookies and API tokens are 256 random bits; the database keeps only
 * their SHA-256, so a copied database opens no door. */
#ifndef BALKON_SECRET_H
#define BALKON_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#define BALKON_TOKEN_BYTES 32
/* A token as text: prefix + 64 hex digits + NUL. */
#define BALKON_TOKEN_TEXT_SIZE 80
#define BALKON_DIGEST_HEX_SIZE 65 /* SHA-256 as hex + NUL */
#define BALKON_PASSWORD_HASH_SIZE 256
#define BALKON_PASSWORD_MIN_LEN 8
#define BALKON_PASSWORD_MAX_LEN 256

/* Fills out with size bytes of fresh randomness (getrandom). Returns 0 or BALKON_E_IO. */
int balkon_secret_random(unsigned char *out, size_t size);

/* Fills out with prefix followed by 64 hex digits of fresh randomness (getrandom).
 * Returns 0 or BALKON_E_IO. */
int balkon_secret_token(const char *prefix, char out[BALKON_TOKEN_TEXT_SIZE]);

/* SHA-256 of text as lowercase hex. Returns 0 or BALKON_E_NOMEM. */
int balkon_secret_digest(const char *text, char out[BALKON_DIGEST_HEX_SIZE]);

/* Whether two strings are equal, in time that depends only on their lengths. */
bool balkon_secret_equal(const char *a, const char *b);

/* Hashes a password with a fresh salt. Slow on purpose: never on the loop thread.
 * Returns 0, BALKON_E_INVAL (empty or too long) or BALKON_E_IO (no randomness). */
int balkon_password_hash(const char *password, char out[BALKON_PASSWORD_HASH_SIZE]);

/* Whether password matches hash (from balkon_password_hash). Slow on purpose. */
bool balkon_password_verify(const char *password, const char *hash);

/* Where the first-start setup code lives: "setup-code" beside the database (in the current
 * directory for ":memory:" or a bare file name). */
void balkon_setup_code_path(const char *db_path, char *out, size_t size);

/* Why a new password is not acceptable ("at least 8 characters"), or NULL when it is. */
const char *balkon_password_problem(const char *password);

#endif
