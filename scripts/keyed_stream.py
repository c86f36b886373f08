#!/usr/bin/env python3
"""Turns a file of Debezium JSON record values (one per line) into the
KEY<TAB>VALUE lines that sluice-kafkatool produces, with the record key
Debezium would have written: {"<pk>": value} taken from after (or before).

usage: keyed_stream.py FILE PK_COLUMN [--with-schema]
"""
import json
import sys


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    path, pk = sys.argv[1], sys.argv[2]
    with_schema = "--with-schema" in sys.argv[3:]
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            doc = json.loads(line)
            payload = doc["payload"] if "payload" in doc and "schema" in doc else doc
            row = payload.get("after") or payload.get("before")
            if not row or pk not in row:
                sys.exit(f"{path}: an event has no {pk} in after/before; give its key by hand")
            key = {pk: row[pk]}
            if with_schema:
                key = {"schema": {"type": "struct", "optional": False, "fields": [
                    {"type": "int32", "optional": False, "field": pk}]}, "payload": key}
            sys.stdout.write(json.dumps(key, separators=(",", ":")) + "\t" + line + "\n")


if __name__ == "__main__":
    main()
