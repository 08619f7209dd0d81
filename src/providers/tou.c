/* Provider "tou": time-of-use prices (HT/NT and the like) from zones in the config:
 * days of the week, a local time window and a price. Later zones override earlier ones
 * where they overlap, so "daily 00:00-24:00 at 0.30, then mon-fri 22:00-06:00 at 0.22"
 * reads the way a tariff sheet does. Slots no zone covers are left out (a hole the
 * status reports), never guessed. */
#include "balkon/provider.h"

#include "balkon/config_types.h"
#include "balkon/timeutil.h"
#include "json_util.h"
#include "local_days.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const day_names[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static int day_index(const char *name, size_t len)
{
    for (int i = 0; i < 7; i++)
        if (len == 3 && strncmp(name, day_names[i], 3) == 0)
            return i;
    return -1;
}

/* Parses "daily", "mon-fri", "sat,sun", "mon,wed-fri" into a bit per weekday (bit 0 =
 * Sunday, as tm_wday). Returns 0 on a syntax error. */
static unsigned parse_days(const char *text)
{
    if (strcmp(text, "daily") == 0)
        return 0x7f;
    unsigned mask = 0;
    const char *p = text;
    while (*p) {
        const char *end = p + strcspn(p, ",");
        const char *dash = memchr(p, '-', (size_t)(end - p));
        int first = day_index(p, (size_t)((dash ? dash : end) - p));
        int last = dash ? day_index(dash + 1, (size_t)(end - dash - 1)) : first;
        if (first < 0 || last < 0)
            return 0;
        for (int d = first;; d = (d + 1) % 7) {
            mask |= 1u << d;
            if (d == last)
                break;
        }
        p = *end ? end + 1 : end;
    }
    return mask;
}

/* "HH:MM" -> minutes since midnight; "24:00" allowed. -1 on error. */
static void check(const struct balkon_provider_config *provider, const char *path,
                  struct balkon_config_errors *errors)
{
    if (provider->zone_count == 0)
        balkon_config_add_error(errors, path, "zones", "needs at least one zone for type \"tou\"");
    for (size_t i = 0; i < provider->zone_count; i++) {
        const struct balkon_tou_zone *zone = &provider->zones[i];
        char zone_path[96];
        snprintf(zone_path, sizeof zone_path, "%s.zones[%zu]", path, i);
        if (!parse_days(zone->days))
            balkon_config_add_error(
                errors, zone_path, "days",
                "must be \"daily\" or day names like \"mon-fri\" or \"sat,sun\", got \"%s\"",
                zone->days);
        if (balkon_parse_hhmm(zone->from) < 0)
            balkon_config_add_error(errors, zone_path, "from", "must be a time HH:MM, got \"%s\"",
                                    zone->from);
        if (balkon_parse_hhmm(zone->to) < 0)
            balkon_config_add_error(errors, zone_path, "to", "must be a time HH:MM, got \"%s\"",
                                    zone->to);
    }
}

/* Whether a zone covers local weekday `wday` at `minute`; windows that end before they
 * start run past midnight, and the part after midnight belongs to the day they began. */
static bool covers(const struct balkon_tou_zone *zone, int wday, int minute)
{
    unsigned days = parse_days(zone->days);
    int from = balkon_parse_hhmm(zone->from), to = balkon_parse_hhmm(zone->to);
    if (from < to)
        return (days >> wday & 1) && minute >= from && minute < to;
    int yesterday = (wday + 6) % 7;
    return ((days >> wday & 1) && minute >= from) || ((days >> yesterday & 1) && minute < to);
}

static void generate(const struct provider_env *env, struct provider_result *result)
{
    const struct balkon_provider_config *pc = env->provider;
    result->consumer_price = true;
    snprintf(result->currency, sizeof result->currency, "%s", env->config->tariff.currency);
    int64_t start_ms = local_midnight_ms(env->now_ms);
    int64_t end_ms = local_midnight_after_ms(env->now_ms, 2);
    int index = 0;
    for (int64_t slot_ms = start_ms; slot_ms < end_ms; slot_ms += BALKON_SLOT_MS, index++) {
        time_t t = (time_t)(slot_ms / 1000);
        struct tm tm;
        localtime_r(&t, &tm);
        int minute = tm.tm_hour * 60 + tm.tm_min;
        double price = NAN;
        for (size_t z = 0; z < pc->zone_count; z++)
            if (covers(&pc->zones[z], tm.tm_wday, minute))
                price = pc->zones[z].price_per_kwh;
        if (isnan(price))
            continue;
        struct provider_point point = point_make(slot_ms, slot_ms + BALKON_SLOT_MS, price, index);
        provider_result_add(result, &point);
    }
}

const struct balkon_provider balkon_provider_tou = {
    .type = "tou",
    .kind = PROVIDER_KIND_PRICE,
    .description = "time-of-use zones from the config (HT/NT)",
    .schedule = PROVIDER_SCHEDULE_LOCAL,
    .limits = {-5, 5},
    .check = check,
    .generate = generate,
};
