/* Routing: topic -> mirrored table, and event -> handler chain. Matches are
 * resolved once per (topic, source table) and cached; per event only the op
 * mask is checked. Owns handler init/teardown; does not run handlers. */
#include "sluice/route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

void sluice_target_cleanup(sluice_target_t *target)
{
    free(target->schema);
    free(target->table);
    target->schema = NULL;
    target->table = NULL;
}

int sluice_route_target(const sluice_config_t *cfg, const char *topic, sluice_target_t *target,
                        sluice_err_t *err)
{
    const char *explicit = sluice_config_mirror_table(cfg, topic);
    const char *dot;

    target->schema = NULL;
    target->table = NULL;
    if (explicit) {
        dot = strchr(explicit, '.'); /* validated by config: exactly one dot */
        target->schema = strndup(explicit, (size_t)(dot - explicit));
        target->table = strdup(dot + 1);
    } else {
        const char *delim = cfg->topic_delimiter && *cfg->topic_delimiter ? cfg->topic_delimiter : ".";
        size_t dl = strlen(delim);
        const char *p;
        dot = NULL;
        for (p = strstr(topic, delim); p; p = strstr(p + 1, delim))
            dot = p;
        if (dot)
            dot += dl - 1; /* the table name starts after the delimiter */
        if (!dot || !dot[1])
            return sluice_err_set(err, SLUICE_ERR_PERMANENT,
                                  "route: topic \"%s\" is not named <prefix>.<schema>.<table>; map it "
                                  "with mirror.tables {\"%s\": \"schema.table\"}",
                                  topic, topic);
        target->schema = strdup(cfg->mirror_schema);
        target->table = strdup(dot + 1);
    }
    if (!target->schema || !target->table) {
        sluice_target_cleanup(target);
        return sluice_err_set(err, SLUICE_ERR_FATAL, "route: out of memory");
    }
    return 0;
}

int sluice_route_glob(const char *p, const char *s)
{
    const char *star = NULL, *resume = NULL;

    while (*s) {
        if (*p == '*') {
            star = p++;
            resume = s;
        } else if (*p == *s) {
            p++;
            s++;
        } else if (star) {
            p = star + 1;
            s = ++resume;
        } else {
            return 0;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

unsigned sluice_op_mask(sluice_op_t op)
{
    switch (op) {
    case SLUICE_OP_CREATE:
        return SLUICE_OPS_C;
    case SLUICE_OP_UPDATE:
        return SLUICE_OPS_U;
    case SLUICE_OP_DELETE:
        return SLUICE_OPS_D;
    case SLUICE_OP_READ:
        return SLUICE_OPS_R;
    case SLUICE_OP_TRUNCATE:
        return SLUICE_OPS_T;
    case SLUICE_OP_MESSAGE:
        return SLUICE_OPS_M;
    default:
        return 0;
    }
}

typedef struct {
    size_t n;
    sluice_route_entry_t *e; /* all entries matching the (topic, table) */
} chain_t;

/* Patterns of one entry: the compiled match, or the config's handlers.<name>. */
typedef struct {
    char **pats;
    size_t n;
} pats_t;

struct sluice_router {
    sluice_route_entry_t *all;
    pats_t *pats; /* per entry, when the config overrides the match */
    size_t npats;
    size_t nall;
    int has_custom;
    strmap_t chains; /* "topic\x1fschema.table" -> chain_t* */
    sluice_route_entry_t *scratch;
    chain_t *last; /* the chain of the key last matched */
    char last_key[1024];
    size_t last_klen;
};

static const sluice_handler_t mirror_only[] = {SLUICE_HANDLER_MIRROR};

sluice_router_t *sluice_router_new(const sluice_config_t *cfg, const sluice_handler_t *handlers,
                                   size_t n, sluice_err_t *err)
{
    sluice_router_t *r = calloc(1, sizeof(*r));
    size_t i, j;

    if (!handlers || !n) {
        handlers = mirror_only;
        n = 1;
    }
    if (!r || !(r->all = calloc(n, sizeof(*r->all))) || !(r->scratch = calloc(n, sizeof(*r->scratch))) ||
        !(r->pats = calloc(n, sizeof(*r->pats)))) {
        sluice_err_set(err, SLUICE_ERR_FATAL, "route: out of memory");
        goto fail;
    }
    r->npats = n;
    strmap_init(&r->chains);
    /* every handlers.<name> of the config must name a compiled handler */
    for (i = 0; i < cfg->nhandlers; i++) {
        for (j = 0; j < n && strcmp(handlers[j].name, cfg->handlers[i].key) != 0; j++)
            ;
        if (j == n) {
            char names[512];
            size_t used = 0, k;
            names[0] = '\0';
            for (k = 0; k < n && used < sizeof(names) - 1; k++) {
                int w = snprintf(names + used, sizeof(names) - used, "%s%s", k ? ", " : "",
                                 handlers[k].name);
                if (w < 0)
                    break;
                used += (size_t)w;
            }
            sluice_err_set(err, SLUICE_ERR_FATAL,
                           "config: handlers.%s names no handler compiled into this worker (it has: "
                           "%s)",
                           cfg->handlers[i].key, names);
            goto fail;
        }
    }
    for (i = 0; i < n; i++) {
        const sluice_handler_t *h = &handlers[i];
        if (!h->name || !h->match) {
            sluice_err_set(err, SLUICE_ERR_FATAL, "handler table entry %zu has no name or match", i);
            goto fail;
        }
        for (j = 0; j < i; j++)
            if (strcmp(handlers[j].name, h->name) == 0) {
                sluice_err_set(err, SLUICE_ERR_FATAL, "handler table: two entries are named \"%s\"",
                               h->name);
                goto fail;
            }
        r->all[i].h = h;
        r->all[i].is_mirror = h->fn == NULL;
        {
            const char *cp = sluice_config_handler_patterns(cfg, h->name);
            if (cp) {
                char *copy = strdup(cp), *save = NULL, *tok;
                if (!copy) {
                    sluice_err_set(err, SLUICE_ERR_FATAL, "route: out of memory");
                    goto fail;
                }
                r->pats[i].pats = calloc(strlen(cp) + 2, sizeof(char *));
                for (tok = strtok_r(copy, "\n", &save); tok && r->pats[i].pats;
                     tok = strtok_r(NULL, "\n", &save))
                    r->pats[i].pats[r->pats[i].n++] = strdup(tok);
                free(copy);
                if (!r->pats[i].pats) {
                    sluice_err_set(err, SLUICE_ERR_FATAL, "route: out of memory");
                    goto fail;
                }
            }
        }
        if (!r->all[i].is_mirror)
            r->has_custom = 1;
        if (h->init && h->init(cfg, &r->all[i].state, err) < 0) {
            sluice_err_prefix(err, "handler %s: init", h->name);
            if (err->cls != SLUICE_ERR_TRANSIENT)
                err->cls = SLUICE_ERR_FATAL;
            r->nall = i; /* tear down the ones before */
            goto fail;
        }
        r->nall = i + 1;
    }
    return r;
fail:
    sluice_router_destroy(r);
    return NULL;
}

static void chain_free(void *p)
{
    chain_t *c = p;

    if (c)
        free(c->e);
    free(c);
}

void sluice_router_destroy(sluice_router_t *r)
{
    size_t i;

    if (!r)
        return;
    for (i = r->nall; i-- > 0;)
        if (r->all[i].h->teardown)
            r->all[i].h->teardown(r->all[i].state);
    if (r->pats) {
        size_t k;
        for (i = 0; i < r->npats; i++) {
            for (k = 0; k < r->pats[i].n; k++)
                free(r->pats[i].pats[k]);
            free(r->pats[i].pats);
        }
        free(r->pats);
    }
    strmap_cleanup(&r->chains, chain_free);
    free(r->all);
    free(r->scratch);
    free(r);
}

int sluice_router_has_custom(sluice_router_t *r)
{
    return r->has_custom;
}

static chain_t *resolve(sluice_router_t *r, const char *topic, const char *qualified,
                        const char *key, size_t klen)
{
    chain_t *c = calloc(1, sizeof(*c));
    size_t i;

    if (!c || !(c->e = calloc(r->nall ? r->nall : 1, sizeof(*c->e)))) {
        free(c);
        return NULL;
    }
    for (i = 0; i < r->nall; i++) {
        size_t k;
        int hit = 0;
        if (r->pats[i].pats) {
            for (k = 0; k < r->pats[i].n && !hit; k++)
                hit = sluice_route_glob(r->pats[i].pats[k], topic) ||
                      (qualified && sluice_route_glob(r->pats[i].pats[k], qualified));
        } else {
            const char *m = r->all[i].h->match;
            hit = sluice_route_glob(m, topic) || (qualified && sluice_route_glob(m, qualified));
        }
        if (hit)
            c->e[c->n++] = r->all[i];
    }
    if (strmap_put(&r->chains, key, klen, c) < 0) {
        chain_free(c);
        return NULL;
    }
    return c;
}

/* Appends s to dst[at, cap - 1), truncating; the new length. */
static size_t cat(char *dst, size_t cap, size_t at, const char *s)
{
    size_t n = strlen(s);

    if (n > cap - 1 - at)
        n = cap - 1 - at;
    memcpy(dst + at, s, n);
    return at + n;
}

int sluice_router_match(sluice_router_t *r, const sluice_event_t *ev,
                        const sluice_route_entry_t **out, size_t *nout)
{
    char key[1024], qualified[512];
    const char *topic = ev->topic ? ev->topic : "";
    const char *schema = ev->schema && *ev->schema ? ev->schema : ev->db;
    unsigned bit = sluice_op_mask(ev->op);
    chain_t *c;
    size_t i, n = 0, klen, qlen;

    *out = r->scratch;
    *nout = 0;
    if (!bit)
        return 0;
    qlen = 0;
    if (schema && ev->table && *ev->table) {
        qlen = cat(qualified, sizeof(qualified), qlen, schema);
        qlen = cat(qualified, sizeof(qualified), qlen, ".");
        qlen = cat(qualified, sizeof(qualified), qlen, ev->table);
    }
    qualified[qlen] = '\0';
    klen = cat(key, sizeof(key), 0, topic);
    klen = cat(key, sizeof(key), klen, "\x1f");
    klen = cat(key, sizeof(key), klen, qualified);
    /* consecutive events mostly come from one table */
    if (r->last && klen == r->last_klen && memcmp(key, r->last_key, klen) == 0) {
        c = r->last;
    } else {
        c = strmap_get(&r->chains, key, klen);
        if (!c)
            c = resolve(r, topic, qualified[0] ? qualified : NULL, key, klen);
        if (!c)
            return -1;
        memcpy(r->last_key, key, klen);
        r->last_klen = klen;
        r->last = c;
    }
    for (i = 0; i < c->n; i++)
        if (c->e[i].h->ops & bit)
            r->scratch[n++] = c->e[i];
    *nout = n;
    return 0;
}
