/* Driver "sma_speedwire": an SMA Energy Meter (1.0, 2.0) or Sunny Home Manager 2.0 as the
 * grid meter, from the datagrams it multicasts about once a second to 239.12.255.254:9522
 * (SMA's "EMETER-Protokoll-TI-en-10"). The device is picked by its `serial` (as printed on
 * it; several meters share the group) or, without one, by its address in `host`.
 *
 * Wire format (big-endian):
 *   0  "SMA\0"
 *   4  tag 0x02A0 (length 4): group 0x00000001
 *   12 data length L (counted from 16), tag 0x0010 (SMA Net 2)
 *   16 protocol 0x6069 (energy meter; inverters use 0x6065 on the same group: skipped)
 *   18 SUSy id (2), serial (4), ticker in ms (4)
 *   28 records until 16 + L: channel, index, type, tariff, then a value of `type` bytes:
 *      type 4 a uint32 (current values), type 8 a uint64 (counters); channel 144 (0x90) is
 *      the firmware version (4 bytes: major, minor, build, release letter)
 *   then an end tag 0x00000000.
 * OBIS indices: 1/2 active power + / - in 0.1 W, 1.8/2.8 energy in Ws; per phase 21/22,
 * 41/42, 61/62 (0.1 W), 31/51/71 current (mA), 32/52/72 voltage (mV); 14 frequency (mHz).
 * power_w = (P+ - P-) / 10: + import, our sign.
 *
 * A push device: the datagrams come as they come; states are published at most every
 * poll_interval_s. Datagrams of other meters, other protocols and malformed ones are
 * skipped (malformed ones counted in the log at debug level). */
#include "sma_speedwire.h"

#include "device_kit.h"
#include "devices_internal.h"

#include "balkon/driver.h"
#include "balkon/error.h"
#include "balkon/log.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMA_GROUP "239.12.255.254"
#define SMA_PORT 9522

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

enum sma_em_result sma_em_parse(const uint8_t *data, size_t size, struct sma_em_reading *out)
{
    memset(out, 0, sizeof *out);
    if (size < 18 || memcmp(data, "SMA\0", 4) != 0 || be16(data + 4) != 4 ||
        be16(data + 6) != 0x02A0 || be16(data + 14) != 0x0010)
        return SMA_EM_MALFORMED;
    if (be16(data + 16) != 0x6069)
        return SMA_EM_NOT_EMETER;
    size_t end = 16 + (size_t)be16(data + 12);
    if (size < 28 || end > size || end < 28)
        return SMA_EM_MALFORMED;
    out->susy_id = be16(data + 18);
    out->serial = be32(data + 20);
    out->ticker_ms = be32(data + 24);
    double plus = NAN, minus = NAN, phase_plus[3], phase_minus[3];
    out->import_wh = out->export_wh = out->frequency_hz = NAN;
    for (int i = 0; i < 3; i++)
        phase_plus[i] = phase_minus[i] = out->phase_w[i] = out->voltage_v[i] = out->current_a[i] =
            NAN;
    for (size_t p = 28; p < end;) {
        if (p + 4 > end)
            return SMA_EM_MALFORMED;
        uint8_t channel = data[p], index = data[p + 1], type = data[p + 2];
        p += 4;
        if (channel == 144) { /* the firmware version */
            if (p + 4 > end)
                return SMA_EM_MALFORMED;
            char letter = data[p + 3] >= 'A' && data[p + 3] <= 'Z' ? (char)data[p + 3] : '?';
            snprintf(out->firmware, sizeof out->firmware, "%u.%u.%u.%c", data[p], data[p + 1],
                     data[p + 2], letter);
            p += 4;
            continue;
        }
        if ((type != 4 && type != 8) || p + type > end)
            return SMA_EM_MALFORMED;
        double value = type == 4 ? (double)be32(data + p) : (double)be64(data + p);
        p += type;
        if (type == 8) {
            if (index == 1)
                out->import_wh = value / 3600;
            else if (index == 2)
                out->export_wh = value / 3600;
            continue;
        }
        switch (index) {
        case 1:
            plus = value / 10;
            break;
        case 2:
            minus = value / 10;
            break;
        case 14:
            out->frequency_hz = value / 1000;
            break;
        case 21:
        case 41:
        case 61:
            phase_plus[(index - 21) / 20] = value / 10;
            break;
        case 22:
        case 42:
        case 62:
            phase_minus[(index - 22) / 20] = value / 10;
            break;
        case 31:
        case 51:
        case 71:
            out->current_a[(index - 31) / 20] = value / 1000;
            break;
        case 32:
        case 52:
        case 72:
            out->voltage_v[(index - 32) / 20] = value / 1000;
            break;
        default:
            break;
        }
    }
    out->has_power = !isnan(plus) && !isnan(minus);
    out->grid_w = out->has_power ? plus - minus : NAN;
    for (int i = 0; i < 3; i++)
        out->phase_w[i] = phase_plus[i] - phase_minus[i]; /* NAN when either is missing */
    return SMA_EM_OK;
}

/* --- The driver ------------------------------------------------------------------------- */

struct sma_dev {
    struct dev_kit kit; /* first: the kit's callbacks hand out this pointer */
    uv_udp_t udp;
    uint32_t serial; /* 0: pick by host */
    uint64_t last_publish_ms;
    unsigned long malformed;
    char buf[1500];
};

static void alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct sma_dev *s = handle->data;
    *buf = uv_buf_init(s->buf, sizeof s->buf);
}

static void publish(struct sma_dev *s, const struct sma_em_reading *r)
{
    struct ev_device_state state;
    dev_state_init(&s->kit, &state, NULL, DEVICE_ROLE_METER);
    snprintf(state.model, sizeof state.model, "%s",
             r->susy_id == 372   ? "Sunny Home Manager 2.0"
             : r->susy_id == 349 ? "Energy Meter 2.0"
             : r->susy_id == 270 ? "Energy Meter"
                                 : "SMA energy meter");
    snprintf(state.firmware, sizeof state.firmware, "%s", r->firmware);
    double grid_w = r->grid_w * s->kit.config.power_scale;
    /* A state holds EV_DEVICE_VALUES_MAX (12) values: the totals first, then per phase
     * power and voltage; the phases' currents do not fit and are left out. */
    dev_state_add(&state, "power_w", grid_w);
    if (!isnan(r->import_wh))
        dev_state_add(&state, "energy_wh", r->import_wh);
    if (!isnan(r->export_wh))
        dev_state_add(&state, "energy_export_wh", r->export_wh);
    if (!isnan(r->frequency_hz))
        dev_state_add(&state, "frequency_hz", r->frequency_hz);
    static const char *const power[] = {"power_l1_w", "power_l2_w", "power_l3_w"};
    static const char *const volt[] = {"voltage_l1_v", "voltage_l2_v", "voltage_l3_v"};
    for (int i = 0; i < 3; i++) {
        if (!isnan(r->phase_w[i]))
            dev_state_add(&state, power[i], r->phase_w[i] * s->kit.config.power_scale);
        if (!isnan(r->voltage_v[i]))
            dev_state_add(&state, volt[i], r->voltage_v[i]);
    }
    dev_publish_state(&s->kit, &state);
    dev_publish_meter(&s->kit, NULL, grid_w);
}

static void recv_cb(uv_udp_t *udp, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags)
{
    (void)flags;
    struct sma_dev *s = udp->data;
    if (nread <= 0 || !addr || s->kit.stopping)
        return;
    struct sma_em_reading r;
    enum sma_em_result rc = sma_em_parse((const uint8_t *)buf->base, (size_t)nread, &r);
    if (rc == SMA_EM_MALFORMED) {
        if (s->malformed++ % 1000 == 0)
            balkon_log(BALKON_LOG_DEBUG, "sma", "%s: skipped a malformed Speedwire datagram (%lu)",
                       s->kit.config.id, s->malformed);
        return;
    }
    if (rc != SMA_EM_OK)
        return;
    if (s->serial) {
        if (r.serial != s->serial)
            return; /* another meter */
    } else {
        char from[INET6_ADDRSTRLEN] = "";
        if (addr->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)addr)->sin_addr, from, sizeof from);
        if (strcmp(from, s->kit.config.host) != 0)
            return;
    }
    if (!r.has_power) {
        dev_failed(&s->kit, "serial %u: a datagram without 1.4.0/2.4.0 (active power)", r.serial);
        return;
    }
    uint64_t now_ms = uv_now(s->kit.ctx->loop);
    uint64_t every_ms = (uint64_t)(s->kit.config.poll_interval_s * 1000);
    if (s->last_publish_ms && now_ms - s->last_publish_ms + 50 < every_ms)
        return;
    s->last_publish_ms = now_ms;
    publish(s, &r);
}

static const struct dev_kit_ops OPS = {
    .log_name = "sma",
    .default_port = SMA_PORT,
};

/* Binds the group's port (shared: other programs listen too) and joins the group. */
static int listen_group(struct sma_dev *s, char *msg, size_t msg_size)
{
    int port = s->kit.config.port ? (int)s->kit.config.port : SMA_PORT;
    struct sockaddr_in any;
    uv_ip4_addr("0.0.0.0", port, &any);
    int rc = uv_udp_bind(&s->udp, (const struct sockaddr *)&any, UV_UDP_REUSEADDR);
    if (rc < 0) {
        snprintf(msg, msg_size, "cannot listen on UDP port %d: %s", port, uv_strerror(rc));
        return rc;
    }
    rc = uv_udp_set_membership(&s->udp, SMA_GROUP, NULL, UV_JOIN_GROUP);
    if (rc < 0) {
        snprintf(msg, msg_size, "cannot join the Speedwire group %s: %s", SMA_GROUP,
                 uv_strerror(rc));
        return rc;
    }
    rc = uv_udp_recv_start(&s->udp, alloc_cb, recv_cb);
    if (rc < 0)
        snprintf(msg, msg_size, "cannot receive on UDP port %d: %s", port, uv_strerror(rc));
    return rc;
}

static int sma_start(struct balkon_ctx *ctx, const struct balkon_device_config *config,
                     void **instance, char *msg, size_t msg_size)
{
    struct sma_dev *s = calloc(1, sizeof *s);
    if (!s)
        return BALKON_E_NOMEM;
    struct balkon_device_config copy = *config;
    copy.host[0] = '\0'; /* no HTTP client */
    int rc = dev_kit_start(&s->kit, ctx, &copy, &OPS, msg, msg_size);
    if (rc < 0) {
        free(s);
        return rc;
    }
    s->kit.config = *config;
    s->serial = (uint32_t)strtoul(config->serial, NULL, 10);
    uv_udp_init(ctx->loop, &s->udp);
    s->udp.data = s;
    s->kit.open_handles++;
    char why[160];
    if (listen_group(s, why, sizeof why) < 0)
        dev_failed(&s->kit, "%s", why); /* offline with the reason; the daemon runs on */
    *instance = s;
    return 0;
}

static void sma_reconfigure(void *instance)
{
    struct sma_dev *s = instance;
    dev_kit_reconfigure(&s->kit);
    s->serial = (uint32_t)strtoul(s->kit.config.serial, NULL, 10);
}

static void sma_stop(void *instance)
{
    struct sma_dev *s = instance;
    dev_kit_stop(&s->kit);
    uv_close((uv_handle_t *)&s->udp, dev_kit_handle_closed);
}

const struct dev_driver_ops dev_driver_sma_speedwire = {
    .driver = &balkon_driver_sma_speedwire,
    .start = sma_start,
    .reconfigure = sma_reconfigure,
    .stop = sma_stop,
};
