/* The config loader's problems as codes the dashboard translates
 * (balkon_config_error_classify): each kind of mistake, made in a real config text and
 * reported by the real loader, gets its code and the numbers of its message as parameters.
 * A change of the loader's wording that the classifier does not follow fails here, not as
 * an English sentence on a German page. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "balkon/config.h"

#include <stdio.h>
#include <string.h>

static struct balkon_config config;

/* The code and "name=value ..." of the problem the loader reports at path for json. */
static void expect(const char *json, const char *path, const char *code, const char *params)
{
    struct balkon_config_errors errors;
    assert_true(balkon_config_parse(json, &config, &errors) < 0);
    for (size_t i = 0; i < errors.count; i++) {
        size_t len = strlen(path);
        if (strncmp(errors.items[i], path, len) != 0 || strncmp(errors.items[i] + len, ": ", 2))
            continue;
        struct balkon_config_error_code out;
        balkon_config_error_classify(errors.items[i] + len + 2, &out);
        char got[300] = "";
        for (size_t k = 0; k < out.param_count; k++) {
            size_t used = strlen(got);
            snprintf(got + used, sizeof got - used, "%s%s=%s", used ? " " : "", out.params[k].name,
                     out.params[k].value);
        }
        if (strcmp(out.code, code) != 0 || strcmp(got, params) != 0)
            fail_msg("%s: got %s {%s}, expected %s {%s}", errors.items[i], out.code, got, code,
                     params);
        return;
    }
    fail_msg("no problem reported at %s (first: %s)", path, errors.count ? errors.items[0] : "");
}

static void test_each_kind_of_mistake_has_its_code(void **state)
{
    (void)state;
    expect("{\"battery\": {\"capacity_wh\": -5}}", "battery.capacity_wh", "range_above",
           "min=0 max=100000 got=-5");
    expect("{\"battery\": {\"soc_min_pct\": 150}}", "battery.soc_min_pct", "range",
           "min=0 max=100 got=150");
    expect("{\"battery\": {\"capacity_wh\": \"big\"}}", "battery.capacity_wh", "number",
           "got=\"big\"");
    expect("{\"battery\": {\"coupling\": \"wireless\"}}", "battery.coupling", "one_of",
           "allowed=\"ac\", \"dc\" got=\"wireless\"");
    expect("{\"battery\": {\"capacty_wh\": 5}}", "battery.capacty_wh", "unknown_key",
           "suggestion=capacity_wh");
    expect("{\"battery\": 5}", "battery", "object", "");
    expect("{\"http\": {\"read_without_login\": 1}}", "http.read_without_login", "boolean",
           "got=1");
    expect("{\n  \"site\": {}\n  \"x\": 1}", "(config)", "json_syntax", "line=3 column=3");
    expect("{\"optimizer\": {\"schedule\": [{\"from\": \"01:00\", \"to\": \"05:00\", \"mode\": "
           "\"grid_charge\"}]}}",
           "optimizer.schedule[0].mode", "needs_grid_charge", "");
    expect("{\"optimizer\": {\"schedule\": [{\"from\": \"10:00\", \"to\": \"14:00\", \"mode\": "
           "\"charge\", \"power_w\": 2000}]}}",
           "optimizer.schedule[0].power_w", "max", "max=800 got=2000");
    expect("{\"providers\": [{\"id\": \"pv\", \"type\": \"forecast_solar\"}]}", "pv.planes",
           "needs_plane", "type=forecast_solar");
}

static void test_unknown_wording_is_invalid(void **state)
{
    (void)state;
    struct balkon_config_error_code out;
    balkon_config_error_classify("total peak power must be <= 2000 Wp, got 2500 Wp", &out);
    assert_string_equal(out.code, "invalid");
    assert_int_equal(out.param_count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_kind_of_mistake_has_its_code),
        cmocka_unit_test(test_unknown_wording_is_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
