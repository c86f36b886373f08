/* PostgreSQL connection handling: connecting, classifying failures by SQLSTATE
 * into transient / permanent / fatal, and running Sluice's migrations. It
 * knows nothing about events or mirrored tables. */
#include "sluice/pg.h"

#include <stdlib.h>
#include <string.h>

#include "migrations.h"

static void notice_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static int open_conn(sluice_pg_t *pg, sluice_err_t *err)
{
    pg->conn = PQconnectdb(pg->conninfo);
    if (!pg->conn)
        return sluice_err_set(err, SLUICE_ERR_TRANSIENT, "postgres: out of memory connecting");
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        const char *msg = PQerrorMessage(pg->conn);
        size_t len = strlen(msg);
        sluice_err_class_t cls = SLUICE_ERR_TRANSIENT;

        while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
            len--;
        /* Wrong credentials, unknown database or role, bad options: retrying
         * cannot help, the operator must fix the conninfo. */
        if (strstr(msg, "password authentication failed") || strstr(msg, "does not exist") ||
            strstr(msg, "no pg_hba.conf entry") || strstr(msg, "invalid connection option") ||
            strstr(msg, "missing \"=\"") || strstr(msg, "invalid URI") ||
            strstr(msg, "authentication failed") || strstr(msg, "permission denied"))
            cls = SLUICE_ERR_FATAL;
        sluice_err_set(err, cls, "postgres: cannot connect: %.*s (check postgres.conninfo)", (int)len,
                       msg);
        PQfinish(pg->conn);
        pg->conn = NULL;
        return -1;
    }
    PQsetNoticeProcessor(pg->conn, notice_quiet, NULL);
    return 0;
}

sluice_pg_t *sluice_pg_connect(const char *conninfo, sluice_err_t *err)
{
    sluice_pg_t *pg = calloc(1, sizeof(*pg));

    if (!pg || !(pg->conninfo = strdup(conninfo))) {
        free(pg);
        sluice_err_set(err, SLUICE_ERR_FATAL, "postgres: out of memory");
        return NULL;
    }
    if (open_conn(pg, err) < 0) {
        sluice_pg_destroy(pg);
        return NULL;
    }
    return pg;
}

void sluice_pg_destroy(sluice_pg_t *pg)
{
    if (!pg)
        return;
    if (pg->conn)
        PQfinish(pg->conn);
    free(pg->conninfo);
    free(pg);
}

int sluice_pg_reconnect(sluice_pg_t *pg, sluice_err_t *err)
{
    if (pg->conn)
        PQfinish(pg->conn);
    pg->conn = NULL;
    return open_conn(pg, err);
}

sluice_err_class_t sluice_pg_classify(const sluice_pg_t *pg, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    if (!pg->conn || PQstatus(pg->conn) != CONNECTION_OK)
        return SLUICE_ERR_TRANSIENT;
    if (!state)
        return SLUICE_ERR_TRANSIENT; /* client-side failure: connection lost mid-result */
    if (strncmp(state, "08", 2) == 0 ||  /* connection exception */
        strcmp(state, "40001") == 0 ||   /* serialization failure */
        strcmp(state, "40P01") == 0 ||   /* deadlock */
        strncmp(state, "57P0", 4) == 0 || /* admin/crash shutdown, cannot connect now */
        strcmp(state, "53300") == 0 ||   /* too many connections */
        strcmp(state, "55P03") == 0 ||   /* lock not available */
        strcmp(state, "57014") == 0)     /* query canceled (statement timeout) */
        return SLUICE_ERR_TRANSIENT;
    if (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0)
        return SLUICE_ERR_PERMANENT; /* data exception, integrity violation: this event */
    if (strncmp(state, "28", 2) == 0 || strcmp(state, "42501") == 0)
        return SLUICE_ERR_FATAL; /* authorization, insufficient privilege */
    if (strncmp(state, "42", 2) == 0)
        return SLUICE_ERR_PERMANENT; /* undefined column/table, syntax: shape of this event */
    return SLUICE_ERR_FATAL;
}

int sluice_pg_result_err(const sluice_pg_t *pg, const PGresult *res, const char *what,
                         sluice_err_t *err)
{
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;

    if (!msg) {
        const char *cm = pg->conn ? PQerrorMessage(pg->conn) : "connection lost";
        size_t len = strlen(cm);
        while (len && cm[len - 1] == '\n')
            len--;
        return sluice_err_set(err, sluice_pg_classify(pg, res), "%s: %.*s", what, (int)len, cm);
    }
    return sluice_err_set(err, sluice_pg_classify(pg, res), "%s: %s%s%s (SQLSTATE %s)", what, msg,
                          detail ? "; " : "", detail ? detail : "", state ? state : "?");
}

int sluice_pg_exec(sluice_pg_t *pg, const char *sql, sluice_err_t *err)
{
    PGresult *res = PQexec(pg->conn, sql);
    int ok = res && (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK);

    if (!ok)
        sluice_pg_result_err(pg, res, "postgres", err);
    PQclear(res);
    return ok ? 0 : -1;
}

int sluice_pg_quote_ident(sluice_buf_t *buf, const char *ident)
{
    const char *p;

    if (sluice_buf_putc(buf, '"') < 0)
        return -1;
    for (p = ident; *p; p++) {
        if (*p == '"' && sluice_buf_putc(buf, '"') < 0)
            return -1;
        if (sluice_buf_putc(buf, *p) < 0)
            return -1;
    }
    return sluice_buf_putc(buf, '"');
}

static int applied_version(sluice_pg_t *pg, int *version, sluice_err_t *err)
{
    PGresult *res = PQexec(pg->conn, "SELECT coalesce(max(version), 0) FROM sluice.schema_migrations");

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        sluice_pg_result_err(pg, res, "postgres: reading sluice.schema_migrations", err);
        PQclear(res);
        return -1;
    }
    *version = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

int sluice_pg_migrate(sluice_pg_t *pg, sluice_err_t *err)
{
    size_t i;
    int version = 0, rc = -1;

    /* One worker migrates at a time; the others wait and then see the work done. */
    if (sluice_pg_exec(pg, "SELECT pg_advisory_lock(7306435467220611)", err) < 0)
        goto fail_lock;
    if (sluice_pg_exec(pg,
                       "CREATE SCHEMA IF NOT EXISTS sluice;"
                       "CREATE TABLE IF NOT EXISTS sluice.schema_migrations ("
                       " version integer PRIMARY KEY, name text NOT NULL,"
                       " applied_at timestamptz NOT NULL DEFAULT now())",
                       err) < 0)
        goto fail;
    if (applied_version(pg, &version, err) < 0)
        goto fail;
    for (i = 0; i < sluice_migrations_count; i++) {
        const sluice_migration_t *m = &sluice_migrations[i];
        const char *params[2];
        char vtext[16];
        PGresult *res;

        if (m->version <= version)
            continue;
        if (sluice_pg_exec(pg, "BEGIN", err) < 0)
            goto fail;
        if (sluice_pg_exec(pg, m->sql, err) < 0) {
            sluice_err_prefix(err, "migration %s", m->name);
            PQclear(PQexec(pg->conn, "ROLLBACK"));
            goto fail;
        }
        snprintf(vtext, sizeof(vtext), "%d", m->version);
        params[0] = vtext;
        params[1] = m->name;
        res = PQexecParams(pg->conn,
                           "INSERT INTO sluice.schema_migrations (version, name) VALUES ($1, $2)", 2,
                           NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            sluice_pg_result_err(pg, res, "postgres: recording migration", err);
            PQclear(res);
            PQclear(PQexec(pg->conn, "ROLLBACK"));
            goto fail;
        }
        PQclear(res);
        if (sluice_pg_exec(pg, "COMMIT", err) < 0)
            goto fail;
    }
    rc = 0;
fail:
    PQclear(PQexec(pg->conn, "SELECT pg_advisory_unlock(7306435467220611)"));
fail_lock:
    if (rc < 0 && err->cls == SLUICE_ERR_PERMANENT)
        err->cls = SLUICE_ERR_FATAL; /* a schema problem is the operator's to fix */
    return rc;
}
