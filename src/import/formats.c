/* The four shapes of export the importer reads, all CSV:
 *
 * generic        a header row, then one row per time: the first column (or --time-column)
 *                a timestamp (ISO 8601 with a zone, or without one in site.timezone, or
 *                Unix seconds), the mapped columns values in W, kW, Wh, kWh (energy of the
 *                interval that starts at the row) or a meter's counter in Wh or kWh.
 *                Delimiter ',', ';' or tab; with ';' a decimal comma is accepted.
 *                  time,pv,house
 *                  2025-03-30T00:00:00+01:00,0,312
 * ha             Home Assistant's history download (History panel, "Download data"):
 *                  entity_id,state,last_changed
 *                  sensor.balkon_pv_power,183.5,2025-03-30T09:12:04.123Z
 *                every row one state change; "unavailable" and "unknown" are outages.
 * smard          SMARD.de's download centre, Großhandelspreise (day-ahead), CSV: German
 *                local time, ';', decimal comma, "-" for a missing price. Two layouts:
 *                  Datum von;Datum bis;Deutschland/Luxemburg [€/MWh] Originalauflösungen;…
 *                  01.10.2025 00:00;01.10.2025 00:15;101,23;…
 *                and the older hourly one
 *                  Datum;Anfang;Ende;Deutschland/Luxemburg [€/MWh] Originalauflösungen;…
 *                  15.01.2024;00:00;01:00;39,01;…
 * energy-charts  Energy-Charts' CSV download of prices: ISO times with their offset, a
 *                second header row with the unit, one column per market:
 *                  Date (GMT+1),Day Ahead Auction (DE-LU)
 *                  ,Price (EUR/MWh)
 *                  2025-01-01T00:00+01:00,0.1
 * Sources of the shapes: tests/fixtures/import/SOURCES. */
#include "import_internal.h"

#include "balkon/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES 4096

struct parser {
    const char *name;
    char *msg;
    size_t msg_size;
    char delim;
    bool decimal_comma;
    size_t line;
    char header[IMPORT_MAX_FIELDS][128];
    size_t header_count;
};

static int fail(struct parser *p, size_t column, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct parser *p, size_t column, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (column < p->header_count)
        snprintf(p->msg, p->msg_size, "%s:%zu: column %zu \"%s\": %s", p->name, p->line, column + 1,
                 p->header[column], what);
    else if (column != SIZE_MAX)
        snprintf(p->msg, p->msg_size, "%s:%zu: column %zu: %s", p->name, p->line, column + 1, what);
    else
        snprintf(p->msg, p->msg_size, "%s:%zu: %s", p->name, p->line, what);
    return BALKON_E_PARSE;
}

static int push(struct import_series *s, int64_t ts_ms, double value, size_t line, bool missing)
{
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        struct import_point *points = realloc(s->points, cap * sizeof *points);
        if (!points)
            return BALKON_E_NOMEM;
        s->points = points;
        s->cap = cap;
    }
    s->points[s->count++] = (struct import_point){ts_ms, value, line, missing, 0};
    return 0;
}

void import_file_free(struct import_file *file)
{
    for (size_t i = 0; i < file->series_count; i++)
        free(file->series[i].points);
    file->series_count = 0;
}

static struct import_series *add_series(struct import_file *out, const char *source,
                                        const char *series, enum import_kind kind)
{
    if (out->series_count == IMPORT_MAX_SERIES)
        return NULL;
    struct import_series *s = &out->series[out->series_count++];
    memset(s, 0, sizeof *s);
    snprintf(s->source, sizeof s->source, "%s", source);
    snprintf(s->series, sizeof s->series, "%s", series);
    s->kind = kind;
    return s;
}

/* The next non-empty line of text into line (LINE_MAX_BYTES), counting lines for the
 * messages: 1, 0 at the end, or an error (a line too long) with p->msg set. */
static int next_line(struct parser *p, const char *text, size_t len, size_t *pos, char *line)
{
    bool too_long;
    while (import_next_line(text, len, pos, line, LINE_MAX_BYTES, &too_long)) {
        p->line++;
        if (too_long)
            return fail(p, SIZE_MAX, "line longer than %d bytes", LINE_MAX_BYTES);
        if (line[0])
            return 1;
    }
    return 0;
}

static int read_header(struct parser *p, char *line, struct import_row *row)
{
    p->delim = import_detect_delimiter(line);
    p->decimal_comma = p->delim == ';';
    if (!import_split(line, p->delim, row))
        return fail(p, SIZE_MAX, "more than %d columns", IMPORT_MAX_FIELDS);
    p->header_count = row->count;
    for (size_t i = 0; i < row->count; i++)
        snprintf(p->header[i], sizeof p->header[i], "%s", row->fields[i]);
    return 0;
}

static int column_named(const struct parser *p, const char *name)
{
    for (size_t i = 0; i < p->header_count; i++)
        if (strcmp(p->header[i], name) == 0)
            return (int)i;
    return -1;
}

static int column_containing(const struct parser *p, const char *part)
{
    for (size_t i = 0; i < p->header_count; i++)
        if (strstr(p->header[i], part))
            return (int)i;
    return -1;
}

static bool is_missing(const char *field)
{
    return !*field || strcmp(field, "-") == 0 || strcmp(field, "unavailable") == 0 ||
           strcmp(field, "unknown") == 0 || strcmp(field, "n/a") == 0;
}

static int value_at(struct parser *p, const struct import_row *row, size_t col, double scale,
                    struct import_series *s, int64_t ts_ms)
{
    if (col >= row->count)
        return fail(p, col, "missing: the row has %zu columns, the header %zu", row->count,
                    p->header_count);
    const char *field = row->fields[col];
    if (is_missing(field))
        return push(s, ts_ms, 0, p->line, true);
    double v;
    if (!import_parse_number(field, p->decimal_comma, &v))
        return fail(p, col, "expected a number%s, got \"%s\"",
                    p->decimal_comma ? " (decimal comma)" : "", field);
    return push(s, ts_ms, v * scale, p->line, false);
}

static int parse_generic(struct parser *p, const char *text, size_t len, size_t *pos,
                         const struct import_spec *spec, struct import_file *out)
{
    int tcol = spec->time_column ? column_named(p, spec->time_column) : 0;
    if (tcol < 0)
        return fail(p, SIZE_MAX, "no column \"%s\" for --time-column in the header",
                    spec->time_column);
    int cols[IMPORT_MAX_SERIES];
    for (size_t m = 0; m < spec->map_count; m++) {
        cols[m] = column_named(p, spec->maps[m].source);
        if (cols[m] < 0)
            return fail(p, SIZE_MAX, "no column \"%s\" (--map) in the header",
                        spec->maps[m].source);
        if (!add_series(out, spec->maps[m].source, spec->maps[m].series, spec->maps[m].kind))
            return fail(p, SIZE_MAX, "too many --map");
    }
    char line[LINE_MAX_BYTES];
    struct import_row row;
    int64_t prev_ms = INT64_MIN;
    int more;
    while ((more = next_line(p, text, len, pos, line)) > 0) {
        if (!import_split(line, p->delim, &row))
            return fail(p, SIZE_MAX, "more than %d columns", IMPORT_MAX_FIELDS);
        if ((size_t)tcol >= row.count)
            return fail(p, (size_t)tcol, "missing");
        int64_t ts_ms;
        char why[160];
        if (import_parse_time(row.fields[tcol], prev_ms, &ts_ms, why, sizeof why))
            return fail(p, (size_t)tcol, "%s", why);
        prev_ms = ts_ms;
        out->rows++;
        for (size_t m = 0; m < spec->map_count; m++) {
            int err =
                value_at(p, &row, (size_t)cols[m], spec->maps[m].scale, &out->series[m], ts_ms);
            if (err)
                return err;
        }
    }
    return more; /* 0 at the end, or next_line's error */
}

static int parse_ha(struct parser *p, const char *text, size_t len, size_t *pos,
                    const struct import_spec *spec, struct import_file *out)
{
    if (p->header_count < 3 || strcmp(p->header[0], "entity_id") != 0 ||
        strcmp(p->header[1], "state") != 0 || strcmp(p->header[2], "last_changed") != 0)
        return fail(p, SIZE_MAX,
                    "not a Home Assistant history export: the header must be "
                    "\"entity_id,state,last_changed\"");
    for (size_t m = 0; m < spec->map_count; m++) {
        struct import_series *s =
            add_series(out, spec->maps[m].source, spec->maps[m].series, spec->maps[m].kind);
        if (!s)
            return fail(p, SIZE_MAX, "too many --map");
        s->hold = true; /* states, not a regular table */
    }
    char line[LINE_MAX_BYTES];
    struct import_row row;
    int more;
    while ((more = next_line(p, text, len, pos, line)) > 0) {
        if (!import_split(line, p->delim, &row) || row.count < 3)
            return fail(p, SIZE_MAX, "expected entity_id,state,last_changed");
        out->rows++;
        size_t m = 0;
        while (m < spec->map_count && strcmp(spec->maps[m].source, row.fields[0]) != 0)
            m++;
        if (m == spec->map_count) {
            out->ignored++;
            continue;
        }
        int64_t ts_ms;
        char why[160];
        if (import_parse_time(row.fields[2], INT64_MIN, &ts_ms, why, sizeof why))
            return fail(p, 2, "%s", why);
        int err = value_at(p, &row, 1, spec->maps[m].scale, &out->series[m], ts_ms);
        if (err)
            return err;
    }
    return more; /* 0 at the end, or next_line's error */
}

/* SMARD and Energy-Charts: one price column in EUR/MWh, each row a slot. */
static int parse_prices(struct parser *p, const char *text, size_t len, size_t *pos,
                        const struct import_spec *spec, struct import_file *out)
{
    bool smard = spec->format == BALKON_IMPORT_SMARD;
    bool old_smard = smard && column_named(p, "Anfang") == 1;
    if (smard && !old_smard && column_named(p, "Datum von") != 0)
        return fail(p, SIZE_MAX,
                    "not a SMARD price download: the header must start with \"Datum von;Datum "
                    "bis;\" or \"Datum;Anfang;Ende;\"");
    if (!smard && strncmp(p->header[0], "Date", 4) != 0)
        return fail(p, SIZE_MAX,
                    "not an Energy-Charts download: the first column must be \"Date (…)\"");
    const char *want = spec->price_column ? spec->price_column
                       : smard            ? "Deutschland/Luxemburg [€/MWh]"
                                          : "Day Ahead Auction (DE-LU)";
    int pcol = column_containing(p, want);
    if (pcol < 0)
        return fail(p, SIZE_MAX, "no price column \"%s\" in the header (--price-column)", want);
    struct import_series *s = add_series(out, p->header[pcol], "price", IMPORT_POWER);
    if (!s)
        return BALKON_E_NOMEM;
    char line[LINE_MAX_BYTES];
    struct import_row row;
    int64_t prev_ms = INT64_MIN;
    int more;
    while ((more = next_line(p, text, len, pos, line)) > 0) {
        if (!import_split(line, p->delim, &row))
            return fail(p, SIZE_MAX, "more than %d columns", IMPORT_MAX_FIELDS);
        /* Energy-Charts' second header row holds the units: no time in its first field. */
        int64_t probe_ms;
        char probe_why[160];
        if (!smard && p->line == 2 &&
            (!row.count ||
             import_parse_time(row.fields[0], INT64_MIN, &probe_ms, probe_why, sizeof probe_why)))
            continue;
        int64_t from_ms = 0, to_ms = 0;
        char why[160], stamp[64];
        size_t tcol = 0;
        int err;
        if (old_smard) {
            snprintf(stamp, sizeof stamp, "%s %s", row.fields[0],
                     row.count > 1 ? row.fields[1] : "");
            tcol = 1;
            err = import_parse_time(stamp, prev_ms, &from_ms, why, sizeof why);
            if (!err && row.count > 2) {
                snprintf(stamp, sizeof stamp, "%s %s", row.fields[0], row.fields[2]);
                tcol = 2;
                /* "Ende" 00:00 is the next day's midnight. */
                err = strcmp(row.fields[2], "00:00") == 0
                          ? (to_ms = from_ms + 3600000, 0)
                          : import_parse_time(stamp, from_ms, &to_ms, why, sizeof why);
            }
        } else {
            err = import_parse_time(row.fields[0], prev_ms, &from_ms, why, sizeof why);
            if (!err && smard && row.count > 1) {
                tcol = 1;
                err = import_parse_time(row.fields[1], from_ms, &to_ms, why, sizeof why);
            }
        }
        if (err)
            return fail(p, tcol, "%s", why);
        if (smard && to_ms <= from_ms)
            return fail(p, tcol, "the slot ends before it starts");
        prev_ms = from_ms;
        out->rows++;
        if ((err = value_at(p, &row, (size_t)pcol, 1.0, s, from_ms)))
            return err;
        if (smard)
            s->points[s->count - 1].span_ms = to_ms - from_ms;
    }
    return more; /* 0 at the end, or next_line's error */
}

int import_parse_file(const char *name, const char *text, size_t len,
                      const struct import_spec *spec, struct import_file *out, char *msg,
                      size_t msg_size)
{
    memset(out, 0, sizeof *out);
    out->name = name;
    out->format = spec->format;
    struct parser p = {.name = name, .msg = msg, .msg_size = msg_size};
    char line[LINE_MAX_BYTES];
    bool too_long;
    size_t pos = 0;
    struct import_row row;
    if (!import_next_line(text, len, &pos, line, sizeof line, &too_long)) {
        snprintf(msg, msg_size, "%s: the file is empty", name);
        return BALKON_E_PARSE;
    }
    p.line = 1;
    int err = too_long ? fail(&p, SIZE_MAX, "line longer than %d bytes", LINE_MAX_BYTES)
                       : read_header(&p, line, &row);
    if (!err) {
        switch (spec->format) {
        case BALKON_IMPORT_GENERIC:
            err = parse_generic(&p, text, len, &pos, spec, out);
            break;
        case BALKON_IMPORT_HA:
            err = parse_ha(&p, text, len, &pos, spec, out);
            break;
        case BALKON_IMPORT_SMARD:
        case BALKON_IMPORT_ENERGY_CHARTS:
            err = parse_prices(&p, text, len, &pos, spec, out);
            break;
        }
    }
    if (err == BALKON_E_NOMEM)
        snprintf(msg, msg_size, "%s: out of memory", name);
    if (err)
        import_file_free(out);
    return err;
}
