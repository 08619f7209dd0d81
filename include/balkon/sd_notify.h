/* systemd's service notification protocol (sd_notify(3)), spoken without libsystemd.
 *
 * Under systemd with Type=notify, $NOTIFY_SOCKET names a unix datagram socket (a path, or
 * "@name" for an abstract one); each message is one datagram of newline-separated
 * KEY=VALUE lines: READY=1, RELOADING=1, STOPPING=1, STATUS=..., WATCHDOG=1. Outside
 * systemd the variable is unset and every call here does nothing.
 *
 * The module balkon_module_systemd (include/balkon/module.h) sends READY=1 once the daemon
 * runs, a STATUS= line every 30 s, STOPPING=1 on the way down and the watchdog pings from a
 * timer on the loop, so a stalled loop stops pinging and systemd restarts the daemon. A
 * ping goes out only while the HTTP server answers its loopback self-probe
 * (BUS_EV_HTTP_PROBE_ANSWERED, src/http/probe.c), so a server that no longer accepts or
 * answers gets the daemon restarted too. The daemon itself sends RELOADING=1 ... READY=1
 * around a SIGHUP reload. */
#ifndef BALKON_SD_NOTIFY_H
#define BALKON_SD_NOTIFY_H

#include <stdint.h>

/* Sends state (one or more "KEY=VALUE" lines) to $NOTIFY_SOCKET. Returns 0 when sent or
 * when there is no $NOTIFY_SOCKET, or a negative errno (the caller may ignore it: systemd
 * then simply does not hear). Never blocks. */
int balkon_sd_notify(const char *state);

/* Sends "RELOADING=1" with MONOTONIC_USEC, as systemd 253 and later ask for. */
int balkon_sd_notify_reloading(void);

/* The watchdog timeout from $WATCHDOG_USEC in microseconds when it is meant for this
 * process ($WATCHDOG_PID unset or ours), else 0. */
uint64_t balkon_sd_watchdog_usec(void);

/* How often the HTTP server must probe itself for the watchdog to be fed: a quarter of the
 * watchdog timeout, so each ping (every half of it) has two probes to go on. 0 when there
 * is no watchdog to feed ($NOTIFY_SOCKET or $WATCHDOG_USEC unset, or not ours): then
 * nobody probes. */
uint64_t balkon_sd_probe_period_ms(void);

/* The module (src/core/sd_notify.c), last in the daemon's start order. */
struct balkon_module;
extern const struct balkon_module balkon_module_systemd;

#endif
