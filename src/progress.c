/* Progress arithmetic and rendering for catch-up work. Owns the per-topic
 * sums, the smoothed rate and the ETA; it does not know where offsets come
 * from (the run loop, replay or backfill feed it). */
#include "sluice/progress.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sluice/observe.h"

/* Weight of the newest rate sample (exponential moving average). */
#define RATE_ALPHA 0.3

typedef struct {
    int32_t partition;
    int64_t start; /* applied offset when first seen */
    int64_t applied;
    int64_t end;
} part_t;

typedef struct {
    char *name;
    part_t *parts;
    size_t nparts;
    int64_t last_done; /* at the last rate sample */
    int64_t last_ms;   /* -1: no sample yet */
    int64_t last_log_ms;
    sluice_progress_stats_t stats;
} topic_t;

struct sluice_progress {
    FILE *out;
    int tty;
    int64_t interval_ms;
    topic_t *topics;
    size_t ntopics;
    size_t drawn; /* terminal lines drawn by the last tick */
};

sluice_progress_t *sluice_progress_new(FILE *out, sluice_progress_mode_t mode, int64_t interval_ms)
{
    sluice_progress_t *p = calloc(1, sizeof(*p));

    if (!p)
        return NULL;
    p->out = out ? out : stderr;
    p->tty = mode == SLUICE_PROGRESS_TTY ||
             (mode == SLUICE_PROGRESS_AUTO && isatty(fileno(p->out)));
    p->interval_ms = interval_ms > 0 ? interval_ms : 10000;
    return p;
}

void sluice_progress_destroy(sluice_progress_t *p)
{
    size_t i;

    if (!p)
        return;
    for (i = 0; i < p->ntopics; i++) {
        free(p->topics[i].name);
        free(p->topics[i].parts);
    }
    free(p->topics);
    free(p);
}

static topic_t *topic_find(const sluice_progress_t *p, const char *name)
{
    size_t i;

    for (i = 0; i < p->ntopics; i++)
        if (strcmp(p->topics[i].name, name) == 0)
            return &p->topics[i];
    return NULL;
}

int sluice_progress_update(sluice_progress_t *p, const char *topic, int32_t partition,
                           int64_t applied, int64_t end)
{
    topic_t *t = topic_find(p, topic);
    part_t *pt = NULL;
    size_t i;

    if (!t) {
        topic_t *grown = realloc(p->topics, (p->ntopics + 1) * sizeof(*grown));
        if (!grown)
            return -1;
        p->topics = grown;
        t = &grown[p->ntopics];
        memset(t, 0, sizeof(*t));
        t->name = strdup(topic);
        if (!t->name)
            return -1;
        t->last_ms = -1;
        t->last_log_ms = -1;
        t->stats.eta_s = -1;
        p->ntopics++;
    }
    for (i = 0; i < t->nparts; i++)
        if (t->parts[i].partition == partition)
            pt = &t->parts[i];
    if (!pt) {
        part_t *grown = realloc(t->parts, (t->nparts + 1) * sizeof(*grown));
        if (!grown)
            return -1;
        t->parts = grown;
        pt = &grown[t->nparts++];
        pt->partition = partition;
        pt->start = applied < 0 ? 0 : applied;
    }
    if (applied < 0)
        applied = 0;
    /* a rewind (replay) restarts the count from there */
    if (applied < pt->start)
        pt->start = applied;
    pt->applied = applied;
    pt->end = end < applied ? applied : end;
    return 0;
}

static void compute(topic_t *t, int64_t now_ms)
{
    int64_t done = 0, left = 0;
    size_t i;

    for (i = 0; i < t->nparts; i++) {
        done += t->parts[i].applied - t->parts[i].start;
        left += t->parts[i].end - t->parts[i].applied;
    }
    t->stats.done = done;
    t->stats.total = done + left;
    if (t->last_ms >= 0 && now_ms > t->last_ms) {
        double sample = (double)(done - t->last_done) * 1000.0 / (double)(now_ms - t->last_ms);
        if (sample < 0)
            sample = 0;
        t->stats.rate = t->stats.rate > 0 ? RATE_ALPHA * sample + (1 - RATE_ALPHA) * t->stats.rate
                                          : sample;
    }
    if (t->last_ms < 0 || now_ms > t->last_ms) {
        t->last_done = done;
        t->last_ms = now_ms;
    }
    if (left == 0)
        t->stats.eta_s = 0;
    else if (t->stats.rate > 0)
        t->stats.eta_s = (int64_t)((double)left / t->stats.rate + 0.5);
    else
        t->stats.eta_s = -1;
}

void sluice_progress_format_eta(int64_t eta_s, char *buf, size_t size)
{
    if (eta_s < 0)
        snprintf(buf, size, "--");
    else
        snprintf(buf, size, "%" PRId64 ":%02d:%02d", eta_s / 3600, (int)(eta_s / 60 % 60),
                 (int)(eta_s % 60));
}

int sluice_progress_stats(const sluice_progress_t *p, const char *topic,
                          sluice_progress_stats_t *stats)
{
    const topic_t *t = topic_find(p, topic);

    if (!t)
        return -1;
    *stats = t->stats;
    return 0;
}

int sluice_progress_format(const sluice_progress_t *p, const char *topic, char *buf, size_t size)
{
    const topic_t *t = topic_find(p, topic);
    char eta[32];
    double pct;

    if (!t)
        return snprintf(buf, size, "%s  (unknown)", topic);
    pct = t->stats.total ? 100.0 * (double)t->stats.done / (double)t->stats.total : 100.0;
    if (t->stats.eta_s == 0)
        snprintf(eta, sizeof(eta), "caught up");
    else {
        char hms[24];
        sluice_progress_format_eta(t->stats.eta_s, hms, sizeof(hms));
        snprintf(eta, sizeof(eta), "ETA %s", hms);
    }
    return snprintf(buf, size, "%s  %" PRId64 "/%" PRId64 " (%.1f%%)  %.0f/s  %s", t->name,
                    t->stats.done, t->stats.total, pct, t->stats.rate, eta);
}

void sluice_progress_tick(sluice_progress_t *p, int64_t now_ms)
{
    size_t i;
    char line[1024];

    for (i = 0; i < p->ntopics; i++)
        compute(&p->topics[i], now_ms);
    if (p->tty) {
        /* redraw in place: up over the lines drawn last time */
        if (p->drawn)
            fprintf(p->out, "\033[%zuA", p->drawn);
        for (i = 0; i < p->ntopics; i++) {
            sluice_progress_format(p, p->topics[i].name, line, sizeof(line));
            fprintf(p->out, "\r\033[K%s\n", line);
        }
        p->drawn = p->ntopics;
        fflush(p->out);
        return;
    }
    for (i = 0; i < p->ntopics; i++) {
        topic_t *t = &p->topics[i];
        if (t->last_log_ms >= 0 && now_ms - t->last_log_ms < p->interval_ms)
            continue;
        t->last_log_ms = now_ms;
        sluice_progress_format(p, t->name, line, sizeof(line));
        sluice_log(SLUICE_LOG_INFO, "progress %s", line);
    }
}
