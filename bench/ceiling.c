/*
 * bench-ceiling: the PostgreSQL batched-upsert ceiling for a change stream.
 *
 *   bench-ceiling CONNINFO TABLE OPS_FILE BATCH NAME:TYPE...
 *
 * OPS_FILE is gen_events.py's ops.tsv: one line per change event,
 * `OP<TAB>v1<TAB>…` in COPY text escaping (`d` lines carry only the key).
 * The first column is the primary key (an int4).  Everything is read and
 * parsed into memory first; then, timed, the events are applied BATCH at a
 * time (5,000 in the bench), one transaction per batch:
 *
 *   - within the batch, the events of one key collapse to the last one
 *     (an unchanged-TOAST placeholder keeps the value of an earlier upsert
 *     of the same key in the batch), as every batching sink does;
 *   - DELETE FROM t WHERE id = ANY($1::int4[])   for keys ending deleted;
 *   - INSERT INTO t (…) SELECT * FROM unnest($1::int4[], $2::text[], …)
 *     ON CONFLICT (id) DO UPDATE SET c = EXCLUDED.c, …   for the others,
 *     a placeholder column keeping the stored value
 *     (CASE WHEN EXCLUDED.c = placeholder THEN t.c ELSE EXCLUDED.c END);
 *   - COMMIT (synchronous_commit as the server has it).
 *
 * Both statements are prepared once; arrays are sent as text literals.
 * Prints one JSON line: events, rows upserted/deleted, seconds, events/s
 * (= events in the file / apply time) and rows/s.
 */
#include <libpq-fe.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PLACEHOLDER "__debezium_unavailable_value"

typedef struct {
        char op;
        int32_t id;
        char **vals; /* ncols, unescaped; NULL = SQL NULL; d: unused */
} ev_t;

typedef struct {
        char *p;
        size_t len, cap;
} sbuf_t;

static void sb_put(sbuf_t *b, const char *s, size_t n) {
        if (b->len + n + 1 > b->cap) {
                b->cap = (b->len + n + 1) * 2;
                b->p   = realloc(b->p, b->cap);
        }
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
}

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* COPY text field -> malloc'd string, or NULL for \N. */
static char *unescape(const char *s, size_t n) {
        char *out, *o;
        size_t i;

        if (n == 2 && s[0] == '\\' && s[1] == 'N')
                return NULL;
        out = o = malloc(n + 1);
        for (i = 0; i < n; i++) {
                if (s[i] == '\\' && i + 1 < n) {
                        char c = s[++i];
                        *o++   = c == 't' ? '\t' : c == 'n' ? '\n'
                                         : c == 'r' ? '\r' : c;
                } else {
                        *o++ = s[i];
                }
        }
        *o = '\0';
        return out;
}

static void arr_add(sbuf_t *b, const char *v, int first) {
        const char *s;

        if (!first)
                sb_put(b, ",", 1);
        if (!v) {
                sb_put(b, "NULL", 4);
                return;
        }
        sb_put(b, "\"", 1);
        for (s = v; *s;) {
                size_t run = strcspn(s, "\"\\");
                sb_put(b, s, run);
                s += run;
                if (*s) {
                        sb_put(b, "\\", 1);
                        sb_put(b, s, 1);
                        s++;
                }
        }
        sb_put(b, "\"", 1);
}

static int ok(PGresult *r, const char *what) {
        ExecStatusType st = PQresultStatus(r);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
                fprintf(stderr, "bench-ceiling: %s: %s", what,
                        PQresultErrorMessage(r));
                PQclear(r);
                return 0;
        }
        PQclear(r);
        return 1;
}

int main(int argc, char **argv) {
        const char *conninfo, *table, *path;
        int batch, ncols, c, j;
        char **names, **types;
        ev_t *evs  = NULL;
        size_t nev = 0, cap = 0;
        FILE *f;
        char *line = NULL;
        size_t lcap = 0;
        ssize_t len;
        PGconn *db;
        sbuf_t sql = {0};
        int32_t maxid = 0;
        int32_t *slot_of; /* id -> index into batch slots + 1, per batch */
        int64_t *stamp_of;
        int64_t upserted = 0, deleted = 0;
        double t0, t1;

        if (argc < 6) {
                fprintf(stderr, "usage: bench-ceiling CONNINFO TABLE OPS_FILE "
                                "BATCH NAME:TYPE...\n");
                return 2;
        }
        conninfo = argv[1];
        table    = argv[2];
        path     = argv[3];
        batch    = atoi(argv[4]);
        ncols    = argc - 5;
        names    = calloc((size_t)ncols, sizeof(char *));
        types    = calloc((size_t)ncols, sizeof(char *));
        for (c = 0; c < ncols; c++) {
                char *colon = strchr(argv[5 + c], ':');
                if (!colon || batch < 1) {
                        fprintf(stderr, "bench-ceiling: bad column %s\n",
                                argv[5 + c]);
                        return 2;
                }
                *colon   = '\0';
                names[c] = argv[5 + c];
                types[c] = colon + 1;
        }

        if (!(f = fopen(path, "r"))) {
                perror(path);
                return 1;
        }
        while ((len = getline(&line, &lcap, f)) > 0) {
                ev_t *e;
                char *p = line, *end = line + len;

                if (end[-1] == '\n')
                        *--end = '\0';
                if (nev == cap) {
                        cap = cap ? cap * 2 : 65536;
                        evs = realloc(evs, cap * sizeof(*evs));
                }
                e     = &evs[nev++];
                e->op = p[0];
                p += 2;
                e->id = (int32_t)strtol(p, NULL, 10);
                if (e->id > maxid)
                        maxid = e->id;
                e->vals = NULL;
                if (e->op == 'd')
                        continue;
                e->vals = calloc((size_t)ncols, sizeof(char *));
                for (c = 0; c < ncols; c++) {
                        char *tab = memchr(p, '\t', (size_t)(end - p));
                        char *fe  = tab ? tab : end;
                        e->vals[c] = unescape(p, (size_t)(fe - p));
                        p          = tab ? tab + 1 : end;
                }
        }
        fclose(f);
        free(line);

        db = PQconnectdb(conninfo);
        if (PQstatus(db) != CONNECTION_OK) {
                fprintf(stderr, "bench-ceiling: %s", PQerrorMessage(db));
                return 1;
        }
        /* upsert */
        sb_put(&sql, "INSERT INTO ", 12);
        sb_put(&sql, table, strlen(table));
        sb_put(&sql, " AS t (", 7);
        for (c = 0; c < ncols; c++) {
                if (c)
                        sb_put(&sql, ",", 1);
                sb_put(&sql, names[c], strlen(names[c]));
        }
        sb_put(&sql, ") SELECT * FROM unnest(", 23);
        for (c = 0; c < ncols; c++) {
                char tmp[128];
                snprintf(tmp, sizeof(tmp), "%s$%d::%s[]", c ? "," : "", c + 1,
                         types[c]);
                sb_put(&sql, tmp, strlen(tmp));
        }
        sb_put(&sql, ") ON CONFLICT (", 15);
        sb_put(&sql, names[0], strlen(names[0]));
        sb_put(&sql, ") DO UPDATE SET ", 16);
        for (c = 1; c < ncols; c++) {
                char tmp[512];
                if (!strcmp(names[c], "notes"))
                        snprintf(tmp, sizeof(tmp),
                                 "%s%s = CASE WHEN EXCLUDED.%s = '%s' THEN "
                                 "t.%s ELSE EXCLUDED.%s END",
                                 c > 1 ? "," : "", names[c], names[c],
                                 PLACEHOLDER, names[c], names[c]);
                else
                        snprintf(tmp, sizeof(tmp), "%s%s = EXCLUDED.%s",
                                 c > 1 ? "," : "", names[c], names[c]);
                sb_put(&sql, tmp, strlen(tmp));
        }
        if (!ok(PQprepare(db, "up", sql.p, ncols, NULL), "prepare upsert"))
                return 1;
        sql.len = 0;
        sb_put(&sql, "DELETE FROM ", 12);
        sb_put(&sql, table, strlen(table));
        sb_put(&sql, " WHERE ", 7);
        sb_put(&sql, names[0], strlen(names[0]));
        sb_put(&sql, " = ANY($1::int4[])", 18);
        if (!ok(PQprepare(db, "del", sql.p, 1, NULL), "prepare delete"))
                return 1;

        slot_of  = calloc((size_t)maxid + 1, sizeof(*slot_of));
        stamp_of = calloc((size_t)maxid + 1, sizeof(*stamp_of));
        {
                ev_t **slots    = calloc((size_t)batch, sizeof(ev_t *));
                char ***merged  = calloc((size_t)batch, sizeof(char **));
                sbuf_t *arrs    = calloc((size_t)ncols, sizeof(sbuf_t));
                const char **pv = calloc((size_t)ncols, sizeof(char *));
                size_t b0;

                for (j = 0; j < batch; j++)
                        merged[j] = calloc((size_t)ncols, sizeof(char *));
                t0 = now_s();
                for (b0 = 0; b0 < nev; b0 += (size_t)batch) {
                        size_t b1 = b0 + (size_t)batch < nev ? b0 + (size_t)batch
                                                             : nev;
                        int nslots = 0, nup = 0, ndel = 0, s;
                        int64_t stamp = (int64_t)b0 + 1;
                        size_t k;

                        for (k = b0; k < b1; k++) {
                                ev_t *e = &evs[k];
                                int sl;
                                if (stamp_of[e->id] != stamp) {
                                        stamp_of[e->id] = stamp;
                                        slot_of[e->id]  = nslots;
                                        slots[nslots]   = NULL;
                                        nslots++;
                                }
                                sl = slot_of[e->id];
                                if (e->op != 'd') {
                                        for (c = 0; c < ncols; c++) {
                                                const char *v = e->vals[c];
                                                if (v && slots[sl] &&
                                                    slots[sl]->op != 'd' &&
                                                    !strcmp(v, PLACEHOLDER))
                                                        continue; /* keep */
                                                merged[sl][c] = (char *)v;
                                        }
                                }
                                slots[sl] = e;
                        }
                        if (!ok(PQexec(db, "BEGIN"), "BEGIN"))
                                return 1;
                        for (c = 0; c < ncols; c++) {
                                arrs[c].len = 0;
                                sb_put(&arrs[c], "{", 1);
                        }
                        for (s = 0; s < nslots; s++) {
                                if (slots[s]->op == 'd')
                                        continue;
                                for (c = 0; c < ncols; c++)
                                        arr_add(&arrs[c], merged[s][c], nup == 0);
                                nup++;
                        }
                        if (nup) {
                                for (c = 0; c < ncols; c++) {
                                        sb_put(&arrs[c], "}", 1);
                                        pv[c] = arrs[c].p;
                                }
                                if (!ok(PQexecPrepared(db, "up", ncols, pv, NULL,
                                                       NULL, 0),
                                        "upsert"))
                                        return 1;
                        }
                        arrs[0].len = 0;
                        sb_put(&arrs[0], "{", 1);
                        for (s = 0; s < nslots; s++) {
                                char tmp[16];
                                if (slots[s]->op != 'd')
                                        continue;
                                snprintf(tmp, sizeof(tmp), "%s%d",
                                         ndel ? "," : "", slots[s]->id);
                                sb_put(&arrs[0], tmp, strlen(tmp));
                                ndel++;
                        }
                        if (ndel) {
                                sb_put(&arrs[0], "}", 1);
                                pv[0] = arrs[0].p;
                                if (!ok(PQexecPrepared(db, "del", 1, pv, NULL,
                                                       NULL, 0),
                                        "delete"))
                                        return 1;
                        }
                        if (!ok(PQexec(db, "COMMIT"), "COMMIT"))
                                return 1;
                        upserted += nup;
                        deleted += ndel;
                }
                t1 = now_s();
        }
        printf("{\"events\":%zu,\"batch\":%d,\"rows_upserted\":%" PRId64
               ",\"rows_deleted\":%" PRId64 ",\"seconds\":%.3f,"
               "\"events_per_s\":%.0f,\"rows_per_s\":%.0f}\n",
               nev, batch, upserted, deleted, t1 - t0,
               (double)nev / (t1 - t0),
               (double)(upserted + deleted) / (t1 - t0));
        PQfinish(db);
        return 0;
}
