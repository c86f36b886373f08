/* Private helpers of the JSON decoder that other decoders (Avro) and the unit
 * tests reuse: base64, Connect Decimal bytes -> decimal text, the typed
 * forms of the unchanged-TOAST placeholder, and the rules every wire format
 * shares (value forms, flattened records, source.snapshot, the source
 * position; semantic names -> kinds is types.c's table). Not part of the public API. */
#ifndef SLUICE_DECODE_JSON_INT_H
#define SLUICE_DECODE_JSON_INT_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/buf.h"
#include "sluice/event.h"
#include "sluice/types.h"

/* binary.handling.mode text -> bytes: base64 (padding optional),
 * base64-url-safe, hex (either case). out must hold len bytes. Returns the
 * decoded length or -1 if the text is not in that encoding. (types.c) */
long sluice_types_decode_binary(const char *in, size_t len, sluice_binary_mode_t mode,
                                unsigned char *out);

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

/* Integer v of meaning sem -> out (DATE days, TIME/TIMESTAMP microseconds,
 * Debezium's infinity markers passed through). -1 if the value overflows
 * microseconds (out is then unspecified). */
int sluice_decode_int_value(sluice_intsem_t sem, int64_t v, sluice_value_t *out);

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

/* Decode rule (types.h) of a date/time integer -> its meaning. */
sluice_intsem_t sluice_decode_rule_intsem(sluice_type_rule_t rule);

/* The value forms shared by both decoders; each returns -1 on allocation
 * failure (sluice_decode_ewkb: -2, and -1 with why for bad WKB). */
/* MicroDuration µs -> INTERVAL "<d> days [-]HH:MM:SS.ffffff" */
int sluice_decode_interval_us(sluice_arena_t *arena, int64_t us, sluice_value_t *out);
/* io.debezium.data.Bits little-endian bytes -> BITS "0101" of `bits`
 * characters (-1: 8 per byte), highest bit first */
int sluice_decode_bits(sluice_arena_t *arena, const unsigned char *b, size_t n, int32_t bits,
                       sluice_value_t *out);
/* Geometry {wkb, srid} -> GEOMETRY EWKB (SRID folded into the type word) */
int sluice_decode_ewkb(sluice_arena_t *arena, const unsigned char *wkb, size_t n, int has_srid,
                       int64_t srid, sluice_value_t *out, char *why, size_t whylen);
/* Point {x, y} -> TEXT "(x,y)" */
int sluice_decode_point(sluice_arena_t *arena, double x, double y, sluice_value_t *out);
/* decimal.handling.mode=string text -> DECIMAL ("NAN" -> "NaN",
 * "POSITIVE_INFINITY" -> "Infinity", "NEGATIVE_INFINITY" -> "-Infinity") */
int sluice_decode_decimal_string(sluice_arena_t *arena, const char *s, size_t len,
                                 sluice_value_t *out);
/* precise_decimals_without_schema_is_error's detector */
int sluice_decode_looks_like_decimal(const char *s, size_t len);

/* A flattened record (ExtractNewRecordState) decoded as one row `all`:
 * splits the prefix fields into ev->meta and the rest into the data row,
 * sets ev->op (<p>deleted "true" or <p>op "d": DELETE with the row as
 * before; else <p>op or UPDATE, the row as after), table/schema/db,
 * ts_ms, source ts, txId, snapshot and the position from <p>lsn /
 * <p>sequence / <p>file+<p>pos (each also as <p>source_<field>), and
 * ev->flattened. Returns 0, -1 with why, or -2 out of memory. */
int sluice_decode_flat_finish(sluice_event_t *ev, const sluice_row_t *all, const char *prefix,
                              char *why, size_t whylen);

/* The JSON decoder's fast path (schema cache + scanner, docs/decode.md):
 * counters, and switches for tests and benchmarks. */
typedef struct {
    uint64_t fast;          /* messages (values and keys) decoded by the fast path */
    uint64_t fallback;      /* ... handed to the reference (jansson) path */
    uint64_t reference;     /* ... decoded by the reference path because it is forced */
    uint64_t cache_hits;    /* schemas found in the cache */
    uint64_t cache_misses;  /* schemas compiled */
    uint64_t cache_evictions;
} sluice_json_decoder_stats_t;

struct sluice_json_decoder;
void sluice_json_decoder_get_stats(const struct sluice_json_decoder *dec,
                                   sluice_json_decoder_stats_t *out);
/* on: every message takes the reference path (what
 * SLUICE_DECODE_JSON_REFERENCE=1 sets at creation). */
void sluice_json_decoder_set_reference(struct sluice_json_decoder *dec, int on);
/* Schema cache capacity (default 1024, at least 1); empties the cache. */
int sluice_json_decoder_set_cache_cap(struct sluice_json_decoder *dec, size_t cap);

#endif
