/* Config loading: defaults, every error path with its JSON path, secrets from the
 * environment, redaction, restart-only options, and the docs/example files kept in step
 * with the table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../src/core/config_schema.h"
#include "balkon/config.h"
#include "balkon/driver.h"
#include "balkon/error.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct balkon_config config;
static struct balkon_config_errors errors;

/* Parses text; returns the rc. */
static int parse(const char *text)
{
    return balkon_config_parse(text, &config, &errors);
}

/* Asserts that exactly one error was reported and that it is `expected`. */
static void expect_one_error(const char *text, const char *expected)
{
    int rc = parse(text);
    if (errors.count != 1 || strcmp(errors.items[0], expected) != 0) {
        for (size_t i = 0; i < errors.count; i++)
            print_error("  got: %s\n", errors.items[i]);
        print_error("  expected: %s\n", expected);
        fail();
    }
    assert_true(rc < 0);
}

/* Parses text and expects exactly these errors, in this order (NULL-terminated). */
static void expect_errors(const char *text, const char *const *expected)
{
    int rc = parse(text);
    size_t n = 0;
    while (expected[n])
        n++;
    bool same = errors.count == n;
    for (size_t i = 0; same && i < n; i++)
        same = strcmp(errors.items[i], expected[i]) == 0;
    if (!same) {
        for (size_t i = 0; i < errors.count; i++)
            print_error("  got: %s\n", errors.items[i]);
        for (size_t i = 0; i < n; i++)
            print_error("  expected: %s\n", expected[i]);
        fail();
    }
    assert_true(rc < 0);
}

static void test_defaults_from_empty_object(void **state)
{
    assert_int_equal(parse("{}"), 0);
    assert_int_equal(errors.count, 0);
    assert_float_equal(config.inverter.ac_limit_w, 800, 0);
    assert_float_equal(config.battery.capacity_wh, 2240, 0);
    assert_string_equal(config.battery.coupling, "ac");
    /* No default plane: one nobody has would be forecast and planned for. */
    assert_int_equal(config.pv.plane_count, 0);
    assert_string_equal(config.http.listen, "127.0.0.1:8080");
    assert_int_equal(config.storage.raw_retention_days, 7);
    assert_int_equal(config.devices.count, 0);
}

static void test_comments_are_allowed(void **state)
{
    assert_int_equal(parse("// a comment\n{ /* inline */ \"battery\": {\"capacity_wh\": 5000} }"),
                     0);
    assert_float_equal(config.battery.capacity_wh, 5000, 0);
}

static void test_invalid_json(void **state)
{
    assert_int_equal(parse("{\"battery\": {\"capacity_wh\": }"), BALKON_E_PARSE);
    assert_int_equal(errors.count, 1);
    assert_non_null(strstr(errors.items[0], "not valid JSON"));
    assert_int_equal(parse("[1,2]"), BALKON_E_INVAL);
    assert_string_equal(errors.items[0], "(config): must be a JSON object");
    assert_int_equal(parse("{} trailing"), BALKON_E_PARSE);
}

static void test_number_errors(void **state)
{
    expect_one_error("{\"battery\":{\"capacity_wh\":-5}}",
                     "battery.capacity_wh: must be > 0 and <= 100000, got -5");
    expect_one_error("{\"battery\":{\"capacity_wh\":\"big\"}}",
                     "battery.capacity_wh: must be a number, got \"big\"");
    expect_one_error("{\"site\":{\"latitude\":91}}",
                     "site.latitude: must be between -90 and 90, got 91");
    expect_one_error("{\"storage\":{\"raw_retention_days\":1.5}}",
                     "storage.raw_retention_days: must be a whole number, got 1.5");
    expect_one_error("{\"battery\":{\"capacity_wh\":null}}",
                     "battery.capacity_wh: must be a number, got null");
    expect_one_error("{\"battery\":{\"capacity_wh\":true}}",
                     "battery.capacity_wh: must be a number, got true");
}

static void test_string_and_enum_errors(void **state)
{
    expect_one_error("{\"battery\":{\"coupling\":\"xx\"}}",
                     "battery.coupling: must be one of \"ac\", \"dc\", got \"xx\"");
    expect_one_error("{\"battery\":{\"coupling\":1}}", "battery.coupling: must be a string, got 1");
    expect_one_error("{\"storage\":{\"path\":\"\"}}", "storage.path: must not be empty");
    char text[256];
    snprintf(text, sizeof text, "{\"site\":{\"name\":\"%0100d\"}}", 0);
    expect_one_error(text, "site.name: is too long (at most 63 characters)");
    expect_one_error("{\"log\":{\"level\":\"loud\"}}",
                     "log.level: must be one of \"error\", \"warn\", \"notice\", \"info\", "
                     "\"debug\", got \"loud\"");
}

static void test_unknown_keys(void **state)
{
    expect_one_error("{\"battery\":{\"capacity_w\":100}}",
                     "battery.capacity_w: unknown option (did you mean \"capacity_wh\"?)");
    expect_one_error("{\"frobnicate\":1}", "frobnicate: unknown option");
}

static void test_object_and_array_errors(void **state)
{
    expect_one_error("{\"battery\":5}", "battery: must be an object, got 5");
    expect_one_error("{\"pv\":{\"planes\":{}}}", "pv.planes: must be an array, got an object");
    expect_one_error("{\"pv\":{\"planes\":[{\"peak_w\":100},{\"peak_w\":100},{\"peak_w\":100},"
                     "{\"peak_w\":100},{\"peak_w\":100},{\"peak_w\":100},{\"peak_w\":100},"
                     "{\"peak_w\":100},{\"peak_w\":100}]}}",
                     "pv.planes: must have between 0 and 8 items, got 9");
    /* A forecast per plane has nothing to forecast without planes. */
    expect_one_error("{\"providers\":[{\"id\":\"pv\",\"type\":\"open_meteo\"}]}",
                     "pv.planes: needs at least one plane: providers[0] (type \"open_meteo\") "
                     "forecasts per plane");
    expect_one_error("{\"pv\":{\"planes\":[5]}}", "pv.planes[0]: must be an object, got 5");
    expect_one_error("{\"pv\":{\"planes\":[{\"tilt\":30}]}}", "pv.planes[0].peak_w: is required");
    expect_one_error("{\"pv\":{\"planes\":[{\"peak_w\":400},{\"peak_w\":400,\"azimuth\":200}]}}",
                     "pv.planes[1].azimuth: must be between -180 and 180, got 200");
    expect_one_error("{\"devices\":[{\"type\":\"simulator\"}]}", "devices[0].id: is required");
}

static void test_cross_field_checks(void **state)
{
    expect_one_error("{\"battery\":{\"soc_min_pct\":80,\"soc_max_pct\":70}}",
                     "battery.soc_min_pct: must be below soc_max_pct (70), got 80");
    expect_one_error("{\"pv\":{\"planes\":[{\"peak_w\":1500},{\"peak_w\":1000}]}}",
                     "pv.planes: total peak power must be <= 2000 Wp, got 2500 Wp");
    expect_one_error("{\"devices\":[{\"id\":\"a\",\"type\":\"simulator\"},{\"id\":\"a\",\"type\":"
                     "\"simulator\"}]}",
                     "devices[1].id: duplicate id \"a\" (also devices[0])");
    expect_one_error("{\"devices\":[{\"id\":\"a b\",\"type\":\"simulator\"}]}",
                     "devices[0].id: may contain only letters, digits, '_' and '-', got \"a b\"");
    /* The known types are every driver's, listed from the driver table. */
    char known[256], expected[320];
    balkon_driver_list_types(known, sizeof known);
    snprintf(expected, sizeof expected,
             "devices[0].type: unknown device type \"toaster\" (known: %s)", known);
    assert_non_null(strstr(known, "\"simulator\""));
    expect_one_error("{\"devices\":[{\"id\":\"x\",\"type\":\"toaster\"}]}", expected);
    expect_one_error("{\"http\":{\"listen\":\"8080\"}}",
                     "http.listen: must be ADDRESS:PORT like \"0.0.0.0:8080\", got \"8080\"");
    expect_one_error(
        "{\"http\":{\"listen\":\"127.0.0.1:99999\"}}",
        "http.listen: must be ADDRESS:PORT like \"0.0.0.0:8080\", got \"127.0.0.1:99999\"");
    expect_one_error(
        "{\"site\":{\"timezone\":\"Mars/Olympus\"}}",
        "site.timezone: unknown time zone \"Mars/Olympus\" (expected e.g. \"Europe/Berlin\")");
    /* The map's tiles: an origin the page's Content-Security-Policy can name exactly, and
     * the three places the browser fills in; the place search gets no query of its own. */
    expect_one_error(
        "{\"site\":{\"map_tiles_url\":\"https://*.tile.example.org/{z}/{x}/{y}.png\"}}",
        "site.map_tiles_url: must be an http:// or https:// URL with a plain host "
        "name or address (no user:pass@, no wildcard), like "
        "\"https://tile.openstreetmap.org/{z}/{x}/{y}.png\", got "
        "\"https://*.tile.example.org/{z}/{x}/{y}.png\"");
    expect_one_error("{\"site\":{\"map_tiles_url\":\"https://tile.example.org/{z}/{x}.png\"}}",
                     "site.map_tiles_url: must have {z}, {x} and {y} in its path, like "
                     "\"https://tile.openstreetmap.org/{z}/{x}/{y}.png\", got "
                     "\"https://tile.example.org/{z}/{x}.png\"");
    expect_one_error(
        "{\"site\":{\"map_tiles_url\":\"https://tile.example.org/{z}/{x}/{y}.png?a='1'\"}}",
        "site.map_tiles_url: must not contain spaces, quotes, '<', '>', '\\' or '`', "
        "got \"https://tile.example.org/{z}/{x}/{y}.png?a='1'\"");
    expect_one_error("{\"site\":{\"geocoder_url\":\"https://geo.example.org/v1/search?key=1\"}}",
                     "site.geocoder_url: must not have a query or fragment (the daemon adds its "
                     "own), got \"https://geo.example.org/***\"");
    expect_one_error("{\"site\":{\"geocoder_url\":\"geo.example.org\"}}",
                     "site.geocoder_url: must be an http:// or https:// URL like "
                     "\"https://geocoding-api.open-meteo.com/v1/search\", got \"geo.example.org\"");
    assert_int_equal(parse("{\"site\":{\"map_tiles_url\":\"\",\"geocoder_url\":\"\"}}"), 0);
    assert_int_equal(
        parse("{\"site\":{\"map_tiles_url\":\"http://127.0.0.1:8088/t/{z}/{x}/{y}.png\"}}"), 0);
    expect_one_error("{\"simulation\":{\"start\":\"yesterday\"}}",
                     "simulation.start: must be \"now\" or an ISO-8601 time like "
                     "\"2026-06-21T04:00:00Z\", got \"yesterday\"");
    /* A window the plan cannot follow is refused, not drawn and planned at 0 W. */
    expect_one_error("{\"optimizer\":{\"schedule\":[{\"from\":\"01:00\",\"to\":\"05:00\","
                     "\"mode\":\"grid_charge\"}]}}",
                     "optimizer.schedule[0].mode: needs optimizer.allow_grid_charge true, or the "
                     "window plans 0 W");
    expect_one_error("{\"optimizer\":{\"schedule\":[{\"from\":\"10:00\",\"to\":\"14:00\","
                     "\"mode\":\"charge\",\"power_w\":2000}]}}",
                     "optimizer.schedule[0].power_w: must be <= 800 (battery.max_charge_w), got "
                     "2000");
    expect_one_error(
        "{\"battery\":{\"max_discharge_w\":600},\"optimizer\":{\"schedule\":[{"
        "\"from\":\"18:00\",\"to\":\"22:00\",\"mode\":\"discharge\",\"power_w\":700}]}}",
        "optimizer.schedule[0].power_w: must be <= 600 (battery.max_discharge_w), "
        "got 700");
}

static void test_provider_errors(void **state)
{
    expect_one_error("{\"providers\":[{\"type\":\"awattar\"}]}", "providers[0].id: is required");
    expect_one_error(
        "{\"providers\":[{\"id\":\"p\",\"type\":\"nordpool\"}]}",
        "providers[0].type: unknown provider type \"nordpool\" (known: \"fixed\", \"tou\", "
        "\"awattar\", "
        "\"energy_charts\", \"entsoe\", \"tibber\", \"octopus\", \"open_meteo\", "
        "\"forecast_solar\", "
        "\"solcast\", \"energy_charts_signal\", \"corrently\", \"uk_carbon\", \"sim_solar\")");
    expect_one_error(
        "{\"providers\":[{\"id\":\"p\",\"type\":\"awattar\",\"area\":\"fr\"}]}",
        "providers[0].area: must be \"de\" or \"at\" for type \"awattar\", got \"fr\"");
    expect_one_error(
        "{\"providers\":[{\"id\":\"p\",\"type\":\"awattar\"},{\"id\":\"p\",\"type\":\"awattar\"}]}",
        "providers[1].id: duplicate id \"p\" (also providers[0])");
    expect_one_error("{\"providers\":[{\"id\":\"p\",\"type\":\"awattar\",\"vat_pct\":-1}]}",
                     "providers[0].vat_pct: must be between 0 and 100, got -1");
    expect_one_error(
        "{\"providers\":[{\"id\":\"p\",\"type\":\"awattar\",\"base_url\":\"ftp://x\"}]}",
        "providers[0].base_url: must start with http:// or https://, got \"ftp://x\"");
    expect_one_error(
        "{\"providers\":[{\"id\":\"p\",\"type\":\"tou\",\"zones\":[{\"days\":\"mon-fri\","
        "\"from\":\"25:00\",\"to\":\"06:00\",\"price_per_kwh\":0.2}]}]}",
        "providers[0].zones[0].from: must be a time HH:MM, got \"25:00\"");
    /* Both missing options of one provider are reported, not just the first. */
    assert_true(parse("{\"providers\":[{\"id\":\"p\",\"type\":\"solcast\"}]}") < 0);
    assert_int_equal(errors.count, 2);
    assert_string_equal(errors.items[0], "providers[0].token: type \"solcast\" needs the API key");
    assert_string_equal(
        errors.items[1],
        "providers[0].site_id: type \"solcast\" needs the rooftop site's resource id");
    /* A disabled provider may be incomplete: it is not used. */
    assert_int_equal(
        parse("{\"providers\":[{\"id\":\"p\",\"type\":\"solcast\",\"enabled\":false}]}"), 0);
    expect_one_error("{\"tariff\":{\"currency\":\"euro\"}}",
                     "tariff.currency: is too long (at most 3 characters)");
}

/* Each channel type checks its own options (src/channels/ch_*.c); the messages are the ones
 * the config has always given. */
static void test_channel_errors(void **state)
{
#define CH(json) "{\"notifications\":{\"channels\":[" json "]}}"
#define AT "notifications.channels[0]."
    expect_errors(CH("{\"id\":\"n\",\"type\":\"ntfy\"}"),
                  (const char *[]){AT "url: is required for a ntfy channel",
                                   AT "topic: is required for a ntfy channel", NULL});
    expect_one_error(CH("{\"id\":\"n\",\"type\":\"ntfy\",\"url\":\"ftp://x\",\"topic\":\"t\"}"),
                     AT "url: must start with http:// or https://, got \"ftp://x\"");
    expect_errors(CH("{\"id\":\"g\",\"type\":\"gotify\"}"),
                  (const char *[]){AT "url: is required for a gotify channel",
                                   AT "token: is required for a gotify channel", NULL});
    expect_one_error(CH("{\"id\":\"w\",\"type\":\"webhook\"}"),
                     AT "url: is required for a webhook channel");
    expect_errors(CH("{\"id\":\"t\",\"type\":\"telegram\",\"url\":\"x\"}"),
                  (const char *[]){AT "url: must start with http:// or https://, got \"x\"",
                                   AT "token: is required for a telegram channel",
                                   AT "chat_id: is required for a telegram channel", NULL});
    expect_errors(CH("{\"id\":\"p\",\"type\":\"pushover\"}"),
                  (const char *[]){AT "token: is required for a pushover channel",
                                   AT "user: is required for a pushover channel (the user key)",
                                   NULL});
    expect_errors(CH("{\"id\":\"e\",\"type\":\"email\",\"url\":\"https://mail\",\"from\":\"me\"}"),
                  (const char *[]){AT "url: must be smtp://host:port or smtps://host:port for an "
                                      "email channel, got \"https://mail\"",
                                   AT "from: must be an e-mail address, got \"me\"",
                                   AT "to: must be an e-mail address, got \"\"", NULL});
    expect_errors(
        CH("{\"id\":\"m\",\"type\":\"mqtt\",\"topic\":\"a/#\"}"),
        (const char *[]){AT "topic: must not contain MQTT wildcards, got \"a/#\"",
                         AT "type: \"mqtt\" needs the mqtt section enabled (mqtt.enabled true)",
                         NULL});
    expect_errors(
        CH("{\"id\":\"m\",\"type\":\"mqtt\"}"),
        (const char *[]){AT "topic: is required for a mqtt channel",
                         AT "type: \"mqtt\" needs the mqtt section enabled (mqtt.enabled true)",
                         NULL});
#undef AT
#undef CH
}

/* The strategies' and drivers' messages come from their registries. */
static void test_registry_errors(void **state)
{
    expect_one_error(
        "{\"optimizer\":{\"strategy\":\"cheapest\"}}",
        "optimizer.strategy: unknown strategy \"cheapest\" (known: \"self_consumption\", "
        "\"optimal\", \"fixed_schedule\")");
    expect_one_error("{\"devices\":[{\"id\":\"s\",\"type\":\"shelly_gen1\"}]}",
                     "devices[0].host: is required for type \"shelly_gen1\"");
    expect_one_error(
        "{\"devices\":[{\"id\":\"s\",\"type\":\"shelly_gen2\",\"host\":\"h\",\"role\":\"battery\"}]"
        "}",
        "devices[0].role: must be \"meter\" or \"plug\" for type \"shelly_gen2\", got \"battery\"");
    expect_one_error(
        "{\"devices\":[{\"id\":\"t\",\"type\":\"tasmota\",\"protocol\":\"udp\"}]}",
        "devices[0].protocol: must be \"http\" or \"mqtt\" for type \"tasmota\", got \"udp\"");
    expect_one_error("{\"devices\":[{\"id\":\"t\",\"type\":\"tasmota\"}]}",
                     "devices[0].host: is required for type \"tasmota\" with protocol \"http\"");
    expect_one_error("{\"devices\":[{\"id\":\"o\",\"type\":\"opendtu\",\"serial\":\"1161\",\"max_"
                     "power_w\":800}]}",
                     "devices[0].host: is required for type \"opendtu\" with protocol \"http\"");
}

static void test_reports_every_problem(void **state)
{
    int rc = parse("{\"battery\":{\"capacity_wh\":-1,\"max_charge_w\":\"x\"},\"site\":{"
                   "\"latitude\":200},\"nope\":1}");
    assert_int_equal(rc, BALKON_E_INVAL);
    assert_int_equal(errors.count, 4);
    /* Far more problems than the list holds are counted, not lost silently. */
    char text[8192] = "{";
    for (int i = 0; i < 50; i++) {
        size_t len = strlen(text);
        snprintf(text + len, sizeof text - len, "%s\"unknown%d\":1", i ? "," : "", i);
    }
    strcat(text, "}");
    assert_int_equal(parse(text), BALKON_E_INVAL);
    assert_int_equal(errors.count, BALKON_CONFIG_MAX_ERRORS);
    assert_int_equal(errors.dropped, 50 - BALKON_CONFIG_MAX_ERRORS);
}

static void test_load_missing_file(void **state)
{
    int rc = balkon_config_load("/nonexistent/balkon.json", &config, &errors);
    assert_int_equal(rc, BALKON_E_IO);
    assert_string_equal(errors.items[0],
                        "/nonexistent/balkon.json: cannot open: No such file or directory");
}

/* A table of our own exercises the secret mechanism generically. */
struct secret_test {
    char token[32];
    char plain[32];
};
static const struct cfg_row secret_rows[] = {
    {"token", CFG_STRING, offsetof(struct secret_test, token), 32, CFG_SECRET, 0, 0, "\"\"", NULL,
     NULL, 0, NULL, "a secret"},
    {"plain", CFG_STRING, offsetof(struct secret_test, plain), 32, 0, 0, 0, "\"\"", NULL, NULL, 0,
     NULL, "not a secret"},
};
static const struct cfg_table secret_table = {secret_rows, 2, NULL};

static void test_secret_from_environment_and_redacted(void **state)
{
    struct secret_test t;
    memset(&t, 0, sizeof t);
    memset(&errors, 0, sizeof errors);
    setenv("BALKON_TEST_TOKEN", "s3cr3t", 1);
    assert_int_equal(cfg_parse(&secret_table,
                               "{\"token\":\"env:BALKON_TEST_TOKEN\",\"plain\":\"env:X\"}", &t,
                               &errors),
                     0);
    assert_string_equal(t.token, "s3cr3t");
    assert_string_equal(t.plain, "env:X"); /* only secrets read the environment */
    cJSON *json = cfg_to_json(&secret_table, &t);
    char *text = cJSON_PrintUnformatted(json);
    assert_string_equal(text, "{\"token\":\"***\",\"plain\":\"env:X\"}");
    free(text);
    cJSON_Delete(json);

    memset(&errors, 0, sizeof errors);
    unsetenv("BALKON_TEST_MISSING");
    assert_true(cfg_parse(&secret_table, "{\"token\":\"env:BALKON_TEST_MISSING\"}", &t, &errors) <
                0);
    assert_string_equal(errors.items[0],
                        "token: environment variable BALKON_TEST_MISSING is not set");
}

static void test_restart_options_are_kept(void **state)
{
    struct balkon_config running, next;
    assert_int_equal(
        balkon_config_parse("{\"http\":{\"listen\":\"127.0.0.1:1\"}}", &running, &errors), 0);
    assert_int_equal(
        balkon_config_parse(
            "{\"http\":{\"listen\":\"127.0.0.1:2\"},\"battery\":{\"capacity_wh\":999}}", &next,
            &errors),
        0);
    char changed[256];
    balkon_config_keep_restart_options(&running, &next, changed, sizeof changed);
    assert_string_equal(changed, "http.listen");
    assert_string_equal(next.http.listen, "127.0.0.1:1");
    assert_float_equal(next.battery.capacity_wh, 999, 0); /* live options change */
    balkon_config_keep_restart_options(&running, &next, changed, sizeof changed);
    assert_string_equal(changed, "");
}

static void test_to_json_round_trips(void **state)
{
    assert_int_equal(parse("{\"battery\":{\"capacity_wh\":1234},\"devices\":[{\"id\":\"d1\","
                           "\"type\":\"simulator\"}]}"),
                     0);
    cJSON *json = balkon_config_to_json(&config);
    char *text = cJSON_PrintUnformatted(json);
    struct balkon_config again;
    assert_int_equal(balkon_config_parse(text, &again, &errors), 0);
    assert_memory_equal(&config, &again, sizeof config);
    free(text);
    cJSON_Delete(json);
}

static char *read_source_file(const char *relative)
{
    const char *dir = getenv("BALKON_SOURCE_DIR");
    assert_non_null(dir);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, relative);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    static char buffer[256 * 1024];
    size_t n = fread(buffer, 1, sizeof buffer - 1, f);
    fclose(f);
    buffer[n] = '\0';
    return strdup(buffer);
}

static void test_docs_match_the_table(void **state)
{
    char *expected = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&expected, &size);
    balkon_config_write_doc(mem);
    fclose(mem);
    char *actual = read_source_file("docs/configuration.md");
    if (strcmp(expected, actual) != 0)
        fail_msg("docs/configuration.md is out of date: run "
                 "`build/balkonsolard --config-doc > docs/configuration.md`");
    free(expected);
    free(actual);
}

/* Every key the table knows must appear in the example file: it documents every option. */
static void assert_keys_present(const cJSON *reference, const cJSON *example, const char *path)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, reference)
    {
        const cJSON *other = cJSON_GetObjectItemCaseSensitive(example, item->string);
        if (!other)
            fail_msg("config/balkonsolar.example.json lacks %s.%s", path, item->string);
        char sub[128];
        snprintf(sub, sizeof sub, "%s.%s", path, item->string);
        if (cJSON_IsObject(item))
            assert_keys_present(item, other, sub);
        else if (cJSON_IsArray(item) && cJSON_GetArraySize(item) > 0 &&
                 cJSON_GetArraySize(other) > 0)
            assert_keys_present(cJSON_GetArrayItem(item, 0), cJSON_GetArrayItem(other, 0), sub);
    }
}

static void test_example_and_demo_configs_are_valid_and_complete(void **state)
{
    char *text = read_source_file("config/balkonsolar.example.json");
    setenv("TIBBER_TOKEN", "example-token", 1); /* the example reads it from the environment */
    if (parse(text) != 0)
        fail_msg("config/balkonsolar.example.json: %s", errors.items[0]);
    cJSON *reference = balkon_config_to_json(&config);
    cJSON_Minify(text);
    cJSON *example = cJSON_Parse(text);
    assert_non_null(example);
    assert_keys_present(reference, example, "");
    cJSON_Delete(reference);
    cJSON_Delete(example);
    free(text);

    text = read_source_file("config/demo.json");
    assert_int_equal(parse(text), 0);
    assert_int_equal(config.devices.count, 1);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_from_empty_object),
        cmocka_unit_test(test_comments_are_allowed),
        cmocka_unit_test(test_invalid_json),
        cmocka_unit_test(test_number_errors),
        cmocka_unit_test(test_string_and_enum_errors),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_object_and_array_errors),
        cmocka_unit_test(test_cross_field_checks),
        cmocka_unit_test(test_provider_errors),
        cmocka_unit_test(test_channel_errors),
        cmocka_unit_test(test_registry_errors),
        cmocka_unit_test(test_reports_every_problem),
        cmocka_unit_test(test_load_missing_file),
        cmocka_unit_test(test_secret_from_environment_and_redacted),
        cmocka_unit_test(test_restart_options_are_kept),
        cmocka_unit_test(test_to_json_round_trips),
        cmocka_unit_test(test_docs_match_the_table),
        cmocka_unit_test(test_example_and_demo_configs_are_valid_and_complete),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
