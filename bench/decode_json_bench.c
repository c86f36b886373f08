/* JSON decode micro-benchmark: the JSON decoder's reference path (jansson
 * parses every message, the schema tree is read per message) against its
 * fast path (schema cache + scanner), on one core, for Debezium 2.7
 * PostgreSQL change events of one table (customers: id int4, first_name,
 * last_name, email text, balance numeric as a string, updated_at
 * ZonedTimestamp, active bool), generated here:
 *   - payload-only values (value.converter.schemas.enable=false, ~600 B),
 *   - the same rows as {schema,payload} envelopes (schemas.enable=true, ~3 KB),
 * with c/u/d/r ops in turn (before null on c/r/u, after null on d; updates
 * carry no before, as with REPLICA IDENTITY DEFAULT), source blocks with
 * version, connector, name, ts_ms, snapshot, db, sequence, ts_us, ts_ns,
 * schema, table, txId, lsn, xmin, and transaction null. Prints events/s and
 * MB/s per path and shape (best of --runs runs over --events events), the
 * with-schemas / payload-only ratio of each path and the fast/reference
 * speed-up; checks that every decode succeeds, that both paths decode every
 * event alike (sluice_event_to_json) and that the fast path took them all.
 *
 * Not wired into CMake; build by hand against a Release build of sluice_core:
 *   cmake -S . -B /tmp/build-fast -DCMAKE_BUILD_TYPE=Release && cmake --build /tmp/build-fast -j2
 *   cc -O2 -Iinclude -Isrc bench/decode_json_bench.c /tmp/build-fast/libsluice_core.a \
 *      $(pkg-config --libs avro-c jansson libcurl libpq rdkafka yaml-0.1) -lm -lpthread \
 *      -o /tmp/decode_json_bench
 *   /tmp/decode_json_bench [--events N] [--runs R] [--keys] [--tables T]
 *                          [--only fast|reference]
 * (--keys: decode the record key before each value too; --tables: events of
 * T tables (customers0..) in turn, each with its own schema; --only: one
 * path, e.g. under perf or callgrind.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decode_json_int.h"
#include "sluice/buf.h"
#include "sluice/decode_json.h"
#include "sluice/event.h"

static const char value_schema[] =
    "{\"type\":\"struct\",\"fields\":[{\"type\":\"struct\",\"fields\":["
    "{\"type\":\"int32\",\"optional\":false,\"default\":0,\"field\":\"id\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"first_name\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"last_name\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"email\"},"
    "{\"type\":\"string\",\"optional\":true,\"field\":\"balance\"},"
    "{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.time.ZonedTimestamp\","
    "\"version\":1,\"field\":\"updated_at\"},"
    "{\"type\":\"boolean\",\"optional\":true,\"default\":true,\"field\":\"active\"}],"
    "\"optional\":true,\"name\":\"dbserver1.public.%s.Value\",\"field\":\"before\"},"
    "{\"type\":\"struct\",\"fields\":["
    "{\"type\":\"int32\",\"optional\":false,\"default\":0,\"field\":\"id\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"first_name\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"last_name\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"email\"},"
    "{\"type\":\"string\",\"optional\":true,\"field\":\"balance\"},"
    "{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.time.ZonedTimestamp\","
    "\"version\":1,\"field\":\"updated_at\"},"
    "{\"type\":\"boolean\",\"optional\":true,\"default\":true,\"field\":\"active\"}],"
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
    "\"version\":1,\"field\":\"source\"},{\"type\":\"struct\",\"fields\":[{\"type\":\"string\","
    "\"optional\":false,\"field\":\"id\"},{\"type\":\"int64\",\"optional\":false,\"field\":"
    "\"total_order\"},{\"type\":\"int64\",\"optional\":false,\"field\":"
    "\"data_collection_order\"}],\"optional\":true,\"name\":\"event.block\",\"version\":1,"
    "\"field\":\"transaction\"},{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"},{\"type\":\"int64\","
    "\"optional\":true,\"field\":\"ts_us\"},{\"type\":\"int64\",\"optional\":true,\"field\":"
    "\"ts_ns\"}],\"optional\":false,\"name\":\"dbserver1.public.%s.Envelope\","
    "\"version\":2}";

static const char key_schema[] =
    "{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":false,\"default\":0,"
    "\"field\":\"id\"}],\"optional\":false,\"name\":\"dbserver1.public.%s.Key\"}";

static const char *const first[] = {"Sally", "George", "Edward", "Anne", "Zoë", "Jürgen"};
static const char *const last[] = {"Thomas", "Bailey", "Walker", "Kretchmar", "O'Neil", "Nguyễn"};

static void row(sluice_buf_t *b, long id, long version)
{
    sluice_buf_printf(b,
                      "{\"id\":%ld,\"first_name\":\"%s\",\"last_name\":\"%s\",\"email\":"
                      "\"customer%ld@example.com\",\"balance\":\"%ld.%02ld\",\"updated_at\":"
                      "\"2024-06-%02ldT%02ld:%02ld:%02ld.%06ldZ\",\"active\":%s}",
                      id, first[id % 6], last[(id / 6) % 6], id, (id * 7919 + version) % 100000,
                      (id + version) % 100, 1 + id % 28, id % 24, id % 60, (id / 60) % 60,
                      (id * 104729) % 1000000, (id + version) % 5 ? "true" : "false");
}

/* One Debezium 2.7 PostgreSQL value without its schema. */
static void payload(sluice_buf_t *b, long i, const char *table)
{
    static const char ops[] = "cuud";
    char op = ops[i % 4];
    long id = 1000 + i / 4, lsn = 24023128 + i * 376, ts = 1718000000000L + i;

    sluice_buf_puts(b, "{\"before\":");
    if (op == 'd')
        row(b, id, i);
    else
        sluice_buf_puts(b, "null");
    sluice_buf_puts(b, ",\"after\":");
    if (op == 'd')
        sluice_buf_puts(b, "null");
    else
        row(b, id, i);
    sluice_buf_printf(b,
                      ",\"source\":{\"version\":\"2.7.3.Final\",\"connector\":\"postgresql\","
                      "\"name\":\"dbserver1\",\"ts_ms\":%ld,\"snapshot\":\"false\",\"db\":"
                      "\"inventory\",\"sequence\":\"[\\\"%ld\\\",\\\"%ld\\\"]\",\"ts_us\":%ld123,"
                      "\"ts_ns\":%ld123456,\"schema\":\"public\",\"table\":\"%s\","
                      "\"txId\":%ld,\"lsn\":%ld,\"xmin\":null},\"transaction\":null,\"op\":\"%c\","
                      "\"ts_ms\":%ld,\"ts_us\":%ld456,\"ts_ns\":%ld456789}",
                      ts, lsn - 376, lsn, ts, ts, table, 780 + i / 2, lsn, op, ts + 35, ts + 35,
                      ts + 35);
}

typedef struct {
    char **val, **key;
    size_t *vlen, *klen;
    size_t n, bytes;
} set_t;

static void set_add(set_t *s, size_t i, const sluice_buf_t *v, const sluice_buf_t *k)
{
    s->val[i] = malloc(v->len + 1);
    s->key[i] = malloc(k->len + 1);
    if (!s->val[i] || !s->key[i]) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    memcpy(s->val[i], v->data, v->len + 1);
    memcpy(s->key[i], k->data, k->len + 1);
    s->vlen[i] = v->len;
    s->klen[i] = k->len;
    s->bytes += v->len;
}

static void set_alloc(set_t *s, size_t n)
{
    s->n = n;
    s->bytes = 0;
    s->val = calloc(n, sizeof(char *));
    s->key = calloc(n, sizeof(char *));
    s->vlen = calloc(n, sizeof(size_t));
    s->klen = calloc(n, sizeof(size_t));
    if (!s->val || !s->key || !s->vlen || !s->klen) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* events/s of one path over one set, best of `runs` */
static double run(const set_t *s, int reference, int keys, int runs)
{
    double best = 0;
    int r;

    for (r = 0; r < runs; r++) {
        sluice_json_decoder_t *dec = sluice_json_decoder_new(NULL);
        sluice_json_decoder_stats_t st;
        sluice_event_t ev;
        sluice_err_t err;
        double t0, dt;
        size_t i;

        if (!dec) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
        sluice_json_decoder_set_reference(dec, reference);
        sluice_event_init(&ev);
        t0 = now();
        for (i = 0; i < s->n; i++) {
            sluice_event_reset(&ev);
            if ((keys && sluice_json_decoder_key(dec, s->key[i], s->klen[i], &ev, &err) < 0) ||
                sluice_json_decoder_value(dec, s->val[i], s->vlen[i], &ev, &err) < 0) {
                fprintf(stderr, "event %zu: %s\n", i, err.msg);
                exit(1);
            }
        }
        dt = now() - t0;
        sluice_json_decoder_get_stats(dec, &st);
        if (!reference && st.fallback) {
            fprintf(stderr, "the fast path handed %llu messages to the reference path\n",
                    (unsigned long long)st.fallback);
            exit(1);
        }
        if (s->n / dt > best)
            best = s->n / dt;
        sluice_event_cleanup(&ev);
        sluice_json_decoder_destroy(dec);
    }
    return best;
}

/* Both paths decode every event alike. */
static void verify(const set_t *s)
{
    sluice_json_decoder_t *f = sluice_json_decoder_new(NULL), *r = sluice_json_decoder_new(NULL);
    sluice_event_t a, b;
    sluice_buf_t ja, jb;
    sluice_err_t err;
    size_t i;

    sluice_json_decoder_set_reference(r, 1);
    sluice_event_init(&a);
    sluice_event_init(&b);
    sluice_buf_init(&ja);
    sluice_buf_init(&jb);
    for (i = 0; i < s->n; i += 7) {
        sluice_event_reset(&a);
        sluice_event_reset(&b);
        sluice_buf_reset(&ja);
        sluice_buf_reset(&jb);
        if (sluice_json_decoder_key(f, s->key[i], s->klen[i], &a, &err) < 0 ||
            sluice_json_decoder_value(f, s->val[i], s->vlen[i], &a, &err) < 0 ||
            sluice_json_decoder_key(r, s->key[i], s->klen[i], &b, &err) < 0 ||
            sluice_json_decoder_value(r, s->val[i], s->vlen[i], &b, &err) < 0) {
            fprintf(stderr, "event %zu: %s\n", i, err.msg);
            exit(1);
        }
        sluice_event_to_json(&a, &ja);
        sluice_event_to_json(&b, &jb);
        if (ja.len != jb.len || memcmp(ja.data, jb.data, ja.len) != 0) {
            fprintf(stderr, "event %zu decodes differently:\nfast: %s\nref:  %s\n", i, ja.data,
                    jb.data);
            exit(1);
        }
    }
    sluice_buf_cleanup(&ja);
    sluice_buf_cleanup(&jb);
    sluice_event_cleanup(&a);
    sluice_event_cleanup(&b);
    sluice_json_decoder_destroy(f);
    sluice_json_decoder_destroy(r);
}

int main(int argc, char **argv)
{
    size_t n = 100000, i;
    int runs = 3, keys = 0, a, only = -1; /* -1 both, 0 fast, 1 reference */
    long tables = 1;
    set_t plain, schema;
    sluice_buf_t v, k, p;
    double rp, rs, fp, fs;

    for (a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--events") && a + 1 < argc)
            n = (size_t)strtoul(argv[++a], NULL, 10);
        else if (!strcmp(argv[a], "--runs") && a + 1 < argc)
            runs = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--keys"))
            keys = 1;
        else if (!strcmp(argv[a], "--tables") && a + 1 < argc)
            tables = atol(argv[++a]);
        else if (!strcmp(argv[a], "--only") && a + 1 < argc)
            only = !strcmp(argv[++a], "reference");
        else {
            fprintf(stderr, "usage: %s [--events N] [--runs R] [--keys] [--only fast|reference]\n",
                    argv[0]);
            return 2;
        }
    }
    if (n == 0 || runs < 1 || tables < 1)
        return 2;
    set_alloc(&plain, n);
    set_alloc(&schema, n);
    sluice_buf_init(&v);
    sluice_buf_init(&k);
    sluice_buf_init(&p);
    for (i = 0; i < n; i++) {
        long id = 1000 + (long)i / 4;
        char table[32];
        if (tables == 1)
            snprintf(table, sizeof(table), "customers");
        else
            snprintf(table, sizeof(table), "customers%ld", (long)i % tables);
        sluice_buf_reset(&p);
        payload(&p, (long)i, table);
        sluice_buf_reset(&k);
        sluice_buf_printf(&k, "{\"id\":%ld}", id);
        set_add(&plain, i, &p, &k);
        sluice_buf_reset(&v);
        sluice_buf_puts(&v, "{\"schema\":");
        sluice_buf_printf(&v, value_schema, table, table, table);
        sluice_buf_printf(&v, ",\"payload\":%s}", p.data);
        sluice_buf_reset(&k);
        sluice_buf_puts(&k, "{\"schema\":");
        sluice_buf_printf(&k, key_schema, table);
        sluice_buf_printf(&k, ",\"payload\":{\"id\":%ld}}", id);
        set_add(&schema, i, &v, &k);
    }
    sluice_buf_cleanup(&v);
    sluice_buf_cleanup(&k);
    sluice_buf_cleanup(&p);
    if (only < 0) {
        verify(&plain);
        verify(&schema);
    }

    printf("%zu events per shape, %ld table%s, best of %d runs, one core%s\n", n, tables,
           tables > 1 ? "s in turn" : "", runs, keys ? ", key + value decoded" : ", values decoded");
    printf("  payload-only:  %.0f B/event average\n", (double)plain.bytes / n);
    printf("  with schemas:  %.0f B/event average\n", (double)schema.bytes / n);
    rp = only != 0 ? run(&plain, 1, keys, runs) : 1;
    rs = only != 0 ? run(&schema, 1, keys, runs) : 1;
    fp = only != 1 ? run(&plain, 0, keys, runs) : 1;
    fs = only != 1 ? run(&schema, 0, keys, runs) : 1;
    printf("%-22s %14s %14s\n", "", "payload-only", "with schemas");
    if (only != 0)
        printf("%-22s %10.0f ev/s %10.0f ev/s   with/without %.2f\n", "jansson (reference)", rp,
               rs, rs / rp);
    if (only != 1) {
        printf("%-22s %10.0f ev/s %10.0f ev/s   with/without %.2f\n", "fast path", fp, fs,
               fs / fp);
        printf("%-22s %10.1f MB/s %10.1f MB/s\n", "fast path throughput",
               fp * plain.bytes / n / 1e6, fs * schema.bytes / n / 1e6);
    }
    if (only < 0)
        printf("%-22s %13.1fx %13.1fx\n", "fast / jansson", fp / rp, fs / rs);
    for (i = 0; i < n; i++) {
        free(plain.val[i]);
        free(plain.key[i]);
        free(schema.val[i]);
        free(schema.key[i]);
    }
    free(plain.val);
    free(plain.key);
    free(plain.vlen);
    free(plain.klen);
    free(schema.val);
    free(schema.key);
    free(schema.vlen);
    free(schema.klen);
    return 0;
}
