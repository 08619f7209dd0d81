/* Without libmosquitto at run time (BALKON_LIBMOSQUITTO names a library that does not
 * exist): balkon_mqtt_new fails with BALKON_E_NOTFOUND and an error that names the library
 * and the package to install, and nothing is left behind on the loop. (The daemon then runs
 * on without MQTT: src/daemon/daemon.c, open_mqtt.) Its own executable, since the library is
 * loaded, or not, once per process. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "balkon/error.h"
#include "balkon/mqtt.h"

#include <stdlib.h>
#include <string.h>

#define MISSING_SONAME "libmosquitto-balkon-test-missing.so.1"

static void test_new_fails_with_the_reason(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct balkon_mqtt *m = NULL;
    char error[256] = "";
    const struct balkon_mqtt_settings settings = {.host = "127.0.0.1", .port = 1883};
    for (int attempt = 0; attempt < 2; attempt++) { /* the same answer every time */
        assert_int_equal(balkon_mqtt_new(&loop, &settings, &m, error, sizeof error),
                         BALKON_E_NOTFOUND);
        assert_null(m);
        assert_non_null(strstr(error, MISSING_SONAME));
        assert_non_null(strstr(error, "apt install libmosquitto1"));
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    setenv("BALKON_LIBMOSQUITTO", MISSING_SONAME, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_fails_with_the_reason),
    };
    return cmocka_run_group_tests_name("mqtt_nolib", tests, NULL, NULL);
}
