/* Serves the dashboard's embedded files. "/" is index.html. Each answer carries an ETag
 * (a hash of the content, fixed at build time) and Cache-Control: no-cache, so browsers
 * revalidate cheaply (304) and never show a stale dashboard after an upgrade. */
#include "http_internal.h"

#include "balkon/assets.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint64_t fnv1a(const unsigned char *data, size_t size)
{
    uint64_t hash = 1469598103934665603ULL;
    for (size_t i = 0; i < size; i++) {
        hash ^= data[i];
        hash *= 1099511628211ULL;
    }
    return hash;
}

bool http_serve_asset(const struct http_request *request, struct http_response *response)
{
    const char *path = strcmp(request->path, "/") == 0 ? "/index.html" : request->path;
    for (const struct balkon_asset *asset = balkon_assets; asset->path; asset++) {
        if (strcmp(asset->path, path) != 0)
            continue;
        response->status = 200;
        response->content_type = asset->content_type;
        response->body = (char *)asset->data;
        response->body_size = asset->size;
        response->body_static = true;
        response->cache_control = "no-cache";
        snprintf(response->etag, sizeof response->etag, "\"%016llx\"",
                 (unsigned long long)fnv1a(asset->data, asset->size));
        return true;
    }
    return false;
}
