/* Runs a device's commands one at a time: rate limit, send, wait for the device to settle,
 * read the value back, retry with backoff when it did not take, report the outcome.
 *
 * Why so careful: a command that a device silently ignored (a Wi-Fi hiccup, an inverter
 * still busy with the previous limit) looks exactly like one that worked unless we read it
 * back; and an inverter that is sent a new limit every second wears out or queues them
 * up, so commands are spaced by min_command_interval_s and only the newest waits. */
#include "device_kit.h"

#include "balkon/log.h"
#include "balkon/services.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int64_t now_ms(const struct dev_kit *kit)
{
    return balkon_clock_now_ms(&kit->ctx->clock);
}

static void publish_result(struct dev_kit *kit, const struct device_command *command, bool ok,
                           const char *detail)
{
    struct ev_command_result result = balkon_command_result(command, ok, detail);
    balkon_bus_publish(kit->ctx->bus, BUS_EV_COMMAND_RESULT, &result);
}

static void start(struct dev_kit *kit, const struct device_command *command);

static void finish(struct dev_kit *kit, bool ok, const char *detail)
{
    struct dev_cmd_state *cmd = &kit->cmd;
    cmd->busy = false;
    cmd->phase = CMD_IDLE;
    uv_timer_stop(&cmd->timer);
    publish_result(kit, &cmd->current, ok, detail);
    if (cmd->queued && !kit->stopping) {
        cmd->queued = false;
        start(kit, &cmd->next);
    }
}

/* Timers on the loop run on wall time; the daemon's clock may run faster (demo, tests). */
static void arm(struct dev_kit *kit, int64_t delay_ms, uv_timer_cb cb)
{
    uint64_t wall_ms = delay_ms > 0 ? balkon_clock_wall_ms(&kit->ctx->clock, delay_ms) : 0;
    uv_timer_start(&kit->cmd.timer, cb, wall_ms, 0);
}

static void send_now(uv_timer_t *timer)
{
    struct dev_kit *kit = timer->data;
    struct dev_cmd_state *cmd = &kit->cmd;
    cmd->phase = CMD_SENDING;
    cmd->attempt++;
    cmd->last_sent_ms = now_ms(kit);
    if (kit->ops->send(kit, &cmd->current) < 0)
        dev_cmd_sent(kit, false, "cannot start the request");
}

static void schedule_send(struct dev_kit *kit, int64_t not_before_ms)
{
    /* A send "in the future" means the clock jumped back: the rate limit counts from now. */
    if (kit->cmd.last_sent_ms != INT64_MIN && kit->cmd.last_sent_ms > now_ms(kit))
        kit->cmd.last_sent_ms = now_ms(kit);
    int64_t earliest_ms =
        kit->cmd.last_sent_ms == INT64_MIN
            ? not_before_ms
            : kit->cmd.last_sent_ms + (int64_t)(kit->min_command_interval_s * 1000.0);
    if (earliest_ms < not_before_ms)
        earliest_ms = not_before_ms;
    kit->cmd.phase = CMD_WAIT_SEND;
    arm(kit, earliest_ms - now_ms(kit), send_now);
}

static void start(struct dev_kit *kit, const struct device_command *command)
{
    struct dev_cmd_state *cmd = &kit->cmd;
    cmd->busy = true;
    cmd->current = *command;
    cmd->attempt = 0;
    schedule_send(kit, now_ms(kit));
}

static void retry_or_fail(struct dev_kit *kit, const char *detail)
{
    struct dev_cmd_state *cmd = &kit->cmd;
    if (cmd->attempt >= kit->max_attempts) {
        char why[96];
        snprintf(why, sizeof why, "%s (after %d attempts)", detail, cmd->attempt);
        finish(kit, false, why);
        return;
    }
    /* Backoff 1 s, 2 s, 4 s …: a device that is busy or rebooting gets time. */
    int64_t backoff_ms = 1000LL << (cmd->attempt - 1 < 5 ? cmd->attempt - 1 : 5);
    log_info(kit->ops->log_name, "%s: %s %g: %s; retrying in %lld s", cmd->current.device_id,
             cmd->current.command, cmd->current.value, detail, (long long)(backoff_ms / 1000));
    schedule_send(kit, now_ms(kit) + backoff_ms);
}

void dev_cmd_submit(struct dev_kit *kit, const struct device_command *command)
{
    struct dev_cmd_state *cmd = &kit->cmd;
    if (!cmd->busy) {
        start(kit, command);
        return;
    }
    /* Still waiting to be sent: the newer command simply takes its place. */
    if (cmd->phase == CMD_WAIT_SEND && cmd->attempt == 0) {
        publish_result(kit, &cmd->current, false, "superseded by a newer command");
        cmd->current = *command;
        return;
    }
    if (cmd->queued)
        publish_result(kit, &cmd->next, false, "superseded by a newer command");
    cmd->next = *command;
    cmd->queued = true;
}

static void verify_now(uv_timer_t *timer)
{
    struct dev_kit *kit = timer->data;
    kit->cmd.phase = CMD_VERIFYING;
    if (kit->ops->read_back(kit, &kit->cmd.current) < 0)
        dev_cmd_read(kit, false, NAN, "cannot start the read-back");
}

void dev_cmd_sent(struct dev_kit *kit, bool ok, const char *detail)
{
    if (kit->cmd.phase != CMD_SENDING)
        return;
    if (!ok) {
        retry_or_fail(kit, detail);
    } else if (kit->ops->read_back) {
        kit->cmd.phase = CMD_WAIT_VERIFY;
        arm(kit, (int64_t)(kit->verify_delay_s * 1000.0), verify_now);
    } else {
        finish(kit, true, "");
    }
}

/* Switches are exact; powers within the kit's tolerance (devices round, and an inverter
 * reports its limit in its own steps). */
static bool matches(const struct dev_kit *kit, const struct device_command *command, double value)
{
    double tolerance = strcmp(command->command, "switch") == 0 ? 0.5 : kit->tolerance_w;
    return fabs(value - command->value) <= tolerance;
}

void dev_cmd_read(struct dev_kit *kit, bool ok, double value, const char *detail)
{
    if (kit->cmd.phase != CMD_VERIFYING)
        return;
    if (!ok) {
        retry_or_fail(kit, detail);
    } else if (matches(kit, &kit->cmd.current, value)) {
        finish(kit, true, "");
    } else {
        char why[96];
        snprintf(why, sizeof why, "read back %g, expected %g", value, kit->cmd.current.value);
        retry_or_fail(kit, why);
    }
}
