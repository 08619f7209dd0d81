/* The list of problems found while loading a config. Here, below the config engine, so the
 * registries' checks (drivers, providers, notification channels) can add to it. */
#include "balkon/config_types.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

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

/* One pattern of the loader's messages: the text up to the first number or quoted word, and
 * what follows it. Kept beside balkon_config_add_error, whose callers write these texts. */
static bool starts(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

static void add_param(struct balkon_config_error_code *out, const char *name, const char *value,
                      size_t len)
{
    if (out->param_count >= sizeof out->params / sizeof out->params[0])
        return;
    out->params[out->param_count].name = name;
    snprintf(out->params[out->param_count].value, sizeof out->params[0].value, "%.*s", (int)len,
             value);
    out->param_count++;
}

/* The number at text (as %g wrote it) as a parameter; the text after it. */
static const char *number_param(struct balkon_config_error_code *out, const char *name,
                                const char *text)
{
    size_t len = strspn(text, "-+0123456789.e");
    add_param(out, name, text, len);
    return text + len;
}

/* ", got X" at the end of a message: X as the parameter "got". */
static void got_param(struct balkon_config_error_code *out, const char *message)
{
    const char *got = strstr(message, ", got ");
    if (got)
        add_param(out, "got", got + 6, strlen(got + 6));
}

void balkon_config_error_classify(const char *message, struct balkon_config_error_code *out)
{
    memset(out, 0, sizeof *out);
    out->code = "invalid";
    const char *p;
    if (starts(message, "must be between ")) {
        out->code = "range";
        p = number_param(out, "min", message + strlen("must be between "));
        if (starts(p, " and "))
            number_param(out, "max", p + 5);
        got_param(out, message);
    } else if (starts(message, "must be > ")) {
        p = number_param(out, "min", message + strlen("must be > "));
        out->code = "above";
        if (starts(p, " and <= ")) {
            out->code = "range_above";
            number_param(out, "max", p + strlen(" and <= "));
        }
        got_param(out, message);
    } else if (starts(message, "must be >= ")) {
        out->code = "min";
        number_param(out, "min", message + strlen("must be >= "));
        got_param(out, message);
    } else if (starts(message, "must be <= ")) {
        out->code = "max";
        number_param(out, "max", message + strlen("must be <= "));
        got_param(out, message);
    } else if (starts(message, "must be a number") || starts(message, "must be a finite number")) {
        out->code = "number";
        got_param(out, message);
    } else if (starts(message, "must be a whole number")) {
        out->code = "integer";
        got_param(out, message);
    } else if (starts(message, "must be true or false")) {
        out->code = "boolean";
        got_param(out, message);
    } else if (starts(message, "must be a string")) {
        out->code = "string";
        got_param(out, message);
    } else if (starts(message, "must be an object") || starts(message, "must be a JSON object")) {
        out->code = "object";
    } else if (starts(message, "must be an array")) {
        out->code = "array";
    } else if (starts(message, "must be one of ")) {
        out->code = "one_of";
        const char *list = message + strlen("must be one of ");
        const char *got = strstr(list, ", got ");
        add_param(out, "allowed", list, got ? (size_t)(got - list) : strlen(list));
        got_param(out, message);
    } else if (starts(message, "must be a time HH:MM")) {
        out->code = "time_hhmm";
        got_param(out, message);
    } else if (strcmp(message, "is required") == 0) {
        out->code = "required";
    } else if (strcmp(message, "must not be empty") == 0) {
        out->code = "empty";
    } else if (starts(message, "is too long (at most ")) {
        out->code = "too_long";
        number_param(out, "max", message + strlen("is too long (at most "));
    } else if (starts(message, "unknown option")) {
        out->code = "unknown_key";
        const char *quote = strchr(message, '"');
        if (quote) {
            size_t len = strcspn(quote + 1, "\"");
            add_param(out, "suggestion", quote + 1, len);
        }
    } else if (starts(message, "needs optimizer.allow_grid_charge")) {
        out->code = "needs_grid_charge";
    } else if (starts(message, "needs at least one plane: ")) {
        out->code = "needs_plane";
        const char *quote = strchr(message, '"');
        if (quote)
            add_param(out, "type", quote + 1, strcspn(quote + 1, "\""));
    } else if (starts(message, "not valid JSON at line ")) {
        out->code = "json_syntax";
        p = number_param(out, "line", message + strlen("not valid JSON at line "));
        if (starts(p, ", column "))
            number_param(out, "column", p + strlen(", column "));
    }
}
