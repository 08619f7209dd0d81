/* HTTPS in the real balkonsolard (http.tls), over real TLS on loopback with libcurl:
 *  - "auto" makes a self-signed certificate on first start, beside the database, both
 *    files 0600; the log names its SHA-256 fingerprint, `balkonsolard --show-cert` prints
 *    the same, and curl trusting only that certificate (--cacert) talks to the daemon;
 *  - the login cookie is Secure over TLS; HSTS only with http.hsts;
 *  - a restart keeps the certificate (same fingerprint);
 *  - plain HTTP to the TLS port gets no answer; "on" without usable files does not start,
 *    with a message naming the setting;
 *  - under a systemd watchdog the self-probe speaks TLS, so the watchdog is still fed;
 *  - clients that stall in the handshake do not stop the server answering others. */
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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
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
static const char *const *start_env; /* more "NAME=value" for the daemon, NULL-ended */

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
        for (size_t i = 0; start_env && start_env[i]; i++)
            putenv((char *)start_env[i]);
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

/* Under a systemd watchdog the daemon probes itself: over TLS when it serves TLS, or the
 * watchdog would starve and systemd restart a healthy daemon every 30 s. */
static void test_watchdog_probe_over_tls(void **state)
{
    struct daemon_proc *d = *state;
    char path[300], env_socket[320];
    snprintf(path, sizeof path, "%s/notify.sock", d->dir);
    snprintf(env_socket, sizeof env_socket, "NOTIFY_SOCKET=%s", path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    assert_true(strlen(path) < sizeof addr.sun_path);
    memcpy(addr.sun_path, path, strlen(path) + 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    const char *env[] = {env_socket, "WATCHDOG_USEC=2000000", NULL};
    start_env = env;
    bool started = start_tls(d, "\"tls\": \"auto\"");
    start_env = NULL;
    assert_true(started);
    /* 3 s: a probe every 500 ms, a ping for each answered one. */
    int pings = 0;
    long deadline = harness_now_ms() + 3000, left;
    while ((left = deadline - harness_now_ms()) > 0) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, (int)left) <= 0)
            break;
        char msg[512];
        ssize_t n = recv(fd, msg, sizeof msg - 1, 0);
        if (n > 0) {
            msg[n] = '\0';
            pings += strstr(msg, "WATCHDOG=1") != NULL;
        }
    }
    close(fd);
    print_message("watchdog pings in 3 s over TLS: %d\n", pings);
    assert_true(pings >= 3);
    assert_null(strstr(harness_log(d), "self-probe GET /api/v1/health:"));
    assert_int_equal(harness_signal_and_wait(d, SIGTERM, 5000, NULL), 0);
}

/* Clients that start a TLS handshake and stop (here: the first 6 bytes of a ClientHello)
 * must not stop the server: with libmicrohttpd 0.9.75 such a connection stays "ready" and
 * MHD asks to run again at once, which froze the loop (every other client timed out). */
static void test_stalled_handshakes_do_not_freeze_the_server(void **state)
{
    struct daemon_proc *d = *state;
    assert_true(start_tls(d, "\"tls\": \"auto\""));
    char cert[400];
    snprintf(cert, sizeof cert, "%s/tls-cert.pem", d->dir);
    int fds[8];
    for (int i = 0; i < 8; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fds[i] >= 0);
        struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)d->port)};
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(connect(fds[i], (struct sockaddr *)&addr, sizeof addr), 0);
        static const char partial_hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
        assert_int_equal(send(fds[i], partial_hello, sizeof partial_hello, 0),
                         (ssize_t)sizeof partial_hello);
    }
    harness_sleep_ms(300);
    long t0 = harness_now_ms();
    struct answer a = ask(d, "https", "GET", "/api/v1/health", NULL, cert);
    long took_ms = harness_now_ms() - t0;
    print_message("health with 8 stalled handshakes: %ld in %ld ms\n", a.status, took_ms);
    assert_int_equal(a.status, 200);
    assert_true(took_ms < 2000);
    for (int i = 0; i < 8; i++)
        close(fds[i]);
    assert_int_equal(harness_signal_and_wait(d, SIGTERM, 5000, NULL), 0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_auto_certificate, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_configured_files, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_watchdog_probe_over_tls, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_stalled_handshakes_do_not_freeze_the_server,
                                        harness_setup, harness_teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
