/* fuzz_devices: the shelly_gen1 driver's reply handlers (src/devices/shelly_gen1.c). The driver's
 * table is renamed so that it does not clash with the library's copy. */
#define dev_driver_shelly_gen1 fuzz_unused_driver_shelly_gen1
#include "../../../src/devices/shelly_gen1.c"
#include "../fuzz_devices.h"

void fuzz_dev_shelly_gen1(const struct fuzz_dev_input *in)
{
    struct shelly1 *d = calloc(1, sizeof *d);
    if (!d)
        return;
    d->kit.ctx = in->ctx;
    fuzz_dev_config(&d->kit.config, "shelly_gen1", in->selector);
    struct balkon_http_result result = fuzz_dev_result(in);
    default_user(&d->kit);
    if (in->selector & 1)
        identity_cb(&d->kit, &result, NULL);
    else
        status_cb(&d->kit, &result, NULL);
    free(d);
}
