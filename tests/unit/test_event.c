/* Unit tests for event.c: lifecycle, row lookup, position order, names and
 * the JSON rendering used by `sluice decode`. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sluice/event.h"

static sluice_pos_t pos(int n, int64_t a, int64_t b, int64_t c)
{
    sluice_pos_t p;

    memset(&p, 0, sizeof(p));
    p.n = n;
    p.part[0] = a;
    p.part[1] = b;
    p.part[2] = c;
    return p;
}

static void test_event_pos_cmp(void **state)
{
    sluice_pos_t none = pos(0, 0, 0, 0);
    sluice_pos_t a = pos(2, 100, 200, 0);
    sluice_pos_t b = pos(2, 100, 201, 0);
    sluice_pos_t c = pos(2, 101, 0, 0);
    sluice_pos_t a1 = pos(1, 100, 0, 0);
    sluice_pos_t m1 = pos(3, 3, 1442, 0);
    sluice_pos_t m2 = pos(3, 3, 1442, 1);
    sluice_pos_t big = pos(1, INT64_MAX, 0, 0);
    sluice_pos_t neg = pos(1, INT64_MIN, 0, 0);

    (void)state;
    assert_int_equal(sluice_pos_cmp(&none, &none), 0);
    assert_int_equal(sluice_pos_cmp(&a, &a), 0);
    assert_true(sluice_pos_cmp(&a, &b) < 0);
    assert_true(sluice_pos_cmp(&b, &a) > 0);
    /* commit LSN dominates the change LSN */
    assert_true(sluice_pos_cmp(&b, &c) < 0);
    assert_true(sluice_pos_cmp(&c, &b) > 0);
    /* a missing part compares smaller */
    assert_true(sluice_pos_cmp(&a1, &a) < 0);
    assert_true(sluice_pos_cmp(&a, &a1) > 0);
    assert_true(sluice_pos_cmp(&none, &a) < 0);
    assert_true(sluice_pos_cmp(&a, &none) > 0);
    /* MySQL row within one binlog event */
    assert_true(sluice_pos_cmp(&m1, &m2) < 0);
    /* a PostgreSQL snapshot read ([null -> 0, LSN]) stands at its LSN: newer
     * than a change at a smaller LSN whatever its commit LSN, older than a
     * change at a greater one, equal to one at the same LSN */
    {
        sluice_pos_t snap = pos(2, 0, 1000, 0);
        sluice_pos_t before = pos(2, 900, 950, 0);
        sluice_pos_t after = pos(2, 990, 1010, 0);
        sluice_pos_t same = pos(2, 990, 1000, 0);
        assert_true(sluice_pos_cmp(&snap, &before) > 0);
        assert_true(sluice_pos_cmp(&before, &snap) < 0);
        assert_true(sluice_pos_cmp(&snap, &after) < 0);
        assert_true(sluice_pos_cmp(&after, &snap) > 0);
        assert_int_equal(sluice_pos_cmp(&snap, &same), 0);
        assert_int_equal(sluice_pos_cmp(&same, &snap), 0);
    }
    /* no overflow on extreme values */
    assert_true(sluice_pos_cmp(&neg, &big) < 0);
    assert_true(sluice_pos_cmp(&big, &neg) > 0);
}

static void test_event_row_get(void **state)
{
    sluice_column_t cols[2];
    sluice_row_t row;

    (void)state;
    memset(cols, 0, sizeof(cols));
    cols[0].name = "id";
    cols[0].value.kind = SLUICE_VAL_INT;
    cols[0].value.u.i = 7;
    cols[1].name = "name";
    cols[1].value.kind = SLUICE_VAL_TEXT;
    cols[1].value.u.s.ptr = "x";
    cols[1].value.u.s.len = 1;
    row.present = 1;
    row.cols = cols;
    row.ncols = 2;

    assert_ptr_equal(sluice_row_get(&row, "id"), &cols[0].value);
    assert_ptr_equal(sluice_row_get(&row, "name"), &cols[1].value);
    assert_null(sluice_row_get(&row, "missing"));
    assert_null(sluice_row_get(&row, "ID"));
    row.present = 0;
    assert_null(sluice_row_get(&row, "id"));
}

static void test_event_names(void **state)
{
    (void)state;
    assert_string_equal(sluice_op_name(SLUICE_OP_CREATE), "c");
    assert_string_equal(sluice_op_name(SLUICE_OP_TRUNCATE), "t");
    assert_string_equal(sluice_op_name(SLUICE_OP_TOMBSTONE), "tombstone");
    assert_string_equal(sluice_snapshot_name(SLUICE_SNAPSHOT_LAST_IN_DATA_COLLECTION),
                        "last_in_data_collection");
    assert_string_equal(sluice_snapshot_name(SLUICE_SNAPSHOT_INCREMENTAL), "incremental");
    assert_string_equal(sluice_value_kind_name(SLUICE_VAL_TIMESTAMPTZ), "timestamptz");
    assert_string_equal(sluice_value_kind_name(SLUICE_VAL_UNAVAILABLE), "unavailable");
    assert_string_equal(sluice_value_kind_name((sluice_value_kind_t)99), "unknown");
}

static void test_event_init_reset_cleanup(void **state)
{
    sluice_event_t ev;
    char *s;

    (void)state;
    sluice_event_init(&ev);
    assert_int_equal(ev.op, SLUICE_OP_NONE);
    assert_int_equal(ev.tx_id, -1);
    assert_int_equal(ev.pos.n, 0);
    assert_int_equal(ev.after.present, 0);

    s = sluice_arena_strndup(&ev.arena, "hello", 5);
    assert_non_null(s);
    ev.op = SLUICE_OP_UPDATE;
    ev.table = s;
    ev.tx_id = 5;
    ev.after.present = 1;
    sluice_event_reset(&ev);
    assert_int_equal(ev.op, SLUICE_OP_NONE);
    assert_null(ev.table);
    assert_int_equal(ev.tx_id, -1);
    assert_int_equal(ev.after.present, 0);
    /* the arena is still usable after a reset */
    assert_non_null(sluice_arena_strndup(&ev.arena, "again", 5));
    sluice_event_cleanup(&ev);
    sluice_event_cleanup(NULL);
}

/* Builds an event by hand and checks the rendered JSON document. */
static void test_event_to_json(void **state)
{
    sluice_event_t ev;
    sluice_column_t after[6], key[1];
    sluice_value_t items[2];
    sluice_buf_t out;
    json_error_t jerr;
    json_t *doc, *j;

    (void)state;
    sluice_event_init(&ev);
    ev.op = SLUICE_OP_UPDATE;
    ev.topic = "srv.public.t";
    ev.partition = 2;
    ev.offset = 42;
    ev.connector = "postgresql";
    ev.server = "srv";
    ev.db = "db";
    ev.schema = "public";
    ev.table = "t";
    ev.snapshot = SLUICE_SNAPSHOT_FALSE;
    ev.source_ts_ms = 1000;
    ev.ts_ms = 2000;
    ev.pos.n = 2;
    ev.pos.part[0] = 11811654816;
    ev.pos.part[1] = 11811869624;
    ev.tx_id = 18134;

    memset(key, 0, sizeof(key));
    key[0].name = "id";
    key[0].value.kind = SLUICE_VAL_INT;
    key[0].value.u.i = 1;
    ev.key.present = 1;
    ev.key.cols = key;
    ev.key.ncols = 1;

    memset(after, 0, sizeof(after));
    memset(items, 0, sizeof(items));
    after[0].name = "d";
    after[0].value.kind = SLUICE_VAL_DATE;
    after[0].value.u.i = 19900;
    after[1].name = "n";
    after[1].value.kind = SLUICE_VAL_DECIMAL;
    after[1].value.u.s.ptr = "6.000000000";
    after[1].value.u.s.len = 11;
    after[2].name = "b";
    after[2].value.kind = SLUICE_VAL_BYTES;
    after[2].value.u.s.ptr = "\x01\xff";
    after[2].value.u.s.len = 2;
    after[3].name = "big";
    after[3].value.kind = SLUICE_VAL_UNAVAILABLE;
    after[4].name = "f";
    after[4].value.kind = SLUICE_VAL_FLOAT;
    after[4].value.u.f = 0.5;
    items[0].kind = SLUICE_VAL_INT;
    items[0].u.i = 3;
    items[1].kind = SLUICE_VAL_NULL;
    after[5].name = "arr";
    after[5].value.kind = SLUICE_VAL_ARRAY;
    after[5].value.u.arr.items = items;
    after[5].value.u.arr.n = 2;
    ev.after.present = 1;
    ev.after.cols = after;
    ev.after.ncols = 6;

    sluice_buf_init(&out);
    assert_int_equal(sluice_event_to_json(&ev, &out), 0);
    doc = json_loadb(out.data, out.len, 0, &jerr);
    assert_non_null(doc);

    assert_string_equal(json_string_value(json_object_get(doc, "op")), "u");
    assert_string_equal(json_string_value(json_object_get(doc, "topic")), "srv.public.t");
    assert_int_equal(json_integer_value(json_object_get(doc, "offset")), 42);
    j = json_object_get(doc, "source");
    assert_string_equal(json_string_value(json_object_get(j, "table")), "t");
    assert_string_equal(json_string_value(json_object_get(j, "snapshot")), "false");
    assert_int_equal(json_integer_value(json_object_get(j, "tx_id")), 18134);
    assert_int_equal(json_array_size(json_object_get(j, "position")), 2);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "position"), 1)),
                     11811869624);
    assert_true(json_is_null(json_object_get(doc, "before")));
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(json_object_get(doc, "key"), "id"), "value")),
        1);

    j = json_object_get(doc, "after");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "d"), "kind")), "date");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "d"), "value")), 19900);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "d"), "text")),
                        "2024-06-26");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "n"), "value")),
                        "6.000000000");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "b"), "value")), "01ff");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "b"), "encoding")), "hex");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "big"), "kind")),
                        "unavailable");
    assert_true(json_is_real(json_object_get(json_object_get(j, "f"), "value")));
    assert_int_equal(json_array_size(json_object_get(json_object_get(j, "arr"), "value")), 2);
    json_decref(doc);

    /* without a topic the coordinates are left out; tx_id -1 is null */
    ev.topic = NULL;
    ev.tx_id = -1;
    sluice_buf_reset(&out);
    assert_int_equal(sluice_event_to_json(&ev, &out), 0);
    doc = json_loadb(out.data, out.len, 0, &jerr);
    assert_non_null(doc);
    assert_null(json_object_get(doc, "topic"));
    assert_true(json_is_null(json_object_get(json_object_get(doc, "source"), "tx_id")));
    json_decref(doc);

    sluice_buf_cleanup(&out);
    sluice_event_cleanup(&ev);
}

static void test_event_to_json_message(void **state)
{
    sluice_event_t ev;
    sluice_buf_t out;
    json_t *doc, *msg;

    (void)state;
    sluice_event_init(&ev);
    ev.op = SLUICE_OP_MESSAGE;
    ev.msg_prefix = "audit";
    ev.msg_content.kind = SLUICE_VAL_BYTES;
    ev.msg_content.u.s.ptr = "hi";
    ev.msg_content.u.s.len = 2;
    sluice_buf_init(&out);
    assert_int_equal(sluice_event_to_json(&ev, &out), 0);
    doc = json_loads(out.data, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "op")), "m");
    msg = json_object_get(doc, "message");
    assert_string_equal(json_string_value(json_object_get(msg, "prefix")), "audit");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(msg, "content"), "value")), "6869");
    json_decref(doc);
    sluice_buf_cleanup(&out);
    sluice_event_cleanup(&ev);
}

static void test_event_control_meta_and_key_marks(void **state)
{
    sluice_event_t ev;
    sluice_buf_t out;
    sluice_column_t key[1], after[2], meta[1];
    sluice_coltype_t ct = {"int4", SLUICE_VAL_INT, SLUICE_VAL_NULL, NULL, "int32", 0, -1, -1};

    (void)state;
    sluice_event_init(&ev);
    memset(key, 0, sizeof(key));
    memset(after, 0, sizeof(after));
    memset(meta, 0, sizeof(meta));
    key[0].name = "id";
    key[0].value.kind = SLUICE_VAL_INT;
    after[0] = key[0];
    after[0].type = &ct;
    after[1].name = "v";
    after[1].value.kind = SLUICE_VAL_NULL;
    meta[0].name = "__op";
    meta[0].value.kind = SLUICE_VAL_NULL;
    ev.key = (sluice_row_t){1, key, 1};
    ev.after = (sluice_row_t){1, after, 2};
    ev.meta = (sluice_row_t){1, meta, 1};
    ev.flattened = 1;
    ev.op = SLUICE_OP_CONTROL;
    ev.control = SLUICE_CONTROL_TX_END;
    ev.ctl_id = "571:1";
    ev.ctl_count = 2;
    sluice_event_mark_key_columns(&ev);
    assert_true(ev.key.cols[0].key);
    assert_true(ev.after.cols[0].key);
    assert_false(ev.after.cols[1].key);
    sluice_buf_init(&out);
    assert_int_equal(sluice_event_to_json(&ev, &out), 0);
    assert_non_null(strstr(out.data, "\"op\": \"control\""));
    assert_non_null(strstr(out.data, "\"type\": \"tx_end\""));
    assert_non_null(strstr(out.data, "\"event_count\": 2"));
    assert_non_null(strstr(out.data, "\"pg_type\": \"int4\""));
    assert_non_null(strstr(out.data, "\"not_null\": true"));
    assert_non_null(strstr(out.data, "\"__op\""));
    assert_string_equal(sluice_control_name(SLUICE_CONTROL_SCHEMA_CHANGE), "schema_change");
    assert_string_equal(sluice_value_kind_name(SLUICE_VAL_GEOMETRY), "geometry");
    sluice_buf_cleanup(&out);
    memset(&ev.key, 0, sizeof(ev.key));
    memset(&ev.after, 0, sizeof(ev.after));
    memset(&ev.meta, 0, sizeof(ev.meta));
    sluice_event_cleanup(&ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_pos_cmp),
        cmocka_unit_test(test_event_row_get),
        cmocka_unit_test(test_event_names),
        cmocka_unit_test(test_event_init_reset_cleanup),
        cmocka_unit_test(test_event_to_json),
        cmocka_unit_test(test_event_to_json_message),
        cmocka_unit_test(test_event_control_meta_and_key_marks),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
