/* Provider "entsoe": day-ahead prices of a bidding zone from the ENTSO-E Transparency
 * Platform (document type A44), with the security token of a Transparency account.
 *
 * Request:  GET https://web-api.tp.entsoe.eu/api?documentType=A44&in_Domain=<EIC>
 *             &out_Domain=<EIC>&periodStart=202606212200&periodEnd=202606232200
 *             &contract_MarketAgreement.type=A01&securityToken=<token>
 *           period* are UTC yyyyMMddHHmm. The area is a bidding-zone name ("DE-LU", "AT",
 *           "DK1" …, table below) or a raw 16-character EIC code. The token travels in the
 *           query string, so url_for_log shows "***". 400 requests/min, then 429 and a
 *           10-minute ban.
 *
 * Reply:    <Publication_MarketDocument
 *                xmlns="urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:3">
 *             <TimeSeries>
 *               <currency_Unit.name>EUR</…>  <price_Measure_Unit.name>MWH</…>
 *               <classificationSequence_AttributeInstanceComponent.position>1</…> (optional)
 *               <curveType>A03</curveType>                        (optional; A01 when absent)
 *               <Period>
 *                 <timeInterval><start>2026-06-21T22:00Z</start><end>…</end></timeInterval>
 *                 <resolution>PT15M</resolution>                  (PT15M, PT30M, PT60M …)
 *                 <Point><position>1</position><price.amount>85.78</price.amount></Point> …
 *           "No data for this window" is HTTP 200 with an Acknowledgement_MarketDocument
 *           (…:451-1:acknowledgementdocument:7:0) holding <Reason><code>999</code><text>…;
 *           a bad query gets the same document with another code (HTTP 200 or 400).
 *
 * Mapping:  Elements are matched by local name and the root's namespace (any version of
 *           the publication document namespace). When any TimeSeries carries a
 *           classificationSequence position, only those with position 1 (the SDAC auction)
 *           are read: position 2 is a second publication of the same day. Position p of a
 *           Period covers [start + (p−1)·step, start + p·step), p in 1 … (end − start)/step.
 *           curveType A03 leaves out positions whose price repeats the one before: they are
 *           filled with the previous transmitted price, up to timeInterval/end. A01 gives
 *           only the transmitted positions. value = price.amount / 1000 (EUR/kWh).
 *           Series and Periods are concatenated; where two give the same slot the first in
 *           document order wins (points are handed over in reverse document order, as the
 *           normaliser keeps the later point of a slot). source_index is the Point's index
 *           among all Points of the document; a filled position carries the index of the
 *           Point it repeats.
 *
 * Errors:   A currency other than EUR or a unit other than MWH → "unit" (whole reply).
 *           Reason 999 → "no_data", any other Reason → "provider_error". Malformed or
 *           truncated XML, missing fields or values of the wrong shape → "parse". HTTP
 *           errors take the common reading (401 auth, 429 rate_limited …), with the
 *           Acknowledgement's reason in the detail when the body carries one. */
#include "balkon/provider.h"

#include "balkon/config_types.h"
#include "balkon/error.h"
#include "json_util.h"
#include "xml.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ENTSOE_URL "https://web-api.tp.entsoe.eu"
#define PUBLICATION_NS "urn:iec62325.351:tc57wg16:451-3:publicationdocument:"
#define ACKNOWLEDGEMENT_NS "urn:iec62325.351:tc57wg16:451-1:acknowledgementdocument:"
#define SEQUENCE "classificationSequence_AttributeInstanceComponent.position"
#define NO_MATCHING_DATA "999"
#define DEFAULT_ZONE "DE-LU"
/* Bounds against hostile documents; we ask for two days, these are far beyond. */
#define MAX_POSITIONS 3000 /* per Period: a month of quarter-hours */
#define MAX_POINTS 4000    /* per document, after A03 filling */

/* Bidding zones with day-ahead prices (EIC codes of the Transparency Platform). */
static const struct {
    const char *name;
    const char *eic;
} zones[] = {
    {"DE-LU", "10Y1001A1001A82H"},   {"AT", "10YAT-APG------L"},
    {"BE", "10YBE----------2"},      {"BG", "10YCA-BULGARIA-R"},
    {"CH", "10YCH-SWISSGRIDZ"},      {"CZ", "10YCZ-CEPS-----N"},
    {"DK1", "10YDK-1--------W"},     {"DK2", "10YDK-2--------M"},
    {"EE", "10Y1001A1001A39I"},      {"ES", "10YES-REE------0"},
    {"FI", "10YFI-1--------U"},      {"FR", "10YFR-RTE------C"},
    {"GR", "10YGR-HTSO-----Y"},      {"HR", "10YHR-HEP------M"},
    {"HU", "10YHU-MAVIR----U"},      {"IE-SEM", "10Y1001A1001A59C"},
    {"IT-NORD", "10Y1001A1001A73I"}, {"IT-CNOR", "10Y1001A1001A70O"},
    {"IT-CSUD", "10Y1001A1001A71M"}, {"IT-SUD", "10Y1001A1001A788"},
    {"IT-CALA", "10Y1001C--00096J"}, {"IT-SICI", "10Y1001A1001A75E"},
    {"IT-SARD", "10Y1001A1001A74G"}, {"LT", "10YLT-1001A0008Q"},
    {"LV", "10YLV-1001A00074"},      {"NL", "10YNL----------L"},
    {"NO1", "10YNO-1--------2"},     {"NO2", "10YNO-2--------T"},
    {"NO3", "10YNO-3--------J"},     {"NO4", "10YNO-4--------9"},
    {"NO5", "10Y1001A1001A48H"},     {"PL", "10YPL-AREA-----S"},
    {"PT", "10YPT-REN------W"},      {"RO", "10YRO-TEL------P"},
    {"RS", "10YCS-SERBIATSOV"},      {"SE1", "10Y1001A1001A44P"},
    {"SE2", "10Y1001A1001A45N"},     {"SE3", "10Y1001A1001A46L"},
    {"SE4", "10Y1001A1001A47J"},     {"SI", "10YSI-ELES-----O"},
    {"SK", "10YSK-SEPS-----K"},
};

/* An EIC character's value for the check character: 0-9, A-Z = 10-35, '-' = 36. */
static int eic_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return c == '-' ? 36 : -1;
}

/* 16 characters whose last one is the check character of the first 15 (weights 16 … 2,
 * modulo 37), so a mistyped code is caught when the config is read. */
static bool eic_valid(const char *code)
{
    if (strlen(code) != 16)
        return false;
    int sum = 0;
    for (int i = 0; i < 16; i++)
        if (eic_value(code[i]) < 0)
            return false;
    for (int i = 0; i < 15; i++)
        sum += eic_value(code[i]) * (16 - i);
    int check = 36 - (sum - 1) % 37;
    return eic_value(code[15]) == check;
}

/* Zone names compare without case, '-' or '_': "de-lu", "DE_LU" and "DELU" are one. */
static bool zone_name_is(const char *area, const char *name)
{
    for (;;) {
        while (*area == '-' || *area == '_')
            area++;
        while (*name == '-')
            name++;
        if (!*area || !*name)
            return !*area && !*name;
        if (toupper((unsigned char)*area) != *name)
            return false;
        area++;
        name++;
    }
}

/* The EIC code of the configured area ("" = DE-LU), or NULL when unknown. */
static const char *zone_eic(const char *area)
{
    if (!area[0])
        area = DEFAULT_ZONE;
    for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++)
        if (zone_name_is(area, zones[i].name))
            return zones[i].eic;
    return eic_valid(area) ? area : NULL;
}

static void check(const struct balkon_provider_config *provider, const char *path,
                  struct balkon_config_errors *errors)
{
    if (!provider->token[0])
        balkon_config_add_error(errors, path, "token",
                                "is required for type \"entsoe\": the security token of an "
                                "ENTSO-E Transparency Platform account");
    if (!zone_eic(provider->area))
        balkon_config_add_error(errors, path, "area",
                                "unknown bidding zone \"%s\" for type \"entsoe\": use a name like "
                                "\"DE-LU\", \"AT\", \"NL\", \"DK1\", \"SE3\" or a 16-character EIC "
                                "code like \"10Y1001A1001A82H\"",
                                provider->area);
}

/* ts_ms as UTC yyyyMMddHHmm. */
static bool utc_stamp(int64_t ts_ms, char out[32])
{
    time_t t = (time_t)(ts_ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
        return false;
    snprintf(out, 32, "%04d%02d%02d%02d%02d", (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
             tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100);
    return true;
}

static int build_request(const struct provider_env *env, int part, struct provider_request *request)
{
    const struct balkon_provider_config *pc = env->provider;
    const char *eic = zone_eic(pc->area);
    char base[512], token[3 * sizeof pc->token + 1], first[32], last[32];
    int64_t start_ms, end_ms;
    price_window(env, &start_ms, &end_ms);
    if (!eic || !pc->token[0]) {
        snprintf(request->url_for_log, sizeof request->url_for_log,
                 "entsoe: token missing or area unknown");
        return BALKON_E_INVAL;
    }
    if (!price_base_url(env, ENTSOE_URL, base, sizeof base) ||
        !url_encode(pc->token, token, sizeof token) || !utc_stamp(start_ms, first) ||
        !utc_stamp(end_ms, last)) {
        snprintf(request->url_for_log, sizeof request->url_for_log,
                 "entsoe: base_url or token too long, or clock out of range");
        return BALKON_E_INVAL;
    }
    const char *format = "%s/api?documentType=A44&in_Domain=%s&out_Domain=%s&periodStart=%s"
                         "&periodEnd=%s&contract_MarketAgreement.type=A01&securityToken=%s";
    int n = snprintf(request->url, sizeof request->url, format, base, eic, eic, first, last, token);
    if (n < 0 || (size_t)n >= sizeof request->url) {
        request->url[0] = '\0';
        snprintf(request->url_for_log, sizeof request->url_for_log, "entsoe: URL too long");
        return BALKON_E_INVAL;
    }
    snprintf(request->method, sizeof request->method, "GET");
    snprintf(request->headers[0], sizeof request->headers[0], "Accept: application/xml, text/xml");
    snprintf(request->url_for_log, sizeof request->url_for_log, format, base, eic, eic, first, last,
             "***");
    return 0;
}

/* Whether the element's namespace starts with prefix (any version of the document). */
static bool ns_starts(const struct xml_doc *doc, int node, const char *prefix)
{
    size_t len = strlen(prefix);
    return doc->nodes[node].ns_len >= len && memcmp(doc->nodes[node].ns, prefix, len) == 0;
}

/* The text of child `name` of node into out. False when the child is missing or its text
 * does not fit (no real value comes near the buffers used here). */
static bool child_text(const struct xml_doc *doc, int node, const char *ns, const char *name,
                       char *out, size_t size)
{
    int child = xml_child(doc, node, ns, name);
    out[0] = '\0';
    return child >= 0 && xml_text(doc, child, out, size) < size;
}

/* A whole number of at most 9 digits (so it fits an int with room to add). */
static bool whole_number(const char *text, int *out)
{
    size_t len = strlen(text);
    if (len == 0 || len > 9 || strspn(text, "0123456789") != len)
        return false;
    *out = atoi(text);
    return true;
}

/* A plain decimal: sign, digits, point, exponent. Refuses what strtod would also take
 * ("inf", "nan", hex floats) and anything not consumed whole. */
static bool decimal(const char *text, double *out)
{
    size_t len = strlen(text);
    if (len == 0 || strspn(text, "+-0123456789.eE") != len || !strpbrk(text, "0123456789"))
        return false;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (*end != '\0' || errno == ERANGE || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* An ISO 8601 duration "PT<n>M" or "PT<n>H" in ms, n in 1 … 9999. */
static bool resolution_ms(const char *text, int64_t *out)
{
    if (strncmp(text, "PT", 2) != 0)
        return false;
    size_t digits = strspn(text + 2, "0123456789");
    if (digits == 0 || digits > 4 || strlen(text) != 3 + digits)
        return false;
    int64_t n = atoi(text + 2);
    char unit = text[2 + digits];
    if (n == 0 || (unit != 'M' && unit != 'H'))
        return false;
    *out = n * (unit == 'H' ? 3600000 : 60000);
    return true;
}

/* What one read of the document carries along. */
struct reader {
    const struct xml_doc *doc;
    const char *ns;
    struct provider_result *result;
    size_t keep; /* points of earlier replies, not ours */
    int ordinal; /* index of the next Point among all Points of the document */
};

static bool add_point(struct reader *r, int64_t start_ms, int64_t step_ms, double eur_per_mwh,
                      int index)
{
    if (r->result->count - r->keep >= MAX_POINTS) {
        provider_result_fail(r->result, PROVIDER_ERR_PARSE, "more than %d price points",
                             MAX_POINTS);
        return false;
    }
    return price_add(r->result, start_ms, start_ms + step_ms, eur_per_mwh / 1000, index);
}

static bool read_period(struct reader *r, int period, const char *where, bool a03)
{
    const struct xml_doc *doc = r->doc;
    struct provider_result *result = r->result;
    char text[64];
    int64_t start_ms, end_ms, step_ms;
    int interval = xml_child(doc, period, r->ns, "timeInterval");
    if (!child_text(doc, interval, r->ns, "start", text, sizeof text) || !iso_time(text, &start_ms))
        goto bad_interval;
    if (!child_text(doc, interval, r->ns, "end", text, sizeof text) || !iso_time(text, &end_ms))
        goto bad_interval;
    if (!child_text(doc, period, r->ns, "resolution", text, sizeof text) ||
        !resolution_ms(text, &step_ms)) {
        provider_result_fail(result, PROVIDER_ERR_PARSE, "%s: resolution \"%.16s\" is not PT<n>M/H",
                             where, text);
        return false;
    }
    if (end_ms <= start_ms || (end_ms - start_ms) % step_ms != 0 ||
        (end_ms - start_ms) / step_ms > MAX_POSITIONS) {
        provider_result_fail(result, PROVIDER_ERR_PARSE,
                             "%s: timeInterval is not a whole number (1 to %d) of %s steps", where,
                             MAX_POSITIONS, text);
        return false;
    }
    int positions = (int)((end_ms - start_ms) / step_ms);

    int previous = 0, previous_index = -1, k = 0;
    double previous_price = NAN;
    for (int point = xml_child(doc, period, r->ns, "Point"); point >= 0;
         point = xml_next(doc, point, r->ns, "Point"), k++) {
        int position;
        double eur_per_mwh;
        if (!child_text(doc, point, r->ns, "position", text, sizeof text) ||
            !whole_number(text, &position) || position < 1 || position > positions) {
            provider_result_fail(
                result, PROVIDER_ERR_PARSE,
                "%s.Point[%d]: position \"%.16s\" is not a whole number from 1 to %d", where, k,
                text, positions);
            return false;
        }
        if (position <= previous) {
            provider_result_fail(result, PROVIDER_ERR_PARSE,
                                 "%s.Point[%d]: position %d does not follow position %d", where, k,
                                 position, previous);
            return false;
        }
        if (!child_text(doc, point, r->ns, "price.amount", text, sizeof text) ||
            !decimal(text, &eur_per_mwh)) {
            provider_result_fail(result, PROVIDER_ERR_PARSE,
                                 "%s.Point[%d]: price.amount \"%.16s\" is not a number", where, k,
                                 text);
            return false;
        }
        for (int p = previous + 1; a03 && previous > 0 && p < position; p++)
            if (!add_point(r, start_ms + (p - 1) * step_ms, step_ms, previous_price,
                           previous_index))
                return false;
        if (!add_point(r, start_ms + (int64_t)(position - 1) * step_ms, step_ms, eur_per_mwh,
                       r->ordinal))
            return false;
        previous = position;
        previous_price = eur_per_mwh;
        previous_index = r->ordinal++;
    }
    /* A03 also leaves out the tail: the last price holds up to the end of the interval. */
    for (int p = previous + 1; a03 && previous > 0 && p <= positions; p++)
        if (!add_point(r, start_ms + (p - 1) * step_ms, step_ms, previous_price, previous_index))
            return false;
    return true;
bad_interval:
    provider_result_fail(result, PROVIDER_ERR_PARSE,
                         "%s: timeInterval start/end missing or not an ISO 8601 time", where);
    return false;
}

static bool read_series(struct reader *r, int series, int index)
{
    const struct xml_doc *doc = r->doc;
    struct provider_result *result = r->result;
    char text[64], where[64];
    if (!child_text(doc, series, r->ns, "currency_Unit.name", text, sizeof text) ||
        strcmp(text, "EUR") != 0) {
        provider_result_fail(result, PROVIDER_ERR_UNIT,
                             "TimeSeries[%d]: currency_Unit.name \"%.16s\", expected \"EUR\"",
                             index, text);
        return false;
    }
    if (!child_text(doc, series, r->ns, "price_Measure_Unit.name", text, sizeof text) ||
        strcasecmp(text, "MWH") != 0) {
        provider_result_fail(result, PROVIDER_ERR_UNIT,
                             "TimeSeries[%d]: price_Measure_Unit.name \"%.16s\", expected \"MWH\"",
                             index, text);
        return false;
    }
    bool a03 = false;
    if (xml_child(doc, series, r->ns, "curveType") >= 0) {
        child_text(doc, series, r->ns, "curveType", text, sizeof text);
        a03 = strcmp(text, "A03") == 0;
        if (!a03 && strcmp(text, "A01") != 0) {
            provider_result_fail(result, PROVIDER_ERR_PARSE,
                                 "TimeSeries[%d]: curveType \"%.16s\" is neither A01 nor A03",
                                 index, text);
            return false;
        }
    }
    int k = 0;
    for (int period = xml_child(doc, series, r->ns, "Period"); period >= 0;
         period = xml_next(doc, period, r->ns, "Period"), k++) {
        snprintf(where, sizeof where, "TimeSeries[%d].Period[%d]", index, k);
        if (!read_period(r, period, where, a03))
            return false;
    }
    if (k == 0) {
        provider_result_fail(result, PROVIDER_ERR_PARSE, "TimeSeries[%d]: no Period", index);
        return false;
    }
    return true;
}

/* The number of Points in a series that is not read, so later indexes stay document-wide. */
static int count_points(const struct reader *r, int series)
{
    int n = 0;
    for (int period = xml_child(r->doc, series, r->ns, "Period"); period >= 0;
         period = xml_next(r->doc, period, r->ns, "Period"))
        for (int point = xml_child(r->doc, period, r->ns, "Point"); point >= 0;
             point = xml_next(r->doc, point, r->ns, "Point"))
            n++;
    return n;
}

static void read_publication(struct reader *r, int root)
{
    const struct xml_doc *doc = r->doc;
    struct provider_result *result = r->result;
    bool sequenced = false;
    for (int s = xml_child(doc, root, r->ns, "TimeSeries"); s >= 0;
         s = xml_next(doc, s, r->ns, "TimeSeries"))
        sequenced = sequenced || xml_child(doc, s, r->ns, SEQUENCE) >= 0;
    int index = 0;
    for (int s = xml_child(doc, root, r->ns, "TimeSeries"); s >= 0;
         s = xml_next(doc, s, r->ns, "TimeSeries"), index++) {
        if (sequenced) {
            char text[16];
            int sequence = 0;
            if (xml_child(doc, s, r->ns, SEQUENCE) >= 0 &&
                (!child_text(doc, s, r->ns, SEQUENCE, text, sizeof text) ||
                 !whole_number(text, &sequence))) {
                provider_result_fail(result, PROVIDER_ERR_PARSE,
                                     "TimeSeries[%d]: %s is not a whole number", index, SEQUENCE);
                return;
            }
            if (sequence != 1) {
                r->ordinal += count_points(r, s);
                continue;
            }
        }
        if (!read_series(r, s, index))
            return;
    }
    if (result->count == r->keep)
        provider_result_fail(result, PROVIDER_ERR_NO_DATA,
                             "Publication_MarketDocument without usable TimeSeries (%d read)",
                             index);
}

/* Reason code and text of an Acknowledgement_MarketDocument. */
static void read_reason(const struct xml_doc *doc, const char *ns, char code[16], char text[160])
{
    int reason = xml_child(doc, 0, ns, "Reason");
    child_text(doc, reason, ns, "code", code, 16);
    xml_text(doc, xml_child(doc, reason, ns, "text"), text, 160);
}

/* The root's namespace as a C string, for the child lookups. */
static bool root_ns(const struct xml_doc *doc, char *out, size_t size)
{
    if (doc->nodes[0].ns_len >= size)
        return false;
    memcpy(out, doc->nodes[0].ns, doc->nodes[0].ns_len);
    out[doc->nodes[0].ns_len] = '\0';
    return true;
}

/* An error status: the common reading, and the Acknowledgement's reason when there is one
 * (ENTSO-E answers a bad query with 400 and that document). */
static void explain_status(const struct provider_reply *reply, struct provider_result *result)
{
    struct xml_doc doc = {0};
    char ns[128], code[16], text[160];
    if (reply->body && xml_parse(reply->body, reply->body_size, &doc) == 0 &&
        xml_is(&doc, 0, NULL, "Acknowledgement_MarketDocument") &&
        ns_starts(&doc, 0, ACKNOWLEDGEMENT_NS) && root_ns(&doc, ns, sizeof ns)) {
        read_reason(&doc, ns, code, text);
        snprintf(result->detail, sizeof result->detail, "HTTP %ld, Reason %s: %s", reply->status,
                 code[0] ? code : "(none)", text);
    }
    xml_doc_free(&doc);
}

static void parse(const struct provider_env *env, int part, const struct provider_reply *reply,
                  struct provider_result *result)
{
    if (!provider_check_status(reply, result)) {
        explain_status(reply, result);
        return;
    }
    struct xml_doc doc = {0};
    int rc = reply->body ? xml_parse(reply->body, reply->body_size, &doc) : BALKON_E_PARSE;
    if (rc < 0) {
        provider_result_fail(result, PROVIDER_ERR_PARSE,
                             "response body is not well-formed XML (%zu bytes): %s",
                             reply->body_size, rc == BALKON_E_PARSE ? doc.error : "too large");
        xml_doc_free(&doc);
        return;
    }
    char ns[128];
    const struct xml_node *root = &doc.nodes[0];
    if (xml_is(&doc, 0, NULL, "Acknowledgement_MarketDocument") &&
        ns_starts(&doc, 0, ACKNOWLEDGEMENT_NS) && root_ns(&doc, ns, sizeof ns)) {
        char code[16], text[160];
        read_reason(&doc, ns, code, text);
        provider_result_fail(
            result,
            strcmp(code, NO_MATCHING_DATA) == 0 ? PROVIDER_ERR_NO_DATA : PROVIDER_ERR_PROVIDER,
            "Acknowledgement_MarketDocument, Reason %s: %s", code[0] ? code : "(none)", text);
    } else if (xml_is(&doc, 0, NULL, "Publication_MarketDocument") &&
               ns_starts(&doc, 0, PUBLICATION_NS) && root_ns(&doc, ns, sizeof ns)) {
        struct reader r = {.doc = &doc, .ns = ns, .result = result, .keep = result->count};
        read_publication(&r, 0);
        if (result->error != PROVIDER_OK) {
            price_rollback(result, r.keep);
        } else if (result->count > r.keep) {
            /* Reversed, so that of two points for one slot the first in document order
             * comes last and is the one the normaliser keeps. */
            for (size_t i = r.keep, j = result->count - 1; i < j; i++, j--) {
                struct provider_point swap = result->points[i];
                result->points[i] = result->points[j];
                result->points[j] = swap;
            }
        }
    } else {
        provider_result_fail(result, PROVIDER_ERR_PARSE,
                             "root element <%.*s> in namespace \"%.*s\" is not an ENTSO-E "
                             "Publication or Acknowledgement document",
                             (int)(root->qname_len < 64 ? root->qname_len : 64), root->qname,
                             (int)(root->ns_len < 80 ? root->ns_len : 80), root->ns);
    }
    xml_doc_free(&doc);
}

const struct balkon_provider balkon_provider_entsoe = {
    .type = "entsoe",
    .kind = PROVIDER_KIND_PRICE,
    .description = "ENTSO-E Transparency Platform day-ahead prices of a bidding zone (token; "
                   "area, default \"DE-LU\")",
    .schedule = PROVIDER_SCHEDULE_DAY_AHEAD,
    .publication_hour = 13,
    .default_base_url = ENTSOE_URL,
    .limits = {-5, 5},
    .check = check,
    .build_request = build_request,
    .parse = parse,
};
