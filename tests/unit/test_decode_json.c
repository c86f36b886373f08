/* Unit tests for decode_json.c: every real Debezium JSON fixture decodes,
 * sampled events of each fixture decode to exact values, and hand-written
 * inputs cover logical types, decimals, the TOAST placeholder forms and
 * malformed envelopes. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode_json_int.h"
#include "sluice/decode_json.h"
#include "sluice/event.h"
#include "sluice/types.h"

#define FIXDIR SLUICE_TEST_FIXTURES "/debezium/"
#define PH "__debezium_unavailable_value"

typedef struct {
    sluice_json_decoder_t *dec;
    sluice_event_t ev;
    sluice_err_t err;
} fx_t;

static int fx_setup(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));

    if (!fx)
        return -1;
    fx->dec = sluice_json_decoder_new(NULL);
    if (!fx->dec) {
        free(fx);
        return -1;
    }
    sluice_event_init(&fx->ev);
    sluice_err_clear(&fx->err);
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    fx_t *fx = *state;

    sluice_event_cleanup(&fx->ev);
    sluice_json_decoder_destroy(fx->dec);
    free(fx);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* fixture files */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

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
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = (size_t)n;
    }
    return buf;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Record idx of a fixture: line idx of a .jsonl, the whole file of a .json.
 * Returns a malloc'd copy (caller frees) or NULL if there is no such record. */
static char *fixture_record(const char *name, int idx, size_t *len)
{
    char path[1024];
    size_t flen = 0;
    char *all, *p, *rec = NULL;
    int i = 0;

    snprintf(path, sizeof(path), FIXDIR "%s", name);
    all = read_file(path, &flen);
    if (!all)
        fail_msg("cannot read fixture %s", path);
    if (!ends_with(name, ".jsonl")) {
        if (idx != 0) {
            free(all);
            return NULL;
        }
        *len = flen;
        return all;
    }
    p = all;
    while (p < all + flen) {
        char *nl = memchr(p, '\n', (size_t)(all + flen - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(all + flen - p);
        if (l > 0) {
            if (i++ == idx) {
                rec = malloc(l + 1);
                assert_non_null(rec);
                memcpy(rec, p, l);
                rec[l] = '\0';
                *len = l;
                break;
            }
        }
        p += l + 1;
    }
    free(all);
    return rec;
}

static void decode_fixture(fx_t *fx, const char *name, int idx)
{
    size_t len;
    char *rec = fixture_record(name, idx, &len);
    int rc;

    if (!rec)
        fail_msg("fixture %s has no record %d", name, idx);
    sluice_event_reset(&fx->ev);
    sluice_err_clear(&fx->err);
    if (strstr(name, "-key-"))
        rc = sluice_json_decoder_key(fx->dec, rec, len, &fx->ev, &fx->err);
    else
        rc = sluice_json_decoder_value(fx->dec, rec, len, &fx->ev, &fx->err);
    free(rec);
    if (rc != 0)
        fail_msg("%s record %d: %s", name, idx, fx->err.msg);
}

/* Every value of a row renders as PostgreSQL text (types.c accepts it). */
static void check_row_renders(const sluice_row_t *row)
{
    sluice_buf_t out;
    sluice_err_t err;
    size_t i;

    sluice_buf_init(&out);
    for (i = 0; row->present && i < row->ncols; i++) {
        const sluice_value_t *v = &row->cols[i].value;
        if (v->kind == SLUICE_VAL_NULL || v->kind == SLUICE_VAL_UNAVAILABLE)
            continue;
        sluice_buf_reset(&out);
        if (sluice_types_pg_text(v, &out, &err) != 0)
            fail_msg("column %s: %s", row->cols[i].name, err.msg);
    }
    sluice_buf_cleanup(&out);
}

static void test_decode_json_every_fixture(void **state)
{
    fx_t *fx = *state;
    DIR *dir = opendir(FIXDIR);
    struct dirent *de;
    int files = 0, values = 0, keys = 0;
    sluice_buf_t js;

    assert_non_null(dir);
    sluice_buf_init(&js);
    while ((de = readdir(dir)) != NULL) {
        int idx;
        if (!ends_with(de->d_name, ".json") && !ends_with(de->d_name, ".jsonl"))
            continue;
        files++;
        for (idx = 0;; idx++) {
            size_t len;
            char *rec = fixture_record(de->d_name, idx, &len);
            if (!rec)
                break;
            free(rec);
            decode_fixture(fx, de->d_name, idx);
            if (strstr(de->d_name, "-key-")) {
                keys++;
                assert_true(fx->ev.key.present);
                assert_true(fx->ev.key.ncols > 0);
                check_row_renders(&fx->ev.key);
                continue;
            }
            values++;
            assert_true(strchr("cudr", (int)fx->ev.op) != NULL);
            assert_non_null(fx->ev.connector);
            assert_non_null(fx->ev.table);
            assert_true(fx->ev.pos.n > 0);
            assert_true(fx->ev.before.present || fx->ev.after.present ||
                        fx->ev.op == SLUICE_OP_DELETE);
            check_row_renders(&fx->ev.before);
            check_row_renders(&fx->ev.after);
            sluice_buf_reset(&js);
            assert_int_equal(sluice_event_to_json(&fx->ev, &js), 0);
        }
    }
    closedir(dir);
    sluice_buf_cleanup(&js);
    /* 8 .jsonl (16 x 5 + 10 x 2 + 25 lines) and 6 .json files (2 of them keys) */
    assert_int_equal(files, 14);
    assert_int_equal(values, 80 + 20 + 25 + 4);
    assert_int_equal(keys, 2);
}

/* ---------------------------------------------------------------------- */
/* exact values per fixture */

static const sluice_value_t *col(const sluice_row_t *row, const char *name)
{
    const sluice_value_t *v = sluice_row_get(row, name);

    if (!v)
        fail_msg("no column %s", name);
    return v;
}

static void assert_int_col(const sluice_row_t *row, const char *name, sluice_value_kind_t kind,
                           int64_t want)
{
    const sluice_value_t *v = col(row, name);

    assert_int_equal(v->kind, kind);
    assert_int_equal(v->u.i, want);
}

static void assert_str_col(const sluice_row_t *row, const char *name, sluice_value_kind_t kind,
                           const char *want)
{
    const sluice_value_t *v = col(row, name);

    assert_int_equal(v->kind, kind);
    assert_string_equal(v->u.s.ptr, want);
    assert_int_equal(v->u.s.len, strlen(want));
}

static void assert_float_col(const sluice_row_t *row, const char *name, double want)
{
    const sluice_value_t *v = col(row, name);

    assert_int_equal(v->kind, SLUICE_VAL_FLOAT);
    assert_true(v->u.f == want);
}

static void assert_pos(const sluice_pos_t *pos, int n, int64_t a, int64_t b, int64_t c)
{
    assert_int_equal(pos->n, n);
    if (n > 0)
        assert_int_equal(pos->part[0], a);
    if (n > 1)
        assert_int_equal(pos->part[1], b);
    if (n > 2)
        assert_int_equal(pos->part[2], c);
}

static void test_decode_json_flink_postgres(void **state)
{
    static const char *const files[] = {"flink-postgres-products-schema-exclude.jsonl",
                                        "flink-postgres-products-schema-include.jsonl"};
    fx_t *fx = *state;
    size_t i;

    for (i = 0; i < 2; i++) {
        decode_fixture(fx, files[i], 0);
        assert_int_equal(fx->ev.op, SLUICE_OP_READ);
        assert_int_equal(fx->ev.snapshot, SLUICE_SNAPSHOT_TRUE);
        assert_string_equal(fx->ev.connector, "postgresql");
        assert_string_equal(fx->ev.server, "fullfillment");
        assert_string_equal(fx->ev.db, "postgres");
        assert_string_equal(fx->ev.schema, "inventory");
        assert_string_equal(fx->ev.table, "products");
        assert_int_equal(fx->ev.tx_id, 601);
        assert_int_equal(fx->ev.source_ts_ms, 1596001099434);
        assert_int_equal(fx->ev.ts_ms, 1596001099434);
        assert_pos(&fx->ev.pos, 1, 34078720, 0, 0);
        assert_false(fx->ev.before.present);
        assert_int_equal(fx->ev.after.ncols, 4);
        assert_string_equal(fx->ev.after.cols[0].name, "id");
        assert_int_col(&fx->ev.after, "id", SLUICE_VAL_INT, 101);
        assert_str_col(&fx->ev.after, "name", SLUICE_VAL_TEXT, "scooter");
        assert_float_col(&fx->ev.after, "weight", 3.14);

        decode_fixture(fx, files[i], 9);
        assert_int_equal(fx->ev.op, SLUICE_OP_UPDATE);
        assert_int_equal(fx->ev.snapshot, SLUICE_SNAPSHOT_FALSE);
        assert_int_equal(fx->ev.tx_id, 602);
        assert_pos(&fx->ev.pos, 1, 34131104, 0, 0);
        assert_str_col(&fx->ev.before, "description", SLUICE_VAL_TEXT, "16oz carpenter's hammer");
        assert_str_col(&fx->ev.after, "description", SLUICE_VAL_TEXT, "18oz carpenter hammer");
        assert_float_col(&fx->ev.after, "weight", 1.0);

        decode_fixture(fx, files[i], 15);
        assert_int_equal(fx->ev.op, SLUICE_OP_DELETE);
        assert_false(fx->ev.after.present);
        assert_int_col(&fx->ev.before, "id", SLUICE_VAL_INT, 111);
        assert_str_col(&fx->ev.before, "description", SLUICE_VAL_TEXT, "Big 2-wheel scooter ");
        assert_float_col(&fx->ev.before, "weight", 5.17);
        assert_pos(&fx->ev.pos, 1, 34133800, 0, 0);
    }
}

static void test_decode_json_flink_postgres_replica_identity(void **state)
{
    fx_t *fx = *state;

    decode_fixture(fx, "flink-postgres-products-replica-identity-edited.jsonl", 9);
    assert_int_equal(fx->ev.op, SLUICE_OP_UPDATE);
    assert_false(fx->ev.before.present);
    assert_str_col(&fx->ev.after, "description", SLUICE_VAL_TEXT, "18oz carpenter hammer");

    /* a delete with neither before nor after */
    decode_fixture(fx, "flink-postgres-products-replica-identity-edited.jsonl", 15);
    assert_int_equal(fx->ev.op, SLUICE_OP_DELETE);
    assert_false(fx->ev.before.present);
    assert_false(fx->ev.after.present);
    assert_int_equal(fx->ev.tx_id, 608);
}

static void test_decode_json_flink_mysql(void **state)
{
    static const char *const files[] = {"flink-mysql-products-schema-exclude.jsonl",
                                        "flink-mysql-products-schema-include.jsonl"};
    fx_t *fx = *state;
    size_t i;

    for (i = 0; i < 2; i++) {
        decode_fixture(fx, files[i], 0);
        assert_int_equal(fx->ev.op, SLUICE_OP_CREATE);
        assert_int_equal(fx->ev.snapshot, SLUICE_SNAPSHOT_TRUE);
        assert_string_equal(fx->ev.connector, "mysql");
        assert_string_equal(fx->ev.db, "inventory");
        assert_null(fx->ev.schema);
        assert_string_equal(fx->ev.table, "products");
        assert_int_equal(fx->ev.tx_id, -1);
        assert_int_equal(fx->ev.source_ts_ms, 0);
        assert_pos(&fx->ev.pos, 3, 3, 154, 0);
        assert_float_col(&fx->ev.after, "weight", 3.140000104904175);

        decode_fixture(fx, files[i], 10);
        assert_int_equal(fx->ev.op, SLUICE_OP_UPDATE);
        assert_pos(&fx->ev.pos, 3, 3, 717, 0);
        assert_int_col(&fx->ev.after, "id", SLUICE_VAL_INT, 107);
        assert_float_col(&fx->ev.before, "weight", 5.300000190734863);
        assert_float_col(&fx->ev.after, "weight", 5.099999904632568);

        decode_fixture(fx, files[i], 15);
        assert_int_equal(fx->ev.op, SLUICE_OP_DELETE);
        assert_pos(&fx->ev.pos, 3, 3, 2443, 0);
    }
}

static void test_decode_json_risingwave_mysql(void **state)
{
    static const char *const files[] = {"risingwave-mysql-customers-schema-exclude.jsonl",
                                        "risingwave-mysql-customers-schema-include.jsonl"};
    fx_t *fx = *state;
    sluice_pos_t first;
    size_t i;

    for (i = 0; i < 2; i++) {
        decode_fixture(fx, files[i], 0);
        assert_int_equal(fx->ev.op, SLUICE_OP_READ);
        assert_int_equal(fx->ev.snapshot, SLUICE_SNAPSHOT_TRUE);
        assert_pos(&fx->ev.pos, 3, 3, 157, 0);
        assert_str_col(&fx->ev.after, "email", SLUICE_VAL_TEXT, "sally.thomas@acme.com");

        decode_fixture(fx, files[i], 5);
        assert_int_equal(fx->ev.op, SLUICE_OP_UPDATE);
        assert_str_col(&fx->ev.before, "first_name", SLUICE_VAL_TEXT, "Anne");
        assert_str_col(&fx->ev.after, "first_name", SLUICE_VAL_TEXT, "Anne1");

        /* two rows of one binlog event: ordered by row */
        decode_fixture(fx, files[i], 7);
        first = fx->ev.pos;
        decode_fixture(fx, files[i], 8);
        assert_pos(&fx->ev.pos, 3, 3, 1442, 1);
        assert_str_col(&fx->ev.after, "last_name", SLUICE_VAL_TEXT, "add2");
        assert_true(sluice_pos_cmp(&first, &fx->ev.pos) < 0);

        decode_fixture(fx, files[i], 9);
        assert_int_equal(fx->ev.op, SLUICE_OP_DELETE);
        assert_int_equal(fx->ev.ts_ms, 1661328550620);
        assert_false(fx->ev.after.present);
        assert_int_col(&fx->ev.before, "id", SLUICE_VAL_INT, 1006);
    }
}

static void test_decode_json_risingwave_tpcc(void **state)
{
    fx_t *fx = *state;

    decode_fixture(fx, "risingwave-postgres-tpcc-customer-snapshot-schema-include.jsonl", 24);
    assert_int_equal(fx->ev.op, SLUICE_OP_READ);
    assert_string_equal(fx->ev.db, "ch_benchmark_db");
    assert_string_equal(fx->ev.schema, "public");
    assert_string_equal(fx->ev.table, "customer");
    /* sequence "[null,\"24363832\"]": a null commit LSN is 0 */
    assert_pos(&fx->ev.pos, 2, 0, 24363832, 0);
    assert_int_equal(fx->ev.after.ncols, 22);
    assert_int_col(&fx->ev.after, "c_id", SLUICE_VAL_INT, 3);
    assert_float_col(&fx->ev.after, "c_discount", 0.4863);
    assert_float_col(&fx->ev.after, "c_balance", -10.0);
    assert_str_col(&fx->ev.after, "c_since", SLUICE_VAL_TEXT, "2015-11-22 00:00:00");
    assert_int_col(&fx->ev.after, "c_delivery_cnt", SLUICE_VAL_INT, 0);
}

static void test_decode_json_spiceai_all_types(void **state)
{
    fx_t *fx = *state;
    const sluice_row_t *a = &fx->ev.after;
    const sluice_value_t *v;

    decode_fixture(fx, "spiceai-postgres-all-types-insert-schema-include.json", 0);
    assert_int_equal(fx->ev.op, SLUICE_OP_CREATE);
    assert_string_equal(fx->ev.server, "acceleration");
    assert_string_equal(fx->ev.table, "all_types");
    assert_int_equal(fx->ev.snapshot, SLUICE_SNAPSHOT_FALSE);
    assert_int_equal(fx->ev.tx_id, 18134);
    assert_pos(&fx->ev.pos, 2, 11811654816, 11811869624, 0);

    assert_int_col(a, "int2_column", SLUICE_VAL_INT, 1);
    assert_int_col(a, "int8_column", SLUICE_VAL_INT, 3);
    assert_float_col(a, "float4_column", 4.0);
    assert_str_col(a, "bpchar_column", SLUICE_VAL_TEXT, "test");
    v = col(a, "bool_column");
    assert_int_equal(v->kind, SLUICE_VAL_BOOL);
    assert_true(v->u.b);
    assert_str_col(a, "numeric_column", SLUICE_VAL_DECIMAL, "6.000000000");
    assert_int_col(a, "timestamp_column", SLUICE_VAL_TIMESTAMP, 1719400371219026);
    assert_str_col(a, "timestamptz_column", SLUICE_VAL_TIMESTAMPTZ, "2024-06-26T02:12:51.219026Z");
    assert_int_col(a, "time_column", SLUICE_VAL_TIME, 40371219026);
    assert_str_col(a, "timetz_column", SLUICE_VAL_TIMETZ, "02:12:51.219026Z");
    assert_int_col(a, "date_column", SLUICE_VAL_DATE, 19900);
    assert_str_col(a, "uuid_column", SLUICE_VAL_UUID, "86f701e6-f8f8-4dc4-8cbd-ed84280b5b84");

    v = col(a, "int8_array_column");
    assert_int_equal(v->kind, SLUICE_VAL_ARRAY);
    assert_int_equal(v->u.arr.n, 2);
    assert_int_equal(v->u.arr.items[0].kind, SLUICE_VAL_INT);
    assert_int_equal(v->u.arr.items[1].u.i, 6);
    v = col(a, "float4_array_column");
    assert_int_equal(v->u.arr.items[0].kind, SLUICE_VAL_FLOAT);
    assert_true(v->u.arr.items[0].u.f == 7.0);
    v = col(a, "text_array_column");
    assert_int_equal(v->u.arr.n, 2);
    assert_int_equal(v->u.arr.items[1].kind, SLUICE_VAL_TEXT);
    assert_string_equal(v->u.arr.items[1].u.s.ptr, "test2");
    v = col(a, "bool_array_column");
    assert_int_equal(v->u.arr.items[1].kind, SLUICE_VAL_BOOL);
    assert_false(v->u.arr.items[1].u.b);
}

static void test_decode_json_bigquery_arrays(void **state)
{
    fx_t *fx = *state;
    const sluice_row_t *a = &fx->ev.after;
    const sluice_value_t *v;

    decode_fixture(fx, "debezium-server-bigquery-postgres-array-types-insert-schema-include.json", 0);
    assert_int_equal(fx->ev.op, SLUICE_OP_CREATE);
    assert_string_equal(fx->ev.table, "test_data_types");
    assert_int_equal(fx->ev.tx_id, 742);
    assert_pos(&fx->ev.pos, 2, 0, 22096576, 0);
    assert_int_equal(fx->ev.ts_ms, 1748996736451);

    v = col(a, "c_uuid");
    assert_int_equal(v->kind, SLUICE_VAL_ARRAY);
    assert_int_equal(v->u.arr.items[0].kind, SLUICE_VAL_UUID);
    assert_string_equal(v->u.arr.items[1].u.s.ptr, "987e6543-e21b-45d3-b456-426614174111");
    v = col(a, "c_jsonb");
    assert_int_equal(v->u.arr.items[0].kind, SLUICE_VAL_JSON);
    assert_string_equal(v->u.arr.items[0].u.s.ptr, "{\"role\": \"admin\"}");
    v = col(a, "c_date");
    assert_int_equal(v->u.arr.n, 1);
    assert_int_equal(v->u.arr.items[0].kind, SLUICE_VAL_DATE);
    assert_int_equal(v->u.arr.items[0].u.i, 20118);
    /* io.debezium.time.Timestamp is milliseconds: scaled to µs */
    v = col(a, "c_timestamp3");
    assert_int_equal(v->u.arr.items[0].kind, SLUICE_VAL_TIMESTAMP);
    assert_int_equal(v->u.arr.items[0].u.i, 1738224000123000);
    v = col(a, "c_timestamp6");
    assert_int_equal(v->u.arr.items[0].u.i, 1738224000123456);
    v = col(a, "c_timestamptz");
    assert_int_equal(v->u.arr.items[0].kind, SLUICE_VAL_TIMESTAMPTZ);
    v = col(a, "c_time");
    assert_int_equal(v->u.arr.items[1].kind, SLUICE_VAL_TIMETZ);
    assert_string_equal(v->u.arr.items[1].u.s.ptr, "08:30:00Z");
    v = col(a, "c_time_whtz");
    assert_int_equal(v->u.arr.items[1].kind, SLUICE_VAL_TIME);
    assert_int_equal(v->u.arr.items[1].u.i, 53130000000);
    v = col(a, "c_binary");
    assert_int_equal(v->u.arr.items[0].kind, SLUICE_VAL_BYTES);
    assert_int_equal(v->u.arr.items[0].u.s.len, 4);
    assert_memory_equal(v->u.arr.items[0].u.s.ptr, "John", 4);
}

static void test_decode_json_iceberg_mysql_key_and_value(void **state)
{
    fx_t *fx = *state;

    decode_fixture(fx, "debezium-server-iceberg-mysql-customers-delete-value-schema-include.json", 0);
    assert_int_equal(fx->ev.op, SLUICE_OP_DELETE);
    assert_string_equal(fx->ev.server, "testc");
    assert_int_equal(fx->ev.snapshot, SLUICE_SNAPSHOT_FALSE);
    assert_pos(&fx->ev.pos, 3, 3, 632, 0);
    assert_int_equal(fx->ev.ts_ms, 1718486007972);
    assert_str_col(&fx->ev.before, "email", SLUICE_VAL_TEXT, "annek@noanswer.org");
    assert_false(fx->ev.after.present);
    assert_false(fx->ev.key.present);

    decode_fixture(fx, "debezium-server-iceberg-mysql-customers-delete-key-schema-include.json", 0);
    assert_true(fx->ev.key.present);
    assert_int_equal(fx->ev.key.ncols, 1);
    assert_int_col(&fx->ev.key, "id", SLUICE_VAL_INT, 1004);
    /* the key decoder leaves the value fields alone */
    assert_int_equal(fx->ev.op, SLUICE_OP_NONE);

    decode_fixture(fx, "debezium-server-iceberg-mysql-orders-snapshot-value-schema-include.json", 0);
    assert_int_equal(fx->ev.op, SLUICE_OP_READ);
    assert_int_equal(fx->ev.snapshot, SLUICE_SNAPSHOT_LAST_IN_DATA_COLLECTION);
    assert_pos(&fx->ev.pos, 3, 3, 824, 0);
    assert_int_col(&fx->ev.after, "order_date", SLUICE_VAL_DATE, 16852);
    assert_int_col(&fx->ev.after, "product_id", SLUICE_VAL_INT, 107);

    decode_fixture(fx, "debezium-server-iceberg-mysql-orders-snapshot-key-schema-include.json", 0);
    assert_int_col(&fx->ev.key, "order_number", SLUICE_VAL_INT, 10004);
}

/* ---------------------------------------------------------------------- */
/* hand-written envelopes */

#define SOURCE_PG                                                                              \
    "{\"connector\":\"postgresql\",\"name\":\"srv\",\"db\":\"db\",\"schema\":\"public\","      \
    "\"table\":\"t\",\"snapshot\":\"false\",\"ts_ms\":1,\"txId\":5,\"lsn\":100,"              \
    "\"sequence\":\"[\\\"90\\\",\\\"100\\\"]\"}"

/* An update of public.t whose after row is {"v": value}, column v described
 * by fschema (a Connect field schema without the "field" member). */
static int decode_with_schema(fx_t *fx, const char *fschema, const char *value)
{
    char doc[8192];
    int n;

    n = snprintf(doc, sizeof(doc),
                 "{\"schema\":{\"type\":\"struct\",\"fields\":["
                 "{\"type\":\"struct\",\"optional\":true,\"field\":\"before\",\"fields\":[]},"
                 "{\"type\":\"struct\",\"optional\":true,\"field\":\"after\",\"fields\":["
                 "{\"field\":\"v\",%s}]},"
                 "{\"type\":\"struct\",\"field\":\"source\",\"fields\":[]},"
                 "{\"type\":\"string\",\"field\":\"op\"}]},"
                 "\"payload\":{\"before\":null,\"after\":{\"v\":%s},\"source\":" SOURCE_PG
                 ",\"op\":\"u\",\"ts_ms\":2}}",
                 fschema, value);
    assert_true(n > 0 && (size_t)n < sizeof(doc));
    sluice_event_reset(&fx->ev);
    sluice_err_clear(&fx->err);
    return sluice_json_decoder_value(fx->dec, doc, (size_t)n, &fx->ev, &fx->err);
}

static const sluice_value_t *with_schema(fx_t *fx, const char *fschema, const char *value)
{
    if (decode_with_schema(fx, fschema, value) != 0)
        fail_msg("%s / %s: %s", fschema, value, fx->err.msg);
    return col(&fx->ev.after, "v");
}

static void with_schema_fails(fx_t *fx, const char *fschema, const char *value, const char *needle)
{
    assert_int_equal(decode_with_schema(fx, fschema, value), -1);
    assert_int_equal(fx->err.cls, SLUICE_ERR_PERMANENT);
    if (!strstr(fx->err.msg, needle))
        fail_msg("error \"%s\" lacks \"%s\"", fx->err.msg, needle);
}

static const sluice_value_t *plain(fx_t *fx, const char *value)
{
    char doc[8192];
    int n;

    n = snprintf(doc, sizeof(doc),
                 "{\"before\":null,\"after\":{\"v\":%s},\"source\":" SOURCE_PG
                 ",\"op\":\"c\",\"ts_ms\":2}",
                 value);
    assert_true(n > 0 && (size_t)n < sizeof(doc));
    sluice_event_reset(&fx->ev);
    if (sluice_json_decoder_value(fx->dec, doc, (size_t)n, &fx->ev, &fx->err) != 0)
        fail_msg("%s: %s", value, fx->err.msg);
    return col(&fx->ev.after, "v");
}

static void decode_fails(fx_t *fx, const char *doc, const char *needle)
{
    sluice_event_reset(&fx->ev);
    sluice_err_clear(&fx->err);
    assert_int_equal(sluice_json_decoder_value(fx->dec, doc, strlen(doc), &fx->ev, &fx->err), -1);
    assert_int_equal(fx->err.cls, SLUICE_ERR_PERMANENT);
    if (!strstr(fx->err.msg, needle))
        fail_msg("error \"%s\" lacks \"%s\"", fx->err.msg, needle);
}

#define DECIMAL(scale)                                                                         \
    "\"type\":\"bytes\",\"name\":\"org.apache.kafka.connect.data.Decimal\","                   \
    "\"parameters\":{\"scale\":\"" scale "\",\"connect.decimal.precision\":\"38\"}"

static void expect_decimal(fx_t *fx, const char *fschema, const char *value, const char *want)
{
    const sluice_value_t *v = with_schema(fx, fschema, value);

    assert_int_equal(v->kind, SLUICE_VAL_DECIMAL);
    assert_string_equal(v->u.s.ptr, want);
    assert_int_equal(v->u.s.len, strlen(want));
}

static void test_decode_json_decimals(void **state)
{
    fx_t *fx = *state;

    expect_decimal(fx, DECIMAL("9"), "\"AWWgvAA=\"", "6.000000000");
    expect_decimal(fx, DECIMAL("2"), "\"/w==\"", "-0.01");
    expect_decimal(fx, DECIMAL("2"), "\"z8c=\"", "-123.45");
    expect_decimal(fx, DECIMAL("0"), "\"gA==\"", "-128");
    expect_decimal(fx, DECIMAL("0"), "\"AY7pD/bDc+DuTj8K0g==\"", "123456789012345678901234567890");
    expect_decimal(fx, DECIMAL("10"), "\"SztMqFqGxHoJiiI//////w==\"",
                   "9999999999999999999999999999.9999999999");
    expect_decimal(fx, DECIMAL("10"), "\"tMSzV6V5O4X2dd3AAAAAAQ==\"",
                   "-9999999999999999999999999999.9999999999");
    expect_decimal(fx, DECIMAL("0"), "\"SztMqFqGxHoJiiI//////w==\"",
                   "99999999999999999999999999999999999999");
    expect_decimal(fx, DECIMAL("38"), "\"SztMqFqGxHoJiiI//////w==\"",
                   "0.99999999999999999999999999999999999999");
    expect_decimal(fx, DECIMAL("3"), "\"AA==\"", "0.000");
    expect_decimal(fx, DECIMAL("0"), "\"AA==\"", "0");
    expect_decimal(fx, DECIMAL("3"), "\"\"", "0.000");
    expect_decimal(fx, DECIMAL("9"), "\"ew==\"", "0.000000123");
    expect_decimal(fx, DECIMAL("3"), "\"ew==\"", "0.123");
    expect_decimal(fx, DECIMAL("2"), "\"ew==\"", "1.23");
    expect_decimal(fx, DECIMAL("0"),
                   "\"f/////////////////////////////////////////8=\"",
                   "57896044618658097711785492504343953926634992332820282019728792003956564819967");
    expect_decimal(fx, DECIMAL("0"),
                   "\"gAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"",
                   "-57896044618658097711785492504343953926634992332820282019728792003956564819968");
    /* scale as a JSON number is tolerated */
    expect_decimal(fx,
                   "\"type\":\"bytes\",\"name\":\"org.apache.kafka.connect.data.Decimal\","
                   "\"parameters\":{\"scale\":2}",
                   "\"MDk=\"", "123.45");
    /* decimal.format=NUMERIC */
    expect_decimal(fx, DECIMAL("2"), "6.5", "6.50");
    expect_decimal(fx, DECIMAL("2"), "7", "7.00");
    expect_decimal(fx, DECIMAL("0"), "-42", "-42");
    /* VariableScaleDecimal */
    expect_decimal(fx,
                   "\"type\":\"struct\",\"name\":\"io.debezium.data.VariableScaleDecimal\","
                   "\"fields\":[{\"type\":\"int32\",\"field\":\"scale\"},"
                   "{\"type\":\"bytes\",\"field\":\"value\"}]",
                   "{\"scale\":2,\"value\":\"MDk=\"}", "123.45");
    expect_decimal(fx,
                   "\"type\":\"struct\",\"name\":\"io.debezium.data.VariableScaleDecimal\"",
                   "{\"scale\":0,\"value\":\"z8c=\"}", "-12345");
}

static void test_decode_json_decimal_text_direct(void **state)
{
    static const unsigned char v12345[] = {0x30, 0x39};
    static const unsigned char lead0[] = {0x00, 0x00, 0x00, 0x01};
    sluice_arena_t arena;
    size_t len;
    char *s;

    (void)state;
    sluice_arena_init(&arena);
    s = sluice_decode_decimal_text(&arena, v12345, 2, -3, &len);
    assert_string_equal(s, "12345000");
    assert_int_equal(len, 8);
    s = sluice_decode_decimal_text(&arena, lead0, 4, 1, &len);
    assert_string_equal(s, "0.1");
    s = sluice_decode_decimal_text(&arena, NULL, 0, -2, &len);
    assert_string_equal(s, "0");
    s = sluice_decode_decimal_text(&arena, v12345, 2, 5, &len);
    assert_string_equal(s, "0.12345");
    s = sluice_decode_decimal_text(&arena, v12345, 2, 4, &len);
    assert_string_equal(s, "1.2345");
    assert_null(sluice_decode_decimal_text(&arena, v12345, 2, SLUICE_DECIMAL_SCALE_MAX + 1, &len));
    sluice_arena_cleanup(&arena);
}

static void test_decode_json_base64(void **state)
{
    unsigned char out[16];

    (void)state;
    assert_int_equal(sluice_decode_base64("Sm9obg==", 8, out), 4);
    assert_memory_equal(out, "John", 4);
    assert_int_equal(sluice_decode_base64("SmFuZQ==", 8, out), 4);
    assert_int_equal(sluice_decode_base64("YWJj", 4, out), 3);
    assert_int_equal(sluice_decode_base64("YWI=", 4, out), 2);
    assert_int_equal(sluice_decode_base64("", 0, out), 0);
    assert_int_equal(sluice_decode_base64("YWJ", 3, out), -1);
    assert_int_equal(sluice_decode_base64("YW=j", 4, out), -1);
    assert_int_equal(sluice_decode_base64("YQ==YWJj", 8, out), -1);
    assert_int_equal(sluice_decode_base64("Y!Jj", 4, out), -1);
    assert_int_equal(sluice_decode_base64("====", 4, out), -1);
}

static void test_decode_json_placeholder_uuid(void **state)
{
    char uuid[37];
    char longph[101];

    (void)state;
    sluice_decode_placeholder_uuid(PH, strlen(PH), uuid);
    assert_string_equal(uuid, "b68a35a7-17ad-35b3-af2a-ae46edb4545a");
    sluice_decode_placeholder_uuid("__toast__", 9, uuid);
    assert_string_equal(uuid, "1336d5b8-1168-3205-a644-df61db0a6a22");
    sluice_decode_placeholder_uuid("", 0, uuid);
    assert_string_equal(uuid, "d41d8cd9-8f00-3204-a980-0998ecf8427e");
    /* more than one MD5 block */
    memset(longph, 'x', 100);
    longph[100] = '\0';
    sluice_decode_placeholder_uuid(longph, 100, uuid);
    assert_string_equal(uuid, "aed563ec-afb4-3cc5-a54c-597a421547b2");
}

static void test_decode_json_logical_types(void **state)
{
    fx_t *fx = *state;
    const sluice_value_t *v;

    v = with_schema(fx, "\"type\":\"int32\",\"name\":\"io.debezium.time.Date\"", "-719162");
    assert_int_equal(v->kind, SLUICE_VAL_DATE);
    assert_int_equal(v->u.i, -719162);
    v = with_schema(fx, "\"type\":\"int32\",\"name\":\"org.apache.kafka.connect.data.Date\"", "1");
    assert_int_equal(v->kind, SLUICE_VAL_DATE);
    v = with_schema(fx, "\"type\":\"int32\",\"name\":\"io.debezium.time.Time\"", "1500");
    assert_int_equal(v->kind, SLUICE_VAL_TIME);
    assert_int_equal(v->u.i, 1500000);
    v = with_schema(fx, "\"type\":\"int32\",\"name\":\"org.apache.kafka.connect.data.Time\"", "2");
    assert_int_equal(v->u.i, 2000);
    v = with_schema(fx, "\"type\":\"int64\",\"name\":\"io.debezium.time.MicroTime\"", "40371219026");
    assert_int_equal(v->kind, SLUICE_VAL_TIME);
    assert_int_equal(v->u.i, 40371219026);
    v = with_schema(fx, "\"type\":\"int64\",\"name\":\"io.debezium.time.NanoTime\"", "40371219026999");
    assert_int_equal(v->kind, SLUICE_VAL_TIME);
    assert_int_equal(v->u.i, 40371219026);
    v = with_schema(fx, "\"type\":\"int64\",\"name\":\"io.debezium.time.Timestamp\"", "-1");
    assert_int_equal(v->kind, SLUICE_VAL_TIMESTAMP);
    assert_int_equal(v->u.i, -1000);
    v = with_schema(fx, "\"type\":\"int64\",\"name\":\"org.apache.kafka.connect.data.Timestamp\"",
                    "1719400371219");
    assert_int_equal(v->u.i, 1719400371219000);
    v = with_schema(fx, "\"type\":\"int64\",\"name\":\"io.debezium.time.MicroTimestamp\"",
                    "9223372036825200000");
    assert_int_equal(v->kind, SLUICE_VAL_TIMESTAMP);
    assert_int_equal(v->u.i, INT64_C(9223372036825200000));
    /* nanoseconds floor toward -infinity */
    v = with_schema(fx, "\"type\":\"int64\",\"name\":\"io.debezium.time.NanoTimestamp\"", "-1");
    assert_int_equal(v->u.i, -1);
    v = with_schema(fx, "\"type\":\"int64\",\"name\":\"io.debezium.time.NanoTimestamp\"",
                    "1719400371219026999");
    assert_int_equal(v->u.i, 1719400371219026);
    v = with_schema(fx, "\"type\":\"int64\",\"name\":\"io.debezium.time.NanoTimestamp\"",
                    "9223372036854775807");
    assert_int_equal(v->u.i, INT64_C(9223372036825200000));
    v = with_schema(fx, "\"type\":\"int64\",\"name\":\"io.debezium.time.NanoTimestamp\"",
                    "-9223372036854775808");
    assert_int_equal(v->u.i, INT64_C(-9223372036832400000));
    v = with_schema(fx, "\"type\":\"int32\",\"name\":\"io.debezium.time.Year\"", "2024");
    assert_int_equal(v->kind, SLUICE_VAL_INT);
    assert_int_equal(v->u.i, 2024);
    with_schema_fails(fx, "\"type\":\"int64\",\"name\":\"io.debezium.time.Timestamp\"",
                      "9000000000000000000", "overflows");

    v = with_schema(fx, "\"type\":\"string\",\"name\":\"io.debezium.data.Json\"", "\"{\\\"a\\\":1}\"");
    assert_int_equal(v->kind, SLUICE_VAL_JSON);
    assert_string_equal(v->u.s.ptr, "{\"a\":1}");
    v = with_schema(fx, "\"type\":\"string\",\"name\":\"io.debezium.data.Uuid\"",
                    "\"123e4567-e89b-12d3-a456-426614174000\"");
    assert_int_equal(v->kind, SLUICE_VAL_UUID);
    v = with_schema(fx, "\"type\":\"string\",\"name\":\"io.debezium.data.Enum\"", "\"red\"");
    assert_int_equal(v->kind, SLUICE_VAL_TEXT);
    v = with_schema(fx, "\"type\":\"string\",\"name\":\"io.debezium.data.Xml\"", "\"<a/>\"");
    assert_int_equal(v->kind, SLUICE_VAL_TEXT);
    v = with_schema(fx, "\"type\":\"string\"", "\"h\\u00e9llo \\ud83d\\ude00\"");
    assert_int_equal(v->kind, SLUICE_VAL_TEXT);
    assert_string_equal(v->u.s.ptr, "h\xc3\xa9llo \xf0\x9f\x98\x80");
    v = with_schema(fx, "\"type\":\"bytes\"", "\"AAH/\"");
    assert_int_equal(v->kind, SLUICE_VAL_BYTES);
    assert_int_equal(v->u.s.len, 3);
    assert_memory_equal(v->u.s.ptr, "\x00\x01\xff", 3);
    v = with_schema(fx, "\"type\":\"boolean\"", "false");
    assert_int_equal(v->kind, SLUICE_VAL_BOOL);
    assert_false(v->u.b);
    v = with_schema(fx, "\"type\":\"float64\"", "\"NaN\"");
    assert_int_equal(v->kind, SLUICE_VAL_FLOAT);
    assert_true(isnan(v->u.f));
    v = with_schema(fx, "\"type\":\"float32\"", "\"-Infinity\"");
    assert_true(isinf(v->u.f) && v->u.f < 0);
    v = with_schema(fx, "\"type\":\"double\"", "2");
    assert_int_equal(v->kind, SLUICE_VAL_FLOAT);
    assert_true(v->u.f == 2.0);
    /* the Debezium docs quote some integers and upper-case the type */
    v = with_schema(fx, "\"type\":\"INT32\"", "\"17\"");
    assert_int_equal(v->kind, SLUICE_VAL_INT);
    assert_int_equal(v->u.i, 17);
    v = with_schema(fx, "\"type\":\"int32\"", "null");
    assert_int_equal(v->kind, SLUICE_VAL_NULL);

    /* geometry: WKB + SRID -> EWKB (POINT(1 2), SRID 4326) */
    v = with_schema(fx,
                    "\"type\":\"struct\",\"name\":\"io.debezium.data.geometry.Geometry\","
                    "\"fields\":[{\"type\":\"int32\",\"field\":\"srid\"},"
                    "{\"type\":\"bytes\",\"field\":\"wkb\"}]",
                    "{\"srid\": 4326, \"wkb\": \"AQEAAAAAAAAAAADwPwAAAAAAAABA\"}");
    assert_int_equal(v->kind, SLUICE_VAL_GEOMETRY);
    assert_int_equal(v->u.s.len, 25);
    assert_memory_equal(v->u.s.ptr,
                        "\x01\x01\x00\x00\x20\xe6\x10\x00\x00\x00\x00\x00\x00\x00\x00"
                        "\xf0\x3f\x00\x00\x00\x00\x00\x00\x00\x40",
                        25);
    /* other structs: the object as compact JSON */
    v = with_schema(fx,
                    "\"type\":\"struct\",\"name\":\"io.debezium.data.geometry.Circle\","
                    "\"fields\":[{\"type\":\"double\",\"field\":\"x\"}]",
                    "{\"x\": 1.5}");
    assert_int_equal(v->kind, SLUICE_VAL_JSON);
    assert_string_equal(v->u.s.ptr, "{\"x\":1.5}");
    v = with_schema(fx, "\"type\":\"map\",\"keys\":{\"type\":\"string\"},\"values\":{\"type\":\"string\"}",
                    "{\"k\":\"v\"}");
    assert_int_equal(v->kind, SLUICE_VAL_JSON);
    assert_string_equal(v->u.s.ptr, "{\"k\":\"v\"}");

    /* nested arrays with element schemas */
    v = with_schema(fx,
                    "\"type\":\"array\",\"items\":{\"type\":\"array\",\"items\":"
                    "{\"type\":\"int32\",\"name\":\"io.debezium.time.Date\"}}",
                    "[[1,null],[]]");
    assert_int_equal(v->kind, SLUICE_VAL_ARRAY);
    assert_int_equal(v->u.arr.n, 2);
    assert_int_equal(v->u.arr.items[0].kind, SLUICE_VAL_ARRAY);
    assert_int_equal(v->u.arr.items[0].u.arr.items[0].kind, SLUICE_VAL_DATE);
    assert_int_equal(v->u.arr.items[0].u.arr.items[1].kind, SLUICE_VAL_NULL);
    assert_int_equal(v->u.arr.items[1].u.arr.n, 0);
    v = with_schema(fx, "\"type\":\"array\",\"items\":{" DECIMAL("1") "}", "[\"MDk=\",null]");
    assert_string_equal(v->u.arr.items[0].u.s.ptr, "1234.5");
}

static void test_decode_json_schemaless_kinds(void **state)
{
    fx_t *fx = *state;
    const sluice_value_t *v;

    v = plain(fx, "\"text\"");
    assert_int_equal(v->kind, SLUICE_VAL_TEXT);
    assert_string_equal(v->u.s.ptr, "text");
    v = plain(fx, "-9223372036854775808");
    assert_int_equal(v->kind, SLUICE_VAL_INT);
    assert_int_equal(v->u.i, INT64_MIN);
    v = plain(fx, "1.5");
    assert_int_equal(v->kind, SLUICE_VAL_FLOAT);
    assert_true(v->u.f == 1.5);
    v = plain(fx, "true");
    assert_int_equal(v->kind, SLUICE_VAL_BOOL);
    assert_true(v->u.b);
    v = plain(fx, "null");
    assert_int_equal(v->kind, SLUICE_VAL_NULL);
    v = plain(fx, "[1,\"a\",[true],null]");
    assert_int_equal(v->kind, SLUICE_VAL_ARRAY);
    assert_int_equal(v->u.arr.n, 4);
    assert_int_equal(v->u.arr.items[1].kind, SLUICE_VAL_TEXT);
    assert_int_equal(v->u.arr.items[2].kind, SLUICE_VAL_ARRAY);
    assert_int_equal(v->u.arr.items[3].kind, SLUICE_VAL_NULL);
    v = plain(fx, "{\"x\": 1.5, \"y\": [2]}");
    assert_int_equal(v->kind, SLUICE_VAL_JSON);
    assert_string_equal(v->u.s.ptr, "{\"x\":1.5,\"y\":[2]}");
    /* a precise decimal without schema is just its base64 text */
    v = plain(fx, "\"AWWgvAA=\"");
    assert_int_equal(v->kind, SLUICE_VAL_TEXT);
    assert_string_equal(v->u.s.ptr, "AWWgvAA=");

    /* column order is document order */
    plain(fx, "1");
    assert_int_equal(fx->ev.after.ncols, 1);
    assert_string_equal(fx->ev.after.cols[0].name, "v");
}

static void expect_unavailable(const sluice_value_t *v)
{
    assert_int_equal(v->kind, SLUICE_VAL_UNAVAILABLE);
}

static void test_decode_json_placeholder_forms(void **state)
{
    fx_t *fx = *state;
    const char *ints = "[95,95,100,101,98,101,122,105,117,109,95,117,110,97,118,97,105,108,97,"
                       "98,108,101,95,118,97,108,117,101]";
    const sluice_value_t *v;

    /* without schema */
    expect_unavailable(plain(fx, "\"" PH "\""));
    expect_unavailable(plain(fx, "\"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==\""));
    expect_unavailable(plain(fx, "[\"" PH "\"]"));
    expect_unavailable(plain(fx, "[\"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==\"]"));
    expect_unavailable(plain(fx, ints));
    expect_unavailable(plain(fx, "[\"b68a35a7-17ad-35b3-af2a-ae46edb4545a\"]"));
    expect_unavailable(plain(fx, "{\"" PH "\":\"" PH "\"}"));
    expect_unavailable(plain(fx, "\"{\\\"" PH "\\\":\\\"" PH "\\\"}\""));

    /* with schema */
    expect_unavailable(with_schema(fx, "\"type\":\"string\"", "\"" PH "\""));
    expect_unavailable(with_schema(fx, "\"type\":\"bytes\"",
                                   "\"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==\""));
    expect_unavailable(with_schema(fx, "\"type\":\"array\",\"items\":{\"type\":\"string\"}",
                                   "[\"" PH "\"]"));
    expect_unavailable(with_schema(fx, "\"type\":\"array\",\"items\":{\"type\":\"bytes\"}",
                                   "[\"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==\"]"));
    expect_unavailable(with_schema(fx, "\"type\":\"array\",\"items\":{\"type\":\"int64\"}", ints));
    expect_unavailable(with_schema(fx, "\"type\":\"array\",\"items\":{\"type\":\"int32\"}", ints));
    expect_unavailable(with_schema(
        fx, "\"type\":\"array\",\"items\":{\"type\":\"string\",\"name\":\"io.debezium.data.Uuid\"}",
        "[\"b68a35a7-17ad-35b3-af2a-ae46edb4545a\"]"));
    expect_unavailable(with_schema(fx, "\"type\":\"string\",\"name\":\"io.debezium.data.Json\"",
                                   "\"{\\\"" PH "\\\":\\\"" PH "\\\"}\""));
    expect_unavailable(with_schema(fx, "\"type\":\"string\",\"name\":\"io.debezium.data.Json\"",
                                   "\"{\\\"" PH "\\\": \\\"" PH "\\\"}\""));
    expect_unavailable(with_schema(fx, "\"type\":\"map\",\"keys\":{\"type\":\"string\"},"
                                       "\"values\":{\"type\":\"string\"}",
                                   "{\"" PH "\":\"" PH "\"}"));

    /* look-alikes are ordinary values */
    v = plain(fx, "\"" PH "x\"");
    assert_int_equal(v->kind, SLUICE_VAL_TEXT);
    v = plain(fx, "[\"" PH "\",\"b\"]");
    assert_int_equal(v->kind, SLUICE_VAL_ARRAY);
    assert_int_equal(v->u.arr.items[0].kind, SLUICE_VAL_TEXT);
    v = plain(fx, "[95,95,100]");
    assert_int_equal(v->kind, SLUICE_VAL_ARRAY);
    v = plain(fx, "{\"" PH "\":\"other\"}");
    assert_int_equal(v->kind, SLUICE_VAL_JSON);
    v = with_schema(fx, "\"type\":\"string\",\"name\":\"io.debezium.data.Json\"",
                    "\"{\\\"" PH "\\\":1}\"");
    assert_int_equal(v->kind, SLUICE_VAL_JSON);
    v = with_schema(fx, "\"type\":\"array\",\"items\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}",
                    "[[\"" PH "\"]]");
    assert_int_equal(v->kind, SLUICE_VAL_ARRAY);
    assert_int_equal(v->u.arr.items[0].kind, SLUICE_VAL_ARRAY);
}

static void test_decode_json_custom_placeholder(void **state)
{
    sluice_decode_opts_t opts;

    memset(&opts, 0, sizeof(opts));
    opts.unavailable_placeholder = "__toast__";
    sluice_json_decoder_t *dec = sluice_json_decoder_new(&opts);
    fx_t *fx = *state;
    const sluice_value_t *v;

    assert_non_null(dec);
    sluice_json_decoder_destroy(fx->dec);
    fx->dec = dec; /* freed by the teardown */
    expect_unavailable(plain(fx, "\"__toast__\""));
    expect_unavailable(plain(fx, "\"X190b2FzdF9f\""));
    expect_unavailable(plain(fx, "[\"1336d5b8-1168-3205-a644-df61db0a6a22\"]"));
    expect_unavailable(plain(fx, "[95,95,116,111,97,115,116,95,95]"));
    v = plain(fx, "\"" PH "\"");
    assert_int_equal(v->kind, SLUICE_VAL_TEXT);
}

static void test_decode_json_source_variants(void **state)
{
    fx_t *fx = *state;
    const char *doc;

    /* boolean snapshot, incremental snapshot without lsn/txId */
    doc = "{\"op\":\"r\",\"after\":{\"id\":1},\"source\":{\"connector\":\"postgresql\","
          "\"snapshot\":true,\"lsn\":7}}";
    sluice_event_reset(&fx->ev);
    assert_int_equal(sluice_json_decoder_value(fx->dec, doc, strlen(doc), &fx->ev, &fx->err), 0);
    assert_int_equal(fx->ev.snapshot, SLUICE_SNAPSHOT_TRUE);
    assert_pos(&fx->ev.pos, 1, 7, 0, 0);
    assert_int_equal(fx->ev.tx_id, -1);

    doc = "{\"op\":\"r\",\"after\":{\"id\":1},\"source\":{\"connector\":\"postgresql\","
          "\"snapshot\":\"incremental\",\"sequence\":null,\"txId\":null}}";
    sluice_event_reset(&fx->ev);
    assert_int_equal(sluice_json_decoder_value(fx->dec, doc, strlen(doc), &fx->ev, &fx->err), 0);
    assert_int_equal(fx->ev.snapshot, SLUICE_SNAPSHOT_INCREMENTAL);
    assert_int_equal(fx->ev.pos.n, 0);
    assert_int_equal(fx->ev.tx_id, -1);

    doc = "{\"op\":\"r\",\"after\":{\"id\":1},\"source\":{\"connector\":\"postgresql\","
          "\"snapshot\":\"first_in_data_collection\",\"sequence\":\"[\\\"5\\\",null]\"}}";
    sluice_event_reset(&fx->ev);
    assert_int_equal(sluice_json_decoder_value(fx->dec, doc, strlen(doc), &fx->ev, &fx->err), 0);
    assert_int_equal(fx->ev.snapshot, SLUICE_SNAPSHOT_FIRST_IN_DATA_COLLECTION);
    assert_pos(&fx->ev.pos, 2, 5, 0, 0);

    /* other connectors: a string lsn is no position */
    doc = "{\"op\":\"c\",\"after\":{\"id\":1},\"source\":{\"connector\":\"sqlserver\","
          "\"snapshot\":\"last\",\"lsn\":\"00000027:00000758:0003\"}}";
    sluice_event_reset(&fx->ev);
    assert_int_equal(sluice_json_decoder_value(fx->dec, doc, strlen(doc), &fx->ev, &fx->err), 0);
    assert_int_equal(fx->ev.snapshot, SLUICE_SNAPSHOT_LAST);
    assert_int_equal(fx->ev.pos.n, 0);

    doc = "{\"op\":\"c\",\"after\":{\"id\":1},\"source\":{\"connector\":\"mariadb\","
          "\"snapshot\":\"first\",\"file\":\"binlog.123456\",\"pos\":4,\"row\":2}}";
    sluice_event_reset(&fx->ev);
    assert_int_equal(sluice_json_decoder_value(fx->dec, doc, strlen(doc), &fx->ev, &fx->err), 0);
    assert_int_equal(fx->ev.snapshot, SLUICE_SNAPSHOT_FIRST);
    assert_pos(&fx->ev.pos, 3, 123456, 4, 2);
}

static void test_decode_json_truncate_and_message(void **state)
{
    fx_t *fx = *state;
    const char *doc;

    doc = "{\"op\":\"t\",\"ts_ms\":9,\"source\":" SOURCE_PG "}";
    sluice_event_reset(&fx->ev);
    assert_int_equal(sluice_json_decoder_value(fx->dec, doc, strlen(doc), &fx->ev, &fx->err), 0);
    assert_int_equal(fx->ev.op, SLUICE_OP_TRUNCATE);
    assert_false(fx->ev.before.present);
    assert_false(fx->ev.after.present);
    assert_pos(&fx->ev.pos, 2, 90, 100, 0);
    assert_int_equal(fx->ev.tx_id, 5);

    /* with a schema that has no row fields, null rows are fine */
    doc = "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"field\":\"op\"}]},"
          "\"payload\":{\"op\":\"t\",\"before\":null,\"source\":" SOURCE_PG "}}";
    sluice_event_reset(&fx->ev);
    assert_int_equal(sluice_json_decoder_value(fx->dec, doc, strlen(doc), &fx->ev, &fx->err), 0);
    assert_int_equal(fx->ev.op, SLUICE_OP_TRUNCATE);
    assert_false(fx->ev.before.present);

    doc = "{\"op\":\"m\",\"ts_ms\":9,\"source\":" SOURCE_PG
          ",\"message\":{\"prefix\":\"audit\",\"content\":\"aGk=\"}}";
    sluice_event_reset(&fx->ev);
    assert_int_equal(sluice_json_decoder_value(fx->dec, doc, strlen(doc), &fx->ev, &fx->err), 0);
    assert_int_equal(fx->ev.op, SLUICE_OP_MESSAGE);
    assert_string_equal(fx->ev.msg_prefix, "audit");
    assert_int_equal(fx->ev.msg_content.kind, SLUICE_VAL_BYTES);
    assert_int_equal(fx->ev.msg_content.u.s.len, 2);
    assert_memory_equal(fx->ev.msg_content.u.s.ptr, "hi", 2);

    doc = "{\"schema\":{\"type\":\"struct\",\"fields\":["
          "{\"type\":\"string\",\"field\":\"op\"},"
          "{\"type\":\"struct\",\"field\":\"message\",\"fields\":["
          "{\"type\":\"string\",\"field\":\"prefix\"},{\"type\":\"bytes\",\"field\":\"content\"}]}]},"
          "\"payload\":{\"op\":\"m\",\"source\":" SOURCE_PG
          ",\"message\":{\"prefix\":\"p\",\"content\":\"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==\"}}}";
    sluice_event_reset(&fx->ev);
    assert_int_equal(sluice_json_decoder_value(fx->dec, doc, strlen(doc), &fx->ev, &fx->err), 0);
    assert_string_equal(fx->ev.msg_prefix, "p");
    /* message content is never a placeholder */
    assert_int_equal(fx->ev.msg_content.kind, SLUICE_VAL_BYTES);
    assert_int_equal(fx->ev.msg_content.u.s.len, strlen(PH));

    decode_fails(fx, "{\"op\":\"m\",\"source\":" SOURCE_PG "}", "message object");
}

static void test_decode_json_malformed(void **state)
{
    fx_t *fx = *state;

    decode_fails(fx, "{\"op\": ", "not valid JSON");
    decode_fails(fx, "{\"op\":\"c\",}", "line 1");
    decode_fails(fx, "", "not valid JSON");
    decode_fails(fx, "[1,2]", "document is an array, expected a JSON object");
    decode_fails(fx, "\"c\"", "is a string, expected a JSON object");
    decode_fails(fx, "null", "tombstone");
    decode_fails(fx, "{\"after\":{\"id\":1},\"source\":" SOURCE_PG "}", "no \"op\" field");
    decode_fails(fx, "{\"op\":\"x\",\"source\":" SOURCE_PG "}", "unknown \"op\" \"x\"");
    decode_fails(fx, "{\"op\":\"cu\",\"source\":" SOURCE_PG "}", "unknown \"op\" \"cu\"");
    decode_fails(fx, "{\"op\":1,\"source\":" SOURCE_PG "}", "\"op\" is an integer");
    decode_fails(fx, "{\"schema\":{\"type\":\"struct\",\"fields\":[]},\"payload\":[1]}",
                 "\"payload\" is an array");
    decode_fails(fx, "{\"schema\":{\"type\":\"struct\",\"fields\":[]},\"payload\":null}",
                 "\"payload\" is null");
    decode_fails(fx, "{\"schema\":{\"type\":\"struct\"},\"payload\":{\"op\":\"c\"}}",
                 "not a struct schema");
    decode_fails(fx, "{\"op\":\"c\",\"after\":{\"id\":1}}", "source: missing");
    decode_fails(fx, "{\"op\":\"c\",\"source\":[]}", "source: is an array");
    decode_fails(fx, "{\"op\":\"c\",\"after\":5,\"source\":" SOURCE_PG "}",
                 "after: is an integer, expected an object");
    decode_fails(fx, "{\"op\":\"c\",\"source\":{\"snapshot\":\"maybe\"}}", "\"maybe\"");
    decode_fails(fx, "{\"op\":\"c\",\"source\":{\"table\":7}}", "\"table\" is an integer");
    decode_fails(fx, "{\"op\":\"c\",\"source\":{\"txId\":\"7\"}}", "\"txId\" is a string");
    decode_fails(fx,
                 "{\"op\":\"c\",\"source\":{\"connector\":\"postgresql\","
                 "\"sequence\":\"[\\\"abc\\\",\\\"1\\\"]\"}}",
                 "not a decimal LSN");
    decode_fails(fx, "{\"op\":\"c\",\"source\":{\"connector\":\"postgresql\",\"sequence\":\"[\"}}",
                 "\"sequence\"");
    decode_fails(fx, "{\"op\":\"c\",\"source\":{\"connector\":\"mysql\",\"file\":\"mysql-bin.x1\"}}",
                 "numeric suffix");
    decode_fails(fx, "{\"op\":\"c\",\"after\":{\"v\":\"a\\u0000b\"},\"source\":{}}",
                 "not valid JSON");

    /* values that contradict their schema */
    with_schema_fails(fx, DECIMAL("9"), "\"AWWgvA\"", "truncated");
    with_schema_fails(fx, DECIMAL("9"), "\"AW!gvAA=\"", "not valid base64");
    with_schema_fails(fx, "\"type\":\"bytes\",\"name\":\"org.apache.kafka.connect.data.Decimal\"",
                      "\"AA==\"", "parameters.scale");
    with_schema_fails(fx, DECIMAL("x"), "\"AA==\"", "scale \"x\"");
    with_schema_fails(fx, "\"type\":\"int32\"", "1.5", "after.v: schema type int32 but the value "
                                                        "is a real number");
    with_schema_fails(fx, "\"type\":\"int32\"", "\"12abc\"", "\"12abc\"");
    with_schema_fails(fx, "\"type\":\"boolean\"", "1", "schema type boolean");
    with_schema_fails(fx, "\"type\":\"string\"", "[]", "schema type string");
    with_schema_fails(fx, "\"type\":\"array\"", "{}", "schema type array");
    with_schema_fails(fx, "\"type\":\"float64\"", "\"1.5\"", "schema type float64");
    with_schema_fails(fx, "\"type\":\"int128\"", "1", "unknown Connect schema type \"int128\"");
    with_schema_fails(fx, "\"optional\":true", "1", "no \"type\"");
    with_schema_fails(fx, "\"type\":\"struct\",\"name\":\"io.debezium.data.VariableScaleDecimal\"",
                      "{\"scale\":\"2\",\"value\":\"MDk=\"}", "integer scale");

    decode_fails(fx,
                 "{\"schema\":{\"type\":\"struct\",\"fields\":[]},"
                 "\"payload\":{\"op\":\"c\",\"after\":{\"id\":1},\"source\":{}}}",
                 "\"after\" has no field schema");

    /* a payload column the schema does not declare */
    decode_fails(fx,
                 "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"struct\",\"field\":"
                 "\"after\",\"fields\":[{\"type\":\"int32\",\"field\":\"id\"}]}]},"
                 "\"payload\":{\"op\":\"c\",\"after\":{\"id\":1,\"ghost\":2},\"source\":{}}}",
                 "column \"ghost\" is not declared");
}

static void test_decode_json_keys(void **state)
{
    fx_t *fx = *state;
    const char *doc;

    sluice_event_reset(&fx->ev);
    assert_int_equal(sluice_json_decoder_key(fx->dec, "null", 4, &fx->ev, &fx->err), 0);
    assert_false(fx->ev.key.present);

    doc = "{\"id\":7,\"region\":\"eu\"}";
    assert_int_equal(sluice_json_decoder_key(fx->dec, doc, strlen(doc), &fx->ev, &fx->err), 0);
    assert_true(fx->ev.key.present);
    assert_int_equal(fx->ev.key.ncols, 2);
    assert_int_col(&fx->ev.key, "id", SLUICE_VAL_INT, 7);
    assert_str_col(&fx->ev.key, "region", SLUICE_VAL_TEXT, "eu");

    doc = "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"name\":"
          "\"io.debezium.data.Uuid\",\"field\":\"id\"}]},"
          "\"payload\":{\"id\":\"123e4567-e89b-12d3-a456-426614174000\"}}";
    sluice_event_reset(&fx->ev);
    assert_int_equal(sluice_json_decoder_key(fx->dec, doc, strlen(doc), &fx->ev, &fx->err), 0);
    assert_str_col(&fx->ev.key, "id", SLUICE_VAL_UUID, "123e4567-e89b-12d3-a456-426614174000");

    doc = "{\"schema\":{\"type\":\"struct\",\"fields\":[]},\"payload\":null}";
    assert_int_equal(sluice_json_decoder_key(fx->dec, doc, strlen(doc), &fx->ev, &fx->err), 0);
    assert_false(fx->ev.key.present);

    doc = "{\"schema\":{\"type\":\"string\"},\"payload\":\"srv\"}";
    assert_int_equal(sluice_json_decoder_key(fx->dec, doc, strlen(doc), &fx->ev, &fx->err), -1);
    assert_int_equal(fx->err.cls, SLUICE_ERR_PERMANENT);
    assert_non_null(strstr(fx->err.msg, "expected a struct of key columns"));
    assert_non_null(strstr(fx->err.msg, "json key"));

    assert_int_equal(sluice_json_decoder_key(fx->dec, "5", 1, &fx->ev, &fx->err), -1);
    assert_non_null(strstr(fx->err.msg, "expected a JSON object of key columns"));
    assert_int_equal(sluice_json_decoder_key(fx->dec, "{", 1, &fx->ev, &fx->err), -1);
    assert_non_null(strstr(fx->err.msg, "not valid JSON"));
}

static void test_decode_json_decoder_lifecycle(void **state)
{
    sluice_decode_opts_t opts = {NULL};
    sluice_json_decoder_t *dec;

    (void)state;
    dec = sluice_json_decoder_new(&opts);
    assert_non_null(dec);
    sluice_json_decoder_destroy(dec);
    sluice_json_decoder_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_decode_json_every_fixture, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_decode_json_flink_postgres, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_decode_json_flink_postgres_replica_identity, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_decode_json_flink_mysql, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_decode_json_risingwave_mysql, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_decode_json_risingwave_tpcc, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_decode_json_spiceai_all_types, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_decode_json_bigquery_arrays, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_decode_json_iceberg_mysql_key_and_value, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_decode_json_decimals, fx_setup, fx_teardown),
        cmocka_unit_test(test_decode_json_decimal_text_direct),
        cmocka_unit_test(test_decode_json_base64),
        cmocka_unit_test(test_decode_json_placeholder_uuid),
        cmocka_unit_test_setup_teardown(test_decode_json_logical_types, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_decode_json_schemaless_kinds, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_decode_json_placeholder_forms, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_decode_json_custom_placeholder, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_decode_json_source_variants, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_decode_json_truncate_and_message, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_decode_json_malformed, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_decode_json_keys, fx_setup, fx_teardown),
        cmocka_unit_test(test_decode_json_decoder_lifecycle),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
