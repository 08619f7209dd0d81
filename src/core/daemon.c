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
#include "balkon/store.h"
#include "balkon/timeutil.h"
#include "balkon/version.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct balkon_module *const modules[] = {
    &balkon_module_recorder, /* first, so it hears every sample the others publish */
    &balkon_module_site,
    &balkon_module_http,
    &balkon_module_devices,
    &balkon_module_providers,
    &balkon_module_planner,
    &balkon_module_control,
    &balkon_module_loads,
};
#define MODULE_COUNT (sizeof modules / sizeof modules[0])

struct daemon {
    const struct balkon_daemon_options *options;
    struct balkon_ctx ctx;
    /* Two configs: the running one and the one before the last reload, so a
     * BUS_EV_CONFIG_CHANGED payload can show both. */
    struct balkon_config configs[2];
    int current;
    void *module_states[MODULE_COUNT];
    size_t started;
    uv_signal_t sigint, sigterm, sighup;
    bool stopping;
};

static void log_errors(const char *path, const struct balkon_config_errors *errors)
{
    for (size_t i = 0; i < errors->count; i++)
        log_error("config", "%s: %s", path, errors->items[i]);
    if (errors->dropped)
        log_error("config", "%s: ... and %zu more problems", path, errors->dropped);
}

/* Loads the file and applies the command line's overrides. Returns 0 or an error code
 * after logging every problem. */
static int load_config(struct daemon *d, struct balkon_config *config)
{
    struct balkon_config_errors errors;
    int rc = balkon_config_load(d->options->config_path, config, &errors);
    if (rc < 0) {
        log_errors(d->options->config_path, &errors);
        return rc;
    }
    const struct balkon_daemon_options *o = d->options;
    if (o->db_path && snprintf(config->storage.path, sizeof config->storage.path, "%s",
                               o->db_path) >= (int)sizeof config->storage.path) {
        log_error("config", "--db: path longer than %zu characters", sizeof config->storage.path - 1);
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

static void apply_log_level(const struct balkon_config *config)
{
    enum balkon_log_level level;
    if (balkon_log_level_parse(config->log.level, &level) == 0)
        balkon_log_set_level(level);
}

static void reload(struct daemon *d)
{
    const struct balkon_config *running = &d->configs[d->current];
    struct balkon_config *next = &d->configs[!d->current];
    log_notice("daemon", "SIGHUP: reloading %s", d->options->config_path);
    if (load_config(d, next) < 0) {
        log_error("daemon", "new config rejected; keeping the running one");
        return;
    }
    char changed[512];
    balkon_config_keep_restart_options(running, next, changed, sizeof changed);
    if (changed[0])
        log_warn("daemon", "changes to %s take effect after a restart", changed);
    d->current = !d->current;
    d->ctx.config = next;
    apply_log_level(next);
    struct ev_config_changed event = {.config = next, .previous = running};
    balkon_bus_publish(d->ctx.bus, BUS_EV_CONFIG_CHANGED, &event);
    log_notice("daemon", "config reloaded");
}

static void stop(struct daemon *d, int signum)
{
    if (d->stopping)
        return;
    d->stopping = true;
    log_notice("daemon", "stopping (signal %d)", signum);
    struct ev_shutdown event = {.signal = signum};
    balkon_bus_publish(d->ctx.bus, BUS_EV_SHUTDOWN, &event);
    while (d->started > 0) {
        d->started--;
        modules[d->started]->stop(d->module_states[d->started]);
    }
    balkon_mqtt_close(d->ctx.mqtt); /* after the modules: their stop unsubscribes */
    d->ctx.mqtt = NULL;
    uv_close((uv_handle_t *)&d->sigint, NULL);
    uv_close((uv_handle_t *)&d->sigterm, NULL);
    uv_close((uv_handle_t *)&d->sighup, NULL);
}

static void signal_cb(uv_signal_t *handle, int signum)
{
    struct daemon *d = handle->data;
    if (signum == SIGHUP)
        reload(d);
    else
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
    if (rc < 0)
        log_error("store", "%s", msg[0] ? msg : balkon_strerror(rc));
    return rc;
}

/* Makes the MQTT client when enabled; it connects in the background, so an unreachable
 * broker does not stop the start (its devices report themselves offline instead). */
static int open_mqtt(struct daemon *d)
{
    const struct balkon_config *config = d->ctx.config;
    if (!config->mqtt.enabled)
        return 0;
    struct balkon_mqtt_settings settings = {
        .host = config->mqtt.host,
        .port = (int)config->mqtt.port,
        .user = config->mqtt.user,
        .password = config->mqtt.password,
        .client_id = config->mqtt.client_id,
        .keepalive_s = (int)config->mqtt.keepalive_s,
    };
    char error[256];
    int rc = balkon_mqtt_new(d->ctx.loop, &settings, &d->ctx.mqtt, error, sizeof error);
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
    if (load_config(&d, &d.configs[0]) < 0)
        return 2;
    d.ctx.config = &d.configs[0];
    apply_log_level(d.ctx.config);
    if (d.ctx.config->site.timezone[0]) {
        setenv("TZ", d.ctx.config->site.timezone, 1);
        tzset();
    }
    log_notice("daemon", "balkonsolard %s starting with %s", BALKON_VERSION, options->config_path);

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
    balkon_clock_init(&d.ctx.clock, d.ctx.config->simulation.speed, clock_start_ms(&d));
    if (d.ctx.clock.speed != 1)
        log_notice("daemon", "simulated clock at %gx wall speed", d.ctx.clock.speed);
    if (open_mqtt(&d) < 0)
        goto done;

    for (; d.started < MODULE_COUNT; d.started++) {
        int rc = modules[d.started]->start(&d.ctx, &d.module_states[d.started]);
        if (rc < 0) {
            log_error("daemon", "module %s failed to start: %s", modules[d.started]->name,
                      balkon_strerror(rc));
            break;
        }
    }
    bool all_started = d.started == MODULE_COUNT;

    uv_signal_init(&loop, &d.sigint);
    uv_signal_init(&loop, &d.sigterm);
    uv_signal_init(&loop, &d.sighup);
    d.sigint.data = d.sigterm.data = d.sighup.data = &d;
    uv_signal_start(&d.sigint, signal_cb, SIGINT);
    uv_signal_start(&d.sigterm, signal_cb, SIGTERM);
    uv_signal_start(&d.sighup, signal_cb, SIGHUP);

    size_t started = d.started;
    if (all_started) {
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
    balkon_store_close(d.ctx.store);
    balkon_bus_free(d.ctx.bus);
    if (uv_loop_close(&loop) != 0)
        log_warn("daemon", "event loop closed with handles still open");
    log_notice("daemon", "stopped");
    return exit_code;
}
