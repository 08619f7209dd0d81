/* Secrets in the config against the real balkonsolard (issue 15): a client with a login
 * cannot have a stored secret sent to its own server by changing where an item points
 * while keeping the secret masked (a local fake plays that server and must never see the
 * token); GET /api/v1/config, open without login in read_without_login mode, shows no
 * secret; bad input (text that is not UTF-8, a time of 1e300 seconds, a URL with a
 * password) is refused by field, by --check-config and PUT alike, without echoing the
 * password. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_http.h"
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every secret of the config below; none may appear in an answer or the log. */
static const char *const SECRETS[] = {
    "tibber-SECRET-1", "BOT-SECRET-2",   "WEBHOOK-SECRET-3", "SIG-SECRET-4",
    "BEARER-SECRET-5", "TOPIC-SECRET-6", "GOTIFY-PW-7",      "GOTIFY-TOK-8",
};

/* A Tibber provider and four channels, all pointing at the fake "home" server. */
static void write_config(struct daemon_proc *d, const struct fake_http *home, bool open_reads)
{
    const char *base = fake_http_base(home);
    char json[4096];
    snprintf(
        json, sizeof json,
        "{\n"
        "  \"site\": {\"name\": \"secrets\", \"latitude\": 52.52, \"longitude\": 13.41,"
        " \"timezone\": \"Europe/Berlin\"},\n"
        "  \"control\": {\"enabled\": false},\n"
        "  \"http\": {\"read_without_login\": %s},\n"
        "  \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
        "  \"providers\": [{\"id\": \"tib\", \"type\": \"tibber\", \"base_url\": \"%s/tib\","
        " \"token\": \"tibber-SECRET-1\"}],\n"
        "  \"notifications\": {\"channels\": [\n"
        "    {\"id\": \"tg\", \"type\": \"telegram\", \"url\": \"%s/tg\","
        " \"token\": \"123:BOT-SECRET-2\", \"chat_id\": \"42\"},\n"
        "    {\"id\": \"wh\", \"type\": \"webhook\","
        " \"url\": \"%s/hook/WEBHOOK-SECRET-3?sig=SIG-SECRET-4\", \"token\": "
        "\"BEARER-SECRET-5\"},\n"
        "    {\"id\": \"nt\", \"type\": \"ntfy\", \"url\": \"%s\", \"topic\": "
        "\"TOPIC-SECRET-6\"},\n"
        "    {\"id\": \"gt\", \"type\": \"gotify\","
        " \"url\": \"http://gotuser:GOTIFY-PW-7@127.0.0.1:%d\", \"token\": \"GOTIFY-TOK-8\"}]}\n"
        "}\n",
        open_reads ? "true" : "false", base, base, base, base, fake_http_port(home));
    harness_write_config(d, json);
}

static void assert_no_secret(const char *what, const char *text)
{
    for (size_t i = 0; i < sizeof SECRETS / sizeof SECRETS[0]; i++)
        if (strstr(text, SECRETS[i]))
            fail_msg("%s shows \"%s\":\n%s", what, SECRETS[i], text);
}

static cJSON *channel(const cJSON *config, int index)
{
    return cJSON_GetArrayItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(config, "notifications"), "channels"), index);
}

static void set_string(cJSON *object, const char *key, const char *value)
{
    assert_true(cJSON_ReplaceItemInObject(object, key, cJSON_CreateString(value)));
}

static struct http_reply put_json(struct daemon_proc *d, const cJSON *json)
{
    char *body = cJSON_PrintUnformatted(json);
    struct http_reply reply = harness_http(d, "PUT", "/api/v1/config", body, strlen(body), NULL);
    free(body);
    return reply;
}

static bool has_error(const cJSON *answer, const char *path, const char *message_part)
{
    const cJSON *error;
    cJSON_ArrayForEach(error, cJSON_GetObjectItem(answer, "errors"))
    {
        if (strcmp(harness_text(error, "path"), path) == 0 &&
            strstr(harness_text(error, "message"), message_part))
            return true;
    }
    return false;
}

/* Waits until the route has a request whose Authorization is want; fails otherwise. */
static void wait_authorization(struct fake_http *fake, const char *prefix, const char *want)
{
    char authorization[256] = "";
    for (int waited = 0; waited < 10000; waited += 100) {
        fake_http_last(fake, prefix, NULL, 0, NULL, 0, authorization, sizeof authorization);
        if (strcmp(authorization, want) == 0)
            return;
        harness_sleep_ms(100);
    }
    fail_msg("%s never got \"%s\" (last \"%s\")", prefix, want, authorization);
}

static void test_a_masked_secret_does_not_follow_a_new_url(void **state)
{
    struct harness_fixture *f = *state;
    struct daemon_proc *d = &f->daemon;
    struct fake_http *home = f->fakes[0], *attacker = f->fakes[1];
    harness_route_json(home, "/", 200, "{}");
    harness_route_json(attacker, "/", 200, "{}");
    write_config(d, home, false);
    assert_true(harness_start(d, NULL));
    /* The provider does send its token home: the path the attack would take is live. */
    wait_authorization(home, "/", "Bearer tibber-SECRET-1");

    /* GET, then point every item at the attacker's server, keeping the masks. */
    cJSON *config = harness_get_json(d, "/api/v1/config");
    char *shown = cJSON_PrintUnformatted(config);
    assert_no_secret("GET /api/v1/config", shown);
    free(shown);
    const char *evil = fake_http_base(attacker);
    char url[300];
    cJSON *provider = cJSON_GetArrayItem(cJSON_GetObjectItem(config, "providers"), 0);
    assert_string_equal(harness_text(provider, "token"), "***");
    snprintf(url, sizeof url, "%s/tib", evil);
    set_string(provider, "base_url", url);
    snprintf(url, sizeof url, "%s/tg", evil);
    set_string(channel(config, 0), "url", url);
    snprintf(url, sizeof url, "%s/***", evil);
    set_string(channel(config, 1), "url", url);
    set_string(channel(config, 2), "url", evil);
    set_string(channel(config, 3), "url", evil);
    struct http_reply reply = put_json(d, config);
    assert_int_equal(reply.status, 400);
    cJSON *answer = cJSON_Parse(reply.body);
    assert_non_null(answer);
    assert_true(has_error(answer, "providers[0].token", "\"base_url\" changed"));
    assert_true(has_error(answer, "notifications.channels[0].token", "\"url\" changed"));
    assert_true(has_error(answer, "notifications.channels[1].url", "hidden part"));
    assert_true(has_error(answer, "notifications.channels[2].topic", "\"url\" changed"));
    assert_true(has_error(answer, "notifications.channels[3].token", "\"url\" changed"));
    assert_no_secret("the refusal", reply.body);
    cJSON_Delete(answer);
    http_reply_free(&reply);

    /* Nothing changed: the attacker's server saw nothing, the provider still goes home. */
    harness_sleep_ms(1500);
    assert_int_equal(fake_http_hits(attacker, "/"), 0);
    cJSON *running = harness_get_json(d, "/api/v1/config");
    provider = cJSON_GetArrayItem(cJSON_GetObjectItem(running, "providers"), 0);
    assert_non_null(strstr(harness_text(provider, "base_url"), fake_http_base(home)));
    cJSON_Delete(running);

    /* With the secret typed in anew, the same PUT is the owner's choice and is applied:
     * the provider then sends only what was typed to the new server. */
    provider = cJSON_GetArrayItem(cJSON_GetObjectItem(config, "providers"), 0);
    set_string(provider, "token", "typed-anew");
    set_string(channel(config, 0), "token", "123:typed");
    snprintf(url, sizeof url, "%s/hook/new", evil);
    set_string(channel(config, 1), "url", url);
    set_string(channel(config, 1), "token", "");
    set_string(channel(config, 2), "topic", "typed-topic");
    set_string(channel(config, 3), "token", "typed-gotify");
    reply = put_json(d, config);
    if (reply.status != 200)
        fail_msg("PUT with the secrets anew: %ld %s", reply.status, reply.body);
    http_reply_free(&reply);
    wait_authorization(attacker, "/", "Bearer typed-anew");
    char headers[4096];
    fake_http_last_headers(attacker, "/", headers, sizeof headers);
    assert_no_secret("the new server's request", headers);
    cJSON_Delete(config);
    assert_no_secret("the log", harness_log(d));
    harness_stop_cleanly(d, 5000);
}

static void test_open_reads_show_no_secret(void **state)
{
    struct harness_fixture *f = *state;
    struct daemon_proc *d = &f->daemon;
    harness_route_json(f->fakes[0], "/", 200, "{}");
    d->anonymous = true; /* no token: what anyone on the LAN sees */
    write_config(d, f->fakes[0], true);
    assert_true(harness_start(d, NULL));
    struct http_reply reply = harness_http(d, "GET", "/api/v1/config", NULL, 0, NULL);
    assert_int_equal(reply.status, 200);
    assert_no_secret("GET /api/v1/config without login", reply.body);
    cJSON *config = cJSON_Parse(reply.body);
    assert_non_null(config);
    char want[300];
    /* Where each item goes stays visible. */
    snprintf(want, sizeof want, "%s/***", fake_http_base(f->fakes[0]));
    assert_string_equal(harness_text(channel(config, 1), "url"), want);
    assert_string_equal(harness_text(channel(config, 1), "token"), "***");
    assert_string_equal(harness_text(channel(config, 2), "url"), fake_http_base(f->fakes[0]));
    assert_string_equal(harness_text(channel(config, 2), "topic"), "***");
    assert_string_equal(harness_text(channel(config, 3), "url"), want);
    assert_string_equal(harness_text(channel(config, 0), "token"), "***");
    cJSON_Delete(config);
    http_reply_free(&reply);
    /* The provider's last request shows its base_url's path (a proxy's key) no more than
     * the config does. */
    const char *url = "";
    cJSON *providers = NULL;
    for (int waited = 0; waited < 10000 && !url[0]; waited += 100) {
        cJSON_Delete(providers);
        harness_sleep_ms(100);
        providers = harness_get_json(d, "/api/v1/providers");
        const cJSON *url_item = cJSON_GetObjectItem(
            cJSON_GetArrayItem(cJSON_GetObjectItem(providers, "providers"), 0), "url");
        url = cJSON_IsString(url_item) ? url_item->valuestring : "";
    }
    assert_string_equal(url, want);
    cJSON_Delete(providers);
    /* Nor may anyone change it without a login. */
    reply = harness_http(d, "PUT", "/api/v1/config", "{}", 2, NULL);
    assert_true(reply.status == 401 || reply.status == 403);
    http_reply_free(&reply);
    assert_no_secret("the log", harness_log(d));
}

static void test_bad_input_is_refused_by_field(void **state)
{
    struct daemon_proc *d = *state;
    char out[8192];
    /* Text that is not UTF-8. */
    harness_write_config(d, "{\"site\": {\"name\": \"\xff\"}}");
    assert_int_not_equal(harness_check_config(d, out, sizeof out), 0);
    assert_non_null(strstr(out, "site.name: must be valid UTF-8 text"));
    /* A time that no int64_t of milliseconds holds (undefined behaviour before). */
    harness_write_config(d, "{\"simulation\": {\"start\": \"1e300\"}}");
    assert_int_not_equal(harness_check_config(d, out, sizeof out), 0);
    assert_non_null(strstr(out, "simulation.start: must be a time between the years 0000 and"));
    /* A URL with a password in it, of the wrong scheme: named, not echoed. */
    harness_write_config(d, "{\"notifications\": {\"channels\": [{\"id\": \"w\", \"type\": "
                            "\"webhook\", \"url\": \"gopher://carol:PW-9@h.example/x\"}]}}");
    assert_int_not_equal(harness_check_config(d, out, sizeof out), 0);
    assert_non_null(strstr(out, "notifications.channels[0].url: must start with http://"));
    assert_null(strstr(out, "PW-9"));
    assert_null(strstr(out, "carol"));

    /* The same through PUT. */
    harness_write_config(d, "{\"site\": {\"name\": \"fine\"}, \"control\": {\"enabled\": false}}");
    assert_true(harness_start(d, NULL));
    const char *bodies[][3] = {
        {"{\"site\": {\"name\": \"\xff\"}}", "site.name", "must be valid UTF-8 text"},
        {"{\"simulation\": {\"start\": \"1e300\"}}", "simulation.start", "must be a time between"},
        {"{\"notifications\": {\"channels\": [{\"id\": \"w\", \"type\": \"webhook\", \"url\": "
         "\"gopher://carol:PW-9@h.example/x\"}]}}",
         "notifications.channels[0].url", "must start with http://"},
        {"{\"providers\": [{\"id\": \"a\", \"type\": \"awattar\", \"base_url\": "
         "\"https://carol:PW-9@h.example/x\"}]}",
         "providers[0].base_url", "must not hold a user name or password"},
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        struct http_reply reply =
            harness_http(d, "PUT", "/api/v1/config", bodies[i][0], strlen(bodies[i][0]), NULL);
        assert_int_equal(reply.status, 400);
        cJSON *answer = cJSON_Parse(reply.body); /* the answer itself is valid UTF-8 JSON */
        if (!answer || !has_error(answer, bodies[i][1], bodies[i][2]))
            fail_msg("PUT %zu: want %s: %s, got %s", i, bodies[i][1], bodies[i][2], reply.body);
        assert_null(strstr(reply.body, "PW-9"));
        assert_null(strstr(reply.body, "\xff"));
        cJSON_Delete(answer);
        http_reply_free(&reply);
    }
    assert_null(strstr(harness_log(d), "PW-9"));
    cJSON *config = harness_get_json(d, "/api/v1/config");
    assert_string_equal(harness_text(cJSON_GetObjectItem(config, "site"), "name"), "fine");
    cJSON_Delete(config);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_masked_secret_does_not_follow_a_new_url,
                                        harness_setup_fakes, harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_open_reads_show_no_secret, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_bad_input_is_refused_by_field, harness_setup,
                                        harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
