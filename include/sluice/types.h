/* Debezium / Kafka Connect values -> PostgreSQL. Two jobs, one module:
 *  - the type table: a column's Connect schema (physical type + semantic
 *    name + parameters) -> how its values decode (sluice_type_rule_t), the
 *    value kind they get, and the PostgreSQL type to create or add the
 *    column with (sluice_types_resolve);
 *  - formatting a decoded value as PostgreSQL's text input form, so it can
 *    be bound as a text parameter to a column of the matching type
 *    (sluice_types_pg_text, sluice_types_pg_text_for).
 * docs/types.md is the human-readable form of the table. */
#ifndef SLUICE_TYPES_H
#define SLUICE_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/buf.h"
#include "sluice/error.h"
#include "sluice/event.h"

/* binary.handling.mode of the connector: with base64, base64-url-safe and
 * hex, bytea / BLOB columns arrive as Connect STRING fields. */
typedef enum {
    SLUICE_BINARY_BYTES = 0,
    SLUICE_BINARY_BASE64,
    SLUICE_BINARY_BASE64_URL_SAFE,
    SLUICE_BINARY_HEX
} sluice_binary_mode_t;

/* decimal.handling.mode of the connector. */
typedef enum {
    SLUICE_DECIMAL_PRECISE = 0,
    SLUICE_DECIMAL_STRING,
    SLUICE_DECIMAL_DOUBLE
} sluice_decimal_mode_t;

/* Connector option text -> enum; -1 for an unknown name (NULL or "" is the
 * default, 0). Names as Debezium spells them ("base64-url-safe"). */
int sluice_binary_mode_parse(const char *s);
int sluice_decimal_mode_parse(const char *s);

/* Physical Kafka Connect schema types (Avro primitives map onto them). */
typedef enum {
    SLUICE_CT_NONE = 0,
    SLUICE_CT_INT8,
    SLUICE_CT_INT16,
    SLUICE_CT_INT32,
    SLUICE_CT_INT64,
    SLUICE_CT_FLOAT32,
    SLUICE_CT_FLOAT64,
    SLUICE_CT_BOOLEAN,
    SLUICE_CT_STRING,
    SLUICE_CT_BYTES,
    SLUICE_CT_ARRAY,
    SLUICE_CT_MAP,
    SLUICE_CT_STRUCT
} sluice_connect_type_t;

/* Connect type name ("int32", "STRING", "float" ...) -> enum; NONE if unknown. */
sluice_connect_type_t sluice_connect_type_parse(const char *s);
const char *sluice_connect_type_name(sluice_connect_type_t t);

/* How a decoder turns the wire value of a column into a sluice_value_t. */
typedef enum {
    SLUICE_RULE_INT = 0,      /* integer -> INT */
    SLUICE_RULE_FLOAT,        /* number, "NaN", "Infinity", "-Infinity" -> FLOAT */
    SLUICE_RULE_BOOL,
    SLUICE_RULE_TEXT,         /* string -> TEXT */
    SLUICE_RULE_BYTES,        /* bytes (JSON: base64) -> BYTES */
    SLUICE_RULE_BYTES_TEXT,   /* string encoded per binary.handling.mode -> BYTES */
    SLUICE_RULE_DECIMAL,      /* Connect Decimal: unscaled bytes + schema scale -> DECIMAL */
    SLUICE_RULE_DECIMAL_TEXT, /* decimal.handling.mode=string: "12.5", "NAN",
                               * "POSITIVE_INFINITY" -> DECIMAL ("NaN", "Infinity") */
    SLUICE_RULE_VSD,          /* io.debezium.data.VariableScaleDecimal {scale, value} */
    SLUICE_RULE_DATE,         /* days -> DATE */
    SLUICE_RULE_TIME_MS,
    SLUICE_RULE_TIME_US,
    SLUICE_RULE_TIME_NS,
    SLUICE_RULE_TS_MS,
    SLUICE_RULE_TS_US,
    SLUICE_RULE_TS_NS,
    SLUICE_RULE_TIMESTAMPTZ,  /* ISO-8601 string with offset, kept as sent */
    SLUICE_RULE_TIMETZ,
    SLUICE_RULE_JSON,         /* string holding a JSON document */
    SLUICE_RULE_UUID,
    SLUICE_RULE_INTERVAL_ISO, /* io.debezium.time.Interval "P1Y2M..." */
    SLUICE_RULE_INTERVAL_US,  /* io.debezium.time.MicroDuration (int64 µs) */
    SLUICE_RULE_BITS,         /* io.debezium.data.Bits: little-endian bytes -> "0101" */
    SLUICE_RULE_GEOMETRY,     /* Geometry / Geography {wkb, srid} -> EWKB */
    SLUICE_RULE_POINT,        /* io.debezium.data.geometry.Point {x, y, ...} -> "(x,y)" */
    SLUICE_RULE_MAP,          /* map (hstore in map mode) -> JSON object text */
    SLUICE_RULE_STRUCT,       /* any other struct -> JSON object text */
    SLUICE_RULE_ARRAY         /* array: elements by their own plan */
} sluice_type_rule_t;

/* What a decoder knows about one field schema. Fill with
 * sluice_type_in_init() first: every unknown number is -1. */
typedef struct {
    sluice_connect_type_t type;
    const char *name;        /* semantic name (schema "name" / Avro "connect.name") or NULL */
    int optional;
    int has_scale;           /* Decimal parameters.scale present (it may be negative) */
    int32_t scale;           /* ... its value */
    int32_t precision;       /* parameters "connect.decimal.precision", -1 if absent */
    int32_t length;          /* Bits parameters.length, -1 if absent */
    const char *source_type; /* parameters "__debezium.source.column.type" (column.propagate.
                              * source.type), e.g. "NUMERIC", "VARCHAR", "BYTEA"; or NULL */
    int32_t source_length;   /* "__debezium.source.column.length", -1 if absent */
    int32_t source_scale;    /* "__debezium.source.column.scale", -1 if absent */
} sluice_type_in_t;

void sluice_type_in_init(sluice_type_in_t *in);

/* The decode options that change how a schema maps (see decode_json.h). */
typedef struct {
    sluice_binary_mode_t binary_mode;
    sluice_decimal_mode_t decimal_mode;
} sluice_type_opts_t;

/* A resolved field: what the decoders cache per schema. */
typedef struct {
    sluice_type_rule_t rule;
    sluice_value_kind_t kind;
    int32_t scale; /* DECIMAL: the schema's scale */
    int32_t bits;  /* BITS: the schema's length in bits, -1 unknown */
} sluice_type_plan_t;

/* The one type table: (in, opts) -> plan, and the PostgreSQL type written
 * to pg_type (NUL-terminated, truncated to pglen; 64 bytes always suffice).
 * For SLUICE_CT_ARRAY, pass the element's in/plan/pg_type as elem (already
 * resolved; NULL when unknown, e.g. schemaless): the array's pg_type is the
 * element's with "[]". Never fails: a combination the table does not know
 * falls back on the physical type (text for strings, jsonb for maps and
 * structs, bytea for bytes). opts may be NULL (defaults). */
void sluice_types_resolve(const sluice_type_in_t *in, const sluice_type_opts_t *opts,
                          const sluice_type_plan_t *elem, const char *elem_pg_type,
                          sluice_type_plan_t *plan, char *pg_type, size_t pglen);

/* Appends the text form of v to out (no quoting for SQL: values are always
 * bound as parameters). v must not be SLUICE_VAL_NULL or UNAVAILABLE (the
 * caller binds NULL or leaves the column out). Arrays become array literals
 * ('{1,2,NULL}', elements quoted as PostgreSQL requires); bytes become
 * '\x..' hex; dates 'YYYY-MM-DD' (BC years as PostgreSQL writes them);
 * timestamps 'YYYY-MM-DD HH:MM:SS.ffffff'; GEOMETRY '\x..' hex EWKB (a
 * bytea column); BITS/INTERVAL their text. */
int sluice_types_pg_text(const sluice_value_t *v, sluice_buf_t *out, sluice_err_t *err);

/* The same, for a target column whose PostgreSQL type is known: target is
 * format_type() of the column, with or without "[]" (NULL: as
 * sluice_types_pg_text). What changes with the target:
 *  - "geometry"/"geography" (PostGIS): GEOMETRY as hex EWKB without "\x";
 *  - "hstore": a JSON object of strings (hstore json or map mode) as
 *    hstore text "\"k\"=>\"v\", \"n\"=>NULL";
 *  - "bytea": TEXT (bytes that arrived as a string: no schema, or
 *    binary.handling.mode without column type propagation) decoded per
 *    binary_mode (BYTES and BASE64: base64, as JsonConverter writes bytes
 *    without a schema; BASE64_URL_SAFE; HEX) -> "\x.." hex; undecodable
 *    text is a SLUICE_ERR_PERMANENT error, never stored as-is;
 *  - "money": DECIMAL/FLOAT as is (money input takes a plain number in
 *    any lc_monetary that uses '.' as decimal point);
 *  - "point": a JSON {"x":..,"y":..} struct as "(x,y)".
 * Arrays apply the element rule to each element. */
int sluice_types_pg_text_for(const sluice_value_t *v, const char *target,
                             sluice_binary_mode_t binary_mode, sluice_buf_t *out,
                             sluice_err_t *err);

/* The same in two steps, for callers that write many values of one column:
 * the rule for a target type, then values with that rule. */
int sluice_types_pg_target(const char *target);
int sluice_types_pg_text_as(const sluice_value_t *v, int target, sluice_binary_mode_t binary_mode,
                            sluice_buf_t *out, sluice_err_t *err);

#endif
