#include "balkon/timeutil.h"

#include "balkon/error.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t balkon_wall_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t balkon_floor_ms(int64_t ts_ms, int64_t step_ms)
{
    int64_t r = ts_ms % step_ms;
    return r < 0 ? ts_ms - r - step_ms : ts_ms - r;
}

char *balkon_format_iso(int64_t ts_ms, char *buf, size_t size)
{
    time_t secs = (time_t)balkon_floor_ms(ts_ms, 1000) / 1000;
    int ms = (int)(ts_ms - (int64_t)secs * 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    if (ms)
        snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    else
        snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

int64_t balkon_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int read_digits(const char **p, int count, int *out)
{
    int v = 0;
    for (int i = 0; i < count; i++) {
        if (!isdigit((unsigned char)**p))
            return -1;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    *out = v;
    return 0;
}

int balkon_parse_time(const char *text, int64_t *ts_ms_out)
{
    if (!text || !*text)
        return BALKON_E_PARSE;

    /* A bare number is Unix seconds (possibly fractional). */
    char *end;
    errno = 0;
    double secs = strtod(text, &end);
    if (*end == '\0' && errno == 0 && strchr(text + 1, '-') == NULL) {
        /* Range-checked before the conversion: a double outside int64_t's range (or NaN)
         * converted to int64_t is undefined behaviour ("1e300" read as year -292275055). */
        if (!(secs >= BALKON_TIME_MIN_S && secs <= BALKON_TIME_MAX_S))
            return BALKON_E_RANGE;
        *ts_ms_out = (int64_t)(secs * 1000.0);
        return 0;
    }

    const char *p = text;
    int year, month, day, hour = 0, minute = 0, second = 0, ms = 0;
    if (read_digits(&p, 4, &year) || *p++ != '-' || read_digits(&p, 2, &month) || *p++ != '-' ||
        read_digits(&p, 2, &day))
        return BALKON_E_PARSE;
    if (month < 1 || month > 12 || day < 1 || day > 31)
        return BALKON_E_PARSE;
    int64_t offset_s = 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (read_digits(&p, 2, &hour) || *p++ != ':' || read_digits(&p, 2, &minute))
            return BALKON_E_PARSE;
        if (*p == ':') {
            p++;
            if (read_digits(&p, 2, &second))
                return BALKON_E_PARSE;
            if (*p == '.' || *p == ',') {
                p++;
                int scale = 100;
                if (!isdigit((unsigned char)*p))
                    return BALKON_E_PARSE;
                while (isdigit((unsigned char)*p)) {
                    ms += (*p - '0') * scale;
                    scale /= 10;
                    p++;
                }
            }
        }
        if (hour > 23 || minute > 59 || second > 60)
            return BALKON_E_PARSE;
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
            if (read_digits(&p, 2, &oh))
                return BALKON_E_PARSE;
            if (*p == ':')
                p++;
            if (isdigit((unsigned char)*p) && read_digits(&p, 2, &om))
                return BALKON_E_PARSE;
            offset_s = sign * (oh * 3600 + om * 60);
        }
    }
    if (*p != '\0')
        return BALKON_E_PARSE;
    int64_t days = balkon_days_from_civil(year, month, day);
    int64_t total_s = days * 86400 + hour * 3600 + minute * 60 + second - offset_s;
    *ts_ms_out = total_s * 1000 + ms;
    return 0;
}

int64_t balkon_local_midnight_ms(int64_t ts_ms, int days)
{
    time_t t = (time_t)(balkon_floor_ms(ts_ms, 1000) / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    tm.tm_mday += days;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_isdst = -1; /* let mktime find whether that midnight is in summer time */
    return (int64_t)mktime(&tm) * 1000;
}

int balkon_parse_hhmm(const char *text)
{
    int h, m;
    char tail;
    if (strlen(text) != 5 || sscanf(text, "%2d:%2d%c", &h, &m, &tail) != 2 || h < 0 || m < 0 ||
        m > 59 || h > 24 || (h == 24 && m != 0))
        return -1;
    return h * 60 + m;
}
