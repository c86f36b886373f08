/* Private to the Avro decoder's tools and tests: turning Avro's JSON encoding
 * (a union value written {"<branch type>": value}, bytes as \u00XX code
 * points) into Avro binary with avro-c, optionally Confluent-framed. Used by
 * sluice-avro-produce, the unit tests and the decode benchmark; the worker
 * never encodes. Not part of the public API. */
#ifndef SLUICE_DECODE_AVRO_INT_H
#define SLUICE_DECODE_AVRO_INT_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/buf.h"
#include "sluice/error.h"

typedef struct sluice_avro_encoder sluice_avro_encoder_t;

/* Parses the schema with avro-c. NULL with err (permanent) if it is not a
 * valid Avro schema. Caller destroys. */
sluice_avro_encoder_t *sluice_avro_encoder_new(const char *schema_json, size_t len,
                                               sluice_err_t *err);
void sluice_avro_encoder_destroy(sluice_avro_encoder_t *enc);

/* Appends the binary encoding of one datum given in Avro's JSON encoding to
 * out; with id >= 0 the Confluent header (0x00 + big-endian id) comes first.
 * A record field missing from the JSON is encoded as null (so it must be
 * nullable). Returns -1 with err naming the field that does not fit. */
int sluice_avro_encoder_json(sluice_avro_encoder_t *enc, const char *json, size_t len,
                             int32_t id, sluice_buf_t *out, sluice_err_t *err);

#endif
