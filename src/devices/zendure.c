/* Driver "zendure": Zendure SolarFlow batteries, two generations.
 *
 * protocol "http" (SolarFlow 800 / 800 Pro / 800 Plus / 2400 AC, zenSDK local API, no auth):
 *   GET  /properties/report  {"sn":"…","product":"solarFlow800","properties":{"electricLevel":73,
 *        "packInputPower":0,"outputPackPower":954,"outputHomePower":0,"gridInputPower":382,
 *        "solarInputPower":572,"acMode":1,"outputLimit":800,"inputLimit":383,"minSoc":50,
 *        "socSet":1000,"hyperTmp":3211,"smartMode":1,…},"packData":[…]}
 *   POST /properties/write   {"sn":"<serial>","properties":{"smartMode":1,"acMode":2,
 *        "outputLimit":P,"inputLimit":0}}  (discharge P W; charge: acMode 1, inputLimit P)
 *        The answer's body is undocumented: only its status counts; the values are read back.
 * protocol "mqtt" (Hub 1200/2000, Hyper 2000, AIO 2400, ACE 1500 redirected to a local broker):
 *   the hub publishes /<product_key>/<serial>/properties/report {"properties":{…}} (often only
 *   the properties that changed: merged into a cache), we publish
 *   iot/<product_key>/<serial>/properties/read {"properties":["getAll"]} for a full report and
 *   iot/<product_key>/<serial>/properties/write {"properties":{"outputLimit":W}}.
 *
 * Device <id>, role battery: soc_pct (electricLevel), power_w = packInputPower −
 * outputPackPower (+ discharge / − charge, the battery pack's side), ac_output_w
 * (outputHomePower), ac_input_w (gridInputPower), solar_w (solarInputPower), limit_w
 * (outputLimit), input_limit_w (inputLimit), ac_mode (1 charge / 2 discharge), min_soc_pct and
 * max_soc_pct (minSoc, socSet in 0.1 %), temperature_c (hyperTmp in 0.1 K).
 *
 * Every write carries smartMode 1: with 0 the device writes each setting to flash, which a
 * controller changing the output every few seconds would wear out. For the same reason
 * "auto" (back to the app's own logic, i.e. smartMode 0) is refused. */
#include "devices_internal.h"
#include "balkon/driver.h"

#include "device_kit.h"

#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/mqtt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG "zendure"
/* MQTT hubs report on change; when nothing came for this long we ask for everything. */
#define GETALL_AFTER_MS 10000
/* The old hub honours limits below 100 W only in 30 W steps (solarflow-control). */
#define HUB_STEP_BELOW_W 100
#define HUB_STEP_W 30

struct zendure {
    struct dev_kit kit; /* first: the kit's callbacks hand out this pointer */
    bool mqtt;
    bool busy; /* HTTP: a report request is in flight */
    char model[48];
    /* MQTT */
    cJSON *props; /* merged reports; owned */
    char topic_report[160], topic_read[160], topic_write[160];
    uint64_t last_report_ms, last_getall_ms; /* uv_now; 0: never */
    unsigned message_id;
    bool limit_since_send; /* a report carried outputLimit after our last write */
    double limit_w;
    bool awaiting; /* read_back waits for that report */
    uv_timer_t wait_timer;
};

static double prop(const cJSON *props, const char *key)
{
    double value;
    return dev_json_number(props, key, &value) ? value : NAN;
}

/* Builds the battery's state from (merged) properties; false with the reason when the
 * state of charge is missing. */
static bool build_state(struct zendure *z, const cJSON *props, struct ev_device_state *state,
                        char *why, size_t why_size)
{
    double soc = prop(props, "electricLevel");
    if (!(soc >= 0 && soc <= 100)) {
        snprintf(why, why_size, "properties.electricLevel %s",
                 isnan(soc) ? "missing" : "out of range");
        return false;
    }
    dev_state_init(&z->kit, state, NULL, DEVICE_ROLE_BATTERY);
    snprintf(state->model, sizeof state->model, "%s", z->model);
    dev_state_add(state, "soc_pct", soc);
    double out_w = prop(props, "packInputPower"), in_w = prop(props, "outputPackPower");
    if (!isnan(out_w) || !isnan(in_w))
        dev_state_add(state, "power_w", (isnan(out_w) ? 0 : out_w) - (isnan(in_w) ? 0 : in_w));
    dev_state_add(state, "ac_output_w", prop(props, "outputHomePower"));
    dev_state_add(state, "ac_input_w", prop(props, "gridInputPower"));
    dev_state_add(state, "solar_w", prop(props, "solarInputPower"));
    dev_state_add(state, "limit_w", prop(props, "outputLimit"));
    dev_state_add(state, "input_limit_w", prop(props, "inputLimit"));
    dev_state_add(state, "ac_mode", prop(props, "acMode"));
    dev_state_add(state, "min_soc_pct", prop(props, "minSoc") / 10.0);
    dev_state_add(state, "max_soc_pct", prop(props, "socSet") / 10.0);
    dev_state_add(state, "temperature_c", (prop(props, "hyperTmp") - 2731.0) / 10.0);
    return true;
}

static bool publish(struct zendure *z, const cJSON *props, const char *what)
{
    struct ev_device_state state;
    char why[96];
    if (!build_state(z, props, &state, why, sizeof why)) {
        dev_failed(&z->kit, "%s: %s", what, why);
        return false;
    }
    dev_publish_state(&z->kit, &state);
    return true;
}

/* --- HTTP ---------------------------------------------------------------------------- */

/* The report's properties (inside json, which the caller deletes), or NULL with the reason. */
static const cJSON *http_report(const struct balkon_http_result *result, cJSON **json, char *why,
                                size_t why_size)
{
    *json = NULL;
    if (result->transport_error) {
        snprintf(why, why_size, "/properties/report: %.70s", result->error);
        return NULL;
    }
    if (result->status < 200 || result->status >= 300) {
        snprintf(why, why_size, "/properties/report: HTTP %ld", result->status);
        return NULL;
    }
    *json = cJSON_ParseWithLength(result->body, result->body_size);
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(*json, "properties");
    if (!cJSON_IsObject(props)) {
        snprintf(why, why_size, "/properties/report: %s",
                 *json ? "properties missing" : "the reply is not JSON");
        return NULL;
    }
    return props;
}

static void take_model(struct zendure *z, const cJSON *json)
{
    const cJSON *product = cJSON_GetObjectItemCaseSensitive(json, "product");
    if (cJSON_IsString(product))
        snprintf(z->model, sizeof z->model, "%s", product->valuestring);
}

static void report_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    struct zendure *z = (struct zendure *)kit;
    z->busy = false;
    char why[96];
    cJSON *json;
    const cJSON *props = http_report(result, &json, why, sizeof why);
    if (props) {
        take_model(z, json);
        publish(z, props, "/properties/report");
    } else {
        dev_failed(kit, "%s", why);
    }
    cJSON_Delete(json);
}

static void http_poll(struct dev_kit *kit)
{
    struct zendure *z = (struct zendure *)kit;
    if (!z->busy)
        z->busy = dev_http(kit, "/properties/report", NULL, NULL, report_cb, NULL) == 0;
}

static void write_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    char why[96] = "";
    if (result->transport_error)
        snprintf(why, sizeof why, "/properties/write: %.70s", result->error);
    else if (result->status < 200 || result->status >= 300)
        snprintf(why, sizeof why, "/properties/write: HTTP %ld", result->status);
    dev_cmd_sent(kit, !why[0], why);
}

/* Discharge P: acMode 2 + outputLimit P; charge P: acMode 1 + inputLimit P; 0 holds. */
static int http_send(struct dev_kit *kit, const struct device_command *command)
{
    double w = round(command->value);
    char body[256];
    snprintf(body, sizeof body,
             "{\"sn\":\"%s\",\"properties\":{\"smartMode\":1,\"acMode\":%d,\"outputLimit\":%.0f,"
             "\"inputLimit\":%.0f}}",
             kit->config.serial, w < 0 ? 1 : 2, w > 0 ? w : 0.0, w < 0 ? -w : 0.0);
    return dev_http(kit, "/properties/write", "application/json", body, write_cb, NULL);
}

static void readback_cb(struct dev_kit *kit, const struct balkon_http_result *result, void *user)
{
    struct zendure *z = (struct zendure *)kit;
    const struct device_command *command = &kit->cmd.current;
    char why[96];
    cJSON *json;
    const cJSON *props = http_report(result, &json, why, sizeof why);
    if (!props) {
        dev_cmd_read(kit, false, NAN, why);
        cJSON_Delete(json);
        return;
    }
    take_model(z, json);
    publish(z, props, "/properties/report");
    int want_mode = command->value < 0 ? 1 : 2;
    double mode = prop(props, "acMode");
    double limit = want_mode == 1 ? -prop(props, "inputLimit") : prop(props, "outputLimit");
    if (mode != want_mode) {
        snprintf(why, sizeof why, "acMode is %g, expected %d", mode, want_mode);
        dev_cmd_read(kit, false, NAN, why);
    } else if (isnan(limit)) {
        snprintf(why, sizeof why, "/properties/report: %s missing",
                 want_mode == 1 ? "inputLimit" : "outputLimit");
        dev_cmd_read(kit, false, NAN, why);
    } else {
        dev_cmd_read(kit, true, limit, "");
    }
    cJSON_Delete(json);
}

static int http_read_back(struct dev_kit *kit, const struct device_command *command)
{
    return dev_http(kit, "/properties/report", NULL, NULL, readback_cb, NULL);
}

/* --- MQTT ---------------------------------------------------------------------------- */

static const char *hub_name(const char *product_key)
{
    static const char *const names[][2] = {
        {"73bkTV", "SolarFlow Hub 1200"}, {"A8yh63", "SolarFlow Hub 2000"},
        {"gDa3tb", "Hyper 2000"},         {"yWF7hV", "AIO 2400"},
        {"8bM93H", "ACE 1500"},
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(product_key, names[i][0]) == 0)
            return names[i][1];
    return "SolarFlow";
}

static void request_all(struct zendure *z)
{
    static const char payload[] = "{\"properties\":[\"getAll\"]}";
    if (balkon_mqtt_publish(z->kit.ctx->mqtt, z->topic_read, payload, strlen(payload), 0, false) <
        0)
        log_debug(LOG, "%s: cannot ask for a full report: %s", z->kit.config.id,
                  balkon_mqtt_status(z->kit.ctx->mqtt));
    else
        z->last_getall_ms = uv_now(z->kit.ctx->loop); /* else asked again at the next poll */
}

/* Asks for a full report at the start and whenever the hub has been quiet for a while. */
static void mqtt_poll(struct dev_kit *kit)
{
    struct zendure *z = (struct zendure *)kit;
    uint64_t now_ms = uv_now(kit->ctx->loop);
    bool quiet = !z->last_report_ms || now_ms - z->last_report_ms >= GETALL_AFTER_MS;
    bool asked = z->last_getall_ms && now_ms - z->last_getall_ms < GETALL_AFTER_MS;
    if (quiet && !asked)
        request_all(z);
}

static void report_msg(const char *topic, const void *payload, size_t len, void *user)
{
    struct zendure *z = user;
    cJSON *json = cJSON_ParseWithLength(payload, len);
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(json, "properties");
    if (!cJSON_IsObject(props)) {
        dev_failed(&z->kit, "properties/report: %s", json ? "properties missing" : "not JSON");
        cJSON_Delete(json);
        return;
    }
    z->last_report_ms = uv_now(z->kit.ctx->loop);
    const cJSON *item;
    cJSON_ArrayForEach(item, props)
    {
        if (!item->string || (!cJSON_IsNumber(item) && !cJSON_IsString(item)))
            continue;
        cJSON *copy = cJSON_Duplicate(item, 0);
        if (!copy)
            continue;
        if (cJSON_GetObjectItemCaseSensitive(z->props, item->string))
            cJSON_ReplaceItemInObjectCaseSensitive(z->props, item->string, copy);
        else
            cJSON_AddItemToObject(z->props, item->string, copy);
    }
    double limit;
    bool has_limit = dev_json_number(props, "outputLimit", &limit);
    cJSON_Delete(json);
    publish(z, z->props, "properties/report");
    if (!has_limit)
        return;
    z->limit_since_send = true;
    z->limit_w = limit;
    if (z->awaiting) {
        z->awaiting = false;
        uv_timer_stop(&z->wait_timer);
        dev_cmd_read(&z->kit, true, limit, "");
    }
}

static int mqtt_send(struct dev_kit *kit, const struct device_command *command)
{
    struct zendure *z = (struct zendure *)kit;
    double w = round(command->value);
    if (w > 0 && w < HUB_STEP_BELOW_W)
        w = fmax(HUB_STEP_W, round(w / HUB_STEP_W) * HUB_STEP_W);
    char payload[256];
    snprintf(payload, sizeof payload,
             "{\"properties\":{\"outputLimit\":%.0f},\"deviceId\":\"%s\",\"messageId\":\"%u\","
             "\"timestamp\":%lld}",
             w, kit->config.serial, ++z->message_id,
             (long long)(balkon_clock_now_ms(&kit->ctx->clock) / 1000));
    if (!dev_mqtt_publish_command(kit, z->topic_write, payload))
        return 0;
    z->limit_since_send = false;
    dev_cmd_sent(kit, true, "");
    return 0;
}

static void wait_timeout_cb(uv_timer_t *timer)
{
    struct zendure *z = timer->data;
    if (!z->awaiting)
        return;
    z->awaiting = false;
    char why[96];
    snprintf(why, sizeof why, "no report with outputLimit within %g s",
             fmax(z->kit.config.timeout_s, 2.0));
    dev_cmd_read(&z->kit, false, NAN, why);
}

/* The hub confirms with a report carrying outputLimit: taken when one came since the
 * write, else waited for (and asked for). */
static int mqtt_read_back(struct dev_kit *kit, const struct device_command *command)
{
    struct zendure *z = (struct zendure *)kit;
    if (z->limit_since_send) {
        dev_cmd_read(kit, true, z->limit_w, "");
        return 0;
    }
    z->awaiting = true;
    request_all(z);
    double wait_s = fmax(kit->config.timeout_s, 2.0);
    uv_timer_start(&z->wait_timer, wait_timeout_cb, (uint64_t)(wait_s * 1000.0), 0);
    return 0;
}

/* --- Driver ---------------------------------------------------------------------------- */

static void zendure_free(struct dev_kit *kit)
{
    struct zendure *z = (struct zendure *)kit;
    cJSON_Delete(z->props);
    free(z);
}

static const struct dev_kit_ops http_ops = {
    .log_name = LOG,
    .default_port = 80,
    .poll = http_poll,
    .send = http_send,
    .read_back = http_read_back,
    .free = zendure_free,
};

static const struct dev_kit_ops mqtt_ops = {
    .log_name = LOG,
    .poll = mqtt_poll,
    .send = mqtt_send,
    .read_back = mqtt_read_back,
    .free = zendure_free,
};

static void make_topics(struct zendure *z)
{
    const struct balkon_device_config *c = &z->kit.config;
    snprintf(z->topic_report, sizeof z->topic_report, "/%s/%s/properties/report", c->product_key,
             c->serial);
    snprintf(z->topic_read, sizeof z->topic_read, "iot/%s/%s/properties/read", c->product_key,
             c->serial);
    snprintf(z->topic_write, sizeof z->topic_write, "iot/%s/%s/properties/write", c->product_key,
             c->serial);
    snprintf(z->model, sizeof z->model, "%s", hub_name(c->product_key));
}

static void zendure_stop(void *instance);

static int zendure_start(struct balkon_ctx *ctx, const struct balkon_device_config *device,
                         void **instance, char *msg, size_t msg_size)
{
    bool mqtt;
    int rc = dev_kit_protocol(ctx, device, &mqtt, msg, msg_size);
    if (rc < 0)
        return rc;
    struct zendure *z = calloc(1, sizeof *z);
    if (!z || !(z->props = cJSON_CreateObject())) {
        free(z);
        return BALKON_E_NOMEM;
    }
    z->mqtt = mqtt;
    if (mqtt)
        z->kit.tolerance_w = HUB_STEP_W / 2.0; /* a request below 100 W goes out rounded */
    rc = dev_kit_start(&z->kit, ctx, device, mqtt ? &mqtt_ops : &http_ops, msg, msg_size);
    if (rc < 0) {
        cJSON_Delete(z->props);
        free(z);
        return rc;
    }
    dev_kit_own_timer_init(&z->kit, &z->wait_timer);
    *instance = z;
    if (mqtt) {
        make_topics(z);
        rc = balkon_mqtt_subscribe(ctx->mqtt, z->topic_report, report_msg, z);
        if (rc < 0) {
            snprintf(msg, msg_size, "cannot subscribe to %s: %s", z->topic_report,
                     balkon_strerror(rc));
            zendure_stop(z); /* frees z once its handles are closed */
            return rc;
        }
    }
    return 0;
}

static void zendure_reconfigure(void *instance)
{
    struct zendure *z = instance;
    struct balkon_device_config old = z->kit.config;
    dev_kit_reconfigure(&z->kit);
    struct balkon_device_config *c = &z->kit.config;
    if (strcmp(old.protocol, c->protocol) != 0 || strcmp(old.product_key, c->product_key) != 0 ||
        (z->mqtt && strcmp(old.serial, c->serial) != 0)) {
        log_notice(LOG,
                   "%s: protocol, product_key and (with MQTT) serial take effect after a restart",
                   c->id);
        snprintf(c->protocol, sizeof c->protocol, "%s", old.protocol);
        snprintf(c->product_key, sizeof c->product_key, "%s", old.product_key);
        snprintf(c->serial, sizeof c->serial, "%s", old.serial);
    }
}

static void zendure_stop(void *instance)
{
    struct zendure *z = instance;
    dev_kit_stop_own(&z->kit, &z->wait_timer, z->mqtt);
}

static int zendure_command(void *instance, const struct device_command *command, char *msg,
                           size_t msg_size)
{
    struct zendure *z = instance;
    double max_w = z->kit.config.max_power_w;
    if (strcmp(command->command, "auto") == 0) {
        snprintf(msg, msg_size,
                 "auto: not supported: it needs smartMode 0, which writes every setting to flash");
        return BALKON_E_INVAL;
    }
    if (strcmp(command->command, "setpoint") != 0) {
        snprintf(msg, msg_size, "command: \"%s\" is not supported; a battery takes \"setpoint\"",
                 command->command);
        return BALKON_E_INVAL;
    }
    double min_w = z->mqtt ? 0 : -max_w;
    if (!(command->value >= min_w && command->value <= max_w)) {
        snprintf(msg, msg_size, "setpoint: must be between %g and %g W%s, got %g", min_w, max_w,
                 z->mqtt ? " (over MQTT the hub only takes an output limit)" : "", command->value);
        return BALKON_E_RANGE;
    }
    dev_cmd_submit(&z->kit, command);
    return 0;
}

const struct dev_driver_ops dev_driver_zendure = {
    .driver = &balkon_driver_zendure,
    .start = zendure_start,
    .reconfigure = zendure_reconfigure,
    .stop = zendure_stop,
    .command = zendure_command,
};
