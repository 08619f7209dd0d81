/* A generic HTTP JSON device (type "http_json"): anything that answers a GET with JSON
 * holding its power, e.g. an SML reading head, a home-made ESP sensor, another program's API.
 *
 * Wire format: GET http://host:port<path> → a JSON document; the config says where things are,
 * as paths like "sml.meters[0].power" (keys separated by '.', array items as [n]):
 *   power_key  the power in W, a number or a numeric string; multiplied by power_scale
 *              (-1 flips the sign, 1000 turns kW into W)
 *   soc_key    batteries: the state of charge in %
 *   state_key  plugs: on/off as true/false, 1/0 or "ON"/"OFF" (also "on"/"off", "true"/"false")
 * role "meter" publishes the power as the grid reading (+ import / - export); "inverter",
 * "battery" (+ discharge / - charge) and "plug" publish it as the device's state. Basic auth
 * when a password is set. Takes no commands. */
#include "device_kit.h"

#include "devices_internal.h"
#include "balkon/driver.h"
#include "balkon/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct http_json {
    struct dev_kit kit; /* first: the kit's callbacks hand out this pointer */
    bool busy;          /* a request is in flight: the next poll is skipped */
};

/* An on/off value in any of the usual spellings. */
static bool parse_on(const cJSON *item, bool *on)
{
    if (cJSON_IsBool(item)) {
        *on = cJSON_IsTrue(item);
        return true;
    }
    if (cJSON_IsNumber(item) && (item->valuedouble == 0 || item->valuedouble == 1)) {
        *on = item->valuedouble == 1;
        return true;
    }
    if (!cJSON_IsString(item))
        return false;
    static const char *const ON[] = {"on", "true", "1"}, *const OFF[] = {"off", "false", "0"};
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(item->valuestring, ON[i]) == 0 ||
            strcasecmp(item->valuestring, OFF[i]) == 0) {
            *on = strcasecmp(item->valuestring, ON[i]) == 0;
            return true;
        }
    }
    return false;
}

/* Reads the configured values out of a reply into state; false with the problem. */
static bool parse_reply(const struct balkon_device_config *config, const cJSON *json,
                        struct ev_device_state *state, double *power_w, char *problem, size_t size)
{
    if (!dev_json_number(json, config->power_key, power_w)) {
        snprintf(problem, size, "%s missing or not a number", config->power_key);
        return false;
    }
    *power_w *= config->power_scale;
    dev_state_add(state, "power_w", *power_w);
    unsigned role = balkon_driver_role_bit(config->role);
    if (role == DEVICE_ROLE_BATTERY && config->soc_key[0]) {
        double soc_pct;
        if (!dev_json_number(json, config->soc_key, &soc_pct)) {
            snprintf(problem, size, "%s missing or not a number", config->soc_key);
            return false;
        }
        dev_state_add(state, "soc_pct", soc_pct);
    }
    if (role == DEVICE_ROLE_PLUG && config->state_key[0]) {
        bool on;
        if (!parse_on(dev_json_path(json, config->state_key), &on)) {
            snprintf(problem, size, "%s missing or not on/off", config->state_key);
            return false;
        }
        dev_state_add(state, "on", on ? 1 : 0);
    }
    return true;
}

static void reply_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    struct http_json *device = (struct http_json *)kit;
    device->busy = false;
    const char *path = kit->config.path;
    if (!dev_http_ok(kit, result, path))
        return;
    cJSON *json = dev_parse_json(kit, result, path);
    if (!json)
        return;
    struct ev_device_state state;
    unsigned role = balkon_driver_role_bit(kit->config.role);
    dev_state_init(kit, &state, NULL, role);
    double power_w;
    char problem[160];
    if (!parse_reply(&kit->config, json, &state, &power_w, problem, sizeof problem)) {
        dev_failed(kit, "%s: %s", path, problem);
    } else {
        dev_publish_state(kit, &state);
        if (role == DEVICE_ROLE_METER)
            dev_publish_meter(kit, NULL, power_w);
    }
    cJSON_Delete(json);
}

static void http_json_poll(struct dev_kit *kit)
{
    struct http_json *device = (struct http_json *)kit;
    if (!device->busy)
        device->busy = dev_http(kit, kit->config.path, NULL, NULL, reply_cb, NULL) == 0;
}

static const struct dev_kit_ops OPS = {
    .log_name = "http_json",
    .default_port = 80,
    .auth = BALKON_HTTP_AUTH_BASIC,
    .poll = http_json_poll,
};

static int http_json_start(struct balkon_ctx *ctx, const struct balkon_device_config *config,
                           void **instance, char *msg, size_t msg_size)
{
    struct http_json *device = calloc(1, sizeof *device);
    if (!device)
        return BALKON_E_NOMEM;
    int rc = dev_kit_start(&device->kit, ctx, config, &OPS, msg, msg_size);
    if (rc < 0) {
        free(device);
        return rc;
    }
    *instance = device;
    return 0;
}

static void http_json_reconfigure(void *instance)
{
    struct http_json *device = instance;
    dev_kit_reconfigure(&device->kit);
}

static void http_json_stop(void *instance)
{
    struct http_json *device = instance;
    dev_kit_stop(&device->kit);
}

const struct dev_driver_ops dev_driver_http_json = {
    .driver = &balkon_driver_http_json,
    .start = http_json_start,
    .reconfigure = http_json_reconfigure,
    .stop = http_json_stop,
};
