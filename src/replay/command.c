/* `balkonsolard simulate`: the sizing advisor. Replays days of the simulator or of a
 * daemon's database through every strategy with a battery of the given size and prints
 * energy and money per strategy, as a table or as CSV (docs/replay.md). */
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
        "      --battery-wh X     usable battery capacity, 0 to %.0f (default: "
        "battery.capacity_wh)\n"
        "      --strategy NAME    no_battery, self_consumption, optimal, fixed_schedule,\n"
        "                         perfect_foresight or all (default all; no_battery always runs)\n"
        "      --db FILE          replay the measurements and prices in a daemon's database\n"
        "                         instead of the simulator\n"
        "      --csv              one CSV row per strategy instead of the table\n"
        "  -h, --help             this text\n",
        MAX_DAYS, MAX_BATTERY_WH);
}

struct options {
    const char *config_path;
    const char *db_path;
    const char *from_text;
    const char *strategy;
    int days;
    double battery_wh; /* NAN: the config's */
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

static int parse_options(int argc, char **argv, struct options *o)
{
    enum { OPT_DAYS = 256, OPT_FROM, OPT_BATTERY, OPT_STRATEGY, OPT_DB, OPT_CSV };
    static const struct option long_options[] = {
        {"config", required_argument, NULL, 'c'},
        {"days", required_argument, NULL, OPT_DAYS},
        {"from", required_argument, NULL, OPT_FROM},
        {"battery-wh", required_argument, NULL, OPT_BATTERY},
        {"strategy", required_argument, NULL, OPT_STRATEGY},
        {"db", required_argument, NULL, OPT_DB},
        {"csv", no_argument, NULL, OPT_CSV},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (struct options){.days = 365, .battery_wh = NAN, .strategy = "all"};
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
        case OPT_BATTERY:
            o->battery_wh = strtod(optarg, &end);
            if (end == optarg || *end || !isfinite(o->battery_wh) || o->battery_wh < 0 ||
                o->battery_wh > MAX_BATTERY_WH)
                return bad("--battery-wh: must be a number of Wh from 0 to %.0f, got \"%s\"",
                           MAX_BATTERY_WH, optarg);
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

static void print_csv(const struct replay_data *data, const struct balkon_replay_report *r,
                      double battery_wh)
{
    char from[16];
    replay_format_day(data->from_ms, from, sizeof from);
    printf(
        "strategy,cost,saved,energy_cost,wear_cost,stored_value,import_kwh,export_kwh,pv_used_kwh,"
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
    printf("  battery:   %.0f Wh usable (%g to %g %%), %s-coupled, %g W charge, %g W discharge, "
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

/* Everything after the options: config, data, replay, report. */
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
        .battery_wh = isnan(o->battery_wh) ? config.battery.capacity_wh : o->battery_wh,
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
    replay_battery_from_config(&config, request.battery_wh, &params.battery);
    params.soc_step_wh = config.optimizer.soc_step_wh;
    params.terminal_value_per_kwh = config.optimizer.terminal_value_per_kwh;
    params.windows = windows;
    params.window_count = balkon_windows_from_config(&config, windows);
    params.horizon_slots = request.horizon_slots;
    params.history_days = config.optimizer.history_days;
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

    struct replay_data data = {0};
    struct replay_climatology climatology = {0};
    struct balkon_replay_report report;
    char msg[512] = "";
    int exit_code = 1;
    int err = o->db_path ? replay_source_db(&request, &data, msg, sizeof msg)
                         : replay_source_sim(&request, &data, msg, sizeof msg);
    if (err) {
        exit_code = err == BALKON_E_INVAL ? 2 : 1;
        goto done;
    }
    if (!o->db_path) {
        if (replay_climatology_init(&climatology, &config, &data, request.horizon_slots) < 0) {
            snprintf(msg, sizeof msg, "out of memory");
            goto done;
        }
        params.pv_forecast = replay_climatology_forecast;
        params.pv_forecast_user = &climatology;
    }
    if ((err = balkon_replay_run(&data.series, &params, &report, msg, sizeof msg)) < 0)
        goto done;
    if (report.slots == 0) {
        snprintf(msg, sizeof msg, "no slot with measured load and PV in the range");
        goto done;
    }
    if (o->csv)
        print_csv(&data, &report, request.battery_wh);
    else
        print_table(&config, &data, &params, &report);
    exit_code = 0;
done:
    if (exit_code)
        fprintf(stderr, "balkonsolard simulate: %s\n", msg);
    replay_climatology_free(&climatology);
    replay_data_free(&data);
    return exit_code;
}

int balkon_replay_main(int argc, char **argv)
{
    struct options o;
    int rc = parse_options(argc, argv, &o);
    return rc >= 0 ? rc : run(&o);
}
