/* The HTTPS certificate (http.tls): loads the configured PEM files, or with "auto" makes a
 * self-signed one on first start with GnuTLS, the library libmicrohttpd does TLS with.
 *
 * A self-signed certificate cannot be checked against a public CA, so the user checks it
 * once by its SHA-256 fingerprint (the log at start, `balkonsolard --show-cert`, the
 * browser's certificate view) or gives it to clients (curl --cacert tls-cert.pem). The key
 * never leaves the machine: written 0600 beside the database, never overwritten, never
 * followed through a link. */
#include "balkon/tls_cert.h"

#include "balkon/error.h"
#include "balkon/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PEM_MAX_BYTES (1024 * 1024)
#define CERT_VALID_S (10LL * 365 * 86400)

void balkon_tls_paths(const struct balkon_config *config, char *cert_path, size_t cert_size,
                      char *key_path, size_t key_size)
{
    if (config->http.tls_cert[0]) {
        snprintf(cert_path, cert_size, "%s", config->http.tls_cert);
        snprintf(key_path, key_size, "%s", config->http.tls_key);
        return;
    }
    /* Beside the database, as the setup code is. */
    char dir_file[300];
    balkon_setup_code_path(config->storage.path, dir_file, sizeof dir_file);
    size_t dir_len = strlen(dir_file) - strlen("setup-code");
    snprintf(cert_path, cert_size, "%.*stls-cert.pem", (int)dir_len, dir_file);
    snprintf(key_path, key_size, "%.*stls-key.pem", (int)dir_len, dir_file);
}

/* The whole file (a regular one, at most 1 MiB) as a malloc'd string, or NULL with errno. */
static char *read_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return NULL;
    struct stat st;
    char *text = NULL;
    if (fstat(fd, &st) < 0)
        goto done;
    if (!S_ISREG(st.st_mode) || st.st_size > PEM_MAX_BYTES) {
        errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
        goto done;
    }
    text = malloc((size_t)st.st_size + 1);
    if (!text)
        goto done;
    ssize_t got = read(fd, text, (size_t)st.st_size);
    if (got != st.st_size) {
        free(text);
        text = NULL;
        errno = EIO;
        goto done;
    }
    text[got] = '\0';
done:;
    int saved = errno;
    close(fd);
    errno = saved;
    return text;
}

/* Writes data to a new file (never one that exists, nor through a link), mode 0600. */
static int write_new_file(const char *path, const void *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    ssize_t written = write(fd, data, size);
    int err = written == (ssize_t)size ? 0 : -1;
    if (fsync(fd) < 0)
        err = -1;
    if (close(fd) < 0)
        err = -1;
    if (err < 0)
        unlink(path);
    return err;
}

/* Makes a self-signed certificate and key and writes them (key first). */
static int generate(const char *cert_path, const char *key_path, char *msg, size_t msg_size)
{
    gnutls_x509_privkey_t key = NULL;
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t key_pem = {0}, cert_pem = {0};
    int err = BALKON_E_IO;
    int rc = gnutls_x509_privkey_init(&key);
    if (rc == 0)
        rc = gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
                                          GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
    if (rc == 0)
        rc = gnutls_x509_crt_init(&crt);
    if (rc < 0)
        goto fail;
    char name[256] = "balkonsolar";
    if (gethostname(name, sizeof name) != 0 || !name[0])
        snprintf(name, sizeof name, "balkonsolar");
    name[sizeof name - 1] = '\0';
    unsigned char serial[16];
    if (balkon_secret_random(serial, sizeof serial) < 0)
        goto fail;
    serial[0] &= 0x7f; /* a positive number */
    time_t now = time(NULL);
    static const unsigned char loopback[4] = {127, 0, 0, 1};
    static const char server_auth_oid[] = "1.3.6.1.5.5.7.3.1";
    if ((rc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
        (rc = gnutls_x509_crt_set_serial(crt, serial, sizeof serial)) < 0 ||
        (rc = gnutls_x509_crt_set_activation_time(crt, now - 3600)) < 0 ||
        (rc = gnutls_x509_crt_set_expiration_time(crt, (time_t)(now + CERT_VALID_S))) < 0 ||
        (rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, name,
                                            (unsigned)strlen(name))) < 0 ||
        (rc = gnutls_x509_crt_set_subject_alt_name(
             crt, GNUTLS_SAN_DNSNAME, name, (unsigned)strlen(name), GNUTLS_FSAN_APPEND)) < 0 ||
        (rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
                                                   GNUTLS_FSAN_APPEND)) < 0 ||
        (rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, loopback,
                                                   sizeof loopback, GNUTLS_FSAN_APPEND)) < 0 ||
        (rc = gnutls_x509_crt_set_key_purpose_oid(crt, server_auth_oid, 0)) < 0 ||
        (rc = gnutls_x509_crt_set_key(crt, key)) < 0 ||
        (rc = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0 ||
        (rc = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &key_pem)) < 0 ||
        (rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cert_pem)) < 0)
        goto fail;
    if (write_new_file(key_path, key_pem.data, key_pem.size) < 0) {
        snprintf(msg, msg_size, "http.tls: cannot write the key to %s: %s", key_path,
                 strerror(errno));
        goto done;
    }
    if (write_new_file(cert_path, cert_pem.data, cert_pem.size) < 0) {
        snprintf(msg, msg_size, "http.tls: cannot write the certificate to %s: %s", cert_path,
                 strerror(errno));
        unlink(key_path);
        goto done;
    }
    err = 0;
    goto done;
fail:
    snprintf(msg, msg_size, "http.tls: cannot make a self-signed certificate: %s",
             gnutls_strerror(rc));
done:
    if (key_pem.data) {
        explicit_bzero(key_pem.data, key_pem.size);
        gnutls_free(key_pem.data);
    }
    gnutls_free(cert_pem.data);
    if (crt)
        gnutls_x509_crt_deinit(crt);
    if (key)
        gnutls_x509_privkey_deinit(key);
    return err;
}

/* The SHA-256 fingerprint of the first certificate in pem, as "AB:CD:...". */
static int fingerprint(const char *pem, char out[BALKON_TLS_FINGERPRINT_SIZE])
{
    gnutls_x509_crt_t crt;
    if (gnutls_x509_crt_init(&crt) < 0)
        return BALKON_E_NOMEM;
    gnutls_datum_t datum = {.data = (unsigned char *)pem, .size = (unsigned)strlen(pem)};
    unsigned char digest[32];
    size_t digest_size = sizeof digest;
    int rc = gnutls_x509_crt_import(crt, &datum, GNUTLS_X509_FMT_PEM);
    if (rc == 0)
        rc = gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, digest, &digest_size);
    gnutls_x509_crt_deinit(crt);
    if (rc < 0 || digest_size != sizeof digest)
        return BALKON_E_PARSE;
    for (size_t i = 0; i < sizeof digest; i++)
        snprintf(out + 3 * i, 4, "%02X%s", digest[i], i + 1 < sizeof digest ? ":" : "");
    return 0;
}

int balkon_tls_load(const struct balkon_config *config, struct balkon_tls_pem *pem, char *msg,
                    size_t msg_size)
{
    memset(pem, 0, sizeof *pem);
    char key_path[300];
    balkon_tls_paths(config, pem->cert_path, sizeof pem->cert_path, key_path, sizeof key_path);
    if (strcmp(config->http.tls, "auto") == 0 && access(pem->cert_path, F_OK) != 0 &&
        access(key_path, F_OK) != 0) {
        int err = generate(pem->cert_path, key_path, msg, msg_size);
        if (err < 0)
            return err;
    }
    pem->cert = read_file(pem->cert_path);
    if (!pem->cert) {
        snprintf(msg, msg_size, "http.tls_cert: cannot read %s: %s", pem->cert_path,
                 strerror(errno));
        return BALKON_E_IO;
    }
    pem->key = read_file(key_path);
    if (!pem->key) {
        snprintf(msg, msg_size, "http.tls_key: cannot read %s: %s", key_path, strerror(errno));
        balkon_tls_pem_free(pem);
        return BALKON_E_IO;
    }
    if (fingerprint(pem->cert, pem->fingerprint) < 0) {
        snprintf(msg, msg_size, "http.tls_cert: %s is not a PEM certificate", pem->cert_path);
        balkon_tls_pem_free(pem);
        return BALKON_E_PARSE;
    }
    return 0;
}

void balkon_tls_pem_free(struct balkon_tls_pem *pem)
{
    if (pem->key)
        explicit_bzero(pem->key, strlen(pem->key));
    free(pem->key);
    free(pem->cert);
    pem->key = pem->cert = NULL;
}

int balkon_tls_show(const struct balkon_config *config)
{
    char cert_path[300], key_path[300], text[BALKON_TLS_FINGERPRINT_SIZE];
    balkon_tls_paths(config, cert_path, sizeof cert_path, key_path, sizeof key_path);
    char *pem = read_file(cert_path);
    if (!pem) {
        fprintf(stderr, "balkonsolard: cannot read the certificate %s: %s%s\n", cert_path,
                strerror(errno),
                strcmp(config->http.tls, "auto") == 0
                    ? " (with http.tls \"auto\" it is made on the first start)"
                    : "");
        return 1;
    }
    int err = fingerprint(pem, text);
    free(pem);
    if (err < 0) {
        fprintf(stderr, "balkonsolard: %s is not a PEM certificate\n", cert_path);
        return 1;
    }
    printf("certificate: %s\nSHA-256 fingerprint: %s\n", cert_path, text);
    return 0;
}
