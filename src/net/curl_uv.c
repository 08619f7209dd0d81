/* libcurl's multi-socket interface on libuv.
 *
 * libcurl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to wake it
 * (CURLMOPT_TIMERFUNCTION); we keep one uv_poll_t per socket and one uv_timer_t, and hand
 * readiness back with curl_multi_socket_action. A poll handle is stopped as soon as libcurl
 * says CURL_POLL_REMOVE and closed before libcurl closes the fd (we get the REMOVE first),
 * so the loop never watches a closed descriptor.
 *
 * libcurl itself is loaded with a client's first transfer (curl_lib.c), so a site that
 * fetches nothing never maps it. When it cannot be loaded, every transfer completes (later,
 * on the loop, as any other failure) with the reason in result.error, so each provider,
 * device or channel shows why, and everything that needs no HTTP goes on. */
#include "balkon/http_client.h"

#include "curl_lib.h"

#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/url.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DEFAULT_CONNECT_TIMEOUT_MS 5000L
#define DEFAULT_TIMEOUT_MS 20000L
#define DEFAULT_MAX_RESPONSE_BYTES (4u * 1024 * 1024)
#define MAX_REDIRECTS 3

struct transfer {
    struct transfer *next;
    struct balkon_http_client *client;
    CURL *easy;
    struct curl_slist *headers;
    char *request_body;
    size_t request_size;
    size_t request_sent; /* SMTP: how much of request_body was uploaded */
    struct curl_slist *rcpt;
    char *body;
    size_t body_size;
    size_t max_bytes;
    bool too_large;
    bool no_redirects; /* devices: a redirect is an error */
    int redirects;     /* followed so far */
    long retry_after_s;
    char error[CURL_ERROR_SIZE];
    balkon_http_cb cb;
    void *user;
};

struct socket_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    struct balkon_http_client *client;
};

struct balkon_http_client {
    uv_loop_t *loop;
    CURLM *multi;           /* NULL until the first transfer, and while libcurl cannot be loaded */
    const char *load_error; /* why libcurl is not loaded, or NULL */
    uv_timer_t timer;
    struct transfer *transfers;
    size_t active;
    bool closing;
};

/* Set once libcurl is loaded; every libcurl call goes through it. */
static const struct curl_lib *curl;

static void check_done(struct balkon_http_client *client);

static void finish(struct transfer *t, CURLcode code)
{
    struct balkon_http_result result = {.retry_after_s = t->retry_after_s};
    if (t->easy) {
        curl->easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &result.status);
        curl->easy_getinfo(t->easy, CURLINFO_TOTAL_TIME, &result.elapsed_s);
    }
    if (t->too_large) {
        result.transport_error = CURLE_FILESIZE_EXCEEDED;
        snprintf(result.error, sizeof result.error, "response larger than %zu bytes", t->max_bytes);
    } else if (code != CURLE_OK) {
        result.transport_error = (int)code;
        snprintf(result.error, sizeof result.error, "%s",
                 t->error[0] ? t->error : curl->easy_strerror(code));
    }
    result.body = t->body ? t->body : "";
    result.body_size = t->body_size;
    t->cb(&result, t->user);
}

/* Takes t out of its client's list, so that a balkon_http_client_close from t's own
 * callback does not cancel it a second time. Harmless when t is in no list. */
static void unlink_transfer(struct transfer *t)
{
    for (struct transfer **p = &t->client->transfers; *p; p = &(*p)->next) {
        if (*p == t) {
            *p = t->next;
            break;
        }
    }
}

static void free_transfer(struct transfer *t)
{
    struct balkon_http_client *client = t->client;
    unlink_transfer(t);
    if (t->easy) {
        curl->multi_remove_handle(client->multi, t->easy);
        curl->easy_cleanup(t->easy);
        curl->slist_free_all(t->headers);
        curl->slist_free_all(t->rcpt);
    }
    free(t->request_body);
    free(t->body);
    free(t);
    client->active--;
}

/* Redirects are followed here, not by libcurl: libcurl would follow one to any host (a
 * provider's server could send the daemon, with the provider's token, to an address on the
 * LAN), and CURLOPT_REDIR_PROTOCOLS_STR limits schemes only. So libcurl stops at a 3xx,
 * and a redirect to the same scheme, host and port restarts the transfer there; one to
 * anywhere else, or any redirect of a device, ends it with an error that says where it
 * pointed (user info, path and query hidden). Returns true when t was restarted. */
static bool follow_redirect(struct transfer *t, CURLcode *code)
{
    long status = 0;
    char *target = NULL, *from = NULL;
    if (*code != CURLE_OK || t->rcpt)
        return false;
    curl->easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    curl->easy_getinfo(t->easy, CURLINFO_REDIRECT_URL, &target);
    curl->easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &from);
    if (status < 300 || status > 399 || !target || !target[0])
        return false;
    char shown[128];
    balkon_url_redact(target, shown, sizeof shown);
    *code = CURLE_TOO_MANY_REDIRECTS;
    if (t->no_redirects) {
        snprintf(t->error, sizeof t->error,
                 "redirect not followed (devices never are): HTTP %ld to %s", status, shown);
        return false;
    }
    if (!from || !balkon_url_same_origin(target, from)) {
        snprintf(t->error, sizeof t->error,
                 "redirect (HTTP %ld) to %s refused: only redirects to "
                 "the same scheme, host and port are followed",
                 status, shown);
        return false;
    }
    if (++t->redirects > MAX_REDIRECTS) {
        snprintf(t->error, sizeof t->error, "more than %d redirects (the last to %s)",
                 MAX_REDIRECTS, shown);
        return false;
    }
    char *next = strdup(target); /* target belongs to the handle, which the URL resets */
    if (!next) {
        *code = CURLE_OUT_OF_MEMORY;
        return false;
    }
    curl->multi_remove_handle(t->client->multi, t->easy);
    free(t->body);
    t->body = NULL;
    t->body_size = 0;
    t->retry_after_s = -1;
    t->error[0] = '\0';
    curl->easy_setopt(t->easy, CURLOPT_URL, next);
    free(next);
    /* As browsers and libcurl do: 303 always, and 301/302 after a POST, continue as GET. */
    if (status == 303 || ((status == 301 || status == 302) && t->request_body)) {
        curl->easy_setopt(t->easy, CURLOPT_CUSTOMREQUEST, (char *)NULL);
        curl->easy_setopt(t->easy, CURLOPT_HTTPGET, 1L);
    }
    if (curl->multi_add_handle(t->client->multi, t->easy) != CURLM_OK) {
        *code = CURLE_FAILED_INIT;
        snprintf(t->error, sizeof t->error, "cannot follow the redirect to %s", shown);
        return false;
    }
    *code = CURLE_OK;
    return true;
}

static void check_done(struct balkon_http_client *client)
{
    CURLMsg *msg;
    int pending;
    while ((msg = curl->multi_info_read(client->multi, &pending))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct transfer *t;
        curl->easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        CURLcode code = msg->data.result;
        if (follow_redirect(t, &code))
            continue;
        unlink_transfer(t);
        finish(t, code);
        free_transfer(t);
        if (client->closing) /* closed from the callback: the others are cancelled */
            break;
    }
}

static void poll_cb(uv_poll_t *poll, int status, int events)
{
    struct socket_ctx *sock = poll->data;
    struct balkon_http_client *client = sock->client;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    curl->multi_socket_action(client->multi, sock->fd, flags, &running);
    check_done(client);
}

/* Without libcurl every transfer fails: this completes the ones queued so far, oldest
 * first. Those a callback queues meanwhile wait for the next run of the timer, so a caller
 * that retries at once cannot keep the loop here. */
static void fail_unloaded(struct balkon_http_client *client)
{
    for (size_t n = client->active; n > 0 && client->transfers && !client->closing; n--) {
        struct transfer *t = client->transfers;
        while (t->next)
            t = t->next;
        unlink_transfer(t);
        struct balkon_http_result result = {
            .transport_error = CURLE_FAILED_INIT, .retry_after_s = -1, .body = ""};
        snprintf(result.error, sizeof result.error, "%s", client->load_error);
        t->cb(&result, t->user);
        free_transfer(t);
    }
}

static void timer_cb(uv_timer_t *timer)
{
    struct balkon_http_client *client = timer->data;
    if (!client->multi) {
        fail_unloaded(client);
        return;
    }
    int running;
    curl->multi_socket_action(client->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(client);
}

static int start_timeout_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct balkon_http_client *client = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&client->timer);
    else
        uv_timer_start(&client->timer, timer_cb, (uint64_t)timeout_ms, 0);
    return 0;
}

static void close_socket_cb(uv_handle_t *handle)
{
    free(handle->data);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int action, void *userp, void *socketp)
{
    struct balkon_http_client *client = userp;
    struct socket_ctx *sock = socketp;
    if (action == CURL_POLL_REMOVE) {
        if (sock) {
            uv_poll_stop(&sock->poll);
            curl->multi_assign(client->multi, fd, NULL);
            uv_close((uv_handle_t *)&sock->poll, close_socket_cb);
        }
        return 0;
    }
    if (!sock) {
        sock = calloc(1, sizeof *sock);
        if (!sock)
            return -1;
        sock->fd = fd;
        sock->client = client;
        if (uv_poll_init_socket(client->loop, &sock->poll, fd) < 0) {
            free(sock);
            return -1;
        }
        sock->poll.data = sock;
        curl->multi_assign(client->multi, fd, sock);
    }
    int events = 0;
    if (action == CURL_POLL_IN || action == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (action == CURL_POLL_OUT || action == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    uv_poll_start(&sock->poll, events, poll_cb);
    return 0;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *user)
{
    struct transfer *t = user;
    size_t n = size * nmemb;
    if (t->body_size + n > t->max_bytes) {
        t->too_large = true;
        return 0; /* makes libcurl abort the transfer */
    }
    char *grown = realloc(t->body, t->body_size + n + 1);
    if (!grown)
        return 0;
    memcpy(grown + t->body_size, data, n);
    t->body = grown;
    t->body_size += n;
    t->body[t->body_size] = '\0';
    return n;
}

/* Retry-After is either delay-seconds or an HTTP date (RFC 9110). */
static long parse_retry_after(const char *value)
{
    while (*value == ' ')
        value++;
    char *end;
    long seconds = strtol(value, &end, 10);
    if (end != value && (*end == '\0' || *end == '\r' || *end == '\n'))
        return seconds < 0 ? 0 : seconds;
    time_t when = curl->getdate(value, NULL);
    if (when < 0)
        return -1;
    long delta = (long)(when - time(NULL));
    return delta < 0 ? 0 : delta;
}

static size_t header_cb(char *data, size_t size, size_t nmemb, void *user)
{
    struct transfer *t = user;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    if (n > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        char value[128];
        size_t len = n - (sizeof name - 1);
        if (len >= sizeof value)
            len = sizeof value - 1;
        memcpy(value, data + sizeof name - 1, len);
        value[len] = '\0';
        t->retry_after_s = parse_retry_after(value);
    }
    return n;
}

/* SMTP: libcurl pulls the message through this. */
static size_t read_cb(char *buffer, size_t size, size_t nitems, void *user)
{
    struct transfer *t = user;
    size_t n = t->request_size - t->request_sent;
    if (n > size * nitems)
        n = size * nitems;
    memcpy(buffer, t->request_body + t->request_sent, n);
    t->request_sent += n;
    return n;
}

int balkon_http_client_new(uv_loop_t *loop, struct balkon_http_client **out)
{
    struct balkon_http_client *client = calloc(1, sizeof *client);
    if (!client)
        return BALKON_E_NOMEM;
    client->loop = loop;
    uv_timer_init(loop, &client->timer);
    client->timer.data = client;
    *out = client;
    return 0;
}

/* The first transfer loads libcurl (once per process) and makes the client's multi handle.
 * Returns 0 also when libcurl cannot be loaded: then client->load_error says why and the
 * transfers fail through their callbacks. */
static int start_multi(struct balkon_http_client *client)
{
    curl = curl_lib_get(&client->load_error);
    if (!curl)
        return 0;
    client->multi = curl->multi_init();
    if (!client->multi)
        return BALKON_E_NOMEM;
    curl->multi_setopt(client->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl->multi_setopt(client->multi, CURLMOPT_SOCKETDATA, client);
    curl->multi_setopt(client->multi, CURLMOPT_TIMERFUNCTION, start_timeout_cb);
    curl->multi_setopt(client->multi, CURLMOPT_TIMERDATA, client);
    return 0;
}

const char *balkon_http_fault(const struct balkon_http_result *result)
{
    switch (result->transport_error) {
    case CURLE_OK:
        break;
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_COULDNT_CONNECT:
        return "unreachable";
    case CURLE_COULDNT_RESOLVE_HOST:
        return "unknown_host";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
        return "tls";
    case CURLE_FILESIZE_EXCEEDED:
        return "too_large";
    default:
        return "transport";
    }
    if (result->status == 401 || result->status == 403)
        return "auth";
    if (result->status < 200 || result->status >= 300)
        return "http_status";
    return NULL;
}

int balkon_http_fetch(struct balkon_http_client *client, const struct balkon_http_request *request,
                      balkon_http_cb cb, void *user)
{
    if (!client || client->closing || !request || !request->url || !cb)
        return BALKON_E_INVAL;
    if (!client->multi && !client->load_error) {
        int rc = start_multi(client);
        if (rc < 0)
            return rc;
    }
    struct transfer *t = calloc(1, sizeof *t);
    if (!t)
        return BALKON_E_NOMEM;
    t->client = client;
    t->cb = cb;
    t->user = user;
    t->retry_after_s = -1;
    t->max_bytes =
        request->max_response_bytes ? request->max_response_bytes : DEFAULT_MAX_RESPONSE_BYTES;
    if (!client->multi) {
        /* No libcurl: fails in the timer's callback, since cb must not run before we return. */
        t->next = client->transfers;
        client->transfers = t;
        client->active++;
        uv_timer_start(&client->timer, timer_cb, 0, 0);
        return 0;
    }
    t->easy = curl->easy_init();
    if (!t->easy) {
        free(t);
        return BALKON_E_NOMEM;
    }
    CURL *e = t->easy;
    curl->easy_setopt(e, CURLOPT_URL, request->url);
    curl->easy_setopt(e, CURLOPT_PRIVATE, t);
    curl->easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl->easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl->easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl->easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl->easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    curl->easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                      request->connect_timeout_ms > 0 ? request->connect_timeout_ms
                                                      : DEFAULT_CONNECT_TIMEOUT_MS);
    curl->easy_setopt(e, CURLOPT_TIMEOUT_MS,
                      request->timeout_ms > 0 ? request->timeout_ms : DEFAULT_TIMEOUT_MS);
    curl->easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    /* Redirects: follow_redirect, never libcurl (it would follow them to any host). */
    curl->easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl->easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    t->no_redirects = request->no_redirects;
    curl->easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl->easy_setopt(e, CURLOPT_USERAGENT, "BalkonSolar/0.1 (+https://github.com/balkonsolar)");
    curl->easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    for (size_t i = 0; i < BALKON_HTTP_MAX_HEADERS && request->headers[i]; i++)
        t->headers = curl->slist_append(t->headers, request->headers[i]);
    if (t->headers)
        curl->easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    if (request->body) {
        t->request_body = malloc(request->body_size + 1);
        if (!t->request_body) {
            curl->easy_cleanup(e);
            curl->slist_free_all(t->headers);
            free(t);
            return BALKON_E_NOMEM;
        }
        memcpy(t->request_body, request->body, request->body_size);
        t->request_body[request->body_size] = '\0';
        t->request_size = request->body_size;
        if (!request->mail_from) {
            curl->easy_setopt(e, CURLOPT_POSTFIELDS, t->request_body);
            curl->easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)request->body_size);
        }
    }
    if (request->mail_from) {
        t->rcpt = curl->slist_append(NULL, request->mail_rcpt ? request->mail_rcpt : "");
        curl->easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
        curl->easy_setopt(e, CURLOPT_MAIL_FROM, request->mail_from);
        curl->easy_setopt(e, CURLOPT_MAIL_RCPT, t->rcpt);
        curl->easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
        curl->easy_setopt(e, CURLOPT_READDATA, t);
        curl->easy_setopt(e, CURLOPT_UPLOAD, 1L);
        if (request->user && request->user[0]) {
            curl->easy_setopt(e, CURLOPT_USERNAME, request->user);
            curl->easy_setopt(e, CURLOPT_PASSWORD, request->password ? request->password : "");
        }
    } else if (request->method && strcmp(request->method, "GET") != 0)
        curl->easy_setopt(e, CURLOPT_CUSTOMREQUEST, request->method);
    if (request->auth != BALKON_HTTP_AUTH_NONE && !request->mail_from) {
        curl->easy_setopt(e, CURLOPT_HTTPAUTH,
                          request->auth == BALKON_HTTP_AUTH_DIGEST ? CURLAUTH_DIGEST
                                                                   : CURLAUTH_BASIC);
        curl->easy_setopt(e, CURLOPT_USERNAME, request->user ? request->user : "");
        curl->easy_setopt(e, CURLOPT_PASSWORD, request->password ? request->password : "");
    }
    t->next = client->transfers;
    client->transfers = t;
    client->active++;
    if (curl->multi_add_handle(client->multi, e) != CURLM_OK) {
        t->cb = NULL;
        free_transfer(t);
        return BALKON_E_IO;
    }
    return 0;
}

size_t balkon_http_client_active(const struct balkon_http_client *client)
{
    return client ? client->active : 0;
}

int balkon_http_library(char *text, size_t text_size, bool *tls)
{
    const char *error;
    const struct curl_lib *lib = curl_lib_get(&error);
    *tls = false;
    if (!lib) {
        snprintf(text, text_size, "%s", error);
        return BALKON_E_NOTFOUND;
    }
    const curl_version_info_data *info = lib->version_info(CURLVERSION_NOW);
    *tls = (info->features & CURL_VERSION_SSL) != 0;
    snprintf(text, text_size, "libcurl %s, TLS %s", info->version,
             info->ssl_version ? info->ssl_version : "none");
    return 0;
}

static void client_closed_cb(uv_handle_t *handle)
{
    struct balkon_http_client *client = handle->data;
    if (client->multi)
        curl->multi_cleanup(client->multi);
    free(client);
}

void balkon_http_client_close(struct balkon_http_client *client)
{
    if (!client || client->closing)
        return;
    client->closing = true;
    while (client->transfers) {
        struct transfer *t = client->transfers;
        struct balkon_http_result result = {
            .transport_error = CURLE_ABORTED_BY_CALLBACK, .retry_after_s = -1, .body = ""};
        snprintf(result.error, sizeof result.error, "cancelled");
        t->cb(&result, t->user);
        /* Removing the easy handle makes libcurl report CURL_POLL_REMOVE for its sockets,
         * which closes their poll handles. */
        free_transfer(t);
    }
    uv_timer_stop(&client->timer);
    uv_close((uv_handle_t *)&client->timer, client_closed_cb);
}
