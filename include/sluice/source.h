/* The Kafka side: a librdkafka high-level consumer in a consumer group with
 * manual offsets. On assignment it asks its owner where each partition starts
 * (the ledger); on revocation it lets its owner finish in-flight work first.
 * Offsets are committed to Kafka only when the owner says they were applied. */
#ifndef SLUICE_SOURCE_H
#define SLUICE_SOURCE_H

#include <librdkafka/rdkafka.h>

#include "sluice/config.h"
#include "sluice/error.h"

typedef struct {
    void *opaque;
    /* Set parts->elems[i].offset for each newly assigned partition
     * (RD_KAFKA_OFFSET_STORED to fall back on Kafka's committed offset).
     * Returns -1 if the start offsets cannot be known: nothing is assigned
     * and sluice_source_failed() turns true. Runs inside sluice_source_poll. */
    int (*on_assign)(void *opaque, rd_kafka_topic_partition_list_t *parts);
    /* Finish or abandon in-flight work for these partitions; runs inside
     * sluice_source_poll (or close) before they are let go. */
    void (*on_revoke)(void *opaque, const rd_kafka_topic_partition_list_t *parts);
} sluice_source_hooks_t;

typedef struct sluice_source sluice_source_t;

/* Creates the consumer from cfg's kafka.* properties (errors name the key)
 * and subscribes to cfg's topics. Caller destroys. */
sluice_source_t *sluice_source_new(const sluice_config_t *cfg, const sluice_source_hooks_t *hooks,
                                   sluice_err_t *err);
/* Leaves the group (revoking through the hooks) and frees everything. */
void sluice_source_destroy(sluice_source_t *src);

/* Next message or event, NULL on timeout. Caller destroys the message with
 * rd_kafka_message_destroy. Partition EOF arrives as a message with err
 * RD_KAFKA_RESP_ERR__PARTITION_EOF. */
rd_kafka_message_t *sluice_source_poll(sluice_source_t *src, int timeout_ms);

/* Whether an assignment failed fatally (see on_assign). */
int sluice_source_failed(const sluice_source_t *src, sluice_err_t *err);

/* Commits offsets (next offset to read) for partitions. async=0 waits. */
int sluice_source_commit(sluice_source_t *src, const rd_kafka_topic_partition_list_t *offsets,
                         int async, sluice_err_t *err);

/* Moves the fetch position of an assigned partition. */
int sluice_source_seek(sluice_source_t *src, const char *topic, int32_t partition, int64_t offset,
                       sluice_err_t *err);

/* High watermark (end) of a partition right now. */
int sluice_source_high_watermark(sluice_source_t *src, const char *topic, int32_t partition,
                                 int64_t *high, sluice_err_t *err);

/* Connectivity check for `sluice check`: lists metadata of the subscribed
 * topics (names matched against cfg->topics) and prints them. */
int sluice_source_describe(sluice_source_t *src, const sluice_config_t *cfg, FILE *out,
                           sluice_err_t *err);

rd_kafka_t *sluice_source_handle(sluice_source_t *src);

/* Copies the config's kafka.* properties onto conf, for every librdkafka
 * client Sluice makes (consumer, dead-letter producer, command-line tools);
 * for a producer the consumer-only properties are left out. Errors name the
 * key: "config: kafka.<key>: <librdkafka's text>". */
int sluice_source_conf_copy(const sluice_config_t *cfg, rd_kafka_conf_t *conf, rd_kafka_type_t type,
                            sluice_err_t *err);

#endif
