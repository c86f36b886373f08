/* Connector manifests: reading Kafka Connect JSON and Strimzi YAML, resolving
 * config-provider placeholders, and deriving what the worker consumes and
 * how to decode it, the way Debezium itself reads those properties. It opens
 * no connection (the CLI does), and does not decide what a setting does to
 * decoding: it records it, refuses what Sluice cannot honour, and hands the
 * result to the config (sluice_manifest_apply). */
#include "sluice/manifest.h"
#include "config_int.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "manifest_int.h"
#include "sluice/buf.h"

#define DEFAULT_HEARTBEAT_PREFIX "__debezium-heartbeat"
#define DEFAULT_SECRETS_DIR "/etc/sluice/secrets"

/* ---- small helpers --------------------------------------------------- */

static int strv_push(char ***v, size_t *n, const char *s)
{
    char **grown = realloc(*v, (*n + 1) * sizeof(*grown));

    if (!grown)
        return -1;
    *v = grown;
    grown[*n] = strdup(s);
    if (!grown[*n])
        return -1;
    (*n)++;
    return 0;
}

static void strv_free(char **v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int oom(sluice_err_t *err)
{
    return sluice_err_set(err, SLUICE_ERR_FATAL, "manifest: out of memory");
}

static int note(sluice_manifest_t *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int note(sluice_manifest_t *m, const char *fmt, ...)
{
    char text[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return strv_push(&m->notes, &m->nnotes, text);
}

/* Replaces *slot with a copy of value (NULL clears). */
static int set_str(char **slot, const char *value)
{
    char *copy = NULL;

    if (value && !(copy = strdup(value)))
        return -1;
    free(*slot);
    *slot = copy;
    return 0;
}

static char *trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* Splits a Debezium comma-separated list: items trimmed, empty ones
 * dropped; "\," keeps a comma inside a regex. */
static int split_list(const char *text, char ***items, size_t *n)
{
    sluice_buf_t cur;
    const char *p;

    *items = NULL;
    *n = 0;
    sluice_buf_init(&cur);
    for (p = text;; p++) {
        if (*p == '\\' && p[1] == ',') {
            if (sluice_buf_putc(&cur, ',') < 0)
                goto fail;
            p++;
            continue;
        }
        if (*p == ',' || *p == '\0') {
            char *t = trim(cur.data ? cur.data : (char *)"");
            if (*t && strv_push(items, n, t) < 0)
                goto fail;
            sluice_buf_reset(&cur);
            if (!*p)
                break;
            continue;
        }
        if (sluice_buf_putc(&cur, *p) < 0)
            goto fail;
    }
    sluice_buf_cleanup(&cur);
    return 0;
fail:
    sluice_buf_cleanup(&cur);
    strv_free(*items, *n);
    *items = NULL;
    *n = 0;
    return -1;
}

static int one_of(const char *v, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcmp(v, *allowed) == 0)
            return 1;
    return 0;
}

static void join_list(const char *const *allowed, char *out, size_t outsz)
{
    size_t used = 0;

    out[0] = '\0';
    for (; *allowed && used < outsz; allowed++) {
        int w = snprintf(out + used, outsz - used, "%s%s", used ? ", " : "", *allowed);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* ---- reading ----------------------------------------------------------- */

const char *sluice_manifest_raw(const sluice_manifest_t *m, const char *key)
{
    size_t i;

    for (i = 0; i < m->nprops; i++)
        if (strcmp(m->props[i].key, key) == 0)
            return m->props[i].value;
    return NULL;
}

static int prop_set(sluice_manifest_t *m, const char *key, const char *value)
{
    sluice_kv_t *grown;
    size_t i;

    for (i = 0; i < m->nprops; i++)
        if (strcmp(m->props[i].key, key) == 0)
            return set_str(&m->props[i].value, value);
    grown = realloc(m->props, (m->nprops + 1) * sizeof(*grown));
    if (!grown)
        return -1;
    m->props = grown;
    grown[m->nprops].key = strdup(key);
    grown[m->nprops].value = strdup(value);
    if (!grown[m->nprops].key || !grown[m->nprops].value) {
        free(grown[m->nprops].key);
        free(grown[m->nprops].value);
        return -1;
    }
    m->nprops++;
    return 0;
}


static int read_config(sluice_manifest_t *m, json_t *obj, const char *where, sluice_err_t *err)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v) {
        char text[8192];
        if (json_is_null(v))
            continue;
        if (sluice_config_scalar_text(v, text, sizeof(text)) < 0)
            return sluice_err_set(err, SLUICE_ERR_FATAL,
                                  "manifest %s: %s.%s must be a string, number or boolean "
                                  "(Kafka Connect properties are text)",
                                  m->path, where, key);
        if (prop_set(m, key, text) < 0)
            return oom(err);
    }
    return 0;
}

static int from_connect_json(sluice_manifest_t *m, json_t *root, sluice_err_t *err)
{
    json_t *config = json_object_get(root, "config");
    json_t *name = json_object_get(root, "name");

    if (json_is_object(config)) {
        /* {"name": ..., "config": {...}} as POSTed to /connectors */
        if (read_config(m, config, "config", err) < 0)
            return -1;
        if (json_is_string(name) && set_str(&m->name, json_string_value(name)) < 0)
            return oom(err);
    } else {
        /* a flat config map, as PUT to /connectors/{name}/config */
        if (read_config(m, root, "config", err) < 0)
            return -1;
    }
    if (!m->name && sluice_manifest_raw(m, "name") && set_str(&m->name, sluice_manifest_raw(m, "name")) < 0)
        return oom(err);
    if (!m->name)
        return sluice_err_set(err, SLUICE_ERR_FATAL,
                              "manifest %s: no connector name (add \"name\": \"<connector>\")",
                              m->path);
    if (m->nprops == 0)
        return sluice_err_set(err, SLUICE_ERR_FATAL, "manifest %s: the connector config is empty",
                              m->path);
    return 0;
}

static int from_strimzi(sluice_manifest_t *m, json_t *doc, sluice_err_t *err)
{
    json_t *spec = json_object_get(doc, "spec");
    json_t *meta = json_object_get(doc, "metadata");
    json_t *name = json_is_object(meta) ? json_object_get(meta, "name") : NULL;
    json_t *cls, *tasks, *config;
    static const char *const reserved[] = {"name", "connector.class", "tasks.max", NULL};
    const char *const *r;
    char text[256];

    if (!json_is_string(name))
        return sluice_err_set(err, SLUICE_ERR_FATAL,
                              "manifest %s: KafkaConnector without metadata.name", m->path);
    if (!json_is_object(spec))
        return sluice_err_set(err, SLUICE_ERR_FATAL, "manifest %s: KafkaConnector without spec",
                              m->path);
    if (set_str(&m->name, json_string_value(name)) < 0)
        return oom(err);
    m->strimzi = 1;
    config = json_object_get(spec, "config");
    if (config && !json_is_object(config) && !json_is_null(config))
        return sluice_err_set(err, SLUICE_ERR_FATAL, "manifest %s: spec.config must be a mapping",
                              m->path);
    if (json_is_object(config)) {
        for (r = reserved; *r; r++)
            if (json_object_get(config, *r))
                return sluice_err_set(err, SLUICE_ERR_FATAL,
                                      "manifest %s: spec.config.%s is not allowed in a "
                                      "KafkaConnector (use spec.class and spec.tasksMax)",
                                      m->path, *r);
        if (read_config(m, config, "spec.config", err) < 0)
            return -1;
    }
    cls = json_object_get(spec, "class");
    if (cls && sluice_config_scalar_text(cls, text, sizeof(text)) == 0 && prop_set(m, "connector.class", text) < 0)
        return oom(err);
    tasks = json_object_get(spec, "tasksMax");
    if (tasks && sluice_config_scalar_text(tasks, text, sizeof(text)) == 0 && prop_set(m, "tasks.max", text) < 0)
        return oom(err);
    return 0;
}

static int is_connector_doc(json_t *doc)
{
    json_t *kind = json_is_object(doc) ? json_object_get(doc, "kind") : NULL;

    return json_is_string(kind) && strcmp(json_string_value(kind), "KafkaConnector") == 0;
}

sluice_manifest_t *sluice_manifest_parse(const char *text, size_t len, const char *origin,
                                         sluice_err_t *err)
{
    sluice_manifest_t *m = calloc(1, sizeof(*m));
    const char *p = text;
    json_t *root = NULL;

    if (!m || !(m->path = strdup(origin ? origin : "(manifest)"))) {
        free(m);
        oom(err);
        return NULL;
    }
    while (p < text + len && isspace((unsigned char)*p))
        p++;
    if (p < text + len && *p == '{') {
        json_error_t jerr;
        root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
            sluice_err_set(err, SLUICE_ERR_FATAL,
                           "manifest %s is not valid JSON: %s (line %d, column %d)", m->path,
                           jerr.text, jerr.line, jerr.column);
            goto fail;
        }
        if (from_connect_json(m, root, err) < 0)
            goto fail;
    } else {
        size_t i, found = 0;
        json_t *doc, *connector = NULL;
        root = sluice_yaml_load(text, len, m->path, err);
        if (!root)
            goto fail;
        json_array_foreach(root, i, doc) {
            if (is_connector_doc(doc)) {
                connector = doc;
                found++;
            }
        }
        if (found > 1) {
            sluice_err_set(err, SLUICE_ERR_FATAL,
                           "manifest %s holds %zu KafkaConnector resources (use one file per "
                           "connector)",
                           m->path, found);
            goto fail;
        }
        if (!found) {
            sluice_err_set(err, SLUICE_ERR_FATAL,
                           "manifest %s: no Kafka Connect JSON object and no KafkaConnector "
                           "resource (kind: KafkaConnector) found",
                           m->path);
            goto fail;
        }
        if (from_strimzi(m, connector, err) < 0)
            goto fail;
    }
    json_decref(root);
    return m;
fail:
    json_decref(root);
    sluice_manifest_destroy(m);
    return NULL;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data;
    int saved;

    if (!f)
        return NULL;
    data = sluice_read_stream(f, len);
    saved = errno;
    fclose(f);
    errno = saved;
    return data;
}

sluice_manifest_t *sluice_manifest_load(const char *path, sluice_err_t *err)
{
    size_t len = 0;
    char *text = read_file(path, &len);
    sluice_manifest_t *m;

    if (!text) {
        sluice_err_set(err, SLUICE_ERR_FATAL, "cannot read manifest %s: %s (check connectors)",
                       path, strerror(errno));
        return NULL;
    }
    m = sluice_manifest_parse(text, len, path, err);
    free(text);
    return m;
}

void sluice_manifest_destroy(sluice_manifest_t *m)
{
    size_t i;

    if (!m)
        return;
    for (i = 0; i < m->nprops; i++) {
        free(m->props[i].key);
        free(m->props[i].value);
    }
    free(m->props);
    free(m->path);
    free(m->name);
    free(m->source_kind);
    free(m->topic_prefix);
    free(m->topic_delimiter);
    strv_free(m->topics, m->ntopics);
    strv_free(m->topics_exclude, m->ntopics_exclude);
    free(m->topics_underivable);
    free(m->key_format);
    free(m->value_format);
    free(m->registry_url);
    free(m->registry_basic_auth);
    free(m->decimal_mode);
    free(m->time_precision_mode);
    free(m->binary_mode);
    free(m->unavailable_placeholder);
    free(m->transaction_topic);
    free(m->unwrap_delete_mode);
    strv_free(m->transforms, m->ntransforms);
    free(m->heartbeat_prefix);
    free(m->heartbeat_topic);
    free(m->signal_data_collection);
    free(m->signal_channels);
    free(m->signal_kafka_topic);
    free(m->signal_kafka_bootstrap);
    strv_free(m->notes, m->nnotes);
    free(m);
}

/* ---- config-provider placeholders -------------------------------------- */

/* Java .properties: "key=value", "key: value" or "key value"; # and !
 * comments; backslash continuations and escapes (\t \n \r \f \uXXXX). */
static int properties_lookup(const char *path, const char *want, char **out, int *found,
                             sluice_err_t *err)
{
    size_t len = 0;
    char *text = read_file(path, &len), *p;
    sluice_buf_t line, key, val;
    int rc = 0;

    *found = 0;
    if (!text)
        return sluice_err_set(err, SLUICE_ERR_FATAL, "cannot read %s: %s", path, strerror(errno));
    sluice_buf_init(&line);
    sluice_buf_init(&key);
    sluice_buf_init(&val);
    p = text;
    while (*p && !*found) {
        /* one logical line, continuations joined */
        const char *q;
        int in_key = 1, sep_seen = 0;

        sluice_buf_reset(&line);
        for (;;) {
            char *eol = p + strcspn(p, "\r\n");
            size_t n = (size_t)(eol - p), bs = 0;
            while (bs < n && p[n - 1 - bs] == '\\')
                bs++;
            if (sluice_buf_append(&line, p, bs % 2 ? n - 1 : n) < 0)
                goto nomem;
            p = eol;
            if (*p == '\r')
                p++;
            if (*p == '\n')
                p++;
            if (!(bs % 2) || !*p)
                break;
            while (*p == ' ' || *p == '\t' || *p == '\f')
                p++;
        }
        q = line.data ? line.data : "";
        while (*q == ' ' || *q == '\t' || *q == '\f')
            q++;
        if (!*q || *q == '#' || *q == '!')
            continue;
        sluice_buf_reset(&key);
        sluice_buf_reset(&val);
        for (; *q; q++) {
            char c = *q;
            sluice_buf_t *dst;
            if (in_key && (c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f')) {
                in_key = 0;
                while (*q == ' ' || *q == '\t' || *q == '\f')
                    q++;
                if (*q == '=' || *q == ':') {
                    q++;
                    sep_seen = 1;
                }
                while (*q == ' ' || *q == '\t' || *q == '\f')
                    q++;
                q--;
                continue;
            }
            dst = in_key ? &key : &val;
            if (c == '\\' && q[1]) {
                q++;
                switch (*q) {
                case 't': c = '\t'; break;
                case 'n': c = '\n'; break;
                case 'r': c = '\r'; break;
                case 'f': c = '\f'; break;
                case 'u': {
                    unsigned cp = 0;
                    int k;
                    for (k = 1; k <= 4 && isxdigit((unsigned char)q[k]); k++)
                        cp = cp * 16 + (unsigned)(isdigit((unsigned char)q[k]) ? q[k] - '0' : (tolower((unsigned char)q[k]) - 'a' + 10));
                    q += k - 1;
                    /* UTF-8 encode the BMP code point */
                    if (cp < 0x80) {
                        c = (char)cp;
                    } else if (cp < 0x800) {
                        if (sluice_buf_putc(dst, (char)(0xC0 | (cp >> 6))) < 0)
                            goto nomem;
                        c = (char)(0x80 | (cp & 0x3F));
                    } else {
                        if (sluice_buf_putc(dst, (char)(0xE0 | (cp >> 12))) < 0 ||
                            sluice_buf_putc(dst, (char)(0x80 | ((cp >> 6) & 0x3F))) < 0)
                            goto nomem;
                        c = (char)(0x80 | (cp & 0x3F));
                    }
                    break;
                }
                default: c = *q; break;
                }
            }
            if (sluice_buf_putc(dst, c) < 0)
                goto nomem;
        }
        (void)sep_seen;
        if (key.data && strcmp(key.data, want) == 0) {
            *out = strdup(val.data ? val.data : "");
            if (!*out)
                goto nomem;
            *found = 1;
        }
    }
    goto done;
nomem:
    rc = oom(err);
done:
    sluice_buf_cleanup(&line);
    sluice_buf_cleanup(&key);
    sluice_buf_cleanup(&val);
    free(text);
    return rc;
}

static void env_name(const char *prefix, const char *a, const char *b, char *out, size_t outsz)
{
    size_t n = (size_t)snprintf(out, outsz, "%s%s_%s", prefix, a, b), i;

    for (i = strlen(prefix); i < n && i < outsz; i++)
        out[i] = isalnum((unsigned char)out[i]) ? (char)toupper((unsigned char)out[i]) : '_';
}

/* One ${provider:[path:]key}. */
static int resolve_one(const char *provider, const char *path, const char *key, char **out,
                       sluice_err_t *err)
{
    if (strcmp(provider, "env") == 0) {
        const char *v = getenv(key);
        if (path && *path)
            return sluice_err_set(err, SLUICE_ERR_FATAL, "${env:...} takes no path, got \"%s\"",
                                  path);
        if (!v)
            return sluice_err_set(err, SLUICE_ERR_FATAL,
                                  "environment variable %s is not set", key);
        return (*out = strdup(v)) ? 0 : oom(err);
    }
    if (strcmp(provider, "file") == 0) {
        int found = 0;
        if (!path || !*path)
            return sluice_err_set(err, SLUICE_ERR_FATAL,
                                  "${file:...} needs a path: ${file:/path/to/file.properties:key}");
        if (properties_lookup(path, key, out, &found, err) < 0)
            return -1;
        if (!found)
            return sluice_err_set(err, SLUICE_ERR_FATAL, "%s has no property \"%s\"", path, key);
        return 0;
    }
    if (strcmp(provider, "directory") == 0) {
        char full[4096];
        size_t len = 0;
        if (!path || !*path)
            return sluice_err_set(err, SLUICE_ERR_FATAL,
                                  "${directory:...} needs a path: ${directory:/dir:file}");
        if (strchr(key, '/') || strcmp(key, "..") == 0)
            return sluice_err_set(err, SLUICE_ERR_FATAL,
                                  "${directory:...}: \"%s\" must name a file directly inside %s",
                                  key, path);
        snprintf(full, sizeof(full), "%s/%s", path, key);
        if (!(*out = read_file(full, &len)))
            return sluice_err_set(err, SLUICE_ERR_FATAL, "cannot read %s: %s", full,
                                  strerror(errno));
        return 0;
    }
    if (strcmp(provider, "secrets") == 0) {
        /* Strimzi's KubernetesSecretConfigProvider: ${secrets:<namespace>/<secret>:<key>}.
         * Sluice reads SLUICE_SECRET_<NAMESPACE>_<SECRET>_<KEY>, or the file
         * <SLUICE_SECRETS_DIR>/<namespace>/<secret>/<key> (a mounted Secret). */
        char var[512], full[4096];
        const char *v, *dir = getenv("SLUICE_SECRETS_DIR");
        char nsname[1024];
        size_t len = 0;
        if (!path || !*path || !strchr(path, '/'))
            return sluice_err_set(err, SLUICE_ERR_FATAL,
                                  "${secrets:...} wants <namespace>/<secret>:<key>");
        snprintf(nsname, sizeof(nsname), "%s", path);
        env_name("SLUICE_SECRET_", nsname, key, var, sizeof(var));
        if ((v = getenv(var)) != NULL)
            return (*out = strdup(v)) ? 0 : oom(err);
        snprintf(full, sizeof(full), "%s/%s/%s", dir && *dir ? dir : DEFAULT_SECRETS_DIR, path,
                 key);
        if ((*out = read_file(full, &len)) != NULL)
            return 0;
        return sluice_err_set(err, SLUICE_ERR_FATAL,
                              "Kubernetes secret %s key %s is not available to Sluice: set %s or "
                              "mount the secret at %s/%s (SLUICE_SECRETS_DIR)",
                              path, key, var, dir && *dir ? dir : DEFAULT_SECRETS_DIR, path);
    }
    return sluice_err_set(err, SLUICE_ERR_FATAL,
                          "unknown config provider \"%s\" (Sluice resolves env, file, directory "
                          "and secrets)",
                          provider);
}

int sluice_manifest_resolve_text(const char *text, char **out, sluice_err_t *err)
{
    sluice_buf_t buf;
    const char *p = text;

    *out = NULL;
    sluice_buf_init(&buf);
    if (sluice_buf_puts(&buf, "") < 0)
        return oom(err);
    while (*p) {
        const char *start = strstr(p, "${"), *end, *c1, *c2;
        char provider[128], path[2048], key[1024];
        char *value = NULL;

        if (!start) {
            if (sluice_buf_puts(&buf, p) < 0)
                goto nomem;
            break;
        }
        end = strchr(start + 2, '}');
        c1 = end ? memchr(start + 2, ':', (size_t)(end - start - 2)) : NULL;
        if (!end || !c1) {
            /* not a placeholder (Kafka leaves such text alone) */
            if (sluice_buf_append(&buf, p, (size_t)(start - p) + 2) < 0)
                goto nomem;
            p = start + 2;
            continue;
        }
        if (sluice_buf_append(&buf, p, (size_t)(start - p)) < 0)
            goto nomem;
        snprintf(provider, sizeof(provider), "%.*s", (int)(c1 - start - 2), start + 2);
        c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
        if (c2) {
            snprintf(path, sizeof(path), "%.*s", (int)(c2 - c1 - 1), c1 + 1);
            snprintf(key, sizeof(key), "%.*s", (int)(end - c2 - 1), c2 + 1);
        } else {
            path[0] = '\0';
            snprintf(key, sizeof(key), "%.*s", (int)(end - c1 - 1), c1 + 1);
        }
        if (resolve_one(provider, path, key, &value, err) < 0) {
            sluice_err_prefix(err, "cannot resolve %.*s", (int)(end - start + 1), start);
            sluice_buf_cleanup(&buf);
            return -1;
        }
        if (sluice_buf_puts(&buf, value) < 0) {
            free(value);
            goto nomem;
        }
        free(value);
        p = end + 1;
    }
    *out = buf.data;
    return 0;
nomem:
    sluice_buf_cleanup(&buf);
    return oom(err);
}

int sluice_manifest_get(const sluice_manifest_t *m, const char *key, char **out, sluice_err_t *err)
{
    const char *raw = sluice_manifest_raw(m, key);

    *out = NULL;
    if (!raw)
        return 0;
    if (sluice_manifest_resolve_text(raw, out, err) < 0) {
        sluice_err_prefix(err, "manifest %s: %s", m->path, key);
        return -1;
    }
    return 0;
}

/* ---- regular expressions: Java (Debezium, Kafka Connect) → POSIX ERE --- */

/* Appends s with every ERE metacharacter escaped. */
static int ere_escape(sluice_buf_t *out, const char *s)
{
    for (; *s; s++) {
        if (strchr("\\.^$|()[]{}*+?", *s) && sluice_buf_putc(out, '\\') < 0)
            return -1;
        if (sluice_buf_putc(out, *s) < 0)
            return -1;
    }
    return 0;
}

/* Translates the Java regex subset Debezium users write into an ERE that
 * matches the same strings when fully anchored. `\.` (the separator between
 * schema and table) becomes delim when delim is given. Returns -1 with why
 * filled for constructs POSIX cannot express. */
static int java_to_ere(const char *re, const char *delim, sluice_buf_t *out, char *why, size_t whysz)
{
    const char *p;
    int in_class = 0;

    for (p = re; *p; p++) {
        char c = *p;
        if (in_class) {
            if (c == ']' && p[-1] != '[' && !(p[-1] == '^' && p[-2] == '[')) {
                in_class = 0;
                if (sluice_buf_putc(out, c) < 0)
                    return -1;
                continue;
            }
            if (c == '\\' && p[1]) {
                const char *rep = NULL;
                p++;
                switch (*p) {
                case 'd': rep = "0-9"; break;
                case 'w': rep = "A-Za-z0-9_"; break;
                case 's': rep = "[:space:]"; break;
                case ']': case '\\': case '^':
                    snprintf(why, whysz, "\"\\%c\" inside [...] has no POSIX equivalent", *p);
                    return -1;
                case '-':
                    snprintf(why, whysz, "\"\\-\" inside [...]: put '-' last instead");
                    return -1;
                default:
                    if (isalnum((unsigned char)*p)) {
                        snprintf(why, whysz, "\"\\%c\" is not supported", *p);
                        return -1;
                    }
                    if (sluice_buf_putc(out, *p) < 0)
                        return -1;
                    continue;
                }
                if (sluice_buf_puts(out, rep) < 0)
                    return -1;
                continue;
            }
            if (sluice_buf_putc(out, c) < 0)
                return -1;
            continue;
        }
        switch (c) {
        case '[':
            in_class = 1;
            if (sluice_buf_putc(out, c) < 0)
                return -1;
            if (p[1] == '^') {
                if (sluice_buf_putc(out, '^') < 0)
                    return -1;
                p++;
            }
            continue;
        case '(':
            if (p[1] == '?') {
                if (p[2] == ':') {
                    p += 2;
                } else {
                    snprintf(why, whysz, "\"(?%c\" (inline flags, lookaround, named groups) has no "
                                         "POSIX equivalent", p[2]);
                    return -1;
                }
            }
            break;
        case '*':
        case '+':
        case '?':
        case '}':
            if (sluice_buf_putc(out, c) < 0)
                return -1;
            if (p[1] == '?') /* lazy: same full-match language */
                p++;
            else if (p[1] == '+') {
                snprintf(why, whysz, "possessive quantifiers (\"%c+\") are not supported", c);
                return -1;
            }
            continue;
        case '\\': {
            const char *rep = NULL;
            char lit[3] = {0};
            p++;
            switch (*p) {
            case '\0':
                snprintf(why, whysz, "trailing backslash");
                return -1;
            case 'd': rep = "[0-9]"; break;
            case 'D': rep = "[^0-9]"; break;
            case 'w': rep = "[A-Za-z0-9_]"; break;
            case 'W': rep = "[^A-Za-z0-9_]"; break;
            case 's': rep = "[[:space:]]"; break;
            case 'S': rep = "[^[:space:]]"; break;
            case '.':
                if (delim) {
                    if (ere_escape(out, delim) < 0)
                        return -1;
                    continue;
                }
                rep = "\\.";
                break;
            case '-': case '_': case '/': case '@': case ':': case '"': case '\'': case ',':
            case '=': case '#': case '%': case '&': case '!': case '<': case '>': case '~':
                lit[0] = *p;
                rep = lit;
                break;
            default:
                if (isalnum((unsigned char)*p)) {
                    snprintf(why, whysz, "\"\\%c\" has no POSIX equivalent", *p);
                    return -1;
                }
                lit[0] = '\\';
                lit[1] = *p;
                rep = lit;
                break;
            }
            if (sluice_buf_puts(out, rep) < 0)
                return -1;
            continue;
        }
        default:
            break;
        }
        if (sluice_buf_putc(out, c) < 0)
            return -1;
    }
    if (in_class) {
        snprintf(why, whysz, "unterminated [...]");
        return -1;
    }
    return 0;
}

/* Whether a list entry names one identifier rather than a pattern:
 * identifier characters and dots (the dot meant literally). */
static int is_literal(const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' && s[1] == '.') {
            s++;
            continue;
        }
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
            return 0;
    }
    return 1;
}

static char *unescape_literal(const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out;

    if (!out)
        return NULL;
    for (; *s; s++) {
        if (*s == '\\' && s[1])
            s++;
        *o++ = *s;
    }
    *o = '\0';
    return out;
}

/* Full (anchored) match of text against any Java regex in items. */
static int list_matches(char **items, size_t n, const char *text, const char *key,
                        const sluice_manifest_t *m, int *hit, sluice_err_t *err)
{
    size_t i;

    *hit = 0;
    for (i = 0; i < n && !*hit; i++) {
        sluice_buf_t b;
        char why[256] = "";
        regex_t re;
        int rc;

        sluice_buf_init(&b);
        if (sluice_buf_puts(&b, "^(") < 0 || java_to_ere(items[i], NULL, &b, why, sizeof(why)) < 0 ||
            sluice_buf_puts(&b, ")$") < 0) {
            sluice_buf_cleanup(&b);
            if (!why[0])
                return oom(err);
            return sluice_err_set(err, SLUICE_ERR_FATAL,
                                  "manifest %s: %s entry \"%s\": %s (rewrite it with plain "
                                  "characters, ., [...], *, +, ?, | and groups)",
                                  m->path, key, items[i], why);
        }
        rc = regcomp(&re, b.data, REG_EXTENDED | REG_NOSUB);
        sluice_buf_cleanup(&b);
        if (rc != 0)
            return sluice_err_set(err, SLUICE_ERR_FATAL,
                                  "manifest %s: %s entry \"%s\" is not a valid regular expression",
                                  m->path, key, items[i]);
        *hit = regexec(&re, text, 0, NULL, 0) == 0;
        regfree(&re);
    }
    return 0;
}

/* ---- derivation -------------------------------------------------------- */

typedef struct {
    char *alias;       /* transforms.<alias> */
    char *regex;       /* Java regex, full match */
    char *replacement; /* Java replacement ($n group references) */
} router_t;

typedef struct {
    sluice_manifest_t *m;
    sluice_err_t *err;
    router_t routers[16];
    size_t nrouters;
} derive_t;

/* Resolved property or NULL; -1 when a placeholder cannot be resolved. */
static int get(derive_t *d, const char *key, char **out)
{
    return sluice_manifest_get(d->m, key, out, d->err);
}

static int fail(derive_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(derive_t *d, const char *fmt, ...)
{
    char text[SLUICE_ERR_MSG_MAX - 256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return sluice_err_set(d->err, SLUICE_ERR_FATAL, "manifest %s: %s", d->m->path, text);
}

static int parse_bool(derive_t *d, const char *key, int def, int *out)
{
    char *v = NULL;

    if (get(d, key, &v) < 0)
        return -1;
    *out = def;
    if (v) {
        if (strcasecmp(v, "true") == 0) {
            *out = 1;
        } else if (strcasecmp(v, "false") == 0) {
            *out = 0;
        } else {
            fail(d, "%s = \"%s\" must be true or false", key, v);
            free(v);
            return -1;
        }
    }
    free(v);
    return 0;
}

/* A property restricted to known values: stored in *slot (def when unset). */
static int enum_prop(derive_t *d, const char *key, const char *def, const char *const *allowed,
                     char **slot)
{
    char *v = NULL;
    char list[512];

    if (get(d, key, &v) < 0)
        return -1;
    if (v && !one_of(v, allowed)) {
        join_list(allowed, list, sizeof(list));
        fail(d, "%s = \"%s\" is not a value Sluice understands (%s); it changes how values are "
                "encoded, so Sluice refuses to guess: use one of those",
             key, v, list);
        free(v);
        return -1;
    }
    if (set_str(slot, v ? v : def) < 0) {
        free(v);
        return oom(d->err);
    }
    free(v);
    return 0;
}

static int derive_kind(derive_t *d)
{
    char *cls = NULL;
    const char *kind = NULL;
    int rc = 0;

    if (get(d, "connector.class", &cls) < 0)
        return -1;
    if (!cls)
        return fail(d, "connector.class is missing (Sluice reads Debezium PostgreSQL, MySQL and "
                       "MariaDB connectors)");
    if (strcmp(cls, "io.debezium.connector.postgresql.PostgresConnector") == 0)
        kind = "postgres";
    else if (strcmp(cls, "io.debezium.connector.mysql.MySqlConnector") == 0)
        kind = "mysql";
    else if (strcmp(cls, "io.debezium.connector.mariadb.MariaDbConnector") == 0)
        kind = "mariadb";
    if (!kind)
        rc = fail(d, "connector.class = %s: Sluice derives topics for the Debezium PostgreSQL, MySQL "
                     "and MariaDB connectors only; list this connector's topics in the config's "
                     "topics instead of connectors",
                  cls);
    else if (set_str(&d->m->source_kind, kind) < 0)
        rc = oom(d->err);
    free(cls);
    return rc;
}

static int derive_prefix(derive_t *d)
{
    sluice_manifest_t *m = d->m;
    char *prefix = NULL, *legacy = NULL, *delim = NULL, *strategy = NULL;
    int rc = -1;

    if (get(d, "topic.prefix", &prefix) < 0 || get(d, "database.server.name", &legacy) < 0 ||
        get(d, "topic.delimiter", &delim) < 0 || get(d, "topic.naming.strategy", &strategy) < 0)
        goto out;
    if (!prefix && !legacy) {
        fail(d, "topic.prefix is missing (Debezium names topics <topic.prefix>.<schema>.<table>)");
        goto out;
    }
    if (prefix && legacy && strcmp(prefix, legacy) != 0 &&
        note(m, "database.server.name (%s) is ignored: topic.prefix (%s) names the topics", legacy,
             prefix) < 0)
        goto nomem;
    if (!*(prefix ? prefix : legacy)) {
        fail(d, "topic.prefix is empty");
        goto out;
    }
    if (set_str(&m->topic_prefix, prefix ? prefix : legacy) < 0 ||
        set_str(&m->topic_delimiter, delim && *delim ? delim : ".") < 0)
        goto nomem;
    if (strategy && strcmp(strategy, "io.debezium.schema.SchemaTopicNamingStrategy") != 0 &&
        strcmp(strategy, "io.debezium.schema.DefaultTopicNamingStrategy") != 0) {
        fail(d, "topic.naming.strategy = %s: Sluice cannot know the topic names this strategy "
                "produces; use the default strategy, or list the topics in the config's topics and "
                "drop this manifest from connectors",
             strategy);
        goto out;
    }
    rc = 0;
    goto out;
nomem:
    rc = oom(d->err);
out:
    free(prefix);
    free(legacy);
    free(delim);
    free(strategy);
    return rc;
}

/* key.converter / value.converter and their settings. */
static int derive_converter(derive_t *d, const char *side, char **format, int *schemas,
                            char **url, char **auth)
{
    char key[256], *cls = NULL, *v = NULL, *source = NULL, *info = NULL;
    int rc = -1, apicurio = 0;

    snprintf(key, sizeof(key), "%s.converter", side);
    if (get(d, key, &cls) < 0)
        return -1;
    *schemas = -1;
    if (!cls) {
        rc = 0; /* the Connect worker's default converter: Sluice detects per message */
        goto out;
    }
    if (strcmp(cls, "org.apache.kafka.connect.json.JsonConverter") == 0) {
        if (set_str(format, "json") < 0)
            goto nomem;
        snprintf(key, sizeof(key), "%s.converter.schemas.enable", side);
        if (parse_bool(d, key, 1, schemas) < 0)
            goto out;
        snprintf(key, sizeof(key), "%s.converter.decimal.format", side);
        if (get(d, key, &v) < 0)
            goto out;
        if (v && strcmp(v, "BASE64") != 0 && strcmp(v, "NUMERIC") != 0) {
            fail(d, "%s = \"%s\" is not BASE64 or NUMERIC", key, v);
            goto out;
        }
        if (v && strcmp(v, "NUMERIC") == 0 &&
            note(d->m, "%s = NUMERIC: decimals arrive as JSON numbers", key) < 0)
            goto nomem;
        rc = 0;
        goto out;
    }
    if (strcmp(cls, "io.confluent.connect.avro.AvroConverter") == 0) {
        snprintf(key, sizeof(key), "%s.converter.schema.registry.url", side);
    } else if (strcmp(cls, "io.apicurio.registry.utils.converter.AvroConverter") == 0) {
        int as_confluent = 0;
        apicurio = 1;
        snprintf(key, sizeof(key), "%s.converter.apicurio.registry.as-confluent", side);
        if (parse_bool(d, key, 0, &as_confluent) < 0)
            goto out;
        if (!as_confluent) {
            fail(d, "%s = %s writes Apicurio's own wire format; Sluice reads the Confluent format: "
                    "set %s=true (and %s.converter.apicurio.registry.headers.enabled=false)",
                 side, cls, key, side);
            goto out;
        }
        snprintf(key, sizeof(key), "%s.converter.apicurio.registry.url", side);
    } else {
        fail(d, "%s.converter = %s: Sluice reads org.apache.kafka.connect.json.JsonConverter and "
                "Avro (io.confluent.connect.avro.AvroConverter, or Apicurio's AvroConverter with "
                "as-confluent=true); change the converter or consume these topics with another "
                "tool",
             side, cls);
        goto out;
    }
    if (set_str(format, "avro") < 0)
        goto nomem;
    if (get(d, key, &v) < 0)
        goto out;
    if (!v || !*v) {
        fail(d, "%s is missing: Avro needs the schema registry URL", key);
        goto out;
    }
    {
        /* Confluent allows a comma-separated list: Sluice uses the first */
        char *comma = strchr(v, ',');
        if (comma) {
            *comma = '\0';
            if (note(d->m, "%s lists several registries; Sluice uses %s", key, trim(v)) < 0)
                goto nomem;
        }
    }
    if (apicurio) {
        /* Apicurio's Confluent-compatible API lives at /apis/ccompat/v7 */
        char *base = trim(v), *api = strstr(base, "/apis/registry");
        char full[2048];
        if (api)
            *api = '\0';
        while (*base && base[strlen(base) - 1] == '/')
            base[strlen(base) - 1] = '\0';
        snprintf(full, sizeof(full), "%s/apis/ccompat/v7", base);
        if (set_str(url, full) < 0)
            goto nomem;
    } else if (set_str(url, trim(v)) < 0) {
        goto nomem;
    }
    snprintf(key, sizeof(key), "%s.converter.basic.auth.credentials.source", side);
    if (get(d, key, &source) < 0)
        goto out;
    snprintf(key, sizeof(key), "%s.converter.basic.auth.user.info", side);
    if (get(d, key, &info) < 0)
        goto out;
    if (!info) {
        snprintf(key, sizeof(key), "%s.converter.schema.registry.basic.auth.user.info", side);
        if (get(d, key, &info) < 0)
            goto out;
    }
    if (source && strcmp(source, "USER_INFO") == 0) {
        if (!info || !strchr(info, ':')) {
            fail(d, "%s.converter.basic.auth.credentials.source = USER_INFO needs "
                    "%s.converter.basic.auth.user.info = <user>:<password>",
                 side, side);
            goto out;
        }
        if (set_str(auth, info) < 0)
            goto nomem;
    } else if (source && strcmp(source, "URL") != 0) {
        fail(d, "%s.converter.basic.auth.credentials.source = %s: Sluice supports USER_INFO and "
                "URL (credentials in the registry URL)",
             side, source);
        goto out;
    } else if (info && note(d->m, "%s.converter.basic.auth.user.info is ignored: "
                                  "basic.auth.credentials.source is URL (the default); set it to "
                                  "USER_INFO to use it",
                            side) < 0) {
        goto nomem;
    }
    rc = 0;
    goto out;
nomem:
    rc = oom(d->err);
out:
    free(cls);
    free(v);
    free(source);
    free(info);
    return rc;
}

static int derive_converters(derive_t *d)
{
    sluice_manifest_t *m = d->m;
    char *kurl = NULL, *kauth = NULL;
    int rc = -1;

    if (derive_converter(d, "key", &m->key_format, &m->key_schemas, &kurl, &kauth) < 0 ||
        derive_converter(d, "value", &m->value_format, &m->value_schemas, &m->registry_url,
                         &m->registry_basic_auth) < 0)
        goto out;
    if (kurl && m->registry_url && strcmp(kurl, m->registry_url) != 0) {
        fail(d, "the key converter's registry (%s) differs from the value converter's (%s); "
                "Sluice uses one schema registry",
             kurl, m->registry_url);
        goto out;
    }
    if (kurl && !m->registry_url && (set_str(&m->registry_url, kurl) < 0))
        goto nomem;
    if (kauth && !m->registry_basic_auth && set_str(&m->registry_basic_auth, kauth) < 0)
        goto nomem;
    {
        /* Kafka Connect converters default replace.null.with.default to true:
         * an explicit NULL in a column with a default arrives as the default */
        char *rnd = NULL;
        if (get(d, "value.converter.replace.null.with.default", &rnd) < 0)
            goto out;
        if ((!rnd || strcmp(rnd, "false") != 0) && m->value_format &&
            note(m, "value.converter.replace.null.with.default is %s: an explicit NULL in a column "
                    "that has a default arrives as that default; set it to false to keep NULLs "
                    "(docs/avro.md)",
                 rnd ? rnd : "true (the converter's default)") < 0) {
            free(rnd);
            goto nomem;
        }
        free(rnd);
    }
    if (m->value_schemas == 0 && m->decimal_mode && strcmp(m->decimal_mode, "precise") == 0 &&
        note(m, "value.converter.schemas.enable=false with decimal.handling.mode=precise: decimal "
                "values arrive as base64 bytes without their scale; use decimal.handling.mode="
                "string or enable schemas") < 0)
        goto nomem;
    rc = 0;
    goto out;
nomem:
    rc = oom(d->err);
out:
    free(kurl);
    free(kauth);
    return rc;
}

static int derive_modes(derive_t *d)
{
    static const char *const decimal[] = {"precise", "double", "string", NULL};
    static const char *const timep[] = {"adaptive", "adaptive_time_microseconds", "connect",
                                        "isostring", "microseconds", "nanoseconds", NULL};
    static const char *const binary[] = {"bytes", "base64", "base64-url-safe", "hex", NULL};
    static const char *const hstore[] = {"json", "map", NULL};
    static const char *const interval[] = {"numeric", "string", NULL};
    static const char *const known_converters[] = {
        "io.debezium.connector.mysql.converters.TinyIntOneToBooleanConverter",
        "io.debezium.connector.binlog.converters.TinyIntOneToBooleanConverter", NULL};
    sluice_manifest_t *m = d->m;
    char *scratch = NULL, *converters = NULL;
    char **names = NULL;
    size_t n = 0, i;
    int rc = -1;

    if (enum_prop(d, "decimal.handling.mode", "precise", decimal, &m->decimal_mode) < 0 ||
        enum_prop(d, "time.precision.mode", "adaptive", timep, &m->time_precision_mode) < 0 ||
        enum_prop(d, "binary.handling.mode", "bytes", binary, &m->binary_mode) < 0 ||
        enum_prop(d, "hstore.handling.mode", "json", hstore, &scratch) < 0 ||
        enum_prop(d, "interval.handling.mode", "numeric", interval, &scratch) < 0)
        goto out;
    if (get(d, "unavailable.value.placeholder", &m->unavailable_placeholder) < 0)
        goto out;
    if (m->unavailable_placeholder && !*m->unavailable_placeholder) {
        fail(d, "unavailable.value.placeholder is empty");
        goto out;
    }
    if (m->unavailable_placeholder && strncmp(m->unavailable_placeholder, "hex:", 4) == 0 &&
        note(m, "unavailable.value.placeholder uses the hex: form; text columns carry it as written") < 0)
        goto nomem;
    if (parse_bool(d, "provide.transaction.metadata", 0, &m->transaction_metadata) < 0)
        goto out;
    if (m->transaction_metadata) {
        char *t = NULL, topic[1024];
        if (get(d, "topic.transaction", &t) < 0)
            goto out;
        snprintf(topic, sizeof(topic), "%s%s%s", m->topic_prefix, m->topic_delimiter,
                 t ? t : "transaction");
        free(t);
        if (set_str(&m->transaction_topic, topic) < 0)
            goto nomem;
    }
    /* custom value converters change how columns are encoded */
    if (get(d, "converters", &converters) < 0)
        goto out;
    if (converters) {
        if (split_list(converters, &names, &n) < 0)
            goto nomem;
        for (i = 0; i < n; i++) {
            char key[512], *type = NULL;
            snprintf(key, sizeof(key), "%s.type", names[i]);
            if (get(d, key, &type) < 0)
                goto out;
            if (!type || !one_of(type, known_converters)) {
                fail(d, "converters: %s (%s) is a custom converter whose output Sluice does not "
                        "know; remove it, or consume these topics with your own handler",
                     names[i], type ? type : "no .type");
                free(type);
                goto out;
            }
            free(type);
        }
    }
    rc = 0;
    goto out;
nomem:
    rc = oom(d->err);
out:
    free(scratch);
    free(converters);
    strv_free(names, n);
    return rc;
}

static int derive_transforms(derive_t *d)
{
    static const char *const harmless[] = {
        "io.debezium.transforms.ExtractChangedRecordState",
        "org.apache.kafka.connect.transforms.InsertHeader",
        "org.apache.kafka.connect.transforms.DropHeaders",
        "org.apache.kafka.connect.transforms.Filter",
        "io.debezium.transforms.Filter",
        NULL};
    static const char *const tombstone_modes[] = {"drop", "tombstone", "rewrite",
                                                  "rewrite-with-tombstone", "delete-to-tombstone",
                                                  NULL};
    static const char *const legacy_modes[] = {"drop", "rewrite", "none", NULL};
    sluice_manifest_t *m = d->m;
    char *list = NULL, **aliases = NULL;
    size_t n = 0, i;
    int rc = -1;

    if (get(d, "transforms", &list) < 0)
        return -1;
    if (!list)
        return 0;
    if (split_list(list, &aliases, &n) < 0)
        goto nomem;
    for (i = 0; i < n; i++) {
        char key[512], desc[1024], *type = NULL;
        const char *a = aliases[i];

        snprintf(key, sizeof(key), "transforms.%s.type", a);
        if (get(d, key, &type) < 0)
            goto out;
        if (!type) {
            fail(d, "%s is missing (transforms lists \"%s\")", key, a);
            goto out;
        }
        snprintf(desc, sizeof(desc), "%s=%s", a, type);
        if (strv_push(&m->transforms, &m->ntransforms, desc) < 0) {
            free(type);
            goto nomem;
        }
        if (strcmp(type, "io.debezium.transforms.ExtractNewRecordState") == 0) {
            char *mode = NULL, *legacy = NULL, *fields = NULL;
            int ok = 1;
            m->unwrap = 1;
            snprintf(key, sizeof(key), "transforms.%s.delete.tombstone.handling.mode", a);
            ok = get(d, key, &mode) == 0;
            if (ok && mode && !one_of(mode, tombstone_modes)) {
                fail(d, "%s = \"%s\" is not a mode Sluice knows", key, mode);
                ok = 0;
            }
            if (ok && !mode) {
                snprintf(key, sizeof(key), "transforms.%s.delete.handling.mode", a);
                ok = get(d, key, &legacy) == 0;
                if (ok && legacy && !one_of(legacy, legacy_modes)) {
                    fail(d, "%s = \"%s\" is not drop, rewrite or none", key, legacy);
                    ok = 0;
                }
            }
            if (ok)
                ok = set_str(&m->unwrap_delete_mode, mode ? mode : legacy ? legacy : "tombstone") == 0 ||
                     oom(d->err) == 0;
            snprintf(key, sizeof(key), "transforms.%s.add.fields", a);
            if (ok)
                ok = get(d, key, &fields) == 0;
            if (ok && fields && *fields &&
                note(m, "%s adds fields %s to every row (prefixed __): the target needs those "
                        "columns",
                     a, fields) < 0)
                ok = oom(d->err) == 0;
            free(mode);
            free(legacy);
            free(fields);
            free(type);
            if (!ok)
                goto out;
            continue;
        }
        if (strcmp(type, "org.apache.kafka.connect.transforms.RegexRouter") == 0 ||
            strcmp(type, "io.debezium.transforms.ByLogicalTableRouter") == 0) {
            int logical = type[3] == 'd'; /* io.debezium... */
            router_t *r;
            if (d->nrouters == sizeof(d->routers) / sizeof(d->routers[0])) {
                fail(d, "too many topic-routing transforms");
                free(type);
                goto out;
            }
            r = &d->routers[d->nrouters];
            memset(r, 0, sizeof(*r));
            r->alias = strdup(a);
            if (!r->alias) {
                free(type);
                goto nomem;
            }
            snprintf(key, sizeof(key), "transforms.%s.%s", a, logical ? "topic.regex" : "regex");
            d->nrouters++; /* owned by d from here on */
            if (get(d, key, &r->regex) < 0) {
                free(type);
                goto out;
            }
            if (!r->regex) {
                fail(d, "%s is missing", key);
                free(type);
                goto out;
            }
            snprintf(key, sizeof(key), "transforms.%s.%s", a,
                     logical ? "topic.replacement" : "replacement");
            if (get(d, key, &r->replacement) < 0) {
                free(type);
                goto out;
            }
            if (!r->replacement) {
                fail(d, "%s is missing", key);
                free(type);
                goto out;
            }
            if (logical) {
                int unique = 1;
                snprintf(key, sizeof(key), "transforms.%s.key.enforce.uniqueness", a);
                if (parse_bool(d, key, 1, &unique) < 0) {
                    free(type);
                    goto out;
                }
                if (unique && note(m, "%s adds the key field __dbz__physicalTableIdentifier "
                                      "(key.field.name): the target's primary key must include it",
                                   a) < 0) {
                    free(type);
                    goto nomem;
                }
            }
            snprintf(key, sizeof(key), "transforms.%s.predicate", a);
            if (sluice_manifest_raw(m, key) &&
                note(m, "%s applies only where predicate %s holds; topics are derived as if it "
                        "always did",
                     a, sluice_manifest_raw(m, key)) < 0) {
                free(type);
                goto nomem;
            }
            free(type);
            continue;
        }
        if (!one_of(type, harmless)) {
            fail(d, "transforms.%s.type = %s: Sluice does not know how this transform changes the "
                    "records; remove it from the manifest, or consume its topics with your own "
                    "handler (list them in topics, not connectors)",
                 a, type);
            free(type);
            goto out;
        }
        free(type);
    }
    rc = 0;
    goto out;
nomem:
    rc = oom(d->err);
out:
    free(list);
    strv_free(aliases, n);
    return rc;
}

/* Java Matcher.replaceFirst on a full match: $n group references, \x literal. */
static int route_topic(derive_t *d, const router_t *r, const char *topic, char **out)
{
    sluice_buf_t re, res;
    char why[256] = "";
    regex_t rx;
    regmatch_t pm[11];
    const char *p;
    int rc = -1;

    *out = NULL;
    sluice_buf_init(&re);
    sluice_buf_init(&res);
    if (sluice_buf_puts(&re, "^(") < 0 || java_to_ere(r->regex, NULL, &re, why, sizeof(why)) < 0 ||
        sluice_buf_puts(&re, ")$") < 0) {
        if (why[0])
            fail(d, "transforms.%s regex \"%s\": %s", r->alias, r->regex, why);
        else
            oom(d->err);
        goto out;
    }
    if (regcomp(&rx, re.data, REG_EXTENDED) != 0) {
        fail(d, "transforms.%s regex \"%s\" is not a valid regular expression", r->alias, r->regex);
        goto out;
    }
    if (regexec(&rx, topic, 11, pm, 0) != 0) {
        regfree(&rx);
        rc = (*out = strdup(topic)) ? 0 : oom(d->err);
        goto out;
    }
    for (p = r->replacement; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            if (sluice_buf_putc(&res, *p) < 0)
                break;
        } else if (*p == '$' && isdigit((unsigned char)p[1])) {
            int g = p[1] - '0' + 1; /* +1: our outer anchoring group */
            p++;
            if (g > 10 || pm[g].rm_so < 0)
                continue;
            if (sluice_buf_append(&res, topic + pm[g].rm_so, (size_t)(pm[g].rm_eo - pm[g].rm_so)) < 0)
                break;
        } else if (sluice_buf_putc(&res, *p) < 0) {
            break;
        }
    }
    regfree(&rx);
    if (*p) {
        oom(d->err);
        goto out;
    }
    if (!res.len) {
        fail(d, "transforms.%s routes %s to an empty topic name", r->alias, topic);
        goto out;
    }
    *out = res.data;
    sluice_buf_init(&res);
    rc = 0;
out:
    sluice_buf_cleanup(&re);
    sluice_buf_cleanup(&res);
    return rc;
}

static int apply_routers(derive_t *d, const char *topic, char **out)
{
    char *cur = strdup(topic);
    size_t i;

    if (!cur)
        return oom(d->err);
    for (i = 0; i < d->nrouters; i++) {
        char *next = NULL;
        if (route_topic(d, &d->routers[i], cur, &next) < 0) {
            free(cur);
            return -1;
        }
        free(cur);
        cur = next;
    }
    *out = cur;
    return 0;
}

static int add_topic(derive_t *d, const char *topic)
{
    sluice_manifest_t *m = d->m;
    char *routed = NULL;
    size_t i;
    int rc = 0;

    if (apply_routers(d, topic, &routed) < 0)
        return -1;
    for (i = 0; i < m->ntopics; i++)
        if (strcmp(m->topics[i], routed) == 0)
            break;
    if (i == m->ntopics && strv_push(&m->topics, &m->ntopics, routed) < 0)
        rc = oom(d->err);
    free(routed);
    return rc;
}

/* Builds "^<prefix><delim>" + middle + "$" into out. */
static int topic_pattern(const sluice_manifest_t *m, sluice_buf_t *out)
{
    sluice_buf_reset(out);
    if (sluice_buf_putc(out, '^') < 0 || ere_escape(out, m->topic_prefix) < 0 ||
        ere_escape(out, m->topic_delimiter) < 0)
        return -1;
    return 0;
}

/* One identifier segment of a topic: any run of characters without the delimiter. */
static int segment(const sluice_manifest_t *m, sluice_buf_t *out)
{
    if (strlen(m->topic_delimiter) == 1) {
        char cls[8];
        snprintf(cls, sizeof(cls), "[^%s]+", strcmp(m->topic_delimiter, "]") == 0 ? "]" : m->topic_delimiter);
        return sluice_buf_puts(out, cls);
    }
    return sluice_buf_puts(out, ".+");
}

static int derive_topics(derive_t *d)
{
    sluice_manifest_t *m = d->m;
    const int pg = strcmp(m->source_kind, "postgres") == 0;
    const char *outer_in = pg ? "schema.include.list" : "database.include.list";
    const char *outer_ex = pg ? "schema.exclude.list" : "database.exclude.list";
    const char *outer_in_legacy = pg ? "schema.whitelist" : "database.whitelist";
    const char *outer_ex_legacy = pg ? "schema.blacklist" : "database.blacklist";
    char *tin = NULL, *tex = NULL, *sin = NULL, *sex = NULL;
    char **ti = NULL, **te = NULL, **si = NULL, **se = NULL;
    size_t nti = 0, nte = 0, nsi = 0, nse = 0, i;
    int patterns = 0, rc = -1;
    sluice_buf_t b;
    char why[256];
    const char *tin_key = "table.include.list", *tex_key = "table.exclude.list";

    sluice_buf_init(&b);
    if (get(d, "table.include.list", &tin) < 0 || get(d, "table.exclude.list", &tex) < 0 ||
        get(d, outer_in, &sin) < 0 || get(d, outer_ex, &sex) < 0)
        goto out;
    /* Debezium 1.x names */
    if (!tin && sluice_manifest_raw(m, "table.whitelist")) {
        tin_key = "table.whitelist";
        if (get(d, tin_key, &tin) < 0)
            goto out;
    }
    if (!tex && sluice_manifest_raw(m, "table.blacklist")) {
        tex_key = "table.blacklist";
        if (get(d, tex_key, &tex) < 0)
            goto out;
    }
    if (!sin && sluice_manifest_raw(m, outer_in_legacy)) {
        outer_in = outer_in_legacy;
        if (get(d, outer_in, &sin) < 0)
            goto out;
    }
    if (!sex && sluice_manifest_raw(m, outer_ex_legacy)) {
        outer_ex = outer_ex_legacy;
        if (get(d, outer_ex, &sex) < 0)
            goto out;
    }
    if (!pg && (sluice_manifest_raw(m, "schema.include.list") || sluice_manifest_raw(m, "schema.exclude.list")) &&
        note(m, "schema.include.list/schema.exclude.list do not apply to %s connectors "
                "(database.include.list does)",
             m->source_kind) < 0)
        goto nomem;
    if ((tin && split_list(tin, &ti, &nti) < 0) || (tex && split_list(tex, &te, &nte) < 0) ||
        (sin && split_list(sin, &si, &nsi) < 0) || (sex && split_list(sex, &se, &nse) < 0))
        goto nomem;

    if (nti) {
        for (i = 0; i < nti; i++) {
            if (is_literal(ti[i])) {
                char *name = unescape_literal(ti[i]), *dot, topic[2048];
                int hit = 0;
                if (!name)
                    goto nomem;
                dot = strchr(name, '.');
                if (!dot || dot == name || !dot[1] || strchr(dot + 1, '.')) {
                    fail(d, "%s entry \"%s\" must be %s (Debezium matches it against that form)",
                         tin_key, ti[i], pg ? "<schema>.<table>" : "<database>.<table>");
                    free(name);
                    goto out;
                }
                *dot = '\0';
                if (nsi && list_matches(si, nsi, name, outer_in, m, &hit, d->err) < 0) {
                    free(name);
                    goto out;
                }
                if (nsi && !hit) {
                    if (note(m, "%s.%s is in %s but its %s is not in %s: not captured", name,
                             dot + 1, tin_key, pg ? "schema" : "database", outer_in) < 0) {
                        free(name);
                        goto nomem;
                    }
                    free(name);
                    continue;
                }
                hit = 0; /* from here on: excluded? */
                if (nse && list_matches(se, nse, name, outer_ex, m, &hit, d->err) < 0) {
                    free(name);
                    goto out;
                }
                if (!hit && nte) {
                    *dot = '.';
                    if (list_matches(te, nte, name, tex_key, m, &hit, d->err) < 0) {
                        free(name);
                        goto out;
                    }
                    *dot = '\0';
                }
                if (hit) {
                    free(name);
                    continue;
                }
                snprintf(topic, sizeof(topic), "%s%s%s%s%s", m->topic_prefix, m->topic_delimiter,
                         name, m->topic_delimiter, dot + 1);
                free(name);
                if (add_topic(d, topic) < 0)
                    goto out;
                continue;
            }
            /* a regex over "schema.table" → a topic pattern */
            if (topic_pattern(m, &b) < 0 || sluice_buf_putc(&b, '(') < 0)
                goto nomem;
            why[0] = '\0';
            if (java_to_ere(ti[i], m->topic_delimiter, &b, why, sizeof(why)) < 0) {
                if (!why[0])
                    goto nomem;
                fail(d, "%s entry \"%s\": %s (rewrite it with plain characters, ., [...], *, +, ?, "
                        "| and groups)",
                     tin_key, ti[i], why);
                goto out;
            }
            if (sluice_buf_puts(&b, ")$") < 0)
                goto nomem;
            if (strv_push(&m->topics, &m->ntopics, b.data) < 0)
                goto nomem;
            patterns = 1;
        }
    } else if (nsi) {
        for (i = 0; i < nsi; i++) {
            if (topic_pattern(m, &b) < 0)
                goto nomem;
            if (is_literal(si[i]) && !strchr(si[i], '.')) {
                if (ere_escape(&b, si[i]) < 0)
                    goto nomem;
            } else {
                why[0] = '\0';
                if (sluice_buf_putc(&b, '(') < 0)
                    goto nomem;
                if (java_to_ere(si[i], NULL, &b, why, sizeof(why)) < 0) {
                    if (!why[0])
                        goto nomem;
                    fail(d, "%s entry \"%s\": %s", outer_in, si[i], why);
                    goto out;
                }
                if (sluice_buf_putc(&b, ')') < 0)
                    goto nomem;
            }
            if (ere_escape(&b, m->topic_delimiter) < 0 || segment(m, &b) < 0 ||
                sluice_buf_putc(&b, '$') < 0 || strv_push(&m->topics, &m->ntopics, b.data) < 0)
                goto nomem;
        }
        patterns = 1;
    } else {
        /* every table of the database(s) */
        if (topic_pattern(m, &b) < 0 || segment(m, &b) < 0 || ere_escape(&b, m->topic_delimiter) < 0 ||
            segment(m, &b) < 0 || sluice_buf_putc(&b, '$') < 0 ||
            strv_push(&m->topics, &m->ntopics, b.data) < 0)
            goto nomem;
        patterns = 1;
    }

    if (patterns) {
        /* Exclusions cannot be written into one POSIX pattern: record them
         * as topic patterns the worker leaves alone. */
        for (i = 0; i < nte; i++) {
            if (topic_pattern(m, &b) < 0 || sluice_buf_putc(&b, '(') < 0)
                goto nomem;
            why[0] = '\0';
            if (java_to_ere(te[i], m->topic_delimiter, &b, why, sizeof(why)) < 0) {
                if (!why[0])
                    goto nomem;
                fail(d, "%s entry \"%s\": %s", tex_key, te[i], why);
                goto out;
            }
            if (sluice_buf_puts(&b, ")$") < 0 ||
                strv_push(&m->topics_exclude, &m->ntopics_exclude, b.data) < 0)
                goto nomem;
        }
        for (i = 0; i < nse; i++) {
            if (topic_pattern(m, &b) < 0 || sluice_buf_putc(&b, '(') < 0)
                goto nomem;
            why[0] = '\0';
            if (java_to_ere(se[i], NULL, &b, why, sizeof(why)) < 0) {
                if (!why[0])
                    goto nomem;
                fail(d, "%s entry \"%s\": %s", outer_ex, se[i], why);
                goto out;
            }
            if (sluice_buf_putc(&b, ')') < 0 || ere_escape(&b, m->topic_delimiter) < 0 ||
                sluice_buf_puts(&b, ".+$") < 0 ||
                strv_push(&m->topics_exclude, &m->ntopics_exclude, b.data) < 0)
                goto nomem;
        }
        if (d->nrouters) {
            /* a pattern cannot be pushed through a RegexRouter */
            char why2[512];
            snprintf(why2, sizeof(why2),
                     "the captured tables are given by patterns and transforms.%s renames topics; "
                     "list the routed topic names in the config's topics",
                     d->routers[0].alias);
            strv_free(m->topics, m->ntopics);
            m->topics = NULL;
            m->ntopics = 0;
            strv_free(m->topics_exclude, m->ntopics_exclude);
            m->topics_exclude = NULL;
            m->ntopics_exclude = 0;
            if (set_str(&m->topics_underivable, why2) < 0)
                goto nomem;
        }
        /* every pattern must compile as librdkafka will compile it */
        for (i = 0; i < m->ntopics + m->ntopics_exclude; i++) {
            const char *t = i < m->ntopics ? m->topics[i] : m->topics_exclude[i - m->ntopics];
            regex_t re;
            if (t[0] != '^')
                continue;
            if (regcomp(&re, t, REG_EXTENDED | REG_NOSUB) != 0) {
                fail(d, "derived topic pattern %s does not compile; simplify the include/exclude "
                        "lists",
                     t);
                goto out;
            }
            regfree(&re);
        }
    }
    if (!m->ntopics && !m->topics_underivable) {
        fail(d, "the include/exclude lists capture no table, so there is nothing to consume");
        goto out;
    }
    rc = 0;
    goto out;
nomem:
    rc = oom(d->err);
out:
    sluice_buf_cleanup(&b);
    free(tin);
    free(tex);
    free(sin);
    free(sex);
    strv_free(ti, nti);
    strv_free(te, nte);
    strv_free(si, nsi);
    strv_free(se, nse);
    return rc;
}

static int derive_heartbeat_signal(derive_t *d)
{
    sluice_manifest_t *m = d->m;
    char *interval = NULL, *prefix = NULL;
    int rc = -1;

    if (get(d, "heartbeat.interval.ms", &interval) < 0 ||
        get(d, "topic.heartbeat.prefix", &prefix) < 0)
        goto out;
    if (interval) {
        char *end;
        errno = 0;
        m->heartbeat_interval_ms = strtol(interval, &end, 10);
        if (errno || end == interval || *end || m->heartbeat_interval_ms < 0) {
            fail(d, "heartbeat.interval.ms = \"%s\" must be a non-negative integer", interval);
            goto out;
        }
    }
    if (m->heartbeat_interval_ms > 0) {
        char topic[1024];
        if (set_str(&m->heartbeat_prefix, prefix ? prefix : DEFAULT_HEARTBEAT_PREFIX) < 0)
            goto nomem;
        snprintf(topic, sizeof(topic), "%s%s%s", m->heartbeat_prefix, m->topic_delimiter,
                 m->topic_prefix);
        if (set_str(&m->heartbeat_topic, topic) < 0)
            goto nomem;
    }
    if (get(d, "signal.data.collection", &m->signal_data_collection) < 0 ||
        get(d, "signal.kafka.topic", &m->signal_kafka_topic) < 0 ||
        get(d, "signal.kafka.bootstrap.servers", &m->signal_kafka_bootstrap) < 0 ||
        get(d, "signal.enabled.channels", &m->signal_channels) < 0)
        goto out;
    if (!m->signal_channels && set_str(&m->signal_channels, "source") < 0)
        goto nomem;
    if (strstr(m->signal_channels, "kafka") && !m->signal_kafka_topic) {
        fail(d, "signal.enabled.channels includes kafka but signal.kafka.topic is missing");
        goto out;
    }
    rc = 0;
    goto out;
nomem:
    rc = oom(d->err);
out:
    free(interval);
    free(prefix);
    return rc;
}

static void reset_derived(sluice_manifest_t *m)
{
#define CLR(f) (free(m->f), m->f = NULL)
    CLR(source_kind);
    CLR(topic_prefix);
    CLR(topic_delimiter);
    CLR(topics_underivable);
    CLR(key_format);
    CLR(value_format);
    CLR(registry_url);
    CLR(registry_basic_auth);
    CLR(decimal_mode);
    CLR(time_precision_mode);
    CLR(binary_mode);
    CLR(unavailable_placeholder);
    CLR(transaction_topic);
    CLR(unwrap_delete_mode);
    CLR(heartbeat_prefix);
    CLR(heartbeat_topic);
    CLR(signal_data_collection);
    CLR(signal_channels);
    CLR(signal_kafka_topic);
    CLR(signal_kafka_bootstrap);
#undef CLR
    strv_free(m->topics, m->ntopics);
    strv_free(m->topics_exclude, m->ntopics_exclude);
    strv_free(m->transforms, m->ntransforms);
    strv_free(m->notes, m->nnotes);
    m->topics = m->topics_exclude = m->transforms = m->notes = NULL;
    m->ntopics = m->ntopics_exclude = m->ntransforms = m->nnotes = 0;
    m->key_schemas = m->value_schemas = -1;
    m->transaction_metadata = m->unwrap = 0;
    m->heartbeat_interval_ms = 0;
    m->derived = 0;
}

int sluice_manifest_derive(sluice_manifest_t *m, sluice_err_t *err)
{
    derive_t d;
    size_t i;
    int rc;

    reset_derived(m);
    memset(&d, 0, sizeof(d));
    d.m = m;
    d.err = err;
    rc = (derive_kind(&d) < 0 || derive_prefix(&d) < 0 || derive_modes(&d) < 0 ||
          derive_converters(&d) < 0 || derive_transforms(&d) < 0 || derive_topics(&d) < 0 ||
          derive_heartbeat_signal(&d) < 0)
             ? -1
             : 0;
    for (i = 0; i < d.nrouters; i++) {
        free(d.routers[i].alias);
        free(d.routers[i].regex);
        free(d.routers[i].replacement);
    }
    if (rc == 0)
        m->derived = 1;
    return rc;
}

/* ---- uses of a derived manifest --------------------------------------- */

int sluice_manifest_table_topic(const sluice_manifest_t *m, const char *table, char **topic,
                                sluice_err_t *err)
{
    derive_t d;
    const char *dot = strchr(table, '.');
    char raw[2048];
    size_t i;
    int rc = 0;

    *topic = NULL;
    if (!m->derived)
        return sluice_err_set(err, SLUICE_ERR_FATAL, "manifest %s is not derived", m->path);
    if (!dot || dot == table || !dot[1])
        return sluice_err_set(err, SLUICE_ERR_FATAL, "table \"%s\" must be <schema>.<table>",
                              table);
    snprintf(raw, sizeof(raw), "%s%s%.*s%s%s", m->topic_prefix, m->topic_delimiter,
             (int)(dot - table), table, m->topic_delimiter, dot + 1);
    /* re-read the routers (they are not kept after derivation) */
    memset(&d, 0, sizeof(d));
    d.m = (sluice_manifest_t *)m;
    d.err = err;
    for (i = 0; i < m->ntransforms && rc == 0; i++) {
        const char *eq = strchr(m->transforms[i], '=');
        char alias[256], key[512];
        int logical;
        router_t *r;
        if (!eq)
            continue;
        logical = strcmp(eq + 1, "io.debezium.transforms.ByLogicalTableRouter") == 0;
        if (!logical && strcmp(eq + 1, "org.apache.kafka.connect.transforms.RegexRouter") != 0)
            continue;
        if (d.nrouters == sizeof(d.routers) / sizeof(d.routers[0]))
            break;
        snprintf(alias, sizeof(alias), "%.*s", (int)(eq - m->transforms[i]), m->transforms[i]);
        r = &d.routers[d.nrouters++];
        r->alias = strdup(alias);
        if (!r->alias) {
            rc = oom(err);
            break;
        }
        snprintf(key, sizeof(key), "transforms.%s.%s", alias, logical ? "topic.regex" : "regex");
        rc = sluice_manifest_get(m, key, &r->regex, err);
        snprintf(key, sizeof(key), "transforms.%s.%s", alias,
                 logical ? "topic.replacement" : "replacement");
        if (rc == 0)
            rc = sluice_manifest_get(m, key, &r->replacement, err);
        if (rc == 0 && (!r->regex || !r->replacement))
            rc = sluice_err_set(err, SLUICE_ERR_FATAL, "manifest %s: router %s is incomplete",
                                m->path, alias);
    }
    if (rc == 0)
        rc = apply_routers(&d, raw, topic);
    for (i = 0; i < d.nrouters; i++) {
        free(d.routers[i].alias);
        free(d.routers[i].regex);
        free(d.routers[i].replacement);
    }
    return rc;
}

static int conninfo_append(sluice_buf_t *b, const char *key, const char *value)
{
    const char *p;

    if (b->len && sluice_buf_putc(b, ' ') < 0)
        return -1;
    if (sluice_buf_printf(b, "%s='", key) < 0)
        return -1;
    for (p = value; *p; p++) {
        if ((*p == '\'' || *p == '\\') && sluice_buf_putc(b, '\\') < 0)
            return -1;
        if (sluice_buf_putc(b, *p) < 0)
            return -1;
    }
    return sluice_buf_putc(b, '\'');
}

int sluice_manifest_source_conninfo(const sluice_manifest_t *m, char **conninfo, sluice_err_t *err)
{
    static const char *const keys[][2] = {
        {"database.hostname", "host"}, {"database.port", "port"},
        {"database.user", "user"},     {"database.password", "password"},
        {"database.dbname", "dbname"},
    };
    sluice_buf_t b;
    size_t i;

    *conninfo = NULL;
    sluice_buf_init(&b);
    if (sluice_buf_puts(&b, "") < 0)
        return oom(err);
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char *v = NULL;
        if (sluice_manifest_get(m, keys[i][0], &v, err) < 0) {
            sluice_buf_cleanup(&b);
            return -1;
        }
        if (!v) {
            if (i == 0) {
                sluice_buf_cleanup(&b);
                return sluice_err_set(err, SLUICE_ERR_FATAL,
                                      "manifest %s has no database.hostname: give the source "
                                      "database with --source-conninfo or source.conninfo",
                                      m->path);
            }
            continue;
        }
        if (conninfo_append(&b, keys[i][1], v) < 0) {
            free(v);
            sluice_buf_cleanup(&b);
            return oom(err);
        }
        free(v);
    }
    *conninfo = b.data;
    return 0;
}

char *sluice_manifest_connect_config(const sluice_manifest_t *m)
{
    json_t *obj = json_object();
    char *text;
    size_t i;

    if (!obj)
        return NULL;
    for (i = 0; i < m->nprops; i++)
        json_object_set_new(obj, m->props[i].key, json_string(m->props[i].value));
    json_object_set_new(obj, "name", json_string(m->name));
    text = json_dumps(obj, JSON_SORT_KEYS | JSON_INDENT(2));
    json_decref(obj);
    return text;
}

static json_t *strv_json(char **v, size_t n)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *tri_json(int v)
{
    return v < 0 ? json_null() : json_boolean(v);
}

char *sluice_manifest_to_json(const sluice_manifest_t *m)
{
    json_t *o = json_object();
    char *text;

    if (!o)
        return NULL;
    json_object_set_new(o, "name", str_or_null(m->name));
    json_object_set_new(o, "source_kind", str_or_null(m->source_kind));
    json_object_set_new(o, "topic_prefix", str_or_null(m->topic_prefix));
    json_object_set_new(o, "topic_delimiter", str_or_null(m->topic_delimiter));
    json_object_set_new(o, "topics", strv_json(m->topics, m->ntopics));
    json_object_set_new(o, "topics_exclude", strv_json(m->topics_exclude, m->ntopics_exclude));
    json_object_set_new(o, "topics_underivable", str_or_null(m->topics_underivable));
    json_object_set_new(o, "key_format", str_or_null(m->key_format));
    json_object_set_new(o, "value_format", str_or_null(m->value_format));
    json_object_set_new(o, "key_schemas", tri_json(m->key_schemas));
    json_object_set_new(o, "value_schemas", tri_json(m->value_schemas));
    json_object_set_new(o, "registry_url", str_or_null(m->registry_url));
    json_object_set_new(o, "registry_basic_auth", str_or_null(m->registry_basic_auth));
    json_object_set_new(o, "decimal_mode", str_or_null(m->decimal_mode));
    json_object_set_new(o, "time_precision_mode", str_or_null(m->time_precision_mode));
    json_object_set_new(o, "binary_mode", str_or_null(m->binary_mode));
    json_object_set_new(o, "unavailable_placeholder", str_or_null(m->unavailable_placeholder));
    json_object_set_new(o, "transaction_metadata", json_boolean(m->transaction_metadata));
    json_object_set_new(o, "transaction_topic", str_or_null(m->transaction_topic));
    json_object_set_new(o, "unwrap", json_boolean(m->unwrap));
    json_object_set_new(o, "unwrap_delete_mode", str_or_null(m->unwrap_delete_mode));
    json_object_set_new(o, "transforms", strv_json(m->transforms, m->ntransforms));
    json_object_set_new(o, "heartbeat_interval_ms", json_integer(m->heartbeat_interval_ms));
    json_object_set_new(o, "heartbeat_topic", str_or_null(m->heartbeat_topic));
    json_object_set_new(o, "signal_data_collection", str_or_null(m->signal_data_collection));
    json_object_set_new(o, "signal_channels", str_or_null(m->signal_channels));
    json_object_set_new(o, "signal_kafka_topic", str_or_null(m->signal_kafka_topic));
    json_object_set_new(o, "notes", strv_json(m->notes, m->nnotes));
    text = json_dumps(o, JSON_SORT_KEYS);
    json_decref(o);
    return text;
}

void sluice_manifest_print(const sluice_manifest_t *m, FILE *out)
{
    size_t i;

    fprintf(out, "connector %s (%s, %s)\n", m->name, m->path,
            m->source_kind ? m->source_kind : "?");
    if (!m->derived)
        return;
    fprintf(out, "  topic.prefix = %s, topic.delimiter = \"%s\"\n", m->topic_prefix,
            m->topic_delimiter);
    for (i = 0; i < m->ntopics; i++)
        fprintf(out, "  subscribes %s\n", m->topics[i]);
    for (i = 0; i < m->ntopics_exclude; i++)
        fprintf(out, "  leaves out %s\n", m->topics_exclude[i]);
    if (m->topics_underivable)
        fprintf(out, "  topics not derived: %s\n", m->topics_underivable);
    fprintf(out, "  key: %s%s, value: %s%s\n", m->key_format ? m->key_format : "worker default",
            m->key_schemas == 1 ? " with schemas" : m->key_schemas == 0 ? " without schemas" : "",
            m->value_format ? m->value_format : "worker default",
            m->value_schemas == 1 ? " with schemas" : m->value_schemas == 0 ? " without schemas" : "");
    if (m->registry_url)
        fprintf(out, "  schema registry %s%s\n", m->registry_url,
                m->registry_basic_auth ? " (basic auth)" : "");
    fprintf(out, "  decimal.handling.mode = %s, time.precision.mode = %s, binary.handling.mode = %s\n",
            m->decimal_mode, m->time_precision_mode, m->binary_mode);
    if (m->unavailable_placeholder)
        fprintf(out, "  unavailable.value.placeholder = %s\n", m->unavailable_placeholder);
    for (i = 0; i < m->ntransforms; i++)
        fprintf(out, "  transform %s\n", m->transforms[i]);
    if (m->unwrap)
        fprintf(out, "  values are flattened (ExtractNewRecordState, deletes: %s)\n",
                m->unwrap_delete_mode);
    if (m->transaction_topic)
        fprintf(out, "  transaction metadata on %s (not consumed)\n", m->transaction_topic);
    if (m->heartbeat_topic)
        fprintf(out, "  heartbeats every %ld ms on %s (not consumed)\n", m->heartbeat_interval_ms,
                m->heartbeat_topic);
    if (m->signal_data_collection || strcmp(m->signal_channels, "source") != 0)
        fprintf(out, "  signals: channels %s, table %s%s%s\n", m->signal_channels,
                m->signal_data_collection ? m->signal_data_collection : "(none)",
                m->signal_kafka_topic ? ", kafka topic " : "",
                m->signal_kafka_topic ? m->signal_kafka_topic : "");
    for (i = 0; i < m->nnotes; i++)
        fprintf(out, "  note: %s\n", m->notes[i]);
}

/* ---- onto the config ---------------------------------------------------- */

/* cfg string set from manifests: explicit config values win only when equal. */
static int merge_setting(sluice_config_t *cfg, const char *key, char **slot, const char *value,
                         const char *from, sluice_err_t *err)
{
    if (!value)
        return 0;
    if (sluice_config_is_set(cfg, key)) {
        if (*slot && strcmp(*slot, value) != 0 &&
            !(strncmp(key, "format.", 7) == 0 && strcmp(*slot, "auto") == 0))
            return sluice_err_set(err, SLUICE_ERR_FATAL,
                                  "config: %s = \"%s\" conflicts with manifest %s, which says "
                                  "\"%s\" (remove %s from the config, or fix the manifest)",
                                  key, *slot, from, strncmp(key, "registry.basic", 14) == 0 ? "*****" : value, key);
        return 0;
    }
    return set_str(slot, value) < 0 ? sluice_err_set(err, SLUICE_ERR_FATAL, "config: out of memory") : 0;
}

/* All manifests that say something about a setting must say the same. */
static int agree(sluice_manifest_t *const *ms, size_t n, size_t off, const char *what,
                 const char **value, const char **from, sluice_err_t *err)
{
    size_t i;

    *value = NULL;
    *from = NULL;
    for (i = 0; i < n; i++) {
        const char *v = *(char *const *)((const char *)ms[i] + off);
        if (!v)
            continue;
        if (*value && strcmp(*value, v) != 0)
            return sluice_err_set(err, SLUICE_ERR_FATAL,
                                  "config: manifests %s and %s disagree on %s (%s vs %s); one "
                                  "worker group decodes one way: split them into two configs",
                                  *from, ms[i]->path, what, *value, v);
        *value = v;
        *from = ms[i]->path;
    }
    return 0;
}

int sluice_manifest_apply(sluice_manifest_t *const *ms, size_t n, sluice_config_t *cfg,
                          sluice_err_t *err)
{
    static const struct {
        size_t off;
        const char *what;
        const char *cfg_key; /* config key it maps to, or NULL (manifest-only) */
        size_t cfg_off;
    } shared[] = {
        {offsetof(sluice_manifest_t, registry_url), "the schema registry URL", "registry.url",
         offsetof(sluice_config_t, registry_url)},
        {offsetof(sluice_manifest_t, registry_basic_auth), "the schema registry credentials",
         "registry.basic_auth", offsetof(sluice_config_t, registry_basic_auth)},
        {offsetof(sluice_manifest_t, unavailable_placeholder), "unavailable.value.placeholder",
         "decode.unavailable_placeholder", offsetof(sluice_config_t, unavailable_placeholder)},
        {offsetof(sluice_manifest_t, decimal_mode), "decimal.handling.mode", NULL,
         offsetof(sluice_config_t, decimal_mode)},
        {offsetof(sluice_manifest_t, time_precision_mode), "time.precision.mode", NULL,
         offsetof(sluice_config_t, time_precision_mode)},
        {offsetof(sluice_manifest_t, binary_mode), "binary.handling.mode", NULL,
         offsetof(sluice_config_t, binary_mode)},
        {offsetof(sluice_manifest_t, unwrap_delete_mode), "ExtractNewRecordState's delete handling",
         NULL, offsetof(sluice_config_t, unwrap_delete_mode)},
    };
    size_t i, j;
    int unwrap_seen = -1;

    for (i = 0; i < n; i++) {
        const sluice_manifest_t *m = ms[i];
        if (!m->derived)
            return sluice_err_set(err, SLUICE_ERR_FATAL, "manifest %s is not derived", m->path);
        if (m->topics_underivable && !sluice_config_is_set(cfg, "topics"))
            return sluice_err_set(err, SLUICE_ERR_FATAL,
                                  "config: cannot derive topics from manifest %s: %s",
                                  m->path, m->topics_underivable);
        for (j = 0; j < m->ntopics; j++)
            if (sluice_config_add_topic(cfg, m->topics[j]) < 0)
                return sluice_err_set(err, SLUICE_ERR_FATAL, "config: out of memory");
        for (j = 0; j < m->ntopics_exclude; j++)
            if (strv_push(&cfg->topics_exclude, &cfg->ntopics_exclude, m->topics_exclude[j]) < 0)
                return sluice_err_set(err, SLUICE_ERR_FATAL, "config: out of memory");
        if (unwrap_seen >= 0 && unwrap_seen != m->unwrap)
            return sluice_err_set(err, SLUICE_ERR_FATAL,
                                  "config: manifest %s %s ExtractNewRecordState but an earlier "
                                  "one %s; one worker group reads one payload shape: split them "
                                  "into two configs",
                                  m->path, m->unwrap ? "uses" : "does not use",
                                  m->unwrap ? "does not" : "does");
        unwrap_seen = m->unwrap;
        cfg->unwrap = m->unwrap;
        cfg->transaction_metadata |= m->transaction_metadata;
        if (m->heartbeat_prefix && !cfg->heartbeat_prefix &&
            set_str(&cfg->heartbeat_prefix, m->heartbeat_prefix) < 0)
            return sluice_err_set(err, SLUICE_ERR_FATAL, "config: out of memory");
        if (m->signal_data_collection && !cfg->signal_data_collection &&
            set_str(&cfg->signal_data_collection, m->signal_data_collection) < 0)
            return sluice_err_set(err, SLUICE_ERR_FATAL, "config: out of memory");
        if (m->signal_channels && !cfg->signal_channels &&
            set_str(&cfg->signal_channels, m->signal_channels) < 0)
            return sluice_err_set(err, SLUICE_ERR_FATAL, "config: out of memory");
        if (m->signal_kafka_topic && !cfg->signal_kafka_topic &&
            set_str(&cfg->signal_kafka_topic, m->signal_kafka_topic) < 0)
            return sluice_err_set(err, SLUICE_ERR_FATAL, "config: out of memory");
    }
    /* formats: manifests that differ leave "auto", which reads both */
    {
        const char *sides[2] = {"format.key", "format.value"};
        char **slots[2] = {&cfg->format_key, &cfg->format_value};
        int s;
        for (s = 0; s < 2; s++) {
            const char *v = NULL, *from = NULL;
            int mixed = 0;
            for (i = 0; i < n; i++) {
                const char *f = s ? ms[i]->value_format : ms[i]->key_format;
                if (!f)
                    continue;
                if (v && strcmp(v, f) != 0)
                    mixed = 1;
                v = f;
                from = ms[i]->path;
            }
            if (mixed)
                v = "auto";
            if (merge_setting(cfg, sides[s], slots[s], v, from, err) < 0)
                return -1;
        }
    }
    for (i = 0; i < sizeof(shared) / sizeof(shared[0]); i++) {
        const char *v, *from;
        char **slot = (char **)((char *)cfg + shared[i].cfg_off);
        if (agree(ms, n, shared[i].off, shared[i].what, &v, &from, err) < 0)
            return -1;
        if (shared[i].cfg_key) {
            if (merge_setting(cfg, shared[i].cfg_key, slot, v, from, err) < 0)
                return -1;
        } else if (v && set_str(slot, v) < 0) {
            return sluice_err_set(err, SLUICE_ERR_FATAL, "config: out of memory");
        }
    }
    return 0;
}
