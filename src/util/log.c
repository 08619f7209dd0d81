#include "balkon/log.h"

#include "balkon/error.h"
#include "balkon/timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum balkon_log_level current_level = BALKON_LOG_INFO;
static int journal_mode = -1; /* -1: decide from JOURNAL_STREAM on first use */

static const struct {
    enum balkon_log_level level;
    const char *name;
} level_names[] = {
    {BALKON_LOG_ERROR, "error"}, {BALKON_LOG_WARN, "warn"},   {BALKON_LOG_NOTICE, "notice"},
    {BALKON_LOG_INFO, "info"},   {BALKON_LOG_DEBUG, "debug"},
};

void balkon_log_set_level(enum balkon_log_level level)
{
    current_level = level;
}
enum balkon_log_level balkon_log_get_level(void)
{
    return current_level;
}
void balkon_log_set_journal(bool journal)
{
    journal_mode = journal;
}

int balkon_log_level_parse(const char *name, enum balkon_log_level *out)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (name && strcmp(name, level_names[i].name) == 0) {
            *out = level_names[i].level;
            return 0;
        }
    }
    return BALKON_E_INVAL;
}

const char *balkon_log_level_name(enum balkon_log_level level)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
        if (level_names[i].level == level)
            return level_names[i].name;
    return "?";
}

void balkon_log(enum balkon_log_level level, const char *module, const char *fmt, ...)
{
    if (level > current_level)
        return;
    if (journal_mode < 0)
        journal_mode = getenv("JOURNAL_STREAM") != NULL;

    /* Format the whole line first and write it with one call, so lines from a crash
     * handler or a child never interleave mid-line. */
    char line[1024];
    int used;
    if (journal_mode) {
        used = snprintf(line, sizeof line, "<%d>%s: ", (int)level, module);
    } else {
        char iso[BALKON_ISO_MAX];
        balkon_format_iso(balkon_wall_now_ms(), iso, sizeof iso);
        used =
            snprintf(line, sizeof line, "%s %-6s %s: ", iso, balkon_log_level_name(level), module);
    }
    if (used < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line + used, sizeof line - (size_t)used, fmt, ap);
    va_end(ap);
    size_t len = (size_t)used + (n < 0 ? 0 : (size_t)n);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    /* One event per line: fold embedded newlines so journald keeps the event whole. */
    for (size_t i = (size_t)used; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[len++] = '\n';
    fwrite(line, 1, len, stderr);
    fflush(stderr);
}
