/* The device-side failsafe on the simulator: the real balkonsolard commands the simulated
 * battery to discharge 664 W, then is stopped (SIGSTOP) for longer than the device's
 * failsafe_s. The simulated battery, like a Marstek's Passive countdown, must drop the
 * setpoint failsafe_s after the daemon's last refresh and run in its own automatic mode:
 * the recorded series show the setpoint ending within the stop, at failsafe_s, and the
 * battery's state shows the expiry. While the daemon runs, its refreshes keep the setpoint
 * for longer than failsafe_s. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static void write_config(struct daemon_proc *d, double failsafe_s)
{
    char json[2048];
    snprintf(json, sizeof json,
             "{\n"
             "  \"site\": {\"name\": \"failsafe test\", \"latitude\": 52.52, \"longitude\": 13.40,"
             " \"timezone\": \"Europe/Berlin\"},\n"
             /* A 1 Wp plane: no PV to share the 800 W connection with the battery at noon. */
             "  \"pv\": {\"planes\": [{\"name\": \"s\", \"tilt\": 35, \"azimuth\": 0, "
             "\"peak_w\": 1}]},\n"
             "  \"battery\": {\"capacity_wh\": 5000, \"max_discharge_w\": 800},\n"
             "  \"simulation\": {\"initial_soc_pct\": 90, \"battery_latency_s\": 0},\n"
             "  \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\", \"failsafe_s\": %g}],\n"
             "  \"storage\": {\"sample_interval_s\": 1},\n"
             "  \"control\": {\"enabled\": false}\n"
             "}\n",
             failsafe_s);
    harness_write_config(d, json);
}

static long long wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* One number from the daemon's database through the sqlite3 command-line tool. */
static double query(struct daemon_proc *d, const char *sql)
{
    char command[1024];
    snprintf(command, sizeof command, "sqlite3 -readonly '%s' \"%s\"", d->db_path, sql);
    FILE *out = popen(command, "r");
    assert_non_null(out);
    char line[64] = "";
    if (!fgets(line, sizeof line, out))
        line[0] = '\0';
    int status = pclose(out);
    if (status != 0 || !line[0] || line[0] == '\n')
        fail_msg("%s: no answer (status %d)", sql, status);
    return atof(line);
}

static void test_simulated_battery_failsafe(void **state)
{
    struct daemon_proc *d = *state;
    write_config(d, 10);
    assert_true(harness_start(d, NULL));
    cJSON_Delete(harness_wait_state(d, "sim-battery", true, "soc_pct", 10000));

    harness_post_command(d, "sim-battery", "{\"command\": \"setpoint\", \"value\": 664}", 202,
                         NULL);
    assert_string_equal(harness_wait_command_result(d, "sim-battery", "setpoint", "664", 10000),
                        "ok");
    cJSON_Delete(harness_wait_value(d, "sim-battery", "power_w", 664, 0.5, 5000));

    /* Alive for 13 s, longer than failsafe_s: the setpoint stands. */
    harness_sleep_ms(13000);
    cJSON *dev = harness_device(d, "sim-battery");
    double setpoint_w = harness_device_value(dev, "setpoint_w");
    double power_w = harness_device_value(dev, "power_w");
    double trips = harness_device_value(dev, "failsafe_trips");
    cJSON_Delete(dev);
    if (setpoint_w != 664 || fabs(power_w - 664) > 0.5 || trips != 0)
        fail_msg("while alive: setpoint %g, power %g, %g trips\n%s", setpoint_w, power_w, trips,
                 harness_log(d));

    /* Stopped for 16 s. */
    long long stopped_ms = wall_ms();
    assert_int_equal(kill(d->pid, SIGSTOP), 0);
    harness_sleep_ms(16000);
    assert_int_equal(kill(d->pid, SIGCONT), 0);
    long long resumed_ms = wall_ms();

    /* The battery says so, runs in its own mode, and the daemon does not bring it back. */
    assert_true(harness_wait_log(
        d, "sim-battery: setpoint 664 W not refreshed for 10 s: expired, back to automatic mode",
        5000));
    cJSON_Delete(harness_wait_value(d, "sim-battery", "failsafe_trips", 1, 0.01, 5000));
    harness_sleep_ms(2000);
    dev = harness_device(d, "sim-battery");
    assert_true(isnan(harness_device_value(dev, "setpoint_w")));
    assert_true(harness_device_value(dev, "failsafe_trips") == 1);
    cJSON_Delete(dev);
    harness_stop_cleanly(d, 10000);

    /* What the battery did during the stop, as recorded: the setpoint's last sample lies
     * about failsafe_s after the stop began (the last refresh came just before it), and the
     * battery's output after that is not the setpoint's. */
    char sql[512];
    double last_setpoint_ms =
        query(d, "SELECT max(ts_ms) FROM samples_raw JOIN series ON id = series_id"
                 " WHERE name = 'device.sim-battery.setpoint_w'");
    double expired_after_s = (last_setpoint_ms - (double)stopped_ms) / 1000.0;
    if (expired_after_s < 8.5 || expired_after_s > 11.5)
        fail_msg("the setpoint ended %.1f s after the stop began (failsafe_s 10)\n%s",
                 expired_after_s, harness_log(d));
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM samples_raw JOIN series ON id = series_id"
             " WHERE name = 'device.sim-battery.power_w' AND ts_ms > %.0f AND ts_ms < %lld"
             " AND abs(value - 664) < 0.5",
             last_setpoint_ms + 1500, resumed_ms);
    assert_true(query(d, sql) == 0);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM samples_raw JOIN series ON id = series_id"
             " WHERE name = 'device.sim-battery.power_w' AND ts_ms > %.0f AND ts_ms < %lld",
             last_setpoint_ms + 1500, resumed_ms);
    assert_true(query(d, sql) >= 3); /* the stop's remaining seconds were recorded */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_simulated_battery_failsafe, harness_setup,
                                        harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
