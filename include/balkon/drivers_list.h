/* The driver table: one line per driver. Adding a driver = its descriptor
 * (src/drivers/<name>.c), its runtime (src/devices/<name>.c) and one line here; a driver
 * with one half missing does not link. */
BALKON_DRIVER(simulator)
BALKON_DRIVER(shelly_gen2)
BALKON_DRIVER(shelly_gen1)
BALKON_DRIVER(http_json)
BALKON_DRIVER(marstek_venus)
BALKON_DRIVER(tasmota)
BALKON_DRIVER(opendtu)
BALKON_DRIVER(zendure)
BALKON_DRIVER(mqtt_json)
BALKON_DRIVER(ahoydtu)
BALKON_DRIVER(apsystems_ez1)
BALKON_DRIVER(esphome)
BALKON_DRIVER(home_assistant)
BALKON_DRIVER(modbus)
BALKON_DRIVER(sunspec)
BALKON_DRIVER(sma_speedwire)
