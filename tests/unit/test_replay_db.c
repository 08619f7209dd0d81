/* `simulate --db` on a database older than the 5-minute retention (issue 14): once the
 * daemon's pruning has left only hourly roll-ups, every hour must still fill all four of
 * its 15-minute slots, and a stored hourly price (slot_s 3600) must price all four. Before
 * the fix a year replayed 8,768 of 35,136 slots (load 870 instead of 3,478 kWh) and hourly
 * prices priced only the first quarter-hour. The database is built through the store's
 * API, pruned as the daemon prunes it, and replayed through the command itself. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "balkon/error.h"
#include "balkon/replay.h"
#include "balkon/store.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define YEAR_START_MS INT64_C(1735686000000) /* 2025-01-01T00:00:00+01:00 */
#define SLOT_MS INT64_C(900000)
#define HOUR_MS INT64_C(3600000)
#define YEAR_SLOTS (365 * 96)
#define LOAD_W 397.0
#define PV_W 200.0
#define PRICE 0.10

struct fixture {
    char dir[64];
    char db[96];
    char config[96];
    char out[96];
};

/* PV in the UTC hours 8 to 15, so that the day's PV never exceeds the load. */
static double pv_at(int64_t ts_ms)
{
    int hour = (int)((ts_ms / HOUR_MS) % 24);
    return hour >= 8 && hour < 16 ? PV_W : 0.0;
}

static void write_year(struct fixture *f, bool prices)
{
    struct balkon_store_options options = {.path = f->db};
    struct balkon_store *store = NULL;
    char msg[256];
    assert_int_equal(balkon_store_open(&options, &store, msg, sizeof msg), 0);
    int64_t home = 0, pv = 0;
    assert_int_equal(balkon_store_series_id(store, "home_w", "W", &home), 0);
    assert_int_equal(balkon_store_series_id(store, "pv_w", "W", &pv), 0);
    /* A sample every 5 minutes, as the daemon's roll-ups would hold them, a week past the
     * year so that the replay's look-ahead has data too. */
    for (int64_t ts = YEAR_START_MS - 15 * 86400000LL; ts < YEAR_START_MS + 372 * 86400000LL;
         ts += 300000) {
        assert_int_equal(balkon_store_append(store, home, ts, LOAD_W), 0);
        assert_int_equal(balkon_store_append(store, pv, ts, pv_at(ts)), 0);
        if (balkon_store_pending(store) >= 20000)
            assert_int_equal(balkon_store_flush(store), 0);
    }
    assert_int_equal(balkon_store_flush(store), 0);
    if (prices) {
        size_t n = 390 * 24;
        struct balkon_price_slot *slots = calloc(n, sizeof *slots);
        assert_non_null(slots);
        for (size_t i = 0; i < n; i++)
            slots[i] = (struct balkon_price_slot){.slot_ts_ms = YEAR_START_MS - 15 * 86400000LL +
                                                                (int64_t)i * HOUR_MS,
                                                  .slot_s = 3600,
                                                  .price_per_kwh = PRICE,
                                                  .market_per_kwh = NAN};
        assert_int_equal(balkon_store_prices_put(store, "spot", "EUR", YEAR_START_MS, slots, n), 0);
        free(slots);
    }
    /* The daemon's pruning half a year after the data: only hourly roll-ups are left. */
    int64_t now_ms = YEAR_START_MS + 560 * 86400000LL, deleted = 0;
    do
        assert_int_equal(balkon_store_prune(store, now_ms, 1000000, &deleted), 0);
    while (deleted > 0);
    struct balkon_bucket *buckets = NULL;
    size_t count = 0;
    assert_int_equal(balkon_store_query(store, "home_w", YEAR_START_MS, YEAR_START_MS + 2 * HOUR_MS,
                                        SLOT_MS, &buckets, &count),
                     0);
    assert_int_equal(count, 2); /* one row per hour: the 5-minute roll-ups are gone */
    free(buckets);
    balkon_store_close(store);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/balkon-replay-db-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->db, sizeof f->db, "%s/balkon.db", f->dir);
    snprintf(f->config, sizeof f->config, "%s/config.json", f->dir);
    snprintf(f->out, sizeof f->out, "%s/out.csv", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char path[128];
    const char *names[] = {"balkon.db", "balkon.db-wal", "balkon.db-shm", "config.json", "out.csv"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", f->dir, names[i]);
        unlink(path);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static void write_config(const struct fixture *f, bool prices)
{
    FILE *fp = fopen(f->config, "w");
    assert_non_null(fp);
    fprintf(fp,
            "{\"site\": {\"name\": \"retention\", \"latitude\": 52.52, \"longitude\": 13.40,"
            " \"timezone\": \"Europe/Berlin\"},\n"
            " \"pv\": {\"planes\": [{\"name\": \"south\", \"tilt\": 30, \"azimuth\": 0,"
            " \"peak_w\": 890}]},\n"
            " \"battery\": {\"capacity_wh\": 2240},\n"
            " %s\n"
            " \"tariff\": {\"import_per_kwh\": 0.30, \"feed_in_per_kwh\": 0}}\n",
            prices ? "\"providers\": [{\"id\": \"spot\", \"type\": \"awattar\"}]," : "");
    fclose(fp);
}

/* Runs `simulate` with stdout into f->out; returns the exit code and the CSV's
 * no_battery row in *values by column name. */
static int simulate_from(const struct fixture *f, const char *from, const char *name, double *value)
{
    char *argv[] = {"simulate",    "--config",   (char *)f->config,  "--db",
                    (char *)f->db, "--from",     (char *)from,       "--days",
                    "365",         "--strategy", "self_consumption", "--csv",
                    NULL};
    fflush(stdout);
    int saved = dup(1);
    int fd = open(f->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 1);
    close(fd);
    optind = 1;
    int rc = balkon_replay_main((int)(sizeof argv / sizeof argv[0]) - 1, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    if (rc != 0)
        return rc;
    FILE *fp = fopen(f->out, "r");
    assert_non_null(fp);
    char header[1024] = "", line[1024] = "";
    assert_non_null(fgets(header, sizeof header, fp));
    while (fgets(line, sizeof line, fp) && strncmp(line, "no_battery,", 11) != 0)
        ;
    fclose(fp);
    assert_int_equal(strncmp(line, "no_battery,", 11), 0);
    int col = 0, want = -1;
    for (char *save = NULL, *t = strtok_r(header, ",\n", &save); t;
         t = strtok_r(NULL, ",\n", &save), col++)
        if (strcmp(t, name) == 0)
            want = col;
    assert_true(want >= 0);
    col = 0;
    for (char *save = NULL, *t = strtok_r(line, ",\n", &save); t;
         t = strtok_r(NULL, ",\n", &save), col++)
        if (col == want)
            *value = strtod(t, NULL);
    return rc;
}

static int simulate(const struct fixture *f, const char *name, double *value)
{
    return simulate_from(f, "2025-01-01", name, value);
}

static void test_a_pruned_year_replays_every_slot(void **state)
{
    struct fixture *f = *state;
    write_year(f, false);
    write_config(f, false);
    double slots = 0, load_kwh = 0;
    assert_int_equal(simulate(f, "slots", &slots), 0);
    assert_int_equal(simulate(f, "load_kwh", &load_kwh), 0);
    if (slots != YEAR_SLOTS || fabs(load_kwh - LOAD_W * 8760 / 1000) > 0.5)
        fail_msg("replayed %.0f of %d slots, load %.1f kWh (wanted %.1f)", slots, YEAR_SLOTS,
                 load_kwh, LOAD_W * 8760 / 1000);
}

static void test_hourly_prices_price_every_quarter_hour(void **state)
{
    struct fixture *f = *state;
    write_year(f, true);
    write_config(f, true);
    double import_kwh = 0, energy_cost = 0;
    assert_int_equal(simulate(f, "import_kwh", &import_kwh), 0);
    assert_int_equal(simulate(f, "energy_cost", &energy_cost), 0);
    /* Every slot at the stored 0.10, none at the tariff's 0.30. */
    if (fabs(energy_cost - import_kwh * PRICE) > 0.05)
        fail_msg("energy cost %.2f for %.1f kWh imported (wanted %.2f at %.2f/kWh)", energy_cost,
                 import_kwh, import_kwh * PRICE, PRICE);
}

/* A year of which only the last seven months are stored is refused (exit 1), not
 * reported as if it were a year. */
static void test_a_mostly_missing_range_is_refused(void **state)
{
    struct fixture *f = *state;
    write_year(f, false);
    write_config(f, false);
    double slots = 0;
    assert_int_equal(simulate_from(f, "2024-06-01", "slots", &slots), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_pruned_year_replays_every_slot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hourly_prices_price_every_quarter_hour, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_mostly_missing_range_is_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
