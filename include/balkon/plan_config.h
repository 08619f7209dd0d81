/* The config as the optimizer sees it: the battery and connection, and the fixed_schedule
 * windows. In core (src/core/plan_config.c): one place for the planner, the savings, the
 * real-time control and the replay command, so they never read the config differently. */
#ifndef BALKON_PLAN_CONFIG_H
#define BALKON_PLAN_CONFIG_H

#include "balkon/optimizer.h"

#include <stddef.h>

struct balkon_config;

void balkon_battery_from_config(const struct balkon_config *config,
                                struct balkon_opt_battery *battery);
/* The valid windows of optimizer.schedule (the config check refused invalid ones). */
size_t balkon_windows_from_config(const struct balkon_config *config,
                                  struct balkon_opt_window *windows);

#endif
