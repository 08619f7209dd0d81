/* The devices module: starts one driver instance per configured device and passes config
 * reloads on. A device that fails to start is logged and left out; the others run. */
#include "balkon/driver.h"

#include "device_test.h"
#include "devices_internal.h"

#include "balkon/bus.h"
#include "balkon/config.h"
#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/module.h"
#include "balkon/services.h"
#include "balkon/detect.h"
#include "balkon/store.h"

#include <stdio.h>

#include <stdlib.h>
#include <string.h>

#define BALKON_DRIVER(name) extern const struct dev_driver_ops dev_driver_##name;
#include "balkon/drivers_list.h"
#undef BALKON_DRIVER

static const struct dev_driver_ops *const drivers[] = {
#define BALKON_DRIVER(name) &dev_driver_##name,
#include "balkon/drivers_list.h"
#undef BALKON_DRIVER
};

const struct dev_driver_ops *dev_driver_find(const char *type)
{
    for (size_t i = 0; i < sizeof drivers / sizeof drivers[0]; i++)
        if (strcmp(drivers[i]->driver->type, type) == 0)
            return drivers[i];
    return NULL;
}

struct running_device {
    const struct dev_driver_ops *driver;
    void *instance;
    char id[32]; /* the config id; the instance's devices are "id" or "id-<part>" */
};

struct devices {
    struct balkon_ctx *ctx;
    struct availability *availability;
    struct running_device items[BALKON_MAX_DEVICES];
    size_t count;
    struct dev_tests *tests; /* the devices.test service's readings (device_test.c) */
};

static const struct balkon_device_config *configured(const struct balkon_config *config,
                                                     const char *id)
{
    for (size_t i = 0; i < config->devices.count; i++)
        if (strcmp(config->devices.items[i].id, id) == 0)
            return &config->devices.items[i];
    return NULL;
}

static void start_device(struct devices *devices, size_t index,
                         const struct balkon_device_config *device)
{
    const struct dev_driver_ops *driver = dev_driver_find(device->type);
    char msg[256] = "";
    void *instance = NULL;
    int rc =
        driver ? driver->start(devices->ctx, device, &instance, msg, sizeof msg) : BALKON_E_INVAL;
    if (rc < 0) {
        log_error("devices", "devices[%zu] (%s): not started: %s", index, device->id,
                  msg[0] ? msg : balkon_strerror(rc));
        return;
    }
    struct running_device *running = &devices->items[devices->count++];
    *running = (struct running_device){.driver = driver, .instance = instance};
    snprintf(running->id, sizeof running->id, "%s", device->id);
    log_info("devices", "%s: started (%s)", device->id, driver->driver->description);
}

/* A reload stops the devices that are gone or changed type, reconfigures the others and
 * starts the new ones. */
static void on_config_changed(enum bus_event event, const void *payload, void *user)
{
    struct devices *devices = user;
    const struct balkon_config *config = devices->ctx->config;
    size_t kept = 0;
    for (size_t i = 0; i < devices->count; i++) {
        struct running_device *running = &devices->items[i];
        const struct balkon_device_config *device = configured(config, running->id);
        if (!device || strcmp(device->type, running->driver->driver->type) != 0) {
            log_info("devices", "%s: stopped (%s)", running->id,
                     device ? "type changed" : "removed from the config");
            running->driver->stop(running->instance);
            continue;
        }
        if (running->driver->reconfigure)
            running->driver->reconfigure(running->instance);
        devices->items[kept++] = *running;
    }
    devices->count = kept;
    for (size_t i = 0; i < config->devices.count; i++) {
        bool running = false;
        for (size_t j = 0; j < devices->count && !running; j++)
            running = strcmp(devices->items[j].id, config->devices.items[i].id) == 0;
        if (!running)
            start_device(devices, i, &config->devices.items[i]);
    }
    availability_reconfigure(devices->availability);
}

static struct running_device *owner_of(struct devices *devices, const char *device_id)
{
    for (size_t i = 0; i < devices->count; i++) {
        size_t len = strlen(devices->items[i].id);
        if (strncmp(device_id, devices->items[i].id, len) == 0 &&
            (device_id[len] == '\0' || device_id[len] == '-'))
            return &devices->items[i];
    }
    return NULL;
}

/* The devices.command service: a command goes to the driver instance that owns the
 * device; a refusal is published as a result too, for the command log and the dashboard. */
static int command_service(void *self, const struct device_command *command, char *msg,
                           size_t msg_size)
{
    struct devices *devices = self;
    struct running_device *owner = owner_of(devices, command->device_id);
    char why[128] = "";
    int rc = BALKON_E_NOTFOUND;
    if (!owner) {
        snprintf(why, sizeof why, "no such device");
    } else if (!owner->driver->command) {
        rc = BALKON_E_INVAL;
        snprintf(why, sizeof why, "this device takes no commands");
    } else {
        rc = owner->driver->command(owner->instance, command, why, sizeof why);
        if (rc >= 0)
            return 0;
        if (!why[0])
            snprintf(why, sizeof why, "refused");
    }
    snprintf(msg, msg_size, "%s", why);
    struct ev_command_result result = balkon_command_result(command, false, why);
    balkon_bus_publish(devices->ctx->bus, BUS_EV_COMMAND_RESULT, &result);
    return rc;
}

/* Every command's outcome goes into the command log. */
static void on_result(enum bus_event event, const void *payload, void *user)
{
    struct devices *devices = user;
    const struct ev_command_result *result = payload;
    struct balkon_command_record record = {.ts_ms = balkon_clock_now_ms(&devices->ctx->clock)};
    snprintf(record.device_id, sizeof record.device_id, "%s", result->device_id);
    snprintf(record.command, sizeof record.command, "%s", result->command);
    snprintf(record.value, sizeof record.value, "%g", result->value);
    snprintf(record.result, sizeof record.result, "%s", result->ok ? "ok" : result->detail);
    snprintf(record.source, sizeof record.source, "%s", result->source);
    record.request_id = result->request_id;
    if (balkon_store_command_log(devices->ctx->store, &record) < 0)
        log_warn("devices", "cannot log a command: %s", balkon_store_errmsg(devices->ctx->store));
    if (!result->ok)
        log_warn("devices", "%s: %s %g failed: %s", result->device_id, result->command,
                 result->value, result->detail);
}

static int test_service(void *self, const struct balkon_device_config *device, double timeout_s,
                        dev_test_done_fn done, void *user, char *msg, size_t msg_size)
{
    struct devices *devices = self;
    return dev_test_start(devices->tests, devices->ctx, device, timeout_s, done, user, msg,
                          msg_size);
}

static void cancel_service(void *self, void *user)
{
    struct devices *devices = self;
    dev_tests_cancel(devices->tests, user);
}

static const struct bus_subscription subscriptions[] = {
    {BUS_EV_CONFIG_CHANGED, on_config_changed},
    {BUS_EV_COMMAND_RESULT, on_result},
};
#define SUBSCRIPTION_COUNT (sizeof subscriptions / sizeof subscriptions[0])

static int devices_start(struct balkon_ctx *ctx, void **state)
{
    struct devices *devices = calloc(1, sizeof *devices);
    if (!devices)
        return BALKON_E_NOMEM;
    devices->ctx = ctx;
    devices->tests = dev_tests_new();
    devices->availability = devices->tests ? availability_start(ctx) : NULL;
    if (!devices->availability) {
        dev_tests_free(devices->tests);
        free(devices);
        return BALKON_E_NOMEM;
    }
    for (size_t i = 0; i < ctx->config->devices.count; i++)
        start_device(devices, i, &ctx->config->devices.items[i]);
    int rc = balkon_bus_subscribe_all(ctx->bus, subscriptions, SUBSCRIPTION_COUNT, devices);
    if (rc < 0) {
        for (size_t i = 0; i < devices->count; i++)
            devices->items[i].driver->stop(devices->items[i].instance);
        availability_stop(devices->availability);
        dev_tests_free(devices->tests);
        free(devices);
        return rc;
    }
    if (ctx->services) {
        ctx->services->devices.command = command_service;
        ctx->services->devices.test = test_service;
        ctx->services->devices.cancel = cancel_service;
        ctx->services->devices.self = devices;
        ctx->services->detect.run = balkon_detect_run;
        ctx->services->detect.browse = balkon_detect_browse;
    }
    *state = devices;
    return 0;
}

static void devices_stop(void *state)
{
    struct devices *devices = state;
    if (devices->ctx->services) {
        devices->ctx->services->devices.self = NULL;
        devices->ctx->services->detect.run = NULL;
        devices->ctx->services->detect.browse = NULL;
    }
    balkon_bus_unsubscribe_all(devices->ctx->bus, subscriptions, SUBSCRIPTION_COUNT, devices);
    for (size_t i = 0; i < devices->count; i++)
        devices->items[i].driver->stop(devices->items[i].instance);
    devices->count = 0;
    dev_tests_stop(devices->tests);
    availability_stop(devices->availability);
    devices->availability = NULL;
}

static void devices_free(void *state)
{
    struct devices *devices = state;
    if (devices)
        dev_tests_free(devices->tests);
    free(devices);
}

const struct balkon_module balkon_module_devices = {
    .name = "devices",
    .start = devices_start,
    .stop = devices_stop,
    .free = devices_free,
};
