/* Strict JSON scanning without allocation (see json_scan.h). Owns grammar and
 * UTF-8 validation, string unescaping and number conversion; knows nothing
 * about Debezium. */
#include "json_scan.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 2048

typedef struct {
    const char *begin;
    const char *end;
    js_err_t *err;
} scan_t;

static const char *fail(scan_t *s, const char *at, const char *what)
{
    if (s->err) {
        s->err->offset = (size_t)(at - s->begin);
        s->err->what = what;
    }
    return NULL;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int read_u4(const char *p, const char *end, unsigned *cp)
{
    int i;

    if (end - p < 4)
        return -1;
    *cp = 0;
    for (i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        *cp = (*cp << 4) | (unsigned)h;
    }
    return 0;
}

/* Length of a valid UTF-8 sequence at p (>= 2 bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0], cp;
    size_t n, i;

    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* Whether any of 8 bytes ends a plain ASCII run: a control character, '"',
 * '\\' or a byte >= 0x80 (bit tricks: "determine if a word has a byte less
 * than n", exact as a yes/no). */
static int special8(uint64_t x)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), high = UINT64_C(0x8080808080808080);
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');

    return (((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b) | x) & high ? 1 : 0;
}

static const char *scan_string(scan_t *s, const char *p, js_val_t *out)
{
    const char *start = p++;
    int escaped = 0;

    for (;;) {
        unsigned char c;
        /* fast run over plain ASCII, 8 bytes at a time, then byte by byte */
        while (s->end - p >= 8) {
            uint64_t x;
            memcpy(&x, p, 8);
            if (special8(x))
                break;
            p += 8;
        }
        while (p < s->end && (unsigned char)*p >= 0x20 && *p != '"' && *p != '\\' &&
               (unsigned char)*p < 0x80)
            p++;
        if (p >= s->end)
            return fail(s, start, "unterminated string");
        c = (unsigned char)*p;
        if (c == '"')
            break;
        if (c < 0x20)
            return fail(s, p, "control character in string");
        if (c == '\\') {
            escaped = 1;
            if (++p >= s->end)
                return fail(s, p, "unterminated escape");
            switch (*p) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                p++;
                break;
            case 'u': {
                unsigned cp;
                if (read_u4(p + 1, s->end, &cp) < 0)
                    return fail(s, p, "invalid \\u escape");
                p += 5;
                if (cp == 0)
                    return fail(s, p, "\\u0000 in string");
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return fail(s, p, "lone low surrogate");
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned lo;
                    if (s->end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
                        read_u4(p + 2, s->end, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
                        return fail(s, p, "invalid surrogate pair");
                    p += 6;
                }
                break;
            }
            default:
                return fail(s, p, "invalid escape");
            }
            continue;
        }
        {
            size_t n = utf8_seq((const unsigned char *)p, (const unsigned char *)s->end);
            if (!n)
                return fail(s, p, "invalid UTF-8 in string");
            p += n;
        }
    }
    out->type = JS_STRING;
    out->start = start;
    out->len = (size_t)(p + 1 - start);
    out->escaped = escaped;
    out->is_int = 0;
    return p + 1;
}

static const char *scan_number(scan_t *s, const char *p, js_val_t *out)
{
    const char *start = p;
    int is_int = 1, has_exp = 0;

    if (*p == '-')
        p++;
    if (p >= s->end || *p < '0' || *p > '9')
        return fail(s, start, "invalid number");
    if (*p == '0') {
        p++;
    } else {
        while (p < s->end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < s->end && *p == '.') {
        is_int = 0;
        p++;
        if (p >= s->end || *p < '0' || *p > '9')
            return fail(s, p, "invalid number: digit expected after '.'");
        while (p < s->end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < s->end && (*p == 'e' || *p == 'E')) {
        is_int = 0;
        has_exp = 1;
        p++;
        if (p < s->end && (*p == '+' || *p == '-'))
            p++;
        if (p >= s->end || *p < '0' || *p > '9')
            return fail(s, p, "invalid number: exponent digits expected");
        while (p < s->end && *p >= '0' && *p <= '9')
            p++;
    }
    out->type = JS_NUMBER;
    out->start = start;
    out->len = (size_t)(p - start);
    out->escaped = 0;
    out->is_int = is_int;
    if (is_int) {
        int64_t v;
        if (out->len > 18 && js_int64(out, &v) < 0)
            return fail(s, start, "integer out of range");
    } else if (has_exp || out->len > 300) {
        double d = js_double(out);
        if (isinf(d))
            return fail(s, start, "real number overflow");
    }
    return p;
}

static const char *scan_value(scan_t *s, const char *p, js_val_t *out, int depth);

static const char *scan_container(scan_t *s, const char *p, js_val_t *out, int depth)
{
    const char *start = p;
    char close = *p == '{' ? '}' : ']';
    int object = *p == '{';
    js_val_t tmp;

    if (depth >= MAX_DEPTH)
        return fail(s, p, "nesting too deep");
    p = skip_ws(p + 1, s->end);
    if (p < s->end && *p == close) {
        p++;
        goto done;
    }
    for (;;) {
        if (object) {
            if (p >= s->end || *p != '"')
                return fail(s, p, "string or '}' expected");
            if (!(p = scan_string(s, p, &tmp)))
                return NULL;
            p = skip_ws(p, s->end);
            if (p >= s->end || *p != ':')
                return fail(s, p, "':' expected");
            p = skip_ws(p + 1, s->end);
        }
        if (!(p = scan_value(s, p, &tmp, depth + 1)))
            return NULL;
        p = skip_ws(p, s->end);
        if (p < s->end && *p == ',') {
            p = skip_ws(p + 1, s->end);
            continue;
        }
        if (p < s->end && *p == close) {
            p++;
            break;
        }
        return fail(s, p, object ? "',' or '}' expected" : "',' or ']' expected");
    }
done:
    out->type = object ? JS_OBJECT : JS_ARRAY;
    out->start = start;
    out->len = (size_t)(p - start);
    out->escaped = 0;
    out->is_int = 0;
    return p;
}

static const char *literal(scan_t *s, const char *p, const char *word, js_type_t type, js_val_t *out)
{
    size_t n = strlen(word);

    if ((size_t)(s->end - p) < n || memcmp(p, word, n) != 0)
        return fail(s, p, "invalid token");
    out->type = type;
    out->start = p;
    out->len = n;
    out->escaped = 0;
    out->is_int = 0;
    return p + n;
}

static const char *scan_value(scan_t *s, const char *p, js_val_t *out, int depth)
{
    p = skip_ws(p, s->end);
    if (p >= s->end)
        return fail(s, p, "value expected");
    switch (*p) {
    case '{':
    case '[':
        return scan_container(s, p, out, depth);
    case '"':
        return scan_string(s, p, out);
    case 't':
        return literal(s, p, "true", JS_TRUE, out);
    case 'f':
        return literal(s, p, "false", JS_FALSE, out);
    case 'n':
        return literal(s, p, "null", JS_NULL, out);
    default:
        if (*p == '-' || (*p >= '0' && *p <= '9'))
            return scan_number(s, p, out);
        return fail(s, p, "invalid token");
    }
}

const char *js_value(const char *p, const char *end, js_val_t *out, js_err_t *err)
{
    scan_t s = {p, end, err};

    return scan_value(&s, p, out, 0);
}

const char *js_value_at(const char *p, const char *end, int depth, js_val_t *out, js_err_t *err)
{
    scan_t s = {p, end, err};

    return scan_value(&s, p, out, depth);
}

const char *js_skip_ws(const char *p, const char *end)
{
    return skip_ws(p, end);
}

int js_document(const char *p, size_t len, js_val_t *out, js_err_t *err)
{
    scan_t s = {p, p + len, err};
    const char *q = scan_value(&s, p, out, 0);

    if (!q)
        return -1;
    q = skip_ws(q, p + len);
    if (q != p + len) {
        fail(&s, q, "end of input expected");
        return -1;
    }
    return 0;
}

void js_iter_init(js_iter_t *it, const js_val_t *c)
{
    it->p = c->start + 1;
    it->end = c->start + c->len - 1; /* the closing bracket */
    it->object = c->type == JS_OBJECT;
}

int js_next(js_iter_t *it, js_val_t *key, js_val_t *val)
{
    scan_t s = {it->p, it->end, NULL};
    const char *p = skip_ws(it->p, it->end);

    if (p < it->end && *p == ',')
        p = skip_ws(p + 1, it->end);
    if (p >= it->end)
        return 0;
    if (it->object) {
        js_val_t k;
        p = scan_string(&s, p, key ? key : &k);
        p = skip_ws(p, it->end) + 1; /* ':' */
    }
    it->p = scan_value(&s, p, val, 0);
    return 1;
}

int js_string_eq(const js_val_t *str, const char *s)
{
    size_t n = strlen(s);

    if (str->type != JS_STRING)
        return 0;
    if (!str->escaped)
        return str->len == n + 2 && memcmp(str->start + 1, s, n) == 0;
    if (str->len - 2 < n)
        return 0;
    {
        char small[256];
        char *buf = str->len <= sizeof(small) ? small : malloc(str->len);
        size_t got;
        int eq;
        if (!buf)
            return 0;
        got = js_string_decode(str, buf);
        eq = got == n && memcmp(buf, s, n) == 0;
        if (buf != small)
            free(buf);
        return eq;
    }
}

int js_get(const js_val_t *object, const char *name, js_val_t *val)
{
    js_iter_t it;
    js_val_t k, v;
    int found = 0;

    if (object->type != JS_OBJECT)
        return 0;
    js_iter_init(&it, object);
    while (js_next(&it, &k, &v)) {
        if (js_string_eq(&k, name)) {
            *val = v; /* the last duplicate wins, as in jansson */
            found = 1;
        }
    }
    return found;
}

static size_t put_utf8(char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t js_string_decode(const js_val_t *str, char *out)
{
    const char *p = str->start + 1, *end = str->start + str->len - 1;
    size_t n = 0;

    if (!str->escaped) {
        memcpy(out, p, (size_t)(end - p));
        return (size_t)(end - p);
    }
    while (p < end) {
        const char *bs = memchr(p, '\\', (size_t)(end - p));
        if (!bs) {
            memcpy(out + n, p, (size_t)(end - p));
            n += (size_t)(end - p);
            break;
        }
        memcpy(out + n, p, (size_t)(bs - p));
        n += (size_t)(bs - p);
        p = bs + 1;
        switch (*p++) {
        case 'b':
            out[n++] = '\b';
            break;
        case 'f':
            out[n++] = '\f';
            break;
        case 'n':
            out[n++] = '\n';
            break;
        case 'r':
            out[n++] = '\r';
            break;
        case 't':
            out[n++] = '\t';
            break;
        case 'u': {
            unsigned cp = 0, lo = 0;
            read_u4(p, end, &cp);
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                read_u4(p + 2, end, &lo);
                p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            n += put_utf8(out + n, cp);
            break;
        }
        default: /* " \ / */
            out[n++] = p[-1];
            break;
        }
    }
    return n;
}

int js_int64(const js_val_t *num, int64_t *out)
{
    const char *p = num->start, *end = num->start + num->len;
    int neg = 0;
    uint64_t v = 0, limit;

    if (num->type != JS_NUMBER || !num->is_int)
        return -1;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; p < end; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (limit - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

double js_double(const js_val_t *num)
{
    char small[64];
    char *buf = num->len < sizeof(small) ? small : malloc(num->len + 1);
    double d;

    if (!buf)
        return NAN;
    memcpy(buf, num->start, num->len);
    buf[num->len] = '\0';
    d = strtod(buf, NULL);
    if (buf != small)
        free(buf);
    return d;
}
