#include "balkon/daytype.h"

#include "balkon/timeutil.h"

#include <time.h>

/* Easter Sunday of the Gregorian calendar (the anonymous algorithm of 1876). */
static void easter_sunday(int year, int *month, int *day)
{
    int a = year % 19, b = year / 100, c = year % 100;
    int d = b / 4, e = b % 4, f = (b + 8) / 25, g = (b - f + 1) / 3;
    int h = (19 * a + b - d - g + 15) % 30;
    int i = c / 4, k = c % 4;
    int l = (32 + 2 * e + 2 * i - h - k) % 7;
    int m = (a + 11 * h + 22 * l) / 451;
    *month = (h + l - 7 * m + 114) / 31;
    *day = (h + l - 7 * m + 114) % 31 + 1;
}

bool balkon_is_public_holiday_de(int year, int month, int day)
{
    static const int fixed[][2] = {{1, 1}, {5, 1}, {10, 3}, {12, 25}, {12, 26}};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        if (fixed[i][0] == month && fixed[i][1] == day)
            return true;
    int easter_month, easter_day;
    easter_sunday(year, &easter_month, &easter_day);
    long offset = balkon_days_from_civil(year, month, day) -
                  balkon_days_from_civil(year, easter_month, easter_day);
    /* Good Friday, Easter Monday, Ascension, Whit Monday. */
    return offset == -2 || offset == 1 || offset == 39 || offset == 50;
}

enum balkon_day_type balkon_day_type_of(int64_t ts_ms)
{
    time_t t = (time_t)(ts_ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    if (tm.tm_wday == 0 ||
        balkon_is_public_holiday_de(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday))
        return BALKON_DAY_SUNDAY;
    return tm.tm_wday == 6 ? BALKON_DAY_SATURDAY : BALKON_DAY_WORKDAY;
}

const char *balkon_day_type_name(enum balkon_day_type type)
{
    switch (type) {
    case BALKON_DAY_WORKDAY:
        return "workday";
    case BALKON_DAY_SATURDAY:
        return "saturday";
    case BALKON_DAY_SUNDAY:
        return "sunday";
    }
    return "unknown";
}
