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

#endif
