/* Builds a daemon database of a real year from bench/data/ for bench/real_years.sh: the
 * household's load (home_w) and the PV (pv_w) as the recorder stores them (samples through
 * balkon_store_append and balkon_store_flush, which also build the roll-ups), and, with
 * --provider, the day-ahead prices as a price provider stores them (balkon_store_prices_put,
 * consumer price all-in). `balkonsolard simulate --db` then replays it the way it replays a
 * user's own database. (When `balkonsolard import` exists, it is the user's way in; this
 * tool writes through the same store functions the recorder and the fetcher use.)
 *
 *   bench_real_db --data DIR --out DB --load flat|house --annual-kwh N --pv-kwp X
 *                 [--provider ID --charges-per-kwh C --vat-pct V]
 *
 * The year is the price year (bench/data/prices_de_lu_2024.csv, 8784 hours from
 * 2023-12-31T23:00Z). Load and PV are reference years of 8760 hours (bench/data/SOURCES):
 * hour h of the price year takes load hour (h + 144) mod 8760, so that 2024's Mondays get the
 * reference year's (2019) Mondays, and PV hour min(h, h − 24 past 8760), the same day of the
 * year. Each hourly mean is written at the four quarter-hours of its hour. */
#include "balkon/error.h"
#include "balkon/series.h"
#include "balkon/store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOURS 8784
#define REF_HOURS 8760
#define HOUR_MS INT64_C(3600000)
#define QUARTER_MS INT64_C(900000)
#define START_MS INT64_C(1704063600000) /* 2023-12-31T23:00:00Z = 2024-01-01 00:00 CET */

/* Reads column col (0-based) of a CSV with '#' comments and one header line into values;
 * returns the rows read, or -1. */
static long read_column(const char *path, int col, double *values, long max)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bench_real_db: cannot read %s\n", path);
        return -1;
    }
    char line[256];
    long n = 0;
    bool header = true;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        if (header) {
            header = false;
            continue;
        }
        char *p = line;
        for (int c = 0; c < col && p; c++)
            p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
        if (!p || n == max) {
            fprintf(stderr, "bench_real_db: %s: bad line %ld\n", path, n + 2);
            fclose(f);
            return -1;
        }
        values[n++] = strtod(p, NULL);
    }
    fclose(f);
    return n;
}

int main(int argc, char **argv)
{
    const char *data = NULL, *out = NULL, *load = NULL, *provider = NULL;
    double annual_kwh = NAN, pv_kwp = NAN, charges = 0, vat_pct = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--data"))
            data = argv[i + 1];
        else if (!strcmp(argv[i], "--out"))
            out = argv[i + 1];
        else if (!strcmp(argv[i], "--load"))
            load = argv[i + 1];
        else if (!strcmp(argv[i], "--annual-kwh"))
            annual_kwh = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--pv-kwp"))
            pv_kwp = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--provider"))
            provider = argv[i + 1];
        else if (!strcmp(argv[i], "--charges-per-kwh"))
            charges = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--vat-pct"))
            vat_pct = atof(argv[i + 1]);
    }
    if (!data || !out || !load || isnan(annual_kwh) || isnan(pv_kwp) ||
        (strcmp(load, "flat") && strcmp(load, "house"))) {
        fprintf(stderr, "usage: bench_real_db --data DIR --out DB --load flat|house --annual-kwh N "
                        "--pv-kwp X [--provider ID --charges-per-kwh C --vat-pct V]\n");
        return 2;
    }
    static double load_w[REF_HOURS], pv_w[REF_HOURS], price[HOURS];
    char path[1024];
    snprintf(path, sizeof path, "%s/households.csv", data);
    if (read_column(path, strcmp(load, "flat") == 0 ? 1 : 2, load_w, REF_HOURS) != REF_HOURS)
        return 1;
    snprintf(path, sizeof path, "%s/pv_potsdam.csv", data);
    if (read_column(path, 1, pv_w, REF_HOURS) != REF_HOURS)
        return 1;
    snprintf(path, sizeof path, "%s/prices_de_lu_2024.csv", data);
    if (read_column(path, 1, price, HOURS) != HOURS)
        return 1;

    struct balkon_store *store = NULL;
    char msg[256];
    remove(out);
    struct balkon_store_options options = {.path = out};
    if (balkon_store_open(&options, &store, msg, sizeof msg) < 0) {
        fprintf(stderr, "bench_real_db: %s\n", msg);
        return 1;
    }
    int64_t home_id, pv_id;
    int rc = balkon_store_series_id(store, "home_w", "W", &home_id);
    if (!rc)
        rc = balkon_store_series_id(store, "pv_w", "W", &pv_id);
    double load_wh = 0, pv_wh = 0;
    for (long h = 0; h < HOURS && !rc; h++) {
        double home = load_w[(h + 144) % REF_HOURS] * annual_kwh / 1000;
        double pv = pv_w[h < REF_HOURS ? h : h - 24] * pv_kwp;
        load_wh += home;
        pv_wh += pv;
        for (int q = 0; q < 4 && !rc; q++) {
            int64_t ts_ms = START_MS + h * HOUR_MS + q * QUARTER_MS;
            rc = balkon_store_append(store, home_id, ts_ms, home);
            if (!rc)
                rc = balkon_store_append(store, pv_id, ts_ms, pv);
        }
        if (h % 1000 == 999 && !rc)
            rc = balkon_store_flush(store);
    }
    if (!rc)
        rc = balkon_store_flush(store);
    if (!rc && provider) {
        static struct balkon_price_slot slots[HOURS * 4];
        for (long h = 0; h < HOURS; h++)
            for (int q = 0; q < 4; q++)
                slots[h * 4 + q] = (struct balkon_price_slot){
                    .slot_ts_ms = START_MS + h * HOUR_MS + q * QUARTER_MS,
                    .slot_s = 900,
                    .price_per_kwh = (price[h] / 1000 + charges) * (1 + vat_pct / 100),
                    .market_per_kwh = price[h] / 1000,
                };
        rc = balkon_store_prices_put(store, provider, "EUR", START_MS, slots, HOURS * 4);
    }
    balkon_store_close(store);
    if (rc) {
        fprintf(stderr, "bench_real_db: writing %s failed: %s\n", out, balkon_strerror(rc));
        return 1;
    }
    printf("%s: load %.1f kWh, PV %.1f kWh over %d hours\n", out, load_wh / 1000, pv_wh / 1000,
           HOURS);
    return 0;
}
