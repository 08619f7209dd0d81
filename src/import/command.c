/* `balkonsolard import`: reads CSV exports, turns them into 15-minute means or price slots,
 * checks them, and writes them into the daemon's database (docs/import.md). Every file is
 * read and checked before anything is written, so a bad row in the last file leaves the
 * database as it was. */
#include "import_internal.h"

#include "balkon/config.h"
#include "balkon/error.h"
#include "balkon/provider.h"
#include "balkon/store.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_FILE_BYTES (512L * 1024 * 1024)
#define MAX_FILES 32
#define GAPS_LISTED 10
#define DATES_LISTED 20
#define NIGHT_PV_W 5.0
#define SMARD_ZONE "Europe/Berlin"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: balkonsolard import --config FILE --format FORMAT [options] FILE...\n"
            "\n"
            "Loads CSV exports into the daemon's database, for `simulate --db` (docs/import.md).\n"
            "\n"
            "  -c, --config FILE        the daemon's configuration (database, time zone, price\n"
            "                           provider)\n"
            "      --db FILE            the database (default storage.path)\n"
            "      --format FORMAT      generic, ha (Home Assistant history), smard or\n"
            "                           energy-charts (day-ahead prices)\n"
            "      --map SRC=SERIES:UNIT  generic: a column, ha: an entity, into home_w or pv_w;\n"
            "                           UNIT W, kW, Wh, kWh (per row) or Wh-counter, kWh-counter\n"
            "      --time-column NAME   generic: the timestamp column (default the first)\n"
            "      --provider ID        prices: stored under this provider id (default the\n"
            "                           config's first price provider)\n"
            "      --price-column TEXT  prices: the column whose header contains TEXT\n"
            "      --add-per-kwh X      prices: charges added to the market price (default 0)\n"
            "      --vat-pct X          prices: VAT on market price plus charges (default 0)\n"
            "      --max-hold-h H       ha: longest a state holds, in hours (default 18)\n"
            "      --dry-run            read, check and report; write nothing\n"
            "  -h, --help               this text\n");
}

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("balkonsolard import: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

struct options {
    const char *config_path, *db_path, *time_column, *provider, *price_column;
    enum balkon_import_format format;
    bool format_set, dry_run;
    struct import_map maps[IMPORT_MAX_SERIES];
    size_t map_count;
    double add_per_kwh, vat_pct, max_hold_h;
};

static bool series_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 3 || n >= 64 || strcmp(s + n - 2, "_w") != 0)
        return false;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_' && *s != '.')
            return false;
    return true;
}

static int parse_map(const char *arg, struct import_map *m)
{
    const char *eq = strrchr(arg, '=');
    const char *colon = eq ? strchr(eq, ':') : NULL;
    if (!eq || !colon || eq == arg)
        return bad("--map: expected SOURCE=SERIES:UNIT (e.g. \"PV power=pv_w:W\"), got \"%s\"",
                   arg);
    snprintf(m->source, sizeof m->source, "%.*s", (int)(eq - arg), arg);
    snprintf(m->series, sizeof m->series, "%.*s", (int)(colon - eq - 1), eq + 1);
    if (!series_name_ok(m->series))
        return bad("--map \"%s\": the series must be a power in W named like home_w or pv_w, "
                   "got \"%s\"",
                   arg, m->series);
    static const struct {
        const char *unit;
        enum import_kind kind;
        double scale;
    } units[] = {{"W", IMPORT_POWER, 1},
                 {"kW", IMPORT_POWER, 1000},
                 {"Wh", IMPORT_ENERGY, 1},
                 {"kWh", IMPORT_ENERGY, 1000},
                 {"Wh-counter", IMPORT_COUNTER, 1},
                 {"kWh-counter", IMPORT_COUNTER, 1000}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(colon + 1, units[i].unit) == 0) {
            m->kind = units[i].kind;
            m->scale = units[i].scale;
            return 0;
        }
    return bad("--map \"%s\": unit must be W, kW, Wh, kWh, Wh-counter or kWh-counter, got \"%s\"",
               arg, colon + 1);
}

static int parse_number_opt(const char *name, const char *arg, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || !*arg || *end || !isfinite(v) || v < lo || v > hi)
        return bad("--%s: must be a number from %g to %g, got \"%s\"", name, lo, hi, arg);
    *out = v;
    return 0;
}

static int parse_options(int argc, char **argv, struct options *o, int *first_file)
{
    enum {
        OPT_DB = 256,
        OPT_FORMAT,
        OPT_MAP,
        OPT_TIME,
        OPT_PROVIDER,
        OPT_PRICE_COLUMN,
        OPT_ADD,
        OPT_VAT,
        OPT_HOLD,
        OPT_DRY
    };
    static const struct option long_options[] = {
        {"config", required_argument, NULL, 'c'},
        {"db", required_argument, NULL, OPT_DB},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"map", required_argument, NULL, OPT_MAP},
        {"time-column", required_argument, NULL, OPT_TIME},
        {"provider", required_argument, NULL, OPT_PROVIDER},
        {"price-column", required_argument, NULL, OPT_PRICE_COLUMN},
        {"add-per-kwh", required_argument, NULL, OPT_ADD},
        {"vat-pct", required_argument, NULL, OPT_VAT},
        {"max-hold-h", required_argument, NULL, OPT_HOLD},
        {"dry-run", no_argument, NULL, OPT_DRY},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->max_hold_h = 18;
    optind = 1;
    int opt, rc = 0;
    while ((opt = getopt_long(argc, argv, "c:h", long_options, NULL)) != -1 && !rc) {
        switch (opt) {
        case 'c':
            o->config_path = optarg;
            break;
        case OPT_DB:
            o->db_path = optarg;
            break;
        case OPT_FORMAT: {
            static const char *names[] = {"generic", "ha", "smard", "energy-charts"};
            o->format_set = false;
            for (int i = 0; i < 4; i++)
                if (strcmp(optarg, names[i]) == 0) {
                    o->format = (enum balkon_import_format)i;
                    o->format_set = true;
                }
            if (!o->format_set)
                rc = bad("--format: must be generic, ha, smard or energy-charts, got \"%s\"",
                         optarg);
            break;
        }
        case OPT_MAP:
            if (o->map_count == IMPORT_MAX_SERIES)
                rc = bad("--map: at most %d", IMPORT_MAX_SERIES);
            else if (!(rc = parse_map(optarg, &o->maps[o->map_count])))
                o->map_count++;
            break;
        case OPT_TIME:
            o->time_column = optarg;
            break;
        case OPT_PROVIDER:
            o->provider = optarg;
            break;
        case OPT_PRICE_COLUMN:
            o->price_column = optarg;
            break;
        case OPT_ADD:
            rc = parse_number_opt("add-per-kwh", optarg, -10, 10, &o->add_per_kwh);
            break;
        case OPT_VAT:
            rc = parse_number_opt("vat-pct", optarg, 0, 100, &o->vat_pct);
            break;
        case OPT_HOLD:
            rc = parse_number_opt("max-hold-h", optarg, 0.25, 168, &o->max_hold_h);
            break;
        case OPT_DRY:
            o->dry_run = true;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (rc)
        return rc;
    if (!o->config_path)
        return bad("--config FILE is required (the daemon's configuration)");
    if (!o->format_set)
        return bad("--format is required: generic, ha, smard or energy-charts");
    bool prices = o->format == BALKON_IMPORT_SMARD || o->format == BALKON_IMPORT_ENERGY_CHARTS;
    if (!prices && o->map_count == 0)
        return bad("--map SOURCE=SERIES:UNIT is required for --format %s",
                   o->format == BALKON_IMPORT_HA ? "ha" : "generic");
    if (prices && o->map_count)
        return bad("--map: not for price files (the price column is found by its header)");
    if (optind >= argc)
        return bad("no FILE to import");
    if (argc - optind > MAX_FILES)
        return bad("at most %d files at once", MAX_FILES);
    *first_file = optind;
    return 0;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        bad("%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    struct stat st;
    if (fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_FILE_BYTES) {
        bad("%s: not a regular file of at most %ld MB", path, MAX_FILE_BYTES >> 20);
    } else if (!(buf = malloc((size_t)st.st_size + 1))) {
        bad("%s: out of memory", path);
    } else if (fread(buf, 1, (size_t)st.st_size, fp) != (size_t)st.st_size) {
        bad("%s: %s", path, strerror(errno));
        free(buf);
        buf = NULL;
    } else {
        buf[st.st_size] = '\0';
        *len = (size_t)st.st_size;
    }
    fclose(fp);
    return buf;
}

static int by_value(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void format_local(int64_t ts_ms, char *out, size_t size)
{
    time_t t = (time_t)(ts_ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, size, "%Y-%m-%d %H:%M", &tm);
}

/* What is to be written: one entry per series of each file. */
struct pending {
    const char *file;
    char series[64];
    struct import_means means;        /* power series */
    struct balkon_price_slot *prices; /* price files */
    size_t price_count;
};

static void report_gaps(const struct import_gap *gaps, size_t count, const char *what)
{
    for (size_t g = 0; g < count && g < GAPS_LISTED; g++) {
        char a[32], b[32];
        format_local(gaps[g].from_ms, a, sizeof a);
        format_local(gaps[g].to_ms, b, sizeof b);
        printf("    gap: no %s from %s to %s (%lld slots)\n", what, a, b,
               (long long)((gaps[g].to_ms - gaps[g].from_ms) / IMPORT_SLOT_MS));
    }
    if (count > GAPS_LISTED)
        printf("    … and %zu more gaps\n", count - GAPS_LISTED);
}

static int prepare_power(const struct options *o, const struct import_file *file,
                         struct pending *out, size_t *n_out)
{
    for (size_t i = 0; i < file->series_count; i++) {
        const struct import_series *s = &file->series[i];
        struct pending *p = &out[(*n_out)++];
        p->file = file->name;
        snprintf(p->series, sizeof p->series, "%s", s->series);
        char msg[512];
        int err = import_means(s, (int64_t)(o->max_hold_h * 3600000), &p->means, msg, sizeof msg);
        if (err)
            return bad("%s: %s", file->name, msg);
        const struct import_means *m = &p->means;
        char a[32], b[32];
        format_local(m->first_ms, a, sizeof a);
        format_local(m->first_ms + (int64_t)m->count * IMPORT_SLOT_MS, b, sizeof b);
        printf("  %s from \"%s\": %zu of %zu slots of 15 minutes from %s to %s, %.1f kWh",
               s->series, s->source, m->filled, m->count, a, b, m->energy_wh / 1000);
        if (m->resets)
            printf(", %zu counter reset%s (first on line %zu)", m->resets, m->resets > 1 ? "s" : "",
                   m->first_reset_line);
        printf("\n");
        report_gaps(m->gaps, m->gap_count, "data");
        if (strcmp(s->series, "pv_w") == 0) {
            char dates[DATES_LISTED][11];
            size_t days = import_pv_suspect_days(m, NIGHT_PV_W, dates, DATES_LISTED);
            if (days) {
                char list[DATES_LISTED * 12 + 32] = "";
                for (size_t d = 0; d < days && d < DATES_LISTED; d++) {
                    strcat(list, d ? ", " : "");
                    strcat(list, dates[d]);
                }
                if (days > DATES_LISTED)
                    snprintf(list + strlen(list), 32, " and %zu more", days - DATES_LISTED);
                return bad("%s: \"%s\" into pv_w has PV at night (a mean above %g W between "
                           "00:00 and 03:00) or a constant value all day on %zu day%s: %s. An "
                           "outage filled in with a flat value? Nothing was imported",
                           file->name, s->source, NIGHT_PV_W, days, days > 1 ? "s" : "", list);
            }
        }
    }
    return 0;
}

static int prepare_prices(const struct options *o, const struct import_file *file,
                          struct pending *p)
{
    const struct import_series *s = &file->series[0];
    p->file = file->name;
    snprintf(p->series, sizeof p->series, "price");
    /* A SMARD row says its end; an Energy-Charts slot lasts until the next row, at most the
     * file's usual spacing (the last row: that spacing). */
    int64_t *spacing = calloc(s->count + 1, sizeof *spacing);
    p->prices = calloc(s->count ? s->count : 1, sizeof *p->prices);
    struct import_gap *gaps = calloc(s->count + 1, sizeof *gaps);
    if (!p->prices || !gaps || !spacing) {
        free(gaps);
        free(spacing);
        return bad("%s: out of memory", file->name);
    }
    size_t k = 0;
    for (size_t i = 1; i < s->count; i++)
        if (s->points[i].ts_ms > s->points[i - 1].ts_ms)
            spacing[k++] = s->points[i].ts_ms - s->points[i - 1].ts_ms;
    qsort(spacing, k, sizeof *spacing, by_value);
    int64_t usual_ms = k ? spacing[k / 2] : 3600000;
    free(spacing);
    int64_t shortest_ms = INT64_MAX, longest_ms = 0;
    size_t gap_count = 0;
    int64_t expect = INT64_MIN;
    for (size_t i = 0; i < s->count; i++) {
        const struct import_point *r = &s->points[i];
        if (r->ts_ms % IMPORT_SLOT_MS) {
            free(gaps);
            return bad("%s:%zu: the slot does not start on a quarter-hour", file->name, r->line);
        }
        if (expect != INT64_MIN && r->ts_ms < expect) {
            free(gaps);
            return bad("%s:%zu: the slot starts before the previous one ends", file->name, r->line);
        }
        if (expect != INT64_MIN && r->ts_ms > expect)
            gaps[gap_count++] = (struct import_gap){expect, r->ts_ms};
        int64_t slot_ms = r->span_ms;
        if (!slot_ms) {
            int64_t next = i + 1 < s->count ? s->points[i + 1].ts_ms - r->ts_ms : usual_ms;
            slot_ms = next < usual_ms ? next : usual_ms;
        }
        if (slot_ms <= 0 || slot_ms % IMPORT_SLOT_MS || slot_ms > 3600000) {
            free(gaps);
            return bad("%s:%zu: a slot of %lld minutes; expected 15 to 60, in quarter-hours",
                       file->name, r->line, (long long)(slot_ms / 60000));
        }
        shortest_ms = slot_ms < shortest_ms ? slot_ms : shortest_ms;
        longest_ms = slot_ms > longest_ms ? slot_ms : longest_ms;
        expect = r->ts_ms + slot_ms;
        if (r->missing) {
            if (gap_count && gaps[gap_count - 1].to_ms == r->ts_ms)
                gaps[gap_count - 1].to_ms = expect;
            else
                gaps[gap_count++] = (struct import_gap){r->ts_ms, expect};
            continue;
        }
        double market = r->value / 1000; /* EUR/MWh to EUR/kWh */
        p->prices[p->price_count++] = (struct balkon_price_slot){
            .slot_ts_ms = r->ts_ms,
            .slot_s = (int32_t)(slot_ms / 1000),
            .price_per_kwh = (market + o->add_per_kwh) * (1 + o->vat_pct / 100),
            .market_per_kwh = market};
    }
    double sum = 0;
    for (size_t i = 0; i < p->price_count; i++)
        sum += p->prices[i].market_per_kwh;
    char a[32] = "-", b[32] = "-", len[48];
    if (p->price_count) {
        const struct balkon_price_slot *last = &p->prices[p->price_count - 1];
        format_local(p->prices[0].slot_ts_ms, a, sizeof a);
        format_local(last->slot_ts_ms + (int64_t)last->slot_s * 1000, b, sizeof b);
    }
    if (shortest_ms == longest_ms)
        snprintf(len, sizeof len, "%lld", (long long)(shortest_ms / 60000));
    else
        snprintf(len, sizeof len, "%lld to %lld", (long long)(shortest_ms / 60000),
                 (long long)(longest_ms / 60000));
    printf("  prices from \"%s\": %zu slots of %s minutes from %s to %s, market mean %.4f "
           "EUR/kWh\n",
           s->source, p->price_count, len, a, b,
           p->price_count ? sum / (double)p->price_count : 0.0);
    report_gaps(gaps, gap_count, "price");
    free(gaps);
    if (!p->price_count)
        return bad("%s: no price in the file", file->name);
    return 0;
}

static int write_all(const struct options *o, const struct balkon_config *config,
                     const char *provider, struct pending *pend, size_t n)
{
    struct balkon_store_options options = {
        .path = o->db_path ? o->db_path : config->storage.path,
        .raw_retention_days = (int)config->storage.raw_retention_days,
        .rollup_5m_retention_days = (int)config->storage.rollup_5m_retention_days,
        .rollup_1h_retention_days = (int)config->storage.rollup_1h_retention_days,
    };
    struct balkon_store *store = NULL;
    char msg[512];
    if (balkon_store_open(&options, &store, msg, sizeof msg) < 0) {
        fprintf(stderr, "balkonsolard import: %s\n", msg);
        return 1;
    }
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        struct pending *p = &pend[i];
        int err;
        if (p->prices) {
            err = balkon_store_prices_put(store, provider, "EUR", (int64_t)time(NULL) * 1000,
                                          p->prices, p->price_count);
        } else {
            struct balkon_store_mean *means = malloc(p->means.filled * sizeof *means);
            err = means ? 0 : BALKON_E_NOMEM;
            size_t k = 0;
            for (size_t s = 0; means && s < p->means.count; s++)
                if (isfinite(p->means.value_w[s]))
                    means[k++] = (struct balkon_store_mean){
                        p->means.first_ms + (int64_t)s * IMPORT_SLOT_MS, p->means.value_w[s]};
            if (!err)
                err = balkon_store_history_put(store, p->series, "W", IMPORT_SLOT_MS, means, k);
            free(means);
        }
        if (err) {
            fprintf(stderr,
                    "balkonsolard import: %s: %s: %s (this and the later series were "
                    "not written)\n",
                    p->file, options.path, balkon_store_errmsg(store));
            rc = err == BALKON_E_INVAL ? 2 : 1;
        } else {
            printf("  wrote %s of %s into %s%s%s\n", p->series, p->file, options.path,
                   p->prices ? " under provider " : "", p->prices ? provider : "");
        }
    }
    balkon_store_close(store);
    return rc;
}

int balkon_import_main(int argc, char **argv)
{
    struct options o;
    int first = 0;
    int rc = parse_options(argc, argv, &o, &first);
    if (rc)
        return rc < 0 ? 0 : rc;
    struct balkon_config *config = calloc(1, sizeof *config);
    struct balkon_config_errors errors;
    if (!config)
        return bad("out of memory");
    if (balkon_config_load(o.config_path, config, &errors) < 0) {
        for (size_t i = 0; i < errors.count; i++)
            fprintf(stderr, "balkonsolard import: %s: %s\n", o.config_path, errors.items[i]);
        free(config);
        return 2;
    }
    const char *site_zone = config->site.timezone[0] ? config->site.timezone : NULL;
    bool prices = o.format == BALKON_IMPORT_SMARD || o.format == BALKON_IMPORT_ENERGY_CHARTS;
    const char *provider = o.provider;
    if (prices && !provider) {
        const struct balkon_provider_config *pc =
            balkon_provider_primary(config, PROVIDER_KIND_PRICE);
        if (!pc) {
            free(config);
            return bad("--provider: %s has no price provider; give --provider ID (the replay "
                       "reads the prices of the first enabled price provider)",
                       o.config_path);
        }
        provider = pc->id;
    }
    struct import_spec spec = {.format = o.format,
                               .maps = o.maps,
                               .map_count = o.map_count,
                               .time_column = o.time_column,
                               .price_column = o.price_column};
    size_t files = (size_t)(argc - first);
    struct pending *pend = calloc(files * IMPORT_MAX_SERIES, sizeof *pend);
    size_t n = 0;
    rc = pend ? 0 : bad("out of memory");
    for (size_t f = 0; f < files && !rc; f++) {
        const char *path = argv[first + (int)f];
        size_t len = 0;
        char *text = read_file(path, &len);
        if (!text) {
            rc = 2;
            break;
        }
        /* SMARD publishes German local time; everything else without a zone is the site's. */
        const char *zone = o.format == BALKON_IMPORT_SMARD ? SMARD_ZONE : site_zone;
        if (zone)
            setenv("TZ", zone, 1);
        else
            unsetenv("TZ");
        tzset();
        struct import_file file;
        char msg[768];
        if (import_parse_file(path, text, len, &spec, &file, msg, sizeof msg)) {
            rc = bad("%s", msg);
        } else {
            printf("%s: %zu rows%s\n", path, file.rows, o.dry_run ? " (dry run)" : "");
            if (file.ignored)
                printf("  %zu rows of entities not named by --map ignored\n", file.ignored);
            rc =
                prices ? prepare_prices(&o, &file, &pend[n++]) : prepare_power(&o, &file, pend, &n);
            import_file_free(&file);
        }
        free(text);
        if (site_zone)
            setenv("TZ", site_zone, 1);
        tzset();
    }
    if (!rc && !o.dry_run)
        rc = write_all(&o, config, provider, pend, n);
    for (size_t i = 0; pend && i < n; i++) {
        import_means_free(&pend[i].means);
        free(pend[i].prices);
    }
    free(pend);
    free(config);
    return rc;
}
