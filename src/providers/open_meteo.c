/* Provider "open_meteo": irradiance on each PV plane from Open-Meteo, turned into AC power
 * with our PV model (pv_model.h). One request per plane; no key.
 *
 * Request  GET /v1/forecast?latitude=52.52&longitude=13.41
 *              &minutely_15=global_tilted_irradiance,temperature_2m&tilt=35&azimuth=0
 *              &forecast_days=3&timeformat=unixtime
 *          (azimuth: 0 south, -90 east, 90 west — the same convention as our config)
 * Reply    {"utc_offset_seconds": 0, "minutely_15_units": {"time": "unixtime",
 *           "global_tilted_irradiance": "W/m²", "temperature_2m": "°C"},
 *           "minutely_15": {"time": [1782000900, …], "global_tilted_irradiance": [0.0, …],
 *           "temperature_2m": [13.6, …]}}
 *          or the same with "hourly" / "hourly_units" (used when minutely_15 is absent or
 *          empty). Errors: HTTP 400 {"error": true, "reason": "…"}.
 *
 * Radiation is the average over the interval ENDING at the timestamp: a minutely_15 value
 * stamped 10:15 is the slot starting 10:00, an hourly one stamped 11:00 covers 10:00-11:00.
 * temperature_2m is an instant value and is carried unchanged in aux (°C). Negative GTI (a
 * model artefact) is clamped to 0; null GTI (end of the horizon) is rejected "null_value",
 * so is a GTI that is not a number; an unreadable time is rejected "malformed". Times come
 * as unix seconds (timeformat=unixtime, what we ask for) or, with time unit "iso8601",
 * as "2026-06-21T10:15" in the reply's utc_offset_seconds: both are read.
 *
 * parse() leaves value = GTI in W/m²; finish() turns one plane's slots into AC power in W
 * (without the inverter cap: the caller caps the sum of the planes, pv_model_cap()). */
#include "balkon/provider.h"

#include "balkon/config_types.h"
#include "balkon/error.h"
#include "balkon/timeutil.h"
#include "json_util.h"
#include "pv_model.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_BASE_URL "https://api.open-meteo.com"

static int build_request(const struct provider_env *env, int part, struct provider_request *request)
{
    request_get(request);
    if (part < 0 || part >= pv_plane_parts(env))
        return request_refuse(request, "open_meteo: no PV plane %d", part);
    const struct balkon_plane_config *plane = &env->config->pv.planes[part];
    char base[512], lat[32], lon[32], tilt[32], azimuth[32];
    url_number(lat, sizeof lat, env->config->site.latitude_deg);
    url_number(lon, sizeof lon, env->config->site.longitude_deg);
    url_number(tilt, sizeof tilt, plane->tilt_deg);
    url_number(azimuth, sizeof azimuth, plane->azimuth_deg);
    if (!price_base_url(env, DEFAULT_BASE_URL, base, sizeof base) ||
        !request_url(request,
                     "%s/v1/forecast?latitude=%s&longitude=%s"
                     "&minutely_15=global_tilted_irradiance,temperature_2m&tilt=%s&azimuth=%s"
                     "&forecast_days=3&timeformat=unixtime",
                     base, lat, lon, tilt, azimuth))
        return request_refuse(request, "open_meteo: base_url too long");
    request_accept_json(request);
    return 0;
}

/* A unit string, when the response declares one, must be the expected one (ignoring case
 * and spaces). */
static bool unit_ok(const cJSON *units, const char *field, const char *expected, char *got,
                    size_t size)
{
    const cJSON *unit = cJSON_GetObjectItemCaseSensitive(units, field);
    if (!cJSON_IsString(unit) || unit_equal(unit->valuestring, expected))
        return true;
    snprintf(got, size, "%s", unit->valuestring);
    return false;
}

/* An "iso8601" time of Open-Meteo: "2026-06-21T10:15", local to the reply's
 * utc_offset_seconds (0 unless a timezone was asked for), no zone suffix. */
static bool iso8601_ms(const cJSON *item, int64_t utc_offset_s, int64_t *out_ms)
{
    int year, month, day, hour, minute, used = 0;
    if (!cJSON_IsString(item) ||
        sscanf(item->valuestring, "%4d-%2d-%2dT%2d:%2d%n", &year, &month, &day, &hour, &minute,
               &used) != 5 ||
        item->valuestring[used] != '\0' || month < 1 || month > 12 || day < 1 || day > 31 ||
        hour > 23 || minute > 59 || year < 1970 || year > 9999)
        return false;
    int64_t days = balkon_days_from_civil(year, month, day);
    *out_ms = ((days * 24 + hour) * 60 + minute) * BALKON_MS_PER_MIN - utc_offset_s * 1000;
    return true;
}

static void parse_block(const cJSON *block, const cJSON *units, int64_t step_ms,
                        int64_t utc_offset_s, struct provider_result *result)
{
    char got[64];
    /* timeformat=unixtime is what we ask for; "iso8601" is the API's default, which a proxy
     * or an older request may bring back: both are read. */
    bool iso = false;
    if (cJSON_IsObject(units)) {
        const cJSON *time_unit = cJSON_GetObjectItemCaseSensitive(units, "time");
        iso = cJSON_IsString(time_unit) && unit_equal(time_unit->valuestring, "iso8601");
        if ((!iso && !unit_ok(units, "time", "unixtime", got, sizeof got)) ||
            !unit_ok(units, "global_tilted_irradiance", "W/m²", got, sizeof got) ||
            !unit_ok(units, "temperature_2m", "°C", got, sizeof got)) {
            provider_result_fail(result, PROVIDER_ERR_UNIT, "unexpected unit \"%s\"", got);
            return;
        }
    }
    const cJSON *times = cJSON_GetObjectItemCaseSensitive(block, "time");
    const cJSON *gti = cJSON_GetObjectItemCaseSensitive(block, "global_tilted_irradiance");
    const cJSON *temperature = cJSON_GetObjectItemCaseSensitive(block, "temperature_2m");
    if (!cJSON_IsArray(times) || !cJSON_IsArray(gti)) {
        provider_result_fail(result, PROVIDER_ERR_PARSE,
                             "time or global_tilted_irradiance missing");
        return;
    }
    int count = cJSON_GetArraySize(times);
    if (cJSON_GetArraySize(gti) != count ||
        (temperature &&
         (!cJSON_IsArray(temperature) || cJSON_GetArraySize(temperature) != count))) {
        provider_result_fail(result, PROVIDER_ERR_PARSE, "arrays of different lengths");
        return;
    }
    const cJSON *t = times->child, *g = gti->child;
    const cJSON *c = temperature ? temperature->child : NULL;
    for (int i = 0; t && g; i++, t = t->next, g = g->next, c = c ? c->next : NULL) {
        int64_t end_ms;
        bool time_ok = cJSON_IsString(t) ? iso8601_ms(t, utc_offset_s, &end_ms)
                                         : !iso && json_unix_ms(t, &end_ms);
        if (!time_ok) { /* a time we cannot read is a hole, the other entries are kept */
            provider_result_reject(result, i, "malformed");
            continue;
        }
        /* null stays NAN, which the normaliser rejects as "null_value" */
        struct provider_point point = point_make(
            end_ms - step_ms, end_ms, cJSON_IsNumber(g) ? fmax(0.0, g->valuedouble) : NAN, i);
        point.aux = cJSON_IsNumber(c) ? c->valuedouble : NAN;
        if (!point_add(result, &point))
            return;
    }
}

static void parse(const struct provider_env *env, int part, const struct provider_reply *reply,
                  struct provider_result *result)
{
    cJSON *root = json_parse_body(reply);
    if (reply->status == 400 || reply->status == 422) {
        const cJSON *reason = cJSON_GetObjectItemCaseSensitive(root, "reason");
        if (cJSON_IsString(reason))
            provider_result_fail(result, PROVIDER_ERR_BAD_REQUEST, "HTTP %ld, reason: %.200s",
                                 reply->status, reason->valuestring);
    }
    if (!provider_check_status(reply, result))
        goto done;
    if (!json_object_body(root, result))
        goto done;
    double offset = 0;
    json_number(cJSON_GetObjectItemCaseSensitive(root, "utc_offset_seconds"), &offset);
    int64_t utc_offset_s = fabs(offset) <= 86400 ? (int64_t)offset : 0;
    const cJSON *minutely = cJSON_GetObjectItemCaseSensitive(root, "minutely_15");
    const cJSON *hourly = cJSON_GetObjectItemCaseSensitive(root, "hourly");
    const cJSON *minutely_time = cJSON_GetObjectItemCaseSensitive(minutely, "time");
    if (cJSON_IsObject(minutely) && cJSON_GetArraySize(minutely_time) > 0)
        parse_block(minutely, cJSON_GetObjectItemCaseSensitive(root, "minutely_15_units"),
                    BALKON_SLOT_MS, utc_offset_s, result);
    else if (cJSON_IsObject(hourly))
        parse_block(hourly, cJSON_GetObjectItemCaseSensitive(root, "hourly_units"),
                    4 * BALKON_SLOT_MS, utc_offset_s, result);
    else if (cJSON_IsObject(minutely))
        parse_block(minutely, NULL, BALKON_SLOT_MS, 0, result); /* empty: no_data later */
    else
        provider_result_fail(result, PROVIDER_ERR_PARSE,
                             "neither minutely_15 nor hourly in the reply");
done:
    cJSON_Delete(root);
}

/* Irradiance on plane `part` -> AC power of that plane, slot by slot. The AC cap is not
 * applied here: it limits the sum of all planes, which only the caller sees. */
static void finish(const struct provider_env *env, int part, struct provider_slots *slots)
{
    if (part < 0)
        return;
    for (size_t i = 0; i < slots->count; i++) {
        struct provider_slot *slot = &slots->items[i];
        slot->value = pv_model_ac_w(env->config, (size_t)part, slot->value, slot->aux);
    }
}

const struct balkon_provider balkon_provider_open_meteo = {
    .type = "open_meteo",
    .kind = PROVIDER_KIND_PV,
    .needs_planes = true,
    .description = "PV forecast from Open-Meteo irradiance and our PV model, one request per plane",
    .schedule = PROVIDER_SCHEDULE_INTERVAL,
    .default_interval_min = 30,
    .default_base_url = DEFAULT_BASE_URL,
    .limits = {0, 1500}, /* W/m² of irradiance at parse time, before finish() */
    .parts = pv_plane_parts,
    .build_request = build_request,
    .parse = parse,
    .finish = finish,
};
