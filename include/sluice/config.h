/* Worker configuration: one JSON file plus SLUICE_* environment overrides,
 * validated against a declarative key table (sluice_config_keys). */
#ifndef SLUICE_CONFIG_H
#define SLUICE_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "sluice/error.h"

typedef struct {
    char *key;
    char *value;
} sluice_kv_t;

typedef struct {
    /* kafka.*: librdkafka properties, passed through as they are */
    sluice_kv_t *kafka;
    size_t nkafka;

    char *pg_conninfo; /* postgres.conninfo */

    char **topics; /* topics: names, or ^regex patterns */
    size_t ntopics;

    char *mirror_schema;        /* mirror.schema */
    sluice_kv_t *mirror_tables; /* mirror.tables: topic -> schema.table */
    size_t nmirror_tables;

    long batch_max_events; /* batch.max_events */
    long batch_max_ms;     /* batch.max_ms */
    long batch_max_bytes;  /* batch.max_bytes */
    int workers;           /* workers: consumers (and batch connections) in this process */

    char *unavailable_placeholder; /* decode.unavailable_placeholder */

    char *format_key;   /* format.key: json | avro | auto */
    char *format_value; /* format.value: json | avro | auto */

    char *registry_url;        /* registry.url (may carry a path prefix) */
    char *registry_basic_auth; /* registry.basic_auth: "user:password" */
    char *registry_ca_file;    /* registry.ca_file */
    char *registry_cert_file;  /* registry.cert_file (client certificate) */
    char *registry_key_file;   /* registry.key_file */
    long registry_timeout_ms;  /* registry.timeout_ms */

    long retry_max_elapsed_ms; /* retry.max_elapsed_ms */
    long retry_base_ms;        /* retry.base_ms */
    long retry_cap_ms;         /* retry.cap_ms */

    int mirror_truncate;          /* mirror.truncate: apply 't' events */
    int mirror_reconcile;         /* mirror.reconcile_deletes */
    char *mirror_delete_mode;     /* mirror.delete_mode: hard | soft */
    char *mirror_schema_evolution; /* mirror.schema_evolution: none | basic */
    char *mirror_keyless;         /* mirror.keyless: reject | all_columns */

    char *topic_delimiter; /* topic.delimiter: between prefix, schema and table */

    /* handlers: compiled handler name -> its table patterns, joined by '\n'
     * ("" disables the handler) */
    sluice_kv_t *handlers;
    size_t nhandlers;

    int dlq_enabled;  /* dlq.enabled */
    char *dlq_topic;  /* dlq.topic: NULL = "<source topic>.dlq" */

    char *source_path; /* file the config came from ("" for none) */

    /* connectors: Debezium connector manifests (paths resolved against the
     * config file's directory), loaded and derived by sluice_config_load */
    char **connectors;
    size_t nconnectors;
    struct sluice_manifest **manifests; /* owned; see sluice/manifest.h */
    size_t nmanifests;

    char *source_conninfo; /* source.conninfo: the SOURCE database (backfill signals) */

    /* Settings derived from the manifests (NULL / 0 when no manifest says). */
    char **topics_exclude; /* full-match EREs: topics of tables a manifest excludes */
    size_t ntopics_exclude;
    char *decimal_mode;        /* decimal.handling.mode */
    char *time_precision_mode; /* time.precision.mode */
    char *binary_mode;         /* binary.handling.mode */
    int unwrap;                /* values flattened by ExtractNewRecordState */
    char *unwrap_delete_mode;  /* its delete handling */
    int transaction_metadata;  /* provide.transaction.metadata */
    char *heartbeat_prefix;    /* topic.heartbeat.prefix (heartbeats enabled) */
    char *signal_data_collection; /* signal.data.collection */
    char *signal_channels;        /* signal.enabled.channels */
    char *signal_kafka_topic;     /* signal.kafka.topic */

    unsigned char key_set[64]; /* per sluice_config_keys index: set by file or environment */
} sluice_config_t;

typedef enum {
    SLUICE_CFG_STRING,
    SLUICE_CFG_INT,
    SLUICE_CFG_STRING_LIST,
    SLUICE_CFG_STRING_MAP,
    SLUICE_CFG_BOOL
} sluice_config_type_t;

typedef struct {
    const char *key;     /* dotted path in the JSON file */
    sluice_config_type_t type;
    const char *def;     /* default as text, NULL when required or empty */
    int required;
    const char *env;     /* environment override, NULL if none */
    const char *doc;     /* one line */
    long min, max;       /* for integers */
} sluice_config_key_t;

/* The declarative table, terminated by an entry with key == NULL. */
extern const sluice_config_key_t sluice_config_keys[];

/* Loads path (may be NULL: environment only), applies environment overrides
 * and validates. Returns NULL with a SLUICE_ERR_FATAL message naming the key
 * and the fix. Caller destroys. */
sluice_config_t *sluice_config_load(const char *path, sluice_err_t *err);
/* Same, from a JSON text already in memory (tests). */
sluice_config_t *sluice_config_load_string(const char *json, const char *origin, sluice_err_t *err);
void sluice_config_destroy(sluice_config_t *cfg);

/* Value of a kafka.* property, NULL if unset. */
const char *sluice_config_kafka_get(const sluice_config_t *cfg, const char *key);
/* Patterns configured for a compiled handler ('\n'-separated; "" = off), or
 * NULL when the config does not mention it. */
const char *sluice_config_handler_patterns(const sluice_config_t *cfg, const char *name);

/* Target table for a topic from mirror.tables, NULL if not listed. */
const char *sluice_config_mirror_table(const sluice_config_t *cfg, const char *topic);

/* Whether the config file or the environment set key (not a default). */
int sluice_config_is_set(const sluice_config_t *cfg, const char *key);
/* Appends a topic (name or ^pattern) unless already listed. */
int sluice_config_add_topic(sluice_config_t *cfg, const char *topic);
/* Whether topic matches a topics_exclude pattern (a table a manifest excludes). */
int sluice_config_topic_excluded(const sluice_config_t *cfg, const char *topic);

/* Whether topic is one of cfg->topics: a name, or a "^regex" it matches
 * (exclusions not considered). */
int sluice_config_topic_selected(const sluice_config_t *cfg, const char *topic);

/* Prints the effective configuration with secrets masked (sluice check). */
void sluice_config_print(const sluice_config_t *cfg, FILE *out);
/* Prints the key table as documentation (sluice check --keys). */
void sluice_config_print_keys(FILE *out);

/* "host=db password=s3cret" -> "host=db password=*****" (also URIs). Caller frees. */
char *sluice_config_mask_conninfo(const char *conninfo);
/* Whether a librdkafka property holds a secret (sasl.password, ssl.key.password...). */
int sluice_config_is_secret_key(const char *key);

#endif
