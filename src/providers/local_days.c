#include "local_days.h"

#include "balkon/timeutil.h"

int64_t local_midnight_after_ms(int64_t ts_ms, int days)
{
    return balkon_local_midnight_ms(ts_ms, days);
}

int64_t local_midnight_ms(int64_t ts_ms)
{
    return balkon_local_midnight_ms(ts_ms, 0);
}
