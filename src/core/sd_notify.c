/* sd_notify without libsystemd, and the module that tells systemd how the daemon is.
 *
 * Wire format (sd_notify(3)): one AF_UNIX SOCK_DGRAM datagram per message to the socket
 * named by $NOTIFY_SOCKET, a file system path or, with a leading '@', an abstract name (the
 * '@' becomes a NUL byte and the address is as long as the name, no terminating NUL). The
 * payload is newline-separated KEY=VALUE lines, e.g. "READY=1\nSTATUS=running: ...".
 *
 * The watchdog (WATCHDOG=1) is pinged at half of $WATCHDOG_USEC from a timer on the loop,
 * not from a thread: if the loop stalls, the pings stop and systemd restarts the daemon,
 * which is the point of having a watchdog. A loop that turns is not enough, though: the
 * HTTP server once stopped accepting for good while the loop pinged on. So a ping goes out
 * only if the HTTP server answered its loopback self-probe (BUS_EV_HTTP_PROBE_ANSWERED,
 * every quarter of $WATCHDOG_USEC) within the last PROBE_WINDOW_PERIODS probe periods:
 * two probes in a row may fail (a loop briefly busy), not three. */
#include "balkon/sd_notify.h"

#include "balkon/bus.h"
#include "balkon/error.h"
#include "balkon/log.h"
#include "balkon/module.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define STATUS_PERIOD_MS 30000
#define PROBE_WINDOW_PERIODS 3
#define TRACKED_DEVICES_MAX 64

int balkon_sd_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !path[0])
        return 0;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof addr.sun_path)
        return -EAFNOSUPPORT; /* e.g. systemd's "vsock:" addresses, which we do not speak */
    memcpy(addr.sun_path, path, len);
    socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    if (path[0] == '@')
        addr.sun_path[0] = '\0';
    else
        addr_len++; /* a path's address includes its NUL */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    int rc = 0;
    if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr, addr_len) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

int balkon_sd_notify_reloading(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char state[64];
    snprintf(state, sizeof state, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
             (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
    return balkon_sd_notify(state);
}

uint64_t balkon_sd_watchdog_usec(void)
{
    const char *usec = getenv("WATCHDOG_USEC");
    if (!usec || !usec[0])
        return 0;
    const char *pid = getenv("WATCHDOG_PID");
    if (pid && pid[0] && strtoll(pid, NULL, 10) != (long long)getpid())
        return 0; /* meant for another process (we were started by one that had it) */
    char *end;
    errno = 0;
    unsigned long long value = strtoull(usec, &end, 10);
    if (errno || *end || usec[0] == '-')
        return 0;
    return value;
}

uint64_t balkon_sd_probe_period_ms(void)
{
    const char *path = getenv("NOTIFY_SOCKET");
    uint64_t watchdog_usec = balkon_sd_watchdog_usec();
    if (!path || !path[0] || !watchdog_usec)
        return 0;
    return watchdog_usec >= 4000 ? watchdog_usec / 4000 : 1;
}

/* The module: what it knows for the status line, learned from the bus. */
struct systemd_state {
    struct balkon_ctx *ctx;
    uv_timer_t watchdog;
    uv_timer_t status;
    bool watchdog_on;
    bool status_on;
    uint64_t probe_window_ms;   /* how old the last self-probe answer may be for a ping */
    uint64_t probe_answered_ms; /* uv_now() of the last one (or of the start) */
    bool unfed;                 /* pings withheld: logged once, and when they resume */
    size_t device_count;
    struct {
        char id[BALKON_ID_MAX];
        bool online;
    } devices[TRACKED_DEVICES_MAX];
    int64_t plan_id; /* 0: none yet */
    char strategy[32];
    char control[16];
};

/* "running: 2/3 devices online, plan 12 (optimal), control tracking" */
static void send_status(struct systemd_state *s, const char *prefix)
{
    size_t online = 0;
    for (size_t i = 0; i < s->device_count; i++)
        online += s->devices[i].online;
    char plan[64] = "no plan yet";
    if (s->plan_id)
        snprintf(plan, sizeof plan, "plan %" PRId64 " (%s)", s->plan_id, s->strategy);
    char state[256];
    snprintf(state, sizeof state, "%sSTATUS=running: %zu/%zu devices online, %s, control %s",
             prefix, online, s->device_count, plan, s->control[0] ? s->control : "off");
    int rc = balkon_sd_notify(state);
    if (rc < 0)
        log_debug("systemd", "sd_notify: %s", strerror(-rc));
}

static void watchdog_cb(uv_timer_t *timer)
{
    struct systemd_state *s = timer->data;
    uint64_t silent_ms = uv_now(s->ctx->loop) - s->probe_answered_ms;
    if (silent_ms <= s->probe_window_ms) {
        if (s->unfed)
            log_notice("systemd", "the HTTP server answers its self-probe again: feeding the "
                                  "watchdog");
        s->unfed = false;
        balkon_sd_notify("WATCHDOG=1");
        return;
    }
    if (!s->unfed)
        log_error("systemd",
                  "not feeding the watchdog: the HTTP server has not answered its "
                  "self-probe for %" PRIu64 " ms; systemd will restart the daemon",
                  silent_ms);
    s->unfed = true;
}

static void status_cb(uv_timer_t *timer)
{
    send_status(timer->data, "");
}

static void on_event(enum bus_event event, const void *payload, void *user)
{
    struct systemd_state *s = user;
    switch (event) {
    case BUS_EV_DAEMON_STARTED:
        send_status(s, "READY=1\n");
        break;
    case BUS_EV_CONFIG_CHANGED:
        send_status(s, "");
        break;
    case BUS_EV_SHUTDOWN:
        balkon_sd_notify("STOPPING=1\nSTATUS=stopping");
        break;
    case BUS_EV_DEVICE_STATE: {
        const struct ev_device_state *state = payload;
        size_t i = 0;
        while (i < s->device_count && strcmp(s->devices[i].id, state->device_id) != 0)
            i++;
        if (i == TRACKED_DEVICES_MAX)
            break;
        if (i == s->device_count) {
            snprintf(s->devices[i].id, sizeof s->devices[i].id, "%s", state->device_id);
            s->device_count++;
        }
        s->devices[i].online = state->online;
        break;
    }
    case BUS_EV_PLAN: {
        const struct ev_plan *plan = payload;
        s->plan_id = plan->id;
        snprintf(s->strategy, sizeof s->strategy, "%s", plan->strategy);
        break;
    }
    case BUS_EV_CONTROL_STATUS: {
        const struct ev_control_status *control = payload;
        snprintf(s->control, sizeof s->control, "%s", control->state);
        break;
    }
    case BUS_EV_HTTP_PROBE_ANSWERED:
        s->probe_answered_ms = ((const struct ev_http_probe_answered *)payload)->answered_ms;
        break;
    default:
        break;
    }
}

static const struct bus_subscription subscriptions[] = {
    {BUS_EV_DAEMON_STARTED, on_event},
    {BUS_EV_CONFIG_CHANGED, on_event},
    {BUS_EV_SHUTDOWN, on_event},
    {BUS_EV_DEVICE_STATE, on_event},
    {BUS_EV_PLAN, on_event},
    {BUS_EV_CONTROL_STATUS, on_event},
    {BUS_EV_HTTP_PROBE_ANSWERED, on_event},
};
#define SUBSCRIPTION_COUNT (sizeof subscriptions / sizeof subscriptions[0])

static void systemd_stop(void *state)
{
    struct systemd_state *s = state;
    balkon_bus_unsubscribe_all(s->ctx->bus, subscriptions, SUBSCRIPTION_COUNT, s);
    if (s->watchdog_on)
        uv_close((uv_handle_t *)&s->watchdog, NULL);
    if (s->status_on)
        uv_close((uv_handle_t *)&s->status, NULL);
}

/* Outside systemd (no $NOTIFY_SOCKET) the module starts nothing. */
static int systemd_start(struct balkon_ctx *ctx, void **state)
{
    struct systemd_state *s = calloc(1, sizeof *s);
    if (!s)
        return BALKON_E_NOMEM;
    s->ctx = ctx;
    *state = s;
    const char *socket_path = getenv("NOTIFY_SOCKET");
    if (!socket_path || !socket_path[0])
        return 0;
    int rc = balkon_bus_subscribe_all(ctx->bus, subscriptions, SUBSCRIPTION_COUNT, s);
    if (rc < 0) {
        free(s);
        return rc;
    }
    uv_timer_init(ctx->loop, &s->status);
    s->status.data = s;
    s->status_on = true;
    uv_timer_start(&s->status, status_cb, STATUS_PERIOD_MS, STATUS_PERIOD_MS);
    uint64_t watchdog_usec = balkon_sd_watchdog_usec();
    if (watchdog_usec) {
        uint64_t period_ms = watchdog_usec / 2000u;
        if (period_ms == 0)
            period_ms = 1;
        uv_timer_init(ctx->loop, &s->watchdog);
        s->watchdog.data = s;
        s->watchdog_on = true;
        /* The HTTP server probes itself from its start; the window counts from ours, so
         * its first answer has a full window to come. */
        s->probe_window_ms = PROBE_WINDOW_PERIODS * balkon_sd_probe_period_ms();
        uv_update_time(ctx->loop);
        s->probe_answered_ms = uv_now(ctx->loop);
        uv_timer_start(&s->watchdog, watchdog_cb, 0, period_ms);
        log_info("systemd", "watchdog: pinging every %" PRIu64 " ms", period_ms);
    }
    log_info("systemd", "notifying %s", socket_path);
    return 0;
}

const struct balkon_module balkon_module_systemd = {
    .name = "systemd",
    .start = systemd_start,
    .stop = systemd_stop,
    .free = free,
};
