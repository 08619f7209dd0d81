/* Data providers: electricity prices, solar forecasts and grid signals.
 *
 * Each provider is one file in src/providers/ ending in one `const struct balkon_provider`,
 * registered by one line in src/providers/providers_list.h; no other code switches on a
 * provider type. A provider never does I/O: it builds the request(s) of a run, and parses
 * each reply into points (source intervals in our units). The fetcher module does the
 * HTTP on the loop, and the shared normaliser puts every series onto 15-minute UTC slots.
 *
 * Units after parsing: prices in currency/kWh, PV power in W (Open-Meteo: irradiance in
 * W/m², turned into W by the provider's finish step with our PV model), renewable share
 * in %, CO2 in g/kWh. Errors are one of the tokens below, with a detail text for people. */
#ifndef BALKON_PROVIDER_H
#define BALKON_PROVIDER_H

#include "balkon/series.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct balkon_config;
struct balkon_provider_config;
struct balkon_config_errors;

enum provider_kind {
    PROVIDER_KIND_PRICE = 0,
    PROVIDER_KIND_PV,
    PROVIDER_KIND_SIGNAL,
};

enum provider_error {
    PROVIDER_OK = 0,
    PROVIDER_ERR_HTTP,         /* unexpected HTTP status */
    PROVIDER_ERR_RATE_LIMITED, /* 429 or a rate-limit body; see retry_after_s / retry_at_ms */
    PROVIDER_ERR_UNAVAILABLE,  /* 502/503, maintenance */
    PROVIDER_ERR_AUTH,         /* 401/403, or an auth error inside a 200 (Tibber) */
    PROVIDER_ERR_BAD_REQUEST,  /* 400/422 with a provider reason */
    PROVIDER_ERR_PARSE,        /* not valid JSON/XML, or fields missing or of the wrong type */
    PROVIDER_ERR_UNIT,         /* the response declares a unit we do not expect */
    PROVIDER_ERR_NO_DATA,      /* nothing for this window */
    PROVIDER_ERR_PROVIDER,     /* any other error the provider reports */
    PROVIDER_ERR_TRANSPORT,    /* no answer: refused, timed out, too large */
};

/* "http", "rate_limited", … as used in the fixtures' expected.json. */
const char *provider_error_token(enum provider_error error);

/* One source interval [start_ms, end_ms) in our units. NAN marks an absent field. */
struct provider_point {
    int64_t start_ms;
    int64_t end_ms;
    double value;
    double p10;       /* PV: lower band (W) */
    double p90;       /* PV: upper band (W) */
    double aux;       /* signal: traffic light (Energy-Charts) or CO2 g/kWh (Corrently);
                         Open-Meteo: air temperature °C */
    int source_index; /* index in the provider's own array, for rejection reports */
};

#define PROVIDER_MAX_REJECTED 64

struct provider_rejection {
    int index;
    char reason[16]; /* "null_value", "misaligned", "out_of_range" */
};

/* What one run produced; parse calls add to it (pages and parts accumulate). */
struct provider_result {
    enum provider_error error;
    char detail[256];
    long retry_after_s;  /* -1 when not given */
    int64_t retry_at_ms; /* INT64_MIN when not given */
    char currency[4];    /* prices: "EUR" unless the provider says otherwise */
    bool consumer_price; /* prices already all-in (Tibber total, Octopus inc VAT) */
    bool substitute;     /* signal values are estimates (Energy-Charts) */
    char next_url[1024]; /* pagination: the next page to fetch, "" when done */

    struct provider_point *points; /* owned; free with provider_result_free */
    size_t count;
    size_t capacity;

    struct provider_rejection rejected[PROVIDER_MAX_REJECTED];
    size_t rejected_count;
};

void provider_result_init(struct provider_result *result);
void provider_result_free(struct provider_result *result);
/* Appends a point; returns 0 or BALKON_E_NOMEM. */
int provider_result_add(struct provider_result *result, const struct provider_point *point);
void provider_result_reject(struct provider_result *result, int index, const char *reason);
/* Sets the error (first one wins) with a printf-style detail. Returns the error. */
enum provider_error provider_result_fail(struct provider_result *result, enum provider_error error,
                                         const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* An HTTP answer as a provider sees it. */
struct provider_reply {
    long status;
    const char *body; /* NUL-terminated */
    size_t body_size;
    long retry_after_s; /* from Retry-After, -1 when absent */
};

/* The default reading of a non-200 status: 429 rate_limited (with Retry-After),
 * 502/503 unavailable, 401/403 auth, 400/422 bad_request, others http. Returns true when
 * the status was 200 (nothing set), false after setting the error. */
bool provider_check_status(const struct provider_reply *reply, struct provider_result *result);

/* Whether url is absolute (scheme://) and has the same scheme, host and port as base (the
 * fetcher follows a next page only there). */
bool url_same_origin(const char *url, const char *base);

#define PROVIDER_MAX_HEADERS 4

struct provider_request {
    char method[8]; /* "GET" or "POST" */
    char url[1024];
    char headers[PROVIDER_MAX_HEADERS][512]; /* "Name: value"; empty = unused */
    char body[2048];                         /* POST body, "" for none */
    /* The URL with secrets replaced by "***", for logs and the status API. */
    char url_for_log[1024];
};

/* Everything a provider may read. */
struct provider_env {
    const struct balkon_provider_config *provider; /* this provider's options */
    const struct balkon_config *config;            /* site, PV planes, inverter */
    int64_t now_ms;                                /* the daemon's clock */
};

/* One 15-minute slot after normalisation. */
struct provider_slot {
    int64_t start_ms;
    double value;
    double p10, p90, aux;
};

struct provider_slots {
    struct provider_slot *items; /* owned; free with provider_slots_free */
    size_t count;
    /* Slots missing inside the covered range (a missing hour is 4): reported, not filled. */
    size_t hole_count;
    int64_t first_hole_ms;
};

void provider_slots_free(struct provider_slots *slots);

/* Limits that make a value implausible; a point outside them is rejected. */
struct provider_limits {
    double min_value;
    double max_value;
};

/* Expands points onto 15-minute UTC slots: an interval of L ms (a positive multiple of
 * 15 min starting on a 15-minute boundary) becomes L/15 min slots with its value; others
 * are rejected "misaligned", values outside limits "out_of_range", non-finite ones
 * "null_value". A later point for a slot replaces an earlier one. Sorted ascending.
 * Returns 0 or BALKON_E_NOMEM. */
int provider_normalize(struct provider_result *result, const struct provider_limits *limits,
                       struct provider_slots *out);

struct balkon_provider;
/* The limits a part's points are checked against (see limit_by_plant). */
struct provider_limits provider_part_limits(const struct balkon_provider *provider,
                                            const struct provider_env *env, int part);

enum provider_schedule {
    /* Day-ahead prices: fetched at start when tomorrow is not stored yet, then each day
     * after the publication hour (local time), retried until tomorrow is there. */
    PROVIDER_SCHEDULE_DAY_AHEAD,
    /* Forecasts and signals: every interval_min (from the provider config), with jitter. */
    PROVIDER_SCHEDULE_INTERVAL,
    /* Computed locally (fixed price, time-of-use): no network, refreshed daily. */
    PROVIDER_SCHEDULE_LOCAL,
};

struct balkon_provider {
    const char *type;
    enum provider_kind kind;
    const char *description;
    enum provider_schedule schedule;
    int default_interval_min; /* INTERVAL schedules; 0 otherwise */
    int publication_hour;     /* DAY_AHEAD: local hour after which tomorrow is expected */
    const char *default_base_url;
    struct provider_limits limits;
    /* PV power in W: the upper limit is 1.5 × the configured peak (of the part's plane for
     * per-plane providers, of all planes otherwise) instead of limits.max_value, which
     * stays the fallback without planes. Values above the inverter's AC limit are kept
     * and capped when stored, never dropped. */
    bool limit_by_plant;
    /* It models the modules in pv.planes (per-plane requests or our own PV model): a config
     * without planes is refused for it, naming pv.planes. */
    bool needs_planes;
    /* Signals: the kinds `value` and `aux` are stored as ("renewable_share_pct",
     * "grid_signal", "co2_g_per_kwh", "green_index"); aux_kind NULL when aux is unused. */
    const char *value_kind;
    const char *aux_kind;

    /* Checks the type-specific options (token present, area known …). May be NULL. */
    void (*check)(const struct balkon_provider_config *provider, const char *path,
                  struct balkon_config_errors *errors);
    /* Requests per run: one per PV plane for single-plane APIs; NULL means 1. */
    int (*parts)(const struct provider_env *env);
    /* Builds request `part` of a run. Returns 0 or BALKON_E_INVAL (with a log-worthy
     * reason in request->url_for_log). NULL for LOCAL providers. */
    int (*build_request)(const struct provider_env *env, int part,
                         struct provider_request *request);
    /* Parses one reply of request `part` into result (which may hold earlier pages). */
    void (*parse)(const struct provider_env *env, int part, const struct provider_reply *reply,
                  struct provider_result *result);
    /* LOCAL providers: produces the points for now_ms onwards instead of build/parse. */
    void (*generate)(const struct provider_env *env, struct provider_result *result);
    /* Optional: turns one part's normalised slots into their final meaning (Open-Meteo:
     * irradiance on a plane -> AC power of that plane). */
    void (*finish)(const struct provider_env *env, int part, struct provider_slots *slots);
};

/* The provider for a config type, or NULL. */
const struct balkon_provider *balkon_provider_find(const char *type);
/* The known types, comma-separated and quoted. */
void balkon_provider_list_types(char *out, size_t size);
/* The primary provider of a kind: the config's first enabled one of that kind. Its prices
 * (or PV forecast) are the ones the planner plans with, the API shows by default, Home
 * Assistant, the notifications, /metrics, the savings and the replay use. NULL when the
 * config has none. */
const struct balkon_provider_config *balkon_provider_primary(const struct balkon_config *config,
                                                             enum provider_kind kind);

#endif
