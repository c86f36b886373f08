/* Apply: one PostgreSQL transaction per batch, sent in pipeline mode —
 * BEGIN, the mirror's statements for every message, sluice.advance() for
 * every partition touched (the ledger, fenced on the offset this worker
 * holds), COMMIT. Decoding happens here, message by message, so a batch needs
 * one decoded event at a time. Retries and Kafka commits are the caller's. */
#include "sluice/apply.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/decode.h"
#include "sluice/event.h"
#include "sluice/mirror.h"
#include "sluice/observe.h"
#include "sluice/pg.h"
#include "sluice/route.h"
#include "strmap.h"

/* Results kept in flight before the client reads some back: bounds libpq's
 * buffers and avoids both sides blocking on full socket buffers. */
#define MAX_INFLIGHT 1024

typedef struct {
    char *topic;
    int32_t partition;
    int64_t held;    /* ledger offset this worker holds; -1: no ledger row */
    int64_t next;    /* during a batch: next offset after the last message */
    int touched;
} part_t;

typedef struct {
    int msg;  /* message index, or -1 */
    char what; /* 'B'egin, 'S'tatement, 'L'edger, 'C'ommit */
} cmd_t;

struct sluice_apply {
    const sluice_config_t *cfg;
    const char *group;
    sluice_pg_t *pg;
    sluice_mirror_t *mirror;
    sluice_decoder_t *dec;
    sluice_event_t ev;
    strmap_t targets; /* topic -> sluice_mirror_table_t* */
    part_t *parts;
    size_t nparts, capparts;
    cmd_t *cmds;
    size_t ncmds, capcmds, nread;
};

static part_t *part_find(sluice_apply_t *ap, const char *topic, int32_t partition, int create)
{
    size_t i;
    part_t *grown;

    for (i = 0; i < ap->nparts; i++)
        if (ap->parts[i].partition == partition && strcmp(ap->parts[i].topic, topic) == 0)
            return &ap->parts[i];
    if (!create)
        return NULL;
    if (ap->nparts == ap->capparts) {
        size_t cap = ap->capparts ? ap->capparts * 2 : 16;
        grown = realloc(ap->parts, cap * sizeof(*grown));
        if (!grown)
            return NULL;
        ap->parts = grown;
        ap->capparts = cap;
    }
    ap->parts[ap->nparts].topic = strdup(topic);
    if (!ap->parts[ap->nparts].topic)
        return NULL;
    ap->parts[ap->nparts].partition = partition;
    ap->parts[ap->nparts].held = -1;
    ap->parts[ap->nparts].next = -1;
    ap->parts[ap->nparts].touched = 0;
    return &ap->parts[ap->nparts++];
}

sluice_apply_t *sluice_apply_new(const sluice_config_t *cfg, sluice_err_t *err)
{
    sluice_apply_t *ap = calloc(1, sizeof(*ap));

    if (!ap) {
        sluice_err_set(err, SLUICE_ERR_FATAL, "apply: out of memory");
        return NULL;
    }
    ap->cfg = cfg;
    ap->group = sluice_config_kafka_get(cfg, "group.id");
    strmap_init(&ap->targets);
    sluice_event_init(&ap->ev);
    ap->dec = sluice_decoder_new(cfg, err);
    if (!ap->dec)
        goto fail;
    ap->mirror = sluice_mirror_new();
    if (!ap->mirror) {
        sluice_err_set(err, SLUICE_ERR_FATAL, "apply: out of memory");
        goto fail;
    }
    ap->pg = sluice_pg_connect(cfg->pg_conninfo, err);
    if (!ap->pg)
        goto fail;
    if (sluice_pg_migrate(ap->pg, err) < 0)
        goto fail;
    return ap;
fail:
    sluice_apply_destroy(ap);
    return NULL;
}

void sluice_apply_destroy(sluice_apply_t *ap)
{
    size_t i;

    if (!ap)
        return;
    sluice_pg_destroy(ap->pg);
    sluice_mirror_destroy(ap->mirror);
    sluice_decoder_destroy(ap->dec);
    sluice_event_cleanup(&ap->ev);
    strmap_cleanup(&ap->targets, NULL);
    for (i = 0; i < ap->nparts; i++)
        free(ap->parts[i].topic);
    free(ap->parts);
    free(ap->cmds);
    free(ap);
}

int sluice_apply_reconnect(sluice_apply_t *ap, sluice_err_t *err)
{
    sluice_mirror_reset_statements(ap->mirror);
    return sluice_pg_reconnect(ap->pg, err);
}

int sluice_apply_ledger_load(sluice_apply_t *ap, const char *topic, const int32_t *partitions,
                             size_t n, int64_t *offsets, sluice_err_t *err)
{
    size_t i;

    for (i = 0; i < n; i++) {
        char ptext[16];
        const char *params[3] = {ap->group, topic, ptext};
        PGresult *res;
        part_t *p;

        snprintf(ptext, sizeof(ptext), "%" PRId32, partitions[i]);
        res = PQexecParams(ap->pg->conn,
                           "SELECT next_offset FROM sluice.offsets "
                           "WHERE group_id = $1 AND topic = $2 AND partition = $3",
                           3, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            sluice_pg_result_err(ap->pg, res, "apply: reading the ledger sluice.offsets", err);
            PQclear(res);
            return -1;
        }
        offsets[i] = PQntuples(res) ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : -1;
        PQclear(res);
        p = part_find(ap, topic, partitions[i], 1);
        if (!p)
            return sluice_err_set(err, SLUICE_ERR_FATAL, "apply: out of memory");
        p->held = offsets[i];
    }
    return 0;
}

void sluice_apply_forget(sluice_apply_t *ap, const char *topic, int32_t partition)
{
    part_t *p = part_find(ap, topic, partition, 0);

    if (!p)
        return;
    free(p->topic);
    *p = ap->parts[--ap->nparts];
}

static int cmd_push(sluice_apply_t *ap, int msg, char what)
{
    if (ap->ncmds == ap->capcmds) {
        size_t cap = ap->capcmds ? ap->capcmds * 2 : 1024;
        cmd_t *grown = realloc(ap->cmds, cap * sizeof(*grown));
        if (!grown)
            return -1;
        ap->cmds = grown;
        ap->capcmds = cap;
    }
    ap->cmds[ap->ncmds].msg = msg;
    ap->cmds[ap->ncmds].what = what;
    ap->ncmds++;
    return 0;
}

/* Outcome of reading results back. */
typedef struct {
    int failed;        /* a command failed */
    size_t failed_cmd; /* which */
    sluice_err_t err;
    int moved;         /* SQLSTATE SL001 */
    int lost;          /* connection lost while reading */
} readback_t;

/* Reads the results of commands [ap->nread, upto). */
static void read_results(sluice_apply_t *ap, size_t upto, readback_t *rb)
{
    while (ap->nread < upto) {
        PGresult *res = PQgetResult(ap->pg->conn);
        ExecStatusType st;

        if (!res) {
            /* every command's results end with NULL; a NULL first means the
             * connection broke */
            if (PQstatus(ap->pg->conn) != CONNECTION_OK) {
                rb->lost = 1;
                if (!rb->failed) {
                    rb->failed = 1;
                    rb->failed_cmd = ap->nread;
                    sluice_pg_result_err(ap->pg, NULL, "postgres", &rb->err);
                }
                ap->nread = upto;
                return;
            }
            continue;
        }
        st = PQresultStatus(res);
        if (st == PGRES_FATAL_ERROR && !rb->failed) {
            const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            rb->failed = 1;
            rb->failed_cmd = ap->nread;
            rb->moved = state && strcmp(state, SLUICE_SQLSTATE_LEDGER_MOVED) == 0;
            sluice_pg_result_err(ap->pg, res, "postgres", &rb->err);
        }
        PQclear(res);
        if (st == PGRES_PIPELINE_SYNC) /* not expected here */
            continue;
        /* consume the NULL that ends this command's results */
        res = PQgetResult(ap->pg->conn);
        while (res) {
            PQclear(res);
            res = PQgetResult(ap->pg->conn);
        }
        ap->nread++;
    }
}

static int send_simple(sluice_apply_t *ap, const char *sql, int msg, char what)
{
    if (!PQsendQueryParams(ap->pg->conn, sql, 0, NULL, NULL, NULL, NULL, 0))
        return -1;
    return cmd_push(ap, msg, what);
}

static sluice_mirror_table_t *target_for(sluice_apply_t *ap, const char *topic, sluice_err_t *err)
{
    sluice_mirror_table_t *t = strmap_get(&ap->targets, topic, strlen(topic));
    sluice_target_t target;

    if (t)
        return t;
    if (sluice_route_target(ap->cfg, topic, &target, err) < 0)
        return NULL;
    t = sluice_mirror_table(ap->mirror, ap->pg, target.schema, target.table, err);
    sluice_target_cleanup(&target);
    if (t && strmap_put(&ap->targets, topic, strlen(topic), t) < 0) {
        sluice_err_set(err, SLUICE_ERR_FATAL, "apply: out of memory");
        return NULL;
    }
    return t;
}

static void msg_err(sluice_err_t *err, const sluice_msg_t *msg)
{
    sluice_err_prefix(err, "topic %s partition %" PRId32 " offset %" PRId64, msg->topic, msg->partition,
                      msg->offset);
}

static int decode(sluice_apply_t *ap, const sluice_msg_t *msg, sluice_err_t *err)
{
    sluice_event_t *ev = &ap->ev;

    sluice_event_reset(ev);
    ev->topic = msg->topic;
    ev->partition = msg->partition;
    ev->offset = msg->offset;
    if (msg->key && msg->key_len &&
        sluice_decoder_key(ap->dec, msg->key, msg->key_len, ev, err) < 0) {
        sluice_err_prefix(err, "decoding the record key");
        return -1;
    }
    if (!msg->value) {
        ev->op = SLUICE_OP_TOMBSTONE;
        return 0;
    }
    if (sluice_decoder_value(ap->dec, msg->value, msg->value_len, ev, err) < 0) {
        sluice_err_prefix(err, "decoding the record value");
        return -1;
    }
    return 0;
}

/* Ends the pipeline: reads everything, leaves pipeline mode, rolls back an
 * open or failed transaction. */
static void finish_pipeline(sluice_apply_t *ap, readback_t *rb, int synced)
{
    PGresult *res;

    if (!rb->lost) {
        read_results(ap, ap->ncmds, rb);
        if (synced && !rb->lost) {
            /* the PGRES_PIPELINE_SYNC result */
            while ((res = PQgetResult(ap->pg->conn)) != NULL) {
                ExecStatusType st = PQresultStatus(res);
                PQclear(res);
                if (st == PGRES_PIPELINE_SYNC)
                    break;
            }
        }
    }
    if (PQpipelineStatus(ap->pg->conn) != PQ_PIPELINE_OFF)
        PQexitPipelineMode(ap->pg->conn);
    if (PQstatus(ap->pg->conn) == CONNECTION_OK &&
        PQtransactionStatus(ap->pg->conn) != PQTRANS_IDLE) {
        PQclear(PQexec(ap->pg->conn, "ROLLBACK"));
    }
    if (rb->failed && PQstatus(ap->pg->conn) == CONNECTION_OK) {
        /* statements prepared in an aborted pipeline may or may not exist */
        PQclear(PQexec(ap->pg->conn, "DEALLOCATE ALL"));
        sluice_mirror_reset_statements(ap->mirror);
    } else if (rb->failed) {
        sluice_mirror_reset_statements(ap->mirror);
    }
}

/* One attempt at msgs[0, n). On a message that cannot be decoded or routed,
 * applies the messages before it and reports it as *stop. */
static int apply_once(sluice_apply_t *ap, const sluice_msg_t *msgs, size_t n, size_t *stop,
                      sluice_err_t *stop_err, readback_t *rb)
{
    size_t i, end = n;
    int synced = 0;

    *stop = n;
    ap->ncmds = 0;
    ap->nread = 0;
    memset(rb, 0, sizeof(*rb));
    for (i = 0; i < ap->nparts; i++)
        ap->parts[i].touched = 0;

    /* Tables first, synchronously: catalog lookups cannot run inside the
     * pipeline. A topic that cannot be routed stops the batch there. */
    for (i = 0; i < n; i++) {
        sluice_err_t terr;
        sluice_err_clear(&terr);
        if (!msgs[i].value)
            continue;
        if (!target_for(ap, msgs[i].topic, &terr)) {
            if (terr.cls != SLUICE_ERR_PERMANENT) {
                rb->failed = 1;
                rb->err = terr;
                rb->failed_cmd = (size_t)-1;
                return -1;
            }
            *stop = end = i;
            *stop_err = terr;
            break;
        }
    }

    if (!PQenterPipelineMode(ap->pg->conn) || send_simple(ap, "BEGIN", -1, 'B') < 0)
        goto send_failed;
    for (i = 0; i < end; i++) {
        const sluice_msg_t *msg = &msgs[i];
        part_t *p = part_find(ap, msg->topic, msg->partition, 1);
        int nres = 0, k;
        sluice_err_t eerr;

        if (!p)
            goto send_failed;
        sluice_err_clear(&eerr);
        if (decode(ap, msg, &eerr) < 0 ||
            (msg->value && sluice_mirror_send(ap->mirror, ap->pg,
                                              strmap_get(&ap->targets, msg->topic, strlen(msg->topic)),
                                              &ap->ev, &nres, &eerr) < 0)) {
            if (eerr.cls != SLUICE_ERR_PERMANENT) {
                rb->failed = 1;
                rb->err = eerr;
                rb->failed_cmd = ap->ncmds;
                /* what was queued must reach the server before its results
                 * can be read back (the transaction is then rolled back) */
                finish_pipeline(ap, rb, PQpipelineSync(ap->pg->conn) == 1);
                return -1;
            }
            *stop = end = i;
            *stop_err = eerr;
            /* a prepared statement may have been queued for the failing
             * event; its result must still be read */
            break;
        }
        for (k = 0; k < nres; k++)
            if (cmd_push(ap, (int)i, 'S') < 0)
                goto send_failed;
        p->touched = 1;
        p->next = msg->offset + 1;
        if (ap->ncmds - ap->nread > MAX_INFLIGHT) {
            PQsendFlushRequest(ap->pg->conn);
            PQflush(ap->pg->conn);
            read_results(ap, ap->ncmds - MAX_INFLIGHT / 2, rb);
            if (rb->failed)
                break;
        }
    }
    if (!rb->failed) {
        for (i = 0; i < ap->nparts; i++) {
            part_t *p = &ap->parts[i];
            char held[24], next[24], part[16];
            const char *params[5];
            if (!p->touched)
                continue;
            snprintf(held, sizeof(held), "%" PRId64, p->held);
            snprintf(next, sizeof(next), "%" PRId64, p->next);
            snprintf(part, sizeof(part), "%" PRId32, p->partition);
            params[0] = ap->group;
            params[1] = p->topic;
            params[2] = part;
            params[3] = p->held < 0 ? NULL : held;
            params[4] = next;
            if (!PQsendQueryParams(ap->pg->conn, "SELECT sluice.advance($1, $2, $3, $4, $5)", 5, NULL,
                                   params, NULL, NULL, 0) ||
                cmd_push(ap, -1, 'L') < 0)
                goto send_failed;
        }
        if (send_simple(ap, "COMMIT", -1, 'C') < 0)
            goto send_failed;
    }
    if (!PQpipelineSync(ap->pg->conn))
        goto send_failed;
    synced = 1;
    finish_pipeline(ap, rb, synced);
    if (rb->failed)
        return -1;
    for (i = 0; i < ap->nparts; i++)
        if (ap->parts[i].touched)
            ap->parts[i].held = ap->parts[i].next;
    return 0;

send_failed:
    if (!rb->failed) {
        rb->failed = 1;
        rb->failed_cmd = ap->ncmds;
        sluice_pg_result_err(ap->pg, NULL, "postgres: sending the batch", &rb->err);
    }
    finish_pipeline(ap, rb, synced);
    return -1;
}

int sluice_apply_batch(sluice_apply_t *ap, const sluice_msg_t *msgs, size_t n,
                       sluice_apply_result_t *res, sluice_err_t *err)
{
    size_t stop;
    sluice_err_t stop_err;
    readback_t rb;

    res->applied = 0;
    res->poison = 0;
    sluice_err_clear(&stop_err);
    if (apply_once(ap, msgs, n, &stop, &stop_err, &rb) == 0) {
        res->applied = stop;
        if (stop < n) {
            res->poison = 1;
            *err = stop_err;
            msg_err(err, &msgs[stop]);
        }
        return 0;
    }
    if (rb.moved) {
        *err = rb.err;
        return SLUICE_APPLY_MOVED;
    }
    if (rb.failed_cmd < ap->ncmds && ap->cmds[rb.failed_cmd].msg >= 0 &&
        rb.err.cls == SLUICE_ERR_PERMANENT) {
        /* One message's statement was refused (bad data, constraint): apply
         * the messages before it, then report it. */
        size_t bad = (size_t)ap->cmds[rb.failed_cmd].msg;
        sluice_err_t bad_err = rb.err;

        msg_err(&bad_err, &msgs[bad]);
        if (bad > 0) {
            if (apply_once(ap, msgs, bad, &stop, &stop_err, &rb) < 0) {
                *err = rb.err;
                return rb.moved ? SLUICE_APPLY_MOVED : -1;
            }
            if (stop < bad) { /* an earlier message is poison after all */
                res->applied = stop;
                res->poison = 1;
                *err = stop_err;
                msg_err(err, &msgs[stop]);
                return 0;
            }
        }
        res->applied = bad;
        res->poison = 1;
        *err = bad_err;
        return 0;
    }
    *err = rb.err;
    if (err->cls == SLUICE_ERR_PERMANENT || err->cls == SLUICE_ERR_NONE)
        err->cls = SLUICE_ERR_FATAL; /* not tied to a message: BEGIN/ledger/COMMIT */
    return -1;
}
