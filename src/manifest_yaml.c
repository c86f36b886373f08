/* YAML → jansson for Strimzi KafkaConnector manifests, through libyaml's
 * event API. Owns only the syntax: which document is a connector and what
 * its fields mean is manifest.c's business. Every scalar stays text (Kafka
 * Connect properties are strings); tags are ignored. */
#include "manifest_int.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 64

typedef struct {
    json_t *node;   /* object or array being filled */
    char *key;      /* mapping: the key waiting for its value */
    char *anchor;   /* anchor to record when the node ends */
} frame_t;

static int is_null_scalar(const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;

    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    return !*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
           strcmp(v, "NULL") == 0;
}

/* Adds a finished node to its parent (or makes it the document's root). */
static int attach(frame_t *stack, int depth, json_t **root, json_t *node, const char *where,
                  sluice_err_t *err)
{
    frame_t *top;

    if (depth == 0) {
        *root = node;
        return 0;
    }
    top = &stack[depth - 1];
    if (json_is_array(top->node))
        return json_array_append_new(top->node, node) ? sluice_err_set(err, SLUICE_ERR_FATAL, "%s: out of memory", where) : 0;
    if (!top->key) {
        /* a mapping key: must be a scalar */
        if (!json_is_string(node)) {
            json_decref(node);
            return sluice_err_set(err, SLUICE_ERR_FATAL,
                                  "%s: mapping keys must be plain scalars", where);
        }
        top->key = strdup(json_string_value(node));
        json_decref(node);
        return top->key ? 0 : sluice_err_set(err, SLUICE_ERR_FATAL, "%s: out of memory", where);
    }
    if (json_object_get(top->node, top->key)) {
        sluice_err_set(err, SLUICE_ERR_FATAL, "%s: duplicate key \"%s\"", where, top->key);
        json_decref(node);
        return -1;
    }
    json_object_set_new(top->node, top->key, node);
    free(top->key);
    top->key = NULL;
    return 0;
}

json_t *sluice_yaml_load(const char *text, size_t len, const char *origin, sluice_err_t *err)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    frame_t stack[MAX_DEPTH];
    int depth = 0, done = 0, failed = 0;
    json_t *docs = json_array(), *root = NULL, *anchors = json_object();
    char where[512];

    memset(stack, 0, sizeof(stack));
    if (!docs || !anchors || !yaml_parser_initialize(&parser)) {
        json_decref(docs);
        json_decref(anchors);
        sluice_err_set(err, SLUICE_ERR_FATAL, "%s: out of memory", origin);
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    while (!done && !failed) {
        json_t *node = NULL;
        const char *anchor = NULL;

        if (!yaml_parser_parse(&parser, &ev)) {
            sluice_err_set(err, SLUICE_ERR_FATAL, "%s is not valid YAML: %s (line %zu, column %zu)",
                           origin, parser.problem ? parser.problem : "syntax error",
                           parser.problem_mark.line + 1, parser.problem_mark.column + 1);
            failed = 1;
            break;
        }
        snprintf(where, sizeof(where), "%s (line %zu)", origin, ev.start_mark.line + 1);
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            root = NULL;
            json_object_clear(anchors);
            break;
        case YAML_DOCUMENT_END_EVENT:
            json_array_append_new(docs, root ? root : json_null());
            root = NULL;
            break;
        case YAML_SCALAR_EVENT:
            node = is_null_scalar(&ev) ? json_null()
                                       : json_stringn((const char *)ev.data.scalar.value,
                                                      ev.data.scalar.length);
            anchor = (const char *)ev.data.scalar.anchor;
            if (!node) {
                sluice_err_set(err, SLUICE_ERR_FATAL, "%s: scalar is not valid UTF-8", where);
                failed = 1;
                break;
            }
            if (anchor)
                json_object_set(anchors, anchor, node);
            failed = attach(stack, depth, &root, node, where, err) < 0;
            break;
        case YAML_ALIAS_EVENT:
            node = json_object_get(anchors, (const char *)ev.data.alias.anchor);
            if (!node) {
                sluice_err_set(err, SLUICE_ERR_FATAL, "%s: unknown alias *%s", where,
                               (const char *)ev.data.alias.anchor);
                failed = 1;
                break;
            }
            failed = attach(stack, depth, &root, json_deep_copy(node), where, err) < 0;
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (depth == MAX_DEPTH) {
                sluice_err_set(err, SLUICE_ERR_FATAL, "%s: nested deeper than %d levels", where,
                               MAX_DEPTH);
                failed = 1;
                break;
            }
            if (depth > 0 && json_is_object(stack[depth - 1].node) && !stack[depth - 1].key) {
                sluice_err_set(err, SLUICE_ERR_FATAL, "%s: mapping keys must be plain scalars",
                               where);
                failed = 1;
                break;
            }
            anchor = ev.type == YAML_SEQUENCE_START_EVENT
                         ? (const char *)ev.data.sequence_start.anchor
                         : (const char *)ev.data.mapping_start.anchor;
            stack[depth].node = ev.type == YAML_SEQUENCE_START_EVENT ? json_array() : json_object();
            stack[depth].key = NULL;
            stack[depth].anchor = anchor ? strdup(anchor) : NULL;
            depth++;
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: {
            frame_t f = stack[--depth];
            free(f.key);
            if (f.anchor)
                json_object_set(anchors, f.anchor, f.node);
            free(f.anchor);
            failed = attach(stack, depth, &root, f.node, where, err) < 0;
            break;
        }
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    while (depth > 0) {
        depth--;
        json_decref(stack[depth].node);
        free(stack[depth].key);
        free(stack[depth].anchor);
    }
    yaml_parser_delete(&parser);
    json_decref(anchors);
    if (failed) {
        json_decref(root);
        json_decref(docs);
        return NULL;
    }
    return docs;
}
