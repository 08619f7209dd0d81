/* The API's route table, read-only, for whoever must know every route: the OpenAPI test
 * (tests/integration/test_openapi.c) fails for a route the router knows and
 * docs/openapi.json does not describe. */
#ifndef BALKON_HTTP_ROUTES_H
#define BALKON_HTTP_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

/* Who may use a route, as docs/openapi.json states it ("security"). */
enum balkon_route_access {
    BALKON_ROUTE_PUBLIC, /* anyone */
    BALKON_ROUTE_READ,   /* logged in, a token, or anyone with http.read_without_login */
    BALKON_ROUTE_LOGIN,  /* logged in or a token, even to read */
    BALKON_ROUTE_WRITE,  /* logged in (with the CSRF header) or a token that may write */
};

/* The route at index (0 up): its method ("GET") and path pattern ("/api/v1/loads/{id}/override")
 * and access; false past the last. */
bool balkon_http_route_at(size_t index, const char **method, const char **path,
                          enum balkon_route_access *access);

/* The OpenAPI description served at GET /api/v1/openapi.json (docs/openapi.json, embedded
 * at build time by cmake/embed_file.cmake). */
extern const unsigned char balkon_openapi_json[];
extern const size_t balkon_openapi_json_size;

#endif
