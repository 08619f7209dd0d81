/* fuzz_devices: the mqtt_json driver's reply handlers (src/devices/generic_mqtt.c). The driver's
 * table is renamed so that it does not clash with the library's copy. */
#define dev_driver_mqtt_json fuzz_unused_driver_mqtt_json
#include "../../../src/devices/generic_mqtt.c"
#include "../fuzz_devices.h"

void fuzz_dev_mqtt_json(const struct fuzz_dev_input *in)
{
    struct mqtt_json *d = calloc(1, sizeof *d);
    if (!d)
        return;
    d->kit.ctx = in->ctx;
    fuzz_dev_config(&d->kit.config, "mqtt_json", in->selector);
    struct balkon_http_result result = fuzz_dev_result(in);
    d->role = balkon_driver_role_bit(d->kit.config.role);
    d->power_w = d->soc_pct = NAN;
    d->on = -1;
    (void)result;
    state_msg("home/device/state", in->body, in->size, d);
    free(d);
}
