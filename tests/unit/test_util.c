/* Time parsing and formatting, error strings, log level names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/timeutil.h"

#include <stdint.h>
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
    const char *bad[] = {"", "yesterday", "2026-13-01", "2026-06-21T25:00:00Z", "2026-06-21T06:00:00Zjunk",
                         "2026-6-21", "2026-06-21T06", "12abc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ts_ms;
        if (balkon_parse_time(bad[i], &ts_ms) != BALKON_E_PARSE)
            fail_msg("accepted \"%s\"", bad[i]);
    }
}

static void test_format_iso(void **state)
{
    char buf[BALKON_ISO_MAX];
    assert_string_equal(balkon_format_iso(INT64_C(1782021600000), buf, sizeof buf), "2026-06-21T06:00:00Z");
    assert_string_equal(balkon_format_iso(INT64_C(1782021600250), buf, sizeof buf), "2026-06-21T06:00:00.250Z");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_time_forms),   cmocka_unit_test(test_parse_time_rejects),
        cmocka_unit_test(test_format_iso),         cmocka_unit_test(test_floor),
        cmocka_unit_test(test_errors_and_levels),
    };
    return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
