/* Puts every provider's points onto the grid of 15-minute UTC slots.
 *
 * An interval covering several slots (an hourly price, a 30-minute forecast) repeats its
 * value in each; this is right for prices (the same price all hour) and for mean powers.
 * Points that cannot be placed honestly are rejected with a reason rather than bent onto
 * the grid, and the rest of the series is kept. Holes (a missing hour inside the range) are
 * counted and reported, never interpolated: a made-up price is worse than a missing one. */
#include "balkon/provider.h"

#include "balkon/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A series longer than this is refused as implausible (Solcast gives 7 days, the longest). */
#define MAX_SLOTS (14 * 96)

static int compare_start(const void *a, const void *b)
{
    const struct provider_slot *x = a, *y = b;
    return x->start_ms < y->start_ms ? -1 : x->start_ms > y->start_ms;
}

int provider_normalize(struct provider_result *result, const struct provider_limits *limits,
                       struct provider_slots *out)
{
    memset(out, 0, sizeof *out);
    size_t capacity = 0;
    for (size_t i = 0; i < result->count; i++) {
        const struct provider_point *p = &result->points[i];
        int64_t length_ms = p->end_ms - p->start_ms;
        if (!isfinite(p->value)) {
            provider_result_reject(result, p->source_index, "null_value");
            continue;
        }
        if (length_ms <= 0 || length_ms % BALKON_SLOT_MS != 0 ||
            p->start_ms % BALKON_SLOT_MS != 0) {
            provider_result_reject(result, p->source_index, "misaligned");
            continue;
        }
        if (limits && (p->value < limits->min_value || p->value > limits->max_value)) {
            provider_result_reject(result, p->source_index, "out_of_range");
            continue;
        }
        size_t n = (size_t)(length_ms / BALKON_SLOT_MS);
        if (out->count + n > MAX_SLOTS) {
            provider_result_fail(result, PROVIDER_ERR_PARSE, "more than %d slots", MAX_SLOTS);
            break;
        }
        if (out->count + n > capacity) {
            capacity = (out->count + n) * 2;
            struct provider_slot *grown = realloc(out->items, capacity * sizeof *grown);
            if (!grown) {
                provider_slots_free(out);
                return BALKON_E_NOMEM;
            }
            out->items = grown;
        }
        for (size_t k = 0; k < n; k++) {
            out->items[out->count++] =
                (struct provider_slot){.start_ms = p->start_ms + (int64_t)k * BALKON_SLOT_MS,
                                       .value = p->value,
                                       .p10 = p->p10,
                                       .p90 = p->p90,
                                       .aux = p->aux};
        }
    }
    /* Sort and drop duplicate starts, then replay the arrivals in order onto the sorted
     * slots, so the latest point for a start wins (qsort alone is not stable). */
    if (out->count > 1) {
        struct provider_slot *arrival = malloc(out->count * sizeof *arrival);
        if (!arrival) {
            provider_slots_free(out);
            return BALKON_E_NOMEM;
        }
        memcpy(arrival, out->items, out->count * sizeof *arrival);
        qsort(out->items, out->count, sizeof *out->items, compare_start);
        size_t kept = 0;
        for (size_t i = 0; i < out->count; i++)
            if (kept == 0 || out->items[kept - 1].start_ms != out->items[i].start_ms)
                out->items[kept++] = out->items[i];
        for (size_t i = 0; i < out->count; i++) {
            struct provider_slot key = arrival[i];
            struct provider_slot *slot =
                bsearch(&key, out->items, kept, sizeof *out->items, compare_start);
            if (slot)
                *slot = key; /* the latest arrival for a start ends up in place */
        }
        free(arrival);
        out->count = kept;
    }
    for (size_t i = 1; i < out->count; i++) {
        int64_t expected_ms = out->items[i - 1].start_ms + BALKON_SLOT_MS;
        if (out->items[i].start_ms != expected_ms) {
            if (out->hole_count == 0)
                out->first_hole_ms = expected_ms;
            out->hole_count += (size_t)((out->items[i].start_ms - expected_ms) / BALKON_SLOT_MS);
        }
    }
    if (out->count == 0 && result->error == PROVIDER_OK)
        provider_result_fail(result, PROVIDER_ERR_NO_DATA, "no usable entries");
    return 0;
}
