#include "local_days.h"

#include <time.h>

int64_t local_midnight_after_ms(int64_t ts_ms, int days)
{
    time_t t = (time_t)(ts_ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    tm.tm_mday += days;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_isdst = -1; /* let mktime find whether that midnight is in summer time */
    return (int64_t)mktime(&tm) * 1000;
}

int64_t local_midnight_ms(int64_t ts_ms) { return local_midnight_after_ms(ts_ms, 0); }
