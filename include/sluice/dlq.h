/* The dead-letter topic: an idempotent producer (acks=all) that writes a
 * message Sluice cannot apply — its original key, value and headers — to
 * dlq.topic (default "<source topic>.dlq"), adding headers compatible with
 * Kafka Connect's errors.deadletterqueue.context.headers.enable:
 *   __connect.errors.topic / .partition / .offset
 *   __connect.errors.exception.class.name / .exception.message
 * and Sluice's own:
 *   __sluice.errors.class (permanent), __sluice.errors.stage (decode |
 *   route | apply | handler), __sluice.errors.handler, __sluice.errors.attempts,
 *   __sluice.errors.failed_at (ISO-8601 UTC).
 * sluice_dlq_send() returns only once the write is acknowledged, so the
 * caller may then move the source offset past the message. */
#ifndef SLUICE_DLQ_H
#define SLUICE_DLQ_H

#include <librdkafka/rdkafka.h>

#include "sluice/apply.h"
#include "sluice/config.h"
#include "sluice/error.h"

typedef struct sluice_dlq sluice_dlq_t;

/* Producer from cfg's kafka.* properties (consumer-only ones left out).
 * Caller destroys. */
sluice_dlq_t *sluice_dlq_new(const sluice_config_t *cfg, sluice_err_t *err);
void sluice_dlq_destroy(sluice_dlq_t *d);

/* The dead-letter topic for a source topic. */
const char *sluice_dlq_topic(sluice_dlq_t *d, const char *source_topic, char *buf, size_t bufsz);

typedef struct {
    const sluice_msg_t *msg;              /* what failed */
    const rd_kafka_headers_t *headers;    /* its original headers, may be NULL */
    const sluice_err_t *why;              /* the error */
    const char *stage;                    /* decode | route | apply | handler */
    const char *handler;                  /* may be NULL */
    int attempts;
} sluice_dlq_record_t;

/* Writes one record and waits for the acknowledgement (transient error when
 * the broker does not take it within timeout_ms). */
int sluice_dlq_send(sluice_dlq_t *d, const sluice_dlq_record_t *rec, int timeout_ms,
                    sluice_err_t *err);

#endif
