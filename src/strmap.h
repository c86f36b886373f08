/* A small string-keyed hash map (open addressing) holding pointers. Keys are
 * copied; values are borrowed. Private to the library. */
#ifndef SLUICE_STRMAP_H
#define SLUICE_STRMAP_H

#include <stddef.h>

typedef struct {
    char **keys;
    size_t *klens;
    void **vals;
    size_t cap; /* power of two */
    size_t n;
} strmap_t;

void strmap_init(strmap_t *m);
/* Calls free_val on each value when non-NULL. */
void strmap_cleanup(strmap_t *m, void (*free_val)(void *));
void *strmap_get(const strmap_t *m, const char *key, size_t klen);
int strmap_put(strmap_t *m, const char *key, size_t klen, void *val);

#endif
