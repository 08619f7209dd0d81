/* Notification channels through the real daemon: a test message on every channel type,
 * each received by a real endpoint on loopback (fake HTTP servers for ntfy, Telegram,
 * Pushover, Gotify and a webhook, a local SMTP server from python3-aiosmtpd, a mosquitto
 * broker), asserting the exact requests; and a failing channel (HTTP 500) that is retried,
 * reported, and does not hold up the others. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_http.h"
#include "harness.h"
#include "mqtt_broker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define TEST_TEXT(id, type) "This is a test of the notification channel \\\"" id "\\\" (" type ")."

struct smtp_sink {
    pid_t pid;
    int port;
    char dir[256];
};

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

/* Runs tests/fakes/smtp_sink.py (Debian's python3 with python3-aiosmtpd). */
static bool smtp_start(struct smtp_sink *s)
{
    snprintf(s->dir, sizeof s->dir, "/tmp/balkon-smtp-XXXXXX");
    if (!mkdtemp(s->dir))
        return false;
    s->port = free_port();
    char script[512], port[16];
    snprintf(script, sizeof script, "%s/tests/fakes/smtp_sink.py", getenv("BALKON_SOURCE_DIR"));
    snprintf(port, sizeof port, "%d", s->port);
    s->pid = fork();
    if (s->pid == 0) {
        execl("/usr/bin/python3", "python3", script, port, s->dir, (char *)NULL);
        _exit(127);
    }
    char ready[300];
    snprintf(ready, sizeof ready, "%s/ready", s->dir);
    for (int i = 0; i < 100; i++) {
        if (access(ready, F_OK) == 0)
            return true;
        harness_sleep_ms(100);
    }
    return false;
}

static void smtp_stop(struct smtp_sink *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", s->dir);
}

static char *smtp_wait_message(struct smtp_sink *s, int timeout_ms)
{
    char path[300];
    snprintf(path, sizeof path, "%s/001.eml", s->dir);
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        size_t size;
        char *text = fake_read_file(path, &size);
        if (text)
            return text;
        harness_sleep_ms(100);
    }
    return NULL;
}

static void wait_hits(struct fake_http *fake, const char *prefix, int hits, struct daemon_proc *d)
{
    for (int waited = 0; waited < 15000 && fake_http_hits(fake, prefix) < hits; waited += 50)
        harness_sleep_ms(50);
    if (fake_http_hits(fake, prefix) < hits)
        fail_msg("%s: %d hits, expected %d\n%s", prefix, fake_http_hits(fake, prefix), hits,
                 harness_log(d));
}

static void post_test(struct daemon_proc *d, const char *channel, long status)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v1/notifications/test?channel=%s", channel);
    struct http_reply reply = harness_http(d, "POST", path, "", 0, NULL);
    if (reply.status != status)
        fail_msg("POST %s: %ld %s (expected %ld)", path, reply.status, reply.body, status);
    http_reply_free(&reply);
}

static const cJSON *channel_status(const cJSON *json, const char *id)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(json, "channels"))
    {
        if (strcmp(cJSON_GetObjectItem(c, "id")->valuestring, id) == 0)
            return c;
    }
    fail_msg("no channel %s", id);
    return NULL;
}

static void assert_header(struct fake_http *fake, const char *prefix, const char *line)
{
    char headers[4096];
    fake_http_last_headers(fake, prefix, headers, sizeof headers);
    if (!strstr(headers, line))
        fail_msg("%s: no header \"%s\" in:\n%s", prefix, line, headers);
}

static void test_every_channel_delivers_the_exact_request(void **state)
{
    struct daemon_proc *d = *state;
    struct fake_http *fake = fake_http_start();
    assert_non_null(fake);
    fake_http_route(fake, "/ntfy", 200, "application/json", "{}", 2, NULL, 0);
    fake_http_route(fake, "/tg", 200, "application/json", "{\"ok\":true}", 11, NULL, 0);
    fake_http_route(fake, "/po", 200, "application/json", "{\"status\":1}", 12, NULL, 0);
    fake_http_route(fake, "/gotify", 200, "application/json", "{\"id\":1}", 8, NULL, 0);
    fake_http_route(fake, "/hook", 204, "text/plain", "", 0, NULL, 0);
    fake_http_route(fake, "/broken", 500, "text/plain", "boom", 4, NULL, 1500);
    struct mqtt_broker *broker = mqtt_broker_start();
    assert_non_null(broker);
    struct mqtt_test_client *client = mqtt_test_client_new(mqtt_broker_port(broker));
    assert_non_null(client);
    assert_true(mqtt_test_subscribe(client, "balkon/alerts"));
    struct smtp_sink smtp = {0};
    if (!smtp_start(&smtp))
        fail_msg("the SMTP sink did not start (is python3-aiosmtpd installed? "
                 "scripts/install-deps.sh --test)");

    const char *base = fake_http_base(fake);
    char config[4096];
    snprintf(config, sizeof config,
             "{\"devices\": [],\n"
             " \"mqtt\": {\"enabled\": true, \"host\": \"127.0.0.1\", \"port\": %d, \"client_id\": "
             "\"notify-test\"},\n"
             " \"notifications\": {\"enabled\": true, \"channels\": [\n"
             "  {\"id\": \"ntfy\", \"type\": \"ntfy\", \"url\": \"%s/ntfy\", \"topic\": "
             "\"alerts\", \"token\": \"tk_ntfy\"},\n"
             "  {\"id\": \"tg\", \"type\": \"telegram\", \"url\": \"%s/tg\", \"token\": "
             "\"123:ABC\", \"chat_id\": \"42\"},\n"
             "  {\"id\": \"po\", \"type\": \"pushover\", \"url\": \"%s/po\", \"token\": "
             "\"apptoken\", \"user\": \"userkey\"},\n"
             "  {\"id\": \"gotify\", \"type\": \"gotify\", \"url\": \"%s/gotify\", \"token\": "
             "\"gtok\"},\n"
             "  {\"id\": \"hook\", \"type\": \"webhook\", \"url\": \"%s/hook\"},\n"
             "  {\"id\": \"broken\", \"type\": \"webhook\", \"url\": \"%s/broken\"},\n"
             "  {\"id\": \"mail\", \"type\": \"email\", \"url\": \"smtp://127.0.0.1:%d\", "
             "\"from\": \"balkon@example.org\","
             " \"to\": \"me@example.org\"},\n"
             "  {\"id\": \"mq\", \"type\": \"mqtt\", \"topic\": \"balkon/alerts\"}]}}\n",
             mqtt_broker_port(broker), base, base, base, base, base, base, smtp.port);
    harness_write_config(d, config);
    assert_true(harness_start(d, NULL));
    for (int i = 0; i < 100 && !strstr(harness_log(d), "connected"); i++)
        harness_sleep_ms(100);

    /* Bad requests name the problem. */
    post_test(d, "nope", 404);
    post_test(d, "", 400);

    /* The failing channel first: the others must not wait for its retries. */
    post_test(d, "broken", 202);
    post_test(d, "ntfy", 202);
    post_test(d, "tg", 202);
    post_test(d, "po", 202);
    post_test(d, "gotify", 202);
    post_test(d, "hook", 202);
    post_test(d, "mail", 202);
    post_test(d, "mq", 202);

    char line[1024], body[4096];
    wait_hits(fake, "/hook", 1, d);
    /* The broken endpoint answers after 1.5 s, then 1 s and 2 s of backoff: it is still on
     * its first attempt while everything else has been delivered. */
    wait_hits(fake, "/ntfy", 1, d);
    wait_hits(fake, "/tg", 1, d);
    wait_hits(fake, "/po", 1, d);
    wait_hits(fake, "/gotify", 1, d);
    assert_true(fake_http_hits(fake, "/broken") <= 1);

    fake_http_last(fake, "/ntfy", line, sizeof line, body, sizeof body, NULL, 0);
    assert_string_equal(line, "POST /ntfy/alerts");
    assert_string_equal(body, "This is a test of the notification channel \"ntfy\" (ntfy).");
    assert_header(fake, "/ntfy", "Title: BalkonSolar test message\n");
    assert_header(fake, "/ntfy", "Priority: 3\n");
    assert_header(fake, "/ntfy", "Tags: information_source\n");
    assert_header(fake, "/ntfy", "Authorization: Bearer tk_ntfy\n");

    fake_http_last(fake, "/tg", line, sizeof line, body, sizeof body, NULL, 0);
    assert_string_equal(line, "POST /tg/bot123:ABC/sendMessage");
    assert_string_equal(body,
                        "{\"chat_id\":\"42\",\"text\":\"BalkonSolar test message\\n\\n" TEST_TEXT(
                            "tg", "telegram") "\",\"disable_web_page_preview\":true}");
    assert_header(fake, "/tg", "Content-Type: application/json\n");

    fake_http_last(fake, "/po", line, sizeof line, body, sizeof body, NULL, 0);
    assert_string_equal(line, "POST /po/1/messages.json");
    assert_string_equal(
        body,
        "token=apptoken&user=userkey&title=BalkonSolar%20test%20message&message=This%20is%20a%20"
        "test%20of%20the%20notification%20channel%20%22po%22%20%28pushover%29.&priority=-1");
    assert_header(fake, "/po", "Content-Type: application/x-www-form-urlencoded\n");

    fake_http_last(fake, "/gotify", line, sizeof line, body, sizeof body, NULL, 0);
    assert_string_equal(line, "POST /gotify/message?token=gtok");
    assert_string_equal(body, "{\"title\":\"BalkonSolar test message\",\"message\":\"" TEST_TEXT(
                                  "gotify", "gotify") "\",\"priority\":2}");

    fake_http_last(fake, "/hook", line, sizeof line, body, sizeof body, NULL, 0);
    assert_string_equal(line, "POST /hook");
    assert_header(fake, "/hook", "Content-Type: application/json\n");
    cJSON *hook = cJSON_Parse(body);
    assert_non_null(hook);
    assert_string_equal(cJSON_GetObjectItem(hook, "rule")->valuestring, "test");
    assert_string_equal(cJSON_GetObjectItem(hook, "subject")->valuestring, "hook");
    assert_string_equal(cJSON_GetObjectItem(hook, "severity")->valuestring, "info");
    assert_string_equal(cJSON_GetObjectItem(hook, "state")->valuestring, "once");
    assert_string_equal(cJSON_GetObjectItem(hook, "title")->valuestring,
                        "BalkonSolar test message");
    assert_string_equal(cJSON_GetObjectItem(hook, "message")->valuestring,
                        "This is a test of the notification channel \"hook\" (webhook).");
    assert_non_null(strstr(cJSON_GetObjectItem(hook, "ts")->valuestring, "Z"));
    cJSON_Delete(hook);

    char payload[2048];
    assert_true(mqtt_test_wait_message(client, "balkon/alerts", payload, sizeof payload, 10000));
    cJSON *mq = cJSON_Parse(payload);
    assert_non_null(mq);
    assert_string_equal(cJSON_GetObjectItem(mq, "rule")->valuestring, "test");
    assert_string_equal(cJSON_GetObjectItem(mq, "subject")->valuestring, "mq");
    assert_string_equal(cJSON_GetObjectItem(mq, "message")->valuestring,
                        "This is a test of the notification channel \"mq\" (mqtt).");
    cJSON_Delete(mq);

    char *mail = smtp_wait_message(&smtp, 10000);
    if (!mail)
        fail_msg("no e-mail arrived\n%s", harness_log(d));
    assert_non_null(strstr(mail, "MAIL FROM: balkon@example.org\nRCPT TO: me@example.org\n"));
    assert_non_null(strstr(mail, "From: BalkonSolar <balkon@example.org>\r\n"));
    assert_non_null(strstr(mail, "To: <me@example.org>\r\n"));
    assert_non_null(strstr(mail, "Subject: [BalkonSolar] BalkonSolar test message\r\n"));
    assert_non_null(
        strstr(mail, "\r\n\r\nThis is a test of the notification channel \"mail\" (email).\r\n"));
    free(mail);

    /* The broken channel: three attempts, then reported (once in the log). */
    wait_hits(fake, "/broken", 3, d);
    assert_true(harness_wait_log(
        d, "channel broken (webhook) failed after 3 attempts: HTTP 500: boom", 10000));
    cJSON *status = harness_get_json(d, "/api/v1/notifications/channels");
    const cJSON *broken = channel_status(status, "broken");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(broken, "healthy")));
    assert_int_equal(cJSON_GetObjectItem(broken, "failed")->valueint, 1);
    assert_string_equal(cJSON_GetObjectItem(broken, "last_error")->valuestring, "HTTP 500: boom");
    assert_string_equal(cJSON_GetObjectItem(broken, "last_test")->valuestring, "HTTP 500: boom");
    const char *ok_ids[] = {"ntfy", "tg", "po", "gotify", "hook", "mail", "mq"};
    for (size_t i = 0; i < sizeof ok_ids / sizeof ok_ids[0]; i++) {
        const cJSON *c = channel_status(status, ok_ids[i]);
        if (!cJSON_IsTrue(cJSON_GetObjectItem(c, "healthy")) ||
            cJSON_GetObjectItem(c, "sent")->valueint != 1 ||
            strcmp(cJSON_GetObjectItem(c, "last_test")->valuestring, "ok") != 0)
            fail_msg("channel %s: %s", ok_ids[i], cJSON_PrintUnformatted(c));
    }
    cJSON_Delete(status);
    assert_int_equal(fake_http_hits(fake, "/broken"), 3);

    /* A second failure is counted, but not logged again. */
    post_test(d, "broken", 202);
    wait_hits(fake, "/broken", 6, d);
    for (int i = 0; i < 100; i++) {
        status = harness_get_json(d, "/api/v1/notifications/channels");
        int failed = cJSON_GetObjectItem(channel_status(status, "broken"), "failed")->valueint;
        cJSON_Delete(status);
        if (failed == 2)
            break;
        harness_sleep_ms(100);
    }
    const char *log = harness_log(d);
    const char *first = strstr(log, "channel broken (webhook) failed");
    assert_non_null(first);
    assert_null(strstr(first + 1, "channel broken (webhook) failed"));

    /* The test messages are in the history. */
    cJSON *list = harness_get_json(d, "/api/v1/notifications");
    int tests = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(list, "notifications"))
    {
        if (strcmp(cJSON_GetObjectItem(item, "rule")->valuestring, "test") == 0)
            tests++;
    }
    assert_int_equal(tests, 9);
    cJSON_Delete(list);

    smtp_stop(&smtp);
    mqtt_test_client_free(client);
    mqtt_broker_stop(broker);
    fake_http_stop(fake);
}

/* With notifications off the test endpoint says so. */
static void test_disabled(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_config(
        d, "{\"devices\": [], \"notifications\": {\"enabled\": false, \"channels\": ["
           "{\"id\": \"hook\", \"type\": \"webhook\", \"url\": \"http://127.0.0.1:9/\"}]}}");
    assert_true(harness_start(d, NULL));
    post_test(d, "hook", 503);
}

/* Bad channel configs are refused with the field named. */
static void test_config_errors(void **state)
{
    (void)state;
    char dir[] = "/tmp/balkon-notify-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/c.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"notifications\": {\"quiet_hours_from\": \"25:00\", \"channels\": ["
          "{\"id\": \"a\", \"type\": \"telegram\"},"
          "{\"id\": \"b\", \"type\": \"email\", \"url\": \"http://x\", \"from\": \"x\", \"to\": "
          "\"y@z\"},"
          "{\"id\": \"c\", \"type\": \"mqtt\", \"topic\": \"t\"},"
          "{\"id\": \"d\", \"type\": \"sms\"}]}}",
          f);
    fclose(f);
    const char *args[] = {"--check-config", "--config", path, NULL};
    char out[8192];
    int rc = harness_run_cli(args, out, sizeof out);
    assert_int_not_equal(rc, 0);
    const char *expected[] = {
        "notifications.quiet_hours_from: must be a time HH:MM, got \"25:00\"",
        "notifications.channels[0].token: is required for a telegram channel",
        "notifications.channels[0].chat_id: is required for a telegram channel",
        "notifications.channels[1].url: must be smtp://host:port",
        "notifications.channels[1].from: must be an e-mail address, got \"x\"",
        "notifications.channels[2].type: \"mqtt\" needs the mqtt section enabled",
        "notifications.channels[3].type:",
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        if (!strstr(out, expected[i]))
            fail_msg("missing \"%s\" in:\n%s", expected[i], out);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_channel_delivers_the_exact_request,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_disabled, harness_setup, harness_teardown),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
