/* decode_avro: the real Avro fixtures decode to the values of their JSON
 * twins (or, without a twin, to the values read by hand from the bytes);
 * every Debezium semantic type decodes exactly as the JSON decoder decodes
 * the same Connect value; malformed input is a permanent error with a clear
 * message and never a crash (random truncations and bit flips included);
 * the format dispatcher (decode.c) picks the right decoder. No registry
 * here: schemas are given to the decoder directly (test_registry covers the
 * registry path). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode_avro_int.h"
#include "sluice/config.h"
#include "sluice/decode.h"
#include "sluice/decode_avro.h"
#include "sluice/decode_json.h"

#define FIX SLUICE_TEST_FIXTURES "/debezium/"

static char *slurp(const char *name, size_t *len)
{
    char path[1024];
    FILE *f;
    char *buf;
    long n;

    snprintf(path, sizeof(path), "%s%s", FIX, name);
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* ---------------------------------------------------------------------- */
/* comparing events */

static void value_equal(const char *where, const sluice_value_t *a, const sluice_value_t *b)
{
    size_t i;

    if (a->kind != b->kind)
        fail_msg("%s: kind %s != %s", where, sluice_value_kind_name(a->kind),
                 sluice_value_kind_name(b->kind));
    switch (a->kind) {
    case SLUICE_VAL_NULL:
    case SLUICE_VAL_UNAVAILABLE:
        return;
    case SLUICE_VAL_BOOL:
        assert_int_equal(a->u.b, b->u.b);
        return;
    case SLUICE_VAL_INT:
    case SLUICE_VAL_DATE:
    case SLUICE_VAL_TIME:
    case SLUICE_VAL_TIMESTAMP:
        if (a->u.i != b->u.i)
            fail_msg("%s: %lld != %lld", where, (long long)a->u.i, (long long)b->u.i);
        return;
    case SLUICE_VAL_FLOAT:
        if (!(a->u.f == b->u.f || (isnan(a->u.f) && isnan(b->u.f))))
            fail_msg("%s: %.17g != %.17g", where, a->u.f, b->u.f);
        return;
    case SLUICE_VAL_ARRAY:
        if (a->u.arr.n != b->u.arr.n)
            fail_msg("%s: array of %zu != %zu", where, a->u.arr.n, b->u.arr.n);
        for (i = 0; i < a->u.arr.n; i++)
            value_equal(where, &a->u.arr.items[i], &b->u.arr.items[i]);
        return;
    default:
        if (a->u.s.len != b->u.s.len || memcmp(a->u.s.ptr, b->u.s.ptr, a->u.s.len) != 0)
            fail_msg("%s: \"%.*s\" != \"%.*s\"", where, (int)a->u.s.len, a->u.s.ptr,
                     (int)b->u.s.len, b->u.s.ptr);
        assert_int_equal(a->u.s.ptr[a->u.s.len], '\0');
        assert_int_equal(b->u.s.ptr[b->u.s.len], '\0');
    }
}

static void row_equal(const char *what, const sluice_row_t *a, const sluice_row_t *b)
{
    size_t i;
    char where[256];

    if (a->present != b->present)
        fail_msg("%s: present %d != %d", what, a->present, b->present);
    assert_int_equal(a->ncols, b->ncols);
    for (i = 0; i < a->ncols; i++) {
        const sluice_value_t *other = sluice_row_get(b, a->cols[i].name);
        snprintf(where, sizeof(where), "%s.%s", what, a->cols[i].name);
        if (!other)
            fail_msg("%s: missing on one side", where);
        value_equal(where, &a->cols[i].value, other);
    }
}

static void str_equal(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

/* Everything a handler can see, except the Kafka coordinates. */
static void event_equal(const sluice_event_t *a, const sluice_event_t *b)
{
    int i;

    assert_int_equal(a->op, b->op);
    str_equal(a->connector, b->connector);
    str_equal(a->server, b->server);
    str_equal(a->db, b->db);
    str_equal(a->schema, b->schema);
    str_equal(a->table, b->table);
    assert_int_equal(a->snapshot, b->snapshot);
    assert_int_equal(a->source_ts_ms, b->source_ts_ms);
    assert_int_equal(a->ts_ms, b->ts_ms);
    assert_int_equal(a->tx_id, b->tx_id);
    assert_int_equal(a->pos.n, b->pos.n);
    for (i = 0; i < a->pos.n; i++)
        assert_int_equal(a->pos.part[i], b->pos.part[i]);
    row_equal("key", &a->key, &b->key);
    row_equal("before", &a->before, &b->before);
    row_equal("after", &a->after, &b->after);
    str_equal(a->msg_prefix, b->msg_prefix);
}

static const sluice_value_t *col(const sluice_row_t *row, const char *name)
{
    const sluice_value_t *v = sluice_row_get(row, name);

    if (!v)
        fail_msg("no column %s", name);
    return v;
}

static void assert_text(const sluice_row_t *row, const char *name, const char *want)
{
    const sluice_value_t *v = col(row, name);

    assert_int_equal(v->kind, SLUICE_VAL_TEXT);
    assert_string_equal(v->u.s.ptr, want);
}

static void assert_intcol(const sluice_row_t *row, const char *name, int64_t want)
{
    const sluice_value_t *v = col(row, name);

    assert_int_equal(v->kind, SLUICE_VAL_INT);
    assert_int_equal(v->u.i, want);
}

typedef struct {
    sluice_avro_decoder_t *avro;
    sluice_json_decoder_t *json;
    sluice_event_t ev, ev2;
    sluice_err_t err;
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    fx->avro = sluice_avro_decoder_new(NULL, NULL);
    fx->json = sluice_json_decoder_new(NULL);
    assert_non_null(fx->avro);
    assert_non_null(fx->json);
    sluice_event_init(&fx->ev);
    sluice_event_init(&fx->ev2);
    sluice_err_clear(&fx->err);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;

    sluice_event_cleanup(&fx->ev);
    sluice_event_cleanup(&fx->ev2);
    sluice_avro_decoder_destroy(fx->avro);
    sluice_json_decoder_destroy(fx->json);
    free(fx);
    return 0;
}

static void add_schema_file(fx_t *fx, int32_t id, const char *name)
{
    size_t len;
    char *json = slurp(name, &len);

    if (sluice_avro_decoder_add_schema(fx->avro, id, json, len, &fx->err) < 0)
        fail_msg("schema %s: %s", name, fx->err.msg);
    free(json);
}

static int decode_value(fx_t *fx, const void *buf, size_t len)
{
    sluice_event_reset(&fx->ev);
    sluice_err_clear(&fx->err);
    return sluice_avro_decoder_value(fx->avro, buf, len, &fx->ev, &fx->err);
}

static void expect_permanent(fx_t *fx, int rc, const char *needle)
{
    assert_int_equal(rc, -1);
    assert_int_equal(fx->err.cls, SLUICE_ERR_PERMANENT);
    if (needle && !strstr(fx->err.msg, needle))
        fail_msg("error \"%s\" does not mention \"%s\"", fx->err.msg, needle);
}

/* ---------------------------------------------------------------------- */
/* the real Avro fixtures */

/* flink-mysql-person-*.avro: id 81, a trailing 0x0A that is not part of
 * the datum; values read by hand from the bytes (no JSON twin). */
static void test_decode_avro_flink_person(void **state)
{
    static const char *files[] = {"flink-mysql-person-insert.avro",
                                  "flink-mysql-person-update.avro",
                                  "flink-mysql-person-delete.avro"};
    static const char ops[] = {'c', 'u', 'd'};
    static const int64_t binpos[] = {213795, 214095, 214438};
    static const int64_t ts[] = {1599207472705, 1599706495720, 1599707458653};
    fx_t *fx = *state;
    double weight;
    int i;

    /* 0x4035CCCCC0000000: a float 21.8 widened to double by the source */
    memcpy(&weight, &(uint64_t){UINT64_C(0x4035CCCCC0000000)}, sizeof(weight));
    add_schema_file(fx, 81, "flink-mysql-person-envelope.avsc");
    for (i = 0; i < 3; i++) {
        size_t len;
        unsigned char *buf = (unsigned char *)slurp(files[i], &len);
        const sluice_row_t *row;

        assert_int_equal(buf[0], 0);
        assert_int_equal(buf[4], 81);
        assert_int_equal(buf[len - 1], 0x0a);
        /* the whole file: the trailing byte is refused, not ignored */
        expect_permanent(fx, decode_value(fx, buf, len), "1 bytes are left over");
        if (decode_value(fx, buf, len - 1) < 0)
            fail_msg("%s: %s", files[i], fx->err.msg);
        assert_int_equal(fx->ev.op, ops[i]);
        assert_string_equal(fx->ev.connector, "mysql");
        assert_string_equal(fx->ev.server, "fullfillment");
        assert_string_equal(fx->ev.db, "test1");
        assert_null(fx->ev.schema);
        assert_string_equal(fx->ev.table, "person");
        assert_int_equal(fx->ev.snapshot, SLUICE_SNAPSHOT_FALSE);
        assert_int_equal(fx->ev.ts_ms, ts[i]);
        assert_int_equal(fx->ev.source_ts_ms, ts[i] / 1000 * 1000);
        assert_int_equal(fx->ev.tx_id, -1);
        assert_int_equal(fx->ev.pos.n, 3);
        assert_int_equal(fx->ev.pos.part[0], 5); /* mysql-bin.000005 */
        assert_int_equal(fx->ev.pos.part[1], binpos[i]);
        assert_int_equal(fx->ev.pos.part[2], 0);
        assert_int_equal(fx->ev.key.present, 0);
        assert_int_equal(fx->ev.before.present, i > 0);
        assert_int_equal(fx->ev.after.present, i < 2);
        row = i < 2 ? &fx->ev.after : &fx->ev.before;
        assert_int_equal(row->ncols, 4);
        assert_string_equal(row->cols[0].name, "id");
        assert_intcol(row, "id", 1);
        assert_text(row, "name", i == 0 ? "lisi" : "zhangsan");
        assert_text(row, "description", "test debezium avro data");
        assert_int_equal(col(row, "weight")->kind, SLUICE_VAL_FLOAT);
        assert_true(col(row, "weight")->u.f == weight);
        if (i == 1) {
            assert_text(&fx->ev.before, "name", "lisi");
            assert_text(&fx->ev.after, "name", "zhangsan");
        }
        free(buf);
    }
}

/* risingwave-mysql-customers-snapshot.avro (id 6) against the JSON twin of
 * the same row in risingwave-mysql-customers-schema-include.jsonl (another
 * capture of the same table: row values and table identity match, the
 * source position and snapshot marker are this capture's own). */
static void test_decode_avro_risingwave_customers(void **state)
{
    fx_t *fx = *state;
    size_t len, jlen;
    char *buf = slurp("risingwave-mysql-customers-snapshot.avro", &len);
    char *jsonl = slurp("risingwave-mysql-customers-schema-include.jsonl", &jlen);
    size_t first = strcspn(jsonl, "\n");

    add_schema_file(fx, 6, "risingwave-mysql-customers-envelope.avsc");
    if (decode_value(fx, buf, len) < 0)
        fail_msg("%s", fx->err.msg);
    sluice_event_reset(&fx->ev2);
    if (sluice_json_decoder_value(fx->json, jsonl, first, &fx->ev2, &fx->err) < 0)
        fail_msg("%s", fx->err.msg);
    assert_int_equal(fx->ev.op, SLUICE_OP_READ);
    assert_int_equal(fx->ev2.op, SLUICE_OP_READ);
    str_equal(fx->ev.connector, fx->ev2.connector);
    str_equal(fx->ev.server, fx->ev2.server);
    str_equal(fx->ev.db, fx->ev2.db);
    str_equal(fx->ev.table, fx->ev2.table);
    row_equal("after", &fx->ev.after, &fx->ev2.after);
    row_equal("before", &fx->ev.before, &fx->ev2.before);
    assert_intcol(&fx->ev.after, "id", 1001);
    assert_text(&fx->ev.after, "email", "sally.thomas@acme.com");
    /* this capture's own source block, by hand */
    assert_int_equal(fx->ev.snapshot, SLUICE_SNAPSHOT_FIRST_IN_DATA_COLLECTION);
    assert_int_equal(fx->ev.source_ts_ms, 1676303732000);
    assert_int_equal(fx->ev.ts_ms, 1676303732937);
    assert_int_equal(fx->ev.pos.n, 3);
    assert_int_equal(fx->ev.pos.part[0], 3);
    assert_int_equal(fx->ev.pos.part[1], 390);
    assert_int_equal(fx->ev.pos.part[2], 0);
    free(buf);
    free(jsonl);
}

/* Avro JSON -> the plain JSON JsonConverter would write without schema:
 * union wrappers {"<branch>": v} unwrapped. */
static json_t *unwrap(json_t *j, const char *const *branches)
{
    const char *k;
    json_t *v;
    size_t i;

    if (json_is_array(j)) {
        json_array_foreach(j, i, v)
            json_array_set_new(j, i, unwrap(json_incref(v), branches));
        return j;
    }
    if (!json_is_object(j))
        return j;
    if (json_object_size(j) == 1) {
        json_object_foreach(j, k, v) {
            for (i = 0; branches[i]; i++) {
                if (!strcmp(k, branches[i])) {
                    json_t *inner = unwrap(json_incref(v), branches);
                    json_decref(j);
                    return inner;
                }
            }
        }
    }
    json_object_foreach(j, k, v)
        json_object_set_new(j, k, unwrap(json_incref(v), branches));
    return j;
}

/* The Avro-JSON fixture, encoded to binary with avro-c, decodes to the
 * same events as its plain JSON equivalent through the JSON decoder. */
static void test_decode_avro_orders_from_avro_json(void **state)
{
    static const char *const branches[] = {"long", "string", "int",
                                           "postgres.public.orders.Value", NULL};
    fx_t *fx = *state;
    size_t len;
    char *text = slurp("risingwave-postgres-orders-avro-json-with-tombstone.txt", &len);
    char *line, *save = NULL, *hdr_end = strchr(text, '\n');
    char *caret = strchr(text, '^');
    sluice_avro_encoder_t *kenc, *venc;
    sluice_buf_t kbuf, vbuf;
    int n = 0, tombstones = 0;

    assert_non_null(hdr_end);
    assert_true(caret && caret < hdr_end);
    kenc = sluice_avro_encoder_new(text, (size_t)(caret - text), &fx->err);
    venc = sluice_avro_encoder_new(caret + 1, (size_t)(hdr_end - caret - 1), &fx->err);
    assert_non_null(kenc);
    assert_non_null(venc);
    assert_int_equal(sluice_avro_decoder_add_schema(fx->avro, 1, text, (size_t)(caret - text),
                                                    &fx->err), 0);
    assert_int_equal(sluice_avro_decoder_add_schema(fx->avro, 2, caret + 1,
                                                    (size_t)(hdr_end - caret - 1), &fx->err),
                     0);
    sluice_buf_init(&kbuf);
    sluice_buf_init(&vbuf);
    for (line = strtok_r(hdr_end + 1, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *sep = strchr(line, '^');
        const char *value = sep + 1;
        json_t *plain;
        char *plain_text;

        assert_non_null(sep);
        *sep = '\0';
        sluice_buf_reset(&kbuf);
        sluice_buf_reset(&vbuf);
        if (sluice_avro_encoder_json(kenc, line, strlen(line), 1, &kbuf, &fx->err) < 0)
            fail_msg("key %s: %s", line, fx->err.msg);
        sluice_event_reset(&fx->ev);
        if (sluice_avro_decoder_key(fx->avro, kbuf.data, kbuf.len, &fx->ev, &fx->err) < 0)
            fail_msg("key: %s", fx->err.msg);
        assert_int_equal(fx->ev.key.present, 1);
        assert_int_equal(fx->ev.key.ncols, 1);
        assert_int_equal(col(&fx->ev.key, "order_id")->kind, SLUICE_VAL_INT);
        if (!*value) {
            tombstones++; /* a null Kafka value: never reaches a decoder */
            continue;
        }
        if (sluice_avro_encoder_json(venc, value, strlen(value), 2, &vbuf, &fx->err) < 0)
            fail_msg("value %s: %s", value, fx->err.msg);
        if (sluice_avro_decoder_value(fx->avro, vbuf.data, vbuf.len, &fx->ev, &fx->err) < 0)
            fail_msg("value: %s", fx->err.msg);

        /* the same record as JsonConverter (schemas.enable=false) writes it */
        plain = unwrap(json_loads(value, 0, NULL), branches);
        assert_non_null(plain);
        plain_text = json_dumps(plain, JSON_COMPACT);
        json_decref(plain);
        sluice_event_reset(&fx->ev2);
        if (sluice_json_decoder_key(fx->json, line, strlen(line), &fx->ev2, &fx->err) < 0 ||
            sluice_json_decoder_value(fx->json, plain_text, strlen(plain_text), &fx->ev2,
                                      &fx->err) < 0)
            fail_msg("json twin: %s", fx->err.msg);
        free(plain_text);
        event_equal(&fx->ev, &fx->ev2);
        n++;
        if (n == 5) {
            /* the delete (REPLICA IDENTITY DEFAULT: key-only before), by hand */
            assert_int_equal(fx->ev.op, SLUICE_OP_DELETE);
            assert_int_equal(fx->ev.pos.n, 2);
            assert_int_equal(fx->ev.pos.part[0], 23912408);
            assert_int_equal(fx->ev.pos.part[1], 23912488);
            assert_int_equal(fx->ev.tx_id, 492);
            assert_string_equal(fx->ev.schema, "public");
            assert_intcol(&fx->ev.before, "order_id", 1);
            assert_int_equal(col(&fx->ev.before, "customer_name")->kind, SLUICE_VAL_NULL);
            assert_int_equal(fx->ev.after.present, 0);
        }
    }
    assert_int_equal(n, 5);
    assert_int_equal(tombstones, 1);
    sluice_buf_cleanup(&kbuf);
    sluice_buf_cleanup(&vbuf);
    sluice_avro_encoder_destroy(kenc);
    sluice_avro_encoder_destroy(venc);
    free(text);
}

/* ---------------------------------------------------------------------- */
/* every semantic type, against the JSON decoder */

#define PG_SOURCE_AVSC                                                                           \
    "{\"type\":\"record\",\"name\":\"Source\",\"namespace\":\"io.debezium.connector.postgresql\"," \
    "\"fields\":[{\"name\":\"version\",\"type\":\"string\"},{\"name\":\"connector\",\"type\":"    \
    "\"string\"},{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"ts_ms\",\"type\":\"long\"}," \
    "{\"name\":\"snapshot\",\"type\":[{\"type\":\"string\",\"connect.version\":1,"               \
    "\"connect.parameters\":{\"allowed\":\"true,last,false,incremental\"},\"connect.default\":"  \
    "\"false\",\"connect.name\":\"io.debezium.data.Enum\"},\"null\"],\"default\":\"false\"},"    \
    "{\"name\":\"db\",\"type\":\"string\"},{\"name\":\"sequence\",\"type\":[\"null\",\"string\"]," \
    "\"default\":null},{\"name\":\"ts_us\",\"type\":[\"null\",\"long\"],\"default\":null},"      \
    "{\"name\":\"schema\",\"type\":\"string\"},{\"name\":\"table\",\"type\":\"string\"},"        \
    "{\"name\":\"txId\",\"type\":[\"null\",\"long\"],\"default\":null},{\"name\":\"lsn\",\"type\":" \
    "[\"null\",\"long\"],\"default\":null},{\"name\":\"xmin\",\"type\":[\"null\",\"long\"],"     \
    "\"default\":null}],\"connect.name\":\"io.debezium.connector.postgresql.Source\"}"

#define OPT(name, type) "{\"name\":\"" name "\",\"type\":[\"null\"," type "],\"default\":null}"

static const char all_avsc[] =
    "{\"type\":\"record\",\"name\":\"Envelope\",\"namespace\":\"t.public.all\",\"fields\":["
    "{\"name\":\"before\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"Value\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"int\"},"
    OPT("small", "{\"type\":\"int\",\"connect.type\":\"int16\"}") ","
    OPT("price", "{\"type\":\"bytes\",\"scale\":2,\"precision\":10,\"connect.version\":1,"
                 "\"connect.parameters\":{\"scale\":\"2\",\"connect.decimal.precision\":\"10\"},"
                 "\"connect.name\":\"org.apache.kafka.connect.data.Decimal\","
                 "\"logicalType\":\"decimal\"}") ","
    OPT("price2", "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":6,\"scale\":3}")
    ","
    OPT("vsd", "{\"type\":\"record\",\"name\":\"VariableScaleDecimal\",\"namespace\":"
               "\"io.debezium.data\",\"fields\":[{\"name\":\"scale\",\"type\":\"int\"},"
               "{\"name\":\"value\",\"type\":\"bytes\"}],\"connect.version\":1,"
               "\"connect.name\":\"io.debezium.data.VariableScaleDecimal\"}") ","
    OPT("d", "{\"type\":\"int\",\"connect.version\":1,\"connect.name\":\"io.debezium.time.Date\"}")
    ","
    OPT("ts", "{\"type\":\"long\",\"connect.version\":1,"
              "\"connect.name\":\"io.debezium.time.MicroTimestamp\"}") ","
    OPT("tsm", "{\"type\":\"long\",\"connect.version\":1,"
               "\"connect.name\":\"io.debezium.time.Timestamp\"}") ","
    OPT("tstz", "{\"type\":\"string\",\"connect.version\":1,"
                "\"connect.name\":\"io.debezium.time.ZonedTimestamp\"}") ","
    OPT("ttz", "{\"type\":\"string\",\"connect.version\":1,"
               "\"connect.name\":\"io.debezium.time.ZonedTime\"}") ","
    OPT("t", "{\"type\":\"long\",\"connect.version\":1,"
             "\"connect.name\":\"io.debezium.time.MicroTime\"}") ","
    OPT("tns", "{\"type\":\"long\",\"connect.name\":\"io.debezium.time.NanoTimestamp\"}") ","
    OPT("cd", "{\"type\":\"int\",\"connect.version\":1,\"connect.name\":"
              "\"org.apache.kafka.connect.data.Date\",\"logicalType\":\"date\"}") ","
    OPT("ct", "{\"type\":\"int\",\"connect.version\":1,\"connect.name\":"
              "\"org.apache.kafka.connect.data.Time\",\"logicalType\":\"time-millis\"}") ","
    OPT("cts", "{\"type\":\"long\",\"connect.version\":1,\"connect.name\":"
               "\"org.apache.kafka.connect.data.Timestamp\",\"logicalType\":\"timestamp-millis\"}")
    ","
    OPT("js", "{\"type\":\"string\",\"connect.version\":1,\"connect.name\":\"io.debezium.data.Json\"}")
    ","
    OPT("u", "{\"type\":\"string\",\"connect.version\":1,\"connect.name\":\"io.debezium.data.Uuid\"}")
    ","
    OPT("tags", "{\"type\":\"array\",\"items\":[\"null\",\"string\"]}") ","
    OPT("nums", "{\"type\":\"array\",\"items\":[\"null\",\"long\"]}") ","
    OPT("uuids", "{\"type\":\"array\",\"items\":[\"null\",{\"type\":\"string\","
                 "\"connect.name\":\"io.debezium.data.Uuid\"}]}") ","
    OPT("attrs", "{\"type\":\"map\",\"values\":[\"null\",\"string\"]}") ","
    OPT("mood", "{\"type\":\"string\",\"connect.version\":1,\"connect.parameters\":"
                "{\"allowed\":\"sad,ok,happy\"},\"connect.name\":\"io.debezium.data.Enum\"}") ","
    OPT("bin", "\"bytes\"") ","
    OPT("f", "\"float\"") ","
    OPT("dbl", "\"double\"") ","
    OPT("flag", "\"boolean\"") ","
    OPT("pt", "{\"type\":\"record\",\"name\":\"Point\",\"namespace\":\"io.debezium.data.geometry\","
              "\"fields\":[{\"name\":\"x\",\"type\":\"double\"},{\"name\":\"y\",\"type\":\"double\"},"
              "{\"name\":\"wkb\",\"type\":[\"null\",\"bytes\"],\"default\":null},"
              "{\"name\":\"srid\",\"type\":[\"null\",\"int\"],\"default\":null}],"
              "\"connect.name\":\"io.debezium.data.geometry.Point\"}") ","
    OPT("note", "\"string\"")
    "],\"connect.name\":\"t.public.all.Value\"}],\"default\":null},"
    "{\"name\":\"after\",\"type\":[\"null\",\"Value\"],\"default\":null},"
    "{\"name\":\"source\",\"type\":" PG_SOURCE_AVSC "},"
    "{\"name\":\"op\",\"type\":\"string\"},"
    "{\"name\":\"ts_ms\",\"type\":[\"null\",\"long\"],\"default\":null},"
    "{\"name\":\"transaction\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"block\","
    "\"namespace\":\"event\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"},"
    "{\"name\":\"total_order\",\"type\":\"long\"},{\"name\":\"data_collection_order\","
    "\"type\":\"long\"}],\"connect.version\":1,\"connect.name\":\"event.block\"}],"
    "\"default\":null}],\"connect.version\":1,\"connect.name\":\"t.public.all.Envelope\"}";

/* The Connect JSON schema of the same Value (JsonConverter, schemas.enable). */
#define JF(type, name, extra)                                                                    \
    "{\"type\":\"" type "\",\"optional\":true" extra ",\"field\":\"" name "\"}"
#define ALL_JSON_FIELDS                                                                          \
    "[{\"type\":\"int32\",\"optional\":false,\"field\":\"id\"},"                                 \
    JF("int16", "small", "") ","                                                                 \
    JF("bytes", "price", ",\"name\":\"org.apache.kafka.connect.data.Decimal\",\"parameters\":"   \
                         "{\"scale\":\"2\",\"connect.decimal.precision\":\"10\"}") ","           \
    JF("bytes", "price2", ",\"name\":\"org.apache.kafka.connect.data.Decimal\",\"parameters\":"  \
                          "{\"scale\":\"3\"}") ","                                               \
    JF("struct", "vsd", ",\"name\":\"io.debezium.data.VariableScaleDecimal\",\"fields\":["       \
                        "{\"type\":\"int32\",\"field\":\"scale\"},{\"type\":\"bytes\",\"field\":" \
                        "\"value\"}]") ","                                                       \
    JF("int32", "d", ",\"name\":\"io.debezium.time.Date\"") ","                                  \
    JF("int64", "ts", ",\"name\":\"io.debezium.time.MicroTimestamp\"") ","                       \
    JF("int64", "tsm", ",\"name\":\"io.debezium.time.Timestamp\"") ","                           \
    JF("string", "tstz", ",\"name\":\"io.debezium.time.ZonedTimestamp\"") ","                   \
    JF("string", "ttz", ",\"name\":\"io.debezium.time.ZonedTime\"") ","                         \
    JF("int64", "t", ",\"name\":\"io.debezium.time.MicroTime\"") ","                             \
    JF("int64", "tns", ",\"name\":\"io.debezium.time.NanoTimestamp\"") ","                       \
    JF("int32", "cd", ",\"name\":\"org.apache.kafka.connect.data.Date\"") ","                    \
    JF("int32", "ct", ",\"name\":\"org.apache.kafka.connect.data.Time\"") ","                    \
    JF("int64", "cts", ",\"name\":\"org.apache.kafka.connect.data.Timestamp\"") ","              \
    JF("string", "js", ",\"name\":\"io.debezium.data.Json\"") ","                                \
    JF("string", "u", ",\"name\":\"io.debezium.data.Uuid\"") ","                                 \
    JF("array", "tags", ",\"items\":{\"type\":\"string\",\"optional\":true}") ","                \
    JF("array", "nums", ",\"items\":{\"type\":\"int64\",\"optional\":true}") ","                 \
    JF("array", "uuids", ",\"items\":{\"type\":\"string\",\"optional\":true,\"name\":"           \
                         "\"io.debezium.data.Uuid\"}") ","                                        \
    JF("map", "attrs", ",\"keys\":{\"type\":\"string\"},\"values\":{\"type\":\"string\","        \
                       "\"optional\":true}") ","                                                  \
    JF("string", "mood", ",\"name\":\"io.debezium.data.Enum\"") ","                              \
    JF("bytes", "bin", "") "," JF("float", "f", "") "," JF("double", "dbl", "") ","               \
    JF("boolean", "flag", "") ","                                                                \
    JF("struct", "pt", ",\"name\":\"io.debezium.data.geometry.Point\",\"fields\":["              \
                       "{\"type\":\"double\",\"field\":\"x\"},{\"type\":\"double\",\"field\":\"y\"}," \
                       "{\"type\":\"bytes\",\"optional\":true,\"field\":\"wkb\"},{\"type\":"    \
                       "\"int32\",\"optional\":true,\"field\":\"srid\"}]") ","                   \
    JF("string", "note", "") "]"

static const char all_json_schema[] =
    "{\"type\":\"struct\",\"name\":\"t.public.all.Envelope\",\"fields\":["
    "{\"type\":\"struct\",\"optional\":true,\"name\":\"t.public.all.Value\",\"field\":\"before\","
    "\"fields\":" ALL_JSON_FIELDS "},"
    "{\"type\":\"struct\",\"optional\":true,\"name\":\"t.public.all.Value\",\"field\":\"after\","
    "\"fields\":" ALL_JSON_FIELDS "},"
    "{\"type\":\"struct\",\"optional\":false,\"field\":\"source\",\"fields\":[]},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"}]}";

#define PH "__debezium_unavailable_value"
/* its bytes as Avro JSON code points, and as base64 */
#define PH_B64 "X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="
#define PH_INTS "95,95,100,101,98,101,122,105,117,109,95,117,110,97,118,97,105,108,97,98,108," \
                "101,95,118,97,108,117,101"
#define PH_LONGS_AVRO "{\"long\":95},{\"long\":95},{\"long\":100},{\"long\":101},{\"long\":98}," \
    "{\"long\":101},{\"long\":122},{\"long\":105},{\"long\":117},{\"long\":109},{\"long\":95},"  \
    "{\"long\":117},{\"long\":110},{\"long\":97},{\"long\":118},{\"long\":97},{\"long\":105},"   \
    "{\"long\":108},{\"long\":97},{\"long\":98},{\"long\":108},{\"long\":101},{\"long\":95},"    \
    "{\"long\":118},{\"long\":97},{\"long\":108},{\"long\":117},{\"long\":101}"

#define SOURCE_AVRO                                                                              \
    "\"source\":{\"version\":\"2.5.0.Final\",\"connector\":\"postgresql\",\"name\":\"t\","     \
    "\"ts_ms\":1718000000000,\"snapshot\":{\"string\":\"false\"},\"db\":\"app\",\"sequence\":"  \
    "{\"string\":\"[\\\"100\\\",\\\"200\\\"]\"},\"ts_us\":null,\"schema\":\"public\",\"table\":" \
    "\"all\",\"txId\":{\"long\":777},\"lsn\":{\"long\":200},\"xmin\":null}"
#define SOURCE_JSON                                                                              \
    "\"source\":{\"version\":\"2.5.0.Final\",\"connector\":\"postgresql\",\"name\":\"t\","     \
    "\"ts_ms\":1718000000000,\"snapshot\":\"false\",\"db\":\"app\",\"sequence\":"               \
    "\"[\\\"100\\\",\\\"200\\\"]\",\"ts_us\":null,\"schema\":\"public\",\"table\":\"all\","      \
    "\"txId\":777,\"lsn\":200,\"xmin\":null}"

/* op c with every type; op u whose after row holds every placeholder form */
static const char *all_avro_json[] = {
    "{\"before\":null,\"after\":{\"t.public.all.Value\":{\"id\":7,\"small\":{\"int\":-3},"
    "\"price\":{\"bytes\":\"09\"},\"price2\":{\"bytes\":\"\\u00fa$\"},"
    "\"vsd\":{\"io.debezium.data.VariableScaleDecimal\":{\"scale\":4,\"value\":\"\\u0001\\u00e2@\"}},"
    "\"d\":{\"int\":19000},\"ts\":{\"long\":1718000000123456},\"tsm\":{\"long\":1718000000123},"
    "\"tstz\":{\"string\":\"2024-06-26T02:12:51.219026Z\"},\"ttz\":{\"string\":\"11:12:51.219026Z\"},"
    "\"t\":{\"long\":45296789012},\"tns\":{\"long\":1718000000123456789},"
    "\"cd\":{\"int\":-1},\"ct\":{\"int\":45296789},\"cts\":{\"long\":-1500},"
    "\"js\":{\"string\":\"{\\\"a\\\": [1, 2]}\"},"
    "\"u\":{\"string\":\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"},"
    "\"tags\":{\"array\":[{\"string\":\"x\"},null,{\"string\":\"z\"}]},"
    "\"nums\":{\"array\":[{\"long\":1},{\"long\":-2},{\"long\":3}]},"
    "\"uuids\":{\"array\":[{\"string\":\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"}]},"
    "\"attrs\":{\"map\":{\"k\":{\"string\":\"v\"},\"n\":null}},\"mood\":{\"string\":\"happy\"},"
    "\"bin\":{\"bytes\":\"\\u0000\\u0001\\u0002\\u00ff\"},\"f\":{\"float\":1.1},"
    "\"dbl\":{\"double\":-2.5e-7},\"flag\":{\"boolean\":true},"
    "\"pt\":{\"io.debezium.data.geometry.Point\":{\"x\":1.5,\"y\":-2.0,\"wkb\":{\"bytes\":\"\\u0001\\u0001\"},"
    "\"srid\":{\"int\":4326}}},\"note\":{\"string\":\"h\\u00e9llo \\u2713\"}}},"
    SOURCE_AVRO ",\"op\":\"c\",\"ts_ms\":{\"long\":1718000000999},\"transaction\":"
    "{\"event.block\":{\"id\":\"777:200\",\"total_order\":1,\"data_collection_order\":1}}}",

    "{\"before\":null,\"after\":{\"t.public.all.Value\":{\"id\":8,"
    "\"js\":{\"string\":\"" PH "\"},\"note\":{\"string\":\"" PH "\"},"
    "\"tags\":{\"array\":[{\"string\":\"" PH "\"}]},\"nums\":{\"array\":[" PH_LONGS_AVRO "]},"
    "\"uuids\":{\"array\":[{\"string\":\"b68a35a7-17ad-35b3-af2a-ae46edb4545a\"}]},"
    "\"attrs\":{\"map\":{\"" PH "\":{\"string\":\"" PH "\"}}},\"bin\":{\"bytes\":\"" PH "\"},"
    "\"price\":{\"bytes\":\"" PH "\"},\"mood\":{\"string\":\"" PH "\"}}},"
    SOURCE_AVRO ",\"op\":\"u\",\"ts_ms\":{\"long\":1718000001000},\"transaction\":null}",
};

static const char *all_json_payloads[] = {
    "{\"before\":null,\"after\":{\"id\":7,\"small\":-3,\"price\":\"MDk=\",\"price2\":\"+iQ=\","
    "\"vsd\":{\"scale\":4,\"value\":\"AeJA\"},\"d\":19000,\"ts\":1718000000123456,"
    "\"tsm\":1718000000123,\"tstz\":\"2024-06-26T02:12:51.219026Z\",\"ttz\":\"11:12:51.219026Z\","
    "\"t\":45296789012,\"tns\":1718000000123456789,\"cd\":-1,\"ct\":45296789,\"cts\":-1500,"
    "\"js\":\"{\\\"a\\\": [1, 2]}\",\"u\":\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\","
    "\"tags\":[\"x\",null,\"z\"],\"nums\":[1,-2,3],"
    "\"uuids\":[\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"],\"attrs\":{\"k\":\"v\",\"n\":null},"
    "\"mood\":\"happy\",\"bin\":\"AAEC/w==\",\"f\":1.1,\"dbl\":-2.5e-7,\"flag\":true,"
    "\"pt\":{\"x\":1.5,\"y\":-2.0,\"wkb\":\"AQE=\",\"srid\":4326},\"note\":\"h\\u00e9llo \\u2713\"},"
    SOURCE_JSON ",\"op\":\"c\",\"ts_ms\":1718000000999,\"transaction\":{\"id\":\"777:200\","
    "\"total_order\":1,\"data_collection_order\":1}}",

    "{\"before\":null,\"after\":{\"id\":8,\"small\":null,\"price\":\"" PH_B64 "\",\"price2\":null,"
    "\"vsd\":null,\"d\":null,\"ts\":null,\"tsm\":null,\"tstz\":null,\"ttz\":null,\"t\":null,"
    "\"tns\":null,\"cd\":null,\"ct\":null,\"cts\":null,\"js\":\"" PH "\",\"u\":null,"
    "\"tags\":[\"" PH "\"],\"nums\":[" PH_INTS "],"
    "\"uuids\":[\"b68a35a7-17ad-35b3-af2a-ae46edb4545a\"],"
    "\"attrs\":{\"" PH "\":\"" PH "\"},\"mood\":\"" PH "\",\"bin\":\"" PH_B64 "\",\"f\":null,"
    "\"dbl\":null,\"flag\":null,\"pt\":null,\"note\":\"" PH "\"},"
    SOURCE_JSON ",\"op\":\"u\",\"ts_ms\":1718000001000,\"transaction\":null}",
};

static void test_decode_avro_semantic_types_match_json(void **state)
{
    fx_t *fx = *state;
    sluice_avro_encoder_t *enc = sluice_avro_encoder_new(all_avsc, strlen(all_avsc), &fx->err);
    sluice_buf_t buf, json;
    size_t i;

    if (!enc)
        fail_msg("%s", fx->err.msg);
    if (sluice_avro_decoder_add_schema(fx->avro, 42, all_avsc, strlen(all_avsc), &fx->err) < 0)
        fail_msg("%s", fx->err.msg);
    sluice_buf_init(&buf);
    sluice_buf_init(&json);
    for (i = 0; i < sizeof(all_avro_json) / sizeof(all_avro_json[0]); i++) {
        sluice_buf_reset(&buf);
        if (sluice_avro_encoder_json(enc, all_avro_json[i], strlen(all_avro_json[i]), 42, &buf,
                                     &fx->err) < 0)
            fail_msg("encoding %zu: %s", i, fx->err.msg);
        if (decode_value(fx, buf.data, buf.len) < 0)
            fail_msg("avro %zu: %s", i, fx->err.msg);
        sluice_buf_reset(&json);
        sluice_buf_printf(&json, "{\"schema\":%s,\"payload\":%s}", all_json_schema,
                          all_json_payloads[i]);
        sluice_event_reset(&fx->ev2);
        if (sluice_json_decoder_value(fx->json, json.data, json.len, &fx->ev2, &fx->err) < 0)
            fail_msg("json %zu: %s", i, fx->err.msg);
        event_equal(&fx->ev, &fx->ev2);
    }
    /* spot checks of the last-but-one event are in the next test; here the
     * placeholder event: every placeholder form is UNAVAILABLE */
    {
        static const char *cols[] = {"js", "note", "tags", "nums", "uuids", "attrs", "bin",
                                     "price", "mood"};
        for (i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
            if (col(&fx->ev.after, cols[i])->kind != SLUICE_VAL_UNAVAILABLE)
                fail_msg("%s is %s, expected unavailable", cols[i],
                         sluice_value_kind_name(col(&fx->ev.after, cols[i])->kind));
        assert_int_equal(col(&fx->ev.after, "small")->kind, SLUICE_VAL_NULL);
    }
    sluice_buf_cleanup(&buf);
    sluice_buf_cleanup(&json);
    sluice_avro_encoder_destroy(enc);
}

/* The values themselves, by hand, for the record with every type. */
static void test_decode_avro_semantic_values(void **state)
{
    fx_t *fx = *state;
    sluice_avro_encoder_t *enc = sluice_avro_encoder_new(all_avsc, strlen(all_avsc), &fx->err);
    sluice_buf_t buf;
    const sluice_row_t *a = &fx->ev.after;
    const sluice_value_t *v;

    assert_non_null(enc);
    assert_int_equal(sluice_avro_decoder_add_schema(fx->avro, 42, all_avsc, strlen(all_avsc),
                                                    &fx->err), 0);
    sluice_buf_init(&buf);
    assert_int_equal(sluice_avro_encoder_json(enc, all_avro_json[0], strlen(all_avro_json[0]), 42,
                                              &buf, &fx->err), 0);
    if (decode_value(fx, buf.data, buf.len) < 0)
        fail_msg("%s", fx->err.msg);
    assert_int_equal(fx->ev.op, SLUICE_OP_CREATE);
    assert_int_equal(fx->ev.pos.n, 2);
    assert_int_equal(fx->ev.pos.part[0], 100);
    assert_int_equal(fx->ev.pos.part[1], 200);
    assert_int_equal(fx->ev.tx_id, 777);
    assert_intcol(a, "small", -3);
    assert_string_equal(col(a, "price")->u.s.ptr, "123.45");
    assert_int_equal(col(a, "price")->kind, SLUICE_VAL_DECIMAL);
    assert_string_equal(col(a, "price2")->u.s.ptr, "-1.500");
    assert_string_equal(col(a, "vsd")->u.s.ptr, "12.3456");
    v = col(a, "d");
    assert_int_equal(v->kind, SLUICE_VAL_DATE);
    assert_int_equal(v->u.i, 19000);
    v = col(a, "tsm");
    assert_int_equal(v->kind, SLUICE_VAL_TIMESTAMP);
    assert_int_equal(v->u.i, INT64_C(1718000000123000));
    v = col(a, "tns");
    assert_int_equal(v->u.i, INT64_C(1718000000123456));
    v = col(a, "ct");
    assert_int_equal(v->kind, SLUICE_VAL_TIME);
    assert_int_equal(v->u.i, INT64_C(45296789000));
    v = col(a, "cts");
    assert_int_equal(v->kind, SLUICE_VAL_TIMESTAMP);
    assert_int_equal(v->u.i, -1500000);
    assert_int_equal(col(a, "tstz")->kind, SLUICE_VAL_TIMESTAMPTZ);
    assert_int_equal(col(a, "ttz")->kind, SLUICE_VAL_TIMETZ);
    assert_int_equal(col(a, "js")->kind, SLUICE_VAL_JSON);
    assert_int_equal(col(a, "u")->kind, SLUICE_VAL_UUID);
    v = col(a, "tags");
    assert_int_equal(v->kind, SLUICE_VAL_ARRAY);
    assert_int_equal(v->u.arr.n, 3);
    assert_int_equal(v->u.arr.items[1].kind, SLUICE_VAL_NULL);
    v = col(a, "attrs");
    assert_int_equal(v->kind, SLUICE_VAL_JSON);
    assert_string_equal(v->u.s.ptr, "{\"k\":\"v\",\"n\":null}");
    assert_text(a, "mood", "happy");
    v = col(a, "bin");
    assert_int_equal(v->kind, SLUICE_VAL_BYTES);
    assert_int_equal(v->u.s.len, 4);
    assert_memory_equal(v->u.s.ptr, "\x00\x01\x02\xff", 4);
    assert_true(col(a, "f")->u.f == 1.1); /* the float's shortest text, as JsonConverter */
    v = col(a, "pt");
    assert_int_equal(v->kind, SLUICE_VAL_TEXT); /* a PostgreSQL point */
    assert_string_equal(v->u.s.ptr, "(1.5,-2)");
    assert_text(a, "note", "h\xc3\xa9llo \xe2\x9c\x93");
    sluice_buf_cleanup(&buf);
    sluice_avro_encoder_destroy(enc);
}

/* Avro enum, fixed, fixed decimal, local timestamps and an Avro uuid: no
 * Connect JSON twin; checked by hand. */
static void test_decode_avro_avro_only_types(void **state)
{
    static const char avsc[] =
        "{\"type\":\"record\",\"name\":\"Envelope\",\"namespace\":\"x\",\"fields\":["
        "{\"name\":\"after\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"Value\","
        "\"fields\":[{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"Color\","
        "\"symbols\":[\"RED\",\"GREEN\"]}},"
        "{\"name\":\"fx\",\"type\":{\"type\":\"fixed\",\"name\":\"F3\",\"size\":3}},"
        "{\"name\":\"fd\",\"type\":{\"type\":\"fixed\",\"name\":\"D2\",\"size\":2,"
        "\"logicalType\":\"decimal\",\"precision\":4,\"scale\":1}},"
        "{\"name\":\"tm\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}},"
        "{\"name\":\"id\",\"type\":{\"type\":\"string\",\"logicalType\":\"uuid\"}},"
        "{\"name\":\"again\",\"type\":\"Color\"}]}]},"
        "{\"name\":\"source\",\"type\":{\"type\":\"record\",\"name\":\"Source\",\"fields\":["
        "{\"name\":\"connector\",\"type\":\"string\"},{\"name\":\"snapshot\",\"type\":"
        "\"boolean\"}]}},{\"name\":\"op\",\"type\":\"string\"}]}";
    static const char datum[] =
        "{\"after\":{\"x.Value\":{\"e\":\"GREEN\",\"fx\":\"abc\",\"fd\":\"\\u0001\\u0000\","
        "\"tm\":5,\"id\":\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\",\"again\":\"RED\"}},"
        "\"source\":{\"connector\":\"custom\",\"snapshot\":true},\"op\":\"r\"}";
    fx_t *fx = *state;
    sluice_avro_encoder_t *enc = sluice_avro_encoder_new(avsc, strlen(avsc), &fx->err);
    sluice_buf_t buf;
    const sluice_row_t *a = &fx->ev.after;

    if (!enc)
        fail_msg("%s", fx->err.msg);
    if (sluice_avro_decoder_add_schema(fx->avro, 3, avsc, strlen(avsc), &fx->err) < 0)
        fail_msg("%s", fx->err.msg);
    sluice_buf_init(&buf);
    if (sluice_avro_encoder_json(enc, datum, strlen(datum), 3, &buf, &fx->err) < 0)
        fail_msg("%s", fx->err.msg);
    if (decode_value(fx, buf.data, buf.len) < 0)
        fail_msg("%s", fx->err.msg);
    assert_int_equal(fx->ev.op, SLUICE_OP_READ);
    assert_int_equal(fx->ev.snapshot, SLUICE_SNAPSHOT_TRUE);
    assert_int_equal(fx->ev.pos.n, 0);
    assert_text(a, "e", "GREEN");
    assert_text(a, "again", "RED");
    assert_int_equal(col(a, "fx")->kind, SLUICE_VAL_BYTES);
    assert_memory_equal(col(a, "fx")->u.s.ptr, "abc", 3);
    assert_int_equal(col(a, "fd")->kind, SLUICE_VAL_DECIMAL);
    assert_string_equal(col(a, "fd")->u.s.ptr, "25.6");
    assert_int_equal(col(a, "tm")->kind, SLUICE_VAL_TIMESTAMP);
    assert_int_equal(col(a, "tm")->u.i, 5);
    assert_int_equal(col(a, "id")->kind, SLUICE_VAL_UUID);
    sluice_buf_cleanup(&buf);
    sluice_avro_encoder_destroy(enc);
}

/* ---------------------------------------------------------------------- */
/* malformed input */

static void test_decode_avro_bad_framing(void **state)
{
    fx_t *fx = *state;

    add_schema_file(fx, 81, "flink-mysql-person-envelope.avsc");
    expect_permanent(fx, decode_value(fx, "{\"op\":\"c\"}", 10), "magic byte 0x00");
    expect_permanent(fx, decode_value(fx, "{\"op\":\"c\"}", 10), "looks like JSON");
    expect_permanent(fx, decode_value(fx, "\x01\x00\x00\x00\x51\x00", 6), "GUID");
    expect_permanent(fx, decode_value(fx, "\x00\x00\x00", 3), "too short");
    expect_permanent(fx, decode_value(fx, "", 0), "too short");
    /* framing only: an empty datum is a truncated envelope */
    expect_permanent(fx, decode_value(fx, "\x00\x00\x00\x00\x51", 5), "truncated");
    /* an id nobody gave us */
    expect_permanent(fx, decode_value(fx, "\x00\x00\x00\x03\xe7\x00", 6), "schema id 999 is unknown");
}

static void test_decode_avro_truncated_and_corrupt(void **state)
{
    fx_t *fx = *state;
    size_t len, n;
    unsigned char *buf = (unsigned char *)slurp("flink-mysql-person-update.avro", &len);

    len--; /* the trailing 0x0A */
    add_schema_file(fx, 81, "flink-mysql-person-envelope.avsc");
    assert_int_equal(decode_value(fx, buf, len), 0);
    for (n = 5; n < len; n++) {
        int rc = decode_value(fx, buf, n);
        expect_permanent(fx, rc, NULL);
        if (!strstr(fx->err.msg, "truncated") && !strstr(fx->err.msg, "invalid") &&
            !strstr(fx->err.msg, "negative"))
            fail_msg("prefix %zu: unclear error: %s", n, fx->err.msg);
    }
    /* union branch 5 of ["null", Value] */
    buf[5] = 0x0a;
    expect_permanent(fx, decode_value(fx, buf, len), "union branch 5 does not exist");
    assert_non_null(strstr(fx->err.msg, "before"));
    free(buf);
}

static void test_decode_avro_bad_schemas(void **state)
{
    fx_t *fx = *state;
    static const char not_avro[] = "{\"type\":\"record\",\"name\":\"X\"}";
    static const char no_scale[] =
        "{\"type\":\"record\",\"name\":\"E\",\"fields\":[{\"name\":\"after\",\"type\":"
        "{\"type\":\"record\",\"name\":\"V\",\"fields\":[{\"name\":\"p\",\"type\":{\"type\":"
        "\"bytes\",\"connect.name\":\"org.apache.kafka.connect.data.Decimal\"}}]}},"
        "{\"name\":\"op\",\"type\":\"string\"}]}";
    static const char txmeta[] =
        "{\"type\":\"record\",\"name\":\"TransactionMetadataValue\",\"namespace\":"
        "\"io.debezium.connector.common\",\"fields\":[{\"name\":\"status\",\"type\":\"string\"},"
        "{\"name\":\"id\",\"type\":\"string\"}]}";

    expect_permanent(fx, sluice_avro_decoder_add_schema(fx->avro, 10, not_avro, strlen(not_avro),
                                                        &fx->err),
                     "not a valid Avro schema");
    /* remembered: the id keeps failing the same way, without more work */
    expect_permanent(fx, decode_value(fx, "\x00\x00\x00\x00\x0a\x00", 6), "schema id 10 cannot");
    expect_permanent(fx, sluice_avro_decoder_add_schema(fx->avro, 11, no_scale, strlen(no_scale),
                                                        &fx->err),
                     "cannot place the decimal point");
    assert_int_equal(sluice_avro_decoder_add_schema(fx->avro, 12, txmeta, strlen(txmeta),
                                                    &fx->err), 0);
    /* transaction metadata is a control record, not an error */
    expect_permanent(fx, decode_value(fx, "\x00\x00\x00\x00\x0c\x02\x61\x02\x62", 9),
                     "neither BEGIN nor END");
    assert_int_equal(decode_value(fx, "\x00\x00\x00\x00\x0c\x0a" "BEGIN\x02\x62", 13), 0);
    assert_int_equal(fx->ev.op, SLUICE_OP_CONTROL);
    assert_int_equal(fx->ev.control, SLUICE_CONTROL_TX_BEGIN);
    assert_string_equal(fx->ev.ctl_id, "b");
}

/* Random truncations, bit flips and byte changes of every fixture: each
 * decodes or fails with a permanent error; none may crash (run under ASan). */
static void fuzz_one(fx_t *fx, const unsigned char *orig, size_t len, int key, unsigned *seed)
{
    unsigned char *buf = malloc(len + 8);
    int i;

    assert_non_null(buf);
    for (i = 0; i < 3000; i++) {
        size_t n = len, k, flips = 1 + (size_t)(rand_r(seed) % 4);
        int rc;
        memcpy(buf, orig, len);
        for (k = 0; k < flips; k++) {
            size_t at = 5 + (size_t)rand_r(seed) % (len - 5);
            switch (rand_r(seed) % 3) {
            case 0: buf[at] ^= (unsigned char)(1u << (rand_r(seed) % 8)); break;
            case 1: buf[at] = (unsigned char)rand_r(seed); break;
            default: buf[at] = (unsigned char)(rand_r(seed) % 2 ? 0xff : 0x80); break;
            }
        }
        if (rand_r(seed) % 4 == 0)
            n = 5 + (size_t)rand_r(seed) % (len - 5);
        sluice_event_reset(&fx->ev);
        sluice_err_clear(&fx->err);
        rc = key ? sluice_avro_decoder_key(fx->avro, buf, n, &fx->ev, &fx->err)
                 : sluice_avro_decoder_value(fx->avro, buf, n, &fx->ev, &fx->err);
        if (rc < 0 && fx->err.cls != SLUICE_ERR_PERMANENT)
            fail_msg("mutation %d: class %d: %s", i, fx->err.cls, fx->err.msg);
        if (rc == 0 && !key) {
            /* whatever decoded is a well-formed event */
            sluice_buf_t out;
            sluice_buf_init(&out);
            assert_int_equal(sluice_event_to_json(&fx->ev, &out), 0);
            sluice_buf_cleanup(&out);
        }
    }
    free(buf);
}

static void test_decode_avro_fuzz(void **state)
{
    static const char *files[] = {"flink-mysql-person-insert.avro", "flink-mysql-person-update.avro",
                                  "flink-mysql-person-delete.avro",
                                  "risingwave-mysql-customers-snapshot.avro"};
    fx_t *fx = *state;
    unsigned seed = 12345;
    sluice_avro_encoder_t *enc;
    sluice_buf_t buf;
    size_t i, len;

    add_schema_file(fx, 81, "flink-mysql-person-envelope.avsc");
    add_schema_file(fx, 6, "risingwave-mysql-customers-envelope.avsc");
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        unsigned char *b = (unsigned char *)slurp(files[i], &len);
        fuzz_one(fx, b, i < 3 ? len - 1 : len, 0, &seed);
        free(b);
    }
    enc = sluice_avro_encoder_new(all_avsc, strlen(all_avsc), &fx->err);
    assert_non_null(enc);
    assert_int_equal(sluice_avro_decoder_add_schema(fx->avro, 42, all_avsc, strlen(all_avsc),
                                                    &fx->err), 0);
    sluice_buf_init(&buf);
    for (i = 0; i < sizeof(all_avro_json) / sizeof(all_avro_json[0]); i++) {
        sluice_buf_reset(&buf);
        assert_int_equal(sluice_avro_encoder_json(enc, all_avro_json[i], strlen(all_avro_json[i]),
                                                  42, &buf, &fx->err), 0);
        fuzz_one(fx, (const unsigned char *)buf.data, buf.len, 0, &seed);
        fuzz_one(fx, (const unsigned char *)buf.data, buf.len, 1, &seed);
    }
    sluice_buf_cleanup(&buf);
    sluice_avro_encoder_destroy(enc);
}

/* ---------------------------------------------------------------------- */
/* the format dispatcher */

static sluice_config_t *config(const char *key_fmt, const char *value_fmt)
{
    sluice_config_t *cfg = calloc(1, sizeof(*cfg));

    assert_non_null(cfg);
    cfg->format_key = strdup(key_fmt);
    cfg->format_value = strdup(value_fmt);
    cfg->registry_timeout_ms = 1000;
    return cfg;
}

static void config_free(sluice_config_t *cfg)
{
    free(cfg->format_key);
    free(cfg->format_value);
    free(cfg->registry_url);
    free(cfg);
}

static void test_decode_dispatch(void **state)
{
    fx_t *fx = *state;
    sluice_config_t *cfg = config("auto", "auto");
    sluice_decoder_t *dec = sluice_decoder_new(cfg, &fx->err);
    static const char value[] =
        "{\"before\":null,\"after\":{\"id\":1},\"source\":{\"connector\":\"postgresql\"},"
        "\"op\":\"c\"}";
    size_t len;
    char *avro = slurp("flink-mysql-person-insert.avro", &len);

    assert_non_null(dec);
    sluice_event_reset(&fx->ev);
    /* JSON value and key in auto mode */
    assert_int_equal(sluice_decoder_key(dec, "{\"id\":1}", 8, &fx->ev, &fx->err), 0);
    assert_int_equal(fx->ev.key.present, 1);
    assert_int_equal(sluice_decoder_value(dec, value, strlen(value), &fx->ev, &fx->err), 0);
    assert_int_equal(fx->ev.op, SLUICE_OP_CREATE);
    /* a plain string key is no structured key, not an error */
    sluice_event_reset(&fx->ev);
    assert_int_equal(sluice_decoder_key(dec, "customer-17", 11, &fx->ev, &fx->err), 0);
    assert_int_equal(fx->ev.key.present, 0);
    assert_int_equal(sluice_decoder_key(dec, "42", 2, &fx->ev, &fx->err), 0);
    assert_int_equal(fx->ev.key.present, 0);
    /* ... but a broken JSON object is */
    sluice_err_clear(&fx->err);
    expect_permanent(fx, sluice_decoder_key(dec, "{\"id\":", 6, &fx->ev, &fx->err), "not valid JSON");
    /* Avro bytes without a registry: configuration, fatal */
    sluice_err_clear(&fx->err);
    assert_int_equal(sluice_decoder_value(dec, avro, len - 1, &fx->ev, &fx->err), -1);
    assert_int_equal(fx->err.cls, SLUICE_ERR_FATAL);
    assert_non_null(strstr(fx->err.msg, "registry.url"));
    sluice_decoder_destroy(dec);
    config_free(cfg);

    /* format.key json: a plain string key is a permanent error */
    cfg = config("json", "json");
    dec = sluice_decoder_new(cfg, &fx->err);
    assert_non_null(dec);
    sluice_err_clear(&fx->err);
    expect_permanent(fx, sluice_decoder_key(dec, "customer-17", 11, &fx->ev, &fx->err), NULL);
    /* format.value json: Avro bytes are not JSON */
    sluice_err_clear(&fx->err);
    expect_permanent(fx, sluice_decoder_value(dec, avro, len - 1, &fx->ev, &fx->err), "JSON");
    sluice_decoder_destroy(dec);
    config_free(cfg);

    /* avro without a registry URL, or an unknown format: refused up front */
    cfg = config("auto", "avro");
    sluice_err_clear(&fx->err);
    assert_null(sluice_decoder_new(cfg, &fx->err));
    assert_int_equal(fx->err.cls, SLUICE_ERR_FATAL);
    config_free(cfg);
    cfg = config("protobuf", "auto");
    sluice_err_clear(&fx->err);
    assert_null(sluice_decoder_new(cfg, &fx->err));
    assert_non_null(strstr(fx->err.msg, "format.key"));
    config_free(cfg);
    free(avro);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_decode_avro_flink_person, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_avro_risingwave_customers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_avro_orders_from_avro_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_avro_semantic_types_match_json, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_decode_avro_semantic_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_avro_avro_only_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_avro_bad_framing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_avro_truncated_and_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_avro_bad_schemas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_avro_fuzz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_dispatch, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
