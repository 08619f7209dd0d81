/* The device values the daemon knows, one line each (as rtl_433 lists its output fields):
 * the name a driver gives a value, its unit, and how Home Assistant and Prometheus see it.
 * Every module that reads meaning into a value's name (the site's stored units, Home
 * Assistant discovery) asks balkon_value_info, so a name means one thing everywhere.
 *
 * A name carries its unit (STYLE.md: power_w, energy_wh, soc_pct). A name not listed here
 * (a new driver's, a generic device's) is understood by that unit suffix alone, in one
 * place: balkon_value_info.
 *
 * BALKON_VALUE(name, unit, ha_class, kind, label)
 *   unit      the unit stored with the value's series and shown to Home Assistant
 *   ha_class  Home Assistant's sensor device_class; NULL: not announced as a sensor
 *   kind      GAUGE: a level that goes up and down (HA state_class "measurement",
 *             Prometheus gauge); COUNTER: a running total that only grows until the device
 *             resets it (HA "total_increasing", Prometheus counter)
 *   label     the sensor's name in words; NULL: the name without its unit suffix
 *
 * energy_wh is a meter's running total (Shelly, Tasmota, OpenDTU's YieldTotal); the energy
 * held in a battery is stored_wh. */
#ifndef BALKON_VALUES_H
#define BALKON_VALUES_H

#include <stddef.h>

#define BALKON_VALUES(X)                                                                           \
    X(power_w, "W", "power", GAUGE, NULL)                                                          \
    X(dc_power_w, "W", "power", GAUGE, NULL)                                                       \
    X(clipped_w, "W", "power", GAUGE, NULL)                                                        \
    X(limit_w, "W", "power", GAUGE, NULL)                                                          \
    X(max_power_w, "W", "power", GAUGE, NULL)                                                      \
    X(input_limit_w, "W", "power", GAUGE, NULL)                                                    \
    X(solar_w, "W", "power", GAUGE, NULL)                                                          \
    X(ac_input_w, "W", "power", GAUGE, NULL)                                                       \
    X(ac_output_w, "W", "power", GAUGE, NULL)                                                      \
    X(soc_pct, "%", "battery", GAUGE, "state of charge")                                           \
    X(min_soc_pct, "%", NULL, GAUGE, NULL)                                                         \
    X(max_soc_pct, "%", NULL, GAUGE, NULL)                                                         \
    X(limit_pct, "%", NULL, GAUGE, NULL)                                                           \
    X(energy_wh, "Wh", "energy", COUNTER, NULL)                                                    \
    X(energy_export_wh, "Wh", "energy", COUNTER, NULL)                                             \
    X(yield_day_wh, "Wh", "energy", COUNTER, "yield today")                                        \
    X(stored_wh, "Wh", "energy_storage", GAUGE, "stored energy")                                   \
    X(capacity_wh, "Wh", "energy_storage", GAUGE, NULL)                                            \
    X(voltage_v, "V", "voltage", GAUGE, NULL)                                                      \
    X(current_a, "A", NULL, GAUGE, NULL)                                                           \
    X(temperature_c, "°C", "temperature", GAUGE, NULL)                                             \
    X(data_age_s, "s", NULL, GAUGE, NULL)                                                          \
    X(on, "", NULL, GAUGE, NULL)                                                                   \
    X(producing, "", NULL, GAUGE, NULL)                                                            \
    X(reachable, "", NULL, GAUGE, NULL)                                                            \
    X(ac_mode, "", NULL, GAUGE, NULL)                                                              \
    X(setpoint_w, "W", "power", GAUGE, "standing setpoint")                                        \
    X(failsafe_trips, "", NULL, COUNTER, "failsafe expiries")

enum balkon_value_kind {
    BALKON_VALUE_GAUGE,
    BALKON_VALUE_COUNTER,
};

struct balkon_value_info {
    const char *name; /* the listed name, or the suffix ("_w") an unlisted name matched */
    const char *unit; /* "" when the name carries none */
    const char *ha_class;
    enum balkon_value_kind kind;
    const char *label;
};

/* What a value's name means: its catalogue line, else the line of its unit suffix, else a
 * unitless gauge that Home Assistant is not told about. Never NULL; static storage. */
const struct balkon_value_info *balkon_value_info(const char *name);

/* Home Assistant's state_class for the kind: "measurement" or "total_increasing". */
const char *balkon_value_ha_state_class(enum balkon_value_kind kind);

/* The sensor's name in words: the label, else the name without its unit suffix and with
 * spaces for underscores ("dc_power_w" → "dc power"). */
void balkon_value_words(const char *name, char *out, size_t size);

#endif
