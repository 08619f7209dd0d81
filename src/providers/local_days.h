/* Local-day helpers for providers that compute prices from the calendar (fixed, tou). */
#ifndef BALKON_LOCAL_DAYS_H
#define BALKON_LOCAL_DAYS_H

#include <stdint.h>

/* Local midnight (process TZ) at or before ts_ms, in UTC ms. */
int64_t local_midnight_ms(int64_t ts_ms);
/* Local midnight `days` calendar days after the one at or before ts_ms (DST-safe). */
int64_t local_midnight_after_ms(int64_t ts_ms, int days);

#endif
