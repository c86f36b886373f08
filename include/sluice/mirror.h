/* The built-in mirror: replicates a Debezium-captured table into a PostgreSQL
 * table. c/r/u upsert by primary key, d deletes by key, never letting an older
 * source position overwrite a newer one (column _sluice_pos), and leaving
 * columns whose value is the unchanged-TOAST placeholder untouched.
 *
 * Bookkeeping column added to every target table by Sluice itself:
 *   _sluice_pos bigint[]  source position of the event the row reflects
 *                         (see sluice_pos_t); NULL when unknown. */
#ifndef SLUICE_MIRROR_H
#define SLUICE_MIRROR_H

#include "sluice/error.h"
#include "sluice/event.h"
#include "sluice/pg.h"

typedef struct sluice_mirror sluice_mirror_t;
typedef struct sluice_mirror_table sluice_mirror_table_t;

sluice_mirror_t *sluice_mirror_new(void);
void sluice_mirror_destroy(sluice_mirror_t *m);

/* Looks the target table up (cached after the first call): its columns and
 * primary key; adds _sluice_pos if missing. Runs synchronous SQL, so call it
 * outside a pipeline. A missing table or one without a primary key is a
 * permanent error naming the table and the fix. Borrowed until destroy. */
sluice_mirror_table_t *sluice_mirror_table(sluice_mirror_t *m, sluice_pg_t *pg, const char *schema,
                                           const char *table, sluice_err_t *err);

const char *sluice_mirror_table_name(const sluice_mirror_table_t *t);

/* Queues the statements that apply ev to t on pg's connection, which must be
 * in pipeline mode inside the batch transaction. *nresults is set to the
 * number of results the caller must read for them (0 for events the mirror
 * ignores). Errors here are about the event's shape (unknown column, no key)
 * and are permanent. */
int sluice_mirror_send(sluice_mirror_t *m, sluice_pg_t *pg, sluice_mirror_table_t *t,
                       const sluice_event_t *ev, int *nresults, sluice_err_t *err);

/* Forgets prepared statements (after a failed batch or a reconnect: the server
 * may not have them). */
void sluice_mirror_reset_statements(sluice_mirror_t *m);

#endif
