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
    SLUICE_OP_TOMBSTONE = 'T' /* Kafka record with a null value */
} sluice_op_t;

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
    SLUICE_VAL_UNAVAILABLE  /* unchanged TOAST placeholder: "keep the stored value" */
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

typedef struct {
    const char *name;
    sluice_value_t value;
} sluice_column_t;

typedef struct {
    int present; /* 0: absent or null in the envelope */
    sluice_column_t *cols;
    size_t ncols;
} sluice_row_t;

/* Source position, compared lexicographically part by part. PostgreSQL:
 * [commit LSN, change LSN] from source.sequence (or [lsn] for old
 * connectors); MySQL: [binlog file number, pos, row]. n == 0: unknown (an
 * incremental snapshot read carries no position). */
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

    sluice_arena_t arena;
} sluice_event_t;

void sluice_event_init(sluice_event_t *ev);
void sluice_event_cleanup(sluice_event_t *ev);
/* Clears every field and recycles the arena for the next message. */
void sluice_event_reset(sluice_event_t *ev);

/* Column lookup by name; NULL if the row lacks it. */
const sluice_value_t *sluice_row_get(const sluice_row_t *row, const char *name);

/* Compares positions: <0, 0, >0. Parts missing on one side compare as
 * smaller. Unknown positions (n == 0) compare equal to each other. */
int sluice_pos_cmp(const sluice_pos_t *a, const sluice_pos_t *b);

const char *sluice_op_name(sluice_op_t op);
const char *sluice_snapshot_name(sluice_snapshot_t snap);
const char *sluice_value_kind_name(sluice_value_kind_t kind);

/* Writes the event as one JSON document (op, topic coordinates, source
 * position, table, key, before, after with value kinds) for `sluice decode`. */
int sluice_event_to_json(const sluice_event_t *ev, sluice_buf_t *out);

#endif
