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

#include "balkon/config.h"
#include "balkon/sim.h"
#include "balkon/sim_config.h"
#include "local_days.h"

#include <math.h>

static double cloud_factor(double cloudiness)
{
    return fmax(0.0, 1.0 - 0.2245 * cloudiness - 0.575 * cloudiness * cloudiness);
}

static void generate(const struct provider_env *env, struct provider_result *result)
{
    struct sim_params params;
    balkon_sim_params_from_config(env->config, 50, &params);
    double factor = cloud_factor(params.cloudiness);
    params.cloudiness = 0;
    params.battery_capacity_wh = 0;
    int64_t start_ms = local_midnight_ms(env->now_ms);
    int64_t end_ms = local_midnight_after_ms(env->now_ms, 2);
    struct sim_world *world = sim_world_new(&params, start_ms);
    if (!world) {
        provider_result_fail(result, PROVIDER_ERR_PROVIDER, "the PV model refused the site's parameters");
        return;
    }
    int index = 0;
    for (int64_t slot_ms = start_ms; slot_ms < end_ms; slot_ms += PROVIDER_SLOT_MS) {
        struct sim_snapshot snapshot;
        sim_world_step(world, slot_ms + PROVIDER_SLOT_MS, &snapshot);
        struct provider_point point = {.start_ms = slot_ms, .end_ms = slot_ms + PROVIDER_SLOT_MS,
                                       .value = snapshot.pv_w * factor, .p10 = NAN, .p90 = NAN,
                                       .aux = NAN, .source_index = index++};
        if (provider_result_add(result, &point) < 0) {
            provider_result_fail(result, PROVIDER_ERR_PROVIDER, "out of memory");
            break;
        }
    }
    sim_world_free(world);
}

const struct balkon_provider balkon_provider_sim_solar = {
    .type = "sim_solar",
    .kind = PROVIDER_KIND_PV,
    .description = "climatological solar forecast from our own PV model, no network (demo)",
    .schedule = PROVIDER_SCHEDULE_LOCAL,
    .limits = {0, 10000},
    .generate = generate,
};
