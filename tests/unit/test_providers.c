/* Every provider against its fixtures: tests/fixtures/providers/<type>/<case>/ holds the
 * provider's answer in its real format and expected.json, the normalised result. The test
 * parses the answer with the provider's own parser, normalises it, and compares slot by
 * slot, the rejected entries and the error token.
 * Set PROVIDER_FILTER=awattar to run one provider's cases only. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "balkon/config.h"
#include "balkon/provider.h"
#include "balkon/timeutil.h"
#include "fake_http.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char fixtures[512];

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Reads status.txt / headers.txt of a case into a reply skeleton. */
static void read_meta(const char *dir, struct provider_reply *reply)
{
    char path[1200];
    reply->status = 200;
    reply->retry_after_s = -1;
    snprintf(path, sizeof path, "%s/status.txt", dir);
    char *status = fake_read_file(path, NULL);
    if (status) {
        reply->status = atol(status);
        free(status);
    }
    snprintf(path, sizeof path, "%s/headers.txt", dir);
    char *headers = fake_read_file(path, NULL);
    if (headers) {
        const char *ra = strstr(headers, "Retry-After:");
        if (ra)
            reply->retry_after_s = atol(ra + strlen("Retry-After:"));
        free(headers);
    }
}

static char *read_body(const char *dir, const char *name, size_t *size)
{
    static const char *const extensions[] = {"json", "xml", "txt", "html"};
    char path[1200];
    if (name) {
        snprintf(path, sizeof path, "%s/%s", dir, name);
        return fake_read_file(path, size);
    }
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/response.%s", dir, extensions[i]);
        if (exists(path))
            return fake_read_file(path, size);
    }
    return NULL;
}

/* Replaces every "{{BASE}}" in body (size bytes; takes ownership) with base. */
static char *replace_base(char *body, size_t *size, const char *base)
{
    static const char marker[] = "{{BASE}}";
    size_t marker_len = sizeof marker - 1, base_len = strlen(base), count = 0;
    for (const char *p = strstr(body, marker); p; p = strstr(p + marker_len, marker))
        count++;
    if (!count)
        return body;
    size_t out_size = *size + count * base_len - count * marker_len;
    char *out = malloc(out_size + 1), *w = out;
    assert_non_null(out);
    const char *r = body;
    for (const char *p = strstr(r, marker); p; p = strstr(r, marker)) {
        memcpy(w, r, (size_t)(p - r));
        w += p - r;
        memcpy(w, base, base_len);
        w += base_len;
        r = p + marker_len;
    }
    size_t rest = strlen(r);
    memcpy(w, r, rest + 1);
    free(body);
    *size = out_size;
    return out;
}

static void parse_case(const struct balkon_provider *provider, const struct provider_env *env,
                       const char *dir, struct provider_result *result)
{
    struct provider_reply reply;
    read_meta(dir, &reply);
    char path[1200];
    snprintf(path, sizeof path, "%s/page1.json", dir);
    if (exists(path)) { /* paginated: follow next through the pages */
        for (int page = 1;; page++) {
            char name[32];
            snprintf(name, sizeof name, "page%d.json", page);
            size_t size;
            char *body = read_body(dir, name, &size);
            if (!body)
                break;
            /* Pages link to the server that serves them: here, the provider's own API. */
            body = replace_base(body, &size, provider->default_base_url);
            result->next_url[0] = '\0';
            reply.body = body;
            reply.body_size = size;
            provider->parse(env, 0, &reply, result);
            free(body);
            if (!result->next_url[0] || result->error)
                break;
        }
        return;
    }
    size_t size;
    char *body = read_body(dir, NULL, &size);
    if (!body)
        fail_msg("%s: no response file", dir);
    reply.body = body;
    reply.body_size = size;
    provider->parse(env, 0, &reply, result);
    free(body);
}

static double json_number_or_nan(const cJSON *item)
{
    return cJSON_IsNumber(item) ? item->valuedouble : NAN;
}

static void expect_close(const char *what, const char *where, double expected, double actual)
{
    bool both_nan = isnan(expected) && isnan(actual);
    if (!both_nan && !(fabs(expected - actual) <= 1e-6))
        fail_msg("%s: %s: expected %.9g, got %.9g", where, what, expected, actual);
}

static int run_case(const struct balkon_provider *provider, const char *type, const char *name)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s/%s", fixtures, type, name);
    char path[1200];
    snprintf(path, sizeof path, "%s/expected.json", dir);
    char *text = fake_read_file(path, NULL);
    if (!text)
        return 0; /* not a case directory */
    cJSON *expected = cJSON_Parse(text);
    free(text);
    assert_non_null(expected);

    struct balkon_config config;
    balkon_config_defaults(&config);
    struct balkon_provider_config pc = {.enabled = true, .vat_pct = 19};
    snprintf(pc.type, sizeof pc.type, "%s", type);
    snprintf(pc.id, sizeof pc.id, "%s", type);
    struct provider_env env = {
        .provider = &pc, .config = &config, .now_ms = INT64_C(1782036000000)};
    struct provider_result result;
    provider_result_init(&result);
    parse_case(provider, &env, dir, &result);
    struct provider_slots slots = {0};
    if (result.error == PROVIDER_OK) {
        struct provider_limits limits = provider_part_limits(provider, &env, 0);
        assert_int_equal(provider_normalize(&result, &limits, &slots), 0);
    }

    char where[1100];
    snprintf(where, sizeof where, "%s/%s", type, name);
    const cJSON *error = cJSON_GetObjectItem(expected, "error");
    const char *expected_error = cJSON_IsString(error) ? error->valuestring : "ok";
    if (strcmp(expected_error, provider_error_token(result.error)) != 0)
        fail_msg("%s: expected error \"%s\", got \"%s\" (%s)", where, expected_error,
                 provider_error_token(result.error), result.detail);
    const cJSON *retry = cJSON_GetObjectItem(expected, "retry_after_s");
    if (cJSON_IsNumber(retry) && result.retry_after_s != (long)retry->valuedouble)
        fail_msg("%s: expected retry_after_s %g, got %ld", where, retry->valuedouble,
                 result.retry_after_s);
    const cJSON *retry_at = cJSON_GetObjectItem(expected, "retry_at");
    if (cJSON_IsString(retry_at)) {
        int64_t at_ms;
        assert_int_equal(balkon_parse_time(retry_at->valuestring, &at_ms), 0);
        if (result.retry_at_ms != at_ms)
            fail_msg("%s: expected retry_at %s, got %lld", where, retry_at->valuestring,
                     (long long)result.retry_at_ms);
    }
    const cJSON *currency = cJSON_GetObjectItem(expected, "currency");
    if (cJSON_IsString(currency) && strcmp(currency->valuestring, result.currency) != 0)
        fail_msg("%s: expected currency %s, got %s", where, currency->valuestring, result.currency);
    const cJSON *substitute = cJSON_GetObjectItem(expected, "substitute");
    if (cJSON_IsBool(substitute) && cJSON_IsTrue(substitute) != result.substitute)
        fail_msg("%s: substitute flag differs", where);

    const cJSON *expected_slots = cJSON_GetObjectItem(expected, "slots");
    size_t n = (size_t)cJSON_GetArraySize(expected_slots);
    if (n != slots.count)
        fail_msg("%s: expected %zu slots, got %zu", where, n, slots.count);
    size_t i = 0;
    const cJSON *slot;
    cJSON_ArrayForEach(slot, expected_slots)
    {
        char slot_where[1400];
        int64_t start_ms;
        assert_int_equal(
            balkon_parse_time(cJSON_GetObjectItem(slot, "start")->valuestring, &start_ms), 0);
        snprintf(slot_where, sizeof slot_where, "%s slot %zu (%s)", where, i,
                 cJSON_GetObjectItem(slot, "start")->valuestring);
        if (slots.items[i].start_ms != start_ms) {
            char iso[BALKON_ISO_MAX];
            fail_msg("%s: got start %s", slot_where,
                     balkon_format_iso(slots.items[i].start_ms, iso, sizeof iso));
        }
        expect_close("value", slot_where, json_number_or_nan(cJSON_GetObjectItem(slot, "value")),
                     slots.items[i].value);
        if (cJSON_GetObjectItem(slot, "p10"))
            expect_close("p10", slot_where, json_number_or_nan(cJSON_GetObjectItem(slot, "p10")),
                         slots.items[i].p10);
        if (cJSON_GetObjectItem(slot, "p90"))
            expect_close("p90", slot_where, json_number_or_nan(cJSON_GetObjectItem(slot, "p90")),
                         slots.items[i].p90);
        static const char *const aux_fields[] = {"signal", "co2_g_per_kwh", "temperature_c"};
        for (size_t f = 0; f < 3; f++)
            if (cJSON_GetObjectItem(slot, aux_fields[f]))
                expect_close(aux_fields[f], slot_where,
                             json_number_or_nan(cJSON_GetObjectItem(slot, aux_fields[f])),
                             slots.items[i].aux);
        i++;
    }

    const cJSON *rejected = cJSON_GetObjectItem(expected, "rejected");
    size_t expected_rejected = (size_t)cJSON_GetArraySize(rejected);
    if (result.error == PROVIDER_OK && expected_rejected != result.rejected_count)
        fail_msg("%s: expected %zu rejected entries, got %zu", where, expected_rejected,
                 result.rejected_count);
    i = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, rejected)
    {
        if (i >= result.rejected_count)
            break;
        if (result.rejected[i].index != (int)cJSON_GetObjectItem(r, "index")->valuedouble ||
            strcmp(result.rejected[i].reason, cJSON_GetObjectItem(r, "reason")->valuestring) != 0)
            fail_msg("%s: rejected[%zu]: expected %d %s, got %d %s", where, i,
                     (int)cJSON_GetObjectItem(r, "index")->valuedouble,
                     cJSON_GetObjectItem(r, "reason")->valuestring, result.rejected[i].index,
                     result.rejected[i].reason);
        i++;
    }
    provider_slots_free(&slots);
    provider_result_free(&result);
    cJSON_Delete(expected);
    return 1;
}

static void test_fixtures(void **state)
{
    const char *filter = getenv("PROVIDER_FILTER");
    DIR *providers = opendir(fixtures);
    assert_non_null(providers);
    struct dirent *p;
    int cases = 0;
    while ((p = readdir(providers))) {
        if (p->d_name[0] == '.' || (filter && strcmp(filter, p->d_name) != 0))
            continue;
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/%s", fixtures, p->d_name);
        DIR *case_dir = opendir(dir);
        if (!case_dir)
            continue;
        const struct balkon_provider *provider = balkon_provider_find(p->d_name);
        if (!provider)
            fail_msg("fixtures for unknown provider %s", p->d_name);
        if (!provider->parse)
            fail_msg("provider %s has no parser", p->d_name);
        struct dirent *c;
        while ((c = readdir(case_dir))) {
            if (c->d_name[0] == '.')
                continue;
            int ran = run_case(provider, p->d_name, c->d_name);
            if (ran)
                print_message("  %s/%s ok\n", p->d_name, c->d_name);
            cases += ran;
        }
        closedir(case_dir);
    }
    closedir(providers);
    print_message("%d fixture cases passed\n", cases);
    assert_true(cases > 0);
}

int main(void)
{
    const char *base = getenv("BALKON_FIXTURES");
    snprintf(fixtures, sizeof fixtures, "%s/providers", base ? base : "tests/fixtures");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),
    };
    return cmocka_run_group_tests_name("providers", tests, NULL, NULL);
}
