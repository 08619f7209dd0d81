/* The HTTP server under connection abuse, against the real balkonsolard on loopback: a
 * burst of idle connections up to the connection limit, connections the server closes
 * itself, slowloris (headers sent one line at a time), one address opening every
 * connection it can, and one address holding every event stream. Whatever the abuse,
 * GET /api/v1/health keeps answering, and after it the server accepts again at once.
 *
 * The abusers connect from 127.0.0.2 … 127.0.0.9 (the whole 127.0.0.0/8 is loopback on
 * Linux; the client socket is bound before connect), the checking client from 127.0.0.1,
 * so per-address limits are exercised as they would be by several machines on a LAN.
 * Plain sockets, not libcurl: the test must decide byte by byte what a client sends. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* What the server promises (docs/security.md). */
#define CONNECTION_LIMIT 64
#define PER_ADDRESS_CONNECTION_LIMIT 32
#define REQUEST_DEADLINE_MS 10000
#define SSE_LIMIT 16
#define SSE_PER_ADDRESS_LIMIT 8

#define MAX_SOCKETS 128

static const char *CONFIG = "{\n"
                            "  \"site\": {\"name\": \"limits\", \"latitude\": 52.52, "
                            "\"longitude\": 13.40, \"timezone\": \"Europe/Berlin\"},\n"
                            "  \"devices\": []\n"
                            "}\n";

/* Every socket a test opens, so the teardown closes what a failed assertion left open. */
static int sockets[MAX_SOCKETS];
static size_t socket_count;

/* "127.0.0.N" for the n-th abusing address, n = 0 … 7. */
static const char *abuser(int n)
{
    static char text[8][16];
    snprintf(text[n % 8], sizeof text[0], "127.0.0.%d", 2 + n % 8);
    return text[n % 8];
}

/* A TCP connection from source (an address of 127.0.0.0/8) to the daemon, or -1 when it
 * cannot be made within 1 s. The socket is non-blocking. */
static int connect_from(const char *source, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    struct sockaddr_in from = {.sin_family = AF_INET};
    inet_pton(AF_INET, source, &from.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&from, sizeof from), 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    if (connect(fd, (struct sockaddr *)&to, sizeof to) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    struct pollfd pfd = {fd, POLLOUT, 0};
    int error = 0;
    socklen_t len = sizeof error;
    if (poll(&pfd, 1, 1000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0 ||
        error) {
        close(fd);
        return -1;
    }
    return fd;
}

static int keep(int fd)
{
    assert_true(socket_count < MAX_SOCKETS);
    sockets[socket_count++] = fd;
    return fd;
}

static void close_all(void)
{
    for (size_t i = 0; i < socket_count; i++)
        if (sockets[i] >= 0)
            close(sockets[i]);
    socket_count = 0;
}

static bool send_text(int fd, const char *text)
{
    return send(fd, text, strlen(text), MSG_NOSIGNAL) == (ssize_t)strlen(text);
}

/* Whether the server closed fd (EOF or reset), waiting up to timeout_ms. Anything the
 * server sent before is read and dropped. */
static bool closed_by_server(int fd, int timeout_ms)
{
    long deadline = harness_now_ms() + timeout_ms;
    for (;;) {
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            return true;
        if (n > 0)
            continue;
        long left = deadline - harness_now_ms();
        if (left <= 0)
            return false;
        struct pollfd pfd = {fd, POLLIN, 0};
        poll(&pfd, 1, (int)left);
    }
}

/* Reads the status line of an answer on fd within timeout_ms: the status, 0 when none
 * came in time, -1 when the server closed the connection first. The first bytes of the
 * answer go to head when given. */
static int read_status(int fd, int timeout_ms, char *head, size_t head_size)
{
    char buf[512];
    size_t used = 0;
    long deadline = harness_now_ms() + timeout_ms;
    while (used < sizeof buf - 1) {
        ssize_t n = recv(fd, buf + used, sizeof buf - 1 - used, 0);
        if (n > 0) {
            used += (size_t)n;
            buf[used] = '\0';
            if (strstr(buf, "\r\n"))
                break;
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            return -1;
        long left = deadline - harness_now_ms();
        if (left <= 0)
            return 0;
        struct pollfd pfd = {fd, POLLIN, 0};
        poll(&pfd, 1, (int)left);
    }
    buf[used] = '\0';
    if (head) { /* the start of the answer, as much as fits */
        size_t n = used < head_size - 1 ? used : head_size - 1;
        memcpy(head, buf, n);
        head[n] = '\0';
    }
    int status = 0;
    return sscanf(buf, "HTTP/1.%*d %d", &status) == 1 ? status : -1;
}

/* GET /api/v1/health from 127.0.0.1 on a new connection: the status, 0 when no answer came
 * within timeout_ms, -1 when the connection failed. *elapsed_ms gets the time taken. */
static int health(struct daemon_proc *d, int timeout_ms, long *elapsed_ms)
{
    long start = harness_now_ms();
    int status = -1;
    int fd = connect_from("127.0.0.1", d->port);
    if (fd >= 0) {
        if (send_text(fd, "GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: "
                          "close\r\n\r\n"))
            status = read_status(fd, timeout_ms, NULL, 0);
        close(fd);
    }
    if (elapsed_ms)
        *elapsed_ms = harness_now_ms() - start;
    return status;
}

/* Asserts that the health check answers 200 within 1 s. */
static void assert_health_answers(struct daemon_proc *d, const char *when)
{
    long elapsed;
    int status = health(d, 1000, &elapsed);
    printf("health %s: %d after %ld ms\n", when, status, elapsed);
    if (status != 200)
        fail_msg("GET /api/v1/health %s: %d after %ld ms (0: no answer)\nlog:\n%s", when, status,
                 elapsed, harness_log(d));
}

/* Opens count idle connections spread over addresses abusing addresses; returns how many
 * could be made. */
static int open_idle(struct daemon_proc *d, int count, int addresses, int *fds)
{
    int made = 0;
    for (int i = 0; i < count; i++) {
        fds[i] = connect_from(abuser(i % addresses), d->port);
        if (fds[i] >= 0) {
            keep(fds[i]);
            made++;
        }
    }
    return made;
}

/* The wedge: connections up to the limit, idle, closed by the client after 1 s.
 * The server used to stop accepting for good. Twice, since "after any burst" means every
 * burst, and the health check must get in during the burst as well. */
static void test_burst_of_idle_connections_does_not_wedge(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_config(d, CONFIG);
    assert_true(harness_start(d, NULL));
    assert_health_answers(d, "before the burst");
    for (int round = 1; round <= 2; round++) {
        int fds[70];
        int made = open_idle(d, 70, 7, fds);
        printf("round %d: %d of 70 idle connections made\n", round, made);
        assert_int_equal(made, 70);
        harness_sleep_ms(1000);
        assert_health_answers(d, "during the burst");
        close_all();
        assert_health_answers(d, "right after the burst");
    }
    /* And a burst at exactly the limit, which left the server wedged every time. */
    int fds[CONNECTION_LIMIT];
    assert_int_equal(open_idle(d, CONNECTION_LIMIT, 4, fds), CONNECTION_LIMIT);
    harness_sleep_ms(1000);
    close_all();
    harness_sleep_ms(100);
    assert_health_answers(d, "after a burst of exactly 64");
    harness_stop_cleanly(d, 5000);
}

/* Idle connections that never send a byte are closed by the server's request deadline,
 * and once they are gone the server answers at once: closing them itself must not wedge
 * it either. */
static void test_connections_closed_by_the_deadline_do_not_wedge(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_config(d, CONFIG);
    assert_true(harness_start(d, NULL));
    long start = harness_now_ms();
    int fds[70];
    assert_int_equal(open_idle(d, 70, 7, fds), 70);
    int still_open = 0;
    long last_closed_ms = 0;
    for (int i = 0; i < 70; i++) {
        long left = start + REQUEST_DEADLINE_MS + 2000 - harness_now_ms();
        if (!closed_by_server(fds[i], left > 0 ? (int)left : 0))
            still_open++;
        else
            last_closed_ms = harness_now_ms() - start;
    }
    printf("%d of 70 idle connections still open %ld ms after they were opened; the last "
           "closed after %ld ms\n",
           still_open, harness_now_ms() - start, last_closed_ms);
    if (still_open)
        fail_msg("%d idle connections outlived the %d ms request deadline", still_open,
                 REQUEST_DEADLINE_MS);
    close_all();
    assert_health_answers(d, "after the server closed them");
    assert_non_null(strstr(harness_log(d), "no complete request within"));
    harness_stop_cleanly(d, 5000);
}

/* Slowloris: 66 connections from 8 addresses send their request's headers one line a
 * second and never finish. The health check answers every half second throughout, the
 * slow connections are closed by the deadline (or earlier, to make room), none of them
 * is answered. */
static void test_slowloris_is_cut_off_by_the_deadline(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_config(d, CONFIG);
    assert_true(harness_start(d, NULL));
    enum { SLOW = 66 };
    int fds[SLOW];
    long opened_ms[SLOW], closed_ms[SLOW];
    long start = harness_now_ms();
    for (int i = 0; i < SLOW; i++) {
        fds[i] = keep(connect_from(abuser(i), d->port));
        assert_true(fds[i] >= 0);
        assert_true(send_text(fds[i], "GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
        opened_ms[i] = harness_now_ms() - start;
        closed_ms[i] = -1;
    }
    int open = SLOW, checks = 0, failed_checks = 0, answered = 0, line = 0;
    long worst_ms = 0, next_line_ms = start + 1000;
    while (open > 0 && harness_now_ms() - start < REQUEST_DEADLINE_MS + 3000) {
        long elapsed;
        int status = health(d, 2000, &elapsed);
        checks++;
        if (status != 200) {
            failed_checks++;
            printf("health at %ld ms: %d after %ld ms\n", harness_now_ms() - start, status,
                   elapsed);
        }
        if (elapsed > worst_ms)
            worst_ms = elapsed;
        bool send_line = harness_now_ms() >= next_line_ms;
        if (send_line) {
            next_line_ms += 1000;
            line++;
        }
        for (int i = 0; i < SLOW; i++) {
            if (closed_ms[i] >= 0)
                continue;
            char head[64];
            int got = read_status(fds[i], 0, head, sizeof head);
            if (got > 0)
                answered++;
            char header[32];
            snprintf(header, sizeof header, "X-Slow-%d: %d\r\n", line, i);
            if (got != 0 || (send_line && !send_text(fds[i], header)) ||
                closed_by_server(fds[i], 0)) {
                closed_ms[i] = harness_now_ms() - start;
                open--;
            }
        }
        harness_sleep_ms(500);
    }
    long last_ms = 0;
    int early = 0;
    for (int i = 0; i < SLOW; i++) {
        long lived = closed_ms[i] - opened_ms[i];
        if (closed_ms[i] >= 0 && lived > last_ms)
            last_ms = lived;
        early += closed_ms[i] >= 0 && lived < REQUEST_DEADLINE_MS - 1000;
    }
    printf("slowloris: %d of %d slow connections still open after %ld ms (%d header lines "
           "each); %d closed early to make room, the last after %ld ms; %d answered; health "
           "%d/%d answered 200, worst %ld ms\n",
           open, SLOW, harness_now_ms() - start, line, early, last_ms, answered,
           checks - failed_checks, checks, worst_ms);
    assert_int_equal(failed_checks, 0);
    assert_int_equal(open, 0);
    assert_int_equal(answered, 0);
    assert_true(last_ms <= REQUEST_DEADLINE_MS + 2000);
    close_all();
    assert_health_answers(d, "after the slow connections");
    harness_stop_cleanly(d, 5000);
}

/* One address opens far more connections than its share: it keeps at most its limit,
 * and another address's connections are untouched. */
static void test_one_address_cannot_take_every_connection(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_config(d, CONFIG);
    assert_true(harness_start(d, NULL));
    int others[10];
    for (int i = 0; i < 10; i++)
        others[i] = keep(connect_from("127.0.0.3", d->port));
    int greedy[80];
    for (int i = 0; i < 80; i++)
        greedy[i] = keep(connect_from("127.0.0.2", d->port));
    harness_sleep_ms(500);
    int greedy_open = 0, others_open = 0;
    for (int i = 0; i < 80; i++)
        greedy_open += greedy[i] >= 0 && !closed_by_server(greedy[i], 0);
    for (int i = 0; i < 10; i++)
        others_open += others[i] >= 0 && !closed_by_server(others[i], 0);
    printf("open: %d of 80 from the greedy address, %d of 10 from another\n", greedy_open,
           others_open);
    assert_true(greedy_open <= PER_ADDRESS_CONNECTION_LIMIT);
    assert_int_equal(others_open, 10);
    assert_health_answers(d, "with one address at its limit");
    close_all();
    harness_stop_cleanly(d, 5000);
}

/* Opens GET /api/v1/events from source and returns the answer's status (the stream is
 * left open and never read). */
static int open_stream(struct daemon_proc *d, const char *source, char *head, size_t head_size)
{
    int fd = connect_from(source, d->port);
    if (fd < 0)
        return -1;
    keep(fd);
    char request[256];
    snprintf(request, sizeof request,
             "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n\r\n",
             d->token);
    if (!send_text(fd, request))
        return -1;
    return read_status(fd, 3000, head, head_size);
}

/* One address asks for every event stream and reads none: it gets its share, the rest
 * 503, and another address still gets a stream. */
static void test_one_address_cannot_take_every_event_stream(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_config(d, CONFIG);
    assert_true(harness_start(d, NULL));
    int granted = 0;
    char refusal[512] = "";
    for (int i = 0; i < SSE_LIMIT; i++) {
        char head[512];
        int status = open_stream(d, "127.0.0.2", head, sizeof head);
        if (status == 200)
            granted++;
        else if (status == 503 && !refusal[0])
            snprintf(refusal, sizeof refusal, "%s", head);
        else if (status != 503)
            fail_msg("event stream %d: %d", i, status);
    }
    printf("one address got %d of %d event streams; refusal: %.60s\n", granted, SSE_LIMIT, refusal);
    assert_int_equal(granted, SSE_PER_ADDRESS_LIMIT);
    char head[512];
    int other = open_stream(d, "127.0.0.3", head, sizeof head);
    printf("another address: %d\n", other);
    assert_int_equal(other, 200);
    assert_health_answers(d, "with one address at its stream limit");
    close_all();
    harness_stop_cleanly(d, 5000);
}

static int teardown(void **state)
{
    close_all();
    return harness_teardown(state);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_burst_of_idle_connections_does_not_wedge,
                                        harness_setup, teardown),
        cmocka_unit_test_setup_teardown(test_connections_closed_by_the_deadline_do_not_wedge,
                                        harness_setup, teardown),
        cmocka_unit_test_setup_teardown(test_slowloris_is_cut_off_by_the_deadline, harness_setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_one_address_cannot_take_every_connection,
                                        harness_setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_address_cannot_take_every_event_stream,
                                        harness_setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
