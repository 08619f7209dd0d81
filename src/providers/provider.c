/* What every provider shares: the table, result bookkeeping and the default reading of
 * HTTP statuses. */
#include "balkon/provider.h"

#include "balkon/config_types.h"
#include "balkon/error.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BALKON_PROVIDER(name) extern const struct balkon_provider name;
#include "providers_list.h"
#undef BALKON_PROVIDER

static const struct balkon_provider *const providers[] = {
#define BALKON_PROVIDER(name) &name,
#include "providers_list.h"
#undef BALKON_PROVIDER
};
#define PROVIDER_COUNT (sizeof providers / sizeof providers[0])

const struct balkon_provider *balkon_provider_find(const char *type)
{
    for (size_t i = 0; i < PROVIDER_COUNT; i++)
        if (strcmp(providers[i]->type, type) == 0)
            return providers[i];
    return NULL;
}

void balkon_provider_list_types(char *out, size_t size)
{
    out[0] = '\0';
    for (size_t i = 0; i < PROVIDER_COUNT; i++) {
        size_t len = strlen(out);
        snprintf(out + len, size - len, "%s\"%s\"", i ? ", " : "", providers[i]->type);
    }
}

const struct balkon_provider_config *balkon_provider_primary(const struct balkon_config *config,
                                                             enum provider_kind kind)
{
    for (size_t i = 0; i < config->providers.count; i++) {
        const struct balkon_provider_config *pc = &config->providers.items[i];
        const struct balkon_provider *provider = balkon_provider_find(pc->type);
        if (pc->enabled && provider && provider->kind == kind)
            return pc;
    }
    return NULL;
}

const char *provider_error_token(enum provider_error error)
{
    switch (error) {
    case PROVIDER_OK:
        return "ok";
    case PROVIDER_ERR_HTTP:
        return "http";
    case PROVIDER_ERR_RATE_LIMITED:
        return "rate_limited";
    case PROVIDER_ERR_UNAVAILABLE:
        return "unavailable";
    case PROVIDER_ERR_AUTH:
        return "auth";
    case PROVIDER_ERR_BAD_REQUEST:
        return "bad_request";
    case PROVIDER_ERR_PARSE:
        return "parse";
    case PROVIDER_ERR_UNIT:
        return "unit";
    case PROVIDER_ERR_NO_DATA:
        return "no_data";
    case PROVIDER_ERR_PROVIDER:
        return "provider_error";
    case PROVIDER_ERR_TRANSPORT:
        return "transport";
    }
    return "unknown";
}

void provider_result_init(struct provider_result *result)
{
    memset(result, 0, sizeof *result);
    result->retry_after_s = -1;
    result->retry_at_ms = INT64_MIN;
    snprintf(result->currency, sizeof result->currency, "EUR");
}

void provider_result_free(struct provider_result *result)
{
    free(result->points);
    result->points = NULL;
    result->count = result->capacity = 0;
}

int provider_result_add(struct provider_result *result, const struct provider_point *point)
{
    if (result->count == result->capacity) {
        size_t capacity = result->capacity ? result->capacity * 2 : 128;
        struct provider_point *grown = realloc(result->points, capacity * sizeof *grown);
        if (!grown)
            return BALKON_E_NOMEM;
        result->points = grown;
        result->capacity = capacity;
    }
    result->points[result->count++] = *point;
    return 0;
}

void provider_result_reject(struct provider_result *result, int index, const char *reason)
{
    if (result->rejected_count == PROVIDER_MAX_REJECTED)
        return;
    struct provider_rejection *r = &result->rejected[result->rejected_count++];
    r->index = index;
    snprintf(r->reason, sizeof r->reason, "%s", reason);
}

enum provider_error provider_result_fail(struct provider_result *result, enum provider_error error,
                                         const char *fmt, ...)
{
    if (result->error != PROVIDER_OK)
        return result->error;
    result->error = error;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(result->detail, sizeof result->detail, fmt, ap);
    va_end(ap);
    return error;
}

bool provider_check_status(const struct provider_reply *reply, struct provider_result *result)
{
    long status = reply->status;
    if (status == 200)
        return true;
    if (status == 429) {
        result->retry_after_s = reply->retry_after_s;
        if (reply->retry_after_s >= 0)
            provider_result_fail(result, PROVIDER_ERR_RATE_LIMITED, "HTTP 429, Retry-After %ld s",
                                 reply->retry_after_s);
        else
            provider_result_fail(result, PROVIDER_ERR_RATE_LIMITED, "HTTP 429");
    } else if (status == 502 || status == 503) {
        provider_result_fail(result, PROVIDER_ERR_UNAVAILABLE, "HTTP %ld (maintenance or overload)",
                             status);
    } else if (status == 401 || status == 403) {
        provider_result_fail(result, PROVIDER_ERR_AUTH, "HTTP %ld: token refused", status);
    } else if (status == 400 || status == 422) {
        provider_result_fail(result, PROVIDER_ERR_BAD_REQUEST, "HTTP %ld: %.120s", status,
                             reply->body);
    } else {
        provider_result_fail(result, PROVIDER_ERR_HTTP, "HTTP %ld", status);
    }
    return false;
}

struct provider_limits provider_part_limits(const struct balkon_provider *provider,
                                            const struct provider_env *env, int part)
{
    struct provider_limits limits = provider->limits;
    if (!provider->limit_by_plant || !env->config)
        return limits;
    const struct balkon_config *config = env->config;
    size_t count =
        config->pv.plane_count < BALKON_MAX_PLANES ? config->pv.plane_count : BALKON_MAX_PLANES;
    double peak_w = 0;
    if (provider->parts && part >= 0 && (size_t)part < count)
        peak_w = config->pv.planes[part].peak_w;
    else
        for (size_t i = 0; i < count; i++)
            peak_w += config->pv.planes[i].peak_w;
    /* 1.5 × peak: modules beat their rating on a cold clear day (cloud edge effects reach
     * ~1.3), never by half again; more is a wrong unit or a wrong site. */
    if (peak_w > 0)
        limits.max_value = 1.5 * peak_w;
    return limits;
}

void provider_slots_free(struct provider_slots *slots)
{
    free(slots->items);
    slots->items = NULL;
    slots->count = 0;
}
