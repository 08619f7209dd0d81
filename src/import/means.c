/* From readings to 15-minute means. Exports come as readings at points in time; the
 * replay wants the mean power of each 15-minute slot. What a reading means:
 *
 *   power (W, kW), a table   the power from the reading until the next one, at most for the
 *                            file's usual spacing (the median of its intervals);
 *   power, Home Assistant    a state holds until the next state, at most max_hold_ms (a
 *                            PV sensor may sit at 0 W through a winter night);
 *   energy (Wh, kWh)         the energy of the usual spacing from the reading on;
 *   counter (Wh, kWh)        the energy between two readings is their difference, spread
 *                            evenly between them, but only over an interval of at most
 *                            1.5 spacings (max_hold_ms for Home Assistant): a longer one is
 *                            a gap, since where in it the energy went is unknown. A counter
 *                            that goes down was reset (a new meter, an overflow, a restart
 *                            of the integration): the interval's energy is the new reading,
 *                            counted from zero, as Home Assistant's statistics count it.
 *
 * A slot gets a mean only when its whole 15 minutes are covered. Nothing is interpolated:
 * the slots left without a mean are gaps, reported and not stored. */
#include "import_internal.h"

#include "balkon/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SPAN_MS (INT64_C(20) * 366 * 86400000) /* twenty years of slots at most */
#define COVER_TOLERANCE_MS 1000

static int by_time(const void *a, const void *b)
{
    const struct import_point *x = a, *y = b;
    if (x->ts_ms != y->ts_ms)
        return x->ts_ms < y->ts_ms ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int by_value(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t floor_slot(int64_t ts_ms)
{
    int64_t r = ts_ms % IMPORT_SLOT_MS;
    return ts_ms - (r < 0 ? r + IMPORT_SLOT_MS : r);
}

/* The median spacing of the readings; 0 with fewer than two. */
static int64_t usual_spacing(const struct import_point *p, size_t n)
{
    if (n < 2)
        return 0;
    int64_t *d = malloc((n - 1) * sizeof *d);
    if (!d)
        return -1;
    size_t k = 0;
    for (size_t i = 1; i < n; i++)
        if (p[i].ts_ms > p[i - 1].ts_ms)
            d[k++] = p[i].ts_ms - p[i - 1].ts_ms;
    qsort(d, k, sizeof *d, by_value);
    int64_t median = k ? d[k / 2] : 0;
    free(d);
    return median;
}

/* Adds power_w over [a, b) to the slots. */
static void spread(struct import_means *m, double *covered_ms, double *energy, int64_t a, int64_t b,
                   double power_w)
{
    for (int64_t slot = floor_slot(a); slot < b; slot += IMPORT_SLOT_MS) {
        int64_t lo = a > slot ? a : slot;
        int64_t hi = b < slot + IMPORT_SLOT_MS ? b : slot + IMPORT_SLOT_MS;
        size_t k = (size_t)((slot - m->first_ms) / IMPORT_SLOT_MS);
        if (hi > lo && k < m->count) {
            covered_ms[k] += (double)(hi - lo);
            energy[k] += power_w * (double)(hi - lo);
        }
    }
}

void import_means_free(struct import_means *means)
{
    free(means->value_w);
    free(means->gaps);
    memset(means, 0, sizeof *means);
}

int import_means(const struct import_series *series, int64_t max_hold_ms, struct import_means *out,
                 char *msg, size_t msg_size)
{
    memset(out, 0, sizeof *out);
    size_t n = series->count;
    struct import_point *p = n ? malloc(n * sizeof *p) : NULL;
    if (n && !p)
        return BALKON_E_NOMEM;
    if (n)
        memcpy(p, series->points, n * sizeof *p);
    qsort(p, n, sizeof *p, by_time);
    int err = 0;
    double *covered = NULL, *energy = NULL;
    for (size_t i = 1; i < n; i++)
        if (p[i].ts_ms == p[i - 1].ts_ms) {
            time_t t = (time_t)(p[i].ts_ms / 1000);
            struct tm tm;
            char at[32];
            gmtime_r(&t, &tm);
            strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
            snprintf(msg, msg_size,
                     "line %zu: \"%s\" has a second reading for %s (first on line %zu)", p[i].line,
                     series->source, at, p[i - 1].line);
            err = BALKON_E_PARSE;
            goto done;
        }
    size_t valid = 0;
    for (size_t i = 0; i < n; i++)
        valid += !p[i].missing;
    if (valid < 2) {
        snprintf(msg, msg_size, "\"%s\": fewer than two readings with a value", series->source);
        err = BALKON_E_PARSE;
        goto done;
    }
    int64_t spacing = usual_spacing(p, n);
    if (spacing < 0) {
        err = BALKON_E_NOMEM;
        goto done;
    }
    int64_t span_limit = series->hold ? max_hold_ms : spacing + spacing / 2;
    if (p[n - 1].ts_ms - p[0].ts_ms > MAX_SPAN_MS) {
        snprintf(msg, msg_size, "line %zu: \"%s\" spans more than twenty years", p[n - 1].line,
                 series->source);
        err = BALKON_E_RANGE;
        goto done;
    }
    out->first_ms = floor_slot(p[0].ts_ms);
    out->count = (size_t)((p[n - 1].ts_ms + spacing - out->first_ms) / IMPORT_SLOT_MS) + 2;
    covered = calloc(out->count, sizeof *covered);
    energy = calloc(out->count, sizeof *energy);
    out->value_w = malloc(out->count * sizeof *out->value_w);
    if (!covered || !energy || !out->value_w) {
        err = BALKON_E_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const struct import_point *r = &p[i];
        int64_t next = i + 1 < n ? p[i + 1].ts_ms : INT64_MAX;
        switch (series->kind) {
        case IMPORT_POWER:
            if (r->missing || (series->hold && next == INT64_MAX))
                break;
            spread(out, covered, energy, r->ts_ms,
                   series->hold ? (next - r->ts_ms <= max_hold_ms ? next : r->ts_ms + max_hold_ms)
                                : (next < r->ts_ms + spacing ? next : r->ts_ms + spacing),
                   r->value);
            break;
        case IMPORT_ENERGY:
            if (!r->missing)
                spread(out, covered, energy, r->ts_ms,
                       next < r->ts_ms + spacing ? next : r->ts_ms + spacing,
                       r->value * 3600000.0 / (double)spacing);
            break;
        case IMPORT_COUNTER: {
            if (i == 0 || r->missing || p[i - 1].missing)
                break;
            int64_t dt = r->ts_ms - p[i - 1].ts_ms;
            if (dt > span_limit)
                break;
            double delta_wh = r->value - p[i - 1].value;
            if (delta_wh < 0) {
                if (!out->resets++)
                    out->first_reset_line = r->line;
                delta_wh = r->value;
            }
            spread(out, covered, energy, p[i - 1].ts_ms, r->ts_ms,
                   delta_wh * 3600000.0 / (double)dt);
            break;
        }
        }
    }
    size_t first = SIZE_MAX, last = 0;
    for (size_t k = 0; k < out->count; k++) {
        bool full = covered[k] >= (double)(IMPORT_SLOT_MS - COVER_TOLERANCE_MS);
        out->value_w[k] = full ? energy[k] / covered[k] : NAN;
        if (full) {
            first = first == SIZE_MAX ? k : first;
            last = k;
        }
    }
    if (first == SIZE_MAX) {
        snprintf(msg, msg_size, "\"%s\": no 15-minute slot is fully covered by readings",
                 series->source);
        err = BALKON_E_PARSE;
        goto done;
    }
    /* Trim to the first and last slot with a mean. */
    memmove(out->value_w, out->value_w + first, (last - first + 1) * sizeof *out->value_w);
    out->first_ms += (int64_t)first * IMPORT_SLOT_MS;
    out->count = last - first + 1;
    size_t gap_cap = 0;
    for (size_t k = 0; k < out->count; k++) {
        if (isfinite(out->value_w[k])) {
            out->filled++;
            out->energy_wh += out->value_w[k] / 4;
            continue;
        }
        int64_t at = out->first_ms + (int64_t)k * IMPORT_SLOT_MS;
        if (out->gap_count && out->gaps[out->gap_count - 1].to_ms == at) {
            out->gaps[out->gap_count - 1].to_ms = at + IMPORT_SLOT_MS;
            continue;
        }
        if (out->gap_count == gap_cap) {
            gap_cap = gap_cap ? gap_cap * 2 : 16;
            struct import_gap *g = realloc(out->gaps, gap_cap * sizeof *g);
            if (!g) {
                err = BALKON_E_NOMEM;
                goto done;
            }
            out->gaps = g;
        }
        out->gaps[out->gap_count++] = (struct import_gap){at, at + IMPORT_SLOT_MS};
    }
done:
    if (err == BALKON_E_NOMEM)
        snprintf(msg, msg_size, "out of memory");
    if (err)
        import_means_free(out);
    free(covered);
    free(energy);
    free(p);
    return err;
}

size_t import_pv_suspect_days(const struct import_means *means, double night_w, char (*dates)[11],
                              size_t max)
{
    size_t found = 0;
    size_t k = 0;
    while (k < means->count) {
        time_t t = (time_t)((means->first_ms + (int64_t)k * IMPORT_SLOT_MS) / 1000);
        struct tm day;
        localtime_r(&t, &day);
        double night_sum = 0, first = NAN;
        size_t night_n = 0, n = 0;
        bool flat = true;
        for (; k < means->count; k++) {
            time_t u = (time_t)((means->first_ms + (int64_t)k * IMPORT_SLOT_MS) / 1000);
            struct tm tm;
            localtime_r(&u, &tm);
            if (tm.tm_yday != day.tm_yday || tm.tm_year != day.tm_year)
                break;
            double v = means->value_w[k];
            if (!isfinite(v))
                continue;
            if (tm.tm_hour < 3)
                night_sum += v, night_n++;
            if (n++ == 0)
                first = v;
            else if (fabs(v - first) > 1e-9)
                flat = false;
        }
        bool night = night_n && night_sum / (double)night_n > night_w;
        bool constant = n >= 48 && flat && first > 0;
        if (night || constant) {
            if (found < max)
                strftime(dates[found], 11, "%Y-%m-%d", &day);
            found++;
        }
    }
    return found;
}
