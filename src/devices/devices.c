/* The devices module: starts one driver instance per configured device and passes config
 * reloads on. A device that fails to start is logged and left out; the others run. */
#include "balkon/driver.h"

#include "balkon/bus.h"
#include "balkon/config.h"
#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/module.h"

#include <stdlib.h>
#include <string.h>

#define BALKON_DRIVER(name) extern const struct balkon_driver name;
#include "devices_list.h"
#undef BALKON_DRIVER

static const struct balkon_driver *const drivers[] = {
#define BALKON_DRIVER(name) &name,
#include "devices_list.h"
#undef BALKON_DRIVER
};
#define DRIVER_COUNT (sizeof drivers / sizeof drivers[0])

const struct balkon_driver *balkon_driver_find(const char *type)
{
    for (size_t i = 0; i < DRIVER_COUNT; i++)
        if (strcmp(drivers[i]->type, type) == 0)
            return drivers[i];
    return NULL;
}

void balkon_driver_list_types(char *out, size_t size)
{
    out[0] = '\0';
    for (size_t i = 0; i < DRIVER_COUNT; i++) {
        size_t len = strlen(out);
        snprintf(out + len, size - len, "%s\"%s\"", i ? ", " : "", drivers[i]->type);
    }
}

struct running_device {
    const struct balkon_driver *driver;
    void *instance;
};

struct devices {
    struct balkon_ctx *ctx;
    struct running_device items[BALKON_MAX_DEVICES];
    size_t count;
};

static void on_config_changed(enum bus_event event, const void *payload, void *user)
{
    struct devices *devices = user;
    for (size_t i = 0; i < devices->count; i++)
        if (devices->items[i].driver->reconfigure)
            devices->items[i].driver->reconfigure(devices->items[i].instance);
}

static int devices_start(struct balkon_ctx *ctx, void **state)
{
    struct devices *devices = calloc(1, sizeof *devices);
    if (!devices)
        return BALKON_E_NOMEM;
    devices->ctx = ctx;
    for (size_t i = 0; i < ctx->config->devices.count; i++) {
        const struct balkon_device_config *device = &ctx->config->devices.items[i];
        const struct balkon_driver *driver = balkon_driver_find(device->type);
        char msg[256] = "";
        void *instance = NULL;
        int rc = driver ? driver->start(ctx, device, &instance, msg, sizeof msg) : BALKON_E_INVAL;
        if (rc < 0) {
            log_error("devices", "devices[%zu] (%s): not started: %s", i, device->id,
                      msg[0] ? msg : balkon_strerror(rc));
            continue;
        }
        devices->items[devices->count++] = (struct running_device){driver, instance};
        log_info("devices", "%s: started (%s)", device->id, driver->description);
    }
    int rc = balkon_bus_subscribe(ctx->bus, BUS_EV_CONFIG_CHANGED, on_config_changed, devices);
    if (rc < 0) {
        for (size_t i = 0; i < devices->count; i++)
            devices->items[i].driver->stop(devices->items[i].instance);
        free(devices);
        return rc;
    }
    *state = devices;
    return 0;
}

static void devices_stop(void *state)
{
    struct devices *devices = state;
    balkon_bus_unsubscribe(devices->ctx->bus, BUS_EV_CONFIG_CHANGED, on_config_changed, devices);
    for (size_t i = 0; i < devices->count; i++)
        devices->items[i].driver->stop(devices->items[i].instance);
    devices->count = 0;
}

const struct balkon_module balkon_module_devices = {
    .name = "devices",
    .start = devices_start,
    .stop = devices_stop,
    .free = free,
};
