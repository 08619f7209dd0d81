/* A Modbus register map as the config's "registers" string writes it (the "modbus" driver,
 * docs/devices.md): which value sits in which registers, of which type, scaled how. Pure,
 * so the config's check and the driver share one parser.
 *
 *   map    = entry { ("," | ";") entry }
 *   entry  = name "=" [ "input:" | "holding:" ] address ":" type [ "*" factor | ":sf" address ]
 *   type   = int16 | uint16 | int32 | uint32 | float32, 32-bit types high word first,
 *            or int32_sw | uint32_sw | float32_sw: low word first
 * name is a value name with its unit (power_w, soc_pct, energy_wh …); ":sfA" multiplies by
 * 10^(the int16 at holding register A), SunSpec's scale factors. */
#ifndef BALKON_MODBUS_MAP_H
#define BALKON_MODBUS_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BALKON_MODBUS_MAP_MAX 16

enum balkon_modbus_table { BALKON_MODBUS_HOLDING, BALKON_MODBUS_INPUT };

enum balkon_modbus_type {
    BALKON_MODBUS_INT16,
    BALKON_MODBUS_UINT16,
    BALKON_MODBUS_INT32,
    BALKON_MODBUS_UINT32,
    BALKON_MODBUS_FLOAT32,
};

struct balkon_modbus_entry {
    char name[32];
    enum balkon_modbus_table table;
    uint16_t address;
    enum balkon_modbus_type type;
    bool word_swap; /* 32-bit values: low word first */
    double factor;  /* 1 unless "*factor" */
    bool has_sf;
    uint16_t sf_address;
};

struct balkon_modbus_map {
    struct balkon_modbus_entry entries[BALKON_MODBUS_MAP_MAX];
    size_t count;
};

/* Parses text into map; false with what is wrong (which entry, which part) in why. */
bool balkon_modbus_map_parse(const char *text, struct balkon_modbus_map *map, char *why,
                             size_t why_size);
/* Registers an entry's value takes (1 or 2). */
unsigned balkon_modbus_type_regs(enum balkon_modbus_type type);
/* The value of regs (as many as the type takes), or false when it is the type's "not
 * implemented" marker (SunSpec: 0x8000, 0xFFFF, 0x80000000 …) or not finite. */
bool balkon_modbus_decode(const uint16_t *regs, enum balkon_modbus_type type, bool word_swap,
                          double *out);

#endif
