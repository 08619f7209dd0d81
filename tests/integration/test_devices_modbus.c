/* The modbus (register map) and sunspec drivers through the real daemon against a Modbus
 * TCP server the test starts (tests/fakes/fake_modbus.c: its own implementation of the
 * protocol, so the daemon's libmodbus client is checked against another one). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_modbus.h"
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
    struct daemon_proc daemon;
    struct fake_modbus *modbus;
};

static struct fixture the_fixture;

static int setup(void **state)
{
    harness_init(&the_fixture.daemon);
    the_fixture.modbus = fake_modbus_start();
    assert_non_null(the_fixture.modbus);
    *state = &the_fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    harness_cleanup(&f->daemon);
    fake_modbus_stop(f->modbus);
    f->modbus = NULL;
    return 0;
}

static void set1(struct fake_modbus *m, uint16_t address, uint16_t value)
{
    fake_modbus_set(m, address, &value, 1);
}

static void check_value(const cJSON *device, const char *name, double want)
{
    double got = harness_device_value(device, name);
    if (!(fabs(got - want) < 1e-3))
        fail_msg("%s: %s is %.6g, expected %.6g", harness_text(device, "id"), name, got, want);
}

/* A meter read by a register map: a scaled int16 power (SunSpec-style scale factor
 * register), a 32-bit energy from the input registers with a factor, a voltage. The
 * reading follows the registers, and a server that goes away makes the device offline with
 * the reason. */
static void test_register_map_meter(void **state)
{
    struct fixture *f = *state;
    struct daemon_proc *d = &f->daemon;
    set1(f->modbus, 100, (uint16_t)(int16_t)-3125); /* power, × 10^-1 */
    set1(f->modbus, 101, (uint16_t)(int16_t)-1);    /* its scale factor */
    uint16_t energy[2] = {0x0001, 0xE240};          /* 123456 */
    fake_modbus_set(f->modbus, 200, energy, 2);
    set1(f->modbus, 300, 2315);
    char devices[512];
    snprintf(devices, sizeof devices,
             "{\"id\": \"grid\", \"type\": \"modbus\", \"host\": \"127.0.0.1\", \"port\": %d,"
             " \"role\": \"meter\", \"poll_interval_s\": 0.5, \"timeout_s\": 1,"
             " \"registers\": \"power_w=100:int16:sf101, energy_wh=input:200:uint32*10,"
             " voltage_v = 300 : uint16 * 0.1\"}",
             fake_modbus_port(f->modbus));
    harness_write_devices_config(d, "modbus", devices);
    assert_true(harness_start(d, NULL));
    cJSON *device = harness_wait_value(d, "grid", "power_w", -312.5, 0.001, 10000);
    check_value(device, "energy_wh", 1234560);
    check_value(device, "voltage_v", 231.5);
    cJSON_Delete(device);
    set1(f->modbus, 100, 4200);
    cJSON_Delete(harness_wait_value(d, "grid", "power_w", 420.0, 0.001, 10000));
    fake_modbus_stop(f->modbus);
    f->modbus = fake_modbus_start(); /* another port: the configured one is closed now */
    harness_wait_offline(d, "grid", "cannot connect to 127.0.0.1", 20000);
    harness_stop_cleanly(d, 10000);
}

/* A register the device does not have: the device's error names the value and the
 * Modbus exception, and the daemon keeps polling. */
static void test_register_map_exception(void **state)
{
    struct fixture *f = *state;
    struct daemon_proc *d = &f->daemon;
    set1(f->modbus, 100, 500);
    char devices[512];
    snprintf(devices, sizeof devices,
             "{\"id\": \"inv\", \"type\": \"modbus\", \"host\": \"127.0.0.1\", \"port\": %d,"
             " \"role\": \"inverter\", \"poll_interval_s\": 0.5, \"timeout_s\": 1,"
             " \"registers\": \"power_w=150:uint16\"}",
             fake_modbus_port(f->modbus));
    harness_write_devices_config(d, "modbus", devices);
    assert_true(harness_start(d, NULL));
    /* Listed once it counts as offline: stale_s (10 s) without a reading. */
    harness_wait_offline(d, "inv", "power_w: holding register 150: Illegal data address", 25000);
    harness_stop_cleanly(d, 10000);
}

static void test_config_errors(void **state)
{
    struct fixture *f = *state;
    struct daemon_proc *d = &f->daemon;
    const char *cases[][2] = {
        {"\"registers\": \"power_w=70000:int16\"",
         "registers: entry 1 \"power_w=70000:int16\": the address must be 0 to 65535"},
        {"\"registers\": \"power_w=1:int8\"", "unknown type \"int8\""},
        {"\"registers\": \"soc_pct=1:uint16\"", "registers: must map power_w"},
        {"\"registers\": \"power_w=1:int16*0\"", "the factor after '*' must be a number"},
        {"\"registers\": \"power_w=1:int16:sfx\"", "expected \":sfADDRESS\""},
        {"\"registers\": \"power_w=1:int16, power_w=2:int16\"", "\"power_w\" is mapped twice"},
        {"\"registers\": \"Power=1:int16\"", "may hold only a-z, 0-9 and '_'"},
        {"\"registers\": \"\"", "registers: is required for type \"modbus\""},
        {"\"registers\": \"power_w=1:int16\", \"role\": \"plug\"",
         "role: must be \"meter\", \"inverter\" or \"battery\""},
        {"\"registers\": \"power_w=1:int16\", \"unit_id\": 250", "unit_id: must be 0 to 247"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char devices[512];
        snprintf(devices, sizeof devices,
                 "{\"id\": \"m\", \"type\": \"modbus\", \"host\": \"127.0.0.1\", %s}", cases[i][0]);
        harness_write_devices_config(d, "modbus", devices);
        char out[4096];
        assert_int_not_equal(harness_check_config(d, out, sizeof out), 0);
        if (!strstr(out, cases[i][1]))
            fail_msg("%s: expected \"%s\" in: %s", cases[i][0], cases[i][1], out);
    }
    harness_write_devices_config(d, "modbus",
                                 "{\"id\": \"s\", \"type\": \"sunspec\", \"host\": \"\"}");
    char out[4096];
    assert_int_not_equal(harness_check_config(d, out, sizeof out), 0);
    assert_non_null(strstr(out, "host: is required for type \"sunspec\""));
}

/* "SunS", common model 1, then the models given (id, length, body registers to set). */
static uint16_t sunspec_begin(struct fake_modbus *m)
{
    uint16_t head[4] = {0x5375, 0x6e53, 1, 66};
    fake_modbus_set(m, 40000, head, 4);
    uint16_t zeros[66] = {0};
    fake_modbus_set(m, 40004, zeros, 66);
    fake_modbus_set_string(m, 40004, "Fronius", 16);
    fake_modbus_set_string(m, 40020, "Smart Meter TS 65A-3", 16);
    fake_modbus_set_string(m, 40044, "1.7.3", 8);
    fake_modbus_set_string(m, 40052, "41012345", 16);
    return 40070;
}

static uint16_t sunspec_model(struct fake_modbus *m, uint16_t at, uint16_t id, uint16_t length,
                              const uint16_t *body)
{
    uint16_t head[2] = {id, length};
    fake_modbus_set(m, at, head, 2);
    fake_modbus_set(m, (uint16_t)(at + 2), body, length);
    return (uint16_t)(at + 2 + length);
}

static void sunspec_end(struct fake_modbus *m, uint16_t at)
{
    uint16_t end[2] = {0xFFFF, 0};
    fake_modbus_set(m, at, end, 2);
}

/* A three-phase meter (model 203, offsets from sunspec/models json/model_203.json):
 * W -1234 × 10^-1, phases, 230.1 V, 50.00 Hz, 12345.6 kWh imported. */
static void test_sunspec_meter(void **state)
{
    struct fixture *f = *state;
    struct daemon_proc *d = &f->daemon;
    uint16_t at = sunspec_begin(f->modbus);
    uint16_t meter[105];
    for (int i = 0; i < 105; i++)
        meter[i] = 0x8000; /* not implemented, unless set below */
    meter[5] = 2301;
    meter[13] = (uint16_t)(int16_t)-1; /* V_SF */
    meter[14] = 5000;
    meter[15] = (uint16_t)(int16_t)-2; /* Hz_SF */
    meter[16] = (uint16_t)(int16_t)-1234;
    meter[17] = (uint16_t)(int16_t)-400;
    meter[18] = (uint16_t)(int16_t)-434;
    meter[19] = (uint16_t)(int16_t)-400;
    meter[20] = (uint16_t)(int16_t)-1; /* W_SF */
    meter[36] = 0;
    meter[37] = 0; /* TotWhExp: 0 = not accumulated */
    meter[44] = 0x00BC;
    meter[45] = 0x6140; /* TotWhImp 12345664 × 10^0 */
    meter[52] = 0;      /* TotWh_SF */
    at = sunspec_model(f->modbus, at, 203, 105, meter);
    sunspec_end(f->modbus, at);
    char devices[512];
    snprintf(devices, sizeof devices,
             "{\"id\": \"meter\", \"type\": \"sunspec\", \"host\": \"127.0.0.1\", \"port\": %d,"
             " \"poll_interval_s\": 0.5, \"timeout_s\": 1}",
             fake_modbus_port(f->modbus));
    harness_write_devices_config(d, "sunspec", devices);
    assert_true(harness_start(d, NULL));
    cJSON *device = harness_wait_value(d, "meter", "power_w", -123.4, 0.001, 10000);
    check_value(device, "power_l1_w", -40.0);
    check_value(device, "power_l2_w", -43.4);
    check_value(device, "voltage_v", 230.1);
    check_value(device, "frequency_hz", 50.0);
    check_value(device, "energy_wh", 12345664);
    assert_true(isnan(harness_device_value(device, "energy_export_wh")));
    char *text = cJSON_PrintUnformatted(device);
    assert_non_null(strstr(text, "Smart Meter TS 65A-3"));
    assert_non_null(strstr(text, "1.7.3"));
    free(text);
    cJSON_Delete(device);
    harness_stop_cleanly(d, 10000);
}

/* A battery (model 802, offsets from json/model_802.json) behind an inverter model 103,
 * role found from the models: SoC 65.5 %, W -1500 (charging), 10 kWh rated. */
static void test_sunspec_battery(void **state)
{
    struct fixture *f = *state;
    struct daemon_proc *d = &f->daemon;
    uint16_t at = sunspec_begin(f->modbus);
    uint16_t inverter[50] = {0};
    inverter[12] = 900;
    at = sunspec_model(f->modbus, at, 103, 50, inverter);
    uint16_t battery[62];
    for (int i = 0; i < 62; i++)
        battery[i] = 0xFFFF;
    battery[1] = 1000;                      /* WHRtg */
    battery[51] = 1;                        /* WHRtg_SF */
    battery[9] = 655;                       /* SoC */
    battery[54] = (uint16_t)(int16_t)-1;    /* SoC_SF */
    battery[45] = (uint16_t)(int16_t)-1500; /* W */
    battery[61] = 0;                        /* W_SF */
    at = sunspec_model(f->modbus, at, 802, 62, battery);
    sunspec_end(f->modbus, at);
    char devices[512];
    snprintf(devices, sizeof devices,
             "{\"id\": \"bat\", \"type\": \"sunspec\", \"host\": \"127.0.0.1\", \"port\": %d,"
             " \"poll_interval_s\": 0.5, \"timeout_s\": 1},"
             "{\"id\": \"pv\", \"type\": \"sunspec\", \"host\": \"127.0.0.1\", \"port\": %d,"
             " \"role\": \"inverter\", \"poll_interval_s\": 0.5, \"timeout_s\": 1}",
             fake_modbus_port(f->modbus), fake_modbus_port(f->modbus));
    harness_write_devices_config(d, "sunspec", devices);
    assert_true(harness_start(d, NULL));
    cJSON *device = harness_wait_value(d, "bat", "soc_pct", 65.5, 0.001, 10000);
    check_value(device, "power_w", -1500);
    check_value(device, "capacity_wh", 10000);
    cJSON_Delete(device);
    cJSON_Delete(harness_wait_value(d, "pv", "power_w", 900, 0.001, 10000));
    harness_stop_cleanly(d, 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_register_map_meter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_map_exception, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sunspec_meter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sunspec_battery, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
