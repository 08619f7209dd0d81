/* fuzz_devices: the tasmota driver's reply handlers (src/devices/tasmota.c). The driver's table
 * is renamed so that it does not clash with the library's copy. */
#define dev_driver_tasmota fuzz_unused_driver_tasmota
#include "../../../src/devices/tasmota.c"
#include "../fuzz_devices.h"

void fuzz_dev_tasmota(const struct fuzz_dev_input *in)
{
    struct tasmota *d = calloc(1, sizeof *d);
    if (!d)
        return;
    d->kit.ctx = in->ctx;
    fuzz_dev_config(&d->kit.config, "tasmota", in->selector);
    struct balkon_http_result result = fuzz_dev_result(in);
    d->power_w = d->energy_wh = d->voltage_v = NAN;
    d->on = -1;
    apply_config(d);
    char topic_name[160];
    switch (in->selector & 3) {
    case 0:
        status8_cb(&d->kit, &result, d);
        break;
    case 1:
        relay_cb(&d->kit, &result, d);
        break;
    case 2:
        info_cb(&d->kit, &result, d);
        break;
    default: /* MQTT: tele/<topic>/SENSOR or STATE */
        topic(d, "tele", in->selector & 0x20 ? "STATE" : "SENSOR", topic_name, sizeof topic_name);
        if (in->selector & 0x20)
            state_msg(topic_name, in->body, in->size, d);
        else
            sensor_msg(topic_name, in->body, in->size, d);
        break;
    }
    free(d);
}
