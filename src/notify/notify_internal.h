/* Private to src/notify/: the message a rule produces, the request a channel turns it into,
 * the channel table, and the calls the rules make into the module. */
#ifndef BALKON_NOTIFY_INTERNAL_H
#define BALKON_NOTIFY_INTERNAL_H

#include "balkon/bus.h"
#include "balkon/config.h"
#include "balkon/http_client.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum notify_severity { NOTIFY_INFO = 0, NOTIFY_WARNING, NOTIFY_CRITICAL };

/* "info", "warning", "critical". */
const char *notify_severity_name(enum notify_severity severity);
/* The severity named, or NOTIFY_INFO for anything else. */
enum notify_severity notify_severity_parse(const char *name);

/* What is sent: one alert, its resolution, a one-off message or a test. */
struct notify_message {
    char rule[48];       /* "device_offline", "test" */
    char subject[48];    /* what it is about: a device or provider id, "meter", "prices" */
    enum notify_severity severity;
    char state[16];      /* "open", "resolved", "once" */
    char title[128];
    char text[512];
    int64_t ts_ms;       /* when it happened (the daemon's clock) */
};

enum notify_request_kind { NOTIFY_REQ_HTTP = 0, NOTIFY_REQ_MQTT };

/* What a channel wants sent for one message: an HTTP (or SMTP) request, or an MQTT
 * publish. Filled by a channel's build function; every buffer is its own. */
struct notify_request {
    enum notify_request_kind kind;
    char url[768];                              /* HTTP/SMTP */
    char headers[BALKON_HTTP_MAX_HEADERS - 1][320];
    size_t header_count;
    char topic[128];                            /* MQTT */
    char body[6144];                            /* POST body, e-mail or MQTT payload */
    size_t body_size;
    bool email;                                 /* SMTP: mail_from/mail_rcpt from the config */
};

/* A channel type: turns a message into a request, without I/O (a pure function, so the
 * unit tests and the docs can check every wire format). Returns 0, or -1 with the reason
 * in error ("message too long"). */
struct notify_channel_type {
    const char *type;
    int (*build)(const struct balkon_notify_channel_config *channel, const struct notify_message *message,
                 struct notify_request *out, char *error, size_t error_size);
};

#define NOTIFY_CHANNEL(name) extern const struct notify_channel_type notify_channel_##name;
#include "channels_list.h"
#undef NOTIFY_CHANNEL

const struct notify_channel_type *notify_channel_find(const char *type);

/* Helpers for channels: JSON-free text building, bounded. */
/* Percent-encodes text for a URL query or a form body; false when it does not fit. */
bool notify_urlencode(const char *text, char *out, size_t size);
/* Appends "Name: value" to out's headers; false when full or too long. */
bool notify_add_header(struct notify_request *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Copies a cJSON-printed or other body; false when too long. */
bool notify_set_body(struct notify_request *out, const char *body);

/* The message as JSON (webhook and MQTT): {"rule","subject","severity","state","title",
 * "message","ts"}. Caller frees; NULL when out of memory. */
char *notify_message_json(const struct notify_message *message);

/* --- Calls from the rules into the module (src/notify/notify.c) ----------------------- */
struct notify;

/* A condition holds: the first call per (rule, subject) stores and sends an alert, later
 * ones do nothing until notify_clear. quiet_resolve: the resolution is stored, not sent. */
void notify_raise(struct notify *n, const char *rule, const char *subject, enum notify_severity severity,
                  bool quiet_resolve, const char *title, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* The condition cleared: stores the resolution and sends "Resolved: <title>". */
void notify_clear(struct notify *n, const char *rule, const char *subject);
/* A one-off message (the daily summary): stored and sent, nothing to resolve. */
void notify_once(struct notify *n, const char *rule, const char *subject, enum notify_severity severity,
                 const char *title, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* --- The rules (src/notify/rules.c) --------------------------------------------------- */
struct notify_rules;
struct balkon_ctx;

struct notify_rules *notify_rules_new(struct notify *n, struct balkon_ctx *ctx);
void notify_rules_free(struct notify_rules *rules);
/* Feeds one bus event to the rules; they call notify_raise / notify_clear / notify_once. */
void notify_rules_on_event(struct notify_rules *rules, enum bus_event event, const void *payload);

#endif
