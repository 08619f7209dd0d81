/* The "registers" string of a modbus device (grammar in include/balkon/modbus_map.h). */
#include "balkon/modbus_map.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    enum balkon_modbus_type type;
    bool word_swap;
} TYPES[] = {
    {"int16", BALKON_MODBUS_INT16, false},     {"uint16", BALKON_MODBUS_UINT16, false},
    {"int32", BALKON_MODBUS_INT32, false},     {"uint32", BALKON_MODBUS_UINT32, false},
    {"float32", BALKON_MODBUS_FLOAT32, false}, {"int32_sw", BALKON_MODBUS_INT32, true},
    {"uint32_sw", BALKON_MODBUS_UINT32, true}, {"float32_sw", BALKON_MODBUS_FLOAT32, true},
};

unsigned balkon_modbus_type_regs(enum balkon_modbus_type type)
{
    return type == BALKON_MODBUS_INT16 || type == BALKON_MODBUS_UINT16 ? 1 : 2;
}

static bool parse_address(const char *text, uint16_t *out)
{
    char *end;
    if (!isdigit((unsigned char)text[0]))
        return false;
    long value = strtol(text, &end, 10);
    if (*end || value < 0 || value > 65535)
        return false;
    *out = (uint16_t)value;
    return true;
}

/* One entry ("power_w=40087:int16:sf40091", already trimmed) into e. */
static bool parse_entry(char *text, struct balkon_modbus_entry *e, char *why, size_t why_size)
{
    char *eq = strchr(text, '=');
    if (!eq) {
        snprintf(why, why_size, "expected name=address:type");
        return false;
    }
    *eq = '\0';
    size_t name_len = strlen(text);
    if (name_len == 0 || name_len >= sizeof e->name) {
        snprintf(why, why_size, "the name must be 1 to %zu characters", sizeof e->name - 1);
        return false;
    }
    for (const char *c = text; *c; c++) {
        if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '_') {
            snprintf(why, why_size, "the name \"%s\" may hold only a-z, 0-9 and '_'", text);
            return false;
        }
    }
    snprintf(e->name, sizeof e->name, "%s", text);
    char *rest = eq + 1;
    e->table = BALKON_MODBUS_HOLDING;
    if (strncmp(rest, "input:", 6) == 0) {
        e->table = BALKON_MODBUS_INPUT;
        rest += 6;
    } else if (strncmp(rest, "holding:", 8) == 0) {
        rest += 8;
    }
    char *colon = strchr(rest, ':');
    if (!colon) {
        snprintf(why, why_size, "expected address:type after \"%s=\"", e->name);
        return false;
    }
    *colon = '\0';
    if (!parse_address(rest, &e->address)) {
        snprintf(why, why_size, "the address must be 0 to 65535, got \"%s\"", rest);
        return false;
    }
    char *type = colon + 1;
    char *scale = type + strcspn(type, "*:");
    char scale_kind = *scale;
    *scale = '\0';
    size_t t = 0;
    while (t < sizeof TYPES / sizeof *TYPES && strcmp(TYPES[t].name, type) != 0)
        t++;
    if (t == sizeof TYPES / sizeof *TYPES) {
        snprintf(why, why_size,
                 "unknown type \"%s\" (int16, uint16, int32, uint32, float32, int32_sw, "
                 "uint32_sw, float32_sw)",
                 type);
        return false;
    }
    e->type = TYPES[t].type;
    e->word_swap = TYPES[t].word_swap;
    e->factor = 1;
    e->has_sf = false;
    if ((uint32_t)e->address + balkon_modbus_type_regs(e->type) > 65536) {
        snprintf(why, why_size, "a %s at %u runs past register 65535", type, e->address);
        return false;
    }
    if (scale_kind == '*') {
        char *end;
        e->factor = strtod(scale + 1, &end);
        if (end == scale + 1 || *end || !isfinite(e->factor) || e->factor == 0) {
            snprintf(why, why_size,
                     "the factor after '*' must be a number other than 0, got \"%s\"", scale + 1);
            return false;
        }
    } else if (scale_kind == ':') {
        if (strncmp(scale + 1, "sf", 2) != 0 || !parse_address(scale + 3, &e->sf_address)) {
            snprintf(why, why_size,
                     "expected \":sfADDRESS\" (a scale factor register 0 to 65535), got \"%s\"",
                     scale + 1);
            return false;
        }
        e->has_sf = true;
    }
    return true;
}

bool balkon_modbus_map_parse(const char *text, struct balkon_modbus_map *map, char *why,
                             size_t why_size)
{
    map->count = 0;
    char copy[1024];
    if (strlen(text) >= sizeof copy) {
        snprintf(why, why_size, "longer than %zu characters", sizeof copy - 1);
        return false;
    }
    snprintf(copy, sizeof copy, "%s", text);
    char *save = NULL;
    int index = 0;
    for (char *item = strtok_r(copy, ",;", &save); item; item = strtok_r(NULL, ",;", &save)) {
        index++;
        /* Trim, and drop spaces around ':' '=' '*' for a forgiving hand-written map. */
        char entry[256];
        size_t n = 0;
        for (const char *c = item; *c && n + 1 < sizeof entry; c++)
            if (!isspace((unsigned char)*c))
                entry[n++] = *c;
        entry[n] = '\0';
        if (!entry[0])
            continue;
        if (map->count == BALKON_MODBUS_MAP_MAX) {
            snprintf(why, why_size, "more than %d entries", BALKON_MODBUS_MAP_MAX);
            return false;
        }
        struct balkon_modbus_entry *e = &map->entries[map->count];
        char problem[200];
        char shown[64];
        snprintf(shown, sizeof shown, "%.63s", entry);
        if (!parse_entry(entry, e, problem, sizeof problem)) {
            snprintf(why, why_size, "entry %d \"%s\": %s", index, shown, problem);
            return false;
        }
        for (size_t i = 0; i < map->count; i++) {
            if (strcmp(map->entries[i].name, e->name) == 0) {
                snprintf(why, why_size, "entry %d: \"%s\" is mapped twice", index, e->name);
                return false;
            }
        }
        map->count++;
    }
    if (map->count == 0) {
        snprintf(why, why_size, "no entries");
        return false;
    }
    return true;
}

bool balkon_modbus_decode(const uint16_t *regs, enum balkon_modbus_type type, bool word_swap,
                          double *out)
{
    uint32_t hi = regs[0], lo = 0;
    if (balkon_modbus_type_regs(type) == 2) {
        hi = word_swap ? regs[1] : regs[0];
        lo = word_swap ? regs[0] : regs[1];
    }
    uint32_t u32 = hi << 16 | lo;
    switch (type) {
    case BALKON_MODBUS_INT16:
        if (regs[0] == 0x8000)
            return false;
        *out = (int16_t)regs[0];
        return true;
    case BALKON_MODBUS_UINT16:
        if (regs[0] == 0xFFFF)
            return false;
        *out = regs[0];
        return true;
    case BALKON_MODBUS_INT32:
        if (u32 == 0x80000000u)
            return false;
        *out = (int32_t)u32;
        return true;
    case BALKON_MODBUS_UINT32:
        if (u32 == 0xFFFFFFFFu)
            return false;
        *out = u32;
        return true;
    case BALKON_MODBUS_FLOAT32: {
        float f;
        memcpy(&f, &u32, sizeof f);
        if (!isfinite(f))
            return false;
        *out = f;
        return true;
    }
    }
    return false;
}
