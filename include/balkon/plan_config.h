/* The config as the optimizer sees it: the battery and connection, and the fixed_schedule
 * windows. One place for the planner module, the savings and the replay command, so the
 * three never read the config differently. */
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
