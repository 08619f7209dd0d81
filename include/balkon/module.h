/* A module: one concern of the daemon (devices, site balance, recorder, HTTP …).
 *
 * Modules never include or call each other: they tell facts through the bus and ask each
 * other through the services table (include/balkon/services.h). The store is a repository
 * layer, not a module: modules may call it for their own reads and writes. A module's start
 * registers its handles on the loop and its bus subscriptions; stop closes its handles (their
 * memory is released in their close callbacks); free releases the rest once the loop has ended. If
 * start fails, the module has cleaned up after itself and stop/free are not called. */
#ifndef BALKON_MODULE_H
#define BALKON_MODULE_H

#include "balkon/clock.h"

#include <stddef.h>
#include <uv.h>

struct balkon_bus;
struct balkon_store;
struct balkon_store_readers;
struct balkon_config;
struct balkon_mqtt;
struct balkon_services;

/* What every module is given. Owned by the daemon; valid from start to free. */
struct balkon_ctx {
    uv_loop_t *loop;
    struct balkon_bus *bus;
    struct balkon_clock clock;
    struct balkon_store *store;
    /* Read-only connections for reads on libuv's thread pool (balkon_store_readers_*);
     * NULL for an in-memory database, whose reads then run on the loop. */
    struct balkon_store_readers *readers;
    const struct balkon_config *config; /* the running config; replaced on reload */
    int64_t started_ms;                 /* wall time the daemon started */
    /* The one MQTT client (include/balkon/mqtt.h), NULL when mqtt.enabled is false. Owned
     * by the daemon: made before the first module starts, closed after the last one
     * stopped, kept across reloads (its settings need a restart). It may be disconnected
     * at any time; subscriptions survive reconnects. A module's stop drops the module's
     * subscriptions (balkon_mqtt_unsubscribe_all); its free must not use the client. */
    struct balkon_mqtt *mqtt;
    /* Requests between modules (include/balkon/services.h). Owned by the daemon; each
     * module fills its own entry while it runs. */
    struct balkon_services *services;
};

/* Each module defines one `const struct balkon_module balkon_module_<name>`; the daemon,
 * which starts them, declares them (include/balkon/daemon.h). */
struct balkon_module {
    const char *name;
    /* Returns 0 or a BALKON_E_* code after logging what went wrong. *state is the module's. */
    int (*start)(struct balkon_ctx *ctx, void **state);
    void (*stop)(void *state);
    void (*free)(void *state);
};

#endif
