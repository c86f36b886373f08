/* Logging: the one entry point every module writes through. Diagnostics go to
 * stderr, one line each, prefixed with time and level; lines about a message
 * name its topic/partition/offset. */
#ifndef SLUICE_OBSERVE_H
#define SLUICE_OBSERVE_H

typedef enum {
    SLUICE_LOG_DEBUG = 0,
    SLUICE_LOG_INFO,
    SLUICE_LOG_WARN,
    SLUICE_LOG_ERROR
} sluice_log_level_t;

void sluice_log_set_level(sluice_log_level_t level);
/* Parses "debug|info|warn|error"; -1 if unknown. */
int sluice_log_parse_level(const char *name);
void sluice_log(sluice_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
