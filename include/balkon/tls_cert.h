/* The HTTPS certificate: where it is, a self-signed one made on first start (http.tls
 * "auto"), and its SHA-256 fingerprint for the log and `balkonsolard --show-cert`. */
#ifndef BALKON_TLS_CERT_H
#define BALKON_TLS_CERT_H

#include "balkon/config.h"

#include <stdbool.h>
#include <stddef.h>

/* "AB:CD:..." (32 bytes as hex pairs) and its NUL. */
#define BALKON_TLS_FINGERPRINT_SIZE 96

/* A certificate and key in memory (PEM), each malloc'd and NUL-terminated; the key is
 * wiped when freed. */
struct balkon_tls_pem {
    char *cert;
    char *key;
    char fingerprint[BALKON_TLS_FINGERPRINT_SIZE];
    char cert_path[300];
};

/* Where the certificate and key are: http.tls_cert and http.tls_key, or for "auto" without
 * them tls-cert.pem and tls-key.pem beside the database. */
void balkon_tls_paths(const struct balkon_config *config, char *cert_path, size_t cert_size,
                      char *key_path, size_t key_size);

/* Loads the certificate and key for http.tls "on" or "auto" into pem; with "auto" and no
 * files yet, first makes a self-signed certificate (ECDSA P-256, ten years, for the
 * machine's name, localhost and 127.0.0.1) and writes both files 0600. Returns 0, or an
 * error with what went wrong (which file, why) in msg. */
int balkon_tls_load(const struct balkon_config *config, struct balkon_tls_pem *pem, char *msg,
                    size_t msg_size);
void balkon_tls_pem_free(struct balkon_tls_pem *pem);

/* `balkonsolard --show-cert`: prints the certificate's path and SHA-256 fingerprint to
 * stdout (nothing is made). Returns the exit status. */
int balkon_tls_show(const struct balkon_config *config);

#endif
