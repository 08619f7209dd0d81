/* Time helpers. All timestamps are UTC milliseconds since the Unix epoch (ts_ms). */
#ifndef BALKON_TIMEUTIL_H
#define BALKON_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#define BALKON_MS_PER_S INT64_C(1000)
#define BALKON_MS_PER_MIN INT64_C(60000)
#define BALKON_MS_PER_HOUR INT64_C(3600000)
#define BALKON_MS_PER_DAY INT64_C(86400000)

/* Wall-clock now (CLOCK_REALTIME). */
int64_t balkon_wall_now_ms(void);

/* Writes "2026-06-21T12:00:00Z" (or with ".123" when ms are not zero) into buf.
 * Returns buf. buf must hold BALKON_ISO_MAX bytes. */
#define BALKON_ISO_MAX 32
char *balkon_format_iso(int64_t ts_ms, char *buf, size_t size);

/* Parses an ISO-8601 date-time ("2026-06-21T12:00:00Z", "...+02:00", fractional seconds
 * allowed), a plain date ("2026-06-21", taken as 00:00 UTC), or a number of Unix seconds
 * between BALKON_TIME_MIN_S and BALKON_TIME_MAX_S (the years 0000 to 9999, the same range
 * the ISO form can spell). Returns 0, BALKON_E_PARSE, or BALKON_E_RANGE for a number
 * outside that range (or NaN/infinite). */
#define BALKON_TIME_MIN_S (-62167219200.0) /* 0000-01-01T00:00:00Z */
#define BALKON_TIME_MAX_S 253402300799.0   /* 9999-12-31T23:59:59Z */
int balkon_parse_time(const char *text, int64_t *ts_ms_out);

/* Days from 1970-01-01 to a civil date (proleptic Gregorian; month 1-12), without
 * timegm's time-zone games. */
int64_t balkon_days_from_civil(int year, int month, int day);

/* Local midnight (process time zone) `days` calendar days after the local day holding
 * ts_ms; days 0 is that day's own midnight. DST-safe: days may have 23 or 25 hours. */
int64_t balkon_local_midnight_ms(int64_t ts_ms, int days);

/* Minutes since midnight of "HH:MM" (00:00 … 24:00), or -1 when malformed. */
int balkon_parse_hhmm(const char *text);

/* Floors ts_ms to a multiple of step_ms (works for negative timestamps too). */
int64_t balkon_floor_ms(int64_t ts_ms, int64_t step_ms);

#endif
