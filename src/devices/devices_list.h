/* The driver table: one line per driver. Adding a driver = one file + one line here. */
BALKON_DRIVER(balkon_driver_simulator)
BALKON_DRIVER(balkon_driver_shelly_gen2)
BALKON_DRIVER(balkon_driver_shelly_gen1)
BALKON_DRIVER(balkon_driver_http_json)
BALKON_DRIVER(balkon_driver_tasmota)
BALKON_DRIVER(balkon_driver_opendtu)
