/* Configuration: one JSON file, loaded and validated against one table of rows.
 *
 * The table (src/core/config_table.c) names every option with its JSON path, type,
 * default, bounds and documentation. The same table validates the file, fills
 * struct balkon_config, writes the redacted JSON for GET /api/v1/config and generates
 * docs/configuration.md (`balkonsolard --config-doc`), so the three never disagree.
 *
 * Comments (// and slash-star) are allowed in the file. Secret options accept
 * "env:NAME" to take the value from the environment variable NAME. */
#ifndef BALKON_CONFIG_H
#define BALKON_CONFIG_H

#include "balkon/config_types.h"

#include <stdio.h>

/* Fills config with every option's default. */
void balkon_config_defaults(struct balkon_config *config);

/* Parses and validates JSON text. Returns 0, or BALKON_E_PARSE / BALKON_E_INVAL with every
 * problem listed in errors; config is only fully valid on 0. */
int balkon_config_parse(const char *json_text, struct balkon_config *config,
                        struct balkon_config_errors *errors);

/* Reads the config file's text into *text (the caller frees it): only a regular file of at
 * most 1 MiB. It is opened without blocking, so a FIFO (or a device) at path is refused
 * at once with why, instead of stopping the caller until something writes to it.
 * Returns 0, or BALKON_E_IO / BALKON_E_INVAL / BALKON_E_TOOBIG / BALKON_E_NOMEM with why. */
int balkon_config_read_text(const char *path, char **text, char *why, size_t why_size);

/* Removes the temporary copies that balkon_config_write_file leaves beside the file when
 * the process is killed mid-write ("<file>.tmp-XXXXXX", and the "<file>.XXXXXX" of older
 * versions when they hold a config written through the API): they hold secrets.
 * Returns how many were removed (0 when none or the directory cannot be read). */
int balkon_config_remove_stale_temps(const char *path);

/* Reads a file and parses it. A missing or unreadable file, or one that is no regular
 * file (balkon_config_read_text), is one error naming the path. */
int balkon_config_load(const char *path, struct balkon_config *config,
                       struct balkon_config_errors *errors);

/* Copies the options that only take effect after a restart from running into next, and
 * lists their paths (comma-separated) in changed when they differed. */
void balkon_config_keep_restart_options(const struct balkon_config *running,
                                        struct balkon_config *next, char *changed,
                                        size_t changed_size);

/* The config as JSON with secrets replaced by "***". Returns a cJSON tree the caller
 * frees with cJSON_Delete. */
struct cJSON *balkon_config_to_json(const struct balkon_config *config);

/* Writes docs/configuration.md's text (markdown) to out. */
void balkon_config_write_doc(FILE *out);

/* For a whole config sent back by the API (PUT /api/v1/config): every secret in next that
 * holds the mask of balkon_config_to_json ("***") gets the value current (the config file
 * as it is, parsed) has at the same place, so secrets a client never saw survive, and an
 * "env:NAME" stays a reference. Items of arrays are matched by their "id", else by
 * position. A mask with nothing to keep adds an error naming its path. Returns 0 or
 * BALKON_E_INVAL. current may be NULL (no readable file). */
int balkon_config_keep_secrets(struct cJSON *next, const struct cJSON *current,
                               struct balkon_config_errors *errors);

/* Replaces the config file at path with text, atomically: a temporary file in the same
 * directory (same permissions) is written and fsync'd, the old file is kept as
 * "<path>.bak", then the temporary one is renamed over path. A symlink at path is
 * followed (the file it points to is replaced). On failure nothing has changed, and msg
 * says what went wrong. Returns 0 or BALKON_E_IO / BALKON_E_NOMEM. */
int balkon_config_write_file(const char *path, const char *text, char *msg, size_t msg_size);

/* The text PUT /api/v1/config writes for next: only the options that differ from their
 * defaults, with the comments of old_text (the file before; NULL for none) kept for the keys
 * that remain (items of arrays matched by "id", else by position), and header (NULL for
 * none) first. The caller frees the answer; NULL when out of memory. */
char *balkon_config_file_text(const char *old_text, const struct cJSON *next, const char *header);

#endif
