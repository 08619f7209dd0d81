/* libFuzzer target: the place search's pure parts (src/http/geocode.c). Byte 0 even: the
 * rest is a geocoder's answer for geocode_parse; odd: the rest is what a client sends as
 * q, for geocode_query_problem and, when it passes, geocode_url. Every place read must have
 * a name, coordinates in range and valid UTF-8 text; every URL made must hold only what
 * a URL may (the text percent-encoded). */
#include "../../src/http/geocode.h"
#include "../../src/http/http_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_text(const char *text)
{
    if (!http_utf8_valid(text, strlen(text)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *body = (const char *)data + 1;
    size_t n = size - 1;
    if (data[0] % 2 == 0) {
        struct geocode_results results;
        char problem[200];
        if (geocode_parse(body, n, &results, problem, sizeof problem) < 0) {
            check_text(problem);
            return 0;
        }
        if (results.count > GEOCODE_MAX_RESULTS)
            abort();
        for (size_t i = 0; i < results.count; i++) {
            const struct geocode_place *p = &results.places[i];
            if (!p->name[0] || !(fabs(p->latitude_deg) <= 90) || !(fabs(p->longitude_deg) <= 180))
                abort();
            check_text(p->name);
            check_text(p->admin1);
            check_text(p->country);
            check_text(p->country_code);
            check_text(p->timezone);
            check_text(p->postcode);
        }
        return 0;
    }
    const char *code = NULL;
    if (geocode_query_problem(body, n, &code)) {
        if (!code)
            abort();
        return 0;
    }
    /* A query that passed is UTF-8 without NUL: a C string of it is the same text. */
    char *text = malloc(n + 1);
    if (!text)
        return 0;
    memcpy(text, body, n);
    text[n] = '\0';
    char url[1024];
    if (geocode_url("https://geocoding-api.open-meteo.com/v1/search", text, "de", url,
                    sizeof url)) {
        for (const char *c = url; *c; c++)
            if (*c <= ' ' || *c >= 0x7f || strchr("\"<>\\^`{|}", *c))
                abort();
    }
    free(text);
    return 0;
}
