/* The MQTT publisher: BalkonSolar's live state on the shared MQTT client, with Home
 * Assistant discovery and commands back (docs/mqtt.md).
 *
 * It keeps the latest of every bus event it reports, and a wall-clock timer publishes
 * them every mqtt.publish_interval_s (the demo's clock runs faster than a broker wants to
 * hear). On every (re)connect it says "online" on <prefix>/status, whose "offline" is the
 * connection's last will (set by the daemon), sends the discovery configs again and the
 * state at once: a broker restarted without persistence has forgotten all of it. Before a
 * clean stop it says "offline" itself, since a clean DISCONNECT does not fire the will.
 *
 * Without the MQTT client (mqtt.enabled false) the module does nothing. */
#include "ha_internal.h"

#include "balkon/bus.h"
#include "balkon/config.h"
#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/mqtt.h"
#include "balkon/series.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ha_sanitize(const char *in, char *out, size_t size)
{
    size_t n = 0;
    for (; *in && n + 1 < size; in++)
        out[n++] = (*in >= 'a' && *in <= 'z') || (*in >= 'A' && *in <= 'Z') ||
                           (*in >= '0' && *in <= '9') || *in == '_' || *in == '-'
                       ? *in
                       : '_';
    out[n] = '\0';
}

int ha_publish_text(struct ha *ha, const char *suffix, const char *text, bool retain)
{
    char topic[HA_TOPIC_MAX];
    snprintf(topic, sizeof topic, "%s/%s", ha->prefix, suffix);
    return balkon_mqtt_publish(ha->mqtt, topic, text, strlen(text), 1, retain);
}

int ha_publish_json(struct ha *ha, const char *topic, cJSON *json)
{
    char *text = json ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    if (!text)
        return BALKON_E_NOMEM;
    int rc = balkon_mqtt_publish(ha->mqtt, topic, text, strlen(text), 1, true);
    free(text);
    return rc;
}

/* Everything, now: on a connect, and on each tick of the timer. */
static void publish_all(struct ha *ha)
{
    if (!balkon_mqtt_connected(ha->mqtt))
        return;
    if (ha->discovery) {
        if (!ha->announced)
            ha_publish_discovery(ha);
        for (size_t i = 0; i < ha->device_count; i++)
            if (!ha->devices[i].announced)
                ha_publish_device_discovery(ha, &ha->devices[i]);
    }
    ha_publish_state(ha);
}

static void connect_cb(void *user)
{
    struct ha *ha = user;
    ha->announced = false;
    for (size_t i = 0; i < ha->device_count; i++)
        ha->devices[i].announced = false;
    if (ha_publish_text(ha, "status", "online", true) == 0)
        log_info("ha", "online on %s/status", ha->prefix);
    publish_all(ha);
}

static void timer_cb(uv_timer_t *timer)
{
    struct ha *ha = timer->data;
    publish_all(ha);
    /* A reload may have changed the interval. */
    uint64_t interval_ms = (uint64_t)(ha->ctx->config->mqtt.publish_interval_s * 1000.0);
    if (interval_ms != uv_timer_get_repeat(&ha->timer))
        uv_timer_set_repeat(&ha->timer, interval_ms);
}

static void keep_device(struct ha *ha, const struct ev_device_state *state)
{
    size_t i = 0;
    while (i < ha->device_count && strcmp(ha->devices[i].state.device_id, state->device_id) != 0)
        i++;
    if (i == HA_MAX_DEVICES)
        return;
    if (i == ha->device_count) {
        ha->device_count++;
        ha->devices[i].announced = false;
    }
    bool roles_changed = ha->devices[i].state.roles != state->roles ||
                         ha->devices[i].state.value_count != state->value_count;
    ha->devices[i].state = *state;
    if (roles_changed)
        ha->devices[i].announced = false; /* new values may need their sensors */
}

static void keep_prices(struct ha *ha, const struct ev_prices *prices)
{
    if (!prices->primary)
        return;
    struct balkon_price_slot *copy = prices->count ? malloc(prices->count * sizeof *copy) : NULL;
    if (prices->count && !copy)
        return;
    if (copy)
        memcpy(copy, prices->slots, prices->count * sizeof *copy);
    free(ha->prices);
    ha->prices = copy;
    ha->price_count = prices->count;
    if (prices->currency[0])
        snprintf(ha->currency, sizeof ha->currency, "%s", prices->currency);
}

static void on_event(enum bus_event event, const void *payload, void *user)
{
    struct ha *ha = user;
    switch (event) {
    case BUS_EV_SITE_STATUS:
        ha->status = *(const struct ev_site_status *)payload;
        ha->have_status = true;
        break;
    case BUS_EV_DEVICE_STATE:
        keep_device(ha, payload);
        break;
    case BUS_EV_PRICES:
        keep_prices(ha, payload);
        break;
    case BUS_EV_CONTROL_STATUS:
        ha->control = *(const struct ev_control_status *)payload;
        ha->have_control = true;
        break;
    case BUS_EV_PLAN:
        ha_plan_summarise(payload, balkon_clock_now_ms(&ha->ctx->clock), &ha->plan);
        break;
    default:
        break;
    }
}

static const enum bus_event EVENTS[] = {BUS_EV_SITE_STATUS, BUS_EV_DEVICE_STATE, BUS_EV_PRICES,
                                        BUS_EV_CONTROL_STATUS, BUS_EV_PLAN};
#define EVENT_COUNT (sizeof EVENTS / sizeof EVENTS[0])

static int ha_start(struct balkon_ctx *ctx, void **state)
{
    *state = NULL;
    if (!ctx->mqtt)
        return 0;
    struct ha *ha = calloc(1, sizeof *ha);
    if (!ha)
        return BALKON_E_NOMEM;
    const struct balkon_config *config = ctx->config;
    ha->ctx = ctx;
    ha->mqtt = ctx->mqtt;
    snprintf(ha->prefix, sizeof ha->prefix, "%s", config->mqtt.prefix);
    snprintf(ha->discovery_prefix, sizeof ha->discovery_prefix, "%s",
             config->mqtt.discovery_prefix);
    ha_sanitize(config->mqtt.prefix, ha->node, sizeof ha->node);
    ha->discovery = config->mqtt.ha_discovery;
    snprintf(ha->currency, sizeof ha->currency, "%s",
             config->tariff.currency[0] ? config->tariff.currency : "EUR");
    ha->plan.next_change_ms = INT64_MIN;

    char filter[HA_TOPIC_MAX];
    snprintf(filter, sizeof filter, "%s/set/#", ha->prefix);
    int rc = balkon_mqtt_subscribe(ha->mqtt, filter, ha_command_cb, ha);
    if (rc == 0)
        rc = balkon_mqtt_on_connect(ha->mqtt, connect_cb, ha);
    for (size_t i = 0; rc == 0 && i < EVENT_COUNT; i++)
        rc = balkon_bus_subscribe(ctx->bus, EVENTS[i], on_event, ha);
    if (rc < 0) {
        for (size_t i = 0; i < EVENT_COUNT; i++)
            balkon_bus_unsubscribe(ctx->bus, EVENTS[i], on_event, ha);
        balkon_mqtt_unsubscribe_all(ha->mqtt, ha);
        free(ha);
        log_error("ha", "cannot start: %s", balkon_strerror(rc));
        return rc;
    }
    uv_timer_init(ctx->loop, &ha->timer);
    ha->timer.data = ha;
    uint64_t interval_ms = (uint64_t)(config->mqtt.publish_interval_s * 1000.0);
    uv_timer_start(&ha->timer, timer_cb, interval_ms, interval_ms);
    if (balkon_mqtt_connected(ha->mqtt))
        connect_cb(ha);
    log_info("ha", "publishing under %s/ every %g s%s", ha->prefix, config->mqtt.publish_interval_s,
             ha->discovery ? ", with Home Assistant discovery" : "");
    *state = ha;
    return 0;
}

static void ha_stop(void *state)
{
    struct ha *ha = state;
    if (!ha)
        return;
    ha->stopping = true; /* a job of ha_energy.c still running publishes nothing */
    /* A clean disconnect follows, which does not fire the will: say it ourselves. */
    ha_publish_text(ha, "status", "offline", true);
    for (size_t i = 0; i < EVENT_COUNT; i++)
        balkon_bus_unsubscribe(ha->ctx->bus, EVENTS[i], on_event, ha);
    balkon_mqtt_unsubscribe_all(ha->mqtt, ha);
    uv_close((uv_handle_t *)&ha->timer, NULL);
}

static void ha_free(void *state)
{
    struct ha *ha = state;
    if (!ha)
        return;
    free(ha->prices);
    free(ha);
}

const struct balkon_module balkon_module_ha = {
    .name = "ha",
    .start = ha_start,
    .stop = ha_stop,
    .free = ha_free,
};
