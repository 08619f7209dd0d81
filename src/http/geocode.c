/* The place search's request and the parser of its answer (geocode.h has the wire format). */
#include "geocode.h"

#include "http_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* A string member copied into out (cut to fit, bad UTF-8 bytes as '?'); "" when absent or
 * not a string. */
static void copy_text(const cJSON *object, const char *key, char *out, size_t size)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    out[0] = '\0';
    if (!cJSON_IsString(item) || !item->valuestring)
        return;
    snprintf(out, size, "%s", item->valuestring);
    /* A cut may end inside a character: that and any bad byte from the service become '?',
     * so the answer stays valid JSON text. */
    http_utf8_scrub(out);
}

static bool number_in(const cJSON *object, const char *key, double lo, double hi, double *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble) || item->valuedouble < lo ||
        item->valuedouble > hi)
        return false;
    *out = item->valuedouble;
    return true;
}

/* An IANA zone name as the tz database spells them ("Europe/Berlin",
 * "America/Argentina/Buenos_Aires", "Etc/GMT+1", "UTC"): the setup puts it into
 * site.timezone, whose own check then looks it up. */
static bool zone_name_ok(const char *zone)
{
    if (!zone[0] || zone[0] == '/' || strstr(zone, ".."))
        return false;
    for (const char *c = zone; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
              strchr("/_+-", *c)))
            return false;
    return true;
}

static bool parse_place(const cJSON *entry, struct geocode_place *place)
{
    memset(place, 0, sizeof *place);
    copy_text(entry, "name", place->name, sizeof place->name);
    if (!place->name[0] || !number_in(entry, "latitude", -90, 90, &place->latitude_deg) ||
        !number_in(entry, "longitude", -180, 180, &place->longitude_deg))
        return false;
    copy_text(entry, "admin1", place->admin1, sizeof place->admin1);
    copy_text(entry, "country", place->country, sizeof place->country);
    copy_text(entry, "country_code", place->country_code, sizeof place->country_code);
    if (strlen(place->country_code) != 2 || place->country_code[0] < 'A' ||
        place->country_code[0] > 'Z' || place->country_code[1] < 'A' ||
        place->country_code[1] > 'Z')
        place->country_code[0] = '\0';
    copy_text(entry, "timezone", place->timezone, sizeof place->timezone);
    if (!zone_name_ok(place->timezone))
        place->timezone[0] = '\0';
    const cJSON *postcodes = cJSON_GetObjectItemCaseSensitive(entry, "postcodes");
    const cJSON *first = cJSON_IsArray(postcodes) ? cJSON_GetArrayItem(postcodes, 0) : NULL;
    if (cJSON_IsString(first) && first->valuestring && strlen(first->valuestring) < 16) {
        snprintf(place->postcode, sizeof place->postcode, "%s", first->valuestring);
        http_utf8_scrub(place->postcode);
    }
    return true;
}

int geocode_parse(const char *body, size_t size, struct geocode_results *out, char *problem,
                  size_t problem_size)
{
    memset(out, 0, sizeof *out);
    cJSON *root = body ? cJSON_ParseWithLength(body, size) : NULL;
    int rc = -1;
    if (!cJSON_IsObject(root)) {
        snprintf(problem, problem_size, "the answer is not a JSON object");
        goto done;
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "error"))) {
        char reason[160];
        copy_text(root, "reason", reason, sizeof reason);
        snprintf(problem, problem_size, "the service refused the search: %s",
                 reason[0] ? reason : "(no reason given)");
        goto done;
    }
    const cJSON *results = cJSON_GetObjectItemCaseSensitive(root, "results");
    if (results && !cJSON_IsArray(results)) {
        snprintf(problem, problem_size, "\"results\" is not a list");
        goto done;
    }
    const cJSON *entry;
    cJSON_ArrayForEach(entry, results)
    {
        if (out->count == GEOCODE_MAX_RESULTS)
            break;
        if (cJSON_IsObject(entry) && parse_place(entry, &out->places[out->count]))
            out->count++;
        else
            out->skipped++;
    }
    rc = 0;
done:
    cJSON_Delete(root);
    return rc;
}

/* Appends text percent-encoded (RFC 3986: all but the unreserved characters). */
static bool append_encoded(char *out, size_t size, size_t *len, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        bool plain = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                     (*c >= '0' && *c <= '9') || strchr("-._~", *c);
        if (*len + (plain ? 1 : 3) >= size)
            return false;
        if (plain) {
            out[(*len)++] = (char)*c;
        } else {
            out[(*len)++] = '%';
            out[(*len)++] = hex[*c >> 4];
            out[(*len)++] = hex[*c & 15];
        }
    }
    out[*len] = '\0';
    return true;
}

bool geocode_url(const char *base, const char *text, const char *lang, char *out, size_t size)
{
    int n = snprintf(out, size, "%s?name=", base);
    if (n < 0 || (size_t)n >= size)
        return false;
    size_t len = (size_t)n;
    if (!append_encoded(out, size, &len, text))
        return false;
    n = snprintf(out + len, size - len, "&count=%d&language=%s&format=json", GEOCODE_MAX_RESULTS,
                 lang);
    return n >= 0 && (size_t)n < size - len;
}

const char *geocode_query_problem(const char *text, size_t len, const char **code)
{
    if (!text || len == 0) {
        *code = "required";
        return "is required: the place, postcode or address to search for";
    }
    if (len > GEOCODE_QUERY_MAX_BYTES) {
        *code = "too_long";
        return "is too long (at most 100 bytes)";
    }
    if (!http_utf8_valid(text, len)) {
        *code = "utf8";
        return "must be valid UTF-8 text";
    }
    size_t chars = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 || c == 0x7f) {
            *code = "invalid";
            return "must not contain control characters";
        }
        /* Characters, not bytes (a continuation byte is 10xxxxxx); spaces do not count. */
        if ((c & 0xc0) != 0x80 && c != ' ')
            chars++;
    }
    if (chars < GEOCODE_QUERY_MIN_CHARS) {
        *code = "too_short";
        return "is too short (at least 2 characters)";
    }
    return NULL;
}

bool geocode_lang_ok(const char *lang)
{
    return lang && strlen(lang) == 2 && lang[0] >= 'a' && lang[0] <= 'z' && lang[1] >= 'a' &&
           lang[1] <= 'z';
}
