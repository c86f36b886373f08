/* mirror.reconcile_deletes: after a full (initial or blocking) snapshot of a
 * table, delete the rows of the mirrored table that the snapshot did not
 * read — rows whose deletes were never seen (a topic's retention ran out, a
 * connector was reset) and would otherwise stay forever.
 *
 * Three parts, each in the transaction of the work it belongs to:
 *  1. every read of the snapshot marks its row (_sluice_snapshot = the
 *     snapshot's source position, shared by all its reads), whether or not
 *     the position guard lets the read change the row (mirror.c);
 *  2. the table's last read (source.snapshot = last_in_data_collection, or
 *     last) notes the snapshot in sluice.reconcile (mirror.c);
 *  3. here: a worker records the end offset of every partition of the topic
 *     (the reads of the other partitions were produced before the last one,
 *     so they lie below those ends), and once the group's ledger has passed
 *     every end — on whatever worker the partitions are — one worker deletes,
 *     in one transaction with removing the note, the rows that are neither
 *     marked by this snapshot nor written by a change newer than it.
 *
 * A change is newer than the snapshot when its position is greater; for
 * PostgreSQL snapshot reads, whose position is [null → 0, LSN], the
 * change's own LSN (its position's last part) is compared with the
 * snapshot's LSN. */
#ifndef SLUICE_RECONCILE_H
#define SLUICE_RECONCILE_H

#include <librdkafka/rdkafka.h>

#include "sluice/error.h"
#include "sluice/pg.h"

/* Runs what is due for group: fills in the partition ends of new notes (rk
 * asks the cluster) and reconciles the tables whose notes the ledger has
 * passed. Synchronous SQL on pg, which must not be in a batch. *pending =
 * notes still waiting. Returns the number of tables reconciled, or -1 with
 * err (transient for connection and cluster trouble: try again later). */
int sluice_reconcile_run(sluice_pg_t *pg, rd_kafka_t *rk, const char *group, int *pending,
                         sluice_err_t *err);

#endif
