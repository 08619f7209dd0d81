/* mDNS messages (RFC 1035 format, RFC 6762 rules), see mdns.h.
 *
 * Header (12 bytes, big-endian): id, flags (0x8400 in a response: QR, AA), questions,
 * answers, authority records, additional records. A question: name, type, class (top bit:
 * "unicast answer wanted"). A record: name, type, class (top bit: cache flush), ttl (32
 * bits), rdlength, rdata. Names are labels (length byte, bytes) ending in a 0 byte, or a
 * 2-byte pointer (0xC0 | offset) to a name earlier in the message. DNS-SD: PTR
 * "_shelly._tcp.local" → instance "shellypro3em-c8f09e8825f8._shelly._tcp.local"; SRV
 * instance → priority, weight, port, host "shellypro3em-c8f09e8825f8.local"; TXT instance →
 * strings "gen=2", "app=Pro3EM"; A host → IPv4 address. */
#include "mdns.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define MAX_JUMPS 16

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads the name at *pos into out (dotted); *pos moves past it. A pointer must go back to
 * before the name being read, so names cannot loop; at most MAX_JUMPS of them. */
static bool read_name(const uint8_t *msg, size_t len, size_t *pos, char *out, size_t out_size)
{
    size_t p = *pos, used = 0, end = 0;
    size_t limit = *pos; /* a pointer must point before this */
    int jumps = 0;
    out[0] = '\0';
    for (;;) {
        if (p >= len)
            return false;
        uint8_t label = msg[p];
        if (label == 0) {
            if (!jumps)
                end = p + 1;
            break;
        }
        if ((label & 0xC0) == 0xC0) {
            if (p + 1 >= len || ++jumps > MAX_JUMPS)
                return false;
            size_t target = (size_t)(label & 0x3F) << 8 | msg[p + 1];
            if (jumps == 1)
                end = p + 2;
            if (target >= limit)
                return false;
            limit = target;
            p = target;
            continue;
        }
        if (label & 0xC0 || p + 1 + label > len)
            return false;
        if (used + label + 2 > out_size || used + label + 1 > 255)
            return false;
        if (used)
            out[used++] = '.';
        memcpy(out + used, msg + p + 1, label);
        used += label;
        out[used] = '\0';
        p += 1 + (size_t)label;
    }
    *pos = end;
    return true;
}

static size_t write_name(uint8_t *buf, size_t size, size_t pos, const char *name)
{
    const char *label = name;
    while (*label) {
        size_t n = strcspn(label, ".");
        if (n == 0 || n > 63 || pos + 1 + n >= size)
            return 0;
        buf[pos++] = (uint8_t)n;
        memcpy(buf + pos, label, n);
        pos += n;
        label += n;
        if (*label == '.')
            label++;
    }
    if (pos >= size)
        return 0;
    buf[pos++] = 0;
    return pos;
}

size_t mdns_query_build(uint8_t *buf, size_t size, const char *const *services, size_t count)
{
    if (size < 12 || count == 0 || count > 32)
        return 0;
    memset(buf, 0, 12);
    buf[5] = (uint8_t)count;
    size_t pos = 12;
    for (size_t i = 0; i < count; i++) {
        if (strlen(services[i]) > 253 || !(pos = write_name(buf, size, pos, services[i])) ||
            pos + 4 > size)
            return 0;
        buf[pos++] = 0;
        buf[pos++] = MDNS_PTR;
        buf[pos++] = 0x00; /* class IN, multicast answers (the responder answers a query */
        buf[pos++] = 0x01; /* from a port other than 5353 to that port anyway: §6.7) */
    }
    return pos;
}

/* TXT rdata: strings of a length byte and bytes, kept as "string\n". */
static void read_txt(const uint8_t *rdata, size_t rdlen, char *out, size_t out_size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t p = 0; p < rdlen;) {
        size_t n = rdata[p++];
        if (p + n > rdlen)
            n = rdlen - p;
        if (used + n + 2 <= out_size && n > 0) {
            for (size_t i = 0; i < n; i++)
                out[used++] = rdata[p + i] >= 0x20 && rdata[p + i] != 0x7f && rdata[p + i] != '\n'
                                  ? (char)rdata[p + i]
                                  : '?';
            out[used++] = '\n';
            out[used] = '\0';
        }
        p += n;
    }
}

int mdns_parse(const uint8_t *msg, size_t len, mdns_record_cb cb, void *user)
{
    if (len < 12)
        return -1;
    size_t questions = be16(msg + 4);
    size_t records = (size_t)be16(msg + 6) + be16(msg + 8) + be16(msg + 10);
    size_t pos = 12;
    char skip[MDNS_NAME_MAX];
    for (size_t i = 0; i < questions; i++) {
        if (!read_name(msg, len, &pos, skip, sizeof skip) || pos + 4 > len)
            return -1;
        pos += 4;
    }
    int passed = 0;
    for (size_t i = 0; i < records; i++) {
        struct mdns_record r = {0};
        if (!read_name(msg, len, &pos, r.name, sizeof r.name) || pos + 10 > len)
            return -1;
        r.type = be16(msg + pos);
        r.ttl_s = be32(msg + pos + 4);
        size_t rdlen = be16(msg + pos + 8);
        pos += 10;
        if (pos + rdlen > len)
            return -1;
        size_t rd = pos;
        bool keep = true;
        switch (r.type) {
        case MDNS_A:
            keep = rdlen == 4;
            if (keep)
                memcpy(r.ipv4, msg + rd, 4);
            break;
        case MDNS_PTR:
            if (!read_name(msg, rd + rdlen, &rd, r.target, sizeof r.target))
                return -1;
            break;
        case MDNS_SRV:
            if (rdlen < 7)
                return -1;
            r.port = be16(msg + rd + 4);
            rd += 6;
            if (!read_name(msg, pos + rdlen, &rd, r.target, sizeof r.target))
                return -1;
            break;
        case MDNS_TXT:
            read_txt(msg + rd, rdlen, r.txt, sizeof r.txt);
            break;
        default:
            keep = false;
        }
        pos += rdlen;
        if (keep) {
            cb(&r, user);
            passed++;
        }
    }
    return passed;
}
