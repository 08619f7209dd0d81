/* Login over real HTTP against the real balkonsolard, as a script or a hostile page on
 * the LAN would meet it: first start with the setup code, session cookies and their
 * flags, CSRF and Origin checks, the Host allowlist, the attempt limit, password change
 * ending other sessions, logout, API tokens from the command line, every write refused
 * without a login even when reading is open, and no secret in the log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PASSWORD "correct horse battery"

static const char *CONFIG_FMT =
    "{\n"
    "  \"site\": {\"name\": \"Auth\", \"latitude\": 52.52, \"longitude\": 13.40, \"timezone\": "
    "\"Europe/Berlin\"},\n"
    "  \"pv\": {\"planes\": [{\"name\": \"south\", \"tilt\": 35, \"azimuth\": 0, \"peak_w\": "
    "890}]},\n"
    "  \"battery\": {\"capacity_wh\": 2000},\n"
    "  \"simulation\": {\"speed\": 60, \"start\": \"2026-06-21T10:00:00Z\"},\n"
    "  \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
    "  \"http\": {\"read_without_login\": %s, \"allowed_hosts\": \"balkon.example.net\"}\n"
    "}\n";

/* One request with headers of our choosing; the reply's Set-Cookie and Retry-After. */
struct reply {
    long status;
    char body[8192];
    char set_cookie[256];
    char retry_after[16];
    char www_authenticate[64];
};

static size_t body_cb(char *ptr, size_t size, size_t nmemb, void *user)
{
    struct reply *r = user;
    size_t n = size * nmemb, used = strlen(r->body), room = sizeof r->body - 1 - used;
    memcpy(r->body + used, ptr, n < room ? n : room);
    r->body[used + (n < room ? n : room)] = '\0';
    return n;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t size)
{
    size_t len = strlen(name);
    if (n > len && strncasecmp(line, name, len) == 0) {
        const char *v = line + len;
        size_t vn = n - len;
        while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n'))
            vn--;
        snprintf(out, size, "%.*s", (int)vn, v);
    }
}

static size_t head_cb(char *ptr, size_t size, size_t nmemb, void *user)
{
    struct reply *r = user;
    size_t n = size * nmemb;
    header_value(ptr, n, "Set-Cookie: ", r->set_cookie, sizeof r->set_cookie);
    header_value(ptr, n, "Retry-After: ", r->retry_after, sizeof r->retry_after);
    header_value(ptr, n, "WWW-Authenticate: ", r->www_authenticate, sizeof r->www_authenticate);
    return n;
}

/* The address requests come from ("127.0.0.N": all of 127/8 is loopback); NULL: any. */
static const char *source_ip;
static long timeout_ms = 10000;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* headers: NULL-terminated "Name: value" lines. */
static struct reply request(struct daemon_proc *d, const char *method, const char *path,
                            const char *body, const char *const headers[])
{
    struct reply r = {0};
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", d->port, path);
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, head_cb);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    if (source_ip)
        curl_easy_setopt(curl, CURLOPT_INTERFACE, source_ip);
    struct curl_slist *list = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    if (body) {
        list = curl_slist_append(list, "Content-Type: application/json");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
    return r;
}

/* A browser's session: "Cookie: balkon_session=..." and its CSRF token. */
struct session {
    char cookie[128];
    char csrf_header[128];
};

static void session_from(const struct reply *r, struct session *s)
{
    assert_int_equal(r->status, 200);
    const char *value = strstr(r->set_cookie, "balkon_session=");
    assert_non_null(value);
    snprintf(s->cookie, sizeof s->cookie, "Cookie: %.*s", (int)strcspn(value, ";"), value);
    cJSON *json = cJSON_Parse(r->body);
    const char *csrf = harness_text(json, "csrf_token");
    assert_int_equal(strlen(csrf), 64);
    snprintf(s->csrf_header, sizeof s->csrf_header, "X-CSRF-Token: %s", csrf);
    cJSON_Delete(json);
}

static struct reply login(struct daemon_proc *d, const char *password)
{
    char body[128];
    snprintf(body, sizeof body, "{\"password\": \"%s\"}", password);
    return request(d, "POST", "/api/v1/auth/login", body, NULL);
}

static const char *STRATEGY = "{\"strategy\": \"optimal\"}";

static void start(struct daemon_proc *d, bool read_open)
{
    char json[2048];
    snprintf(json, sizeof json, CONFIG_FMT, read_open ? "true" : "false");
    harness_write_config(d, json);
    assert_true(harness_start(d, NULL));
}

static void read_setup_code(struct daemon_proc *d, char *code, size_t size)
{
    char path[320];
    snprintf(path, sizeof path, "%s/setup-code", d->dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    struct stat st;
    assert_int_equal(fstat(fileno(f), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* only the daemon's user may read it */
    assert_non_null(fgets(code, (int)size, f));
    fclose(f);
    code[strcspn(code, "\n")] = '\0';
}

static void test_first_start_sessions_csrf_and_hosts(void **state)
{
    struct daemon_proc *d = *state;
    d->anonymous = true;
    start(d, false);
    char log_line[400];
    snprintf(log_line, sizeof log_line, "enter the setup code from %s/setup-code", d->dir);
    assert_non_null(strstr(harness_log(d), log_line));
    char code[32];
    read_setup_code(d, code, sizeof code);
    assert_int_equal(strlen(code), 12);

    /* Closed for reading: only health, the login and the page itself answer. */
    assert_int_equal(request(d, "GET", "/api/v1/health", NULL, NULL).status, 200);
    assert_int_equal(request(d, "GET", "/", NULL, NULL).status, 200);
    struct reply r = request(d, "GET", "/api/v1/status", NULL, NULL);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.www_authenticate, "Bearer"));
    assert_non_null(strstr(r.body, "log in first"));
    assert_int_equal(request(d, "GET", "/metrics", NULL, NULL).status, 401);
    assert_int_equal(request(d, "GET", "/api/v1/events", NULL, NULL).status, 401);
    r = request(d, "GET", "/api/v1/auth", NULL, NULL);
    assert_non_null(strstr(r.body, "\"password_set\":false"));
    assert_non_null(strstr(r.body, "setup-code"));
    assert_int_equal(login(d, PASSWORD).status, 409);

    /* The first password: a short one and a wrong code are refused, naming the field. */
    char body[256];
    snprintf(body, sizeof body, "{\"setup_code\": \"%s\", \"password\": \"short\"}", code);
    r = request(d, "POST", "/api/v1/auth/setup", body, NULL);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "\"field\":\"password\""));
    assert_non_null(strstr(r.body, "at least 8 characters"));
    r = request(d, "POST", "/api/v1/auth/setup",
                "{\"setup_code\": \"guess\", \"password\": \"" PASSWORD "\"}", NULL);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body, "\"field\":\"setup_code\""));
    snprintf(body, sizeof body, "{\"setup_code\": \"%s\", \"password\": \"%s\"}", code, PASSWORD);
    r = request(d, "POST", "/api/v1/auth/setup", body, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.set_cookie, "HttpOnly"));
    assert_non_null(strstr(r.set_cookie, "SameSite=Strict"));
    assert_non_null(strstr(r.set_cookie, "Path=/"));
    struct session a;
    session_from(&r, &a);
    char code_path[320];
    snprintf(code_path, sizeof code_path, "%s/setup-code", d->dir);
    assert_int_equal(access(code_path, F_OK), -1); /* spent */
    assert_int_equal(request(d, "POST", "/api/v1/auth/setup", body, NULL).status, 409);

    /* The session reads; it writes only with its CSRF token and from its own origin. */
    assert_int_equal(
        request(d, "GET", "/api/v1/status", NULL, (const char *[]){a.cookie, NULL}).status, 200);
    r = request(d, "PUT", "/api/v1/strategy", STRATEGY, (const char *[]){a.cookie, NULL});
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body, "X-CSRF-Token"));
    assert_int_equal(request(d, "PUT", "/api/v1/strategy", STRATEGY,
                             (const char *[]){a.cookie, "X-CSRF-Token: 0000", NULL})
                         .status,
                     403);
    r = request(d, "PUT", "/api/v1/strategy", STRATEGY,
                (const char *[]){a.cookie, a.csrf_header, "Origin: http://evil.example", NULL});
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body, "Origin"));
    char origin[64];
    snprintf(origin, sizeof origin, "Origin: http://127.0.0.1:%d", d->port);
    assert_int_equal(request(d, "PUT", "/api/v1/strategy", STRATEGY,
                             (const char *[]){a.cookie, a.csrf_header, origin, NULL})
                         .status,
                     200);

    /* DNS rebinding: a name that is not ours is refused, even for health. */
    r = request(d, "GET", "/api/v1/health", NULL, (const char *[]){"Host: evil.example", NULL});
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body, "http.allowed_hosts"));
    assert_int_equal(
        request(d, "GET", "/api/v1/health", NULL, (const char *[]){"Host: localhost:8080", NULL})
            .status,
        200);
    assert_int_equal(request(d, "GET", "/api/v1/health", NULL,
                             (const char *[]){"Host: balkon.example.net", NULL})
                         .status,
                     200);
    assert_int_equal(
        request(d, "GET", "/api/v1/health", NULL, (const char *[]){"Host: [::1]:8080", NULL})
            .status,
        200);
    assert_int_equal(request(d, "GET", "/", NULL,
                             (const char *[]){"Host: balkon.example.net.evil.example", NULL})
                         .status,
                     403);

    /* A second browser; a password change from the first ends it, the first stays. */
    struct session b;
    r = login(d, PASSWORD);
    session_from(&r, &b);
    assert_int_equal(
        request(d, "GET", "/api/v1/status", NULL, (const char *[]){b.cookie, NULL}).status, 200);
    r = request(d, "PUT", "/api/v1/auth/password",
                "{\"current_password\": \"nope nope\", \"new_password\": \"another password\"}",
                (const char *[]){a.cookie, a.csrf_header, NULL});
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body, "current_password"));
    r = request(d, "PUT", "/api/v1/auth/password",
                "{\"current_password\": \"" PASSWORD "\", \"new_password\": \"another password\"}",
                (const char *[]){a.cookie, a.csrf_header, NULL});
    assert_int_equal(r.status, 200);
    r = request(d, "GET", "/api/v1/status", NULL, (const char *[]){b.cookie, NULL});
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.body, "expired"));
    assert_int_equal(
        request(d, "GET", "/api/v1/status", NULL, (const char *[]){a.cookie, NULL}).status, 200);
    assert_int_equal(login(d, PASSWORD).status, 401);

    /* Logout ends the session and clears the cookie. */
    r = request(d, "POST", "/api/v1/auth/logout", NULL, (const char *[]){a.cookie, NULL});
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.set_cookie, "Max-Age=0"));
    assert_int_equal(
        request(d, "GET", "/api/v1/status", NULL, (const char *[]){a.cookie, NULL}).status, 401);

    /* Guessing: 5 failures from one address are answered at once, then each answer waits
     * twice as long as the one before (1 s, 2 s, ...), yet the right password still gets
     * in, and forgets the failures. (One wrong try was spent above on the old password.) */
    int64_t t0_ms = now_ms();
    for (int i = 0; i < 4; i++)
        assert_int_equal(login(d, "wrong password").status, 401);
    assert_true(now_ms() - t0_ms < 900);
    t0_ms = now_ms();
    assert_int_equal(login(d, "wrong password").status, 401);
    int64_t waited_ms = now_ms() - t0_ms;
    assert_true(waited_ms >= 950 && waited_ms < 1900);
    t0_ms = now_ms();
    r = login(d, "another password");
    assert_int_equal(r.status, 200);
    waited_ms = now_ms() - t0_ms;
    assert_true(waited_ms >= 1950 && waited_ms < 3900);
    t0_ms = now_ms();
    assert_int_equal(login(d, "wrong password").status, 401);
    assert_true(now_ms() - t0_ms < 900);
    /* The server kept answering others meanwhile: the delay is a timer, not a stall. */

    /* No secret in the log: not the password, the setup code or a session. */
    const char *log = harness_log(d);
    assert_null(strstr(log, PASSWORD));
    assert_null(strstr(log, "another password"));
    assert_null(strstr(log, code));
    assert_null(strstr(log, a.cookie + strlen("Cookie: balkon_session=")));
    assert_non_null(strstr(log, "from 127.0.0.1 (further refusals are summed"));
    assert_int_equal(harness_signal_and_wait(d, SIGTERM, 5000, NULL), 0);
}

static void test_open_reading_still_guards_every_change(void **state)
{
    struct daemon_proc *d = *state;
    start(d, true);
    assert_int_equal(request(d, "GET", "/api/v1/status", NULL, NULL).status, 200);
    assert_int_equal(request(d, "GET", "/api/v1/config", NULL, NULL).status, 200);
    assert_int_equal(request(d, "GET", "/api/v1/auth/tokens", NULL, NULL).status, 401);
    static const struct {
        const char *method, *path, *body;
    } writes[] = {
        {"PUT", "/api/v1/strategy", "{\"strategy\": \"optimal\"}"},
        {"PUT", "/api/v1/config", "{}"},
        {"POST", "/api/v1/devices/sim/command",
         "{\"command\": \"battery_setpoint\", \"value\": 0}"},
        {"POST", "/api/v1/loads/x/override", "{\"state\": \"on\"}"},
        {"POST", "/api/v1/notifications/test", "{}"},
        {"POST", "/api/v1/auth/tokens", "{\"name\": \"x\"}"},
        {"DELETE", "/api/v1/auth/tokens/1", NULL},
        {"PUT", "/api/v1/auth/password",
         "{\"current_password\": \"a\", \"new_password\": \"bbbbbbbb\"}"},
    };
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        struct reply r = request(d, writes[i].method, writes[i].path, writes[i].body, NULL);
        if (r.status != 401)
            fail_msg("%s %s without a login: HTTP %ld %s", writes[i].method, writes[i].path,
                     r.status, r.body);
    }
    /* A made-up token is refused as such, and does not fall back to reading. */
    struct reply r = request(d, "PUT", "/api/v1/strategy", STRATEGY,
                             (const char *[]){"Authorization: Bearer bst_0123", NULL});
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.body, "API token is not valid"));

    /* The harness's token (made with `balkonsolard token`) writes; revoked, it stops. */
    char bearer[128];
    snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", d->token);
    assert_int_equal(
        request(d, "PUT", "/api/v1/strategy", STRATEGY, (const char *[]){bearer, NULL}).status,
        200);
    r = request(d, "GET", "/api/v1/auth/tokens", NULL, (const char *[]){bearer, NULL});
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"name\":\"integration-test\""));
    assert_null(strstr(r.body, d->token));
    assert_null(strstr(r.body, "digest"));
    r = request(d, "POST", "/api/v1/auth/tokens", "{\"name\": \"second\"}",
                (const char *[]){bearer, NULL});
    assert_int_equal(r.status, 201);
    cJSON *made = cJSON_Parse(r.body);
    char second[128];
    snprintf(second, sizeof second, "Authorization: Bearer %s", harness_text(made, "token"));
    char path[64];
    snprintf(path, sizeof path, "/api/v1/auth/tokens/%d",
             cJSON_GetObjectItem(made, "id")->valueint);
    cJSON_Delete(made);
    assert_int_equal(
        request(d, "PUT", "/api/v1/strategy", STRATEGY, (const char *[]){second, NULL}).status,
        200);
    assert_int_equal(request(d, "DELETE", path, NULL, (const char *[]){bearer, NULL}).status, 204);
    assert_int_equal(request(d, "DELETE", path, NULL, (const char *[]){bearer, NULL}).status, 404);
    assert_int_equal(
        request(d, "PUT", "/api/v1/strategy", STRATEGY, (const char *[]){second, NULL}).status,
        401);

    /* A read-only token (for Prometheus or a Home Assistant sensor) reads and changes nothing. */
    r = request(d, "POST", "/api/v1/auth/tokens", "{\"name\": \"metrics\", \"read_only\": \"yes\"}",
                (const char *[]){bearer, NULL});
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "read_only: must be true or false"));
    r = request(d, "POST", "/api/v1/auth/tokens", "{\"name\": \"metrics\", \"read_only\": true}",
                (const char *[]){bearer, NULL});
    assert_int_equal(r.status, 201);
    made = cJSON_Parse(r.body);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(made, "read_only")));
    char reader[128];
    snprintf(reader, sizeof reader, "Authorization: Bearer %s", harness_text(made, "token"));
    cJSON_Delete(made);
    assert_int_equal(request(d, "GET", "/metrics", NULL, (const char *[]){reader, NULL}).status,
                     200);
    r = request(d, "PUT", "/api/v1/strategy", STRATEGY, (const char *[]){reader, NULL});
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body, "may only read"));
    assert_int_equal(request(d, "POST", "/api/v1/auth/tokens", "{\"name\": \"x\"}",
                             (const char *[]){reader, NULL})
                         .status,
                     403);
    /* The same from the command line. */
    char command[600], out[96] = "";
    snprintf(command, sizeof command, "'%s' token scraper --read-only --db '%s' 2>/dev/null",
             getenv("BALKONSOLARD"), d->db_path);
    FILE *cli = popen(command, "r");
    assert_non_null(cli);
    assert_non_null(fgets(out, sizeof out, cli));
    assert_int_equal(pclose(cli), 0);
    out[strcspn(out, "\n")] = '\0';
    snprintf(reader, sizeof reader, "Authorization: Bearer %s", out);
    assert_int_equal(
        request(d, "GET", "/api/v1/status", NULL, (const char *[]){reader, NULL}).status, 200);
    assert_int_equal(
        request(d, "PUT", "/api/v1/strategy", STRATEGY, (const char *[]){reader, NULL}).status,
        403);
    r = request(d, "GET", "/api/v1/auth/tokens", NULL, (const char *[]){bearer, NULL});
    assert_non_null(strstr(r.body, "\"name\":\"scraper\",\"read_only\":true"));
    assert_null(strstr(harness_log(d), d->token));
    assert_int_equal(harness_signal_and_wait(d, SIGTERM, 5000, NULL), 0);
}

static void test_password_from_the_command_line_while_running(void **state)
{
    struct daemon_proc *d = *state;
    d->anonymous = true;
    start(d, false);
    char command[600];
    snprintf(command, sizeof command, "'%s' password --db '%s' 2>/dev/null", getenv("BALKONSOLARD"),
             d->db_path);
    FILE *cli = popen(command, "w");
    assert_non_null(cli);
    fputs(PASSWORD "\n", cli);
    assert_int_equal(pclose(cli), 0);
    char code_path[320];
    snprintf(code_path, sizeof code_path, "%s/setup-code", d->dir);
    assert_int_equal(access(code_path, F_OK), -1);
    struct reply r = request(d, "GET", "/api/v1/auth", NULL, NULL);
    assert_non_null(strstr(r.body, "\"password_set\":true"));
    struct session s;
    r = login(d, PASSWORD);
    session_from(&r, &s);
    assert_int_equal(request(d, "PUT", "/api/v1/strategy", STRATEGY,
                             (const char *[]){s.cookie, s.csrf_header, NULL})
                         .status,
                     200);

    /* Too short from the command line: refused, nothing changes. */
    snprintf(command, sizeof command, "echo short | '%s' password --db '%s' 2>&1",
             getenv("BALKONSOLARD"), d->db_path);
    cli = popen(command, "r");
    char out[256] = "";
    size_t n = fread(out, 1, sizeof out - 1, cli);
    out[n] = '\0';
    assert_int_not_equal(pclose(cli), 0);
    assert_non_null(strstr(out, "password: must be at least 8 characters long"));
    assert_int_equal(login(d, PASSWORD).status, 200);
    assert_int_equal(harness_signal_and_wait(d, SIGTERM, 5000, NULL), 0);
}

static void test_cross_site_logins_and_many_addresses(void **state)
{
    struct daemon_proc *d = *state;
    d->anonymous = true;
    start(d, false);
    char code[32], body[256];
    read_setup_code(d, code, sizeof code);
    /* What another site's page can send without asking: a form or text/plain. Refused
     * before the password is looked at, so it costs the visitor no attempt either. */
    for (int i = 0; i < 8; i++) {
        struct reply r = request(d, "POST", "/api/v1/auth/login", NULL,
                                 (const char *[]){"Content-Type: text/plain", NULL});
        assert_int_equal(r.status, 415);
    }
    struct reply r = request(d, "POST", "/api/v1/auth/setup", "{}",
                             (const char *[]){"Origin: http://evil.example", NULL});
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body, "Origin"));
    /* The code is not case-sensitive (it is read off a screen). */
    for (char *c = code; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    snprintf(body, sizeof body, "{\"setup_code\": \"%s\", \"password\": \"%s\"}", code, PASSWORD);
    assert_int_equal(request(d, "POST", "/api/v1/auth/setup", body, NULL).status, 200);

    /* Guessing from many addresses: 5 each, 30 in all. The owner, from an address of
     * their own, still gets in with the right password (everyone's failures only add a
     * short delay). Before this change, all addresses were locked out for 15 minutes. */
    char ip[16];
    for (int host = 2; host <= 7; host++) {
        snprintf(ip, sizeof ip, "127.0.0.%d", host);
        source_ip = ip;
        for (int i = 0; i < 5; i++)
            assert_int_equal(login(d, "wrong password").status, 401);
    }
    source_ip = "127.0.0.8";
    int64_t t0_ms = now_ms();
    r = login(d, PASSWORD);
    source_ip = NULL;
    assert_int_equal(r.status, 200);
    assert_true(now_ms() - t0_ms < 4500);
    /* The setup code is guarded the same way, and a wrong code costs its source a delay
     * (checked in test_refused_logins_are_summed for the log). */
    assert_non_null(strstr(harness_log(d), "wrong password from 127.0.0.2"));
    assert_int_equal(harness_signal_and_wait(d, SIGTERM, 5000, NULL), 0);
}

/* The setup code from a 7th address after 30 wrong codes from 6: accepted. */
static void test_setup_code_after_many_wrong(void **state)
{
    struct daemon_proc *d = *state;
    d->anonymous = true;
    start(d, false);
    char code[32], body[256], ip[16];
    read_setup_code(d, code, sizeof code);
    for (int host = 2; host <= 7; host++) {
        snprintf(ip, sizeof ip, "127.0.0.%d", host);
        source_ip = ip;
        for (int i = 0; i < 5; i++) {
            struct reply r =
                request(d, "POST", "/api/v1/auth/setup",
                        "{\"setup_code\": \"wrongwrong23\", \"password\": \"" PASSWORD "\"}", NULL);
            assert_int_equal(r.status, 403);
        }
    }
    /* The 6th try from an address already waits its turn (1 s). */
    source_ip = "127.0.0.2";
    int64_t t0_ms = now_ms();
    assert_int_equal(request(d, "POST", "/api/v1/auth/setup",
                             "{\"setup_code\": \"wrongwrong23\", \"password\": \"" PASSWORD "\"}",
                             NULL)
                         .status,
                     403);
    assert_true(now_ms() - t0_ms >= 950);
    source_ip = "127.0.0.9";
    snprintf(body, sizeof body, "{\"setup_code\": \"%s\", \"password\": \"%s\"}", code, PASSWORD);
    struct reply r = request(d, "POST", "/api/v1/auth/setup", body, NULL);
    source_ip = NULL;
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.set_cookie, "HttpOnly"));
    assert_null(strstr(r.set_cookie, "Secure")); /* plain HTTP: no Secure */
    assert_int_equal(harness_signal_and_wait(d, SIGTERM, 5000, NULL), 0);
}

/* X-Forwarded-For names the source only when a trusted proxy sends it. */
static void test_forwarded_for_only_from_trusted_proxies(void **state)
{
    struct daemon_proc *d = *state;
    d->anonymous = true;
    harness_write_config(
        d, "{\"site\": {\"name\": \"Proxy\", \"latitude\": 52.5, \"longitude\": 13.4, "
           "\"timezone\": \"Europe/Berlin\"},"
           " \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],"
           " \"http\": {\"trusted_proxies\": \"127.0.0.10, 127.0.1.0/24\"}}");
    assert_true(harness_start(d, NULL));
    char code[32], body[256];
    read_setup_code(d, code, sizeof code);
    snprintf(body, sizeof body, "{\"setup_code\": \"%s\", \"password\": \"%s\"}", code, PASSWORD);
    assert_int_equal(request(d, "POST", "/api/v1/auth/setup", body, NULL).status, 200);

    /* Through the trusted proxy: 6 wrong tries "from" 192.0.2.66 (the client put a forged
     * first hop in front; the proxy appended the real one). The 6th waits; the owner,
     * behind the same proxy, does not share that wait. */
    source_ip = "127.0.0.10";
    const char *attacker[] = {"X-Forwarded-For: 10.9.9.9, 192.0.2.66", NULL};
    for (int i = 0; i < 5; i++) {
        struct reply r = request(d, "POST", "/api/v1/auth/login",
                                 "{\"password\": \"wrong password\"}", attacker);
        assert_int_equal(r.status, 401);
    }
    int64_t t0_ms = now_ms();
    assert_int_equal(
        request(d, "POST", "/api/v1/auth/login", "{\"password\": \"wrong password\"}", attacker)
            .status,
        401);
    assert_true(now_ms() - t0_ms >= 950);
    assert_true(harness_wait_log(d, "wrong password from 192.0.2.66", 2000));
    t0_ms = now_ms();
    struct reply r = request(
        d, "POST", "/api/v1/auth/login", "{\"password\": \"" PASSWORD "\"}",
        (const char *[]){"X-Forwarded-For: 198.51.100.7", "X-Forwarded-Proto: https", NULL});
    assert_int_equal(r.status, 200);
    assert_true(now_ms() - t0_ms < 900);
    assert_non_null(strstr(r.set_cookie, "; Secure")); /* the proxy spoke HTTPS to the browser */

    /* From an untrusted peer the header is ignored: its failures count against the peer,
     * and its claim of HTTPS gives no Secure cookie. */
    source_ip = "127.0.0.11";
    for (int i = 0; i < 5; i++)
        assert_int_equal(request(d, "POST", "/api/v1/auth/login",
                                 "{\"password\": \"wrong password\"}",
                                 (const char *[]){"X-Forwarded-For: 203.0.113.1", NULL})
                             .status,
                         401);
    r = request(
        d, "POST", "/api/v1/auth/login", "{\"password\": \"" PASSWORD "\"}",
        (const char *[]){"X-Forwarded-For: 203.0.113.99", "X-Forwarded-Proto: https", NULL});
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.set_cookie, "Secure"));
    source_ip = NULL;
    assert_null(strstr(harness_log(d), "203.0.113"));
    assert_int_equal(harness_signal_and_wait(d, SIGTERM, 5000, NULL), 0);
}

/* 10 s of wrong passwords from one client, as fast as it can (8 at a time, each given up
 * after 300 ms): a bounded number of log lines, with the refusals summed. */
static void test_refused_logins_are_summed(void **state)
{
    struct daemon_proc *d = *state;
    d->anonymous = true;
    char json[2048];
    snprintf(json, sizeof json, CONFIG_FMT, "false");
    harness_write_config(d, json);
    assert_true(harness_start_env(
        d, NULL, (const char *const[]){"BALKON_TEST_REFUSAL_REPORT_MS=2000", NULL}));
    char code[32], body[256];
    read_setup_code(d, code, sizeof code);
    snprintf(body, sizeof body, "{\"setup_code\": \"%s\", \"password\": \"%s\"}", code, PASSWORD);
    assert_int_equal(request(d, "POST", "/api/v1/auth/setup", body, NULL).status, 200);

    CURLM *multi = curl_multi_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v1/auth/login", d->port);
    long answered = 0, refused_429 = 0;
    int64_t end_ms = now_ms() + 10000;
    int running = 0;
    for (;;) {
        while (running < 8 && now_ms() < end_ms) {
            CURL *curl = curl_easy_init();
            curl_easy_setopt(curl, CURLOPT_URL, url);
            curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "{\"password\": \"wrong password\"}");
            curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
            curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 300L);
            curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
            curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body_cb);
            static struct reply sink;
            sink.body[0] = '\0';
            curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
            curl_multi_add_handle(multi, curl);
            running++;
        }
        int still;
        curl_multi_perform(multi, &still);
        curl_multi_poll(multi, NULL, 0, 50, NULL);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            long status = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            answered += status != 0;
            refused_429 += status == 429;
            curl_multi_remove_handle(multi, msg->easy_handle);
            curl_easy_cleanup(msg->easy_handle);
            running--;
        }
        if (running == 0 && now_ms() >= end_ms)
            break;
    }
    curl_slist_free_all(headers);
    curl_multi_cleanup(multi);
    print_message("refused logins: %ld answered (%ld of them 429) in 10 s\n", answered,
                  refused_429);
    assert_true(answered > 100);
    assert_true(harness_wait_log(d, "refused logins from 1 source in the last 2 s", 3000));
    /* Lines about refusals: the first at once, then one summary per 2 s at most. */
    int lines = 0;
    for (const char *p = harness_log(d); (p = strstr(p, "refused login")); p++)
        lines++;
    int first_lines = 0;
    for (const char *p = harness_log(d); (p = strstr(p, "wrong password from")); p++)
        first_lines++;
    print_message("refusal log lines: %d summaries + %d single\n", lines, first_lines);
    assert_true(lines >= 3 && lines <= 8);
    assert_true(first_lines <= 2);
    assert_int_equal(harness_signal_and_wait(d, SIGTERM, 5000, NULL), 0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_start_sessions_csrf_and_hosts, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_open_reading_still_guards_every_change, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_password_from_the_command_line_while_running,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_cross_site_logins_and_many_addresses, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_setup_code_after_many_wrong, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_forwarded_for_only_from_trusted_proxies, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_refused_logins_are_summed, harness_setup,
                                        harness_teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
