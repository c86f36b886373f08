/* Debezium envelopes written by Confluent's AvroConverter (or Apicurio's in
 * Confluent-compatible mode): the Confluent wire format (magic byte 0x00, a
 * big-endian int32 schema id, the Avro binary datum), the writer schema
 * fetched by id from a schema registry, compiled once into a decode plan.
 * Produces the same event model as the JSON decoder (sluice/event.h). */
#ifndef SLUICE_DECODE_AVRO_H
#define SLUICE_DECODE_AVRO_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/decode_json.h" /* sluice_decode_opts_t */
#include "sluice/error.h"
#include "sluice/event.h"
#include "sluice/registry.h"

typedef struct sluice_avro_decoder sluice_avro_decoder_t;

/* opts may be NULL (defaults). reg may be NULL: then only schemas given to
 * sluice_avro_decoder_add_schema() are known; it is borrowed and must outlive
 * the decoder. Returns NULL on allocation failure. Caller destroys. */
sluice_avro_decoder_t *sluice_avro_decoder_new(const sluice_decode_opts_t *opts,
                                               sluice_registry_t *reg);
void sluice_avro_decoder_destroy(sluice_avro_decoder_t *dec);

/* Compiles a writer schema (Avro schema JSON text, with its connect.name /
 * connect.parameters / logicalType properties) into a decode plan cached
 * under id for the decoder's lifetime, as if the registry had returned it.
 * A schema that is not valid Avro, or whose Debezium semantic types cannot
 * be decoded, is a SLUICE_ERR_PERMANENT error (remembered for that id). */
int sluice_avro_decoder_add_schema(sluice_avro_decoder_t *dec, int32_t id, const char *json,
                                   size_t len, sluice_err_t *err);

/* Splits the Confluent framing: *id and the datum that follows. Anything but
 * magic byte 0x00 followed by 4 id bytes is SLUICE_ERR_PERMANENT. */
int sluice_avro_frame(const void *buf, size_t len, int32_t *id, const unsigned char **datum,
                      size_t *datum_len, sluice_err_t *err);

/* Decodes a framed record value into ev (op, source, before/after, ...);
 * ev must have been reset by the caller, its key is left untouched. Errors:
 * SLUICE_ERR_PERMANENT for bytes that cannot be decoded (bad framing,
 * truncated or corrupt datum, bytes left over, unknown schema id, a record
 * that is not a Debezium envelope); the registry's TRANSIENT and FATAL
 * errors pass through. Column names point into the decode plan (they live as
 * long as the decoder); every other string lives in ev's arena. */
int sluice_avro_decoder_value(sluice_avro_decoder_t *dec, const void *buf, size_t len,
                              sluice_event_t *ev, sluice_err_t *err);

/* Decodes a framed record key (the Key record of primary-key columns) into
 * ev->key. A key whose schema is not a record leaves ev->key.present = 0. */
int sluice_avro_decoder_key(sluice_avro_decoder_t *dec, const void *buf, size_t len,
                            sluice_event_t *ev, sluice_err_t *err);

/* The same without framing: datum is the bare Avro binary of a schema known
 * under id (tests, benchmarks). */
int sluice_avro_decoder_value_datum(sluice_avro_decoder_t *dec, int32_t id, const void *datum,
                                    size_t len, sluice_event_t *ev, sluice_err_t *err);
int sluice_avro_decoder_key_datum(sluice_avro_decoder_t *dec, int32_t id, const void *datum,
                                  size_t len, sluice_event_t *ev, sluice_err_t *err);

#endif
