/* GET /api/v1/events against the real balkonsolard with the simulator at 60x: the
 * snapshot on connect, live updates, the per-type throttle (the site status comes every
 * ~80 ms wall, the stream may carry at most one a second), commands as they end, the
 * client limit (16 streams from four addresses: one may hold 8), cleanup on disconnect, a
 * quiet stream outliving MHD's 30 s connection timeout on keepalives alone (a stream is
 * being answered, so the 10 s request deadline never applies to it), and a graceful stop
 * within 2 s with streams open.
 *
 * The streams are read with libcurl's multi interface, so the test can hold many open at
 * once and keep reading while it also talks to the API. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

/* A June morning at 60x with a smart plug to switch; the control drives the battery.
 * Without devices, at 1x: nothing happens at all (the planner replans every 15 minutes). */
static void write_config(struct daemon_proc *d, bool with_devices)
{
    char json[2048];
    snprintf(json, sizeof json,
             "{\n"
             "  \"site\": {\"name\": \"events test\", \"latitude\": 52.52, \"longitude\": 13.40,"
             " \"timezone\": \"Europe/Berlin\"},\n"
             "  \"simulation\": {\"speed\": %d, \"start\": \"2026-06-21T08:00:00Z\", "
             "\"cloudiness_pct\": 20, \"plug_power_w\": 300},\n"
             "  \"devices\": [%s]\n"
             "}\n",
             with_devices ? 60 : 1,
             with_devices ? "{\"id\": \"sim\", \"type\": \"simulator\"}" : "");
    harness_write_config(d, json);
}

/* --- A small SSE reader ----------------------------------------------------------------- */

struct stream {
    CURL *easy;
    struct curl_slist *headers; /* the API token */
    char *text;                 /* everything received, NUL-terminated */
    size_t size;
    bool done; /* the server ended the stream or the connection failed */
};

static CURLM *multi;
/* Every stream a test opens lives here, so the teardown can close what a failed assertion
 * left open (an easy handle must not outlive its buffer). */
static struct stream streams[16];

static size_t stream_write(char *ptr, size_t size, size_t nmemb, void *user)
{
    struct stream *s = user;
    size_t n = size * nmemb;
    char *grown = realloc(s->text, s->size + n + 1);
    if (!grown)
        return 0;
    memcpy(grown + s->size, ptr, n);
    s->text = grown;
    s->size += n;
    s->text[s->size] = '\0';
    return n;
}

/* Opens a stream from source, an address of 127.0.0.0/8 (NULL: the kernel's choice). */
static void stream_open_from(struct stream *s, struct daemon_proc *d, const char *source)
{
    memset(s, 0, sizeof *s);
    s->text = calloc(1, 1);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v1/events", d->port);
    s->easy = curl_easy_init();
    curl_easy_setopt(s->easy, CURLOPT_URL, url);
    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, stream_write);
    curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
    curl_easy_setopt(s->easy, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(s->easy, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    if (source)
        curl_easy_setopt(s->easy, CURLOPT_INTERFACE, source);
    char authorization[128];
    snprintf(authorization, sizeof authorization, "Authorization: Bearer %s", d->token);
    s->headers = curl_slist_append(NULL, authorization);
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers);
    curl_multi_add_handle(multi, s->easy);
}

static void stream_open(struct stream *s, struct daemon_proc *d)
{
    stream_open_from(s, d, NULL);
}

/* The i-th of 16 streams: four client addresses hold four each, as one address may hold
 * only HTTP_EVENTS_PER_ADDRESS_MAX (8). */
static void stream_open_nth(struct stream *s, struct daemon_proc *d, int i)
{
    char source[16];
    snprintf(source, sizeof source, "127.0.0.%d", 1 + i % 4);
    stream_open_from(s, d, source);
}

static void stream_close(struct stream *s)
{
    if (s->easy) {
        curl_multi_remove_handle(multi, s->easy);
        curl_easy_cleanup(s->easy);
    }
    curl_slist_free_all(s->headers);
    free(s->text);
    memset(s, 0, sizeof *s);
}

/* Reads whatever arrives on every open stream for up to ms. */
static void pump(int ms)
{
    long deadline = harness_now_ms() + ms;
    do {
        int running;
        curl_multi_perform(multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct stream *s;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            s->done = true;
        }
        long left_ms = deadline - harness_now_ms();
        if (left_ms > 0)
            curl_multi_poll(multi, NULL, 0, left_ms < 20 ? (int)left_ms : 20, NULL);
    } while (harness_now_ms() < deadline);
}

static bool wait_for_text(struct stream *s, const char *needle, size_t from, int timeout_ms)
{
    long deadline = harness_now_ms() + timeout_ms;
    while (harness_now_ms() < deadline) {
        if (s->size >= from && strstr(s->text + from, needle))
            return true;
        if (s->done)
            return false;
        pump(20);
    }
    return s->size >= from && strstr(s->text + from, needle);
}

/* The events in text, in order: names[i] and the data of each (cJSON, caller deletes
 * them with free_events). Comments and retry lines are skipped. Returns the count. */
struct event {
    char name[32];
    cJSON *data;
};

static size_t parse_events(const char *text, struct event *events, size_t max)
{
    size_t count = 0;
    const char *frame = text;
    while (count < max) {
        const char *end = strstr(frame, "\n\n");
        if (!end)
            break;
        const char *name = NULL, *data = NULL;
        for (const char *line = frame; line < end; line = strchr(line, '\n') + 1) {
            if (strncmp(line, "event: ", 7) == 0)
                name = line + 7;
            else if (strncmp(line, "data: ", 6) == 0)
                data = line + 6;
            if (!strchr(line, '\n') || strchr(line, '\n') >= end)
                break;
        }
        if (name && data) {
            struct event *e = &events[count++];
            snprintf(e->name, sizeof e->name, "%.*s", (int)strcspn(name, "\n"), name);
            e->data = cJSON_ParseWithLength(data, strcspn(data, "\n"));
            assert_non_null(e->data);
        }
        frame = end + 2;
    }
    return count;
}

static void free_events(struct event *events, size_t count)
{
    for (size_t i = 0; i < count; i++)
        cJSON_Delete(events[i].data);
}

static size_t count_text(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *at = strstr(text, needle); at; at = strstr(at + 1, needle))
        n++;
    return n;
}

static double sse_clients(struct daemon_proc *d)
{
    cJSON *system = harness_get_json(d, "/api/v1/system");
    assert_non_null(system);
    double n = cJSON_GetObjectItem(system, "sse_clients")->valuedouble;
    cJSON_Delete(system);
    return n;
}

/* --- Tests ------------------------------------------------------------------------------ */

static void wait_for_control(struct daemon_proc *d)
{
    for (int i = 0; i < 100; i++) {
        struct http_reply reply = harness_http(d, "GET", "/api/v1/control", NULL, 0, NULL);
        long status = reply.status;
        http_reply_free(&reply);
        if (status == 200)
            break;
        harness_sleep_ms(100);
        if (i == 99)
            fail_msg("the control never ran:\n%s", harness_log(d));
    }
    /* And the site balance has its first interval (later under sanitizers). */
    for (int i = 0; i < 100; i++) {
        cJSON *status = harness_get_json(d, "/api/v1/status");
        bool ready = cJSON_IsNumber(cJSON_GetObjectItem(status, "pv_w"));
        cJSON_Delete(status);
        if (ready)
            return;
        harness_sleep_ms(100);
    }
    fail_msg("no site status:\n%s", harness_log(d));
}

static void assert_same_keys(const cJSON *a, const cJSON *b)
{
    assert_int_equal(cJSON_GetArraySize(a), cJSON_GetArraySize(b));
    const cJSON *item;
    cJSON_ArrayForEach(item, a)
    {
        if (!cJSON_GetObjectItemCaseSensitive(b, item->string))
            fail_msg("%s is missing", item->string);
    }
}

static void test_snapshot_live_updates_throttle_and_commands(void **state)
{
    struct daemon_proc *d = *state;
    write_config(d, true);
    assert_true(harness_start(d, NULL));
    wait_for_control(d);

    struct stream *s = &streams[0];
    stream_open(s, d);
    /* The snapshot: retry first, then status, devices, control and loads at once. */
    assert_true(wait_for_text(s, "event: loads\n", 0, 5000));
    assert_true(strncmp(s->text, "retry: 3000\n\n", 13) == 0);
    struct event events[64];
    size_t n = parse_events(s->text, events, 64);
    assert_true(n >= 4);
    assert_string_equal(events[0].name, "status");
    assert_string_equal(events[1].name, "devices");
    assert_string_equal(events[2].name, "control");
    assert_string_equal(events[3].name, "loads");
    /* The data is what the GET endpoints answer. */
    static const char *const paths[] = {"/api/v1/status", "/api/v1/devices", "/api/v1/control",
                                        "/api/v1/loads"};
    for (int i = 0; i < 4; i++) {
        cJSON *got = harness_get_json(d, paths[i]);
        assert_non_null(got);
        assert_same_keys(events[i].data, got);
        cJSON_Delete(got);
    }
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(events[0].data, "pv_w")));
    double first_ts = cJSON_GetObjectItem(events[0].data, "ts_ms")->valuedouble;
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(events[1].data, "devices")), 4);
    free_events(events, n);

    /* Live: new statuses come, with a newer ts, but never two within a wall second
     * (unthrottled they would come every ~80 ms). */
    long arrivals[64];
    size_t statuses = 1, arrival_count = 0;
    long start = harness_now_ms();
    while (harness_now_ms() - start < 4200) {
        pump(10);
        size_t seen = count_text(s->text, "event: status\n");
        if (seen > statuses && arrival_count < 64)
            arrivals[arrival_count++] = harness_now_ms();
        if (seen > statuses + 1)
            fail_msg("two statuses arrived in one read (%zu then %zu)", statuses, seen);
        statuses = seen;
    }
    assert_false(s->done);
    assert_true(arrival_count >= 3);
    assert_true(arrival_count <= 5);
    for (size_t i = 1; i < arrival_count; i++)
        if (arrivals[i] - arrivals[i - 1] < 600)
            fail_msg("statuses %ld ms apart", arrivals[i] - arrivals[i - 1]);
    n = parse_events(s->text, events, 64);
    double last_ts = 0;
    size_t devices_events = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(events[i].name, "status") == 0)
            last_ts = cJSON_GetObjectItem(events[i].data, "ts_ms")->valuedouble;
        devices_events += strcmp(events[i].name, "devices") == 0;
    }
    assert_true(last_ts > first_ts);
    /* Device states come several times a wall second too; throttled the same way. */
    assert_true(devices_events >= 2 && devices_events <= 8);
    free_events(events, n);

    /* A command from the API shows up as it ends. */
    size_t mark = s->size;
    struct http_reply reply = harness_http(d, "POST", "/api/v1/devices/sim-plug/command",
                                           "{\"command\":\"switch\",\"value\":1}", 30, NULL);
    assert_int_equal(reply.status, 202);
    http_reply_free(&reply);
    assert_true(wait_for_text(s, "\"device\":\"sim-plug\"", mark, 5000));
    n = parse_events(s->text, events, 64);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        const cJSON *device = cJSON_GetObjectItem(events[i].data, "device");
        if (strcmp(events[i].name, "command") != 0 || !cJSON_IsString(device) ||
            strcmp(device->valuestring, "sim-plug") != 0)
            continue;
        assert_string_equal(cJSON_GetObjectItem(events[i].data, "command")->valuestring, "switch");
        assert_int_equal((int)cJSON_GetObjectItem(events[i].data, "value")->valuedouble, 1);
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(events[i].data, "ok")));
        assert_true(cJSON_IsNull(cJSON_GetObjectItem(events[i].data, "detail")));
        found = true;
    }
    assert_true(found);
    free_events(events, n);
    stream_close(s);
    harness_stop_cleanly(d, 5000);
}

static void test_client_limit_cleanup_and_stop(void **state)
{
    struct daemon_proc *d = *state;
    write_config(d, true);
    assert_true(harness_start(d, NULL));

    for (int i = 0; i < 16; i++)
        stream_open_nth(&streams[i], d, i);
    for (int i = 0; i < 16; i++)
        assert_true(wait_for_text(&streams[i], "retry: 3000", 0, 5000));
    assert_int_equal((int)sse_clients(d), 16);

    /* The 17th is refused with a reason, at once. */
    struct http_reply reply = harness_http(d, "GET", "/api/v1/events", NULL, 0, NULL);
    assert_int_equal(reply.status, 503);
    assert_non_null(strstr(reply.body, "too many event streams"));
    http_reply_free(&reply);

    /* A client that leaves frees its place (noticed at its next event). */
    stream_close(&streams[0]);
    long deadline = harness_now_ms() + 5000;
    while (sse_clients(d) != 15 && harness_now_ms() < deadline) {
        pump(100);
    }
    assert_int_equal((int)sse_clients(d), 15);
    stream_open_nth(&streams[0], d, 0);
    assert_true(wait_for_text(&streams[0], "event: status", 0, 5000));

    /* Everyone keeps getting events while all 16 are open. */
    size_t marks[16];
    for (int i = 0; i < 16; i++)
        marks[i] = streams[i].size;
    pump(2500);
    for (int i = 0; i < 16; i++) {
        assert_false(streams[i].done);
        assert_non_null(strstr(streams[i].text + marks[i], "event: status"));
    }

    /* The daemon stops within its 2 s budget with every stream open, and ends them. */
    long elapsed;
    int status = harness_signal_and_wait(d, SIGTERM, 2000, &elapsed);
    if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("the daemon did not stop cleanly within 2 s (status %d):\n%s", status,
                 harness_log(d));
    assert_true(elapsed < 2000);
    pump(500);
    for (int i = 0; i < 16; i++) {
        assert_true(streams[i].done);
        stream_close(&streams[i]);
    }
    assert_non_null(strstr(harness_log(d), "event stream closed (0 open)"));
}

/* Without devices nothing happens: only keepalives keep the stream alive, past the 30 s
 * after which MHD closes a connection that made no progress. */
static void test_quiet_stream_lives_on_keepalives(void **state)
{
    struct daemon_proc *d = *state;
    write_config(d, false);
    assert_true(harness_start(d, NULL));
    assert_true(harness_wait_log(d, "planner: plan 1 ", 5000)); /* the start's plan */
    struct stream *s = &streams[0];
    stream_open(s, d);
    assert_true(wait_for_text(s, "event: loads", 0, 5000));
    size_t after_snapshot = s->size;
    pump(16000);
    assert_false(s->done);
    assert_string_equal(s->text + after_snapshot, ": keepalive\n\n");
    pump(17500);
    assert_false(s->done);
    assert_int_equal((int)count_text(s->text, ": keepalive\n\n"), 2);
    assert_int_equal((int)sse_clients(d), 1);
    stream_close(s);
    harness_stop_cleanly(d, 5000);
}

static int teardown(void **state)
{
    for (size_t i = 0; i < sizeof streams / sizeof streams[0]; i++)
        stream_close(&streams[i]);
    return harness_teardown(state);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    multi = curl_multi_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_snapshot_live_updates_throttle_and_commands,
                                        harness_setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_limit_cleanup_and_stop, harness_setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_quiet_stream_lives_on_keepalives, harness_setup,
                                        teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    return failed;
}
