/* Private to the operator subcommands (replay, backfill): a plain Kafka
 * client built from the config's kafka.* properties, the concrete topics a
 * config consumes, partitions and the ledger. Implemented in cli_replay.c. */
#ifndef SLUICE_CLI_INT_H
#define SLUICE_CLI_INT_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/config.h"
#include "sluice/error.h"
#include "sluice/pg.h"

/* A consumer (not subscribed) or producer with cfg's kafka.* properties;
 * auto commit off. Caller destroys (rd_kafka_destroy). */
rd_kafka_t *sluice_cli_kafka_new(const sluice_config_t *cfg, rd_kafka_type_t type, sluice_err_t *err);

/* Topics in the cluster that cfg consumes (names; ^patterns resolved against
 * metadata, minus topics_exclude), optionally restricted to `only`
 * (comma-separated names). Caller frees each and the array. */
int sluice_cli_topics(rd_kafka_t *rk, const sluice_config_t *cfg, const char *only, char ***topics,
                      size_t *n, sluice_err_t *err);

/* Every partition of the topics, offsets unset. Caller destroys. */
rd_kafka_topic_partition_list_t *sluice_cli_partitions(rd_kafka_t *rk, char *const *topics, size_t n,
                                                       sluice_err_t *err);

/* next_offset of one ledger row, -1 when there is none. */
int sluice_cli_ledger_get(sluice_pg_t *pg, const char *group, const char *topic, int32_t partition,
                          int64_t *next, sluice_err_t *err);

int64_t sluice_cli_now_ms(void);

#endif
