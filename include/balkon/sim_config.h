/* The simulator's parameters from the daemon's config: the simulated device driver and the
 * demo's solar forecast both model the site the config describes. */
#ifndef BALKON_SIM_CONFIG_H
#define BALKON_SIM_CONFIG_H

#include "balkon/sim.h"

struct balkon_config;

void balkon_sim_params_from_config(const struct balkon_config *config, double initial_soc_pct,
                                   struct sim_params *params);

#endif
