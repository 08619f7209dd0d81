/* The generic config engine: walks a cfg_table against a cJSON tree to apply defaults,
 * validate and fill the struct. It knows nothing about particular options; those live in
 * config_table.c. */
#include "config_schema.h"

#include "balkon/error.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_MAX_FILE_BYTES (1024 * 1024)

static void join_path(char *out, size_t size, const char *path, const char *key)
{
    if (path && *path)
        snprintf(out, size, "%s.%s", path, key);
    else
        snprintf(out, size, "%s", key);
}

/* Describes a JSON value for an error message: `"abc"`, `true`, `an object`. */
static void describe(const cJSON *item, char *out, size_t size)
{
    if (cJSON_IsString(item))
        snprintf(out, size, "\"%.40s\"", item->valuestring);
    else if (cJSON_IsNumber(item))
        snprintf(out, size, "%g", item->valuedouble);
    else if (cJSON_IsBool(item))
        snprintf(out, size, "%s", cJSON_IsTrue(item) ? "true" : "false");
    else if (cJSON_IsNull(item))
        snprintf(out, size, "null");
    else if (cJSON_IsArray(item))
        snprintf(out, size, "an array");
    else
        snprintf(out, size, "an object");
}

static void describe_bounds(const struct cfg_row *row, char *out, size_t size)
{
    bool has_min = row->flags & CFG_HAS_MIN, has_max = row->flags & CFG_HAS_MAX;
    const char *lower = row->flags & CFG_MIN_EXCL ? ">" : ">=";
    if (has_min && has_max && !(row->flags & CFG_MIN_EXCL))
        snprintf(out, size, "between %g and %g", row->min, row->max);
    else if (has_min && has_max)
        snprintf(out, size, "%s %g and <= %g", lower, row->min, row->max);
    else if (has_min)
        snprintf(out, size, "%s %g", lower, row->min);
    else if (has_max)
        snprintf(out, size, "<= %g", row->max);
    else
        out[0] = '\0';
}

static bool in_bounds(const struct cfg_row *row, double value)
{
    if (row->flags & CFG_HAS_MIN) {
        if (row->flags & CFG_MIN_EXCL ? value <= row->min : value < row->min)
            return false;
    }
    if ((row->flags & CFG_HAS_MAX) && value > row->max)
        return false;
    return true;
}

static void parse_object(const struct cfg_table *table, const cJSON *json, void *base,
                         const char *path, struct balkon_config_errors *errors);
static void apply_defaults(const struct cfg_table *table, void *base);

static void set_value(const struct cfg_row *row, const cJSON *item, void *base, const char *path,
                      struct balkon_config_errors *errors)
{
    char *field = (char *)base + row->offset;
    char got[64], bounds[64];
    describe(item, got, sizeof got);
    describe_bounds(row, bounds, sizeof bounds);

    switch (row->type) {
    case CFG_NUMBER:
    case CFG_INT: {
        if (!cJSON_IsNumber(item)) {
            cfg_error(errors, path, row->key, "must be a number, got %s", got);
            return;
        }
        double value = item->valuedouble;
        if (!isfinite(value)) {
            cfg_error(errors, path, row->key, "must be a finite number, got %s", got);
            return;
        }
        if (row->type == CFG_INT && (value != floor(value) || fabs(value) > 9e15)) {
            cfg_error(errors, path, row->key, "must be a whole number, got %s", got);
            return;
        }
        if (!in_bounds(row, value)) {
            cfg_error(errors, path, row->key, "must be %s, got %s", bounds, got);
            return;
        }
        if (row->type == CFG_INT)
            *(int64_t *)field = (int64_t)value;
        else
            *(double *)field = value;
        return;
    }
    case CFG_BOOL:
        if (!cJSON_IsBool(item)) {
            cfg_error(errors, path, row->key, "must be true or false, got %s", got);
            return;
        }
        *(bool *)field = cJSON_IsTrue(item);
        return;
    case CFG_STRING:
    case CFG_ENUM: {
        if (!cJSON_IsString(item)) {
            cfg_error(errors, path, row->key, "must be a string, got %s", got);
            return;
        }
        const char *value = item->valuestring;
        if ((row->flags & CFG_SECRET) && strncmp(value, "env:", 4) == 0) {
            const char *env = getenv(value + 4);
            if (!env || !*env) {
                cfg_error(errors, path, row->key, "environment variable %s is not set", value + 4);
                return;
            }
            value = env;
        }
        if (row->type == CFG_ENUM) {
            bool found = false;
            char list[128] = "";
            for (const char *const *c = row->choices; *c; c++) {
                found |= strcmp(*c, value) == 0;
                size_t len = strlen(list);
                snprintf(list + len, sizeof list - len, "%s\"%s\"", len ? ", " : "", *c);
            }
            if (!found) {
                cfg_error(errors, path, row->key, "must be one of %s, got %s", list, got);
                return;
            }
        }
        if ((row->flags & CFG_NONEMPTY) && !*value) {
            cfg_error(errors, path, row->key, "must not be empty");
            return;
        }
        if (strlen(value) >= row->size) {
            cfg_error(errors, path, row->key, "is too long (at most %zu characters)",
                      row->size - 1);
            return;
        }
        memcpy(field, value, strlen(value) + 1);
        return;
    }
    case CFG_OBJECT: {
        char sub_path[128];
        join_path(sub_path, sizeof sub_path, path, row->key);
        if (!cJSON_IsObject(item)) {
            cfg_error(errors, path, row->key, "must be an object, got %s", got);
            return;
        }
        parse_object(row->sub, item, field, sub_path, errors);
        return;
    }
    case CFG_ARRAY: {
        if (!cJSON_IsArray(item)) {
            cfg_error(errors, path, row->key, "must be an array, got %s", got);
            return;
        }
        size_t count = (size_t)cJSON_GetArraySize(item);
        if (!in_bounds(row, (double)count)) {
            cfg_error(errors, path, row->key, "must have %s items, got %zu", bounds, count);
            return;
        }
        size_t *count_field = (size_t *)((char *)base + row->count_offset);
        *count_field = count;
        size_t index = 0;
        const cJSON *element;
        cJSON_ArrayForEach(element, item)
        {
            char elem_path[128];
            if (path && *path)
                snprintf(elem_path, sizeof elem_path, "%s.%s[%zu]", path, row->key, index);
            else
                snprintf(elem_path, sizeof elem_path, "%s[%zu]", row->key, index);
            void *elem = field + index * row->size;
            memset(elem, 0, row->size);
            apply_defaults(row->sub, elem);
            if (!cJSON_IsObject(element)) {
                char elem_got[64];
                describe(element, elem_got, sizeof elem_got);
                cfg_error(errors, NULL, elem_path, "must be an object, got %s", elem_got);
            } else {
                parse_object(row->sub, element, elem, elem_path, errors);
            }
            index++;
        }
        return;
    }
    }
}

/* Suggests the known key closest to an unknown one, to catch typos ("capacity_w"). */
static const char *closest_key(const struct cfg_table *table, const char *key)
{
    const char *best = NULL;
    size_t best_distance = 3; /* suggest only near misses */
    for (size_t i = 0; i < table->row_count; i++) {
        const char *candidate = table->rows[i].key;
        size_t n = strlen(key), m = strlen(candidate);
        if (n > 63 || m > 63)
            continue;
        size_t prev[64], cur[64];
        for (size_t j = 0; j <= m; j++)
            prev[j] = j;
        for (size_t a = 1; a <= n; a++) {
            cur[0] = a;
            for (size_t j = 1; j <= m; j++) {
                size_t cost = key[a - 1] == candidate[j - 1] ? 0 : 1;
                size_t best_here = prev[j - 1] + cost;
                if (prev[j] + 1 < best_here)
                    best_here = prev[j] + 1;
                if (cur[j - 1] + 1 < best_here)
                    best_here = cur[j - 1] + 1;
                cur[j] = best_here;
            }
            memcpy(prev, cur, (m + 1) * sizeof prev[0]);
        }
        if (prev[m] < best_distance) {
            best_distance = prev[m];
            best = candidate;
        }
    }
    return best;
}

static void parse_object(const struct cfg_table *table, const cJSON *json, void *base,
                         const char *path, struct balkon_config_errors *errors)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, json)
    {
        const struct cfg_row *row = NULL;
        for (size_t i = 0; i < table->row_count && !row; i++)
            if (strcmp(table->rows[i].key, item->string) == 0)
                row = &table->rows[i];
        if (!row) {
            const char *suggestion = closest_key(table, item->string);
            if (suggestion)
                cfg_error(errors, path, item->string, "unknown option (did you mean \"%s\"?)",
                          suggestion);
            else
                cfg_error(errors, path, item->string, "unknown option");
            continue;
        }
        set_value(row, item, base, path, errors);
    }
    for (size_t i = 0; i < table->row_count; i++) {
        const struct cfg_row *row = &table->rows[i];
        if ((row->flags & CFG_REQUIRED) && !cJSON_GetObjectItemCaseSensitive(json, row->key))
            cfg_error(errors, path, row->key, "is required");
    }
    if (table->check)
        table->check(base, path, errors);
}

static void apply_defaults(const struct cfg_table *table, void *base)
{
    for (size_t i = 0; i < table->row_count; i++) {
        const struct cfg_row *row = &table->rows[i];
        if (row->type == CFG_OBJECT) {
            apply_defaults(row->sub, (char *)base + row->offset);
            continue;
        }
        if (row->type == CFG_ARRAY)
            *(size_t *)((char *)base + row->count_offset) = 0;
        if (!row->def)
            continue;
        /* Defaults go through the same parser as the file, so they obey the same rules;
         * a default that fails them is a bug in the table, caught by the unit tests. */
        cJSON *value = cJSON_Parse(row->def);
        struct balkon_config_errors ignored = {0};
        if (value)
            set_value(row, value, base, "", &ignored);
        cJSON_Delete(value);
    }
}

void cfg_defaults(const struct cfg_table *table, void *base)
{
    apply_defaults(table, base);
}

void balkon_config_defaults(struct balkon_config *config)
{
    memset(config, 0, sizeof *config);
    apply_defaults(&balkon_config_root, config);
}

int cfg_parse(const struct cfg_table *table, const char *json_text, void *base,
              struct balkon_config_errors *errors)
{
    /* cJSON_Minify strips comments in place, so work on a copy. */
    char *text = strdup(json_text);
    if (!text)
        return BALKON_E_NOMEM;
    cJSON_Minify(text);
    const char *parse_end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &parse_end, true);
    if (!root) {
        size_t offset = parse_end ? (size_t)(parse_end - text) : 0;
        cfg_error(errors, NULL, "(config)",
                  "not valid JSON near \"%.20s\" (offset %zu after removing comments)",
                  parse_end ? parse_end : "", offset);
        free(text);
        return BALKON_E_PARSE;
    }
    if (!cJSON_IsObject(root))
        cfg_error(errors, NULL, "(config)", "must be a JSON object");
    else
        parse_object(table, root, base, "", errors);
    cJSON_Delete(root);
    free(text);
    return errors->count || errors->dropped ? BALKON_E_INVAL : 0;
}

int balkon_config_parse(const char *json_text, struct balkon_config *config,
                        struct balkon_config_errors *errors)
{
    memset(errors, 0, sizeof *errors);
    balkon_config_defaults(config);
    return cfg_parse(&balkon_config_root, json_text, config, errors);
}

int balkon_config_load(const char *path, struct balkon_config *config,
                       struct balkon_config_errors *errors)
{
    memset(errors, 0, sizeof *errors);
    FILE *file = fopen(path, "rb");
    if (!file) {
        cfg_error(errors, NULL, path, "cannot open: %s", strerror(errno));
        return BALKON_E_IO;
    }
    char *text = malloc(CONFIG_MAX_FILE_BYTES + 1);
    if (!text) {
        fclose(file);
        return BALKON_E_NOMEM;
    }
    size_t len = fread(text, 1, CONFIG_MAX_FILE_BYTES + 1, file);
    int read_error = ferror(file);
    fclose(file);
    int rc;
    if (read_error) {
        cfg_error(errors, NULL, path, "cannot read");
        rc = BALKON_E_IO;
    } else if (len > CONFIG_MAX_FILE_BYTES) {
        cfg_error(errors, NULL, path, "is larger than %d bytes", CONFIG_MAX_FILE_BYTES);
        rc = BALKON_E_TOOBIG;
    } else {
        text[len] = '\0';
        rc = balkon_config_parse(text, config, errors);
    }
    free(text);
    return rc;
}
