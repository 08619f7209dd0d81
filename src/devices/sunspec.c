/* Driver "sunspec": a SunSpec device over Modbus TCP (port 502, unit `unit_id`): a meter,
 * an inverter or a storage, found by walking its models; on libuv's pool through libmodbus
 * (modbus_io.c).
 *
 * Wire format (sunspec.org models, json/model_*.json): holding registers from a base
 * (40000, else 0 or 50000) hold "SunS" (0x5375 0x6E53), then models one after the other:
 * id, length L, L registers of body; id 0xFFFF ends the list. Offsets below are into the
 * body; _SF are int16 scale factors (value × 10^sf); 0x8000 / 0xFFFF mean "not implemented".
 *   1    common      Mn 0 (16 regs, string), Md 16, Opt 32 (8), Vr 40 (8), SN 48 (16)
 *   201-204 meter    A 0, A_SF 4, PhV 5, V_SF 13, Hz 14, Hz_SF 15, W 16, WphA-C 17-19,
 *                    W_SF 20, TotWhExp 36 (acc32), TotWhImp 44 (acc32), TotWh_SF 52
 *   101-103 inverter W 12, W_SF 13
 *   124  storage     ChaState 6 (% of capacity), ChaState_SF 20
 *   713  DER storage WHRtg 0, WHAvail 1, SoC 2, WH_SF 5, Pct_SF 6
 *   802  battery     WHRtg 1, SoC 9, W 45, WHRtg_SF 51, SoC_SF 54, W_SF 61
 * Signs: a meter's W is + when the site draws from the grid (+ import, ours); an 802
 * battery's W is taken as + discharge (the model does not say; power_scale -1 flips both).
 *
 * The role is the config's, or (role "") what the models say: a meter model makes a meter,
 * else a storage model (802, 124, 713) a battery, else an inverter model an inverter. The
 * model list is read at the first poll and again after a failed poll. Read-only. */
#include "devices_internal.h"
#include "modbus_io.h"

#include "balkon/driver.h"
#include "balkon/error.h"
#include "balkon/log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_MODEL 0 /* address 0 never holds a model body (the base is at 0 at the lowest) */

enum { M_METER, M_INVERTER, M_STORAGE, M_DER_STORAGE, M_BATTERY, M_COUNT };

struct found_model {
    uint16_t id;
    uint16_t body;   /* the first body register, NO_MODEL when absent */
    uint16_t length; /* L */
};

struct sunspec {
    struct dev_kit kit; /* first: the kit's callbacks hand out this pointer */
    struct mb_poller poller;
    /* Written by the job, read on the loop after it. */
    bool discovered;
    struct found_model models[M_COUNT];
    char manufacturer[40], model[40], version[24], serial[40];
    unsigned want_role; /* set on the loop before a job: the config's role bit, 0: auto */
    unsigned role;      /* the job's result: the role read, 0 when the poll failed */
    /* The job's values; those with power set are multiplied by power_scale on the loop. */
    size_t count;
    struct {
        char name[24];
        double value;
        bool power;
    } values[12];
    char why[200];
};

static void put(struct sunspec *s, const char *name, double value, bool power)
{
    if (s->count == sizeof s->values / sizeof *s->values)
        return;
    snprintf(s->values[s->count].name, sizeof s->values[s->count].name, "%s", name);
    s->values[s->count].value = value;
    s->values[s->count].power = power;
    s->count++;
}

static void text_of(const uint16_t *regs, int count, char *out, size_t size)
{
    size_t n = 0;
    for (int i = 0; i < count && n + 2 < size; i++) {
        out[n++] = (char)(regs[i] >> 8);
        out[n++] = (char)(regs[i] & 0xff);
    }
    out[n] = '\0';
    n = strlen(out);
    while (n > 0 && (out[n - 1] == ' ' || out[n - 1] < 0x20))
        out[--n] = '\0';
    for (char *c = out; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            *c = '?';
}

static bool read_regs(struct sunspec *s, uint16_t address, uint16_t count, uint16_t *out)
{
    bool transport;
    char why[160];
    if (mb_read(&s->poller.link, false, address, count, out, &transport, why, sizeof why) == 0)
        return true;
    snprintf(s->why, sizeof s->why, "%s", why);
    return false;
}

/* Walks the model list: 40000, 0, 50000 for "SunS", then id/length pairs. */
static bool discover(struct sunspec *s)
{
    static const uint16_t bases[] = {40000, 0, 50000};
    uint16_t regs[68];
    uint16_t base = 0;
    bool found = false;
    for (size_t i = 0; i < sizeof bases / sizeof *bases && !found; i++) {
        bool transport;
        char why[160];
        if (mb_read(&s->poller.link, false, bases[i], 2, regs, &transport, why, sizeof why) < 0) {
            snprintf(s->why, sizeof s->why, "no SunSpec marker: %s", why);
            if (transport)
                return false;
            continue;
        }
        found = regs[0] == 0x5375 && regs[1] == 0x6e53;
        base = bases[i];
    }
    if (!found) {
        snprintf(s->why, sizeof s->why, "no \"SunS\" marker at 40000, 0 or 50000");
        return false;
    }
    memset(s->models, 0, sizeof s->models);
    uint32_t address = (uint32_t)base + 2;
    for (int n = 0; n < 64 && address + 2 <= 65535; n++) {
        if (!read_regs(s, (uint16_t)address, 2, regs))
            return false;
        uint16_t id = regs[0], length = regs[1];
        if (id == 0xFFFF)
            break;
        uint16_t body = (uint16_t)(address + 2);
        int slot = id >= 201 && id <= 204   ? M_METER
                   : id >= 101 && id <= 103 ? M_INVERTER
                   : id == 124              ? M_STORAGE
                   : id == 713              ? M_DER_STORAGE
                   : id == 802              ? M_BATTERY
                                            : -1;
        if (id == 1 && length >= 65) {
            if (!read_regs(s, body, 56, regs))
                return false;
            text_of(regs, 16, s->manufacturer, sizeof s->manufacturer);
            text_of(regs + 16, 16, s->model, sizeof s->model);
            text_of(regs + 40, 8, s->version, sizeof s->version);
            text_of(regs + 48, 8, s->serial, sizeof s->serial);
        }
        if (slot >= 0 && s->models[slot].body == NO_MODEL)
            s->models[slot] = (struct found_model){.id = id, .body = body, .length = length};
        address = (uint32_t)body + length;
    }
    s->discovered = true;
    return true;
}

/* value × 10^sf of an int16 (is_signed) or uint16; false for "not implemented". */
static bool scaled(uint16_t raw, bool is_signed, uint16_t sf, double *out)
{
    if ((is_signed && raw == 0x8000) || (!is_signed && raw == 0xFFFF) || sf == 0x8000 ||
        (int16_t)sf < -10 || (int16_t)sf > 10)
        return false;
    *out = (is_signed ? (int16_t)raw : raw) * pow(10, (int16_t)sf);
    return true;
}

static bool scaled_acc32(const uint16_t *regs, uint16_t sf, double *out)
{
    uint32_t raw = (uint32_t)regs[0] << 16 | regs[1];
    if (raw == 0 || sf == 0x8000 || (int16_t)sf < -10 || (int16_t)sf > 10)
        return false; /* acc32: 0 is "not accumulated" */
    *out = raw * pow(10, (int16_t)sf);
    return true;
}

static bool read_meter(struct sunspec *s, const struct found_model *m)
{
    uint16_t r[53];
    if (m->length < 53) {
        snprintf(s->why, sizeof s->why, "meter model %u is %u registers, not 105", m->id,
                 m->length);
        return false;
    }
    if (!read_regs(s, m->body, 53, r))
        return false;
    double v;
    if (!scaled(r[16], true, r[20], &v)) {
        snprintf(s->why, sizeof s->why, "meter model %u: W is not implemented", m->id);
        return false;
    }
    put(s, "power_w", v, true);
    static const char *const phases[] = {"power_l1_w", "power_l2_w", "power_l3_w"};
    for (int i = 0; i < 3 && m->id != 201; i++)
        if (scaled(r[17 + i], true, r[20], &v))
            put(s, phases[i], v, true);
    if (scaled(r[5], true, r[13], &v))
        put(s, "voltage_v", v, false);
    if (scaled(r[14], true, r[15], &v))
        put(s, "frequency_hz", v, false);
    if (scaled_acc32(&r[44], r[52], &v))
        put(s, "energy_wh", v, false);
    if (scaled_acc32(&r[36], r[52], &v))
        put(s, "energy_export_wh", v, false);
    return true;
}

static bool read_battery(struct sunspec *s)
{
    uint16_t r[62];
    double v;
    bool soc = false, power = false;
    const struct found_model *b = &s->models[M_BATTERY];
    if (b->body != NO_MODEL && b->length >= 62) {
        if (!read_regs(s, b->body, 62, r))
            return false;
        if ((soc = scaled(r[9], false, r[54], &v)))
            put(s, "soc_pct", v, false);
        if ((power = scaled(r[45], true, r[61], &v)))
            put(s, "power_w", v, true);
        if (scaled(r[1], false, r[51], &v))
            put(s, "capacity_wh", v, false);
    }
    const struct found_model *d = &s->models[M_DER_STORAGE];
    if (!soc && d->body != NO_MODEL && d->length >= 7) {
        if (!read_regs(s, d->body, 7, r))
            return false;
        if ((soc = scaled(r[2], false, r[6], &v)))
            put(s, "soc_pct", v, false);
        if (scaled(r[0], false, r[5], &v))
            put(s, "capacity_wh", v, false);
        if (scaled(r[1], false, r[5], &v))
            put(s, "stored_wh", v, false);
    }
    const struct found_model *st = &s->models[M_STORAGE];
    if (!soc && st->body != NO_MODEL && st->length >= 21) {
        if (!read_regs(s, st->body, 21, r))
            return false;
        if ((soc = scaled(r[6], false, r[20], &v)))
            put(s, "soc_pct", v, false);
    }
    if (!soc && !power) {
        snprintf(s->why, sizeof s->why,
                 "no state of charge or power in the storage models (124, 713, 802)");
        return false;
    }
    return true;
}

static bool read_inverter(struct sunspec *s)
{
    const struct found_model *m = &s->models[M_INVERTER];
    uint16_t r[14];
    double v;
    if (m->length < 14 || !read_regs(s, m->body, 14, r))
        return false;
    if (!scaled(r[12], true, r[13], &v)) {
        snprintf(s->why, sizeof s->why, "inverter model %u: W is not implemented", m->id);
        return false;
    }
    put(s, "power_w", v, true);
    return true;
}

static unsigned auto_role(const struct sunspec *s)
{
    if (s->models[M_METER].body != NO_MODEL)
        return DEVICE_ROLE_METER;
    if (s->models[M_BATTERY].body != NO_MODEL || s->models[M_STORAGE].body != NO_MODEL ||
        s->models[M_DER_STORAGE].body != NO_MODEL)
        return DEVICE_ROLE_BATTERY;
    if (s->models[M_INVERTER].body != NO_MODEL)
        return DEVICE_ROLE_INVERTER;
    return 0;
}

static void sunspec_work(struct mb_poller *poller)
{
    struct sunspec *s = (struct sunspec *)poller->kit;
    s->why[0] = '\0';
    s->role = 0;
    if (!s->discovered && !discover(s))
        return;
    unsigned role = s->want_role ? s->want_role : auto_role(s);
    bool ok;
    s->count = 0;
    if (role == DEVICE_ROLE_METER && s->models[M_METER].body != NO_MODEL)
        ok = read_meter(s, &s->models[M_METER]);
    else if (role == DEVICE_ROLE_BATTERY)
        ok = read_battery(s);
    else if (role == DEVICE_ROLE_INVERTER && s->models[M_INVERTER].body != NO_MODEL)
        ok = read_inverter(s);
    else {
        snprintf(s->why, sizeof s->why,
                 "no SunSpec model for a%s %s (models: meter %u, "
                 "inverter %u, storage %u/%u/%u)",
                 role == DEVICE_ROLE_INVERTER ? "n" : "",
                 role == DEVICE_ROLE_METER      ? "meter"
                 : role == DEVICE_ROLE_INVERTER ? "inverter"
                 : role == DEVICE_ROLE_BATTERY  ? "battery"
                                                : "device",
                 s->models[M_METER].id, s->models[M_INVERTER].id, s->models[M_STORAGE].id,
                 s->models[M_DER_STORAGE].id, s->models[M_BATTERY].id);
        ok = false;
    }
    if (ok)
        s->role = role;
    else
        s->discovered = false; /* perhaps another device now: walk the models again */
}

static bool sunspec_done(struct mb_poller *poller)
{
    struct sunspec *s = (struct sunspec *)poller->kit;
    if (!s->role) {
        dev_failed(&s->kit, "%s", s->why[0] ? s->why : "no reading");
        return false;
    }
    struct ev_device_state state;
    dev_state_init(&s->kit, &state, NULL, s->role);
    snprintf(state.model, sizeof state.model, "%.20s %.26s", s->manufacturer, s->model);
    snprintf(state.firmware, sizeof state.firmware, "%s", s->version);
    double power_w = NAN;
    for (size_t i = 0; i < s->count; i++) {
        double value = s->values[i].value * (s->values[i].power ? s->kit.config.power_scale : 1);
        if (strcmp(s->values[i].name, "power_w") == 0)
            power_w = value;
        dev_state_add(&state, s->values[i].name, value);
    }
    dev_publish_state(&s->kit, &state);
    if (s->role == DEVICE_ROLE_METER)
        dev_publish_meter(&s->kit, NULL, power_w);
    return true;
}

static void sunspec_poll(struct dev_kit *kit)
{
    struct sunspec *s = (struct sunspec *)kit;
    if (s->poller.busy)
        return;
    s->want_role = kit->config.role[0] ? balkon_driver_role_bit(kit->config.role) : 0;
    mb_poller_poll(&s->poller);
}

static void sunspec_free(struct dev_kit *kit)
{
    struct sunspec *s = (struct sunspec *)kit;
    mb_poller_free(&s->poller);
    free(s);
}

static const struct dev_kit_ops OPS = {
    .log_name = "sunspec",
    .default_port = 502,
    .poll = sunspec_poll,
    .free = sunspec_free,
};

static int sunspec_start(struct balkon_ctx *ctx, const struct balkon_device_config *config,
                         void **instance, char *msg, size_t msg_size)
{
    struct sunspec *s = calloc(1, sizeof *s);
    if (!s)
        return BALKON_E_NOMEM;
    s->poller.kit = &s->kit;
    s->poller.work = sunspec_work;
    s->poller.done = sunspec_done;
    struct balkon_device_config copy = *config;
    copy.host[0] = '\0'; /* no HTTP client */
    int rc = dev_kit_start(&s->kit, ctx, &copy, &OPS, msg, msg_size);
    if (rc < 0) {
        free(s);
        return rc;
    }
    s->kit.config = *config;
    *instance = s;
    return 0;
}

static void sunspec_reconfigure(void *instance)
{
    struct sunspec *s = instance;
    dev_kit_reconfigure(&s->kit);
    s->poller.next_try_ms = 0;
    if (!s->poller.busy)
        s->discovered = false; /* another host or unit perhaps */
}

static void sunspec_stop(void *instance)
{
    struct sunspec *s = instance;
    dev_kit_stop(&s->kit);
}

const struct dev_driver_ops dev_driver_sunspec = {
    .driver = &balkon_driver_sunspec,
    .start = sunspec_start,
    .reconfigure = sunspec_reconfigure,
    .stop = sunspec_stop,
};
