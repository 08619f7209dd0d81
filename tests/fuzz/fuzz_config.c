/* libFuzzer target: the config loader (balkon_config_parse: JSON with comments, the table's
 * types and bounds, every module's own checks), and for a valid config the way back to
 * JSON that GET /api/v1/config answers with. Input: the config file's text. */
#include "balkon/config.h"
#include "balkon/log.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    balkon_log_set_level((enum balkon_log_level)0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    struct balkon_config *config = malloc(sizeof *config);
    struct balkon_config_errors *errors = malloc(sizeof *errors);
    if (!text || !config || !errors)
        goto done;
    memcpy(text, data, size);
    text[size] = '\0';
    if (balkon_config_parse(text, config, errors) == 0) {
        cJSON *json = balkon_config_to_json(config);
        char *printed = cJSON_PrintUnformatted(json);
        /* What GET answers with must load again. */
        if (printed && balkon_config_parse(printed, config, errors) != 0 &&
            !strstr(printed, "\"***\"")) /* masked secrets are refused on their own */
            abort();
        free(printed);
        cJSON_Delete(json);
    }
done:
    free(errors);
    free(config);
    free(text);
    return 0;
}
