/* Schema registry client: GET {url}/schemas/ids/{id} over libcurl, answers
 * parsed with jansson, an id -> schema-text cache for the life of the object
 * and a short-lived negative cache for "schema not found". Owns the error
 * classes of registry failures (transient / permanent / fatal) and the quick
 * retries with exponential backoff; longer outages are the worker's to retry
 * (it re-applies the whole batch). It does not parse Avro: the text goes to
 * decode_avro, which builds its decode plan once per id. Not thread-safe: one
 * registry per worker thread. */
#include "sluice/registry.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sluice/buf.h"

/* An answer larger than this is not a schema (Debezium envelopes are a few
 * KiB; wide tables a few hundred). */
#define MAX_BODY (16u * 1024u * 1024u)

typedef struct {
    int32_t id;
    int used;
    char *schema;      /* NULL: negative entry */
    size_t len;
    int64_t neg_until; /* monotonic ms; negative entries only */
    char *neg_msg;     /* the registry's answer, for repeated errors */
} entry_t;

struct sluice_registry {
    char *base;    /* URL without trailing '/' */
    char *display; /* base with credentials masked */
    char *basic_auth, *ca_file, *cert_file, *key_file;
    long timeout_ms;
    int max_retries;
    long backoff_ms, backoff_max_ms, not_found_ttl_ms;

    CURL *curl;
    struct curl_slist *headers;
    char curl_err[CURL_ERROR_SIZE];
    sluice_buf_t body;
    int body_overflow;

    entry_t *tab; /* open addressing, power-of-two capacity */
    size_t cap, n;
    sluice_registry_stats_t stats;
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

/* Credentials in the URL's authority are replaced by "***". */
static char *mask_url(const char *url)
{
    const char *scheme = strstr(url, "://");
    const char *auth = scheme ? scheme + 3 : url;
    const char *end = auth + strcspn(auth, "/?#");
    const char *at = NULL, *p;
    char *out;

    for (p = auth; p < end; p++)
        if (*p == '@')
            at = p;
    if (!at)
        return strdup(url);
    out = malloc(strlen(url) + 4);
    if (!out)
        return NULL;
    memcpy(out, url, (size_t)(auth - url));
    strcpy(out + (auth - url), "***");
    strcat(out, at);
    return out;
}

/* ---------------------------------------------------------------------- */
/* cache */

static size_t slot_of(int32_t id, size_t cap)
{
    uint32_t h = (uint32_t)id * 2654435761u;

    return (size_t)h & (cap - 1);
}

static entry_t *cache_find(sluice_registry_t *reg, int32_t id)
{
    size_t i;

    if (!reg->cap)
        return NULL;
    for (i = slot_of(id, reg->cap); reg->tab[i].used; i = (i + 1) & (reg->cap - 1))
        if (reg->tab[i].id == id)
            return &reg->tab[i];
    return NULL;
}

static entry_t *cache_add(sluice_registry_t *reg, int32_t id)
{
    entry_t *e = cache_find(reg, id);
    size_t i;

    if (e)
        return e;
    if ((reg->n + 1) * 10 > reg->cap * 7) {
        size_t cap = reg->cap ? reg->cap * 2 : 64, k;
        entry_t *tab = calloc(cap, sizeof(*tab));
        if (!tab)
            return NULL;
        for (k = 0; k < reg->cap; k++) {
            if (!reg->tab[k].used)
                continue;
            for (i = slot_of(reg->tab[k].id, cap); tab[i].used; i = (i + 1) & (cap - 1))
                ;
            tab[i] = reg->tab[k];
        }
        free(reg->tab);
        reg->tab = tab;
        reg->cap = cap;
    }
    for (i = slot_of(id, reg->cap); reg->tab[i].used; i = (i + 1) & (reg->cap - 1))
        ;
    e = &reg->tab[i];
    memset(e, 0, sizeof(*e));
    e->used = 1;
    e->id = id;
    reg->n++;
    return e;
}

/* ---------------------------------------------------------------------- */
/* lifecycle */

static size_t on_body(char *data, size_t size, size_t nmemb, void *opaque)
{
    sluice_registry_t *reg = opaque;
    size_t n = size * nmemb;

    if (reg->body.len + n > MAX_BODY) {
        reg->body_overflow = 1;
        return 0; /* aborts the transfer */
    }
    if (sluice_buf_append(&reg->body, data, n) < 0)
        return 0;
    return n;
}

sluice_registry_t *sluice_registry_new(const sluice_registry_opts_t *opts, sluice_err_t *err)
{
    sluice_registry_t *reg;
    size_t len;

    if (!opts || !opts->url || !*opts->url) {
        sluice_err_set(err, SLUICE_ERR_FATAL,
                       "schema registry: no URL; set registry.url (e.g. http://registry:8081)");
        return NULL;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        sluice_err_set(err, SLUICE_ERR_FATAL, "schema registry: libcurl failed to initialise");
        return NULL;
    }
    reg = calloc(1, sizeof(*reg));
    if (!reg)
        goto fail_alloc;
    sluice_buf_init(&reg->body);
    reg->base = strdup(opts->url);
    if (!reg->base)
        goto fail;
    len = strlen(reg->base);
    while (len > 0 && reg->base[len - 1] == '/')
        reg->base[--len] = '\0';
    reg->display = mask_url(reg->base);
    reg->basic_auth = dup_or_null(opts->basic_auth);
    reg->ca_file = dup_or_null(opts->ca_file);
    reg->cert_file = dup_or_null(opts->cert_file);
    reg->key_file = dup_or_null(opts->key_file);
    if (!reg->display || (opts->basic_auth && *opts->basic_auth && !reg->basic_auth) ||
        (opts->ca_file && *opts->ca_file && !reg->ca_file) ||
        (opts->cert_file && *opts->cert_file && !reg->cert_file) ||
        (opts->key_file && *opts->key_file && !reg->key_file))
        goto fail;
    reg->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 10000;
    reg->max_retries = opts->max_retries >= 0 ? opts->max_retries : 3;
    reg->backoff_ms = opts->retry_backoff_ms > 0 ? opts->retry_backoff_ms : 100;
    reg->backoff_max_ms = opts->retry_backoff_max_ms > 0 ? opts->retry_backoff_max_ms : 2000;
    reg->not_found_ttl_ms = opts->not_found_ttl_ms >= 0 ? opts->not_found_ttl_ms : 10000;

    reg->curl = curl_easy_init();
    reg->headers = curl_slist_append(NULL, "Accept: application/vnd.schemaregistry.v1+json, "
                                           "application/vnd.schemaregistry+json; qs=0.9, "
                                           "application/json; qs=0.5");
    if (!reg->curl || !reg->headers)
        goto fail;
    curl_easy_setopt(reg->curl, CURLOPT_HTTPHEADER, reg->headers);
    curl_easy_setopt(reg->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(reg->curl, CURLOPT_WRITEDATA, reg);
    curl_easy_setopt(reg->curl, CURLOPT_ERRORBUFFER, reg->curl_err);
    curl_easy_setopt(reg->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(reg->curl, CURLOPT_TIMEOUT_MS, reg->timeout_ms);
    curl_easy_setopt(reg->curl, CURLOPT_CONNECTTIMEOUT_MS, reg->timeout_ms);
    curl_easy_setopt(reg->curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(reg->curl, CURLOPT_MAXREDIRS, 3L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(reg->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(reg->curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(reg->curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(reg->curl, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(reg->curl, CURLOPT_USERAGENT, "sluice");
    if (reg->basic_auth) {
        curl_easy_setopt(reg->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(reg->curl, CURLOPT_USERPWD, reg->basic_auth);
    }
    if (reg->ca_file)
        curl_easy_setopt(reg->curl, CURLOPT_CAINFO, reg->ca_file);
    if (reg->cert_file)
        curl_easy_setopt(reg->curl, CURLOPT_SSLCERT, reg->cert_file);
    if (reg->key_file)
        curl_easy_setopt(reg->curl, CURLOPT_SSLKEY, reg->key_file);
    return reg;
fail:
    sluice_registry_destroy(reg);
    sluice_err_set(err, SLUICE_ERR_FATAL, "schema registry: out of memory");
    return NULL;
fail_alloc:
    curl_global_cleanup();
    sluice_err_set(err, SLUICE_ERR_FATAL, "schema registry: out of memory");
    return NULL;
}

void sluice_registry_destroy(sluice_registry_t *reg)
{
    size_t i;

    if (!reg)
        return;
    for (i = 0; i < reg->cap; i++) {
        free(reg->tab[i].schema);
        free(reg->tab[i].neg_msg);
    }
    free(reg->tab);
    if (reg->curl)
        curl_easy_cleanup(reg->curl);
    curl_slist_free_all(reg->headers);
    sluice_buf_cleanup(&reg->body);
    free(reg->base);
    free(reg->display);
    if (reg->basic_auth) {
        memset(reg->basic_auth, 0, strlen(reg->basic_auth));
        free(reg->basic_auth);
    }
    free(reg->ca_file);
    free(reg->cert_file);
    free(reg->key_file);
    free(reg);
    curl_global_cleanup();
}

const char *sluice_registry_url(const sluice_registry_t *reg)
{
    return reg->display;
}

void sluice_registry_stats(const sluice_registry_t *reg, sluice_registry_stats_t *stats)
{
    *stats = reg->stats;
}

/* ---------------------------------------------------------------------- */
/* one lookup */

typedef enum { R_OK, R_RETRY, R_FAIL } outcome_t;

/* curl failures that retrying cannot fix: they are configuration. */
static int curl_is_fatal(CURLcode cc)
{
    switch (cc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_USE_SSL_FAILED:
    case CURLE_LOGIN_DENIED:
    case CURLE_TOO_MANY_REDIRECTS:
        return 1;
    default:
        return 0;
    }
}

/* "error_code" and "message" of a registry error body, if it is one. */
static int error_body(const sluice_buf_t *body, long *code, char *msg, size_t msglen)
{
    json_t *root = body->len ? json_loadb(body->data, body->len, 0, NULL) : NULL;
    const json_t *ec = json_object_get(root, "error_code");
    const char *m = json_string_value(json_object_get(root, "message"));
    int ok = json_is_integer(ec);

    if (ok) {
        *code = (long)json_integer_value(ec);
        snprintf(msg, msglen, "%s", m ? m : "");
    }
    json_decref(root);
    return ok;
}

/* 200 OK: {"schema": "<text>", "schemaType"?, "references"?} into e. */
static outcome_t parse_ok(sluice_registry_t *reg, int32_t id, const char *shown, entry_t **out,
                          sluice_err_t *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(reg->body.data ? reg->body.data : "", reg->body.len, 0, &jerr);
    const json_t *schema = json_object_get(root, "schema");
    const char *type = json_string_value(json_object_get(root, "schemaType"));
    const json_t *refs = json_object_get(root, "references");
    entry_t *e;

    if (!json_is_string(schema)) {
        json_decref(root);
        sluice_err_set(err, SLUICE_ERR_FATAL,
                       "schema registry: GET %s answered HTTP 200 without a \"schema\" string "
                       "(%s); this URL does not look like a Confluent-compatible schema "
                       "registry: check registry.url and its path prefix",
                       shown, root ? "JSON of another shape" : "not JSON");
        return R_FAIL;
    }
    if (type && strcmp(type, "AVRO") != 0) {
        sluice_err_set(err, SLUICE_ERR_PERMANENT,
                       "schema registry: schema id %d at %s is a %s schema; only Avro is "
                       "supported (set the connector's converters to AvroConverter)",
                       (int)id, shown, type);
        json_decref(root);
        return R_FAIL;
    }
    if (json_array_size(refs) > 0) {
        sluice_err_set(err, SLUICE_ERR_PERMANENT,
                       "schema registry: schema id %d at %s uses schema references, which "
                       "sluice does not resolve (Debezium's AvroConverter inlines every "
                       "record)",
                       (int)id, shown);
        json_decref(root);
        return R_FAIL;
    }
    e = cache_add(reg, id);
    if (!e) {
        json_decref(root);
        sluice_err_set(err, SLUICE_ERR_TRANSIENT, "schema registry: out of memory");
        return R_FAIL;
    }
    free(e->neg_msg);
    e->neg_msg = NULL;
    e->len = json_string_length(schema);
    e->schema = malloc(e->len + 1);
    if (!e->schema) {
        json_decref(root);
        sluice_err_set(err, SLUICE_ERR_TRANSIENT, "schema registry: out of memory");
        return R_FAIL;
    }
    memcpy(e->schema, json_string_value(schema), e->len + 1);
    json_decref(root);
    *out = e;
    return R_OK;
}

/* url carries the credentials, shown (for messages) does not. */
static outcome_t request(sluice_registry_t *reg, int32_t id, const char *url, const char *shown,
                         entry_t **out, char *why, size_t whylen, sluice_err_t *err)
{
    CURLcode cc;
    long status = 0, code = 0;
    char msg[512];

    sluice_buf_reset(&reg->body);
    reg->body_overflow = 0;
    reg->curl_err[0] = '\0';
    curl_easy_setopt(reg->curl, CURLOPT_URL, url);
    reg->stats.requests++;
    cc = curl_easy_perform(reg->curl);
    if (cc != CURLE_OK) {
        const char *detail = reg->curl_err[0] ? reg->curl_err : curl_easy_strerror(cc);
        if (reg->body_overflow) {
            sluice_err_set(err, SLUICE_ERR_FATAL,
                           "schema registry: GET %s answered more than %u bytes; this is not a "
                           "schema (check registry.url)",
                           shown, MAX_BODY);
            return R_FAIL;
        }
        if (curl_is_fatal(cc)) {
            sluice_err_set(err, SLUICE_ERR_FATAL,
                           "schema registry: GET %s failed: %s; check registry.url, "
                           "registry.ca_file, registry.cert_file and registry.key_file",
                           shown, detail);
            return R_FAIL;
        }
        snprintf(why, whylen, "%s", detail);
        return R_RETRY;
    }
    curl_easy_getinfo(reg->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status == 200)
        return parse_ok(reg, id, shown, out, err);
    if (status == 408 || status == 429 || status >= 500) {
        if (error_body(&reg->body, &code, msg, sizeof(msg)))
            snprintf(why, whylen, "HTTP %ld, error_code %ld: %.200s", status, code, msg);
        else
            snprintf(why, whylen, "HTTP %ld", status);
        return R_RETRY;
    }
    if (status == 401 || status == 403) {
        sluice_err_set(err, SLUICE_ERR_FATAL,
                       "schema registry: GET %s was refused with HTTP %ld (%s); check "
                       "registry.basic_auth (user:password) or the credentials in registry.url",
                       shown, status,
                       status == 401 ? "credentials missing or rejected" : "not authorised");
        return R_FAIL;
    }
    if (status >= 400 && error_body(&reg->body, &code, msg, sizeof(msg))) {
        if (code == 40403) {
            entry_t *e = reg->not_found_ttl_ms > 0 ? cache_add(reg, id) : NULL;
            if (e && !e->schema) {
                e->neg_until = now_ms() + reg->not_found_ttl_ms;
                free(e->neg_msg);
                e->neg_msg = strdup(msg);
            }
            sluice_err_set(err, SLUICE_ERR_PERMANENT,
                           "schema registry: schema id %d not found at %s (HTTP %ld, error_code "
                           "40403%s%s); the record was written with a schema this registry does "
                           "not have (another registry, or a deleted schema?)",
                           (int)id, shown, status, *msg ? ": " : "", msg);
            return R_FAIL;
        }
        sluice_err_set(err, SLUICE_ERR_PERMANENT,
                       "schema registry: GET %s answered HTTP %ld, error_code %ld: %s", shown,
                       status, code, msg);
        return R_FAIL;
    }
    sluice_err_set(err, SLUICE_ERR_FATAL,
                   "schema registry: GET %s answered HTTP %ld without a registry error body; "
                   "this URL does not look like a Confluent-compatible schema registry: check "
                   "registry.url and its path prefix (Apicurio: .../apis/ccompat/v7)",
                   shown, status);
    return R_FAIL;
}

int sluice_registry_get(sluice_registry_t *reg, int32_t id, const char **schema, size_t *len,
                        sluice_err_t *err)
{
    entry_t *e = cache_find(reg, id);
    char url[2048], display[2048], why[CURL_ERROR_SIZE + 128];
    long delay = reg->backoff_ms;
    int attempt;

    if (e && e->schema) {
        reg->stats.hits++;
        *schema = e->schema;
        *len = e->len;
        return 0;
    }
    if (e && e->neg_until > now_ms()) {
        reg->stats.not_found_hits++;
        return sluice_err_set(err, SLUICE_ERR_PERMANENT,
                              "schema registry: schema id %d not found at %s/schemas/ids/%d "
                              "(error_code 40403%s%s; answer cached for %ld ms)",
                              (int)id, reg->display, (int)id, e->neg_msg && *e->neg_msg ? ": " : "",
                              e->neg_msg ? e->neg_msg : "", reg->not_found_ttl_ms);
    }
    if (id < 0)
        return sluice_err_set(err, SLUICE_ERR_PERMANENT,
                              "schema registry: schema id %d is negative; the record's framing "
                              "is corrupt",
                              (int)id);
    reg->stats.misses++;
    snprintf(url, sizeof(url), "%s/schemas/ids/%d", reg->base, (int)id);
    snprintf(display, sizeof(display), "%s/schemas/ids/%d", reg->display, (int)id);
    for (attempt = 0;; attempt++) {
        entry_t *got = NULL;
        outcome_t oc;

        why[0] = '\0';
        oc = request(reg, id, url, display, &got, why, sizeof(why), err);
        if (oc == R_OK) {
            *schema = got->schema;
            *len = got->len;
            return 0;
        }
        if (oc == R_FAIL)
            return -1;
        if (attempt >= reg->max_retries)
            break;
        reg->stats.retries++;
        sleep_ms(delay);
        delay = delay * 2 > reg->backoff_max_ms ? reg->backoff_max_ms : delay * 2;
    }
    return sluice_err_set(err, SLUICE_ERR_TRANSIENT,
                          "schema registry: GET %s failed %d times (last: %s); the registry is "
                          "unavailable, retrying later",
                          display, attempt + 1, why);
}
