/* libFuzzer target: every provider's reply parser (src/providers/), then the shared
 * normaliser and the provider's finish step, as the fetcher runs them.
 *
 * Input: byte 0 picks the provider (among those with a parse function, in the order of
 * providers_list.h), byte 1 the request part and the HTTP status, the rest is the body. */
#include "balkon/config.h"
#include "balkon/log.h"
#include "balkon/provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BALKON_PROVIDER(name) extern const struct balkon_provider name;
#include "../../src/providers/providers_list.h"
#undef BALKON_PROVIDER

static const struct balkon_provider *const all[] = {
#define BALKON_PROVIDER(name) &name,
#include "../../src/providers/providers_list.h"
#undef BALKON_PROVIDER
};

static const struct balkon_provider *parsers[sizeof all / sizeof *all];
static size_t parser_count;
static struct balkon_config config;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    balkon_log_set_level((enum balkon_log_level)0);
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (all[i]->parse)
            parsers[parser_count++] = all[i];
    /* The demo's site: two planes, so the per-plane providers have two parts. */
    balkon_config_defaults(&config);
    config.site.latitude_deg = 52.52;
    config.site.longitude_deg = 13.40;
    config.pv.plane_count = 2;
    config.pv.planes[0] = (struct balkon_plane_config){"east", 60, -90, 445};
    config.pv.planes[1] = (struct balkon_plane_config){"west", 60, 90, 445};
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || !parser_count)
        return 0;
    const struct balkon_provider *provider = parsers[data[0] % parser_count];
    unsigned selector = data[1];
    char *body = malloc(size - 2 + 1);
    if (!body)
        return 0;
    memcpy(body, data + 2, size - 2);
    body[size - 2] = '\0';

    struct balkon_provider_config pc = {.enabled = true, .vat_pct = 19};
    snprintf(pc.type, sizeof pc.type, "%s", provider->type);
    snprintf(pc.id, sizeof pc.id, "%s", provider->type);
    snprintf(pc.area, sizeof pc.area, "DE-LU");
    struct provider_env env = {
        .provider = &pc, .config = &config, .now_ms = INT64_C(1782036000000)};
    int parts = provider->parts ? provider->parts(&env) : 1;
    int part = parts > 0 ? (int)(selector & 7) % parts : 0;
    static const long statuses[] = {200, 200, 200, 200, 200, 429, 503, 401};
    struct provider_reply reply = {.status = statuses[(selector >> 3) & 7],
                                   .body = body,
                                   .body_size = size - 2,
                                   .retry_after_s = selector & 0x40 ? 60 : -1};

    struct provider_result result;
    provider_result_init(&result);
    provider->parse(&env, part, &reply, &result);
    if (result.error == PROVIDER_OK) {
        struct provider_slots slots = {0};
        if (provider_normalize(&result, &provider->limits, &slots) == 0 && provider->finish)
            provider->finish(&env, part, &slots);
        provider_slots_free(&slots);
    }
    provider_result_free(&result);
    free(body);
    return 0;
}
