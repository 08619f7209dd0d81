/* The sma_speedwire driver through the real daemon inside a network namespace the test
 * creates (unshare -rn: lo up with multicast and a route for 224.0.0.0/4), so the
 * multicast group 239.12.255.254:9522 is this test's alone. The sender is this test program
 * run again with "sender": it multicasts the two captured datagrams
 * (tests/fixtures/real/sma_speedwire/: an Energy Meter 2.0 and a Sunny Home Manager 2.0),
 * an inverter's Speedwire datagram and garbage, every 200 ms. The daemon's config has one
 * device per meter, picked by serial, and one for a serial nobody sends. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_http.h"
#include "harness.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char self_path[512];

static size_t load_hex(const char *dir, const char *name, uint8_t *out, size_t size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/real/sma_speedwire/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = 0;
    unsigned byte;
    while (n < size && fscanf(f, "%2x", &byte) == 1)
        out[n++] = (uint8_t)byte;
    fclose(f);
    return n;
}

static int sender_main(const char *fixtures, int seconds)
{
    uint8_t em[1500], shm[1500], inverter[1500];
    size_t em_n = load_hex(fixtures, "em20_lujop_smasolar.hex", em, sizeof em);
    size_t shm_n = load_hex(fixtures, "shm20_protocol_doc.hex", shm, sizeof shm);
    if (!em_n || !shm_n) {
        fprintf(stderr, "sender: cannot read the fixtures in %s\n", fixtures);
        return 1;
    }
    memcpy(inverter, em, em_n);
    inverter[17] = 0x65; /* protocol 0x6065 */
    const char garbage[] = "SMA\0 not a meter";
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in group = {.sin_family = AF_INET, .sin_port = htons(9522)};
    inet_pton(AF_INET, "239.12.255.254", &group.sin_addr);
    for (int i = 0; i < seconds * 5; i++) {
        sendto(fd, garbage, sizeof garbage, 0, (struct sockaddr *)&group, sizeof group);
        sendto(fd, inverter, em_n, 0, (struct sockaddr *)&group, sizeof group);
        if (sendto(fd, em, em_n, 0, (struct sockaddr *)&group, sizeof group) < 0 ||
            sendto(fd, shm, shm_n, 0, (struct sockaddr *)&group, sizeof group) < 0) {
            perror("sender: sendto 239.12.255.254:9522");
            return 1;
        }
        usleep(200 * 1000);
    }
    close(fd);
    return 0;
}

static bool namespaces_work(void)
{
    return system("unshare -rn sh -c 'ip link set lo up multicast on && "
                  "ip route add 224.0.0.0/4 dev lo' >/dev/null 2>&1") == 0;
}

static const cJSON *device_in(const cJSON *all, const char *id)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(all, "devices"))
    {
        if (strcmp(harness_text(item, "id"), id) == 0)
            return item;
    }
    fail_msg("no device \"%s\"", id);
    return NULL;
}

static void near(const cJSON *device, const char *name, double want)
{
    double got = harness_device_value(device, name);
    if (!(fabs(got - want) < 1e-3))
        fail_msg("%s: %s is %.6g, expected %.6g", harness_text(device, "id"), name, got, want);
}

static void test_meters_by_multicast(void **state)
{
    struct daemon_proc *d = *state;
    if (!namespaces_work()) {
        print_message("skipped: cannot make a network namespace with multicast on lo "
                      "(unshare -rn, ip)\n");
        skip();
    }
    harness_write_devices_config(
        d, "sma",
        "{\"id\": \"em\", \"type\": \"sma_speedwire\", \"serial\": \"1901403938\","
        " \"poll_interval_s\": 0.5},"
        "{\"id\": \"shm\", \"type\": \"sma_speedwire\", \"serial\": \"3014003406\"},"
        "{\"id\": \"other\", \"type\": \"sma_speedwire\", \"serial\": \"12345\"}");
    char command[4096];
    snprintf(command, sizeof command,
             "SELF='%s' BIN='%s' DIR='%s' FIX='%s' CFG='%s' DB='%s' unshare -rn sh -c '"
             "ip link set lo up multicast on && ip route add 224.0.0.0/4 dev lo || exit 90; "
             "tok=$(\"$BIN\" token t --db \"$DB\") || exit 91; "
             "\"$BIN\" --config \"$CFG\" --db \"$DB\" --listen 127.0.0.1:18095 >\"$DIR/log\" 2>&1 &"
             " pid=$!; "
             "for i in $(seq 50); do curl -sf http://127.0.0.1:18095/api/v1/health >/dev/null && "
             "break; sleep 0.2; done; "
             "\"$SELF\" sender \"$FIX\" 12 & s=$!; "
             "for i in $(seq 50); do sleep 0.2; "
             "curl -s -H \"Authorization: Bearer $tok\" http://127.0.0.1:18095/api/v1/devices "
             ">\"$DIR/devices.json\"; "
             "grep -q \"634.7\" \"$DIR/devices.json\" && grep -q \"699.7\" \"$DIR/devices.json\" "
             "&& break; done; "
             "kill $s; wait $s; kill -TERM $pid; wait $pid; echo $? >\"$DIR/rc\"'",
             self_path, getenv("BALKONSOLARD"), d->dir, getenv("BALKON_FIXTURES"), d->config_path,
             d->db_path);
    int rc = system(command);
    char path[512];
    snprintf(path, sizeof path, "%s/devices.json", d->dir);
    char *text = fake_read_file(path, NULL);
    snprintf(path, sizeof path, "%s/log", d->dir);
    char *log = fake_read_file(path, NULL);
    if (rc != 0 || !text)
        fail_msg("the namespace script failed (%d): %s", rc, log ? log : "");
    cJSON *all = cJSON_Parse(text);
    if (!all)
        fail_msg("GET /api/v1/devices: %s\nlog: %s", text, log ? log : "");
    const cJSON *em = device_in(all, "em");
    if (!harness_device_online(em))
        fail_msg("em is not online: %s\nlog: %s", text, log ? log : "");
    near(em, "power_w", 634.7);
    near(em, "power_l1_w", 634.7);
    near(em, "voltage_l1_v", 225.757);
    near(em, "energy_export_wh", 0x36ae9a8 / 3600.0);
    assert_string_equal(harness_text(em, "model"), "Energy Meter 2.0");
    assert_string_equal(harness_text(em, "firmware"), "2.0.16.R");
    const cJSON *shm = device_in(all, "shm");
    assert_true(harness_device_online(shm));
    near(shm, "power_w", -699.7);
    near(shm, "frequency_hz", 49.987);
    assert_string_equal(harness_text(shm, "model"), "Sunny Home Manager 2.0");
    /* Nobody sends serial 12345: the device never has a reading (the API lists a device
     * once it reported something, so it may also be absent). */
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(all, "devices"))
    {
        if (strcmp(harness_text(item, "id"), "other") == 0) {
            assert_false(harness_device_online(item));
            assert_true(isnan(harness_device_value(item, "power_w")));
        }
    }
    cJSON_Delete(all);
    free(text);
    free(log);
    snprintf(path, sizeof path, "%s/rc", d->dir);
    char *exit_code = fake_read_file(path, NULL);
    assert_non_null(exit_code);
    assert_int_equal(atoi(exit_code), 0); /* the daemon stopped cleanly */
    free(exit_code);
}

/* Without a multicast route the device is offline with the reason; the daemon runs on. */
static void test_no_multicast_route(void **state)
{
    struct daemon_proc *d = *state;
    if (!namespaces_work()) {
        print_message("skipped: cannot make a network namespace (unshare -rn)\n");
        skip();
    }
    harness_write_devices_config(
        d, "sma", "{\"id\": \"em\", \"type\": \"sma_speedwire\", \"serial\": \"1901403938\"}");
    char command[4096];
    snprintf(command, sizeof command,
             "BIN='%s' DIR='%s' CFG='%s' DB='%s' unshare -rn sh -c '"
             "ip link set lo up; tok=$(\"$BIN\" token t --db \"$DB\") || exit 91; "
             "\"$BIN\" --config \"$CFG\" --db \"$DB\" --listen 127.0.0.1:18096 >\"$DIR/log\" 2>&1 &"
             " pid=$!; "
             "for i in $(seq 50); do curl -s -H \"Authorization: Bearer $tok\" "
             "http://127.0.0.1:18096/api/v1/devices >\"$DIR/devices.json\" && "
             "grep -q \"Speedwire group\" \"$DIR/devices.json\" && break; sleep 0.2; done; "
             "kill -TERM $pid; wait $pid'",
             getenv("BALKONSOLARD"), d->dir, d->config_path, d->db_path);
    assert_int_equal(system(command), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/devices.json", d->dir);
    char *text = fake_read_file(path, NULL);
    assert_non_null(text);
    if (!strstr(text, "cannot join the Speedwire group 239.12.255.254"))
        fail_msg("expected the reason in /api/v1/devices: %s", text);
    free(text);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "sender") == 0)
        return sender_main(argv[2], atoi(argv[3]));
    ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (n <= 0)
        return 1;
    self_path[n] = '\0';
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_meters_by_multicast, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_no_multicast_route, harness_setup, harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
