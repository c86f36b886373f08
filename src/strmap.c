/* String-keyed hash map used for statement and table caches. */
#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

void strmap_init(strmap_t *m)
{
    memset(m, 0, sizeof(*m));
}

void strmap_cleanup(strmap_t *m, void (*free_val)(void *))
{
    size_t i;

    for (i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        free(m->keys[i]);
        if (free_val)
            free_val(m->vals[i]);
    }
    free(m->keys);
    free(m->klens);
    free(m->vals);
    strmap_init(m);
}

static size_t slot(const strmap_t *m, const char *key, size_t klen)
{
    size_t i = (size_t)hash(key, klen) & (m->cap - 1);

    while (m->keys[i] && (m->klens[i] != klen || memcmp(m->keys[i], key, klen) != 0))
        i = (i + 1) & (m->cap - 1);
    return i;
}

void *strmap_get(const strmap_t *m, const char *key, size_t klen)
{
    size_t i;

    if (!m->cap)
        return NULL;
    i = slot(m, key, klen);
    return m->keys[i] ? m->vals[i] : NULL;
}

static int grow(strmap_t *m)
{
    strmap_t bigger;
    size_t i;

    bigger.cap = m->cap ? m->cap * 2 : 16;
    bigger.n = 0;
    bigger.keys = calloc(bigger.cap, sizeof(char *));
    bigger.klens = calloc(bigger.cap, sizeof(size_t));
    bigger.vals = calloc(bigger.cap, sizeof(void *));
    if (!bigger.keys || !bigger.klens || !bigger.vals) {
        free(bigger.keys);
        free(bigger.klens);
        free(bigger.vals);
        return -1;
    }
    for (i = 0; i < m->cap; i++) {
        size_t j;
        if (!m->keys[i])
            continue;
        j = slot(&bigger, m->keys[i], m->klens[i]);
        bigger.keys[j] = m->keys[i];
        bigger.klens[j] = m->klens[i];
        bigger.vals[j] = m->vals[i];
        bigger.n++;
    }
    free(m->keys);
    free(m->klens);
    free(m->vals);
    *m = bigger;
    return 0;
}

int strmap_put(strmap_t *m, const char *key, size_t klen, void *val)
{
    size_t i;

    if ((m->n + 1) * 2 > m->cap && grow(m) < 0)
        return -1;
    i = slot(m, key, klen);
    if (!m->keys[i]) {
        m->keys[i] = malloc(klen + 1);
        if (!m->keys[i])
            return -1;
        memcpy(m->keys[i], key, klen);
        m->keys[i][klen] = '\0';
        m->klens[i] = klen;
        m->n++;
    }
    m->vals[i] = val;
    return 0;
}
