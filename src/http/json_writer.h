/* A streaming JSON writer for the API's large answers (series, plans).
 *
 * cJSON builds a tree of one allocation per value and prints every number with
 * snprintf("%.15g") and a round-trip check; for a series of 100,000 buckets that is most of
 * the answer's cost. Our values are already rounded to a known number of decimals, so they
 * are written straight into one growing buffer, in fixed precision with trailing zeros cut:
 * the same JSON values cJSON would print (42, 12.5, -0.25), far faster.
 *
 * Commas are the writer's business: a value or key after another gets one. Out of memory
 * is remembered and reported once, by json_writer_finish. */
#ifndef BALKON_HTTP_JSON_WRITER_H
#define BALKON_HTTP_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_writer {
    char *buf; /* owned until json_writer_finish hands it over */
    size_t len;
    size_t cap;
    bool failed;     /* an allocation failed: the text is incomplete */
    bool need_comma; /* the last thing written was a value */
};

/* Starts an empty text with room for about capacity bytes. */
void json_writer_init(struct json_writer *w, size_t capacity);
/* The NUL-terminated text (the caller frees it) and its length; NULL when out of memory. */
char *json_writer_finish(struct json_writer *w, size_t *len);
/* Frees what was written, when the text is not wanted after all. */
void json_writer_discard(struct json_writer *w);

void jw_object_begin(struct json_writer *w);
void jw_object_end(struct json_writer *w);
void jw_array_begin(struct json_writer *w);
void jw_array_end(struct json_writer *w);
/* A key of the object being written; its value follows. key must need no escaping. */
void jw_key(struct json_writer *w, const char *key);

void jw_string(struct json_writer *w, const char *text);
/* value rounded to decimals (0..9) places, trailing zeros cut; null when not finite. */
void jw_number(struct json_writer *w, double value, int decimals);
void jw_int(struct json_writer *w, int64_t value);
void jw_bool(struct json_writer *w, bool value);
void jw_null(struct json_writer *w);
/* A time as the API writes it everywhere: an ISO-8601 string in UTC. */
void jw_time(struct json_writer *w, int64_t ts_ms);
/* Text that is already JSON (a stored summary object), written as one value. */
void jw_raw_value(struct json_writer *w, const char *json, size_t len);

#endif
