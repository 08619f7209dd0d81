/* One MQTT client on the daemon's loop: libmosquitto driven by libuv, shared by every
 * driver that talks MQTT (Tasmota, OpenDTU, Zendure, generic) and by publishers.
 *
 * The client connects in the background and stays connected: a lost or refused
 * connection is retried with a backoff of 1 s doubling to 60 s, and every subscription is
 * sent again after each (re)connect, so subscribers subscribe once and never have to
 * notice a broker restart. Publishing while disconnected fails at once instead of
 * queueing: a setpoint that arrives a minute late is worse than none, and the caller
 * knows which is which.
 *
 * Everything runs on the loop thread; no threads are started. A host name (rather than
 * an address) is resolved on the loop when connecting, which blocks it for as long as
 * the resolver takes: fine for a LAN name, but prefer an IP address. */
#ifndef BALKON_MQTT_H
#define BALKON_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct balkon_mqtt;

#define BALKON_MQTT_DEFAULT_PORT 1883
#define BALKON_MQTT_DEFAULT_KEEPALIVE_S 30
#define BALKON_MQTT_DEFAULT_CLIENT_ID "balkonsolar"

/* Copied by balkon_mqtt_new; NULL, "" and 0 take the defaults noted. */
struct balkon_mqtt_settings {
    const char *host; /* required: "192.168.1.10" or "broker.local" */
    int port;         /* 0 = 1883 */
    const char *user; /* NULL or "" = no user name */
    const char *password;
    const char *client_id; /* "balkonsolar"; must be unique on the broker */
    int keepalive_s;       /* 0 = 30; at least 5 */
    /* The last will: the broker publishes will_payload on will_topic (qos 1) when the
     * connection ends without a DISCONNECT: a crash, a kill, a lost network. A clean
     * balkon_mqtt_close sends DISCONNECT, so whoever wants the will's message then
     * publishes it first. NULL or "" = no will. */
    const char *will_topic;
    const char *will_payload; /* NULL = empty */
    bool will_retain;
};

/* A message matching a subscription. topic and payload are borrowed for the duration of
 * the call (copy what you keep); payload is also NUL-terminated for convenience, but may
 * contain NULs itself. Runs on the loop thread; it may publish, subscribe and unsubscribe. */
typedef void (*balkon_mqtt_message_cb)(const char *topic, const void *payload, size_t payload_len,
                                       void *user);

/* Creates the client and starts connecting; that the broker is unreachable is not an
 * error here (see balkon_mqtt_status). Returns 0, or BALKON_E_INVAL / BALKON_E_RANGE /
 * BALKON_E_NOMEM with the reason in error ("port must be 1..65535, got 70000").
 * The caller owns *out and releases it with balkon_mqtt_close. */
int balkon_mqtt_new(uv_loop_t *loop, const struct balkon_mqtt_settings *settings,
                    struct balkon_mqtt **out, char *error, size_t error_size);

/* Calls cb for every message whose topic matches topic_filter ("tele/+/SENSOR",
 * "solar/#"); several subscribers may share a filter, each gets every match. The
 * subscription lasts until balkon_mqtt_unsubscribe_all(m, user), across reconnects; it
 * reaches the broker now when connected, else on the next connect. Returns 0, or
 * BALKON_E_INVAL for a malformed filter, or BALKON_E_NOMEM. */
int balkon_mqtt_subscribe(struct balkon_mqtt *m, const char *topic_filter,
                          balkon_mqtt_message_cb cb, void *user);

/* Called after every (re)connect, once the subscriptions are on their way again: where a
 * publisher republishes what a restarted broker forgot (retained state, "online"). Runs on
 * the loop thread and may publish. */
typedef void (*balkon_mqtt_connect_cb)(void *user);

/* Registers cb for every connect from now on (not for a connection that is already up:
 * check balkon_mqtt_connected). Lasts until balkon_mqtt_unsubscribe_all(m, user).
 * Returns 0, BALKON_E_INVAL or BALKON_E_NOMEM. */
int balkon_mqtt_on_connect(struct balkon_mqtt *m, balkon_mqtt_connect_cb cb, void *user);

/* Drops every subscription and connect callback made with user (a driver's stop). No callback for
 * user runs after this returns. Filters nobody else uses are unsubscribed at the broker. */
void balkon_mqtt_unsubscribe_all(struct balkon_mqtt *m, void *user);

/* Publishes (qos 0, 1 or 2). Returns 0 once handed to the socket, BALKON_E_IO when not
 * connected, BALKON_E_INVAL for a bad topic (wildcards, empty) or qos, BALKON_E_TOOBIG.
 * Nothing is queued while disconnected. */
int balkon_mqtt_publish(struct balkon_mqtt *m, const char *topic, const void *payload, size_t len,
                        int qos, bool retain);

/* Whether the broker has accepted the connection (CONNACK) and it has not been lost. */
bool balkon_mqtt_connected(const struct balkon_mqtt *m);

/* The state in words for the API and logs: "connected to 192.168.1.10:1883", or the last
 * problem, e.g. "cannot connect to 192.168.1.10:1883: Connection refused; retrying in 4 s".
 * Valid until the next loop iteration. */
const char *balkon_mqtt_status(const struct balkon_mqtt *m);

/* Disconnects cleanly when connected, drops every subscription and releases the client
 * once its handles are closed (run the loop). No callback runs after this. Accepts NULL. */
void balkon_mqtt_close(struct balkon_mqtt *m);

#endif
