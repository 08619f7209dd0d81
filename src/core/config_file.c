/* What replacing the config file through the API needs: secrets the client only saw
 * masked are taken from the file as it is, and the file is rewritten atomically with
 * the previous one kept beside it. Which text is written (defaults left out, the old
 * file's comments kept) is src/core/config_jsonc.c's job. */
#include "config_schema.h"

#include "balkon/error.h"
#include "balkon/url.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The item of the file's array that a sent item stands for: the one with the same "id"
 * when the item has one (items may have been added, removed or reordered), else the one
 * at the same position. */
static const cJSON *matching_item(const cJSON *current_array, const cJSON *item, int index)
{
    if (!cJSON_IsArray(current_array))
        return NULL;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
    if (!cJSON_IsString(id))
        return cJSON_GetArrayItem(current_array, index);
    const cJSON *candidate;
    cJSON_ArrayForEach(candidate, current_array)
    {
        const cJSON *candidate_id = cJSON_GetObjectItemCaseSensitive(candidate, "id");
        if (cJSON_IsString(candidate_id) && strcmp(candidate_id->valuestring, id->valuestring) == 0)
            return candidate;
    }
    return NULL;
}

/* A row's value in an object as sent or as in the file, its default when absent. The
 * caller deletes *owned (the parsed default) after use. */
static const cJSON *value_or_default(const struct cfg_row *row, const cJSON *object, cJSON **owned)
{
    *owned = NULL;
    const cJSON *item =
        cJSON_IsObject(object) ? cJSON_GetObjectItemCaseSensitive(object, row->key) : NULL;
    if (item || !row->def)
        return item;
    *owned = cJSON_Parse(row->def);
    return *owned;
}

/* Whether a destination row has the same value in both objects: a URL by its origin
 * (scheme, host, port), anything else as it is. */
static bool same_destination(const struct cfg_row *row, const cJSON *next, const cJSON *current)
{
    cJSON *owned_a, *owned_b;
    const cJSON *a = value_or_default(row, next, &owned_a);
    const cJSON *b = value_or_default(row, current, &owned_b);
    bool same;
    if ((row->flags & CFG_URL) && cJSON_IsString(a) && cJSON_IsString(b) && a->valuestring[0] &&
        b->valuestring[0])
        same = balkon_url_same_origin(a->valuestring, b->valuestring);
    else
        same = (!a && !b) || (a && b && cJSON_Compare(a, b, true));
    cJSON_Delete(owned_a);
    cJSON_Delete(owned_b);
    return same;
}

static bool replace_string(cJSON *object, const char *key, const char *value)
{
    cJSON *kept = cJSON_CreateString(value);
    if (!kept || !cJSON_ReplaceItemInObjectCaseSensitive(object, key, kept)) {
        cJSON_Delete(kept);
        return false;
    }
    return true;
}

/* A URL sent as GET showed it ("https://host" and BALKON_URL_MASK) stands for the stored URL, as
 * long as the stored one shows the same way; a masked URL that matches nothing is refused rather
 * than written to the file with its "***". */
static void keep_url(const struct cfg_row *row, cJSON *next, const cJSON *item, const cJSON *old,
                     const char *path, struct balkon_config_errors *errors)
{
    if (!strstr(item->valuestring, BALKON_URL_MASK))
        return;
    if (cJSON_IsString(old) && balkon_url_has_secret(old->valuestring)) {
        char shown[512];
        balkon_url_redact(old->valuestring, shown, sizeof shown);
        if (strcmp(shown, item->valuestring) == 0) {
            if (!replace_string(next, row->key, old->valuestring))
                cfg_error(errors, path, row->key, "out of memory");
            return;
        }
    }
    cfg_error(errors, path, row->key,
              "has the hidden part \"%s\" of a URL, but the config file has no URL here that "
              "is shown that way (another server or none); send the whole URL",
              BALKON_URL_MASK);
}

/* A secret sent as "***" (or as the file's own "env:NAME") stands for the stored one: kept
 * only while the item's destination (its CFG_DEST rows) stays the same, so a client with
 * a login cannot point the item at its own server and have the stored secret sent there.
 * A new "env:NAME" is refused for the same reason: it would send that variable wherever
 * the item points. */
static void keep_secret(const struct cfg_row *row, cJSON *next, const cJSON *item, const cJSON *old,
                        const char *changed_dest, const char *path,
                        struct balkon_config_errors *errors)
{
    bool masked = strcmp(item->valuestring, CFG_SECRET_MASK) == 0;
    bool env = strncmp(item->valuestring, "env:", 4) == 0;
    if (!masked && !env)
        return;
    if (env && !(cJSON_IsString(old) && strcmp(old->valuestring, item->valuestring) == 0)) {
        cfg_error(errors, path, row->key,
                  "\"env:NAME\" can be set only in the config file itself, not through the API "
                  "(it would send that environment variable wherever this item points)");
        return;
    }
    if (masked && !cJSON_IsString(old)) {
        cfg_error(errors, path, row->key,
                  "is \"%s\", which keeps the current secret, but the config file has none "
                  "here to keep; send the secret itself",
                  CFG_SECRET_MASK);
        return;
    }
    if (changed_dest) {
        cfg_error(errors, path, row->key,
                  "is kept (\"%s\") but \"%s\" changed, which would send the stored secret to "
                  "another destination; send %s anew (or leave \"%s\" as it was)",
                  item->valuestring, changed_dest, row->key, changed_dest);
        return;
    }
    if (masked && !replace_string(next, row->key, old->valuestring))
        cfg_error(errors, path, row->key, "out of memory");
}

static void keep_in_object(const struct cfg_table *table, cJSON *next, const cJSON *current,
                           const char *path, struct balkon_config_errors *errors)
{
    /* First sub-objects and masked URLs, so the destinations below compare real URLs. */
    for (size_t i = 0; i < table->row_count; i++) {
        const struct cfg_row *row = &table->rows[i];
        cJSON *item = cJSON_GetObjectItemCaseSensitive(next, row->key);
        if (!item)
            continue;
        const cJSON *old =
            cJSON_IsObject(current) ? cJSON_GetObjectItemCaseSensitive(current, row->key) : NULL;
        char sub_path[128];
        snprintf(sub_path, sizeof sub_path, "%s%s%s", path, *path ? "." : "", row->key);
        if (row->type == CFG_OBJECT && cJSON_IsObject(item)) {
            keep_in_object(row->sub, item, old, sub_path, errors);
        } else if (row->type == CFG_ARRAY && cJSON_IsArray(item)) {
            int index = 0;
            cJSON *element;
            cJSON_ArrayForEach(element, item)
            {
                char element_path[160];
                snprintf(element_path, sizeof element_path, "%s[%d]", sub_path, index);
                if (cJSON_IsObject(element))
                    keep_in_object(row->sub, element, matching_item(old, element, index),
                                   element_path, errors);
                index++;
            }
        } else if ((row->flags & CFG_URL) && cJSON_IsString(item)) {
            keep_url(row, next, item, old, path, errors);
        }
    }
    const char *changed_dest = NULL;
    for (size_t i = 0; i < table->row_count && !changed_dest; i++)
        if ((table->rows[i].flags & CFG_DEST) && !same_destination(&table->rows[i], next, current))
            changed_dest = table->rows[i].key;
    for (size_t i = 0; i < table->row_count; i++) {
        const struct cfg_row *row = &table->rows[i];
        cJSON *item = cJSON_GetObjectItemCaseSensitive(next, row->key);
        if (!(row->flags & CFG_SECRET) || !cJSON_IsString(item))
            continue;
        const cJSON *old =
            cJSON_IsObject(current) ? cJSON_GetObjectItemCaseSensitive(current, row->key) : NULL;
        keep_secret(row, next, item, old, changed_dest, path, errors);
    }
}

int balkon_config_keep_secrets(cJSON *next, const cJSON *current,
                               struct balkon_config_errors *errors)
{
    size_t before = errors->count + errors->dropped;
    if (cJSON_IsObject(next))
        keep_in_object(&balkon_config_root, next, current, "", errors);
    return errors->count + errors->dropped > before ? BALKON_E_INVAL : 0;
}

/* Temporary files are "<file>.tmp-XXXXXX"; versions before used "<file>.XXXXXX". */
#define TEMP_SUFFIX ".tmp-"
#define TEMP_RANDOM_LEN 6
/* How the daemon's own config writes begin (daemon.c, file_text_of): an old-style temp
 * name is removed only with this inside, since "<file>.backup" has the same shape. */
#define WRITTEN_BY_API "// Written by PUT /api/v1/config"

static bool random_part(const char *text)
{
    if (strlen(text) != TEMP_RANDOM_LEN)
        return false;
    for (const char *c = text; *c; c++)
        if (!isalnum((unsigned char)*c))
            return false;
    return true;
}

/* mkstemp's letters are of both cases nearly always (>92 %); a user's own suffix such as
 * "backup" or "old123" is not, so a copy the user made of an API-written file is kept. */
static bool mixed_case(const char *text)
{
    bool upper = false, lower = false;
    for (const char *c = text; *c; c++) {
        upper |= isupper((unsigned char)*c) != 0;
        lower |= islower((unsigned char)*c) != 0;
    }
    return upper && lower;
}

static bool starts_with_file(int dir_fd, const char *name, const char *prefix)
{
    int fd = openat(dir_fd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return false;
    char head[64] = "";
    ssize_t n = read(fd, head, sizeof head - 1);
    close(fd);
    if (n < 0)
        return false;
    head[n] = '\0';
    return n == 0 || strncmp(head, prefix, strlen(prefix)) == 0;
}

int balkon_config_remove_stale_temps(const char *path)
{
    char real[PATH_MAX];
    if (!realpath(path, real) && snprintf(real, sizeof real, "%s", path) >= (int)sizeof real)
        return 0;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", real);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? strrchr(real, '/') + 1 : real;
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    DIR *listing = opendir(dir);
    if (!listing)
        return 0;
    size_t base_len = strlen(base);
    int removed = 0;
    struct dirent *entry;
    while ((entry = readdir(listing))) {
        const char *name = entry->d_name;
        if (strncmp(name, base, base_len) != 0 || name[base_len] != '.')
            continue;
        const char *tail = name + base_len;
        bool ours = strncmp(tail, TEMP_SUFFIX, strlen(TEMP_SUFFIX)) == 0 &&
                    random_part(tail + strlen(TEMP_SUFFIX));
        if (!ours && random_part(tail + 1) && mixed_case(tail + 1))
            ours = starts_with_file(dirfd(listing), name, WRITTEN_BY_API);
        struct stat st;
        if (!ours || fstatat(dirfd(listing), name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode) || st.st_uid != geteuid())
            continue;
        if (unlinkat(dirfd(listing), name, 0) == 0)
            removed++;
    }
    closedir(listing);
    return removed;
}

static int fail(char *msg, size_t msg_size, int rc, const char *fmt, const char *what)
{
    snprintf(msg, msg_size, fmt, what, strerror(errno));
    return rc;
}

static int write_all(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        text += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Copies from to to (not atomically: it is only the backup). Where hard links work the
 * backup is a second name of the old file instead, which needs no copy. */
static int copy_file(const char *from, const char *to, mode_t mode)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (out < 0) {
        close(in);
        return -1;
    }
    char buffer[8192];
    ssize_t n;
    int rc = 0;
    while (rc == 0 && (n = read(in, buffer, sizeof buffer)) != 0) {
        if (n < 0)
            rc = errno == EINTR ? 0 : -1;
        else
            rc = write_all(out, buffer, (size_t)n);
    }
    close(in);
    if (fsync(out) != 0)
        rc = -1;
    if (close(out) != 0)
        rc = -1;
    return rc;
}

int balkon_config_write_file(const char *path, const char *text, char *msg, size_t msg_size)
{
    char real[PATH_MAX];
    bool exists = realpath(path, real) != NULL;
    if (!exists) {
        if (errno != ENOENT)
            return fail(msg, msg_size, BALKON_E_IO, "%s: %s", path);
        if (snprintf(real, sizeof real, "%s", path) >= (int)sizeof real) {
            errno = ENAMETOOLONG;
            return fail(msg, msg_size, BALKON_E_IO, "%s: %s", path);
        }
    }
    /* The file holds secrets: owner only, whatever the file before allowed. */
    const mode_t mode = 0600;

    char tmp[PATH_MAX + 16], bak[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s" TEMP_SUFFIX "XXXXXX", real);
    snprintf(bak, sizeof bak, "%s.bak", real);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return fail(msg, msg_size, BALKON_E_IO, "cannot create a temporary file next to %s: %s",
                    real);
    if (fchmod(fd, mode) != 0 || write_all(fd, text, strlen(text)) != 0 || fsync(fd) != 0) {
        fail(msg, msg_size, BALKON_E_IO, "cannot write %s: %s", tmp);
        close(fd);
        unlink(tmp);
        return BALKON_E_IO;
    }
    if (close(fd) != 0) {
        fail(msg, msg_size, BALKON_E_IO, "cannot write %s: %s", tmp);
        unlink(tmp);
        return BALKON_E_IO;
    }
    if (exists) {
        if (unlink(bak) != 0 && errno != ENOENT) {
            fail(msg, msg_size, BALKON_E_IO, "cannot replace the backup %s: %s", bak);
            unlink(tmp);
            return BALKON_E_IO;
        }
        if (link(real, bak) != 0 && copy_file(real, bak, mode) != 0) {
            fail(msg, msg_size, BALKON_E_IO, "cannot keep the previous file as %s: %s", bak);
            unlink(tmp);
            return BALKON_E_IO;
        }
        /* The backup held secrets too: owner only. Where it is the old file itself (a second
         * name of it) owned by someone else (root), a copy of our own takes its place. */
        if (chmod(bak, mode) != 0 &&
            (unlink(bak) != 0 || copy_file(real, bak, mode) != 0 || chmod(bak, mode) != 0)) {
            fail(msg, msg_size, BALKON_E_IO, "cannot keep the previous file privately as %s: %s",
                 bak);
            unlink(tmp);
            return BALKON_E_IO;
        }
    }
    if (rename(tmp, real) != 0) {
        fail(msg, msg_size, BALKON_E_IO, "cannot rename the new file to %s: %s", real);
        unlink(tmp);
        return BALKON_E_IO;
    }
    /* The rename is durable once the directory is. */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", real);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
        fsync(dir_fd);
        close(dir_fd);
    }
    msg[0] = '\0';
    return 0;
}
