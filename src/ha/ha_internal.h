/* Private to src/ha: the MQTT publisher's state, shared by its files.
 *
 * ha.c          the module: bus subscriptions, the publish timer, (re)connects
 * ha_state.c    the live state under <prefix>/state/...
 * ha_discovery.c Home Assistant's discovery configs
 * ha_commands.c commands from <prefix>/set/...: parsed, validated, put on the bus */
#ifndef BALKON_HA_INTERNAL_H
#define BALKON_HA_INTERNAL_H

#include "balkon/bus.h"
#include "balkon/module.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HA_MAX_DEVICES 32
#define HA_TOPIC_MAX 256

struct ha_device {
    struct ev_device_state state;
    bool announced; /* its discovery configs went out on this connection */
};

/* The plan's gist for <prefix>/state/plan. */
struct ha_plan_summary {
    bool valid;
    char strategy[32];
    char mode_now[16];
    char next_mode[16];     /* "" when the plan keeps its mode to the end */
    int64_t next_change_ms; /* INT64_MIN: none */
    double expected_cost;   /* over the plan's horizon, in the prices' currency */
    double expected_saving; /* against the same horizon without the battery */
    int64_t until_ms;       /* the end of the plan */
};

struct ha {
    struct balkon_ctx *ctx;
    struct balkon_mqtt *mqtt;
    uv_timer_t timer;
    char prefix[64];
    char discovery_prefix[64];
    char node[64]; /* the prefix as an id: letters, digits, '_' */
    bool discovery;
    bool announced; /* the site's configs went out on this connection */
    bool have_status;
    struct ev_site_status status;
    struct balkon_price_slot *prices; /* the primary provider's, owned */
    size_t price_count;
    char currency[4];
    bool have_control;
    struct ev_control_status control;
    struct ha_plan_summary plan;
    struct ha_device devices[HA_MAX_DEVICES];
    size_t device_count;
    bool energy_busy; /* a job of ha_energy.c is on the pool */
    bool stopping;
};

/* ha_state.c: publishes every state topic (retained). */
void ha_publish_state(struct ha *ha);
/* Adds value rounded to step, or null when it is not finite. */
void ha_add_number(cJSON *json, const char *key, double value, double step);
/* Adds an ISO-8601 time, or null for INT64_MIN. */
void ha_add_time(cJSON *json, const char *key, int64_t ts_ms);
/* ha_energy.c: computes today's energy on the pool and publishes it when done. */
void ha_energy_refresh(struct ha *ha, int64_t now_ms);
/* The price slot holding now_ms, or NAN. */
double ha_price_now(const struct ha *ha, int64_t now_ms);
/* Summarises a plan (pure). */
void ha_plan_summarise(const struct ev_plan *plan, int64_t now_ms, struct ha_plan_summary *out);

/* ha_discovery.c: the site's entities, once per connection; a device's when it is new. */
void ha_publish_discovery(struct ha *ha);
void ha_publish_device_discovery(struct ha *ha, struct ha_device *device);

/* ha_commands.c: the message callback for <prefix>/set/#. */
void ha_command_cb(const char *topic, const void *payload, size_t len, void *user);

/* Parsers of command payloads (pure): 0, or -1 with the problem in msg. */
int ha_parse_strategy(const char *payload, size_t len, char *name, size_t name_size, char *msg,
                      size_t msg_size);
int ha_parse_grid_target(const char *payload, size_t len, double *target_w, char *msg,
                         size_t msg_size);
int ha_parse_switch(const char *payload, size_t len, bool *on, char *msg, size_t msg_size);

/* Publishes text (retained or not) under <prefix>/<suffix>; 0 or a BALKON_E_* code. */
int ha_publish_text(struct ha *ha, const char *suffix, const char *text, bool retain);
/* Publishes a JSON tree (consumed) to an absolute topic, retained. */
int ha_publish_json(struct ha *ha, const char *topic, cJSON *json);
/* A device id or name as a topic level / object id: [A-Za-z0-9_-], others become '_'. */
void ha_sanitize(const char *in, char *out, size_t size);

#endif
