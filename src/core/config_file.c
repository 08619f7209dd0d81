/* What replacing the config file through the API needs: secrets the client only saw
 * masked are taken from the file as it is, and the file is rewritten atomically with
 * the previous one kept beside it. Comments of the old file are not carried over (the
 * new file is the JSON the client sent). */
#include "config_schema.h"

#include "balkon/error.h"

#include <cjson/cJSON.h>
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

static void keep_in_object(const struct cfg_table *table, cJSON *next, const cJSON *current,
                           const char *path, struct balkon_config_errors *errors)
{
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
        } else if ((row->flags & CFG_SECRET) && cJSON_IsString(item) &&
                   strcmp(item->valuestring, CFG_SECRET_MASK) == 0) {
            if (cJSON_IsString(old)) {
                cJSON *kept = cJSON_CreateString(old->valuestring);
                if (!kept || !cJSON_ReplaceItemInObjectCaseSensitive(next, row->key, kept)) {
                    cJSON_Delete(kept);
                    cfg_error(errors, path, row->key, "out of memory");
                }
            } else {
                cfg_error(errors, path, row->key,
                          "is \"%s\", which keeps the current secret, but the config file has none "
                          "here to keep; send the secret itself",
                          CFG_SECRET_MASK);
            }
        }
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
    mode_t mode = 0600; /* a new file may hold secrets */
    struct stat st;
    if (exists && stat(real, &st) == 0)
        mode = st.st_mode & 07777;

    char tmp[PATH_MAX + 16], bak[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", real);
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
