/* Logging to stderr with ISO-8601 UTC timestamps. Metrics and the HTTP
 * endpoint will live here too; nothing else writes diagnostics directly. */
#include "sluice/observe.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static sluice_log_level_t min_level = SLUICE_LOG_INFO;
static const char *const names[] = {"debug", "info", "warn", "error"};

void sluice_log_set_level(sluice_log_level_t level)
{
    min_level = level;
}

int sluice_log_parse_level(const char *name)
{
    int i;

    for (i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

void sluice_log(sluice_log_level_t level, const char *fmt, ...)
{
    char line[2048];
    struct timeval tv;
    struct tm tm;
    size_t n;
    va_list ap;

    if (level < min_level)
        return;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03dZ %-5s ", (int)(tv.tv_usec / 1000),
                          names[level]);
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}
