/* fuzz_devices: the shelly_gen2 driver's reply handlers (src/devices/shelly_gen2.c). The driver's
 * table is renamed so that it does not clash with the library's copy. */
#define dev_driver_shelly_gen2 fuzz_unused_driver_shelly_gen2
#include "../../../src/devices/shelly_gen2.c"
#include "../fuzz_devices.h"

void fuzz_dev_shelly_gen2(const struct fuzz_dev_input *in)
{
    struct shelly2 *d = calloc(1, sizeof *d);
    if (!d)
        return;
    d->kit.ctx = in->ctx;
    fuzz_dev_config(&d->kit.config, "shelly_gen2", in->selector);
    struct balkon_http_result result = fuzz_dev_result(in);
    default_user(&d->kit);
    if ((in->selector & 3) == 3)
        identity_cb(&d->kit, &result, NULL);
    else
        status_cb(&d->kit, &result, (void *)(intptr_t)(in->selector & 3));
    free(d);
}
