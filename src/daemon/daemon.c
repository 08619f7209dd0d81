/* The daemon's life cycle: start-up, signals, reload and a graceful stop.
 *
 * Stop order: publish BUS_EV_SHUTDOWN (modules flush what they buffer), stop the modules
 * in reverse start order (they close their handles), let the loop run until every handle
 * is closed, then free the modules and close the store (which flushes and checkpoints).
 * Nothing waits on the network during the stop, so it takes well under the 2 s budget. */
#include "balkon/daemon.h"

#include "balkon/bus.h"
#include "balkon/config.h"
#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/module.h"
#include "balkon/mqtt.h"
#include "balkon/sd_notify.h"
#include "balkon/services.h"
#include "balkon/store.h"
#include "balkon/timeutil.h"
#include "balkon/version.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const struct balkon_module *const modules[] = {
    &balkon_module_recorder, /* first, so it hears every sample the others publish */
    &balkon_module_site,     &balkon_module_metrics, /* before the devices, so it counts their first
                                                        errors */
    &balkon_module_http,     &balkon_module_devices,   &balkon_module_providers,
    &balkon_module_planner,  &balkon_module_control,   &balkon_module_loads,
    &balkon_module_notify,   &balkon_module_recommend, &balkon_module_ha,
    &balkon_module_systemd, /* last: READY=1 once every other module runs */
};
#define MODULE_COUNT (sizeof modules / sizeof modules[0])

struct daemon {
    const struct balkon_daemon_options *options;
    struct balkon_ctx ctx;
    /* Two configs: the running one and the one before the last reload, so a
     * BUS_EV_CONFIG_CHANGED payload can show both. */
    struct balkon_config configs[2];
    int current;
    struct balkon_config_errors replace_errors; /* a refused PUT's, when the caller keeps none */
    struct balkon_services services;
    void *module_states[MODULE_COUNT];
    size_t started;
    uv_signal_t sigint, sigterm, sighup;
    uv_timer_t clock_check; /* follows wall-clock jumps in real time (clock_check_cb) */
    bool stopping;
};

#define CLOCK_CHECK_MS 5000
#define CLOCK_JUMP_MS 30000

/* In real time the daemon's clock is the wall clock at start plus monotonic time since, so
 * timers and control never stutter. The wall clock can still jump: a Raspberry Pi has no
 * real-time clock and starts from the last shutdown's time until NTP corrects it, or the
 * user sets the time. Prices, plans and the site's day follow the wall clock, so a jump
 * beyond CLOCK_JUMP_MS moves the daemon's clock with it (monotonic timers stay as they are).
 * A simulated clock (another speed or a start) never follows. */
static void clock_check_cb(uv_timer_t *timer)
{
    struct daemon *d = timer->data;
    const struct balkon_config *config = d->ctx.config;
    if (config->simulation.speed != 1 ||
        (config->simulation.start[0] && strcmp(config->simulation.start, "now") != 0))
        return;
    int64_t jump_ms = balkon_wall_now_ms() - balkon_clock_now_ms(&d->ctx.clock);
    if (jump_ms > -CLOCK_JUMP_MS && jump_ms < CLOCK_JUMP_MS)
        return;
    log_warn("daemon", "the wall clock jumped by %+lld s (NTP or a manual change); following it",
             (long long)(jump_ms / 1000));
    d->ctx.clock.origin_ms += jump_ms;
    struct ev_clock_jumped event = {.jump_ms = jump_ms};
    balkon_bus_publish(d->ctx.bus, BUS_EV_CLOCK_JUMPED, &event);
}

static void log_errors(const char *path, const struct balkon_config_errors *errors)
{
    for (size_t i = 0; i < errors->count; i++)
        log_error("config", "%s: %s", path, errors->items[i]);
    if (errors->dropped)
        log_error("config", "%s: ... and %zu more problems", path, errors->dropped);
}

/* Applies the command line's overrides to a config the loader accepted. Returns 0 or
 * BALKON_E_INVAL after logging the problem. */
static int apply_overrides(struct daemon *d, struct balkon_config *config)
{
    const struct balkon_daemon_options *o = d->options;
    if (o->db_path && snprintf(config->storage.path, sizeof config->storage.path, "%s",
                               o->db_path) >= (int)sizeof config->storage.path) {
        log_error("config", "--db: path longer than %zu characters",
                  sizeof config->storage.path - 1);
        return BALKON_E_INVAL;
    }
    if (o->listen && snprintf(config->http.listen, sizeof config->http.listen, "%s", o->listen) >=
                         (int)sizeof config->http.listen) {
        log_error("config", "--listen: longer than %zu characters", sizeof config->http.listen - 1);
        return BALKON_E_INVAL;
    }
    if (o->log_level)
        snprintf(config->log.level, sizeof config->log.level, "%s", o->log_level);
    return 0;
}

/* Loads the file (or, without one, the defaults) and applies the command line's
 * overrides. Returns 0 or an error code after logging every problem. */
static int load_config(struct daemon *d, struct balkon_config *config)
{
    if (!d->options->config_path) {
        balkon_config_defaults(config);
        return apply_overrides(d, config);
    }
    struct balkon_config_errors errors;
    int rc = balkon_config_load(d->options->config_path, config, &errors);
    if (rc < 0) {
        log_errors(d->options->config_path, &errors);
        return rc;
    }
    return apply_overrides(d, config);
}

static void apply_log_level(const struct balkon_config *config)
{
    enum balkon_log_level level;
    if (balkon_log_level_parse(config->log.level, &level) == 0)
        balkon_log_set_level(level);
}

/* Makes the spare slot (d->configs[!d->current], already loaded and valid) the running
 * config, the same way for SIGHUP and PUT /api/v1/config: options that need a restart
 * keep their running values (their paths go to changed), then every module hears
 * BUS_EV_CONFIG_CHANGED. */
static void apply_config(struct daemon *d, char *changed, size_t changed_size)
{
    const struct balkon_config *running = &d->configs[d->current];
    struct balkon_config *next = &d->configs[!d->current];
    balkon_config_keep_restart_options(running, next, changed, changed_size);
    if (changed[0])
        log_warn("daemon", "changes to %s take effect after a restart", changed);
    d->current = !d->current;
    d->ctx.config = next;
    apply_log_level(next);
    struct ev_config_changed event = {.config = next, .previous = running};
    balkon_bus_publish(d->ctx.bus, BUS_EV_CONFIG_CHANGED, &event);
}

static void reload(struct daemon *d)
{
    if (!d->options->config_path) {
        log_warn("daemon", "SIGHUP: there is no config file to reload (started without --config)");
        return;
    }
    log_notice("daemon", "SIGHUP: reloading %s", d->options->config_path);
    if (load_config(d, &d->configs[!d->current]) < 0) {
        log_error("daemon", "new config rejected; keeping the running one");
        return;
    }
    char changed[512];
    apply_config(d, changed, sizeof changed);
    log_notice("daemon", "config reloaded");
}

/* The config file as it is now, parsed (comments allowed), or NULL when it cannot be read
 * or is not JSON. The caller deletes it. */
static cJSON *read_config_json(const char *path)
{
    char *text, why[160];
    if (balkon_config_read_text(path, &text, why, sizeof why) < 0)
        return NULL;
    cJSON_Minify(text);
    cJSON *json = cJSON_Parse(text);
    free(text);
    return json;
}

/* A config read from GET /api/v1/config shows the command line's overrides (--db,
 * --listen, --log-level); sent back unchanged, they must not end up in the file. Where
 * next has exactly the override's value, the file's own value is kept (or the key left
 * out when the file had none, so the default stays). */
static void keep_file_value(cJSON *next, const cJSON *current, const char *section, const char *key,
                            const char *override)
{
    cJSON *object = cJSON_GetObjectItemCaseSensitive(next, section);
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    if (!override || !cJSON_IsString(item) || strcmp(item->valuestring, override) != 0)
        return;
    const cJSON *file_value =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(current, section), key);
    cJSON *kept = cJSON_IsString(file_value) ? cJSON_CreateString(file_value->valuestring) : NULL;
    if (!kept || !cJSON_ReplaceItemInObjectCaseSensitive(object, key, kept)) {
        cJSON_Delete(kept);
        cJSON_DeleteItemFromObjectCaseSensitive(object, key);
    }
}

static void append_errors(struct balkon_config_errors *to, const struct balkon_config_errors *from)
{
    for (size_t i = 0; i < from->count; i++) {
        if (to->count < BALKON_CONFIG_MAX_ERRORS)
            memcpy(to->items[to->count++], from->items[i], sizeof to->items[0]);
        else
            to->dropped++;
    }
    to->dropped += from->dropped;
}

/* The new file's text: a note on where it came from, then only the options that differ
 * from their defaults, with the comments of the file before kept where their keys remain
 * (src/core/config_jsonc.c). */
static char *file_text_of(const cJSON *json, const char *path)
{
    char *old_text = NULL, why[160];
    if (balkon_config_read_text(path, &old_text, why, sizeof why) < 0)
        old_text = NULL;
    char iso[BALKON_ISO_MAX];
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    char header[512];
    snprintf(header, sizeof header,
             "// Written by PUT /api/v1/config at %s; the file before is %s.bak.\n"
             "// Keys at their default are left out (balkonsolard --config-doc lists them).\n",
             balkon_format_iso(balkon_wall_now_ms(), iso, sizeof iso), name);
    char *text = balkon_config_file_text(old_text, json, header);
    free(old_text);
    return text;
}

/* The config.replace service (PUT /api/v1/config): the sent JSON becomes the config file
 * and the running config, or nothing changes. It is checked by the file's loader, written
 * atomically, then applied exactly as SIGHUP applies a file. */
static void replace_config(void *self, const char *request_text, size_t request_size,
                           struct balkon_config_replace_result *reply)
{
    struct daemon *d = self;
    struct balkon_config_errors *errors = reply->errors ? reply->errors : &d->replace_errors;
    memset(errors, 0, sizeof *errors);
    const char *path = d->options->config_path;
    if (!path) {
        reply->result = CONFIG_REPLACE_NO_FILE;
        snprintf(reply->message, sizeof reply->message,
                 "the daemon was started without --config and runs on the defaults, so there is "
                 "no config file to write; start it with --config FILE");
        return;
    }
    char *raw = malloc(request_size + 1);
    char *minified = malloc(request_size + 1);
    struct balkon_config *config = malloc(sizeof *config);
    cJSON *next = NULL, *current = NULL;
    char *text = NULL;
    reply->result = CONFIG_REPLACE_FAILED;
    if (!raw || !minified || !config) {
        snprintf(reply->message, sizeof reply->message, "out of memory");
        goto done;
    }
    memcpy(raw, request_text, request_size);
    raw[request_size] = '\0';
    memcpy(minified, raw, request_size + 1);
    cJSON_Minify(minified);
    next = cJSON_Parse(minified);
    reply->result = CONFIG_REPLACE_INVALID;
    if (!cJSON_IsObject(next)) {
        /* The loader says what is wrong, in the words it uses for a file. */
        balkon_config_parse(raw, config, errors);
        if (!errors->count)
            balkon_config_add_error(errors, NULL, "(config)", "must be a JSON object");
        goto done;
    }
    current = read_config_json(path);
    balkon_config_keep_secrets(next, current, errors);
    const struct balkon_daemon_options *o = d->options;
    keep_file_value(next, current, "storage", "path", o->db_path);
    keep_file_value(next, current, "http", "listen", o->listen);
    keep_file_value(next, current, "log", "level", o->log_level);
    text = file_text_of(next, path);
    if (!text) {
        reply->result = CONFIG_REPLACE_FAILED;
        snprintf(reply->message, sizeof reply->message, "out of memory");
        goto done;
    }
    struct balkon_config_errors loader_errors;
    balkon_config_parse(text, config, &loader_errors);
    append_errors(errors, &loader_errors);
    if (errors->count || errors->dropped)
        goto done;
    reply->result = CONFIG_REPLACE_FAILED;
    if (apply_overrides(d, config) < 0) {
        snprintf(reply->message, sizeof reply->message, "the command line's overrides do not fit");
        goto done;
    }
    if (balkon_config_write_file(path, text, reply->message, sizeof reply->message) < 0)
        goto done;
    d->configs[!d->current] = *config;
    apply_config(d, reply->restart_required, sizeof reply->restart_required);
    reply->result = CONFIG_REPLACE_APPLIED;
    log_notice(
        "daemon",
        "config from PUT /api/v1/config written to %s (the previous file is %s.bak) and applied",
        path, path);

done:
    if (reply->result == CONFIG_REPLACE_INVALID)
        log_warn("daemon", "PUT /api/v1/config refused with %zu problems; nothing changed",
                 errors->count + errors->dropped);
    else if (reply->result == CONFIG_REPLACE_FAILED)
        log_error("daemon", "PUT /api/v1/config failed, nothing changed: %s", reply->message);
    cJSON_Delete(next);
    cJSON_Delete(current);
    free(text);
    free(config);
    free(minified);
    free(raw);
}

static void stop(struct daemon *d, int signum)
{
    if (d->stopping)
        return;
    d->stopping = true;
    log_notice("daemon", "stopping (signal %d)", signum);
    struct ev_shutdown event = {.signal = signum};
    balkon_bus_publish(d->ctx.bus, BUS_EV_SHUTDOWN, &event);
    d->services.config.self = NULL;
    while (d->started > 0) {
        d->started--;
        modules[d->started]->stop(d->module_states[d->started]);
    }
    balkon_mqtt_close(d->ctx.mqtt); /* after the modules: their stop unsubscribes */
    d->ctx.mqtt = NULL;
    uv_close((uv_handle_t *)&d->sigint, NULL);
    uv_close((uv_handle_t *)&d->sigterm, NULL);
    uv_close((uv_handle_t *)&d->sighup, NULL);
    uv_close((uv_handle_t *)&d->clock_check, NULL);
}

static void signal_cb(uv_signal_t *handle, int signum)
{
    struct daemon *d = handle->data;
    if (signum == SIGHUP) {
        balkon_sd_notify_reloading(); /* systemd waits for READY=1, also after a refusal */
        reload(d);
        balkon_sd_notify("READY=1");
    } else
        stop(d, signum);
}

static int open_store(struct daemon *d)
{
    const struct balkon_config *config = d->ctx.config;
    struct balkon_store_options options = {
        .path = config->storage.path,
        .raw_retention_days = (int)config->storage.raw_retention_days,
        .rollup_5m_retention_days = (int)config->storage.rollup_5m_retention_days,
        .rollup_1h_retention_days = (int)config->storage.rollup_1h_retention_days,
    };
    char msg[512] = "";
    int rc = balkon_store_open(&options, &d->ctx.store, msg, sizeof msg);
    if (rc < 0) {
        log_error("store", "%s", msg[0] ? msg : balkon_strerror(rc));
        return rc;
    }
    /* As many readers as the pool's threads that may run reads at once on 2 cores; an
     * in-memory database has none and is read on the loop. */
    d->ctx.readers = balkon_store_readers_new(config->storage.path, BALKON_STORE_READERS);
    return 0;
}

/* Makes the MQTT client when enabled; it connects in the background, so an unreachable
 * broker does not stop the start (its devices report themselves offline instead). */
static int open_mqtt(struct daemon *d)
{
    const struct balkon_config *config = d->ctx.config;
    if (!config->mqtt.enabled)
        return 0;
    char will_topic[80];
    snprintf(will_topic, sizeof will_topic, "%s/status", config->mqtt.prefix);
    struct balkon_mqtt_settings settings = {
        .host = config->mqtt.host,
        .port = (int)config->mqtt.port,
        .user = config->mqtt.user,
        .password = config->mqtt.password,
        .client_id = config->mqtt.client_id,
        .keepalive_s = (int)config->mqtt.keepalive_s,
        .will_topic = will_topic,
        .will_payload = "offline", /* the mqtt publisher (src/ha/) says "online" on connect */
        .will_retain = true,
    };
    char error[256];
    int rc = balkon_mqtt_new(d->ctx.loop, &settings, &d->ctx.mqtt, error, sizeof error);
    if (rc == BALKON_E_NOTFOUND) {
        /* libmosquitto is missing, the configuration is fine: the rest of the site runs,
         * and what needs MQTT says it is off. */
        log_error("mqtt", "%s; MQTT stays off until it is installed and the daemon restarted",
                  error);
        return 0;
    }
    if (rc < 0)
        log_error("mqtt", "%s", error);
    return rc;
}

/* Simulated time starts at simulation.start, but never before data already stored: a
 * fast demo restarted after an hour must not write over the "future" it already made. */
static int64_t clock_start_ms(struct daemon *d)
{
    const char *start = d->ctx.config->simulation.start;
    int64_t start_ms = balkon_wall_now_ms();
    if (start[0] && strcmp(start, "now") != 0)
        balkon_parse_time(start, &start_ms);
    int64_t last_ms = balkon_store_last_ts(d->ctx.store);
    if (last_ms != INT64_MIN && last_ms >= start_ms) {
        char iso[BALKON_ISO_MAX];
        log_info("daemon", "resuming the clock after the newest stored sample (%s)",
                 balkon_format_iso(last_ms, iso, sizeof iso));
        start_ms = last_ms + 1;
    }
    return start_ms;
}

int balkon_daemon_run(const struct balkon_daemon_options *options)
{
    static struct daemon d; /* large (two configs); one daemon per process */
    memset(&d, 0, sizeof d);
    d.options = options;
    /* Everything the daemon creates (database, its journal, the setup code, the config it
     * writes) holds secrets or password hashes: owner only, also where no service manager
     * sets a umask. The files themselves are created 0600 too. */
    umask(077);
    if (options->config_path) {
        int removed = balkon_config_remove_stale_temps(options->config_path);
        if (removed > 0)
            log_notice("daemon",
                       "removed %d stale temporary cop%s of %s (left by an interrupted config "
                       "write)",
                       removed, removed == 1 ? "y" : "ies", options->config_path);
    }
    if (load_config(&d, &d.configs[0]) < 0)
        return 2;
    d.ctx.config = &d.configs[0];
    apply_log_level(d.ctx.config);
    if (d.ctx.config->site.timezone[0]) {
        setenv("TZ", d.ctx.config->site.timezone, 1);
        tzset();
    }
    log_notice("daemon", "balkonsolard %s starting with %s", BALKON_VERSION,
               options->config_path ? options->config_path : "the defaults (no --config)");

    signal(SIGPIPE, SIG_IGN);
    if (open_store(&d) < 0)
        return 1;
    int exit_code = 1;
    uv_loop_t loop;
    uv_loop_init(&loop);
    d.ctx.loop = &loop;
    d.ctx.bus = balkon_bus_new();
    d.ctx.started_ms = balkon_wall_now_ms();
    if (!d.ctx.bus)
        goto done;
    d.ctx.services = &d.services;
    d.services.config.self = &d;
    d.services.config.replace = replace_config;
    balkon_clock_init(&d.ctx.clock, d.ctx.config->simulation.speed, clock_start_ms(&d));
    if (d.ctx.clock.speed != 1)
        log_notice("daemon", "simulated clock at %gx wall speed", d.ctx.clock.speed);
    if (open_mqtt(&d) < 0)
        goto done;

    /* Signals first: a module may already announce itself (the HTTP server's "listening"),
     * and a SIGHUP or SIGTERM sent then must not hit the default action. They are handled
     * once the loop runs. */
    uv_signal_init(&loop, &d.sigint);
    uv_signal_init(&loop, &d.sigterm);
    uv_signal_init(&loop, &d.sighup);
    d.sigint.data = d.sigterm.data = d.sighup.data = &d;
    uv_signal_start(&d.sigint, signal_cb, SIGINT);
    uv_signal_start(&d.sigterm, signal_cb, SIGTERM);
    uv_signal_start(&d.sighup, signal_cb, SIGHUP);
    uv_timer_init(&loop, &d.clock_check);
    d.clock_check.data = &d;
    uv_timer_start(&d.clock_check, clock_check_cb, CLOCK_CHECK_MS, CLOCK_CHECK_MS);

    for (; d.started < MODULE_COUNT; d.started++) {
        int rc = modules[d.started]->start(&d.ctx, &d.module_states[d.started]);
        if (rc < 0) {
            log_error("daemon", "module %s failed to start: %s", modules[d.started]->name,
                      balkon_strerror(rc));
            break;
        }
    }
    bool all_started = d.started == MODULE_COUNT;

    size_t started = d.started;
    if (all_started) {
        struct ev_daemon_started info = {0};
        char real[PATH_MAX];
        if (options->config_path &&
            snprintf(info.config_path, sizeof info.config_path, "%s",
                     realpath(options->config_path, real) ? real : options->config_path) >=
                (int)sizeof info.config_path)
            log_warn("daemon", "the config path is too long to show in the API");
        balkon_bus_publish(d.ctx.bus, BUS_EV_DAEMON_STARTED, &info);
        log_notice("daemon", "running");
        uv_run(&loop, UV_RUN_DEFAULT);
        exit_code = 0;
    } else {
        stop(&d, 0);
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    for (size_t i = started; i > 0; i--)
        if (modules[i - 1]->free)
            modules[i - 1]->free(d.module_states[i - 1]);

done:
    balkon_store_readers_free(d.ctx.readers); /* uv_run returned: no job holds a reader */
    balkon_store_close(d.ctx.store);
    balkon_bus_free(d.ctx.bus);
    if (uv_loop_close(&loop) != 0)
        log_warn("daemon", "event loop closed with handles still open");
    log_notice("daemon", "stopped");
    return exit_code;
}
