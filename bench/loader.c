/*
 * bench-load: feeds a `KEY<TAB>VALUE` message file (bench/gen_events.py)
 * into a topic of the librdkafka mock cluster without ever letting the
 * mock's retention drop data a consumer has not read, and watches a consumer
 * group's committed offsets until it has caught up.
 *
 * The mock keeps at most 5 MiB / 100,000 message sets per partition and
 * silently drops the oldest sets beyond that (the log start offset moves).
 * So:
 *
 *   bench-load preload -b BS -t TOPIC -f FILE
 *       produce everything, then verify every low watermark is 0 and the
 *       high watermarks add up to the messages produced (fails when the file
 *       does not fit: create the topic with the mock broker's keep-all, or
 *       use feed).
 *
 *   bench-load feed -b BS -t TOPIC -f FILE -g GROUP [options]
 *       produce WHILE the group consumes, at most --window bytes per
 *       partition ahead of the group's committed offset.  Verification: the
 *       committed offsets C are read before each burst of produces; after
 *       the burst is delivered the low watermarks L are read, and L <= C
 *       must hold for every partition (retention only moves when something
 *       is produced, and committed offsets only grow, so no message at or
 *       after the group's position was ever dropped).  A violation exits 3
 *       naming the partition.  Then it watches like `watch`.
 *
 *   bench-load watch -b BS -t TOPIC -g GROUP
 *       poll the committed offsets until they equal the high watermarks.
 *
 * feed/watch options:
 *   --window BYTES     per-partition bytes (key+value+32 per record) ahead
 *                      of the committed offset (default 3 MiB)
 *   --rate N           pace change events at N/s (tombstones follow their
 *                      delete at once); default: as fast as the window allows
 *   --stamps FILE      write "LINE<TAB>PRODUCE_UNIX_US" per event message
 *   --timeline FILE    write "SECONDS<TAB>COMMITTED_MESSAGES" every 100 ms
 *   --timeout S        give up after S seconds (exit 1), default 3600
 *   --linger MS        producer linger.ms (default 5)
 *
 * Partitioning is Kafka's default for keyed records (murmur2 of the key
 * bytes, positive, modulo the partition count), computed here so the window
 * can be checked before each produce.  The last line on stdout is a JSON
 * summary.  Exit: 0 ok, 1 error/timeout, 2 usage, 3 data loss detected.
 */
#include <librdkafka/rdkafka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REC_OVERHEAD 32

typedef struct {
        const char *key;
        size_t klen;
        const char *val; /* NULL: tombstone */
        size_t vlen;
        int32_t part;
        int is_event;
} msg_t;

typedef struct {
        int64_t *cum; /* cum[o] = bytes of offsets [0, o) */
        int64_t n;    /* messages produced (next offset) */
        int64_t cap;
        int64_t delivered;
        int64_t committed; /* as of the last refresh, >= 0 */
        int64_t low;
        int64_t max_ahead;
} part_t;

static volatile sig_atomic_t stop;
static int nparts;
static part_t *parts;
static int64_t dr_errors, dr_misplaced;

static void on_signal(int s) {
        (void)s;
        stop = 1;
}

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Kafka's murmur2 (the Java client's Utils.murmur2). */
static int32_t murmur2(const unsigned char *data, size_t len) {
        const uint32_t m = 0x5bd1e995;
        uint32_t h       = 0x9747b28cU ^ (uint32_t)len;
        size_t i, n4 = len / 4;

        for (i = 0; i < n4; i++) {
                const unsigned char *d = data + i * 4;
                uint32_t k = (uint32_t)d[0] | ((uint32_t)d[1] << 8) |
                             ((uint32_t)d[2] << 16) | ((uint32_t)d[3] << 24);
                k *= m;
                k ^= k >> 24;
                k *= m;
                h *= m;
                h ^= k;
        }
        switch (len & 3) {
        case 3:
                h ^= (uint32_t)data[(len & ~(size_t)3) + 2] << 16;
                /* fall through */
        case 2:
                h ^= (uint32_t)data[(len & ~(size_t)3) + 1] << 8;
                /* fall through */
        case 1:
                h ^= (uint32_t)data[len & ~(size_t)3];
                h *= m;
        }
        h ^= h >> 13;
        h *= m;
        h ^= h >> 15;
        return (int32_t)h;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
        (void)rk;
        (void)opaque;
        if (m->err) {
                dr_errors++;
                fprintf(stderr, "bench-load: delivery failed: %s\n",
                        rd_kafka_err2str(m->err));
                return;
        }
        /* _private is the expected offset (produce order per partition). */
        if (m->partition < 0 || m->partition >= nparts ||
            m->offset != (int64_t)(intptr_t)m->_private)
                dr_misplaced++;
        else
                parts[m->partition].delivered++;
}

static int set(rd_kafka_conf_t *c, const char *k, const char *v) {
        char err[256];
        if (rd_kafka_conf_set(c, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
                fprintf(stderr, "bench-load: %s=%s: %s\n", k, v, err);
                return -1;
        }
        return 0;
}

static rd_kafka_t *mk(rd_kafka_type_t type, const char *bs, const char *group,
                      const char *linger) {
        char err[512];
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        rd_kafka_t *rk;

        if (set(c, "bootstrap.servers", bs) || set(c, "log_level", "3"))
                return NULL;
        if (type == RD_KAFKA_PRODUCER) {
                if (set(c, "linger.ms", linger) ||
                    set(c, "batch.num.messages", "10000") ||
                    set(c, "queue.buffering.max.messages", "2000000") ||
                    set(c, "queue.buffering.max.kbytes", "2097151") ||
                    set(c, "enable.idempotence", "true"))
                        return NULL;
                rd_kafka_conf_set_dr_msg_cb(c, dr_cb);
        } else {
                if (set(c, "group.id", group) ||
                    set(c, "enable.auto.commit", "false"))
                        return NULL;
        }
        rk = rd_kafka_new(type, c, err, sizeof(err));
        if (!rk)
                fprintf(stderr, "bench-load: rd_kafka_new: %s\n", err);
        return rk;
}

static int partition_count(rd_kafka_t *rk, const char *topic) {
        const struct rd_kafka_metadata *md;
        rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
        int n = -1, tries;

        for (tries = 0; tries < 50 && n <= 0; tries++) {
                if (rd_kafka_metadata(rk, 0, t, &md, 5000) ==
                    RD_KAFKA_RESP_ERR_NO_ERROR) {
                        if (md->topic_cnt == 1 && !md->topics[0].err)
                                n = md->topics[0].partition_cnt;
                        rd_kafka_metadata_destroy(md);
                }
                if (n <= 0)
                        usleep(100000);
        }
        rd_kafka_topic_destroy(t);
        return n;
}

/* Committed offsets of the group into parts[].committed (none -> 0). */
static int refresh_committed(rd_kafka_t *cons, const char *topic) {
        rd_kafka_topic_partition_list_t *l =
            rd_kafka_topic_partition_list_new(nparts);
        rd_kafka_resp_err_t err;
        int i;

        for (i = 0; i < nparts; i++)
                rd_kafka_topic_partition_list_add(l, topic, i);
        err = rd_kafka_committed(cons, l, 10000);
        if (err) {
                fprintf(stderr, "bench-load: committed: %s\n",
                        rd_kafka_err2str(err));
                rd_kafka_topic_partition_list_destroy(l);
                return -1;
        }
        for (i = 0; i < l->cnt; i++) {
                int p = l->elems[i].partition;
                if (l->elems[i].offset >= 0 &&
                    l->elems[i].offset > parts[p].committed)
                        parts[p].committed = l->elems[i].offset;
        }
        rd_kafka_topic_partition_list_destroy(l);
        return 0;
}

static int watermarks(rd_kafka_t *rk, const char *topic, int p, int64_t *lo,
                      int64_t *hi) {
        rd_kafka_resp_err_t err =
            rd_kafka_query_watermark_offsets(rk, topic, p, lo, hi, 10000);
        if (err) {
                fprintf(stderr, "bench-load: watermarks %s [%d]: %s\n", topic,
                        p, rd_kafka_err2str(err));
                return -1;
        }
        return 0;
}

static void usage(void) {
        fprintf(stderr,
                "usage: bench-load preload -b BS -t TOPIC -f FILE\n"
                "       bench-load feed -b BS -t TOPIC -f FILE -g GROUP "
                "[--window BYTES] [--rate N]\n"
                "                  [--stamps FILE] [--timeline FILE] "
                "[--timeout S] [--linger MS]\n"
                "       bench-load watch -b BS -t TOPIC -g GROUP "
                "[--timeline FILE] [--timeout S]\n");
}

int main(int argc, char **argv) {
        const char *mode, *bs = NULL, *topic = NULL, *file = NULL,
                          *group = NULL, *stamps_path = NULL,
                          *timeline_path = NULL, *linger = "5";
        int64_t window = 3 * 1024 * 1024;
        double rate = 0, timeout = 3600;
        rd_kafka_t *prod = NULL, *cons = NULL;
        msg_t *msgs = NULL;
        int64_t nmsgs = 0, nevents = 0, total_bytes = 0, *stamps = NULL;
        char *data = NULL;
        size_t dlen = 0;
        FILE *timeline = NULL;
        double t0, t_first_commit = -1, t_produced = -1, t_done = -1,
                   next_log = 0;
        int64_t first_commit_msgs = 0, min_margin = INT64_MAX, checks = 0,
                max_low = 0;
        int i, rc = 1;
        struct sigaction sa;

        if (argc < 2) {
                usage();
                return 2;
        }
        mode = argv[1];
        for (i = 2; i < argc; i++) {
                const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
                if (!v) {
                        usage();
                        return 2;
                }
                if (!strcmp(a, "-b"))
                        bs = v;
                else if (!strcmp(a, "-t"))
                        topic = v;
                else if (!strcmp(a, "-f"))
                        file = v;
                else if (!strcmp(a, "-g"))
                        group = v;
                else if (!strcmp(a, "--window"))
                        window = strtoll(v, NULL, 10);
                else if (!strcmp(a, "--rate"))
                        rate = atof(v);
                else if (!strcmp(a, "--stamps"))
                        stamps_path = v;
                else if (!strcmp(a, "--timeline"))
                        timeline_path = v;
                else if (!strcmp(a, "--timeout"))
                        timeout = atof(v);
                else if (!strcmp(a, "--linger"))
                        linger = v;
                else {
                        usage();
                        return 2;
                }
                i++;
        }
        if (!bs || !topic || (strcmp(mode, "watch") && !file) ||
            (strcmp(mode, "preload") && !group) ||
            (strcmp(mode, "preload") && strcmp(mode, "feed") &&
             strcmp(mode, "watch")) ||
            window < 65536) {
                usage();
                return 2;
        }
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);

        prod = mk(RD_KAFKA_PRODUCER, bs, NULL, linger);
        if (!prod)
                return 1;
        if (group && !(cons = mk(RD_KAFKA_CONSUMER, bs, group, linger)))
                return 1;
        nparts = partition_count(prod, topic);
        if (nparts <= 0) {
                fprintf(stderr, "bench-load: topic %s not found\n", topic);
                return 1;
        }
        parts = calloc((size_t)nparts, sizeof(*parts));

        if (file) {
                int fd = open(file, O_RDONLY);
                struct stat st;
                char *p, *end;
                int64_t cap = 1 << 20;

                if (fd < 0 || fstat(fd, &st) != 0) {
                        perror(file);
                        return 1;
                }
                dlen = (size_t)st.st_size;
                data = dlen ? mmap(NULL, dlen, PROT_READ, MAP_PRIVATE, fd, 0)
                            : NULL;
                if (dlen && data == MAP_FAILED) {
                        perror("mmap");
                        return 1;
                }
                close(fd);
                msgs = malloc((size_t)cap * sizeof(*msgs));
                for (p = data, end = data + dlen; p < end;) {
                        char *nl = memchr(p, '\n', (size_t)(end - p));
                        char *tab;
                        msg_t *m;

                        if (!nl)
                                nl = end;
                        if (nmsgs == cap) {
                                cap *= 2;
                                msgs = realloc(msgs, (size_t)cap * sizeof(*msgs));
                        }
                        m   = &msgs[nmsgs++];
                        tab = memchr(p, '\t', (size_t)(nl - p));
                        if (!tab) {
                                fprintf(stderr, "bench-load: line %" PRId64
                                                " has no TAB\n",
                                        nmsgs);
                                return 1;
                        }
                        m->key  = p;
                        m->klen = (size_t)(tab - p);
                        m->val  = tab + 1 < nl ? tab + 1 : NULL;
                        m->vlen = (size_t)(nl - tab - 1);
                        m->part = (int32_t)((murmur2((const unsigned char *)p,
                                                     m->klen) &
                                             0x7fffffff) %
                                            nparts);
                        m->is_event = m->val != NULL;
                        nevents += m->is_event;
                        total_bytes += (int64_t)(m->klen + m->vlen);
                        p = nl + 1;
                }
                for (i = 0; i < nparts; i++) {
                        parts[i].cap = 1024;
                        parts[i].cum = calloc(1024, sizeof(int64_t));
                }
                if (stamps_path)
                        stamps = calloc((size_t)nmsgs + 1, sizeof(int64_t));
        }
        if (timeline_path && !(timeline = fopen(timeline_path, "w"))) {
                perror(timeline_path);
                return 1;
        }

        if (!file) { /* watch: the topic is preloaded, highs are fixed */
                for (i = 0; i < nparts; i++) {
                        int64_t lo, hi;
                        if (watermarks(prod, topic, i, &lo, &hi))
                                return 1;
                        parts[i].n = hi;
                }
        }
        printf("ready\n");
        fflush(stdout);
        t0 = now_s();
        {
                int64_t next = 0, burst = 0, events_sent = 0;
                double last_refresh = -1;
                int produced_all = file ? 0 : 1;

                if (!strcmp(mode, "preload"))
                        window = INT64_MAX / 4;
                while (!stop) {
                        double t = now_s();
                        int blocked = 0, paced = 0;

                        if (t - t0 > timeout) {
                                fprintf(stderr, "bench-load: timeout after "
                                                "%.0f s\n",
                                        timeout);
                                goto out;
                        }
                        /* Produce as far as window and rate allow. */
                        while (!produced_all && next < nmsgs) {
                                msg_t *m    = &msgs[next];
                                part_t *pp  = &parts[m->part];
                                int64_t sz  = (int64_t)(m->klen + m->vlen) +
                                             REC_OVERHEAD;
                                int64_t ahead = pp->cum[pp->n] -
                                                pp->cum[pp->committed];
                                rd_kafka_resp_err_t err;

                                if (ahead + sz > window && ahead > 0) {
                                        blocked = 1;
                                        break;
                                }
                                if (rate > 0 && m->is_event &&
                                    t0 + (double)events_sent / rate > now_s()) {
                                        paced = 1;
                                        break;
                                }
                                if (pp->n + 1 >= pp->cap) {
                                        pp->cap *= 2;
                                        pp->cum = realloc(pp->cum,
                                                          (size_t)pp->cap *
                                                              sizeof(int64_t));
                                }
                                if (stamps)
                                        stamps[next] = wall_us();
                                err = rd_kafka_producev(
                                    prod, RD_KAFKA_V_TOPIC(topic),
                                    RD_KAFKA_V_PARTITION(m->part),
                                    RD_KAFKA_V_KEY(m->key, m->klen),
                                    RD_KAFKA_V_VALUE((void *)m->val,
                                                     m->val ? m->vlen : 0),
                                    RD_KAFKA_V_OPAQUE((void *)(intptr_t)pp->n),
                                    RD_KAFKA_V_END);
                                if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                                        rd_kafka_poll(prod, 10);
                                        continue;
                                }
                                if (err) {
                                        fprintf(stderr,
                                                "bench-load: produce: %s\n",
                                                rd_kafka_err2str(err));
                                        goto out;
                                }
                                pp->cum[pp->n + 1] = pp->cum[pp->n] + sz;
                                pp->n++;
                                if (ahead + sz > pp->max_ahead)
                                        pp->max_ahead = ahead + sz;
                                events_sent += m->is_event;
                                next++;
                                burst++;
                                if ((next & 1023) == 0) {
                                        rd_kafka_poll(prod, 0);
                                        if (cons && now_s() - last_refresh > 0.1)
                                                break; /* time to refresh */
                                }
                        }
                        if (!produced_all && next == nmsgs) {
                                if (rd_kafka_flush(prod, 60000)) {
                                        fprintf(stderr, "bench-load: flush "
                                                        "timed out\n");
                                        goto out;
                                }
                                produced_all = 1;
                                t_produced   = now_s() - t0;
                        }
                        rd_kafka_poll(prod, paced ? 1 : 0);
                        if (!cons)
                                break; /* preload: done producing */

                        /* Refresh: deliver the burst, verify nothing the
                         * group still needs was dropped, re-read committed. */
                        if (blocked || produced_all ||
                            now_s() - last_refresh > 0.1) {
                                int64_t sum = 0;
                                int p;

                                if (burst) {
                                        if (rd_kafka_flush(prod, 60000)) {
                                                fprintf(stderr, "bench-load: "
                                                                "flush timed "
                                                                "out\n");
                                                goto out;
                                        }
                                        for (p = 0; p < nparts; p++) {
                                                int64_t lo, hi;
                                                if (!parts[p].n)
                                                        continue;
                                                if (watermarks(prod, topic, p,
                                                               &lo, &hi))
                                                        goto out;
                                                checks++;
                                                parts[p].low = lo;
                                                if (lo > parts[p].committed) {
                                                        fprintf(
                                                            stderr,
                                                            "bench-load: DATA "
                                                            "LOST: partition "
                                                            "%d low watermark "
                                                            "%" PRId64
                                                            " > group's "
                                                            "committed "
                                                            "offset %" PRId64
                                                            " (the mock's "
                                                            "retention "
                                                            "dropped unread "
                                                            "messages)\n",
                                                            p, lo,
                                                            parts[p].committed);
                                                        rc = 3;
                                                        goto out;
                                                }
                                                if (lo > max_low)
                                                        max_low = lo;
                                                if (lo > 0 &&
                                                    parts[p].committed - lo <
                                                        min_margin)
                                                        min_margin =
                                                            parts[p].committed -
                                                            lo;
                                        }
                                        burst = 0;
                                }
                                if (refresh_committed(cons, topic))
                                        goto out;
                                last_refresh = now_s();
                                for (p = 0; p < nparts; p++)
                                        sum += parts[p].committed;
                                if (sum > 0 && t_first_commit < 0) {
                                        t_first_commit    = last_refresh - t0;
                                        first_commit_msgs = sum;
                                }
                                if (timeline && last_refresh - t0 >= next_log) {
                                        fprintf(timeline, "%.3f\t%" PRId64 "\n",
                                                last_refresh - t0, sum);
                                        fflush(timeline);
                                        next_log = last_refresh - t0 + 0.1;
                                }
                                if (produced_all) {
                                        int caught = 1;
                                        for (p = 0; p < nparts; p++)
                                                if (parts[p].committed <
                                                    parts[p].n)
                                                        caught = 0;
                                        if (!file) { /* watch: preloaded */
                                                caught = 1;
                                                for (p = 0; p < nparts; p++)
                                                        if (parts[p].committed <
                                                            parts[p].n)
                                                                caught = 0;
                                        }
                                        if (caught) {
                                                t_done = last_refresh - t0;
                                                if (timeline)
                                                        fprintf(timeline,
                                                                "%.3f\t%" PRId64
                                                                "\n",
                                                                t_done, sum);
                                                break;
                                        }
                                }
                                if (blocked || produced_all)
                                        usleep(blocked ? 5000 : 20000);
                        }
                }
                if (stop) {
                        fprintf(stderr, "bench-load: interrupted\n");
                        goto out;
                }
        }
        if (rd_kafka_flush(prod, 60000) || dr_errors || dr_misplaced) {
                fprintf(stderr,
                        "bench-load: %" PRId64 " delivery errors, %" PRId64
                        " messages at unexpected offsets\n",
                        dr_errors, dr_misplaced);
                goto out;
        }
        if (file) {
                /* Final check: highs are what was produced; preload: lows 0. */
                int p;
                for (p = 0; p < nparts; p++) {
                        int64_t lo, hi;
                        if (watermarks(prod, topic, p, &lo, &hi))
                                goto out;
                        if (hi != parts[p].n || parts[p].delivered != parts[p].n) {
                                fprintf(stderr,
                                        "bench-load: partition %d high "
                                        "watermark %" PRId64 ", produced %" PRId64
                                        ", delivered %" PRId64 "\n",
                                        p, hi, parts[p].n, parts[p].delivered);
                                goto out;
                        }
                        if (!cons && lo != 0) {
                                fprintf(stderr,
                                        "bench-load: DATA LOST: partition %d "
                                        "starts at offset %" PRId64
                                        " (more than the mock's 5 MiB per "
                                        "partition); create the topic with "
                                        "keep-all, or use feed\n",
                                        p, lo);
                                rc = 3;
                                goto out;
                        }
                }
        }
        if (stamps) {
                FILE *f = fopen(stamps_path, "w");
                int64_t k;
                if (!f) {
                        perror(stamps_path);
                        goto out;
                }
                for (k = 0; k < nmsgs; k++)
                        if (msgs[k].is_event)
                                fprintf(f, "%" PRId64 "\t%" PRId64 "\n", k,
                                        stamps[k]);
                fclose(f);
        }
        {
                int64_t max_ahead = 0;
                int p;
                for (p = 0; p < nparts; p++)
                        if (parts[p].max_ahead > max_ahead)
                                max_ahead = parts[p].max_ahead;
                printf("{\"mode\":\"%s\",\"messages\":%" PRId64
                       ",\"events\":%" PRId64 ",\"bytes\":%" PRId64
                       ",\"partitions\":%d,\"produce_s\":%.3f,"
                       "\"first_commit_s\":%.3f,\"first_commit_msgs\":%" PRId64
                       ",\"done_s\":%.3f,\"window\":%" PRId64
                       ",\"max_ahead\":%" PRId64 ",\"low_checks\":%" PRId64
                       ",\"min_margin\":%" PRId64 ",\"max_low\":%" PRId64 "}\n",
                       mode, nmsgs, nevents, total_bytes, nparts, t_produced,
                       t_first_commit, first_commit_msgs, t_done,
                       cons ? window : 0, max_ahead, checks,
                       min_margin == INT64_MAX ? -1 : min_margin, max_low);
        }
        rc = 0;
out:
        if (timeline)
                fclose(timeline);
        if (cons) {
                rd_kafka_destroy(cons);
        }
        if (prod) {
                rd_kafka_purge(prod, RD_KAFKA_PURGE_F_QUEUE |
                                         RD_KAFKA_PURGE_F_INFLIGHT);
                rd_kafka_destroy(prod);
        }
        return rc;
}
