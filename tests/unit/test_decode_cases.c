/* Data-driven decoder cases: every directory of tests/cases/decode/ is one
 * cmocka test (see tests/cases/decode/README.md for the layout). Each record
 * of the case's input is decoded (JSON, or Confluent-framed Avro when the
 * case has value.avsc) and rendered with sluice_event_to_json(); failures
 * render as "error: <message>". The concatenation must equal `expected`
 * byte for byte. JSON cases run twice, through the JSON decoder's reference
 * (jansson) path and its fast path (schema cache + scanner): both must give
 * `expected`. SLUICE_BLESS=1 rewrites `expected` from the reference path's
 * output instead (review the diff before committing it). */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "decode_avro_int.h"
#include "decode_json_int.h"
#include "sluice/decode_avro.h"
#include "sluice/decode_json.h"
#include "sluice/event.h"

#define CASES_DIR SLUICE_TEST_CASES "/decode"
#define MAX_CASES 512

static char *slurp_opt(const char *dir, const char *name, size_t *len)
{
    char path[1024];
    FILE *f;
    char *buf;
    long n;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

typedef struct {
    const char *dir;
    sluice_decode_opts_t opts;
    json_t *optdoc;
    sluice_json_decoder_t *json;
    sluice_avro_decoder_t *avro;
    size_t avro_trailing; /* bytes after the datum that belong to the file */
    sluice_event_t ev;
    sluice_buf_t out;
} run_t;

static void parse_options(run_t *r)
{
    size_t len;
    char *text = slurp_opt(r->dir, "options.json", &len);
    json_error_t jerr;
    const char *s;

    memset(&r->opts, 0, sizeof(r->opts));
    if (!text)
        return;
    r->optdoc = json_loadb(text, len, 0, &jerr);
    free(text);
    if (!r->optdoc)
        fail_msg("%s/options.json: %s", r->dir, jerr.text);
    r->opts.unavailable_placeholder =
        json_string_value(json_object_get(r->optdoc, "unavailable_placeholder"));
    if ((s = json_string_value(json_object_get(r->optdoc, "binary_handling_mode"))))
        r->opts.binary_handling_mode = (sluice_binary_mode_t)sluice_binary_mode_parse(s);
    if ((s = json_string_value(json_object_get(r->optdoc, "decimal_handling_mode"))))
        r->opts.decimal_handling_mode = (sluice_decimal_mode_t)sluice_decimal_mode_parse(s);
    r->opts.precise_decimals_without_schema_is_error =
        json_is_true(json_object_get(r->optdoc, "precise_decimals_without_schema_is_error"));
    if ((s = json_string_value(json_object_get(r->optdoc, "flattened"))))
        r->opts.flattened = !strcmp(s, "yes") ? SLUICE_FLATTENED_YES
                            : !strcmp(s, "no") ? SLUICE_FLATTENED_NO
                                               : SLUICE_FLATTENED_AUTO;
    r->opts.flattened_prefix = json_string_value(json_object_get(r->optdoc, "flattened_prefix"));
    r->avro_trailing = (size_t)json_integer_value(json_object_get(r->optdoc, "avro_trailing_bytes"));
}

static void add_schema_file(run_t *r, const char *name, int32_t id)
{
    size_t len;
    char *text = slurp_opt(r->dir, name, &len);
    sluice_err_t err;

    if (!text)
        return;
    sluice_err_clear(&err);
    if (sluice_avro_decoder_add_schema(r->avro, id, text, len, &err) < 0)
        fail_msg("%s/%s: %s", r->dir, name, err.msg);
    free(text);
}

static int is_avro(const char *buf, size_t len)
{
    return len > 5 && buf[0] == 0;
}

static void render(run_t *r, int rc, const sluice_err_t *err)
{
    if (rc < 0) {
        sluice_buf_printf(&r->out, "error: %s\n", err->msg);
        return;
    }
    assert_int_equal(sluice_event_to_json(&r->ev, &r->out), 0);
    sluice_buf_putc(&r->out, '\n');
}

/* One record: optional key, then the value (NULL: a tombstone, not decoded). */
static void one(run_t *r, const char *key, size_t klen, const char *val, size_t vlen)
{
    sluice_err_t err;
    int rc = 0;

    sluice_event_reset(&r->ev);
    sluice_err_clear(&err);
    if (key && klen) {
        if (is_avro(key, klen))
            rc = sluice_avro_decoder_key(r->avro, key, klen, &r->ev, &err);
        else
            rc = sluice_json_decoder_key(r->json, key, klen, &r->ev, &err);
    }
    if (rc == 0 && !val)
        r->ev.op = SLUICE_OP_TOMBSTONE;
    else if (rc == 0 && is_avro(val, vlen))
        rc = sluice_avro_decoder_value(r->avro, val, vlen - r->avro_trailing, &r->ev, &err);
    else if (rc == 0)
        rc = sluice_json_decoder_value(r->json, val, vlen, &r->ev, &err);
    render(r, rc, &err);
}

/* risingwave-style Avro JSON: line 1 "<key schema>^<value schema>", then
 * "<key>^<value>" lines in Avro's JSON encoding (empty value: tombstone). */
static void run_avrojson(run_t *r, char *text)
{
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    char *caret;
    sluice_avro_encoder_t *kenc, *venc;
    sluice_buf_t kb, vb;
    sluice_err_t err;

    assert_non_null(line);
    caret = strchr(line, '^');
    assert_non_null(caret);
    *caret = '\0';
    sluice_err_clear(&err);
    kenc = sluice_avro_encoder_new(line, strlen(line), &err);
    venc = sluice_avro_encoder_new(caret + 1, strlen(caret + 1), &err);
    if (!kenc || !venc)
        fail_msg("%s: %s", r->dir, err.msg);
    if (sluice_avro_decoder_add_schema(r->avro, 1, line, strlen(line), &err) < 0 ||
        sluice_avro_decoder_add_schema(r->avro, 2, caret + 1, strlen(caret + 1), &err) < 0)
        fail_msg("%s: %s", r->dir, err.msg);
    sluice_buf_init(&kb);
    sluice_buf_init(&vb);
    while ((line = strtok_r(NULL, "\n", &save))) {
        caret = strchr(line, '^');
        assert_non_null(caret);
        *caret = '\0';
        sluice_buf_reset(&kb);
        sluice_buf_reset(&vb);
        if (sluice_avro_encoder_json(kenc, line, strlen(line), 1, &kb, &err) < 0)
            fail_msg("%s: key %s: %s", r->dir, line, err.msg);
        if (caret[1] && sluice_avro_encoder_json(venc, caret + 1, strlen(caret + 1), 2, &vb,
                                                 &err) < 0)
            fail_msg("%s: value: %s", r->dir, err.msg);
        one(r, kb.data, kb.len, caret[1] ? vb.data : NULL, vb.len);
    }
    sluice_buf_cleanup(&kb);
    sluice_buf_cleanup(&vb);
    sluice_avro_encoder_destroy(kenc);
    sluice_avro_encoder_destroy(venc);
}

static void run_pass(const char *dir, int reference)
{
    run_t r;
    size_t len, klen = 0;
    char *text, *key, *expected, path[1024];
    const char *path_name = reference ? "reference path" : "fast path";

    memset(&r, 0, sizeof(r));
    r.dir = dir;
    parse_options(&r);
    r.json = sluice_json_decoder_new(&r.opts);
    if (r.json)
        sluice_json_decoder_set_reference(r.json, reference);
    r.avro = sluice_avro_decoder_new(&r.opts, NULL);
    assert_non_null(r.json);
    assert_non_null(r.avro);
    sluice_event_init(&r.ev);
    sluice_buf_init(&r.out);

    key = slurp_opt(r.dir, "key", &klen);
    if ((text = slurp_opt(r.dir, "value.avsc", NULL))) {
        /* framed datums name their schema id: register under each used id */
        size_t ilen;
        char *in = slurp_opt(r.dir, "input", &ilen);
        sluice_err_t err;
        int32_t id = 0;
        const unsigned char *d;
        size_t dl;
        assert_non_null(in);
        if (sluice_avro_frame(in, ilen, &id, &d, &dl, &err) == 0)
            add_schema_file(&r, "value.avsc", id);
        free(in);
        free(text);
    }
    if (key && (text = slurp_opt(r.dir, "key.avsc", NULL))) {
        sluice_err_t err;
        int32_t id = 0;
        const unsigned char *d;
        size_t dl;
        if (sluice_avro_frame(key, klen, &id, &d, &dl, &err) == 0)
            add_schema_file(&r, "key.avsc", id);
        free(text);
    }

    if ((text = slurp_opt(r.dir, "input", &len))) { /* key: used for every record */
        one(&r, key, klen, text, len);
        free(text);
    } else if ((text = slurp_opt(r.dir, "input.jsonl", &len))) {
        char *save = NULL, *line;
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
            if (line[strspn(line, " \t\r")])
                one(&r, key, klen, line, strlen(line));
        free(text);
    } else if ((text = slurp_opt(r.dir, "input.avrojson", &len))) {
        run_avrojson(&r, text);
        free(text);
    } else {
        fail_msg("%s: no input, input.jsonl or input.avrojson", r.dir);
    }
    free(key);

    snprintf(path, sizeof(path), "%s/expected", r.dir);
    if (getenv("SLUICE_BLESS") && *getenv("SLUICE_BLESS") == '1') {
        if (!reference)
            goto done;
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fwrite(r.out.data, 1, r.out.len, f);
        fclose(f);
    } else {
        expected = slurp_opt(r.dir, "expected", &len);
        if (!expected)
            fail_msg("%s: no expected file (SLUICE_BLESS=1 writes it)", r.dir);
        if (len != r.out.len || memcmp(expected, r.out.data, len) != 0) {
            size_t i = 0, line = 1;
            while (i < len && i < r.out.len && expected[i] == r.out.data[i])
                line += expected[i++] == '\n';
            fail_msg("%s (%s): decoded output differs from expected at line %zu:\n"
                     "expected: %.200s\nactual:   %.200s",
                     r.dir, path_name, line, expected + (i > 40 ? i - 40 : 0),
                     r.out.data + (i > 40 ? i - 40 : 0));
        }
        free(expected);
    }
done:
    sluice_buf_cleanup(&r.out);
    sluice_event_cleanup(&r.ev);
    sluice_json_decoder_destroy(r.json);
    sluice_avro_decoder_destroy(r.avro);
    json_decref(r.optdoc);
}

static void run_case(void **state)
{
    run_pass(*state, 1);
    run_pass(*state, 0);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
    static struct CMUnitTest tests[MAX_CASES];
    static char *names[MAX_CASES], *dirs[MAX_CASES];
    DIR *d = opendir(CASES_DIR);
    struct dirent *de;
    size_t n = 0, i;
    int rc;

    if (!d) {
        fprintf(stderr, "%s: %s\n", CASES_DIR, strerror(errno));
        return 1;
    }
    while ((de = readdir(d)) && n < MAX_CASES) {
        char path[1024];
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", CASES_DIR, de->d_name);
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), by_name);
    for (i = 0; i < n; i++) {
        size_t plen = strlen(CASES_DIR) + strlen(names[i]) + 2;
        dirs[i] = malloc(plen);
        snprintf(dirs[i], plen, "%s/%s", CASES_DIR, names[i]);
        tests[i].name = names[i];
        tests[i].test_func = run_case;
        tests[i].setup_func = NULL;
        tests[i].teardown_func = NULL;
        tests[i].initial_state = dirs[i];
    }
    rc = _cmocka_run_group_tests("decode_cases", tests, n, NULL, NULL);
    for (i = 0; i < n; i++) {
        free(names[i]);
        free(dirs[i]);
    }
    return rc;
}
