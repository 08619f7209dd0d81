/* balkon_store_notification_list: newest first, bounded by limit, resolved or not. The
 * rows are written with a second SQLite connection, as the notification module of a
 * later issue will write them through the store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "balkon/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_list_is_newest_first_and_bounded(void **state)
{
    char dir[64], path[128];
    snprintf(dir, sizeof dir, "/tmp/balkon_notify_XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/test.db", dir);
    struct balkon_store_options options = {.path = path};
    struct balkon_store *store = NULL;
    char msg[256];
    assert_int_equal(balkon_store_open(&options, &store, msg, sizeof msg), 0);

    struct balkon_notification_record *list = NULL;
    size_t count = 99;
    assert_int_equal(balkon_store_notification_list(store, 50, &list, &count), 0);
    assert_int_equal(count, 0);
    free(list);

    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "INSERT INTO notifications(ts_ms, rule, severity, title, message, state, "
                     "resolved_ts_ms) VALUES"
                     " (1000, 'device_offline', 'warning', 'Battery offline', 'no answer for 5 "
                     "min', 'resolved', 5000),"
                     " (3000, 'price_low', 'info', 'Cheap hour', 'charge now', 'open', NULL),"
                     " (2000, 'soc_low', 'critical', 'Battery empty', 'SoC 10 %', 'open', NULL)",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);

    assert_int_equal(balkon_store_notification_list(store, 2, &list, &count), 0);
    assert_int_equal(count, 2);
    assert_int_equal(list[0].ts_ms, 3000);
    assert_string_equal(list[0].rule, "price_low");
    assert_string_equal(list[0].title, "Cheap hour");
    assert_true(list[0].resolved_ts_ms == INT64_MIN);
    assert_int_equal(list[1].ts_ms, 2000);
    assert_string_equal(list[1].severity, "critical");
    free(list);

    assert_int_equal(balkon_store_notification_list(store, 10, &list, &count), 0);
    assert_int_equal(count, 3);
    assert_string_equal(list[2].state, "resolved");
    assert_int_equal(list[2].resolved_ts_ms, 5000);
    assert_string_equal(list[2].message, "no answer for 5 min");
    free(list);

    balkon_store_close(store);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_is_newest_first_and_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
