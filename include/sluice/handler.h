/* The handler API: business logic compiled into a worker. A handler table is
 * a static array of sluice_handler_t; every entry whose match and op mask fit
 * an event runs, in table order, inside the batch's PostgreSQL transaction,
 * so its effects commit atomically with the ledger (sluice.offsets).
 *
 *   static sluice_handler_rc_t count_order(const sluice_event_t *ev,
 *                                          sluice_ctx_t *ctx, void *state);
 *   static const sluice_handler_t handlers[] = {
 *       {"order_totals", "inventory.orders", SLUICE_OPS_C | SLUICE_OPS_U | SLUICE_OPS_D,
 *        count_order, NULL, NULL},
 *       SLUICE_HANDLER_MIRROR,
 *   };
 *   int main(int argc, char **argv)
 *   { return sluice_main(argc, argv, handlers, sizeof handlers / sizeof handlers[0]); }
 *
 * The built-in mirror is the entry SLUICE_HANDLER_MIRROR. Config key
 * `handlers` ({"<name>": ["<match>", ...]}) overrides which tables each
 * compiled handler runs for ([] disables it). */
#ifndef SLUICE_HANDLER_H
#define SLUICE_HANDLER_H

#include <libpq-fe.h>

#include "sluice/config.h"
#include "sluice/error.h"
#include "sluice/event.h"

/* op mask bits */
#define SLUICE_OPS_C (1u << 0)
#define SLUICE_OPS_U (1u << 1)
#define SLUICE_OPS_D (1u << 2)
#define SLUICE_OPS_R (1u << 3)
#define SLUICE_OPS_T (1u << 4)
#define SLUICE_OPS_M (1u << 5)
#define SLUICE_OPS_ANY 0x3fu

typedef enum {
    SLUICE_HANDLER_OK = 0,
    SLUICE_HANDLER_RETRY, /* transient: roll back, back off, re-apply the batch */
    SLUICE_HANDLER_REJECT /* permanent for this message: dead-letter or stop */
} sluice_handler_rc_t;

/* The apply context of one batch: runs SQL in the batch's transaction. */
typedef struct sluice_ctx sluice_ctx_t;

typedef sluice_handler_rc_t (*sluice_handler_fn)(const sluice_event_t *ev, sluice_ctx_t *ctx,
                                                 void *state);

typedef struct sluice_handler {
    const char *name;  /* unique; the config key handlers.<name> refers to it */
    const char *match; /* topic, or schema.table (db.table), '*' wildcards */
    unsigned ops;      /* SLUICE_OPS_* mask */
    sluice_handler_fn fn;
    /* optional: called once at start-up / shutdown; *state is passed to fn */
    int (*init)(const sluice_config_t *cfg, void **state, sluice_err_t *err);
    void (*teardown)(void *state);
} sluice_handler_t;

/* The built-in replicating handler (see sluice/mirror.h). Its fn is NULL:
 * apply runs it with batched statements. */
#define SLUICE_HANDLER_MIRROR {"mirror", "*", SLUICE_OPS_ANY, NULL, NULL, NULL}

/* Runs one parameterised statement (text parameters, NULL for SQL NULL) in the
 * batch's transaction, after every earlier event's effects. Returns the
 * result (caller PQclear()s it) or NULL when it failed; the handler should
 * then return sluice_ctx_failed(ctx), which says RETRY or REJECT from the
 * error's class. */
PGresult *sluice_ctx_exec(sluice_ctx_t *ctx, const char *sql, int nparams,
                          const char *const *params);
sluice_handler_rc_t sluice_ctx_failed(sluice_ctx_t *ctx);

/* Records why the event is rejected (dead-letter header, error line) and
 * returns SLUICE_HANDLER_REJECT. */
sluice_handler_rc_t sluice_ctx_reject(sluice_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Like reject, for a transient condition: returns SLUICE_HANDLER_RETRY. */
sluice_handler_rc_t sluice_ctx_retry(sluice_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The worker's entry point: the `sluice` command line with this handler
 * table (NULL/0: the mirror only). Returns the process exit code. */
int sluice_main(int argc, char **argv, const sluice_handler_t *handlers, size_t nhandlers);

#endif
