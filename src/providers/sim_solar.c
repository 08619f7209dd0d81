/* Provider "sim_solar": a solar forecast for the demo, with no network. It runs the
 * simulator's PV model for the configured planes under a clear sky and scales each slot by
 * the share of clear-sky yield that the simulator's long-run cloudiness leaves over a year:
 * a climatological forecast, right on average and wrong on any given cloudy afternoon,
 * which is what the planner must live with anyway. Meant for the demo and for sites
 * without internet; a real forecast provider does better.
 *
 * The factor 1 − 0.2245·c − 0.575·c² (c = simulation.cloudiness_pct / 100) is fitted to the
 * simulator's annual yields for Berlin: 1540 kWh clear, 1205 kWh at c = 0.45, 864 kWh at
 * c = 0.70 (docs/simulator.md). */
#include "balkon/provider.h"

#include "balkon/config_types.h"
#include "balkon/error.h"
#include "balkon/sim.h"
#include "balkon/sim_config.h"
#include "balkon/sim_solar.h"
#include "json_util.h"
#include "local_days.h"

#include <math.h>
#include <stdlib.h>

double balkon_sim_solar_cloud_factor(double cloudiness)
{
    return fmax(0.0, 1.0 - 0.2245 * cloudiness - 0.575 * cloudiness * cloudiness);
}

int balkon_sim_solar_forecast(const struct balkon_config *config, int64_t start_ms, size_t count,
                              double *pv_w)
{
    struct sim_params params;
    balkon_sim_params_from_config(config, 50, &params);
    double factor = balkon_sim_solar_cloud_factor(params.cloudiness);
    params.cloudiness = 0;
    params.battery_capacity_wh = 0;
    struct sim_world *world = sim_world_new(&params, start_ms);
    if (!world)
        return BALKON_E_INVAL;
    for (size_t i = 0; i < count; i++) {
        struct sim_snapshot snapshot;
        sim_world_step(world, start_ms + (int64_t)(i + 1) * BALKON_SLOT_MS, &snapshot);
        pv_w[i] = snapshot.pv_w * factor;
    }
    sim_world_free(world);
    return BALKON_OK;
}

static void generate(const struct provider_env *env, struct provider_result *result)
{
    int64_t start_ms = local_midnight_ms(env->now_ms);
    int64_t end_ms = local_midnight_after_ms(env->now_ms, 2);
    size_t count = (size_t)((end_ms - start_ms) / BALKON_SLOT_MS);
    double *pv_w = malloc(count * sizeof *pv_w);
    if (!pv_w) {
        provider_result_fail(result, PROVIDER_ERR_PROVIDER, "out of memory");
        return;
    }
    if (balkon_sim_solar_forecast(env->config, start_ms, count, pv_w) < 0) {
        provider_result_fail(result, PROVIDER_ERR_PROVIDER,
                             "the PV model refused the site's parameters");
        free(pv_w);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        int64_t slot_ms = start_ms + (int64_t)i * BALKON_SLOT_MS;
        struct provider_point point =
            point_make(slot_ms, slot_ms + BALKON_SLOT_MS, pv_w[i], (int)i);
        if (provider_result_add(result, &point) < 0) {
            provider_result_fail(result, PROVIDER_ERR_PROVIDER, "out of memory");
            break;
        }
    }
    free(pv_w);
}

const struct balkon_provider balkon_provider_sim_solar = {
    .type = "sim_solar",
    .kind = PROVIDER_KIND_PV,
    .needs_planes = true,
    .description = "climatological solar forecast from our own PV model, no network (demo)",
    .schedule = PROVIDER_SCHEDULE_LOCAL,
    .limits = {0, 10000},
    .generate = generate,
};
