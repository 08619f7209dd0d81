/* Loads libmosquitto when MQTT is enabled (see mosquitto_lib.h for why), from a table of
 * names as src/net/curl_lib.c loads libcurl. */
#include "mosquitto_lib.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* mosquitto_connect_async, mosquitto_loop_* and the topic checks as we use them are 1.x
 * API; 2.0 is what Debian 12 ships and what the tests run against. */
#define MOSQUITTO_LIB_MIN_MAJOR 1

#define SYMBOL(name)                                                                               \
    {                                                                                              \
        "mosquitto_" #name, offsetof(struct mosquitto_lib, name)                                   \
    }
static const struct {
    const char *name;
    size_t offset;
} symbols[] = {
    SYMBOL(lib_init),
    SYMBOL(lib_version),
    SYMBOL(new),
    SYMBOL(destroy),
    SYMBOL(username_pw_set),
    SYMBOL(will_set),
    SYMBOL(connect_callback_set),
    SYMBOL(disconnect_callback_set),
    SYMBOL(message_callback_set),
    SYMBOL(connect_async),
    SYMBOL(disconnect),
    SYMBOL(socket),
    SYMBOL(want_write),
    SYMBOL(loop_read),
    SYMBOL(loop_write),
    SYMBOL(loop_misc),
    SYMBOL(subscribe),
    SYMBOL(unsubscribe),
    SYMBOL(publish),
    SYMBOL(sub_topic_check),
    SYMBOL(pub_topic_check),
    SYMBOL(topic_matches_sub),
    SYMBOL(strerror),
    SYMBOL(connack_string),
};
#undef SYMBOL

static struct mosquitto_lib lib;
static bool tried;
static bool loaded;
static char load_error[384];

static bool load(void)
{
    const char *env = getenv("BALKON_LIBMOSQUITTO");
    const char *soname = env && env[0] ? env : MOSQUITTO_LIB_DEFAULT_SONAME;
    void *handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        snprintf(load_error, sizeof load_error,
                 "cannot load %s (%s): MQTT needs libmosquitto (Debian: apt install libmosquitto1)",
                 soname, why ? why : "not found");
        return false;
    }
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        void *sym = dlsym(handle, symbols[i].name);
        if (!sym) {
            snprintf(load_error, sizeof load_error, "%s has no %s: not a libmosquitto", soname,
                     symbols[i].name);
            goto fail;
        }
        /* POSIX: dlsym's pointer converts to a function pointer. */
        memcpy((char *)&lib + symbols[i].offset, &sym, sizeof sym);
    }
    int major = 0, minor = 0, revision = 0;
    lib.lib_version(&major, &minor, &revision);
    if (major < MOSQUITTO_LIB_MIN_MAJOR) {
        snprintf(load_error, sizeof load_error, "%s is libmosquitto %d.%d.%d, need 1.0 or newer",
                 soname, major, minor, revision);
        goto fail;
    }
    lib.lib_init();
    return true;

fail:
    dlclose(handle);
    memset(&lib, 0, sizeof lib);
    return false;
}

const struct mosquitto_lib *mosquitto_lib_get(const char **error)
{
    if (!tried) {
        tried = true;
        loaded = load();
    }
    if (error)
        *error = loaded ? NULL : load_error;
    return loaded ? &lib : NULL;
}
