/* Strategy "fixed_schedule": modes by time of day from configured windows, e.g.
 *     {0, 1020, hold}, {1020, 1440, discharge}   hold until 17:00, then discharge.
 * A slot takes the first window that holds its local start minute (a window whose end is
 * before its start wraps past midnight); slots outside every window do what
 * self_consumption does. A window's power_w bounds the command; 0 means the battery's
 * power limit for that mode. */
#include "balkon/error.h"
#include "optimizer_internal.h"

static bool window_holds(const struct balkon_opt_window *w, int minute)
{
    if (w->from_minute <= w->to_minute)
        return minute >= w->from_minute && minute < w->to_minute;
    return minute >= w->from_minute || minute < w->to_minute;
}

static struct balkon_opt_command window_command(const struct balkon_opt_battery *b,
                                                const struct balkon_opt_window *w)
{
    struct balkon_opt_command c = {w->mode, w->power_w};
    if (c.limit_w <= 0.0)
        c.limit_w = w->mode == BALKON_OPT_DISCHARGE ? b->max_discharge_w : b->max_charge_w;
    if (w->mode == BALKON_OPT_IDLE)
        c.limit_w = 0.0;
    return c;
}

static int check_fixed_schedule(const struct balkon_opt_problem *p, char *msg, size_t msg_size)
{
    if (p->window_count == 0)
        return opt_fail(msg, msg_size, BALKON_E_INVAL,
                        "windows: fixed_schedule needs at least one window");
    return BALKON_OK;
}

static int plan_fixed_schedule(const struct balkon_opt_problem *p, struct balkon_opt_workspace *ws,
                               struct balkon_opt_command *commands)
{
    for (size_t t = 0; t < p->slot_count; t++) {
        const struct balkon_opt_slot *slot = &p->slots[t];
        commands[t] = opt_self_consumption_command(&p->battery, slot);
        for (size_t i = 0; i < p->window_count; i++) {
            if (window_holds(&p->windows[i], slot->minute_of_day)) {
                commands[t] = window_command(&p->battery, &p->windows[i]);
                break;
            }
        }
    }
    return BALKON_OK;
}

const struct balkon_opt_strategy opt_strategy_fixed_schedule = {
    .name = "fixed_schedule",
    .description = "battery modes by time of day from configured windows; self-consumption "
                   "outside them",
    .check_fn = check_fixed_schedule,
    .plan_fn = plan_fixed_schedule,
};
