/* Subcommands: run (the worker loop), check, decode. cli is the only place
 * that decides exit codes; the loop below owns batching by time and size,
 * retries with backoff, and the order "PostgreSQL COMMIT, then Kafka commit". */
#include "sluice/cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sluice/apply.h"
#include "sluice/config.h"
#include "sluice/decode_json.h"
#include "sluice/event.h"
#include "sluice/handler.h"
#include "sluice/manifest.h"
#include "sluice/observe.h"
#include "sluice/source.h"
#include "sluice/worker.h"

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "dev"
#endif

const char *sluice_version(void)
{
    return SLUICE_VERSION;
}

static volatile sig_atomic_t stop_requested;

/* The handler table `sluice run` binds (sluice_main sets it). */
static const sluice_handler_t *run_handlers;
static size_t run_nhandlers;

void sluice_cli_set_handlers(const sluice_handler_t *handlers, size_t n)
{
    run_handlers = handlers;
    run_nhandlers = n;
}

const struct sluice_handler *sluice_cli_handlers(size_t *n)
{
    *n = run_nhandlers;
    return run_handlers;
}

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* The first SIGTERM/SIGINT drains and commits; SA_RESETHAND gives the
     * second one its default action: exit at once. */
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}


static void run_usage(FILE *out)
{
    fprintf(out,
            "usage: sluice run -c FILE [--exit-at-end] [--log-level LEVEL]\n\n"
            "Consumes the configured Debezium topics and applies every event to PostgreSQL,\n"
            "recording Kafka offsets in sluice.offsets in the same transaction.\n\n"
            "  -c, --config FILE   JSON config (see `sluice check --keys`)\n"
            "      --exit-at-end   exit 0 once every assigned partition is applied up to the\n"
            "                      end it had when it was assigned (replays, demos, tests)\n"
            "      --log-level L   debug, info (default), warn, error\n"
            "SIGTERM/SIGINT finish the current batch, commit and leave the group; a second\n"
            "signal exits at once.\n");
}

static int parse_common(int argc, char **argv, const char **config, int *exit_at_end, int *keys,
                        void (*usage)(FILE *))
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"exit-at-end", no_argument, NULL, 'e'},
        {"log-level", required_argument, NULL, 'l'}, {"keys", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            *config = optarg;
            break;
        case 'e':
            if (!exit_at_end)
                goto bad;
            *exit_at_end = 1;
            break;
        case 'k':
            if (!keys)
                goto bad;
            *keys = 1;
            break;
        case 'l': {
            int lvl = sluice_log_parse_level(optarg);
            if (lvl < 0) {
                fprintf(stderr, "sluice: --log-level must be debug, info, warn or error\n");
                return -1;
            }
            sluice_log_set_level((sluice_log_level_t)lvl);
            break;
        }
        case 'h':
            usage(stdout);
            return 1;
        default:
            goto bad;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sluice: unexpected argument \"%s\"\n", argv[optind]);
        goto bad;
    }
    return 0;
bad:
    usage(stderr);
    return -1;
}

typedef struct {
    sluice_worker_t *w;
    int rc;
    pthread_t thread;
} run_slot_t;

static void *run_thread(void *arg)
{
    run_slot_t *slot = arg;

    slot->rc = sluice_worker_run(slot->w, &stop_requested);
    if (slot->rc != SLUICE_EXIT_OK)
        stop_requested = 1; /* one worker failed: the others drain and stop too */
    return NULL;
}

int sluice_cli_run(int argc, char **argv)
{
    const char *config_path = NULL;
    sluice_config_t *cfg;
    run_slot_t *slots;
    sluice_err_t err;
    int rc, exit_at_end = 0, i, n, started = 0;

    rc = parse_common(argc, argv, &config_path, &exit_at_end, NULL, run_usage);
    if (rc)
        return rc > 0 ? SLUICE_EXIT_OK : SLUICE_EXIT_USAGE;
    sluice_err_clear(&err);

    /* 1. configuration */
    cfg = sluice_config_load(config_path, &err);
    if (!cfg) {
        fprintf(stderr, "sluice: %s\n", err.msg);
        return SLUICE_EXIT_USAGE;
    }
    n = cfg->workers > 0 ? cfg->workers : 1;
#ifdef M_ARENA_MAX
    /* glibc gives each thread that allocates an arena of its own, and each
     * arena keeps some of what it freed: librdkafka's fetch threads (per
     * broker, per worker) held ~10 MB more that way, a second arena beside
     * the worker's still 3-5 MB at its peak. One arena per worker serves
     * the same rate. MALLOC_ARENA_MAX in the environment still decides. */
    if (!getenv("MALLOC_ARENA_MAX"))
        mallopt(M_ARENA_MAX, n);
#endif
    slots = calloc((size_t)n, sizeof(*slots));
    if (!slots) {
        fprintf(stderr, "sluice: out of memory\n");
        sluice_config_destroy(cfg);
        return SLUICE_EXIT_RUNTIME;
    }
    /* 2. signals: the first asks the loops to drain */
    install_signals();
    /* 3. the workers: PostgreSQL (ledger), handlers, then the consumer group */
    sluice_log(SLUICE_LOG_INFO, "sluice %s starting", sluice_version());
    if (n > 1)
        sluice_log(SLUICE_LOG_INFO, "%d workers, each a consumer of the group with its own "
                                    "PostgreSQL connections", n);
    rc = SLUICE_EXIT_OK;
    for (i = 0; i < n; i++) {
        slots[i].w = sluice_worker_new(cfg, run_handlers, run_nhandlers, exit_at_end, &err);
        if (!slots[i].w) {
            fprintf(stderr, "sluice: %s\n", err.msg);
            rc = err.cls == SLUICE_ERR_FATAL ? SLUICE_EXIT_USAGE : SLUICE_EXIT_RUNTIME;
            break;
        }
    }
    /* 4. the loops, until caught up, stopped, or failed: one runs here, the
     * others on threads of their own */
    if (rc == SLUICE_EXIT_OK) {
        for (i = 1; i < n; i++) {
            if (pthread_create(&slots[i].thread, NULL, run_thread, &slots[i]) != 0) {
                sluice_log(SLUICE_LOG_ERROR, "cannot start worker %d of %d", i + 1, n);
                stop_requested = 1;
                rc = SLUICE_EXIT_RUNTIME;
                break;
            }
            started = i;
        }
        run_thread(&slots[0]);
        for (i = 1; i <= started; i++)
            pthread_join(slots[i].thread, NULL);
        for (i = 0; i <= started; i++)
            if (rc == SLUICE_EXIT_OK && slots[i].rc != SLUICE_EXIT_OK)
                rc = slots[i].rc;
    }
    /* 5. leave the group (applying what is in hand), close PostgreSQL */
    for (i = 0; i < n; i++)
        sluice_worker_destroy(slots[i].w);
    free(slots);
    sluice_config_destroy(cfg);
    return rc;
}

/* ---- check ---------------------------------------------------------------- */

static void check_usage(FILE *out)
{
    fprintf(out, "usage: sluice check -c FILE | --keys\n\n"
                 "Validates the config, connects to PostgreSQL (and applies Sluice's migrations)\n"
                 "and to Kafka, and prints what would be consumed. --keys lists every config key.\n");
}

int sluice_cli_check(int argc, char **argv)
{
    const char *config_path = NULL;
    int keys = 0, rc;
    sluice_config_t *cfg;
    sluice_err_t err;
    sluice_apply_t *ap;
    sluice_source_t *src;

    rc = parse_common(argc, argv, &config_path, NULL, &keys, check_usage);
    if (rc)
        return rc > 0 ? SLUICE_EXIT_OK : SLUICE_EXIT_USAGE;
    if (keys) {
        sluice_config_print_keys(stdout);
        return SLUICE_EXIT_OK;
    }
    sluice_log_set_level(SLUICE_LOG_ERROR);
    sluice_err_clear(&err);
    cfg = sluice_config_load(config_path, &err);
    if (!cfg) {
        fprintf(stderr, "sluice: %s\n", err.msg);
        return SLUICE_EXIT_USAGE;
    }
    sluice_config_print(cfg, stdout);
    {
        size_t i;
        for (i = 0; i < cfg->nmanifests; i++)
            sluice_manifest_print(cfg->manifests[i], stdout);
    }
    ap = sluice_apply_new(cfg, run_handlers, run_nhandlers, &err);
    if (!ap) {
        fprintf(stderr, "sluice: %s\n", err.msg);
        sluice_config_destroy(cfg);
        return SLUICE_EXIT_USAGE;
    }
    printf("postgres: connected, sluice schema up to date\n");
    src = sluice_source_new(cfg, NULL, &err);
    if (!src || sluice_source_describe(src, cfg, stdout, &err) < 0) {
        fprintf(stderr, "sluice: %s\n", err.msg);
        rc = SLUICE_EXIT_USAGE;
    } else {
        printf("ok\n");
        rc = SLUICE_EXIT_OK;
    }
    if (src) {
        /* never joined a group (no poll): destroy without waiting */
        sluice_source_destroy(src);
    }
    sluice_apply_destroy(ap);
    sluice_config_destroy(cfg);
    return rc;
}

/* ---- decode --------------------------------------------------------------- */

static void decode_usage(FILE *out)
{
    fprintf(out, "usage: sluice decode [--key KEYFILE] [FILE|-]\n\n"
                 "Decodes one Debezium JSON message value (a file, or standard input) and prints\n"
                 "the decoded event as JSON: op, source position, table, key, before and after\n"
                 "with value types. Exit code 3 if it cannot be decoded.\n");
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *data;

    if (!f)
        return NULL;
    data = sluice_read_stream(f, len);
    if (f != stdin)
        fclose(f);
    return data;
}

int sluice_cli_decode(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    const char *path = "-", *key_path = NULL;
    char *data = NULL, *key = NULL;
    size_t len = 0, key_len = 0;
    sluice_json_decoder_t *dec;
    sluice_event_t ev;
    sluice_err_t err;
    sluice_buf_t out;
    int c, rc = SLUICE_EXIT_OK;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'k') {
            key_path = optarg;
        } else if (c == 'h') {
            decode_usage(stdout);
            return SLUICE_EXIT_OK;
        } else {
            decode_usage(stderr);
            return SLUICE_EXIT_USAGE;
        }
    }
    if (optind < argc)
        path = argv[optind];
    data = read_all(path, &len);
    if (!data) {
        fprintf(stderr, "sluice: decode: cannot read %s: %s\n", path, strerror(errno));
        return SLUICE_EXIT_USAGE;
    }
    if (key_path && !(key = read_all(key_path, &key_len))) {
        fprintf(stderr, "sluice: decode: cannot read %s: %s\n", key_path, strerror(errno));
        free(data);
        return SLUICE_EXIT_USAGE;
    }
    dec = sluice_json_decoder_new(NULL);
    sluice_event_init(&ev);
    sluice_buf_init(&out);
    sluice_err_clear(&err);
    if ((key && sluice_json_decoder_key(dec, key, key_len, &ev, &err) < 0) ||
        sluice_json_decoder_value(dec, data, len, &ev, &err) < 0) {
        fprintf(stderr, "sluice: decode: %s: %s\n", path, err.msg);
        rc = SLUICE_EXIT_POISON;
    } else if (sluice_event_to_json(&ev, &out) < 0) {
        fprintf(stderr, "sluice: decode: out of memory\n");
        rc = SLUICE_EXIT_RUNTIME;
    } else {
        fwrite(out.data, 1, out.len, stdout);
        fputc('\n', stdout);
    }
    sluice_buf_cleanup(&out);
    sluice_event_cleanup(&ev);
    sluice_json_decoder_destroy(dec);
    free(data);
    free(key);
    return rc;
}
