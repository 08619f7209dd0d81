/* PUT /api/v1/config against the real balkonsolard: an invalid config is refused with
 * every problem by its path and nothing is written; a valid one rewrites the file
 * atomically (the old one kept as .bak), is applied without a restart as SIGHUP would,
 * keeps the secrets the client only saw masked, and names the options that need a
 * restart. The case without a config file (409) is in tests/unit/test_http_config_nofile.c:
 * the command line always asks for --config. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Comments, a device password and an MQTT password (the client disabled), a secret taken
 * from the environment: the secrets must survive a round trip through GET and PUT. */
static const char *CONFIG =
    "// The PUT test's site.\n"
    "{\n"
    "  \"site\": {\"name\": \"Before\", \"latitude\": 52.52, \"longitude\": 13.40, \"timezone\": "
    "\"Europe/Berlin\"},\n"
    "  \"battery\": {\"capacity_wh\": 2240},\n"
    "  \"simulation\": {\"speed\": 60, \"start\": \"2026-06-21T08:00:00Z\", \"seed\": 1},\n"
    "  \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\", \"password\": \"s3cret\"},\n"
    "              {\"id\": \"sim2\", \"type\": \"simulator\", \"password\": "
    "\"env:BALKON_TEST_SECRET\"}],\n"
    "  \"mqtt\": {\"password\": \"topsecret\"}\n"
    "}\n";

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buffer[1 << 16];
    size_t n = fread(buffer, 1, sizeof buffer - 1, f);
    fclose(f);
    buffer[n] = '\0';
    return strdup(buffer);
}

static cJSON *read_json_file(const char *path)
{
    char *text = read_file(path);
    assert_non_null(text);
    cJSON_Minify(text); /* the file may have comments */
    cJSON *json = cJSON_Parse(text);
    free(text);
    assert_non_null(json);
    return json;
}

static struct http_reply put_json(struct daemon_proc *d, const cJSON *json)
{
    char *body = cJSON_PrintUnformatted(json);
    struct http_reply reply = harness_http(d, "PUT", "/api/v1/config", body, strlen(body), NULL);
    free(body);
    return reply;
}

static cJSON *item(const cJSON *json, const char *section, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(json, section), key);
}

static cJSON *device(const cJSON *config, int index, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(config, "devices"), index), key);
}

static bool has_error(const cJSON *answer, const char *path, const char *message_part)
{
    const cJSON *error;
    cJSON_ArrayForEach(error, cJSON_GetObjectItem(answer, "errors"))
    {
        if (strcmp(cJSON_GetObjectItem(error, "path")->valuestring, path) == 0 &&
            strstr(cJSON_GetObjectItem(error, "message")->valuestring, message_part))
            return true;
    }
    return false;
}

static void start(struct daemon_proc *d)
{
    setenv("BALKON_TEST_SECRET", "from-the-environment", 1);
    harness_write_config(d, CONFIG);
    assert_true(harness_start(d, NULL));
}

static void test_invalid_config_changes_nothing(void **state)
{
    struct daemon_proc *d = *state;
    start(d);
    cJSON *config = harness_get_json(d, "/api/v1/config");
    assert_non_null(config);
    cJSON_SetNumberValue(item(config, "battery", "capacity_wh"), -5);
    cJSON_AddNumberToObject(cJSON_GetObjectItem(config, "site"), "lattitude", 50);
    struct http_reply reply = put_json(d, config);
    assert_int_equal(reply.status, 400);
    cJSON *answer = cJSON_Parse(reply.body);
    assert_string_equal(cJSON_GetObjectItem(answer, "error")->valuestring, "config has 2 errors");
    assert_true(has_error(answer, "battery.capacity_wh", "must be > 0 and <= 100000, got -5"));
    assert_true(has_error(answer, "site.lattitude", "unknown option (did you mean \"latitude\"?)"));
    cJSON_Delete(answer);
    http_reply_free(&reply);

    /* A masked secret for a device the file does not have cannot be kept. */
    cJSON_SetNumberValue(item(config, "battery", "capacity_wh"), 2240);
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(config, "site"), "lattitude");
    cJSON *extra =
        cJSON_Duplicate(cJSON_GetArrayItem(cJSON_GetObjectItem(config, "devices"), 0), true);
    cJSON_ReplaceItemInObject(extra, "id", cJSON_CreateString("sim3"));
    cJSON_AddItemToArray(cJSON_GetObjectItem(config, "devices"), extra);
    reply = put_json(d, config);
    assert_int_equal(reply.status, 400);
    answer = cJSON_Parse(reply.body);
    assert_true(has_error(answer, "devices[2].password", "keeps the current secret"));
    cJSON_Delete(answer);
    http_reply_free(&reply);

    /* Not JSON at all: the loader's own words. */
    reply = harness_http(d, "PUT", "/api/v1/config", "{\"site\": ", 9, NULL);
    assert_int_equal(reply.status, 400);
    answer = cJSON_Parse(reply.body);
    assert_true(has_error(answer, "(config)", "not valid JSON"));
    cJSON_Delete(answer);
    http_reply_free(&reply);
    cJSON_Delete(config);

    /* Nothing was written, nothing applied. */
    char *file = read_file(d->config_path);
    assert_string_equal(file, CONFIG);
    free(file);
    char bak[320];
    snprintf(bak, sizeof bak, "%s.bak", d->config_path);
    assert_int_equal(access(bak, F_OK), -1);
    config = harness_get_json(d, "/api/v1/config");
    assert_int_equal((int)item(config, "battery", "capacity_wh")->valuedouble, 2240);
    cJSON_Delete(config);
    assert_non_null(
        strstr(harness_log(d), "PUT /api/v1/config refused with 2 problems; nothing changed"));
    harness_stop_cleanly(d, 5000);
}

static void test_valid_config_is_written_and_applied(void **state)
{
    struct daemon_proc *d = *state;
    start(d);
    assert_int_equal(chmod(d->config_path, 0644), 0); /* as an editor may leave it */
    cJSON *config = harness_get_json(d, "/api/v1/config");
    assert_non_null(config);
    /* The secrets are masked in what the client sees and sends back. */
    assert_string_equal(device(config, 0, "password")->valuestring, "***");
    assert_string_equal(item(config, "mqtt", "password")->valuestring, "***");
    cJSON_SetValuestring(item(config, "site", "name"), "After");
    cJSON_SetNumberValue(item(config, "battery", "capacity_wh"), 1500);
    cJSON_SetNumberValue(item(config, "simulation", "seed"), 7); /* needs a restart */

    struct http_reply reply = put_json(d, config);
    assert_int_equal(reply.status, 200);
    cJSON *answer = cJSON_Parse(reply.body);
    http_reply_free(&reply);
    const cJSON *applied = cJSON_GetObjectItem(answer, "config");
    assert_string_equal(item(applied, "site", "name")->valuestring, "After");
    assert_int_equal((int)item(applied, "simulation", "seed")->valuedouble, 1);
    assert_string_equal(device(applied, 0, "password")->valuestring, "***");
    const cJSON *restart = cJSON_GetObjectItem(answer, "restart_required");
    assert_int_equal(cJSON_GetArraySize(restart), 1);
    assert_string_equal(cJSON_GetArrayItem(restart, 0)->valuestring, "simulation.seed");
    cJSON_Delete(answer);

    /* Applied without a restart, and said so. */
    cJSON *running = harness_get_json(d, "/api/v1/config");
    assert_string_equal(item(running, "site", "name")->valuestring, "After");
    assert_int_equal((int)item(running, "battery", "capacity_wh")->valuedouble, 1500);
    cJSON_Delete(running);
    assert_true(harness_wait_log(d, "config from PUT /api/v1/config written to", 2000));
    assert_non_null(strstr(harness_log(d), "and applied"));
    assert_non_null(
        strstr(harness_log(d), "changes to simulation.seed take effect after a restart"));

    /* The file: the new values, the secrets as they were (the environment reference too),
     * the command line's --db and --listen not written into it, owner-only permissions
     * (the file holds secrets) whatever the file before allowed. */
    cJSON *file = read_json_file(d->config_path);
    assert_string_equal(item(file, "site", "name")->valuestring, "After");
    assert_int_equal((int)item(file, "simulation", "seed")->valuedouble, 7);
    assert_string_equal(device(file, 0, "password")->valuestring, "s3cret");
    assert_string_equal(device(file, 1, "password")->valuestring, "env:BALKON_TEST_SECRET");
    assert_string_equal(item(file, "mqtt", "password")->valuestring, "topsecret");
    assert_null(item(file, "http", "listen"));
    assert_null(item(file, "storage", "path"));
    cJSON_Delete(file);
    struct stat after;
    assert_int_equal(stat(d->config_path, &after), 0);
    assert_int_equal(after.st_mode & 07777, 0600);
    char *text = read_file(d->config_path);
    assert_non_null(strstr(text, "// Written by PUT /api/v1/config"));
    free(text);
    /* The previous file, comments and all. */
    char bak[320];
    snprintf(bak, sizeof bak, "%s.bak", d->config_path);
    text = read_file(bak);
    assert_non_null(text);
    assert_string_equal(text, CONFIG);
    free(text);
    struct stat bak_mode;
    assert_int_equal(stat(bak, &bak_mode), 0);
    assert_int_equal(bak_mode.st_mode & 07777, 0600);

    /* The written file is one the daemon loads: SIGHUP takes it as it is. */
    kill(d->pid, SIGHUP);
    assert_true(harness_wait_log(d, "config reloaded", 5000));
    running = harness_get_json(d, "/api/v1/config");
    assert_string_equal(item(running, "site", "name")->valuestring, "After");
    cJSON_Delete(running);

    /* A second PUT keeps the first one's file as the backup. */
    cJSON_SetValuestring(item(config, "site", "name"), "Again");
    reply = put_json(d, config);
    assert_int_equal(reply.status, 200);
    http_reply_free(&reply);
    file = read_json_file(bak);
    assert_string_equal(item(file, "site", "name")->valuestring, "After");
    cJSON_Delete(file);
    cJSON_Delete(config);

    /* /system names the file. */
    cJSON *system = harness_get_json(d, "/api/v1/system");
    char real[4096];
    assert_non_null(realpath(d->config_path, real));
    assert_string_equal(cJSON_GetObjectItem(system, "config_path")->valuestring, real);
    cJSON_Delete(system);
    harness_stop_cleanly(d, 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_invalid_config_changes_nothing, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_valid_config_is_written_and_applied, harness_setup,
                                        harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
