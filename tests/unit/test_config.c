/* Unit tests for config: parsing, defaults, environment overrides, and the
 * error messages that name the key and the fix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sluice/config.h"

static const char *minimal =
    "{\"kafka\": {\"bootstrap.servers\": \"127.0.0.1:9092\", \"group.id\": \"g1\"},"
    " \"postgres\": {\"conninfo\": \"host=db dbname=app\"},"
    " \"topics\": [\"srv.public.customers\", \"^srv\\\\.inventory\\\\..*\"]}";

static void clear_env(void)
{
    unsetenv("SLUICE_POSTGRES_CONNINFO");
    unsetenv("SLUICE_KAFKA_BOOTSTRAP_SERVERS");
    unsetenv("SLUICE_KAFKA_GROUP_ID");
    unsetenv("SLUICE_BATCH_MAX_EVENTS");
    unsetenv("SLUICE_TOPICS");
    unsetenv("SLUICE_MIRROR_SCHEMA");
}

static sluice_config_t *load(const char *json, sluice_err_t *err)
{
    sluice_err_clear(err);
    return sluice_config_load_string(json, "test.json", err);
}

static void test_config_minimal_defaults(void **state)
{
    sluice_err_t err;
    sluice_config_t *cfg;

    (void)state;
    clear_env();
    cfg = load(minimal, &err);
    assert_non_null(cfg);
    assert_string_equal(sluice_config_kafka_get(cfg, "bootstrap.servers"), "127.0.0.1:9092");
    assert_string_equal(sluice_config_kafka_get(cfg, "group.id"), "g1");
    assert_string_equal(cfg->pg_conninfo, "host=db dbname=app");
    assert_int_equal(cfg->ntopics, 2);
    assert_string_equal(cfg->topics[1], "^srv\\.inventory\\..*");
    assert_string_equal(cfg->mirror_schema, "public");
    assert_int_equal(cfg->batch_max_events, 5000);
    assert_int_equal(cfg->batch_max_ms, 200);
    assert_int_equal(cfg->batch_max_bytes, 4194304);
    assert_int_equal(cfg->workers, 1);
    assert_false(cfg->mirror_reconcile);
    assert_string_equal(cfg->unavailable_placeholder, "__debezium_unavailable_value");
    sluice_config_destroy(cfg);
}

static void test_config_nested_and_overrides(void **state)
{
    sluice_err_t err;
    sluice_config_t *cfg;

    (void)state;
    clear_env();
    cfg = load("{\"kafka\": {\"bootstrap.servers\": \"b:1\", \"group.id\": \"g\","
               " \"session.timeout.ms\": 6000, \"enable.partition.eof\": true},"
               " \"postgres\": {\"conninfo\": \"x=y\"}, \"topics\": \"t.s.a\","
               " \"mirror\": {\"schema\": \"replica\", \"tables\": {\"t.s.a\": \"other.b\"},"
               " \"reconcile_deletes\": true},"
               " \"batch\": {\"max_events\": 10, \"max_ms\": \"50\", \"max_bytes\": 100000},"
               " \"workers\": 3}",
               &err);
    assert_non_null(cfg);
    assert_string_equal(sluice_config_kafka_get(cfg, "session.timeout.ms"), "6000");
    assert_string_equal(sluice_config_kafka_get(cfg, "enable.partition.eof"), "true");
    assert_int_equal(cfg->ntopics, 1);
    assert_string_equal(cfg->mirror_schema, "replica");
    assert_string_equal(sluice_config_mirror_table(cfg, "t.s.a"), "other.b");
    assert_null(sluice_config_mirror_table(cfg, "t.s.b"));
    assert_int_equal(cfg->batch_max_events, 10);
    assert_int_equal(cfg->batch_max_ms, 50);
    assert_int_equal(cfg->batch_max_bytes, 100000);
    assert_int_equal(cfg->workers, 3);
    assert_true(cfg->mirror_reconcile);
    sluice_config_destroy(cfg);
}

static void test_config_environment_wins(void **state)
{
    sluice_err_t err;
    sluice_config_t *cfg;

    (void)state;
    clear_env();
    setenv("SLUICE_POSTGRES_CONNINFO", "host=from-env", 1);
    setenv("SLUICE_KAFKA_GROUP_ID", "env-group", 1);
    setenv("SLUICE_BATCH_MAX_EVENTS", "77", 1);
    setenv("SLUICE_TOPICS", "a.b.c, a.b.d", 1);
    cfg = load(minimal, &err);
    assert_non_null(cfg);
    assert_string_equal(cfg->pg_conninfo, "host=from-env");
    assert_string_equal(sluice_config_kafka_get(cfg, "group.id"), "env-group");
    assert_int_equal(cfg->batch_max_events, 77);
    assert_int_equal(cfg->ntopics, 2);
    assert_string_equal(cfg->topics[1], "a.b.d");
    sluice_config_destroy(cfg);
    clear_env();
}

static void expect_error(const char *json, const char *needle)
{
    sluice_err_t err;
    sluice_config_t *cfg = load(json, &err);

    assert_null(cfg);
    assert_int_equal(err.cls, SLUICE_ERR_FATAL);
    if (!strstr(err.msg, needle))
        fail_msg("error \"%s\" lacks \"%s\"", err.msg, needle);
}

static void test_config_errors_name_key_and_fix(void **state)
{
    (void)state;
    clear_env();
    expect_error("{\"kafka\": {\"group.id\": \"g\"}, \"postgres\": {\"conninfo\": \"x=y\"}, "
                 "\"topics\": [\"a\"]}",
                 "kafka.bootstrap.servers is missing (set it in test.json or "
                 "SLUICE_KAFKA_BOOTSTRAP_SERVERS)");
    expect_error("{\"kafka\": {\"bootstrap.servers\": \"b\", \"group.id\": \"g\"}, \"topics\": [\"a\"]}",
                 "postgres.conninfo is missing");
    expect_error("{\"kafka\": {\"bootstrap.servers\": \"b\", \"group.id\": \"g\"}, "
                 "\"postgres\": {\"conninfo\": \"x=y\"}}",
                 "topics is missing");
    expect_error("{\"kafka\": {\"bootstrap.servers\": \"b\", \"group.id\": \"g\"}, "
                 "\"postgres\": {\"conninfo\": \"x=y\"}, \"topics\": [\"a\"], \"batch\": "
                 "{\"max_event\": 5}}",
                 "unknown key \"batch.max_event\"");
    expect_error("{\"kafka\": {\"bootstrap.servers\": \"b\", \"group.id\": \"g\"}, "
                 "\"postgres\": {\"conninfo\": 5}, \"topics\": [\"a\"]}",
                 "postgres.conninfo must be a string, got an integer");
    expect_error("{\"kafka\": {\"bootstrap.servers\": \"b\", \"group.id\": \"g\"}, "
                 "\"postgres\": {\"conninfo\": \"x=y\"}, \"topics\": [\"a\"], "
                 "\"batch\": {\"max_events\": 0}}",
                 "batch.max_events = 0 is out of range");
    expect_error("{\"kafka\": {\"bootstrap.servers\": \"b\", \"group.id\": \"g\"}, "
                 "\"postgres\": {\"conninfo\": \"x=y\"}, \"topics\": [\"a\"], "
                 "\"batch\": {\"max_ms\": \"soon\"}}",
                 "batch.max_ms must be an integer");
    expect_error("{\"kafka\": {\"bootstrap.servers\": \"b\", \"group.id\": \"g\", "
                 "\"enable.auto.commit\": \"true\"}, \"postgres\": {\"conninfo\": \"x=y\"}, "
                 "\"topics\": [\"a\"]}",
                 "kafka.enable.auto.commit must stay false");
    expect_error("{\"kafka\": {\"bootstrap.servers\": \"b\", \"group.id\": \"g\"}, "
                 "\"postgres\": {\"conninfo\": \"x=y\"}, \"topics\": [\"a\"], "
                 "\"mirror\": {\"tables\": {\"a\": \"nodot\"}}}",
                 "must be \"schema.table\"");
    expect_error("{\"kafka\": ", "is not valid JSON");
    expect_error("[1,2]", "must hold a JSON object");
    expect_error("{\"topics\": [\"a\"], \"topics\": [\"b\"]}", "is not valid JSON");
}

static void test_config_missing_file(void **state)
{
    sluice_err_t err;

    (void)state;
    sluice_err_clear(&err);
    assert_null(sluice_config_load("/nonexistent/sluice.json", &err));
    assert_non_null(strstr(err.msg, "cannot read /nonexistent/sluice.json"));
}

static void test_config_masks_secrets(void **state)
{
    char *m;

    (void)state;
    m = sluice_config_mask_conninfo("host=db password=s3cret user=app");
    assert_string_equal(m, "host=db password=***** user=app");
    free(m);
    m = sluice_config_mask_conninfo("host=db password = 'a b\\' c' user=app");
    assert_string_equal(m, "host=db password=***** user=app");
    free(m);
    m = sluice_config_mask_conninfo("postgresql://app:s3cret@db:5432/app");
    assert_string_equal(m, "postgresql://app:*****@db:5432/app");
    free(m);
    m = sluice_config_mask_conninfo("postgresql://db/app?password=s3cret&sslmode=require");
    assert_string_equal(m, "postgresql://db/app?password=*****&sslmode=require");
    free(m);
    assert_true(sluice_config_is_secret_key("sasl.password"));
    assert_true(sluice_config_is_secret_key("ssl.key.password"));
    assert_false(sluice_config_is_secret_key("bootstrap.servers"));
}

static void test_config_print_hides_password(void **state)
{
    sluice_err_t err;
    sluice_config_t *cfg;
    char *text = NULL;
    size_t len = 0;
    FILE *f;

    (void)state;
    clear_env();
    cfg = load("{\"kafka\": {\"bootstrap.servers\": \"b\", \"group.id\": \"g\", "
               "\"sasl.password\": \"kafka-secret\"}, \"postgres\": {\"conninfo\": "
               "\"host=db password=pg-secret\"}, \"topics\": [\"a\"]}",
               &err);
    assert_non_null(cfg);
    f = open_memstream(&text, &len);
    sluice_config_print(cfg, f);
    fclose(f);
    assert_null(strstr(text, "kafka-secret"));
    assert_null(strstr(text, "pg-secret"));
    assert_non_null(strstr(text, "kafka.sasl.password = *****"));
    free(text);
    sluice_config_destroy(cfg);
}

static void test_config_handlers_and_policies(void **state)
{
    sluice_err_t err;
    sluice_config_t *cfg;

    (void)state;
    clear_env();
    cfg = load("{\"kafka\": {\"bootstrap.servers\": \"b\", \"group.id\": \"g\"},"
               " \"postgres\": {\"conninfo\": \"x=y\"}, \"topics\": [\"a\"],"
               " \"handlers\": {\"mirror\": [\"inventory.*\", \"srv.public.orders\"], \"audit\": []},"
               " \"topic\": {\"delimiter\": \"_\"},"
               " \"mirror\": {\"delete_mode\": \"soft\", \"truncate\": true,"
               " \"schema_evolution\": \"basic\", \"keyless\": \"all_columns\"},"
               " \"dlq\": {\"enabled\": \"true\", \"topic\": \"all.dlq\"},"
               " \"retry\": {\"max_elapsed_ms\": 5000}}",
               &err);
    if (!cfg)
        fail_msg("%s", err.msg);
    assert_string_equal(sluice_config_handler_patterns(cfg, "mirror"), "inventory.*\nsrv.public.orders");
    assert_string_equal(sluice_config_handler_patterns(cfg, "audit"), "");
    assert_null(sluice_config_handler_patterns(cfg, "other"));
    assert_string_equal(cfg->topic_delimiter, "_");
    assert_string_equal(cfg->mirror_delete_mode, "soft");
    assert_true(cfg->mirror_truncate);
    assert_string_equal(cfg->mirror_schema_evolution, "basic");
    assert_string_equal(cfg->mirror_keyless, "all_columns");
    assert_true(cfg->dlq_enabled);
    assert_string_equal(cfg->dlq_topic, "all.dlq");
    assert_int_equal(cfg->retry_max_elapsed_ms, 5000);
    assert_int_equal(cfg->retry_base_ms, 100);
    sluice_config_destroy(cfg);

    expect_error("{\"kafka\": {\"bootstrap.servers\": \"b\", \"group.id\": \"g\"}, "
                 "\"postgres\": {\"conninfo\": \"x=y\"}, \"topics\": [\"a\"], "
                 "\"mirror\": {\"delete_mode\": \"later\"}}",
                 "mirror.delete_mode = \"later\" is not allowed (use hard or soft)");
    expect_error("{\"kafka\": {\"bootstrap.servers\": \"b\", \"group.id\": \"g\"}, "
                 "\"postgres\": {\"conninfo\": \"x=y\"}, \"topics\": [\"a\"], "
                 "\"dlq\": {\"enabled\": \"maybe\"}}",
                 "dlq.enabled must be true or false");
    expect_error("{\"kafka\": {\"bootstrap.servers\": \"b\", \"group.id\": \"g\"}, "
                 "\"postgres\": {\"conninfo\": \"x=y\"}, \"topics\": [\"a\"], "
                 "\"handlers\": {\"mirror\": 5}}",
                 "handlers.mirror must be a list of patterns");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_minimal_defaults),
        cmocka_unit_test(test_config_nested_and_overrides),
        cmocka_unit_test(test_config_environment_wins),
        cmocka_unit_test(test_config_errors_name_key_and_fix),
        cmocka_unit_test(test_config_missing_file),
        cmocka_unit_test(test_config_masks_secrets),
        cmocka_unit_test(test_config_print_hides_password),
        cmocka_unit_test(test_config_handlers_and_policies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
