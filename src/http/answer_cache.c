/* Rendered answers kept for as long as their data is unchanged (answer_cache.h).
 *
 * A handful of entries, searched linearly by a hash of the key: a dashboard asks the same
 * few series over and over (five curves of one day, or of one year), so the working set is
 * small, and a linear scan of 32 entries costs less than the first byte MHD sends. The
 * least recently used entry makes room. */
#include "answer_cache.h"

#include <stdlib.h>
#include <string.h>

#define ANSWER_CACHE_ENTRIES 32

struct answer_entry {
    char *key; /* NULL: an empty slot */
    uint64_t hash;
    char *body; /* NULL while the first answer is still being read */
    size_t body_len;
    void *ready; /* made from body (answer_cache.h), which it then owns; or NULL */
    uint64_t version;
    uint64_t last_used;
    bool refreshing; /* a read for this key is on its way */
};

struct answer_cache {
    size_t max_bytes;
    size_t max_entry_bytes;
    size_t bytes;
    uint64_t uses;
    uint64_t epoch; /* bumped by answer_cache_clear: reads begun before it are not kept */
    void *(*make_ready)(char *body, size_t len);
    void (*drop_ready)(void *ready);
    struct answer_entry entries[ANSWER_CACHE_ENTRIES];
};

static uint64_t hash_key(const char *key)
{
    uint64_t hash = 1469598103934665603ull; /* FNV-1a */
    for (const unsigned char *c = (const unsigned char *)key; *c; c++)
        hash = (hash ^ *c) * 1099511628211ull;
    return hash;
}

struct answer_cache *answer_cache_new(size_t max_bytes, size_t max_entry_bytes,
                                      void *(*make_ready)(char *body, size_t len),
                                      void (*drop_ready)(void *ready))
{
    struct answer_cache *cache = calloc(1, sizeof *cache);
    if (cache) {
        cache->max_bytes = max_bytes;
        cache->max_entry_bytes = max_entry_bytes;
        cache->make_ready = make_ready;
        cache->drop_ready = drop_ready;
    }
    return cache;
}

static void drop_body(struct answer_cache *cache, struct answer_entry *entry)
{
    if (entry->ready)
        cache->drop_ready(entry->ready); /* it owns the body */
    else
        free(entry->body);
    entry->ready = NULL;
    cache->bytes -= entry->body_len;
    entry->body = NULL;
    entry->body_len = 0;
}

static void drop(struct answer_cache *cache, struct answer_entry *entry)
{
    drop_body(cache, entry);
    free(entry->key);
    *entry = (struct answer_entry){0};
}

void answer_cache_clear(struct answer_cache *cache)
{
    if (!cache)
        return;
    cache->epoch++;
    for (size_t i = 0; i < ANSWER_CACHE_ENTRIES; i++)
        if (cache->entries[i].key && !cache->entries[i].refreshing)
            drop(cache, &cache->entries[i]);
        else if (cache->entries[i].key)
            drop_body(cache, &cache->entries[i]); /* its read still comes back, to be refused */
}

uint64_t answer_cache_epoch(const struct answer_cache *cache)
{
    return cache->epoch;
}

void answer_cache_free(struct answer_cache *cache)
{
    if (!cache)
        return;
    for (size_t i = 0; i < ANSWER_CACHE_ENTRIES; i++)
        if (cache->entries[i].key)
            drop(cache, &cache->entries[i]);
    free(cache);
}

static struct answer_entry *find(struct answer_cache *cache, const char *key, uint64_t hash)
{
    for (size_t i = 0; i < ANSWER_CACHE_ENTRIES; i++) {
        struct answer_entry *entry = &cache->entries[i];
        if (entry->key && entry->hash == hash && strcmp(entry->key, key) == 0)
            return entry;
    }
    return NULL;
}

/* An empty slot, or the least recently used one that no read is filling. */
static struct answer_entry *make_room(struct answer_cache *cache)
{
    struct answer_entry *victim = NULL;
    for (size_t i = 0; i < ANSWER_CACHE_ENTRIES; i++) {
        struct answer_entry *entry = &cache->entries[i];
        if (!entry->key)
            return entry;
        if (!entry->refreshing && (!victim || entry->last_used < victim->last_used))
            victim = entry;
    }
    if (victim)
        drop(cache, victim);
    return victim;
}

enum answer_lookup answer_cache_lookup(struct answer_cache *cache, const char *key,
                                       uint64_t version, const char **body, size_t *body_len,
                                       void **ready)
{
    if (ready)
        *ready = NULL;
    uint64_t hash = hash_key(key);
    struct answer_entry *entry = find(cache, key, hash);
    if (entry) {
        entry->last_used = ++cache->uses;
        if (entry->body && (entry->version == version || entry->refreshing)) {
            *body = entry->body;
            *body_len = entry->body_len;
            if (!entry->ready && cache->make_ready)
                entry->ready = cache->make_ready(entry->body, entry->body_len);
            if (ready)
                *ready = entry->ready;
            return entry->version == version ? ANSWER_FRESH : ANSWER_STALE;
        }
        if (entry->refreshing)
            return ANSWER_READ; /* the first read is on its way: read too, it may be faster */
        entry->refreshing = true;
        return ANSWER_READ;
    }
    entry = make_room(cache);
    if (entry && (entry->key = strdup(key))) {
        entry->hash = hash;
        entry->last_used = ++cache->uses;
        entry->refreshing = true;
    }
    return ANSWER_READ;
}

void answer_cache_put(struct answer_cache *cache, const char *key, uint64_t epoch, uint64_t version,
                      const char *body, size_t body_len)
{
    if (epoch != cache->epoch) {
        answer_cache_abandon(cache, key);
        return;
    }
    struct answer_entry *entry = find(cache, key, hash_key(key));
    if (!entry)
        return; /* evicted meanwhile */
    entry->refreshing = false;
    if (!body || body_len > cache->max_entry_bytes) {
        drop(cache, entry);
        return;
    }
    if (entry->body && entry->version > version)
        return; /* a newer read already came back */
    char *copy = malloc(body_len);
    if (!copy) {
        drop(cache, entry);
        return;
    }
    memcpy(copy, body, body_len);
    drop_body(cache, entry);
    entry->body = copy;
    entry->body_len = body_len;
    entry->version = version;
    cache->bytes += body_len;
    /* Over budget: the least recently used others go first. */
    while (cache->bytes > cache->max_bytes) {
        struct answer_entry *victim = NULL;
        for (size_t i = 0; i < ANSWER_CACHE_ENTRIES; i++) {
            struct answer_entry *other = &cache->entries[i];
            if (other != entry && other->body && !other->refreshing &&
                (!victim || other->last_used < victim->last_used))
                victim = other;
        }
        if (!victim)
            break;
        drop(cache, victim);
    }
}

void answer_cache_abandon(struct answer_cache *cache, const char *key)
{
    struct answer_entry *entry = find(cache, key, hash_key(key));
    if (entry && !entry->body)
        drop(cache, entry);
    else if (entry)
        entry->refreshing = false;
}

size_t answer_cache_bytes(const struct answer_cache *cache)
{
    return cache ? cache->bytes : 0;
}
