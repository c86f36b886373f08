/* PostgreSQL connection: connect, classify errors into failure classes, and
 * bring Sluice's own schema (sql/ migrations) up to date. */
#ifndef SLUICE_PG_H
#define SLUICE_PG_H

#include <libpq-fe.h>

#include "sluice/error.h"

typedef struct {
    PGconn *conn;
    char *conninfo;
} sluice_pg_t;

/* Connects; authentication and "database does not exist" are fatal, a server
 * that cannot be reached is transient. Caller destroys. */
sluice_pg_t *sluice_pg_connect(const char *conninfo, sluice_err_t *err);
void sluice_pg_destroy(sluice_pg_t *pg);
/* Drops the connection and connects again with the same conninfo. */
int sluice_pg_reconnect(sluice_pg_t *pg, sluice_err_t *err);

/* Failure class of a failed result (by SQLSTATE) or of the connection state
 * when res is NULL. */
sluice_err_class_t sluice_pg_classify(const sluice_pg_t *pg, const PGresult *res);

/* Fills err from a failed result: "<what>: <primary message> (SQLSTATE x)". */
int sluice_pg_result_err(const sluice_pg_t *pg, const PGresult *res, const char *what,
                         sluice_err_t *err);

/* Runs a command without parameters; returns 0 when it succeeded. */
int sluice_pg_exec(sluice_pg_t *pg, const char *sql, sluice_err_t *err);

/* Applies every embedded migration newer than the recorded version, each in
 * its own transaction, serialized across workers by an advisory lock. */
int sluice_pg_migrate(sluice_pg_t *pg, sluice_err_t *err);

/* Quotes an identifier for SQL ("a""b"); appends to buf. */
#include "sluice/buf.h"
int sluice_pg_quote_ident(sluice_buf_t *buf, const char *ident);

/* SQLSTATE raised by sluice.advance() when a partition's ledger row moved
 * (another worker applied it meanwhile). */
#define SLUICE_SQLSTATE_LEDGER_MOVED "SL001"

#endif
