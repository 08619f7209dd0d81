#include "balkon/sim_config.h"

#include "balkon/config_types.h"

#include <string.h>

void balkon_sim_params_from_config(const struct balkon_config *config, double initial_soc_pct,
                                   struct sim_params *params)
{
    memset(params, 0, sizeof *params);
    params->latitude_deg = config->site.latitude_deg;
    params->longitude_deg = config->site.longitude_deg;
    params->plane_count = config->pv.plane_count;
    for (size_t i = 0; i < config->pv.plane_count && i < SIM_MAX_PLANES; i++) {
        params->planes[i].tilt_deg = config->pv.planes[i].tilt_deg;
        params->planes[i].azimuth_deg = config->pv.planes[i].azimuth_deg;
        params->planes[i].peak_w = config->pv.planes[i].peak_w;
    }
    params->inverter_ac_limit_w = config->inverter.ac_limit_w;
    params->inverter_efficiency = config->inverter.efficiency_pct / 100.0;
    params->system_loss_fraction = config->pv.system_loss_pct / 100.0;
    params->battery_capacity_wh = config->battery.capacity_wh;
    params->battery_max_charge_w = config->battery.max_charge_w;
    params->battery_max_discharge_w = config->battery.max_discharge_w;
    params->battery_charge_efficiency = config->battery.charge_efficiency_pct / 100.0;
    params->battery_discharge_efficiency = config->battery.discharge_efficiency_pct / 100.0;
    params->battery_soc_min_pct = config->battery.soc_min_pct;
    params->battery_soc_max_pct = config->battery.soc_max_pct;
    params->battery_initial_soc_pct = initial_soc_pct;
    params->battery_coupling =
        strcmp(config->battery.coupling, "dc") == 0 ? SIM_COUPLING_DC : SIM_COUPLING_AC;
    params->annual_load_kwh = config->household.annual_kwh;
    params->cloudiness = config->simulation.cloudiness_pct / 100.0;
    params->seed = (uint64_t)config->simulation.seed;
}
