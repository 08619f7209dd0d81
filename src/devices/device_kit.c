/* The shared part of networked drivers: config copy, polling, HTTP to the device, states
 * and failures on the bus. See device_kit.h. */
#include "device_kit.h"

#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/mqtt.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A request in flight: the driver's callback is not run once the kit is stopping. */
struct dev_request {
    struct dev_kit *kit;
    dev_http_cb cb;
    void *user;
};

void dev_kit_release(struct dev_kit *kit)
{
    if (--kit->open_handles > 0)
        return;
    if (kit->ops->free)
        kit->ops->free(kit);
    else
        free(kit);
}

void dev_kit_handle_closed(uv_handle_t *handle)
{
    dev_kit_release(handle->data);
}

void dev_kit_own_timer_init(struct dev_kit *kit, uv_timer_t *timer)
{
    uv_timer_init(kit->ctx->loop, timer);
    timer->data = kit;
    kit->open_handles++;
}

void dev_kit_stop_own(struct dev_kit *kit, uv_timer_t *timer, bool mqtt)
{
    if (mqtt)
        balkon_mqtt_unsubscribe_all(kit->ctx->mqtt, kit);
    uv_timer_stop(timer);
    uv_close((uv_handle_t *)timer, dev_kit_handle_closed);
    dev_kit_stop(kit);
}

int dev_kit_protocol(const struct balkon_ctx *ctx, const struct balkon_device_config *device,
                     bool *mqtt, char *msg, size_t msg_size)
{
    *mqtt = strcmp(device->protocol, "mqtt") == 0;
    if (*mqtt && !ctx->mqtt) {
        snprintf(msg, msg_size, "protocol \"mqtt\" needs the mqtt section enabled");
        return BALKON_E_INVAL;
    }
    return 0;
}

bool dev_mqtt_publish_command(struct dev_kit *kit, const char *topic, const char *payload)
{
    int rc = balkon_mqtt_publish(kit->ctx->mqtt, topic, payload, strlen(payload), 1, false);
    if (rc < 0) {
        dev_cmd_sent(kit, false,
                     rc == BALKON_E_IO ? "not connected to the MQTT broker" : balkon_strerror(rc));
        return false;
    }
    return true;
}

bool dev_identity_poll(struct dev_kit *kit, struct dev_identity *identity, const char *path,
                       uint64_t period_ms, dev_http_cb cb)
{
    if (identity->busy)
        return true;
    if (!identity->identified ||
        uv_now(kit->ctx->loop) - identity->identified_wall_ms >= period_ms) {
        identity->busy = dev_http(kit, path, NULL, NULL, cb, NULL) == 0;
        if (identity->busy)
            return true;
    }
    return false;
}

void dev_identity_taken(struct dev_kit *kit, struct dev_identity *identity)
{
    identity->identified = true;
    identity->identified_wall_ms = uv_now(kit->ctx->loop);
}

void dev_identity_forget(struct dev_identity *identity)
{
    identity->identified = false;
    identity->model[0] = identity->firmware[0] = '\0';
}

static void build_base_url(struct dev_kit *kit)
{
    kit->base_url[0] = '\0';
    if (!kit->config.host[0])
        return;
    long port = kit->config.port ? (long)kit->config.port : kit->ops->default_port;
    /* A literal IPv6 address needs brackets in a URL. */
    bool ipv6 = strchr(kit->config.host, ':') != NULL;
    snprintf(kit->base_url, sizeof kit->base_url, "http://%s%s%s:%ld", ipv6 ? "[" : "",
             kit->config.host, ipv6 ? "]" : "", port);
}

static void poll_cb(uv_timer_t *timer)
{
    struct dev_kit *kit = timer->data;
    if (!kit->stopping)
        kit->ops->poll(kit);
}

static void start_polling(struct dev_kit *kit)
{
    if (!kit->ops->poll)
        return;
    uint64_t period_ms =
        balkon_clock_wall_ms(&kit->ctx->clock, (int64_t)(kit->config.poll_interval_s * 1000.0));
    if (period_ms < 50)
        period_ms = 50;
    uv_timer_start(&kit->poll_timer, poll_cb, 0, period_ms);
}

int dev_kit_start(struct dev_kit *kit, struct balkon_ctx *ctx,
                  const struct balkon_device_config *config, const struct dev_kit_ops *ops,
                  char *msg, size_t msg_size)
{
    kit->ctx = ctx;
    kit->ops = ops;
    kit->config = *config;
    kit->cmd.last_sent_ms = INT64_MIN;
    if (kit->min_command_interval_s <= 0)
        kit->min_command_interval_s = 1.0;
    if (kit->verify_delay_s <= 0)
        kit->verify_delay_s = 1.0;
    if (kit->max_attempts <= 0)
        kit->max_attempts = 3;
    if (kit->tolerance_w <= 0)
        kit->tolerance_w = 5.0;
    build_base_url(kit);
    if (kit->base_url[0]) {
        int rc = balkon_http_client_new(ctx->loop, &kit->http);
        if (rc < 0) {
            snprintf(msg, msg_size, "cannot create an HTTP client: %s", balkon_strerror(rc));
            return rc;
        }
    }
    uv_timer_init(ctx->loop, &kit->poll_timer);
    uv_timer_init(ctx->loop, &kit->cmd.timer);
    kit->poll_timer.data = kit;
    kit->cmd.timer.data = kit;
    kit->open_handles = 2;
    start_polling(kit);
    return 0;
}

void dev_kit_reconfigure(struct dev_kit *kit)
{
    const struct balkon_config *config = kit->ctx->config;
    for (size_t i = 0; i < config->devices.count; i++) {
        if (strcmp(config->devices.items[i].id, kit->config.id) == 0) {
            kit->config = config->devices.items[i];
            build_base_url(kit);
            uv_timer_stop(&kit->poll_timer);
            start_polling(kit);
            return;
        }
    }
}

void dev_kit_reconfigure_keep_role(struct dev_kit *kit)
{
    char role[sizeof kit->config.role];
    snprintf(role, sizeof role, "%s", kit->config.role);
    dev_kit_reconfigure(kit);
    if (strcmp(role, kit->config.role) != 0) {
        log_notice(kit->ops->log_name, "%s: role takes effect after a restart", kit->config.id);
        snprintf(kit->config.role, sizeof kit->config.role, "%s", role);
    }
}

void dev_kit_stop(struct dev_kit *kit)
{
    kit->stopping = true;
    balkon_http_client_close(kit->http); /* runs the cancelled callbacks now */
    kit->http = NULL;
    uv_timer_stop(&kit->poll_timer);
    uv_timer_stop(&kit->cmd.timer);
    uv_close((uv_handle_t *)&kit->poll_timer, dev_kit_handle_closed);
    uv_close((uv_handle_t *)&kit->cmd.timer, dev_kit_handle_closed);
}

static void request_done(const struct balkon_http_result *result, void *user)
{
    struct dev_request *request = user;
    struct dev_kit *kit = request->kit;
    if (!kit->stopping) {
        const char *fault = balkon_http_fault(result);
        kit->http_fault = fault ? fault : "bad_reply";
        request->cb(kit, result, request->user);
        /* A kit stopped by its callback is still here: it is freed on a later loop turn,
         * once its handles have closed. */
        kit->http_fault = NULL;
    }
    free(request);
}

int dev_http(struct dev_kit *kit, const char *path, const char *content_type, const char *body,
             dev_http_cb cb, void *user)
{
    if (!kit->http || kit->stopping)
        return BALKON_E_INVAL;
    char url[512];
    if ((size_t)snprintf(url, sizeof url, "%s%s", kit->base_url, path) >= sizeof url)
        return BALKON_E_RANGE;
    char header[96] = "";
    struct balkon_http_request request = {
        .method = body ? "POST" : "GET",
        .url = url,
        .body = body,
        .body_size = body ? strlen(body) : 0,
        .timeout_ms = (long)(kit->config.timeout_s * 1000.0),
        .connect_timeout_ms = (long)(kit->config.timeout_s * 1000.0),
        .max_response_bytes = 256 * 1024,
        .auth = kit->config.password[0] ? kit->ops->auth : BALKON_HTTP_AUTH_NONE,
        .user = kit->config.user,
        .password = kit->config.password,
        .no_redirects = true, /* a redirect could send the password to another host */
    };
    if (content_type) {
        snprintf(header, sizeof header, "Content-Type: %s", content_type);
        request.headers[0] = header;
    }
    struct dev_request *pending = malloc(sizeof *pending);
    if (!pending)
        return BALKON_E_NOMEM;
    *pending = (struct dev_request){kit, cb, user};
    int rc = balkon_http_fetch(kit->http, &request, request_done, pending);
    if (rc < 0)
        free(pending);
    return rc;
}

bool dev_http_problem(const struct balkon_http_result *result, const char *what, char *why,
                      size_t why_size)
{
    /* The fault code (dev_failed reports it) and these words come from one classification. */
    const char *fault = balkon_http_fault(result);
    if (!fault)
        return false;
    if (result->transport_error)
        snprintf(why, why_size, "%.40s: %.50s", what, result->error);
    else if (strcmp(fault, "auth") == 0)
        snprintf(why, why_size, "%.40s: HTTP %ld: wrong or missing user/password", what,
                 result->status);
    else
        snprintf(why, why_size, "%.40s: HTTP %ld", what, result->status);
    return true;
}

bool dev_http_ok(struct dev_kit *kit, const struct balkon_http_result *result, const char *what)
{
    char why[96];
    if (!dev_http_problem(result, what, why, sizeof why))
        return true;
    dev_failed(kit, "%s", why);
    return false;
}

cJSON *dev_parse_json(struct dev_kit *kit, const struct balkon_http_result *result,
                      const char *what)
{
    cJSON *json = cJSON_ParseWithLength(result->body, result->body_size);
    if (!json)
        dev_failed(kit, "%s: the reply is not JSON", what);
    return json;
}

void dev_id(const struct dev_kit *kit, const char *suffix, char *out, size_t size)
{
    if (suffix)
        snprintf(out, size, "%.20s-%s", kit->config.id, suffix);
    else
        snprintf(out, size, "%s", kit->config.id);
}

void dev_state_init(struct dev_kit *kit, struct ev_device_state *state, const char *suffix,
                    unsigned roles)
{
    memset(state, 0, sizeof *state);
    dev_id(kit, suffix, state->device_id, sizeof state->device_id);
    snprintf(state->type, sizeof state->type, "%s", kit->config.type);
    state->roles = roles;
    state->online = true;
    state->ts_ms = balkon_clock_now_ms(&kit->ctx->clock);
}

void dev_state_add(struct ev_device_state *state, const char *name, double value)
{
    if (state->value_count >= EV_DEVICE_VALUES_MAX || !isfinite(value))
        return;
    struct device_value *v = &state->values[state->value_count++];
    snprintf(v->name, sizeof v->name, "%s", name);
    v->value = value;
}

void dev_publish_state(struct dev_kit *kit, const struct ev_device_state *state)
{
    balkon_bus_publish(kit->ctx->bus, BUS_EV_DEVICE_STATE, state);
}

void dev_publish_meter(struct dev_kit *kit, const char *suffix, double grid_w)
{
    struct ev_meter_reading reading = {.ts_ms = balkon_clock_now_ms(&kit->ctx->clock),
                                       .grid_w = grid_w};
    dev_id(kit, suffix, reading.device_id, sizeof reading.device_id);
    balkon_bus_publish(kit->ctx->bus, BUS_EV_METER_READING, &reading);
}

static void publish_failure(struct dev_kit *kit, const char *code, const char *fmt, va_list args)
{
    struct ev_device_error error = {.ts_ms = balkon_clock_now_ms(&kit->ctx->clock)};
    snprintf(error.device_id, sizeof error.device_id, "%s", kit->config.id);
    snprintf(error.code, sizeof error.code, "%s", code);
    vsnprintf(error.detail, sizeof error.detail, fmt, args);
    balkon_bus_publish(kit->ctx->bus, BUS_EV_DEVICE_ERROR, &error);
}

void dev_failed(struct dev_kit *kit, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    publish_failure(kit, kit->http_fault ? kit->http_fault : "failed", fmt, args);
    va_end(args);
}

void dev_failed_code(struct dev_kit *kit, const char *code, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    publish_failure(kit, code, fmt, args);
    va_end(args);
}

const cJSON *dev_json_path(const cJSON *root, const char *path)
{
    const cJSON *item = root;
    const char *p = path;
    while (item && *p) {
        if (*p == '.') {
            p++;
            continue;
        }
        if (*p == '[') {
            char *end;
            long index = strtol(p + 1, &end, 10);
            if (end == p + 1 || *end != ']' || index < 0 || !cJSON_IsArray(item))
                return NULL;
            item = cJSON_GetArrayItem(item, (int)index);
            p = end + 1;
            continue;
        }
        size_t len = strcspn(p, ".[");
        char key[96];
        if (len >= sizeof key || !cJSON_IsObject(item))
            return NULL;
        memcpy(key, p, len);
        key[len] = '\0';
        item = cJSON_GetObjectItemCaseSensitive(item, key);
        p += len;
    }
    return item;
}

bool dev_json_number(const cJSON *root, const char *path, double *out)
{
    const cJSON *item = dev_json_path(root, path);
    double value;
    if (cJSON_IsNumber(item)) {
        value = item->valuedouble;
    } else if (cJSON_IsString(item) && item->valuestring[0]) {
        char *end;
        value = strtod(item->valuestring, &end);
        if (*end != '\0')
            return false;
    } else {
        return false;
    }
    if (!isfinite(value))
        return false;
    *out = value;
    return true;
}

int dev_plug_command(struct dev_kit *kit, bool is_plug, const struct device_command *command,
                     char *msg, size_t msg_size)
{
    if (!is_plug) {
        snprintf(msg, msg_size, "%s is a meter and takes no commands", command->device_id);
        return BALKON_E_INVAL;
    }
    if (strcmp(command->command, "switch") != 0) {
        snprintf(msg, msg_size, "command: \"%s\" is not supported; a plug takes \"switch\"",
                 command->command);
        return BALKON_E_INVAL;
    }
    if (command->value != 0 && command->value != 1) {
        snprintf(msg, msg_size, "switch: takes 1 (on) or 0 (off), got %g", command->value);
        return BALKON_E_RANGE;
    }
    dev_cmd_submit(kit, command);
    return 0;
}

int dev_battery_command_check(const struct device_command *command, double min_w, double max_w,
                              char *msg, size_t msg_size)
{
    if (strcmp(command->command, "setpoint") == 0) {
        if (!(command->value <= max_w && command->value >= min_w)) {
            snprintf(msg, msg_size, "setpoint: must be between %g and %g W, got %g", min_w, max_w,
                     command->value);
            return BALKON_E_RANGE;
        }
    } else if (strcmp(command->command, "auto") != 0) {
        snprintf(msg, msg_size, "command: \"%s\" is not one of \"setpoint\", \"auto\"",
                 command->command);
        return BALKON_E_INVAL;
    }
    return 0;
}
