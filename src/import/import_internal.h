/* `balkonsolard import`: its parts. The parsers (csv.c, formats.c) are pure functions from
 * a file's bytes to readings or an error naming file, line and column; means.c turns a
 * series' readings into 15-minute means and reports the gaps, resets and implausible days
 * it finds; command.c reads the options and the files and writes the database. */
#ifndef BALKON_IMPORT_INTERNAL_H
#define BALKON_IMPORT_INTERNAL_H

#include "balkon/import.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMPORT_SLOT_MS INT64_C(900000)
#define IMPORT_MAX_FIELDS 64
#define IMPORT_MAX_SERIES 16

/* --- csv.c ------------------------------------------------------------------------- */

/* A line split into fields, in place (the line's buffer is modified). */
struct import_row {
    char *fields[IMPORT_MAX_FIELDS];
    size_t count;
};

/* Walks text line by line: *pos is advanced past the line, line_no counts from 1. A UTF-8
 * byte order mark before the first line is skipped. Returns false at the end. The line is
 * copied into buf (size bytes; a longer line is an error: *too_long). */
bool import_next_line(const char *text, size_t len, size_t *pos, char *buf, size_t size,
                      bool *too_long);

/* The delimiter of a header line: ';', '\t' or ','. */
char import_detect_delimiter(const char *header);

/* Splits line into fields at delim, honouring double quotes ("a;b", "say ""x"""); trims
 * blanks around unquoted fields. Returns false with more than IMPORT_MAX_FIELDS fields. */
bool import_split(char *line, char delim, struct import_row *row);

/* A number with '.' as the decimal point, or ',' when decimal_comma (then '.' groups
 * thousands: "1.234,5"). The whole field must be the number. */
bool import_parse_number(const char *field, bool decimal_comma, double *out);

/* A timestamp: ISO 8601 "YYYY-MM-DD[T ]HH:MM[:SS[.fff]]" with "Z", "+HH:MM", "+HHMM" or
 * "UTC", or without a zone (then local time in the process's TZ), or Unix seconds (9 or
 * more digits, UTC), or "DD.MM.YYYY HH:MM" (local). A local time that occurs twice (the
 * autumn hour) is taken as its first occurrence unless that is not after prev_ms (the
 * previous row's time), as exports list the hour twice in order. Returns 0, or a message
 * in why: "is not a timestamp", "02:30 does not exist on 2025-03-30 in this zone". */
int import_parse_time(const char *field, int64_t prev_ms, int64_t *out_ms, char *why,
                      size_t why_size);

/* Local date and time fields to UTC ms (TZ of the process), with the rules above. */
int import_local_to_utc(int year, int month, int day, int hour, int minute, int second,
                        int64_t prev_ms, int64_t *out_ms, char *why, size_t why_size);

/* --- formats.c ----------------------------------------------------------------------- */

enum import_kind {
    IMPORT_POWER,   /* W or kW: the power from this reading on */
    IMPORT_ENERGY,  /* Wh or kWh in the interval that starts at the reading */
    IMPORT_COUNTER, /* Wh or kWh of a meter's counter */
};

/* One reading; missing: the file says there was no value ("-", "unavailable"). */
struct import_point {
    int64_t ts_ms;
    double value; /* W, Wh or EUR/MWh (scaled from kW and kWh) */
    size_t line;
    bool missing;
    int64_t span_ms; /* prices with an end column (SMARD): the slot's length; else 0 */
};

struct import_series {
    char source[128]; /* the column or entity it came from */
    char series[64];  /* the database's name: "pv_w", "home_w"; "price" for prices */
    enum import_kind kind;
    bool hold;       /* a state that holds until the next one (Home Assistant) */
    int64_t slot_ms; /* prices: the length of each row's slot */
    struct import_point *points;
    size_t count, cap;
};

struct import_file {
    const char *name;
    enum balkon_import_format format;
    struct import_series series[IMPORT_MAX_SERIES];
    size_t series_count;
    size_t rows;    /* data rows read */
    size_t ignored; /* rows of entities that were not mapped (Home Assistant) */
};

/* What to take from the file: a column (generic) or an entity (Home Assistant) into a
 * series, with its unit. Prices need none (the price column is found by its header, or
 * price_column). */
struct import_map {
    char source[128];
    char series[64];
    enum import_kind kind;
    double scale; /* to W or Wh: 1 or 1000 */
};

struct import_spec {
    enum balkon_import_format format;
    const struct import_map *maps;
    size_t map_count;
    const char *time_column;  /* generic: NULL for the first column */
    const char *price_column; /* prices: NULL for the market's default */
};

/* Parses a whole file. Returns 0, or BALKON_E_PARSE with msg "FILE:LINE: column "X": ...". */
int import_parse_file(const char *name, const char *text, size_t len,
                      const struct import_spec *spec, struct import_file *out, char *msg,
                      size_t msg_size);
void import_file_free(struct import_file *file);

/* --- means.c ------------------------------------------------------------------------- */

/* A run of 15-minute slots without data inside the imported range. */
struct import_gap {
    int64_t from_ms, to_ms;
};

struct import_means {
    int64_t first_ms; /* first slot */
    size_t count;     /* slots from first_ms, with or without a value */
    double *value_w;  /* NAN where the slot is not fully covered */
    size_t filled;
    struct import_gap *gaps;
    size_t gap_count;
    size_t resets; /* counter resets */
    size_t first_reset_line;
    double energy_wh;
};

/* 15-minute means of a power, energy or counter series (docs/import.md, "From readings to
 * slots"). A slot gets a mean only where its whole 15 minutes are covered; a reading holds
 * for the file's usual spacing (max_hold_ms for states that hold until the next one), a
 * counter's difference is spread only over an interval no longer than max_hold_ms. */
int import_means(const struct import_series *series, int64_t max_hold_ms, struct import_means *out,
                 char *msg, size_t msg_size);
void import_means_free(struct import_means *means);

/* Local days (process TZ) on which PV looks wrong: a mean above night_w between 00:00 and
 * 03:00 local time, or the same value > 0 in every slot of the day. Writes up to max dates
 * "YYYY-MM-DD" into dates (11 bytes each) and returns how many days there were. */
size_t import_pv_suspect_days(const struct import_means *means, double night_w, char (*dates)[11],
                              size_t max);

#endif
