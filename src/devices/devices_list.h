/* The driver table: one line per driver. Adding a driver = one file + one line here. */
BALKON_DRIVER(balkon_driver_simulator)
