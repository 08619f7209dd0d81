/* The site module: turns device readings into the site's power balance.
 *
 * PV comes from inverter-role devices, battery power and SoC from battery-role devices,
 * grid power from the meter. Each meter reading closes a step: the latest values of all
 * devices are integrated over the time since the previous reading, so the averages are
 * energy-correct, and home_w = pv_w + battery_w + grid_w holds for every interval because
 * it is derived from the same integrals. Every sample interval (aligned to multiples of
 * storage.sample_interval_s on the daemon's clock) it publishes BUS_EV_SITE_STATUS and one
 * BUS_EV_SAMPLE per site series and per device value. */
#include "balkon/bus.h"
#include "balkon/config.h"
#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/module.h"
#include "balkon/timeutil.h"
#include "balkon/values.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SITE_MAX_DEVICES 48
/* A gap longer than this between meter readings is not integrated: the meter was gone. */
#define MAX_STEP_MS (60 * BALKON_MS_PER_S)

struct known_device {
    struct ev_device_state state;
};

struct site {
    struct balkon_ctx *ctx;
    struct known_device devices[SITE_MAX_DEVICES];
    size_t device_count;
    int64_t last_reading_ms; /* INT64_MIN before the first reading */
    int64_t interval_end_ms; /* end of the interval being accumulated, 0 = none */
    double integrated_ms;
    double pv_wms, battery_wms, grid_wms; /* power × time, W·ms */
};

static double find_value(const struct ev_device_state *state, const char *name)
{
    for (size_t i = 0; i < state->value_count; i++)
        if (strcmp(state->values[i].name, name) == 0)
            return state->values[i].value;
    return NAN;
}

static void sum_devices(const struct site *site, double *pv_w, double *battery_w, double *soc_pct)
{
    double soc_sum = 0;
    int soc_count = 0;
    *pv_w = 0;
    *battery_w = 0;
    for (size_t i = 0; i < site->device_count; i++) {
        const struct ev_device_state *state = &site->devices[i].state;
        if (!state->online)
            continue;
        double power_w = find_value(state, "power_w");
        if ((state->roles & DEVICE_ROLE_INVERTER) && isfinite(power_w))
            *pv_w += power_w;
        if ((state->roles & DEVICE_ROLE_BATTERY) && isfinite(power_w))
            *battery_w += power_w;
        double soc = find_value(state, "soc_pct");
        if ((state->roles & DEVICE_ROLE_BATTERY) && isfinite(soc)) {
            soc_sum += soc;
            soc_count++;
        }
    }
    *soc_pct = soc_count ? soc_sum / soc_count : NAN;
}

static void publish_sample(struct site *site, const char *series, const char *unit, int64_t ts_ms,
                           double value)
{
    if (!isfinite(value))
        return;
    struct ev_sample sample = {.ts_ms = ts_ms, .value = value};
    snprintf(sample.series, sizeof sample.series, "%s", series);
    snprintf(sample.unit, sizeof sample.unit, "%s", unit);
    balkon_bus_publish(site->ctx->bus, BUS_EV_SAMPLE, &sample);
}

static void emit_interval(struct site *site)
{
    if (site->integrated_ms <= 0)
        return;
    double pv_w, battery_w, soc_pct;
    sum_devices(site, &pv_w, &battery_w, &soc_pct);
    struct ev_site_status status = {
        .ts_ms = site->interval_end_ms,
        .interval_ms = (int64_t)site->integrated_ms,
        .pv_w = site->pv_wms / site->integrated_ms,
        .battery_w = site->battery_wms / site->integrated_ms,
        .grid_w = site->grid_wms / site->integrated_ms,
        .soc_pct = soc_pct,
    };
    status.home_w = status.pv_w + status.battery_w + status.grid_w;
    balkon_bus_publish(site->ctx->bus, BUS_EV_SITE_STATUS, &status);

    int64_t ts_ms = status.ts_ms;
    publish_sample(site, "pv_w", "W", ts_ms, status.pv_w);
    publish_sample(site, "home_w", "W", ts_ms, status.home_w);
    publish_sample(site, "grid_w", "W", ts_ms, status.grid_w);
    publish_sample(site, "battery_w", "W", ts_ms, status.battery_w);
    publish_sample(site, "soc_pct", "%", ts_ms, status.soc_pct);
    for (size_t i = 0; i < site->device_count; i++) {
        const struct ev_device_state *state = &site->devices[i].state;
        if (!state->online)
            continue;
        for (size_t v = 0; v < state->value_count; v++) {
            char series[BALKON_SERIES_MAX];
            snprintf(series, sizeof series, "device.%s.%s", state->device_id,
                     state->values[v].name);
            publish_sample(site, series, balkon_value_info(state->values[v].name)->unit, ts_ms,
                           state->values[v].value);
        }
    }
    site->integrated_ms = 0;
    site->pv_wms = site->battery_wms = site->grid_wms = 0;
}

static void on_device_state(enum bus_event event, const void *payload, void *user)
{
    struct site *site = user;
    const struct ev_device_state *state = payload;
    for (size_t i = 0; i < site->device_count; i++) {
        if (strcmp(site->devices[i].state.device_id, state->device_id) == 0) {
            site->devices[i].state = *state;
            return;
        }
    }
    if (site->device_count == SITE_MAX_DEVICES) {
        log_warn("site", "%s: ignored, more than %d devices", state->device_id, SITE_MAX_DEVICES);
        return;
    }
    site->devices[site->device_count++].state = *state;
}

static void on_meter_reading(enum bus_event event, const void *payload, void *user)
{
    struct site *site = user;
    const struct ev_meter_reading *reading = payload;
    int64_t interval_ms =
        (int64_t)(site->ctx->config->storage.sample_interval_s * (double)BALKON_MS_PER_S);
    /* A reading at ts covers (previous, ts], so it belongs to the interval ending at or
     * after ts. */
    int64_t end_ms = balkon_floor_ms(reading->ts_ms - 1, interval_ms) + interval_ms;
    if (site->interval_end_ms && end_ms != site->interval_end_ms)
        emit_interval(site);
    site->interval_end_ms = end_ms;

    int64_t step_ms =
        site->last_reading_ms == INT64_MIN ? 0 : reading->ts_ms - site->last_reading_ms;
    if (step_ms > 0 && step_ms <= MAX_STEP_MS) {
        double pv_w, battery_w, soc_pct;
        sum_devices(site, &pv_w, &battery_w, &soc_pct);
        site->pv_wms += pv_w * (double)step_ms;
        site->battery_wms += battery_w * (double)step_ms;
        site->grid_wms += reading->grid_w * (double)step_ms;
        site->integrated_ms += (double)step_ms;
    }
    if (reading->ts_ms > site->last_reading_ms)
        site->last_reading_ms = reading->ts_ms;
    if (reading->ts_ms == end_ms) {
        emit_interval(site);
        site->interval_end_ms = 0;
    }
}

static void on_clock_jumped(enum bus_event event, const void *payload, void *user)
{
    struct site *site = user;
    int64_t jump_ms = ((const struct ev_clock_jumped *)payload)->jump_ms;
    if (site->last_reading_ms != INT64_MIN)
        site->last_reading_ms += jump_ms;
    /* The interval under way ends here: the next one starts on the new time's grid. */
    if (site->interval_end_ms) {
        emit_interval(site);
        site->interval_end_ms = 0;
    }
}

static int site_start(struct balkon_ctx *ctx, void **state)
{
    struct site *site = calloc(1, sizeof *site);
    if (!site)
        return BALKON_E_NOMEM;
    site->ctx = ctx;
    site->last_reading_ms = INT64_MIN;
    int rc = balkon_bus_subscribe(ctx->bus, BUS_EV_DEVICE_STATE, on_device_state, site);
    if (rc == 0)
        rc = balkon_bus_subscribe(ctx->bus, BUS_EV_METER_READING, on_meter_reading, site);
    if (rc == 0)
        rc = balkon_bus_subscribe(ctx->bus, BUS_EV_CLOCK_JUMPED, on_clock_jumped, site);
    if (rc < 0) {
        balkon_bus_unsubscribe(ctx->bus, BUS_EV_DEVICE_STATE, on_device_state, site);
        balkon_bus_unsubscribe(ctx->bus, BUS_EV_METER_READING, on_meter_reading, site);
        free(site);
        return rc;
    }
    *state = site;
    return 0;
}

static void site_stop(void *state)
{
    struct site *site = state;
    balkon_bus_unsubscribe(site->ctx->bus, BUS_EV_DEVICE_STATE, on_device_state, site);
    balkon_bus_unsubscribe(site->ctx->bus, BUS_EV_METER_READING, on_meter_reading, site);
    balkon_bus_unsubscribe(site->ctx->bus, BUS_EV_CLOCK_JUMPED, on_clock_jumped, site);
}

const struct balkon_module balkon_module_site = {
    .name = "site",
    .start = site_start,
    .stop = site_stop,
    .free = free,
};
