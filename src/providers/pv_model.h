/* Our PV model: irradiance on a module plane and air temperature -> AC power.
 *
 *   T_cell = T_air + k × GTI                      k = 0.03 K·m²/W
 *   P_dc   = peak_w × GTI/1000 × (1 + γ (T_cell − 25 °C))   γ = −0.004 /K
 *   P_ac   = P_dc × (1 − system_loss_pct/100) × efficiency_pct/100
 *
 * The model works per plane (Open-Meteo's finish step calls it for the plane of its
 * request). The inverter's AC cap is NOT part of it: every plane of a balcony plant feeds
 * the same connection, so the cap belongs to the sum of the planes, and the caller that
 * sums them applies pv_model_cap() afterwards. */
#ifndef BALKON_PV_MODEL_H
#define BALKON_PV_MODEL_H

#include <stddef.h>

struct balkon_config;

#define PV_MODEL_GAMMA_PER_K (-0.004)
#define PV_MODEL_K_CELL (0.03)
#define PV_MODEL_STC_W_M2 (1000.0)
#define PV_MODEL_STC_CELL_C (25.0)

/* DC power (W) of modules with peak power peak_w at plane irradiance gti_w_m2 and air
 * temperature air_temp_c. Negative irradiance counts as 0; a NAN air temperature means
 * "unknown" and the cell is taken at 25 °C (no derating). Never negative; NAN when
 * gti_w_m2 or peak_w is not finite. */
double pv_model_dc_w(double peak_w, double gti_w_m2, double air_temp_c);

/* AC power (W) of plane `plane` of config: the DC power after system losses and the
 * inverter's efficiency, without the AC cap. 0 for a plane index the config does not
 * have. */
double pv_model_ac_w(const struct balkon_config *config, size_t plane, double gti_w_m2,
                     double air_temp_c);

/* The inverter's AC cap applied to the summed AC power of all planes: the result lies in
 * [0, inverter.ac_limit_w] (no cap when ac_limit_w <= 0). NAN stays NAN. */
double pv_model_cap(const struct balkon_config *config, double total_ac_w);

#endif
