/* Blocking network exchanges for `detect` (detect.c): one HTTP GET, one UDP JSON-RPC
 * request, one Modbus TCP read, each with a deadline. They block, so they run on a pool
 * thread (the API) or in the command line tool, never on the loop. */
#ifndef BALKON_DETECT_NET_H
#define BALKON_DETECT_NET_H

#include <stddef.h>
#include <stdint.h>

/* Answers are bounded: a device's identity or status is a few KB. */
#define DETECT_MAX_REPLY_BYTES (64 * 1024)

struct detect_reply {
    int status; /* HTTP status, 0 for UDP */
    char *body; /* NUL-terminated, malloc'd, owned by the caller (detect_reply_free) */
    size_t size;
};

void detect_reply_free(struct detect_reply *reply);

/* GET path from host:port over HTTP/1.0. The answer ends when the device closes the
 * connection, after idle_ms without new bytes once some came (an event stream never
 * closes), at timeout_ms, or at DETECT_MAX_REPLY_BYTES. 0, or -1 with why ("connection
 * refused", "timed out", "not HTTP"). */
int detect_http_get(const char *host, int port, const char *path, int timeout_ms, int idle_ms,
                    struct detect_reply *out, char *why, size_t why_size);

/* Sends one datagram (request) to host:port and waits for one answer from that address.
 * 0, or -1 with why. */
int detect_udp_request(const char *host, int port, const char *request, int timeout_ms,
                       struct detect_reply *out, char *why, size_t why_size);

/* Reads count (1..125) holding registers from address on Modbus unit over TCP: 0 with the
 * values in regs, or -1 with why (an exception code, a short answer, no answer). */
int detect_modbus_read(const char *host, int port, int unit, uint16_t address, uint16_t count,
                       int timeout_ms, uint16_t *regs, char *why, size_t why_size);

#endif
