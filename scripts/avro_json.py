#!/usr/bin/env python3
"""Turns Debezium JSON record values (payload only, one per line) into the
lines sluice-avro-produce reads: KEY<TAB>VALUE, both in Avro's JSON encoding
for the given key and value schemas (unions written {"<branch>": value}),
as the AvroConverter would have serialised the same events. Used by the
demo's Avro variant.

usage: avro_json.py EVENTS.jsonl KEY.avsc VALUE.avsc
"""
import json
import sys

PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


def full_name(schema, namespace):
    name = schema["name"]
    ns = schema.get("namespace", namespace)
    return name if "." in name or not ns else ns + "." + name


def resolve(schema, names, namespace):
    """Returns (schema dict or primitive name, namespace) with named refs resolved."""
    if isinstance(schema, str):
        if schema in PRIMITIVES:
            return schema, namespace
        key = schema if "." in schema else (namespace + "." + schema if namespace else schema)
        return names.get(key, names.get(schema)), namespace
    if isinstance(schema, dict) and schema.get("type") in ("record", "enum", "fixed"):
        fn = full_name(schema, namespace)
        names[fn] = schema
        return schema, schema.get("namespace", namespace if "." not in schema["name"]
                                  else schema["name"].rsplit(".", 1)[0])
    return schema, namespace


def branch_name(schema, namespace):
    if isinstance(schema, str):
        return schema if schema in PRIMITIVES else schema
    t = schema.get("type")
    if t in ("record", "enum", "fixed"):
        return full_name(schema, namespace)
    return t


def matches(schema, value):
    t = schema if isinstance(schema, str) else schema.get("type")
    if value is None:
        return t == "null"
    if t == "boolean":
        return isinstance(value, bool)
    if t in ("int", "long"):
        return isinstance(value, int) and not isinstance(value, bool)
    if t in ("float", "double"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if t in ("string", "bytes", "enum"):
        return isinstance(value, str)
    if t == "record":
        return isinstance(value, dict)
    if t == "array":
        return isinstance(value, list)
    if t == "map":
        return isinstance(value, dict)
    return False


def register(schema, names, namespace=None):
    """Records every named type of schema, so later references resolve."""
    if isinstance(schema, list):
        for b in schema:
            register(b, names, namespace)
    elif isinstance(schema, dict):
        t = schema.get("type")
        if t in ("record", "enum", "fixed"):
            _, ns = resolve(schema, names, namespace)
            for f in schema.get("fields", []):
                register(f["type"], names, ns)
        elif t == "array":
            register(schema["items"], names, namespace)
        elif t == "map":
            register(schema["values"], names, namespace)
        elif isinstance(t, (dict, list)):
            register(t, names, namespace)


def encode(schema, value, names, namespace=None):
    schema, namespace = resolve(schema, names, namespace)
    if isinstance(schema, list):  # union
        for branch in schema:
            b, ns = resolve(branch, names, namespace)
            if matches(b, value):
                if value is None:
                    return None
                return {branch_name(b, ns): encode(b, value, names, ns)}
        raise ValueError("no union branch of %s takes %r" % (schema, value))
    t = schema if isinstance(schema, str) else schema["type"]
    if t == "record":
        out = {}
        for f in schema["fields"]:
            v = value.get(f["name"], f.get("default"))
            out[f["name"]] = encode(f["type"], v, names, namespace)
        return out
    if t == "array":
        return [encode(schema["items"], v, names, namespace) for v in value]
    if t == "map":
        return {k: encode(schema["values"], v, names, namespace) for k, v in value.items()}
    if t in ("float", "double") and isinstance(value, int):
        return float(value)
    if isinstance(schema, dict) and t in PRIMITIVES:
        return encode(t, value, names, namespace)
    return value


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    events, key_schema, value_schema = sys.argv[1:]
    with open(key_schema) as f:
        kschema = json.load(f)
    with open(value_schema) as f:
        vschema = json.load(f)
    knames, vnames = {}, {}
    register(kschema, knames)
    register(vschema, vnames)
    key_field = kschema["fields"][0]["name"]
    with open(events, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            payload = json.loads(line)
            if "payload" in payload and "schema" in payload:
                payload = payload["payload"]
            row = payload.get("after") or payload.get("before")
            key = encode(kschema, {key_field: row[key_field]}, knames)
            value = encode(vschema, payload, vnames)
            sys.stdout.write(json.dumps(key, separators=(",", ":")) + "\t" +
                             json.dumps(value, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
