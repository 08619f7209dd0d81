/* A real MQTT broker for tests, and a small synchronous client to play a device with.
 *
 * mqtt_broker_start runs /usr/sbin/mosquitto on a free 127.0.0.1 port with a generated
 * config (anonymous, no persistence) in a temp dir, and returns once it accepts
 * connections. Its log goes to mosquitto.log in that dir, which is removed by
 * mqtt_broker_stop. The broker dies with the test process.
 *
 * The test client runs libmosquitto's own network thread (test code may use threads);
 * its calls return once the broker has acknowledged them, so a test knows its
 * subscription is in place or its message has arrived at the broker. Received messages
 * wait in a bounded queue (the oldest are dropped) until mqtt_test_wait_message takes them. */
#ifndef BALKON_MQTT_BROKER_H
#define BALKON_MQTT_BROKER_H

#include <stdbool.h>
#include <stddef.h>

struct mqtt_broker;

/* NULL when mosquitto is missing or does not come up (tests then skip). */
struct mqtt_broker *mqtt_broker_start(void);
int mqtt_broker_port(const struct mqtt_broker *broker);
/* Kills the broker abruptly (SIGKILL), as a crash or a power cut would; the port stays
 * reserved for mqtt_broker_restart. */
void mqtt_broker_kill(struct mqtt_broker *broker);
/* Starts it again on the same port. Returns false when it does not come up. */
bool mqtt_broker_restart(struct mqtt_broker *broker);
/* Stops the broker and removes its dir. Accepts NULL. */
void mqtt_broker_stop(struct mqtt_broker *broker);

struct mqtt_test_client;

/* Connects to 127.0.0.1:port; NULL when the broker does not accept within 5 s. */
struct mqtt_test_client *mqtt_test_client_new(int port);
/* Publishes at qos 1 and waits (up to 5 s) for the broker's PUBACK. */
bool mqtt_test_publish(struct mqtt_test_client *c, const char *topic, const char *payload,
                       bool retain);
/* Subscribes at qos 1 and waits (up to 5 s) for the SUBACK. */
bool mqtt_test_subscribe(struct mqtt_test_client *c, const char *filter);
/* Takes the oldest received message whose topic matches topic_filter, waiting up to
 * timeout_ms for one; copies its payload (NUL-terminated, truncated to size). */
bool mqtt_test_wait_message(struct mqtt_test_client *c, const char *topic_filter, char *payload_out,
                            size_t size, int timeout_ms);
void mqtt_test_client_free(struct mqtt_test_client *c);

#endif
