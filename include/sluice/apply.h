/* Apply: turns a batch of Kafka messages into one PostgreSQL transaction —
 * the handlers' side effects plus the ledger rows (sluice.offsets) of every
 * partition in the batch — sent with libpq's pipeline mode. Owns the ledger
 * and the per-partition "offset this worker holds" used to fence batches.
 *
 * A batch goes through prepare (decode, route, fold the mirror's rows; no
 * use of the batch connection), send (queue the transaction, do not wait)
 * and wait (read the outcome). The caller prepares batch N+1 while batch N
 * runs in PostgreSQL: decoding overlaps with applying. */
#ifndef SLUICE_APPLY_H
#define SLUICE_APPLY_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "sluice/config.h"
#include "sluice/error.h"
#include "sluice/handler.h"

/* One Kafka record as apply sees it. Borrowed until the batch completes. */
typedef struct {
    const char *topic;
    int32_t partition;
    int64_t offset;
    const void *key; /* NULL: no key */
    size_t key_len;
    const void *value; /* NULL: tombstone */
    size_t value_len;
    /* Non-NULL: the value is a JSON {"schema":S,"payload":P} held split
     * (sluice_json_envelope_split); schema is S, value is P. The same for
     * the key with key_schema. */
    const char *schema;
    size_t schema_len;
    const char *key_schema;
    size_t key_schema_len;
} sluice_msg_t;

/* A key or value as it came, from its parts (schema NULL: not split, part
 * is all of it): its size, and its bytes written to out when out is not
 * NULL (out has that many). */
size_t sluice_msg_joined(const char *schema, size_t schema_len, const void *part, size_t len,
                         void *out);

typedef struct {
    size_t applied;      /* msgs[0, applied) are committed in PostgreSQL */
    int poison;          /* msgs[applied] can never be applied; err says why */
    const char *stage;   /* poison: "decode", "route", "apply" or "handler" */
    const char *handler; /* poison in a handler: its name, else NULL */
} sluice_apply_result_t;

/* Returned by wait/apply when a partition's ledger row was moved by another
 * worker: nothing was applied; re-read the ledger and seek. */
#define SLUICE_APPLY_MOVED (-2)

typedef struct sluice_apply sluice_apply_t;

/* Connects to PostgreSQL (two connections: batches, and catalog/ledger
 * reads), applies Sluice's migrations and binds the handler table (NULL/0:
 * the mirror alone). cfg and handlers are borrowed. Caller destroys. */
sluice_apply_t *sluice_apply_new(const sluice_config_t *cfg, const sluice_handler_t *handlers,
                                 size_t nhandlers, sluice_err_t *err);
void sluice_apply_destroy(sluice_apply_t *ap);

/* Reconnects after a transient failure (drops any prepared or in-flight batch). */
int sluice_apply_reconnect(sluice_apply_t *ap, sluice_err_t *err);

/* Reads the ledger for partitions of topic: offsets[i] = next offset to apply,
 * or -1 when the ledger has no row. Remembers them as the offsets this worker
 * now holds. Usable while a batch is in flight. */
int sluice_apply_ledger_load(sluice_apply_t *ap, const char *topic, const int32_t *partitions,
                             size_t n, int64_t *offsets, sluice_err_t *err);

/* Forgets a partition (revoked). */
void sluice_apply_forget(sluice_apply_t *ap, const char *topic, int32_t partition);

/* Decodes and folds msgs (borrowed until the batch completes). -1 with a
 * transient error (schema registry down: prepare again later) or a fatal one.
 * A message that cannot be decoded is not an error here: the batch ends
 * before it and wait() reports it as poison. */
int sluice_apply_prepare(sluice_apply_t *ap, const sluice_msg_t *msgs, size_t n, sluice_err_t *err);
/* Drops the prepared batch (to prepare another first). */
void sluice_apply_discard(sluice_apply_t *ap);
/* Whether a batch is prepared / in flight. */
int sluice_apply_prepared(const sluice_apply_t *ap);
int sluice_apply_inflight(const sluice_apply_t *ap);
/* Without blocking: whether the batch in flight has answered (or none is in
 * flight), so waiting for it would be short. */
int sluice_apply_ready(sluice_apply_t *ap);

/* Sends the prepared batch; it is then in flight. Batches with handlers other
 * than the mirror run their handlers here, in order. -1 only when sending
 * failed (wait() then reports why). */
int sluice_apply_send(sluice_apply_t *ap, sluice_err_t *err);

/* Waits for the batch in flight. Returns 0 and fills res (a poison message
 * ends the batch after the messages before it were committed; a statement
 * refused for one message is found by re-applying event by event), -1 with
 * err (transient: nothing applied, apply the same messages again; fatal), or
 * SLUICE_APPLY_MOVED. Error messages name topic, partition and offset when
 * one message is at fault. */
int sluice_apply_wait(sluice_apply_t *ap, sluice_apply_result_t *res, sluice_err_t *err);

/* Off: batches leave the ledger alone (re-applying dead-lettered messages,
 * whose source offsets the ledger has already passed). On by default. */
void sluice_apply_set_ledger(sluice_apply_t *ap, int on);

/* Moves a partition's ledger past msg (dead-lettered) in its own
 * transaction: 0, -1 with err, or SLUICE_APPLY_MOVED. No batch may be in
 * flight. */
int sluice_apply_skip(sluice_apply_t *ap, const sluice_msg_t *msg, sluice_err_t *err);

/* mirror.reconcile_deletes: runs the reconciles that are due (see
 * sluice/reconcile.h) on the batch connection, when no batch is in flight
 * (returns 0 without doing anything otherwise). *pending as there. */
int sluice_apply_reconcile(sluice_apply_t *ap, rd_kafka_t *rk, int *pending, sluice_err_t *err);

/* Whether batches sent since the last call noted the end of a snapshot. */
int sluice_apply_snapshot_ended(sluice_apply_t *ap);

/* prepare + send + wait. */
int sluice_apply_batch(sluice_apply_t *ap, const sluice_msg_t *msgs, size_t n,
                       sluice_apply_result_t *res, sluice_err_t *err);

#endif
