#include "balkon/clock.h"

#include <math.h>
#include <uv.h>

void balkon_clock_init(struct balkon_clock *clock, double speed, int64_t start_ms)
{
    clock->speed = speed > 0 ? speed : 1;
    clock->origin_ms = start_ms;
    clock->origin_hr_ns = uv_hrtime();
}

int64_t balkon_clock_now_ms(const struct balkon_clock *clock)
{
    double elapsed_ms = (double)(uv_hrtime() - clock->origin_hr_ns) / 1e6;
    return clock->origin_ms + (int64_t)llround(elapsed_ms * clock->speed);
}

uint64_t balkon_clock_wall_ms(const struct balkon_clock *clock, int64_t duration_ms)
{
    double wall_ms = (double)duration_ms / clock->speed;
    return wall_ms < 1 ? 1 : (uint64_t)llround(wall_ms);
}
