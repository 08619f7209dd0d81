/* Blocking exchanges with one deadline each, for `detect` (see detect_net.h). Names are
 * resolved with getaddrinfo, which blocks too: that is why all of this runs off the loop. */
#include "detect_net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void detect_reply_free(struct detect_reply *reply)
{
    free(reply->body);
    reply->body = NULL;
    reply->size = 0;
}

static int resolve(const char *host, int port, int socktype, struct addrinfo **out, char *why,
                   size_t why_size)
{
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = socktype};
    int rc = getaddrinfo(host, service, &hints, out);
    if (rc != 0) {
        snprintf(why, why_size, "cannot resolve \"%s\": %s", host, gai_strerror(rc));
        return -1;
    }
    return 0;
}

/* Waits for events on fd until deadline; false with why on a timeout. */
static bool wait_fd(int fd, short events, int64_t deadline_ms, char *why, size_t why_size)
{
    for (;;) {
        int64_t left = deadline_ms - now_ms();
        if (left <= 0) {
            snprintf(why, why_size, "timed out");
            return false;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return true;
        if (n < 0 && errno != EINTR) {
            snprintf(why, why_size, "poll: %s", strerror(errno));
            return false;
        }
    }
}

/* A connected TCP socket to host:port, or -1 with why. */
static int tcp_connect(const char *host, int port, int64_t deadline_ms, char *why, size_t why_size)
{
    struct addrinfo *list;
    if (resolve(host, port, SOCK_STREAM, &list, why, why_size) < 0)
        return -1;
    int fd = -1;
    for (struct addrinfo *ai = list; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            snprintf(why, why_size, "socket: %s", strerror(errno));
            continue;
        }
        int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc < 0 && errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline_ms, why, why_size)) {
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            rc = err ? -1 : 0;
            if (err)
                snprintf(why, why_size, "%s", strerror(err));
        } else if (rc < 0 && errno != EINPROGRESS) {
            snprintf(why, why_size, "%s", strerror(errno));
        }
        if (rc < 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(list);
    return fd;
}

static bool send_all(int fd, const void *data, size_t size, int64_t deadline_ms, char *why,
                     size_t why_size)
{
    const char *p = data;
    while (size > 0) {
        if (!wait_fd(fd, POLLOUT, deadline_ms, why, why_size))
            return false;
        ssize_t n = send(fd, p, size, MSG_NOSIGNAL);
        if (n < 0 && errno != EINTR && errno != EAGAIN) {
            snprintf(why, why_size, "send: %s", strerror(errno));
            return false;
        }
        if (n > 0) {
            p += n;
            size -= (size_t)n;
        }
    }
    return true;
}

/* Splits "HTTP/1.x 200 OK\r\n...\r\n\r\nbody" into status and body (moved to the front). */
static bool split_http(struct detect_reply *out)
{
    int status;
    if (sscanf(out->body, "HTTP/1.%*d %d", &status) != 1)
        return false;
    char *end = strstr(out->body, "\r\n\r\n");
    size_t skip = end ? 4 : 2;
    if (!end)
        end = strstr(out->body, "\n\n");
    if (!end)
        return false;
    size_t head = (size_t)(end - out->body) + skip;
    out->status = status;
    out->size -= head;
    memmove(out->body, out->body + head, out->size + 1);
    return true;
}

int detect_http_get(const char *host, int port, const char *path, int timeout_ms, int idle_ms,
                    struct detect_reply *out, char *why, size_t why_size)
{
    *out = (struct detect_reply){0};
    int64_t deadline_ms = now_ms() + timeout_ms;
    int fd = tcp_connect(host, port, deadline_ms, why, why_size);
    if (fd < 0)
        return -1;
    char request[512];
    int len = snprintf(request, sizeof request,
                       "GET %s HTTP/1.0\r\nHost: %s\r\nAccept: */*\r\n"
                       "User-Agent: balkonsolard-detect\r\nConnection: close\r\n\r\n",
                       path, host);
    int rc = -1;
    out->body = malloc(DETECT_MAX_REPLY_BYTES + 1);
    if (!out->body) {
        snprintf(why, why_size, "out of memory");
        goto done;
    }
    if (len < 0 || (size_t)len >= sizeof request ||
        !send_all(fd, request, (size_t)len, deadline_ms, why, why_size))
        goto done;
    for (;;) {
        int64_t until = deadline_ms;
        if (out->size > 0 && now_ms() + idle_ms < until)
            until = now_ms() + idle_ms;
        if (!wait_fd(fd, POLLIN, until, why, why_size)) {
            if (out->size == 0)
                goto done;
            break; /* quiet after some bytes: an event stream, take what came */
        }
        ssize_t n = recv(fd, out->body + out->size, DETECT_MAX_REPLY_BYTES - out->size, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0) {
            snprintf(why, why_size, "%s", strerror(errno));
            goto done;
        }
        if (n == 0)
            break;
        out->size += (size_t)n;
        if (out->size == DETECT_MAX_REPLY_BYTES)
            break;
    }
    out->body[out->size] = '\0';
    if (out->size == 0) {
        snprintf(why, why_size, "closed without an answer");
        goto done;
    }
    if (!split_http(out)) {
        snprintf(why, why_size, "the answer is not HTTP");
        goto done;
    }
    rc = 0;
done:
    close(fd);
    if (rc < 0)
        detect_reply_free(out);
    return rc;
}

int detect_udp_request(const char *host, int port, const char *request, int timeout_ms,
                       struct detect_reply *out, char *why, size_t why_size)
{
    *out = (struct detect_reply){0};
    int64_t deadline_ms = now_ms() + timeout_ms;
    struct addrinfo *list;
    if (resolve(host, port, SOCK_DGRAM, &list, why, why_size) < 0)
        return -1;
    int rc = -1;
    int fd = socket(list->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    /* connect: the kernel then drops datagrams from any other address. */
    if (fd < 0 || connect(fd, list->ai_addr, list->ai_addrlen) < 0 ||
        send(fd, request, strlen(request), 0) < 0) {
        snprintf(why, why_size, "%s", strerror(errno));
        goto done;
    }
    out->body = malloc(DETECT_MAX_REPLY_BYTES + 1);
    if (!out->body) {
        snprintf(why, why_size, "out of memory");
        goto done;
    }
    for (;;) {
        if (!wait_fd(fd, POLLIN, deadline_ms, why, why_size)) {
            snprintf(why, why_size, "no answer");
            goto done;
        }
        ssize_t n = recv(fd, out->body, DETECT_MAX_REPLY_BYTES, 0);
        if (n > 0) {
            out->size = (size_t)n;
            out->body[n] = '\0';
            rc = 0;
            goto done;
        }
        if (n < 0 && errno != EINTR && errno != EAGAIN) {
            snprintf(why, why_size, "%s",
                     errno == ECONNREFUSED ? "no answer (port closed)" : strerror(errno));
            goto done;
        }
    }
done:
    if (fd >= 0)
        close(fd);
    freeaddrinfo(list);
    if (rc < 0)
        detect_reply_free(out);
    return rc;
}

/* Modbus TCP (MBAP): transaction id, protocol 0, length, unit; then the PDU. Function 3
 * (read holding registers) answers 3, byte count, big-endian registers; an exception
 * answers 0x83 and a code (2: illegal data address). */
int detect_modbus_read(const char *host, int port, int unit, uint16_t address, uint16_t count,
                       int timeout_ms, uint16_t *regs, char *why, size_t why_size)
{
    if (count < 1 || count > 125) {
        snprintf(why, why_size, "register count %u out of 1..125", count);
        return -1;
    }
    int64_t deadline_ms = now_ms() + timeout_ms;
    int fd = tcp_connect(host, port, deadline_ms, why, why_size);
    if (fd < 0)
        return -1;
    uint8_t request[12] = {0x12,
                           0x34,
                           0,
                           0,
                           0,
                           6,
                           (uint8_t)unit,
                           3,
                           (uint8_t)(address >> 8),
                           (uint8_t)address,
                           0,
                           (uint8_t)count};
    uint8_t answer[9 + 250];
    size_t want = 9 + 2 * (size_t)count, got = 0;
    int rc = -1;
    if (!send_all(fd, request, sizeof request, deadline_ms, why, why_size))
        goto done;
    while (got < want) {
        if (!wait_fd(fd, POLLIN, deadline_ms, why, why_size))
            goto done;
        ssize_t n = recv(fd, answer + got, want - got, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0) {
            if (got >= 9 && answer[7] == 0x83)
                break;
            snprintf(why, why_size, "%s", n == 0 ? "closed without an answer" : strerror(errno));
            goto done;
        }
        got += (size_t)n;
        if (got >= 9 && answer[7] == 0x83)
            break;
    }
    if (answer[0] != 0x12 || answer[1] != 0x34 || answer[2] != 0 || answer[3] != 0) {
        snprintf(why, why_size, "not a Modbus TCP answer");
        goto done;
    }
    if (answer[7] == 0x83) {
        snprintf(why, why_size, "Modbus exception %u", answer[8]);
        goto done;
    }
    if (answer[7] != 3 || answer[8] != 2 * count) {
        snprintf(why, why_size, "unexpected Modbus answer (function %u, %u bytes)", answer[7],
                 answer[8]);
        goto done;
    }
    for (uint16_t i = 0; i < count; i++)
        regs[i] = (uint16_t)(answer[9 + 2 * i] << 8 | answer[10 + 2 * i]);
    rc = 0;
done:
    close(fd);
    return rc;
}
