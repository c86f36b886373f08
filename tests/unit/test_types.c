/* Unit tests for types.c: PostgreSQL text input forms of decoded values. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sluice/types.h"

static sluice_value_t vint(sluice_value_kind_t kind, int64_t i)
{
    sluice_value_t v;

    memset(&v, 0, sizeof(v));
    v.kind = kind;
    v.u.i = i;
    return v;
}

static sluice_value_t vstr(sluice_value_kind_t kind, const char *s, size_t len)
{
    sluice_value_t v;

    memset(&v, 0, sizeof(v));
    v.kind = kind;
    v.u.s.ptr = s;
    v.u.s.len = len;
    return v;
}

static sluice_value_t vtext(const char *s)
{
    return vstr(SLUICE_VAL_TEXT, s, strlen(s));
}

static sluice_value_t vfloat(double f)
{
    sluice_value_t v;

    memset(&v, 0, sizeof(v));
    v.kind = SLUICE_VAL_FLOAT;
    v.u.f = f;
    return v;
}

static sluice_value_t varr(sluice_value_t *items, size_t n)
{
    sluice_value_t v;

    memset(&v, 0, sizeof(v));
    v.kind = SLUICE_VAL_ARRAY;
    v.u.arr.items = items;
    v.u.arr.n = n;
    return v;
}

/* Formats v and compares with want. */
static void check(sluice_value_t v, const char *want)
{
    sluice_buf_t out;
    sluice_err_t err;

    sluice_buf_init(&out);
    sluice_err_clear(&err);
    assert_int_equal(sluice_types_pg_text(&v, &out, &err), 0);
    assert_non_null(out.data);
    assert_string_equal(out.data, want);
    assert_int_equal(out.len, strlen(want));
    sluice_buf_cleanup(&out);
}

static void check_fails(sluice_value_t v, const char *needle)
{
    sluice_buf_t out;
    sluice_err_t err;

    sluice_buf_init(&out);
    sluice_buf_puts(&out, "keep");
    sluice_err_clear(&err);
    assert_int_equal(sluice_types_pg_text(&v, &out, &err), -1);
    assert_int_equal(err.cls, SLUICE_ERR_PERMANENT);
    assert_non_null(strstr(err.msg, needle));
    /* the buffer is left as it was */
    assert_string_equal(out.data, "keep");
    sluice_buf_cleanup(&out);
}

static void test_types_bool_int(void **state)
{
    sluice_value_t b = vint(SLUICE_VAL_BOOL, 0);

    (void)state;
    b.u.b = 1;
    check(b, "t");
    b.u.b = 0;
    check(b, "f");
    check(vint(SLUICE_VAL_INT, 0), "0");
    check(vint(SLUICE_VAL_INT, -42), "-42");
    check(vint(SLUICE_VAL_INT, INT64_MAX), "9223372036854775807");
    check(vint(SLUICE_VAL_INT, INT64_MIN), "-9223372036854775808");
}

static void test_types_float_round_trips(void **state)
{
    (void)state;
    check(vfloat(0.1), "0.1");
    check(vfloat(3.14), "3.14");
    check(vfloat(1.0 / 3.0), "0.3333333333333333");
    check(vfloat(3.140000104904175), "3.140000104904175");
    check(vfloat(0.30000000000000004), "0.30000000000000004");
    check(vfloat(-2.5), "-2.5");
    check(vfloat(1e300), "1e+300");
    check(vfloat(5e-324), "4.94065645841247e-324"); /* denormal: 15 digits round-trip */
    check(vfloat(2.2250738585072014e-308), "2.2250738585072014e-308");
    check(vfloat(NAN), "NaN");
    check(vfloat(INFINITY), "Infinity");
    check(vfloat(-INFINITY), "-Infinity");
}

static void test_types_strings_as_is(void **state)
{
    (void)state;
    check(vtext("plain"), "plain");
    check(vtext("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"), "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80");
    check(vtext("quote\" back\\slash {brace}"), "quote\" back\\slash {brace}");
    check(vtext(""), "");
    check(vstr(SLUICE_VAL_DECIMAL, "-12.50", 6), "-12.50");
    check(vstr(SLUICE_VAL_JSON, "{\"a\":1}", 7), "{\"a\":1}");
    check(vstr(SLUICE_VAL_UUID, "86f701e6-f8f8-4dc4-8cbd-ed84280b5b84", 36),
          "86f701e6-f8f8-4dc4-8cbd-ed84280b5b84");
    check(vstr(SLUICE_VAL_TIMESTAMPTZ, "2024-06-26T02:12:51.219026Z", 27),
          "2024-06-26T02:12:51.219026Z");
    check(vstr(SLUICE_VAL_TIMETZ, "02:12:51.219026Z", 16), "02:12:51.219026Z");
}

static void test_types_bytes_hex(void **state)
{
    (void)state;
    check(vstr(SLUICE_VAL_BYTES, "\x00\x01\xab\xff" "Jo", 6), "\\x0001abff4a6f");
    check(vstr(SLUICE_VAL_BYTES, "", 0), "\\x");
}

static void test_types_dates(void **state)
{
    (void)state;
    check(vint(SLUICE_VAL_DATE, 0), "1970-01-01");
    check(vint(SLUICE_VAL_DATE, 19900), "2024-06-26");
    check(vint(SLUICE_VAL_DATE, -1), "1969-12-31");
    check(vint(SLUICE_VAL_DATE, -25508), "1900-03-01");
    check(vint(SLUICE_VAL_DATE, 11016), "2000-02-29");
    check(vint(SLUICE_VAL_DATE, 24855), "2038-01-19");
    check(vint(SLUICE_VAL_DATE, 47541), "2100-03-01");
    check(vint(SLUICE_VAL_DATE, 2932896), "9999-12-31");
    check(vint(SLUICE_VAL_DATE, 2932897), "10000-01-01");
    check(vint(SLUICE_VAL_DATE, -719162), "0001-01-01");
    /* year 0 is 1 BC, a leap year */
    check(vint(SLUICE_VAL_DATE, -719163), "0001-12-31 BC");
    check(vint(SLUICE_VAL_DATE, -719528), "0001-01-01 BC");
    /* Julian day 0: astronomical year -4713 */
    check(vint(SLUICE_VAL_DATE, -2440588), "4714-11-24 BC");
    check_fails(vint(SLUICE_VAL_DATE, INT64_MAX), "out of range");
}

static void test_types_times(void **state)
{
    (void)state;
    check(vint(SLUICE_VAL_TIME, 0), "00:00:00.000000");
    check(vint(SLUICE_VAL_TIME, INT64_C(40371219026)), "11:12:51.219026");
    check(vint(SLUICE_VAL_TIME, INT64_C(86399999999)), "23:59:59.999999");
    check(vint(SLUICE_VAL_TIME, INT64_C(86400000000)), "24:00:00.000000");
    check_fails(vint(SLUICE_VAL_TIME, -1), "00:00:00..24:00:00");
    check_fails(vint(SLUICE_VAL_TIME, INT64_C(86400000001)), "00:00:00..24:00:00");
}

static void test_types_timestamps(void **state)
{
    (void)state;
    check(vint(SLUICE_VAL_TIMESTAMP, 0), "1970-01-01 00:00:00.000000");
    check(vint(SLUICE_VAL_TIMESTAMP, INT64_C(1719400371219026)), "2024-06-26 11:12:51.219026");
    check(vint(SLUICE_VAL_TIMESTAMP, -1), "1969-12-31 23:59:59.999999");
    check(vint(SLUICE_VAL_TIMESTAMP, INT64_C(-86400000000)), "1969-12-31 00:00:00.000000");
    check(vint(SLUICE_VAL_TIMESTAMP, INT64_C(-86400000001)), "1969-12-30 23:59:59.999999");
    check(vint(SLUICE_VAL_TIMESTAMP, INT64_C(2147483648000000)), "2038-01-19 03:14:08.000000");
    check(vint(SLUICE_VAL_TIMESTAMP, INT64_C(-719162) * INT64_C(86400000000)),
          "0001-01-01 00:00:00.000000");
    check(vint(SLUICE_VAL_TIMESTAMP, INT64_C(-719162) * INT64_C(86400000000) - 1),
          "0001-12-31 23:59:59.999999 BC");
    check(vint(SLUICE_VAL_TIMESTAMP, INT64_C(9223372036825200000)), "infinity");
    check(vint(SLUICE_VAL_TIMESTAMP, INT64_C(-9223372036832400000)), "-infinity");
    /* extreme values still format without overflow */
    check(vint(SLUICE_VAL_TIMESTAMP, INT64_MAX), "294247-01-10 04:00:54.775807");
    check(vint(SLUICE_VAL_TIMESTAMP, INT64_MIN), "290309-12-21 19:59:05.224192 BC");
}

static void test_types_array_quoting(void **state)
{
    sluice_value_t ints[3], strs[5], inner1[2], inner2[2], nested[2], one[1];
    sluice_value_t b[2], dates[2], floats[2];

    (void)state;
    ints[0] = vint(SLUICE_VAL_INT, 1);
    ints[1] = vint(SLUICE_VAL_INT, -2);
    ints[2] = vint(SLUICE_VAL_NULL, 0);
    check(varr(ints, 3), "{\"1\",\"-2\",NULL}");

    strs[0] = vtext("plain");
    strs[1] = vtext("with \"quotes\"");
    strs[2] = vtext("back\\slash");
    strs[3] = vtext("NULL");
    strs[4] = vtext("a,b {c}");
    check(varr(strs, 5),
          "{\"plain\",\"with \\\"quotes\\\"\",\"back\\\\slash\",\"NULL\",\"a,b {c}\"}");

    check(varr(NULL, 0), "{}");
    one[0] = vtext("");
    check(varr(one, 1), "{\"\"}");

    inner1[0] = vint(SLUICE_VAL_INT, 1);
    inner1[1] = vint(SLUICE_VAL_INT, 2);
    inner2[0] = vint(SLUICE_VAL_INT, 3);
    inner2[1] = vint(SLUICE_VAL_NULL, 0);
    nested[0] = varr(inner1, 2);
    nested[1] = varr(inner2, 2);
    check(varr(nested, 2), "{{\"1\",\"2\"},{\"3\",NULL}}");

    b[0] = vstr(SLUICE_VAL_BYTES, "Jo", 2);
    b[1] = vstr(SLUICE_VAL_BYTES, "", 0);
    check(varr(b, 2), "{\"\\\\x4a6f\",\"\\\\x\"}");

    dates[0] = vint(SLUICE_VAL_DATE, 20118);
    dates[1] = vint(SLUICE_VAL_DATE, -719163);
    check(varr(dates, 2), "{\"2025-01-30\",\"0001-12-31 BC\"}");

    floats[0] = vfloat(0.5);
    floats[1] = vfloat(NAN);
    check(varr(floats, 2), "{\"0.5\",\"NaN\"}");
}

static void test_types_array_unavailable_element_fails(void **state)
{
    sluice_value_t items[2];

    (void)state;
    items[0] = vtext("x");
    items[1] = vint(SLUICE_VAL_UNAVAILABLE, 0);
    check_fails(varr(items, 2), "placeholder");
}

static void test_types_null_and_unavailable_fail(void **state)
{
    (void)state;
    check_fails(vint(SLUICE_VAL_NULL, 0), "bind NULL");
    check_fails(vint(SLUICE_VAL_UNAVAILABLE, 0), "unavailable");
}

static void test_types_appends(void **state)
{
    sluice_value_t v = vint(SLUICE_VAL_INT, 7);
    sluice_buf_t out;
    sluice_err_t err;

    (void)state;
    sluice_buf_init(&out);
    sluice_buf_puts(&out, "x=");
    assert_int_equal(sluice_types_pg_text(&v, &out, &err), 0);
    assert_string_equal(out.data, "x=7");
    sluice_buf_cleanup(&out);
}

static void check_for(sluice_value_t v, const char *target, sluice_binary_mode_t bin,
                      const char *want)
{
    sluice_buf_t out;
    sluice_err_t err;

    sluice_buf_init(&out);
    sluice_err_clear(&err);
    if (sluice_types_pg_text_for(&v, target, bin, &out, &err) < 0)
        fail_msg("%s: %s", target ? target : "(none)", err.msg);
    assert_string_equal(out.data, want);
    sluice_buf_cleanup(&out);
}

static void test_types_new_kinds(void **state)
{
    (void)state;
    check(vstr(SLUICE_VAL_INTERVAL, "P1Y2M3DT4H5M6.78S", 17), "P1Y2M3DT4H5M6.78S");
    check(vstr(SLUICE_VAL_BITS, "0101", 4), "0101");
    check(vstr(SLUICE_VAL_GEOMETRY, "\x01\x02", 2), "\\x0102");
}

static void test_types_pg_text_for_targets(void **state)
{
    sluice_value_t arr[2];
    sluice_buf_t out;
    sluice_err_t err;
    sluice_value_t bad = vtext("not base64!");

    (void)state;
    /* PostGIS reads bare hex EWKB; bytea keeps the \x form */
    check_for(vstr(SLUICE_VAL_GEOMETRY, "\x01\x02", 2), "geometry(Point,4326)",
              SLUICE_BINARY_BYTES, "0102");
    check_for(vstr(SLUICE_VAL_GEOMETRY, "\x01\x02", 2), "bytea", SLUICE_BINARY_BYTES, "\\x0102");
    /* hstore from a JSON object (map or json mode) */
    check_for(vstr(SLUICE_VAL_JSON, "{\"a\":\"1\",\"b \\\"q\\\"\":null}", 24), "hstore",
              SLUICE_BINARY_BYTES, "\"a\"=>\"1\", \"b \\\"q\\\"\"=>NULL");
    check_for(vstr(SLUICE_VAL_JSON, "{\"a\":\"1\"}", 9), "jsonb", SLUICE_BINARY_BYTES,
              "{\"a\":\"1\"}");
    /* text bound for bytea: decoded per binary.handling.mode */
    check_for(vtext("AAH7//4="), "bytea", SLUICE_BINARY_BYTES, "\\x0001fbfffe");
    check_for(vtext("AAH7__4"), "bytea", SLUICE_BINARY_BASE64_URL_SAFE, "\\x0001fbfffe");
    check_for(vtext("0001FBfffe"), "bytea", SLUICE_BINARY_HEX, "\\x0001fbfffe");
    check_for(vtext("AAH7//4="), "text", SLUICE_BINARY_BYTES, "AAH7//4=");
    sluice_buf_init(&out);
    sluice_err_clear(&err);
    assert_int_equal(sluice_types_pg_text_for(&bad, "bytea", SLUICE_BINARY_BASE64, &out, &err),
                     -1);
    assert_int_equal(err.cls, SLUICE_ERR_PERMANENT);
    assert_int_equal(out.len, 0);
    sluice_buf_cleanup(&out);
    /* decimal.handling.mode=string special values for numeric and money */
    check_for(vtext("POSITIVE_INFINITY"), "numeric(10,2)", SLUICE_BINARY_BYTES, "Infinity");
    check_for(vtext("NEGATIVE_INFINITY"), "numeric", SLUICE_BINARY_BYTES, "-Infinity");
    check_for(vtext("NAN"), "money", SLUICE_BINARY_BYTES, "NaN");
    check_for(vtext("NAN"), "text", SLUICE_BINARY_BYTES, "NAN");
    /* a point struct that arrived as JSON */
    check_for(vstr(SLUICE_VAL_JSON, "{\"x\":1.5,\"y\":-2}", 16), "point", SLUICE_BINARY_BYTES,
              "(1.5,-2)");
    /* arrays apply the element rule */
    arr[0] = vtext("AAE=");
    arr[1] = vint(SLUICE_VAL_NULL, 0);
    check_for(varr(arr, 2), "bytea[]", SLUICE_BINARY_BYTES, "{\"\\\\x0001\",NULL}");
}

static void resolve(sluice_type_in_t *in, sluice_type_rule_t rule, sluice_value_kind_t kind,
                    const char *pg)
{
    sluice_type_plan_t plan;
    char buf[64];

    sluice_types_resolve(in, NULL, NULL, NULL, &plan, buf, sizeof(buf));
    assert_int_equal(plan.rule, rule);
    assert_int_equal(plan.kind, kind);
    assert_string_equal(buf, pg);
}

static void test_types_table(void **state)
{
    static const struct {
        sluice_connect_type_t t;
        const char *name;
        sluice_type_rule_t rule;
        sluice_value_kind_t kind;
        const char *pg;
    } rows[] = {
        {SLUICE_CT_INT8, NULL, SLUICE_RULE_INT, SLUICE_VAL_INT, "int2"},
        {SLUICE_CT_INT64, NULL, SLUICE_RULE_INT, SLUICE_VAL_INT, "int8"},
        {SLUICE_CT_FLOAT32, NULL, SLUICE_RULE_FLOAT, SLUICE_VAL_FLOAT, "float4"},
        {SLUICE_CT_STRING, NULL, SLUICE_RULE_TEXT, SLUICE_VAL_TEXT, "text"},
        {SLUICE_CT_BYTES, NULL, SLUICE_RULE_BYTES, SLUICE_VAL_BYTES, "bytea"},
        {SLUICE_CT_STRUCT, "io.debezium.data.VariableScaleDecimal", SLUICE_RULE_VSD,
         SLUICE_VAL_DECIMAL, "numeric"},
        {SLUICE_CT_INT32, "io.debezium.time.Date", SLUICE_RULE_DATE, SLUICE_VAL_DATE, "date"},
        {SLUICE_CT_INT64, "io.debezium.time.NanoTime", SLUICE_RULE_TIME_NS, SLUICE_VAL_TIME,
         "time"},
        {SLUICE_CT_INT64, "org.apache.kafka.connect.data.Timestamp", SLUICE_RULE_TS_MS,
         SLUICE_VAL_TIMESTAMP, "timestamp"},
        {SLUICE_CT_STRING, "io.debezium.time.ZonedTimestamp", SLUICE_RULE_TIMESTAMPTZ,
         SLUICE_VAL_TIMESTAMPTZ, "timestamptz"},
        {SLUICE_CT_INT64, "io.debezium.time.MicroDuration", SLUICE_RULE_INTERVAL_US,
         SLUICE_VAL_INTERVAL, "interval"},
        {SLUICE_CT_STRING, "io.debezium.data.Xml", SLUICE_RULE_TEXT, SLUICE_VAL_TEXT, "xml"},
        {SLUICE_CT_STRING, "io.debezium.data.Ltree", SLUICE_RULE_TEXT, SLUICE_VAL_TEXT, "ltree"},
        {SLUICE_CT_STRUCT, "io.debezium.data.geometry.Geography", SLUICE_RULE_GEOMETRY,
         SLUICE_VAL_GEOMETRY, "bytea"},
        {SLUICE_CT_STRUCT, "io.debezium.data.geometry.Point", SLUICE_RULE_POINT, SLUICE_VAL_TEXT,
         "point"},
        {SLUICE_CT_MAP, NULL, SLUICE_RULE_MAP, SLUICE_VAL_JSON, "jsonb"},
        /* a semantic name on the wrong physical type: the physical default */
        {SLUICE_CT_STRING, "io.debezium.time.Date", SLUICE_RULE_TEXT, SLUICE_VAL_TEXT, "text"},
    };
    sluice_type_in_t in;
    sluice_type_opts_t opts = {SLUICE_BINARY_BASE64, SLUICE_DECIMAL_STRING};
    sluice_type_plan_t plan, elem;
    char pg[64], epg[64];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        sluice_type_in_init(&in);
        in.type = rows[i].t;
        in.name = rows[i].name;
        resolve(&in, rows[i].rule, rows[i].kind, rows[i].pg);
    }
    sluice_type_in_init(&in);
    in.type = SLUICE_CT_BYTES;
    in.name = "org.apache.kafka.connect.data.Decimal";
    in.has_scale = 1;
    in.scale = 10;
    in.precision = 38;
    resolve(&in, SLUICE_RULE_DECIMAL, SLUICE_VAL_DECIMAL, "numeric(38,10)");
    in.scale = -3; /* negative scale: no (p,s) */
    resolve(&in, SLUICE_RULE_DECIMAL, SLUICE_VAL_DECIMAL, "numeric");
    sluice_type_in_init(&in);
    in.type = SLUICE_CT_BYTES;
    in.name = "io.debezium.data.Bits";
    in.length = 12;
    resolve(&in, SLUICE_RULE_BITS, SLUICE_VAL_BITS, "bit varying(12)");
    /* column.propagate.source.type refinements */
    sluice_type_in_init(&in);
    in.type = SLUICE_CT_STRING;
    in.source_type = "NUMERIC";
    in.source_length = 12;
    in.source_scale = 3;
    resolve(&in, SLUICE_RULE_DECIMAL_TEXT, SLUICE_VAL_DECIMAL, "numeric(12,3)");
    in.source_type = "varchar";
    in.source_length = 40;
    resolve(&in, SLUICE_RULE_TEXT, SLUICE_VAL_TEXT, "varchar(40)");
    in.source_type = "INET";
    resolve(&in, SLUICE_RULE_TEXT, SLUICE_VAL_TEXT, "inet");
    in.source_type = "BYTEA"; /* binary mode bytes: a string stays text */
    resolve(&in, SLUICE_RULE_TEXT, SLUICE_VAL_TEXT, "text");
    sluice_types_resolve(&in, &opts, NULL, NULL, &plan, pg, sizeof(pg));
    assert_int_equal(plan.rule, SLUICE_RULE_BYTES_TEXT);
    assert_int_equal(plan.kind, SLUICE_VAL_BYTES);
    assert_string_equal(pg, "bytea");
    /* arrays take the element's type */
    sluice_type_in_init(&in);
    in.type = SLUICE_CT_STRING;
    in.name = "io.debezium.data.Uuid";
    sluice_types_resolve(&in, NULL, NULL, NULL, &elem, epg, sizeof(epg));
    sluice_type_in_init(&in);
    in.type = SLUICE_CT_ARRAY;
    sluice_types_resolve(&in, NULL, &elem, epg, &plan, pg, sizeof(pg));
    assert_int_equal(plan.rule, SLUICE_RULE_ARRAY);
    assert_string_equal(pg, "uuid[]");
    sluice_types_resolve(&in, NULL, &plan, pg, &elem, epg, sizeof(epg)); /* nested */
    assert_string_equal(epg, "uuid[]");
    sluice_types_resolve(&in, NULL, NULL, NULL, &plan, pg, sizeof(pg)); /* unknown items */
    assert_string_equal(pg, "text[]");
    /* option names */
    assert_int_equal(sluice_binary_mode_parse("base64-url-safe"), SLUICE_BINARY_BASE64_URL_SAFE);
    assert_int_equal(sluice_binary_mode_parse(NULL), SLUICE_BINARY_BYTES);
    assert_int_equal(sluice_binary_mode_parse("b64"), -1);
    assert_int_equal(sluice_decimal_mode_parse("double"), SLUICE_DECIMAL_DOUBLE);
    assert_int_equal(sluice_decimal_mode_parse("exact"), -1);
    assert_int_equal(sluice_connect_type_parse("FLOAT64"), SLUICE_CT_FLOAT64);
    assert_int_equal(sluice_connect_type_parse("double"), SLUICE_CT_FLOAT64);
    assert_int_equal(sluice_connect_type_parse("nope"), SLUICE_CT_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types_bool_int),
        cmocka_unit_test(test_types_float_round_trips),
        cmocka_unit_test(test_types_strings_as_is),
        cmocka_unit_test(test_types_bytes_hex),
        cmocka_unit_test(test_types_dates),
        cmocka_unit_test(test_types_times),
        cmocka_unit_test(test_types_timestamps),
        cmocka_unit_test(test_types_array_quoting),
        cmocka_unit_test(test_types_array_unavailable_element_fails),
        cmocka_unit_test(test_types_null_and_unavailable_fail),
        cmocka_unit_test(test_types_appends),
        cmocka_unit_test(test_types_new_kinds),
        cmocka_unit_test(test_types_pg_text_for_targets),
        cmocka_unit_test(test_types_table),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
