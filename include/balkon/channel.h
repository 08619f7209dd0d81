/* Notification channels: each one file in src/channels/ ending in one
 * `const struct notify_channel_type`, registered by one line in
 * include/balkon/channels_list.h; no other code switches on a channel type.
 *
 * A channel never does I/O: it checks its options (for the config) and turns a message
 * into a request (an HTTP/SMTP request or an MQTT publish) that the notify module sends. */
#ifndef BALKON_CHANNEL_H
#define BALKON_CHANNEL_H

#include "balkon/config_types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Headers a request may carry (the HTTP client's limit less its NULL terminator). */
#define NOTIFY_MAX_HEADERS 7

enum notify_severity { NOTIFY_INFO = 0, NOTIFY_WARNING, NOTIFY_CRITICAL };

/* "info", "warning", "critical". */
const char *notify_severity_name(enum notify_severity severity);
/* The severity named, or NOTIFY_INFO for anything else. */
enum notify_severity notify_severity_parse(const char *name);

/* What is sent: one alert, its resolution, a one-off message or a test. */
struct notify_message {
    char rule[48];    /* "device_offline", "test" */
    char subject[48]; /* what it is about: a device or provider id, "meter", "prices" */
    enum notify_severity severity;
    char state[16]; /* "open", "resolved", "once" */
    char title[128];
    char text[512];
    int64_t ts_ms; /* when it happened (the daemon's clock) */
};

enum notify_request_kind { NOTIFY_REQ_HTTP = 0, NOTIFY_REQ_MQTT };

/* What a channel wants sent for one message: an HTTP (or SMTP) request, or an MQTT
 * publish. Filled by a channel's build function; every buffer is its own. */
struct notify_request {
    enum notify_request_kind kind;
    char url[768]; /* HTTP/SMTP */
    char headers[NOTIFY_MAX_HEADERS][320];
    size_t header_count;
    char topic[128]; /* MQTT */
    char body[6144]; /* POST body, e-mail or MQTT payload */
    size_t body_size;
    bool email; /* SMTP: mail_from/mail_rcpt from the config */
};

/* A channel type: turns a message into a request, without I/O (a pure function, so the
 * unit tests and the docs can check every wire format). Returns 0, or -1 with the reason
 * in error ("message too long"). */
struct notify_channel_type {
    const char *type;
    int (*build)(const struct balkon_notify_channel_config *channel,
                 const struct notify_message *message, struct notify_request *out, char *error,
                 size_t error_size);
    /* Checks the type-specific options (URL, token, topic …) with
     * balkon_config_add_error(errors, path, key, …). May be NULL. */
    void (*check)(const struct balkon_notify_channel_config *channel, const char *path,
                  struct balkon_config_errors *errors);
};

#define NOTIFY_CHANNEL(name) extern const struct notify_channel_type notify_channel_##name;
#include "balkon/channels_list.h"
#undef NOTIFY_CHANNEL

/* The channel type for a config `type`, or NULL. */
const struct notify_channel_type *notify_channel_find(const char *type);
/* Every channel type's name in the order of channels_list.h, NULL-terminated (the config's
 * choices for `type`). */
extern const char *const notify_channel_types[];

/* For checks: "url" must start with http:// or https:// when set. */
void notify_check_http_url(const struct balkon_notify_channel_config *channel, const char *path,
                           struct balkon_config_errors *errors);
/* For checks: `key` (whose value is `value`) must be set for a channel of this type. */
void notify_check_required(const struct balkon_notify_channel_config *channel, const char *path,
                           const char *key, const char *value, struct balkon_config_errors *errors);

/* Helpers for channels: JSON-free text building, bounded. */
/* Percent-encodes text for a URL query or a form body; false when it does not fit. */
bool notify_urlencode(const char *text, char *out, size_t size);
/* Appends "Name: value" to out's headers; false when full or too long. */
bool notify_add_header(struct notify_request *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Copies a cJSON-printed or other body; false when too long. */
bool notify_set_body(struct notify_request *out, const char *body);
/* Writes out->url as base, a '/' unless base ends in one, then the printf-style rest: the
 * path a service adds to its configured server. False when it does not fit. */
bool notify_url_join(struct notify_request *out, const char *base, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
struct cJSON;
/* Prints json without whitespace and deletes it. Caller frees the text; NULL when out of
 * memory. */
char *notify_json_print(struct cJSON *json);
/* Sets a JSON body: "Content-Type: application/json", then "Authorization: Bearer <token>"
 * when bearer_token is not empty, then body. Takes body (printed JSON, freed here; NULL when
 * printing ran out of memory). False when body is NULL or anything does not fit. */
bool notify_json_body(struct notify_request *out, char *body, const char *bearer_token);

/* A build that cannot be done: writes the reason into error (as build's error,
 * error_size) and returns -1. */
int notify_refuse(char *error, size_t error_size, const char *reason);

/* The message as JSON (webhook and MQTT): {"rule","subject","severity","state","title",
 * "message","ts"}. Caller frees; NULL when out of memory. */
char *notify_message_json(const struct notify_message *message);

#endif
