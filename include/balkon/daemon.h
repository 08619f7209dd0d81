/* The daemon: loads the config, opens the store, starts the modules on one libuv loop and
 * runs until SIGINT/SIGTERM. SIGHUP reloads the config. */
#ifndef BALKON_DAEMON_H
#define BALKON_DAEMON_H

struct balkon_daemon_options {
    const char *config_path; /* required */
    const char *db_path;     /* overrides storage.path when not NULL */
    const char *listen;      /* overrides http.listen when not NULL */
    const char *log_level;   /* overrides log.level when not NULL */
};

/* Runs until stopped. Returns the process exit code: 0 after a clean stop, 1 when a module
 * or the store could not start, 2 for an invalid config. */
int balkon_daemon_run(const struct balkon_daemon_options *options);

struct balkon_module;
/* The modules the daemon starts (its order is in src/daemon/daemon.c). Each is defined
 * by its module, below the daemon. */
extern const struct balkon_module balkon_module_devices;
extern const struct balkon_module balkon_module_site;
extern const struct balkon_module balkon_module_recorder;
extern const struct balkon_module balkon_module_http;
extern const struct balkon_module balkon_module_providers;
extern const struct balkon_module balkon_module_planner;
extern const struct balkon_module balkon_module_control;
extern const struct balkon_module balkon_module_loads;
extern const struct balkon_module balkon_module_metrics;
extern const struct balkon_module balkon_module_ha;
extern const struct balkon_module balkon_module_notify;
extern const struct balkon_module balkon_module_recommend;

#endif
