/* Growable byte buffers and a bump arena: the two allocation shapes used on
 * the hot path. Both abort nothing: allocation failure is reported as -1. */
#ifndef SLUICE_BUF_H
#define SLUICE_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *data; /* always NUL-terminated when cap > 0 */
    size_t len;
    size_t cap;
} sluice_buf_t;

void sluice_buf_init(sluice_buf_t *buf);
void sluice_buf_cleanup(sluice_buf_t *buf);
void sluice_buf_reset(sluice_buf_t *buf);
int sluice_buf_reserve(sluice_buf_t *buf, size_t extra);
int sluice_buf_append(sluice_buf_t *buf, const void *data, size_t len);
int sluice_buf_puts(sluice_buf_t *buf, const char *s);
int sluice_buf_putc(sluice_buf_t *buf, char c);
/* Decimal text of v (what printf's PRId64 writes, without its cost). */
int sluice_buf_put_int64(sluice_buf_t *buf, int64_t v);
int sluice_buf_printf(sluice_buf_t *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reads f to its end into a NUL-terminated buffer (caller frees); NULL with
 * errno ENOMEM when memory runs out. *len = bytes read. */
#include <stdio.h>
char *sluice_read_stream(FILE *f, size_t *len);

/* Arena: many small allocations freed together (one per decoded event). */
typedef struct sluice_arena_chunk sluice_arena_chunk_t;
typedef struct {
    sluice_arena_chunk_t *head;
    size_t used_total;
} sluice_arena_t;

void sluice_arena_init(sluice_arena_t *arena);
void sluice_arena_cleanup(sluice_arena_t *arena);
/* Keeps the first chunk for reuse, frees the rest. */
void sluice_arena_reset(sluice_arena_t *arena);
/* 8-byte aligned; NULL on allocation failure. */
void *sluice_arena_alloc(sluice_arena_t *arena, size_t size);
void *sluice_arena_calloc(sluice_arena_t *arena, size_t n, size_t size);
/* Copies len bytes and adds a NUL. */
char *sluice_arena_strndup(sluice_arena_t *arena, const char *s, size_t len);

#endif
