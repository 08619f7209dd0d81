/* Time parsing and formatting, error strings, log level names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/daytype.h"
#include "balkon/timeutil.h"
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
        cmocka_unit_test(test_parse_time_forms),  cmocka_unit_test(test_parse_time_rejects),
        cmocka_unit_test(test_format_iso),        cmocka_unit_test(test_floor),
        cmocka_unit_test(test_errors_and_levels), cmocka_unit_test(test_holidays_and_day_types),
        cmocka_unit_test(test_value_names),
    };
    return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
