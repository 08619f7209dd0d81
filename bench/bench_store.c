/* Benchmark of the repository layer: how fast samples go in, how fast a year comes out,
 * and how large a year of data gets. It prints figures and asserts nothing.
 *
 *   bench_store [--path FILE] [--days N]
 *
 * (a) Ingest, on a fresh database: 6 series of 5-second samples flushed every 5 seconds'
 *     worth (6 samples per transaction, as the daemon does), then batches of 10,000.
 *     Roll-up refresh is part of every flush, so it is part of the rate.
 * (b) History: N days (default 365) of 6 series at 5 s, appended through the public API
 *     with the clock advancing, flushed every 10,000 samples and pruned after each flush
 *     with the default retention (raw 7 days), as the daemon would. Then range queries:
 *     the whole span at 1 h and 1 day, the last 30 days at 5 min, the last day at 5 s
 *     (median of several runs), and the file size.
 * Without --path the database lives in a temporary directory and is deleted afterwards. */
#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MS_S INT64_C(1000)
#define MS_MIN INT64_C(60000)
#define MS_HOUR INT64_C(3600000)
#define MS_DAY INT64_C(86400000)
#define SERIES 6
#define SAMPLE_MS (5 * MS_S)
#define BATCH 10000
#define QUERY_RUNS 7
/* 2025-01-01T00:00:00Z */
#define START_MS INT64_C(1735689600000)

static const char *const series_names[SERIES][2] = {
    {"pv_w", "W"},      {"home_w", "W"},  {"grid_w", "W"},
    {"battery_w", "W"}, {"soc_pct", "%"}, {"meter.import_wh", "Wh"},
};

struct world {
    uint64_t rng;
    double soc_pct;
    double import_wh;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of this process (user + system, the write() calls included): on a machine
 * shared with other work the wall-clock rate varies by 2x from run to run, the rate per
 * CPU second much less. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double uniform(struct world *w)
{
    w->rng = w->rng * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return (double)(w->rng >> 11) / 9007199254740992.0;
}

/* Meters report tenths of a watt; values like that are what the file has to hold. */
static double tenths(double v)
{
    return round(v * 10) / 10;
}

/* A plausible balcony plant: PV on a daily arc, a base load with spikes, a battery that
 * covers the load at night. Only the shape of the numbers matters for storage. */
static void world_step(struct world *w, int64_t ts_ms, double out[SERIES])
{
    double day_frac = (double)(ts_ms % MS_DAY) / (double)MS_DAY;
    double sun = sin((day_frac - 0.25) * 2 * M_PI);
    double pv_w = sun > 0 ? 800 * sun * (0.7 + 0.3 * uniform(w)) : 0;
    double home_w = 150 + 40 * uniform(w) + (uniform(w) < 0.02 ? 2000 * uniform(w) : 0);
    double battery_w = 0;
    if (pv_w > home_w && w->soc_pct < 100)
        battery_w = -(pv_w - home_w); /* charge from surplus */
    else if (pv_w < home_w && w->soc_pct > 10)
        battery_w = fmin(home_w - pv_w, 800);
    w->soc_pct = fmin(100, fmax(0, w->soc_pct - battery_w * 5.0 / 3600.0 / 20.0));
    double grid_w = home_w - pv_w - battery_w;
    if (grid_w > 0)
        w->import_wh += grid_w * 5.0 / 3600.0;
    out[0] = tenths(pv_w);
    out[1] = tenths(home_w);
    out[2] = tenths(grid_w);
    out[3] = tenths(battery_w);
    out[4] = tenths(w->soc_pct);
    out[5] = tenths(w->import_wh);
}

static struct balkon_store *open_or_die(const char *path)
{
    struct balkon_store_options options = {.path = path};
    struct balkon_store *store = NULL;
    char msg[512];
    int err = balkon_store_open(&options, &store, msg, sizeof msg);
    if (err) {
        fprintf(stderr, "bench_store: %s (%s)\n", msg, balkon_strerror(err));
        exit(1);
    }
    return store;
}

static void check(struct balkon_store *store, int err, const char *what)
{
    if (err) {
        fprintf(stderr, "bench_store: %s: %s (%s)\n", what, balkon_store_errmsg(store),
                balkon_strerror(err));
        exit(1);
    }
}

static void register_series(struct balkon_store *store, int64_t ids[SERIES])
{
    for (int i = 0; i < SERIES; i++)
        check(store, balkon_store_series_id(store, series_names[i][0], series_names[i][1], &ids[i]),
              "register series");
}

static void remove_db(const char *path)
{
    char file[4200];
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(file, sizeof file, "%s%s", path, suffixes[i]);
        unlink(file);
    }
}

/* Appends `steps` time steps of all series from *ts_ms on, flushing every `flush_every`
 * samples; returns the samples written. */
/* The slowest flush of the last ingest() and how many took over 1 ms: what a flush on the
 * event loop would cost it at worst (a commit that runs a WAL checkpoint). */
static double worst_flush_s;
static int64_t flushes_over_1ms;

static void timed_flush(struct balkon_store *store)
{
    double t0 = now_s();
    check(store, balkon_store_flush(store), "flush");
    double took_s = now_s() - t0;
    if (took_s > worst_flush_s)
        worst_flush_s = took_s;
    flushes_over_1ms += took_s > 1e-3;
}

static int64_t ingest(struct balkon_store *store, const int64_t ids[SERIES], struct world *w,
                      int64_t *ts_ms, int64_t steps, int64_t flush_every)
{
    int64_t written = 0;
    double v[SERIES];
    worst_flush_s = 0;
    flushes_over_1ms = 0;
    for (int64_t s = 0; s < steps; s++, *ts_ms += SAMPLE_MS) {
        world_step(w, *ts_ms, v);
        for (int i = 0; i < SERIES; i++)
            check(store, balkon_store_append(store, ids[i], *ts_ms, v[i]), "append");
        written += SERIES;
        if ((int64_t)balkon_store_pending(store) >= flush_every)
            timed_flush(store);
    }
    timed_flush(store);
    return written;
}

/* Bytes this process handed to write() so far (Linux), to show what a flush costs the SD
 * card: WAL commits write whole pages. -1 where /proc is not there. */
static int64_t written_bytes(void)
{
    FILE *fp = fopen("/proc/self/io", "r");
    if (!fp)
        return -1;
    char line[128];
    long long value = -1;
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "wchar: %lld", &value) == 1)
            break;
    fclose(fp);
    return value;
}

static void bench_ingest(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/ingest.db", dir);
    remove_db(path);
    struct balkon_store *store = open_or_die(path);
    int64_t ids[SERIES];
    register_series(store, ids);
    struct world w = {.rng = 42, .soc_pct = 50};
    int64_t ts_ms = START_MS;

    printf("(a) ingest, roll-ups included (wall clock; per CPU second in brackets)\n");
    int64_t wchar0 = written_bytes();
    double t0 = now_s(), c0 = cpu_s();
    int64_t n = ingest(store, ids, &w, &ts_ms, 6 * 720, SERIES); /* 6 h, 1 flush per 5 s */
    double t1 = now_s(), c1 = cpu_s();
    int64_t wchar1 = written_bytes();
    int64_t flushes = n / SERIES;
    printf("    realistic: %lld samples in %lld flushes of %d: %.0f samples/s (%.0f), %.1f us/flush"
           " (%.1f)\n",
           (long long)n, (long long)flushes, SERIES, (double)n / (t1 - t0), (double)n / (c1 - c0),
           (t1 - t0) * 1e6 / (double)flushes, (c1 - c0) * 1e6 / (double)flushes);
    printf("    realistic: slowest flush %.2f ms, %lld of %lld over 1 ms\n", worst_flush_s * 1e3,
           (long long)flushes_over_1ms, (long long)flushes);
    if (wchar0 >= 0 && wchar1 >= 0)
        printf("    realistic: %.1f KB written per flush (WAL pages), %.0f MB/day at one flush"
               " per 5 s\n",
               (double)(wchar1 - wchar0) / 1e3 / (double)flushes,
               (double)(wchar1 - wchar0) / 1e6 / (double)flushes * 17280);

    /* The same hours flushed once a minute: same pages touched, 12 times fewer commits. */
    wchar0 = written_bytes();
    t0 = now_s();
    c0 = cpu_s();
    n = ingest(store, ids, &w, &ts_ms, 6 * 720, 12 * SERIES);
    t1 = now_s();
    c1 = cpu_s();
    wchar1 = written_bytes();
    flushes = n / (12 * SERIES);
    printf("    per minute: %lld samples in %lld flushes of %d: %.0f samples/s (%.0f)",
           (long long)n, (long long)flushes, 12 * SERIES, (double)n / (t1 - t0),
           (double)n / (c1 - c0));
    if (wchar0 >= 0 && wchar1 >= 0)
        printf(", %.1f KB per flush, %.0f MB/day",
               (double)(wchar1 - wchar0) / 1e3 / (double)flushes,
               (double)(wchar1 - wchar0) / 1e6 / (double)flushes * 1440);
    printf("\n");

    t0 = now_s();
    c0 = cpu_s();
    n = ingest(store, ids, &w, &ts_ms, 7 * 17280, BATCH); /* a week in 10,000s */
    t1 = now_s();
    c1 = cpu_s();
    printf("    batched:   %lld samples in flushes of %d: %.0f samples/s (%.0f)\n", (long long)n,
           BATCH, (double)n / (t1 - t0), (double)n / (c1 - c0));
    balkon_store_close(store);
    remove_db(path);
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void time_query(struct balkon_store *store, const char *label, int64_t from_ms,
                       int64_t to_ms, int64_t step_ms)
{
    double ms[QUERY_RUNS];
    size_t count = 0;
    uint64_t samples = 0;
    for (int r = 0; r < QUERY_RUNS; r++) {
        struct balkon_bucket *b = NULL;
        double t0 = now_s();
        check(store, balkon_store_query(store, "grid_w", from_ms, to_ms, step_ms, &b, &count),
              label);
        ms[r] = (now_s() - t0) * 1e3;
        samples = 0;
        for (size_t i = 0; i < count; i++)
            samples += b[i].count;
        free(b);
    }
    qsort(ms, QUERY_RUNS, sizeof ms[0], compare_double);
    printf("    %-22s %6zu buckets, %9llu samples: median %7.2f ms (min %.2f, max %.2f)\n", label,
           count, (unsigned long long)samples, ms[QUERY_RUNS / 2], ms[0], ms[QUERY_RUNS - 1]);
}

static void bench_history(const char *path, int days)
{
    remove_db(path);
    struct balkon_store *store = open_or_die(path);
    int64_t ids[SERIES];
    register_series(store, ids);
    struct world w = {.rng = 7, .soc_pct = 50};
    int64_t ts_ms = START_MS, end_ms = START_MS + days * MS_DAY;
    int64_t written = 0, pruned = 0;
    double v[SERIES];

    printf("(b) %d days of %d series at 5 s through the API, pruned as it goes\n", days, SERIES);
    double t0 = now_s();
    for (; ts_ms < end_ms; ts_ms += SAMPLE_MS) {
        world_step(&w, ts_ms, v);
        for (int i = 0; i < SERIES; i++)
            check(store, balkon_store_append(store, ids[i], ts_ms, v[i]), "append");
        written += SERIES;
        if (balkon_store_pending(store) >= BATCH) {
            check(store, balkon_store_flush(store), "flush");
            int64_t deleted = 0;
            check(store, balkon_store_prune(store, ts_ms, 2 * BATCH, &deleted), "prune");
            pruned += deleted;
        }
    }
    check(store, balkon_store_flush(store), "flush");
    int64_t deleted;
    do {
        check(store, balkon_store_prune(store, end_ms, 2 * BATCH, &deleted), "prune");
        pruned += deleted;
    } while (deleted > 0);
    double t1 = now_s();
    printf("    built in %.1f s: %lld samples appended (%.0f/s), %lld rows pruned\n", t1 - t0,
           (long long)written, (double)written / (t1 - t0), (long long)pruned);

    printf("    queries on grid_w (median of %d):\n", QUERY_RUNS);
    int64_t month_ms = (days < 30 ? days : 30) * MS_DAY;
    time_query(store, "whole span @ 1 h", START_MS, end_ms, MS_HOUR);
    time_query(store, "whole span @ 1 day", START_MS, end_ms, MS_DAY);
    time_query(store, "last 30 days @ 5 min", end_ms - month_ms, end_ms, 5 * MS_MIN);
    time_query(store, "last day @ 5 s", end_ms - MS_DAY, end_ms, 5 * MS_S);
    time_query(store, "8 days ago @ 5 s", end_ms - 8 * MS_DAY, end_ms - 7 * MS_DAY, 5 * MS_S);

    printf("    size while open (db + WAL): %.1f MB\n",
           (double)balkon_store_size_bytes(store) / 1e6);
    t0 = now_s();
    balkon_store_close(store);
    printf("    close (flush, checkpoint, optimize): %.0f ms\n", (now_s() - t0) * 1e3);
    struct stat st;
    if (stat(path, &st) == 0)
        printf("    file size after close: %.1f MB (%.2f MB per series)\n",
               (double)st.st_size / 1e6, (double)st.st_size / 1e6 / SERIES);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_store [--path FILE] [--days N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    int days = 365;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--path") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--days") == 0 && i + 1 < argc)
            days = atoi(argv[++i]);
        else
            usage();
    }
    if (days < 1 || days > 3650)
        usage();
    balkon_log_set_level(BALKON_LOG_WARN);

    char dir[] = "/tmp/bench_store_XXXXXX";
    if (!mkdtemp(dir)) {
        perror("bench_store: mkdtemp");
        return 1;
    }
    char temp_path[64];
    snprintf(temp_path, sizeof temp_path, "%s/history.db", dir);

    bench_ingest(dir);
    bench_history(path ? path : temp_path, days);

    if (!path)
        remove_db(temp_path);
    rmdir(dir);
    return 0;
}
