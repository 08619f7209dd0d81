/* Inside the devices module: the online/offline tracker (availability.c). */
#ifndef BALKON_DEVICES_INTERNAL_H
#define BALKON_DEVICES_INTERNAL_H

#include "balkon/module.h"

struct availability;

/* Starts tracking the configured devices; NULL when out of memory. */
struct availability *availability_start(struct balkon_ctx *ctx);
/* Follows a reloaded device list (the ctx's config is already the new one). */
void availability_reconfigure(struct availability *a);
/* Unsubscribes and closes; the memory goes once the timer is closed. Accepts NULL. */
void availability_stop(struct availability *a);

#endif
