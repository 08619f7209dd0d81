/* The list of problems found while loading a config. Here, below the config engine, so the
 * registries' checks (drivers, providers, notification channels) can add to it. */
#include "balkon/config_types.h"

#include <stdarg.h>
#include <stdio.h>

void balkon_config_add_error(struct balkon_config_errors *errors, const char *path, const char *key,
                             const char *fmt, ...)
{
    if (errors->count >= BALKON_CONFIG_MAX_ERRORS) {
        errors->dropped++;
        return;
    }
    char *line = errors->items[errors->count++];
    size_t size = sizeof errors->items[0];
    int used;
    if (path && *path && key)
        used = snprintf(line, size, "%s.%s: ", path, key);
    else
        used = snprintf(line, size, "%s: ", key ? key : (path && *path ? path : "(config)"));
    if (used < 0 || (size_t)used >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + used, size - (size_t)used, fmt, ap);
    va_end(ap);
}
