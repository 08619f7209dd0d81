/* The place search's pure parts (src/http/geocode.h): the geocoder's answer as captured from
 * the real Open-Meteo API (tests/fixtures/real/geocoding/, SOURCES says where from), its
 * error and empty answers, damaged entries, the request URL and the checks of what the
 * dashboard sends. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../src/http/geocode.h"
#include "../../src/http/http_internal.h"

#include "fake_http.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *fixture(const char *name, size_t *size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/real/geocoding/%s", getenv("BALKON_FIXTURES"), name);
    char *text = fake_read_file(path, size);
    if (!text)
        fail_msg("cannot read %s", path);
    return text;
}

/* The real answer for "Berlin": the first five places, each as the payload has it (the
 * expected values are read from the payload itself, not retyped). */
static void test_real_answer(void **state)
{
    size_t size;
    char *body = fixture("open_meteo_berlin_en_2023-03-31.json", &size);
    struct geocode_results results;
    char problem[200] = "";
    assert_int_equal(geocode_parse(body, size, &results, problem, sizeof problem), 0);
    cJSON *root = cJSON_ParseWithLength(body, size);
    const cJSON *list = cJSON_GetObjectItem(root, "results");
    assert_true(cJSON_GetArraySize(list) > GEOCODE_MAX_RESULTS);
    assert_int_equal(results.count, GEOCODE_MAX_RESULTS);
    assert_int_equal(results.skipped, 0);
    for (size_t i = 0; i < results.count; i++) {
        const cJSON *want = cJSON_GetArrayItem(list, (int)i);
        const struct geocode_place *got = &results.places[i];
        assert_string_equal(got->name, cJSON_GetObjectItem(want, "name")->valuestring);
        assert_true(got->latitude_deg == cJSON_GetObjectItem(want, "latitude")->valuedouble);
        assert_true(got->longitude_deg == cJSON_GetObjectItem(want, "longitude")->valuedouble);
        assert_string_equal(got->timezone, cJSON_GetObjectItem(want, "timezone")->valuestring);
        assert_string_equal(got->country, cJSON_GetObjectItem(want, "country")->valuestring);
        assert_string_equal(got->country_code,
                            cJSON_GetObjectItem(want, "country_code")->valuestring);
        const cJSON *admin1 = cJSON_GetObjectItem(want, "admin1");
        assert_string_equal(got->admin1, admin1 ? admin1->valuestring : "");
        const cJSON *postcodes = cJSON_GetObjectItem(want, "postcodes");
        assert_string_equal(got->postcode, cJSON_GetArrayItem(postcodes, 0)->valuestring);
    }
    /* The capital first, as the service ranks by population. */
    assert_string_equal(results.places[0].name, "Berlin");
    assert_string_equal(results.places[0].admin1, "Land Berlin");
    assert_string_equal(results.places[0].timezone, "Europe/Berlin");
    assert_string_equal(results.places[1].timezone, "America/New_York");
    cJSON_Delete(root);
    free(body);
}

static void test_nothing_found_and_errors(void **state)
{
    struct geocode_results results;
    char problem[200];
    /* Nothing matched: the service leaves "results" out. */
    const char *none = "{\"generationtime_ms\":0.3}";
    assert_int_equal(geocode_parse(none, strlen(none), &results, problem, sizeof problem), 0);
    assert_int_equal(results.count, 0);
    /* Its error object (the API documentation's example), with its reason. */
    const char *refused =
        "{\"error\":true,\"reason\":\"Parameter count must be between 1 and 100.\"}";
    assert_int_equal(geocode_parse(refused, strlen(refused), &results, problem, sizeof problem),
                     -1);
    assert_non_null(strstr(problem, "Parameter count must be between 1 and 100."));
    const char *garbage[] = {"<html>Bad Gateway</html>",
                             "[]",
                             "\"x\"",
                             "",
                             "{\"results\":{}}",
                             "{\"results\":[{\"name\":\"x\",\"latitude\":1,"};
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        problem[0] = '\0';
        if (geocode_parse(garbage[i], strlen(garbage[i]), &results, problem, sizeof problem) == 0)
            fail_msg("\"%s\" was read as an answer", garbage[i]);
        assert_true(problem[0] != '\0');
    }
    assert_int_equal(geocode_parse(NULL, 0, &results, problem, sizeof problem), -1);
}

/* An answer's entries are not trusted: without a name or with coordinates out of range
 * they are left out; an implausible zone or country code is dropped, bad UTF-8 kept as
 * '?', long names cut where the answer stays valid UTF-8. */
static void test_damaged_entries(void **state)
{
    const char *body =
        "{\"results\":["
        "{\"latitude\":1,\"longitude\":2},"
        "{\"name\":\"North of north\",\"latitude\":91,\"longitude\":2},"
        "{\"name\":\"Text\",\"latitude\":\"48.1\",\"longitude\":11.5},"
        "{\"name\":\"Sp\xc3\xa4t\xff\",\"latitude\":48.137,\"longitude\":11.575,"
        "\"timezone\":\"../../etc/passwd\",\"country_code\":\"Deu\",\"postcodes\":[80331]},"
        "7,"
        "{\"name\":\"M\xc3\xbcnchen\",\"latitude\":48.13743,\"longitude\":11.57549,"
        "\"timezone\":\"Europe/Berlin\",\"country_code\":\"DE\",\"country\":\"Deutschland\"}"
        "]}";
    struct geocode_results results;
    char problem[200];
    assert_int_equal(geocode_parse(body, strlen(body), &results, problem, sizeof problem), 0);
    assert_int_equal(results.count, 2);
    assert_int_equal(results.skipped, 4);
    assert_string_equal(results.places[0].name, "Sp\xc3\xa4t?");
    assert_string_equal(results.places[0].timezone, "");
    assert_string_equal(results.places[0].country_code, "");
    assert_string_equal(results.places[0].postcode, "");
    assert_string_equal(results.places[1].name, "M\xc3\xbcnchen");
    assert_string_equal(results.places[1].timezone, "Europe/Berlin");
    assert_string_equal(results.places[1].country, "Deutschland");

    /* A name longer than the place's buffer, cut inside a two-byte character. */
    char longer[400];
    int n = snprintf(longer, sizeof longer, "{\"results\":[{\"name\":\"");
    for (int i = 0; i < 150; i++)
        n += snprintf(longer + n, sizeof longer - (size_t)n, "\xc3\xa4");
    snprintf(longer + n, sizeof longer - (size_t)n, "\",\"latitude\":0,\"longitude\":0}]}");
    assert_int_equal(geocode_parse(longer, strlen(longer), &results, problem, sizeof problem), 0);
    assert_int_equal(results.count, 1);
    assert_true(http_utf8_valid(results.places[0].name, strlen(results.places[0].name)));
}

static void test_request_url(void **state)
{
    char url[256];
    assert_true(geocode_url("https://geocoding-api.open-meteo.com/v1/search",
                            "K\xc3\xb6ln Hbf & Co/2?", "de", url, sizeof url));
    assert_string_equal(url, "https://geocoding-api.open-meteo.com/v1/search"
                             "?name=K%C3%B6ln%20Hbf%20%26%20Co%2F2%3F&count=5&language=de"
                             "&format=json");
    char small[60];
    assert_false(
        geocode_url("http://127.0.0.1:9/v1/search", "Berlin Mitte", "en", small, sizeof small));
    assert_false(geocode_url("http://127.0.0.1:9/v1/search", "Berlin", "en", small, 30));
}

static void test_query_checks(void **state)
{
    const char *code = NULL;
    assert_null(geocode_query_problem("Berlin", 6, &code));
    assert_null(geocode_query_problem("Z\xc3\xbc", 3, &code)); /* two characters, three bytes */
    assert_null(geocode_query_problem("10115", 5, &code));     /* a postcode */
    struct {
        const char *text;
        size_t len;
        const char *code;
    } bad[] = {
        {NULL, 0, "required"},   {"", 0, "required"},          {"B", 1, "too_short"},
        {" B ", 3, "too_short"}, {"\xc3\xbc", 2, "too_short"}, {"\xff\xfe", 2, "utf8"},
        {"Ber\xc3", 4, "utf8"},  {"Ber\nlin", 7, "invalid"},   {"Ber\0lin", 7, "invalid"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        code = NULL;
        if (!geocode_query_problem(bad[i].text, bad[i].len, &code))
            fail_msg("case %zu accepted", i);
        assert_string_equal(code, bad[i].code);
    }
    char longest[GEOCODE_QUERY_MAX_BYTES + 2];
    memset(longest, 'a', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    assert_null(geocode_query_problem(longest, GEOCODE_QUERY_MAX_BYTES, &code));
    assert_non_null(geocode_query_problem(longest, GEOCODE_QUERY_MAX_BYTES + 1, &code));
    assert_string_equal(code, "too_long");

    assert_true(geocode_lang_ok("de"));
    assert_true(geocode_lang_ok("en"));
    assert_false(geocode_lang_ok("DE"));
    assert_false(geocode_lang_ok("deu"));
    assert_false(geocode_lang_ok("d"));
    assert_false(geocode_lang_ok("d&"));
    assert_false(geocode_lang_ok(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_answer),     cmocka_unit_test(test_nothing_found_and_errors),
        cmocka_unit_test(test_damaged_entries), cmocka_unit_test(test_request_url),
        cmocka_unit_test(test_query_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
