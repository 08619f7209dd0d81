/* The PV model used to turn irradiance forecasts into power; see pv_model.h for the
 * formulas and why the AC cap is left to the caller. */
#include "pv_model.h"

#include "balkon/config_types.h"

#include <math.h>

double pv_model_dc_w(double peak_w, double gti_w_m2, double air_temp_c)
{
    if (!isfinite(gti_w_m2) || !isfinite(peak_w))
        return NAN;
    if (gti_w_m2 <= 0 || peak_w <= 0)
        return 0;
    /* Unknown air temperature: assume the cell at STC rather than invent a weather. */
    double cell_c =
        isfinite(air_temp_c) ? air_temp_c + PV_MODEL_K_CELL * gti_w_m2 : PV_MODEL_STC_CELL_C;
    double derate = 1.0 + PV_MODEL_GAMMA_PER_K * (cell_c - PV_MODEL_STC_CELL_C);
    if (derate < 0)
        derate = 0; /* only for absurd cell temperatures (> 275 °C) */
    return peak_w * gti_w_m2 / PV_MODEL_STC_W_M2 * derate;
}

double pv_model_ac_w(const struct balkon_config *config, size_t plane, double gti_w_m2,
                     double air_temp_c)
{
    if (!config || plane >= config->pv.plane_count || plane >= BALKON_MAX_PLANES)
        return 0;
    double dc_w = pv_model_dc_w(config->pv.planes[plane].peak_w, gti_w_m2, air_temp_c);
    double loss = 1.0 - config->pv.system_loss_pct / 100.0;
    double efficiency = config->inverter.efficiency_pct / 100.0;
    if (loss < 0)
        loss = 0;
    if (efficiency < 0)
        efficiency = 0;
    return dc_w * loss * efficiency;
}

double pv_model_cap(const struct balkon_config *config, double total_ac_w)
{
    if (isnan(total_ac_w))
        return total_ac_w;
    if (total_ac_w < 0)
        return 0;
    if (config && config->inverter.ac_limit_w > 0 && total_ac_w > config->inverter.ac_limit_w)
        return config->inverter.ac_limit_w;
    return total_ac_w;
}
