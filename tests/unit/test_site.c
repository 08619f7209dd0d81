/* The site module: energy-correct averages per sample interval, the balance
 * home = pv + battery + grid, samples for site and device series, offline devices. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "balkon/bus.h"
#include "balkon/config.h"
#include "balkon/daemon.h"
#include "balkon/module.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct capture {
    struct ev_site_status statuses[16];
    size_t status_count;
    struct ev_sample samples[256];
    size_t sample_count;
};

static void on_status(enum bus_event e, const void *p, void *user)
{
    struct capture *c = user;
    c->statuses[c->status_count++] = *(const struct ev_site_status *)p;
}

static void on_sample(enum bus_event e, const void *p, void *user)
{
    struct capture *c = user;
    if (c->sample_count < 256)
        c->samples[c->sample_count++] = *(const struct ev_sample *)p;
}

static struct balkon_config config;
static struct balkon_ctx ctx;
static struct capture cap;
static void *site_state;

static int setup(void **state)
{
    balkon_config_defaults(&config);
    config.storage.sample_interval_s = 5;
    memset(&ctx, 0, sizeof ctx);
    memset(&cap, 0, sizeof cap);
    ctx.bus = balkon_bus_new();
    ctx.config = &config;
    balkon_bus_subscribe(ctx.bus, BUS_EV_SITE_STATUS, on_status, &cap);
    balkon_bus_subscribe(ctx.bus, BUS_EV_SAMPLE, on_sample, &cap);
    return balkon_module_site.start(&ctx, &site_state);
}

static int teardown(void **state)
{
    balkon_module_site.stop(site_state);
    balkon_module_site.free(site_state);
    balkon_bus_free(ctx.bus);
    return 0;
}

static void device(const char *id, unsigned roles, bool online, double power_w, double soc,
                   int64_t ts)
{
    struct ev_device_state s = {.roles = roles, .online = online, .ts_ms = ts};
    snprintf(s.device_id, sizeof s.device_id, "%s", id);
    s.values[s.value_count++] = (struct device_value){"power_w", power_w};
    if (!isnan(soc))
        s.values[s.value_count++] = (struct device_value){"soc_pct", soc};
    balkon_bus_publish(ctx.bus, BUS_EV_DEVICE_STATE, &s);
}

static void meter(double grid_w, int64_t ts)
{
    struct ev_meter_reading r = {.device_id = "m", .grid_w = grid_w, .ts_ms = ts};
    balkon_bus_publish(ctx.bus, BUS_EV_METER_READING, &r);
}

static void test_energy_weighted_average_and_balance(void **state)
{
    /* Readings every second from t=0: the first only starts the clock. For 1..3 s pv is
     * 100 W, for 4..5 s 400 W, so the 5 s interval averages (3*100 + 2*400)/5 = 220 W. */
    int64_t t0 = 1000000000000; /* a multiple of 5 s */
    for (int s = 0; s <= 5; s++) {
        double pv = s <= 3 ? 100 : 400;
        device("inv", DEVICE_ROLE_INVERTER, true, pv, NAN, t0 + s * 1000);
        device("bat", DEVICE_ROLE_BATTERY, true, -50, 40 + s, t0 + s * 1000);
        meter(300 - pv, t0 + s * 1000);
    }
    /* The t0 reading ends an interval with nothing integrated: no status for it. */
    assert_int_equal(cap.status_count, 1);
    const struct ev_site_status *st = &cap.statuses[0];
    assert_int_equal(st->ts_ms, t0 + 5000);
    assert_int_equal(st->interval_ms, 5000);
    assert_float_equal(st->pv_w, 220, 1e-9);
    assert_float_equal(st->battery_w, -50, 1e-9);
    assert_float_equal(st->grid_w, 80, 1e-9);
    assert_float_equal(st->home_w, st->pv_w + st->battery_w + st->grid_w, 1e-9);
    assert_float_equal(st->home_w, 250, 1e-9);
    assert_float_equal(st->soc_pct, 45, 1e-9);

    bool have_pv = false, have_device = false;
    for (size_t i = 0; i < cap.sample_count; i++) {
        if (cap.samples[i].ts_ms != t0 + 5000)
            continue;
        if (strcmp(cap.samples[i].series, "pv_w") == 0) {
            have_pv = true;
            assert_float_equal(cap.samples[i].value, 220, 1e-9);
            assert_string_equal(cap.samples[i].unit, "W");
        }
        if (strcmp(cap.samples[i].series, "device.bat.soc_pct") == 0) {
            have_device = true;
            assert_string_equal(cap.samples[i].unit, "%");
        }
    }
    assert_true(have_pv && have_device);
}

static void test_offline_devices_do_not_count(void **state)
{
    int64_t t0 = 1000000000000;
    for (int s = 0; s <= 5; s++) {
        device("inv", DEVICE_ROLE_INVERTER, true, 200, NAN, t0 + s * 1000);
        device("inv2", DEVICE_ROLE_INVERTER, false, 999, NAN, t0 + s * 1000);
        meter(0, t0 + s * 1000);
    }
    assert_float_equal(cap.statuses[cap.status_count - 1].pv_w, 200, 1e-9);
    assert_true(isnan(cap.statuses[cap.status_count - 1].soc_pct));
}

static void test_gap_is_not_integrated(void **state)
{
    /* A meter silent for 10 minutes: the gap is not smeared into an average. */
    int64_t t0 = 1000000000000;
    device("inv", DEVICE_ROLE_INVERTER, true, 100, NAN, t0);
    meter(0, t0);
    device("inv", DEVICE_ROLE_INVERTER, true, 500, NAN, t0 + 600000);
    meter(0, t0 + 600000);
    device("inv", DEVICE_ROLE_INVERTER, true, 500, NAN, t0 + 601000);
    meter(0, t0 + 601000);
    device("inv", DEVICE_ROLE_INVERTER, true, 500, NAN, t0 + 605000);
    meter(0, t0 + 605000);
    const struct ev_site_status *last = &cap.statuses[cap.status_count - 1];
    assert_int_equal(last->ts_ms, t0 + 605000);
    assert_int_equal(last->interval_ms, 5000);
    assert_float_equal(last->pv_w, 500, 1e-9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_energy_weighted_average_and_balance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offline_devices_do_not_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gap_is_not_integrated, setup, teardown),
    };
    return cmocka_run_group_tests_name("site", tests, NULL, NULL);
}
