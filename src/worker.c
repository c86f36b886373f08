/* The worker loop. Owns batching by size and time, the overlap of decoding
 * (batch N+1) with applying (batch N), retries with backoff, the order
 * "PostgreSQL COMMIT, then Kafka commit", partition bookkeeping for
 * --exit-at-end, and what happens on assignment and revocation. */
#include "sluice/worker.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sluice/apply.h"
#include "sluice/cli.h"
#include "sluice/dlq.h"
#include "sluice/observe.h"
#include "sluice/progress.h"
#include "sluice/source.h"
#include "sluice/decode_json.h"
#include "strmap.h"

/* How long one dead-letter write may take before it counts as failed. */
#define DLQ_ACK_TIMEOUT_MS 30000

typedef struct {
    char *topic;
    int32_t partition;
    int64_t end;        /* high watermark when assigned (--exit-at-end) */
    int64_t eof_offset; /* last EOF position seen, -1 none */
    int pending;        /* messages of this partition not yet applied */
    int64_t next;       /* offset the next message must have at least, -1 unknown */
    int warned_dup;     /* logged that messages came again */
    int seeking;        /* sent back to next; until it gets there, no new seek */
} assigned_t;

/* Messages in hand keep copies of their keys and values, made when they are
 * added: librdkafka's message (and the fetch buffer it pins) is released at
 * once. The copies go into blocks, recycled between batches. */
typedef struct block {
    struct block *next;
    size_t cap, used;
    char data[];
} block_t;

#define BLOCK_SIZE ((size_t)256 * 1024)

/* A JsonConverter value with schemas is held split (decode_json.h): the
 * schema, about 80% of its bytes and the same for every change of a table,
 * once for all messages in hand that carry it; the payload in the batch. */
typedef struct {
    size_t refs; /* messages in hand that carry it */
    size_t len;
    char bytes[];
} sref_t;

/* The shared schema a split key or value points into. */
#define SREF_OF(p) ((sref_t *)(void *)((char *)(p) - offsetof(sref_t, bytes)))

#define SREFS_MAX 64 /* schemas kept for reuse while no message carries them */
#define SREFS_TRY 8  /* the most recent ones, compared byte for byte */

typedef struct {
    sluice_msg_t *msgs;
    rd_kafka_headers_t **hdrs; /* the messages' headers (NULL: none), for the DLQ */
    size_t n, cap;
    size_t bytes; /* keys and values as held (a shared schema is not counted) */
    block_t *blocks; /* newest first: the one being filled */
    int64_t started;
} batch_t;

struct sluice_worker {
    const sluice_config_t *cfg;
    sluice_apply_t *ap;
    sluice_source_t *src;
    sluice_dlq_t *dlq; /* NULL unless dlq.enabled */
    sluice_progress_t *prog; /* catch-up progress (--exit-at-end) */
    int exit_at_end;

    batch_t cur;   /* being collected */
    batch_t fly;   /* sent to PostgreSQL */
    batch_t stash; /* fetched while waiting out a backoff; joins cur later */
    block_t *pool; /* free blocks */
    size_t npool;
    sref_t **srefs; /* schemas of split values, most recently used first */
    size_t nsrefs, capsrefs;
    strmap_t topics; /* topic name -> its copy: names outlive librdkafka's messages */
    const char *last_topic; /* the copy topic_name() gave last */

    assigned_t *as;
    size_t nas, capas;

    int exit_code;
    int stopping;     /* a failure: leave the loop */
    int sync_commits; /* draining: wait for Kafka commits */
    /* ledger offsets of newly assigned partitions, committed to Kafka as soon
     * as the assignment is in place: a worker killed after its PostgreSQL
     * commit but before its Kafka commit leaves Kafka behind the ledger, and
     * a partition with nothing more to apply would keep showing lag */
    rd_kafka_topic_partition_list_t *catchup;
    int64_t reconcile_at; /* mirror.reconcile_deletes: last look at sluice.reconcile */
    int reconcile_pending;
    int in_backoff;   /* inside wait_polling(): rebalances abandon what is in hand */
    int abandoned;    /* what was in hand was given up (a rebalance during a backoff) */
    uint64_t applied_total;
    uint64_t split_total; /* values added with their schema held apart */
    size_t batch_bytes;   /* batch.max_bytes, this worker's share of it */
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fail(sluice_worker_t *w, int code, const char *msg)
{
    sluice_log(SLUICE_LOG_ERROR, "%s", msg);
    if (!w->stopping)
        w->exit_code = code;
    w->stopping = 1;
}

/* ---- partitions ------------------------------------------------------------ */

static assigned_t *as_find(sluice_worker_t *w, const char *topic, int32_t partition)
{
    size_t i;

    for (i = 0; i < w->nas; i++)
        if (w->as[i].partition == partition && strcmp(w->as[i].topic, topic) == 0)
            return &w->as[i];
    return NULL;
}

static void as_remove(sluice_worker_t *w, const char *topic, int32_t partition)
{
    assigned_t *a = as_find(w, topic, partition);

    if (!a)
        return;
    free(a->topic);
    *a = w->as[--w->nas];
}

static int all_done(const sluice_worker_t *w)
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

/* ---- batches ----------------------------------------------------------------- */

/* Returns 1 when m is not new: an offset reset (or a fetch retry) delivered
 * messages this worker already has in hand or applied. They are dropped, and
 * the partition is sent back to where it was. */
static int already_seen(sluice_worker_t *w, rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    assigned_t *a = as_find(w, topic, m->partition);
    sluice_err_t err;

    if (!a)
        return 0;
    if (a->next < 0 || m->offset >= a->next) {
        a->next = m->offset + 1;
        a->seeking = 0;
        return 0;
    }
    if (!a->warned_dup)
        sluice_log(SLUICE_LOG_WARN, "topic %s partition %d offset %lld came again (the consumer "
                                    "position was reset); skipping to offset %lld, which is where "
                                    "this worker is",
                   topic, (int)m->partition, (long long)m->offset, (long long)a->next);
    a->warned_dup = 1;
    if (a->seeking)
        return 1; /* the rest of what was fetched again: the seek is under way */
    a->seeking = 1;
    sluice_err_clear(&err);
    if (sluice_source_seek(w->src, topic, m->partition, a->next, &err) < 0)
        sluice_log(SLUICE_LOG_WARN, "%s", err.msg);
    return 1;
}

/* n bytes in b's blocks (NULL: out of memory). */
static char *store(sluice_worker_t *w, batch_t *b, size_t n)
{
    block_t *k = b->blocks;
    char *p;

    if (!k || k->cap - k->used < n) {
        if (n <= BLOCK_SIZE / 4 && w->pool) {
            k = w->pool;
            w->pool = k->next;
            w->npool--;
        } else {
            size_t cap = n > BLOCK_SIZE / 4 ? n : BLOCK_SIZE;
            if (!(k = malloc(sizeof(*k) + cap)))
                return NULL;
            k->cap = cap;
        }
        k->used = 0;
        k->next = b->blocks;
        b->blocks = k;
    }
    p = k->data + k->used;
    k->used += n;
    return p;
}

/* Returns blocks to the pool, keeping up to keep of them; the rest freed. */
static void blocks_release(sluice_worker_t *w, block_t *k, size_t keep)
{
    while (k) {
        block_t *next = k->next;
        if (k->cap == BLOCK_SIZE && w->npool < keep) {
            k->next = w->pool;
            w->pool = k;
            w->npool++;
        } else {
            free(k);
        }
        k = next;
    }
}

/* srefs[i], moved to the front (most recently used first). */
static sref_t *sref_use(sluice_worker_t *w, size_t i)
{
    sref_t *r = w->srefs[i];

    memmove(w->srefs + 1, w->srefs, i * sizeof(*w->srefs));
    w->srefs[0] = r;
    return r;
}

/* The shared copy of a split value's schema, S = value[off, off+len). */
static sref_t *sref_get(sluice_worker_t *w, const char *s, size_t len)
{
    sref_t *r;
    size_t i;

    for (i = 0; i < w->nsrefs; i++)
        if (w->srefs[i]->len == len && memcmp(w->srefs[i]->bytes, s, len) == 0)
            break;
    if (i == w->nsrefs) {
        if (w->nsrefs >= SREFS_MAX) { /* forget one no message carries */
            size_t j = w->nsrefs;
            while (j > 0 && w->srefs[j - 1]->refs)
                j--;
            if (j > 0) {
                free(w->srefs[j - 1]);
                memmove(w->srefs + j - 1, w->srefs + j, (w->nsrefs - j) * sizeof(*w->srefs));
                w->nsrefs--;
            }
        }
        if (w->nsrefs == w->capsrefs) {
            size_t cap = w->capsrefs ? w->capsrefs * 2 : 16;
            sref_t **grown = realloc(w->srefs, cap * sizeof(*grown));
            if (!grown)
                return NULL;
            w->srefs = grown;
            w->capsrefs = cap;
        }
        if (!(r = malloc(sizeof(*r) + len)))
            return NULL;
        r->refs = 0;
        r->len = len;
        memcpy(r->bytes, s, len);
        w->srefs[w->nsrefs] = r;
        i = w->nsrefs++;
    }
    return sref_use(w, i);
}

/* Whether a key or value v is {"schema":S,"payload":P}: its schema's shared
 * copy and where P is; NULL to keep it whole. */
static sref_t *split_envelope(sluice_worker_t *w, const void *v, size_t len, size_t *poff,
                              size_t *plen)
{
    size_t soff, slen, i;

    if (!v || !len)
        return NULL;
    for (i = 0; i < w->nsrefs && i < SREFS_TRY; i++)
        if (sluice_json_envelope_split(v, len, w->srefs[i]->bytes, w->srefs[i]->len, &soff, &slen,
                                       poff, plen))
            return sref_use(w, i);
    if (!sluice_json_envelope_split(v, len, NULL, 0, &soff, &slen, poff, plen))
        return NULL;
    return sref_get(w, (const char *)v + soff, slen);
}

/* The worker's copy of a topic name (consecutive messages mostly share one). */
static const char *topic_name(sluice_worker_t *w, const char *name)
{
    size_t len;
    char *t;

    if (w->last_topic && strcmp(w->last_topic, name) == 0)
        return w->last_topic;
    len = strlen(name);
    t = strmap_get(&w->topics, name, len);
    if (!t && (t = strdup(name)) && strmap_put(&w->topics, name, len, t) < 0) {
        free(t);
        t = NULL;
    }
    if (t)
        w->last_topic = t;
    return t;
}

static int batch_grow(batch_t *b, size_t need)
{
    size_t cap = b->cap ? b->cap : 256;
    sluice_msg_t *msgs;
    rd_kafka_headers_t **hdrs;

    if (need <= b->cap)
        return 0;
    while (cap < need)
        cap *= 2;
    if (!(msgs = realloc(b->msgs, cap * sizeof(*msgs))))
        return -1;
    b->msgs = msgs;
    if (!(hdrs = realloc(b->hdrs, cap * sizeof(*hdrs))))
        return -1;
    b->hdrs = hdrs;
    b->cap = cap;
    return 0;
}

/* Adds m to b, keeping copies of its bytes; m is destroyed either way. */
static int batch_add(sluice_worker_t *w, batch_t *b, rd_kafka_message_t *m)
{
    sluice_msg_t *msg;
    rd_kafka_headers_t *h = NULL;
    sref_t *r, *kr;
    size_t voff = 0, vlen = m->len, koff = 0, klen = m->key_len;
    const char *topic = topic_name(w, rd_kafka_topic_name(m->rkt));
    assigned_t *a;
    char *key = NULL, *value = NULL;

    r = split_envelope(w, m->payload, m->len, &voff, &vlen);
    kr = split_envelope(w, m->key, m->key_len, &koff, &klen);
    if (!topic || batch_grow(b, b->n + 1) < 0 || (m->key && !(key = store(w, b, klen))) ||
        (m->payload && !(value = store(w, b, vlen)))) {
        rd_kafka_message_destroy(m);
        return -1;
    }
    if (!b->n)
        b->started = now_ms();
    if (key)
        memcpy(key, (const char *)m->key + koff, klen);
    if (value)
        memcpy(value, (const char *)m->payload + voff, vlen);
    /* only a dead letter carries them on */
    if (w->dlq && rd_kafka_message_detach_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR)
        h = NULL;
    msg = &b->msgs[b->n];
    msg->topic = topic;
    msg->partition = m->partition;
    msg->offset = m->offset;
    msg->key = key;
    msg->key_len = key ? klen : 0;
    msg->key_schema = kr ? kr->bytes : NULL;
    msg->key_schema_len = kr ? kr->len : 0;
    msg->value = value;
    msg->value_len = value ? vlen : 0;
    msg->schema = r ? r->bytes : NULL;
    msg->schema_len = r ? r->len : 0;
    b->hdrs[b->n] = h;
    if (r) {
        r->refs++;
        w->split_total++;
    }
    if (kr)
        kr->refs++;
    b->bytes += msg->key_len + msg->value_len;
    rd_kafka_message_destroy(m);
    a = as_find(w, topic, msg->partition);
    if (a)
        a->pending++;
    b->n++;
    return 0;
}

/* Appends src's messages to dst (fetched while waiting out a backoff, they
 * follow cur); src is left empty. Pending counts are unchanged. */
static int batch_join(batch_t *dst, batch_t *src)
{
    block_t **tail;

    if (!src->n)
        return 0;
    if (batch_grow(dst, dst->n + src->n) < 0)
        return -1;
    if (!dst->n)
        dst->started = src->started;
    memcpy(dst->msgs + dst->n, src->msgs, src->n * sizeof(*src->msgs));
    memcpy(dst->hdrs + dst->n, src->hdrs, src->n * sizeof(*src->hdrs));
    dst->n += src->n;
    dst->bytes += src->bytes;
    /* src's blocks go behind dst's: dst goes on filling its newest one */
    for (tail = &dst->blocks; *tail; tail = &(*tail)->next)
        ;
    *tail = src->blocks;
    src->blocks = NULL;
    src->n = 0;
    src->bytes = 0;
    return 0;
}

static void batch_release(sluice_worker_t *w, batch_t *b)
{
    size_t i;

    for (i = 0; i < b->n; i++) {
        assigned_t *a = as_find(w, b->msgs[i].topic, b->msgs[i].partition);
        if (a && a->pending)
            a->pending--;
        if (b->hdrs[i])
            rd_kafka_headers_destroy(b->hdrs[i]);
        if (b->msgs[i].schema)
            SREF_OF(b->msgs[i].schema)->refs--;
        if (b->msgs[i].key_schema)
            SREF_OF(b->msgs[i].key_schema)->refs--;
    }
    /* enough for the largest batches in hand (cur, fly, a stash) */
    blocks_release(w, b->blocks, 3 * (w->batch_bytes / BLOCK_SIZE + 2));
    b->blocks = NULL;
    b->n = 0;
    b->bytes = 0;
}

static void batch_free(batch_t *b)
{
    free(b->msgs);
    free(b->hdrs);
}

/* Commits to Kafka the next offsets of msgs[0, n) (after PostgreSQL did). */
static void kafka_commit(sluice_worker_t *w, const sluice_msg_t *msgs, size_t n, int async)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    sluice_err_t err;
    size_t i;

    for (i = 0; i < n; i++) {
        rd_kafka_topic_partition_t *tp =
            rd_kafka_topic_partition_list_find(l, msgs[i].topic, msgs[i].partition);
        if (!tp)
            tp = rd_kafka_topic_partition_list_add(l, msgs[i].topic, msgs[i].partition);
        tp->offset = msgs[i].offset + 1;
    }
    sluice_err_clear(&err);
    if (l->cnt && sluice_source_commit(w->src, l, async, &err) < 0)
        sluice_log(SLUICE_LOG_WARN, "%s (the ledger is authoritative; Kafka catches up on the next "
                                    "commit)",
                   err.msg);
    rd_kafka_topic_partition_list_destroy(l);
}

/* After the ledger moved under us: re-read it for every partition with
 * messages in hand and seek there; those messages are dropped and fetched
 * again if the partition is still ours. */
static void resync(sluice_worker_t *w)
{
    batch_t *bs[3] = {&w->fly, &w->cur, &w->stash};
    struct part {
        const char *topic;
        int32_t partition;
        int64_t first; /* fly, cur and stash hold messages in fetch order */
    } *parts = calloc(w->fly.n + w->cur.n + w->stash.n + 1, sizeof(*parts));
    size_t nparts = 0, i, j;
    int k;

    for (k = 0; k < 3 && parts; k++) {
        for (i = 0; i < bs[k]->n; i++) {
            const sluice_msg_t *msg = &bs[k]->msgs[i];
            for (j = 0; j < nparts; j++)
                if (parts[j].partition == msg->partition && strcmp(parts[j].topic, msg->topic) == 0)
                    break;
            if (j == nparts) {
                parts[nparts].topic = msg->topic;
                parts[nparts].partition = msg->partition;
                parts[nparts].first = msg->offset;
                nparts++;
            }
        }
    }
    for (j = 0; j < nparts; j++) {
        sluice_err_t err;
        int64_t off = -1;
        assigned_t *a = as_find(w, parts[j].topic, parts[j].partition);

        sluice_err_clear(&err);
        if (!w->in_backoff &&
            sluice_apply_ledger_load(w->ap, parts[j].topic, &parts[j].partition, 1, &off, &err) < 0)
            sluice_log(SLUICE_LOG_WARN, "%s", err.msg);
        /* nothing in hand is committed: its first message is a safe place
         * to start again when the ledger cannot be read */
        if (off < 0)
            off = parts[j].first;
        if (a) {
            a->next = off;
            a->seeking = 0;
        }
        if (sluice_source_seek(w->src, parts[j].topic, parts[j].partition, off, &err) < 0)
            sluice_log(SLUICE_LOG_WARN, "%s", err.msg);
    }
    if (!parts)
        sluice_log(SLUICE_LOG_ERROR, "out of memory re-reading the ledger");
    free(parts);
    sluice_apply_discard(w->ap);
    batch_release(w, &w->fly);
    batch_release(w, &w->cur);
    batch_release(w, &w->stash);
}

static int already_seen(sluice_worker_t *w, rd_kafka_message_t *m);
static int batch_add(sluice_worker_t *w, batch_t *b, rd_kafka_message_t *m);

/* Waits ms without leaving the group: the assignment is paused and the
 * consumer polled, so heartbeats, max.poll.interval.ms and rebalances are
 * served. Messages fetched before the pause are kept for the next batch. A
 * rebalance meanwhile gives up what is in hand (nothing of it is committed;
 * the partitions are sent back to it). */
static void wait_polling(sluice_worker_t *w, int ms)
{
    rd_kafka_t *rk = sluice_source_handle(w->src);
    rd_kafka_topic_partition_list_t *asg = NULL;
    int64_t until = now_ms() + ms;

    if (rd_kafka_assignment(rk, &asg) == RD_KAFKA_RESP_ERR_NO_ERROR && asg && asg->cnt)
        rd_kafka_pause_partitions(rk, asg);
    w->in_backoff = 1;
    while (!w->abandoned && now_ms() < until) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, (int)(until - now_ms() > 100 ? 100 : until - now_ms()));
        if (!m)
            continue;
        if (m->err || already_seen(w, m))
            rd_kafka_message_destroy(m);
        else if (batch_add(w, &w->stash, m) < 0)
            fail(w, SLUICE_EXIT_RUNTIME, "out of memory");
    }
    w->in_backoff = 0;
    if (asg) {
        if (asg->cnt)
            rd_kafka_resume_partitions(rk, asg);
        rd_kafka_topic_partition_list_destroy(asg);
    }
}

/* Sleeps the backoff and reconnects; 0 to try again, -1 when retries are
 * exhausted or the failure turned fatal. */
static int backoff(sluice_worker_t *w, int64_t started, int *delay, const sluice_err_t *cause)
{
    sluice_err_t err;
    char line[SLUICE_ERR_MSG_MAX + 128];

    if (now_ms() - started > w->cfg->retry_max_elapsed_ms) {
        snprintf(line, sizeof(line), "%s; giving up after %ld ms of retries (nothing past the last "
                                     "committed batch was committed)",
                 cause->msg, w->cfg->retry_max_elapsed_ms);
        fail(w, SLUICE_EXIT_RUNTIME, line);
        return -1;
    }
    sluice_log(SLUICE_LOG_WARN, "%s; retrying in %d ms", cause->msg, *delay);
    wait_polling(w, *delay + rand() % (*delay / 2 + 1));
    if (w->abandoned)
        return -1; /* a rebalance took the batch away: nothing left to retry */
    *delay = *delay * 2 > w->cfg->retry_cap_ms ? (int)w->cfg->retry_cap_ms : *delay * 2;
    sluice_err_clear(&err);
    if (sluice_apply_reconnect(w->ap, &err) < 0) {
        if (err.cls == SLUICE_ERR_FATAL) {
            fail(w, SLUICE_EXIT_RUNTIME, err.msg);
            return -1;
        }
        sluice_log(SLUICE_LOG_WARN, "%s", err.msg);
    }
    return 0;
}

/* Dead-letters msg (the write acknowledged, retried until then) and moves its
 * partition's ledger past it. 0, or -1 when the worker must stop. */
static int dead_letter(sluice_worker_t *w, size_t i, const sluice_apply_result_t *res,
                       const sluice_err_t *why)
{
    const sluice_msg_t *msg = &w->fly.msgs[i];
    sluice_dlq_record_t rec;
    int64_t started = now_ms();
    int delay = (int)w->cfg->retry_base_ms, rc;
    sluice_err_t err;

    rec.msg = msg;
    rec.headers = w->fly.hdrs[i];
    rec.why = why;
    rec.stage = res->stage ? res->stage : "apply";
    rec.handler = res->handler;
    rec.attempts = 1;
    for (;;) {
        sluice_err_clear(&err);
        if (sluice_dlq_send(w->dlq, &rec, DLQ_ACK_TIMEOUT_MS, &err) == 0)
            break;
        if (backoff(w, started, &delay, &err) < 0)
            return -1;
    }
    /* only now may the offset move past it, in the same ledger discipline */
    for (;;) {
        sluice_err_clear(&err);
        rc = sluice_apply_skip(w->ap, msg, &err);
        if (rc == 0)
            break;
        if (rc == SLUICE_APPLY_MOVED) {
            sluice_log(SLUICE_LOG_WARN, "%s; re-reading the ledger", err.msg);
            return 1;
        }
        if (err.cls != SLUICE_ERR_TRANSIENT) {
            fail(w, SLUICE_EXIT_RUNTIME, err.msg);
            return -1;
        }
        if (backoff(w, started, &delay, &err) < 0)
            return -1;
    }
    kafka_commit(w, msg, 1, !w->sync_commits);
    return 0;
}

/* mirror.reconcile_deletes: between batches, at most every second (every
 * 200 ms while a snapshot waits for the ledger), or now when forced. */
static void maybe_reconcile(sluice_worker_t *w, int force)
{
    int64_t now = now_ms();
    int pending = 0;
    sluice_err_t err;

    if (!w->cfg->mirror_reconcile || sluice_apply_inflight(w->ap) || w->stopping)
        return;
    if (sluice_apply_snapshot_ended(w->ap))
        force = 1; /* record the partition ends now */
    if (!force && now - w->reconcile_at < (w->reconcile_pending ? 200 : 1000))
        return;
    w->reconcile_at = now;
    sluice_err_clear(&err);
    if (sluice_apply_reconcile(w->ap, sluice_source_handle(w->src), &pending, &err) < 0) {
        if (err.cls == SLUICE_ERR_FATAL || err.cls == SLUICE_ERR_PERMANENT)
            sluice_log(SLUICE_LOG_ERROR, "%s", err.msg);
        else
            sluice_log(SLUICE_LOG_WARN, "%s (trying again later)", err.msg);
    }
    w->reconcile_pending = pending;
}

/* Waits for the batch in flight and settles it: Kafka commit, dead-letter or
 * stop at a poison message, ledger moved, or retries until it is applied. */
static void complete_fly(sluice_worker_t *w)
{
    int64_t started = now_ms();
    int delay = (int)w->cfg->retry_base_ms;
    size_t base = 0; /* fly.msgs[0, base) are settled */

    while (sluice_apply_inflight(w->ap)) {
        sluice_apply_result_t res;
        sluice_err_t err;
        int rc;

        sluice_err_clear(&err);
        rc = sluice_apply_wait(w->ap, &res, &err);
        if (rc == 0) {
            /* PostgreSQL has committed these: now Kafka may know. */
            kafka_commit(w, w->fly.msgs + base, res.applied, !w->sync_commits);
            if (w->prog) {
                size_t k;
                for (k = base; k < base + res.applied; k++) {
                    assigned_t *pa = as_find(w, w->fly.msgs[k].topic, w->fly.msgs[k].partition);
                    if (pa)
                        sluice_progress_update(w->prog, pa->topic, pa->partition,
                                               w->fly.msgs[k].offset + 1, pa->end);
                }
            }
            w->applied_total += res.applied;
            base += res.applied;
            maybe_reconcile(w, 0);
            if (res.poison) {
                sluice_log(SLUICE_LOG_ERROR, "%s", err.msg);
                if (!w->dlq) {
                    fail(w, SLUICE_EXIT_POISON, "stopping: the message above cannot be applied; "
                                                "nothing past it was committed (fix the cause, then "
                                                "restart, or set dlq.enabled)");
                    break;
                }
                rc = dead_letter(w, base, &res, &err);
                if (rc > 0) {
                    resync(w);
                    return;
                }
                if (rc < 0)
                    break;
                base++;
                /* go on with the rest of the batch */
                while (base < w->fly.n) {
                    sluice_err_clear(&err);
                    if (sluice_apply_prepare(w->ap, w->fly.msgs + base, w->fly.n - base, &err) == 0) {
                        sluice_apply_send(w->ap, &err);
                        break;
                    }
                    if (err.cls != SLUICE_ERR_TRANSIENT) {
                        fail(w, SLUICE_EXIT_RUNTIME, err.msg);
                        break;
                    }
                    if (backoff(w, started, &delay, &err) < 0)
                        break;
                }
            }
            continue;
        }
        if (rc == SLUICE_APPLY_MOVED) {
            sluice_log(SLUICE_LOG_WARN, "%s; re-reading the ledger", err.msg);
            resync(w);
            return;
        }
        if (err.cls != SLUICE_ERR_TRANSIENT) {
            fail(w, SLUICE_EXIT_RUNTIME, err.msg);
            break;
        }
        /* transient: the same messages again, from the first unsettled one */
        for (;;) {
            if (backoff(w, started, &delay, &err) < 0) {
                if (w->abandoned)
                    return; /* released by the rebalance */
                break;
            }
            sluice_err_clear(&err);
            if (sluice_apply_prepare(w->ap, w->fly.msgs + base, w->fly.n - base, &err) == 0) {
                sluice_apply_send(w->ap, &err);
                if (sluice_apply_inflight(w->ap))
                    break;
            }
        }
    }
    batch_release(w, &w->fly);
}

/* Applies the collected batch: prepared while the previous one runs, sent
 * once that one is settled. */
static void flush_cur(sluice_worker_t *w)
{
    batch_t tmp;
    sluice_err_t err;
    int64_t started = now_ms();
    int delay = (int)w->cfg->retry_base_ms;

    if (!w->cur.n || w->stopping)
        return;
    int64_t t0 = now_ms(), t1, t2;
    sluice_err_clear(&err);
    while (sluice_apply_prepare(w->ap, w->cur.msgs, w->cur.n, &err) < 0) {
        if (err.cls != SLUICE_ERR_TRANSIENT) {
            fail(w, SLUICE_EXIT_RUNTIME, err.msg);
            return;
        }
        complete_fly(w); /* settle what runs before waiting */
        if (w->stopping || backoff(w, started, &delay, &err) < 0)
            return;
        sluice_err_clear(&err);
    }
    t1 = now_ms();
    complete_fly(w);
    t2 = now_ms();
    if (w->stopping || !w->cur.n)
        return;
    while (!sluice_apply_prepared(w->ap)) { /* lost while settling the previous batch */
        sluice_err_clear(&err);
        if (sluice_apply_prepare(w->ap, w->cur.msgs, w->cur.n, &err) == 0)
            break;
        if (err.cls != SLUICE_ERR_TRANSIENT) {
            fail(w, SLUICE_EXIT_RUNTIME, err.msg);
            return;
        }
        if (backoff(w, started, &delay, &err) < 0)
            return;
    }
    sluice_log(SLUICE_LOG_DEBUG, "batch of %zu messages (collected in %lld ms, prepared in %lld ms, waited %lld ms)",
               w->cur.n, (long long)(t0 - w->cur.started), (long long)(t1 - t0), (long long)(t2 - t1));
    sluice_err_clear(&err);
    sluice_apply_send(w->ap, &err); /* a failure is read back by wait */
    tmp = w->fly;
    w->fly = w->cur;
    w->cur = tmp;
    w->cur.n = 0;
    w->cur.bytes = 0;
}

/* Everything collected is applied and settled. */
static void drain(sluice_worker_t *w)
{
    w->sync_commits = 1;
    flush_cur(w);
    complete_fly(w);
    w->sync_commits = 0;
}

/* ---- rebalance hooks --------------------------------------------------------- */

static int hook_assign(void *opaque, rd_kafka_topic_partition_list_t *parts)
{
    sluice_worker_t *w = opaque;
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
            if (err.cls != SLUICE_ERR_TRANSIENT || attempt >= 60) {
                char line[SLUICE_ERR_MSG_MAX + 128];
                snprintf(line, sizeof(line), "cannot read the ledger for %s [%d]: %s", tp->topic,
                         (int)tp->partition, err.msg);
                fail(w, SLUICE_EXIT_RUNTIME, line);
                return -1;
            }
            sluice_log(SLUICE_LOG_WARN, "reading the ledger for %s [%d]: %s (retrying)", tp->topic,
                       (int)tp->partition, err.msg);
            usleep(1000 * 1000);
        }
        tp->offset = off >= 0 ? off : RD_KAFKA_OFFSET_STORED;
        if (off >= 0) {
            if (!w->catchup)
                w->catchup = rd_kafka_topic_partition_list_new(parts->cnt);
            rd_kafka_topic_partition_list_add(w->catchup, tp->topic, tp->partition)->offset = off;
        }
        if (w->exit_at_end &&
            sluice_source_high_watermark(w->src, tp->topic, tp->partition, &high, &err) < 0) {
            fail(w, SLUICE_EXIT_RUNTIME, err.msg);
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
        a->next = off;
        a->warned_dup = 0;
        a->seeking = 0;
        if (w->prog && high >= 0)
            sluice_progress_update(w->prog, a->topic, a->partition, off >= 0 ? off : 0, high);
    }
    return 0;
}

static void hook_revoke(void *opaque, const rd_kafka_topic_partition_list_t *parts)
{
    sluice_worker_t *w = opaque;
    int i;

    /* Apply and commit what is in hand (it may hold messages of these
     * partitions) so their ledger and Kafka offsets are current before they
     * move to another worker. During a backoff (PostgreSQL down) that cannot
     * be done: give it up instead; the ledger decides where everyone goes on. */
    if (w->in_backoff) {
        sluice_log(SLUICE_LOG_WARN, "partitions revoked while retrying: the batch in hand is given "
                                    "up and applied again by whoever owns its partitions");
        resync(w);
        w->abandoned = 1;
    } else if (!w->stopping)
        drain(w);
    else
        complete_fly(w);
    if (w->fly.n || w->cur.n) {
        sluice_apply_discard(w->ap);
        batch_release(w, &w->fly);
        batch_release(w, &w->cur);
    }
    for (i = 0; i < parts->cnt; i++) {
        if (w->catchup)
            rd_kafka_topic_partition_list_del(w->catchup, parts->elems[i].topic,
                                              parts->elems[i].partition);
        sluice_apply_forget(w->ap, parts->elems[i].topic, parts->elems[i].partition);
        as_remove(w, parts->elems[i].topic, parts->elems[i].partition);
    }
}

/* ---- life cycle ---------------------------------------------------------------- */

sluice_worker_t *sluice_worker_new(const sluice_config_t *cfg, const sluice_handler_t *handlers,
                                   size_t nhandlers, int exit_at_end, sluice_err_t *err)
{
    sluice_worker_t *w = calloc(1, sizeof(*w));
    sluice_source_hooks_t hooks;

    if (!w) {
        sluice_err_set(err, SLUICE_ERR_FATAL, "worker: out of memory");
        return NULL;
    }
    w->cfg = cfg;
    strmap_init(&w->topics);
    /* batch.max_bytes bounds the process: several workers share it */
    w->batch_bytes = (size_t)cfg->batch_max_bytes / (size_t)(cfg->workers > 1 ? cfg->workers : 1);
    if (w->batch_bytes < 65536)
        w->batch_bytes = 65536;
    w->exit_at_end = exit_at_end;
    /* a catch-up shows its progress: a terminal line, or a log line per 10 s */
    if (exit_at_end) /* several workers in one process: log lines, not one terminal line each */
        w->prog = sluice_progress_new(stderr, cfg->workers > 1 ? SLUICE_PROGRESS_LOG
                                                               : SLUICE_PROGRESS_AUTO,
                                      10000);

    /* PostgreSQL first: the ledger must be readable before any assignment */
    w->ap = sluice_apply_new(cfg, handlers, nhandlers, err);
    if (!w->ap)
        goto fail;
    /* then Kafka: assignments read the ledger through the hooks */
    hooks.opaque = w;
    hooks.on_assign = hook_assign;
    hooks.on_revoke = hook_revoke;
    w->src = sluice_source_new(cfg, &hooks, err);
    if (!w->src)
        goto fail;
    /* the dead-letter producer, when messages that cannot be applied are to
     * be set aside instead of stopping the worker */
    if (cfg->dlq_enabled && !(w->dlq = sluice_dlq_new(cfg, err)))
        goto fail;
    return w;
fail:
    sluice_worker_destroy(w);
    return NULL;
}

void sluice_worker_destroy(sluice_worker_t *w)
{
    block_t *blocks;

    if (!w)
        return;
    /* leaving the group revokes through hook_revoke, which applies what is
     * in hand; then PostgreSQL */
    sluice_source_destroy(w->src);
    w->src = NULL;
    sluice_dlq_destroy(w->dlq);
    sluice_apply_destroy(w->ap);
    sluice_progress_destroy(w->prog);
    while (w->nas)
        as_remove(w, w->as[0].topic, w->as[0].partition);
    free(w->as);
    batch_release(w, &w->cur);
    batch_release(w, &w->fly);
    batch_release(w, &w->stash);
    batch_free(&w->cur);
    batch_free(&w->fly);
    batch_free(&w->stash);
    blocks = w->pool;
    w->pool = NULL;
    w->npool = 0;
    blocks_release(w, blocks, 0);
    while (w->nsrefs)
        free(w->srefs[--w->nsrefs]);
    free(w->srefs);
    strmap_cleanup(&w->topics, free);
    if (w->catchup)
        rd_kafka_topic_partition_list_destroy(w->catchup);
    free(w);
}

int sluice_worker_run(sluice_worker_t *w, volatile sig_atomic_t *stop)
{
    const sluice_config_t *cfg = w->cfg;
    int64_t last_wait_log = 0, last_tick = 0, now = now_ms();
    unsigned iter = 0;
    sluice_err_t err;

    sluice_log(SLUICE_LOG_INFO, "group %s, %zu topic pattern(s), batches of %ld events / %ld ms",
               sluice_config_kafka_get(cfg, "group.id"), cfg->ntopics, cfg->batch_max_events,
               cfg->batch_max_ms);
    while (!*stop && !w->stopping) {
        rd_kafka_message_t *m;
        int flush = 0;

        w->abandoned = 0;
        if (w->stash.n && !sluice_apply_prepared(w->ap) && batch_join(&w->cur, &w->stash) < 0) {
            fail(w, SLUICE_EXIT_RUNTIME, "out of memory");
            break;
        }
        m = sluice_source_poll(w->src, w->cur.n ? 1 : 20);

        if (sluice_source_failed(w->src, &err))
            break;
        if (w->catchup) {
            sluice_err_clear(&err);
            if (w->catchup->cnt && sluice_source_commit(w->src, w->catchup, 1, &err) < 0)
                sluice_log(SLUICE_LOG_WARN, "%s (the ledger is authoritative)", err.msg);
            rd_kafka_topic_partition_list_destroy(w->catchup);
            w->catchup = NULL;
        }
        if (m && m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            assigned_t *a = as_find(w, rd_kafka_topic_name(m->rkt), m->partition);
            if (a)
                a->eof_offset = m->offset;
            rd_kafka_message_destroy(m);
            flush = 1; /* caught up: don't sit on a partial batch */
        } else if (m && m->err) {
            sluice_log(m->err == RD_KAFKA_RESP_ERR__FATAL ? SLUICE_LOG_ERROR : SLUICE_LOG_WARN,
                       "kafka: %s%s%s: %s", m->rkt ? rd_kafka_topic_name(m->rkt) : "",
                       m->rkt ? " " : "", rd_kafka_err2name(m->err), rd_kafka_message_errstr(m));
            if (m->err == RD_KAFKA_RESP_ERR__FATAL)
                fail(w, SLUICE_EXIT_RUNTIME, "kafka: fatal consumer error");
            rd_kafka_message_destroy(m);
        } else if (m && already_seen(w, m)) {
            rd_kafka_message_destroy(m);
        } else if (m) {
            if (batch_add(w, &w->cur, m) < 0) {
                fail(w, SLUICE_EXIT_RUNTIME, "out of memory");
                break;
            }
        } else {
            flush = 1; /* idle */
        }
        /* the clock, read once per 32 messages while they stream in */
        if (flush || !m || (++iter & 31) == 0)
            now = now_ms();
        /* Adaptive batching: a full or old batch goes at once; a partial one
         * goes when the stream pauses, unless PostgreSQL is still busy with
         * the previous batch — then it keeps growing, so batches are large
         * under load and small (low latency) when the stream is quiet. */
        if (w->cur.n && (w->cur.n >= (size_t)cfg->batch_max_events ||
                         w->cur.bytes >= w->batch_bytes ||
                         now - w->cur.started >= cfg->batch_max_ms ||
                         (flush && sluice_apply_ready(w->ap))))
            flush_cur(w);
        if (!w->cur.n && flush) {
            complete_fly(w); /* idle: settle the batch in flight now */
            maybe_reconcile(w, 0);
        }
        if (w->prog && now - last_tick >= 500) {
            last_tick = now;
            sluice_progress_tick(w->prog, last_tick);
        }
        if (w->exit_at_end && !w->cur.n && !w->fly.n && all_done(w)) {
            maybe_reconcile(w, 1);
            if (w->reconcile_pending)
                sluice_log(SLUICE_LOG_INFO, "%d snapshot reconcile(s) wait for partitions of other "
                                            "workers; the worker that applies them last runs them",
                           w->reconcile_pending);
            sluice_log(SLUICE_LOG_INFO, "every assigned partition is applied up to its end; exiting");
            break;
        }
        if (w->exit_at_end && !w->nas && now_ms() - last_wait_log > 10000) {
            last_wait_log = now_ms();
            sluice_log(SLUICE_LOG_INFO, "waiting for a partition assignment");
        }
    }
    /* drain: apply what is in hand, commit, then the caller leaves the group */
    if (!w->stopping)
        drain(w);
    else
        complete_fly(w);
    sluice_apply_discard(w->ap);
    batch_release(w, &w->fly);
    batch_release(w, &w->cur);
    batch_release(w, &w->stash);
    if (w->split_total)
        sluice_log(SLUICE_LOG_INFO, "applied %" PRIu64 " messages (%" PRIu64 " JSON values with "
                                    "schemas held split: their schema once, not per message)",
                   w->applied_total, w->split_total);
    else
        sluice_log(SLUICE_LOG_INFO, "applied %" PRIu64 " messages", w->applied_total);
    return w->exit_code;
}
