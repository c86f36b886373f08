/* The worker: the consume -> decode -> apply -> commit loop of `sluice run`.
 * It collects messages into batches by size and time, prepares batch N+1
 * while batch N runs in PostgreSQL, commits offsets to Kafka only after the
 * PostgreSQL COMMIT, retries transient failures with capped exponential
 * backoff, and stops before a message that cannot be applied. */
#ifndef SLUICE_WORKER_H
#define SLUICE_WORKER_H

#include <signal.h>
#include <stddef.h>

#include "sluice/config.h"
#include "sluice/error.h"
#include "sluice/handler.h"

typedef struct sluice_worker sluice_worker_t;

/* Connects to PostgreSQL (migrations), binds the handler table and joins the
 * consumer group. cfg and handlers are borrowed. NULL with err (fatal:
 * configuration; transient: PostgreSQL unreachable). Caller destroys. */
sluice_worker_t *sluice_worker_new(const sluice_config_t *cfg, const sluice_handler_t *handlers,
                                   size_t nhandlers, int exit_at_end, sluice_err_t *err);

/* Runs until *stop turns non-zero (then drains and commits), until caught up
 * with --exit-at-end, or until a failure. Returns the process exit code
 * (sluice/cli.h). */
int sluice_worker_run(sluice_worker_t *w, volatile sig_atomic_t *stop);

/* Leaves the group (the open batch is applied first) and frees everything. */
void sluice_worker_destroy(sluice_worker_t *w);

#endif
