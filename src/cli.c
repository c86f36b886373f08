/* Subcommands: run (the worker loop), check, decode. cli is the only place
 * that decides exit codes; the loop below owns batching by time and size,
 * retries with backoff, and the order "PostgreSQL COMMIT, then Kafka commit". */
#include "sluice/cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
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
#include "sluice/observe.h"
#include "sluice/source.h"

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "dev"
#endif

/* Longest time a transient failure (PostgreSQL down) is retried before the
 * worker gives up with exit code 1, and the backoff bounds. */
#define RETRY_MAX_ELAPSED_MS 300000
#define RETRY_BASE_MS 100
#define RETRY_CAP_MS 5000

const char *sluice_version(void)
{
    return SLUICE_VERSION;
}

static volatile sig_atomic_t stop_requested;

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

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the worker ---------------------------------------------------------- */

typedef struct {
    char *topic;
    int32_t partition;
    int64_t end;        /* high watermark when assigned (--exit-at-end) */
    int64_t eof_offset; /* last EOF position seen, -1 none */
    int pending;        /* messages of this partition in the open batch */
} assigned_t;

typedef struct {
    const sluice_config_t *cfg;
    sluice_apply_t *ap;
    sluice_source_t *src;
    int exit_at_end;

    rd_kafka_message_t **batch;
    sluice_msg_t *msgs;
    size_t nbatch, capbatch;
    int64_t batch_started;

    assigned_t *as;
    size_t nas, capas;

    int exit_code;
    int stopping; /* fatal condition met: leave the loop */
    uint64_t applied_total;
} worker_t;

static assigned_t *as_find(worker_t *w, const char *topic, int32_t partition)
{
    size_t i;

    for (i = 0; i < w->nas; i++)
        if (w->as[i].partition == partition && strcmp(w->as[i].topic, topic) == 0)
            return &w->as[i];
    return NULL;
}

static void as_remove(worker_t *w, const char *topic, int32_t partition)
{
    assigned_t *a = as_find(w, topic, partition);

    if (!a)
        return;
    free(a->topic);
    *a = w->as[--w->nas];
}

static int batch_flush(worker_t *w);

static int hook_assign(void *opaque, rd_kafka_topic_partition_list_t *parts)
{
    worker_t *w = opaque;
    sluice_err_t err;
    int i;

    sluice_err_clear(&err);
    for (i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        int64_t off = -1, high = -1;
        assigned_t *a;
        int attempt;

        /* The ledger is the truth: PostgreSQL may be restarting, so retry a
         * little before giving up on this assignment. */
        for (attempt = 0;; attempt++) {
            if (sluice_apply_ledger_load(w->ap, tp->topic, &tp->partition, 1, &off, &err) == 0)
                break;
            if (err.cls != SLUICE_ERR_TRANSIENT || attempt >= 20) {
                sluice_log(SLUICE_LOG_ERROR, "cannot read the ledger for %s [%d]: %s", tp->topic,
                           (int)tp->partition, err.msg);
                w->exit_code = SLUICE_EXIT_RUNTIME;
                w->stopping = 1;
                return -1;
            }
            sluice_log(SLUICE_LOG_WARN, "reading the ledger for %s [%d]: %s (retrying)", tp->topic,
                       (int)tp->partition, err.msg);
            usleep(500 * 1000);
            sluice_apply_reconnect(w->ap, &err);
        }
        tp->offset = off >= 0 ? off : RD_KAFKA_OFFSET_STORED;
        if (w->exit_at_end &&
            sluice_source_high_watermark(w->src, tp->topic, tp->partition, &high, &err) < 0) {
            sluice_log(SLUICE_LOG_ERROR, "%s", err.msg);
            w->exit_code = SLUICE_EXIT_RUNTIME;
            w->stopping = 1;
            return -1;
        }
        if (w->nas == w->capas) {
            size_t cap = w->capas ? w->capas * 2 : 16;
            assigned_t *grown = realloc(w->as, cap * sizeof(*grown));
            if (!grown)
                return -1;
            w->as = grown;
            w->capas = cap;
        }
        a = &w->as[w->nas++];
        a->topic = strdup(tp->topic);
        a->partition = tp->partition;
        a->end = high;
        a->eof_offset = -1;
        a->pending = 0;
    }
    return 0;
}

static void hook_revoke(void *opaque, const rd_kafka_topic_partition_list_t *parts)
{
    worker_t *w = opaque;
    int i;

    /* Finish the open batch (it may hold messages of these partitions) so
     * their ledger and Kafka offsets are current before they move. */
    if (w->nbatch && !w->stopping)
        batch_flush(w);
    for (i = 0; i < parts->cnt; i++) {
        sluice_apply_forget(w->ap, parts->elems[i].topic, parts->elems[i].partition);
        as_remove(w, parts->elems[i].topic, parts->elems[i].partition);
    }
}

static void batch_drop(worker_t *w, size_t from)
{
    size_t i;

    for (i = from; i < w->nbatch; i++) {
        assigned_t *a = as_find(w, w->msgs[i].topic, w->msgs[i].partition);
        if (a && a->pending)
            a->pending--;
        rd_kafka_message_destroy(w->batch[i]);
    }
    w->nbatch = from;
}

/* Commits to Kafka the next offsets of msgs[0, n) (after PostgreSQL did). */
static void kafka_commit(worker_t *w, size_t n, int async)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    sluice_err_t err;
    size_t i;

    for (i = 0; i < n; i++) {
        rd_kafka_topic_partition_t *tp =
            rd_kafka_topic_partition_list_find(l, w->msgs[i].topic, w->msgs[i].partition);
        if (!tp)
            tp = rd_kafka_topic_partition_list_add(l, w->msgs[i].topic, w->msgs[i].partition);
        tp->offset = w->msgs[i].offset + 1;
    }
    sluice_err_clear(&err);
    if (l->cnt && sluice_source_commit(w->src, l, async, &err) < 0)
        sluice_log(SLUICE_LOG_WARN, "%s (the ledger is authoritative; Kafka catches up on the next "
                                    "commit)",
                   err.msg);
    rd_kafka_topic_partition_list_destroy(l);
}

/* After the ledger moved under us: re-read it and seek every partition of the
 * batch there; the batch is dropped and will be fetched again if still ours. */
static void resync_partitions(worker_t *w)
{
    size_t i;
    sluice_err_t err;

    for (i = 0; i < w->nbatch; i++) {
        size_t j;
        int seen = 0;
        int64_t off = -1;
        for (j = 0; j < i && !seen; j++)
            seen = w->msgs[j].partition == w->msgs[i].partition &&
                   strcmp(w->msgs[j].topic, w->msgs[i].topic) == 0;
        if (seen)
            continue;
        sluice_err_clear(&err);
        if (sluice_apply_ledger_load(w->ap, w->msgs[i].topic, &w->msgs[i].partition, 1, &off, &err) < 0) {
            sluice_log(SLUICE_LOG_ERROR, "%s", err.msg);
            continue;
        }
        if (off < 0)
            off = w->msgs[i].offset;
        if (sluice_source_seek(w->src, w->msgs[i].topic, w->msgs[i].partition, off, &err) < 0)
            sluice_log(SLUICE_LOG_WARN, "%s", err.msg);
    }
    batch_drop(w, 0);
}

static int batch_flush(worker_t *w)
{
    int64_t started = now_ms();
    int delay = RETRY_BASE_MS;
    sluice_apply_result_t res;
    sluice_err_t err;

    if (!w->nbatch)
        return 0;
    for (;;) {
        int rc;

        sluice_err_clear(&err);
        rc = sluice_apply_batch(w->ap, w->msgs, w->nbatch, &res, &err);
        if (rc == 0)
            break;
        if (rc == SLUICE_APPLY_MOVED) {
            sluice_log(SLUICE_LOG_WARN, "%s; re-reading the ledger", err.msg);
            resync_partitions(w);
            return 0;
        }
        if (err.cls != SLUICE_ERR_TRANSIENT) {
            sluice_log(SLUICE_LOG_ERROR, "%s", err.msg);
            w->exit_code = SLUICE_EXIT_RUNTIME;
            w->stopping = 1;
            batch_drop(w, 0);
            return -1;
        }
        if (now_ms() - started > RETRY_MAX_ELAPSED_MS) {
            sluice_log(SLUICE_LOG_ERROR, "%s; giving up after %d s of retries (nothing past the last "
                                         "committed batch was committed)",
                       err.msg, RETRY_MAX_ELAPSED_MS / 1000);
            w->exit_code = SLUICE_EXIT_RUNTIME;
            w->stopping = 1;
            batch_drop(w, 0);
            return -1;
        }
        sluice_log(SLUICE_LOG_WARN, "batch of %zu events: %s; retrying in %d ms", w->nbatch, err.msg,
                   delay);
        usleep((useconds_t)(delay + rand() % (delay / 2 + 1)) * 1000);
        delay = delay * 2 > RETRY_CAP_MS ? RETRY_CAP_MS : delay * 2;
        sluice_err_clear(&err);
        if (sluice_apply_reconnect(w->ap, &err) < 0 && err.cls == SLUICE_ERR_FATAL) {
            sluice_log(SLUICE_LOG_ERROR, "%s", err.msg);
            w->exit_code = SLUICE_EXIT_RUNTIME;
            w->stopping = 1;
            batch_drop(w, 0);
            return -1;
        }
    }
    /* PostgreSQL has committed msgs[0, applied): now Kafka may know. */
    kafka_commit(w, res.applied, 1);
    w->applied_total += res.applied;
    if (res.poison) {
        sluice_log(SLUICE_LOG_ERROR, "%s", err.msg);
        sluice_log(SLUICE_LOG_ERROR, "stopping: the message above cannot be applied; nothing past it "
                                     "was committed (fix the cause, then restart)");
        w->exit_code = SLUICE_EXIT_POISON;
        w->stopping = 1;
    }
    batch_drop(w, 0);
    return res.poison ? -1 : 0;
}

static int batch_add(worker_t *w, rd_kafka_message_t *m)
{
    assigned_t *a;

    if (w->nbatch == w->capbatch) {
        size_t cap = w->capbatch ? w->capbatch * 2 : 256;
        rd_kafka_message_t **b = realloc(w->batch, cap * sizeof(*b));
        sluice_msg_t *s;
        if (!b)
            return -1;
        w->batch = b;
        s = realloc(w->msgs, cap * sizeof(*s));
        if (!s)
            return -1;
        w->msgs = s;
        w->capbatch = cap;
    }
    if (!w->nbatch)
        w->batch_started = now_ms();
    w->batch[w->nbatch] = m;
    w->msgs[w->nbatch].topic = rd_kafka_topic_name(m->rkt);
    w->msgs[w->nbatch].partition = m->partition;
    w->msgs[w->nbatch].offset = m->offset;
    w->msgs[w->nbatch].key = m->key;
    w->msgs[w->nbatch].key_len = m->key_len;
    w->msgs[w->nbatch].value = m->payload;
    w->msgs[w->nbatch].value_len = m->len;
    w->nbatch++;
    a = as_find(w, w->msgs[w->nbatch - 1].topic, m->partition);
    if (a)
        a->pending++;
    return 0;
}

static int all_done(const worker_t *w)
{
    size_t i;

    if (!w->nas)
        return 0;
    for (i = 0; i < w->nas; i++) {
        const assigned_t *a = &w->as[i];
        if (a->pending || a->eof_offset < 0 || a->eof_offset < a->end)
            return 0;
    }
    return 1;
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

int sluice_cli_run(int argc, char **argv)
{
    const char *config_path = NULL;
    sluice_config_t *cfg = NULL;
    sluice_err_t err;
    worker_t w;
    sluice_source_hooks_t hooks;
    int rc;
    int64_t last_wait_log = 0;

    memset(&w, 0, sizeof(w));
    rc = parse_common(argc, argv, &config_path, &w.exit_at_end, NULL, run_usage);
    if (rc)
        return rc > 0 ? SLUICE_EXIT_OK : SLUICE_EXIT_USAGE;
    sluice_err_clear(&err);

    /* 1. configuration */
    cfg = sluice_config_load(config_path, &err);
    if (!cfg) {
        fprintf(stderr, "sluice: %s\n", err.msg);
        return SLUICE_EXIT_USAGE;
    }
    w.cfg = cfg;
    install_signals();

    /* 2. PostgreSQL: connect and migrate the ledger schema */
    w.ap = sluice_apply_new(cfg, &err);
    if (!w.ap) {
        fprintf(stderr, "sluice: %s\n", err.msg);
        rc = err.cls == SLUICE_ERR_FATAL ? SLUICE_EXIT_USAGE : SLUICE_EXIT_RUNTIME;
        goto fail_apply;
    }

    /* 3. Kafka: join the group; assignments read the ledger through the hooks */
    hooks.opaque = &w;
    hooks.on_assign = hook_assign;
    hooks.on_revoke = hook_revoke;
    w.src = sluice_source_new(cfg, &hooks, &err);
    if (!w.src) {
        fprintf(stderr, "sluice: %s\n", err.msg);
        rc = SLUICE_EXIT_USAGE;
        goto fail_source;
    }
    sluice_log(SLUICE_LOG_INFO, "sluice %s: group %s, %zu topic pattern(s), batches of %ld events / "
                                "%ld ms",
               sluice_version(), sluice_config_kafka_get(cfg, "group.id"), cfg->ntopics,
               cfg->batch_max_events, cfg->batch_max_ms);

    /* 4. the loop: poll, batch, apply, commit */
    while (!stop_requested && !w.stopping) {
        rd_kafka_message_t *m = sluice_source_poll(w.src, 50);
        int flush = 0;

        if (sluice_source_failed(w.src, &err))
            break;
        if (m && m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            assigned_t *a = as_find(&w, rd_kafka_topic_name(m->rkt), m->partition);
            if (a)
                a->eof_offset = m->offset;
            rd_kafka_message_destroy(m);
            flush = 1; /* caught up: don't sit on a partial batch */
        } else if (m && m->err) {
            sluice_log(m->err == RD_KAFKA_RESP_ERR__FATAL ? SLUICE_LOG_ERROR : SLUICE_LOG_WARN,
                       "kafka: %s%s%s: %s", m->rkt ? rd_kafka_topic_name(m->rkt) : "",
                       m->rkt ? " " : "", rd_kafka_err2name(m->err), rd_kafka_message_errstr(m));
            if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
                w.exit_code = SLUICE_EXIT_RUNTIME;
                w.stopping = 1;
            }
            rd_kafka_message_destroy(m);
        } else if (m) {
            if (batch_add(&w, m) < 0) {
                rd_kafka_message_destroy(m);
                sluice_log(SLUICE_LOG_ERROR, "out of memory");
                w.exit_code = SLUICE_EXIT_RUNTIME;
                break;
            }
        } else {
            flush = 1; /* idle */
        }
        if (w.nbatch && (flush || w.nbatch >= (size_t)cfg->batch_max_events ||
                         now_ms() - w.batch_started >= cfg->batch_max_ms))
            batch_flush(&w);
        if (w.exit_at_end && !w.nbatch && all_done(&w)) {
            sluice_log(SLUICE_LOG_INFO, "every assigned partition is applied up to its end; exiting");
            break;
        }
        if (w.exit_at_end && !w.nas && now_ms() - last_wait_log > 10000) {
            last_wait_log = now_ms();
            sluice_log(SLUICE_LOG_INFO, "waiting for a partition assignment");
        }
    }

    /* 5. drain: apply what is batched, commit synchronously, leave the group */
    if (!w.stopping && w.nbatch)
        batch_flush(&w);
    batch_drop(&w, 0);
    rc = w.exit_code;
    sluice_log(SLUICE_LOG_INFO, "applied %" PRIu64 " messages; leaving the group", w.applied_total);

    sluice_source_destroy(w.src);
fail_source:
    sluice_apply_destroy(w.ap);
fail_apply:
    while (w.nas)
        as_remove(&w, w.as[0].topic, w.as[0].partition);
    free(w.as);
    free(w.batch);
    free(w.msgs);
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
    ap = sluice_apply_new(cfg, &err);
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
    char *data = NULL;
    size_t cap = 0, n = 0;

    if (!f)
        return NULL;
    for (;;) {
        size_t got;
        if (n == cap) {
            char *grown;
            cap = cap ? cap * 2 : 65536;
            grown = realloc(data, cap + 1);
            if (!grown) {
                free(data);
                data = NULL;
                break;
            }
            data = grown;
        }
        got = fread(data + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (f != stdin)
        fclose(f);
    if (data)
        data[n] = '\0';
    *len = n;
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
