/* mirror.reconcile_deletes, the part that runs after the batches: partition
 * ends for new notes, then the reconciles the ledger has made due (see
 * sluice/reconcile.h). */
#include "sluice/reconcile.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/buf.h"
#include "sluice/observe.h"

/* Rows to delete: not read by the snapshot $1 and not written by a change
 * newer than it (see sluice/reconcile.h). */
#define UNREAD                                                                                     \
    "t._sluice_snapshot IS DISTINCT FROM $1::bigint[] AND NOT coalesce(CASE "                      \
    "WHEN cardinality(t._sluice_pos) = 2 AND cardinality($1::bigint[]) = 2 "                       \
    "AND (t._sluice_pos[1] = 0 OR ($1::bigint[])[1] = 0) "                                         \
    "THEN t._sluice_pos[2] > ($1::bigint[])[2] ELSE t._sluice_pos > $1::bigint[] END, false)"

static int pg_fail(sluice_pg_t *pg, PGresult *res, const char *what, sluice_err_t *err)
{
    sluice_pg_result_err(pg, res, what, err);
    PQclear(res);
    return -1;
}

/* "{p0,p1,...}" and "{end0,end1,...}" for every partition of topic. */
static int partition_ends(rd_kafka_t *rk, const char *topic, sluice_buf_t *parts, sluice_buf_t *ends,
                          sluice_err_t *err)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t rerr;
    int i, rc = 0;

    if (!rkt)
        return sluice_err_set(err, SLUICE_ERR_TRANSIENT, "reconcile: topic %s: %s", topic,
                              rd_kafka_err2str(rd_kafka_last_error()));
    rerr = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    if (!rerr && (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt == 0))
        rerr = md->topic_cnt == 1 && md->topics[0].err ? md->topics[0].err
                                                       : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    if (rerr) {
        rc = sluice_err_set(err, SLUICE_ERR_TRANSIENT,
                            "reconcile: cannot read the partitions of %s: %s", topic,
                            rd_kafka_err2str(rerr));
        goto out;
    }
    sluice_buf_putc(parts, '{');
    sluice_buf_putc(ends, '{');
    for (i = 0; i < md->topics[0].partition_cnt; i++) {
        int32_t p = md->topics[0].partitions[i].id;
        int64_t low = 0, high = 0;
        rerr = rd_kafka_query_watermark_offsets(rk, topic, p, &low, &high, 10000);
        if (rerr) {
            rc = sluice_err_set(err, SLUICE_ERR_TRANSIENT, "reconcile: end offset of %s [%d]: %s",
                                topic, (int)p, rd_kafka_err2str(rerr));
            goto out;
        }
        sluice_buf_printf(parts, "%s%d", i ? "," : "", (int)p);
        sluice_buf_printf(ends, "%s%" PRId64, i ? "," : "", high);
    }
    if (sluice_buf_putc(parts, '}') < 0 || sluice_buf_putc(ends, '}') < 0)
        rc = sluice_err_set(err, SLUICE_ERR_FATAL, "reconcile: out of memory");
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return rc;
}

/* Step 3a: the partition ends of notes that have none yet. */
static int fill_ends(sluice_pg_t *pg, rd_kafka_t *rk, const char *group, sluice_err_t *err)
{
    const char *params[3] = {group, NULL, NULL};
    PGresult *res;
    int i, n, rc = 0;

    res = PQexecParams(pg->conn,
                       "SELECT id, topic, display, snapshot_pos::text, last_partition, last_offset "
                       "FROM sluice.reconcile WHERE group_id = $1 AND end_offsets IS NULL ORDER BY id",
                       1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return pg_fail(pg, res, "reconcile: reading sluice.reconcile", err);
    n = PQntuples(res);
    for (i = 0; i < n && rc == 0; i++) {
        sluice_buf_t parts, ends;
        PGresult *up;

        sluice_buf_init(&parts);
        sluice_buf_init(&ends);
        rc = partition_ends(rk, PQgetvalue(res, i, 1), &parts, &ends, err);
        if (rc == 0) {
            params[0] = PQgetvalue(res, i, 0);
            params[1] = parts.data;
            params[2] = ends.data;
            up = PQexecParams(pg->conn,
                              "UPDATE sluice.reconcile SET partitions = $2::integer[], "
                              "end_offsets = $3::bigint[] WHERE id = $1 AND end_offsets IS NULL",
                              3, NULL, params, NULL, NULL, 0);
            if (PQresultStatus(up) != PGRES_COMMAND_OK)
                rc = pg_fail(pg, up, "reconcile: updating sluice.reconcile", err);
            else
                PQclear(up);
        }
        if (rc == 0)
            sluice_log(SLUICE_LOG_INFO,
                       "reconcile: %s: full snapshot at position %s ended at %s [%s] offset %s; its "
                       "unread rows go once the group has applied %s up to %s (partitions %s)",
                       PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 1),
                       PQgetvalue(res, i, 4), PQgetvalue(res, i, 5), PQgetvalue(res, i, 1),
                       ends.data, parts.data);
        sluice_buf_cleanup(&parts);
        sluice_buf_cleanup(&ends);
    }
    PQclear(res);
    return rc;
}

/* Step 3b for one due note: claims it (deleting it) and reconciles its table
 * in one transaction. Returns 1 when this worker did it, 0 when another one
 * had, -1 on error. */
static int reconcile_one(sluice_pg_t *pg, const char *id, const char *display, const char *snap,
                         int soft, sluice_err_t *err)
{
    const char *params[1];
    sluice_buf_t sql;
    PGresult *res;
    const char *target;
    int rc = -1;

    sluice_buf_init(&sql);
    if (sluice_pg_exec(pg, "BEGIN", err) < 0)
        return -1;
    params[0] = id;
    res = PQexecParams(pg->conn,
                       "DELETE FROM sluice.reconcile WHERE id = $1 RETURNING to_regclass(target)::text",
                       1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_fail(pg, res, "reconcile: claiming a note in sluice.reconcile", err);
        goto rollback;
    }
    if (PQntuples(res) == 0) { /* another worker was first */
        PQclear(res);
        rc = 0;
        goto rollback;
    }
    if (PQgetisnull(res, 0, 0)) {
        PQclear(res);
        sluice_log(SLUICE_LOG_WARN, "reconcile: table %s no longer exists; dropping its note",
                   display);
        sluice_buf_cleanup(&sql);
        return sluice_pg_exec(pg, "COMMIT", err) < 0 ? -1 : 1;
    }
    target = PQgetvalue(res, 0, 0); /* regclass output: quoted as needed */
    if (soft)
        sluice_buf_printf(&sql,
                          "WITH gone AS (UPDATE %s AS t SET _sluice_deleted = true "
                          "WHERE NOT t._sluice_deleted AND " UNREAD " RETURNING 1) "
                          "SELECT count(*) FROM gone",
                          target);
    else
        sluice_buf_printf(&sql,
                          "WITH gone AS (DELETE FROM %s AS t WHERE " UNREAD " RETURNING 1) "
                          "SELECT count(*) FROM gone",
                          target);
    PQclear(res);
    params[0] = snap;
    res = PQexecParams(pg->conn, sql.data, 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        char what[256];
        snprintf(what, sizeof(what), "reconcile: %s", display);
        pg_fail(pg, res, what, err);
        goto rollback;
    }
    if (sluice_pg_exec(pg, "COMMIT", err) < 0) {
        PQclear(res);
        goto out;
    }
    sluice_log(SLUICE_LOG_INFO,
               "reconcile: %s: the full snapshot at position %s is applied; %s %s row(s) it did "
               "not read",
               display, snap, soft ? "marked deleted" : "deleted", PQgetvalue(res, 0, 0));
    PQclear(res);
    rc = 1;
    goto out;
rollback:
    {
        PGresult *rb = PQexec(pg->conn, "ROLLBACK");
        PQclear(rb);
    }
out:
    sluice_buf_cleanup(&sql);
    return rc;
}

int sluice_reconcile_run(sluice_pg_t *pg, rd_kafka_t *rk, const char *group, int *pending,
                         sluice_err_t *err)
{
    const char *params[1] = {group};
    PGresult *res;
    int i, n, rc = 0, done = 0;

    *pending = 0;
    if (PQstatus(pg->conn) != CONNECTION_OK)
        return sluice_err_set(err, SLUICE_ERR_TRANSIENT, "reconcile: no PostgreSQL connection");
    if (fill_ends(pg, rk, group, err) < 0) {
        *pending = 1;
        return -1;
    }
    res = PQexecParams(pg->conn,
                       "SELECT r.id, r.display, r.snapshot_pos::text, r.soft, "
                       "NOT EXISTS (SELECT 1 FROM unnest(r.partitions, r.end_offsets) AS e(p, o) "
                       "LEFT JOIN sluice.offsets l ON l.group_id = r.group_id "
                       "AND l.topic = r.topic AND l.partition = e.p "
                       "WHERE coalesce(l.next_offset, 0) < e.o) "
                       "FROM sluice.reconcile r "
                       "WHERE r.group_id = $1 AND r.end_offsets IS NOT NULL ORDER BY r.id",
                       1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        *pending = 1;
        return pg_fail(pg, res, "reconcile: reading sluice.reconcile", err);
    }
    n = PQntuples(res);
    for (i = 0; i < n && rc >= 0; i++) {
        if (PQgetvalue(res, i, 4)[0] != 't') {
            (*pending)++;
            continue;
        }
        rc = reconcile_one(pg, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                           PQgetvalue(res, i, 2), PQgetvalue(res, i, 3)[0] == 't', err);
        if (rc > 0)
            done++;
    }
    if (rc < 0)
        *pending += n - i + 1;
    PQclear(res);
    return rc < 0 ? -1 : done;
}
