/* The generic config engine: walks a cfg_table against a cJSON tree to apply defaults,
 * validate and fill the struct. It knows nothing about particular options; those live in
 * config_table.c. */
#include "config_schema.h"

#include "balkon/error.h"
#include "balkon/url.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_MAX_FILE_BYTES (1024 * 1024)

static void join_path(char *out, size_t size, const char *path, const char *key)
{
    if (path && *path)
        snprintf(out, size, "%s.%s", path, key);
    else
        snprintf(out, size, "%s", key);
}

/* Whether text is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF). Config strings end up in JSON answers, logs and the dashboard, which
 * all need valid UTF-8. *bad_offset gets the offset of the first bad byte. */
static bool valid_utf8(const char *text, size_t *bad_offset)
{
    const unsigned char *p = (const unsigned char *)text;
    while (*p) {
        unsigned char c = *p;
        size_t len;
        unsigned min;
        unsigned cp;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2, min = 0x80, cp = c & 0x1fu;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, min = 0x800, cp = c & 0x0fu;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, min = 0x10000, cp = c & 0x07u;
        } else {
            goto bad;
        }
        for (size_t i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80)
                goto bad;
            cp = (cp << 6) | (p[i] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            goto bad;
        p += len;
    }
    return true;
bad:
    *bad_offset = (size_t)(p - (const unsigned char *)text);
    return false;
}

/* How many bytes of text fit in max without cutting a UTF-8 character in two. */
static int utf8_prefix(const char *text, int max)
{
    int len = (int)strnlen(text, (size_t)max + 1);
    if (len <= max)
        return len;
    len = max;
    while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
        len--;
    return len;
}

/* Describes a JSON value for an error message: `"abc"`, `true`, `an object`. A secret is
 * never echoed, a URL only as far as balkon_url_redact shows it, text that is not UTF-8
 * not at all (the message goes into JSON answers and logs). */
static void describe_row(const struct cfg_row *row, const cJSON *item, char *out, size_t size)
{
    size_t bad;
    if (cJSON_IsString(item) && row && (row->flags & CFG_SECRET) && item->valuestring[0])
        snprintf(out, size, "a secret (not shown)");
    else if (cJSON_IsString(item) && !valid_utf8(item->valuestring, &bad))
        snprintf(out, size, "text that is not UTF-8");
    else if (cJSON_IsString(item) && row && (row->flags & CFG_URL)) {
        char shown[96];
        balkon_url_redact(item->valuestring, shown, sizeof shown);
        snprintf(out, size, "\"%.*s\"", utf8_prefix(shown, 60), shown);
    } else if (cJSON_IsString(item))
        snprintf(out, size, "\"%.*s\"", utf8_prefix(item->valuestring, 40), item->valuestring);
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

static void describe(const cJSON *item, char *out, size_t size)
{
    describe_row(NULL, item, out, size);
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
    char got[80], bounds[64];
    describe_row(row, item, got, sizeof got);
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
        size_t bad_offset;
        if (!valid_utf8(value, &bad_offset)) {
            cfg_error(errors, path, row->key, "must be valid UTF-8 text (bad byte at offset %zu)",
                      bad_offset);
            return;
        }
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
        size_t bad_offset;
        if (!valid_utf8(item->string, &bad_offset)) {
            cfg_error(errors, path, "(a key)", "must be valid UTF-8 text (bad byte at offset %zu)",
                      bad_offset);
            continue;
        }
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

/* Blanks the comments of text (// to the end of the line, slash-star to star-slash) with
 * spaces, in place and outside strings, keeping newlines: unlike cJSON_Minify every byte
 * stays where it was, so a parse error's offset is one into the file as written. */
static void blank_comments(char *text)
{
    bool in_string = false;
    for (char *p = text; *p; p++) {
        if (in_string) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '"')
                in_string = false;
        } else if (*p == '"') {
            in_string = true;
        } else if (p[0] == '/' && p[1] == '/') {
            for (; *p && *p != '\n'; p++)
                *p = ' ';
            if (!*p)
                return;
        } else if (p[0] == '/' && p[1] == '*') {
            p[0] = p[1] = ' ';
            for (p += 2; *p && !(p[0] == '*' && p[1] == '/'); p++)
                if (*p != '\n')
                    *p = ' ';
            if (!*p)
                return;
            p[0] = p[1] = ' ';
            p++;
        }
    }
}

/* The 1-based line and column (in characters, not bytes) of offset in text. */
static void line_column(const char *text, size_t offset, int *line, int *column)
{
    *line = 1;
    *column = 1;
    for (size_t i = 0; i < offset && text[i]; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *column = 1;
        } else if (((unsigned char)text[i] & 0xc0) != 0x80) {
            (*column)++;
        }
    }
}

int cfg_parse(const struct cfg_table *table, const char *json_text, void *base,
              struct balkon_config_errors *errors)
{
    /* Comments are blanked on a copy. */
    char *text = strdup(json_text);
    if (!text)
        return BALKON_E_NOMEM;
    blank_comments(text);
    const char *parse_end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &parse_end, true);
    if (!root) {
        size_t offset = parse_end ? (size_t)(parse_end - text) : 0;
        int line, column;
        line_column(text, offset, &line, &column);
        /* The bytes near the error, cut at a character and at the first byte that is not
         * UTF-8, so the message stays valid text. */
        char near[24] = "";
        if (parse_end)
            snprintf(near, sizeof near, "%.*s", utf8_prefix(parse_end, 20), parse_end);
        near[strcspn(near, "\r\n")] = '\0';
        size_t bad;
        if (!valid_utf8(near, &bad))
            near[bad] = '\0';
        cfg_error(errors, NULL, "(config)", "not valid JSON at line %d, column %d (near \"%s\")",
                  line, column, near);
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

int balkon_config_read_text(const char *path, char **text_out, char *why, size_t why_size)
{
    *text_out = NULL;
    /* O_NONBLOCK: opening a FIFO for reading would block until a writer comes (and the
     * daemon's loop with it, on SIGHUP). The type is checked on the descriptor, after the
     * open, so nothing can swap the file in between. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, why_size, "cannot open: %s", strerror(errno));
        return BALKON_E_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, why_size,
                 "is not a regular file (a FIFO, device or directory cannot be a "
                 "config file)");
        close(fd);
        return BALKON_E_INVAL;
    }
    if (st.st_size > CONFIG_MAX_FILE_BYTES) {
        snprintf(why, why_size, "is larger than %d bytes", CONFIG_MAX_FILE_BYTES);
        close(fd);
        return BALKON_E_TOOBIG;
    }
    char *text = malloc(CONFIG_MAX_FILE_BYTES + 1);
    if (!text) {
        close(fd);
        snprintf(why, why_size, "out of memory");
        return BALKON_E_NOMEM;
    }
    size_t len = 0;
    int rc = 0;
    while (len <= CONFIG_MAX_FILE_BYTES) {
        ssize_t n = read(fd, text + len, CONFIG_MAX_FILE_BYTES + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(why, why_size, "cannot read: %s", strerror(errno));
            rc = BALKON_E_IO;
            break;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (rc == 0 && len > CONFIG_MAX_FILE_BYTES) {
        snprintf(why, why_size, "is larger than %d bytes", CONFIG_MAX_FILE_BYTES);
        rc = BALKON_E_TOOBIG;
    }
    if (rc < 0) {
        free(text);
        return rc;
    }
    text[len] = '\0';
    *text_out = text;
    return 0;
}

int balkon_config_load(const char *path, struct balkon_config *config,
                       struct balkon_config_errors *errors)
{
    memset(errors, 0, sizeof *errors);
    char *text, why[160];
    int rc = balkon_config_read_text(path, &text, why, sizeof why);
    if (rc < 0) {
        cfg_error(errors, NULL, path, "%s", why);
        return rc;
    }
    rc = balkon_config_parse(text, config, errors);
    free(text);
    return rc;
}
