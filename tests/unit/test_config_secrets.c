/* Secrets in the config (src/core/config_file.c, config_out.c, config.c):
 * balkon_config_keep_secrets, what PUT /api/v1/config does with the "***" of
 * GET /api/v1/config: array items are matched by id even when reordered; a secret sent in
 * clear replaces the old one; a mask with nothing behind it is an error that names its
 * path; a mask (or the file's env:NAME) is kept only while the item's destination (type,
 * host, port, url, base_url) is unchanged; a masked URL keeps the stored one only when it
 * points to the same origin. Also: what GET shows (no token, password, ntfy topic, URL
 * user info, path or query), error messages that echo no secret, UTF-8 strings, and the
 * bounds that every number has before it is converted to an integer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../src/core/config_schema.h"
#include "balkon/config.h"
#include "balkon/error.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *device_password(const cJSON *config, int index)
{
    const cJSON *device = cJSON_GetArrayItem(cJSON_GetObjectItem(config, "devices"), index);
    return cJSON_GetObjectItem(device, "password")->valuestring;
}

static void test_masks_keep_the_files_values(void **state)
{
    cJSON *current = cJSON_Parse(
        "{\"devices\":[{\"id\":\"a\",\"password\":\"pa\"},{\"id\":\"b\",\"password\":\"env:PB\"}],"
        "\"providers\":[{\"id\":\"p\",\"token\":\"tok\"}],\"mqtt\":{\"password\":\"mq\"}}");
    /* Reordered devices, a new clear password, the provider's token masked. */
    cJSON *next = cJSON_Parse(
        "{\"devices\":[{\"id\":\"b\",\"password\":\"***\"},{\"id\":\"a\",\"password\":\"new\"}],"
        "\"providers\":[{\"id\":\"p\",\"token\":\"***\"}],\"mqtt\":{\"password\":\"***\"},"
        "\"site\":{\"name\":\"***\"}}");
    struct balkon_config_errors errors = {0};
    assert_int_equal(balkon_config_keep_secrets(next, current, &errors), 0);
    assert_int_equal(errors.count, 0);
    assert_string_equal(device_password(next, 0), "env:PB");
    assert_string_equal(device_password(next, 1), "new");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(next, "providers"), 0), "token")
            ->valuestring,
        "tok");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(next, "mqtt"), "password")->valuestring, "mq");
    /* Not a secret: "***" is just a name. */
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(next, "site"), "name")->valuestring,
                        "***");
    cJSON_Delete(next);
    cJSON_Delete(current);
}

static void test_a_mask_without_a_value_is_an_error(void **state)
{
    cJSON *current = cJSON_Parse("{\"devices\":[{\"id\":\"a\",\"password\":\"pa\"}]}");
    cJSON *next = cJSON_Parse(
        "{\"devices\":[{\"id\":\"a\",\"password\":\"***\"},{\"id\":\"c\",\"password\":\"***\"}],"
        "\"mqtt\":{\"password\":\"***\"}}");
    struct balkon_config_errors errors = {0};
    assert_int_equal(balkon_config_keep_secrets(next, current, &errors), BALKON_E_INVAL);
    assert_int_equal(errors.count, 2);
    assert_true(strncmp(errors.items[0], "devices[1].password: ", 21) == 0);
    assert_true(strncmp(errors.items[1], "mqtt.password: ", 15) == 0);
    assert_string_equal(device_password(next, 0), "pa");
    cJSON_Delete(next);

    /* No readable file: every mask is an error. */
    next = cJSON_Parse("{\"devices\":[{\"id\":\"a\",\"password\":\"***\"}]}");
    memset(&errors, 0, sizeof errors);
    assert_int_equal(balkon_config_keep_secrets(next, NULL, &errors), BALKON_E_INVAL);
    assert_int_equal(errors.count, 1);
    cJSON_Delete(next);
    cJSON_Delete(current);
}

static const char *error_of(const struct balkon_config_errors *errors, const char *prefix)
{
    for (size_t i = 0; i < errors->count; i++)
        if (strncmp(errors->items[i], prefix, strlen(prefix)) == 0)
            return errors->items[i];
    return NULL;
}

static const char *string_at(const cJSON *json, const char *section, int index, const char *key)
{
    const cJSON *object = cJSON_GetObjectItem(json, section);
    if (index >= 0)
        object = cJSON_GetArrayItem(object, index);
    return cJSON_GetObjectItem(object, key)->valuestring;
}

/* Runs keep_secrets on next (JSON text) against the file current; returns the errors. */
static struct balkon_config_errors keep(const char *current_text, const char *next_text,
                                        cJSON **next_out)
{
    cJSON *current = cJSON_Parse(current_text);
    cJSON *next = cJSON_Parse(next_text);
    assert_non_null(current);
    assert_non_null(next);
    struct balkon_config_errors errors = {0};
    balkon_config_keep_secrets(next, current, &errors);
    cJSON_Delete(current);
    if (next_out)
        *next_out = next;
    else
        cJSON_Delete(next);
    return errors;
}

static const char *FILE_WITH_SECRETS =
    "{\"providers\":[{\"id\":\"t\",\"type\":\"tibber\",\"token\":\"tibber-tok\"},"
    "{\"id\":\"s\",\"type\":\"solcast\",\"base_url\":\"https://api.solcast.com.au/v1\","
    "\"token\":\"solcast-tok\"}],"
    "\"devices\":[{\"id\":\"d\",\"type\":\"opendtu\",\"host\":\"192.168.1.5\","
    "\"password\":\"dtu-pw\"}],"
    "\"mqtt\":{\"host\":\"broker.lan\",\"password\":\"mq-pw\"},"
    "\"notifications\":{\"channels\":[{\"id\":\"tg\",\"type\":\"telegram\","
    "\"token\":\"123:bot\",\"chat_id\":\"1\"},"
    "{\"id\":\"wh\",\"type\":\"webhook\",\"url\":\"https://hooks.example.org/T1/secret-path"
    "?k=v\",\"token\":\"wh-bearer\"},"
    "{\"id\":\"nt\",\"type\":\"ntfy\",\"url\":\"https://ntfy.sh\",\"topic\":\"my-topic-"
    "x7\"}]}}";

/* Issue 15: a client with a login kept "***" and pointed the item at its own server, and
 * the daemon sent the stored token there. Every destination change needs the secret. */
static void test_a_changed_destination_needs_the_secret_anew(void **state)
{
    struct {
        const char *next, *error;
    } cases[] = {
        {"{\"providers\":[{\"id\":\"t\",\"type\":\"tibber\",\"base_url\":"
         "\"http://127.0.0.1:9/\",\"token\":\"***\"}]}",
         "providers[0].token: is kept (\"***\") but \"base_url\" changed"},
        {"{\"providers\":[{\"id\":\"t\",\"type\":\"solcast\",\"token\":\"***\"}]}",
         "providers[0].token: is kept (\"***\") but \"type\" changed"},
        {"{\"providers\":[{\"id\":\"s\",\"type\":\"solcast\",\"base_url\":"
         "\"http://api.solcast.com.au/v1\",\"token\":\"***\"}]}",
         "providers[0].token: is kept (\"***\") but \"base_url\" changed"},
        {"{\"devices\":[{\"id\":\"d\",\"type\":\"opendtu\",\"host\":\"10.0.0.9\","
         "\"password\":\"***\"}]}",
         "devices[0].password: is kept (\"***\") but \"host\" changed"},
        {"{\"devices\":[{\"id\":\"d\",\"type\":\"opendtu\",\"host\":\"192.168.1.5\","
         "\"port\":8080,\"password\":\"***\"}]}",
         "devices[0].password: is kept (\"***\") but \"port\" changed"},
        {"{\"mqtt\":{\"host\":\"evil.lan\",\"password\":\"***\"}}",
         "mqtt.password: is kept (\"***\") but \"host\" changed"},
        {"{\"notifications\":{\"channels\":[{\"id\":\"tg\",\"type\":\"telegram\","
         "\"url\":\"http://127.0.0.1:9\",\"token\":\"***\",\"chat_id\":\"1\"}]}}",
         "notifications.channels[0].token: is kept (\"***\") but \"url\" changed"},
        {"{\"notifications\":{\"channels\":[{\"id\":\"wh\",\"type\":\"webhook\","
         "\"url\":\"http://127.0.0.1:9/***\",\"token\":\"***\"}]}}",
         "notifications.channels[0].url: has the hidden part"},
        {"{\"notifications\":{\"channels\":[{\"id\":\"nt\",\"type\":\"ntfy\",\"url\":"
         "\"http://127.0.0.1:9\",\"topic\":\"***\"}]}}",
         "notifications.channels[0].topic: is kept (\"***\") but \"url\" changed"},
        /* A reference to another environment variable would send that one. */
        {"{\"providers\":[{\"id\":\"t\",\"type\":\"tibber\",\"token\":\"env:HOME\"}]}",
         "providers[0].token: \"env:NAME\" can be set only in the config file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct balkon_config_errors errors = keep(FILE_WITH_SECRETS, cases[i].next, NULL);
        if (!error_of(&errors, cases[i].error))
            fail_msg("case %zu: no error \"%s\" (%zu errors, first: %s)", i, cases[i].error,
                     errors.count, errors.count ? errors.items[0] : "-");
    }
}

/* The same destination (another path on the same server, the URL sent back masked)
 * keeps the secrets; a secret sent in clear may go anywhere. */
static void test_the_same_destination_keeps_the_secrets(void **state)
{
    cJSON *next;
    struct balkon_config_errors errors =
        keep(FILE_WITH_SECRETS,
             "{\"providers\":[{\"id\":\"t\",\"type\":\"tibber\",\"base_url\":\"\",\"token\":"
             "\"***\"},{\"id\":\"s\",\"type\":\"solcast\",\"base_url\":"
             "\"https://API.solcast.com.au:443/v2\",\"token\":\"***\"}],"
             "\"devices\":[{\"id\":\"d\",\"type\":\"opendtu\",\"host\":\"192.168.1.5\",\"port\":0,"
             "\"password\":\"***\"}],"
             "\"mqtt\":{\"host\":\"broker.lan\",\"port\":1883,\"password\":\"***\"},"
             "\"notifications\":{\"channels\":[{\"id\":\"tg\",\"type\":\"telegram\","
             "\"token\":\"***\",\"chat_id\":\"2\"},"
             "{\"id\":\"wh\",\"type\":\"webhook\",\"url\":\"https://hooks.example.org/***\","
             "\"token\":\"***\"},"
             "{\"id\":\"nt\",\"type\":\"ntfy\",\"url\":\"http://127.0.0.1:9\",\"topic\":"
             "\"new-topic\"}]}}",
             &next);
    if (errors.count)
        fail_msg("%s", errors.items[0]);
    assert_string_equal(string_at(next, "providers", 0, "token"), "tibber-tok");
    assert_string_equal(string_at(next, "providers", 1, "token"), "solcast-tok");
    assert_string_equal(string_at(next, "devices", 0, "password"), "dtu-pw");
    assert_string_equal(string_at(next, "mqtt", -1, "password"), "mq-pw");
    const cJSON *channels =
        cJSON_GetObjectItem(cJSON_GetObjectItem(next, "notifications"), "channels");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(channels, 0), "token")->valuestring,
                        "123:bot");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(channels, 1), "url")->valuestring,
                        "https://hooks.example.org/T1/secret-path?k=v");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(channels, 1), "token")->valuestring,
                        "wh-bearer");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(channels, 2), "topic")->valuestring,
                        "new-topic");
    cJSON_Delete(next);
}

/* GET /api/v1/config's JSON: tokens, passwords, the ntfy topic and every URL's user info,
 * path and query masked; where each goes stays visible. */
static void test_the_config_json_shows_no_secret(void **state)
{
    static struct balkon_config config;
    struct balkon_config_errors errors;
    int rc = balkon_config_parse(
        "{\"providers\":[{\"id\":\"s\",\"type\":\"solcast\",\"site_id\":\"x\","
        "\"base_url\":\"http://127.0.0.1:8080/solcast/k3y\",\"token\":\"solcast-tok\"}],"
        "\"notifications\":{\"channels\":["
        "{\"id\":\"wh\",\"type\":\"webhook\",\"url\":\"https://hooks.example.org/T1/secret-path\"},"
        "{\"id\":\"nt\",\"type\":\"ntfy\",\"url\":\"https://ntfy.sh\",\"topic\":\"my-topic-x7\"},"
        "{\"id\":\"gt\",\"type\":\"gotify\",\"url\":\"https://me:gotify-pw@gotify.lan\","
        "\"token\":\"gt-tok\"}]}}",
        &config, &errors);
    if (rc != 0)
        fail_msg("%s", errors.items[0]);
    cJSON *json = balkon_config_to_json(&config);
    char *text = cJSON_PrintUnformatted(json);
    const char *secrets[] = {"solcast-tok", "k3y",       "secret-path", "T1",
                             "my-topic-x7", "gotify-pw", "me:",         "gt-tok"};
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        if (strstr(text, secrets[i]))
            fail_msg("\"%s\" shown in %s", secrets[i], text);
    assert_non_null(strstr(text, "\"base_url\":\"http://127.0.0.1:8080/***\""));
    assert_non_null(strstr(text, "\"url\":\"https://hooks.example.org/***\""));
    assert_non_null(strstr(text, "\"url\":\"https://ntfy.sh\""));
    assert_non_null(strstr(text, "\"url\":\"https://gotify.lan/***\""));
    free(text);
    cJSON_Delete(json);
}

/* Error messages name the field but never echo a secret or a URL's user info. */
static void test_errors_do_not_echo_secrets(void **state)
{
    static struct balkon_config config;
    struct balkon_config_errors errors;
    balkon_config_parse(
        "{\"providers\":[{\"id\":\"p\",\"type\":\"awattar\","
        "\"base_url\":\"ftp://alice:hunter2@prices.example\"},"
        "{\"id\":\"q\",\"type\":\"awattar\",\"base_url\":\"https://"
        "alice:hunter2@prices.example\"},"
        "{\"id\":\"r\",\"type\":\"awattar\",\"base_url\":\"https://prices.example/?key=hunter2\"}],"
        "\"notifications\":{\"channels\":[{\"id\":\"e\",\"type\":\"email\","
        "\"url\":\"imap://bob:swordfish@mail.example/inbox\",\"from\":\"a@b\",\"to\":\"c@d\"},"
        "{\"id\":\"w\",\"type\":\"webhook\",\"url\":\"gopher://carol:pw9@h/x\"}]},"
        "\"mqtt\":{\"password\":12}}",
        &config, &errors);
    assert_non_null(error_of(&errors, "providers[0].base_url: must start with http://"));
    assert_non_null(error_of(&errors, "providers[1].base_url: must not hold a user name"));
    assert_non_null(error_of(&errors, "providers[2].base_url: must not have a query"));
    assert_non_null(error_of(&errors, "notifications.channels[0].url: must be smtp://"));
    assert_non_null(error_of(&errors, "notifications.channels[1].url: must start with http://"));
    assert_non_null(error_of(&errors, "mqtt.password: must be a string"));
    for (size_t i = 0; i < errors.count; i++)
        if (strstr(errors.items[i], "hunter2") || strstr(errors.items[i], "swordfish") ||
            strstr(errors.items[i], "pw9") || strstr(errors.items[i], "alice"))
            fail_msg("a secret echoed: %s", errors.items[i]);
}

/* Strings must be UTF-8: the config ends up in JSON answers and logs. */
static void test_strings_must_be_utf8(void **state)
{
    static struct balkon_config config;
    struct balkon_config_errors errors;
    const char *bad[] = {"\xff", "ab\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "{\"site\":{\"name\":\"%s\"}}", bad[i]);
        assert_int_equal(balkon_config_parse(text, &config, &errors), BALKON_E_INVAL);
        assert_int_equal(errors.count, 1);
        assert_non_null(strstr(errors.items[0], "site.name: must be valid UTF-8 text"));
    }
    assert_int_equal(
        balkon_config_parse("{\"site\":{\"name\":\"Balkon M\xc3\xbcnchen \xf0\x9f\x8c\x9e\"}}",
                            &config, &errors),
        0);
    assert_string_equal(config.site.name, "Balkon M\xc3\xbcnchen \xf0\x9f\x8c\x9e");
    /* A key that is not UTF-8 is not echoed either. */
    assert_int_equal(balkon_config_parse("{\"site\":{\"n\xffme\":1}}", &config, &errors),
                     BALKON_E_INVAL);
    assert_null(strchr(errors.items[0], '\xff'));
    /* A cut value in a message ends on a whole character. */
    balkon_config_parse("{\"battery\":{\"capacity_wh\":\"\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4"
                        "\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4"
                        "\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\"}}",
                        &config, &errors);
    assert_int_equal(errors.count, 1);
    cJSON *as_json = cJSON_CreateString(errors.items[0]);
    char *printed = cJSON_PrintUnformatted(as_json);
    assert_non_null(strstr(errors.items[0], "\xc3\xa4\""));
    free(printed);
    cJSON_Delete(as_json);
}

/* Every number of the table is bounded, so every conversion to an integer (CFG_INT, and
 * the (int) casts of the modules) is range-checked by the loader first. */
static void check_bounded(const struct cfg_table *table, const char *path)
{
    for (size_t i = 0; i < table->row_count; i++) {
        const struct cfg_row *row = &table->rows[i];
        if (row->type == CFG_OBJECT || row->type == CFG_ARRAY) {
            check_bounded(row->sub, row->key);
            continue;
        }
        if (row->type != CFG_NUMBER && row->type != CFG_INT)
            continue;
        if (!(row->flags & CFG_HAS_MIN) || !(row->flags & CFG_HAS_MAX) || row->min < -9e15 ||
            row->max > 9.007199254740991e15)
            fail_msg("%s.%s is not bounded within +-2^53", path, row->key);
    }
}

static void test_every_number_is_bounded(void **state)
{
    check_bounded(&balkon_config_root, "");
    static struct balkon_config config;
    struct balkon_config_errors errors;
    assert_int_equal(
        balkon_config_parse("{\"simulation\":{\"start\":\"1e300\"}}", &config, &errors),
        BALKON_E_INVAL);
    assert_non_null(error_of(&errors, "simulation.start: must be a time between the years 0000"));
    assert_int_equal(balkon_config_parse("{\"simulation\":{\"seed\":1e300}}", &config, &errors),
                     BALKON_E_INVAL);
    assert_non_null(error_of(&errors, "simulation.seed: must be a whole number"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_masks_keep_the_files_values),
        cmocka_unit_test(test_a_mask_without_a_value_is_an_error),
        cmocka_unit_test(test_a_changed_destination_needs_the_secret_anew),
        cmocka_unit_test(test_the_same_destination_keeps_the_secrets),
        cmocka_unit_test(test_the_config_json_shows_no_secret),
        cmocka_unit_test(test_errors_do_not_echo_secrets),
        cmocka_unit_test(test_strings_must_be_utf8),
        cmocka_unit_test(test_every_number_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
