/* `sluice backfill`: asks Debezium for an incremental (or blocking) snapshot
 * of one table through the connector's signal channel: a row in the
 * signal.data.collection table on the SOURCE database, or a message on
 * signal.kafka.topic. With --wait it follows the table's topic until the
 * worker group has applied it to the end and nothing new arrived for a
 * while. The snapshot rows themselves are applied by `sluice run` like any
 * other event (op r, no position: they never overwrite a streamed row). */
#include "sluice/cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_int.h"
#include "sluice/buf.h"
#include "sluice/config.h"
#include "sluice/manifest.h"
#include "sluice/observe.h"
#include "sluice/pg.h"
#include "sluice/progress.h"

typedef struct {
    const char *config_path;
    const char *table;
    const char *where;
    const char *source_conninfo;
    const char *type;      /* incremental | blocking */
    const char *channel;   /* source | kafka | NULL: from the manifest */
    const char *connector;
    const char *id;
    int wait;
    long timeout_s;
    long quiet_s;
} opts_t;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sluice backfill -c FILE --table SCHEMA.TABLE [--where SQL]\n"
            "                       [--type incremental|blocking] [--channel source|kafka]\n"
            "                       [--source-conninfo CONNINFO] [--connector NAME]\n"
            "                       [--wait [--timeout S] [--quiet S]]\n\n"
            "Sends Debezium an execute-snapshot signal for the table through the channel the\n"
            "connector manifest enables (signal.enabled.channels):\n"
            "  source  INSERT INTO <signal.data.collection> (id, type, data) on the SOURCE\n"
            "          database: --source-conninfo, else source.conninfo, else the manifest's\n"
            "          database.hostname/port/user/password/dbname\n"
            "  kafka   a message to signal.kafka.topic, key = topic.prefix\n"
            "--where adds additional-conditions (a SQL filter Debezium applies to the table).\n\n"
            "--wait follows the table's topic: every second it compares the ledger\n"
            "(sluice.offsets) with the high watermarks and prints the progress; it ends once\n"
            "every partition is applied to its end and no new message arrived for --quiet\n"
            "seconds (default 10), or fails after --timeout seconds (default: none).\n"
            "A worker (`sluice run`) must be running for the group to apply the snapshot.\n");
}

/* 7 + 13 + 1 + 8 = 29 characters: fits Debezium's VARCHAR(42) id column. */
static void make_id(char *buf, size_t size)
{
    struct timespec ts;
    unsigned r;

    clock_gettime(CLOCK_REALTIME, &ts);
    srand((unsigned)(ts.tv_nsec ^ (long)getpid()));
    r = ((unsigned)rand() << 16) ^ (unsigned)rand();
    snprintf(buf, size, "sluice-%lld-%08x", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, r);
}

/* The signal's data object; upper-case type for the Kafka channel, as in
 * Debezium's documentation of it. */
static json_t *signal_data(const opts_t *o, int kafka)
{
    json_t *data = json_object(), *cols = json_array();
    char type[32];
    size_t i;

    snprintf(type, sizeof(type), "%s", o->type);
    if (kafka)
        for (i = 0; type[i]; i++)
            type[i] = (char)(type[i] >= 'a' && type[i] <= 'z' ? type[i] - 32 : type[i]);
    json_array_append_new(cols, json_string(o->table));
    json_object_set_new(data, "data-collections", cols);
    json_object_set_new(data, "type", json_string(type));
    if (o->where) {
        json_t *conds = json_array(), *c = json_object();
        json_object_set_new(c, "data-collection", json_string(o->table));
        json_object_set_new(c, "filter", json_string(o->where));
        json_array_append_new(conds, c);
        json_object_set_new(data, "additional-conditions", conds);
    }
    return data;
}

static int send_source(const opts_t *o, const sluice_config_t *cfg, const sluice_manifest_t *m,
                       const char *id)
{
    char *conninfo = NULL, *data_text = NULL;
    json_t *data = NULL;
    sluice_buf_t sql;
    sluice_err_t err;
    sluice_pg_t *pg = NULL;
    const char *coll = m->signal_data_collection, *dot, *params[3];
    PGresult *res;
    int rc = SLUICE_EXIT_RUNTIME;

    sluice_err_clear(&err);
    sluice_buf_init(&sql);
    if (strcmp(m->source_kind, "postgres") != 0) {
        fprintf(stderr, "sluice: backfill: the source channel of a %s connector needs a %s client; "
                        "insert the signal row yourself or enable the kafka channel\n",
                m->source_kind, m->source_kind);
        return SLUICE_EXIT_USAGE;
    }
    if (!coll) {
        fprintf(stderr, "sluice: backfill: manifest %s has no signal.data.collection (the "
                        "table Debezium reads signals from); add it or use --channel kafka\n",
                m->path);
        return SLUICE_EXIT_USAGE;
    }
    if (o->source_conninfo)
        conninfo = strdup(o->source_conninfo);
    else if (cfg->source_conninfo)
        conninfo = strdup(cfg->source_conninfo);
    else if (sluice_manifest_source_conninfo(m, &conninfo, &err) < 0) {
        fprintf(stderr, "sluice: backfill: %s\n", err.msg);
        return SLUICE_EXIT_USAGE;
    }
    if (!conninfo)
        goto out;
    /* signal.data.collection is <schema>.<table> (or <db>.<schema>.<table>) */
    dot = strrchr(coll, '.');
    if (!dot || dot == coll) {
        fprintf(stderr, "sluice: backfill: signal.data.collection = \"%s\" must be "
                        "<schema>.<table>\n",
                coll);
        rc = SLUICE_EXIT_USAGE;
        goto out;
    }
    {
        const char *schema = coll, *prev;
        char sch[256], tab[256];
        for (prev = dot - 1; prev > coll && *prev != '.'; prev--)
            ;
        if (*prev == '.')
            schema = prev + 1;
        snprintf(sch, sizeof(sch), "%.*s", (int)(dot - schema), schema);
        snprintf(tab, sizeof(tab), "%s", dot + 1);
        if (sluice_buf_puts(&sql, "INSERT INTO ") < 0 || sluice_pg_quote_ident(&sql, sch) < 0 ||
            sluice_buf_putc(&sql, '.') < 0 || sluice_pg_quote_ident(&sql, tab) < 0 ||
            sluice_buf_puts(&sql, " (id, type, data) VALUES ($1, $2, $3)") < 0)
            goto out;
    }
    data = signal_data(o, 0);
    data_text = json_dumps(data, JSON_COMPACT);
    pg = sluice_pg_connect(conninfo, &err);
    if (!pg) {
        char *masked = sluice_config_mask_conninfo(conninfo);
        fprintf(stderr, "sluice: backfill: source database (%s): %s\n", masked ? masked : "?",
                err.msg);
        free(masked);
        goto out;
    }
    params[0] = id;
    params[1] = "execute-snapshot";
    params[2] = data_text;
    res = PQexecParams(pg->conn, sql.data, 3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        sluice_pg_result_err(pg, res, "inserting the signal row", &err);
        fprintf(stderr, "sluice: backfill: %s into %s (does the signal table exist, and may this "
                        "user insert into it?)\n",
                err.msg, coll);
        PQclear(res);
        goto out;
    }
    PQclear(res);
    printf("signal %s: execute-snapshot %s of %s written to %s (source channel)\n", id, o->type,
           o->table, coll);
    printf("  data: %s\n", data_text);
    rc = SLUICE_EXIT_OK;
out:
    sluice_pg_destroy(pg);
    sluice_buf_cleanup(&sql);
    json_decref(data);
    free(data_text);
    free(conninfo);
    return rc;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    (void)rk;
    (void)opaque;
    *(rd_kafka_resp_err_t *)msg->_private = msg->err;
}

static int send_kafka(const opts_t *o, const sluice_config_t *cfg, const sluice_manifest_t *m)
{
    json_t *value = json_object();
    char *text = NULL, errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk = NULL;
    rd_kafka_resp_err_t delivered = RD_KAFKA_RESP_ERR__IN_PROGRESS, rerr;
    const char *bootstrap = m->signal_kafka_bootstrap ? m->signal_kafka_bootstrap
                                                      : sluice_config_kafka_get(cfg, "bootstrap.servers");
    size_t i;
    int rc = SLUICE_EXIT_RUNTIME;

    json_object_set_new(value, "type", json_string("execute-snapshot"));
    json_object_set_new(value, "data", signal_data(o, 1));
    text = json_dumps(value, JSON_COMPACT);
    /* the cluster's security settings, pointed at the signal cluster */
    for (i = 0; i < cfg->nkafka; i++) {
        const char *k = cfg->kafka[i].key;
        if (strncmp(k, "security.", 9) && strncmp(k, "sasl.", 5) && strncmp(k, "ssl.", 4))
            continue;
        if (rd_kafka_conf_set(conf, k, cfg->kafka[i].value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "sluice: backfill: kafka.%s: %s\n", k, errstr);
            rd_kafka_conf_destroy(conf);
            goto out;
        }
    }
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof(errstr))) {
        fprintf(stderr, "sluice: backfill: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        goto out;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "sluice: backfill: cannot create a producer: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        goto out;
    }
    rerr = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(m->signal_kafka_topic),
                             RD_KAFKA_V_KEY(m->topic_prefix, strlen(m->topic_prefix)),
                             RD_KAFKA_V_VALUE(text, strlen(text)),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(&delivered),
                             RD_KAFKA_V_END);
    if (!rerr) {
        rd_kafka_flush(rk, 30000);
        rerr = delivered == RD_KAFKA_RESP_ERR__IN_PROGRESS ? RD_KAFKA_RESP_ERR__TIMED_OUT : delivered;
    }
    if (rerr) {
        fprintf(stderr, "sluice: backfill: producing the signal to %s at %s: %s\n",
                m->signal_kafka_topic, bootstrap, rd_kafka_err2str(rerr));
        goto out;
    }
    printf("signal: execute-snapshot %s of %s sent to topic %s with key %s (kafka channel)\n",
           o->type, o->table, m->signal_kafka_topic, m->topic_prefix);
    printf("  value: %s\n", text);
    rc = SLUICE_EXIT_OK;
out:
    if (rk)
        rd_kafka_destroy(rk);
    json_decref(value);
    free(text);
    return rc;
}

/* Follows the table's topic until the group has applied it to the end and
 * nothing new arrived for quiet_s seconds. */
static int follow(const opts_t *o, const sluice_config_t *cfg, const sluice_manifest_t *m)
{
    const char *group = sluice_config_kafka_get(cfg, "group.id");
    char *topic = NULL;
    sluice_err_t err;
    rd_kafka_t *rk = NULL;
    sluice_pg_t *pg = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    sluice_progress_t *prog = NULL;
    int64_t started = sluice_cli_now_ms(), last_change = started, first_total = -1, prev_total = -1;
    int rc = SLUICE_EXIT_RUNTIME;

    sluice_err_clear(&err);
    if (sluice_manifest_table_topic(m, o->table, &topic, &err) < 0) {
        fprintf(stderr, "sluice: backfill: %s\n", err.msg);
        return SLUICE_EXIT_USAGE;
    }
    rk = sluice_cli_kafka_new(cfg, RD_KAFKA_CONSUMER, &err);
    if (!rk || !(parts = sluice_cli_partitions(rk, &topic, 1, &err))) {
        fprintf(stderr, "sluice: backfill: %s\n", err.msg);
        goto out;
    }
    pg = sluice_pg_connect(cfg->pg_conninfo, &err);
    /* the ledger may not exist yet (no worker started so far): create
     * Sluice's schema the way a worker would, so following can begin */
    if (!pg || sluice_pg_migrate(pg, &err) < 0) {
        fprintf(stderr, "sluice: backfill: %s\n", err.msg);
        goto out;
    }
    prog = sluice_progress_new(stderr, SLUICE_PROGRESS_AUTO, 5000);
    printf("following %s (group %s) until it is applied to its end and quiet for %ld s\n", topic,
           group, o->quiet_s);
    fflush(stdout);
    for (;;) {
        int64_t total = 0, behind = 0, now = sluice_cli_now_ms();
        int i;
        for (i = 0; i < parts->cnt; i++) {
            int64_t lo = 0, hi = 0, led = -1;
            rd_kafka_resp_err_t rerr = rd_kafka_query_watermark_offsets(
                rk, topic, parts->elems[i].partition, &lo, &hi, 10000);
            if (rerr) {
                fprintf(stderr, "sluice: backfill: watermarks of %s [%d]: %s\n", topic,
                        (int)parts->elems[i].partition, rd_kafka_err2str(rerr));
                goto out;
            }
            if (sluice_cli_ledger_get(pg, group, topic, parts->elems[i].partition, &led, &err) < 0) {
                fprintf(stderr, "sluice: backfill: %s\n", err.msg);
                goto out;
            }
            if (led < 0)
                led = lo; /* nothing applied yet */
            total += hi;
            if (led < hi)
                behind += hi - led;
            sluice_progress_update(prog, topic, parts->elems[i].partition, led, hi);
        }
        if (first_total < 0)
            first_total = total;
        if (total != prev_total) {
            prev_total = total;
            last_change = now;
        }
        sluice_progress_tick(prog, now);
        if (!behind && now - last_change >= o->quiet_s * 1000) {
            printf("caught up: %s applied to its end (%" PRId64 " new message(s) since the "
                   "signal)\n",
                   topic, total - first_total);
            if (total == first_total)
                printf("note: no new message arrived; is the connector running with the signal "
                       "channel enabled?\n");
            rc = SLUICE_EXIT_OK;
            break;
        }
        if (o->timeout_s > 0 && now - started >= o->timeout_s * 1000) {
            fprintf(stderr, "sluice: backfill: --timeout %ld s reached with %" PRId64 " message(s) "
                            "of %s not applied yet (is a worker running?)\n",
                    o->timeout_s, behind, topic);
            break;
        }
        sleep(1);
    }
out:
    sluice_progress_destroy(prog);
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (rk)
        rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    sluice_pg_destroy(pg);
    free(topic);
    return rc;
}

int sluice_cli_backfill(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},  {"table", required_argument, NULL, 't'},
        {"where", required_argument, NULL, 'w'},   {"source-conninfo", required_argument, NULL, 's'},
        {"type", required_argument, NULL, 'y'},    {"channel", required_argument, NULL, 'C'},
        {"connector", required_argument, NULL, 'n'}, {"id", required_argument, NULL, 'i'},
        {"wait", no_argument, NULL, 'W'},          {"timeout", required_argument, NULL, 'T'},
        {"quiet", required_argument, NULL, 'q'},   {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    opts_t o;
    sluice_config_t *cfg;
    const sluice_manifest_t *m = NULL;
    sluice_err_t err;
    char idbuf[48];
    size_t i;
    int c, rc, kafka;

    memset(&o, 0, sizeof(o));
    o.type = "incremental";
    o.quiet_s = 10;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': o.config_path = optarg; break;
        case 't': o.table = optarg; break;
        case 'w': o.where = optarg; break;
        case 's': o.source_conninfo = optarg; break;
        case 'y': o.type = optarg; break;
        case 'C': o.channel = optarg; break;
        case 'n': o.connector = optarg; break;
        case 'i': o.id = optarg; break;
        case 'W': o.wait = 1; break;
        case 'T': o.timeout_s = atol(optarg); break;
        case 'q': o.quiet_s = atol(optarg); break;
        case 'h': usage(stdout); return SLUICE_EXIT_OK;
        default: usage(stderr); return SLUICE_EXIT_USAGE;
        }
    }
    if (optind < argc || !o.table || !strchr(o.table, '.')) {
        fprintf(stderr, optind < argc ? "sluice: backfill: unexpected argument \"%s\"\n"
                                      : "sluice: backfill: --table SCHEMA.TABLE is missing%s\n",
                optind < argc ? argv[optind] : "");
        usage(stderr);
        return SLUICE_EXIT_USAGE;
    }
    if (strcmp(o.type, "incremental") && strcmp(o.type, "blocking")) {
        fprintf(stderr, "sluice: backfill: --type must be incremental or blocking\n");
        return SLUICE_EXIT_USAGE;
    }
    if (o.channel && strcmp(o.channel, "source") && strcmp(o.channel, "kafka")) {
        fprintf(stderr, "sluice: backfill: --channel must be source or kafka\n");
        return SLUICE_EXIT_USAGE;
    }
    if (o.id && (!*o.id || strlen(o.id) > 42)) {
        fprintf(stderr, "sluice: backfill: --id must be 1 to 42 characters (Debezium's signal id "
                        "column)\n");
        return SLUICE_EXIT_USAGE;
    }
    if (o.quiet_s < 0 || o.timeout_s < 0) {
        fprintf(stderr, "sluice: backfill: --quiet and --timeout must not be negative\n");
        return SLUICE_EXIT_USAGE;
    }
    sluice_err_clear(&err);
    cfg = sluice_config_load(o.config_path, &err);
    if (!cfg) {
        fprintf(stderr, "sluice: %s\n", err.msg);
        return SLUICE_EXIT_USAGE;
    }
    for (i = 0; i < cfg->nmanifests; i++)
        if (!o.connector || strcmp(o.connector, cfg->manifests[i]->name) == 0) {
            if (m && !o.connector) {
                fprintf(stderr, "sluice: backfill: the config lists several connectors; choose one "
                                "with --connector NAME\n");
                sluice_config_destroy(cfg);
                return SLUICE_EXIT_USAGE;
            }
            m = cfg->manifests[i];
        }
    if (!m) {
        fprintf(stderr, o.connector ? "sluice: backfill: no manifest names a connector \"%s\"\n"
                                    : "sluice: backfill: the config lists no connector manifest "
                                      "(connectors); Sluice needs it for the signal settings%s\n",
                o.connector ? o.connector : "");
        sluice_config_destroy(cfg);
        return SLUICE_EXIT_USAGE;
    }
    if (o.channel)
        kafka = strcmp(o.channel, "kafka") == 0;
    else
        kafka = !m->signal_data_collection && strstr(m->signal_channels, "kafka") != NULL;
    if (kafka && (!strstr(m->signal_channels, "kafka") || !m->signal_kafka_topic)) {
        fprintf(stderr, "sluice: backfill: connector %s does not enable the kafka signal channel "
                        "(signal.enabled.channels=%s; set it to include kafka and set "
                        "signal.kafka.topic)\n",
                m->name, m->signal_channels);
        sluice_config_destroy(cfg);
        return SLUICE_EXIT_USAGE;
    }
    if (!kafka && !strstr(m->signal_channels, "source")) {
        fprintf(stderr, "sluice: backfill: connector %s does not enable the source signal channel "
                        "(signal.enabled.channels=%s)\n",
                m->name, m->signal_channels);
        sluice_config_destroy(cfg);
        return SLUICE_EXIT_USAGE;
    }
    if (!o.id) {
        make_id(idbuf, sizeof(idbuf));
        o.id = idbuf;
    }
    rc = kafka ? send_kafka(&o, cfg, m) : send_source(&o, cfg, m, o.id);
    fflush(stdout);
    if (rc == SLUICE_EXIT_OK && o.wait)
        rc = follow(&o, cfg, m);
    sluice_config_destroy(cfg);
    return rc;
}
