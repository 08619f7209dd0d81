/* Provider "fixed": one all-in price for every slot, for households on a flat tariff.
 * Computed locally from today's local midnight to the end of tomorrow, so strategies see
 * the same 15-minute series whatever the tariff. */
#include "balkon/provider.h"

#include "balkon/config_types.h"
#include "json_util.h"
#include "local_days.h"

#include <math.h>
#include <stdio.h>

static void check(const struct balkon_provider_config *provider, const char *path,
                  struct balkon_config_errors *errors)
{
    /* 0 is the option's default; nobody pays nothing for power, so it was left out. */
    if (provider->price_per_kwh == 0)
        balkon_config_add_error(errors, path, "price_per_kwh",
                                "type \"fixed\" needs the price, e.g. 0.32");
}

static void generate(const struct provider_env *env, struct provider_result *result)
{
    result->consumer_price = true;
    snprintf(result->currency, sizeof result->currency, "%s", env->config->tariff.currency);
    struct provider_point point =
        point_make(local_midnight_ms(env->now_ms), local_midnight_after_ms(env->now_ms, 2),
                   env->provider->price_per_kwh, 0);
    provider_result_add(result, &point);
}

const struct balkon_provider balkon_provider_fixed = {
    .type = "fixed",
    .kind = PROVIDER_KIND_PRICE,
    .description = "one fixed price (price_per_kwh)",
    .schedule = PROVIDER_SCHEDULE_LOCAL,
    .limits = {-5, 5},
    .check = check,
    .generate = generate,
};
