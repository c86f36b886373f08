/* The change-event model: lifecycle of sluice_event_t (which owns one arena
 * for every string, row and value of a decoded message), row lookup, source
 * position ordering, enum names, and the JSON rendering printed by
 * `sluice decode`. Decoding itself lives in decode_*.c; PostgreSQL text forms
 * in types.c. */
#include "sluice/event.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/types.h"

static void clear_fields(sluice_event_t *ev)
{
    sluice_arena_t arena = ev->arena;

    memset(ev, 0, sizeof(*ev));
    ev->arena = arena;
    ev->op = SLUICE_OP_NONE;
    ev->partition = -1;
    ev->offset = -1;
    ev->snapshot = SLUICE_SNAPSHOT_FALSE;
    ev->tx_id = -1;
    ev->msg_content.kind = SLUICE_VAL_NULL;
}

void sluice_event_init(sluice_event_t *ev)
{
    sluice_arena_init(&ev->arena);
    clear_fields(ev);
}

void sluice_event_cleanup(sluice_event_t *ev)
{
    if (!ev)
        return;
    sluice_arena_cleanup(&ev->arena);
    clear_fields(ev);
}

void sluice_event_reset(sluice_event_t *ev)
{
    sluice_arena_reset(&ev->arena);
    clear_fields(ev);
}

const sluice_value_t *sluice_row_get(const sluice_row_t *row, const char *name)
{
    size_t i;

    if (!row || !row->present)
        return NULL;
    for (i = 0; i < row->ncols; i++)
        if (strcmp(row->cols[i].name, name) == 0)
            return &row->cols[i].value;
    return NULL;
}

int sluice_pos_cmp(const sluice_pos_t *a, const sluice_pos_t *b)
{
    int i;

    /* A PostgreSQL snapshot read has no commit LSN ([null, LSN]): it stands
     * at its LSN, so against it only the change LSNs say which is newer. */
    if (a->n == 2 && b->n == 2 && (a->part[0] == 0 || b->part[0] == 0) && a->part[1] != b->part[1])
        return a->part[1] < b->part[1] ? -1 : 1;
    if (a->n == 2 && b->n == 2 && (a->part[0] == 0 || b->part[0] == 0))
        return 0;

    for (i = 0; i < a->n && i < b->n; i++) {
        if (a->part[i] != b->part[i])
            return a->part[i] < b->part[i] ? -1 : 1;
    }
    if (a->n == b->n)
        return 0;
    return a->n < b->n ? -1 : 1;
}

const char *sluice_op_name(sluice_op_t op)
{
    switch (op) {
    case SLUICE_OP_NONE: return "none";
    case SLUICE_OP_CREATE: return "c";
    case SLUICE_OP_UPDATE: return "u";
    case SLUICE_OP_DELETE: return "d";
    case SLUICE_OP_READ: return "r";
    case SLUICE_OP_TRUNCATE: return "t";
    case SLUICE_OP_MESSAGE: return "m";
    case SLUICE_OP_TOMBSTONE: return "tombstone";
    case SLUICE_OP_CONTROL: return "control";
    }
    return "unknown";
}

const char *sluice_control_name(sluice_control_t control)
{
    switch (control) {
    case SLUICE_CONTROL_NONE: return "none";
    case SLUICE_CONTROL_HEARTBEAT: return "heartbeat";
    case SLUICE_CONTROL_SCHEMA_CHANGE: return "schema_change";
    case SLUICE_CONTROL_TX_BEGIN: return "tx_begin";
    case SLUICE_CONTROL_TX_END: return "tx_end";
    }
    return "unknown";
}

static void mark_row(sluice_row_t *row, const sluice_row_t *key)
{
    size_t i;

    for (i = 0; row->present && i < row->ncols; i++)
        row->cols[i].key = key->present && sluice_row_get(key, row->cols[i].name) != NULL;
}

void sluice_event_mark_key_columns(sluice_event_t *ev)
{
    size_t i;

    for (i = 0; ev->key.present && i < ev->key.ncols; i++)
        ev->key.cols[i].key = 1;
    mark_row(&ev->before, &ev->key);
    mark_row(&ev->after, &ev->key);
}

const char *sluice_snapshot_name(sluice_snapshot_t snap)
{
    switch (snap) {
    case SLUICE_SNAPSHOT_FALSE: return "false";
    case SLUICE_SNAPSHOT_TRUE: return "true";
    case SLUICE_SNAPSHOT_FIRST: return "first";
    case SLUICE_SNAPSHOT_FIRST_IN_DATA_COLLECTION: return "first_in_data_collection";
    case SLUICE_SNAPSHOT_LAST_IN_DATA_COLLECTION: return "last_in_data_collection";
    case SLUICE_SNAPSHOT_LAST: return "last";
    case SLUICE_SNAPSHOT_INCREMENTAL: return "incremental";
    }
    return "unknown";
}

const char *sluice_value_kind_name(sluice_value_kind_t kind)
{
    switch (kind) {
    case SLUICE_VAL_NULL: return "null";
    case SLUICE_VAL_BOOL: return "bool";
    case SLUICE_VAL_INT: return "int";
    case SLUICE_VAL_FLOAT: return "float";
    case SLUICE_VAL_DECIMAL: return "decimal";
    case SLUICE_VAL_TEXT: return "text";
    case SLUICE_VAL_BYTES: return "bytes";
    case SLUICE_VAL_JSON: return "json";
    case SLUICE_VAL_UUID: return "uuid";
    case SLUICE_VAL_DATE: return "date";
    case SLUICE_VAL_TIME: return "time";
    case SLUICE_VAL_TIMESTAMP: return "timestamp";
    case SLUICE_VAL_TIMESTAMPTZ: return "timestamptz";
    case SLUICE_VAL_TIMETZ: return "timetz";
    case SLUICE_VAL_ARRAY: return "array";
    case SLUICE_VAL_UNAVAILABLE: return "unavailable";
    case SLUICE_VAL_INTERVAL: return "interval";
    case SLUICE_VAL_BITS: return "bits";
    case SLUICE_VAL_GEOMETRY: return "geometry";
    }
    return "unknown";
}

/* ---- JSON rendering for `sluice decode` ----
 * Each value is {"kind": "<kind>", "value": <v>}: ints, floats and bools as
 * JSON numbers/booleans (non-finite floats as the strings "NaN", "Infinity",
 * "-Infinity"), strings as themselves, BYTES as lowercase hex without a prefix
 * plus "encoding": "hex", arrays as a list of such objects. DATE, TIME and
 * TIMESTAMP keep the raw integer in "value" and add "text" with PostgreSQL's
 * text form. Every jansson constructor may return NULL on allocation failure;
 * json_object_set_new() and json_array_append_new() then fail too, which is
 * how errors propagate (they free the new reference they are given). */

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *hex_string(const char *p, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *hex = malloc(2 * len + 1);
    json_t *j;
    size_t i;

    if (!hex)
        return NULL;
    for (i = 0; i < len; i++) {
        hex[2 * i] = digits[(unsigned char)p[i] >> 4];
        hex[2 * i + 1] = digits[(unsigned char)p[i] & 15];
    }
    hex[2 * len] = '\0';
    j = json_stringn(hex, 2 * len);
    free(hex);
    return j;
}

static json_t *value_json(const sluice_value_t *v);

static int set_text_form(json_t *obj, const sluice_value_t *v)
{
    sluice_buf_t buf;
    int rc;

    sluice_buf_init(&buf);
    if (sluice_types_pg_text(v, &buf, NULL) < 0)
        rc = json_object_set_new(obj, "text", json_null());
    else
        rc = json_object_set_new(obj, "text", json_stringn(buf.data, buf.len));
    sluice_buf_cleanup(&buf);
    return rc;
}

/* The "value" member; extra receives "text"/"encoding" where they apply. */
static json_t *scalar_json(const sluice_value_t *v, json_t *obj)
{
    switch (v->kind) {
    case SLUICE_VAL_NULL:
    case SLUICE_VAL_UNAVAILABLE:
        return json_null();
    case SLUICE_VAL_BOOL:
        return json_boolean(v->u.b);
    case SLUICE_VAL_INT:
        return json_integer(v->u.i);
    case SLUICE_VAL_FLOAT:
        if (isnan(v->u.f))
            return json_string("NaN");
        if (isinf(v->u.f))
            return json_string(v->u.f > 0 ? "Infinity" : "-Infinity");
        return json_real(v->u.f);
    case SLUICE_VAL_DATE:
    case SLUICE_VAL_TIME:
    case SLUICE_VAL_TIMESTAMP:
        if (set_text_form(obj, v) < 0)
            return NULL;
        return json_integer(v->u.i);
    case SLUICE_VAL_BYTES:
    case SLUICE_VAL_GEOMETRY:
        if (json_object_set_new(obj, "encoding", json_string("hex")) < 0)
            return NULL;
        return hex_string(v->u.s.ptr, v->u.s.len);
    case SLUICE_VAL_ARRAY: {
        json_t *arr = json_array();
        size_t i;
        for (i = 0; arr && i < v->u.arr.n; i++) {
            if (json_array_append_new(arr, value_json(&v->u.arr.items[i])) < 0) {
                json_decref(arr);
                return NULL;
            }
        }
        return arr;
    }
    default: {
        /* string kinds; text decoded from JSON is valid UTF-8, but fall back
         * to hex rather than fail if some other decoder produced bytes */
        json_t *s = json_stringn(v->u.s.ptr, v->u.s.len);
        if (s)
            return s;
        if (json_object_set_new(obj, "encoding", json_string("hex")) < 0)
            return NULL;
        return hex_string(v->u.s.ptr, v->u.s.len);
    }
    }
}

static json_t *value_json(const sluice_value_t *v)
{
    json_t *obj = json_object();
    json_t *extra = json_object(); /* "text"/"encoding", placed after "value" */
    int rc;

    rc = json_object_set_new(obj, "kind", json_string(sluice_value_kind_name(v->kind)));
    if (rc == 0)
        rc = json_object_set_new(obj, "value", scalar_json(v, extra));
    if (rc == 0)
        rc = json_object_update(obj, extra);
    json_decref(extra);
    if (rc < 0) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

/* A column: its value object plus, with a schema, "pg_type" (and
 * "not_null": true for a required field); "key": true for key columns. */
static json_t *column_json(const sluice_column_t *col)
{
    json_t *obj = value_json(&col->value);
    int rc = 0;

    if (!obj)
        return NULL;
    if (col->type) {
        rc = json_object_set_new(obj, "pg_type", json_string(col->type->pg_type));
        if (rc == 0 && !col->type->optional)
            rc = json_object_set_new(obj, "not_null", json_true());
    }
    if (rc == 0 && col->key)
        rc = json_object_set_new(obj, "key", json_true());
    if (rc < 0) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

static json_t *row_json(const sluice_row_t *row)
{
    json_t *obj;
    size_t i;

    if (!row->present)
        return json_null();
    obj = json_object();
    for (i = 0; obj && i < row->ncols; i++) {
        if (json_object_set_new(obj, row->cols[i].name, column_json(&row->cols[i])) < 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

static json_t *source_json(const sluice_event_t *ev)
{
    json_t *src = json_object();
    json_t *pos = json_array();
    int i;

    if (!src || !pos) {
        json_decref(src);
        json_decref(pos);
        return NULL;
    }
    for (i = 0; i < ev->pos.n && i < SLUICE_POS_MAX_PARTS; i++) {
        if (json_array_append_new(pos, json_integer(ev->pos.part[i])) < 0) {
            json_decref(pos);
            json_decref(src);
            return NULL;
        }
    }
    if (json_object_set_new(src, "connector", str_or_null(ev->connector)) < 0 ||
        json_object_set_new(src, "server", str_or_null(ev->server)) < 0 ||
        json_object_set_new(src, "db", str_or_null(ev->db)) < 0 ||
        json_object_set_new(src, "schema", str_or_null(ev->schema)) < 0 ||
        json_object_set_new(src, "table", str_or_null(ev->table)) < 0 ||
        json_object_set_new(src, "snapshot", json_string(sluice_snapshot_name(ev->snapshot))) < 0 ||
        json_object_set_new(src, "ts_ms", json_integer(ev->source_ts_ms)) < 0 ||
        json_object_set_new(src, "position", pos) < 0 ||
        json_object_set_new(src, "tx_id", ev->tx_id >= 0 ? json_integer(ev->tx_id) : json_null()) < 0) {
        json_decref(src);
        return NULL;
    }
    return src;
}

static json_t *event_json(const sluice_event_t *ev)
{
    json_t *root = json_object();

    if (!root)
        return NULL;
    if (json_object_set_new(root, "op", json_string(sluice_op_name(ev->op))) < 0)
        goto fail;
    if (ev->topic &&
        (json_object_set_new(root, "topic", json_string(ev->topic)) < 0 ||
         json_object_set_new(root, "partition", json_integer(ev->partition)) < 0 ||
         json_object_set_new(root, "offset", json_integer(ev->offset)) < 0))
        goto fail;
    if (json_object_set_new(root, "ts_ms", json_integer(ev->ts_ms)) < 0 ||
        json_object_set_new(root, "source", source_json(ev)) < 0 ||
        json_object_set_new(root, "key", row_json(&ev->key)) < 0 ||
        json_object_set_new(root, "before", row_json(&ev->before)) < 0 ||
        json_object_set_new(root, "after", row_json(&ev->after)) < 0)
        goto fail;
    if (ev->op == SLUICE_OP_CONTROL) {
        json_t *ctl = json_object();
        if (json_object_set_new(root, "control", ctl) < 0 ||
            json_object_set_new(ctl, "type", json_string(sluice_control_name(ev->control))) < 0 ||
            (ev->ctl_id && json_object_set_new(ctl, "id", json_string(ev->ctl_id)) < 0) ||
            (ev->control == SLUICE_CONTROL_TX_END &&
             json_object_set_new(ctl, "event_count", json_integer(ev->ctl_count)) < 0) ||
            (ev->ctl_db && json_object_set_new(ctl, "db", json_string(ev->ctl_db)) < 0) ||
            (ev->ctl_ddl && json_object_set_new(ctl, "ddl", json_string(ev->ctl_ddl)) < 0))
            goto fail;
    }
    if (ev->flattened && (json_object_set_new(root, "flattened", json_true()) < 0 ||
                          json_object_set_new(root, "meta", row_json(&ev->meta)) < 0))
        goto fail;
    if (ev->op == SLUICE_OP_MESSAGE) {
        json_t *msg = json_object();
        if (json_object_set_new(root, "message", msg) < 0 ||
            json_object_set_new(msg, "prefix", str_or_null(ev->msg_prefix)) < 0 ||
            json_object_set_new(msg, "content", value_json(&ev->msg_content)) < 0)
            goto fail;
    }
    return root;
fail:
    json_decref(root);
    return NULL;
}

int sluice_event_to_json(const sluice_event_t *ev, sluice_buf_t *out)
{
    json_t *root = event_json(ev);
    char *text;
    int rc;

    if (!root)
        return -1;
    text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text)
        return -1;
    rc = sluice_buf_puts(out, text);
    free(text);
    return rc;
}
