/* `sluice dlq replay`: re-applies dead-lettered messages after a fix. Reads a
 * dead-letter topic with its own consumer group (<group>.dlq-replay, so a
 * replay is not repeated), takes each message's original topic, partition
 * and offset from its __connect.errors.* headers, and applies it through the
 * same handlers as `sluice run`, without touching the ledger (which is past
 * it already); the mirror's position guard still orders it against newer
 * changes. Stops at the first message that fails again. A replay filtered
 * with --where is not remembered (Kafka offsets have no holes): a later
 * replay reads those messages again. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "sluice/apply.h"
#include "sluice/cli.h"
#include "sluice/config.h"
#include "sluice/handler.h"
#include "sluice/observe.h"
#include "sluice/source.h"

#define MAX_WHERE 16

static void dlq_usage(FILE *out)
{
    fprintf(out,
            "usage: sluice dlq replay -c FILE --topic DLQ_TOPIC [--where HEADER=VALUE]... "
            "[--dry-run]\n\n"
            "Re-applies the messages of a dead-letter topic through this worker's handlers,\n"
            "at their original source positions. Each --where keeps only messages whose\n"
            "header has that value (e.g. --where __connect.errors.topic=srv.public.orders).\n"
            "Progress of replays without --where is kept in the consumer group\n"
            "<kafka.group.id>.dlq-replay; a message that fails again stops the replay\n"
            "(exit 3) before it.\n");
}

static int header_eq(rd_kafka_headers_t *h, const char *name, const char *value)
{
    const void *v;
    size_t len;

    if (!h || rd_kafka_header_get_last(h, name, &v, &len) != RD_KAFKA_RESP_ERR_NO_ERROR || !v)
        return 0;
    return len == strlen(value) && memcmp(v, value, len) == 0;
}

static char *header_dup(rd_kafka_headers_t *h, const char *name)
{
    const void *v;
    size_t len;
    char *s;

    if (!h || rd_kafka_header_get_last(h, name, &v, &len) != RD_KAFKA_RESP_ERR_NO_ERROR || !v)
        return NULL;
    s = malloc(len + 1);
    if (!s)
        return NULL;
    memcpy(s, v, len);
    s[len] = '\0';
    return s;
}

static rd_kafka_t *replay_consumer(const sluice_config_t *cfg, const char *topic, char *errstr,
                                   size_t errsz)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_topic_partition_list_t *sub;
    char group[512];
    rd_kafka_t *rk;
    sluice_err_t err;

    if (sluice_source_conf_copy(cfg, conf, RD_KAFKA_CONSUMER, &err) < 0) {
        snprintf(errstr, errsz, "%.*s", (int)(errsz > 0 ? errsz - 1 : 0), err.msg);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    snprintf(group, sizeof(group), "%s.dlq-replay", sluice_config_kafka_get(cfg, "group.id"));
    if (rd_kafka_conf_set(conf, "group.id", group, errstr, errsz) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, errsz) ||
        rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", errstr, errsz) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, errsz)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errsz);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    return rk;
}

/* Number of partitions of topic, -1 when unknown. */
static int partition_count(rd_kafka_t *rk, const char *topic)
{
    const struct rd_kafka_metadata *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    int n = -1;

    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (md->topic_cnt == 1 && !md->topics[0].err)
            n = md->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    return n;
}

static int replay(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"topic", required_argument, NULL, 't'},
        {"where", required_argument, NULL, 'w'},  {"dry-run", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL, *topic = NULL;
    char *where_name[MAX_WHERE], *where_value[MAX_WHERE];
    int nwhere = 0, dry_run = 0, c, rc = SLUICE_EXIT_OK, nparts, neof = 0;
    unsigned long replayed = 0, filtered = 0;
    const sluice_handler_t *handlers;
    size_t nhandlers;
    sluice_config_t *cfg = NULL;
    sluice_apply_t *ap = NULL;
    rd_kafka_t *rk = NULL;
    sluice_err_t err;
    char errstr[512];

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:t:w:nh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case 't':
            topic = optarg;
            break;
        case 'w': {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg || nwhere == MAX_WHERE) {
                fprintf(stderr, "sluice: dlq replay: --where takes HEADER=VALUE (at most %d)\n",
                        MAX_WHERE);
                goto usage;
            }
            where_name[nwhere] = strndup(optarg, (size_t)(eq - optarg));
            where_value[nwhere] = strdup(eq + 1);
            nwhere++;
            break;
        }
        case 'n':
            dry_run = 1;
            break;
        case 'h':
            dlq_usage(stdout);
            rc = SLUICE_EXIT_OK;
            goto out;
        default:
            goto usage;
        }
    }
    if (!topic || optind < argc) {
        fprintf(stderr, "sluice: dlq replay: --topic is required\n");
        goto usage;
    }
    sluice_err_clear(&err);
    cfg = sluice_config_load(config_path, &err);
    if (!cfg) {
        fprintf(stderr, "sluice: %s\n", err.msg);
        rc = SLUICE_EXIT_USAGE;
        goto out;
    }
    handlers = sluice_cli_handlers(&nhandlers);
    if (!dry_run) {
        ap = sluice_apply_new(cfg, handlers, nhandlers, &err);
        if (!ap) {
            fprintf(stderr, "sluice: %s\n", err.msg);
            rc = err.cls == SLUICE_ERR_FATAL ? SLUICE_EXIT_USAGE : SLUICE_EXIT_RUNTIME;
            goto out;
        }
        sluice_apply_set_ledger(ap, 0);
    }
    rk = replay_consumer(cfg, topic, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "sluice: dlq replay: %s\n", errstr);
        rc = SLUICE_EXIT_USAGE;
        goto out;
    }
    nparts = partition_count(rk, topic);
    if (nparts <= 0) {
        fprintf(stderr, "sluice: dlq replay: topic %s does not exist (check --topic)\n", topic);
        rc = SLUICE_EXIT_USAGE;
        goto out;
    }

    while (neof < nparts) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
        rd_kafka_headers_t *h = NULL;
        sluice_msg_t msg = {0};
        char *otopic, *opart, *ooff;
        int keep = 1, i;

        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            neof++;
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->err) {
            fprintf(stderr, "sluice: dlq replay: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            rc = SLUICE_EXIT_RUNTIME;
            break;
        }
        rd_kafka_message_headers(m, &h);
        for (i = 0; i < nwhere && keep; i++)
            keep = header_eq(h, where_name[i], where_value[i]);
        otopic = header_dup(h, "__connect.errors.topic");
        opart = header_dup(h, "__connect.errors.partition");
        ooff = header_dup(h, "__connect.errors.offset");
        if (keep && (!otopic || !opart || !ooff)) {
            fprintf(stderr, "sluice: dlq replay: %s [%d] offset %" PRId64 " has no "
                            "__connect.errors.topic/partition/offset headers; not a Sluice or Kafka "
                            "Connect dead letter\n",
                    topic, (int)m->partition, m->offset);
            keep = 0;
        }
        if (keep && !dry_run) {
            sluice_apply_result_t res;
            msg.topic = otopic;
            msg.partition = (int32_t)atoi(opart);
            msg.offset = strtoll(ooff, NULL, 10);
            msg.key = m->key;
            msg.key_len = m->key_len;
            msg.value = m->payload;
            msg.value_len = m->len;
            sluice_err_clear(&err);
            if (sluice_apply_batch(ap, &msg, 1, &res, &err) != 0 || res.poison) {
                fprintf(stderr, "sluice: dlq replay: %s [%d] offset %" PRId64 " fails again: %s\n",
                        topic, (int)m->partition, m->offset, err.msg);
                rc = res.poison ? SLUICE_EXIT_POISON : SLUICE_EXIT_RUNTIME;
                free(otopic);
                free(opart);
                free(ooff);
                rd_kafka_message_destroy(m);
                break;
            }
        }
        if (keep) {
            printf("%s %s [%s] offset %s\n", dry_run ? "would replay" : "replayed", otopic, opart,
                   ooff);
            replayed++;
        } else {
            filtered++;
        }
        free(otopic);
        free(opart);
        free(ooff);
        if (!dry_run && !nwhere)
            rd_kafka_commit_message(rk, m, 0); /* applied: this group moves past it */
        rd_kafka_message_destroy(m);
    }
    printf("%s %lu dead-lettered message(s), %lu left out by --where\n",
           dry_run ? "would replay" : "replayed", replayed, filtered);
out:
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    sluice_apply_destroy(ap);
    sluice_config_destroy(cfg);
    while (nwhere--) {
        free(where_name[nwhere]);
        free(where_value[nwhere]);
    }
    return rc;
usage:
    dlq_usage(stderr);
    rc = SLUICE_EXIT_USAGE;
    goto out;
}

int sluice_cli_dlq(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "replay") == 0)
        return replay(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        dlq_usage(stdout);
        return SLUICE_EXIT_OK;
    }
    dlq_usage(stderr);
    return SLUICE_EXIT_USAGE;
}
