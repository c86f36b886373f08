/* The built-in mirror: replicates a Debezium-captured table into a PostgreSQL
 * table. c/r/u upsert by primary key, d deletes by key, never letting an older
 * source position overwrite a newer one (column _sluice_pos), and leaving
 * columns whose value is the unchanged-TOAST placeholder untouched.
 *
 * Two ways to apply, same effect:
 *  - batched: sluice_mirror_add() folds the events of a batch per table and
 *    key (the last state of a key wins; positions and TOAST placeholders are
 *    merged so the result equals applying them one by one), then
 *    sluice_mirror_flush() sends one multi-row upsert and one multi-row delete
 *    per table and column set (unnest of text arrays);
 *  - precise: sluice_mirror_send() queues the statements of one event, so a
 *    failing statement points at its message.
 *
 * Bookkeeping columns added to target tables by Sluice itself:
 *   _sluice_pos bigint[]      source position of the event the row reflects
 *                             (see sluice_pos_t); NULL when unknown
 *   _sluice_deleted boolean   with mirror.delete_mode = soft: the row was
 *                             deleted at _sluice_pos
 *   _sluice_snapshot bigint[] with mirror.reconcile_deletes: source position
 *                             of the last full snapshot that read the row
 *
 * Inserts that leave unchanged-TOAST columns NULL (the row did not exist
 * yet) are counted: sluice_mirror_toast_nulls(). */
#ifndef SLUICE_MIRROR_H
#define SLUICE_MIRROR_H

#include "sluice/error.h"
#include "sluice/event.h"
#include "sluice/pg.h"

typedef struct sluice_mirror sluice_mirror_t;
typedef struct sluice_mirror_table sluice_mirror_table_t;

typedef struct {
    int truncate;        /* mirror.truncate: apply op 't' */
    int soft_delete;     /* mirror.delete_mode = soft */
    int evolve;          /* mirror.schema_evolution = basic */
    int keyless_all;     /* mirror.keyless = all_columns */
    int binary_mode;     /* sluice_binary_mode_t of the connector */
    int reconcile;       /* mirror.reconcile_deletes: mark rows read by full
                          * snapshots (column _sluice_snapshot) and note each
                          * table's snapshot end in sluice.reconcile */
    const char *group;   /* consumer group, for sluice.reconcile */
} sluice_mirror_opts_t;

/* opts may be NULL (defaults: no truncate, hard deletes, no evolution,
 * keyless tables rejected). */
sluice_mirror_t *sluice_mirror_new(const sluice_mirror_opts_t *opts);
void sluice_mirror_destroy(sluice_mirror_t *m);

/* Looks the target table up (cached after the first call): its columns, their
 * types and the primary key; adds _sluice_pos if missing. Runs synchronous SQL
 * on pg, which must not be inside a pipeline. A missing table or one without a
 * primary key is a permanent error naming the table and the fix. Borrowed
 * until destroy. */
sluice_mirror_table_t *sluice_mirror_table(sluice_mirror_t *m, sluice_pg_t *pg, const char *schema,
                                           const char *table, sluice_err_t *err);

const char *sluice_mirror_table_name(const sluice_mirror_table_t *t);

/* With mirror.schema_evolution = basic: creates t's table, or adds the
 * event's columns it lacks, from the event's schema (column types from the
 * type table; the key from the key schema). Returns 1 when it changed the
 * table (the caller must fold the batch again), 0 when nothing was needed, -1
 * with a permanent error when the table cannot take the event (evolution
 * off, or no schema to derive types from). Runs DDL on pg: no batch
 * transaction may be open on another connection that touched the table. */
int sluice_mirror_evolve(sluice_mirror_t *m, sluice_pg_t *pg, const char *schema, const char *table,
                         const sluice_event_t *ev, sluice_err_t *err);

/* Checks that ev fits t (columns, key) without folding it: the same
 * permanent errors as sluice_mirror_add. */
int sluice_mirror_check(sluice_mirror_t *m, sluice_mirror_table_t *t, const sluice_event_t *ev,
                        sluice_err_t *err);

/* Snapshot ends noted in sluice.reconcile (statements sent), since start. */
unsigned long sluice_mirror_snapshot_ends(const sluice_mirror_t *m);

/* Rows inserted with unchanged-TOAST columns left NULL, since start. */
unsigned long sluice_mirror_toast_nulls(const sluice_mirror_t *m);
void sluice_mirror_count_toast_nulls(sluice_mirror_t *m, unsigned long n);

/* Precise: queues the statements that apply ev to t on pg's connection (in
 * pipeline mode, inside the batch transaction). *nresults = results the
 * caller must read (0 for events the mirror ignores). Errors are about the
 * event's shape (unknown column, no key) and are permanent. */
int sluice_mirror_send(sluice_mirror_t *m, sluice_pg_t *pg, sluice_mirror_table_t *t,
                       const sluice_event_t *ev, int *nresults, sluice_err_t *err);

/* Batched: folds ev into t's pending rows. Returns 1 when ev cannot be folded
 * (it carries no source position, or folding would change the result): the
 * caller then flushes t and applies ev with sluice_mirror_send(). */
int sluice_mirror_add(sluice_mirror_t *m, sluice_mirror_table_t *t, const sluice_event_t *ev,
                      sluice_err_t *err);

/* Sends the pending rows of t (or of every table when t is NULL) and forgets
 * them. *nresults = results to read. */
int sluice_mirror_flush(sluice_mirror_t *m, sluice_pg_t *pg, sluice_mirror_table_t *t,
                        int *nresults, sluice_err_t *err);

/* Drops pending rows without sending them (a batch is abandoned). */
void sluice_mirror_discard(sluice_mirror_t *m);

/* Forgets prepared statements (after a failed batch or a reconnect: the server
 * may not have them). */
void sluice_mirror_reset_statements(sluice_mirror_t *m);

#endif
