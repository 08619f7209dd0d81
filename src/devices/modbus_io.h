/* Modbus TCP for the modbus and sunspec drivers: libmodbus, on libuv's pool.
 *
 * libmodbus is blocking (connect, request, wait for the answer), so a device's poll is one
 * pool job (struct mb_poller) that does all its reads with the device's timeout, and only
 * the values come back to the loop. One job per device at a time: the link (its libmodbus
 * context, kept connected between polls, as devices limit their connections) is touched by
 * that job only. After a failed poll the next ones wait (2, 4 … 30 s), so a device that is
 * gone holds a pool thread for one timeout every 30 s, not all the time. */
#ifndef BALKON_MODBUS_IO_H
#define BALKON_MODBUS_IO_H

#include "device_kit.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct mb_link {
    void *ctx; /* modbus_t *, NULL while not connected */
    /* What the loop asks for (set before each job): a change reconnects. */
    char host[128];
    int port;
    int unit;
    double timeout_s;
    char connected_host[128];
    int connected_port;
};

/* Reads count registers (holding, or input when input) into out; blocking, on the pool.
 * Connects first when needed; after a transport error the link is closed (the next read
 * reconnects). 0, or -1 with why ("connection refused", "exception: illegal data
 * address"); *transport tells a dead link from a refused request. */
int mb_read(struct mb_link *link, bool input, uint16_t address, uint16_t count, uint16_t *out,
            bool *transport, char *why, size_t why_size);
/* Closes the link (on the loop once no job runs, or in a job). */
void mb_link_close(struct mb_link *link);

struct mb_poller {
    struct dev_kit *kit;
    struct mb_link link;
    uv_work_t req;
    bool busy;
    int failures;                           /* polls failed in a row: the backoff */
    uint64_t next_try_ms;                   /* loop time before which polls are skipped */
    void (*work)(struct mb_poller *poller); /* on the pool */
    bool (*done)(struct mb_poller *poller); /* on the loop; false: the poll failed */
};

/* Starts a poll job unless one runs or the backoff says wait. Copies host, port (default
 * 502), unit and timeout from the kit's config into the link first. */
void mb_poller_poll(struct mb_poller *poller);
/* Releases the link; for the driver's free op. */
void mb_poller_free(struct mb_poller *poller);

#endif
