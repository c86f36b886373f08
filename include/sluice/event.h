/* The decoded change-event model: what every decoder produces and every
 * handler consumes. An event owns an arena; every string, row and value it
 * points to lives there until sluice_event_reset()/sluice_event_cleanup(). */
#ifndef SLUICE_EVENT_H
#define SLUICE_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/buf.h"

typedef enum {
    SLUICE_OP_NONE = 0,
    SLUICE_OP_CREATE = 'c',
    SLUICE_OP_UPDATE = 'u',
    SLUICE_OP_DELETE = 'd',
    SLUICE_OP_READ = 'r',     /* snapshot read */
    SLUICE_OP_TRUNCATE = 't',
    SLUICE_OP_MESSAGE = 'm',
    SLUICE_OP_TOMBSTONE = 'T', /* Kafka record with a null value */
    SLUICE_OP_CONTROL = 'C'    /* no row change: heartbeat, schema change, transaction
                                * BEGIN/END (ev->control says which); apply nothing,
                                * advance the offset */
} sluice_op_t;

/* What a SLUICE_OP_CONTROL record is. */
typedef enum {
    SLUICE_CONTROL_NONE = 0,
    SLUICE_CONTROL_HEARTBEAT,     /* io.debezium.connector.common.Heartbeat {ts_ms} */
    SLUICE_CONTROL_SCHEMA_CHANGE, /* schema-change topic: ddl / tableChanges */
    SLUICE_CONTROL_TX_BEGIN,      /* transaction topic, status BEGIN */
    SLUICE_CONTROL_TX_END         /* transaction topic, status END */
} sluice_control_t;

typedef enum {
    SLUICE_SNAPSHOT_FALSE = 0,
    SLUICE_SNAPSHOT_TRUE,
    SLUICE_SNAPSHOT_FIRST,
    SLUICE_SNAPSHOT_FIRST_IN_DATA_COLLECTION,
    SLUICE_SNAPSHOT_LAST_IN_DATA_COLLECTION,
    SLUICE_SNAPSHOT_LAST,
    SLUICE_SNAPSHOT_INCREMENTAL
} sluice_snapshot_t;

typedef enum {
    SLUICE_VAL_NULL = 0,
    SLUICE_VAL_BOOL,        /* u.b */
    SLUICE_VAL_INT,         /* u.i */
    SLUICE_VAL_FLOAT,       /* u.f */
    SLUICE_VAL_DECIMAL,     /* u.s: exact decimal text "-12.50", "NaN", "Infinity" */
    SLUICE_VAL_TEXT,        /* u.s: UTF-8 text */
    SLUICE_VAL_BYTES,       /* u.s: raw bytes (decoded from base64/hex) */
    SLUICE_VAL_JSON,        /* u.s: JSON document text */
    SLUICE_VAL_UUID,        /* u.s: canonical text */
    SLUICE_VAL_DATE,        /* u.i: days since 1970-01-01 */
    SLUICE_VAL_TIME,        /* u.i: microseconds past midnight */
    SLUICE_VAL_TIMESTAMP,   /* u.i: microseconds since epoch, wall clock (no zone) */
    SLUICE_VAL_TIMESTAMPTZ, /* u.s: ISO-8601 instant as sent ("2024-06-26T02:12:51.219026Z") */
    SLUICE_VAL_TIMETZ,      /* u.s: ISO-8601 time with offset ("11:12:51.219026Z") */
    SLUICE_VAL_ARRAY,       /* u.arr */
    SLUICE_VAL_UNAVAILABLE, /* unchanged TOAST placeholder: "keep the stored value" */
    SLUICE_VAL_INTERVAL,    /* u.s: interval text PostgreSQL accepts: ISO-8601 "P1Y2M3DT4H5M6.5S"
                             * (io.debezium.time.Interval) or "<n> microseconds" (MicroDuration) */
    SLUICE_VAL_BITS,        /* u.s: bit string "0101" (io.debezium.data.Bits), leftmost bit first */
    SLUICE_VAL_GEOMETRY     /* u.s: EWKB bytes (WKB with the SRID folded in, when there is one) */
} sluice_value_kind_t;

typedef struct sluice_value {
    sluice_value_kind_t kind;
    union {
        int b;
        int64_t i;
        double f;
        struct {
            const char *ptr; /* NUL-terminated; len excludes the NUL */
            size_t len;
        } s;
        struct {
            struct sluice_value *items;
            size_t n;
        } arr;
    } u;
} sluice_value_t;

/* What a column's schema says (NULL on a column when the envelope carried
 * no schema): the PostgreSQL type to create or add it with, and how its
 * values decode. Owned by the decoder (Avro: the cached plan; JSON: the
 * event's arena); see sluice/types.h for the mapping. */
typedef struct sluice_coltype {
    const char *pg_type;           /* "numeric(38,10)", "timestamp(6)", "int4[]", "jsonb", ... */
    sluice_value_kind_t kind;      /* kind of a non-null value (ARRAY for arrays) */
    sluice_value_kind_t elem_kind; /* arrays: kind of the elements; else SLUICE_VAL_NULL */
    const char *semantic;          /* schema name / connect.name ("io.debezium.time.Date"), or NULL */
    const char *connect_type;      /* physical Connect type: "int32", "string", "bytes", "array", ... */
    int optional;                  /* the schema allows null: a nullable column */
    int32_t precision;             /* Decimal precision / string length if known, else -1 */
    int32_t scale;                 /* Decimal scale if known, else -1 */
} sluice_coltype_t;

typedef struct {
    const char *name;
    sluice_value_t value;
    const sluice_coltype_t *type; /* NULL without a schema */
    int key;                      /* the column is part of the record key (see
                                   * sluice_event_mark_key_columns) */
} sluice_column_t;

typedef struct {
    int present; /* 0: absent or null in the envelope */
    sluice_column_t *cols;
    size_t ncols;
} sluice_row_t;

/* Source position, compared lexicographically part by part. PostgreSQL:
 * [commit LSN, change LSN] from source.sequence (or [lsn] for old
 * connectors); MySQL: [binlog file number, pos, row]. n == 0: unknown (an
 * incremental snapshot read carries no position). A PostgreSQL snapshot read
 * has no commit LSN ([0, LSN]): against it only the change LSNs count, so a
 * read of a blocking snapshot overwrites changes older than the snapshot and
 * never newer ones. */
#define SLUICE_POS_MAX_PARTS 4
typedef struct {
    int n;
    int64_t part[SLUICE_POS_MAX_PARTS];
} sluice_pos_t;

typedef struct sluice_event {
    sluice_op_t op;

    /* Kafka coordinates; topic borrowed from the message (not owned). */
    const char *topic;
    int32_t partition;
    int64_t offset;

    /* source block */
    const char *connector; /* "postgresql", "mysql", ... */
    const char *server;    /* source.name: the topic prefix */
    const char *db;
    const char *schema;    /* NULL for MySQL */
    const char *table;
    sluice_snapshot_t snapshot;
    int64_t source_ts_ms;  /* commit time in the source database, 0 if absent */
    int64_t ts_ms;         /* envelope ts_ms: when Debezium processed it */
    sluice_pos_t pos;
    int64_t tx_id;         /* -1 if absent */

    sluice_row_t key;      /* from the record key; present=0 if no key */
    sluice_row_t before;
    sluice_row_t after;

    /* op 'm' */
    const char *msg_prefix;
    sluice_value_t msg_content;

    /* op SLUICE_OP_CONTROL */
    sluice_control_t control;
    const char *ctl_id;      /* transaction id ("571:53195829"), NULL otherwise */
    int64_t ctl_count;       /* TX_END: event_count; else 0 */
    const char *ctl_ddl;     /* SCHEMA_CHANGE: the DDL text, NULL if absent */
    const char *ctl_db;      /* SCHEMA_CHANGE: databaseName */

    /* Records flattened by ExtractNewRecordState: flattened = 1; the added
     * "__" fields (__op, __table, __lsn, __source_ts_ms, __deleted, ...) are
     * not columns: they are in meta, by their full field name. */
    int flattened;
    sluice_row_t meta;

    sluice_arena_t arena;
} sluice_event_t;

void sluice_event_init(sluice_event_t *ev);
void sluice_event_cleanup(sluice_event_t *ev);
/* Clears every field and recycles the arena for the next message. */
void sluice_event_reset(sluice_event_t *ev);

/* Sets cols[i].key on the before/after (and meta) columns whose name is a
 * column of ev->key, and on every key column; clears it elsewhere.
 * Idempotent; the decoders call it after decoding a key or a value, so it
 * holds whichever of the two is decoded last. */
void sluice_event_mark_key_columns(sluice_event_t *ev);

/* Column lookup by name; NULL if the row lacks it. */
const sluice_value_t *sluice_row_get(const sluice_row_t *row, const char *name);

/* Compares positions: <0, 0, >0. Parts missing on one side compare as
 * smaller. Unknown positions (n == 0) compare equal to each other. */
int sluice_pos_cmp(const sluice_pos_t *a, const sluice_pos_t *b);

const char *sluice_op_name(sluice_op_t op);
const char *sluice_control_name(sluice_control_t control);
const char *sluice_snapshot_name(sluice_snapshot_t snap);
const char *sluice_value_kind_name(sluice_value_kind_t kind);

/* Writes the event as one JSON document (op, topic coordinates, source
 * position, table, key, before, after with value kinds) for `sluice decode`. */
int sluice_event_to_json(const sluice_event_t *ev, sluice_buf_t *out);

#endif
