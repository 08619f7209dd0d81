/* The command line as an owner uses it, with the real binary beside a running daemon:
 *
 * - `balkonsolard token NAME --config FILE` and `password --config FILE`, run from another
 *   directory without --db, write the database of the daemon running with that config (here
 *   started with --db elsewhere, as the systemd unit does), so the daemon accepts the token
 *   and the password at once; with no daemon and no database they refuse instead of making
 *   a second database nobody reads;
 * - `--check-config` reports a JSON syntax error by line and column of the file as written
 *   (comments included), not by a byte offset. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *CONFIG = "{\n"
                            "  \"site\": {\"name\": \"cli\", \"latitude\": 52.52, "
                            "\"longitude\": 13.40, \"timezone\": \"Europe/Berlin\"},\n"
                            "  \"devices\": []\n"
                            "}\n";

static struct daemon_proc daemon_under_test;
static char elsewhere[300]; /* the directory the commands run in */

/* Runs balkonsolard args in dir with input on stdin; stdout into out, stderr into err. */
static int run_in(const char *dir, const char *input, const char *const args[], char *out,
                  size_t out_size, char *err, size_t err_size)
{
    char out_path[300], err_path[300], in_path[300];
    snprintf(out_path, sizeof out_path, "%s.out", daemon_under_test.dir);
    snprintf(err_path, sizeof err_path, "%s.err", daemon_under_test.dir);
    snprintf(in_path, sizeof in_path, "%s.in", daemon_under_test.dir);
    FILE *f = fopen(in_path, "w");
    fputs(input ? input : "", f);
    fclose(f);
    pid_t pid = fork();
    if (pid == 0) {
        if (chdir(dir) != 0 || !freopen(in_path, "r", stdin) || !freopen(out_path, "w", stdout) ||
            !freopen(err_path, "w", stderr))
            _exit(126);
        const char *argv[32] = {getenv("BALKONSOLARD")};
        for (int i = 0; args[i] && i < 30; i++)
            argv[i + 1] = args[i];
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    const char *paths[2] = {out_path, err_path};
    char *bufs[2] = {out, err};
    size_t sizes[2] = {out_size, err_size};
    for (int i = 0; i < 2; i++) {
        f = fopen(paths[i], "r");
        size_t n = f ? fread(bufs[i], 1, sizes[i] - 1, f) : 0;
        bufs[i][n] = '\0';
        if (f)
            fclose(f);
        unlink(paths[i]);
    }
    unlink(in_path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Whether dir holds nothing (no stray database was made there). */
static bool empty_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    bool empty = true;
    while (d && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            fprintf(stderr, "%s: unexpected %s\n", dir, e->d_name);
            empty = false;
        }
    if (d)
        closedir(d);
    return empty;
}

static int setup(void **state)
{
    (void)state;
    harness_init(&daemon_under_test);
    harness_write_config(&daemon_under_test, CONFIG);
    snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", daemon_under_test.dir);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", elsewhere);
    if (system(cmd) != 0)
        return -1;
    /* The daemon runs with --db in the test's directory (harness_start), the config
     * names none: storage.path is the default "balkonsolar.db", relative. */
    return harness_start(&daemon_under_test, NULL) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    /* Stopped already by test_no_daemon_no_second_database: pid 0 would signal our own
     * process group (kill(0, …)), ctest included. */
    if (daemon_under_test.pid > 0)
        harness_stop_cleanly(&daemon_under_test, 5000);
    harness_cleanup(&daemon_under_test);
    return 0;
}

static void test_token_goes_to_the_running_daemons_database(void **state)
{
    (void)state;
    char out[256], err[1024];
    const char *args[] = {"token", "from-cli", "--config", daemon_under_test.config_path, NULL};
    int rc = run_in(elsewhere, NULL, args, out, sizeof out, err, sizeof err);
    if (rc != 0)
        fail_msg("token: exit %d: %s", rc, err);
    assert_true(strncmp(out, "bst_", 4) == 0);
    assert_non_null(strstr(err, "the database of the running daemon"));
    assert_true(empty_dir(elsewhere));
    /* The daemon accepts it: the token list needs a login or a token, even to read. */
    char saved[sizeof daemon_under_test.token];
    memcpy(saved, daemon_under_test.token, sizeof saved);
    snprintf(daemon_under_test.token, sizeof daemon_under_test.token, "%.*s",
             (int)strcspn(out, "\n"), out);
    struct http_reply r =
        harness_http(&daemon_under_test, "GET", "/api/v1/auth/tokens", NULL, 0, NULL);
    memcpy(daemon_under_test.token, saved, sizeof saved);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"from-cli\""));
    http_reply_free(&r);
}

static void test_password_goes_to_the_running_daemons_database(void **state)
{
    (void)state;
    char out[256], err[1024];
    const char *args[] = {"password", "--config", daemon_under_test.config_path, NULL};
    int rc = run_in(elsewhere, "cli-password-1\n", args, out, sizeof out, err, sizeof err);
    if (rc != 0)
        fail_msg("password: exit %d: %s", rc, err);
    assert_true(empty_dir(elsewhere));
    const char *login = "{\"password\": \"cli-password-1\"}";
    struct http_reply r =
        harness_http(&daemon_under_test, "POST", "/api/v1/auth/login", login, strlen(login), NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"logged_in\":true"));
    http_reply_free(&r);
}

/* With no daemon running and no database where the config points, nothing is made. */
static void test_no_daemon_no_second_database(void **state)
{
    (void)state;
    harness_stop_cleanly(&daemon_under_test, 5000);
    char out[256], err[1024];
    const char *args[] = {"token", "orphan", "--config", daemon_under_test.config_path, NULL};
    int rc = run_in(elsewhere, NULL, args, out, sizeof out, err, sizeof err);
    assert_int_not_equal(rc, 0);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "no database at"));
    assert_non_null(strstr(err, "--db FILE"));
    assert_true(empty_dir(elsewhere));
    /* --db names the database outright, and is made when missing. */
    char db[320];
    snprintf(db, sizeof db, "%s/explicit.db", elsewhere);
    const char *explicit_args[] = {"token", "named", "--db", db, NULL};
    assert_int_equal(run_in(elsewhere, NULL, explicit_args, out, sizeof out, err, sizeof err), 0);
    assert_true(access(db, F_OK) == 0);
}

static void test_check_config_line_and_column(void **state)
{
    (void)state;
    /* The missing comma is on line 5; the error is found at the next key, column 3, after
     * comments a minifier would have removed (the old message gave a byte offset into the
     * text without them). */
    harness_write_config(&daemon_under_test,
                         "// a comment\n"
                         "{\n"
                         "  /* a block\n"
                         "     comment */ \"site\": {\"name\": \"Bäckerei\", \"latitude\": 52.52}\n"
                         "  \"devices\": []\n"
                         "}\n");
    char out[2048];
    assert_int_equal(harness_check_config(&daemon_under_test, out, sizeof out), 2);
    if (!strstr(out, "not valid JSON at line 5, column 3"))
        fail_msg("--check-config said: %s", out);
    assert_null(strstr(out, "offset"));
    /* A character, not a byte, is a column: "ä" is two bytes. */
    harness_write_config(&daemon_under_test, "{\"site\": {\"name\": \"ä\" \"x\": 1}}\n");
    assert_int_equal(harness_check_config(&daemon_under_test, out, sizeof out), 2);
    if (!strstr(out, "line 1, column 23"))
        fail_msg("--check-config said: %s", out);
    harness_write_config(&daemon_under_test, CONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_goes_to_the_running_daemons_database),
        cmocka_unit_test(test_password_goes_to_the_running_daemons_database),
        cmocka_unit_test(test_no_daemon_no_second_database),
        cmocka_unit_test(test_check_config_line_and_column),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
