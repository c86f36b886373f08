/* Error objects shared by every module: a failure class and one message that
 * names the thing and the fix. Functions return 0 or a negative code and fill
 * a caller-provided sluice_err_t. */
#ifndef SLUICE_ERROR_H
#define SLUICE_ERROR_H

#include <stddef.h>

typedef enum {
    SLUICE_ERR_NONE = 0,
    SLUICE_ERR_TRANSIENT, /* retry the whole batch after a backoff */
    SLUICE_ERR_PERMANENT, /* this one message can never be applied */
    SLUICE_ERR_FATAL      /* configuration or environment: exit non-zero */
} sluice_err_class_t;

#define SLUICE_ERR_MSG_MAX 1024

typedef struct {
    sluice_err_class_t cls;
    char msg[SLUICE_ERR_MSG_MAX];
} sluice_err_t;

void sluice_err_clear(sluice_err_t *err);

/* Sets class and message; returns -1 so callers can `return sluice_err_set(...)`.
 * err may be NULL (the message is dropped). */
int sluice_err_set(sluice_err_t *err, sluice_err_class_t cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an existing message, keeping its class. */
void sluice_err_prefix(sluice_err_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

const char *sluice_err_class_name(sluice_err_class_t cls);

#endif
