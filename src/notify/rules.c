/* The alert rules: observers of the bus that decide when a condition starts and ends.
 *
 * Each rule is switched in notifications.rules and calls notify_raise while its condition
 * holds and notify_clear once it is gone; the module de-duplicates, so a rule may raise on
 * every event. */
#include "notify_internal.h"

#include "balkon/config.h"
#include "balkon/module.h"
#include "balkon/store.h"
#include "balkon/timeutil.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_MS (24 * 3600 * 1000LL)
#define MAX_FAILING 16

struct failing {
    char provider[BALKON_ID_MAX];
    int64_t since_ms;
    char error[160];
};

struct notify_rules {
    struct notify *n;
    struct balkon_ctx *ctx;
    struct balkon_price_slot *prices; /* the primary provider's, owned */
    size_t price_count;
    char currency[4];
    struct failing failing[MAX_FAILING];
    size_t failing_count;
    /* Today's energy, integrated from the site status. */
    int64_t day_start_ms;
    double pv_wh, home_wh, import_wh, export_wh;
    int64_t summary_sent_day_ms; /* local midnight of the day last summarised */
    int64_t wasting_since_ms;    /* surplus exported past a battery with room; INT64_MIN: not now */
    char plan_summary[200];      /* tomorrow, from the newest plan */
};

struct notify_rules *notify_rules_new(struct notify *n, struct balkon_ctx *ctx)
{
    struct notify_rules *r = calloc(1, sizeof *r);
    if (r) {
        r->n = n;
        r->ctx = ctx;
        r->day_start_ms = INT64_MIN;
        r->summary_sent_day_ms = INT64_MIN;
        r->wasting_since_ms = INT64_MIN;
    }
    return r;
}

void notify_rules_free(struct notify_rules *r)
{
    if (r)
        free(r->prices);
    free(r);
}

static const struct balkon_config *cfg(const struct notify_rules *r)
{
    return r->ctx->config;
}

static void hhmm(int64_t ts_ms, char *out, size_t size)
{
    time_t t = (time_t)(ts_ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, size, "%a %H:%M", &tm);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorted prices of the slots in [now, now + 24 h); returns the count (values owned by caller). */
static size_t next_day_prices(const struct notify_rules *r, int64_t now_ms, double **out)
{
    *out = NULL;
    double *v = malloc((r->price_count ? r->price_count : 1) * sizeof *v);
    if (!v)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < r->price_count; i++) {
        const struct balkon_price_slot *s = &r->prices[i];
        if (s->slot_ts_ms + s->slot_s * 1000LL > now_ms && s->slot_ts_ms < now_ms + DAY_MS)
            v[n++] = s->price_per_kwh;
    }
    qsort(v, n, sizeof *v, cmp_double);
    *out = v;
    return n;
}

static void on_prices(struct notify_rules *r, const struct ev_prices *ev)
{
    if (!ev->primary)
        return;
    struct balkon_price_slot *copy = malloc((ev->count ? ev->count : 1) * sizeof *copy);
    if (!copy)
        return;
    memcpy(copy, ev->slots, ev->count * sizeof *copy);
    free(r->prices);
    r->prices = copy;
    r->price_count = ev->count;
    snprintf(r->currency, sizeof r->currency, "%s", ev->currency);

    const struct balkon_config *c = cfg(r);
    int64_t now_ms = balkon_clock_now_ms(&r->ctx->clock);
    const struct balkon_price_slot *lowest = NULL, *highest = NULL;
    for (size_t i = 0; i < r->price_count; i++) {
        const struct balkon_price_slot *s = &r->prices[i];
        if (s->slot_ts_ms + s->slot_s * 1000LL <= now_ms || s->slot_ts_ms >= now_ms + DAY_MS)
            continue;
        if (!lowest || s->price_per_kwh < lowest->price_per_kwh)
            lowest = s;
        if (!highest || s->price_per_kwh > highest->price_per_kwh)
            highest = s;
    }
    char when[32];
    if (c->notifications.rules.negative_price) {
        if (lowest && lowest->price_per_kwh < 0) {
            hhmm(lowest->slot_ts_ms, when, sizeof when);
            notify_raise(
                r->n, "negative_price", ev->provider, NOTIFY_INFO, true,
                "Negative electricity price ahead",
                "The price drops to %.4f %s/kWh at %s: a good time to charge and to run loads.",
                lowest->price_per_kwh, ev->currency, when);
        } else
            notify_clear(r->n, "negative_price", ev->provider);
    }
    if (c->notifications.rules.price_spike) {
        double *v;
        size_t n = next_day_prices(r, now_ms, &v);
        double median = n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : NAN;
        free(v);
        double factor = c->notifications.rules.price_spike_factor;
        if (highest && median > 0 && highest->price_per_kwh > factor * median) {
            hhmm(highest->slot_ts_ms, when, sizeof when);
            notify_raise(
                r->n, "price_spike", ev->provider, NOTIFY_WARNING, true, "Price spike ahead",
                "The price rises to %.4f %s/kWh at %s (%.1f× the median of the next 24 h).",
                highest->price_per_kwh, ev->currency, when, highest->price_per_kwh / median);
        } else
            notify_clear(r->n, "price_spike", ev->provider);
    }
}

static void check_cheap_window(struct notify_rules *r, int64_t now_ms)
{
    const struct balkon_price_slot *current = NULL;
    for (size_t i = 0; i < r->price_count; i++)
        if (r->prices[i].slot_ts_ms <= now_ms &&
            now_ms < r->prices[i].slot_ts_ms + r->prices[i].slot_s * 1000LL)
            current = &r->prices[i];
    double *v;
    size_t n = next_day_prices(r, now_ms, &v);
    bool cheap =
        current && n >= 4 && current->price_per_kwh <= v[(n - 1) / 4] && v[(n - 1) / 4] < v[n - 1];
    free(v);
    if (cheap)
        notify_raise(r->n, "cheap_window", "prices", NOTIFY_INFO, true, "Cheap electricity now",
                     "The price is %.4f %s/kWh, in the cheapest quarter of the next 24 h.",
                     current->price_per_kwh, r->currency);
    else
        notify_clear(r->n, "cheap_window", "prices");
}

static void check_failing(struct notify_rules *r, int64_t now_ms)
{
    double limit_ms = cfg(r)->notifications.rules.provider_failing_min * 60000.0;
    for (size_t i = 0; i < r->failing_count; i++) {
        const struct failing *f = &r->failing[i];
        char title[80];
        snprintf(title, sizeof title, "Provider %s failing", f->provider);
        if ((double)(now_ms - f->since_ms) >= limit_ms)
            notify_raise(r->n, "provider_failing", f->provider, NOTIFY_WARNING, false, title,
                         "Provider %s has failed for %.0f min: %s", f->provider,
                         (now_ms - f->since_ms) / 60000.0, f->error);
    }
}

static void on_provider(struct notify_rules *r, const struct ev_provider_status *ev)
{
    int64_t now_ms = balkon_clock_now_ms(&r->ctx->clock);
    size_t i = 0;
    while (i < r->failing_count && strcmp(r->failing[i].provider, ev->provider) != 0)
        i++;
    if (ev->state != PROVIDER_STATE_FAILING) {
        if (i < r->failing_count)
            r->failing[i] = r->failing[--r->failing_count];
        notify_clear(r->n, "provider_failing", ev->provider);
        return;
    }
    if (i == r->failing_count) {
        if (r->failing_count >= MAX_FAILING)
            return;
        r->failing_count++;
        snprintf(r->failing[i].provider, sizeof r->failing[i].provider, "%s", ev->provider);
        r->failing[i].since_ms = now_ms;
    }
    snprintf(r->failing[i].error, sizeof r->failing[i].error, "%.150s", ev->last_error);
    if (cfg(r)->notifications.rules.provider_failing)
        check_failing(r, now_ms);
}

static void send_summary(struct notify_rules *r, int64_t now_ms)
{
    notify_once(r->n, "daily_summary", "site", NOTIFY_INFO, "BalkonSolar: today",
                "Solar %.2f kWh, home %.2f kWh, grid import %.2f kWh, export %.2f kWh "
                "(self-sufficiency %.0f%%). %s",
                r->pv_wh / 1000, r->home_wh / 1000, r->import_wh / 1000, r->export_wh / 1000,
                r->home_wh > 0 ? 100.0 * (1 - r->import_wh / r->home_wh) : 0.0,
                r->plan_summary[0] ? r->plan_summary : "No plan yet.");
    r->summary_sent_day_ms = balkon_local_midnight_ms(now_ms, 0);
}

/* In every mode of the plan, surplus that would go to the grid charges the battery (hold
 * and idle included: export earns little or nothing). So exporting while the battery has
 * room and stands still means it does not do what it is told: a full BMS, a cold battery,
 * a vendor app that took over, a lost connection. */
static void check_not_charging(struct notify_rules *r, const struct ev_site_status *s)
{
    const struct balkon_config *c = cfg(r);
    bool wasting = isfinite(s->soc_pct) && isfinite(s->battery_w) && isfinite(s->grid_w) &&
                   s->soc_pct < c->battery.soc_max_pct - 2 && s->grid_w < -100 &&
                   s->battery_w > -20;
    if (!wasting) {
        r->wasting_since_ms = INT64_MIN;
        if (s->grid_w > -20 || s->battery_w < -50)
            notify_clear(r->n, "battery_not_charging", "battery");
        return;
    }
    if (r->wasting_since_ms == INT64_MIN)
        r->wasting_since_ms = s->ts_ms;
    if (s->ts_ms - r->wasting_since_ms >=
        (int64_t)(c->notifications.rules.not_charging_min * 60000.0))
        notify_raise(
            r->n, "battery_not_charging", "battery", NOTIFY_WARNING, false, "Battery not charging",
            "%.0f W of solar go to the grid while the battery is at %.0f%% and does not charge.",
            -s->grid_w, s->soc_pct);
}

static void on_site(struct notify_rules *r, const struct ev_site_status *s)
{
    const struct balkon_config *c = cfg(r);
    const __typeof__(c->notifications.rules) *rules = &c->notifications.rules;
    int64_t now_ms = s->ts_ms;
    /* Energy of the local day. */
    int64_t midnight = balkon_local_midnight_ms(now_ms, 0);
    if (midnight != r->day_start_ms) {
        r->day_start_ms = midnight;
        r->pv_wh = r->home_wh = r->import_wh = r->export_wh = 0;
    }
    double h = s->interval_ms / 3600000.0;
    if (isfinite(s->pv_w) && isfinite(s->home_w) && isfinite(s->grid_w)) {
        r->pv_wh += s->pv_w * h;
        r->home_wh += s->home_w * h;
        r->import_wh += (s->grid_w > 0 ? s->grid_w : 0) * h;
        r->export_wh += (s->grid_w < 0 ? -s->grid_w : 0) * h;
    }
    if (rules->daily_summary && r->summary_sent_day_ms != midnight) {
        time_t t = (time_t)(now_ms / 1000);
        struct tm tm;
        localtime_r(&t, &tm);
        if (tm.tm_hour * 60 + tm.tm_min >= balkon_parse_hhmm(rules->daily_summary_at))
            send_summary(r, now_ms);
    }
    if (c->battery.capacity_wh > 0 && isfinite(s->soc_pct)) {
        if (rules->battery_empty) {
            if (s->soc_pct <= c->battery.soc_min_pct + 0.5)
                notify_raise(r->n, "battery_empty", "battery", NOTIFY_INFO, false, "Battery empty",
                             "The battery is at %.0f%% (the lower limit is %.0f%%).", s->soc_pct,
                             c->battery.soc_min_pct);
            else if (s->soc_pct >= c->battery.soc_min_pct + 5)
                notify_clear(r->n, "battery_empty", "battery");
        }
        if (rules->battery_full) {
            if (s->soc_pct >= c->battery.soc_max_pct - 0.5)
                notify_raise(r->n, "battery_full", "battery", NOTIFY_INFO, true, "Battery full",
                             "The battery is at %.0f%% (the upper limit is %.0f%%).", s->soc_pct,
                             c->battery.soc_max_pct);
            else if (s->soc_pct <= c->battery.soc_max_pct - 5)
                notify_clear(r->n, "battery_full", "battery");
        }
    }
    if (rules->battery_not_charging && c->battery.capacity_wh > 0)
        check_not_charging(r, s);
    if (rules->export_cap && c->inverter.ac_limit_w > 0) {
        double out_w = s->pv_w + (s->battery_w > 0 ? s->battery_w : 0);
        double cap_w = c->inverter.ac_limit_w - rules->export_cap_margin_w;
        if (out_w >= cap_w)
            notify_raise(
                r->n, "export_cap", "inverter", NOTIFY_INFO, true, "Inverter at its AC limit",
                "The inverter delivers %.0f W, at its limit of %.0f W: more solar is cut off.",
                out_w, c->inverter.ac_limit_w);
        else if (out_w < cap_w - 50)
            notify_clear(r->n, "export_cap", "inverter");
    }
    if (rules->cheap_window)
        check_cheap_window(r, now_ms);
    if (rules->provider_failing)
        check_failing(r, now_ms);
}

/* The planner tells in the stored plan's summary whether its strategy failed and it fell
 * back to plain self-consumption ("self_consumption_fallback"); BUS_EV_PLAN carries the id. */
static void on_plan(struct notify_rules *r, const struct ev_plan *ev)
{
    struct balkon_plan_record rec = {0};
    if (balkon_store_plan_get(r->ctx->store, ev->created_ts_ms, &rec) < 0)
        return;
    cJSON *json = rec.summary_json ? cJSON_Parse(rec.summary_json) : NULL;
    bool fell_back = cJSON_IsTrue(cJSON_GetObjectItem(json, "self_consumption_fallback"));
    const cJSON *saving = cJSON_GetObjectItem(json, "expected_saving_vs_no_battery");
    /* Tomorrow's plan, in a sentence for the daily summary. */
    int64_t tomorrow = balkon_local_midnight_ms(ev->created_ts_ms, 1),
            after = balkon_local_midnight_ms(ev->created_ts_ms, 2);
    double charge_wh = 0, discharge_wh = 0;
    for (size_t i = 0; i < ev->count; i++) {
        const struct balkon_plan_slot_row *s = &ev->slots[i];
        if (s->slot_ts_ms >= tomorrow && s->slot_ts_ms < after) {
            if (s->battery_w < 0)
                charge_wh -= s->battery_w * 0.25;
            else
                discharge_wh += s->battery_w * 0.25;
        }
    }
    snprintf(r->plan_summary, sizeof r->plan_summary,
             "Plan (%s): expected saving %.2f %s against no battery; tomorrow charge %.1f kWh, "
             "discharge %.1f kWh.",
             ev->strategy, cJSON_IsNumber(saving) ? saving->valuedouble : 0.0, rec.currency,
             charge_wh / 1000, discharge_wh / 1000);
    cJSON_Delete(json);
    balkon_plan_record_free(&rec);
    if (!cfg(r)->notifications.rules.optimizer_fallback)
        return;
    if (fell_back)
        notify_raise(r->n, "optimizer_fallback", "planner", NOTIFY_WARNING, false,
                     "Planner fell back to self-consumption",
                     "The strategy \"%s\" could not make a plan; the battery follows plain "
                     "self-consumption.",
                     ev->strategy);
    else
        notify_clear(r->n, "optimizer_fallback", "planner");
}

void notify_rules_on_event(struct notify_rules *r, enum bus_event event, const void *payload)
{
    const struct balkon_config *c = cfg(r);
    switch (event) {
    case BUS_EV_DEVICE_ONLINE: {
        const struct ev_device_online *ev = payload;
        if (!c->notifications.rules.device_offline)
            break;
        char title[80];
        snprintf(title, sizeof title, "Device %s offline", ev->device_id);
        if (!ev->online)
            notify_raise(r->n, "device_offline", ev->device_id, NOTIFY_WARNING, false, title,
                         "Device %s is offline: %s", ev->device_id,
                         ev->detail[0] ? ev->detail : "no data");
        else
            notify_clear(r->n, "device_offline", ev->device_id);
        break;
    }
    case BUS_EV_CONTROL_STATUS: {
        const struct ev_control_status *ev = payload;
        if (!c->notifications.rules.meter_stale)
            break;
        if (strcmp(ev->state, "failsafe") == 0)
            notify_raise(r->n, "meter_stale", "meter", NOTIFY_CRITICAL, false, "Meter data stale",
                         "No meter reading for more than %.0f s: the control is in failsafe.",
                         c->control.meter_stale_s);
        else
            notify_clear(r->n, "meter_stale", "meter");
        break;
    }
    case BUS_EV_SITE_STATUS:
        on_site(r, payload);
        break;
    case BUS_EV_PRICES:
        on_prices(r, payload);
        break;
    case BUS_EV_PROVIDER_STATUS:
        on_provider(r, payload);
        break;
    case BUS_EV_PLAN:
        on_plan(r, payload);
        break;
    case BUS_EV_CLOCK_JUMPED: {
        /* "Failing for 60 min" and "wasting since" keep their length across a jump. */
        int64_t jump_ms = ((const struct ev_clock_jumped *)payload)->jump_ms;
        for (size_t i = 0; i < r->failing_count; i++)
            r->failing[i].since_ms += jump_ms;
        if (r->wasting_since_ms != INT64_MIN)
            r->wasting_since_ms += jump_ms;
        break;
    }
    case BUS_EV_STORAGE_STATUS: {
        /* The alert itself may not reach the full database; the channels still carry it. */
        const struct ev_storage_status *ev = payload;
        if (ev->ok)
            notify_clear(r->n, "storage_failing", "database");
        else if (cfg(r)->notifications.rules.storage_failing)
            notify_raise(
                r->n, "storage_failing", "database", NOTIFY_CRITICAL, false,
                "Cannot store measurements",
                "The database cannot be written: %s. Control goes on; measurements wait in memory "
                "until there is room again (free space on the disk or SD card).",
                ev->error);
        break;
    }
    case BUS_EV_RECOMMENDATION: {
        /* The recommendations module publishes only when an appliance's advice changes;
         * "no plan yet" and the auto-started runs are not worth a message. */
        const struct ev_recommendation *ev = payload;
        bool advice = strcmp(ev->status, "ok") == 0 || strcmp(ev->status, "no_fit") == 0;
        if (c->notifications.rules.recommendations && advice && ev->sentence[0])
            notify_once(r->n, "recommendation", ev->id, NOTIFY_INFO, ev->name, "%s", ev->sentence);
        break;
    }
    default:
        break;
    }
}
