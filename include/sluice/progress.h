/* Progress of a catch-up (replay, backfill, --exit-at-end runs): fed with
 * (topic, partition, applied next offset, end offset) updates, it renders per
 * topic "applied/total, rate, ETA" either as refreshing terminal lines or as
 * one log line per topic and interval. It does no I/O besides writing to the
 * stream it was given (or sluice_log), and keeps no clock of its own: callers
 * pass `now` so tests can drive it. */
#ifndef SLUICE_PROGRESS_H
#define SLUICE_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct sluice_progress sluice_progress_t;

typedef enum {
    SLUICE_PROGRESS_AUTO = 0, /* terminal lines if the stream is a tty, else log lines */
    SLUICE_PROGRESS_TTY,
    SLUICE_PROGRESS_LOG
} sluice_progress_mode_t;

typedef struct {
    int64_t done;  /* messages applied since the partitions were first seen */
    int64_t total; /* done + what is left up to the end offsets */
    double rate;   /* messages per second (smoothed); 0 before two samples */
    int64_t eta_s; /* seconds to the end at that rate; -1 unknown, 0 caught up */
} sluice_progress_stats_t;

/* out: where terminal lines go (stderr normally); interval_ms: how often a
 * log line is written per topic in LOG mode (terminal lines redraw every
 * tick). Caller destroys. NULL on allocation failure. */
sluice_progress_t *sluice_progress_new(FILE *out, sluice_progress_mode_t mode, int64_t interval_ms);
void sluice_progress_destroy(sluice_progress_t *p);

/* Records where a partition is: `applied` is the next offset to apply (the
 * ledger's next_offset), `end` the high watermark. The first update of a
 * partition sets its starting point. Returns -1 on allocation failure. */
int sluice_progress_update(sluice_progress_t *p, const char *topic, int32_t partition,
                           int64_t applied, int64_t end);

/* Samples rates and renders (tty: every call; log: every interval_ms). */
void sluice_progress_tick(sluice_progress_t *p, int64_t now_ms);

/* Per-topic numbers as of the last tick; -1 if the topic is unknown. */
int sluice_progress_stats(const sluice_progress_t *p, const char *topic,
                          sluice_progress_stats_t *stats);

/* One topic's line, e.g. "inv.public.orders  1200/5000 (24.0%)  300/s  ETA 0:00:13".
 * Returns the length snprintf would have written. */
int sluice_progress_format(const sluice_progress_t *p, const char *topic, char *buf, size_t size);

/* "h:mm:ss" (or "--" for -1). */
void sluice_progress_format_eta(int64_t eta_s, char *buf, size_t size);

#endif
