/* Time parsing and formatting, error strings, log level names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/daytype.h"
#include "balkon/timeutil.h"
#include "balkon/url.h"
#include "balkon/values.h"

#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

static int64_t parsed(const char *text)
{
    int64_t ts_ms = -1;
    assert_int_equal(balkon_parse_time(text, &ts_ms), 0);
    return ts_ms;
}

static void test_parse_time_forms(void **state)
{
    assert_int_equal(parsed("2026-06-21T06:00:00Z"), INT64_C(1782021600000));
    assert_int_equal(parsed("2026-06-21T08:00:00+02:00"), INT64_C(1782021600000));
    assert_int_equal(parsed("2026-06-21T04:30:00-01:30"), INT64_C(1782021600000));
    assert_int_equal(parsed("2026-06-21T06:00:00.250Z"), INT64_C(1782021600250));
    assert_int_equal(parsed("2026-06-21T06:00Z"), INT64_C(1782021600000));
    assert_int_equal(parsed("2026-06-21"), INT64_C(1781999999999) + 1);
    assert_int_equal(parsed("1782021600"), INT64_C(1782021600000));
    assert_int_equal(parsed("1782021600.5"), INT64_C(1782021600500));
    assert_int_equal(parsed("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parsed("2024-02-29T00:00:00Z"), INT64_C(1709164800000)); /* leap day */
}

static void test_parse_time_rejects(void **state)
{
    const char *bad[] = {"",
                         "yesterday",
                         "2026-13-01",
                         "2026-06-21T25:00:00Z",
                         "2026-06-21T06:00:00Zjunk",
                         "2026-6-21",
                         "2026-06-21T06",
                         "12abc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ts_ms;
        if (balkon_parse_time(bad[i], &ts_ms) != BALKON_E_PARSE)
            fail_msg("accepted \"%s\"", bad[i]);
    }
}

/* Bare numbers are range-checked before the conversion to int64_t: 1e300 seconds used to
 * be converted anyway (undefined behaviour; the sanitizer build aborts, a Release build
 * read the year -292275055). */
static void test_parse_time_range(void **state)
{
    const char *out_of_range[] = {"1e300", "-1e300", "9.3e18",       "nan",
                                  "inf",   "-inf",   "253402300800", "-62167219201"};
    for (size_t i = 0; i < sizeof out_of_range / sizeof out_of_range[0]; i++) {
        int64_t ts_ms = 42;
        if (balkon_parse_time(out_of_range[i], &ts_ms) != BALKON_E_RANGE)
            fail_msg("\"%s\" not refused as out of range", out_of_range[i]);
        assert_int_equal(ts_ms, 42); /* untouched */
    }
    assert_int_equal(parsed("253402300799"), INT64_C(253402300799000)); /* 9999-12-31T23:59:59Z */
    assert_int_equal(parsed("-62167219200"), INT64_C(-62167219200000)); /* 0000-01-01 */
    assert_int_equal(parsed("1782021600.5"), INT64_C(1782021600500));
}

/* include/balkon/url.h: what a URL shows and where it goes. */
static void test_url_redact_and_origin(void **state)
{
    const char *cases[][2] = {
        {"https://ntfy.sh", "https://ntfy.sh"},
        {"https://ntfy.sh/", "https://ntfy.sh/"},
        {"https://hooks.example.org/T000/B000/XXXX", "https://hooks.example.org/***"},
        {"http://127.0.0.1:8123/api/webhook/abc?key=1", "http://127.0.0.1:8123/***"},
        {"https://user:p@ss@api.example.com", "https://api.example.com/***"},
        {"smtps://me:pw@mail.example.org:465", "smtps://mail.example.org:465/***"},
        {"http://[::1]:8080/x", "http://[::1]:8080/***"},
        {"https://example.com?token=1", "https://example.com/***"},
        {"x", "x"},
        {"user:pw@host/x", "***"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char shown[128];
        balkon_url_redact(cases[i][0], shown, sizeof shown);
        if (strcmp(shown, cases[i][1]) != 0)
            fail_msg("\"%s\" shown as \"%s\", want \"%s\"", cases[i][0], shown, cases[i][1]);
    }
    assert_true(balkon_url_same_origin("http://a.example/x", "HTTP://A.example:80/y?z"));
    assert_true(balkon_url_same_origin("https://u:p@a.example/", "https://a.example:443"));
    assert_false(balkon_url_same_origin("http://a.example/", "https://a.example/"));
    assert_false(balkon_url_same_origin("http://127.0.0.1:80/", "http://127.0.0.2:80/"));
    assert_false(balkon_url_same_origin("http://127.0.0.1:8080/", "http://127.0.0.1:8081/"));
    /* "a.example@evil" is user info before the host evil. */
    assert_false(balkon_url_same_origin("http://a.example@evil.example/", "http://a.example/"));
    assert_false(balkon_url_same_origin("not a url", "not a url"));
    struct balkon_url url;
    assert_int_equal(balkon_url_parse("http://host:99999/", &url), BALKON_E_PARSE);
    assert_int_equal(balkon_url_parse("http://:80/", &url), BALKON_E_PARSE);
    assert_int_equal(balkon_url_parse("http://[::1/", &url), BALKON_E_PARSE);
    assert_int_equal(balkon_url_parse("http://[fe80::1]:8443/a", &url), 0);
    assert_string_equal(url.host, "fe80::1");
    assert_int_equal(url.port, 8443);
    assert_string_equal(url.rest, "/a");
}

/* The origin of a URL as a Content-Security-Policy source: exactly where it goes, or
 * refused when it could not be written into the policy without widening it. */
static void test_url_csp_source(void **state)
{
    const char *good[][2] = {
        {"https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"},
        {"HTTPS://Tile.Example.org:443/x", "https://tile.example.org"},
        {"http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png", "http://127.0.0.1:8080"},
        {"http://example.org:80", "http://example.org"},
        {"https://example.org:8443/", "https://example.org:8443"},
        {"http://[::1]:9000/{z}", "http://[::1]:9000"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char source[128];
        if (balkon_url_csp_source(good[i][0], source, sizeof source) != 0)
            fail_msg("\"%s\" refused", good[i][0]);
        if (strcmp(source, good[i][1]) != 0)
            fail_msg("\"%s\" gave \"%s\", want \"%s\"", good[i][0], source, good[i][1]);
    }
    const char *bad[] = {
        "ftp://example.org/x",
        "example.org/{z}",
        "https://user:pw@example.org/x",
        "https://*.example.org/x",
        "https://a;b.example.org/x",
        "https://a'b.example.org/",
        "https://a,b.example.org/",
        "",
        "https://[::1/",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char source[128];
        if (balkon_url_csp_source(bad[i], source, sizeof source) == 0)
            fail_msg("\"%s\" accepted as \"%s\"", bad[i], source);
    }
    char tiny[8];
    assert_int_equal(balkon_url_csp_source("https://example.org/", tiny, sizeof tiny),
                     BALKON_E_PARSE);
}

static void test_format_iso(void **state)
{
    char buf[BALKON_ISO_MAX];
    assert_string_equal(balkon_format_iso(INT64_C(1782021600000), buf, sizeof buf),
                        "2026-06-21T06:00:00Z");
    assert_string_equal(balkon_format_iso(INT64_C(1782021600250), buf, sizeof buf),
                        "2026-06-21T06:00:00.250Z");
    assert_string_equal(balkon_format_iso(-1, buf, sizeof buf), "1969-12-31T23:59:59.999Z");
}

static void test_floor(void **state)
{
    assert_int_equal(balkon_floor_ms(12345, 1000), 12000);
    assert_int_equal(balkon_floor_ms(-1, 1000), -1000);
    assert_int_equal(balkon_floor_ms(-1000, 1000), -1000);
    assert_int_equal(balkon_floor_ms(0, 300000), 0);
}

static void test_errors_and_levels(void **state)
{
    assert_string_equal(balkon_strerror(BALKON_E_PARSE), "malformed input");
    assert_string_equal(balkon_strerror(12345), "unknown error");
    enum balkon_log_level level;
    assert_int_equal(balkon_log_level_parse("warn", &level), 0);
    assert_int_equal(level, BALKON_LOG_WARN);
    assert_int_equal(balkon_log_level_parse("verbose", &level), BALKON_E_INVAL);
    assert_string_equal(balkon_log_level_name(BALKON_LOG_DEBUG), "debug");
}

static void test_holidays_and_day_types(void **state)
{
    /* Easter 2026 is 5 April, 2027 is 28 March, 2024 was 31 March. */
    assert_true(balkon_is_public_holiday_de(2026, 4, 3));  /* Good Friday */
    assert_true(balkon_is_public_holiday_de(2026, 4, 6));  /* Easter Monday */
    assert_true(balkon_is_public_holiday_de(2026, 5, 14)); /* Ascension */
    assert_true(balkon_is_public_holiday_de(2026, 5, 25)); /* Whit Monday */
    assert_true(balkon_is_public_holiday_de(2027, 3, 29)); /* Easter Monday */
    assert_true(balkon_is_public_holiday_de(2024, 5, 9));  /* Ascension */
    assert_true(balkon_is_public_holiday_de(2026, 10, 3));
    assert_true(balkon_is_public_holiday_de(2026, 12, 26));
    assert_false(balkon_is_public_holiday_de(2026, 4, 7));
    assert_false(balkon_is_public_holiday_de(2026, 11, 1)); /* regional only */
    setenv("TZ", "Europe/Berlin", 1);
    tzset();
    assert_int_equal(balkon_day_type_of(INT64_C(1781992800000) + 1),
                     BALKON_DAY_SUNDAY); /* Sun 2026-06-21 00:00 local */
    assert_int_equal(balkon_day_type_of(INT64_C(1781992800000) - 1),
                     BALKON_DAY_SATURDAY); /* Sat 23:59:59 local */
    assert_int_equal(balkon_day_type_of(INT64_C(1782079200000)),
                     BALKON_DAY_WORKDAY); /* Mon 2026-06-22 */
    assert_int_equal(balkon_day_type_of(INT64_C(1779660000000)),
                     BALKON_DAY_SUNDAY); /* Whit Monday 2026-05-25 */
    assert_string_equal(balkon_day_type_name(BALKON_DAY_SATURDAY), "saturday");
}

/* The value catalogue: listed names, the suffix fallback for the rest, the words. */
static void test_value_names(void **state)
{
    const struct balkon_value_info *v = balkon_value_info("energy_wh");
    assert_string_equal(v->unit, "Wh");
    assert_string_equal(v->ha_class, "energy");
    assert_string_equal(balkon_value_ha_state_class(v->kind), "total_increasing");
    v = balkon_value_info("stored_wh");
    assert_string_equal(v->ha_class, "energy_storage");
    assert_string_equal(balkon_value_ha_state_class(v->kind), "measurement");
    assert_string_equal(balkon_value_info("soc_pct")->ha_class, "battery");
    assert_null(balkon_value_info("limit_pct")->ha_class);
    /* Unlisted names, by suffix. */
    assert_string_equal(balkon_value_info("power_l2_w")->ha_class, "power");
    assert_string_equal(balkon_value_info("voltage_l1_v")->unit, "V");
    assert_string_equal(balkon_value_info("current_l3_a")->unit, "A");
    v = balkon_value_info("import_kwh");
    assert_string_equal(v->unit, "kWh");
    assert_int_equal(v->kind, BALKON_VALUE_COUNTER);
    assert_string_equal(balkon_value_info("solar_in_wh")->unit, "Wh");
    assert_string_equal(balkon_value_info("mode")->unit, "");
    assert_null(balkon_value_info("mode")->ha_class);
    char words[24];
    balkon_value_words("dc_power_w", words, sizeof words);
    assert_string_equal(words, "dc power");
    balkon_value_words("soc_pct", words, sizeof words);
    assert_string_equal(words, "state of charge");
    balkon_value_words("on", words, sizeof words);
    assert_string_equal(words, "on");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_time_forms),
        cmocka_unit_test(test_parse_time_rejects),
        cmocka_unit_test(test_format_iso),
        cmocka_unit_test(test_floor),
        cmocka_unit_test(test_errors_and_levels),
        cmocka_unit_test(test_holidays_and_day_types),
        cmocka_unit_test(test_value_names),
        cmocka_unit_test(test_parse_time_range),
        cmocka_unit_test(test_url_redact_and_origin),
        cmocka_unit_test(test_url_csp_source),
    };
    return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
