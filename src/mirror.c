/* The mirror handler: target-table metadata, statement shapes (one prepared
 * statement per table, op and set of columns), the position guard, folding a
 * batch's events per key, and multi-row statements over unnest(text[]).
 * It queues SQL on the batch's connection; transactions, the ledger and
 * retries belong to apply. */
#include "sluice/mirror.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/observe.h"
#include "sluice/types.h"
#include "strmap.h"

#define POS_COLUMN "_sluice_pos"
#define DELETED_COLUMN "_sluice_deleted"
#define SNAPSHOT_COLUMN "_sluice_snapshot"
#define TOAST_COUNT_COLUMN "sluice_toast_inserts"

/* Value slots of a pending row: a text, SQL NULL, or KEEP (the column is not
 * written: unchanged TOAST value, or absent from the event). */
static const char keep_marker, toast_marker;
#define KEEP (&keep_marker)
#define TKEEP (&toast_marker) /* kept because the value was the TOAST placeholder */
#define KEPT(v) ((v) == KEEP || (v) == TKEEP)

typedef struct {
    char op;           /* 'U' upsert, 'D' delete */
    char toast;        /* an unchanged-TOAST column is kept */
    const char **vals; /* ncols slots (upsert); for deletes only key slots are set */
    const char *pos;   /* "{a,b}" */
    sluice_pos_t p;    /* the same, to order folded events */
    const char *snap;  /* mirror.reconcile_deletes: position of the full snapshot that read
                        * the key in this batch, NULL if none */
} row_t;

struct sluice_mirror_table {
    char *display; /* schema.table, for messages */
    char *qname;   /* "schema"."table" */
    char **cols;   /* user columns (without _sluice_*) in attnum order */
    char **types;  /* format_type() of each column */
    int *tgt;      /* sluice_types_pg_target() of each column */
    int *typed;    /* a scalar base or enum type: multi-row statements bind
                    * its values as an array of the type itself (parsed once)
                    * instead of text[] cast element by element */
    int *is_pk;
    size_t ncols;
    size_t npk;
    strmap_t colidx; /* name -> index + 1 */
    int id;          /* for statement signatures */

    int has_deleted;     /* _sluice_deleted exists */
    int has_snapshot;    /* _sluice_snapshot exists */
    int warned_truncate; /* logged once that truncates are skipped */

    /* pending rows of the batch being folded */
    strmap_t pending; /* key text -> row index + 1 */
    row_t *rows;
    size_t nrows, caprows;
    sluice_mirror_table_t *next_dirty;
    int dirty;
};

typedef struct {
    char name[24];
} stmt_t;

typedef struct {
    size_t idx; /* table column index */
    const sluice_value_t *v;
} colval_t;

struct sluice_mirror {
    sluice_mirror_opts_t opts;
    unsigned long toast_nulls;
    unsigned long snapshot_ends; /* notes sent to sluice.reconcile */
    strmap_t tables; /* "schema\x1ftable" -> sluice_mirror_table_t* */
    strmap_t stmts;  /* signature -> stmt_t* */
    int ntables;
    unsigned long next_stmt;
    sluice_buf_t sql, vals, sig, key, tmp;
    size_t *offs;
    const char **params;
    colval_t *cv;
    size_t cap;
    sluice_arena_t arena; /* pending row values */
    sluice_mirror_table_t *dirty;
    char **arrays; /* flush: one text[] literal per statement column */
    size_t caparrays;
    sluice_buf_t *abufs;
};

sluice_mirror_t *sluice_mirror_new(const sluice_mirror_opts_t *opts)
{
    sluice_mirror_t *m = calloc(1, sizeof(*m));

    if (!m)
        return NULL;
    if (opts)
        m->opts = *opts;
    strmap_init(&m->tables);
    strmap_init(&m->stmts);
    sluice_buf_init(&m->sql);
    sluice_buf_init(&m->vals);
    sluice_buf_init(&m->sig);
    sluice_buf_init(&m->key);
    sluice_buf_init(&m->tmp);
    sluice_arena_init(&m->arena);
    return m;
}

/* Forgets t's columns (before loading them again, or when t goes). */
static void columns_free(sluice_mirror_table_t *t)
{
    size_t i;

    for (i = 0; i < t->ncols; i++) {
        free(t->cols[i]);
        if (t->types)
            free(t->types[i]);
    }
    free(t->cols);
    free(t->types);
    free(t->typed);
    free(t->tgt);
    free(t->is_pk);
    t->cols = NULL;
    t->types = NULL;
    t->typed = NULL;
    t->tgt = NULL;
    t->is_pk = NULL;
    t->ncols = t->npk = 0;
    strmap_cleanup(&t->colidx, NULL);
    strmap_init(&t->colidx);
}

static void table_free(void *p)
{
    sluice_mirror_table_t *t = p;

    if (!t)
        return;
    columns_free(t);
    free(t->display);
    free(t->qname);
    free(t->rows);
    strmap_cleanup(&t->colidx, NULL);
    strmap_cleanup(&t->pending, NULL);
    free(t);
}

void sluice_mirror_destroy(sluice_mirror_t *m)
{
    size_t i;

    if (!m)
        return;
    strmap_cleanup(&m->tables, table_free);
    strmap_cleanup(&m->stmts, free);
    sluice_buf_cleanup(&m->sql);
    sluice_buf_cleanup(&m->vals);
    sluice_buf_cleanup(&m->sig);
    sluice_buf_cleanup(&m->key);
    sluice_buf_cleanup(&m->tmp);
    sluice_arena_cleanup(&m->arena);
    free(m->offs);
    free(m->params);
    free(m->cv);
    for (i = 0; i < m->caparrays; i++)
        sluice_buf_cleanup(&m->abufs[i]);
    free(m->abufs);
    free(m->arrays);
    free(m);
}

void sluice_mirror_reset_statements(sluice_mirror_t *m)
{
    strmap_cleanup(&m->stmts, free);
    strmap_init(&m->stmts);
}

const char *sluice_mirror_table_name(const sluice_mirror_table_t *t)
{
    return t->display;
}

static int load_columns(sluice_pg_t *pg, sluice_mirror_table_t *t, int *has_pos, sluice_err_t *err)
{
    const char *params[1] = {t->qname};
    PGresult *res;
    int i, n;

    res = PQexecParams(pg->conn,
                       "SELECT a.attname, coalesce(a.attnum = ANY (i.indkey), false), "
                       "format_type(a.atttypid, a.atttypmod), "
                       "coalesce(ty.typtype IN ('b', 'e') AND ty.typcategory <> 'A' "
                       "AND ty.typelem = 0 AND ty.typarray <> 0, false) "
                       "FROM pg_attribute a "
                       "JOIN pg_type ty ON ty.oid = a.atttypid "
                       "LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary "
                       "WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped "
                       "ORDER BY a.attnum",
                       1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        sluice_pg_result_err(pg, res, "mirror: reading the columns of the target table", err);
        PQclear(res);
        return -1;
    }
    n = PQntuples(res);
    *has_pos = 0;
    t->has_deleted = 0;
    t->has_snapshot = 0;
    t->cols = calloc((size_t)n + 1, sizeof(char *));
    t->types = calloc((size_t)n + 1, sizeof(char *));
    t->is_pk = calloc((size_t)n + 1, sizeof(int));
    t->typed = calloc((size_t)n + 1, sizeof(int));
    t->tgt = calloc((size_t)n + 1, sizeof(int));
    if (!t->cols || !t->types || !t->is_pk || !t->typed || !t->tgt) {
        PQclear(res);
        return sluice_err_set(err, SLUICE_ERR_FATAL, "mirror: out of memory");
    }
    t->ncols = 0;
    t->npk = 0;
    for (i = 0; i < n; i++) {
        const char *name = PQgetvalue(res, i, 0);
        if (strcmp(name, POS_COLUMN) == 0) {
            *has_pos = 1;
            continue;
        }
        if (strcmp(name, DELETED_COLUMN) == 0) {
            t->has_deleted = 1;
            continue;
        }
        if (strcmp(name, SNAPSHOT_COLUMN) == 0) {
            t->has_snapshot = 1;
            continue;
        }
        if (strncmp(name, "_sluice_", 8) == 0)
            continue;
        t->cols[t->ncols] = strdup(name);
        t->types[t->ncols] = strdup(PQgetvalue(res, i, 2));
        t->is_pk[t->ncols] = PQgetvalue(res, i, 1)[0] == 't';
        t->typed[t->ncols] = PQgetvalue(res, i, 3)[0] == 't';
        t->tgt[t->ncols] = sluice_types_pg_target(t->types[t->ncols]);
        if (!t->cols[t->ncols] || !t->types[t->ncols] ||
            strmap_put(&t->colidx, name, strlen(name), (void *)(t->ncols + 1)) < 0) {
            PQclear(res);
            return sluice_err_set(err, SLUICE_ERR_FATAL, "mirror: out of memory");
        }
        t->npk += (size_t)t->is_pk[t->ncols];
        t->ncols++;
    }
    PQclear(res);
    return 0;
}

/* Adds one of Sluice's bookkeeping columns ("name type [default]") to t's
 * table, with a comment saying what it holds. */
static int add_own_column(sluice_pg_t *pg, const sluice_mirror_table_t *t, sluice_buf_t *q,
                          const char *definition, const char *comment, sluice_err_t *err)
{
    size_t name_len = strcspn(definition, " ");

    sluice_buf_reset(q);
    sluice_buf_printf(q,
                      "ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s;"
                      "COMMENT ON COLUMN %s.%.*s IS 'Sluice: %s'",
                      t->qname, definition, t->qname, (int)name_len, definition, comment);
    if (sluice_pg_exec(pg, q->data, err) < 0) {
        sluice_err_prefix(err, "mirror: adding column %.*s to %s", (int)name_len, definition,
                          t->display);
        return -1;
    }
    return 0;
}

sluice_mirror_table_t *sluice_mirror_table(sluice_mirror_t *m, sluice_pg_t *pg, const char *schema,
                                           const char *table, sluice_err_t *err)
{
    sluice_buf_t key, q;
    sluice_mirror_table_t *t;
    PGresult *res;
    const char *params[1];
    int has_pos = 0;

    sluice_buf_init(&key);
    sluice_buf_printf(&key, "%s\x1f%s", schema, table);
    t = strmap_get(&m->tables, key.data, key.len);
    if (t) {
        sluice_buf_cleanup(&key);
        return t;
    }
    t = calloc(1, sizeof(*t));
    sluice_buf_init(&q);
    if (!t || sluice_pg_quote_ident(&q, schema) < 0 || sluice_buf_putc(&q, '.') < 0 ||
        sluice_pg_quote_ident(&q, table) < 0) {
        sluice_err_set(err, SLUICE_ERR_FATAL, "mirror: out of memory");
        goto fail;
    }
    strmap_init(&t->colidx);
    strmap_init(&t->pending);
    t->qname = strdup(q.data);
    if (asprintf(&t->display, "%s.%s", schema, table) < 0)
        t->display = NULL;
    if (!t->qname || !t->display) {
        sluice_err_set(err, SLUICE_ERR_FATAL, "mirror: out of memory");
        goto fail;
    }

    params[0] = t->qname;
    res = PQexecParams(pg->conn, "SELECT to_regclass($1) IS NOT NULL", 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        sluice_pg_result_err(pg, res, "mirror: looking up the target table", err);
        PQclear(res);
        goto fail;
    }
    if (PQgetvalue(res, 0, 0)[0] != 't') {
        PQclear(res);
        sluice_err_set(err, SLUICE_ERR_PERMANENT,
                       "mirror: target table %s does not exist (create it with the source table's "
                       "columns and primary key, or map the topic to another table with "
                       "mirror.tables)",
                       t->display);
        goto fail;
    }
    PQclear(res);

    if (load_columns(pg, t, &has_pos, err) < 0)
        goto fail;
    if (t->npk == 0 && !m->opts.keyless_all) {
        sluice_err_set(err, SLUICE_ERR_PERMANENT,
                       "mirror: target table %s has no primary key (add one on the columns of the "
                       "Debezium record key, e.g. ALTER TABLE %s ADD PRIMARY KEY (id), or set "
                       "mirror.keyless = all_columns)",
                       t->display, t->qname);
        goto fail;
    }
    if (!has_pos && add_own_column(pg, t, &q, POS_COLUMN " bigint[]",
                                   "source position of the change this row reflects", err) < 0)
        goto fail;
    if (m->opts.soft_delete && !t->has_deleted) {
        if (add_own_column(pg, t, &q, DELETED_COLUMN " boolean NOT NULL DEFAULT false",
                           "the source row was deleted (mirror.delete_mode = soft)", err) < 0)
            goto fail;
        t->has_deleted = 1;
    }
    if (m->opts.reconcile && t->npk == 0) {
        sluice_log(SLUICE_LOG_WARN,
                   "mirror: %s has no primary key: mirror.reconcile_deletes cannot tell which rows a "
                   "snapshot read, so this table is never reconciled",
                   t->display);
    } else if (m->opts.reconcile && !t->has_snapshot) {
        if (add_own_column(pg, t, &q, SNAPSHOT_COLUMN " bigint[]",
                           "source position of the last full snapshot that read this row "
                           "(mirror.reconcile_deletes)",
                           err) < 0)
            goto fail;
        t->has_snapshot = 1;
    }
    t->id = m->ntables++;
    if (strmap_put(&m->tables, key.data, key.len, t) < 0) {
        sluice_err_set(err, SLUICE_ERR_FATAL, "mirror: out of memory");
        goto fail;
    }
    sluice_buf_cleanup(&key);
    sluice_buf_cleanup(&q);
    return t;
fail:
    sluice_buf_cleanup(&key);
    sluice_buf_cleanup(&q);
    table_free(t);
    return NULL;
}

static int ensure_cap(sluice_mirror_t *m, size_t n)
{
    if (n <= m->cap)
        return 0;
    free(m->offs);
    free(m->params);
    free(m->cv);
    m->cap = n * 2;
    m->offs = malloc(m->cap * sizeof(*m->offs));
    m->params = malloc(m->cap * sizeof(*m->params));
    m->cv = malloc(m->cap * sizeof(*m->cv));
    if (!m->offs || !m->params || !m->cv) {
        m->cap = 0;
        return -1;
    }
    return 0;
}

static int pos_text(sluice_buf_t *buf, const sluice_pos_t *pos)
{
    int k;

    sluice_buf_putc(buf, '{');
    for (k = 0; k < pos->n; k++) {
        if (k)
            sluice_buf_putc(buf, ',');
        sluice_buf_put_int64(buf, pos->part[k]);
    }
    return sluice_buf_putc(buf, '}');
}

static int add_pos_param(sluice_mirror_t *m, size_t i, const sluice_pos_t *pos)
{
    if (pos->n == 0) {
        m->offs[i] = (size_t)-1;
        return 0;
    }
    m->offs[i] = m->vals.len;
    pos_text(&m->vals, pos);
    return sluice_buf_putc(&m->vals, '\0');
}

static void finish_params(sluice_mirror_t *m, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        m->params[i] = m->offs[i] == (size_t)-1 ? NULL : m->vals.data + m->offs[i];
}

/* Prepares the statement for m->sig (SQL in m->sql) if it is new; returns its name. */
static const char *statement(sluice_mirror_t *m, sluice_pg_t *pg, int nparams, int *prepared,
                             sluice_err_t *err)
{
    stmt_t *s = strmap_get(&m->stmts, m->sig.data, m->sig.len);

    *prepared = 0;
    if (s)
        return s->name;
    s = malloc(sizeof(*s));
    if (!s) {
        sluice_err_set(err, SLUICE_ERR_FATAL, "mirror: out of memory");
        return NULL;
    }
    snprintf(s->name, sizeof(s->name), "sluice_m%lu", m->next_stmt++);
    if (!PQsendPrepare(pg->conn, s->name, m->sql.data, nparams, NULL)) {
        free(s);
        sluice_pg_result_err(pg, NULL, "mirror: sending a prepared statement", err);
        return NULL;
    }
    if (strmap_put(&m->stmts, m->sig.data, m->sig.len, s) < 0) {
        free(s);
        sluice_err_set(err, SLUICE_ERR_FATAL, "mirror: out of memory");
        return NULL;
    }
    *prepared = 1;
    return s->name;
}

static int have_statement(sluice_mirror_t *m)
{
    return strmap_get(&m->stmts, m->sig.data, m->sig.len) != NULL;
}

static int cmp_colval(const void *a, const void *b)
{
    const colval_t *x = a, *y = b;

    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Appends the SQL of "position a is not newer than position b" (bigint[]
 * expressions, a may be NULL: a row of unknown position), the order of
 * sluice_pos_cmp(): part by part, except that against a PostgreSQL snapshot
 * read ([0, LSN]: no commit LSN) only the change LSNs count. */
static void pos_le(sluice_buf_t *sql, const char *a, const char *b)
{
    sluice_buf_printf(sql,
                      "(%s IS NULL OR CASE WHEN cardinality(%s) = 2 AND cardinality(%s) = 2 AND "
                      "((%s)[1] = 0 OR (%s)[1] = 0) THEN (%s)[2] <= (%s)[2] ELSE %s <= %s END)",
                      a, a, b, a, b, a, b, a, b);
}

/* Appends " ON CONFLICT (pk) DO UPDATE SET c = EXCLUDED.c ... WHERE guard" for
 * the columns whose indexes are in idx[0, n). */
static void conflict_clause(sluice_mirror_t *m, const sluice_mirror_table_t *t, const size_t *idx,
                            size_t n, size_t stride)
{
    size_t i, k, written = 0;
    int first = 1;

    sluice_buf_puts(&m->sql, " ON CONFLICT (");
    for (k = 0; k < t->ncols; k++) {
        if (!t->is_pk[k])
            continue;
        if (written++)
            sluice_buf_puts(&m->sql, ", ");
        sluice_pg_quote_ident(&m->sql, t->cols[k]);
    }
    sluice_buf_puts(&m->sql, ") DO UPDATE SET ");
    for (i = 0; i < n; i++) {
        size_t c = *(const size_t *)((const char *)idx + i * stride);
        if (t->is_pk[c])
            continue;
        if (!first)
            sluice_buf_puts(&m->sql, ", ");
        first = 0;
        sluice_pg_quote_ident(&m->sql, t->cols[c]);
        sluice_buf_puts(&m->sql, " = EXCLUDED.");
        sluice_pg_quote_ident(&m->sql, t->cols[c]);
    }
    sluice_buf_printf(&m->sql, "%s" POS_COLUMN " = EXCLUDED." POS_COLUMN, first ? "" : ", ");
    if (t->has_deleted)
        sluice_buf_puts(&m->sql, ", " DELETED_COLUMN " = false");
    sluice_buf_puts(&m->sql, " WHERE ");
    pos_le(&m->sql, "t." POS_COLUMN, "EXCLUDED." POS_COLUMN);
}

/* Collects the after row's columns into m->cv (sorted by table column),
 * skipping unchanged-TOAST values (*toast set when one was skipped). */
static int collect_after(sluice_mirror_t *m, const sluice_mirror_table_t *t, const sluice_event_t *ev,
                         size_t *nout, int *toast, sluice_err_t *err)
{
    const sluice_row_t *row = &ev->after;
    size_t i, n = 0, npk = 0;

    *toast = 0;
    if (!row->present)
        return sluice_err_set(err, SLUICE_ERR_PERMANENT,
                              "mirror: %s event for %s has no \"after\" row", sluice_op_name(ev->op),
                              t->display);
    if (ensure_cap(m, row->ncols + 2) < 0)
        return sluice_err_set(err, SLUICE_ERR_FATAL, "mirror: out of memory");
    for (i = 0; i < row->ncols; i++) {
        size_t idx = (size_t)strmap_get(&t->colidx, row->cols[i].name, strlen(row->cols[i].name));
        if (!idx)
            return sluice_err_set(err, SLUICE_ERR_PERMANENT,
                                  "mirror: column \"%s\" of the event is not in target table %s "
                                  "(add it: ALTER TABLE %s ADD COLUMN \"%s\" <type>, or set "
                                  "mirror.schema_evolution = basic)",
                                  row->cols[i].name, t->display, t->qname, row->cols[i].name);
        if (row->cols[i].value.kind == SLUICE_VAL_UNAVAILABLE) {
            if (t->is_pk[idx - 1])
                return sluice_err_set(err, SLUICE_ERR_PERMANENT,
                                      "mirror: primary-key column \"%s\" of %s holds the "
                                      "unavailable-value placeholder",
                                      row->cols[i].name, t->display);
            *toast = 1;
            continue; /* unchanged TOAST value: keep what the row has */
        }
        m->cv[n].idx = idx - 1;
        m->cv[n].v = &row->cols[i].value;
        npk += (size_t)t->is_pk[idx - 1];
        n++;
    }
    if (npk != t->npk)
        return sluice_err_set(err, SLUICE_ERR_PERMANENT,
                              "mirror: the \"after\" row of this %s event lacks primary-key "
                              "columns of %s (%zu of %zu present)",
                              sluice_op_name(ev->op), t->display, npk, t->npk);
    qsort(m->cv, n, sizeof(*m->cv), cmp_colval);
    *nout = n;
    return 0;
}

/* Text of a value for column c of t, in the form that column's type takes. */
static int value_text(sluice_mirror_t *m, const sluice_mirror_table_t *t, size_t c,
                      const sluice_value_t *v, sluice_buf_t *out, sluice_err_t *err)
{
    return sluice_types_pg_text_as(v, t->tgt[c], (sluice_binary_mode_t)m->opts.binary_mode, out,
                                    err);
}

/* Appends a parameter value for column c to m->vals; offs[i] = (size_t)-1 for NULL. */
static int add_param(sluice_mirror_t *m, const sluice_mirror_table_t *t, size_t c, size_t i,
                     const sluice_value_t *v, sluice_err_t *err)
{
    if (!v || v->kind == SLUICE_VAL_NULL) {
        m->offs[i] = (size_t)-1;
        return 0;
    }
    m->offs[i] = m->vals.len;
    if (value_text(m, t, c, v, &m->vals, err) < 0)
        return -1;
    return sluice_buf_putc(&m->vals, '\0');
}

/* Wraps the statement in m->sql so that it reports how many rows it
 * inserted (rather than updated): used when unchanged-TOAST columns are left
 * out, since a fresh row then has them NULL. */
static void count_inserts(sluice_mirror_t *m)
{
    sluice_buf_reset(&m->tmp);
    sluice_buf_printf(&m->tmp, "WITH ins AS (%s RETURNING (xmax = 0) AS fresh) SELECT count(*) "
                               "FILTER (WHERE fresh) AS " TOAST_COUNT_COLUMN " FROM ins",
                      m->sql.data);
    sluice_buf_reset(&m->sql);
    sluice_buf_append(&m->sql, m->tmp.data, m->tmp.len);
}

static int send_upsert(sluice_mirror_t *m, sluice_pg_t *pg, sluice_mirror_table_t *t,
                       const sluice_event_t *ev, int *nresults, sluice_err_t *err)
{
    size_t i, n = 0;
    const char *name;
    int prepared, toast;

    if (collect_after(m, t, ev, &n, &toast, err) < 0)
        return -1;

    /* signature: table id, op class, column indexes */
    sluice_buf_reset(&m->sig);
    sluice_buf_printf(&m->sig, "U%d%s", t->id, toast ? "T" : "");
    for (i = 0; i < n; i++)
        sluice_buf_printf(&m->sig, ",%zu", m->cv[i].idx);

    if (!have_statement(m)) {
        sluice_buf_reset(&m->sql);
        sluice_buf_printf(&m->sql, "INSERT INTO %s AS t (", t->qname);
        for (i = 0; i < n; i++) {
            sluice_pg_quote_ident(&m->sql, t->cols[m->cv[i].idx]);
            sluice_buf_puts(&m->sql, ", ");
        }
        sluice_buf_puts(&m->sql, POS_COLUMN ") VALUES (");
        for (i = 0; i <= n; i++)
            sluice_buf_printf(&m->sql, "%s$%zu", i ? ", " : "", i + 1);
        sluice_buf_puts(&m->sql, ")");
        conflict_clause(m, t, &m->cv[0].idx, n, sizeof(colval_t));
        if (toast)
            count_inserts(m);
    }
    /* values first: a value that cannot be formatted must fail before
     * anything is queued on the connection */
    sluice_buf_reset(&m->vals);
    for (i = 0; i < n; i++)
        if (add_param(m, t, m->cv[i].idx, i, m->cv[i].v, err) < 0)
            return -1;
    if (add_pos_param(m, n, &ev->pos) < 0)
        return sluice_err_set(err, SLUICE_ERR_FATAL, "mirror: out of memory");
    finish_params(m, n + 1);
    name = statement(m, pg, (int)n + 1, &prepared, err);
    if (!name)
        return -1;
    if (!PQsendQueryPrepared(pg->conn, name, (int)n + 1, m->params, NULL, NULL, 0))
        return sluice_pg_result_err(pg, NULL, "mirror: sending an upsert", err);
    *nresults = prepared + 1;
    return 0;
}

/* Value of a primary-key column for a delete: record key first, then the
 * before image (REPLICA IDENTITY DEFAULT gives at least the key there). */
static const sluice_value_t *key_value(const sluice_event_t *ev, const char *col)
{
    const sluice_value_t *v = NULL;

    if (ev->key.present)
        v = sluice_row_get(&ev->key, col);
    if (!v && ev->before.present)
        v = sluice_row_get(&ev->before, col);
    if (v && (v->kind == SLUICE_VAL_NULL || v->kind == SLUICE_VAL_UNAVAILABLE))
        v = NULL;
    return v;
}

static int collect_key(sluice_mirror_t *m, const sluice_mirror_table_t *t, const sluice_event_t *ev,
                       size_t *nout, sluice_err_t *err)
{
    size_t k, n = 0;

    if (ensure_cap(m, t->npk + 2) < 0)
        return sluice_err_set(err, SLUICE_ERR_FATAL, "mirror: out of memory");
    for (k = 0; k < t->ncols; k++) {
        const sluice_value_t *v;
        if (!t->is_pk[k])
            continue;
        v = key_value(ev, t->cols[k]);
        if (!v)
            return sluice_err_set(err, SLUICE_ERR_PERMANENT,
                                  "mirror: delete for %s carries no value for primary-key column "
                                  "\"%s\" (neither the record key nor \"before\" has it)",
                                  t->display, t->cols[k]);
        m->cv[n].idx = k;
        m->cv[n].v = v;
        n++;
    }
    *nout = n;
    return 0;
}

/* "DELETE FROM t" or, with soft deletes, "UPDATE t SET _sluice_deleted". */
static void delete_head(sluice_mirror_t *m, const sluice_mirror_table_t *t, const char *pos_expr)
{
    if (t->has_deleted && m->opts.soft_delete)
        sluice_buf_printf(&m->sql, "UPDATE %s AS t SET " DELETED_COLUMN " = true, " POS_COLUMN " = %s",
                          t->qname, pos_expr);
    else
        sluice_buf_printf(&m->sql, "DELETE FROM %s AS t", t->qname);
}

static int send_delete(sluice_mirror_t *m, sluice_pg_t *pg, sluice_mirror_table_t *t,
                       const sluice_event_t *ev, int *nresults, sluice_err_t *err)
{
    size_t k, n = 0;
    const char *name;
    int prepared;
    char pos_expr[32];

    if (collect_key(m, t, ev, &n, err) < 0)
        return -1;
    sluice_buf_reset(&m->sig);
    sluice_buf_printf(&m->sig, "D%d", t->id);
    if (!have_statement(m)) {
        sluice_buf_reset(&m->sql);
        snprintf(pos_expr, sizeof(pos_expr), "$%zu", n + 1);
        delete_head(m, t, pos_expr);
        sluice_buf_puts(&m->sql, " WHERE ");
        for (k = 0; k < n; k++) {
            sluice_pg_quote_ident(&m->sql, t->cols[m->cv[k].idx]);
            sluice_buf_printf(&m->sql, " = $%zu AND ", k + 1);
        }
        /* a delete without a position (a tombstone standing for a delete)
         * cannot be ordered against the row: it applies */
        snprintf(pos_expr, sizeof(pos_expr), "$%zu::bigint[]", n + 1);
        sluice_buf_printf(&m->sql, "(%s IS NULL OR ", pos_expr);
        pos_le(&m->sql, "t." POS_COLUMN, pos_expr);
        sluice_buf_putc(&m->sql, ')');
    }
    sluice_buf_reset(&m->vals);
    for (k = 0; k < n; k++)
        if (add_param(m, t, m->cv[k].idx, k, m->cv[k].v, err) < 0)
            return -1;
    if (add_pos_param(m, n, &ev->pos) < 0)
        return sluice_err_set(err, SLUICE_ERR_FATAL, "mirror: out of memory");
    finish_params(m, n + 1);
    name = statement(m, pg, (int)n + 1, &prepared, err);
    if (!name)
        return -1;
    if (!PQsendQueryPrepared(pg->conn, name, (int)n + 1, m->params, NULL, NULL, 0))
        return sluice_pg_result_err(pg, NULL, "mirror: sending a delete", err);
    *nresults = prepared + 1;
    return 0;
}

/* Tables without a primary key (mirror.keyless = all_columns): inserts are
 * plain inserts; updates and deletes find one row equal, column for column,
 * to the before image, which must therefore be complete (REPLICA IDENTITY
 * FULL). There is no position guard without a key. */
static int send_keyless(sluice_mirror_t *m, sluice_pg_t *pg, sluice_mirror_table_t *t,
                        const sluice_event_t *ev, int *nresults, sluice_err_t *err)
{
    const sluice_row_t *before = &ev->before;
    size_t i, n = 0, p = 0;
    int toast = 0;

    sluice_buf_reset(&m->sql);
    sluice_buf_reset(&m->vals);
    if (ev->op != SLUICE_OP_DELETE && collect_after(m, t, ev, &n, &toast, err) < 0)
        return -1;
    if (ensure_cap(m, n + (before->present ? before->ncols : 0) + 2) < 0)
        return sluice_err_set(err, SLUICE_ERR_FATAL, "mirror: out of memory");
    for (i = 0; i < n; i++)
        if (add_param(m, t, m->cv[i].idx, p++, m->cv[i].v, err) < 0)
            return -1;
    if (ev->op == SLUICE_OP_CREATE || ev->op == SLUICE_OP_READ) {
        sluice_buf_printf(&m->sql, "INSERT INTO %s (", t->qname);
        for (i = 0; i < n; i++) {
            if (i)
                sluice_buf_puts(&m->sql, ", ");
            sluice_pg_quote_ident(&m->sql, t->cols[m->cv[i].idx]);
        }
        sluice_buf_puts(&m->sql, ") VALUES (");
        for (i = 0; i < n; i++)
            sluice_buf_printf(&m->sql, "%s$%zu", i ? ", " : "", i + 1);
        sluice_buf_puts(&m->sql, ")");
    } else {
        if (!before->present || before->ncols < t->ncols)
            return sluice_err_set(err, SLUICE_ERR_PERMANENT,
                                  "mirror: %s on %s, a table without a primary key, needs the full "
                                  "\"before\" row (set REPLICA IDENTITY FULL on the source table)",
                                  sluice_op_name(ev->op), t->display);
        if (ev->op == SLUICE_OP_UPDATE) {
            sluice_buf_printf(&m->sql, "UPDATE %s SET ", t->qname);
            for (i = 0; i < n; i++) {
                if (i)
                    sluice_buf_puts(&m->sql, ", ");
                sluice_pg_quote_ident(&m->sql, t->cols[m->cv[i].idx]);
                sluice_buf_printf(&m->sql, " = $%zu", i + 1);
            }
        } else {
            sluice_buf_printf(&m->sql, "DELETE FROM %s", t->qname);
        }
        sluice_buf_printf(&m->sql, " WHERE ctid = (SELECT ctid FROM %s WHERE true", t->qname);
        for (i = 0; i < before->ncols; i++) {
            const sluice_column_t *c = &before->cols[i];
            size_t idx = (size_t)strmap_get(&t->colidx, c->name, strlen(c->name));
            if (!idx || c->value.kind == SLUICE_VAL_UNAVAILABLE)
                continue;
            sluice_buf_puts(&m->sql, " AND ");
            sluice_pg_quote_ident(&m->sql, c->name);
            sluice_buf_printf(&m->sql, " IS NOT DISTINCT FROM $%zu::%s", p + 1, t->types[idx - 1]);
            if (add_param(m, t, idx - 1, p++, &c->value, err) < 0)
                return -1;
        }
        sluice_buf_puts(&m->sql, " LIMIT 1)");
    }
    finish_params(m, p);
    if (!PQsendQueryParams(pg->conn, m->sql.data, (int)p, NULL, m->params, NULL, NULL, 0))
        return sluice_pg_result_err(pg, NULL, "mirror: sending a change to a keyless table", err);
    *nresults = 1;
    return 0;
}

static int send_truncate(sluice_mirror_t *m, sluice_pg_t *pg, sluice_mirror_table_t *t,
                         int *nresults, sluice_err_t *err)
{
    if (!m->opts.truncate) {
        if (!t->warned_truncate)
            sluice_log(SLUICE_LOG_WARN, "mirror: a truncate of %s was not applied (set "
                                        "mirror.truncate = true to apply truncates)",
                       t->display);
        t->warned_truncate = 1;
        return 0;
    }
    sluice_buf_reset(&m->sql);
    sluice_buf_printf(&m->sql, "TRUNCATE TABLE %s", t->qname);
    if (!PQsendQueryParams(pg->conn, m->sql.data, 0, NULL, NULL, NULL, NULL, 0))
        return sluice_pg_result_err(pg, NULL, "mirror: sending a truncate", err);
    *nresults = 1;
    return 0;
}

static int reconcile_event(sluice_mirror_t *m, sluice_pg_t *pg, sluice_mirror_table_t *t,
                           const sluice_event_t *ev, int *nresults, sluice_err_t *err);

int sluice_mirror_send(sluice_mirror_t *m, sluice_pg_t *pg, sluice_mirror_table_t *t,
                       const sluice_event_t *ev, int *nresults, sluice_err_t *err)
{
    *nresults = 0;
    switch (ev->op) {
    case SLUICE_OP_CREATE:
    case SLUICE_OP_READ:
    case SLUICE_OP_UPDATE:
        if (t->npk == 0)
            return send_keyless(m, pg, t, ev, nresults, err);
        if (send_upsert(m, pg, t, ev, nresults, err) < 0)
            return -1;
        return reconcile_event(m, pg, t, ev, nresults, err);
    case SLUICE_OP_DELETE:
        if (t->npk == 0)
            return send_keyless(m, pg, t, ev, nresults, err);
        return send_delete(m, pg, t, ev, nresults, err);
    case SLUICE_OP_TRUNCATE:
        return send_truncate(m, pg, t, nresults, err);
    default:
        return 0;
    }
}

unsigned long sluice_mirror_snapshot_ends(const sluice_mirror_t *m)
{
    return m->snapshot_ends;
}

unsigned long sluice_mirror_toast_nulls(const sluice_mirror_t *m)
{
    return m->toast_nulls;
}

void sluice_mirror_count_toast_nulls(sluice_mirror_t *m, unsigned long n)
{
    m->toast_nulls += n;
}

/* ---- batched: fold per key, flush as multi-row statements ---------------- */

/* A read of a full (initial or blocking) snapshot: every read of one
 * snapshot carries the same source position, which names the snapshot.
 * Incremental-snapshot reads do not count: they are not a complete picture. */
static int snapshot_read(const sluice_event_t *ev)
{
    if (ev->op != SLUICE_OP_READ || ev->pos.n == 0)
        return 0;
    switch (ev->snapshot) {
    case SLUICE_SNAPSHOT_TRUE:
    case SLUICE_SNAPSHOT_FIRST:
    case SLUICE_SNAPSHOT_FIRST_IN_DATA_COLLECTION:
    case SLUICE_SNAPSHOT_LAST_IN_DATA_COLLECTION:
    case SLUICE_SNAPSHOT_LAST:
        return 1;
    default:
        return 0;
    }
}

/* The last read of a table's full snapshot (Debezium 2.x marks it
 * last_in_data_collection; before that only the snapshot's very last record
 * said last). */
static int snapshot_end(const sluice_event_t *ev)
{
    return snapshot_read(ev) && (ev->snapshot == SLUICE_SNAPSHOT_LAST_IN_DATA_COLLECTION ||
                                 ev->snapshot == SLUICE_SNAPSHOT_LAST);
}

static char *arena_text(sluice_mirror_t *m, const sluice_mirror_table_t *t, size_t c,
                        const sluice_value_t *v, sluice_err_t *err)
{
    sluice_buf_reset(&m->tmp);
    if (value_text(m, t, c, v, &m->tmp, err) < 0)
        return NULL;
    return sluice_arena_strndup(&m->arena, m->tmp.data ? m->tmp.data : "", m->tmp.len);
}

/* Key text of the event's row: the primary-key values joined by \x1f. */
static int key_text(sluice_mirror_t *m, const sluice_mirror_table_t *t, size_t n, sluice_err_t *err)
{
    size_t i;

    sluice_buf_reset(&m->key);
    for (i = 0; i < n; i++) {
        if (!t->is_pk[m->cv[i].idx])
            continue;
        if (m->cv[i].v->kind == SLUICE_VAL_NULL)
            return sluice_err_set(err, SLUICE_ERR_PERMANENT,
                                  "mirror: primary-key column \"%s\" of %s is null",
                                  t->cols[m->cv[i].idx], t->display);
        if (value_text(m, t, m->cv[i].idx, m->cv[i].v, &m->key, err) < 0)
            return -1;
        sluice_buf_putc(&m->key, '\x1f');
    }
    return 0;
}

static row_t *row_for(sluice_mirror_t *m, sluice_mirror_table_t *t, int *existed)
{
    size_t idx = (size_t)strmap_get(&t->pending, m->key.data, m->key.len);
    row_t *r;

    if (idx) {
        *existed = 1;
        return &t->rows[idx - 1];
    }
    *existed = 0;
    if (t->nrows == t->caprows) {
        size_t cap = t->caprows ? t->caprows * 2 : 256;
        row_t *grown = realloc(t->rows, cap * sizeof(*grown));
        if (!grown)
            return NULL;
        t->rows = grown;
        t->caprows = cap;
    }
    r = &t->rows[t->nrows];
    r->vals = sluice_arena_calloc(&m->arena, t->ncols, sizeof(*r->vals));
    if (!r->vals || strmap_put(&t->pending, m->key.data, m->key.len, (void *)(t->nrows + 1)) < 0)
        return NULL;
    t->nrows++;
    if (!t->dirty) {
        t->dirty = 1;
        t->next_dirty = m->dirty;
        m->dirty = t;
    }
    return r;
}

int sluice_mirror_add(sluice_mirror_t *m, sluice_mirror_table_t *t, const sluice_event_t *ev,
                      sluice_err_t *err)
{
    size_t i, n = 0;
    int existed, toast = 0;
    row_t *r;
    const char **vals;
    char *pos;

    switch (ev->op) {
    case SLUICE_OP_CREATE:
    case SLUICE_OP_READ:
    case SLUICE_OP_UPDATE:
    case SLUICE_OP_DELETE:
        break;
    case SLUICE_OP_TRUNCATE:
        return 1; /* applies to everything folded before it: in order */
    default:
        return 0; /* nothing for the mirror */
    }
    if (ev->pos.n == 0 || t->npk == 0)
        return 1; /* no position (the guard needs the row's own) or no key: one by one */
    if (m->opts.reconcile && t->has_snapshot && snapshot_end(ev))
        return 1; /* records the snapshot's end: sluice_mirror_send() */
    if (ev->op == SLUICE_OP_DELETE) {
        if (collect_key(m, t, ev, &n, err) < 0 || key_text(m, t, n, err) < 0)
            return -1;
    } else if (collect_after(m, t, ev, &n, &toast, err) < 0 || key_text(m, t, n, err) < 0) {
        return -1;
    }
    sluice_buf_reset(&m->tmp);
    pos_text(&m->tmp, &ev->pos);
    pos = sluice_arena_strndup(&m->arena, m->tmp.data, m->tmp.len);
    vals = sluice_arena_calloc(&m->arena, t->ncols, sizeof(*vals));
    if (!pos || !vals)
        return sluice_err_set(err, SLUICE_ERR_FATAL, "mirror: out of memory");
    for (i = 0; i < t->ncols; i++)
        vals[i] = KEEP;
    for (i = 0; i < n; i++) {
        const sluice_value_t *v = m->cv[i].v;
        if (v->kind == SLUICE_VAL_NULL)
            vals[m->cv[i].idx] = NULL;
        else if (!(vals[m->cv[i].idx] = arena_text(m, t, m->cv[i].idx, v, err)))
            return err->cls ? -1 : sluice_err_set(err, SLUICE_ERR_FATAL, "mirror: out of memory");
    }
    if (toast) {
        for (i = 0; i < ev->after.ncols; i++) {
            const sluice_column_t *c = &ev->after.cols[i];
            size_t idx = (size_t)strmap_get(&t->colidx, c->name, strlen(c->name));
            if (idx && c->value.kind == SLUICE_VAL_UNAVAILABLE)
                vals[idx - 1] = TKEEP;
        }
    }

    r = row_for(m, t, &existed);
    if (!r)
        return sluice_err_set(err, SLUICE_ERR_FATAL, "mirror: out of memory");
    if (!existed)
        r->snap = NULL;
    if (m->opts.reconcile && t->has_snapshot && snapshot_read(ev))
        r->snap = pos; /* read by the snapshot, whatever the guard decides */
    if (existed && sluice_pos_cmp(&ev->pos, &r->p) < 0)
        return 0; /* older than what the key already holds: the guard would skip it too */
    if (existed && ev->op == SLUICE_OP_DELETE && r->op == 'U' && t->has_deleted &&
        m->opts.soft_delete)
        return 1; /* a soft delete keeps the row: it must be written first */
    if (existed && ev->op != SLUICE_OP_DELETE) {
        for (i = 0; i < t->ncols; i++) {
            if (!KEPT(vals[i]))
                continue;
            if (r->op == 'D') {
                /* deleted earlier in this batch, so the upsert inserts and the
                 * kept column must not take the old stored value: apply the
                 * rows folded so far first, then this one */
                return 1;
            }
            if (!KEPT(r->vals[i]) || vals[i] == KEEP)
                vals[i] = r->vals[i]; /* the newer unchanged value is the older known one */
        }
    }
    r->op = ev->op == SLUICE_OP_DELETE ? 'D' : 'U';
    r->toast = 0;
    for (i = 0; i < t->ncols && r->op == 'U'; i++)
        if (vals[i] == TKEEP)
            r->toast = 1;
    r->pos = pos;
    r->p = ev->pos;
    memcpy(r->vals, vals, t->ncols * sizeof(*vals));
    return 0;
}

/* Escapes one element into a text[] literal. */
static void array_elem(sluice_buf_t *b, const char *v)
{
    const char *p;

    if (b->len > 1)
        sluice_buf_putc(b, ',');
    if (!v) {
        sluice_buf_puts(b, "NULL");
        return;
    }
    sluice_buf_putc(b, '"');
    for (p = v;;) {
        size_t n = strcspn(p, "\"\\");
        sluice_buf_append(b, p, n);
        p += n;
        if (!*p)
            break;
        sluice_buf_putc(b, '\\');
        sluice_buf_putc(b, *p++);
    }
    sluice_buf_putc(b, '"');
}

static int ensure_arrays(sluice_mirror_t *m, size_t n)
{
    size_t i;

    if (n <= m->caparrays)
        return 0;
    m->abufs = realloc(m->abufs, n * sizeof(*m->abufs));
    m->arrays = realloc(m->arrays, n * sizeof(*m->arrays));
    if (!m->abufs || !m->arrays)
        return -1;
    for (i = m->caparrays; i < n; i++)
        sluice_buf_init(&m->abufs[i]);
    m->caparrays = n;
    return 0;
}

/* Parameter i of a multi-row statement, holding column c's values: an array
 * of the column's own type when it has one (PostgreSQL parses each element
 * once, with the type's input function), text[] otherwise. The text of the
 * elements is the same either way. */
static void column_array(sluice_mirror_t *m, const sluice_mirror_table_t *t, size_t c, size_t i)
{
    if (t->typed[c])
        sluice_buf_printf(&m->sql, "$%zu::%s[], ", i + 1, t->types[c]);
    else
        sluice_buf_printf(&m->sql, "$%zu::text[], ", i + 1);
}

/* Element i of the unnest row as a value of column c's type. */
static void column_value(sluice_mirror_t *m, const sluice_mirror_table_t *t, size_t c, size_t i)
{
    if (t->typed[c])
        sluice_buf_printf(&m->sql, "u.a%zu", i);
    else
        sluice_buf_printf(&m->sql, "u.a%zu::%s", i, t->types[c]);
}

/* "t.c = u.aN AND " for the columns in mask (the primary key when NULL), the
 * unnest columns numbered in table order. */
static void match_columns(sluice_mirror_t *m, const sluice_mirror_table_t *t,
                          const unsigned char *mask)
{
    size_t k, i = 0;

    for (k = 0; k < t->ncols; k++) {
        if (mask ? !mask[k] : !t->is_pk[k])
            continue;
        sluice_buf_puts(&m->sql, "t.");
        sluice_pg_quote_ident(&m->sql, t->cols[k]);
        sluice_buf_puts(&m->sql, " = ");
        column_value(m, t, k, i++);
        sluice_buf_puts(&m->sql, " AND ");
    }
}

/* mirror.reconcile_deletes: marks the rows with these keys (keys[i] holds a
 * row's values by column index; the primary-key slots are set) as read by
 * the full snapshot at position snap. Rows that do not exist (deleted later
 * in the batch) are left alone. */
static int send_marks(sluice_mirror_t *m, sluice_pg_t *pg, sluice_mirror_table_t *t, const char *snap,
                      const char **const *keys, size_t n, int *nresults, sluice_err_t *err)
{
    size_t i, j, k;
    const char *name;
    int prepared;

    if (ensure_arrays(m, t->npk + 1) < 0 || ensure_cap(m, t->npk + 2) < 0)
        return sluice_err_set(err, SLUICE_ERR_FATAL, "mirror: out of memory");
    for (j = 0; j < t->npk; j++) {
        sluice_buf_reset(&m->abufs[j]);
        sluice_buf_putc(&m->abufs[j], '{');
    }
    for (i = 0; i < n; i++)
        for (k = 0, j = 0; k < t->ncols; k++)
            if (t->is_pk[k])
                array_elem(&m->abufs[j++], keys[i][k]);
    for (j = 0; j < t->npk; j++) {
        if (sluice_buf_putc(&m->abufs[j], '}') < 0)
            return sluice_err_set(err, SLUICE_ERR_FATAL, "mirror: out of memory");
        m->params[j] = m->abufs[j].data;
    }
    m->params[t->npk] = snap;

    sluice_buf_reset(&m->sig);
    sluice_buf_printf(&m->sig, "S%d", t->id);
    if (!have_statement(m)) {
        sluice_buf_reset(&m->sql);
        sluice_buf_printf(&m->sql, "UPDATE %s AS t SET " SNAPSHOT_COLUMN " = $%zu::bigint[] FROM unnest(",
                          t->qname, t->npk + 1);
        for (k = 0, j = 0; k < t->ncols; k++)
            if (t->is_pk[k])
                column_array(m, t, k, j++);
        m->sql.len -= 2; /* the last ", " */
        m->sql.data[m->sql.len] = '\0';
        sluice_buf_puts(&m->sql, ") AS u(");
        for (j = 0; j < t->npk; j++)
            sluice_buf_printf(&m->sql, "%sa%zu", j ? ", " : "", j);
        sluice_buf_puts(&m->sql, ") WHERE ");
        match_columns(m, t, NULL);
        sluice_buf_printf(&m->sql, "t." SNAPSHOT_COLUMN " IS DISTINCT FROM $%zu::bigint[]",
                          t->npk + 1);
    }
    name = statement(m, pg, (int)t->npk + 1, &prepared, err);
    if (!name)
        return -1;
    if (!PQsendQueryPrepared(pg->conn, name, (int)t->npk + 1, m->params, NULL, NULL, 0))
        return sluice_pg_result_err(pg, NULL, "mirror: marking rows read by a snapshot", err);
    *nresults += prepared + 1;
    return 0;
}

/* The marks of the folded rows of t, one statement per snapshot. */
static int flush_marks(sluice_mirror_t *m, sluice_pg_t *pg, sluice_mirror_table_t *t, int *nresults,
                       sluice_err_t *err)
{
    const char ***keys = NULL;
    size_t r, q, n;
    int rc = 0;

    for (r = 0; r < t->nrows && rc == 0; r++) {
        const char *snap = t->rows[r].snap;
        if (!snap)
            continue;
        if (!keys && !(keys = malloc(t->nrows * sizeof(*keys))))
            return sluice_err_set(err, SLUICE_ERR_FATAL, "mirror: out of memory");
        for (q = r, n = 0; q < t->nrows; q++) {
            if (t->rows[q].snap && strcmp(t->rows[q].snap, snap) == 0) {
                keys[n++] = t->rows[q].vals;
                t->rows[q].snap = NULL;
            }
        }
        rc = send_marks(m, pg, t, snap, (const char **const *)keys, n, nresults, err);
    }
    free(keys);
    return rc;
}

/* After an event sent on its own: its mark, and at the end of a table's full
 * snapshot the note in sluice.reconcile (same transaction) from which a
 * worker reconciles once every partition is applied that far. */
static int reconcile_event(sluice_mirror_t *m, sluice_pg_t *pg, sluice_mirror_table_t *t,
                           const sluice_event_t *ev, int *nresults, sluice_err_t *err)
{
    const char **vals, *snap, *params[8];
    char part[16], off[24];
    size_t k, n = 0;

    if (!m->opts.reconcile || !t->has_snapshot || !snapshot_read(ev))
        return 0;
    if (collect_key(m, t, ev, &n, err) < 0)
        return -1;
    vals = sluice_arena_calloc(&m->arena, t->ncols, sizeof(*vals));
    sluice_buf_reset(&m->tmp);
    pos_text(&m->tmp, &ev->pos);
    snap = sluice_arena_strndup(&m->arena, m->tmp.data, m->tmp.len);
    if (!vals || !snap)
        return sluice_err_set(err, SLUICE_ERR_FATAL, "mirror: out of memory");
    for (k = 0; k < n; k++)
        if (!(vals[m->cv[k].idx] = arena_text(m, t, m->cv[k].idx, m->cv[k].v, err)))
            return err->cls ? -1 : sluice_err_set(err, SLUICE_ERR_FATAL, "mirror: out of memory");
    if (send_marks(m, pg, t, snap, &vals, 1, nresults, err) < 0)
        return -1;
    if (!snapshot_end(ev))
        return 0;
    snprintf(part, sizeof(part), "%d", (int)ev->partition);
    snprintf(off, sizeof(off), "%lld", (long long)ev->offset);
    params[0] = m->opts.group ? m->opts.group : "";
    params[1] = ev->topic ? ev->topic : "";
    params[2] = t->qname;
    params[3] = t->display;
    params[4] = snap;
    params[5] = t->has_deleted && m->opts.soft_delete ? "true" : "false";
    params[6] = part;
    params[7] = off;
    if (!PQsendQueryParams(pg->conn,
                           "INSERT INTO sluice.reconcile (group_id, topic, target, display, "
                           "snapshot_pos, soft, last_partition, last_offset) "
                           "VALUES ($1, $2, $3, $4, $5::bigint[], $6::boolean, $7::integer, $8::bigint) "
                           "ON CONFLICT (group_id, target, snapshot_pos) DO NOTHING",
                           8, NULL, params, NULL, NULL, 0))
        return sluice_pg_result_err(pg, NULL, "mirror: recording the end of a snapshot", err);
    *nresults += 1;
    m->snapshot_ends++;
    return 0;
}

/* The position parameters of a multi-row statement, after ncol column
 * arrays, and ") AS u(" : one text[] of "{a,b}" (arity 0: the rows' positions
 * have different numbers of parts), or one bigint[] per part. */
static void pos_arrays(sluice_mirror_t *m, size_t ncol, int arity)
{
    int k;

    if (arity == 0) {
        sluice_buf_printf(&m->sql, "$%zu::text[]) AS u(", ncol + 1);
        return;
    }
    for (k = 0; k < arity; k++)
        sluice_buf_printf(&m->sql, "%s$%zu::bigint[]", k ? ", " : "", ncol + 1 + (size_t)k);
    sluice_buf_puts(&m->sql, ") AS u(");
}

/* The names of those columns in u, and the closing ")". */
static void pos_names(sluice_mirror_t *m, int arity)
{
    int k;

    if (arity == 0) {
        sluice_buf_puts(&m->sql, "p)");
        return;
    }
    for (k = 0; k < arity; k++)
        sluice_buf_printf(&m->sql, "%sp%d", k ? ", " : "", k);
    sluice_buf_putc(&m->sql, ')');
}

/* Sends the rows of t with this op and this set of written columns. */
static int flush_group(sluice_mirror_t *m, sluice_pg_t *pg, sluice_mirror_table_t *t, char op,
                       int toast, const unsigned char *mask, int *nresults, sluice_err_t *err)
{
    size_t i, k, ncol = 0, r, nparams;
    const char *name;
    int prepared, arity = -1; /* positions: their common number of parts, 0 if mixed */
    char pexpr[64];

    for (k = 0; k < t->ncols; k++)
        ncol += mask[k];
    /* abufs: the columns, then the positions as text[], then as one bigint[]
     * per part (PostgreSQL parses those once, not a text per row) */
    if (ensure_arrays(m, ncol + 1 + SLUICE_POS_MAX_PARTS) < 0 ||
        ensure_cap(m, ncol + 1 + SLUICE_POS_MAX_PARTS) < 0)
        return sluice_err_set(err, SLUICE_ERR_FATAL, "mirror: out of memory");
    for (i = 0; i <= ncol + SLUICE_POS_MAX_PARTS; i++) {
        sluice_buf_reset(&m->abufs[i]);
        sluice_buf_putc(&m->abufs[i], '{');
    }
    for (r = 0; r < t->nrows; r++) {
        row_t *row = &t->rows[r];
        if (row->op != op || row->toast != toast)
            continue;
        for (k = 0, i = 0; k < t->ncols; k++) {
            if (!mask[k])
                continue;
            if (KEPT(row->vals[k])) /* a different column set */
                break;
            i++;
        }
        if (k < t->ncols)
            continue;
        for (k = 0; k < t->ncols; k++)
            if (!mask[k] && !KEPT(row->vals[k]))
                break;
        if (k < t->ncols)
            continue;
        for (k = 0, i = 0; k < t->ncols; k++)
            if (mask[k])
                array_elem(&m->abufs[i++], row->vals[k]);
        array_elem(&m->abufs[i], row->pos);
        if (arity < 0)
            arity = row->p.n;
        else if (arity != row->p.n)
            arity = 0;
        for (k = 0; k < (size_t)row->p.n && arity > 0; k++) {
            sluice_buf_t *pb = &m->abufs[ncol + 1 + k];
            if (pb->len > 1)
                sluice_buf_putc(pb, ',');
            sluice_buf_put_int64(pb, row->p.part[k]);
        }
        row->op = 0; /* sent */
    }
    if (arity < 0)
        arity = 0;
    for (i = 0; i <= ncol + (size_t)arity; i++)
        if (sluice_buf_putc(&m->abufs[i], '}') < 0)
            return sluice_err_set(err, SLUICE_ERR_FATAL, "mirror: out of memory");
    for (i = 0; i < ncol; i++)
        m->params[i] = m->abufs[i].data;
    if (arity == 0) {
        m->params[ncol] = m->abufs[ncol].data;
        nparams = ncol + 1;
        snprintf(pexpr, sizeof(pexpr), "u.p::bigint[]");
    } else {
        size_t len = (size_t)snprintf(pexpr, sizeof(pexpr), "ARRAY[");
        for (k = 0; k < (size_t)arity; k++) {
            m->params[ncol + k] = m->abufs[ncol + 1 + k].data;
            len += (size_t)snprintf(pexpr + len, sizeof(pexpr) - len, "%su.p%zu", k ? ", " : "", k);
        }
        snprintf(pexpr + len, sizeof(pexpr) - len, "]");
        nparams = ncol + (size_t)arity;
    }

    sluice_buf_reset(&m->sig);
    sluice_buf_printf(&m->sig, "B%c%d%s%d:", op, t->id, toast ? "T" : "", arity);
    for (k = 0; k < t->ncols; k++)
        sluice_buf_putc(&m->sig, mask[k] ? '1' : '0');
    if (!have_statement(m)) {
        sluice_buf_reset(&m->sql);
        if (op == 'U') {
            size_t *idx = malloc((ncol + 1) * sizeof(*idx));
            if (!idx)
                return sluice_err_set(err, SLUICE_ERR_FATAL, "mirror: out of memory");
            sluice_buf_printf(&m->sql, "INSERT INTO %s AS t (", t->qname);
            for (k = 0, i = 0; k < t->ncols; k++) {
                if (!mask[k])
                    continue;
                idx[i++] = k;
                sluice_pg_quote_ident(&m->sql, t->cols[k]);
                sluice_buf_puts(&m->sql, ", ");
            }
            sluice_buf_puts(&m->sql, POS_COLUMN ") SELECT ");
            for (i = 0; i < ncol; i++) {
                column_value(m, t, idx[i], i);
                sluice_buf_puts(&m->sql, ", ");
            }
            sluice_buf_printf(&m->sql, "%s FROM unnest(", pexpr);
            for (i = 0; i < ncol; i++)
                column_array(m, t, idx[i], i);
            pos_arrays(m, ncol, arity);
            for (i = 0; i < ncol; i++)
                sluice_buf_printf(&m->sql, "a%zu, ", i);
            pos_names(m, arity);
            conflict_clause(m, t, idx, ncol, sizeof(size_t));
            free(idx);
            if (toast)
                count_inserts(m);
        } else {
            delete_head(m, t, pexpr);
            sluice_buf_puts(&m->sql, t->has_deleted && m->opts.soft_delete ? " FROM unnest(" : " USING unnest(");
            for (k = 0, i = 0; k < t->ncols; k++)
                if (mask[k])
                    column_array(m, t, k, i++);
            pos_arrays(m, ncol, arity);
            for (i = 0; i < ncol; i++)
                sluice_buf_printf(&m->sql, "a%zu, ", i);
            pos_names(m, arity);
            sluice_buf_puts(&m->sql, " WHERE ");
            match_columns(m, t, mask);
            pos_le(&m->sql, "t." POS_COLUMN, pexpr);
        }
    }
    name = statement(m, pg, (int)nparams, &prepared, err);
    if (!name)
        return -1;
    if (!PQsendQueryPrepared(pg->conn, name, (int)nparams, m->params, NULL, NULL, 0))
        return sluice_pg_result_err(pg, NULL, "mirror: sending a batch", err);
    *nresults += prepared + 1;
    return 0;
}

static void table_clear(sluice_mirror_table_t *t)
{
    t->nrows = 0;
    strmap_cleanup(&t->pending, NULL);
    strmap_init(&t->pending);
}

static int flush_table(sluice_mirror_t *m, sluice_pg_t *pg, sluice_mirror_table_t *t, int *nresults,
                       sluice_err_t *err)
{
    unsigned char *mask = NULL;
    size_t r, k;
    int rc = 0;

    if (!t->nrows)
        return 0;
    mask = malloc(t->ncols + 1);
    if (!mask)
        return sluice_err_set(err, SLUICE_ERR_FATAL, "mirror: out of memory");
    /* each pass sends every row sharing the first unsent row's shape */
    for (r = 0; r < t->nrows && rc == 0; r++) {
        row_t *row = &t->rows[r];
        if (!row->op)
            continue;
        for (k = 0; k < t->ncols; k++)
            mask[k] = row->op == 'D' ? (unsigned char)t->is_pk[k] : !KEPT(row->vals[k]);
        rc = flush_group(m, pg, t, row->op, row->toast, mask, nresults, err);
    }
    free(mask);
    if (rc == 0 && m->opts.reconcile && t->has_snapshot)
        rc = flush_marks(m, pg, t, nresults, err);
    table_clear(t);
    return rc;
}

int sluice_mirror_flush(sluice_mirror_t *m, sluice_pg_t *pg, sluice_mirror_table_t *t,
                        int *nresults, sluice_err_t *err)
{
    sluice_mirror_table_t *d;
    int rc = 0;

    *nresults = 0;
    if (t)
        return flush_table(m, pg, t, nresults, err);
    for (d = m->dirty; d && rc == 0; d = d->next_dirty)
        rc = flush_table(m, pg, d, nresults, err);
    sluice_mirror_discard(m);
    return rc;
}

void sluice_mirror_discard(sluice_mirror_t *m)
{
    sluice_mirror_table_t *d = m->dirty, *next;

    while (d) {
        next = d->next_dirty;
        table_clear(d);
        d->dirty = 0;
        d->next_dirty = NULL;
        d = next;
    }
    m->dirty = NULL;
    sluice_arena_reset(&m->arena);
}

int sluice_mirror_check(sluice_mirror_t *m, sluice_mirror_table_t *t, const sluice_event_t *ev,
                        sluice_err_t *err)
{
    size_t n;
    int toast;

    switch (ev->op) {
    case SLUICE_OP_CREATE:
    case SLUICE_OP_READ:
    case SLUICE_OP_UPDATE:
        if (t->npk == 0 && ev->after.present)
            return 0; /* keyless: checked when applied */
        return collect_after(m, t, ev, &n, &toast, err);
    case SLUICE_OP_DELETE:
        return t->npk == 0 ? 0 : collect_key(m, t, ev, &n, err);
    default:
        return 0;
    }
}

/* ---- schema evolution ----------------------------------------------------------- */

/* The row whose columns describe the table: after, else before, else key. */
static const sluice_row_t *shape_row(const sluice_event_t *ev)
{
    if (ev->after.present && ev->after.ncols)
        return &ev->after;
    if (ev->before.present && ev->before.ncols)
        return &ev->before;
    return ev->key.present ? &ev->key : NULL;
}

static int column_type(const sluice_mirror_table_t *t, const char *display, const sluice_column_t *c,
                       sluice_err_t *err)
{
    (void)t;
    if (!c->type || !c->type->pg_type || !*c->type->pg_type)
        return sluice_err_set(err, SLUICE_ERR_PERMANENT,
                              "mirror: cannot add column \"%s\" to %s: the event carries no schema "
                              "to take its type from (enable schemas on the converter, or add the "
                              "column by hand)",
                              c->name, display);
    return 0;
}


int sluice_mirror_evolve(sluice_mirror_t *m, sluice_pg_t *pg, const char *schema, const char *table,
                         const sluice_event_t *ev, sluice_err_t *err)
{
    const sluice_row_t *row = shape_row(ev);
    sluice_buf_t key, q;
    sluice_mirror_table_t *t;
    PGresult *res;
    const char *params[1];
    size_t i, nkey = 0;
    int exists, changed = 0, has_pos;
    char display[512];

    if (!m->opts.evolve || !row)
        return 0;
    snprintf(display, sizeof(display), "%s.%s", schema, table);
    sluice_buf_init(&key);
    sluice_buf_init(&q);
    sluice_pg_quote_ident(&q, schema);
    sluice_buf_putc(&q, '.');
    sluice_pg_quote_ident(&q, table);
    params[0] = q.data;
    res = PQexecParams(pg->conn, "SELECT to_regclass($1) IS NOT NULL", 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        sluice_pg_result_err(pg, res, "mirror: looking up the target table", err);
        PQclear(res);
        changed = -1;
        goto out;
    }
    exists = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);

    if (!exists) {
        /* CREATE TABLE from the event's schema: every column nullable except
         * the key, the key from the key schema */
        sluice_buf_t ddl;
        sluice_buf_init(&ddl);
        sluice_buf_puts(&ddl, "CREATE SCHEMA IF NOT EXISTS ");
        sluice_pg_quote_ident(&ddl, schema);
        sluice_buf_printf(&ddl, "; CREATE TABLE IF NOT EXISTS %s (", q.data);
        for (i = 0; i < row->ncols; i++) {
            const sluice_column_t *c = &row->cols[i];
            if (column_type(NULL, display, c, err) < 0) {
                sluice_buf_cleanup(&ddl);
                changed = -1;
                goto out;
            }
            if (i)
                sluice_buf_puts(&ddl, ", ");
            sluice_pg_quote_ident(&ddl, c->name);
            sluice_buf_printf(&ddl, " %s", c->type->pg_type);
            if (c->key)
                nkey++;
        }
        if (!nkey && ev->key.present) {
            /* the key row names the key columns even without key flags */
            for (i = 0; i < ev->key.ncols; i++)
                if (sluice_row_get(row, ev->key.cols[i].name))
                    nkey++;
        }
        if (nkey) {
            size_t w = 0;
            sluice_buf_puts(&ddl, ", PRIMARY KEY (");
            for (i = 0; i < row->ncols; i++) {
                const sluice_column_t *c = &row->cols[i];
                if (!(c->key || (ev->key.present && sluice_row_get(&ev->key, c->name))))
                    continue;
                if (w++)
                    sluice_buf_puts(&ddl, ", ");
                sluice_pg_quote_ident(&ddl, c->name);
            }
            sluice_buf_putc(&ddl, ')');
        } else if (!m->opts.keyless_all) {
            sluice_buf_cleanup(&ddl);
            sluice_err_set(err, SLUICE_ERR_PERMANENT,
                           "mirror: cannot create %s: the events carry no key (set "
                           "mirror.keyless = all_columns, or create the table with a primary key)",
                           display);
            changed = -1;
            goto out;
        }
        sluice_buf_puts(&ddl, ")");
        if (sluice_pg_exec(pg, ddl.data, err) < 0) {
            sluice_err_prefix(err, "mirror: creating %s", display);
            if (err->cls == SLUICE_ERR_PERMANENT)
                err->cls = SLUICE_ERR_FATAL;
            sluice_buf_cleanup(&ddl);
            changed = -1;
            goto out;
        }
        sluice_log(SLUICE_LOG_INFO, "mirror: created table %s from the event schema", display);
        sluice_buf_cleanup(&ddl);
        changed = 1;
        goto out;
    }

    /* existing table: add the columns it lacks (never drop or narrow) */
    sluice_buf_printf(&key, "%s\x1f%s", schema, table);
    t = strmap_get(&m->tables, key.data, key.len);
    for (i = 0; i < row->ncols; i++) {
        const sluice_column_t *c = &row->cols[i];
        sluice_buf_t ddl;
        if (t && strmap_get(&t->colidx, c->name, strlen(c->name)))
            continue;
        if (!t) {
            /* not loaded yet: ask the catalog */
            const char *p2[2] = {q.data, c->name};
            int found;
            res = PQexecParams(pg->conn,
                               "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND "
                               "attname = $2 AND NOT attisdropped",
                               2, NULL, p2, NULL, NULL, 0);
            found = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0;
            PQclear(res);
            if (found)
                continue;
        }
        if (column_type(t, display, c, err) < 0) {
            changed = -1;
            goto out;
        }
        sluice_buf_init(&ddl);
        sluice_buf_printf(&ddl, "ALTER TABLE %s ADD COLUMN IF NOT EXISTS ", q.data);
        sluice_pg_quote_ident(&ddl, c->name);
        sluice_buf_printf(&ddl, " %s", c->type->pg_type);
        if (sluice_pg_exec(pg, ddl.data, err) < 0) {
            sluice_err_prefix(err, "mirror: adding column \"%s\" to %s", c->name, display);
            if (err->cls == SLUICE_ERR_PERMANENT)
                err->cls = SLUICE_ERR_FATAL;
            sluice_buf_cleanup(&ddl);
            changed = -1;
            goto out;
        }
        sluice_log(SLUICE_LOG_INFO, "mirror: added column \"%s\" %s to %s", c->name, c->type->pg_type,
                   display);
        sluice_buf_cleanup(&ddl);
        changed = 1;
    }
    if (changed > 0 && t) {
        /* new columns come after the old ones: statement shapes stay valid */
        columns_free(t);
        if (load_columns(pg, t, &has_pos, err) < 0) {
            changed = -1;
            goto out;
        }
    }
out:
    sluice_buf_cleanup(&key);
    sluice_buf_cleanup(&q);
    return changed;
}
