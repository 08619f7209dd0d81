/* The real balkonsolard reading Marstek Venus batteries played by fake devices: UDP
 * sockets on 127.0.0.1 answering the Open API's documented JSON (one thread each). One
 * daemon runs four of them at once, so the firmware-friendly 2 s spacing does not add up:
 *   venus     a good device: values, model and firmware, its CT as the meter, a setpoint
 *             and "auto" verified by reading back (it answers set_result false, as real
 *             ones often do), requests never closer than 2 s;
 *   stubborn  answers set_result true but ignores ES.SetMode: the command fails after its
 *             attempts; then it goes silent and turns offline keeping its last values;
 *   garbage   answers every request with bytes that are not JSON: offline with the reason;
 *   silent    never answers: offline with "no reply to ES.GetStatus within 1 s"; a reload
 *             pointing it at a device that answers brings it back.
 * Every fake keeps Passive's countdown (cd_time) as the firmware does: without a new
 * ES.SetMode it returns to Auto when the countdown runs out. test_marstek_failsafe stops
 * the daemon (SIGSTOP) during a 664 W discharge and watches the battery go back to Auto by
 * itself; test_marstek_spoofed_reply races every answer with a forged one from another
 * port, which the daemon must refuse. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <arpa/inet.h>
#include <math.h>
#include <signal.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum behaviour { GOOD, IGNORES_SETMODE, GARBAGE, SILENT };

struct fake_venus {
    int fd;
    int port;
    pthread_t thread;
    pthread_mutex_t lock;
    volatile int stop;
    enum behaviour behaviour;
    char mode[16];
    double power_w;
    double soc_pct;
    int requests;
    double min_gap_s; /* the shortest time between two requests */
    double last_request_s;
    char last_setmode[512];
    int setmodes;
    double passive_until_s;  /* Passive's countdown runs out then (mono_s) */
    int reverts;             /* times the countdown ran out */
    double reverted_after_s; /* the last revert, seconds after the ES.SetMode before it */
    double last_setmode_s;
    int spoof_fd; /* >= 0: a forged answer from this other socket precedes every real one */
    bool forge_without_id; /* a forged answer without an id, from the device's own port, too */
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static cJSON *reply_to(struct fake_venus *f, const cJSON *request)
{
    const char *method = cJSON_GetObjectItem(request, "method")->valuestring;
    cJSON *reply = cJSON_CreateObject();
    cJSON_AddItemToObject(reply, "id", cJSON_Duplicate(cJSON_GetObjectItem(request, "id"), 1));
    cJSON_AddStringToObject(reply, "src", "VenusE 3.0-18cedff563f9");
    cJSON *result = cJSON_AddObjectToObject(reply, "result");
    if (strcmp(method, "Marstek.GetDevice") == 0) {
        cJSON_AddStringToObject(result, "device", "VenusE 3.0");
        cJSON_AddNumberToObject(result, "ver", 144);
        cJSON_AddStringToObject(result, "ble_mac", "18cedff563f9");
        cJSON_AddStringToObject(result, "ip", "127.0.0.1");
        return reply;
    }
    cJSON_AddNumberToObject(result, "id", 0);
    if (strcmp(method, "ES.GetStatus") == 0) {
        cJSON_AddNumberToObject(result, "bat_soc", f->soc_pct);
        cJSON_AddNumberToObject(result, "bat_cap", 5120);
        cJSON_AddNumberToObject(result, "pv_power", 0);
        cJSON_AddNumberToObject(result, "ongrid_power", f->power_w);
        cJSON_AddNumberToObject(result, "offgrid_power", 0);
        cJSON_AddNumberToObject(result, "total_grid_output_energy", 44583);
    } else if (strcmp(method, "ES.GetMode") == 0) {
        cJSON_AddStringToObject(result, "mode", f->mode);
        cJSON_AddNumberToObject(result, "ongrid_power", f->power_w);
        cJSON_AddNumberToObject(result, "bat_soc", f->soc_pct);
    } else if (strcmp(method, "EM.GetStatus") == 0) {
        cJSON_AddNumberToObject(result, "ct_state", 1);
        cJSON_AddNumberToObject(result, "a_power", 21);
        cJSON_AddNumberToObject(result, "b_power", 492);
        cJSON_AddNumberToObject(result, "c_power", -508);
        cJSON_AddNumberToObject(result, "total_power", 5);
    } else if (strcmp(method, "ES.SetMode") == 0) {
        char *text = cJSON_PrintUnformatted(request);
        snprintf(f->last_setmode, sizeof f->last_setmode, "%s", text);
        free(text);
        const cJSON *config = cJSON_GetObjectItem(cJSON_GetObjectItem(request, "params"), "config");
        const char *mode = cJSON_GetObjectItem(config, "mode")->valuestring;
        f->setmodes++;
        f->last_setmode_s = mono_s();
        if (f->behaviour == GOOD) {
            snprintf(f->mode, sizeof f->mode, "%s", mode);
            const cJSON *cd_time =
                cJSON_GetObjectItem(cJSON_GetObjectItem(config, "passive_cfg"), "cd_time");
            f->passive_until_s = cJSON_IsNumber(cd_time) ? mono_s() + cd_time->valuedouble : 0;
            f->power_w =
                strcmp(mode, "Passive") == 0
                    ? cJSON_GetObjectItem(cJSON_GetObjectItem(config, "passive_cfg"), "power")
                          ->valuedouble
                    : 120;
        }
        /* set_result is not to be trusted either way. */
        cJSON_AddBoolToObject(result, "set_result", f->behaviour != GOOD);
    } else {
        cJSON_DeleteItemFromObject(reply, "result");
        cJSON *error = cJSON_AddObjectToObject(reply, "error");
        cJSON_AddNumberToObject(error, "code", -32601);
        cJSON_AddStringToObject(error, "message", "Method not found");
    }
    return reply;
}

static void *fake_thread(void *arg)
{
    struct fake_venus *f = arg;
    while (!f->stop) {
        struct pollfd p = {.fd = f->fd, .events = POLLIN};
        int ready = poll(&p, 1, 50);
        /* Passive's countdown ran out: back to Auto, as the firmware does by itself. */
        pthread_mutex_lock(&f->lock);
        if (strcmp(f->mode, "Passive") == 0 && f->passive_until_s > 0 &&
            mono_s() >= f->passive_until_s) {
            snprintf(f->mode, sizeof f->mode, "Auto");
            f->power_w = 120;
            f->reverts++;
            f->reverted_after_s = mono_s() - f->last_setmode_s;
            f->passive_until_s = 0;
        }
        pthread_mutex_unlock(&f->lock);
        if (ready <= 0)
            continue;
        char buf[2048];
        struct sockaddr_in from;
        socklen_t from_len = sizeof from;
        ssize_t n = recvfrom(f->fd, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &from_len);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        pthread_mutex_lock(&f->lock);
        double now = mono_s();
        if (f->requests > 0 && now - f->last_request_s < f->min_gap_s)
            f->min_gap_s = now - f->last_request_s;
        f->last_request_s = now;
        f->requests++;
        char out[1024] = "";
        if (f->behaviour == GARBAGE) {
            snprintf(out, sizeof out, "\x01\x02 garbage {");
        } else if (f->behaviour != SILENT) {
            cJSON *request = cJSON_Parse(buf);
            assert_non_null(request);
            cJSON *reply = reply_to(f, request);
            char *text = cJSON_PrintUnformatted(reply);
            snprintf(out, sizeof out, "%s", text);
            free(text);
            cJSON_Delete(reply);
            cJSON_Delete(request);
        }
        int spoof_fd = f->spoof_fd;
        bool forge_without_id = f->forge_without_id;
        pthread_mutex_unlock(&f->lock);
        if (out[0] && spoof_fd >= 0) {
            /* The same id, values of its own, from another port of the same host, and first. */
            cJSON *forged = cJSON_Parse(out);
            cJSON *result = cJSON_GetObjectItem(forged, "result");
            if (cJSON_GetObjectItem(result, "bat_soc"))
                cJSON_ReplaceItemInObject(result, "bat_soc", cJSON_CreateNumber(1));
            if (cJSON_GetObjectItem(result, "ongrid_power"))
                cJSON_ReplaceItemInObject(result, "ongrid_power", cJSON_CreateNumber(-2000));
            char *text = cJSON_PrintUnformatted(forged);
            sendto(spoof_fd, text, strlen(text), 0, (struct sockaddr *)&from, from_len);
            free(text);
            if (forge_without_id) {
                cJSON_DeleteItemFromObject(forged, "id");
                text = cJSON_PrintUnformatted(forged);
                sendto(f->fd, text, strlen(text), 0, (struct sockaddr *)&from, from_len);
                free(text);
            }
            cJSON_Delete(forged);
            harness_sleep_ms(20);
        }
        if (out[0])
            sendto(f->fd, out, strlen(out), 0, (struct sockaddr *)&from, from_len);
    }
    return NULL;
}

static void fake_start(struct fake_venus *f, enum behaviour behaviour)
{
    memset(f, 0, sizeof *f);
    f->behaviour = behaviour;
    f->soc_pct = 55;
    f->power_w = 120;
    f->min_gap_s = 1e9;
    snprintf(f->mode, sizeof f->mode, "Auto");
    f->spoof_fd = -1;
    pthread_mutex_init(&f->lock, NULL);
    f->fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(f->fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(f->fd, (struct sockaddr *)&addr, sizeof addr), 0);
    socklen_t len = sizeof addr;
    getsockname(f->fd, (struct sockaddr *)&addr, &len);
    f->port = ntohs(addr.sin_port);
    assert_int_equal(pthread_create(&f->thread, NULL, fake_thread, f), 0);
}

static void fake_stop(struct fake_venus *f)
{
    f->stop = 1;
    pthread_join(f->thread, NULL);
    close(f->fd);
    if (f->spoof_fd >= 0)
        close(f->spoof_fd);
    pthread_mutex_destroy(&f->lock);
}

/* venus, stubborn, garbage and silent, each polled every 0.5 s (the driver still keeps 2 s). */
static void write_config(struct daemon_proc *d, int venus, int stubborn, int garbage, int silent)
{
    char json[2048];
    snprintf(json, sizeof json,
             "{\n"
             "  \"control\": {\"enabled\": false},\n"
             "  \"devices\": [\n"
             "    {\"id\": \"venus\", \"type\": \"marstek_venus\", \"host\": \"127.0.0.1\", "
             "\"port\": %d,"
             " \"role\": \"battery+meter\", \"poll_interval_s\": 0.5, \"timeout_s\": 1},\n"
             "    {\"id\": \"stubborn\", \"type\": \"marstek_venus\", \"host\": \"127.0.0.1\", "
             "\"port\": %d,"
             " \"role\": \"battery\", \"poll_interval_s\": 0.5, \"timeout_s\": 1},\n"
             "    {\"id\": \"garbage\", \"type\": \"marstek_venus\", \"host\": \"127.0.0.1\", "
             "\"port\": %d,"
             " \"poll_interval_s\": 0.5, \"timeout_s\": 1},\n"
             "    {\"id\": \"silent\", \"type\": \"marstek_venus\", \"host\": \"127.0.0.1\", "
             "\"port\": %d,"
             " \"poll_interval_s\": 0.5, \"timeout_s\": 1}\n"
             "  ]\n"
             "}\n",
             venus, stubborn, garbage, silent);
    harness_write_config(d, json);
}

static void test_marstek_devices(void **state)
{
    struct daemon_proc *d = *state;
    struct fake_venus venus, stubborn, garbage, silent;
    fake_start(&venus, GOOD);
    fake_start(&stubborn, IGNORES_SETMODE);
    fake_start(&garbage, GARBAGE);
    fake_start(&silent, SILENT);
    write_config(d, venus.port, stubborn.port, garbage.port, silent.port);
    assert_true(harness_start(d, NULL));

    /* What a user sees of a good device: ES.GetStatus values, Marstek.GetDevice's model and
     * firmware, and the CT from EM.GetStatus as a meter of its own. */
    cJSON *dev = harness_wait_device(d, "venus", true, "soc_pct", 55, 8000);
    assert_true(harness_device_value(dev, "power_w") == 120);
    assert_true(harness_device_value(dev, "capacity_wh") == 5120);
    cJSON_Delete(dev);
    dev = harness_wait_device(d, "venus-meter", true, "power_w", 5, 12000);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(dev, "roles"), 0)->valuestring,
                        "meter");
    cJSON_Delete(dev);
    cJSON_Delete(harness_wait_device(d, "stubborn", true, "soc_pct", 55, 8000));
    for (int waited = 0;; waited += 250) {
        dev = harness_device(d, "venus");
        if (strcmp(harness_text(dev, "model"), "VenusE 3.0") == 0)
            break;
        cJSON_Delete(dev);
        if (waited > 12000)
            fail_msg("no model from Marstek.GetDevice\n%s", (fputs(harness_log(d), stderr), ""));
        harness_sleep_ms(250);
    }
    assert_string_equal(harness_text(dev, "firmware"), "144");
    cJSON_Delete(dev);

    /* Refused before anything is sent. */
    harness_post_command(d, "venus", "{\"command\": \"setpoint\", \"value\": 900}", 400,
                         "setpoint: must be between -800 and 800 W, got 900");
    harness_post_command(d, "venus", "{\"command\": \"limit\", \"value\": 100}", 400,
                         "is not one of");
    harness_post_command(d, "venus-meter", "{\"command\": \"setpoint\", \"value\": 100}", 400,
                         "takes no commands");

    /* A charge setpoint goes out as Passive with our sign and is verified by reading back the
     * mode and ongrid_power, although the device said set_result false. The stubborn one
     * says true and changes nothing. */
    harness_post_command(d, "venus", "{\"command\": \"setpoint\", \"value\": -300}", 202,
                         "pending");
    harness_post_command(d, "stubborn", "{\"command\": \"setpoint\", \"value\": 200}", 202,
                         "pending");
    assert_string_equal(harness_wait_command_result(d, "venus", "setpoint", "-300", 20000), "ok");
    pthread_mutex_lock(&venus.lock);
    assert_non_null(strstr(venus.last_setmode,
                           "\"mode\":\"Passive\",\"passive_cfg\":{\"power\":-300,\"cd_time\":"));
    pthread_mutex_unlock(&venus.lock);
    cJSON_Delete(harness_wait_device(d, "venus", true, "power_w", -300, 8000));

    harness_post_command(d, "venus", "{\"command\": \"auto\"}", 202, "pending");
    const char *stubborn_result =
        harness_wait_command_result(d, "stubborn", "setpoint", "200", 40000);
    assert_string_equal(stubborn_result, "mode is Auto, expected Passive (after 3 attempts)");
    /* Garbage and silence: offline with the reason, while the rest runs on. */
    dev = harness_wait_device(d, "garbage", false, NULL, 0, 20000);
    assert_string_equal(harness_text(dev, "error"), "ES.GetStatus: the reply is not a JSON object");
    cJSON_Delete(dev);
    dev = harness_wait_device(d, "silent", false, NULL, 0, 20000);
    assert_string_equal(harness_text(dev, "error"), "no reply to ES.GetStatus within 1 s");
    cJSON_Delete(dev);

    /* A device that stops answering keeps its last values until it counts as offline. */
    pthread_mutex_lock(&stubborn.lock);
    stubborn.behaviour = SILENT;
    pthread_mutex_unlock(&stubborn.lock);
    assert_string_equal(harness_wait_command_result(d, "venus", "auto", "0", 20000), "ok");
    pthread_mutex_lock(&venus.lock);
    assert_non_null(strstr(venus.last_setmode, "\"mode\":\"Auto\",\"auto_cfg\":{\"enable\":1}"));
    pthread_mutex_unlock(&venus.lock);
    dev = harness_wait_device(d, "stubborn", false, "soc_pct", 55, 25000);
    assert_non_null(strstr(harness_text(dev, "error"), "no reply to ES."));
    cJSON_Delete(dev);
    cJSON_Delete(harness_wait_device(d, "venus", true, "power_w", 120, 1000));

    /* The firmware-friendly pace held throughout: one request at a time, 2 s apart. */
    pthread_mutex_lock(&venus.lock);
    double min_gap_s = venus.min_gap_s;
    int requests = venus.requests;
    pthread_mutex_unlock(&venus.lock);
    if (min_gap_s < 1.95 || requests < 8)
        fail_msg("%d requests, shortest gap %.3f s", requests, min_gap_s);
    pthread_mutex_lock(&garbage.lock);
    assert_true(garbage.min_gap_s >= 1.95);
    pthread_mutex_unlock(&garbage.lock);

    /* A reload that points "silent" at a device that answers: a new socket, and it is back. */
    struct fake_venus revived;
    fake_start(&revived, GOOD);
    write_config(d, venus.port, stubborn.port, garbage.port, revived.port);
    kill(d->pid, SIGHUP);
    cJSON_Delete(harness_wait_device(d, "silent", true, "soc_pct", 55, 8000));

    harness_stop_cleanly(d, 10000);
    fake_stop(&revived);
    fake_stop(&venus);
    fake_stop(&stubborn);
    fake_stop(&garbage);
    fake_stop(&silent);
}

/* A battery alone, polled every 0.5 s, with the given failsafe_s. */
static void write_one_config(struct daemon_proc *d, int port, double failsafe_s)
{
    char json[1024];
    snprintf(json, sizeof json,
             "{\n"
             "  \"control\": {\"enabled\": false},\n"
             "  \"devices\": [\n"
             "    {\"id\": \"venus\", \"type\": \"marstek_venus\", \"host\": \"127.0.0.1\", "
             "\"port\": %d, \"poll_interval_s\": 0.5, \"timeout_s\": 1, \"failsafe_s\": %g}\n"
             "  ]\n"
             "}\n",
             port, failsafe_s);
    harness_write_config(d, json);
}

/* A daemon that stops while the battery discharges 664 W: the battery's own countdown
 * (cd_time = failsafe_s) takes it back to Auto within failsafe_s, and the daemon, when it
 * runs again, does not undo that by refreshing the old setpoint. While the daemon runs,
 * its refreshes keep the setpoint for longer than the countdown. */
static void test_marstek_failsafe(void **state)
{
    struct daemon_proc *d = *state;
    struct fake_venus venus;
    fake_start(&venus, GOOD);
    write_one_config(d, venus.port, 10);
    assert_true(harness_start(d, NULL));
    cJSON_Delete(harness_wait_device(d, "venus", true, "soc_pct", 55, 8000));

    harness_post_command(d, "venus", "{\"command\": \"setpoint\", \"value\": 664}", 202, "pending");
    assert_string_equal(harness_wait_command_result(d, "venus", "setpoint", "664", 20000), "ok");
    pthread_mutex_lock(&venus.lock);
    assert_non_null(strstr(venus.last_setmode, "\"power\":664,\"cd_time\":10}"));
    pthread_mutex_unlock(&venus.lock);

    /* Alive: 15 s (longer than the countdown) and still discharging, refreshed meanwhile. */
    harness_sleep_ms(15000);
    pthread_mutex_lock(&venus.lock);
    int setmodes = venus.setmodes;
    bool passive = strcmp(venus.mode, "Passive") == 0 && venus.power_w == 664;
    int reverts = venus.reverts;
    pthread_mutex_unlock(&venus.lock);
    if (!passive || reverts != 0 || setmodes < 4)
        fail_msg("while the daemon runs: passive %d, %d reverts, %d ES.SetMode\n%s", passive,
                 reverts, setmodes, harness_log(d));

    /* Stopped for 16 s: the battery goes back to Auto by itself, 10 s after the last refresh. */
    assert_int_equal(kill(d->pid, SIGSTOP), 0);
    long stopped_ms = harness_now_ms();
    harness_sleep_ms(16000);
    pthread_mutex_lock(&venus.lock);
    char mode[16];
    snprintf(mode, sizeof mode, "%s", venus.mode);
    double power_w = venus.power_w;
    reverts = venus.reverts;
    double reverted_after_s = venus.reverted_after_s;
    int setmodes_stopped = venus.setmodes;
    pthread_mutex_unlock(&venus.lock);
    assert_int_equal(kill(d->pid, SIGCONT), 0);
    if (strcmp(mode, "Auto") != 0 || power_w != 120 || reverts != 1)
        fail_msg("after %ld ms stopped: mode %s, %g W, %d reverts", harness_now_ms() - stopped_ms,
                 mode, power_w, reverts);
    assert_true(reverted_after_s >= 9.9 && reverted_after_s < 11);

    /* Running again: the daemon says the countdown ran out and leaves the battery in Auto. */
    assert_true(harness_wait_log(d, "the battery's countdown (failsafe_s 10) has run out", 10000));
    cJSON_Delete(harness_wait_device(d, "venus", true, "power_w", 120, 10000));
    harness_sleep_ms(3000);
    pthread_mutex_lock(&venus.lock);
    assert_int_equal(venus.setmodes, setmodes_stopped);
    assert_string_equal(venus.mode, "Auto");
    pthread_mutex_unlock(&venus.lock);

    harness_stop_cleanly(d, 10000);
    fake_stop(&venus);
}

/* Every answer raced by a forged one from another port of the same host, with the right id
 * and other values, and by one without an id from the device's own port: the daemon shows
 * only the battery's values, and says it refused (once, not per datagram). */
static void test_marstek_spoofed_reply(void **state)
{
    struct daemon_proc *d = *state;
    struct fake_venus venus;
    fake_start(&venus, GOOD);
    int spoof_fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(spoof_fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(spoof_fd, (struct sockaddr *)&addr, sizeof addr), 0);
    pthread_mutex_lock(&venus.lock);
    venus.spoof_fd = spoof_fd;
    venus.forge_without_id = true;
    pthread_mutex_unlock(&venus.lock);
    write_one_config(d, venus.port, 60);
    assert_true(harness_start(d, NULL));

    cJSON_Delete(harness_wait_device(d, "venus", true, "soc_pct", 55, 8000));
    assert_true(harness_wait_log(d,
                                 "refused 1 datagram that did not answer our request (last: "
                                 "from 127.0.0.1 port ",
                                 5000));
    /* Several polls later the forged values (1 %, -2000 W) never showed. */
    for (int i = 0; i < 12; i++) {
        cJSON *dev = harness_device(d, "venus");
        double soc = harness_device_value(dev, "soc_pct");
        double power_w = harness_device_value(dev, "power_w");
        cJSON_Delete(dev);
        if (soc != 55 || power_w != 120)
            fail_msg("a forged reply got through: soc %g, power %g\n%s", soc, power_w,
                     harness_log(d));
        harness_sleep_ms(500);
    }
    pthread_mutex_lock(&venus.lock);
    assert_true(venus.requests >= 3);
    pthread_mutex_unlock(&venus.lock);
    /* The one without an id was refused too (at debug level, after the first warning). */
    assert_true(harness_wait_log(d, "venus: refused a datagram: a reply without an id", 5000));
    /* One warning, not one per datagram. */
    const char *log = harness_log(d);
    int warnings = 0;
    for (const char *p = log; (p = strstr(p, "did not answer our request")) != NULL; p++)
        warnings++;
    assert_int_equal(warnings, 1);
    harness_stop_cleanly(d, 10000);
    fake_stop(&venus);
}

static void test_check_config(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_config(
        d, "{\"devices\": [{\"id\": \"v\", \"type\": \"marstek_venus\", \"role\": \"plug\"}]}\n");
    char out[4096];
    assert_int_equal(harness_check_config(d, out, sizeof out), 2);
    assert_non_null(strstr(out, "devices[0].host: is required for type \"marstek_venus\""));
    assert_non_null(strstr(out, "devices[0].role: must be \"battery\" or \"battery+meter\""));
    /* The setpoint is refreshed at polls: they must come at least three times per failsafe_s. */
    harness_write_config(
        d, "{\"devices\": [{\"id\": \"v\", \"type\": \"marstek_venus\", "
           "\"host\": \"127.0.0.1\", \"poll_interval_s\": 30, \"failsafe_s\": 60}]}\n");
    assert_int_equal(harness_check_config(d, out, sizeof out), 2);
    assert_non_null(strstr(out, "devices[0].failsafe_s: must be at least 3 × poll_interval_s (90 "
                                "s) for type \"marstek_venus\", got 60 s"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_check_config, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_marstek_devices, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_marstek_failsafe, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_marstek_spoofed_reply, harness_setup,
                                        harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
