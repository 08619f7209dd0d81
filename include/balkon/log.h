/* Leveled logging to stderr, one event per line.
 *
 * Under systemd (JOURNAL_STREAM set) each line starts with a syslog priority prefix
 * such as "<4>", which journald turns into the entry's priority; elsewhere lines carry
 * an ISO-8601 UTC timestamp and the level's name. Every line names the module that
 * logged it. Logging never allocates and never fails visibly. */
#ifndef BALKON_LOG_H
#define BALKON_LOG_H

#include <stdbool.h>

/* Values are syslog priorities, so they can be written as journald prefixes. */
enum balkon_log_level {
    BALKON_LOG_ERROR = 3,
    BALKON_LOG_WARN = 4,
    BALKON_LOG_NOTICE = 5,
    BALKON_LOG_INFO = 6,
    BALKON_LOG_DEBUG = 7,
};

void balkon_log_set_level(enum balkon_log_level level);
enum balkon_log_level balkon_log_get_level(void);

/* Parses "error", "warn", "notice", "info" or "debug". Returns 0 or BALKON_E_INVAL. */
int balkon_log_level_parse(const char *name, enum balkon_log_level *out);
const char *balkon_log_level_name(enum balkon_log_level level);

/* Force or forbid the journald prefix format (tests); by default it follows JOURNAL_STREAM. */
void balkon_log_set_journal(bool journal);

void balkon_log(enum balkon_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(module, ...) balkon_log(BALKON_LOG_ERROR, module, __VA_ARGS__)
#define log_warn(module, ...) balkon_log(BALKON_LOG_WARN, module, __VA_ARGS__)
#define log_notice(module, ...) balkon_log(BALKON_LOG_NOTICE, module, __VA_ARGS__)
#define log_info(module, ...) balkon_log(BALKON_LOG_INFO, module, __VA_ARGS__)
#define log_debug(module, ...) balkon_log(BALKON_LOG_DEBUG, module, __VA_ARGS__)

#endif
