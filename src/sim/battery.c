/* The home battery's cells: stored energy, SoC bounds, efficiencies and power limits.
 *
 * battery_w is always the AC-side power (+ discharge / - charge); limits are AC-side too.
 * With AC coupling the battery's own inverter sits between cells and plug, and the given
 * efficiencies are AC-to-cells and cells-to-AC:
 *   charging:    stored = -battery_w * dt * eta_charge
 *   discharging: drawn  =  battery_w * dt / eta_discharge
 * With DC coupling the cells trade DC with the bus between modules and micro-inverter, and
 * battery_w is that DC flow valued at the micro-inverter's efficiency (battery_w = dc_w *
 * eta_inv): the AC it adds to, or withholds from, the inverter's output. The efficiencies
 * are then bus-to-cells and cells-to-bus: stored = -battery_w / eta_inv * dt * eta_charge,
 * drawn = battery_w / eta_inv * dt / eta_discharge.
 *
 * The first-order lag is what a vendor battery's own control loop looks like from outside:
 * it chases its meter's reading with a time constant of a few seconds. */
#include <math.h>

#include "sim_internal.h"

/* AC-side watts per DC watt on the cells' side of the conversion. */
static double ac_per_bus_w(const struct sim_params *params)
{
    return params->battery_coupling == SIM_COUPLING_DC ? params->inverter_efficiency : 1.0;
}

double sim_battery_max_discharge_w(const struct sim_params *params,
                                   const struct sim_battery *battery, double dt_s)
{
    if (params->battery_capacity_wh <= 0.0 || dt_s <= 0.0)
        return 0.0;
    double min_wh = params->battery_capacity_wh * params->battery_soc_min_pct / 100.0;
    double available_wh = battery->energy_wh - min_wh;
    if (available_wh <= 0.0)
        return 0.0;
    double by_energy_w =
        available_wh * 3600.0 / dt_s * params->battery_discharge_efficiency * ac_per_bus_w(params);
    return by_energy_w < params->battery_max_discharge_w ? by_energy_w
                                                         : params->battery_max_discharge_w;
}

double sim_battery_max_charge_w(const struct sim_params *params, const struct sim_battery *battery,
                                double dt_s)
{
    if (params->battery_capacity_wh <= 0.0 || dt_s <= 0.0)
        return 0.0;
    double max_wh = params->battery_capacity_wh * params->battery_soc_max_pct / 100.0;
    double room_wh = max_wh - battery->energy_wh;
    if (room_wh <= 0.0)
        return 0.0;
    double by_energy_w =
        room_wh * 3600.0 / dt_s / params->battery_charge_efficiency * ac_per_bus_w(params);
    return by_energy_w < params->battery_max_charge_w ? by_energy_w : params->battery_max_charge_w;
}

void sim_battery_apply(const struct sim_params *params, struct sim_battery *battery,
                       double battery_w, double dt_s)
{
    if (params->battery_capacity_wh <= 0.0)
        return;
    double bus_wh = battery_w / ac_per_bus_w(params) * dt_s / 3600.0;
    if (battery_w > 0.0)
        battery->energy_wh -= bus_wh / params->battery_discharge_efficiency;
    else
        battery->energy_wh -= bus_wh * params->battery_charge_efficiency;
    /* The limits above already keep the energy within bounds; this only removes the last
     * bits of rounding so that the SoC never reads 9.9999999 % against a 10 % minimum. */
    double min_wh = params->battery_capacity_wh * params->battery_soc_min_pct / 100.0;
    double max_wh = params->battery_capacity_wh * params->battery_soc_max_pct / 100.0;
    if (battery->energy_wh < min_wh)
        battery->energy_wh = min_wh;
    if (battery->energy_wh > max_wh)
        battery->energy_wh = max_wh;
}

double sim_lag_mean(double y0, double target, double dt_s, double tau_s, double *y_end)
{
    /* Exact solution of tau y' = target - y for a constant target, so the lag behaves the
     * same whether the world steps by 1 s or by 60 s. */
    double decay = exp(-dt_s / tau_s);
    *y_end = target + (y0 - target) * decay;
    return target + (y0 - target) * tau_s / dt_s * (1.0 - decay);
}
