/* Apply: turns a batch of Kafka messages into one PostgreSQL transaction —
 * the handlers' side effects plus the ledger rows (sluice.offsets) of every
 * partition in the batch — sent with libpq's pipeline mode. Owns the ledger
 * and the per-partition "offset this worker holds" used to fence batches. */
#ifndef SLUICE_APPLY_H
#define SLUICE_APPLY_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/config.h"
#include "sluice/error.h"

/* One Kafka record as apply sees it. All pointers borrowed for the call. */
typedef struct {
    const char *topic;
    int32_t partition;
    int64_t offset;
    const void *key; /* NULL: no key */
    size_t key_len;
    const void *value; /* NULL: tombstone */
    size_t value_len;
} sluice_msg_t;

typedef struct {
    size_t applied; /* msgs[0, applied) are committed in PostgreSQL */
    int poison;     /* msgs[applied] can never be applied; err says why */
} sluice_apply_result_t;

/* Returned by sluice_apply_batch when a partition's ledger row was moved by
 * another worker: nothing was applied; re-read the ledger and seek. */
#define SLUICE_APPLY_MOVED (-2)

typedef struct sluice_apply sluice_apply_t;

/* Connects to PostgreSQL and applies Sluice's migrations. cfg is borrowed for
 * the lifetime of the object. Caller destroys. */
sluice_apply_t *sluice_apply_new(const sluice_config_t *cfg, sluice_err_t *err);
void sluice_apply_destroy(sluice_apply_t *ap);

/* Reconnects after a transient failure. */
int sluice_apply_reconnect(sluice_apply_t *ap, sluice_err_t *err);

/* Reads the ledger for partitions of topic: offsets[i] = next offset to apply,
 * or -1 when the ledger has no row. Remembers them as the offsets this worker
 * now holds. */
int sluice_apply_ledger_load(sluice_apply_t *ap, const char *topic, const int32_t *partitions,
                             size_t n, int64_t *offsets, sluice_err_t *err);

/* Forgets a partition (revoked). */
void sluice_apply_forget(sluice_apply_t *ap, const char *topic, int32_t partition);

/* Applies msgs in order in one transaction. Returns 0 and fills res (a poison
 * message stops the batch after the messages before it were committed), or -1
 * with err (transient: nothing applied, retry the same batch; fatal), or
 * SLUICE_APPLY_MOVED. The error message names topic, partition and offset
 * when one message is at fault. */
int sluice_apply_batch(sluice_apply_t *ap, const sluice_msg_t *msgs, size_t n,
                       sluice_apply_result_t *res, sluice_err_t *err);

#endif
