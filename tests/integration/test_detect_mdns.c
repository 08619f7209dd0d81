/* `balkonsolard detect --browse` and POST /api/v1/devices/browse inside a network namespace
 * the test creates (unshare -rn: only lo, up, with multicast and a route for 224.0.0.0/4),
 * so no query ever leaves this machine. The responder is this test program run again with
 * "responder": it joins 224.0.0.251:5353 and answers PTR questions as devices do
 * (legacy unicast, RFC 6762 §6.7): a Shelly Pro 3EM (_shelly._tcp, with SRV, TXT and A),
 * an ESPHome plug (_esphomelib._tcp), a Tasmota (_http._tcp, no A record: its address is
 * the answer's source), and one malformed datagram (a name pointing at itself) first. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_http.h"
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* --- The responder ----------------------------------------------------------------------- */

struct writer {
    uint8_t buf[1500];
    size_t len;
};

static void put(struct writer *w, const void *data, size_t n)
{
    if (w->len + n <= sizeof w->buf) {
        memcpy(w->buf + w->len, data, n);
        w->len += n;
    }
}

static void put16(struct writer *w, unsigned v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    put(w, b, 2);
}

static void put_name(struct writer *w, const char *name)
{
    while (*name) {
        size_t n = strcspn(name, ".");
        uint8_t len = (uint8_t)n;
        put(w, &len, 1);
        put(w, name, n);
        name += n + (name[n] == '.');
    }
    put(w, "", 1);
}

/* A record: name, type, class IN with cache flush, TTL 120, then rdata written by the
 * caller between record_begin and record_end. */
static size_t record_begin(struct writer *w, const char *name, unsigned type)
{
    put_name(w, name);
    put16(w, type);
    put16(w, type == 12 ? 1 : 0x8001);
    put16(w, 0);
    put16(w, 120);
    put16(w, 0);
    return w->len;
}

static void record_end(struct writer *w, size_t start)
{
    size_t n = w->len - start;
    w->buf[start - 2] = (uint8_t)(n >> 8);
    w->buf[start - 1] = (uint8_t)n;
}

static void add_ptr(struct writer *w, const char *service, const char *instance)
{
    size_t at = record_begin(w, service, 12);
    put_name(w, instance);
    record_end(w, at);
}

static void add_srv(struct writer *w, const char *instance, unsigned port, const char *host)
{
    size_t at = record_begin(w, instance, 33);
    put16(w, 0);
    put16(w, 0);
    put16(w, port);
    put_name(w, host);
    record_end(w, at);
}

static void add_txt(struct writer *w, const char *instance, const char *const *strings)
{
    size_t at = record_begin(w, instance, 16);
    for (; *strings; strings++) {
        uint8_t n = (uint8_t)strlen(*strings);
        put(w, &n, 1);
        put(w, *strings, n);
    }
    record_end(w, at);
}

static void add_a(struct writer *w, const char *host, const uint8_t ip[4])
{
    size_t at = record_begin(w, host, 1);
    put(w, ip, 4);
    record_end(w, at);
}

/* The answer to a question for service, or 0 records when it is not one we announce. */
static int answer_for(struct writer *w, const char *service)
{
    static const uint8_t here[4] = {127, 0, 0, 1};
    if (strcmp(service, "_shelly._tcp.local") == 0) {
        const char *instance = "shellypro3em-c8f09e8825f8._shelly._tcp.local";
        add_ptr(w, service, instance);
        add_srv(w, instance, 80, "shellypro3em-c8f09e8825f8.local");
        add_txt(w, instance, (const char *const[]){"gen=2", "app=Pro3EM", "ver=1.0.8", NULL});
        add_a(w, "shellypro3em-c8f09e8825f8.local", here);
        return 4;
    }
    if (strcmp(service, "_esphomelib._tcp.local") == 0) {
        const char *instance = "balkon-plug._esphomelib._tcp.local";
        add_ptr(w, service, instance);
        add_srv(w, instance, 6053, "balkon-plug.local");
        add_txt(w, instance,
                (const char *const[]){"friendly_name=Balkon Plug", "version=2024.6.1",
                                      "platform=ESP32", NULL});
        add_a(w, "balkon-plug.local", here);
        return 4;
    }
    if (strcmp(service, "_http._tcp.local") == 0) {
        const char *instance = "tasmota-a1b2c3-0123._http._tcp.local";
        add_ptr(w, service, instance);
        add_srv(w, instance, 80, "tasmota-a1b2c3-0123.local");
        return 2;
    }
    return 0;
}

/* Reads the question names of a query (uncompressed, as our client writes them). */
static int responder_main(const char *ready_path)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(5353)};
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        perror("responder: bind 5353");
        return 1;
    }
    struct ip_mreq group = {.imr_interface.s_addr = htonl(INADDR_LOOPBACK)};
    inet_pton(AF_INET, "224.0.0.251", &group.imr_multiaddr);
    if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
        perror("responder: join 224.0.0.251");
        return 1;
    }
    FILE *ready = fopen(ready_path, "w");
    if (ready)
        fclose(ready);
    time_t until = time(NULL) + 20;
    while (time(NULL) < until) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0)
            continue;
        uint8_t q[1500];
        struct sockaddr_in from;
        socklen_t from_len = sizeof from;
        ssize_t n = recvfrom(fd, q, sizeof q, 0, (struct sockaddr *)&from, &from_len);
        if (n < 12 || (q[2] & 0x80))
            continue;
        /* A malformed answer first: the client must skip it and keep listening. */
        const uint8_t loop[] = {0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xC0, 12,
                                0, 1, 0,    1, 0, 0, 0, 1, 0, 4, 1, 2, 3,    4};
        sendto(fd, loop, sizeof loop, 0, (struct sockaddr *)&from, from_len);
        size_t pos = 12;
        unsigned questions = (unsigned)(q[4] << 8 | q[5]);
        for (unsigned i = 0; i < questions && pos < (size_t)n; i++) {
            char name[256] = "";
            size_t used = 0;
            while (pos < (size_t)n && q[pos] && q[pos] < 64 && used + q[pos] + 2 < sizeof name) {
                if (used)
                    name[used++] = '.';
                memcpy(name + used, q + pos + 1, q[pos]);
                used += q[pos];
                name[used] = '\0';
                pos += 1 + (size_t)q[pos];
            }
            pos += 5;
            struct writer w = {.len = 12};
            int records = answer_for(&w, name);
            if (!records)
                continue;
            memset(w.buf, 0, 12);
            w.buf[0] = q[0];
            w.buf[1] = q[1];
            w.buf[2] = 0x84;
            w.buf[7] = (uint8_t)records;
            sendto(fd, w.buf, w.len, 0, (struct sockaddr *)&from, from_len);
        }
    }
    close(fd);
    return 0;
}

/* --- The tests --------------------------------------------------------------------------- */

static char self_path[512];

static bool namespaces_work(void)
{
    return system("unshare -rn sh -c 'ip link set lo up multicast on && "
                  "ip route add 224.0.0.0/4 dev lo' >/dev/null 2>&1") == 0;
}

static char *read_text(const char *path)
{
    char *text = fake_read_file(path, NULL);
    if (!text)
        fail_msg("cannot read %s", path);
    return text;
}

static const cJSON *candidate(const cJSON *list, const char *name)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, list)
    {
        if (strcmp(harness_text(c, "name"), name) == 0)
            return c;
    }
    fail_msg("no candidate \"%s\"", name);
    return NULL;
}

static void check_candidates(const cJSON *json)
{
    const cJSON *list = cJSON_GetObjectItem(json, "candidates");
    assert_int_equal(cJSON_GetArraySize(list), 3);
    assert_true(harness_number(json, "malformed") >= 1);
    const cJSON *shelly = candidate(list, "shellypro3em-c8f09e8825f8");
    assert_string_equal(harness_text(shelly, "service"), "_shelly._tcp");
    assert_string_equal(harness_text(shelly, "host"), "shellypro3em-c8f09e8825f8.local");
    assert_string_equal(harness_text(shelly, "address"), "127.0.0.1");
    assert_int_equal((int)harness_number(shelly, "port"), 80);
    assert_string_equal(harness_text(cJSON_GetObjectItem(shelly, "txt"), "app"), "Pro3EM");
    assert_string_equal(harness_text(shelly, "likely_type"), "shelly_gen2");
    assert_string_equal(harness_text(shelly, "detect"), "127.0.0.1");
    const cJSON *esp = candidate(list, "balkon-plug");
    assert_string_equal(harness_text(esp, "likely_type"), "esphome");
    assert_string_equal(harness_text(cJSON_GetObjectItem(esp, "txt"), "friendly_name"),
                        "Balkon Plug");
    /* 6053 is ESPHome's native API; detect reads its web server on port 80, so the
     * target to detect is the address alone. */
    assert_int_equal((int)harness_number(esp, "port"), 6053);
    assert_string_equal(harness_text(esp, "detect"), "127.0.0.1");
    const cJSON *tasmota = candidate(list, "tasmota-a1b2c3-0123");
    assert_string_equal(harness_text(tasmota, "service"), "_http._tcp");
    assert_string_equal(harness_text(tasmota, "likely_type"), "tasmota");
    assert_string_equal(harness_text(tasmota, "address"), "127.0.0.1"); /* the source */
}

/* Runs script (sh) inside a fresh namespace with lo set up for multicast and the
 * responder started; SELF, BIN and DIR are set for it. */
static void run_in_namespace(struct daemon_proc *d, const char *script)
{
    char command[4096];
    snprintf(command, sizeof command,
             "SELF='%s' BIN='%s' DIR='%s' unshare -rn sh -c '"
             "ip link set lo up multicast on && ip route add 224.0.0.0/4 dev lo || exit 90; "
             "\"$SELF\" responder \"$DIR/ready\" & r=$!; "
             "for i in $(seq 50); do [ -e \"$DIR/ready\" ] && break; sleep 0.1; done; "
             "%s; rc=$?; kill $r; wait $r; exit $rc'",
             self_path, getenv("BALKONSOLARD"), d->dir, script);
    int rc = system(command);
    if (rc != 0)
        fail_msg("the namespace script failed (%d): %s", rc, script);
}

static void test_browse_cli(void **state)
{
    struct daemon_proc *d = *state;
    if (!namespaces_work()) {
        print_message("skipped: cannot make a network namespace with multicast on lo "
                      "(unshare -rn, ip)\n");
        skip();
    }
    run_in_namespace(d, "\"$BIN\" detect --browse --timeout-ms 1000 >\"$DIR/out\" "
                        "2>\"$DIR/err\"; echo $? >\"$DIR/rc\"");
    char path[512];
    snprintf(path, sizeof path, "%s/rc", d->dir);
    char *rc = read_text(path);
    snprintf(path, sizeof path, "%s/out", d->dir);
    char *out = read_text(path);
    if (atoi(rc) != 0)
        fail_msg("detect --browse exited %s: %s", rc, out);
    cJSON *json = cJSON_Parse(out);
    assert_non_null(json);
    check_candidates(json);
    cJSON_Delete(json);
    free(rc);
    free(out);
}

/* Without a multicast route (a namespace with lo only, no route), the browse fails with
 * the reason instead of listing nothing. */
static void test_browse_without_route(void **state)
{
    struct daemon_proc *d = *state;
    if (!namespaces_work()) {
        print_message("skipped: cannot make a network namespace (unshare -rn)\n");
        skip();
    }
    char command[2048];
    snprintf(command, sizeof command,
             "unshare -rn sh -c 'ip link set lo up; \"%s\" detect --browse --timeout-ms 200 "
             ">/dev/null 2>\"%s/err\"; echo $? >\"%s/rc\"'",
             getenv("BALKONSOLARD"), d->dir, d->dir);
    assert_int_equal(system(command), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/rc", d->dir);
    char *rc = read_text(path);
    snprintf(path, sizeof path, "%s/err", d->dir);
    char *err = read_text(path);
    assert_int_equal(atoi(rc), 3);
    assert_non_null(strstr(err, "cannot send the mDNS query to 224.0.0.251:5353"));
    free(rc);
    free(err);
}

/* The API's browse, from a daemon inside the namespace, with a token made there. */
static void test_browse_api(void **state)
{
    struct daemon_proc *d = *state;
    if (!namespaces_work()) {
        print_message("skipped: cannot make a network namespace (unshare -rn)\n");
        skip();
    }
    harness_write_devices_config(d, "browse", "");
    char script[2048];
    snprintf(script, sizeof script,
             "tok=$(\"$BIN\" token ns --db \"%s\") && "
             "(\"$BIN\" --config \"%s\" --db \"%s\" --listen 127.0.0.1:18093 >\"$DIR/log\" 2>&1 &"
             " echo $! >\"$DIR/pid\"); "
             "for i in $(seq 50); do curl -sf http://127.0.0.1:18093/api/v1/health >/dev/null && "
             "break; sleep 0.2; done; "
             "curl -s -o \"$DIR/out\" -w %%{http_code} -X POST -H \"Authorization: Bearer $tok\" "
             "-H \"Content-Type: application/json\" -d \"{\\\"timeout_ms\\\": 1000}\" "
             "http://127.0.0.1:18093/api/v1/devices/browse >\"$DIR/status\"; "
             "curl -s -o \"$DIR/bad\" -w %%{http_code} -X POST -H \"Authorization: Bearer $tok\" "
             "-H \"Content-Type: application/json\" -d \"{\\\"timeout_ms\\\": \\\"x\\\"}\" "
             "http://127.0.0.1:18093/api/v1/devices/browse >\"$DIR/bad_status\"; "
             "kill -TERM $(cat \"$DIR/pid\")",
             d->db_path, d->config_path, d->db_path);
    run_in_namespace(d, script);
    char path[512];
    snprintf(path, sizeof path, "%s/status", d->dir);
    char *status = read_text(path);
    snprintf(path, sizeof path, "%s/out", d->dir);
    char *out = read_text(path);
    if (strcmp(status, "200") != 0)
        fail_msg("POST /api/v1/devices/browse answered %s: %s", status, out);
    cJSON *json = cJSON_Parse(out);
    assert_non_null(json);
    check_candidates(json);
    cJSON_Delete(json);
    snprintf(path, sizeof path, "%s/bad_status", d->dir);
    char *bad_status = read_text(path);
    snprintf(path, sizeof path, "%s/bad", d->dir);
    char *bad = read_text(path);
    assert_string_equal(bad_status, "400");
    assert_non_null(strstr(bad, "timeout_ms: must be a number"));
    free(status);
    free(out);
    free(bad_status);
    free(bad);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "responder") == 0)
        return responder_main(argv[2]);
    ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (n <= 0)
        return 1;
    self_path[n] = '\0';
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_browse_cli, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_browse_without_route, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_browse_api, harness_setup, harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
