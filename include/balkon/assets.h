/* The dashboard's files, embedded at build time by cmake/embed_web.cmake. */
#ifndef BALKON_ASSETS_H
#define BALKON_ASSETS_H

#include <stddef.h>

struct balkon_asset {
    const char *path; /* "/index.html" */
    const char *content_type;
    const unsigned char *data;
    size_t size;
};

/* Terminated by a row whose path is NULL. */
extern const struct balkon_asset balkon_assets[];

#endif
