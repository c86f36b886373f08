/*
 * sluice-avro-produce: writes Debezium records the way Confluent's
 * AvroConverter does (magic byte 0x00, big-endian schema id, Avro binary) to
 * a Kafka topic, for the integration tests and demos. Input lines are
 * "KEY<TAB>VALUE" with VALUE in Avro's JSON encoding of the value schema
 * (empty: a tombstone) and KEY in Avro JSON of the key schema when
 * --key-schema is given, else sent as it is (a JSON key; empty: null key).
 *
 * The Avro encoding is avro-c's (through sluice's test encoder,
 * decode_avro_int.h); the Kafka producer is this file's own, so a bug in
 * sluice's consumer cannot hide itself here.
 * Exit 0 ok, 1 failure, 2 usage.
 */
#include <librdkafka/rdkafka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode_avro_int.h"
#include "sluice/buf.h"
#include "sluice/error.h"

#define MAX_PROPS 32

typedef struct {
    const char *bootstrap, *topic, *input;
    const char *value_schema, *key_schema;
    long value_id, key_id;
    int32_t partition;
    int nprops;
    const char *props[MAX_PROPS][2];
} opts_t;

typedef struct {
    long ok, failed;
} delivery_t;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sluice-avro-produce -b BOOTSTRAP -t TOPIC --value-schema FILE --value-id N\n"
            "                           [--key-schema FILE --key-id N] [-p PARTITION]\n"
            "                           [-X PROP=VALUE]... [FILE|-]\n"
            "\n"
            "One message per line \"KEY<TAB>VALUE\": VALUE in Avro's JSON encoding of the\n"
            "value schema, Confluent-framed with --value-id (empty: tombstone); KEY in\n"
            "Avro JSON of --key-schema framed with --key-id, or without --key-schema the\n"
            "KEY bytes as they are (empty: null key). A line without a TAB is a value with\n"
            "a null key.\n");
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f) {
        fprintf(stderr, "sluice-avro-produce: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
            buf[n] = '\0';
            *len = (size_t)n;
        } else {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    if (!buf)
        fprintf(stderr, "sluice-avro-produce: cannot read %s\n", path);
    return buf;
}

static sluice_avro_encoder_t *encoder(const char *path)
{
    sluice_avro_encoder_t *enc;
    sluice_err_t err;
    size_t len;
    char *json = slurp(path, &len);

    if (!json)
        return NULL;
    sluice_err_clear(&err);
    enc = sluice_avro_encoder_new(json, len, &err);
    if (!enc)
        fprintf(stderr, "sluice-avro-produce: %s: %s\n", path, err.msg);
    free(json);
    return enc;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    delivery_t *d = opaque;

    (void)rk;
    if (m->err) {
        if (d->failed++ < 5)
            fprintf(stderr, "sluice-avro-produce: delivery to %s [%" PRId32 "] failed: %s\n",
                    rd_kafka_topic_name(m->rkt), m->partition, rd_kafka_err2str(m->err));
    } else {
        d->ok++;
    }
}

static int produce(rd_kafka_t *rk, const opts_t *o, const void *key, size_t klen,
                   const void *val, size_t vlen)
{
    rd_kafka_resp_err_t err;

    for (;;) {
        err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_PARTITION(o->partition),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_KEY((void *)key, klen),
                                RD_KAFKA_V_VALUE((void *)val, vlen), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        rd_kafka_poll(rk, 50);
    }
    if (err) {
        fprintf(stderr, "sluice-avro-produce: produce to %s: %s\n", o->topic,
                rd_kafka_err2str(err));
        return -1;
    }
    rd_kafka_poll(rk, 0);
    return 0;
}

static int parse_args(int argc, char **argv, opts_t *o)
{
    int i;

    memset(o, 0, sizeof(*o));
    o->partition = RD_KAFKA_PARTITION_UA;
    o->value_id = o->key_id = -1;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "-b") && v) {
            o->bootstrap = v;
        } else if (!strcmp(a, "-t") && v) {
            o->topic = v;
        } else if (!strcmp(a, "-p") && v) {
            o->partition = (int32_t)atoi(v);
        } else if (!strcmp(a, "--value-schema") && v) {
            o->value_schema = v;
        } else if (!strcmp(a, "--value-id") && v) {
            o->value_id = atol(v);
        } else if (!strcmp(a, "--key-schema") && v) {
            o->key_schema = v;
        } else if (!strcmp(a, "--key-id") && v) {
            o->key_id = atol(v);
        } else if (!strcmp(a, "-X") && v && strchr(v, '=') && o->nprops < MAX_PROPS) {
            o->props[o->nprops][0] = v;
            o->props[o->nprops++][1] = strchr(v, '=') + 1;
        } else if (a[0] != '-' || !strcmp(a, "-")) {
            o->input = a;
            continue;
        } else {
            return -1;
        }
        i++; /* the option's value */
    }
    if (!o->bootstrap || !o->topic || !o->value_schema || o->value_id < 0 ||
        o->value_id > INT32_MAX || (o->key_schema && (o->key_id < 0 || o->key_id > INT32_MAX)))
        return -1;
    return 0;
}

static rd_kafka_t *producer(const opts_t *o, delivery_t *d)
{
    char errstr[512], name[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    int i;

    if (rd_kafka_conf_set(conf, "bootstrap.servers", o->bootstrap, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "linger.ms", "5", errstr, sizeof(errstr)))
        goto bad;
    for (i = 0; i < o->nprops; i++) {
        size_t n = (size_t)(o->props[i][1] - 1 - o->props[i][0]);
        if (n >= sizeof(name))
            n = sizeof(name) - 1;
        memcpy(name, o->props[i][0], n);
        name[n] = '\0';
        if (rd_kafka_conf_set(conf, name, o->props[i][1], errstr, sizeof(errstr)))
            goto bad;
    }
    rd_kafka_conf_set_opaque(conf, d);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk)
        return rk;
    fprintf(stderr, "sluice-avro-produce: rd_kafka_new: %s\n", errstr);
    return NULL;
bad:
    fprintf(stderr, "sluice-avro-produce: %s\n", errstr);
    rd_kafka_conf_destroy(conf);
    return NULL;
}

int main(int argc, char **argv)
{
    sluice_avro_encoder_t *venc = NULL, *kenc = NULL;
    sluice_buf_t kbuf, vbuf;
    delivery_t d = {0, 0};
    rd_kafka_t *rk = NULL;
    FILE *in = stdin;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0, queued = 0;
    int rc = 0;
    opts_t o;

    if (parse_args(argc, argv, &o) < 0) {
        usage(stderr);
        return 2;
    }
    sluice_buf_init(&kbuf);
    sluice_buf_init(&vbuf);
    venc = encoder(o.value_schema);
    if (!venc || (o.key_schema && !(kenc = encoder(o.key_schema)))) {
        rc = 1;
        goto done;
    }
    if (o.input && strcmp(o.input, "-") != 0 && !(in = fopen(o.input, "rb"))) {
        fprintf(stderr, "sluice-avro-produce: %s: %s\n", o.input, strerror(errno));
        rc = 1;
        goto done;
    }
    rk = producer(&o, &d);
    if (!rk) {
        rc = 1;
        goto done;
    }
    while (rc == 0 && (len = getline(&line, &cap, in)) >= 0) {
        char *tab, *key = NULL, *val = line;
        size_t klen = 0, vlen;
        sluice_err_t err;

        lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if (len == 0)
            continue;
        tab = memchr(line, '\t', (size_t)len);
        if (tab) {
            key = line;
            klen = (size_t)(tab - line);
            val = tab + 1;
        }
        vlen = (size_t)(line + len - val);
        sluice_err_clear(&err);
        sluice_buf_reset(&kbuf);
        sluice_buf_reset(&vbuf);
        if (key && klen && kenc) {
            if (sluice_avro_encoder_json(kenc, key, klen, (int32_t)o.key_id, &kbuf, &err) < 0)
                goto bad_line;
            key = kbuf.data;
            klen = kbuf.len;
        }
        if (vlen && sluice_avro_encoder_json(venc, val, vlen, (int32_t)o.value_id, &vbuf,
                                             &err) < 0)
            goto bad_line;
        if (produce(rk, &o, klen ? key : NULL, klen, vlen ? vbuf.data : NULL,
                    vlen ? vbuf.len : 0) < 0)
            rc = 1;
        else
            queued++;
        continue;
    bad_line:
        fprintf(stderr, "sluice-avro-produce: line %ld: %s\n", lineno, err.msg);
        rc = 1;
    }
    if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "sluice-avro-produce: %d messages still undelivered after 60 s\n",
                rd_kafka_outq_len(rk));
        rc = 1;
    }
    if (d.failed || d.ok != queued)
        rc = 1;
    if (rc == 0)
        fprintf(stderr, "sluice-avro-produce: %ld messages to %s\n", d.ok, o.topic);
done:
    free(line);
    if (in && in != stdin)
        fclose(in);
    if (rk)
        rd_kafka_destroy(rk);
    sluice_avro_encoder_destroy(venc);
    sluice_avro_encoder_destroy(kenc);
    sluice_buf_cleanup(&kbuf);
    sluice_buf_cleanup(&vbuf);
    return rc;
}
