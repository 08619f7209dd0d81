/* The device value catalogue (include/balkon/values.h) and the one place that reads a
 * unit from a name's suffix. */
#include "balkon/values.h"

#include <stdio.h>
#include <string.h>

#define VALUE_LINE(name, unit, ha_class, kind, label)                                              \
    {#name, unit, ha_class, BALKON_VALUE_##kind, label},

static const struct balkon_value_info values[] = {BALKON_VALUES(VALUE_LINE)};

/* Names no line lists, by their unit suffix. "_kwh" is a counter a generic device may
 * report; the daemon's own drivers count in Wh. */
static const struct balkon_value_info suffixes[] = {
    {"_w", "W", "power", BALKON_VALUE_GAUGE, NULL},
    {"_wh", "Wh", "energy", BALKON_VALUE_COUNTER, NULL},
    {"_kwh", "kWh", "energy", BALKON_VALUE_COUNTER, NULL},
    {"_pct", "%", NULL, BALKON_VALUE_GAUGE, NULL},
    {"_v", "V", "voltage", BALKON_VALUE_GAUGE, NULL},
    {"_a", "A", NULL, BALKON_VALUE_GAUGE, NULL},
    {"_c", "°C", "temperature", BALKON_VALUE_GAUGE, NULL},
};

static const struct balkon_value_info unknown = {"", "", NULL, BALKON_VALUE_GAUGE, NULL};

const struct balkon_value_info *balkon_value_info(const char *name)
{
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        if (strcmp(values[i].name, name) == 0)
            return &values[i];
    size_t len = strlen(name);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t suffix_len = strlen(suffixes[i].name);
        if (len > suffix_len && strcmp(name + len - suffix_len, suffixes[i].name) == 0)
            return &suffixes[i];
    }
    return &unknown;
}

const char *balkon_value_ha_state_class(enum balkon_value_kind kind)
{
    return kind == BALKON_VALUE_COUNTER ? "total_increasing" : "measurement";
}

void balkon_value_words(const char *name, char *out, size_t size)
{
    const struct balkon_value_info *info = balkon_value_info(name);
    if (info->label) {
        snprintf(out, size, "%s", info->label);
        return;
    }
    const char *unit_suffix = strrchr(name, '_');
    snprintf(out, size, "%.*s", (int)(unit_suffix ? (size_t)(unit_suffix - name) : strlen(name)),
             name);
    for (char *c = out; *c; c++)
        *c = *c == '_' ? ' ' : *c;
}
