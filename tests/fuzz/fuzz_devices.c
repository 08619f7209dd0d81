/* libFuzzer target: the device reply parsers.
 *
 * Input: byte 0 picks the driver (or dev_json_path itself), byte 1 the handler, config
 * variant and HTTP status, the rest is the reply body. For dev_json_path the body's first
 * line is the path and the rest the JSON. See fuzz_devices.h for how the drivers' static
 * handlers are reached. */
#include "fuzz_devices.h"

#include "balkon/bus.h"
#include "balkon/log.h"
#include "device_kit.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* Counts what the handlers publish, so a handler that parses but never publishes shows
 * up in a debugger; the counts are not checked. */
static unsigned long published;

static void count_cb(enum bus_event event, const void *payload, void *user)
{
    (void)event;
    (void)payload;
    (void)user;
    published++;
}

static struct balkon_ctx *fuzz_ctx(void)
{
    static uv_loop_t loop;
    static struct balkon_ctx ctx;
    static struct balkon_config config;
    if (ctx.bus)
        return &ctx;
    uv_loop_init(&loop);
    balkon_config_defaults(&config);
    ctx.loop = &loop;
    ctx.bus = balkon_bus_new();
    ctx.config = &config;
    balkon_clock_init(&ctx.clock, 1, 0);
    balkon_bus_subscribe(ctx.bus, BUS_EV_DEVICE_STATE, count_cb, NULL);
    balkon_bus_subscribe(ctx.bus, BUS_EV_METER_READING, count_cb, NULL);
    balkon_bus_subscribe(ctx.bus, BUS_EV_DEVICE_ERROR, count_cb, NULL);
    return &ctx;
}

void fuzz_dev_config(struct balkon_device_config *config, const char *type, unsigned selector)
{
    static const char *const roles[] = {"meter", "plug", "inverter", "battery"};
    static const char *const power_keys[] = {
        "", "power", "emeters[0].power", "ENERGY.Power", "StatusSNS.SML.Power", "a.b[2].c"};
    memset(config, 0, sizeof *config);
    snprintf(config->id, sizeof config->id, "dev");
    snprintf(config->type, sizeof config->type, "%s", type);
    snprintf(config->role, sizeof config->role, "%s", roles[(selector >> 2) % 4]);
    snprintf(config->power_key, sizeof config->power_key, "%s", power_keys[(selector >> 4) % 6]);
    snprintf(config->soc_key, sizeof config->soc_key, "soc");
    snprintf(config->state_key, sizeof config->state_key, "%s", selector & 0x40 ? "on" : "");
    snprintf(config->serial, sizeof config->serial, "116180000001");
    snprintf(config->product_key, sizeof config->product_key, "73bkTV");
    snprintf(config->topic, sizeof config->topic, "solar");
    snprintf(config->path, sizeof config->path, "/status");
    config->channel = (selector >> 6) & 1;
    config->power_scale = 1;
    config->poll_interval_s = 5;
    config->timeout_s = 3;
    config->max_power_w = 800;
}

struct balkon_http_result fuzz_dev_result(const struct fuzz_dev_input *in)
{
    struct balkon_http_result result = {
        .status = 200, .body = in->body, .body_size = in->size, .retry_after_s = -1};
    if ((in->selector & 0x83) == 0x83) {
        result.status = 0;
        result.transport_error = 28;
        snprintf(result.error, sizeof result.error, "Timeout was reached");
    } else if (in->selector & 0x80) {
        static const long statuses[] = {401, 404, 500, 503};
        result.status = statuses[in->selector & 3];
    }
    return result;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    balkon_log_set_level((enum balkon_log_level)0); /* the handlers' log lines are noise here */
    return 0;
}

static void fuzz_json_path(const char *text, size_t size)
{
    const char *newline = memchr(text, '\n', size);
    if (!newline)
        return;
    char *path = strndup(text, (size_t)(newline - text));
    cJSON *json = cJSON_ParseWithLength(newline + 1, size - (size_t)(newline + 1 - text));
    if (path && json) {
        double value;
        (void)dev_json_path(json, path);
        (void)dev_json_number(json, path, &value);
    }
    cJSON_Delete(json);
    free(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static void (*const drivers[])(const struct fuzz_dev_input *) = {
        fuzz_dev_shelly_gen1, fuzz_dev_shelly_gen2,   fuzz_dev_tasmota,   fuzz_dev_opendtu,
        fuzz_dev_zendure,     fuzz_dev_marstek_venus, fuzz_dev_http_json, fuzz_dev_mqtt_json,
    };
    const size_t count = sizeof drivers / sizeof *drivers;
    if (size < 2)
        return 0;
    char *body = malloc(size - 2 + 1);
    if (!body)
        return 0;
    memcpy(body, data + 2, size - 2);
    body[size - 2] = '\0';
    struct fuzz_dev_input in = {
        .ctx = fuzz_ctx(), .selector = data[1], .body = body, .size = size - 2};
    if (data[0] % (count + 1) == count)
        fuzz_json_path(body, in.size);
    else
        drivers[data[0] % (count + 1)](&in);
    free(body);
    return 0;
}
