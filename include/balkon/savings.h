/* What the plant actually saved, from measured data: each 15-minute slot's measured load
 * and PV are replayed without the battery, with a plain self-consumption battery and
 * without the plant at all, with the same prices, and compared with what the meter
 * measured. The method is described in docs/optimizer.md ("Savings"). */
#ifndef BALKON_SAVINGS_H
#define BALKON_SAVINGS_H

#include "balkon/savings_types.h"

#include <stddef.h>
#include <stdint.h>

struct balkon_store;
struct balkon_config;

/* Computes the savings over [from_ms, to_ms). Returns 0 or a BALKON_E_* code (msg says
 * why). */
int balkon_savings_compute(struct balkon_store *store, const struct balkon_config *config,
                           int64_t from_ms, int64_t to_ms, enum balkon_savings_group group,
                           struct balkon_savings *out, char *msg, size_t msg_size);
/* Free the result with balkon_savings_free (balkon/savings_types.h). */

#endif
