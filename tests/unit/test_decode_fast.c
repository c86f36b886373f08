/* The JSON decoder's fast path (schema cache + scanner) against its
 * reference path (jansson): for every fixture line, every decode case input,
 * generated PostgreSQL events and many thousands of mutated and malformed
 * messages, under each set of decoder options, both paths must agree on
 * accept/reject and the error class, and decode to identical events (the
 * sluice_event_to_json() text and a field-by-field comparison that includes
 * column types, key flags, float bits and meta columns). It also checks that
 * the fast path does take the common shapes, that events outlive the
 * eviction of their schema, and the dump of nested values against
 * json_dumps(). SLUICE_FAST_SEED / SLUICE_FAST_ROUNDS vary and scale the
 * random part. */
#include <dirent.h>
#include <jansson.h>
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

#define FIXDIR SLUICE_TEST_FIXTURES "/debezium"
#define CASEDIR SLUICE_TEST_CASES "/decode"
#define PH "__debezium_unavailable_value"

/* ---------------------------------------------------------------------- */
/* random numbers (xorshift64*), reproducible */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Du;
}

static size_t rndn(size_t n)
{
    return n ? (size_t)(rnd() % n) : 0;
}

/* ---------------------------------------------------------------------- */
/* the corpus: messages as (key, value) pairs */

typedef struct {
    char *key; /* NULL: none */
    size_t klen;
    char *val;
    size_t vlen;
    int opt;   /* index into configs[] the message was written for, -1 any */
} msg_t;

typedef struct {
    msg_t *m;
    size_t n, cap;
} corpus_t;

static char *dupmem(const char *p, size_t n)
{
    char *q = malloc(n + 1);

    assert_non_null(q);
    memcpy(q, p, n);
    q[n] = '\0';
    return q;
}

static void add(corpus_t *c, const char *key, size_t klen, const char *val, size_t vlen, int opt)
{
    msg_t *m;

    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 256;
        c->m = realloc(c->m, c->cap * sizeof(*c->m));
        assert_non_null(c->m);
    }
    m = &c->m[c->n++];
    m->key = key ? dupmem(key, klen) : NULL;
    m->klen = klen;
    m->val = dupmem(val, vlen);
    m->vlen = vlen;
    m->opt = opt;
}

static void corpus_free(corpus_t *c)
{
    size_t i;

    for (i = 0; i < c->n; i++) {
        free(c->m[i].key);
        free(c->m[i].val);
    }
    free(c->m);
    memset(c, 0, sizeof(*c));
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
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* every line of text that looks like JSON; whole: the text is one document */
static void add_lines(corpus_t *c, const char *key, size_t klen, char *text, size_t len, int whole,
                      int opt)
{
    char *line, *save = NULL;

    if (whole) {
        add(c, key, klen, text, len, opt);
        return;
    }
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
            n--;
        if (n && (line[0] == '{' || line[0] == '['))
            add(c, key, klen, line, n, opt);
    }
}

/* ---------------------------------------------------------------------- */
/* decoder option sets */

typedef struct {
    const char *name;
    sluice_decode_opts_t o;
} config_t;

static config_t configs[16];
static size_t nconfigs;

static void setup_configs(void)
{
    sluice_decode_opts_t o;

    nconfigs = 0;
#define CFG(nm, stmt)                                                                          \
    do {                                                                                       \
        memset(&o, 0, sizeof(o));                                                              \
        stmt;                                                                                  \
        configs[nconfigs].name = nm;                                                           \
        configs[nconfigs++].o = o;                                                             \
    } while (0)
    CFG("default", (void)0);
    CFG("placeholder __toast__", o.unavailable_placeholder = "__toast__");
    CFG("binary base64", o.binary_handling_mode = SLUICE_BINARY_BASE64);
    CFG("binary base64-url-safe", o.binary_handling_mode = SLUICE_BINARY_BASE64_URL_SAFE);
    CFG("binary hex", o.binary_handling_mode = SLUICE_BINARY_HEX);
    CFG("decimal string", o.decimal_handling_mode = SLUICE_DECIMAL_STRING);
    CFG("decimal double", o.decimal_handling_mode = SLUICE_DECIMAL_DOUBLE);
    CFG("precise decimals error", o.precise_decimals_without_schema_is_error = 1);
    CFG("flattened yes", o.flattened = SLUICE_FLATTENED_YES);
    CFG("flattened no", o.flattened = SLUICE_FLATTENED_NO);
    CFG("flattened prefix meta_", o.flattened_prefix = "meta_");
    CFG("flattened prefix empty", o.flattened_prefix = "");
    CFG("flattened yes prefix meta_", {
        o.flattened = SLUICE_FLATTENED_YES;
        o.flattened_prefix = "meta_";
    });
#undef CFG
}

/* A case's options.json -> the index of the matching config (added if new). */
static int case_config(const char *dir)
{
    char path[1100];
    size_t len;
    char *text;
    json_t *doc;
    const char *s;
    sluice_decode_opts_t o;
    size_t i;

    snprintf(path, sizeof(path), "%s/options.json", dir);
    if (!(text = slurp(path, &len)))
        return 0;
    doc = json_loadb(text, len, 0, NULL);
    free(text);
    assert_non_null(doc);
    memset(&o, 0, sizeof(o));
    if ((s = json_string_value(json_object_get(doc, "unavailable_placeholder"))))
        o.unavailable_placeholder = strcmp(s, "__toast__") == 0 ? "__toast__" : strdup(s);
    if ((s = json_string_value(json_object_get(doc, "binary_handling_mode"))))
        o.binary_handling_mode = (sluice_binary_mode_t)sluice_binary_mode_parse(s);
    if ((s = json_string_value(json_object_get(doc, "decimal_handling_mode"))))
        o.decimal_handling_mode = (sluice_decimal_mode_t)sluice_decimal_mode_parse(s);
    o.precise_decimals_without_schema_is_error =
        json_is_true(json_object_get(doc, "precise_decimals_without_schema_is_error"));
    if ((s = json_string_value(json_object_get(doc, "flattened"))))
        o.flattened = !strcmp(s, "yes") ? SLUICE_FLATTENED_YES
                      : !strcmp(s, "no") ? SLUICE_FLATTENED_NO
                                         : SLUICE_FLATTENED_AUTO;
    if ((s = json_string_value(json_object_get(doc, "flattened_prefix"))))
        o.flattened_prefix = strcmp(s, "meta_") == 0 ? "meta_" : strdup(s);
    json_decref(doc);
    for (i = 0; i < nconfigs; i++) {
        const sluice_decode_opts_t *c = &configs[i].o;
        if (c->binary_handling_mode == o.binary_handling_mode &&
            c->decimal_handling_mode == o.decimal_handling_mode &&
            c->precise_decimals_without_schema_is_error ==
                o.precise_decimals_without_schema_is_error &&
            c->flattened == o.flattened &&
            !strcmp(c->unavailable_placeholder ? c->unavailable_placeholder : "",
                    o.unavailable_placeholder ? o.unavailable_placeholder : "") &&
            !strcmp(c->flattened_prefix ? c->flattened_prefix : "",
                    o.flattened_prefix ? o.flattened_prefix : ""))
            return (int)i;
    }
    assert_true(nconfigs < sizeof(configs) / sizeof(configs[0]));
    configs[nconfigs].name = dir;
    configs[nconfigs].o = o;
    return (int)nconfigs++;
}

/* ---------------------------------------------------------------------- */
/* comparing events */

static char diff[512];

static int differ(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int differ(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(diff, sizeof(diff), fmt, ap);
    va_end(ap);
    return 0;
}

static int same_str(const char *what, const char *a, const char *b)
{
    if (!a && !b)
        return 1;
    if (!a || !b || strcmp(a, b) != 0)
        return differ("%s: \"%s\" vs \"%s\"", what, a ? a : "(null)", b ? b : "(null)");
    return 1;
}

static int same_value(const char *what, const sluice_value_t *a, const sluice_value_t *b)
{
    size_t i;

    if (a->kind != b->kind)
        return differ("%s: kind %s vs %s", what, sluice_value_kind_name(a->kind),
                      sluice_value_kind_name(b->kind));
    switch (a->kind) {
    case SLUICE_VAL_NULL:
    case SLUICE_VAL_UNAVAILABLE:
        return 1;
    case SLUICE_VAL_BOOL:
        return a->u.b == b->u.b ? 1 : differ("%s: bool differs", what);
    case SLUICE_VAL_INT:
    case SLUICE_VAL_DATE:
    case SLUICE_VAL_TIME:
    case SLUICE_VAL_TIMESTAMP:
        return a->u.i == b->u.i ? 1 : differ("%s: %lld vs %lld", what, (long long)a->u.i,
                                              (long long)b->u.i);
    case SLUICE_VAL_FLOAT:
        if (memcmp(&a->u.f, &b->u.f, sizeof(double)) != 0 && !(isnan(a->u.f) && isnan(b->u.f)))
            return differ("%s: %.17g vs %.17g", what, a->u.f, b->u.f);
        return 1;
    case SLUICE_VAL_ARRAY:
        if (a->u.arr.n != b->u.arr.n)
            return differ("%s: %zu vs %zu elements", what, a->u.arr.n, b->u.arr.n);
        for (i = 0; i < a->u.arr.n; i++)
            if (!same_value(what, &a->u.arr.items[i], &b->u.arr.items[i]))
                return 0;
        return 1;
    default:
        if (a->u.s.len != b->u.s.len || memcmp(a->u.s.ptr, b->u.s.ptr, a->u.s.len) != 0 ||
            a->u.s.ptr[a->u.s.len] != '\0' || b->u.s.ptr[b->u.s.len] != '\0')
            return differ("%s: \"%.*s\" vs \"%.*s\"", what, (int)a->u.s.len, a->u.s.ptr,
                          (int)b->u.s.len, b->u.s.ptr);
        return 1;
    }
}

static int same_type(const char *what, const sluice_coltype_t *a, const sluice_coltype_t *b)
{
    if (!a || !b)
        return a == b ? 1 : differ("%s: type present on one side only", what);
    if (a->kind != b->kind || a->elem_kind != b->elem_kind || a->optional != b->optional ||
        a->precision != b->precision || a->scale != b->scale)
        return differ("%s: column type fields differ", what);
    return same_str(what, a->pg_type, b->pg_type) && same_str(what, a->semantic, b->semantic) &&
           same_str(what, a->connect_type, b->connect_type);
}

static int same_row(const char *what, const sluice_row_t *a, const sluice_row_t *b)
{
    size_t i;

    if (a->present != b->present || a->ncols != b->ncols)
        return differ("%s: present %d/%d, %zu vs %zu columns", what, a->present, b->present,
                      a->ncols, b->ncols);
    for (i = 0; i < a->ncols; i++) {
        const sluice_column_t *x = &a->cols[i], *y = &b->cols[i];
        if (!same_str(what, x->name, y->name) || !same_value(x->name, &x->value, &y->value) ||
            !same_type(x->name, x->type, y->type))
            return 0;
        if (x->key != y->key)
            return differ("%s.%s: key flag differs", what, x->name);
    }
    return 1;
}

static int same_event(const sluice_event_t *a, const sluice_event_t *b)
{
    int i;

    if (a->op != b->op || a->snapshot != b->snapshot || a->source_ts_ms != b->source_ts_ms ||
        a->ts_ms != b->ts_ms || a->tx_id != b->tx_id || a->control != b->control ||
        a->ctl_count != b->ctl_count || a->flattened != b->flattened || a->pos.n != b->pos.n)
        return differ("event header fields differ (op %c/%c)", a->op, b->op);
    for (i = 0; i < a->pos.n; i++)
        if (a->pos.part[i] != b->pos.part[i])
            return differ("position part %d differs", i);
    return same_str("connector", a->connector, b->connector) &&
           same_str("server", a->server, b->server) && same_str("db", a->db, b->db) &&
           same_str("schema", a->schema, b->schema) && same_str("table", a->table, b->table) &&
           same_str("msg_prefix", a->msg_prefix, b->msg_prefix) &&
           same_str("ctl_id", a->ctl_id, b->ctl_id) && same_str("ctl_ddl", a->ctl_ddl, b->ctl_ddl) &&
           same_str("ctl_db", a->ctl_db, b->ctl_db) &&
           same_value("msg_content", &a->msg_content, &b->msg_content) &&
           same_row("key", &a->key, &b->key) && same_row("before", &a->before, &b->before) &&
           same_row("after", &a->after, &b->after) && same_row("meta", &a->meta, &b->meta);
}

/* ---------------------------------------------------------------------- */
/* running both paths */

typedef struct {
    sluice_json_decoder_t *fast[16], *ref[16];
    sluice_json_decoder_t *split[16]; /* fast path, values held split */
    sluice_event_t ef, er;
    sluice_buf_t jf, jr;
    size_t compared, accepted, rejected;
    size_t split_compared;
} pair_t;

static void pair_init(pair_t *p)
{
    size_t i;

    memset(p, 0, sizeof(*p));
    for (i = 0; i < nconfigs; i++) {
        p->fast[i] = sluice_json_decoder_new(&configs[i].o);
        p->ref[i] = sluice_json_decoder_new(&configs[i].o);
        p->split[i] = sluice_json_decoder_new(&configs[i].o);
        assert_non_null(p->split[i]);
        assert_non_null(p->fast[i]);
        assert_non_null(p->ref[i]);
        sluice_json_decoder_set_reference(p->ref[i], 1);
    }
    sluice_event_init(&p->ef);
    sluice_event_init(&p->er);
    sluice_buf_init(&p->jf);
    sluice_buf_init(&p->jr);
}

static void pair_stats(const pair_t *p, sluice_json_decoder_stats_t *sum)
{
    size_t i;

    memset(sum, 0, sizeof(*sum));
    for (i = 0; i < nconfigs; i++) {
        sluice_json_decoder_stats_t st;
        sluice_json_decoder_get_stats(p->fast[i], &st);
        sum->fast += st.fast;
        sum->fallback += st.fallback;
        sum->cache_hits += st.cache_hits;
        sum->cache_misses += st.cache_misses;
        sum->cache_evictions += st.cache_evictions;
    }
}

static void pair_free(pair_t *p)
{
    size_t i;

    for (i = 0; i < nconfigs; i++) {
        sluice_json_decoder_destroy(p->fast[i]);
        sluice_json_decoder_destroy(p->ref[i]);
        sluice_json_decoder_destroy(p->split[i]);
    }
    sluice_event_cleanup(&p->ef);
    sluice_event_cleanup(&p->er);
    sluice_buf_cleanup(&p->jf);
    sluice_buf_cleanup(&p->jr);
}

static int decode(sluice_json_decoder_t *dec, const msg_t *m, sluice_event_t *ev,
                  sluice_err_t *err)
{
    sluice_event_reset(ev);
    sluice_err_clear(err);
    if (m->key && sluice_json_decoder_key(dec, m->key, m->klen, ev, err) < 0)
        return -1;
    return sluice_json_decoder_value(dec, m->val, m->vlen, ev, err);
}

static void dump_mismatch(const msg_t *m)
{
    FILE *f = fopen("/tmp/decode_fast_mismatch.json", "wb");

    if (f) {
        if (m->key) {
            fwrite(m->key, 1, m->klen, f);
            fputc('\n', f);
        }
        fwrite(m->val, 1, m->vlen, f);
        fclose(f);
    }
}

/* Whether [v, v+n) splits: its spans, which must join back to the exact
 * bytes and be found again when the schema is known. */
static int splits(const char *v, size_t n, size_t *so, size_t *sl, size_t *po, size_t *pl)
{
    size_t so2, sl2, po2, pl2;
    char *joined;

    if (!v || !sluice_json_envelope_split(v, n, NULL, 0, so, sl, po, pl))
        return 0;
    assert_int_equal(sluice_json_envelope_split(v, n, v + *so, *sl, &so2, &sl2, &po2, &pl2), 1);
    assert_true(so2 == *so && sl2 == *sl && po2 == *po && pl2 == *pl);
    assert_int_equal(sluice_json_envelope_size(*sl, *pl), n);
    joined = malloc(n);
    assert_non_null(joined);
    sluice_json_envelope_join(joined, v + *so, *sl, v + *po, *pl);
    assert_memory_equal(joined, v, n);
    free(joined);
    return 1;
}

/* A key or value of the {"schema":S,"payload":P} layout, held split as the
 * worker holds it: the split decode equals the reference's decode of the
 * whole message (accepted or not, the same error class, the same event). */
static void check_split(pair_t *p, const msg_t *m, size_t cfg)
{
    size_t so, sl, po, pl, kso, ksl, kpo, kpl;
    int vs = splits(m->val, m->vlen, &so, &sl, &po, &pl);
    int ks = splits(m->key, m->klen, &kso, &ksl, &kpo, &kpl);
    sluice_err_t e1, e2;
    int r1 = 0, r2;

    if (!vs && !ks)
        return;
    sluice_event_reset(&p->ef);
    sluice_err_clear(&e1);
    if (ks)
        r1 = sluice_json_decoder_key_split(p->split[cfg], m->key + kso, ksl, m->key + kpo, kpl,
                                           &p->ef, &e1);
    else if (m->key)
        r1 = sluice_json_decoder_key(p->split[cfg], m->key, m->klen, &p->ef, &e1);
    if (r1 == 0)
        r1 = vs ? sluice_json_decoder_value_split(p->split[cfg], m->val + so, sl, m->val + po, pl,
                                                  &p->ef, &e1)
                : sluice_json_decoder_value(p->split[cfg], m->val, m->vlen, &p->ef, &e1);
    r2 = decode(p->ref[cfg], m, &p->er, &e2);
    p->split_compared++;
    if (r1 != r2) {
        dump_mismatch(m);
        fail_msg("[%s] held split: fast path %s, reference %s (%s): %.300s", configs[cfg].name,
                 r1 ? "rejects" : "accepts", r2 ? "rejects" : "accepts", r1 ? e1.msg : e2.msg,
                 m->val);
    }
    if (r1 < 0) {
        if (e1.cls != e2.cls)
            fail_msg("[%s] held split: error classes differ: %s (%s) vs %s (%s)",
                     configs[cfg].name, sluice_err_class_name(e1.cls), e1.msg,
                     sluice_err_class_name(e2.cls), e2.msg);
        return;
    }
    sluice_buf_reset(&p->jf);
    sluice_buf_reset(&p->jr);
    assert_int_equal(sluice_event_to_json(&p->ef, &p->jf), 0);
    assert_int_equal(sluice_event_to_json(&p->er, &p->jr), 0);
    if (p->jf.len != p->jr.len || memcmp(p->jf.data, p->jr.data, p->jf.len) != 0 ||
        !same_event(&p->ef, &p->er)) {
        dump_mismatch(m);
        fail_msg("[%s] held split: events differ on %.300s\nsplit: %.600s\nref:   %.600s",
                 configs[cfg].name, m->val, p->jf.data, p->jr.data);
    }
}

static void check(pair_t *p, const msg_t *m, size_t cfg)
{
    sluice_err_t e1, e2;
    int r1, r2;

    check_split(p, m, cfg);
    r1 = decode(p->fast[cfg], m, &p->ef, &e1);
    r2 = decode(p->ref[cfg], m, &p->er, &e2);

    p->compared++;
    if (r1 != r2) {
        dump_mismatch(m);
        fail_msg("[%s] fast path %s, reference %s (%s) on %zu bytes: %.300s",
                 configs[cfg].name, r1 ? "rejects" : "accepts", r2 ? "rejects" : "accepts",
                 r1 ? e1.msg : e2.msg, m->vlen, m->val);
    }
    if (r1 < 0) {
        p->rejected++;
        if (e1.cls != e2.cls) {
            dump_mismatch(m);
            fail_msg("[%s] error classes differ: %s (%s) vs %s (%s)", configs[cfg].name,
                     sluice_err_class_name(e1.cls), e1.msg, sluice_err_class_name(e2.cls),
                     e2.msg);
        }
        return;
    }
    p->accepted++;
    sluice_buf_reset(&p->jf);
    sluice_buf_reset(&p->jr);
    assert_int_equal(sluice_event_to_json(&p->ef, &p->jf), 0);
    assert_int_equal(sluice_event_to_json(&p->er, &p->jr), 0);
    if (p->jf.len != p->jr.len || memcmp(p->jf.data, p->jr.data, p->jf.len) != 0) {
        dump_mismatch(m);
        fail_msg("[%s] events differ on %.300s\nfast: %.600s\nref:  %.600s", configs[cfg].name,
                 m->val, p->jf.data, p->jr.data);
    }
    if (!same_event(&p->ef, &p->er)) {
        dump_mismatch(m);
        fail_msg("[%s] events differ (%s) on %.300s", configs[cfg].name, diff, m->val);
    }
}

/* ---------------------------------------------------------------------- */
/* generated PostgreSQL events (the shape of Debezium 2.7's output) */

static const char pg_schema_fmt[] =
    "{\"type\":\"struct\",\"fields\":[{\"type\":\"struct\",\"fields\":["
    "{\"type\":\"int32\",\"optional\":false,\"default\":0,\"field\":\"id\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"first_name\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"last_name\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"email\"},"
    "{\"type\":\"string\",\"optional\":true,\"field\":\"balance\"},"
    "{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.time.ZonedTimestamp\","
    "\"version\":1,\"field\":\"updated_at\"},"
    "{\"type\":\"boolean\",\"optional\":true,\"field\":\"active\"}],"
    "\"optional\":true,\"name\":\"dbserver1.public.%s.Value\",\"field\":\"before\"},"
    "{\"type\":\"struct\",\"fields\":["
    "{\"type\":\"int32\",\"optional\":false,\"default\":0,\"field\":\"id\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"first_name\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"last_name\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"email\"},"
    "{\"type\":\"string\",\"optional\":true,\"field\":\"balance\"},"
    "{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.time.ZonedTimestamp\","
    "\"version\":1,\"field\":\"updated_at\"},"
    "{\"type\":\"boolean\",\"optional\":true,\"field\":\"active\"}],"
    "\"optional\":true,\"name\":\"dbserver1.public.%s.Value\",\"field\":\"after\"},"
    "{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":"
    "\"version\"},{\"type\":\"string\",\"optional\":false,\"field\":\"connector\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"name\"},{\"type\":\"int64\","
    "\"optional\":false,\"field\":\"ts_ms\"},{\"type\":\"string\",\"optional\":true,"
    "\"name\":\"io.debezium.data.Enum\",\"version\":1,\"parameters\":{\"allowed\":\"true,"
    "first,first_in_data_collection,last_in_data_collection,last,false,incremental\"},"
    "\"default\":\"false\",\"field\":\"snapshot\"},{\"type\":\"string\",\"optional\":false,"
    "\"field\":\"db\"},{\"type\":\"string\",\"optional\":true,\"field\":\"sequence\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_us\"},{\"type\":\"int64\","
    "\"optional\":true,\"field\":\"ts_ns\"},{\"type\":\"string\",\"optional\":false,"
    "\"field\":\"schema\"},{\"type\":\"string\",\"optional\":false,\"field\":\"table\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"txId\"},{\"type\":\"int64\","
    "\"optional\":true,\"field\":\"lsn\"},{\"type\":\"int64\",\"optional\":true,\"field\":"
    "\"xmin\"}],\"optional\":false,\"name\":\"io.debezium.connector.postgresql.Source\","
    "\"field\":\"source\"},{\"type\":\"struct\",\"fields\":[{\"type\":\"string\","
    "\"optional\":false,\"field\":\"id\"},{\"type\":\"int64\",\"optional\":false,\"field\":"
    "\"total_order\"},{\"type\":\"int64\",\"optional\":false,\"field\":"
    "\"data_collection_order\"}],\"optional\":true,\"name\":\"event.block\",\"version\":1,"
    "\"field\":\"transaction\"},{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"},{\"type\":\"int64\","
    "\"optional\":true,\"field\":\"ts_us\"},{\"type\":\"int64\",\"optional\":true,\"field\":"
    "\"ts_ns\"}],\"optional\":false,\"name\":\"dbserver1.public.%s.Envelope\",\"version\":2}";

static const char *const names_pool[] = {
    "Ada", "Grace", "Zoë", "O'Brien", "Lin \"Q\"", "back\\slash", "tab\there", "東京", "",
    PH, "a/b", "\xf0\x9f\x98\x80",
};

static void json_str(sluice_buf_t *b, const char *s)
{
    json_t *j = json_string(s);
    char *t = json_dumps(j, JSON_ENCODE_ANY | (rndn(3) == 0 ? JSON_ENSURE_ASCII : 0) |
                                (rndn(4) == 0 ? JSON_ESCAPE_SLASH : 0));

    sluice_buf_puts(b, t);
    free(t);
    json_decref(j);
}

static void pg_row(sluice_buf_t *b, long id)
{
    sluice_buf_printf(b, "{\"id\":%ld,\"first_name\":", id);
    json_str(b, names_pool[rndn(sizeof(names_pool) / sizeof(names_pool[0]))]);
    sluice_buf_puts(b, ",\"last_name\":");
    json_str(b, names_pool[rndn(sizeof(names_pool) / sizeof(names_pool[0]))]);
    sluice_buf_printf(b, ",\"email\":\"user%ld@example.com\",\"balance\":", id);
    if (rndn(5) == 0)
        sluice_buf_puts(b, "null");
    else
        sluice_buf_printf(b, "\"%ld.%02ld\"", (long)rndn(100000), (long)rndn(100));
    sluice_buf_printf(b, ",\"updated_at\":\"2024-06-%02dT10:%02d:00.123456Z\",\"active\":%s}",
                      1 + (int)rndn(28), (int)rndn(60), rndn(2) ? "true" : "false");
}

static void pg_payload(sluice_buf_t *b, long id, const char *table)
{
    const char *op = "cudr" + rndn(4);
    long lsn = 24023128 + id * 100;

    sluice_buf_puts(b, "{\"before\":");
    if (op[0] == 'd' || (op[0] == 'u' && rndn(2)))
        pg_row(b, id);
    else
        sluice_buf_puts(b, "null");
    sluice_buf_puts(b, ",\"after\":");
    if (op[0] == 'd')
        sluice_buf_puts(b, "null");
    else
        pg_row(b, id);
    sluice_buf_printf(b,
                      ",\"source\":{\"version\":\"2.7.3.Final\",\"connector\":\"postgresql\","
                      "\"name\":\"dbserver1\",\"ts_ms\":%ld,\"snapshot\":\"%s\",\"db\":\"app\","
                      "\"sequence\":\"[\\\"%ld\\\",\\\"%ld\\\"]\",\"ts_us\":%ld000,"
                      "\"ts_ns\":%ld000000,\"schema\":\"public\",\"table\":\"%s\",\"txId\":%ld,"
                      "\"lsn\":%ld,\"xmin\":null},\"transaction\":null,\"op\":\"%c\","
                      "\"ts_ms\":%ld,\"ts_us\":%ld000,\"ts_ns\":%ld000000}",
                      1718000000000L + id, op[0] == 'r' ? "true" : "false", lsn - 8, lsn,
                      1718000000000L + id, 1718000000000L + id, table, 700 + id, lsn,
                      op[0], 1718000000100L + id, 1718000000100L + id, 1718000000100L + id);
}

static void add_generated(corpus_t *c, size_t n)
{
    sluice_buf_t b, k, schema;
    size_t i;

    sluice_buf_init(&b);
    sluice_buf_init(&k);
    sluice_buf_init(&schema);
    sluice_buf_printf(&schema, pg_schema_fmt, "customers", "customers", "customers");
    for (i = 0; i < n; i++) {
        long id = (long)i + 1;
        sluice_buf_reset(&b);
        sluice_buf_reset(&k);
        if (i % 2) {
            sluice_buf_printf(&b, "{\"schema\":%s,\"payload\":", schema.data);
            pg_payload(&b, id, "customers");
            sluice_buf_putc(&b, '}');
            sluice_buf_printf(&k,
                              "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\","
                              "\"optional\":false,\"default\":0,\"field\":\"id\"}],"
                              "\"optional\":false,\"name\":\"dbserver1.public.customers.Key\"},"
                              "\"payload\":{\"id\":%ld}}",
                              id);
        } else {
            pg_payload(&b, id, "customers");
            sluice_buf_printf(&k, "{\"id\":%ld}", id);
        }
        add(c, k.data, k.len, b.data, b.len, 0);
    }
    sluice_buf_cleanup(&b);
    sluice_buf_cleanup(&k);
    sluice_buf_cleanup(&schema);
}

/* ---------------------------------------------------------------------- */
/* mutations */

static const char *const value_pool[] = {
    "null", "true", "false", "0", "-0", "1", "-1", "1.5", "1e3", "1E-2", "-2.5e+300",
    "9223372036854775807", "-9223372036854775808", "123456789012345678", "0.1", "\"\"",
    "\"x\"", "\"1234\"", "\" 12\"", "\"12x\"", "\"+7\"", "\"99999999999999999999\"",
    "\"" PH "\"", "\"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==\"", "\"AQID\"", "\"AA==\"",
    "\"/w==\"", "\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "\"NAN\"", "\"POSITIVE_INFINITY\"",
    "\"c\"", "\"u\"", "\"d\"", "\"r\"", "\"t\"", "\"m\"", "\"x\"", "\"\\u0063\"", "\"true\"",
    "\"first\"", "\"incremental\"", "\"bogus\"", "\"[\\\"1\\\",\\\"2\\\"]\"",
    "\"[null,\\\"5\\\"]\"", "\"[1,2,3,4,5]\"", "\"[\\\"x\\\"]\"", "\"mysql-bin.000003\"",
    "\"mysql\"", "\"postgresql\"", "{}", "[]", "[1,2]", "[\"" PH "\"]", "[null,\"a\"]",
    "[[1],[2,3]]", "{\"a\":1}", "{\"" PH "\":\"" PH "\"}", "{\"" PH "\":\"" PH "\",\"" PH
    "\":\"x\"}", "{\"" PH "\":\"x\",\"" PH "\":\"" PH "\"}", "{\"scale\":2,\"value\":\"AQI=\"}",
    "{\"scale\":2,\"value\":null}", "{\"scale\":\"2\",\"value\":\"AQI=\"}",
    "{\"wkb\":\"AQEAAAAAAAAAAADwPwAAAAAAAPA/\",\"srid\":4326}", "{\"x\":1.5,\"y\":2}",
    "{\"a\":[1,{\"b\":\"c\\\"d\\u0001\\/\\u00e9\\ud83d\\ude00\"}],\"e\":1.0e10,\"f\":-0,"
    "\"g\":0.1,\"h\":1e-7,\"i\":123456789.125,\"j\":[true,false,null]}",
    "{\"a\":1,\"a\":2}", "{\"a\":{\"b\":1,\"b\":2}}", "{\"\\u0061\":1,\"b\":2}",
    "\"{\\\"" PH "\\\":\\\"" PH "\\\"}\"", "\"{\\\"" PH "\\\": \\\"" PH "\\\"}\"",
    "\"\\ud83d\\ude00 \\t\\n\"", "\"line\\u2028sep\\u007f\"", "\"__toast__\"",
    "[95,95,100,101,98,101,122,105,117,109,95,117,110,97,118,97,105,108,97,98,108,101,95,118,"
    "97,108,117,101]",
    "{\"id\":\"1\",\"total_order\":1,\"data_collection_order\":1}", "\"BEGIN\"", "\"END\"",
};
#define NPOOL (sizeof(value_pool) / sizeof(value_pool[0]))

static const char *const key_pool[] = {
    "op", "source", "before", "after", "ts_ms", "schema", "payload", "message", "status", "id",
    "ddl", "__op", "__deleted", "meta_op", "deleted", "transaction", "connector", "sequence",
    "lsn", "file", "pos", "row", "snapshot", "txId", "table", "db", "name", "fields", "type",
    "field", "optional", "parameters", "scale", "items", "a", "id", "first_name", "content",
};
#define NKEYS (sizeof(key_pool) / sizeof(key_pool[0]))

static const char *const text_pool[] = {
    "\"", "\\", "{", "}", "[", "]", ",", ":", "0", "-", "e", ".", " ", "n", "\x80", "\xc3",
    "\x01", "1", "\"a\":1,", "\"op\":\"c\",", "null", "\\u0000", "\\ud800", "\xed\xa0\x80",
    "\xc3\xa9", "9999999999999999999", "1e999", "\t", "\"\":",
};
#define NTEXT (sizeof(text_pool) / sizeof(text_pool[0]))

/* all the objects and arrays of a tree */
static void collect(json_t *j, json_t **nodes, size_t *n, size_t cap)
{
    const char *k;
    json_t *v;
    size_t i;

    if (*n >= cap)
        return;
    if (json_is_object(j)) {
        nodes[(*n)++] = j;
        json_object_foreach(j, k, v) collect(v, nodes, n, cap);
    } else if (json_is_array(j)) {
        nodes[(*n)++] = j;
        json_array_foreach(j, i, v) collect(v, nodes, n, cap);
    }
}

/* One structural change through jansson, then written in a random style. */
static char *mutate_tree(const char *doc, size_t len, size_t *outlen)
{
    json_t *root = json_loadb(doc, len, JSON_DECODE_ANY, NULL), *nodes[4096], *node, *nv;
    size_t n = 0, flags, i, changes = 1 + rndn(3);
    char *text;

    if (!root)
        return NULL;
    collect(root, nodes, &n, 4096);
    for (i = 0; i < changes && n; i++) {
        node = nodes[rndn(n)];
        nv = json_loads(value_pool[rndn(NPOOL)], JSON_DECODE_ANY, NULL);
        if (!nv) /* duplicate keys do not survive jansson: keep the text form */
            nv = json_string(value_pool[rndn(NPOOL)]);
        if (json_is_object(node)) {
            size_t sz = json_object_size(node), pick = rndn(sz + 2);
            const char *k;
            json_t *v;
            switch (rndn(3)) {
            case 0: /* replace or add a member */
                if (pick < sz) {
                    json_object_foreach(node, k, v) {
                        if (pick-- == 0) {
                            json_object_set(node, k, nv);
                            break;
                        }
                    }
                } else {
                    json_object_set(node, key_pool[rndn(NKEYS)], nv);
                }
                break;
            case 1: /* delete a member */
                json_object_foreach(node, k, v) {
                    if (pick-- == 0) {
                        json_object_del(node, k);
                        break;
                    }
                }
                break;
            default: /* a member of a known name */
                json_object_set(node, key_pool[rndn(NKEYS)], nv);
            }
        } else if (json_array_size(node)) {
            json_array_set(node, rndn(json_array_size(node)), nv);
        } else {
            json_array_append(node, nv);
        }
        json_decref(nv);
        n = 0; /* the tree changed: collect again */
        collect(root, nodes, &n, 4096);
    }
    flags = JSON_ENCODE_ANY;
    switch (rndn(6)) {
    case 0: flags |= JSON_INDENT(2); break;
    case 1: flags |= JSON_ENSURE_ASCII | JSON_COMPACT; break;
    case 2: flags |= JSON_ESCAPE_SLASH | JSON_COMPACT; break;
    case 3: flags |= JSON_SORT_KEYS | JSON_COMPACT; break;
    default: flags |= JSON_COMPACT;
    }
    text = json_dumps(root, flags);
    json_decref(root);
    if (!text)
        return NULL;
    *outlen = strlen(text);
    return text;
}

/* A textual change: bytes replaced, inserted, deleted, repeated, cut. */
static char *mutate_text(const char *doc, size_t len, size_t *outlen)
{
    sluice_buf_t b;
    size_t at = rndn(len + 1), n = 1 + rndn(8);
    const char *ins = text_pool[rndn(NTEXT)];
    char *out;

    sluice_buf_init(&b);
    switch (rndn(7)) {
    case 6: { /* a letter after a quote (mostly a key's first) as a \u escape */
        const char *p = doc, *hit = NULL;
        size_t skip = rndn(64);
        while ((p = memchr(p, '"', len - (size_t)(p - doc))) && (size_t)(p + 1 - doc) < len) {
            if ((p[1] >= 'a' && p[1] <= 'z') || (p[1] >= 'A' && p[1] <= 'Z')) {
                hit = p + 1;
                if (skip-- == 0)
                    break;
            }
            p++;
        }
        if (!hit) {
            sluice_buf_append(&b, doc, len);
            break;
        }
        sluice_buf_append(&b, doc, (size_t)(hit - doc));
        sluice_buf_printf(&b, rndn(2) ? "\\u%04x" : "\\u%04X", (unsigned char)*hit);
        sluice_buf_append(&b, hit + 1, len - (size_t)(hit + 1 - doc));
        break;
    }
    case 0: /* replace a byte */
        sluice_buf_append(&b, doc, at);
        sluice_buf_puts(&b, ins);
        if (at < len)
            sluice_buf_append(&b, doc + at + 1, len - at - 1);
        break;
    case 1: /* insert */
        sluice_buf_append(&b, doc, at);
        sluice_buf_puts(&b, ins);
        sluice_buf_append(&b, doc + at, len - at);
        break;
    case 2: /* delete a run */
        sluice_buf_append(&b, doc, at);
        if (at + n < len)
            sluice_buf_append(&b, doc + at + n, len - at - n);
        break;
    case 3: /* repeat a run */
        if (at + n > len)
            n = len - at;
        sluice_buf_append(&b, doc, at + n);
        sluice_buf_append(&b, doc + at, len - at);
        break;
    case 4: { /* a value token replaced by a pool value (dup keys survive) */
        const char *p = doc, *hit = NULL;
        size_t skip = rndn(16);
        while ((p = strstr(p, "null")) && (size_t)(p - doc) < len) {
            hit = p;
            if (skip-- == 0)
                break;
            p += 4;
        }
        if (!hit) {
            sluice_buf_append(&b, doc, len);
            break;
        }
        sluice_buf_append(&b, doc, (size_t)(hit - doc));
        sluice_buf_puts(&b, value_pool[rndn(NPOOL)]);
        sluice_buf_append(&b, hit + 4, len - (size_t)(hit + 4 - doc));
        break;
    }
    default: /* cut */
        sluice_buf_append(&b, doc, at);
    }
    out = dupmem(b.data ? b.data : "", b.len);
    *outlen = b.len;
    sluice_buf_cleanup(&b);
    return out;
}

/* ---------------------------------------------------------------------- */
/* the base corpus */

static void load_fixtures(corpus_t *c)
{
    DIR *d = opendir(FIXDIR);
    struct dirent *de;
    char path[1024];

    assert_non_null(d);
    while ((de = readdir(d))) {
        size_t len;
        char *text;
        if (!ends_with(de->d_name, ".json") && !ends_with(de->d_name, ".jsonl") &&
            !ends_with(de->d_name, ".txt"))
            continue;
        snprintf(path, sizeof(path), "%s/%s", FIXDIR, de->d_name);
        text = slurp(path, &len);
        assert_non_null(text);
        add_lines(c, NULL, 0, text, len, ends_with(de->d_name, ".json"), -1);
        free(text);
    }
    closedir(d);
}

static void load_cases(corpus_t *c)
{
    DIR *d = opendir(CASEDIR);
    struct dirent *de;
    char dir[1024], path[1100];

    assert_non_null(d);
    while ((de = readdir(d))) {
        size_t len, klen = 0;
        char *text, *key;
        int opt;
        if (de->d_name[0] == '.')
            continue;
        snprintf(dir, sizeof(dir), "%s/%s", CASEDIR, de->d_name);
        snprintf(path, sizeof(path), "%s/value.avsc", dir);
        if ((text = slurp(path, &len))) { /* Avro: not this decoder's */
            free(text);
            continue;
        }
        opt = case_config(dir);
        snprintf(path, sizeof(path), "%s/key", dir);
        key = slurp(path, &klen);
        snprintf(path, sizeof(path), "%s/input", dir);
        if ((text = slurp(path, &len))) {
            add(c, key, klen, text, len, opt);
            free(text);
        }
        snprintf(path, sizeof(path), "%s/input.jsonl", dir);
        if ((text = slurp(path, &len))) {
            add_lines(c, key, klen, text, len, 0, opt);
            free(text);
        }
        free(key);
    }
    closedir(d);
}

static size_t rounds(void)
{
    const char *s = getenv("SLUICE_FAST_ROUNDS");

    return s && atoi(s) > 0 ? (size_t)atoi(s) : 1;
}

static void seed(void)
{
    const char *s = getenv("SLUICE_FAST_SEED");

    rng_state = s && *s ? (strtoull(s, NULL, 0) + 1) * 0x9E3779B97F4A7C15u : 0x9E3779B97F4A7C15u;
}

/* ---------------------------------------------------------------------- */
/* tests */

/* Every fixture line and decode case input, unchanged, under every option
 * set; keys both as keys and as values. */
static void test_decode_fast_corpus(void **state)
{
    corpus_t c = {0};
    pair_t p;
    sluice_json_decoder_stats_t st;
    size_t i, k;

    (void)state;
    setup_configs();
    load_fixtures(&c);
    load_cases(&c);
    pair_init(&p);
    for (i = 0; i < c.n; i++) {
        msg_t keyed = c.m[i];
        for (k = 0; k < nconfigs; k++)
            check(&p, &c.m[i], k);
        keyed.key = c.m[i].val; /* the document as a record key, too */
        keyed.klen = c.m[i].vlen;
        keyed.val = "{\"op\":\"c\",\"source\":{},\"after\":null}";
        keyed.vlen = strlen(keyed.val);
        check(&p, &keyed, 0);
    }
    pair_stats(&p, &st);
    print_message("corpus: %zu messages, %zu comparisons (%zu accepted, %zu rejected); fast path "
                  "%llu, fallback %llu; schema cache %llu hits, %llu misses\n",
                  c.n, p.compared, p.accepted, p.rejected, (unsigned long long)st.fast,
                  (unsigned long long)st.fallback, (unsigned long long)st.cache_hits,
                  (unsigned long long)st.cache_misses);
    assert_true(c.n > 100);
    assert_true(st.fast > st.fallback); /* the fast path carries the real shapes */
    assert_true(p.split_compared > 50);  /* the fixtures with schemas, held split */
    pair_free(&p);
    corpus_free(&c);
}

/* Generated PostgreSQL events: all of them through the fast path. */
static void test_decode_fast_generated(void **state)
{
    corpus_t c = {0};
    pair_t p;
    sluice_json_decoder_stats_t st;
    size_t i;

    (void)state;
    seed();
    setup_configs();
    add_generated(&c, 2000);
    pair_init(&p);
    for (i = 0; i < c.n; i++)
        check(&p, &c.m[i], 0);
    pair_stats(&p, &st);
    print_message("generated: %zu events; fast %llu, fallback %llu\n", c.n,
                  (unsigned long long)st.fast, (unsigned long long)st.fallback);
    assert_int_equal(p.accepted, c.n);
    assert_int_equal(st.fallback, 0);
    assert_int_equal(st.fast, 2 * c.n); /* key and value */
    assert_int_equal(st.cache_misses, 2); /* one value schema, one key schema */
    /* every generated message with schemas (every other one) has a key and
     * a value of the layout the worker holds split, and their split decode
     * takes the fast path too */
    assert_int_equal(p.split_compared, c.n / 2);
    sluice_json_decoder_get_stats(p.split[0], &st);
    assert_int_equal(st.fallback, 0);
    assert_int_equal(st.fast, 2 * (c.n / 2)); /* key and value */
    pair_free(&p);
    corpus_free(&c);
}

/* Mutated and malformed messages: structural (through jansson, written in
 * several styles) and textual (bytes replaced, inserted, cut...). */
static void test_decode_fast_mutations(void **state)
{
    corpus_t base = {0};
    pair_t p;
    sluice_json_decoder_stats_t st;
    size_t i, r, m, nr = rounds(), per = 48;

    (void)state;
    seed();
    setup_configs();
    load_fixtures(&base);
    load_cases(&base);
    add_generated(&base, 40);
    pair_init(&p);
    for (r = 0; r < nr; r++) {
        for (i = 0; i < base.n; i++) {
            const msg_t *b = &base.m[i];
            for (m = 0; m < per; m++) {
                msg_t mut = *b;
                char *text;
                size_t len;
                size_t cfg = b->opt >= 0 && rndn(2) ? (size_t)b->opt : rndn(nconfigs);
                if (m % 2 == 0)
                    text = mutate_tree(b->val, b->vlen, &len);
                else
                    text = mutate_text(b->val, b->vlen, &len);
                if (!text)
                    continue;
                mut.val = text;
                mut.vlen = len;
                if (m % 8 == 7 && b->key) { /* the key mutated instead */
                    mut.val = b->val;
                    mut.vlen = b->vlen;
                    mut.key = text;
                    mut.klen = len;
                }
                check(&p, &mut, cfg);
                free(text);
            }
        }
    }
    pair_stats(&p, &st);
    print_message("mutations: %zu comparisons (%zu accepted, %zu rejected, %zu held split); "
                  "fast path %llu, fallback %llu\n",
                  p.compared, p.accepted, p.rejected, p.split_compared,
                  (unsigned long long)st.fast, (unsigned long long)st.fallback);
    assert_true(p.accepted > 1000 && p.rejected > 1000);
    assert_true(p.split_compared > 1000); /* mutated payloads behind a valid schema */
    pair_free(&p);
    corpus_free(&base);
}

/* A cache of two entries and many schemas: evictions while earlier events
 * are still alive, and their names and types must stay intact. */
static void test_decode_fast_eviction(void **state)
{
    enum { N = 24, TABLES = 5 };
    sluice_json_decoder_t *fast = sluice_json_decoder_new(NULL);
    sluice_json_decoder_t *ref = sluice_json_decoder_new(NULL);
    sluice_event_t evs[N], er;
    sluice_json_decoder_stats_t st;
    sluice_buf_t b, schema, j1, j2;
    char *docs[N];
    size_t i;

    (void)state;
    assert_non_null(fast);
    assert_non_null(ref);
    sluice_json_decoder_set_reference(ref, 1);
    assert_int_equal(sluice_json_decoder_set_cache_cap(fast, 2), 0);
    sluice_buf_init(&b);
    sluice_buf_init(&schema);
    sluice_buf_init(&j1);
    sluice_buf_init(&j2);
    sluice_event_init(&er);
    for (i = 0; i < N; i++) {
        char table[32];
        sluice_err_t err;
        snprintf(table, sizeof(table), "t%zu", i % TABLES);
        sluice_buf_reset(&schema);
        sluice_buf_printf(&schema, pg_schema_fmt, table, table, table);
        sluice_buf_reset(&b);
        sluice_buf_printf(&b, "{\"schema\":%s,\"payload\":", schema.data);
        pg_payload(&b, (long)i + 1, table);
        sluice_buf_putc(&b, '}');
        docs[i] = dupmem(b.data, b.len);
        sluice_event_init(&evs[i]);
        if (sluice_json_decoder_value(fast, docs[i], b.len, &evs[i], &err) < 0)
            fail_msg("%s", err.msg);
    }
    sluice_json_decoder_get_stats(fast, &st);
    assert_int_equal(st.fast, N);
    assert_true(st.cache_evictions >= N - 2 - 2 * (N / TABLES));
    for (i = 0; i < N; i++) {
        sluice_err_t err;
        sluice_event_reset(&er);
        assert_int_equal(sluice_json_decoder_value(ref, docs[i], strlen(docs[i]), &er, &err), 0);
        if (!same_event(&evs[i], &er))
            fail_msg("event %zu after evictions: %s", i, diff);
        sluice_buf_reset(&j1);
        sluice_buf_reset(&j2);
        sluice_event_to_json(&evs[i], &j1);
        sluice_event_to_json(&er, &j2);
        assert_string_equal(j1.data, j2.data);
        sluice_event_cleanup(&evs[i]);
        free(docs[i]);
    }
    sluice_event_cleanup(&er);
    sluice_buf_cleanup(&b);
    sluice_buf_cleanup(&schema);
    sluice_buf_cleanup(&j1);
    sluice_buf_cleanup(&j2);
    sluice_json_decoder_destroy(fast);
    sluice_json_decoder_destroy(ref);
}

/* Nested JSON values (schemaless objects, maps, structs) are written as
 * json_dumps(JSON_COMPACT) writes them: random documents, compared through
 * a schemaless column. */
static void random_json(sluice_buf_t *b, int depth)
{
    static const char *const strs[] = {
        "\"\"", "\"a\"", "\"\\\"\"", "\"\\\\\"", "\"\\/\"", "\"\\b\\f\\n\\r\\t\"",
        "\"\\u0001\\u001f\\u007f\"", "\"\\u00e9\"", "\"\xc3\xa9\"", "\"\\ud834\\udd1e\"",
        "\"\\u2028\"", "\"x y\"",
    };
    static const char *const nums[] = {
        "0", "-0", "12", "-7", "1.0", "0.1", "-0.0", "1e5", "1E+5", "1e-5", "2.5e-300",
        "123456789012.5", "1.7976931348623157e308", "5e-324", "4.35", "100000000000000000000.0",
        "3.141592653589793", "9007199254740993.0", "1e21", "1e-7", "0.000001",
    };
    size_t i, n;

    switch (depth > 3 ? rndn(3) : rndn(6)) {
    case 0:
        sluice_buf_puts(b, strs[rndn(sizeof(strs) / sizeof(strs[0]))]);
        return;
    case 1:
        sluice_buf_puts(b, nums[rndn(sizeof(nums) / sizeof(nums[0]))]);
        return;
    case 2:
        sluice_buf_puts(b, rndn(3) == 0 ? "null" : rndn(2) ? "true" : "false");
        return;
    case 3:
        sluice_buf_putc(b, '[');
        for (i = 0, n = rndn(4); i < n; i++) {
            if (i)
                sluice_buf_puts(b, rndn(2) ? "," : " , ");
            random_json(b, depth + 1);
        }
        sluice_buf_putc(b, ']');
        return;
    default:
        sluice_buf_puts(b, rndn(2) ? "{" : "{ ");
        for (i = 0, n = rndn(5); i < n; i++) {
            static const char *const keys[] = {"\"a\"", "\"b\"", "\"\\u0063\"", "\"d e\"",
                                               "\"\xc3\xa9\"", "\"a\""};
            if (i)
                sluice_buf_putc(b, ',');
            sluice_buf_puts(b, keys[rndn(sizeof(keys) / sizeof(keys[0]))]);
            sluice_buf_puts(b, rndn(2) ? ":" : " : ");
            random_json(b, depth + 1);
        }
        sluice_buf_putc(b, '}');
    }
}

static void test_decode_fast_json_text(void **state)
{
    pair_t p;
    sluice_buf_t b;
    size_t i;

    (void)state;
    seed();
    setup_configs();
    pair_init(&p);
    sluice_buf_init(&b);
    for (i = 0; i < 20000; i++) {
        msg_t m = {0};
        sluice_buf_reset(&b);
        sluice_buf_puts(&b, "{\"op\":\"c\",\"source\":{\"connector\":\"postgresql\"},\"after\":"
                            "{\"doc\":");
        random_json(&b, 0);
        sluice_buf_puts(&b, ",\"arr\":[");
        random_json(&b, 1);
        sluice_buf_puts(&b, "]}}");
        m.val = b.data;
        m.vlen = b.len;
        check(&p, &m, rndn(2) ? 0 : 1);
    }
    assert_int_equal(p.accepted, p.compared);
    sluice_buf_cleanup(&b);
    pair_free(&p);
}

/* Nesting at jansson's depth limit (2048 containers), in a column of a
 * schemaless envelope, of an envelope with a schema, and in a key. */
static void test_decode_fast_depth(void **state)
{
    static const int depths[] = {1, 100, 2040, 2044, 2045, 2046, 2047, 2048, 2049, 3000};
    pair_t p;
    sluice_buf_t b;
    size_t i, shape;
    int d;

    (void)state;
    setup_configs();
    pair_init(&p);
    sluice_buf_init(&b);
    for (shape = 0; shape < 3; shape++) {
        for (i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
            msg_t m = {0};
            sluice_buf_reset(&b);
            if (shape == 1)
                sluice_buf_puts(&b, "{\"schema\":null,\"payload\":");
            sluice_buf_puts(&b, shape == 2 ? "{\"k\":" : "{\"op\":\"c\",\"source\":{},"
                                                         "\"after\":{\"doc\":");
            for (d = 0; d < depths[i]; d++)
                sluice_buf_putc(&b, '[');
            for (d = 0; d < depths[i]; d++)
                sluice_buf_putc(&b, ']');
            sluice_buf_puts(&b, shape == 2 ? "}" : "}}");
            if (shape == 1)
                sluice_buf_putc(&b, '}');
            m.val = b.data;
            m.vlen = b.len;
            if (shape == 2) {
                m.key = b.data;
                m.klen = b.len;
                m.val = "{\"op\":\"c\",\"source\":{},\"after\":null}";
                m.vlen = strlen(m.val);
            }
            check(&p, &m, 0);
        }
    }
    assert_true(p.accepted > 0 && p.rejected > 0);
    sluice_buf_cleanup(&b);
    pair_free(&p);
}

/* Wide rows (more columns than the fast path's small tables), with and
 * without a schema, with a column repeated and one undeclared. */
static void test_decode_fast_wide(void **state)
{
    pair_t p;
    sluice_buf_t b, row;
    sluice_json_decoder_stats_t st;
    size_t n, i, variant;

    (void)state;
    setup_configs();
    pair_init(&p);
    sluice_buf_init(&b);
    sluice_buf_init(&row);
    for (n = 250; n <= 300; n += 50) {
        for (variant = 0; variant < 4; variant++) {
            msg_t m = {0};
            sluice_buf_reset(&row);
            sluice_buf_putc(&row, '{');
            for (i = 0; i < n; i++)
                sluice_buf_printf(&row, "%s\"c%zu\":%zu", i ? "," : "",
                                  variant == 2 && i == n - 1 ? (size_t)7 : i, i);
            if (variant == 3)
                sluice_buf_puts(&row, ",\"undeclared\":1");
            sluice_buf_putc(&row, '}');
            sluice_buf_reset(&b);
            if (variant % 2) {
                sluice_buf_puts(&b, "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":"
                                    "\"struct\",\"optional\":true,\"field\":\"after\","
                                    "\"fields\":[");
                for (i = 0; i < n; i++)
                    sluice_buf_printf(&b, "%s{\"type\":\"int64\",\"optional\":true,"
                                          "\"field\":\"c%zu\"}",
                                      i ? "," : "", i);
                sluice_buf_puts(&b, "]}]},\"payload\":");
            }
            sluice_buf_printf(&b, "{\"op\":\"c\",\"source\":{},\"after\":%s}", row.data);
            if (variant % 2)
                sluice_buf_putc(&b, '}');
            m.val = b.data;
            m.vlen = b.len;
            check(&p, &m, 0);
        }
    }
    pair_stats(&p, &st);
    assert_true(st.fast >= 4);
    sluice_buf_cleanup(&b);
    sluice_buf_cleanup(&row);
    pair_free(&p);
}

/* The forced reference path, and the switch read at creation. */
static void test_decode_fast_reference_switch(void **state)
{
    const char *doc = "{\"op\":\"c\",\"source\":{\"connector\":\"postgresql\"},\"after\":{\"a\":1}}";
    sluice_json_decoder_t *dec;
    sluice_json_decoder_stats_t st;
    sluice_event_t ev;
    sluice_err_t err;

    (void)state;
    sluice_event_init(&ev);
    setenv("SLUICE_DECODE_JSON_REFERENCE", "1", 1);
    dec = sluice_json_decoder_new(NULL);
    unsetenv("SLUICE_DECODE_JSON_REFERENCE");
    assert_non_null(dec);
    assert_int_equal(sluice_json_decoder_value(dec, doc, strlen(doc), &ev, &err), 0);
    sluice_json_decoder_get_stats(dec, &st);
    assert_int_equal(st.reference, 1);
    assert_int_equal(st.fast, 0);
    sluice_json_decoder_destroy(dec);

    dec = sluice_json_decoder_new(NULL);
    sluice_event_reset(&ev);
    assert_int_equal(sluice_json_decoder_value(dec, doc, strlen(doc), &ev, &err), 0);
    sluice_json_decoder_get_stats(dec, &st);
    assert_int_equal(st.fast, 1);
    assert_int_equal(st.reference, 0);
    sluice_json_decoder_destroy(dec);
    sluice_event_cleanup(&ev);
}

/* Which values are held split, and the spans they are held as. */
static void test_decode_fast_envelope_split(void **state)
{
    static const struct {
        const char *value, *known;
        int split;
        const char *schema, *payload;
    } cases[] = {
        {"{\"schema\":{\"a\":1},\"payload\":{\"x\":1}}", NULL, 1, "{\"a\":1}", "{\"x\":1}"},
        {"{\"schema\":{\"a\":1},\"payload\":{\"x\":1}}", "{\"a\":1}", 1, "{\"a\":1}", "{\"x\":1}"},
        /* a known schema of the same length but other bytes is not it */
        {"{\"schema\":{\"a\":1},\"payload\":{\"x\":1}}", "{\"a\":2}", 0, NULL, NULL},
        {"{\"schema\":{\"a\":1},\"payload\":{\"x\":1}}", "{\"a\":1,\"b\":2}", 0, NULL, NULL},
        /* P is whatever lies before the last brace: decoding judges it */
        {"{\"schema\":{\"a\":1},\"payload\":{\"x\":1},\"extra\":2}", NULL, 1, "{\"a\":1}",
         "{\"x\":1},\"extra\":2"},
        {"{\"schema\":{\"a\":1},\"payload\":null}", NULL, 1, "{\"a\":1}", "null"},
        /* any other layout is kept whole */
        {" {\"schema\":{\"a\":1},\"payload\":{\"x\":1}}", NULL, 0, NULL, NULL},
        {"{\"schema\":{\"a\":1},\"payload\":{\"x\":1}}\n", NULL, 0, NULL, NULL},
        {"{\"schema\": {\"a\":1},\"payload\":{\"x\":1}}", NULL, 0, NULL, NULL},
        {"{\"schema\":{\"a\":1}, \"payload\":{\"x\":1}}", NULL, 0, NULL, NULL},
        {"{\"schema\":null,\"payload\":{\"x\":1}}", NULL, 0, NULL, NULL},
        {"{\"payload\":{\"x\":1},\"schema\":{\"a\":1}}", NULL, 0, NULL, NULL},
        {"{\"schema\":{\"a\":1},\"payload\":}", NULL, 0, NULL, NULL},
        {"{\"schema\":{\"a\":1}", NULL, 0, NULL, NULL},
        {"{\"schema\":{\"a\":1,\"payload\":{\"x\":1}}", NULL, 0, NULL, NULL},
        {"{\"op\":\"c\",\"after\":{\"id\":1}}", NULL, 0, NULL, NULL},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *v = cases[i].value, *k = cases[i].known;
        size_t so = 0, sl = 0, po = 0, pl = 0;
        int rc = sluice_json_envelope_split(v, strlen(v), k, k ? strlen(k) : 0, &so, &sl, &po, &pl);
        if (rc != cases[i].split)
            fail_msg("case %zu (%s, known %s): split %d, expected %d", i, v, k ? k : "none", rc,
                     cases[i].split);
        if (rc) {
            char joined[256];
            assert_int_equal(sl, strlen(cases[i].schema));
            assert_memory_equal(v + so, cases[i].schema, sl);
            assert_int_equal(pl, strlen(cases[i].payload));
            assert_memory_equal(v + po, cases[i].payload, pl);
            assert_int_equal(sluice_json_envelope_size(sl, pl), strlen(v));
            sluice_json_envelope_join(joined, v + so, sl, v + po, pl);
            assert_memory_equal(joined, v, strlen(v));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_fast_corpus),
        cmocka_unit_test(test_decode_fast_generated),
        cmocka_unit_test(test_decode_fast_mutations),
        cmocka_unit_test(test_decode_fast_eviction),
        cmocka_unit_test(test_decode_fast_json_text),
        cmocka_unit_test(test_decode_fast_depth),
        cmocka_unit_test(test_decode_fast_wide),
        cmocka_unit_test(test_decode_fast_reference_switch),
        cmocka_unit_test(test_decode_fast_envelope_split),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
