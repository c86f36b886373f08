/* Confluent-framed Avro Debezium envelopes -> sluice_event_t.
 * Owns: the wire framing, compiling a writer schema once into a decode plan
 * (node tree with each node's value kind, integer meaning, decimal scale and
 * each envelope/source field's role, read from the schema JSON because avro-c
 * does not expose connect.name / connect.parameters), the id -> plan cache,
 * and a bounds-checked reader of Avro binary driven by the plan. avro-c
 * validates every schema (and encodes Avro JSON for tools and tests, at the
 * end of this file). Semantic rules (Debezium type names, snapshot values,
 * source positions, decimals, the unchanged-TOAST placeholder) are the JSON
 * decoder's, shared through decode_json_int.h, so handlers cannot tell the
 * formats apart. It does not fetch schemas (registry) or pick a format
 * (decode). */
#include "sluice/decode_avro.h"

#include <avro.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode_avro_int.h"
#include "decode_json_int.h"

#define DEFAULT_PLACEHOLDER "__debezium_unavailable_value"

/* Nesting deeper than this in a datum is refused (a recursive schema could
 * otherwise recurse without bound on hostile bytes). */
#define MAX_DEPTH 64
/* Elements of an array whose items take no bytes (null): refused beyond. */
#define MAX_EMPTY_ITEMS 100000

/* ---------------------------------------------------------------------- */
/* the decode plan */

typedef enum {
    T_NULL,
    T_BOOL,
    T_INT,
    T_LONG,
    T_FLOAT,
    T_DOUBLE,
    T_BYTES,
    T_STRING,
    T_RECORD,
    T_ENUM,
    T_ARRAY,
    T_MAP,
    T_UNION,
    T_FIXED
} atype_t;

/* What a field of the envelope or of its source block is for. */
typedef enum {
    F_NONE = 0,
    E_BEFORE,
    E_AFTER,
    E_SOURCE,
    E_OP,
    E_TS_MS,
    E_MESSAGE,
    S_CONNECTOR,
    S_NAME,
    S_DB,
    S_SCHEMA,
    S_TABLE,
    S_SNAPSHOT,
    S_TS_MS,
    S_TXID,
    S_SEQUENCE,
    S_LSN,
    S_FILE,
    S_POS,
    S_ROW
} role_t;

typedef struct node node_t;

typedef struct {
    char *name;
    node_t *type;
    role_t role;
    sluice_coltype_t ct; /* the column type a row field reports (optional from its union) */
} field_t;

struct node {
    atype_t t;
    char *fullname;             /* named types */
    sluice_value_kind_t kind;   /* string: TEXT/JSON/UUID/TIMESTAMPTZ/TIMETZ */
    sluice_intsem_t intsem;     /* int, long */
    int decimal;                /* bytes, fixed: Connect Decimal / logicalType decimal */
    int32_t scale;
    int vsd;                    /* record: io.debezium.data.VariableScaleDecimal */
    size_t vsd_scale, vsd_value;
    field_t *fields;            /* record */
    size_t nfields;
    node_t **branches;          /* union */
    size_t nbranches;
    node_t *items;              /* array items, map values */
    char **symbols;             /* enum */
    size_t nsymbols;
    size_t size;                /* fixed */
    size_t minsize;             /* fewest bytes a value takes (lower bound) */
    int sizing;                 /* minsize being computed (recursive types) */
    sluice_type_plan_t tp;      /* the type table's verdict (types.c) */
    sluice_coltype_t ct;        /* ... as a column type; pg_type points to pg */
    char pg[64];
    char *semantic;             /* connect.name / logical type's Connect name (owned) */
    int resolved;
};

typedef struct {
    char *fullname;
    node_t *node;
} named_t;

typedef struct {
    node_t *root;
    node_t **nodes; /* every node, for freeing */
    size_t nnodes, capnodes;
    named_t *names;
    size_t nnames, capnames;
    int envelope; /* root record has an "op" field */
    int kind;     /* REC_ENVELOPE, REC_FLAT, REC_CONTROL */
    char *error;  /* non-NULL: the schema cannot be decoded; this says why */
} plan_t;

typedef struct {
    int32_t id;
    int used;
    plan_t *plan;
} slot_t;

struct sluice_avro_decoder {
    sluice_registry_t *reg; /* borrowed, may be NULL */
    char *ph;               /* placeholder text */
    size_t ph_len;
    char ph_uuid[37];
    sluice_type_opts_t topts;
    sluice_flattened_t flattened;
    char *prefix;           /* ExtractNewRecordState add.fields.prefix */
    slot_t *tab; /* id -> plan, open addressing */
    size_t cap, n;
};

static const char *type_names[] = {"null", "boolean", "int", "long", "float", "double", "bytes",
                                   "string", "record", "enum", "array", "map", "union", "fixed"};

/* ---------------------------------------------------------------------- */
/* compiling a schema */

typedef struct {
    plan_t *pl;
    char why[512];
    sluice_type_opts_t topts;
} comp_t;

static int cfail(comp_t *cp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int cfail(comp_t *cp, const char *fmt, ...)
{
    va_list ap;

    if (!cp->why[0]) {
        va_start(ap, fmt);
        vsnprintf(cp->why, sizeof(cp->why), fmt, ap);
        va_end(ap);
    }
    return -1;
}

static node_t *node_new(comp_t *cp, atype_t t)
{
    plan_t *pl = cp->pl;
    node_t *n;

    if (pl->nnodes == pl->capnodes) {
        size_t cap = pl->capnodes ? pl->capnodes * 2 : 32;
        node_t **grown = realloc(pl->nodes, cap * sizeof(*grown));
        if (!grown)
            return NULL;
        pl->nodes = grown;
        pl->capnodes = cap;
    }
    n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->t = t;
    n->kind = SLUICE_VAL_TEXT;
    pl->nodes[pl->nnodes++] = n;
    return n;
}

static void node_free(node_t *n)
{
    size_t i;

    free(n->fullname);
    free(n->semantic);
    for (i = 0; i < n->nfields; i++)
        free(n->fields[i].name);
    free(n->fields);
    free(n->branches);
    for (i = 0; i < n->nsymbols; i++)
        free(n->symbols[i]);
    free(n->symbols);
    free(n);
}

static void plan_free(plan_t *pl)
{
    size_t i;

    if (!pl)
        return;
    for (i = 0; i < pl->nnodes; i++)
        node_free(pl->nodes[i]);
    free(pl->nodes);
    for (i = 0; i < pl->nnames; i++)
        free(pl->names[i].fullname);
    free(pl->names);
    free(pl->error);
    free(pl);
}

static node_t *name_find(const plan_t *pl, const char *fullname)
{
    size_t i;

    for (i = 0; i < pl->nnames; i++)
        if (strcmp(pl->names[i].fullname, fullname) == 0)
            return pl->names[i].node;
    return NULL;
}

static int name_add(comp_t *cp, const char *fullname, node_t *n)
{
    plan_t *pl = cp->pl;

    if (name_find(pl, fullname))
        return cfail(cp, "the type name %s is defined twice", fullname);
    if (pl->nnames == pl->capnames) {
        size_t cap = pl->capnames ? pl->capnames * 2 : 16;
        named_t *grown = realloc(pl->names, cap * sizeof(*grown));
        if (!grown)
            return cfail(cp, "out of memory");
        pl->names = grown;
        pl->capnames = cap;
    }
    pl->names[pl->nnames].fullname = strdup(fullname);
    if (!pl->names[pl->nnames].fullname)
        return cfail(cp, "out of memory");
    pl->names[pl->nnames++].node = n;
    n->fullname = strdup(fullname);
    return n->fullname ? 0 : cfail(cp, "out of memory");
}

static int primitive(const char *name, atype_t *t)
{
    static const struct {
        const char *name;
        atype_t t;
    } prims[] = {{"null", T_NULL},     {"boolean", T_BOOL}, {"int", T_INT},
                 {"long", T_LONG},     {"float", T_FLOAT},  {"double", T_DOUBLE},
                 {"bytes", T_BYTES},   {"string", T_STRING}};
    size_t i;

    for (i = 0; i < sizeof(prims) / sizeof(prims[0]); i++) {
        if (strcmp(name, prims[i].name) == 0) {
            *t = prims[i].t;
            return 1;
        }
    }
    return 0;
}

/* A reference to a named type: full name, or relative to the enclosing
 * namespace, or in the null namespace. */
static node_t *resolve(comp_t *cp, const char *ref, const char *ns)
{
    node_t *n = NULL;

    if (!strchr(ref, '.') && ns && *ns) {
        size_t len = strlen(ns) + 1 + strlen(ref) + 1;
        char *full = malloc(len);
        if (!full)
            return NULL;
        snprintf(full, len, "%s.%s", ns, ref);
        n = name_find(cp->pl, full);
        free(full);
    }
    if (!n)
        n = name_find(cp->pl, ref);
    if (!n)
        cfail(cp, "the type %s is used before it is defined (or never is)", ref);
    return n;
}

/* connect.parameters.scale (a string in Connect), else the "scale" attribute. */
static int decimal_scale(comp_t *cp, const json_t *j, int logical, int32_t *scale)
{
    const json_t *s = json_object_get(json_object_get(j, "connect.parameters"), "scale");
    long long v = 0;

    if (!s)
        s = json_object_get(j, "scale");
    if (json_is_integer(s)) {
        v = json_integer_value(s);
    } else if (json_is_string(s)) {
        char *end;
        v = strtoll(json_string_value(s), &end, 10);
        if (end == json_string_value(s) || *end)
            return cfail(cp, "Decimal scale \"%s\" is not an integer", json_string_value(s));
    } else if (!logical) {
        return cfail(cp, "a Decimal schema has neither connect.parameters.scale nor a scale "
                         "attribute; cannot place the decimal point");
    }
    if (v > SLUICE_DECIMAL_SCALE_MAX || v < -SLUICE_DECIMAL_SCALE_MAX)
        return cfail(cp, "Decimal scale %lld is out of range", v);
    *scale = (int32_t)v;
    return 0;
}

/* Avro logical type -> the Connect semantic name AvroConverter would give. */
static const char *logical_semantic(atype_t t, const char *logical)
{
    if (!logical)
        return NULL;
    if (t == T_INT && !strcmp(logical, "date"))
        return "org.apache.kafka.connect.data.Date";
    if (t == T_INT && !strcmp(logical, "time-millis"))
        return "org.apache.kafka.connect.data.Time";
    if (t == T_LONG && !strcmp(logical, "time-micros"))
        return "io.debezium.time.MicroTime";
    if (t == T_LONG &&
        (!strcmp(logical, "timestamp-millis") || !strcmp(logical, "local-timestamp-millis")))
        return "org.apache.kafka.connect.data.Timestamp";
    if (t == T_LONG &&
        (!strcmp(logical, "timestamp-micros") || !strcmp(logical, "local-timestamp-micros")))
        return "io.debezium.time.MicroTimestamp";
    if (t == T_LONG &&
        (!strcmp(logical, "timestamp-nanos") || !strcmp(logical, "local-timestamp-nanos")))
        return "io.debezium.time.NanoTimestamp";
    if (t == T_STRING && !strcmp(logical, "uuid"))
        return "io.debezium.data.Uuid";
    if ((t == T_BYTES || t == T_FIXED) && !strcmp(logical, "decimal"))
        return "org.apache.kafka.connect.data.Decimal";
    return NULL;
}

static int32_t param_i32(const json_t *j)
{
    long long v;
    char *end;

    if (json_is_integer(j))
        v = json_integer_value(j);
    else if (json_is_string(j)) {
        v = strtoll(json_string_value(j), &end, 10);
        if (end == json_string_value(j) || *end)
            return -1;
    } else
        return -1;
    return v < INT32_MIN || v > INT32_MAX ? -1 : (int32_t)v;
}

/* Runs the node through the type table (types.c); j is its schema object,
 * or NULL for a bare primitive name. */
static int node_type(comp_t *cp, node_t *n, const json_t *j)
{
    static const sluice_connect_type_t physical[] = {
        SLUICE_CT_NONE,   SLUICE_CT_BOOLEAN, SLUICE_CT_INT32, SLUICE_CT_INT64, SLUICE_CT_FLOAT32,
        SLUICE_CT_FLOAT64, SLUICE_CT_BYTES, SLUICE_CT_STRING, SLUICE_CT_STRUCT, SLUICE_CT_STRING,
        SLUICE_CT_ARRAY,  SLUICE_CT_MAP,    SLUICE_CT_NONE,   SLUICE_CT_BYTES};
    const json_t *params = json_object_get(j, "connect.parameters");
    const char *cname = json_string_value(json_object_get(j, "connect.name"));
    const char *logical = json_string_value(json_object_get(j, "logicalType"));
    const char *ctype = json_string_value(json_object_get(j, "connect.type"));
    const char *name;
    sluice_type_in_t in;

    sluice_type_in_init(&in);
    in.type = physical[n->t];
    if (ctype && (n->t == T_INT || n->t == T_LONG)) {
        sluice_connect_type_t ct = sluice_connect_type_parse(ctype);
        if (ct != SLUICE_CT_NONE)
            in.type = ct;
    }
    name = cname ? cname : logical_semantic(n->t, logical);
    if (!name && n->t == T_RECORD)
        name = n->fullname;
    in.name = name;
    in.precision = param_i32(json_object_get(params, "connect.decimal.precision"));
    if (in.precision < 0 && logical && !strcmp(logical, "decimal"))
        in.precision = param_i32(json_object_get(j, "precision"));
    in.length = param_i32(json_object_get(params, "length"));
    in.source_type = json_string_value(json_object_get(params, "__debezium.source.column.type"));
    in.source_length = param_i32(json_object_get(params, "__debezium.source.column.length"));
    in.source_scale = param_i32(json_object_get(params, "__debezium.source.column.scale"));
    if (n->decimal) {
        in.has_scale = 1;
        in.scale = n->scale;
    }
    sluice_types_resolve(&in, &cp->topts, n->items ? &n->items->tp : NULL,
                         n->items ? n->items->pg : NULL, &n->tp, n->pg, sizeof(n->pg));
    if (name && !n->semantic) {
        n->semantic = strdup(name);
        if (!n->semantic)
            return cfail(cp, "out of memory");
    }
    n->ct.pg_type = n->pg;
    n->ct.kind = n->tp.kind;
    n->ct.elem_kind = n->items && n->t == T_ARRAY ? n->items->tp.kind : SLUICE_VAL_NULL;
    n->ct.semantic = n->semantic;
    n->ct.connect_type = sluice_connect_type_name(in.type);
    n->ct.precision = in.precision;
    n->ct.scale = n->tp.rule == SLUICE_RULE_DECIMAL ? n->tp.scale : -1;
    n->resolved = 1;
    /* what read_val looks at */
    n->intsem = sluice_decode_rule_intsem(n->tp.rule);
    if (n->t == T_STRING)
        n->kind = n->tp.rule == SLUICE_RULE_DECIMAL_TEXT || n->tp.rule == SLUICE_RULE_BYTES_TEXT
                      ? SLUICE_VAL_TEXT
                      : n->tp.kind;
    return 0;
}

/* A row field's column type: its node's, optional when its union has null. */
static void field_type(field_t *f)
{
    const node_t *n = f->type;
    int optional = 0;
    size_t i;

    if (n->t == T_UNION) {
        const node_t *pick = NULL;
        for (i = 0; i < n->nbranches; i++) {
            if (n->branches[i]->t == T_NULL)
                optional = 1;
            else if (!pick)
                pick = n->branches[i];
        }
        n = pick ? pick : n->branches[0];
    }
    f->ct = n->ct;
    f->ct.optional = optional;
}

static node_t *compile(comp_t *cp, const json_t *j, const char *ns, int depth);

/* name + namespace -> full name and the namespace for what it encloses */
static int full_name(comp_t *cp, const json_t *j, const char *ns, char **full, char **inner_ns)
{
    const char *name = json_string_value(json_object_get(j, "name"));
    const json_t *jns = json_object_get(j, "namespace");
    const char *space = json_is_string(jns) ? json_string_value(jns) : ns;
    const char *dot;
    size_t len;

    if (!name || !*name)
        return cfail(cp, "a named type has no \"name\"");
    dot = strrchr(name, '.');
    if (dot) {
        *full = strdup(name);
        *inner_ns = strndup(name, (size_t)(dot - name));
    } else if (space && *space) {
        len = strlen(space) + 1 + strlen(name) + 1;
        *full = malloc(len);
        if (*full)
            snprintf(*full, len, "%s.%s", space, name);
        *inner_ns = strdup(space);
    } else {
        *full = strdup(name);
        *inner_ns = strdup("");
    }
    if (!*full || !*inner_ns) {
        free(*full);
        free(*inner_ns);
        return cfail(cp, "out of memory");
    }
    return 0;
}

static node_t *compile_record(comp_t *cp, const json_t *j, const char *ns, int depth)
{
    const json_t *fields = json_object_get(j, "fields");
    const char *cname = json_string_value(json_object_get(j, "connect.name"));
    char *full = NULL, *inner = NULL;
    node_t *n;
    size_t i;

    if (!json_is_array(fields)) {
        cfail(cp, "a record has no \"fields\" array");
        return NULL;
    }
    if (full_name(cp, j, ns, &full, &inner) < 0)
        return NULL;
    n = node_new(cp, T_RECORD);
    if (!n || name_add(cp, full, n) < 0)
        goto fail;
    n->nfields = json_array_size(fields);
    n->fields = calloc(n->nfields ? n->nfields : 1, sizeof(*n->fields));
    if (!n->fields)
        goto fail;
    for (i = 0; i < n->nfields; i++) {
        const json_t *f = json_array_get(fields, i);
        const char *fname = json_string_value(json_object_get(f, "name"));
        if (!fname) {
            cfail(cp, "field %zu of record %s has no name", i, full);
            goto fail;
        }
        n->fields[i].name = strdup(fname);
        if (!n->fields[i].name) {
            cfail(cp, "out of memory");
            goto fail;
        }
        n->fields[i].type = compile(cp, json_object_get(f, "type"), inner, depth + 1);
        if (!n->fields[i].type) {
            char tmp[sizeof(cp->why)];
            snprintf(tmp, sizeof(tmp), "%s", cp->why);
            snprintf(cp->why, sizeof(cp->why), "%.120s.%.60s: %.300s", full, fname, tmp);
            goto fail;
        }
    }
    if ((cname && !strcmp(cname, "io.debezium.data.VariableScaleDecimal")) ||
        !strcmp(full, "io.debezium.data.VariableScaleDecimal")) {
        int have_scale = 0, have_value = 0;
        for (i = 0; i < n->nfields; i++) {
            if (!strcmp(n->fields[i].name, "scale") && n->fields[i].type->t == T_INT) {
                n->vsd_scale = i;
                have_scale = 1;
            } else if (!strcmp(n->fields[i].name, "value") && n->fields[i].type->t == T_BYTES) {
                n->vsd_value = i;
                have_value = 1;
            }
        }
        if (!have_scale || !have_value) {
            cfail(cp, "VariableScaleDecimal record %s lacks an int \"scale\" or a bytes \"value\"",
                  full);
            goto fail;
        }
        n->vsd = 1;
    }
    for (i = 0; i < n->nfields; i++)
        field_type(&n->fields[i]);
    if (node_type(cp, n, j) < 0)
        goto fail;
    free(full);
    free(inner);
    return n;
fail:
    free(full);
    free(inner);
    return NULL;
}

static node_t *compile_object(comp_t *cp, const json_t *j, const char *ns, int depth)
{
    const json_t *jtype = json_object_get(j, "type");
    const char *type = json_string_value(jtype);
    const char *cname = json_string_value(json_object_get(j, "connect.name"));
    const char *logical = json_string_value(json_object_get(j, "logicalType"));
    atype_t t;
    node_t *n;

    if (!type) {
        if (json_is_object(jtype) || json_is_array(jtype))
            return compile(cp, jtype, ns, depth + 1);
        cfail(cp, "a schema object has no \"type\"");
        return NULL;
    }
    if (primitive(type, &t)) {
        n = node_new(cp, t);
        if (!n) {
            cfail(cp, "out of memory");
            return NULL;
        }
        if (t == T_BYTES) {
            int logical_dec = logical && !strcmp(logical, "decimal");
            if (logical_dec || (cname && !strcmp(cname, "org.apache.kafka.connect.data.Decimal"))) {
                n->decimal = 1;
                if (decimal_scale(cp, j, logical_dec, &n->scale) < 0)
                    return NULL;
            }
        }
        return node_type(cp, n, j) < 0 ? NULL : n;
    }
    if (!strcmp(type, "record") || !strcmp(type, "error"))
        return compile_record(cp, j, ns, depth);
    if (!strcmp(type, "enum") || !strcmp(type, "fixed")) {
        char *full = NULL, *inner = NULL;
        n = node_new(cp, !strcmp(type, "enum") ? T_ENUM : T_FIXED);
        if (!n) {
            cfail(cp, "out of memory");
            return NULL;
        }
        if (full_name(cp, j, ns, &full, &inner) < 0)
            return NULL;
        free(inner);
        if (name_add(cp, full, n) < 0) {
            free(full);
            return NULL;
        }
        free(full);
        if (n->t == T_ENUM) {
            const json_t *syms = json_object_get(j, "symbols");
            size_t i;
            if (!json_is_array(syms) || json_array_size(syms) == 0) {
                cfail(cp, "enum %s has no symbols", n->fullname);
                return NULL;
            }
            n->nsymbols = json_array_size(syms);
            n->symbols = calloc(n->nsymbols, sizeof(*n->symbols));
            if (!n->symbols) {
                cfail(cp, "out of memory");
                return NULL;
            }
            for (i = 0; i < n->nsymbols; i++) {
                const char *s = json_string_value(json_array_get(syms, i));
                n->symbols[i] = s ? strdup(s) : NULL;
                if (!n->symbols[i]) {
                    cfail(cp, "enum %s: symbol %zu is not a string", n->fullname, i);
                    return NULL;
                }
            }
        } else {
            const json_t *size = json_object_get(j, "size");
            int logical_dec = logical && !strcmp(logical, "decimal");
            if (!json_is_integer(size) || json_integer_value(size) < 0 ||
                json_integer_value(size) > (1 << 24)) {
                cfail(cp, "fixed %s has no valid size", n->fullname);
                return NULL;
            }
            n->size = (size_t)json_integer_value(size);
            if (logical_dec) {
                n->decimal = 1;
                if (decimal_scale(cp, j, 1, &n->scale) < 0)
                    return NULL;
            }
        }
        return node_type(cp, n, j) < 0 ? NULL : n;
    }
    if (!strcmp(type, "array") || !strcmp(type, "map")) {
        n = node_new(cp, !strcmp(type, "array") ? T_ARRAY : T_MAP);
        if (!n) {
            cfail(cp, "out of memory");
            return NULL;
        }
        n->items = compile(cp, json_object_get(j, n->t == T_ARRAY ? "items" : "values"), ns,
                           depth + 1);
        if (n->items && n->items->t == T_UNION) { /* ["null", X] elements: X's type */
            size_t b;
            for (b = 0; b < n->items->nbranches && !n->items->resolved; b++)
                if (n->items->branches[b]->t != T_NULL) {
                    n->items->tp = n->items->branches[b]->tp;
                    memcpy(n->items->pg, n->items->branches[b]->pg, sizeof(n->items->pg));
                    n->items->resolved = 1;
                }
        }
        return n->items && node_type(cp, n, j) == 0 ? n : NULL;
    }
    /* {"type": "Value"}: a reference written as an object */
    return resolve(cp, type, ns);
}

static node_t *compile(comp_t *cp, const json_t *j, const char *ns, int depth)
{
    if (depth > MAX_DEPTH) {
        cfail(cp, "the schema nests deeper than %d levels", MAX_DEPTH);
        return NULL;
    }
    if (json_is_string(j)) {
        atype_t t;
        node_t *n;
        if (!primitive(json_string_value(j), &t))
            return resolve(cp, json_string_value(j), ns);
        n = node_new(cp, t);
        if (!n)
            cfail(cp, "out of memory");
        else if (node_type(cp, n, NULL) < 0)
            return NULL;
        return n;
    }
    if (json_is_array(j)) {
        node_t *n = node_new(cp, T_UNION);
        size_t i;
        if (!n) {
            cfail(cp, "out of memory");
            return NULL;
        }
        n->nbranches = json_array_size(j);
        if (n->nbranches == 0) {
            cfail(cp, "an empty union");
            return NULL;
        }
        n->branches = calloc(n->nbranches, sizeof(*n->branches));
        if (!n->branches) {
            cfail(cp, "out of memory");
            return NULL;
        }
        for (i = 0; i < n->nbranches; i++) {
            n->branches[i] = compile(cp, json_array_get(j, i), ns, depth + 1);
            if (!n->branches[i])
                return NULL;
            if (n->branches[i]->t == T_UNION) {
                cfail(cp, "a union directly inside a union");
                return NULL;
            }
        }
        return n;
    }
    if (json_is_object(j))
        return compile_object(cp, j, ns, depth);
    cfail(cp, "a schema is neither a type name, a union nor an object");
    return NULL;
}

static size_t minsize(node_t *n)
{
    size_t i, total = 0, least = (size_t)-1;

    if (n->sizing || n->minsize)
        return n->minsize; /* recursion: 0 is a safe lower bound */
    switch (n->t) {
    case T_NULL:
        return 0;
    case T_FLOAT:
        return n->minsize = 4;
    case T_DOUBLE:
        return n->minsize = 8;
    case T_FIXED:
        return n->minsize = n->size;
    case T_RECORD:
        n->sizing = 1;
        for (i = 0; i < n->nfields; i++)
            total += minsize(n->fields[i].type);
        n->sizing = 0;
        return n->minsize = total;
    case T_UNION:
        n->sizing = 1;
        for (i = 0; i < n->nbranches; i++) {
            size_t m = minsize(n->branches[i]);
            if (m < least)
                least = m;
        }
        n->sizing = 0;
        return n->minsize = 1 + least;
    default: /* one varint at least */
        return n->minsize = 1;
    }
}

static const node_t *unwrap_record(const node_t *n)
{
    size_t i;

    if (n->t == T_RECORD)
        return n;
    if (n->t == T_UNION)
        for (i = 0; i < n->nbranches; i++)
            if (n->branches[i]->t == T_RECORD)
                return n->branches[i];
    return NULL;
}

/* Roles of the envelope's fields and of its source block's fields. */
static void assign_roles(plan_t *pl)
{
    static const struct {
        const char *name;
        role_t role;
    } env[] = {{"before", E_BEFORE}, {"after", E_AFTER},  {"source", E_SOURCE},
               {"op", E_OP},         {"ts_ms", E_TS_MS},  {"message", E_MESSAGE}},
      src[] = {{"connector", S_CONNECTOR}, {"name", S_NAME},   {"db", S_DB},
               {"schema", S_SCHEMA},       {"table", S_TABLE}, {"snapshot", S_SNAPSHOT},
               {"ts_ms", S_TS_MS},         {"txId", S_TXID},   {"sequence", S_SEQUENCE},
               {"lsn", S_LSN},             {"file", S_FILE},   {"pos", S_POS},
               {"row", S_ROW}};
    node_t *root = pl->root;
    size_t i, k;

    if (root->t != T_RECORD)
        return;
    for (i = 0; i < root->nfields; i++) {
        field_t *f = &root->fields[i];
        for (k = 0; k < sizeof(env) / sizeof(env[0]); k++)
            if (!strcmp(f->name, env[k].name))
                f->role = env[k].role;
        if (f->role == E_OP)
            pl->envelope = 1;
        if (f->role == E_SOURCE) {
            node_t *s = (node_t *)unwrap_record(f->type);
            size_t m;
            for (m = 0; s && m < s->nfields; m++)
                for (k = 0; k < sizeof(src) / sizeof(src[0]); k++)
                    if (!strcmp(s->fields[m].name, src[k].name))
                        s->fields[m].role = src[k].role;
        }
    }
}

enum { REC_ENVELOPE = 0, REC_FLAT, REC_CONTROL };

static int name_ends(const char *name, const char *suffix)
{
    size_t n = name ? strlen(name) : 0, m = strlen(suffix);

    return n >= m && strcmp(name + n - m, suffix) == 0;
}

static int has_field(const node_t *r, const char *prefix, const char *name)
{
    size_t i, pl = strlen(prefix);

    for (i = 0; i < r->nfields; i++)
        if (!strncmp(r->fields[i].name, prefix, pl) && !strcmp(r->fields[i].name + pl, name))
            return 1;
    return 0;
}

/* Envelope, flattened row (ExtractNewRecordState) or control record
 * (heartbeat, schema change, transaction metadata)? Decided once per
 * schema, as the JSON decoder decides per message. */
static void classify(const sluice_avro_decoder_t *dec, plan_t *pl)
{
    const node_t *r = pl->root;
    const char *nm = r->semantic ? r->semantic : r->fullname;

    pl->kind = REC_ENVELOPE;
    if (r->t != T_RECORD)
        return;
    if (dec->flattened == SLUICE_FLATTENED_YES ||
        (dec->flattened == SLUICE_FLATTENED_AUTO && !(pl->envelope && has_field(r, "", "source")) &&
         (has_field(r, dec->prefix, "op") || has_field(r, dec->prefix, "deleted")))) {
        pl->kind = REC_FLAT;
        return;
    }
    if (name_ends(nm, "common.Heartbeat") || name_ends(nm, "SchemaChangeValue") ||
        name_ends(nm, "TransactionMetadataValue")) {
        pl->kind = REC_CONTROL;
        return;
    }
    if (pl->envelope)
        return;
    if ((r->nfields == 1 && has_field(r, "", "ts_ms")) || has_field(r, "", "ddl") ||
        has_field(r, "", "tableChanges") || (has_field(r, "", "status") && has_field(r, "", "id")))
        pl->kind = REC_CONTROL;
}

/* Always returns a plan (NULL only on allocation failure); plan->error says
 * whether it can decode anything. */
static plan_t *plan_compile(const sluice_avro_decoder_t *dec, const char *json, size_t len)
{
    plan_t *pl = calloc(1, sizeof(*pl));
    avro_schema_t schema = NULL;
    json_error_t jerr;
    json_t *root;
    comp_t cp;
    size_t i;

    if (!pl)
        return NULL;
    memset(&cp, 0, sizeof(cp));
    cp.pl = pl;
    cp.topts = dec->topts;
    /* avro-c is the judge of what a valid Avro schema is */
    if (avro_schema_from_json_length(json, len, &schema) != 0) {
        cfail(&cp, "not a valid Avro schema: %s", avro_strerror());
        goto done;
    }
    avro_schema_decref(schema);
    root = json_loadb(json, len, JSON_DECODE_ANY, &jerr);
    if (!root) {
        cfail(&cp, "not valid JSON: %s", jerr.text);
        goto done;
    }
    pl->root = compile(&cp, root, NULL, 0);
    json_decref(root);
    if (pl->root) {
        for (i = 0; i < pl->nnodes; i++)
            minsize(pl->nodes[i]);
        assign_roles(pl);
        classify(dec, pl);
    }
done:
    if (!pl->root) {
        pl->error = strdup(cp.why[0] ? cp.why : "cannot compile the schema");
        if (!pl->error) {
            plan_free(pl);
            return NULL;
        }
    }
    return pl;
}

/* ---------------------------------------------------------------------- */
/* decoder lifecycle and the plan cache */

sluice_avro_decoder_t *sluice_avro_decoder_new(const sluice_decode_opts_t *opts,
                                               sluice_registry_t *reg)
{
    const char *ph = opts && opts->unavailable_placeholder ? opts->unavailable_placeholder
                                                            : DEFAULT_PLACEHOLDER;
    sluice_avro_decoder_t *dec = calloc(1, sizeof(*dec));

    if (!dec)
        return NULL;
    dec->reg = reg;
    dec->ph_len = strlen(ph);
    dec->ph = strdup(ph);
    dec->prefix = strdup(opts && opts->flattened_prefix ? opts->flattened_prefix : "__");
    if (!dec->ph || !dec->prefix) {
        free(dec->ph);
        free(dec->prefix);
        free(dec);
        return NULL;
    }
    if (opts) {
        dec->topts.binary_mode = opts->binary_handling_mode;
        dec->topts.decimal_mode = opts->decimal_handling_mode;
        dec->flattened = opts->flattened;
    }
    sluice_decode_placeholder_uuid(ph, dec->ph_len, dec->ph_uuid);
    return dec;
}

void sluice_avro_decoder_destroy(sluice_avro_decoder_t *dec)
{
    size_t i;

    if (!dec)
        return;
    for (i = 0; i < dec->cap; i++)
        plan_free(dec->tab[i].plan);
    free(dec->tab);
    free(dec->ph);
    free(dec->prefix);
    free(dec);
}

static size_t slot_of(int32_t id, size_t cap)
{
    return (size_t)((uint32_t)id * 2654435761u) & (cap - 1);
}

static plan_t *plan_find(const sluice_avro_decoder_t *dec, int32_t id)
{
    size_t i;

    if (!dec->cap)
        return NULL;
    for (i = slot_of(id, dec->cap); dec->tab[i].used; i = (i + 1) & (dec->cap - 1))
        if (dec->tab[i].id == id)
            return dec->tab[i].plan;
    return NULL;
}

static int plan_put(sluice_avro_decoder_t *dec, int32_t id, plan_t *pl)
{
    size_t i;

    if ((dec->n + 1) * 10 > dec->cap * 7) {
        size_t cap = dec->cap ? dec->cap * 2 : 32, k;
        slot_t *tab = calloc(cap, sizeof(*tab));
        if (!tab)
            return -1;
        for (k = 0; k < dec->cap; k++) {
            if (!dec->tab[k].used)
                continue;
            for (i = slot_of(dec->tab[k].id, cap); tab[i].used; i = (i + 1) & (cap - 1))
                ;
            tab[i] = dec->tab[k];
        }
        free(dec->tab);
        dec->tab = tab;
        dec->cap = cap;
    }
    for (i = slot_of(id, dec->cap); dec->tab[i].used; i = (i + 1) & (dec->cap - 1))
        ;
    dec->tab[i].used = 1;
    dec->tab[i].id = id;
    dec->tab[i].plan = pl;
    dec->n++;
    return 0;
}

static int plan_error(const plan_t *pl, int32_t id, sluice_err_t *err)
{
    return sluice_err_set(err, SLUICE_ERR_PERMANENT,
                          "avro: schema id %d cannot be decoded: %s", (int)id, pl->error);
}

int sluice_avro_decoder_add_schema(sluice_avro_decoder_t *dec, int32_t id, const char *json,
                                   size_t len, sluice_err_t *err)
{
    plan_t *pl = plan_find(dec, id);

    if (!pl) {
        pl = plan_compile(dec, json, len);
        if (!pl || plan_put(dec, id, pl) < 0) {
            plan_free(pl);
            return sluice_err_set(err, SLUICE_ERR_TRANSIENT,
                                  "avro: out of memory compiling schema id %d", (int)id);
        }
    }
    return pl->error ? plan_error(pl, id, err) : 0;
}

static const plan_t *plan_get(sluice_avro_decoder_t *dec, int32_t id, sluice_err_t *err)
{
    const plan_t *pl = plan_find(dec, id);
    const char *json;
    size_t len;

    if (!pl) {
        if (!dec->reg) {
            sluice_err_set(err, SLUICE_ERR_PERMANENT,
                           "avro: schema id %d is unknown and no schema registry is configured "
                           "(set registry.url)",
                           (int)id);
            return NULL;
        }
        if (sluice_registry_get(dec->reg, id, &json, &len, err) < 0)
            return NULL;
        sluice_avro_decoder_add_schema(dec, id, json, len, err);
        pl = plan_find(dec, id);
        if (!pl)
            return NULL; /* out of memory, err says so */
    }
    if (pl->error) {
        plan_error(pl, id, err);
        return NULL;
    }
    return pl;
}

int sluice_avro_frame(const void *buf, size_t len, int32_t *id, const unsigned char **datum,
                      size_t *datum_len, sluice_err_t *err)
{
    const unsigned char *b = buf;

    if (len < 5 || b[0] != 0x00) {
        const char *hint = "";
        if (len > 0 && (b[0] == '{' || b[0] == '['))
            hint = "; it looks like JSON: set format to json or auto";
        else if (len > 0 && b[0] == 0x01)
            hint = " (0x01 is the schema-GUID framing, which sluice does not read)";
        if (len < 5 && (len == 0 || b[0] == 0x00))
            return sluice_err_set(err, SLUICE_ERR_PERMANENT,
                                  "avro: %zu bytes is too short for the Confluent wire format "
                                  "(magic byte 0x00, 4-byte schema id, datum)",
                                  len);
        return sluice_err_set(err, SLUICE_ERR_PERMANENT,
                              "avro: the record does not start with the Confluent wire "
                              "format's magic byte 0x00 but with 0x%02x%s",
                              b[0], hint);
    }
    *id = (int32_t)((uint32_t)b[1] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 8 |
                    (uint32_t)b[4]);
    *datum = b + 5;
    *datum_len = len - 5;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* reading a datum */

typedef struct {
    sluice_avro_decoder_t *dec;
    sluice_event_t *ev;
    sluice_err_t *err;
    const char *what; /* "value" or "key" */
    int32_t id;
    const unsigned char *start, *p, *end;
    const char *row; /* "after", "source", ... or NULL */
    const char *col; /* column or field name or NULL */
} ctx_t;

static int bad(ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(ctx_t *c, const char *fmt, ...)
{
    char msg[SLUICE_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return sluice_err_set(c->err, SLUICE_ERR_PERMANENT, "avro %s (schema id %d): %s%s%s%s%s",
                          c->what, (int)c->id, c->row ? c->row : "",
                          c->row && c->col ? "." : "", c->col ? c->col : "",
                          c->row || c->col ? ": " : "", msg);
}

static int nomem(ctx_t *c)
{
    return sluice_err_set(c->err, SLUICE_ERR_TRANSIENT,
                          "avro %s: out of memory while decoding", c->what);
}

static int truncated(ctx_t *c, size_t need)
{
    return bad(c, "the datum is truncated: %zu more bytes needed at byte %zu of %zu (corrupt "
                  "record, or not written with schema id %d)",
               need, (size_t)(c->p - c->start), (size_t)(c->end - c->start), (int)c->id);
}

static int rd_long(ctx_t *c, int64_t *out)
{
    uint64_t u = 0;
    unsigned shift = 0;

    *out = 0;
    for (;;) {
        unsigned b;
        if (c->p >= c->end)
            return truncated(c, 1);
        b = *c->p++;
        if (shift == 63 && (b & 0x7e))
            return bad(c, "a varint overflows 64 bits at byte %zu", (size_t)(c->p - c->start));
        u |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
        shift += 7;
        if (shift > 63)
            return bad(c, "a varint is longer than 10 bytes at byte %zu",
                       (size_t)(c->p - c->start));
    }
    *out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return 0;
}

static int rd_int(ctx_t *c, int64_t *out)
{
    if (rd_long(c, out) < 0)
        return -1;
    if (*out < INT32_MIN || *out > INT32_MAX)
        return bad(c, "an Avro int holds %lld, outside 32 bits", (long long)*out);
    return 0;
}

/* A length (bytes, string) that must fit in what is left. */
static int rd_len(ctx_t *c, size_t *out)
{
    int64_t n = 0;

    if (rd_long(c, &n) < 0)
        return -1;
    if (n < 0)
        return bad(c, "negative length %lld at byte %zu", (long long)n,
                   (size_t)(c->p - c->start));
    if ((uint64_t)n > (uint64_t)(c->end - c->p))
        return truncated(c, (size_t)((uint64_t)n - (uint64_t)(c->end - c->p)));
    *out = (size_t)n;
    return 0;
}

static int rd_raw(ctx_t *c, size_t n, const unsigned char **out)
{
    if ((size_t)(c->end - c->p) < n)
        return truncated(c, n - (size_t)(c->end - c->p));
    *out = c->p;
    c->p += n;
    return 0;
}

/* Block count of an array or map; negative counts carry a byte size. */
static int rd_block(ctx_t *c, int64_t *count, int64_t *bytes)
{
    if (rd_long(c, count) < 0)
        return -1;
    *bytes = -1;
    if (*count < 0) {
        if (*count == INT64_MIN)
            return bad(c, "invalid block count");
        *count = -*count;
        if (rd_long(c, bytes) < 0)
            return -1;
        if (*bytes < 0 || (uint64_t)*bytes > (uint64_t)(c->end - c->p))
            return bad(c, "invalid block size %lld", (long long)*bytes);
    }
    return 0;
}

/* Items in one block: never more than the bytes left allow. */
static int check_count(ctx_t *c, const node_t *items, int64_t count, int64_t so_far)
{
    size_t least = items ? items->minsize : 1;

    if (least == 0) {
        if (count + so_far > MAX_EMPTY_ITEMS)
            return bad(c, "more than %d zero-size items", MAX_EMPTY_ITEMS);
        return 0;
    }
    if ((uint64_t)count > (uint64_t)(c->end - c->p) / least)
        return truncated(c, (size_t)1);
    return 0;
}

static int rd_branch(ctx_t *c, const node_t *n, const node_t **branch)
{
    int64_t idx = 0;

    if (rd_long(c, &idx) < 0)
        return -1;
    if (idx < 0 || (uint64_t)idx >= n->nbranches)
        return bad(c, "union branch %lld does not exist (the union has %zu)", (long long)idx,
                   n->nbranches);
    *branch = n->branches[idx];
    return 0;
}

/* UTF-8 without NUL (PostgreSQL text cannot hold NUL). */
static int utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned char b = s[i];
        uint32_t cp;
        size_t k, len;
        if (b < 0x80) {
            if (b == 0)
                return 0;
            i++;
            continue;
        }
        if (b >= 0xc2 && b <= 0xdf) {
            len = 2;
            cp = b & 0x1f;
        } else if (b >= 0xe0 && b <= 0xef) {
            len = 3;
            cp = b & 0x0f;
        } else if (b >= 0xf0 && b <= 0xf4) {
            len = 4;
            cp = b & 0x07;
        } else {
            return 0;
        }
        if (n - i < len)
            return 0;
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
            return 0;
        i += len;
    }
    return 1;
}

static int skip(ctx_t *c, const node_t *n, int depth)
{
    int64_t v = 0, count = 0, bytes = 0;
    size_t len, i;
    const unsigned char *raw = NULL;

    if (depth > MAX_DEPTH)
        return bad(c, "the datum nests deeper than %d levels", MAX_DEPTH);
    switch (n->t) {
    case T_NULL:
        return 0;
    case T_BOOL:
        return rd_raw(c, 1, &raw);
    case T_INT:
    case T_LONG:
    case T_ENUM:
        return rd_long(c, &v);
    case T_FLOAT:
        return rd_raw(c, 4, &raw);
    case T_DOUBLE:
        return rd_raw(c, 8, &raw);
    case T_BYTES:
    case T_STRING:
        if (rd_len(c, &len) < 0)
            return -1;
        c->p += len;
        return 0;
    case T_FIXED:
        return rd_raw(c, n->size, &raw);
    case T_RECORD:
        for (i = 0; i < n->nfields; i++)
            if (skip(c, n->fields[i].type, depth + 1) < 0)
                return -1;
        return 0;
    case T_UNION: {
        const node_t *b;
        return rd_branch(c, n, &b) < 0 ? -1 : skip(c, b, depth + 1);
    }
    case T_ARRAY:
    case T_MAP: {
        int64_t total = 0;
        for (;;) {
            if (rd_block(c, &count, &bytes) < 0)
                return -1;
            if (count == 0)
                return 0;
            if (bytes >= 0) {
                c->p += bytes;
                continue;
            }
            if (check_count(c, n->t == T_ARRAY ? n->items : NULL, count, total) < 0)
                return -1;
            total += count;
            for (; count > 0; count--) {
                if (n->t == T_MAP && skip(c, &(node_t){.t = T_STRING}, depth + 1) < 0)
                    return -1;
                if (skip(c, n->items, depth + 1) < 0)
                    return -1;
            }
        }
    }
    }
    return bad(c, "unknown node type");
}

/* Float32 as the double its shortest decimal text means: JsonConverter
 * writes 1.1f as 1.1, so the JSON path sees 1.1, and so must this one. */
static double float_value(float f)
{
    char tmp[32];
    int prec;

    if (!isfinite(f))
        return (double)f;
    for (prec = 6; prec < 9; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, (double)f);
        if (strtof(tmp, NULL) == f)
            return strtod(tmp, NULL);
    }
    snprintf(tmp, sizeof(tmp), "%.9g", (double)f);
    return strtod(tmp, NULL);
}

static double rd_double_bytes(const unsigned char *b)
{
    uint64_t u = 0;
    double d;
    int i;

    for (i = 7; i >= 0; i--)
        u = u << 8 | b[i];
    memcpy(&d, &u, sizeof(d));
    return d;
}

static float rd_float_bytes(const unsigned char *b)
{
    uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                 (uint32_t)b[3] << 24;
    float f;

    memcpy(&f, &u, sizeof(f));
    return f;
}

/* Nested records and maps become JSON text, as JsonConverter would write
 * them: raw Connect values (bytes in base64, no semantic conversion). */
static json_t *to_json(ctx_t *c, const node_t *n, int depth)
{
    int64_t v = 0, count = 0, bytes = 0;
    size_t len = 0, i;
    const unsigned char *raw = NULL;
    json_t *j;

    if (depth > MAX_DEPTH) {
        bad(c, "the datum nests deeper than %d levels", MAX_DEPTH);
        return NULL;
    }
    switch (n->t) {
    case T_NULL:
        return json_null();
    case T_BOOL:
        if (rd_raw(c, 1, &raw) < 0)
            return NULL;
        if (*raw > 1) {
            bad(c, "a boolean byte is 0x%02x, not 0 or 1", *raw);
            return NULL;
        }
        return json_boolean(*raw);
    case T_INT:
    case T_LONG:
        if ((n->t == T_INT ? rd_int(c, &v) : rd_long(c, &v)) < 0)
            return NULL;
        return json_integer(v);
    case T_FLOAT:
    case T_DOUBLE: {
        double d;
        if (rd_raw(c, n->t == T_FLOAT ? 4 : 8, &raw) < 0)
            return NULL;
        d = n->t == T_FLOAT ? float_value(rd_float_bytes(raw)) : rd_double_bytes(raw);
        if (isnan(d))
            return json_string("NaN");
        if (isinf(d))
            return json_string(d > 0 ? "Infinity" : "-Infinity");
        return json_real(d);
    }
    case T_STRING:
        if (rd_len(c, &len) < 0 || rd_raw(c, len, &raw) < 0)
            return NULL;
        if (!utf8_ok(raw, len)) {
            bad(c, "a string is not valid UTF-8 (or holds a NUL byte)");
            return NULL;
        }
        return json_stringn((const char *)raw, len);
    case T_BYTES:
    case T_FIXED: {
        char *b64;
        if (n->t == T_BYTES ? (rd_len(c, &len) < 0 || rd_raw(c, len, &raw) < 0)
                            : rd_raw(c, len = n->size, &raw) < 0)
            return NULL;
        b64 = malloc(4 * ((len + 2) / 3) + 1);
        if (!b64) {
            nomem(c);
            return NULL;
        }
        sluice_decode_base64_encode(raw, len, b64);
        j = json_string(b64);
        free(b64);
        return j;
    }
    case T_ENUM:
        if (rd_long(c, &v) < 0)
            return NULL;
        if (v < 0 || (uint64_t)v >= n->nsymbols) {
            bad(c, "enum index %lld is not a symbol of %s", (long long)v, n->fullname);
            return NULL;
        }
        return json_string(n->symbols[v]);
    case T_UNION: {
        const node_t *b;
        return rd_branch(c, n, &b) < 0 ? NULL : to_json(c, b, depth + 1);
    }
    case T_RECORD:
        j = json_object();
        for (i = 0; j && i < n->nfields; i++) {
            json_t *f = to_json(c, n->fields[i].type, depth + 1);
            if (!f || json_object_set_new(j, n->fields[i].name, f) < 0) {
                json_decref(j);
                return NULL;
            }
        }
        return j;
    case T_ARRAY:
    case T_MAP: {
        int64_t total = 0;
        j = n->t == T_ARRAY ? json_array() : json_object();
        if (!j) {
            nomem(c);
            return NULL;
        }
        for (;;) {
            if (rd_block(c, &count, &bytes) < 0)
                break;
            if (count == 0)
                return j;
            if (check_count(c, n->t == T_ARRAY ? n->items : NULL, count, total) < 0)
                break;
            total += count;
            for (; count > 0; count--) {
                json_t *item;
                char *key = NULL;
                if (n->t == T_MAP) {
                    if (rd_len(c, &len) < 0 || rd_raw(c, len, &raw) < 0)
                        goto fail;
                    if (!utf8_ok(raw, len)) {
                        bad(c, "a map key is not valid UTF-8 (or holds a NUL byte)");
                        goto fail;
                    }
                    key = strndup((const char *)raw, len);
                    if (!key) {
                        nomem(c);
                        goto fail;
                    }
                }
                item = to_json(c, n->items, depth + 1);
                if (!item || (key ? json_object_set_new(j, key, item)
                                  : json_array_append_new(j, item)) < 0) {
                    free(key);
                    goto fail;
                }
                free(key);
            }
        }
    fail:
        json_decref(j);
        return NULL;
    }
    }
    bad(c, "unknown node type");
    return NULL;
}

static int set_text(ctx_t *c, sluice_value_t *out, sluice_value_kind_t kind,
                    const unsigned char *s, size_t len)
{
    char *p = sluice_arena_strndup(&c->ev->arena, (const char *)s, len);

    if (!p)
        return nomem(c);
    out->kind = kind;
    out->u.s.ptr = p;
    out->u.s.len = len;
    return 0;
}

static int json_value(ctx_t *c, const node_t *n, int depth, sluice_value_t *out)
{
    json_t *j = to_json(c, n, depth);
    char *text;
    int rc;

    if (!j)
        return -1;
    text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    if (!text)
        return nomem(c);
    rc = set_text(c, out, SLUICE_VAL_JSON, (const unsigned char *)text, strlen(text));
    free(text);
    return rc;
}

static int is_ph(const ctx_t *c, const char *s, size_t len)
{
    return len == c->dec->ph_len && memcmp(s, c->dec->ph, len) == 0;
}

/* hstore in json mode: the text '{"<ph>":"<ph>"}' */
static int json_text_is_ph(const ctx_t *c, const unsigned char *s, size_t len)
{
    json_t *doc;
    const char *k;
    json_t *v;
    int yes = 0;

    if (len < 2 * c->dec->ph_len + 7 || len > 2 * c->dec->ph_len + 64 || s[0] != '{')
        return 0;
    doc = json_loadb((const char *)s, len, 0, NULL);
    if (json_object_size(doc) == 1) {
        json_object_foreach(doc, k, v) {
            yes = is_ph(c, k, strlen(k)) && json_is_string(v) &&
                  is_ph(c, json_string_value(v), json_string_length(v));
        }
    }
    json_decref(doc);
    return yes;
}

/* text[]/bytea[]/uuid[]: one placeholder element; int[]/bigint[]: its bytes */
static int array_is_ph(const ctx_t *c, const sluice_value_t *v)
{
    size_t i, n = v->u.arr.n;
    const sluice_value_t *e = v->u.arr.items;

    if (n == 1) {
        if (e->kind == SLUICE_VAL_TEXT || e->kind == SLUICE_VAL_BYTES ||
            e->kind == SLUICE_VAL_JSON)
            return is_ph(c, e->u.s.ptr, e->u.s.len);
        if (e->kind == SLUICE_VAL_UUID)
            return e->u.s.len == 36 && memcmp(e->u.s.ptr, c->dec->ph_uuid, 36) == 0;
        return 0;
    }
    if (n != c->dec->ph_len || n == 0)
        return 0;
    for (i = 0; i < n; i++)
        if (e[i].kind != SLUICE_VAL_INT || e[i].u.i != (unsigned char)c->dec->ph[i])
            return 0;
    return 1;
}

static int map_is_ph(const ctx_t *c, const sluice_value_t *v)
{
    return json_text_is_ph(c, (const unsigned char *)v->u.s.ptr, v->u.s.len);
}

static int decimal_value(ctx_t *c, const unsigned char *b, size_t n, int64_t scale,
                         sluice_value_t *out)
{
    size_t len;
    char *text;

    if (scale > SLUICE_DECIMAL_SCALE_MAX || scale < -SLUICE_DECIMAL_SCALE_MAX)
        return bad(c, "VariableScaleDecimal scale %lld is out of range", (long long)scale);
    text = sluice_decode_decimal_text(&c->ev->arena, b, n, (int32_t)scale, &len);
    if (!text)
        return nomem(c);
    out->kind = SLUICE_VAL_DECIMAL;
    out->u.s.ptr = text;
    out->u.s.len = len;
    return 0;
}

static int read_val(ctx_t *c, const node_t *n, int top, int depth, sluice_value_t *out);

static int read_array(ctx_t *c, const node_t *n, int depth, sluice_value_t *out)
{
    sluice_value_t *items = NULL;
    size_t have = 0, cap = 0;
    int64_t count = 0, bytes = 0;

    for (;;) {
        if (rd_block(c, &count, &bytes) < 0)
            return -1;
        if (count == 0)
            break;
        if (check_count(c, n->items, count, (int64_t)have) < 0)
            return -1;
        if (have + (size_t)count > cap) {
            size_t ncap = cap ? cap * 2 : 8;
            sluice_value_t *grown;
            while (ncap < have + (size_t)count)
                ncap *= 2;
            grown = sluice_arena_calloc(&c->ev->arena, ncap, sizeof(*grown));
            if (!grown)
                return nomem(c);
            if (have)
                memcpy(grown, items, have * sizeof(*grown));
            items = grown;
            cap = ncap;
        }
        for (; count > 0; count--)
            if (read_val(c, n->items, 0, depth + 1, &items[have++]) < 0)
                return -1;
    }
    out->kind = SLUICE_VAL_ARRAY;
    out->u.arr.items = items;
    out->u.arr.n = have;
    return 0;
}

/* Geometry / Geography {wkb, srid} -> EWKB; Point {x, y, ...} -> "(x,y)" */
static int read_shape(ctx_t *c, const node_t *n, int depth, sluice_value_t *out)
{
    const sluice_value_t *wkb = NULL, *srid = NULL, *x = NULL, *y = NULL;
    sluice_value_t *vals = sluice_arena_calloc(&c->ev->arena, n->nfields + 1, sizeof(*vals));
    char why[200];
    size_t i;
    int rc;

    if (!vals)
        return nomem(c);
    for (i = 0; i < n->nfields; i++) {
        const char *f = n->fields[i].name;
        if (read_val(c, n->fields[i].type, 0, depth + 1, &vals[i]) < 0)
            return -1;
        if (!strcmp(f, "wkb") && vals[i].kind == SLUICE_VAL_BYTES)
            wkb = &vals[i];
        else if (!strcmp(f, "srid") && vals[i].kind == SLUICE_VAL_INT)
            srid = &vals[i];
        else if (!strcmp(f, "x") && vals[i].kind == SLUICE_VAL_FLOAT)
            x = &vals[i];
        else if (!strcmp(f, "y") && vals[i].kind == SLUICE_VAL_FLOAT)
            y = &vals[i];
    }
    if (n->tp.rule == SLUICE_RULE_POINT) {
        if (!x || !y)
            return bad(c, "a Point value needs double \"x\" and \"y\"");
        return sluice_decode_point(&c->ev->arena, x->u.f, y->u.f, out) < 0 ? nomem(c) : 0;
    }
    if (!wkb)
        return bad(c, "a Geometry value needs bytes \"wkb\"");
    rc = sluice_decode_ewkb(&c->ev->arena, (const unsigned char *)wkb->u.s.ptr, wkb->u.s.len,
                            srid != NULL, srid ? srid->u.i : 0, out, why, sizeof(why));
    if (rc == -2)
        return nomem(c);
    return rc < 0 ? bad(c, "%s", why) : 0;
}

/* One value with its schema node: the kind the JSON decoder would give the
 * same Connect value. top: a column's own value (placeholder rules apply). */
static int read_val(ctx_t *c, const node_t *n, int top, int depth, sluice_value_t *out)
{
    const unsigned char *raw = NULL;
    size_t len;
    int64_t v;

    if (depth > MAX_DEPTH)
        return bad(c, "the datum nests deeper than %d levels", MAX_DEPTH);
    memset(out, 0, sizeof(*out));
    switch (n->t) {
    case T_NULL:
        out->kind = SLUICE_VAL_NULL;
        return 0;
    case T_BOOL:
        if (rd_raw(c, 1, &raw) < 0)
            return -1;
        if (*raw > 1)
            return bad(c, "a boolean byte is 0x%02x, not 0 or 1", *raw);
        out->kind = SLUICE_VAL_BOOL;
        out->u.b = *raw;
        return 0;
    case T_INT:
    case T_LONG:
        if ((n->t == T_INT ? rd_int(c, &v) : rd_long(c, &v)) < 0)
            return -1;
        if (n->tp.rule == SLUICE_RULE_INTERVAL_US)
            return sluice_decode_interval_us(&c->ev->arena, v, out) < 0 ? nomem(c) : 0;
        if (sluice_decode_int_value(n->intsem, v, out) < 0)
            return bad(c, "time value %lld overflows microseconds", (long long)v);
        return 0;
    case T_FLOAT:
        if (rd_raw(c, 4, &raw) < 0)
            return -1;
        out->kind = SLUICE_VAL_FLOAT;
        out->u.f = float_value(rd_float_bytes(raw));
        return 0;
    case T_DOUBLE:
        if (rd_raw(c, 8, &raw) < 0)
            return -1;
        out->kind = SLUICE_VAL_FLOAT;
        out->u.f = rd_double_bytes(raw);
        return 0;
    case T_STRING:
        if (rd_len(c, &len) < 0 || rd_raw(c, len, &raw) < 0)
            return -1;
        if (!utf8_ok(raw, len))
            return bad(c, "the string is not valid UTF-8 (or holds a NUL byte)");
        if (top && (is_ph(c, (const char *)raw, len) ||
                    (n->kind == SLUICE_VAL_JSON && json_text_is_ph(c, raw, len)))) {
            out->kind = SLUICE_VAL_UNAVAILABLE;
            return 0;
        }
        if (n->tp.rule == SLUICE_RULE_DECIMAL_TEXT)
            return sluice_decode_decimal_string(&c->ev->arena, (const char *)raw, len, out) < 0
                       ? nomem(c)
                       : 0;
        if (n->tp.rule == SLUICE_RULE_BYTES_TEXT) {
            unsigned char *b = sluice_arena_alloc(&c->ev->arena, len + 1);
            long got;
            if (!b)
                return nomem(c);
            got = sluice_types_decode_binary((const char *)raw, len, c->dec->topts.binary_mode, b);
            if (got < 0)
                return bad(c, "a binary column's string is not %s as binary.handling.mode says",
                           c->dec->topts.binary_mode == SLUICE_BINARY_HEX ? "hex" : "base64");
            if (top && is_ph(c, (const char *)b, (size_t)got)) {
                out->kind = SLUICE_VAL_UNAVAILABLE;
                return 0;
            }
            b[got] = '\0';
            out->kind = SLUICE_VAL_BYTES;
            out->u.s.ptr = (const char *)b;
            out->u.s.len = (size_t)got;
            return 0;
        }
        return set_text(c, out, n->kind, raw, len);
    case T_BYTES:
    case T_FIXED:
        if (n->t == T_BYTES ? (rd_len(c, &len) < 0 || rd_raw(c, len, &raw) < 0)
                            : rd_raw(c, len = n->size, &raw) < 0)
            return -1;
        if (top && is_ph(c, (const char *)raw, len)) {
            out->kind = SLUICE_VAL_UNAVAILABLE;
            return 0;
        }
        if (n->decimal)
            return decimal_value(c, raw, len, n->scale, out);
        if (n->tp.rule == SLUICE_RULE_BITS)
            return sluice_decode_bits(&c->ev->arena, raw, len, n->tp.bits, out) < 0 ? nomem(c)
                                                                                    : 0;
        if (set_text(c, out, SLUICE_VAL_BYTES, raw, len) < 0)
            return -1;
        return 0;
    case T_ENUM:
        if (rd_long(c, &v) < 0)
            return -1;
        if (v < 0 || (uint64_t)v >= n->nsymbols)
            return bad(c, "enum index %lld is not a symbol of %s", (long long)v, n->fullname);
        if (top && is_ph(c, n->symbols[v], strlen(n->symbols[v]))) {
            out->kind = SLUICE_VAL_UNAVAILABLE;
            return 0;
        }
        return set_text(c, out, SLUICE_VAL_TEXT, (const unsigned char *)n->symbols[v],
                        strlen(n->symbols[v]));
    case T_UNION: {
        const node_t *b;
        if (rd_branch(c, n, &b) < 0)
            return -1;
        return read_val(c, b, top, depth + 1, out);
    }
    case T_RECORD:
        if (n->vsd) {
            /* {scale, value} in schema order; other fields skipped */
            int64_t scale = 0;
            const unsigned char *b = NULL;
            size_t i, blen = 0;
            for (i = 0; i < n->nfields; i++) {
                if (i == n->vsd_scale) {
                    if (rd_int(c, &scale) < 0)
                        return -1;
                } else if (i == n->vsd_value) {
                    if (rd_len(c, &blen) < 0 || rd_raw(c, blen, &b) < 0)
                        return -1;
                } else if (skip(c, n->fields[i].type, depth + 1) < 0) {
                    return -1;
                }
            }
            return decimal_value(c, b, blen, scale, out);
        }
        if (n->tp.rule == SLUICE_RULE_GEOMETRY || n->tp.rule == SLUICE_RULE_POINT)
            return read_shape(c, n, depth, out);
        return json_value(c, n, depth, out); /* circle, line, ...: JSON text */
    case T_ARRAY:
        if (read_array(c, n, depth, out) < 0)
            return -1;
        if (top && array_is_ph(c, out)) {
            memset(out, 0, sizeof(*out));
            out->kind = SLUICE_VAL_UNAVAILABLE;
        }
        return 0;
    case T_MAP:
        if (json_value(c, n, depth, out) < 0)
            return -1;
        if (top && map_is_ph(c, out)) {
            memset(out, 0, sizeof(*out));
            out->kind = SLUICE_VAL_UNAVAILABLE;
        }
        return 0;
    }
    return bad(c, "unknown node type");
}

/* A row: ["null", record] or a record; columns in schema order. */
static int read_row(ctx_t *c, const node_t *n, const char *rowname, sluice_row_t *row)
{
    size_t i;

    memset(row, 0, sizeof(*row));
    c->row = rowname;
    c->col = NULL;
    if (n->t == T_UNION && rd_branch(c, n, &n) < 0)
        return -1;
    if (n->t == T_NULL) {
        c->row = NULL;
        return 0;
    }
    if (n->t != T_RECORD)
        return bad(c, "is an Avro %s, expected a record of columns", type_names[n->t]);
    if (n->nfields) {
        row->cols = sluice_arena_calloc(&c->ev->arena, n->nfields, sizeof(*row->cols));
        if (!row->cols)
            return nomem(c);
    }
    for (i = 0; i < n->nfields; i++) {
        row->cols[i].name = n->fields[i].name;
        row->cols[i].type = &n->fields[i].ct;
        c->col = n->fields[i].name;
        if (read_val(c, n->fields[i].type, 1, 1, &row->cols[i].value) < 0)
            return -1;
    }
    row->ncols = n->nfields;
    row->present = 1;
    c->row = NULL;
    c->col = NULL;
    return 0;
}

/* A string field of the source block or envelope; NULL stays NULL. */
static int want_text(ctx_t *c, const sluice_value_t *v, const char **out)
{
    if (v->kind == SLUICE_VAL_NULL)
        return 0;
    if (v->kind != SLUICE_VAL_TEXT)
        return bad(c, "is %s, expected a string", sluice_value_kind_name(v->kind));
    *out = v->u.s.ptr;
    return 0;
}

static int want_int(ctx_t *c, const sluice_value_t *v, int64_t *out)
{
    if (v->kind == SLUICE_VAL_NULL)
        return 0;
    if (v->kind != SLUICE_VAL_INT)
        return bad(c, "is %s, expected an integer", sluice_value_kind_name(v->kind));
    *out = v->u.i;
    return 0;
}

static int read_source(ctx_t *c, const node_t *n)
{
    sluice_event_t *ev = c->ev;
    sluice_source_fields_t sf;
    char why[SLUICE_ERR_MSG_MAX / 2];
    size_t i;

    c->row = "source";
    c->col = NULL;
    if (n->t == T_UNION && rd_branch(c, n, &n) < 0)
        return -1;
    if (n->t == T_NULL)
        return bad(c, "missing; a Debezium envelope always has a source block");
    if (n->t != T_RECORD)
        return bad(c, "is an Avro %s, expected a record", type_names[n->t]);
    memset(&sf, 0, sizeof(sf));
    ev->snapshot = SLUICE_SNAPSHOT_FALSE;
    ev->source_ts_ms = 0;
    ev->tx_id = -1;
    for (i = 0; i < n->nfields; i++) {
        const field_t *f = &n->fields[i];
        sluice_value_t v;
        const char *s = NULL;
        int rc = 0;

        if (f->role == F_NONE) {
            if (skip(c, f->type, 1) < 0)
                return -1;
            continue;
        }
        c->col = f->name;
        if (read_val(c, f->type, 0, 1, &v) < 0)
            return -1;
        switch (f->role) {
        case S_CONNECTOR: rc = want_text(c, &v, &ev->connector); break;
        case S_NAME: rc = want_text(c, &v, &ev->server); break;
        case S_DB: rc = want_text(c, &v, &ev->db); break;
        case S_SCHEMA: rc = want_text(c, &v, &ev->schema); break;
        case S_TABLE: rc = want_text(c, &v, &ev->table); break;
        case S_TS_MS: rc = want_int(c, &v, &ev->source_ts_ms); break;
        case S_TXID: rc = want_int(c, &v, &ev->tx_id); break;
        case S_SEQUENCE: rc = want_text(c, &v, &sf.sequence); break;
        case S_LSN:
            rc = want_int(c, &v, &sf.lsn);
            sf.has_lsn = v.kind == SLUICE_VAL_INT;
            break;
        case S_FILE:
            sf.mysql_fields = 1;
            rc = want_text(c, &v, &sf.file);
            break;
        case S_POS:
            sf.mysql_fields = 1;
            rc = want_int(c, &v, &sf.binpos);
            break;
        case S_ROW: rc = want_int(c, &v, &sf.row); break;
        case S_SNAPSHOT:
            if (v.kind == SLUICE_VAL_BOOL) { /* tolerated, as in JSON */
                ev->snapshot = v.u.b ? SLUICE_SNAPSHOT_TRUE : SLUICE_SNAPSHOT_FALSE;
            } else if (want_text(c, &v, &s) < 0) {
                return -1;
            } else if (s && sluice_decode_snapshot(s, strlen(s), &ev->snapshot) < 0) {
                return bad(c, "is \"%s\", not one of true, first, first_in_data_collection, "
                              "last_in_data_collection, last, false, incremental",
                           s);
            }
            break;
        default:
            break;
        }
        if (rc < 0)
            return -1;
    }
    c->col = NULL;
    sf.connector = ev->connector;
    if (sluice_decode_position(&sf, &ev->pos, why, sizeof(why)) < 0)
        return bad(c, "%s", why);
    c->row = NULL;
    return 0;
}

/* op 'm': message {prefix, content} */
static int read_message(ctx_t *c, const node_t *n)
{
    size_t i;

    c->row = "message";
    c->col = NULL;
    if (n->t == T_UNION && rd_branch(c, n, &n) < 0)
        return -1;
    if (n->t == T_NULL)
        return 0;
    if (n->t != T_RECORD)
        return bad(c, "is an Avro %s, expected a record {prefix, content}", type_names[n->t]);
    for (i = 0; i < n->nfields; i++) {
        const field_t *f = &n->fields[i];
        sluice_value_t v;
        c->col = f->name;
        if (!strcmp(f->name, "content")) {
            if (read_val(c, f->type, 0, 1, &c->ev->msg_content) < 0)
                return -1;
        } else if (!strcmp(f->name, "prefix")) {
            if (read_val(c, f->type, 0, 1, &v) < 0 || want_text(c, &v, &c->ev->msg_prefix) < 0)
                return -1;
        } else if (skip(c, f->type, 1) < 0) {
            return -1;
        }
    }
    c->row = NULL;
    c->col = NULL;
    return 0;
}

/* A flattened record (ExtractNewRecordState): the root record is the row. */
static int decode_flat(ctx_t *c, const plan_t *pl)
{
    sluice_row_t all;
    char why[SLUICE_ERR_MSG_MAX / 2];
    int rc;

    if (read_row(c, pl->root, "row", &all) < 0)
        return -1;
    rc = sluice_decode_flat_finish(c->ev, &all, c->dec->prefix, why, sizeof(why));
    if (rc == -2)
        return nomem(c);
    if (rc < 0) {
        c->row = "row";
        c->col = NULL;
        return bad(c, "flattened record (ExtractNewRecordState): %s", why);
    }
    return 0;
}

/* Heartbeat {ts_ms}, schema change {source, databaseName, ddl, ...},
 * transaction metadata {status, id, event_count, ...}. */
static int decode_control(ctx_t *c, const plan_t *pl)
{
    const node_t *root = pl->root;
    sluice_event_t *ev = c->ev;
    const char *status = NULL, *nm = root->semantic ? root->semantic : root->fullname;
    size_t i;

    ev->op = SLUICE_OP_CONTROL;
    ev->control = SLUICE_CONTROL_HEARTBEAT;
    for (i = 0; i < root->nfields; i++) {
        const field_t *f = &root->fields[i];
        sluice_value_t v;
        c->row = NULL;
        c->col = f->name;
        if (f->role == E_SOURCE) {
            if (read_source(c, f->type) < 0)
                return -1;
            continue;
        }
        if (read_val(c, f->type, 0, 1, &v) < 0)
            return -1;
        if (!strcmp(f->name, "ts_ms")) {
            if (want_int(c, &v, &ev->ts_ms) < 0)
                return -1;
        } else if (!strcmp(f->name, "status")) {
            if (want_text(c, &v, &status) < 0)
                return -1;
        } else if (!strcmp(f->name, "id")) {
            if (v.kind == SLUICE_VAL_INT) {
                char tmp[32];
                snprintf(tmp, sizeof(tmp), "%lld", (long long)v.u.i);
                ev->ctl_id = sluice_arena_strndup(&ev->arena, tmp, strlen(tmp));
                if (!ev->ctl_id)
                    return nomem(c);
            } else if (want_text(c, &v, &ev->ctl_id) < 0) {
                return -1;
            }
        } else if (!strcmp(f->name, "event_count")) {
            if (want_int(c, &v, &ev->ctl_count) < 0)
                return -1;
        } else if (!strcmp(f->name, "ddl")) {
            if (want_text(c, &v, &ev->ctl_ddl) < 0)
                return -1;
            ev->control = SLUICE_CONTROL_SCHEMA_CHANGE;
        } else if (!strcmp(f->name, "databaseName")) {
            if (want_text(c, &v, &ev->ctl_db) < 0)
                return -1;
        } else if (!strcmp(f->name, "tableChanges")) {
            ev->control = SLUICE_CONTROL_SCHEMA_CHANGE;
        }
    }
    c->row = NULL;
    c->col = NULL;
    if (name_ends(nm, "SchemaChangeValue"))
        ev->control = SLUICE_CONTROL_SCHEMA_CHANGE;
    if (status && !name_ends(nm, "common.Heartbeat")) {
        if (!strcmp(status, "BEGIN"))
            ev->control = SLUICE_CONTROL_TX_BEGIN;
        else if (!strcmp(status, "END"))
            ev->control = SLUICE_CONTROL_TX_END;
        else
            return bad(c, "transaction metadata status \"%s\" is neither BEGIN nor END", status);
    }
    return 0;
}

static int decode_envelope(ctx_t *c, const plan_t *pl)
{
    const node_t *root = pl->root;
    int have_source = 0, have_message = 0;
    size_t i;

    if (pl->kind == REC_FLAT)
        return decode_flat(c, pl);
    if (pl->kind == REC_CONTROL)
        return decode_control(c, pl);

    if (root->t != T_RECORD || !pl->envelope)
        return bad(c, "the schema %s%s has no \"op\" field; not a Debezium change event "
                      "(transaction metadata, heartbeat and schema-change records have none)",
                   root->fullname ? "record " : "of type ",
                   root->fullname ? root->fullname : type_names[root->t]);
    for (i = 0; i < root->nfields; i++) {
        const field_t *f = &root->fields[i];
        sluice_value_t v;
        const char *op = NULL;

        c->row = NULL;
        c->col = NULL;
        switch (f->role) {
        case E_BEFORE:
            if (read_row(c, f->type, "before", &c->ev->before) < 0)
                return -1;
            break;
        case E_AFTER:
            if (read_row(c, f->type, "after", &c->ev->after) < 0)
                return -1;
            break;
        case E_SOURCE:
            if (read_source(c, f->type) < 0)
                return -1;
            have_source = 1;
            break;
        case E_MESSAGE:
            if (read_message(c, f->type) < 0)
                return -1;
            have_message = 1;
            break;
        case E_OP:
            c->col = "op";
            if (read_val(c, f->type, 0, 1, &v) < 0 || want_text(c, &v, &op) < 0)
                return -1;
            if (!op)
                return bad(c, "is null; not a Debezium change event");
            if (strlen(op) != 1 || !strchr("cudrtm", op[0]))
                return bad(c, "unknown \"op\" \"%s\", expected one of \"c\", \"u\", \"d\", "
                              "\"r\", \"t\", \"m\"",
                           op);
            c->ev->op = (sluice_op_t)op[0];
            break;
        case E_TS_MS:
            c->col = "ts_ms";
            if (read_val(c, f->type, 0, 1, &v) < 0 || want_int(c, &v, &c->ev->ts_ms) < 0)
                return -1;
            break;
        default:
            if (skip(c, f->type, 1) < 0)
                return -1;
        }
    }
    c->row = NULL;
    c->col = NULL;
    if (!have_source) {
        c->row = "source";
        return bad(c, "missing; a Debezium envelope always has a source block");
    }
    if (c->ev->op == SLUICE_OP_MESSAGE && (!have_message || !c->ev->msg_prefix)) {
        c->row = "message";
        return bad(c, "op \"m\" needs a message record {prefix, content}");
    }
    return 0;
}

static int finish(ctx_t *c)
{
    if (c->p != c->end)
        return bad(c, "%zu bytes are left over after the datum (%zu bytes); the record was "
                      "not written with schema id %d",
                   (size_t)(c->end - c->p), (size_t)(c->end - c->start), (int)c->id);
    return 0;
}

static int value_datum(sluice_avro_decoder_t *dec, int32_t id, const unsigned char *datum,
                       size_t len, sluice_event_t *ev, sluice_err_t *err)
{
    const plan_t *pl = plan_get(dec, id, err);
    ctx_t c;

    if (!datum)
        datum = (const unsigned char *)"";
    c = (ctx_t){dec, ev, err, "value", id, datum, datum, datum + len, NULL, NULL};

    if (!pl)
        return -1;
    if (decode_envelope(&c, pl) < 0 || finish(&c) < 0)
        return -1;
    sluice_event_mark_key_columns(ev);
    return 0;
}

static int key_datum(sluice_avro_decoder_t *dec, int32_t id, const unsigned char *datum,
                     size_t len, sluice_event_t *ev, sluice_err_t *err)
{
    const plan_t *pl = plan_get(dec, id, err);
    ctx_t c;

    if (!datum)
        datum = (const unsigned char *)"";
    c = (ctx_t){dec, ev, err, "key", id, datum, datum, datum + len, NULL, NULL};

    ev->key.present = 0;
    if (!pl)
        return -1;
    if (pl->root->t != T_RECORD && pl->root->t != T_UNION)
        return 0; /* a primitive key: no key columns */
    if (read_row(&c, pl->root, "key", &ev->key) < 0) {
        memset(&ev->key, 0, sizeof(ev->key));
        return -1;
    }
    if (finish(&c) < 0)
        return -1;
    sluice_event_mark_key_columns(ev);
    return 0;
}

int sluice_avro_decoder_value_datum(sluice_avro_decoder_t *dec, int32_t id, const void *datum,
                                    size_t len, sluice_event_t *ev, sluice_err_t *err)
{
    return value_datum(dec, id, datum, len, ev, err);
}

int sluice_avro_decoder_key_datum(sluice_avro_decoder_t *dec, int32_t id, const void *datum,
                                  size_t len, sluice_event_t *ev, sluice_err_t *err)
{
    return key_datum(dec, id, datum, len, ev, err);
}

int sluice_avro_decoder_value(sluice_avro_decoder_t *dec, const void *buf, size_t len,
                              sluice_event_t *ev, sluice_err_t *err)
{
    const unsigned char *datum = NULL;
    size_t dlen = 0;
    int32_t id = 0;

    if (sluice_avro_frame(buf, len, &id, &datum, &dlen, err) < 0)
        return -1;
    return value_datum(dec, id, datum, dlen, ev, err);
}

int sluice_avro_decoder_key(sluice_avro_decoder_t *dec, const void *buf, size_t len,
                            sluice_event_t *ev, sluice_err_t *err)
{
    const unsigned char *datum = NULL;
    size_t dlen = 0;
    int32_t id = 0;

    ev->key.present = 0;
    if (sluice_avro_frame(buf, len, &id, &datum, &dlen, err) < 0)
        return -1;
    return key_datum(dec, id, datum, dlen, ev, err);
}

/* ---------------------------------------------------------------------- */
/* Avro JSON encoding -> binary, with avro-c (tools and tests) */

struct sluice_avro_encoder {
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t value;
    char *buf;
    size_t cap;
};

sluice_avro_encoder_t *sluice_avro_encoder_new(const char *schema_json, size_t len,
                                               sluice_err_t *err)
{
    sluice_avro_encoder_t *enc = calloc(1, sizeof(*enc));

    if (!enc) {
        sluice_err_set(err, SLUICE_ERR_FATAL, "avro encoder: out of memory");
        return NULL;
    }
    if (avro_schema_from_json_length(schema_json, len, &enc->schema) != 0) {
        sluice_err_set(err, SLUICE_ERR_PERMANENT, "avro encoder: not a valid Avro schema: %s",
                       avro_strerror());
        free(enc);
        return NULL;
    }
    enc->iface = avro_generic_class_from_schema(enc->schema);
    if (!enc->iface || avro_generic_value_new(enc->iface, &enc->value) != 0) {
        sluice_err_set(err, SLUICE_ERR_FATAL, "avro encoder: %s", avro_strerror());
        if (enc->iface)
            avro_value_iface_decref(enc->iface);
        avro_schema_decref(enc->schema);
        free(enc);
        return NULL;
    }
    return enc;
}

void sluice_avro_encoder_destroy(sluice_avro_encoder_t *enc)
{
    if (!enc)
        return;
    avro_value_decref(&enc->value);
    avro_value_iface_decref(enc->iface);
    avro_schema_decref(enc->schema);
    free(enc->buf);
    free(enc);
}

/* Avro JSON writes bytes as a string of code points U+0000..U+00FF. */
static int json_bytes(const json_t *j, unsigned char **out, size_t *n)
{
    const unsigned char *s = (const unsigned char *)json_string_value(j);
    size_t len = json_string_length(j), i = 0, o = 0;
    unsigned char *b = malloc(len + 1);

    if (!b)
        return -1;
    while (i < len) {
        if (s[i] < 0x80) {
            b[o++] = s[i++];
        } else if ((s[i] == 0xc2 || s[i] == 0xc3) && i + 1 < len) {
            b[o++] = (unsigned char)((s[i] & 0x03) << 6 | (s[i + 1] & 0x3f));
            i += 2;
        } else {
            free(b);
            return -1;
        }
    }
    *out = b;
    *n = o;
    return 0;
}

static const char *branch_name(avro_schema_t b, char *tmp, size_t tmplen)
{
    const char *ns;

    if (avro_typeof(b) == AVRO_LINK)
        b = avro_schema_link_target(b);
    ns = avro_schema_namespace(b);
    if ((avro_typeof(b) == AVRO_RECORD || avro_typeof(b) == AVRO_ENUM ||
         avro_typeof(b) == AVRO_FIXED) && ns && *ns) {
        snprintf(tmp, tmplen, "%s.%s", ns, avro_schema_type_name(b));
        return tmp;
    }
    return avro_schema_type_name(b);
}

static int enc_value(avro_value_t *v, const json_t *j, const char *path, char *why, size_t wlen,
                     int depth);

static int enc_fail(char *why, size_t wlen, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int enc_fail(char *why, size_t wlen, const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(why, wlen, "%s: %s", *path ? path : "(datum)", msg);
    return -1;
}

static int enc_union(avro_value_t *v, const json_t *j, const char *path, char *why,
                     size_t wlen, int depth)
{
    avro_schema_t s = avro_value_get_schema(v);
    size_t i, n = avro_schema_union_size(s);
    const char *want = "null", *k;
    const json_t *inner = j;
    avro_value_t branch;
    char tmp[512];
    json_t *jv;

    if (!json_is_null(j)) {
        if (!json_is_object(j) || json_object_size(j) != 1)
            return enc_fail(why, wlen, path, "a union value must be null or {\"<type>\": value}");
        json_object_foreach((json_t *)j, k, jv) {
            want = k;
            inner = jv;
        }
    }
    for (i = 0; i < n; i++) {
        avro_schema_t b = avro_schema_union_branch(s, (int)i);
        const char *name = branch_name(b, tmp, sizeof(tmp));
        const char *shortname = avro_schema_type_name(
            avro_typeof(b) == AVRO_LINK ? avro_schema_link_target(b) : b);
        if (strcmp(name, want) == 0 || strcmp(shortname, want) == 0) {
            if (avro_value_set_branch(v, (int)i, &branch) != 0)
                return enc_fail(why, wlen, path, "%s", avro_strerror());
            return enc_value(&branch, inner, path, why, wlen, depth + 1);
        }
    }
    return enc_fail(why, wlen, path, "the union has no branch %s", want);
}

static int enc_value(avro_value_t *v, const json_t *j, const char *path, char *why, size_t wlen,
                     int depth)
{
    avro_schema_t s = avro_value_get_schema(v);
    avro_value_t child;
    char sub[512];
    size_t i, n;
    int rc = 0;

    if (depth > MAX_DEPTH)
        return enc_fail(why, wlen, path, "nested too deep");
    switch (avro_value_get_type(v)) {
    case AVRO_NULL:
        if (!json_is_null(j))
            return enc_fail(why, wlen, path, "expected null");
        rc = avro_value_set_null(v);
        break;
    case AVRO_BOOLEAN:
        if (!json_is_boolean(j))
            return enc_fail(why, wlen, path, "expected a boolean");
        rc = avro_value_set_boolean(v, json_is_true(j));
        break;
    case AVRO_INT32:
        if (!json_is_integer(j) || json_integer_value(j) < INT32_MIN ||
            json_integer_value(j) > INT32_MAX)
            return enc_fail(why, wlen, path, "expected a 32-bit integer");
        rc = avro_value_set_int(v, (int32_t)json_integer_value(j));
        break;
    case AVRO_INT64:
        if (!json_is_integer(j))
            return enc_fail(why, wlen, path, "expected an integer");
        rc = avro_value_set_long(v, json_integer_value(j));
        break;
    case AVRO_FLOAT:
    case AVRO_DOUBLE: {
        double d;
        if (json_is_number(j))
            d = json_number_value(j);
        else if (json_is_string(j) && !strcmp(json_string_value(j), "NaN"))
            d = NAN;
        else if (json_is_string(j) && !strcmp(json_string_value(j), "Infinity"))
            d = INFINITY;
        else if (json_is_string(j) && !strcmp(json_string_value(j), "-Infinity"))
            d = -INFINITY;
        else
            return enc_fail(why, wlen, path, "expected a number");
        rc = avro_value_get_type(v) == AVRO_FLOAT ? avro_value_set_float(v, (float)d)
                                                   : avro_value_set_double(v, d);
        break;
    }
    case AVRO_STRING:
        if (!json_is_string(j))
            return enc_fail(why, wlen, path, "expected a string");
        /* avro-c's string sizes count the NUL */
        rc = avro_value_set_string_len(v, json_string_value(j), json_string_length(j) + 1);
        break;
    case AVRO_BYTES:
    case AVRO_FIXED: {
        unsigned char *b;
        size_t blen;
        if (!json_is_string(j) || json_bytes(j, &b, &blen) < 0)
            return enc_fail(why, wlen, path, "expected bytes as a string of code points 0-255");
        if (avro_value_get_type(v) == AVRO_FIXED &&
            (int64_t)blen != avro_schema_fixed_size(s)) {
            free(b);
            return enc_fail(why, wlen, path, "fixed of %lld bytes got %zu",
                            (long long)avro_schema_fixed_size(s), blen);
        }
        rc = avro_value_get_type(v) == AVRO_BYTES ? avro_value_set_bytes(v, b, blen)
                                                   : avro_value_set_fixed(v, b, blen);
        free(b);
        break;
    }
    case AVRO_ENUM: {
        int sym;
        if (!json_is_string(j))
            return enc_fail(why, wlen, path, "expected an enum symbol");
        sym = avro_schema_enum_get_by_name(s, json_string_value(j));
        if (sym < 0)
            return enc_fail(why, wlen, path, "\"%s\" is not a symbol of the enum",
                            json_string_value(j));
        rc = avro_value_set_enum(v, sym);
        break;
    }
    case AVRO_RECORD:
        if (!json_is_object(j))
            return enc_fail(why, wlen, path, "expected an object");
        n = avro_schema_record_size(s);
        for (i = 0; i < n; i++) {
            const char *fname = avro_schema_record_field_name(s, (int)i);
            const json_t *fj = json_object_get(j, fname);
            if (avro_value_get_by_index(v, i, &child, NULL) != 0)
                return enc_fail(why, wlen, path, "%s", avro_strerror());
            snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", fname);
            if (enc_value(&child, fj ? fj : json_null(), sub, why, wlen, depth + 1) < 0)
                return -1;
        }
        break;
    case AVRO_ARRAY:
        if (!json_is_array(j))
            return enc_fail(why, wlen, path, "expected an array");
        for (i = 0; i < json_array_size(j); i++) {
            if (avro_value_append(v, &child, NULL) != 0)
                return enc_fail(why, wlen, path, "%s", avro_strerror());
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            if (enc_value(&child, json_array_get(j, i), sub, why, wlen, depth + 1) < 0)
                return -1;
        }
        break;
    case AVRO_MAP: {
        const char *k;
        json_t *jv;
        if (!json_is_object(j))
            return enc_fail(why, wlen, path, "expected an object (map)");
        json_object_foreach((json_t *)j, k, jv) {
            if (avro_value_add(v, k, &child, NULL, NULL) != 0)
                return enc_fail(why, wlen, path, "%s", avro_strerror());
            snprintf(sub, sizeof(sub), "%s[%s]", path, k);
            if (enc_value(&child, jv, sub, why, wlen, depth + 1) < 0)
                return -1;
        }
        break;
    }
    case AVRO_UNION:
        return enc_union(v, j, path, why, wlen, depth);
    default:
        return enc_fail(why, wlen, path, "unsupported Avro type");
    }
    if (rc != 0)
        return enc_fail(why, wlen, path, "%s", avro_strerror());
    return 0;
}

int sluice_avro_encoder_json(sluice_avro_encoder_t *enc, const char *json, size_t len,
                             int32_t id, sluice_buf_t *out, sluice_err_t *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    char why[1024];
    size_t size = 0;
    avro_writer_t w;
    int rc;

    if (!root)
        return sluice_err_set(err, SLUICE_ERR_PERMANENT, "avro encoder: not JSON: %s",
                              jerr.text);
    avro_value_reset(&enc->value);
    rc = enc_value(&enc->value, root, "", why, sizeof(why), 0);
    json_decref(root);
    if (rc < 0)
        return sluice_err_set(err, SLUICE_ERR_PERMANENT, "avro encoder: %s", why);
    if (avro_value_sizeof(&enc->value, &size) != 0)
        return sluice_err_set(err, SLUICE_ERR_PERMANENT, "avro encoder: %s", avro_strerror());
    if (size + 1 > enc->cap) {
        char *grown = realloc(enc->buf, size + 1);
        if (!grown)
            return sluice_err_set(err, SLUICE_ERR_FATAL, "avro encoder: out of memory");
        enc->buf = grown;
        enc->cap = size + 1;
    }
    w = avro_writer_memory(enc->buf, (int64_t)size);
    if (!w)
        return sluice_err_set(err, SLUICE_ERR_FATAL, "avro encoder: out of memory");
    rc = avro_value_write(w, &enc->value);
    avro_writer_free(w);
    if (rc != 0)
        return sluice_err_set(err, SLUICE_ERR_PERMANENT, "avro encoder: %s", avro_strerror());
    if (id >= 0) {
        unsigned char hdr[5] = {0, (unsigned char)((uint32_t)id >> 24),
                                (unsigned char)((uint32_t)id >> 16),
                                (unsigned char)((uint32_t)id >> 8), (unsigned char)id};
        if (sluice_buf_append(out, hdr, sizeof(hdr)) < 0)
            return sluice_err_set(err, SLUICE_ERR_FATAL, "avro encoder: out of memory");
    }
    if (sluice_buf_append(out, enc->buf, size) < 0)
        return sluice_err_set(err, SLUICE_ERR_FATAL, "avro encoder: out of memory");
    return 0;
}
