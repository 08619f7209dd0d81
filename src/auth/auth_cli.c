/* The login's command line:
 *
 *   balkonsolard password [--config FILE] [--db FILE]       sets the password (from stdin)
 *   balkonsolard token NAME [--read-only] [--config FILE] [--db FILE]   prints a new API token
 *
 * Both write the database directly (SQLite's WAL lets them run beside the daemon, which
 * reads the password from the database on every login). A password set here ends every
 * browser session. Without --db they write the database of the daemon that runs with the
 * config (found in /proc, its paths taken from its working directory), else the config's
 * storage.path when that exists: never a new database no daemon reads. */
#include "balkon/auth_cli.h"

#include "balkon/config.h"
#include "balkon/error.h"
#include "balkon/secret.h"
#include "balkon/store.h"
#include "balkon/timeutil.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static int usage(FILE *out, int code)
{
    fprintf(
        out,
        "Usage: balkonsolard password [--config FILE] [--db FILE]   set the password (read from "
        "stdin)\n"
        "       balkonsolard token NAME [--read-only] [--config FILE] [--db FILE]\n"
        "                                                     make an API token and print it\n");
    return code;
}

/* Reads one line from stdin without its newline; with a terminal, without echo. */
static bool read_line(const char *prompt, char *out, size_t size)
{
    bool tty = isatty(STDIN_FILENO);
    struct termios saved, quiet;
    if (tty) {
        fprintf(stderr, "%s", prompt);
        tcgetattr(STDIN_FILENO, &saved);
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    bool ok = fgets(out, (int)size, stdin) != NULL;
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        fprintf(stderr, "\n");
    }
    if (!ok)
        return false;
    out[strcspn(out, "\r\n")] = '\0';
    return true;
}

/* The command line of process pid as its arguments (argv[0] first), or 0 when unreadable. */
static int read_cmdline(const char *pid, char *buf, size_t size, const char *argv[], int max)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%s/cmdline", pid);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = '\0';
    int argc = 0;
    for (size_t i = 0; i < n && argc < max; i += strlen(buf + i) + 1)
        argv[argc++] = buf + i;
    return argc;
}

/* The value of option name (long "--db", short 'c' or 0) in argv: "--db FILE", "--db=FILE",
 * "-c FILE" or "-cFILE"; NULL when absent. */
static const char *option_value(int argc, const char *argv[], const char *name, char short_name)
{
    size_t len = strlen(name);
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], name, len) == 0 && argv[i][len] == '=')
            return argv[i] + len + 1;
        if (strcmp(argv[i], name) == 0 && i + 1 < argc)
            return argv[i + 1];
        if (short_name && argv[i][0] == '-' && argv[i][1] == short_name)
            return argv[i][2] ? argv[i] + 2 : (i + 1 < argc ? argv[i + 1] : NULL);
    }
    return NULL;
}

/* path as an absolute path: made absolute against dir when relative, then resolved (when it
 * exists). */
static void absolute(const char *dir, const char *path, char *out, size_t size)
{
    char joined[PATH_MAX + 256];
    if (path[0] == '/' || !dir)
        snprintf(joined, sizeof joined, "%s", path);
    else
        snprintf(joined, sizeof joined, "%s/%s", dir, path);
    char real[PATH_MAX];
    snprintf(out, size, "%s", realpath(joined, real) ? real : joined);
}

/* The storage.path of the config at config_path; false (problems printed) when it does not
 * load. */
static bool config_storage_path(const char *config_path, char *out, size_t size)
{
    static struct balkon_config config; /* large */
    struct balkon_config_errors errors;
    if (balkon_config_load(config_path, &config, &errors) < 0) {
        for (size_t i = 0; i < errors.count; i++)
            fprintf(stderr, "%s: %s\n", config_path, errors.items[i]);
        return false;
    }
    snprintf(out, size, "%s", config.storage.path);
    return true;
}

/* The database of a running daemon: one started with the same config (config_real, resolved),
 * or, without a config, the only one running. Its --db, else its config's storage.path, each
 * taken relative to the daemon's working directory as the daemon does. Returns 1 (found,
 * path in out), 0 (none running) or -1 (several and no config to choose by; printed). */
static int running_daemon_db(const char *config_real, char *out, size_t size, long *pid_out)
{
    DIR *proc = opendir("/proc");
    if (!proc)
        return 0;
    int found = 0;
    long self = (long)getpid();
    struct dirent *entry;
    while ((entry = readdir(proc)) != NULL) {
        char *end;
        long pid = strtol(entry->d_name, &end, 10);
        if (*end || pid <= 0 || pid == self)
            continue;
        char buf[4096];
        const char *argv[64];
        int argc = read_cmdline(entry->d_name, buf, sizeof buf, argv, 64);
        if (argc < 2)
            continue;
        const char *name = strrchr(argv[0], '/');
        name = name ? name + 1 : argv[0];
        /* The daemon, not one of its commands (token, password, simulate, import). */
        bool one_off = false; /* --check-config, --show-cert: not a running daemon */
        for (int i = 1; i < argc; i++)
            one_off |=
                strcmp(argv[i], "--check-config") == 0 || strcmp(argv[i], "--show-cert") == 0;
        if (strcmp(name, "balkonsolard") != 0 || argv[1][0] != '-' || one_off)
            continue;
        /* Its working directory resolves its relative paths; another user's is hidden from
         * us, and then only absolute paths can be compared. */
        char cwd_link[64], cwd_buf[PATH_MAX];
        snprintf(cwd_link, sizeof cwd_link, "/proc/%ld/cwd", pid);
        ssize_t n = readlink(cwd_link, cwd_buf, sizeof cwd_buf - 1);
        const char *cwd = n > 0 ? cwd_buf : NULL;
        if (n > 0)
            cwd_buf[n] = '\0';
        const char *config = option_value(argc, argv, "--config", 'c');
        if (!config || (config[0] != '/' && !cwd))
            continue;
        char its_config[PATH_MAX];
        absolute(cwd, config, its_config, sizeof its_config);
        if (config_real && strcmp(its_config, config_real) != 0)
            continue;
        char storage[PATH_MAX];
        const char *db = option_value(argc, argv, "--db", 0);
        if (!db) {
            if (!config_storage_path(its_config, storage, sizeof storage))
                continue;
            db = storage;
        }
        if (db[0] != '/' && !cwd)
            continue;
        char path[PATH_MAX];
        absolute(cwd, db, path, sizeof path);
        if (found && strcmp(path, out) != 0) {
            fprintf(stderr,
                    "balkonsolard: several daemons run (pids %ld and %ld): give --config FILE "
                    "or --db FILE\n",
                    *pid_out, pid);
            closedir(proc);
            return -1;
        }
        snprintf(out, size, "%s", path);
        *pid_out = pid;
        found = 1;
    }
    closedir(proc);
    return found;
}

/* The database to write: --db as given (made when missing); else the database of the
 * daemon running with this config (or the only daemon, without --config); else the
 * config's storage.path, which must exist: a token or password in a database no daemon
 * reads would be refused at the login, which is worse than an error here. */
static int db_path(const char *config_path, const char *db, char *out, size_t size)
{
    if (db) {
        snprintf(out, size, "%s", db);
        return 0;
    }
    char config_real[PATH_MAX] = "";
    if (config_path) {
        if (!realpath(config_path, config_real)) {
            fprintf(stderr, "balkonsolard: %s: %s\n", config_path, strerror(errno));
            return BALKON_E_INVAL;
        }
    }
    long pid = 0;
    int running = running_daemon_db(config_path ? config_real : NULL, out, size, &pid);
    if (running < 0)
        return BALKON_E_INVAL;
    if (running > 0) {
        fprintf(stderr, "balkonsolard: using %s, the database of the running daemon (pid %ld)\n",
                out, pid);
        return 0;
    }
    if (!config_path) {
        fprintf(stderr, "balkonsolard: no daemon is running: give --config FILE (to use its "
                        "storage.path) or --db FILE\n");
        return BALKON_E_INVAL;
    }
    char storage[PATH_MAX];
    if (!config_storage_path(config_path, storage, sizeof storage))
        return BALKON_E_INVAL;
    char cwd[PATH_MAX];
    absolute(getcwd(cwd, sizeof cwd) ? cwd : NULL, storage, out, size);
    if (access(out, F_OK) != 0) {
        fprintf(stderr,
                "balkonsolard: no database at %s (storage.path of %s, from this directory) and "
                "no daemon runs with that config: start the daemon once, run this where it "
                "runs, or give --db FILE (made if missing)\n",
                out, config_path);
        return BALKON_E_INVAL;
    }
    return 0;
}

static int set_password(struct balkon_store *store, const char *path)
{
    char password[BALKON_PASSWORD_MAX_LEN + 2], again[BALKON_PASSWORD_MAX_LEN + 2];
    char hash[BALKON_PASSWORD_HASH_SIZE];
    int code = 1;
    if (!read_line("New password: ", password, sizeof password)) {
        fprintf(stderr, "balkonsolard: password: nothing on stdin\n");
        goto done;
    }
    const char *problem = balkon_password_problem(password);
    if (problem) {
        fprintf(stderr, "balkonsolard: password: %s\n", problem);
        goto done;
    }
    if (isatty(STDIN_FILENO) &&
        (!read_line("Again: ", again, sizeof again) || strcmp(password, again) != 0)) {
        fprintf(stderr, "balkonsolard: password: the two entries differ\n");
        goto done;
    }
    if (balkon_password_hash(password, hash) < 0 ||
        balkon_store_password_set(store, hash, balkon_wall_now_ms()) < 0 ||
        balkon_store_sessions_delete_others(store, NULL) < 0) {
        fprintf(stderr, "balkonsolard: cannot store the password in %s: %s\n", path,
                balkon_store_errmsg(store));
        goto done;
    }
    /* The setup code beside the database is spent. */
    char setup_code[600];
    balkon_setup_code_path(path, setup_code, sizeof setup_code);
    unlink(setup_code);
    fprintf(stderr, "password set; every browser has to log in again\n");
    code = 0;
done:
    explicit_bzero(password, sizeof password);
    explicit_bzero(again, sizeof again);
    return code;
}

static int make_token(struct balkon_store *store, const char *path, const char *name,
                      bool read_only)
{
    if (!name[0] || strlen(name) >= sizeof((struct balkon_token_record *)0)->name) {
        fprintf(stderr, "balkonsolard: token: NAME must be 1 to 63 characters\n");
        return 2;
    }
    char token[BALKON_TOKEN_TEXT_SIZE], digest[BALKON_DIGEST_HEX_SIZE];
    int64_t id;
    if (balkon_secret_token("bst_", token) < 0 || balkon_secret_digest(token, digest) < 0 ||
        balkon_store_token_add(store, name, digest, read_only, balkon_wall_now_ms(), &id) < 0) {
        fprintf(stderr, "balkonsolard: cannot store the token in %s: %s\n", path,
                balkon_store_errmsg(store));
        return 1;
    }
    printf("%s\n", token);
    fprintf(stderr,
            "API token %lld \"%s\"%s made; send it as \"Authorization: Bearer TOKEN\". It is not "
            "shown again.\n",
            (long long)id, name, read_only ? " (read only)" : "");
    explicit_bzero(token, sizeof token);
    return 0;
}

int balkon_auth_cli_main(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"config", required_argument, NULL, 'c'},
        {"db", required_argument, NULL, 'd'},
        {"read-only", no_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *command = argv[0];
    const char *config_path = NULL, *db = NULL;
    bool read_only = false;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:h", long_options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'd':
            db = optarg;
            break;
        case 'r':
            read_only = true;
            break;
        case 'h':
            return usage(stdout, 0);
        default:
            return usage(stderr, 2);
        }
    }
    bool is_token = strcmp(command, "token") == 0;
    if (optind != argc - (is_token ? 1 : 0))
        return usage(stderr, 2);
    char path[PATH_MAX];
    if (db_path(config_path, db, path, sizeof path) < 0)
        return 2;
    struct balkon_store_options options = {.path = path};
    struct balkon_store *store;
    char why[512];
    if (balkon_store_open(&options, &store, why, sizeof why) < 0) {
        fprintf(stderr, "balkonsolard: %s\n", why);
        return 1;
    }
    balkon_store_set_busy_timeout(store, 5000); /* the daemon may be writing */
    int code =
        is_token ? make_token(store, path, argv[optind], read_only) : set_password(store, path);
    balkon_store_close(store);
    return code;
}
