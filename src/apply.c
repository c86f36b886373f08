/* Apply: one PostgreSQL transaction per batch, sent in pipeline mode —
 * BEGIN, the handlers' statements, sluice.advance() for every partition the
 * batch touched (the ledger, fenced on the offset this worker holds),
 * COMMIT. Three ways to build a batch, same effect:
 *  - fast: mirror only; events are decoded and folded per key while the
 *    previous batch runs, then sent as a few multi-row statements;
 *  - ordered: custom handlers (or events the mirror cannot fold) run event
 *    by event in partition order at send time;
 *  - precise: every event gets its own statements, so a statement that fails
 *    names its message (used to find a poison message).
 * Retries, backoff and Kafka commits are the caller's. */
#include "sluice/apply.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/decode.h"
#include "sluice/decode_json.h"
#include "sluice/event.h"
#include "sluice/mirror.h"
#include "sluice/observe.h"
#include "sluice/pg.h"
#include "sluice/reconcile.h"
#include "sluice/route.h"
#include "sluice/types.h"
#include "strmap.h"

/* Results kept in flight before the client reads some back: bounds libpq's
 * buffers and avoids both sides blocking on full socket buffers. */
#define MAX_INFLIGHT 1024

typedef enum { MODE_FAST, MODE_ORDERED, MODE_PRECISE } mode_t_;

typedef struct {
    char *topic;
    int32_t partition;
    int64_t held; /* ledger offset this worker holds; -1: no ledger row */
} part_t;

typedef struct {
    const char *topic; /* borrowed from the batch's messages */
    int32_t partition;
    int64_t next;
    int64_t held; /* at send time */
} lentry_t;

typedef struct {
    int msg;   /* message index, or -1 */
    char what; /* 'B'egin, 'S'tatement, 'L'edger, 'C'ommit, 'H'andler sync */
} cmd_t;

typedef struct {
    int failed;
    size_t failed_cmd; /* (size_t)-1: not a command (handler, decode) */
    int failed_msg;    /* message at fault, -1 if none */
    sluice_err_t err;
    int moved; /* SQLSTATE SL001 */
    int lost;  /* connection lost */
    const char *stage;
    const char *handler;
} readback_t;

typedef struct {
    const sluice_msg_t *msgs;
    size_t n;
    size_t end; /* [0, end) belong to the batch; end < n: msgs[end] is poison */
    sluice_err_t end_err;
    const char *end_stage;
    mode_t_ mode;
    lentry_t *ledger;
    size_t nledger, capledger;
} batch_t;

struct sluice_ctx {
    sluice_apply_t *ap;
    int msg;
    int failed;
    sluice_err_t err;
};

struct sluice_apply {
    const sluice_config_t *cfg;
    const char *group;
    sluice_pg_t *pg;   /* batches */
    sluice_pg_t *meta; /* catalog lookups and ledger reads, usable while a batch runs */
    sluice_mirror_t *mirror;
    sluice_router_t *router;
    sluice_decoder_t *dec;
    sluice_event_t ev;
    strmap_t targets; /* topic -> sluice_mirror_table_t* */
    strmap_t excluded; /* topic -> memo of excluded() */
    part_t *parts;
    size_t nparts, capparts;

    int prepared; /* prep holds a batch ready to send */
    int inflight; /* fly has been sent; wait() reads its outcome */
    int finished; /* fly's pipeline has been read to the end */
    batch_t prep, fly;
    cmd_t *cmds;
    size_t ncmds, capcmds, nread;
    int synced;
    readback_t rb;
    sluice_ctx_t ctx;
    int evolve;    /* mirror.schema_evolution = basic */
    int no_ledger; /* sluice_apply_set_ledger(ap, 0) */
    unsigned long snapshot_ends; /* seen by sluice_apply_snapshot_ended */
};

/* ---- partitions and the ledger ------------------------------------------ */

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
    return &ap->parts[ap->nparts++];
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
        res = PQexecParams(ap->meta->conn,
                           "SELECT next_offset FROM sluice.offsets "
                           "WHERE group_id = $1 AND topic = $2 AND partition = $3",
                           3, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            sluice_pg_result_err(ap->meta, res, "apply: reading the ledger sluice.offsets", err);
            PQclear(res);
            if (PQstatus(ap->meta->conn) != CONNECTION_OK) {
                sluice_err_t rerr;
                sluice_pg_reconnect(ap->meta, &rerr);
            }
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

static int ledger_note(batch_t *b, const sluice_msg_t *msg)
{
    size_t i;

    for (i = b->nledger; i-- > 0;) {
        lentry_t *e = &b->ledger[i];
        if (e->partition == msg->partition && strcmp(e->topic, msg->topic) == 0) {
            e->next = msg->offset + 1;
            return 0;
        }
    }
    if (b->nledger == b->capledger) {
        size_t cap = b->capledger ? b->capledger * 2 : 16;
        lentry_t *grown = realloc(b->ledger, cap * sizeof(*grown));
        if (!grown)
            return -1;
        b->ledger = grown;
        b->capledger = cap;
    }
    b->ledger[b->nledger].topic = msg->topic;
    b->ledger[b->nledger].partition = msg->partition;
    b->ledger[b->nledger].next = msg->offset + 1;
    b->ledger[b->nledger].held = -1;
    b->nledger++;
    return 0;
}

static void batch_reset(batch_t *b, const sluice_msg_t *msgs, size_t n, mode_t_ mode)
{
    b->msgs = msgs;
    b->n = n;
    b->end = n;
    b->end_stage = NULL;
    sluice_err_clear(&b->end_err);
    b->mode = mode;
    b->nledger = 0;
}

/* ---- life cycle ----------------------------------------------------------- */

sluice_apply_t *sluice_apply_new(const sluice_config_t *cfg, const sluice_handler_t *handlers,
                                 size_t nhandlers, sluice_err_t *err)
{
    sluice_apply_t *ap = calloc(1, sizeof(*ap));

    if (!ap) {
        sluice_err_set(err, SLUICE_ERR_FATAL, "apply: out of memory");
        return NULL;
    }
    ap->cfg = cfg;
    ap->group = sluice_config_kafka_get(cfg, "group.id");
    strmap_init(&ap->targets);
    strmap_init(&ap->excluded);
    sluice_event_init(&ap->ev);
    ap->dec = sluice_decoder_new(cfg, err);
    if (!ap->dec)
        goto fail;
    {
        sluice_mirror_opts_t mo;
        int bin = sluice_binary_mode_parse(cfg->binary_mode);
        memset(&mo, 0, sizeof(mo));
        mo.truncate = cfg->mirror_truncate;
        mo.soft_delete = cfg->mirror_delete_mode && !strcmp(cfg->mirror_delete_mode, "soft");
        mo.evolve = cfg->mirror_schema_evolution && !strcmp(cfg->mirror_schema_evolution, "basic");
        mo.keyless_all = cfg->mirror_keyless && !strcmp(cfg->mirror_keyless, "all_columns");
        mo.binary_mode = bin < 0 ? 0 : bin;
        mo.reconcile = cfg->mirror_reconcile;
        mo.group = ap->group;
        ap->evolve = mo.evolve;
        ap->mirror = sluice_mirror_new(&mo);
    }
    if (!ap->mirror) {
        sluice_err_set(err, SLUICE_ERR_FATAL, "apply: out of memory");
        goto fail;
    }
    ap->pg = sluice_pg_connect(cfg->pg_conninfo, err);
    if (!ap->pg)
        goto fail;
    if (sluice_pg_migrate(ap->pg, err) < 0)
        goto fail;
    ap->meta = sluice_pg_connect(cfg->pg_conninfo, err);
    if (!ap->meta)
        goto fail;
    ap->router = sluice_router_new(cfg, handlers, nhandlers, err);
    if (!ap->router)
        goto fail;
    ap->ctx.ap = ap;
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
    sluice_router_destroy(ap->router);
    sluice_pg_destroy(ap->meta);
    sluice_pg_destroy(ap->pg);
    sluice_mirror_destroy(ap->mirror);
    sluice_decoder_destroy(ap->dec);
    sluice_event_cleanup(&ap->ev);
    strmap_cleanup(&ap->targets, NULL);
    strmap_cleanup(&ap->excluded, NULL);
    for (i = 0; i < ap->nparts; i++)
        free(ap->parts[i].topic);
    free(ap->parts);
    free(ap->cmds);
    free(ap->prep.ledger);
    free(ap->fly.ledger);
    free(ap);
}

int sluice_apply_reconnect(sluice_apply_t *ap, sluice_err_t *err)
{
    sluice_mirror_discard(ap->mirror);
    sluice_mirror_reset_statements(ap->mirror);
    ap->prepared = 0;
    ap->inflight = 0;
    if (PQstatus(ap->meta->conn) != CONNECTION_OK && sluice_pg_reconnect(ap->meta, err) < 0)
        return -1;
    return sluice_pg_reconnect(ap->pg, err);
}

int sluice_apply_prepared(const sluice_apply_t *ap)
{
    return ap->prepared;
}

int sluice_apply_inflight(const sluice_apply_t *ap)
{
    return ap->inflight;
}

int sluice_apply_ready(sluice_apply_t *ap)
{
    if (!ap->inflight || ap->finished)
        return 1;
    if (!PQconsumeInput(ap->pg->conn))
        return 1; /* broken: wait() will say so at once */
    return !PQisBusy(ap->pg->conn);
}

/* ---- decoding and routing --------------------------------------------- */

static void msg_err(sluice_err_t *err, const sluice_msg_t *msg)
{
    sluice_err_prefix(err, "topic %s partition %" PRId32 " offset %" PRId64, msg->topic, msg->partition,
                      msg->offset);
}

size_t sluice_msg_joined(const char *schema, size_t schema_len, const void *part, size_t len,
                         void *out)
{
    if (!schema) {
        if (out && len)
            memcpy(out, part, len);
        return len;
    }
    if (out)
        sluice_json_envelope_join(out, schema, schema_len, part, len);
    return sluice_json_envelope_size(schema_len, len);
}

static int decode(sluice_apply_t *ap, const sluice_msg_t *msg, sluice_err_t *err)
{
    sluice_event_t *ev = &ap->ev;

    sluice_event_reset(ev);
    ev->topic = msg->topic;
    ev->partition = msg->partition;
    ev->offset = msg->offset;
    if (msg->key && msg->key_len &&
        (msg->key_schema ? sluice_decoder_key_split(ap->dec, msg->key_schema, msg->key_schema_len,
                                                    msg->key, msg->key_len, ev, err)
                         : sluice_decoder_key(ap->dec, msg->key, msg->key_len, ev, err)) < 0) {
        sluice_err_prefix(err, "decoding the record key");
        return -1;
    }
    if (!msg->value) {
        /* after ExtractNewRecordState with deletes as tombstones, a
         * tombstone is the delete itself (by key, with no position) */
        ev->op = ap->cfg->unwrap && ev->key.present ? SLUICE_OP_DELETE : SLUICE_OP_TOMBSTONE;
        return 0;
    }
    if ((msg->schema ? sluice_decoder_value_split(ap->dec, msg->schema, msg->schema_len,
                                                  msg->value, msg->value_len, ev, err)
                     : sluice_decoder_value(ap->dec, msg->value, msg->value_len, ev, err)) < 0) {
        sluice_err_prefix(err, "decoding the record value");
        return -1;
    }
    return 0;
}

/* The mirror's table for a topic, looked up on the catalog connection. */
/* Whether the connectors' exclude lists leave topic out (its messages only
 * advance offsets). The patterns are matched once per topic, not per message. */
static int excluded(sluice_apply_t *ap, const char *topic)
{
    static const char yes = 'y', no = 'n';
    size_t len = strlen(topic);
    const char *memo = strmap_get(&ap->excluded, topic, len);

    if (!memo) {
        memo = sluice_config_topic_excluded(ap->cfg, topic) ? &yes : &no;
        if (strmap_put(&ap->excluded, topic, len, (void *)memo) < 0)
            return memo == &yes; /* out of memory: match again next time */
    }
    return memo == &yes;
}

static sluice_mirror_table_t *target_for(sluice_apply_t *ap, const char *topic, sluice_err_t *err)
{
    sluice_mirror_table_t *t = strmap_get(&ap->targets, topic, strlen(topic));
    sluice_target_t target;

    if (t)
        return t;
    if (sluice_route_target(ap->cfg, topic, &target, err) < 0)
        return NULL;
    t = sluice_mirror_table(ap->mirror, ap->meta, target.schema, target.table, err);
    sluice_target_cleanup(&target);
    if (t && strmap_put(&ap->targets, topic, strlen(topic), t) < 0) {
        sluice_err_set(err, SLUICE_ERR_FATAL, "apply: out of memory");
        return NULL;
    }
    return t;
}

/* ---- prepare (fast path) ---------------------------------------------------- */

/* With mirror.schema_evolution = basic: lets the mirror create or widen the
 * topic's table for ev. 1 when it changed something. */
static int evolve_for(sluice_apply_t *ap, const char *topic, sluice_err_t *err)
{
    sluice_target_t target;
    int rc;

    if (!ap->evolve)
        return 0;
    if (sluice_route_target(ap->cfg, topic, &target, err) < 0)
        return -1;
    rc = sluice_mirror_evolve(ap->mirror, ap->meta, target.schema, target.table, &ap->ev, err);
    sluice_target_cleanup(&target);
    return rc;
}

/* Decodes every message; for the mirror either folds it (fast) or, once a
 * custom handler or an unfoldable event shows up, only checks that its table
 * can take it (ordered: applied at send time). Tables are created or widened
 * here, before any batch transaction, when schema evolution is on. */
int sluice_apply_prepare(sluice_apply_t *ap, const sluice_msg_t *msgs, size_t n, sluice_err_t *err)
{
    batch_t *b = &ap->prep;
    size_t i;
    int evolutions = 0;

restart:
    sluice_apply_discard(ap);
    batch_reset(b, msgs, n, MODE_FAST);
    for (i = 0; i < n; i++) {
        const sluice_msg_t *msg = &msgs[i];
        const sluice_route_entry_t *entries;
        size_t ne, k;
        sluice_err_t e;

        sluice_err_clear(&e);
        if (decode(ap, msg, &e) < 0) {
            if (e.cls != SLUICE_ERR_PERMANENT) {
                *err = e;
                msg_err(err, msg);
                sluice_mirror_discard(ap->mirror);
                return -1;
            }
            b->end = i;
            b->end_err = e;
            b->end_stage = "decode";
            break;
        }
        if (sluice_router_match(ap->router, &ap->ev, &entries, &ne) < 0) {
            sluice_mirror_discard(ap->mirror);
            return sluice_err_set(err, SLUICE_ERR_FATAL, "apply: out of memory");
        }
        if (excluded(ap, msg->topic))
            ne = 0; /* a table the connector's exclude lists leave out: offsets only */
        for (k = 0; k < ne; k++) {
            sluice_mirror_table_t *t;
            const char *stage = "route";
            int rc = 0;
            if (!entries[k].is_mirror) {
                /* business logic runs event by event at send time */
                if (b->mode == MODE_FAST) {
                    sluice_mirror_discard(ap->mirror);
                    b->mode = MODE_ORDERED;
                }
                continue;
            }
            t = target_for(ap, msg->topic, &e);
            if (t) {
                stage = "apply";
                if (b->mode == MODE_FAST) {
                    rc = sluice_mirror_add(ap->mirror, t, &ap->ev, &e);
                    if (rc > 0) { /* cannot fold: apply this batch in order */
                        sluice_mirror_discard(ap->mirror);
                        b->mode = MODE_ORDERED;
                        rc = 0;
                    }
                } else {
                    rc = sluice_mirror_check(ap->mirror, t, &ap->ev, &e);
                }
            }
            if (!t || rc < 0) {
                if (e.cls == SLUICE_ERR_PERMANENT && ap->evolve) {
                    sluice_err_t ee;
                    int ev_rc;
                    sluice_err_clear(&ee);
                    sluice_mirror_discard(ap->mirror);
                    ev_rc = evolve_for(ap, msg->topic, &ee);
                    if (ev_rc > 0 && ++evolutions < 64)
                        goto restart; /* the table changed: fold the batch again */
                    if (ev_rc < 0)
                        e = ee;
                }
                if (e.cls != SLUICE_ERR_PERMANENT) {
                    *err = e;
                    sluice_mirror_discard(ap->mirror);
                    return -1;
                }
                b->end = i;
                b->end_err = e;
                b->end_stage = stage;
                goto done;
            }
        }
        if (ledger_note(b, msg) < 0) {
            sluice_mirror_discard(ap->mirror);
            return sluice_err_set(err, SLUICE_ERR_FATAL, "apply: out of memory");
        }
    }
done:
    if (b->mode == MODE_ORDERED) {
        /* everything happens at send time, in order (a poison message is
         * found again there) */
        sluice_mirror_discard(ap->mirror);
        batch_reset(b, msgs, n, MODE_ORDERED);
    }
    ap->prepared = 1;
    return 0;
}

void sluice_apply_discard(sluice_apply_t *ap)
{
    if (!ap->prepared)
        return;
    sluice_mirror_discard(ap->mirror);
    ap->prepared = 0;
}

/* ---- the pipeline ------------------------------------------------------------ */

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

static int cmds_push(sluice_apply_t *ap, int n, int msg)
{
    while (n-- > 0)
        if (cmd_push(ap, msg, 'S') < 0)
            return -1;
    return 0;
}

static void rb_fail(readback_t *rb, size_t cmd, int msg, const sluice_err_t *err)
{
    if (rb->failed)
        return;
    rb->failed = 1;
    rb->failed_cmd = cmd;
    rb->failed_msg = msg;
    rb->err = *err;
}

/* Reads the results of commands [ap->nread, upto). */
static void read_results(sluice_apply_t *ap, size_t upto)
{
    readback_t *rb = &ap->rb;

    while (ap->nread < upto) {
        PGresult *res = PQgetResult(ap->pg->conn);
        ExecStatusType st;

        if (!res) {
            /* a command's results end with NULL; NULL first means the
             * connection broke */
            if (PQstatus(ap->pg->conn) != CONNECTION_OK) {
                sluice_err_t e;
                sluice_pg_result_err(ap->pg, NULL, "postgres", &e);
                rb->lost = 1;
                rb_fail(rb, ap->nread, ap->cmds[ap->nread].msg, &e);
                ap->nread = upto;
                return;
            }
            continue;
        }
        st = PQresultStatus(res);
        if (st == PGRES_TUPLES_OK && PQnfields(res) == 1 && PQntuples(res) == 1 &&
            strcmp(PQfname(res, 0), "sluice_toast_inserts") == 0) {
            unsigned long n = strtoul(PQgetvalue(res, 0, 0), NULL, 10);
            if (n) {
                sluice_mirror_count_toast_nulls(ap->mirror, n);
                sluice_log(SLUICE_LOG_WARN,
                           "mirror: %lu row(s) inserted with unchanged-TOAST columns set to NULL "
                           "(the rows did not exist yet; %lu so far)",
                           n, sluice_mirror_toast_nulls(ap->mirror));
            }
        }
        if (st == PGRES_FATAL_ERROR && !rb->failed) {
            const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            sluice_err_t e;
            sluice_pg_result_err(ap->pg, res, "postgres", &e);
            rb->moved = state && strcmp(state, SLUICE_SQLSTATE_LEDGER_MOVED) == 0;
            rb_fail(rb, ap->nread, ap->cmds[ap->nread].msg, &e);
        }
        PQclear(res);
        if (st == PGRES_PIPELINE_SYNC)
            continue; /* a handler's mid-batch sync, already accounted for */
        /* consume the NULL that ends this command's results */
        while ((res = PQgetResult(ap->pg->conn)) != NULL)
            PQclear(res);
        ap->nread++;
    }
}

static void read_sync(sluice_apply_t *ap)
{
    PGresult *res;

    while (!ap->rb.lost && (res = PQgetResult(ap->pg->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        PQclear(res);
        if (st == PGRES_PIPELINE_SYNC)
            return;
    }
    if (PQstatus(ap->pg->conn) != CONNECTION_OK && !ap->rb.failed) {
        sluice_err_t e;
        sluice_pg_result_err(ap->pg, NULL, "postgres", &e);
        ap->rb.lost = 1;
        rb_fail(&ap->rb, (size_t)-1, -1, &e);
    }
}

/* Ends the pipeline: reads everything, leaves pipeline mode, rolls back an
 * open or failed transaction. */
static void finish_pipeline(sluice_apply_t *ap)
{
    if (!ap->synced && PQpipelineStatus(ap->pg->conn) != PQ_PIPELINE_OFF)
        ap->synced = PQpipelineSync(ap->pg->conn) == 1;
    if (!ap->rb.lost) {
        read_results(ap, ap->ncmds);
        if (ap->synced)
            read_sync(ap);
    }
    if (PQpipelineStatus(ap->pg->conn) != PQ_PIPELINE_OFF)
        PQexitPipelineMode(ap->pg->conn);
    if (PQstatus(ap->pg->conn) == CONNECTION_OK && PQtransactionStatus(ap->pg->conn) != PQTRANS_IDLE)
        PQclear(PQexec(ap->pg->conn, "ROLLBACK"));
    if (ap->rb.failed) {
        /* statements prepared in an aborted pipeline may or may not exist */
        if (PQstatus(ap->pg->conn) == CONNECTION_OK)
            PQclear(PQexec(ap->pg->conn, "DEALLOCATE ALL"));
        sluice_mirror_reset_statements(ap->mirror);
    }
    ap->finished = 1;
}

static int send_simple(sluice_apply_t *ap, const char *sql, char what)
{
    if (!PQsendQueryParams(ap->pg->conn, sql, 0, NULL, NULL, NULL, NULL, 0))
        return -1;
    return cmd_push(ap, -1, what);
}

static int bound_inflight(sluice_apply_t *ap)
{
    if (ap->ncmds - ap->nread > MAX_INFLIGHT) {
        PQsendFlushRequest(ap->pg->conn);
        PQflush(ap->pg->conn);
        read_results(ap, ap->ncmds - MAX_INFLIGHT / 2);
    }
    return ap->rb.failed ? -1 : 0;
}

void sluice_apply_set_ledger(sluice_apply_t *ap, int on)
{
    ap->no_ledger = !on;
}

static int send_ledger_and_commit(sluice_apply_t *ap, batch_t *b)
{
    size_t i;

    for (i = 0; i < b->nledger && !ap->no_ledger; i++) {
        lentry_t *e = &b->ledger[i];
        part_t *p = part_find(ap, e->topic, e->partition, 1);
        char held[24], next[24], part[16];
        const char *params[5];

        if (!p)
            return -1;
        e->held = p->held;
        snprintf(held, sizeof(held), "%" PRId64, p->held);
        snprintf(next, sizeof(next), "%" PRId64, e->next);
        snprintf(part, sizeof(part), "%" PRId32, e->partition);
        params[0] = ap->group;
        params[1] = e->topic;
        params[2] = part;
        params[3] = p->held < 0 ? NULL : held;
        params[4] = next;
        if (!PQsendQueryParams(ap->pg->conn, "SELECT sluice.advance($1, $2, $3, $4, $5)", 5, NULL,
                               params, NULL, NULL, 0) ||
            cmd_push(ap, -1, 'L') < 0)
            return -1;
    }
    return send_simple(ap, "COMMIT", 'C');
}

/* Runs the handlers of one event at send time (ordered and precise modes).
 * Returns 0, or -1 when the batch must stop (rb says why). */
static int run_event(sluice_apply_t *ap, batch_t *b, size_t i)
{
    const sluice_msg_t *msg = &b->msgs[i];
    const sluice_route_entry_t *entries;
    size_t ne, k;
    sluice_err_t e;

    sluice_err_clear(&e);
    if (decode(ap, msg, &e) < 0) {
        if (e.cls == SLUICE_ERR_PERMANENT) {
            b->end = i;
            b->end_err = e;
            b->end_stage = "decode";
            return 1; /* stop here; commit the messages before it */
        }
        msg_err(&e, msg);
        rb_fail(&ap->rb, (size_t)-1, (int)i, &e);
        return -1;
    }
    if (sluice_router_match(ap->router, &ap->ev, &entries, &ne) < 0) {
        sluice_err_set(&e, SLUICE_ERR_FATAL, "apply: out of memory");
        rb_fail(&ap->rb, (size_t)-1, -1, &e);
        return -1;
    }
    if (excluded(ap, msg->topic))
        ne = 0;
    for (k = 0; k < ne; k++) {
        if (entries[k].is_mirror) {
            sluice_mirror_table_t *t = target_for(ap, msg->topic, &e);
            int nres = 0, rc = -1;
            if (t && b->mode == MODE_ORDERED) {
                rc = sluice_mirror_add(ap->mirror, t, &ap->ev, &e);
                if (rc > 0) {
                    /* cannot fold: what is folded for t goes first, then
                     * this event on its own */
                    rc = sluice_mirror_flush(ap->mirror, ap->pg, t, &nres, &e);
                    if (rc == 0 && cmds_push(ap, nres, -1) == 0)
                        rc = 1;
                }
            }
            if (t && (b->mode == MODE_PRECISE || rc > 0)) {
                nres = 0;
                rc = sluice_mirror_send(ap->mirror, ap->pg, t, &ap->ev, &nres, &e);
                if (rc == 0 && cmds_push(ap, nres, (int)i) < 0)
                    rc = -1;
            }
            if (rc < 0) {
                if (e.cls == SLUICE_ERR_PERMANENT) {
                    b->end = i;
                    b->end_err = e;
                    b->end_stage = t ? "apply" : "route";
                    return 1;
                }
                if (!e.msg[0])
                    sluice_err_set(&e, SLUICE_ERR_FATAL, "apply: out of memory");
                rb_fail(&ap->rb, (size_t)-1, (int)i, &e);
                return -1;
            }
        } else {
            sluice_handler_rc_t hrc;
            ap->ctx.msg = (int)i;
            ap->ctx.failed = 0;
            sluice_err_clear(&ap->ctx.err);
            hrc = entries[k].h->fn(&ap->ev, &ap->ctx, entries[k].state);
            if (hrc == SLUICE_HANDLER_OK && ap->ctx.failed)
                hrc = ap->ctx.err.cls == SLUICE_ERR_TRANSIENT ? SLUICE_HANDLER_RETRY
                                                              : SLUICE_HANDLER_REJECT;
            if (hrc != SLUICE_HANDLER_OK) {
                e = ap->ctx.err;
                if (!e.msg[0])
                    sluice_err_set(&e, SLUICE_ERR_PERMANENT, "handler returned %s without a reason",
                                   hrc == SLUICE_HANDLER_RETRY ? "RETRY" : "REJECT");
                e.cls = hrc == SLUICE_HANDLER_RETRY ? SLUICE_ERR_TRANSIENT : SLUICE_ERR_PERMANENT;
                sluice_err_prefix(&e, "handler %s", entries[k].h->name);
                if (hrc == SLUICE_HANDLER_RETRY)
                    msg_err(&e, msg);
                rb_fail(&ap->rb, (size_t)-1, (int)i, &e);
                ap->rb.stage = "handler";
                ap->rb.handler = entries[k].h->name;
                return -1;
            }
        }
    }
    if (ledger_note(b, msg) < 0) {
        sluice_err_set(&e, SLUICE_ERR_FATAL, "apply: out of memory");
        rb_fail(&ap->rb, (size_t)-1, -1, &e);
        return -1;
    }
    return bound_inflight(ap);
}

int sluice_apply_send(sluice_apply_t *ap, sluice_err_t *err)
{
    batch_t tmp;
    batch_t *b;
    size_t i;
    int nres = 0;
    sluice_err_t e;

    if (!ap->prepared || ap->inflight)
        return sluice_err_set(err, SLUICE_ERR_FATAL, "apply: no batch prepared, or one in flight");
    /* the prepared batch becomes the one in flight */
    tmp = ap->fly;
    ap->fly = ap->prep;
    ap->prep = tmp;
    b = &ap->fly;
    ap->prepared = 0;
    ap->inflight = 1;
    ap->finished = 0;
    ap->ncmds = ap->nread = 0;
    ap->synced = 0;
    memset(&ap->rb, 0, sizeof(ap->rb));
    sluice_err_clear(&e);

    if (!PQenterPipelineMode(ap->pg->conn) || send_simple(ap, "BEGIN", 'B') < 0)
        goto send_failed;
    if (b->mode == MODE_FAST) {
        if (sluice_mirror_flush(ap->mirror, ap->pg, NULL, &nres, &e) < 0) {
            rb_fail(&ap->rb, (size_t)-1, -1, &e);
            goto fail;
        }
        if (cmds_push(ap, nres, -1) < 0)
            goto send_failed;
    } else {
        b->nledger = 0;
        for (i = 0; i < b->end; i++) {
            int rc = run_event(ap, b, i);
            if (rc > 0)
                break;
            if (rc < 0)
                goto fail;
        }
        if (sluice_mirror_flush(ap->mirror, ap->pg, NULL, &nres, &e) < 0) {
            rb_fail(&ap->rb, (size_t)-1, -1, &e);
            goto fail;
        }
        if (cmds_push(ap, nres, -1) < 0)
            goto send_failed;
    }
    if (send_ledger_and_commit(ap, b) < 0 || !PQpipelineSync(ap->pg->conn))
        goto send_failed;
    ap->synced = 1;
    PQflush(ap->pg->conn);
    return 0;

send_failed:
    sluice_pg_result_err(ap->pg, NULL, "postgres: sending the batch", &e);
    rb_fail(&ap->rb, (size_t)-1, -1, &e);
fail:
    finish_pipeline(ap);
    *err = ap->rb.err;
    return -1;
}

/* ---- handler context ----------------------------------------------------- */

PGresult *sluice_ctx_exec(sluice_ctx_t *ctx, const char *sql, int nparams, const char *const *params)
{
    sluice_apply_t *ap = ctx->ap;
    PGresult *res;
    int nres = 0;
    sluice_err_t e;

    if (ctx->failed)
        return NULL;
    /* everything earlier must have happened: the mirror's folded rows, then
     * a sync so the pipeline can be left (inside the open transaction) */
    sluice_err_clear(&e);
    if (sluice_mirror_flush(ap->mirror, ap->pg, NULL, &nres, &e) < 0 || cmds_push(ap, nres, -1) < 0 ||
        !PQpipelineSync(ap->pg->conn)) {
        if (!e.msg[0])
            sluice_pg_result_err(ap->pg, NULL, "postgres", &e);
        ctx->failed = 1;
        ctx->err = e;
        return NULL;
    }
    read_results(ap, ap->ncmds);
    read_sync(ap);
    if (ap->rb.failed) {
        ctx->failed = 1;
        ctx->err = ap->rb.err;
        return NULL;
    }
    PQexitPipelineMode(ap->pg->conn);
    res = PQexecParams(ap->pg->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        ctx->failed = 1;
        sluice_pg_result_err(ap->pg, res, "postgres", &ctx->err);
        PQclear(res);
        res = NULL;
    }
    if (!PQenterPipelineMode(ap->pg->conn) && !ctx->failed) {
        ctx->failed = 1;
        sluice_pg_result_err(ap->pg, NULL, "postgres", &ctx->err);
    }
    return res;
}

sluice_handler_rc_t sluice_ctx_failed(sluice_ctx_t *ctx)
{
    return ctx->err.cls == SLUICE_ERR_TRANSIENT ? SLUICE_HANDLER_RETRY : SLUICE_HANDLER_REJECT;
}

sluice_handler_rc_t sluice_ctx_reject(sluice_ctx_t *ctx, const char *fmt, ...)
{
    va_list ap;

    ctx->err.cls = SLUICE_ERR_PERMANENT;
    va_start(ap, fmt);
    vsnprintf(ctx->err.msg, sizeof(ctx->err.msg), fmt, ap);
    va_end(ap);
    return SLUICE_HANDLER_REJECT;
}

sluice_handler_rc_t sluice_ctx_retry(sluice_ctx_t *ctx, const char *fmt, ...)
{
    va_list ap;

    ctx->err.cls = SLUICE_ERR_TRANSIENT;
    va_start(ap, fmt);
    vsnprintf(ctx->err.msg, sizeof(ctx->err.msg), fmt, ap);
    va_end(ap);
    return SLUICE_HANDLER_RETRY;
}

/* ---- outcome --------------------------------------------------------------- */

static int run_sync(sluice_apply_t *ap, const sluice_msg_t *msgs, size_t n, mode_t_ mode,
                    sluice_apply_result_t *res, sluice_err_t *err)
{
    /* a batch prepared meanwhile is lost: its caller prepares it again */
    sluice_apply_discard(ap);
    batch_reset(&ap->prep, msgs, n, mode);
    ap->prepared = 1;
    if (sluice_apply_send(ap, err) < 0 && !ap->inflight)
        return -1;
    return sluice_apply_wait(ap, res, err);
}

int sluice_apply_wait(sluice_apply_t *ap, sluice_apply_result_t *res, sluice_err_t *err)
{
    batch_t *b = &ap->fly;
    const sluice_msg_t *msgs = b->msgs;
    size_t n = b->n, i;
    mode_t_ mode = b->mode;
    readback_t rb;

    res->applied = 0;
    res->poison = 0;
    res->stage = NULL;
    res->handler = NULL;
    if (!ap->inflight)
        return sluice_err_set(err, SLUICE_ERR_FATAL, "apply: no batch in flight");
    if (!ap->finished)
        finish_pipeline(ap);
    ap->inflight = 0;
    rb = ap->rb;

    if (!rb.failed) {
        for (i = 0; i < b->nledger && !ap->no_ledger; i++) {
            part_t *p = part_find(ap, b->ledger[i].topic, b->ledger[i].partition, 0);
            if (p)
                p->held = b->ledger[i].next;
        }
        res->applied = b->end;
        if (b->end < n) {
            res->poison = 1;
            res->stage = b->end_stage ? b->end_stage : "apply";
            *err = b->end_err;
            msg_err(err, &msgs[b->end]);
        }
        return 0;
    }
    if (rb.moved) {
        *err = rb.err;
        return SLUICE_APPLY_MOVED;
    }
    if (rb.err.cls == SLUICE_ERR_PERMANENT && rb.failed_msg >= 0) {
        /* One message was refused (bad data, constraint, handler reject):
         * apply the messages before it, then report it. */
        size_t bad = (size_t)rb.failed_msg;
        sluice_err_t bad_err = rb.err;
        const char *stage = rb.stage ? rb.stage : "apply", *handler = rb.handler;
        int rc;

        msg_err(&bad_err, &msgs[bad]);
        if (bad > 0) {
            rc = run_sync(ap, msgs, bad, mode == MODE_PRECISE ? MODE_PRECISE : MODE_ORDERED, res, err);
            if (rc != 0 || res->poison)
                return rc;
        }
        res->applied = bad;
        res->poison = 1;
        res->stage = stage;
        res->handler = handler;
        *err = bad_err;
        return 0;
    }
    if (rb.err.cls == SLUICE_ERR_PERMANENT && mode != MODE_PRECISE && !rb.lost) {
        /* a multi-row statement was refused: find the message event by event */
        sluice_log(SLUICE_LOG_INFO, "a batch statement was refused (%s); re-applying the batch event "
                                    "by event to find the message",
                   rb.err.msg);
        return run_sync(ap, msgs, n, MODE_PRECISE, res, err);
    }
    *err = rb.err;
    if (err->cls == SLUICE_ERR_PERMANENT || err->cls == SLUICE_ERR_NONE)
        err->cls = SLUICE_ERR_FATAL; /* not tied to a message: BEGIN/ledger/COMMIT */
    return -1;
}

int sluice_apply_snapshot_ended(sluice_apply_t *ap)
{
    unsigned long n = sluice_mirror_snapshot_ends(ap->mirror);
    int ended = n != ap->snapshot_ends;

    ap->snapshot_ends = n;
    return ended;
}

int sluice_apply_reconcile(sluice_apply_t *ap, rd_kafka_t *rk, int *pending, sluice_err_t *err)
{
    *pending = 0;
    if (ap->inflight || ap->no_ledger)
        return 0;
    return sluice_reconcile_run(ap->pg, rk, ap->group, pending, err);
}

int sluice_apply_skip(sluice_apply_t *ap, const sluice_msg_t *msg, sluice_err_t *err)
{
    part_t *p = part_find(ap, msg->topic, msg->partition, 1);
    char held[24], next[24], part[16];
    const char *params[5];
    PGresult *res;
    int rc = 0;

    if (!p)
        return sluice_err_set(err, SLUICE_ERR_FATAL, "apply: out of memory");
    if (ap->inflight)
        return sluice_err_set(err, SLUICE_ERR_FATAL, "apply: skip while a batch is in flight");
    snprintf(held, sizeof(held), "%" PRId64, p->held);
    snprintf(next, sizeof(next), "%" PRId64, msg->offset + 1);
    snprintf(part, sizeof(part), "%" PRId32, msg->partition);
    params[0] = ap->group;
    params[1] = msg->topic;
    params[2] = part;
    params[3] = p->held < 0 ? NULL : held;
    params[4] = next;
    /* one statement: its own transaction */
    res = PQexecParams(ap->pg->conn, "SELECT sluice.advance($1, $2, $3, $4, $5)", 5, NULL, params,
                       NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        sluice_pg_result_err(ap->pg, res, "apply: moving the ledger past a dead-lettered message", err);
        rc = state && strcmp(state, SLUICE_SQLSTATE_LEDGER_MOVED) == 0 ? SLUICE_APPLY_MOVED : -1;
        if (rc == -1 && err->cls == SLUICE_ERR_PERMANENT)
            err->cls = SLUICE_ERR_FATAL;
    } else {
        p->held = msg->offset + 1;
    }
    PQclear(res);
    return rc;
}

int sluice_apply_batch(sluice_apply_t *ap, const sluice_msg_t *msgs, size_t n,
                       sluice_apply_result_t *res, sluice_err_t *err)
{
    if (sluice_apply_prepare(ap, msgs, n, err) < 0)
        return -1;
    if (sluice_apply_send(ap, err) < 0 && !ap->inflight)
        return -1;
    return sluice_apply_wait(ap, res, err);
}
