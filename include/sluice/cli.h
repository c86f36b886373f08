/* Subcommands of the sluice executable. Each returns the process exit code:
 *   0  success
 *   1  runtime failure (PostgreSQL or Kafka gave up, retries exhausted)
 *   2  usage or configuration error
 *   3  a message could not be decoded or applied; the worker stopped before
 *      it and committed nothing past it */
#ifndef SLUICE_CLI_H
#define SLUICE_CLI_H

#define SLUICE_EXIT_OK 0
#define SLUICE_EXIT_RUNTIME 1
#define SLUICE_EXIT_USAGE 2
#define SLUICE_EXIT_POISON 3

int sluice_cli_run(int argc, char **argv);
int sluice_cli_check(int argc, char **argv);
int sluice_cli_decode(int argc, char **argv);
int sluice_cli_connectors(int argc, char **argv);
int sluice_cli_replay(int argc, char **argv);
int sluice_cli_backfill(int argc, char **argv);

const char *sluice_version(void);

/* The handler table `sluice run` and `sluice check` bind (sluice_main). */
#include <stddef.h>
struct sluice_handler;
void sluice_cli_set_handlers(const struct sluice_handler *handlers, size_t n);
const struct sluice_handler *sluice_cli_handlers(size_t *n);

int sluice_cli_dlq(int argc, char **argv);

#endif
