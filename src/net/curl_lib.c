/* Loads libcurl on first use (see curl_lib.h for why). The symbols are looked up by name
 * from a table, so adding a function is one line here and one member in the struct. */
#include "curl_lib.h"

#include "balkon/log.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CURLOPT_PROTOCOLS_STR, which every transfer sets, came with 7.85.0. */
#define CURL_LIB_MIN_VERSION 0x075500
#define CURL_LIB_MIN_VERSION_TEXT "7.85.0"

static const struct {
    const char *name;
    size_t offset;
} symbols[] = {
    {"curl_global_init", offsetof(struct curl_lib, global_init)},
    {"curl_version_info", offsetof(struct curl_lib, version_info)},
    {"curl_multi_init", offsetof(struct curl_lib, multi_init)},
    {"curl_multi_setopt", offsetof(struct curl_lib, multi_setopt)},
    {"curl_multi_socket_action", offsetof(struct curl_lib, multi_socket_action)},
    {"curl_multi_info_read", offsetof(struct curl_lib, multi_info_read)},
    {"curl_multi_assign", offsetof(struct curl_lib, multi_assign)},
    {"curl_multi_add_handle", offsetof(struct curl_lib, multi_add_handle)},
    {"curl_multi_remove_handle", offsetof(struct curl_lib, multi_remove_handle)},
    {"curl_multi_cleanup", offsetof(struct curl_lib, multi_cleanup)},
    {"curl_easy_init", offsetof(struct curl_lib, easy_init)},
    {"curl_easy_setopt", offsetof(struct curl_lib, easy_setopt)},
    {"curl_easy_getinfo", offsetof(struct curl_lib, easy_getinfo)},
    {"curl_easy_cleanup", offsetof(struct curl_lib, easy_cleanup)},
    {"curl_easy_strerror", offsetof(struct curl_lib, easy_strerror)},
    {"curl_slist_append", offsetof(struct curl_lib, slist_append)},
    {"curl_slist_free_all", offsetof(struct curl_lib, slist_free_all)},
    {"curl_getdate", offsetof(struct curl_lib, getdate)},
};

static struct curl_lib lib;
static bool tried;
static bool loaded;
static char load_error[384];

/* Fills lib from handle; false with load_error set when a symbol is missing. */
static bool resolve(void *handle, const char *soname)
{
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        void *sym = dlsym(handle, symbols[i].name);
        if (!sym) {
            snprintf(load_error, sizeof load_error, "%s has no %s: not a libcurl", soname,
                     symbols[i].name);
            return false;
        }
        /* POSIX guarantees that dlsym's object pointer converts to a function pointer;
         * memcpy says so without a cast per member. */
        memcpy((char *)&lib + symbols[i].offset, &sym, sizeof sym);
    }
    return true;
}

static bool load(void)
{
    const char *env = getenv("BALKON_LIBCURL");
    const char *soname = env && env[0] ? env : CURL_LIB_DEFAULT_SONAME;
    void *handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        snprintf(load_error, sizeof load_error,
                 "cannot load %s (%s): HTTP, HTTPS and e-mail need libcurl "
                 "(Debian: apt install libcurl4)",
                 soname, why ? why : "not found");
        return false;
    }
    if (!resolve(handle, soname))
        goto fail;
    const curl_version_info_data *info = lib.version_info(CURLVERSION_NOW);
    if (!info || info->version_num < CURL_LIB_MIN_VERSION) {
        snprintf(load_error, sizeof load_error, "%s is libcurl %s, need %s or newer", soname,
                 info ? info->version : "of unknown version", CURL_LIB_MIN_VERSION_TEXT);
        goto fail;
    }
    /* CURL_GLOBAL_DEFAULT initialises the TLS library too: here, not at start. */
    CURLcode rc = lib.global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        snprintf(load_error, sizeof load_error, "%s: curl_global_init failed: %s", soname,
                 lib.easy_strerror(rc));
        goto fail;
    }
    log_info("http", "loaded %s: libcurl %s, TLS %s", soname, info->version,
             info->ssl_version ? info->ssl_version : "none");
    return true;

fail:
    dlclose(handle);
    memset(&lib, 0, sizeof lib);
    return false;
}

const struct curl_lib *curl_lib_get(const char **error)
{
    if (!tried) {
        tried = true;
        loaded = load();
        if (!loaded)
            log_error("http", "%s", load_error);
    }
    if (error)
        *error = loaded ? NULL : load_error;
    return loaded ? &lib : NULL;
}
