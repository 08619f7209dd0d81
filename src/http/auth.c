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
 * allowlist). */
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define COOKIE_NAME "balkon_session"
#define SESSION_TOUCH_MS (3600 * 1000) /* a session's expiry moves at most hourly (SD card) */
#define TOKEN_TOUCH_MS (60 * 1000)
#define ATTEMPT_WINDOW_MS (15 * 60 * 1000)
#define ATTEMPTS_PER_WINDOW 5
#define ATTEMPTS_ALL_PER_WINDOW 30 /* from all addresses together */
#define ATTEMPT_SLOTS 64

struct attempt_slot {
    char ip[64]; /* an address, or an IPv6 /64 */
    int64_t window_start_ms;
    int attempts;
};

struct http_auth {
    struct http_state *state;
    bool password_set;
    char setup_code[24];
    char setup_code_path[300];
    char machine_name[64]; /* lowercase, from gethostname */
    struct attempt_slot attempts[ATTEMPT_SLOTS];
    int64_t all_window_start_ms; /* every address's attempts, against guessing from many */
    int all_attempts;
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
    if (gethostname(auth->machine_name, sizeof auth->machine_name) != 0)
        auth->machine_name[0] = '\0';
    auth->machine_name[sizeof auth->machine_name - 1] = '\0';
    for (char *c = auth->machine_name; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    if (!http_auth_password_set(auth))
        write_setup_code(auth);
    return auth;
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

void http_auth_identify(struct http_state *state, struct MHD_Connection *connection,
                        struct http_identity *identity)
{
    memset(identity, 0, sizeof *identity);
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
        http_reply_error(response, 403, "Origin: a login must come from this dashboard's own page");
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
        bool sent_token = MHD_lookup_connection_value(request->connection, MHD_HEADER_KIND,
                                                      MHD_HTTP_HEADER_AUTHORIZATION) != NULL;
        bool sent_cookie =
            MHD_lookup_connection_value(request->connection, MHD_COOKIE_KIND, COOKIE_NAME) != NULL;
        http_reply_error(
            response, 401, "%s",
            sent_token ? "the API token is not valid (revoked or mistyped)"
            : sent_cookie
                ? "the login has expired: log in again"
                : "log in first (or send an API token as \"Authorization: Bearer TOKEN\")");
        return false;
    }
    if (access == HTTP_ACCESS_WRITE && identity->read_only) {
        http_reply_error(response, 403,
                         "this API token may only read (make one that may change things)");
        return false;
    }
    if (access == HTTP_ACCESS_WRITE && identity->via == HTTP_AUTH_SESSION) {
        const char *csrf =
            MHD_lookup_connection_value(request->connection, MHD_HEADER_KIND, "X-CSRF-Token");
        if (!csrf || !balkon_secret_equal(csrf, identity->csrf)) {
            http_reply_error(response, 403,
                             "X-CSRF-Token: missing or not this session's "
                             "(reload the dashboard)");
            return false;
        }
        if (!origin_matches(request->connection)) {
            http_reply_error(response, 403,
                             "Origin: a change must come from this dashboard's own page");
            return false;
        }
    }
    return true;
}

/* --- Login attempts ------------------------------------------------------------------- */

static struct attempt_slot *attempt_slot(struct http_auth *auth, const char *ip, int64_t now_ms)
{
    struct attempt_slot *oldest = &auth->attempts[0];
    for (size_t i = 0; i < ATTEMPT_SLOTS; i++) {
        struct attempt_slot *slot = &auth->attempts[i];
        if (slot->ip[0] && strcmp(slot->ip, ip) == 0) {
            if (now_ms - slot->window_start_ms >= ATTEMPT_WINDOW_MS) {
                slot->window_start_ms = now_ms;
                slot->attempts = 0;
            }
            return slot;
        }
        if (slot->window_start_ms < oldest->window_start_ms)
            oldest = slot;
    }
    /* A slot whose window is still open is only taken when all 64 are: then the oldest. */
    snprintf(oldest->ip, sizeof oldest->ip, "%s", ip);
    oldest->window_start_ms = now_ms;
    oldest->attempts = 0;
    return oldest;
}

/* The key an address's attempts count under: an IPv6 address by its /64, the block one
 * host can pick addresses from at will. */
static void attempt_key(const char *client_ip, char *key, size_t size)
{
    struct in6_addr a6;
    if (strchr(client_ip, ':') && inet_pton(AF_INET6, client_ip, &a6) == 1) {
        memset(a6.s6_addr + 8, 0, 8);
        if (inet_ntop(AF_INET6, &a6, key, (socklen_t)size)) {
            snprintf(key + strlen(key), size - strlen(key), "/64");
            return;
        }
    }
    snprintf(key, size, "%s", client_ip);
}

static bool refuse(struct http_response *response, int64_t window_start_ms, int64_t now_ms,
                   const char *who)
{
    int64_t wait_s = (window_start_ms + ATTEMPT_WINDOW_MS - now_ms + 999) / 1000;
    response->retry_after_s = (unsigned)(wait_s > 0 ? wait_s : 1);
    http_reply_error(response, 429, "too many login attempts from %s: try again in %u min", who,
                     (response->retry_after_s + 59) / 60);
    log_warn("http", "login attempts from %s refused for %u s", who, response->retry_after_s);
    return false;
}

bool http_auth_attempt(struct http_auth *auth, const char *client_ip,
                       struct http_response *response)
{
    int64_t now_ms = balkon_wall_now_ms();
    char key[64];
    attempt_key(client_ip, key, sizeof key);
    struct attempt_slot *slot = attempt_slot(auth, key, now_ms);
    if (slot->attempts >= ATTEMPTS_PER_WINDOW)
        return refuse(response, slot->window_start_ms, now_ms, key);
    if (now_ms - auth->all_window_start_ms >= ATTEMPT_WINDOW_MS) {
        auth->all_window_start_ms = now_ms;
        auth->all_attempts = 0;
    }
    if (auth->all_attempts >= ATTEMPTS_ALL_PER_WINDOW)
        return refuse(response, auth->all_window_start_ms, now_ms, "all addresses");
    slot->attempts++;
    auth->all_attempts++;
    return true;
}

void http_auth_attempt_succeeded(struct http_auth *auth, const char *client_ip)
{
    char key[64];
    attempt_key(client_ip, key, sizeof key);
    for (size_t i = 0; i < ATTEMPT_SLOTS; i++)
        if (strcmp(auth->attempts[i].ip, key) == 0)
            memset(&auth->attempts[i], 0, sizeof auth->attempts[i]);
    if (auth->all_attempts > 0) /* only failures count against everyone */
        auth->all_attempts--;
}

/* --- Sessions ------------------------------------------------------------------------- */

static void set_cookie(struct http_state *state, struct http_response *response, const char *value)
{
    snprintf(response->set_cookie, sizeof response->set_cookie,
             COOKIE_NAME "=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict", value,
             (long long)state->ctx->config->http.session_days * 86400);
}

int http_auth_session_start(struct http_state *state, struct http_response *response, char csrf[80])
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
    set_cookie(state, response, cookie);
    snprintf(csrf, 80, "%s", session.csrf);
    return 0;
}

void http_auth_renew_cookie(struct http_state *state, const struct http_identity *identity,
                            struct http_response *response)
{
    if (identity->renew_cookie[0] && !response->set_cookie[0])
        set_cookie(state, response, identity->renew_cookie);
}

void http_auth_cookie_clear(struct http_response *response)
{
    snprintf(response->set_cookie, sizeof response->set_cookie,
             COOKIE_NAME "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
}
