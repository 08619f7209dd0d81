/* libFuzzer target: the parsers of what strangers on the LAN send, and of the register map
 * a user writes: byte 0 picks mdns_parse (an mDNS answer, src/devices/mdns.c),
 * sma_em_parse (a Speedwire datagram, src/devices/sma_speedwire.c) or
 * balkon_modbus_map_parse (a "registers" string, src/drivers/modbus_map.c, then
 * balkon_modbus_decode on the rest). */
#include "mdns.h"
#include "sma_speedwire.h"

#include "balkon/modbus_map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void count(const struct mdns_record *record, void *user)
{
    (void)record;
    (*(unsigned long *)user)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *body = data + 1;
    size_t n = size - 1;
    switch (data[0] % 3) {
    case 0: {
        unsigned long records = 0;
        mdns_parse(body, n, count, &records);
        break;
    }
    case 1: {
        struct sma_em_reading reading;
        sma_em_parse(body, n, &reading);
        break;
    }
    default: {
        char *text = malloc(n + 1);
        if (!text)
            return 0;
        memcpy(text, body, n);
        text[n] = '\0';
        struct balkon_modbus_map map;
        char why[256];
        if (balkon_modbus_map_parse(text, &map, why, sizeof why) && n >= 4) {
            uint16_t regs[2] = {(uint16_t)(body[0] << 8 | body[1]),
                                (uint16_t)(body[2] << 8 | body[3])};
            double value;
            for (size_t i = 0; i < map.count; i++)
                balkon_modbus_decode(regs, map.entries[i].type, map.entries[i].word_swap, &value);
        }
        free(text);
        break;
    }
    }
    return 0;
}
