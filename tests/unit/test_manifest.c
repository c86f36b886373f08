/* Unit tests for manifest: the demo manifests in connectors/, the data-driven
 * cases in tests/cases/manifest/<case>/ (manifest.json or manifest.yaml and
 * expected.json), config-provider placeholders, YAML details, and applying
 * manifests onto a config.
 *
 * expected.json holds the derived settings to compare (any subset of what
 * sluice_manifest_to_json prints) plus optional directives:
 *   "_env": {"NAME": "value"}   set before reading (unset afterwards)
 *   "_error": "text"            reading or deriving must fail with this text
 *   "_notes_contain": ["text"]  each text appears in some note
 * "@CASE_DIR@" in a manifest is replaced by the case's directory. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "manifest_int.h"
#include "sluice/config.h"
#include "sluice/manifest.h"

#define CONNECTORS_DIR SLUICE_TEST_CASES "/../../connectors"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    long n;
    char *buf;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
    fclose(f);
    return buf;
}

static char *replace_all(const char *text, const char *what, const char *with)
{
    size_t wl = strlen(what), n = 0;
    const char *p;
    char *out, *o;

    for (p = strstr(text, what); p; p = strstr(p + wl, what))
        n++;
    out = malloc(strlen(text) + n * strlen(with) + 1);
    assert_non_null(out);
    o = out;
    for (p = text;;) {
        const char *hit = strstr(p, what);
        if (!hit) {
            strcpy(o, p);
            break;
        }
        memcpy(o, p, (size_t)(hit - p));
        o += hit - p;
        strcpy(o, with);
        o += strlen(with);
        p = hit + wl;
    }
    return out;
}

static sluice_manifest_t *derive_file(const char *path, sluice_err_t *err)
{
    sluice_manifest_t *m;

    sluice_err_clear(err);
    m = sluice_manifest_load(path, err);
    if (m && sluice_manifest_derive(m, err) < 0) {
        sluice_manifest_destroy(m);
        return NULL;
    }
    return m;
}

/* ---- the demo manifests ------------------------------------------------ */

static void check_demo(sluice_manifest_t *m)
{
    assert_string_equal(m->name, "inventory-connector");
    assert_string_equal(m->source_kind, "postgres");
    assert_string_equal(m->topic_prefix, "fullfillment");
    assert_int_equal(m->ntopics, 2);
    assert_string_equal(m->topics[0], "fullfillment.inventory.products");
    assert_string_equal(m->topics[1], "fullfillment.inventory.customers");
    assert_string_equal(m->key_format, "json");
    assert_string_equal(m->value_format, "json");
    assert_int_equal(m->value_schemas, 1);
    assert_string_equal(m->decimal_mode, "precise");
    assert_string_equal(m->time_precision_mode, "adaptive");
    assert_string_equal(sluice_manifest_raw(m, "connector.class"),
                        "io.debezium.connector.postgresql.PostgresConnector");
    assert_string_equal(sluice_manifest_raw(m, "tasks.max"), "1");
}

static void test_manifest_demo_json_and_yaml_agree(void **state)
{
    sluice_err_t err;
    sluice_manifest_t *j, *y;
    char *jj, *yj;

    (void)state;
    j = derive_file(CONNECTORS_DIR "/inventory-postgres.json", &err);
    if (!j)
        fail_msg("%s", err.msg);
    y = derive_file(CONNECTORS_DIR "/inventory-postgres.yaml", &err);
    if (!y)
        fail_msg("%s", err.msg);
    check_demo(j);
    check_demo(y);
    assert_int_equal(y->strimzi, 1);
    jj = sluice_manifest_to_json(j);
    yj = sluice_manifest_to_json(y);
    assert_string_equal(jj, yj);
    /* the password placeholder is kept for Kafka Connect, never resolved */
    assert_non_null(strstr(sluice_manifest_raw(y, "database.password"), "${secrets:"));
    free(jj);
    free(yj);
    sluice_manifest_destroy(j);
    sluice_manifest_destroy(y);
}

/* ---- data-driven cases -------------------------------------------------- */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_case(const char *dir, const char *name)
{
    char path[4096], *expected_text, *text = NULL, *actual_text = NULL;
    json_t *expected, *actual = NULL, *env;
    json_error_t jerr;
    sluice_err_t err;
    sluice_manifest_t *m = NULL;
    const char *key, *want_error;
    json_t *v;
    int failures = 0;

    snprintf(path, sizeof(path), "%.3800s/expected.json", dir);
    expected_text = slurp(path);
    if (!expected_text) {
        fprintf(stderr, "case %s: no expected.json\n", name);
        return 1;
    }
    expected = json_loads(expected_text, 0, &jerr);
    free(expected_text);
    if (!expected) {
        fprintf(stderr, "case %s: expected.json: %s\n", name, jerr.text);
        return 1;
    }
    env = json_object_get(expected, "_env");
    json_object_foreach(env, key, v) {
        char *value = replace_all(json_string_value(v), "@CASE_DIR@", dir);
        setenv(key, value, 1);
        free(value);
    }
    snprintf(path, sizeof(path), "%.3800s/manifest.json", dir);
    text = slurp(path);
    if (!text) {
        snprintf(path, sizeof(path), "%.3800s/manifest.yaml", dir);
        text = slurp(path);
    }
    if (!text) {
        fprintf(stderr, "case %s: no manifest.json or manifest.yaml\n", name);
        failures++;
        goto out;
    }
    {
        char *expanded = replace_all(text, "@CASE_DIR@", dir);
        free(text);
        text = expanded;
    }
    sluice_err_clear(&err);
    m = sluice_manifest_parse(text, strlen(text), path, &err);
    if (m && sluice_manifest_derive(m, &err) < 0) {
        sluice_manifest_destroy(m);
        m = NULL;
    }
    want_error = json_string_value(json_object_get(expected, "_error"));
    if (want_error) {
        if (m) {
            fprintf(stderr, "case %s: expected an error containing \"%s\", got none\n", name,
                    want_error);
            failures++;
        } else if (!strstr(err.msg, want_error)) {
            fprintf(stderr, "case %s: error \"%s\" does not contain \"%s\"\n", name, err.msg,
                    want_error);
            failures++;
        }
        goto out;
    }
    if (!m) {
        fprintf(stderr, "case %s: unexpected error: %s\n", name, err.msg);
        failures++;
        goto out;
    }
    actual_text = sluice_manifest_to_json(m);
    actual = json_loads(actual_text, 0, &jerr);
    json_object_foreach(expected, key, v) {
        json_t *got = json_object_get(actual, key);
        if (key[0] == '_')
            continue;
        if (!got) {
            fprintf(stderr, "case %s: derived settings have no \"%s\"\n", name, key);
            failures++;
        } else if (!json_equal(got, v)) {
            char *w = json_dumps(v, JSON_ENCODE_ANY), *g = json_dumps(got, JSON_ENCODE_ANY);
            fprintf(stderr, "case %s: %s: expected %s, got %s\n", name, key, w, g);
            free(w);
            free(g);
            failures++;
        }
    }
    {
        size_t i;
        json_t *want;
        json_array_foreach(json_object_get(expected, "_notes_contain"), i, want) {
            size_t j;
            int found = 0;
            for (j = 0; j < m->nnotes && !found; j++)
                found = strstr(m->notes[j], json_string_value(want)) != NULL;
            if (!found) {
                fprintf(stderr, "case %s: no note contains \"%s\" (notes: %s)\n", name,
                        json_string_value(want), actual_text);
                failures++;
            }
        }
    }
out:
    json_object_foreach(env, key, v)
        unsetenv(key);
    free(text);
    free(actual_text);
    json_decref(actual);
    json_decref(expected);
    sluice_manifest_destroy(m);
    if (!failures)
        printf("  case %s: ok\n", name);
    return failures;
}

static void test_manifest_cases(void **state)
{
    const char *root = SLUICE_TEST_CASES "/manifest";
    DIR *d = opendir(root);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, i;
    int failures = 0;

    (void)state;
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", root, de->d_name);
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        names = realloc(names, (n + 1) * sizeof(*names));
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_names);
    assert_true(n >= 20);
    for (i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", root, names[i]);
        failures += run_case(path, names[i]);
        free(names[i]);
    }
    free(names);
    assert_int_equal(failures, 0);
}

/* ---- placeholders -------------------------------------------------------- */

static char tmpdir[256];

static int setup_tmp(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/sluice-test-manifest-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
    char cmd[512];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void expect_resolved(const char *text, const char *want)
{
    sluice_err_t err;
    char *out = NULL;

    sluice_err_clear(&err);
    if (sluice_manifest_resolve_text(text, &out, &err) < 0)
        fail_msg("%s: %s", text, err.msg);
    assert_string_equal(out, want);
    free(out);
}

static void expect_unresolved(const char *text, const char *msg_part)
{
    sluice_err_t err;
    char *out = NULL;

    sluice_err_clear(&err);
    assert_int_equal(sluice_manifest_resolve_text(text, &out, &err), -1);
    assert_null(out);
    if (!strstr(err.msg, msg_part))
        fail_msg("\"%s\" does not contain \"%s\"", err.msg, msg_part);
}

static void test_manifest_placeholders(void **state)
{
    char path[512], text[2048];

    (void)state;
    snprintf(path, sizeof(path), "%s/db.properties", tmpdir);
    write_file(path, "# comment\n! also a comment\nuser = dbz\npassword=s3cr\\\n   et\n"
                     "url: jdbc\\:postgresql\\://h/db\nspaced value with spaces\nuni=caf\\u00e9\n");
    snprintf(text, sizeof(text), "${file:%s:password}", path);
    expect_resolved(text, "s3cret");
    snprintf(text, sizeof(text), "${file:%s:user}/${file:%s:url}", path, path);
    expect_resolved(text, "dbz/jdbc:postgresql://h/db");
    snprintf(text, sizeof(text), "${file:%s:spaced}", path);
    expect_resolved(text, "value with spaces");
    snprintf(text, sizeof(text), "${file:%s:uni}", path);
    expect_resolved(text, "caf\xc3\xa9");
    snprintf(text, sizeof(text), "${file:%s:nope}", path);
    expect_unresolved(text, "has no property \"nope\"");
    expect_unresolved("${file:/nonexistent/x.properties:k}", "cannot read /nonexistent");

    snprintf(path, sizeof(path), "%s/dir", tmpdir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/dir/password", tmpdir);
    write_file(path, "from-dir");
    snprintf(text, sizeof(text), "${directory:%s/dir:password}", tmpdir);
    expect_resolved(text, "from-dir");
    snprintf(text, sizeof(text), "${directory:%s/dir:../x}", tmpdir);
    expect_unresolved(text, "directly inside");

    setenv("SLUICE_TEST_PREFIX", "shop", 1);
    expect_resolved("${env:SLUICE_TEST_PREFIX}-x", "shop-x");
    unsetenv("SLUICE_TEST_PREFIX");
    expect_unresolved("${env:SLUICE_TEST_PREFIX}", "SLUICE_TEST_PREFIX is not set");

    setenv("SLUICE_SECRET_KAFKA_DB_CREDS_PASSWORD", "env-secret", 1);
    expect_resolved("${secrets:kafka/db-creds:password}", "env-secret");
    unsetenv("SLUICE_SECRET_KAFKA_DB_CREDS_PASSWORD");
    snprintf(path, sizeof(path), "%s/kafka", tmpdir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/kafka/db-creds", tmpdir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/kafka/db-creds/password", tmpdir);
    write_file(path, "mounted-secret");
    setenv("SLUICE_SECRETS_DIR", tmpdir, 1);
    expect_resolved("${secrets:kafka/db-creds:password}", "mounted-secret");
    expect_unresolved("${secrets:kafka/other:password}", "SLUICE_SECRET_KAFKA_OTHER_PASSWORD");
    unsetenv("SLUICE_SECRETS_DIR");

    expect_unresolved("${vault:secret/db:password}", "unknown config provider \"vault\"");
    /* text that only looks like a placeholder stays */
    expect_resolved("a ${b c", "a ${b c");
    expect_resolved("no placeholders", "no placeholders");
}

/* An unresolvable placeholder is an error only when Sluice needs the value. */
static void test_manifest_unresolved_only_when_needed(void **state)
{
    const char *json = "{\"name\": \"c\", \"config\": {"
                       "\"connector.class\": \"io.debezium.connector.postgresql.PostgresConnector\","
                       "\"database.hostname\": \"db\", \"database.dbname\": \"app\","
                       "\"database.password\": \"${secrets:ns/nowhere:password}\","
                       "\"topic.prefix\": \"app\", \"table.include.list\": \"public.t\"}}";
    sluice_err_t err;
    sluice_manifest_t *m;
    char *conninfo = NULL;

    (void)state;
    unsetenv("SLUICE_SECRETS_DIR");
    sluice_err_clear(&err);
    m = sluice_manifest_parse(json, strlen(json), "inline.json", &err);
    assert_non_null(m);
    assert_int_equal(sluice_manifest_derive(m, &err), 0);
    assert_string_equal(m->topics[0], "app.public.t");
    /* backfill needs the password: now it must say how to provide it */
    assert_int_equal(sluice_manifest_source_conninfo(m, &conninfo, &err), -1);
    assert_non_null(strstr(err.msg, "database.password"));
    assert_non_null(strstr(err.msg, "SLUICE_SECRET_NS_NOWHERE_PASSWORD"));
    setenv("SLUICE_SECRET_NS_NOWHERE_PASSWORD", "it's", 1);
    assert_int_equal(sluice_manifest_source_conninfo(m, &conninfo, &err), 0);
    assert_string_equal(conninfo, "host='db' password='it\\'s' dbname='app'");
    unsetenv("SLUICE_SECRET_NS_NOWHERE_PASSWORD");
    free(conninfo);
    sluice_manifest_destroy(m);
}

/* ---- YAML ------------------------------------------------------------------ */

static void test_manifest_yaml_details(void **state)
{
    const char *yaml = "defaults: &common\n"
                       "  a: 1\n"
                       "  b: \"two\"\n"
                       "copy: *common\n"
                       "nulls: [~, null, '', \"null\"]\n"
                       "---\n"
                       "second: doc\n";
    sluice_err_t err;
    json_t *docs, *d0;
    char *text;

    (void)state;
    sluice_err_clear(&err);
    docs = sluice_yaml_load(yaml, strlen(yaml), "t.yaml", &err);
    if (!docs)
        fail_msg("%s", err.msg);
    assert_int_equal(json_array_size(docs), 2);
    d0 = json_array_get(docs, 0);
    text = json_dumps(d0, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(text, "{\"copy\":{\"a\":\"1\",\"b\":\"two\"},\"defaults\":{\"a\":\"1\","
                              "\"b\":\"two\"},\"nulls\":[null,null,\"\",\"null\"]}");
    free(text);
    json_decref(docs);

    docs = sluice_yaml_load("a: [1, 2\n", 9, "bad.yaml", &err);
    assert_null(docs);
    assert_non_null(strstr(err.msg, "bad.yaml is not valid YAML"));
    docs = sluice_yaml_load("a: 1\na: 2\n", 10, "dup.yaml", &err);
    assert_null(docs);
    assert_non_null(strstr(err.msg, "duplicate key \"a\""));
}

static void test_manifest_strimzi_connect_config(void **state)
{
    sluice_err_t err;
    sluice_manifest_t *m;
    char *body;
    json_t *o;

    (void)state;
    m = derive_file(CONNECTORS_DIR "/inventory-postgres.yaml", &err);
    if (!m)
        fail_msg("%s", err.msg);
    body = sluice_manifest_connect_config(m);
    o = json_loads(body, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "connector.class")),
                        "io.debezium.connector.postgresql.PostgresConnector");
    assert_string_equal(json_string_value(json_object_get(o, "tasks.max")), "1");
    assert_string_equal(json_string_value(json_object_get(o, "name")), "inventory-connector");
    assert_string_equal(json_string_value(json_object_get(o, "database.port")), "5432");
    assert_string_equal(json_string_value(json_object_get(o, "database.password")),
                        "${secrets:inventory/inventory-db:password}");
    json_decref(o);
    free(body);
    sluice_manifest_destroy(m);

    {
        const char *bad = "kind: KafkaConnector\nmetadata: {name: x}\nspec:\n  class: c\n"
                          "  config:\n    connector.class: other\n";
        m = sluice_manifest_parse(bad, strlen(bad), "bad.yaml", &err);
        assert_null(m);
        assert_non_null(strstr(err.msg, "spec.config.connector.class is not allowed"));
    }
    {
        const char *none = "kind: KafkaConnect\nmetadata: {name: x}\n";
        m = sluice_manifest_parse(none, strlen(none), "none.yaml", &err);
        assert_null(m);
        assert_non_null(strstr(err.msg, "no Kafka Connect JSON object and no KafkaConnector"));
    }
}

static void test_manifest_table_topic_routed(void **state)
{
    const char *json = "{\"name\": \"c\", \"config\": {"
                       "\"connector.class\": \"io.debezium.connector.mysql.MySqlConnector\","
                       "\"topic.prefix\": \"dbserver1\", \"table.include.list\": \"inventory.orders\","
                       "\"transforms\": \"route\","
                       "\"transforms.route.type\": \"org.apache.kafka.connect.transforms.RegexRouter\","
                       "\"transforms.route.regex\": \"([^.]+)\\\\.([^.]+)\\\\.([^.]+)\","
                       "\"transforms.route.replacement\": \"cdc-$2-$3\"}}";
    sluice_err_t err;
    sluice_manifest_t *m;
    char *topic = NULL;

    (void)state;
    sluice_err_clear(&err);
    m = sluice_manifest_parse(json, strlen(json), "inline.json", &err);
    assert_non_null(m);
    if (sluice_manifest_derive(m, &err) < 0)
        fail_msg("%s", err.msg);
    assert_string_equal(m->topics[0], "cdc-inventory-orders");
    assert_int_equal(sluice_manifest_table_topic(m, "inventory.customers", &topic, &err), 0);
    assert_string_equal(topic, "cdc-inventory-customers");
    free(topic);
    assert_int_equal(sluice_manifest_table_topic(m, "nodot", &topic, &err), -1);
    sluice_manifest_destroy(m);
}

/* ---- onto the config ----------------------------------------------------- */

static const char *cfg_head =
    "{\"kafka\": {\"bootstrap.servers\": \"b:9092\", \"group.id\": \"g\"},"
    " \"postgres\": {\"conninfo\": \"dbname=t\"},";

static sluice_config_t *load_cfg(const char *tail, sluice_err_t *err)
{
    char text[4096];

    snprintf(text, sizeof(text), "%s %s", cfg_head, tail);
    sluice_err_clear(err);
    return sluice_config_load_string(text, "test.json", err);
}

static void test_manifest_apply_onto_config(void **state)
{
    sluice_err_t err;
    sluice_config_t *cfg;
    char tail[1024];

    (void)state;
    unsetenv("SLUICE_TOPICS");
    unsetenv("SLUICE_FORMAT_VALUE");
    unsetenv("SLUICE_REGISTRY_URL");
    /* topics come from the manifest; config topics are kept and appended to */
    snprintf(tail, sizeof(tail), "\"connectors\": [\"%s/inventory-postgres.json\"]}", CONNECTORS_DIR);
    cfg = load_cfg(tail, &err);
    if (!cfg)
        fail_msg("%s", err.msg);
    assert_int_equal(cfg->ntopics, 2);
    assert_string_equal(cfg->topics[0], "fullfillment.inventory.products");
    assert_string_equal(cfg->format_key, "json");
    assert_string_equal(cfg->format_value, "json");
    assert_string_equal(cfg->decimal_mode, "precise");
    assert_int_equal(cfg->nmanifests, 1);
    assert_false(sluice_config_is_set(cfg, "format.value"));
    sluice_config_destroy(cfg);

    snprintf(tail, sizeof(tail),
             "\"topics\": [\"other.topic\"], \"connectors\": [\"%s/inventory-postgres.yaml\"]}",
             CONNECTORS_DIR);
    cfg = load_cfg(tail, &err);
    if (!cfg)
        fail_msg("%s", err.msg);
    assert_int_equal(cfg->ntopics, 3);
    assert_string_equal(cfg->topics[0], "other.topic");
    sluice_config_destroy(cfg);

    /* an explicit config value that agrees is fine; one that differs is an error */
    snprintf(tail, sizeof(tail),
             "\"format\": {\"value\": \"json\"}, \"connectors\": [\"%s/inventory-postgres.json\"]}",
             CONNECTORS_DIR);
    cfg = load_cfg(tail, &err);
    assert_non_null(cfg);
    assert_true(sluice_config_is_set(cfg, "format.value"));
    sluice_config_destroy(cfg);
    snprintf(tail, sizeof(tail),
             "\"format\": {\"value\": \"avro\"}, \"registry\": {\"url\": \"http://r\"},"
             " \"connectors\": [\"%s/inventory-postgres.json\"]}",
             CONNECTORS_DIR);
    cfg = load_cfg(tail, &err);
    assert_null(cfg);
    assert_non_null(strstr(err.msg, "format.value = \"avro\" conflicts with manifest"));

    /* a missing manifest names the entry */
    cfg = load_cfg("\"connectors\": [\"/nonexistent/c.json\"]}", &err);
    assert_null(cfg);
    assert_non_null(strstr(err.msg, "connectors[0]"));
    assert_non_null(strstr(err.msg, "cannot read manifest /nonexistent/c.json"));

    /* no topics and no connectors */
    cfg = load_cfg("\"mirror\": {\"schema\": \"x\"}}", &err);
    assert_null(cfg);
    assert_non_null(strstr(err.msg, "topics is missing"));
}

static void test_manifest_relative_paths_and_disagreement(void **state)
{
    char path[512], cfgpath[512], text[2048];
    sluice_err_t err;
    sluice_config_t *cfg;
    const char *a = "{\"name\": \"a\", \"config\": {\"connector.class\": "
                    "\"io.debezium.connector.postgresql.PostgresConnector\", \"topic.prefix\": \"a\","
                    " \"table.include.list\": \"public.t\", \"decimal.handling.mode\": \"string\"}}";
    const char *b = "{\"name\": \"b\", \"config\": {\"connector.class\": "
                    "\"io.debezium.connector.postgresql.PostgresConnector\", \"topic.prefix\": \"b\","
                    " \"table.include.list\": \"public.t\", \"decimal.handling.mode\": \"double\"}}";

    (void)state;
    snprintf(path, sizeof(path), "%s/conn", tmpdir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/conn/a.json", tmpdir);
    write_file(path, a);
    snprintf(path, sizeof(path), "%s/conn/b.json", tmpdir);
    write_file(path, b);
    snprintf(cfgpath, sizeof(cfgpath), "%s/sluice.json", tmpdir);
    snprintf(text, sizeof(text), "%s \"connectors\": [\"conn/a.json\"]}", cfg_head);
    write_file(cfgpath, text);
    sluice_err_clear(&err);
    cfg = sluice_config_load(cfgpath, &err);
    if (!cfg)
        fail_msg("%s", err.msg);
    assert_string_equal(cfg->topics[0], "a.public.t");
    snprintf(path, sizeof(path), "%s/conn/a.json", tmpdir);
    assert_string_equal(cfg->connectors[0], path);
    assert_string_equal(cfg->decimal_mode, "string");
    sluice_config_destroy(cfg);

    snprintf(text, sizeof(text), "%s \"connectors\": [\"conn/a.json\", \"conn/b.json\"]}", cfg_head);
    write_file(cfgpath, text);
    cfg = sluice_config_load(cfgpath, &err);
    assert_null(cfg);
    assert_non_null(strstr(err.msg, "disagree on decimal.handling.mode"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manifest_demo_json_and_yaml_agree),
        cmocka_unit_test(test_manifest_cases),
        cmocka_unit_test(test_manifest_placeholders),
        cmocka_unit_test(test_manifest_unresolved_only_when_needed),
        cmocka_unit_test(test_manifest_yaml_details),
        cmocka_unit_test(test_manifest_strimzi_connect_config),
        cmocka_unit_test(test_manifest_table_topic_routed),
        cmocka_unit_test(test_manifest_apply_onto_config),
        cmocka_unit_test(test_manifest_relative_paths_and_disagreement),
    };

    return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
