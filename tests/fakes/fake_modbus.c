/* A fake Modbus TCP server (see fake_modbus.h). Frames (MBAP header, then the PDU):
 *   transaction id (2), protocol id 0 (2), length of unit + PDU (2), unit (1), function (1)
 *   3/4 read:   address (2), count (2)  → function, byte count, registers (big-endian)
 *   6 write:    address (2), value (2)  → the request echoed
 *   16 write:   address (2), count (2), byte count (1), values → address, count
 *   exception:  function | 0x80, code (1: illegal function, 2: illegal data address) */
#include "fake_modbus.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct fake_modbus;

struct client {
    struct fake_modbus *fake;
    pthread_t thread;
    int fd;
    bool used;
};

struct fake_modbus {
    int listen_fd;
    int port;
    int stop_pipe[2];
    pthread_t thread;
    pthread_mutex_t lock;
    uint16_t regs[65536];
    uint8_t defined[65536];
    int requests;
    /* Connections, each served by its own thread (devices take several at once). */
    struct client clients[16];
};

static bool read_full(int fd, uint8_t *buf, size_t size)
{
    size_t got = 0;
    while (got < size) {
        ssize_t n = recv(fd, buf + got, size - got, 0);
        if (n <= 0)
            return false;
        got += (size_t)n;
    }
    return true;
}

static bool all_defined(const struct fake_modbus *f, unsigned address, unsigned count)
{
    if (count == 0 || address + count > 65536)
        return false;
    for (unsigned i = 0; i < count; i++)
        if (!f->defined[address + i])
            return false;
    return true;
}

/* Answers one request into out; returns the answer's PDU length (0: close). */
static size_t answer(struct fake_modbus *f, const uint8_t *pdu, size_t len, uint8_t *out)
{
    uint8_t function = pdu[0];
    unsigned address = len >= 3 ? (unsigned)(pdu[1] << 8 | pdu[2]) : 0;
    unsigned count = len >= 5 ? (unsigned)(pdu[3] << 8 | pdu[4]) : 0;
    out[0] = function;
    if ((function == 3 || function == 4) && len == 5) {
        if (count > 125 || !all_defined(f, address, count))
            goto illegal_address;
        out[1] = (uint8_t)(2 * count);
        for (unsigned i = 0; i < count; i++) {
            out[2 + 2 * i] = (uint8_t)(f->regs[address + i] >> 8);
            out[3 + 2 * i] = (uint8_t)f->regs[address + i];
        }
        return 2 + 2 * count;
    }
    if (function == 6 && len == 5) {
        if (!all_defined(f, address, 1))
            goto illegal_address;
        f->regs[address] = (uint16_t)count;
        memcpy(out, pdu, 5);
        return 5;
    }
    if (function == 16 && len >= 6 && len == 6 + (size_t)pdu[5] && pdu[5] == 2 * count) {
        if (count > 123 || !all_defined(f, address, count))
            goto illegal_address;
        for (unsigned i = 0; i < count; i++)
            f->regs[address + i] = (uint16_t)(pdu[6 + 2 * i] << 8 | pdu[7 + 2 * i]);
        memcpy(out, pdu, 5);
        return 5;
    }
    out[0] = function | 0x80;
    out[1] = 1;
    return 2;
illegal_address:
    out[0] = function | 0x80;
    out[1] = 2;
    return 2;
}

static void serve(struct fake_modbus *f, int fd)
{
    for (;;) {
        uint8_t head[7], pdu[256], reply[7 + 256];
        if (!read_full(fd, head, sizeof head))
            return;
        unsigned protocol = (unsigned)(head[2] << 8 | head[3]);
        unsigned length = (unsigned)(head[4] << 8 | head[5]);
        if (protocol != 0 || length < 2 || length > 254 || !read_full(fd, pdu, length - 1))
            return; /* not Modbus TCP (an HTTP request, say): hang up */
        pthread_mutex_lock(&f->lock);
        size_t n = answer(f, pdu, length - 1, reply + 7);
        f->requests++;
        pthread_mutex_unlock(&f->lock);
        memcpy(reply, head, 4);
        reply[4] = (uint8_t)((n + 1) >> 8);
        reply[5] = (uint8_t)(n + 1);
        reply[6] = head[6];
        if (send(fd, reply, 7 + n, MSG_NOSIGNAL) < 0)
            return;
    }
}

static void *client_thread(void *arg)
{
    struct client *c = arg;
    serve(c->fake, c->fd);
    shutdown(c->fd, SHUT_RDWR);
    return NULL;
}

static void *server_thread(void *arg)
{
    struct fake_modbus *f = arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = f->listen_fd, .events = POLLIN},
                              {.fd = f->stop_pipe[0], .events = POLLIN}};
        if (poll(p, 2, -1) < 0 || p[1].revents)
            return NULL;
        int fd = accept(f->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        size_t i = 0;
        while (i < sizeof f->clients / sizeof *f->clients && f->clients[i].used)
            i++;
        if (i == sizeof f->clients / sizeof *f->clients) {
            close(fd); /* full, as a device with all its connections taken */
            continue;
        }
        f->clients[i].fake = f;
        f->clients[i].fd = fd;
        f->clients[i].used = true;
        if (pthread_create(&f->clients[i].thread, NULL, client_thread, &f->clients[i]) != 0) {
            close(fd);
            f->clients[i].used = false;
        }
    }
}

struct fake_modbus *fake_modbus_start(void)
{
    struct fake_modbus *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    pthread_mutex_init(&f->lock, NULL);
    f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    if (f->listen_fd < 0 || bind(f->listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
        listen(f->listen_fd, 8) < 0 ||
        getsockname(f->listen_fd, (struct sockaddr *)&addr, &len) < 0 || pipe(f->stop_pipe) < 0) {
        if (f->listen_fd >= 0)
            close(f->listen_fd);
        free(f);
        return NULL;
    }
    f->port = ntohs(addr.sin_port);
    if (pthread_create(&f->thread, NULL, server_thread, f) != 0) {
        close(f->listen_fd);
        close(f->stop_pipe[0]);
        close(f->stop_pipe[1]);
        free(f);
        return NULL;
    }
    return f;
}

void fake_modbus_stop(struct fake_modbus *f)
{
    if (!f)
        return;
    (void)!write(f->stop_pipe[1], "x", 1);
    pthread_join(f->thread, NULL);
    for (size_t i = 0; i < sizeof f->clients / sizeof *f->clients; i++) {
        if (!f->clients[i].used)
            continue;
        shutdown(f->clients[i].fd, SHUT_RDWR); /* ends its thread's read */
        pthread_join(f->clients[i].thread, NULL);
        close(f->clients[i].fd);
    }
    close(f->listen_fd);
    close(f->stop_pipe[0]);
    close(f->stop_pipe[1]);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

int fake_modbus_port(const struct fake_modbus *f)
{
    return f->port;
}

void fake_modbus_set(struct fake_modbus *f, uint16_t address, const uint16_t *values, size_t count)
{
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < count && address + i < 65536; i++) {
        f->regs[address + i] = values[i];
        f->defined[address + i] = 1;
    }
    pthread_mutex_unlock(&f->lock);
}

void fake_modbus_set_string(struct fake_modbus *f, uint16_t address, const char *text, size_t regs)
{
    uint16_t values[64] = {0};
    size_t len = strlen(text);
    for (size_t i = 0; i < regs && i < 64; i++) {
        uint8_t hi = 2 * i < len ? (uint8_t)text[2 * i] : 0;
        uint8_t lo = 2 * i + 1 < len ? (uint8_t)text[2 * i + 1] : 0;
        values[i] = (uint16_t)(hi << 8 | lo);
    }
    fake_modbus_set(f, address, values, regs < 64 ? regs : 64);
}

uint16_t fake_modbus_get(struct fake_modbus *f, uint16_t address)
{
    pthread_mutex_lock(&f->lock);
    uint16_t value = f->defined[address] ? f->regs[address] : 0;
    pthread_mutex_unlock(&f->lock);
    return value;
}

int fake_modbus_requests(struct fake_modbus *f)
{
    pthread_mutex_lock(&f->lock);
    int n = f->requests;
    pthread_mutex_unlock(&f->lock);
    return n;
}
