/* Decode micro-benchmark: the same change events of the demo's
 * inventory.products table (PostgreSQL connector) decoded from
 *   - Confluent-framed Avro (schemas/fullfillment.inventory.products-value.avsc,
 *     plan compiled once, as with the registry cache warm),
 *   - JsonConverter JSON with the embedded schema (schemas.enable=true),
 *   - JsonConverter JSON without schema,
 * printing events/s and MB/s for each, the Avro/JSON ratios, and peak RSS.
 * No assertion on timing; it checks only that every decode succeeds.
 *
 * Not wired into CMake yet; build by hand against a build of sluice_core:
 *   cc -O2 -Iinclude -Isrc bench/decode_bench.c BUILD/libsluice_core.a \
 *      $(pkg-config --libs avro-c jansson libcurl libpq rdkafka yaml-0.1) -lm -lpthread \
 *      -o /tmp/decode_bench
 *   /tmp/decode_bench [seconds-per-format] (run from the repository root)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "decode_avro_int.h"
#include "sluice/buf.h"
#include "sluice/decode_avro.h"
#include "sluice/decode_json.h"
#include "sluice/event.h"

#define NROWS 1024
#define SCHEMA_ID 11

static const char connect_schema[] =
    "{\"type\":\"struct\",\"fields\":[{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\","
    "\"optional\":false,\"field\":\"id\"},{\"type\":\"string\",\"optional\":false,\"field\":"
    "\"name\"},{\"type\":\"string\",\"optional\":true,\"field\":\"description\"},{\"type\":"
    "\"double\",\"optional\":true,\"field\":\"weight\"}],\"optional\":true,\"name\":"
    "\"fullfillment.inventory.products.Value\",\"field\":\"before\"},{\"type\":\"struct\","
    "\"fields\":[{\"type\":\"int32\",\"optional\":false,\"field\":\"id\"},{\"type\":\"string\","
    "\"optional\":false,\"field\":\"name\"},{\"type\":\"string\",\"optional\":true,\"field\":"
    "\"description\"},{\"type\":\"double\",\"optional\":true,\"field\":\"weight\"}],"
    "\"optional\":true,\"name\":\"fullfillment.inventory.products.Value\",\"field\":\"after\"},"
    "{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":"
    "\"version\"},{\"type\":\"string\",\"optional\":false,\"field\":\"connector\"},{\"type\":"
    "\"string\",\"optional\":false,\"field\":\"name\"},{\"type\":\"int64\",\"optional\":false,"
    "\"field\":\"ts_ms\"},{\"type\":\"string\",\"optional\":true,\"name\":"
    "\"io.debezium.data.Enum\",\"version\":1,\"parameters\":{\"allowed\":\"true,first,"
    "first_in_data_collection,last_in_data_collection,last,false,incremental\"},\"default\":"
    "\"false\",\"field\":\"snapshot\"},{\"type\":\"string\",\"optional\":false,\"field\":\"db\"},"
    "{\"type\":\"string\",\"optional\":true,\"field\":\"sequence\"},{\"type\":\"int64\","
    "\"optional\":true,\"field\":\"ts_us\"},{\"type\":\"int64\",\"optional\":true,\"field\":"
    "\"ts_ns\"},{\"type\":\"string\",\"optional\":false,\"field\":\"schema\"},{\"type\":"
    "\"string\",\"optional\":false,\"field\":\"table\"},{\"type\":\"int64\",\"optional\":true,"
    "\"field\":\"txId\"},{\"type\":\"int64\",\"optional\":true,\"field\":\"lsn\"},{\"type\":"
    "\"int64\",\"optional\":true,\"field\":\"xmin\"}],\"optional\":false,\"name\":"
    "\"io.debezium.connector.postgresql.Source\",\"field\":\"source\"},{\"type\":\"struct\","
    "\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},{\"type\":\"int64\","
    "\"optional\":false,\"field\":\"total_order\"},{\"type\":\"int64\",\"optional\":false,"
    "\"field\":\"data_collection_order\"}],\"optional\":true,\"name\":\"event.block\","
    "\"version\":1,\"field\":\"transaction\"},{\"type\":\"string\",\"optional\":false,\"field\":"
    "\"op\"},{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"},{\"type\":\"int64\","
    "\"optional\":true,\"field\":\"ts_us\"},{\"type\":\"int64\",\"optional\":true,\"field\":"
    "\"ts_ns\"}],\"optional\":false,\"name\":\"fullfillment.inventory.products.Envelope\","
    "\"version\":2}";

typedef struct {
    sluice_buf_t *msgs;
    size_t n, bytes;
} set_t;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "decode_bench: cannot read %s (run from the repository root)\n", path);
        exit(1);
    }
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
        exit(1);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Row i as an update (before and after) at a growing LSN. */
static void row_json(int i, int avro, sluice_buf_t *out)
{
    int v = i * 7919 % 1000;
    long lsn = 24000000 + 48L * i;
    const char *wrap_s = avro ? "{\"string\":" : "", *wrap_d = avro ? "{\"double\":" : "";
    const char *wrap_l = avro ? "{\"long\":" : "", *close = avro ? "}" : "";
    const char *value = avro ? "{\"fullfillment.inventory.products.Value\":" : "";
    int r;

    sluice_buf_reset(out);
    for (r = 0; r < 2; r++) {
        sluice_buf_printf(out,
                          "%s\"%s\":%s{\"id\":%d,\"name\":\"product %d rev %d\","
                          "\"description\":%s\"a longer description of product %d, v%d\"%s,"
                          "\"weight\":%s%d.%d%s}%s",
                          r ? "," : "{", r ? "after" : "before", value, 100 + i, 100 + i,
                          v + r, wrap_s, i, v + r, close, wrap_d, v, r * 5, close, close);
    }
    sluice_buf_printf(out,
                      ",\"source\":{\"version\":\"2.7.0.Final\",\"connector\":\"postgresql\","
                      "\"name\":\"fullfillment\",\"ts_ms\":%ld,\"snapshot\":%s\"false\"%s,"
                      "\"db\":\"postgres\",\"sequence\":%s\"[\\\"%ld\\\",\\\"%ld\\\"]\"%s,"
                      "\"ts_us\":null,\"ts_ns\":null,\"schema\":\"inventory\",\"table\":"
                      "\"products\",\"txId\":%s%d%s,\"lsn\":%s%ld%s,\"xmin\":null},"
                      "\"transaction\":null,\"op\":\"u\",\"ts_ms\":%s%ld%s,\"ts_us\":null,"
                      "\"ts_ns\":null}",
                      1718000000000L + i, wrap_s, close, wrap_s, lsn - 8, lsn, close, wrap_l,
                      5000 + i, close, wrap_l, lsn, close, wrap_l, 1718000000100L + i, close);
}

static void build(set_t *avro, set_t *json_schema, set_t *json_plain)
{
    size_t slen;
    char *schema = slurp("schemas/fullfillment.inventory.products-value.avsc", &slen);
    sluice_avro_encoder_t *enc;
    sluice_buf_t text;
    sluice_err_t err;
    int i;

    sluice_err_clear(&err);
    enc = sluice_avro_encoder_new(schema, slen, &err);
    if (!enc) {
        fprintf(stderr, "decode_bench: %s\n", err.msg);
        exit(1);
    }
    sluice_buf_init(&text);
    avro->msgs = calloc(NROWS, sizeof(sluice_buf_t));
    json_schema->msgs = calloc(NROWS, sizeof(sluice_buf_t));
    json_plain->msgs = calloc(NROWS, sizeof(sluice_buf_t));
    if (!avro->msgs || !json_schema->msgs || !json_plain->msgs)
        exit(1);
    for (i = 0; i < NROWS; i++) {
        row_json(i, 1, &text);
        sluice_buf_init(&avro->msgs[i]);
        if (sluice_avro_encoder_json(enc, text.data, text.len, SCHEMA_ID, &avro->msgs[i],
                                     &err) < 0) {
            fprintf(stderr, "decode_bench: %s\n%s\n", err.msg, text.data);
            exit(1);
        }
        row_json(i, 0, &text);
        sluice_buf_init(&json_plain->msgs[i]);
        sluice_buf_append(&json_plain->msgs[i], text.data, text.len);
        sluice_buf_init(&json_schema->msgs[i]);
        sluice_buf_printf(&json_schema->msgs[i], "{\"schema\":%s,\"payload\":%s}",
                          connect_schema, text.data);
        avro->bytes += avro->msgs[i].len;
        json_plain->bytes += json_plain->msgs[i].len;
        json_schema->bytes += json_schema->msgs[i].len;
    }
    avro->n = json_schema->n = json_plain->n = NROWS;
    sluice_buf_cleanup(&text);
    sluice_avro_encoder_destroy(enc);
    free(schema);
}

typedef int (*decode_fn)(void *dec, const void *buf, size_t len, sluice_event_t *ev,
                         sluice_err_t *err);

static int avro_value(void *dec, const void *buf, size_t len, sluice_event_t *ev,
                      sluice_err_t *err)
{
    return sluice_avro_decoder_value(dec, buf, len, ev, err);
}

static int json_value(void *dec, const void *buf, size_t len, sluice_event_t *ev,
                      sluice_err_t *err)
{
    return sluice_json_decoder_value(dec, buf, len, ev, err);
}

/* events/s over about `secs` seconds */
static double run(const char *name, const set_t *set, decode_fn fn, void *dec, double secs)
{
    sluice_event_t ev;
    sluice_err_t err;
    double t0, t1;
    long events = 0;
    size_t i;

    sluice_event_init(&ev);
    sluice_err_clear(&err);
    t0 = now();
    do {
        for (i = 0; i < set->n; i++) {
            sluice_event_reset(&ev);
            if (fn(dec, set->msgs[i].data, set->msgs[i].len, &ev, &err) < 0) {
                fprintf(stderr, "decode_bench: %s: %s\n", name, err.msg);
                exit(1);
            }
        }
        events += (long)set->n;
        t1 = now();
    } while (t1 - t0 < secs);
    sluice_event_cleanup(&ev);
    printf("%-22s %10.0f events/s  %8.1f MB/s  %6.0f bytes/event\n", name,
           (double)events / (t1 - t0),
           (double)events * ((double)set->bytes / (double)set->n) / (t1 - t0) / 1e6,
           (double)set->bytes / (double)set->n);
    return (double)events / (t1 - t0);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    set_t avro = {0}, json_schema = {0}, json_plain = {0};
    sluice_avro_decoder_t *adec = sluice_avro_decoder_new(NULL, NULL);
    sluice_json_decoder_t *jdec = sluice_json_decoder_new(NULL);
    size_t slen;
    char *schema = slurp("schemas/fullfillment.inventory.products-value.avsc", &slen);
    double a, js, jp;
    struct rusage ru;
    sluice_err_t err;
    int i;

    if (!adec || !jdec || secs <= 0)
        return 1;
    sluice_err_clear(&err);
    if (sluice_avro_decoder_add_schema(adec, SCHEMA_ID, schema, slen, &err) < 0) {
        fprintf(stderr, "decode_bench: %s\n", err.msg);
        return 1;
    }
    build(&avro, &json_schema, &json_plain);
    printf("decode_bench: %d distinct update events of inventory.products (before+after),"
           " %.1f s per format\n", NROWS, secs);
    a = run("avro (registry cached)", &avro, avro_value, adec, secs);
    js = run("json with schema", &json_schema, json_value, jdec, secs);
    jp = run("json without schema", &json_plain, json_value, jdec, secs);
    printf("avro / json-with-schema:    %.2fx\n", a / js);
    printf("avro / json-without-schema: %.2fx\n", a / jp);
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS: %ld KiB\n", ru.ru_maxrss);
    for (i = 0; i < NROWS; i++) {
        sluice_buf_cleanup(&avro.msgs[i]);
        sluice_buf_cleanup(&json_schema.msgs[i]);
        sluice_buf_cleanup(&json_plain.msgs[i]);
    }
    free(avro.msgs);
    free(json_schema.msgs);
    free(json_plain.msgs);
    free(schema);
    sluice_avro_decoder_destroy(adec);
    sluice_json_decoder_destroy(jdec);
    return 0;
}
