/*
 * sluice-kafkatool: the small Kafka client the integration tests and demos
 * drive the (mock or real) cluster with: produce test data, read watermarks
 * and committed offsets, rewind a consumer group, dump a topic.
 *
 * Owns only test plumbing; it shares no code with the worker on purpose, so
 * a bug in sluice's Kafka layer cannot hide itself in the tests.
 * Data goes to stdout, diagnostics to stderr; exit 0 ok, 1 failure, 2 usage.
 */
#include <librdkafka/rdkafka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_PROPS   64
#define MAX_HEADERS 16

typedef struct opts {
        const char *bootstrap;
        const char *topic;
        const char *group;
        const char *to;
        const char *value_file;
        const char *key_file;
        const char *key;
        const char *input;
        int32_t partition; /* RD_KAFKA_PARTITION_UA when not given */
        int timeout_ms;
        int position;
        int nprops;
        const char *props[MAX_PROPS][2];
        int nheaders;
        const char *headers[MAX_HEADERS][2];
} opts_t;

static void usage(FILE *out) {
        fprintf(out,
                "usage: sluice-kafkatool COMMAND -b BOOTSTRAP [options]\n"
                "\n"
                "commands:\n"
                "  produce -t TOPIC [-p PARTITION] [-H NAME=VALUE]... [FILE|-]\n"
                "      one message per line \"KEY<TAB>VALUE\"; empty KEY is a\n"
                "      null key, \"KEY<TAB>\" (empty VALUE) a tombstone, a line\n"
                "      without a TAB a null-key message\n"
                "  produce -t TOPIC [-p P] --value-file F [--key-file K | -k KEY]\n"
                "      exactly one message whose value is F's bytes\n"
                "  watermarks -t TOPIC        \"PARTITION LOW HIGH\" per partition\n"
                "  committed -g GROUP -t TOPIC\n"
                "                             \"PARTITION OFFSET\" (-1001: none)\n"
                "  reset-group -g GROUP -t TOPIC --to earliest|latest|OFFSET\n"
                "  consume -t TOPIC [-g GROUP] [--position]\n"
                "      \"KEY<TAB>VALUE[<TAB>NAME=VALUE]...\" per message up to\n"
                "      the high watermarks at start; bytes escaped as \\\\ \\t\n"
                "      \\n \\r \\xNN, null as \\N; --position prefixes\n"
                "      \"PARTITION<TAB>OFFSET<TAB>\"; with -g starts at the\n"
                "      group's committed offsets (nothing is committed)\n"
                "\n"
                "common options: -b BOOTSTRAP (default $SLUICE_KAFKA_BOOTSTRAP_"
                "SERVERS),\n"
                "  -X PROP=VALUE (librdkafka property), --timeout MS "
                "(default 10000)\n");
}

static int add_pair(const char *arg, const char *(*pairs)[2], int *n, int max,
                    char **owned) {
        char *copy, *eq;

        if (*n >= max)
                return -1;
        copy = strdup(arg);
        if (!copy || !(eq = strchr(copy, '='))) {
                free(copy);
                return -1;
        }
        *eq          = '\0';
        pairs[*n][0] = copy;
        pairs[*n][1] = eq + 1;
        owned[*n]    = copy;
        (*n)++;
        return 0;
}

/* Builds a config: bootstrap, then defaults (NULL-terminated pairs), then
 * the group settings, then -X overrides.  Caller destroys. */
static rd_kafka_conf_t *make_conf(const opts_t *o, const char *group,
                                  const char *const (*defaults)[2]) {
        char errstr[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        int i;

        for (i = 0; defaults && defaults[i][0]; i++)
                if (rd_kafka_conf_set(conf, defaults[i][0], defaults[i][1],
                                      errstr, sizeof(errstr)) !=
                    RD_KAFKA_CONF_OK)
                        goto fail;

        if (rd_kafka_conf_set(conf, "bootstrap.servers", o->bootstrap, errstr,
                              sizeof(errstr)) != RD_KAFKA_CONF_OK ||
            rd_kafka_conf_set(conf, "log_level", "3", errstr,
                              sizeof(errstr)) != RD_KAFKA_CONF_OK)
                goto fail;
        if (group &&
            (rd_kafka_conf_set(conf, "group.id", group, errstr,
                               sizeof(errstr)) != RD_KAFKA_CONF_OK ||
             rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr,
                               sizeof(errstr)) != RD_KAFKA_CONF_OK ||
             rd_kafka_conf_set(conf, "enable.auto.offset.store", "false",
                               errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK))
                goto fail;
        for (i = 0; i < o->nprops; i++) {
                if (rd_kafka_conf_set(conf, o->props[i][0], o->props[i][1],
                                      errstr, sizeof(errstr)) !=
                    RD_KAFKA_CONF_OK)
                        goto fail;
        }
        return conf;
fail:
        fprintf(stderr, "sluice-kafkatool: config: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return NULL;
}

static rd_kafka_t *make_consumer(const opts_t *o, const char *group) {
        char errstr[512];
        rd_kafka_conf_t *conf = make_conf(o, group, NULL);
        rd_kafka_t *rk;

        if (!conf)
                return NULL;
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "sluice-kafkatool: rd_kafka_new: %s\n",
                        errstr);
                rd_kafka_conf_destroy(conf);
        }
        return rk;
}

/* Number of partitions of o->topic, or -1 (message printed). */
static int partition_count(rd_kafka_t *rk, const opts_t *o) {
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err;
        int cnt = -1;

        if (!rkt) {
                fprintf(stderr, "sluice-kafkatool: topic %s: %s\n", o->topic,
                        rd_kafka_err2str(rd_kafka_last_error()));
                return -1;
        }
        err = rd_kafka_metadata(rk, 0, rkt, &md, o->timeout_ms);
        if (err) {
                fprintf(stderr, "sluice-kafkatool: metadata for %s: %s\n",
                        o->topic, rd_kafka_err2str(err));
        } else if (md->topic_cnt != 1 || md->topics[0].err) {
                fprintf(stderr, "sluice-kafkatool: topic %s: %s\n", o->topic,
                        md->topic_cnt ? rd_kafka_err2str(md->topics[0].err)
                                      : "not in metadata");
        } else if (md->topics[0].partition_cnt == 0) {
                fprintf(stderr, "sluice-kafkatool: topic %s has no partitions\n",
                        o->topic);
        } else {
                cnt = md->topics[0].partition_cnt;
        }
        if (md)
                rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        return cnt;
}

/* ---- produce ------------------------------------------------------------ */

static const char *const producer_defaults[][2] = {
    {"enable.idempotence", "true"},
    {"linger.ms", "5"},
    {"batch.num.messages", "10000"},
    {"queue.buffering.max.messages", "200000"},
    {NULL, NULL},
};

typedef struct delivery {
        long ok;
        long failed;
} delivery_t;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque) {
        delivery_t *d = opaque;

        if (m->err) {
                if (d->failed++ < 5)
                        fprintf(stderr,
                                "sluice-kafkatool: delivery to %s [%" PRId32
                                "] failed: %s\n",
                                rd_kafka_topic_name(m->rkt), m->partition,
                                rd_kafka_err2str(m->err));
        } else {
                d->ok++;
        }
}

static int produce_one(rd_kafka_t *rk, const opts_t *o, const void *key,
                       size_t keylen, const void *val, size_t vallen) {
        rd_kafka_headers_t *hdrs = NULL;
        rd_kafka_resp_err_t err;
        int i;

        if (o->nheaders > 0) {
                hdrs = rd_kafka_headers_new((size_t)o->nheaders);
                for (i = 0; i < o->nheaders; i++)
                        rd_kafka_header_add(hdrs, o->headers[i][0], -1,
                                            o->headers[i][1], -1);
        }
        for (;;) {
                err = rd_kafka_producev(
                    rk, RD_KAFKA_V_TOPIC(o->topic),
                    RD_KAFKA_V_PARTITION(o->partition),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_KEY(key, keylen), RD_KAFKA_V_VALUE((void *)val, vallen),
                    RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                        break;
                rd_kafka_poll(rk, 50);
        }
        if (err) {
                if (hdrs)
                        rd_kafka_headers_destroy(hdrs);
                fprintf(stderr, "sluice-kafkatool: produce to %s: %s\n",
                        o->topic, rd_kafka_err2str(err));
                return -1;
        }
        rd_kafka_poll(rk, 0);
        return 0;
}

/* Reads a whole file; *len gets its size.  Caller frees. */
static char *slurp(const char *path, size_t *len) {
        FILE *f = fopen(path, "rb");
        char *buf = NULL;
        size_t cap = 0, n = 0, r;

        if (!f) {
                fprintf(stderr, "sluice-kafkatool: %s: %s\n", path,
                        strerror(errno));
                return NULL;
        }
        do {
                if (n == cap) {
                        char *nb = realloc(buf, cap = cap ? cap * 2 : 65536);
                        if (!nb) {
                                free(buf);
                                fclose(f);
                                return NULL;
                        }
                        buf = nb;
                }
                r = fread(buf + n, 1, cap - n, f);
                n += r;
        } while (r > 0);
        fclose(f);
        *len = n;
        return buf;
}

static int cmd_produce(const opts_t *o) {
        char errstr[512];
        delivery_t d = {0, 0};
        rd_kafka_conf_t *conf;
        rd_kafka_t *rk;
        long queued = 0;
        int rc      = 0;

        if (!o->topic) {
                fprintf(stderr, "sluice-kafkatool: produce needs -t TOPIC\n");
                return 2;
        }
        /* Producer defaults; -X settings override them. */
        if (!(conf = make_conf(o, NULL, producer_defaults)))
                return 2;
        rd_kafka_conf_set_opaque(conf, &d);
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "sluice-kafkatool: rd_kafka_new: %s\n",
                        errstr);
                rd_kafka_conf_destroy(conf);
                return 1;
        }

        if (o->value_file) {
                size_t vlen = 0, klen = 0;
                char *val = slurp(o->value_file, &vlen);
                char *key = NULL;

                if (o->key_file)
                        key = slurp(o->key_file, &klen);
                else if (o->key)
                        klen = strlen(o->key);
                if (!val || (o->key_file && !key)) {
                        rc = 1;
                } else if (produce_one(rk, o, key ? key : o->key, klen, val,
                                       vlen) == 0) {
                        queued++;
                } else {
                        rc = 1;
                }
                free(val);
                free(key);
        } else {
                FILE *in = stdin;
                char *line = NULL;
                size_t cap = 0;
                ssize_t len;

                if (o->input && strcmp(o->input, "-") != 0 &&
                    !(in = fopen(o->input, "rb"))) {
                        fprintf(stderr, "sluice-kafkatool: %s: %s\n", o->input,
                                strerror(errno));
                        rc = 1;
                }
                while (rc == 0 && (len = getline(&line, &cap, in)) >= 0) {
                        char *tab;
                        const char *key = NULL, *val;
                        size_t klen = 0, vlen;

                        if (len > 0 && line[len - 1] == '\n')
                                line[--len] = '\0';
                        if (len == 0)
                                continue;
                        tab = memchr(line, '\t', (size_t)len);
                        if (tab) {
                                key  = tab == line ? NULL : line;
                                klen = (size_t)(tab - line);
                                val  = tab + 1;
                                vlen = (size_t)(line + len - val);
                                if (vlen == 0)
                                        val = NULL;
                        } else {
                                val  = line;
                                vlen = (size_t)len;
                        }
                        if (produce_one(rk, o, key, key ? klen : 0, val,
                                        vlen) != 0)
                                rc = 1;
                        else
                                queued++;
                }
                free(line);
                if (in && in != stdin)
                        fclose(in);
        }

        {
                int waited = 0;
                while (rd_kafka_outq_len(rk) > 0 && waited < 120000) {
                        rd_kafka_flush(rk, 1000);
                        waited += 1000;
                }
                if (rd_kafka_outq_len(rk) > 0) {
                        fprintf(stderr,
                                "sluice-kafkatool: %d messages still "
                                "undelivered after 120 s\n",
                                rd_kafka_outq_len(rk));
                        rc = 1;
                }
        }
        rd_kafka_destroy(rk);
        if (d.failed || d.ok != queued)
                rc = 1;
        fprintf(stderr, "produced %ld messages", d.ok);
        if (d.failed)
                fprintf(stderr, " (%ld failed)", d.failed);
        fprintf(stderr, "\n");
        return rc;
}

/* ---- offsets ----------------------------------------------------------- */

static int cmd_watermarks(const opts_t *o) {
        rd_kafka_t *rk;
        int n, p, rc = 0;

        if (!o->topic) {
                fprintf(stderr, "sluice-kafkatool: watermarks needs -t\n");
                return 2;
        }
        if (!(rk = make_consumer(o, NULL)))
                return 1;
        if ((n = partition_count(rk, o)) < 0)
                rc = 1;
        for (p = 0; p < n; p++) {
                int64_t lo, hi;
                rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
                    rk, o->topic, p, &lo, &hi, o->timeout_ms);
                if (err) {
                        fprintf(stderr,
                                "sluice-kafkatool: watermarks %s [%d]: %s\n",
                                o->topic, p, rd_kafka_err2str(err));
                        rc = 1;
                        break;
                }
                printf("%d %" PRId64 " %" PRId64 "\n", p, lo, hi);
        }
        rd_kafka_destroy(rk);
        return rc;
}

static rd_kafka_topic_partition_list_t *all_partitions(rd_kafka_t *rk,
                                                       const opts_t *o) {
        rd_kafka_topic_partition_list_t *parts;
        int n = partition_count(rk, o), p;

        if (n < 0)
                return NULL;
        parts = rd_kafka_topic_partition_list_new(n);
        for (p = 0; p < n; p++)
                rd_kafka_topic_partition_list_add(parts, o->topic, p);
        return parts;
}

static int cmd_committed(const opts_t *o) {
        rd_kafka_topic_partition_list_t *parts;
        rd_kafka_resp_err_t err;
        rd_kafka_t *rk;
        int i, rc = 0;

        if (!o->topic || !o->group) {
                fprintf(stderr,
                        "sluice-kafkatool: committed needs -g and -t\n");
                return 2;
        }
        if (!(rk = make_consumer(o, o->group)))
                return 1;
        if (!(parts = all_partitions(rk, o))) {
                rd_kafka_destroy(rk);
                return 1;
        }
        err = rd_kafka_committed(rk, parts, o->timeout_ms);
        if (err) {
                fprintf(stderr, "sluice-kafkatool: committed: %s\n",
                        rd_kafka_err2str(err));
                rc = 1;
        }
        for (i = 0; rc == 0 && i < parts->cnt; i++) {
                if (parts->elems[i].err) {
                        fprintf(stderr,
                                "sluice-kafkatool: committed %s [%d]: %s\n",
                                o->topic, parts->elems[i].partition,
                                rd_kafka_err2str(parts->elems[i].err));
                        rc = 1;
                        break;
                }
                printf("%d %" PRId64 "\n", parts->elems[i].partition,
                       parts->elems[i].offset);
        }
        rd_kafka_topic_partition_list_destroy(parts);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return rc;
}

/* Subscribes to o->topic, waits until this consumer owns every partition,
 * then commits parts synchronously. */
static rd_kafka_resp_err_t
commit_as_member(rd_kafka_t *rk, const opts_t *o,
                 rd_kafka_topic_partition_list_t *parts) {
        rd_kafka_topic_partition_list_t *sub =
            rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_t *owned = NULL;
        rd_kafka_resp_err_t err;
        int waited = 0;

        rd_kafka_topic_partition_list_add(sub, o->topic,
                                          RD_KAFKA_PARTITION_UA);
        err = rd_kafka_subscribe(rk, sub);
        rd_kafka_topic_partition_list_destroy(sub);
        if (err)
                return err;
        for (;;) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
                if (m)
                        rd_kafka_message_destroy(m);
                if (rd_kafka_assignment(rk, &owned) == 0 &&
                    owned->cnt == parts->cnt) {
                        rd_kafka_topic_partition_list_destroy(owned);
                        break;
                }
                if (owned)
                        rd_kafka_topic_partition_list_destroy(owned);
                owned = NULL;
                if ((waited += 200) > o->timeout_ms * 3) {
                        fprintf(stderr,
                                "sluice-kafkatool: group %s: no full "
                                "assignment after %d ms (is a member still "
                                "alive?)\n",
                                o->group, waited);
                        return RD_KAFKA_RESP_ERR__TIMED_OUT;
                }
        }
        err = rd_kafka_commit(rk, parts, 0);
        /* Leave now, so the next member is not kept waiting for us. */
        rd_kafka_unsubscribe(rk);
        return err;
}

static int cmd_reset_group(const opts_t *o) {
        rd_kafka_topic_partition_list_t *parts;
        rd_kafka_resp_err_t err;
        rd_kafka_t *rk;
        int i, rc = 0;
        int64_t fixed = -1;

        if (!o->topic || !o->group || !o->to) {
                fprintf(stderr, "sluice-kafkatool: reset-group needs -g, -t "
                                "and --to\n");
                return 2;
        }
        if (strcmp(o->to, "earliest") && strcmp(o->to, "latest")) {
                char *end;
                errno = 0;
                fixed = strtoll(o->to, &end, 10);
                if (errno || *end || fixed < 0) {
                        fprintf(stderr,
                                "sluice-kafkatool: --to wants earliest, "
                                "latest or an offset, got \"%s\"\n",
                                o->to);
                        return 2;
                }
        }
        {
                /* If we must join the group (see commit_as_member), a short
                 * session and rebalance timeout keep a member we fail to
                 * remove from stalling the next consumer for minutes. */
                static const char *const member_defaults[][2] = {
                    {"session.timeout.ms", "6000"},
                    {"heartbeat.interval.ms", "1000"},
                    {"max.poll.interval.ms", "6000"},
                    {NULL, NULL},
                };
                char errstr[512];
                rd_kafka_conf_t *conf =
                    make_conf(o, o->group, member_defaults);
                if (!conf)
                        return 2;
                rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr,
                                  sizeof(errstr));
                if (!rk) {
                        fprintf(stderr, "sluice-kafkatool: rd_kafka_new: "
                                        "%s\n",
                                errstr);
                        rd_kafka_conf_destroy(conf);
                        return 1;
                }
        }
        if (!(parts = all_partitions(rk, o))) {
                rd_kafka_destroy(rk);
                return 1;
        }
        for (i = 0; i < parts->cnt; i++) {
                int64_t lo, hi;
                if (fixed >= 0) {
                        parts->elems[i].offset = fixed;
                        continue;
                }
                err = rd_kafka_query_watermark_offsets(
                    rk, o->topic, parts->elems[i].partition, &lo, &hi,
                    o->timeout_ms);
                if (err) {
                        fprintf(stderr,
                                "sluice-kafkatool: watermarks %s [%d]: %s\n",
                                o->topic, parts->elems[i].partition,
                                rd_kafka_err2str(err));
                        rc = 1;
                        goto out;
                }
                parts->elems[i].offset = o->to[0] == 'e' ? lo : hi;
        }
        /* First a "simple" commit (no member, generation -1), which Kafka
         * accepts while the group has no live member.  The mock cluster
         * rejects it for a group it already knows, so then join the group
         * and commit as its (only) member. */
        err = rd_kafka_commit(rk, parts, 0);
        if (err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID ||
            err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION)
                err = commit_as_member(rk, o, parts);
        if (err) {
                fprintf(stderr, "sluice-kafkatool: commit for group %s: %s\n",
                        o->group, rd_kafka_err2str(err));
                rc = 1;
                goto out;
        }
        for (i = 0; i < parts->cnt; i++) {
                if (parts->elems[i].err) {
                        fprintf(stderr,
                                "sluice-kafkatool: commit %s [%d]: %s\n",
                                o->topic, parts->elems[i].partition,
                                rd_kafka_err2str(parts->elems[i].err));
                        rc = 1;
                }
        }
out:
        rd_kafka_topic_partition_list_destroy(parts);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return rc;
}

/* ---- consume ----------------------------------------------------------- */

static void put_escaped(const void *data, size_t len, int is_null) {
        const unsigned char *p = data;
        size_t i;

        if (is_null) {
                fputs("\\N", stdout);
                return;
        }
        for (i = 0; i < len; i++) {
                unsigned char c = p[i];
                switch (c) {
                case '\\': fputs("\\\\", stdout); break;
                case '\t': fputs("\\t", stdout); break;
                case '\n': fputs("\\n", stdout); break;
                case '\r': fputs("\\r", stdout); break;
                default:
                        if (c < 0x20 || c == 0x7f)
                                printf("\\x%02x", c);
                        else
                                putchar(c);
                }
        }
}

static int cmd_consume(const opts_t *o) {
        rd_kafka_topic_partition_list_t *parts;
        rd_kafka_t *rk;
        int64_t *high;
        int i, remaining = 0, rc = 0, idle = 0;

        if (!o->topic) {
                fprintf(stderr, "sluice-kafkatool: consume needs -t\n");
                return 2;
        }
        /* A group id is needed to read committed offsets; we never commit. */
        if (!(rk = make_consumer(o, o->group ? o->group
                                             : "sluice-kafkatool-consume")))
                return 1;
        if (!(parts = all_partitions(rk, o))) {
                rd_kafka_destroy(rk);
                return 1;
        }
        high = calloc((size_t)parts->cnt, sizeof(*high));
        if (o->group && rd_kafka_committed(rk, parts, o->timeout_ms)) {
                fprintf(stderr, "sluice-kafkatool: cannot read committed "
                                "offsets of group %s\n",
                        o->group);
                rc = 1;
                goto out;
        }
        for (i = 0; i < parts->cnt; i++) {
                int64_t lo, hi;
                rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
                    rk, o->topic, parts->elems[i].partition, &lo, &hi,
                    o->timeout_ms);
                if (err) {
                        fprintf(stderr,
                                "sluice-kafkatool: watermarks %s [%d]: %s\n",
                                o->topic, parts->elems[i].partition,
                                rd_kafka_err2str(err));
                        rc = 1;
                        goto out;
                }
                if (!o->group || parts->elems[i].offset < 0)
                        parts->elems[i].offset = lo;
                high[i] = hi;
                if (parts->elems[i].offset < hi)
                        remaining++;
        }
        if (remaining && rd_kafka_assign(rk, parts)) {
                fprintf(stderr, "sluice-kafkatool: assign failed\n");
                rc = 1;
                goto out;
        }
        while (remaining > 0) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
                rd_kafka_headers_t *hdrs = NULL;
                size_t h;

                if (!m) {
                        if ((idle += 500) >= o->timeout_ms) {
                                fprintf(stderr, "sluice-kafkatool: consume: "
                                                "no progress for %d ms\n",
                                        o->timeout_ms);
                                rc = 1;
                                break;
                        }
                        continue;
                }
                idle = 0;
                if (m->err) {
                        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                                fprintf(stderr, "sluice-kafkatool: consume: "
                                                "%s\n",
                                        rd_kafka_message_errstr(m));
                                rc = 1;
                                rd_kafka_message_destroy(m);
                                break;
                        }
                        rd_kafka_message_destroy(m);
                        continue;
                }
                if (m->partition < 0 || m->partition >= parts->cnt ||
                    m->offset >= high[m->partition]) {
                        rd_kafka_message_destroy(m);
                        continue;
                }
                if (o->position)
                        printf("%" PRId32 "\t%" PRId64 "\t", m->partition,
                               m->offset);
                put_escaped(m->key, m->key_len, m->key == NULL);
                putchar('\t');
                put_escaped(m->payload, m->len, m->payload == NULL);
                if (rd_kafka_message_headers(m, &hdrs) == 0) {
                        const char *name;
                        const void *val;
                        size_t vlen;
                        for (h = 0; rd_kafka_header_get_all(hdrs, h, &name,
                                                            &val, &vlen) == 0;
                             h++) {
                                putchar('\t');
                                put_escaped(name, strlen(name), 0);
                                putchar('=');
                                put_escaped(val, vlen, val == NULL);
                        }
                }
                putchar('\n');
                if (m->offset + 1 >= high[m->partition])
                        remaining--;
                rd_kafka_message_destroy(m);
        }
out:
        fflush(stdout);
        free(high);
        rd_kafka_topic_partition_list_destroy(parts);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return rc;
}

/* ---- main -------------------------------------------------------------- */

int main(int argc, char **argv) {
        static const struct {
                const char *name;
                int (*run)(const opts_t *o);
        } commands[] = {
            {"produce", cmd_produce},     {"watermarks", cmd_watermarks},
            {"committed", cmd_committed}, {"reset-group", cmd_reset_group},
            {"consume", cmd_consume},
        };
        char *owned[MAX_PROPS + MAX_HEADERS];
        int nowned = 0;
        opts_t o;
        int i, rc = 2;
        size_t c;

        memset(&o, 0, sizeof(o));
        o.partition  = RD_KAFKA_PARTITION_UA;
        o.timeout_ms = 10000;
        o.bootstrap  = getenv("SLUICE_KAFKA_BOOTSTRAP_SERVERS");

        if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
                usage(argc < 2 ? stderr : stdout);
                return argc < 2 ? 2 : 0;
        }
        for (i = 2; i < argc; i++) {
                const char *a    = argv[i];
                const char *next = i + 1 < argc ? argv[i + 1] : NULL;
                int takes        = 1;

                if (!strcmp(a, "--position")) {
                        o.position = 1;
                        takes      = 0;
                } else if (a[0] != '-' || !strcmp(a, "-")) {
                        if (o.input) {
                                usage(stderr);
                                goto done;
                        }
                        o.input = a;
                        takes   = 0;
                } else if (!next) {
                        fprintf(stderr, "sluice-kafkatool: %s needs a value\n",
                                a);
                        goto done;
                } else if (!strcmp(a, "-b")) {
                        o.bootstrap = next;
                } else if (!strcmp(a, "-t")) {
                        o.topic = next;
                } else if (!strcmp(a, "-g")) {
                        o.group = next;
                } else if (!strcmp(a, "-k")) {
                        o.key = next;
                } else if (!strcmp(a, "--to")) {
                        o.to = next;
                } else if (!strcmp(a, "--value-file")) {
                        o.value_file = next;
                } else if (!strcmp(a, "--key-file")) {
                        o.key_file = next;
                } else if (!strcmp(a, "--timeout")) {
                        o.timeout_ms = atoi(next);
                        if (o.timeout_ms <= 0) {
                                fprintf(stderr, "sluice-kafkatool: bad "
                                                "--timeout\n");
                                goto done;
                        }
                } else if (!strcmp(a, "-p")) {
                        char *end;
                        long p = strtol(next, &end, 10);
                        if (*end || p < 0 || p > INT32_MAX) {
                                fprintf(stderr, "sluice-kafkatool: bad -p "
                                                "\"%s\"\n",
                                        next);
                                goto done;
                        }
                        o.partition = (int32_t)p;
                } else if (!strcmp(a, "-X")) {
                        if (add_pair(next, o.props, &o.nprops, MAX_PROPS,
                                     owned + nowned) != 0) {
                                fprintf(stderr, "sluice-kafkatool: -X wants "
                                                "PROP=VALUE\n");
                                goto done;
                        }
                        nowned++;
                } else if (!strcmp(a, "-H")) {
                        if (add_pair(next, o.headers, &o.nheaders,
                                     MAX_HEADERS, owned + nowned) != 0) {
                                fprintf(stderr, "sluice-kafkatool: -H wants "
                                                "NAME=VALUE\n");
                                goto done;
                        }
                        nowned++;
                } else {
                        fprintf(stderr, "sluice-kafkatool: unknown option "
                                        "%s\n",
                                a);
                        usage(stderr);
                        goto done;
                }
                i += takes;
        }
        if (!o.bootstrap) {
                fprintf(stderr, "sluice-kafkatool: -b BOOTSTRAP is required\n");
                goto done;
        }
        if (o.key && o.key_file) {
                fprintf(stderr, "sluice-kafkatool: -k and --key-file are "
                                "exclusive\n");
                goto done;
        }
        for (c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
                if (!strcmp(argv[1], commands[c].name)) {
                        rc = commands[c].run(&o);
                        goto done;
                }
        }
        fprintf(stderr, "sluice-kafkatool: unknown command \"%s\"\n", argv[1]);
        usage(stderr);
done:
        for (i = 0; i < nowned; i++)
                free(owned[i]);
        return rc;
}
