/* The row format of the config table (private to src/core/config*.c).
 *
 * A table describes one JSON object: each row one key, with where its value lives in the
 * C struct, its type, default (as JSON text), bounds, unit and documentation. Objects and
 * arrays of objects point to the table of their members. */
#ifndef BALKON_CONFIG_SCHEMA_H
#define BALKON_CONFIG_SCHEMA_H

#include "balkon/config.h"

#include <stddef.h>

enum cfg_type { CFG_NUMBER, CFG_INT, CFG_BOOL, CFG_STRING, CFG_ENUM, CFG_OBJECT, CFG_ARRAY };

enum cfg_flags {
    CFG_REQUIRED = 1 << 0, /* must be present in the file */
    CFG_SECRET = 1 << 1,   /* redacted in API answers; accepts "env:NAME" */
    CFG_RESTART = 1 << 2,  /* a change takes effect only after a restart */
    CFG_HAS_MIN = 1 << 3,
    CFG_HAS_MAX = 1 << 4,
    CFG_MIN_EXCL = 1 << 5, /* min is exclusive (> instead of >=) */
    CFG_NONEMPTY = 1 << 6, /* strings: must not be empty */
    /* A URL whose user info, path and query may be credentials (a webhook's secret path):
     * shown as "scheme://host:port" and BALKON_URL_MASK (balkon_url_redact); sent back so, the
     * stored URL is kept. Its origin is also a destination (CFG_DEST). */
    CFG_URL = 1 << 7,
    /* Where the object's secrets are sent (type, host, port, url): a secret that is kept
     * because the client sent it masked is kept only while these stay the same, so a
     * changed destination needs the secret anew (balkon_config_keep_secrets). */
    CFG_DEST = 1 << 8,
};

/* What a secret's value is replaced by in API answers (when it is not empty). */
#define CFG_SECRET_MASK "***"

struct cfg_table;

struct cfg_row {
    const char *key;
    enum cfg_type type;
    size_t offset;
    size_t size; /* strings: buffer size; arrays: element size */
    unsigned flags;
    double min, max;             /* numbers: value bounds; arrays: item count bounds */
    const char *def;             /* default as JSON text, NULL for none */
    const char *const *choices;  /* enums: NULL-terminated */
    const struct cfg_table *sub; /* objects and array elements */
    size_t count_offset;         /* arrays: where the item count (size_t) lives */
    const char *unit;
    const char *doc;
};

/* Checks that span several fields; adds errors with cfg_error. */
typedef void (*cfg_check_fn)(const void *object, const char *path,
                             struct balkon_config_errors *errors);

struct cfg_table {
    const struct cfg_row *rows;
    size_t row_count;
    cfg_check_fn check;
};

extern const struct cfg_table balkon_config_root;

/* The generic engine, usable with any table (the product's root table, and the tests'
 * own tables). cfg_parse adds to errors; it does not reset them. */
void cfg_defaults(const struct cfg_table *table, void *base);
int cfg_parse(const struct cfg_table *table, const char *json_text, void *base,
              struct balkon_config_errors *errors);
struct cJSON *cfg_to_json(const struct cfg_table *table, const void *base);

/* The config file's text for next (src/core/config_jsonc.c): members equal to their row's
 * default left out, the comments of old_text (NULL for none) kept where their keys remain,
 * header (NULL for none) first. The caller frees the answer; NULL when out of memory. */
char *cfg_jsonc_render(const struct cfg_table *table, const char *old_text,
                       const struct cJSON *next, const char *header);

#define cfg_error balkon_config_add_error

#endif
