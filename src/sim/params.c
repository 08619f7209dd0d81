/* Validation of the simulator's parameters.
 *
 * One table row per numeric field (name, where it lives, allowed interval), the same rows for
 * each plane, then the checks that involve two fields. The first problem found is reported
 * as "field: problem, got value", naming the field as the config does. */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "balkon/error.h"
#include "sim_internal.h"

struct range_rule {
    const char *name;
    size_t offset;
    double min, max;
    bool min_open, max_open; /* exclusive bounds, e.g. efficiencies in (0, 1] */
};

#define P(field) #field, offsetof(struct sim_params, field)
static const struct range_rule param_rules[] = {
    {P(latitude_deg), -90.0, 90.0, false, false},
    {P(longitude_deg), -180.0, 180.0, false, false},
    {P(inverter_ac_limit_w), 0.0, 100000.0, true, false},
    {P(inverter_efficiency), 0.0, 1.0, true, false},
    {P(system_loss_fraction), 0.0, 1.0, false, true},
    {P(battery_capacity_wh), 0.0, 1e6, false, false},
    {P(battery_max_charge_w), 0.0, 100000.0, false, false},
    {P(battery_max_discharge_w), 0.0, 100000.0, false, false},
    {P(battery_charge_efficiency), 0.0, 1.0, true, false},
    {P(battery_discharge_efficiency), 0.0, 1.0, true, false},
    {P(battery_soc_min_pct), 0.0, 100.0, false, false},
    {P(battery_soc_max_pct), 0.0, 100.0, false, false},
    {P(battery_initial_soc_pct), 0.0, 100.0, false, false},
    {P(annual_load_kwh), 0.0, 1e6, false, false},
    {P(cloudiness), 0.0, 1.0, false, false},
};
#undef P

#define PL(field) #field, offsetof(struct sim_plane, field)
static const struct range_rule plane_rules[] = {
    {PL(tilt_deg), 0.0, 90.0, false, false},
    {PL(azimuth_deg), -180.0, 180.0, false, false},
    {PL(peak_w), 0.0, 1e6, false, false},
};
#undef PL

static int fail(char *msg, size_t msg_size, const char *fmt, ...)
{
    if (msg && msg_size > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, msg_size, fmt, ap);
        va_end(ap);
    }
    return BALKON_E_INVAL;
}

static int check_range(const struct range_rule *rule, const char *prefix, const void *base,
                       char *msg, size_t msg_size)
{
    double value = *(const double *)((const char *)base + rule->offset);
    if (!isfinite(value))
        return fail(msg, msg_size, "%s%s: must be a finite number, got %g", prefix, rule->name,
                    value);
    bool below = rule->min_open ? value <= rule->min : value < rule->min;
    bool above = rule->max_open ? value >= rule->max : value > rule->max;
    if (below || above)
        return fail(msg, msg_size, "%s%s: must be in %c%g, %g%c, got %g", prefix, rule->name,
                    rule->min_open ? '(' : '[', rule->min, rule->max, rule->max_open ? ')' : ']',
                    value);
    return 0;
}

int sim_params_validate(const struct sim_params *params, char *msg, size_t msg_size)
{
    if (!params)
        return fail(msg, msg_size, "params: missing");
    for (size_t i = 0; i < sizeof param_rules / sizeof param_rules[0]; i++) {
        int err = check_range(&param_rules[i], "", params, msg, msg_size);
        if (err)
            return err;
    }
    /* No planes: a site without modules (a battery on its own), which produces nothing. */
    if (params->plane_count > SIM_MAX_PLANES)
        return fail(msg, msg_size, "plane_count: must be in [0, %d], got %zu", SIM_MAX_PLANES,
                    params->plane_count);
    for (size_t p = 0; p < params->plane_count; p++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "planes[%zu].", p);
        for (size_t i = 0; i < sizeof plane_rules / sizeof plane_rules[0]; i++) {
            int err = check_range(&plane_rules[i], prefix, &params->planes[p], msg, msg_size);
            if (err)
                return err;
        }
    }
    if (params->battery_coupling != SIM_COUPLING_AC && params->battery_coupling != SIM_COUPLING_DC)
        return fail(msg, msg_size, "battery_coupling: must be %d (AC) or %d (DC), got %d",
                    SIM_COUPLING_AC, SIM_COUPLING_DC, (int)params->battery_coupling);
    if (params->battery_soc_min_pct >= params->battery_soc_max_pct)
        return fail(msg, msg_size,
                    "battery_soc_min_pct: must be below battery_soc_max_pct (%g), got %g",
                    params->battery_soc_max_pct, params->battery_soc_min_pct);
    if (params->battery_initial_soc_pct < params->battery_soc_min_pct ||
        params->battery_initial_soc_pct > params->battery_soc_max_pct)
        return fail(
            msg, msg_size,
            "battery_initial_soc_pct: must be within battery_soc_min_pct..battery_soc_max_pct "
            "[%g, %g], got %g",
            params->battery_soc_min_pct, params->battery_soc_max_pct,
            params->battery_initial_soc_pct);
    return 0;
}
