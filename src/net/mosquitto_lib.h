/* libmosquitto, loaded when the configuration enables MQTT (dlopen), not linked.
 *
 * Why: Debian's libmosquitto links OpenSSL (libssl, libcrypto) for mqtts://, and linking it
 * maps both at every start: 1.7 MB of the daemon's resident memory, mostly libcrypto's
 * relocations, on sites that have no MQTT at all. Sites that enable it load it once at
 * start. Only src/net/ includes this header. */
#ifndef BALKON_MOSQUITTO_LIB_H
#define BALKON_MOSQUITTO_LIB_H

#include <mosquitto.h>

/* The library to load unless BALKON_LIBMOSQUITTO names another. */
#define MOSQUITTO_LIB_DEFAULT_SONAME "libmosquitto.so.1"

/* The functions mqtt_uv.c calls, under libmosquitto's names without the mosquitto_ prefix;
 * their types are taken from mosquitto.h, so they cannot drift from the header. */
struct mosquitto_lib {
    __typeof__(mosquitto_lib_init) *lib_init;
    __typeof__(mosquitto_lib_version) *lib_version;
    __typeof__(mosquitto_new) *new;
    __typeof__(mosquitto_destroy) *destroy;
    __typeof__(mosquitto_username_pw_set) *username_pw_set;
    __typeof__(mosquitto_will_set) *will_set;
    __typeof__(mosquitto_connect_callback_set) *connect_callback_set;
    __typeof__(mosquitto_disconnect_callback_set) *disconnect_callback_set;
    __typeof__(mosquitto_message_callback_set) *message_callback_set;
    __typeof__(mosquitto_connect_async) *connect_async;
    __typeof__(mosquitto_disconnect) *disconnect;
    __typeof__(mosquitto_socket) *socket;
    __typeof__(mosquitto_want_write) *want_write;
    __typeof__(mosquitto_loop_read) *loop_read;
    __typeof__(mosquitto_loop_write) *loop_write;
    __typeof__(mosquitto_loop_misc) *loop_misc;
    __typeof__(mosquitto_subscribe) *subscribe;
    __typeof__(mosquitto_unsubscribe) *unsubscribe;
    __typeof__(mosquitto_publish) *publish;
    __typeof__(mosquitto_sub_topic_check) *sub_topic_check;
    __typeof__(mosquitto_pub_topic_check) *pub_topic_check;
    __typeof__(mosquitto_topic_matches_sub) *topic_matches_sub;
    __typeof__(mosquitto_strerror) *strerror;
    __typeof__(mosquitto_connack_string) *connack_string;
};

/* Loads libmosquitto and runs mosquitto_lib_init on the first call (on the loop thread);
 * later calls return the same answer. NULL when it cannot be loaded: then *error says
 * which library, why, and what to install. The library stays loaded until the process
 * ends. */
const struct mosquitto_lib *mosquitto_lib_get(const char **error);

#endif
