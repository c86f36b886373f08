/*
 * sluice-mockbroker: a librdkafka mock Kafka cluster as a standalone process,
 * for integration tests and demos.  It speaks the real Kafka protocol over
 * loopback TCP; the worker under test cannot tell it from a real cluster.
 *
 *   sluice-mockbroker [--brokers N] [--topic NAME:PARTITIONS]...
 *
 * Line 1 on stdout is the bootstrap server list.  Then it runs until SIGTERM
 * or SIGINT.  Fault injection: one command per line on stdin (see usage());
 * each answers "ok" or "error: ..." on stdout.  EOF on stdin only stops
 * reading commands, it does not stop the cluster.
 *
 * Retention: the mock keeps at most 5 MiB / 100,000 message sets per
 * partition and silently drops the oldest beyond that; tests check
 * watermarks after loading instead of working around the limit.  Only the
 * benchmark's preloaded runs need more: "create-topic NAME:N keep-all"
 * lifts the limit on the new partitions (see lift_retention()).
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
        (void)sig;
        stop_requested = 1;
}

static void usage(FILE *out, const char *argv0) {
        fprintf(out,
                "usage: %s [--brokers N] [--topic NAME:PARTITIONS]...\n"
                "\n"
                "Prints the bootstrap servers on line 1 of stdout, then runs\n"
                "until SIGTERM/SIGINT.  Commands on stdin, one per line:\n"
                "  broker-down ID             close the broker's listener\n"
                "  broker-up ID               reopen it\n"
                "  broker-rtt ID MS           add round-trip latency\n"
                "  push-errors APIKEY COUNT ERRCODE\n"
                "                             fail the next COUNT requests of\n"
                "                             APIKEY with ERRCODE (numeric)\n"
                "  topic-error TOPIC ERRCODE  metadata error for TOPIC\n"
                "  create-topic NAME:PARTITIONS [keep-all]\n"
                "                             keep-all: no retention limit\n"
                "  quit                       shut down (like SIGTERM)\n",
                argv0);
}

static int parse_int(const char *s, long min, long max, long *out) {
        char *end;
        long v;

        errno = 0;
        v     = strtol(s, &end, 10);
        if (errno || end == s || *end != '\0' || v < min || v > max)
                return -1;
        *out = v;
        return 0;
}

#define MOCK_RETENTION_BYTES ((size_t)5 * 1024 * 1024)
#define MOCK_RETENTION_SETS ((size_t)100000)

/* librdkafka's mock cluster has no setting for its retention limit.  A mock
 * partition holds, one machine word each and in this order: the head of its
 * message set list (first element, address of the last element's link),
 * the bytes and the count of its sets, and the two limits.  A partition
 * that was just created has an empty list (NULL, the address of the first
 * word), 0, 0, 5 MiB and 100,000: a run of six words that is looked for in
 * this process's private writable memory, and whose limits are then raised
 * as far as they go.  Returns the number of partitions changed, -1 when the
 * memory map cannot be read. */
#ifdef __GNUC__ /* it reads memory it does not own, on purpose */
__attribute__((no_sanitize("address", "undefined")))
#endif
static int lift_retention(void) {
        FILE *maps = fopen("/proc/self/maps", "r");
        char line[512];
        int lifted = 0;

        if (!maps)
                return -1;
        while (fgets(line, sizeof(line), maps)) {
                unsigned long lo, hi;
                char perms[5];
                size_t *w, *end;

                if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) != 3 ||
                    perms[0] != 'r' || perms[1] != 'w' || perms[3] != 'p' ||
                    strstr(line, "[v") || hi - lo > ((unsigned long)1 << 34))
                        continue; /* not a heap (a sanitizer's shadow, say) */
                end = (size_t *)hi;
                for (w = (size_t *)lo; w + 6 <= end; w++) {
                        if (w[4] != MOCK_RETENTION_BYTES ||
                            w[5] != MOCK_RETENTION_SETS || w[0] != 0 ||
                            w[1] != (size_t)(uintptr_t)w || w[2] != 0 ||
                            w[3] != 0)
                                continue;
                        w[4] = SIZE_MAX;
                        w[5] = SIZE_MAX;
                        lifted++;
                }
        }
        fclose(maps);
        return lifted;
}

/* "NAME:PARTITIONS" (":PARTITIONS" optional, default 1); returns the
 * number of partitions created, -1 with errbuf set. */
static int create_topic(rd_kafka_mock_cluster_t *mc, const char *spec,
                        char *errbuf, size_t errsize) {
        char name[512];
        const char *colon = strrchr(spec, ':');
        long parts        = 1;
        size_t len        = colon ? (size_t)(colon - spec) : strlen(spec);
        rd_kafka_resp_err_t err;

        if (len == 0 || len >= sizeof(name)) {
                snprintf(errbuf, errsize, "bad topic spec \"%s\"", spec);
                return -1;
        }
        memcpy(name, spec, len);
        name[len] = '\0';
        if (colon && parse_int(colon + 1, 1, 100000, &parts) != 0) {
                snprintf(errbuf, errsize, "bad partition count in \"%s\"",
                         spec);
                return -1;
        }
        err = rd_kafka_mock_topic_create(mc, name, (int)parts, 1);
        if (err) {
                snprintf(errbuf, errsize, "creating topic %s: %s", name,
                         rd_kafka_err2str(err));
                return -1;
        }
        return (int)parts;
}

/* Runs one stdin command; returns 1 on "quit", 0 otherwise. */
static int run_command(rd_kafka_mock_cluster_t *mc, char *line) {
        char *argv[8];
        int argc = 0;
        char errbuf[600];
        long a, b, c;
        char *tok, *save = NULL;

        for (tok = strtok_r(line, " \t\r\n", &save); tok && argc < 8;
             tok = strtok_r(NULL, " \t\r\n", &save))
                argv[argc++] = tok;
        if (argc == 0)
                return 0;
        errbuf[0] = '\0';

        if (!strcmp(argv[0], "quit")) {
                printf("ok\n");
                fflush(stdout);
                return 1;
        } else if ((!strcmp(argv[0], "broker-down") ||
                    !strcmp(argv[0], "broker-up")) &&
                   argc == 2 && parse_int(argv[1], 0, INT32_MAX, &a) == 0) {
                rd_kafka_resp_err_t err =
                    argv[0][7] == 'd'
                        ? rd_kafka_mock_broker_set_down(mc, (int32_t)a)
                        : rd_kafka_mock_broker_set_up(mc, (int32_t)a);
                if (err)
                        snprintf(errbuf, sizeof(errbuf), "%s",
                                 rd_kafka_err2str(err));
        } else if (!strcmp(argv[0], "broker-rtt") && argc == 3 &&
                   parse_int(argv[1], 0, INT32_MAX, &a) == 0 &&
                   parse_int(argv[2], 0, 3600000, &b) == 0) {
                rd_kafka_resp_err_t err =
                    rd_kafka_mock_broker_set_rtt(mc, (int32_t)a, (int)b);
                if (err)
                        snprintf(errbuf, sizeof(errbuf), "%s",
                                 rd_kafka_err2str(err));
        } else if (!strcmp(argv[0], "push-errors") && argc == 4 &&
                   parse_int(argv[1], 0, INT16_MAX, &a) == 0 &&
                   parse_int(argv[2], 1, 100000, &b) == 0 &&
                   parse_int(argv[3], -1000, 1000, &c) == 0) {
                rd_kafka_resp_err_t *errs = malloc((size_t)b * sizeof(*errs));
                long i;

                if (!errs) {
                        snprintf(errbuf, sizeof(errbuf), "out of memory");
                } else {
                        for (i = 0; i < b; i++)
                                errs[i] = (rd_kafka_resp_err_t)c;
                        rd_kafka_mock_push_request_errors_array(
                            mc, (int16_t)a, (size_t)b, errs);
                        free(errs);
                }
        } else if (!strcmp(argv[0], "topic-error") && argc == 3 &&
                   parse_int(argv[2], -1000, 1000, &c) == 0) {
                rd_kafka_mock_topic_set_error(mc, argv[1],
                                              (rd_kafka_resp_err_t)c);
        } else if (!strcmp(argv[0], "create-topic") &&
                   (argc == 2 ||
                    (argc == 3 && !strcmp(argv[2], "keep-all")))) {
                int parts = create_topic(mc, argv[1], errbuf,
                                         sizeof(errbuf));
                int lifted;
                if (parts > 0 && argc == 3) {
                        lifted = lift_retention();
                        if (lifted < parts)
                                snprintf(errbuf, sizeof(errbuf),
                                         "keep-all: found %d new partitions "
                                         "to lift the retention limit of, "
                                         "expected %d (this librdkafka's mock "
                                         "is laid out differently)",
                                         lifted, parts);
                }
        } else {
                snprintf(errbuf, sizeof(errbuf), "unknown or malformed command "
                                                 "\"%s\"",
                         argv[0]);
        }

        if (errbuf[0])
                printf("error: %s\n", errbuf);
        else
                printf("ok\n");
        fflush(stdout);
        return 0;
}

/* Reads whatever stdin has without blocking longer than timeout_ms and runs
 * complete lines.  Returns 1 when "quit" was read. */
static int poll_commands(rd_kafka_mock_cluster_t *mc, int *stdin_open,
                         char *buf, size_t bufsize, size_t *used,
                         int timeout_ms) {
        struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
        ssize_t n;
        char *nl;

        if (!*stdin_open) {
                usleep((useconds_t)timeout_ms * 1000);
                return 0;
        }
        if (poll(&pfd, 1, timeout_ms) <= 0)
                return 0;
        n = read(STDIN_FILENO, buf + *used, bufsize - 1 - *used);
        if (n <= 0) {
                if (n < 0 && (errno == EINTR || errno == EAGAIN))
                        return 0;
                *stdin_open = 0;
                return 0;
        }
        *used += (size_t)n;
        buf[*used] = '\0';
        while ((nl = strchr(buf, '\n')) != NULL) {
                size_t linelen = (size_t)(nl - buf) + 1;

                *nl = '\0';
                if (run_command(mc, buf))
                        return 1;
                memmove(buf, buf + linelen, *used - linelen + 1);
                *used -= linelen;
        }
        if (*used == bufsize - 1) /* overlong line: drop it */
                *used = 0;
        return 0;
}

int main(int argc, char **argv) {
        char errstr[512];
        char cmdbuf[4096];
        size_t cmdused = 0;
        int stdin_open = 1;
        long brokers   = 1;
        rd_kafka_conf_t *conf;
        rd_kafka_t *rk;
        rd_kafka_mock_cluster_t *mc;
        struct sigaction sa;
        int i;

        /* The mock builds each fetch response (MBs while a backlog is read)
         * in a buffer of its own. glibc would give each back to the kernel
         * and fault the next one in page by page: CPU that a real broker,
         * sending from its page cache, does not spend, taken from whichever
         * consumer shares these cores. Keep them in the heap instead. */
        mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
        mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);

        for (i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
                        usage(stdout, argv[0]);
                        return 0;
                } else if (!strcmp(argv[i], "--brokers") && i + 1 < argc) {
                        if (parse_int(argv[++i], 1, 64, &brokers) != 0) {
                                fprintf(stderr,
                                        "sluice-mockbroker: --brokers wants "
                                        "1..64, got \"%s\"\n",
                                        argv[i]);
                                return 2;
                        }
                } else if (!strcmp(argv[i], "--topic") && i + 1 < argc) {
                        i++; /* created below, once the cluster exists */
                } else {
                        usage(stderr, argv[0]);
                        return 2;
                }
        }

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sa.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &sa, NULL);

        conf = rd_kafka_conf_new();
        /* This handle only owns the mock cluster; keep its log quiet. */
        rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "sluice-mockbroker: rd_kafka_new: %s\n",
                        errstr);
                rd_kafka_conf_destroy(conf);
                return 1;
        }
        mc = rd_kafka_mock_cluster_new(rk, (int)brokers);
        if (!mc) {
                fprintf(stderr, "sluice-mockbroker: cannot create the mock "
                                "cluster\n");
                rd_kafka_destroy(rk);
                return 1;
        }

        for (i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--brokers")) {
                        i++;
                } else if (!strcmp(argv[i], "--topic")) {
                        if (create_topic(mc, argv[++i], errstr,
                                         sizeof(errstr)) < 0) {
                                fprintf(stderr, "sluice-mockbroker: %s\n",
                                        errstr);
                                rd_kafka_mock_cluster_destroy(mc);
                                rd_kafka_destroy(rk);
                                return 2;
                        }
                }
        }

        printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
        fflush(stdout);

        while (!stop_requested) {
                if (poll_commands(mc, &stdin_open, cmdbuf, sizeof(cmdbuf),
                                  &cmdused, 100))
                        break;
        }

        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(rk);
        return 0;
}
