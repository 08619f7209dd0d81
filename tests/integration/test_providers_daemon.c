/* The real balkonsolard fetching prices, solar forecasts and grid signals from local fake
 * servers that answer with the providers' recorded formats (tests/fixtures/providers):
 * what a user sees through the API, a failing provider isolated from the others, Retry-After
 * honoured, a timeout, stale data kept when a provider breaks, and a restart that does not
 * fetch again what the database already holds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_http.h"
#include "harness.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* Serves a fixture's recorded response (with its status and first extra header). */
static void serve_fixture(struct fake_http *fake, const char *prefix, const char *provider_case,
                          int delay_ms)
{
    const char *root = getenv("BALKON_FIXTURES");
    assert_non_null(root);
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/providers/%s", root, provider_case);

    int status = 200;
    snprintf(path, sizeof path, "%s/status.txt", dir);
    char *status_text = fake_read_file(path, NULL);
    if (status_text)
        status = atoi(status_text);
    free(status_text);

    const char *names[] = {"response.json", "response.txt", "response.html", "response.xml"};
    char *body = NULL;
    size_t size = 0;
    const char *type = "application/json";
    for (size_t i = 0; i < sizeof names / sizeof *names && !body; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        body = fake_read_file(path, &size);
        if (body && i == 1)
            type = "text/plain";
        if (body && i == 2)
            type = "text/html";
        if (body && i == 3)
            type = "application/xml";
    }
    assert_non_null(body);

    /* The first header that matters to us: Retry-After, when the fixture has one. */
    char header[128] = "";
    snprintf(path, sizeof path, "%s/headers.txt", dir);
    char *headers = fake_read_file(path, NULL);
    if (headers) {
        char *line = strstr(headers, "Retry-After:");
        if (line)
            snprintf(header, sizeof header, "%.*s", (int)strcspn(line, "\r\n"), line);
    }
    free(headers);
    fake_http_route(fake, prefix, status, type, body, size, header[0] ? header : NULL, delay_ms);
    free(body);
}

/* One plane of 890 Wp behind an 800 W inverter, Berlin; providers as given. */
static void write_config(struct harness_fixture *f, double speed, const char *start,
                         const char *providers)
{
    char json[8192];
    snprintf(json, sizeof json,
             "{\n"
             "  \"site\": {\"name\": \"providers test\", \"latitude\": 52.52, \"longitude\": 13.41,"
             " \"timezone\": \"Europe/Berlin\"},\n"
             "  \"pv\": {\"planes\": [{\"name\": \"south\", \"tilt\": 35, \"azimuth\": 0, "
             "\"peak_w\": 890}]},\n"
             "  \"inverter\": {\"ac_limit_w\": 800},\n"
             "  \"battery\": {\"capacity_wh\": 2240},\n"
             "  \"simulation\": {\"speed\": %g, \"start\": \"%s\"},\n"
             "  \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}],\n"
             "  \"tariff\": {\"feed_in_per_kwh\": 0.0},\n"
             "  \"providers\": [%s]\n"
             "}\n",
             speed, start, providers);
    harness_write_config(&f->daemon, json);
}

/* The /api/v1/providers entry of one provider (caller deletes). */
static cJSON *provider_status(struct daemon_proc *d, const char *id)
{
    cJSON *all = harness_get_json(d, "/api/v1/providers");
    assert_non_null(all);
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(all, "providers"))
    {
        const cJSON *item_id = cJSON_GetObjectItem(item, "id");
        if (cJSON_IsString(item_id) && strcmp(item_id->valuestring, id) == 0) {
            cJSON *copy = cJSON_Duplicate(item, 1);
            cJSON_Delete(all);
            return copy;
        }
    }
    cJSON_Delete(all);
    fail_msg("provider %s not in /api/v1/providers", id);
    return NULL;
}

/* Waits until the provider reaches `state` ("ok", "failing"); returns its status. */
static cJSON *wait_provider(struct daemon_proc *d, const char *id, const char *state,
                            int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        cJSON *status = provider_status(d, id);
        if (strcmp(harness_text(status, "state"), state) == 0)
            return status;
        cJSON_Delete(status);
        harness_sleep_ms(100);
    }
    fail_msg("provider %s never became %s\n%s", id, state, harness_log(d));
    return NULL;
}

static const char *PROVIDERS_SUMMER =
    "{\"id\": \"market\", \"type\": \"energy_charts\", \"base_url\": \"%1$s/ec\","
    " \"charges_per_kwh\": 0.20, \"vat_pct\": 19},"
    "{\"id\": \"broken\", \"type\": \"awattar\", \"base_url\": \"%1$s/aw\"},"
    "{\"id\": \"sky\", \"type\": \"open_meteo\", \"base_url\": \"%1$s/om\"},"
    "{\"id\": \"fs\", \"type\": \"forecast_solar\", \"base_url\": \"%1$s/fs\"},"
    "{\"id\": \"grid\", \"type\": \"energy_charts_signal\", \"base_url\": \"%1$s/ecs\"}";

static void start_summer_day(struct harness_fixture *f)
{
    serve_fixture(f->fakes[0], "/ec/price", "energy_charts/normal_quarter_hourly", 0);
    serve_fixture(f->fakes[0], "/aw/", "awattar/http_500", 0);
    serve_fixture(f->fakes[0], "/om/", "open_meteo/minutely_15", 0);
    serve_fixture(f->fakes[0], "/fs/", "forecast_solar/normal", 0);
    serve_fixture(f->fakes[0], "/ecs/signal", "energy_charts_signal/normal", 0);
    char providers[2048];
    snprintf(providers, sizeof providers, PROVIDERS_SUMMER, fake_http_base(f->fakes[0]));
    /* 10:00 in Berlin: today's prices are out, tomorrow's are not (published ~13:00). */
    write_config(f, 1, "2026-06-21T08:00:00Z", providers);
    assert_true(harness_start(&f->daemon, NULL));
}

static void test_prices_forecast_and_signal_reach_the_api(void **state)
{
    struct harness_fixture *f = *state;
    start_summer_day(f);
    struct daemon_proc *d = &f->daemon;
    cJSON_Delete(wait_provider(d, "market", "ok", 10000));
    cJSON_Delete(wait_provider(d, "sky", "ok", 10000));
    cJSON_Delete(wait_provider(d, "fs", "ok", 10000));
    cJSON_Delete(wait_provider(d, "grid", "ok", 10000));

    /* Consumer price = (market + charges) × (1 + VAT), on 96 quarter-hours of the day. */
    cJSON *prices = harness_get_json(d, "/api/v1/prices");
    assert_non_null(prices);
    assert_string_equal(harness_text(prices, "provider"), "market");
    assert_string_equal(harness_text(prices, "unit"), "EUR/kWh");
    const cJSON *ts = cJSON_GetObjectItem(prices, "ts");
    const cJSON *price = cJSON_GetObjectItem(prices, "price");
    const cJSON *market = cJSON_GetObjectItem(prices, "market");
    assert_int_equal(cJSON_GetArraySize(ts), 96);
    assert_int_equal(cJSON_GetArraySize(price), 96);
    /* 2026-06-20T22:00Z = local midnight of the 21st. */
    assert_true(cJSON_GetArrayItem(ts, 0)->valuedouble == 1781992800000.0);
    double market0 = cJSON_GetArrayItem(market, 0)->valuedouble;
    assert_true(fabs(market0 - 0.08547) < 1e-9);
    assert_true(fabs(cJSON_GetArrayItem(price, 0)->valuedouble - (0.08547 + 0.20) * 1.19) < 1e-5);
    const cJSON *summary = cJSON_GetObjectItem(prices, "summary");
    assert_true(harness_require_number(summary, "min") <= harness_require_number(summary, "now"));
    assert_true(harness_require_number(summary, "now") <= harness_require_number(summary, "max"));
    assert_true(cJSON_IsString(cJSON_GetObjectItem(summary, "now_level")));
    cJSON_Delete(prices);

    /* Open-Meteo irradiance becomes power through our PV model, capped at the inverter. */
    cJSON *solar = harness_get_json(d, "/api/v1/forecast/solar?provider=sky");
    assert_non_null(solar);
    const cJSON *power = cJSON_GetObjectItem(solar, "power_w");
    assert_true(cJSON_GetArraySize(power) >= 90);
    double peak_w = 0;
    const cJSON *value;
    cJSON_ArrayForEach(value, power) peak_w = fmax(peak_w, value->valuedouble);
    assert_true(peak_w > 400 && peak_w <= 800);
    assert_true(harness_require_number(solar, "energy_wh") > 2000);
    cJSON_Delete(solar);

    /* Forecast.Solar gives watts for the plane itself; capped the same way. */
    cJSON *fs = harness_get_json(d, "/api/v1/forecast/solar?provider=fs");
    assert_non_null(fs);
    peak_w = 0;
    cJSON_ArrayForEach(value, cJSON_GetObjectItem(fs, "power_w")) peak_w =
        fmax(peak_w, value->valuedouble);
    assert_true(peak_w > 300 && peak_w <= 800);
    cJSON_Delete(fs);

    /* The grid signal: renewable share and the traffic light. */
    cJSON *signal = harness_get_json(d, "/api/v1/signal");
    assert_non_null(signal);
    char *signal_text = cJSON_PrintUnformatted(signal);
    assert_non_null(strstr(signal_text, "\"renewable_share_pct\""));
    assert_non_null(strstr(signal_text, "\"grid_signal\""));
    free(signal_text);
    cJSON_Delete(signal);

    /* The broken provider is failing on its own; the others are untouched by it. */
    cJSON *broken = wait_provider(d, "broken", "failing", 10000);
    assert_non_null(strstr(harness_text(broken, "last_error"), "500"));
    assert_string_equal(harness_text(broken, "last_error_code"), "http");
    assert_true(harness_require_number(broken, "consecutive_failures") >= 1);
    assert_true(harness_require_number(broken, "next_run_in_s") >= 20);
    cJSON_Delete(broken);
    cJSON *ok = provider_status(d, "market");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(ok, "last_error")));
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(ok, "stale")));
    /* Tomorrow's prices are not out before 13:00: the next attempt waits for them. */
    assert_true(harness_require_number(ok, "next_run_in_s") >= 3 * 3600 - 60);
    assert_true(harness_require_number(ok, "slot_count") == 96);
    cJSON_Delete(ok);

    /* A second fetch would be a waste: each provider was asked once. */
    assert_int_equal(fake_http_hits(f->fakes[0], "/ec/price"), 1);
    assert_int_equal(fake_http_hits(f->fakes[0], "/om/"), 1);
    char line[512];
    fake_http_last(f->fakes[0], "/om/", line, sizeof line, NULL, 0, NULL, 0);
    assert_non_null(strstr(line, "latitude=52.52"));
    assert_non_null(strstr(line, "tilt=35"));
}

static void test_restart_uses_stored_data(void **state)
{
    struct harness_fixture *f = *state;
    start_summer_day(f);
    struct daemon_proc *d = &f->daemon;
    cJSON_Delete(wait_provider(d, "market", "ok", 10000));
    cJSON_Delete(wait_provider(d, "sky", "ok", 10000));
    long elapsed_ms;
    int status = harness_signal_and_wait(d, SIGTERM, 5000, &elapsed_ms);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* The price server is gone now: the restarted daemon still shows today's prices. */
    fake_http_route(f->fakes[0], "/ec/price", 503, "text/plain", "down", 4, NULL, 0);
    assert_true(harness_start(d, NULL));
    cJSON *market = wait_provider(d, "market", "ok", 5000);
    assert_true(harness_require_number(market, "slot_count") >= 0);
    cJSON_Delete(market);
    harness_sleep_ms(1500);
    cJSON *prices = harness_get_json(d, "/api/v1/prices");
    assert_non_null(prices);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(prices, "price")), 96);
    cJSON_Delete(prices);
    /* Replacing a route keeps its hit count: still the one fetch of the first run. */
    if (fake_http_hits(f->fakes[0], "/ec/price") != 1)
        fail_msg("prices fetched again after the restart:\n%s", harness_log(d));
    assert_int_equal(fake_http_hits(f->fakes[0], "/om/"), 1);
    assert_non_null(strstr(harness_log(d), "market: using stored data"));
}

static void test_retry_after_is_honoured(void **state)
{
    struct harness_fixture *f = *state;
    serve_fixture(f->fakes[0], "/ec/price", "energy_charts/http_429", 0);
    char providers[512];
    snprintf(providers, sizeof providers,
             "{\"id\": \"market\", \"type\": \"energy_charts\", \"base_url\": \"%s/ec\"}",
             fake_http_base(f->fakes[0]));
    write_config(f, 1, "2026-06-23T08:00:00Z", providers);
    assert_true(harness_start(&f->daemon, NULL));
    cJSON *market = wait_provider(&f->daemon, "market", "failing", 10000);
    assert_non_null(strstr(harness_text(market, "last_error"), "rate_limited"));
    assert_string_equal(harness_text(market, "last_error_code"), "rate_limited");
    /* Retry-After: 120 beats our own first backoff of about 30 s. */
    double next_s = harness_require_number(market, "next_run_in_s");
    assert_true(next_s >= 110 && next_s <= 121);
    /* Nothing for today is stored: whoever reads the prices is told they are stale. */
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(market, "stale")));
    cJSON_Delete(market);
    harness_sleep_ms(1000);
    assert_int_equal(fake_http_hits(f->fakes[0], "/ec/price"), 1);
}

static void test_timeout_is_an_error_not_a_hang(void **state)
{
    struct harness_fixture *f = *state;
    serve_fixture(f->fakes[0], "/ecs/signal", "energy_charts_signal/normal", 4000);
    serve_fixture(f->fakes[0], "/om/", "open_meteo/minutely_15", 0);
    char providers[512];
    snprintf(providers, sizeof providers,
             "{\"id\": \"grid\", \"type\": \"energy_charts_signal\", \"base_url\": \"%1$s/ecs\", "
             "\"timeout_s\": 1},"
             "{\"id\": \"sky\", \"type\": \"open_meteo\", \"base_url\": \"%1$s/om\"}",
             fake_http_base(f->fakes[0]));
    write_config(f, 1, "2026-06-21T08:00:00Z", providers);
    assert_true(harness_start(&f->daemon, NULL));
    /* The slow server does not hold up the other provider. */
    cJSON_Delete(wait_provider(&f->daemon, "sky", "ok", 3000));
    cJSON *grid = wait_provider(&f->daemon, "grid", "failing", 5000);
    assert_non_null(strstr(harness_text(grid, "last_error"), "no answer"));
    assert_string_equal(harness_text(grid, "last_error_code"), "timeout");
    cJSON_Delete(grid);
    /* The daemon stays responsive and stops quickly even with a request hanging. */
    long elapsed_ms;
    int status = harness_signal_and_wait(&f->daemon, SIGTERM, 5000, &elapsed_ms);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(elapsed_ms < 2000);
}

static void test_failure_keeps_the_last_good_data(void **state)
{
    struct harness_fixture *f = *state;
    serve_fixture(f->fakes[0], "/ecs/signal", "energy_charts_signal/normal", 0);
    char providers[512];
    snprintf(providers, sizeof providers,
             "{\"id\": \"grid\", \"type\": \"energy_charts_signal\", \"base_url\": \"%s/ecs\", "
             "\"interval_min\": 1}",
             fake_http_base(f->fakes[0]));
    /* 30x: the 1-minute interval passes in about two wall seconds. */
    write_config(f, 30, "2026-06-21T08:00:00Z", providers);
    assert_true(harness_start(&f->daemon, NULL));
    cJSON_Delete(wait_provider(&f->daemon, "grid", "ok", 5000));

    fake_http_route(f->fakes[0], "/ecs/signal", 200, "application/json", "{\"unix_seconds\": [1, 2",
                    22, NULL, 0);
    cJSON *grid = wait_provider(&f->daemon, "grid", "failing", 8000);
    assert_non_null(strstr(harness_text(grid, "last_error"), "parse"));
    assert_string_equal(harness_text(grid, "last_error_code"), "parse");
    assert_true(fake_http_hits(f->fakes[0], "/ecs/signal") >= 2);
    cJSON_Delete(grid);

    cJSON *signal = harness_get_json(&f->daemon, "/api/v1/signal?kind=renewable_share_pct");
    assert_non_null(signal);
    char *signal_text = cJSON_PrintUnformatted(signal);
    assert_non_null(strstr(signal_text, "41"));
    free(signal_text);
    cJSON_Delete(signal);
    assert_non_null(strstr(harness_log(&f->daemon), "keeping the stored data"));
}

static void test_implausible_entries_are_reported_and_the_rest_kept(void **state)
{
    struct harness_fixture *f = *state;
    serve_fixture(f->fakes[0], "/ec/price", "energy_charts/null_values", 0);
    char providers[512];
    snprintf(providers, sizeof providers,
             "{\"id\": \"market\", \"type\": \"energy_charts\", \"base_url\": \"%s/ec\"}",
             fake_http_base(f->fakes[0]));
    write_config(f, 1, "2026-06-22T08:00:00Z", providers);
    assert_true(harness_start(&f->daemon, NULL));
    cJSON *market = wait_provider(&f->daemon, "market", "ok", 5000);
    /* Three null prices: dropped and counted; the two inside the day leave a hole. */
    assert_true(harness_require_number(market, "slot_count") == 93);
    assert_true(harness_require_number(market, "rejected_count") == 3);
    assert_true(harness_require_number(market, "hole_count") == 2);
    assert_string_equal(harness_text(market, "first_hole"), "2026-06-22T08:00:00Z");
    cJSON_Delete(market);
    cJSON *prices = harness_get_json(&f->daemon, "/api/v1/prices");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(prices, "price")), 93);
    cJSON_Delete(prices);
    assert_non_null(strstr(harness_log(&f->daemon), "rejected 3 implausible entries"));
}

static void test_tibber_auth_error_inside_http_200(void **state)
{
    struct harness_fixture *f = *state;
    serve_fixture(f->fakes[0], "/tb/", "tibber/auth_error", 0);
    char providers[512];
    snprintf(providers, sizeof providers,
             "{\"id\": \"tibber\", \"type\": \"tibber\", \"base_url\": \"%s/tb\", \"token\": "
             "\"not-my-token\"}",
             fake_http_base(f->fakes[0]));
    write_config(f, 1, "2026-02-10T08:00:00Z", providers);
    assert_true(harness_start(&f->daemon, NULL));
    cJSON *tibber = wait_provider(&f->daemon, "tibber", "failing", 5000);
    assert_non_null(strstr(harness_text(tibber, "last_error"), "auth"));
    cJSON_Delete(tibber);
    char line[256], body[4096], authorization[256];
    fake_http_last(f->fakes[0], "/tb/", line, sizeof line, body, sizeof body, authorization,
                   sizeof authorization);
    assert_string_equal(line, "POST /tb/v1-beta/gql");
    assert_string_equal(authorization, "Bearer not-my-token");
    assert_non_null(strstr(body, "QUARTER_HOURLY"));
    /* The token never reaches the log or the API. */
    assert_null(strstr(harness_log(&f->daemon), "not-my-token"));
    struct http_reply reply = harness_http(&f->daemon, "GET", "/api/v1/providers", NULL, 0, NULL);
    assert_null(strstr(reply.body, "not-my-token"));
    http_reply_free(&reply);
}

static void test_forecast_accuracy_against_measured_pv(void **state)
{
    struct harness_fixture *f = *state;
    serve_fixture(f->fakes[0], "/om/", "open_meteo/minutely_15", 0);
    char providers[512];
    snprintf(providers, sizeof providers,
             "{\"id\": \"sky\", \"type\": \"open_meteo\", \"base_url\": \"%s/om\"}",
             fake_http_base(f->fakes[0]));
    /* 600x from 08:00Z: the forecast is issued at once, then two simulated hours pass. */
    write_config(f, 600, "2026-06-21T08:00:00Z", providers);
    assert_true(harness_start(&f->daemon, NULL));
    cJSON_Delete(wait_provider(&f->daemon, "sky", "ok", 5000));
    harness_sleep_ms(13000);
    cJSON *accuracy = harness_get_json(&f->daemon, "/api/v1/forecast/solar/accuracy?days=1");
    assert_non_null(accuracy);
    const cJSON *sky = cJSON_GetArrayItem(cJSON_GetObjectItem(accuracy, "providers"), 0);
    assert_non_null(sky);
    assert_string_equal(harness_text(sky, "provider"), "sky");
    /* Only slots that began after the forecast was issued and are measured are compared. */
    double slots = harness_require_number(sky, "slots");
    assert_true(slots >= 6 && slots <= 10);
    assert_true(harness_require_number(sky, "mae_w") >= 0);
    const cJSON *day = cJSON_GetArrayItem(cJSON_GetObjectItem(sky, "days"), 0);
    assert_string_equal(harness_text(day, "date"), "2026-06-21");
    assert_true(harness_require_number(day, "forecast_wh") > 500);
    assert_true(harness_require_number(day, "actual_wh") > 100);
    /* The bias is the forecast minus what was measured, per slot on average. */
    double bias_w = harness_require_number(day, "bias_w");
    assert_true(fabs(bias_w - (harness_require_number(day, "forecast_wh") -
                               harness_require_number(day, "actual_wh")) *
                                  4 / harness_require_number(day, "slots")) < 1.0);
    cJSON_Delete(accuracy);
}

static void expect_status(struct daemon_proc *d, const char *path, long status, const char *field)
{
    struct http_reply reply = harness_http(d, "GET", path, NULL, 0, NULL);
    if (reply.status != status || !reply.body || !strstr(reply.body, field))
        fail_msg("GET %s: expected HTTP %ld naming \"%s\", got %ld: %s", path, status, field,
                 reply.status, reply.body ? reply.body : "");
    http_reply_free(&reply);
}

static void test_bad_queries_name_the_parameter(void **state)
{
    struct harness_fixture *f = *state;
    start_summer_day(f);
    struct daemon_proc *d = &f->daemon;
    expect_status(d, "/api/v1/prices?from=yesterday", 400, "from");
    expect_status(d, "/api/v1/prices?from=2026-06-22T00:00:00Z&to=2026-06-21T00:00:00Z", 400,
                  "must be before to");
    expect_status(d, "/api/v1/prices?provider=nope", 404, "provider");
    expect_status(d, "/api/v1/forecast/solar?provider=market", 404, "provider");
    expect_status(d, "/api/v1/forecast/solar/accuracy?days=0", 400, "days");
    expect_status(d, "/api/v1/forecast/solar/accuracy?days=abc", 400, "days");
    expect_status(d, "/api/v1/signal?kind=moon_phase", 404, "kind");
}

/* Serves a file of tests/fixtures/real/ (payloads captured from the real services). */
static void serve_real(struct fake_http *fake, const char *prefix, const char *name)
{
    const char *root = getenv("BALKON_FIXTURES");
    assert_non_null(root);
    char path[512];
    snprintf(path, sizeof path, "%s/real/%s", root, name);
    size_t size = 0;
    char *body = fake_read_file(path, &size);
    assert_non_null(body);
    fake_http_route(fake, prefix, 200, "application/json", body, size, NULL, 0);
    free(body);
}

/* openWB's capture of an aWATTar reply is from October 2023: all in the past for a daemon
 * living in June 2026. The provider shows "stale" with a warning and waits its backoff
 * instead of refetching in a burst (issue 17: Tibber re-fetched 5 times in 6 ms). */
static void test_reply_in_the_past_is_stale_with_backoff(void **state)
{
    struct harness_fixture *f = *state;
    serve_real(f->fakes[0], "/aw/", "awattar/openwb_2023-10-26.json");
    char providers[512];
    snprintf(providers, sizeof providers,
             "{\"id\": \"old\", \"type\": \"awattar\", \"base_url\": \"%s/aw\"}",
             fake_http_base(f->fakes[0]));
    write_config(f, 1, "2026-06-21T08:00:00Z", providers);
    struct daemon_proc *d = &f->daemon;
    assert_true(harness_start(d, NULL));
    cJSON *status = wait_provider(d, "old", "stale", 10000);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(status, "stale")));
    const char *warning = harness_text(status, "warning");
    assert_non_null(strstr(warning, "only past data (until 2023-10-26T22:00:00Z)"));
    assert_true(harness_require_number(status, "next_run_in_s") >= 20);
    cJSON_Delete(status);
    assert_true(harness_wait_log(d, "only past data", 2000));
    /* No burst: still one request after a while. */
    harness_sleep_ms(1500);
    assert_int_equal(fake_http_hits(f->fakes[0], "/aw/"), 1);
}

/* The pages of an Octopus run: the real first page, a second one (by query page=2). */
struct octopus_pages {
    char *page1;
    int page2_hits;
    char page2_line[512];
};

static int octopus_handler(void *user, const char *line, const char *body,
                           const char *authorization, char *reply, size_t reply_size,
                           char *content_type, size_t content_type_size)
{
    struct octopus_pages *pages = user;
    if (strstr(line, "page=2")) {
        pages->page2_hits++;
        snprintf(pages->page2_line, sizeof pages->page2_line, "%s", line);
        snprintf(reply, reply_size,
                 "{\"count\": 26588, \"next\": null, \"previous\": null, \"results\": "
                 "[{\"value_exc_vat\": 16.0, \"value_inc_vat\": 16.8, \"valid_from\": "
                 "\"2024-05-07T19:00:00Z\", \"valid_to\": \"2024-05-07T19:30:00Z\", "
                 "\"payment_method\": null}]}");
    } else {
        snprintf(reply, reply_size, "%s", pages->page1);
    }
    return 200;
}

/* A real Octopus page names api.octopus.energy in `next`; behind base_url the daemon fetches
 * page 2 from base_url with the same path and query, and stores both pages. */
static void test_octopus_pages_behind_base_url(void **state)
{
    struct harness_fixture *f = *state;
    const char *root = getenv("BALKON_FIXTURES");
    assert_non_null(root);
    char path[512];
    snprintf(path, sizeof path, "%s/real/octopus/agile_flex_page1.json", root);
    struct octopus_pages pages = {.page1 = fake_read_file(path, NULL)};
    assert_non_null(pages.page1);
    fake_http_route_handler(f->fakes[0], "/oct/", octopus_handler, &pages);
    char providers[512];
    snprintf(providers, sizeof providers,
             "{\"id\": \"agile\", \"type\": \"octopus\", \"product\": \"AGILE-FLEX-22-11-25\","
             " \"area\": \"J\", \"base_url\": \"%s/oct\"}",
             fake_http_base(f->fakes[0]));
    write_config(f, 1, "2024-05-07T12:00:00Z", providers);
    struct daemon_proc *d = &f->daemon;
    assert_true(harness_start(d, NULL));
    cJSON *status = wait_provider(d, "agile", "ok", 10000);
    /* Five half-hours of page 1 and one of page 2: 12 slots. */
    assert_int_equal((int)harness_require_number(status, "slot_count"), 12);
    cJSON_Delete(status);
    fake_http_lock(f->fakes[0]);
    assert_int_equal(pages.page2_hits, 1);
    assert_string_equal(pages.page2_line,
                        "GET /oct/v1/products/AGILE-FLEX-22-11-25/electricity-tariffs/"
                        "E-1R-AGILE-FLEX-22-11-25-J/standard-unit-rates/?page=2");
    fake_http_unlock(f->fakes[0]);
    harness_stop_cleanly(d, 5000);
    free(pages.page1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_prices_forecast_and_signal_reach_the_api,
                                        harness_setup_fake, harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_restart_uses_stored_data, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_retry_after_is_honoured, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_timeout_is_an_error_not_a_hang, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_failure_keeps_the_last_good_data, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_implausible_entries_are_reported_and_the_rest_kept,
                                        harness_setup_fake, harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_tibber_auth_error_inside_http_200, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_forecast_accuracy_against_measured_pv,
                                        harness_setup_fake, harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_reply_in_the_past_is_stale_with_backoff,
                                        harness_setup_fake, harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_octopus_pages_behind_base_url, harness_setup_fake,
                                        harness_teardown_fakes),
        cmocka_unit_test_setup_teardown(test_bad_queries_name_the_parameter, harness_setup_fake,
                                        harness_teardown_fakes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
