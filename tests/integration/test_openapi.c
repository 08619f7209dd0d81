/* docs/openapi.json against the real balkonsolard (the demo site, reading only with a login):
 *
 * - every route of the router's table (balkon_http_route_at) is described, with the access
 *   the router enforces ("x-access"), and the description names no route the router lacks;
 * - GET /api/v1/openapi.json serves exactly docs/openapi.json;
 * - every operation is called as its description's examples say (path parameters' and query
 *   parameters' "example", the request body's "example") and its answer has the status the
 *   description promises ("x-test-status", else its first 2xx) and matches that response's
 *   schema; each "x-test-errors" entry is sent too and its error answer must match;
 * - without credentials every non-public operation answers 401, every operation with a body
 *   answers 413 to one larger than http.max_body_bytes, an unknown path 404: all described.
 * The demo's place search (site.geocoder_url) asks a fake geocoder on loopback that answers
 * what the real one did (tests/fixtures/real/geocoding/), so nothing leaves the machine.
 *
 * Schemas are checked by the small JSON-schema subset below (type, properties, required,
 * items, enum, oneOf, anyOf, additionalProperties, $ref, format date-time): enough for what
 * the description uses; it fails on a keyword it does not know, so the description cannot
 * quietly use more. (Written here rather than taking ajv from npm so the test stays in C
 * beside the other daemon tests and needs no node; docs/api.md, "The description".) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_http.h"
#include "harness.h"

#include "balkon/http_routes.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *doc; /* docs/openapi.json */

/* --- The JSON-schema subset ------------------------------------------------------------ */

static const cJSON *resolve_ref(const char *ref)
{
    if (strncmp(ref, "#/", 2) != 0)
        return NULL;
    const cJSON *at = doc;
    char part[128];
    for (const char *p = ref + 2; *p && at;) {
        size_t len = strcspn(p, "/");
        snprintf(part, sizeof part, "%.*s", (int)len, p);
        at = cJSON_GetObjectItemCaseSensitive(at, part);
        p += len + (p[len] == '/');
    }
    return at;
}

static bool type_is(const cJSON *value, const char *type)
{
    if (strcmp(type, "object") == 0)
        return cJSON_IsObject(value);
    if (strcmp(type, "array") == 0)
        return cJSON_IsArray(value);
    if (strcmp(type, "string") == 0)
        return cJSON_IsString(value);
    if (strcmp(type, "number") == 0)
        return cJSON_IsNumber(value);
    if (strcmp(type, "integer") == 0)
        return cJSON_IsNumber(value) && value->valuedouble == (double)(long long)value->valuedouble;
    if (strcmp(type, "boolean") == 0)
        return cJSON_IsBool(value);
    if (strcmp(type, "null") == 0)
        return cJSON_IsNull(value);
    fail_msg("schema: unknown type \"%s\"", type);
    return false;
}

/* "2026-12-07T03:57:50Z" or with fractional seconds. */
static bool is_date_time(const char *text)
{
    int y, mo, d, h, mi;
    double s;
    char z = 0;
    return sscanf(text, "%4d-%2d-%2dT%2d:%2d:%lf%c", &y, &mo, &d, &h, &mi, &s, &z) == 7 &&
           (z == 'Z' || z == '+' || z == '-') && mo >= 1 && mo <= 12 && d >= 1 && d <= 31;
}

/* Whether value matches schema; when not, why (with the JSON path) into why. */
static bool validate(const cJSON *schema, const cJSON *value, const char *path, char *why,
                     size_t size)
{
    static const char *const known[] = {
        "type",  "properties", "required", "items",       "enum",    "oneOf",
        "anyOf", "$ref",       "format",   "description", "example", "additionalProperties"};
    for (const cJSON *k = schema->child; k; k = k->next) {
        bool ok = false;
        for (size_t i = 0; i < sizeof known / sizeof *known; i++)
            ok |= strcmp(k->string, known[i]) == 0;
        if (!ok)
            fail_msg("schema at %s: keyword \"%s\" is not in the test's subset", path, k->string);
    }
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(schema, "$ref");
    if (ref) {
        const cJSON *target = resolve_ref(ref->valuestring);
        if (!target)
            fail_msg("schema at %s: $ref %s not found", path, ref->valuestring);
        return validate(target, value, path, why, size);
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(schema, "type");
    if (type) {
        bool ok = false;
        if (cJSON_IsString(type)) {
            ok = type_is(value, type->valuestring);
        } else {
            const cJSON *t;
            cJSON_ArrayForEach(t, type) ok |= type_is(value, t->valuestring);
        }
        if (!ok) {
            char *text = cJSON_PrintUnformatted(value);
            char *want = cJSON_PrintUnformatted(type);
            snprintf(why, size, "%s: expected type %s, got %.80s", path, want, text);
            free(text);
            free(want);
            return false;
        }
    }
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(schema, "format");
    if (format && strcmp(format->valuestring, "date-time") == 0 && cJSON_IsString(value) &&
        !is_date_time(value->valuestring)) {
        snprintf(why, size, "%s: expected a date-time, got \"%.60s\"", path, value->valuestring);
        return false;
    }
    const cJSON *enumeration = cJSON_GetObjectItemCaseSensitive(schema, "enum");
    if (enumeration) {
        bool found = false;
        const cJSON *e;
        cJSON_ArrayForEach(e, enumeration) found |= cJSON_Compare(e, value, true);
        if (!found) {
            char *text = cJSON_PrintUnformatted(value);
            snprintf(why, size, "%s: %.80s is not one of the enum", path, text);
            free(text);
            return false;
        }
    }
    if (cJSON_IsObject(value)) {
        const cJSON *required = cJSON_GetObjectItemCaseSensitive(schema, "required");
        const cJSON *r;
        cJSON_ArrayForEach(r, required)
        {
            if (!cJSON_GetObjectItemCaseSensitive(value, r->valuestring)) {
                snprintf(why, size, "%s: required key \"%s\" is missing", path, r->valuestring);
                return false;
            }
        }
        const cJSON *properties = cJSON_GetObjectItemCaseSensitive(schema, "properties");
        const cJSON *additional = cJSON_GetObjectItemCaseSensitive(schema, "additionalProperties");
        for (const cJSON *item = value->child; item; item = item->next) {
            char sub[512];
            snprintf(sub, sizeof sub, "%s.%s", path, item->string);
            const cJSON *property = cJSON_GetObjectItemCaseSensitive(properties, item->string);
            if (property && !validate(property, item, sub, why, size))
                return false;
            if (!property && cJSON_IsFalse(additional)) {
                snprintf(why, size, "%s: not described", sub);
                return false;
            }
            if (!property && cJSON_IsObject(additional) &&
                !validate(additional, item, sub, why, size))
                return false;
        }
    }
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(schema, "items");
    if (items && cJSON_IsArray(value)) {
        int index = 0;
        for (const cJSON *item = value->child; item; item = item->next, index++) {
            char sub[512];
            snprintf(sub, sizeof sub, "%s[%d]", path, index);
            if (!validate(items, item, sub, why, size))
                return false;
        }
    }
    const cJSON *any_of = cJSON_GetObjectItemCaseSensitive(schema, "anyOf");
    const cJSON *one_of = cJSON_GetObjectItemCaseSensitive(schema, "oneOf");
    const cJSON *alternatives = any_of ? any_of : one_of;
    if (alternatives) {
        int matched = 0;
        char first_why[512] = "";
        const cJSON *s;
        cJSON_ArrayForEach(s, alternatives)
        {
            char w[512] = "";
            if (validate(s, value, path, w, sizeof w))
                matched++;
            else if (!first_why[0])
                snprintf(first_why, sizeof first_why, "%s", w);
        }
        if (matched == 0 || (one_of && matched > 1)) {
            snprintf(why, size, "%s: matches %d of the %s alternatives (%s)", path, matched,
                     one_of ? "oneOf" : "anyOf", first_why);
            return false;
        }
    }
    return true;
}

/* --- The validator's own check: it must refuse what does not match ----------------------- */

static void test_validator_refuses(void **state)
{
    (void)state;
    cJSON *schema = cJSON_Parse(
        "{\"type\":\"object\",\"required\":[\"a\"],\"properties\":{\"a\":{\"type\":\"number\"},"
        "\"t\":{\"type\":[\"string\",\"null\"],\"format\":\"date-time\"},"
        "\"l\":{\"type\":\"array\",\"items\":{\"enum\":[\"x\",\"y\"]}}}}");
    static const struct {
        const char *json;
        bool ok;
    } cases[] = {
        {"{\"a\":1}", true},
        {"{\"a\":1,\"t\":null,\"l\":[\"x\",\"y\"]}", true},
        {"{\"a\":1,\"t\":\"2026-12-07T03:57:50.5Z\"}", true},
        {"{}", false},
        {"{\"a\":\"1\"}", false},
        {"{\"a\":1,\"t\":\"yesterday\"}", false},
        {"{\"a\":1,\"l\":[\"x\",\"z\"]}", false},
        {"[1]", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cJSON *value = cJSON_Parse(cases[i].json);
        char why[512] = "";
        bool ok = validate(schema, value, "$", why, sizeof why);
        if (ok != cases[i].ok)
            fail_msg("%s: validate said %d (%s)", cases[i].json, ok, why);
        cJSON_Delete(value);
    }
    cJSON_Delete(schema);
}

/* --- The daemon -------------------------------------------------------------------------- */

static struct daemon_proc daemon_under_test;
static struct fake_http *geocoder;

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = calloc(1, (size_t)size + 1);
    if (text && fread(text, 1, (size_t)size, f) != (size_t)size) {
        free(text);
        text = NULL;
    }
    fclose(f);
    return text;
}

static int setup(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/docs/openapi.json", getenv("BALKON_SOURCE_DIR"));
    char *text = read_file(path);
    doc = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!doc) {
        fprintf(stderr, "%s: missing or not JSON\n", path);
        return -1;
    }
    /* The demo, but reading needs a login: so 401 answers can be checked everywhere. */
    snprintf(path, sizeof path, "%s/config/demo.json", getenv("BALKON_SOURCE_DIR"));
    char *config = read_file(path);
    char *open_reads = config ? strstr(config, "\"read_without_login\": true") : NULL;
    if (!open_reads) {
        fprintf(stderr, "%s: no \"read_without_login\": true to turn off\n", path);
        free(config);
        return -1;
    }
    memcpy(open_reads, "\"read_without_login\":false", strlen("\"read_without_login\":false"));
    geocoder = fake_http_start();
    char *site = config ? strstr(config, "\"site\": {") : NULL;
    if (!geocoder || !site) {
        fprintf(stderr, "no fake geocoder, or no \"site\": { in %s\n", path);
        free(config);
        return -1;
    }
    snprintf(path, sizeof path, "%s/real/geocoding/open_meteo_berlin_en_2023-03-31.json",
             getenv("BALKON_FIXTURES"));
    fake_http_route_file(geocoder, "/v1/search", 200, "application/json", path, NULL, 0);
    size_t config_size = strlen(config) + 256;
    char *with_geocoder = malloc(config_size);
    if (!with_geocoder) {
        free(config);
        return -1;
    }
    size_t head = (size_t)(site - config) + strlen("\"site\": {");
    snprintf(with_geocoder, config_size, "%.*s\"geocoder_url\": \"%s/v1/search\", %s", (int)head,
             config, fake_http_base(geocoder), config + head);
    free(config);
    harness_init(&daemon_under_test);
    harness_write_config(&daemon_under_test, with_geocoder);
    free(with_geocoder);
    if (!harness_start(&daemon_under_test, NULL))
        return -1;
    /* The planner's first plan comes a moment after the start. */
    for (int i = 0; i < 300; i++) {
        struct http_reply r =
            harness_http(&daemon_under_test, "GET", "/api/v1/plan", NULL, 0, NULL);
        long status = r.status;
        http_reply_free(&r);
        if (status == 200)
            return 0;
        harness_sleep_ms(100);
    }
    fprintf(stderr, "no plan within 30 s\n");
    return -1;
}

static int teardown(void **state)
{
    harness_stop_cleanly(&daemon_under_test, 5000);
    harness_cleanup(&daemon_under_test);
    fake_http_stop(geocoder);
    cJSON_Delete(doc);
    (void)state;
    return 0;
}

static const char *access_name(enum balkon_route_access access)
{
    switch (access) {
    case BALKON_ROUTE_PUBLIC:
        return "public";
    case BALKON_ROUTE_READ:
        return "read";
    case BALKON_ROUTE_LOGIN:
        return "login";
    case BALKON_ROUTE_WRITE:
        return "write";
    }
    return "?";
}

static void lower(const char *in, char *out, size_t size)
{
    size_t i = 0;
    for (; in[i] && i + 1 < size; i++)
        out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] + 32 : in[i]);
    out[i] = '\0';
}

/* Every route the router knows is described with its access, and nothing else is. */
static void test_every_route_described(void **state)
{
    (void)state;
    const cJSON *paths = cJSON_GetObjectItemCaseSensitive(doc, "paths");
    const char *method, *path;
    enum balkon_route_access access;
    int missing = 0, routes = 0;
    for (size_t i = 0; balkon_http_route_at(i, &method, &path, &access); i++, routes++) {
        char m[16];
        lower(method, m, sizeof m);
        const cJSON *op =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(paths, path), m);
        if (!op) {
            fprintf(stderr,
                    "%s %s: the router has it, docs/openapi.json does not describe it "
                    "(docs/api.md, \"The description\")\n",
                    method, path);
            missing++;
            continue;
        }
        const char *said = harness_text(op, "x-access");
        if (strcmp(said, access_name(access)) != 0) {
            fprintf(stderr, "%s %s: x-access is \"%s\", the router says \"%s\"\n", method, path,
                    said, access_name(access));
            missing++;
        }
    }
    /* And the other way: no described route that the router lacks. */
    for (const cJSON *p = paths->child; p; p = p->next) {
        for (const cJSON *op = p->child; op; op = op->next) {
            bool found = false;
            for (size_t i = 0; balkon_http_route_at(i, &method, &path, &access); i++) {
                char m[16];
                lower(method, m, sizeof m);
                found |= strcmp(path, p->string) == 0 && strcmp(m, op->string) == 0;
            }
            if (!found) {
                fprintf(stderr, "%s %s: described, but the router has no such route\n", op->string,
                        p->string);
                missing++;
            }
        }
    }
    assert_true(routes > 30);
    assert_int_equal(missing, 0);
}

static void test_served_description(void **state)
{
    (void)state;
    struct http_reply r =
        harness_http(&daemon_under_test, "GET", "/api/v1/openapi.json", NULL, 0, NULL);
    assert_int_equal(r.status, 200);
    cJSON *served = cJSON_Parse(r.body);
    assert_non_null(served);
    assert_true(cJSON_Compare(served, doc, true));
    assert_string_equal(harness_text(served, "openapi"), "3.1.0");
    cJSON_Delete(served);
    http_reply_free(&r);
}

/* --- Calling every operation -------------------------------------------------------------- */

/* Values the examples refer to as "{name}". */
static char new_token_id[32] = "0";

static void substitute(char *text, size_t size)
{
    char setup_code_path[400];
    char *dir_end = strrchr(daemon_under_test.db_path, '/');
    snprintf(setup_code_path, sizeof setup_code_path, "%.*s/setup-code",
             (int)(dir_end - daemon_under_test.db_path), daemon_under_test.db_path);
    char *code = read_file(setup_code_path);
    const struct {
        const char *name;
        const char *value;
    } values[] = {{"{setup_code}", code ? code : ""}, {"{new_token_id}", new_token_id}};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        char *at;
        size_t value_len = strcspn(values[i].value, "\r\n");
        while ((at = strstr(text, values[i].name)) != NULL) {
            char rest[70000];
            snprintf(rest, sizeof rest, "%s", at + strlen(values[i].name));
            snprintf(at, size - (size_t)(at - text), "%.*s%s", (int)value_len, values[i].value,
                     rest);
        }
    }
    free(code);
}

/* The request an operation's examples describe, with overrides from an x-test-errors entry. */
struct request {
    char path[512];
    char *body; /* malloc'd or NULL */
};

static void build_request(const char *pattern, const cJSON *op, const cJSON *override,
                          struct request *out)
{
    snprintf(out->path, sizeof out->path, "%s", pattern);
    char query[256] = "";
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(op, "parameters");
    const cJSON *over_params = cJSON_GetObjectItemCaseSensitive(override, "params");
    const cJSON *p;
    cJSON_ArrayForEach(p, params)
    {
        const char *in = harness_text(p, "in"), *name = harness_text(p, "name");
        const cJSON *example = cJSON_GetObjectItemCaseSensitive(p, "example");
        const cJSON *over = cJSON_GetObjectItemCaseSensitive(over_params, name);
        if (over)
            example = over;
        if (!cJSON_IsString(example))
            continue;
        if (strcmp(in, "path") == 0) {
            char placeholder[64], *at;
            snprintf(placeholder, sizeof placeholder, "{%s}", name);
            if ((at = strstr(out->path, placeholder)) != NULL) {
                char rest[256];
                snprintf(rest, sizeof rest, "%s", at + strlen(placeholder));
                snprintf(at, sizeof out->path - (size_t)(at - out->path), "%s%s",
                         example->valuestring, rest);
            }
        } else if (strcmp(in, "query") == 0) {
            size_t len = strlen(query);
            snprintf(query + len, sizeof query - len, "%s%s=%s", len ? "&" : "", name,
                     example->valuestring);
        }
    }
    const cJSON *over_query = cJSON_GetObjectItemCaseSensitive(override, "query");
    if (cJSON_IsString(over_query))
        snprintf(query, sizeof query, "%s", over_query->valuestring);
    if (query[0]) {
        size_t len = strlen(out->path);
        snprintf(out->path + len, sizeof out->path - len, "?%s", query);
    }
    substitute(out->path, sizeof out->path);
    out->body = NULL;
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(override, "body");
    if (!body) {
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(op, "requestBody"), "content");
        body = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(content, "application/json"), "example");
    }
    if (!body)
        return;
    const cJSON *from = cJSON_GetObjectItemCaseSensitive(body, "$from");
    if (cJSON_IsString(from)) {
        /* {"$from": "GET /api/v1/config"}: what that GET answers. */
        struct http_reply r = harness_http(&daemon_under_test, "GET",
                                           strchr(from->valuestring, ' ') + 1, NULL, 0, NULL);
        assert_int_equal(r.status, 200);
        out->body = r.body;
        return;
    }
    char *text = cJSON_PrintUnformatted(body);
    out->body = calloc(1, strlen(text) + 256);
    strcpy(out->body, text);
    free(text);
    substitute(out->body, strlen(out->body) + 256);
}

/* A GET of an event stream: its status and content type, after a moment. */
static long get_stream(const char *path, char *content_type, size_t size)
{
    char url[512], auth[160];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", daemon_under_test.port, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", daemon_under_test.token);
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = daemon_under_test.token[0] ? curl_slist_append(NULL, auth) : NULL;
    FILE *sink = fopen("/dev/null", "w");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 1500L);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    curl_easy_perform(curl); /* times out: the stream does not end */
    long status = 0;
    const char *type = NULL;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
    snprintf(content_type, size, "%s", type ? type : "");
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    fclose(sink);
    return status;
}

/* The response an operation describes for status, with $ref resolved; NULL when none. */
static const cJSON *described_response(const cJSON *op, long status)
{
    char key[8];
    snprintf(key, sizeof key, "%ld", status);
    const cJSON *response =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(op, "responses"), key);
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(response, "$ref");
    return ref ? resolve_ref(ref->valuestring) : response;
}

static int failures;

/* Checks one answer against what op describes for want_status. */
static void check_answer(const char *method, const char *path, const cJSON *op, long want_status,
                         const struct http_reply *r)
{
    if (r->status != want_status) {
        fprintf(stderr, "%s %s: status %ld, expected %ld: %.300s\n", method, path, r->status,
                want_status, r->body ? r->body : "");
        failures++;
        return;
    }
    const cJSON *response = described_response(op, r->status);
    if (!response) {
        fprintf(stderr, "%s %s: status %ld is not described\n", method, path, r->status);
        failures++;
        return;
    }
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(response, "content");
    if (!content) {
        if (r->size != 0) {
            fprintf(stderr, "%s %s: %ld has a body, described without one\n", method, path,
                    r->status);
            failures++;
        }
        return;
    }
    const cJSON *json = cJSON_GetObjectItemCaseSensitive(content, "application/json");
    if (!json) {
        /* Text (Prometheus metrics): the content type is what is described. */
        if (!cJSON_GetObjectItemCaseSensitive(content, "text/plain") ||
            strncmp(r->content_type, "text/plain", 10) != 0) {
            fprintf(stderr, "%s %s: content type %s is not described\n", method, path,
                    r->content_type);
            failures++;
        }
        return;
    }
    if (strncmp(r->content_type, "application/json", 16) != 0) {
        fprintf(stderr, "%s %s: content type %s, described as JSON\n", method, path,
                r->content_type);
        failures++;
        return;
    }
    cJSON *value = cJSON_Parse(r->body);
    char why[512] = "";
    if (!value) {
        fprintf(stderr, "%s %s: the answer is not JSON\n", method, path);
        failures++;
    } else if (!validate(cJSON_GetObjectItemCaseSensitive(json, "schema"), value, "$", why,
                         sizeof why)) {
        fprintf(stderr, "%s %s (%ld): %s\n", method, path, r->status, why);
        failures++;
    }
    cJSON_Delete(value);
}

static long first_success(const cJSON *op)
{
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(op, "x-test-status");
    if (cJSON_IsNumber(want))
        return (long)want->valuedouble;
    for (const cJSON *r = cJSON_GetObjectItemCaseSensitive(op, "responses")->child; r; r = r->next)
        if (r->string[0] == '2')
            return strtol(r->string, NULL, 10);
    fail_msg("operation without a 2xx response");
    return 0;
}

static void call(const char *method, const char *pattern, const cJSON *op, const cJSON *override,
                 long want_status, bool with_token)
{
    struct request req;
    build_request(pattern, op, override, &req);
    char saved[sizeof daemon_under_test.token];
    memcpy(saved, daemon_under_test.token, sizeof saved);
    if (!with_token)
        daemon_under_test.token[0] = '\0';
    char upper[16];
    snprintf(upper, sizeof upper, "%s", method);
    for (char *c = upper; *c; c++)
        *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
    const cJSON *content =
        cJSON_GetObjectItemCaseSensitive(described_response(op, want_status), "content");
    if (cJSON_GetObjectItemCaseSensitive(content, "text/event-stream")) {
        char type[128];
        long status = get_stream(req.path, type, sizeof type);
        if (status != want_status || strncmp(type, "text/event-stream", 17) != 0) {
            fprintf(stderr, "%s %s: %ld %s, expected %ld text/event-stream\n", upper, req.path,
                    status, type, want_status);
            failures++;
        }
    } else {
        struct http_reply r = harness_http(&daemon_under_test, upper, req.path, req.body,
                                           req.body ? strlen(req.body) : 0, NULL);
        check_answer(upper, req.path, op, want_status, &r);
        /* An x-test-errors entry may name the error's code (docs/api.md, "Errors"). */
        const char *want_code = harness_text(override, "code");
        if (want_code[0]) {
            cJSON *answer = cJSON_Parse(r.body);
            if (strcmp(harness_text(answer, "code"), want_code) != 0) {
                fprintf(stderr, "%s %s: code \"%s\", expected \"%s\"\n", upper, req.path,
                        harness_text(answer, "code"), want_code);
                failures++;
            }
            cJSON_Delete(answer);
        }
        if (strcmp(pattern, "/api/v1/auth/tokens") == 0 && r.status == 201) {
            cJSON *made = cJSON_Parse(r.body);
            snprintf(new_token_id, sizeof new_token_id, "%d", (int)harness_number(made, "id"));
            cJSON_Delete(made);
        }
        http_reply_free(&r);
    }
    memcpy(daemon_under_test.token, saved, sizeof saved);
    free(req.body);
}

static void test_every_operation_answers_as_described(void **state)
{
    (void)state;
    failures = 0;
    int operations = 0, error_calls = 0;
    const cJSON *paths = cJSON_GetObjectItemCaseSensitive(doc, "paths");
    for (const cJSON *p = paths->child; p; p = p->next) {
        for (const cJSON *op = p->child; op; op = op->next) {
            bool is_public = strcmp(harness_text(op, "x-access"), "public") == 0;
            /* Errors first: a success may change what they answer (a setup is done once). */
            const cJSON *e;
            cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(op, "x-test-errors"))
            {
                call(op->string, p->string, op, e, (long)harness_number(e, "status"), true);
                error_calls++;
            }
            if (!is_public) {
                call(op->string, p->string, op, NULL, 401, false);
                error_calls++;
            }
            call(op->string, p->string, op, NULL, first_success(op), true);
            operations++;
        }
    }
    fprintf(stderr, "%d operations and %d error answers checked\n", operations, error_calls);
    assert_int_equal(failures, 0);
}

/* Bodies beyond http.max_body_bytes (64 KiB by default): 413 on every route that takes one. */
static void test_too_large_bodies(void **state)
{
    (void)state;
    failures = 0;
    size_t size = 70 * 1024;
    char *body = malloc(size + 1);
    memset(body, ' ', size);
    body[size] = '\0';
    body[0] = '{';
    body[size - 1] = '}';
    const cJSON *paths = cJSON_GetObjectItemCaseSensitive(doc, "paths");
    for (const cJSON *p = paths->child; p; p = p->next) {
        for (const cJSON *op = p->child; op; op = op->next) {
            if (!cJSON_GetObjectItemCaseSensitive(op, "requestBody"))
                continue;
            struct request req;
            build_request(p->string, op, NULL, &req);
            free(req.body);
            char upper[16];
            lower(op->string, upper, sizeof upper);
            for (char *c = upper; *c; c++)
                *c = (char)(*c - 32);
            struct http_reply r =
                harness_http(&daemon_under_test, upper, req.path, body, size, NULL);
            check_answer(upper, req.path, op, 413, &r);
            http_reply_free(&r);
        }
    }
    free(body);
    assert_int_equal(failures, 0);
}

static void test_unknown_path(void **state)
{
    (void)state;
    failures = 0;
    struct http_reply r =
        harness_http(&daemon_under_test, "GET", "/api/v1/no-such-thing", NULL, 0, NULL);
    /* Any operation's 404 is the shared error response. */
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "paths"),
                                         "/api/v1/plan"),
        "get");
    check_answer("GET", "/api/v1/no-such-thing", op, 404, &r);
    http_reply_free(&r);
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validator_refuses),
        cmocka_unit_test(test_every_route_described),
        cmocka_unit_test(test_served_description),
        cmocka_unit_test(test_every_operation_answers_as_described),
        cmocka_unit_test(test_too_large_bodies),
        cmocka_unit_test(test_unknown_path),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
