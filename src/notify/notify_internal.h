/* Private to src/notify/: the calls the rules make into the module. The message a rule
 * produces, the request a channel turns it into and the channel table are in
 * include/balkon/channel.h (src/channels/). */
#ifndef BALKON_NOTIFY_INTERNAL_H
#define BALKON_NOTIFY_INTERNAL_H

#include "balkon/bus.h"
#include "balkon/channel.h"
#include "balkon/config.h"
#include "balkon/http_client.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A channel's request carries at most what the HTTP client sends. */
_Static_assert(NOTIFY_MAX_HEADERS + 1 == BALKON_HTTP_MAX_HEADERS,
               "notify_request.headers must match the HTTP client");

/* --- Calls from the rules into the module (src/notify/notify.c) ----------------------- */
struct notify;

/* A condition holds: the first call per (rule, subject) stores and sends an alert, later
 * ones do nothing until notify_clear. quiet_resolve: the resolution is stored, not sent. */
void notify_raise(struct notify *n, const char *rule, const char *subject,
                  enum notify_severity severity, bool quiet_resolve, const char *title,
                  const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* The condition cleared: stores the resolution and sends "Resolved: <title>". */
void notify_clear(struct notify *n, const char *rule, const char *subject);
/* A one-off message (the daily summary): stored and sent, nothing to resolve. */
void notify_once(struct notify *n, const char *rule, const char *subject,
                 enum notify_severity severity, const char *title, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* --- The rules (src/notify/rules.c) --------------------------------------------------- */
struct notify_rules;
struct balkon_ctx;

struct notify_rules *notify_rules_new(struct notify *n, struct balkon_ctx *ctx);
void notify_rules_free(struct notify_rules *rules);
/* Feeds one bus event to the rules; they call notify_raise / notify_clear / notify_once. */
void notify_rules_on_event(struct notify_rules *rules, enum bus_event event, const void *payload);

#endif
