/* Rendered answers of the API, kept while the data they were made from is unchanged.
 *
 * An answer is stamped with the version of its data (balkon_store_data_version when it was
 * read) and served from here while that version holds. When it no longer does, the first
 * request reads anew on the thread pool; requests that come while that read runs get the
 * previous answer, so a burst after every flush costs one read, not one per client. Used
 * on the loop thread only; memory is bounded by max_bytes. */
#ifndef BALKON_HTTP_ANSWER_CACHE_H
#define BALKON_HTTP_ANSWER_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct answer_cache;

/* NULL when out of memory. Answers longer than max_entry_bytes are not kept. A kept answer
 * may be turned into a ready thing (a response) on first use: make_ready(body, len) takes
 * over the body on success (the cache then reads it through the ready thing and frees
 * neither: drop_ready does), or returns NULL and leaves it to the cache. Both may be NULL. */
struct answer_cache *answer_cache_new(size_t max_bytes, size_t max_entry_bytes,
                                      void *(*make_ready)(char *body, size_t len),
                                      void (*drop_ready)(void *ready));
/* Accepts NULL. */
void answer_cache_free(struct answer_cache *cache);
/* Forgets every answer (a clock jump, a new config): the next requests read anew. */
void answer_cache_clear(struct answer_cache *cache);

enum answer_lookup {
    ANSWER_FRESH, /* *body holds the answer for this version */
    ANSWER_STALE, /* *body holds an older answer, and a read for the new one is running */
    ANSWER_READ,  /* read it: then answer_cache_put (or answer_cache_abandon on an error) */
};

/* *body stays valid until the next call into the cache; with ANSWER_FRESH or ANSWER_STALE,
 * *ready (ready may be NULL) is the answer's ready thing, made now if there was none (NULL
 * when there is no make_ready or it failed). */
enum answer_lookup answer_cache_lookup(struct answer_cache *cache, const char *key,
                                       uint64_t version, const char **body, size_t *body_len,
                                       void **ready);
/* What a read must remember beside the version when it starts: an answer read before a
 * clear is refused. */
uint64_t answer_cache_epoch(const struct answer_cache *cache);
/* The answer a read begun at epoch made for key from data of version (copied). */
void answer_cache_put(struct answer_cache *cache, const char *key, uint64_t epoch, uint64_t version,
                      const char *body, size_t body_len);
/* The read for key failed: the next request tries again. */
void answer_cache_abandon(struct answer_cache *cache, const char *key);
size_t answer_cache_bytes(const struct answer_cache *cache);

#endif
