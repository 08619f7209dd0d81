/* The live state, retained, as JSON Home Assistant's value_json templates read:
 *
 *   <prefix>/state/site      {"pv_w","home_w","grid_w","battery_w","soc_pct","price_per_kwh",
 *                             "currency","ts"}        grid + import, battery + discharge
 *   <prefix>/state/energy    today (local day of the daemon's clock), from stored data:
 *                             {"pv_kwh","home_kwh","import_kwh","export_kwh","cost","savings",
 *                              "currency"}             savings = cost without the plant - cost
 *   <prefix>/state/strategy  the active strategy's name (plain text: the select's state)
 *   <prefix>/state/control   {"target_w","state","mode","setpoint_w","grid_w"}
 *   <prefix>/state/plan      {"strategy","mode_now","next_mode","next_change","expected_cost",
 *                             "expected_saving","until"}
 *   <prefix>/state/device/<id> {"online", "type", <each value by name>}
 *   <prefix>/state/plug/<id>   "ON" / "OFF" (the switch's state)
 *
 * Numbers are rounded to what they are worth; unknown ones are null. */
#include "ha_internal.h"

#include "balkon/config.h"
#include "balkon/mqtt.h"
#include "balkon/series.h"
#include "balkon/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void ha_add_number(cJSON *json, const char *key, double value, double step)
{
    if (isfinite(value))
        cJSON_AddNumberToObject(json, key, round(value / step) * step);
    else
        cJSON_AddNullToObject(json, key);
}

void ha_add_time(cJSON *json, const char *key, int64_t ts_ms)
{
    char iso[BALKON_ISO_MAX];
    if (ts_ms == INT64_MIN)
        cJSON_AddNullToObject(json, key);
    else
        cJSON_AddStringToObject(json, key, balkon_format_iso(ts_ms, iso, sizeof iso));
}

static void state_topic(const struct ha *ha, const char *suffix, char *topic, size_t size)
{
    snprintf(topic, size, "%s/state/%.120s", ha->prefix, suffix);
}

double ha_price_now(const struct ha *ha, int64_t now_ms)
{
    for (size_t i = 0; i < ha->price_count; i++) {
        const struct balkon_price_slot *slot = &ha->prices[i];
        if (now_ms >= slot->slot_ts_ms && now_ms < slot->slot_ts_ms + (int64_t)slot->slot_s * 1000)
            return slot->price_per_kwh;
    }
    return NAN;
}

void ha_plan_summarise(const struct ev_plan *plan, int64_t now_ms, struct ha_plan_summary *out)
{
    memset(out, 0, sizeof *out);
    out->next_change_ms = INT64_MIN;
    out->until_ms = INT64_MIN;
    snprintf(out->strategy, sizeof out->strategy, "%s", plan->strategy);
    size_t first = 0; /* the slot in force now; slots[0] unless the plan is older */
    while (first + 1 < plan->count && plan->slots[first + 1].slot_ts_ms <= now_ms)
        first++;
    if (plan->count == 0) {
        out->valid = true;
        return;
    }
    snprintf(out->mode_now, sizeof out->mode_now, "%s", plan->slots[first].mode);
    for (size_t i = first; i < plan->count; i++) {
        const struct balkon_plan_slot_row *slot = &plan->slots[i];
        if (isfinite(slot->cost))
            out->expected_cost += slot->cost;
        if (isfinite(slot->cost) && isfinite(slot->cost_no_battery))
            out->expected_saving += slot->cost_no_battery - slot->cost;
        if (!out->next_mode[0] && strcmp(slot->mode, out->mode_now) != 0) {
            snprintf(out->next_mode, sizeof out->next_mode, "%s", slot->mode);
            out->next_change_ms = slot->slot_ts_ms;
        }
    }
    int64_t slot_ms =
        plan->count > 1 ? plan->slots[1].slot_ts_ms - plan->slots[0].slot_ts_ms : 900000;
    out->until_ms = plan->slots[plan->count - 1].slot_ts_ms + slot_ms;
    out->valid = true;
}

static void publish_site(struct ha *ha, int64_t now_ms)
{
    char topic[HA_TOPIC_MAX];
    cJSON *json = cJSON_CreateObject();
    const struct ev_site_status *s = &ha->status;
    ha_add_number(json, "pv_w", ha->have_status ? s->pv_w : NAN, 0.1);
    ha_add_number(json, "home_w", ha->have_status ? s->home_w : NAN, 0.1);
    ha_add_number(json, "grid_w", ha->have_status ? s->grid_w : NAN, 0.1);
    ha_add_number(json, "battery_w", ha->have_status ? s->battery_w : NAN, 0.1);
    ha_add_number(json, "soc_pct", ha->have_status ? s->soc_pct : NAN, 0.1);
    ha_add_number(json, "price_per_kwh", ha_price_now(ha, now_ms), 0.0001);
    cJSON_AddStringToObject(json, "currency", ha->currency);
    ha_add_time(json, "ts", ha->have_status ? s->ts_ms : INT64_MIN);
    state_topic(ha, "site", topic, sizeof topic);
    ha_publish_json(ha, topic, json);
}

static void publish_control_and_plan(struct ha *ha)
{
    char topic[HA_TOPIC_MAX];
    if (ha->have_control) {
        const struct ev_control_status *c = &ha->control;
        cJSON *json = cJSON_CreateObject();
        ha_add_number(json, "target_w", c->target_w, 1);
        cJSON_AddStringToObject(json, "state", c->state);
        cJSON_AddStringToObject(json, "mode", c->mode);
        ha_add_number(json, "setpoint_w", c->setpoint_w, 0.1);
        ha_add_number(json, "grid_w", c->grid_w, 0.1);
        state_topic(ha, "control", topic, sizeof topic);
        ha_publish_json(ha, topic, json);
    }
    if (ha->plan.valid) {
        const struct ha_plan_summary *p = &ha->plan;
        cJSON *json = cJSON_CreateObject();
        cJSON_AddStringToObject(json, "strategy", p->strategy);
        cJSON_AddStringToObject(json, "mode_now", p->mode_now);
        if (p->next_mode[0])
            cJSON_AddStringToObject(json, "next_mode", p->next_mode);
        else
            cJSON_AddNullToObject(json, "next_mode");
        ha_add_time(json, "next_change", p->next_change_ms);
        ha_add_number(json, "expected_cost", p->expected_cost, 0.01);
        ha_add_number(json, "expected_saving", p->expected_saving, 0.01);
        ha_add_time(json, "until", p->until_ms);
        state_topic(ha, "plan", topic, sizeof topic);
        ha_publish_json(ha, topic, json);
        ha_publish_text(ha, "state/strategy", p->strategy, true);
    }
}

static void publish_device(struct ha *ha, const struct ha_device *device)
{
    const struct ev_device_state *s = &device->state;
    char id[BALKON_ID_MAX], suffix[HA_TOPIC_MAX], topic[HA_TOPIC_MAX];
    ha_sanitize(s->device_id, id, sizeof id);
    cJSON *json = cJSON_CreateObject();
    cJSON_AddBoolToObject(json, "online", s->online);
    cJSON_AddStringToObject(json, "type", s->type);
    for (size_t i = 0; i < s->value_count && i < EV_DEVICE_VALUES_MAX; i++)
        ha_add_number(json, s->values[i].name, s->online ? s->values[i].value : NAN, 0.001);
    snprintf(suffix, sizeof suffix, "device/%s", id);
    state_topic(ha, suffix, topic, sizeof topic);
    ha_publish_json(ha, topic, json);
    if (s->roles & DEVICE_ROLE_PLUG) {
        for (size_t i = 0; i < s->value_count && i < EV_DEVICE_VALUES_MAX; i++)
            if (strcmp(s->values[i].name, "on") == 0) {
                snprintf(suffix, sizeof suffix, "state/plug/%s", id);
                ha_publish_text(ha, suffix, s->values[i].value != 0 ? "ON" : "OFF", true);
            }
    }
}

void ha_publish_state(struct ha *ha)
{
    int64_t now_ms = balkon_clock_now_ms(&ha->ctx->clock);
    publish_site(ha, now_ms);
    ha_energy_refresh(ha, now_ms);
    publish_control_and_plan(ha);
    for (size_t i = 0; i < ha->device_count; i++)
        publish_device(ha, &ha->devices[i]);
}
