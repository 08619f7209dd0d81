/* A fake Modbus TCP server for tests, on 127.0.0.1 with an ephemeral port, in its own
 * thread: it serves holding registers (function 3, also as input registers, function 4)
 * and takes writes (6, 16) of the registers a test defined. A read or write touching an
 * undefined register answers exception 2 (illegal data address), another function
 * exception 1, as devices do; a frame that is not Modbus TCP closes the connection. */
#ifndef BALKON_FAKE_MODBUS_H
#define BALKON_FAKE_MODBUS_H

#include <stddef.h>
#include <stdint.h>

struct fake_modbus;

struct fake_modbus *fake_modbus_start(void);
void fake_modbus_stop(struct fake_modbus *fake);
int fake_modbus_port(const struct fake_modbus *fake);
/* Defines count registers from address with values. */
void fake_modbus_set(struct fake_modbus *fake, uint16_t address, const uint16_t *values,
                     size_t count);
/* Defines regs registers from address holding text, two bytes each, NUL-padded (a SunSpec
 * string). */
void fake_modbus_set_string(struct fake_modbus *fake, uint16_t address, const char *text,
                            size_t regs);
/* A defined register's value (0 when undefined). */
uint16_t fake_modbus_get(struct fake_modbus *fake, uint16_t address);
/* Requests answered so far (also exceptions). */
int fake_modbus_requests(struct fake_modbus *fake);

#endif
