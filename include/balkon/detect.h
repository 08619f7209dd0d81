/* Finding out what answers at an address: `balkonsolard detect HOST[:PORT]` and
 * POST /api/v1/devices/detect probe the local APIs of the devices the drivers know, with
 * short timeouts, and answer with the type, model and firmware found, a ready device
 * config and one live reading.
 *
 * The probes block (sockets with deadlines, getaddrinfo), so they run on a pool thread or
 * in the command line tool, never on the daemon's loop. */
#ifndef BALKON_DETECT_H
#define BALKON_DETECT_H

#include <stddef.h>

/* Each probe's deadline unless the caller says otherwise. */
#define BALKON_DETECT_TIMEOUT_MS 1500

/* Probes target ("192.168.1.50", "shelly.local", "10.0.0.7:8080"; with a port every probe
 * uses it, without one each its device's default port). On success *json_out is the
 * answer (malloc'd JSON text, the caller frees it): {"found":true,"type":…,"model":…,
 * "firmware":…,"config":{…},"reading":{…},"probes":[…]} or {"found":false,"probes":[…]},
 * each probe with what it saw. Returns 0, or BALKON_E_INVAL with what is wrong with target
 * in msg, or BALKON_E_NOMEM. */
int balkon_detect_run(const char *target, int timeout_ms, char **json_out, char *msg,
                      size_t msg_size);

/* How long a browse listens for answers unless the caller says otherwise. */
#define BALKON_DETECT_BROWSE_MS 2000

/* Asks the LAN by mDNS / DNS-SD (224.0.0.251:5353) for the services devices announce
 * (_shelly._tcp, _http._tcp, _esphomelib._tcp) and lists who answered within timeout_ms:
 * {"candidates":[{"name":…,"service":"_shelly._tcp","host":…,"address":…,"port":80,
 * "txt":{…},"likely_type":"shelly_gen2","detect":"192.168.1.50"}],…}. Blocking like
 * balkon_detect_run. 0, or BALKON_E_IO (msg says why: no multicast route …) / _NOMEM. */
int balkon_detect_browse(int timeout_ms, char **json_out, char *msg, size_t msg_size);

/* `balkonsolard detect [--timeout-ms N] HOST[:PORT]` or `detect --browse`: prints the
 * answer; exit 0 when a device (a candidate) was found, 1 when none, 2 on bad arguments,
 * 3 when the browse could not be sent. argv[0] is "detect". */
int balkon_detect_main(int argc, char **argv);

#endif
