/* Decoded values -> PostgreSQL text input forms, for binding as text
 * parameters. Owns the calendar arithmetic (days/µs since 1970 -> proleptic
 * Gregorian dates with PostgreSQL's BC notation), float round-trip printing and
 * array-literal quoting. It does not know column types of the target table:
 * the caller picks the column, this module only renders the value. */
#include "sluice/types.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>

#include <jansson.h>

#include "decode_json_int.h"

/* Debezium's MicroTimestamp encodings of PostgreSQL 'infinity'/'-infinity'
 * (pgjdbc's DATE_POSITIVE_INFINITY / DATE_NEGATIVE_INFINITY). */
#define DBZ_TS_POS_INFINITY INT64_C(9223372036825200000)
#define DBZ_TS_NEG_INFINITY INT64_C(-9223372036832400000)

#define USEC_PER_DAY INT64_C(86400000000)

/* Far wider than PostgreSQL's own range (4713 BC .. 5874897 AD) and far from
 * int64 overflow in civil(); PostgreSQL rejects what lies in between. */
#define DAYS_LIMIT INT64_C(100000000000)

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;

    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* Days since 1970-01-01 -> proleptic Gregorian y/m/d (year 0 = 1 BC).
 * Howard Hinnant's civil_from_days, in int64. */
static void civil(int64_t days, int64_t *y, int *m, int *d)
{
    int64_t z = days + 719468;
    int64_t era = floordiv(z, 146097);
    int64_t doe = z - era * 146097;                                 /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);         /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                               /* [0, 11] */

    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Writes "YYYY-MM-DD" and returns whether the year is BC (suffix added by the
 * caller, after any time part, as PostgreSQL does). */
static int put_date(sluice_buf_t *out, int64_t days, int *bc)
{
    int64_t y;
    int m, d;

    civil(days, &y, &m, &d);
    *bc = y <= 0;
    if (*bc)
        y = 1 - y;
    return sluice_buf_printf(out, "%04" PRId64 "-%02d-%02d", y, m, d);
}

static int put_time(sluice_buf_t *out, int64_t us)
{
    int64_t secs = us / 1000000;

    return sluice_buf_printf(out, "%02d:%02d:%02d.%06d", (int)(secs / 3600),
                             (int)(secs / 60 % 60), (int)(secs % 60), (int)(us % 1000000));
}

static int put_float(sluice_buf_t *out, double f)
{
    char tmp[40];
    int prec;

    if (isnan(f))
        return sluice_buf_puts(out, "NaN");
    if (isinf(f))
        return sluice_buf_puts(out, f > 0 ? "Infinity" : "-Infinity");
    for (prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, f);
        if (strtod(tmp, NULL) == f)
            break;
    }
    return sluice_buf_puts(out, tmp);
}

static int put_hex(sluice_buf_t *out, const unsigned char *p, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    if (sluice_buf_reserve(out, 2 + 2 * len) < 0)
        return -1;
    out->data[out->len++] = '\\';
    out->data[out->len++] = 'x';
    for (i = 0; i < len; i++) {
        out->data[out->len++] = digits[p[i] >> 4];
        out->data[out->len++] = digits[p[i] & 15];
    }
    out->data[out->len] = '\0';
    return 0;
}

static int nomem(sluice_err_t *err)
{
    return sluice_err_set(err, SLUICE_ERR_TRANSIENT,
                          "types: out of memory formatting a value as PostgreSQL text");
}

/* The target column's type, when the caller knows it (pg_text_for). */
typedef enum { TGT_NONE = 0, TGT_POSTGIS, TGT_HSTORE, TGT_BYTEA, TGT_NUMERIC, TGT_POINT } tgt_t;

typedef struct {
    tgt_t tgt;
    sluice_binary_mode_t bin;
} fmt_t;

static const fmt_t FMT_DEFAULT = {TGT_NONE, SLUICE_BINARY_BYTES};

static int put_value(const sluice_value_t *v, const fmt_t *fmt, sluice_buf_t *out,
                     sluice_err_t *err);

/* Array element: NULL bare, nested arrays as nested braces, everything else
 * double-quoted with '"' and '\' backslash-escaped (always quoting is valid
 * and spares us PostgreSQL's rules for when quotes are needed). */
static int put_element(const sluice_value_t *v, const fmt_t *fmt, sluice_buf_t *out,
                       sluice_buf_t *tmp, sluice_err_t *err)
{
    size_t i;

    if (v->kind == SLUICE_VAL_NULL)
        return sluice_buf_puts(out, "NULL") < 0 ? nomem(err) : 0;
    if (v->kind == SLUICE_VAL_ARRAY)
        return put_value(v, fmt, out, err);
    if (v->kind == SLUICE_VAL_UNAVAILABLE)
        return sluice_err_set(err, SLUICE_ERR_PERMANENT,
                              "types: an array element holds the unavailable-value "
                              "placeholder; only a whole column can be unavailable");
    sluice_buf_reset(tmp);
    if (put_value(v, fmt, tmp, err) < 0)
        return -1;
    if (sluice_buf_reserve(out, 2 * tmp->len + 2) < 0)
        return nomem(err);
    out->data[out->len++] = '"';
    for (i = 0; i < tmp->len; i++) {
        char c = tmp->data[i];
        if (c == '"' || c == '\\')
            out->data[out->len++] = '\\';
        out->data[out->len++] = c;
    }
    out->data[out->len++] = '"';
    out->data[out->len] = '\0';
    return 0;
}

static int put_array(const sluice_value_t *v, const fmt_t *fmt, sluice_buf_t *out,
                     sluice_err_t *err)
{
    sluice_buf_t tmp;
    size_t i;
    int rc = 0;

    sluice_buf_init(&tmp);
    if (sluice_buf_putc(out, '{') < 0)
        rc = nomem(err);
    for (i = 0; rc == 0 && i < v->u.arr.n; i++) {
        if (i > 0 && sluice_buf_putc(out, ',') < 0)
            rc = nomem(err);
        else
            rc = put_element(&v->u.arr.items[i], fmt, out, &tmp, err);
    }
    if (rc == 0 && sluice_buf_putc(out, '}') < 0)
        rc = nomem(err);
    sluice_buf_cleanup(&tmp);
    return rc;
}

static int put_datetime(const sluice_value_t *v, sluice_buf_t *out, sluice_err_t *err)
{
    int64_t days, us;
    int bc = 0;

    if (v->kind == SLUICE_VAL_DATE) {
        if (v->u.i > DAYS_LIMIT || v->u.i < -DAYS_LIMIT)
            return sluice_err_set(err, SLUICE_ERR_PERMANENT,
                                  "types: date %" PRId64 " days from 1970-01-01 is out of "
                                  "range for PostgreSQL", v->u.i);
        if (put_date(out, v->u.i, &bc) < 0)
            return nomem(err);
        return bc && sluice_buf_puts(out, " BC") < 0 ? nomem(err) : 0;
    }
    if (v->kind == SLUICE_VAL_TIME) {
        if (v->u.i < 0 || v->u.i > USEC_PER_DAY)
            return sluice_err_set(err, SLUICE_ERR_PERMANENT,
                                  "types: time %" PRId64 " µs past midnight is outside "
                                  "00:00:00..24:00:00", v->u.i);
        return put_time(out, v->u.i) < 0 ? nomem(err) : 0;
    }
    /* SLUICE_VAL_TIMESTAMP */
    if (v->u.i == DBZ_TS_POS_INFINITY)
        return sluice_buf_puts(out, "infinity") < 0 ? nomem(err) : 0;
    if (v->u.i == DBZ_TS_NEG_INFINITY)
        return sluice_buf_puts(out, "-infinity") < 0 ? nomem(err) : 0;
    days = floordiv(v->u.i, USEC_PER_DAY);
    us = v->u.i % USEC_PER_DAY; /* not v - days * USEC_PER_DAY: overflows at INT64_MIN */
    if (us < 0)
        us += USEC_PER_DAY;
    if (put_date(out, days, &bc) < 0 || sluice_buf_putc(out, ' ') < 0 || put_time(out, us) < 0)
        return nomem(err);
    return bc && sluice_buf_puts(out, " BC") < 0 ? nomem(err) : 0;
}

static int put_targeted(const sluice_value_t *v, const fmt_t *fmt, sluice_buf_t *out,
                        sluice_err_t *err, int *done);

static int put_value(const sluice_value_t *v, const fmt_t *fmt, sluice_buf_t *out,
                     sluice_err_t *err)
{
    int rc, done = 0;

    if (fmt->tgt != TGT_NONE && v->kind != SLUICE_VAL_ARRAY) {
        rc = put_targeted(v, fmt, out, err, &done);
        if (done || rc < 0)
            return rc;
    }
    switch (v->kind) {
    case SLUICE_VAL_BOOL:
        rc = sluice_buf_putc(out, v->u.b ? 't' : 'f');
        break;
    case SLUICE_VAL_INT:
        rc = sluice_buf_put_int64(out, v->u.i);
        break;
    case SLUICE_VAL_FLOAT:
        rc = put_float(out, v->u.f);
        break;
    case SLUICE_VAL_DECIMAL:
    case SLUICE_VAL_TEXT:
    case SLUICE_VAL_JSON:
    case SLUICE_VAL_UUID:
    case SLUICE_VAL_TIMESTAMPTZ:
    case SLUICE_VAL_TIMETZ:
    case SLUICE_VAL_INTERVAL:
    case SLUICE_VAL_BITS:
        rc = sluice_buf_append(out, v->u.s.ptr, v->u.s.len);
        break;
    case SLUICE_VAL_BYTES:
    case SLUICE_VAL_GEOMETRY:
        rc = put_hex(out, (const unsigned char *)v->u.s.ptr, v->u.s.len);
        break;
    case SLUICE_VAL_DATE:
    case SLUICE_VAL_TIME:
    case SLUICE_VAL_TIMESTAMP:
        return put_datetime(v, out, err);
    case SLUICE_VAL_ARRAY:
        return put_array(v, fmt, out, err);
    case SLUICE_VAL_NULL:
    case SLUICE_VAL_UNAVAILABLE:
        return sluice_err_set(err, SLUICE_ERR_PERMANENT,
                              "types: a %s value has no text form; bind NULL or leave the "
                              "column out instead (caller bug)",
                              sluice_value_kind_name(v->kind));
    default:
        return sluice_err_set(err, SLUICE_ERR_PERMANENT,
                              "types: unknown value kind %d (caller bug)", (int)v->kind);
    }
    return rc < 0 ? nomem(err) : 0;
}

int sluice_types_pg_text(const sluice_value_t *v, sluice_buf_t *out, sluice_err_t *err)
{
    size_t mark = out->len;

    if (put_value(v, &FMT_DEFAULT, out, err) < 0) {
        /* leave out as it was: a half-written value must never be bound */
        out->len = mark;
        if (out->cap)
            out->data[mark] = '\0';
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------- */
/* binary text encodings (binary.handling.mode) */

static int b64_digit(unsigned char ch, int url)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == (url ? '-' : '+'))
        return 62;
    if (ch == (url ? '_' : '/'))
        return 63;
    return -1;
}

static int hex_digit(unsigned char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

long sluice_types_decode_binary(const char *in, size_t len, sluice_binary_mode_t mode,
                                unsigned char *out)
{
    size_t i, o = 0;
    unsigned acc = 0;
    int nbits = 0, url = mode == SLUICE_BINARY_BASE64_URL_SAFE;

    if (mode == SLUICE_BINARY_HEX) {
        if (len % 2)
            return -1;
        for (i = 0; i < len; i += 2) {
            int hi = hex_digit((unsigned char)in[i]), lo = hex_digit((unsigned char)in[i + 1]);
            if (hi < 0 || lo < 0)
                return -1;
            out[o++] = (unsigned char)(hi << 4 | lo);
        }
        return (long)o;
    }
    /* base64: padding optional for the URL-safe alphabet (Java's URL
     * encoder keeps it, others drop it), required to be last when present */
    while (len > 0 && in[len - 1] == '=')
        len--;
    if (!url && (len + (size_t)0) % 4 == 1)
        return -1;
    for (i = 0; i < len; i++) {
        int d = b64_digit((unsigned char)in[i], url);
        if (d < 0)
            return -1;
        acc = (acc << 6 | (unsigned)d) & 0xffffff;
        nbits += 6;
        if (nbits >= 8) {
            nbits -= 8;
            out[o++] = (unsigned char)(acc >> nbits);
        }
    }
    if (len % 4 == 1)
        return -1;
    return (long)o;
}

int sluice_binary_mode_parse(const char *s)
{
    if (!s || !*s || !strcmp(s, "bytes"))
        return SLUICE_BINARY_BYTES;
    if (!strcmp(s, "base64"))
        return SLUICE_BINARY_BASE64;
    if (!strcmp(s, "base64-url-safe"))
        return SLUICE_BINARY_BASE64_URL_SAFE;
    if (!strcmp(s, "hex"))
        return SLUICE_BINARY_HEX;
    return -1;
}

int sluice_decimal_mode_parse(const char *s)
{
    if (!s || !*s || !strcmp(s, "precise"))
        return SLUICE_DECIMAL_PRECISE;
    if (!strcmp(s, "string"))
        return SLUICE_DECIMAL_STRING;
    if (!strcmp(s, "double"))
        return SLUICE_DECIMAL_DOUBLE;
    return -1;
}

/* ---------------------------------------------------------------------- */
/* rendering for a known target column type */

static int put_hstore_string(sluice_buf_t *out, const char *s, size_t len)
{
    size_t i;

    if (sluice_buf_putc(out, '"') < 0)
        return -1;
    for (i = 0; i < len; i++) {
        if ((s[i] == '"' || s[i] == '\\') && sluice_buf_putc(out, '\\') < 0)
            return -1;
        if (sluice_buf_putc(out, s[i]) < 0)
            return -1;
    }
    return sluice_buf_putc(out, '"');
}

/* JSON object text -> hstore text; non-string values keep their JSON text */
static int put_hstore(const sluice_value_t *v, sluice_buf_t *out, sluice_err_t *err)
{
    json_t *doc = json_loadb(v->u.s.ptr, v->u.s.len, 0, NULL);
    const char *k;
    json_t *jv;
    int first = 1, rc = 0;

    if (!json_is_object(doc)) {
        json_decref(doc);
        return sluice_err_set(err, SLUICE_ERR_PERMANENT,
                              "types: an hstore column needs a JSON object of strings, got %.80s",
                              v->u.s.ptr);
    }
    json_object_foreach(doc, k, jv) {
        if (rc == 0 && !first)
            rc = sluice_buf_puts(out, ", ");
        first = 0;
        if (rc == 0)
            rc = put_hstore_string(out, k, strlen(k));
        if (rc == 0)
            rc = sluice_buf_puts(out, "=>");
        if (rc < 0)
            break;
        if (json_is_null(jv)) {
            rc = sluice_buf_puts(out, "NULL");
        } else if (json_is_string(jv)) {
            rc = put_hstore_string(out, json_string_value(jv), json_string_length(jv));
        } else {
            char *t = json_dumps(jv, JSON_COMPACT | JSON_ENCODE_ANY);
            rc = t ? put_hstore_string(out, t, strlen(t)) : -1;
            free(t);
        }
    }
    json_decref(doc);
    return rc < 0 ? nomem(err) : 0;
}

static int put_point_json(const sluice_value_t *v, sluice_buf_t *out, sluice_err_t *err,
                          int *done)
{
    json_t *doc = json_loadb(v->u.s.ptr, v->u.s.len, 0, NULL);
    json_t *x = json_object_get(doc, "x"), *y = json_object_get(doc, "y");
    int rc = 0;

    if (json_is_number(x) && json_is_number(y)) {
        *done = 1;
        if (sluice_buf_putc(out, '(') < 0 || put_float(out, json_number_value(x)) < 0 ||
            sluice_buf_putc(out, ',') < 0 || put_float(out, json_number_value(y)) < 0 ||
            sluice_buf_putc(out, ')') < 0)
            rc = nomem(err);
    }
    json_decref(doc);
    return rc;
}

static int put_targeted(const sluice_value_t *v, const fmt_t *fmt, sluice_buf_t *out,
                        sluice_err_t *err, int *done)
{
    *done = 0;
    switch (fmt->tgt) {
    case TGT_POSTGIS:
        if (v->kind == SLUICE_VAL_GEOMETRY || v->kind == SLUICE_VAL_BYTES) {
            size_t mark = out->len;
            *done = 1;
            if (put_hex(out, (const unsigned char *)v->u.s.ptr, v->u.s.len) < 0)
                return nomem(err);
            /* drop the "\x": PostGIS reads bare hex (E)WKB */
            memmove(out->data + mark, out->data + mark + 2, out->len - mark - 2);
            out->len -= 2;
            out->data[out->len] = '\0';
        }
        return 0;
    case TGT_HSTORE:
        if (v->kind == SLUICE_VAL_JSON) {
            *done = 1;
            return put_hstore(v, out, err);
        }
        return 0;
    case TGT_BYTEA:
        if (v->kind == SLUICE_VAL_TEXT) {
            unsigned char *b = malloc(v->u.s.len + 1);
            long n;
            int rc;
            if (!b)
                return nomem(err);
            n = sluice_types_decode_binary(v->u.s.ptr, v->u.s.len,
                                           fmt->bin == SLUICE_BINARY_BYTES ? SLUICE_BINARY_BASE64
                                                                           : fmt->bin,
                                           b);
            if (n < 0) {
                free(b);
                return sluice_err_set(err, SLUICE_ERR_PERMANENT,
                                      "types: a bytea column received text that is not %s "
                                      "(binary.handling.mode); refusing to store the text as "
                                      "bytes: %.60s",
                                      fmt->bin == SLUICE_BINARY_HEX ? "hex" : "base64",
                                      v->u.s.ptr);
            }
            *done = 1;
            rc = put_hex(out, b, (size_t)n);
            free(b);
            return rc < 0 ? nomem(err) : 0;
        }
        return 0;
    case TGT_NUMERIC:
        if (v->kind == SLUICE_VAL_TEXT || v->kind == SLUICE_VAL_DECIMAL) {
            const char *s = NULL;
            if (!strcmp(v->u.s.ptr, "NAN"))
                s = "NaN";
            else if (!strcmp(v->u.s.ptr, "POSITIVE_INFINITY"))
                s = "Infinity";
            else if (!strcmp(v->u.s.ptr, "NEGATIVE_INFINITY"))
                s = "-Infinity";
            if (s) {
                *done = 1;
                return sluice_buf_puts(out, s) < 0 ? nomem(err) : 0;
            }
        }
        return 0;
    case TGT_POINT:
        if (v->kind == SLUICE_VAL_JSON)
            return put_point_json(v, out, err, done);
        return 0;
    case TGT_NONE:
        return 0;
    }
    return 0;
}

static tgt_t parse_target(const char *t)
{
    static const struct {
        const char *prefix;
        tgt_t tgt;
    } map[] = {{"geometry", TGT_POSTGIS}, {"geography", TGT_POSTGIS}, {"public.geometry", TGT_POSTGIS},
               {"public.geography", TGT_POSTGIS}, {"hstore", TGT_HSTORE}, {"public.hstore", TGT_HSTORE},
               {"bytea", TGT_BYTEA}, {"numeric", TGT_NUMERIC}, {"decimal", TGT_NUMERIC},
               {"money", TGT_NUMERIC}, {"point", TGT_POINT}};
    size_t i, n;

    if (!t)
        return TGT_NONE;
    while (*t == ' ')
        t++;
    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        n = strlen(map[i].prefix);
        if (strncasecmp(t, map[i].prefix, n) == 0 &&
            (t[n] == '\0' || t[n] == '(' || t[n] == '[' || t[n] == ' '))
            return map[i].tgt;
    }
    return TGT_NONE;
}

int sluice_types_pg_target(const char *target)
{
    return (int)parse_target(target);
}

int sluice_types_pg_text_for(const sluice_value_t *v, const char *target,
                             sluice_binary_mode_t binary_mode, sluice_buf_t *out,
                             sluice_err_t *err)
{
    return sluice_types_pg_text_as(v, sluice_types_pg_target(target), binary_mode, out, err);
}

int sluice_types_pg_text_as(const sluice_value_t *v, int target, sluice_binary_mode_t binary_mode,
                            sluice_buf_t *out, sluice_err_t *err)
{
    fmt_t fmt;
    size_t mark = out->len;

    fmt.tgt = (tgt_t)target;
    fmt.bin = binary_mode;
    if (put_value(v, &fmt, out, err) < 0) {
        out->len = mark;
        if (out->cap)
            out->data[mark] = '\0';
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------- */
/* the type table */

static const char *const ct_names[] = {"(none)", "int8",  "int16",   "int32",  "int64",
                                       "float32", "float64", "boolean", "string", "bytes",
                                       "array",  "map",   "struct"};

sluice_connect_type_t sluice_connect_type_parse(const char *s)
{
    static const struct {
        const char *name;
        sluice_connect_type_t t;
    } alias[] = {{"float", SLUICE_CT_FLOAT32}, {"double", SLUICE_CT_FLOAT64},
                 {"bool", SLUICE_CT_BOOLEAN}};
    size_t i;

    if (!s)
        return SLUICE_CT_NONE;
    for (i = 1; i < sizeof(ct_names) / sizeof(ct_names[0]); i++)
        if (strcasecmp(s, ct_names[i]) == 0)
            return (sluice_connect_type_t)i;
    for (i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
        if (strcasecmp(s, alias[i].name) == 0)
            return alias[i].t;
    return SLUICE_CT_NONE;
}

const char *sluice_connect_type_name(sluice_connect_type_t t)
{
    if ((size_t)t < sizeof(ct_names) / sizeof(ct_names[0]))
        return ct_names[t];
    return "(unknown)";
}

void sluice_type_in_init(sluice_type_in_t *in)
{
    memset(in, 0, sizeof(*in));
    in->scale = in->precision = in->length = -1;
    in->source_length = in->source_scale = -1;
}

/* pg flags: how the PostgreSQL type takes parameters */
#define PG_PLAIN 0
#define PG_NUMERIC_PS 1 /* numeric(precision,scale) when the precision is known */
#define PG_BITS_N 2     /* bit varying(length) when the length is known */

/* THE table: semantic name (NULL: none, i.e. the physical type's default)
 * + physical type -> decode rule, value kind, PostgreSQL type. First match
 * wins; semantic rows come first. A semantic name on the wrong physical type
 * falls through to the physical default. */
static const struct type_row {
    const char *name;
    sluice_connect_type_t type;
    sluice_type_rule_t rule;
    sluice_value_kind_t kind;
    const char *pg;
    int pgflags;
} type_table[] = {
    /* numbers */
    {"org.apache.kafka.connect.data.Decimal", SLUICE_CT_BYTES, SLUICE_RULE_DECIMAL, SLUICE_VAL_DECIMAL, "numeric", PG_NUMERIC_PS},
    {"io.debezium.data.VariableScaleDecimal", SLUICE_CT_STRUCT, SLUICE_RULE_VSD, SLUICE_VAL_DECIMAL, "numeric", PG_PLAIN},
    /* dates and times: no zone shifts anywhere */
    {"io.debezium.time.Date", SLUICE_CT_INT32, SLUICE_RULE_DATE, SLUICE_VAL_DATE, "date", PG_PLAIN},
    {"org.apache.kafka.connect.data.Date", SLUICE_CT_INT32, SLUICE_RULE_DATE, SLUICE_VAL_DATE, "date", PG_PLAIN},
    {"io.debezium.time.Time", SLUICE_CT_INT32, SLUICE_RULE_TIME_MS, SLUICE_VAL_TIME, "time", PG_PLAIN},
    {"org.apache.kafka.connect.data.Time", SLUICE_CT_INT32, SLUICE_RULE_TIME_MS, SLUICE_VAL_TIME, "time", PG_PLAIN},
    {"io.debezium.time.MicroTime", SLUICE_CT_INT64, SLUICE_RULE_TIME_US, SLUICE_VAL_TIME, "time", PG_PLAIN},
    {"io.debezium.time.NanoTime", SLUICE_CT_INT64, SLUICE_RULE_TIME_NS, SLUICE_VAL_TIME, "time", PG_PLAIN},
    {"io.debezium.time.Timestamp", SLUICE_CT_INT64, SLUICE_RULE_TS_MS, SLUICE_VAL_TIMESTAMP, "timestamp", PG_PLAIN},
    {"org.apache.kafka.connect.data.Timestamp", SLUICE_CT_INT64, SLUICE_RULE_TS_MS, SLUICE_VAL_TIMESTAMP, "timestamp", PG_PLAIN},
    {"io.debezium.time.MicroTimestamp", SLUICE_CT_INT64, SLUICE_RULE_TS_US, SLUICE_VAL_TIMESTAMP, "timestamp", PG_PLAIN},
    {"io.debezium.time.NanoTimestamp", SLUICE_CT_INT64, SLUICE_RULE_TS_NS, SLUICE_VAL_TIMESTAMP, "timestamp", PG_PLAIN},
    {"io.debezium.time.ZonedTimestamp", SLUICE_CT_STRING, SLUICE_RULE_TIMESTAMPTZ, SLUICE_VAL_TIMESTAMPTZ, "timestamptz", PG_PLAIN},
    {"io.debezium.time.ZonedTime", SLUICE_CT_STRING, SLUICE_RULE_TIMETZ, SLUICE_VAL_TIMETZ, "timetz", PG_PLAIN},
    {"io.debezium.time.Year", SLUICE_CT_INT32, SLUICE_RULE_INT, SLUICE_VAL_INT, "int4", PG_PLAIN},
    {"io.debezium.time.MicroDuration", SLUICE_CT_INT64, SLUICE_RULE_INTERVAL_US, SLUICE_VAL_INTERVAL, "interval", PG_PLAIN},
    {"io.debezium.time.Interval", SLUICE_CT_STRING, SLUICE_RULE_INTERVAL_ISO, SLUICE_VAL_INTERVAL, "interval", PG_PLAIN},
    /* strings with a meaning */
    {"io.debezium.data.Json", SLUICE_CT_STRING, SLUICE_RULE_JSON, SLUICE_VAL_JSON, "jsonb", PG_PLAIN},
    {"io.debezium.data.Uuid", SLUICE_CT_STRING, SLUICE_RULE_UUID, SLUICE_VAL_UUID, "uuid", PG_PLAIN},
    {"io.debezium.data.Xml", SLUICE_CT_STRING, SLUICE_RULE_TEXT, SLUICE_VAL_TEXT, "xml", PG_PLAIN},
    {"io.debezium.data.Enum", SLUICE_CT_STRING, SLUICE_RULE_TEXT, SLUICE_VAL_TEXT, "text", PG_PLAIN},
    {"io.debezium.data.EnumSet", SLUICE_CT_STRING, SLUICE_RULE_TEXT, SLUICE_VAL_TEXT, "text", PG_PLAIN},
    {"io.debezium.data.Ltree", SLUICE_CT_STRING, SLUICE_RULE_TEXT, SLUICE_VAL_TEXT, "ltree", PG_PLAIN},
    {"io.debezium.data.TsVector", SLUICE_CT_STRING, SLUICE_RULE_TEXT, SLUICE_VAL_TEXT, "tsvector", PG_PLAIN},
    /* bits and shapes */
    {"io.debezium.data.Bits", SLUICE_CT_BYTES, SLUICE_RULE_BITS, SLUICE_VAL_BITS, "bit varying", PG_BITS_N},
    {"io.debezium.data.geometry.Geometry", SLUICE_CT_STRUCT, SLUICE_RULE_GEOMETRY, SLUICE_VAL_GEOMETRY, "bytea", PG_PLAIN},
    {"io.debezium.data.geometry.Geography", SLUICE_CT_STRUCT, SLUICE_RULE_GEOMETRY, SLUICE_VAL_GEOMETRY, "bytea", PG_PLAIN},
    {"io.debezium.data.geometry.Point", SLUICE_CT_STRUCT, SLUICE_RULE_POINT, SLUICE_VAL_TEXT, "point", PG_PLAIN},
    /* physical defaults */
    {NULL, SLUICE_CT_INT8, SLUICE_RULE_INT, SLUICE_VAL_INT, "int2", PG_PLAIN},
    {NULL, SLUICE_CT_INT16, SLUICE_RULE_INT, SLUICE_VAL_INT, "int2", PG_PLAIN},
    {NULL, SLUICE_CT_INT32, SLUICE_RULE_INT, SLUICE_VAL_INT, "int4", PG_PLAIN},
    {NULL, SLUICE_CT_INT64, SLUICE_RULE_INT, SLUICE_VAL_INT, "int8", PG_PLAIN},
    {NULL, SLUICE_CT_FLOAT32, SLUICE_RULE_FLOAT, SLUICE_VAL_FLOAT, "float4", PG_PLAIN},
    {NULL, SLUICE_CT_FLOAT64, SLUICE_RULE_FLOAT, SLUICE_VAL_FLOAT, "float8", PG_PLAIN},
    {NULL, SLUICE_CT_BOOLEAN, SLUICE_RULE_BOOL, SLUICE_VAL_BOOL, "bool", PG_PLAIN},
    {NULL, SLUICE_CT_STRING, SLUICE_RULE_TEXT, SLUICE_VAL_TEXT, "text", PG_PLAIN},
    {NULL, SLUICE_CT_BYTES, SLUICE_RULE_BYTES, SLUICE_VAL_BYTES, "bytea", PG_PLAIN},
    {NULL, SLUICE_CT_MAP, SLUICE_RULE_MAP, SLUICE_VAL_JSON, "jsonb", PG_PLAIN},
    {NULL, SLUICE_CT_STRUCT, SLUICE_RULE_STRUCT, SLUICE_VAL_JSON, "jsonb", PG_PLAIN},
    {NULL, SLUICE_CT_ARRAY, SLUICE_RULE_ARRAY, SLUICE_VAL_ARRAY, "text[]", PG_PLAIN},
    {NULL, SLUICE_CT_NONE, SLUICE_RULE_TEXT, SLUICE_VAL_TEXT, "text", PG_PLAIN},
};

/* column.propagate.source.type: refinements by the source column's type */
static int src_is(const sluice_type_in_t *in, const char *const *names)
{
    size_t i;

    if (!in->source_type)
        return 0;
    for (i = 0; names[i]; i++)
        if (strcasecmp(in->source_type, names[i]) == 0)
            return 1;
    return 0;
}

static const char *const SRC_NUMERIC[] = {"NUMERIC", "DECIMAL", "MONEY", NULL};
static const char *const SRC_BINARY[] = {"BYTEA", "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB",
                                         "BINARY", "VARBINARY", "RAW", "LONG RAW", NULL};
static const char *const SRC_VARCHAR[] = {"VARCHAR", "CHARACTER VARYING", NULL};
static const char *const SRC_BPCHAR[] = {"BPCHAR", "CHAR", "CHARACTER", NULL};
static const char *const SRC_KEEP[] = {"INET", "CIDR", "MACADDR", "MACADDR8", "XML", "TSVECTOR",
                                       "INT4RANGE", "INT8RANGE", "NUMRANGE", "TSRANGE",
                                       "TSTZRANGE", "DATERANGE", "JSON", NULL};

void sluice_types_resolve(const sluice_type_in_t *in, const sluice_type_opts_t *opts,
                          const sluice_type_plan_t *elem, const char *elem_pg_type,
                          sluice_type_plan_t *plan, char *pg_type, size_t pglen)
{
    const struct type_row *row = NULL;
    sluice_binary_mode_t bin = opts ? opts->binary_mode : SLUICE_BINARY_BYTES;
    size_t i;

    for (i = 0; i < sizeof(type_table) / sizeof(type_table[0]); i++) {
        const struct type_row *r = &type_table[i];
        if (r->name && (!in->name || strcmp(r->name, in->name) != 0))
            continue;
        if (r->type != in->type && r->type != SLUICE_CT_NONE)
            continue;
        row = r;
        break;
    }
    /* the last row matches anything */
    plan->rule = row->rule;
    plan->kind = row->kind;
    plan->scale = row->rule == SLUICE_RULE_DECIMAL && in->has_scale ? in->scale : 0;
    plan->bits = row->rule == SLUICE_RULE_BITS ? in->length : -1;

    if (row->pgflags == PG_NUMERIC_PS && in->precision > 0 && in->has_scale && in->scale >= 0 &&
        in->scale <= in->precision)
        snprintf(pg_type, pglen, "%s(%d,%d)", row->pg, (int)in->precision, (int)in->scale);
    else if (row->pgflags == PG_BITS_N && in->length > 0)
        snprintf(pg_type, pglen, "%s(%d)", row->pg, (int)in->length);
    else
        snprintf(pg_type, pglen, "%s", row->pg);

    if (in->type == SLUICE_CT_ARRAY) {
        plan->rule = SLUICE_RULE_ARRAY;
        plan->kind = SLUICE_VAL_ARRAY;
        if (elem_pg_type && *elem_pg_type) {
            size_t n = strlen(elem_pg_type);
            snprintf(pg_type, pglen, "%s%s", elem_pg_type,
                     n >= 2 && !strcmp(elem_pg_type + n - 2, "[]") ? "" : "[]");
        }
        (void)elem;
        return;
    }

    /* refinements from the source column type, when the connector sends it */
    if (!in->name && in->source_type) {
        if (in->type == SLUICE_CT_STRING && src_is(in, SRC_NUMERIC)) {
            plan->rule = SLUICE_RULE_DECIMAL_TEXT;
            plan->kind = SLUICE_VAL_DECIMAL;
            if (in->source_length > 0 && in->source_scale >= 0 &&
                in->source_scale <= in->source_length && strcasecmp(in->source_type, "MONEY"))
                snprintf(pg_type, pglen, "numeric(%d,%d)", (int)in->source_length,
                         (int)in->source_scale);
            else
                snprintf(pg_type, pglen, "numeric");
        } else if (in->type == SLUICE_CT_FLOAT64 && src_is(in, SRC_NUMERIC)) {
            snprintf(pg_type, pglen, "numeric");
        } else if (in->type == SLUICE_CT_STRING && src_is(in, SRC_BINARY) &&
                   bin != SLUICE_BINARY_BYTES) {
            plan->rule = SLUICE_RULE_BYTES_TEXT;
            plan->kind = SLUICE_VAL_BYTES;
            snprintf(pg_type, pglen, "bytea");
        } else if (in->type == SLUICE_CT_STRING && src_is(in, SRC_VARCHAR) &&
                   in->source_length > 0 && in->source_length <= 10485760) {
            snprintf(pg_type, pglen, "varchar(%d)", (int)in->source_length);
        } else if (in->type == SLUICE_CT_STRING && src_is(in, SRC_BPCHAR) &&
                   in->source_length > 0 && in->source_length <= 10485760) {
            snprintf(pg_type, pglen, "char(%d)", (int)in->source_length);
        } else if (in->type == SLUICE_CT_STRING && src_is(in, SRC_KEEP)) {
            size_t k;
            snprintf(pg_type, pglen, "%s", in->source_type);
            for (k = 0; pg_type[k]; k++)
                pg_type[k] = (char)tolower((unsigned char)pg_type[k]);
        }
    } else if (in->name && !strcmp(in->name, "io.debezium.data.Json") && in->source_type &&
               !strcasecmp(in->source_type, "JSON")) {
        snprintf(pg_type, pglen, "json");
    } else if (plan->rule == SLUICE_RULE_DECIMAL && in->precision <= 0 && in->source_type &&
               src_is(in, SRC_NUMERIC) && in->source_length > 0 && in->has_scale && in->scale >= 0 &&
               in->scale <= in->source_length && strcasecmp(in->source_type, "MONEY")) {
        snprintf(pg_type, pglen, "numeric(%d,%d)", (int)in->source_length, (int)in->scale);
    }
}
