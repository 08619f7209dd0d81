/* The types of the savings (include/balkon/savings.h): here, in core, because the
 * services table (include/balkon/services.h) names them, while the computation is the
 * planner's. */
#ifndef BALKON_SAVINGS_TYPES_H
#define BALKON_SAVINGS_TYPES_H

#include <stddef.h>
#include <stdint.h>

struct balkon_store;
struct balkon_config;

/* Money in the prices' currency; energy in Wh. */
struct balkon_savings_figures {
    size_t slots; /* measured 15-minute slots compared */
    double load_wh;
    double pv_wh;
    double import_wh;
    double export_wh;
    double cost_actual;           /* what the meter's flows cost */
    double cost_no_pv;            /* the same load, all from the grid */
    double cost_no_battery;       /* the same load and PV, no battery */
    double cost_self_consumption; /* the same, with a battery that only self-consumes */
};

struct balkon_savings_period {
    char label[16]; /* "2026-06-21" or "2026-06" (local) */
    int64_t from_ms;
    struct balkon_savings_figures figures;
};

enum balkon_savings_group { BALKON_SAVINGS_BY_DAY, BALKON_SAVINGS_BY_MONTH };

struct balkon_savings {
    char currency[4];
    struct balkon_savings_figures total;
    struct balkon_savings_period *periods; /* owned; free with balkon_savings_free */
    size_t period_count;
    size_t skipped_slots; /* slots without a complete measurement */
};

/* Frees savings->periods; the struct can be reused. */
void balkon_savings_free(struct balkon_savings *savings);

#endif
