/* /api/v1/auth: first-start password, login, logout, password change and API tokens.
 *
 * GET    /api/v1/auth                 who am I: password set?, logged in how?, CSRF token
 * POST   /api/v1/auth/setup           {"setup_code", "password"}: the first password
 * POST   /api/v1/auth/login           {"password"}: a session cookie
 * POST   /api/v1/auth/logout          ends this session
 * PUT    /api/v1/auth/password        {"current_password", "new_password"}
 * GET    /api/v1/auth/tokens          the API tokens (names and dates, never the tokens)
 * POST   /api/v1/auth/tokens          {"name", "read_only"}: a new token, shown this once
 * DELETE /api/v1/auth/tokens/{id}     revokes one
 *
 * Password hashing takes tens to hundreds of milliseconds on purpose, so it runs on
 * libuv's thread pool (http_defer) and the control loop never waits for a login. */
#include "http_internal.h"

#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/secret.h"
#include "balkon/store.h"
#include "balkon/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>

enum hash_job_kind { JOB_SETUP, JOB_LOGIN, JOB_CHANGE };

/* What a deferred login step needs on the thread pool: copies only, no shared state. */
struct hash_job {
    enum hash_job_kind kind;
    char password[BALKON_PASSWORD_MAX_LEN + 1];     /* setup: new; login, change: current */
    char new_password[BALKON_PASSWORD_MAX_LEN + 1]; /* change */
    char stored_hash[BALKON_PASSWORD_HASH_SIZE];    /* login, change: what to check against */
    char new_hash[BALKON_PASSWORD_HASH_SIZE];       /* setup, change: the result */
    char client_ip[48];
    char session_digest[65]; /* change from a session: the one to keep */
    bool secure;             /* the request came over HTTPS: a Secure cookie */
    bool verified;
    int err;
};

/* {"error": "field: problem", "code", "params": {"field", ...}, "field"}: params beyond the
 * field are name/value pairs of strings, NULL-terminated. */
static void reply_field_error(struct http_response *response, int status, const char *code,
                              const char *field, const char *problem, ...)
{
    cJSON *params = cJSON_CreateObject();
    cJSON_AddStringToObject(params, "field", field);
    va_list ap;
    va_start(ap, problem);
    for (const char *name; (name = va_arg(ap, const char *)) != NULL;)
        cJSON_AddStringToObject(params, name, va_arg(ap, const char *));
    va_end(ap);
    cJSON *json = cJSON_CreateObject();
    char message[512];
    snprintf(message, sizeof message, "%s: %s", field, problem);
    cJSON_AddStringToObject(json, "error", message);
    cJSON_AddStringToObject(json, "code", code);
    cJSON_AddItemToObject(json, "params", params);
    cJSON_AddStringToObject(json, "field", field);
    http_reply_json(response, status, json);
}

/* The code of a problem balkon_password_problem named (its words are the English text). */
static const char *password_code(const char *problem)
{
    return strstr(problem, "at least") ? "password_too_short" : "password_too_long";
}

/* The body as a JSON object, or NULL after a 400 (or the 403/415 of a cross-site try). */
static cJSON *parse_body(const struct http_request *request, struct http_response *response,
                         const char *example)
{
    if (request->connection && !http_auth_same_site(request, response))
        return NULL;
    return http_body_object(request, response, example);
}

/* Copies the string field into out (size bytes); false after a 400 naming the field. */
static bool string_field(const cJSON *body, const char *field, char *out, size_t size,
                         struct http_response *response)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(body, field);
    if (!cJSON_IsString(item) || !item->valuestring[0]) {
        reply_field_error(response, 400, "required", field,
                          "is required and must be a non-empty string", NULL);
        return false;
    }
    if (strlen(item->valuestring) >= size) {
        reply_field_error(response, 400, "too_long", field, "is too long", NULL);
        return false;
    }
    snprintf(out, size, "%s", item->valuestring);
    return true;
}

static void hash_job_work(void *arg)
{
    struct hash_job *job = arg;
    switch (job->kind) {
    case JOB_SETUP:
        job->err = balkon_password_hash(job->password, job->new_hash);
        break;
    case JOB_LOGIN:
        job->verified = balkon_password_verify(job->password, job->stored_hash);
        break;
    case JOB_CHANGE:
        job->verified = balkon_password_verify(job->password, job->stored_hash);
        if (job->verified)
            job->err = balkon_password_hash(job->new_password, job->new_hash);
        break;
    }
}

static void hash_job_free(struct hash_job *job)
{
    explicit_bzero(job, sizeof *job);
    free(job);
}

/* Replies with a new session's CSRF token (the cookie goes in a header). */
static void reply_session(struct http_state *state, struct http_response *response, bool secure)
{
    char csrf[80];
    if (http_auth_session_start(state, response, secure, csrf) < 0)
        return;
    cJSON *json = cJSON_CreateObject();
    cJSON_AddBoolToObject(json, "logged_in", true);
    cJSON_AddStringToObject(json, "csrf_token", csrf);
    http_reply_json(response, 200, json);
}

static bool store_password(struct http_state *state, const char *hash,
                           struct http_response *response)
{
    if (balkon_store_password_set(state->ctx->store, hash, balkon_wall_now_ms()) < 0) {
        log_error("http", "cannot store the password: %s", balkon_store_errmsg(state->ctx->store));
        http_reply_error(response, 500, "cannot store the password: %s",
                         balkon_store_errmsg(state->ctx->store));
        return false;
    }
    http_auth_password_changed(state->auth);
    return true;
}

static void hash_job_done(struct http_state *state, void *arg, struct http_response *response)
{
    struct hash_job *job = arg;
    switch (job->kind) {
    case JOB_SETUP:
        if (job->err < 0) {
            http_reply_error(response, 500, "cannot hash the password: %s",
                             balkon_strerror(job->err));
        } else if (http_auth_password_set(state->auth)) {
            http_reply_error_code(response, 409, "password_set", NULL,
                                  "a password is set already: log in instead");
        } else if (store_password(state, job->new_hash, response)) {
            http_auth_attempt_succeeded(state->auth, job->client_ip);
            log_notice("http", "password set from %s", job->client_ip);
            reply_session(state, response, job->secure);
        }
        break;
    case JOB_LOGIN:
        if (!job->verified) {
            http_auth_log_refusal(state->auth, job->client_ip, "wrong password");
            reply_field_error(response, 401, "wrong_password", "password", "wrong password", NULL);
        } else {
            http_auth_attempt_succeeded(state->auth, job->client_ip);
            log_info("http", "login from %s", job->client_ip);
            reply_session(state, response, job->secure);
        }
        break;
    case JOB_CHANGE:
        if (!job->verified) {
            http_auth_log_refusal(state->auth, job->client_ip,
                                  "password change with a wrong current password");
            reply_field_error(response, 403, "wrong_password", "current_password", "wrong password",
                              NULL);
        } else if (job->err < 0) {
            http_reply_error(response, 500, "cannot hash the password: %s",
                             balkon_strerror(job->err));
        } else if (store_password(state, job->new_hash, response)) {
            http_auth_attempt_succeeded(state->auth, job->client_ip);
            /* Every other browser is logged out; API tokens stay (revoke them one by one). */
            balkon_store_sessions_delete_others(
                state->ctx->store, job->session_digest[0] ? job->session_digest : NULL);
            log_notice("http", "password changed from %s; other sessions ended", job->client_ip);
            cJSON *json = cJSON_CreateObject();
            cJSON_AddBoolToObject(json, "changed", true);
            http_reply_json(response, 200, json);
        }
        break;
    }
    hash_job_free(job);
}

static struct hash_job *hash_job_new(enum hash_job_kind kind, const struct http_request *request,
                                     struct http_response *response)
{
    struct hash_job *job = calloc(1, sizeof *job);
    if (!job) {
        http_reply_error(response, 500, "out of memory");
        return NULL;
    }
    job->kind = kind;
    snprintf(job->client_ip, sizeof job->client_ip, "%s", request->client_ip);
    job->secure = request->secure;
    return job;
}

/* Reads the stored hash into job; false after a reply (none set: 409, store error: 500). */
static bool load_hash(struct http_state *state, struct hash_job *job,
                      struct http_response *response)
{
    int err =
        balkon_store_password_get(state->ctx->store, job->stored_hash, sizeof job->stored_hash);
    if (err == BALKON_E_NOTFOUND) {
        http_reply_error_code(
            response, 409, "no_password",
            http_error_params("file", http_auth_setup_code_path(state->auth), NULL),
            "no password is set yet: set one with the setup code from %s",
            http_auth_setup_code_path(state->auth));
        return false;
    }
    if (err < 0) {
        http_reply_error(response, 500, "cannot read the password: %s",
                         balkon_store_errmsg(state->ctx->store));
        return false;
    }
    return true;
}

void api_auth_get(struct http_state *state, const struct http_request *request,
                  struct http_response *response)
{
    cJSON *json = cJSON_CreateObject();
    bool password_set = http_auth_password_set(state->auth);
    cJSON_AddBoolToObject(json, "password_set", password_set);
    if (!password_set)
        cJSON_AddStringToObject(json, "setup_code_file", http_auth_setup_code_path(state->auth));
    cJSON_AddBoolToObject(json, "read_without_login", state->ctx->config->http.read_without_login);
    const struct http_identity *identity = request->identity;
    cJSON_AddBoolToObject(json, "logged_in", identity->via != HTTP_AUTH_NONE);
    cJSON_AddStringToObject(json, "via",
                            identity->via == HTTP_AUTH_SESSION ? "session"
                            : identity->via == HTTP_AUTH_TOKEN ? "token"
                                                               : "none");
    if (identity->via == HTTP_AUTH_SESSION)
        cJSON_AddStringToObject(json, "csrf_token", identity->csrf);
    http_reply_json(response, 200, json);
}

void api_auth_setup_post(struct http_state *state, const struct http_request *request,
                         struct http_response *response)
{
    if (http_auth_password_set(state->auth)) {
        http_reply_error_code(response, 409, "password_set", NULL,
                              "a password is set already: log in instead");
        return;
    }
    cJSON *body = parse_body(request, response, "{\"setup_code\": \"...\", \"password\": \"...\"}");
    if (!body)
        return;
    struct hash_job *job = hash_job_new(JOB_SETUP, request, response);
    char code[64];
    bool ok = job && string_field(body, "setup_code", code, sizeof code, response) &&
              string_field(body, "password", job->password, sizeof job->password, response);
    cJSON_Delete(body);
    if (!ok)
        goto fail;
    const char *problem = balkon_password_problem(job->password);
    if (problem) {
        reply_field_error(response, 400, password_code(problem), "password", problem, "min", "8",
                          "max", "256", NULL);
        goto fail;
    }
    if (!http_auth_attempt(state->auth, request, response))
        goto fail;
    if (!http_auth_setup_code_ok(state->auth, code)) {
        http_auth_log_refusal(state->auth, request->client_ip, "wrong setup code");
        char problem_text[400];
        snprintf(problem_text, sizeof problem_text,
                 "wrong code: it is in the file %s on the machine running balkonsolard",
                 http_auth_setup_code_path(state->auth));
        reply_field_error(response, 403, "wrong_setup_code", "setup_code", problem_text, "file",
                          http_auth_setup_code_path(state->auth), NULL);
        goto fail;
    }
    http_defer(state, request, response, hash_job_work, hash_job_done, job);
    return;
fail:
    if (job)
        hash_job_free(job);
}

void api_auth_login_post(struct http_state *state, const struct http_request *request,
                         struct http_response *response)
{
    cJSON *body = parse_body(request, response, "{\"password\": \"...\"}");
    if (!body)
        return;
    struct hash_job *job = hash_job_new(JOB_LOGIN, request, response);
    bool ok = job && string_field(body, "password", job->password, sizeof job->password, response);
    cJSON_Delete(body);
    if (ok && load_hash(state, job, response) &&
        http_auth_attempt(state->auth, request, response)) {
        http_defer(state, request, response, hash_job_work, hash_job_done, job);
        return;
    }
    if (job)
        hash_job_free(job);
}

void api_auth_logout_post(struct http_state *state, const struct http_request *request,
                          struct http_response *response)
{
    if (request->identity->via == HTTP_AUTH_SESSION)
        balkon_store_session_delete(state->ctx->store, request->identity->session_digest);
    http_auth_cookie_clear(response);
    cJSON *json = cJSON_CreateObject();
    cJSON_AddBoolToObject(json, "logged_in", false);
    http_reply_json(response, 200, json);
}

void api_auth_password_put(struct http_state *state, const struct http_request *request,
                           struct http_response *response)
{
    cJSON *body =
        parse_body(request, response, "{\"current_password\": \"...\", \"new_password\": \"...\"}");
    if (!body)
        return;
    struct hash_job *job = hash_job_new(JOB_CHANGE, request, response);
    bool ok =
        job &&
        string_field(body, "current_password", job->password, sizeof job->password, response) &&
        string_field(body, "new_password", job->new_password, sizeof job->new_password, response);
    cJSON_Delete(body);
    if (!ok)
        goto fail;
    const char *problem = balkon_password_problem(job->new_password);
    if (problem) {
        reply_field_error(response, 400, password_code(problem), "new_password", problem, "min",
                          "8", "max", "256", NULL);
        goto fail;
    }
    if (!load_hash(state, job, response) || !http_auth_attempt(state->auth, request, response))
        goto fail;
    if (request->identity->via == HTTP_AUTH_SESSION)
        snprintf(job->session_digest, sizeof job->session_digest, "%s",
                 request->identity->session_digest);
    http_defer(state, request, response, hash_job_work, hash_job_done, job);
    return;
fail:
    if (job)
        hash_job_free(job);
}

void api_auth_tokens_get(struct http_state *state, const struct http_request *request,
                         struct http_response *response)
{
    struct balkon_token_record *tokens;
    size_t count;
    if (balkon_store_token_list(state->ctx->store, &tokens, &count) < 0) {
        http_reply_error(response, 500, "cannot read the tokens: %s",
                         balkon_store_errmsg(state->ctx->store));
        return;
    }
    cJSON *json = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(json, "tokens");
    for (size_t i = 0; i < count; i++) {
        cJSON *item = cJSON_CreateObject();
        cJSON_AddNumberToObject(item, "id", (double)tokens[i].id);
        cJSON_AddStringToObject(item, "name", tokens[i].name);
        cJSON_AddBoolToObject(item, "read_only", tokens[i].read_only);
        http_add_time(item, "created", tokens[i].created_ts_ms);
        if (tokens[i].last_used_ts_ms)
            http_add_time(item, "last_used", tokens[i].last_used_ts_ms);
        else
            cJSON_AddNullToObject(item, "last_used");
        cJSON_AddItemToArray(list, item);
    }
    free(tokens);
    http_reply_json(response, 200, json);
}

void api_auth_tokens_post(struct http_state *state, const struct http_request *request,
                          struct http_response *response)
{
    cJSON *body = parse_body(request, response, "{\"name\": \"backup script\"}");
    if (!body)
        return;
    char name[64];
    bool ok = string_field(body, "name", name, sizeof name, response);
    const cJSON *read_only = cJSON_GetObjectItemCaseSensitive(body, "read_only");
    if (ok && read_only && !cJSON_IsBool(read_only)) {
        reply_field_error(response, 400, "boolean", "read_only", "must be true or false", NULL);
        ok = false;
    }
    bool is_read_only = cJSON_IsTrue(read_only);
    cJSON_Delete(body);
    if (!ok)
        return;
    char token[BALKON_TOKEN_TEXT_SIZE], digest[BALKON_DIGEST_HEX_SIZE];
    int64_t id = 0;
    int err = balkon_secret_token("bst_", token);
    if (err == 0)
        err = balkon_secret_digest(token, digest);
    if (err == 0)
        err = balkon_store_token_add(state->ctx->store, name, digest, is_read_only,
                                     balkon_wall_now_ms(), &id);
    if (err < 0) {
        http_reply_error(response, 500, "cannot make a token: %s",
                         balkon_store_errmsg(state->ctx->store));
        return;
    }
    log_notice("http", "API token %lld \"%s\" made from %s", (long long)id, name,
               request->client_ip);
    cJSON *json = cJSON_CreateObject();
    cJSON_AddNumberToObject(json, "id", (double)id);
    cJSON_AddStringToObject(json, "name", name);
    cJSON_AddBoolToObject(json, "read_only", is_read_only);
    cJSON_AddStringToObject(json, "token", token);
    cJSON_AddStringToObject(json, "note",
                            "shown only this once: send it as \"Authorization: Bearer TOKEN\"");
    explicit_bzero(token, sizeof token);
    http_reply_json(response, 201, json);
}

void api_auth_token_delete(struct http_state *state, const struct http_request *request,
                           struct http_response *response)
{
    char *end;
    long long id = strtoll(request->path_param, &end, 10);
    if (*end || id <= 0) {
        http_reply_error(response, 400, "id: must be a token's number, got \"%.20s\"",
                         request->path_param);
        return;
    }
    int err = balkon_store_token_delete(state->ctx->store, id);
    if (err == BALKON_E_NOTFOUND) {
        http_reply_error(response, 404, "no API token with id %lld", id);
        return;
    }
    if (err < 0) {
        http_reply_error(response, 500, "cannot revoke the token: %s",
                         balkon_store_errmsg(state->ctx->store));
        return;
    }
    log_notice("http", "API token %lld revoked from %s", id, request->client_ip);
    response->status = 204;
    response->body = (char *)"";
    response->body_size = 0;
    response->body_static = true;
}
