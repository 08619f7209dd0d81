/* The CSV layer of the importer: lines, fields, numbers and timestamps. Exports differ in
 * their delimiter (',' from Home Assistant and Energy-Charts, ';' from SMARD and German
 * meter portals), decimal mark and time format; everything here is a pure function of its
 * input, apart from the local-time conversion, which uses the process's TZ. */
#include "import_internal.h"

#include "balkon/error.h"
#include "balkon/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool import_next_line(const char *text, size_t len, size_t *pos, char *buf, size_t size,
                      bool *too_long)
{
    *too_long = false;
    if (*pos == 0 && len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        *pos = 3;
    if (*pos >= len)
        return false;
    size_t start = *pos, end = start;
    while (end < len && text[end] != '\n')
        end++;
    *pos = end < len ? end + 1 : end;
    size_t n = end - start;
    if (n && text[start + n - 1] == '\r')
        n--;
    if (n >= size) {
        *too_long = true;
        n = size - 1;
    }
    memcpy(buf, text + start, n);
    buf[n] = '\0';
    return true;
}

char import_detect_delimiter(const char *header)
{
    size_t semi = 0, comma = 0, tab = 0;
    bool quoted = false;
    for (const char *p = header; *p; p++) {
        if (*p == '"')
            quoted = !quoted;
        else if (!quoted)
            semi += *p == ';', comma += *p == ',', tab += *p == '\t';
    }
    return semi >= comma && semi >= tab && semi ? ';' : tab > comma ? '\t' : ',';
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

bool import_split(char *line, char delim, struct import_row *row)
{
    row->count = 0;
    char *p = line;
    for (;;) {
        if (row->count == IMPORT_MAX_FIELDS)
            return false;
        while (*p == ' ' || *p == '\t')
            p++;
        char *field = p;
        if (*p == '"') {
            /* Quoted: copy down over the doubled quotes, up to the closing quote. */
            char *out = field;
            p++;
            while (*p && !(*p == '"' && p[1] != '"')) {
                if (*p == '"')
                    p++;
                *out++ = *p++;
            }
            if (*p == '"')
                p++;
            while (*p && *p != delim)
                p++;
            char *next = *p ? p + 1 : NULL;
            *out = '\0';
            row->fields[row->count++] = field;
            if (!next)
                return true;
            p = next;
            continue;
        }
        while (*p && *p != delim)
            p++;
        char *next = *p ? p + 1 : NULL;
        *p = '\0';
        row->fields[row->count++] = trim(field);
        if (!next)
            return true;
        p = next;
    }
}

bool import_parse_number(const char *field, bool decimal_comma, double *out)
{
    char buf[64];
    size_t n = 0;
    for (const char *p = field; *p; p++) {
        char c = *p;
        if (decimal_comma && c == '.')
            continue; /* thousands */
        if (decimal_comma && c == ',')
            c = '.';
        else if (!decimal_comma && c == ',')
            return false;
        if (n + 1 >= sizeof buf)
            return false;
        buf[n++] = c;
    }
    buf[n] = '\0';
    if (!n)
        return false;
    char *end = NULL;
    errno = 0;
    double v = strtod(buf, &end);
    if (errno || *end || !isfinite(v) || isalpha((unsigned char)buf[0]))
        return false;
    *out = v;
    return true;
}

int import_local_to_utc(int year, int month, int day, int hour, int minute, int second,
                        int64_t prev_ms, int64_t *out_ms, char *why, size_t why_size)
{
    time_t found[2];
    int n = 0;
    for (int dst = 0; dst <= 1; dst++) {
        struct tm tm = {.tm_year = year - 1900,
                        .tm_mon = month - 1,
                        .tm_mday = day,
                        .tm_hour = hour,
                        .tm_min = minute,
                        .tm_sec = second,
                        .tm_isdst = dst};
        time_t t = mktime(&tm);
        if (t == (time_t)-1 || tm.tm_isdst != dst || tm.tm_hour != hour || tm.tm_min != minute ||
            tm.tm_mday != day)
            continue;
        found[n++] = t;
    }
    if (n == 0) {
        snprintf(why, why_size, "%02d:%02d does not exist on %04d-%02d-%02d in this time zone",
                 hour, minute, year, month, day);
        return BALKON_E_PARSE;
    }
    time_t first = found[0], second_t = found[0];
    if (n == 2 && found[0] != found[1]) {
        first = found[0] < found[1] ? found[0] : found[1];
        second_t = found[0] < found[1] ? found[1] : found[0];
    }
    time_t t = (int64_t)first * 1000 > prev_ms ? first : second_t;
    *out_ms = (int64_t)t * 1000;
    return 0;
}

/* Parses "+HH:MM", "+HHMM", "+HH", "Z", "UTC" into seconds east of UTC. */
static bool parse_zone(const char *p, int *offset_s)
{
    if (strcmp(p, "Z") == 0 || strcmp(p, "UTC") == 0 || strcmp(p, " UTC") == 0) {
        *offset_s = 0;
        return true;
    }
    if (*p != '+' && *p != '-')
        return false;
    int sign = *p == '-' ? -1 : 1, h = 0, m = 0;
    p++;
    if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
        return false;
    h = (p[0] - '0') * 10 + (p[1] - '0');
    p += 2;
    if (*p == ':')
        p++;
    if (*p) {
        if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]) || p[2])
            return false;
        m = (p[0] - '0') * 10 + (p[1] - '0');
    }
    if (h > 14 || m > 59)
        return false;
    *offset_s = sign * (h * 3600 + m * 60);
    return true;
}

int import_parse_time(const char *field, int64_t prev_ms, int64_t *out_ms, char *why,
                      size_t why_size)
{
    size_t len = strlen(field);
    bool digits = len >= 9;
    for (size_t i = 0; i < len && digits; i++)
        digits = isdigit((unsigned char)field[i]);
    if (digits) {
        *out_ms = strtoll(field, NULL, 10) * 1000;
        return 0;
    }
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, consumed = 0;
    double sec = 0;
    const char *rest = NULL;
    if (sscanf(field, "%4d-%2d-%2d%*1[T ]%2d:%2d%n", &y, &mo, &d, &h, &mi, &consumed) == 5) {
        rest = field + consumed;
    } else if (sscanf(field, "%2d.%2d.%4d %2d:%2d%n", &d, &mo, &y, &h, &mi, &consumed) == 5) {
        rest = field + consumed;
    } else {
        snprintf(why, why_size,
                 "\"%s\" is not a timestamp (YYYY-MM-DDTHH:MM[:SS][zone], "
                 "DD.MM.YYYY HH:MM or Unix seconds)",
                 field);
        return BALKON_E_PARSE;
    }
    if (*rest == ':') {
        char *end = NULL;
        sec = strtod(rest + 1, &end);
        rest = end;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec < 0 || sec >= 61) {
        snprintf(why, why_size, "\"%s\" is not a valid date and time", field);
        return BALKON_E_PARSE;
    }
    if (*rest) {
        int offset_s = 0;
        if (!parse_zone(rest, &offset_s)) {
            snprintf(why, why_size, "\"%s\": unknown time zone \"%s\"", field, rest);
            return BALKON_E_PARSE;
        }
        int64_t s = balkon_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 - offset_s;
        *out_ms = s * 1000 + (int64_t)llround(sec * 1000);
        return 0;
    }
    int err = import_local_to_utc(y, mo, d, h, mi, (int)sec, prev_ms, out_ms, why, why_size);
    if (!err)
        *out_ms += (int64_t)llround((sec - (int)sec) * 1000);
    return err;
}
