/* The replay's slots: their calendar, the prices the daemon would have had without a
 * network, and the optimizer's battery from the config. */
#include "replay_internal.h"

#include "balkon/plan_config.h"

#include "balkon/config.h"
#include "balkon/daytype.h"
#include "balkon/error.h"
#include "balkon/provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void replay_data_free(struct replay_data *data)
{
    free(data->series.slots);
    free(data->day_start);
    free(data->day_of);
    data->series.slots = NULL;
    data->day_start = data->day_of = NULL;
}

int replay_data_alloc(struct replay_data *data, int64_t start_ms, int64_t from_ms, int64_t to_ms,
                      int64_t end_ms)
{
    size_t count = (size_t)((end_ms - start_ms) / BALKON_SLOT_MS);
    size_t day_cap = count / 92 + 3;
    data->series.slots = calloc(count ? count : 1, sizeof *data->series.slots);
    data->day_of = calloc(count ? count : 1, sizeof *data->day_of);
    data->day_start = calloc(day_cap, sizeof *data->day_start);
    if (!data->series.slots || !data->day_of || !data->day_start) {
        replay_data_free(data);
        return BALKON_E_NOMEM;
    }
    data->series.count = count;
    data->series.first = (size_t)((from_ms - start_ms) / BALKON_SLOT_MS);
    data->series.last = (size_t)((to_ms - start_ms) / BALKON_SLOT_MS);
    data->from_ms = from_ms;
    data->to_ms = to_ms;
    data->day_count = 0;
    int last_day = -1;
    for (size_t i = 0; i < count; i++) {
        struct balkon_replay_slot *slot = &data->series.slots[i];
        slot->ts_ms = start_ms + (int64_t)i * BALKON_SLOT_MS;
        time_t t = (time_t)(slot->ts_ms / 1000);
        struct tm tm;
        localtime_r(&t, &tm);
        int day = tm.tm_year * 400 + tm.tm_yday;
        if (day != last_day && data->day_count + 1 < day_cap) {
            data->day_start[data->day_count++] = i;
            last_day = day;
        }
        data->day_of[i] = data->day_count - 1;
        slot->minute_of_day = tm.tm_hour * 60 + tm.tm_min;
        slot->day_of_year = tm.tm_yday + 1;
        slot->day_type = balkon_day_type_of(slot->ts_ms);
        slot->prices_until = count;
    }
    data->day_start[data->day_count] = count;
    return BALKON_OK;
}

/* One local day's prices as the fetcher makes them at 00:01: generated, normalised, and
 * taken for the slots of that day (tomorrow's come from tomorrow's run, the same numbers
 * for a computed tariff). */
static int generate_day(const struct balkon_config *config, const struct balkon_provider_config *pc,
                        const struct balkon_provider *provider, struct replay_data *data,
                        size_t day)
{
    struct balkon_replay_series *series = &data->series;
    size_t first = data->day_start[day], end = data->day_start[day + 1];
    struct provider_env env = {
        .provider = pc, .config = config, .now_ms = series->slots[first].ts_ms + 60000};
    struct provider_result result;
    struct provider_slots slots = {0};
    provider_result_init(&result);
    provider->generate(&env, &result);
    int err = provider_normalize(&result, &provider->limits, &slots);
    if (!err && result.error == PROVIDER_OK) {
        if (result.currency[0])
            snprintf(data->currency, sizeof data->currency, "%s", result.currency);
        for (size_t i = 0; i < slots.count; i++) {
            int64_t offset = slots.items[i].start_ms - series->slots[0].ts_ms;
            if (offset < 0 || offset % BALKON_SLOT_MS)
                continue;
            size_t k = (size_t)(offset / BALKON_SLOT_MS);
            if (k >= first && k < end) {
                series->slots[k].import_price_per_kwh = slots.items[i].value;
                series->slots[k].price_known = true;
            }
        }
    }
    provider_slots_free(&slots);
    provider_result_free(&result);
    return err;
}

int replay_prices_from_config(const struct balkon_config *config, struct replay_data *data)
{
    struct balkon_replay_series *series = &data->series;
    const struct balkon_provider_config *pc = balkon_provider_primary(config, PROVIDER_KIND_PRICE);
    const struct balkon_provider *provider = pc ? balkon_provider_find(pc->type) : NULL;
    snprintf(data->currency, sizeof data->currency, "%s", config->tariff.currency);
    for (size_t i = 0; i < series->count; i++) {
        series->slots[i].import_price_per_kwh = config->tariff.import_per_kwh;
        series->slots[i].feed_in_per_kwh = config->tariff.feed_in_per_kwh;
        series->slots[i].price_known = false;
        series->slots[i].prices_until = series->count;
    }
    if (!provider) {
        snprintf(data->prices, sizeof data->prices,
                 "tariff.import_per_kwh %.4g in every slot (no price provider configured)",
                 config->tariff.import_per_kwh);
        return BALKON_OK;
    }
    if (provider->schedule != PROVIDER_SCHEDULE_LOCAL || !provider->generate) {
        snprintf(data->prices, sizeof data->prices,
                 "tariff.import_per_kwh %.4g in every slot (provider \"%s\" of type \"%s\" needs "
                 "the network)",
                 config->tariff.import_per_kwh, pc->id, pc->type);
        return BALKON_OK;
    }
    for (size_t day = 0; day < data->day_count; day++) {
        int err = generate_day(config, pc, provider, data, day);
        if (err)
            return err;
        /* Computed tariffs cover today and tomorrow. */
        size_t until = data->day_start[day + 2 <= data->day_count ? day + 2 : data->day_count];
        for (size_t i = data->day_start[day]; i < data->day_start[day + 1]; i++)
            series->slots[i].prices_until = until;
    }
    snprintf(data->prices, sizeof data->prices,
             "provider \"%s\" (%s), computed for today and tomorrow as the daemon does; "
             "tariff.import_per_kwh where it has no price",
             pc->id, pc->type);
    return BALKON_OK;
}

void replay_battery_from_config(const struct balkon_config *config, double capacity_wh,
                                struct balkon_opt_battery *battery)
{
    balkon_battery_from_config(config, battery);
    battery->capacity_wh = capacity_wh;
}

void replay_format_day(int64_t ts_ms, char *out, size_t size)
{
    time_t t = (time_t)(ts_ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, size, "%Y-%m-%d", &tm);
}
