/* Home Assistant MQTT discovery: one retained config per entity on
 *
 *   <discovery_prefix>/<component>/balkonsolar_<node>/<object>/config
 *
 * (node: the prefix as an id), each with unique_id, the device block that groups them,
 * the availability topic (<prefix>/status: "online", or the will's "offline"), and the
 * state topic with a value_template. Units and classes follow Home Assistant's rules:
 * power W (measurement), energy kWh (total_increasing, a daily counter: a fall at
 * midnight is a reset), SoC as battery %, price and money as monetary (which allows no
 * "measurement" state class, so none). A device value's class and unit come from the
 * value catalogue (balkon/values.h). */
#include "ha_internal.h"

#include "balkon/config.h"
#include "balkon/log.h"
#include "balkon/mqtt.h"
#include "balkon/optimizer.h"
#include "balkon/values.h"
#include "balkon/version.h"

#include <stdio.h>
#include <string.h>

struct sensor_def {
    const char *object; /* object id, unique within the node */
    const char *name;
    const char *state; /* suffix under <prefix>/state/ */
    const char *key;   /* value_json's key; NULL: the payload itself */
    const char *device_class;
    const char *unit; /* "%c" is the currency */
    const char *state_class;
    const char *icon;
};

static const struct sensor_def site_sensors[] = {
    {"pv_power", "PV power", "site", "pv_w", "power", "W", "measurement", NULL},
    {"home_power", "Home power", "site", "home_w", "power", "W", "measurement", NULL},
    {"grid_power", "Grid power", "site", "grid_w", "power", "W", "measurement", NULL},
    {"battery_power", "Battery power", "site", "battery_w", "power", "W", "measurement", NULL},
    {"soc", "Battery state of charge", "site", "soc_pct", "battery", "%", "measurement", NULL},
    {"price", "Electricity price", "site", "price_per_kwh", "monetary", "%c/kWh", NULL, NULL},
    {"pv_energy_today", "PV energy today", "energy", "pv_kwh", "energy", "kWh", "total_increasing",
     NULL},
    {"home_energy_today", "Home energy today", "energy", "home_kwh", "energy", "kWh",
     "total_increasing", NULL},
    {"grid_import_today", "Grid import today", "energy", "import_kwh", "energy", "kWh",
     "total_increasing", NULL},
    {"grid_export_today", "Grid export today", "energy", "export_kwh", "energy", "kWh",
     "total_increasing", NULL},
    {"savings_today", "Savings today", "energy", "savings", "monetary", "%c", NULL,
     "mdi:piggy-bank"},
    {"cost_today", "Energy cost today", "energy", "cost", "monetary", "%c", NULL, NULL},
    {"control_state", "Control state", "control", "state", NULL, NULL, NULL, "mdi:tune"},
    {"plan_mode", "Battery mode now", "plan", "mode_now", NULL, NULL, NULL, "mdi:battery-sync"},
    {"plan_next_mode", "Next battery mode", "plan", "next_mode", NULL, NULL, NULL,
     "mdi:battery-clock"},
    {"plan_next_change", "Next mode change", "plan", "next_change", "timestamp", NULL, NULL, NULL},
    {"plan_expected_cost", "Expected cost (plan)", "plan", "expected_cost", "monetary", "%c", NULL,
     NULL},
};

static void topic_of(const struct ha *ha, const char *component, const char *object, char *topic,
                     size_t size)
{
    snprintf(topic, size, "%s/%s/balkonsolar_%s/%s/config", ha->discovery_prefix, component,
             ha->node, object);
}

/* What every entity has: name, unique_id, availability, the device. */
static cJSON *base(const struct ha *ha, const char *object, const char *name)
{
    char text[HA_TOPIC_MAX];
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "name", name);
    snprintf(text, sizeof text, "balkonsolar_%s_%s", ha->node, object);
    cJSON_AddStringToObject(json, "unique_id", text);
    cJSON_AddStringToObject(json, "object_id", text);
    snprintf(text, sizeof text, "%s/status", ha->prefix);
    cJSON_AddStringToObject(json, "availability_topic", text);
    cJSON_AddStringToObject(json, "payload_available", "online");
    cJSON_AddStringToObject(json, "payload_not_available", "offline");
    cJSON *device = cJSON_AddObjectToObject(json, "device");
    cJSON *ids = cJSON_AddArrayToObject(device, "identifiers");
    snprintf(text, sizeof text, "balkonsolar_%s", ha->node);
    cJSON_AddItemToArray(ids, cJSON_CreateString(text));
    cJSON_AddStringToObject(
        device, "name", ha->ctx->config->site.name[0] ? ha->ctx->config->site.name : "BalkonSolar");
    cJSON_AddStringToObject(device, "manufacturer", "BalkonSolar");
    cJSON_AddStringToObject(device, "model", "balkonsolard");
    cJSON_AddStringToObject(device, "sw_version", BALKON_VERSION);
    return json;
}

static void add_state(const struct ha *ha, cJSON *json, const char *state, const char *key)
{
    char text[HA_TOPIC_MAX];
    snprintf(text, sizeof text, "%s/state/%s", ha->prefix, state);
    cJSON_AddStringToObject(json, "state_topic", text);
    if (key) {
        snprintf(text, sizeof text, "{{ value_json.%s }}", key);
        cJSON_AddStringToObject(json, "value_template", text);
    }
}

static void publish_sensor(struct ha *ha, const struct sensor_def *def)
{
    cJSON *json = base(ha, def->object, def->name);
    add_state(ha, json, def->state, def->key);
    if (def->device_class)
        cJSON_AddStringToObject(json, "device_class", def->device_class);
    if (def->unit) {
        char unit[16];
        if (strncmp(def->unit, "%c", 2) == 0)
            snprintf(unit, sizeof unit, "%s%s", ha->currency, def->unit + 2);
        else
            snprintf(unit, sizeof unit, "%s", def->unit);
        cJSON_AddStringToObject(json, "unit_of_measurement", unit);
    }
    if (def->state_class)
        cJSON_AddStringToObject(json, "state_class", def->state_class);
    if (def->icon)
        cJSON_AddStringToObject(json, "icon", def->icon);
    char topic[HA_TOPIC_MAX];
    topic_of(ha, "sensor", def->object, topic, sizeof topic);
    ha_publish_json(ha, topic, json);
}

static void publish_strategy_select(struct ha *ha)
{
    cJSON *json = base(ha, "strategy", "Strategy");
    char text[HA_TOPIC_MAX];
    snprintf(text, sizeof text, "%s/state/strategy", ha->prefix);
    cJSON_AddStringToObject(json, "state_topic", text);
    snprintf(text, sizeof text, "%s/set/strategy", ha->prefix);
    cJSON_AddStringToObject(json, "command_topic", text);
    cJSON *options = cJSON_AddArrayToObject(json, "options");
    size_t count;
    const struct balkon_opt_strategy *const *strategies = balkon_opt_strategies(&count);
    for (size_t i = 0; i < count; i++)
        cJSON_AddItemToArray(options, cJSON_CreateString(strategies[i]->name));
    cJSON_AddStringToObject(json, "icon", "mdi:strategy");
    topic_of(ha, "select", "strategy", text, sizeof text);
    ha_publish_json(ha, text, json);
}

static void publish_grid_target_number(struct ha *ha)
{
    cJSON *json = base(ha, "grid_target", "Grid target");
    char text[HA_TOPIC_MAX];
    add_state(ha, json, "control", "target_w");
    snprintf(text, sizeof text, "%s/set/grid_target_w", ha->prefix);
    cJSON_AddStringToObject(json, "command_topic", text);
    cJSON_AddNumberToObject(json, "min", -800);
    cJSON_AddNumberToObject(json, "max", 800);
    cJSON_AddNumberToObject(json, "step", 1);
    cJSON_AddStringToObject(json, "mode", "box");
    cJSON_AddStringToObject(json, "device_class", "power");
    cJSON_AddStringToObject(json, "unit_of_measurement", "W");
    topic_of(ha, "number", "grid_target", text, sizeof text);
    ha_publish_json(ha, text, json);
}

void ha_publish_discovery(struct ha *ha)
{
    for (size_t i = 0; i < sizeof site_sensors / sizeof site_sensors[0]; i++)
        publish_sensor(ha, &site_sensors[i]);
    publish_strategy_select(ha);
    publish_grid_target_number(ha);
    ha->announced = true;
    log_info("ha", "Home Assistant discovery sent to %s/", ha->discovery_prefix);
}

void ha_publish_device_discovery(struct ha *ha, struct ha_device *device)
{
    const struct ev_device_state *s = &device->state;
    char id[BALKON_ID_MAX], object[96], name[128], state[HA_TOPIC_MAX], topic[HA_TOPIC_MAX];
    ha_sanitize(s->device_id, id, sizeof id);
    snprintf(state, sizeof state, "device/%s", id);
    for (size_t i = 0; i < s->value_count && i < EV_DEVICE_VALUES_MAX; i++) {
        /* What the value is comes from the catalogue (balkon/values.h): energy_wh is
         * an energy counter in Wh, which Home Assistant's energy class accepts as is. */
        const struct balkon_value_info *info = balkon_value_info(s->values[i].name);
        if (!info->ha_class)
            continue;
        struct sensor_def def = {.state = state,
                                 .key = s->values[i].name,
                                 .device_class = info->ha_class,
                                 .unit = info->unit,
                                 .state_class = balkon_value_ha_state_class(info->kind)};
        snprintf(object, sizeof object, "%s_%s", id, s->values[i].name);
        char words[24];
        balkon_value_words(s->values[i].name, words, sizeof words);
        snprintf(name, sizeof name, "%s %s", s->device_id, words);
        def.object = object;
        def.name = name;
        publish_sensor(ha, &def);
    }
    if (s->roles & DEVICE_ROLE_PLUG) {
        snprintf(object, sizeof object, "plug_%s", id);
        cJSON *json = base(ha, object, s->device_id);
        snprintf(topic, sizeof topic, "%s/state/plug/%s", ha->prefix, id);
        cJSON_AddStringToObject(json, "state_topic", topic);
        snprintf(topic, sizeof topic, "%s/set/plug/%s", ha->prefix, id);
        cJSON_AddStringToObject(json, "command_topic", topic);
        cJSON_AddStringToObject(json, "payload_on", "ON");
        cJSON_AddStringToObject(json, "payload_off", "OFF");
        cJSON_AddStringToObject(json, "device_class", "outlet");
        topic_of(ha, "switch", object, topic, sizeof topic);
        ha_publish_json(ha, topic, json);
    }
    device->announced = true;
}
