/* Driver "modbus": any Modbus TCP device, read by the register map in the config's
 * "registers" (grammar in include/balkon/modbus_map.h, e.g. "power_w=40087:int16:sf40091,
 * energy_wh=input:30513:uint32"), on libuv's pool through libmodbus (modbus_io.c).
 *
 * Wire format (Modbus TCP, port 502, unit `unit_id`): function 3 reads holding registers,
 * 4 input registers; registers are big-endian 16-bit words, 32-bit values take two (high
 * word first unless the type says "_sw"); ":sfA" is a SunSpec scale factor, the int16 at
 * holding register A, the value times 10^sf; the "not implemented" markers (0x8000,
 * 0xFFFF, 0x80000000, NaN) leave the value out.
 *
 * Every entry is read at each poll; power_w (times power_scale) is the role's power: the
 * grid reading (+ import) of a meter, + discharge of a battery, the output of an inverter.
 * A poll without power_w fails (the reason in the device's error); other entries that
 * cannot be read are left out. Read-only: the driver takes no commands. */
#include "devices_internal.h"
#include "modbus_io.h"

#include "balkon/driver.h"
#include "balkon/error.h"
#include "balkon/modbus_map.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct modbus_dev {
    struct dev_kit kit; /* first: the kit's callbacks hand out this pointer */
    struct mb_poller poller;
    struct balkon_modbus_map map; /* parsed on the loop before each job, read by the job */
    /* The job's results. */
    double values[BALKON_MODBUS_MAP_MAX];
    bool ok[BALKON_MODBUS_MAP_MAX];
    char why[200]; /* the first failure */
};

/* One entry: its registers, then its scale factor. */
static bool read_entry(struct mb_link *link, const struct balkon_modbus_entry *e, double *out,
                       bool *transport, char *why, size_t why_size)
{
    uint16_t regs[2];
    char problem[160];
    if (mb_read(link, e->table == BALKON_MODBUS_INPUT, e->address,
                (uint16_t)balkon_modbus_type_regs(e->type), regs, transport, problem,
                sizeof problem) < 0) {
        snprintf(why, why_size, "%s: %s", e->name, problem);
        return false;
    }
    double value;
    if (!balkon_modbus_decode(regs, e->type, e->word_swap, &value)) {
        snprintf(why, why_size, "%s: register %u holds the \"not implemented\" marker", e->name,
                 e->address);
        return false;
    }
    if (e->has_sf) {
        uint16_t sf;
        if (mb_read(link, false, e->sf_address, 1, &sf, transport, problem, sizeof problem) < 0) {
            snprintf(why, why_size, "%s's scale factor: %s", e->name, problem);
            return false;
        }
        if (sf == 0x8000 || (int16_t)sf < -10 || (int16_t)sf > 10) {
            snprintf(why, why_size, "%s: scale factor %d at %u is not usable", e->name, (int16_t)sf,
                     e->sf_address);
            return false;
        }
        value *= pow(10, (int16_t)sf);
    }
    *out = value * e->factor;
    return true;
}

static void modbus_work(struct mb_poller *poller)
{
    struct modbus_dev *m = (struct modbus_dev *)poller->kit;
    m->why[0] = '\0';
    for (size_t i = 0; i < m->map.count; i++) {
        bool transport = false;
        char why[200];
        m->ok[i] = read_entry(&poller->link, &m->map.entries[i], &m->values[i], &transport, why,
                              sizeof why);
        if (!m->ok[i] && !m->why[0])
            snprintf(m->why, sizeof m->why, "%s", why);
        if (!m->ok[i] && transport) { /* the link is gone: the rest would wait in vain */
            for (size_t j = i + 1; j < m->map.count; j++)
                m->ok[j] = false;
            return;
        }
    }
}

static bool modbus_done(struct mb_poller *poller)
{
    struct modbus_dev *m = (struct modbus_dev *)poller->kit;
    struct dev_kit *kit = &m->kit;
    unsigned role =
        kit->config.role[0] ? balkon_driver_role_bit(kit->config.role) : DEVICE_ROLE_METER;
    struct ev_device_state state;
    dev_state_init(kit, &state, NULL, role);
    double power_w = NAN;
    for (size_t i = 0; i < m->map.count; i++) {
        if (!m->ok[i])
            continue;
        double value = m->values[i];
        if (strcmp(m->map.entries[i].name, "power_w") == 0)
            value = power_w = value * kit->config.power_scale;
        dev_state_add(&state, m->map.entries[i].name, value);
    }
    if (isnan(power_w)) {
        dev_failed(kit, "%s", m->why[0] ? m->why : "power_w: not read");
        return false;
    }
    dev_publish_state(kit, &state);
    if (role == DEVICE_ROLE_METER)
        dev_publish_meter(kit, NULL, power_w);
    return true;
}

static void modbus_poll(struct dev_kit *kit)
{
    struct modbus_dev *m = (struct modbus_dev *)kit;
    if (m->poller.busy)
        return;
    char why[256];
    if (!balkon_modbus_map_parse(kit->config.registers, &m->map, why, sizeof why)) {
        dev_failed(kit, "registers: %s", why); /* the config check refuses this first */
        return;
    }
    mb_poller_poll(&m->poller);
}

static void modbus_free(struct dev_kit *kit)
{
    struct modbus_dev *m = (struct modbus_dev *)kit;
    mb_poller_free(&m->poller);
    free(m);
}

static const struct dev_kit_ops OPS = {
    .log_name = "modbus",
    .default_port = 502,
    .poll = modbus_poll,
    .free = modbus_free,
};

static int modbus_start(struct balkon_ctx *ctx, const struct balkon_device_config *config,
                        void **instance, char *msg, size_t msg_size)
{
    struct modbus_dev *m = calloc(1, sizeof *m);
    if (!m)
        return BALKON_E_NOMEM;
    m->poller.kit = &m->kit;
    m->poller.work = modbus_work;
    m->poller.done = modbus_done;
    /* Without a host the kit makes no HTTP client, which Modbus does not need. */
    struct balkon_device_config copy = *config;
    copy.host[0] = '\0';
    int rc = dev_kit_start(&m->kit, ctx, &copy, &OPS, msg, msg_size);
    if (rc < 0) {
        free(m);
        return rc;
    }
    m->kit.config = *config;
    *instance = m;
    return 0;
}

static void modbus_reconfigure(void *instance)
{
    struct modbus_dev *m = instance;
    dev_kit_reconfigure(&m->kit);
    m->poller.next_try_ms = 0; /* perhaps fixed: try at once */
}

static void modbus_stop(void *instance)
{
    struct modbus_dev *m = instance;
    dev_kit_stop(&m->kit);
}

const struct dev_driver_ops dev_driver_modbus = {
    .driver = &balkon_driver_modbus,
    .start = modbus_start,
    .reconfigure = modbus_reconfigure,
    .stop = modbus_stop,
};
