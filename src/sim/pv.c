/* The PV array and its micro-inverter.
 *
 * Per plane, the model of DOMAIN.md (a PVWatts-style simplification):
 *   P_dc = peak * POA / 1000 * (1 + gamma (T_cell - 25)),  gamma = -0.004 / K,
 *   T_cell = T_air + 0.03 K m2/W * POA   (NOCT-like heating of the modules in the sun),
 * summed over the planes and reduced by the system losses (wiring, soiling, mismatch). The
 * inverter converts with a constant efficiency and caps its AC output at the connection
 * limit; what it cannot pass on is clipped DC (which a DC-coupled battery may store). */
#include "sim_internal.h"

#define TEMP_COEFF_PER_K (-0.004)
#define CELL_HEATING_K_PER_W_M2 0.03

double sim_pv_dc_w(const struct sim_params *params, const struct sim_sky *sky, double elevation_deg,
                   double azimuth_deg, double air_temp_c, double *first_plane_poa_w_per_m2)
{
    double dc_w = 0.0;
    if (first_plane_poa_w_per_m2)
        *first_plane_poa_w_per_m2 = 0.0;
    for (size_t i = 0; i < params->plane_count; i++) {
        const struct sim_plane *plane = &params->planes[i];
        double poa = sim_plane_irradiance(plane, elevation_deg, azimuth_deg, sky);
        if (i == 0 && first_plane_poa_w_per_m2)
            *first_plane_poa_w_per_m2 = poa;
        double cell_c = air_temp_c + CELL_HEATING_K_PER_W_M2 * poa;
        double plane_w = plane->peak_w * poa / 1000.0 * (1.0 + TEMP_COEFF_PER_K * (cell_c - 25.0));
        if (plane_w > 0.0)
            dc_w += plane_w;
    }
    return dc_w * (1.0 - params->system_loss_fraction);
}

double sim_inverter_ac_w(double dc_w, double efficiency, double limit_w, double *clipped_dc_w)
{
    double ac_w = dc_w * efficiency;
    *clipped_dc_w = 0.0;
    if (ac_w > limit_w) {
        *clipped_dc_w = dc_w - limit_w / efficiency;
        ac_w = limit_w;
    }
    return ac_w;
}
