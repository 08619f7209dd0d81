/* What the fuzz_devices target shares with its per-driver parts (tests/fuzz/devices/).
 *
 * Each part includes its driver's .c file, so it reaches the driver's static reply handlers
 * (the HTTP callbacks and MQTT message handlers that parse a device's answer) and calls
 * them on a driver instance whose kit has a real bus and clock but no HTTP client and no
 * MQTT client: a follow-up request the handler makes fails at once (dev_http returns
 * BALKON_E_INVAL), so one input exercises exactly one reply. */
#ifndef BALKON_FUZZ_DEVICES_H
#define BALKON_FUZZ_DEVICES_H

#include "balkon/config.h"
#include "balkon/http_client.h"
#include "balkon/module.h"

#include <stddef.h>
#include <stdint.h>

/* One input: which handler (and config variant), and the reply's bytes. body is
 * NUL-terminated at body[size], as libcurl's and libmosquitto's buffers are. */
struct fuzz_dev_input {
    struct balkon_ctx *ctx;
    unsigned selector;
    const char *body;
    size_t size;
};

/* A config for driver type: the role, keys and channel vary with the selector. */
void fuzz_dev_config(struct balkon_device_config *config, const char *type, unsigned selector);
/* The HTTP answer: 200 mostly, sometimes an error status or a transport error. */
struct balkon_http_result fuzz_dev_result(const struct fuzz_dev_input *in);

void fuzz_dev_shelly_gen1(const struct fuzz_dev_input *in);
void fuzz_dev_shelly_gen2(const struct fuzz_dev_input *in);
void fuzz_dev_tasmota(const struct fuzz_dev_input *in);
void fuzz_dev_opendtu(const struct fuzz_dev_input *in);
void fuzz_dev_zendure(const struct fuzz_dev_input *in);
void fuzz_dev_marstek_venus(const struct fuzz_dev_input *in);
void fuzz_dev_http_json(const struct fuzz_dev_input *in);
void fuzz_dev_mqtt_json(const struct fuzz_dev_input *in);

#endif
