/* `balkonsolard simulate`: the sizing advisor. Replays days of the simulator or of a
 * daemon's database through every strategy with a battery of the given size and prints
 * energy and money per strategy, as a table or as CSV (docs/replay.md). Given several sizes
 * (`--battery-wh 0,1000,2000` or `--battery-wh 0:5000:1000`) it replays each size exactly
 * as a single run would and prints the saving and payback per size. */
#include "replay_internal.h"

#include "balkon/config.h"
#include "balkon/error.h"
#include "balkon/plan_config.h"
#include "balkon/timeutil.h"

#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_DAYS 3660
#define MAX_BATTERY_WH 100000.0
#define MAX_SIZES 32

static void usage(FILE *out)
{
    fprintf(
        out,
        "Usage: balkonsolard simulate --config FILE [options]\n"
        "\n"
        "Replays days at full speed with a battery of a given size and prints, per strategy,\n"
        "energy and money: what would that battery have saved? See docs/replay.md.\n"
        "\n"
        "  -c, --config FILE      configuration (site, PV, battery, tariff, optimizer)\n"
        "      --days N           days to replay, 1 to %d (default 365)\n"
        "      --from YYYY-MM-DD  first local day (default: the N days before today; with\n"
        "                         --db the last N days in the database)\n"
        "      --battery-wh X     battery capacity (the SoC bounds still apply), 0 to %.0f "
        "(default: "
        "battery.capacity_wh);\n"
        "                         several sizes (a sweep): X,Y,Z or FROM:TO:STEP, up to %d\n"
        "      --price-per-kwh P  what a kWh of battery costs, for the sweep's payback (default:\n"
        "                         investment.battery_price / battery.capacity_wh)\n"
        "      --strategy NAME    no_battery, self_consumption, optimal, fixed_schedule,\n"
        "                         perfect_foresight or all (default all; no_battery always runs)\n"
        "      --db FILE          replay the measurements and prices in a daemon's database\n"
        "                         instead of the simulator\n"
        "      --csv              one CSV row per strategy instead of the table\n"
        "  -h, --help             this text\n",
        MAX_DAYS, MAX_BATTERY_WH, MAX_SIZES);
}

struct options {
    const char *config_path;
    const char *db_path;
    const char *from_text;
    const char *strategy;
    int days;
    double battery_wh[MAX_SIZES]; /* [0] NAN: the config's */
    size_t size_count;            /* > 1: a sweep */
    double price_per_kwh;         /* NAN: from investment.battery_price */
    bool csv;
};

/* Reports a problem with the options or the config; returns the exit code 2. */
static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "balkonsolard simulate: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 2;
}

/* One size: a number of Wh from 0 to MAX_BATTERY_WH, the whole text up to `stop`. */
static bool parse_size(const char *text, const char *stop, double *out)
{
    char *end = NULL;
    *out = strtod(text, &end);
    return end != text && end == stop && isfinite(*out) && *out >= 0 && *out <= MAX_BATTERY_WH;
}

/* "X", "X,Y,Z" or "FROM:TO:STEP" (FROM, FROM+STEP, ... up to TO inclusive) into sizes_wh.
 * Returns NULL or what is wrong. */
static const char *parse_sizes(const char *text, double *sizes_wh, size_t *count)
{
    static const char *const range = "must be a number of Wh from 0 to 100000";
    _Static_assert(MAX_BATTERY_WH == 100000.0 && MAX_SIZES == 32, "the messages name the bounds");
    if (strchr(text, ':')) {
        const char *c1 = strchr(text, ':'), *c2 = strchr(c1 + 1, ':');
        double from, to, step;
        if (!c2 || !parse_size(text, c1, &from) || !parse_size(c1 + 1, c2, &to) ||
            !parse_size(c2 + 1, c2 + 1 + strlen(c2 + 1), &step) || step <= 0 || to < from)
            return "a sweep must be FROM:TO:STEP in Wh with FROM <= TO and STEP > 0";
        double n = floor((to - from) / step + 1e-9) + 1;
        if (n > MAX_SIZES)
            return "a sweep may have at most 32 sizes";
        *count = (size_t)n;
        for (size_t i = 0; i < *count; i++)
            sizes_wh[i] = from + step * (double)i;
        return NULL;
    }
    size_t n = 0;
    for (const char *p = text;; n++) {
        const char *comma = strchr(p, ',');
        const char *stop = comma ? comma : p + strlen(p);
        if (n == MAX_SIZES)
            return "a sweep may have at most 32 sizes";
        if (!parse_size(p, stop, &sizes_wh[n]))
            return range;
        if (!comma)
            break;
        p = comma + 1;
    }
    *count = n + 1;
    return NULL;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    enum { OPT_DAYS = 256, OPT_FROM, OPT_BATTERY, OPT_PRICE, OPT_STRATEGY, OPT_DB, OPT_CSV };
    static const struct option long_options[] = {
        {"config", required_argument, NULL, 'c'},
        {"days", required_argument, NULL, OPT_DAYS},
        {"from", required_argument, NULL, OPT_FROM},
        {"battery-wh", required_argument, NULL, OPT_BATTERY},
        {"price-per-kwh", required_argument, NULL, OPT_PRICE},
        {"strategy", required_argument, NULL, OPT_STRATEGY},
        {"db", required_argument, NULL, OPT_DB},
        {"csv", no_argument, NULL, OPT_CSV},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (struct options){
        .days = 365, .battery_wh = {NAN}, .size_count = 1, .price_per_kwh = NAN, .strategy = "all"};
    opterr = 0;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, ":c:h", long_options, NULL)) != -1) {
        char *end = NULL;
        switch (opt) {
        case 'c':
            o->config_path = optarg;
            break;
        case OPT_DAYS: {
            long days = strtol(optarg, &end, 10);
            if (end == optarg || *end || days < 1 || days > MAX_DAYS)
                return bad("--days: must be a whole number from 1 to %d, got \"%s\"", MAX_DAYS,
                           optarg);
            o->days = (int)days;
            break;
        }
        case OPT_FROM:
            o->from_text = optarg;
            break;
        case OPT_BATTERY: {
            const char *problem = parse_sizes(optarg, o->battery_wh, &o->size_count);
            if (problem)
                return bad("--battery-wh: %s, got \"%s\"", problem, optarg);
            break;
        }
        case OPT_PRICE:
            o->price_per_kwh = strtod(optarg, &end);
            if (end == optarg || *end || !isfinite(o->price_per_kwh) || o->price_per_kwh < 0)
                return bad("--price-per-kwh: must be a number of at least 0, got \"%s\"", optarg);
            break;
        case OPT_STRATEGY: {
            enum balkon_replay_strategy s;
            if (strcmp(optarg, "all") != 0 && (balkon_replay_strategy_parse(optarg, &s) < 0 ||
                                               s == BALKON_REPLAY_OPTIMAL_AS_PLANNED))
                return bad(
                    "--strategy: must be no_battery, self_consumption, optimal, fixed_schedule, "
                    "perfect_foresight or all, got \"%s\"",
                    optarg);
            o->strategy = optarg;
            break;
        }
        case OPT_DB:
            o->db_path = optarg;
            break;
        case OPT_CSV:
            o->csv = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            return bad("%s: needs a value", argv[optind - 1]);
        default:
            return bad("unknown option \"%s\" (see balkonsolard simulate --help)",
                       argv[optind - 1]);
        }
    }
    if (optind < argc)
        return bad("unexpected argument \"%s\"", argv[optind]);
    if (!o->config_path)
        return bad("--config: a configuration file is required (try --config config/demo.json)");
    return -1; /* go on */
}

/* Local midnight of "YYYY-MM-DD" in the process's time zone; INT64_MIN if malformed. */
static int64_t parse_day(const char *text)
{
    int y, m, d;
    char tail;
    if (strlen(text) != 10 || sscanf(text, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 ||
        text[4] != '-' || text[7] != '-' || y < 1971 || y > 2200)
        return INT64_MIN;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_isdst = -1};
    time_t t = mktime(&tm);
    if (t == (time_t)-1 || tm.tm_year != y - 1900 || tm.tm_mon != m - 1 || tm.tm_mday != d)
        return INT64_MIN;
    return balkon_local_midnight_ms((int64_t)t * 1000, 0);
}

static const enum balkon_replay_strategy ORDER[] = {
    BALKON_REPLAY_NO_BATTERY,     BALKON_REPLAY_SELF_CONSUMPTION,  BALKON_REPLAY_OPTIMAL,
    BALKON_REPLAY_FIXED_SCHEDULE, BALKON_REPLAY_PERFECT_FORESIGHT,
};
#define ORDER_COUNT (sizeof ORDER / sizeof ORDER[0])

/* Net cost: energy and wear, less the value of the energy gained in the battery. */
static double cost_of(const struct balkon_replay_tally *t)
{
    return t->totals.objective;
}

/* The CSV rows of one replay; a sweep prints the header once and the rows of each size. */
static void print_csv(const struct replay_data *data, const struct balkon_replay_report *r,
                      double battery_wh, bool header)
{
    char from[16];
    replay_format_day(data->from_ms, from, sizeof from);
    if (header)
        printf("strategy,cost,saved,energy_cost,wear_cost,stored_value,import_kwh,export_kwh,pv_"
               "used_kwh,"
               "pv_curtailed_kwh,charge_kwh,discharge_kwh,throughput_kwh,soc_start_wh,soc_end_wh,"
               "load_kwh,pv_kwh,plans,fallbacks,currency,from,days,slots,battery_wh\n");
    double none = cost_of(&r->tally[BALKON_REPLAY_NO_BATTERY]);
    for (size_t i = 0; i < ORDER_COUNT; i++) {
        const struct balkon_replay_tally *t = &r->tally[ORDER[i]];
        const struct balkon_opt_totals *x = &t->totals;
        if (!t->ran)
            continue;
        printf("%s,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.1f,%.1f,%.4f,%.4f,"
               "%zu,"
               "%zu,%s,%s,%d,%zu,%.0f\n",
               balkon_replay_strategy_name(ORDER[i]), cost_of(t), none - cost_of(t), x->energy_cost,
               x->wear_cost, x->stored_value, x->import_wh / 1000, x->export_wh / 1000,
               x->pv_used_wh / 1000, x->pv_curtailed_wh / 1000, x->charge_wh / 1000,
               x->discharge_wh / 1000, x->throughput_wh / 1000, t->soc_start_wh, x->soc_end_wh,
               r->load_wh / 1000, r->pv_wh / 1000, t->plans, t->fallbacks, data->currency, from,
               data->days, r->slots, battery_wh);
    }
}

static void print_table(const struct balkon_config *config, const struct replay_data *data,
                        const struct balkon_replay_params *params,
                        const struct balkon_replay_report *r)
{
    const struct balkon_opt_battery *b = &params->battery;
    const char *cur = data->currency;
    char from[16], to[16];
    replay_format_day(data->from_ms, from, sizeof from);
    replay_format_day(balkon_local_midnight_ms(data->to_ms, -1), to, sizeof to);
    printf("Replay of %d day%s, %s to %s (%s): %zu slots of 15 minutes", data->days,
           data->days == 1 ? "" : "s", from, to,
           config->site.timezone[0] ? config->site.timezone : "local time", r->slots);
    if (r->gaps)
        printf(", %zu without data skipped", r->gaps);
    printf("\n  data:      %s\n", data->source);
    printf("             load %.1f kWh, PV potential %.1f kWh\n", r->load_wh / 1000,
           r->pv_wh / 1000);
    printf("  prices:    %s\n             %.3f to %.3f %s/kWh (mean %.3f), feed-in %.3f %s/kWh\n",
           data->prices, r->price_min, r->price_max, cur, r->price_mean,
           config->tariff.feed_in_per_kwh, cur);
    printf("  battery:   %.0f Wh, used from %g to %g %%, %s-coupled, %g W charge, %g W discharge, "
           "efficiency %g %% / %g %%, grid charging %s\n",
           b->capacity_wh, b->soc_min_pct, b->soc_max_pct,
           b->coupling == BALKON_OPT_COUPLING_DC ? "DC" : "AC", b->max_charge_w, b->max_discharge_w,
           b->charge_efficiency * 100, b->discharge_efficiency * 100,
           b->allow_grid_charge ? "allowed" : "not allowed");
    if (params->strategies & (BALKON_REPLAY_BIT(BALKON_REPLAY_OPTIMAL) |
                              BALKON_REPLAY_BIT(BALKON_REPLAY_PERFECT_FORESIGHT)))
        printf(
            "  forecasts: load from the %g days before each decision (error at the slot decided: "
            "MAE %.0f W, bias %+.0f W)\n             PV %s (MAE %.0f W)\n",
            params->history_days, r->load_mae_w, r->load_bias_w, data->pv_forecast, r->pv_mae_w);

    const struct balkon_replay_tally *none = &r->tally[BALKON_REPLAY_NO_BATTERY];
    const struct balkon_replay_tally *best = &r->tally[BALKON_REPLAY_PERFECT_FORESIGHT];
    double best_saved = best->ran ? cost_of(none) - cost_of(best) : 0.0;
    printf("\n%-18s %10s %10s %7s | %9s %9s %9s %9s %9s %10s | %8s\n", "strategy", "cost", "saved",
           "of best", "import", "export", "PV used", "charged", "dischrgd", "throughput",
           "SoC end");
    printf("%-18s %10s %10s %7s | %9s %9s %9s %9s %9s %10s | %8s\n", "", cur, cur, "", "kWh", "kWh",
           "kWh", "kWh", "kWh", "kWh", "Wh");
    for (size_t i = 0; i < ORDER_COUNT; i++) {
        const struct balkon_replay_tally *t = &r->tally[ORDER[i]];
        const struct balkon_opt_totals *x = &t->totals;
        if (!t->ran)
            continue;
        char saved[16] = "-", share[16] = "-";
        if (ORDER[i] != BALKON_REPLAY_NO_BATTERY) {
            snprintf(saved, sizeof saved, "%.2f", cost_of(none) - cost_of(t));
            if (best->ran && best_saved > 0.005)
                snprintf(share, sizeof share, "%.0f %%",
                         100 * (cost_of(none) - cost_of(t)) / best_saved);
        }
        printf("%-18s %10.2f %10s %7s | %9.1f %9.1f %9.1f %9.1f %9.1f %10.1f | %8.0f\n",
               balkon_replay_strategy_name(ORDER[i]), cost_of(t), saved, share, x->import_wh / 1000,
               x->export_wh / 1000, x->pv_used_wh / 1000, x->charge_wh / 1000,
               x->discharge_wh / 1000, x->throughput_wh / 1000, x->soc_end_wh);
    }
    printf("\ncost = import x price - export x feed-in + wear (%.3f %s per kWh into or out of the\n"
           "cells) - what the energy gained in the battery by the end is worth",
           b->wear_cost_per_kwh, cur);
    if (r->end_credit_slots)
        printf(" (what it saves in the\noptimal plan of the %.0f h after the range)",
               r->end_credit_slots / 4.0);
    else
        printf(" (%.3f %s/kWh)", r->end_value_per_kwh, cur);
    printf("; every battery starts at its\nlower SoC bound; saved = against no_battery; of best = "
           "share of perfect_foresight's saving.\n");
    for (size_t i = 0; i < ORDER_COUNT; i++) {
        const struct balkon_replay_tally *t = &r->tally[ORDER[i]];
        if (t->ran && t->plans)
            printf("%s: %zu plans, %.2f ms each, %zu fell back to self-consumption\n",
                   balkon_replay_strategy_name(ORDER[i]), t->plans,
                   1e3 * t->plan_s / (double)t->plans, t->fallbacks);
    }
    printf("replayed in %.1f s\n", r->elapsed_s);
}

/* One replay with a battery of request->battery_wh: the data loaded afresh, as a single run
 * loads it, so that a sweep's figures are those of single runs. Fills data (the caller frees
 * it) and report. Returns 0, or the exit code with msg set. */
static int replay_one(const struct options *o, const struct balkon_config *config,
                      const struct replay_request *request, struct balkon_replay_params *params,
                      struct replay_data *data, struct balkon_replay_report *report, char *msg,
                      size_t msg_size)
{
    struct replay_climatology climatology = {0};
    int exit_code = 1;
    replay_battery_from_config(config, request->battery_wh, &params->battery);
    params->pv_forecast = NULL;
    params->pv_forecast_user = NULL;
    int err = o->db_path ? replay_source_db(request, data, msg, msg_size)
                         : replay_source_sim(request, data, msg, msg_size);
    if (err) {
        exit_code = err == BALKON_E_INVAL ? 2 : 1;
        goto done;
    }
    if (!o->db_path) {
        if (replay_climatology_init(&climatology, config, data, request->horizon_slots) < 0) {
            snprintf(msg, msg_size, "out of memory");
            goto done;
        }
        params->pv_forecast = replay_climatology_forecast;
        params->pv_forecast_user = &climatology;
    }
    if (balkon_replay_run(&data->series, params, report, msg, msg_size) < 0)
        goto done;
    if (report->slots == 0) {
        snprintf(msg, msg_size, "no slot with measured load and PV in the range");
        goto done;
    }
    exit_code = 0;
done:
    params->pv_forecast = NULL;
    params->pv_forecast_user = NULL;
    replay_climatology_free(&climatology);
    return exit_code;
}

/* The strategy a sweep's payback is reckoned on: optimal (what the daemon runs) when it ran,
 * else the first battery strategy that ran. */
static enum balkon_replay_strategy payback_strategy(unsigned strategies)
{
    if (strategies & BALKON_REPLAY_BIT(BALKON_REPLAY_OPTIMAL))
        return BALKON_REPLAY_OPTIMAL;
    for (size_t i = 1; i < ORDER_COUNT; i++)
        if (strategies & BALKON_REPLAY_BIT(ORDER[i]))
            return ORDER[i];
    return BALKON_REPLAY_NO_BATTERY;
}

/* The sweep's table: per size, each battery strategy's saving, the payback strategy's
 * saving per year, the battery's price and the years until that saving repays it. */
static void print_sweep(const struct balkon_config *config, const struct replay_data *data,
                        const struct balkon_replay_params *params, const double *sizes_wh,
                        const struct balkon_replay_report *reports, size_t count,
                        double price_per_kwh)
{
    const char *cur = data->currency;
    enum balkon_replay_strategy basis = payback_strategy(params->strategies);
    char from[16], to[16];
    replay_format_day(data->from_ms, from, sizeof from);
    replay_format_day(balkon_local_midnight_ms(data->to_ms, -1), to, sizeof to);
    printf("Sizing sweep of %d day%s, %s to %s (%s): %zu slots of 15 minutes", data->days,
           data->days == 1 ? "" : "s", from, to,
           config->site.timezone[0] ? config->site.timezone : "local time", reports[0].slots);
    if (reports[0].gaps)
        printf(", %zu without data skipped", reports[0].gaps);
    printf("\n  data:      %s\n             load %.1f kWh, PV potential %.1f kWh\n", data->source,
           reports[0].load_wh / 1000, reports[0].pv_wh / 1000);
    printf("  prices:    %s\n", data->prices);
    if (isnan(price_per_kwh))
        printf("  payback:   no battery price (set investment.battery_price or --price-per-kwh)\n");
    else
        printf("  payback:   battery at %.2f %s per kWh of capacity, on %s's saving per year\n",
               price_per_kwh, cur, balkon_replay_strategy_name(basis));

    printf("\n%10s", "battery");
    for (size_t i = 1; i < ORDER_COUNT; i++)
        if (params->strategies & BALKON_REPLAY_BIT(ORDER[i]))
            printf(" %18s", balkon_replay_strategy_name(ORDER[i]));
    printf(" | %10s %9s %8s\n%10s", "per year", "price", "payback", "Wh");
    for (size_t i = 1; i < ORDER_COUNT; i++)
        if (params->strategies & BALKON_REPLAY_BIT(ORDER[i]))
            printf(" %18s", "saved");
    printf(" | %10s %9s %8s\n", cur, cur, "years");
    for (size_t k = 0; k < count; k++) {
        const struct balkon_replay_report *r = &reports[k];
        double none = cost_of(&r->tally[BALKON_REPLAY_NO_BATTERY]);
        printf("%10.0f", sizes_wh[k]);
        for (size_t i = 1; i < ORDER_COUNT; i++)
            if (params->strategies & BALKON_REPLAY_BIT(ORDER[i]))
                printf(" %18.2f", none - cost_of(&r->tally[ORDER[i]]));
        double annual = (none - cost_of(&r->tally[basis])) / data->days * 365.0;
        char price[16] = "-", payback[16] = "-";
        if (!isnan(price_per_kwh)) {
            double p = price_per_kwh * sizes_wh[k] / 1000;
            snprintf(price, sizeof price, "%.0f", p);
            if (sizes_wh[k] > 0 && annual > 0.005)
                snprintf(payback, sizeof payback, "%.1f", p / annual);
            else if (sizes_wh[k] > 0)
                snprintf(payback, sizeof payback, "never");
        }
        printf(" | %10.2f %9s %8s\n", annual, price, payback);
    }
    printf("\nsaved = against no_battery over the replayed days (cost as in a single run; see\n"
           "docs/replay.md); per year = %s's saving scaled to 365 days; payback = price / per "
           "year.\n",
           balkon_replay_strategy_name(basis));
}

/* Everything after the options: config, data, replay(s), report. */
static int run(const struct options *o)
{
    static struct balkon_config config; /* large */
    struct balkon_config_errors errors;
    if (balkon_config_load(o->config_path, &config, &errors) < 0) {
        for (size_t i = 0; i < errors.count; i++)
            fprintf(stderr, "%s: %s\n", o->config_path, errors.items[i]);
        if (errors.dropped)
            fprintf(stderr, "%s: ... and %zu more problems\n", o->config_path, errors.dropped);
        return 2;
    }
    if (config.site.timezone[0]) {
        setenv("TZ", config.site.timezone, 1);
        tzset();
    }
    struct replay_request request = {
        .config = &config,
        .config_path = o->config_path,
        .db_path = o->db_path,
        .from_ms = INT64_MIN,
        .days = o->days,
    };
    if (o->from_text && (request.from_ms = parse_day(o->from_text)) == INT64_MIN)
        return bad("--from: must be a date YYYY-MM-DD, got \"%s\"", o->from_text);
    double horizon = floor(config.optimizer.horizon_h * 4);
    request.horizon_slots = horizon < 4                      ? 4
                            : horizon > BALKON_OPT_MAX_SLOTS ? BALKON_OPT_MAX_SLOTS
                                                             : (size_t)horizon;

    struct balkon_opt_window windows[BALKON_OPT_MAX_WINDOWS];
    struct balkon_replay_params params;
    balkon_replay_params_init(&params);
    params.soc_step_wh = config.optimizer.soc_step_wh;
    params.terminal_value_per_kwh = config.optimizer.terminal_value_per_kwh;
    params.windows = windows;
    params.window_count = balkon_windows_from_config(&config, windows);
    params.horizon_slots = request.horizon_slots;
    params.history_days = config.optimizer.history_days;
    params.scenario_after_h = config.optimizer.scenario_after_h;
    double peak_w = 0.0;
    for (size_t i = 0; i < config.pv.plane_count; i++)
        peak_w += config.pv.planes[i].peak_w;
    if (peak_w > 0.0)
        params.pv_error_floor_w = peak_w / 10.0;
    params.annual_kwh = config.household.annual_kwh;
    enum balkon_replay_strategy only;
    if (strcmp(o->strategy, "all") == 0) {
        params.strategies = BALKON_REPLAY_BIT(BALKON_REPLAY_SELF_CONSUMPTION) |
                            BALKON_REPLAY_BIT(BALKON_REPLAY_OPTIMAL) |
                            BALKON_REPLAY_BIT(BALKON_REPLAY_PERFECT_FORESIGHT);
        if (params.window_count)
            params.strategies |= BALKON_REPLAY_BIT(BALKON_REPLAY_FIXED_SCHEDULE);
    } else {
        balkon_replay_strategy_parse(o->strategy, &only);
        params.strategies = BALKON_REPLAY_BIT(only);
        if (only == BALKON_REPLAY_FIXED_SCHEDULE && !params.window_count)
            return bad("--strategy: fixed_schedule needs windows in optimizer.schedule of %s",
                       o->config_path);
    }

    double sizes_wh[MAX_SIZES];
    for (size_t k = 0; k < o->size_count; k++)
        sizes_wh[k] = isnan(o->battery_wh[k]) ? config.battery.capacity_wh : o->battery_wh[k];
    double price_per_kwh = o->price_per_kwh;
    if (isnan(price_per_kwh) && config.investment.battery_price > 0 &&
        config.battery.capacity_wh > 0)
        price_per_kwh = config.investment.battery_price / (config.battery.capacity_wh / 1000);

    static struct balkon_replay_report reports[MAX_SIZES];
    struct replay_data data = {0};
    char msg[512] = "";
    int exit_code = 0;
    for (size_t k = 0; k < o->size_count && exit_code == 0; k++) {
        replay_data_free(&data);
        data = (struct replay_data){0};
        request.battery_wh = sizes_wh[k];
        exit_code = replay_one(o, &config, &request, &params, &data, &reports[k], msg, sizeof msg);
        if (exit_code || (o->size_count > 1 && !o->csv))
            continue;
        if (o->csv)
            print_csv(&data, &reports[k], sizes_wh[k], k == 0);
        else
            print_table(&config, &data, &params, &reports[k]);
    }
    if (exit_code == 0 && o->size_count > 1 && !o->csv)
        print_sweep(&config, &data, &params, sizes_wh, reports, o->size_count, price_per_kwh);
    if (exit_code)
        fprintf(stderr, "balkonsolard simulate: %s\n", msg);
    replay_data_free(&data);
    return exit_code;
}

int balkon_replay_main(int argc, char **argv)
{
    struct options o;
    int rc = parse_options(argc, argv, &o);
    return rc >= 0 ? rc : run(&o);
}
