/* The config writer of PUT /api/v1/config (src/core/config_jsonc.c): members equal to
 * their default are left out, the old file's comments stay with their keys (leading,
 * trailing, closing; array items followed by "id" when they move), comments of keys that
 * are gone go with them, the daemon's own header is not repeated, and what it writes loads
 * back to the same config. Also the file write itself: the old file in ".bak", both 0600. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../src/core/config_schema.h"
#include "balkon/config.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const old_text =
    "// Written by PUT /api/v1/config at 2026-01-01T00:00:00Z; the file before is x.bak.\n"
    "// My balcony, set up in May.\n"
    "{\n"
    "  \"site\": {\n"
    "    // Berlin, roughly\n"
    "    \"latitude\": 52.5, // north\n"
    "    \"longitude\": 13.4\n"
    "  },\n"
    "  /* The two things on the LAN */\n"
    "  \"devices\": [\n"
    "    // the meter in the cellar\n"
    "    {\"id\": \"meter\", \"type\": \"shelly_gen2\", \"host\": \"192.168.1.20\"},\n"
    "    // the plug of the fridge\n"
    "    {\"id\": \"fridge\", \"type\": \"shelly_gen2\", \"host\": \"192.168.1.21\", \"role\": "
    "\"plug\"} // smart plug\n"
    "    // more to come\n"
    "  ],\n"
    "  \"battery\": {\"capacity_wh\": 5000} // the new one\n"
    "}\n";

static char *render(const char *old, const char *next_json)
{
    cJSON *next = cJSON_Parse(next_json);
    assert_non_null(next);
    char *text = balkon_config_file_text(old, next, "// header\n");
    cJSON_Delete(next);
    assert_non_null(text);
    return text;
}

/* GET's answer is the whole config with every default; sent back it writes only what the
 * user set. */
static void test_defaults_are_left_out(void **state)
{
    (void)state;
    struct balkon_config config;
    balkon_config_defaults(&config);
    cJSON *all = balkon_config_to_json(&config);
    cJSON *site = cJSON_GetObjectItem(all, "site");
    cJSON_ReplaceItemInObject(site, "latitude", cJSON_CreateNumber(48.1));
    char *text = balkon_config_file_text(NULL, all, NULL);
    cJSON_Delete(all);
    assert_non_null(text);
    /* Only the changed key (and the object holding it) remain. */
    cJSON_Minify(text);
    assert_string_equal(text, "{\"site\":{\"latitude\":48.1}}");
    free(text);
}

static void test_device_defaults_are_left_out(void **state)
{
    (void)state;
    /* A device as GET shows it: about 24 keys, most at their default. */
    const char *one =
        "{\"devices\":[{\"id\":\"m\",\"type\":\"shelly_gen2\",\"host\":\"10.0.0.2\"}]}";
    struct balkon_config config;
    struct balkon_config_errors errors = {0};
    assert_int_equal(balkon_config_parse(one, &config, &errors), 0);
    cJSON *all = balkon_config_to_json(&config);
    cJSON *device = cJSON_GetArrayItem(cJSON_GetObjectItem(all, "devices"), 0);
    assert_true(cJSON_GetArraySize(device) > 10);
    char *text = balkon_config_file_text(NULL, all, NULL);
    cJSON_Delete(all);
    cJSON_Minify(text);
    assert_string_equal(text, "{\"devices\":[{\"id\":\"m\",\"type\":\"shelly_gen2\",\"host\":"
                              "\"10.0.0.2\"}]}");
    free(text);
}

static void test_comments_stay_with_their_keys(void **state)
{
    (void)state;
    /* The devices swapped places, the meter's host changed, the battery was set back to
     * its default (so it goes, with its comment), longitude was removed. */
    char *text =
        render(old_text, "{\"site\":{\"latitude\":52.5},"
                         "\"devices\":[{\"id\":\"fridge\",\"type\":\"shelly_gen2\",\"host\":"
                         "\"192.168.1.21\",\"role\":\"plug\"},"
                         "{\"id\":\"meter\",\"type\":\"shelly_gen2\",\"host\":\"192.168.1.30\"}],"
                         "\"battery\":{\"capacity_wh\":2240}}");
    const char *expected = "// header\n"
                           "// My balcony, set up in May.\n"
                           "{\n"
                           "  \"site\": {\n"
                           "    // Berlin, roughly\n"
                           "    \"latitude\": 52.5 // north\n"
                           "  },\n"
                           "  /* The two things on the LAN */\n"
                           "  \"devices\": [\n"
                           "    // the plug of the fridge\n"
                           "    {\n"
                           "      \"id\": \"fridge\",\n"
                           "      \"type\": \"shelly_gen2\",\n"
                           "      \"host\": \"192.168.1.21\",\n"
                           "      \"role\": \"plug\"\n"
                           "    }, // smart plug\n"
                           "    // the meter in the cellar\n"
                           "    {\n"
                           "      \"id\": \"meter\",\n"
                           "      \"type\": \"shelly_gen2\",\n"
                           "      \"host\": \"192.168.1.30\"\n"
                           "    }\n"
                           "    // more to come\n"
                           "  ]\n"
                           "}\n";
    assert_string_equal(text, expected);
    /* The daemon's loader reads it back. */
    struct balkon_config config;
    struct balkon_config_errors errors = {0};
    assert_int_equal(balkon_config_parse(text, &config, &errors), 0);
    assert_int_equal((int)config.devices.count, 2);
    assert_string_equal(config.devices.items[1].host, "192.168.1.30");
    assert_true(config.battery.capacity_wh == 2240);
    free(text);
}

static void test_new_items_get_no_comments(void **state)
{
    (void)state;
    char *text = render(old_text, "{\"devices\":[{\"id\":\"new\",\"type\":\"shelly_gen2\","
                                  "\"host\":\"10.0.0.9\"}]}");
    assert_null(strstr(text, "cellar"));
    assert_null(strstr(text, "fridge"));
    assert_non_null(strstr(text, "\"new\""));
    /* The array's own comments (before it and at its end) stay. */
    assert_non_null(strstr(text, "/* The two things on the LAN */"));
    assert_non_null(strstr(text, "// more to come"));
    free(text);
}

static void test_own_header_is_not_repeated(void **state)
{
    (void)state;
    const char *header = "// Written by PUT /api/v1/config at now; the file before is x.bak.\n"
                         "// Keys at their default are left out (see --config-doc).\n";
    cJSON *next = cJSON_Parse("{\"site\":{\"latitude\":1}}");
    char *first = balkon_config_file_text(old_text, next, header);
    char *second = balkon_config_file_text(first, next, header);
    cJSON_Delete(next);
    const char *written = strstr(second, "// Written by PUT");
    assert_ptr_equal(written, second);
    assert_null(strstr(written + 1, "// Written by PUT"));
    assert_null(strstr(strstr(second, "left out") + 1, "left out"));
    assert_non_null(strstr(second, "// My balcony, set up in May."));
    free(first);
    free(second);
}

static void test_text_that_is_no_jsonc_loses_only_comments(void **state)
{
    (void)state;
    char *text = render("{\"site\": [[[ /* broken", "{\"site\":{\"latitude\":3}}");
    cJSON_Minify(text);
    assert_string_equal(text, "{\"site\":{\"latitude\":3}}");
    free(text);
}

static void test_write_keeps_old_file_as_bak_0600(void **state)
{
    (void)state;
    char dir[] = "/tmp/balkon-jsonc-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], bak[140];
    snprintf(path, sizeof path, "%s/config.json", dir);
    snprintf(bak, sizeof bak, "%s.bak", path);
    FILE *f = fopen(path, "w");
    fputs(old_text, f);
    fclose(f);
    chmod(path, 0644);
    char *text = render(old_text, "{\"site\":{\"latitude\":7}}");
    char msg[256];
    assert_int_equal(balkon_config_write_file(path, text, msg, sizeof msg), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(bak, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char *written = NULL, *kept = NULL, why[160];
    assert_int_equal(balkon_config_read_text(path, &written, why, sizeof why), 0);
    assert_int_equal(balkon_config_read_text(bak, &kept, why, sizeof why), 0);
    assert_string_equal(written, text);
    assert_string_equal(kept, old_text);
    free(written);
    free(kept);
    free(text);
    unlink(path);
    unlink(bak);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_left_out),
        cmocka_unit_test(test_device_defaults_are_left_out),
        cmocka_unit_test(test_comments_stay_with_their_keys),
        cmocka_unit_test(test_new_items_get_no_comments),
        cmocka_unit_test(test_own_header_is_not_repeated),
        cmocka_unit_test(test_text_that_is_no_jsonc_loses_only_comments),
        cmocka_unit_test(test_write_keeps_old_file_as_bak_0600),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
