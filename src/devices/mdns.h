/* A minimal mDNS / DNS-SD client (RFC 6762, 6763): the query that asks for the instances
 * of some services, and the parser of the answers. Pure: bytes in, records out; the
 * sockets are in detect_browse.c. */
#ifndef BALKON_MDNS_H
#define BALKON_MDNS_H

#include <stddef.h>
#include <stdint.h>

#define MDNS_NAME_MAX 256 /* a DNS name is at most 255 bytes on the wire */
#define MDNS_TXT_MAX 256  /* the TXT strings kept, "key=value\n" each */

enum mdns_type {
    MDNS_A = 1,
    MDNS_PTR = 12,
    MDNS_TXT = 16,
    MDNS_AAAA = 28,
    MDNS_SRV = 33,
};

struct mdns_record {
    char name[MDNS_NAME_MAX]; /* "_shelly._tcp.local", dots between labels, no final dot */
    uint16_t type;
    uint32_t ttl_s;
    /* PTR: the instance; SRV: the host */
    char target[MDNS_NAME_MAX];
    uint16_t port;          /* SRV */
    uint8_t ipv4[4];        /* A */
    char txt[MDNS_TXT_MAX]; /* TXT: "key=value\n" per string, cut at MDNS_TXT_MAX */
};

/* Writes a query (id 0, one PTR question per service name, e.g. "_shelly._tcp.local") into
 * buf; returns its length, or 0 when it does not fit or a name is not valid. */
size_t mdns_query_build(uint8_t *buf, size_t size, const char *const *services, size_t count);

typedef void (*mdns_record_cb)(const struct mdns_record *record, void *user);

/* Parses a response: calls cb for every answer, authority and additional record of the
 * types above (others are skipped). Returns the number of records passed to cb, or -1 when
 * the message is malformed (cut short, a name that loops or points forward, a label or
 * name too long); records before the fault have been passed already. */
int mdns_parse(const uint8_t *msg, size_t len, mdns_record_cb cb, void *user);

#endif
