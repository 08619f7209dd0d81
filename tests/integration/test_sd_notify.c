/* The systemd notify protocol, with this test in systemd's place: it binds the unix
 * datagram socket that $NOTIFY_SOCKET names, starts the real daemon with NOTIFY_SOCKET and
 * WATCHDOG_USEC in its environment and reads what the daemon sends: READY=1 with a status
 * line once it runs, watchdog pings, RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 on
 * SIGTERM. No READY=1 when a module cannot start; no pings for another process's watchdog;
 * no pings once the HTTP server stops answering (a test hook wedges it). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *CONFIG = "{\n"
                            "  \"site\": {\"name\": \"notify\", \"latitude\": 52.52, "
                            "\"longitude\": 13.40, \"timezone\": \"Europe/Berlin\"},\n"
                            "  \"simulation\": {\"speed\": 60},\n"
                            "  \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}]\n"
                            "}\n";

/* Everything received so far, for the failure messages. */
static char received[16384];

/* Binds a datagram socket at name: a path, or "@name" for an abstract one. */
static int bind_notify_socket(const char *name)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(name);
    assert_true(len < sizeof addr.sun_path);
    memcpy(addr.sun_path, name, len);
    socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    if (name[0] == '@')
        addr.sun_path[0] = '\0';
    else
        addr_len++;
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, addr_len), 0);
    received[0] = '\0';
    return fd;
}

/* Receives one datagram into msg within timeout_ms; false on timeout. */
static bool receive(int fd, char *msg, size_t size, int timeout_ms)
{
    struct pollfd pfd = {fd, POLLIN, 0};
    if (poll(&pfd, 1, timeout_ms) <= 0)
        return false;
    ssize_t n = recv(fd, msg, size - 1, 0);
    if (n < 0)
        return false;
    msg[n] = '\0';
    size_t used = strlen(received);
    snprintf(received + used, sizeof received - used, "[%s]\n", msg);
    return true;
}

/* Whether msg has line as one of its lines. */
static bool has_line(const char *msg, const char *line)
{
    size_t len = strlen(line);
    for (const char *at = msg; (at = strstr(at, line)) != NULL; at += len)
        if ((at == msg || at[-1] == '\n') && (at[len] == '\0' || at[len] == '\n'))
            return true;
    return false;
}

/* Reads datagrams until one has line; copies it to msg. Others (pings, status) are skipped
 * unless one of them has stop_line, which fails the wait. */
static bool wait_for(int fd, const char *line, const char *stop_line, char *msg, size_t size,
                     int timeout_ms)
{
    long deadline = harness_now_ms() + timeout_ms;
    long left;
    while ((left = deadline - harness_now_ms()) > 0) {
        if (!receive(fd, msg, size, (int)left))
            return false;
        if (has_line(msg, line))
            return true;
        if (stop_line && has_line(msg, stop_line))
            return false;
    }
    return false;
}

static int count_for(int fd, const char *line, int window_ms)
{
    int count = 0;
    long deadline = harness_now_ms() + window_ms;
    long left;
    char msg[1024];
    while ((left = deadline - harness_now_ms()) > 0)
        if (receive(fd, msg, sizeof msg, (int)left) && has_line(msg, line))
            count++;
    return count;
}

/* Writes CONFIG, binds <dir>/notify.sock and starts the daemon with NOTIFY_SOCKET naming it,
 * listen_arg (or NULL) and up to two more variables (NULL ends the list early); asserts
 * that the start succeeds or fails as wanted and returns the socket. */
static int start_notified(struct daemon_proc *d, const char *listen_arg, bool want_started,
                          const char *var1, const char *var2)
{
    harness_write_config(d, CONFIG);
    char path[300], env_socket[320];
    snprintf(path, sizeof path, "%s/notify.sock", d->dir);
    snprintf(env_socket, sizeof env_socket, "NOTIFY_SOCKET=%s", path);
    int fd = bind_notify_socket(path);
    const char *env[] = {env_socket, var1, var2, NULL};
    if (want_started)
        assert_true(harness_start_env(d, listen_arg, env));
    else
        assert_false(harness_start_env(d, listen_arg, env));
    return fd;
}

static void test_ready_watchdog_reload_stop(void **state)
{
    struct daemon_proc *d = *state;
    int fd = start_notified(d, NULL, true, "WATCHDOG_USEC=2000000", NULL);

    char msg[1024];
    if (!wait_for(fd, "READY=1", NULL, msg, sizeof msg, 15000))
        fail_msg("no READY=1; received:\n%s\nlog:\n%s", received, harness_log(d));
    /* Ready means the API answers, and the status line says what runs. */
    struct http_reply health = harness_http(d, "GET", "/api/v1/health", NULL, 0, NULL);
    assert_int_equal(health.status, 200);
    http_reply_free(&health);
    assert_non_null(strstr(msg, "STATUS=running: "));
    assert_non_null(strstr(msg, "devices online"));

    /* The watchdog was 2 s: pings every second from the loop. */
    int pings = count_for(fd, "WATCHDOG=1", 3000);
    printf("watchdog pings in 3 s: %d\n", pings);
    if (pings < 2)
        fail_msg("%d watchdog pings in 3 s; received:\n%s", pings, received);

    /* SIGHUP: RELOADING=1 (with the monotonic time systemd 253 asks for), then READY=1. */
    kill(d->pid, SIGHUP);
    if (!wait_for(fd, "RELOADING=1", "READY=1", msg, sizeof msg, 10000))
        fail_msg("no RELOADING=1 before READY=1; received:\n%s", received);
    assert_non_null(strstr(msg, "MONOTONIC_USEC="));
    if (!wait_for(fd, "READY=1", NULL, msg, sizeof msg, 10000))
        fail_msg("no READY=1 after the reload; received:\n%s", received);
    assert_true(harness_wait_log(d, "config reloaded", 5000));

    /* A config the loader refuses: still RELOADING=1 then READY=1, the old config runs. */
    harness_write_config(d, "{ \"site\": { \"latitude\": 500 } }");
    kill(d->pid, SIGHUP);
    assert_true(wait_for(fd, "RELOADING=1", "READY=1", msg, sizeof msg, 10000));
    if (!wait_for(fd, "READY=1", NULL, msg, sizeof msg, 10000))
        fail_msg("no READY=1 after a refused reload; received:\n%s", received);
    assert_true(harness_wait_log(d, "new config rejected", 5000));

    /* SIGTERM: STOPPING=1, then a clean exit. */
    kill(d->pid, SIGTERM);
    if (!wait_for(fd, "STOPPING=1", NULL, msg, sizeof msg, 10000))
        fail_msg("no STOPPING=1; received:\n%s", received);
    int status = harness_signal_and_wait(d, 0, 10000, NULL); /* signal 0: just wait */
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(fd);
}

/* The watchdog is fed only while the HTTP server answers its self-probe. The test hook
 * BALKON_TEST_HTTP_WEDGE_MS stops the server accepting 3 s after the start, as the old
 * connection-limit wedge did: the pings stop soon after although the loop turns on (it
 * logs why), so systemd would restart the daemon; and it still stops cleanly. */
static void test_wedged_http_server_starves_the_watchdog(void **state)
{
    struct daemon_proc *d = *state;
    int fd =
        start_notified(d, NULL, true, "WATCHDOG_USEC=2000000", "BALKON_TEST_HTTP_WEDGE_MS=3000");
    char msg[1024];
    if (!wait_for(fd, "READY=1", NULL, msg, sizeof msg, 15000))
        fail_msg("no READY=1; received:\n%s\nlog:\n%s", received, harness_log(d));
    int before = count_for(fd, "WATCHDOG=1", 2000);
    printf("watchdog pings in 2 s before the wedge: %d\n", before);
    if (before < 1)
        fail_msg("no watchdog pings before the wedge; received:\n%s", received);

    if (!harness_wait_log(d, "no longer accepting connections", 5000))
        fail_msg("the test hook did not wedge the server:\n%s", harness_log(d));
    /* A probe may have been answered just before: the window (3 probe periods, 1.5 s) and
     * one ping period pass first. */
    count_for(fd, "WATCHDOG=1", 2500);
    int after = count_for(fd, "WATCHDOG=1", 3000);
    printf("watchdog pings in 3 s after the wedge: %d\n", after);
    if (after != 0)
        fail_msg("%d watchdog pings while the HTTP server does not answer; received:\n%s", after,
                 received);
    assert_non_null(strstr(harness_log(d), "not feeding the watchdog"));

    int status = harness_signal_and_wait(d, SIGTERM, 5000, NULL);
    if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("the wedged daemon did not stop cleanly (status %d):\n%s", status, harness_log(d));
    close(fd);
}

/* An abstract socket ("@name"), and WATCHDOG_PID naming another process: READY=1 comes,
 * watchdog pings do not (that watchdog is not ours to ping). */
static void test_abstract_socket_foreign_watchdog(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_config(d, CONFIG);
    char name[64], env_socket[96];
    snprintf(name, sizeof name, "@balkon-test-notify-%ld-%ld", (long)getpid(), harness_now_ms());
    snprintf(env_socket, sizeof env_socket, "NOTIFY_SOCKET=%s", name);
    int fd = bind_notify_socket(name);
    const char *env[] = {env_socket, "WATCHDOG_USEC=1000000", "WATCHDOG_PID=1", NULL};
    assert_true(harness_start_env(d, NULL, env));
    char msg[1024];
    if (!wait_for(fd, "READY=1", NULL, msg, sizeof msg, 15000))
        fail_msg("no READY=1 on an abstract socket; received:\n%s", received);
    int pings = count_for(fd, "WATCHDOG=1", 2500);
    if (pings != 0)
        fail_msg("%d pings for a watchdog that is not ours; received:\n%s", pings, received);
    close(fd);
}

/* A module that cannot start (the HTTP port is taken): no READY=1, exit code 1. */
static void test_no_ready_when_a_module_fails(void **state)
{
    struct daemon_proc *d = *state;
    int taken = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(taken, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(taken, 1), 0);
    socklen_t len = sizeof addr;
    getsockname(taken, (struct sockaddr *)&addr, &len);
    char listen_arg[64];
    snprintf(listen_arg, sizeof listen_arg, "--listen=127.0.0.1:%d", ntohs(addr.sin_port));

    int fd = start_notified(d, listen_arg, false, NULL, NULL);
    assert_true(harness_wait_log(d, "module http failed to start", 5000));
    char msg[1024];
    while (receive(fd, msg, sizeof msg, 0))
        ;
    if (strstr(received, "READY=1"))
        fail_msg("READY=1 although the daemon did not start; received:\n%s", received);
    close(fd);
    close(taken);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ready_watchdog_reload_stop, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_wedged_http_server_starves_the_watchdog, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_abstract_socket_foreign_watchdog, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_no_ready_when_a_module_fails, harness_setup,
                                        harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
