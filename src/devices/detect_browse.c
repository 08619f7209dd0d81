/* `detect --browse`: asks the LAN by mDNS / DNS-SD which devices offer the services our
 * devices announce, and lists them as candidates to detect (include/balkon/detect.h).
 *
 * One query (PTR questions for BROWSE_SERVICES) goes to 224.0.0.251:5353 from an ephemeral
 * port: responders then answer that port directly ("legacy unicast", RFC 6762 §6.7), so
 * no one needs port 5353 here (an avahi-daemon may hold it). Answers are collected until
 * the timeout; an instance's SRV, TXT and its host's A record usually come in the same
 * datagram as the PTR, and where the A record is missing the datagram's source address is
 * the device's. No library: avahi's client needs its daemon running, and the parser is a
 * small pure function (mdns.c). */
#include "balkon/detect.h"

#include "mdns.h"

#include "balkon/error.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MDNS_GROUP "224.0.0.251"
#define MDNS_PORT 5353
#define MAX_INSTANCES 64
#define MAX_HOSTS 64

static const char *const BROWSE_SERVICES[] = {
    "_shelly._tcp.local",     /* Shelly Gen2+ */
    "_http._tcp.local",       /* Shelly Gen1, Tasmota, OpenDTU, AhoyDTU, most web servers */
    "_esphomelib._tcp.local", /* ESPHome */
};
#define SERVICE_COUNT (sizeof BROWSE_SERVICES / sizeof *BROWSE_SERVICES)

struct instance {
    char name[MDNS_NAME_MAX];    /* "shellypro3em-c8f09e8825f8._shelly._tcp.local" */
    char service[MDNS_NAME_MAX]; /* "_shelly._tcp.local" */
    char host[MDNS_NAME_MAX];    /* from SRV */
    uint16_t port;
    char txt[MDNS_TXT_MAX];
    char source[INET_ADDRSTRLEN]; /* who sent the PTR */
};

struct host {
    char name[MDNS_NAME_MAX];
    char address[INET_ADDRSTRLEN];
};

struct browse {
    struct instance instances[MAX_INSTANCES];
    size_t instance_count;
    struct host hosts[MAX_HOSTS];
    size_t host_count;
    char source[INET_ADDRSTRLEN]; /* of the datagram being parsed */
    size_t datagrams, malformed;
};

static bool is_browsed(const char *service)
{
    for (size_t i = 0; i < SERVICE_COUNT; i++)
        if (strcasecmp(service, BROWSE_SERVICES[i]) == 0)
            return true;
    return false;
}

static struct instance *instance_for(struct browse *b, const char *name, bool create)
{
    for (size_t i = 0; i < b->instance_count; i++)
        if (strcasecmp(b->instances[i].name, name) == 0)
            return &b->instances[i];
    if (!create || b->instance_count == MAX_INSTANCES)
        return NULL;
    struct instance *in = &b->instances[b->instance_count++];
    memset(in, 0, sizeof *in);
    snprintf(in->name, sizeof in->name, "%s", name);
    return in;
}

static void on_record(const struct mdns_record *r, void *user)
{
    struct browse *b = user;
    struct instance *in;
    switch (r->type) {
    case MDNS_PTR:
        if (is_browsed(r->name) && (in = instance_for(b, r->target, true))) {
            snprintf(in->service, sizeof in->service, "%s", r->name);
            snprintf(in->source, sizeof in->source, "%s", b->source);
        }
        break;
    case MDNS_SRV:
        if ((in = instance_for(b, r->name, true))) {
            snprintf(in->host, sizeof in->host, "%s", r->target);
            in->port = r->port;
        }
        break;
    case MDNS_TXT:
        if ((in = instance_for(b, r->name, true)))
            snprintf(in->txt, sizeof in->txt, "%s", r->txt);
        break;
    case MDNS_A:
        if (b->host_count < MAX_HOSTS) {
            struct host *h = &b->hosts[b->host_count++];
            snprintf(h->name, sizeof h->name, "%s", r->name);
            inet_ntop(AF_INET, r->ipv4, h->address, sizeof h->address);
        }
        break;
    default:
        break;
    }
}

/* The value of key in "key=value\n" lines, or "". */
static void txt_value(const char *txt, const char *key, char *out, size_t size)
{
    size_t klen = strlen(key);
    out[0] = '\0';
    for (const char *line = txt; *line;) {
        size_t n = strcspn(line, "\n");
        if (n > klen && strncasecmp(line, key, klen) == 0 && line[klen] == '=') {
            snprintf(out, size, "%.*s", (int)(n - klen - 1), line + klen + 1);
            return;
        }
        line += n + (line[n] == '\n');
    }
}

/* The driver type a candidate most likely is, from its service, name and TXT; "" unknown.
 * A guess to show; `detect` on its address is what knows. */
static const char *likely_type(const struct instance *in)
{
    char gen[8];
    txt_value(in->txt, "gen", gen, sizeof gen);
    if (strncasecmp(in->service, "_shelly.", 8) == 0)
        return strcmp(gen, "1") == 0 ? "shelly_gen1" : "shelly_gen2";
    if (strncasecmp(in->service, "_esphomelib.", 12) == 0)
        return "esphome";
    static const struct {
        const char *prefix, *type;
    } names[] = {{"shelly", "shelly_gen1"},
                 {"tasmota", "tasmota"},
                 {"opendtu", "opendtu"},
                 {"ahoy", "ahoydtu"}};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strncasecmp(in->name, names[i].prefix, strlen(names[i].prefix)) == 0)
            return gen[0] && strcmp(gen, "1") != 0 && i == 0 ? "shelly_gen2" : names[i].type;
    return "";
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static cJSON *candidates_json(const struct browse *b)
{
    cJSON *list = cJSON_CreateArray();
    for (size_t i = 0; i < b->instance_count; i++) {
        const struct instance *in = &b->instances[i];
        if (!in->service[0])
            continue; /* an SRV or TXT without the PTR of a service we asked for */
        cJSON *c = cJSON_CreateObject();
        size_t service_len = strlen(in->service);
        size_t name_len = strlen(in->name);
        /* The instance's own label: its name without ".<service>". */
        char label[MDNS_NAME_MAX];
        snprintf(label, sizeof label, "%.*s",
                 (int)(name_len > service_len + 1 ? name_len - service_len - 1 : name_len),
                 in->name);
        cJSON_AddStringToObject(c, "name", label);
        char service[MDNS_NAME_MAX];
        snprintf(service, sizeof service, "%.*s", (int)(service_len > 6 ? service_len - 6 : 0),
                 in->service); /* without ".local" */
        cJSON_AddStringToObject(c, "service", service);
        cJSON_AddStringToObject(c, "host", in->host);
        const char *address = in->source;
        for (size_t h = 0; h < b->host_count; h++)
            if (in->host[0] && strcasecmp(b->hosts[h].name, in->host) == 0)
                address = b->hosts[h].address;
        cJSON_AddStringToObject(c, "address", address);
        cJSON_AddNumberToObject(c, "port", in->port);
        cJSON *txt = cJSON_AddObjectToObject(c, "txt");
        for (const char *line = in->txt; *line;) {
            size_t n = strcspn(line, "\n");
            size_t k = strcspn(line, "=\n");
            char key[64];
            snprintf(key, sizeof key, "%.*s", (int)k, line);
            char value[MDNS_TXT_MAX];
            snprintf(value, sizeof value, "%.*s", k < n ? (int)(n - k - 1) : 0,
                     k < n ? line + k + 1 : "");
            if (key[0] && !cJSON_GetObjectItem(txt, key))
                cJSON_AddStringToObject(txt, key, value);
            line += n + (line[n] == '\n');
        }
        cJSON_AddStringToObject(c, "likely_type", likely_type(in));
        /* The port goes into the target only where it is the HTTP the probes ask: ESPHome
         * announces its native API (6053, protobuf), while detect reads its web server's
         * /events on port 80, which "addr:6053" would send to the API port. */
        bool http = strcmp(in->service, "_esphomelib._tcp.local") != 0;
        char target[INET_ADDRSTRLEN + 8];
        if (http && in->port && in->port != 80)
            snprintf(target, sizeof target, "%s:%u", address, in->port);
        else
            snprintf(target, sizeof target, "%s", address);
        cJSON_AddStringToObject(c, "detect", target);
        cJSON_AddItemToArray(list, c);
    }
    return list;
}

int balkon_detect_browse(int timeout_ms, char **json_out, char *msg, size_t msg_size)
{
    *json_out = NULL;
    if (timeout_ms <= 0)
        timeout_ms = BALKON_DETECT_BROWSE_MS;
    uint8_t query[512];
    size_t query_len = mdns_query_build(query, sizeof query, BROWSE_SERVICES, SERVICE_COUNT);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(msg, msg_size, "socket: %s", strerror(errno));
        return BALKON_E_IO;
    }
    unsigned char ttl = 255; /* RFC 6762 §11: mDNS packets carry TTL 255 */
    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
    struct sockaddr_in group = {.sin_family = AF_INET, .sin_port = htons(MDNS_PORT)};
    inet_pton(AF_INET, MDNS_GROUP, &group.sin_addr);
    if (sendto(fd, query, query_len, 0, (struct sockaddr *)&group, sizeof group) < 0) {
        snprintf(msg, msg_size, "cannot send the mDNS query to %s:%d: %s", MDNS_GROUP, MDNS_PORT,
                 strerror(errno));
        close(fd);
        return BALKON_E_IO;
    }
    struct browse *b = calloc(1, sizeof *b);
    if (!b) {
        close(fd);
        return BALKON_E_NOMEM;
    }
    int64_t deadline_ms = now_ms() + timeout_ms;
    for (int64_t left; (left = deadline_ms - now_ms()) > 0;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        uint8_t buf[9000]; /* mDNS allows datagrams up to the interface's MTU, 9000 jumbo */
        struct sockaddr_in from;
        socklen_t from_len = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &from_len);
        if (n < 12 || !(buf[2] & 0x80)) /* too short, or a query: not an answer */
            continue;
        inet_ntop(AF_INET, &from.sin_addr, b->source, sizeof b->source);
        b->datagrams++;
        if (mdns_parse(buf, (size_t)n, on_record, b) < 0)
            b->malformed++;
    }
    close(fd);
    cJSON *answer = cJSON_CreateObject();
    cJSON *services = cJSON_AddArrayToObject(answer, "services");
    for (size_t i = 0; i < SERVICE_COUNT; i++)
        cJSON_AddItemToArray(services, cJSON_CreateString(BROWSE_SERVICES[i]));
    cJSON_AddNumberToObject(answer, "answers", (double)b->datagrams);
    cJSON_AddNumberToObject(answer, "malformed", (double)b->malformed);
    cJSON_AddItemToObject(answer, "candidates", candidates_json(b));
    free(b);
    *json_out = cJSON_Print(answer);
    cJSON_Delete(answer);
    return *json_out ? 0 : BALKON_E_NOMEM;
}
