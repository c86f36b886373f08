/* Configuration: the key table, JSON file parsing (jansson), SLUICE_*
 * environment overrides and validation. Owns the meaning of every config key;
 * it does not open connections (that is `sluice check`'s job in cli). */
#include "sluice/config.h"
#include "config_int.h"

#include <ctype.h>
#include <libgen.h>
#include <regex.h>
#include <stddef.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/manifest.h"

/* Keys with type STRING_MAP accept an object of string values; the kafka map
 * is special: its own keys are librdkafka properties, checked by librdkafka
 * when the consumer is created. */
const sluice_config_key_t sluice_config_keys[] = {
    {"kafka", SLUICE_CFG_STRING_MAP, NULL, 0, NULL,
     "librdkafka properties passed through as they are (bootstrap.servers, group.id, security.protocol, ...)", 0, 0},
    {"kafka.bootstrap.servers", SLUICE_CFG_STRING, NULL, 1, "SLUICE_KAFKA_BOOTSTRAP_SERVERS",
     "Kafka brokers, host:port[,host:port...]", 0, 0},
    {"kafka.group.id", SLUICE_CFG_STRING, NULL, 1, "SLUICE_KAFKA_GROUP_ID",
     "consumer group shared by all workers of one deployment; also the ledger's group_id", 0, 0},
    {"postgres.conninfo", SLUICE_CFG_STRING, NULL, 1, "SLUICE_POSTGRES_CONNINFO",
     "libpq connection string of the target database (key=value or postgresql:// URI)", 0, 0},
    {"topics", SLUICE_CFG_STRING_LIST, NULL, 0, "SLUICE_TOPICS",
     "topics to consume: names, or ^regex patterns (environment: comma-separated); required "
     "unless connectors derive them", 0, 0},
    {"connectors", SLUICE_CFG_STRING_LIST, NULL, 0, "SLUICE_CONNECTORS",
     "Debezium connector manifests (Kafka Connect JSON or Strimzi KafkaConnector YAML) whose "
     "topics, converters and modes the worker derives; relative to the config file", 0, 0},
    {"source.conninfo", SLUICE_CFG_STRING, NULL, 0, "SLUICE_SOURCE_CONNINFO",
     "libpq connection string of the SOURCE database, for `sluice backfill` signals (default: "
     "the manifest's database.* properties)", 0, 0},
    {"mirror.schema", SLUICE_CFG_STRING, "public", 0, "SLUICE_MIRROR_SCHEMA",
     "PostgreSQL schema of mirrored tables: topic prefix.schema.table -> <mirror.schema>.<table>", 0, 0},
    {"mirror.tables", SLUICE_CFG_STRING_MAP, NULL, 0, NULL,
     "per-topic target table overrides: {\"<topic>\": \"<schema>.<table>\"}", 0, 0},
    {"batch.max_events", SLUICE_CFG_INT, "5000", 0, "SLUICE_BATCH_MAX_EVENTS",
     "most events applied in one PostgreSQL transaction", 1, 1000000},
    {"batch.max_bytes", SLUICE_CFG_INT, "4194304", 0, "SLUICE_BATCH_MAX_BYTES",
     "most message bytes (keys and values; a {schema,payload} value counts its payload) in one "
     "batch: bounds the worker's memory, two batches are held at a time", 65536, 1073741824},
    {"workers", SLUICE_CFG_INT, "1", 0, "SLUICE_WORKERS",
     "workers in this process, each a consumer of the group with its own PostgreSQL connection: "
     "one connection applies what PostgreSQL takes through one connection; they share "
     "batch.max_bytes, the prefetch queue and fetch.max.bytes", 1, 64},
    {"batch.max_ms", SLUICE_CFG_INT, "200", 0, "SLUICE_BATCH_MAX_MS",
     "longest time a batch collects events before it is applied (ms)", 1, 600000},
    {"decode.unavailable_placeholder", SLUICE_CFG_STRING, "__debezium_unavailable_value", 0, NULL,
     "the connector's unavailable.value.placeholder (unchanged TOAST columns)", 0, 0},
    {"format.key", SLUICE_CFG_STRING, "auto", 0, "SLUICE_FORMAT_KEY",
     "record key format: json, avro (Confluent wire format) or auto (a leading 0x00 magic byte means avro)", 0, 0},
    {"format.value", SLUICE_CFG_STRING, "auto", 0, "SLUICE_FORMAT_VALUE",
     "record value format: json, avro or auto", 0, 0},
    {"registry.url", SLUICE_CFG_STRING, NULL, 0, "SLUICE_REGISTRY_URL",
     "schema registry base URL, path prefix allowed (Apicurio: http://host/apis/ccompat/v7)", 0, 0},
    {"registry.basic_auth", SLUICE_CFG_STRING, NULL, 0, "SLUICE_REGISTRY_BASIC_AUTH",
     "registry basic auth as user:password (basic.auth.user.info)", 0, 0},
    {"registry.ca_file", SLUICE_CFG_STRING, NULL, 0, NULL,
     "CA bundle (PEM) to verify the registry's TLS certificate", 0, 0},
    {"registry.cert_file", SLUICE_CFG_STRING, NULL, 0, NULL,
     "client certificate (PEM) for registry mTLS", 0, 0},
    {"registry.key_file", SLUICE_CFG_STRING, NULL, 0, NULL,
     "client private key (PEM) for registry mTLS", 0, 0},
    {"registry.timeout_ms", SLUICE_CFG_INT, "10000", 0, NULL,
     "timeout of one registry request (ms)", 100, 600000},
    {"retry.max_elapsed_ms", SLUICE_CFG_INT, "240000", 0, "SLUICE_RETRY_MAX_ELAPSED_MS",
     "how long a transient failure is retried before the worker exits with code 1 (ms)", 1000,
     86400000},
    {"retry.base_ms", SLUICE_CFG_INT, "100", 0, NULL, "first retry delay; doubles per attempt (ms)",
     1, 600000},
    {"retry.cap_ms", SLUICE_CFG_INT, "5000", 0, NULL, "longest delay between retries (ms)", 1,
     3600000},
    {"mirror.truncate", SLUICE_CFG_BOOL, "false", 0, NULL,
     "apply truncate events (op t) by truncating the mirrored table; false: log and skip them", 0, 0},
    {"mirror.reconcile_deletes", SLUICE_CFG_BOOL, "false", 0, NULL,
     "after a full snapshot of a table (Debezium snapshot = last_in_data_collection or last), delete "
     "the rows it did not read", 0, 0},
    {"mirror.delete_mode", SLUICE_CFG_STRING, "hard", 0, NULL,
     "hard: DELETE the row; soft: keep it with _sluice_deleted = true", 0, 0},
    {"mirror.schema_evolution", SLUICE_CFG_STRING, "none", 0, NULL,
     "none: a missing table or column is an error; basic: create tables, add columns (never drop or narrow)",
     0, 0},
    {"mirror.keyless", SLUICE_CFG_STRING, "reject", 0, NULL,
     "tables without a primary key: reject, or all_columns (match rows on every column of before)", 0,
     0},
    {"topic.delimiter", SLUICE_CFG_STRING, ".", 0, NULL,
     "Debezium's topic.delimiter: separates prefix, schema (or database) and table in topic names",
     0, 0},
    {"handlers", SLUICE_CFG_STRING_MAP, NULL, 0, NULL,
     "which compiled handlers run for which tables: {\"<handler>\": [\"<topic or schema.table>\", ...]} "
     "('*' wildcards; [] turns a handler off)",
     0, 0},
    {"dlq.enabled", SLUICE_CFG_BOOL, "false", 0, "SLUICE_DLQ_ENABLED",
     "dead-letter messages that cannot be applied and go on (false: stop before them)", 0, 0},
    {"dlq.topic", SLUICE_CFG_STRING, NULL, 0, "SLUICE_DLQ_TOPIC",
     "dead-letter topic for every source topic (default: <source topic>.dlq)", 0, 0},
    {NULL, 0, NULL, 0, NULL, NULL, 0, 0},
};

/* Where each string key is stored. */
static char **string_slot(sluice_config_t *cfg, const char *key)
{
    static const struct {
        const char *key;
        size_t off;
    } slots[] = {
        {"postgres.conninfo", offsetof(sluice_config_t, pg_conninfo)},
        {"source.conninfo", offsetof(sluice_config_t, source_conninfo)},
        {"mirror.schema", offsetof(sluice_config_t, mirror_schema)},
        {"decode.unavailable_placeholder", offsetof(sluice_config_t, unavailable_placeholder)},
        {"format.key", offsetof(sluice_config_t, format_key)},
        {"format.value", offsetof(sluice_config_t, format_value)},
        {"registry.url", offsetof(sluice_config_t, registry_url)},
        {"registry.basic_auth", offsetof(sluice_config_t, registry_basic_auth)},
        {"registry.ca_file", offsetof(sluice_config_t, registry_ca_file)},
        {"registry.cert_file", offsetof(sluice_config_t, registry_cert_file)},
        {"registry.key_file", offsetof(sluice_config_t, registry_key_file)},
        {"dlq.topic", offsetof(sluice_config_t, dlq_topic)},
        {"topic.delimiter", offsetof(sluice_config_t, topic_delimiter)},
        {"mirror.delete_mode", offsetof(sluice_config_t, mirror_delete_mode)},
        {"mirror.schema_evolution", offsetof(sluice_config_t, mirror_schema_evolution)},
        {"mirror.keyless", offsetof(sluice_config_t, mirror_keyless)},
    };
    size_t i;

    for (i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
        if (strcmp(slots[i].key, key) == 0)
            return (char **)((char *)cfg + slots[i].off);
    return NULL;
}

static const sluice_config_key_t *find_key(const char *key)
{
    const sluice_config_key_t *k;

    for (k = sluice_config_keys; k->key; k++)
        if (strcmp(k->key, key) == 0)
            return k;
    return NULL;
}

static void mark_set(sluice_config_t *cfg, const sluice_config_key_t *k)
{
    size_t i = (size_t)(k - sluice_config_keys);

    if (i < sizeof(cfg->key_set))
        cfg->key_set[i] = 1;
}

int sluice_config_is_set(const sluice_config_t *cfg, const char *key)
{
    const sluice_config_key_t *k = find_key(key);
    size_t i;

    if (!k)
        return 0;
    i = (size_t)(k - sluice_config_keys);
    return i < sizeof(cfg->key_set) && cfg->key_set[i];
}

static int kv_set(sluice_kv_t **arr, size_t *n, const char *key, const char *value)
{
    sluice_kv_t *grown;
    size_t i;

    for (i = 0; i < *n; i++) {
        if (strcmp((*arr)[i].key, key) == 0) {
            char *v = strdup(value);
            if (!v)
                return -1;
            free((*arr)[i].value);
            (*arr)[i].value = v;
            return 0;
        }
    }
    grown = realloc(*arr, (*n + 1) * sizeof(**arr));
    if (!grown)
        return -1;
    *arr = grown;
    grown[*n].key = strdup(key);
    grown[*n].value = strdup(value);
    if (!grown[*n].key || !grown[*n].value) {
        free(grown[*n].key);
        free(grown[*n].value);
        return -1;
    }
    (*n)++;
    return 0;
}

static const char *kv_get(const sluice_kv_t *arr, size_t n, const char *key)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(arr[i].key, key) == 0)
            return arr[i].value;
    return NULL;
}

static void kv_free(sluice_kv_t *arr, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(arr[i].key);
        free(arr[i].value);
    }
    free(arr);
}

static void strv_free(char **v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void sluice_config_destroy(sluice_config_t *cfg)
{
    size_t i;

    if (!cfg)
        return;
    for (i = 0; i < cfg->nmanifests; i++)
        sluice_manifest_destroy(cfg->manifests[i]);
    free(cfg->manifests);
    strv_free(cfg->connectors, cfg->nconnectors);
    strv_free(cfg->topics_exclude, cfg->ntopics_exclude);
    free(cfg->source_conninfo);
    free(cfg->decimal_mode);
    free(cfg->time_precision_mode);
    free(cfg->binary_mode);
    free(cfg->unwrap_delete_mode);
    free(cfg->heartbeat_prefix);
    free(cfg->signal_data_collection);
    free(cfg->signal_channels);
    free(cfg->signal_kafka_topic);
    kv_free(cfg->kafka, cfg->nkafka);
    free(cfg->pg_conninfo);
    for (i = 0; i < cfg->ntopics; i++)
        free(cfg->topics[i]);
    free(cfg->topics);
    free(cfg->mirror_schema);
    kv_free(cfg->mirror_tables, cfg->nmirror_tables);
    kv_free(cfg->handlers, cfg->nhandlers);
    free(cfg->topic_delimiter);
    free(cfg->unavailable_placeholder);
    free(cfg->format_key);
    free(cfg->format_value);
    free(cfg->registry_url);
    free(cfg->registry_basic_auth);
    free(cfg->registry_ca_file);
    free(cfg->registry_cert_file);
    free(cfg->registry_key_file);
    free(cfg->dlq_topic);
    free(cfg->mirror_delete_mode);
    free(cfg->mirror_schema_evolution);
    free(cfg->mirror_keyless);
    free(cfg->source_path);
    free(cfg);
}

const char *sluice_config_kafka_get(const sluice_config_t *cfg, const char *key)
{
    return kv_get(cfg->kafka, cfg->nkafka, key);
}

const char *sluice_config_handler_patterns(const sluice_config_t *cfg, const char *name)
{
    return kv_get(cfg->handlers, cfg->nhandlers, name);
}

const char *sluice_config_mirror_table(const sluice_config_t *cfg, const char *topic)
{
    return kv_get(cfg->mirror_tables, cfg->nmirror_tables, topic);
}

int sluice_config_scalar_text(const json_t *v, char *out, size_t outsz)
{
    if (json_is_string(v)) {
        snprintf(out, outsz, "%s", json_string_value(v));
    } else if (json_is_integer(v)) {
        snprintf(out, outsz, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (json_is_boolean(v)) {
        snprintf(out, outsz, "%s", json_is_true(v) ? "true" : "false");
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        snprintf(out, outsz, "%.15g", d);
        if (strtod(out, NULL) != d)
            snprintf(out, outsz, "%.17g", d);
    } else {
        return -1;
    }
    return 0;
}

static int parse_long(const char *key, const char *text, long min, long max, long *out,
                      const char *origin, sluice_err_t *err)
{
    char *end;
    long v = 0;

    errno = 0;
    v = strtol(text, &end, 10);
    if (errno || end == text || *end != '\0')
        return sluice_err_set(err, SLUICE_ERR_FATAL,
                              "config: %s must be an integer, got \"%s\" (%s)", key, text, origin);
    if (v < min || v > max)
        return sluice_err_set(err, SLUICE_ERR_FATAL,
                              "config: %s = %ld is out of range (allowed %ld..%ld, %s)", key, v, min,
                              max, origin);
    *out = v;
    return 0;
}

static int store_string(sluice_config_t *cfg, const char *key, const char *value)
{
    char **slot;

    if (strncmp(key, "kafka.", 6) == 0)
        return kv_set(&cfg->kafka, &cfg->nkafka, key + 6, value);
    slot = string_slot(cfg, key);
    if (!slot)
        return -1;
    free(*slot);
    *slot = strdup(value);
    return *slot ? 0 : -1;
}

static int store_int(sluice_config_t *cfg, const sluice_config_key_t *k, const char *text,
                     const char *origin, sluice_err_t *err)
{
    long v = 0;

    if (parse_long(k->key, text, k->min, k->max, &v, origin, err) < 0)
        return -1;
    if (strcmp(k->key, "batch.max_events") == 0)
        cfg->batch_max_events = v;
    else if (strcmp(k->key, "batch.max_ms") == 0)
        cfg->batch_max_ms = v;
    else if (strcmp(k->key, "batch.max_bytes") == 0)
        cfg->batch_max_bytes = v;
    else if (strcmp(k->key, "workers") == 0)
        cfg->workers = (int)v;
    else if (strcmp(k->key, "registry.timeout_ms") == 0)
        cfg->registry_timeout_ms = v;
    else if (strcmp(k->key, "retry.max_elapsed_ms") == 0)
        cfg->retry_max_elapsed_ms = v;
    else if (strcmp(k->key, "retry.base_ms") == 0)
        cfg->retry_base_ms = v;
    else if (strcmp(k->key, "retry.cap_ms") == 0)
        cfg->retry_cap_ms = v;
    return 0;
}

static int store_bool(sluice_config_t *cfg, const sluice_config_key_t *k, const char *text,
                      const char *origin, sluice_err_t *err)
{
    int v;

    if (!strcmp(text, "true") || !strcmp(text, "1") || !strcmp(text, "yes"))
        v = 1;
    else if (!strcmp(text, "false") || !strcmp(text, "0") || !strcmp(text, "no"))
        v = 0;
    else
        return sluice_err_set(err, SLUICE_ERR_FATAL,
                              "config: %s must be true or false, got \"%s\" (%s)", k->key, text,
                              origin);
    if (strcmp(k->key, "dlq.enabled") == 0)
        cfg->dlq_enabled = v;
    else if (strcmp(k->key, "mirror.truncate") == 0)
        cfg->mirror_truncate = v;
    else if (strcmp(k->key, "mirror.reconcile_deletes") == 0)
        cfg->mirror_reconcile = v;
    return 0;
}

/* Where each list key is stored. */
static void list_slot(sluice_config_t *cfg, const char *key, char ****items, size_t **n)
{
    if (strcmp(key, "connectors") == 0) {
        *items = &cfg->connectors;
        *n = &cfg->nconnectors;
    } else {
        *items = &cfg->topics;
        *n = &cfg->ntopics;
    }
}

static int list_add(sluice_config_t *cfg, const char *key, const char *t)
{
    char ***items;
    size_t *n;
    char **grown;

    list_slot(cfg, key, &items, &n);
    grown = realloc(*items, (*n + 1) * sizeof(*grown));
    if (!grown)
        return -1;
    *items = grown;
    grown[*n] = strdup(t);
    if (!grown[*n])
        return -1;
    (*n)++;
    return 0;
}

static void list_clear(sluice_config_t *cfg, const char *key)
{
    char ***items;
    size_t *n;

    list_slot(cfg, key, &items, &n);
    strv_free(*items, *n);
    *items = NULL;
    *n = 0;
}

int sluice_config_add_topic(sluice_config_t *cfg, const char *topic)
{
    size_t i;

    for (i = 0; i < cfg->ntopics; i++)
        if (strcmp(cfg->topics[i], topic) == 0)
            return 0;
    return list_add(cfg, "topics", topic);
}

int sluice_config_topic_selected(const sluice_config_t *cfg, const char *topic)
{
    size_t i;

    for (i = 0; i < cfg->ntopics; i++) {
        const char *t = cfg->topics[i];
        if (t[0] == '^') {
            regex_t re;
            int hit;
            if (regcomp(&re, t, REG_EXTENDED | REG_NOSUB) != 0)
                continue;
            hit = regexec(&re, topic, 0, NULL, 0) == 0;
            regfree(&re);
            if (hit)
                return 1;
        } else if (strcmp(t, topic) == 0) {
            return 1;
        }
    }
    return 0;
}

int sluice_config_topic_excluded(const sluice_config_t *cfg, const char *topic)
{
    size_t i;

    for (i = 0; i < cfg->ntopics_exclude; i++) {
        regex_t re;
        int hit;
        if (regcomp(&re, cfg->topics_exclude[i], REG_EXTENDED | REG_NOSUB) != 0)
            continue;
        hit = regexec(&re, topic, 0, NULL, 0) == 0;
        regfree(&re);
        if (hit)
            return 1;
    }
    return 0;
}

static const char *json_type_name(json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "unknown";
}

static void known_keys_hint(const char *prefix, char *out, size_t outsz)
{
    const sluice_config_key_t *k;
    size_t plen = strlen(prefix), used = 0;

    out[0] = '\0';
    for (k = sluice_config_keys; k->key; k++) {
        int n;
        if (strncmp(k->key, prefix, plen) != 0 || strncmp(k->key, "kafka.", 6) == 0)
            continue;
        n = snprintf(out + used, outsz - used, "%s%s", used ? ", " : "", k->key);
        if (n < 0 || (size_t)n >= outsz - used)
            break;
        used += (size_t)n;
    }
}

/* Walks one JSON object level; `prefix` is the dotted path so far. */
static int walk(sluice_config_t *cfg, json_t *obj, const char *prefix, const char *origin,
                sluice_err_t *err)
{
    const char *name;
    json_t *v;

    json_object_foreach(obj, name, v) {
        char path[256];
        const sluice_config_key_t *k;
        char text[1024];

        snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", name);
        k = find_key(path);
        if (!k) {
            /* an object that only groups keys: mirror, batch, postgres... */
            char hint[512];
            snprintf(hint, sizeof(hint), "%s.", path);
            known_keys_hint(hint, text, sizeof(text));
            if (text[0] && json_is_object(v)) {
                if (walk(cfg, v, path, origin, err) < 0)
                    return -1;
                continue;
            }
            known_keys_hint("", text, sizeof(text));
            return sluice_err_set(err, SLUICE_ERR_FATAL,
                                  "config: unknown key \"%s\" in %s (known keys: kafka.<librdkafka "
                                  "property>, %s)",
                                  path, origin, text);
        }
        mark_set(cfg, k);
        switch (k->type) {
        case SLUICE_CFG_STRING:
            if (!json_is_string(v))
                return sluice_err_set(err, SLUICE_ERR_FATAL,
                                      "config: %s must be a string, got %s (%s)", path,
                                      json_type_name(v), origin);
            if (store_string(cfg, path, json_string_value(v)) < 0)
                goto oom;
            break;
        case SLUICE_CFG_INT:
            if (json_is_integer(v)) {
                snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            } else if (json_is_string(v)) {
                snprintf(text, sizeof(text), "%s", json_string_value(v));
            } else {
                return sluice_err_set(err, SLUICE_ERR_FATAL,
                                      "config: %s must be an integer, got %s (%s)", path,
                                      json_type_name(v), origin);
            }
            if (store_int(cfg, k, text, origin, err) < 0)
                return -1;
            break;
        case SLUICE_CFG_BOOL:
            if (json_is_boolean(v))
                snprintf(text, sizeof(text), "%s", json_is_true(v) ? "true" : "false");
            else if (json_is_string(v))
                snprintf(text, sizeof(text), "%s", json_string_value(v));
            else
                return sluice_err_set(err, SLUICE_ERR_FATAL,
                                      "config: %s must be true or false, got %s (%s)", path,
                                      json_type_name(v), origin);
            if (store_bool(cfg, k, text, origin, err) < 0)
                return -1;
            break;
        case SLUICE_CFG_STRING_LIST: {
            size_t i;
            json_t *item;
            if (json_is_string(v)) {
                list_clear(cfg, path);
                if (list_add(cfg, path, json_string_value(v)) < 0)
                    goto oom;
                break;
            }
            if (!json_is_array(v))
                return sluice_err_set(err, SLUICE_ERR_FATAL,
                                      "config: %s must be an array of strings, got %s (%s)", path,
                                      json_type_name(v), origin);
            list_clear(cfg, path);
            json_array_foreach(v, i, item) {
                if (!json_is_string(item) || !*json_string_value(item))
                    return sluice_err_set(err, SLUICE_ERR_FATAL,
                                          "config: %s[%zu] must be a non-empty string (%s)", path,
                                          i, origin);
                if (list_add(cfg, path, json_string_value(item)) < 0)
                    goto oom;
            }
            break;
        }
        case SLUICE_CFG_STRING_MAP: {
            const char *mk;
            json_t *mv;
            if (!json_is_object(v))
                return sluice_err_set(err, SLUICE_ERR_FATAL,
                                      "config: %s must be an object, got %s (%s)", path,
                                      json_type_name(v), origin);
            json_object_foreach(v, mk, mv) {
                if (strcmp(path, "handlers") == 0) {
                    size_t hi;
                    json_t *pat;
                    size_t used = 0;
                    text[0] = '\0';
                    if (json_is_string(mv)) {
                        snprintf(text, sizeof(text), "%s", json_string_value(mv));
                    } else if (json_is_array(mv)) {
                        json_array_foreach(mv, hi, pat) {
                            int w;
                            if (!json_is_string(pat) || !*json_string_value(pat))
                                return sluice_err_set(err, SLUICE_ERR_FATAL,
                                                      "config: handlers.%s[%zu] must be a non-empty "
                                                      "string (a topic or schema.table pattern, %s)",
                                                      mk, hi, origin);
                            w = snprintf(text + used, sizeof(text) - used, "%s%s", used ? "\n" : "",
                                         json_string_value(pat));
                            if (w < 0 || (size_t)w >= sizeof(text) - used)
                                return sluice_err_set(err, SLUICE_ERR_FATAL,
                                                      "config: handlers.%s lists too many patterns", mk);
                            used += (size_t)w;
                        }
                    } else {
                        return sluice_err_set(err, SLUICE_ERR_FATAL,
                                              "config: handlers.%s must be a list of patterns, got %s "
                                              "(%s)",
                                              mk, json_type_name(mv), origin);
                    }
                    if (kv_set(&cfg->handlers, &cfg->nhandlers, mk, text) < 0)
                        goto oom;
                    continue;
                }
                if (sluice_config_scalar_text(mv, text, sizeof(text)) < 0)
                    return sluice_err_set(err, SLUICE_ERR_FATAL,
                                          "config: %s.%s must be a string, number or boolean, got "
                                          "%s (%s)",
                                          path, mk, json_type_name(mv), origin);
                if (strcmp(path, "kafka") == 0) {
                    if (kv_set(&cfg->kafka, &cfg->nkafka, mk, text) < 0)
                        goto oom;
                } else if (kv_set(&cfg->mirror_tables, &cfg->nmirror_tables, mk, text) < 0) {
                    goto oom;
                }
            }
            break;
        }
        }
    }
    return 0;
oom:
    return sluice_err_set(err, SLUICE_ERR_FATAL, "config: out of memory");
}

static int apply_env(sluice_config_t *cfg, sluice_err_t *err)
{
    const sluice_config_key_t *k;

    for (k = sluice_config_keys; k->key; k++) {
        const char *v;
        char origin[128];

        if (!k->env || !(v = getenv(k->env)))
            continue;
        snprintf(origin, sizeof(origin), "environment %s", k->env);
        mark_set(cfg, k);
        switch (k->type) {
        case SLUICE_CFG_STRING:
            if (store_string(cfg, k->key, v) < 0)
                return sluice_err_set(err, SLUICE_ERR_FATAL, "config: out of memory");
            break;
        case SLUICE_CFG_INT:
            if (store_int(cfg, k, v, origin, err) < 0)
                return -1;
            break;
        case SLUICE_CFG_BOOL:
            if (store_bool(cfg, k, v, origin, err) < 0)
                return -1;
            break;
        case SLUICE_CFG_STRING_LIST: {
            char *copy = strdup(v), *save = NULL, *tok;
            if (!copy)
                return sluice_err_set(err, SLUICE_ERR_FATAL, "config: out of memory");
            list_clear(cfg, k->key);
            for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                while (isspace((unsigned char)*tok))
                    tok++;
                if (*tok && list_add(cfg, k->key, tok) < 0) {
                    free(copy);
                    return sluice_err_set(err, SLUICE_ERR_FATAL, "config: out of memory");
                }
            }
            free(copy);
            break;
        }
        case SLUICE_CFG_STRING_MAP:
            break;
        }
    }
    return 0;
}

static int apply_defaults(sluice_config_t *cfg, sluice_err_t *err)
{
    const sluice_config_key_t *k;

    for (k = sluice_config_keys; k->key; k++) {
        if (!k->def)
            continue;
        if (k->type == SLUICE_CFG_INT) {
            if (store_int(cfg, k, k->def, "default", err) < 0)
                return -1;
        } else if (k->type == SLUICE_CFG_BOOL) {
            if (store_bool(cfg, k, k->def, "default", err) < 0)
                return -1;
        } else if (k->type == SLUICE_CFG_STRING) {
            if (store_string(cfg, k->key, k->def) < 0)
                return sluice_err_set(err, SLUICE_ERR_FATAL, "config: out of memory");
        }
    }
    return 0;
}

static int validate(sluice_config_t *cfg, sluice_err_t *err)
{
    const sluice_config_key_t *k;
    size_t i;

    if (cfg->ntopics == 0)
        return sluice_err_set(err, SLUICE_ERR_FATAL,
                              "config: topics is missing (set it in %s or SLUICE_TOPICS, or list "
                              "Debezium connector manifests in connectors)",
                              cfg->source_path && *cfg->source_path ? cfg->source_path
                                                                    : "the config file");
    for (k = sluice_config_keys; k->key; k++) {
        int missing = 0;
        if (!k->required)
            continue;
        if (strcmp(k->key, "topics") == 0)
            missing = cfg->ntopics == 0;
        else if (strncmp(k->key, "kafka.", 6) == 0)
            missing = !sluice_config_kafka_get(cfg, k->key + 6) ||
                      !*sluice_config_kafka_get(cfg, k->key + 6);
        else if (strcmp(k->key, "postgres.conninfo") == 0)
            missing = !cfg->pg_conninfo || !*cfg->pg_conninfo;
        if (missing)
            return sluice_err_set(err, SLUICE_ERR_FATAL,
                                  "config: %s is missing (set it in %s or %s)", k->key,
                                  cfg->source_path && *cfg->source_path ? cfg->source_path
                                                                        : "the config file",
                                  k->env ? k->env : "the config file");
    }
    {
        static const struct {
            const char *key;
            size_t off;
            const char *allowed[3];
        } enums[] = {
            {"mirror.delete_mode", offsetof(sluice_config_t, mirror_delete_mode), {"hard", "soft", NULL}},
            {"mirror.schema_evolution", offsetof(sluice_config_t, mirror_schema_evolution),
             {"none", "basic", NULL}},
            {"mirror.keyless", offsetof(sluice_config_t, mirror_keyless), {"reject", "all_columns", NULL}},
        };
        size_t e;
        for (e = 0; e < sizeof(enums) / sizeof(enums[0]); e++) {
            const char *v = *(char **)((char *)cfg + enums[e].off);
            if (strcmp(v, enums[e].allowed[0]) && strcmp(v, enums[e].allowed[1]))
                return sluice_err_set(err, SLUICE_ERR_FATAL, "config: %s = \"%s\" is not allowed (use %s or %s)",
                                      enums[e].key, v, enums[e].allowed[0], enums[e].allowed[1]);
        }
    }
    if (!cfg->mirror_schema || !*cfg->mirror_schema)
        return sluice_err_set(err, SLUICE_ERR_FATAL,
                              "config: mirror.schema must not be empty (omit it for \"public\")");
    for (i = 0; i < cfg->nmirror_tables; i++) {
        const char *dot = strchr(cfg->mirror_tables[i].value, '.');
        if (!dot || dot == cfg->mirror_tables[i].value || !dot[1] || strchr(dot + 1, '.'))
            return sluice_err_set(err, SLUICE_ERR_FATAL,
                                  "config: mirror.tables[\"%s\"] = \"%s\" must be "
                                  "\"schema.table\"",
                                  cfg->mirror_tables[i].key, cfg->mirror_tables[i].value);
    }
    if (!cfg->unavailable_placeholder || !*cfg->unavailable_placeholder)
        return sluice_err_set(err, SLUICE_ERR_FATAL,
                              "config: decode.unavailable_placeholder must not be empty");
    {
        const char *fk[2] = {"format.key", "format.value"};
        const char *fv[2] = {cfg->format_key, cfg->format_value};
        int i2;
        for (i2 = 0; i2 < 2; i2++)
            if (strcmp(fv[i2], "json") && strcmp(fv[i2], "avro") && strcmp(fv[i2], "auto"))
                return sluice_err_set(err, SLUICE_ERR_FATAL,
                                      "config: %s = \"%s\" is not a format (use json, avro or auto)",
                                      fk[i2], fv[i2]);
        if ((!strcmp(cfg->format_key, "avro") || !strcmp(cfg->format_value, "avro")) &&
            (!cfg->registry_url || !*cfg->registry_url))
            return sluice_err_set(err, SLUICE_ERR_FATAL,
                                  "config: registry.url is missing: format avro needs a schema "
                                  "registry (set it in %s or SLUICE_REGISTRY_URL)",
                                  cfg->source_path && *cfg->source_path ? cfg->source_path
                                                                        : "the config file");
    }
    /* Offsets are Sluice's to manage: refuse settings that would let
     * librdkafka commit or store offsets behind the ledger's back. */
    {
        const char *v = sluice_config_kafka_get(cfg, "enable.auto.commit");
        if (v && strcmp(v, "false") != 0)
            return sluice_err_set(err, SLUICE_ERR_FATAL,
                                  "config: kafka.enable.auto.commit must stay false: Sluice "
                                  "commits offsets itself after the PostgreSQL commit (remove "
                                  "the key)");
        v = sluice_config_kafka_get(cfg, "enable.auto.offset.store");
        if (v && strcmp(v, "false") != 0)
            return sluice_err_set(err, SLUICE_ERR_FATAL,
                                  "config: kafka.enable.auto.offset.store must stay false (remove "
                                  "the key)");
    }
    return 0;
}

/* Reads, derives and applies every manifest listed in connectors; relative
 * paths are relative to the directory of the config file. */
static int load_manifests(sluice_config_t *cfg, const char *origin, sluice_err_t *err)
{
    char *copy, *dir;
    size_t i;
    int rc = 0;

    if (!cfg->nconnectors)
        return 0;
    cfg->manifests = calloc(cfg->nconnectors, sizeof(*cfg->manifests));
    copy = strdup(origin && strchr(origin, '/') ? origin : "./config");
    if (!cfg->manifests || !copy) {
        free(copy);
        return sluice_err_set(err, SLUICE_ERR_FATAL, "config: out of memory");
    }
    dir = dirname(copy);
    for (i = 0; i < cfg->nconnectors && rc == 0; i++) {
        char *path = cfg->connectors[i];
        sluice_manifest_t *m;

        if (path[0] != '/' && strcmp(dir, ".") != 0) {
            size_t len = strlen(dir) + strlen(path) + 2;
            char *full = malloc(len);
            if (!full) {
                rc = sluice_err_set(err, SLUICE_ERR_FATAL, "config: out of memory");
                break;
            }
            snprintf(full, len, "%s/%s", dir, path);
            free(cfg->connectors[i]);
            cfg->connectors[i] = path = full;
        }
        m = sluice_manifest_load(path, err);
        if (!m || sluice_manifest_derive(m, err) < 0) {
            sluice_err_prefix(err, "config: connectors[%zu]", i);
            sluice_manifest_destroy(m);
            rc = -1;
            break;
        }
        cfg->manifests[cfg->nmanifests++] = m;
    }
    free(copy);
    if (rc == 0 && sluice_manifest_apply(cfg->manifests, cfg->nmanifests, cfg, err) < 0)
        rc = -1;
    return rc;
}

static sluice_config_t *load_json(json_t *root, const char *origin, sluice_err_t *err)
{
    sluice_config_t *cfg = calloc(1, sizeof(*cfg));

    if (!cfg) {
        sluice_err_set(err, SLUICE_ERR_FATAL, "config: out of memory");
        return NULL;
    }
    cfg->source_path = strdup(origin ? origin : "");
    if (apply_defaults(cfg, err) < 0)
        goto fail;
    if (root) {
        if (!json_is_object(root)) {
            sluice_err_set(err, SLUICE_ERR_FATAL,
                           "config: %s must hold a JSON object at the top level", origin);
            goto fail;
        }
        if (walk(cfg, root, "", origin, err) < 0)
            goto fail;
    }
    if (apply_env(cfg, err) < 0 || load_manifests(cfg, origin, err) < 0 || validate(cfg, err) < 0)
        goto fail;
    return cfg;
fail:
    sluice_config_destroy(cfg);
    return NULL;
}

sluice_config_t *sluice_config_load_string(const char *text, const char *origin, sluice_err_t *err)
{
    json_error_t jerr;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    sluice_config_t *cfg;

    if (!root) {
        sluice_err_set(err, SLUICE_ERR_FATAL, "config: %s is not valid JSON: %s (line %d, column %d)",
                       origin, jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    cfg = load_json(root, origin, err);
    json_decref(root);
    return cfg;
}

sluice_config_t *sluice_config_load(const char *path, sluice_err_t *err)
{
    json_error_t jerr;
    json_t *root;
    sluice_config_t *cfg;

    if (!path)
        return load_json(NULL, "environment", err);
    root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (jerr.line <= 0 && jerr.position == 0)
            sluice_err_set(err, SLUICE_ERR_FATAL, "config: cannot read %s: %s (check the path given to -c)",
                           path, jerr.text);
        else
            sluice_err_set(err, SLUICE_ERR_FATAL,
                           "config: %s is not valid JSON: %s (line %d, column %d)", path, jerr.text,
                           jerr.line, jerr.column);
        return NULL;
    }
    cfg = load_json(root, path, err);
    json_decref(root);
    return cfg;
}

int sluice_config_is_secret_key(const char *key)
{
    return strstr(key, "password") || strstr(key, "secret") || strstr(key, "sasl.oauthbearer.config") ||
           strstr(key, "ssl.key.pem") || strstr(key, "basic.auth");
}

char *sluice_config_mask_conninfo(const char *conninfo)
{
    size_t len = strlen(conninfo);
    char *out = malloc(len + 8);
    const char *p;
    char *o;

    if (!out)
        return NULL;
    /* URI form: postgresql://user:secret@host -> postgresql://user:*****@host */
    if (strncmp(conninfo, "postgres://", 11) == 0 || strncmp(conninfo, "postgresql://", 13) == 0) {
        const char *scheme_end = strstr(conninfo, "://") + 3;
        const char *at = strchr(scheme_end, '@');
        const char *colon = at ? memchr(scheme_end, ':', (size_t)(at - scheme_end)) : NULL;
        if (colon) {
            size_t head = (size_t)(colon - conninfo) + 1;
            memcpy(out, conninfo, head);
            strcpy(out + head, "*****");
            strcat(out, at);
        } else {
            strcpy(out, conninfo);
        }
        /* password=... as a query parameter */
        {
            char *q = strstr(out, "password=");
            if (q) {
                char *end = strchr(q, '&');
                char tail[1024] = "";
                if (end)
                    snprintf(tail, sizeof(tail), "%s", end);
                strcpy(q + 9, "*****");
                strcat(out, tail);
            }
        }
        return out;
    }
    /* key=value form */
    o = out;
    p = conninfo;
    while (*p) {
        if ((p == conninfo || isspace((unsigned char)p[-1])) && strncmp(p, "password", 8) == 0) {
            const char *q = p + 8;
            while (isspace((unsigned char)*q))
                q++;
            if (*q == '=') {
                q++;
                while (isspace((unsigned char)*q))
                    q++;
                memcpy(o, "password=*****", 14);
                o += 14;
                if (*q == '\'') {
                    q++;
                    while (*q && *q != '\'') {
                        if (*q == '\\' && q[1])
                            q++;
                        q++;
                    }
                    if (*q == '\'')
                        q++;
                } else {
                    while (*q && !isspace((unsigned char)*q))
                        q++;
                }
                p = q;
                continue;
            }
        }
        *o++ = *p++;
    }
    *o = '\0';
    return out;
}

void sluice_config_print(const sluice_config_t *cfg, FILE *out)
{
    size_t i;
    char *masked = sluice_config_mask_conninfo(cfg->pg_conninfo);

    fprintf(out, "config: %s\n", cfg->source_path && *cfg->source_path ? cfg->source_path : "(environment)");
    for (i = 0; i < cfg->nkafka; i++)
        fprintf(out, "  kafka.%s = %s\n", cfg->kafka[i].key,
                sluice_config_is_secret_key(cfg->kafka[i].key) ? "*****" : cfg->kafka[i].value);
    fprintf(out, "  postgres.conninfo = %s\n", masked ? masked : "?");
    for (i = 0; i < cfg->nconnectors; i++)
        fprintf(out, "  connectors[%zu] = %s\n", i, cfg->connectors[i]);
    for (i = 0; i < cfg->ntopics; i++)
        fprintf(out, "  topics[%zu] = %s\n", i, cfg->topics[i]);
    for (i = 0; i < cfg->ntopics_exclude; i++)
        fprintf(out, "  topics excluded = %s (tables the connectors exclude)\n",
                cfg->topics_exclude[i]);
    if (cfg->source_conninfo) {
        char *sm = sluice_config_mask_conninfo(cfg->source_conninfo);
        fprintf(out, "  source.conninfo = %s\n", sm ? sm : "?");
        free(sm);
    }
    fprintf(out, "  mirror.schema = %s\n", cfg->mirror_schema);
    for (i = 0; i < cfg->nmirror_tables; i++)
        fprintf(out, "  mirror.tables[%s] = %s\n", cfg->mirror_tables[i].key,
                cfg->mirror_tables[i].value);
    if (cfg->mirror_reconcile)
        fprintf(out, "  mirror.reconcile_deletes = true (rows a full snapshot did not read are "
                     "deleted once it is applied)\n");
    fprintf(out, "  batch.max_events = %ld\n", cfg->batch_max_events);
    fprintf(out, "  batch.max_ms = %ld\n", cfg->batch_max_ms);
    fprintf(out, "  batch.max_bytes = %ld\n", cfg->batch_max_bytes);
    fprintf(out, "  workers = %d\n", cfg->workers);
    fprintf(out, "  decode.unavailable_placeholder = %s\n", cfg->unavailable_placeholder);
    fprintf(out, "  format.key = %s\n  format.value = %s\n", cfg->format_key, cfg->format_value);
    if (cfg->registry_url)
        fprintf(out, "  registry.url = %s\n", cfg->registry_url);
    if (cfg->registry_basic_auth)
        fprintf(out, "  registry.basic_auth = *****\n");
    free(masked);
}

void sluice_config_print_keys(FILE *out)
{
    const sluice_config_key_t *k;
    static const char *type_names[] = {"string", "integer", "list of strings", "object", "boolean"};

    for (k = sluice_config_keys; k->key; k++) {
        fprintf(out, "%-32s %-16s %s%s%s%s%s%s\n", k->key, type_names[k->type], k->doc,
                k->required ? " [required]" : "", k->def ? " [default: " : "", k->def ? k->def : "",
                k->def ? "]" : "", "");
        if (k->env)
            fprintf(out, "%-32s %-16s environment: %s\n", "", "", k->env);
    }
}
