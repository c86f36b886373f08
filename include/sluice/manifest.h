/* Debezium connector manifests: the Kafka Connect JSON that is PUT to the
 * REST API ({"name", "config"} or a flat config map) and Strimzi
 * KafkaConnector YAML. A manifest is read as it is written (config-provider
 * placeholders such as ${file:/p:k} kept), then derived into what a worker
 * needs to know: the topics to subscribe, the converters and decoding modes,
 * heartbeat, signal and transaction-metadata settings. Values Sluice does not
 * understand and that change the data are errors naming the key and the fix;
 * everything else (hostnames, passwords, slot names...) is left alone. */
#ifndef SLUICE_MANIFEST_H
#define SLUICE_MANIFEST_H

#include <stddef.h>
#include <stdio.h>

#include "sluice/config.h"
#include "sluice/error.h"

typedef struct sluice_manifest {
    /* --- as read ------------------------------------------------------ */
    char *path;            /* file it came from (or the origin given to parse) */
    char *name;            /* connector name ("name", or Strimzi metadata.name) */
    sluice_kv_t *props;    /* the connector config, values as written */
    size_t nprops;
    int strimzi;           /* read from a KafkaConnector resource */

    /* --- derived (sluice_manifest_derive) ------------------------------- */
    int derived;
    char *source_kind;     /* "postgres" | "mysql" | "mariadb" */
    char *topic_prefix;    /* topic.prefix, or legacy database.server.name */
    char *topic_delimiter; /* topic.delimiter (default ".") */
    char **topics;         /* names, or ^regex patterns (POSIX ERE, full match) */
    size_t ntopics;
    char **topics_exclude; /* full-match EREs of topics of excluded tables */
    size_t ntopics_exclude;
    char *topics_underivable; /* why topics could not be derived, or NULL */

    char *key_format;        /* "json" | "avro"; NULL: left to the Connect worker */
    char *value_format;
    int key_schemas;         /* JsonConverter schemas.enable: 1, 0; -1 not JSON/unknown */
    int value_schemas;
    char *registry_url;      /* from *.converter.schema.registry.url */
    char *registry_basic_auth; /* "user:password" (USER_INFO source) */

    char *decimal_mode;        /* decimal.handling.mode (default precise) */
    char *time_precision_mode; /* time.precision.mode (default adaptive) */
    char *binary_mode;         /* binary.handling.mode (default bytes) */
    char *unavailable_placeholder; /* NULL: the default */
    int transaction_metadata;  /* provide.transaction.metadata */
    char *transaction_topic;   /* <prefix><delim><topic.transaction> when enabled */

    int unwrap;                /* an ExtractNewRecordState transform flattens values */
    char *unwrap_delete_mode;  /* its delete handling: tombstone|drop|rewrite|none */
    char **transforms;         /* "alias=class" in chain order */
    size_t ntransforms;

    long heartbeat_interval_ms;
    char *heartbeat_prefix;    /* topic.heartbeat.prefix (default __debezium-heartbeat) */
    char *heartbeat_topic;     /* <prefix>.<topic.prefix> */

    char *signal_data_collection; /* signal.data.collection, NULL if unset */
    char *signal_channels;        /* signal.enabled.channels (default "source") */
    char *signal_kafka_topic;     /* signal.kafka.topic */
    char *signal_kafka_bootstrap; /* signal.kafka.bootstrap.servers */

    char **notes;              /* things an operator should know (printed by check) */
    size_t nnotes;
} sluice_manifest_t;

/* Reads a manifest file: JSON ({"name","config"} or a flat map) or Strimzi
 * KafkaConnector YAML (the file may hold other resources; exactly one
 * KafkaConnector). Nothing is derived yet. Caller destroys. */
sluice_manifest_t *sluice_manifest_load(const char *path, sluice_err_t *err);
/* Same, from text in memory; origin names it in errors. */
sluice_manifest_t *sluice_manifest_parse(const char *text, size_t len, const char *origin,
                                         sluice_err_t *err);
void sluice_manifest_destroy(sluice_manifest_t *m);

/* Derives the settings above, resolving config-provider placeholders of the
 * properties it needs. Errors are SLUICE_ERR_FATAL and name the manifest, the
 * key and the fix. */
int sluice_manifest_derive(sluice_manifest_t *m, sluice_err_t *err);

/* A property as written (placeholders unresolved), NULL if unset. */
const char *sluice_manifest_raw(const sluice_manifest_t *m, const char *key);
/* A property with ${file:..}, ${env:..}, ${directory:..} and ${secrets:..}
 * placeholders resolved. *out is NULL when the property is unset. Caller
 * frees *out. */
int sluice_manifest_get(const sluice_manifest_t *m, const char *key, char **out, sluice_err_t *err);
/* Resolves placeholders in any text (see docs/manifests.md for where
 * ${secrets:ns/name:key} is looked up). Caller frees *out. */
int sluice_manifest_resolve_text(const char *text, char **out, sluice_err_t *err);

/* The connector config for PUT /connectors/{name}/config as JSON text:
 * placeholders kept (Kafka Connect resolves them), Strimzi's spec.class and
 * spec.tasksMax as connector.class and tasks.max. Caller frees. */
char *sluice_manifest_connect_config(const sluice_manifest_t *m);

/* Derived settings as a JSON object text (tests, `sluice check`). Caller frees. */
char *sluice_manifest_to_json(const sluice_manifest_t *m);
/* Human-readable plan for `sluice check`. */
void sluice_manifest_print(const sluice_manifest_t *m, FILE *out);

/* Topic Debezium writes a captured table to ("schema.table" or "db.table"),
 * after topic-routing transforms. Caller frees *topic. */
int sluice_manifest_table_topic(const sluice_manifest_t *m, const char *table, char **topic,
                                sluice_err_t *err);
/* libpq conninfo of the SOURCE database from database.hostname, .port,
 * .user, .password and .dbname (placeholders resolved). Caller frees. */
int sluice_manifest_source_conninfo(const sluice_manifest_t *m, char **conninfo, sluice_err_t *err);

/* Applies derived settings of every manifest onto cfg: topics appended;
 * format.key/format.value/registry.url/registry.basic_auth/
 * decode.unavailable_placeholder set unless the config set them explicitly
 * (a different explicit value is an error); the manifest-only settings
 * (decimal/time/binary modes, transforms, heartbeat, signals, transaction
 * metadata) set, and manifests that disagree on them are an error. */
int sluice_manifest_apply(sluice_manifest_t *const *ms, size_t n, sluice_config_t *cfg,
                          sluice_err_t *err);

#endif
