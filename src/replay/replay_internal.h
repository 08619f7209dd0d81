/* The replay command's parts: where the slots come from (the simulator or a daemon's
 * database), the prices and calendars they share, and the climatological PV forecast. */
#ifndef BALKON_REPLAY_INTERNAL_H
#define BALKON_REPLAY_INTERNAL_H

#include "balkon/replay.h"

#include <stddef.h>
#include <stdint.h>

struct balkon_config;
struct balkon_provider_config;

/* What the command asks for. */
struct replay_request {
    const struct balkon_config *config;
    const char *config_path;
    const char *db_path; /* NULL: the simulator */
    int64_t from_ms;     /* local midnight of --from; INT64_MIN: the default */
    int days;
    double battery_wh;
    size_t horizon_slots;
};

/* The data of a replay and how it was made, for the report. */
struct replay_data {
    struct balkon_replay_series series;
    size_t *day_start; /* first slot of each local day of the series; [day_count] = count */
    size_t *day_of;    /* local day index of each slot */
    size_t day_count;
    int64_t from_ms, to_ms; /* the replayed local days */
    int days;
    char source[256]; /* "the simulator of FILE (...)", "measurements in FILE" */
    char prices[256]; /* where the prices come from */
    char pv_forecast[128];
    char currency[4];
};

void replay_data_free(struct replay_data *data); /* accepts NULL members */

/* Allocates data->series.slots for [start_ms, end_ms) and fills each slot's time, calendar
 * (local minute, day of year, day type) and local day index; the replayed range is
 * [from_ms, to_ms). Everything else is zero. Returns 0 or BALKON_E_NOMEM. */
int replay_data_alloc(struct replay_data *data, int64_t start_ms, int64_t from_ms, int64_t to_ms,
                      int64_t end_ms);

/* Prices from the config the way the daemon gets them without a network: the first enabled
 * price provider when it is computed locally ("fixed", "tou"; generated each local day as
 * the fetcher does at 00:01, covering today and tomorrow), else tariff.import_per_kwh in
 * every slot with no horizon limit. Fills import_price_per_kwh, feed_in_per_kwh,
 * price_known, prices_until and data->prices. Returns 0 or BALKON_E_NOMEM. */
int replay_prices_from_config(const struct balkon_config *config, struct replay_data *data);

/* The simulator's slots: PV and load of a world built from the config (battery capacity
 * request->battery_wh), the history_days before the range as history, a few days after it
 * as look-ahead. Returns 0, or a BALKON_E_* code with msg set. */
int replay_source_sim(const struct replay_request *request, struct replay_data *data, char *msg,
                      size_t msg_size);

/* A daemon's database: home_w and pv_w in 15-minute buckets, the prices its first enabled
 * price provider stored. Returns 0, BALKON_E_INVAL (msg names the option at fault: --db,
 * --from) or another BALKON_E_* code with msg set. */
int replay_source_db(const struct replay_request *request, struct replay_data *data, char *msg,
                     size_t msg_size);

/* The sim_solar method as a replay forecast: at each local midnight a clear-sky forecast
 * scaled by the cloud factor is issued for as far as a horizon from that day reaches. */
struct replay_climatology {
    const struct balkon_config *config;
    const struct replay_data *data;
    size_t horizon_slots;
    size_t issued_day; /* day index of the cached issue; SIZE_MAX none */
    size_t cache_start, cache_count;
    double *cache_w;
};
int replay_climatology_init(struct replay_climatology *c, const struct balkon_config *config,
                            const struct replay_data *data, size_t horizon_slots);
void replay_climatology_free(struct replay_climatology *c);
int replay_climatology_forecast(void *user, const struct balkon_replay_series *series, size_t now,
                                size_t end, double *pv_w);

/* "YYYY-MM-DD" of the local day holding ts_ms into out (11 bytes or more). */
void replay_format_day(int64_t ts_ms, char *out, size_t size);

/* The optimizer's battery from the config, with the usable capacity capacity_wh (the
 * planner's mapping). */
void replay_battery_from_config(const struct balkon_config *config, double capacity_wh,
                                struct balkon_opt_battery *battery);

#endif
