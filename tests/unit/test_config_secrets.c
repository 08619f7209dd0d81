/* balkon_config_keep_secrets: what PUT /api/v1/config does with the "***" of
 * GET /api/v1/config. Array items are matched by id even when reordered; a secret that
 * is sent in clear replaces the old one; a mask with nothing behind it is an error that
 * names its path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "balkon/config.h"
#include "balkon/error.h"

#include <cjson/cJSON.h>
#include <string.h>

static const char *device_password(const cJSON *config, int index)
{
    const cJSON *device = cJSON_GetArrayItem(cJSON_GetObjectItem(config, "devices"), index);
    return cJSON_GetObjectItem(device, "password")->valuestring;
}

static void test_masks_keep_the_files_values(void **state)
{
    cJSON *current = cJSON_Parse(
        "{\"devices\":[{\"id\":\"a\",\"password\":\"pa\"},{\"id\":\"b\",\"password\":\"env:PB\"}],"
        "\"providers\":[{\"id\":\"p\",\"token\":\"tok\"}],\"mqtt\":{\"password\":\"mq\"}}");
    /* Reordered devices, a new clear password, the provider's token masked. */
    cJSON *next = cJSON_Parse(
        "{\"devices\":[{\"id\":\"b\",\"password\":\"***\"},{\"id\":\"a\",\"password\":\"new\"}],"
        "\"providers\":[{\"id\":\"p\",\"token\":\"***\"}],\"mqtt\":{\"password\":\"***\"},"
        "\"site\":{\"name\":\"***\"}}");
    struct balkon_config_errors errors = {0};
    assert_int_equal(balkon_config_keep_secrets(next, current, &errors), 0);
    assert_int_equal(errors.count, 0);
    assert_string_equal(device_password(next, 0), "env:PB");
    assert_string_equal(device_password(next, 1), "new");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(next, "providers"), 0), "token")
            ->valuestring,
        "tok");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(next, "mqtt"), "password")->valuestring, "mq");
    /* Not a secret: "***" is just a name. */
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(next, "site"), "name")->valuestring,
                        "***");
    cJSON_Delete(next);
    cJSON_Delete(current);
}

static void test_a_mask_without_a_value_is_an_error(void **state)
{
    cJSON *current = cJSON_Parse("{\"devices\":[{\"id\":\"a\",\"password\":\"pa\"}]}");
    cJSON *next = cJSON_Parse(
        "{\"devices\":[{\"id\":\"a\",\"password\":\"***\"},{\"id\":\"c\",\"password\":\"***\"}],"
        "\"mqtt\":{\"password\":\"***\"}}");
    struct balkon_config_errors errors = {0};
    assert_int_equal(balkon_config_keep_secrets(next, current, &errors), BALKON_E_INVAL);
    assert_int_equal(errors.count, 2);
    assert_true(strncmp(errors.items[0], "devices[1].password: ", 21) == 0);
    assert_true(strncmp(errors.items[1], "mqtt.password: ", 15) == 0);
    assert_string_equal(device_password(next, 0), "pa");
    cJSON_Delete(next);

    /* No readable file: every mask is an error. */
    next = cJSON_Parse("{\"devices\":[{\"id\":\"a\",\"password\":\"***\"}]}");
    memset(&errors, 0, sizeof errors);
    assert_int_equal(balkon_config_keep_secrets(next, NULL, &errors), BALKON_E_INVAL);
    assert_int_equal(errors.count, 1);
    cJSON_Delete(next);
    cJSON_Delete(current);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_masks_keep_the_files_values),
        cmocka_unit_test(test_a_mask_without_a_value_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
