/* Private helpers of the JSON decoder that other decoders (Avro) and the unit
 * tests reuse: base64, Connect Decimal bytes -> decimal text, the typed
 * forms of the unchanged-TOAST placeholder, and the rules every wire format
 * shares (semantic type names -> value kinds, source.snapshot, the source
 * position). Not part of the public API. */
#ifndef SLUICE_DECODE_JSON_INT_H
#define SLUICE_DECODE_JSON_INT_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/buf.h"
#include "sluice/event.h"

/* Decodes standard base64 (RFC 4648 alphabet, '=' padding required, length a
 * multiple of 4). out must hold len / 4 * 3 bytes. Returns the decoded length,
 * or -1 if the text is not valid base64. */
long sluice_decode_base64(const char *in, size_t len, unsigned char *out);

/* Encodes base64 with padding into out (room for 4 * ((len + 2) / 3) + 1
 * bytes, NUL-terminated). Returns the encoded length. */
size_t sluice_decode_base64_encode(const unsigned char *in, size_t len, char *out);

/* Renders a big-endian two's-complement unscaled integer of any length (Kafka
 * Connect Decimal, BigInteger.toByteArray()) with scale digits after the
 * point: {0x01,0x65,0xa0,0xbc,0x00} scale 9 -> "6.000000000"; negative scale
 * appends zeros. Empty input is 0. |scale| must be <= SLUICE_DECIMAL_SCALE_MAX.
 * The text lives in arena; returns NULL on allocation failure. */
#define SLUICE_DECIMAL_SCALE_MAX 100000
char *sluice_decode_decimal_text(sluice_arena_t *arena, const unsigned char *bytes, size_t n,
                                 int32_t scale, size_t *out_len);

/* UUID.nameUUIDFromBytes(text): the uuid[] form of the placeholder.
 * out receives 36 characters and a NUL. */
void sluice_decode_placeholder_uuid(const char *text, size_t len, char out[37]);

/* What an integer of a Debezium / Kafka Connect semantic type means. */
typedef enum {
    SLUICE_INTSEM_PLAIN = 0, /* INT (also Year, MicroDuration, ...) */
    SLUICE_INTSEM_DATE,      /* days */
    SLUICE_INTSEM_TIME_MS,   /* io.debezium.time.Time, Connect Time */
    SLUICE_INTSEM_TIME_US,   /* MicroTime */
    SLUICE_INTSEM_TIME_NS,   /* NanoTime */
    SLUICE_INTSEM_TS_MS,     /* io.debezium.time.Timestamp, Connect Timestamp */
    SLUICE_INTSEM_TS_US,     /* MicroTimestamp */
    SLUICE_INTSEM_TS_NS      /* NanoTimestamp */
} sluice_intsem_t;

/* Semantic schema name (NULL: none) -> meaning of an integer. */
sluice_intsem_t sluice_decode_intsem(const char *name);

/* Integer v of meaning sem -> out (DATE days, TIME/TIMESTAMP microseconds,
 * Debezium's infinity markers passed through). -1 if the value overflows
 * microseconds (out is then unspecified). */
int sluice_decode_int_value(sluice_intsem_t sem, int64_t v, sluice_value_t *out);

/* Semantic name of a string schema -> TEXT, JSON, UUID, TIMESTAMPTZ, TIMETZ. */
sluice_value_kind_t sluice_decode_string_kind(const char *name);

/* source.snapshot text -> enum; -1 if it is none of Debezium's values. */
int sluice_decode_snapshot(const char *s, size_t len, sluice_snapshot_t *out);

/* The source-block fields that make up a position, whatever the format. */
typedef struct {
    const char *connector; /* source.connector, NULL if absent */
    int mysql_fields;      /* the block has "file" or "pos" (MySQL/MariaDB shape) */
    const char *file;      /* binlog file name, NULL if absent or null */
    int64_t binpos, row;   /* 0 if absent */
    const char *sequence;  /* PostgreSQL source.sequence text, NULL if absent */
    int has_lsn;
    int64_t lsn;
} sluice_source_fields_t;

/* The position rules: MySQL [file number, pos, row]; PostgreSQL
 * source.sequence [commit LSN, LSN]; else [lsn]; else unknown (n == 0).
 * Returns -1 with a reason in why when a field cannot be read. */
int sluice_decode_position(const sluice_source_fields_t *in, sluice_pos_t *pos, char *why,
                           size_t whylen);

#endif
