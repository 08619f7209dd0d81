/* What the real balkonsolard leaves on disk and how it opens its config (issue 15):
 * temporary copies of the config that a SIGKILL during a write left behind (they hold
 * secrets) are removed at start, a user's own files of a similar name are not; a config
 * path that is a FIFO is refused at once, on SIGHUP and by --check-config, and the daemon
 * keeps answering; the database and its companions are owner-only even when the daemon
 * is started with a permissive umask (as outside systemd). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *CONFIG = "{\"site\": {\"name\": \"hygiene\", \"latitude\": 52.52, "
                            "\"longitude\": 13.41, \"timezone\": \"Europe/Berlin\"},"
                            " \"control\": {\"enabled\": false},"
                            " \"devices\": [{\"id\": \"sim\", \"type\": \"simulator\"}]}";

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void test_stale_temporary_configs_are_removed(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_config(d, CONFIG);
    char current[400], older[400], empty[400], users[400], bak[400];
    /* As balkon_config_write_file names them now and before, one killed before writing. */
    snprintf(current, sizeof current, "%s.tmp-Ab3dE9", d->config_path);
    snprintf(older, sizeof older, "%s.x7QpZ2", d->config_path);
    snprintf(empty, sizeof empty, "%s.tmp-000000", d->config_path);
    write_file(current, "// Written by PUT /api/v1/config at ...\n{\"mqtt\":{\"password\":\"s\"}}");
    write_file(older, "// Written by PUT /api/v1/config at ...\n{\"mqtt\":{\"password\":\"s\"}}");
    write_file(empty, "");
    /* The user's own files beside it stay, even one of the old temporary name's shape. */
    snprintf(users, sizeof users, "%s.backup", d->config_path);
    snprintf(bak, sizeof bak, "%s.bak", d->config_path);
    write_file(users, "// Written by PUT /api/v1/config at ...\n{}"); /* the user's copy */
    write_file(bak, CONFIG);

    assert_true(harness_start(d, NULL));
    assert_true(harness_wait_log(d, "removed 3 stale temporary copies of", 5000));
    assert_false(exists(current));
    assert_false(exists(older));
    assert_false(exists(empty));
    assert_true(exists(users));
    assert_true(exists(bak));
    harness_stop_cleanly(d, 5000);
}

static void test_a_fifo_config_is_refused_without_blocking(void **state)
{
    struct daemon_proc *d = *state;
    harness_write_config(d, CONFIG);
    assert_true(harness_start(d, NULL));

    /* The config becomes a FIFO nobody writes to: opening it for reading would block. */
    assert_int_equal(unlink(d->config_path), 0);
    assert_int_equal(mkfifo(d->config_path, 0600), 0);
    long sent_ms = harness_now_ms();
    assert_int_equal(kill(d->pid, SIGHUP), 0);
    assert_true(harness_wait_log(d, "is not a regular file", 3000));
    assert_true(harness_wait_log(d, "new config rejected; keeping the running one", 1000));
    /* The loop goes on: health answers at once, and the running config stays. */
    struct http_reply reply = harness_http(d, "GET", "/api/v1/health", NULL, 0, NULL);
    assert_int_equal(reply.status, 200);
    http_reply_free(&reply);
    assert_true(harness_now_ms() - sent_ms < 3000);
    cJSON *config = harness_get_json(d, "/api/v1/config");
    assert_string_equal(harness_text(cJSON_GetObjectItem(config, "site"), "name"), "hygiene");
    cJSON_Delete(config);
    /* A PUT reads the file for the secrets it keeps: it must not block either. */
    reply = harness_http(d, "PUT", "/api/v1/config", "{\"site\": {\"name\": \"x\"}}", 23, NULL);
    assert_true(reply.status == 200 || reply.status == 400 || reply.status == 500);
    http_reply_free(&reply);
    reply = harness_http(d, "GET", "/api/v1/health", NULL, 0, NULL);
    assert_int_equal(reply.status, 200);
    http_reply_free(&reply);
    harness_stop_cleanly(d, 5000);

    /* At start and in --check-config: a clear error at once. */
    unlink(d->config_path);
    assert_int_equal(mkfifo(d->config_path, 0600), 0);
    char out[4096];
    long started_ms = harness_now_ms();
    assert_int_not_equal(harness_check_config(d, out, sizeof out), 0);
    assert_non_null(strstr(out, "is not a regular file"));
    const char *run[] = {"--config", d->config_path, "--db", d->db_path,
                         "--listen", "127.0.0.1:0",  NULL};
    assert_int_not_equal(harness_run_cli(run, out, sizeof out), 0);
    assert_non_null(strstr(out, "is not a regular file"));
    assert_true(harness_now_ms() - started_ms < 5000);
}

static void assert_private(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        fail_msg("%s does not exist", path);
    if ((st.st_mode & 0777) != 0600)
        fail_msg("%s has mode %03o, want 600", path, (unsigned)(st.st_mode & 0777));
}

static void test_files_are_owner_only(void **state)
{
    struct daemon_proc *d = *state;
    /* As a shell outside systemd leaves it; the daemon (and the token CLI that the harness
     * runs first, which creates the database) inherit it. */
    mode_t old = umask(022);
    d->anonymous = true; /* no token: the daemon itself creates the database */
    harness_write_config(d, CONFIG);
    bool started = harness_start(d, NULL);
    umask(old);
    assert_true(started);
    assert_true(harness_wait_log(d, "running", 5000));
    assert_private(d->db_path);
    /* The WAL companions, made by SQLite as it writes. */
    char path[400];
    snprintf(path, sizeof path, "%s-wal", d->db_path);
    if (exists(path))
        assert_private(path);
    snprintf(path, sizeof path, "%s-shm", d->db_path);
    if (exists(path))
        assert_private(path);
    /* No user yet: the setup code for the first login, beside the database. */
    snprintf(path, sizeof path, "%s/setup-code", d->dir);
    assert_private(path);
    harness_stop_cleanly(d, 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stale_temporary_configs_are_removed, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_a_fifo_config_is_refused_without_blocking,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_files_are_owner_only, harness_setup, harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
