/* The streaming JSON writer (json_writer.h). */
#include "json_writer.h"

#include "balkon/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Beyond this a value has more digits than a double holds exactly in fixed notation. */
#define FIXED_LIMIT 1e15

void json_writer_init(struct json_writer *w, size_t capacity)
{
    *w = (struct json_writer){0};
    w->buf = malloc(capacity ? capacity : 64);
    if (w->buf)
        w->cap = capacity ? capacity : 64;
    else
        w->failed = true;
}

char *json_writer_finish(struct json_writer *w, size_t *len)
{
    if (w->failed) {
        json_writer_discard(w);
        return NULL;
    }
    w->buf[w->len] = '\0'; /* room is always kept for it */
    *len = w->len;
    char *text = w->buf;
    w->buf = NULL;
    return text;
}

void json_writer_discard(struct json_writer *w)
{
    free(w->buf);
    *w = (struct json_writer){.failed = true};
}

/* Room for n more bytes and the final NUL; false once out of memory. */
static bool reserve(struct json_writer *w, size_t n)
{
    if (w->failed)
        return false;
    if (w->len + n + 1 <= w->cap)
        return true;
    size_t cap = w->cap * 2;
    while (cap < w->len + n + 1)
        cap *= 2;
    char *grown = realloc(w->buf, cap);
    if (!grown) {
        w->failed = true;
        return false;
    }
    w->buf = grown;
    w->cap = cap;
    return true;
}

static void put(struct json_writer *w, const char *text, size_t n)
{
    if (reserve(w, n)) {
        memcpy(w->buf + w->len, text, n);
        w->len += n;
    }
}

/* Before a value or a key: a comma if something came before it at this level. */
static void separate(struct json_writer *w)
{
    if (w->need_comma)
        put(w, ",", 1);
}

static void open_level(struct json_writer *w, char bracket)
{
    separate(w);
    put(w, &bracket, 1);
    w->need_comma = false;
}

static void close_level(struct json_writer *w, char bracket)
{
    put(w, &bracket, 1);
    w->need_comma = true;
}

void jw_object_begin(struct json_writer *w)
{
    open_level(w, '{');
}
void jw_object_end(struct json_writer *w)
{
    close_level(w, '}');
}
void jw_array_begin(struct json_writer *w)
{
    open_level(w, '[');
}
void jw_array_end(struct json_writer *w)
{
    close_level(w, ']');
}

void jw_key(struct json_writer *w, const char *key)
{
    separate(w);
    size_t n = strlen(key);
    if (reserve(w, n + 3)) {
        w->buf[w->len++] = '"';
        memcpy(w->buf + w->len, key, n);
        w->len += n;
        w->buf[w->len++] = '"';
        w->buf[w->len++] = ':';
    }
    w->need_comma = false;
}

void jw_string(struct json_writer *w, const char *text)
{
    separate(w);
    w->need_comma = true;
    size_t n = strlen(text);
    if (!reserve(w, n * 6 + 2)) /* every byte could become \u00XX */
        return;
    char *out = w->buf + w->len;
    *out++ = '"';
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c == '"' || *c == '\\') {
            *out++ = '\\';
            *out++ = (char)*c;
        } else if (*c < 0x20) {
            static const char short_escapes[] = {
                ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
            if (*c < sizeof short_escapes && short_escapes[*c]) {
                *out++ = '\\';
                *out++ = short_escapes[*c];
            } else {
                out += sprintf(out, "\\u%04x", *c);
            }
        } else {
            *out++ = (char)*c;
        }
    }
    *out++ = '"';
    w->len = (size_t)(out - w->buf);
}

/* Writes the digits of v (>= 0) backwards from end; returns where they start. */
static char *digits_backwards(char *end, uint64_t v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

void jw_int(struct json_writer *w, int64_t value)
{
    separate(w);
    w->need_comma = true;
    char text[24];
    char *end = text + sizeof text;
    uint64_t magnitude = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
    char *start = digits_backwards(end, magnitude);
    if (value < 0)
        *--start = '-';
    put(w, start, (size_t)(end - start));
}

void jw_number(struct json_writer *w, double value, int decimals)
{
    static const double scales[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    if (!isfinite(value)) {
        jw_null(w);
        return;
    }
    if (decimals < 0)
        decimals = 0;
    if (decimals > 9)
        decimals = 9;
    double scaled = round(value * scales[decimals]);
    if (fabs(scaled) >= FIXED_LIMIT) {
        separate(w);
        w->need_comma = true;
        char text[32];
        int n = snprintf(text, sizeof text, "%1.15g", value);
        put(w, text, (size_t)n);
        return;
    }
    int64_t fixed = (int64_t)scaled;
    if (fixed == 0) { /* never "-0" */
        jw_int(w, 0);
        return;
    }
    uint64_t magnitude = fixed < 0 ? (uint64_t)(-fixed) : (uint64_t)fixed;
    /* Cut trailing zeros of the fraction, so 12.50 at 2 places is 12.5 and 3.00 is 3. */
    while (decimals > 0 && magnitude % 10 == 0) {
        magnitude /= 10;
        decimals--;
    }
    char text[40];
    char *end = text + sizeof text;
    char *start = end;
    if (decimals > 0) {
        uint64_t unit = 1;
        for (int i = 0; i < decimals; i++)
            unit *= 10;
        uint64_t fraction = magnitude % unit;
        char *fraction_start = digits_backwards(end, fraction);
        while (end - fraction_start < decimals)
            *--fraction_start = '0';
        start = fraction_start;
        *--start = '.';
        start = digits_backwards(start, magnitude / unit);
    } else {
        start = digits_backwards(end, magnitude);
    }
    if (fixed < 0)
        *--start = '-';
    separate(w);
    w->need_comma = true;
    put(w, start, (size_t)(end - start));
}

void jw_bool(struct json_writer *w, bool value)
{
    separate(w);
    w->need_comma = true;
    if (value)
        put(w, "true", 4);
    else
        put(w, "false", 5);
}

void jw_null(struct json_writer *w)
{
    separate(w);
    w->need_comma = true;
    put(w, "null", 4);
}

void jw_time(struct json_writer *w, int64_t ts_ms)
{
    char iso[BALKON_ISO_MAX];
    jw_string(w, balkon_format_iso(ts_ms, iso, sizeof iso));
}

void jw_raw_value(struct json_writer *w, const char *json, size_t len)
{
    separate(w);
    w->need_comma = true;
    put(w, json, len);
}
