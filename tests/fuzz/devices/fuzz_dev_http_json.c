/* fuzz_devices: the http_json driver's reply handlers (src/devices/generic_http.c). The driver's
 * table is renamed so that it does not clash with the library's copy. */
#define dev_driver_http_json fuzz_unused_driver_http_json
#include "../../../src/devices/generic_http.c"
#include "../fuzz_devices.h"

void fuzz_dev_http_json(const struct fuzz_dev_input *in)
{
    struct http_json *d = calloc(1, sizeof *d);
    if (!d)
        return;
    d->kit.ctx = in->ctx;
    fuzz_dev_config(&d->kit.config, "http_json", in->selector);
    struct balkon_http_result result = fuzz_dev_result(in);
    reply_cb(&d->kit, &result, NULL);
    free(d);
}
