/* The SMA Energy Meter / Sunny Home Manager datagram (Speedwire, protocol 0x6069): a pure
 * parser, so the driver (sma_speedwire.c), the unit tests and fuzzers share it. */
#ifndef BALKON_SMA_SPEEDWIRE_H
#define BALKON_SMA_SPEEDWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sma_em_reading {
    uint16_t susy_id;            /* 270 EM 1.0, 349 EM 2.0, 372 Home Manager 2.0 */
    uint32_t serial;             /* as printed on the device */
    uint32_t ticker_ms;          /* the device's millisecond counter */
    bool has_power;              /* 1.4.0 and 2.4.0 were there */
    double grid_w;               /* + import / - export: (1.4.0 - 2.4.0) / 10 */
    double import_wh, export_wh; /* 1.8.0, 2.8.0 (Ws / 3600); NAN when absent */
    double phase_w[3];           /* (21/41/61.4.0 - 22/42/62.4.0) / 10; NAN when absent */
    double voltage_v[3];         /* 32/52/72.4.0 in mV / 1000; NAN when absent */
    double current_a[3];         /* 31/51/71.4.0 in mA / 1000; NAN when absent */
    double frequency_hz;         /* 14.4.0 in mHz / 1000 (newer firmware); NAN when absent */
    char firmware[16];           /* 144.0.0: "2.18.14.R"; "" when absent */
};

enum sma_em_result {
    SMA_EM_OK = 0,
    SMA_EM_NOT_EMETER = -1, /* a Speedwire datagram of another protocol (inverters): skip */
    SMA_EM_MALFORMED = -2,  /* not Speedwire, cut short, an unknown record type */
};

/* Parses one datagram into out. */
enum sma_em_result sma_em_parse(const uint8_t *data, size_t size, struct sma_em_reading *out);

#endif
