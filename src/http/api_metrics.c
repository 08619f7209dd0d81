/* GET /metrics: Prometheus' text exposition format 0.0.4.
 *
 *   # HELP <name> <text, with \ and newline escaped>
 *   # TYPE <name> gauge|counter|summary
 *   <name>{<label>="<value, with \, " and newline escaped>",...} <float>
 *
 * Every family's HELP and TYPE come first, then its samples, all together. Names say
 * their unit (_watts, _percent, _kwh_total, _seconds, _bytes); counters end in _total
 * and only ever grow (energy counts since the daemon started; Prometheus' rate() and
 * increase() handle the restart). What only the metrics module counts (src/metrics/:
 * energy, device read errors, provider runs, command results, loop lag) is asked for
 * over the bus; the rest is the HTTP module's own cached state. */
#include "http_internal.h"

#include "balkon/bus.h"
#include "balkon/provider.h"
#include "balkon/store.h"
#include "balkon/timeutil.h"
#include "balkon/version.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct prom {
    char *text;
    size_t len, size;
    bool failed;
};

static void put(struct prom *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct prom *p, const char *fmt, ...)
{
    if (p->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n =
            vsnprintf(p->text ? p->text + p->len : NULL, p->text ? p->size - p->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            p->failed = true;
            return;
        }
        if (p->text && p->len + (size_t)n < p->size) {
            p->len += (size_t)n;
            return;
        }
        size_t size = (p->size ? p->size * 2 : 4096) + (size_t)n;
        char *grown = realloc(p->text, size);
        if (!grown) {
            p->failed = true;
            return;
        }
        p->text = grown;
        p->size = size;
    }
}

/* Writes text escaped as a label value (label = true: \ " newline) or HELP (\ newline). */
static void put_escaped(struct prom *p, const char *text, bool label)
{
    for (; *text; text++) {
        if (*text == '\\')
            put(p, "\\\\");
        else if (*text == '\n')
            put(p, "\\n");
        else if (*text == '"' && label)
            put(p, "\\\"");
        else
            put(p, "%c", *text);
    }
}

static void family(struct prom *p, const char *name, const char *type, const char *help)
{
    put(p, "# HELP %s ", name);
    put_escaped(p, help, false);
    put(p, "\n# TYPE %s %s\n", name, type);
}

/* One sample; labels are name/value pairs ending in NULL. */
static void sample(struct prom *p, const char *name, double value, ...)
{
    put(p, "%s", name);
    va_list ap;
    va_start(ap, value);
    const char *label = va_arg(ap, const char *);
    for (bool first = true; label; first = false) {
        const char *label_value = va_arg(ap, const char *);
        put(p, "%s%s=\"", first ? "{" : ",", label);
        put_escaped(p, label_value, true);
        put(p, "\"");
        label = va_arg(ap, const char *);
        if (!label)
            put(p, "}");
    }
    va_end(ap);
    if (isnan(value))
        put(p, " NaN\n");
    else if (isinf(value))
        put(p, " %sInf\n", value > 0 ? "+" : "-");
    else
        put(p, " %.15g\n", value);
}

/* The first enabled price provider's price for the slot holding now_ms; NAN when none. */
static double price_now(struct http_state *state, int64_t now_ms, char currency[4])
{
    const struct balkon_config *config = state->ctx->config;
    for (size_t i = 0; i < config->providers.count; i++) {
        const struct balkon_provider_config *pc = &config->providers.items[i];
        const struct balkon_provider *provider = balkon_provider_find(pc->type);
        if (!pc->enabled || !provider || provider->kind != PROVIDER_KIND_PRICE)
            continue;
        struct balkon_price_slot *slots = NULL;
        size_t count = 0;
        double price = NAN;
        if (balkon_store_prices_get(state->ctx->store, pc->id, now_ms - 2 * 3600 * 1000, now_ms + 1,
                                    &slots, &count, currency) == 0)
            for (size_t j = 0; j < count; j++)
                if (now_ms >= slots[j].slot_ts_ms &&
                    now_ms < slots[j].slot_ts_ms + (int64_t)slots[j].slot_s * 1000)
                    price = slots[j].price_per_kwh;
        free(slots);
        return price;
    }
    return NAN;
}

static double resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size_pages = 0, resident_pages = 0;
    int n = f ? fscanf(f, "%lu %lu", &size_pages, &resident_pages) : 0;
    if (f)
        fclose(f);
    return n == 2 ? (double)resident_pages * (double)sysconf(_SC_PAGESIZE) : NAN;
}

static void site_metrics(struct prom *p, struct http_state *state)
{
    static const struct {
        const char *name, *help;
        size_t offset;
    } powers[] = {
        {"balkonsolar_pv_power_watts", "PV power, averaged over the last sample interval.",
         offsetof(struct ev_site_status, pv_w)},
        {"balkonsolar_home_power_watts", "Household consumption.",
         offsetof(struct ev_site_status, home_w)},
        {"balkonsolar_grid_power_watts", "Grid power: positive imports, negative exports.",
         offsetof(struct ev_site_status, grid_w)},
        {"balkonsolar_battery_power_watts", "Battery power: positive discharges, negative charges.",
         offsetof(struct ev_site_status, battery_w)},
    };
    for (size_t i = 0; i < sizeof powers / sizeof powers[0]; i++) {
        family(p, powers[i].name, "gauge", powers[i].help);
        double value = *(const double *)((const char *)&state->status + powers[i].offset);
        if (state->have_status && isfinite(value))
            sample(p, powers[i].name, value, NULL);
    }
    family(p, "balkonsolar_battery_soc_percent", "gauge", "Battery state of charge.");
    if (state->have_status && isfinite(state->status.soc_pct))
        sample(p, "balkonsolar_battery_soc_percent", state->status.soc_pct, NULL);
    char currency[4] = "";
    double price = price_now(state, balkon_clock_now_ms(&state->ctx->clock), currency);
    family(
        p, "balkonsolar_price_per_kwh", "gauge",
        "The consumer price of grid energy now (all-in), in the currency of the label, per kWh.");
    if (isfinite(price))
        sample(p, "balkonsolar_price_per_kwh", price, "currency", currency[0] ? currency : "EUR",
               NULL);
}

static void counter_metrics(struct prom *p, struct http_state *state,
                            const struct balkon_metrics_snapshot *m, bool have)
{
    family(p, "balkonsolar_energy_kwh_total", "counter",
           "Energy since the daemon started, by flow (each flow only grows).");
    const struct {
        const char *flow;
        double wh;
    } flows[] = {
        {"pv", m->pv_wh},
        {"home", m->home_wh},
        {"grid_import", m->grid_import_wh},
        {"grid_export", m->grid_export_wh},
        {"battery_charge", m->battery_charge_wh},
        {"battery_discharge", m->battery_discharge_wh},
    };
    for (size_t i = 0; have && i < sizeof flows / sizeof flows[0]; i++)
        sample(p, "balkonsolar_energy_kwh_total", flows[i].wh / 1000.0, "flow", flows[i].flow,
               NULL);

    family(p, "balkonsolar_device_online", "gauge",
           "1 when the device answers, 0 when it is offline.");
    for (size_t i = 0; i < state->device_count; i++)
        sample(p, "balkonsolar_device_online", state->devices[i].online ? 1 : 0, "device",
               state->devices[i].device_id, "type", state->devices[i].type, NULL);
    family(p, "balkonsolar_device_read_errors_total", "counter",
           "Failed reads or unreachable devices (each reported error) since the daemon started.");
    for (size_t i = 0; i < state->device_count; i++) {
        double errors = 0;
        for (size_t j = 0; have && j < m->device_count; j++)
            if (strcmp(m->devices[j].device_id, state->devices[i].device_id) == 0)
                errors = (double)m->devices[j].errors;
        sample(p, "balkonsolar_device_read_errors_total", errors, "device",
               state->devices[i].device_id, NULL);
    }
    for (size_t j = 0; have && j < m->device_count; j++) { /* errors of devices never read */
        bool listed = false;
        for (size_t i = 0; i < state->device_count && !listed; i++)
            listed = strcmp(m->devices[j].device_id, state->devices[i].device_id) == 0;
        if (!listed)
            sample(p, "balkonsolar_device_read_errors_total", (double)m->devices[j].errors,
                   "device", m->devices[j].device_id, NULL);
    }

    family(p, "balkonsolar_provider_runs_total", "counter",
           "Fetches a provider made since the daemon started.");
    for (size_t j = 0; have && j < m->provider_count; j++)
        sample(p, "balkonsolar_provider_runs_total", (double)m->providers[j].runs, "provider",
               m->providers[j].provider, NULL);
    family(p, "balkonsolar_provider_fetch_errors_total", "counter",
           "Failed fetches of a provider since the daemon started.");
    for (size_t j = 0; have && j < m->provider_count; j++)
        sample(p, "balkonsolar_provider_fetch_errors_total", (double)m->providers[j].failures,
               "provider", m->providers[j].provider, NULL);
    family(p, "balkonsolar_provider_consecutive_failures", "gauge",
           "Failed fetches in a row (0 after a success).");
    for (size_t i = 0; i < state->provider_count; i++)
        sample(p, "balkonsolar_provider_consecutive_failures",
               state->providers[i].consecutive_failures, "provider", state->providers[i].provider,
               "kind", state->providers[i].kind, NULL);

    family(p, "balkonsolar_commands_total", "counter",
           "Device commands by result since the daemon started.");
    if (have) {
        sample(p, "balkonsolar_commands_total", (double)m->commands_ok, "result", "ok", NULL);
        sample(p, "balkonsolar_commands_total", (double)m->commands_failed, "result", "failed",
               NULL);
    }
}

static void process_metrics(struct prom *p, struct http_state *state,
                            const struct balkon_metrics_snapshot *m, bool have)
{
    family(p, "balkonsolar_sse_clients", "gauge", "Open GET /api/v1/events streams.");
    sample(p, "balkonsolar_sse_clients", (double)http_events_client_count(state->events), NULL);
    family(p, "balkonsolar_loop_lag_seconds", "histogram",
           "How late a 100 ms timer fires on the event loop: time the loop was busy elsewhere.");
    if (have) {
        static const double bounds_ms[] = BALKON_METRICS_LAG_BOUNDS_MS;
        uint64_t cumulative = 0;
        for (size_t i = 0; i < BALKON_METRICS_LAG_BUCKETS; i++) {
            cumulative += m->loop_lag_buckets[i];
            char le[16];
            if (i < sizeof bounds_ms / sizeof *bounds_ms)
                snprintf(le, sizeof le, "%g", bounds_ms[i] / 1000.0);
            else
                snprintf(le, sizeof le, "+Inf");
            sample(p, "balkonsolar_loop_lag_seconds_bucket", (double)cumulative, "le", le, NULL);
        }
        sample(p, "balkonsolar_loop_lag_seconds_sum", m->loop_lag_sum_ms / 1000.0, NULL);
        sample(p, "balkonsolar_loop_lag_seconds_count", (double)m->loop_lag_count, NULL);
    }
    family(p, "balkonsolar_loop_lag_last_seconds", "gauge",
           "The loop lag at the latest measurement.");
    if (have)
        sample(p, "balkonsolar_loop_lag_last_seconds", m->loop_lag_ms / 1000.0, NULL);
    family(p, "balkonsolar_loop_lag_max_seconds", "gauge",
           "The largest loop lag since the daemon started.");
    if (have)
        sample(p, "balkonsolar_loop_lag_max_seconds", m->loop_lag_max_ms / 1000.0, NULL);
    family(p, "balkonsolar_process_resident_memory_bytes", "gauge",
           "Resident memory of the daemon.");
    double rss = resident_bytes();
    if (isfinite(rss))
        sample(p, "balkonsolar_process_resident_memory_bytes", rss, NULL);
    family(p, "balkonsolar_uptime_seconds", "gauge",
           "Seconds since the daemon started (wall clock).");
    sample(p, "balkonsolar_uptime_seconds",
           (double)(balkon_wall_now_ms() - state->ctx->started_ms) / 1000.0, NULL);
    family(p, "balkonsolar_build_info", "gauge", "Always 1; the version is the label.");
    sample(p, "balkonsolar_build_info", 1, "version", BALKON_VERSION, NULL);
}

void api_metrics_get(struct http_state *state, const struct http_request *request,
                     struct http_response *response)
{
    const struct balkon_services *services = state->ctx->services;
    struct balkon_metrics_snapshot counters = {0};
    /* Large (the devices' and providers' counters): not on the loop's stack. */
    struct balkon_metrics_snapshot *reply = malloc(sizeof *reply);
    bool have = reply && services->metrics.self;
    if (have)
        services->metrics.read(services->metrics.self, reply);
    struct prom p = {0};
    site_metrics(&p, state);
    counter_metrics(&p, state, have ? reply : &counters, have);
    process_metrics(&p, state, have ? reply : &counters, have);
    free(reply);
    if (p.failed || !p.text) {
        free(p.text);
        http_reply_error(response, 500, "out of memory");
        return;
    }
    response->status = 200;
    response->content_type = "text/plain; version=0.0.4; charset=utf-8";
    response->body = p.text;
    response->body_size = p.len;
    response->body_static = false;
    response->cache_control = "no-store";
}
