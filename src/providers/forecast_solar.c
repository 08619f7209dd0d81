/* Provider "forecast_solar": PV power per plane from Forecast.Solar. One request per plane;
 * the public plan needs no key (12 calls/h per IP), a key goes first in the path.
 *
 * Request  GET /estimate/:lat/:lon/:dec/:az/:kwp       (or /:key/estimate/…)
 *          Accept: application/json
 *          dec = tilt 0…90, az −180…180 (0 south, −90 east: our convention), kwp = peak_w/1000
 * Reply    {"result": {"watts": {"2026-06-21 04:43:27": 0, "2026-06-21 05:00:00": 10, …},
 *           "watt_hours_period": {…}, "watt_hours": {…}, "watt_hours_day": {"2026-06-21": 5862}},
 *           "message": {"code": 0, "type": "success", "info": {"timezone": "Europe/Berlin", …},
 *           "ratelimit": {…}}}
 *          Keys are local wall times of message.info.timezone without an offset by default;
 *          "…T02:43:27+00:00" (?time=utc / iso8601) and unix seconds (?time=seconds) are
 *          accepted too. The first and last key of a day are sunrise and sunset (0 W).
 * 429      {"result": "Rate limit for API calls reached.", "message": {"code": 429,
 *           "type": "error", "ratelimit": {…, "retry-at": "2026-06-21T11:00:00+02:00"}}}
 *          -> rate_limited with retry_at; 503 (quarterly maintenance, HTML body) -> unavailable.
 *
 * `watts` are instantaneous samples, not interval means, so they are not repeated onto
 * slots: P(t) is the linear interpolation through all samples (0 outside the first…last
 * sample), and a slot's value is the exact mean of P over its 15 minutes. This is the only
 * reading consistent with the provider's own watt_hours_period (the trapezoid between two
 * samples); slots run from the 15-minute floor of the first sample to the slot holding the
 * last one, nights in between are 0. The points produced are already 15-minute slots. */
#include "balkon/provider.h"

#include "balkon/config_types.h"
#include "balkon/error.h"
#include "balkon/timeutil.h"
#include "json_util.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_BASE_URL "https://api.forecast.solar"
#define MAX_SAMPLES 2000                    /* ~6 days of 15-minute samples */
#define MAX_SPAN_MS (8 * BALKON_MS_PER_DAY) /* longest forecast of any plan, with margin */

struct sample {
    int64_t t_ms;
    double watts;
    int index;  /* position in `watts`, for rejection reports */
    bool local; /* t_ms still to be computed from tm in the reply's zone */
    struct tm tm;
};

static void check(const struct balkon_provider_config *provider, const char *path,
                  struct balkon_config_errors *errors)
{
    if (provider->token[0] && !text_url_safe(provider->token))
        balkon_config_add_error(
            errors, path, "token",
            "Forecast.Solar keys contain only letters, digits, '-', '.', '_' and '~'");
}

static int build_request(const struct provider_env *env, int part, struct provider_request *request)
{
    request_get(request);
    const char *token = env->provider->token;
    if (part < 0 || part >= pv_plane_parts(env))
        return request_refuse(request, "forecast_solar: no PV plane %d", part);
    if (!text_url_safe(token))
        return request_refuse(request, "forecast_solar: token has characters a URL cannot carry");
    const struct balkon_plane_config *plane = &env->config->pv.planes[part];
    char base[512], lat[32], lon[32], dec[32], az[32], kwp[32];
    if (!price_base_url(env, DEFAULT_BASE_URL, base, sizeof base))
        return request_refuse(request, "forecast_solar: base_url too long");
    url_number(lat, sizeof lat, env->config->site.latitude_deg);
    url_number(lon, sizeof lon, env->config->site.longitude_deg);
    url_number(dec, sizeof dec, plane->tilt_deg);
    url_number(az, sizeof az, plane->azimuth_deg);
    url_number(kwp, sizeof kwp, plane->peak_w / 1000.0);
    const char *slash = token[0] ? "/" : "";
    int n = snprintf(request->url, sizeof request->url, "%s%s%s/estimate/%s/%s/%s/%s/%s", base,
                     slash, token, lat, lon, dec, az, kwp);
    int m = snprintf(request->url_for_log, sizeof request->url_for_log,
                     "%s%s%s/estimate/%s/%s/%s/%s/%s", base, slash, token[0] ? "***" : "", lat, lon,
                     dec, az, kwp);
    if (n < 0 || (size_t)n >= sizeof request->url || m < 0 ||
        (size_t)m >= sizeof request->url_for_log) {
        request->url[0] = '\0';
        return request_refuse(request, "forecast_solar: base_url too long");
    }
    snprintf(request->headers[0], sizeof request->headers[0], "Accept: application/json");
    return 0;
}

/* Reads exactly `digits` decimal digits. */
static bool read_int(const char **p, int digits, int *out)
{
    int value = 0;
    for (int i = 0; i < digits; i++, (*p)++) {
        if (!isdigit((unsigned char)**p))
            return false;
        value = value * 10 + (**p - '0');
    }
    *out = value;
    return true;
}

/* A `watts` key: "YYYY-MM-DD HH:MM[:SS]" local (fills tm, sets local), the same with
 * 'T' and an offset or 'Z', or unix seconds (sets t_ms). Returns false when unreadable. */
static bool parse_key(const char *key, struct sample *s)
{
    size_t len = strlen(key);
    if (len > 0 && len <= 12 && strspn(key, "0123456789") == len) {
        s->t_ms = strtoll(key, NULL, 10) * 1000;
        return true;
    }
    const char *p = key;
    int year, month, day, hour, minute, second = 0;
    if (!read_int(&p, 4, &year) || *p++ != '-' || !read_int(&p, 2, &month) || *p++ != '-' ||
        !read_int(&p, 2, &day) || (*p != ' ' && *p != 'T') || !(p++, read_int(&p, 2, &hour)) ||
        *p++ != ':' || !read_int(&p, 2, &minute))
        return false;
    if (*p == ':' && !(p++, read_int(&p, 2, &second)))
        return false;
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
        return false;
    if (*p != '\0') /* an offset, 'Z' or fractions: an absolute time */
        return balkon_parse_time(key, &s->t_ms) == 0;
    s->local = true;
    s->tm = (struct tm){.tm_year = year - 1900,
                        .tm_mon = month - 1,
                        .tm_mday = day,
                        .tm_hour = hour,
                        .tm_min = minute,
                        .tm_sec = second,
                        .tm_isdst = -1};
    return true;
}

/* An IANA zone name we are willing to hand to TZ: a file under /usr/share/zoneinfo, no
 * POSIX rule strings, no paths out of the database. */
static bool zone_ok(const char *zone)
{
    size_t len = strlen(zone);
    if (len == 0 || len > 63 || zone[0] == '/' || strstr(zone, ".."))
        return false;
    for (const char *p = zone; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/_+-", *p))
            return false;
    char file[128];
    snprintf(file, sizeof file, "/usr/share/zoneinfo/%s", zone);
    return access(file, R_OK) == 0;
}

/* Converts the local samples' wall times in `zone` to UTC. libc converts only in the
 * process zone, so TZ is switched for the loop and then restored exactly (unset stays
 * unset); the daemon runs all logic on one thread, so nobody sees the switch. */
static int convert_local(const char *zone, struct sample *samples, size_t count)
{
    const char *old = getenv("TZ");
    char *saved = old ? strdup(old) : NULL;
    if (old && !saved)
        return BALKON_E_NOMEM;
    int rc = 0;
    if (setenv("TZ", zone, 1) != 0) {
        free(saved);
        return BALKON_E_NOMEM;
    }
    tzset();
    for (size_t i = 0; i < count; i++) {
        if (!samples[i].local)
            continue;
        struct tm tm = samples[i].tm;
        time_t t = mktime(&tm);
        if (t == (time_t)-1) {
            rc = BALKON_E_PARSE;
            break;
        }
        samples[i].t_ms = (int64_t)t * 1000;
        samples[i].local = false;
    }
    if (saved)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    free(saved);
    return rc;
}

static int compare_time(const void *a, const void *b)
{
    const struct sample *x = a, *y = b;
    if (x->t_ms != y->t_ms)
        return x->t_ms < y->t_ms ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* Emits the mean of the interpolated curve over each 15-minute slot. */
static void emit_slots(const struct sample *s, size_t count, struct provider_result *result)
{
    int64_t first = s[0].t_ms, last = s[count - 1].t_ms;
    size_t k = 0; /* the first segment that can still overlap the current slot */
    for (int64_t start = balkon_floor_ms(first, BALKON_SLOT_MS); start < last;
         start += BALKON_SLOT_MS) {
        int64_t end = start + BALKON_SLOT_MS;
        while (k + 1 < count && s[k + 1].t_ms <= start)
            k++;
        double energy = 0; /* W·ms */
        for (size_t j = k; j + 1 < count && s[j].t_ms < end; j++) {
            int64_t t0 = s[j].t_ms, t1 = s[j + 1].t_ms;
            int64_t lo = t0 > start ? t0 : start, hi = t1 < end ? t1 : end;
            if (t1 <= t0 || hi <= lo)
                continue;
            double slope = (s[j + 1].watts - s[j].watts) / (double)(t1 - t0);
            double w_lo = s[j].watts + slope * (double)(lo - t0);
            double w_hi = s[j].watts + slope * (double)(hi - t0);
            energy += (w_lo + w_hi) / 2.0 * (double)(hi - lo);
        }
        struct provider_point point =
            point_make(start, end, energy / (double)BALKON_SLOT_MS, s[k].index);
        if (!point_add(result, &point))
            return;
    }
}

static void parse_watts(const struct provider_env *env, const cJSON *root,
                        struct provider_result *result)
{
    const cJSON *watts =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "result"), "watts");
    /* PHP encodes an empty map as [], so an empty array means "no samples". */
    if (cJSON_IsArray(watts) && cJSON_GetArraySize(watts) == 0)
        return; /* no points: the normaliser reports no_data */
    if (!cJSON_IsObject(watts)) {
        provider_result_fail(result, PROVIDER_ERR_PARSE, "result.watts missing or not an object");
        return;
    }
    int size = cJSON_GetArraySize(watts);
    if (size > MAX_SAMPLES) {
        provider_result_fail(result, PROVIDER_ERR_PARSE, "%d samples in result.watts, more than %d",
                             size, MAX_SAMPLES);
        return;
    }
    struct sample *samples = calloc((size_t)size + 1, sizeof *samples);
    if (!samples) {
        provider_result_fail(result, PROVIDER_ERR_PARSE, "out of memory");
        return;
    }
    size_t count = 0;
    bool any_local = false;
    int index = 0;
    for (const cJSON *w = watts->child; w && count < (size_t)size; w = w->next, index++) {
        if (cJSON_IsNull(w)) {
            provider_result_reject(result, index, "null_value");
            continue;
        }
        struct sample *s = &samples[count];
        if (!w->string || !cJSON_IsNumber(w) || !isfinite(w->valuedouble) ||
            !parse_key(w->string, s)) {
            provider_result_fail(result, PROVIDER_ERR_PARSE,
                                 "result.watts entry %d is not \"time\": watts", index);
            goto done;
        }
        s->watts = w->valuedouble;
        s->index = index;
        any_local |= s->local;
        count++;
    }
    if (any_local) {
        const cJSON *info = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(root, "message"), "info");
        const cJSON *tz = cJSON_GetObjectItemCaseSensitive(info, "timezone");
        /* Without the reply's zone the site's is the best guess: the API answers in the
         * local time of the coordinates we sent. */
        const char *zone = cJSON_IsString(tz) ? tz->valuestring : env->config->site.timezone;
        if (!zone_ok(zone)) {
            provider_result_fail(result, PROVIDER_ERR_PARSE,
                                 "local times in unknown time zone \"%.64s\"", zone);
            goto done;
        }
        if (convert_local(zone, samples, count) != 0) {
            provider_result_fail(result, PROVIDER_ERR_PARSE,
                                 "local time not representable in %.64s", zone);
            goto done;
        }
    }
    if (count == 0)
        goto done;
    qsort(samples, count, sizeof *samples, compare_time);
    if (samples[count - 1].t_ms - samples[0].t_ms > MAX_SPAN_MS) {
        provider_result_fail(result, PROVIDER_ERR_PARSE, "samples span more than %d days",
                             (int)(MAX_SPAN_MS / BALKON_MS_PER_DAY));
        goto done;
    }
    emit_slots(samples, count, result);
done:
    free(samples);
}

static void parse(const struct provider_env *env, int part, const struct provider_reply *reply,
                  struct provider_result *result)
{
    cJSON *root = json_parse_body(reply);
    const cJSON *message = cJSON_GetObjectItemCaseSensitive(root, "message");
    if (reply->status == 429) {
        const cJSON *ratelimit = cJSON_GetObjectItemCaseSensitive(message, "ratelimit");
        const cJSON *retry_at = cJSON_GetObjectItemCaseSensitive(ratelimit, "retry-at");
        int64_t at_ms;
        /* Only date-shaped text: balkon_parse_time converts bare numbers without a range check. */
        if (cJSON_IsString(retry_at) && strspn(retry_at->valuestring, "0123456789") == 4 &&
            retry_at->valuestring[4] == '-' &&
            balkon_parse_time(retry_at->valuestring, &at_ms) == 0) {
            result->retry_at_ms = at_ms;
            provider_result_fail(result, PROVIDER_ERR_RATE_LIMITED, "HTTP 429, retry at %.40s",
                                 retry_at->valuestring);
        }
    }
    if (!provider_check_status(reply, result))
        goto done;
    if (!json_object_body(root, result))
        goto done;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(message, "type");
    if (cJSON_IsString(type) && strcmp(type->valuestring, "error") == 0) {
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(message, "text");
        provider_result_fail(result, PROVIDER_ERR_PROVIDER, "error: %.200s",
                             cJSON_IsString(text) ? text->valuestring : "(no text)");
        goto done;
    }
    parse_watts(env, root, result);
done:
    cJSON_Delete(root);
}

const struct balkon_provider balkon_provider_forecast_solar = {
    .type = "forecast_solar",
    .kind = PROVIDER_KIND_PV,
    .needs_planes = true,
    .description = "PV forecast from Forecast.Solar, one request per plane (token optional)",
    .schedule = PROVIDER_SCHEDULE_INTERVAL,
    /* 12 calls/h per IP on the public plan: planes × 60/60 min stays within it up to 12 planes */
    .default_interval_min = 60,
    .default_base_url = DEFAULT_BASE_URL,
    .limits = {0, 100000}, /* W: without planes; with them 1.5 × their peak */
    .limit_by_plant = true,
    .check = check,
    .parts = pv_plane_parts,
    .build_request = build_request,
    .parse = parse,
};
