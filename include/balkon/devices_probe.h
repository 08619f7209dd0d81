/* Recognising a device from one of its answers, for `balkonsolard detect`: each function
 * takes the body of one HTTP GET that the detector made to a host and says whether the
 * answer is that device's. Pure (no I/O); the detector makes the request. */
#ifndef BALKON_DEVICES_PROBE_H
#define BALKON_DEVICES_PROBE_H

#include <stdbool.h>
#include <stddef.h>

/* AhoyDTU (type "ahoydtu"): the body of GET http://<host>/api/inverter/list. */
bool balkon_ahoydtu_probe(const char *body, size_t size);
/* APsystems EZ1 (type "apsystems_ez1"): the body of GET http://<host>:8050/getDeviceInfo. */
bool balkon_apsystems_ez1_probe(const char *body, size_t size);
/* ESPHome (type "esphome"): the body of GET http://<host>/sensor/<id> (or /switch/<id>):
 * {"id":"sensor-…","state":…,"value":…}. */
bool balkon_esphome_probe(const char *body, size_t size);
/* Home Assistant (type "home_assistant"): the body of GET http://<host>:8123/api/ (with or
 * without a token: {"message":"API running."}, or the 401 answer "401: Unauthorized"). */
bool balkon_home_assistant_probe(const char *body, size_t size);

#endif
