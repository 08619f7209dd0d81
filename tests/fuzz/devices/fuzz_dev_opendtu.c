/* fuzz_devices: the opendtu driver's reply handlers (src/devices/opendtu.c). The driver's table
 * is renamed so that it does not clash with the library's copy. */
#define dev_driver_opendtu fuzz_unused_driver_opendtu
#include "../../../src/devices/opendtu.c"
#include "../fuzz_devices.h"

void fuzz_dev_opendtu(const struct fuzz_dev_input *in)
{
    struct opendtu *d = calloc(1, sizeof *d);
    if (!d)
        return;
    d->kit.ctx = in->ctx;
    fuzz_dev_config(&d->kit.config, "opendtu", in->selector);
    struct balkon_http_result result = fuzz_dev_result(in);
    live_reset(&d->live);
    apply_config(d);
    switch (in->selector & 3) {
    case 0:
        live_cb(&d->kit, &result, d);
        break;
    case 1:
        info_cb(&d->kit, &result, d);
        break;
    default: { /* MQTT: the first line of the body is the topic after <base>/<serial>/ */
        const char *newline = memchr(in->body, '\n', in->size);
        if (!newline)
            break;
        char topic_name[512];
        snprintf(topic_name, sizeof topic_name, "%s/%s/%.*s", d->base, d->kit.config.serial,
                 (int)(newline - in->body), in->body);
        if ((in->selector & 3) == 2)
            inverter_msg(topic_name, newline + 1, in->size - (size_t)(newline + 1 - in->body), d);
        else
            dtu_status_msg(topic_name, newline + 1, in->size - (size_t)(newline + 1 - in->body), d);
        break;
    }
    }
    free(d);
}
