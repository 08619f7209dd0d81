/* The fast serving path's pieces (issue 12): the streaming JSON writer must write the same
 * JSON values cJSON printed before (the dashboard and scripts must not notice), and the
 * answer cache must never serve an answer older than the data it was asked for. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../src/http/answer_cache.h"
#include "../../src/http/json_writer.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *finish(struct json_writer *w)
{
    size_t len;
    char *text = json_writer_finish(w, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return text;
}

/* Every value as cJSON printed it before: rounded to `decimals` places, then %.15g. */
static void test_numbers_are_the_values_cjson_printed(void **state)
{
    srand(12);
    static const int decimals[] = {0, 1, 2, 3, 5};
    for (int i = 0; i < 20000; i++) {
        double magnitude = pow(10, rand() % 14 - 6);
        double value = ((double)rand() / RAND_MAX - 0.5) * 2 * magnitude;
        int places = decimals[i % 5];
        double scale = pow(10, places);
        double rounded = round(value * scale) / scale;

        struct json_writer w;
        json_writer_init(&w, 8);
        jw_number(&w, value, places);
        char *mine = finish(&w);
        cJSON *number = cJSON_CreateNumber(rounded);
        char *theirs = cJSON_PrintUnformatted(number);
        if (strtod(mine, NULL) != strtod(theirs, NULL) || strchr(mine, 'e') ||
            strcmp(mine, "-0") == 0)
            fail_msg("%.17g at %d places: wrote %s, cJSON %s", value, places, mine, theirs);
        /* Where cJSON wrote plain digits, the bytes are the same too (cJSON wrote a
         * negative value that rounds to zero as "-0": the same number). */
        if (!strchr(theirs, 'e') && strcmp(theirs, "-0") != 0)
            assert_string_equal(mine, theirs);
        free(mine);
        free(theirs);
        cJSON_Delete(number);
    }
}

static void test_special_numbers(void **state)
{
    struct json_writer w;
    json_writer_init(&w, 4);
    jw_array_begin(&w);
    jw_number(&w, NAN, 2);
    jw_number(&w, INFINITY, 2);
    jw_number(&w, -0.004, 2); /* rounds to zero: never "-0" */
    jw_number(&w, 12.50, 2);
    jw_number(&w, 3.0, 5);
    jw_number(&w, 1e16, 1); /* beyond fixed digits: as cJSON */
    jw_int(&w, INT64_MIN);
    jw_int(&w, 1750000000000);
    jw_array_end(&w);
    char *text = finish(&w);
    assert_string_equal(text, "[null,null,0,12.5,3,1e+16,-9223372036854775808,1750000000000]");
    free(text);
}

static void test_strings_escape_as_cjson(void **state)
{
    static const char *const texts[] = {"plain",
                                        "quote \" and backslash \\",
                                        "tab\tnew\nline\r",
                                        "\x01\x1f bell\b feed\f",
                                        "Grüße, 800 W ☀",
                                        ""};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        struct json_writer w;
        json_writer_init(&w, 2);
        jw_string(&w, texts[i]);
        char *mine = finish(&w);
        cJSON *string = cJSON_CreateString(texts[i]);
        char *theirs = cJSON_PrintUnformatted(string);
        assert_string_equal(mine, theirs);
        free(mine);
        free(theirs);
        cJSON_Delete(string);
    }
}

/* An answer's shape, written both ways, byte for byte. */
static void test_objects_and_arrays_as_cjson(void **state)
{
    struct json_writer w;
    json_writer_init(&w, 16);
    jw_object_begin(&w);
    jw_key(&w, "name");
    jw_string(&w, "pv_w");
    jw_key(&w, "empty");
    jw_array_begin(&w);
    jw_array_end(&w);
    jw_key(&w, "ts");
    jw_array_begin(&w);
    jw_int(&w, 1750000000000);
    jw_int(&w, 1750000900000);
    jw_array_end(&w);
    jw_key(&w, "nested");
    jw_object_begin(&w);
    jw_key(&w, "ok");
    jw_bool(&w, true);
    jw_key(&w, "none");
    jw_null(&w);
    jw_object_end(&w);
    jw_key(&w, "raw");
    jw_raw_value(&w, "{\"a\":1}", 7);
    jw_object_end(&w);
    char *mine = finish(&w);

    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "name", "pv_w");
    cJSON_AddArrayToObject(json, "empty");
    cJSON *ts = cJSON_AddArrayToObject(json, "ts");
    cJSON_AddItemToArray(ts, cJSON_CreateNumber(1750000000000.0));
    cJSON_AddItemToArray(ts, cJSON_CreateNumber(1750000900000.0));
    cJSON *nested = cJSON_AddObjectToObject(json, "nested");
    cJSON_AddBoolToObject(nested, "ok", true);
    cJSON_AddNullToObject(nested, "none");
    cJSON_AddItemToObject(json, "raw", cJSON_Parse("{\"a\":1}"));
    char *theirs = cJSON_PrintUnformatted(json);
    assert_string_equal(mine, theirs);
    free(mine);
    free(theirs);
    cJSON_Delete(json);
}

/* A stand-in for a kept response: it takes over the body, as http_kept_response does. */
static int drops;
static void *make_ready(char *body, size_t len)
{
    return body;
}
static void count_drop(void *ready)
{
    free(ready);
    drops++;
}

static void test_cache_serves_only_the_current_version(void **state)
{
    struct answer_cache *cache = answer_cache_new(1024, 256, make_ready, count_drop);
    assert_non_null(cache);
    const char *body;
    size_t len;
    uint64_t epoch = answer_cache_epoch(cache);
    assert_int_equal(answer_cache_lookup(cache, "day", 1, &body, &len, NULL), ANSWER_READ);
    answer_cache_put(cache, "day", epoch, 1, "v1", 2);
    void *ready;
    assert_int_equal(answer_cache_lookup(cache, "day", 1, &body, &len, &ready), ANSWER_FRESH);
    assert_memory_equal(body, "v1", 2);
    /* The ready thing made from the answer owns its text and lives as long as the answer. */
    assert_ptr_equal(ready, body);
    void *first_ready = ready;
    assert_int_equal(answer_cache_lookup(cache, "day", 1, &body, &len, &ready), ANSWER_FRESH);
    assert_ptr_equal(ready, first_ready);

    /* New data: the first asker reads; while it does, others get the previous answer. */
    assert_int_equal(answer_cache_lookup(cache, "day", 2, &body, &len, NULL), ANSWER_READ);
    assert_int_equal(answer_cache_lookup(cache, "day", 2, &body, &len, NULL), ANSWER_STALE);
    assert_memory_equal(body, "v1", 2);
    assert_int_equal(drops, 0);
    answer_cache_put(cache, "day", epoch, 2, "v2", 2);
    assert_int_equal(drops, 1); /* went with v1 */
    assert_int_equal(answer_cache_lookup(cache, "day", 2, &body, &len, &ready), ANSWER_FRESH);
    assert_memory_equal(body, "v2", 2);
    assert_non_null(ready);
    assert_ptr_not_equal(ready, first_ready);
    /* A read that began before a newer one came back does not replace it. */
    answer_cache_put(cache, "day", epoch, 1, "v1", 2);
    assert_int_equal(answer_cache_lookup(cache, "day", 2, &body, &len, NULL), ANSWER_FRESH);
    assert_memory_equal(body, "v2", 2);

    /* A failed read: the next request reads again, and then there is nothing stale. */
    assert_int_equal(answer_cache_lookup(cache, "day", 3, &body, &len, NULL), ANSWER_READ);
    answer_cache_abandon(cache, "day");
    assert_int_equal(answer_cache_lookup(cache, "day", 3, &body, &len, NULL), ANSWER_READ);

    /* A clear (a clock jump): what was read before it is refused, even if it comes back. */
    answer_cache_clear(cache);
    answer_cache_put(cache, "day", epoch, 3, "old", 3);
    assert_int_equal(answer_cache_lookup(cache, "day", 3, &body, &len, NULL), ANSWER_READ);
    answer_cache_put(cache, "day", answer_cache_epoch(cache), 3, "v3", 2);
    assert_int_equal(answer_cache_lookup(cache, "day", 3, &body, &len, NULL), ANSWER_FRESH);
    assert_memory_equal(body, "v3", 2);
    answer_cache_free(cache);
}

static void test_cache_memory_is_bounded(void **state)
{
    struct answer_cache *cache = answer_cache_new(1000, 300, NULL, NULL);
    char big[400];
    memset(big, 'x', sizeof big);
    const char *body;
    size_t len;
    uint64_t epoch = answer_cache_epoch(cache);
    assert_int_equal(answer_cache_lookup(cache, "too big", 1, &body, &len, NULL), ANSWER_READ);
    answer_cache_put(cache, "too big", epoch, 1, big, sizeof big);
    assert_int_equal(answer_cache_bytes(cache), 0);
    for (int i = 0; i < 100; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(answer_cache_lookup(cache, key, 1, &body, &len, NULL), ANSWER_READ);
        answer_cache_put(cache, key, epoch, 1, big, 250);
        assert_true(answer_cache_bytes(cache) <= 1000);
    }
    /* The newest stays; the oldest made room. */
    assert_int_equal(answer_cache_lookup(cache, "k99", 1, &body, &len, NULL), ANSWER_FRESH);
    assert_int_equal(answer_cache_lookup(cache, "k0", 1, &body, &len, NULL), ANSWER_READ);
    answer_cache_free(cache);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers_are_the_values_cjson_printed),
        cmocka_unit_test(test_special_numbers),
        cmocka_unit_test(test_strings_escape_as_cjson),
        cmocka_unit_test(test_objects_and_arrays_as_cjson),
        cmocka_unit_test(test_cache_serves_only_the_current_version),
        cmocka_unit_test(test_cache_memory_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
