/* Debezium envelopes in Kafka Connect JsonConverter form -> sluice_event_t.
 * Owns: envelope detection (with/without embedded schema), op/source/position
 * parsing, mapping of Connect schema types and Debezium semantic names to
 * value kinds, Decimal bytes -> text, and recognising the typed
 * unchanged-TOAST placeholder; two paths to the same result, the jansson
 * reference path and the fast path (schema cache + scanner, at the end of
 * this file; docs/decode.md). It does not route, apply, or decide what a
 * placeholder means for SQL; a null Kafka value (tombstone) never gets here.
 * Every string it produces lives in the event's arena (column names and
 * types included), so an event outlives the decoder's cache entries. */
#include "sluice/decode_json.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "decode_json_int.h"
#include "json_scan.h"

#define DEFAULT_PLACEHOLDER "__debezium_unavailable_value"

/* Debezium's MicroTimestamp encodings of PostgreSQL +/-infinity; passed
 * through unchanged whatever the timestamp unit (see types.c). */
#define DBZ_TS_POS_INFINITY INT64_C(9223372036825200000)
#define DBZ_TS_NEG_INFINITY INT64_C(-9223372036832400000)

typedef struct centry centry_t;
#define RECENT 16 /* schemas per kind compared byte for byte before hashing */

/* Two ways to decode one message, with the same result (see docs/decode.md):
 *  - the reference path: jansson parses the whole document, the schema tree
 *    is read per message (plan_field per column), values come from the tree;
 *  - the fast path (bottom of this file): the strict scanner (json_scan.c)
 *    walks the message once without a tree; the "schema" member is looked
 *    up by its exact bytes in a bounded cache of compiled plans (compiled
 *    once, with the reference path's own plan_field), and payload values are
 *    converted straight into the event's arena. Whatever the fast path does
 *    not handle, or finds wrong, sends the message to the reference path,
 *    which then decides (and words the error). */
struct sluice_json_decoder {
    char *ph;          /* placeholder text (owned copy) */
    size_t ph_len;
    char *ph_b64;      /* base64 of the placeholder: bytea, bytea[] */
    char ph_uuid[37];  /* UUID.nameUUIDFromBytes(placeholder): uuid[] */
    sluice_binary_mode_t bin;
    sluice_decimal_mode_t decmode;
    int precise_error;
    sluice_flattened_t flattened;
    char *prefix;      /* ExtractNewRecordState add.fields.prefix */
    char pfx_op[128], pfx_deleted[128]; /* <prefix>op, <prefix>deleted (as has_prefixed) */
    size_t pfx_op_len, pfx_deleted_len;

    /* fast path */
    int reference;     /* SLUICE_DECODE_JSON_REFERENCE=1: always the reference path */
    centry_t *cache;   /* cache_cap entries, allocated on first use */
    int32_t *buckets;  /* hash -> first entry index + 1 (0: empty) */
    size_t cache_cap, nbuckets, ncache, clock;
    centry_t *recent[2][RECENT]; /* per kind (value, key): last schemas seen, newest first */
    sluice_buf_t scratch;   /* JSON text of nested values */
    sluice_buf_t joined;    /* a split value joined again (the reference path) */
    sluice_json_decoder_stats_t stats;
};

/* One decode call: where we are, for error messages. */
typedef struct {
    sluice_json_decoder_t *dec;
    sluice_event_t *ev;
    sluice_err_t *err;
    const char *what; /* "value" or "key" */
    const char *row;  /* "after", "source", ... or NULL */
    const char *col;  /* column name or NULL */
    int quiet;        /* fast path: errors send the message to the reference path,
                       * which words them; bad() and nomem() only return -1 */
} ctx_t;

/* ---------------------------------------------------------------------- */
/* errors */

static int bad(ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(ctx_t *c, const char *fmt, ...)
{
    char msg[SLUICE_ERR_MSG_MAX];
    va_list ap;

    if (c->quiet)
        return -1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->row && c->col)
        return sluice_err_set(c->err, SLUICE_ERR_PERMANENT, "debezium json %s: %s.%s: %s",
                              c->what, c->row, c->col, msg);
    if (c->row)
        return sluice_err_set(c->err, SLUICE_ERR_PERMANENT, "debezium json %s: %s: %s",
                              c->what, c->row, msg);
    return sluice_err_set(c->err, SLUICE_ERR_PERMANENT, "debezium json %s: %s", c->what, msg);
}

static int nomem(ctx_t *c)
{
    if (c->quiet)
        return -1;
    return sluice_err_set(c->err, SLUICE_ERR_TRANSIENT,
                          "debezium json %s: out of memory while decoding", c->what);
}

static const char *jtype(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "something unknown";
}

/* ---------------------------------------------------------------------- */
/* base64, decimals, MD5 (shared helpers, see decode_json_int.h) */

static int b64val(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

long sluice_decode_base64(const char *in, size_t len, unsigned char *out)
{
    size_t i, o = 0;

    if (len % 4 != 0)
        return -1;
    for (i = 0; i < len; i += 4) {
        int a = b64val((unsigned char)in[i]);
        int b = b64val((unsigned char)in[i + 1]);
        int cc = b64val((unsigned char)in[i + 2]);
        int d = b64val((unsigned char)in[i + 3]);
        int last = i + 4 == len;

        if (a < 0 || b < 0)
            return -1;
        if (cc < 0 || d < 0) {
            /* padding: only in the last quantum, "x=" or "==" */
            if (!last || in[i + 3] != '=' || (cc < 0 && in[i + 2] != '='))
                return -1;
        }
        out[o++] = (unsigned char)(a << 2 | b >> 4);
        if (cc >= 0)
            out[o++] = (unsigned char)((b & 15) << 4 | cc >> 2);
        if (cc >= 0 && d >= 0)
            out[o++] = (unsigned char)((cc & 3) << 6 | d);
    }
    return (long)o;
}

size_t sluice_decode_base64_encode(const unsigned char *in, size_t len, char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i, o = 0;

    for (i = 0; i + 2 < len; i += 3) {
        out[o++] = abc[in[i] >> 2];
        out[o++] = abc[(in[i] & 3) << 4 | in[i + 1] >> 4];
        out[o++] = abc[(in[i + 1] & 15) << 2 | in[i + 2] >> 6];
        out[o++] = abc[in[i + 2] & 63];
    }
    if (i < len) {
        out[o++] = abc[in[i] >> 2];
        if (i + 1 < len) {
            out[o++] = abc[(in[i] & 3) << 4 | in[i + 1] >> 4];
            out[o++] = abc[(in[i + 1] & 15) << 2];
        } else {
            out[o++] = abc[(in[i] & 3) << 4];
            out[o++] = '=';
        }
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

char *sluice_decode_decimal_text(sluice_arena_t *arena, const unsigned char *bytes, size_t n,
                                 int32_t scale, size_t *out_len)
{
    int neg = n > 0 && (bytes[0] & 0x80);
    unsigned char *mag;
    char *digits, *text, *p;
    size_t i, start = 0, nd = 0, cap, len, intlen;

    if (scale > SLUICE_DECIMAL_SCALE_MAX || scale < -SLUICE_DECIMAL_SCALE_MAX)
        return NULL;
    /* magnitude, big-endian; two's complement negation for negatives */
    mag = sluice_arena_alloc(arena, n ? n : 1);
    cap = n * 3 + 10; /* 256^n < 10^(2.41 n + 1) */
    digits = sluice_arena_alloc(arena, cap);
    if (!mag || !digits)
        return NULL;
    if (n)
        memcpy(mag, bytes, n);
    if (neg) {
        unsigned carry = 1;
        for (i = n; i-- > 0;) {
            unsigned v = (unsigned char)~mag[i] + carry;
            mag[i] = (unsigned char)v;
            carry = v >> 8;
        }
    }
    /* repeated division by 10^9, least significant chunk first */
    while (start < n && mag[start] == 0)
        start++;
    while (start < n) {
        uint64_t rem = 0;
        int k;
        for (i = start; i < n; i++) {
            uint64_t cur = rem * 256 + mag[i];
            mag[i] = (unsigned char)(cur / 1000000000u);
            rem = cur % 1000000000u;
        }
        while (start < n && mag[start] == 0)
            start++;
        for (k = 0; k < 9 && (start < n || rem); k++) {
            digits[nd++] = (char)('0' + rem % 10);
            rem /= 10;
        }
    }
    if (nd == 0) {
        digits[nd++] = '0';
        neg = 0;
    }
    /* digits[] is reversed; lay out sign, integer part, point, fraction */
    if (scale <= 0) {
        len = (size_t)neg + nd + (nd == 1 && digits[0] == '0' ? 0 : (size_t)-scale);
        intlen = len - (size_t)neg;
    } else {
        intlen = nd > (size_t)scale ? nd - (size_t)scale : 1;
        len = (size_t)neg + intlen + 1 + (size_t)scale;
    }
    text = sluice_arena_alloc(arena, len + 1);
    if (!text)
        return NULL;
    p = text;
    if (neg)
        *p++ = '-';
    if (scale <= 0) {
        for (i = 0; i < nd; i++)
            *p++ = digits[nd - 1 - i];
        while ((size_t)(p - text) < len)
            *p++ = '0';
    } else {
        size_t frac = (size_t)scale;
        for (i = 0; i < intlen; i++) /* integer digit at position intlen-1-i+frac */
            *p++ = intlen - 1 - i + frac < nd ? digits[intlen - 1 - i + frac] : '0';
        *p++ = '.';
        for (i = 0; i < frac; i++)
            *p++ = frac - 1 - i < nd ? digits[frac - 1 - i] : '0';
    }
    *p = '\0';
    *out_len = (size_t)(p - text);
    return text;
}

static uint32_t rol(uint32_t x, unsigned s)
{
    return x << s | x >> (32 - s);
}

static void md5_block(uint32_t h[4], const unsigned char *blk)
{
    static const uint32_t K[64] = {
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
        0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
        0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
        0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
        0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
        0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
        0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
        0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
        0xeb86d391};
    static const unsigned char S[16] = {7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21};
    uint32_t m[16], a = h[0], b = h[1], cc = h[2], d = h[3];
    unsigned i;

    for (i = 0; i < 16; i++)
        m[i] = (uint32_t)blk[4 * i] | (uint32_t)blk[4 * i + 1] << 8 |
               (uint32_t)blk[4 * i + 2] << 16 | (uint32_t)blk[4 * i + 3] << 24;
    for (i = 0; i < 64; i++) {
        uint32_t f, t;
        unsigned g;
        if (i < 16) {
            f = (b & cc) | (~b & d);
            g = i;
        } else if (i < 32) {
            f = (d & b) | (~d & cc);
            g = (5 * i + 1) % 16;
        } else if (i < 48) {
            f = b ^ cc ^ d;
            g = (3 * i + 5) % 16;
        } else {
            f = cc ^ (b | ~d);
            g = (7 * i) % 16;
        }
        t = d;
        d = cc;
        cc = b;
        b = b + rol(a + f + K[i] + m[g], S[(i / 16) * 4 + i % 4]);
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += cc;
    h[3] += d;
}

static void md5(const unsigned char *msg, size_t len, unsigned char out[16])
{
    uint32_t h[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
    unsigned char tail[128];
    uint64_t bits = (uint64_t)len * 8;
    size_t i, rest, tlen;

    for (i = 0; i + 64 <= len; i += 64)
        md5_block(h, msg + i);
    rest = len - i;
    memset(tail, 0, sizeof(tail));
    memcpy(tail, msg + i, rest);
    tail[rest] = 0x80;
    tlen = rest + 9 <= 64 ? 64 : 128;
    for (i = 0; i < 8; i++)
        tail[tlen - 8 + i] = (unsigned char)(bits >> (8 * i));
    md5_block(h, tail);
    if (tlen == 128)
        md5_block(h, tail + 64);
    for (i = 0; i < 16; i++)
        out[i] = (unsigned char)(h[i / 4] >> (8 * (i % 4)));
}

void sluice_decode_placeholder_uuid(const char *text, size_t len, char out[37])
{
    unsigned char d[16];
    int i, o = 0;

    md5((const unsigned char *)text, len, d);
    d[6] = (unsigned char)((d[6] & 0x0f) | 0x30); /* version 3 */
    d[8] = (unsigned char)((d[8] & 0x3f) | 0x80); /* IETF variant */
    for (i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        o += snprintf(out + o, 3, "%02x", d[i]);
    }
    out[o] = '\0';
}

/* ---------------------------------------------------------------------- */
/* decoder lifecycle */

#define CACHE_CAP_DEFAULT 1024
static void cache_free(sluice_json_decoder_t *dec);

sluice_json_decoder_t *sluice_json_decoder_new(const sluice_decode_opts_t *opts)
{
    const char *ph = opts && opts->unavailable_placeholder ? opts->unavailable_placeholder
                                                            : DEFAULT_PLACEHOLDER;
    sluice_json_decoder_t *dec = calloc(1, sizeof(*dec));

    if (!dec)
        return NULL;
    dec->ph_len = strlen(ph);
    dec->ph = malloc(dec->ph_len + 1);
    dec->ph_b64 = malloc(4 * ((dec->ph_len + 2) / 3) + 1);
    if (!dec->ph || !dec->ph_b64) {
        sluice_json_decoder_destroy(dec);
        return NULL;
    }
    memcpy(dec->ph, ph, dec->ph_len + 1);
    sluice_decode_base64_encode((const unsigned char *)ph, dec->ph_len, dec->ph_b64);
    if (opts) {
        dec->bin = opts->binary_handling_mode;
        dec->decmode = opts->decimal_handling_mode;
        dec->precise_error = opts->precise_decimals_without_schema_is_error;
        dec->flattened = opts->flattened;
    }
    dec->prefix = strdup(opts && opts->flattened_prefix ? opts->flattened_prefix : "__");
    if (!dec->prefix) {
        sluice_json_decoder_destroy(dec);
        return NULL;
    }
    sluice_decode_placeholder_uuid(ph, dec->ph_len, dec->ph_uuid);
    snprintf(dec->pfx_op, sizeof(dec->pfx_op), "%sop", dec->prefix);
    snprintf(dec->pfx_deleted, sizeof(dec->pfx_deleted), "%sdeleted", dec->prefix);
    dec->pfx_op_len = strlen(dec->pfx_op);
    dec->pfx_deleted_len = strlen(dec->pfx_deleted);
    {
        const char *ref = getenv("SLUICE_DECODE_JSON_REFERENCE");
        dec->reference = ref && *ref && strcmp(ref, "0") != 0;
    }
    dec->cache_cap = CACHE_CAP_DEFAULT;
    sluice_buf_init(&dec->scratch);
    sluice_buf_init(&dec->joined);
    return dec;
}

void sluice_json_decoder_destroy(sluice_json_decoder_t *dec)
{
    if (!dec)
        return;
    cache_free(dec);
    sluice_buf_cleanup(&dec->scratch);
    sluice_buf_cleanup(&dec->joined);
    free(dec->ph);
    free(dec->ph_b64);
    free(dec->prefix);
    free(dec);
}

/* ---------------------------------------------------------------------- */
/* placeholder recognition (column level only, never inside arrays) */

static int str_is(const json_t *j, const char *s, size_t len)
{
    return json_is_string(j) && json_string_length(j) == len &&
           memcmp(json_string_value(j), s, len) == 0;
}

/* hstore in map mode: {"<ph>": "<ph>"} */
static int map_is_placeholder(const sluice_json_decoder_t *dec, const json_t *obj)
{
    const char *k;
    json_t *v;

    if (!json_is_object(obj) || json_object_size(obj) != 1)
        return 0;
    json_object_foreach((json_t *)obj, k, v) {
        if (strlen(k) != dec->ph_len || memcmp(k, dec->ph, dec->ph_len) != 0)
            return 0;
        return str_is(v, dec->ph, dec->ph_len);
    }
    return 0;
}

/* The string forms: text, base64 of the bytes (bytea without a schema), and
 * hstore in json mode ('{"<ph>":"<ph>"}' as a string). */
static int text_is_placeholder(const sluice_json_decoder_t *dec, const char *s, size_t len)
{
    json_t *doc;
    int yes;

    if (len == dec->ph_len && memcmp(s, dec->ph, len) == 0)
        return 1;
    if (len == strlen(dec->ph_b64) && memcmp(s, dec->ph_b64, len) == 0)
        return 1;
    if (len < 2 * dec->ph_len + 7 || len > 2 * dec->ph_len + 64 || s[0] != '{')
        return 0;
    doc = json_loadb(s, len, 0, NULL);
    yes = doc && map_is_placeholder(dec, doc);
    json_decref(doc);
    return yes;
}

static int string_is_placeholder(const sluice_json_decoder_t *dec, const json_t *j)
{
    return text_is_placeholder(dec, json_string_value(j), json_string_length(j));
}

/* text[] / bytea[] / uuid[]: one element; int[]/bigint[]: the byte values */
static int array_is_placeholder(const sluice_json_decoder_t *dec, const json_t *arr)
{
    size_t i, n = json_array_size(arr);

    if (n == 1) {
        const json_t *e = json_array_get(arr, 0);
        return str_is(e, dec->ph, dec->ph_len) || str_is(e, dec->ph_b64, strlen(dec->ph_b64)) ||
               str_is(e, dec->ph_uuid, 36);
    }
    if (n != dec->ph_len || n == 0)
        return 0;
    for (i = 0; i < n; i++) {
        const json_t *e = json_array_get(arr, i);
        if (!json_is_integer(e) || json_integer_value(e) != (unsigned char)dec->ph[i])
            return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------------- */
/* value conversion */

static int set_str(ctx_t *c, sluice_value_t *out, sluice_value_kind_t kind, const char *s,
                   size_t len)
{
    char *p = sluice_arena_strndup(&c->ev->arena, s, len);

    if (!p)
        return nomem(c);
    out->kind = kind;
    out->u.s.ptr = p;
    out->u.s.len = len;
    return 0;
}

static int set_json_text(ctx_t *c, sluice_value_t *out, const json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    int rc;

    if (!text)
        return nomem(c);
    rc = set_str(c, out, SLUICE_VAL_JSON, text, strlen(text));
    free(text);
    return rc;
}

/* Base64 string -> bytes in the arena. */
static int get_bytes(ctx_t *c, const json_t *j, unsigned char **bytes, size_t *n)
{
    const char *s = json_string_value(j);
    size_t len = json_string_length(j);
    unsigned char *b;
    long got;

    b = sluice_arena_alloc(&c->ev->arena, len / 4 * 3 + 1);
    if (!b)
        return nomem(c);
    got = sluice_decode_base64(s, len, b);
    if (got < 0)
        return bad(c, "bytes value is not valid base64 (%zu characters%s); the message is "
                      "corrupt or was not written by JsonConverter",
                   len, len % 4 ? ", not a multiple of 4: truncated?" : "");
    b[got] = '\0';
    *bytes = b;
    *n = (size_t)got;
    return 0;
}

static int decimal_from_bytes(ctx_t *c, const unsigned char *b, size_t n, int32_t scale,
                              sluice_value_t *out)
{
    size_t len;
    char *text = sluice_decode_decimal_text(&c->ev->arena, b, n, scale, &len);

    if (!text)
        return nomem(c);
    out->kind = SLUICE_VAL_DECIMAL;
    out->u.s.ptr = text;
    out->u.s.len = len;
    return 0;
}

/* decimal.format=NUMERIC: the JSON number is the value. jansson keeps only a
 * double for reals, so digits beyond ~17 significant ones are lost; with the
 * schema's scale the text still gets exactly `scale` fraction digits. */
static int decimal_number(ctx_t *c, int is_int, long long iv, double dv, int32_t scale,
                          sluice_value_t *out)
{
    char tmp[512];
    int n;

    if (is_int && scale > 0 && scale <= 400)
        n = snprintf(tmp, sizeof(tmp), "%lld.%0*d", iv, scale, 0);
    else if (is_int)
        n = snprintf(tmp, sizeof(tmp), "%lld", iv);
    else if (scale >= 0 && scale <= 40)
        n = snprintf(tmp, sizeof(tmp), "%.*f", scale, dv);
    else
        n = snprintf(tmp, sizeof(tmp), "%.17g", dv);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return bad(c, "Decimal number is too long to render");
    return set_str(c, out, SLUICE_VAL_DECIMAL, tmp, (size_t)n);
}

static int decimal_from_number(ctx_t *c, const json_t *j, int32_t scale, sluice_value_t *out)
{
    return decimal_number(c, json_is_integer(j), (long long)json_integer_value(j),
                          json_real_value(j), scale, out);
}

/* io.debezium.data.VariableScaleDecimal {scale, value} */
static int variable_scale_decimal(ctx_t *c, const json_t *j, sluice_value_t *out)
{
    const json_t *scale = json_object_get(j, "scale");
    const json_t *value = json_object_get(j, "value");
    unsigned char *b;
    size_t n;
    long long s;

    if (!json_is_object(j))
        return bad(c, "VariableScaleDecimal is %s, expected an object {scale, value}", jtype(j));
    if (json_is_null(value) || !value) {
        out->kind = SLUICE_VAL_NULL;
        return 0;
    }
    if (!json_is_integer(scale) || !json_is_string(value))
        return bad(c, "VariableScaleDecimal needs an integer scale and a base64 value");
    s = json_integer_value(scale);
    if (s > SLUICE_DECIMAL_SCALE_MAX || s < -SLUICE_DECIMAL_SCALE_MAX)
        return bad(c, "VariableScaleDecimal scale %lld is out of range", s);
    if (get_bytes(c, value, &b, &n) < 0)
        return -1;
    return decimal_from_bytes(c, b, n, (int32_t)s, out);
}

/* ---------------------------------------------------------------------- */
/* semantic types and source fields shared with the Avro decoder
 * (decode_json_int.h): one set of rules, whatever the wire format */

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;

    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static int scale_up(int64_t v, int64_t factor, int64_t *out)
{
    if (v > INT64_MAX / factor || v < INT64_MIN / factor)
        return -1;
    *out = v * factor;
    return 0;
}

/* Nanosecond values are floored to µs; infinity markers pass through. */
int sluice_decode_int_value(sluice_intsem_t sem, int64_t v, sluice_value_t *out)
{
    out->kind = SLUICE_VAL_INT;
    out->u.i = v;
    switch (sem) {
    case SLUICE_INTSEM_PLAIN:
        return 0;
    case SLUICE_INTSEM_DATE:
        out->kind = SLUICE_VAL_DATE;
        return 0;
    case SLUICE_INTSEM_TIME_MS:
        out->kind = SLUICE_VAL_TIME;
        return scale_up(v, 1000, &out->u.i);
    case SLUICE_INTSEM_TIME_US:
        out->kind = SLUICE_VAL_TIME;
        return 0;
    case SLUICE_INTSEM_TIME_NS:
        out->kind = SLUICE_VAL_TIME;
        out->u.i = floordiv(v, 1000);
        return 0;
    case SLUICE_INTSEM_TS_MS:
        out->kind = SLUICE_VAL_TIMESTAMP;
        if (v != DBZ_TS_POS_INFINITY && v != DBZ_TS_NEG_INFINITY)
            return scale_up(v, 1000, &out->u.i);
        return 0;
    case SLUICE_INTSEM_TS_US:
        out->kind = SLUICE_VAL_TIMESTAMP;
        return 0;
    case SLUICE_INTSEM_TS_NS:
        out->kind = SLUICE_VAL_TIMESTAMP;
        if (v == INT64_MAX)
            out->u.i = DBZ_TS_POS_INFINITY;
        else if (v == INT64_MIN)
            out->u.i = DBZ_TS_NEG_INFINITY;
        else if (v != DBZ_TS_POS_INFINITY && v != DBZ_TS_NEG_INFINITY)
            out->u.i = floordiv(v, 1000);
        return 0;
    }
    return 0;
}

static const struct {
    const char *name;
    sluice_snapshot_t snap;
} snapshots[] = {
    {"false", SLUICE_SNAPSHOT_FALSE},
    {"true", SLUICE_SNAPSHOT_TRUE},
    {"first", SLUICE_SNAPSHOT_FIRST},
    {"first_in_data_collection", SLUICE_SNAPSHOT_FIRST_IN_DATA_COLLECTION},
    {"last_in_data_collection", SLUICE_SNAPSHOT_LAST_IN_DATA_COLLECTION},
    {"last", SLUICE_SNAPSHOT_LAST},
    {"incremental", SLUICE_SNAPSHOT_INCREMENTAL},
};

int sluice_decode_snapshot(const char *s, size_t len, sluice_snapshot_t *out)
{
    size_t i;

    for (i = 0; i < sizeof(snapshots) / sizeof(snapshots[0]); i++) {
        if (strlen(snapshots[i].name) == len && memcmp(s, snapshots[i].name, len) == 0) {
            *out = snapshots[i].snap;
            return 0;
        }
    }
    return -1;
}

/* PostgreSQL source.sequence: "[\"<lastCommitLsn>\",\"<lsn>\"]", null -> 0.
 * Read with the scanner (it accepts exactly what jansson accepts): this runs
 * for every PostgreSQL event, whatever the decoder. */
static int pg_sequence(const char *seq, sluice_pos_t *pos, char *why, size_t whylen)
{
    js_val_t arr, e;
    js_iter_t it;
    size_t i = 0, n = 0;
    int rc = 0;

    if (js_document(seq, strlen(seq), &arr, NULL) == 0 && arr.type == JS_ARRAY) {
        js_iter_init(&it, &arr);
        while (js_next(&it, NULL, &e))
            n++;
    }
    if (n == 0 || n > SLUICE_POS_MAX_PARTS) {
        snprintf(why, whylen, "\"sequence\" %s is not a JSON array of 1-%d LSNs", seq,
                 SLUICE_POS_MAX_PARTS);
        return -1;
    }
    js_iter_init(&it, &arr);
    while (rc == 0 && js_next(&it, NULL, &e)) {
        int64_t v = 0;
        if (e.type == JS_NUMBER && e.is_int) {
            js_int64(&e, &v);
        } else if (e.type == JS_STRING) {
            char small[64];
            char *s = e.len <= sizeof(small) ? small : malloc(e.len);
            char *end;
            unsigned long long u;
            if (!s) {
                rc = -1;
                break;
            }
            s[js_string_decode(&e, s)] = '\0';
            if (*s < '0' || *s > '9')
                rc = -1;
            u = strtoull(s, &end, 10);
            if (*end || u > INT64_MAX)
                rc = -1;
            v = (int64_t)u;
            if (s != small)
                free(s);
        } else if (e.type != JS_NULL) {
            rc = -1;
        }
        pos->part[i++] = v;
    }
    if (rc < 0) {
        snprintf(why, whylen, "\"sequence\" %s holds an element that is not a decimal LSN", seq);
        return -1;
    }
    pos->n = (int)n;
    return 0;
}

/* MySQL: [binlog file number, pos, row]; "mysql-bin.000003" -> 3 */
static int mysql_position(const sluice_source_fields_t *in, sluice_pos_t *pos, char *why,
                          size_t whylen)
{
    const char *dot, *p;
    long long num = 0;

    if (!in->file || !*in->file)
        return 0; /* unknown position */
    dot = strrchr(in->file, '.');
    p = dot ? dot + 1 : in->file;
    if (!*p)
        goto bad_file;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || num > (INT64_MAX - 9) / 10)
            goto bad_file;
        num = num * 10 + (*p - '0');
    }
    pos->n = 3;
    pos->part[0] = num;
    pos->part[1] = in->binpos;
    pos->part[2] = in->row;
    return 0;
bad_file:
    snprintf(why, whylen, "binlog \"file\" \"%s\" has no numeric suffix", in->file);
    return -1;
}

int sluice_decode_position(const sluice_source_fields_t *in, sluice_pos_t *pos, char *why,
                           size_t whylen)
{
    const char *conn = in->connector;

    memset(pos, 0, sizeof(*pos));
    if ((conn && (!strcmp(conn, "mysql") || !strcmp(conn, "mariadb"))) || in->mysql_fields)
        return mysql_position(in, pos, why, whylen);
    if (in->sequence && (!conn || !strcmp(conn, "postgresql")))
        return pg_sequence(in->sequence, pos, why, whylen);
    if (in->has_lsn) {
        pos->n = 1;
        pos->part[0] = in->lsn;
    }
    return 0;
}

static int type_is(const char *type, const char *want)
{
    return strcasecmp(type, want) == 0;
}

/* ---------------------------------------------------------------------- */
/* value rules shared with the Avro decoder (decode_json_int.h) */

sluice_intsem_t sluice_decode_rule_intsem(sluice_type_rule_t rule)
{
    switch (rule) {
    case SLUICE_RULE_DATE: return SLUICE_INTSEM_DATE;
    case SLUICE_RULE_TIME_MS: return SLUICE_INTSEM_TIME_MS;
    case SLUICE_RULE_TIME_US: return SLUICE_INTSEM_TIME_US;
    case SLUICE_RULE_TIME_NS: return SLUICE_INTSEM_TIME_NS;
    case SLUICE_RULE_TS_MS: return SLUICE_INTSEM_TS_MS;
    case SLUICE_RULE_TS_US: return SLUICE_INTSEM_TS_US;
    case SLUICE_RULE_TS_NS: return SLUICE_INTSEM_TS_NS;
    default: return SLUICE_INTSEM_PLAIN;
    }
}

static int arena_text(sluice_arena_t *arena, sluice_value_t *out, sluice_value_kind_t kind,
                      const char *s, size_t len)
{
    char *p = sluice_arena_strndup(arena, s, len);

    if (!p)
        return -1;
    out->kind = kind;
    out->u.s.ptr = p;
    out->u.s.len = len;
    return 0;
}

int sluice_decode_interval_us(sluice_arena_t *arena, int64_t us, sluice_value_t *out)
{
    char tmp[96];
    int64_t days = us / INT64_C(86400000000), rest = us % INT64_C(86400000000);
    uint64_t r = rest < 0 ? (uint64_t)0 - (uint64_t)rest : (uint64_t)rest;
    int n;

    /* "<d> days <+/->HH:MM:SS.ffffff": both parts carry the sign, which is
     * how PostgreSQL reads mixed intervals; no int32 field overflows */
    n = snprintf(tmp, sizeof(tmp), "%lld days %s%02llu:%02llu:%02llu.%06llu", (long long)days,
                 rest < 0 ? "-" : "", (unsigned long long)(r / 3600000000u),
                 (unsigned long long)(r / 60000000u % 60), (unsigned long long)(r / 1000000u % 60),
                 (unsigned long long)(r % 1000000u));
    return arena_text(arena, out, SLUICE_VAL_INTERVAL, tmp, (size_t)n);
}

int sluice_decode_bits(sluice_arena_t *arena, const unsigned char *b, size_t n, int32_t bits,
                       sluice_value_t *out)
{
    size_t nbits = bits > 0 ? (size_t)bits : n * 8, k, i;
    char *s;

    /* a set bit beyond the declared length widens the string rather than
     * being dropped */
    for (k = n * 8; k > nbits; k--)
        if (b[(k - 1) / 8] >> ((k - 1) % 8) & 1) {
            nbits = k;
            break;
        }
    if (nbits == 0)
        nbits = 1;
    s = sluice_arena_alloc(arena, nbits + 1);
    if (!s)
        return -1;
    for (i = 0; i < nbits; i++) {
        size_t bit = nbits - 1 - i; /* the leftmost character is the highest bit */
        s[i] = bit / 8 < n && (b[bit / 8] >> (bit % 8) & 1) ? '1' : '0';
    }
    s[nbits] = '\0';
    out->kind = SLUICE_VAL_BITS;
    out->u.s.ptr = s;
    out->u.s.len = nbits;
    return 0;
}

int sluice_decode_ewkb(sluice_arena_t *arena, const unsigned char *wkb, size_t n, int has_srid,
                       int64_t srid, sluice_value_t *out, char *why, size_t whylen)
{
    unsigned char *e;
    uint32_t type;
    int le;

    if (n < 5 || wkb[0] > 1) {
        snprintf(why, whylen, "the geometry's wkb (%zu bytes) is not WKB (byte order %d)", n,
                 n ? wkb[0] : -1);
        return -1;
    }
    le = wkb[0] == 1;
    type = le ? (uint32_t)wkb[1] | (uint32_t)wkb[2] << 8 | (uint32_t)wkb[3] << 16 |
                    (uint32_t)wkb[4] << 24
              : (uint32_t)wkb[4] | (uint32_t)wkb[3] << 8 | (uint32_t)wkb[2] << 16 |
                    (uint32_t)wkb[1] << 24;
    if (!has_srid || (type & 0x20000000u)) { /* nothing to fold in */
        e = sluice_arena_alloc(arena, n + 1);
        if (!e)
            return -2;
        memcpy(e, wkb, n);
        e[n] = 0;
        out->kind = SLUICE_VAL_GEOMETRY;
        out->u.s.ptr = (const char *)e;
        out->u.s.len = n;
        return 0;
    }
    if (srid < 0 || srid > (int64_t)UINT32_MAX) {
        snprintf(why, whylen, "the geometry's srid %lld is out of range", (long long)srid);
        return -1;
    }
    e = sluice_arena_alloc(arena, n + 5);
    if (!e)
        return -2;
    type |= 0x20000000u;
    e[0] = wkb[0];
    for (int i = 0; i < 4; i++) {
        int sh = le ? 8 * i : 8 * (3 - i);
        e[1 + i] = (unsigned char)(type >> sh);
        e[5 + i] = (unsigned char)((uint32_t)srid >> sh);
    }
    memcpy(e + 9, wkb + 5, n - 5);
    e[n + 4] = 0;
    out->kind = SLUICE_VAL_GEOMETRY;
    out->u.s.ptr = (const char *)e;
    out->u.s.len = n + 4;
    return 0;
}

static void put_num(char *buf, size_t len, double f)
{
    int prec;

    if (isnan(f)) {
        snprintf(buf, len, "NaN");
        return;
    }
    if (isinf(f)) {
        snprintf(buf, len, f > 0 ? "Infinity" : "-Infinity");
        return;
    }
    for (prec = 15; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, f);
        if (strtod(buf, NULL) == f)
            break;
    }
}

int sluice_decode_point(sluice_arena_t *arena, double x, double y, sluice_value_t *out)
{
    char a[40], b[40], tmp[90];
    int n;

    put_num(a, sizeof(a), x);
    put_num(b, sizeof(b), y);
    n = snprintf(tmp, sizeof(tmp), "(%s,%s)", a, b);
    return arena_text(arena, out, SLUICE_VAL_TEXT, tmp, (size_t)n);
}

int sluice_decode_decimal_string(sluice_arena_t *arena, const char *s, size_t len,
                                 sluice_value_t *out)
{
    if (len == 3 && !memcmp(s, "NAN", 3))
        return arena_text(arena, out, SLUICE_VAL_DECIMAL, "NaN", 3);
    if (len == 17 && !memcmp(s, "POSITIVE_INFINITY", 17))
        return arena_text(arena, out, SLUICE_VAL_DECIMAL, "Infinity", 8);
    if (len == 17 && !memcmp(s, "NEGATIVE_INFINITY", 17))
        return arena_text(arena, out, SLUICE_VAL_DECIMAL, "-Infinity", 9);
    return arena_text(arena, out, SLUICE_VAL_DECIMAL, s, len);
}

/* A schemaless string that looks like a Connect Decimal: valid base64 that
 * is padded or holds '+' or '/' (plain words and numbers are not flagged). */
int sluice_decode_looks_like_decimal(const char *s, size_t len)
{
    size_t i;
    int special = 0;

    if (len < 4 || len % 4 || len > 64)
        return 0;
    for (i = 0; i < len; i++) {
        char ch = s[i];
        if (ch == '=') {
            if (i < len - 2 || (i == len - 2 && s[len - 1] != '='))
                return 0;
            special = 1;
        } else if (ch == '+' || ch == '/') {
            special = 1;
        } else if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                     (ch >= '0' && ch <= '9'))) {
            return 0;
        }
    }
    return special;
}

/* ---------------------------------------------------------------------- */
/* flattened records (ExtractNewRecordState), shared with Avro */

static const sluice_value_t *meta_get(const sluice_row_t *meta, const char *prefix,
                                      const char *field, int source_too)
{
    char name[128];
    const sluice_value_t *v;

    snprintf(name, sizeof(name), "%s%s", prefix, field);
    v = sluice_row_get(meta, name);
    if (!v && source_too) {
        snprintf(name, sizeof(name), "%ssource_%s", prefix, field);
        v = sluice_row_get(meta, name);
    }
    return v && v->kind != SLUICE_VAL_NULL ? v : NULL;
}

static const char *meta_text(const sluice_row_t *meta, const char *prefix, const char *field)
{
    const sluice_value_t *v = meta_get(meta, prefix, field, 1);

    return v && v->kind == SLUICE_VAL_TEXT ? v->u.s.ptr : NULL;
}

static int meta_int(const sluice_row_t *meta, const char *prefix, const char *field,
                    int source_too, int64_t *out)
{
    const sluice_value_t *v = meta_get(meta, prefix, field, source_too);

    if (!v)
        return 0;
    if (v->kind == SLUICE_VAL_INT || v->kind == SLUICE_VAL_TIMESTAMP) {
        *out = v->u.i;
        return 1;
    }
    if (v->kind == SLUICE_VAL_TEXT) {
        char *end;
        long long x = strtoll(v->u.s.ptr, &end, 10);
        if (end != v->u.s.ptr && !*end) {
            *out = x;
            return 1;
        }
    }
    return 0;
}

int sluice_decode_flat_finish(sluice_event_t *ev, const sluice_row_t *all, const char *prefix,
                              char *why, size_t whylen)
{
    size_t i, nmeta = 0, ndata = 0, plen = strlen(prefix);
    sluice_row_t data;
    const sluice_value_t *v;
    const char *op, *snap;
    sluice_source_fields_t sf;
    int deleted = 0;

    memset(&data, 0, sizeof(data));
    memset(&ev->meta, 0, sizeof(ev->meta));
    for (i = 0; i < all->ncols; i++)
        nmeta += strncmp(all->cols[i].name, prefix, plen) == 0;
    data.cols = sluice_arena_calloc(&ev->arena, all->ncols - nmeta + 1, sizeof(*data.cols));
    ev->meta.cols = sluice_arena_calloc(&ev->arena, nmeta + 1, sizeof(*data.cols));
    if (!data.cols || !ev->meta.cols) {
        snprintf(why, whylen, "out of memory");
        return -2;
    }
    for (i = 0; i < all->ncols; i++) {
        if (strncmp(all->cols[i].name, prefix, plen) == 0)
            ev->meta.cols[ev->meta.ncols++] = all->cols[i];
        else
            data.cols[ndata++] = all->cols[i];
    }
    data.ncols = ndata;
    data.present = 1;
    ev->meta.present = 1;
    ev->flattened = 1;

    /* delete.handling.mode=rewrite: __deleted "true"/"false" */
    v = meta_get(&ev->meta, prefix, "deleted", 0);
    if (v && v->kind == SLUICE_VAL_TEXT)
        deleted = !strcmp(v->u.s.ptr, "true");
    else if (v && v->kind == SLUICE_VAL_BOOL)
        deleted = v->u.b;
    else if (v) {
        snprintf(why, whylen, "%sdeleted is %s, expected \"true\" or \"false\"", prefix,
                 sluice_value_kind_name(v->kind));
        return -1;
    }
    op = meta_text(&ev->meta, prefix, "op");
    if (op && (strlen(op) != 1 || !strchr("cudr", op[0]))) {
        snprintf(why, whylen, "%sop \"%s\" is not one of c, u, d, r", prefix, op);
        return -1;
    }
    if (deleted || (op && op[0] == 'd')) {
        ev->op = SLUICE_OP_DELETE;
        ev->before = data; /* the row as it was: its key columns identify it */
    } else {
        /* without __op a flattened row is an upsert: 'u' */
        ev->op = op ? (sluice_op_t)op[0] : SLUICE_OP_UPDATE;
        ev->after = data;
    }

    ev->table = meta_text(&ev->meta, prefix, "table");
    ev->schema = meta_text(&ev->meta, prefix, "schema");
    ev->db = meta_text(&ev->meta, prefix, "db");
    ev->connector = meta_text(&ev->meta, prefix, "connector");
    ev->server = meta_text(&ev->meta, prefix, "name");
    meta_int(&ev->meta, prefix, "ts_ms", 0, &ev->ts_ms);
    if (!meta_int(&ev->meta, prefix, "source_ts_ms", 0, &ev->source_ts_ms))
        ev->source_ts_ms = 0;
    if (!meta_int(&ev->meta, prefix, "txId", 1, &ev->tx_id))
        ev->tx_id = -1;
    snap = meta_text(&ev->meta, prefix, "snapshot");
    if (snap && sluice_decode_snapshot(snap, strlen(snap), &ev->snapshot) < 0) {
        snprintf(why, whylen, "%ssnapshot \"%s\" is not a Debezium snapshot value", prefix, snap);
        return -1;
    }
    memset(&sf, 0, sizeof(sf));
    sf.connector = ev->connector;
    sf.file = meta_text(&ev->meta, prefix, "file");
    sf.mysql_fields = sf.file != NULL;
    meta_int(&ev->meta, prefix, "pos", 1, &sf.binpos);
    meta_int(&ev->meta, prefix, "row", 1, &sf.row);
    sf.sequence = meta_text(&ev->meta, prefix, "sequence");
    sf.has_lsn = meta_int(&ev->meta, prefix, "lsn", 1, &sf.lsn);
    return sluice_decode_position(&sf, &ev->pos, why, whylen) < 0 ? -1 : 0;
}

/* ---------------------------------------------------------------------- */
/* field plans: a field schema resolved once through the type table
 * (types.c). The reference path builds them per message in the event's
 * arena; the fast path builds them once per schema (compile_row) into its
 * cache entry's arena. */

typedef struct jplan {
    sluice_type_plan_t tp;
    sluice_coltype_t ct;
    struct jplan *items; /* arrays */
} jplan_t;

static int param_int(const json_t *params, const char *key, int32_t *out)
{
    const json_t *j = json_object_get(params, key);
    long long v;
    char *end;

    if (json_is_integer(j)) {
        v = json_integer_value(j);
    } else if (json_is_string(j)) {
        v = strtoll(json_string_value(j), &end, 10);
        if (end == json_string_value(j) || *end)
            return -1;
    } else {
        return 0;
    }
    if (v > INT32_MAX || v < INT32_MIN)
        return -1;
    *out = (int32_t)v;
    return 0;
}

static int plan_field(ctx_t *c, const json_t *schema, int depth, jplan_t **out);

static int plan_field(ctx_t *c, const json_t *schema, int depth, jplan_t **out)
{
    const json_t *params = json_object_get(schema, "parameters");
    const char *type = json_string_value(json_object_get(schema, "type"));
    const char *name = json_string_value(json_object_get(schema, "name"));
    sluice_type_in_t in;
    sluice_type_opts_t topts;
    jplan_t *p;
    char pg[64];

    if (!type)
        return bad(c, "field schema has no \"type\"");
    if (depth > 32)
        return bad(c, "the schema nests deeper than 32 levels");
    p = sluice_arena_calloc(&c->ev->arena, 1, sizeof(*p));
    if (!p)
        return nomem(c);
    sluice_type_in_init(&in);
    in.type = sluice_connect_type_parse(type);
    if (in.type == SLUICE_CT_NONE)
        return bad(c, "unknown Connect schema type \"%s\"", type);
    in.name = name;
    in.optional = json_is_true(json_object_get(schema, "optional"));
    in.source_type = json_string_value(json_object_get(params, "__debezium.source.column.type"));
    if (param_int(params, "connect.decimal.precision", &in.precision) < 0 ||
        param_int(params, "length", &in.length) < 0 ||
        param_int(params, "__debezium.source.column.length", &in.source_length) < 0 ||
        param_int(params, "__debezium.source.column.scale", &in.source_scale) < 0)
        return bad(c, "a schema parameter is not an integer");
    if (name && !strcmp(name, "org.apache.kafka.connect.data.Decimal")) {
        if (!json_object_get(params, "scale"))
            return bad(c, "Decimal schema has no parameters.scale; cannot place the decimal "
                          "point");
        in.has_scale = 1;
        if (param_int(params, "scale", &in.scale) < 0) {
            const json_t *sc = json_object_get(params, "scale");
            return bad(c, "Decimal schema parameter scale \"%s\" is not an integer",
                       json_is_string(sc) ? json_string_value(sc) : jtype(sc));
        }
        if (in.scale > SLUICE_DECIMAL_SCALE_MAX || in.scale < -SLUICE_DECIMAL_SCALE_MAX)
            return bad(c, "Decimal scale %d is out of range", (int)in.scale);
    }
    if (in.type == SLUICE_CT_ARRAY) {
        const json_t *items = json_object_get(schema, "items");
        if (items && plan_field(c, items, depth + 1, &p->items) < 0)
            return -1;
    }
    topts.binary_mode = c->dec->bin;
    topts.decimal_mode = c->dec->decmode;
    sluice_types_resolve(&in, &topts, p->items ? &p->items->tp : NULL,
                         p->items ? p->items->ct.pg_type : NULL, &p->tp, pg, sizeof(pg));
    p->ct.pg_type = sluice_arena_strndup(&c->ev->arena, pg, strlen(pg));
    p->ct.kind = p->tp.kind;
    p->ct.elem_kind = p->items ? p->items->tp.kind : SLUICE_VAL_NULL;
    p->ct.semantic = name ? sluice_arena_strndup(&c->ev->arena, name, strlen(name)) : NULL;
    p->ct.connect_type = sluice_connect_type_name(in.type);
    p->ct.optional = in.optional;
    p->ct.precision = in.precision;
    p->ct.scale = p->tp.rule == SLUICE_RULE_DECIMAL ? p->tp.scale : -1;
    if (!p->ct.pg_type || (name && !p->ct.semantic))
        return nomem(c);
    *out = p;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* value conversion */

static int conv_plain(ctx_t *c, const json_t *j, int top, sluice_value_t *out);
static int conv(ctx_t *c, const jplan_t *p, const json_t *j, int top, sluice_value_t *out);

static int conv_array(ctx_t *c, const jplan_t *items, const json_t *j, sluice_value_t *out)
{
    size_t i, n = json_array_size(j);
    sluice_value_t *vals = NULL;

    if (n) {
        vals = sluice_arena_calloc(&c->ev->arena, n, sizeof(*vals));
        if (!vals)
            return nomem(c);
    }
    for (i = 0; i < n; i++) {
        int rc = items ? conv(c, items, json_array_get(j, i), 0, &vals[i])
                       : conv_plain(c, json_array_get(j, i), 0, &vals[i]);
        if (rc < 0)
            return -1;
    }
    out->kind = SLUICE_VAL_ARRAY;
    out->u.arr.items = vals;
    out->u.arr.n = n;
    return 0;
}

/* Without a schema the JSON type is all we know. */
static int conv_plain(ctx_t *c, const json_t *j, int top, sluice_value_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!j) { /* an absent member (op "m" without "content") */
        out->kind = SLUICE_VAL_NULL;
        return 0;
    }
    switch (json_typeof(j)) {
    case JSON_NULL:
        out->kind = SLUICE_VAL_NULL;
        return 0;
    case JSON_TRUE:
    case JSON_FALSE:
        out->kind = SLUICE_VAL_BOOL;
        out->u.b = json_is_true(j);
        return 0;
    case JSON_INTEGER:
        out->kind = SLUICE_VAL_INT;
        out->u.i = json_integer_value(j);
        return 0;
    case JSON_REAL:
        out->kind = SLUICE_VAL_FLOAT;
        out->u.f = json_real_value(j);
        return 0;
    case JSON_STRING:
        if (top && string_is_placeholder(c->dec, j)) {
            out->kind = SLUICE_VAL_UNAVAILABLE;
            return 0;
        }
        if (top && c->dec->precise_error &&
            sluice_decode_looks_like_decimal(json_string_value(j), json_string_length(j)))
            return bad(c, "\"%s\" looks like a Connect Decimal (base64 of the unscaled "
                          "integer) but the message carries no schema, so its scale is "
                          "unknown and the number cannot be decoded; enable schemas in the "
                          "connector's converter (value.converter.schemas.enable=true) or set "
                          "decimal.handling.mode=string",
                       json_string_value(j));
        return set_str(c, out, SLUICE_VAL_TEXT, json_string_value(j), json_string_length(j));
    case JSON_ARRAY:
        if (top && array_is_placeholder(c->dec, j)) {
            out->kind = SLUICE_VAL_UNAVAILABLE;
            return 0;
        }
        return conv_array(c, NULL, j, out);
    case JSON_OBJECT:
        if (top && map_is_placeholder(c->dec, j)) {
            out->kind = SLUICE_VAL_UNAVAILABLE;
            return 0;
        }
        return set_json_text(c, out, j);
    }
    return bad(c, "unexpected JSON value");
}

static int want_string(ctx_t *c, const jplan_t *p, const json_t *j)
{
    if (json_is_string(j))
        return 0;
    return bad(c, "schema type %s (%s) but the value is %s", p->ct.connect_type,
               p->ct.semantic ? p->ct.semantic : "no name", jtype(j));
}

static int conv_integer(ctx_t *c, const jplan_t *p, const json_t *j, int64_t *v)
{
    if (json_is_integer(j)) {
        *v = json_integer_value(j);
        return 0;
    }
    if (json_is_string(j)) { /* the Debezium docs quote some ints */
        char *end;
        *v = strtoll(json_string_value(j), &end, 10);
        if (end != json_string_value(j) && !*end)
            return 0;
        return bad(c, "schema type %s but the value is the string \"%s\"", p->ct.connect_type,
                   json_string_value(j));
    }
    return bad(c, "schema type %s but the value is %s", p->ct.connect_type, jtype(j));
}

static int conv_bytes_value(ctx_t *c, const jplan_t *p, const json_t *j, int top,
                            sluice_value_t *out)
{
    unsigned char *b;
    size_t n;

    if (!json_is_string(j))
        return bad(c, "schema type bytes but the value is %s", jtype(j));
    if (get_bytes(c, j, &b, &n) < 0)
        return -1;
    if (top && n == c->dec->ph_len && memcmp(b, c->dec->ph, n) == 0) {
        out->kind = SLUICE_VAL_UNAVAILABLE;
        return 0;
    }
    if (p->tp.rule == SLUICE_RULE_DECIMAL)
        return decimal_from_bytes(c, b, n, p->tp.scale, out);
    if (p->tp.rule == SLUICE_RULE_BITS)
        return sluice_decode_bits(&c->ev->arena, b, n, p->tp.bits, out) < 0 ? nomem(c) : 0;
    out->kind = SLUICE_VAL_BYTES;
    out->u.s.ptr = (const char *)b;
    out->u.s.len = n;
    return 0;
}

/* Geometry / Geography {wkb (base64), srid} */
static int conv_geometry(ctx_t *c, const json_t *j, sluice_value_t *out)
{
    const json_t *wkb = json_object_get(j, "wkb"), *srid = json_object_get(j, "srid");
    char why[200];
    unsigned char *b;
    size_t n;
    int rc;

    if (!json_is_object(j) || !json_is_string(wkb))
        return bad(c, "a Geometry value needs {\"wkb\": base64, \"srid\": int}, got %s",
                   jtype(j));
    if (srid && !json_is_null(srid) && !json_is_integer(srid))
        return bad(c, "a Geometry's srid is %s, expected an integer", jtype(srid));
    if (get_bytes(c, wkb, &b, &n) < 0)
        return -1;
    rc = sluice_decode_ewkb(&c->ev->arena, b, n, json_is_integer(srid), json_integer_value(srid),
                            out, why, sizeof(why));
    if (rc == -2)
        return nomem(c);
    return rc < 0 ? bad(c, "%s", why) : 0;
}

static int conv(ctx_t *c, const jplan_t *p, const json_t *j, int top, sluice_value_t *out)
{
    int64_t v;

    memset(out, 0, sizeof(*out));
    if (!j || json_is_null(j)) {
        out->kind = SLUICE_VAL_NULL;
        return 0;
    }
    if (top && json_is_string(j) && str_is(j, c->dec->ph, c->dec->ph_len)) {
        out->kind = SLUICE_VAL_UNAVAILABLE;
        return 0;
    }
    switch (p->tp.rule) {
    case SLUICE_RULE_INT:
        if (conv_integer(c, p, j, &v) < 0)
            return -1;
        out->kind = SLUICE_VAL_INT;
        out->u.i = v;
        return 0;
    case SLUICE_RULE_DATE:
    case SLUICE_RULE_TIME_MS:
    case SLUICE_RULE_TIME_US:
    case SLUICE_RULE_TIME_NS:
    case SLUICE_RULE_TS_MS:
    case SLUICE_RULE_TS_US:
    case SLUICE_RULE_TS_NS:
        if (conv_integer(c, p, j, &v) < 0)
            return -1;
        if (sluice_decode_int_value(sluice_decode_rule_intsem(p->tp.rule), v, out) < 0)
            return bad(c, "%s value %lld overflows microseconds", p->ct.semantic,
                       (long long)v);
        return 0;
    case SLUICE_RULE_INTERVAL_US:
        if (conv_integer(c, p, j, &v) < 0)
            return -1;
        return sluice_decode_interval_us(&c->ev->arena, v, out) < 0 ? nomem(c) : 0;
    case SLUICE_RULE_FLOAT:
        out->kind = SLUICE_VAL_FLOAT;
        if (json_is_number(j)) {
            out->u.f = json_number_value(j);
            return 0;
        }
        if (str_is(j, "NaN", 3)) { /* Jackson writes non-finite doubles as strings */
            out->u.f = NAN;
            return 0;
        }
        if (str_is(j, "Infinity", 8) || str_is(j, "-Infinity", 9)) {
            out->u.f = json_string_value(j)[0] == '-' ? -INFINITY : INFINITY;
            return 0;
        }
        return bad(c, "schema type %s but the value is %s", p->ct.connect_type, jtype(j));
    case SLUICE_RULE_BOOL:
        if (!json_is_boolean(j))
            return bad(c, "schema type boolean but the value is %s", jtype(j));
        out->kind = SLUICE_VAL_BOOL;
        out->u.b = json_is_true(j);
        return 0;
    case SLUICE_RULE_TEXT:
    case SLUICE_RULE_UUID:
    case SLUICE_RULE_TIMESTAMPTZ:
    case SLUICE_RULE_TIMETZ:
    case SLUICE_RULE_INTERVAL_ISO:
    case SLUICE_RULE_JSON:
        if (want_string(c, p, j) < 0)
            return -1;
        if (p->tp.rule == SLUICE_RULE_JSON && top && string_is_placeholder(c->dec, j)) {
            out->kind = SLUICE_VAL_UNAVAILABLE;
            return 0;
        }
        return set_str(c, out, p->tp.kind, json_string_value(j), json_string_length(j));
    case SLUICE_RULE_DECIMAL_TEXT:
        if (json_is_number(j))
            return decimal_from_number(c, j, -1, out);
        if (want_string(c, p, j) < 0)
            return -1;
        return sluice_decode_decimal_string(&c->ev->arena, json_string_value(j),
                                            json_string_length(j), out) < 0
                   ? nomem(c)
                   : 0;
    case SLUICE_RULE_BYTES_TEXT: {
        const char *s;
        size_t len;
        unsigned char *b;
        long got;
        if (want_string(c, p, j) < 0)
            return -1;
        s = json_string_value(j);
        len = json_string_length(j);
        b = sluice_arena_alloc(&c->ev->arena, len + 1);
        if (!b)
            return nomem(c);
        got = sluice_types_decode_binary(s, len, c->dec->bin, b);
        if (got < 0)
            return bad(c, "a binary column's string is not %s as binary.handling.mode says",
                       c->dec->bin == SLUICE_BINARY_HEX ? "hex" : "base64");
        if (top && (size_t)got == c->dec->ph_len && memcmp(b, c->dec->ph, c->dec->ph_len) == 0) {
            out->kind = SLUICE_VAL_UNAVAILABLE;
            return 0;
        }
        b[got] = '\0';
        out->kind = SLUICE_VAL_BYTES;
        out->u.s.ptr = (const char *)b;
        out->u.s.len = (size_t)got;
        return 0;
    }
    case SLUICE_RULE_DECIMAL:
        if (json_is_number(j)) /* decimal.format=NUMERIC */
            return decimal_from_number(c, j, p->tp.scale, out);
        return conv_bytes_value(c, p, j, top, out);
    case SLUICE_RULE_BYTES:
    case SLUICE_RULE_BITS:
        return conv_bytes_value(c, p, j, top, out);
    case SLUICE_RULE_VSD:
        return variable_scale_decimal(c, j, out);
    case SLUICE_RULE_GEOMETRY:
        return conv_geometry(c, j, out);
    case SLUICE_RULE_POINT: {
        const json_t *x = json_object_get(j, "x"), *y = json_object_get(j, "y");
        if (!json_is_number(x) || !json_is_number(y))
            return bad(c, "a Point value needs numeric \"x\" and \"y\"");
        return sluice_decode_point(&c->ev->arena, json_number_value(x), json_number_value(y),
                                   out) < 0
                   ? nomem(c)
                   : 0;
    }
    case SLUICE_RULE_ARRAY:
        if (!json_is_array(j))
            return bad(c, "schema type array but the value is %s", jtype(j));
        if (top && array_is_placeholder(c->dec, j)) {
            out->kind = SLUICE_VAL_UNAVAILABLE;
            return 0;
        }
        return conv_array(c, p->items, j, out);
    case SLUICE_RULE_MAP:
        if (top && map_is_placeholder(c->dec, j)) {
            out->kind = SLUICE_VAL_UNAVAILABLE;
            return 0;
        }
        if (!json_is_object(j) && !json_is_array(j))
            return bad(c, "schema type map but the value is %s", jtype(j));
        return set_json_text(c, out, j);
    case SLUICE_RULE_STRUCT:
        if (!json_is_object(j))
            return bad(c, "schema type struct but the value is %s", jtype(j));
        return set_json_text(c, out, j); /* circle, line, ...: the object as JSON */
    }
    return bad(c, "unknown decode rule %d", (int)p->tp.rule);
}

/* ---------------------------------------------------------------------- */
/* rows */

static const json_t *field_schema(const json_t *fields, const char *field)
{
    size_t i;
    const json_t *f;

    json_array_foreach((json_t *)fields, i, f) {
        const char *name = json_string_value(json_object_get(f, "field"));
        if (name && strcmp(name, field) == 0)
            return f;
    }
    return NULL;
}

static int add_col(ctx_t *c, sluice_column_t *col, const char *name, const json_t *schema,
                   const json_t *j)
{
    jplan_t *p = NULL;

    col->name = sluice_arena_strndup(&c->ev->arena, name, strlen(name));
    if (!col->name)
        return nomem(c);
    c->col = col->name;
    if (schema) {
        if (plan_field(c, schema, 0, &p) < 0 || conv(c, p, j, 1, &col->value) < 0)
            return -1;
        col->type = &p->ct;
    } else if (conv_plain(c, j, 1, &col->value) < 0) {
        return -1;
    }
    c->col = NULL;
    return 0;
}

/* A row struct: columns in schema order (with a schema) or document order. */
static int conv_row(ctx_t *c, const char *rowname, const json_t *schema, const json_t *j,
                    sluice_row_t *row)
{
    const json_t *fields = NULL;
    size_t i, n;

    memset(row, 0, sizeof(*row));
    if (!j || json_is_null(j))
        return 0;
    c->row = rowname;
    c->col = NULL;
    if (!json_is_object(j))
        return bad(c, "is %s, expected an object of columns", jtype(j));
    if (schema) {
        const char *type = json_string_value(json_object_get(schema, "type"));
        fields = json_object_get(schema, "fields");
        if (!type || !type_is(type, "struct") || !json_is_array(fields))
            return bad(c, "schema is not a struct with \"fields\"");
        n = json_array_size(fields);
    } else {
        n = json_object_size(j);
    }
    if (n) {
        row->cols = sluice_arena_calloc(&c->ev->arena, n, sizeof(*row->cols));
        if (!row->cols)
            return nomem(c);
    }
    if (schema) {
        size_t seen = 0;
        for (i = 0; i < n; i++) {
            const json_t *f = json_array_get(fields, i);
            const char *name = json_string_value(json_object_get(f, "field"));
            const json_t *v;
            if (!name)
                return bad(c, "schema field %zu has no \"field\" name", i);
            v = json_object_get(j, name);
            seen += v != NULL;
            if (add_col(c, &row->cols[i], name, f, v) < 0)
                return -1;
        }
        if (seen != json_object_size(j)) {
            const char *k;
            json_t *v;
            json_object_foreach((json_t *)j, k, v) {
                if (!field_schema(fields, k))
                    return bad(c, "column \"%s\" is not declared in the schema; the message "
                                  "is inconsistent", k);
            }
        }
    } else {
        const char *k;
        json_t *v;
        i = 0;
        json_object_foreach((json_t *)j, k, v) {
            if (add_col(c, &row->cols[i++], k, NULL, v) < 0)
                return -1;
        }
    }
    row->ncols = n;
    row->present = 1;
    c->row = NULL;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* source block */

static int get_str(ctx_t *c, const json_t *obj, const char *key, const char **out)
{
    const json_t *j = json_object_get(obj, key);

    *out = NULL;
    if (!j || json_is_null(j))
        return 0;
    if (!json_is_string(j))
        return bad(c, "\"%s\" is %s, expected a string", key, jtype(j));
    *out = sluice_arena_strndup(&c->ev->arena, json_string_value(j), json_string_length(j));
    return *out ? 0 : nomem(c);
}

static int get_int(ctx_t *c, const json_t *obj, const char *key, int64_t dflt, int64_t *out)
{
    const json_t *j = json_object_get(obj, key);

    *out = dflt;
    if (!j || json_is_null(j))
        return 0;
    if (!json_is_integer(j))
        return bad(c, "\"%s\" is %s, expected an integer", key, jtype(j));
    *out = json_integer_value(j);
    return 0;
}

static int get_snapshot(ctx_t *c, const json_t *src, sluice_snapshot_t *out)
{
    const json_t *j = json_object_get(src, "snapshot");

    *out = SLUICE_SNAPSHOT_FALSE;
    if (!j || json_is_null(j))
        return 0;
    if (json_is_boolean(j)) { /* the Debezium docs' example shows a boolean */
        *out = json_is_true(j) ? SLUICE_SNAPSHOT_TRUE : SLUICE_SNAPSHOT_FALSE;
        return 0;
    }
    if (!json_is_string(j))
        return bad(c, "\"snapshot\" is %s, expected a string", jtype(j));
    if (sluice_decode_snapshot(json_string_value(j), json_string_length(j), out) == 0)
        return 0;
    return bad(c, "\"snapshot\" is \"%s\", not one of true, first, first_in_data_collection, "
                  "last_in_data_collection, last, false, incremental",
               json_string_value(j));
}

static int parse_source(ctx_t *c, const json_t *src)
{
    sluice_event_t *ev = c->ev;
    sluice_source_fields_t sf;
    const json_t *seq, *lsn;
    char why[SLUICE_ERR_MSG_MAX / 2];

    c->row = "source";
    if (!src || json_is_null(src))
        return bad(c, "missing; a Debezium envelope always has a source block");
    if (!json_is_object(src))
        return bad(c, "is %s, expected an object", jtype(src));
    if (get_str(c, src, "connector", &ev->connector) < 0 ||
        get_str(c, src, "name", &ev->server) < 0 || get_str(c, src, "db", &ev->db) < 0 ||
        get_str(c, src, "schema", &ev->schema) < 0 || get_str(c, src, "table", &ev->table) < 0 ||
        get_snapshot(c, src, &ev->snapshot) < 0 ||
        get_int(c, src, "ts_ms", 0, &ev->source_ts_ms) < 0 ||
        get_int(c, src, "txId", -1, &ev->tx_id) < 0)
        return -1;

    memset(&sf, 0, sizeof(sf));
    sf.connector = ev->connector;
    sf.mysql_fields = json_object_get(src, "file") || json_object_get(src, "pos");
    if (sf.mysql_fields || (ev->connector && (!strcmp(ev->connector, "mysql") ||
                                              !strcmp(ev->connector, "mariadb")))) {
        if (get_int(c, src, "pos", 0, &sf.binpos) < 0 || get_int(c, src, "row", 0, &sf.row) < 0)
            return -1;
        sf.file = json_string_value(json_object_get(src, "file"));
    }
    seq = json_object_get(src, "sequence");
    lsn = json_object_get(src, "lsn");
    sf.sequence = json_string_value(seq);
    sf.has_lsn = json_is_integer(lsn);
    sf.lsn = json_integer_value(lsn);
    if (sluice_decode_position(&sf, &ev->pos, why, sizeof(why)) < 0)
        return bad(c, "%s", why);
    c->row = NULL;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* documents */

static json_t *load(ctx_t *c, const void *buf, size_t len)
{
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, JSON_DECODE_ANY, &jerr);

    if (!root)
        bad(c, "not valid JSON: %s (line %d, column %d, byte %d)", jerr.text, jerr.line,
            jerr.column, jerr.position);
    return root;
}

/* {"schema": S, "payload": P} -> S (NULL if null) and P; else the document. */
static void split(json_t *root, const json_t **schema, const json_t **payload)
{
    *schema = NULL;
    *payload = root;
    if (json_is_object(root) && json_object_get(root, "schema") &&
        json_object_get(root, "payload")) {
        *schema = json_object_get(root, "schema");
        *payload = json_object_get(root, "payload");
        if (json_is_null(*schema))
            *schema = NULL;
    }
}

static int parse_op(ctx_t *c, const json_t *payload)
{
    const json_t *j = json_object_get(payload, "op");
    const char *s;

    if (!j)
        return bad(c, "payload has no \"op\" field; not a Debezium change event (transaction "
                      "metadata, heartbeat and schema-change records have none)");
    if (!json_is_string(j))
        return bad(c, "\"op\" is %s, expected one of \"c\", \"u\", \"d\", \"r\", \"t\", \"m\"",
                   jtype(j));
    s = json_string_value(j);
    if (json_string_length(j) == 1 && strchr("cudrtm", s[0])) {
        c->ev->op = (sluice_op_t)s[0];
        return 0;
    }
    return bad(c, "unknown \"op\" \"%s\", expected one of \"c\", \"u\", \"d\", \"r\", \"t\", \"m\"",
               s);
}

/* op 'm': message {prefix, content}; content is bytes (base64) */
static int parse_message(ctx_t *c, const json_t *schema, const json_t *payload)
{
    const json_t *msg = json_object_get(payload, "message");
    const json_t *content, *cschema = NULL;

    c->row = "message";
    if (!json_is_object(msg))
        return bad(c, "op \"m\" needs a message object {prefix, content}, got %s",
                   msg ? jtype(msg) : "nothing");
    if (get_str(c, msg, "prefix", &c->ev->msg_prefix) < 0)
        return -1;
    content = json_object_get(msg, "content");
    if (schema)
        cschema = field_schema(json_object_get(schema, "fields"), "content");
    c->col = "content";
    if (cschema) {
        jplan_t *p;
        if (plan_field(c, cschema, 0, &p) < 0 || conv(c, p, content, 0, &c->ev->msg_content) < 0)
            return -1;
    } else if (json_is_string(content)) {
        /* no schema: bytes arrive as base64 unless binary.handling.mode says
         * otherwise; keep undecodable content as text */
        const char *s = json_string_value(content);
        size_t len = json_string_length(content);
        unsigned char *b = sluice_arena_alloc(&c->ev->arena, len / 4 * 3 + 1);
        long got;
        if (!b)
            return nomem(c);
        got = sluice_decode_base64(s, len, b);
        if (got >= 0) {
            b[got] = '\0';
            c->ev->msg_content.kind = SLUICE_VAL_BYTES;
            c->ev->msg_content.u.s.ptr = (const char *)b;
            c->ev->msg_content.u.s.len = (size_t)got;
        } else if (set_str(c, &c->ev->msg_content, SLUICE_VAL_TEXT, s, len) < 0) {
            return -1;
        }
    } else if (conv_plain(c, content, 0, &c->ev->msg_content) < 0) {
        return -1;
    }
    c->row = c->col = NULL;
    return 0;
}

static int is_absent(const json_t *j)
{
    return !j || json_is_null(j);
}

typedef enum { REC_ENVELOPE, REC_FLAT, REC_CONTROL } rec_t;

static int has_prefixed(const sluice_json_decoder_t *dec, const json_t *payload,
                        const char *field)
{
    char name[128];

    snprintf(name, sizeof(name), "%s%s", dec->prefix, field);
    return json_object_get(payload, name) != NULL;
}

static int name_ends(const char *name, const char *suffix)
{
    size_t n = name ? strlen(name) : 0, m = strlen(suffix);

    return n >= m && strcmp(name + n - m, suffix) == 0;
}

/* What kind of record value this is: a change-event envelope, a flattened
 * row (ExtractNewRecordState) or a control record (heartbeat, schema
 * change, transaction metadata). */
static rec_t classify(ctx_t *c, const json_t *schema, const json_t *payload)
{
    const char *sname = json_string_value(json_object_get(schema, "name"));
    const json_t *op = json_object_get(payload, "op");
    const json_t *status = json_object_get(payload, "status");
    int envelope = json_is_string(op) && json_is_object(json_object_get(payload, "source"));

    if (c->dec->flattened == SLUICE_FLATTENED_YES)
        return REC_FLAT;
    if (!envelope && c->dec->flattened == SLUICE_FLATTENED_AUTO &&
        (has_prefixed(c->dec, payload, "op") || has_prefixed(c->dec, payload, "deleted")))
        return REC_FLAT;
    if (name_ends(sname, "common.Heartbeat") || name_ends(sname, "SchemaChangeValue") ||
        name_ends(sname, "TransactionMetadataValue"))
        return REC_CONTROL;
    if (op)
        return REC_ENVELOPE;
    if (json_object_size(payload) == 1 && json_is_integer(json_object_get(payload, "ts_ms")))
        return REC_CONTROL; /* heartbeat without a schema */
    if (json_object_get(payload, "ddl") || json_object_get(payload, "tableChanges"))
        return REC_CONTROL;
    if (json_is_string(status) && json_object_get(payload, "id") &&
        (str_is(status, "BEGIN", 5) || str_is(status, "END", 3)))
        return REC_CONTROL;
    return REC_ENVELOPE; /* parse_op explains what is missing */
}

static int decode_control(ctx_t *c, const json_t *schema, const json_t *payload)
{
    sluice_event_t *ev = c->ev;
    const char *sname = json_string_value(json_object_get(schema, "name"));
    const json_t *status = json_object_get(payload, "status");
    const json_t *src = json_object_get(payload, "source");

    ev->op = SLUICE_OP_CONTROL;
    if (get_int(c, payload, "ts_ms", 0, &ev->ts_ms) < 0)
        return -1;
    if (json_is_string(status) && !name_ends(sname, "common.Heartbeat")) {
        const json_t *id = json_object_get(payload, "id");
        if (str_is(status, "BEGIN", 5))
            ev->control = SLUICE_CONTROL_TX_BEGIN;
        else if (str_is(status, "END", 3))
            ev->control = SLUICE_CONTROL_TX_END;
        else
            return bad(c, "transaction metadata status \"%s\" is neither BEGIN nor END",
                       json_string_value(status));
        if (json_is_integer(id)) { /* MongoDB-like numeric ids: keep their text */
            char tmp[32];
            snprintf(tmp, sizeof(tmp), "%lld", (long long)json_integer_value(id));
            ev->ctl_id = sluice_arena_strndup(&ev->arena, tmp, strlen(tmp));
            if (!ev->ctl_id)
                return nomem(c);
        } else if (get_str(c, payload, "id", &ev->ctl_id) < 0) {
            return -1;
        }
        return get_int(c, payload, "event_count", 0, &ev->ctl_count);
    }
    if (json_object_get(payload, "ddl") || json_object_get(payload, "tableChanges") ||
        name_ends(sname, "SchemaChangeValue")) {
        ev->control = SLUICE_CONTROL_SCHEMA_CHANGE;
        if (get_str(c, payload, "ddl", &ev->ctl_ddl) < 0 ||
            get_str(c, payload, "databaseName", &ev->ctl_db) < 0)
            return -1;
        /* the source block gives the position the change was read at */
        if (json_is_object(src) && parse_source(c, src) < 0)
            return -1;
        return 0;
    }
    ev->control = SLUICE_CONTROL_HEARTBEAT;
    return 0;
}

static int decode_flat(ctx_t *c, const json_t *schema, const json_t *payload)
{
    sluice_row_t all;
    char why[SLUICE_ERR_MSG_MAX / 2];
    int rc;

    if (schema && !type_is(json_string_value(json_object_get(schema, "type")) ?
                               json_string_value(json_object_get(schema, "type")) : "",
                           "struct"))
        return bad(c, "a flattened record's schema is not a struct of columns");
    if (conv_row(c, "row", schema, payload, &all) < 0)
        return -1;
    rc = sluice_decode_flat_finish(c->ev, &all, c->dec->prefix, why, sizeof(why));
    if (rc == -2)
        return nomem(c);
    if (rc < 0) {
        c->row = "row";
        return bad(c, "flattened record (ExtractNewRecordState): %s", why);
    }
    return 0;
}

static int decode_value(ctx_t *c, json_t *root)
{
    const json_t *schema, *payload, *fields = NULL;
    const json_t *sbefore = NULL, *safter = NULL, *smessage = NULL;

    if (json_is_null(root))
        return bad(c, "the document is JSON null; a tombstone is a null Kafka value and "
                      "never reaches the decoder, so this record is malformed");
    if (!json_is_object(root))
        return bad(c, "the document is %s, expected a JSON object (a Debezium envelope)",
                   jtype(root));
    split(root, &schema, &payload);
    if (!json_is_object(payload))
        return bad(c, "\"payload\" is %s, expected the envelope object", jtype(payload));
    if (schema) {
        fields = json_object_get(schema, "fields");
        if (!json_is_object(schema) || !json_is_array(fields))
            return bad(c, "\"schema\" is not a struct schema with \"fields\"");
        sbefore = field_schema(fields, "before");
        safter = field_schema(fields, "after");
        smessage = field_schema(fields, "message");
    }
    switch (classify(c, schema, payload)) {
    case REC_CONTROL:
        return decode_control(c, schema, payload);
    case REC_FLAT:
        return decode_flat(c, schema, payload);
    case REC_ENVELOPE:
        break;
    }
    if (parse_op(c, payload) < 0 || parse_source(c, json_object_get(payload, "source")) < 0 ||
        get_int(c, payload, "ts_ms", 0, &c->ev->ts_ms) < 0)
        return -1;
    if (schema && !sbefore && !is_absent(json_object_get(payload, "before")))
        return bad(c, "\"before\" has no field schema in the envelope's schema");
    if (schema && !safter && !is_absent(json_object_get(payload, "after")))
        return bad(c, "\"after\" has no field schema in the envelope's schema");
    if (conv_row(c, "before", sbefore, json_object_get(payload, "before"), &c->ev->before) < 0 ||
        conv_row(c, "after", safter, json_object_get(payload, "after"), &c->ev->after) < 0)
        return -1;
    if (c->ev->op == SLUICE_OP_MESSAGE && parse_message(c, smessage, payload) < 0)
        return -1;
    return 0;
}

static int ref_value(sluice_json_decoder_t *dec, const void *buf, size_t len,
                     sluice_event_t *ev, sluice_err_t *err)
{
    ctx_t c = {dec, ev, err, "value", NULL, NULL, 0};
    json_t *root = load(&c, buf, len);
    int rc;

    if (!root)
        return -1;
    rc = decode_value(&c, root);
    json_decref(root);
    if (rc == 0)
        sluice_event_mark_key_columns(ev);
    return rc;
}

static int decode_key(ctx_t *c, json_t *root)
{
    const json_t *schema, *payload;
    const char *type;

    c->ev->key.present = 0;
    if (json_is_null(root))
        return 0;
    if (!json_is_object(root))
        return bad(c, "the document is %s, expected a JSON object of key columns",
                   jtype(root));
    split(root, &schema, &payload);
    if (schema) {
        type = json_string_value(json_object_get(schema, "type"));
        if (!type || !type_is(type, "struct"))
            return bad(c, "key schema is of type %s, expected a struct of key columns",
                       type ? type : "(none)");
    }
    return conv_row(c, "key", schema, payload, &c->ev->key);
}

static int ref_key(sluice_json_decoder_t *dec, const void *buf, size_t len,
                   sluice_event_t *ev, sluice_err_t *err)
{
    ctx_t c = {dec, ev, err, "key", NULL, NULL, 0};
    json_t *root = load(&c, buf, len);
    int rc;

    if (!root)
        return -1;
    rc = decode_key(&c, root);
    json_decref(root);
    if (rc == 0)
        sluice_event_mark_key_columns(ev);
    return rc;
}

/* ====================================================================== */
/* The fast path: schema cache + scanner (see the note on the decoder struct
 * and docs/decode.md). Every function below returns 0 or -1; -1 means "not
 * decoded here": the message goes to the reference path, which either
 * decodes it (something this path does not handle) or fails it with the
 * error it words. Nothing here sets err. */

/* ---------------------------------------------------------------------- */
/* compiled schemas */

/* One field of a row struct, resolved once. */
typedef struct {
    const char *name; /* decoded field name (the cache entry's arena) */
    size_t len;
    const jplan_t *plan;
} rfield_t;

/* A row struct (before/after, a key, a flattened record). */
typedef struct {
    int ok;          /* 0: the reference path would fail this row: send it there */
    size_t n;
    rfield_t *f;
    uint32_t *slots; /* open addressing on the name: field index + 1, 0 empty */
    size_t nslots;   /* power of two */
    /* The columns' names and types as one block that each event copies into
     * its own arena (a cache entry may be evicted while an event lives):
     * sluice_coltype_t[n], then the strings; offsets to fix up per field. */
    unsigned char *blob;
    size_t blob_len;
    size_t *name_off, *pg_off, *sem_off; /* sem_off SIZE_MAX: no semantic name */
} rowplan_t;

enum { CK_VALUE = 0, CK_KEY = 1 };

struct centry {
    int live;
    int kind;        /* CK_VALUE / CK_KEY */
    int used;        /* clock bit */
    int32_t next;    /* bucket chain: entry index + 1, 0 ends */
    uint64_t hash;
    char *bytes;     /* the schema's exact bytes */
    size_t len;
    sluice_arena_t arena; /* plans */
    /* CK_VALUE */
    int env_ok;      /* an object with a "fields" array */
    int control;     /* its name is a heartbeat / schema change / tx metadata value */
    int has_before, has_after; /* the envelope declares these fields */
    rowplan_t *before, *after; /* their row plans (NULL: no struct) */
    rowplan_t *flat; /* the schema itself as a row (flattened records) */
    /* CK_KEY */
    rowplan_t *key;  /* NULL: not a struct */
};

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325) ^ n;

    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * UINT64_C(0x100000001b3);
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    while (n--)
        h = (h ^ (unsigned char)*p++) * UINT64_C(0x100000001b3);
    return h ^ (h >> 32);
}

static uint32_t name_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;

    while (n--)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

/* Mirrors conv_row's schema half: the same checks, the same plan_field. */
static rowplan_t *compile_row(ctx_t *c, const json_t *schema)
{
    sluice_arena_t *a = &c->ev->arena;
    rowplan_t *rp = sluice_arena_calloc(a, 1, sizeof(*rp));
    const char *type = json_string_value(json_object_get(schema, "type"));
    const json_t *fields = json_object_get(schema, "fields");
    size_t i, n, off;

    if (!rp)
        return NULL;
    if (!type || !type_is(type, "struct") || !json_is_array(fields))
        return rp; /* ok = 0 */
    n = json_array_size(fields);
    rp->n = n;
    rp->f = sluice_arena_calloc(a, n + 1, sizeof(*rp->f));
    for (rp->nslots = 8; rp->nslots < 2 * n; rp->nslots *= 2)
        ;
    rp->slots = sluice_arena_calloc(a, rp->nslots, sizeof(*rp->slots));
    rp->name_off = sluice_arena_calloc(a, n + 1, sizeof(size_t));
    rp->pg_off = sluice_arena_calloc(a, n + 1, sizeof(size_t));
    rp->sem_off = sluice_arena_calloc(a, n + 1, sizeof(size_t));
    if (!rp->f || !rp->slots || !rp->name_off || !rp->pg_off || !rp->sem_off)
        return NULL;
    off = n * sizeof(sluice_coltype_t);
    for (i = 0; i < n; i++) {
        const json_t *f = json_array_get(fields, i);
        const char *name = json_string_value(json_object_get(f, "field"));
        jplan_t *p = NULL;
        size_t k;
        if (!name || plan_field(c, f, 0, &p) < 0)
            return rp;
        rp->f[i].len = strlen(name);
        rp->f[i].name = sluice_arena_strndup(a, name, rp->f[i].len);
        rp->f[i].plan = p;
        if (!rp->f[i].name)
            return NULL;
        for (k = name_hash(name, rp->f[i].len) & (rp->nslots - 1); rp->slots[k];
             k = (k + 1) & (rp->nslots - 1)) {
            const rfield_t *o = &rp->f[rp->slots[k] - 1];
            if (o->len == rp->f[i].len && memcmp(o->name, name, o->len) == 0)
                return rp; /* two fields of one name: leave it to the reference path */
        }
        rp->slots[k] = (uint32_t)i + 1;
        rp->name_off[i] = off;
        off += rp->f[i].len + 1;
        rp->pg_off[i] = off;
        off += strlen(p->ct.pg_type) + 1;
        if (p->ct.semantic) {
            rp->sem_off[i] = off;
            off += strlen(p->ct.semantic) + 1;
        } else {
            rp->sem_off[i] = SIZE_MAX;
        }
    }
    rp->blob_len = off ? off : 1;
    rp->blob = sluice_arena_alloc(a, rp->blob_len);
    if (!rp->blob)
        return NULL;
    for (i = 0; i < n; i++) {
        const jplan_t *p = rp->f[i].plan;
        memcpy(rp->blob + i * sizeof(sluice_coltype_t), &p->ct, sizeof(sluice_coltype_t));
        memcpy(rp->blob + rp->name_off[i], rp->f[i].name, rp->f[i].len + 1);
        memcpy(rp->blob + rp->pg_off[i], p->ct.pg_type, strlen(p->ct.pg_type) + 1);
        if (p->ct.semantic)
            memcpy(rp->blob + rp->sem_off[i], p->ct.semantic, strlen(p->ct.semantic) + 1);
    }
    rp->ok = 1;
    return rp;
}

/* Fills a cache entry from its schema bytes (with jansson: once per schema). */
static int compile_entry(sluice_json_decoder_t *dec, centry_t *e)
{
    sluice_event_t tmp;
    sluice_err_t scratch;
    ctx_t c = {dec, &tmp, &scratch, "value", NULL, NULL, 1};
    json_t *s = json_loadb(e->bytes, e->len, JSON_DECODE_ANY, NULL);
    int rc = 0;

    if (!s)
        return -1;
    sluice_event_init(&tmp);
    if (e->kind == CK_KEY) {
        const char *type = json_string_value(json_object_get(s, "type"));
        if (type && type_is(type, "struct") && !(e->key = compile_row(&c, s)))
            rc = -1;
    } else {
        const json_t *fields = json_object_get(s, "fields");
        const char *sname = json_string_value(json_object_get(s, "name"));
        const json_t *sb, *sa;
        const char *type = json_string_value(json_object_get(s, "type"));
        e->env_ok = json_is_object(s) && json_is_array(fields);
        e->control = name_ends(sname, "common.Heartbeat") ||
                     name_ends(sname, "SchemaChangeValue") ||
                     name_ends(sname, "TransactionMetadataValue");
        if (e->env_ok) {
            sb = field_schema(fields, "before");
            sa = field_schema(fields, "after");
            e->has_before = sb != NULL;
            e->has_after = sa != NULL;
            if ((sb && !(e->before = compile_row(&c, sb))) ||
                (sa && !(e->after = compile_row(&c, sa))))
                rc = -1;
            if (rc == 0 && dec->flattened != SLUICE_FLATTENED_NO && type &&
                type_is(type, "struct") && !(e->flat = compile_row(&c, s)))
                rc = -1;
        }
    }
    json_decref(s);
    e->arena = tmp.arena; /* the plans stay with the entry */
    return rc;
}

static void entry_clear(centry_t *e)
{
    free(e->bytes);
    sluice_arena_cleanup(&e->arena);
    memset(e, 0, sizeof(*e));
}

static void cache_free(sluice_json_decoder_t *dec)
{
    size_t i;

    if (dec->cache)
        for (i = 0; i < dec->cache_cap; i++)
            if (dec->cache[i].live)
                entry_clear(&dec->cache[i]);
    free(dec->cache);
    free(dec->buckets);
    dec->cache = NULL;
    dec->buckets = NULL;
    dec->ncache = dec->clock = 0;
    memset(dec->recent, 0, sizeof(dec->recent));
}

static void recent_drop(sluice_json_decoder_t *dec, const centry_t *e)
{
    int k, i, j;

    for (k = 0; k < 2; k++)
        for (i = j = 0; i < RECENT; i++) {
            centry_t *r = dec->recent[k][i];
            dec->recent[k][i] = NULL;
            if (r && r != e)
                dec->recent[k][j++] = r;
        }
}

static void recent_use(sluice_json_decoder_t *dec, centry_t *e)
{
    centry_t **r = dec->recent[e->kind];
    int i;

    e->used = 1;
    if (r[0] == e)
        return;
    for (i = 1; i < RECENT - 1 && r[i] != e; i++)
        ;
    memmove(r + 1, r, (size_t)i * sizeof(*r));
    r[0] = e;
}

/* The entry to (re)use: a free one, else the clock's victim. */
static centry_t *cache_slot(sluice_json_decoder_t *dec)
{
    centry_t *e;

    if (dec->ncache < dec->cache_cap) {
        e = &dec->cache[dec->ncache++];
        return e;
    }
    for (;;) {
        e = &dec->cache[dec->clock];
        dec->clock = (dec->clock + 1) % dec->cache_cap;
        if (!e->used)
            break;
        e->used = 0;
    }
    if (e->live) { /* unlink it from its bucket */
        int32_t *link = &dec->buckets[e->hash & (dec->nbuckets - 1)];
        int32_t self = (int32_t)(e - dec->cache) + 1;
        while (*link != self)
            link = &dec->cache[*link - 1].next;
        *link = e->next;
    }
    recent_drop(dec, e);
    entry_clear(e);
    dec->stats.cache_evictions++;
    return e;
}

/* The compiled entry of the schema bytes [p, p+len) (a validated object). */
static centry_t *cache_get(sluice_json_decoder_t *dec, int kind, const char *p, size_t len)
{
    uint64_t h = hash_bytes(p, len) ^ (uint64_t)kind;
    centry_t *e;
    int32_t i;

    if (!dec->cache) {
        dec->cache = calloc(dec->cache_cap, sizeof(*dec->cache));
        for (dec->nbuckets = 16; dec->nbuckets < 2 * dec->cache_cap; dec->nbuckets *= 2)
            ;
        dec->buckets = calloc(dec->nbuckets, sizeof(*dec->buckets));
        if (!dec->cache || !dec->buckets) {
            cache_free(dec);
            return NULL;
        }
    }
    for (i = dec->buckets[h & (dec->nbuckets - 1)]; i; i = dec->cache[i - 1].next) {
        e = &dec->cache[i - 1];
        if (e->hash == h && e->kind == kind && e->len == len && memcmp(e->bytes, p, len) == 0) {
            dec->stats.cache_hits++;
            recent_use(dec, e);
            return e;
        }
    }
    dec->stats.cache_misses++;
    e = cache_slot(dec);
    e->bytes = malloc(len ? len : 1);
    if (!e->bytes) {
        memset(e, 0, sizeof(*e));
        return NULL;
    }
    memcpy(e->bytes, p, len);
    e->len = len;
    e->hash = h;
    e->kind = kind;
    e->live = 1;
    sluice_arena_init(&e->arena);
    if (compile_entry(dec, e) < 0) {
        entry_clear(e);
        return NULL;
    }
    e->next = dec->buckets[h & (dec->nbuckets - 1)];
    dec->buckets[h & (dec->nbuckets - 1)] = (int32_t)(e - dec->cache) + 1;
    recent_use(dec, e);
    return e;
}

/* The schema value at p: the entry whose bytes are there (the recently used
 * ones are compared byte for byte, which also proves the bytes valid: their
 * last bytes first, where a Debezium schema names its table), else scanned,
 * hashed and looked up. *after: the end of the value. */
static centry_t *schema_at(sluice_json_decoder_t *dec, int kind, const char *p, const char *end,
                           const char **after)
{
    js_val_t v;
    int i;

    for (i = 0; i < RECENT; i++) {
        centry_t *e = dec->recent[kind][i];
        size_t tail;
        if (!e)
            break;
        tail = e->len < 48 ? e->len : 48;
        if ((size_t)(end - p) >= e->len &&
            memcmp(p + e->len - tail, e->bytes + e->len - tail, tail) == 0 &&
            memcmp(p, e->bytes, e->len) == 0) {
            dec->stats.cache_hits++;
            recent_use(dec, e);
            *after = p + e->len;
            return e;
        }
    }
    if (!(*after = js_value_at(p, end, 1, &v, NULL)) || v.type != JS_OBJECT)
        return NULL;
    return cache_get(dec, kind, v.start, v.len);
}

void sluice_json_decoder_get_stats(const sluice_json_decoder_t *dec,
                                   sluice_json_decoder_stats_t *out)
{
    *out = dec->stats;
}

void sluice_json_decoder_set_reference(sluice_json_decoder_t *dec, int on)
{
    dec->reference = on;
}

int sluice_json_decoder_set_cache_cap(sluice_json_decoder_t *dec, size_t cap)
{
    cache_free(dec);
    dec->cache_cap = cap ? cap : 1;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* values from scanned spans: the same conversions as conv() / conv_plain() */

/* The decoded text of a string value, NUL-terminated, in the event's arena. */
static const char *f_text(ctx_t *c, const js_val_t *v, size_t *len)
{
    size_t n = v->len - 2;
    char *p = sluice_arena_alloc(&c->ev->arena, n + 1);

    if (!p)
        return NULL;
    if (!v->escaped)
        memcpy(p, v->start + 1, n);
    else
        n = js_string_decode(v, p);
    p[n] = '\0';
    *len = n;
    return p;
}

static int f_is_int(const js_val_t *v)
{
    return v->type == JS_NUMBER && v->is_int;
}

static int64_t f_int(const js_val_t *v)
{
    int64_t x = 0;

    js_int64(v, &x); /* in range: the scanner checked */
    return x;
}

static double f_number(const js_val_t *v)
{
    return v->is_int ? (double)f_int(v) : js_double(v);
}

/* JSON text as json_dumps(JSON_COMPACT | JSON_ENCODE_ANY) writes it. */
static int dtostr(char *buf, size_t size, double value)
{
    char *start, *end;
    size_t length;
    int ret = snprintf(buf, size, "%.17g", value);

    if (ret < 0 || (size_t)ret >= size)
        return -1;
    length = (size_t)ret;
    if (!strchr(buf, '.') && !strchr(buf, 'e')) {
        if (length + 3 >= size)
            return -1;
        memcpy(buf + length, ".0", 3);
        length += 2;
    }
    start = strchr(buf, 'e');
    if (start) { /* no '+' and no leading zeros in the exponent */
        start++;
        end = start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, length - (size_t)(end - buf) + 1);
            length -= (size_t)(end - start);
        }
    }
    return (int)length;
}

static int dump_escaped(sluice_buf_t *b, const char *s, size_t n)
{
    size_t i, run = 0;

    if (sluice_buf_putc(b, '"') < 0)
        return -1;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        const char *esc;
        char seq[8];
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        if (sluice_buf_append(b, s + run, i - run) < 0)
            return -1;
        run = i + 1;
        switch (ch) {
        case '\\': esc = "\\\\"; break;
        case '"': esc = "\\\""; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            snprintf(seq, sizeof(seq), "\\u%04X", (unsigned)ch);
            esc = seq;
        }
        if (sluice_buf_puts(b, esc) < 0)
            return -1;
    }
    if (sluice_buf_append(b, s + run, n - run) < 0)
        return -1;
    return sluice_buf_putc(b, '"');
}

#define DUMP_KEYS_MAX 64

/* 0 written, 1 not reproduced here (escaped or duplicate keys: jansson keeps
 * the first position and the last value), -1 out of memory. */
static int dump_value(sluice_buf_t *b, const js_val_t *v)
{
    js_iter_t it;
    js_val_t k, e;
    int first = 1, rc;

    switch (v->type) {
    case JS_NULL: return sluice_buf_append(b, "null", 4);
    case JS_TRUE: return sluice_buf_append(b, "true", 4);
    case JS_FALSE: return sluice_buf_append(b, "false", 5);
    case JS_NUMBER:
        if (v->is_int) {
            if (v->len == 2 && v->start[0] == '-' && v->start[1] == '0')
                return sluice_buf_putc(b, '0');
            return sluice_buf_append(b, v->start, v->len);
        } else {
            char tmp[64];
            int n = dtostr(tmp, sizeof(tmp), js_double(v));
            if (n < 0)
                return 1;
            return sluice_buf_append(b, tmp, (size_t)n);
        }
    case JS_STRING:
        if (!v->escaped) /* nothing in it that needs escaping */
            return sluice_buf_append(b, v->start, v->len);
        {
            char small[256];
            char *s = v->len <= sizeof(small) ? small : malloc(v->len);
            if (!s)
                return -1;
            rc = dump_escaped(b, s, js_string_decode(v, s));
            if (s != small)
                free(s);
            return rc;
        }
    case JS_ARRAY:
        if (sluice_buf_putc(b, '[') < 0)
            return -1;
        js_iter_init(&it, v);
        while (js_next(&it, NULL, &e)) {
            if (!first && sluice_buf_putc(b, ',') < 0)
                return -1;
            first = 0;
            if ((rc = dump_value(b, &e)) != 0)
                return rc;
        }
        return sluice_buf_putc(b, ']');
    case JS_OBJECT: {
        const char *ks[DUMP_KEYS_MAX];
        size_t kl[DUMP_KEYS_MAX], nk = 0, i;
        if (sluice_buf_putc(b, '{') < 0)
            return -1;
        js_iter_init(&it, v);
        while (js_next(&it, &k, &e)) {
            if (k.escaped || nk == DUMP_KEYS_MAX)
                return 1;
            for (i = 0; i < nk; i++)
                if (kl[i] == k.len && memcmp(ks[i], k.start, k.len) == 0)
                    return 1;
            ks[nk] = k.start;
            kl[nk++] = k.len;
            if ((!first && sluice_buf_putc(b, ',') < 0) ||
                sluice_buf_append(b, k.start, k.len) < 0 || sluice_buf_putc(b, ':') < 0)
                return -1;
            first = 0;
            if ((rc = dump_value(b, &e)) != 0)
                return rc;
        }
        return sluice_buf_putc(b, '}');
    }
    }
    return 1;
}

/* The value through jansson after all (a construct dump_value or this path
 * does not reproduce): parse just its span and use the reference
 * conversion. p NULL: schemaless. */
static int f_via_jansson(ctx_t *c, const jplan_t *p, const js_val_t *v, int top,
                         sluice_value_t *out)
{
    json_t *j = json_loadb(v->start, v->len, JSON_DECODE_ANY, NULL);
    int rc;

    if (!j)
        return -1;
    rc = p ? conv(c, p, j, top, out) : conv_plain(c, j, top, out);
    json_decref(j);
    return rc;
}

static int f_json_text(ctx_t *c, const jplan_t *p, const js_val_t *v, int top,
                       sluice_value_t *out)
{
    sluice_buf_t *b = &c->dec->scratch;
    int rc;

    sluice_buf_reset(b);
    rc = dump_value(b, v);
    if (rc > 0)
        return f_via_jansson(c, p, v, top, out);
    if (rc < 0)
        return -1;
    return set_str(c, out, SLUICE_VAL_JSON, b->data ? b->data : "", b->len);
}

/* map_is_placeholder(): 1 yes, 0 no, -2 ask jansson (duplicate keys) */
static int f_map_is_placeholder(const sluice_json_decoder_t *dec, const js_val_t *v)
{
    js_iter_t it;
    js_val_t k, e, k0, last;
    size_t n = 0;
    int same = 1;

    if (v->type != JS_OBJECT)
        return 0;
    js_iter_init(&it, v);
    while (js_next(&it, &k, &e)) {
        if (n == 0)
            k0 = k;
        else if (k.escaped || k0.escaped)
            return -2;
        else if (k.len != k0.len || memcmp(k.start, k0.start, k.len) != 0)
            same = 0;
        last = e;
        n++;
    }
    if (n == 0 || !same) /* size 0, or two distinct keys */
        return 0;
    return js_string_eq(&k0, dec->ph) && js_string_eq(&last, dec->ph);
}

/* array_is_placeholder() */
static int f_array_is_placeholder(const sluice_json_decoder_t *dec, const js_val_t *v, size_t n)
{
    js_iter_t it;
    js_val_t e;
    size_t i = 0;

    if (n == 1) {
        js_iter_init(&it, v);
        js_next(&it, NULL, &e);
        return js_string_eq(&e, dec->ph) || js_string_eq(&e, dec->ph_b64) ||
               js_string_eq(&e, dec->ph_uuid);
    }
    if (n != dec->ph_len || n == 0)
        return 0;
    js_iter_init(&it, v);
    while (js_next(&it, NULL, &e))
        if (!f_is_int(&e) || f_int(&e) != (unsigned char)dec->ph[i++])
            return 0;
    return 1;
}

static size_t f_count(const js_val_t *v)
{
    js_iter_t it;
    js_val_t e;
    size_t n = 0;

    js_iter_init(&it, v);
    while (js_next(&it, NULL, &e))
        n++;
    return n;
}

static int f_conv(ctx_t *c, const jplan_t *p, const js_val_t *v, int top, sluice_value_t *out);
static int f_conv_plain(ctx_t *c, const js_val_t *v, int top, sluice_value_t *out);

static int f_conv_array(ctx_t *c, const jplan_t *items, const js_val_t *v, size_t n,
                        sluice_value_t *out)
{
    sluice_value_t *vals = NULL;
    js_iter_t it;
    js_val_t e;
    size_t i = 0;

    if (n && !(vals = sluice_arena_calloc(&c->ev->arena, n, sizeof(*vals))))
        return -1;
    js_iter_init(&it, v);
    while (js_next(&it, NULL, &e)) {
        int rc = items ? f_conv(c, items, &e, 0, &vals[i]) : f_conv_plain(c, &e, 0, &vals[i]);
        if (rc < 0)
            return -1;
        i++;
    }
    out->kind = SLUICE_VAL_ARRAY;
    out->u.arr.items = vals;
    out->u.arr.n = n;
    return 0;
}

static int f_conv_plain(ctx_t *c, const js_val_t *v, int top, sluice_value_t *out)
{
    memset(out, 0, sizeof(*out));
    switch (v->type) {
    case JS_NULL:
        out->kind = SLUICE_VAL_NULL;
        return 0;
    case JS_TRUE:
    case JS_FALSE:
        out->kind = SLUICE_VAL_BOOL;
        out->u.b = v->type == JS_TRUE;
        return 0;
    case JS_NUMBER:
        if (v->is_int) {
            out->kind = SLUICE_VAL_INT;
            out->u.i = f_int(v);
        } else {
            out->kind = SLUICE_VAL_FLOAT;
            out->u.f = js_double(v);
        }
        return 0;
    case JS_STRING: {
        size_t n;
        const char *s = f_text(c, v, &n);
        if (!s)
            return -1;
        if (top && text_is_placeholder(c->dec, s, n)) {
            out->kind = SLUICE_VAL_UNAVAILABLE;
            return 0;
        }
        if (top && c->dec->precise_error && sluice_decode_looks_like_decimal(s, n))
            return -1;
        out->kind = SLUICE_VAL_TEXT;
        out->u.s.ptr = s;
        out->u.s.len = n;
        return 0;
    }
    case JS_ARRAY: {
        size_t n = f_count(v);
        if (top && f_array_is_placeholder(c->dec, v, n)) {
            out->kind = SLUICE_VAL_UNAVAILABLE;
            return 0;
        }
        return f_conv_array(c, NULL, v, n, out);
    }
    case JS_OBJECT:
        if (top) {
            int ph = f_map_is_placeholder(c->dec, v);
            if (ph < 0)
                return f_via_jansson(c, NULL, v, top, out);
            if (ph) {
                out->kind = SLUICE_VAL_UNAVAILABLE;
                return 0;
            }
        }
        return f_json_text(c, NULL, v, top, out);
    }
    return -1;
}

static int f_integer(ctx_t *c, const js_val_t *v, int64_t *out)
{
    if (f_is_int(v)) {
        *out = f_int(v);
        return 0;
    }
    if (v->type == JS_STRING) { /* the Debezium docs quote some ints */
        size_t n;
        const char *s = f_text(c, v, &n);
        char *end;
        if (!s)
            return -1;
        *out = strtoll(s, &end, 10);
        return end != s && !*end ? 0 : -1;
    }
    return -1;
}

/* Base64 string -> bytes in the arena (get_bytes). */
static int f_bytes(ctx_t *c, const js_val_t *v, unsigned char **bytes, size_t *n)
{
    const char *s;
    size_t len;
    unsigned char *b;
    long got;

    if (v->escaped) {
        if (!(s = f_text(c, v, &len)))
            return -1;
    } else {
        s = v->start + 1;
        len = v->len - 2;
    }
    b = sluice_arena_alloc(&c->ev->arena, len / 4 * 3 + 1);
    if (!b)
        return -1;
    got = sluice_decode_base64(s, len, b);
    if (got < 0)
        return -1;
    b[got] = '\0';
    *bytes = b;
    *n = (size_t)got;
    return 0;
}

static int f_bytes_value(ctx_t *c, const jplan_t *p, const js_val_t *v, int top,
                         sluice_value_t *out)
{
    unsigned char *b;
    size_t n;

    if (v->type != JS_STRING || f_bytes(c, v, &b, &n) < 0)
        return -1;
    if (top && n == c->dec->ph_len && memcmp(b, c->dec->ph, n) == 0) {
        out->kind = SLUICE_VAL_UNAVAILABLE;
        return 0;
    }
    if (p->tp.rule == SLUICE_RULE_DECIMAL)
        return decimal_from_bytes(c, b, n, p->tp.scale, out);
    if (p->tp.rule == SLUICE_RULE_BITS)
        return sluice_decode_bits(&c->ev->arena, b, n, p->tp.bits, out) < 0 ? -1 : 0;
    out->kind = SLUICE_VAL_BYTES;
    out->u.s.ptr = (const char *)b;
    out->u.s.len = n;
    return 0;
}

static int f_conv(ctx_t *c, const jplan_t *p, const js_val_t *v, int top, sluice_value_t *out)
{
    int64_t x;

    memset(out, 0, sizeof(*out));
    if (v->type == JS_NULL) {
        out->kind = SLUICE_VAL_NULL;
        return 0;
    }
    if (top && v->type == JS_STRING && js_string_eq(v, c->dec->ph)) {
        out->kind = SLUICE_VAL_UNAVAILABLE;
        return 0;
    }
    switch (p->tp.rule) {
    case SLUICE_RULE_INT:
        if (f_integer(c, v, &x) < 0)
            return -1;
        out->kind = SLUICE_VAL_INT;
        out->u.i = x;
        return 0;
    case SLUICE_RULE_DATE:
    case SLUICE_RULE_TIME_MS:
    case SLUICE_RULE_TIME_US:
    case SLUICE_RULE_TIME_NS:
    case SLUICE_RULE_TS_MS:
    case SLUICE_RULE_TS_US:
    case SLUICE_RULE_TS_NS:
        if (f_integer(c, v, &x) < 0)
            return -1;
        return sluice_decode_int_value(sluice_decode_rule_intsem(p->tp.rule), x, out);
    case SLUICE_RULE_INTERVAL_US:
        if (f_integer(c, v, &x) < 0)
            return -1;
        return sluice_decode_interval_us(&c->ev->arena, x, out);
    case SLUICE_RULE_FLOAT:
        out->kind = SLUICE_VAL_FLOAT;
        if (v->type == JS_NUMBER) {
            out->u.f = f_number(v);
            return 0;
        }
        if (js_string_eq(v, "NaN")) {
            out->u.f = NAN;
            return 0;
        }
        if (js_string_eq(v, "Infinity") || js_string_eq(v, "-Infinity")) {
            out->u.f = js_string_eq(v, "Infinity") ? INFINITY : -INFINITY;
            return 0;
        }
        return -1;
    case SLUICE_RULE_BOOL:
        if (v->type != JS_TRUE && v->type != JS_FALSE)
            return -1;
        out->kind = SLUICE_VAL_BOOL;
        out->u.b = v->type == JS_TRUE;
        return 0;
    case SLUICE_RULE_TEXT:
    case SLUICE_RULE_UUID:
    case SLUICE_RULE_TIMESTAMPTZ:
    case SLUICE_RULE_TIMETZ:
    case SLUICE_RULE_INTERVAL_ISO:
    case SLUICE_RULE_JSON: {
        size_t n;
        const char *s;
        if (v->type != JS_STRING || !(s = f_text(c, v, &n)))
            return -1;
        if (p->tp.rule == SLUICE_RULE_JSON && top && text_is_placeholder(c->dec, s, n)) {
            out->kind = SLUICE_VAL_UNAVAILABLE;
            return 0;
        }
        out->kind = p->tp.kind;
        out->u.s.ptr = s;
        out->u.s.len = n;
        return 0;
    }
    case SLUICE_RULE_DECIMAL_TEXT: {
        size_t n;
        const char *s;
        if (v->type == JS_NUMBER)
            return decimal_number(c, v->is_int, v->is_int ? (long long)f_int(v) : 0,
                                  v->is_int ? 0 : js_double(v), -1, out);
        if (v->type != JS_STRING || !(s = f_text(c, v, &n)))
            return -1;
        return sluice_decode_decimal_string(&c->ev->arena, s, n, out) < 0 ? -1 : 0;
    }
    case SLUICE_RULE_BYTES_TEXT: {
        size_t n;
        const char *s;
        unsigned char *b;
        long got;
        if (v->type != JS_STRING || !(s = f_text(c, v, &n)))
            return -1;
        if (!(b = sluice_arena_alloc(&c->ev->arena, n + 1)))
            return -1;
        got = sluice_types_decode_binary(s, n, c->dec->bin, b);
        if (got < 0)
            return -1;
        if (top && (size_t)got == c->dec->ph_len && memcmp(b, c->dec->ph, c->dec->ph_len) == 0) {
            out->kind = SLUICE_VAL_UNAVAILABLE;
            return 0;
        }
        b[got] = '\0';
        out->kind = SLUICE_VAL_BYTES;
        out->u.s.ptr = (const char *)b;
        out->u.s.len = (size_t)got;
        return 0;
    }
    case SLUICE_RULE_DECIMAL:
        if (v->type == JS_NUMBER) /* decimal.format=NUMERIC */
            return decimal_number(c, v->is_int, v->is_int ? (long long)f_int(v) : 0,
                                  v->is_int ? 0 : js_double(v), p->tp.scale, out);
        return f_bytes_value(c, p, v, top, out);
    case SLUICE_RULE_BYTES:
    case SLUICE_RULE_BITS:
        return f_bytes_value(c, p, v, top, out);
    case SLUICE_RULE_VSD: {
        js_val_t scale, value;
        int has_scale, has_value;
        unsigned char *b;
        size_t n;
        int64_t sc;
        if (v->type != JS_OBJECT)
            return -1;
        has_scale = js_get(v, "scale", &scale);
        has_value = js_get(v, "value", &value);
        if (!has_value || value.type == JS_NULL) {
            out->kind = SLUICE_VAL_NULL;
            return 0;
        }
        if (!has_scale || !f_is_int(&scale) || value.type != JS_STRING)
            return -1;
        sc = f_int(&scale);
        if (sc > SLUICE_DECIMAL_SCALE_MAX || sc < -SLUICE_DECIMAL_SCALE_MAX)
            return -1;
        if (f_bytes(c, &value, &b, &n) < 0)
            return -1;
        return decimal_from_bytes(c, b, n, (int32_t)sc, out);
    }
    case SLUICE_RULE_GEOMETRY:
    case SLUICE_RULE_POINT:
        return f_via_jansson(c, p, v, top, out);
    case SLUICE_RULE_ARRAY: {
        size_t n;
        if (v->type != JS_ARRAY)
            return -1;
        n = f_count(v);
        if (top && f_array_is_placeholder(c->dec, v, n)) {
            out->kind = SLUICE_VAL_UNAVAILABLE;
            return 0;
        }
        return f_conv_array(c, p->items, v, n, out);
    }
    case SLUICE_RULE_MAP:
        if (top) {
            int ph = f_map_is_placeholder(c->dec, v);
            if (ph < 0)
                return f_via_jansson(c, p, v, top, out);
            if (ph) {
                out->kind = SLUICE_VAL_UNAVAILABLE;
                return 0;
            }
        }
        if (v->type != JS_OBJECT && v->type != JS_ARRAY)
            return -1;
        return f_json_text(c, p, v, top, out);
    case SLUICE_RULE_STRUCT:
        if (v->type != JS_OBJECT)
            return -1;
        return f_json_text(c, p, v, top, out);
    }
    return -1;
}

/* ---------------------------------------------------------------------- */
/* walking the message: one validating pass that converts as it goes */

/* Members of an object not yet scanned: ow_next validates as it goes, the
 * caller scans (or walks) each value and sets w->p after it. */
typedef struct {
    const char *p, *end;
    int first;
} ow_t;

static void ow_init(ow_t *w, const char *brace, const char *end)
{
    w->p = brace + 1;
    w->end = end;
    w->first = 1;
}

/* 1: a member, key in *key, w->p at its value; 0: the object ended (w->p
 * after '}'); -1: malformed. */
static int ow_next(ow_t *w, js_val_t *key)
{
    const char *p = js_skip_ws(w->p, w->end);

    if (p >= w->end)
        return -1;
    if (*p == '}') {
        w->p = p + 1;
        return 0;
    }
    if (!w->first) {
        if (*p != ',')
            return -1;
        p = js_skip_ws(p + 1, w->end);
        if (p >= w->end)
            return -1;
    }
    w->first = 0;
    if (*p != '"' || !(p = js_value_at(p, w->end, 0, key, NULL)))
        return -1;
    p = js_skip_ws(p, w->end);
    if (p >= w->end || *p != ':')
        return -1;
    w->p = js_skip_ws(p + 1, w->end);
    return w->p < w->end ? 1 : -1;
}

/* Scans the member value at w->p (nested `depth` deep) into *v. */
static int ow_value(ow_t *w, int depth, js_val_t *v)
{
    const char *q = js_value_at(w->p, w->end, depth, v, NULL);

    if (!q)
        return -1;
    w->p = q;
    return 0;
}

/* A key as bytes: raw when it has no escape, else decoded into tmp. */
static int key_bytes(const js_val_t *k, char *tmp, size_t tmplen, const char **s, size_t *n)
{
    if (!k->escaped) {
        *s = k->start + 1;
        *n = k->len - 2;
        return 0;
    }
    if (k->len > tmplen)
        return -1;
    *n = js_string_decode(k, tmp);
    *s = tmp;
    return 0;
}

static int is_key(const char *s, size_t n, const char *lit, size_t litn)
{
    return n == litn && memcmp(s, lit, n) == 0;
}
#define IS_KEY(s, n, lit) is_key(s, n, lit, sizeof(lit) - 1)

static int row_index(const rowplan_t *rp, const char *s, size_t n, size_t guess)
{
    size_t k;

    if (guess < rp->n && rp->f[guess].len == n && memcmp(rp->f[guess].name, s, n) == 0)
        return (int)guess;
    for (k = name_hash(s, n) & (rp->nslots - 1); rp->slots[k]; k = (k + 1) & (rp->nslots - 1)) {
        const rfield_t *f = &rp->f[rp->slots[k] - 1];
        if (f->len == n && memcmp(f->name, s, n) == 0)
            return (int)rp->slots[k] - 1;
    }
    return -1;
}

/* The names and types of a planned row, copied into the event. */
static int row_types(ctx_t *c, const rowplan_t *rp, sluice_column_t *cols)
{
    unsigned char *b;
    sluice_coltype_t *ct;
    size_t i;

    if (!rp->n)
        return 0;
    if (!(b = sluice_arena_alloc(&c->ev->arena, rp->blob_len)))
        return -1;
    memcpy(b, rp->blob, rp->blob_len);
    ct = (sluice_coltype_t *)b;
    for (i = 0; i < rp->n; i++) {
        ct[i].pg_type = (const char *)b + rp->pg_off[i];
        ct[i].semantic = rp->sem_off[i] == SIZE_MAX ? NULL : (const char *)b + rp->sem_off[i];
        cols[i].name = (const char *)b + rp->name_off[i];
        cols[i].type = &ct[i];
    }
    return 0;
}

/* A row object at *pp (its '{'), `depth` deep, with a schema (conv_row). */
static int walk_row_plan(ctx_t *c, const rowplan_t *rp, const char **pp, const char *end,
                         int depth, sluice_row_t *row)
{
    sluice_column_t *cols = NULL;
    unsigned char small[256], *filled = small;
    size_t expect = 0, i;
    char tmp[256];
    ow_t w;
    js_val_t k, v;
    int r, rc = -1;

    memset(row, 0, sizeof(*row));
    if (!rp || !rp->ok)
        return -1;
    if (rp->n && !(cols = sluice_arena_calloc(&c->ev->arena, rp->n, sizeof(*cols))))
        return -1;
    if (rp->n > sizeof(small) && !(filled = sluice_arena_alloc(&c->ev->arena, rp->n)))
        return -1;
    memset(filled, 0, rp->n < sizeof(small) ? sizeof(small) : rp->n);
    ow_init(&w, *pp, end);
    while ((r = ow_next(&w, &k)) == 1) {
        const char *s;
        size_t n;
        int idx;
        if (key_bytes(&k, tmp, sizeof(tmp), &s, &n) < 0 ||
            (idx = row_index(rp, s, n, expect)) < 0 || filled[idx])
            goto out; /* undeclared or repeated column */
        filled[idx] = 1;
        expect = (size_t)idx + 1;
        if (ow_value(&w, depth + 1, &v) < 0 ||
            f_conv(c, rp->f[idx].plan, &v, 1, &cols[idx].value) < 0)
            goto out;
    }
    if (r < 0 || row_types(c, rp, cols) < 0)
        goto out;
    for (i = 0; i < rp->n; i++)
        if (!filled[i])
            cols[i].value.kind = SLUICE_VAL_NULL;
    row->cols = cols;
    row->ncols = rp->n;
    row->present = 1;
    *pp = w.p;
    rc = 0;
out:
    return rc;
}

/* A row object without a schema: columns in document order. */
static int walk_row_plain(ctx_t *c, const char **pp, const char *end, int depth, int root,
                          sluice_row_t *row)
{
    sluice_column_t *cols = NULL;
    size_t n = 0, cap = 0, i;
    ow_t w;
    js_val_t k, v;
    int r;

    memset(row, 0, sizeof(*row));
    ow_init(&w, *pp, end);
    while ((r = ow_next(&w, &k)) == 1) {
        size_t len;
        const char *name = f_text(c, &k, &len);
        if (!name)
            return -1;
        /* a key document {"schema", "payload"} would be split: not here */
        if (root && (IS_KEY(name, len, "schema") || IS_KEY(name, len, "payload")))
            return -1;
        for (i = 0; i < n; i++) /* jansson keeps one column per name */
            if (cols[i].name[0] == name[0] && strcmp(cols[i].name, name) == 0)
                return -1;
        if (n == cap) {
            sluice_column_t *more;
            cap = cap ? cap * 2 : 16;
            if (!(more = sluice_arena_calloc(&c->ev->arena, cap, sizeof(*more))))
                return -1;
            if (n)
                memcpy(more, cols, n * sizeof(*cols));
            cols = more;
        }
        cols[n].name = name;
        if (ow_value(&w, depth + 1, &v) < 0 || f_conv_plain(c, &v, 1, &cols[n].value) < 0)
            return -1;
        n++;
    }
    if (r < 0)
        return -1;
    row->cols = cols;
    row->ncols = n;
    row->present = 1;
    *pp = w.p;
    return 0;
}

/* The source block's members that parse_source reads. */
enum {
    S_CONNECTOR, S_NAME, S_DB, S_SCHEMA, S_TABLE, S_SNAPSHOT, S_TS_MS, S_TXID, S_FILE, S_POS,
    S_ROW, S_SEQUENCE, S_LSN, S_N
};

typedef struct {
    unsigned seen;
    js_val_t v[S_N];
} src_t;

static int source_key(const char *s, size_t n)
{
    switch (n) {
    case 2:
        return IS_KEY(s, n, "db") ? S_DB : -1;
    case 3:
        return IS_KEY(s, n, "pos") ? S_POS : IS_KEY(s, n, "row") ? S_ROW
               : IS_KEY(s, n, "lsn")                             ? S_LSN
                                                                 : -1;
    case 4:
        return IS_KEY(s, n, "name") ? S_NAME : IS_KEY(s, n, "txId") ? S_TXID
               : IS_KEY(s, n, "file")                               ? S_FILE
                                                                    : -1;
    case 5:
        return IS_KEY(s, n, "ts_ms") ? S_TS_MS : IS_KEY(s, n, "table") ? S_TABLE : -1;
    case 6:
        return IS_KEY(s, n, "schema") ? S_SCHEMA : -1;
    case 8:
        return IS_KEY(s, n, "snapshot") ? S_SNAPSHOT : IS_KEY(s, n, "sequence") ? S_SEQUENCE : -1;
    case 9:
        return IS_KEY(s, n, "connector") ? S_CONNECTOR : -1;
    }
    return -1;
}

static int walk_source(const char **pp, const char *end, int depth, src_t *src)
{
    ow_t w;
    js_val_t k, v;
    char tmp[64];
    int r;

    memset(src, 0, sizeof(*src));
    ow_init(&w, *pp, end);
    while ((r = ow_next(&w, &k)) == 1) {
        const char *s;
        size_t n;
        int id = -1;
        if (key_bytes(&k, tmp, sizeof(tmp), &s, &n) == 0)
            id = source_key(s, n);
        else
            return -1; /* a long escaped name: not worth it */
        if (ow_value(&w, depth + 1, &v) < 0)
            return -1;
        if (id >= 0) {
            if (src->seen & (1u << id))
                return -1; /* jansson keeps the last: leave it to it */
            src->seen |= 1u << id;
            src->v[id] = v;
        }
    }
    if (r < 0)
        return -1;
    *pp = w.p;
    return 0;
}

static const js_val_t *src_get(const src_t *src, int id)
{
    return src->seen & (1u << id) ? &src->v[id] : NULL;
}

/* get_str / get_int on a recorded member */
static int f_get_str(ctx_t *c, const js_val_t *v, const char **out)
{
    size_t n;

    *out = NULL;
    if (!v || v->type == JS_NULL)
        return 0;
    if (v->type != JS_STRING)
        return -1;
    return (*out = f_text(c, v, &n)) ? 0 : -1;
}

static int f_get_int(const js_val_t *v, int64_t dflt, int64_t *out)
{
    *out = dflt;
    if (!v || v->type == JS_NULL)
        return 0;
    if (!f_is_int(v))
        return -1;
    *out = f_int(v);
    return 0;
}

/* parse_source() on the recorded members */
static int f_source(ctx_t *c, const src_t *src)
{
    sluice_event_t *ev = c->ev;
    sluice_source_fields_t sf;
    const js_val_t *snap = src_get(src, S_SNAPSHOT), *seq, *lsn, *file;
    char why[SLUICE_ERR_MSG_MAX / 2];

    if (f_get_str(c, src_get(src, S_CONNECTOR), &ev->connector) < 0 ||
        f_get_str(c, src_get(src, S_NAME), &ev->server) < 0 ||
        f_get_str(c, src_get(src, S_DB), &ev->db) < 0 ||
        f_get_str(c, src_get(src, S_SCHEMA), &ev->schema) < 0 ||
        f_get_str(c, src_get(src, S_TABLE), &ev->table) < 0 ||
        f_get_int(src_get(src, S_TS_MS), 0, &ev->source_ts_ms) < 0 ||
        f_get_int(src_get(src, S_TXID), -1, &ev->tx_id) < 0)
        return -1;
    ev->snapshot = SLUICE_SNAPSHOT_FALSE;
    if (snap && snap->type != JS_NULL) {
        if (snap->type == JS_TRUE || snap->type == JS_FALSE) {
            ev->snapshot = snap->type == JS_TRUE ? SLUICE_SNAPSHOT_TRUE : SLUICE_SNAPSHOT_FALSE;
        } else {
            char tmp[64];
            const char *s;
            size_t n;
            if (snap->type != JS_STRING || key_bytes(snap, tmp, sizeof(tmp), &s, &n) < 0 ||
                sluice_decode_snapshot(s, n, &ev->snapshot) < 0)
                return -1;
        }
    }
    memset(&sf, 0, sizeof(sf));
    sf.connector = ev->connector;
    sf.mysql_fields = src_get(src, S_FILE) || src_get(src, S_POS);
    if (sf.mysql_fields || (ev->connector && (!strcmp(ev->connector, "mysql") ||
                                              !strcmp(ev->connector, "mariadb")))) {
        if (f_get_int(src_get(src, S_POS), 0, &sf.binpos) < 0 ||
            f_get_int(src_get(src, S_ROW), 0, &sf.row) < 0)
            return -1;
        file = src_get(src, S_FILE);
        if (file && file->type == JS_STRING && f_get_str(c, file, &sf.file) < 0)
            return -1;
    }
    seq = src_get(src, S_SEQUENCE);
    if (seq && seq->type == JS_STRING && f_get_str(c, seq, &sf.sequence) < 0)
        return -1;
    lsn = src_get(src, S_LSN);
    sf.has_lsn = lsn && f_is_int(lsn);
    sf.lsn = sf.has_lsn ? f_int(lsn) : 0;
    return sluice_decode_position(&sf, &ev->pos, why, sizeof(why)) < 0 ? -1 : 0;
}

/* The payload members decode_value reads. */
typedef struct {
    int has_op, has_source, has_ts, has_before, has_after, prefixed, source_obj;
    js_val_t op, ts_ms;
    src_t src;
} pl_t;

/* The envelope payload object at *pp, `depth` deep; root: it is the
 * document itself (no "schema" member). Rows convert as they come. */
static int walk_envelope(ctx_t *c, const centry_t *e, const char **pp, const char *end,
                         int depth, int root, pl_t *pl)
{
    sluice_event_t *ev = c->ev;
    ow_t w;
    js_val_t k, v;
    char tmp[256];
    int r;

    memset(pl, 0, sizeof(*pl));
    ow_init(&w, *pp, end);
    while ((r = ow_next(&w, &k)) == 1) {
        const char *s;
        size_t n;
        int *seen = NULL;
        sluice_row_t *row = NULL;
        const rowplan_t *rp = NULL;
        int declared = 1;
        if (key_bytes(&k, tmp, sizeof(tmp), &s, &n) < 0)
            return -1;
        /* has_prefixed(): even when the prefix makes it "op" (prefix "") */
        if (is_key(s, n, c->dec->pfx_op, c->dec->pfx_op_len) ||
            is_key(s, n, c->dec->pfx_deleted, c->dec->pfx_deleted_len))
            pl->prefixed = 1;
        if (IS_KEY(s, n, "before")) {
            seen = &pl->has_before;
            row = &ev->before;
            rp = e ? e->before : NULL;
            declared = e ? e->has_before : 1;
        } else if (IS_KEY(s, n, "after")) {
            seen = &pl->has_after;
            row = &ev->after;
            rp = e ? e->after : NULL;
            declared = e ? e->has_after : 1;
        } else if (IS_KEY(s, n, "source")) {
            seen = &pl->has_source;
        } else if (IS_KEY(s, n, "op")) {
            seen = &pl->has_op;
        } else if (IS_KEY(s, n, "ts_ms")) {
            seen = &pl->has_ts;
        } else if (root && (IS_KEY(s, n, "schema") || IS_KEY(s, n, "payload"))) {
            return -1;
        }
        if (seen) {
            if (*seen)
                return -1; /* a repeated member: jansson keeps the last */
            *seen = 1;
        }
        if (row && *w.p == '{') {
            if (!declared) /* a row the schema does not declare */
                return -1;
            if (e ? walk_row_plan(c, rp, &w.p, end, depth + 1, row) < 0
                  : walk_row_plain(c, &w.p, end, depth + 1, 0, row) < 0)
                return -1;
            continue;
        }
        if (seen == &pl->has_source && *w.p == '{') {
            if (walk_source(&w.p, end, depth + 1, &pl->src) < 0)
                return -1;
            pl->source_obj = 1;
            continue;
        }
        if (ow_value(&w, depth + 1, &v) < 0)
            return -1;
        if (row && v.type != JS_NULL)
            return -1; /* a row that is not an object */
        if (seen == &pl->has_op)
            pl->op = v;
        else if (seen == &pl->has_ts)
            pl->ts_ms = v;
    }
    if (r < 0)
        return -1;
    *pp = w.p;
    return 0;
}

/* decode_value() after the walk: classify, op, source, ts_ms. */
static int f_envelope(ctx_t *c, const centry_t *e, const pl_t *pl)
{
    sluice_event_t *ev = c->ev;
    char tmp[8];
    const char *s;
    size_t n;

    /* classify(): flattened records went elsewhere before the walk (YES) or
     * come back here as -2 (AUTO) */
    if (!(pl->has_op && pl->op.type == JS_STRING && pl->source_obj) &&
        c->dec->flattened == SLUICE_FLATTENED_AUTO && pl->prefixed)
        return -2;
    if ((e && e->control) || !pl->has_op)
        return -1;
    /* parse_op() */
    if (pl->op.type != JS_STRING || key_bytes(&pl->op, tmp, sizeof(tmp), &s, &n) < 0 || n != 1 ||
        !strchr("cudrt", s[0]))
        return -1; /* 'm' (message) too: the reference path does those */
    ev->op = (sluice_op_t)s[0];
    if (!pl->source_obj || f_source(c, &pl->src) < 0 ||
        f_get_int(pl->has_ts ? &pl->ts_ms : NULL, 0, &ev->ts_ms) < 0)
        return -1;
    return 0;
}

/* decode_flat(): the payload object at p is one row. */
static int f_flat(ctx_t *c, const centry_t *e, const char *p, const char *end, int depth,
                  int root)
{
    sluice_row_t all;
    char why[SLUICE_ERR_MSG_MAX / 2];

    if (e ? walk_row_plan(c, e->flat, &p, end, depth, &all) < 0
          : walk_row_plain(c, &p, end, depth, root, &all) < 0)
        return -1;
    return sluice_decode_flat_finish(c->ev, &all, c->dec->prefix, why, sizeof(why)) == 0 ? 0 : -1;
}

/* Restores the event to what it was on entry (the arena keeps what the
 * attempt allocated; that is only memory). */
static void f_undo(sluice_event_t *ev, const sluice_event_t *saved)
{
    sluice_arena_t arena = ev->arena;

    *ev = *saved;
    ev->arena = arena;
}

/* After the root object: nothing but whitespace. */
static int f_end(const char *p, const char *end)
{
    return js_skip_ws(p, end) == end ? 0 : -1;
}

/* The payload at *p (depth containers deep; root: it is the document) of a
 * value whose schema entry is e (NULL: no schema); *p moves past it. */
static int f_payload(ctx_t *c, const centry_t *e, const char **p, const char *end, int depth,
                     int root, pl_t *pl)
{
    js_val_t v;

    if (c->dec->flattened == SLUICE_FLATTENED_YES)
        return f_flat(c, e, *p, end, depth, root) < 0 ||
                       !(*p = js_value_at(*p, end, depth, &v, NULL))
                   ? -1
                   : 0;
    return walk_envelope(c, e, p, end, depth, root, pl);
}

/* What the payload walked into pl means (f_payload came first). */
static int f_finish(ctx_t *c, const centry_t *e, const pl_t *pl, const char *payload,
                    const char *end, int depth, int root)
{
    int rc;

    if (c->dec->flattened == SLUICE_FLATTENED_YES)
        return 0;
    rc = f_envelope(c, e, pl);
    if (rc == -2) { /* a flattened record after all: walk it as one row */
        memset(&c->ev->before, 0, sizeof(c->ev->before));
        memset(&c->ev->after, 0, sizeof(c->ev->after));
        return f_flat(c, e, payload, end, depth, root);
    }
    return rc;
}

static int fast_value(ctx_t *c, const char *buf, size_t len)
{
    const char *end = buf + len, *p = js_skip_ws(buf, end), *payload = NULL;
    const centry_t *e = NULL;
    int root = 0, depth = 1, rc;
    ow_t w;
    js_val_t k, v;
    pl_t pl;

    if (p >= end || *p != '{')
        return -1;
    ow_init(&w, p, end);
    if (ow_next(&w, &k) != 1)
        return -1;
    if (js_string_eq(&k, "schema")) {
        /* {"schema": S, "payload": P, ...}: S first, as JsonConverter writes */
        if (*w.p == '{') {
            if (!(e = schema_at(c->dec, CK_VALUE, w.p, end, &w.p)) || !e->env_ok)
                return -1;
        } else if (ow_value(&w, 1, &v) < 0 || v.type != JS_NULL) {
            return -1;
        }
        while ((rc = ow_next(&w, &k)) == 1) {
            if (js_string_eq(&k, "schema"))
                return -1;
            if (js_string_eq(&k, "payload")) {
                if (payload || *w.p != '{')
                    return -1;
                payload = w.p;
                if (f_payload(c, e, &w.p, end, 1, 0, &pl) < 0)
                    return -1;
                continue;
            }
            if (ow_value(&w, 1, &v) < 0)
                return -1;
        }
        if (rc < 0 || !payload)
            return -1;
    } else {
        /* no schema: the document is the payload */
        if (js_string_eq(&k, "payload"))
            return -1;
        root = 1;
        depth = 0;
        payload = p;
        w.p = p;
        if (f_payload(c, NULL, &w.p, end, 0, 1, &pl) < 0)
            return -1;
    }
    if (f_end(w.p, end) < 0)
        return -1;
    return f_finish(c, e, &pl, payload, end, depth, root);
}

/* fast_value of {"schema":S,"payload":P} held as S and P. */
static int fast_value_split(ctx_t *c, const char *s, size_t slen, const char *p, size_t plen)
{
    const char *end = p + plen, *q = p, *after;
    const centry_t *e;
    pl_t pl;

    if (!slen || *s != '{' || !plen || *p != '{')
        return -1;
    if (!(e = schema_at(c->dec, CK_VALUE, s, s + slen, &after)) || after != s + slen ||
        !e->env_ok)
        return -1;
    if (f_payload(c, e, &q, end, 1, 0, &pl) < 0 || q != end)
        return -1;
    return f_finish(c, e, &pl, p, end, 1, 0);
}

static int fast_key(ctx_t *c, const char *buf, size_t len)
{
    const char *end = buf + len, *p = js_skip_ws(buf, end);
    const centry_t *e = NULL;
    int have_payload = 0, rc;
    sluice_row_t row;
    ow_t w;
    js_val_t k, v;

    memset(&row, 0, sizeof(row));
    if (p >= end || *p != '{')
        return -1;
    ow_init(&w, p, end);
    if (ow_next(&w, &k) != 1)
        return -1;
    if (js_string_eq(&k, "schema")) {
        if (*w.p == '{') {
            if (!(e = schema_at(c->dec, CK_KEY, w.p, end, &w.p)) || !e->key)
                return -1;
        } else if (ow_value(&w, 1, &v) < 0 || v.type != JS_NULL) {
            return -1;
        }
        while ((rc = ow_next(&w, &k)) == 1) {
            if (js_string_eq(&k, "schema"))
                return -1;
            if (js_string_eq(&k, "payload")) {
                if (have_payload)
                    return -1;
                have_payload = 1;
                if (*w.p == '{') {
                    if (e ? walk_row_plan(c, e->key, &w.p, end, 1, &row) < 0
                          : walk_row_plain(c, &w.p, end, 1, 0, &row) < 0)
                        return -1;
                    continue;
                }
                if (ow_value(&w, 1, &v) < 0 || v.type != JS_NULL)
                    return -1;
                continue; /* null payload: no key columns */
            }
            if (ow_value(&w, 1, &v) < 0)
                return -1;
        }
        if (rc < 0 || !have_payload)
            return -1;
    } else {
        w.p = p;
        if (walk_row_plain(c, &w.p, end, 0, 1, &row) < 0)
            return -1;
    }
    if (f_end(w.p, end) < 0)
        return -1;
    c->ev->key = row;
    return 0;
}

/* fast_key of {"schema":S,"payload":P} held as S and P. */
static int fast_key_split(ctx_t *c, const char *s, size_t slen, const char *p, size_t plen)
{
    const char *end = p + plen, *q = p, *after;
    const centry_t *e;
    sluice_row_t row;
    js_val_t v;

    memset(&row, 0, sizeof(row));
    if (!slen || *s != '{' || !plen)
        return -1;
    if (!(e = schema_at(c->dec, CK_KEY, s, s + slen, &after)) || after != s + slen || !e->key)
        return -1;
    if (*p == '{') {
        if (walk_row_plan(c, e->key, &q, end, 1, &row) < 0)
            return -1;
    } else if (!(q = js_value_at(p, end, 1, &v, NULL)) || v.type != JS_NULL) {
        return -1; /* a null payload: no key columns */
    }
    if (f_end(q, end) < 0)
        return -1;
    c->ev->key = row;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* entry points */

enum { D_VALUE, D_SPLIT, D_KEY, D_KEY_SPLIT };

/* The fast path, else (or always, in reference mode) the reference path.
 * D_SPLIT, D_KEY_SPLIT: a value or key held split, a = schema, b = payload;
 * the reference path reads it joined, as it came. */
static int decode_entry(sluice_json_decoder_t *dec, int what, const char *a, size_t alen,
                        const char *b, size_t blen, sluice_event_t *ev, sluice_err_t *err)
{
    if (!dec->reference) {
        sluice_event_t saved = *ev;
        int key = what == D_KEY || what == D_KEY_SPLIT;
        ctx_t c = {dec, ev, err, key ? "key" : "value", NULL, NULL, 1};
        int rc = what == D_KEY         ? fast_key(&c, a, alen)
                 : what == D_KEY_SPLIT ? fast_key_split(&c, a, alen, b, blen)
                 : what == D_SPLIT     ? fast_value_split(&c, a, alen, b, blen)
                                       : fast_value(&c, a, alen);
        if (rc == 0) {
            dec->stats.fast++;
            sluice_event_mark_key_columns(ev);
            return 0;
        }
        f_undo(ev, &saved);
        dec->stats.fallback++;
    } else {
        dec->stats.reference++;
    }
    if (what == D_SPLIT || what == D_KEY_SPLIT) {
        size_t n = sluice_json_envelope_size(alen, blen);
        sluice_buf_reset(&dec->joined);
        if (sluice_buf_reserve(&dec->joined, n) < 0)
            return sluice_err_set(err, SLUICE_ERR_FATAL, "decode: out of memory");
        sluice_json_envelope_join(dec->joined.data, a, alen, b, blen);
        a = dec->joined.data;
        alen = n;
    }
    if (what == D_KEY || what == D_KEY_SPLIT)
        return ref_key(dec, a, alen, ev, err);
    return ref_value(dec, a, alen, ev, err);
}

int sluice_json_decoder_value(sluice_json_decoder_t *dec, const void *buf, size_t len,
                              sluice_event_t *ev, sluice_err_t *err)
{
    return decode_entry(dec, D_VALUE, buf, len, NULL, 0, ev, err);
}

int sluice_json_decoder_value_split(sluice_json_decoder_t *dec, const char *schema,
                                    size_t schema_len, const char *payload, size_t payload_len,
                                    sluice_event_t *ev, sluice_err_t *err)
{
    return decode_entry(dec, D_SPLIT, schema, schema_len, payload, payload_len, ev, err);
}

int sluice_json_decoder_key(sluice_json_decoder_t *dec, const void *buf, size_t len,
                            sluice_event_t *ev, sluice_err_t *err)
{
    return decode_entry(dec, D_KEY, buf, len, NULL, 0, ev, err);
}

int sluice_json_decoder_key_split(sluice_json_decoder_t *dec, const char *schema,
                                  size_t schema_len, const char *payload, size_t payload_len,
                                  sluice_event_t *ev, sluice_err_t *err)
{
    return decode_entry(dec, D_KEY_SPLIT, schema, schema_len, payload, payload_len, ev, err);
}

#define ENV_HEAD "{\"schema\":"
#define ENV_MID ",\"payload\":"

int sluice_json_envelope_split(const char *value, size_t len, const char *known, size_t known_len,
                               size_t *schema_off, size_t *schema_len, size_t *payload_off,
                               size_t *payload_len)
{
    const size_t head = sizeof(ENV_HEAD) - 1, mid = sizeof(ENV_MID) - 1;
    const char *s = value + head, *end = value + len, *after = NULL;
    size_t tail;
    js_val_t v;

    if (len < head + mid + 3 || memcmp(value, ENV_HEAD, head) != 0 || *s != '{' ||
        value[len - 1] != '}')
        return 0;
    if (known) {
        /* a Debezium schema names its table in its last bytes: those first */
        tail = known_len < 48 ? known_len : 48;
        if (!known_len || (size_t)(end - s) <= known_len + mid ||
            memcmp(s + known_len - tail, known + known_len - tail, tail) != 0 ||
            memcmp(s, known, known_len - tail) != 0)
            return 0;
        after = s + known_len;
    } else if (!(after = js_value_at(s, end, 1, &v, NULL)) || v.type != JS_OBJECT) {
        return 0;
    }
    if ((size_t)(end - after) < mid + 2 || memcmp(after, ENV_MID, mid) != 0)
        return 0;
    *schema_off = head;
    *schema_len = (size_t)(after - s);
    *payload_off = (size_t)(after + mid - value);
    *payload_len = len - 1 - *payload_off;
    return 1;
}

size_t sluice_json_envelope_size(size_t schema_len, size_t payload_len)
{
    return sizeof(ENV_HEAD) - 1 + schema_len + sizeof(ENV_MID) - 1 + payload_len + 1;
}

void sluice_json_envelope_join(char *out, const char *schema, size_t schema_len,
                               const char *payload, size_t payload_len)
{
    memcpy(out, ENV_HEAD, sizeof(ENV_HEAD) - 1);
    out += sizeof(ENV_HEAD) - 1;
    memcpy(out, schema, schema_len);
    out += schema_len;
    memcpy(out, ENV_MID, sizeof(ENV_MID) - 1);
    out += sizeof(ENV_MID) - 1;
    memcpy(out, payload, payload_len);
    out[payload_len] = '}';
}

