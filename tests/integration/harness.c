#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_http.h"
#include "harness.h"
#include "mqtt_broker.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *binary(void)
{
    const char *path = getenv("BALKONSOLARD");
    if (!path) {
        fprintf(stderr, "BALKONSOLARD is not set (run the tests through ctest)\n");
        exit(1);
    }
    return path;
}

void harness_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

long harness_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void harness_init(struct daemon_proc *d)
{
    memset(d, 0, sizeof *d);
    snprintf(d->dir, sizeof d->dir, "/tmp/balkon-test-XXXXXX");
    if (!mkdtemp(d->dir)) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(d->config_path, sizeof d->config_path, "%s/config.json", d->dir);
    snprintf(d->db_path, sizeof d->db_path, "%s/test.db", d->dir);
    snprintf(d->log_path, sizeof d->log_path, "%s/daemon.log", d->dir);
}

void harness_write_config(struct daemon_proc *d, const char *json)
{
    /* Write then rename, as an editor would, so a reload never reads half a file. */
    char tmp[320];
    snprintf(tmp, sizeof tmp, "%s.tmp", d->config_path);
    FILE *f = fopen(tmp, "w");
    if (!f || fputs(json, f) < 0 || fclose(f) != 0) {
        perror(tmp);
        exit(1);
    }
    rename(tmp, d->config_path);
}

const char *harness_log(struct daemon_proc *d)
{
    /* The whole log, however long: a flood test logs a debug line per request (10 MB and
     * more), and the lines it looks for come last. Grown as needed, kept for the process. */
    static char *buffer;
    static size_t capacity;
    FILE *f = fopen(d->log_path, "r");
    size_t n = 0;
    if (f) {
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fseek(f, 0, SEEK_SET);
        if (size >= 0 && (size_t)size + 1 > capacity) {
            char *grown = realloc(buffer, (size_t)size + 1);
            if (grown) {
                buffer = grown;
                capacity = (size_t)size + 1;
            }
        }
        if (buffer)
            n = fread(buffer, 1, capacity - 1, f);
        fclose(f);
    }
    if (!buffer) {
        static char empty[1];
        return empty;
    }
    buffer[n] = '\0';
    return buffer;
}

bool harness_wait_log(struct daemon_proc *d, const char *text, int timeout_ms)
{
    long deadline = harness_now_ms() + timeout_ms;
    while (harness_now_ms() < deadline) {
        if (strstr(harness_log(d), text))
            return true;
        harness_sleep_ms(50);
    }
    return false;
}

bool harness_start(struct daemon_proc *d, const char *extra_arg)
{
    return harness_start_env(d, extra_arg, NULL);
}

/* Makes an API token in the database with `balkonsolard token`, as a script's owner would. */
static bool make_token(struct daemon_proc *d)
{
    char out[256], err[1024];
    const char *args[] = {"token", "integration-test", "--db", d->db_path, NULL};
    if (harness_run_cli_output(args, out, sizeof out, err, sizeof err) != 0 ||
        strncmp(out, "bst_", 4) != 0) {
        fprintf(stderr, "balkonsolard token failed: %s%s\n", out, err);
        return false;
    }
    snprintf(d->token, sizeof d->token, "%.*s", (int)strcspn(out, "\n"), out);
    return true;
}

bool harness_start_env(struct daemon_proc *d, const char *extra_arg, const char *const env[])
{
    d->token[0] = '\0';
    if (!d->anonymous && !make_token(d))
        return false;
    /* Truncate the log so "listening on" refers to this start. */
    FILE *f = fopen(d->log_path, "w");
    if (f)
        fclose(f);
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        /* A test that crashes or is killed takes its daemon with it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(d->log_path, O_WRONLY | O_APPEND | O_CREAT, 0600);
        dup2(fd, STDERR_FILENO);
        dup2(fd, STDOUT_FILENO);
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        execl(binary(), binary(), "--config", d->config_path, "--db", d->db_path, "--listen",
              "127.0.0.1:0", "--log-level", "debug", extra_arg, (char *)NULL);
        _exit(127);
    }
    d->pid = pid;
    long deadline = harness_now_ms() + 15000;
    while (harness_now_ms() < deadline) {
        const char *log = harness_log(d);
        const char *at = strstr(log, "listening on http://127.0.0.1:");
        if (at) {
            d->port = atoi(at + strlen("listening on http://127.0.0.1:"));
            return d->port > 0;
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            fprintf(stderr, "daemon exited early:\n%s\n", log);
            d->pid = 0;
            return false;
        }
        harness_sleep_ms(20);
    }
    fprintf(stderr, "daemon did not start listening:\n%s\n", harness_log(d));
    return false;
}

int harness_signal_and_wait(struct daemon_proc *d, int signum, int timeout_ms, long *elapsed_ms)
{
    long start = harness_now_ms();
    kill(d->pid, signum);
    while (harness_now_ms() - start < timeout_ms) {
        int status;
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            if (elapsed_ms)
                *elapsed_ms = harness_now_ms() - start;
            d->pid = 0;
            return status;
        }
        harness_sleep_ms(5);
    }
    kill(d->pid, SIGKILL);
    waitpid(d->pid, NULL, 0);
    d->pid = 0;
    if (elapsed_ms)
        *elapsed_ms = harness_now_ms() - start;
    return -1;
}

int harness_run_cli(const char *const args[], char *out, size_t size)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        const char *argv[32] = {binary()};
        for (int i = 0; args[i] && i < 30; i++)
            argv[i + 1] = args[i];
        execv(binary(), (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    size_t used = 0;
    ssize_t n;
    while ((n = read(fds[0], out + used, size - 1 - used)) > 0)
        used += (size_t)n;
    out[used] = '\0';
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int harness_run_cli_output(const char *const args[], char *out, size_t out_size, char *err,
                           size_t err_size)
{
    int fds[2][2];
    if (pipe(fds[0]) < 0)
        return -1;
    if (pipe(fds[1]) < 0) {
        close(fds[0][0]);
        close(fds[0][1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[0][1], STDOUT_FILENO);
        dup2(fds[1][1], STDERR_FILENO);
        close(fds[0][0]);
        close(fds[1][0]);
        const char *argv[32] = {binary()};
        for (int i = 0; args[i] && i < 30; i++)
            argv[i + 1] = args[i];
        execv(binary(), (char *const *)argv);
        _exit(127);
    }
    close(fds[0][1]);
    close(fds[1][1]);
    /* Both pipes are drained together, so a child filling one never blocks on it. */
    struct pollfd pfd[2] = {{fds[0][0], POLLIN, 0}, {fds[1][0], POLLIN, 0}};
    char *buf[2] = {out, err};
    size_t size[2] = {out_size, err_size}, used[2] = {0, 0};
    int open_count = 2;
    while (open_count > 0 && poll(pfd, 2, -1) >= 0) {
        for (int i = 0; i < 2; i++) {
            if (pfd[i].fd < 0 || !pfd[i].revents)
                continue;
            char scratch[4096];
            size_t room = size[i] - 1 - used[i];
            ssize_t n = room ? read(pfd[i].fd, buf[i] + used[i], room)
                             : read(pfd[i].fd, scratch, sizeof scratch);
            if (n <= 0) {
                close(pfd[i].fd);
                pfd[i].fd = -1;
                open_count--;
            } else if (room) {
                used[i] += (size_t)n;
            }
        }
    }
    out[used[0]] = '\0';
    err[used[1]] = '\0';
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void harness_cleanup(struct daemon_proc *d)
{
    if (d->pid > 0) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, NULL, 0);
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", d->dir);
}

struct buffer {
    char *data;
    size_t size;
};

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *user)
{
    struct buffer *b = user;
    size_t n = size * nmemb;
    char *grown = realloc(b->data, b->size + n + 1);
    if (!grown)
        return 0;
    memcpy(grown + b->size, ptr, n);
    b->data = grown;
    b->size += n;
    b->data[b->size] = '\0';
    return n;
}

static void copy_header(const char *line, const char *name, char *out, size_t size)
{
    size_t len = strlen(name);
    if (strncasecmp(line, name, len) != 0 || line[len] != ':')
        return;
    const char *value = line + len + 1;
    while (*value == ' ')
        value++;
    size_t value_len = strcspn(value, "\r\n");
    if (value_len >= size)
        value_len = size - 1;
    memcpy(out, value, value_len);
    out[value_len] = '\0';
}

static size_t header_cb(char *ptr, size_t size, size_t nmemb, void *user)
{
    struct http_reply *reply = user;
    char line[512];
    size_t n = size * nmemb < sizeof line - 1 ? size * nmemb : sizeof line - 1;
    memcpy(line, ptr, n);
    line[n] = '\0';
    copy_header(line, "Content-Type", reply->content_type, sizeof reply->content_type);
    copy_header(line, "ETag", reply->etag, sizeof reply->etag);
    copy_header(line, "Allow", reply->allow, sizeof reply->allow);
    return size * nmemb;
}

struct http_reply harness_http(struct daemon_proc *d, const char *method, const char *path,
                               const char *body, size_t body_size, const char *if_none_match)
{
    struct http_reply reply = {0};
    struct buffer b = {calloc(1, 1), 0};
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", d->port, path);
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    struct curl_slist *headers = NULL;
    if (d->token[0]) {
        char h[128];
        snprintf(h, sizeof h, "Authorization: Bearer %s", d->token);
        headers = curl_slist_append(headers, h);
    }
    if (if_none_match) {
        char h[128];
        snprintf(h, sizeof h, "If-None-Match: %s", if_none_match);
        headers = curl_slist_append(headers, h);
    }
    if (body) {
        headers = curl_slist_append(headers, "Content-Type: application/json");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)body_size);
    }
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK)
        fprintf(stderr, "%s %s: %s\n", method, url, curl_easy_strerror(rc));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    reply.body = b.data;
    reply.size = b.size;
    return reply;
}

void http_reply_free(struct http_reply *reply)
{
    free(reply->body);
    reply->body = NULL;
}

cJSON *harness_get_json(struct daemon_proc *d, const char *path)
{
    struct http_reply reply = harness_http(d, "GET", path, NULL, 0, NULL);
    if (reply.status != 200) {
        fprintf(stderr, "GET %s: HTTP %ld: %s\n", path, reply.status, reply.body);
        http_reply_free(&reply);
        return NULL;
    }
    cJSON *json = cJSON_Parse(reply.body);
    http_reply_free(&reply);
    return json;
}

static struct daemon_proc fixture_daemon;

int harness_setup(void **state)
{
    harness_init(&fixture_daemon);
    *state = &fixture_daemon;
    return 0;
}

int harness_teardown(void **state)
{
    (void)state;
    harness_cleanup(&fixture_daemon);
    return 0;
}

const char *harness_text(const cJSON *json, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(json, key);
    return cJSON_IsString(item) ? item->valuestring : "";
}

cJSON *harness_device(struct daemon_proc *d, const char *id)
{
    cJSON *all = harness_get_json(d, "/api/v1/devices");
    const cJSON *item;
    cJSON *found = NULL;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(all, "devices"))
    {
        if (!found && strcmp(harness_text(item, "id"), id) == 0)
            found = cJSON_Duplicate(item, 1);
    }
    cJSON_Delete(all);
    return found;
}

double harness_device_value(const cJSON *device, const char *name)
{
    const cJSON *item =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(device, "values"), name);
    return cJSON_IsNumber(item) ? item->valuedouble : NAN;
}

bool harness_device_online(const cJSON *device)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(device, "online"));
}

double harness_number(const cJSON *json, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(json, key);
    return cJSON_IsNumber(item) ? item->valuedouble : NAN;
}

double harness_require_number(const cJSON *json, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(json, key);
    if (!cJSON_IsNumber(item))
        fail_msg("%s is not a number", key);
    return item->valuedouble;
}

void harness_stop_cleanly(struct daemon_proc *d, int timeout_ms)
{
    int status = harness_signal_and_wait(d, SIGTERM, timeout_ms, NULL);
    if (!(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        fputs(harness_log(d), stderr);
        fail_msg("the daemon did not stop cleanly (status %d)", status);
    }
}

void harness_post_command(struct daemon_proc *d, const char *id, const char *body, long want_status,
                          const char *want_text)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v1/devices/%s/command", id);
    struct http_reply reply = harness_http(d, "POST", path, body, strlen(body), NULL);
    if (reply.status != want_status || (want_text && !strstr(reply.body, want_text)))
        fail_msg("POST %s %s: %ld %s (wanted %ld %s)", path, body, reply.status, reply.body,
                 want_status, want_text ? want_text : "");
    http_reply_free(&reply);
}

/* Both waits for a device: online as wanted and, unless name is NULL or want NAN,
 * values[name] within tolerance of want. */
static cJSON *wait_device(struct daemon_proc *d, const char *id, bool want_online, const char *name,
                          double want, double tolerance, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        cJSON *dev = harness_device(d, id);
        if (dev && harness_device_online(dev) == want_online &&
            (!name || isnan(want) || fabs(harness_device_value(dev, name) - want) < tolerance))
            return dev;
        cJSON_Delete(dev);
        harness_sleep_ms(100);
    }
    cJSON *dev = harness_device(d, id);
    char *dump = dev ? cJSON_PrintUnformatted(dev) : NULL;
    fputs(harness_log(d), stderr);
    fail_msg("%s: not %s with %s = %g within %d ms: %s", id, want_online ? "online" : "offline",
             name ? name : "-", want, timeout_ms, dump ? dump : "(absent)");
    return NULL;
}

cJSON *harness_wait_value(struct daemon_proc *d, const char *id, const char *name, double want,
                          double tolerance, int timeout_ms)
{
    return wait_device(d, id, true, name, want, tolerance, timeout_ms);
}

void harness_wait_offline(struct daemon_proc *d, const char *id, const char *want, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        cJSON *dev = harness_device(d, id);
        bool done = dev && !harness_device_online(dev) && strstr(harness_text(dev, "error"), want);
        cJSON_Delete(dev);
        if (done)
            return;
        harness_sleep_ms(100);
    }
    cJSON *dev = harness_device(d, id);
    char *dump = dev ? cJSON_PrintUnformatted(dev) : NULL;
    fail_msg("%s: not offline with \"%s\" within %d ms: %s", id, want, timeout_ms,
             dump ? dump : "(absent)");
}

const char *harness_wait_command_count(struct daemon_proc *d, const char *id, int count,
                                       int timeout_ms)
{
    static char result[160];
    char path[128];
    snprintf(path, sizeof path, "/api/v1/commands?device=%s", id);
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        cJSON *log = harness_get_json(d, path);
        const cJSON *list = cJSON_GetObjectItem(log, "commands");
        if (cJSON_GetArraySize(list) >= count) {
            snprintf(result, sizeof result, "%s",
                     harness_text(cJSON_GetArrayItem(list, 0), "result"));
            cJSON_Delete(log);
            return result;
        }
        cJSON_Delete(log);
        harness_sleep_ms(100);
    }
    fail_msg("%s: fewer than %d commands logged within %d ms", id, count, timeout_ms);
    return NULL;
}

void harness_publish_until(struct daemon_proc *d, struct mqtt_test_client *c, const char *topic,
                           const char *payload, const char *id, const char *name, double want)
{
    for (int tries = 0; tries < 100; tries++) {
        assert_true(mqtt_test_publish(c, topic, payload, false));
        cJSON *dev = harness_device(d, id);
        bool seen = dev && harness_device_online(dev) &&
                    fabs(harness_device_value(dev, name) - want) < 1e-6;
        cJSON_Delete(dev);
        if (seen)
            return;
        harness_sleep_ms(100);
    }
    fail_msg("%s: %s never became %g after publishing %s", id, name, want, topic);
}

void harness_route_json(struct fake_http *fake, const char *prefix, int status, const char *body)
{
    fake_http_route(fake, prefix, status, "application/json", body, strlen(body), NULL, 0);
}

cJSON *harness_wait_state(struct daemon_proc *d, const char *id, bool want_online, const char *name,
                          int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        cJSON *device = harness_device(d, id);
        if (device && harness_device_online(device) == want_online &&
            (want_online ? !name || isfinite(harness_device_value(device, name))
                         : harness_text(device, "error")[0] != '\0'))
            return device;
        cJSON_Delete(device);
        harness_sleep_ms(100);
    }
    cJSON *device = harness_device(d, id);
    char *shown = device ? cJSON_PrintUnformatted(device) : NULL;
    fail_msg("%s never became %s; last seen as %s\n%s", id, want_online ? "online" : "offline",
             shown ? shown : "(not listed)", harness_log(d));
    return NULL;
}

cJSON *harness_wait_device(struct daemon_proc *d, const char *id, bool want_online,
                           const char *name, double want, int timeout_ms)
{
    return wait_device(d, id, want_online, name, want, 0.01, timeout_ms);
}

const char *harness_wait_command_result(struct daemon_proc *d, const char *id, const char *command,
                                        const char *value_text, int timeout_ms)
{
    static char result[256];
    char path[128];
    snprintf(path, sizeof path, "/api/v1/commands?device=%s", id);
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        cJSON *log = harness_get_json(d, path);
        const cJSON *item;
        result[0] = '\0';
        cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(log, "commands"))
        {
            if (!result[0] && strcmp(harness_text(item, "command"), command) == 0 &&
                strcmp(harness_text(item, "value"), value_text) == 0)
                snprintf(result, sizeof result, "%s", harness_text(item, "result"));
        }
        cJSON_Delete(log);
        if (result[0])
            return result;
        harness_sleep_ms(100);
    }
    fputs(harness_log(d), stderr);
    fail_msg("no %s %s result for %s", command, value_text, id);
    return NULL;
}

static struct harness_fixture fake_fixture;

static int setup_fakes(void **state, int count)
{
    harness_init(&fake_fixture.daemon);
    for (int i = 0; i < count; i++) {
        fake_fixture.fakes[i] = fake_http_start();
        assert_non_null(fake_fixture.fakes[i]);
    }
    *state = &fake_fixture;
    return 0;
}

int harness_setup_fake(void **state)
{
    return setup_fakes(state, 1);
}

int harness_setup_fakes(void **state)
{
    return setup_fakes(state, HARNESS_MAX_FAKES);
}

int harness_teardown_fakes(void **state)
{
    (void)state;
    harness_cleanup(&fake_fixture.daemon);
    for (int i = 0; i < HARNESS_MAX_FAKES; i++) {
        if (fake_fixture.fakes[i])
            fake_http_stop(fake_fixture.fakes[i]);
        fake_fixture.fakes[i] = NULL;
    }
    return 0;
}

void harness_write_devices_config(struct daemon_proc *d, const char *site_name, const char *devices)
{
    char json[4096];
    snprintf(json, sizeof json,
             "{\n"
             "  \"site\": {\"name\": \"%s\", \"latitude\": 52.52, \"longitude\": 13.40,"
             " \"timezone\": \"Europe/Berlin\"},\n"
             "  \"devices\": [%s],\n"
             "  \"control\": {\"enabled\": false},\n"
             "  \"storage\": {\"sample_interval_s\": 1}\n"
             "}\n",
             site_name, devices);
    harness_write_config(d, json);
}

int harness_check_config(struct daemon_proc *d, char *out, size_t size)
{
    const char *check[] = {"--check-config", "--config", d->config_path, NULL};
    return harness_run_cli(check, out, size);
}

void harness_write_site_config(struct daemon_proc *d, const char *site_name, const char *mqtt,
                               const char *devices)
{
    char json[8192];
    snprintf(json, sizeof json,
             "{\n"
             "  \"site\": {\"name\": \"%s\", \"latitude\": 52.52, \"longitude\": 13.41,"
             " \"timezone\": \"Europe/Berlin\"},\n"
             "  \"control\": {\"enabled\": false},\n"
             "  %s%s"
             "  \"devices\": [%s]\n"
             "}\n",
             site_name, mqtt ? mqtt : "", mqtt ? ",\n" : "", devices);
    harness_write_config(d, json);
}

void harness_assert_needs_mqtt_section(struct daemon_proc *d, const char *site_name,
                                       const char *device)
{
    char out[4096];
    harness_write_site_config(d, site_name, NULL, device);
    assert_int_equal(harness_check_config(d, out, sizeof out), 0);
    assert_true(harness_start(d, NULL));
    assert_true(harness_wait_log(d, "protocol \"mqtt\" needs the mqtt section enabled", 5000));
}

static struct mqtt_broker *test_broker;

struct mqtt_broker *harness_start_broker(void)
{
    test_broker = mqtt_broker_start();
    return test_broker;
}

int harness_teardown_broker(void **state)
{
    harness_teardown(state);
    mqtt_broker_stop(test_broker);
    test_broker = NULL;
    return 0;
}

void harness_mqtt_section(const struct mqtt_broker *broker, char *out, size_t size)
{
    snprintf(out, size, "\"mqtt\": {\"enabled\": true, \"host\": \"127.0.0.1\", \"port\": %d}",
             mqtt_broker_port(broker));
}
