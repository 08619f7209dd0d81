/* The devices.test service: one reading of a device that is not (yet) in the config, for
 * the setup UI's Test button.
 *
 * The device's own driver runs as it would in the daemon, but in a context of its own: the
 * same loop, clock and MQTT client, and a private bus. So its states and errors reach
 * only this file, never the API's device list, the recorder or the control. The first
 * state reported online ends the test (its model, firmware and values are the answer), as
 * does the first error or the timeout. Then the driver is stopped; its context stays a
 * little longer ("linger"), since the driver's handles close after its stop returns. */
#include "device_test.h"

#include "devices_internal.h"

#include "balkon/bus.h"
#include "balkon/config_types.h"
#include "balkon/driver.h"
#include "balkon/error.h"
#include "balkon/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long a stopped driver's context is kept: its handles are closed within a loop turn,
 * its HTTP client's cancelled transfers within a few. */
#define LINGER_MS 1000

struct dev_test {
    struct dev_tests *owner;
    struct dev_test *next;
    struct balkon_ctx ctx; /* private: bus of its own, no store, no services */
    const struct dev_driver_ops *driver;
    void *instance;
    char device_id[BALKON_ID_MAX];
    dev_test_done_fn done; /* NULL once called or cancelled */
    void *user;
    uv_timer_t timer; /* the timeout, then the linger */
    double timeout_s;
    bool stopped;        /* done was called (or cancelled): the test has its answer */
    bool driver_stopped; /* the driver's stop ran */
};

struct dev_tests {
    struct dev_test *first;
};

struct dev_tests *dev_tests_new(void)
{
    return calloc(1, sizeof(struct dev_tests));
}

static void timer_closed_cb(uv_handle_t *handle)
{
    struct dev_test *test = handle->data;
    balkon_bus_free(test->ctx.bus);
    free(test);
}

static void unlink_test(struct dev_test *test)
{
    struct dev_test **link = &test->owner->first;
    while (*link && *link != test)
        link = &(*link)->next;
    if (*link)
        *link = test->next;
}

static void linger_cb(uv_timer_t *timer)
{
    struct dev_test *test = timer->data;
    unlink_test(test);
    uv_close((uv_handle_t *)timer, timer_closed_cb);
}

static void on_state(enum bus_event event, const void *payload, void *user);
static void on_error(enum bus_event event, const void *payload, void *user);

static const struct bus_subscription subscriptions[] = {
    {BUS_EV_DEVICE_STATE, on_state},
    {BUS_EV_DEVICE_ERROR, on_error},
};
#define SUBSCRIPTION_COUNT (sizeof subscriptions / sizeof subscriptions[0])

static void stop_driver(struct dev_test *test)
{
    if (test->driver_stopped)
        return;
    test->driver_stopped = true;
    balkon_bus_unsubscribe_all(test->ctx.bus, subscriptions, SUBSCRIPTION_COUNT, test);
    test->driver->stop(test->instance);
}

/* The driver stops on the loop's next turn: finish runs inside the driver's own publish. */
static void stop_cb(uv_timer_t *timer)
{
    struct dev_test *test = timer->data;
    stop_driver(test);
    uv_timer_start(&test->timer, linger_cb, LINGER_MS, 0);
}

/* Ends the test (once): tells the caller, then stops the driver and lingers. */
static void finish(struct dev_test *test, const struct ev_device_state *state, const char *error,
                   const char *error_code)
{
    if (test->stopped)
        return;
    test->stopped = true;
    dev_test_done_fn done = test->done;
    test->done = NULL;
    if (done)
        done(test->user, state, error, error_code);
    uv_timer_stop(&test->timer);
    uv_timer_start(&test->timer, stop_cb, 0, 0);
}

static void on_state(enum bus_event event, const void *payload, void *user)
{
    const struct ev_device_state *state = payload;
    if (state->online)
        finish(user, state, NULL, NULL);
    else if (state->error[0])
        finish(user, NULL, state->error, state->error_code[0] ? state->error_code : "failed");
}

static void on_error(enum bus_event event, const void *payload, void *user)
{
    const struct ev_device_error *error = payload;
    finish(user, NULL, error->detail, error->code[0] ? error->code : "failed");
}

static void timeout_cb(uv_timer_t *timer)
{
    struct dev_test *test = timer->data;
    char why[64];
    snprintf(why, sizeof why, "no answer within %g s", test->timeout_s);
    finish(test, NULL, why, "timeout");
}

/* The driver starts on the next loop turn, so done never comes from inside dev_test_start
 * (a driver may publish at once). */
static void start_cb(uv_timer_t *timer)
{
    struct dev_test *test = timer->data;
    uv_timer_start(&test->timer, timeout_cb, (uint64_t)(test->timeout_s * 1000), 0);
}

int dev_test_start(struct dev_tests *tests, const struct balkon_ctx *ctx,
                   const struct balkon_device_config *device, double timeout_s,
                   dev_test_done_fn done, void *user, char *msg, size_t msg_size)
{
    const struct dev_driver_ops *driver = dev_driver_find(device->type);
    if (!driver) {
        snprintf(msg, msg_size, "unknown device type \"%s\"", device->type);
        return BALKON_E_INVAL;
    }
    struct dev_test *test = calloc(1, sizeof *test);
    struct balkon_bus *bus = balkon_bus_new();
    if (!test || !bus) {
        free(test);
        balkon_bus_free(bus);
        snprintf(msg, msg_size, "out of memory");
        return BALKON_E_NOMEM;
    }
    test->owner = tests;
    test->ctx = *ctx;
    test->ctx.bus = bus;
    test->ctx.store = NULL;
    test->ctx.readers = NULL;
    test->ctx.services = NULL;
    test->driver = driver;
    test->done = done;
    test->user = user;
    test->timeout_s = timeout_s;
    snprintf(test->device_id, sizeof test->device_id, "%s", device->id);
    int rc = balkon_bus_subscribe_all(bus, subscriptions, SUBSCRIPTION_COUNT, test);
    if (rc == 0)
        rc = driver->start(&test->ctx, device, &test->instance, msg, msg_size);
    if (rc < 0) {
        if (!msg[0])
            snprintf(msg, msg_size, "%s", balkon_strerror(rc));
        balkon_bus_free(bus);
        free(test);
        return rc;
    }
    uv_timer_init(ctx->loop, &test->timer);
    test->timer.data = test;
    uv_timer_start(&test->timer, start_cb, 0, 0);
    test->next = tests->first;
    tests->first = test;
    log_info("devices", "testing a %s device at \"%s\"", device->type, device->host);
    return 0;
}

void dev_tests_cancel(struct dev_tests *tests, void *user)
{
    for (struct dev_test *test = tests->first; test; test = test->next)
        if (test->user == user)
            test->done = NULL;
}

void dev_tests_stop(struct dev_tests *tests)
{
    struct dev_test *test = tests->first;
    while (test) {
        struct dev_test *next = test->next;
        finish(test, NULL, "the daemon is stopping", "failed");
        /* Not inside a driver's callback here: the driver stops now, and the linger ends
         * on the loop's next turn, after the driver's handles closed. */
        stop_driver(test);
        uv_timer_start(&test->timer, linger_cb, 0, 0);
        test = next;
    }
}

void dev_tests_free(struct dev_tests *tests)
{
    free(tests);
}
