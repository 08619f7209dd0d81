/* HTTPS in the real balkonsolard (http.tls), over real TLS on loopback with libcurl:
 *  - "auto" makes a self-signed certificate on first start, beside the database, both
 *    files 0600; the log names its SHA-256 fingerprint, `balkonsolard --show-cert` prints
 *    the same, and curl trusting only that certificate (--cacert) talks to the daemon;
 *  - the login cookie is Secure over TLS; HSTS only with http.hsts;
 *  - a restart keeps the certificate (same fingerprint);
 *  - plain HTTP to the TLS port gets no answer; "on" without usable files does not start,
 *    with a message naming the setting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PASSWORD "correct horse battery"

static const char *CONFIG_FMT =
    "{\"site\": {\"name\": \"TLS\", \"latitude\": 52.52, \"longitude\": 13.40, "
    "\"timezone\": \"Europe/Berlin\"},\n"
    " \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
    " \"http\": {%s}}\n";

/* Starts the daemon (harness_start waits for an http:// line) and waits for its https
 * line; false when it exits or does not listen within 15 s. */
static bool start_tls(struct daemon_proc *d, const char *http_section)
{
    char json[1024];
    snprintf(json, sizeof json, CONFIG_FMT, http_section);
    harness_write_config(d, json);
    FILE *f = fopen(d->log_path, "w");
    if (f)
        fclose(f);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(d->log_path, O_WRONLY | O_APPEND | O_CREAT, 0600);
        dup2(fd, STDERR_FILENO);
        dup2(fd, STDOUT_FILENO);
        execl(getenv("BALKONSOLARD"), getenv("BALKONSOLARD"), "--config", d->config_path, "--db",
              d->db_path, "--listen", "127.0.0.1:0", (char *)NULL);
        _exit(127);
    }
    d->pid = pid;
    for (int i = 0; i < 750; i++) {
        const char *at = strstr(harness_log(d), "listening on https://127.0.0.1:");
        if (at) {
            d->port = atoi(at + strlen("listening on https://127.0.0.1:"));
            return d->port > 0;
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            d->pid = 0;
            return false;
        }
        harness_sleep_ms(20);
    }
    return false;
}

struct answer {
    long status;
    CURLcode code;
    char headers[4096];
    char body[4096];
};

static size_t body_cb(char *ptr, size_t size, size_t nmemb, void *user)
{
    struct answer *a = user;
    size_t n = size * nmemb, used = strlen(a->body), room = sizeof a->body - 1 - used;
    memcpy(a->body + used, ptr, n < room ? n : room);
    a->body[used + (n < room ? n : room)] = '\0';
    return n;
}

static size_t head_cb(char *ptr, size_t size, size_t nmemb, void *user)
{
    struct answer *a = user;
    size_t n = size * nmemb, used = strlen(a->headers), room = sizeof a->headers - 1 - used;
    memcpy(a->headers + used, ptr, n < room ? n : room);
    a->headers[used + (n < room ? n : room)] = '\0';
    return n;
}

/* A request over scheme ("https" or "http"), trusting only cacert (NULL: the system's). */
static struct answer ask(struct daemon_proc *d, const char *scheme, const char *method,
                         const char *path, const char *body, const char *cacert)
{
    struct answer a = {0};
    char url[256];
    snprintf(url, sizeof url, "%s://127.0.0.1:%d%s", scheme, d->port, path);
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, head_cb);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &a);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    if (cacert)
        curl_easy_setopt(curl, CURLOPT_CAINFO, cacert);
    struct curl_slist *list = NULL;
    if (body) {
        list = curl_slist_append(list, "Content-Type: application/json");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    a.code = curl_easy_perform(curl);
    if (a.code == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a.status);
    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
    return a;
}

/* The fingerprint after "prefix" in text, into out (95 characters). */
static void fingerprint_after(const char *text, const char *prefix, char out[96])
{
    const char *at = strstr(text, prefix);
    assert_non_null(at);
    snprintf(out, 96, "%.95s", at + strlen(prefix));
    assert_int_equal(strspn(out, "0123456789ABCDEF:"), 95);
}

static void show_cert(struct daemon_proc *d, char out[96])
{
    char text[1024];
    const char *args[] = {"--config", d->config_path, "--db", d->db_path, "--show-cert", NULL};
    assert_int_equal(harness_run_cli(args, text, sizeof text), 0);
    fingerprint_after(text, "SHA-256 fingerprint: ", out);
}

static void test_auto_certificate(void **state)
{
    struct daemon_proc *d = *state;
    assert_true(start_tls(d, "\"tls\": \"auto\""));
    char cert[400], key[400];
    snprintf(cert, sizeof cert, "%s/tls-cert.pem", d->dir);
    snprintf(key, sizeof key, "%s/tls-key.pem", d->dir);
    struct stat st;
    assert_int_equal(stat(cert, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* The fingerprint in the log is --show-cert's. */
    char logged[96], shown[96];
    fingerprint_after(harness_log(d), "SHA-256 fingerprint ", logged);
    show_cert(d, shown);
    assert_string_equal(logged, shown);

    /* curl trusting only the generated certificate: a verified TLS connection. */
    struct answer a = ask(d, "https", "GET", "/api/v1/health", NULL, cert);
    assert_int_equal(a.code, CURLE_OK);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "\"secure\":true"));
    assert_non_null(strstr(a.body, "\"warning\":null"));
    assert_non_null(strstr(a.headers, "Content-Security-Policy:"));
    assert_null(strstr(a.headers, "Strict-Transport-Security")); /* off by default */
    /* Without it, the self-signed certificate is not trusted. */
    a = ask(d, "https", "GET", "/api/v1/health", NULL, "/dev/null");
    assert_int_not_equal(a.code, CURLE_OK);
    /* Plain HTTP to the TLS port: no HTTP answer. */
    a = ask(d, "http", "GET", "/api/v1/health", NULL, NULL);
    assert_int_equal(a.status, 0);

    /* The first password over TLS: the session cookie is Secure. */
    char code[64] = "", body[256], code_path[400];
    snprintf(code_path, sizeof code_path, "%s/setup-code", d->dir);
    FILE *f = fopen(code_path, "r");
    assert_non_null(f);
    assert_non_null(fgets(code, sizeof code, f));
    fclose(f);
    code[strcspn(code, "\n")] = '\0';
    snprintf(body, sizeof body, "{\"setup_code\": \"%s\", \"password\": \"%s\"}", code, PASSWORD);
    a = ask(d, "https", "POST", "/api/v1/auth/setup", body, cert);
    assert_int_equal(a.status, 200);
    const char *cookie = strstr(a.headers, "Set-Cookie: balkon_session=");
    assert_non_null(cookie);
    print_message("%.*s\n", (int)strcspn(cookie, "\r\n"), cookie);
    assert_true(strstr(cookie, "; Secure") && strstr(cookie, "; Secure") < strchr(cookie, '\n'));
    a = ask(d, "https", "POST", "/api/v1/auth/login", "{\"password\": \"" PASSWORD "\"}", cert);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.headers, "HttpOnly; SameSite=Strict; Secure"));
    assert_int_equal(harness_signal_and_wait(d, SIGTERM, 5000, NULL), 0);

    /* A restart keeps the certificate; with http.hsts the answers carry HSTS. */
    assert_true(start_tls(d, "\"tls\": \"auto\", \"hsts\": true"));
    fingerprint_after(harness_log(d), "SHA-256 fingerprint ", logged);
    assert_string_equal(logged, shown);
    a = ask(d, "https", "GET", "/", NULL, cert);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.headers, "Strict-Transport-Security: max-age=31536000"));
    a = ask(d, "https", "GET", "/api/v1/health", NULL, cert);
    assert_non_null(strstr(a.headers, "Strict-Transport-Security: max-age=31536000"));
    assert_int_equal(harness_signal_and_wait(d, SIGTERM, 5000, NULL), 0);
}

static void test_configured_files(void **state)
{
    struct daemon_proc *d = *state;
    /* "on" needs the files: the config check names the setting. */
    char json[1024], out[2048];
    snprintf(json, sizeof json, CONFIG_FMT, "\"tls\": \"on\"");
    harness_write_config(d, json);
    assert_int_not_equal(harness_check_config(d, out, sizeof out), 0);
    assert_non_null(strstr(out, "http.tls"));
    /* Files that are not there: no start, and the log says which. */
    char section[900];
    snprintf(section, sizeof section,
             "\"tls\": \"on\", \"tls_cert\": \"%s/none.pem\", \"tls_key\": \"%s/none-key.pem\"",
             d->dir, d->dir);
    assert_false(start_tls(d, section));
    assert_non_null(strstr(harness_log(d), "http.tls_cert: cannot read"));
    assert_non_null(strstr(harness_log(d), "none.pem"));
    /* Made by "auto" once, then named explicitly with "on": the same certificate. */
    assert_true(start_tls(d, "\"tls\": \"auto\""));
    char first[96], again[96];
    fingerprint_after(harness_log(d), "SHA-256 fingerprint ", first);
    assert_int_equal(harness_signal_and_wait(d, SIGTERM, 5000, NULL), 0);
    snprintf(section, sizeof section,
             "\"tls\": \"on\", \"tls_cert\": \"%s/tls-cert.pem\", \"tls_key\": \"%s/tls-key.pem\"",
             d->dir, d->dir);
    assert_true(start_tls(d, section));
    fingerprint_after(harness_log(d), "SHA-256 fingerprint ", again);
    assert_string_equal(first, again);
    char cert[400];
    snprintf(cert, sizeof cert, "%s/tls-cert.pem", d->dir);
    assert_int_equal(ask(d, "https", "GET", "/api/v1/health", NULL, cert).status, 200);
    assert_int_equal(harness_signal_and_wait(d, SIGTERM, 5000, NULL), 0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_auto_certificate, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_configured_files, harness_setup, harness_teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
