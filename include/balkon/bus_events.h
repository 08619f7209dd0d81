/* The bus's events, one line each: the one list that include/balkon/bus.h turns into
 * enum bus_event and src/core/bus.c into the table of names, payload sizes and copies, so
 * an event cannot be half registered (as rtl_433 lists its decoders).
 *
 *   BUS_EVENT(ID, name)                     BUS_EV_<ID>, payload struct ev_<name>, flat:
 *                                           a queued copy is the struct's bytes.
 *   BUS_EVENT_ARRAY(ID, name, items, count) struct ev_<name> points to `count` (size_t)
 *                                           elements at `items`; a queued copy gets its own.
 *
 * Events carry facts (what happened); questions and orders are direct calls through the
 * services (include/balkon/services.h). Not guarded: included once per expansion. */
BUS_EVENT(METER_READING, meter_reading)
BUS_EVENT(DEVICE_STATE, device_state)
BUS_EVENT(SITE_STATUS, site_status)
BUS_EVENT(SAMPLE, sample)
BUS_EVENT(CONFIG_CHANGED, config_changed)
BUS_EVENT(SHUTDOWN, shutdown)
BUS_EVENT_ARRAY(PRICES, prices, slots, count)
BUS_EVENT_ARRAY(FORECAST, forecast, slots, count)
BUS_EVENT_ARRAY(SIGNAL, signal, slots, count)
BUS_EVENT(PROVIDER_STATUS, provider_status)
BUS_EVENT_ARRAY(PLAN, plan, slots, count)
BUS_EVENT(COMMAND_RESULT, command_result)
BUS_EVENT(CONTROL_STATUS, control_status)
BUS_EVENT(DEVICE_ERROR, device_error)
BUS_EVENT(DEVICE_ONLINE, device_online)
BUS_EVENT(LOADS_STATUS, loads_status)
BUS_EVENT(DAEMON_STARTED, daemon_started)
BUS_EVENT(RECOMMENDATIONS, recommendations)
BUS_EVENT(RECOMMENDATION, recommendation)
BUS_EVENT(STORAGE_STATUS, storage_status)
BUS_EVENT(CLOCK_JUMPED, clock_jumped)
BUS_EVENT(HTTP_PROBE_ANSWERED, http_probe_answered)
