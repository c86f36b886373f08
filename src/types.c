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

static int put_value(const sluice_value_t *v, sluice_buf_t *out, sluice_err_t *err);

/* Array element: NULL bare, nested arrays as nested braces, everything else
 * double-quoted with '"' and '\' backslash-escaped (always quoting is valid
 * and spares us PostgreSQL's rules for when quotes are needed). */
static int put_element(const sluice_value_t *v, sluice_buf_t *out, sluice_buf_t *tmp,
                       sluice_err_t *err)
{
    size_t i;

    if (v->kind == SLUICE_VAL_NULL)
        return sluice_buf_puts(out, "NULL") < 0 ? nomem(err) : 0;
    if (v->kind == SLUICE_VAL_ARRAY)
        return put_value(v, out, err);
    if (v->kind == SLUICE_VAL_UNAVAILABLE)
        return sluice_err_set(err, SLUICE_ERR_PERMANENT,
                              "types: an array element holds the unavailable-value "
                              "placeholder; only a whole column can be unavailable");
    sluice_buf_reset(tmp);
    if (put_value(v, tmp, err) < 0)
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

static int put_array(const sluice_value_t *v, sluice_buf_t *out, sluice_err_t *err)
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
            rc = put_element(&v->u.arr.items[i], out, &tmp, err);
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

static int put_value(const sluice_value_t *v, sluice_buf_t *out, sluice_err_t *err)
{
    int rc;

    switch (v->kind) {
    case SLUICE_VAL_BOOL:
        rc = sluice_buf_putc(out, v->u.b ? 't' : 'f');
        break;
    case SLUICE_VAL_INT:
        rc = sluice_buf_printf(out, "%" PRId64, v->u.i);
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
        rc = sluice_buf_append(out, v->u.s.ptr, v->u.s.len);
        break;
    case SLUICE_VAL_BYTES:
        rc = put_hex(out, (const unsigned char *)v->u.s.ptr, v->u.s.len);
        break;
    case SLUICE_VAL_DATE:
    case SLUICE_VAL_TIME:
    case SLUICE_VAL_TIMESTAMP:
        return put_datetime(v, out, err);
    case SLUICE_VAL_ARRAY:
        return put_array(v, out, err);
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

    if (put_value(v, out, err) < 0) {
        /* leave out as it was: a half-written value must never be bound */
        out->len = mark;
        if (out->cap)
            out->data[mark] = '\0';
        return -1;
    }
    return 0;
}
