/* Dead-letter producer: header layout and acknowledged, idempotent writes.
 * Deciding what is dead-lettered, and moving offsets afterwards, is the
 * worker's. */
#include "sluice/dlq.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "sluice/observe.h"
#include "sluice/source.h"

struct sluice_dlq {
    rd_kafka_t *rk;
    char *topic; /* fixed topic, or NULL for "<source>.dlq" */
};

typedef struct {
    int done;
    rd_kafka_resp_err_t err;
} ack_t;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    ack_t *ack = m->_private;

    (void)rk;
    (void)opaque;
    if (ack) {
        ack->err = m->err;
        ack->done = 1;
    }
}

sluice_dlq_t *sluice_dlq_new(const sluice_config_t *cfg, sluice_err_t *err)
{
    sluice_dlq_t *d = calloc(1, sizeof(*d));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[512];

    if (!d || !conf)
        goto oom;
    if (sluice_source_conf_copy(cfg, conf, RD_KAFKA_PRODUCER, err) < 0)
        goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    if (rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "acks", "all", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "linger.ms", "0", errstr, sizeof(errstr))) {
        sluice_err_set(err, SLUICE_ERR_FATAL, "dlq: producer settings: %s", errstr);
        goto fail;
    }
    d->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!d->rk) {
        sluice_err_set(err, SLUICE_ERR_FATAL, "dlq: cannot create the producer: %s", errstr);
        goto fail;
    }
    conf = NULL;
    if (cfg->dlq_topic && *cfg->dlq_topic && !(d->topic = strdup(cfg->dlq_topic)))
        goto oom;
    return d;
oom:
    sluice_err_set(err, SLUICE_ERR_FATAL, "dlq: out of memory");
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    sluice_dlq_destroy(d);
    return NULL;
}

void sluice_dlq_destroy(sluice_dlq_t *d)
{
    if (!d)
        return;
    if (d->rk) {
        rd_kafka_flush(d->rk, 10000);
        rd_kafka_destroy(d->rk);
    }
    free(d->topic);
    free(d);
}

const char *sluice_dlq_topic(sluice_dlq_t *d, const char *source_topic, char *buf, size_t bufsz)
{
    if (d->topic)
        return d->topic;
    snprintf(buf, bufsz, "%s.dlq", source_topic);
    return buf;
}

static void hdr(rd_kafka_headers_t *h, const char *name, const char *value)
{
    rd_kafka_header_add(h, name, -1, value, -1);
}

/* A key or value (part, len; NULL: none) as it came: part itself, or its
 * parts joined into *owned (the caller frees it) when held split. -1: out
 * of memory. */
static int as_came(const char *schema, size_t schema_len, const void *part, size_t len,
                   const void **bytes, size_t *n, char **owned)
{
    *owned = NULL;
    *bytes = part;
    *n = part ? len : 0;
    if (!part || !schema)
        return 0;
    *n = sluice_msg_joined(schema, schema_len, part, len, NULL);
    if (!(*owned = malloc(*n)))
        return -1;
    sluice_msg_joined(schema, schema_len, part, len, *owned);
    *bytes = *owned;
    return 0;
}

int sluice_dlq_send(sluice_dlq_t *d, const sluice_dlq_record_t *rec, int timeout_ms,
                    sluice_err_t *err)
{
    const sluice_msg_t *msg = rec->msg;
    rd_kafka_headers_t *h = rec->headers ? rd_kafka_headers_copy(rec->headers) : rd_kafka_headers_new(12);
    char topic_buf[512], num[32], when[40];
    const char *topic = sluice_dlq_topic(d, msg->topic, topic_buf, sizeof(topic_buf));
    ack_t ack = {0, RD_KAFKA_RESP_ERR_NO_ERROR};
    rd_kafka_resp_err_t rerr;
    struct timeval tv;
    struct tm tm;
    int waited = 0;
    char *joined = NULL, *joined_key = NULL;
    const void *value, *key;
    size_t value_len, key_len;

    hdr(h, "__connect.errors.topic", msg->topic);
    snprintf(num, sizeof(num), "%" PRId32, msg->partition);
    hdr(h, "__connect.errors.partition", num);
    snprintf(num, sizeof(num), "%" PRId64, msg->offset);
    hdr(h, "__connect.errors.offset", num);
    hdr(h, "__connect.errors.exception.class.name",
        !strcmp(rec->stage, "decode")    ? "io.sluice.DecodeException"
        : !strcmp(rec->stage, "handler") ? "io.sluice.HandlerRejectedException"
        : !strcmp(rec->stage, "route")   ? "io.sluice.RouteException"
                                         : "io.sluice.ApplyException");
    hdr(h, "__connect.errors.exception.message", rec->why->msg);
    hdr(h, "__sluice.errors.class", sluice_err_class_name(rec->why->cls));
    hdr(h, "__sluice.errors.stage", rec->stage);
    if (rec->handler)
        hdr(h, "__sluice.errors.handler", rec->handler);
    snprintf(num, sizeof(num), "%d", rec->attempts);
    hdr(h, "__sluice.errors.attempts", num);
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%03dZ", (int)(tv.tv_usec / 1000));
    hdr(h, "__sluice.errors.failed_at", when);

    /* a key or value held split is written as it came */
    if (as_came(msg->schema, msg->schema_len, msg->value, msg->value_len, &value, &value_len,
                &joined) < 0 ||
        as_came(msg->key_schema, msg->key_schema_len, msg->key, msg->key_len, &key, &key_len,
                &joined_key) < 0) {
        free(joined);
        rd_kafka_headers_destroy(h);
        return sluice_err_set(err, SLUICE_ERR_TRANSIENT, "dlq: out of memory");
    }
    rerr = rd_kafka_producev(d->rk, RD_KAFKA_V_TOPIC(topic),
                             RD_KAFKA_V_KEY((void *)key, key_len),
                             RD_KAFKA_V_VALUE((void *)value, value_len),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
                             RD_KAFKA_V_OPAQUE(&ack), RD_KAFKA_V_END);
    free(joined); /* copied by librdkafka */
    free(joined_key);
    if (rerr) {
        rd_kafka_headers_destroy(h);
        return sluice_err_set(err, SLUICE_ERR_TRANSIENT, "dlq: cannot produce to %s: %s", topic,
                              rd_kafka_err2str(rerr));
    }
    /* the headers now belong to the message */
    while (!ack.done && waited < timeout_ms) {
        rd_kafka_poll(d->rk, 50);
        waited += 50;
    }
    if (!ack.done) {
        /* the message may still be delivered later: idempotence keeps a
         * retry from writing it twice within this producer session */
        rd_kafka_purge(d->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        while (!ack.done) /* purged messages report at once; ack lives on this stack */
            rd_kafka_poll(d->rk, 50);
        return sluice_err_set(err, SLUICE_ERR_TRANSIENT,
                              "dlq: %s did not acknowledge the dead-letter write within %d ms", topic,
                              timeout_ms);
    }
    if (ack.err)
        return sluice_err_set(err, SLUICE_ERR_TRANSIENT, "dlq: writing to %s failed: %s", topic,
                              rd_kafka_err2str(ack.err));
    sluice_log(SLUICE_LOG_WARN, "dead-lettered topic %s partition %" PRId32 " offset %" PRId64 " to %s",
               msg->topic, msg->partition, msg->offset, topic);
    return 0;
}
