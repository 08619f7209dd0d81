/* The config as the optimizer sees it (include/balkon/plan_config.h): in core, so the
 * planner, the real-time control and the replay read the battery the same way without
 * one module calling another. */
#include "balkon/plan_config.h"

#include "balkon/config.h"
#include "balkon/timeutil.h"

#include <string.h>

void balkon_battery_from_config(const struct balkon_config *config,
                                struct balkon_opt_battery *battery)
{
    battery->capacity_wh = config->battery.capacity_wh;
    battery->soc_min_pct = config->battery.soc_min_pct;
    battery->soc_max_pct = config->battery.soc_max_pct;
    battery->max_charge_w = config->battery.max_charge_w;
    battery->max_discharge_w = config->battery.max_discharge_w;
    battery->charge_efficiency = config->battery.charge_efficiency_pct / 100.0;
    battery->discharge_efficiency = config->battery.discharge_efficiency_pct / 100.0;
    battery->wear_cost_per_kwh = config->optimizer.wear_cost_per_kwh;
    battery->coupling = strcmp(config->battery.coupling, "dc") == 0 ? BALKON_OPT_COUPLING_DC
                                                                    : BALKON_OPT_COUPLING_AC;
    battery->ac_limit_w = config->inverter.ac_limit_w;
    battery->allow_grid_charge = config->optimizer.allow_grid_charge;
}

size_t balkon_windows_from_config(const struct balkon_config *config,
                                  struct balkon_opt_window *windows)
{
    size_t n = 0;
    for (size_t i = 0; i < config->optimizer.schedule_count && n < BALKON_OPT_MAX_WINDOWS; i++) {
        const struct balkon_schedule_window *w = &config->optimizer.schedule[i];
        struct balkon_opt_window *out = &windows[n];
        out->from_minute = balkon_parse_hhmm(w->from);
        out->to_minute = balkon_parse_hhmm(w->to);
        out->power_w = w->power_w;
        if (out->from_minute >= 0 && out->to_minute >= 0 &&
            balkon_opt_mode_parse(w->mode, &out->mode) == 0)
            n++;
    }
    return n;
}
