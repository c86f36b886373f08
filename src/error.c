/* Error objects: formatting and class names. Owns no policy about what to do
 * with an error; callers decide (retry, dead-letter, exit). */
#include "sluice/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void sluice_err_clear(sluice_err_t *err)
{
    if (!err)
        return;
    err->cls = SLUICE_ERR_NONE;
    err->msg[0] = '\0';
}

int sluice_err_set(sluice_err_t *err, sluice_err_class_t cls, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return -1;
    err->cls = cls;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return -1;
}

void sluice_err_prefix(sluice_err_t *err, const char *fmt, ...)
{
    char prefix[256];
    size_t plen, mlen;
    va_list ap;
    int n;

    if (!err)
        return;
    va_start(ap, fmt);
    n = vsnprintf(prefix, sizeof(prefix) - 2, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    plen = strlen(prefix);
    prefix[plen++] = ':';
    prefix[plen++] = ' ';
    mlen = strnlen(err->msg, sizeof(err->msg) - 1);
    if (plen + mlen > sizeof(err->msg) - 1)
        mlen = sizeof(err->msg) - 1 - plen;
    memmove(err->msg + plen, err->msg, mlen);
    memcpy(err->msg, prefix, plen);
    err->msg[plen + mlen] = '\0';
}

const char *sluice_err_class_name(sluice_err_class_t cls)
{
    switch (cls) {
    case SLUICE_ERR_NONE:
        return "none";
    case SLUICE_ERR_TRANSIENT:
        return "transient";
    case SLUICE_ERR_PERMANENT:
        return "permanent";
    case SLUICE_ERR_FATAL:
        return "fatal";
    }
    return "unknown";
}
