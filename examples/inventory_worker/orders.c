/* The inventory example's business logic for the orders table
 * (id int PK, customer_id int, amount numeric(12,2); REPLICA IDENTITY FULL,
 * so updates and deletes carry the whole before row):
 *  - order_totals keeps customer_totals(customer_id, total, orders) by
 *    adding and subtracting. It is NOT idempotent on purpose: applied twice,
 *    an event counts twice; it relies on Sluice applying each event once.
 *  - order_audit writes one order_audit row per change, with the Kafka
 *    topic/partition/offset and the source position.
 * The tables live in the mirror's schema (mirror.schema), created by
 * schema.sql; the mirroring of orders itself is the built-in mirror's.
 * SQL goes through sluice_ctx_exec, in the batch's transaction, with every
 * value bound as a text parameter. */
#include "orders.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/observe.h"

/* Per-handler state, made by init and freed by teardown: the statements,
 * schema-qualified once at start-up, and counters for the shutdown line.
 * The counters count calls, so a batch that is rolled back and re-applied
 * (a transient failure) counts again: they are not the business totals. */
typedef struct {
    const char *name;
    char *sql;
    char *sql_delta; /* order_totals only: the delta upsert */
    unsigned long calls, rejected;
} orders_state_t;

/* "schema" -> "\"schema\"" with embedded quotes doubled; caller frees. */
static char *quote_ident(const char *s)
{
    size_t n = strlen(s), i;
    char *q = malloc(2 * n + 3), *p = q;

    if (!q)
        return NULL;
    *p++ = '"';
    for (i = 0; i < n; i++) {
        if (s[i] == '"')
            *p++ = '"';
        *p++ = s[i];
    }
    *p++ = '"';
    *p = '\0';
    return q;
}

/* "INSERT INTO " <quoted mirror schema> "." table rest; caller frees. */
static char *qualify(const sluice_config_t *cfg, const char *table, const char *rest)
{
    char *schema = quote_ident(cfg->mirror_schema ? cfg->mirror_schema : "public");
    char *sql = NULL;

    if (schema && asprintf(&sql, "INSERT INTO %s.%s %s", schema, table, rest) < 0)
        sql = NULL;
    free(schema);
    return sql;
}

static orders_state_t *state_new(const char *name, sluice_err_t *err)
{
    orders_state_t *st = calloc(1, sizeof(*st));

    if (!st)
        sluice_err_set(err, SLUICE_ERR_FATAL, "%s: out of memory", name);
    else
        st->name = name;
    return st;
}

static void state_free(orders_state_t *st)
{
    if (!st)
        return;
    free(st->sql);
    free(st->sql_delta);
    free(st);
}

void orders_teardown(void *state)
{
    orders_state_t *st = state;

    if (!st)
        return;
    sluice_log(SLUICE_LOG_INFO, "%s: %lu calls, %lu events rejected", st->name, st->calls,
               st->rejected);
    state_free(st);
}

int orders_totals_init(const sluice_config_t *cfg, void **state, sluice_err_t *err)
{
    orders_state_t *st = state_new("order_totals", err);

    if (!st)
        return -1;
    /* total += $2 - $3, orders += $4 for customer $1 */
    st->sql_delta = qualify(cfg, "customer_totals",
                            "AS t (customer_id, total, orders) "
                            "VALUES ($1::int, $2::numeric - $3::numeric, $4::int) "
                            "ON CONFLICT (customer_id) DO UPDATE "
                            "SET total = t.total + EXCLUDED.total, "
                            "orders = t.orders + EXCLUDED.orders");
    if (!st->sql_delta) {
        state_free(st);
        return sluice_err_set(err, SLUICE_ERR_FATAL, "order_totals: out of memory");
    }
    *state = st;
    return 0;
}

int orders_audit_init(const sluice_config_t *cfg, void **state, sluice_err_t *err)
{
    orders_state_t *st = state_new("order_audit", err);

    if (!st)
        return -1;
    st->sql = qualify(cfg, "order_audit",
                      "(topic, kafka_partition, kafka_offset, op, order_id, source_pos) "
                      "VALUES ($1, $2::int, $3::bigint, $4, $5::int, $6::bigint[])");
    if (!st->sql) {
        state_free(st);
        return sluice_err_set(err, SLUICE_ERR_FATAL, "order_audit: out of memory");
    }
    *state = st;
    return 0;
}

/* ---- reading the event ------------------------------------------------------- */

/* An integer column as text. Returns NULL (and sets *why) when it is
 * missing, null or not an integer. */
static const char *int_text(const sluice_row_t *row, const char *col, char *out, size_t outlen,
                            const char **why)
{
    const sluice_value_t *v = row->present ? sluice_row_get(row, col) : NULL;

    if (!v || v->kind == SLUICE_VAL_NULL) {
        *why = "is missing or null";
        return NULL;
    }
    if (v->kind != SLUICE_VAL_INT) {
        *why = "is not an integer";
        return NULL;
    }
    snprintf(out, outlen, "%" PRId64, v->u.i);
    return out;
}

/* An exact decimal: -?digits(.digits)?, short enough for numeric(12,2). */
static int is_decimal(const char *s, size_t len)
{
    size_t i = 0, digits = 0;

    if (len && s[0] == '-')
        i++;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
        digits++;
    if (i < len && s[i] == '.')
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            digits++;
    return i == len && digits > 0;
}

/* The amount column as exact decimal text. Debezium sends numeric as a
 * string with decimal.handling.mode=string, as a decoded decimal with
 * "precise" and a schema; a double ("double" mode) would make the totals
 * drift, so it is refused like any other non-decimal. */
static const char *amount_text(const sluice_row_t *row, char *out, size_t outlen, const char **why)
{
    const sluice_value_t *v = row->present ? sluice_row_get(row, "amount") : NULL;

    if (!v || v->kind == SLUICE_VAL_NULL) {
        *why = "is missing or null";
        return NULL;
    }
    if (v->kind == SLUICE_VAL_INT) {
        snprintf(out, outlen, "%" PRId64, v->u.i);
        return out;
    }
    if (v->kind != SLUICE_VAL_DECIMAL && v->kind != SLUICE_VAL_TEXT) {
        *why = "is not an exact decimal (use decimal.handling.mode string or precise)";
        return NULL;
    }
    if (v->u.s.len >= outlen || !is_decimal(v->u.s.ptr, v->u.s.len)) {
        *why = "is not a decimal number";
        return NULL;
    }
    memcpy(out, v->u.s.ptr, v->u.s.len + 1);
    return out;
}

static int is_negative(const char *amount)
{
    const char *p;

    if (amount[0] != '-')
        return 0;
    for (p = amount + 1; *p; p++)
        if (*p >= '1' && *p <= '9')
            return 1;
    return 0; /* "-0.00" */
}

/* The order's id: from the record key, else from the row. */
static const char *order_id(const sluice_event_t *ev, char *out, size_t outlen)
{
    const char *why;
    const char *id = int_text(&ev->key, "id", out, outlen, &why);

    if (!id)
        id = int_text(ev->after.present ? &ev->after : &ev->before, "id", out, outlen, &why);
    return id;
}

/* ---- order_totals ----------------------------------------------------------- */

/* customer $1: total += plus - minus, orders += count */
static sluice_handler_rc_t add(orders_state_t *st, sluice_ctx_t *ctx, const char *customer,
                               const char *plus, const char *minus, const char *count)
{
    const char *params[4] = {customer, plus, minus, count};
    PGresult *res = sluice_ctx_exec(ctx, st->sql_delta, 4, params);

    if (!res)
        return sluice_ctx_failed(ctx); /* RETRY or REJECT, from the error's class */
    PQclear(res);
    return SLUICE_HANDLER_OK;
}

/* One side (before or after) of a change: customer and amount. */
typedef struct {
    char customer[24];
    char amount[40];
} side_t;

static const char *read_side(const sluice_row_t *row, side_t *s, const char **what)
{
    const char *why = NULL;

    if (!int_text(row, "customer_id", s->customer, sizeof(s->customer), &why)) {
        *what = "customer_id";
        return why;
    }
    if (!amount_text(row, s->amount, sizeof(s->amount), &why)) {
        *what = "amount";
        return why;
    }
    return NULL;
}

sluice_handler_rc_t orders_totals(const sluice_event_t *ev, sluice_ctx_t *ctx, void *state)
{
    orders_state_t *st = state;
    side_t before, after;
    const char *why, *what = "";
    char id[24];
    sluice_handler_rc_t rc;

    st->calls++;
    if (!order_id(ev, id, sizeof(id)))
        snprintf(id, sizeof(id), "?");
    if (ev->op != SLUICE_OP_DELETE) {
        if ((why = read_side(&ev->after, &after, &what)) != NULL)
            goto reject_after;
        if (is_negative(after.amount)) {
            st->rejected++;
            return sluice_ctx_reject(ctx, "order %s: negative amount %s", id, after.amount);
        }
    }
    if (ev->op != SLUICE_OP_CREATE && (why = read_side(&ev->before, &before, &what)) != NULL) {
        st->rejected++;
        return sluice_ctx_reject(ctx,
                                 "order %s: before.%s %s (the source table needs REPLICA IDENTITY "
                                 "FULL so that updates and deletes carry the old row)",
                                 id, what, why);
    }
    switch (ev->op) {
    case SLUICE_OP_CREATE:
        return add(st, ctx, after.customer, after.amount, "0", "1");
    case SLUICE_OP_DELETE:
        return add(st, ctx, before.customer, "0", before.amount, "-1");
    case SLUICE_OP_UPDATE:
        if (strcmp(before.customer, after.customer) == 0)
            return add(st, ctx, after.customer, after.amount, before.amount, "0");
        /* the order moved to another customer */
        rc = add(st, ctx, before.customer, "0", before.amount, "-1");
        if (rc != SLUICE_HANDLER_OK)
            return rc;
        return add(st, ctx, after.customer, after.amount, "0", "1");
    default:
        return SLUICE_HANDLER_OK; /* the handler table asks for c, u and d only */
    }

reject_after:
    st->rejected++;
    return sluice_ctx_reject(ctx, "order %s: after.%s %s", id, what, why);
}

/* ---- order_audit ------------------------------------------------------------ */

sluice_handler_rc_t orders_audit(const sluice_event_t *ev, sluice_ctx_t *ctx, void *state)
{
    orders_state_t *st = state;
    char id[24], partition[16], offset[24], op[2], pos[SLUICE_POS_MAX_PARTS * 21 + 3];
    const char *params[6];
    size_t len = 0;
    int i;
    PGresult *res;

    st->calls++;
    if (!order_id(ev, id, sizeof(id))) {
        st->rejected++;
        return sluice_ctx_reject(ctx, "order_audit: the event has no integer order id");
    }
    snprintf(partition, sizeof(partition), "%" PRId32, ev->partition);
    snprintf(offset, sizeof(offset), "%" PRId64, ev->offset);
    op[0] = (char)ev->op;
    op[1] = '\0';
    /* the source position as a bigint[] literal: {commit_lsn,change_lsn} */
    pos[len++] = '{';
    for (i = 0; i < ev->pos.n; i++)
        len += (size_t)snprintf(pos + len, sizeof(pos) - len, "%s%" PRId64, i ? "," : "",
                                ev->pos.part[i]);
    pos[len++] = '}';
    pos[len] = '\0';
    params[0] = ev->topic;
    params[1] = partition;
    params[2] = offset;
    params[3] = op;
    params[4] = id;
    params[5] = ev->pos.n ? pos : NULL;
    res = sluice_ctx_exec(ctx, st->sql, 6, params);
    if (!res)
        return sluice_ctx_failed(ctx);
    PQclear(res);
    return SLUICE_HANDLER_OK;
}
