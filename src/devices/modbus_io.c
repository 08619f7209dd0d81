/* Modbus TCP through libmodbus on the pool (see modbus_io.h). */
#include "modbus_io.h"

#include <errno.h>
#include <modbus.h>
#include <stdio.h>
#include <string.h>

#define MODBUS_DEFAULT_PORT 502
#define BACKOFF_MAX_MS 30000

void mb_link_close(struct mb_link *link)
{
    if (!link->ctx)
        return;
    modbus_close(link->ctx);
    modbus_free(link->ctx);
    link->ctx = NULL;
}

static int mb_connect(struct mb_link *link, char *why, size_t why_size)
{
    if (link->ctx &&
        (strcmp(link->connected_host, link->host) != 0 || link->connected_port != link->port))
        mb_link_close(link);
    if (link->ctx)
        return 0;
    char service[16];
    snprintf(service, sizeof service, "%d", link->port);
    modbus_t *ctx = modbus_new_tcp_pi(link->host, service);
    if (!ctx) {
        snprintf(why, why_size, "cannot set up Modbus TCP to %s:%d: %s", link->host, link->port,
                 modbus_strerror(errno));
        return -1;
    }
    double t = link->timeout_s > 0 ? link->timeout_s : 3;
    modbus_set_response_timeout(ctx, (uint32_t)t, (uint32_t)((t - (uint32_t)t) * 1e6));
    modbus_set_slave(ctx, link->unit);
    if (modbus_connect(ctx) < 0) {
        snprintf(why, why_size, "cannot connect to %s:%d: %s", link->host, link->port,
                 modbus_strerror(errno));
        modbus_free(ctx);
        return -1;
    }
    link->ctx = ctx;
    snprintf(link->connected_host, sizeof link->connected_host, "%s", link->host);
    link->connected_port = link->port;
    return 0;
}

int mb_read(struct mb_link *link, bool input, uint16_t address, uint16_t count, uint16_t *out,
            bool *transport, char *why, size_t why_size)
{
    *transport = true;
    if (mb_connect(link, why, why_size) < 0)
        return -1;
    modbus_set_slave(link->ctx, link->unit);
    int n = input ? modbus_read_input_registers(link->ctx, address, count, out)
                  : modbus_read_registers(link->ctx, address, count, out);
    if (n == count)
        return 0;
    int err = errno;
    /* An exception is the device's answer: the link is fine. */
    *transport = n >= 0 || err < MODBUS_ENOBASE || err > EMBXGTAR;
    const char *problem = n >= 0 ? "short answer" : modbus_strerror(err);
    if (count > 1)
        snprintf(why, why_size, "%s registers %u-%u: %s", input ? "input" : "holding", address,
                 (unsigned)(address + count - 1), problem);
    else
        snprintf(why, why_size, "%s register %u: %s", input ? "input" : "holding", address,
                 problem);
    if (*transport)
        mb_link_close(link);
    return -1;
}

static void work_cb(uv_work_t *req)
{
    struct mb_poller *p = req->data;
    p->work(p);
}

static void after_cb(uv_work_t *req, int status)
{
    struct mb_poller *p = req->data;
    struct dev_kit *kit = p->kit;
    p->busy = false;
    if (kit->stopping) {
        dev_kit_release(kit);
        return;
    }
    kit->open_handles--;
    bool ok = status == 0 && p->done(p);
    if (ok) {
        p->failures = 0;
        p->next_try_ms = 0;
        return;
    }
    if (p->failures < 16)
        p->failures++;
    uint64_t wait_ms = 1000u << (p->failures < 6 ? p->failures : 6);
    if (wait_ms > BACKOFF_MAX_MS)
        wait_ms = BACKOFF_MAX_MS;
    p->next_try_ms = uv_now(kit->ctx->loop) + wait_ms;
}

void mb_poller_poll(struct mb_poller *p)
{
    struct dev_kit *kit = p->kit;
    if (p->busy || kit->stopping || uv_now(kit->ctx->loop) < p->next_try_ms)
        return;
    snprintf(p->link.host, sizeof p->link.host, "%s", kit->config.host);
    p->link.port = kit->config.port ? (int)kit->config.port : MODBUS_DEFAULT_PORT;
    p->link.unit = (int)kit->config.unit_id;
    p->link.timeout_s = kit->config.timeout_s;
    p->req.data = p;
    if (uv_queue_work(kit->ctx->loop, &p->req, work_cb, after_cb) < 0) {
        dev_failed(kit, "cannot queue the Modbus poll");
        return;
    }
    p->busy = true;
    kit->open_handles++; /* the kit's free waits for the job */
}

void mb_poller_free(struct mb_poller *p)
{
    mb_link_close(&p->link);
}
