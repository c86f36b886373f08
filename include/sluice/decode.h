/* The record decoder apply uses: picks JSON or Avro per record key and value
 * from format.key / format.value ("json", "avro", or "auto": a leading 0x00
 * magic byte means Confluent-framed Avro, anything else JSON) and hands the
 * bytes to decode_json or decode_avro (with the schema registry of
 * registry.*). Both produce the same sluice_event_t. */
#ifndef SLUICE_DECODE_H
#define SLUICE_DECODE_H

#include <stddef.h>

#include "sluice/config.h"
#include "sluice/error.h"
#include "sluice/event.h"

typedef struct sluice_decoder sluice_decoder_t;

/* cfg is borrowed for the decoder's lifetime. Contacts nobody yet (the
 * registry is asked on the first Avro record). NULL with a SLUICE_ERR_FATAL
 * error on a bad format name, or format avro without registry.url. Caller
 * destroys. */
sluice_decoder_t *sluice_decoder_new(const sluice_config_t *cfg, sluice_err_t *err);
void sluice_decoder_destroy(sluice_decoder_t *dec);

/* Decodes a non-empty record key into ev->key. In auto mode a key that is
 * neither Avro-framed nor a JSON object (a plain string key from
 * StringConverter, a bare number) is no structured key: ev->key.present = 0
 * and no error; the mirror then takes key columns from before/after. With
 * format.key = json such a key, or any JSON that does not parse, is a
 * SLUICE_ERR_PERMANENT error, as is a corrupt Avro key. */
int sluice_decoder_key(sluice_decoder_t *dec, const void *buf, size_t len, sluice_event_t *ev,
                       sluice_err_t *err);

/* Decodes a record value (never a tombstone: a NULL value is the caller's
 * SLUICE_OP_TOMBSTONE). Errors: SLUICE_ERR_PERMANENT for this message only;
 * SLUICE_ERR_TRANSIENT when the schema registry is unavailable (retry the
 * batch; nothing was skipped); SLUICE_ERR_FATAL for configuration (Avro
 * records but no registry.url, registry credentials rejected). */
int sluice_decoder_value(sluice_decoder_t *dec, const void *buf, size_t len, sluice_event_t *ev,
                         sluice_err_t *err);

/* The same for a JSON value {"schema":S,"payload":P} held split (see
 * sluice_json_envelope_split): the same event and the same errors as
 * sluice_decoder_value() of the joined bytes. */
int sluice_decoder_value_split(sluice_decoder_t *dec, const char *schema, size_t schema_len,
                               const char *payload, size_t payload_len, sluice_event_t *ev,
                               sluice_err_t *err);
/* The same for a record key held split. */
int sluice_decoder_key_split(sluice_decoder_t *dec, const char *schema, size_t schema_len,
                             const char *payload, size_t payload_len, sluice_event_t *ev,
                             sluice_err_t *err);

#endif
