/* Redirects against the real balkonsolard (issue 15): libcurl used to follow a provider's
 * or a device's redirect to any host, a pivot from a hostile or hijacked server into the
 * LAN with the provider's token. Now a provider follows only to its own scheme, host and
 * port; a redirect to another port or host (127.0.0.2 counts as another host) is not
 * followed and its status says why; a device is never redirected. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_http.h"
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The provider's /api/v1/providers entry once last_error contains want (caller deletes). */
static cJSON *wait_provider_error(struct daemon_proc *d, const char *id, const char *want)
{
    for (int waited = 0; waited < 15000; waited += 100) {
        cJSON *all = harness_get_json(d, "/api/v1/providers");
        const cJSON *item;
        cJSON_ArrayForEach(item, cJSON_GetObjectItem(all, "providers"))
        {
            if (strcmp(harness_text(item, "id"), id) == 0 &&
                strstr(harness_text(item, "last_error"), want)) {
                cJSON *copy = cJSON_Duplicate(item, 1);
                cJSON_Delete(all);
                return copy;
            }
        }
        cJSON_Delete(all);
        harness_sleep_ms(100);
    }
    fail_msg("provider %s never failed with \"%s\"\n%s", id, want, harness_log(d));
    return NULL;
}

static void test_redirects_stay_on_the_origin(void **state)
{
    struct harness_fixture *f = *state;
    struct daemon_proc *d = &f->daemon;
    struct fake_http *home = f->fakes[0], *other = f->fakes[1];
    char location[256];
    snprintf(location, sizeof location, "Location: %s/stolen?token=TOKEN-IN-QUERY",
             fake_http_base(other));
    fake_http_route(home, "/far/", 302, "text/plain", "", 0, location, 0);
    snprintf(location, sizeof location, "Location: http://127.0.0.2:%d/stolen",
             fake_http_port(home));
    fake_http_route(home, "/host/", 307, "text/plain", "", 0, location, 0);
    fake_http_route(home, "/near/", 302, "text/plain", "", 0, "Location: /moved/v1/marketdata", 0);
    harness_route_json(home, "/moved/", 200, "{\"data\": []}");
    fake_http_route(home, "/dev", 302, "text/plain", "", 0, "Location: /dev-moved", 0);
    harness_route_json(home, "/dev-moved", 200, "{\"power\": 100}");
    harness_route_json(other, "/", 200, "{\"data\": []}");
    harness_route_json(home, "/stolen", 200, "{\"data\": []}");

    const char *base = fake_http_base(home);
    char json[4096];
    snprintf(
        json, sizeof json,
        "{\n"
        "  \"site\": {\"name\": \"redirects\", \"latitude\": 52.52, \"longitude\": 13.41,"
        " \"timezone\": \"Europe/Berlin\"},\n"
        "  \"control\": {\"enabled\": false},\n"
        "  \"devices\": [{\"id\": \"meter\", \"type\": \"http_json\", \"host\": \"127.0.0.1\","
        " \"port\": %d, \"path\": \"/dev\", \"power_key\": \"power\", \"poll_interval_s\": 0.5}],\n"
        "  \"providers\": [\n"
        "    {\"id\": \"far\", \"type\": \"awattar\", \"base_url\": \"%s/far\"},\n"
        "    {\"id\": \"host\", \"type\": \"awattar\", \"base_url\": \"%s/host\"},\n"
        "    {\"id\": \"near\", \"type\": \"awattar\", \"base_url\": \"%s/near\"}]\n"
        "}\n",
        fake_http_port(home), base, base, base);
    harness_write_config(d, json);
    assert_true(harness_start(d, NULL));

    cJSON *far = wait_provider_error(d, "far", "refused: only redirects to the same scheme");
    assert_string_equal(harness_text(far, "state"), "failing");
    char want[128];
    snprintf(want, sizeof want, "to %s/***", fake_http_base(other));
    assert_non_null(strstr(harness_text(far, "last_error"), want));
    assert_null(strstr(harness_text(far, "last_error"), "TOKEN-IN-QUERY"));
    cJSON_Delete(far);
    cJSON *host = wait_provider_error(d, "host", "to http://127.0.0.2:");
    cJSON_Delete(host);
    /* On its own server the redirect is followed. */
    for (int waited = 0; waited < 10000 && fake_http_hits(home, "/moved/") == 0; waited += 100)
        harness_sleep_ms(100);
    assert_true(fake_http_hits(home, "/moved/") >= 1);

    /* The device is not redirected even on its own host. */
    harness_wait_offline(d, "meter", "redirect not followed (devices never are)", 10000);
    assert_int_equal(fake_http_hits(home, "/dev-moved"), 0);

    assert_int_equal(fake_http_hits(other, "/"), 0);
    assert_int_equal(fake_http_hits(home, "/stolen"), 0);
    assert_null(strstr(harness_log(d), "TOKEN-IN-QUERY"));
    harness_stop_cleanly(d, 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_redirects_stay_on_the_origin, harness_setup_fakes,
                                        harness_teardown_fakes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
