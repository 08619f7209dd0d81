/* The simulator as the replay's data: the site the config describes, stepped slot by slot
 * from history_days before the range to a few days after it. Its PV potential (DC output
 * after the inverter's efficiency, before the AC cap) and household load are "what
 * happened"; the sim_solar method is the PV forecast, as in the demo. */
#include "replay_internal.h"

#include "balkon/config.h"
#include "balkon/error.h"
#include "balkon/sim.h"
#include "balkon/sim_config.h"
#include "balkon/sim_solar.h"
#include "balkon/timeutil.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int replay_source_sim(const struct replay_request *request, struct replay_data *data, char *msg,
                      size_t msg_size)
{
    const struct balkon_config *config = request->config;
    int64_t from_ms = request->from_ms != INT64_MIN
                          ? request->from_ms
                          : balkon_local_midnight_ms(balkon_wall_now_ms(), -request->days);
    int64_t start_ms =
        balkon_local_midnight_ms(from_ms, -(int)ceil(config->optimizer.history_days));
    int64_t to_ms = balkon_local_midnight_ms(from_ms, request->days);
    int lookahead_days = (int)(request->horizon_slots / BALKON_REPLAY_SLOTS_PER_DAY) + 2;
    int64_t end_ms = balkon_local_midnight_ms(to_ms, lookahead_days);

    struct sim_params params;
    balkon_sim_params_from_config(config, config->battery.soc_min_pct, &params);
    params.battery_capacity_wh = request->battery_wh;
    char why[192];
    if (sim_params_validate(&params, why, sizeof why) < 0) {
        snprintf(msg, msg_size, "%s: the simulator refuses the site: %s", request->config_path,
                 why);
        return BALKON_E_INVAL;
    }
    if (replay_data_alloc(data, start_ms, from_ms, to_ms, end_ms) < 0) {
        snprintf(msg, msg_size, "out of memory for %d days of slots", request->days);
        return BALKON_E_NOMEM;
    }
    data->days = request->days;
    struct sim_world *world = sim_world_new(&params, start_ms);
    if (!world) {
        snprintf(msg, msg_size, "out of memory for the simulator");
        return BALKON_E_NOMEM;
    }
    for (size_t i = 0; i < data->series.count; i++) {
        struct balkon_replay_slot *slot = &data->series.slots[i];
        struct sim_snapshot snapshot;
        sim_world_step(world, slot->ts_ms + BALKON_SLOT_MS, &snapshot);
        slot->measured = true;
        slot->pv_w = snapshot.pv_dc_w * params.inverter_efficiency;
        slot->load_w = snapshot.home_w;
    }
    sim_world_free(world);
    snprintf(data->source, sizeof data->source,
             "the simulator of %s (cloudiness %g %%, seed %lld), with %g days of history before",
             request->config_path, config->simulation.cloudiness_pct,
             (long long)config->simulation.seed, ceil(config->optimizer.history_days));
    snprintf(data->pv_forecast, sizeof data->pv_forecast,
             "climatological (sim_solar: clear sky x %.3f), issued each midnight",
             balkon_sim_solar_cloud_factor(params.cloudiness));
    if (replay_prices_from_config(config, data) < 0) {
        snprintf(msg, msg_size, "out of memory for the prices");
        return BALKON_E_NOMEM;
    }
    return BALKON_OK;
}

int replay_climatology_init(struct replay_climatology *c, const struct balkon_config *config,
                            const struct replay_data *data, size_t horizon_slots)
{
    *c = (struct replay_climatology){
        .config = config, .data = data, .horizon_slots = horizon_slots, .issued_day = SIZE_MAX};
    /* A decision late in the day looks a horizon past the day's end (a DST day has 100). */
    c->cache_w = malloc((horizon_slots + 100) * sizeof *c->cache_w);
    return c->cache_w ? BALKON_OK : BALKON_E_NOMEM;
}

void replay_climatology_free(struct replay_climatology *c)
{
    free(c->cache_w);
    c->cache_w = NULL;
}

int replay_climatology_forecast(void *user, const struct balkon_replay_series *series, size_t now,
                                size_t end, double *pv_w)
{
    struct replay_climatology *c = user;
    size_t day = c->data->day_of[now];
    if (day != c->issued_day) {
        c->cache_start = c->data->day_start[day];
        c->cache_count = series->count - c->cache_start;
        if (c->cache_count > c->horizon_slots + 100)
            c->cache_count = c->horizon_slots + 100;
        int err = balkon_sim_solar_forecast(c->config, series->slots[c->cache_start].ts_ms,
                                            c->cache_count, c->cache_w);
        if (err)
            return err;
        c->issued_day = day;
    }
    for (size_t s = now; s < end; s++)
        pv_w[s - now] = s - c->cache_start < c->cache_count ? c->cache_w[s - c->cache_start] : 0.0;
    return BALKON_OK;
}
