/* A daemon started without a config file runs on the defaults; PUT /api/v1/config then has
 * no file to write and answers 409, and SIGHUP has nothing to reload. The command line
 * always asks for --config, so this runs balkon_daemon_run itself, in a child process,
 * and talks to it over loopback as the integration tests do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "balkon/daemon.h"
#include "balkon/secret.h"
#include "balkon/store.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[64], db_path[128], log_path[128];
static char token[BALKON_TOKEN_TEXT_SIZE]; /* an API token, stored before the daemon starts */

static void add_token(void)
{
    struct balkon_store_options options = {.path = db_path};
    struct balkon_store *store;
    char why[256], digest[BALKON_DIGEST_HEX_SIZE];
    assert_int_equal(balkon_store_open(&options, &store, why, sizeof why), 0);
    assert_int_equal(balkon_secret_token("bst_", token), 0);
    assert_int_equal(balkon_secret_digest(token, digest), 0);
    assert_int_equal(balkon_store_token_add(store, "test", digest, false, 0, NULL), 0);
    balkon_store_close(store);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static const char *read_log(void)
{
    static char buffer[1 << 16];
    FILE *f = fopen(log_path, "r");
    size_t n = f ? fread(buffer, 1, sizeof buffer - 1, f) : 0;
    if (f)
        fclose(f);
    buffer[n] = '\0';
    return buffer;
}

static bool wait_log(const char *text, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 20) {
        if (strstr(read_log(), text))
            return true;
        sleep_ms(20);
    }
    return false;
}

struct body {
    char text[8192];
    size_t size;
};

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *user)
{
    struct body *b = user;
    size_t n = size * nmemb;
    size_t room = sizeof b->text - 1 - b->size;
    memcpy(b->text + b->size, ptr, n < room ? n : room);
    b->size += n < room ? n : room;
    b->text[b->size] = '\0';
    return n;
}

static long request(int port, const char *method, const char *path, const char *body,
                    struct body *out)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    memset(out, 0, sizeof *out);
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    if (body)
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    char authorization[128];
    snprintf(authorization, sizeof authorization, "Authorization: Bearer %s", token);
    struct curl_slist *headers = curl_slist_append(NULL, authorization);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    long status = 0;
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return status;
}

static void test_put_without_a_config_file_is_409(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/balkon-nofile-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(db_path, sizeof db_path, "%s/test.db", dir);
    snprintf(log_path, sizeof log_path, "%s/daemon.log", dir);
    add_token();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, STDERR_FILENO);
        dup2(fd, STDOUT_FILENO);
        struct balkon_daemon_options options = {
            .config_path = NULL, .db_path = db_path, .listen = "127.0.0.1:0", .log_level = "info"};
        exit(balkon_daemon_run(&options)); /* exit, not _exit: the leak checker runs at exit */
    }
    assert_true(wait_log("listening on http://127.0.0.1:", 15000));
    int port = atoi(strstr(read_log(), "listening on http://127.0.0.1:") +
                    strlen("listening on http://127.0.0.1:"));
    assert_true(port > 0);
    assert_true(wait_log("daemon: running", 5000));
    assert_non_null(strstr(read_log(), "starting with the defaults (no --config)"));

    struct body body;
    assert_int_equal(request(port, "GET", "/api/v1/config", NULL, &body), 200);
    assert_int_equal(request(port, "PUT", "/api/v1/config", body.text, &body), 409);
    cJSON *answer = cJSON_Parse(body.text);
    assert_non_null(answer);
    assert_non_null(
        strstr(cJSON_GetObjectItem(answer, "error")->valuestring, "started without --config"));
    cJSON_Delete(answer);

    assert_int_equal(request(port, "GET", "/api/v1/system", NULL, &body), 200);
    cJSON *info = cJSON_Parse(body.text);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(info, "config_path")));
    assert_string_equal(cJSON_GetObjectItem(info, "db_path")->valuestring, db_path);
    assert_true(cJSON_GetObjectItem(info, "db_size_bytes")->valuedouble > 0);
    cJSON_Delete(info);

    kill(pid, SIGHUP);
    assert_true(wait_log("there is no config file to reload", 5000));
    kill(pid, SIGTERM);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_without_a_config_file_is_409),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
