/* librdkafka consumer: configuration pass-through, subscription, the
 * rebalance callback (ledger-driven start offsets through the owner's hooks),
 * commits and seeks. It never decides what was applied; its owner does. */
#include "sluice/source.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/observe.h"

/* The consumer's memory bound (see the defaults in sluice_source_new()),
 * shared by the workers of one process. */
#define PREFETCH_KB 6144        /* queued.max.messages.kbytes */
#define FETCH_MAX_BYTES 2097152 /* fetch.max.bytes */
#define STR_(x) #x
#define STR(x) STR_(x)

/* Waking librdkafka's fetchers when the prefetch queue drains.
 *
 * librdkafka before 2.2 stops fetching once its prefetch queue holds
 * queued.max.messages.kbytes or queued.min.messages, and looks at the queue
 * again only when its broker thread wakes up: after up to one second
 * (librdkafka issue #2879; 2.2 made it fetch.queue.backoff.ms). With a queue
 * small enough to bound the worker's memory, the worker drains it in a
 * fraction of that second and then waits for the rest. So when the queue,
 * having been near its limit, has drained to half of it, a thread of ours
 * asks the leaders of the assigned partitions for their end offsets: the
 * request is queued on each leader's broker thread, which wakes, sees room
 * and fetches. A leader holding a long-poll Fetch (partitions without data)
 * answers the request only after it, since a broker answers one
 * connection's requests in order: fetch.wait.max.ms (50 ms by default here)
 * bounds that. One request at a time; nothing is sent while the worker
 * keeps up (the queue never fills) or on librdkafka 2.2+. */
typedef struct {
    rd_kafka_queue_t *queue; /* the consumer queue every partition feeds */
    double limit_bytes;      /* queued.max.messages.kbytes, in bytes */
    double limit_msgs;       /* queued.min.messages */
    double avg_len;          /* running mean of message sizes */
    unsigned polls;
    int full; /* seen near its limit since the last wake-up */
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    rd_kafka_topic_partition_list_t *want; /* partitions to ask about, handed over */
    unsigned long wakeups;
} refill_t;

struct sluice_source {
    rd_kafka_t *rk;
    sluice_source_hooks_t hooks;
    int failed;
    sluice_err_t fail_err;
    int closed;
    refill_t refill;
};

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    sluice_log_level_t lvl = level <= 3 ? SLUICE_LOG_ERROR : level <= 4 ? SLUICE_LOG_WARN
                             : level <= 6                   ? SLUICE_LOG_INFO
                                                            : SLUICE_LOG_DEBUG;
    (void)rk;
    sluice_log(lvl, "kafka: %s: %s", fac, buf);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    (void)opaque;
    /* librdkafka retries transport errors itself; only say so. */
    sluice_log(err == RD_KAFKA_RESP_ERR__FATAL ? SLUICE_LOG_ERROR : SLUICE_LOG_WARN, "kafka: %s: %s",
               rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static int cooperative(rd_kafka_t *rk)
{
    const char *proto = rd_kafka_rebalance_protocol(rk);
    return proto && strcmp(proto, "COOPERATIVE") == 0;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque)
{
    sluice_source_t *src = opaque;
    rd_kafka_error_t *e = NULL;
    int i;

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (i = 0; i < parts->cnt; i++)
            parts->elems[i].offset = RD_KAFKA_OFFSET_STORED;
        if (src->hooks.on_assign && src->hooks.on_assign(src->hooks.opaque, parts) < 0) {
            src->failed = 1;
            return; /* assign nothing: the owner stops */
        }
        for (i = 0; i < parts->cnt; i++)
            sluice_log(SLUICE_LOG_INFO, "assigned %s [%d] starting at %s%lld", parts->elems[i].topic,
                       (int)parts->elems[i].partition,
                       parts->elems[i].offset < 0 ? "committed offset " : "ledger offset ",
                       (long long)(parts->elems[i].offset < 0 ? 0 : parts->elems[i].offset));
        if (cooperative(rk))
            e = rd_kafka_incremental_assign(rk, parts);
        else if (rd_kafka_assign(rk, parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
            sluice_log(SLUICE_LOG_ERROR, "kafka: assign failed");
    } else {
        if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
            sluice_log(SLUICE_LOG_WARN, "kafka: rebalance error: %s", rd_kafka_err2str(err));
        if (src->hooks.on_revoke)
            src->hooks.on_revoke(src->hooks.opaque, parts);
        for (i = 0; i < parts->cnt; i++)
            sluice_log(SLUICE_LOG_INFO, "revoked %s [%d]", parts->elems[i].topic,
                       (int)parts->elems[i].partition);
        if (cooperative(rk))
            e = rd_kafka_incremental_unassign(rk, parts);
        else
            rd_kafka_assign(rk, NULL);
    }
    if (e) {
        sluice_log(SLUICE_LOG_ERROR, "kafka: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
}

static int conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, sluice_err_t *err)
{
    char errstr[512];

    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
        return sluice_err_set(err, SLUICE_ERR_FATAL, "config: kafka.%s: %s", key, errstr);
    return 0;
}

/* Property prefixes that only a consumer understands. */
static const char *const consumer_only[] = {
    "group.", "session.timeout.ms", "heartbeat.interval.ms", "auto.", "enable.auto.",
    "isolation.level", "partition.assignment.strategy", "max.poll.interval.ms", "fetch.",
    "queued.", "enable.partition.eof", "check.crcs", "coordinator.", "allow.auto.create.topics",
    "consume.callback.max.messages", "max.partition.fetch.bytes", NULL,
};

int sluice_source_conf_copy(const sluice_config_t *cfg, rd_kafka_conf_t *conf, rd_kafka_type_t type,
                            sluice_err_t *err)
{
    size_t i;

    for (i = 0; i < cfg->nkafka; i++) {
        const char *const *co;
        int skip = 0;
        if (type == RD_KAFKA_PRODUCER)
            for (co = consumer_only; *co && !skip; co++)
                skip = strncmp(cfg->kafka[i].key, *co, strlen(*co)) == 0;
        if (!skip && conf_set(conf, cfg->kafka[i].key, cfg->kafka[i].value, err) < 0)
            return -1;
    }
    return 0;
}

static void *refill_main(void *arg)
{
    sluice_source_t *src = arg;
    refill_t *r = &src->refill;

    pthread_mutex_lock(&r->mu);
    for (;;) {
        rd_kafka_topic_partition_list_t *parts;

        while (!r->want && !r->stop)
            pthread_cond_wait(&r->cv, &r->mu);
        if (r->stop)
            break;
        parts = r->want;
        r->want = NULL;
        pthread_mutex_unlock(&r->mu);
        rd_kafka_offsets_for_times(src->rk, parts, 1000);
        rd_kafka_topic_partition_list_destroy(parts);
        pthread_mutex_lock(&r->mu);
        r->wakeups++;
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static double conf_number(rd_kafka_t *rk, const char *key)
{
    char buf[64];
    size_t n = sizeof(buf);

    if (rd_kafka_conf_get(rd_kafka_conf(rk), key, buf, &n) != RD_KAFKA_CONF_OK)
        return 0;
    return strtod(buf, NULL);
}

static void refill_start(sluice_source_t *src)
{
    refill_t *r = &src->refill;

    if (rd_kafka_version() >= 0x020200ff) {
        sluice_log(SLUICE_LOG_DEBUG, "kafka: librdkafka %s refills its prefetch queue itself "
                                     "(fetch.queue.backoff.ms)",
                   rd_kafka_version_str());
        return;
    }
    r->limit_bytes = conf_number(src->rk, "queued.max.messages.kbytes") * 1024;
    r->limit_msgs = conf_number(src->rk, "queued.min.messages");
    if (r->limit_bytes <= 0 || r->limit_msgs <= 0)
        return;
    r->queue = rd_kafka_queue_get_consumer(src->rk);
    if (!r->queue)
        return;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (pthread_create(&r->thread, NULL, refill_main, src) != 0) {
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cv);
        rd_kafka_queue_destroy(r->queue);
        r->queue = NULL;
        return;
    }
    r->started = 1;
}

static void refill_stop(sluice_source_t *src)
{
    refill_t *r = &src->refill;

    if (!r->started)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    if (r->want)
        rd_kafka_topic_partition_list_destroy(r->want);
    r->want = NULL;
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    rd_kafka_queue_destroy(r->queue);
    r->started = 0;
    sluice_log(SLUICE_LOG_DEBUG, "kafka: prefetch queue refilled %lu times", r->wakeups);
}

/* Called on every poll: decides whether librdkafka may have stopped
 * fetching (queue near its limit) and, once the queue has drained to half,
 * wakes its fetchers. Cheap: the queue length is read every 32 polls. */
static void refill_check(sluice_source_t *src, const rd_kafka_message_t *m)
{
    refill_t *r = &src->refill;
    double len, bytes;

    if (!r->started)
        return;
    if (m && !m->err) {
        double sz = (double)(m->len + m->key_len);
        r->avg_len = r->avg_len > 0 ? r->avg_len + (sz - r->avg_len) / 64 : sz;
    }
    if (m && (++r->polls & 31) != 0)
        return;
    len = (double)rd_kafka_queue_length(r->queue);
    bytes = len * r->avg_len;
    if (bytes >= 0.75 * r->limit_bytes || len >= 0.75 * r->limit_msgs) {
        r->full = 1;
    } else if (r->full && bytes <= 0.5 * r->limit_bytes && len <= 0.5 * r->limit_msgs) {
        rd_kafka_topic_partition_list_t *ask = NULL;
        int i;
        r->full = 0;
        if (rd_kafka_assignment(src->rk, &ask) != RD_KAFKA_RESP_ERR_NO_ERROR)
            return;
        if (!ask->cnt) {
            rd_kafka_topic_partition_list_destroy(ask);
            return;
        }
        for (i = 0; i < ask->cnt; i++)
            ask->elems[i].offset = -1; /* the latest offset; the answer is unused */
        pthread_mutex_lock(&r->mu);
        if (r->want) /* the thread is still busy with the previous one */
            rd_kafka_topic_partition_list_destroy(r->want);
        r->want = ask;
        pthread_cond_signal(&r->cv);
        pthread_mutex_unlock(&r->mu);
    }
}

sluice_source_t *sluice_source_new(const sluice_config_t *cfg, const sluice_source_hooks_t *hooks,
                                   sluice_err_t *err)
{
    sluice_source_t *src = calloc(1, sizeof(*src));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_topic_partition_list_t *sub = NULL;
    rd_kafka_resp_err_t rerr;
    char errstr[512];
    size_t i;
    /* Defaults Sluice relies on; the user's kafka.* settings override those
     * that are safe to change (validated in config). */
    static const char *const defaults[][2] = {
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "true"},
        {"auto.offset.reset", "earliest"},
        {"partition.assignment.strategy", "cooperative-sticky"},
        {"isolation.level", "read_committed"},
        /* Memory: librdkafka prefetches until its queue holds 64 MiB or
         * 100,000 messages by default, and a fetch response may add up to
         * fetch.max.bytes (50 MiB) on top; 6 MiB (or 10,000 messages) plus
         * 2 MiB responses keep the whole worker near 50 MB while catching
         * up, whatever the backlog or the message size (the worker copies
         * what it takes out of librdkafka at once), and refill_check() keeps
         * the rate. With 3 KB values (JsonConverter with schemas) 4 MiB held
         * only ~1,300 messages, a few milliseconds of work, and ran dry
         * behind a slow broker; 8 MiB gained nothing over 6 MiB but peaked
         * up to 64 MB. */
        {"queued.max.messages.kbytes", STR(PREFETCH_KB)},
        {"queued.min.messages", "10000"},
        {"fetch.max.bytes", STR(FETCH_MAX_BYTES)},
        /* A broker answers a long-poll Fetch of partitions without data
         * only after this wait, and the requests after it on the same
         * connection (refill_check()'s wake-up) with it: librdkafka's 500 ms
         * would stall catching up near the end of a backlog. */
        {"fetch.wait.max.ms", "50"},
    };

    if (!src || !conf) {
        sluice_err_set(err, SLUICE_ERR_FATAL, "kafka: out of memory");
        goto fail;
    }
    if (hooks)
        src->hooks = *hooks;
    for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
        if (conf_set(conf, defaults[i][0], defaults[i][1], err) < 0)
            goto fail;
    /* several workers in one process share its memory bound: each gets a
     * share of the prefetch queue and of the fetch size (not below 1 MiB,
     * librdkafka's message.max.bytes); kafka.* still overrides both. Two
     * workers with 2 MiB fetches each peaked at 61-70 MB, with 1 MiB at
     * 56-62 MB and the same rate. */
    if (cfg->workers > 1) {
        char kb[24], bytes[24];
        int share = PREFETCH_KB / cfg->workers;
        long fetch = FETCH_MAX_BYTES / cfg->workers;
        snprintf(kb, sizeof(kb), "%d", share < 1024 ? 1024 : share);
        snprintf(bytes, sizeof(bytes), "%ld", fetch < 1048576 ? 1048576 : fetch);
        if (conf_set(conf, "queued.max.messages.kbytes", kb, err) < 0 ||
            conf_set(conf, "fetch.max.bytes", bytes, err) < 0)
            goto fail;
    }
    /* librdkafka 2.2+ can look at a full prefetch queue again sooner than
     * after a second by itself (see refill_t) */
    if (rd_kafka_version() >= 0x020200ff && conf_set(conf, "fetch.queue.backoff.ms", "10", err) < 0)
        goto fail;
    if (sluice_source_conf_copy(cfg, conf, RD_KAFKA_CONSUMER, err) < 0)
        goto fail;
    /* never overridable: offsets are stored by Sluice after the PG commit */
    if (conf_set(conf, "enable.auto.commit", "false", err) < 0 ||
        conf_set(conf, "enable.auto.offset.store", "false", err) < 0 ||
        conf_set(conf, "enable.partition.eof", "true", err) < 0)
        goto fail;
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_opaque(conf, src);

    src->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!src->rk) {
        sluice_err_set(err, SLUICE_ERR_FATAL, "kafka: cannot create the consumer: %s", errstr);
        goto fail; /* conf still ours */
    }
    conf = NULL;
    rd_kafka_poll_set_consumer(src->rk);
    refill_start(src);

    sub = rd_kafka_topic_partition_list_new((int)cfg->ntopics);
    for (i = 0; i < cfg->ntopics; i++)
        rd_kafka_topic_partition_list_add(sub, cfg->topics[i], RD_KAFKA_PARTITION_UA);
    rerr = rd_kafka_subscribe(src->rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (rerr) {
        sluice_err_set(err, SLUICE_ERR_FATAL, "kafka: cannot subscribe to topics: %s (check topics)",
                       rd_kafka_err2str(rerr));
        goto fail;
    }
    return src;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    if (src)
        refill_stop(src);
    if (src && src->rk) {
        rd_kafka_destroy(src->rk);
        src->rk = NULL;
    }
    free(src);
    return NULL;
}

void sluice_source_destroy(sluice_source_t *src)
{
    if (!src)
        return;
    refill_stop(src);
    if (src->rk) {
        rd_kafka_consumer_close(src->rk); /* revokes through the hooks, leaves the group */
        rd_kafka_destroy(src->rk);
    }
    free(src);
}

rd_kafka_message_t *sluice_source_poll(sluice_source_t *src, int timeout_ms)
{
    rd_kafka_message_t *m = rd_kafka_consumer_poll(src->rk, timeout_ms);

    refill_check(src, m);
    return m;
}

int sluice_source_failed(const sluice_source_t *src, sluice_err_t *err)
{
    (void)err;
    return src->failed;
}

int sluice_source_commit(sluice_source_t *src, const rd_kafka_topic_partition_list_t *offsets,
                         int async, sluice_err_t *err)
{
    rd_kafka_resp_err_t rerr = rd_kafka_commit(src->rk, offsets, async);

    if (rerr && rerr != RD_KAFKA_RESP_ERR__NO_OFFSET)
        return sluice_err_set(err, SLUICE_ERR_TRANSIENT, "kafka: commit failed: %s",
                              rd_kafka_err2str(rerr));
    return 0;
}

int sluice_source_seek(sluice_source_t *src, const char *topic, int32_t partition, int64_t offset,
                       sluice_err_t *err)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_error_t *e;
    int rc = 0;

    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = offset;
    e = rd_kafka_seek_partitions(src->rk, l, 10000);
    if (e) {
        rc = sluice_err_set(err, SLUICE_ERR_TRANSIENT, "kafka: seek %s [%d] to %lld: %s", topic,
                            (int)partition, (long long)offset, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    } else if (l->elems[0].err) {
        rc = sluice_err_set(err, SLUICE_ERR_TRANSIENT, "kafka: seek %s [%d] to %lld: %s", topic,
                            (int)partition, (long long)offset, rd_kafka_err2str(l->elems[0].err));
    }
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

int sluice_source_high_watermark(sluice_source_t *src, const char *topic, int32_t partition,
                                 int64_t *high, sluice_err_t *err)
{
    int64_t low = 0;
    rd_kafka_resp_err_t rerr =
        rd_kafka_query_watermark_offsets(src->rk, topic, partition, &low, high, 10000);

    if (rerr)
        return sluice_err_set(err, SLUICE_ERR_TRANSIENT, "kafka: watermarks of %s [%d]: %s", topic,
                              (int)partition, rd_kafka_err2str(rerr));
    return 0;
}

int sluice_source_describe(sluice_source_t *src, const sluice_config_t *cfg, FILE *out,
                           sluice_err_t *err)
{
    const struct rd_kafka_metadata *md;
    rd_kafka_resp_err_t rerr = rd_kafka_metadata(src->rk, 1, NULL, &md, 10000);
    int i, matched = 0;

    if (rerr)
        return sluice_err_set(err, SLUICE_ERR_FATAL,
                              "kafka: cannot reach the cluster at %s: %s (check "
                              "kafka.bootstrap.servers)",
                              sluice_config_kafka_get(cfg, "bootstrap.servers"), rd_kafka_err2str(rerr));
    fprintf(out, "kafka: %d broker(s) reachable\n", md->broker_cnt);
    for (i = 0; i < md->topic_cnt; i++) {
        if (!sluice_config_topic_selected(cfg, md->topics[i].topic))
            continue;
        fprintf(out, "  would consume %s (%d partitions)\n", md->topics[i].topic,
                md->topics[i].partition_cnt);
        matched++;
    }
    for (i = 0; i < (int)cfg->ntopics; i++) {
        int j, found = cfg->topics[i][0] == '^';
        for (j = 0; !found && j < md->topic_cnt; j++)
            found = strcmp(md->topics[j].topic, cfg->topics[i]) == 0;
        if (!found)
            fprintf(out, "  warning: topic %s does not exist yet (Sluice starts consuming it when "
                         "it appears)\n",
                    cfg->topics[i]);
    }
    if (!matched)
        fprintf(out, "  no existing topic matches the configured topics\n");
    rd_kafka_metadata_destroy(md);
    return 0;
}

rd_kafka_t *sluice_source_handle(sluice_source_t *src)
{
    return src->rk;
}
