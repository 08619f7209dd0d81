/* fuzz_devices: the zendure driver's reply handlers (src/devices/zendure.c). The driver's table
 * is renamed so that it does not clash with the library's copy. */
#define dev_driver_zendure fuzz_unused_driver_zendure
#include "../../../src/devices/zendure.c"
#include "../fuzz_devices.h"

void fuzz_dev_zendure(const struct fuzz_dev_input *in)
{
    struct zendure *d = calloc(1, sizeof *d);
    if (!d)
        return;
    d->kit.ctx = in->ctx;
    fuzz_dev_config(&d->kit.config, "zendure", in->selector);
    struct balkon_http_result result = fuzz_dev_result(in);
    make_topics(d);
    d->limit_w = NAN;
    if (in->selector & 1) {
        report_cb(&d->kit, &result, NULL);
    } else {
        d->props = cJSON_CreateObject();
        report_msg(d->topic_report, in->body, in->size, d);
        report_msg(d->topic_report, in->body, in->size, d); /* a second report merges */
        cJSON_Delete(d->props);
    }
    free(d);
}
