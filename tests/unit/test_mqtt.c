/* The MQTT client on libuv against a real mosquitto broker: wildcard subscriptions,
 * shared filters, publishing (and retain), a broker killed and restarted on the same port
 * (reconnect and resubscribe), publishing while disconnected, unsubscribing (also from a
 * callback), bad settings, unreachable and silent brokers, the last will (a client killed
 * with SIGKILL), connect callbacks across a broker restart, and the config section. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "balkon/config.h"
#include "balkon/error.h"
#include "balkon/mqtt.h"
#include "mqtt_broker.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

struct inbox {
    int count;
    char topic[256];
    char payload[1024];
    size_t payload_len;
    struct balkon_mqtt *unsubscribe_from; /* set: the callback unsubscribes itself */
};

static void record_cb(const char *topic, const void *payload, size_t len, void *user)
{
    struct inbox *in = user;
    in->count++;
    snprintf(in->topic, sizeof in->topic, "%s", topic);
    in->payload_len = len;
    assert_true(len < sizeof in->payload);
    memcpy(in->payload, payload, len + 1); /* + 1: the client promises a NUL after it */
    if (in->unsubscribe_from)
        balkon_mqtt_unsubscribe_all(in->unsubscribe_from, in);
}

static struct mqtt_broker *broker;
static uv_loop_t loop;
static uv_timer_t tick; /* wakes the loop, so run_until can check its condition and deadline */
static struct balkon_mqtt *client;

static void tick_cb(uv_timer_t *timer) {}

static int setup(void **state)
{
    signal(SIGPIPE, SIG_IGN); /* as the daemon does */
    broker = mqtt_broker_start();
    uv_loop_init(&loop);
    uv_timer_init(&loop, &tick);
    uv_timer_start(&tick, tick_cb, 10, 10);
    client = NULL;
    return 0;
}

static int teardown(void **state)
{
    balkon_mqtt_close(client);
    uv_close((uv_handle_t *)&tick, NULL);
    for (int i = 0; i < 100 && uv_loop_alive(&loop); i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(uv_loop_close(&loop), 0); /* every handle of the client closed */
    mqtt_broker_stop(broker);
    return 0;
}

static bool run_until(bool (*done)(const void *), const void *arg, int timeout_ms)
{
    uv_update_time(&loop);
    uint64_t deadline_ms = uv_now(&loop) + (uint64_t)timeout_ms;
    while (!done(arg)) {
        if (uv_now(&loop) >= deadline_ms)
            return false;
        uv_run(&loop, UV_RUN_ONCE);
    }
    return true;
}

static bool never(const void *arg)
{
    return false;
}
static void run_for(int ms)
{
    run_until(never, NULL, ms);
}
static bool connected(const void *arg)
{
    return balkon_mqtt_connected(client);
}
static bool disconnected(const void *arg)
{
    return !balkon_mqtt_connected(client);
}
static bool status_has(const void *text)
{
    return strstr(balkon_mqtt_status(client), text) != NULL;
}

struct count_target {
    const struct inbox *inbox;
    int count;
};
static bool reached(const void *arg)
{
    const struct count_target *t = arg;
    return t->inbox->count >= t->count;
}
static void wait_count(const struct inbox *in, int count)
{
    struct count_target t = {in, count};
    if (!run_until(reached, &t, 5000))
        fail_msg("expected %d messages, got %d; client: %s", count, in->count,
                 balkon_mqtt_status(client));
}

static struct mqtt_test_client *test_client(void)
{
    struct mqtt_test_client *c = mqtt_test_client_new(mqtt_broker_port(broker));
    assert_non_null(c);
    return c;
}

static void connect_client(void)
{
    if (!broker)
        skip();
    struct balkon_mqtt_settings settings = {
        .host = "127.0.0.1", .port = mqtt_broker_port(broker), .client_id = "balkon-test"};
    char error[256];
    assert_int_equal(balkon_mqtt_new(&loop, &settings, &client, error, sizeof error), 0);
    if (!run_until(connected, NULL, 5000))
        fail_msg("not connected: %s", balkon_mqtt_status(client));
    char expected[64];
    snprintf(expected, sizeof expected, "connected to 127.0.0.1:%d", mqtt_broker_port(broker));
    assert_string_equal(balkon_mqtt_status(client), expected);
}

/* Our subscriptions are in place at the broker once our own message on probe_topic (sent
 * after them on the same connection) comes back to probe. */
static void fence(struct inbox *probe, const char *probe_topic)
{
    int before = probe->count;
    assert_int_equal(balkon_mqtt_publish(client, probe_topic, "fence", 5, 0, false), 0);
    wait_count(probe, before + 1);
}

/* Waits for the test client to receive a message while our loop keeps running. */
static bool wait_test_message(struct mqtt_test_client *c, const char *filter, char *out,
                              size_t size)
{
    for (int i = 0; i < 150; i++) {
        run_for(10);
        if (mqtt_test_wait_message(c, filter, out, size, 10))
            return true;
    }
    return false;
}

static void test_subscribe_with_wildcards_and_receive(void **state)
{
    connect_client();
    struct inbox sensor = {0}, sensor_too = {0}, stat = {0}, probe = {0};
    assert_int_equal(balkon_mqtt_subscribe(client, "tele/+/SENSOR", record_cb, &sensor), 0);
    assert_int_equal(balkon_mqtt_subscribe(client, "tele/+/SENSOR", record_cb, &sensor_too), 0);
    assert_int_equal(balkon_mqtt_subscribe(client, "stat/#", record_cb, &stat), 0);
    assert_int_equal(balkon_mqtt_subscribe(client, "probe/#", record_cb, &probe), 0);
    fence(&probe, "probe/1");

    struct mqtt_test_client *device = test_client();
    assert_true(
        mqtt_test_publish(device, "tele/plug1/SENSOR", "{\"ENERGY\":{\"Power\":42}}", false));
    assert_true(mqtt_test_publish(device, "stat/plug1/POWER", "ON", false));
    assert_true(mqtt_test_publish(device, "cmnd/plug1/POWER", "OFF", false)); /* matches nothing */
    assert_true(mqtt_test_publish(device, "tele/plug1/STATE", "{}", false));  /* nor this */
    assert_true(mqtt_test_publish(device, "probe/2", "", false));
    wait_count(&probe, 2); /* everything the device sent before it has arrived too */

    assert_int_equal(sensor.count, 1);
    assert_string_equal(sensor.topic, "tele/plug1/SENSOR");
    assert_string_equal(sensor.payload, "{\"ENERGY\":{\"Power\":42}}");
    assert_int_equal(sensor.payload_len, strlen("{\"ENERGY\":{\"Power\":42}}"));
    assert_int_equal(sensor_too.count, 1); /* a shared filter serves each subscriber */
    assert_string_equal(sensor_too.payload, sensor.payload);
    assert_int_equal(stat.count, 1);
    assert_string_equal(stat.topic, "stat/plug1/POWER");
    assert_string_equal(stat.payload, "ON");
    assert_int_equal(probe.payload_len, 0);
    mqtt_test_client_free(device);

    assert_int_equal(balkon_mqtt_subscribe(client, "bad/#/filter", record_cb, &stat),
                     BALKON_E_INVAL);
    assert_int_equal(balkon_mqtt_subscribe(client, "", record_cb, &stat), BALKON_E_INVAL);
}

static void test_publish_reaches_other_clients(void **state)
{
    connect_client();
    struct mqtt_test_client *device = test_client();
    assert_true(mqtt_test_subscribe(device, "cmnd/#"));
    assert_true(mqtt_test_subscribe(device, "state/#"));
    char payload[64];
    assert_int_equal(balkon_mqtt_publish(client, "cmnd/battery/limit", "300", 3, 1, false), 0);
    assert_true(wait_test_message(device, "cmnd/battery/limit", payload, sizeof payload));
    assert_string_equal(payload, "300");

    /* Retained: a client that subscribes later still gets it. */
    assert_int_equal(balkon_mqtt_publish(client, "state/battery/soc", "55", 2, 1, true), 0);
    assert_true(wait_test_message(device, "state/#", payload, sizeof payload));
    struct mqtt_test_client *late = test_client();
    assert_true(mqtt_test_subscribe(late, "state/#"));
    assert_true(mqtt_test_wait_message(late, "state/battery/soc", payload, sizeof payload, 2000));
    assert_string_equal(payload, "55");
    mqtt_test_client_free(late);
    mqtt_test_client_free(device);

    assert_int_equal(balkon_mqtt_publish(client, "cmnd/+/x", "1", 1, 0, false), BALKON_E_INVAL);
    assert_int_equal(balkon_mqtt_publish(client, "cmnd/x", "1", 1, 3, false), BALKON_E_INVAL);
    assert_int_equal(balkon_mqtt_publish(client, "", "1", 1, 0, false), BALKON_E_INVAL);
}

static void test_reconnects_and_resubscribes_after_broker_restart(void **state)
{
    connect_client();
    struct inbox tele = {0};
    assert_int_equal(balkon_mqtt_subscribe(client, "tele/#", record_cb, &tele), 0);
    fence(&tele, "tele/probe");

    mqtt_broker_kill(broker);
    assert_true(run_until(disconnected, NULL, 5000));
    assert_true(status_has("lost"));
    assert_int_equal(balkon_mqtt_publish(client, "tele/x", "1", 1, 0, false), BALKON_E_IO);
    run_for(1500); /* at least one failed attempt against the dead port */
    assert_false(balkon_mqtt_connected(client));

    assert_true(mqtt_broker_restart(broker));
    if (!run_until(connected, NULL, 15000))
        fail_msg("no reconnect: %s", balkon_mqtt_status(client));
    fence(&tele, "tele/probe"); /* our subscription is back... */
    struct mqtt_test_client *device = test_client();
    assert_true(mqtt_test_publish(device, "tele/plug/SENSOR", "{\"Power\":7}", false));
    int before = tele.count;
    wait_count(&tele, before + 1); /* ...and serves other clients' messages */
    assert_string_equal(tele.topic, "tele/plug/SENSOR");
    assert_string_equal(tele.payload, "{\"Power\":7}");
    mqtt_test_client_free(device);
}

static void test_unsubscribe_all_stops_deliveries(void **state)
{
    connect_client();
    struct inbox a = {0}, b = {0}, probe = {0};
    assert_int_equal(balkon_mqtt_subscribe(client, "solar/#", record_cb, &a), 0);
    assert_int_equal(balkon_mqtt_subscribe(client, "solar/+/status", record_cb, &a), 0);
    assert_int_equal(balkon_mqtt_subscribe(client, "solar/#", record_cb, &b), 0);
    assert_int_equal(balkon_mqtt_subscribe(client, "probe/#", record_cb, &probe), 0);
    fence(&probe, "probe/1");
    struct mqtt_test_client *device = test_client();

    assert_true(mqtt_test_publish(device, "solar/123/status", "1", false));
    assert_true(mqtt_test_publish(device, "probe/2", "", false));
    wait_count(&probe, 2);
    assert_int_equal(a.count, 2); /* once per matching subscription */
    assert_int_equal(b.count, 1);

    balkon_mqtt_unsubscribe_all(client, &a);
    assert_true(mqtt_test_publish(device, "solar/123/status", "2", false));
    assert_true(mqtt_test_publish(device, "probe/3", "", false));
    wait_count(&probe, 3);
    assert_int_equal(a.count, 2);
    assert_int_equal(b.count, 2); /* the shared filter stays subscribed for b */

    /* A subscriber may stop from its own callback (a driver stopping on bad data). */
    b.unsubscribe_from = client;
    assert_true(mqtt_test_publish(device, "solar/123/status", "3", false));
    assert_true(mqtt_test_publish(device, "solar/123/status", "4", false));
    assert_true(mqtt_test_publish(device, "probe/4", "", false));
    wait_count(&probe, 4);
    assert_int_equal(b.count, 3);
    assert_string_equal(b.payload, "3");
    assert_int_equal(a.count, 2);
    mqtt_test_client_free(device);
    balkon_mqtt_unsubscribe_all(client, &probe);
    balkon_mqtt_unsubscribe_all(client, &probe); /* nothing left: harmless */
    balkon_mqtt_unsubscribe_all(NULL, &probe);
}

static void test_bad_settings(void **state)
{
    char error[256] = "";
    struct balkon_mqtt *m = NULL;
    struct balkon_mqtt_settings settings = {.host = ""};
    assert_int_equal(balkon_mqtt_new(&loop, &settings, &m, error, sizeof error), BALKON_E_INVAL);
    assert_string_equal(error, "host is empty");
    settings = (struct balkon_mqtt_settings){.host = "127.0.0.1", .port = 70000};
    assert_int_equal(balkon_mqtt_new(&loop, &settings, &m, error, sizeof error), BALKON_E_RANGE);
    assert_string_equal(error, "port must be 1..65535, got 70000");
    settings = (struct balkon_mqtt_settings){.host = "127.0.0.1", .keepalive_s = 2};
    assert_int_equal(balkon_mqtt_new(&loop, &settings, &m, error, sizeof error), BALKON_E_RANGE);
    assert_string_equal(error, "keepalive_s must be 5..65535, got 2");
    assert_int_equal(balkon_mqtt_new(&loop, NULL, &m, error, sizeof error), BALKON_E_INVAL);
    assert_null(m);
    balkon_mqtt_close(NULL);
    assert_false(balkon_mqtt_connected(NULL));
}

static void test_unreachable_broker_is_retried(void **state)
{
    if (!broker)
        skip();
    int port = mqtt_broker_port(broker);
    mqtt_broker_kill(broker); /* nobody listens on the port now */
    struct balkon_mqtt_settings settings = {.host = "127.0.0.1", .port = port};
    char error[256];
    assert_int_equal(balkon_mqtt_new(&loop, &settings, &client, error, sizeof error), 0);
    struct inbox in = {0};
    assert_int_equal(balkon_mqtt_subscribe(client, "tele/#", record_cb, &in),
                     0); /* kept for later */
    assert_true(run_until(status_has, "cannot connect", 3000));
    char expected[128];
    snprintf(expected, sizeof expected,
             "cannot connect to 127.0.0.1:%d: Connection refused; retrying in 1 s", port);
    assert_string_equal(balkon_mqtt_status(client), expected);
    assert_false(balkon_mqtt_connected(client));
    assert_int_equal(balkon_mqtt_publish(client, "tele/x", "1", 1, 0, false), BALKON_E_IO);
    assert_true(run_until(status_has, "retrying in 2 s", 3000)); /* the backoff doubles */

    /* The broker comes up later: the subscription made while down reaches it. */
    assert_true(mqtt_broker_restart(broker));
    assert_true(run_until(connected, NULL, 10000));
    fence(&in, "tele/probe");
}

static void test_unresolvable_host(void **state)
{
    struct balkon_mqtt_settings settings = {.host = "nonexistent.invalid"};
    char error[256];
    assert_int_equal(balkon_mqtt_new(&loop, &settings, &client, error, sizeof error), 0);
    /* Generous: without a reachable resolver the lookup fails only after its timeouts. */
    assert_true(run_until(status_has, "cannot connect", 30000));
    assert_non_null(strstr(
        balkon_mqtt_status(client),
        "cannot connect to nonexistent.invalid:1883: cannot resolve \"nonexistent.invalid\": "));
}

/* A listener that accepts but never answers (not an MQTT server, or a hung one). */
static void test_silent_server_times_out(void **state)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    struct balkon_mqtt_settings settings = {.host = "127.0.0.1", .port = ntohs(addr.sin_port)};
    char error[256];
    assert_int_equal(balkon_mqtt_new(&loop, &settings, &client, error, sizeof error), 0);
    assert_true(run_until(status_has, "no answer within 10 s", 15000));
    assert_false(balkon_mqtt_connected(client));
    close(fd);
}

static void test_close_while_connecting(void **state)
{
    if (!broker)
        skip();
    struct balkon_mqtt_settings settings = {.host = "127.0.0.1", .port = mqtt_broker_port(broker)};
    char error[256];
    assert_int_equal(balkon_mqtt_new(&loop, &settings, &client, error, sizeof error), 0);
    uv_run(&loop, UV_RUN_NOWAIT); /* the attempt starts; teardown closes before CONNACK */
}

/* The config section the daemon makes the client from. */
static void test_config_section(void **state)
{
    static struct balkon_config config, next;
    struct balkon_config_errors errors;
    assert_int_equal(balkon_config_parse("{}", &config, &errors), 0);
    assert_false(config.mqtt.enabled);
    assert_int_equal(config.mqtt.port, 1883);
    assert_int_equal(config.mqtt.keepalive_s, 30);
    assert_string_equal(config.mqtt.client_id, "balkonsolar");
    assert_string_equal(config.mqtt.prefix, "balkonsolar");
    assert_true(config.mqtt.ha_discovery);
    assert_string_equal(config.mqtt.discovery_prefix, "homeassistant");
    assert_true(config.mqtt.publish_interval_s == 10);
    assert_int_equal(
        balkon_config_parse("{\"mqtt\":{\"prefix\":\"home/solar\"}}", &config, &errors), 0);
    assert_true(balkon_config_parse("{\"mqtt\":{\"prefix\":\"a/#\",\"discovery_prefix\":\"ha/\","
                                    "\"publish_interval_s\":0}}",
                                    &config, &errors) < 0);
    assert_int_equal(errors.count, 3);
    assert_string_equal(errors.items[0],
                        "mqtt.publish_interval_s: must be between 1 and 3600, got 0");
    assert_non_null(strstr(errors.items[1], "mqtt.prefix: must be topic levels without wildcards"));
    assert_non_null(strstr(errors.items[2], "mqtt.discovery_prefix: must be topic levels"));

    assert_true(balkon_config_parse("{\"mqtt\":{\"enabled\":true}}", &config, &errors) < 0);
    assert_int_equal(errors.count, 1);
    assert_string_equal(errors.items[0], "mqtt.host: is required when mqtt.enabled is true");
    assert_int_equal(balkon_config_parse("{\"mqtt\":{\"host\":\"\"}}", &config, &errors),
                     0); /* off: may be unset */
    assert_true(balkon_config_parse("{\"mqtt\":{\"port\":0,\"keepalive_s\":1}}", &config, &errors) <
                0);
    assert_int_equal(errors.count, 2);
    assert_string_equal(errors.items[0], "mqtt.port: must be between 1 and 65535, got 0");
    assert_string_equal(errors.items[1], "mqtt.keepalive_s: must be between 5 and 600, got 1");

    const char *text = "{\"mqtt\":{\"enabled\":true,\"host\":\"10.0.0.2\",\"password\":\"pw\"}}";
    assert_int_equal(balkon_config_parse(text, &config, &errors), 0);
    assert_string_equal(config.mqtt.password, "pw");
    cJSON *json = balkon_config_to_json(&config);
    const cJSON *mqtt = cJSON_GetObjectItemCaseSensitive(json, "mqtt");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(mqtt, "password")->valuestring, "***");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(mqtt, "host")->valuestring, "10.0.0.2");
    cJSON_Delete(json);

    /* A reload keeps the running client's settings and says so. */
    assert_int_equal(
        balkon_config_parse("{\"mqtt\":{\"enabled\":true,\"host\":\"10.0.0.3\"}}", &next, &errors),
        0);
    char changed[256];
    balkon_config_keep_restart_options(&config, &next, changed, sizeof changed);
    assert_string_equal(changed, "mqtt.host, mqtt.password");
    assert_string_equal(next.mqtt.host, "10.0.0.2");
}

/* A child process connects with a will and is killed with SIGKILL: no DISCONNECT, so
 * the broker publishes the will, retained. A clean close publishes nothing. */
static void test_last_will_on_kill(void **state)
{
    if (!broker)
        skip();
    struct mqtt_test_client *watcher = test_client();
    assert_true(mqtt_test_subscribe(watcher, "will/#"));
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uv_loop_t child_loop;
        uv_loop_init(&child_loop);
        struct balkon_mqtt_settings settings = {.host = "127.0.0.1",
                                                .port = mqtt_broker_port(broker),
                                                .client_id = "balkon-will",
                                                .will_topic = "will/status",
                                                .will_payload = "offline",
                                                .will_retain = true};
        struct balkon_mqtt *m = NULL;
        char error[256];
        if (balkon_mqtt_new(&child_loop, &settings, &m, error, sizeof error) < 0)
            _exit(1);
        for (int i = 0; i < 500 && !balkon_mqtt_connected(m); i++)
            uv_run(&child_loop, UV_RUN_ONCE);
        if (write(ready[1], balkon_mqtt_connected(m) ? "1" : "0", 1) != 1)
            _exit(1);
        for (;;)
            uv_run(&child_loop, UV_RUN_DEFAULT); /* keeps the connection alive until killed */
    }
    close(ready[1]);
    char flag = 0;
    assert_int_equal(read(ready[0], &flag, 1), 1);
    close(ready[0]);
    assert_int_equal(flag, '1');
    char payload[64];
    assert_false(
        mqtt_test_wait_message(watcher, "will/status", payload, sizeof payload, 300)); /* not yet */
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_true(mqtt_test_wait_message(watcher, "will/status", payload, sizeof payload, 5000));
    assert_string_equal(payload, "offline");
    struct mqtt_test_client *late = test_client(); /* retained */
    assert_true(mqtt_test_subscribe(late, "will/#"));
    assert_true(mqtt_test_wait_message(late, "will/status", payload, sizeof payload, 2000));
    assert_string_equal(payload, "offline");
    mqtt_test_client_free(late);

    /* A clean close sends DISCONNECT: no will. */
    struct balkon_mqtt_settings settings = {.host = "127.0.0.1",
                                            .port = mqtt_broker_port(broker),
                                            .client_id = "balkon-will-2",
                                            .will_topic = "will/clean",
                                            .will_payload = "offline"};
    char error[256];
    assert_int_equal(balkon_mqtt_new(&loop, &settings, &client, error, sizeof error), 0);
    assert_true(run_until(connected, NULL, 5000));
    balkon_mqtt_close(client);
    client = NULL;
    run_for(300);
    assert_false(mqtt_test_wait_message(watcher, "will/clean", payload, sizeof payload, 500));
    mqtt_test_client_free(watcher);

    struct balkon_mqtt *bad = NULL;
    settings.will_topic = "will/+/bad";
    assert_int_equal(balkon_mqtt_new(&loop, &settings, &bad, error, sizeof error), BALKON_E_INVAL);
    assert_non_null(strstr(error, "will topic"));
}

static void on_connected(void *user)
{
    int *count = user;
    (*count)++;
    assert_int_equal(balkon_mqtt_publish(client, "avail/status", "online", 6, 1, true), 0);
}

static bool connects_reached(const void *arg)
{
    return *(const int *)arg >= 2;
}

/* Connect callbacks run on every connect, may publish, and stop with unsubscribe_all. */
static void test_connect_callback_after_restart(void **state)
{
    if (!broker)
        skip();
    int connects = 0;
    struct balkon_mqtt_settings settings = {.host = "127.0.0.1", .port = mqtt_broker_port(broker)};
    char error[256];
    assert_int_equal(balkon_mqtt_new(&loop, &settings, &client, error, sizeof error), 0);
    assert_int_equal(balkon_mqtt_on_connect(client, on_connected, &connects), 0);
    assert_int_equal(balkon_mqtt_on_connect(client, NULL, &connects), BALKON_E_INVAL);
    assert_true(run_until(connected, NULL, 5000));
    assert_int_equal(connects, 1);
    struct mqtt_test_client *watcher = test_client();
    assert_true(mqtt_test_subscribe(watcher, "avail/#"));
    char payload[64];
    assert_true(wait_test_message(watcher, "avail/status", payload, sizeof payload));
    assert_string_equal(payload, "online");
    mqtt_test_client_free(watcher);

    mqtt_broker_kill(broker); /* no persistence: the retained "online" is gone */
    assert_true(run_until(disconnected, NULL, 5000));
    assert_true(mqtt_broker_restart(broker));
    if (!run_until(connects_reached, &connects, 15000))
        fail_msg("no second connect: %s", balkon_mqtt_status(client));
    watcher = test_client();
    assert_true(mqtt_test_subscribe(watcher, "avail/#"));
    assert_true(wait_test_message(watcher, "avail/status", payload, sizeof payload));
    assert_string_equal(payload, "online"); /* republished by the callback */
    mqtt_test_client_free(watcher);

    balkon_mqtt_unsubscribe_all(client, &connects);
    mqtt_broker_kill(broker);
    assert_true(run_until(disconnected, NULL, 5000));
    assert_true(mqtt_broker_restart(broker));
    assert_true(run_until(connected, NULL, 15000));
    run_for(200);
    assert_int_equal(connects, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_subscribe_with_wildcards_and_receive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publish_reaches_other_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconnects_and_resubscribes_after_broker_restart,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsubscribe_all_stops_deliveries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_broker_is_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unresolvable_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_server_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_while_connecting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_will_on_kill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_callback_after_restart, setup, teardown),
        cmocka_unit_test(test_config_section),
    };
    return cmocka_run_group_tests_name("mqtt", tests, NULL, NULL);
}
