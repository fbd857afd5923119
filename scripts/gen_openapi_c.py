#!/usr/bin/env python3
"""Build step: turns openapi/types.def and openapi/descriptions.def into C tables
(struct kc_schema_type, see openapi/schema.h).

usage: gen_openapi_c.py types.def descriptions.def out.c
"""
import sys

KINDS = {"string": "KC_SK_STRING", "integer": "KC_SK_INTEGER", "boolean": "KC_SK_BOOLEAN",
         "number": "KC_SK_NUMBER", "object": "KC_SK_OBJECT", "int-or-string": "KC_SK_INT_OR_STRING",
         "quantity": "KC_SK_QUANTITY"}


def cstr(s):
    if s is None:
        return "NULL"
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    types, order = {}, []
    cur = None
    for line in open(sys.argv[1]):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        parts = line.split(" ")
        if parts[0] == "T":
            cur = {"name": parts[1], "gvk": None, "fields": []}
            for p in parts[2:]:
                if p.startswith("gvk="):
                    cur["gvk"] = p[4:].split("/")
            types[cur["name"]] = cur
            order.append(cur["name"])
        elif parts[0] == "F":
            f = {"name": parts[1], "type": parts[2], "opts": {}, "req": False}
            for p in parts[3:]:
                if p == "req":
                    f["req"] = True
                elif "=" in p:
                    k, v = p.split("=", 1)
                    f["opts"][k] = v
            cur["fields"].append(f)
    desc = {}
    for line in open(sys.argv[2]):
        line = line.rstrip("\n")
        if not line or line.startswith("#") or " " not in line:
            continue
        key, text = line.split(" ", 1)
        desc[key] = text
    index = {n: i for i, n in enumerate(order)}
    o = ['/* Generated from openapi/types.def by scripts/gen_openapi_c.py. Do not edit. */',
         '#include "openapi/schema.h"', '', '#include <stddef.h>', '']
    for n in order:
        t = types[n]
        short = n.split(".")[-1]
        o.append("static const struct kc_schema_field f%d[] = {" % index[n])
        for f in t["fields"]:
            ty = f["type"]
            container = "KC_SC_SCALAR"
            if ty.startswith("[]"):
                container, ty = "KC_SC_LIST", ty[2:]
            elif ty.startswith("{}"):
                container, ty = "KC_SC_MAP", ty[2:]
            ref, fmt = -1, None
            if ty.startswith("ref:"):
                kind, ref = "KC_SK_REF", index[ty[4:]]
            else:
                base, _, fmt = ty.partition(":")
                kind = KINDS[base]
                fmt = fmt or None
            op = f["opts"]
            o.append("    {%s, %s, %s, %s, %d, %d, %s, %s, %s, %s, %s, %s, %s}," % (
                cstr(f["name"]), container, kind, cstr(fmt), ref, 1 if f["req"] else 0,
                cstr(op.get("pmk")), cstr(op.get("ps")), cstr(op.get("lt")), cstr(op.get("lmk")),
                cstr(op.get("mt")), cstr(op.get("enum")), cstr(desc.get(short + "." + f["name"]))))
        o.append("    {NULL, 0, 0, NULL, -1, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL},")
        o.append("};")
    o.append("const struct kc_schema_type kc_schema_types[] = {")
    for n in order:
        t = types[n]
        g = t["gvk"] or [None, None, None]
        o.append("    {%s, %s, %s, %s, f%d, %d, %s}," % (
            cstr(n), cstr(g[0]), cstr(g[1]), cstr(g[2]), index[n], len(t["fields"]),
            cstr(desc.get(n.split(".")[-1]))))
    o.append("};")
    o.append("const size_t kc_schema_ntypes = %d;" % len(order))
    open(sys.argv[3], "w").write("\n".join(o) + "\n")


main()
