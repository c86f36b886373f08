/* Growable buffers and the per-event arena. Nothing here knows about events,
 * SQL or Kafka. */
#include "sluice/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sluice_buf_init(sluice_buf_t *buf)
{
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
}

void sluice_buf_cleanup(sluice_buf_t *buf)
{
    free(buf->data);
    sluice_buf_init(buf);
}

void sluice_buf_reset(sluice_buf_t *buf)
{
    buf->len = 0;
    if (buf->cap)
        buf->data[0] = '\0';
}

int sluice_buf_reserve(sluice_buf_t *buf, size_t extra)
{
    size_t need = buf->len + extra + 1;
    size_t cap;
    char *p;

    if (need <= buf->cap)
        return 0;
    cap = buf->cap ? buf->cap : 256;
    while (cap < need)
        cap *= 2;
    p = realloc(buf->data, cap);
    if (!p)
        return -1;
    buf->data = p;
    buf->cap = cap;
    return 0;
}

int sluice_buf_append(sluice_buf_t *buf, const void *data, size_t len)
{
    if (sluice_buf_reserve(buf, len) < 0)
        return -1;
    if (len)
        memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
    return 0;
}

int sluice_buf_puts(sluice_buf_t *buf, const char *s)
{
    return sluice_buf_append(buf, s, strlen(s));
}

int sluice_buf_putc(sluice_buf_t *buf, char c)
{
    if (buf->len + 1 < buf->cap) {
        buf->data[buf->len++] = c;
        buf->data[buf->len] = '\0';
        return 0;
    }
    return sluice_buf_append(buf, &c, 1);
}

char *sluice_read_stream(FILE *f, size_t *len)
{
    char *data = NULL;
    size_t cap = 0, n = 0;

    for (;;) {
        size_t got;
        if (n == cap) {
            char *grown;
            cap = cap ? cap * 2 : 65536;
            grown = realloc(data, cap + 1);
            if (!grown) {
                free(data);
                errno = ENOMEM;
                return NULL;
            }
            data = grown;
        }
        got = fread(data + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    data[n] = '\0';
    *len = n;
    return data;
}

int sluice_buf_put_int64(sluice_buf_t *buf, int64_t v)
{
    char tmp[24], *p = tmp + sizeof(tmp);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return sluice_buf_append(buf, p, (size_t)(tmp + sizeof(tmp) - p));
}

int sluice_buf_printf(sluice_buf_t *buf, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || sluice_buf_reserve(buf, (size_t)n) < 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf->len += (size_t)n;
    return 0;
}

struct sluice_arena_chunk {
    sluice_arena_chunk_t *next;
    size_t cap;
    size_t used;
    /* data follows, 16-byte aligned */
    _Alignas(16) unsigned char data[];
};

#define ARENA_CHUNK_MIN 8192

void sluice_arena_init(sluice_arena_t *arena)
{
    arena->head = NULL;
    arena->used_total = 0;
}

void sluice_arena_cleanup(sluice_arena_t *arena)
{
    sluice_arena_chunk_t *c = arena->head;

    while (c) {
        sluice_arena_chunk_t *next = c->next;
        free(c);
        c = next;
    }
    sluice_arena_init(arena);
}

void sluice_arena_reset(sluice_arena_t *arena)
{
    sluice_arena_chunk_t *c, *last;

    if (!arena->head)
        return;
    /* keep the oldest (last in list) chunk: it is the base size */
    last = arena->head;
    while (last->next)
        last = last->next;
    c = arena->head;
    while (c != last) {
        sluice_arena_chunk_t *next = c->next;
        free(c);
        c = next;
    }
    last->used = 0;
    arena->head = last;
    arena->used_total = 0;
}

void *sluice_arena_alloc(sluice_arena_t *arena, size_t size)
{
    sluice_arena_chunk_t *c = arena->head;
    size_t aligned = (size + 7u) & ~(size_t)7u;
    void *p;

    if (aligned < size)
        return NULL;
    if (!c || c->cap - c->used < aligned) {
        size_t cap = ARENA_CHUNK_MIN;
        if (c && c->cap * 2 > cap)
            cap = c->cap * 2;
        while (cap < aligned)
            cap *= 2;
        c = malloc(sizeof(*c) + cap);
        if (!c)
            return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = arena->head;
        arena->head = c;
    }
    p = c->data + c->used;
    c->used += aligned;
    arena->used_total += aligned;
    return p;
}

void *sluice_arena_calloc(sluice_arena_t *arena, size_t n, size_t size)
{
    void *p;

    if (size && n > SIZE_MAX / size)
        return NULL;
    p = sluice_arena_alloc(arena, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

char *sluice_arena_strndup(sluice_arena_t *arena, const char *s, size_t len)
{
    char *p = sluice_arena_alloc(arena, len + 1);

    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}
