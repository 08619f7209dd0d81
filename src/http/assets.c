/* Serves the dashboard's embedded files. "/" is index.html. Each answer carries an ETag
 * (a hash of the content) and Cache-Control: no-cache, so browsers revalidate cheaply (304)
 * and never show a stale dashboard after an upgrade.
 *
 * Text files are embedded twice (cmake/embed_web.cmake): as they are, and gzip -9
 * compressed in a row "<path>.gz". A client whose Accept-Encoding allows gzip gets the
 * compressed bytes with Content-Encoding: gzip; both variants say Vary: Accept-Encoding
 * and have different ETags ("<hash>" and "<hash>-gz"), as caches need. Nothing is
 * compressed at run time. The rows "<path>.gz" are not served under their own name. */
#include "http_internal.h"

#include "balkon/assets.h"

#include <ctype.h>
#include <microhttpd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static uint64_t fnv1a(const unsigned char *data, size_t size)
{
    uint64_t hash = 1469598103934665603ULL;
    for (size_t i = 0; i < size; i++) {
        hash ^= data[i];
        hash *= 1099511628211ULL;
    }
    return hash;
}

static const struct balkon_asset *find(const char *path, size_t len)
{
    for (const struct balkon_asset *asset = balkon_assets; asset->path; asset++)
        if (strlen(asset->path) == len && strncmp(asset->path, path, len) == 0)
            return asset;
    return NULL;
}

/* Whether an Accept-Encoding value allows gzip: "gzip" or "x-gzip" listed with a q above 0,
 * or "*" with a q above 0 and gzip not refused by name. Absent header: no (identity). */
static bool accepts_gzip(const char *header)
{
    if (!header)
        return false;
    int named = -1, star = -1; /* -1 absent, 0 refused (q=0), 1 accepted */
    const char *p = header;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *name = p;
        while (*p && *p != ',' && *p != ';' && *p != ' ' && *p != '\t')
            p++;
        size_t name_len = (size_t)(p - name);
        double q = 1;
        while (*p && *p != ',') {
            if (*p == ';') {
                p++;
                while (*p == ' ' || *p == '\t')
                    p++;
                if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
                    q = strtod(p + 2, NULL);
            } else {
                p++;
            }
        }
        int verdict = q > 0 ? 1 : 0;
        if ((name_len == 4 && strncasecmp(name, "gzip", 4) == 0) ||
            (name_len == 6 && strncasecmp(name, "x-gzip", 6) == 0))
            named = verdict;
        else if (name_len == 1 && name[0] == '*')
            star = verdict;
    }
    return named == 1 || (named == -1 && star == 1);
}

bool http_serve_asset(const struct http_request *request, struct http_response *response)
{
    const char *path = strcmp(request->path, "/") == 0 ? "/index.html" : request->path;
    size_t len = strlen(path);
    if (len >= 3 && strcmp(path + len - 3, ".gz") == 0)
        return false;
    const struct balkon_asset *plain = find(path, len);
    if (!plain)
        return false;

    char gz_path[256];
    const struct balkon_asset *gz = NULL;
    if (len + 4 <= sizeof gz_path) {
        snprintf(gz_path, sizeof gz_path, "%s.gz", path);
        gz = find(gz_path, len + 3);
    }
    const char *accept =
        request->connection
            ? MHD_lookup_connection_value(request->connection, MHD_HEADER_KIND, "Accept-Encoding")
            : NULL;
    const struct balkon_asset *sent = gz && accepts_gzip(accept) ? gz : plain;

    /* The ETag is the hash of the file itself; the compressed variant's is marked. */
    char etag[sizeof response->etag];
    snprintf(etag, sizeof etag, "\"%016llx%s\"",
             (unsigned long long)fnv1a(plain->data, plain->size), sent == gz ? "-gz" : "");

    response->status = 200;
    response->content_type = plain->content_type;
    response->body = (char *)sent->data;
    response->body_size = sent->size;
    response->body_static = true;
    response->cache_control = "no-cache";
    snprintf(response->etag, sizeof response->etag, "%s", etag);
    if (!gz)
        return true;

    /* A revalidation that matches: the plain answer, which the server turns into a 304. */
    const char *if_none_match =
        request->connection
            ? MHD_lookup_connection_value(request->connection, MHD_HEADER_KIND, "If-None-Match")
            : NULL;
    if (if_none_match && strcmp(if_none_match, etag) == 0)
        return true;

    /* Otherwise the response is made here, for the headers the generic one does not have. */
    struct MHD_Response *mhd =
        MHD_create_response_from_buffer(sent->size, (void *)sent->data, MHD_RESPMEM_PERSISTENT);
    if (!mhd)
        return true; /* the plain path still answers */
    MHD_add_response_header(mhd, "Content-Type", plain->content_type);
    MHD_add_response_header(mhd, "Cache-Control", "no-cache");
    MHD_add_response_header(mhd, "ETag", etag);
    MHD_add_response_header(mhd, "Vary", "Accept-Encoding");
    if (sent == gz)
        MHD_add_response_header(mhd, "Content-Encoding", "gzip");
    response->stream = mhd;
    response->etag[0] = '\0';
    return true;
}
