/* What the config table produces besides validation: the redacted JSON of the running
 * config, the markdown reference, and the carry-over of options that need a restart. */
#include "config_schema.h"

#include "balkon/url.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <string.h>

static cJSON *object_to_json(const struct cfg_table *table, const void *base);

static cJSON *row_to_json(const struct cfg_row *row, const void *base)
{
    const char *field = (const char *)base + row->offset;
    switch (row->type) {
    case CFG_NUMBER:
        return cJSON_CreateNumber(*(const double *)field);
    case CFG_INT:
        return cJSON_CreateNumber((double)*(const int64_t *)field);
    case CFG_BOOL:
        return cJSON_CreateBool(*(const bool *)field);
    case CFG_STRING:
    case CFG_ENUM:
        if ((row->flags & CFG_SECRET) && field[0])
            return cJSON_CreateString(CFG_SECRET_MASK);
        if ((row->flags & CFG_URL) && field[0]) {
            char shown[300];
            balkon_url_redact(field, shown, sizeof shown);
            return cJSON_CreateString(shown);
        }
        return cJSON_CreateString(field);
    case CFG_OBJECT:
        return object_to_json(row->sub, field);
    case CFG_ARRAY: {
        cJSON *array = cJSON_CreateArray();
        size_t count = *(const size_t *)((const char *)base + row->count_offset);
        for (size_t i = 0; array && i < count; i++)
            cJSON_AddItemToArray(array, object_to_json(row->sub, field + i * row->size));
        return array;
    }
    }
    return cJSON_CreateNull();
}

static cJSON *object_to_json(const struct cfg_table *table, const void *base)
{
    cJSON *object = cJSON_CreateObject();
    for (size_t i = 0; object && i < table->row_count; i++)
        cJSON_AddItemToObject(object, table->rows[i].key, row_to_json(&table->rows[i], base));
    return object;
}

cJSON *cfg_to_json(const struct cfg_table *table, const void *base)
{
    return object_to_json(table, base);
}

cJSON *balkon_config_to_json(const struct balkon_config *config)
{
    return object_to_json(&balkon_config_root, config);
}

static size_t row_bytes(const struct cfg_row *row)
{
    return row->type == CFG_ARRAY ? row->size * (size_t)row->max : row->size;
}

static void keep_restart(const struct cfg_table *table, const void *running, void *next,
                         const char *path, char *changed, size_t changed_size)
{
    for (size_t i = 0; i < table->row_count; i++) {
        const struct cfg_row *row = &table->rows[i];
        char sub_path[128];
        snprintf(sub_path, sizeof sub_path, "%s%s%s", path, *path ? "." : "", row->key);
        if (row->type == CFG_OBJECT) {
            keep_restart(row->sub, (const char *)running + row->offset, (char *)next + row->offset,
                         sub_path, changed, changed_size);
            continue;
        }
        if (!(row->flags & CFG_RESTART))
            continue;
        const char *old_field = (const char *)running + row->offset;
        char *new_field = (char *)next + row->offset;
        bool differs = row->type == CFG_STRING || row->type == CFG_ENUM
                           ? strcmp(old_field, new_field) != 0
                           : memcmp(old_field, new_field, row_bytes(row)) != 0;
        if (!differs)
            continue;
        memcpy(new_field, old_field, row_bytes(row));
        size_t len = strlen(changed);
        snprintf(changed + len, changed_size - len, "%s%s", len ? ", " : "", sub_path);
    }
}

void balkon_config_keep_restart_options(const struct balkon_config *running,
                                        struct balkon_config *next, char *changed,
                                        size_t changed_size)
{
    changed[0] = '\0';
    keep_restart(&balkon_config_root, running, next, "", changed, changed_size);
}

static const char *type_name(const struct cfg_row *row)
{
    switch (row->type) {
    case CFG_NUMBER:
        return "number";
    case CFG_INT:
        return "integer";
    case CFG_BOOL:
        return "boolean";
    case CFG_STRING:
        return row->flags & CFG_SECRET ? "secret string" : "string";
    case CFG_ENUM:
        return "one of";
    case CFG_OBJECT:
        return "object";
    case CFG_ARRAY:
        return "array of objects";
    }
    return "?";
}

static void write_rows(FILE *out, const struct cfg_table *table, const char *path);

static void write_table(FILE *out, const struct cfg_table *table, const char *path, const char *doc)
{
    fprintf(out, "\n## `%s`\n\n%s\n\n", path, doc);
    fprintf(out, "| option | type | default | allowed | description |\n");
    fprintf(out, "|---|---|---|---|---|\n");
    write_rows(out, table, path);
}

static void write_rows(FILE *out, const struct cfg_table *table, const char *path)
{
    for (size_t i = 0; i < table->row_count; i++) {
        const struct cfg_row *row = &table->rows[i];
        if (row->type == CFG_OBJECT || row->type == CFG_ARRAY)
            continue;
        char allowed[160] = "";
        if (row->type == CFG_ENUM) {
            for (const char *const *c = row->choices; *c; c++) {
                size_t len = strlen(allowed);
                snprintf(allowed + len, sizeof allowed - len, "%s`%s`", len ? ", " : "", *c);
            }
        } else if (row->flags & (CFG_HAS_MIN | CFG_HAS_MAX)) {
            const char *lower = row->flags & CFG_MIN_EXCL ? ">" : "≥";
            snprintf(allowed, sizeof allowed, "%s %g … ≤ %g", lower, row->min, row->max);
        }
        char type[48];
        snprintf(type, sizeof type, "%s%s%s%s", type_name(row), row->unit ? " (" : "",
                 row->unit ? row->unit : "", row->unit ? ")" : "");
        fprintf(out, "| `%s%s%s` | %s | %s%s%s | %s | %s%s%s%s%s%s |\n", path, *path ? "." : "",
                row->key, type, row->def ? "`" : "", row->def ? row->def : "—", row->def ? "`" : "",
                allowed, row->doc, row->flags & CFG_REQUIRED ? " **Required.**" : "",
                row->flags & CFG_SECRET ? " Accepts `env:NAME`." : "",
                row->flags & CFG_URL ? " Shown as `scheme://host:port/***` when it has a user, "
                                       "a path or a query."
                                     : "",
                row->flags & CFG_DEST ? " Where this item's secrets go: changed through the API, "
                                        "they must be sent anew."
                                      : "",
                row->flags & CFG_RESTART ? " Takes effect after a restart." : "");
    }
    for (size_t i = 0; i < table->row_count; i++) {
        const struct cfg_row *row = &table->rows[i];
        char sub_path[128];
        snprintf(sub_path, sizeof sub_path, "%s%s%s%s", path, *path ? "." : "", row->key,
                 row->type == CFG_ARRAY ? "[]" : "");
        if (row->type == CFG_OBJECT || row->type == CFG_ARRAY) {
            char doc[512];
            if (row->type == CFG_ARRAY)
                snprintf(doc, sizeof doc, "%s %g to %g items.%s%s%s", row->doc, row->min, row->max,
                         row->def ? " Default: `" : "", row->def ? row->def : "",
                         row->def ? "`." : "");
            else
                snprintf(doc, sizeof doc, "%s", row->doc);
            write_table(out, row->sub, sub_path, doc);
        }
    }
}

void balkon_config_write_doc(FILE *out)
{
    fprintf(out, "# Configuration reference\n\n"
                 "<!-- Generated by `balkonsolard --config-doc` from src/core/config_table.c; "
                 "a test keeps this file in step with the code. -->\n\n"
                 "BalkonSolar reads one JSON file (`--config FILE`). Comments (`//` and `/* */`) "
                 "are allowed. Every option has a default, so a file only needs what differs. "
                 "Every problem is reported with its JSON path, e.g. "
                 "`battery.capacity_wh: must be > 0 and <= 100000, got -5`, and the daemon "
                 "refuses to start (or, on SIGHUP, keeps the running config). Unknown options "
                 "are errors, so typos do not pass silently. Options marked *takes effect after "
                 "a restart* keep their running value on reload. "
                 "`config/balkonsolar.example.json` sets every option; `config/demo.json` "
                 "runs the demo.\n");
    write_rows(out, &balkon_config_root, "");
}
