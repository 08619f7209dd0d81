/* libcurl, loaded the first time a transfer needs it (dlopen), not linked.
 *
 * Why: Debian's libcurl brings its TLS, Kerberos, LDAP, SSH, RTMP and HTTP/2 libraries
 * with it, and linking it maps them all (and initialises OpenSSL) at every start, about
 * 6 MB of the daemon's resident memory. Most sites fetch nothing over HTTP (a simulator,
 * a fixed tariff, an MQTT meter); those that do load it with the first transfer and get
 * the whole library, HTTPS included. Only src/net/ includes this header. */
#ifndef BALKON_CURL_LIB_H
#define BALKON_CURL_LIB_H

#include <curl/curl.h>
#include <stddef.h>
#include <time.h>

/* The library to load unless BALKON_LIBCURL names another of the same ABI (e.g. Debian's
 * libcurl-gnutls.so.4). OpenSSL's flavour is the default on purpose: with an HTTPS provider
 * it costs 17.7 MB of RSS in bench/memory.sh, GnuTLS's 23.3 MB (GnuTLS keeps the whole CA
 * bundle parsed in memory, and libssh2 brings libcrypto along anyway). */
#define CURL_LIB_DEFAULT_SONAME "libcurl.so.4"

/* The functions src/net/ calls, under libcurl's names without the curl_ prefix. */
struct curl_lib {
    CURLcode (*global_init)(long flags);
    curl_version_info_data *(*version_info)(CURLversion stamp);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_setopt)(CURLM *multi, CURLMoption option, ...);
    CURLMcode (*multi_socket_action)(CURLM *multi, curl_socket_t fd, int events, int *running);
    CURLMsg *(*multi_info_read)(CURLM *multi, int *pending);
    CURLMcode (*multi_assign)(CURLM *multi, curl_socket_t fd, void *data);
    CURLMcode (*multi_add_handle)(CURLM *multi, CURL *easy);
    CURLMcode (*multi_remove_handle)(CURLM *multi, CURL *easy);
    CURLMcode (*multi_cleanup)(CURLM *multi);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *easy, CURLoption option, ...);
    CURLcode (*easy_getinfo)(CURL *easy, CURLINFO info, ...);
    void (*easy_cleanup)(CURL *easy);
    const char *(*easy_strerror)(CURLcode code);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *text);
    void (*slist_free_all)(struct curl_slist *list);
    time_t (*getdate)(const char *text, const time_t *unused);
};

/* Loads libcurl and runs curl_global_init on the first call (on the loop thread: neither is
 * thread-safe); later calls return the same answer. NULL when it cannot be loaded: then
 * *error says which library, why, and what to install; the first failure is logged. The
 * library stays loaded until the process ends. */
const struct curl_lib *curl_lib_get(const char **error);

#endif
