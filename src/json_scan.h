/* A strict, non-allocating JSON scanner for the hot path: finds the spans of
 * values inside a message without building a tree. It validates what it
 * walks (RFC 8259 grammar, UTF-8 in strings, no control characters), so a
 * value it accepts is one jansson accepts too — tests/unit/test_json_scan.c
 * checks that against jansson on random and mutated inputs. Private to the
 * library. */
#ifndef SLUICE_JSON_SCAN_H
#define SLUICE_JSON_SCAN_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    JS_NULL,
    JS_TRUE,
    JS_FALSE,
    JS_NUMBER,
    JS_STRING,
    JS_OBJECT,
    JS_ARRAY
} js_type_t;

typedef struct {
    js_type_t type;
    const char *start; /* first byte of the value (the quote, brace...) */
    size_t len;        /* bytes up to and including its last byte */
    int escaped;       /* strings: holds a backslash escape */
    int is_int;        /* numbers: no fraction or exponent */
} js_val_t;

typedef struct {
    size_t offset; /* where the input went wrong */
    const char *what;
} js_err_t;

/* Scans one value starting at p (after optional whitespace). Returns the
 * position after it, or NULL with *err filled. depth limits nesting. */
const char *js_value(const char *p, const char *end, js_val_t *out, js_err_t *err);

/* The same for a value nested `depth` containers deep in its document
 * (the root value is depth 0), so that the nesting limit counts the whole
 * document, as jansson's does. */
const char *js_value_at(const char *p, const char *end, int depth, js_val_t *out, js_err_t *err);

/* Skips JSON whitespace (space, tab, CR, LF); returns the first other byte
 * or end. */
const char *js_skip_ws(const char *p, const char *end);

/* Whole document: exactly one value, only whitespace around it. */
int js_document(const char *p, size_t len, js_val_t *out, js_err_t *err);

/* Iterating an object or array the scanner already accepted (no errors
 * possible): set it up with js_iter_init, then js_next until it returns 0. */
typedef struct {
    const char *p;
    const char *end;
    int object;
} js_iter_t;

void js_iter_init(js_iter_t *it, const js_val_t *container);
/* Objects: *key is the member name (a string value), *val its value.
 * Arrays: key is NULL, *val the element. 1 = got one, 0 = end. */
int js_next(js_iter_t *it, js_val_t *key, js_val_t *val);

/* Looks up a member of an object by (unescaped) name; 1 found, 0 not. */
int js_get(const js_val_t *object, const char *name, js_val_t *val);

/* Whether a string value equals s (escapes handled). */
int js_string_eq(const js_val_t *str, const char *s);

/* Unescapes a string value into out (at least str->len bytes); returns the
 * decoded length. Invalid escapes cannot occur in scanned input. */
size_t js_string_decode(const js_val_t *str, char *out);

/* Numbers: 0 on success, -1 if out of range or not an integer. */
int js_int64(const js_val_t *num, int64_t *out);
double js_double(const js_val_t *num);

#endif
