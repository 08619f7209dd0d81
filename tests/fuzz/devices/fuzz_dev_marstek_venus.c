/* fuzz_devices: the marstek_venus driver's reply handlers (src/devices/marstek_venus.c). The
 * driver's table is renamed so that it does not clash with the library's copy. */
#define dev_driver_marstek_venus fuzz_unused_driver_marstek_venus
#include "../../../src/devices/marstek_venus.c"
#include "../fuzz_devices.h"

void fuzz_dev_marstek_venus(const struct fuzz_dev_input *in)
{
    struct marstek *d = calloc(1, sizeof *d);
    if (!d)
        return;
    d->kit.ctx = in->ctx;
    fuzz_dev_config(&d->kit.config, "marstek_venus", in->selector);
    struct balkon_http_result result = fuzz_dev_result(in);
    /* The UDP datagram envelope (on_datagram) needs the socket and the request timer; the
     * parse of its "result" object is what is fuzzed here, per request type. */
    static const enum req reqs[] = {REQ_STATUS, REQ_MODE, REQ_METER, REQ_DEVICE};
    (void)result;
    d->meter_role = in->selector & 0x10;
    cJSON *json = cJSON_ParseWithLength(in->body, in->size);
    if (json)
        on_result(d, reqs[in->selector & 3], json);
    cJSON_Delete(json);
    free(d);
}
