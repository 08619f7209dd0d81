/* Driver "marstek_venus": Marstek Venus C/E/A/D batteries through their local "Open API",
 * JSON-RPC over UDP (default port 30000, enabled in the Marstek app), on the daemon's loop.
 *
 * Wire format, one JSON object per datagram each way, replies matched by id:
 *   -> {"id":7,"method":"ES.GetStatus","params":{"id":0}}
 *   <- {"id":7,"src":"VenusE 3.0-18cedff563f9","result":{"id":0,"bat_soc":12,"bat_cap":5120,
 *       "ongrid_power":-300,...}}                       ongrid_power > 0 = discharging
 *   -> ES.GetMode            <- {"result":{"mode":"Auto"|"AI"|"Manual"|"Passive"|"UPS",...}}
 *   -> EM.GetStatus          <- {"result":{"ct_state":1,"total_power":6,...}}   its CT, grid W
 *   -> Marstek.GetDevice {"ble_mac":"0"}  <- {"result":{"device":"VenusE 3.0","ver":144,...}}
 *   -> ES.SetMode {"id":0,"config":{"mode":"Passive","passive_cfg":{"power":W,"cd_time":s}}}
 *      or {"id":0,"config":{"mode":"Auto","auto_cfg":{"enable":1}}}
 *   <- {"result":{"id":0,"set_result":true|false}}      not reliable: we read back instead
 *   errors: {"id":7,"error":{"code":-32601,"message":"Method not found"}}
 *
 * Devices:  <id>        role battery: power_w (ongrid_power, + discharge), soc_pct, capacity_wh
 *           <id>-meter  role meter (only with role "battery+meter"): its CT's total_power as
 *                       the grid reading (+ import), times power_scale
 *
 * The firmware is fragile (docs/devices.md, "marstek_venus"): bursts make it stop
 * answering or lose its CT, so exactly one request is in flight and requests are at least
 * MIN_SPACING_MS apart whatever poll_interval_s says; commands go first, polls take turns.
 * Passive power has our sign (+ discharge / − charge), as ongrid_power does and as the
 * integrations using the spec send it, so a setpoint is sent and read back unchanged.
 * Some firmwares reply to port 30000 rather than to the request's source port: we send
 * from the device's port when we can bind it, so both kinds of reply reach us.
 *
 * Failsafe: Passive carries a countdown (cd_time, s) after which the battery returns to
 * its own mode by itself. We send failsafe_s as cd_time and repeat the setpoint every third
 * of it, so a daemon that dies or hangs leaves the battery in Passive for failsafe_s at most.
 *
 * Replies are bound to their request: a datagram counts only if it comes from the device's
 * address and port and carries the id of the request in flight. Anything else (another
 * port or host, no id, an id we never sent) is refused with a warning (rate-limited), so a
 * host on the LAN cannot feed us values by racing the battery's answer. */
#include "devices_internal.h"
#include "balkon/driver.h"

#include "device_kit.h"

#include "balkon/error.h"
#include "balkon/log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_PORT 30000
#define MIN_SPACING_MS 2000
/* A reply carrying one of the last LATE_IDS ids answers a request that timed out. */
#define LATE_IDS 16
/* Refused datagrams: one warning, then at most one summary per this. */
#define REFUSED_LOG_MS 60000
#define MODE_EVERY_POLLS 5
#define INFO_RETRY_POLLS 15

enum req {
    REQ_NONE,
    REQ_SET,
    REQ_REFRESH,
    REQ_VERIFY_MODE,
    REQ_VERIFY_STATUS,
    REQ_STATUS,
    REQ_METER,
    REQ_MODE,
    REQ_DEVICE,
    REQ_COUNT
};

static const char *const METHODS[REQ_COUNT] = {
    [REQ_SET] = "ES.SetMode",         [REQ_REFRESH] = "ES.SetMode",
    [REQ_VERIFY_MODE] = "ES.GetMode", [REQ_VERIFY_STATUS] = "ES.GetStatus",
    [REQ_STATUS] = "ES.GetStatus",    [REQ_METER] = "EM.GetStatus",
    [REQ_MODE] = "ES.GetMode",        [REQ_DEVICE] = "Marstek.GetDevice",
};

struct marstek {
    struct dev_kit kit; /* first: the kit's callbacks cast back */
    uv_udp_t udp;
    uv_timer_t timer; /* the reply timeout while a request is out, else the spacing */
    uv_getaddrinfo_t resolver;
    bool resolving, resolve_stale, bound, udp_closing;
    struct sockaddr_storage addr;
    bool due[REQ_COUNT];
    enum req in_flight, last_poll;
    unsigned in_flight_id, next_id;
    uint64_t last_send_ms; /* uv_now; 0: never */
    unsigned polls;
    bool status_ok, device_known, meter_role;
    char model[48], firmware[32], mode[16];
    struct device_command command; /* the runner's command being sent or verified */
    bool passive;                  /* a setpoint of ours stands: refresh it */
    double passive_w;
    uint64_t passive_sent_ms;
    unsigned refused;        /* datagrams refused since the last warning */
    uint64_t refused_log_ms; /* uv_now of the last warning; 0: none yet */
    char rx[8192];
};

struct marstek_status {
    double soc_pct, power_w, capacity_wh;
};

/* --- Parsers (pure) ------------------------------------------------------------------- */

static bool parse_status(const cJSON *result, struct marstek_status *out, char *err, size_t size)
{
    if (!dev_json_number(result, "bat_soc", &out->soc_pct)) {
        snprintf(err, size, "ES.GetStatus: bat_soc missing or not a number");
        return false;
    }
    if (out->soc_pct < 0 || out->soc_pct > 100) {
        snprintf(err, size, "ES.GetStatus: bat_soc %g is not a percentage", out->soc_pct);
        return false;
    }
    if (!dev_json_number(result, "ongrid_power", &out->power_w)) {
        snprintf(err, size, "ES.GetStatus: ongrid_power missing or not a number");
        return false;
    }
    if (!dev_json_number(result, "bat_cap", &out->capacity_wh))
        out->capacity_wh = NAN;
    return true;
}

/* The mode as text; some firmwares send 0..4 in the order of the spec's list. */
static bool parse_mode(const cJSON *result, char *out, size_t size)
{
    static const char *const names[] = {"Auto", "AI", "Manual", "Passive", "UPS"};
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(result, "mode");
    if (cJSON_IsString(mode) && mode->valuestring[0]) {
        snprintf(out, size, "%s", mode->valuestring);
        return true;
    }
    if (cJSON_IsNumber(mode) && mode->valuedouble >= 0 && mode->valuedouble < 5) {
        snprintf(out, size, "%s", names[(int)mode->valuedouble]);
        return true;
    }
    return false;
}

/* --- Requests ------------------------------------------------------------------------- */

static void pump(struct marstek *m);
static long device_port(const struct marstek *m);

static void finish_request(struct marstek *m)
{
    m->in_flight = REQ_NONE;
    uv_timer_stop(&m->timer);
}

/* The request in flight failed: the command runner or the availability learns why. */
static void fail_request(struct marstek *m, const char *code, const char *detail)
{
    enum req req = m->in_flight;
    finish_request(m);
    if (req == REQ_SET)
        dev_cmd_sent(&m->kit, false, detail);
    else if (req == REQ_VERIFY_MODE || req == REQ_VERIFY_STATUS)
        dev_cmd_read(&m->kit, false, NAN, detail);
    else if (req == REQ_DEVICE || req == REQ_REFRESH)
        log_info("marstek", "%s: %s", m->kit.config.id, detail);
    else
        dev_failed_code(&m->kit, code, "%s", detail);
    pump(m);
}

static void timeout_cb(uv_timer_t *timer)
{
    struct marstek *m = timer->data;
    char detail[96];
    snprintf(detail, sizeof detail, "no reply to %s within %g s", METHODS[m->in_flight],
             m->kit.config.timeout_s);
    fail_request(m, "timeout", detail);
}

static cJSON *build_params(struct marstek *m, enum req req)
{
    cJSON *params = cJSON_CreateObject();
    if (req == REQ_DEVICE) {
        cJSON_AddStringToObject(params, "ble_mac", "0");
        return params;
    }
    cJSON_AddNumberToObject(params, "id", 0);
    if (req != REQ_SET && req != REQ_REFRESH)
        return params;
    cJSON *config = cJSON_AddObjectToObject(params, "config");
    if (req == REQ_SET && strcmp(m->command.command, "auto") == 0) {
        cJSON_AddStringToObject(config, "mode", "Auto");
        cJSON_AddNumberToObject(cJSON_AddObjectToObject(config, "auto_cfg"), "enable", 1);
    } else {
        cJSON_AddStringToObject(config, "mode", "Passive");
        cJSON *passive = cJSON_AddObjectToObject(config, "passive_cfg");
        cJSON_AddNumberToObject(passive, "power",
                                round(req == REQ_SET ? m->command.value : m->passive_w));
        cJSON_AddNumberToObject(passive, "cd_time", round(m->kit.config.failsafe_s));
    }
    return params;
}

static void send_request(struct marstek *m, enum req req)
{
    m->due[req] = false;
    m->in_flight = req;
    m->in_flight_id = ++m->next_id % 60000 + 1; /* the spec calls the id a 16-bit number */
    m->last_send_ms = uv_now(m->kit.ctx->loop);
    cJSON *request = cJSON_CreateObject();
    cJSON_AddNumberToObject(request, "id", m->in_flight_id);
    cJSON_AddStringToObject(request, "method", METHODS[req]);
    cJSON_AddItemToObject(request, "params", build_params(m, req));
    char *text = cJSON_PrintUnformatted(request);
    cJSON_Delete(request);
    log_debug("marstek", "%s: -> %s", m->kit.config.id, text ? text : "(no memory)");
    int rc = UV_ENOMEM;
    if (text) {
        uv_buf_t buf = uv_buf_init(text, (unsigned)strlen(text));
        rc = uv_udp_try_send(&m->udp, &buf, 1, (const struct sockaddr *)&m->addr);
        free(text);
    }
    if (rc < 0) {
        char detail[96];
        snprintf(detail, sizeof detail, "%s: cannot send: %s", METHODS[req], uv_strerror(rc));
        fail_request(m, "unreachable", detail); /* the spacing keeps this from recursing */
        return;
    }
    uv_timer_start(&m->timer, timeout_cb, (uint64_t)(m->kit.config.timeout_s * 1000.0), 0);
}

/* True (and the setpoint dropped, with a warning) once a whole countdown has passed since
 * the battery last took our setpoint: the loop was stopped or hung, or every refresh was
 * lost, and the battery has left Passive by itself. Sending the old setpoint again would
 * undo its failsafe; the control decides anew. */
static bool passive_expired(struct marstek *m)
{
    uint64_t since_ms = uv_now(m->kit.ctx->loop) - m->passive_sent_ms;
    if (!m->passive || since_ms < (uint64_t)(m->kit.config.failsafe_s * 1000.0))
        return false;
    log_warn("marstek",
             "%s: setpoint %g W not refreshed for %.0f s: the battery's countdown (failsafe_s %g) "
             "has run out; not sending it again",
             m->kit.config.id, m->passive_w, (double)since_ms / 1000.0, m->kit.config.failsafe_s);
    m->passive = false;
    m->due[REQ_REFRESH] = false;
    return true;
}

static void spacing_cb(uv_timer_t *timer)
{
    pump(timer->data);
}

/* Sends the next due request when nothing is in flight and the spacing allows: commands
 * first, then the polls in turn so that none starves another. */
static void pump(struct marstek *m)
{
    if (m->kit.stopping || m->in_flight != REQ_NONE || !m->bound)
        return;
    enum req next = REQ_NONE;
    for (enum req r = REQ_SET; r <= REQ_VERIFY_STATUS && next == REQ_NONE; r++)
        if (m->due[r])
            next = r;
    for (int i = 1; i <= REQ_DEVICE - REQ_STATUS + 1 && next == REQ_NONE; i++) {
        enum req r = REQ_STATUS + (m->last_poll - REQ_STATUS + i) % (REQ_DEVICE - REQ_STATUS + 1);
        if (m->due[r])
            next = r;
    }
    if (next == REQ_NONE)
        return;
    uint64_t now_ms = uv_now(m->kit.ctx->loop);
    if (m->last_send_ms && now_ms < m->last_send_ms + MIN_SPACING_MS) {
        uv_timer_start(&m->timer, spacing_cb, m->last_send_ms + MIN_SPACING_MS - now_ms, 0);
        return;
    }
    if (next == REQ_REFRESH && passive_expired(m)) {
        pump(m); /* the refresh waited out the spacing across a stop: the next one instead */
        return;
    }
    if (next >= REQ_STATUS)
        m->last_poll = next;
    send_request(m, next);
}

/* --- Replies -------------------------------------------------------------------------- */

static void publish_status(struct marstek *m, const struct marstek_status *status)
{
    struct ev_device_state state;
    dev_state_init(&m->kit, &state, NULL, DEVICE_ROLE_BATTERY);
    snprintf(state.model, sizeof state.model, "%s", m->model);
    snprintf(state.firmware, sizeof state.firmware, "%s", m->firmware);
    dev_state_add(&state, "power_w", status->power_w);
    dev_state_add(&state, "soc_pct", status->soc_pct);
    dev_state_add(&state, "capacity_wh", status->capacity_wh);
    dev_publish_state(&m->kit, &state);
}

static void on_meter(struct marstek *m, const cJSON *result)
{
    double ct_state, total_w;
    if (dev_json_number(result, "ct_state", &ct_state) && ct_state == 0) {
        dev_failed(&m->kit, "EM.GetStatus: ct_state 0, the CT is not connected");
        return;
    }
    if (!dev_json_number(result, "total_power", &total_w)) {
        dev_failed(&m->kit, "EM.GetStatus: total_power missing or not a number");
        return;
    }
    double grid_w = total_w * m->kit.config.power_scale;
    struct ev_device_state state;
    dev_state_init(&m->kit, &state, "meter", DEVICE_ROLE_METER);
    snprintf(state.model, sizeof state.model, "%s", m->model);
    dev_state_add(&state, "power_w", grid_w);
    dev_publish_state(&m->kit, &state);
    dev_publish_meter(&m->kit, "meter", grid_w);
}

static void on_mode(struct marstek *m, const cJSON *result, enum req req)
{
    char mode[16];
    if (!parse_mode(result, mode, sizeof mode)) {
        if (req == REQ_VERIFY_MODE)
            dev_cmd_read(&m->kit, false, NAN, "ES.GetMode: mode missing");
        else
            dev_failed(&m->kit, "ES.GetMode: mode missing");
        return;
    }
    if (strcmp(mode, m->mode) != 0)
        log_info("marstek", "%s: mode %s", m->kit.config.id, mode);
    snprintf(m->mode, sizeof m->mode, "%s", mode);
    if (m->passive && strcmp(mode, "Passive") != 0) {
        log_info("marstek", "%s: left Passive (app, countdown or restart); setpoint %g W dropped",
                 m->kit.config.id, m->passive_w);
        m->passive = false;
    }
    if (req != REQ_VERIFY_MODE)
        return;
    bool automatic = strcmp(m->command.command, "auto") == 0;
    const char *wanted = automatic ? "Auto" : "Passive";
    if (strcmp(mode, wanted) != 0) {
        char detail[96];
        snprintf(detail, sizeof detail, "mode is %s, expected %s", mode, wanted);
        dev_cmd_read(&m->kit, false, NAN, detail);
    } else if (automatic) {
        dev_cmd_read(&m->kit, true, m->command.value, "");
    } else {
        m->due[REQ_VERIFY_STATUS] = true; /* the power is only in ES.GetStatus */
    }
}

static void on_result(struct marstek *m, enum req req, const cJSON *result)
{
    char err[96];
    struct marstek_status status;
    switch (req) {
    case REQ_STATUS:
    case REQ_VERIFY_STATUS:
        if (!parse_status(result, &status, err, sizeof err)) {
            if (req == REQ_VERIFY_STATUS)
                dev_cmd_read(&m->kit, false, NAN, err);
            dev_failed(&m->kit, "%s", err);
            return;
        }
        if (!m->status_ok)
            m->due[REQ_DEVICE] = true; /* it answers: now ask who it is */
        m->status_ok = true;
        publish_status(m, &status);
        if (req == REQ_VERIFY_STATUS)
            dev_cmd_read(&m->kit, true, status.power_w, "");
        return;
    case REQ_SET: {
        const cJSON *set = cJSON_GetObjectItemCaseSensitive(result, "set_result");
        log_debug("marstek", "%s: ES.SetMode set_result %s (verified by reading back)",
                  m->kit.config.id, cJSON_IsTrue(set) ? "true" : "false");
        bool automatic = strcmp(m->command.command, "auto") == 0;
        m->passive = !automatic;
        m->passive_w = m->command.value;
        m->passive_sent_ms = uv_now(m->kit.ctx->loop);
        dev_cmd_sent(&m->kit, true, "");
        return;
    }
    case REQ_REFRESH:
        m->passive_sent_ms = uv_now(m->kit.ctx->loop);
        return;
    case REQ_MODE:
    case REQ_VERIFY_MODE:
        on_mode(m, result, req);
        return;
    case REQ_METER:
        on_meter(m, result);
        return;
    case REQ_DEVICE: {
        const cJSON *device = cJSON_GetObjectItemCaseSensitive(result, "device");
        const cJSON *ver = cJSON_GetObjectItemCaseSensitive(result, "ver");
        if (cJSON_IsString(device))
            snprintf(m->model, sizeof m->model, "%s", device->valuestring);
        if (cJSON_IsNumber(ver))
            snprintf(m->firmware, sizeof m->firmware, "%g", ver->valuedouble);
        else if (cJSON_IsString(ver))
            snprintf(m->firmware, sizeof m->firmware, "%s", ver->valuestring);
        m->device_known = m->model[0] != '\0';
        return;
    }
    default:
        return;
    }
}

/* The device's address and port: its replies come from the port it listens on (even the
 * firmwares that send them to port 30000 rather than to ours). */
static bool from_device(const struct sockaddr_storage *a, const struct sockaddr *b)
{
    if (a->ss_family != b->sa_family)
        return false;
    if (b->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a;
        const struct sockaddr_in *y = (const struct sockaddr_in *)b;
        return x->sin_port == y->sin_port &&
               memcmp(&x->sin_addr, &y->sin_addr, sizeof(struct in_addr)) == 0;
    }
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
    const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
    return x->sin6_port == y->sin6_port &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(struct in6_addr)) == 0;
}

/* A datagram that is not the answer to our request: warned about, then summed up once a
 * minute, so a flood of them cannot flood the log. */
static void refuse(struct marstek *m, const char *why)
{
    uint64_t now_ms = uv_now(m->kit.ctx->loop);
    m->refused++;
    if (m->refused_log_ms && now_ms - m->refused_log_ms < REFUSED_LOG_MS) {
        log_debug("marstek", "%s: refused a datagram: %s", m->kit.config.id, why);
        return;
    }
    log_warn("marstek", "%s: refused %u datagram%s that did not answer our request (last: %s)",
             m->kit.config.id, m->refused, m->refused == 1 ? "" : "s", why);
    m->refused = 0;
    m->refused_log_ms = now_ms;
}

static void on_datagram(struct marstek *m, const char *data, size_t size)
{
    enum req req = m->in_flight;
    const char *method = METHODS[req];
    cJSON *json = cJSON_ParseWithLength(data, size);
    char detail[96];
    if (!cJSON_IsObject(json)) {
        snprintf(detail, sizeof detail, "%s: the reply is not a JSON object", method);
        cJSON_Delete(json);
        fail_request(m, "bad_reply", detail);
        return;
    }
    /* The id binds the reply to the request. One of our last few ids answers a request that
     * already timed out; no id, or one we never sent, answers nothing of ours. */
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(json, "id");
    double id_value = cJSON_IsNumber(id)   ? id->valuedouble
                      : cJSON_IsString(id) ? atof(id->valuestring)
                                           : NAN;
    if (id_value != m->in_flight_id) {
        double age = (double)m->in_flight_id - id_value;
        if (age < 0)
            age += 60000; /* the ids wrap at 60000 */
        if (age > 0 && age <= LATE_IDS) {
            log_debug("marstek", "%s: ignored a late reply (id %g, waiting for %u)",
                      m->kit.config.id, id_value, m->in_flight_id);
        } else {
            char why[64];
            if (isnan(id_value))
                snprintf(why, sizeof why, "a reply without an id");
            else
                snprintf(why, sizeof why, "id %.0f, waiting for %u", id_value, m->in_flight_id);
            refuse(m, why);
        }
        cJSON_Delete(json);
        return;
    }
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(json, "error");
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(json, "result");
    if (error) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(error, "code");
        const cJSON *message = cJSON_GetObjectItemCaseSensitive(error, "message");
        snprintf(detail, sizeof detail, "%s: error %g %s", method,
                 cJSON_IsNumber(code) ? code->valuedouble : 0.0,
                 cJSON_IsString(message) ? message->valuestring : "");
        cJSON_Delete(json);
        fail_request(m, "bad_reply", detail);
        return;
    }
    if (!cJSON_IsObject(result)) {
        snprintf(detail, sizeof detail, "%s: result missing in the reply", method);
        cJSON_Delete(json);
        fail_request(m, "bad_reply", detail);
        return;
    }
    finish_request(m);
    on_result(m, req, result);
    cJSON_Delete(json);
    pump(m);
}

static void alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct marstek *m = handle->data;
    *buf = uv_buf_init(m->rx, sizeof m->rx);
}

static void recv_cb(uv_udp_t *udp, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags)
{
    struct marstek *m = udp->data;
    if (nread < 0)
        log_debug("marstek", "%s: receive: %s", m->kit.config.id, uv_strerror((int)nread));
    if (nread <= 0 || !addr || m->kit.stopping)
        return;
    if (!from_device(&m->addr, addr)) {
        char host[64] = "?";
        int port = 0;
        if (addr->sa_family == AF_INET) {
            uv_ip4_name((const struct sockaddr_in *)addr, host, sizeof host);
            port = ntohs(((const struct sockaddr_in *)addr)->sin_port);
        } else if (addr->sa_family == AF_INET6) {
            uv_ip6_name((const struct sockaddr_in6 *)addr, host, sizeof host);
            port = ntohs(((const struct sockaddr_in6 *)addr)->sin6_port);
        }
        char why[160];
        snprintf(why, sizeof why, "from %s port %d, not the device's port %ld", host, port,
                 device_port(m));
        refuse(m, why);
        return;
    }
    if (flags & UV_UDP_PARTIAL) {
        dev_failed(&m->kit, "%s: the reply is longer than %zu bytes", METHODS[m->in_flight],
                   sizeof m->rx);
        return;
    }
    if (m->in_flight == REQ_NONE) {
        log_debug("marstek", "%s: ignored a datagram while no request was out", m->kit.config.id);
        return;
    }
    on_datagram(m, buf->base, (size_t)nread);
}

/* --- Socket, resolution and lifetime --------------------------------------------------- */

static long device_port(const struct marstek *m)
{
    return m->kit.config.port ? (long)m->kit.config.port : DEFAULT_PORT;
}

/* Binds the device's own port when free (for firmwares that reply to port 30000), else any. */
static int bind_socket(struct marstek *m)
{
    struct sockaddr_storage local;
    if (m->addr.ss_family == AF_INET6)
        uv_ip6_addr("::", (int)device_port(m), (struct sockaddr_in6 *)&local);
    else
        uv_ip4_addr("0.0.0.0", (int)device_port(m), (struct sockaddr_in *)&local);
    int rc = uv_udp_bind(&m->udp, (const struct sockaddr *)&local, 0);
    if (rc < 0) {
        log_info("marstek",
                 "%s: local port %ld is taken (%s); using another, so replies must come to it",
                 m->kit.config.id, device_port(m), uv_strerror(rc));
        if (m->addr.ss_family == AF_INET6)
            ((struct sockaddr_in6 *)&local)->sin6_port = 0;
        else
            ((struct sockaddr_in *)&local)->sin_port = 0;
        rc = uv_udp_bind(&m->udp, (const struct sockaddr *)&local, 0);
    }
    if (rc == 0)
        rc = uv_udp_recv_start(&m->udp, alloc_cb, recv_cb);
    return rc;
}

static void resolved_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct marstek *m = req->data;
    m->resolving = false;
    bool stale = m->resolve_stale;
    m->resolve_stale = false;
    if (m->kit.stopping) {
        uv_freeaddrinfo(res);
        dev_kit_release(&m->kit);
        return;
    }
    m->kit.open_handles--;
    if (stale || m->udp_closing) { /* for an old host: the next poll resolves the new one */
        uv_freeaddrinfo(res);
        return;
    }
    if (status < 0 || !res) {
        dev_failed_code(&m->kit, "unknown_host", "cannot resolve %s: %s", m->kit.config.host,
                        uv_strerror(status));
        uv_freeaddrinfo(res);
        return;
    }
    memcpy(&m->addr, res->ai_addr, res->ai_addrlen);
    uv_freeaddrinfo(res);
    if (m->addr.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&m->addr)->sin6_port = htons((uint16_t)device_port(m));
    else
        ((struct sockaddr_in *)&m->addr)->sin_port = htons((uint16_t)device_port(m));
    int rc = bind_socket(m);
    if (rc < 0) {
        dev_failed(&m->kit, "cannot open a UDP socket: %s", uv_strerror(rc));
        return;
    }
    m->bound = true;
    m->due[REQ_STATUS] = true;
    pump(m);
}

/* Resolves the host (an address or a LAN name) without blocking the loop. */
static void resolve(struct marstek *m)
{
    if (m->resolving || m->udp_closing)
        return;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM};
    m->resolver.data = m;
    int rc = uv_getaddrinfo(m->kit.ctx->loop, &m->resolver, resolved_cb, m->kit.config.host, NULL,
                            &hints);
    if (rc < 0) {
        dev_failed_code(&m->kit, "unknown_host", "cannot resolve %s: %s", m->kit.config.host,
                        uv_strerror(rc));
        return;
    }
    m->resolving = true;
    m->kit.open_handles++; /* the kit's free waits for the resolver, too */
}

static void marstek_poll(struct dev_kit *kit)
{
    struct marstek *m = (struct marstek *)kit;
    if (!m->bound) {
        resolve(m);
        return;
    }
    m->polls++;
    m->due[REQ_STATUS] = true;
    if (m->status_ok) {
        m->due[REQ_METER] |= m->meter_role;
        m->due[REQ_MODE] |= m->polls % MODE_EVERY_POLLS == 0;
        m->due[REQ_DEVICE] |= !m->device_known && m->polls % INFO_RETRY_POLLS == 0;
        /* A third of the countdown: two refreshes may be lost before the battery gives up. */
        uint64_t since_ms = uv_now(kit->ctx->loop) - m->passive_sent_ms;
        uint64_t refresh_ms = (uint64_t)(kit->config.failsafe_s * 1000.0 / 3.0);
        m->due[REQ_REFRESH] |=
            !passive_expired(m) && m->passive && !m->due[REQ_SET] && since_ms >= refresh_ms;
    }
    pump(m);
}

/* The runner's send: an ES.SetMode; its answer only says the datagram arrived. */
static int send_command(struct dev_kit *kit, const struct device_command *command)
{
    struct marstek *m = (struct marstek *)kit;
    if (!m->bound)
        return BALKON_E_IO;
    m->command = *command;
    m->due[REQ_SET] = true;
    m->due[REQ_REFRESH] = false;
    pump(m);
    return 0;
}

/* Verified by the mode (ES.GetMode) and, for a setpoint, the power (ES.GetStatus). */
static int read_back(struct dev_kit *kit, const struct device_command *command)
{
    struct marstek *m = (struct marstek *)kit;
    if (!m->bound)
        return BALKON_E_IO;
    m->command = *command;
    /* The measured ongrid_power, not an echo: within 25 W or 5 %, whichever is more. */
    kit->tolerance_w = fmax(25.0, 0.05 * fabs(command->value));
    m->due[REQ_VERIFY_MODE] = true;
    pump(m);
    return 0;
}

static void free_marstek(struct dev_kit *kit)
{
    free(kit);
}

static const struct dev_kit_ops OPS = {
    .log_name = "marstek",
    .default_port = DEFAULT_PORT,
    .poll = marstek_poll,
    .send = send_command,
    .read_back = read_back,
    .free = free_marstek,
};

static bool wants_meter(const struct balkon_device_config *device)
{
    return strcmp(device->role, "battery+meter") == 0;
}

static int marstek_start(struct balkon_ctx *ctx, const struct balkon_device_config *device,
                         void **instance, char *msg, size_t msg_size)
{
    struct marstek *m = calloc(1, sizeof *m);
    if (!m)
        return BALKON_E_NOMEM;
    m->kit.verify_delay_s = 3.0;         /* the inverter ramps for a second or two */
    m->kit.min_command_interval_s = 2.0; /* the spacing the firmware needs anyway */
    /* Without a host the kit makes no HTTP client, which UDP does not need. */
    struct balkon_device_config copy = *device;
    copy.host[0] = '\0';
    int rc = dev_kit_start(&m->kit, ctx, &copy, &OPS, msg, msg_size);
    if (rc < 0) {
        free(m);
        return rc;
    }
    m->kit.config = *device;
    m->meter_role = wants_meter(device);
    m->last_poll = REQ_DEVICE; /* the turns start with ES.GetStatus */
    uv_udp_init(ctx->loop, &m->udp);
    uv_timer_init(ctx->loop, &m->timer);
    m->udp.data = m->timer.data = m;
    m->kit.open_handles += 2;
    *instance = m;
    return 0;
}

static void socket_closed(uv_handle_t *handle)
{
    struct marstek *m = handle->data;
    m->udp_closing = false;
    if (m->kit.stopping) {
        dev_kit_handle_closed(handle);
        return;
    }
    uv_udp_init(m->kit.ctx->loop, &m->udp);
    m->udp.data = m;
}

/* A new host or port: a new socket (the address family may change) and a new resolve. */
static void marstek_reconfigure(void *instance)
{
    struct marstek *m = instance;
    char old_host[sizeof m->kit.config.host];
    long old_port = device_port(m);
    snprintf(old_host, sizeof old_host, "%s", m->kit.config.host);
    dev_kit_reconfigure(&m->kit);
    m->meter_role = wants_meter(&m->kit.config);
    if (strcmp(old_host, m->kit.config.host) == 0 && old_port == device_port(m))
        return;
    m->resolve_stale = m->resolving;
    m->bound = false;
    m->status_ok = m->device_known = m->passive = false; /* perhaps another battery now */
    m->model[0] = m->firmware[0] = m->mode[0] = '\0';
    if (m->in_flight != REQ_NONE)
        fail_request(m, "failed", "the device's address changed");
    m->udp_closing = true;
    uv_close((uv_handle_t *)&m->udp, socket_closed);
}

static void marstek_stop(void *instance)
{
    struct marstek *m = instance;
    dev_kit_stop(&m->kit);
    if (m->resolving)
        uv_cancel((uv_req_t *)&m->resolver);
    uv_timer_stop(&m->timer);
    uv_close((uv_handle_t *)&m->timer, dev_kit_handle_closed);
    if (!m->udp_closing)
        uv_close((uv_handle_t *)&m->udp, dev_kit_handle_closed);
    else
        m->udp.data = m; /* socket_closed sees stopping and counts it */
}

static int marstek_command(void *instance, const struct device_command *command, char *msg,
                           size_t msg_size)
{
    struct marstek *m = instance;
    if (strcmp(command->device_id, m->kit.config.id) != 0) {
        snprintf(msg, msg_size, "%s takes no commands (only %s does)", command->device_id,
                 m->kit.config.id);
        return BALKON_E_INVAL;
    }
    double max_w = m->kit.config.max_power_w;
    int rc = dev_battery_command_check(command, -max_w, max_w, msg, msg_size);
    if (rc < 0)
        return rc;
    dev_cmd_submit(&m->kit, command);
    return 0;
}

const struct dev_driver_ops dev_driver_marstek_venus = {
    .driver = &balkon_driver_marstek_venus,
    .start = marstek_start,
    .reconfigure = marstek_reconfigure,
    .stop = marstek_stop,
    .command = marstek_command,
};
