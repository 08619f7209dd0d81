/* The readers: read-only connections for work on libuv's thread pool.
 *
 * The API's reads (series, plans, prices, savings …) may take milliseconds to seconds, so
 * they must not run on the loop's connection, which the loop thread uses between every two
 * events. Each job borrows one reader for its whole run and gives it back; a reader is
 * opened on first need (on the pool's thread, so the open's I/O never touches the loop) and
 * kept, since opening costs more than a typical query. At most `max` connections exist:
 * more jobs than that wait for one, which also bounds the memory their page caches take. */
#include "store_internal.h"

#include "balkon/error.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct balkon_store_readers {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    char *path;
    size_t max;
    size_t open; /* connections made so far (idle or lent) */
    size_t idle; /* how many of them sit in idle[] */
    struct balkon_store **idle_list;
};

struct balkon_store_readers *balkon_store_readers_new(const char *path, size_t max)
{
    if (!path || !path[0] || strcmp(path, ":memory:") == 0 || max == 0)
        return NULL;
    struct balkon_store_readers *readers = calloc(1, sizeof *readers);
    if (!readers)
        return NULL;
    readers->path = strdup(path);
    readers->idle_list = calloc(max, sizeof *readers->idle_list);
    if (!readers->path || !readers->idle_list) {
        free(readers->path);
        free(readers->idle_list);
        free(readers);
        return NULL;
    }
    readers->max = max;
    pthread_mutex_init(&readers->lock, NULL);
    pthread_cond_init(&readers->freed, NULL);
    return readers;
}

int balkon_store_readers_acquire(struct balkon_store_readers *readers, struct balkon_store **out,
                                 char *msg, size_t msg_size)
{
    *out = NULL;
    pthread_mutex_lock(&readers->lock);
    while (readers->idle == 0 && readers->open == readers->max)
        pthread_cond_wait(&readers->freed, &readers->lock);
    if (readers->idle) {
        *out = readers->idle_list[--readers->idle];
        pthread_mutex_unlock(&readers->lock);
        return 0;
    }
    readers->open++; /* our slot, while the connection opens outside the lock */
    pthread_mutex_unlock(&readers->lock);

    int err = balkon_store_open_reader(readers->path, out, msg, msg_size);
    if (err) {
        pthread_mutex_lock(&readers->lock);
        readers->open--;
        pthread_cond_signal(&readers->freed);
        pthread_mutex_unlock(&readers->lock);
    }
    return err;
}

void balkon_store_readers_release(struct balkon_store_readers *readers, struct balkon_store *reader)
{
    if (!reader)
        return;
    pthread_mutex_lock(&readers->lock);
    readers->idle_list[readers->idle++] = reader;
    pthread_cond_signal(&readers->freed);
    pthread_mutex_unlock(&readers->lock);
}

void balkon_store_readers_free(struct balkon_store_readers *readers)
{
    if (!readers)
        return;
    for (size_t i = 0; i < readers->idle; i++)
        balkon_store_close(readers->idle_list[i]);
    pthread_mutex_destroy(&readers->lock);
    pthread_cond_destroy(&readers->freed);
    free(readers->idle_list);
    free(readers->path);
    free(readers);
}
