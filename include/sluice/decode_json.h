/* Debezium JSON envelopes (Kafka Connect JsonConverter output), with the
 * embedded schema ({"schema","payload"}) or without it, for record values and
 * record keys. Produces the event model of sluice/event.h. */
#ifndef SLUICE_DECODE_JSON_H
#define SLUICE_DECODE_JSON_H

#include <stddef.h>

#include "sluice/error.h"
#include "sluice/event.h"

typedef struct {
    /* Connector's unavailable.value.placeholder; NULL means Debezium's default
     * "__debezium_unavailable_value". Borrowed for the decoder's lifetime. */
    const char *unavailable_placeholder;
} sluice_decode_opts_t;

typedef struct sluice_json_decoder sluice_json_decoder_t;

/* opts may be NULL (defaults). Caller destroys. */
sluice_json_decoder_t *sluice_json_decoder_new(const sluice_decode_opts_t *opts);
void sluice_json_decoder_destroy(sluice_json_decoder_t *dec);

/* Decodes a record value into ev (op, source, before/after, message...).
 * ev must have been reset by the caller; its key is left untouched.
 * A value that is not a Debezium envelope is a SLUICE_ERR_PERMANENT error
 * whose message says what is wrong and where. */
int sluice_json_decoder_value(sluice_json_decoder_t *dec, const void *buf, size_t len,
                              sluice_event_t *ev, sluice_err_t *err);

/* Decodes a record key (a struct of primary-key columns, with or without
 * schema) into ev->key. */
int sluice_json_decoder_key(sluice_json_decoder_t *dec, const void *buf, size_t len,
                            sluice_event_t *ev, sluice_err_t *err);

#endif
