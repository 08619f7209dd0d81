/* GET /api/v1/devices/catalogue: what the setup UI offers when a device is added, made
 * from the driver table (include/balkon/drivers_list.h) and each driver's catalogue
 * (src/drivers/<name>.c), so the UI keeps no list of its own:
 *   {"drivers":[{"type":"shelly_gen2","description":"…","brand":"Shelly",
 *     "default_port":80,"host":true,"options":["channel","password",…],
 *     "roles":["meter","plug"],
 *     "models":[{"name":"Pro 3EM","roles":["meter"]},…]},…]}
 * "roles" of a model are config "role" values, the first one its usual role. A driver
 * without a catalogue is listed under brand "Other" with one model named by its
 * description. */
#include "http_internal.h"

#include "balkon/driver.h"

#include <string.h>

/* Adds the words of a separated list ("a,b" or "a b") as strings. */
static void add_words(cJSON *array, const char *text, const char *separators)
{
    while (text && *text) {
        size_t len = strcspn(text, separators);
        if (len > 0) {
            char word[64];
            snprintf(word, sizeof word, "%.*s", (int)len, text);
            cJSON_AddItemToArray(array, cJSON_CreateString(word));
        }
        text += len;
        text += strspn(text, separators);
    }
}

static void add_driver_roles(cJSON *array, unsigned roles)
{
    for (int bit = 0; bit < DEVICE_ROLE_COUNT; bit++)
        if (roles & (1u << bit))
            cJSON_AddItemToArray(array, cJSON_CreateString(balkon_device_role_name(1u << bit)));
}

static cJSON *driver_json(const struct balkon_driver *driver)
{
    const struct balkon_driver_catalogue *catalogue = driver->catalogue;
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "type", driver->type);
    cJSON_AddStringToObject(json, "description", driver->description);
    cJSON_AddStringToObject(json, "brand", catalogue ? catalogue->brand : "Other");
    cJSON_AddNumberToObject(json, "default_port", catalogue ? catalogue->default_port : 0);
    cJSON_AddBoolToObject(json, "host", catalogue ? catalogue->host : true);
    add_words(cJSON_AddArrayToObject(json, "options"), catalogue ? catalogue->options : NULL, " ");
    cJSON *roles = cJSON_AddArrayToObject(json, "roles");
    add_driver_roles(roles, driver->roles);
    cJSON *models = cJSON_AddArrayToObject(json, "models");
    if (!catalogue || !catalogue->models || !catalogue->models[0].name) {
        cJSON *model = cJSON_CreateObject();
        cJSON_AddStringToObject(model, "name", driver->description);
        add_driver_roles(cJSON_AddArrayToObject(model, "roles"), driver->roles);
        cJSON_AddItemToArray(models, model);
        return json;
    }
    for (const struct balkon_driver_model *m = catalogue->models; m->name; m++) {
        cJSON *model = cJSON_CreateObject();
        cJSON_AddStringToObject(model, "name", m->name);
        add_words(cJSON_AddArrayToObject(model, "roles"), m->roles, ",");
        cJSON_AddItemToArray(models, model);
    }
    return json;
}

void api_devices_catalogue_get(struct http_state *state, const struct http_request *request,
                               struct http_response *response)
{
    cJSON *json = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(json, "drivers");
    for (size_t i = 0; i < balkon_driver_count(); i++)
        cJSON_AddItemToArray(list, driver_json(balkon_driver_at(i)));
    http_reply_json(response, 200, json);
}
