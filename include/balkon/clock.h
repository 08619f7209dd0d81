/* The daemon's clock. In the demo and in tests simulated time runs `speed` times faster
 * than wall time; every module asks this clock for "now" so timestamps, averages and the
 * stored series stay consistent whatever the speed. With speed 1 it is the wall clock. */
#ifndef BALKON_CLOCK_H
#define BALKON_CLOCK_H

#include <stdint.h>

struct balkon_clock {
    double speed;          /* simulated ms per wall ms */
    int64_t origin_ms;     /* simulated time at origin_hr_ns */
    uint64_t origin_hr_ns; /* monotonic time (uv_hrtime) of the origin */
};

void balkon_clock_init(struct balkon_clock *clock, double speed, int64_t start_ms);
int64_t balkon_clock_now_ms(const struct balkon_clock *clock);
/* Wall-clock milliseconds that `duration_ms` of simulated time take (at least 1). */
uint64_t balkon_clock_wall_ms(const struct balkon_clock *clock, int64_t duration_ms);

#endif
