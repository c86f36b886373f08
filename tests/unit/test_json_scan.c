/* Unit tests for the JSON scanner: grammar cases, string unescaping, numbers,
 * and a differential check against jansson (the reference) over every
 * fixture and thousands of mutated and random documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>

#include "json_scan.h"

static int scan_ok(const char *text)
{
    js_val_t v;
    js_err_t e;

    return js_document(text, strlen(text), &v, &e) == 0;
}

static int jansson_ok(const char *buf, size_t len)
{
    json_error_t je;
    json_t *j = json_loadb(buf, len, JSON_DECODE_ANY, &je);

    if (!j)
        return 0;
    json_decref(j);
    return 1;
}

static void test_json_scan_grammar(void **state)
{
    static const char *good[] = {
        "{}", "[]", "0", "-0", "1.5e10", "-1E-5", "\"\"", "\"a\\u00e9\\ud83d\\ude00\"", "true",
        "false", "null", " {\"a\" : [1, 2, {\"b\": null}] } ", "\"\xc3\xa9\xe6\x9d\x8e\"",
        "9223372036854775807", "-9223372036854775808", "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]",
    };
    static const char *bad[] = {
        "", "{", "[1,]", "{\"a\":}", "{\"a\" 1}", "01", "1.", ".5", "1e", "+1", "\"abc", "\"\\x\"",
        "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\u0000\"", "tru", "nul", "[1 2]", "{} {}",
        "9223372036854775808", "-9223372036854775809", "1e999", "\"\x01\"", "\"\xc3\"",
        "\"\xed\xa0\x80\"", "\"\xc0\xaf\"", "\"\xf5\x80\x80\x80\"", "{1:2}", "[}", "NaN",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (!scan_ok(good[i]))
            fail_msg("rejected good input %s", good[i]);
        assert_true(jansson_ok(good[i], strlen(good[i])));
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (scan_ok(bad[i]))
            fail_msg("accepted bad input %s", bad[i]);
        if (jansson_ok(bad[i], strlen(bad[i])))
            fail_msg("jansson accepts %s, the scanner must too", bad[i]);
    }
}

static void test_json_scan_members_and_strings(void **state)
{
    const char *doc = "{\"a\": 1, \"b\\u0022\": \"x\\ny\", \"a\": [true, -12, 3.25], \"c\": {}}";
    js_val_t root, v, el;
    js_iter_t it;
    js_err_t e;
    char out[64];
    int64_t i64;
    int n = 0;

    (void)state;
    assert_int_equal(js_document(doc, strlen(doc), &root, &e), 0);
    assert_int_equal(root.type, JS_OBJECT);
    assert_true(js_get(&root, "a", &v)); /* last duplicate wins */
    assert_int_equal(v.type, JS_ARRAY);
    js_iter_init(&it, &v);
    while (js_next(&it, NULL, &el))
        n++;
    assert_int_equal(n, 3);
    assert_true(js_get(&root, "b\"", &v));
    assert_int_equal(v.type, JS_STRING);
    assert_int_equal(js_string_decode(&v, out), 3);
    assert_memory_equal(out, "x\ny", 3);
    assert_false(js_get(&root, "zz", &v));
    assert_true(js_get(&root, "c", &v));
    assert_int_equal(v.type, JS_OBJECT);

    assert_int_equal(js_document("-9223372036854775808", 20, &v, &e), 0);
    assert_int_equal(js_int64(&v, &i64), 0);
    assert_true(i64 == INT64_MIN);
    assert_int_equal(js_document("3.5", 3, &v, &e), 0);
    assert_int_equal(js_int64(&v, &i64), -1);
    assert_true(js_double(&v) == 3.5);
    assert_int_equal(js_document("\"\\ud83d\\ude00\"", 14, &v, &e), 0);
    assert_int_equal(js_string_decode(&v, out), 4);
    assert_memory_equal(out, "\xf0\x9f\x98\x80", 4);
}

/* Structural equality between a scanned value and a jansson tree. */
static int same(const js_val_t *v, json_t *j)
{
    switch (v->type) {
    case JS_NULL:
        return json_is_null(j);
    case JS_TRUE:
        return json_is_true(j);
    case JS_FALSE:
        return json_is_false(j);
    case JS_NUMBER:
        if (json_is_integer(j)) {
            int64_t i;
            return js_int64(v, &i) == 0 && i == json_integer_value(j);
        }
        return json_is_real(j) && js_double(v) == json_real_value(j);
    case JS_STRING: {
        char *buf = malloc(v->len + 1);
        size_t n = js_string_decode(v, buf);
        int eq = json_is_string(j) && n == json_string_length(j) && memcmp(buf, json_string_value(j), n) == 0;
        free(buf);
        return eq;
    }
    case JS_ARRAY: {
        js_iter_t it;
        js_val_t el;
        size_t i = 0;
        if (!json_is_array(j))
            return 0;
        js_iter_init(&it, v);
        while (js_next(&it, NULL, &el))
            if (i >= json_array_size(j) || !same(&el, json_array_get(j, i++)))
                return 0;
        return i == json_array_size(j);
    }
    case JS_OBJECT: {
        js_iter_t it;
        js_val_t k, el;
        if (!json_is_object(j))
            return 0;
        js_iter_init(&it, v);
        while (js_next(&it, &k, &el)) {
            char *name = malloc(k.len + 1);
            size_t n = js_string_decode(&k, name);
            js_val_t last;
            json_t *jv;
            name[n] = '\0';
            jv = json_object_get(j, name);
            /* compare the last duplicate, which jansson keeps */
            if (!jv || !js_get(v, name, &last) || !same(&last, jv)) {
                free(name);
                return 0;
            }
            free(name);
        }
        return 1;
    }
    }
    return 0;
}

static void differential(const char *buf, size_t len)
{
    json_error_t je;
    json_t *j = json_loadb(buf, len, JSON_DECODE_ANY, &je);
    js_val_t v;
    js_err_t e;
    int ok = js_document(buf, len, &v, &e) == 0;

    /* The one deliberate difference: jansson lets a NUL byte between tokens
     * pass, the scanner refuses every NUL byte. */
    if (!ok && j && memchr(buf, '\0', len)) {
        json_decref(j);
        return;
    }
    if (ok != (j != NULL)) {
        FILE *dump = fopen("/tmp/json_scan_mismatch.bin", "wb");
        if (dump) {
            fwrite(buf, 1, len, dump);
            fclose(dump);
        }
    }
    if (ok != (j != NULL))
        fail_msg("scanner %s, jansson %s on %zu bytes: %.*s", ok ? "accepts" : "rejects",
                 j ? "accepts" : "rejects", len, (int)(len > 200 ? 200 : len), buf);
    if (ok && !same(&v, j))
        fail_msg("scanner and jansson disagree on the content of: %.*s", (int)(len > 200 ? 200 : len),
                 buf);
    json_decref(j);
}

static char *slurp(const char *path, size_t *len)
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
    *len = fread(buf, 1, (size_t)n, f);
    fclose(f);
    return buf;
}

static void test_json_scan_matches_jansson_on_fixtures(void **state)
{
    DIR *d = opendir(SLUICE_TEST_FIXTURES "/debezium");
    struct dirent *de;
    unsigned seed = 12345;
    int files = 0;

    (void)state;
    assert_non_null(d);
    while ((de = readdir(d))) {
        char path[1024];
        size_t len, i, start;
        char *buf;
        size_t nlen = strlen(de->d_name);
        len = 0;
        if (nlen < 5 || (strcmp(de->d_name + nlen - 5, ".json") && strcmp(de->d_name + nlen - 6, ".jsonl")))
            continue;
        snprintf(path, sizeof(path), "%s/debezium/%s", SLUICE_TEST_FIXTURES, de->d_name);
        buf = slurp(path, &len);
        assert_non_null(buf);
        files++;
        differential(buf, len); /* a .jsonl file as a whole is invalid for both */
        for (start = 0, i = 0; i <= len; i++) {
            if (i < len && buf[i] != '\n')
                continue;
            if (i > start) {
                size_t k, llen = i - start;
                char *line = malloc(llen);
                memcpy(line, buf + start, llen);
                differential(line, llen);
                /* mutations: truncations and byte flips */
                for (k = 0; k < 60; k++) {
                    size_t at = (size_t)rand_r(&seed) % llen;
                    char saved = line[at];
                    if (k % 3 == 0) {
                        differential(line, at);
                        continue;
                    }
                    line[at] = (char)(k % 3 == 1 ? rand_r(&seed) & 0xff : "{}[],:\"\\0-e."[rand_r(&seed) % 13]);
                    differential(line, llen);
                    line[at] = saved;
                }
                free(line);
            }
            start = i + 1;
        }
        free(buf);
    }
    closedir(d);
    assert_true(files >= 10);
}

static void test_json_scan_matches_jansson_on_random(void **state)
{
    static const char *atoms[] = {"{", "}", "[", "]", ",", ":", "\"k\"", "\"\\u00e9\"", "\"\\ud83d\\ude00\"",
                                  "1", "-0.5", "2e3", "true", "null", " ", "\"a\\\"b\"", "0", "-",
                                  "\"\xe6\x9d\x8e\"", "\"\\n\""};
    unsigned seed = 777;
    int round;

    (void)state;
    for (round = 0; round < 20000; round++) {
        char buf[256];
        size_t len = 0;
        int k, n = 1 + rand_r(&seed) % 12;
        for (k = 0; k < n; k++) {
            const char *a = atoms[rand_r(&seed) % (sizeof(atoms) / sizeof(atoms[0]))];
            size_t al = strlen(a);
            if (len + al >= sizeof(buf))
                break;
            memcpy(buf + len, a, al);
            len += al;
        }
        differential(buf, len);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_scan_grammar),
        cmocka_unit_test(test_json_scan_members_and_strings),
        cmocka_unit_test(test_json_scan_matches_jansson_on_fixtures),
        cmocka_unit_test(test_json_scan_matches_jansson_on_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
