/* Debezium JSON envelopes (Kafka Connect JsonConverter output), with the
 * embedded schema ({"schema","payload"}) or without it, for record values and
 * record keys. Produces the event model of sluice/event.h. */
#ifndef SLUICE_DECODE_JSON_H
#define SLUICE_DECODE_JSON_H

#include <stddef.h>

#include "sluice/error.h"
#include "sluice/event.h"
#include "sluice/types.h"

/* Records flattened by io.debezium.transforms.ExtractNewRecordState. */
typedef enum {
    SLUICE_FLATTENED_AUTO = 0, /* a payload without "op"/"source" but with <prefix>op or
                                * <prefix>deleted is flattened; anything else an envelope */
    SLUICE_FLATTENED_YES,      /* every record value is a flattened row */
    SLUICE_FLATTENED_NO        /* never: a payload without "op" is an error */
} sluice_flattened_t;

/* Decoder options; all-zero is the default for every field (memset it, then
 * set what the connector's configuration says). */
typedef struct {
    /* Connector's unavailable.value.placeholder; NULL means Debezium's default
     * "__debezium_unavailable_value". Borrowed for the decoder's lifetime. */
    const char *unavailable_placeholder;
    /* binary.handling.mode: with base64 / base64-url-safe / hex, bytea and
     * BLOB columns arrive as strings; those whose schema carries the source
     * column type (column.propagate.source.type) decode to BYTES. */
    sluice_binary_mode_t binary_handling_mode;
    /* decimal.handling.mode (precise by default). */
    sluice_decimal_mode_t decimal_handling_mode;
    /* With decimal.handling.mode=precise, a schemaless message cannot carry
     * decimals correctly (their scale is in the schema). Non-zero: a
     * schemaless JSON column value that looks like a Connect Decimal (padded
     * base64, or base64 with '+' or '/') fails the message with an error
     * that says so, instead of passing base64 text on. A heuristic: a decimal
     * whose base64 is plain letters and digits is not caught, and never is a
     * scale guessed. */
    int precise_decimals_without_schema_is_error;
    /* ExtractNewRecordState: see sluice_flattened_t. */
    sluice_flattened_t flattened;
    /* The SMT's add.fields.prefix; NULL means "__". */
    const char *flattened_prefix;
} sluice_decode_opts_t;

typedef struct sluice_json_decoder sluice_json_decoder_t;

/* opts may be NULL (defaults). Caller destroys. A decoder keeps a cache of
 * compiled schemas and is used by one thread at a time. With the
 * environment variable SLUICE_DECODE_JSON_REFERENCE=1 at creation, every
 * message takes the reference (jansson) path instead of the fast path
 * (docs/decode.md); the results are the same. */
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

/* JsonConverter with schemas.enable writes every value as
 * {"schema":S,"payload":P}, and S (about 80% of the bytes) is the same for
 * every change of a table. A value of exactly that layout can be held split:
 * S once, shared by the messages that carry it, and P on its own.
 *
 * sluice_json_envelope_split: whether value has that layout, with S the
 * schema object and P everything between ",\"payload\":" and the closing
 * brace (not checked: decoding does that). With known (known_len bytes), a
 * schema seen before, S must be exactly those bytes (compared, not scanned);
 * with known NULL, S is scanned. 1 and the spans, or 0: not of that layout
 * (or not that schema). Joining the spans gives back the exact bytes. */
int sluice_json_envelope_split(const char *value, size_t len, const char *known, size_t known_len,
                               size_t *schema_off, size_t *schema_len, size_t *payload_off,
                               size_t *payload_len);
/* The size of the joined value, and the join (out has that many bytes). */
size_t sluice_json_envelope_size(size_t schema_len, size_t payload_len);
void sluice_json_envelope_join(char *out, const char *schema, size_t schema_len,
                               const char *payload, size_t payload_len);

/* Decodes a value held split: the same event, and the same errors, as
 * sluice_json_decoder_value() of the joined bytes. */
int sluice_json_decoder_value_split(sluice_json_decoder_t *dec, const char *schema,
                                    size_t schema_len, const char *payload, size_t payload_len,
                                    sluice_event_t *ev, sluice_err_t *err);
/* The same for a record key held split (JsonConverter keys have the layout
 * too): sluice_json_decoder_key() of the joined bytes. */
int sluice_json_decoder_key_split(sluice_json_decoder_t *dec, const char *schema,
                                  size_t schema_len, const char *payload, size_t payload_len,
                                  sluice_event_t *ev, sluice_err_t *err);

#endif
