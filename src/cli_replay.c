/* `sluice replay`: moves a group back (or forward) to earliest, latest, a
 * point in time or an offset, in both places a worker reads its start from:
 * the ledger rows (sluice.offsets, authoritative) and the group's committed
 * Kafka offsets (for lag tools, and for partitions without a ledger row).
 * It refuses while the group has live members unless --force. Also home of
 * the small Kafka/ledger helpers the operator subcommands share (cli_int.h).
 * It applies nothing: the next `sluice run` does. */
#include "sluice/cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli_int.h"
#include "sluice/config.h"
#include "sluice/observe.h"
#include "sluice/source.h"
#include "sluice/pg.h"

#define KAFKA_TIMEOUT_MS 10000

/* ---- shared helpers (cli_int.h) ----------------------------------------- */

int64_t sluice_cli_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    if (level <= 4)
        sluice_log(level <= 3 ? SLUICE_LOG_ERROR : SLUICE_LOG_WARN, "kafka: %s: %s", fac, buf);
}

rd_kafka_t *sluice_cli_kafka_new(const sluice_config_t *cfg, rd_kafka_type_t type, sluice_err_t *err)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[512];
    rd_kafka_t *rk;

    if (sluice_source_conf_copy(cfg, conf, type, err) < 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    /* A temporary member (replay's commit) must speak the group's protocol:
     * the workers' cooperative-sticky unless the config says otherwise. */
    if (type == RD_KAFKA_CONSUMER &&
        (rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr)) ||
         rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", errstr, sizeof(errstr)) ||
         (!sluice_config_kafka_get(cfg, "partition.assignment.strategy") &&
          rd_kafka_conf_set(conf, "partition.assignment.strategy", "cooperative-sticky", errstr,
                            sizeof(errstr))))) {
        rd_kafka_conf_destroy(conf);
        sluice_err_set(err, SLUICE_ERR_FATAL, "kafka: %s", errstr);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        sluice_err_set(err, SLUICE_ERR_FATAL, "kafka: cannot create a client: %s", errstr);
        return NULL;
    }
    return rk;
}

static int push(char ***v, size_t *n, const char *s)
{
    char **grown;
    size_t i;

    for (i = 0; i < *n; i++)
        if (strcmp((*v)[i], s) == 0)
            return 0;
    grown = realloc(*v, (*n + 1) * sizeof(*grown));
    if (!grown)
        return -1;
    *v = grown;
    if (!(grown[*n] = strdup(s)))
        return -1;
    (*n)++;
    return 0;
}

static int consumed_by(const sluice_config_t *cfg, const char *topic)
{
    return !sluice_config_topic_excluded(cfg, topic) && sluice_config_topic_selected(cfg, topic);
}

int sluice_cli_topics(rd_kafka_t *rk, const sluice_config_t *cfg, const char *only, char ***topics,
                      size_t *n, sluice_err_t *err)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t rerr;
    int i;

    *topics = NULL;
    *n = 0;
    rerr = rd_kafka_metadata(rk, 1, NULL, &md, KAFKA_TIMEOUT_MS);
    if (rerr)
        return sluice_err_set(err, SLUICE_ERR_TRANSIENT,
                              "kafka: cannot read metadata from %s: %s (check "
                              "kafka.bootstrap.servers)",
                              sluice_config_kafka_get(cfg, "bootstrap.servers"),
                              rd_kafka_err2str(rerr));
    if (only) {
        char *copy = strdup(only), *save = NULL, *tok;
        if (!copy)
            goto nomem;
        for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            int found = 0;
            while (isspace((unsigned char)*tok))
                tok++;
            if (!*tok)
                continue;
            for (i = 0; i < md->topic_cnt && !found; i++)
                found = strcmp(md->topics[i].topic, tok) == 0 && !md->topics[i].err;
            if (!found || !consumed_by(cfg, tok)) {
                sluice_err_set(err, SLUICE_ERR_FATAL,
                               found ? "topic %s is not one the config consumes (see `sluice check`)"
                                     : "topic %s does not exist in the cluster",
                               tok);
                free(copy);
                goto fail;
            }
            if (push(topics, n, tok) < 0) {
                free(copy);
                goto nomem;
            }
        }
        free(copy);
    } else {
        for (i = 0; i < md->topic_cnt; i++)
            if (!md->topics[i].err && consumed_by(cfg, md->topics[i].topic) &&
                push(topics, n, md->topics[i].topic) < 0)
                goto nomem;
    }
    rd_kafka_metadata_destroy(md);
    if (!*n)
        return sluice_err_set(err, SLUICE_ERR_FATAL,
                              "no topic in the cluster matches the configured topics");
    return 0;
nomem:
    sluice_err_set(err, SLUICE_ERR_FATAL, "out of memory");
fail:
    rd_kafka_metadata_destroy(md);
    for (i = 0; i < (int)*n; i++)
        free((*topics)[i]);
    free(*topics);
    *topics = NULL;
    *n = 0;
    return -1;
}

rd_kafka_topic_partition_list_t *sluice_cli_partitions(rd_kafka_t *rk, char *const *topics, size_t n,
                                                       sluice_err_t *err)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    size_t t;

    for (t = 0; t < n; t++) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topics[t], NULL);
        rd_kafka_resp_err_t rerr = rd_kafka_metadata(rk, 0, rkt, &md, KAFKA_TIMEOUT_MS);
        int p;

        if (rerr || md->topic_cnt != 1 || md->topics[0].err) {
            sluice_err_set(err, SLUICE_ERR_TRANSIENT, "kafka: partitions of %s: %s", topics[t],
                           rd_kafka_err2str(rerr ? rerr : md->topic_cnt ? md->topics[0].err
                                                                        : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
            if (md)
                rd_kafka_metadata_destroy(md);
            rd_kafka_topic_destroy(rkt);
            rd_kafka_topic_partition_list_destroy(l);
            return NULL;
        }
        for (p = 0; p < md->topics[0].partition_cnt; p++)
            rd_kafka_topic_partition_list_add(l, topics[t], md->topics[0].partitions[p].id);
        rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
    }
    rd_kafka_topic_partition_list_sort(l, NULL, NULL);
    return l;
}

int sluice_cli_ledger_get(sluice_pg_t *pg, const char *group, const char *topic, int32_t partition,
                          int64_t *next, sluice_err_t *err)
{
    char ptext[16];
    const char *params[3] = {group, topic, ptext};
    PGresult *res;

    snprintf(ptext, sizeof(ptext), "%" PRId32, partition);
    res = PQexecParams(pg->conn,
                       "SELECT next_offset FROM sluice.offsets WHERE group_id = $1 AND topic = $2 "
                       "AND partition = $3",
                       3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        sluice_pg_result_err(pg, res, "reading the ledger sluice.offsets", err);
        PQclear(res);
        return -1;
    }
    *next = PQntuples(res) ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : -1;
    PQclear(res);
    return 0;
}

/* ---- replay --------------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sluice replay -c FILE --to earliest|latest|TIMESTAMP|OFFSET [--topics T1,T2]\n"
            "                     [--force] [--dry-run]\n\n"
            "Moves the config's consumer group to a new start position: the ledger rows\n"
            "(sluice.offsets) and the group's committed Kafka offsets of every partition of\n"
            "the topics the config consumes (connectors' topics included). The next\n"
            "`sluice run` starts exactly there; the mirror's position guard keeps replayed\n"
            "old events from regressing rows.\n\n"
            "  --to earliest     the oldest retained message (low watermark)\n"
            "  --to latest       the end (skip everything not yet applied)\n"
            "  --to TIMESTAMP    ISO-8601, e.g. 2024-05-01T12:00:00Z or ...+02:00 (no zone: UTC):\n"
            "                    the first message whose timestamp is at or after it\n"
            "  --to OFFSET       this offset in every partition (clamped to what is retained)\n"
            "  --topics T1,T2    only these topics\n"
            "  --force           even while the group has live members (they re-read the ledger)\n"
            "  --dry-run         print the changes, change nothing\n");
}

/* ISO-8601 → milliseconds since the epoch; -1 if it does not parse. */
static int64_t parse_time(const char *s)
{
    struct tm tm;
    const char *p;
    int64_t ms = 0, off = 0;
    time_t secs;

    memset(&tm, 0, sizeof(tm));
    p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        p = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
    if (!p) {
        memset(&tm, 0, sizeof(tm));
        p = strptime(s, "%Y-%m-%d", &tm);
        if (!p || *p)
            return -1;
    }
    if (*p == '.' || *p == ',') {
        int digits = 0;
        p++;
        while (isdigit((unsigned char)*p)) {
            if (digits < 3) {
                ms = ms * 10 + (*p - '0');
                digits++;
            }
            p++;
        }
        while (digits++ < 3)
            ms *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, hh = 0, mm = 0;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) < 1 && sscanf(p + 1, "%2d%2d", &hh, &mm) < 1)
            return -1;
        off = sign * (hh * 3600 + mm * 60);
        p += strlen(p);
    }
    if (*p)
        return -1;
    secs = timegm(&tm);
    if (secs == (time_t)-1)
        return -1;
    return ((int64_t)secs - off) * 1000 + ms;
}

typedef enum { TO_EARLIEST, TO_LATEST, TO_TIME, TO_OFFSET } to_kind_t;

/* A client whose DescribeGroups request was refused as unsupported cannot be
 * destroyed with librdkafka 2.0.2 (rd_kafka_destroy waits forever); it is
 * left to process exit, reachable from here. */
static rd_kafka_t *abandoned_admin;
static rd_kafka_t *abandoned_member; /* see the end of sluice_cli_replay */

/* Whether the group has live members: 0 answered (*members set), -1 the
 * cluster cannot tell (why filled). Uses its own client (see above). */
static int group_members(const sluice_config_t *cfg, const char *group, int *members, char *why,
                         size_t whysz)
{
    sluice_err_t err;
    rd_kafka_t *rk = sluice_cli_kafka_new(cfg, RD_KAFKA_PRODUCER, &err);
    rd_kafka_queue_t *q;
    rd_kafka_AdminOptions_t *opts;
    const char *groups[1] = {group};
    rd_kafka_event_t *ev;
    char errstr[256];
    int rc = -1, unsupported = 0;

    *members = 0;
    if (!rk) {
        snprintf(why, whysz, "%.*s", (int)(whysz > 0 ? whysz - 1 : 0), err.msg);
        return -1;
    }
    q = rd_kafka_queue_new(rk);
    opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS);
    rd_kafka_AdminOptions_set_request_timeout(opts, KAFKA_TIMEOUT_MS, errstr, sizeof(errstr));
    rd_kafka_DescribeConsumerGroups(rk, groups, 1, opts, q);
    ev = rd_kafka_queue_poll(q, KAFKA_TIMEOUT_MS + 5000);
    if (!ev) {
        snprintf(why, whysz, "DescribeGroups: no answer");
    } else if (rd_kafka_event_error(ev)) {
        unsupported = rd_kafka_event_error(ev) == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE;
        snprintf(why, whysz, "DescribeGroups: %s", rd_kafka_event_error_string(ev));
    } else {
        const rd_kafka_DescribeConsumerGroups_result_t *res =
            rd_kafka_event_DescribeConsumerGroups_result(ev);
        size_t cnt = 0;
        const rd_kafka_ConsumerGroupDescription_t **descs =
            rd_kafka_DescribeConsumerGroups_result_groups(res, &cnt);
        if (cnt == 1) {
            const rd_kafka_error_t *e = rd_kafka_ConsumerGroupDescription_error(descs[0]);
            if (!e) {
                *members = (int)rd_kafka_ConsumerGroupDescription_member_count(descs[0]);
                rc = 0;
            } else if (rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
                rc = 0;
            } else {
                unsupported = rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE;
                snprintf(why, whysz, "DescribeGroups: %s", rd_kafka_error_string(e));
            }
        } else {
            snprintf(why, whysz, "DescribeGroups: no description of %s", group);
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_queue_destroy(q);
    if (rc == 0) {
        rd_kafka_destroy(rk);
        return 0;
    }
    /* A broker without DescribeGroups (librdkafka's mock cluster) cannot
     * answer ListGroups' member list either (and librdkafka 2.0.2 can hang
     * on that path): stop here. Otherwise try the older ListGroups API. */
    if (unsupported) {
        abandoned_admin = rk;
        return -1;
    }
    {
        const struct rd_kafka_group_list *gl = NULL;
        size_t used = strlen(why);
        rd_kafka_resp_err_t rerr = rd_kafka_list_groups(rk, group, &gl, KAFKA_TIMEOUT_MS);
        if (rerr) {
            snprintf(why + used, whysz - used, "; ListGroups: %s", rd_kafka_err2str(rerr));
            abandoned_admin = rk;
            return -1;
        }
        if (gl->group_cnt == 1 && gl->groups[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
            *members = gl->groups[0].member_cnt;
        else if (gl->group_cnt == 1 && gl->groups[0].err != RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
            snprintf(why + used, whysz - used, "; ListGroups: %s",
                     rd_kafka_err2str(gl->groups[0].err));
            rd_kafka_group_list_destroy(gl);
            rd_kafka_destroy(rk);
            return -1;
        }
        rd_kafka_group_list_destroy(gl);
        rd_kafka_destroy(rk);
        return 0;
    }
}

/* Commits offs for the group: a "simple" commit (no membership), which
 * Kafka accepts while the group has no live member; a cluster that refuses
 * it for a group it knows (the mock) gets the commit from a short-lived
 * member instead. With --force, live members may keep some partitions: those
 * are marked in skipped[] (the members commit them from the ledger). */
static rd_kafka_resp_err_t commit_offsets(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *offs,
                                          char *const *topics, size_t ntopics, int force,
                                          int *skipped, int *joined)
{
    rd_kafka_resp_err_t rerr = rd_kafka_commit(rk, offs, 0);
    rd_kafka_topic_partition_list_t *sub, *owned = NULL, *mine;
    int64_t deadline;
    size_t i;
    int k;

    if (rerr != RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID && rerr != RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION &&
        rerr != RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS)
        return rerr;
    sub = rd_kafka_topic_partition_list_new((int)ntopics);
    for (i = 0; i < ntopics; i++)
        rd_kafka_topic_partition_list_add(sub, topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_poll_set_consumer(rk);
    rerr = rd_kafka_subscribe(rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (rerr)
        return rerr;
    *joined = 1;
    deadline = sluice_cli_now_ms() + 3 * KAFKA_TIMEOUT_MS;
    for (;;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        int all = 1;
        if (m)
            rd_kafka_message_destroy(m);
        if (owned)
            rd_kafka_topic_partition_list_destroy(owned);
        owned = NULL;
        if (rd_kafka_assignment(rk, &owned) == 0) {
            for (k = 0; k < offs->cnt && all; k++)
                all = rd_kafka_topic_partition_list_find(owned, offs->elems[k].topic,
                                                         offs->elems[k].partition) != NULL;
        } else {
            all = 0;
        }
        if (all)
            break;
        if (sluice_cli_now_ms() > deadline) {
            if (!force || !owned) {
                if (owned)
                    rd_kafka_topic_partition_list_destroy(owned);
                return RD_KAFKA_RESP_ERR__TIMED_OUT;
            }
            break;
        }
    }
    /* commit what this member owns */
    mine = rd_kafka_topic_partition_list_new(offs->cnt);
    for (k = 0; k < offs->cnt; k++) {
        if (rd_kafka_topic_partition_list_find(owned, offs->elems[k].topic, offs->elems[k].partition))
            rd_kafka_topic_partition_list_add(mine, offs->elems[k].topic, offs->elems[k].partition)
                ->offset = offs->elems[k].offset;
        else
            skipped[k] = 1;
    }
    rd_kafka_topic_partition_list_destroy(owned);
    rerr = mine->cnt ? rd_kafka_commit(rk, mine, 0) : RD_KAFKA_RESP_ERR_NO_ERROR;
    for (k = 0; !rerr && k < mine->cnt; k++)
        rerr = mine->elems[k].err;
    rd_kafka_topic_partition_list_destroy(mine);
    return rerr;
}

/* group_members() in a child process: librdkafka 2.0.2 can hang in
 * rd_kafka_destroy, or abort on a background thread, after a DescribeGroups
 * request the broker does not support (the mock cluster). The child reports
 * through a pipe and leaves with _exit(); the parent has no Kafka client
 * yet when it forks. */
static int group_members_isolated(const sluice_config_t *cfg, const char *group, int *members,
                                  char *why, size_t whysz)
{
    char buf[1024];
    size_t got = 0;
    int fds[2], rc = -1, m = 0, off = 0, status;
    pid_t pid;

    fflush(stdout);
    fflush(stderr);
    if (pipe(fds) < 0) {
        snprintf(why, whysz, "pipe: %s", strerror(errno));
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        snprintf(why, whysz, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        char w[512] = "";
        int crc, cm = 0, n;
        close(fds[0]);
        crc = group_members(cfg, group, &cm, w, sizeof(w));
        n = snprintf(buf, sizeof(buf), "%d %d %s", crc, cm, w);
        if (n > 0 && write(fds[1], buf, (size_t)n) < 0)
            _exit(1);
        _exit(0);
    }
    close(fds[1]);
    for (;;) {
        ssize_t n = read(fds[0], buf + got, sizeof(buf) - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fds[0]);
    buf[got] = '\0';
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (sscanf(buf, "%d %d %n", &rc, &m, &off) < 2) {
        snprintf(why, whysz, "the group check did not report back");
        return -1;
    }
    *members = m;
    snprintf(why, whysz, "%s", buf + off);
    return rc;
}

static int ledger_write(sluice_pg_t *pg, const char *group, const rd_kafka_topic_partition_list_t *l,
                        sluice_err_t *err)
{
    int i;

    if (sluice_pg_exec(pg, "BEGIN", err) < 0)
        return -1;
    for (i = 0; i < l->cnt; i++) {
        char ptext[16], otext[24];
        const char *params[4] = {group, l->elems[i].topic, ptext, otext};
        PGresult *res;
        snprintf(ptext, sizeof(ptext), "%" PRId32, l->elems[i].partition);
        snprintf(otext, sizeof(otext), "%" PRId64, l->elems[i].offset);
        res = PQexecParams(pg->conn,
                           "INSERT INTO sluice.offsets (group_id, topic, partition, next_offset) "
                           "VALUES ($1, $2, $3, $4) ON CONFLICT (group_id, topic, partition) DO "
                           "UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()",
                           4, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            sluice_pg_result_err(pg, res, "writing the ledger sluice.offsets", err);
            PQclear(res);
            PQclear(PQexec(pg->conn, "ROLLBACK"));
            return -1;
        }
        PQclear(res);
    }
    return sluice_pg_exec(pg, "COMMIT", err);
}

static void fmt_offset(int64_t off, char *buf, size_t size)
{
    if (off < 0)
        snprintf(buf, size, "none");
    else
        snprintf(buf, size, "%" PRId64, off);
}

int sluice_cli_replay(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"to", required_argument, NULL, 't'},
        {"topics", required_argument, NULL, 'T'}, {"force", no_argument, NULL, 'f'},
        {"dry-run", no_argument, NULL, 'n'},      {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL, *to = NULL, *only = NULL, *group;
    int force = 0, dry = 0, joined = 0, c, rc = SLUICE_EXIT_RUNTIME, i;
    to_kind_t kind = TO_EARLIEST;
    int64_t when = 0, fixed = 0;
    sluice_config_t *cfg = NULL;
    sluice_err_t err;
    rd_kafka_t *rk = NULL;
    sluice_pg_t *pg = NULL;
    char **topics = NULL;
    size_t ntopics = 0, t;
    rd_kafka_topic_partition_list_t *target = NULL, *committed = NULL;
    int64_t *ledger_old = NULL;
    int *skipped = NULL;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config_path = optarg; break;
        case 't': to = optarg; break;
        case 'T': only = optarg; break;
        case 'f': force = 1; break;
        case 'n': dry = 1; break;
        case 'h': usage(stdout); return SLUICE_EXIT_OK;
        default: usage(stderr); return SLUICE_EXIT_USAGE;
        }
    }
    if (optind < argc || !to) {
        fprintf(stderr, optind < argc ? "sluice: replay: unexpected argument \"%s\"\n"
                                      : "sluice: replay: --to is missing%s\n",
                optind < argc ? argv[optind] : "");
        usage(stderr);
        return SLUICE_EXIT_USAGE;
    }
    if (strcmp(to, "earliest") == 0) {
        kind = TO_EARLIEST;
    } else if (strcmp(to, "latest") == 0) {
        kind = TO_LATEST;
    } else if (strspn(to, "0123456789") == strlen(to)) {
        kind = TO_OFFSET;
        errno = 0;
        fixed = strtoll(to, NULL, 10);
        if (errno) {
            fprintf(stderr, "sluice: replay: --to %s is out of range\n", to);
            return SLUICE_EXIT_USAGE;
        }
    } else if ((when = parse_time(to)) >= 0) {
        kind = TO_TIME;
    } else {
        fprintf(stderr, "sluice: replay: --to \"%s\" is not earliest, latest, an offset or an "
                        "ISO-8601 time such as 2024-05-01T12:00:00Z\n",
                to);
        return SLUICE_EXIT_USAGE;
    }

    sluice_err_clear(&err);
    /* 1. configuration */
    cfg = sluice_config_load(config_path, &err);
    if (!cfg) {
        fprintf(stderr, "sluice: %s\n", err.msg);
        return SLUICE_EXIT_USAGE;
    }
    group = sluice_config_kafka_get(cfg, "group.id");

    /* 2. Kafka: whether the group is in use (before any client of ours
     * exists: the check runs in a child process), topics, partitions */
    if (!force) {
        int members = 0;
        char why[512] = "";
        if (group_members_isolated(cfg, group, &members, why, sizeof(why)) < 0) {
            fprintf(stderr, "sluice: replay: cannot tell whether group %s has live members (%s); "
                            "stop every worker of the group, then re-run with --force\n",
                    group, why);
            rc = SLUICE_EXIT_RUNTIME;
            goto out;
        }
        if (members > 0) {
            fprintf(stderr, "sluice: replay: group %s has %d live member(s): stop its workers "
                            "first, or pass --force (running workers then re-read the ledger)\n",
                    group, members);
            rc = SLUICE_EXIT_RUNTIME;
            goto out;
        }
    }
    rk = sluice_cli_kafka_new(cfg, RD_KAFKA_CONSUMER, &err);
    if (!rk) {
        fprintf(stderr, "sluice: %s\n", err.msg);
        rc = SLUICE_EXIT_USAGE;
        goto out;
    }
    if (sluice_cli_topics(rk, cfg, only, &topics, &ntopics, &err) < 0) {
        fprintf(stderr, "sluice: replay: %s\n", err.msg);
        rc = err.cls == SLUICE_ERR_FATAL ? SLUICE_EXIT_USAGE : SLUICE_EXIT_RUNTIME;
        goto out;
    }
    target = sluice_cli_partitions(rk, topics, ntopics, &err);
    if (!target) {
        fprintf(stderr, "sluice: replay: %s\n", err.msg);
        goto out;
    }

    /* 3. where each partition goes */
    if (kind == TO_TIME) {
        rd_kafka_resp_err_t rerr;
        for (i = 0; i < target->cnt; i++)
            target->elems[i].offset = when;
        rerr = rd_kafka_offsets_for_times(rk, target, KAFKA_TIMEOUT_MS);
        if (rerr) {
            fprintf(stderr, "sluice: replay: offsets for time %s: %s\n", to, rd_kafka_err2str(rerr));
            goto out;
        }
    }
    for (i = 0; i < target->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &target->elems[i];
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t rerr =
            rd_kafka_query_watermark_offsets(rk, tp->topic, tp->partition, &lo, &hi, KAFKA_TIMEOUT_MS);
        if (rerr) {
            fprintf(stderr, "sluice: replay: watermarks of %s [%d]: %s\n", tp->topic,
                    (int)tp->partition, rd_kafka_err2str(rerr));
            goto out;
        }
        switch (kind) {
        case TO_EARLIEST: tp->offset = lo; break;
        case TO_LATEST: tp->offset = hi; break;
        case TO_OFFSET: tp->offset = fixed < lo ? lo : fixed > hi ? hi : fixed; break;
        case TO_TIME:
            if (tp->err) {
                fprintf(stderr, "sluice: replay: offsets for time %s of %s [%d]: %s\n", to,
                        tp->topic, (int)tp->partition, rd_kafka_err2str(tp->err));
                goto out;
            }
            /* -1: no message at or after that time */
            if (tp->offset < 0)
                tp->offset = hi;
            break;
        }
    }

    /* 4. what it was: the ledger and Kafka's committed offsets */
    pg = sluice_pg_connect(cfg->pg_conninfo, &err);
    if (!pg || sluice_pg_migrate(pg, &err) < 0) {
        fprintf(stderr, "sluice: replay: %s\n", err.msg);
        goto out;
    }
    ledger_old = calloc((size_t)target->cnt, sizeof(*ledger_old));
    skipped = calloc((size_t)target->cnt, sizeof(*skipped));
    committed = rd_kafka_topic_partition_list_copy(target);
    if (!ledger_old || !skipped || !committed) {
        fprintf(stderr, "sluice: out of memory\n");
        goto out;
    }
    for (i = 0; i < target->cnt; i++)
        if (sluice_cli_ledger_get(pg, group, target->elems[i].topic, target->elems[i].partition,
                                  &ledger_old[i], &err) < 0) {
            fprintf(stderr, "sluice: replay: %s\n", err.msg);
            goto out;
        }
    if (rd_kafka_committed(rk, committed, KAFKA_TIMEOUT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR)
        for (i = 0; i < committed->cnt; i++)
            committed->elems[i].offset = -1;

    /* 5. the ledger first: it is what a worker starts from */
    if (!dry && ledger_write(pg, group, target, &err) < 0) {
        fprintf(stderr, "sluice: replay: %s (nothing was changed)\n", err.msg);
        goto out;
    }
    /* 6. then Kafka's committed offsets */
    if (!dry) {
        rd_kafka_resp_err_t rerr =
            commit_offsets(rk, target, topics, ntopics, force, skipped, &joined);
        for (i = 0; !rerr && i < target->cnt; i++)
            rerr = skipped[i] ? RD_KAFKA_RESP_ERR_NO_ERROR : target->elems[i].err;
        if (rerr) {
            fprintf(stderr, "sluice: replay: the ledger was moved, but committing the group's "
                            "Kafka offsets failed: %s (workers start from the ledger anyway; "
                            "re-run replay to fix lag reporting)\n",
                    rd_kafka_err2str(rerr));
            rc = SLUICE_EXIT_RUNTIME;
            goto report;
        }
    }
    rc = SLUICE_EXIT_OK;
report:
    printf("%sgroup %s, --to %s:\n", dry ? "dry run (nothing changed): " : "", group, to);
    for (i = 0; i < target->cnt; i++) {
        char lo[24], ko[24];
        fmt_offset(ledger_old[i], lo, sizeof(lo));
        fmt_offset(committed->elems[i].offset, ko, sizeof(ko));
        if (skipped[i])
            printf("  %s [%d]: ledger %s -> %" PRId64 ", kafka %s (a live member owns it and "
                   "moves it when it re-reads the ledger)\n",
                   target->elems[i].topic, (int)target->elems[i].partition, lo,
                   target->elems[i].offset, ko);
        else
            printf("  %s [%d]: ledger %s -> %" PRId64 ", kafka %s -> %" PRId64 "%s\n",
                   target->elems[i].topic, (int)target->elems[i].partition, lo,
                   target->elems[i].offset, ko, target->elems[i].offset,
                   ledger_old[i] == target->elems[i].offset ? " (unchanged)" : "");
    }
out:
    free(ledger_old);
    free(skipped);
    if (committed)
        rd_kafka_topic_partition_list_destroy(committed);
    if (target)
        rd_kafka_topic_partition_list_destroy(target);
    for (t = 0; t < ntopics; t++)
        free(topics[t]);
    free(topics);
    sluice_pg_destroy(pg);
    if (rk && joined) {
        /* Leave the group. librdkafka 2.0.2 can then abort destroying a
         * short-lived cooperative-sticky member (assertion on the sticky
         * assignor's state), so the handle is left to process exit. */
        rd_kafka_consumer_close(rk);
        abandoned_member = rk;
    } else if (rk) {
        rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    }
    sluice_config_destroy(cfg);
    return rc;
}
