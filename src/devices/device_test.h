/* One reading of a device outside the config (device_test.c), behind devices.test. */
#ifndef BALKON_DEVICE_TEST_H
#define BALKON_DEVICE_TEST_H

#include "balkon/module.h"

#include <stddef.h>

struct balkon_device_config;
struct ev_device_state;
struct dev_tests;

typedef void (*dev_test_done_fn)(void *user, const struct ev_device_state *state, const char *error,
                                 const char *error_code);

/* NULL when out of memory. */
struct dev_tests *dev_tests_new(void);
/* See devices.test in include/balkon/services.h. */
int dev_test_start(struct dev_tests *tests, const struct balkon_ctx *ctx,
                   const struct balkon_device_config *device, double timeout_s,
                   dev_test_done_fn done, void *user, char *msg, size_t msg_size);
/* done never comes for user's tests. */
void dev_tests_cancel(struct dev_tests *tests, void *user);
/* Ends every test (done with an error) and closes their handles within a loop turn. */
void dev_tests_stop(struct dev_tests *tests);
/* After dev_tests_stop and the loop's end. Accepts NULL. */
void dev_tests_free(struct dev_tests *tests);

#endif
