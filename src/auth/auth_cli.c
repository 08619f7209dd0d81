/* The login's command line:
 *
 *   balkonsolard password [--config FILE] [--db FILE]       sets the password (from stdin)
 *   balkonsolard token NAME [--read-only] [--config FILE] [--db FILE]   prints a new API token
 *
 * Both write the database directly (SQLite's WAL lets them run beside the daemon, which
 * reads the password from the database on every login). A password set here ends every
 * browser session. */
#include "balkon/auth_cli.h"

#include "balkon/config.h"
#include "balkon/error.h"
#include "balkon/secret.h"
#include "balkon/store.h"
#include "balkon/timeutil.h"

#include <getopt.h>
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

/* The database path: --db, else storage.path of --config. */
static int db_path(const char *config_path, const char *db, char *out, size_t size)
{
    if (db) {
        snprintf(out, size, "%s", db);
        return 0;
    }
    if (!config_path) {
        fprintf(stderr,
                "balkonsolard: give --db FILE or --config FILE (to use its storage.path)\n");
        return BALKON_E_INVAL;
    }
    static struct balkon_config config; /* large */
    struct balkon_config_errors errors;
    if (balkon_config_load(config_path, &config, &errors) < 0) {
        for (size_t i = 0; i < errors.count; i++)
            fprintf(stderr, "%s: %s\n", config_path, errors.items[i]);
        return BALKON_E_INVAL;
    }
    snprintf(out, size, "%s", config.storage.path);
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
    char path[512];
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
