/* GET /metrics of the real daemon, read by a strict parser of Prometheus' text exposition
 * format 0.0.4 (written here, after the format's specification): metric and label name
 * grammar, "# HELP" and "# TYPE" before a family's samples and at most once, label values
 * with only \\ \" \n escapes, Go-style floats (NaN, +Inf, -Inf), every family's samples
 * together, no duplicate series, newline-terminated lines. Then the families the daemon
 * must expose, with sane values: SoC within 0..100, finite power, counters that never
 * fall between two scrapes, read errors of an unreachable device, a failing provider. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FAMILIES 64
#define MAX_SAMPLES 512

struct sample {
    char name[128];
    char labels[512]; /* canonical: k="v",k="v" with the values unescaped */
    double value;
};

struct family {
    char name[128];
    char type[16];
    char help[256];
    bool has_help, has_type, closed, sampled;
};

struct exposition {
    struct family families[MAX_FAMILIES];
    size_t family_count;
    struct sample samples[MAX_SAMPLES];
    size_t sample_count;
    char error[256];
};

static bool name_start(char c, bool metric)
{
    return isalpha((unsigned char)c) || c == '_' || (metric && c == ':');
}
static bool name_char(char c, bool metric)
{
    return name_start(c, metric) || isdigit((unsigned char)c);
}

/* Reads a name at *p; false when there is none. */
static bool read_name(const char **p, char *out, size_t size, bool metric)
{
    const char *s = *p;
    if (!name_start(*s, metric))
        return false;
    size_t n = 0;
    while (name_char(*s, metric)) {
        if (n + 1 >= size)
            return false;
        out[n++] = *s++;
    }
    out[n] = '\0';
    *p = s;
    return true;
}

/* A Go ParseFloat value: decimal or exponent notation, NaN, +Inf, -Inf, Inf. */
static bool parse_float(const char *text, double *out)
{
    if (strcmp(text, "NaN") == 0) {
        *out = NAN;
        return true;
    }
    if (strcmp(text, "+Inf") == 0 || strcmp(text, "Inf") == 0 || strcmp(text, "-Inf") == 0) {
        *out = text[0] == '-' ? -INFINITY : INFINITY;
        return true;
    }
    const char *s = text;
    if (*s == '+' || *s == '-')
        s++;
    bool digits = false;
    while (isdigit((unsigned char)*s)) {
        s++;
        digits = true;
    }
    if (*s == '.') {
        s++;
        while (isdigit((unsigned char)*s)) {
            s++;
            digits = true;
        }
    }
    if (!digits)
        return false;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!isdigit((unsigned char)*s))
            return false;
        while (isdigit((unsigned char)*s))
            s++;
    }
    if (*s)
        return false;
    *out = strtod(text, NULL);
    return true;
}

static struct family *find_family(struct exposition *e, const char *name)
{
    for (size_t i = 0; i < e->family_count; i++)
        if (strcmp(e->families[i].name, name) == 0)
            return &e->families[i];
    return NULL;
}

/* The family a sample name belongs to: itself, or for summaries and histograms the name
 * without _sum, _count, _bucket. */
static struct family *family_of(struct exposition *e, const char *sample)
{
    struct family *f = find_family(e, sample);
    if (f)
        return f;
    static const char *const suffixes[] = {"_sum", "_count", "_bucket"};
    for (size_t i = 0; i < 3; i++) {
        size_t len = strlen(sample), slen = strlen(suffixes[i]);
        if (len > slen && strcmp(sample + len - slen, suffixes[i]) == 0) {
            char base[128];
            snprintf(base, sizeof base, "%.*s", (int)(len - slen), sample);
            f = find_family(e, base);
            if (f && (strcmp(f->type, "summary") == 0 || (strcmp(f->type, "histogram") == 0)))
                return f;
        }
    }
    return NULL;
}

static bool refuse(struct exposition *e, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(e->error, sizeof e->error, "line %d: ", line);
    vsnprintf(e->error + n, sizeof e->error - (size_t)n, fmt, ap);
    va_end(ap);
    return false;
}

/* "# HELP name text" or "# TYPE name type"; other comments are allowed and ignored. */
static bool parse_comment(struct exposition *e, const char *line, int no, struct family **current)
{
    bool help = strncmp(line, "# HELP ", 7) == 0, type = strncmp(line, "# TYPE ", 7) == 0;
    if (!help && !type)
        return true;
    const char *p = line + 7;
    char name[128];
    if (!read_name(&p, name, sizeof name, true))
        return refuse(e, no, "bad metric name in \"%s\"", line);
    struct family *f = find_family(e, name);
    if (f && f->closed)
        return refuse(e, no, "%s: HELP/TYPE after its samples or another family", name);
    if (!f) {
        if (*current)
            (*current)->closed = true;
        if (e->family_count == MAX_FAMILIES)
            return refuse(e, no, "too many families");
        f = &e->families[e->family_count++];
        memset(f, 0, sizeof *f);
        snprintf(f->name, sizeof f->name, "%s", name);
        snprintf(f->type, sizeof f->type, "untyped");
        *current = f;
    } else if (f != *current) {
        return refuse(e, no, "%s: its lines are not together", name);
    }
    if (f->sampled)
        return refuse(e, no, "%s: HELP/TYPE after its samples", name);
    if (help) {
        if (f->has_help)
            return refuse(e, no, "%s: a second HELP", name);
        if (*p != ' ')
            return refuse(e, no, "%s: HELP without text", name);
        p++;
        for (const char *s = p; *s; s++)
            if (*s == '\\' && s[1] != '\\' && s[1] != 'n')
                return refuse(e, no, "%s: bad escape in HELP", name);
            else if (*s == '\\')
                s++;
        snprintf(f->help, sizeof f->help, "%s", p);
        f->has_help = true;
    } else {
        if (f->has_type)
            return refuse(e, no, "%s: a second TYPE", name);
        static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
        bool known = false;
        for (size_t i = 0; i < 5 && *p == ' '; i++)
            known |= strcmp(p + 1, types[i]) == 0;
        if (!known)
            return refuse(e, no, "%s: unknown TYPE \"%s\"", name, p);
        snprintf(f->type, sizeof f->type, "%s", p + 1);
        f->has_type = true;
    }
    return true;
}

static bool parse_labels(struct exposition *e, const char **pp, int no, char *out, size_t size)
{
    const char *p = *pp;
    size_t used = 0;
    out[0] = '\0';
    if (*p != '{')
        return true;
    p++;
    while (*p != '}') {
        char label[128];
        if (!read_name(&p, label, sizeof label, false))
            return refuse(e, no, "bad label name at \"%.20s\"", p);
        if (strncmp(label, "__", 2) == 0)
            return refuse(e, no, "label %s: names starting with __ are reserved", label);
        if (*p++ != '=' || *p++ != '"')
            return refuse(e, no, "label %s: expected =\"", label);
        char value[256];
        size_t n = 0;
        while (*p != '"') {
            if (!*p)
                return refuse(e, no, "label %s: unterminated value", label);
            char c = *p++;
            if (c == '\\') {
                c = *p++;
                if (c == 'n')
                    c = '\n';
                else if (c != '\\' && c != '"')
                    return refuse(e, no, "label %s: bad escape \\%c", label, c);
            } else if (c == '\n') {
                return refuse(e, no, "label %s: raw newline", label);
            }
            if (n + 1 < sizeof value)
                value[n++] = c;
        }
        value[n] = '\0';
        p++;
        char search[140];
        snprintf(search, sizeof search, "%s=", label);
        if (strstr(out, search) == out || (strstr(out, search) && strstr(out, search)[-1] == ','))
            return refuse(e, no, "label %s twice", label);
        used += (size_t)snprintf(out + used, size > used ? size - used : 0, "%s%s=\"%s\"",
                                 used ? "," : "", label, value);
        if (*p == ',')
            p++;
        else if (*p != '}')
            return refuse(e, no, "expected , or } after label %s", label);
    }
    *pp = p + 1;
    return true;
}

static bool parse_sample(struct exposition *e, const char *line, int no, struct family **current)
{
    const char *p = line;
    if (e->sample_count == MAX_SAMPLES)
        return refuse(e, no, "too many samples");
    struct sample *s = &e->samples[e->sample_count];
    if (!read_name(&p, s->name, sizeof s->name, true))
        return refuse(e, no, "bad metric name in \"%s\"", line);
    if (!parse_labels(e, &p, no, s->labels, sizeof s->labels))
        return false;
    if (*p++ != ' ')
        return refuse(e, no, "%s: expected a space before the value", s->name);
    char value[64];
    size_t n = strcspn(p, " ");
    if (n == 0 || n >= sizeof value)
        return refuse(e, no, "%s: no value", s->name);
    memcpy(value, p, n);
    value[n] = '\0';
    if (!parse_float(value, &s->value))
        return refuse(e, no, "%s: \"%s\" is not a float", s->name, value);
    p += n;
    if (*p == ' ') { /* an optional timestamp: an integer of milliseconds */
        p++;
        if (*p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return refuse(e, no, "%s: bad timestamp", s->name);
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p)
        return refuse(e, no, "%s: trailing text \"%s\"", s->name, p);
    struct family *f = family_of(e, s->name);
    if (!f)
        return refuse(e, no, "%s: sample without HELP/TYPE before it", s->name);
    if (f != *current)
        return refuse(e, no, "%s: sample apart from its family's other lines", s->name);
    f->sampled = true;
    if (strcmp(f->type, "counter") == 0 && !(s->value >= 0))
        return refuse(e, no, "%s: a counter must be >= 0", s->name);
    for (size_t i = 0; i < e->sample_count; i++)
        if (strcmp(e->samples[i].name, s->name) == 0 &&
            strcmp(e->samples[i].labels, s->labels) == 0)
            return refuse(e, no, "%s{%s}: duplicate series", s->name, s->labels);
    e->sample_count++;
    return true;
}

static bool parse_exposition(const char *text, struct exposition *e)
{
    memset(e, 0, sizeof *e);
    struct family *current = NULL;
    int no = 0;
    while (*text) {
        no++;
        const char *end = strchr(text, '\n');
        if (!end)
            return refuse(e, no, "the last line does not end in a newline");
        char line[1024];
        size_t len = (size_t)(end - text);
        if (len >= sizeof line)
            return refuse(e, no, "line too long");
        memcpy(line, text, len);
        line[len] = '\0';
        text = end + 1;
        if (len == 0)
            continue;
        bool ok = line[0] == '#' ? parse_comment(e, line, no, &current)
                                 : parse_sample(e, line, no, &current);
        if (!ok)
            return false;
    }
    for (size_t i = 0; i < e->family_count; i++)
        if (!e->families[i].has_help || !e->families[i].has_type)
            return refuse(e, no, "%s: HELP and TYPE are both expected", e->families[i].name);
    return true;
}

/* --- The parser itself must refuse what is wrong, or the checks below prove nothing. */

static void expect_refused(const char *text, const char *error_part)
{
    static struct exposition e;
    if (parse_exposition(text, &e))
        fail_msg("accepted: %s", text);
    if (!strstr(e.error, error_part))
        fail_msg("refused \"%s\" with \"%s\", expected \"%s\"", text, e.error, error_part);
}

static void test_parser_is_strict(void **state)
{
    static struct exposition e;
    const char *good = "# HELP a_total Things, with \\\\ and \\n.\n# TYPE a_total counter\n"
                       "a_total{x=\"q\\\"uote\\\\back\\nline\",y=\"\"} 1.5e3\na_total 2\n"
                       "# HELP lag Lag.\n# TYPE lag summary\nlag_sum 0.5\nlag_count 7\n"
                       "# HELP g G.\n# TYPE g gauge\ng NaN\ng{a=\"1\"} -Inf 1700000000000\n";
    if (!parse_exposition(good, &e))
        fail_msg("refused a valid exposition: %s", e.error);
    assert_int_equal(e.family_count, 3);
    assert_int_equal(e.sample_count, 6);
    assert_string_equal(e.samples[0].labels, "x=\"q\"uote\\back\nline\",y=\"\"");
    assert_true(e.samples[0].value == 1500);

    expect_refused("# HELP a A.\n# TYPE a gauge\na 1", "newline");
    expect_refused("a 1\n", "without HELP/TYPE");
    expect_refused("# HELP 1a A.\n", "bad metric name");
    expect_refused("# HELP a A.\n# TYPE a gauge\na{b=\"\\x\"} 1\n", "bad escape");
    expect_refused("# HELP a A.\n# TYPE a gauge\na{b=\"1\",b=\"2\"} 1\n", "twice");
    expect_refused("# HELP a A.\n# TYPE a gauge\na{b=1} 1\n", "expected =\"");
    expect_refused("# HELP a A.\n# TYPE a gauge\na one\n", "not a float");
    expect_refused("# HELP a A.\n# TYPE a gauge\na 1\na 2\n", "duplicate");
    expect_refused(
        "# HELP a A.\n# TYPE a gauge\na 1\n# HELP b B.\n# TYPE b gauge\nb 1\na{x=\"1\"} 2\n",
        "apart from its family");
    expect_refused("# HELP a A.\n# TYPE a gauge\n# TYPE a counter\n", "second TYPE");
    expect_refused("# HELP a A.\n# TYPE a meter\n", "unknown TYPE");
    expect_refused("# HELP a A.\n# TYPE a counter\na -1\n", "counter must be >= 0");
    expect_refused("# TYPE a gauge\na 1\n", "HELP and TYPE");
    expect_refused("# HELP a A.\na 1\n# TYPE a gauge\n", "after its samples");
    expect_refused("# HELP a A.\n# TYPE a gauge\na 1 \n", "bad timestamp");
}

/* --- The daemon's /metrics ------------------------------------------------------------ */

static const struct sample *find(const struct exposition *e, const char *name, const char *labels)
{
    for (size_t i = 0; i < e->sample_count; i++)
        if (strcmp(e->samples[i].name, name) == 0 &&
            (!labels || strcmp(e->samples[i].labels, labels) == 0))
            return &e->samples[i];
    return NULL;
}

static double value_of(const struct exposition *e, const char *name, const char *labels)
{
    const struct sample *s = find(e, name, labels);
    if (!s)
        fail_msg("no sample %s{%s}", name, labels ? labels : "");
    return s->value;
}

static void scrape(struct daemon_proc *d, struct exposition *e)
{
    struct http_reply reply = harness_http(d, "GET", "/metrics", NULL, 0, NULL);
    assert_int_equal(reply.status, 200);
    assert_string_equal(reply.content_type, "text/plain; version=0.0.4; charset=utf-8");
    if (!parse_exposition(reply.body, e))
        fail_msg("GET /metrics is not valid exposition text: %s\n%s", e->error, reply.body);
    http_reply_free(&reply);
}

static void expect_family(const struct exposition *e, const char *name, const char *type)
{
    for (size_t i = 0; i < e->family_count; i++)
        if (strcmp(e->families[i].name, name) == 0) {
            assert_string_equal(e->families[i].type, type);
            return;
        }
    fail_msg("no family %s", name);
}

static void test_metrics(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_config(d,
                         "{\n"
                         "  \"site\": {\"name\": \"metrics\", \"latitude\": 52.52, \"longitude\": "
                         "13.40, \"timezone\": \"Europe/Berlin\"},\n"
                         "  \"pv\": {\"planes\": [{\"name\": \"south\", \"tilt\": 35, \"azimuth\": "
                         "0, \"peak_w\": 890}]},\n"
                         "  \"simulation\": {\"speed\": 60, \"start\": \"2026-06-22T09:00:00Z\", "
                         "\"cloudiness_pct\": 0},\n"
                         "  \"storage\": {\"sample_interval_s\": 5},\n"
                         "  \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"},\n"
                         "    {\"id\": \"dead\", \"type\": \"shelly_gen2\", \"role\": \"plug\", "
                         "\"host\": \"127.0.0.1\", \"port\": 1,"
                         " \"poll_interval_s\": 0.5}],\n"
                         "  \"providers\": [{\"id\": \"tariff\", \"type\": \"tou\", \"zones\": [\n"
                         "      {\"days\": \"daily\", \"from\": \"00:00\", \"to\": \"24:00\", "
                         "\"price_per_kwh\": 0.32}]},\n"
                         "    {\"id\": \"broken\", \"type\": \"awattar\", \"base_url\": "
                         "\"http://127.0.0.1:1/aw\", \"timeout_s\": 2}]\n"
                         "}\n");
    assert_true(harness_start(d, NULL));
    static struct exposition first, second;
    /* Wait until the site has a status, the dead device an error and the provider a run. */
    for (int i = 0; i < 100; i++) {
        scrape(d, &first);
        const struct sample *errors =
            find(&first, "balkonsolar_device_read_errors_total", "device=\"dead\"");
        const struct sample *failures =
            find(&first, "balkonsolar_provider_fetch_errors_total", "provider=\"broken\"");
        if (find(&first, "balkonsolar_pv_power_watts", NULL) && errors && errors->value >= 2 &&
            failures && failures->value >= 1 &&
            value_of(&first, "balkonsolar_loop_lag_seconds_count", NULL) >= 1)
            break;
        harness_sleep_ms(200);
    }

    expect_family(&first, "balkonsolar_pv_power_watts", "gauge");
    expect_family(&first, "balkonsolar_home_power_watts", "gauge");
    expect_family(&first, "balkonsolar_grid_power_watts", "gauge");
    expect_family(&first, "balkonsolar_battery_power_watts", "gauge");
    expect_family(&first, "balkonsolar_battery_soc_percent", "gauge");
    expect_family(&first, "balkonsolar_price_per_kwh", "gauge");
    expect_family(&first, "balkonsolar_energy_kwh_total", "counter");
    expect_family(&first, "balkonsolar_device_online", "gauge");
    expect_family(&first, "balkonsolar_device_read_errors_total", "counter");
    expect_family(&first, "balkonsolar_provider_fetch_errors_total", "counter");
    expect_family(&first, "balkonsolar_commands_total", "counter");
    expect_family(&first, "balkonsolar_sse_clients", "gauge");
    expect_family(&first, "balkonsolar_loop_lag_seconds", "histogram");
    expect_family(&first, "balkonsolar_process_resident_memory_bytes", "gauge");
    expect_family(&first, "balkonsolar_uptime_seconds", "gauge");

    const char *powers[] = {"balkonsolar_pv_power_watts", "balkonsolar_home_power_watts",
                            "balkonsolar_grid_power_watts", "balkonsolar_battery_power_watts"};
    for (size_t i = 0; i < 4; i++)
        assert_true(isfinite(value_of(&first, powers[i], NULL)) &&
                    fabs(value_of(&first, powers[i], NULL)) < 5000);
    assert_true(value_of(&first, "balkonsolar_pv_power_watts", NULL) >
                0); /* a clear June morning */
    double soc = value_of(&first, "balkonsolar_battery_soc_percent", NULL);
    assert_true(soc >= 0 && soc <= 100);
    assert_true(fabs(value_of(&first, "balkonsolar_price_per_kwh", "currency=\"EUR\"") - 0.32) <
                1e-9);
    assert_true(value_of(&first, "balkonsolar_device_online",
                         "device=\"sim-battery\",type=\"simulator\"") == 1);
    assert_true(value_of(&first, "balkonsolar_device_read_errors_total", "device=\"dead\"") >= 2);
    assert_true(
        value_of(&first, "balkonsolar_device_read_errors_total", "device=\"sim-battery\"") == 0);
    assert_true(
        value_of(&first, "balkonsolar_provider_fetch_errors_total", "provider=\"broken\"") >= 1);
    assert_true(
        value_of(&first, "balkonsolar_provider_fetch_errors_total", "provider=\"tariff\"") == 0);
    assert_true(value_of(&first, "balkonsolar_sse_clients", NULL) == 0);
    assert_true(value_of(&first, "balkonsolar_process_resident_memory_bytes", NULL) > 1e6);
    assert_true(value_of(&first, "balkonsolar_uptime_seconds", NULL) > 0);
    double lag = value_of(&first, "balkonsolar_loop_lag_seconds_sum", NULL);
    assert_true(lag >= 0 && isfinite(lag));
    /* The histogram's buckets grow with their bound, and +Inf holds every measurement. */
    double in_2ms = value_of(&first, "balkonsolar_loop_lag_seconds_bucket", "le=\"0.002\"");
    double in_1s = value_of(&first, "balkonsolar_loop_lag_seconds_bucket", "le=\"1\"");
    double in_all = value_of(&first, "balkonsolar_loop_lag_seconds_bucket", "le=\"+Inf\"");
    assert_true(in_2ms >= 0 && in_2ms <= in_1s && in_1s <= in_all);
    assert_true(in_all == value_of(&first, "balkonsolar_loop_lag_seconds_count", NULL));

    /* Counters never fall; energy keeps flowing in the simulated morning. */
    harness_sleep_ms(2500);
    scrape(d, &second);
    for (size_t i = 0; i < first.sample_count; i++) {
        const struct family *f = NULL;
        for (size_t j = 0; j < first.family_count; j++)
            if (strcmp(first.families[j].name, first.samples[i].name) == 0)
                f = &first.families[j];
        if (!f || strcmp(f->type, "counter") != 0)
            continue;
        const struct sample *later = find(&second, first.samples[i].name, first.samples[i].labels);
        assert_non_null(later);
        if (later->value < first.samples[i].value)
            fail_msg("%s{%s} fell from %g to %g", first.samples[i].name, first.samples[i].labels,
                     first.samples[i].value, later->value);
    }
    assert_true(value_of(&second, "balkonsolar_energy_kwh_total", "flow=\"pv\"") >
                value_of(&first, "balkonsolar_energy_kwh_total", "flow=\"pv\""));
    assert_true(value_of(&second, "balkonsolar_energy_kwh_total", "flow=\"home\"") > 0);
    assert_true(value_of(&second, "balkonsolar_loop_lag_seconds_count", NULL) >
                value_of(&first, "balkonsolar_loop_lag_seconds_count", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parser_is_strict),
        cmocka_unit_test_setup_teardown(test_metrics, harness_setup, harness_teardown),
    };
    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
