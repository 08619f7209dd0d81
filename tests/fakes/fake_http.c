#include "fake_http.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ROUTES 64
#define MAX_AUTH_RULES 16

struct route {
    char prefix[256];
    int status;
    char content_type[64];
    char *body;
    size_t body_size;
    char header_name[64];
    char header_value[256];
    int delay_ms;
    fake_http_handler handler;
    void *handler_user;
    int hits;
    char last_line[1024];
    char last_body[4096];
    char last_auth[256];
    char last_headers[4096]; /* "Name: value\n" per request header */
};

/* A credential requirement for a path prefix (fake_http_require_digest/_basic). */
struct auth_rule {
    char prefix[256];
    bool digest;
    char realm[128];
    char user[64];
    char password[128];
    int refused;
};

struct fake_http {
    struct MHD_Daemon *daemon;
    int port;
    char base[64];
    pthread_mutex_t lock;
    struct route routes[MAX_ROUTES];
    int route_count;
    struct auth_rule auth_rules[MAX_AUTH_RULES];
    int auth_rule_count;
    char digest_random[32]; /* MHD derives its digest nonces from this */
};

struct request_body {
    char data[4096];
    size_t size;
};

static struct route *match(struct fake_http *fake, const char *url)
{
    for (int i = fake->route_count - 1; i >= 0; i--)
        if (strncmp(url, fake->routes[i].prefix, strlen(fake->routes[i].prefix)) == 0)
            return &fake->routes[i];
    return NULL;
}

/* The newest auth rule matching url, or -1. */
static int match_auth(struct fake_http *fake, const char *url)
{
    for (int i = fake->auth_rule_count - 1; i >= 0; i--)
        if (strncmp(url, fake->auth_rules[i].prefix, strlen(fake->auth_rules[i].prefix)) == 0)
            return i;
    return -1;
}

/* Checks the request's credentials against rule; on failure queues the 401 challenge (an
 * empty body, as Shelly devices send it) and returns false with *result set. */
static bool authorized(struct MHD_Connection *connection, const struct auth_rule *rule,
                       enum MHD_Result *result)
{
    int stale = MHD_NO;
    if (rule->digest) {
        int rc = MHD_digest_auth_check2(connection, rule->realm, rule->user, rule->password, 300,
                                        MHD_DIGEST_ALG_SHA256);
        if (rc == MHD_YES)
            return true;
        stale = rc == MHD_INVALID_NONCE ? MHD_YES : MHD_NO;
    } else {
        char *password = NULL;
        char *user = MHD_basic_auth_get_username_password(connection, &password);
        bool ok = user && password && strcmp(user, rule->user) == 0 &&
                  strcmp(password, rule->password) == 0;
        if (user)
            MHD_free(user);
        if (password)
            MHD_free(password);
        if (ok)
            return true;
    }
    struct MHD_Response *response =
        MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (rule->digest)
        *result = MHD_queue_auth_fail_response2(connection, rule->realm, "fake", response, stale,
                                                MHD_DIGEST_ALG_SHA256);
    else
        *result = MHD_queue_basic_auth_fail_response(connection, rule->realm, response);
    MHD_destroy_response(response);
    return false;
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    char *line = cls;
    size_t len = strlen(line);
    snprintf(line + len, 1024 - len, "%c%s=%s", strchr(line, '?') ? '&' : '?', key,
             value ? value : "");
    return MHD_YES;
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    char *out = cls;
    size_t len = strlen(out);
    snprintf(out + len, 4096 - len, "%s: %s\n", key, value ? value : "");
    return MHD_YES;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *connection, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls)
{
    struct fake_http *fake = cls;
    struct request_body *rb = *con_cls;
    if (!rb) {
        rb = calloc(1, sizeof *rb);
        *con_cls = rb;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        if (rb->size + n >= sizeof rb->data)
            n = sizeof rb->data - 1 - rb->size;
        memcpy(rb->data + rb->size, upload_data, n);
        rb->size += n;
        *upload_data_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&fake->lock);
    int rule_index = match_auth(fake, url);
    struct auth_rule rule;
    if (rule_index >= 0)
        rule = fake->auth_rules[rule_index];
    pthread_mutex_unlock(&fake->lock);
    if (rule_index >= 0) {
        enum MHD_Result refused;
        if (!authorized(connection, &rule, &refused)) {
            pthread_mutex_lock(&fake->lock);
            fake->auth_rules[rule_index].refused++;
            pthread_mutex_unlock(&fake->lock);
            return refused;
        }
    }
    pthread_mutex_lock(&fake->lock);
    struct route *r = match(fake, url);
    int status = 404, delay_ms = 0;
    char *body = NULL;
    size_t body_size = 0;
    char content_type[64] = "text/plain", header_name[64] = "", header_value[256] = "";
    if (r) {
        r->hits++;
        snprintf(r->last_line, sizeof r->last_line, "%s %s", method, url);
        MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, collect_query, r->last_line);
        snprintf(r->last_body, sizeof r->last_body, "%.*s", (int)rb->size, rb->data);
        const char *auth =
            MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Authorization");
        snprintf(r->last_auth, sizeof r->last_auth, "%s", auth ? auth : "");
        r->last_headers[0] = '\0';
        MHD_get_connection_values(connection, MHD_HEADER_KIND, collect_header, r->last_headers);
        status = r->status;
        delay_ms = r->delay_ms;
        if (r->handler) {
            body = calloc(1, 65536);
            snprintf(content_type, sizeof content_type, "application/json");
            status = r->handler(r->handler_user, r->last_line, r->last_body, r->last_auth, body,
                                65536, content_type, sizeof content_type);
            body_size = strlen(body);
        } else {
            body = malloc(r->body_size + 1);
            memcpy(body, r->body, r->body_size);
            body_size = r->body_size;
            snprintf(content_type, sizeof content_type, "%s", r->content_type);
        }
        snprintf(header_name, sizeof header_name, "%s", r->header_name);
        snprintf(header_value, sizeof header_value, "%s", r->header_value);
    }
    pthread_mutex_unlock(&fake->lock);
    if (delay_ms > 0) {
        struct timespec ts = {delay_ms / 1000, (long)(delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (status < 0) {
        free(body);
        return MHD_NO; /* hang up without an answer */
    }
    if (!body) {
        body = strdup("no route");
        body_size = strlen(body);
    }
    struct MHD_Response *response =
        MHD_create_response_from_buffer(body_size, body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(response, "Content-Type", content_type);
    if (header_name[0])
        MHD_add_response_header(response, header_name, header_value);
    enum MHD_Result result = MHD_queue_response(connection, (unsigned)status, response);
    MHD_destroy_response(response);
    return result;
}

static void completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    free(*con_cls);
    *con_cls = NULL;
}

struct fake_http *fake_http_start(void)
{
    struct fake_http *fake = calloc(1, sizeof *fake);
    pthread_mutex_init(&fake->lock, NULL);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* Digest nonces only need to differ between runs of a test, not be secret. */
    snprintf(fake->digest_random, sizeof fake->digest_random, "%lx-%p", (unsigned long)time(NULL),
             (void *)fake);
    fake->daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handler,
        fake, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
        MHD_OPTION_DIGEST_AUTH_RANDOM, sizeof fake->digest_random, fake->digest_random,
        MHD_OPTION_NONCE_NC_SIZE, 256u, MHD_OPTION_END);
    if (!fake->daemon) {
        free(fake);
        return NULL;
    }
    fake->port = MHD_get_daemon_info(fake->daemon, MHD_DAEMON_INFO_BIND_PORT)->port;
    snprintf(fake->base, sizeof fake->base, "http://127.0.0.1:%d", fake->port);
    return fake;
}

void fake_http_stop(struct fake_http *fake)
{
    if (!fake)
        return;
    MHD_stop_daemon(fake->daemon);
    for (int i = 0; i < fake->route_count; i++)
        free(fake->routes[i].body);
    pthread_mutex_destroy(&fake->lock);
    free(fake);
}

int fake_http_port(const struct fake_http *fake)
{
    return fake->port;
}
const char *fake_http_base(const struct fake_http *fake)
{
    return fake->base;
}

void fake_http_route(struct fake_http *fake, const char *prefix, int status,
                     const char *content_type, const char *body, size_t body_size,
                     const char *extra_header, int delay_ms)
{
    pthread_mutex_lock(&fake->lock);
    struct route *r = NULL;
    for (int i = 0; i < fake->route_count; i++)
        if (strcmp(fake->routes[i].prefix, prefix) == 0)
            r = &fake->routes[i];
    if (!r && fake->route_count < MAX_ROUTES)
        r = &fake->routes[fake->route_count++];
    if (r) {
        free(r->body);
        int hits = strcmp(r->prefix, prefix) == 0 ? r->hits : 0;
        memset(r, 0, sizeof *r);
        r->hits = hits;
        snprintf(r->prefix, sizeof r->prefix, "%s", prefix);
        r->status = status;
        snprintf(r->content_type, sizeof r->content_type, "%s",
                 content_type ? content_type : "application/json");
        r->body = malloc(body_size + 1);
        memcpy(r->body, body, body_size);
        r->body_size = body_size;
        r->delay_ms = delay_ms;
        if (extra_header) {
            const char *colon = strchr(extra_header, ':');
            if (colon) {
                snprintf(r->header_name, sizeof r->header_name, "%.*s", (int)(colon - extra_header),
                         extra_header);
                snprintf(r->header_value, sizeof r->header_value, "%s",
                         colon + 1 + (colon[1] == ' '));
            }
        }
    }
    pthread_mutex_unlock(&fake->lock);
}

void fake_http_route_handler(struct fake_http *fake, const char *prefix,
                             fake_http_handler route_handler, void *user)
{
    fake_http_route(fake, prefix, 200, NULL, "", 0, NULL, 0);
    pthread_mutex_lock(&fake->lock);
    for (int i = 0; i < fake->route_count; i++) {
        if (strcmp(fake->routes[i].prefix, prefix) == 0) {
            fake->routes[i].handler = route_handler;
            fake->routes[i].handler_user = user;
        }
    }
    pthread_mutex_unlock(&fake->lock);
}

void fake_http_lock(struct fake_http *fake)
{
    pthread_mutex_lock(&fake->lock);
}
void fake_http_unlock(struct fake_http *fake)
{
    pthread_mutex_unlock(&fake->lock);
}

char *fake_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)len + 1);
    size_t n = fread(data, 1, (size_t)len, f);
    fclose(f);
    data[n] = '\0';
    if (size)
        *size = n;
    return data;
}

void fake_http_route_file(struct fake_http *fake, const char *prefix, int status,
                          const char *content_type, const char *file_path, const char *extra_header,
                          int delay_ms)
{
    size_t size;
    char *data = fake_read_file(file_path, &size);
    if (!data) {
        fprintf(stderr, "fake_http: cannot read %s\n", file_path);
        abort();
    }
    /* Substitute {{BASE}} so paginated answers point back at this server. */
    size_t base_len = strlen(fake->base), count = 0;
    for (char *p = strstr(data, "{{BASE}}"); p; p = strstr(p + 8, "{{BASE}}"))
        count++;
    char *out = malloc(size + count * base_len + 1);
    char *w = out;
    for (char *r = data; *r;) {
        if (strncmp(r, "{{BASE}}", 8) == 0) {
            memcpy(w, fake->base, base_len);
            w += base_len;
            r += 8;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    fake_http_route(fake, prefix, status, content_type, out, (size_t)(w - out), extra_header,
                    delay_ms);
    free(out);
    free(data);
}

static void require_auth(struct fake_http *fake, const char *prefix, bool digest, const char *realm,
                         const char *user, const char *password)
{
    pthread_mutex_lock(&fake->lock);
    struct auth_rule *rule = NULL;
    for (int i = 0; i < fake->auth_rule_count; i++)
        if (strcmp(fake->auth_rules[i].prefix, prefix) == 0)
            rule = &fake->auth_rules[i];
    if (!rule && fake->auth_rule_count < MAX_AUTH_RULES)
        rule = &fake->auth_rules[fake->auth_rule_count++];
    if (rule) {
        int refused = strcmp(rule->prefix, prefix) == 0 ? rule->refused : 0;
        memset(rule, 0, sizeof *rule);
        snprintf(rule->prefix, sizeof rule->prefix, "%s", prefix);
        rule->digest = digest;
        snprintf(rule->realm, sizeof rule->realm, "%s", realm);
        snprintf(rule->user, sizeof rule->user, "%s", user);
        snprintf(rule->password, sizeof rule->password, "%s", password);
        rule->refused = refused;
    }
    pthread_mutex_unlock(&fake->lock);
}

void fake_http_require_digest(struct fake_http *fake, const char *prefix, const char *realm,
                              const char *user, const char *password)
{
    require_auth(fake, prefix, true, realm, user, password);
}

void fake_http_require_basic(struct fake_http *fake, const char *prefix, const char *user,
                             const char *password)
{
    require_auth(fake, prefix, false, "fake", user, password);
}

int fake_http_auth_refused(struct fake_http *fake, const char *prefix)
{
    pthread_mutex_lock(&fake->lock);
    int refused = 0;
    for (int i = 0; i < fake->auth_rule_count; i++)
        if (strcmp(fake->auth_rules[i].prefix, prefix) == 0)
            refused = fake->auth_rules[i].refused;
    pthread_mutex_unlock(&fake->lock);
    return refused;
}

int fake_http_hits(struct fake_http *fake, const char *prefix)
{
    pthread_mutex_lock(&fake->lock);
    int hits = 0;
    for (int i = 0; i < fake->route_count; i++)
        if (strcmp(fake->routes[i].prefix, prefix) == 0)
            hits = fake->routes[i].hits;
    pthread_mutex_unlock(&fake->lock);
    return hits;
}

void fake_http_last(struct fake_http *fake, const char *prefix, char *line, size_t line_size,
                    char *body, size_t body_size, char *authorization, size_t auth_size)
{
    pthread_mutex_lock(&fake->lock);
    if (line)
        line[0] = '\0';
    if (body)
        body[0] = '\0';
    if (authorization)
        authorization[0] = '\0';
    for (int i = 0; i < fake->route_count; i++) {
        struct route *r = &fake->routes[i];
        if (strcmp(r->prefix, prefix) != 0)
            continue;
        if (line)
            snprintf(line, line_size, "%s", r->last_line);
        if (body)
            snprintf(body, body_size, "%s", r->last_body);
        if (authorization)
            snprintf(authorization, auth_size, "%s", r->last_auth);
    }
    pthread_mutex_unlock(&fake->lock);
}

void fake_http_last_headers(struct fake_http *fake, const char *prefix, char *out, size_t size)
{
    pthread_mutex_lock(&fake->lock);
    out[0] = '\0';
    for (int i = 0; i < fake->route_count; i++)
        if (strcmp(fake->routes[i].prefix, prefix) == 0)
            snprintf(out, size, "%s", fake->routes[i].last_headers);
    pthread_mutex_unlock(&fake->lock);
}
