/* The config file as PUT /api/v1/config writes it: only what differs from the defaults,
 * with the comments of the file before kept where their keys remain.
 *
 * The old file is read once by a small JSONC scanner (not a second parser: the file was
 * already validated by the loader, and a file the scanner cannot follow only loses its
 * comments). Every comment is attached to a path in that file:
 *   - leading: comments on the lines before a key ("battery.capacity_wh") or array item
 *     ("devices[1]");
 *   - trailing: a comment after the value on the same line;
 *   - closing: comments after the last member, before "}" or "]".
 * The new JSON is then printed by hand (two-space indent) and each key asks for the
 * comments of the same path in the old file. Items of arrays are matched by their "id" when
 * they have one (so comments follow a device that moved), else by position. Comments
 * inside arrays of plain values (numbers, strings) are not kept: such arrays are printed
 * on one line. */
#include "config_schema.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- growing text buffer ---------------------------------------------------------------- */

struct text {
    char *data;
    size_t len, cap;
    bool failed;
};

static void put_n(struct text *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (t->len + n + 1 > cap)
            cap *= 2;
        char *data = realloc(t->data, cap);
        if (!data) {
            t->failed = true;
            return;
        }
        t->data = data;
        t->cap = cap;
    }
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}

static void put(struct text *t, const char *s)
{
    put_n(t, s, strlen(s));
}

static void put_indent(struct text *t, int depth)
{
    for (int i = 0; i < depth; i++)
        put(t, "  ");
}

/* --- comments of the old file, by path -------------------------------------------------- */

enum slot { SLOT_LEADING, SLOT_TRAILING, SLOT_CLOSING, SLOT_COUNT };

struct note {
    char *path;
    struct text slots[SLOT_COUNT];
};

/* An item of an array in the old file that had an "id". */
struct item_id {
    char *array_path;
    char *id;
    int index;
};

struct notes {
    struct note *items;
    size_t count, cap;
    struct item_id *ids;
    size_t id_count, id_cap;
    bool failed;
};

static struct note *note_at(struct notes *notes, const char *path, bool create)
{
    for (size_t i = 0; i < notes->count; i++)
        if (strcmp(notes->items[i].path, path) == 0)
            return &notes->items[i];
    if (!create)
        return NULL;
    if (notes->count == notes->cap) {
        size_t cap = notes->cap ? notes->cap * 2 : 32;
        struct note *items = realloc(notes->items, cap * sizeof *items);
        if (!items) {
            notes->failed = true;
            return NULL;
        }
        notes->items = items;
        notes->cap = cap;
    }
    struct note *note = &notes->items[notes->count];
    memset(note, 0, sizeof *note);
    note->path = strdup(path);
    if (!note->path) {
        notes->failed = true;
        return NULL;
    }
    notes->count++;
    return note;
}

static void add_comment(struct notes *notes, const char *path, enum slot slot, const char *comment,
                        size_t len)
{
    struct note *note = note_at(notes, path, true);
    if (!note)
        return;
    struct text *t = &note->slots[slot];
    if (t->len)
        put(t, "\n");
    put_n(t, comment, len);
    notes->failed |= t->failed;
}

static void add_id(struct notes *notes, const char *array_path, const char *id, size_t id_len,
                   int index)
{
    if (notes->id_count == notes->id_cap) {
        size_t cap = notes->id_cap ? notes->id_cap * 2 : 16;
        struct item_id *ids = realloc(notes->ids, cap * sizeof *ids);
        if (!ids) {
            notes->failed = true;
            return;
        }
        notes->ids = ids;
        notes->id_cap = cap;
    }
    struct item_id *entry = &notes->ids[notes->id_count];
    entry->array_path = strdup(array_path);
    entry->id = strndup(id, id_len);
    entry->index = index;
    if (!entry->array_path || !entry->id) {
        free(entry->array_path);
        free(entry->id);
        notes->failed = true;
        return;
    }
    notes->id_count++;
}

static void notes_free(struct notes *notes)
{
    for (size_t i = 0; i < notes->count; i++) {
        free(notes->items[i].path);
        for (int s = 0; s < SLOT_COUNT; s++)
            free(notes->items[i].slots[s].data);
    }
    for (size_t i = 0; i < notes->id_count; i++) {
        free(notes->ids[i].array_path);
        free(notes->ids[i].id);
    }
    free(notes->items);
    free(notes->ids);
}

/* Comments of the daemon's own header: written anew each time, never carried over. */
static bool own_header(const char *comment, size_t len)
{
    static const char *const prefixes[] = {
        "// Written by PUT /api/v1/config",
        "// kept; that file is",
        "// Keys at their default are left out",
    };
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (len >= strlen(prefixes[i]) && strncmp(comment, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

/* --- the scanner ------------------------------------------------------------------------ */

#define MAX_DEPTH 32
#define PATH_SIZE 256

struct frame {
    bool array;
    int index;            /* arrays: the current item */
    char path[PATH_SIZE]; /* the container's own path ("" for the root) */
};

struct scan {
    const char *p, *end;
    struct notes *notes;
    struct frame frames[MAX_DEPTH];
    int depth;
    char value_path[PATH_SIZE]; /* the path of the value about to start */
    char last_path[PATH_SIZE];  /* the path of the value that ended last */
    bool have_last;
    bool newline_since_value;
    /* Comments not yet attached: they lead the next key or item, or close the container. */
    const char *pending[64];
    size_t pending_len[64];
    size_t pending_count;
    char key[64]; /* the object's current key, to notice "id" */
};

static void flush_pending(struct scan *s, const char *path, enum slot slot)
{
    for (size_t i = 0; i < s->pending_count; i++)
        add_comment(s->notes, path, slot, s->pending[i], s->pending_len[i]);
    s->pending_count = 0;
}

/* Paths longer than PATH_SIZE are cut; their comments may then attach to a sibling, which
 * no real config reaches (its deepest path is about 40 characters). */
static void join(char *out, const char *base, const char *key)
{
    if (snprintf(out, PATH_SIZE, "%s%s%s", base, *base ? "." : "", key) >= PATH_SIZE)
        out[PATH_SIZE - 1] = '\0';
}

static void item_path(char *out, const char *array, int index)
{
    if (snprintf(out, PATH_SIZE, "%s[%d]", array, index) >= PATH_SIZE)
        out[PATH_SIZE - 1] = '\0';
}

/* Skips a string at s->p (on its opening quote); returns its content's bounds. */
static bool skip_string(struct scan *s, const char **start, size_t *len)
{
    const char *p = s->p + 1;
    *start = p;
    while (p < s->end && *p != '"') {
        if (*p == '\\' && p + 1 < s->end)
            p++;
        p++;
    }
    if (p >= s->end)
        return false;
    *len = (size_t)(p - *start);
    s->p = p + 1;
    return true;
}

static void value_ended(struct scan *s, const char *path)
{
    snprintf(s->last_path, sizeof s->last_path, "%s", path);
    s->have_last = true;
    s->newline_since_value = false;
}

/* The path of the value that starts now: an array's next item, else the key's. Comments
 * waiting lead it. */
static void value_starts(struct scan *s)
{
    if (s->depth > 0 && s->frames[s->depth - 1].array) {
        struct frame *f = &s->frames[s->depth - 1];
        item_path(s->value_path, f->path, f->index);
        flush_pending(s, s->value_path, SLOT_LEADING);
    }
}

/* False when the text is no JSONC the scanner can follow to its end. */
static bool scan(struct scan *s)
{
    bool expect_key = false;
    while (s->p < s->end && !s->notes->failed) {
        char c = *s->p;
        if (c == '\n') {
            s->newline_since_value = true;
            s->p++;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == ':') {
            s->p++;
        } else if (c == '/' && s->p + 1 < s->end && (s->p[1] == '/' || s->p[1] == '*')) {
            const char *start = s->p;
            if (s->p[1] == '/') {
                while (s->p < s->end && *s->p != '\n')
                    s->p++;
            } else {
                const char *close = strstr(s->p + 2, "*/");
                if (!close)
                    return false;
                s->p = close + 2;
            }
            size_t len = (size_t)(s->p - start);
            while (len > 0 && (start[len - 1] == '\r' || start[len - 1] == ' '))
                len--;
            if (own_header(start, len))
                continue;
            if (s->have_last && !s->newline_since_value)
                add_comment(s->notes, s->last_path, SLOT_TRAILING, start, len);
            else if (s->pending_count < sizeof s->pending / sizeof *s->pending) {
                s->pending[s->pending_count] = start;
                s->pending_len[s->pending_count++] = len;
            }
        } else if (c == '{' || c == '[') {
            if (s->depth == MAX_DEPTH)
                return false;
            if (s->depth == 0) {
                s->value_path[0] = '\0';
                flush_pending(s, "", SLOT_LEADING);
            } else {
                value_starts(s);
            }
            struct frame *f = &s->frames[s->depth++];
            f->array = c == '[';
            f->index = 0;
            snprintf(f->path, sizeof f->path, "%s", s->value_path);
            s->have_last = false;
            expect_key = c == '{';
            s->p++;
        } else if (c == '}' || c == ']') {
            if (s->depth == 0)
                return false;
            struct frame *f = &s->frames[--s->depth];
            flush_pending(s, f->path, SLOT_CLOSING);
            value_ended(s, f->path);
            s->p++;
        } else if (c == ',') {
            if (s->depth > 0 && s->frames[s->depth - 1].array)
                s->frames[s->depth - 1].index++;
            else
                expect_key = true;
            s->p++;
        } else if (c == '"') {
            const char *str;
            size_t len;
            if (!skip_string(s, &str, &len))
                return false;
            struct frame *f = s->depth > 0 ? &s->frames[s->depth - 1] : NULL;
            if (f && !f->array && expect_key) {
                snprintf(s->key, sizeof s->key, "%.*s", (int)len, str);
                join(s->value_path, f->path, s->key);
                flush_pending(s, s->value_path, SLOT_LEADING);
                expect_key = false;
                continue;
            }
            value_starts(s);
            /* An "id" of an object that is an item of an array: its comments follow it. */
            if (f && !f->array && strcmp(s->key, "id") == 0 && s->depth >= 2 &&
                s->frames[s->depth - 2].array)
                add_id(s->notes, s->frames[s->depth - 2].path, str, len,
                       s->frames[s->depth - 2].index);
            value_ended(s, s->value_path);
        } else {
            /* A number or a literal. */
            value_starts(s);
            while (s->p < s->end && !strchr(",}] \t\r\n/", *s->p))
                s->p++;
            value_ended(s, s->value_path);
        }
    }
    /* Comments after the root's "}" stay at the end of the file. */
    flush_pending(s, "", SLOT_CLOSING);
    return s->depth == 0;
}

static void collect(struct notes *notes, const char *old_text)
{
    if (!old_text)
        return;
    struct scan *s = calloc(1, sizeof *s);
    if (!s) {
        notes->failed = true;
        return;
    }
    s->p = old_text;
    s->end = old_text + strlen(old_text);
    s->notes = notes;
    bool followed = scan(s);
    free(s);
    /* A text the scanner lost its way in keeps none of its comments, rather than comments
     * at the wrong keys. */
    if (!followed && !notes->failed) {
        notes_free(notes);
        memset(notes, 0, sizeof *notes);
    }
}

/* --- leaving out defaults --------------------------------------------------------------- */

static const struct cfg_row *row_of(const struct cfg_table *table, const char *key)
{
    for (size_t i = 0; table && i < table->row_count; i++)
        if (strcmp(table->rows[i].key, key) == 0)
            return &table->rows[i];
    return NULL;
}

static void prune(const struct cfg_table *table, cJSON *object);

static void prune_items(const struct cfg_row *row, cJSON *array)
{
    cJSON *element;
    cJSON_ArrayForEach(element, array)
    {
        if (cJSON_IsObject(element))
            prune(row->sub, element);
    }
}

/* Removes every member that equals its row's default, and objects left empty. Keys the
 * table does not know stay, so the loader still names them. */
static void prune(const struct cfg_table *table, cJSON *object)
{
    cJSON *item = object->child;
    while (item) {
        cJSON *next = item->next;
        const struct cfg_row *row = row_of(table, item->string);
        bool drop = false;
        if (row && !(row->flags & CFG_REQUIRED)) {
            if (row->type == CFG_OBJECT && cJSON_IsObject(item)) {
                prune(row->sub, item);
                drop = item->child == NULL;
            } else if (row->type == CFG_ARRAY && cJSON_IsArray(item)) {
                prune_items(row, item);
                cJSON *def = row->def ? cJSON_Parse(row->def) : NULL;
                if (cJSON_IsArray(def))
                    prune_items(row, def);
                drop = def && cJSON_Compare(item, def, true);
                cJSON_Delete(def);
            } else if (row->def) {
                cJSON *def = cJSON_Parse(row->def);
                drop = def && cJSON_Compare(item, def, true);
                cJSON_Delete(def);
            }
        } else if (row && row->type == CFG_OBJECT && cJSON_IsObject(item)) {
            prune(row->sub, item);
        } else if (row && row->type == CFG_ARRAY && cJSON_IsArray(item)) {
            prune_items(row, item);
        }
        if (drop)
            cJSON_Delete(cJSON_DetachItemViaPointer(object, item));
        item = next;
    }
}

/* --- printing --------------------------------------------------------------------------- */

struct printer {
    struct text out;
    const struct notes *notes;
};

static const struct text *slot_of(const struct printer *pr, const char *old_path, enum slot slot)
{
    if (!old_path)
        return NULL;
    for (size_t i = 0; i < pr->notes->count; i++)
        if (strcmp(pr->notes->items[i].path, old_path) == 0)
            return pr->notes->items[i].slots[slot].len ? &pr->notes->items[i].slots[slot] : NULL;
    return NULL;
}

/* Each line of the comments, indented as the key they belong to. */
static void put_comments(struct printer *pr, const char *old_path, enum slot slot, int depth)
{
    const struct text *comments = slot_of(pr, old_path, slot);
    if (!comments)
        return;
    const char *line = comments->data;
    while (*line) {
        size_t len = strcspn(line, "\n");
        const char *text = line;
        while (len > 0 && (*text == ' ' || *text == '\t')) {
            text++;
            len--;
        }
        put_indent(&pr->out, depth);
        put_n(&pr->out, text, len);
        put(&pr->out, "\n");
        line = text + len;
        if (*line == '\n')
            line++;
    }
}

static void put_trailing(struct printer *pr, const char *old_path)
{
    const struct text *comments = slot_of(pr, old_path, SLOT_TRAILING);
    if (comments) {
        put(&pr->out, " ");
        put(&pr->out, comments->data);
    }
}

static void put_scalar(struct printer *pr, const cJSON *item)
{
    char *text = cJSON_PrintUnformatted(item);
    if (!text) {
        pr->out.failed = true;
        return;
    }
    put(&pr->out, text);
    free(text);
}

/* The path an item of the new array had in the old file: the item with its "id", else
 * the one at its position; NULL (no comments) for a new item with an unknown id. */
static bool old_item_path(const struct printer *pr, const char *old_array, const cJSON *element,
                          int index, char *out)
{
    if (!old_array)
        return false;
    const cJSON *id =
        cJSON_IsObject(element) ? cJSON_GetObjectItemCaseSensitive(element, "id") : NULL;
    if (cJSON_IsString(id) && id->valuestring[0]) {
        for (size_t i = 0; i < pr->notes->id_count; i++) {
            const struct item_id *entry = &pr->notes->ids[i];
            if (strcmp(entry->array_path, old_array) == 0 &&
                strcmp(entry->id, id->valuestring) == 0) {
                item_path(out, old_array, entry->index);
                return true;
            }
        }
        for (size_t i = 0; i < pr->notes->id_count; i++)
            if (strcmp(pr->notes->ids[i].array_path, old_array) == 0)
                return false; /* the old items had ids, and none is this one's */
    }
    item_path(out, old_array, index);
    return true;
}

static bool plain_array(const cJSON *array)
{
    const cJSON *element;
    cJSON_ArrayForEach(element, array)
    {
        if (cJSON_IsObject(element) || cJSON_IsArray(element))
            return false;
    }
    return true;
}

static void put_value(struct printer *pr, const cJSON *item, const char *old_path, int depth);

static void put_object(struct printer *pr, const cJSON *object, const char *old_path, int depth)
{
    if (!object->child && !slot_of(pr, old_path, SLOT_CLOSING)) {
        put(&pr->out, "{}");
        return;
    }
    put(&pr->out, "{\n");
    for (const cJSON *member = object->child; member; member = member->next) {
        char path[PATH_SIZE];
        if (old_path)
            join(path, old_path, member->string);
        const char *member_path = old_path ? path : NULL;
        put_comments(pr, member_path, SLOT_LEADING, depth + 1);
        put_indent(&pr->out, depth + 1);
        cJSON key = {.type = cJSON_String, .valuestring = member->string};
        put_scalar(pr, &key);
        put(&pr->out, ": ");
        put_value(pr, member, member_path, depth + 1);
        if (member->next)
            put(&pr->out, ",");
        put_trailing(pr, member_path);
        put(&pr->out, "\n");
    }
    put_comments(pr, old_path, SLOT_CLOSING, depth + 1);
    put_indent(&pr->out, depth);
    put(&pr->out, "}");
}

static void put_array(struct printer *pr, const cJSON *array, const char *old_path, int depth)
{
    if (plain_array(array)) {
        put_scalar(pr, array);
        return;
    }
    put(&pr->out, "[\n");
    int index = 0;
    for (const cJSON *element = array->child; element; element = element->next, index++) {
        char path[PATH_SIZE];
        const char *element_path = old_item_path(pr, old_path, element, index, path) ? path : NULL;
        put_comments(pr, element_path, SLOT_LEADING, depth + 1);
        put_indent(&pr->out, depth + 1);
        put_value(pr, element, element_path, depth + 1);
        if (element->next)
            put(&pr->out, ",");
        put_trailing(pr, element_path);
        put(&pr->out, "\n");
    }
    put_comments(pr, old_path, SLOT_CLOSING, depth + 1);
    put_indent(&pr->out, depth);
    put(&pr->out, "]");
}

static void put_value(struct printer *pr, const cJSON *item, const char *old_path, int depth)
{
    if (cJSON_IsObject(item))
        put_object(pr, item, old_path, depth);
    else if (cJSON_IsArray(item))
        put_array(pr, item, old_path, depth);
    else
        put_scalar(pr, item);
}

char *cfg_jsonc_render(const struct cfg_table *table, const char *old_text, const cJSON *next,
                       const char *header)
{
    cJSON *pruned = cJSON_Duplicate(next, true);
    if (!pruned)
        return NULL;
    if (cJSON_IsObject(pruned))
        prune(table, pruned);
    struct notes notes = {0};
    collect(&notes, old_text);
    if (notes.failed) {
        notes_free(&notes);
        cJSON_Delete(pruned);
        return NULL;
    }
    struct printer pr = {.notes = &notes};
    if (header)
        put(&pr.out, header);
    put_comments(&pr, "", SLOT_LEADING, 0);
    put_value(&pr, pruned, "", 0);
    put(&pr.out, "\n");
    /* After the root's "}" the closing comments of "" were printed inside it already. */
    notes_free(&notes);
    cJSON_Delete(pruned);
    if (pr.out.failed) {
        free(pr.out.data);
        return NULL;
    }
    return pr.out.data;
}

char *balkon_config_file_text(const char *old_text, const cJSON *next, const char *header)
{
    return cfg_jsonc_render(&balkon_config_root, old_text, next, header);
}
