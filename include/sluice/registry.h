/* Confluent Schema Registry client (also Apicurio's ccompat API): resolves the
 * schema id of a Confluent-framed record to the schema's JSON text with
 * GET {url}/schemas/ids/{id}, over libcurl. Schemas are cached by id for the
 * life of the object (ids are immutable); "not found" answers are cached for
 * a short while so a poison message cannot hammer the registry. */
#ifndef SLUICE_REGISTRY_H
#define SLUICE_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/error.h"

typedef struct {
    const char *url;        /* base URL, may carry a path prefix and user:pass@ */
    const char *basic_auth; /* "user:password" or NULL */
    const char *ca_file;    /* PEM CA bundle or NULL (system default) */
    const char *cert_file;  /* client certificate (PEM) or NULL */
    const char *key_file;   /* client private key (PEM) or NULL */
    long timeout_ms;        /* one request; <= 0: 10000 */
    int max_retries;        /* quick retries inside one lookup; < 0: 3 */
    long retry_backoff_ms;  /* first backoff, doubled per retry; <= 0: 100 */
    long retry_backoff_max_ms; /* cap; <= 0: 2000 */
    long not_found_ttl_ms;  /* negative cache of 40403 answers; < 0: 10000, 0: off */
} sluice_registry_opts_t;

typedef struct {
    uint64_t requests;   /* HTTP requests sent (retries included) */
    uint64_t hits;       /* lookups answered from the cache */
    uint64_t misses;     /* lookups that went to the registry */
    uint64_t retries;    /* retried requests */
    uint64_t not_found_hits; /* lookups answered from the negative cache */
} sluice_registry_stats_t;

typedef struct sluice_registry sluice_registry_t;

/* Copies every string of opts; contacts nobody yet. NULL with a
 * SLUICE_ERR_FATAL error if the URL is missing or libcurl cannot start.
 * Caller destroys. */
sluice_registry_t *sluice_registry_new(const sluice_registry_opts_t *opts, sluice_err_t *err);
void sluice_registry_destroy(sluice_registry_t *reg);

/* The schema of id: *schema (NUL-terminated JSON text of the Avro schema,
 * *len bytes) is borrowed until the registry is destroyed. Errors:
 *  - SLUICE_ERR_PERMANENT: the registry answered that id does not exist
 *    (error_code 40403) or the schema is not an Avro schema this client can
 *    use (another schemaType, references);
 *  - SLUICE_ERR_TRANSIENT: registry unreachable, timed out, 408/429/5xx after
 *    the quick retries: retry the whole batch later;
 *  - SLUICE_ERR_FATAL: configuration: credentials rejected (401/403), TLS
 *    setup, a URL that does not answer like a schema registry.
 * Messages name the id and the URL (without credentials). */
int sluice_registry_get(sluice_registry_t *reg, int32_t id, const char **schema, size_t *len,
                        sluice_err_t *err);

/* The URL as shown in messages (credentials removed). */
const char *sluice_registry_url(const sluice_registry_t *reg);

void sluice_registry_stats(const sluice_registry_t *reg, sluice_registry_stats_t *stats);

#endif
