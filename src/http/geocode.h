/* Place search for the setup (GET /api/v1/geocode): the request to an Open-Meteo geocoding
 * API and the parser of its answer, pure functions of bytes (tests/unit/test_http_geocode.c,
 * the fuzzer). api_geocode.c sends the request and answers the dashboard.
 *
 * Request: GET <site.geocoder_url>?name=<text>&count=5&language=<lang>&format=json
 *
 * Answer (https://open-meteo.com/en/docs/geocoding-api; captured in
 * tests/fixtures/real/geocoding/): one object; "results" is missing when nothing matched.
 *   {"results":[{"id":2950159,"name":"Berlin","latitude":52.52437,"longitude":13.41053,
 *     "elevation":74.0,"feature_code":"PPLC","country_code":"DE","admin1_id":2950157,
 *     "timezone":"Europe/Berlin","population":3426354,"postcodes":["10967","13347"],
 *     "country_id":2921044,"country":"Germany","admin1":"Land Berlin",…},…],
 *    "generationtime_ms":1.0390282}
 * Empty fields are left out (admin1 … admin4, postcodes). An error is HTTP 400 with
 *   {"error":true,"reason":"Parameter count must be between 1 and 100."} */
#ifndef BALKON_HTTP_GEOCODE_H
#define BALKON_HTTP_GEOCODE_H

#include <stdbool.h>
#include <stddef.h>

/* What the dashboard is offered: the first few places, as the service ranks them. */
#define GEOCODE_MAX_RESULTS 5
/* The longest search text, in bytes: an address fits, a pasted page does not. */
#define GEOCODE_QUERY_MAX_BYTES 100
/* The service matches one character with nothing and two only exactly. */
#define GEOCODE_QUERY_MIN_CHARS 2

struct geocode_place {
    char name[128];
    char admin1[128];     /* the state or region; "" when the service gave none */
    char country[96];     /* "" when none */
    char country_code[4]; /* two capital letters; "" when none */
    char timezone[64];    /* IANA name; "" when none or not a plausible one */
    char postcode[16];    /* the first of the place's postcodes; "" when none */
    double latitude_deg;  /* -90 to 90, north positive */
    double longitude_deg; /* -180 to 180, east positive */
};

struct geocode_results {
    struct geocode_place places[GEOCODE_MAX_RESULTS];
    size_t count;
    size_t skipped; /* entries without a name or with coordinates out of range */
};

/* Parses the service's answer (body need not be NUL-terminated). Entries without a name
 * or with coordinates out of range are skipped (counted); text that is not UTF-8 is kept
 * with '?' for the bad bytes. Returns 0, or -1 with what is wrong in problem: not a JSON
 * object, "results" not a list, or the service's own error ({"error":true,"reason":…}). */
int geocode_parse(const char *body, size_t size, struct geocode_results *out, char *problem,
                  size_t problem_size);

/* The request URL for text in language lang (two lower-case letters) into out. false when
 * it does not fit. */
bool geocode_url(const char *base, const char *text, const char *lang, char *out, size_t size);

/* What is wrong with a search text, or NULL when it may be sent: *code is the API's error
 * code ("required", "too_short", "too_long", "utf8", "invalid"), the answer a sentence
 * without the parameter's name. */
const char *geocode_query_problem(const char *text, size_t len, const char **code);

/* Whether lang is a language the service takes: two lower-case ASCII letters. */
bool geocode_lang_ok(const char *lang);

#endif
