/* What the plant actually saved, from measured data: each 15-minute slot's measured load
 * and PV are replayed without the battery, with a plain self-consumption battery and
 * without the plant at all, with the same prices, and compared with what the meter
 * measured. The method is described in docs/optimizer.md ("Savings"). */
#ifndef BALKON_SAVINGS_H
#define BALKON_SAVINGS_H

#include <stddef.h>
#include <stdint.h>

struct balkon_store;
struct balkon_config;

/* Money in the prices' currency; energy in Wh. */
struct balkon_savings_figures {
    size_t slots;            /* measured 15-minute slots compared */
    double load_wh;
    double pv_wh;
    double import_wh;
    double export_wh;
    double cost_actual;      /* what the meter's flows cost */
    double cost_no_pv;       /* the same load, all from the grid */
    double cost_no_battery;  /* the same load and PV, no battery */
    double cost_self_consumption; /* the same, with a battery that only self-consumes */
};

struct balkon_savings_period {
    char label[16];          /* "2026-06-21" or "2026-06" (local) */
    int64_t from_ms;
    struct balkon_savings_figures figures;
};

enum balkon_savings_group { BALKON_SAVINGS_BY_DAY, BALKON_SAVINGS_BY_MONTH };

struct balkon_savings {
    char currency[4];
    struct balkon_savings_figures total;
    struct balkon_savings_period *periods; /* owned; free with balkon_savings_free */
    size_t period_count;
    size_t skipped_slots;    /* slots without a complete measurement */
};

/* Computes the savings over [from_ms, to_ms). Returns 0 or a BALKON_E_* code (msg says
 * why). */
int balkon_savings_compute(struct balkon_store *store, const struct balkon_config *config, int64_t from_ms,
                           int64_t to_ms, enum balkon_savings_group group, struct balkon_savings *out,
                           char *msg, size_t msg_size);
void balkon_savings_free(struct balkon_savings *savings);

#endif
