/* A generic MQTT JSON device (type "mqtt_json"): anything that publishes its readings on a
 * broker, e.g. an ESPHome or Tasmota sensor, a reading head, a zigbee2mqtt plug, another
 * program's bridge.
 *
 * Wire format: messages on `topic` (a filter; wildcards are allowed) are either
 *   a plain number               "412.5"       the power itself, times power_scale
 *   a plain on/off (plugs)       "ON", "off", "true", "0"
 *   a JSON object                {"SML":{"Power_curr":-215},"state":"ON","soc":55}
 * read at the config's paths ("a.b[0].c"): power_key (W, a number or numeric string; times
 * power_scale: -1 flips the sign, 1000 turns kW into W), soc_key (batteries, %), state_key
 * (plugs: true/false, 1/0, "ON"/"OFF"). A message may carry only some of them (a plug's
 * state and power often come apart): each updates what it holds and the device's state is
 * published with the latest of each. Role "meter" also publishes the power as the grid
 * reading (+ import / − export); batteries are + discharge / − charge.
 *
 * Commands (only with command_topic set; meters take none): plugs "switch" 1/0, inverters
 * "limit" W, batteries "setpoint" W and "auto", published (qos 1, never retained) to
 * command_topic with "{command}" replaced, the payload being command_payload with
 * "{value}" (the number), "{command}", "{on_off}" (ON/OFF) and "{true_false}" replaced.
 * Verified by the next message carrying the value: a switch by the state at state_key, a
 * limit by a power reading at most the limit, a setpoint by a power reading near it, "auto"
 * by any new power reading (delivery only: the device's own logic has no value to check). */
#include "device_kit.h"

#include "devices_internal.h"
#include "balkon/driver.h"
#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/mqtt.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LOG "mqtt_json"

struct mqtt_json {
    struct dev_kit kit; /* first: the kit's callbacks hand out this pointer */
    unsigned role;
    double power_w, soc_pct; /* NAN until read */
    int on;                  /* -1 until read */
    /* Counts of readings, so a verification only looks at values that came after the send. */
    unsigned power_seq, on_seq, power_seq_at_send, on_seq_at_send;
    bool awaiting;
    uv_timer_t wait_timer;
};

/* What one message carried. */
struct reading {
    bool has_power, has_soc, has_on;
    double power_w, soc_pct;
    bool on;
};

/* The command a role takes, or NULL (meters). */
static const char *role_command(unsigned role)
{
    return role == DEVICE_ROLE_PLUG       ? "switch"
           : role == DEVICE_ROLE_INVERTER ? "limit"
           : role == DEVICE_ROLE_BATTERY  ? "setpoint"
                                          : NULL;
}

static bool parse_on_text(const char *text, bool *on)
{
    static const char *const ON[] = {"on", "true", "1"}, *const OFF[] = {"off", "false", "0"};
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(text, ON[i]) == 0 || strcasecmp(text, OFF[i]) == 0) {
            *on = strcasecmp(text, ON[i]) == 0;
            return true;
        }
    }
    return false;
}

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
    return cJSON_IsString(item) && parse_on_text(item->valuestring, on);
}

/* Reads one message (pure): false with the problem when it holds none of the configured
 * values. */
static bool parse_message(const struct balkon_device_config *config, unsigned role,
                          const char *payload, size_t len, struct reading *out, char *why,
                          size_t why_size)
{
    memset(out, 0, sizeof *out);
    while (len && isspace((unsigned char)payload[len - 1]))
        len--;
    while (len && isspace((unsigned char)*payload))
        payload++, len--;
    char text[16];
    if (role == DEVICE_ROLE_PLUG && len < sizeof text) {
        memcpy(text, payload, len);
        text[len] = '\0';
        if (parse_on_text(text, &out->on) && strcmp(text, "1") != 0 && strcmp(text, "0") != 0) {
            out->has_on = true;
            return true;
        }
    }
    cJSON *json = cJSON_ParseWithLength(payload, len);
    if (cJSON_IsNumber(json)) {
        out->has_power = true;
        out->power_w = json->valuedouble * config->power_scale;
    } else if (cJSON_IsObject(json) || cJSON_IsArray(json)) {
        if (config->power_key[0] && dev_json_number(json, config->power_key, &out->power_w)) {
            out->has_power = true;
            out->power_w *= config->power_scale;
        }
        if (role == DEVICE_ROLE_BATTERY && config->soc_key[0])
            out->has_soc = dev_json_number(json, config->soc_key, &out->soc_pct);
        if (role == DEVICE_ROLE_PLUG && config->state_key[0])
            out->has_on = parse_on(dev_json_path(json, config->state_key), &out->on);
        if (!out->has_power && !out->has_soc && !out->has_on) {
            const char *key = config->power_key[0] ? config->power_key : config->state_key;
            snprintf(why, why_size, "%.60s missing or not a number%s", key[0] ? key : "power_key",
                     role == DEVICE_ROLE_PLUG && config->state_key[0] ? " or on/off" : "");
        }
    } else {
        snprintf(why, why_size, "not JSON or a number");
    }
    cJSON_Delete(json);
    return out->has_power || out->has_soc || out->has_on;
}

static void publish(struct mqtt_json *g)
{
    struct ev_device_state state;
    dev_state_init(&g->kit, &state, NULL, g->role);
    dev_state_add(&state, "power_w", g->power_w);
    if (g->role == DEVICE_ROLE_BATTERY)
        dev_state_add(&state, "soc_pct", g->soc_pct);
    if (g->on >= 0)
        dev_state_add(&state, "on", g->on);
    if (state.value_count)
        dev_publish_state(&g->kit, &state);
}

/* The value a command is verified by, once a message after the send carried it: false
 * while none did. */
static bool verified_value(const struct mqtt_json *g, const struct device_command *command,
                           double *value)
{
    if (strcmp(command->command, "switch") == 0) {
        *value = g->on;
        return g->on_seq != g->on_seq_at_send;
    }
    if (g->power_seq == g->power_seq_at_send)
        return false;
    if (strcmp(command->command, "limit") == 0) /* the inverter keeps under its cap */
        *value = g->power_w <= command->value + g->kit.tolerance_w ? command->value : g->power_w;
    else if (strcmp(command->command, "setpoint") == 0)
        *value = g->power_w;
    else
        *value = command->value; /* "auto": delivered, the device answers */
    return true;
}

static void state_msg(const char *topic, const void *payload, size_t len, void *user)
{
    struct mqtt_json *g = user;
    struct reading r;
    char why[96] = "";
    if (!parse_message(&g->kit.config, g->role, payload, len, &r, why, sizeof why)) {
        dev_failed(&g->kit, "%s: %s", topic, why);
        return;
    }
    if (r.has_power) {
        g->power_w = r.power_w;
        g->power_seq++;
    }
    if (r.has_soc)
        g->soc_pct = r.soc_pct;
    if (r.has_on) {
        g->on = r.on;
        g->on_seq++;
    }
    publish(g);
    if (r.has_power && g->role == DEVICE_ROLE_METER)
        dev_publish_meter(&g->kit, NULL, g->power_w);
    double value;
    if (g->awaiting && verified_value(g, &g->kit.cmd.current, &value)) {
        g->awaiting = false;
        uv_timer_stop(&g->wait_timer);
        dev_cmd_read(&g->kit, true, value, "");
    }
}

/* --- Commands -------------------------------------------------------------------------- */

/* Copies template into out with the placeholders replaced; false when it does not fit. */
static bool expand(const char *template, const struct device_command *command, char *out,
                   size_t size)
{
    char number[32];
    snprintf(number, sizeof number, "%g", command->value);
    const struct {
        const char *name, *text;
    } subs[] = {
        {"{value}", number},
        {"{command}", command->command},
        {"{on_off}", command->value != 0 ? "ON" : "OFF"},
        {"{true_false}", command->value != 0 ? "true" : "false"},
    };
    size_t used = 0;
    for (const char *p = template; *p;) {
        const char *text = NULL;
        size_t skip = 1;
        for (size_t i = 0; i < sizeof subs / sizeof *subs && !text; i++) {
            if (strncmp(p, subs[i].name, strlen(subs[i].name)) == 0) {
                text = subs[i].text;
                skip = strlen(subs[i].name);
            }
        }
        size_t n = text ? strlen(text) : 1;
        if (used + n >= size)
            return false;
        memcpy(out + used, text ? text : p, n);
        used += n;
        p += skip;
    }
    out[used] = '\0';
    return true;
}

static int mqtt_send(struct dev_kit *kit, const struct device_command *command)
{
    struct mqtt_json *g = (struct mqtt_json *)kit;
    char topic[256], payload[256];
    if (!expand(kit->config.command_topic, command, topic, sizeof topic) ||
        !expand(kit->config.command_payload, command, payload, sizeof payload)) {
        dev_cmd_sent(kit, false, "the command topic or payload is too long");
        return 0;
    }
    g->power_seq_at_send = g->power_seq;
    g->on_seq_at_send = g->on_seq;
    if (dev_mqtt_publish_command(kit, topic, payload)) /* never retained */
        dev_cmd_sent(kit, true, "");
    return 0;
}

static void wait_timeout_cb(uv_timer_t *timer)
{
    struct mqtt_json *g = timer->data;
    if (!g->awaiting)
        return;
    g->awaiting = false;
    char why[96];
    snprintf(why, sizeof why, "no state on %.50s within %g s", g->kit.config.topic,
             fmax(g->kit.config.timeout_s, 2.0));
    dev_cmd_read(&g->kit, false, NAN, why);
}

static int mqtt_read_back(struct dev_kit *kit, const struct device_command *command)
{
    struct mqtt_json *g = (struct mqtt_json *)kit;
    double value;
    if (verified_value(g, command, &value)) {
        dev_cmd_read(kit, true, value, "");
        return 0;
    }
    g->awaiting = true;
    uint64_t wait_ms = (uint64_t)(fmax(kit->config.timeout_s, 2.0) * 1000.0);
    uv_timer_start(&g->wait_timer, wait_timeout_cb, wait_ms, 0);
    return 0;
}

static int mqtt_json_command(void *instance, const struct device_command *command, char *msg,
                             size_t msg_size)
{
    struct mqtt_json *g = instance;
    const char *takes = role_command(g->role);
    double max_w = g->kit.config.max_power_w;
    if (!takes || !g->kit.config.command_topic[0]) {
        snprintf(msg, msg_size, "%s takes no commands (%s)", command->device_id,
                 takes ? "no command_topic is set" : "a meter");
        return BALKON_E_INVAL;
    }
    bool automatic = g->role == DEVICE_ROLE_BATTERY && strcmp(command->command, "auto") == 0;
    if (strcmp(command->command, takes) != 0 && !automatic) {
        snprintf(msg, msg_size, "command: \"%s\" is not supported; a %s takes \"%s\"%s",
                 command->command, g->kit.config.role, takes,
                 g->role == DEVICE_ROLE_BATTERY ? " or \"auto\"" : "");
        return BALKON_E_INVAL;
    }
    double lo = g->role == DEVICE_ROLE_BATTERY ? -max_w : 0, hi = max_w;
    if (g->role == DEVICE_ROLE_PLUG && command->value != 0 && command->value != 1) {
        snprintf(msg, msg_size, "switch: takes 1 (on) or 0 (off), got %g", command->value);
        return BALKON_E_RANGE;
    }
    if (g->role != DEVICE_ROLE_PLUG && !automatic &&
        !(command->value >= lo && command->value <= hi)) {
        snprintf(msg, msg_size, "%s: must be between %g and %g W, got %g", takes, lo, hi,
                 command->value);
        return BALKON_E_RANGE;
    }
    dev_cmd_submit(&g->kit, command);
    return 0;
}

/* --- Driver ---------------------------------------------------------------------------- */

static const struct dev_kit_ops OPS = {
    .log_name = LOG,
    .send = mqtt_send,
    .read_back = mqtt_read_back,
};

static void mqtt_json_stop(void *instance);

static int mqtt_json_start(struct balkon_ctx *ctx, const struct balkon_device_config *device,
                           void **instance, char *msg, size_t msg_size)
{
    if (!ctx->mqtt) {
        snprintf(msg, msg_size, "type \"mqtt_json\" needs the mqtt section enabled");
        return BALKON_E_INVAL;
    }
    struct mqtt_json *g = calloc(1, sizeof *g);
    if (!g)
        return BALKON_E_NOMEM;
    g->role = balkon_driver_role_bit(device->role);
    g->power_w = g->soc_pct = NAN;
    g->on = -1;
    g->kit.tolerance_w = 25.0; /* a setpoint is checked against the measured power */
    int rc = dev_kit_start(&g->kit, ctx, device, &OPS, msg, msg_size);
    if (rc < 0) {
        free(g);
        return rc;
    }
    dev_kit_own_timer_init(&g->kit, &g->wait_timer);
    *instance = g;
    rc = balkon_mqtt_subscribe(ctx->mqtt, device->topic, state_msg, g);
    if (rc < 0) {
        snprintf(msg, msg_size, "cannot subscribe to %s: %s", device->topic, balkon_strerror(rc));
        mqtt_json_stop(g); /* frees g once its handles are closed */
        return rc;
    }
    return 0;
}

/* Keys, scale and the command options apply at once; topic and role after a restart. */
static void mqtt_json_reconfigure(void *instance)
{
    struct mqtt_json *g = instance;
    struct balkon_device_config old = g->kit.config;
    dev_kit_reconfigure(&g->kit);
    struct balkon_device_config *c = &g->kit.config;
    if (strcmp(old.topic, c->topic) != 0 || strcmp(old.role, c->role) != 0) {
        log_notice(LOG, "%s: topic and role take effect after a restart", c->id);
        snprintf(c->topic, sizeof c->topic, "%s", old.topic);
        snprintf(c->role, sizeof c->role, "%s", old.role);
    }
}

static void mqtt_json_stop(void *instance)
{
    struct mqtt_json *g = instance;
    dev_kit_stop_own(&g->kit, &g->wait_timer, true);
}

const struct dev_driver_ops dev_driver_mqtt_json = {
    .driver = &balkon_driver_mqtt_json,
    .start = mqtt_json_start,
    .reconfigure = mqtt_json_reconfigure,
    .stop = mqtt_json_stop,
    .command = mqtt_json_command,
};
