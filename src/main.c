/* balkonsolard: the command line. Everything else lives in libbalkon. */
#include "balkon/auth_cli.h"
#include "balkon/config.h"
#include "balkon/daemon.h"
#include "balkon/detect.h"
#include "balkon/import.h"
#include "balkon/log.h"
#include "balkon/replay.h"
#include "balkon/tls_cert.h"
#include "balkon/version.h"

#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* glibc's malloc for a daemon that should stay within 10 MB (docs/storage.md, "Memory").
 * Answers of the API are built in buffers of up to a few hundred KB and freed at once; by
 * default glibc raises its mmap threshold to the largest such buffer freed so far, after
 * which they come from the heap and the heap keeps their pages. A fixed threshold keeps
 * big buffers in mmap (returned on free) and a fixed trim threshold returns the heap's
 * free top. libuv's pool threads (SQLite reads, flushes, plans) share the one arena with
 * the loop instead of one arena per thread (up to 8 per core, each with its own free
 * pages): with a second arena the pool's short-lived answers kept 0.6 MB more resident. */
#define MALLOC_MMAP_THRESHOLD_BYTES (64 * 1024)
#define MALLOC_TRIM_THRESHOLD_BYTES (128 * 1024)
#define MALLOC_ARENAS 1

/* libuv's thread pool, unless UV_THREADPOOL_SIZE says otherwise: two threads for the
 * API's store reads (at most BALKON_STORE_READERS run at once, the rest wait on the loop)
 * and one that is always left for the recorder's flushes, the planner and password
 * hashes. libuv's default of 4 would only add stacks. */
#define POOL_THREADS "3"

static void tune_malloc(void)
{
    mallopt(M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD_BYTES);
    mallopt(M_TRIM_THRESHOLD, MALLOC_TRIM_THRESHOLD_BYTES);
    mallopt(M_ARENA_MAX, MALLOC_ARENAS);
    setenv("UV_THREADPOOL_SIZE", POOL_THREADS, 0); /* read at the pool's first use */
}

static void usage(FILE *out)
{
    fprintf(
        out,
        "Usage: balkonsolard --config FILE [options]\n"
        "       balkonsolard simulate --config FILE [options]   replay days with a battery size\n"
        "                                                     and compare strategies (--help)\n"
        "       balkonsolard import --config FILE --format FORMAT FILE...  load CSV exports\n"
        "                                                     into the database (--help)\n"
        "       balkonsolard password [--config FILE] [--db FILE] set the login password (stdin)\n"
        "       balkonsolard detect HOST[:PORT]                 find out which device answers\n"
        "                                                     at an address (--help)\n"
        "       balkonsolard token NAME [--read-only] [--config FILE] [--db FILE] print a new API "
        "token\n"
        "\n"
        "Energy manager for balcony solar with a home battery.\n"
        "\n"
        "  -c, --config FILE     configuration file (JSON; see docs/configuration.md)\n"
        "      --db FILE         SQLite database (overrides storage.path)\n"
        "      --listen ADDR:PORT  dashboard and API address (overrides http.listen)\n"
        "      --log-level LEVEL error, warn, notice, info or debug (overrides log.level)\n"
        "      --check-config    validate the configuration, print every problem, exit\n"
        "      --config-doc      print the configuration reference (markdown) and exit\n"
        "      --show-cert       print the HTTPS certificate's SHA-256 fingerprint and exit\n"
        "      --version         print the version and exit\n"
        "  -h, --help            this text\n"
        "\n"
        "Signals: SIGTERM/SIGINT stop gracefully, SIGHUP reloads the configuration.\n");
}

int main(int argc, char **argv)
{
    enum {
        OPT_DB = 256,
        OPT_LISTEN,
        OPT_LOG_LEVEL,
        OPT_CHECK,
        OPT_DOC,
        OPT_VERSION,
        OPT_SHOW_CERT
    };
    static const struct option long_options[] = {
        {"config", required_argument, NULL, 'c'},
        {"db", required_argument, NULL, OPT_DB},
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"check-config", no_argument, NULL, OPT_CHECK},
        {"config-doc", no_argument, NULL, OPT_DOC},
        {"version", no_argument, NULL, OPT_VERSION},
        {"show-cert", no_argument, NULL, OPT_SHOW_CERT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (argc > 1 && strcmp(argv[1], "simulate") == 0)
        return balkon_replay_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "detect") == 0)
        return balkon_detect_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "import") == 0)
        return balkon_import_main(argc - 1, argv + 1);
    if (argc > 1 && (strcmp(argv[1], "password") == 0 || strcmp(argv[1], "token") == 0))
        return balkon_auth_cli_main(argc - 1, argv + 1);
    struct balkon_daemon_options options = {0};
    int check_only = 0;
    int show_cert = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:h", long_options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            options.config_path = optarg;
            break;
        case OPT_DB:
            options.db_path = optarg;
            break;
        case OPT_LISTEN:
            options.listen = optarg;
            break;
        case OPT_LOG_LEVEL: {
            enum balkon_log_level level;
            if (balkon_log_level_parse(optarg, &level) < 0) {
                fprintf(stderr,
                        "balkonsolard: --log-level: must be one of error, warn, notice, "
                        "info, debug; got \"%s\"\n",
                        optarg);
                return 2;
            }
            balkon_log_set_level(level);
            options.log_level = optarg;
            break;
        }
        case OPT_CHECK:
            check_only = 1;
            break;
        case OPT_SHOW_CERT:
            show_cert = 1;
            break;
        case OPT_DOC:
            balkon_config_write_doc(stdout);
            return 0;
        case OPT_VERSION:
            printf("balkonsolard %s\n", BALKON_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "balkonsolard: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (!options.config_path) {
        fprintf(stderr,
                "balkonsolard: --config FILE is required (try --config config/demo.json)\n");
        return 2;
    }
    if (show_cert) {
        struct balkon_config config;
        struct balkon_config_errors errors;
        if (balkon_config_load(options.config_path, &config, &errors) < 0) {
            fprintf(stderr, "balkonsolard: %s: %s\n", options.config_path,
                    errors.count ? errors.items[0] : "cannot load");
            return 1;
        }
        if (options.db_path)
            snprintf(config.storage.path, sizeof config.storage.path, "%s", options.db_path);
        return balkon_tls_show(&config);
    }
    if (check_only) {
        struct balkon_config config;
        struct balkon_config_errors errors;
        if (balkon_config_load(options.config_path, &config, &errors) < 0) {
            for (size_t i = 0; i < errors.count; i++)
                fprintf(stderr, "%s: %s\n", options.config_path, errors.items[i]);
            if (errors.dropped)
                fprintf(stderr, "%s: ... and %zu more problems\n", options.config_path,
                        errors.dropped);
            return 2;
        }
        printf("%s: configuration is valid\n", options.config_path);
        return 0;
    }
    tune_malloc();
    return balkon_daemon_run(&options);
}
