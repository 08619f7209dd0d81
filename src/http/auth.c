/* Who may do what over HTTP: the Host allowlist, identifying a request by its bearer
 * token or session cookie, the access check per route (with CSRF for browser writes),
 * login attempt limits and the first-start setup code.
 *
 * Browser sessions: a random cookie (HttpOnly, SameSite=Strict) whose SHA-256 is the key
 * in the store, plus a CSRF token the dashboard reads from the login answer or GET
 * /api/v1/auth and echoes in X-CSRF-Token on every write. Scripts send
 * "Authorization: Bearer TOKEN" and need no CSRF token (browsers never add that header on
 * their own). A page of another site in the user's browser thus can neither write (no
 * cookie with SameSite=Strict, no CSRF token) nor read through a rebound DNS name (Host
 * allowlist).
 *
 * Login attempts slow an attacker down without locking the owner out. Each source (an
 * address; behind a trusted proxy the client X-Forwarded-For names) gets a few free
 * failures, then every further answer waits twice as long as the one before (1 s, 2 s,
 * ... at most a minute), one after the other, so a source gets at most one answer per
 * delay however many connections it opens; a source with more than two minutes queued
 * gets 429 without a check. An IPv6 /64 (the block one host picks addresses from) is
 * counted too, with more free failures than one address. Failures from everywhere
 * together only add a short delay (at most 4 s) to every answer: they never refuse one,
 * so the right password from a source of its own always gets in. A success forgets its
 * source's failures. Waiting answers are held on a timer (server.c), never on the loop.
 * Refused logins are logged summed, one line a minute at most. */
#include "http_internal.h"

#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/secret.h"
#include "balkon/store.h"
#include "balkon/timeutil.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <uv.h>

#define COOKIE_NAME "balkon_session"
#define SESSION_TOUCH_MS (3600 * 1000) /* a session's expiry moves at most hourly (SD card) */
#define TOKEN_TOUCH_MS (60 * 1000)
#define FAILURE_MEMORY_MS (15 * 60 * 1000) /* failures older than this are forgotten */
#define FREE_FAILURES 5                    /* per address, before any delay */
#define FREE_FAILURES_PREFIX 20            /* per IPv6 /64 */
#define FREE_FAILURES_ALL 30               /* from all sources together */
#define DELAY_FIRST_MS 1000
#define DELAY_MAX_MS (60 * 1000)
#define QUEUE_MAX_MS (120 * 1000) /* a source's queued answers beyond this: 429 */
#define DELAY_ALL_MAX_MS 4000
#define ATTEMPT_SLOTS 256
#define REFUSAL_REPORT_MS (60 * 1000)
#define REFUSAL_SOURCES 64

struct attempt_slot {
    char key[64]; /* an address, or an IPv6 /64 as "PREFIX::/64" */
    int failures;
    int64_t last_failure_ms;
    int64_t busy_until_ms; /* when this source's last queued answer goes out */
};

struct http_auth {
    struct http_state *state;
    bool password_set;
    char setup_code[24];
    char setup_code_path[300];
    char machine_name[64]; /* lowercase, from gethostname */
    struct attempt_slot attempts[ATTEMPT_SLOTS];
    int all_failures; /* every source's, against guessing from many */
    int64_t all_last_failure_ms;
    /* Refused logins since the last line about them (log_refusal). */
    uv_timer_t refusal_timer;
    uint64_t refusal_report_ms; /* REFUSAL_REPORT_MS; tests: BALKON_TEST_REFUSAL_REPORT_MS */
    bool refusal_timer_on;
    unsigned refusals;
    unsigned refusal_source_count;
    char refusal_sources[REFUSAL_SOURCES][48];
};

/* --- Setup code ----------------------------------------------------------------------- */

/* Writes a fresh code, readable only by the daemon's user. Twelve characters from an
 * alphabet without look-alikes (0/O, 1/l): 58 bits, typed once from a terminal. */
static int write_setup_code(struct http_auth *auth)
{
    static const char alphabet[] = "23456789abcdefghjkmnpqrstuvwxyz";
    unsigned char bytes[12];
    if (balkon_secret_random(bytes, sizeof bytes) < 0)
        return BALKON_E_IO;
    for (size_t i = 0; i < sizeof bytes; i++)
        auth->setup_code[i] = alphabet[bytes[i] % (sizeof alphabet - 1)];
    auth->setup_code[sizeof bytes] = '\0';
    balkon_setup_code_path(auth->state->ctx->config->storage.path, auth->setup_code_path,
                           sizeof auth->setup_code_path);
    /* A fresh file, never one planted beforehand (nor a link to one). */
    unlink(auth->setup_code_path);
    int fd =
        open(auth->setup_code_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        log_error("http",
                  "cannot write the setup code to %s: %s; set the password with "
                  "`balkonsolard password` instead",
                  auth->setup_code_path, strerror(errno));
        auth->setup_code[0] = '\0';
        return BALKON_E_IO;
    }
    char line[32];
    int len = snprintf(line, sizeof line, "%s\n", auth->setup_code);
    ssize_t written = write(fd, line, (size_t)len);
    close(fd);
    if (written != len) {
        log_error("http", "cannot write the setup code to %s", auth->setup_code_path);
        auth->setup_code[0] = '\0';
        return BALKON_E_IO;
    }
    log_notice("http",
               "no password is set yet: open the dashboard and enter the setup code "
               "from %s (or run `balkonsolard password`)",
               auth->setup_code_path);
    return 0;
}

bool http_auth_password_set(struct http_auth *auth)
{
    if (!auth->password_set) {
        char hash[BALKON_PASSWORD_HASH_SIZE];
        int err = balkon_store_password_get(auth->state->ctx->store, hash, sizeof hash);
        /* Only a database that says "none" means none: an error must not open the setup. */
        if (err != BALKON_E_NOTFOUND)
            http_auth_password_changed(auth);
    }
    return auth->password_set;
}

void http_auth_password_changed(struct http_auth *auth)
{
    auth->password_set = true;
    if (auth->setup_code[0])
        unlink(auth->setup_code_path);
    auth->setup_code[0] = '\0';
    auth->setup_code_path[0] = '\0';
}

bool http_auth_setup_code_ok(const struct http_auth *auth, const char *code)
{
    char lower[sizeof auth->setup_code];
    size_t n = 0;
    while (code[n] && n + 1 < sizeof lower) {
        lower[n] = (char)tolower((unsigned char)code[n]);
        n++;
    }
    lower[n] = '\0';
    return auth->setup_code[0] && !code[n] && balkon_secret_equal(auth->setup_code, lower);
}

const char *http_auth_setup_code_path(const struct http_auth *auth)
{
    return auth->setup_code_path;
}

struct http_auth *http_auth_new(struct http_state *state)
{
    struct http_auth *auth = calloc(1, sizeof *auth);
    if (!auth)
        return NULL;
    auth->state = state;
    auth->refusal_report_ms = REFUSAL_REPORT_MS;
    const char *report_ms = getenv("BALKON_TEST_REFUSAL_REPORT_MS");
    if (report_ms && atoi(report_ms) > 0)
        auth->refusal_report_ms = (uint64_t)atoi(report_ms);
    if (state->ctx->loop) {
        uv_timer_init(state->ctx->loop, &auth->refusal_timer);
        auth->refusal_timer.data = auth;
        uv_unref((uv_handle_t *)&auth->refusal_timer);
    }
    if (gethostname(auth->machine_name, sizeof auth->machine_name) != 0)
        auth->machine_name[0] = '\0';
    auth->machine_name[sizeof auth->machine_name - 1] = '\0';
    for (char *c = auth->machine_name; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    if (!http_auth_password_set(auth))
        write_setup_code(auth);
    return auth;
}

void http_auth_stop(struct http_auth *auth)
{
    if (auth && auth->state->ctx->loop && !uv_is_closing((uv_handle_t *)&auth->refusal_timer))
        uv_close((uv_handle_t *)&auth->refusal_timer, NULL);
}

void http_auth_free(struct http_auth *auth)
{
    free(auth);
}

/* --- Host allowlist ------------------------------------------------------------------- */

/* Whether name (length len) is in the comma-separated list. */
static bool in_list(const char *list, const char *name, size_t len)
{
    while (*list) {
        while (*list == ' ' || *list == ',')
            list++;
        size_t item = strcspn(list, ", ");
        if (item == len && item > 0 && strncasecmp(list, name, len) == 0)
            return true;
        list += item;
    }
    return false;
}

bool http_auth_host_allowed(const struct http_auth *auth, const char *host)
{
    if (!host || !host[0])
        return true; /* HTTP/1.0 without Host: not a browser, so no rebinding */
    char name[256];
    if (host[0] == '[') {
        const char *end = strchr(host, ']');
        if (!end || (size_t)(end - host - 1) >= sizeof name)
            return false;
        snprintf(name, sizeof name, "%.*s", (int)(end - host - 1), host + 1);
        struct in6_addr a6;
        return inet_pton(AF_INET6, name, &a6) == 1;
    }
    size_t len = strcspn(host, ":");
    if (len == 0 || len >= sizeof name)
        return false;
    snprintf(name, sizeof name, "%.*s", (int)len, host);
    if (len > 1 && name[len - 1] == '.') /* "pi.local." is "pi.local" */
        name[--len] = '\0';
    struct in_addr a4;
    if (inet_pton(AF_INET, name, &a4) == 1 || strcasecmp(name, "localhost") == 0)
        return true;
    if (auth->machine_name[0]) {
        static const char *const suffixes[] = {"", ".local", ".lan", ".home.arpa", ".fritz.box"};
        size_t machine_len = strlen(auth->machine_name);
        for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
            if (len == machine_len + strlen(suffixes[i]) &&
                strncasecmp(name, auth->machine_name, machine_len) == 0 &&
                strcasecmp(name + machine_len, suffixes[i]) == 0)
                return true;
        }
    }
    return in_list(auth->state->ctx->config->http.allowed_hosts, name, len);
}

/* --- Identifying a request ------------------------------------------------------------ */

static bool lookup_token(struct http_state *state, const char *token,
                         struct http_identity *identity)
{
    char digest[BALKON_DIGEST_HEX_SIZE];
    struct balkon_token_record record;
    if (balkon_secret_digest(token, digest) < 0 ||
        balkon_store_token_find(state->ctx->store, digest, &record) < 0)
        return false;
    identity->via = HTTP_AUTH_TOKEN;
    identity->token_id = record.id;
    identity->read_only = record.read_only;
    int64_t now_ms = balkon_wall_now_ms();
    if (now_ms - record.last_used_ts_ms > TOKEN_TOUCH_MS)
        balkon_store_token_touch(state->ctx->store, record.id, now_ms);
    return true;
}

static bool lookup_session(struct http_state *state, const char *cookie,
                           struct http_identity *identity)
{
    char digest[BALKON_DIGEST_HEX_SIZE];
    struct balkon_session_record session;
    int64_t now_ms = balkon_wall_now_ms();
    if (balkon_secret_digest(cookie, digest) < 0 ||
        balkon_store_session_get(state->ctx->store, digest, now_ms, &session) < 0)
        return false;
    identity->via = HTTP_AUTH_SESSION;
    snprintf(identity->session_digest, sizeof identity->session_digest, "%s", digest);
    snprintf(identity->csrf, sizeof identity->csrf, "%s", session.csrf);
    if (now_ms - session.last_seen_ts_ms > SESSION_TOUCH_MS &&
        balkon_store_session_touch(state->ctx->store, digest, now_ms,
                                   now_ms + state->ctx->config->http.session_days * 86400000LL) ==
            0)
        snprintf(identity->renew_cookie, sizeof identity->renew_cookie, "%s", cookie);
    return true;
}

void http_auth_identify(struct http_state *state, const struct http_request *request,
                        struct http_identity *identity)
{
    memset(identity, 0, sizeof *identity);
    struct MHD_Connection *connection = request->connection;
    if (!connection) /* built in memory (fuzzers): nobody */
        return;
    const char *authorization =
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (authorization && strncasecmp(authorization, "Bearer ", 7) == 0) {
        const char *token = authorization + 7;
        while (*token == ' ')
            token++;
        if (strlen(token) < BALKON_TOKEN_TEXT_SIZE)
            lookup_token(state, token, identity);
        return; /* a wrong token is not rescued by a cookie */
    }
    const char *cookie = MHD_lookup_connection_value(connection, MHD_COOKIE_KIND, COOKIE_NAME);
    if (cookie && strlen(cookie) < BALKON_TOKEN_TEXT_SIZE)
        lookup_session(state, cookie, identity);
}

/* Whether the Origin header (when a browser sent one) names the host the request went
 * to: a write from another site's page carries that site's origin. */
static bool origin_matches(struct MHD_Connection *connection)
{
    const char *origin = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Origin");
    if (!origin)
        return true;
    const char *host =
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    const char *sep = strstr(origin, "://");
    return host && sep && strcasecmp(sep + 3, host) == 0;
}

bool http_auth_same_site(const struct http_request *request, struct http_response *response)
{
    const char *type = MHD_lookup_connection_value(request->connection, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!type || strncasecmp(type, "application/json", 16) != 0) {
        http_reply_error(response, 415, "Content-Type: must be application/json");
        return false;
    }
    if (!origin_matches(request->connection)) {
        http_reply_error_code(response, 403, "cross_site", NULL,
                              "Origin: a login must come from this dashboard's own page");
        return false;
    }
    return true;
}

bool http_auth_check(struct http_state *state, const struct http_request *request,
                     enum http_access access, struct http_response *response)
{
    const struct http_identity *identity = request->identity;
    if (access == HTTP_ACCESS_PUBLIC)
        return true;
    if (access == HTTP_ACCESS_READ && state->ctx->config->http.read_without_login)
        return true;
    if (identity->via == HTTP_AUTH_NONE) {
        bool sent_token = http_header(request, MHD_HTTP_HEADER_AUTHORIZATION) != NULL;
        bool sent_cookie =
            request->connection &&
            MHD_lookup_connection_value(request->connection, MHD_COOKIE_KIND, COOKIE_NAME) != NULL;
        http_reply_error_code(
            response, 401,
            sent_token    ? "token_invalid"
            : sent_cookie ? "session_expired"
                          : "login_required",
            NULL, "%s",
            sent_token ? "the API token is not valid (revoked or mistyped)"
            : sent_cookie
                ? "the login has expired: log in again"
                : "log in first (or send an API token as \"Authorization: Bearer TOKEN\")");
        return false;
    }
    if (access == HTTP_ACCESS_WRITE && identity->read_only) {
        http_reply_error_code(response, 403, "read_only_token", NULL,
                              "this API token may only read (make one that may change things)");
        return false;
    }
    if (access == HTTP_ACCESS_WRITE && identity->via == HTTP_AUTH_SESSION) {
        const char *csrf = http_header(request, "X-CSRF-Token");
        if (!csrf || !balkon_secret_equal(csrf, identity->csrf)) {
            http_reply_error_code(response, 403, "csrf", NULL,
                                  "X-CSRF-Token: missing or not this session's "
                                  "(reload the dashboard)");
            return false;
        }
        if (!origin_matches(request->connection)) {
            http_reply_error_code(response, 403, "cross_site", NULL,
                                  "Origin: a change must come from this dashboard's own page");
            return false;
        }
    }
    return true;
}

/* --- Login attempts ------------------------------------------------------------------- */

/* The slot of key, made when new (taking the one whose last failure is oldest). */
static struct attempt_slot *attempt_slot(struct http_auth *auth, const char *key, int64_t now_ms)
{
    struct attempt_slot *victim = NULL;
    for (size_t i = 0; i < ATTEMPT_SLOTS; i++) {
        struct attempt_slot *slot = &auth->attempts[i];
        if (slot->key[0] && strcmp(slot->key, key) == 0) {
            if (now_ms - slot->last_failure_ms >= FAILURE_MEMORY_MS &&
                now_ms >= slot->busy_until_ms)
                slot->failures = 0;
            return slot;
        }
        if (!slot->key[0]) {
            if (!victim || victim->key[0])
                victim = slot;
        } else if (!victim || (victim->key[0] && slot->last_failure_ms < victim->last_failure_ms)) {
            victim = slot;
        }
    }
    memset(victim, 0, sizeof *victim);
    snprintf(victim->key, sizeof victim->key, "%s", key);
    victim->last_failure_ms = now_ms; /* not the next one taken over */
    return victim;
}

/* The /64 of an IPv6 address as "PREFIX::/64"; false for IPv4. */
static bool prefix_key(const char *client_ip, char *key, size_t size)
{
    struct in6_addr a6;
    if (!strchr(client_ip, ':') || inet_pton(AF_INET6, client_ip, &a6) != 1 ||
        IN6_IS_ADDR_V4MAPPED(&a6))
        return false;
    memset(a6.s6_addr + 8, 0, 8);
    if (!inet_ntop(AF_INET6, &a6, key, (socklen_t)size - 4))
        return false;
    snprintf(key + strlen(key), size - strlen(key), "/64");
    return true;
}

/* The wait before the answer after failures (free ones first, then doubling). */
static int64_t delay_after(int failures, int free_failures, int64_t max_ms)
{
    if (failures < free_failures)
        return 0;
    int doublings = failures - free_failures;
    if (doublings >= 20)
        return max_ms;
    int64_t delay_ms = (int64_t)DELAY_FIRST_MS << doublings;
    return delay_ms < max_ms ? delay_ms : max_ms;
}

/* The summed line about refused logins: every minute while there are any. */
static void refusal_report_cb(uv_timer_t *timer)
{
    struct http_auth *auth = timer->data;
    if (auth->refusals == 0) {
        uv_timer_stop(timer);
        auth->refusal_timer_on = false;
        return;
    }
    log_warn("http", "%u refused login%s from %s%u source%s in the last %llu s", auth->refusals,
             auth->refusals == 1 ? "" : "s",
             auth->refusal_source_count >= REFUSAL_SOURCES ? "at least " : "",
             auth->refusal_source_count, auth->refusal_source_count == 1 ? "" : "s",
             (unsigned long long)(auth->refusal_report_ms + 999) / 1000);
    auth->refusals = 0;
    auth->refusal_source_count = 0;
}

void http_auth_log_refusal(struct http_auth *auth, const char *client_ip, const char *what)
{
    if (!auth->refusal_timer_on) {
        /* The first of a quiet minute goes out at once, with its source; the others are
         * summed, so a flood of wrong passwords cannot flood the log (or the SD card). */
        log_warn("http", "%s from %s (further refusals are summed once a minute)", what, client_ip);
        if (auth->state->ctx->loop &&
            uv_timer_start(&auth->refusal_timer, refusal_report_cb, auth->refusal_report_ms,
                           auth->refusal_report_ms) == 0)
            auth->refusal_timer_on = true;
        return;
    }
    auth->refusals++;
    for (unsigned i = 0; i < auth->refusal_source_count; i++)
        if (strcmp(auth->refusal_sources[i], client_ip) == 0)
            return;
    if (auth->refusal_source_count < REFUSAL_SOURCES)
        snprintf(auth->refusal_sources[auth->refusal_source_count++],
                 sizeof auth->refusal_sources[0], "%s", client_ip);
}

bool http_auth_attempt(struct http_auth *auth, const struct http_request *request,
                       struct http_response *response)
{
    int64_t now_ms = (int64_t)uv_now(auth->state->ctx->loop);
    struct attempt_slot *slot = attempt_slot(auth, request->client_ip, now_ms);
    int64_t start_ms = slot->busy_until_ms > now_ms ? slot->busy_until_ms : now_ms;
    int64_t delay_ms = delay_after(slot->failures, FREE_FAILURES, DELAY_MAX_MS);
    char key[64];
    struct attempt_slot *prefix = NULL;
    int64_t prefix_delay_ms = 0;
    if (prefix_key(request->client_ip, key, sizeof key)) {
        /* The /64 queues its addresses' answers only once it is past its free failures:
         * before that, each address counts alone (a neighbour's typo costs nothing). */
        prefix = attempt_slot(auth, key, now_ms);
        prefix_delay_ms = delay_after(prefix->failures, FREE_FAILURES_PREFIX, DELAY_MAX_MS);
        if (prefix_delay_ms > 0 && prefix->busy_until_ms > start_ms)
            start_ms = prefix->busy_until_ms;
        if (prefix_delay_ms > delay_ms)
            delay_ms = prefix_delay_ms;
    }
    if (start_ms + delay_ms - now_ms > QUEUE_MAX_MS) {
        int64_t wait_s = (start_ms - now_ms + 999) / 1000;
        response->retry_after_s = (unsigned)(wait_s > 0 ? wait_s : 1);
        char wait_text[16];
        snprintf(wait_text, sizeof wait_text, "%u", response->retry_after_s);
        http_reply_error_code(response, 429, "too_many_attempts",
                              http_error_params("retry_after_s", wait_text, NULL),
                              "too many login attempts from %s: try again in %u s",
                              request->client_ip, response->retry_after_s);
        http_auth_log_refusal(auth, request->client_ip, "login attempt refused (too many)");
        return false;
    }
    if (now_ms - auth->all_last_failure_ms >= FAILURE_MEMORY_MS)
        auth->all_failures = 0;
    /* Everyone's failures only add a little (250 ms past 30, doubling every 10 more, at
     * most 4 s) and never queue: the owner is never kept out. */
    int64_t all_delay_ms = 0;
    if (auth->all_failures >= FREE_FAILURES_ALL)
        all_delay_ms =
            delay_after((auth->all_failures - FREE_FAILURES_ALL) / 10, 0, 4 * DELAY_ALL_MAX_MS) / 4;
    /* Counted as a failure until it succeeds (http_auth_attempt_succeeded). */
    slot->failures++;
    slot->last_failure_ms = now_ms;
    slot->busy_until_ms = start_ms + delay_ms;
    if (prefix) {
        prefix->failures++;
        prefix->last_failure_ms = now_ms;
        if (prefix_delay_ms > 0)
            prefix->busy_until_ms = start_ms + delay_ms;
    }
    auth->all_failures++;
    auth->all_last_failure_ms = now_ms;
    int64_t answer_ms = start_ms + delay_ms;
    if (now_ms + all_delay_ms > answer_ms)
        answer_ms = now_ms + all_delay_ms;
    response->hold_until_ms = answer_ms > now_ms ? (uint64_t)answer_ms : 0;
    return true;
}

void http_auth_attempt_succeeded(struct http_auth *auth, const char *client_ip)
{
    char key[64];
    bool has_prefix = prefix_key(client_ip, key, sizeof key);
    for (size_t i = 0; i < ATTEMPT_SLOTS; i++) {
        struct attempt_slot *slot = &auth->attempts[i];
        if (strcmp(slot->key, client_ip) == 0) {
            memset(slot, 0, sizeof *slot);
        } else if (has_prefix && strcmp(slot->key, key) == 0 && slot->failures > 0) {
            slot->failures--; /* the /64's other hosts keep their record */
        }
    }
    if (auth->all_failures > 0) /* only failures count against everyone */
        auth->all_failures--;
}

/* --- Where a request comes from ------------------------------------------------------- */

/* Whether address (text) is in list, comma-separated addresses and CIDR blocks. */
static bool address_in_list(const char *list, const char *address)
{
    unsigned char want[16];
    int family = strchr(address, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(family, address, want) != 1)
        return false;
    int bits_all = family == AF_INET6 ? 128 : 32;
    while (*list) {
        while (*list == ' ' || *list == ',')
            list++;
        size_t len = strcspn(list, ", ");
        char item[64];
        if (len == 0 || len >= sizeof item) {
            list += len;
            continue;
        }
        memcpy(item, list, len);
        item[len] = '\0';
        list += len;
        int bits = bits_all;
        char *slash = strchr(item, '/');
        if (slash) {
            *slash = '\0';
            bits = atoi(slash + 1);
        }
        unsigned char have[16];
        if ((strchr(item, ':') ? AF_INET6 : AF_INET) != family ||
            inet_pton(family, item, have) != 1 || bits < 0 || bits > bits_all)
            continue;
        int full = bits / 8, rest = bits % 8;
        if (memcmp(want, have, (size_t)full) != 0)
            continue;
        if (rest && ((want[full] ^ have[full]) & (0xff << (8 - rest))))
            continue;
        return true;
    }
    return false;
}

bool http_auth_proxy_trusted(const struct http_auth *auth, const char *peer_ip)
{
    const char *list = auth->state->ctx->config->http.trusted_proxies;
    return list[0] && address_in_list(list, peer_ip);
}

void http_auth_client_source(const struct http_auth *auth, struct MHD_Connection *connection,
                             const char *peer_ip, char *out, size_t size, bool *via_https)
{
    snprintf(out, size, "%s", peer_ip);
    *via_https = false;
    if (!http_auth_proxy_trusted(auth, peer_ip))
        return; /* anybody can send X-Forwarded-For: only a trusted proxy's counts */
    const char *forwarded =
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "X-Forwarded-For");
    const char *proto =
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "X-Forwarded-Proto");
    *via_https = proto && strcasecmp(proto, "https") == 0;
    if (!forwarded)
        return;
    /* Proxies append: the last hop that is not one of ours is the client, whatever the
     * client itself put in front. */
    const char *end = forwarded + strlen(forwarded);
    while (end > forwarded) {
        const char *start = end;
        while (start > forwarded && start[-1] != ',')
            start--;
        const char *a = start, *b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        char hop[64];
        if ((size_t)(b - a) >= sizeof hop)
            return; /* not an address: keep the proxy's own */
        memcpy(hop, a, (size_t)(b - a));
        hop[b - a] = '\0';
        unsigned char bytes[16];
        if (inet_pton(AF_INET, hop, bytes) != 1 && inet_pton(AF_INET6, hop, bytes) != 1)
            return;
        snprintf(out, size, "%s", hop);
        if (!address_in_list(auth->state->ctx->config->http.trusted_proxies, hop))
            return;
        end = start > forwarded ? start - 1 : forwarded;
    }
}

/* --- Sessions ------------------------------------------------------------------------- */

/* secure: the request came over HTTPS (ours or a trusted proxy's), so the browser must
 * never send the cookie over plain HTTP. */
static void set_cookie(struct http_state *state, struct http_response *response, const char *value,
                       bool secure)
{
    snprintf(response->set_cookie, sizeof response->set_cookie,
             COOKIE_NAME "=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s", value,
             (long long)state->ctx->config->http.session_days * 86400, secure ? "; Secure" : "");
}

int http_auth_session_start(struct http_state *state, struct http_response *response, bool secure,
                            char csrf[80])
{
    char cookie[BALKON_TOKEN_TEXT_SIZE];
    struct balkon_session_record session = {0};
    int64_t now_ms = balkon_wall_now_ms();
    int64_t max_age_s = state->ctx->config->http.session_days * 86400;
    int err = balkon_secret_token("", cookie);
    if (err == 0)
        err = balkon_secret_token("", session.csrf);
    if (err == 0)
        err = balkon_secret_digest(cookie, session.digest);
    session.created_ts_ms = session.last_seen_ts_ms = now_ms;
    session.expires_ts_ms = now_ms + max_age_s * 1000;
    if (err == 0) {
        balkon_store_sessions_prune(state->ctx->store, now_ms);
        err = balkon_store_session_add(state->ctx->store, &session);
    }
    if (err < 0) {
        log_error("http", "cannot start a session: %s", balkon_store_errmsg(state->ctx->store));
        http_reply_error(response, 500, "cannot start a session: %s", balkon_strerror(err));
        return err;
    }
    set_cookie(state, response, cookie, secure);
    snprintf(csrf, 80, "%s", session.csrf);
    return 0;
}

void http_auth_renew_cookie(struct http_state *state, const struct http_request *request,
                            struct http_response *response)
{
    const struct http_identity *identity = request->identity;
    if (identity->renew_cookie[0] && !response->set_cookie[0])
        set_cookie(state, response, identity->renew_cookie, request->secure);
}

void http_auth_cookie_clear(struct http_response *response)
{
    snprintf(response->set_cookie, sizeof response->set_cookie,
             COOKIE_NAME "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
}
